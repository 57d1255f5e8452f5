/**
 * hol-stall (layer `http1-pipelining`): head-of-line blocking of pipelined HTTP/1.1 exchanges.
 *
 * HTTP/1.1 responses come back in request order (RFC 9112 §9.3.2), so a pipelined exchange whose
 * response is ready waits behind every earlier response on the connection.
 *
 * Definition. On one connection, exchanges 1..n in order; for exchange k ≥ 2 with its request
 * complete at Q_k (last request byte), E_j the last byte of response j, and R the connection's
 * round-trip time (the handshake SYN → ACK, 0 when unknown):
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
 * largest first.
 *
 * Rule `blocked`: a finding per exchange when stall_k ≥ `holStallMs` (default 100 ms), or
 * stall_k ≥ `holStallFraction` (default 0.5) of k's total time (Q_k … E_k) and ≥ `holStallFloorMs`
 * (default 10 ms). Cost = stall_k.
 *
 * Rule `after-non-idempotent`: a request sent after a non-idempotent one (POST, PATCH, CONNECT,
 * anything outside RFC 9110 §9.2.2's idempotent set) before that request's final response started.
 * RFC 9112 §9.3.2: a client SHOULD NOT pipeline after a non-idempotent request until its final
 * status code is received, because if the connection fails the outcome of the pipelined ones is
 * unknown and they cannot safely be retried.
 *
 * Where it can be wrong:
 *  - Part of the stall may be the server's own processing time for k (it may start only when it
 *    reads k, or process requests one at a time), which would have been spent without pipelining
 *    too; the stall is an upper bound of the blocking cost.
 *  - R assumes a capture near the client. Captured near the server, responses leave right after
 *    requests arrive and subtracting the handshake time under-counts the stall by about one RTT.
 *  - Lost segments delay E_{k-1} and show up as a stall blamed on the earlier exchange.
 */
import type { Finding, Report, Request } from '../model/types.js';
import type { DetectorDef, DetectOptions } from './index.js';
import { ev, fmtMs, isHttp1, isIdempotent, label, requestsByConnection, threshold } from './util.js';

const THRESHOLDS = {
  holStallMs: { default: 100, unit: 'ms', description: 'a pipelined exchange blocked at least this long behind earlier responses is a hol-stall' },
  holStallFraction: { default: 0.5, unit: 'ratio', description: '…or blocked for at least this share of its own time' },
  holStallFloorMs: { default: 10, unit: 'ms', description: '…but never for a stall shorter than this' },
} as const;

export interface Stall {
  request: Request;
  stallMs: number;
  /** Blame per earlier exchange, largest first. */
  blockers: { request: Request; ms: number }[];
}

/** Stalls of the pipelined exchanges of one connection (exchanges in index order). */
export function stalls(reqs: Request[], rttMs = 0): Stall[] {
  const out: Stall[] = [];
  for (let k = 1; k < reqs.length; k++) {
    const r = reqs[k];
    if (!r.pipelined) continue;
    const q = (r.times.requestEndTime ?? r.times.requestStartTime) + Math.max(0, rttMs);
    const prevEnd = reqs[k - 1].times.responseEndTime;
    if (prevEnd === null) continue;
    const stall = prevEnd - q;
    if (stall <= 0) continue;
    // The earlier responses still on the wire at q: walking back from k−1 while they end after
    // q (responses come in order, so this visits only the blockers, not the whole connection).
    let first = k - 1;
    while (first > 0) {
      const e = reqs[first - 1].times.responseEndTime;
      if (e === null || e <= q) break;
      first--;
    }
    const blockers: { request: Request; ms: number }[] = [];
    let from = q;
    for (let j = first; j < k; j++) {
      const e = reqs[j].times.responseEndTime;
      if (e === null || e <= from) continue;
      blockers.push({ request: reqs[j], ms: e - from });
      from = e;
    }
    blockers.sort((a, b) => b.ms - a.ms);
    out.push({ request: r, stallMs: stall, blockers });
  }
  return out;
}

function detect(report: Report, opts: DetectOptions): Finding[] {
  const limit = threshold(opts.thresholds, 'holStallMs', THRESHOLDS.holStallMs.default);
  const frac = threshold(opts.thresholds, 'holStallFraction', THRESHOLDS.holStallFraction.default);
  const floor = threshold(opts.thresholds, 'holStallFloorMs', THRESHOLDS.holStallFloorMs.default);
  const findings: Finding[] = [];
  const byConn = requestsByConnection(report);
  for (const c of report.connections) {
    if (!isHttp1(c)) continue;
    const reqs = byConn.get(c.id) ?? [];
    if (!reqs.some((r) => r.pipelined)) continue;

    const rtt = Math.max(0, c.handshakeRttMs);
    for (const s of stalls(reqs, rtt)) {
      const r = s.request;
      const q = (r.times.requestEndTime ?? r.times.requestStartTime) + rtt;
      const total = (r.times.responseEndTime ?? c.lastTime) - q;
      if (!(s.stallMs >= limit || (s.stallMs >= floor && total > 0 && s.stallMs / total >= frac))) continue;
      const main = s.blockers[0];
      const others = s.blockers.slice(1).filter((b) => b.ms >= 1);
      findings.push({
        kind: 'hol-stall',
        rule: 'blocked',
        layer: 'http1-pipelining',
        severity: 'warning',
        summary: `${label(r)} (exchange ${r.index} on connection ${c.id}) was pipelined and waited ${fmtMs(s.stallMs)} behind ${label(main.request)}${others.length ? ` and ${others.length} other response(s)` : ''} (HTTP/1.1 answers in order)`,
        connectionIds: [c.id],
        requestIds: [r.id, ...s.blockers.map((b) => b.request.id)],
        timeRange: [q, q + s.stallMs],
        costMs: s.stallMs,
        evidence: [
          ev(r.packets.request[1], q - rtt, `${label(r)} fully sent (pipelined)${rtt >= 1 ? `; its response could be back one round trip (${fmtMs(rtt)}) later` : ''}`),
          ...s.blockers.map((b) => ev(b.request.packets.response?.[1] ?? null, b.request.times.responseEndTime, `response to ${label(b.request)} (exchange ${b.request.index}) ended; it held ${label(r)} for ${fmtMs(b.ms)}`)),
          ev(r.packets.response?.[0] ?? null, r.times.responseStartTime, `response to ${label(r)} starts; ${fmtMs(s.stallMs)} of its ${fmtMs(total)} were spent blocked`),
        ],
        advice: `Pipelined responses come back in request order, so one slow response (${label(main.request)}) delays every later one. Do not pipeline behind slow requests: send them on their own connection, or use HTTP/2, which multiplexes responses independently.`,
      });
    }

    // RFC 9112 §9.3.2: no pipelining after a non-idempotent request before its final response.
    for (let ji = 0; ji < reqs.length; ji++) {
      const j = reqs[ji];
      if (isIdempotent(j.method)) continue;
      const final = j.times.responseStartTime ?? c.close.time ?? c.lastTime;
      const after: Request[] = [];
      for (let i = ji + 1; i < reqs.length && reqs[i].times.requestStartTime < final; i++) after.push(reqs[i]);
      if (!after.length) continue;
      findings.push({
        kind: 'hol-stall',
        rule: 'after-non-idempotent',
        layer: 'http1-pipelining',
        severity: 'warning',
        summary: `${after.length} request(s) on connection ${c.id} were pipelined after ${label(j)} (not idempotent) before its final response`,
        connectionIds: [c.id],
        requestIds: [j.id, ...after.map((r) => r.id)],
        timeRange: [j.times.requestStartTime, final],
        evidence: [
          ev(j.packets.request[0], j.times.requestStartTime, `${label(j)} sent`),
          ...after.map((r) => ev(r.packets.request[0], r.times.requestStartTime, `${label(r)} sent before the final response to ${label(j)}`)),
          ev(j.packets.response?.[0] ?? null, j.times.responseStartTime, j.times.responseStartTime === null ? `no final response to ${label(j)}` : `final response to ${label(j)}: ${j.status}`),
        ],
        advice: 'RFC 9112 §9.3.2: do not pipeline after a non-idempotent request until its final status arrives; if the connection fails, the pipelined requests cannot be retried safely.',
      });
    }
  }
  return findings;
}

export const holStall: DetectorDef = {
  name: 'hol-stall',
  kinds: ['hol-stall'],
  thresholds: THRESHOLDS,
  detect,
};
