/**
 * What-if: how long the capture's HTTP traffic would have taken under another connection policy,
 * replayed on the capture's own measurements (issue 16, part 1). A pure function of the Report.
 *
 * Signature. Requests are grouped by client address and origin (server address and port, the SNI
 * over TLS — `originKey` — and, over cleartext, the Host of the connection's first request). TCP
 * connections only (QUIC is left out), and only requests that are visible (TLS without keys shows
 * no requests). In each group the requests are replayed in the order the client wanted them: a
 * request's *need time* is its connection's SYN for the first request on a connection, else its
 * first request byte. Its *predecessor* is the group's request whose response ended last at or
 * before that need time; the client's *think time* is the gap between the two, kept as measured.
 * A request without a predecessor (the first, or one issued in parallel before any response) is
 * kept at its measured need time. Then, on the replayed timeline:
 *
 *   estimated need   = estimated end of the predecessor + think time
 *   estimated start  = estimated need + setup, where setup is the measured SYN → first request
 *                      byte for the first request of a connection that is still opened (TCP + TLS
 *                      handshake as measured), and that minus the handshake (`handshakeCost`) when
 *                      the request reuses a simulated connection; 0 for later requests
 *   estimated end    = estimated start + measured request start → response end, minus the slow
 *                      start penalty when a cold connection's first response goes over a warm one
 *
 * Policies:
 *   - `reuse`: each measured connection, when its first request is needed, takes a simulated
 *     connection of its group that is idle then (HTTP/1.x: no exchange in flight; HTTP/2: any),
 *     else opens one. Those that take an idle one are the avoided connections: no TCP (and TLS)
 *     handshake, a warm congestion window.
 *   - `h2` (HTTP/1.x origins only): one multiplexed connection per group: every connection after
 *     the group's first is avoided, and no request waits for a busy connection.
 *
 * Cost model. Handshakes at their measured times (`handshakeCost`: TCP SYN → ACK + TLS ClientHello
 * → handshake end). Slow start (RFC 5681 §3.1, initial window 10 segments, RFC 6928): a cold
 * connection delivers S bytes in k = ceil(log2(S / (10 × MSS) + 1)) round trips, a warm one in
 * one, so a reused connection saves (k − 1) × RTT on its first response, RTT being the group's
 * smallest measured TCP handshake and MSS 1460 bytes; never more than that response's measured
 * receiving time.
 *
 * Measured / estimated end-to-end time: from the first need time (first SYN) to the last response
 * end of the requests covered, per group and over all groups.
 *
 * Where it can be wrong (repeated in each estimate's `assumptions`):
 *  - A gap before a request is taken as client think time that a faster timeline keeps; a request
 *    that really waited for a free connection in a pool, or for something outside the capture
 *    (another origin, DNS, a new process), is shifted by its predecessor's saving as if it
 *    depended on it.
 *  - The server's wait and the transfer times are kept as measured: a server that is slower
 *    under more concurrency (h2), or faster on a warm connection, is not modelled.
 *  - Slow start is modelled from sizes and the handshake RTT only (no loss, no pacing, MSS 1460,
 *    initial window 10); HTTP/2 transfers that share one connection are not slowed by sharing.
 *  - The capture point: near the server, handshakes under-count the client's round trip.
 *  - A simulated connection stays reusable while idle up to `maxIdleMs` (10 s, missed-reuse's
 *    reuse window), whatever the server's idle timeout was: a server that closes sooner (its
 *    Keep-Alive timeout) would have cost the handshake anyway.
 *  - Requests without a response end (incomplete, reset) are kept at their measured times and
 *    lower the confidence (the share of requests placed from measured times).
 *  - A client's connections to other origins are replayed apart: a loop that alternates between
 *    two origins keeps the other origin's time as think time.
 *
 * Cost: O(n log n) in the requests (one sort and two heaps per client and origin); the per-origin
 * rows kept are capped at MAX_WHATIF_ORIGINS, largest saving first.
 */
import type { Connection, Report, Request, WhatIf, WhatIfEstimate, WhatIfHandshakes, WhatIfOrigin, WhatIfPolicy } from '../model/types.js';

export type { WhatIf, WhatIfEstimate, WhatIfHandshakes, WhatIfOrigin, WhatIfPolicy };
import { fmtMs, handshakeCost, hostOf, isHttp1, originKey, originLabel } from '../detect/util.js';
import { MinHeap } from '../util/heap.js';

/** Per-origin rows kept in each estimate, largest saving first; the rest are counted in `originsOmitted`. */
export const MAX_WHATIF_ORIGINS = 500;
/** Assumed maximum segment size (bytes) and initial congestion window (segments, RFC 6928). */
export const WHATIF_MSS = 1460;
export const WHATIF_INITIAL_WINDOW = 10;
/** How long a simulated connection stays reusable when idle: missed-reuse's `reuseWindowMs` default. */
export const WHATIF_MAX_IDLE_MS = 10_000;

export interface WhatIfOptions {
  /** Assumed MSS in bytes (default WHATIF_MSS). */
  mss?: number;
  /** Initial congestion window in segments (default WHATIF_INITIAL_WINDOW). */
  initialWindow?: number;
  /** A simulated connection idle longer than this is not reused (default WHATIF_MAX_IDLE_MS). */
  maxIdleMs?: number;
}

const COMMON_ASSUMPTIONS = [
  'Server wait and transfer times are kept as measured; a gap before a request is client think time that the faster timeline keeps, and a request is taken to depend on the response that ended last before it.',
  'Requests with no response end (incomplete, reset) are kept at their measured times; TLS connections without keys show no requests and are not covered; QUIC is not covered.',
  'The handshake round trip is measured at the capture point: captured near the server, it under-counts the client’s.',
];

interface Group {
  client: string;
  origin: string;
  protocol: string;
  http1: boolean;
  conns: Connection[];
  reqs: Request[];
}

function groupsOf(report: Report): Group[] {
  const byConn = new Map<number, Request[]>();
  for (const r of report.requests) {
    const l = byConn.get(r.connectionId);
    if (l) l.push(r);
    else byConn.set(r.connectionId, [r]);
  }
  const groups = new Map<string, Group>();
  for (const c of report.connections) {
    if (c.transport === 'quic') continue;
    const reqs = byConn.get(c.id);
    if (!reqs?.length) continue;
    reqs.sort((a, b) => a.index - b.index);
    const host = c.tls ? null : hostOf(reqs[0]);
    const key = `${originKey(c)}${host ? ` host:${host}` : ''}`;
    let g = groups.get(key);
    if (!g) {
      const label = originLabel(c);
      // Cleartext: "host (ip:port)" when the Host names something other than the address itself.
      const origin = host && host !== c.server.ip.toLowerCase() && `[${host}]` !== c.server.ip ? `${host} (${label})` : label;
      g = { client: c.client.ip, origin, protocol: c.protocol, http1: true, conns: [], reqs: [] };
      groups.set(key, g);
    }
    if (!isHttp1(c)) g.http1 = false;
    if (g.protocol !== c.protocol) g.protocol = 'mixed';
    g.conns.push(c);
    for (const r of reqs) g.reqs.push(r);
  }
  return [...groups.values()];
}

interface SimConn {
  busyUntil: number;
}

/** k − 1 round trips a warm connection saves over a cold one for a response of `bytes`. */
export function slowStartExtraRtts(bytes: number, mss = WHATIF_MSS, iw = WHATIF_INITIAL_WINDOW): number {
  if (!(bytes > 0)) return 0;
  const k = Math.ceil(Math.log2(bytes / (iw * mss) + 1));
  return Math.max(0, k - 1);
}

interface GroupResult {
  row: WhatIfOrigin;
  startMeasured: number;
  endMeasured: number;
  startEstimated: number;
  endEstimated: number;
  placed: number;
}

function replay(g: Group, policy: WhatIfPolicy, opts: WhatIfOptions): GroupResult {
  const mss = opts.mss ?? WHATIF_MSS;
  const iw = opts.initialWindow ?? WHATIF_INITIAL_WINDOW;
  const connById = new Map(g.conns.map((c) => [c.id, c]));
  let rtt = Infinity;
  for (const c of g.conns) if (c.handshakeRttMs > 0) rtt = Math.min(rtt, c.handshakeRttMs);
  const rttMs = rtt === Infinity ? -1 : rtt;
  const multiplexed = policy === 'h2' || !g.http1;
  const maxIdle = opts.maxIdleMs ?? WHATIF_MAX_IDLE_MS;

  const seenConn = new Set<number>();
  // Requests by need time; the first of each connection needs it at its SYN.
  const items = g.reqs.map((r) => {
    const first = !seenConn.has(r.connectionId) && (seenConn.add(r.connectionId), true);
    const c = connById.get(r.connectionId)!;
    const need = first && c.startSeen ? Math.min(c.synTime ?? c.firstTime, r.times.requestStartTime) : r.times.requestStartTime;
    return { r, c, first, need, end: r.times.responseEndTime, estEnd: 0 };
  });
  items.sort((a, b) => a.need - b.need || a.r.times.requestStartTime - b.r.times.requestStartTime || a.r.id - b.r.id);

  const done = new MinHeap<(typeof items)[number]>((x) => x.end!);
  let pred: (typeof items)[number] | null = null;
  const simOf = new Map<number, SimConn>();
  const idle = new MinHeap<{ at: number; s: SimConn }>((x) => x.at);
  let single: SimConn | null = null;
  const avoided: WhatIfHandshakes = { tcp: 0, tls: 0, ms: 0 };
  let estConns = 0;
  let placed = 0;
  let startM = Infinity;
  let endM = -Infinity;
  let startE = Infinity;
  let endE = -Infinity;
  let thinkMs = 0;

  for (const it of items) {
    const { r, c } = it;
    while (done.size && done.peek()!.end! <= it.need) {
      const d = done.pop()!;
      if (!pred || d.end! >= pred.end!) pred = d;
    }
    const t = r.times;
    startM = Math.min(startM, it.need);
    if (it.end === null) {
      // Not placed: kept at its measured times.
      it.estEnd = t.requestEndTime ?? t.requestStartTime;
      startE = Math.min(startE, it.need);
      endM = Math.max(endM, it.estEnd);
      endE = Math.max(endE, it.estEnd);
      if (it.first) {
        const s: SimConn = { busyUntil: Infinity };
        simOf.set(c.id, s);
        estConns++;
      }
      continue;
    }
    placed++;
    endM = Math.max(endM, it.end);
    const estNeed = pred ? Math.min(it.need, pred.estEnd + (it.need - pred.end!)) : it.need;
    if (pred) thinkMs += it.need - pred.end!;
    let sim: SimConn | undefined;
    let setup = 0;
    let ssSaving = 0;
    if (it.first) {
      const measuredSetup = Math.max(0, t.requestStartTime - it.need);
      if (policy === 'h2') sim = single && estNeed - single.busyUntil <= maxIdle ? single : undefined;
      else {
        while (idle.size) {
          const top = idle.peek()!;
          // A stale entry (the connection was used since), or one idle too long to be kept: never again.
          if (top.at !== top.s.busyUntil || estNeed - top.at > maxIdle) {
            idle.pop();
            continue;
          }
          if (multiplexed || top.at <= estNeed) {
            sim = top.s;
            idle.pop();
          }
          break;
        }
      }
      if (sim) {
        const hc = handshakeCost(c, r);
        avoided.tcp++;
        if (c.tls) avoided.tls++;
        avoided.ms += hc.ms;
        setup = Math.max(0, measuredSetup - hc.ms);
        const recv = t.responseStartTime !== null ? Math.max(0, it.end - t.responseStartTime) : 0;
        if (rttMs > 0) ssSaving = Math.min(recv, slowStartExtraRtts(r.sizes.responseBody + r.sizes.responseHeaders, mss, iw) * rttMs);
      } else {
        sim = { busyUntil: -Infinity };
        estConns++;
        if (policy === 'h2') single = sim;
        setup = measuredSetup;
      }
      simOf.set(c.id, sim);
    } else sim = simOf.get(c.id)!;
    let estStart = estNeed + setup;
    if (!multiplexed && sim.busyUntil > estStart) estStart = sim.busyUntil;
    const dur = Math.max(0, it.end - t.requestStartTime - ssSaving);
    // Never later than measured: the replay only removes work.
    it.estEnd = Math.min(it.end, estStart + dur);
    startE = Math.min(startE, estNeed);
    endE = Math.max(endE, it.estEnd);
    if (multiplexed) sim.busyUntil = Math.max(sim.busyUntil === -Infinity ? it.estEnd : sim.busyUntil, it.estEnd);
    else sim.busyUntil = it.estEnd;
    if (policy === 'reuse') idle.push({ at: sim.busyUntil, s: sim });
    done.push(it);
  }
  const measuredMs = Math.max(0, endM - startM);
  const estimatedMs = Math.min(measuredMs, Math.max(0, endE - startE));
  const row: WhatIfOrigin = {
    client: g.client,
    origin: g.origin,
    protocol: g.protocol,
    requests: g.reqs.length,
    connections: g.conns.length,
    estimatedConnections: estConns,
    handshakesAvoided: { ...avoided, ms: round(avoided.ms) },
    rttMs: rttMs < 0 ? -1 : round(rttMs),
    startTime: round(startM),
    measuredMs: round(measuredMs),
    estimatedMs: round(estimatedMs),
    savedMs: round(measuredMs - estimatedMs),
    unplacedRequests: g.reqs.length - placed,
    thinkMs: round(thinkMs),
  };
  return { row, startMeasured: startM, endMeasured: endM, startEstimated: startE, endEstimated: endE, placed };
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/** The assumptions every estimate of `policy` makes (those a capture raises are added to them). */
function generalAssumptions(policy: WhatIfPolicy, opts: WhatIfOptions): string[] {
  const list = [
    policy === 'reuse'
      ? `reuse: a connection is avoided when a connection of its client and origin is idle (HTTP/1.x: no exchange in flight) when its first request is needed; it then skips its TCP and TLS handshakes as measured, and a connection stays reusable while idle up to ${opts.maxIdleMs ?? WHATIF_MAX_IDLE_MS} ms (missed-reuse’s reuse window), whatever idle timeout the server had.`
      : `h2: each HTTP/1.x client and origin uses one multiplexed connection (a new one only after ${opts.maxIdleMs ?? WHATIF_MAX_IDLE_MS} ms idle): every other connection is avoided and no request waits for a busy connection; transfers that would share the connection are not slowed by sharing it, and a server slower under more concurrency is not modelled.`,
    `Slow start: a cold connection delivers a response of S bytes in ceil(log2(S / (${opts.initialWindow ?? WHATIF_INITIAL_WINDOW} × ${opts.mss ?? WHATIF_MSS} B) + 1)) round trips, a warm one in one; the difference, at the origin's smallest TCP handshake time, is saved on a reused connection’s first response (never more than its measured receiving time). No loss, no pacing.`,
    ...COMMON_ASSUMPTIONS,
  ];
  if (policy === 'h2') list.push('A request that waited for a free connection in the pool cannot be told from one that depended on the previous response: it keeps its measured gap, so the saving from lifting the pool limit is a floor.');
  return list;
}

/** General assumptions with the default options, per policy: the table shows only the others, those a capture raised. */
export const WHATIF_GENERAL_ASSUMPTIONS: Readonly<Record<WhatIfPolicy, readonly string[]>> = {
  reuse: generalAssumptions('reuse', {}),
  h2: generalAssumptions('h2', {}),
};

function estimate(groups: Group[], policy: WhatIfPolicy, opts: WhatIfOptions): WhatIfEstimate {
  const results = groups.map((g) => replay(g, policy, opts));
  let sM = Infinity;
  let eM = -Infinity;
  let sE = Infinity;
  let eE = -Infinity;
  let placed = 0;
  let requests = 0;
  let connections = 0;
  let estimatedConnections = 0;
  const avoided: WhatIfHandshakes = { tcp: 0, tls: 0, ms: 0 };
  for (const x of results) {
    sM = Math.min(sM, x.startMeasured);
    eM = Math.max(eM, x.endMeasured);
    sE = Math.min(sE, x.startEstimated);
    eE = Math.max(eE, x.endEstimated);
    placed += x.placed;
    requests += x.row.requests;
    connections += x.row.connections;
    estimatedConnections += x.row.estimatedConnections;
    avoided.tcp += x.row.handshakesAvoided.tcp;
    avoided.tls += x.row.handshakesAvoided.tls;
    avoided.ms += x.row.handshakesAvoided.ms;
  }
  const measuredMs = results.length ? Math.max(0, eM - sM) : 0;
  const estimatedMs = results.length ? Math.min(measuredMs, Math.max(0, eE - sE)) : 0;
  const rows = results.map((x) => x.row).sort((a, b) => b.savedMs - a.savedMs || a.startTime - b.startTime);
  const assumptions = generalAssumptions(policy, opts);
  const think = rows.reduce((a, x) => a + x.thinkMs, 0);
  if (estimatedMs > 0 && think > 0.05 * estimatedMs) {
    assumptions.push(
      `${fmtMs(think)} of the estimate (${Math.round((100 * think) / estimatedMs)}%) are gaps between a response and the client's next request, kept as think time: they cannot be told apart from work a fixed client would not repeat (a new process or a new pool per request), so where they are, the saving is a floor.`,
    );
  }
  if (placed < requests) assumptions.push(`${requests - placed} of ${requests} requests have no response end (incomplete, reset) and are kept at their measured times.`);
  return {
    policy,
    measuredMs: round(measuredMs),
    estimatedMs: round(estimatedMs),
    savedMs: round(measuredMs - estimatedMs),
    savedPct: measuredMs > 0 ? round((100 * (measuredMs - estimatedMs)) / measuredMs) : 0,
    confidence: requests ? round(placed / requests) : 0,
    requests,
    connections,
    estimatedConnections,
    handshakesAvoided: { ...avoided, ms: round(avoided.ms) },
    assumptions,
    perOrigin: rows.slice(0, MAX_WHATIF_ORIGINS),
    originsOmitted: Math.max(0, rows.length - MAX_WHATIF_ORIGINS),
  };
}

/** The what-if estimates of a report (see the module comment). */
export function whatIf(report: Pick<Report, 'connections' | 'requests'>, opts: WhatIfOptions = {}): WhatIf {
  const groups = groupsOf(report as Report);
  return { reuse: estimate(groups, 'reuse', opts), h2: estimate(groups.filter((g) => g.http1), 'h2', opts) };
}
