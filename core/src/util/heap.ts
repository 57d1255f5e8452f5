/**
 * Small shared data structures for the engine and the detectors (no protocol knowledge here).
 */

/** A binary min-heap keyed by a number (ties in no particular order). */
export class MinHeap<T> {
  private readonly a: T[] = [];
  constructor(readonly key: (x: T) => number) {}
  get size(): number {
    return this.a.length;
  }
  /** Drops every entry. */
  clear(): void {
    this.a.length = 0;
  }
  /** The smallest entry, left in place. */
  peek(): T | undefined {
    return this.a[0];
  }
  push(x: T): void {
    const a = this.a;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.key(a[p]) <= this.key(a[i])) break;
      [a[p], a[i]] = [a[i], a[p]];
      i = p;
    }
  }
  /** Removes and returns the smallest entry. */
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
        if (l < a.length && this.key(a[l]) < this.key(a[m])) m = l;
        if (r < a.length && this.key(a[r]) < this.key(a[m])) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i], a[m]];
        i = m;
      }
    }
    return top;
  }
}
