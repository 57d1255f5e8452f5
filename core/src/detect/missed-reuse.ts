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
 *     with keep-alive: §9.3) — `keepAlive.reusableAfter`, as the HTTP/1 session decided it once
 *     (http1/keepalive.ts) — and the client never sent another request on P
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
 *     Each side's persistence is read as the HTTP/1 session recorded it
 *     (`keepAlive.clientPersistence` / `serverPersistence`), the framing likewise
 *     (`http1.closeDelimited`): decided once in http1/keepalive.ts, not re-derived from headers.
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
 * Streaming (stream.ts): per client and origin in order of opening, keeping the open
 * connections, the idle ones and the closed ones within `reuseWindowMs` (dropped as the watermark
 * passes them); one finding per origin and cause at the end, the connections it lists kept until
 * then (ids, numbers and the first evidence lines, not the records).
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
import type { Connection, Evidence, Finding, Request } from '../model/types.js';
import type { DetectorDef, DetectOptions } from './index.js';
import { defineDetector, type FindingSink, type StreamContext, type StreamingDetector } from './stream.js';
import {
  capEvidence,
  clientPersistence,
  closedBy,
  ev,
  exchangeEnd,
  fmtMs,
  handshakeCost,
  handshakeOf,
  handshakesNoteOf,
  type HandshakeNote,
  hostOf,
  isHttp1,
  label,
  maxOf,
  MinHeap,
  minOf,
  openTime,
  originKey,
  originLabel,
  selfDelimited,
  serverPersistence,
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

/**
 * An avoidable connection as its finding needs it (not the records: a finding waits for the end
 * of the capture, and may list thousands of connections).
 */
interface Avoidable {
  connId: number;
  /** Its first request's id, and the connection that could have carried it. */
  firstId: number;
  byId: number;
  /** openTime of `by`, lastTime of the connection: the finding's time range. */
  byOpen: number;
  connLast: number;
  /** Its TLS handshake, for the summary's note. */
  tls: HandshakeNote | null;
  /** Its evidence line (only for the first MAX_EVIDENCE_KEPT of a finding: the rest are counted). */
  evidence: Evidence | null;
  /** The first of its cause in its group: the connection it could have used, for the close evidence. */
  by?: Connection;
  byLast?: Request;
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

function causeOf(p: Connection, last: Request, count: number, earlierKept: boolean, idleCloseMs: number): { cause: ReuseCause; idleMs: number } {
  const lastEnd = exchangeEnd(last);
  const idleMs = p.close.time !== null ? Math.max(0, p.close.time - lastEnd) : 0;
  // Each side's persistence (RFC 9112 §9.3) and the framing (§6.3) as the session recorded them.
  const client = clientPersistence(p, last);
  const server = serverPersistence(p, last);
  if (client === 'http/1.0') return { cause: 'http10-no-keepalive', idleMs };
  if (p.close.reason === 'http10-no-keepalive') return { cause: 'http10-no-keepalive', idleMs };
  if (!selfDelimited(last) || p.close.reason === 'close-delimited-body') return { cause: 'not-self-delimited', idleMs };
  // RFC 9112 §9.6: a server that receives `close` closes after its response and SHOULD say
  // `close` too — the server's header then only echoes the client's choice.
  if (client === 'close') return { cause: 'client-no-pool', idleMs };
  if (server === 'close') {
    const max = p.keepAlive?.max;
    if (earlierKept || p.close.reason === 'max-requests' || (max !== undefined && count >= max)) return { cause: 'max-requests', idleMs };
    return { cause: 'server-connection-close', idleMs };
  }
  if (p.close.how === 'rst') return { cause: 'reset', idleMs };
  if (p.close.by === 'server') return { cause: idleMs >= idleCloseMs ? 'server-idle-timeout' : 'server-close', idleMs };
  return { cause: idleMs >= idleCloseMs ? 'client-idle-timeout' : 'client-no-pool', idleMs };
}

/**
 * What the sweep keeps of a connection while it can still explain a later one: its record, its
 * last exchange and count, and the requests that failed on it (a retry of one is not a miss).
 */
interface Kept {
  c: Connection;
  last: Request | undefined;
  count: number;
  /** Every response before the last kept the connection alive (`keepAlive.reusableAfter`). */
  earlierKept: boolean;
  /** All exchanges complete and the last one self-delimited and persistent: reusable once it ends. */
  reusableAtEnd: boolean;
  /** `method target` of the requests that did not complete. */
  failed: Set<string> | null;
  /** Past the point where it could explain any later connection (see `expiry`): ignored, and dropped. */
  dead: boolean;
}

/**
 * When a kept connection stops mattering to connections opened later: once closed (it leaves the
 * busy set) and its last response is older than the reuse window (no later connection can be
 * its missed reuse). Never, while open.
 */
function expiry(k: Kept, window: number): number {
  if (k.c.close.time === null) return Infinity;
  return Math.max(k.c.close.time, k.last ? exchangeEnd(k.last) + window : -Infinity);
}

function keep(c: Connection, reqs: readonly Request[]): Kept {
  const last = reqs.at(-1);
  const reusable = c.keepAlive?.reusableAfter ?? [];
  let failed: Set<string> | null = null;
  for (const r of reqs) if (r.state !== 'complete') (failed ??= new Set()).add(`${r.method} ${r.target}`);
  return {
    c,
    last,
    count: reqs.length,
    earlierKept: reqs.length > 1 && reusable.slice(0, reqs.length - 1).every(Boolean),
    // reusableAfter holds the whole decision: both sides persisted and the response self-delimited.
    reusableAtEnd: reqs.length > 0 && !reqs.some((r) => r.state !== 'complete' || r.times.responseEndTime === null) && (reusable[last!.index - 1] ?? false),
    failed,
    dead: false,
  };
}

/**
 * Over TLS a connection serves the host it was opened for: P can carry N's first request only if
 * P's last request named the same host (the groups already share the SNI; this catches a Host
 * that differs from it). Plain HTTP/1 connections are not compared (virtual hosts share them).
 */
function sameHost(n: Connection, first: Request, p: Kept): boolean {
  if (!n.tls || !p.c.tls) return true;
  return !p.last || hostOf(first) === hostOf(p.last);
}

/** N's first request repeats a request that failed on P (stale-connection race retry). */
function isRetryOf(first: Request | undefined, p: Kept): boolean {
  return !!first && !!p.failed?.has(`${first.method} ${first.target}`);
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

/** Evidence lines kept per finding (capEvidence shows at most 100, one of them the close). */
const MAX_EVIDENCE_KEPT = 100;
const CUT: Evidence = { packet: null, time: null, what: '' };

/** The evidence line of an avoidable connection `n` (first request `first`) that `by` could have served. */
function evidenceOf(n: Connection, first: Request, by: Connection, cause: ReuseCause, costMs: number, idleMs: number, gapMs: number): Evidence {
  const prev = cause === 'idle-connection-unused'
    ? `while connection ${by.id} was idle for ${fmtMs(gapMs)}`
    : `${fmtMs(gapMs)} after connection ${by.id}'s last response (${by.close.by ?? '?'} ${by.close.how === 'rst' ? 'RST' : 'FIN'}${idleMs >= 1 ? ` after ${fmtMs(idleMs)} idle` : ''})`;
  const hs = n.tls ? ` (${handshakeCost(n, first).what})` : '';
  return ev(n.firstPacket, openTime(n), `connection ${n.id} opened for ${label(first)} ${prev}; handshake ${fmtMs(costMs)}${hs}`);
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

/** One client and origin's sweep state (`originKey`), bounded by the open connections and the reuse window. */
interface Group {
  minId: number;
  /** The client address and origin as the findings name them. */
  client: string;
  origin: string;
  /** Connections that carried a request. */
  used: number;
  /** The sweep's state; null while no kept connection can matter any more (it is then dropped). */
  s: Sweep | null;
  /** Kept connections not dead: when none is left, the sweep state goes. */
  live: number;
  avoidable: Avoidable[];
  /** Avoidable connections per cause so far (for the evidence kept). */
  causes: Map<ReuseCause, number>;
  excess: Excess[];
}

interface Excess {
  connId: number;
  firstId: number;
  costMs: number;
  openAt: number;
  connLast: number;
  openCount: number;
  evidence: Evidence | null;
}

interface Sweep {
  /** Opened and not closed by the sweep's time, in order of opening; a heap by close time moves them out. */
  active: Set<Kept>;
  byClose: MinHeap<Kept>;
  /** Reusable at the end of their last exchange: a heap by that end moves them into `idlePool`. */
  byLastEnd: MinHeap<Kept>;
  idlePool: Kept[];
  /** Closed, not matched yet, in order of closing. */
  closed: Kept[];
  /** Sizes after the last clean-up of `idlePool` / `closed` (cleaned again when doubled). */
  idleKept: number;
  closedKept: number;
}

function sweep(): Sweep {
  return {
    active: new Set(),
    byClose: new MinHeap<Kept>((x) => x.c.close.time ?? Infinity),
    byLastEnd: new MinHeap<Kept>((x) => exchangeEnd(x.last!)),
    idlePool: [],
    closed: [],
    idleKept: 0,
    closedKept: 0,
  };
}

/**
 * A sweep per client and origin in order of opening (`onOrdered`), O(n log n) for a group of n
 * connections: `active` holds the connections opened so far and not yet closed (a heap by close
 * time moves them out), `idlePool` the open ones whose last exchange is over and reusable (a heap
 * by the end of that exchange moves them in), `closed` the closed ones in order of closing, not
 * yet matched. Closed connections leave the pool, and connections past the reuse window leave
 * `closed`, as the sweep's time passes them: the state is the open connections plus the window.
 * One finding per origin and cause at the end ("N of M connections …").
 */
function stream(opts: DetectOptions, emit: FindingSink, ctx: StreamContext): StreamingDetector {
  const t = opts.thresholds;
  const budget = threshold(t, 'parallelBudget', THRESHOLDS.parallelBudget.default);
  const window = threshold(t, 'reuseWindowMs', THRESHOLDS.reuseWindowMs.default);
  const idleCloseMs = threshold(t, 'idleCloseMs', THRESHOLDS.idleCloseMs.default);
  const groups = new Map<string, Group>();

  const groupOf = (c: Connection): Group => {
    const k = originKey(c);
    let g = groups.get(k);
    if (!g) {
      g = {
        minId: c.id,
        client: c.client.ip,
        origin: originLabel(c),
        used: 0,
        s: null,
        live: 0,
        avoidable: [],
        causes: new Map(),
        excess: [],
      };
      groups.set(k, g);
    }
    return g;
  };

  /** Was N, opened at t0, avoidable — or above the parallel budget? */
  function judge(g: Group, n: Connection, nFirst: Request, t0: number): void {
    const s = g.s!;
    // An idle connection the client never used again: a pool that later uses it was just
    // opening parallel connections ahead of demand (browsers preconnect), which is not a miss.
    const idlePool = s.idlePool;
    while (idlePool.length && (idlePool[idlePool.length - 1].dead || closedBy(idlePool[idlePool.length - 1].c, t0))) idlePool.pop();
    const p = idlePool.at(-1);
    if (p && openTime(p.c) < t0 && sameHost(n, nFirst, p)) {
      const gap = t0 - exchangeEnd(p.last!);
      add(g, n, nFirst, p, 'idle-connection-unused', gap, gap, p.last!.index, undefined);
      return;
    }
    if (s.active.size + 1 > budget) {
      const open: Connection[] = [];
      // `active` is in order of opening (insertion order; deletions keep it): stop at the first
      // opened at t0 or later, so many connections sharing one SYN time are not all walked.
      for (const k of s.active) if (openTime(k.c) >= t0 || open.push(k.c) >= 12) break;
      const openCount = s.active.size;
      g.excess.push({
        connId: n.id,
        firstId: nFirst.id,
        costMs: setupCostMs(n, nFirst),
        openAt: t0,
        connLast: n.lastTime,
        openCount,
        evidence: g.excess.length < MAX_EVIDENCE_KEPT ? ev(n.firstPacket, t0, `connection ${n.id} opened while ${openCount} others were open and busy (${open.map((c) => c.id).join(', ')}${openCount > open.length ? ', …' : ''})`) : null,
      });
    }
    // The most recently closed connection that has not explained another one yet. Those
    // never eligible again (incomplete, or their last response too long ago) are dropped.
    const closed = s.closed;
    let best: Kept | undefined;
    for (let i = closed.length - 1; i >= 0; i--) {
      if (!eligible(closed[i], t0)) {
        closed.splice(i, 1);
        continue;
      }
      if (!sameHost(n, nFirst, closed[i])) continue;
      best = closed[i];
      closed.splice(i, 1);
      break;
    }
    if (!best) return;
    if (isRetryOf(nFirst, best)) return;
    const last = best.last!;
    const { cause, idleMs } = causeOf(best.c, last, best.count, best.earlierKept, idleCloseMs);
    add(g, n, nFirst, best, cause, idleMs, t0 - exchangeEnd(last), best.count, clientPersistence(best.c, last) === 'close');
  }

  function add(g: Group, n: Connection, first: Request, by: Kept, cause: ReuseCause, idleMs: number, gapMs: number, served: number, clientClose: boolean | undefined): void {
    const costMs = setupCostMs(n, first);
    const seen = g.causes.get(cause) ?? 0;
    g.causes.set(cause, seen + 1);
    g.avoidable.push({
      connId: n.id,
      firstId: first.id,
      byId: by.c.id,
      byOpen: openTime(by.c),
      connLast: n.lastTime,
      tls: handshakeOf(n),
      evidence: seen < MAX_EVIDENCE_KEPT ? evidenceOf(n, first, by.c, cause, costMs, idleMs, gapMs) : null,
      ...(seen === 0 ? { by: by.c, byLast: by.last } : {}),
      cause,
      costMs,
      idleMs,
      gapMs,
      served,
      clientClose,
    });
  }

  /** A closed connection can still explain one opened at t0 (and, t0 only growing, never again once not). */
  const eligible = (k: Kept, t0: number): boolean => !k.dead && !!k.last && k.last.state === 'complete' && t0 - exchangeEnd(k.last) <= window;

  /** Kept connections by `expiry`: dropped once the watermark passes it (streaming only). */
  const expiring = new MinHeap<{ k: Kept; g: Group; at: number }>((e) => e.at);

  return {
    onOrdered(n, reqs) {
      if (!isHttp1(n)) return;
      const g = groupOf(n);
      g.minId = Math.min(g.minId, n.id);
      const t0 = openTime(n);
      const s = (g.s ??= sweep());
      while (s.byLastEnd.size && s.byLastEnd.key(s.byLastEnd.peek()!) <= t0) {
        const k = s.byLastEnd.pop()!;
        if (!k.dead) s.idlePool.push(k);
      }
      while (s.byClose.size && s.byClose.key(s.byClose.peek()!) <= t0) {
        const k = s.byClose.pop()!;
        s.active.delete(k);
        if (!k.dead) s.closed.push(k);
      }
      // What can never be chosen again goes (the choices are unchanged: see `judge`).
      if (s.idlePool.length > 2 * s.idleKept + 64) {
        s.idlePool = s.idlePool.filter((k) => !closedBy(k.c, t0));
        s.idleKept = s.idlePool.length;
      }
      if (s.closed.length > 2 * s.closedKept + 64) {
        s.closed = s.closed.filter((k) => eligible(k, t0));
        s.closedKept = s.closed.length;
      }
      const k = keep(n, reqs);
      if (reqs.length) {
        g.used++;
        judge(g, n, reqs[0], t0);
      }
      s.active.add(k);
      s.byClose.push(k);
      if (k.reusableAtEnd) s.byLastEnd.push(k);
      g.live++;
      if (ctx.bounded) {
        const at = expiry(k, window);
        if (at !== Infinity) expiring.push({ k, g, at });
      }
    },
    onWatermark(w) {
      // Every connection still to come opens at or after w: what expired before it is dead.
      while (expiring.size && expiring.key(expiring.peek()!) < w) {
        const { k, g } = expiring.pop()!;
        k.dead = true;
        g.s?.active.delete(k);
        if (--g.live === 0) g.s = null;
      }
    },
    finish() {
      for (const g of [...groups.values()].sort((a, b) => a.minId - b.minId)) {
        if (g.used >= 2) for (const f of groupFindings(g, budget, g.client, g.origin)) emit(f);
      }
      groups.clear();
    },
  };
}

/** One finding per cause, then excess-parallel-connections, for one client and origin. */
function groupFindings(g: Group, budget: number, client: string, origin: string): Finding[] {
  const findings: Finding[] = [];
  const { avoidable, excess, used } = g;
  const byCause = new Map<ReuseCause, Avoidable[]>();
  for (const a of avoidable) {
    const l = byCause.get(a.cause);
    if (l) l.push(a);
    else byCause.set(a.cause, [a]);
  }
  for (const [cause, items] of byCause) {
    const cost = items.reduce((s, a) => s + a.costMs, 0);
    const conns = [...new Set([items[0].byId, ...items.flatMap((a) => [a.byId, a.connId])])].sort((a, b) => a - b);
    const evidence: Evidence[] = items.map((a) => a.evidence ?? CUT);
    const by = items[0].by!;
    const closeEv = by.close;
    if (cause !== 'idle-connection-unused' && closeEv.packet !== null) {
      const hdr = tokens(items[0].byLast!.responseHeaders, 'connection');
      evidence.unshift(ev(closeEv.packet, closeEv.time, `connection ${by.id} closed by the ${closeEv.by} (${closeEv.how.toUpperCase()})${hdr.length ? `; last response said Connection: ${hdr.join(', ')}` : ''}`));
    }
    findings.push({
      kind: 'missed-reuse',
      rule: cause,
      layer: 'http1',
      severity: SEVERITY[cause],
      summary: `${items.length} of ${used} connections from ${client} to ${origin} avoidable, ~${fmtMs(cost)} of handshakes${handshakesNoteOf(items.map((a) => a.tls))}: ${why(cause, items)}`,
      connectionIds: conns,
      requestIds: items.map((a) => a.firstId),
      timeRange: [minOf(items, (a) => a.byOpen), maxOf(items, (a) => a.connLast)],
      costMs: cost,
      evidence: capEvidence(evidence),
      advice: advice(cause, items),
    });
  }

  if (excess.length) {
    const peak = maxOf(excess, (e) => e.openCount + 1);
    const cost = excess.reduce((s, e) => s + e.costMs, 0);
    findings.push({
      kind: 'excess-parallel-connections',
      layer: 'http1',
      severity: 'warning',
      summary: `${client} had up to ${peak} connections open to ${origin} at once (budget ${budget}): ${excess.length} opened above the budget`,
      connectionIds: excess.map((e) => e.connId),
      requestIds: excess.map((e) => e.firstId),
      timeRange: [excess[0].openAt, maxOf(excess, (e) => e.connLast)],
      costMs: cost,
      evidence: capEvidence(excess.map((e) => e.evidence ?? CUT)),
      advice: `Cap parallel connections per origin (browsers use 6 for HTTP/1.1) and queue requests on busy ones, or use HTTP/2 to multiplex them on one connection. Raise --threshold parallelBudget=N if more is intended.`,
    });
  }
  return findings;
}

export const missedReuse: DetectorDef = defineDetector({
  name: 'missed-reuse',
  kinds: ['missed-reuse', 'excess-parallel-connections'],
  thresholds: THRESHOLDS,
  reads: {
    requestHeaders: ['host', ':authority'],
    responseHeaders: ['connection'],
    requestHttp1: ['closeDelimited'],
    url: true,
  },
  stream,
});
