/**
 * Binary search over an index range, for the sorted lists of the engine and the detectors.
 */

/**
 * The first index i in [lo, hi) for which `pred(i)` holds, where `pred` is false and then true
 * along the range (monotone); `hi` when it never holds.
 */
export function firstIndex(lo: number, hi: number, pred: (i: number) => boolean): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pred(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}
