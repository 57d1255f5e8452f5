/**
 * The push interface between TCP reassembly and application-layer parsers (gopacket's
 * reassembly.Stream, in spirit).
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
  /** Bytes of one TCP segment (the part not delivered before). Valid only during the callback. */
  data: Uint8Array;
  /** Stream offset of data[0], counted from the first byte after the SYN (or first byte seen). */
  offset: number;
  /** Bytes lost right before this chunk; -1 on the first chunk when the direction start was unseen. */
  skipped: number;
  /** Capture time (ms since capture start) of the packet that carried these bytes. */
  time: number;
  /**
   * Capture time at which these bytes became deliverable in order: equal to `time` unless the segment
   * arrived out of order and waited for a hole to be filled (head-of-line blocking at the TCP layer).
   */
  deliveredTime: number;
  /** Frame number of the packet that carried these bytes. */
  packet: number;
}

export type EndHow = 'fin' | 'rst';

export interface StreamInfo {
  readonly id: number;
  readonly client: { ip: string; port: number };
  readonly server: { ip: string; port: number };
}

export interface StreamSink {
  onData(side: Side, chunk: StreamChunk): void;
  /** The side sent FIN/RST; reached in stream order (or, for RST, when seen). */
  onEnd?(side: Side, how: EndHow, time: number, packet: number): void;
  /** The connection is finished; `time` is its last packet's time (or capture end). */
  onClose?(time: number): void;
}

export type StreamFactory = (info: StreamInfo) => StreamSink | null;
