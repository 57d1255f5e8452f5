/**
 * keepalive-policy: keep-alive behaviour that contradicts itself or the traffic (HTTP/1.x only).
 * Each finding has a `rule`:
 *
 *  - `server-stopped-keepalive`: on a connection where earlier responses allowed persistence, a
 *    later response (n ≥ 2) says `Connection: close` (or is HTTP/1.0 without keep-alive) while the
 *    client had not asked to close. One finding per server, naming the connections and the
 *    request counts (often a per-connection request limit such as nginx `keepalive_requests`).
 *  - `client-dropped-keepalive`: HTTP/1.0 requests on a connection carried `Connection:
 *    keep-alive`, then one did not (RFC 9112 §9.3: the connection then ends after it).
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
import type { Connection, Evidence, Finding, Report, Request } from '../model/types.js';
import type { DetectorDef, DetectOptions } from './index.js';
import {
  capEvidence,
  endpoint,
  ev,
  exchangeEnd,
  fmtMs,
  groupByOrigin,
  header,
  isHttp1,
  isIdempotent,
  label,
  maxOf,
  minOf,
  openTime,
  originKey,
  requestsByConnection,
  threshold,
  tokens,
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

function persists(r: Request): boolean {
  const q = tokens(r.requestHeaders, 'connection');
  const s = tokens(r.responseHeaders, 'connection');
  if (q.includes('close') || s.includes('close')) return false;
  const c11 = r.httpVersion !== 'HTTP/1.0' && r.httpVersion !== 'HTTP/0.9';
  return c11 || q.includes('keep-alive');
}

/** The client asked for persistence: HTTP/1.1 without close, or HTTP/1.0 with keep-alive. */
function persistsAsked(r: Request): boolean {
  const q = tokens(r.requestHeaders, 'connection');
  if (q.includes('close')) return false;
  return (r.httpVersion !== 'HTTP/1.0' && r.httpVersion !== 'HTTP/0.9') || q.includes('keep-alive');
}

function serverRefused(r: Request): boolean {
  return tokens(r.responseHeaders, 'connection').includes('close') && !tokens(r.requestHeaders, 'connection').includes('close');
}

/**
 * The retry of raced request `r` (connection `c`): the first request with the same method and
 * target, within `windowMs` of it, on a connection to the same origin opened at or after it. Only
 * connections opened inside the window can hold it: a binary search over the origin's connections
 * (in order of opening) finds the first, so each race costs the window, not every connection.
 */
function retryOf(r: Request, c: Connection, group: Connection[], byConn: Map<number, Request[]>, windowMs: number): Request | undefined {
  const t0 = r.times.requestStartTime;
  for (let i = firstIndex(0, group.length, (k) => openTime(group[k]) >= t0); i < group.length && openTime(group[i]) - t0 <= windowMs; i++) {
    const n = group[i];
    if (n === c) continue;
    const retry = (byConn.get(n.id) ?? []).find((x) => x.method === r.method && x.target === r.target && x.times.requestStartTime - t0 <= windowMs);
    if (retry) return retry;
  }
  return undefined;
}

function suggestS(gapMs: number): number {
  return Math.max(1, Math.ceil((gapMs * 1.5) / 1000));
}

function detect(report: Report, opts: DetectOptions): Finding[] {
  const th = opts.thresholds;
  const staleRaceMs = threshold(th, 'staleRaceMs', THRESHOLDS.staleRaceMs.default);
  const retryWindowMs = threshold(th, 'retryWindowMs', THRESHOLDS.retryWindowMs.default);
  const tolMs = threshold(th, 'keepAliveToleranceMs', THRESHOLDS.keepAliveToleranceMs.default);
  const idleLongMs = threshold(th, 'idleLongMs', THRESHOLDS.idleLongMs.default);
  const idleRatio = threshold(th, 'idleRatio', THRESHOLDS.idleRatio.default);
  const reuseWindowMs = threshold(th, 'reuseWindowMs', THRESHOLDS.reuseWindowMs.default);
  const idleCloseMs = threshold(th, 'idleCloseMs', THRESHOLDS.idleCloseMs.default);
  const conns = report.connections.filter(isHttp1);
  const byConn = requestsByConnection(report);
  const findings: Finding[] = [];
  const raced = new Set<number>();
  const origins = groupByOrigin(conns); // each in order of opening

  // server-stopped-keepalive, grouped per server.
  const stopped = new Map<string, { c: Connection; r: Request }[]>();
  for (const c of conns) {
    const reqs = byConn.get(c.id) ?? [];
    // `keptSoFar`: every response before k persisted (a running prefix, so this stays linear).
    for (let k = 1, keptSoFar = reqs.length > 0 && persists(reqs[0]); k < reqs.length && keptSoFar; k++) {
      const r = reqs[k];
      if (r.state !== 'complete' || !serverRefused(r) || !persistsAsked(r)) {
        keptSoFar = persists(r);
        continue;
      }
      const key = endpoint(c.server);
      const l = stopped.get(key);
      if (l) l.push({ c, r });
      else stopped.set(key, [{ c, r }]);
      break;
    }
  }
  for (const [server, items] of stopped) {
    const counts = [...new Set(items.map((i) => i.r.index))].sort((a, b) => a - b);
    const statuses = [...new Set(items.map((i) => i.r.status))];
    findings.push({
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
    });
  }

  for (const c of conns) {
    const reqs = byConn.get(c.id) ?? [];
    // client-dropped-keepalive
    const askedKeepAlive = (p: Request) => tokens(p.requestHeaders, 'connection').includes('keep-alive');
    // Only while every earlier request asked for keep-alive (a running prefix, so this stays linear).
    for (let k = 1, askedSoFar = reqs.length > 0 && askedKeepAlive(reqs[0]); k < reqs.length && askedSoFar; k++) {
      const r = reqs[k];
      if (r.httpVersion !== 'HTTP/1.0' || askedKeepAlive(r)) {
        askedSoFar = askedKeepAlive(r);
        continue;
      }
      findings.push({
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
    if (last && idleUntilClose && c.close.by === 'server' && persists(last)) {
      const t = kaOf(last).timeoutS;
      const idle = c.close.time! - exchangeEnd(last);
      const tol = t !== undefined ? Math.max(tolMs, t * 100) : 0;
      if (t !== undefined && idle >= idleCloseMs && (idle < t * 1000 - tol || idle > t * 1000 + tol)) {
        const early = idle < t * 1000;
        findings.push({
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
      if (t === undefined || !persists(prev)) continue;
      const gap = done[k].times.requestStartTime - exchangeEnd(prev);
      const tol = Math.max(tolMs, t * 100);
      if (gap > t * 1000 + tol) {
        findings.push({
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
        findings.push({
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

    // stale-connection-race
    for (let k = 0; k < reqs.length; k++) {
      const r = reqs[k];
      if (r.index < 2 || r.state === 'complete' || r.times.responseStartTime !== null) continue;
      if (c.close.by !== 'server' || c.close.time === null) continue;
      if (c.close.time > r.times.requestStartTime + staleRaceMs) continue;
      raced.add(c.id);
      // reqs is in index order: the exchange before r, if the capture has it, is the one before.
      const prev = k > 0 && reqs[k - 1].index === r.index - 1 ? reqs[k - 1] : undefined;
      const idle = prev ? r.times.requestStartTime - exchangeEnd(prev) : 0;
      const retry = retryOf(r, c, origins.get(originKey(c))!, byConn, retryWindowMs);
      const safe = isIdempotent(r.method);
      const before = c.close.time <= r.times.requestStartTime;
      const evidence: Evidence[] = [];
      if (prev) evidence.push(ev(prev.packets.response?.[1] ?? null, exchangeEnd(prev), `previous response on connection ${c.id} ended; the connection then sat idle ${fmtMs(idle)}`));
      const closeEv = ev(c.close.packet, c.close.time, `server ${c.close.how.toUpperCase()} on connection ${c.id}`);
      const reqEv = ev(r.packets.request[0], r.times.requestStartTime, `${label(r)} sent on connection ${c.id}${before ? ` ${fmtMs(r.times.requestStartTime - c.close.time)} after the server's ${c.close.how.toUpperCase()}` : ''}; no response (${r.state})`);
      evidence.push(...(before ? [closeEv, reqEv] : [reqEv, closeEv]));
      if (retry) evidence.push(ev(retry.packets.request[0], retry.times.requestStartTime, `retried on new connection ${retry.connectionId}: ${label(retry)} → ${retry.status ?? 'no response'}`));
      const ka = prev ? header(prev.responseHeaders, 'keep-alive') : undefined;
      findings.push({
        kind: 'keepalive-policy',
        rule: 'stale-connection-race',
        layer: 'http1',
        severity: retry && !safe ? 'error' : 'warning',
        summary: `${label(r)} was sent on connection ${c.id} as the server was closing it after ${fmtMs(idle)} idle; ${retry ? `retried on connection ${retry.connectionId} (${safe ? 'idempotent, safe to retry' : `${r.method} is not idempotent: retrying it is unsafe`})` : 'no retry in the capture'}`,
        connectionIds: retry ? [c.id, retry.connectionId] : [c.id],
        requestIds: retry ? [r.id, retry.id] : [r.id],
        timeRange: [Math.min(r.times.requestStartTime, c.close.time), retry ? exchangeEnd(retry) : r.times.requestStartTime],
        costMs: retry ? retry.times.requestStartTime - r.times.requestStartTime : undefined,
        evidence,
        advice: `The client's pool reused a connection at the moment the server's idle timeout closed it${ka ? ` (it advertised Keep-Alive: ${ka})` : ''}. Make the client's idle timeout clearly shorter than the server's (undici and many pools subtract a margin from the advertised Keep-Alive timeout; or raise the server's keepalive_timeout above the client's), and retry only idempotent requests automatically.`,
      });
    }
  }

  // idle-kept-long and timeout-too-short, per client and origin.
  for (const group of origins.values()) {
    const origin = endpoint(group[0].server);
    const long: { c: Connection; idle: number; used: number; end: number }[] = [];
    for (const c of group) {
      const reqs = byConn.get(c.id) ?? [];
      if (!reqs.length || reqs.some((r) => r.state !== 'complete')) continue; // a hang is not idling
      const endUse = maxOf(reqs, exchangeEnd);
      const used = Math.max(1, endUse - reqs[0].times.requestStartTime);
      const end = c.close.time ?? c.lastTime;
      const idle = end - endUse;
      if (idle >= idleLongMs && idle >= idleRatio * used) long.push({ c, idle, used, end });
    }
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

    const tooShort = new Map<string, { c: Connection; next: Connection; idle: number; gap: number }[]>();
    for (const c of group) {
      if (raced.has(c.id) || c.close.time === null || c.close.how === 'rst') continue;
      const reqs = byConn.get(c.id) ?? [];
      const last = reqs.at(-1);
      if (!last || last.state !== 'complete' || !persists(last) || !(c.keepAlive?.reusableAfter[last.index - 1] ?? false)) continue;
      const idle = c.close.time - exchangeEnd(last);
      if (idle < idleCloseMs) continue;
      // the first connection opened at or after the close that carried a request (binary search)
      const closeTime = c.close.time;
      const lo = firstIndex(0, group.length, (k) => openTime(group[k]) >= closeTime);
      let next: Connection | undefined;
      for (let i = lo; i < group.length && openTime(group[i]) - exchangeEnd(last) <= reuseWindowMs; i++) {
        if (group[i] !== c && (byConn.get(group[i].id) ?? []).length > 0) {
          next = group[i];
          break;
        }
      }
      if (!next) continue;
      const gap = (byConn.get(next.id) ?? [])[0].times.requestStartTime - exchangeEnd(last);
      if (gap > reuseWindowMs) continue;
      const side = c.close.by ?? 'server';
      const l = tooShort.get(side);
      if (l) l.push({ c, next, idle, gap });
      else tooShort.set(side, [{ c, next, idle, gap }]);
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
        connectionIds: [...new Set(items.flatMap((i) => [i.c.id, i.next.id]))].sort((a, b) => a - b),
        requestIds: items.map((i) => (byConn.get(i.next.id) ?? [])[0].id),
        timeRange: [minOf(items, (i) => i.c.close.time! - i.idle), maxOf(items, (i) => openTime(i.next))],
        evidence: capEvidence(items.flatMap((i) => [
          ev(i.c.close.packet, i.c.close.time, `connection ${i.c.id} closed by the ${side} after ${fmtMs(i.idle)} idle`),
          ev(i.next.firstPacket, openTime(i.next), `new connection ${i.next.id} for the next request, ${fmtMs(i.gap)} after the previous response`),
        ])),
        advice: side === 'server'
          ? `Set the server's keep-alive idle timeout to at least ~${s} s (1.5 × the largest observed gap; e.g. nginx \`keepalive_timeout ${s}s\`), or accept the reconnects if sockets are scarce.`
          : `Keep the client's idle pooled connections for at least ~${s} s (1.5 × the largest observed gap), but below the server's keep-alive timeout.`,
      });
    }
  }
  return findings;
}

export const keepAlivePolicy: DetectorDef = {
  name: 'keepalive-policy',
  kinds: ['keepalive-policy'],
  thresholds: THRESHOLDS,
  detect,
};
