/**
 * Protocol detection per connection, on any port: the first bytes decide which session parses the
 * connection. Bytes seen while deciding are replayed into the chosen session unchanged.
 *
 *   client sends "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"        → HTTP/2 with prior knowledge (RFC 9113 §3.3)
 *   an HTTP/1.x request line or status line               → HTTP/1.x (h2c Upgrade continues in HTTP/2)
 *   a TLS record header (0x16 0x03 0x0x)                  → TLS (tls/session.ts), and inside it
 *                                                            the session the server's ALPN chose
 *                                                            (RFC 7301 §3.2, as undici chooses by
 *                                                            ALPN), else these rules on the plaintext
 *   anything else after DETECT_MAX_BYTES                  → unknown (bytes counted, not parsed)
 */
import type { ExchangeSink } from './model/exchange.js';
import type { Side } from './model/types.js';
import { Http1Session } from './http1/session.js';
import { Http2Session } from './http2/session.js';
import { looksLikeHttp1Request, looksLikeHttp1Response } from './http1/sniff.js';
import type { StreamChunk, StreamInfo, StreamSink } from './tcp/stream.js';
import { TlsSession } from './tls/session.js';
import type { KeyLog } from './tls/keylog.js';
import type { MarkBudget } from './tcp/marks.js';
import { H2DataTap } from './h2-data-marks.js';

/** Bytes examined per direction before a connection is declared unknown. */
export const DETECT_MAX_BYTES = 64;

const H2_PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';

/** True when `d` is (a prefix of, if `partial`) the HTTP/2 client connection preface. */
export function looksLikeH2Preface(d: Uint8Array, partial = false): boolean {
  const n = Math.min(d.length, H2_PREFACE.length);
  if (!partial && n < H2_PREFACE.length) return false;
  for (let i = 0; i < n; i++) if (d[i] !== H2_PREFACE.charCodeAt(i)) return false;
  return true;
}

/**
 * The first bytes of a TLS stream:
 *  - a handshake record (RFC 8446 §5.1: ContentType handshake(22), legacy_record_version 3.0–3.4);
 *  - an SSL 2.0-compatible ClientHello (RFC 5246 Appendix E.2: a 2-byte length with the high bit
 *    set, msg_type 1, version 3.x), which old clients still send to TLS servers;
 *  - when the capture started mid-connection (`startUnseen`), any other record a TLS connection
 *    carries after its handshake: application data, alert or ChangeCipherSpec, version 3.1–3.4,
 *    with a length within RFC 5246 §6.2.3's bound — its keys cannot be known, but it is TLS.
 */
export function looksLikeTls(d: Uint8Array, startUnseen = false): boolean {
  if (d.length < 3) return false;
  if (d[0] === 0x16 && d[1] === 0x03 && d[2] <= 0x04) return true;
  if ((d[0] & 0x80) !== 0 && d.length >= 5 && d[2] === 0x01 && d[3] === 0x03 && d[4] <= 0x04) return true;
  if (startUnseen && d.length >= 5 && (d[0] === 0x17 || d[0] === 0x15 || d[0] === 0x14) && d[1] === 0x03 && d[2] >= 0x01 && d[2] <= 0x04) {
    return ((d[3] << 8) | d[4]) <= (1 << 14) + 2048;
  }
  return false;
}

type Decision = 'http1' | 'h2' | 'tls' | 'unknown' | null;

function decide(side: Side, d: Uint8Array, tlsAllowed: boolean, startUnseen: boolean): Decision {
  if (side === 'client') {
    if (looksLikeH2Preface(d)) return 'h2';
    if (looksLikeH2Preface(d, true)) return null; // need more bytes
  }
  if (tlsAllowed && looksLikeTls(d, startUnseen)) return 'tls';
  if (looksLikeHttp1Request(d) || looksLikeHttp1Response(d)) return 'http1';
  if (d.length >= DETECT_MAX_BYTES || d.indexOf(0x0a) >= 0) return 'unknown';
  return null;
}

/** A session that finishes some work asynchronously (Node's zlib body decoders). */
export interface SettlingSink extends StreamSink {
  settled?(): Promise<void>;
  /** Asynchronous work is unfinished now (`settled()` would not resolve at once). */
  busy?(): boolean;
}

/** What sessions share across a capture: the key log and the capture's counters. */
export interface SessionContext {
  keys: KeyLog | null;
  count(name: string, n?: number): void;
  /** Set when the analysis keeps packet marks (AnalyzeOptions.packetMarks): HTTP/2 sessions get an H2DataTap. */
  markBudget?: MarkBudget | null;
}

/** An HTTP/2 session, behind an H2DataTap when packet marks are kept (h2-data-marks.ts). */
function withDataTap(out: ExchangeSink, ctx: SessionContext | null, make: (out: ExchangeSink) => Http2Session): SettlingSink {
  const budget = ctx?.markBudget;
  if (!budget) return make(out);
  const tap = new H2DataTap(out, budget, (n) => ctx!.count(n));
  tap.inner = make(tap.out);
  return tap;
}

function makeHttp1(conn: StreamInfo, out: ExchangeSink, ctx: SessionContext | null): SettlingSink {
  const count = ctx ? (n: string, k?: number) => ctx.count(n, k) : undefined;
  return new Http1Session(conn, out, {
    count,
    // h2c (RFC 7540 §3.2; dropped from RFC 9113 but still deployed): after `101 Switching
    // Protocols` the rest of both directions is HTTP/2, stream 1 answering the upgrading request.
    onUpgrade: (kind, { request: r }) => {
      if (kind !== 'h2c') return null;
      out.protocol(conn.scheme === 'https' ? 'h2' : 'h2c');
      return withDataTap(out, ctx, (o) => Http2Session.afterUpgrade(conn, o, r ? {
        request: {
          method: r.method,
          target: r.target,
          url: r.url,
          headers: r.requestHeaders,
          headerBytes: r.sizes.requestHeaders,
          bodyBytes: r.sizes.requestBody,
          startTime: r.times.requestStartTime,
          endTime: r.times.requestEndTime,
          packets: r.packets.request,
        },
        index: r.index,
        switchTime: r.times.responseStartTime ?? undefined,
        switchPacket: r.packets.response?.[0],
      } : {}, count));
    },
  });
}

/** A sink that buffers the first bytes until the protocol is known, then hands over. */
export class DetectSink implements SettlingSink {
  /** Chunks held until the decision, with the carrying stream's chunks among them (onTransport). */
  private readonly pending: { side: Side; chunk: StreamChunk; transport: boolean }[] = [];
  private readonly head: Record<Side, Uint8Array> = { client: new Uint8Array(0), server: new Uint8Array(0) };
  private target: SettlingSink | null = null;
  private decided = false;

  constructor(
    private readonly conn: StreamInfo,
    private readonly out: ExchangeSink,
    private readonly ctx: SessionContext | null = null,
  ) {}

  onData(side: Side, chunk: StreamChunk): void {
    if (this.decided) {
      this.target?.onData(side, chunk);
      return;
    }
    // Copy: chunks are only valid during the callback.
    this.pending.push({ side, chunk: { ...chunk, data: new Uint8Array(chunk.data) }, transport: false });
    const h = this.head[side];
    const take = chunk.data.subarray(0, Math.max(0, DETECT_MAX_BYTES - h.length));
    const merged = new Uint8Array(h.length + take.length);
    merged.set(h);
    merged.set(take, h.length);
    this.head[side] = merged;
    let d = decide(side, merged, this.conn.transport === 'tcp', !this.conn.startSeen);
    if (d === null && this.conn.startSeen === false && this.head.client.length + this.head.server.length >= 2 * DETECT_MAX_BYTES) {
      d = 'unknown';
    }
    if (d !== null) this.choose(d);
  }

  onTransport(side: Side, chunk: StreamChunk): void {
    if (this.decided) this.target?.onTransport?.(side, chunk);
    else this.pending.push({ side, chunk: { ...chunk, data: new Uint8Array(chunk.data) }, transport: true });
  }

  private choose(d: Exclude<Decision, null>): void {
    this.decided = true;
    switch (d) {
      case 'http1':
        this.target = makeHttp1(this.conn, this.out, this.ctx);
        break;
      case 'h2':
        // Prior knowledge (RFC 9113 §3.3): the client preface opens the connection.
        this.out.protocol(this.conn.scheme === 'https' ? 'h2' : 'h2c');
        this.target = withDataTap(this.out, this.ctx, (o) => new Http2Session(this.conn, o, { prefaceSeen: this.conn.startSeen, count: this.ctx ? (n, k) => this.ctx!.count(n, k) : undefined }));
        break;
      case 'tls':
        this.out.protocol('tls');
        this.target = newTlsSession(this.conn, this.out, this.ctx);
        break;
      default:
        this.out.protocol('unknown');
    }
    const t = this.target;
    if (t) {
      for (const { side, chunk, transport } of this.pending) {
        if (!transport) t.onData(side, chunk);
        else t.onTransport?.(side, chunk);
      }
    }
    this.pending.length = 0;
  }

  onEnd(side: Side, how: 'fin' | 'rst', time: number, packet: number): void {
    if (!this.decided) this.flushUndecided();
    this.target?.onEnd?.(side, how, time, packet);
  }

  onClose(time: number): void {
    if (!this.decided) this.flushUndecided();
    this.target?.onClose?.(time);
  }

  private flushUndecided(): void {
    // Too few bytes to be sure: take the best guess from what there is.
    const c = this.head.client;
    const s = this.head.server;
    if (looksLikeHttp1Request(c) || looksLikeHttp1Response(s)) this.choose('http1');
    else if (looksLikeH2Preface(c, true) && c.length >= 3) this.choose('h2');
    else this.choose('unknown');
  }

  settled(): Promise<void> {
    return this.target?.settled?.() ?? Promise.resolve();
  }

  busy(): boolean {
    return this.target?.busy?.() ?? false;
  }
}

function newTlsSession(conn: StreamInfo, out: ExchangeSink, ctx: SessionContext | null): TlsSession {
  return new TlsSession(conn, out, {
    keys: ctx?.keys ?? null,
    count: ctx ? (n, k) => ctx.count(n, k) : () => {},
    inner: (info, alpn, innerOut) => {
      // RFC 7301 §3.2: the server's ALPN choice names the protocol; RFC 9113 §3.2: "h2" over TLS
      // starts with the client preface like prior knowledge.
      if (alpn === 'h2') {
        innerOut.protocol('h2');
        return withDataTap(innerOut, ctx, (o) => new Http2Session(info, o, { prefaceSeen: info.startSeen, count: ctx ? (n, k) => ctx.count(n, k) : undefined }));
      }
      if (alpn === 'http/1.1' || alpn === 'http/1.0') return makeHttp1(info, innerOut, ctx);
      return new DetectSink(info, innerOut, ctx);
    },
  });
}

/** The session for a TCP connection (`info` is the connection as StreamInfo). */
export function createSession(info: StreamInfo, out: ExchangeSink, ctx: SessionContext | null = null): DetectSink {
  return new DetectSink(info, out, ctx);
}
