/**
 * Key bindings, as pure decisions (the components apply them): the same in the desktop app and in
 * the browser mode of `wirefall view`, except that Ctrl/Cmd+= − 0 are the desktop menu's
 * accelerators there (the menu sends the command; handling the key too would zoom twice).
 *
 *   Esc                 close the context menu; leave the filter; else close the details (clear the
 *                       selection) or the finding highlight
 *   /   Ctrl/Cmd+F      focus the filter (instead of the browser's find)
 *   + = − - 0           zoom the waterfall in, out, whole capture (not while typing)
 *   Ctrl/Cmd + = − 0    the same (browser mode; the desktop menu's accelerators)
 *   ↑ ↓ Home End PgUp PgDn   move the selection in the table (gridMove)
 */

export type KeyAction = 'escape' | 'leave-filter' | 'focus-filter' | 'zoom-in' | 'zoom-out' | 'zoom-reset';

export interface KeyLike {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
}

export function globalKeyAction(e: KeyLike, ctx: { editable: boolean; electron: boolean }): KeyAction | null {
  const mod = e.ctrlKey || e.metaKey;
  if (e.altKey) return null;
  if (e.key === 'Escape') return ctx.editable ? 'leave-filter' : 'escape';
  if (mod && (e.key === 'f' || e.key === 'F')) return 'focus-filter';
  if (mod) {
    if (ctx.electron) return null;
    if (e.key === '=' || e.key === '+') return 'zoom-in';
    if (e.key === '-' || e.key === '−' || e.key === '_') return 'zoom-out';
    if (e.key === '0') return 'zoom-reset';
    return null;
  }
  if (ctx.editable) return null;
  if (e.key === '/') return 'focus-filter';
  if (e.key === '=' || e.key === '+') return 'zoom-in';
  if (e.key === '-' || e.key === '−') return 'zoom-out';
  if (e.key === '0') return 'zoom-reset';
  return null;
}

/**
 * The row the selection moves to for a navigation key, or undefined (not a navigation key, or no
 * selectable row that way). `selectable(i)`: row i is a request (lanes are skipped); `page`: rows
 * per screen. PgDn/PgUp land on the nearest request at or beyond one page away, else the last/first.
 */
export function gridMove(key: string, n: number, cur: number | undefined, selectable: (i: number) => boolean, page: number): number | undefined {
  const scan = (from: number, dir: 1 | -1): number | undefined => {
    for (let i = from; i >= 0 && i < n; i += dir) if (selectable(i)) return i;
    return undefined;
  };
  const p = Math.max(1, Math.floor(page));
  switch (key) {
    case 'ArrowDown':
      return scan(cur === undefined ? 0 : cur + 1, 1);
    case 'ArrowUp':
      return scan(cur === undefined ? n - 1 : cur - 1, -1);
    case 'Home':
      return scan(0, 1);
    case 'End':
      return scan(n - 1, -1);
    case 'PageDown': {
      const t = Math.min(n - 1, (cur ?? -1) + p);
      return scan(t, 1) ?? scan(t, -1);
    }
    case 'PageUp': {
      const t = Math.max(0, (cur ?? n) - p);
      return scan(t, -1) ?? scan(t, 1);
    }
    default:
      return undefined;
  }
}
