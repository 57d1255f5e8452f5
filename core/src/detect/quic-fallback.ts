/**
 * quic-blocked (layer `quic`): QUIC attempts that nothing answered, and the TCP/TLS connection the
 * client fell back to — UDP blocked or dropped on the path (a firewall, a middlebox), or no
 * HTTP/3 server behind an advertised alternative.
 *
 * Signature. A QUIC connection is *unanswered* when the client sent Initials and not one packet
 * came back from the server (no Initial, Handshake, Retry, Version Negotiation, nothing). Its
 * fallback is the first TCP connection with TLS from the same client address to the same server
 * address with the same SNI (any port: an Alt-Svc alternative may name another one) opened at or
 * after its first Initial and at most `fallbackWindowMs` (default 30 s) later. Per client, server
 * address and SNI:
 *
 *  - `fallback-to-tcp`: no TCP connection to the origin was open at the first unanswered Initial,
 *    and one followed: the client waited for QUIC, then connected over TCP. One finding per
 *    fallback connection, with every unanswered attempt it followed.
 *  - `blocked-while-tcp-open` (info): the attempts were made while a TCP connection to the
 *    origin was open (a browser racing an advertised h3 against TCP, or trying it beside an open
 *    HTTP/2 connection): nothing waited on them. One finding per such TCP connection.
 *  - `no-fallback` (warning): no TCP connection followed within the window — the client gave up,
 *    or the capture ended first.
 *
 * Cost (`fallback-to-tcp`): the time lost, from the first unanswered Initial to the fallback's
 * SYN; before it, nothing reached the server (one round trip of TCP and one of TLS still follow,
 * as they would have without the attempt). `no-fallback`: the time spent trying, from the first
 * Initial to the last packet of the attempts.
 *
 * Streaming (stream.ts): per client, server address and SNI in order of opening (`onOrdered`):
 * the TCP connections still open (to tell whether one was open at an attempt), and the attempts
 * still within their window waiting for a TCP connection; the findings at `finish()`, at most
 * MAX_ATTEMPTS_KEPT attempts per origin (beyond, counted only). The QUIC facts come from
 * `onConnection` (quic-util.ts `QuicFactsBook`).
 *
 * Where it can be wrong:
 *  - A capture that sees only one direction (asymmetric routing, a capture filter on the
 *    destination port) shows every QUIC connection unanswered.
 *  - A server that is down or not listening on UDP (ICMP port unreachable, which is not read)
 *    looks the same as UDP dropped on the path.
 *  - The fallback is matched by address and SNI: a TCP connection opened for another reason
 *    within the window is taken as the fallback. Browsers race TCP against QUIC (TCP held back only
 *    when QUIC worked recently), so the time lost is often the race's head start, not a timeout.
 *  - A client that connected over TCP first and tried QUIC later (`blocked-while-tcp-open`) may
 *    still have opened a new TCP connection after its QUIC attempt failed; it is not priced.
 */
import type { Connection, Evidence, Finding } from '../model/types.js';
import type { DetectorDef, DetectOptions } from './index.js';
import { defineDetector, type FindingSink, type StreamingDetector } from './stream.js';
import { isQuic, QuicFactsBook } from './quic-util.js';
import { endpoint, ev, fmtMs, MinHeap, openTime, sniOf, threshold } from './util.js';

const THRESHOLDS = {
  fallbackWindowMs: { default: 30_000, unit: 'ms', description: 'a TCP connection to the same server and SNI this soon after an unanswered QUIC attempt is its fallback' },
} as const;

/** Unanswered attempts kept per client, server address and SNI. */
export const MAX_ATTEMPTS_KEPT = 1_000;

interface Attempt {
  id: number;
  open: number;
  last: number;
  firstPacket: number;
  initials: number;
  port: number;
  /** A TCP connection to the origin was open at its first Initial. */
  tcpOpen: number | null;
  fallback: Fallback | null;
}

interface Fallback {
  id: number;
  syn: number;
  firstPacket: number;
  port: number;
  protocol: string;
  requests: number;
}

interface Group {
  minId: number;
  client: string;
  server: string;
  sni: string;
  attempts: Attempt[];
  dropped: number;
  /** Attempts still within their window without a fallback. */
  waiting: Attempt[];
  /** TCP connections opened so far and not closed by the sweep's time, by close time. */
  tcp: MinHeap<Connection>;
}

function stream(opts: DetectOptions, emit: FindingSink): StreamingDetector {
  const window = threshold(opts.thresholds, 'fallbackWindowMs', THRESHOLDS.fallbackWindowMs.default);
  const groups = new Map<string, Group>();
  const book = new QuicFactsBook();

  const groupOf = (c: Connection, sni: string): Group => {
    const key = `${c.client.ip}|${c.server.ip}|${sni}`;
    let g = groups.get(key);
    if (!g) {
      g = { minId: c.id, client: c.client.ip, server: c.server.ip, sni, attempts: [], dropped: 0, waiting: [], tcp: new MinHeap<Connection>((x) => x.close.time ?? Infinity) };
      groups.set(key, g);
    }
    g.minId = Math.min(g.minId, c.id);
    return g;
  };

  return {
    onConnection(c) {
      book.note(c);
    },
    onOrdered(c, reqs) {
      const t = openTime(c);
      if (isQuic(c)) {
        const f = book.take(c);
        if (!f || f.answered || f.clientInitials === 0) return;
        const g = groupOf(c, sniOf(c) ?? '');
        while (g.tcp.size && g.tcp.key(g.tcp.peek()!) <= t) g.tcp.pop();
        if (g.attempts.length >= MAX_ATTEMPTS_KEPT) {
          g.dropped++;
          return;
        }
        const a: Attempt = { id: c.id, open: t, last: c.lastTime, firstPacket: c.firstPacket, initials: f.clientInitials, port: c.server.port, tcpOpen: g.tcp.size ? g.tcp.peek()!.id : null, fallback: null };
        g.attempts.push(a);
        g.waiting.push(a);
        return;
      }
      if (!c.tls) return;
      const g = groupOf(c, sniOf(c) ?? '');
      if (g.waiting.length) {
        const fb: Fallback = { id: c.id, syn: t, firstPacket: c.firstPacket, port: c.server.port, protocol: c.protocol, requests: Math.max(c.requestCount, reqs.length) };
        for (const a of g.waiting) if (t - a.open <= window) a.fallback = fb;
        g.waiting = [];
      }
      while (g.tcp.size && g.tcp.key(g.tcp.peek()!) <= t) g.tcp.pop();
      if (c.close.time === null || c.close.time > t) g.tcp.push(c);
      // Groups with nothing pending and nothing open can go (a new one is made if needed).
      if (!g.attempts.length && !g.tcp.size) groups.delete(`${g.client}|${g.server}|${g.sni}`);
    },
    finish() {
      for (const g of [...groups.values()].sort((a, b) => a.minId - b.minId)) {
        if (!g.attempts.length) continue;
        // Attempts beside an open TCP connection (by that connection), then by their fallback, then the rest.
        const beside = new Map<number, Attempt[]>();
        const byFallback = new Map<number, Attempt[]>();
        const none: Attempt[] = [];
        const add = (m: Map<number, Attempt[]>, k: number, a: Attempt) => {
          const l = m.get(k);
          if (l) l.push(a);
          else m.set(k, [a]);
        };
        for (const a of g.attempts) {
          if (a.tcpOpen !== null) add(beside, a.tcpOpen, a);
          else if (a.fallback) add(byFallback, a.fallback.id, a);
          else none.push(a);
        }
        for (const [id, l] of beside) emit(besideFinding(g, id, l));
        for (const l of byFallback.values()) emit(fallbackFinding(g, l));
        if (none.length) emit(noFallbackFinding(g, none, window));
      }
      groups.clear();
    },
  };
}

function origin(g: Group): string {
  return `${g.sni || '(no SNI)'} (${g.server})`;
}

function attemptEvidence(a: Attempt): Evidence {
  return ev(a.firstPacket, a.open, `QUIC connection ${a.id} to UDP port ${a.port}: ${a.initials} Initial${a.initials === 1 ? '' : 's'} from ${fmtMs(a.open)} to ${fmtMs(a.last)}, not one packet from the server`);
}

function attemptsText(g: Group, l: Attempt[]): string {
  const initials = l.reduce((s, a) => s + a.initials, 0);
  return `${l.length} QUIC attempt${l.length === 1 ? '' : 's'} from ${g.client} to ${origin(g)} got no answer (${initials} Initial${initials === 1 ? '' : 's'}, not one packet back)`;
}

function attemptsEvidence(l: Attempt[]): Evidence[] {
  const evidence: Evidence[] = l.slice(0, 20).map(attemptEvidence);
  if (l.length > 20) evidence.push(ev(null, null, `… and ${l.length - 20} more unanswered attempts`));
  return evidence;
}

/** `blocked-while-tcp-open`: QUIC tried beside an open TCP connection to the origin (a browser racing an advertised h3). */
function besideFinding(g: Group, tcpId: number, l: Attempt[]): Finding {
  const first = l[0];
  const last = Math.max(...l.map((a) => a.last));
  const later = [...new Set(l.map((a) => a.fallback?.id).filter((x): x is number => x !== undefined))];
  return {
    kind: 'quic-blocked',
    rule: 'blocked-while-tcp-open',
    layer: 'quic',
    severity: 'info',
    summary: `${attemptsText(g, l)}; TCP connection ${tcpId} to the origin was open at the first Initial and carried the requests: nothing waited on QUIC${later.length ? ` (TCP connection${later.length === 1 ? '' : 's'} ${later.join(', ')} opened later)` : ''}`,
    connectionIds: [...new Set([...l.map((a) => a.id), tcpId, ...later])].sort((a, b) => a - b),
    requestIds: [],
    timeRange: [first.open, last],
    evidence: attemptsEvidence(l),
    advice: 'QUIC (UDP) to this server does not get through: check firewalls and middleboxes for UDP on the advertised port, or stop advertising HTTP/3 (Alt-Svc, HTTPS DNS records) where it cannot be reached. Here the client raced it against TCP and lost no time; a client that waits for QUIC first would.',
  };
}

function fallbackFinding(g: Group, l: Attempt[]): Finding {
  const fb = l[0].fallback!;
  const first = l[0];
  const lost = Math.max(0, fb.syn - first.open);
  const evidence = attemptsEvidence(l);
  evidence.push(ev(fb.firstPacket, fb.syn, `TCP connection ${fb.id} to ${endpoint({ ip: g.server, port: fb.port })} (${fb.protocol}, ${fb.requests} request${fb.requests === 1 ? '' : 's'}): SYN ${fmtMs(lost)} after the first Initial`));
  return {
    kind: 'quic-blocked',
    rule: 'fallback-to-tcp',
    layer: 'quic',
    severity: lost > 0 ? 'warning' : 'info',
    summary: `${attemptsText(g, l)}; the client fell back to TCP (connection ${fb.id}) ${fmtMs(lost)} after its first Initial: ~${fmtMs(lost)} lost before anything reached the server`,
    connectionIds: [...new Set([...l.map((a) => a.id), fb.id])].sort((a, b) => a - b),
    requestIds: [],
    timeRange: [first.open, Math.max(first.open, fb.syn)],
    costMs: lost,
    evidence,
    advice:
      'QUIC (UDP) to this server does not get through, and every new connection waits for QUIC before it falls back: let UDP to the HTTP/3 port through firewalls and middleboxes, or stop advertising HTTP/3 (Alt-Svc, HTTPS DNS records) where it cannot be reached. Browsers remember a broken QUIC origin for a while and then try again.',
  };
}

function noFallbackFinding(g: Group, l: Attempt[], window: number): Finding {
  const first = l[0];
  const last = Math.max(...l.map((a) => a.last));
  const initials = l.reduce((s, a) => s + a.initials, 0);
  const evidence = attemptsEvidence(l);
  if (g.dropped) evidence.push(ev(null, null, `${g.dropped} more attempts not kept (MAX_ATTEMPTS_KEPT)`));
  return {
    kind: 'quic-blocked',
    rule: 'no-fallback',
    layer: 'quic',
    severity: 'warning',
    summary: `${l.length} QUIC attempt${l.length === 1 ? '' : 's'} from ${g.client} to ${origin(g)} got no answer (${initials} Initial${initials === 1 ? '' : 's'} over ${fmtMs(last - first.open)}, not one packet back), and no TCP connection to it followed within ${fmtMs(window)}`,
    connectionIds: l.map((a) => a.id),
    requestIds: [],
    timeRange: [first.open, last],
    costMs: last - first.open,
    evidence,
    advice: 'The server was not reachable over QUIC and the client did not fall back to TCP (it may be a QUIC-only client, or the capture ended first): check that UDP to the server port gets through, and that the server listens on it.',
  };
}

export const quicFallback: DetectorDef = defineDetector({
  name: 'quic-fallback',
  kinds: ['quic-blocked'],
  thresholds: THRESHOLDS,
  reads: {},
  stream,
});
