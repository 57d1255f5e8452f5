/**
 * Pure pieces of the UI's keys and narrow layout: key bindings (app/renderer/model/keys.ts), lane
 * label placement and time spans in pixels (model/timescale.ts), wrap points of long values
 * (model/format.ts), and a style for every stall kind (model/phaseStyles.ts).
 */
import { describe, expect, it } from 'vitest';
import { globalKeyAction, gridMove, type KeyLike } from '../../app/renderer/model/keys.js';
import { labelWidth, placeLaneLabels, spansPx, type Segment } from '../../app/renderer/model/timescale.js';
import { wrapPoints } from '../../app/renderer/model/format.js';
import { STALL_STYLES } from '../../app/renderer/model/phaseStyles.js';
import type { StallKind } from '../../core/src/view/api.js';

const k = (key: string, mods: Partial<KeyLike> = {}): KeyLike => ({ key, ctrlKey: false, metaKey: false, altKey: false, ...mods });

describe('key bindings', () => {
  const table: { key: KeyLike; editable: boolean; electron: boolean; action: ReturnType<typeof globalKeyAction> }[] = [
    { key: k('Escape'), editable: false, electron: false, action: 'escape' },
    { key: k('Escape'), editable: true, electron: false, action: 'leave-filter' },
    { key: k('/'), editable: false, electron: false, action: 'focus-filter' },
    { key: k('/'), editable: true, electron: false, action: null },
    { key: k('f', { ctrlKey: true }), editable: true, electron: false, action: 'focus-filter' },
    { key: k('f', { metaKey: true }), editable: false, electron: true, action: 'focus-filter' },
    { key: k('+'), editable: false, electron: true, action: 'zoom-in' },
    { key: k('='), editable: false, electron: false, action: 'zoom-in' },
    { key: k('-'), editable: false, electron: false, action: 'zoom-out' },
    { key: k('0'), editable: false, electron: false, action: 'zoom-reset' },
    { key: k('0'), editable: true, electron: false, action: null },
    { key: k('=', { ctrlKey: true }), editable: false, electron: false, action: 'zoom-in' },
    { key: k('-', { ctrlKey: true }), editable: true, electron: false, action: 'zoom-out' },
    { key: k('0', { metaKey: true }), editable: false, electron: false, action: 'zoom-reset' },
    // The desktop menu's accelerators handle Ctrl/Cmd+= − 0 there: not twice.
    { key: k('=', { ctrlKey: true }), editable: false, electron: true, action: null },
    { key: k('0', { ctrlKey: true }), editable: false, electron: true, action: null },
    { key: k('f', { altKey: true }), editable: false, electron: false, action: null },
    { key: k('a'), editable: false, electron: false, action: null },
  ];
  for (const t of table) {
    const mods = ['ctrlKey', 'metaKey', 'altKey'].filter((m) => t.key[m as keyof KeyLike]).join('+');
    it(`${mods ? mods + '+' : ''}${t.key.key}${t.editable ? ' while typing' : ''}${t.electron ? ' (desktop)' : ''} → ${t.action}`, () => {
      expect(globalKeyAction(t.key, { editable: t.editable, electron: t.electron })).toBe(t.action);
    });
  }
});

describe('gridMove: lanes are skipped', () => {
  // L r r L r r r L r  (L = lane, r = request)
  const kinds = 'LrrLrrrLr';
  const sel = (i: number) => kinds[i] === 'r';
  const n = kinds.length;
  const cases: [string, number | undefined, number, number | undefined][] = [
    ['ArrowDown', undefined, 5, 1],
    ['ArrowDown', 2, 5, 4],
    ['ArrowDown', 8, 5, undefined],
    ['ArrowUp', 4, 5, 2],
    ['ArrowUp', undefined, 5, 8],
    ['ArrowUp', 1, 5, undefined],
    ['Home', 6, 5, 1],
    ['End', 1, 5, 8],
    ['PageDown', 1, 3, 4],
    ['PageDown', 1, 2, 4],
    ['PageDown', 6, 10, 8],
    ['PageUp', 8, 3, 5],
    ['PageUp', 4, 1, 2],
    ['PageUp', 2, 10, 1],
    ['Enter', 2, 5, undefined],
  ];
  for (const [key, cur, page, to] of cases) it(`${key} from ${cur} (page ${page}) → ${to}`, () => expect(gridMove(key, n, cur, sel, page)).toBe(to));
});

const seg = (kind: Segment['kind'], x: number, w: number, label: string): Segment => ({ kind, start: x, end: x + w, x, w, label });

describe('lane labels never overlap and stay on the lane', () => {
  it('a close label goes left of its marker at the right edge, and an idle label under it is dropped', () => {
    const idle = seg('idle', 100, 180, 'idle 5.01 s (Keep-Alive timeout=5 s)');
    const close = seg('close', 290, 0, 'server FIN · idle timeout');
    const p = placeLaneLabels([idle, close], 300);
    expect(p.close.get(close)).toBe('left');
    expect(p.idle.has(idle)).toBe(false);
  });
  it('room for both: both shown', () => {
    const idle = seg('idle', 0, 300, 'idle 2.00 s');
    const close = seg('close', 305, 0, 'server FIN');
    const p = placeLaneLabels([idle, close], 600);
    expect(p.close.get(close)).toBe('right');
    expect(p.idle.has(idle)).toBe(true);
  });
  it('no room either side: the close label is hidden (its marker keeps the title)', () => {
    const close = seg('close', 20, 0, 'server FIN · Connection: close after 100 requests');
    expect(placeLaneLabels([close], 60).close.get(close)).toBe('none');
  });
  it('an idle label narrower than its gap only', () => {
    const idle = seg('idle', 0, labelWidth('idle 2.00 s') - 1, 'idle 2.00 s');
    expect(placeLaneLabels([idle], 600).idle.has(idle)).toBe(false);
  });
  it('two close markers close together: the second label does not cover the first', () => {
    const a = seg('close', 100, 0, 'client FIN');
    const b = seg('close', 110, 0, 'server FIN');
    const p = placeLaneLabels([a, b], 600);
    expect(p.close.get(a)).toBe('right');
    expect(p.close.get(b)).toBe('none');
  });
});

describe('spansPx', () => {
  it('drops spans outside the window, widens instants to minW, clips at the edges', () => {
    const out = spansPx([[-5, -1], [0, 0], [5, 15], [90, 200]] as [number, number][], (s) => s, { t0: 0, t1: 100 }, 1000, 2);
    expect(out.map((o) => [o.x, o.w])).toEqual([
      [0, 2],
      [50, 100],
      [900, 102],
    ]);
  });
});

describe('wrapPoints', () => {
  it('breaks after separators and rejoins to the value', () => {
    const v = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';
    const parts = wrapPoints(v);
    expect(parts.join('')).toBe(v);
    expect(parts.length).toBeGreaterThan(4);
    for (const p of parts.slice(0, -1)) expect(p).toMatch(/[,;&/?=:| ]$/);
  });
  it('keeps short values and words whole', () => {
    expect(wrapPoints('gzip, deflate')).toEqual(['gzip, deflate']);
    expect(wrapPoints('Mozilla/5.0 (X11; Linux x86_64)').join('|')).toBe('Mozilla/|5.0 |(X11;| |Linux |x86_64)');
  });
});

describe('stall styles', () => {
  it('give every stall kind a label and a themable colour', () => {
    const all: Record<StallKind, true> = { 'tcp-hol': true, loss: true, 'tcp-delivery': true, 'flow-control': true, pipelining: true };
    expect(new Set(Object.keys(STALL_STYLES))).toEqual(new Set(Object.keys(all)));
    for (const s of Object.values(STALL_STYLES)) {
      expect(s.label.length).toBeGreaterThan(0);
      expect(s.color).toMatch(/^var\(--stall-[a-z]+, #[0-9a-f]{6}\)$/);
    }
  });
});
