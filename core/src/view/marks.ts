/**
 * What the packets say inside a request bar and on a connection lane, derived from the model for
 * drawing (pure; no protocol fact is computed here, only selected, clipped and bounded):
 *
 *  - data arrivals: HTTP/2, the runs of the stream's own DATA frames (`request.h2.dataRuns`,
 *    h2-data-marks.ts); otherwise the runs of response payload packets (Connection.packetMarks,
 *    tcp/marks.ts) inside the response's [first byte, last byte] — on an HTTP/1.x connection one
 *    response is on the wire at a time, so these are the response's own packets; on an HTTP/2
 *    connection without stream runs they are the connection's and are flagged `shared`.
 *  - stalls: HTTP/2 TCP head-of-line episodes of the stream (http2/tcp-hol.ts: `holMs` is the wait
 *    caused by other streams' lost bytes, the rest of `waitMs` the wait for its own), HTTP/2
 *    flow-control stalls (the stream's window, or the connection's while the stream was open),
 *    TCP delivery later than capture (`deliveredTimes`, HTTP/1.x) and the wait of a pipelined request
 *    behind the response before it (HTTP/1.1 answers in order, RFC 9112 §9.3.2).
 *  - late segments on the lane: retransmitted or out-of-order segments (model/late-segments.ts).
 *
 * Bounded: at most MAX_ARRIVAL_MARKS runs and MAX_STALL_MARKS stalls per request and
 * MAX_LATE_MARKS_PER_SIDE marks per connection direction; beyond them neighbouring runs are merged
 * (`mergeRuns`) — never dropped, so the counts they carry still add up.
 */
import type { Connection, DirectionMarks, H2HolEpisode, Request, Side } from '../model/types.js';
import type { ArrivalTuple, LateTuple, StallMark } from './api.js';

/** Arrival runs drawn per request. */
export const MAX_ARRIVAL_MARKS = 48;
/** Stall segments per request (the longest are kept). */
export const MAX_STALL_MARKS = 32;
/** Late-segment marks per connection direction. */
export const MAX_LATE_MARKS_PER_SIDE = 64;

/** A run: [startTime, endTime, count, bytes]; `mergeRuns` keeps the first run's extra fields. */
export type Run = [number, number, number, number, ...unknown[]];

/**
 * At most `k` runs, in time order: the `n - k` smallest gaps between neighbours are closed (ties in
 * time order), so the widest pauses — the ones worth seeing — stay. Counts and bytes add up; a
 * merged run keeps its first run's extra fields. O(n log n).
 */
export function mergeRuns<T extends Run>(runs: readonly T[], k: number): T[] {
  if (runs.length <= k) return runs.slice();
  if (k <= 0) return [];
  const order = Array.from({ length: runs.length - 1 }, (_, i) => i);
  const gapAt = (i: number) => runs[i + 1]![0] - runs[i]![1];
  order.sort((a, b) => gapAt(a) - gapAt(b) || a - b);
  const close = new Uint8Array(runs.length - 1);
  for (let j = 0; j < runs.length - k; j++) close[order[j]!] = 1;
  const out: T[] = [runs[0]!.slice() as T];
  for (let i = 1; i < runs.length; i++) {
    const r = runs[i]!;
    if (close[i - 1]) {
      const m = out[out.length - 1]!;
      m[1] = Math.max(m[1], r[1]);
      m[2] = m[2] + r[2];
      m[3] = m[3] + r[3];
    } else out.push(r.slice() as T);
  }
  return out;
}

/** First index whose run ends at or after `t` (runs sorted by start, non-overlapping). */
function firstEndingAfter(runs: readonly { endTime: number }[], t: number): number {
  let lo = 0;
  let hi = runs.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (runs[mid]!.endTime < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The response's data arrivals (see the header), or undefined when none are known. */
export function requestArrivals(r: Request, c: Connection | undefined, k = MAX_ARRIVAL_MARKS): { runs: ArrivalTuple[]; shared: boolean; unit: 'packets' | 'frames' } | undefined {
  const own = r.h2?.dataRuns;
  if (own && own.length > 0) return { runs: mergeRuns(own.map((d): ArrivalTuple => [d.startTime, d.endTime, d.frames, d.bytes]), k), shared: false, unit: 'frames' };
  const marks = c?.packetMarks?.server;
  const start = r.times.responseStartTime;
  const end = r.times.responseEndTime ?? c?.lastTime ?? null;
  if (!marks || start === null || end === null || end < start) return undefined;
  const runs = marks.arrivals;
  const out: ArrivalTuple[] = [];
  for (let i = firstEndingAfter(runs, start); i < runs.length; i++) {
    const a = runs[i]!;
    if (a.startTime > end) break;
    out.push([Math.max(a.startTime, start), Math.min(a.endTime, end), a.packets, a.bytes]);
  }
  if (out.length === 0) return undefined;
  const shared = c!.protocol === 'h2' || c!.protocol === 'h2c';
  return { runs: mergeRuns(out, k), shared, unit: 'packets' };
}

/** Per-connection lookups for `requestStalls`, built once (O(episodes + stalls)). */
export interface StallIndex {
  hol: Map<string, { e: H2HolEpisode; holMs: number; waitMs: number; firstTime: number }[]>;
  flowByStream: Map<string, { startTime: number; endTime: number; startPacket: number; endPacket: number | null; resolved: boolean }[]>;
  /** Connection-window stalls per side, by start time. */
  flowConn: Map<Side, { startTime: number; endTime: number; startPacket: number; endPacket: number | null; resolved: boolean }[]>;
}

export function stallIndex(c: Connection): StallIndex | undefined {
  const h2 = c.h2;
  if (!h2) return undefined;
  const hol: StallIndex['hol'] = new Map();
  for (const side of ['client', 'server'] as const) {
    for (const e of h2.tcpHol[side].episodes) {
      for (const s of e.streams) {
        const key = `${side}:${s.streamId}`;
        (hol.get(key) ?? hol.set(key, []).get(key)!).push({ e, holMs: s.holMs, waitMs: s.waitMs, firstTime: s.firstTime });
      }
    }
  }
  const flowByStream: StallIndex['flowByStream'] = new Map();
  const flowConn: StallIndex['flowConn'] = new Map();
  for (const f of h2.flowControlStalls) {
    const rec = { startTime: f.startTime, endTime: f.endTime, startPacket: f.startPacket, endPacket: f.endPacket, resolved: f.resolved };
    if (f.streamId === 0) (flowConn.get(f.side) ?? flowConn.set(f.side, []).get(f.side)!).push(rec);
    else {
      const key = `${f.side}:${f.streamId}`;
      (flowByStream.get(key) ?? flowByStream.set(key, []).get(key)!).push(rec);
    }
  }
  for (const list of flowConn.values()) list.sort((a, b) => a.startTime - b.startTime);
  return { hol, flowByStream, flowConn };
}

/** "796 ms", "8.79 ms", "373 µs" — the view's short duration. */
export function shortMs(ms: number): string {
  if (ms < 1) return `${Math.round(ms * 1000)} µs`;
  if (ms < 10) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms.toFixed(1)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

const DIR: Record<Side, string> = { client: 'request', server: 'response' };

/**
 * The request's stall segments (see the header), in time order; `prev` is the exchange before it on
 * the same connection (HTTP/1.x pipelining), `idx` the connection's StallIndex.
 */
export function requestStalls(r: Request, c: Connection | undefined, prev: Request | undefined, idx: StallIndex | undefined, k = MAX_STALL_MARKS): StallMark[] {
  const out: StallMark[] = [];
  const t = r.times;
  if (idx && r.streamId !== undefined) {
    for (const side of ['client', 'server'] as const) {
      for (const h of idx.hol.get(`${side}:${r.streamId}`) ?? []) {
        const release = h.e.releaseTime;
        const blockers = [...new Set(h.e.blockers.map((b) => b.streamId))].filter((s) => s !== r.streamId);
        const holStart = release - h.holMs;
        if (h.waitMs - h.holMs > 0) {
          out.push({
            kind: 'loss',
            startTime: h.firstTime,
            endTime: Math.max(h.firstTime, holStart),
            text: `Loss: the ${DIR[side]}'s own bytes were lost; ${shortMs(h.waitMs - h.holMs)} waiting for the retransmission (#${h.e.releasePacket} at ${shortMs(release)})`,
          });
        }
        if (h.holMs > 0) {
          const who = blockers.length > 0 ? `stream${blockers.length > 1 ? 's' : ''} ${blockers.join(', ')}${blockers.includes(0) ? ' (0: connection frames)' : ''}` : 'other streams';
          out.push({
            kind: 'tcp-hol',
            startTime: holStart,
            endTime: release,
            text: `TCP head-of-line blocking: ${shortMs(h.holMs)} with its ${DIR[side]} bytes received but held by TCP behind lost bytes of ${who} (retransmitted in #${h.e.releasePacket} at ${shortMs(release)})`,
          });
        }
      }
      for (const f of idx.flowByStream.get(`${side}:${r.streamId}`) ?? []) {
        out.push({
          kind: 'flow-control',
          startTime: f.startTime,
          endTime: f.endTime,
          text: `HTTP/2 flow control: the ${side} could not send this stream's ${DIR[side]} for ${shortMs(f.endTime - f.startTime)}, its stream window exhausted (#${f.startPacket}${f.endPacket !== null ? ` → WINDOW_UPDATE #${f.endPacket}` : ', never reopened'})`,
        });
      }
      // The connection window blocks every stream with data to send: those open during the stall.
      const open = side === 'server' ? [t.responseStartTime ?? t.requestEndTime ?? t.requestStartTime, t.responseEndTime] : [t.requestStartTime, t.requestEndTime];
      const from = open[0]!;
      const to = open[1] ?? Number.POSITIVE_INFINITY;
      for (const f of idx.flowConn.get(side) ?? []) {
        if (f.startTime >= to) break;
        if (f.endTime <= from) continue;
        out.push({
          kind: 'flow-control',
          startTime: Math.max(f.startTime, from),
          endTime: Math.min(f.endTime, to),
          text: `HTTP/2 flow control: the ${side}'s connection window was exhausted for ${shortMs(f.endTime - f.startTime)} while this ${DIR[side]} was open (#${f.startPacket}${f.endPacket !== null ? ` → WINDOW_UPDATE #${f.endPacket}` : ', never reopened'})`,
        });
      }
    }
  }
  const dt = r.http1?.deliveredTimes;
  if (dt) {
    const late = (field: 'requestStartTime' | 'requestEndTime' | 'responseStartTime' | 'responseEndTime', what: string) => {
      const captured = t[field];
      const delivered = dt[field];
      if (captured === null || delivered === undefined || !(delivered > captured)) return;
      out.push({
        kind: 'tcp-delivery',
        startTime: captured,
        endTime: delivered,
        text: `TCP delivery: the ${what} arrived at ${shortMs(captured)} but waited ${shortMs(delivered - captured)} in TCP for a retransmission to fill a hole before it`,
      });
    };
    late('requestEndTime', "request's last byte");
    late('responseStartTime', "response's first byte");
    late('responseEndTime', "response's last byte");
  }
  if (r.pipelined && prev && prev.times.responseEndTime !== null) {
    const sent = t.requestEndTime ?? t.requestStartTime;
    const until = Math.min(prev.times.responseEndTime, t.responseStartTime ?? Number.POSITIVE_INFINITY);
    if (until > sent) {
      out.push({
        kind: 'pipelining',
        startTime: sent,
        endTime: until,
        text: `Pipelining: sent while exchange ${prev.index}'s response was still arriving; waited ${shortMs(until - sent)} behind it (HTTP/1.1 answers in order)`,
      });
    }
  }
  if (out.length > k) {
    out.sort((a, b) => b.endTime - b.startTime - (a.endTime - a.startTime));
    out.length = k;
  }
  return out.sort((a, b) => a.startTime - b.startTime || a.endTime - b.endTime);
}

/** The lane's late-segment marks: per direction, merged into at most `k` runs; `total` counts them all. */
export function connectionLateMarks(c: Connection, k = MAX_LATE_MARKS_PER_SIDE): { marks: LateTuple[]; total: number } | undefined {
  const pm = c.packetMarks;
  if (!pm) return undefined;
  const marks: LateTuple[] = [];
  let total = 0;
  for (const side of ['client', 'server'] as const) {
    const d: DirectionMarks = pm[side];
    total += d.late.length + d.lateDropped;
    const runs = mergeRuns(
      d.late.map((l): [number, number, number, number, number] => [l.time, l.time, 1, l.bytes, l.packet]),
      k,
    );
    for (const [s, e, n, , p] of runs) marks.push([s, e, n, side, p]);
    // Marks past the listed ones are counted on the last mark of the side, so the counts add up.
    if (d.lateDropped > 0 && marks.length > 0) marks[marks.length - 1]![2] += d.lateDropped;
  }
  if (total === 0) return undefined;
  marks.sort((a, b) => a[0] - b[0]);
  return { marks, total };
}
