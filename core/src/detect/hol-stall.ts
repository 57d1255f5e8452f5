/**
 * hol-stall (layer `http1-pipelining`): head-of-line blocking of pipelined HTTP/1.1 exchanges.
 *
 * HTTP/1.1 responses come back in request order (RFC 9112 §9.3.2), so a pipelined exchange whose
 * response is ready waits behind every earlier response on the connection.
 *
 * Definition. On one connection, exchanges 1..n in order; for exchange k ≥ 2 with its request
 * complete at Q_k (last request byte), E_j the last byte of response j, and R the connection's
 * round-trip time (the handshake SYN → ACK, 0 when unknown). Responses are delivered in order,
 * so response j is complete for the client at max(E_1 … E_j); E_j below stands for that, which is
 * the last byte itself unless retransmission timestamps put an earlier response's end later.
 * An exchange without a response end interrupts the chain: no stall is measured across it.
 *
 *     ready_k = Q_k + R          (the earliest k's response could be back at the capture point)
 *     stall_k = max(0, E_{k-1} − ready_k)
 *
 * — the time k's response could have been arriving but the response before it was still on the
 * wire: k sat ready, blocked. Without R, every pipelined exchange on a long path would "stall" for
 * one round trip, which is latency, not blocking. Only exchanges sent while an earlier response
 * was outstanding (`pipelined`) can stall. The stall is split among the earlier exchanges by
 * their turns: the interval [ready_k, E_{k-1}] is cut at E_1 … E_{k-2}; the piece ending at E_j
 * is blamed on exchange j (the pieces sum to stall_k). Exchanges with blame > 0 are the blockers,
 * largest first; a finding lists the `MAX_HOL_BLOCKERS` largest and counts the rest.
 *
 * Rule `blocked`: a finding per exchange when stall_k ≥ `holStallMs` (default 100 ms), or
 * stall_k ≥ `holStallFraction` (default 0.5) of k's total time (Q_k … E_k) and ≥ `holStallFloorMs`
 * (default 10 ms). Cost = stall_k.
 *
 * Rule `after-non-idempotent`: a request sent after a non-idempotent one (POST, PATCH, CONNECT,
 * anything outside RFC 9110 §9.2.2's idempotent set) before that request's final response started.
 * RFC 9112 §9.3.2: a client SHOULD NOT pipeline after a non-idempotent request until its final
 * status code is received, because if the connection fails the outcome of the pipelined ones is
 * unknown and they cannot safely be retried. A finding per non-idempotent request, counting the
 * requests pipelined after it and naming the first `MAX_LISTED_AFTER`.
 *
 * Streaming (stream.ts): per connection as it completes; nothing is kept between connections.
 *
 * Where it can be wrong:
 *  - Part of the stall may be the server's own processing time for k (it may start only when it
 *    reads k, or process requests one at a time), which would have been spent without pipelining
 *    too; the stall is an upper bound of the blocking cost.
 *  - R assumes a capture near the client. Captured near the server, responses leave right after
 *    requests arrive and subtracting the handshake time under-counts the stall by about one RTT.
 *  - Lost segments delay E_{k-1} and show up as a stall blamed on the earlier exchange.
 */
import type { Connection, Finding, Request } from '../model/types.js';
import type { DetectorDef, DetectOptions } from './index.js';
import { defineDetector, type FindingSink, type StreamingDetector } from './stream.js';
import { ev, fmtMs, isHttp1, isIdempotent, label, RangeArgMax, threshold } from './util.js';
import { firstIndex } from '../util/search.js';

const THRESHOLDS = {
  holStallMs: { default: 100, unit: 'ms', description: 'a pipelined exchange blocked at least this long behind earlier responses is a hol-stall' },
  holStallFraction: { default: 0.5, unit: 'ratio', description: '…or blocked for at least this share of its own time' },
  holStallFloorMs: { default: 10, unit: 'ms', description: '…but never for a stall shorter than this' },
} as const;

/**
 * Blockers listed per stall, the largest first; the others are counted. With n exchanges sent at
 * once behind a slow one, every later exchange is blocked by all earlier ones: listing them all
 * made the findings n²/2 entries long (3,000 pipelined requests overflowed the JSON string).
 */
export const MAX_HOL_BLOCKERS = 10;
/** Requests named per `after-non-idempotent` finding (the first ones); the others are counted. */
export const MAX_LISTED_AFTER = 10;
/**
 * Findings of one rule reported one by one per connection; past it, the rest of that connection's
 * become one summary finding (count, total and longest cost). A deep pipeline behind one slow
 * response stalls every exchange: 80,000 single findings made a 156 MB report.
 */
export const MAX_STALL_FINDINGS_PER_CONNECTION = 100;

/** Collects one connection's findings of one rule: the first MAX_STALL_FINDINGS_PER_CONNECTION, then a tally. */
class Capped {
  private n = 0;
  private more = 0;
  private moreCost = 0;
  private longest = 0;
  private first: Finding | null = null;
  private last: Finding | null = null;
  constructor(private readonly out: Finding[]) {}
  add(f: Finding): void {
    if (this.n++ < MAX_STALL_FINDINGS_PER_CONNECTION) {
      this.out.push(f);
      return;
    }
    this.more++;
    this.moreCost += f.costMs ?? 0;
    this.longest = Math.max(this.longest, f.costMs ?? 0);
    this.first ??= f;
    this.last = f;
  }
  /** The summary finding for what went over the limit, if anything did. */
  finish(what: (n: number) => string, cost: boolean): void {
    const a = this.first;
    const b = this.last;
    if (!a || !b) return;
    this.out.push({
      ...a,
      summary: `${what(this.more)} (past the first ${MAX_STALL_FINDINGS_PER_CONNECTION} on this connection, reported one by one above${cost ? `; ${fmtMs(this.moreCost)} in all, the longest ${fmtMs(this.longest)}` : ''})`,
      requestIds: [a.requestIds[0], b.requestIds[0]],
      timeRange: [a.timeRange[0], Math.max(a.timeRange[1], b.timeRange[1])],
      costMs: cost ? this.moreCost : undefined,
      evidence: [a.evidence[0], { packet: null, time: null, what: `… ${this.more - 2 > 0 ? `${this.more - 2} more, then ` : ''}the last of them:` }, b.evidence[0]],
    });
  }
}

export interface Stall {
  request: Request;
  stallMs: number;
  /** Blame per earlier exchange, largest first: the `MAX_HOL_BLOCKERS` largest. */
  blockers: { request: Request; ms: number }[];
  /** Earlier exchanges with any blame (≥ blockers.length: the ones not listed are counted here). */
  blockerCount: number;
  /** How many of them were blamed for at least 1 ms. */
  blockersOver1Ms: number;
}

/**
 * Stalls of the pipelined exchanges of one connection (exchanges in index order), in
 * O(n log n): responses arrive in order, so Ê_j = max(E_1 … E_j) (the instant response j was
 * complete for the client; equal to E_j unless timestamps of retransmissions disorder them) is
 * non-decreasing between unanswered exchanges. The first blocker of k is found by binary search,
 * the blame of each later one j is the fixed gain Ê_j − Ê_{j−1}, and the largest gains of a range
 * come from a sparse table.
 */
export function stalls(reqs: readonly Request[], rttMs = 0): Stall[] {
  const n = reqs.length;
  const done = new Float64Array(n); // Ê_j, NaN when response j has no end
  const runStart = new Int32Array(n); // first exchange of the run of answered ones ending at j
  const gain = new Float64Array(n); // Ê_j − Ê_{j−1} inside a run, 0 at its start
  const positive = new Int32Array(n + 1); // prefix counts of gain > 0 and of gain ≥ 1 ms
  const over1 = new Int32Array(n + 1);
  for (let j = 0; j < n; j++) {
    const e = reqs[j].times.responseEndTime;
    if (e === null) {
      done[j] = NaN;
      runStart[j] = j + 1;
    } else if (j > 0 && !Number.isNaN(done[j - 1])) {
      done[j] = Math.max(e, done[j - 1]);
      runStart[j] = runStart[j - 1];
      gain[j] = done[j] - done[j - 1];
    } else {
      done[j] = e;
      runStart[j] = j;
    }
    positive[j + 1] = positive[j] + (gain[j] > 0 ? 1 : 0);
    over1[j + 1] = over1[j] + (gain[j] >= 1 ? 1 : 0);
  }
  let table: RangeArgMax | undefined;
  const out: Stall[] = [];
  for (let k = 1; k < n; k++) {
    const r = reqs[k];
    if (!r.pipelined) continue;
    const q = (r.times.requestEndTime ?? r.times.requestStartTime) + Math.max(0, rttMs);
    const prevEnd = done[k - 1];
    if (Number.isNaN(prevEnd)) continue;
    const stall = prevEnd - q;
    if (stall <= 0) continue;
    // The earlier responses still on the wire at q: the run up to k−1 from the first that ends
    // after q (binary search: Ê is non-decreasing along the run).
    const first = firstIndex(runStart[k - 1], k - 1, (j) => done[j] > q);
    let later: number[];
    if (k - 1 - first <= MAX_HOL_BLOCKERS) {
      later = [];
      for (let j = first + 1; j < k; j++) if (gain[j] > 0) later.push(j);
      later.sort((a, b) => gain[b] - gain[a]);
    } else {
      table ??= new RangeArgMax(gain);
      later = table.top(first + 1, k - 1, MAX_HOL_BLOCKERS);
    }
    const blockers = later.map((j) => ({ request: reqs[j], ms: gain[j] }));
    const head = { request: reqs[first], ms: done[first] - q };
    const at = blockers.findIndex((b) => b.ms <= head.ms); // ties: the earlier exchange first
    blockers.splice(at < 0 ? blockers.length : at, 0, head);
    blockers.length = Math.min(blockers.length, MAX_HOL_BLOCKERS);
    out.push({
      request: r,
      stallMs: stall,
      blockers,
      blockerCount: 1 + positive[k] - positive[first + 1],
      blockersOver1Ms: (head.ms >= 1 ? 1 : 0) + over1[k] - over1[first + 1],
    });
  }
  return out;
}

/** Per connection, as it completes (requests in index order): nothing is kept between connections. */
function stream(opts: DetectOptions, emit: FindingSink): StreamingDetector {
  const limit = threshold(opts.thresholds, 'holStallMs', THRESHOLDS.holStallMs.default);
  const frac = threshold(opts.thresholds, 'holStallFraction', THRESHOLDS.holStallFraction.default);
  const floor = threshold(opts.thresholds, 'holStallFloorMs', THRESHOLDS.holStallFloorMs.default);
  return {
    onConnection(c, reqs) {
      if (!isHttp1(c) || !reqs.some((r) => r.pipelined)) return;
      const findings: Finding[] = [];
      connection(c, reqs, limit, frac, floor, findings);
      for (const f of findings) emit(f);
    },
  };
}

function connection(c: Connection, reqs: readonly Request[], limit: number, frac: number, floor: number, findings: Finding[]): void {
  const rtt = Math.max(0, c.handshakeRttMs);
  const blocked = new Capped(findings);
  for (const s of stalls(reqs, rtt)) {
    const r = s.request;
    const q = (r.times.requestEndTime ?? r.times.requestStartTime) + rtt;
    const total = (r.times.responseEndTime ?? c.lastTime) - q;
    if (!(s.stallMs >= limit || (s.stallMs >= floor && total > 0 && s.stallMs / total >= frac))) continue;
    const main = s.blockers[0];
    const others = s.blockersOver1Ms - (main.ms >= 1 ? 1 : 0);
    const unlisted = s.blockerCount - s.blockers.length;
    blocked.add({
      kind: 'hol-stall',
      rule: 'blocked',
      layer: 'http1-pipelining',
      severity: 'warning',
      summary: `${label(r)} (exchange ${r.index} on connection ${c.id}) was pipelined and waited ${fmtMs(s.stallMs)} behind ${label(main.request)}${others ? ` and ${others} other response(s)` : ''} (HTTP/1.1 answers in order)`,
      connectionIds: [c.id],
      requestIds: [r.id, ...s.blockers.map((b) => b.request.id)],
      timeRange: [q, q + s.stallMs],
      costMs: s.stallMs,
      evidence: [
        ev(r.packets.request[1], q - rtt, `${label(r)} fully sent (pipelined)${rtt >= 1 ? `; its response could be back one round trip (${fmtMs(rtt)}) later` : ''}`),
        ...s.blockers.map((b) => ev(b.request.packets.response?.[1] ?? null, b.request.times.responseEndTime, `response to ${label(b.request)} (exchange ${b.request.index}) ended; it held ${label(r)} for ${fmtMs(b.ms)}`)),
        ...(unlisted > 0 ? [ev(null, null, `… and ${unlisted} more earlier response(s), each holding it for less (not listed, MAX_HOL_BLOCKERS = ${MAX_HOL_BLOCKERS})`)] : []),
        ev(r.packets.response?.[0] ?? null, r.times.responseStartTime, `response to ${label(r)} starts; ${fmtMs(s.stallMs)} of its ${fmtMs(total)} were spent blocked`),
      ],
      advice: `Pipelined responses come back in request order, so one slow response (${label(main.request)}) delays every later one. Do not pipeline behind slow requests: send them on their own connection, or use HTTP/2, which multiplexes responses independently.`,
    });
  }
  blocked.finish((n) => `${n} more pipelined exchange(s) on connection ${c.id} waited behind earlier responses`, true);

  // RFC 9112 §9.3.2: no pipelining after a non-idempotent request before its final response.
  // The requests after j up to the first one sent at or after `final`: found by binary search
  // over range maxima of the start times (so n POSTs in a row stay O(n log n)), and at most
  // MAX_LISTED_AFTER of them named.
  const starts = reqs.map((r) => r.times.requestStartTime);
  const unsafe = new Capped(findings);
  let startMax: RangeArgMax | undefined;
  for (let ji = 0; ji + 1 < reqs.length; ji++) {
    const j = reqs[ji];
    if (isIdempotent(j.method)) continue;
    const final = j.times.responseStartTime ?? c.close.time ?? c.lastTime;
    if (starts[ji + 1] >= final) continue;
    startMax ??= new RangeArgMax(starts);
    const table = startMax;
    const end = firstIndex(ji + 2, reqs.length, (m) => starts[table.at(ji + 1, m)] >= final);
    const count = end - ji - 1;
    const after = reqs.slice(ji + 1, Math.min(end, ji + 1 + MAX_LISTED_AFTER));
    unsafe.add({
      kind: 'hol-stall',
      rule: 'after-non-idempotent',
      layer: 'http1-pipelining',
      severity: 'warning',
      summary: `${count} request(s) on connection ${c.id} were pipelined after ${label(j)} (not idempotent) before its final response`,
      connectionIds: [c.id],
      requestIds: [j.id, ...after.map((r) => r.id)],
      timeRange: [j.times.requestStartTime, final],
      evidence: [
        ev(j.packets.request[0], j.times.requestStartTime, `${label(j)} sent`),
        ...after.map((r) => ev(r.packets.request[0], r.times.requestStartTime, `${label(r)} sent before the final response to ${label(j)}`)),
        ...(count > after.length ? [ev(null, null, `… and ${count - after.length} more request(s) sent before it (not listed, MAX_LISTED_AFTER = ${MAX_LISTED_AFTER})`)] : []),
        ev(j.packets.response?.[0] ?? null, j.times.responseStartTime, j.times.responseStartTime === null ? `no final response to ${label(j)}` : `final response to ${label(j)}: ${j.status}`),
      ],
      advice: 'RFC 9112 §9.3.2: do not pipeline after a non-idempotent request until its final status arrives; if the connection fails, the pipelined requests cannot be retried safely.',
    });
  }
  unsafe.finish((n) => `${n} more non-idempotent request(s) on connection ${c.id} had requests pipelined after them before their final response`, false);
}

export const holStall: DetectorDef = defineDetector({
  name: 'hol-stall',
  kinds: ['hol-stall'],
  thresholds: THRESHOLDS,
  reads: {},
  stream,
});
