/**
 * The one pure function that turns a request's raw times into DevTools phases (the spirit of
 * devtools-frontend `RequestTimeRanges.ts`), and the HAR 1.2 timings derived from it. The waterfall,
 * the CLI, the HAR export and the detectors all read phases from here; nobody recomputes them.
 *
 * Definitions (all times are capture times, ms since the capture's first packet):
 *
 *   Known phases, in this order, each present only when both of its times are known:
 *     dns         [dnsStartTime,     dnsEndTime]
 *     connecting  [connectStartTime, sslStartTime ?? connectEndTime]   (TCP handshake only)
 *     ssl         [sslStartTime,     sslEndTime]                       (TLS handshake)
 *     sending     [requestStartTime, requestEndTime]                   (first → last request byte)
 *     waiting     [requestEndTime ?? requestStartTime, responseStartTime]  (time to first byte)
 *     receiving   [responseStartTime, responseEndTime]                 (first → last response byte)
 *   Derived gap phases:
 *     queueing    [queuedTime, start of the first known phase] — present whenever queuedTime is known
 *                 (possibly zero-length): the request could have been issued but nothing happened yet.
 *     blocking    any later positive gap between two consecutive phases (e.g. handshake done, request
 *                 not sent yet: DevTools' "Stalled").
 *
 *   Phases tile [start, end] with no overlap and no hole: each phase starts where the previous one
 *   ended. Times that run backwards (a response that starts before the request finished, an early
 *   413 for instance) are clamped, so the later phase starts at the earlier one's end and may be
 *   zero-length; nothing is ever negative. A missing time (null) removes its phase; `waiting` then
 *   starts at the end of whatever phase precedes it.
 */
import type { HarTimings, Phase, PhaseId, RequestTimes } from './types.js';

/** DevTools phase ids this module can produce, in waterfall order. */
export const PHASE_IDS: readonly PhaseId[] = [
  'queueing',
  'blocking',
  'dns',
  'connecting',
  'ssl',
  'sending',
  'waiting',
  'receiving',
];

function known(t: number | null | undefined): t is number {
  return typeof t === 'number' && Number.isFinite(t);
}

/** Phases of one request, in time order; see the module comment for each definition. */
export function phases(times: RequestTimes): Phase[] {
  // Candidate known phases, [name, start, end], in order.
  const candidates: [PhaseId, number | null, number | null][] = [
    ['dns', times.dnsStartTime, times.dnsEndTime],
    ['connecting', times.connectStartTime, known(times.sslStartTime) ? times.sslStartTime : times.connectEndTime],
    ['ssl', times.sslStartTime, times.sslEndTime],
    ['sending', times.requestStartTime, times.requestEndTime],
    // waiting starts at the previous phase's end (clamped below), i.e. request end when known.
    ['waiting', known(times.requestEndTime) ? times.requestEndTime : times.requestStartTime, times.responseStartTime],
    ['receiving', times.responseStartTime, times.responseEndTime],
  ];
  const out: Phase[] = [];
  let cursor: number | null = known(times.queuedTime) ? times.queuedTime : null;
  let queueingPending = cursor !== null;
  for (const [name, s, e] of candidates) {
    if (!known(s) || !known(e)) continue;
    if (cursor === null) cursor = s;
    if (queueingPending) {
      // queueing: from queuedTime to the first known phase (zero-length when they coincide).
      const qEnd = Math.max(cursor, s);
      out.push({ name: 'queueing', startTime: cursor, endTime: qEnd });
      cursor = qEnd;
      queueingPending = false;
    } else if (s > cursor) {
      out.push({ name: 'blocking', startTime: cursor, endTime: s });
      cursor = s;
    }
    const start = cursor;
    const end = Math.max(start, e);
    out.push({ name, startTime: start, endTime: end });
    cursor = end;
  }
  return out;
}

/**
 * The time a request's phases cover, from the start of the first (queueing and connection setup
 * included) to the end of the last: DevTools' Time column and its Timing tab's "Started at" and
 * Total. Its length equals HAR `time` (`harTotalTime`), since the phases tile without holes. Null
 * when there are no phases.
 */
export function phaseSpan(list: readonly Phase[]): { startTime: number; endTime: number } | null {
  if (list.length === 0) return null;
  return { startTime: list[0].startTime, endTime: list[list.length - 1].endTime };
}

/** Sum of the durations of phases named `name`; -1 when none appear. */
function duration(list: Phase[], ...names: PhaseId[]): number {
  let total = -1;
  for (const p of list) {
    if (!names.includes(p.name)) continue;
    total = (total < 0 ? 0 : total) + (p.endTime - p.startTime);
  }
  return total;
}

/**
 * HAR 1.2 timings from the same phases: blocked = queueing + blocking, dns, connect = connecting +
 * ssl (HAR: "ssl is included in connect"), ssl, send, wait, receive; -1 where the phase is absent.
 */
export function harTimings(times: RequestTimes): HarTimings {
  const list = phases(times);
  return {
    blocked: duration(list, 'queueing', 'blocking'),
    dns: duration(list, 'dns'),
    connect: duration(list, 'connecting', 'ssl'),
    ssl: duration(list, 'ssl'),
    send: duration(list, 'sending'),
    wait: duration(list, 'waiting'),
    receive: duration(list, 'receiving'),
  };
}

/** HAR `time`: sum of the non-negative timings except `ssl` (already counted in `connect`). */
export function harTotalTime(t: HarTimings): number {
  let total = 0;
  for (const v of [t.blocked, t.dns, t.connect, t.send, t.wait, t.receive]) if (v > 0) total += v;
  return total;
}

/**
 * A request that was sent but never answered (no response byte seen): it waited from its last
 * request byte until the connection closed or, if it never closed, the capture ended. That wait is
 * not idle time on the connection; the waterfall draws it as a "no response" bar, the Timing tab and
 * HAR count it as waiting. Null when a response started, or for a reset HTTP/2-3 stream.
 */
export interface NoResponseWait {
  startTime: number;
  endTime: number;
  /** What ended the wait: the connection's FIN/RST, or the end of the capture. */
  until: 'close' | 'capture-end';
  /** Who closed the connection, when `until` is 'close'. */
  closedBy: 'client' | 'server' | null;
}

export function noResponseWait(
  r: { times: RequestTimes; status: number | null; state: string; streamId?: number | undefined },
  conn: { close: { time: number | null; by: 'client' | 'server' | null } } | undefined,
  captureEndMs: number,
): NoResponseWait | null {
  const t = r.times;
  // HTTP/1.x: an exchange left unanswered ('no-response'), or cut by a close or RST ('aborted',
  // 'reset'), waited until the connection ended. A reset HTTP/2-3 stream (RST_STREAM) ended at a
  // time of its own, not at the connection's close: only 'no-response' streams qualify.
  const ok = r.state === 'no-response' || (r.streamId === undefined && (r.state === 'aborted' || r.state === 'reset'));
  if (!ok || r.status !== null || known(t.responseStartTime) || !known(t.requestStartTime)) return null;
  const start = known(t.requestEndTime) ? Math.max(t.requestStartTime, t.requestEndTime) : t.requestStartTime;
  const closeT = conn?.close.time;
  if (known(closeT) && closeT >= start) return { startTime: start, endTime: closeT, until: 'close', closedBy: conn!.close.by };
  if (known(captureEndMs) && captureEndMs >= start) return { startTime: start, endTime: captureEndMs, until: 'capture-end', closedBy: null };
  return null;
}

/** "no response — connection closed by the server after 3.90 s" (or "… capture ended after …"). */
export function noResponseText(w: NoResponseWait): string {
  const ms = w.endTime - w.startTime;
  const d = ms < 1000 ? `${ms.toFixed(ms < 10 ? 2 : 1)} ms` : `${(ms / 1000).toFixed(2)} s`;
  if (w.until === 'capture-end') return `no response — capture ended after ${d}`;
  return `no response — connection closed${w.closedBy ? ` by the ${w.closedBy}` : ''} after ${d}`;
}
