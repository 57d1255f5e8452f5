/**
 * The Diff view's view model: core's diff of two captures (core/src/diff/diff.ts `diffReports`,
 * served with each origin's connections by core/src/view/diff-view.ts) laid out for display — the
 * table rows with their change, the findings by status, and each origin's lanes in BEFORE and AFTER
 * on one time scale. Nothing here decides an origin, a count or a duration: those are core's.
 */
import type { Diff, DiffFinding, DiffOrigin, DiffOriginSide } from '../../../core/src/diff/diff.js';
import type { PhaseId, Severity } from '../../../core/src/model/types.js';
import type { ConnectionRow, RequestRow, ViewModel } from '../../../core/src/view/api.js';
import { formatMs } from './format.js';
import { formatCount, percentChange, signedChange } from '../../../core/src/diff/format.js';
import { PHASE_IDS, PHASE_STYLES } from './phaseStyles.js';

/** Which direction of a change is an improvement: 'down' (fewer, shorter), 'up', or neither. */
export type Better = 'down' | 'up' | 'none';

export interface DiffMetricRow {
  /** Stable id ('connections', 'phase:ssl', …) for tests and styling. */
  key: string;
  label: string;
  before: string;
  after: string;
  /** "−49", "+1.2 s (+20.0%)", "=" or '' when a side is missing. */
  change: string;
  /** 'better' / 'worse' / 'same' / '' (no comparison or no direction). */
  verdict: 'better' | 'worse' | 'same' | '';
}

const num = formatCount;
const signed = signedChange;
/** " (−65.5%)", or '' (diff/format.ts percentChange). */
const pct = (before: number, after: number): string => {
  const p = percentChange(before, after);
  return p ? ` (${p})` : '';
};

function verdictOf(p: number, q: number, better: Better): DiffMetricRow['verdict'] {
  if (better === 'none') return '';
  if (p === q) return 'same';
  return (q < p) === (better === 'down') ? 'better' : 'worse';
}

/** A row comparing one number on both sides (null: the side does not have it). */
export function metricRow(key: string, label: string, p: number | null, q: number | null, kind: 'count' | 'ms', better: Better): DiffMetricRow {
  const fmt = kind === 'ms' ? formatMs : num;
  const both = p !== null && q !== null;
  return {
    key,
    label,
    before: p === null ? '—' : fmt(p),
    after: q === null ? '—' : fmt(q),
    change: both ? (kind === 'ms' && p !== q ? `${signed(q - p, formatMs)}${pct(p, q)}` : signed(q - p, fmt)) : '',
    verdict: both ? verdictOf(p, q, better) : '',
  };
}

function textRow(key: string, label: string, p: string | null, q: string | null): DiffMetricRow {
  return { key, label, before: p ?? '—', after: q ?? '—', change: '', verdict: '' };
}

/** The table of one origin: the columns, then p50 / p95 of each timing phase either side has. */
export function diffOriginRows(o: DiffOrigin): DiffMetricRow[] {
  const x = o.before;
  const y = o.after;
  const get = <T>(s: DiffOriginSide | null, f: (s: DiffOriginSide) => T): T | null => (s ? f(s) : null);
  const rows: DiffMetricRow[] = [
    textRow('protocol', 'Protocol', get(x, (s) => s.protocol), get(y, (s) => s.protocol)),
    metricRow('connections', 'Connections', get(x, (s) => s.connections), get(y, (s) => s.connections), 'count', 'down'),
    metricRow('requests', 'Requests', get(x, (s) => s.requests), get(y, (s) => s.requests), 'count', 'none'),
    metricRow('requestsPerConnection', 'Requests per connection', get(x, (s) => s.requestsPerConnection), get(y, (s) => s.requestsPerConnection), 'count', 'up'),
    metricRow('handshakes', 'Handshakes', get(x, (s) => s.handshakes), get(y, (s) => s.handshakes), 'count', 'down'),
    metricRow('handshakeMs', 'Handshake time', get(x, (s) => s.handshakeMs), get(y, (s) => s.handshakeMs), 'ms', 'down'),
  ];
  const tls = (s: DiffOriginSide | null) => (s?.tls ? `${s.tls.resumed} of ${s.tls.handshakes}` : null);
  if (x?.tls || y?.tls) rows.push(textRow('tlsResumed', 'TLS resumed', tls(x), tls(y)));
  rows.push(metricRow('durationMs', 'End-to-end', get(x, (s) => s.durationMs), get(y, (s) => s.durationMs), 'ms', 'down'));
  for (const id of PHASE_IDS as readonly PhaseId[]) {
    const p = x?.phases[id];
    const q = y?.phases[id];
    if (!p && !q) continue;
    const c = (v: typeof p) => (v ? `${formatMs(v.p50)} / ${formatMs(v.p95)} ×${v.count}` : '—');
    const r = metricRow(`phase:${id}`, `${PHASE_STYLES[id].label} p50 / p95`, p ? p.p50 : null, q ? q.p50 : null, 'ms', 'down');
    rows.push({ ...r, before: c(p), after: c(q) });
  }
  return rows;
}

/** The capture-wide rows (all origins). */
export function diffTotalRows(d: Diff): DiffMetricRow[] {
  const b = d.before;
  const a = d.after;
  return [
    metricRow('durationMs', 'End-to-end', b.durationMs, a.durationMs, 'ms', 'down'),
    metricRow('connections', 'Connections', b.connections, a.connections, 'count', 'down'),
    metricRow('requests', 'Requests', b.requests, a.requests, 'count', 'none'),
    metricRow('handshakes', 'Handshakes', b.handshakes, a.handshakes, 'count', 'down'),
    metricRow('handshakeMs', 'Handshake time', b.handshakeMs, a.handshakeMs, 'ms', 'down'),
    metricRow('findings', 'Findings', b.findings, a.findings, 'count', 'down'),
  ];
}

export type FindingStatus = 'resolved' | 'new' | 'unchanged';

export interface DiffFindingItem {
  key: string;
  status: FindingStatus;
  kind: string;
  rules: string[];
  origin: string | null;
  severity: Severity;
  summary: string;
  /** "3 → 1" for unchanged findings, "×3" otherwise. */
  count: string;
  /** "cost 1.2 s → 80 ms", "cost 369 ms" or ''. */
  cost: string;
}

function findingItem(status: FindingStatus, f: DiffFinding, i: number): DiffFindingItem {
  const side = f.after ?? f.before!;
  const both = f.before && f.after;
  const cost = both && (f.before!.costMs || f.after!.costMs) ? `cost ${formatMs(f.before!.costMs)} → ${formatMs(f.after!.costMs)}` : side.costMs ? `cost ${formatMs(side.costMs)}` : '';
  return {
    key: `${status}:${i}:${f.kind}:${f.origin ?? ''}`,
    status,
    kind: f.kind,
    rules: side.rules,
    origin: f.origin,
    severity: side.severity,
    summary: side.summary,
    count: both ? `${f.before!.count} → ${f.after!.count}` : `×${side.count}`,
    cost,
  };
}

/** Findings resolved, new and unchanged (core matched them by kind and origin), in that order. */
export function diffFindingItems(d: Diff): Record<FindingStatus, DiffFindingItem[]> {
  return {
    resolved: d.findings.resolved.map((f, i) => findingItem('resolved', f, i)),
    new: d.findings.new.map((f, i) => findingItem('new', f, i)),
    unchanged: d.findings.unchanged.map((f, i) => findingItem('unchanged', f, i)),
  };
}

/** BEFORE's what-if prediction against AFTER's measurement, one sentence; null without one. */
export function predictionText(d: Diff): string | null {
  const p = d.prediction;
  if (!p) return null;
  const what = p.policy === 'keepalive-timeout' ? `with the server’s idle timeout raised to ${p.keepaliveTimeoutS ?? '?'} s` : 'with connection reuse';
  const err = `${p.errorPct >= 0 ? '+' : '−'}${Math.abs(p.errorPct).toFixed(1)}%`;
  return `BEFORE’s what-if ${what} estimated ${formatMs(p.estimatedMs)} and ${p.beforeConnections} → ${p.estimatedConnections} connections; AFTER measured ${formatMs(p.afterMeasuredMs)} and ${p.afterConnections} (estimate ${err})`;
}

// ------------------------------------------------------------------------ lanes ----

/** Requests of a side drawn phase by phase (core's phases, model/phases.ts); above it, as plain bars. */
export const MAX_PHASED_REQUESTS = 1000;
/** Bars per lane; the requests past it are drawn as one bar to the last one's end. */
export const MAX_LANE_BARS = 200;

/** A bar on a lane: a timing phase id (styled by PHASE_STYLES), or 'request' for a whole request. */
export type LaneSegment = [PhaseId | 'request', number, number];

export interface DiffLane {
  id: number;
  /** ms from the side's first lane start. */
  start: number;
  end: number;
  /** Bars on the lane, in the same frame. */
  segments: LaneSegment[];
  title: string;
}

export interface DiffSideLanes {
  lanes: DiffLane[];
  /** The side's time span (first lane start → last lane or request end), ms. */
  span: number;
  omitted: number;
}

/** Lanes of one capture's connections of one origin (ids in core's order), relative to its first lane. */
export function sideLanes(model: ViewModel | undefined, ids: readonly number[], omitted = 0): DiffSideLanes {
  if (!model) return { lanes: [], span: 0, omitted: ids.length + omitted };
  const conns = new Map<number, ConnectionRow>(model.connections.map((c) => [c.id, c]));
  const reqs = new Map<number, RequestRow>(model.requests.map((r) => [r.id, r]));
  const list = ids.map((id) => conns.get(id)).filter((c): c is ConnectionRow => c !== undefined);
  const t0 = list.reduce((m, c) => Math.min(m, c.synTime ?? c.firstTime), Infinity);
  const phased = list.reduce((n, c) => n + c.requestIds.length, 0) <= MAX_PHASED_REQUESTS;
  let span = 0;
  const lanes = list.map((c): DiffLane => {
    const start = (c.synTime ?? c.firstTime) - t0;
    const rs = c.requestIds.map((id) => reqs.get(id)).filter((r): r is RequestRow => r !== undefined);
    const segments: LaneSegment[] = [];
    rs.forEach((r, i) => {
      const a = r.timingStartTime - t0;
      const b = r.timingStartTime + r.durationMs - t0;
      if (i === MAX_LANE_BARS - 1 && rs.length > MAX_LANE_BARS) {
        segments.push(['request', a, rs.reduce((m, x) => Math.max(m, x.timingStartTime + x.durationMs - t0), b)]);
      } else if (i < MAX_LANE_BARS) {
        if (phased && r.phases.length) for (const [id, ps, pe] of r.phases) segments.push([id, ps - t0, pe - t0]);
        else segments.push(['request', a, b]);
      }
    });
    const end = segments.reduce((m, g) => Math.max(m, g[2]), (c.close.time ?? c.lastTime) - t0);
    span = Math.max(span, end);
    return { id: c.id, start, end, segments, title: `#${c.id} ${c.server.ip}:${c.server.port} · ${c.requestCount} request${c.requestCount === 1 ? '' : 's'} · ${formatMs(end - start)}` };
  });
  return { lanes, span, omitted: omitted + (ids.length - list.length) };
}

/** Percent position of a time on a lane track of `scale` ms (both sides of an origin share one scale). */
export function lanePct(t: number, scale: number): number {
  return scale > 0 ? Math.max(0, Math.min(100, (100 * t) / scale)) : 0;
}
