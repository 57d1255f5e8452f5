/**
 * missed-reuse (layer `quic`): QUIC connections that did not need to exist — the counterpart of
 * missed-reuse.ts (HTTP/1), h2-missed-reuse.ts (HTTP/2) and tls-missed-reuse.ts (TLS over TCP
 * without keys), with the same rule names where the meaning is the same.
 *
 * Signature. QUIC connections are grouped by client address, server address and UDP port, and
 * SNI (`originKey`: one origin per name, QUIC apart from TCP). A connection *served* when the
 * server answered, its handshake completed and it carried traffic (with keys: a request, else the
 * client sent 1-RTT packets). Each served connection N, in order of its first Initial t, is judged
 * against the earlier served connections P of its group:
 *
 *  1. P was *open* at t (past its handshake) — HTTP/3 carries every request as a stream of one
 *     QUIC connection, and RFC 9114 §3.3 says a client SHOULD NOT open more than one HTTP/3
 *     connection to a server address and port:
 *       - `idle-connection-unused` when P's exchanges are visible (keys) and all had ended by t
 *         (none started later: P was idle, and never used again);
 *       - `h3-second-connection` otherwise (P busy at t, or used again after it, or without keys
 *         known open only because it sent packets after t).
 *     "Open" needs the close to be visible: with keys, no CONNECTION_CLOSE or stateless reset
 *     before t and the idle timeout (`quic.idleTimeoutMs`, RFC 9000 §10.1) not run out since P's
 *     last packet; without keys (a CONNECTION_CLOSE in 1-RTT packets is encrypted), only P's own
 *     packets after t show it open.
 *  2. P had *just closed* (keys: its CONNECTION_CLOSE, stateless reset or silent idle timeout at
 *     or before t), its last exchange ended at most `reuseWindowMs` (default 10 s) before t, and it
 *     has explained no other connection (while open or since). The rule says how P ended:
 *       - `client-no-pool`: the client closed P (CONNECTION_CLOSE) within `idleCloseMs` (default
 *         500 ms) of its last exchange — a client without a pool, or a process per request;
 *       - `client-idle-timeout`: the client closed it after an idle of at least `idleCloseMs`, or
 *         the silent idle timeout was the client's (its max_idle_timeout the smaller);
 *       - `server-close` / `server-idle-timeout`: the same, by the server;
 *       - `reset`: a CONNECTION_CLOSE with an error, or a stateless reset.
 *     An open P is preferred; among closed ones the last to close.
 *
 * Cost per avoidable connection: its QUIC handshake as measured (first Initial → the client's
 * handshake end), 1 round trip (RFC 9001 §4.1: TLS 1.3 runs inside QUIC's first round trip), 2
 * after a Retry or a HelloRetryRequest, and 0 — costing nothing — when its 0-RTT data was
 * accepted (RFC 9001 §4.6: the requests left with the first Initial). One finding per client,
 * origin and rule; `info` when every avoidable connection cost 0 round trips.
 *
 * Streaming (stream.ts): per client and origin in order of opening (`onOrdered`), keeping the
 * served connections until they can explain no later one (closed, and the reuse window past;
 * without keys, once their last packet is behind the watermark), dropped as the watermark passes
 * them; one finding per origin and rule at the end. The QUIC facts come from `onConnection` (the
 * slim copies of `onOrdered` have no `quic`: quic-util.ts `QuicFactsBook`).
 *
 * Where it can be wrong:
 *  - Without keys, a connection that went quiet before N may have been closed (its
 *    CONNECTION_CLOSE is encrypted) or left open and idle: neither is claimed, so missed reuse over
 *    QUIC without keys is only seen when the earlier connection visibly kept sending after N
 *    opened. Its packets after t may then have been only its close, or keep-alive PINGs.
 *  - "Served" without keys is "the client sent 1-RTT packets": a preconnected connection that
 *    never carried a request looks the same.
 *  - The idle timeout is judged from P's last packet as captured; endpoints count it from their
 *    own last packet sent or received, and either may close earlier (RFC 9000 §10.1.2).
 *  - Browsers keep separate connection pools per network partition (top-level site) and for
 *    requests without credentials (CORS anonymous): a second connection for another partition is
 *    by design, and not distinguishable in the capture. Separate processes cannot share a pool.
 *  - The capture point: from the client, the handshake time is close to one round trip; from the
 *    server or on loopback it is mostly processing time. NAT (several clients behind one address)
 *    mixes clients; one origin on several addresses is split.
 */
import type { Connection, Evidence, Finding, Request } from '../model/types.js';
import type { DetectorDef, DetectOptions } from './index.js';
import { defineDetector, type FindingSink, type StreamContext, type StreamingDetector } from './stream.js';
import { reuseAdvice, SEVERITY, THRESHOLDS as REUSE_THRESHOLDS, type ReuseCause } from './missed-reuse.js';
import { isQuic, QuicFactsBook, quicSetupCost, quicVisible, type QuicFacts } from './quic-util.js';
import { MAX_CANDIDATES_SCANNED } from './tls-util.js';
import { capEvidence, ev, exchangeEnd, fmtMs, maxOf, MinHeap, minOf, openTime, originKey, originLabel, threshold } from './util.js';

const THRESHOLDS = {
  reuseWindowMs: REUSE_THRESHOLDS.reuseWindowMs,
  idleCloseMs: REUSE_THRESHOLDS.idleCloseMs,
} as const;

/** Evidence lines kept per origin and rule (the rest counted). */
const MAX_EVIDENCE_KEPT = 100;

type Rule = Extract<ReuseCause, 'idle-connection-unused' | 'client-no-pool' | 'client-idle-timeout' | 'server-close' | 'server-idle-timeout' | 'reset'> | 'h3-second-connection';

/** A served QUIC connection kept for judging later ones. */
interface Kept {
  c: Connection;
  f: QuicFacts;
  visible: boolean;
  /** Handshake end for the client. */
  hsEnd: number;
  /** Keys: end of its last exchange (its handshake end without one). No keys: its last packet. */
  quiet: number;
  /** When it was known to have ended (CONNECTION_CLOSE, stateless reset, silent idle timeout); null: not seen. */
  closeAt: number | null;
  /** Past this it can explain no connection opened later. */
  expiry: number;
  used: boolean;
  dead: boolean;
}

interface Avoidable {
  connId: number;
  firstReq: number | null;
  byId: number;
  byOpen: number;
  connLast: number;
  rule: Rule;
  costMs: number;
  rtts: number;
  idleMs: number;
  gapMs: number;
  evidence: Evidence[] | null;
}

interface Group {
  minId: number;
  client: string;
  origin: string;
  served: number;
  kept: Kept[];
  byExpiry: MinHeap<Kept>;
  dead: number;
  avoidable: Avoidable[];
  perRule: Map<Rule, number>;
}

/** Known open at t: its end visible and not reached; without keys, packets of its own after t. */
function openAt(p: Kept, t: number): boolean {
  if (p.closeAt !== null) return t < p.closeAt;
  return p.visible ? true : p.c.lastTime > t;
}

function closeRule(p: Kept, idleCloseMs: number): { rule: Rule; idleMs: number } {
  const c = p.c;
  const f = p.f;
  if (f.end === 'stateless-reset' || c.close.how === 'rst') return { rule: 'reset', idleMs: Math.max(0, (p.closeAt ?? p.quiet) - p.quiet) };
  if (f.end === 'idle-timeout') {
    // RFC 9000 §10.1: the effective timeout is the smaller of the two max_idle_timeout values.
    const { client, server } = f.idleTp;
    const clientsOwn = client > 0 && (server === 0 || client <= server);
    return { rule: clientsOwn ? 'client-idle-timeout' : 'server-idle-timeout', idleMs: f.idleTimeoutMs ?? 0 };
  }
  const idleMs = Math.max(0, (p.closeAt ?? p.quiet) - p.quiet);
  if (c.close.by === 'server') return { rule: idleMs >= idleCloseMs ? 'server-idle-timeout' : 'server-close', idleMs };
  return { rule: idleMs >= idleCloseMs ? 'client-idle-timeout' : 'client-no-pool', idleMs };
}

function endText(p: Kept): string {
  const c = p.c;
  if (p.f.end === 'idle-timeout') return `ended silently by its ${fmtMs(p.f.idleTimeoutMs ?? 0)} idle timeout (RFC 9000 §10.1)`;
  return c.close.detail ?? `closed by the ${c.close.by}`;
}

function why(rule: Rule, items: Avoidable[]): string {
  const med = (f: (a: Avoidable) => number) => {
    const s = items.map(f).sort((a, b) => a - b);
    return fmtMs(s[Math.floor((s.length - 1) / 2)]);
  };
  switch (rule) {
    case 'h3-second-connection':
      return 'a new QUIC connection was opened while another one to the same origin was open — HTTP/3 could have carried the new requests as more streams on it';
    case 'idle-connection-unused':
      return `the client opened a new QUIC connection while an earlier one to the same origin was open and idle (for ~${med((a) => a.idleMs)}), and never used the idle one again`;
    case 'client-no-pool':
      return 'the client closed each QUIC connection (CONNECTION_CLOSE) right after its last response and opened a new one for the next request (no connection pool, or a new process per request)';
    case 'client-idle-timeout':
      return `the client let its idle QUIC connection end after ~${med((a) => a.idleMs)} and reconnected ${med((a) => a.gapMs)} after its last response`;
    case 'server-close':
      return 'the server closed each QUIC connection right after its last response, so the client had to reconnect';
    case 'server-idle-timeout':
      return `the server ended the idle QUIC connection after ~${med((a) => a.idleMs)}, but the client's next request came ${med((a) => a.gapMs)} after its last response`;
    case 'reset':
      return 'the previous QUIC connection ended with an error (CONNECTION_CLOSE with an error code, or a stateless reset)';
  }
}

function advice(rule: Rule, items: Avoidable[]): string {
  const quic =
    ' Each new QUIC connection costs a handshake round trip before its first request (two after a Retry), unless its 0-RTT data is accepted, and starts with a fresh congestion window.';
  if (rule === 'h3-second-connection') {
    return 'HTTP/3 carries many requests at once as streams of one QUIC connection, so a client needs one connection per origin (RFC 9114 §3.3): send all requests for the origin through one shared HTTP/3 client/session.' + quic;
  }
  return reuseAdvice(rule, maxOf(items, (a) => a.gapMs)) + quic;
}

function stream(opts: DetectOptions, emit: FindingSink, ctx: StreamContext): StreamingDetector {
  const window = threshold(opts.thresholds, 'reuseWindowMs', THRESHOLDS.reuseWindowMs.default);
  const idleCloseMs = threshold(opts.thresholds, 'idleCloseMs', THRESHOLDS.idleCloseMs.default);
  const groups = new Map<string, Group>();
  const book = new QuicFactsBook();
  /** Kept connections by expiry (streaming only): dropped once the watermark passes it. */
  const expiring = new MinHeap<{ k: Kept; g: Group }>((e) => e.k.expiry);

  function kill(g: Group, k: Kept): void {
    if (k.dead) return;
    k.dead = true;
    g.dead++;
  }

  function keep(c: Connection, reqs: readonly Request[], f: QuicFacts): Kept | null {
    const visible = quicVisible(c);
    const hsEnd = c.establishedTime ?? c.tls?.handshakeEndTime ?? null;
    if (!f.answered || hsEnd === null) return null;
    if (visible ? reqs.length === 0 && c.requestCount === 0 : f.clientOneRtt + f.zeroRttPackets === 0) return null;
    const quiet = visible ? Math.max(hsEnd, maxOf(reqs, exchangeEnd)) : c.lastTime;
    let closeAt: number | null = c.close.time;
    if (closeAt === null && visible && f.end === 'idle-timeout' && f.idleTimeoutMs !== null) closeAt = c.lastTime + f.idleTimeoutMs;
    const expiry = closeAt !== null ? Math.max(closeAt, quiet) + window : visible ? Infinity : c.lastTime;
    return { c, f, visible, hsEnd, quiet, closeAt, expiry, used: false, dead: false };
  }

  function judge(g: Group, n: Connection, reqs: readonly Request[], f: QuicFacts, t: number): void {
    let open: Kept | undefined;
    let closed: Kept | undefined;
    for (let i = g.kept.length - 1, k = 0; i >= 0 && k < MAX_CANDIDATES_SCANNED; i--) {
      const p = g.kept[i];
      if (p.dead) continue;
      k++;
      if (openTime(p.c) >= t) continue;
      if (openAt(p, t)) {
        if (!open && p.hsEnd <= t) open = p;
      } else if (p.closeAt !== null && p.closeAt <= t && !p.used && p.quiet <= t && t - p.quiet <= window) {
        if (!closed || p.closeAt > closed.closeAt!) closed = p;
      }
    }
    const p = open ?? closed;
    if (!p) return;
    let rule: Rule;
    let idleMs: number;
    // Once it has explained a connection, a closed P explains no other (an open one may: each
    // connection opened beside it was avoidable).
    p.used = true;
    if (p === open) {
      rule = p.visible && p.quiet <= t ? 'idle-connection-unused' : 'h3-second-connection';
      idleMs = rule === 'idle-connection-unused' ? t - p.quiet : 0;
    } else ({ rule, idleMs } = closeRule(p, idleCloseMs));
    const cost = quicSetupCost(n, f);
    const gapMs = Math.max(0, t - p.quiet);
    const seen = g.perRule.get(rule) ?? 0;
    g.perRule.set(rule, seen + 1);
    let evidence: Evidence[] | null = null;
    if (seen < MAX_EVIDENCE_KEPT) {
      const state =
        p === open
          ? rule === 'idle-connection-unused'
            ? `open and idle for ${fmtMs(idleMs)} (its last response ended at ${fmtMs(p.quiet)}; no request on it afterwards)`
            : p.visible
              ? 'open and carrying requests'
              : `open (it sent packets until ${fmtMs(p.c.lastTime)}, after this Initial)`
          : `${endText(p)} at ${fmtMs(p.closeAt!)}, ${fmtMs(gapMs)} after its last response`;
      evidence = [ev(n.firstPacket, t, `connection ${n.id}: first Initial; connection ${p.c.id} to the same origin was ${state}; this connection cost ${cost.what}`)];
      if (p !== open && p.c.close.packet !== null && seen === 0) evidence.unshift(ev(p.c.close.packet, p.c.close.time, `connection ${p.c.id}: ${p.c.close.detail ?? 'closed'}`));
    }
    g.avoidable.push({
      connId: n.id,
      firstReq: reqs.length ? reqs[0].id : null,
      byId: p.c.id,
      byOpen: openTime(p.c),
      connLast: n.lastTime,
      rule,
      costMs: cost.ms,
      rtts: cost.rtts,
      idleMs,
      gapMs,
      evidence,
    });
  }

  return {
    onConnection(c) {
      book.note(c);
    },
    onOrdered(n, reqs) {
      if (!isQuic(n)) return;
      const f = book.take(n);
      if (!f) return;
      const key = originKey(n);
      let g = groups.get(key);
      if (!g) {
        g = { minId: n.id, client: n.client.ip, origin: originLabel(n), served: 0, kept: [], byExpiry: new MinHeap<Kept>((k) => k.expiry), dead: 0, avoidable: [], perRule: new Map() };
        groups.set(key, g);
      }
      g.minId = Math.min(g.minId, n.id);
      const t = openTime(n);
      // What can explain no connection opened at t or later (the same set in both drives).
      while (g.byExpiry.size && g.byExpiry.key(g.byExpiry.peek()!) < t) kill(g, g.byExpiry.pop()!);
      if (g.dead > 64 && g.dead * 2 > g.kept.length) {
        g.kept = g.kept.filter((k) => !k.dead);
        g.dead = 0;
      }
      const k = keep(n, reqs, f);
      if (!k) return;
      g.served++;
      judge(g, n, reqs, f, t);
      g.kept.push(k);
      if (k.expiry !== Infinity) {
        g.byExpiry.push(k);
        if (ctx.bounded) expiring.push({ k, g });
      }
    },
    onWatermark(w) {
      while (expiring.size && expiring.key(expiring.peek()!) < w) {
        const { k, g } = expiring.pop()!;
        kill(g, k);
      }
    },
    finish() {
      for (const g of [...groups.values()].sort((a, b) => a.minId - b.minId)) {
        const byRule = new Map<Rule, Avoidable[]>();
        for (const a of g.avoidable) {
          const l = byRule.get(a.rule);
          if (l) l.push(a);
          else byRule.set(a.rule, [a]);
        }
        for (const [rule, items] of byRule) emit(finding(g, rule, items));
      }
      groups.clear();
    },
  };
}

function finding(g: Group, rule: Rule, items: Avoidable[]): Finding {
  const cost = items.reduce((s, a) => s + a.costMs, 0);
  const rtts = items.reduce((s, a) => s + a.rtts, 0);
  const lo = minOf(items, (a) => a.rtts);
  const hi = maxOf(items, (a) => a.rtts);
  const evidence: Evidence[] = items.flatMap((a) => a.evidence ?? []);
  const cut = items.filter((a) => !a.evidence).length;
  if (cut) evidence.push(ev(null, null, `… and ${cut} more connections like these`));
  const zero = items.filter((a) => a.rtts === 0).length;
  return {
    kind: 'missed-reuse',
    rule,
    layer: 'quic',
    severity: rtts === 0 ? 'info' : rule === 'h3-second-connection' ? 'warning' : SEVERITY[rule],
    summary:
      `${items.length} of ${g.served} QUIC connections from ${g.client} to ${g.origin} avoidable, ~${fmtMs(cost)} of handshakes ` +
      `(QUIC handshake: ${lo === hi ? lo : `${lo}–${hi}`} round trip${hi === 1 ? '' : 's'} each${zero ? `; ${zero} with 0-RTT accepted, costing none` : ''}): ${why(rule, items)}`,
    connectionIds: [...new Set(items.flatMap((a) => [a.byId, a.connId]))].sort((a, b) => a - b),
    requestIds: items.flatMap((a) => (a.firstReq === null ? [] : [a.firstReq])),
    timeRange: [minOf(items, (a) => a.byOpen), maxOf(items, (a) => a.connLast)],
    costMs: cost,
    evidence: capEvidence(evidence),
    advice: advice(rule, items),
  };
}

export const quicMissedReuse: DetectorDef = defineDetector({
  name: 'quic-missed-reuse',
  kinds: ['missed-reuse'],
  thresholds: THRESHOLDS,
  reads: {},
  stream,
});
