/**
 * Growable typed arrays: a column that gains a row at a time (a record's id, offset, length; a
 * connection's slot) and must not be copied at every row. `grow(a, need)` gives `a` itself while
 * it holds `need` elements, else a copy at least twice as long (amortised O(1) a row).
 */
export type GrowableArray = Uint8Array | Uint16Array | Uint32Array | Float64Array;

/** `a` when `need <= a.length`, else a copy of it with room for max(need, 2 × a.length) elements. */
export function grow<T extends GrowableArray>(a: T, need: number): T {
  if (need <= a.length) return a;
  const b = new (a.constructor as new (n: number) => T)(Math.max(need, a.length * 2));
  b.set(a);
  return b;
}
