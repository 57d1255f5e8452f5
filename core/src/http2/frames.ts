/**
 * Incremental HTTP/2 frame parser, one per direction (RFC 9113 §4, §6).
 *
 * Push in (`push(chunk)` with the reassembled TCP chunks of one direction, in stream order), frames
 * out (`onFrame`), call order: frames in wire order; `onAnomaly` as soon as a problem is seen. It
 * never throws on input. Each frame records the packet number and capture time of its first and
 * last byte (from the chunk that carried it).
 *
 * Memory: a frame payload is buffered until complete, except DATA and unknown-type payloads, which
 * are never kept (only their lengths, padding octet and flags matter here). A non-DATA payload longer
 * than MAX_BUFFERED_FRAME_PAYLOAD is skipped the same way and the frame is delivered `malformed`.
 *
 * Framing errors: a length above the receiver's SETTINGS_MAX_FRAME_SIZE is a FRAME_SIZE_ERROR
 * anomaly but the length is still trusted (it fits 24 bits by construction), so parsing continues at
 * the next frame. Frames with a wrong fixed length, a stream id that breaks §6's rules, or padding
 * longer than the payload are delivered with `malformed` set (and an anomaly).
 *
 * Capture gaps (`chunk.skipped`):
 *   - a gap that ends inside the current frame's payload keeps the frame boundary: the frame is
 *     delivered with `lostBytes` (for DATA nothing else is lost);
 *   - a gap that reaches past the end of the current frame, or falls in a frame header, loses the
 *     boundary. The parser reports H2_FRAME_SYNC_LOST and scans for a plausible frame header: a
 *     known type with only defined flags, the reserved bit clear, a length ≤ SETTINGS_MAX_FRAME_SIZE,
 *     the stream-id and fixed-length rules of its type — confirmed by a second plausible header right
 *     after it (or by the end of the buffered bytes). The scan can lock onto bytes inside a payload
 *     that happen to look like a header; the scan buffer is bounded by MAX_RESYNC_BUFFER.
 *   - `skipped === -1` (direction start unseen) starts in scan mode as well, without an anomaly.
 *
 * Bytes processed while scanning are attributed to the chunk being pushed (packet numbers of a
 * resynchronised frame's first bytes can be later than the true ones).
 */
import type { Anomaly, Side } from '../model/types.js';
import type { StreamChunk } from '../tcp/stream.js';
import {
  DEFAULT_MAX_FRAME_SIZE,
  DEFINED_FLAGS,
  FRAME_HEADER_LENGTH,
  FRAME_TYPE_NAMES,
  Flags,
  FrameType,
  errorCodeName,
  type FrameTypeName,
} from './constants.js';

/** Largest non-DATA payload kept in memory (HEADERS, CONTINUATION, SETTINGS, GOAWAY, ...). */
export const MAX_BUFFERED_FRAME_PAYLOAD = 1 << 20;
/** Bytes kept while looking for a frame header after the boundary was lost. */
export const MAX_RESYNC_BUFFER = 64 * 1024;
/** GOAWAY debug data kept (characters). */
export const MAX_GOAWAY_DEBUG = 256;

export interface Priority {
  exclusive: boolean;
  dependency: number;
  /** 1–256 (wire value + 1). */
  weight: number;
}

export interface FrameInfo {
  type: number;
  flags: number;
  streamId: number;
  /** Payload length from the frame header. */
  length: number;
  /** Stream offset of the first header octet (as delivered by the reassembler). */
  offset: number;
  firstPacket: number;
  lastPacket: number;
  /** Capture times of the packets that carried the first and the last octet. */
  startTime: number;
  endTime: number;
  /**
   * When those octets became deliverable in order (chunk.deliveredTime): later than the capture
   * time when TCP held them behind a hole (head-of-line blocking).
   */
  startDeliveredTime: number;
  endDeliveredTime: number;
  /** Payload octets missing from the capture (gap inside the frame). */
  lostBytes: number;
  /** Why the frame is not usable as its type says (an anomaly was reported); content fields are then empty. */
  malformed?: string;
}

export type FramePayload =
  | { kind: 'DATA'; endStream: boolean; padLength: number; dataLength: number }
  | { kind: 'HEADERS'; endStream: boolean; endHeaders: boolean; padLength: number; priority?: Priority; fragment: Uint8Array }
  | { kind: 'PRIORITY'; priority?: Priority }
  | { kind: 'RST_STREAM'; errorCode: number }
  | { kind: 'SETTINGS'; ack: boolean; settings: { id: number; value: number }[] }
  | { kind: 'PUSH_PROMISE'; endHeaders: boolean; padLength: number; promisedStreamId: number; fragment: Uint8Array }
  | { kind: 'PING'; ack: boolean; opaque: string }
  | { kind: 'GOAWAY'; lastStreamId: number; errorCode: number; debugData: string }
  | { kind: 'WINDOW_UPDATE'; increment: number }
  | { kind: 'CONTINUATION'; endHeaders: boolean; fragment: Uint8Array }
  | { kind: 'UNKNOWN' };

export type Frame = FrameInfo & FramePayload;
export type FrameOf<K extends Frame['kind']> = Frame & { kind: K };

export interface FrameParserStats {
  frames: number;
  /** Octets of complete frames (headers + payloads). */
  frameBytes: number;
  byType: Record<string, number>;
  unknownFrames: number;
  malformedFrames: number;
  oversizedFrames: number;
  desyncs: number;
  /** Octets dropped while scanning for a frame header, or left in a partial frame at the end. */
  droppedBytes: number;
}

export interface FrameParserOptions {
  side: Side;
  onFrame(frame: Frame): void;
  onAnomaly(a: Anomaly): void;
  /** The frame boundary was lost (frames may have been missed entirely). */
  onDesync?(packet: number, time: number): void;
  /** The receiver's SETTINGS_MAX_FRAME_SIZE (default 16384); the session updates `maxFrameSize`. */
  maxFrameSize?: number;
}

const EMPTY = new Uint8Array(0);

interface Partial {
  type: number;
  flags: number;
  streamId: number;
  length: number;
  offset: number;
  firstPacket: number;
  startTime: number;
  startDelivered: number;
  lastPacket: number;
  endTime: number;
  endDelivered: number;
  fill: number;
  lost: number;
  /** Buffered payload, or null when the payload is skipped (DATA, unknown type, too large). */
  payload: Uint8Array | null;
  /** First payload octet (the Pad Length of a padded DATA frame), -1 if not seen. */
  firstByte: number;
}

type Mode = 'header' | 'payload' | 'scan';

/**
 * A frame object: the header facts in one literal, then the type's fields, so that all frames of a
 * kind share one hidden class (a `{ ...info, kind }` spread gave every frame its own, which made
 * every read of a frame in the session megamorphic).
 */
function mk<T extends FramePayload>(i: FrameInfo, p: T): FrameInfo & T {
  const o = {
    type: i.type,
    flags: i.flags,
    streamId: i.streamId,
    length: i.length,
    offset: i.offset,
    firstPacket: i.firstPacket,
    lastPacket: i.lastPacket,
    startTime: i.startTime,
    endTime: i.endTime,
    startDeliveredTime: i.startDeliveredTime,
    endDeliveredTime: i.endDeliveredTime,
    lostBytes: i.lostBytes,
    malformed: i.malformed,
  };
  return Object.assign(o, p);
}

/** `f` marked malformed (the reason was already reported as an anomaly). */
function withMalformed<F extends Frame>(f: F, why: string | undefined): F {
  f.malformed = why;
  return f;
}

export class FrameParser {
  maxFrameSize: number;
  readonly stats: FrameParserStats = {
    frames: 0,
    frameBytes: 0,
    byType: {},
    unknownFrames: 0,
    malformedFrames: 0,
    oversizedFrames: 0,
    desyncs: 0,
    droppedBytes: 0,
  };
  private readonly opts: FrameParserOptions;
  private mode: Mode = 'header';
  private readonly hdr = new Uint8Array(FRAME_HEADER_LENGTH);
  private hdrFill = 0;
  private hdrPacket = 0;
  private hdrTime = 0;
  private hdrDelivered = 0;
  private hdrOffset = 0;
  private cur: Partial | null = null;
  private scanBuf: Uint8Array = EMPTY;
  private scanOffset = 0;
  private started = false;

  constructor(opts: FrameParserOptions) {
    this.opts = opts;
    this.maxFrameSize = opts.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
  }

  /** Whether the parser is currently looking for a frame boundary. */
  get scanning(): boolean {
    return this.mode === 'scan';
  }

  /** Push the next chunk of this direction. */
  push(chunk: StreamChunk): void {
    if (!this.started) {
      this.started = true;
      if (chunk.skipped === -1) this.enterScan(false, chunk);
      else if (chunk.skipped > 0) this.gap(chunk.skipped, chunk);
    } else if (chunk.skipped !== 0) {
      this.gap(chunk.skipped < 0 ? 0 : chunk.skipped, chunk);
    }
    this.feed(chunk.data, chunk, chunk.offset);
  }

  /**
   * Forget the frame boundary (e.g. the bytes before were not HTTP/2 as expected): scan for the next
   * plausible frame header, without an anomaly (the caller reports why).
   */
  loseSync(): void {
    this.started = true;
    this.mode = 'scan';
    this.hdrFill = 0;
    this.cur = null;
    this.scanBuf = EMPTY;
  }

  /** The direction ended (FIN/RST or connection close): report a partial frame. */
  end(time: number, packet: number): void {
    if (this.mode === 'payload' && this.cur) {
      const c = this.cur;
      this.anomaly('H2_TRUNCATED_FRAME', c.firstPacket, c.startTime, `${this.typeName(c.type)} frame on stream ${c.streamId} ends after ${c.fill} of ${c.length} payload octets`);
      this.stats.droppedBytes += FRAME_HEADER_LENGTH + c.fill;
    } else if (this.mode === 'header' && this.hdrFill > 0) {
      this.anomaly('H2_TRUNCATED_FRAME', packet, time, `direction ends inside a frame header (${this.hdrFill} of 9 octets)`);
      this.stats.droppedBytes += this.hdrFill;
    } else if (this.mode === 'scan') {
      this.stats.droppedBytes += this.scanBuf.length;
    }
    // The frame boundary went with the partial frame: bytes after the end (data after FIN, which
    // only a broken or hostile peer sends) are scanned for a plausible frame header.
    this.mode = 'scan';
    this.cur = null;
    this.hdrFill = 0;
    this.scanBuf = EMPTY;
  }

  // ---- input handling ----

  /** Feed contiguous octets that begin at stream offset `offset`. */
  private feed(data: Uint8Array, chunk: StreamChunk, offset: number): void {
    let i = 0;
    const n = data.length;
    while (i < n) {
      if (this.mode === 'header') {
        if (this.hdrFill === 0) {
          this.hdrPacket = chunk.packet;
          this.hdrTime = chunk.time;
          this.hdrDelivered = chunk.deliveredTime;
          this.hdrOffset = offset + i;
        }
        const take = Math.min(FRAME_HEADER_LENGTH - this.hdrFill, n - i);
        this.hdr.set(data.subarray(i, i + take), this.hdrFill);
        this.hdrFill += take;
        i += take;
        if (this.hdrFill === FRAME_HEADER_LENGTH) this.startFrame(chunk);
      } else if (this.mode === 'payload') {
        const c = this.cur as Partial;
        const take = Math.min(c.length - c.fill, n - i);
        if (c.payload) c.payload.set(data.subarray(i, i + take), c.fill);
        if (c.fill === 0 && c.firstByte < 0) c.firstByte = data[i];
        c.fill += take;
        i += take;
        c.lastPacket = chunk.packet;
        c.endTime = chunk.time;
        c.endDelivered = chunk.deliveredTime;
        if (c.fill === c.length) this.finish();
      } else {
        // Scan mode: collect and look for a header.
        const rest = data.subarray(i);
        if (this.scanBuf.length === 0) this.scanOffset = offset + i;
        this.scanBuf = concat(this.scanBuf, rest);
        i = n;
        this.tryResync(chunk);
      }
    }
  }

  private gap(skipped: number, chunk: StreamChunk): void {
    if (this.mode === 'payload' && this.cur) {
      const c = this.cur;
      const remaining = c.length - c.fill;
      if (skipped <= remaining) {
        c.lost += skipped;
        c.fill += skipped;
        if (c.firstByte < 0 && skipped > 0) c.firstByte = -2; // first octet lost
        if (c.fill === c.length) this.finish();
        return;
      }
      // The frame ends inside the gap: deliver it, then the next boundary is lost.
      c.lost += remaining;
      c.fill = c.length;
      this.finish();
      this.enterScan(true, chunk, `${skipped} octets missing after a frame`);
      return;
    }
    if (this.mode === 'scan') {
      this.stats.droppedBytes += this.scanBuf.length;
      this.scanBuf = EMPTY;
      return;
    }
    this.enterScan(true, chunk, this.hdrFill > 0 ? `${skipped} octets missing inside a frame header` : `${skipped} octets missing at a frame boundary`);
  }

  private enterScan(report: boolean, chunk: StreamChunk, detail = ''): void {
    if (this.hdrFill > 0) this.stats.droppedBytes += this.hdrFill;
    this.hdrFill = 0;
    this.cur = null;
    this.mode = 'scan';
    this.scanBuf = EMPTY;
    if (report) {
      this.stats.desyncs++;
      this.anomaly('H2_FRAME_SYNC_LOST', chunk.packet, chunk.time, `${this.opts.side}: ${detail}; scanning for the next frame header`);
      this.opts.onDesync?.(chunk.packet, chunk.time);
    }
  }

  private tryResync(chunk: StreamChunk): void {
    const buf = this.scanBuf;
    for (let i = 0; i + FRAME_HEADER_LENGTH <= buf.length; i++) {
      if (!this.plausible(buf, i)) continue;
      const end = i + FRAME_HEADER_LENGTH + readLength(buf, i);
      if (end + FRAME_HEADER_LENGTH <= buf.length) {
        if (!this.plausible(buf, end)) continue;
      } else if (end !== buf.length) {
        // Cannot confirm yet: keep the bytes from this candidate and wait for more.
        this.stats.droppedBytes += i;
        this.scanOffset += i;
        this.scanBuf = new Uint8Array(buf.subarray(i)); // a copy: `buf` may view the reader's chunk
        this.trimScan();
        return;
      }
      // Found: parse from here.
      this.stats.droppedBytes += i;
      const rest = buf.subarray(i);
      const offset = this.scanOffset + i;
      this.scanBuf = EMPTY;
      this.mode = 'header';
      this.hdrFill = 0;
      this.feed(rest, chunk, offset);
      return;
    }
    // Keep the last 8 octets (a header may start there).
    const keep = Math.min(buf.length, FRAME_HEADER_LENGTH - 1);
    this.stats.droppedBytes += buf.length - keep;
    this.scanOffset += buf.length - keep;
    this.scanBuf = new Uint8Array(buf.subarray(buf.length - keep));
  }

  private trimScan(): void {
    if (this.scanBuf.length > MAX_RESYNC_BUFFER) {
      const drop = this.scanBuf.length - MAX_RESYNC_BUFFER;
      this.stats.droppedBytes += drop;
      this.scanOffset += drop;
      // The candidate at 0 was not confirmed within the limit: skip past it.
      this.scanBuf = new Uint8Array(this.scanBuf.subarray(Math.max(drop, 1)));
    }
  }

  private plausible(buf: Uint8Array, i: number): boolean {
    return plausibleFrameHeader(buf, i, this.maxFrameSize);
  }

  // ---- frames ----

  private startFrame(chunk: StreamChunk): void {
    const h = this.hdr;
    const length = readLength(h, 0);
    const type = h[3];
    const flags = h[4];
    const streamId = readU31(h, 5);
    this.hdrFill = 0;
    if (length > this.maxFrameSize) {
      this.stats.oversizedFrames++;
      this.anomaly(
        'H2_FRAME_SIZE_ERROR',
        this.hdrPacket,
        this.hdrTime,
        `${this.opts.side} ${this.typeName(type)} frame on stream ${streamId}: length ${length} exceeds SETTINGS_MAX_FRAME_SIZE ${this.maxFrameSize}`,
      );
    }
    const keep = type !== FrameType.DATA && type <= FrameType.CONTINUATION && length <= MAX_BUFFERED_FRAME_PAYLOAD;
    this.cur = {
      type,
      flags,
      streamId,
      length,
      offset: this.hdrOffset,
      firstPacket: this.hdrPacket,
      startTime: this.hdrTime,
      startDelivered: this.hdrDelivered,
      lastPacket: chunk.packet,
      endTime: chunk.time,
      endDelivered: chunk.deliveredTime,
      fill: 0,
      lost: 0,
      payload: keep ? new Uint8Array(length) : null,
      firstByte: -1,
    };
    this.mode = 'payload';
    if (length === 0) this.finish();
  }

  private finish(): void {
    const c = this.cur as Partial;
    this.cur = null;
    this.mode = 'header';
    const info: FrameInfo = {
      type: c.type,
      flags: c.flags,
      streamId: c.streamId,
      length: c.length,
      offset: c.offset,
      firstPacket: c.firstPacket,
      lastPacket: c.lastPacket,
      startTime: c.startTime,
      endTime: c.endTime,
      startDeliveredTime: c.startDelivered,
      endDeliveredTime: c.endDelivered,
      lostBytes: c.lost,
    };
    const frame = this.decode(info, c);
    const st = this.stats;
    st.frames++;
    st.frameBytes += FRAME_HEADER_LENGTH + c.length;
    const name = frame.kind;
    st.byType[name] = (st.byType[name] ?? 0) + 1;
    if (frame.kind === 'UNKNOWN') st.unknownFrames++;
    if (frame.malformed) st.malformedFrames++;
    this.opts.onFrame(frame);
  }

  private decode(info: FrameInfo, c: Partial): Frame {
    const p = c.payload;
    const len = c.length;
    const f = info.flags;
    const sid = info.streamId;
    const bad = (code: 'H2_PROTOCOL_ERROR' | 'H2_FRAME_SIZE_ERROR', why: string): string => {
      this.anomaly(code, info.firstPacket, info.startTime, `${this.opts.side} ${this.typeName(info.type)} frame on stream ${sid}: ${why}`);
      return why;
    };
    const needStream = (): boolean => {
      if (sid !== 0) return true;
      info.malformed = bad('H2_PROTOCOL_ERROR', 'stream identifier 0 not allowed');
      return false;
    };
    const needZero = (): boolean => {
      if (sid === 0) return true;
      info.malformed = bad('H2_PROTOCOL_ERROR', 'must be on stream 0');
      return false;
    };
    const lostOrUnbuffered = (): boolean => {
      if (!p) {
        info.malformed = bad('H2_FRAME_SIZE_ERROR', `payload of ${len} octets not buffered (limit ${MAX_BUFFERED_FRAME_PAYLOAD})`);
        return true;
      }
      if (c.lost > 0) {
        info.malformed = `${c.lost} payload octets missing from the capture`;
        return true;
      }
      return false;
    };
    switch (info.type) {
      case FrameType.DATA: {
        const endStream = (f & Flags.END_STREAM) !== 0;
        let padLength = 0;
        let dataLength = len;
        needStream();
        if (f & Flags.PADDED) {
          if (len < 1) {
            info.malformed = bad('H2_FRAME_SIZE_ERROR', 'PADDED with an empty payload');
            dataLength = 0;
          } else if (c.firstByte === -2) {
            // Pad Length octet lost: assume no padding.
            dataLength = len - 1;
          } else {
            padLength = c.firstByte;
            if (padLength >= len) {
              info.malformed = bad('H2_PROTOCOL_ERROR', `padding ${padLength} ≥ payload length ${len}`);
              padLength = 0;
              dataLength = 0;
            } else dataLength = len - 1 - padLength;
          }
        }
        return mk(info, { kind: 'DATA', endStream, padLength, dataLength });
      }
      case FrameType.HEADERS: {
        const endStream = (f & Flags.END_STREAM) !== 0;
        const endHeaders = (f & Flags.END_HEADERS) !== 0;
        const out: Frame = mk(info, { kind: 'HEADERS', endStream, endHeaders, padLength: 0, fragment: EMPTY });
        if (!needStream() || lostOrUnbuffered()) return withMalformed(out, info.malformed);
        const q = p as Uint8Array;
        let off = 0;
        let pad = 0;
        if (f & Flags.PADDED) {
          if (len < 1) return withMalformed(out, bad('H2_FRAME_SIZE_ERROR', 'PADDED with an empty payload'));
          pad = q[0];
          off = 1;
        }
        if (f & Flags.PRIORITY) {
          if (off + 5 > len) return withMalformed(out, bad('H2_FRAME_SIZE_ERROR', 'PRIORITY flag but payload too short'));
          out.priority = readPriority(q, off);
          off += 5;
        }
        if (off + pad > len) return withMalformed(out, bad('H2_PROTOCOL_ERROR', `padding ${pad} exceeds payload length ${len}`));
        out.padLength = pad;
        out.fragment = q.subarray(off, len - pad);
        return out;
      }
      case FrameType.PRIORITY: {
        if (!needStream()) return mk(info, { kind: 'PRIORITY' });
        if (len !== 5) return mk(info, { kind: 'PRIORITY', malformed: bad('H2_FRAME_SIZE_ERROR', `length ${len}, expected 5`) });
        if (lostOrUnbuffered()) return mk(info, { kind: 'PRIORITY' });
        return mk(info, { kind: 'PRIORITY', priority: readPriority(p as Uint8Array, 0) });
      }
      case FrameType.RST_STREAM: {
        if (!needStream()) return mk(info, { kind: 'RST_STREAM', errorCode: 0 });
        if (len !== 4) return mk(info, { kind: 'RST_STREAM', errorCode: 0, malformed: bad('H2_FRAME_SIZE_ERROR', `length ${len}, expected 4`) });
        if (lostOrUnbuffered()) return mk(info, { kind: 'RST_STREAM', errorCode: 0 });
        return mk(info, { kind: 'RST_STREAM', errorCode: readU32(p as Uint8Array, 0) });
      }
      case FrameType.SETTINGS: {
        const ack = (f & Flags.ACK) !== 0;
        const out: Frame = mk(info, { kind: 'SETTINGS', ack, settings: [] });
        if (!needZero()) return withMalformed(out, info.malformed);
        if (ack && len !== 0) return withMalformed(out, bad('H2_FRAME_SIZE_ERROR', `ACK with length ${len}`));
        if (len % 6 !== 0) return withMalformed(out, bad('H2_FRAME_SIZE_ERROR', `length ${len} is not a multiple of 6`));
        if (lostOrUnbuffered()) return withMalformed(out, info.malformed);
        const q = p as Uint8Array;
        for (let o = 0; o < len; o += 6) out.settings.push({ id: (q[o] << 8) | q[o + 1], value: readU32(q, o + 2) });
        return out;
      }
      case FrameType.PUSH_PROMISE: {
        const endHeaders = (f & Flags.END_HEADERS) !== 0;
        const out: Frame = mk(info, { kind: 'PUSH_PROMISE', endHeaders, padLength: 0, promisedStreamId: 0, fragment: EMPTY });
        if (!needStream() || lostOrUnbuffered()) return withMalformed(out, info.malformed);
        const q = p as Uint8Array;
        let off = 0;
        let pad = 0;
        if (f & Flags.PADDED) {
          if (len < 1) return withMalformed(out, bad('H2_FRAME_SIZE_ERROR', 'PADDED with an empty payload'));
          pad = q[0];
          off = 1;
        }
        if (off + 4 + pad > len) return withMalformed(out, bad('H2_PROTOCOL_ERROR', `payload too short for promised stream id and padding ${pad}`));
        out.promisedStreamId = readU31(q, off);
        out.padLength = pad;
        out.fragment = q.subarray(off + 4, len - pad);
        return out;
      }
      case FrameType.PING: {
        const ack = (f & Flags.ACK) !== 0;
        if (!needZero()) return mk(info, { kind: 'PING', ack, opaque: '' });
        if (len !== 8) return mk(info, { kind: 'PING', ack, opaque: '', malformed: bad('H2_FRAME_SIZE_ERROR', `length ${len}, expected 8`) });
        if (lostOrUnbuffered()) return mk(info, { kind: 'PING', ack, opaque: '' });
        return mk(info, { kind: 'PING', ack, opaque: Buffer.from(p as Uint8Array).toString('hex') });
      }
      case FrameType.GOAWAY: {
        const out: Frame = mk(info, { kind: 'GOAWAY', lastStreamId: 0, errorCode: 0, debugData: '' });
        if (!needZero()) return withMalformed(out, info.malformed);
        if (len < 8) return withMalformed(out, bad('H2_FRAME_SIZE_ERROR', `length ${len}, expected ≥ 8`));
        if (lostOrUnbuffered()) return withMalformed(out, info.malformed);
        const q = p as Uint8Array;
        out.lastStreamId = readU31(q, 0);
        out.errorCode = readU32(q, 4);
        out.debugData = Buffer.from(q.subarray(8, Math.min(len, 8 + MAX_GOAWAY_DEBUG))).toString('latin1');
        return out;
      }
      case FrameType.WINDOW_UPDATE: {
        const out: Frame = mk(info, { kind: 'WINDOW_UPDATE', increment: 0 });
        if (len !== 4) return withMalformed(out, bad('H2_FRAME_SIZE_ERROR', `length ${len}, expected 4`));
        if (lostOrUnbuffered()) return withMalformed(out, info.malformed);
        out.increment = readU31(p as Uint8Array, 0);
        if (out.increment === 0) out.malformed = bad('H2_PROTOCOL_ERROR', 'window increment 0');
        return out;
      }
      case FrameType.CONTINUATION: {
        const endHeaders = (f & Flags.END_HEADERS) !== 0;
        const out: Frame = mk(info, { kind: 'CONTINUATION', endHeaders, fragment: EMPTY });
        if (!needStream() || lostOrUnbuffered()) return withMalformed(out, info.malformed);
        out.fragment = p as Uint8Array;
        return out;
      }
      default:
        // §5.5: unknown frame types are ignored (counted).
        return mk(info, { kind: 'UNKNOWN' });
    }
  }

  private typeName(type: number): FrameTypeName | string {
    return FRAME_TYPE_NAMES[type] ?? `type 0x${type.toString(16)}`;
  }

  private anomaly(code: string, packet: number, time: number, detail: string): void {
    this.opts.onAnomaly({ code, packet, time, detail });
  }
}

/**
 * Could `buf[i..i+9)` be a frame header? A known type other than CONTINUATION with only defined
 * flags, the reserved bit clear, length ≤ `maxFrameSize`, a stream id below 2^24 that follows the
 * type's stream rule, and the type's fixed length rule (RFC 9113 §6).
 */
export function plausibleFrameHeader(buf: Uint8Array, i: number, maxFrameSize = DEFAULT_MAX_FRAME_SIZE): boolean {
  if (i + FRAME_HEADER_LENGTH > buf.length) return false;
  const len = readLength(buf, i);
  const type = buf[i + 3];
  const flags = buf[i + 4];
  if (type >= FrameType.CONTINUATION) return false;
  if (flags & ~DEFINED_FLAGS[type]) return false;
  if (buf[i + 5] & 0x80) return false;
  if (len > maxFrameSize) return false;
  const sid = readU31(buf, i + 5);
  if (sid >= 1 << 24) return false;
  switch (type) {
    case FrameType.SETTINGS:
      return sid === 0 && len % 6 === 0 && (!(flags & Flags.ACK) || len === 0);
    case FrameType.PING:
      return sid === 0 && len === 8;
    case FrameType.GOAWAY:
      return sid === 0 && len >= 8;
    case FrameType.WINDOW_UPDATE:
      return len === 4;
    case FrameType.PRIORITY:
      return sid !== 0 && len === 5;
    case FrameType.RST_STREAM:
      return sid !== 0 && len === 4;
    default:
      return sid !== 0;
  }
}

/**
 * For protocol sniffing of a connection whose start was not captured: the offset of the first
 * plausible frame header in `buf` that is confirmed by a second plausible header right after its
 * payload (or whose payload ends exactly at the end of `buf`); -1 if none. Heuristic: random
 * bytes match rarely but can.
 */
export function findFrameBoundary(buf: Uint8Array, maxFrameSize = DEFAULT_MAX_FRAME_SIZE): number {
  for (let i = 0; i + FRAME_HEADER_LENGTH <= buf.length; i++) {
    if (!plausibleFrameHeader(buf, i, maxFrameSize)) continue;
    const end = i + FRAME_HEADER_LENGTH + readLength(buf, i);
    if (end === buf.length || plausibleFrameHeader(buf, end, maxFrameSize)) return i;
  }
  return -1;
}

function readLength(b: Uint8Array, i: number): number {
  return (b[i] << 16) | (b[i + 1] << 8) | b[i + 2];
}

function readU32(b: Uint8Array, i: number): number {
  return ((b[i] << 24) >>> 0) + ((b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]);
}

function readU31(b: Uint8Array, i: number): number {
  return readU32(b, i) & 0x7fffffff;
}

function readPriority(b: Uint8Array, i: number): Priority {
  const v = readU32(b, i);
  return { exclusive: v >= 0x80000000, dependency: v & 0x7fffffff, weight: b[i + 4] + 1 };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return new Uint8Array(b); // a copy, whatever `b` is (Buffer#slice is a view)
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

export { errorCodeName };
