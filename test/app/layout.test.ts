/** Issue 15 item 9: the sizes a user drags (app/renderer/model/layout.ts). */
import { describe, expect, it } from 'vitest';
import { clampSize, columnWidths, MAX_COLUMN_W, MIN_COLUMN_W, readSize } from '../../app/renderer/model/layout.js';

/** Defaults shaped like Grid.tsx COLUMNS (a .tsx module the test project does not compile). */
const COLUMNS = [
  { key: 'name', width: 200 },
  { key: 'method', width: 62 },
  { key: 'size', width: 66 },
  { key: 'time', width: 66 },
] as const;

describe('dragged sizes', () => {
  it('stay within their limits, the maximum never below the minimum', () => {
    expect(clampSize(200, 50, 36, 800)).toBe(250);
    expect(clampSize(200, -500, 36, 800)).toBe(36);
    expect(clampSize(200, 5000, 36, 800)).toBe(800);
    expect(clampSize(400, 10, 280, 100)).toBe(280);
  });
  it('read back from storage only when they are plausible numbers', () => {
    expect(readSize('320')).toBe(320);
    expect(readSize(null)).toBeNull();
    for (const bad of ['', 'wide', '-5', '0', 'NaN', '1e9']) expect(readSize(bad), bad).toBeNull();
  });
  it('column widths: stored ones over the defaults, clamped; unknown keys ignored', () => {
    const w = columnWidths(COLUMNS, { name: 420, size: 5, time: 99999, bogus: 3 } as Record<string, number>);
    expect(w.name).toBe(420);
    expect(w.size).toBe(MIN_COLUMN_W);
    expect(w.time).toBe(MAX_COLUMN_W);
    expect(w.method).toBe(COLUMNS.find((c) => c.key === 'method')!.width);
    expect(Object.keys(w).sort()).toEqual(COLUMNS.map((c) => c.key).sort());
  });
});
