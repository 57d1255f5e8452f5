/**
 * HTTP/1.x persistence (RFC 9112 §9.3, §9.6) as pure functions: the Keep-Alive header parameters,
 * whether a connection persists after an exchange, and the HTTP-level reason a connection ended.
 */
import type { CloseReason, ConnectionClose, Side } from '../model/types.js';

export interface KeepAliveParams {
  timeoutS?: number;
  max?: number;
}

/**
 * `Keep-Alive: timeout=5, max=100` (RFC 2068 §19.7.1.1, never standardised). Parsed leniently:
 * separators `,` or `;`, spaces around `=`, quoted values, any case; unknown parameters ignored.
 */
export function parseKeepAlive(value: string): KeepAliveParams {
  const out: KeepAliveParams = {};
  for (const part of value.split(/[,;]/)) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim().toLowerCase();
    const raw = part.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
    const n = Number(raw);
    if (raw === '' || !Number.isFinite(n) || n < 0) continue;
    if (key === 'timeout') out.timeoutS = n;
    else if (key === 'max') out.max = Math.floor(n);
  }
  return out;
}

/** Lower-cased tokens of a Connection-like header value (RFC 9110 §7.6.1). */
export function connectionTokens(value: string | null | undefined): string[] {
  if (!value) return [];
  return value
    .toLowerCase()
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
}

/** Major.minor ≥ 1.1? `HTTP/1.1`, `HTTP/1.2` yes; `HTTP/1.0`, `HTTP/0.9` no. */
export function atLeast11(version: string): boolean {
  return version !== 'HTTP/1.0' && version !== 'HTTP/0.9';
}

/**
 * RFC 9112 §9.3: does the connection persist after this exchange? `close` from either side ends it;
 * otherwise each side must be HTTP/1.1+ or have sent `keep-alive` (an HTTP/1.0 peer).
 */
export function persistsAfter(reqVersion: string, reqConn: string[], respVersion: string, respConn: string[]): boolean {
  if (reqConn.includes('close') || respConn.includes('close')) return false;
  const clientOk = atLeast11(reqVersion) || reqConn.includes('keep-alive');
  const serverOk = atLeast11(respVersion) || respConn.includes('keep-alive');
  return clientOk && serverOk;
}

/** What the close-reason decision needs to know about a connection's last moments. */
export interface CloseFacts {
  /**
   * Who closed: the first FIN/RST seen, or null when the connection was still open at capture end.
   * This is the TCP layer's record (`Connection.close`, see `firstEndOf`), never re-derived by an
   * HTTP session: a session hears each direction end in stream order, and both directions at an RST,
   * so the first end it hears need not name the side that sent the first FIN or the RST.
   */
  firstEnd: { side: Side; how: 'fin' | 'rst'; time: number } | null;
  /** Exchanges still waiting for (the end of) a response when the connection ended. */
  outstanding: number;
  requestCount: number;
  /** About the last completed exchange, if any. */
  last: {
    index: number;
    closeDelimited: boolean;
    clientSentClose: boolean;
    serverSentClose: boolean;
    /** HTTP/1.0 exchange without keep-alive on both sides. */
    http10NoKeepAlive: boolean;
    /** Max advertised by this response (Keep-Alive: max=M), if any. */
    max?: number;
  } | null;
  /** `max` from the first response that advertised one (Apache counts it down per response). */
  firstMax?: number;
  /** The max advertised on the response before the last one (Apache's last keep-alive says max=1). */
  previousMax?: number;
  /** Server-advertised Keep-Alive timeout (s), the last one seen. */
  timeoutS?: number;
  /** Last application byte (either direction) before the close. */
  lastDataTime: number | null;
}

/** What an HTTP/1.x session knows of a connection's last moments: everything but who closed. */
export type HttpCloseFacts = Omit<CloseFacts, 'firstEnd'>;

/** `CloseFacts.firstEnd` from the TCP close record: who sent the first FIN/RST, and when. */
export function firstEndOf(close: Pick<ConnectionClose, 'by' | 'how' | 'time'>): CloseFacts['firstEnd'] {
  if (close.by === null || close.how === 'open' || close.time === null) return null;
  return { side: close.by, how: close.how, time: close.time };
}

/** Idle time matches an advertised timeout when within ±1 s or ±10 %, whichever is larger. */
export function matchesTimeout(idleMs: number, timeoutS: number): boolean {
  const t = timeoutS * 1000;
  return Math.abs(idleMs - t) <= Math.max(1000, 0.1 * t);
}

/**
 * The HTTP-level reason a connection ended, decided once per connection by the engine from the
 * session's `HttpCloseFacts` and the TCP close record (`firstEndOf`). First match wins:
 *   capture-end (no FIN/RST) → outstanding exchanges (rst / who closed) → close-delimited-body →
 *   max-requests → connection-close-header → http10-no-keepalive → idle-timeout (idle before the
 *   close ≈ advertised Keep-Alive timeout) → rst → client-close / server-close.
 */
export function decideCloseReason(f: CloseFacts): { reason: CloseReason; detail: string } {
  const e = f.firstEnd;
  if (!e) return { reason: 'capture-end', detail: 'The connection was still open when the capture ended.' };
  const who = e.side === 'client' ? 'client' : 'server';
  const idle = f.outstanding === 0 && f.lastDataTime !== null ? ` after ${((e.time - f.lastDataTime) / 1000).toFixed(1)} s idle` : '';
  const bySide = (): { reason: CloseReason; detail: string } =>
    e.how === 'rst'
      ? { reason: 'rst', detail: `The ${who} reset the connection${idle}.` }
      : { reason: e.side === 'client' ? 'client-close' : 'server-close', detail: `The ${who} closed the connection${idle}.` };
  if (f.outstanding > 0) {
    const r = bySide();
    return { reason: r.reason, detail: `${r.detail.slice(0, -1)} with ${f.outstanding} exchange(s) unanswered or unfinished.` };
  }
  const l = f.last;
  if (l) {
    if (l.closeDelimited)
      return { reason: 'close-delimited-body', detail: `Response ${l.index} had no length: its body ended with the connection.` };
    const maxReached =
      (l.max !== undefined && l.max <= 0) ||
      (l.serverSentClose && f.previousMax !== undefined && f.previousMax <= 1) ||
      (f.firstMax !== undefined && f.requestCount >= f.firstMax);
    if (maxReached && e.side === 'server')
      return { reason: 'max-requests', detail: `The server closed after ${f.requestCount} request(s), its Keep-Alive max.` };
    if (l.serverSentClose || l.clientSentClose) {
      const sender = l.serverSentClose ? 'server' : 'client';
      return { reason: 'connection-close-header', detail: `The ${sender} sent Connection: close on exchange ${l.index}; the ${who} closed.` };
    }
    if (l.http10NoKeepAlive)
      return { reason: 'http10-no-keepalive', detail: `HTTP/1.0 without keep-alive: exchange ${l.index} ended the connection.` };
  }
  if (f.timeoutS !== undefined && f.lastDataTime !== null) {
    const idle = e.time - f.lastDataTime;
    if (matchesTimeout(idle, f.timeoutS))
      return {
        reason: 'idle-timeout',
        detail: `The ${who} closed after ${(idle / 1000).toFixed(1)} s idle; Keep-Alive timeout=${f.timeoutS}.`,
      };
  }
  return bySide();
}
