/**
 * Small shared data structures for the engine and the detectors (no protocol knowledge here).
 */

/** A binary heap ordered by `less` (ties in no particular order): the least entry on top. */
export class Heap<T> {
  private readonly a: T[] = [];
  constructor(private readonly less: (x: T, y: T) => boolean) {}
  get size(): number {
    return this.a.length;
  }
  /** Drops every entry. */
  clear(): void {
    this.a.length = 0;
  }
  /** The least entry, left in place. */
  peek(): T | undefined {
    return this.a[0];
  }
  push(x: T): void {
    const a = this.a;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(a[i], a[p])) break;
      [a[p], a[i]] = [a[i], a[p]];
      i = p;
    }
  }
  /** Removes and returns the least entry. */
  pop(): T | undefined {
    const a = this.a;
    if (!a.length) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l], a[m])) m = l;
        if (r < a.length && this.less(a[r], a[m])) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}

/** A binary min-heap keyed by a number (ties in no particular order). */
export class MinHeap<T> extends Heap<T> {
  constructor(readonly key: (x: T) => number) {
    super((x, y) => key(x) < key(y));
  }
}
