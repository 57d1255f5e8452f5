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
import type { Connection, Evidence, Finding, Report, Request } from '../model/types.js';
import type { DetectorDef, DetectOptions } from './index.js';
import { endpoint, ev, fmtMs, header, isHttp1, label, requestsByConnection, selfDelimited, threshold, tokens } from './util.js';
import { firstIndex } from '../util/search.js';

const THRESHOLDS = {
  hangMs: { default: 1000, unit: 'ms', description: 'silence before a close that makes an unanswered reused request (or a keep-alive close-delimited response) a hang' },
  legWindowMs: { default: 2000, unit: 'ms', description: 'max delay between a request on the client leg and the same request on the upstream leg' },
} as const;

const PROXY_PORTS = new Set([3128, 3129, 8080, 8118, 8888, 8000, 1080]);

interface Leg {
  up: Connection;
  upReq: Request;
}

function sameRequest(a: Request, b: Request): boolean {
  if (a.method !== b.method) return false;
  const targetOk = a.target === b.target || (/^https?:\/\//i.test(a.target) && a.target.endsWith(b.target) && b.target.startsWith('/'));
  if (!targetOk) return false;
  const ha = header(a.requestHeaders, 'host');
  const hb = header(b.requestHeaders, 'host');
  return ha === undefined || hb === undefined || ha.toLowerCase() === hb.toLowerCase();
}

/**
 * Candidate upstream requests, indexed once per detection so that finding the leg of a request
 * costs a binary search plus the requests of the same method and target in the window, instead of
 * a scan of every connection (10,000 hangs among 10,000 connections took 25 s).
 */
interface LegIndex {
  /**
   * `method tail` → requests by start time, where the tail is the target after its last '/': a
   * target equal to another, or a path ending an absolute-form one, has the same tail.
   */
  byKey: Map<string, Request[]>;
  conn: Map<number, { c: Connection; at: number; server: string }>;
}

const legKey = (r: Request): string => `${r.method} ${r.target.slice(r.target.lastIndexOf('/') + 1)}`;

function legIndex(conns: Connection[], byConn: Map<number, Request[]>): LegIndex {
  const byKey = new Map<string, Request[]>();
  const conn = new Map<number, { c: Connection; at: number; server: string }>();
  conns.forEach((c, at) => {
    conn.set(c.id, { c, at, server: endpoint(c.server) });
    for (const b of byConn.get(c.id) ?? []) {
      const k = legKey(b);
      const l = byKey.get(k);
      if (l) l.push(b);
      else byKey.set(k, [b]);
    }
  });
  for (const l of byKey.values()) l.sort((x, y) => x.times.requestStartTime - y.times.requestStartTime);
  return { byKey, conn };
}

/**
 * The upstream leg that carried request `a` of connection `c`, if the capture holds it: among the
 * requests with the same method and the same target (or, for an absolute-form target, a path
 * suffix of it) started within the window after `a`, the first in connection order.
 */
function upstreamOf(c: Connection, a: Request, idx: LegIndex, windowMs: number): Leg | undefined {
  const t0 = a.times.requestStartTime;
  const server = idx.conn.get(c.id)!.server;
  const l = idx.byKey.get(legKey(a)) ?? [];
  const lo = firstIndex(0, l.length, (i) => l[i].times.requestStartTime >= t0);
  let best: { at: number; leg: Leg } | undefined;
  for (let i = lo; i < l.length && l[i].times.requestStartTime - t0 <= windowMs; i++) {
    const b = l[i];
    const up = idx.conn.get(b.connectionId);
    if (!up || up.c === c || up.server === server || up.c.firstTime > t0 + windowMs || !sameRequest(a, b)) continue;
    if (!best || up.at < best.at || (up.at === best.at && b.index < best.leg.upReq.index)) best = { at: up.at, leg: { up: up.c, upReq: b } };
  }
  return best?.leg;
}

function proxyEvidence(c: Connection, reqs: Request[], leg: Leg | undefined, byConn: Map<number, Request[]>): Evidence[] {
  const out: Evidence[] = [];
  const abs = reqs.find((r) => /^https?:\/\//i.test(r.target));
  if (abs) out.push(ev(abs.packets.request[0], abs.times.requestStartTime, `absolute-form request target ${abs.target} (a request to a proxy)`));
  const pc = reqs.find((r) => header(r.requestHeaders, 'proxy-connection') !== undefined);
  if (pc) out.push(ev(pc.packets.request[0], pc.times.requestStartTime, `Proxy-Connection: ${header(pc.requestHeaders, 'proxy-connection')}`));
  const all = [...reqs, ...(leg ? byConn.get(leg.up.id) ?? [] : [])];
  const via = all.find((r) => header(r.responseHeaders, 'via') !== undefined || header(r.requestHeaders, 'via') !== undefined);
  if (via) out.push(ev(via.packets.request[0], via.times.requestStartTime, `Via: ${header(via.responseHeaders, 'via') ?? header(via.requestHeaders, 'via')}`));
  if (PROXY_PORTS.has(c.server.port)) out.push(ev(null, null, `server port ${c.server.port} is a common proxy port`));
  return out;
}

const ADVICE =
  'A hop between client and origin forwards hop-by-hop headers blindly: it passed `Connection: Keep-Alive` on, the origin kept its connection open, and the relay, waiting for a close to end the response, never read the next request. Fix the intermediary to drop `Connection` and the headers it names (RFC 9110 §7.6.1) and speak HTTP/1.1 end to end; until then have clients send `Proxy-Connection: Keep-Alive` to proxies (a blind relay passes it on harmlessly) or not ask for keep-alive through it.';

function detect(report: Report, opts: DetectOptions): Finding[] {
  const hangMs = threshold(opts.thresholds, 'hangMs', THRESHOLDS.hangMs.default);
  const legWindowMs = threshold(opts.thresholds, 'legWindowMs', THRESHOLDS.legWindowMs.default);
  const conns = report.connections.filter(isHttp1);
  const byConn = requestsByConnection(report);
  let legs: LegIndex | undefined;
  const findings: Finding[] = [];

  for (const c of conns) {
    const reqs = byConn.get(c.id) ?? [];
    const closeT = c.close.time;
    const hop = endpoint(c.server);

    // (a) + (c): an unanswered request on a reused connection, then a long silence and a close.
    for (let k = 1; k < reqs.length; k++) {
      const r = reqs[k];
      if (r.index < 2 || r.times.responseStartTime !== null || r.state === 'complete') continue;
      // reqs is in index order: the exchange before r, if the capture has it, is the one before.
      const prev = reqs[k - 1].index === r.index - 1 ? reqs[k - 1] : undefined;
      if (!prev || prev.state !== 'complete' || !(c.keepAlive?.reusableAfter[prev.index - 1] ?? false)) continue;
      const sent = r.times.requestEndTime ?? r.times.requestStartTime;
      if (closeT === null || r.times.requestStartTime >= closeT) continue; // open at capture end, or sent into a closing connection
      const hang = closeT - sent;
      if (hang < hangMs) continue;
      legs ??= legIndex(conns, byConn);
      const leg = upstreamOf(c, prev, legs, legWindowMs);
      const forwarded = leg ? upstreamOf(c, r, legs, legWindowMs) : undefined;
      if (leg && forwarded) continue; // it was forwarded: the hang is upstream, not at this hop
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
        const upReqs = byConn.get(leg.up.id) ?? [];
        where = `the relay at ${hop}: it forwarded ${label(prev)} to ${endpoint(leg.up.server)} on connection ${leg.up.id} but never forwarded ${label(r)}`;
        conIds.push(leg.up.id);
        reqIds.push(leg.upReq.id);
        evidence.push(ev(leg.upReq.packets.request[0], leg.upReq.times.requestStartTime, `the upstream leg, connection ${leg.up.id} to ${endpoint(leg.up.server)}, carried ${label(leg.upReq)} (with Connection: ${header(leg.upReq.requestHeaders, 'connection') ?? '(none)'}) and ${upReqs.length} request(s) in all`));
        if (leg.up.close.time !== null) evidence.push(ev(leg.up.close.packet, leg.up.close.time, `upstream connection ${leg.up.id} closed by the ${leg.up.close.by} after ${fmtMs(leg.up.close.time - (leg.upReq.times.responseEndTime ?? leg.upReq.times.requestStartTime))} idle (the origin's keep-alive timeout)`));
      }
      evidence.sort((a, b) => (a.time ?? Infinity) - (b.time ?? Infinity));
      evidence.push(...proxyEvidence(c, reqs, leg, byConn));
      findings.push({
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
      });
    }

    // (b): a keep-alive response that is close-delimited, with the connection left open.
    for (const r of reqs) {
      if (r.state !== 'complete' || selfDelimited(r) || r.times.responseEndTime === null) continue;
      if (!tokens(r.responseHeaders, 'connection').includes('keep-alive')) continue;
      const end = closeT ?? c.lastTime;
      const wait = end - r.times.responseEndTime;
      if (wait < hangMs) continue;
      findings.push({
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
          ...proxyEvidence(c, reqs, undefined, byConn),
        ],
        advice: ADVICE,
      });
    }
  }
  return findings;
}

export const blindRelay: DetectorDef = {
  name: 'blind-relay-hang',
  kinds: ['blind-relay-hang'],
  thresholds: THRESHOLDS,
  detect,
};
