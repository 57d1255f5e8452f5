/**
 * Where a finding's evidence points in the waterfall (issue 15 item 2): the request to select, the
 * connection (when no request fits), the moment to mark, and a time window zoomed on it. Pure: the
 * UI calls it on click; no DOM.
 *
 * How a line is matched to a request, in order:
 *  0. the request its text names — the first "stream N" (HTTP/2, HTTP/3), else "METHOD /path" —
 *     among the finding's requests, then on the finding's connections;
 *  1. its packet number inside a request's packets ([first request packet, last packet]) among the
 *     finding's requests, then among every request of the finding's connections;
 *  2. its time inside a request's span (start → end, or the unanswered wait's end), same order;
 *  3. the finding's request whose span is nearest to the time;
 *  4. the finding's first request; with none, the finding's first connection (its lane).
 * Where it can be wrong: HTTP/2 and HTTP/3 streams interleave, so a packet of one stream lies within
 * another's range too; the finding's own requests are tried first for that reason.
 */
import type { Evidence, Finding } from '../model/types.js';
import type { RequestRow, ViewModel } from './api.js';

export interface EvidenceTarget {
  requestId: number | null;
  connectionId: number | null;
  /** The moment to mark (the evidence's time, else the request's start, else the finding's start). */
  time: number;
  /** The waterfall window to show: the moment and the request in view, zoomed in. */
  window: { t0: number; t1: number };
}

/** Smallest window an evidence click zooms to (ms). */
export const MIN_EVIDENCE_WINDOW_MS = 20;

function span(r: RequestRow): [number, number] {
  return [Math.min(r.startTime, r.timingStartTime), Math.max(r.endTime, r.noResponse?.endTime ?? r.endTime)];
}

function candidates(model: ViewModel, f: Finding): RequestRow[][] {
  const own = f.requestIds.map((id) => model.requests[id]).filter((r): r is RequestRow => r !== undefined);
  const conns = new Set(f.connectionIds);
  for (const r of own) conns.add(r.connectionId);
  const onConns: RequestRow[] = [];
  for (const c of model.connections) if (conns.has(c.id)) for (const id of c.requestIds) if (model.requests[id]) onConns.push(model.requests[id]!);
  return [own, onConns];
}

export function evidenceTarget(model: ViewModel, f: Finding, ev: Evidence | null, extent: { t0: number; t1: number }): EvidenceTarget {
  const lists = candidates(model, f);
  let req: RequestRow | undefined = ev ? namedRequest(lists, ev.what) : undefined;
  if (!req && ev?.packet !== null && ev?.packet !== undefined) {
    const p = ev.packet;
    for (const l of lists) if ((req = l.find((r) => r.packets[0] <= p && p <= r.packets[1]))) break;
  }
  const t = ev?.time ?? null;
  if (!req && t !== null) {
    for (const l of lists) if ((req = l.find((r) => span(r)[0] <= t && t <= span(r)[1]))) break;
    if (!req && lists[0]!.length > 0) {
      const dist = (r: RequestRow) => {
        const [a, b] = span(r);
        return t < a ? a - t : t > b ? t - b : 0;
      };
      req = lists[0]!.reduce((best, r) => (dist(r) < dist(best) ? r : best));
    }
  }
  req ??= lists[0]![0];
  const connectionId = req ? req.connectionId : (f.connectionIds[0] ?? null);
  const time = t ?? (req ? req.startTime : f.timeRange[0]);
  // The window: the moment and the request (or the finding's range) with margins, at least MIN_EVIDENCE_WINDOW_MS.
  const [a, b] = req ? span(req) : f.timeRange;
  const lo = Math.min(a, time);
  const hi = Math.max(b, time);
  const width = Math.max(MIN_EVIDENCE_WINDOW_MS, (hi - lo) * 1.4);
  const mid = (lo + hi) / 2;
  let t0 = mid - width / 2;
  let t1 = mid + width / 2;
  const total = extent.t1 - extent.t0;
  if (width >= total) [t0, t1] = [extent.t0, extent.t1];
  else if (t0 < extent.t0) [t0, t1] = [extent.t0, extent.t0 + width];
  else if (t1 > extent.t1) [t0, t1] = [extent.t1 - width, extent.t1];
  return { requestId: req ? req.id : null, connectionId, time, window: { t0, t1 } };
}

/** The request an evidence sentence names: "stream 17 (GET /big/b3.bin)", "GET /f2.txt sent …". */
export function namedRequest(lists: RequestRow[][], what: string): RequestRow | undefined {
  const stream = /\bstream (\d+)\b/.exec(what);
  const line = /\b(GET|HEAD|POST|PUT|DELETE|PATCH|OPTIONS|CONNECT|TRACE) (\S+)/.exec(what);
  const target = line ? line[2]!.replace(/[),;:]+$/, '') : null;
  const path = (r: RequestRow) => {
    try {
      const u = new URL(r.url);
      return u.pathname + u.search;
    } catch {
      return r.url;
    }
  };
  for (const l of lists) {
    const hit =
      (stream && l.find((r) => r.streamId === Number(stream[1]))) ||
      (target && l.find((r) => r.method === line![1] && (path(r) === target || r.url === target)));
    if (hit) return hit;
  }
  return undefined;
}

/** The evidence line as text: "#packet @time what" (the UI formats the time). */
export function evidenceLabel(ev: Evidence, fmt: (ms: number) => string): string {
  return `${ev.packet !== null ? `#${ev.packet} ` : ''}${ev.time !== null ? `@${fmt(ev.time)} ` : ''}${ev.what}`;
}
