/**
 * blind-relay-hang: a keep-alive request swallowed by a hop that does not understand `Connection`.
 *
 * The problem (RFC 9112 §9.3 and Appendix C.2.2, RFC 2068 §19.7.1): a proxy that does not know
 * `Connection` forwards `Connection: Keep-Alive` verbatim. The origin keeps its connection alive;
 * the proxy, not knowing the response is complete, waits for a close; the client, told
 * "keep-alive", sends its next request into the relay, which never reads it. Nothing happens until
 * some timeout closes a connection.
 *
 * Signatures (HTTP/1.x only):
 *  (a) A request on a reused connection (index ≥ 2, the previous response complete and
 *      persistent) that gets no response byte at all, sent while the connection was fully open,
 *      and the connection is then closed or reset at least `hangMs` (default 1 s) later.
 *  (b) A response marked `Connection: keep-alive` that is close-delimited (no Content-Length, not
 *      chunked) and whose last byte precedes the connection's close by at least `hangMs`: the
 *      client had to wait for a close that the server, keeping alive, had no reason to send.
 *  (c) Where the capture holds both legs: a request on connection A reappears (same method, same
 *      target or A's absolute-form target ending in it, same Host) on a connection B to another
 *      server within `legWindowMs` (default 2 s) — A's server is a relay, B its upstream leg. When
 *      A's next request hangs as in (a) and never shows up on B, the relay (A's server) is the hop
 *      that swallowed it; B typically idles after its one exchange until the origin's keep-alive
 *      timeout closes it, and the relay then closes A.
 * Proxy evidence is added when present: absolute-form targets, `Via`, `Proxy-Connection`, a
 * well-known proxy port (3128, 8080, 8118, 8888, …).
 *
 * Cost: the hang, from the end of the hung request to the close (or, for (b), from the last body
 * byte to the close).
 *
 * Streaming (stream.ts): (b) and (a) per connection as it completes; a connection with a hang
 * waits until the watermark passes its hung request + `legWindowMs` (every connection that can
 * carry its leg has then been seen). The leg index keeps the HTTP/1 requests that started after
 * the watermark, or after a waiting hang's previous request — a leg never starts earlier.
 *
 * Where it can be wrong:
 *  - A server that is simply slow, or deadlocked, on the second request looks the same as (a)
 *    when only one leg is captured; (a) without (c) names "a hop between client and server".
 *  - A request sent when the server was already closing (stale-connection race) is excluded: the
 *    server's FIN/RST must come at least `hangMs` after the request (keepalive-policy reports
 *    races).
 *  - Leg matching by method/target/Host can pair unrelated connections that fetch the same URL at
 *    the same time (e.g. two clients), and misses relays that rewrite the target or Host.
 *  - A capture that ends while the request is outstanding is not reported by (a) alone: the
 *    response may simply come later.
 */
import type { Connection, Evidence, Finding, Request } from '../model/types.js';
import type { DetectorDef, DetectOptions } from './index.js';
import { defineDetector, slimConnection, type FindingSink, type StreamContext, type StreamingDetector } from './stream.js';
import { endpoint, ev, fmtMs, header, isHttp1, label, maxOf, MinHeap, minOf, reusableAfter, selfDelimited, threshold, tokens } from './util.js';
import { firstIndex } from '../util/search.js';

const THRESHOLDS = {
  hangMs: { default: 1000, unit: 'ms', description: 'silence before a close that makes an unanswered reused request (or a keep-alive close-delimited response) a hang' },
  legWindowMs: { default: 2000, unit: 'ms', description: 'max delay between a request on the client leg and the same request on the upstream leg' },
} as const;

const PROXY_PORTS = new Set([3128, 3129, 8080, 8118, 8888, 8000, 1080]);

interface Leg {
  up: LegConn;
  upReq: LegRequest;
}

/**
 * What the leg index keeps of a request (the fields a leg lookup and its evidence read), not the
 * request: a connection open for the whole capture keeps every request it carried in the index
 * until its end, and a whole record per request held ~3x the memory.
 */
type LegRequest = Pick<Request, 'id' | 'connectionId' | 'index' | 'method' | 'target' | 'requestHeaders'> & {
  times: Pick<Request['times'], 'requestStartTime' | 'responseEndTime'>;
  packets: { request: [number, number] };
};

const legRequest = (r: Request): LegRequest => ({
  id: r.id,
  connectionId: r.connectionId,
  index: r.index,
  method: r.method,
  target: r.target,
  requestHeaders: r.requestHeaders,
  times: { requestStartTime: r.times.requestStartTime, responseEndTime: r.times.responseEndTime },
  packets: { request: r.packets.request },
});

/** What a possible upstream leg needs of its connection (not its requests: see `via`). */
interface LegConn {
  c: Connection;
  server: string;
  /** Requests on it, and the first (in index order) carrying Via, for the proxy evidence. */
  requests: number;
  via: Request | undefined;
}

function sameRequest(a: Request, b: LegRequest): boolean {
  if (a.method !== b.method) return false;
  const targetOk = a.target === b.target || (/^https?:\/\//i.test(a.target) && a.target.endsWith(b.target) && b.target.startsWith('/'));
  if (!targetOk) return false;
  const ha = header(a.requestHeaders, 'host');
  const hb = header(b.requestHeaders, 'host');
  return ha === undefined || hb === undefined || ha.toLowerCase() === hb.toLowerCase();
}

const hasVia = (r: Request) => header(r.responseHeaders, 'via') !== undefined || header(r.requestHeaders, 'via') !== undefined;

const legKey = (r: Pick<Request, 'method' | 'target'>): string => `${r.method} ${r.target.slice(r.target.lastIndexOf('/') + 1)}`;

/**
 * Candidate upstream requests of the HTTP/1 connections seen so far, so that finding the leg of a
 * request costs a binary search plus the requests of the same method and target in the window,
 * instead of a scan of every connection (10,000 hangs among 10,000 connections took 25 s).
 * Streaming, requests that started before `prune(bound)` are dropped: a leg starts at or after the
 * request it carries, and every request still to be judged started after `bound`.
 */
class LegIndex {
  /**
   * `method tail` → requests (by start time once `sorted`: connections come in any order, so the
   * list is sorted when next searched), where the tail is the target after its last '/': a target
   * equal to another, or a path ending an absolute-form one, has the same tail.
   */
  private readonly byKey = new Map<string, { l: LegRequest[]; sorted: boolean }>();
  private readonly conns = new Map<number, LegConn & { live: number }>();
  /** Requests indexed, and how many were left by the last pruning pass. */
  private size = 0;
  private kept = 0;

  /** Indexes the requests of `c` that started at or after `from` (earlier ones no lookup can reach). */
  add(c: Connection, reqs: readonly Request[], from: number): void {
    let live = 0;
    for (const r of reqs) if (r.times.requestStartTime >= from) live++;
    if (!live) return;
    this.conns.set(c.id, { c, server: endpoint(c.server), requests: reqs.length, via: reqs.find(hasVia), live });
    for (const r of reqs) {
      if (r.times.requestStartTime < from) continue;
      const b = legRequest(r);
      const k = legKey(b);
      let e = this.byKey.get(k);
      if (!e) this.byKey.set(k, (e = { l: [], sorted: true }));
      if (e.l.length && e.l[e.l.length - 1].times.requestStartTime > b.times.requestStartTime) e.sorted = false;
      e.l.push(b);
    }
    this.size += live;
  }

  /** Requests indexed now. */
  get length(): number {
    return this.size;
  }

  /** Drop the requests that started before `bound` (and connections left without any): a pass each time the index has doubled. */
  prune(bound: number): void {
    if (this.size <= 2 * this.kept + 1024) return;
    for (const [k, e] of this.byKey) {
      const l = e.l.filter((b) => {
        if (b.times.requestStartTime >= bound) return true;
        const lc = this.conns.get(b.connectionId)!;
        if (--lc.live === 0) this.conns.delete(b.connectionId);
        return false;
      });
      if (l.length) e.l = l;
      else this.byKey.delete(k);
    }
    let n = 0;
    for (const e of this.byKey.values()) n += e.l.length;
    this.size = this.kept = n;
  }

  /**
   * The upstream leg that carried request `a` of connection `c`, if the capture holds it: among the
   * requests with the same method and the same target (or, for an absolute-form target, a path
   * suffix of it) started within the window after `a`, the first in connection order (id).
   */
  upstreamOf(c: Connection, a: Request, windowMs: number): Leg | undefined {
    const t0 = a.times.requestStartTime;
    const server = endpoint(c.server);
    const e = this.byKey.get(legKey(a));
    if (!e) return undefined;
    if (!e.sorted) {
      e.l.sort((x, y) => x.times.requestStartTime - y.times.requestStartTime);
      e.sorted = true;
    }
    const l = e.l;
    const lo = firstIndex(0, l.length, (i) => l[i].times.requestStartTime >= t0);
    let best: Leg | undefined;
    for (let i = lo; i < l.length && l[i].times.requestStartTime - t0 <= windowMs; i++) {
      const b = l[i];
      const up = this.conns.get(b.connectionId);
      if (!up || up.c.id === c.id || up.server === server || up.c.firstTime > t0 + windowMs || !sameRequest(a, b)) continue;
      if (!best || up.c.id < best.up.c.id || (up.c.id === best.up.c.id && b.index < best.upReq.index)) best = { up, upReq: b };
    }
    return best;
  }
}

function proxyEvidence(c: Connection, reqs: readonly Request[], leg: Leg | undefined): Evidence[] {
  const out: Evidence[] = [];
  const abs = reqs.find((r) => /^https?:\/\//i.test(r.target));
  if (abs) out.push(ev(abs.packets.request[0], abs.times.requestStartTime, `absolute-form request target ${abs.target} (a request to a proxy)`));
  const pc = reqs.find((r) => header(r.requestHeaders, 'proxy-connection') !== undefined);
  if (pc) out.push(ev(pc.packets.request[0], pc.times.requestStartTime, `Proxy-Connection: ${header(pc.requestHeaders, 'proxy-connection')}`));
  const via = reqs.find(hasVia) ?? leg?.up.via;
  if (via) out.push(ev(via.packets.request[0], via.times.requestStartTime, `Via: ${header(via.responseHeaders, 'via') ?? header(via.requestHeaders, 'via')}`));
  if (PROXY_PORTS.has(c.server.port)) out.push(ev(null, null, `server port ${c.server.port} is a common proxy port`));
  return out;
}

const ADVICE =
  'A hop between client and origin forwards hop-by-hop headers blindly: it passed `Connection: Keep-Alive` on, the origin kept its connection open, and the relay, waiting for a close to end the response, never read the next request. Fix the intermediary to drop `Connection` and the headers it names (RFC 9110 §7.6.1) and speak HTTP/1.1 end to end; until then have clients send `Proxy-Connection: Keep-Alive` to proxies (a blind relay passes it on harmlessly) or not ask for keep-alive through it.';

/** (a): an unanswered request `r` on a reused connection, `hang` ms of silence before the close. */
interface Hang {
  r: Request;
  prev: Request;
  hang: number;
}

interface Waiting {
  c: Connection;
  reqs: readonly Request[];
  hangs: Hang[];
  /** Judged once the watermark passes it: the last hung request's start + legWindowMs. */
  deadline: number;
  /** The earliest request whose leg is looked up: the index keeps what started after it. */
  firstLookup: number;
  done: boolean;
}

/**
 * Per connection as it completes; a connection with a hang (a) waits for its upstream leg (c)
 * until the watermark passes the hung request's start + `legWindowMs` (every connection that can
 * hold the leg has then been seen), its findings (a) then (b) together. The leg index keeps the
 * HTTP/1 requests that started after the watermark or after a waiting hang's previous request.
 */
function stream(opts: DetectOptions, emit: FindingSink, ctx: StreamContext): StreamingDetector {
  const hangMs = threshold(opts.thresholds, 'hangMs', THRESHOLDS.hangMs.default);
  const legWindowMs = threshold(opts.thresholds, 'legWindowMs', THRESHOLDS.legWindowMs.default);
  const legs = new LegIndex();
  /** Connections with hangs waiting for their legs, by deadline; and their earliest lookups, for the bound. */
  const waiting = new MinHeap<Waiting>((w) => w.deadline);
  const lookups = new MinHeap<Waiting>((w) => w.firstLookup);
  let watermark = -Infinity;
  /** The request floor (stream.ts): every hang still to come has its previous request at or after it. */
  let floor = -Infinity;

  /** Where lookups can still start: the floor, a waiting hang's previous request. */
  function lookupBound(): number {
    while (lookups.size && lookups.peek()!.done) lookups.pop();
    return Math.min(floor, lookups.size ? lookups.peek()!.firstLookup : Infinity);
  }

  function judge(c: Connection, reqs: readonly Request[], hangs: Hang[]): void {
    for (const h of hangs) {
      const f = hangFinding(c, reqs, h);
      if (f) emit(f);
    }
    for (const f of closeDelimited(c, reqs, hangMs)) emit(f);
  }

  function hangFinding(c: Connection, reqs: readonly Request[], { r, prev, hang }: Hang): Finding | null {
    const closeT = c.close.time!;
    const hop = endpoint(c.server);
    const leg = legs.upstreamOf(c, prev, legWindowMs);
    const forwarded = leg ? legs.upstreamOf(c, r, legWindowMs) : undefined;
    if (leg && forwarded) return null; // it was forwarded: the hang is upstream, not at this hop
    const prevKa = tokens(prev.requestHeaders, 'connection').includes('keep-alive');
    const evidence: Evidence[] = [
      ev(prev.packets.response?.[0] ?? null, prev.times.responseStartTime, `response to ${label(prev)}: ${prev.status} with Connection: ${header(prev.responseHeaders, 'connection') ?? '(none)'}, so the client kept the connection`),
      ev(r.packets.request[0], r.times.requestStartTime, `${label(r)} sent on the reused connection ${c.id}; no response byte follows`),
      ev(c.close.packet, closeT, `connection ${c.id} ${c.close.how === 'rst' ? 'reset' : 'closed'} by the ${c.close.by} ${fmtMs(hang)} later, the request still unanswered`),
    ];
    if (prevKa) evidence.splice(1, 0, ev(prev.packets.request[0], prev.times.requestStartTime, `the client asked ${prev.httpVersion} Connection: ${header(prev.requestHeaders, 'connection')}`));
    let where = `a hop between the client and ${hop} (the server end did not answer)`;
    const conIds = [c.id];
    const reqIds = [r.id, prev.id];
    if (leg) {
      const up = leg.up.c;
      where = `the relay at ${hop}: it forwarded ${label(prev)} to ${endpoint(up.server)} on connection ${up.id} but never forwarded ${label(r)}`;
      conIds.push(up.id);
      reqIds.push(leg.upReq.id);
      evidence.push(ev(leg.upReq.packets.request[0], leg.upReq.times.requestStartTime, `the upstream leg, connection ${up.id} to ${endpoint(up.server)}, carried ${label(leg.upReq)} (with Connection: ${header(leg.upReq.requestHeaders, 'connection') ?? '(none)'}) and ${leg.up.requests} request(s) in all`));
      if (up.close.time !== null) evidence.push(ev(up.close.packet, up.close.time, `upstream connection ${up.id} closed by the ${up.close.by} after ${fmtMs(up.close.time - (leg.upReq.times.responseEndTime ?? leg.upReq.times.requestStartTime))} idle (the origin's keep-alive timeout)`));
    }
    evidence.sort((a, b) => (a.time ?? Infinity) - (b.time ?? Infinity));
    evidence.push(...proxyEvidence(c, reqs, leg));
    return {
      kind: 'blind-relay-hang',
      layer: 'http1',
      severity: 'error',
      summary: `${label(r)} on reused connection ${c.id} got no response for ${fmtMs(hang)} until the connection was ${c.close.how === 'rst' ? 'reset' : 'closed'}; swallowed by ${where}`,
      connectionIds: conIds,
      requestIds: reqIds,
      timeRange: [r.times.requestStartTime, closeT],
      costMs: hang,
      evidence,
      advice: ADVICE,
    };
  }

  function advance(t: number, requestFloor = t): void {
    watermark = Math.max(watermark, t);
    floor = Math.max(floor, requestFloor, watermark);
    while (waiting.size && waiting.key(waiting.peek()!) < watermark) {
      const w = waiting.pop()!;
      w.done = true;
      judge(w.c, w.reqs, w.hangs);
    }
    if (!ctx.bounded && t !== Infinity) return;
    legs.prune(lookupBound());
  }

  return {
    onConnection(c, reqs) {
      if (!isHttp1(c)) return;
      const hangs = hangsOf(c, reqs, hangMs);
      // Streaming, only requests a lookup can still reach are indexed: a connection open since the
      // capture began, handed out at its end, would otherwise add every request it carried at once.
      const from = ctx.bounded ? Math.min(lookupBound(), minOf(hangs, (h) => h.prev.times.requestStartTime)) : -Infinity;
      legs.add(ctx.bounded ? slimConnection(c, []) : c, reqs, from);
      if (!hangs.length) return judge(c, reqs, hangs);
      // A leg starts within the window after the request it carries, on a connection opened by then.
      const deadline = maxOf(hangs, (h) => h.r.times.requestStartTime) + legWindowMs;
      if (deadline < watermark) return judge(c, reqs, hangs);
      const w: Waiting = { c, reqs, hangs, deadline, firstLookup: minOf(hangs, (h) => h.prev.times.requestStartTime), done: false };
      waiting.push(w);
      lookups.push(w);
    },
    onWatermark: advance,
    finish() {
      advance(Infinity);
    },
    held: () => legs.length + waiting.size,
  };
}

/** (a) candidates: a request on a reused connection that got no response byte, then a long silence and a close. */
function hangsOf(c: Connection, reqs: readonly Request[], hangMs: number): Hang[] {
  const out: Hang[] = [];
  const closeT = c.close.time;
  for (let k = 1; k < reqs.length; k++) {
    const r = reqs[k];
    if (r.index < 2 || r.times.responseStartTime !== null || r.state === 'complete') continue;
    // reqs is in index order: the exchange before r, if the capture has it, is the one before.
    const prev = reqs[k - 1].index === r.index - 1 ? reqs[k - 1] : undefined;
    if (!prev || prev.state !== 'complete' || !reusableAfter(c, prev)) continue;
    const sent = r.times.requestEndTime ?? r.times.requestStartTime;
    if (closeT === null || r.times.requestStartTime >= closeT) continue; // open at capture end, or sent into a closing connection
    const hang = closeT - sent;
    if (hang < hangMs) continue;
    out.push({ r, prev, hang });
  }
  return out;
}

/**
 * (b): a keep-alive response that is close-delimited, with the connection left open. Close-delimited
 * as the session framed it (`http1.closeDelimited`, RFC 9112 §6.3); "keep-alive" is the token the
 * response carried — the relay's signature (it forwarded the origin's header), not a persistence
 * decision: a close-delimited response ends its connection whatever it says.
 */
function closeDelimited(c: Connection, reqs: readonly Request[], hangMs: number): Finding[] {
  const out: Finding[] = [];
  const closeT = c.close.time;
  for (const r of reqs) {
    if (r.state !== 'complete' || selfDelimited(r) || r.times.responseEndTime === null) continue;
    if (!tokens(r.responseHeaders, 'connection').includes('keep-alive')) continue;
    const end = closeT ?? c.lastTime;
    const wait = end - r.times.responseEndTime;
    if (wait < hangMs) continue;
    out.push({
      kind: 'blind-relay-hang',
      rule: 'keepalive-close-delimited',
      layer: 'http1',
      severity: 'warning',
      summary: `the response to ${label(r)} on connection ${c.id} says Connection: keep-alive but has no length, so its end was the close ${fmtMs(wait)} after its last byte`,
      connectionIds: [c.id],
      requestIds: [r.id],
      timeRange: [r.times.responseEndTime, end],
      costMs: wait,
      evidence: [
        ev(r.packets.response?.[0] ?? null, r.times.responseStartTime, `${r.status} with Connection: ${header(r.responseHeaders, 'connection')}, neither Content-Length nor chunked`),
        ev(r.packets.response?.[1] ?? null, r.times.responseEndTime, 'last body byte'),
        ev(c.close.packet, closeT, closeT === null ? 'the connection was still open at capture end' : `connection closed by the ${c.close.by}`),
        ...proxyEvidence(c, reqs, undefined),
      ],
      advice: ADVICE,
    });
  }
  return out;
}

export const blindRelay: DetectorDef = defineDetector({
  name: 'blind-relay-hang',
  kinds: ['blind-relay-hang'],
  thresholds: THRESHOLDS,
  reads: {
    requestHeaders: ['host', 'connection', 'proxy-connection', 'via'],
    responseHeaders: ['connection', 'via'],
    requestHttp1: ['closeDelimited'],
  },
  stream,
});
