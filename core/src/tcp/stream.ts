/**
 * The push interface between a byte-stream transport and application-layer parsers (gopacket's
 * reassembly.Stream, in spirit). Transport-neutral: TCP reassembly produces these chunks from
 * segments, a TLS session (tls/session.ts) produces them from decrypted records, and a QUIC stream
 * can produce them from STREAM frames; an HTTP session cannot tell which it is reading.
 *
 * Call order, per connection: the assembler calls `factory(conn)` once, when the connection is
 * created; then `onData` zero or more times, in capture order across both directions (a direction's
 * chunks are always in stream order); then `onEnd` at most once per direction (FIN or RST reached in
 * stream order); then `onClose` exactly once (connection finished, evicted, or capture end).
 *
 * Gaps are data, not exceptions: a chunk's `skipped` says how many stream bytes were never seen
 * before it (0 = contiguous with the previous chunk; -1 = the start of the direction was not seen,
 * so the parser must find a message boundary on its own).
 */
import type { Side } from '../model/types.js';

export interface StreamChunk {
  /**
   * Bytes of one transport unit: one TCP segment (the part not delivered before), or the plaintext
   * of one TLS record. Valid only during the callback.
   */
  data: Uint8Array;
  /**
   * Stream offset of data[0] in this stream's own byte numbering: for TCP counted from the first
   * byte after the SYN (or the first byte seen); for TLS plaintext from the first application byte.
   */
  offset: number;
  /** Bytes lost right before this chunk; -1 on the first chunk when the direction start was unseen. */
  skipped: number;
  /**
   * Capture time (ms since capture start) at which every byte of `data` had been captured: the
   * packet that carried a TCP segment; for a TLS record, its latest-captured segment (a record is
   * decrypted whole, so all its plaintext bytes share one time and one packet — the byte-range ↔
   * packet map of gopacket's ScatterGather.CaptureInfo is one range per chunk, and the transport
   * fields below map it further to the TCP octets).
   */
  time: number;
  /**
   * Capture time at which these bytes became deliverable in order: equal to `time` unless the segment
   * arrived out of order and waited for a hole to be filled (head-of-line blocking at the TCP layer).
   */
  deliveredTime: number;
  /** Frame number of the packet that carried these bytes (a TLS record: the one `time` is of). */
  packet: number;
  /**
   * Only on chunks a layer produced from another stream (TLS plaintext from TCP): where these bytes
   * travelled in the carrying stream's own numbering. `data[k]` was carried by transport octet
   * `transportOffset + k`, inside the unit [transportStart, transportEnd) that had to arrive whole
   * before any of it could be read (a TLS record: header, explicit nonce, ciphertext, tag). The
   * carrying stream's chunks reach the sink through `onTransport`, before the chunks made from them.
   */
  transportOffset?: number;
  transportStart?: number;
  transportEnd?: number;
}

export type EndHow = 'fin' | 'rst';

/** What a session knows of the stream it parses, whatever carries it. */
export interface StreamInfo {
  /** Connection id (tcp.stream numbering). */
  readonly id: number;
  /** Endpoints; shared with the transport, which may swap roles before the first chunk. */
  readonly client: { ip: string; port: number };
  readonly server: { ip: string; port: number };
  /** URL scheme of requests on this stream: 'https' inside TLS (or QUIC), else 'http'. */
  readonly scheme: 'http' | 'https';
  /** What carries the bytes. */
  readonly transport: 'tcp' | 'tls' | 'quic';
  /** The stream's first byte was seen (TCP: the SYN; TLS: the handshake). */
  readonly startSeen: boolean;
}

/** The port a URL omits for a scheme (RFC 9110 §4.2.1, §4.2.2). */
export function defaultPort(scheme: 'http' | 'https'): number {
  return scheme === 'https' ? 443 : 80;
}

/** `host[:port]` of the server as a URL authority, the port omitted when it is the default. */
export function serverAuthority(info: StreamInfo): string {
  const { ip, port } = info.server;
  const h = ip.includes(':') ? `[${ip}]` : ip;
  return port === defaultPort(info.scheme) ? h : `${h}:${port}`;
}

export interface StreamSink {
  onData(side: Side, chunk: StreamChunk): void;
  /**
   * A chunk of the stream that carries this one (TLS: a TCP segment, as the TLS session read it),
   * called before the `onData` calls for the plaintext it completes, for sinks that measure the
   * carrying stream itself (HTTP/2's TCP head-of-line tracker, http2/tcp-hol.ts). Never called on a
   * sink that reads the transport directly.
   */
  onTransport?(side: Side, chunk: StreamChunk): void;
  /** The side sent FIN/RST; reached in stream order (or, for RST, when seen). */
  onEnd?(side: Side, how: EndHow, time: number, packet: number): void;
  /** The connection is finished; `time` is its last packet's time (or capture end). */
  onClose?(time: number): void;
}

export type StreamFactory = (info: StreamInfo) => StreamSink | null;
