/**
 * Sorting indices in place, without the temporary arrays of `TypedArray.prototype.sort(cmp)`.
 *
 * V8 sorts a typed array with a comparator by copying it into two arrays of tagged values (16 bytes
 * an element on 64 bits) and merge-sorting them: for the what-if replay's 605,440 requests that was
 * 9.7 MB made at the end of a run, at its peak. `sortIndices` is an introsort (quicksort, median of
 * three, insertion sort for short ranges, heapsort past 2·log2(n) levels so that no input makes it
 * quadratic) and allocates nothing but a small stack. It is not stable: give it a comparator that is
 * a total order (ties broken by a unique key), and the result is the one every correct sort gives.
 */

/** Ranges shorter than this are finished by insertion sort. */
const INSERTION_MAX = 16;

/** Sorts `a` in place by `cmp` (negative: x before y), which must be a total order on its values. */
export function sortIndices(a: Uint32Array, cmp: (x: number, y: number) => number): void {
  const n = a.length;
  if (n < 2) return;
  // Explicit stack of [lo, hi) ranges with their depth budget; the larger part is pushed, the
  // smaller one continued, so the stack holds at most log2(n) ranges.
  const stack: number[] = [];
  let lo = 0;
  let hi = n;
  let depth = 2 * Math.ceil(Math.log2(n));
  for (;;) {
    while (hi - lo > INSERTION_MAX) {
      if (depth === 0) {
        heapSort(a, lo, hi, cmp);
        lo = hi;
        break;
      }
      depth--;
      const p = partition(a, lo, hi, cmp);
      // [lo, p) and [p + 1, hi): continue with the smaller.
      if (p - lo < hi - p - 1) {
        stack.push(p + 1, hi, depth);
        hi = p;
      } else {
        stack.push(lo, p, depth);
        lo = p + 1;
      }
    }
    insertionSort(a, lo, hi, cmp);
    if (stack.length === 0) return;
    depth = stack.pop()!;
    hi = stack.pop()!;
    lo = stack.pop()!;
  }
}

/** Hoare-style partition around the median of three; returns the pivot's final position. */
function partition(a: Uint32Array, lo: number, hi: number, cmp: (x: number, y: number) => number): number {
  const mid = lo + ((hi - lo) >>> 1);
  const last = hi - 1;
  // Order a[lo], a[mid], a[last]; the median goes to last - 1 as the pivot.
  if (cmp(a[mid], a[lo]) < 0) swap(a, mid, lo);
  if (cmp(a[last], a[lo]) < 0) swap(a, last, lo);
  if (cmp(a[last], a[mid]) < 0) swap(a, last, mid);
  swap(a, mid, last - 1);
  const pivot = a[last - 1];
  let i = lo;
  let j = last - 1;
  for (;;) {
    while (cmp(a[++i], pivot) < 0);
    while (cmp(pivot, a[--j]) < 0);
    if (i >= j) break;
    swap(a, i, j);
  }
  swap(a, i, last - 1);
  return i;
}

function insertionSort(a: Uint32Array, lo: number, hi: number, cmp: (x: number, y: number) => number): void {
  for (let i = lo + 1; i < hi; i++) {
    const v = a[i];
    let j = i - 1;
    while (j >= lo && cmp(a[j], v) > 0) {
      a[j + 1] = a[j];
      j--;
    }
    a[j + 1] = v;
  }
}

function heapSort(a: Uint32Array, lo: number, hi: number, cmp: (x: number, y: number) => number): void {
  const n = hi - lo;
  const down = (root: number, size: number) => {
    for (;;) {
      const l = 2 * root + 1;
      if (l >= size) return;
      let c = l;
      if (l + 1 < size && cmp(a[lo + l + 1], a[lo + l]) > 0) c = l + 1;
      if (cmp(a[lo + c], a[lo + root]) <= 0) return;
      swap(a, lo + c, lo + root);
      root = c;
    }
  };
  for (let i = (n >>> 1) - 1; i >= 0; i--) down(i, n);
  for (let end = n - 1; end > 0; end--) {
    swap(a, lo, lo + end);
    down(0, end);
  }
}

function swap(a: Uint32Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}
