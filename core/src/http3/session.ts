/**
 * HTTP/3 (RFC 9114) over one QUIC connection: a QuicStreamSink (quic/streams.ts) that reads the
 * connection's streams as ordered chunks and reports each request stream to the ExchangeSink.
 *
 * Streams (RFC 9114 §6):
 *   client-initiated bidirectional  — one request each: HEADERS, DATA*, [HEADERS trailers] from the
 *                                     client; [HEADERS 1xx]*, HEADERS, DATA*, [trailers], PUSH_PROMISE*
 *                                     from the server (§4.1);
 *   unidirectional, by stream type  — control (SETTINGS first, GOAWAY, MAX_PUSH_ID, CANCEL_PUSH,
 *                                     PRIORITY_UPDATE; §6.2.1), push (§4.6), QPACK encoder and decoder
 *                                     (RFC 9204 §4.2), reserved types ignored (§6.2.3).
 * Field sections are decoded by one QPACK decoder per sending side (qpack/decoder.ts), whose dynamic
 * table the side's encoder stream fills; a section that needs entries not inserted yet is held
 * (blocked, RFC 9204 §2.1.2) and decoded as the encoder stream catches up.
 *
 * A request is reported when both directions of its stream have ended (FIN or RESET_STREAM), or at
 * connection close. Frames have no sync marker: after octets of a stream are lost to the capture
 * (anything but the inside of a DATA payload) the rest of that direction cannot be framed and is
 * counted as lost. Nothing here throws on input; problems become anomalies (`H3_*`, `QPACK_*`).
 *
 * Bounded: header blocks buffered (MAX_H3_HEADER_BLOCK_BYTES), control frames buffered
 * (MAX_H3_CONTROL_FRAME_BYTES), blocked sections held (MAX_BLOCKED_SECTIONS), settings kept;
 * streams are bounded by the QUIC layer (MAX_QUIC_STREAMS).
 */
import { exchangeTimes, type ExchangeSink, type RequestDraft } from '../model/exchange.js';
import type { Anomaly, ExchangeState, Header, Side } from '../model/types.js';
import { h3ErrorName } from '../quic/connection.js';
import { isUniStream, type QuicStreamSink } from '../quic/streams.js';
import { QuicReader } from '../quic/varint.js';
import { serverAuthority, type EndHow, type StreamChunk, type StreamInfo } from '../tcp/stream.js';
import { H3Frame, H3Stream, h3FrameName, h3SettingName, isReservedH3 } from './constants.js';
import { QpackDecoder, QPACK_ENTRY_OVERHEAD, type QpackField, type SectionResult } from './qpack/decoder.js';
import { headerTapFor, http1Line, MAX_TAP_ENTRIES, type HeaderTap, type TableStateRecord } from '../header-tap.js';

/** HEADERS / PUSH_PROMISE payload octets buffered; a larger block is skipped and the fields lost. */
export const MAX_H3_HEADER_BLOCK_BYTES = 1 << 20;
/** Control-stream frame payload buffered (SETTINGS, GOAWAY, …). */
export const MAX_H3_CONTROL_FRAME_BYTES = 64 * 1024;
/** Field sections waiting for encoder-stream inserts, per side. */
export const MAX_BLOCKED_SECTIONS = 256;
/** Settings kept per side. */
export const MAX_H3_SETTINGS = 64;

export const H3_ANOMALY = {
  FRAME_ERROR: 'H3_FRAME_ERROR',
  FRAMING_LOST: 'H3_FRAMING_LOST',
  HEADER_BLOCK_TOO_LARGE: 'H3_HEADER_BLOCK_TOO_LARGE',
  QPACK_ERROR: 'QPACK_DECOMPRESSION_FAILED',
  QPACK_ENCODER_ERROR: 'QPACK_ENCODER_STREAM_ERROR',
  QPACK_BLOCKED: 'QPACK_BLOCKED_AT_END',
  HEADERS_INCOMPLETE: 'H3_HEADERS_INCOMPLETE',
  STREAM_RESET: 'H3_STREAM_RESET',
  REFUSED_BY_GOAWAY: 'H3_REFUSED_BY_GOAWAY',
  UNEXPECTED_STREAM: 'H3_STREAM_CREATION_ERROR',
} as const;

const H3_ALPN = /^h3(-\d+)?$/;

/** Capture counters of the connection-level anomalies. */
const COUNTER: Record<string, string> = {
  [H3_ANOMALY.FRAME_ERROR]: 'h3FrameErrors',
  [H3_ANOMALY.FRAMING_LOST]: 'h3FramingLost',
  [H3_ANOMALY.QPACK_ENCODER_ERROR]: 'qpackEncoderStreamErrors',
  [H3_ANOMALY.UNEXPECTED_STREAM]: 'h3UnexpectedStreams',
};

/** The HTTP/3 session for a QUIC connection whose ALPN is h3 (or a draft h3-NN); null otherwise. */
export function createH3Session(info: StreamInfo, alpn: string | null, out: ExchangeSink, count: (name: string, n?: number) => void): QuicStreamSink | null {
  if (alpn === null || !H3_ALPN.test(alpn)) return null;
  out.protocol('h3');
  return new Http3Session(info, out, count);
}

type FrameSink = {
  /** A frame starts (its header read); `chunk` holds its first octet. */
  start(type: number, len: number, chunk: StreamChunk): void;
  /** Payload octets of a frame not buffered (DATA, unknown types). */
  data?(type: number, data: Uint8Array, chunk: StreamChunk): void;
  /** A whole buffered frame (anything but DATA and unknown types); `chunk` holds its last octet. */
  frame(type: number, payload: Uint8Array | null, len: number, chunk: StreamChunk): void;
};

/**
 * Streaming HTTP/3 frame reader (RFC 9114 §7.1: Type (i), Length (i), Frame Payload): header octets
 * may split across chunks; payloads of buffered types are collected up to `maxBuffered`.
 */
class FrameReader {
  private hdr = new Uint8Array(16);
  private hdrLen = 0;
  private type = -1;
  private len = 0;
  private got = 0;
  private buf: Uint8Array | null = null;
  private buffering = false;
  broken = false;

  constructor(
    private readonly sink: FrameSink,
    private readonly buffered: (type: number) => boolean,
    private readonly maxBuffered: number,
    private readonly tooLarge: (type: number, len: number, chunk: StreamChunk) => void,
  ) {}

  /** Inside a frame's payload with `n` octets still to come (a gap there loses only payload). */
  get payloadLeft(): number {
    return this.type >= 0 ? this.len - this.got : 0;
  }

  /**
   * `n` payload octets were never captured (only valid when n ≤ payloadLeft). True when they were
   * inside a buffered frame (HEADERS …), which is then lost as a whole.
   */
  skipPayload(n: number): boolean {
    this.got += n;
    const spoiled = this.buffering;
    this.buffering = false;
    this.buf = null;
    return spoiled;
  }

  push(d: Uint8Array, chunk: StreamChunk): void {
    let i = 0;
    while (i < d.length && !this.broken) {
      if (this.type < 0) {
        // Frame header: two varints.
        while (this.hdrLen < this.hdr.length && i < d.length) {
          this.hdr[this.hdrLen++] = d[i++];
          const r = new QuicReader(this.hdr, 0, this.hdrLen);
          const t = r.varint();
          const l = r.varint();
          if (!r.bad) {
            // Give back octets read past the header.
            i -= this.hdrLen - r.p;
            this.hdrLen = 0;
            this.type = t;
            this.len = l;
            this.got = 0;
            this.buffering = this.buffered(t);
            this.buf = null;
            if (this.buffering && l > this.maxBuffered) {
              this.buffering = false;
              this.tooLarge(t, l, chunk);
            }
            this.sink.start(t, l, chunk);
            break;
          }
        }
        if (this.type < 0) return;
        if (this.len === 0) {
          this.finishFrame(chunk);
          continue;
        }
      }
      const take = Math.min(this.len - this.got, d.length - i);
      const part = d.subarray(i, i + take);
      if (this.buffering) {
        this.buf ??= new Uint8Array(this.len);
        this.buf.set(part, this.got);
      } else this.sink.data?.(this.type, part, chunk);
      this.got += take;
      i += take;
      if (this.got === this.len) this.finishFrame(chunk);
    }
  }

  private finishFrame(chunk: StreamChunk): void {
    const t = this.type;
    // null payload: a type that is not buffered, or one too large to buffer (already reported).
    const payload = this.buffering ? (this.buf ?? new Uint8Array(0)) : null;
    const len = this.len;
    this.type = -1;
    this.buf = null;
    this.sink.frame(t, payload, len, chunk);
  }
}

interface Dir {
  reader: FrameReader;
  headers: Header[] | null;
  fields: QpackField[] | null;
  headerBytes: number;
  trailers: Header[] | null;
  body: number;
  bodyWire: number;
  start: number | null;
  end: number | null;
  firstPacket: number | null;
  lastPacket: number | null;
  ended: boolean;
  reset: { code: number; time: number; packet: number } | null;
  /** Field sections of this direction waiting for inserts. */
  blocked: number;
  incomplete: boolean;
  /** The framing was lost: the rest of the direction is not parsed. */
  lost: boolean;
}

interface Exchange {
  id: number;
  index: number;
  req: Dir;
  resp: Dir;
  status: number | null;
  informational: { status: number; time: number }[];
  stopSending: { by: Side; code: number; time: number } | null;
  lostBytes: number;
  anomalies: Anomaly[];
  emitted: boolean;
  pushPromises: number;
  /** A push's exchange (its id is the push ID, not a stream ID). */
  isPush?: boolean;
  /** A push the client (or server) cancelled with CANCEL_PUSH on its control stream (§7.2.3). */
  cancelPush: { by: Side; time: number; packet: number } | null;
}

interface UniStream {
  id: number;
  side: Side;
  kind: 'control' | 'push' | 'encoder' | 'decoder' | 'reserved' | 'unknown' | null;
  type: number;
  head: Uint8Array;
  headLen: number;
  reader: FrameReader | null;
  lost: boolean;
  /** Push stream: its push id and the response it carries. */
  push: Exchange | null;
}

interface SideFacts {
  settings: Record<string, number> | null;
  settingsTime: number | null;
  goaway: { id: number; time: number; packet: number } | null;
  controlFrames: Record<string, number>;
  streams: { control: number; push: number; encoder: number; decoder: number; reserved: number; unknown: number };
}

interface BlockedSection {
  ex: Exchange;
  dir: Dir;
  block: Uint8Array;
  time: number;
  push: boolean;
}

export class Http3Session implements QuicStreamSink {
  private readonly exchanges = new Map<number, Exchange>();
  private readonly uni = new Map<number, UniStream>();
  private readonly decoders: Record<Side, QpackDecoder> = { client: new QpackDecoder(), server: new QpackDecoder() };
  private readonly blocked: Record<Side, BlockedSection[]> = { client: [], server: [] };
  private readonly facts: Record<Side, SideFacts> = { client: this.mkFacts(), server: this.mkFacts() };
  private nextIndex = 1;
  private readonly emittedIds = new Set<number>();
  private pushes = new Map<number, Exchange>();
  private sectionsDecoded = { client: 0, server: 0 };
  private dynamicRefs = { client: 0, server: 0 };

  /** Set only while the view records this connection's QPACK tables (header-tap.ts). */
  private readonly tap: HeaderTap | null;
  /** The decoder counters at the last recorded section, per sender (what the encoder stream did since). */
  private tapSeen: Record<Side, { inserts: number; evictions: number; capacityUpdates: number }> = {
    client: { inserts: 0, evictions: 0, capacityUpdates: 0 },
    server: { inserts: 0, evictions: 0, capacityUpdates: 0 },
  };

  constructor(
    private readonly info: StreamInfo,
    private readonly out: ExchangeSink,
    private readonly count: (name: string, n?: number) => void,
  ) {
    this.tap = headerTapFor(info.id);
  }

  /** The sender's decoder table as header-tap.ts records it (absolute indices, newest first). */
  private tapTable(side: Side): TableStateRecord {
    const dec = this.decoders[side];
    const t = dec.snapshot();
    return {
      entries: t.entries.slice(0, MAX_TAP_ENTRIES).map((e) => ({ index: e.index, name: e.name, value: e.value, size: e.name.length + e.value.length + QPACK_ENTRY_OVERHEAD })),
      entryCount: t.entries.length,
      size: t.size,
      maxSize: t.capacity,
      unknownOlderEntries: false,
      inserted: t.insertCount,
      evicted: dec.stats.evictions,
    };
  }

  /** Record a decoded (or failed) field section for the inspector (header-tap.ts). */
  private tapSection(side: Side, ex: Exchange, block: Uint8Array, r: SectionResult, time: number): void {
    if (!this.tap?.wants) return;
    const st = this.decoders[side].stats;
    const seen = this.tapSeen[side];
    const fields = r.kind === 'ok' ? r.fields : [];
    this.tap.add({
      codec: 'qpack',
      side,
      streamId: ex.id,
      kind: 'HEADERS',
      time,
      packet: null,
      before: this.tapTable(side),
      sizeUpdates: [],
      inserted: st.inserts + st.duplicates - seen.inserts,
      evicted: st.evictions - seen.evictions,
      capacityUpdates: st.capacityUpdates - seen.capacityUpdates,
      fields: fields.map((f) => ({
        name: f.name,
        value: f.value,
        rep: f.rep,
        ...(f.table ? { table: f.table } : {}),
        ...(f.index !== undefined ? { index: f.index } : {}),
        wireBytes: null,
        http1Bytes: http1Line(f.name, f.value),
        ...(f.huffman ? { huffman: true } : {}),
        ...(f.unknown ? { unknown: true } : {}),
      })),
      encodedBytes: block.length,
      http1Bytes: fields.reduce((n, f) => n + http1Line(f.name, f.value), 0),
      ...(r.kind === 'error' ? { error: r.error.message } : {}),
    });
    this.tapSeen[side] = { inserts: st.inserts + st.duplicates, evictions: st.evictions, capacityUpdates: st.capacityUpdates };
  }

  private mkFacts(): SideFacts {
    return { settings: null, settingsTime: null, goaway: null, controlFrames: {}, streams: { control: 0, push: 0, encoder: 0, decoder: 0, reserved: 0, unknown: 0 } };
  }

  // ------------------------------------------------------------------ stream data

  onStreamData(id: number, side: Side, chunk: StreamChunk): void {
    if (isUniStream(id)) return this.uniData(id, side, chunk);
    if (id % 4 === 1) {
      // §6.1: servers must not open bidirectional streams (without an extension).
      if (!this.uni.has(id)) this.connAnomaly(H3_ANOMALY.UNEXPECTED_STREAM, chunk, `server-initiated bidirectional stream ${id} (RFC 9114 §6.1)`);
      this.uni.set(id, { id, side, kind: 'unknown', type: -1, head: new Uint8Array(0), headLen: 0, reader: null, lost: true, push: null });
      return;
    }
    const ex = this.exchange(id);
    if (ex === null) return;
    const d = side === 'client' ? ex.req : ex.resp;
    if (d.lost) {
      ex.lostBytes += chunk.data.length;
      return;
    }
    if (chunk.skipped > 0) {
      ex.lostBytes += chunk.skipped;
      if (chunk.skipped <= d.reader.payloadLeft) {
        if (d.reader.skipPayload(chunk.skipped)) {
          d.incomplete = true;
          this.exAnomaly(ex, H3_ANOMALY.FRAMING_LOST, chunk, `${side} header block of stream ${id} lost ${chunk.skipped} octets to the capture`);
        }
      } else {
        d.lost = true;
        ex.lostBytes += chunk.data.length;
        this.exAnomaly(ex, H3_ANOMALY.FRAMING_LOST, chunk, `${side} octets of stream ${id} were not captured; the rest of its frames cannot be read`);
        return;
      }
    }
    if (d.firstPacket === null) d.firstPacket = chunk.packet;
    d.lastPacket = chunk.packet;
    d.reader.push(chunk.data, chunk);
  }

  private exchange(id: number): Exchange | null {
    let ex = this.exchanges.get(id);
    if (ex) return ex;
    if (this.emittedIds.has(id)) return null;
    const e = this.newExchange(id, 0, false);
    this.exchanges.set(id, e);
    return e;
  }

  /** A fresh exchange: a request stream's (index given when its HEADERS come) or a push's. */
  private newExchange(id: number, index: number, pushed: boolean): Exchange {
    const e: Exchange = {
      id,
      index,
      req: null as unknown as Dir,
      resp: null as unknown as Dir,
      status: null,
      informational: [],
      stopSending: null,
      lostBytes: 0,
      anomalies: [],
      emitted: false,
      pushPromises: 0,
      cancelPush: null,
    };
    if (pushed) e.isPush = true;
    e.req = this.mkDir(e, 'client', pushed);
    e.resp = this.mkDir(e, 'server', pushed);
    return e;
  }

  private mkDir(ex: Exchange, side: Side, push: boolean): Dir {
    const dir = {} as Dir;
    const reader = new FrameReader(
      {
        start: (type, _len, chunk) => {
          if (dir.start === null && (type === H3Frame.HEADERS || type === H3Frame.DATA)) dir.start = chunk.time;
          if (side === 'client' && ex.index === 0 && type === H3Frame.HEADERS && !push) ex.index = this.nextIndex++;
        },
        data: (type, data) => {
          if (type === H3Frame.DATA) dir.body += data.length;
        },
        frame: (type, payload, len, chunk) => this.requestFrame(ex, dir, side, type, payload, len, chunk, push),
      },
      (t) => t === H3Frame.HEADERS || t === H3Frame.PUSH_PROMISE,
      MAX_H3_HEADER_BLOCK_BYTES,
      (t, len, chunk) => {
        dir.incomplete = true;
        this.count('h3HeaderBlockTooLarge');
        this.exAnomaly(ex, H3_ANOMALY.HEADER_BLOCK_TOO_LARGE, chunk, `${h3FrameName(t)} of ${len} octets exceeds ${MAX_H3_HEADER_BLOCK_BYTES}; its fields are not decoded`);
      },
    );
    Object.assign(dir, {
      reader,
      headers: null,
      fields: null,
      headerBytes: 0,
      trailers: null,
      body: 0,
      bodyWire: 0,
      start: null,
      end: null,
      firstPacket: null,
      lastPacket: null,
      ended: false,
      reset: null,
      blocked: 0,
      incomplete: false,
      lost: false,
    } satisfies Dir);
    return dir;
  }

  /** A whole frame on a request (or push) stream. */
  private requestFrame(ex: Exchange, dir: Dir, side: Side, type: number, payload: Uint8Array | null, len: number, chunk: StreamChunk, push: boolean): void {
    switch (type) {
      case H3Frame.DATA:
        dir.bodyWire += len + varintLen(type) + varintLen(len);
        dir.end = chunk.time;
        return;
      case H3Frame.HEADERS: {
        if (payload === null) return; // too large: already reported
        this.section(side, ex, dir, payload, chunk.time, push);
        return;
      }
      case H3Frame.PUSH_PROMISE: {
        ex.pushPromises++;
        if (payload === null) return;
        // §7.2.5: Push ID (i), Encoded Field Section. The promised request is decoded with the server's table.
        const r = new QuicReader(payload, 0, payload.length);
        const pushId = r.varint();
        if (r.bad) return this.exAnomaly(ex, H3_ANOMALY.FRAME_ERROR, chunk, `PUSH_PROMISE on stream ${ex.id} too short for its push ID`);
        const px = this.pushExchange(pushId);
        this.section('server', px, px.req, payload.subarray(r.p), chunk.time, true);
        px.req.start ??= chunk.time;
        px.req.ended = true;
        px.req.end ??= chunk.time;
        px.req.firstPacket ??= chunk.packet;
        px.req.lastPacket = chunk.packet;
        return;
      }
      default:
        if (type === H3Frame.SETTINGS || type === H3Frame.GOAWAY || type === H3Frame.MAX_PUSH_ID || type === H3Frame.CANCEL_PUSH) {
          // §7.2.4 etc.: control-stream frames on a request stream are H3_FRAME_UNEXPECTED.
          this.exAnomaly(ex, H3_ANOMALY.FRAME_ERROR, chunk, `${h3FrameName(type)} frame on request stream ${ex.id} (RFC 9114 §7.2)`);
        }
        return;
    }
  }

  private pushExchange(pushId: number): Exchange {
    let px = this.pushes.get(pushId);
    if (px) return px;
    const p = this.newExchange(pushId, this.nextIndex++, true);
    if (this.pushes.size < 1000) this.pushes.set(pushId, p);
    return p;
  }

  /** Decode a field section now, or hold it until the sender's encoder stream has the entries. */
  private section(side: Side, ex: Exchange, dir: Dir, block: Uint8Array, time: number, push: boolean): void {
    dir.headerBytes += block.length;
    const dec = this.decoders[side];
    const r = dec.decodeSection(block);
    if (r.kind !== 'blocked') this.tapSection(side, ex, block, r, time);
    if (r.kind === 'blocked') {
      const q = this.blocked[side];
      if (q.length >= MAX_BLOCKED_SECTIONS) {
        dir.incomplete = true;
        this.count('qpackBlockedDropped');
        return;
      }
      dir.blocked++;
      q.push({ ex, dir, block: new Uint8Array(block), time, push });
      this.count('qpackBlockedSections');
      return;
    }
    this.applySection(side, ex, dir, r, time);
  }

  private applySection(side: Side, ex: Exchange, dir: Dir, r: SectionResult, time: number): void {
    if (r.kind === 'error') {
      dir.incomplete = true;
      this.count('qpackErrors');
      this.exAnomaly(ex, H3_ANOMALY.QPACK_ERROR, null, `${side} field section on stream ${ex.id}: ${r.error.message}`, time);
      return;
    }
    if (r.kind !== 'ok') return;
    this.sectionsDecoded[side]++;
    if (r.requiredInsertCount > 0) this.dynamicRefs[side]++;
    if (r.incomplete) dir.incomplete = true;
    const headers = r.fields.map((f) => ({ name: f.name, value: f.value }));
    if (side === 'server') {
      const st = headers.find((h) => h.name === ':status');
      const code = st ? Number(st.value) : NaN;
      if (Number.isInteger(code) && code >= 100 && code < 200 && dir.headers === null) {
        // §4.1: interim responses before the final one.
        if (ex.informational.length < 32) ex.informational.push({ status: code, time });
        return;
      }
      if (dir.headers === null) {
        dir.headers = headers;
        dir.fields = r.fields;
        if (Number.isInteger(code)) ex.status = code;
        return;
      }
      dir.trailers = headers;
      return;
    }
    if (dir.headers === null) {
      dir.headers = headers;
      dir.fields = r.fields;
    } else dir.trailers = headers;
  }

  /** Retry held sections of `side` after its encoder stream inserted entries. */
  private unblock(side: Side): void {
    const q = this.blocked[side];
    if (q.length === 0) return;
    const dec = this.decoders[side];
    const keep: BlockedSection[] = [];
    for (const b of q) {
      const r = dec.decodeSection(b.block);
      if (r.kind === 'blocked') {
        keep.push(b);
        continue;
      }
      b.dir.blocked--;
      this.tapSection(side, b.ex, b.block, r, b.time);
      this.applySection(side, b.ex, b.dir, r, b.time);
      this.maybeEmit(b.ex);
    }
    this.blocked[side] = keep;
  }

  // ------------------------------------------------------------------ unidirectional streams

  private uniData(id: number, side: Side, chunk: StreamChunk): void {
    let u = this.uni.get(id);
    if (!u) {
      u = { id, side, kind: null, type: -1, head: new Uint8Array(16), headLen: 0, reader: null, lost: false, push: null };
      this.uni.set(id, u);
    }
    if (u.lost) return;
    if (chunk.skipped > 0) {
      if (u.reader && chunk.skipped <= u.reader.payloadLeft) u.reader.skipPayload(chunk.skipped);
      else {
        u.lost = true;
        if (u.kind === 'encoder') this.decoders[side].loseSync();
        this.connAnomaly(H3_ANOMALY.FRAMING_LOST, chunk, `${side} octets of ${u.kind ?? 'unidirectional'} stream ${id} were not captured; the rest cannot be read`);
        return;
      }
    }
    let data = chunk.data;
    if (u.kind === null) {
      // §6.2: the stream type (i), then for a push stream the Push ID (i).
      const need = u.head;
      let i = 0;
      while (i < data.length && u.headLen < need.length) {
        need[u.headLen++] = data[i++];
        const r = new QuicReader(need, 0, u.headLen);
        const t = r.varint();
        if (r.bad) continue;
        if (t === H3Stream.PUSH) {
          const pid = r.varint();
          if (r.bad) continue;
          u.type = t;
          u.kind = 'push';
          const px = this.pushExchange(pid);
          u.push = px;
          px.resp.firstPacket ??= chunk.packet;
        } else {
          u.type = t;
          u.kind = t === H3Stream.CONTROL ? 'control' : t === H3Stream.QPACK_ENCODER ? 'encoder' : t === H3Stream.QPACK_DECODER ? 'decoder' : isReservedH3(t) ? 'reserved' : 'unknown';
        }
        i -= u.headLen - r.p;
        this.facts[side].streams[u.kind]++;
        break;
      }
      if (u.kind === null) {
        if (u.headLen >= need.length) u.lost = true;
        return;
      }
      data = data.subarray(i);
      if (u.kind === 'control') u.reader = this.controlReader(side);
      else if (u.kind === 'push' && u.push) {
        const px = u.push;
        u.reader = px.resp.reader;
        px.resp.start ??= chunk.time;
      }
    }
    if (data.length === 0) return;
    switch (u.kind) {
      case 'encoder':
        this.decoders[side].encoderStream(data);
        if (this.decoders[side].encoderError && !this.encoderErrorNoted[side]) {
          this.encoderErrorNoted[side] = true;
          this.connAnomaly(H3_ANOMALY.QPACK_ENCODER_ERROR, chunk, `${side} QPACK encoder stream: ${this.decoders[side].encoderError!.message}`);
        }
        this.unblock(side);
        return;
      case 'control':
      case 'push':
        if (u.push) u.push.resp.lastPacket = chunk.packet;
        u.reader?.push(data, chunk);
        return;
      default:
        return; // decoder stream (acknowledgments), reserved and unknown types: not needed
    }
  }

  private encoderErrorNoted: Record<Side, boolean> = { client: false, server: false };

  private controlReader(side: Side): FrameReader {
    const f = this.facts[side];
    return new FrameReader(
      {
        start: () => {},
        frame: (type, payload, _len, chunk) => {
          const name = h3FrameName(type);
          f.controlFrames[name] = (f.controlFrames[name] ?? 0) + 1;
          if (payload === null) return;
          if (type === H3Frame.SETTINGS) this.settings(side, payload, chunk);
          else if (type === H3Frame.GOAWAY) {
            // §7.2.6: a stream ID (from the server) or a push ID (from the client).
            const r = new QuicReader(payload, 0, payload.length);
            const gid = r.varint();
            if (!r.bad) {
              f.goaway = { id: gid, time: chunk.time, packet: chunk.packet };
              if (side === 'server') this.out.closeReason('goaway', `the server sent GOAWAY (last stream ${gid}, RFC 9114 §5.2)`);
            }
          } else if (type === H3Frame.CANCEL_PUSH) {
            // §7.2.3: Push ID (i). A push not (yet) promised is not tracked.
            const r = new QuicReader(payload, 0, payload.length);
            const pid = r.varint();
            const px = r.bad ? undefined : this.pushes.get(pid);
            if (px && !px.cancelPush) px.cancelPush = { by: side, time: chunk.time, packet: chunk.packet };
          } else if (type === H3Frame.DATA || type === H3Frame.HEADERS) {
            this.connAnomaly(H3_ANOMALY.FRAME_ERROR, chunk, `${name} frame on the ${side} control stream (RFC 9114 §7.2)`);
          }
        },
      },
      (t) => t === H3Frame.SETTINGS || t === H3Frame.GOAWAY || t === H3Frame.MAX_PUSH_ID || t === H3Frame.CANCEL_PUSH || t === H3Frame.DATA || t === H3Frame.HEADERS,
      MAX_H3_CONTROL_FRAME_BYTES,
      (t, len, chunk) => this.connAnomaly(H3_ANOMALY.FRAME_ERROR, chunk, `${side} control-stream ${h3FrameName(t)} of ${len} octets exceeds ${MAX_H3_CONTROL_FRAME_BYTES}`),
    );
  }

  /** §7.2.4: SETTINGS, a list of (identifier (i), value (i)). */
  private settings(side: Side, payload: Uint8Array, chunk: StreamChunk): void {
    const f = this.facts[side];
    if (f.settings !== null) {
      this.connAnomaly(H3_ANOMALY.FRAME_ERROR, chunk, `second SETTINGS frame from the ${side} (RFC 9114 §7.2.4)`);
      return;
    }
    const s: Record<string, number> = {};
    const r = new QuicReader(payload, 0, payload.length);
    let n = 0;
    while (r.left > 0) {
      const id = r.varint();
      const v = r.varint();
      if (r.bad) break;
      if (isReservedH3(id)) continue;
      if (n++ < MAX_H3_SETTINGS) s[h3SettingName(id)] = v;
      // RFC 9204 §3.2.3: this side's decoder accepts a table this large: it bounds the peer's encoder.
      if (id === 0x01) this.decoders[side === 'client' ? 'server' : 'client'].setMaxCapacity(v);
    }
    f.settings = s;
    f.settingsTime = chunk.time;
  }

  // ------------------------------------------------------------------ stream ends

  onStreamEnd(id: number, side: Side, how: EndHow, time: number, packet: number, errorCode?: number): void {
    if (isUniStream(id)) {
      const u = this.uni.get(id);
      if (u?.push) this.endDir(u.push, u.push.resp, how, time, packet, errorCode);
      return;
    }
    if (id % 4 !== 0) return;
    const ex = this.exchange(id);
    if (ex === null) return;
    this.endDir(ex, side === 'client' ? ex.req : ex.resp, how, time, packet, errorCode);
  }

  private endDir(ex: Exchange, d: Dir, how: EndHow, time: number, packet: number, errorCode?: number): void {
    if (d.ended) return;
    d.ended = true;
    d.end = time;
    d.lastPacket = packet;
    if (d.firstPacket === null) d.firstPacket = packet;
    if (how === 'rst') d.reset = { code: errorCode ?? 0, time, packet };
    this.maybeEmit(ex);
  }

  onStopSending(id: number, side: Side, errorCode: number, time: number): void {
    const ex = this.exchanges.get(id);
    if (ex && !ex.stopSending) ex.stopSending = { by: side, code: errorCode, time };
  }

  private maybeEmit(ex: Exchange): void {
    if (ex.emitted) return;
    if (!ex.resp.ended || !ex.req.ended) return;
    if (ex.req.blocked > 0 || ex.resp.blocked > 0) return;
    this.emit(ex, ex.isPush === true);
  }

  onClose(): void {
    for (const ex of this.exchanges.values()) if (!ex.emitted) this.emit(ex);
    for (const px of this.pushes.values()) if (!px.emitted && px.req.headers) this.emit(px, true);
    const side = (s: Side): Record<string, unknown> => {
      const f = this.facts[s];
      const dec = this.decoders[s];
      return {
        settings: f.settings,
        ...(f.goaway ? { goaway: f.goaway } : {}),
        controlFrames: f.controlFrames,
        uniStreams: f.streams,
        qpack: {
          sections: this.sectionsDecoded[s],
          sectionsWithDynamicRefs: this.dynamicRefs[s],
          ...dec.stats,
          table: dec.snapshot(),
          ...(dec.encoderError ? { encoderError: dec.encoderError.message } : {}),
        },
      };
    };
    this.out.extra({ h3: { client: side('client'), server: side('server') } });
  }

  private emit(ex: Exchange, pushed = false): void {
    ex.emitted = true;
    // A push's id is its push ID: the request stream of the same number is another exchange.
    if (!pushed) this.exchanges.delete(ex.id);
    if (!pushed) this.emittedIds.add(ex.id);
    if (!pushed && ex.index === 0) {
      // No HEADERS frame from the client: its start was lost to the capture, or the stream is not
      // a request (an extension's). Counted, not reported as a request without a method.
      this.count('h3StreamsWithoutRequestHeaders');
      return;
    }
    const req = ex.req;
    const resp = ex.resp;
    if (req.blocked > 0 || resp.blocked > 0) {
      req.incomplete ||= req.blocked > 0;
      resp.incomplete ||= resp.blocked > 0;
      this.exAnomaly(ex, H3_ANOMALY.QPACK_BLOCKED, null, `field section of stream ${ex.id} still waited for QPACK encoder-stream inserts at the end (RFC 9204 §2.1.2)`, resp.end ?? req.end ?? 0);
      this.count('qpackBlockedAtEnd');
    }
    if (req.incomplete || resp.incomplete) {
      this.exAnomaly(ex, H3_ANOMALY.HEADERS_INCOMPLETE, null, `header fields of stream ${ex.id} are incomplete (${[req.incomplete ? 'request' : '', resp.incomplete ? 'response' : ''].filter(Boolean).join(' and ')})`, req.start ?? 0);
    }
    const reqHeaders = req.headers ?? [];
    const pseudo = (name: string): string | undefined => reqHeaders.find((h) => h.name === name)?.value;
    const method = pseudo(':method') ?? '';
    let target = pseudo(':path') ?? '';
    const scheme = pseudo(':scheme') ?? this.info.scheme;
    const authority = pseudo(':authority') ?? reqHeaders.find((h) => h.name === 'host')?.value ?? serverAuthority(this.info);
    let url: string;
    if (method === 'CONNECT' && !target) {
      target = authority;
      url = authority;
    } else url = `${scheme}://${authority}${target}`;
    // §5.2: a GOAWAY from the server names the first request stream it did not process.
    const goaway = this.facts.server.goaway;
    const refused = !pushed && goaway !== null && ex.id >= goaway.id;
    let state: ExchangeState;
    if (req.reset || resp.reset) state = 'reset';
    else if (resp.ended && resp.headers) state = 'complete';
    else if (resp.headers) state = 'incomplete-response';
    else if (refused) state = 'aborted';
    else state = 'no-response';
    if (refused && !resp.headers) this.exAnomaly(ex, H3_ANOMALY.REFUSED_BY_GOAWAY, null, `stream ${ex.id} at or above the server's GOAWAY id ${goaway!.id}: not processed`, goaway!.time);
    const reset = resp.reset ?? req.reset;
    if (reset) this.exAnomaly(ex, H3_ANOMALY.STREAM_RESET, null, `RESET_STREAM from the ${resp.reset ? 'server' : 'client'} with error ${h3Err(reset.code)}`, reset.time);
    const reqFirst = req.firstPacket ?? resp.firstPacket ?? 0;
    const draft: RequestDraft = {
      index: ex.index || this.nextIndex++,
      streamId: ex.id,
      method,
      url,
      target,
      httpVersion: 'h3',
      status: ex.status,
      statusText: '',
      requestHeaders: reqHeaders,
      responseHeaders: resp.headers ?? [],
      sizes: {
        requestHeaders: req.headerBytes,
        requestBody: req.body,
        responseHeaders: resp.headerBytes,
        responseBody: resp.body,
        responseBodyWire: resp.bodyWire,
        responseBodyDecoded: -1,
      },
      times: exchangeTimes(req.start ?? resp.start ?? 0, req.ended ? req.end : null, resp.start, resp.ended ? resp.end : null),
      pipelined: false,
      connectionReused: false,
      state,
      packets: {
        request: [reqFirst, req.lastPacket ?? reqFirst],
        response: resp.firstPacket === null ? null : [resp.firstPacket, resp.lastPacket ?? resp.firstPacket],
      },
      lostBytes: ex.lostBytes,
      anomalies: ex.anomalies,
    };
    draft.connectionReused = draft.index > 1;
    if (pushed) draft.pushed = true;
    if (ex.informational.length) draft.informational = ex.informational;
    if (resp.trailers) draft.trailers = resp.trailers;
    const extra: Record<string, unknown> = {
      qpack: {
        request: req.fields,
        response: resp.fields,
        ...(req.incomplete || resp.incomplete ? { incomplete: { request: req.incomplete, response: resp.incomplete } } : {}),
      },
    };
    if (reset) extra.rst = { by: resp.reset ? 'server' : 'client', code: reset.code, error: h3Err(reset.code), time: reset.time };
    if (ex.stopSending) extra.stopSending = { ...ex.stopSending, error: h3Err(ex.stopSending.code) };
    if (req.trailers) extra.requestTrailers = req.trailers;
    if (ex.pushPromises) extra.pushPromises = ex.pushPromises;
    if (pushed && ex.cancelPush) extra.cancelPush = ex.cancelPush;
    draft.extra = extra;
    this.out.request(draft);
  }

  // ------------------------------------------------------------------ anomalies

  private exAnomaly(ex: Exchange, code: string, chunk: StreamChunk | null, detail: string, time?: number): void {
    if (ex.anomalies.length >= 32) return;
    ex.anomalies.push({ code, packet: chunk?.packet, time: chunk?.time ?? time, detail });
  }

  private connAnomaly(code: string, chunk: StreamChunk, detail: string): void {
    this.count(COUNTER[code] ?? 'h3Anomalies');
    this.out.anomaly({ code, packet: chunk.packet, time: chunk.time, detail });
  }
}

function varintLen(v: number): number {
  return v < 0x40 ? 1 : v < 0x4000 ? 2 : v < 0x4000_0000 ? 4 : 8;
}

const h3Err = h3ErrorName;
