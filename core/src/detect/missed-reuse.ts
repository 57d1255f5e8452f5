/**
 * missed-reuse and excess-parallel-connections: HTTP/1.x connections that did not need to exist.
 *
 * Signature. Connections are grouped by client address and origin (server address and port, and
 * for TLS the SNI: `originKey`), HTTP/1.x only — over TLS, those whose requests are visible
 * (decrypted with a key log). Each connection N with at least one request, in order of its SYN
 * time t, is judged against the earlier connections P of its group (over TLS, only those whose
 * last request named the same Host as N's first: a connection serves one host):
 *
 *  1. Some P was *open and idle* at t: established, no FIN/RST yet, at least one exchange and all
 *     exchanges started before t complete by t, the last of them self-delimited (Content-Length,
 *     chunked, or bodiless by status/method: RFC 9112 §6.3) and persistent (no `close`, HTTP/1.0
 *     with keep-alive: `keepAlive.reusableAfter`) — and the client never sent another request on P
 *     afterwards. P could have carried N's request → avoidable, rule `idle-connection-unused`
 *     (the signature of a client that makes a new pool per request and leaves the old one open).
 *     An idle P that is used again later is taken as a pool opening parallel connections ahead of
 *     demand (browsers preconnect up to their per-host limit), not a miss.
 *  2. Otherwise, if the connections open at t (busy, or still in their handshake) plus N exceed
 *     the parallel budget (`parallelBudget`, default 6 as browsers do), N is counted in an
 *     `excess-parallel-connections` finding. Up to the budget, parallel connections opened while
 *     the others are busy are not a finding.
 *  3. Otherwise (or as well), some P *had just closed*: its FIN/RST came before t, its last
 *     exchange completed within `reuseWindowMs` (default 10 s) before t, and it has not already
 *     explained another connection. Had P stayed open, N's request could have used it →
 *     avoidable, with the cause read from how P ended (the rule):
 *       - `http10-no-keepalive`: HTTP/1.0 without `Connection: keep-alive` (RFC 9112 §9.3);
 *       - `not-self-delimited`: the response had no length, so its end was the close (§6.3 ¶8);
 *       - `max-requests`: the server sent `Connection: close` on the n-th response (n > 1) after
 *         keep-alive on the earlier ones, or reached an advertised `Keep-Alive: max`;
 *       - `server-connection-close`: `Connection: close` on the server's first response (a
 *         `close` the client asked for first is the client's: `client-no-pool`, RFC 9112 §9.6);
 *       - `server-idle-timeout`: the server closed after an idle of at least `idleCloseMs`;
 *       - `client-no-pool`: the client closed (or asked to close) within `idleCloseMs` of the
 *         response although the server offered keep-alive — connection churn;
 *       - `client-idle-timeout`: the client closed after an idle, then reconnected;
 *       - `reset` / `server-close`: anything else.
 *
 * A connection whose first request repeats one that failed on a just-closed P (same method and
 * target) is a retry after a stale-connection race; keepalive-policy reports it, not this one.
 *
 * Cost per avoidable connection: its TCP handshake (SYN → ACK as seen at the capture point, ≈ one
 * round trip from a client-side capture) plus, over TLS, its TLS handshake as measured
 * (ClientHello → the client's handshake end: one round trip for a full TLS 1.3 handshake, two for
 * a full TLS 1.2 one, one when resumed — `tls.handshakeRtts`, stated in the finding). One finding
 * per client, origin and cause: "N of M connections … avoidable, ~X ms of handshakes (TCP + TLS
 * 1.3 full handshake: 2 round trips each)". TLS connections whose requests are not visible (no
 * keys) are judged from their TLS records by tls-missed-reuse.ts, with the same rules.
 *
 * Where it can be wrong:
 *  - The capture point matters: captured near the server, the handshake time under-counts the
 *    client's round trip; behind NAT, several clients share one address and look like one.
 *  - "Same origin" is address and port (and SNI and Host over TLS): over plain HTTP two virtual
 *    hosts on one address are merged; one origin behind several addresses (DNS round robin) is
 *    split.
 *  - The client may have had a reason not to reuse (a different proxy route, client
 *    certificates, a deliberate cold connection for measurement).
 *  - An idle P may be closing at the very moment N opens (its FIN in flight); the client may know
 *    better — `idle-connection-unused` trusts what the capture shows at N's SYN.
 *  - Speculative preconnects (browsers) that were never used are ignored, which may hide churn.
 *  - Cost ignores TCP slow start and the CPU time of the extra handshakes, so it is a floor. A
 *    resumed TLS handshake is counted at its own (shorter) measured time.
 */
import type { Connection, Evidence, Finding, Report, Request } from '../model/types.js';
import type { DetectorDef, DetectOptions } from './index.js';
import {
  capEvidence,
  closedBy,
  ev,
  exchangeEnd,
  fmtMs,
  groupByOrigin,
  handshakeCost,
  handshakesNote,
  hostOf,
  isHttp1,
  label,
  maxOf,
  MinHeap,
  minOf,
  openTime,
  originLabel,
  requestsByConnection,
  selfDelimited,
  setupCostMs,
  threshold,
  tokens,
} from './util.js';

export type ReuseCause =
  | 'idle-connection-unused'
  | 'client-no-pool'
  | 'client-idle-timeout'
  | 'server-connection-close'
  | 'http10-no-keepalive'
  | 'not-self-delimited'
  | 'server-idle-timeout'
  | 'max-requests'
  | 'reset'
  | 'server-close';

interface Avoidable {
  conn: Connection;
  /** The connection that could have carried its request. */
  by: Connection;
  cause: ReuseCause;
  costMs: number;
  /** Idle of `by` before it closed (causes from a close) or before `conn` opened. */
  idleMs: number;
  /** From `by`'s last response to `conn`'s SYN. */
  gapMs: number;
  /** Requests on `by` when it ended. */
  served: number;
  /** The client's last request on `by` said `Connection: close`. */
  clientClose?: boolean;
}

export const THRESHOLDS = {
  parallelBudget: { default: 6, unit: 'count', description: 'parallel HTTP/1 connections per client and origin before excess-parallel-connections' },
  reuseWindowMs: { default: 10_000, unit: 'ms', description: 'a new connection this soon after a closed one’s last response counts as a missed reuse' },
  idleCloseMs: { default: 500, unit: 'ms', description: 'a close after at least this much idle is an idle timeout, not an immediate close' },
} as const;

function causeOf(p: Connection, reqs: Request[], idleCloseMs: number): { cause: ReuseCause; idleMs: number } {
  const last = reqs[reqs.length - 1];
  const lastEnd = exchangeEnd(last);
  const idleMs = p.close.time !== null ? Math.max(0, p.close.time - lastEnd) : 0;
  const reqConn = tokens(last.requestHeaders, 'connection');
  const respConn = tokens(last.responseHeaders, 'connection');
  const reusable = p.keepAlive?.reusableAfter ?? [];
  if (last.httpVersion === 'HTTP/1.0' && !reqConn.includes('keep-alive')) return { cause: 'http10-no-keepalive', idleMs };
  if (p.close.reason === 'http10-no-keepalive') return { cause: 'http10-no-keepalive', idleMs };
  if (!selfDelimited(last) || p.close.reason === 'close-delimited-body') return { cause: 'not-self-delimited', idleMs };
  // RFC 9112 §9.6: a server that receives `close` closes after its response and SHOULD say
  // `close` too — the server's header then only echoes the client's choice.
  if (reqConn.includes('close')) return { cause: 'client-no-pool', idleMs };
  if (respConn.includes('close')) {
    const earlierKept = reqs.length > 1 && reusable.slice(0, reqs.length - 1).every(Boolean);
    const max = p.keepAlive?.max;
    if (earlierKept || p.close.reason === 'max-requests' || (max !== undefined && reqs.length >= max)) return { cause: 'max-requests', idleMs };
    return { cause: 'server-connection-close', idleMs };
  }
  if (p.close.how === 'rst') return { cause: 'reset', idleMs };
  if (p.close.by === 'server') return { cause: idleMs >= idleCloseMs ? 'server-idle-timeout' : 'server-close', idleMs };
  return { cause: idleMs >= idleCloseMs ? 'client-idle-timeout' : 'client-no-pool', idleMs };
}

/** All exchanges complete and the last one self-delimited and persistent: reusable once it ends. */
function reusableAtEnd(p: Connection, reqs: Request[]): boolean {
  if (!reqs.length || reqs.some((r) => r.state !== 'complete' || r.times.responseEndTime === null)) return false;
  const last = reqs[reqs.length - 1];
  return selfDelimited(last) && (p.keepAlive?.reusableAfter[last.index - 1] ?? false);
}

/**
 * Over TLS a connection serves the host it was opened for: P can carry N's first request only if
 * P's last request named the same host (the groups already share the SNI; this catches a Host
 * that differs from it). Plain HTTP/1 connections are not compared (virtual hosts share them).
 */
function sameHost(n: Connection, first: Request, p: Connection, byConn: Map<number, Request[]>): boolean {
  if (!n.tls || !p.tls) return true;
  const last = byConn.get(p.id)?.at(-1);
  return !last || hostOf(first) === hostOf(last);
}

/** N's first request repeats a request that failed on P (stale-connection race retry). */
function isRetryOf(first: Request | undefined, pReqs: Request[]): boolean {
  if (!first) return false;
  return pReqs.some((r) => r.state !== 'complete' && r.method === first.method && r.target === first.target);
}

export const SEVERITY: Record<ReuseCause, Finding['severity']> = {
  'idle-connection-unused': 'warning',
  'client-no-pool': 'warning',
  'client-idle-timeout': 'info',
  'server-connection-close': 'warning',
  'http10-no-keepalive': 'warning',
  'not-self-delimited': 'warning',
  'server-idle-timeout': 'info',
  'max-requests': 'info',
  reset: 'warning',
  'server-close': 'info',
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : 0;
}

function why(cause: ReuseCause, items: Avoidable[]): string {
  const idle = fmtMs(median(items.map((a) => a.idleMs)));
  const gap = fmtMs(median(items.map((a) => a.gapMs)));
  switch (cause) {
    case 'idle-connection-unused':
      return 'the client opened a new connection while an earlier one to the same server was open, idle and reusable';
    case 'client-no-pool':
      if (items.every((a) => a.clientClose)) return 'the client sent `Connection: close` with its request, so the server closed the connection after the response (RFC 9112 §9.6), and the client opened a new connection for its next request (it does not keep connections: no pool/session)';
      return 'the client opened a new connection for each request and closed it right after the response, although the server offered keep-alive (it does not reuse connections: no pool/session)';
    case 'client-idle-timeout':
      return `the client closed its idle connection after ~${idle} and reconnected ${gap} after the previous response`;
    case 'server-connection-close':
      return 'the server answered with `Connection: close` and closed each connection after one response, so the client had to reconnect';
    case 'http10-no-keepalive':
      return 'the exchanges were HTTP/1.0 without `Connection: keep-alive`, so each connection ended after its response';
    case 'not-self-delimited':
      return 'the responses had neither Content-Length nor chunked encoding, so each body ended with the connection close';
    case 'server-idle-timeout':
      return `the server closed the idle connection after ~${idle}, but the client's next request came ${gap} after the previous response`;
    case 'max-requests': {
      const n = median(items.map((a) => a.served));
      return `the server ended each connection after ${n} requests (\`Connection: close\` on response ${n}: a per-connection request limit)`;
    }
    case 'reset':
      return 'the previous connection was reset';
    case 'server-close':
      return 'the server closed the previous connection right after its response without saying `Connection: close`';
  }
}

function advice(cause: ReuseCause, items: Avoidable[]): string {
  return reuseAdvice(cause, maxOf(items, (a) => a.gapMs));
}

/** What to do about a missed reuse with this cause (`maxGapMs`: the longest gap before a new connection). */
export function reuseAdvice(cause: ReuseCause, maxGapMs: number): string {
  switch (cause) {
    case 'idle-connection-unused':
    case 'client-no-pool':
      return 'Reuse connections: send all requests to this origin through one HTTP client that keeps a connection pool (one curl run with several URLs, a requests.Session, an http.Agent({ keepAlive: true }), a shared HttpClient) instead of a new client per request. Each new connection costs a TCP handshake (one round trip), a TLS handshake on HTTPS, and a fresh TCP slow start.';
    case 'client-idle-timeout':
      return `Keep idle pooled connections longer than the gaps between requests (here up to ${fmtMs(maxGapMs)}), while staying below the server's keep-alive timeout.`;
    case 'server-connection-close':
      return 'Enable keep-alive on the server (nginx `keepalive_timeout` > 0, Apache `KeepAlive On`), or find what makes it send `Connection: close` (an error path, a proxy, a request limit).';
    case 'http10-no-keepalive':
      return 'Use HTTP/1.1 (persistent by default), or send `Connection: keep-alive` on HTTP/1.0 requests to a server that honours it.';
    case 'not-self-delimited':
      return 'Make the server send Content-Length or `Transfer-Encoding: chunked` so the connection can be reused after the response.';
    case 'server-idle-timeout':
      return `Raise the server's keep-alive idle timeout above the client's gaps between requests (up to ${fmtMs(maxGapMs)} here; e.g. nginx \`keepalive_timeout\`), or have the client close its idle connections first.`;
    case 'max-requests':
      return 'Raise the server’s per-connection request limit (nginx `keepalive_requests`, Apache `MaxKeepAliveRequests`) if the extra handshakes matter for this client.';
    case 'reset':
    case 'server-close':
      return 'Find out why the server closes connections; with keep-alive, requests to the same origin can share one connection.';
  }
}

function detect(report: Report, opts: DetectOptions): Finding[] {
  const t = opts.thresholds;
  const budget = threshold(t, 'parallelBudget', THRESHOLDS.parallelBudget.default);
  const window = threshold(t, 'reuseWindowMs', THRESHOLDS.reuseWindowMs.default);
  const idleCloseMs = threshold(t, 'idleCloseMs', THRESHOLDS.idleCloseMs.default);
  const byConn = requestsByConnection(report);
  const findings: Finding[] = [];

  for (const group of groupByOrigin(report.connections.filter(isHttp1)).values()) {
    const used = group.filter((c) => (byConn.get(c.id) ?? []).length > 0);
    if (used.length < 2) continue;
    const avoidable: Avoidable[] = [];
    const excess: { conn: Connection; open: Connection[]; openCount: number }[] = [];
    // One sweep in order of opening (O(n log n) for a group of n connections): `active` holds the
    // connections opened so far and not yet closed (a heap by close time moves them out),
    // `idlePool` the open ones whose last exchange is over and reusable (a heap by the end of that
    // exchange moves them in), `closed` the closed ones in order of closing, not yet matched.
    const usedSet = new Set(used.map((c) => c.id));
    const active = new Set<Connection>();
    const byClose = new MinHeap<Connection>((c) => c.close.time ?? Infinity);
    const byLastEnd = new MinHeap<Connection>((c) => exchangeEnd(byConn.get(c.id)!.at(-1)!));
    const idlePool: Connection[] = [];
    const closed: Connection[] = [];
    for (const n of group) {
      const t0 = openTime(n);
      while (byLastEnd.size && byLastEnd.key(byLastEnd.peek()!) <= t0) idlePool.push(byLastEnd.pop()!);
      while (byClose.size && byClose.key(byClose.peek()!) <= t0) {
        const c = byClose.pop()!;
        active.delete(c);
        closed.push(c);
      }
      if (usedSet.has(n.id)) judge(n, t0);
      active.add(n);
      byClose.push(n);
      if (usedSet.has(n.id) && reusableAtEnd(n, byConn.get(n.id)!)) byLastEnd.push(n);
    }

    /** Was N, opened at t0, avoidable — or above the parallel budget? */
    function judge(n: Connection, t0: number): void {
      const nReqs = byConn.get(n.id)!;
      // An idle connection the client never used again: a pool that later uses it was just
      // opening parallel connections ahead of demand (browsers preconnect), which is not a miss.
      while (idlePool.length && closedBy(idlePool[idlePool.length - 1], t0)) idlePool.pop();
      const p = idlePool.at(-1);
      if (p && openTime(p) < t0 && sameHost(n, nReqs[0], p, byConn)) {
        const last = byConn.get(p.id)!.at(-1)!;
        const gap = t0 - exchangeEnd(last);
        avoidable.push({ conn: n, by: p, cause: 'idle-connection-unused', costMs: setupCostMs(n, nReqs[0]), idleMs: gap, gapMs: gap, served: last.index });
        return;
      }
      if (active.size + 1 > budget) {
        const open: Connection[] = [];
        // `active` is in order of opening (insertion order; deletions keep it): stop at the first
        // opened at t0 or later, so many connections sharing one SYN time are not all walked.
        for (const c of active) if (openTime(c) >= t0 || open.push(c) >= 12) break;
        excess.push({ conn: n, open, openCount: active.size });
      }
      // The most recently closed connection that has not explained another one yet. Those
      // never eligible again (incomplete, or their last response too long ago) are dropped.
      let best: Connection | undefined;
      for (let i = closed.length - 1; i >= 0; i--) {
        const last = byConn.get(closed[i].id)?.at(-1);
        if (!last || last.state !== 'complete' || t0 - exchangeEnd(last) > window) {
          closed.splice(i, 1);
          continue;
        }
        if (!sameHost(n, nReqs[0], closed[i], byConn)) continue;
        best = closed[i];
        closed.splice(i, 1);
        break;
      }
      if (!best) return;
      const pReqs = byConn.get(best.id)!;
      if (isRetryOf(nReqs[0], pReqs)) return;
      const { cause, idleMs } = causeOf(best, pReqs, idleCloseMs);
      avoidable.push({
        conn: n,
        by: best,
        cause,
        costMs: setupCostMs(n, nReqs[0]),
        idleMs,
        gapMs: t0 - exchangeEnd(pReqs[pReqs.length - 1]),
        served: pReqs.length,
        clientClose: tokens(pReqs[pReqs.length - 1].requestHeaders, 'connection').includes('close'),
      });
    }

    const origin = originLabel(group[0]);
    const client = group[0].client.ip;
    const byCause = new Map<ReuseCause, Avoidable[]>();
    for (const a of avoidable) {
      const l = byCause.get(a.cause);
      if (l) l.push(a);
      else byCause.set(a.cause, [a]);
    }
    for (const [cause, items] of byCause) {
      const cost = items.reduce((s, a) => s + a.costMs, 0);
      const conns = [...new Set([items[0].by.id, ...items.flatMap((a) => [a.by.id, a.conn.id])])].sort((a, b) => a - b);
      const evidence: Evidence[] = items.map((a) => {
        const first = byConn.get(a.conn.id)![0];
        const prev = a.cause === 'idle-connection-unused'
          ? `while connection ${a.by.id} was idle for ${fmtMs(a.gapMs)}`
          : `${fmtMs(a.gapMs)} after connection ${a.by.id}'s last response (${a.by.close.by ?? '?'} ${a.by.close.how === 'rst' ? 'RST' : 'FIN'}${a.idleMs >= 1 ? ` after ${fmtMs(a.idleMs)} idle` : ''})`;
        const hs = a.conn.tls ? ` (${handshakeCost(a.conn, first).what})` : '';
        return ev(a.conn.firstPacket, openTime(a.conn), `connection ${a.conn.id} opened for ${label(first)} ${prev}; handshake ${fmtMs(a.costMs)}${hs}`);
      });
      const closeEv = items[0].by.close;
      if (cause !== 'idle-connection-unused' && closeEv.packet !== null) {
        const r = byConn.get(items[0].by.id)!.at(-1)!;
        const hdr = tokens(r.responseHeaders, 'connection');
        evidence.unshift(ev(closeEv.packet, closeEv.time, `connection ${items[0].by.id} closed by the ${closeEv.by} (${closeEv.how.toUpperCase()})${hdr.length ? `; last response said Connection: ${hdr.join(', ')}` : ''}`));
      }
      const reqIds = items.map((a) => byConn.get(a.conn.id)![0].id);
      findings.push({
        kind: 'missed-reuse',
        rule: cause,
        layer: 'http1',
        severity: SEVERITY[cause],
        summary: `${items.length} of ${used.length} connections from ${client} to ${origin} avoidable, ~${fmtMs(cost)} of handshakes${handshakesNote(items.map((a) => a.conn))}: ${why(cause, items)}`,
        connectionIds: conns,
        requestIds: reqIds,
        timeRange: [minOf(items, (a) => openTime(a.by)), maxOf(items, (a) => a.conn.lastTime)],
        costMs: cost,
        evidence: capEvidence(evidence),
        advice: advice(cause, items),
      });
    }

    if (excess.length) {
      const peak = maxOf(excess, (e) => e.openCount + 1);
      const cost = excess.reduce((s, e) => s + setupCostMs(e.conn, byConn.get(e.conn.id)![0]), 0);
      findings.push({
        kind: 'excess-parallel-connections',
        layer: 'http1',
        severity: 'warning',
        summary: `${client} had up to ${peak} connections open to ${origin} at once (budget ${budget}): ${excess.length} opened above the budget`,
        connectionIds: excess.map((e) => e.conn.id),
        requestIds: excess.map((e) => byConn.get(e.conn.id)![0].id),
        timeRange: [openTime(excess[0].conn), maxOf(excess, (e) => e.conn.lastTime)],
        costMs: cost,
        evidence: capEvidence(excess.map((e) => ev(e.conn.firstPacket, openTime(e.conn), `connection ${e.conn.id} opened while ${e.openCount} others were open and busy (${e.open.map((c) => c.id).join(', ')}${e.openCount > e.open.length ? ', …' : ''})`))),
        advice: `Cap parallel connections per origin (browsers use 6 for HTTP/1.1) and queue requests on busy ones, or use HTTP/2 to multiplex them on one connection. Raise --threshold parallelBudget=N if more is intended.`,
      });
    }
  }
  return findings;
}

export const missedReuse: DetectorDef = {
  name: 'missed-reuse',
  kinds: ['missed-reuse', 'excess-parallel-connections'],
  thresholds: THRESHOLDS,
  detect,
};
