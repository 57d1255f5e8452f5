/**
 * keepalive-policy: keep-alive behaviour that contradicts itself or the traffic (HTTP/1.x only).
 * Each finding has a `rule`:
 *
 *  - `server-stopped-keepalive`: on a connection where every earlier exchange persisted, a later
 *    response (n ≥ 2) says `Connection: close` while the client had asked the connection to
 *    persist. One finding per server, naming the connections and the request counts (often a
 *    per-connection request limit such as nginx `keepalive_requests`).
 *  - `client-dropped-keepalive`: HTTP/1.0 requests on a connection carried `Connection:
 *    keep-alive`, then an HTTP/1.0 one did not (RFC 9112 §9.3: the connection then ends after it).
 *  - `keepalive-timeout-contradicted`: the last response before an idle advertised `Keep-Alive:
 *    timeout=T`, and the server closed the idle connection more than a tolerance
 *    (max(`keepAliveToleranceMs`, 10 % of T)) before T (warning) or after it (info) — or served a
 *    request that came more than the tolerance after T (kept beyond, info).
 *  - `keepalive-max-contradicted`: the first response advertised `Keep-Alive: max=M`, and the
 *    server ended the connection right after fewer than M requests (not after an idle), or served
 *    more than M.
 *  - `stale-connection-race`: a request on a reused connection got no response, and the server's
 *    FIN/RST came before it or at most `staleRaceMs` (default 200 ms) after it: the client sent on
 *    a connection the server was closing. The retry (same method and target from the same client
 *    to the same origin within `retryWindowMs`, default 5 s) is reported, and whether it was
 *    safe: a non-idempotent method (POST …) retried is an error (RFC 9110 §9.2.2, RFC 9112 §9.3.1).
 *  - `idle-kept-long`: a connection stayed open idle after its last exchange for at least
 *    `idleLongMs` (default 60 s) and at least `idleRatio` (default 10) times as long as it was in
 *    use. One finding per client and origin.
 *  - `timeout-too-short`: a side closed an idle connection (idle ≥ `idleCloseMs`) and a new
 *    connection to the same origin followed within `reuseWindowMs` of the last response: that
 *    side's idle timeout is shorter than this traffic's gaps. Suggests a value: 1.5 × the largest
 *    observed gap, rounded up to whole seconds. Not reported where a stale race already is.
 *
 * Persistence (RFC 9112 §9.3) is read as the HTTP/1 session recorded it per exchange
 * (`keepAlive.clientPersistence`, `serverPersistence`, `reusableAfter`: decided once in
 * http1/keepalive.ts); the Connection and Keep-Alive headers are read only to quote them, and for
 * the advertised Keep-Alive timeout and max.
 *
 * Streaming (stream.ts): the per-connection rules as each connection completes (one with a stale
 * race waits until the watermark passes the race + `retryWindowMs`, so its retry has been seen);
 * per client and origin in order of opening, its connections kept while a retry or next-connection
 * lookup can still reach them (`retryWindowMs`, `reuseWindowMs`); the per-server and per-origin
 * summaries (server-stopped-keepalive, idle-kept-long, timeout-too-short) at the end.
 *
 * Where it can be wrong:
 *  - A response with `Connection: close` mid-connection can be an error path (4xx/5xx on a
 *    server that closes on errors) rather than a policy; the status is in the evidence.
 *  - Timeouts are measured at the capture point: from a client-side capture the server's idle is
 *    seen late by one one-way delay; tolerances absorb small differences only.
 *  - The stale race needs the retry to look identical (method and target); clients that change
 *    headers are still matched, but clients that retry elsewhere (another origin) are not.
 *  - `idle-kept-long` cannot tell a pool kept warm on purpose from a leak; it is informational.
 *  - A timeout "too short" for one client may be the right trade-off for a busy server.
 */
import type { Connection, Evidence, Finding, Request } from '../model/types.js';
import type { DetectorDef, DetectOptions } from './index.js';
import { defineDetector, type FindingSink, type StreamingDetector } from './stream.js';
import {
  capEvidence,
  clientPersistence,
  endpoint,
  ev,
  exchangeEnd,
  fmtMs,
  header,
  isHttp1,
  isIdempotent,
  label,
  maxOf,
  MinHeap,
  minOf,
  openTime,
  originKey,
  persistAsked,
  persisted,
  reusableAfter,
  serverPersistence,
  threshold,
} from './util.js';
import { parseKeepAlive } from '../http1/keepalive.js';
import { firstIndex } from '../util/search.js';

const THRESHOLDS = {
  staleRaceMs: { default: 200, unit: 'ms', description: 'an unanswered request this close before the server’s FIN/RST is a stale-connection race' },
  retryWindowMs: { default: 5000, unit: 'ms', description: 'a repeat of a failed request within this time is its retry' },
  keepAliveToleranceMs: { default: 250, unit: 'ms', description: 'slack when comparing behaviour with Keep-Alive: timeout (at least 10 % of the timeout)' },
  idleLongMs: { default: 60_000, unit: 'ms', description: 'trailing idle at least this long (and idleRatio × the time in use) is idle-kept-long' },
  idleRatio: { default: 10, unit: 'ratio', description: 'trailing idle / time in use for idle-kept-long' },
  reuseWindowMs: { default: 10_000, unit: 'ms', description: 'a new connection this soon after a closed one’s last response counts as a missed reuse' },
  idleCloseMs: { default: 500, unit: 'ms', description: 'a close after at least this much idle is an idle timeout, not an immediate close' },
} as const;

/**
 * The retry of raced request `r` (connection `c`): the first request with the same method and
 * target, within `windowMs` of it, on a connection to the same origin opened at or after it. Only
 * connections opened inside the window can hold it: a binary search over the origin's connections
 * (in order of opening) finds the first, so each race costs the window, not every connection.
 */
/** A connection of an origin with requests, kept while a retry or next-connection lookup may reach it. */
interface Member {
  c: Connection;
  /** Its first request (timeout-too-short reads it). */
  first: Request;
  /**
   * Retry candidates by `method target` (`retryKey`): of the requests started within retryWindowMs of
   * its opening, those started earlier than every one before them with the same key, in index order
   * — the first request `retryOf` would find for a key is always one of them (it takes the first in
   * index order started early enough). Requests on one connection start in index order, so this is
   * one per key: a connection carrying 100,000 requests to 3 URLs keeps 3, not 100,000.
   */
  byKey: Map<string, Request[]>;
  origin: Origin;
}

const retryKey = (r: Pick<Request, 'method' | 'target'>): string => `${r.method} ${r.target}`;

/** A Member's retry candidates from `reqs[0..n)` (see `Member.byKey`). */
function retryCandidates(reqs: readonly Request[], n: number): Map<string, Request[]> {
  const byKey = new Map<string, Request[]>();
  for (let i = 0; i < n; i++) {
    const r = reqs[i];
    const k = retryKey(r);
    const l = byKey.get(k);
    if (!l) byKey.set(k, [r]);
    else if (r.times.requestStartTime < l[l.length - 1].times.requestStartTime) l.push(r);
  }
  return byKey;
}

/** Per client and origin (`originKey`): what the per-origin rules need, bounded by their windows. */
interface Origin {
  /** Smallest connection id: origins are reported in order of their first connection. */
  minId: number;
  server: string;
  /** In order of opening, from `head` on (older ones dropped as the lookups pass them). */
  members: Member[];
  head: number;
  long: { c: Connection; idle: number; used: number; end: number }[];
  tooShort: { seq: number; side: string; c: Connection; next: { c: Connection; first: Request }; idle: number; gap: number }[];
}

/** A lookup waiting for the watermark to pass `deadline`; `from`: the earliest open time it reads. */
interface Pending {
  deadline: number;
  from: number;
  done: boolean;
  run(): void;
}

/**
 * The retry of raced request `r` (connection `c`): the first request with the same method and
 * target, within `windowMs` of it, on a connection to the same origin opened at or after it. Only
 * connections opened inside the window can hold it: a binary search over the origin's connections
 * (in order of opening) finds the first, so each race costs the window, not every connection.
 */
function retryOf(r: Request, c: Connection, o: Origin, windowMs: number): Request | undefined {
  const t0 = r.times.requestStartTime;
  const m = o.members;
  for (let i = firstIndex(o.head, m.length, (k) => openTime(m[k].c) >= t0); i < m.length && openTime(m[i].c) - t0 <= windowMs; i++) {
    if (m[i].c.id === c.id) continue;
    const retry = m[i].byKey.get(retryKey(r))?.find((x) => x.times.requestStartTime - t0 <= windowMs);
    if (retry) return retry;
  }
  return undefined;
}

function suggestS(gapMs: number): number {
  return Math.max(1, Math.ceil((gapMs * 1.5) / 1000));
}

/**
 * Per connection as it completes (the per-connection rules; a connection with a stale race waits
 * until the watermark passes the race + `retryWindowMs`, so its retry has been seen); per origin in
 * order of opening (idle-kept-long, timeout-too-short: each waits for the watermark to pass its
 * last response + `reuseWindowMs`); per server and per origin the summaries at the end. An origin
 * keeps its connections with requests opened after the watermark or after a waiting lookup's start.
 */
function stream(opts: DetectOptions, emit: FindingSink): StreamingDetector {
  const th = opts.thresholds;
  const staleRaceMs = threshold(th, 'staleRaceMs', THRESHOLDS.staleRaceMs.default);
  const retryWindowMs = threshold(th, 'retryWindowMs', THRESHOLDS.retryWindowMs.default);
  const tolMs = threshold(th, 'keepAliveToleranceMs', THRESHOLDS.keepAliveToleranceMs.default);
  const idleLongMs = threshold(th, 'idleLongMs', THRESHOLDS.idleLongMs.default);
  const idleRatio = threshold(th, 'idleRatio', THRESHOLDS.idleRatio.default);
  const reuseWindowMs = threshold(th, 'reuseWindowMs', THRESHOLDS.reuseWindowMs.default);
  const idleCloseMs = threshold(th, 'idleCloseMs', THRESHOLDS.idleCloseMs.default);
  const stopped = new Map<string, { c: { id: number }; r: Request }[]>();
  const origins = new Map<string, Origin>();
  /** Connections with a stale race, until their origin sees them in order (timeout-too-short skips them). */
  const raced = new Set<number>();
  const byDeadline = new MinHeap<Pending>((p) => p.deadline);
  const byFrom = new MinHeap<Pending>((p) => p.from);
  /** Every kept member, in order of opening across origins: the oldest are dropped from the front. */
  const kept: Member[] = [];
  let keptHead = 0;
  let seq = 0;
  let watermark = -Infinity;

  const originOf = (c: Connection): Origin => {
    const k = originKey(c);
    let o = origins.get(k);
    if (!o) origins.set(k, (o = { minId: c.id, server: endpoint(c.server), members: [], head: 0, long: [], tooShort: [] }));
    return o;
  };

  function wait(p: Pending): void {
    if (p.deadline < watermark) return p.run();
    byDeadline.push(p);
    byFrom.push(p);
  }

  function advance(t: number): void {
    watermark = Math.max(watermark, t);
    while (byDeadline.size && byDeadline.key(byDeadline.peek()!) < watermark) {
      const p = byDeadline.pop()!;
      p.done = true;
      p.run();
    }
    while (byFrom.size && byFrom.peek()!.done) byFrom.pop();
    const bound = Math.min(watermark, byFrom.size ? byFrom.peek()!.from : Infinity);
    while (keptHead < kept.length && openTime(kept[keptHead].c) < bound) {
      const o = kept[keptHead++].origin;
      o.head++;
      if (o.head === o.members.length) {
        o.members = [];
        o.head = 0;
      } else if (o.head > 64 && o.head * 2 > o.members.length) {
        o.members.splice(0, o.head);
        o.head = 0;
      }
    }
    if (keptHead > 1024 && keptHead * 2 > kept.length) {
      kept.splice(0, keptHead);
      keptHead = 0;
    }
  }

  return {
    onConnection(c, reqs) {
      if (!isHttp1(c)) return;
      // server-stopped-keepalive: `keptSoFar`, every exchange before k persisted (a running prefix);
      // r: the client asked to persist and the server answered Connection: close (RFC 9112 §9.3,
      // as the session recorded it).
      for (let k = 1, keptSoFar = reqs.length > 0 && persisted(c, reqs[0]); k < reqs.length && keptSoFar; k++) {
        const r = reqs[k];
        if (r.state !== 'complete' || serverPersistence(c, r) !== 'close' || !persistAsked(c, r)) {
          keptSoFar = persisted(c, r);
          continue;
        }
        const key = endpoint(c.server);
        const l = stopped.get(key);
        if (l) l.push({ c: { id: c.id }, r });
        else stopped.set(key, [{ c: { id: c.id }, r }]);
        break;
      }
      const out: Finding[] = [];
      perConnection(c, reqs, tolMs, idleCloseMs, out);
      // stale-connection-race
      const races: { r: Request; prev: Request | undefined }[] = [];
      for (let k = 0; k < reqs.length; k++) {
        const r = reqs[k];
        if (r.index < 2 || r.state === 'complete' || r.times.responseStartTime !== null) continue;
        if (c.close.by !== 'server' || c.close.time === null) continue;
        if (c.close.time > r.times.requestStartTime + staleRaceMs) continue;
        // reqs is in index order: the exchange before r, if the capture has it, is the one before.
        races.push({ r, prev: k > 0 && reqs[k - 1].index === r.index - 1 ? reqs[k - 1] : undefined });
      }
      if (!races.length) {
        for (const f of out) emit(f);
        return;
      }
      raced.add(c.id);
      const closed = c as Connection & { close: { time: number } };
      const o = originOf(c);
      wait({
        deadline: maxOf(races, (x) => x.r.times.requestStartTime) + retryWindowMs,
        from: minOf(races, (x) => x.r.times.requestStartTime),
        done: false,
        run() {
          for (const f of out) emit(f);
          for (const { r, prev } of races) emit(raceFinding(closed, r, prev, retryOf(r, c, o, retryWindowMs)));
        },
      });
    },

    onOrdered(c, reqs) {
      if (!isHttp1(c)) return;
      const o = originOf(c);
      o.minId = Math.min(o.minId, c.id);
      const wasRaced = raced.delete(c.id);
      if (reqs.length) {
        // A member is read for its first request (timeout-too-short) and for retries, which start
        // within retryWindowMs of a race its connection opened after: only the requests started
        // within retryWindowMs of its opening can be one (a connection open for the whole capture
        // would otherwise keep every request it carried).
        const until = openTime(c) + retryWindowMs;
        let n = 1;
        while (n < reqs.length && reqs[n].times.requestStartTime <= until) n++;
        const m: Member = { c, first: reqs[0], byKey: retryCandidates(reqs, n), origin: o };
        o.members.push(m);
        kept.push(m);
      }
      // idle-kept-long
      if (reqs.length && !reqs.some((r) => r.state !== 'complete')) {
        // (a hang is not idling)
        const endUse = maxOf(reqs, exchangeEnd);
        const used = Math.max(1, endUse - reqs[0].times.requestStartTime);
        const end = c.close.time ?? c.lastTime;
        const idle = end - endUse;
        if (idle >= idleLongMs && idle >= idleRatio * used) o.long.push({ c, idle, used, end });
      }
      // timeout-too-short: the first connection with a request opened at or after the close, once
      // every connection opened within the reuse window of the last response has been seen.
      if (wasRaced || c.close.time === null || c.close.how === 'rst') return;
      const last = reqs.at(-1);
      if (!last || last.state !== 'complete' || !reusableAfter(c, last)) return;
      const closeTime = c.close.time;
      const idle = closeTime - exchangeEnd(last);
      if (idle < idleCloseMs) return;
      const n = seq++;
      wait({
        deadline: exchangeEnd(last) + reuseWindowMs,
        from: closeTime,
        done: false,
        run() {
          const m = o.members;
          let next: Member | undefined;
          for (let i = firstIndex(o.head, m.length, (k) => openTime(m[k].c) >= closeTime); i < m.length && openTime(m[i].c) - exchangeEnd(last) <= reuseWindowMs; i++) {
            if (m[i].c.id !== c.id) {
              next = m[i];
              break;
            }
          }
          if (!next) return;
          const gap = next.first.times.requestStartTime - exchangeEnd(last);
          if (gap > reuseWindowMs) return;
          o.tooShort.push({ seq: n, side: c.close.by ?? 'server', c, next: { c: next.c, first: next.first }, idle, gap });
        },
      });
    },

    onWatermark: advance,

    held() {
      let n = byDeadline.size;
      for (const o of origins.values()) for (let i = o.head; i < o.members.length; i++) for (const l of o.members[i].byKey.values()) n += l.length;
      return n;
    },

    finish() {
      advance(Infinity);
      // Per server, in order of its first connection (by id), as a pass over the report would.
      const servers = [...stopped].map(([server, items]) => [server, items.sort((a, b) => a.c.id - b.c.id)] as const);
      servers.sort((a, b) => a[1][0].c.id - b[1][0].c.id);
      for (const [server, items] of servers) emit(stoppedFinding(server, items));
      for (const o of [...origins.values()].sort((a, b) => a.minId - b.minId)) {
        for (const f of originFindings(o)) emit(f);
      }
      stopped.clear();
      origins.clear();
    },
  };
}

/** idle-kept-long and timeout-too-short of one client and origin. */
function originFindings(o: Origin): Finding[] {
  const findings: Finding[] = [];
  const origin = o.server;
  const long = o.long;
  if (long.length) {
    findings.push({
      kind: 'keepalive-policy',
      rule: 'idle-kept-long',
      layer: 'http1',
      severity: 'info',
      summary: `${long.length} connection(s) to ${origin} stayed open idle for up to ${fmtMs(maxOf(long, (l) => l.idle))} after being used for ${fmtMs(maxOf(long, (l) => l.used))}`,
      connectionIds: long.map((l) => l.c.id),
      requestIds: [],
      timeRange: [minOf(long, (l) => l.end - l.idle), maxOf(long, (l) => l.end)],
      evidence: capEvidence(long.map((l) => ev(l.c.close.packet, l.end, `connection ${l.c.id}: ${fmtMs(l.used)} in use, then ${fmtMs(l.idle)} idle until ${l.c.close.time === null ? 'capture end' : `the ${l.c.close.by}'s ${l.c.close.how.toUpperCase()}`}`))),
      advice: 'Idle connections hold sockets and memory on both ends (and on every middlebox). If they are rarely reused, shorten the idle timeout of the side that keeps them; if they are a warm pool on purpose, ignore this.',
    });
  }

  const tooShort = new Map<string, Origin['tooShort']>();
  for (const i of o.tooShort.sort((a, b) => a.seq - b.seq)) {
    const l = tooShort.get(i.side);
    if (l) l.push(i);
    else tooShort.set(i.side, [i]);
  }
  for (const [side, items] of tooShort) {
    const maxGap = maxOf(items, (i) => i.gap);
    const idle = maxOf(items, (i) => i.idle);
    const s = suggestS(maxGap);
    findings.push({
      kind: 'keepalive-policy',
      rule: 'timeout-too-short',
      layer: 'http1',
      severity: 'info',
      summary: `the ${side} closed idle connections to ${origin} after ~${fmtMs(idle)}, just before the client's next request (${fmtMs(maxGap)} after the previous response): its idle timeout is too short for this traffic`,
      connectionIds: [...new Set(items.flatMap((i) => [i.c.id, i.next.c.id]))].sort((a, b) => a - b),
      requestIds: items.map((i) => i.next.first.id),
      timeRange: [minOf(items, (i) => i.c.close.time! - i.idle), maxOf(items, (i) => openTime(i.next.c))],
      evidence: capEvidence(items.flatMap((i) => [
        ev(i.c.close.packet, i.c.close.time, `connection ${i.c.id} closed by the ${side} after ${fmtMs(i.idle)} idle`),
        ev(i.next.c.firstPacket, openTime(i.next.c), `new connection ${i.next.c.id} for the next request, ${fmtMs(i.gap)} after the previous response`),
      ])),
      advice: side === 'server'
        ? `Set the server's keep-alive idle timeout to at least ~${s} s (1.5 × the largest observed gap; e.g. nginx \`keepalive_timeout ${s}s\`), or accept the reconnects if sockets are scarce.`
        : `Keep the client's idle pooled connections for at least ~${s} s (1.5 × the largest observed gap), but below the server's keep-alive timeout.`,
    });
  }
  return findings;
}

/** The server-stopped-keepalive finding of one server. */
function stoppedFinding(server: string, items: { c: { id: number }; r: Request }[]): Finding {
  const counts = [...new Set(items.map((i) => i.r.index))].sort((a, b) => a - b);
  const statuses = [...new Set(items.map((i) => i.r.status))];
  return {
    kind: 'keepalive-policy',
    rule: 'server-stopped-keepalive',
    layer: 'http1',
    severity: 'info',
    summary: `the server ${server} switched to Connection: close after ${counts.join('/')} request(s) on ${items.length} connection(s) that it had kept alive until then${counts.length === 1 && items.length > 1 ? ' (a per-connection request limit)' : ''}`,
    connectionIds: items.map((i) => i.c.id),
    requestIds: items.map((i) => i.r.id),
    timeRange: [minOf(items, (i) => i.r.times.requestStartTime), maxOf(items, (i) => exchangeEnd(i.r))],
    evidence: capEvidence(items.map((i) =>
      ev(i.r.packets.response?.[0] ?? null, i.r.times.responseStartTime, `connection ${i.c.id}, response ${i.r.index} (${i.r.status}) to ${label(i.r)}: Connection: close after ${i.r.index - 1} kept-alive response(s)`),
    )),
    advice: `${statuses.every((s) => s !== null && s < 400) ? 'The responses were successful, so this is a policy: ' : 'Some of these were error responses (servers often close after errors); otherwise '}a per-connection request limit (nginx \`keepalive_requests\`, Apache \`MaxKeepAliveRequests\`) or a recycling proxy. Raise it if clients reconnect often; advertise it with Keep-Alive: max so clients can plan.`,
  };
}

/** client-dropped-keepalive, keepalive-timeout-contradicted and keepalive-max-contradicted on one connection. */
function perConnection(c: Connection, reqs: readonly Request[], tolMs: number, idleCloseMs: number, out: Finding[]): void {
  // client-dropped-keepalive: an HTTP/1.0 request without keep-alive (RFC 9112 §9.3 'http/1.0', as
  // the session recorded it), only while every earlier request was HTTP/1.0 asking keep-alive (a
  // running prefix, so this stays linear).
  const askedKeepAlive = (p: Request) => clientPersistence(c, p) === 'keep-alive';
  for (let k = 1, askedSoFar = reqs.length > 0 && askedKeepAlive(reqs[0]); k < reqs.length && askedSoFar; k++) {
    const r = reqs[k];
    const basis = clientPersistence(c, r);
    if (basis !== 'http/1.0') {
      askedSoFar = basis === 'keep-alive';
      continue;
    }
    out.push({
      kind: 'keepalive-policy',
      rule: 'client-dropped-keepalive',
      layer: 'http1',
      severity: 'info',
      summary: `the client stopped sending Connection: keep-alive on HTTP/1.0 request ${r.index} of connection ${c.id} (${label(r)}), so the connection ended after it`,
      connectionIds: [c.id],
      requestIds: [r.id],
      timeRange: [r.times.requestStartTime, c.close.time ?? exchangeEnd(r)],
      evidence: [
        ev(reqs[k - 1].packets.request[0], reqs[k - 1].times.requestStartTime, `${label(reqs[k - 1])}: ${reqs[k - 1].httpVersion} with Connection: ${header(reqs[k - 1].requestHeaders, 'connection')}`),
        ev(r.packets.request[0], r.times.requestStartTime, `${label(r)}: HTTP/1.0 without Connection: keep-alive`),
        ev(c.close.packet, c.close.time, c.close.time === null ? 'still open at capture end' : `closed by the ${c.close.by}`),
      ],
      advice: 'Send Connection: keep-alive on every HTTP/1.0 request that should keep the connection, or use HTTP/1.1.',
    });
    break;
  }

  // keepalive-timeout-contradicted / keepalive-max-contradicted
  const done = reqs.filter((r) => r.state === 'complete');
  const kaOf = (r: Request) => {
    const v = header(r.responseHeaders, 'keep-alive');
    return v ? parseKeepAlive(v) : {};
  };
  const last = done.at(-1);
  const idleUntilClose = last && c.close.time !== null && !reqs.some((r) => r.times.requestStartTime > exchangeEnd(last) && r.times.requestStartTime < c.close.time!);
  if (last && idleUntilClose && c.close.by === 'server' && persisted(c, last)) {
    const t = kaOf(last).timeoutS;
    const idle = c.close.time! - exchangeEnd(last);
    const tol = t !== undefined ? Math.max(tolMs, t * 100) : 0;
    if (t !== undefined && idle >= idleCloseMs && (idle < t * 1000 - tol || idle > t * 1000 + tol)) {
      const early = idle < t * 1000;
      out.push({
        kind: 'keepalive-policy',
        rule: 'keepalive-timeout-contradicted',
        layer: 'http1',
        severity: early ? 'warning' : 'info',
        summary: `connection ${c.id}: the server advertised Keep-Alive: timeout=${t} but closed the idle connection after ${fmtMs(idle)}${early ? '' : ' (later than advertised)'}`,
        connectionIds: [c.id],
        requestIds: [last.id],
        timeRange: [exchangeEnd(last), c.close.time!],
        evidence: [
          ev(last.packets.response?.[0] ?? null, last.times.responseStartTime, `Keep-Alive: ${header(last.responseHeaders, 'keep-alive')}`),
          ev(c.close.packet, c.close.time, `server ${c.close.how.toUpperCase()} after ${fmtMs(idle)} idle`),
        ],
        advice: early
          ? 'Clients trust the advertised timeout to decide when a pooled connection is still safe to reuse; advertise the real one (or a smaller value) to avoid stale-connection races.'
          : 'The server keeps idle connections longer than it says; clients that honour the advertised value close early and reconnect, clients that ignore it race the real close. Advertise the real timeout.',
      });
    }
  }
  for (let k = 1; k < done.length; k++) {
    const prev = done[k - 1];
    const t = kaOf(prev).timeoutS;
    if (t === undefined || !persisted(c, prev)) continue;
    const gap = done[k].times.requestStartTime - exchangeEnd(prev);
    const tol = Math.max(tolMs, t * 100);
    if (gap > t * 1000 + tol) {
      out.push({
        kind: 'keepalive-policy',
        rule: 'keepalive-timeout-contradicted',
        layer: 'http1',
        severity: 'info',
        summary: `connection ${c.id}: the server advertised Keep-Alive: timeout=${t} but kept the connection ${fmtMs(gap)} idle and served ${label(done[k])}`,
        connectionIds: [c.id],
        requestIds: [prev.id, done[k].id],
        timeRange: [exchangeEnd(prev), done[k].times.requestStartTime],
        evidence: [
          ev(prev.packets.response?.[0] ?? null, prev.times.responseStartTime, `Keep-Alive: ${header(prev.responseHeaders, 'keep-alive')}`),
          ev(done[k].packets.request[0], done[k].times.requestStartTime, `${label(done[k])} after ${fmtMs(gap)} idle, answered ${done[k].status}`),
        ],
        advice: 'The client reused a connection past the advertised timeout and it worked this time; a client that honours the advertised value would have reconnected, and one that ignores it risks a stale-connection race.',
      });
      break;
    }
  }
  const first = done[0];
  const max = first ? kaOf(first).max : undefined;
  if (max !== undefined && last) {
    const n = reqs.length;
    const closedRightAfter = c.close.by === 'server' && c.close.time !== null && c.close.time - exchangeEnd(last) < idleCloseMs;
    if ((closedRightAfter && n < max && done.length === n) || n > max) {
      out.push({
        kind: 'keepalive-policy',
        rule: 'keepalive-max-contradicted',
        layer: 'http1',
        severity: n > max ? 'info' : 'warning',
        summary: `connection ${c.id}: the server advertised Keep-Alive: max=${max} but ${n > max ? `served ${n} requests` : `closed after ${n}`}`,
        connectionIds: [c.id],
        requestIds: [first.id, last.id],
        timeRange: [first.times.requestStartTime, c.close.time ?? exchangeEnd(last)],
        evidence: [
          ev(first.packets.response?.[0] ?? null, first.times.responseStartTime, `Keep-Alive: ${header(first.responseHeaders, 'keep-alive')}`),
          ev(c.close.packet, c.close.time, `${n} request(s), then ${c.close.time === null ? 'open at capture end' : `closed by the ${c.close.by}`}`),
        ],
        advice: 'Advertise the limit the server really applies; clients plan reuse around it.',
      });
    }
  }
}

/** The stale-connection-race finding of request `r` (unanswered, at index ≥ 2) on connection `c`. */
function raceFinding(c: Connection & { close: { time: number } }, r: Request, prev: Request | undefined, retry: Request | undefined): Finding {
  const gap = prev ? r.times.requestStartTime - exchangeEnd(prev) : null;
  const overlapped = gap !== null && gap < 0;
  const safe = isIdempotent(r.method);
  const before = c.close.time <= r.times.requestStartTime;
  const evidence: Evidence[] = [];
  if (prev && gap !== null && overlapped)
    evidence.push(ev(prev.packets.response?.[1] ?? null, exchangeEnd(prev), `${label(r)} was sent while response ${prev.index} on connection ${c.id} was still arriving (it ended ${fmtMs(-gap)} later)`));
  else if (prev && gap !== null) evidence.push(ev(prev.packets.response?.[1] ?? null, exchangeEnd(prev), `previous response on connection ${c.id} ended; the connection then sat idle ${fmtMs(gap)}`));
  const closeEv = ev(c.close.packet, c.close.time, `server ${c.close.how.toUpperCase()} on connection ${c.id}`);
  const reqEv = ev(r.packets.request[0], r.times.requestStartTime, `${label(r)} sent on connection ${c.id}${before ? ` ${fmtMs(r.times.requestStartTime - c.close.time)} after the server's ${c.close.how.toUpperCase()}` : ''}; no response (${r.state})`);
  const ordered = before ? [closeEv, reqEv] : [reqEv, closeEv];
  // In time order: when the request went out before the previous response ended, it comes first.
  if (overlapped) evidence.unshift(...ordered.filter((e) => e === reqEv));
  evidence.push(...ordered.filter((e) => !(overlapped && e === reqEv)));
  if (retry) evidence.push(ev(retry.packets.request[0], retry.times.requestStartTime, `retried on new connection ${retry.connectionId}: ${label(retry)} → ${retry.status ?? 'no response'}`));
  const ka = prev ? header(prev.responseHeaders, 'keep-alive') : undefined;
  return {
    kind: 'keepalive-policy',
    rule: 'stale-connection-race',
    layer: 'http1',
    severity: retry && !safe ? 'error' : 'warning',
    summary: `${label(r)} was sent on connection ${c.id} ${
      gap === null ? 'as the server was closing it' : overlapped ? `${fmtMs(-gap)} before response ${prev!.index} had ended, as the server was closing it (no idle time)` : `as the server was closing it after ${fmtMs(gap)} idle`
    }; ${retry ? `retried on connection ${retry.connectionId} (${safe ? 'idempotent, safe to retry' : `${r.method} is not idempotent: retrying it is unsafe`})` : 'no retry in the capture'}`,
    connectionIds: retry ? [c.id, retry.connectionId] : [c.id],
    requestIds: retry ? [r.id, retry.id] : [r.id],
    timeRange: [Math.min(r.times.requestStartTime, c.close.time), retry ? exchangeEnd(retry) : r.times.requestStartTime],
    costMs: retry ? retry.times.requestStartTime - r.times.requestStartTime : undefined,
    evidence,
    advice: overlapped
      ? `The server closed the connection with this request in flight after ${r.index - 1} answered request(s), not after an idle period: a per-connection request limit (nginx \`keepalive_requests\`, Apache \`MaxKeepAliveRequests\`${ka ? `; it advertised Keep-Alive: ${ka}` : ''}), a restart or a recycling proxy. A server should say Connection: close on the last response it will serve (RFC 9112 §9.6); a client should not send more on a connection whose close it has been told of, and should retry only idempotent requests automatically.`
      : `The client's pool reused a connection at the moment the server's idle timeout closed it${ka ? ` (it advertised Keep-Alive: ${ka})` : ''}. Make the client's idle timeout clearly shorter than the server's (undici and many pools subtract a margin from the advertised Keep-Alive timeout; or raise the server's keepalive_timeout above the client's), and retry only idempotent requests automatically.`,
  };
}

export const keepAlivePolicy: DetectorDef = defineDetector({
  name: 'keepalive-policy',
  kinds: ['keepalive-policy'],
  thresholds: THRESHOLDS,
  reads: { requestHeaders: ['connection'], responseHeaders: ['connection', 'keep-alive'] },
  stream,
});
