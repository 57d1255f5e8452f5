/**
 * HTTP/1.x persistence (RFC 9112 §9.3, §9.6) and message framing (RFC 9112 §6.3) as pure functions:
 * the Keep-Alive header parameters, how each message is delimited, why each side let a connection
 * persist or not after an exchange, whether it stayed reusable, and the HTTP-level reason a
 * connection ended.
 *
 * Each of these protocol facts is decided here once. The session (session.ts) calls these
 * functions and records their results — per exchange on the connection's `keepAlive` contract
 * (`clientPersistence`, `serverPersistence`, `reusableAfter`) and on the request
 * (`http1.closeDelimited`); the detectors, the what-if model and the UI read those records and
 * never decide the same fact again from headers.
 */
import type { CloseReason, ConnectionClose, PersistBasis, Side } from '../model/types.js';

export type { PersistBasis } from '../model/types.js';

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
 * RFC 9112 §9.3: what the recipient of one message (the server reading a request, the client
 * reading a response) decides about the connection after it, and why — the RFC's tests in its
 * order. `connection`: the message's Connection options, lower-cased (`connectionTokens`).
 */
export function persistBasis(version: string, connection: readonly string[]): PersistBasis {
  // §9.3: "If the 'close' connection option is present (Section 9.6), the connection will not
  // persist after the current response".
  if (connection.includes('close')) return 'close';
  // "else, if the received protocol is HTTP/1.1 (or later), the connection will persist".
  if (atLeast11(version)) return 'http/1.1';
  // "else, if the received protocol is HTTP/1.0, the 'keep-alive' connection option is present
  // [...], the connection will persist" (the HTTP/1.0 mechanism: Appendix C.2.2, RFC 2068 §19.7.1).
  if (connection.includes('keep-alive')) return 'keep-alive';
  // "otherwise, the connection will close after the current response" (HTTP/1.0, and HTTP/0.9,
  // which has no headers).
  return 'http/1.0';
}

/**
 * Did this side let the connection persist? `http/1.1` and `keep-alive` yes; `close`, `http/1.0`
 * no, and null (not known: no response seen, or a request not recorded) no.
 */
export function persists(basis: PersistBasis | null | undefined): boolean {
  return basis === 'http/1.1' || basis === 'keep-alive';
}

/**
 * RFC 9112 §9.3: does the connection persist after this exchange? Only when both recipients
 * decided so (`persistBasis` of the request and of the response): `close` from either side ends
 * it; otherwise each side must be HTTP/1.1+ or have sent `keep-alive` (an HTTP/1.0 peer).
 */
export function persistsAfter(reqVersion: string, reqConn: readonly string[], respVersion: string, respConn: readonly string[]): boolean {
  return persists(persistBasis(reqVersion, reqConn)) && persists(persistBasis(respVersion, respConn));
}

/**
 * How a message's body is delimited (RFC 9112 §6.3), as the session frames it:
 *  - `none`: no body, the message ends with its header block;
 *  - `length`: Content-Length octets; `chunked`: the chunked transfer coding;
 *  - `close`: (responses) the body runs until the server closes the connection — a close-delimited
 *    response, the only kind that is not self-delimited;
 *  - `invalid`: (requests) a Transfer-Encoding not ending in chunked: the length cannot be
 *    determined (the server answers 400 and closes);
 *  - `interim`: a 1xx response other than 101, which the final response follows;
 *  - `switch`: 101 Switching Protocols; `tunnel`: a 2xx answer to CONNECT — the connection carries
 *    another protocol right after the header block.
 */
export type BodyFraming = 'none' | 'length' | 'chunked' | 'close' | 'invalid' | 'interim' | 'switch' | 'tunnel';

/**
 * RFC 9112 §6.3 ¶1–2: a response framed by its request's method and its status alone, before any
 * framing header is read; null when its headers decide (`framingByHeaders`).
 */
export function framingByStatus(method: string, status: number): BodyFraming | null {
  // RFC 9110 §15.2.2: after a 101 the connection speaks the protocol named by Upgrade.
  if (status === 101) return 'switch';
  // ¶1, RFC 9110 §15.2: a 1xx (interim) response ends with its header block.
  if (status >= 100 && status < 200) return 'interim';
  // ¶2, RFC 9110 §9.3.6: after a 2xx to CONNECT the connection is a tunnel; the response has no body.
  if (method === 'CONNECT' && status >= 200 && status < 300) return 'tunnel';
  // ¶1: a response to HEAD, and any 204 or 304, ends with its header block.
  if (method === 'HEAD' || status === 204 || status === 304) return 'none';
  return null;
}

/**
 * RFC 9112 §6.3 ¶3–8: the body length of a message from its framing headers. `chunkedFinal`: null
 * without Transfer-Encoding, else whether chunked is its final coding (`transferCodingsChunked`);
 * `contentLength`: null without Content-Length, -1 when unusable (not digits), else its value.
 */
export function framingByHeaders(side: Side, chunkedFinal: boolean | null, contentLength: number | null): BodyFraming {
  if (chunkedFinal !== null) {
    // ¶3: Transfer-Encoding overrides Content-Length. ¶4: chunked as the final coding: chunked.
    if (chunkedFinal) return 'chunked';
    // ¶4: otherwise a response is read until the server closes; a request's length cannot be
    // determined (the server responds 400 and closes).
    return side === 'server' ? 'close' : 'invalid';
  }
  // ¶5: an invalid Content-Length is an unrecoverable framing error. Read leniently: a response
  // until the close (the RFC has a user agent discard it and close), a request as bodiless.
  if (contentLength === -1) return side === 'server' ? 'close' : 'none';
  // ¶6: Content-Length octets (none when 0).
  if (contentLength !== null) return contentLength === 0 ? 'none' : 'length';
  // ¶7: a request with neither has no body. ¶8: a response with neither runs until the close.
  return side === 'client' ? 'none' : 'close';
}

/** The final Transfer-Encoding coding is chunked? (RFC 9112 §6.3 ¶4, §7). null when the header is absent. */
export function transferCodingsChunked(transferEncoding: string | null): boolean | null {
  if (transferEncoding === null) return null;
  const codings = connectionTokens(transferEncoding);
  return codings[codings.length - 1] === 'chunked';
}

/**
 * RFC 9112 §6.3: is a response with this framing self-delimited (not ended by the connection's
 * close)? null — a header block cut short by a gap or by its size limit, never framed — counts as
 * self-delimited: the session resynchronises on the next message.
 */
export function selfDelimited(framing: BodyFraming | null): boolean {
  return framing !== 'close';
}

/** What `reusableAfter` decides from (one exchange, its final response complete). */
export interface ReuseFacts {
  /** `persistBasis` of the request and of the response (null: not known, not persistent). */
  client: PersistBasis | null;
  server: PersistBasis | null;
  /** The response's framing (`framingByStatus` ?? `framingByHeaders`; null: see `selfDelimited`). */
  framing: BodyFraming | null;
  /** The request's version. */
  version: string;
  /** `Keep-Alive: max` advertised by this response, if any. */
  max?: number;
}

/**
 * Is the connection still reusable for another HTTP/1 request after this exchange? Decided once
 * per completed exchange by the session and recorded as `keepAlive.reusableAfter` (an exchange the
 * connection ended before its response completed is recorded as not reusable).
 */
export function reusableAfter(x: ReuseFacts): boolean {
  // RFC 9112 §9.3: both recipients must have decided to persist.
  if (!persists(x.client) || !persists(x.server)) return false;
  // RFC 9112 §6.3 ¶8: a close-delimited body ends with the connection.
  if (!selfDelimited(x.framing)) return false;
  // RFC 9110 §7.8, §9.3.6: after a 101 or a 2xx to CONNECT the connection no longer carries HTTP/1.
  if (x.framing === 'switch' || x.framing === 'tunnel') return false;
  // HTTP/0.9 has no persistent connections (its response has no header and runs until the close).
  if (x.version === 'HTTP/0.9') return false;
  // `Keep-Alive: max=0` (RFC 2068 §19.7.1.1): the server accepts no further request.
  if (x.max === 0) return false;
  return true;
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
    /** Connection: close from the client / the server (`persistBasis` 'close' of its message). */
    clientSentClose: boolean;
    serverSentClose: boolean;
    /** An HTTP/1.0 message without keep-alive on either side (`persistBasis` 'http/1.0'). */
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
