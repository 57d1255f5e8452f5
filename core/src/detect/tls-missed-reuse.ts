/**
 * missed-reuse (layer `tls`): HTTPS connections that did not need to exist, judged from their TLS
 * records alone — for connections whose requests are not visible (no key log, keys that do not
 * match, a handshake the capture missed). With keys the requests are visible and missed-reuse.ts
 * (HTTP/1) or h2-missed-reuse.ts (HTTP/2) judge them instead, with the same rule names.
 *
 * Signature. TLS connections are grouped by client address, server address and port, and SNI
 * (`originKey`: one origin per name). A connection *carried traffic* when the client sent
 * application data after its handshake (`clientDataTime`: for TLS 1.3 the client's protected
 * records after its Finished). Each connection N that carried traffic and whose exchanges are not
 * visible, in order of its SYN time t, is judged against the earlier connections P of its group
 * that carried traffic:
 *
 *  1. `h2-second-connection`: P negotiated `h2` (ALPN, visible in a TLS 1.2 ServerHello), N offered
 *     it, and at t P was open (no FIN/RST), past its handshake and already carrying traffic — HTTP/2
 *     multiplexes, so N's requests could have been streams on P (RFC 9113 §9.1), busy or not.
 *  2. `idle-connection-unused`: P was *open and idle* at t, and never used again: its final quiet
 *     stretch (`quietStart`: its last TLS record that was not part of its close) began before t
 *     and P was not closed by t. "Idle" here means no TLS record in either direction from the end
 *     of P's traffic to N's SYN, and none after it but the closing records (close_notify, FIN) —
 *     the definition that needs no knowledge of where a response ends. A P that carried more
 *     records after t was busy or was used again (a pool opening ahead of demand), not a miss.
 *  3. `just closed`: P had closed (first FIN/RST) by t, its final quiet stretch began at most
 *     `reuseWindowMs` (default 10 s) before t, and it has not explained another connection. The
 *     rule says how P ended, as far as TLS records show (no HTTP headers without keys):
 *       - `client-no-pool`: the client closed P within `idleCloseMs` of its last record;
 *       - `client-idle-timeout`: the client closed P after an idle of at least `idleCloseMs`;
 *       - `server-close`: the server closed P within `idleCloseMs` (a `Connection: close`, a
 *         request limit, HTTP/1.0 — not distinguishable without keys);
 *       - `server-idle-timeout`: the server closed P after an idle of at least `idleCloseMs`;
 *       - `reset`: P ended with an RST.
 *
 * Cost per avoidable connection: its TCP handshake (SYN → ACK at the capture point) plus its TLS
 * handshake as measured (ClientHello → the client's handshake end), with the round trips that
 * implies: 1 for TCP + `tls.handshakeRtts` (1 for a full TLS 1.3 handshake, 2 for a full TLS 1.2
 * one, 1 resumed). One finding per client, origin and rule, like missed-reuse.ts.
 *
 * Where it can be wrong:
 *  - Without keys the exchanges are not visible: "carried traffic" is "the client sent a protected
 *    record after its handshake", which may be an encrypted alert (close_notify) rather than a
 *    request, or a client certificate flight split over several records.
 *  - The last record before P's quiet stretch may be a request still waiting for its answer: a
 *    client that gave up on P (timeout) and retried on N, leaving P open, looks like an idle P.
 *    Which side sent the last record is not in the model.
 *  - Idle periods shorter than the engine's `idleGapMs` (default 1 s) are not recorded: when P's
 *    last record before a close is its close_notify, an idle shorter than that before it is not
 *    seen, so a short idle timeout reads as an immediate close (`client-no-pool`/`server-close`).
 *  - Same as missed-reuse.ts: the capture point (handshake time ≈ one round trip only from a
 *    client-side capture), NAT (several clients on one address), separate processes that cannot
 *    share a pool, one origin on several addresses (split), speculative preconnects (ignored: they
 *    carry no application data).
 *  - The TLS handshake of N may have been a resumption (cheaper); it is counted as measured.
 */
import type { Connection, Evidence, Finding, Report } from '../model/types.js';
import type { DetectorDef, DetectOptions } from './index.js';
import { reuseAdvice, SEVERITY, THRESHOLDS as REUSE_THRESHOLDS, type ReuseCause } from './missed-reuse.js';
import { clientDataTime, exchangesHidden, MAX_CANDIDATES_SCANNED, quietStart } from './tls-util.js';
import {
  capEvidence,
  closedBy,
  ev,
  fmtMs,
  groupByOrigin,
  handshakeCost,
  handshakesNote,
  maxOf,
  MinHeap,
  minOf,
  openTime,
  originLabel,
  threshold,
} from './util.js';

const THRESHOLDS = {
  reuseWindowMs: REUSE_THRESHOLDS.reuseWindowMs,
  idleCloseMs: REUSE_THRESHOLDS.idleCloseMs,
} as const;

type TlsReuseRule = Extract<ReuseCause, 'idle-connection-unused' | 'client-no-pool' | 'client-idle-timeout' | 'server-close' | 'server-idle-timeout' | 'reset'> | 'h2-second-connection';

interface Avoidable {
  conn: Connection;
  by: Connection;
  rule: TlsReuseRule;
  costMs: number;
  /** P's idle before its close (closing rules) or before N's SYN. */
  idleMs: number;
  /** From the end of P's traffic to N's SYN. */
  gapMs: number;
}

/** A connection that carried traffic, with its quiet start (null: still carrying records at its end). */
interface Served {
  c: Connection;
  quiet: number;
  dataTime: number;
}

function servedOf(c: Connection): Served | null {
  const dataTime = clientDataTime(c);
  const quiet = quietStart(c);
  if (dataTime === null || quiet === null) return null;
  return { c, quiet: Math.max(quiet, dataTime), dataTime };
}

function closeRule(p: Served, idleCloseMs: number): { rule: TlsReuseRule; idleMs: number } {
  const c = p.c;
  const idleMs = Math.max(0, (c.close.time ?? p.quiet) - p.quiet);
  if (c.close.how === 'rst') return { rule: 'reset', idleMs };
  if (c.close.by === 'server') return { rule: idleMs >= idleCloseMs ? 'server-idle-timeout' : 'server-close', idleMs };
  return { rule: idleMs >= idleCloseMs ? 'client-idle-timeout' : 'client-no-pool', idleMs };
}

function why(rule: TlsReuseRule, items: Avoidable[]): string {
  const med = (f: (a: Avoidable) => number) => {
    const s = items.map(f).sort((a, b) => a - b);
    return fmtMs(s[Math.floor((s.length - 1) / 2)]);
  };
  switch (rule) {
    case 'h2-second-connection':
      return 'a new connection was opened while an HTTP/2 connection (ALPN h2) to the same origin was open and carrying traffic — HTTP/2 could have carried the new requests as more streams';
    case 'idle-connection-unused':
      return 'the client opened a new connection while an earlier one to the same origin was open and idle (no TLS record either way), and never used the idle one again';
    case 'client-no-pool':
      return 'the client closed each connection right after its last TLS record and opened a new one for the next exchange (no connection pool, or a new process per request)';
    case 'client-idle-timeout':
      return `the client closed its idle connection after ~${med((a) => a.idleMs)} and reconnected ${med((a) => a.gapMs)} after the end of its traffic`;
    case 'server-close':
      return 'the server closed each connection right after its last TLS record (a `Connection: close`, a request limit or HTTP/1.0 — the headers are not visible without keys), so the client had to reconnect';
    case 'server-idle-timeout':
      return `the server closed the idle connection after ~${med((a) => a.idleMs)}, but the client's next connection came ${med((a) => a.gapMs)} after the end of its traffic`;
    case 'reset':
      return 'the previous connection was reset';
  }
}

function advice(rule: TlsReuseRule, items: Avoidable[]): string {
  const keys = ' To see the requests and their Connection headers, capture the client’s TLS key log (SSLKEYLOGFILE, `--ssl-key-log-file`) and pass it with --keylog.';
  if (rule === 'h2-second-connection') {
    return 'HTTP/2 carries many requests at once on one connection, so a client needs only one connection per origin (RFC 9113 §9.1): send all requests for the origin through one shared HTTP/2 client/session.' + keys;
  }
  return reuseAdvice(rule, maxOf(items, (a) => a.gapMs)) + ' Each new HTTPS connection costs a TCP and a TLS handshake (2 round trips with TLS 1.3, 3 with TLS 1.2) before its first request.' + keys;
}

function detect(report: Report, opts: DetectOptions): Finding[] {
  const window = threshold(opts.thresholds, 'reuseWindowMs', THRESHOLDS.reuseWindowMs.default);
  const idleCloseMs = threshold(opts.thresholds, 'idleCloseMs', THRESHOLDS.idleCloseMs.default);
  const findings: Finding[] = [];
  for (const group of groupByOrigin(report.connections.filter((c) => c.tls !== undefined)).values()) {
    if (group.length < 2 || !group.some((c) => exchangesHidden(c) && clientDataTime(c) !== null)) continue;
    const avoidable: Avoidable[] = [];
    // One sweep in order of opening (O(n log n)): `quietPool` holds the connections whose final
    // quiet stretch has begun (a heap by its start moves them in; a closed one is dropped when it
    // reaches the top), `closed` the closed ones in order of closing, trimmed to the reuse window
    // from the front, `h2Live` the open ALPN-h2 ones. Each judgement examines at most
    // MAX_CANDIDATES_SCANNED of them, so the per-origin state is bounded by the window.
    const byQuiet = new MinHeap<Served>((s) => s.quiet);
    const byClose = new MinHeap<Served>((s) => s.c.close.time ?? Infinity);
    const quietPool: Served[] = [];
    const closed: Served[] = [];
    let closedHead = 0;
    const used = new Set<Connection>();
    const h2Live = new Set<Served>();
    let served = 0;
    for (const n of group) {
      const t = openTime(n);
      while (byQuiet.size && byQuiet.key(byQuiet.peek()!) <= t) quietPool.push(byQuiet.pop()!);
      while (byClose.size && byClose.key(byClose.peek()!) <= t) closed.push(byClose.pop()!);
      // Closed before the window: never eligible again (t only grows). Compact now and then.
      while (closedHead < closed.length && t - closed[closedHead].c.close.time! > window) closedHead++;
      if (closedHead > 1024 && closedHead * 2 > closed.length) {
        closed.splice(0, closedHead);
        closedHead = 0;
      }
      const s = servedOf(n);
      if (s && exchangesHidden(n)) judge(n, t);
      if (s) {
        served++;
        byQuiet.push(s);
        if (n.close.time !== null) byClose.push(s);
        if (n.tls!.alpn.selected === 'h2') h2Live.add(s);
      }
    }

    function judge(n: Connection, t: number): void {
      const cost = handshakeCost(n).ms;
      // 1. An open HTTP/2 connection carrying traffic (ALPN known: TLS 1.2, or decrypted).
      if (n.tls!.alpn.offered.includes('h2')) {
        let k = 0;
        for (const p of h2Live) {
          if (closedBy(p.c, t)) {
            h2Live.delete(p);
            continue;
          }
          if (++k > MAX_CANDIDATES_SCANNED) break;
          if (openTime(p.c) < t && p.c.tls!.handshakeEndTime! <= t && p.dataTime <= t) {
            avoidable.push({ conn: n, by: p.c, rule: 'h2-second-connection', costMs: cost, idleMs: 0, gapMs: 0 });
            return;
          }
        }
      }
      // 2. Open and idle, never used again.
      while (quietPool.length && closedBy(quietPool[quietPool.length - 1].c, t)) quietPool.pop();
      const q = quietPool.at(-1);
      if (q && openTime(q.c) < t) {
        avoidable.push({ conn: n, by: q.c, rule: 'idle-connection-unused', costMs: cost, idleMs: t - q.quiet, gapMs: t - q.quiet });
        return;
      }
      // 3. Just closed: the most recently closed one in the window that explains no other.
      for (let i = closed.length - 1, k = 0; i >= closedHead && k < MAX_CANDIDATES_SCANNED; i--, k++) {
        const p = closed[i];
        if (used.has(p.c) || t - p.quiet > window) continue;
        if (i === closed.length - 1) closed.pop();
        else used.add(p.c);
        const { rule, idleMs } = closeRule(p, idleCloseMs);
        avoidable.push({ conn: n, by: p.c, rule, costMs: cost, idleMs, gapMs: t - p.quiet });
        return;
      }
    }

    const origin = originLabel(group[0]);
    const client = group[0].client.ip;
    const byRule = new Map<TlsReuseRule, Avoidable[]>();
    for (const a of avoidable) {
      const l = byRule.get(a.rule);
      if (l) l.push(a);
      else byRule.set(a.rule, [a]);
    }
    for (const [rule, items] of byRule) {
      const cost = items.reduce((s, a) => s + a.costMs, 0);
      const conns = [...new Set(items.flatMap((a) => [a.by.id, a.conn.id]))].sort((a, b) => a - b);
      const evidence: Evidence[] = items.map((a) => {
        const p = a.by;
        const prev =
          a.rule === 'h2-second-connection'
            ? `while HTTP/2 connection ${p.id} was open and carrying traffic`
            : a.rule === 'idle-connection-unused'
              ? `while connection ${p.id} was open and had been idle (no TLS record) for ${fmtMs(a.gapMs)}`
              : `${fmtMs(a.gapMs)} after connection ${p.id}'s last TLS record (${p.close.by ?? '?'} ${p.close.how === 'rst' ? 'RST' : 'FIN'}${a.idleMs >= 1 ? ` after ${fmtMs(a.idleMs)} idle` : ''})`;
        return ev(a.conn.firstPacket, openTime(a.conn), `connection ${a.conn.id} opened ${prev}; handshake ${fmtMs(a.costMs)} (${handshakeCost(a.conn).what})`);
      });
      const first = items[0].by;
      if (rule !== 'idle-connection-unused' && rule !== 'h2-second-connection' && first.close.packet !== null) {
        evidence.unshift(ev(first.close.packet, first.close.time, `connection ${first.id} closed by the ${first.close.by} (${first.close.how.toUpperCase()})${first.tls?.closeNotify[first.close.by ?? 'client'] ? ' after its close_notify' : ''}`));
      }
      findings.push({
        kind: 'missed-reuse',
        rule,
        layer: 'tls',
        severity: rule === 'h2-second-connection' ? 'warning' : SEVERITY[rule],
        summary:
          `${items.length} of ${served} TLS connections from ${client} to ${origin} avoidable, ~${fmtMs(cost)} of handshakes${handshakesNote(items.map((a) => a.conn))}: ${why(rule, items)} ` +
          `(judged from TLS record timing: the requests are not visible without keys)`,
        connectionIds: conns,
        requestIds: [],
        timeRange: [minOf(items, (a) => openTime(a.by)), maxOf(items, (a) => a.conn.lastTime)],
        costMs: cost,
        evidence: capEvidence(evidence),
        advice: advice(rule, items),
      });
    }
  }
  return findings;
}

export const tlsMissedReuse: DetectorDef = {
  name: 'tls-missed-reuse',
  kinds: ['missed-reuse'],
  thresholds: THRESHOLDS,
  detect,
};
