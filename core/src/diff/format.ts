/**
 * How a change between BEFORE and AFTER is written, for the CLI table (cli/diff.ts) and the UI's
 * Diff view (app/renderer/model/diffView.ts): one wording for both. Pure, no imports (the renderer
 * bundles it).
 */

/** A count as written: integers as they are, other values with two decimals. */
export const formatCount = (v: number): string => (Number.isInteger(v) ? String(v) : v.toFixed(2));

/** "+3", "−1.2 ms" (the sign, then `unit` of the magnitude), "=" for no change. */
export function signedChange(v: number, unit: (x: number) => string): string {
  if (v === 0) return '=';
  return `${v > 0 ? '+' : '−'}${unit(Math.abs(v))}`;
}

/** "−65.5%": the relative change from `before`; '' when there is nothing to compare with. */
export function percentChange(before: number, after: number): string {
  if (!(before > 0)) return '';
  const p = (100 * (after - before)) / before;
  return `${p > 0 ? '+' : p < 0 ? '−' : ''}${Math.abs(p).toFixed(1)}%`;
}
