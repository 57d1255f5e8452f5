/**
 * hol-stall (layer `flow-control`): an HTTP/2 sender that had data to send but no flow-control
 * window, waiting for the receiver's WINDOW_UPDATE (RFC 9113 §5.2, §6.9).
 *
 * Signature. The HTTP/2 session replays both sides' windows from SETTINGS_INITIAL_WINDOW_SIZE,
 * DATA lengths and WINDOW_UPDATEs and records a *stall* (`connection.h2.flowControlStalls`) when a
 * side's stream or connection window is ≤ 0 after one of its DATA frames while it has not ended
 * the stream, until the WINDOW_UPDATE that reopens it. Per connection and sending side this
 * detector takes the stalls that were followed by more DATA (so the sender did have more to send)
 * and measures the wall-clock time during which at least one of them was open (`stalledMs`, the
 * union of their intervals; stream and connection stalls often coincide).
 *
 * Rule `window-exhausted`: a finding when `stalledMs` ≥ `h2FlowStallMs` (default 50 ms), or when
 * it is at least `h2FlowStallFraction` (default 0.2) of the side's transfer time (its first to
 * last DATA-carrying exchange) with at least `h2FlowStallMinCount` (default 3) stalls.
 * Cost = `stalledMs`.
 *
 * Why these defaults: every stall costs the sender at least one round trip (WINDOW_UPDATE out,
 * DATA back), so 50 ms of waiting is several WAN round trips — perceptible for a page load, and
 * more than a one-off window-opening at the start of a transfer. On fast paths (LAN, loopback:
 * the `h2-flow-control.pcap` sample is 10.5 ms in all) absolute times are tiny, yet a transfer
 * that spends a fifth of its time blocked is bound by the window rather than the network: the
 * window is smaller than the bandwidth-delay product. Three stalls at least, so a single stall at
 * the end of a transfer does not count.
 *
 * Stalls during TCP loss recovery are left out: when a TCP segment of the same direction is lost,
 * the receiver cannot read (and so cannot credit) the bytes held behind the hole, and the window
 * runs out as a consequence of the loss — the `tcp` hol-stall finding reports that, with the
 * loss as the cause. A stall counts as "during loss" when it starts between the arrival of the
 * first held byte and the retransmission that released it (tcp-hol episodes of that side).
 *
 * Streaming (stream.ts): per connection as it completes; nothing is kept between connections.
 *
 * Where it can be wrong:
 *  - The capture cannot see the sender's queue: `dataFollowed` only says more DATA came later; a
 *    sender that paused for its own reasons (waiting for its backend) while the window was empty
 *    is counted as stalled.
 *  - Capture point: near the receiver a stall looks shorter by about the one-way delay (the
 *    WINDOW_UPDATE is seen leaving early), near the sender longer by it. Either way the count
 *    is right.
 *  - Windows are only known when the connection start was seen and no frame boundary was lost
 *    (`flowControlTracked`); otherwise nothing is inferred (a finding may be missing).
 *  - A receiver may keep its window small on purpose (a slow consumer, memory limits,
 *    back-pressure from a proxy): the finding is then the designed behaviour, not a bug.
 */
import type { FlowControlStall } from '../http2/session.js';
import type { Connection, Finding, Report, Request, Side } from '../model/types.js';
import type { DetectorDef, DetectOptions } from './index.js';
import { defineDetector, type FindingSink, type StreamingDetector } from './stream.js';
import { ev, fmtMs, h2Facts, isH2, requestsByStream, streamLabel, streamsOf, threshold } from './h2-util.js';

const THRESHOLDS = {
  h2FlowStallMs: { default: 50, unit: 'ms', description: 'an HTTP/2 sender blocked by flow control (no window, waiting for WINDOW_UPDATE) this long in total per connection is a hol-stall' },
  h2FlowStallFraction: { default: 0.2, unit: 'ratio', description: '…or for at least this share of its transfer time' },
  h2FlowStallMinCount: { default: 3, unit: 'count', description: '…with at least this many stalls' },
} as const;

const MAX_STALL_EVIDENCE = 12;

export interface FlowStallSummary {
  connectionId: number;
  side: Side;
  /** Stalls followed by more DATA and not during TCP loss recovery. */
  stalls: FlowControlStall[];
  /** Stalls left out because they started while TCP held bytes behind a lost segment. */
  duringLoss: FlowControlStall[];
  /** Wall-clock union of `stalls`, and the number of separate periods in it. */
  stalledMs: number;
  periods: number;
  /** First to last byte of the side's DATA-carrying exchanges. */
  transferMs: number;
}

/** Length and number of pieces of the union of intervals. */
function union(iv: [number, number][]): { ms: number; periods: number } {
  iv.sort((a, b) => a[0] - b[0]);
  let total = 0;
  let periods = 0;
  let s = -Infinity;
  let e = -Infinity;
  for (const [a, b] of iv) {
    if (a > e) {
      if (e > s) total += e - s;
      if (Number.isFinite(e)) periods++;
      s = a;
      e = b;
    } else if (b > e) e = b;
  }
  if (e > s) total += e - s;
  if (Number.isFinite(e)) periods++;
  return { ms: total, periods };
}

function transferMs(reqs: Request[], side: Side): number {
  let from = Infinity;
  let to = -Infinity;
  for (const r of reqs) {
    const t = r.times;
    const [a, b] = side === 'server' ? [t.responseStartTime, t.responseEndTime] : [t.requestStartTime, t.requestEndTime];
    if (a !== null && a < from) from = a;
    if (b !== null && b > to) to = b;
  }
  return to > from ? to - from : 0;
}

/** Per connection and sending side with stalls, the stalls that count and their total. */
export function h2FlowStalls(report: Report): FlowStallSummary[] {
  const byConn = requestsByStream(report);
  return report.connections.flatMap((c) => connectionStalls(c, [...(byConn.get(c.id)?.values() ?? [])]));
}

function connectionStalls(c: Connection, reqs: Request[]): FlowStallSummary[] {
  const out: FlowStallSummary[] = [];
  if (!isH2(c)) return out;
  const h2 = h2Facts(c);
  const all = h2?.flowControlStalls ?? [];
  if (!all.length) return out;
  for (const side of ['server', 'client'] as const) {
    const mine = all.filter((s) => s.side === side && s.dataFollowed);
    if (!mine.length) continue;
    const holes = (h2?.tcpHol?.[side].episodes ?? []).map((e) => [e.firstHeldTime, e.releaseTime] as const);
    const inLoss = (s: FlowControlStall) => holes.some(([a, b]) => s.startTime >= a && s.startTime <= b);
    const stalls = mine.filter((s) => !inLoss(s));
    const u = union(stalls.map((s) => [s.startTime, s.endTime]));
    out.push({
      connectionId: c.id,
      side,
      stalls,
      duringLoss: mine.filter(inLoss),
      stalledMs: u.ms,
      periods: u.periods,
      transferMs: transferMs(reqs, side),
    });
  }
  return out;
}

function initialWindow(c: Connection, receiver: Side): { value: number; time: number; packet: number } | null {
  const recs = h2Facts(c)?.[receiver]?.settings ?? [];
  let found: { value: number; time: number; packet: number } | null = null;
  for (const r of recs) {
    const v = r.settings.INITIAL_WINDOW_SIZE;
    if (v !== undefined) found = { value: v, time: r.time, packet: r.packet };
  }
  return found;
}

function windowUpdates(c: Connection, receiver: Side): number {
  const f = c.h2?.[receiver]?.frames?.byType;
  return f?.WINDOW_UPDATE ?? 0;
}

/** Per connection, as it completes: reads the session's `connection.h2` (stalls, SETTINGS, frame counts). */
function stream(opts: DetectOptions, emit: FindingSink): StreamingDetector {
  const limit = threshold(opts.thresholds, 'h2FlowStallMs', THRESHOLDS.h2FlowStallMs.default);
  const frac = threshold(opts.thresholds, 'h2FlowStallFraction', THRESHOLDS.h2FlowStallFraction.default);
  const minCount = threshold(opts.thresholds, 'h2FlowStallMinCount', THRESHOLDS.h2FlowStallMinCount.default);
  return {
    onConnection(c, requests) {
      if (!isH2(c) || !h2Facts(c)?.flowControlStalls?.length) return;
      const reqs = streamsOf(requests);
      for (const s of connectionStalls(c, [...reqs.values()])) {
        const f = finding(c, s, reqs, limit, frac, minCount);
        if (f) emit(f);
      }
    },
  };
}

function finding(c: Connection, s: FlowStallSummary, reqs: Map<number, Request>, limit: number, frac: number, minCount: number): Finding | null {
  const share = s.transferMs > 0 ? s.stalledMs / s.transferMs : 0;
  if (!s.stalls.length) return null;
  if (!(s.stalledMs >= limit || (share >= frac && s.stalls.length >= minCount))) return null;
  const receiver: Side = s.side === 'server' ? 'client' : 'server';
  const conn = s.stalls.filter((x) => x.streamId === 0);
  const perStream = new Map<number, { n: number; ms: number; packet: number; time: number }>();
  for (const x of s.stalls) {
    if (x.streamId === 0) continue;
    const p = perStream.get(x.streamId) ?? { n: 0, ms: 0, packet: x.startPacket, time: x.startTime };
    p.n++;
    p.ms += x.durationMs;
    perStream.set(x.streamId, p);
  }
  const win = initialWindow(c, receiver);
  const wu = windowUpdates(c, receiver);
  const longest = [...s.stalls].sort((a, b) => b.durationMs - a.durationMs).slice(0, MAX_STALL_EVIDENCE);
  longest.sort((a, b) => a.startTime - b.startTime);
  const what = s.side === 'server' ? 'response' : 'request';
  const evidence = [
    ...(win ? [ev(win.packet, win.time, `${receiver} SETTINGS: INITIAL_WINDOW_SIZE = ${win.value} bytes (each stream may have at most this much unacknowledged ${what} data in flight)`)] : []),
    ...[...perStream].map(([id, p]) => {
      const r = reqs.get(id);
      return ev(p.packet, p.time, `${streamLabel(id, r)}: ${p.n} stall(s) on its stream window, ${fmtMs(p.ms)} in total (the first after this packet)`);
    }),
    ...(conn.length ? [ev(conn[0].startPacket, conn[0].startTime, `connection window (stream 0): ${conn.length} stall(s), ${fmtMs(conn.reduce((n, x) => n + x.durationMs, 0))} in total (the first after this packet)`)] : []),
    ...longest.flatMap((x) => [
      ev(x.startPacket, x.startTime, `${s.side} ${x.streamId === 0 ? 'connection' : `stream ${x.streamId}`} window exhausted after this DATA frame`),
      ev(x.endPacket, x.endTime, `${receiver} WINDOW_UPDATE reopens it after ${fmtMs(x.durationMs)}`),
    ]),
    ev(null, null, `${receiver} sent ${wu} WINDOW_UPDATE frame(s) in all`),
  ];
  if (s.stalls.length > longest.length) evidence.push(ev(null, null, `${s.stalls.length - longest.length} shorter stall(s) not listed`));
  if (s.duringLoss.length) evidence.push(ev(null, null, `${s.duringLoss.length} more stall(s) started while TCP held bytes behind a lost segment (not counted: see the tcp hol-stall finding)`));
  const smallWin = win && win.value < 65535;
  return {
    kind: 'hol-stall',
    rule: 'window-exhausted',
    layer: 'flow-control',
    severity: 'warning',
    summary:
      `the ${s.side} on connection ${c.id} had ${what} data to send but no HTTP/2 flow-control window ${s.periods} time(s) ` +
      `(${s.stalls.length - conn.length} stream-window and ${conn.length} connection-window stall(s)), ` +
      `waiting ${fmtMs(s.stalledMs)} in total for WINDOW_UPDATE (${Math.round(share * 100)}% of its ${fmtMs(s.transferMs)} transfer)` +
      (win ? `; the ${receiver}'s initial stream window is ${win.value} bytes` : ''),
    connectionIds: [c.id],
    requestIds: [...perStream.keys()].map((id) => reqs.get(id)?.id).filter((x): x is number => x !== undefined),
    timeRange: [s.stalls[0].startTime, s.stalls[s.stalls.length - 1].endTime],
    costMs: s.stalledMs,
    evidence,
    advice:
      `HTTP/2 flow control lets the receiver (${receiver}) limit how much data the ${s.side} may send before it is acknowledged with a WINDOW_UPDATE. ` +
      `Here the window ran out ${s.periods} time(s), so the ${s.side} sat idle waiting for permission instead of sending. ` +
      (smallWin ? `The ${receiver} advertised only ${win!.value} bytes (the protocol default is 65,535). ` : '') +
      `Raise the ${receiver}'s SETTINGS_INITIAL_WINDOW_SIZE (per stream) and its connection window (a WINDOW_UPDATE on stream 0) to at least the bandwidth-delay product of the path, ` +
      `and make it send WINDOW_UPDATE early (e.g. when half the window is used) rather than when it is empty. If the ${receiver} is slow to consume on purpose, this is back-pressure working as designed.`,
  };
}

export const h2FlowControl: DetectorDef = defineDetector({
  name: 'h2-flow-control',
  kinds: ['hol-stall'],
  thresholds: THRESHOLDS,
  reads: {},
  stream,
});
