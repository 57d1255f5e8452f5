/**
 * What an application-layer session (HTTP/1.x, HTTP/2) reports to the engine. Sessions are
 * StreamSinks (tcp/stream.ts) created per connection; they push finished exchanges and facts here.
 * The engine assigns ids (in order of `request()` calls), fills `connectionId`, the connection-setup
 * times (DNS, TCP connect, TLS) and `timings` (model/phases.ts), and links requests to connections.
 */
import type { Anomaly, AppProtocol, CloseReason, H2ConnectionFacts, KeepAliveContract, Request, RequestTimes, TlsInfo } from './types.js';
import type { HttpCloseFacts } from '../http1/keepalive.js';

/** A finished (or, at close, abandoned) exchange, before the engine fills ids and timings. */
export type RequestDraft = Omit<Request, 'id' | 'connectionId' | 'timings'>;

export interface ExchangeSink {
  /** One exchange, as soon as it is complete (or at connection close if it never completed). */
  request(draft: RequestDraft): void;
  /** The protocol spoken on the connection (may be called again, e.g. http/1.1 → h2c after 101). */
  protocol(p: AppProtocol): void;
  /** A connection-level anomaly (a request-level one goes on the draft's `anomalies`). */
  anomaly(a: Anomaly): void;
  /**
   * Keep-alive contract as negotiated; called whenever it changes, the last call wins. `contract`
   * makes it as of when it is called (the HTTP/1 session keeps the per-exchange lists in a byte an
   * exchange, model/persist-log.ts): the engine calls it once, for the connection's record.
   */
  keepAlive(contract: () => KeepAliveContract): void;
  /** The application layer's view of why the connection ended (refines the TCP close facts). */
  closeReason(reason: CloseReason, detail: string): void;
  /**
   * HTTP/1.x: the facts of the connection's last moments; the engine decides the reason from them
   * and the TCP close record (http1/keepalive.ts `decideCloseReason`), so who closed is decided once,
   * by TCP. The later of this and `closeReason` wins. Sinks that can carry HTTP/1.x — the engine's,
   * and wrappers such as the TLS session's — implement it; without it the TCP reason stands.
   */
  closeFacts?(facts: HttpCloseFacts): void;
  /** Free-form protocol facts for `connection.extra` (merged shallowly): HTTP/1.x and HTTP/3 only. */
  extra(facts: Record<string, unknown>): void;
  /** HTTP/2 facts for `connection.h2` (the HTTP/2 session calls this at close; the last call wins). */
  h2?(facts: H2ConnectionFacts): void;
  /** TLS facts of the connection (the TLS session calls this at close; the last call wins). */
  tls?(info: TlsInfo): void;
}

/**
 * The times of an exchange as a session sees them: request and response start/end. Connection
 * setup (DNS, connect, TLS) and queueing are the engine's to fill (see above).
 */
export function exchangeTimes(requestStart: number, requestEnd: number | null, responseStart: number | null, responseEnd: number | null): RequestTimes {
  return {
    queuedTime: null,
    dnsStartTime: null,
    dnsEndTime: null,
    connectStartTime: null,
    connectEndTime: null,
    sslStartTime: null,
    sslEndTime: null,
    requestStartTime: requestStart,
    requestEndTime: requestEnd,
    responseStartTime: responseStart,
    responseEndTime: responseEnd,
  };
}
