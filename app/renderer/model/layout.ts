/**
 * Sizes the user dragged (issue 15 item 9): table columns, the details pane's width, the findings
 * panel's height. Pure clamping here; kept in localStorage by the components.
 */

/** Narrowest and widest a table column may be dragged to (px). */
export const MIN_COLUMN_W = 36;
export const MAX_COLUMN_W = 800;
/** The details pane's width and the findings panel's height limits (px; also at most a share of the window). */
export const MIN_DETAILS_W = 280;
export const MIN_FINDINGS_H = 60;

/** `start + delta` within [min, max] (max first lowered to min when the room is smaller). */
export function clampSize(start: number, delta: number, min: number, max: number): number {
  const hi = Math.max(min, max);
  return Math.round(Math.min(hi, Math.max(min, start + delta)));
}

/** A stored size (a number of px) or null when absent or malformed. */
export function readSize(raw: string | null): number | null {
  if (raw === null) return null;
  const n = Number(raw);
  return Number.isFinite(n) && n > 0 && n < 100_000 ? n : null;
}

/** Column widths: the stored ones (by column key) over the defaults, each clamped. */
export function columnWidths<K extends string>(defaults: readonly { key: K; width: number }[], stored: Partial<Record<K, number>>): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const c of defaults) {
    const w = stored[c.key];
    out[c.key] = typeof w === 'number' && Number.isFinite(w) ? clampSize(w, 0, MIN_COLUMN_W, MAX_COLUMN_W) : c.width;
  }
  return out;
}
