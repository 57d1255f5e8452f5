/**
 * The connection-grouped waterfall as a standalone SVG document (`wirefall waterfall CAP -o out.svg`,
 * issue 15 item 8), for CI artefacts, bug reports and READMEs.
 *
 * Not a second renderer: every layout and styling decision comes from the model modules the UI
 * draws with — rows and their order (rows.ts buildRows, grouped by connection), the time scale and
 * ticks, lane pieces and where their labels go (timescale.ts laneLayout, placeLaneLabels, phaseBars,
 * spansPx), phase and stall colours (phaseStyles.ts), lane texts (closeText.ts) and numbers
 * (format.ts); the phases themselves are the ViewModel's, i.e. core's `phases()` (model/phases.ts)
 * via view/compact.ts. Pixel offsets inside a row mirror styles.css (`.bar`, `.bar.thin`, `.seg-*`,
 * `.stall`, `.arrival`), and theme colours are styles.css's custom properties (`themeVars`), so a
 * change of colour there shows in both.
 *
 * Findings are marked three ways: a dot in the label of every row a finding names, a
 * severity-coloured line under the time range of each finding on the lanes it names, and a numbered list of
 * finding groups (core/src/view/finding-groups.ts) below the waterfall, whose numbers appear in the
 * rows' labels.
 *
 * Pure: ViewModel in, text out; no DOM, no Node. Every element the tests check carries data-*
 * attributes (data-request-id, data-phase, data-lane-id, data-finding, …).
 */
import type { ConnectionRow, RequestRow, ViewModel } from '../../../core/src/view/api.js';
import type { Finding, Severity } from '../../../core/src/model/types.js';
import { groupFindings } from '../../../core/src/view/finding-groups.js';
import { endpointText } from '../../../core/src/model/endpoint.js';
import { buildRows, DEFAULT_SORT, EMPTY_FILTER, type GridRow } from './rows.js';
import { captureExtent, labelWidth, laneLayout, phaseBars, placeLaneLabels, spansPx, ticks, xOf, type TimeWindow } from './timescale.js';
import { PHASE_STYLES, STALL_STYLES } from './phaseStyles.js';
import { formatBytes, formatMs } from './format.js';
import { pushText, pushTip } from './push.js';

export type SvgTheme = 'light' | 'dark';

/** CSS custom properties of a theme, name (with `--`) → value. */
export type ThemeVars = Record<string, string>;

export interface WaterfallSvgOptions {
  /** Total width in px (default 1200, at least MIN_WIDTH). */
  width?: number;
  theme?: SvgTheme;
  /** The theme's custom properties (themeVars(styles.css)[theme]); var() fallbacks otherwise. */
  vars?: ThemeVars;
  /** Rows drawn at most (lanes and requests); the rest are counted in a note (default 2000). */
  maxRows?: number;
  /** Finding groups listed below the waterfall at most (default 30). */
  maxFindingGroups?: number;
}

/** As the grid (Grid.tsx ROW_H). */
export const SVG_ROW_H = 24;
export const MIN_WIDTH = 480;
export const DEFAULT_WIDTH = 1200;
export const DEFAULT_MAX_ROWS = 2000;
const HEADER_H = 28;
const RULER_H = 22;
const FINDING_LINE_H = 16;
const PAD = 8;
/** Finding time-range lines drawn on one lane at most. */
const MAX_LANE_FINDING_MARKS = 200;

/** Theme values where styles.css cannot be read (the light theme's; dark overrides below). */
const BASE_VARS: ThemeVars = {
  '--bg': '#ffffff',
  '--bg-alt': '#f3f3f3',
  '--bg-header': '#f1f3f4',
  '--border': '#cacdd1',
  '--text': '#1f1f1f',
  '--text-muted': '#6e6e6e',
  '--accent': '#1a73e8',
  '--error': '#d93025',
  '--warning': '#e37400',
  '--info': '#1a73e8',
  '--lane-bg': '#eef3fb',
  '--lane-life': '#9aa7b8',
  '--handshake': '#ff9800',
  '--idle': '#c9ced6',
  '--activity': '#5f8fd8',
  '--arrival': '#01497c',
  '--late': '#d93025',
};
const DARK_VARS: ThemeVars = {
  '--bg': '#202124',
  '--bg-alt': '#292a2d',
  '--bg-header': '#2a2b2e',
  '--border': '#4a4c50',
  '--text': '#e8eaed',
  '--text-muted': '#9aa0a6',
  '--accent': '#8ab4f8',
  '--error': '#f28b82',
  '--warning': '#fdd663',
  '--info': '#8ab4f8',
  '--lane-bg': '#263041',
  '--lane-life': '#7b8798',
  '--idle': '#4a4f58',
  '--activity': '#6f9de6',
  '--arrival': '#d2ecff',
  '--late': '#f28b82',
};

function declarations(block: string): ThemeVars {
  const out: ThemeVars = {};
  for (const m of block.matchAll(/(--[\w-]+)\s*:\s*([^;}]+)/g)) out[m[1]!] = m[2]!.trim();
  return out;
}

/**
 * The light and dark themes' custom properties from the UI's stylesheet: the first `:root` block,
 * and the `:root` inside `@media (prefers-color-scheme: dark)` over it. Unknown layout → {}.
 */
export function themeVars(css: string): Record<SvgTheme, ThemeVars> {
  const text = css.replace(/\/\*[\s\S]*?\*\//g, '');
  const light = declarations(/(?:^|[}\s]):root\s*\{([^}]*)\}/.exec(text)?.[1] ?? '');
  const dark = declarations(/prefers-color-scheme\s*:\s*dark\s*\)\s*\{\s*:root\s*\{([^}]*)\}/.exec(text)?.[1] ?? '');
  return { light, dark: { ...light, ...dark } };
}

/** `var(--x, fallback)` → the theme's value of --x, else the fallback; other colours as given. */
export function resolveColor(css: string, vars: ThemeVars): string {
  const m = /^var\((--[\w-]+)(?:,\s*([^)]+))?\)$/.exec(css.trim());
  if (!m) return css;
  return vars[m[1]!] ?? m[2]?.trim() ?? '#888888';
}

/** Characters XML 1.0 cannot carry (C0 controls but tab/newline/CR, U+FFFE/U+FFFF, lone surrogates). */
// eslint-disable-next-line no-control-regex
const XML_INVALID = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

/** Text or attribute value, escaped for XML; characters XML cannot hold become U+FFFD. */
export function xml(s: string | number): string {
  return String(s)
    .replace(XML_INVALID, '\ufffd')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/** A pixel coordinate with two decimals (well within a pixel, and a compact file). */
function n(v: number): string {
  return String(Math.round(v * 100) / 100);
}

/** `text` cut with "…" to about `px` pixels of an 11 px label (labelWidth's estimate). */
function fit(text: string, px: number): string {
  if (labelWidth(text) <= px) return text;
  const chars = Math.max(1, Math.floor((px - 6) / 5.6) - 1);
  return text.length > chars ? `${text.slice(0, chars)}…` : text;
}

/** The lane row's label, as the grid draws it (Grid.tsx LaneRow). */
export function laneText(conn: ConnectionRow, shown: number): string {
  return `#${conn.id} ${endpointText(conn.client)} → ${endpointText(conn.server)} · ${conn.protocol}${conn.tlsShort ? ` · ${conn.tlsShort}` : ''} · ${conn.requestCount} req${conn.requestCount === 1 ? '' : 's'}${shown !== conn.requestCount ? ` (${shown} shown)` : ''}`;
}

const SEV_COLOR: Record<Severity, string> = { error: 'var(--error)', warning: 'var(--warning)', info: 'var(--info)' };

export interface WaterfallLayout {
  width: number;
  height: number;
  /** The waterfall column: left edge and width in px, and the time window it shows. */
  wfX: number;
  wfW: number;
  window: TimeWindow;
  /** The rows drawn (keepRows), and how many the grid has. */
  rows: GridRow[];
  drawn: number;
  total: number;
}

/** Where things go, for the drawing and for tests. */
export function waterfallLayout(model: ViewModel, opts: WaterfallSvgOptions = {}): WaterfallLayout {
  const width = Math.max(MIN_WIDTH, Math.round(opts.width ?? DEFAULT_WIDTH));
  const labelW = Math.round(Math.min(420, Math.max(200, width * 0.3)));
  const wfX = labelW;
  const wfW = width - labelW - PAD;
  // The UI's whole-capture extent (App.tsx): the window the waterfall opens on.
  const window = captureExtent(
    model.capture.durationMs,
    model.connections.map((c) => c.close.time ?? c.lastTime),
  );
  const all = buildRows(model, EMPTY_FILTER, DEFAULT_SORT, true);
  const rows = keepRows(all, Math.max(1, opts.maxRows ?? DEFAULT_MAX_ROWS));
  return { width, height: 0, wfX, wfW, window, rows, drawn: rows.length, total: all.length };
}

/**
 * At most `max` of the grid's rows. When they do not all fit, every lane stays (while lanes alone
 * fit) with its first requests in time order, the same number on each, so a big capture still
 * shows all its connections; a lane's label then says how many of its requests are drawn.
 */
export function keepRows(rows: readonly GridRow[], max: number): GridRow[] {
  if (rows.length <= max) return rows.slice();
  const lanes = rows.filter((r) => r.kind === 'lane').length;
  if (lanes === 0 || lanes >= max) return rows.slice(0, max);
  const per = Math.floor((max - lanes) / lanes);
  const out: GridRow[] = [];
  let lane = -1;
  let taken = 0;
  for (const r of rows) {
    if (r.kind === 'lane') {
      lane = out.length;
      taken = 0;
      out.push({ ...r, shown: 0 });
    } else if (taken < per && lane >= 0) {
      taken++;
      const l = out[lane] as Extract<GridRow, { kind: 'lane' }>;
      out[lane] = { ...l, shown: l.shown + 1 };
      out.push(r);
    }
  }
  return out;
}

/** The waterfall of `model` as an SVG document (UTF-8 text, starting with the XML declaration). */
export function waterfallSvg(model: ViewModel, opts: WaterfallSvgOptions = {}): string {
  const theme: SvgTheme = opts.theme ?? 'light';
  const vars: ThemeVars = { ...BASE_VARS, ...(theme === 'dark' ? DARK_VARS : {}), ...(opts.vars ?? {}) };
  const color = (css: string) => xml(resolveColor(css, vars));
  const L = waterfallLayout(model, opts);
  const { width, wfX, wfW, window: win, rows, drawn, total } = L;
  const groups = groupFindings(model.findings);
  const maxGroups = Math.max(0, opts.maxFindingGroups ?? 30);
  const listed = groups.slice(0, maxGroups);
  // Group number (1-based) of each finding, for the row labels.
  const groupOf = new Map<number, number>();
  listed.forEach((g, gi) => g.findings.forEach((fi) => groupOf.set(fi, gi + 1)));

  const top = HEADER_H + RULER_H;
  const rowsH = drawn * SVG_ROW_H;
  const noteH = drawn < total ? FINDING_LINE_H + 4 : 0;
  const legendY = top + rowsH + noteH + 10;
  const legendH = 18;
  const findingsY = legendY + legendH + 8;
  const findingsH = groups.length ? (listed.length + 1 + (groups.length > listed.length ? 1 : 0)) * FINDING_LINE_H + 8 : 0;
  const height = Math.ceil(findingsY + findingsH + PAD);

  const o: string[] = [];
  const cap = model.capture;
  const title = `${cap.file}: ${formatMs(cap.durationMs)}, ${model.connections.length} connection${model.connections.length === 1 ? '' : 's'}, ${model.requests.length} request${model.requests.length === 1 ? '' : 's'}, ${model.findings.length} finding${model.findings.length === 1 ? '' : 's'}`;
  o.push('<?xml version="1.0" encoding="UTF-8"?>');
  o.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif" font-size="11" data-theme="${theme}" data-wf-x="${wfX}" data-wf-width="${n(wfW)}" data-t0="${win.t0}" data-t1="${win.t1}" data-rows="${total}" data-rows-drawn="${drawn}" data-wirefall="${xml(model.wirefall)}">`,
  );
  o.push(`<title>${xml(`wirefall waterfall — ${title}`)}</title>`);
  // Hatches (styles.css repeating-linear-gradient at 135°): idle gaps, unanswered waits, stalls.
  const hatch = (id: string, c: string, size: number, opacity = 1) =>
    `<pattern id="${id}" width="${size}" height="${size}" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="${size / 2}" height="${size}" fill="${color(c)}" fill-opacity="${opacity}"/></pattern>`;
  o.push(
    '<defs>' +
      hatch('wf-idle', 'var(--idle)', 8) +
      hatch('wf-no-response', PHASE_STYLES.waiting.color, 7) +
      hatch('wf-lane-no-response', 'var(--error)', 7, 0.8) +
      hatch('wf-push-cancelled', PHASE_STYLES.push.color, 6, 0.9) +
      (Object.keys(STALL_STYLES) as (keyof typeof STALL_STYLES)[]).map((k) => hatch(`wf-stall-${k}`, STALL_STYLES[k].color, 6, 0.45)).join('') +
      // Clip paths in the coordinates of the (untransformed) group that uses them.
      `<clipPath id="wf-clip"><rect x="${wfX}" y="0" width="${n(wfW)}" height="${height}"/></clipPath>` +
      `<clipPath id="wf-label-clip"><rect x="0" y="0" width="${wfX - 4}" height="${height}"/></clipPath>` +
      '</defs>',
  );
  o.push(`<rect width="${width}" height="${height}" fill="${color('var(--bg)')}"/>`);
  o.push(`<text x="${PAD}" y="18" font-size="13" font-weight="600" fill="${color('var(--text)')}">${xml(fit(title, width - 2 * PAD))}</text>`);

  // Ruler and grid lines (Grid.tsx: ticks(win, wfW), the last label drawn left of its tick).
  const tks = ticks(win, wfW);
  o.push(`<g data-testid="ruler"><rect x="0" y="${HEADER_H}" width="${width}" height="${RULER_H}" fill="${color('var(--bg-header)')}"/>`);
  o.push(`<text x="${PAD}" y="${HEADER_H + 15}" font-weight="500" fill="${color('var(--text)')}">Connection / request</text>`);
  for (const t of tks) {
    const x = wfX + xOf(t, win, wfW);
    const label = formatMs(t);
    const end = xOf(t, win, wfW) + labelWidth(label) > wfW;
    o.push(
      `<line x1="${n(x)}" y1="${HEADER_H + 4}" x2="${n(x)}" y2="${HEADER_H + RULER_H}" stroke="${color('var(--border)')}"/>` +
        `<text x="${n(end ? x - 3 : x + 3)}" y="${HEADER_H + 15}" font-size="10" fill="${color('var(--text-muted)')}"${end ? ' text-anchor="end"' : ''} data-tick="${t}">${xml(label)}</text>`,
    );
  }
  o.push('</g>');
  o.push(`<g stroke="${color('var(--border)')}" stroke-opacity="0.4">`);
  for (const t of tks) {
    const x = wfX + xOf(t, win, wfW);
    o.push(`<line x1="${n(x)}" y1="${top}" x2="${n(x)}" y2="${top + rowsH}"/>`);
  }
  o.push('</g>');

  for (let i = 0; i < drawn; i++) {
    const r = rows[i]!;
    const y = top + i * SVG_ROW_H;
    if (r.kind === 'lane') o.push(laneSvg(r.conn, r.shown, model, y));
    else o.push(requestSvg(r.req, model, y, i));
  }
  if (drawn < total) {
    const more = total - drawn;
    o.push(`<text x="${PAD}" y="${top + rowsH + 14}" fill="${color('var(--text-muted)')}" data-testid="rows-omitted" data-count="${more}">${xml(`… ${more} more row${more === 1 ? '' : 's'} not drawn (--max-rows)`)}</text>`);
  }
  o.push(`<line x1="${wfX - 0.5}" y1="${HEADER_H}" x2="${wfX - 0.5}" y2="${top + rowsH}" stroke="${color('var(--border)')}" stroke-opacity="0.6"/>`);
  o.push(legendSvg(legendY));
  if (groups.length) o.push(findingsSvg(findingsY));
  o.push('</svg>');
  return o.join('\n') + '\n';

  function findingMarks(ids: number[], y: number): string {
    // Severity-coloured line under each finding's time range, on the lane of each connection it names.
    const out: string[] = [];
    // Bounded per lane (a lane of a huge capture may carry thousands): the dots and the list remain.
    for (const fi of ids.slice(0, MAX_LANE_FINDING_MARKS)) {
      const f = model.findings[fi];
      if (!f) continue;
      const [s, e] = f.timeRange;
      if (!(Number.isFinite(s) && Number.isFinite(e)) || e < win.t0 || s > win.t1) continue;
      const x = xOf(s, win, wfW);
      const w = Math.max(3, xOf(e, win, wfW) - x);
      out.push(`<rect x="${n(wfX + Math.max(-2, x))}" y="${y + SVG_ROW_H - 3}" width="${n(Math.min(w, wfW + 2 - x))}" height="2" fill="${color(SEV_COLOR[f.severity])}" data-finding="${fi}" data-kind="${xml(f.kind)}"><title>${xml(`${f.severity} ${f.kind}: ${f.summary}`)}</title></rect>`);
    }
    return out.join('');
  }

  function labelMarks(ids: number[], x: number, y: number): { svg: string; w: number } {
    if (ids.length === 0) return { svg: '', w: 0 };
    const worst = ids.map((i) => model.findings[i]!).reduce<Finding | undefined>((a, f) => (!a || sevRank(f.severity) < sevRank(a.severity) ? f : a), undefined)!;
    const nums = [...new Set(ids.map((i) => groupOf.get(i)).filter((g): g is number => g !== undefined))].sort((a, b) => a - b);
    const tag = nums.length ? `[${nums.slice(0, 3).join(',')}${nums.length > 3 ? ',…' : ''}]` : '';
    const svg =
      `<circle cx="${x + 3.5}" cy="${y + SVG_ROW_H / 2}" r="3.5" fill="${color(SEV_COLOR[worst.severity])}" data-testid="finding-dot" data-findings="${ids.join(',')}"><title>${xml(`${ids.length} finding${ids.length === 1 ? '' : 's'}`)}</title></circle>` +
      (tag ? `<text x="${x + 10}" y="${y + 16}" font-size="10" fill="${color(SEV_COLOR[worst.severity])}">${tag}</text>` : '');
    return { svg, w: 10 + (tag ? labelWidth(tag) - 2 : 0) };
  }

  function laneSvg(conn: ConnectionRow, shown: number, m: ViewModel, y: number): string {
    const segs = laneLayout(conn, win, wfW);
    const labels = placeLaneLabels(segs, wfW);
    const out: string[] = [];
    out.push(`<g data-lane-id="${conn.id}" data-protocol="${xml(conn.protocol)}">`);
    out.push(`<rect x="0" y="${y}" width="${width}" height="${SVG_ROW_H}" fill="${color('var(--lane-bg)')}"/><line x1="0" y1="${y + 0.5}" x2="${width}" y2="${y + 0.5}" stroke="${color('var(--border)')}"/>`);
    const marks = labelMarks(conn.findings, PAD + 16, y);
    const text = laneText(conn, shown);
    out.push(`<g clip-path="url(#wf-label-clip)"><text x="${PAD}" y="${y + 16}" font-weight="500" fill="${color('var(--accent)')}">⇄</text>${marks.svg}<text x="${PAD + 16 + marks.w}" y="${y + 16}" font-weight="500" fill="${color('var(--text)')}">${xml(fit(text, wfX - PAD - 20 - marks.w))}<title>${xml(text)}</title></text></g>`);
    out.push(`<g clip-path="url(#wf-clip)"><g transform="translate(${wfX} ${y})">`);
    for (const s of segs) {
      if (s.kind === 'lifetime') out.push(`<rect x="${n(s.x)}" y="11" width="${n(s.w)}" height="3" fill="${color('var(--lane-life)')}" data-seg="lifetime"><title>${xml(s.label)}</title></rect>`);
      else if (s.kind === 'handshake') out.push(`<rect x="${n(s.x)}" y="7" width="${n(s.w)}" height="10" fill="${color('var(--handshake)')}" data-seg="handshake"><title>${xml(s.label)}</title></rect>`);
      else if (s.kind === 'tls') out.push(`<rect x="${n(s.x)}" y="7" width="${n(s.w)}" height="10" fill="${color(PHASE_STYLES.ssl.color)}" data-seg="tls"><title>${xml(s.label)}</title></rect>`);
    }
    // Request activity (start → end, or the unanswered wait's end), as the grid's lane.
    let spans = 0;
    for (const rid of conn.requestIds) {
      const r = m.requests[rid];
      const end = r?.noResponse ? r.noResponse.endTime : r?.endTime;
      if (!r || end === undefined || end < win.t0 || r.startTime > win.t1) continue;
      const x = Math.max(-2, xOf(r.startTime, win, wfW));
      const w = Math.max(2, Math.min(wfW + 2, xOf(end, win, wfW)) - x);
      out.push(
        r.noResponse
          ? `<rect x="${n(x)}" y="8" width="${n(w)}" height="8" fill="url(#wf-lane-no-response)" data-testid="lane-no-response"><title>${xml(r.noResponse.text)}</title></rect>`
          : `<rect x="${n(x)}" y="8" width="${n(w)}" height="8" rx="1" fill="${color('var(--activity)')}" fill-opacity="0.55"/>`,
      );
      if (++spans > 2000) break;
    }
    for (const s of segs) {
      if (s.kind !== 'idle') continue;
      out.push(`<g data-testid="idle-gap"><rect x="${n(s.x)}" y="4" width="${n(s.w)}" height="16" fill="url(#wf-idle)" stroke="${color('var(--lane-life)')}" stroke-dasharray="3 2"/><title>${xml(s.label)}</title>`);
      if (labels.idle.has(s)) {
        const lw = labelWidth(s.label);
        const mid = s.x + s.w / 2;
        out.push(`<rect x="${n(mid - lw / 2)}" y="6" width="${n(lw)}" height="12" fill="${color('var(--lane-bg)')}"/><text x="${n(mid)}" y="15.5" font-size="10" font-weight="500" text-anchor="middle" fill="${color('var(--text)')}">${xml(s.label)}</text>`);
      }
      out.push('</g>');
    }
    if (conn.late)
      for (const { item: [s, e, cnt, side, p], x, w } of spansPx(conn.late.marks, (l) => [l[0], l[1]], win, wfW, 0)) {
        const ww = Math.max(7, w);
        const xx = w < 7 ? x - (7 - w) / 2 : x;
        // Server → client retransmissions point down from the top edge, client → server up from the bottom.
        const pts = side === 'client' ? `${n(xx + ww / 2)},${SVG_ROW_H - 7} ${n(xx + ww)},${SVG_ROW_H} ${n(xx)},${SVG_ROW_H}` : `${n(xx)},0 ${n(xx + ww)},0 ${n(xx + ww / 2)},7`;
        out.push(`<polygon points="${pts}" fill="${color('var(--late)')}" data-testid="late-mark" data-time="${s}" data-count="${cnt}"><title>${xml(`${cnt} retransmitted or out-of-order segment${cnt === 1 ? '' : 's'} ${side} → ${side === 'client' ? 'server' : 'client'} at ${formatMs(s)}${e > s ? ` – ${formatMs(e)}` : ''} (first #${p})`)}</title></polygon>`);
      }
    for (const s of segs) {
      if (s.kind !== 'close') continue;
      const side = labels.close.get(s) ?? 'none';
      const c = s.how === 'rst' ? 'var(--error)' : s.by === 'server' ? 'var(--warning)' : 'var(--text-muted)';
      out.push(`<g data-testid="close-marker" data-by="${s.by ?? 'none'}" data-how="${xml(s.how ?? '')}"><rect x="${n(s.x)}" y="2" width="2" height="${SVG_ROW_H - 4}" fill="${color(c)}"/><title>${xml(s.detail ? `${s.label}: ${s.detail}` : s.label)}</title>`);
      if (side !== 'none') out.push(`<text x="${n(side === 'left' ? s.x - 4 : s.x + 6)}" y="10" font-size="10" fill="${color('var(--text)')}"${side === 'left' ? ' text-anchor="end"' : ''}>${xml(s.label)}</text>`);
      out.push('</g>');
    }
    out.push('</g></g>');
    out.push(findingMarks(conn.findings, y));
    out.push('</g>');
    return out.join('');
  }

  function requestSvg(req: RequestRow, _m: ViewModel, y: number, i: number): string {
    const out: string[] = [];
    const err = req.status === null || req.status >= 400;
    out.push(`<g data-request-id="${req.id}" data-connection-id="${req.connectionId}">`);
    if (i % 2 === 0) out.push(`<rect x="0" y="${y}" width="${width}" height="${SVG_ROW_H}" fill="${color('var(--bg-alt)')}" fill-opacity="0.6"/>`);
    const x0 = PAD + 14;
    const marks = labelMarks(req.findings, x0, y);
    const status = req.pushed?.outcome === 'cancelled' ? '(canceled)' : req.status !== null ? String(req.status) : req.state === 'no-response' ? '(none)' : req.state === 'reset' ? '(reset)' : '(partial)';
    const right = `${status}  ${formatMs(req.durationMs)}`;
    const rightW = labelWidth(right);
    let x = x0 + marks.w;
    let push = '';
    if (req.pushed) {
      const c = color(PHASE_STYLES.push.color);
      // A promise cancelled or never answered: an outlined, dashed badge (the UI's "cancelled push" style).
      push =
        req.pushed.outcome === 'delivered'
          ? `<rect x="${x}" y="${y + 6}" width="26" height="12" rx="2" fill="${c}"/><text x="${x + 13}" y="${y + 15.5}" font-size="10" text-anchor="middle" fill="#ffffff" data-testid="push-badge">Push</text>`
          : `<rect x="${x + 0.5}" y="${y + 6.5}" width="25" height="11" rx="2" fill="none" stroke="${c}" stroke-dasharray="2 2"/><text x="${x + 13}" y="${y + 15.5}" font-size="10" text-anchor="middle" fill="${c}" data-testid="push-badge" data-outcome="${req.pushed.outcome}">Push<title>${xml(pushText(req.pushed))}</title></text>`;
      x += 30;
    }
    const name = `${req.method !== 'GET' ? `${req.method} ` : ''}${req.name}`;
    out.push(
      `<g clip-path="url(#wf-label-clip)">${marks.svg}${push}<text x="${x}" y="${y + 16}" fill="${color('var(--text)')}">${xml(fit(name, wfX - x - rightW - 10))}<title>${xml(req.url)}</title></text>` +
        `<text x="${wfX - 6}" y="${y + 16}" text-anchor="end" font-size="10" fill="${color(err ? 'var(--error)' : 'var(--text-muted)')}">${xml(right)}</text></g>`,
    );
    out.push(`<g clip-path="url(#wf-clip)"><g transform="translate(${wfX} ${y})">`);
    for (const b of phaseBars(req.phases, win, wfW)) {
      const st = PHASE_STYLES[b.id];
      const [, s, e] = req.phases[b.idx]!;
      const hung = req.noResponse !== undefined && b.idx === req.phases.length - 1;
      const [by, bh] = st.thin ? [10, 4] : [6, 12];
      const tip = hung ? req.noResponse!.text : `${st.label}: ${formatMs(e - s)}`;
      out.push(
        hung
          ? `<rect x="${n(b.x + 0.5)}" y="${by + 0.5}" width="${n(Math.max(0, b.w - 1))}" height="${bh - 1}" fill="url(#wf-no-response)" stroke="${color(st.color)}" data-phase="${b.id}" data-idx="${b.idx}" data-start="${s}" data-end="${e}" data-x="${n(b.x)}" data-w="${n(b.w)}" data-testid="no-response-bar"><title>${xml(tip)}</title></rect>`
          : `<rect x="${n(b.x)}" y="${by}" width="${n(b.w)}" height="${bh}" rx="1" fill="${color(st.color)}" data-phase="${b.id}" data-idx="${b.idx}" data-start="${s}" data-end="${e}"><title>${xml(tip)}</title></rect>`,
      );
    }
    const pc = req.pushed?.outcome === 'cancelled' ? req.pushed : null;
    if (pc && pc.startTime !== undefined && pc.endTime !== undefined) {
      const px = xOf(pc.startTime, win, wfW);
      out.push(`<rect x="${n(px)}" y="8" width="${n(Math.max(3, xOf(pc.endTime, win, wfW) - px))}" height="8" fill="url(#wf-push-cancelled)" stroke="${color(PHASE_STYLES.push.color)}" stroke-dasharray="2 2" data-testid="push-cancelled-bar"><title>${xml(pushTip(pc))}</title></rect>`);
    }
    if (req.stalls)
      for (const { item: st, x: sx, w } of spansPx(req.stalls, (st) => [st.startTime, st.endTime], win, wfW, 2)) {
        const c = STALL_STYLES[st.kind];
        out.push(`<rect x="${n(sx)}" y="3" width="${n(w)}" height="18" rx="2" fill="url(#wf-stall-${st.kind})" stroke="${color(c.color)}" data-testid="stall" data-kind="${st.kind}"><title>${xml(`${c.label} (${formatMs(st.endTime - st.startTime)})\n${st.text}`)}</title></rect>`);
      }
    if (req.arrivals) {
      const shared = req.arrivals.shared;
      const unit = req.arrivals.unit;
      for (const { item: a, x: ax, w } of spansPx(req.arrivals.runs, (a) => [a[0], a[1]], win, wfW)) {
        out.push(
          `<rect x="${n(ax)}" y="${shared ? 14 : 6}" width="${n(w)}" height="${shared ? 4 : 12}" fill="${color('var(--arrival)')}" fill-opacity="${shared ? 0.6 : 0.85}" data-testid="arrival"><title>${xml(`Data arrived ${formatMs(a[0])}${a[1] > a[0] ? ` – ${formatMs(a[1])}` : ''}: ${a[2]} ${unit === 'frames' ? `DATA frame${a[2] === 1 ? '' : 's'}` : `packet${a[2] === 1 ? '' : 's'}`}, ${formatBytes(a[3])}`)}</title></rect>`,
        );
      }
    }
    out.push('</g></g>');
    out.push('</g>');
    return out.join('');
  }

  function legendSvg(y: number): string {
    const out: string[] = [`<g data-testid="legend" font-size="10">`];
    let x = PAD;
    const item = (swatch: string, label: string) => {
      out.push(`${swatch.replace(/X0/g, String(x)).replace(/Y0/g, String(y))}<text x="${x + 16}" y="${y + 10}" fill="${color('var(--text-muted)')}">${xml(label)}</text>`);
      x += 16 + labelWidth(label) + 6;
    };
    const used = new Set<string>();
    for (const r of model.requests) for (const p of r.phases) used.add(p[0]);
    for (const id of Object.keys(PHASE_STYLES) as (keyof typeof PHASE_STYLES)[]) {
      if (!used.has(id) || x > width - 120) continue;
      item(`<rect x="X0" y="${y + 2}" width="12" height="9" fill="${color(PHASE_STYLES[id].color)}"/>`, PHASE_STYLES[id].label);
    }
    if (x < width - 120 && model.connections.some((c) => c.late && c.late.marks.length > 0)) item(`<polygon points="${x},${y + 2} ${x + 9},${y + 2} ${x + 4.5},${y + 10}" fill="${color('var(--late)')}"/>`, 'retransmission');
    if (x < width - 120 && model.findings.length) item(`<circle cx="${x + 5}" cy="${y + 6.5}" r="3.5" fill="${color('var(--warning)')}"/>`, 'finding');
    out.push('</g>');
    return out.join('');
  }

  function findingsSvg(y: number): string {
    const out: string[] = [`<g data-testid="finding-groups">`];
    out.push(`<text x="${PAD}" y="${y + 11}" font-weight="600" fill="${color('var(--text)')}">${xml(`Findings: ${model.findings.length} in ${groups.length} group${groups.length === 1 ? '' : 's'}`)}</text>`);
    listed.forEach((g, gi) => {
      const worst = model.findings[g.worst]!;
      const yy = y + (gi + 1) * FINDING_LINE_H + 11;
      const conns = g.connectionIds.length === 0 ? '' : g.connectionIds.length <= 3 ? ` on #${g.connectionIds.join(', #')}` : ` on ${g.connectionIds.length} connections`;
      const cost = g.costMs > 0 ? ` ≈${formatMs(g.costMs)} total` : '';
      const text = `${g.findings.length > 1 ? `${g.findings.length}× ` : ''}${g.rule ?? g.kind}${conns}${cost} — ${g.findings.length > 1 ? 'worst: ' : ''}${worst.summary}`;
      out.push(
        `<g data-finding-group="${gi + 1}" data-kind="${xml(g.kind)}" data-count="${g.findings.length}" data-cost-ms="${g.costMs}"><text x="${PAD}" y="${yy}" fill="${color(SEV_COLOR[g.severity])}" font-weight="600">${gi + 1}</text>` +
          `<text x="${PAD + 22}" y="${yy}" fill="${color(SEV_COLOR[g.severity])}" font-size="10">${g.severity.toUpperCase()}</text>` +
          `<text x="${PAD + 80}" y="${yy}" fill="${color('var(--text)')}">${xml(fit(text, width - PAD * 2 - 80))}<title>${xml(`${text}\nadvice: ${worst.advice}`)}</title></text></g>`,
      );
    });
    if (groups.length > listed.length) {
      const more = groups.length - listed.length;
      out.push(`<text x="${PAD}" y="${y + (listed.length + 1) * FINDING_LINE_H + 11}" fill="${color('var(--text-muted)')}">${xml(`… ${more} more group${more === 1 ? '' : 's'} (wirefall analyze lists them all)`)}</text>`);
    }
    out.push('</g>');
    return out.join('');
  }
}

const SEV_RANK: Record<Severity, number> = { error: 0, warning: 1, info: 2 };
function sevRank(s: Severity): number {
  return SEV_RANK[s];
}
