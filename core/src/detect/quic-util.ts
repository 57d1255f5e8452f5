/**
 * Helpers shared by the QUIC detectors (quic-missed-reuse.ts, quic-alt-svc.ts, quic-fallback.ts,
 * quic-0rtt.ts): what a QUIC connection cost to set up, whether its server answered at all, and
 * the QUIC facts cross-connection detectors need in `onOrdered` — where streaming hands them slim
 * copies without `quic` (stream.ts `slimConnection`), so `QuicFactsBook` notes those facts from the
 * whole connection in `onConnection` (which always comes first) and hands them back once.
 * Pure functions of the records; no detector state lives here but the book's own entries.
 */
import type { Connection } from '../model/types.js';
import { fmtMs } from './util.js';

export function isQuic(c: Connection): boolean {
  return c.transport === 'quic';
}

/** What the QUIC detectors read of `connection.quic` (absent from the slim copies `onOrdered` gets). */
export interface QuicFacts {
  /** The server sent at least one packet (any type: Initial, Handshake, Retry, Version Negotiation…). */
  answered: boolean;
  /** Client Initial packets (the client's attempts when nothing answers). */
  clientInitials: number;
  /** Client 0-RTT packets. */
  zeroRttPackets: number;
  /** Client 1-RTT packets: the client finished its handshake and sent on. */
  clientOneRtt: number;
  retry: boolean;
  end: NonNullable<Connection['quic']>['end'];
  idleTimeoutMs: number | null;
  /** Each side's max_idle_timeout transport parameter (ms; 0 or absent: none). */
  idleTp: { client: number; server: number };
  /** A CONNECTION_CLOSE was seen (in 1-RTT packets only with keys). */
  closeSeen: boolean;
}

function tpMs(tp: Record<string, number | string | boolean> | null | undefined): number {
  const v = tp?.max_idle_timeout;
  return typeof v === 'number' && v > 0 ? v : 0;
}

export function quicFacts(c: Connection): QuicFacts | null {
  const q = c.quic;
  if (!q) return null;
  const s = q.packets.server;
  return {
    answered: s.initial + s.handshake + s.zeroRtt + s.oneRtt + s.retry + s.versionNegotiation + s.undecryptable > 0,
    clientInitials: q.packets.client.initial,
    zeroRttPackets: q.packets.client.zeroRtt,
    clientOneRtt: q.packets.client.oneRtt,
    retry: q.retry !== null,
    end: q.end,
    idleTimeoutMs: q.idleTimeoutMs,
    idleTp: { client: tpMs(q.transportParameters.client), server: tpMs(q.transportParameters.server) },
    closeSeen: q.close !== null,
  };
}

/**
 * The QUIC facts of connections between `onConnection` and `onOrdered` (each connection is handed
 * to both, `onConnection` first): at most the connections the stream driver itself holds.
 */
export class QuicFactsBook {
  private readonly m = new Map<number, QuicFacts>();
  note(c: Connection): void {
    if (!isQuic(c)) return;
    const f = quicFacts(c);
    if (f) this.m.set(c.id, f);
  }
  /** The facts noted for `c` (forgotten here); from `c` itself when it still has them. */
  take(c: Connection): QuicFacts | null {
    const f = this.m.get(c.id);
    this.m.delete(c.id);
    return f ?? quicFacts(c);
  }
}

/** The QUIC connection's own 1-RTT packets are undecryptable without keys: its requests, close and streams are not visible. */
export function quicVisible(c: Connection): boolean {
  return c.tls?.decrypted === true;
}

export interface QuicSetupCost {
  /** Time the client waited before it could send requests: first Initial → its handshake end (0 with 0-RTT accepted). */
  ms: number;
  /** The measured handshake (first Initial → the client's handshake end), whatever 0-RTT hid of it; 0 unknown. */
  handshakeMs: number;
  /** Round trips before the requests could go: 1 (TLS 1.3 inside QUIC, RFC 9001 §4.1), +1 after a Retry or a HelloRetryRequest, 0 with 0-RTT accepted. */
  rtts: number;
  zeroRtt: boolean;
  /** "QUIC handshake 22 ms: 1 round trip" */
  what: string;
}

/**
 * What setting up a QUIC connection cost its client (RFC 9001 §4.1: the TLS 1.3 handshake runs in
 * QUIC's first round trip; RFC 9000 §8.1.2: a Retry adds one; RFC 9001 §4.6: with 0-RTT accepted
 * the requests go out with the first Initial and wait for no handshake).
 */
export function quicSetupCost(c: Connection, f: QuicFacts | null): QuicSetupCost {
  const t = c.tls;
  const handshakeMs = c.handshakeRttMs > 0 ? c.handshakeRttMs : 0;
  const zeroRtt = t?.earlyData === 'accepted';
  const base = t && t.handshakeRtts >= 0 ? t.handshakeRtts : 1;
  const rtts = zeroRtt ? 0 : Math.max(1, base) + (f?.retry ? 1 : 0);
  const ms = zeroRtt ? 0 : handshakeMs;
  const extra = [f?.retry ? 'after a Retry' : '', t?.helloRetry ? 'after a HelloRetryRequest' : ''].filter(Boolean).join(' and ');
  const what = zeroRtt
    ? `QUIC handshake ${handshakeMs > 0 ? fmtMs(handshakeMs) : '(time not seen)'} with 0-RTT accepted: the requests did not wait for it (0 round trips)`
    : `QUIC handshake ${handshakeMs > 0 ? fmtMs(handshakeMs) : '(time not seen)'}${extra ? ` ${extra}` : ''}: ${rtts} round trip${rtts === 1 ? '' : 's'}`;
  return { ms, handshakeMs, rtts, zeroRtt, what };
}
