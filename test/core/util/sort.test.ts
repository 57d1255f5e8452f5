import { describe, expect, it } from 'vitest';
import { sortIndices } from '../../../core/src/util/sort.js';

/** A deterministic generator (xorshift32), so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

/** Keys with many ties, broken by the index itself: a total order, as the what-if replay's. */
function check(keys: Float64Array): void {
  const n = keys.length;
  const cmp = (x: number, y: number) => keys[x] - keys[y] || x - y;
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  const want = Array.from(a).sort(cmp);
  sortIndices(a, cmp);
  expect(Array.from(a)).toEqual(want);
}

describe('sortIndices', () => {
  it('gives what Array.prototype.sort gives, on random keys with ties, every length up to 200', () => {
    const r = rng(7);
    for (let n = 0; n <= 200; n++) check(Float64Array.from({ length: n }, () => Math.floor(r() * (1 + n / 4))));
  });

  it('on large random, sorted, reversed, organ-pipe, constant and sawtooth inputs', () => {
    const r = rng(11);
    const n = 50_000;
    const shapes: ((i: number) => number)[] = [
      () => r(),
      (i) => i,
      (i) => n - i,
      (i) => (i < n / 2 ? i : n - i),
      () => 5,
      (i) => i % 97,
    ];
    for (const f of shapes) check(Float64Array.from({ length: n }, (_, i) => f(i)));
  });

  it('stays O(n log n) on a median-of-three killer: the comparator is called a bounded number of times', () => {
    // Musser's median-of-3 killer sequence drives plain median-of-three quicksort quadratic.
    const n = 1 << 14;
    const k = n / 2;
    const keys = new Float64Array(n);
    for (let i = 1; i <= k; i++) {
      if (i % 2 === 1) {
        keys[i - 1] = i;
        keys[i] = k + i;
      }
      keys[k + i - 1] = 2 * i;
    }
    let calls = 0;
    const a = new Uint32Array(n);
    for (let i = 0; i < n; i++) a[i] = i;
    const cmp = (x: number, y: number) => (calls++, keys[x] - keys[y] || x - y);
    sortIndices(a, cmp);
    for (let i = 1; i < n; i++) expect(cmp(a[i - 1], a[i])).toBeLessThan(0);
    // n log2 n is ~230k here; a quadratic run would take ~10^8.
    expect(calls).toBeLessThan(20 * n * Math.log2(n));
  });
});
