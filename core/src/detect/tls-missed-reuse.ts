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
 * Streaming (stream.ts): per client and origin in order of opening, keeping the open connections
 * and the closed ones within `reuseWindowMs` (dropped as the watermark passes them); one finding
 * per origin and rule at the end.
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
import type { Connection, Evidence } from '../model/types.js';
import type { DetectorDef, DetectOptions } from './index.js';
import { defineDetector, type FindingSink, type StreamContext, type StreamingDetector } from './stream.js';
import { reuseAdvice, SEVERITY, THRESHOLDS as REUSE_THRESHOLDS, type ReuseCause } from './missed-reuse.js';
import { clientDataTime, exchangesHidden, MAX_CANDIDATES_SCANNED, quietStart } from './tls-util.js';
import {
  capEvidence,
  closedBy,
  ev,
  fmtMs,
  handshakeCost,
  handshakesNote,
  maxOf,
  MinHeap,
  minOf,
  openTime,
  originKey,
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

/**
 * When a served connection stops mattering to connections opened later: closed, and its close
 * and quiet start older than the reuse window. Never, while open.
 */
function expiry(s: Served, window: number): number {
  return s.c.close.time === null ? Infinity : Math.max(s.c.close.time, s.quiet) + window;
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

/** One client and origin's sweep state (`originKey`): see `stream`. */
interface Group {
  minId: number;
  any: Connection;
  byQuiet: MinHeap<Served>;
  byClose: MinHeap<Served>;
  quietPool: Served[];
  /** Its size after the last clean-up (cleaned again when doubled). */
  quietKept: number;
  closed: Served[];
  closedHead: number;
  used: Set<Connection>;
  h2Live: Set<Served>;
  h2Kept: number;
  served: number;
  /** Served connections not expired: when none is left, the containers are emptied. */
  live: number;
  avoidable: Avoidable[];
}

/**
 * One sweep per client and origin in order of opening (`onOrdered`, O(n log n)): `quietPool` holds
 * the connections whose final quiet stretch has begun (a heap by its start moves them in; closed
 * ones leave as the sweep passes their close), `closed` the closed ones in order of closing,
 * trimmed to the reuse window from the front, `h2Live` the open ALPN-h2 ones. Each judgement
 * examines at most MAX_CANDIDATES_SCANNED of them, and the per-origin state is the open
 * connections plus the window. One finding per origin and rule at the end.
 */
function stream(opts: DetectOptions, emit: FindingSink, ctx: StreamContext): StreamingDetector {
  const window = threshold(opts.thresholds, 'reuseWindowMs', THRESHOLDS.reuseWindowMs.default);
  const idleCloseMs = threshold(opts.thresholds, 'idleCloseMs', THRESHOLDS.idleCloseMs.default);
  const groups = new Map<string, Group>();
  /** Served connections by `expiry` (streaming only): past it they can explain no later connection. */
  const expiring = new MinHeap<{ s: Served; g: Group; at: number }>((e) => e.at);

  function judge(g: Group, n: Connection, t: number): void {
    const { avoidable, h2Live, quietPool, closed, used } = g;
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
    for (let i = closed.length - 1, k = 0; i >= g.closedHead && k < MAX_CANDIDATES_SCANNED; i--, k++) {
      const p = closed[i];
      if (used.has(p.c) || t - p.quiet > window) continue;
      if (i === closed.length - 1) closed.pop();
      else used.add(p.c);
      const { rule, idleMs } = closeRule(p, idleCloseMs);
      avoidable.push({ conn: n, by: p.c, rule, costMs: cost, idleMs, gapMs: t - p.quiet });
      return;
    }
  }

  return {
    onOrdered(n) {
      // TCP only: a QUIC connection's close (CONNECTION_CLOSE in 1-RTT packets) is invisible
      // without keys, so "open and idle" cannot be judged from the capture (quic-missed-reuse.ts
      // judges QUIC connections, with keys).
      if (n.tls === undefined || n.transport === 'quic') return;
      const k = originKey(n);
      let g = groups.get(k);
      if (!g) {
        g = {
          minId: n.id,
          any: n,
          byQuiet: new MinHeap<Served>((x) => x.quiet),
          byClose: new MinHeap<Served>((x) => x.c.close.time ?? Infinity),
          quietPool: [],
          quietKept: 0,
          closed: [],
          closedHead: 0,
          used: new Set(),
          h2Live: new Set(),
          h2Kept: 0,
          served: 0,
          live: 0,
          avoidable: [],
        };
        groups.set(k, g);
      }
      g.minId = Math.min(g.minId, n.id);
      const t = openTime(n);
      while (g.byQuiet.size && g.byQuiet.key(g.byQuiet.peek()!) <= t) g.quietPool.push(g.byQuiet.pop()!);
      while (g.byClose.size && g.byClose.key(g.byClose.peek()!) <= t) g.closed.push(g.byClose.pop()!);
      // Closed before the window: never eligible again (t only grows). Compact now and then.
      while (g.closedHead < g.closed.length && t - g.closed[g.closedHead].c.close.time! > window) g.used.delete(g.closed[g.closedHead++].c);
      if (g.closedHead > 1024 && g.closedHead * 2 > g.closed.length) {
        g.closed.splice(0, g.closedHead);
        g.closedHead = 0;
      }
      // Closed ones are never chosen from the pool or h2Live again (the choices are unchanged).
      if (g.quietPool.length > 2 * g.quietKept + 64) {
        g.quietPool = g.quietPool.filter((x) => !closedBy(x.c, t));
        g.quietKept = g.quietPool.length;
      }
      if (g.h2Live.size > 2 * g.h2Kept + 64) {
        for (const x of g.h2Live) if (closedBy(x.c, t)) g.h2Live.delete(x);
        g.h2Kept = g.h2Live.size;
      }
      const s = servedOf(n);
      if (s && exchangesHidden(n)) judge(g, n, t);
      if (s) {
        g.served++;
        g.byQuiet.push(s);
        if (n.close.time !== null) g.byClose.push(s);
        if (n.tls!.alpn.selected === 'h2') g.h2Live.add(s);
        g.live++;
        const at = expiry(s, window);
        if (ctx.bounded && at !== Infinity) expiring.push({ s, g, at });
      }
    },
    onWatermark(w) {
      // Every connection still to come opens at or after w. An expired connection is closed by then
      // (no pool holds it) and out of the window (trimmed from `closed` before any scan).
      while (expiring.size && expiring.key(expiring.peek()!) < w) {
        const { s, g } = expiring.pop()!;
        g.h2Live.delete(s);
        if (--g.live === 0) {
          g.byQuiet.clear();
          g.byClose.clear();
          g.quietPool = [];
          g.closed = [];
          g.closedHead = 0;
          g.used.clear();
          g.h2Live.clear();
          g.quietKept = g.h2Kept = 0;
        }
      }
    },
    finish() {
      for (const g of [...groups.values()].sort((a, b) => a.minId - b.minId)) findings(g);
      groups.clear();
    },
  };

  function findings(g: Group): void {
    const origin = originLabel(g.any);
    const client = g.any.client.ip;
    const { avoidable, served } = g;
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
      emit({
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
}

export const tlsMissedReuse: DetectorDef = defineDetector({
  name: 'tls-missed-reuse',
  kinds: ['missed-reuse'],
  thresholds: THRESHOLDS,
  reads: {},
  stream,
});
