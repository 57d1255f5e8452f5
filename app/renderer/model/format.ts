/** Number formatting like DevTools (ms under a second, s above; kB with one decimal). */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1) return `${(ms * 1000).toFixed(0)} µs`;
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return `${m} min ${s} s`;
}

export function formatBytes(b: number): string {
  if (!Number.isFinite(b) || b < 0) return '—';
  if (b < 1000) return `${b} B`;
  if (b < 1_000_000) return `${(b / 1000).toFixed(1)} kB`;
  if (b < 1_000_000_000) return `${(b / 1_000_000).toFixed(1)} MB`;
  return `${(b / 1_000_000_000).toFixed(2)} GB`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/**
 * Pieces of a long value (header, URL) to join with line-break opportunities (<wbr>): after
 * separators — `,` `;` `&` `/` `?` `=` `:` `|` and spaces — so a cookie, a URL or a list wraps
 * between its parts, not mid-word. Pieces rejoin to the value; short values stay whole.
 */
export function wrapPoints(value: string, minLength = 24): string[] {
  if (value.length < minLength) return [value];
  const out: string[] = [];
  let from = 0;
  for (let i = 0; i < value.length; i++) {
    if (',;&/?=:| '.includes(value[i]!) && i + 1 < value.length) {
      out.push(value.slice(from, i + 1));
      from = i + 1;
    }
  }
  out.push(value.slice(from));
  return out;
}
