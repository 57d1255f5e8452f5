/**
 * What a QUIC connection hands to its application session (HTTP/3): the bytes of each stream as the
 * transport-neutral chunks of tcp/stream.ts — the same StreamChunk an HTTP/1 or HTTP/2 session reads
 * from TCP or TLS, one ordered byte stream per (stream, direction).
 *
 * Call order, per connection: `onStreamData` zero or more times, in capture order across streams
 * and directions (each (stream, direction) in offset order, gaps as `skipped`); `onStreamEnd` at most
 * once per (stream, direction), when its FIN is reached in order or a RESET_STREAM is seen;
 * `onStopSending` when a side asks its peer to stop; then `onClose` exactly once.
 *
 * Stream ids (RFC 9000 §2.1): bit 0 is the initiator (0 client, 1 server), bit 1 the direction
 * (0 bidirectional, 1 unidirectional). On a bidirectional stream both sides send; on a
 * unidirectional one only its initiator.
 */
import type { Side } from '../model/types.js';
import type { EndHow, StreamChunk } from '../tcp/stream.js';

export interface QuicStreamSink {
  onStreamData(streamId: number, side: Side, chunk: StreamChunk): void;
  /** FIN reached in order (`fin`) or RESET_STREAM (`rst`, with its application error code). */
  onStreamEnd?(streamId: number, side: Side, how: EndHow, time: number, packet: number, errorCode?: number): void;
  /** STOP_SENDING from `side` (RFC 9000 §19.5): it no longer reads what its peer sends on the stream. */
  onStopSending?(streamId: number, side: Side, errorCode: number, time: number, packet: number): void;
  onClose?(time: number): void;
  settled?(): Promise<void>;
  busy?(): boolean;
}

/** Initiator of a stream (RFC 9000 §2.1). */
export const streamInitiator = (id: number): Side => (id % 2 === 0 ? 'client' : 'server');
/** A unidirectional stream (RFC 9000 §2.1). */
export const isUniStream = (id: number): boolean => Math.floor(id / 2) % 2 === 1;
