/**
 * HTTP/2 connection analysis (RFC 9113): one Http2Session per TCP connection, a StreamSink fed by
 * the reassembler (or by the HTTP/1 session after an h2c Upgrade). It parses frames per direction
 * (frames.ts), decodes header blocks with one HPACK decoder per direction, follows each stream's
 * lifecycle and reports every request stream to the ExchangeSink as soon as it closes (at
 * connection close for streams still open).
 *
 * Call order (tcp/stream.ts): onData* (both directions, capture order) → onEnd per side → onClose.
 * Nothing here throws on input; problems become anomalies (connection-level through `out.anomaly`,
 * stream-level on the request draft). No frame costs a pass over the open streams (up to
 * MAX_OPEN_STREAMS): GOAWAY refusal, unended-stream counts, connection-stall time and window changes
 * from SETTINGS are kept incrementally (see `emit`, `syncUnended`, `foldConnStalls`, StallHeap).
 *
 * Stream lifecycle, as observed (RFC 9113 §5.1, client's point of view):
 *   idle ─HEADERS(client)→ open ─END_STREAM(client)→ half-closed(local) ─END_STREAM(server)→ closed
 *   idle ─PUSH_PROMISE(server)→ reserved(remote) ─HEADERS(server)→ half-closed(local) ─END_STREAM→ closed
 *   any ─RST_STREAM(either side)→ closed
 *
 * What the capture can and cannot tell (documented inferences):
 *   - Times are capture times at the capture point; a frame's time is that of the packet carrying
 *     its first (start) or last (end) octet.
 *   - Flow control: windows are replayed from SETTINGS_INITIAL_WINDOW_SIZE, DATA lengths (padding
 *     included) and WINDOW_UPDATEs, applied in capture order. A *stall* is inferred when a side's
 *     send window (connection or stream) is ≤ 0 after one of its DATA frames while that side has not
 *     ended the stream (for the connection window: some stream of that side not ended). It ends at
 *     the first WINDOW_UPDATE that makes the window positive again (`endTime` = that frame's time),
 *     or unresolved at RST_STREAM / connection close. The capture cannot show the sender's queue:
 *     `dataFollowed` tells whether the side did send more DATA afterwards (a stall that is followed by
 *     no data was probably not a stall). Near the receiver, the stall appears shorter by about the
 *     one-way delay; near the sender, longer.
 *   - MAX_CONCURRENT_STREAMS waits: a client stream *may have waited* when, right before it was
 *     opened, the client's open streams had reached the server's advertised limit since the last
 *     stream opened. `maxWaitMs` (limit reached → stream opened) is an upper bound.
 *   - GOAWAY (§6.8): a stream initiated by the receiver of a GOAWAY, with an id above the lowest
 *     last-stream-id that side's GOAWAYs carried, is marked refused when it is reported (`aborted`
 *     unless it got a response) — also when it opened after the GOAWAY (sent before it arrived).
 *   - PING RTT: time between a PING and its ACK as seen at the capture point; it is the round trip
 *     between the capture point and the peer that answered.
 *   - Mid-connection start (`prefaceSeen: false`): frame boundaries are found by scanning, HPACK runs
 *     in unknown-start mode (see hpack/decoder.ts) and streams whose HEADERS were not seen are only
 *     counted (`streamsWithoutHeaders`). Flow-control windows are then unknown, so no stalls or
 *     window series are inferred (`flowControlTracked: false`); the same holds from the first lost
 *     frame boundary on (a capture gap that is not inside one frame's payload).
 */
import { exchangeTimes, type ExchangeSink, type RequestDraft } from '../model/exchange.js';
import type { Anomaly, ExchangeState, H2ConnectionFacts, H2FrameStats, H2RequestFacts, H2SideFacts, H2TableSnapshot, Header, HpackFieldNote, Side } from '../model/types.js';
import { serverAuthority, type EndHow, type StreamChunk, type StreamInfo, type StreamSink } from '../tcp/stream.js';
import {
  CLIENT_PREFACE_BYTES,
  DEFAULT_INITIAL_WINDOW_SIZE,
  DEFAULT_MAX_FRAME_SIZE,
  ErrorCode,
  MAX_WINDOW_SIZE,
  Setting,
  errorCodeName,
  settingName,
} from './constants.js';
import { FrameParser, type Frame, type FrameOf, type FrameParserStats } from './frames.js';
import { HpackDecoder, type DecodedBlock, type DecodedField, DEFAULT_HEADER_TABLE_SIZE, UNKNOWN_NAME } from './hpack/decoder.js';
import { MAX_TRACKED_TABLE_SIZE } from './hpack/dynamic-table.js';
import { HeaderListTooLargeError, HpackError } from './hpack/errors.js';
import { addStats, compressionStats, ZERO_STATS, type CompressionStats } from './hpack/stats.js';
import { TcpHolTracker, TransportMap } from './tcp-hol.js';
import { MinHeap } from '../util/heap.js';
import { headerTapFor, http1Line, MAX_TAP_ENTRIES, type HeaderTap, type TableStateRecord } from '../header-tap.js';

/** Named limits (bounded memory per connection; overflow is counted in `connection.h2.dropped`). */
export const MAX_WINDOW_SAMPLES = 1000;
export const MAX_PING_SAMPLES = 256;
export const MAX_TABLE_SNAPSHOTS = 256;
export const MAX_STALLS = 1000;
export const MAX_SETTINGS_RECORDS = 64;
export const MAX_WAITED_STREAMS = 1000;
export const MAX_PUSH_CANCELLED = 1000;
/** Open streams tracked at once; beyond it new streams are counted, not tracked. */
export const MAX_OPEN_STREAMS = 10_000;
/** Header block octets collected across CONTINUATION frames before the block is abandoned. */
export const MAX_HEADER_BLOCK_BYTES = 1 << 20;

/** Anomaly codes of this module. */
export const HTTP2_ANOMALY = {
  BAD_PREFACE: 'H2_BAD_PREFACE',
  FIRST_FRAME_NOT_SETTINGS: 'H2_FIRST_FRAME_NOT_SETTINGS',
  COMPRESSION_ERROR: 'COMPRESSION_ERROR',
  PROTOCOL_ERROR: 'H2_PROTOCOL_ERROR',
  FLOW_CONTROL_ERROR: 'H2_FLOW_CONTROL_ERROR',
  GOAWAY_ERROR: 'H2_GOAWAY_ERROR',
  STREAM_RESET: 'H2_RST_STREAM',
  HEADER_BLOCK_TOO_LARGE: 'H2_HEADER_BLOCK_TOO_LARGE',
  HEADER_BLOCK_LOST: 'H2_HEADER_BLOCK_LOST',
  UNKNOWN_STREAM: 'H2_FRAME_ON_UNKNOWN_STREAM',
  TOO_MANY_STREAMS: 'H2_TOO_MANY_STREAMS',
  UNKNOWN_REQUEST: 'H2C_UPGRADE_REQUEST_UNKNOWN',
  /** A side's HPACK dynamic table outgrew MAX_TRACKED_TABLE_SIZE: its oldest entries are forgotten (once per side). */
  HPACK_TABLE_LIMIT: 'H2_HPACK_TABLE_LIMIT',
  INTERNAL: 'H2_INTERNAL_ERROR',
} as const;

export interface Http2SessionOptions {
  /** The connection start (client preface) is in the capture; false = capture began mid-connection. */
  prefaceSeen: boolean;
  /** The capture's counters (`capture.counters`): limits hit are counted there too. */
  count?: (name: string, n?: number) => void;
}

/** The HTTP/1.1 request that carried `Upgrade: h2c`; it becomes stream 1 (RFC 7540 §3.2). */
export interface H2cUpgradeRequest {
  method: string;
  target: string;
  /** Absolute URL as the HTTP/1 parser built it. */
  url: string;
  headers: Header[];
  /** Request head octets (request line + header fields) and body octets. */
  headerBytes: number;
  bodyBytes: number;
  startTime: number;
  endTime: number | null;
  packets: [number, number];
}

export interface H2cUpgrade {
  /** The upgrading request (stream 1). Without it stream 1 is reported with an empty request and an anomaly. */
  request?: H2cUpgradeRequest;
  /** 1-based position of the upgrading request on the connection (default 1); later streams follow it. */
  index?: number;
  /** Capture time and packet of the `101 Switching Protocols` response. */
  switchTime?: number;
  switchPacket?: number;
}

type StreamStateName = 'idle' | 'reserved' | 'open' | 'half-closed-local' | 'half-closed-remote' | 'closed';

interface Direction {
  headers: Header[] | null;
  fields: DecodedField[] | null;
  headerBytes: number;
  stats: CompressionStats;
  trailers: Header[] | null;
  body: number;
  /** DATA frames on the wire: 9-octet headers + payload (with padding). */
  bodyWire: number;
  start: number | null;
  end: number | null;
  firstPacket: number | null;
  lastPacket: number | null;
  ended: boolean;
  /**
   * Stream-level send window of this direction's sender, relative to the SETTINGS_INITIAL_WINDOW_SIZE
   * that governs it (the receiver's): window = windowRel + initial window size (see `window()`), so
   * a change of that setting (RFC 9113 §6.9.2) needs no pass over the open streams.
   */
  windowRel: number;
  stall: OpenStall | null;
  /** Bumped whenever `stall` or its heap entry changes: older StallHeap entries are stale. */
  stallToken: number;
  stalledMs: number;
  stalls: number;
  /** Counted in `Http2Session.unended` (see `syncUnended`). */
  unendedCounted: boolean;
  /**
   * The sender's cumulative connection-stall time and count when the stream opened; folded into
   * `stalledMs`/`stalls` once when the direction ends or the stream is reported (`foldConnStalls`).
   */
  connStallMs0: number;
  connStalls0: number;
  connFolded: boolean;
}

interface Stream {
  id: number;
  index: number;
  pushed: boolean;
  promisedBy?: number;
  state: StreamStateName;
  req: Direction;
  resp: Direction;
  status: number | null;
  informational: { status: number; time: number }[];
  rst: { by: Side; code: string; time: number; packet: number } | null;
  lostBytes: number;
  anomalies: Anomaly[];
  upgrade?: string;
  upgradeRequest?: H2cUpgradeRequest;
  /** Refused by GOAWAY (id above the peer's last-stream-id); decided when reported (`emit`). */
  refused: boolean;
  /** Times whose octets TCP delivered later than captured (head-of-line blocking), by time field. */
  delivered: Record<string, number>;
  /** RFC 7540 priority carried on the request HEADERS (deprecated by RFC 9113 but still sent). */
  priority?: { exclusive: boolean; dependency: number; weight: number };
}

interface OpenStall {
  side: Side;
  streamId: number;
  startTime: number;
  startPacket: number;
}

export interface FlowControlStall {
  side: Side;
  /** 0 = the connection window. */
  streamId: number;
  startTime: number;
  /** Time of the WINDOW_UPDATE that reopened the window (or of the RST/close that ended it). */
  endTime: number;
  durationMs: number;
  startPacket: number;
  endPacket: number | null;
  /** Ended by a WINDOW_UPDATE (false: stream reset or connection closed first). */
  resolved: boolean;
  /** The side sent more DATA (on that stream, or any for the connection window) after it. */
  dataFollowed: boolean;
}

interface SettingsRecord {
  time: number;
  packet: number;
  settings: Record<string, number>;
  ackTime: number | null;
  ackPacket: number | null;
  /** 'frame' or 'HTTP2-Settings' (h2c upgrade header, acknowledged implicitly by the 101). */
  via?: string;
}

interface PendingBlock {
  kind: 'HEADERS' | 'PUSH_PROMISE';
  streamId: number;
  promisedStreamId: number;
  endStream: boolean;
  parts: Uint8Array[];
  bytes: number;
  first: Frame;
  lastPacket: number;
  endTime: number;
  endDelivered: number;
  damaged: boolean;
  /** Octets of the block's frames missing from the capture. */
  lost: number;
}

interface SideState {
  parser: FrameParser;
  decoder: HpackDecoder;
  /** Preface octets still expected (client side only). */
  prefaceLeft: number;
  sawFrame: boolean;
  settings: SettingsRecord[];
  unacked: { rec: SettingsRecord; values: Map<number, number> }[];
  /** Settings values this side advertised (applied). */
  values: { headerTableSize: number; maxConcurrentStreams: number | null; initialWindowSize: number; maxFrameSize: number; enablePush: number };
  /** Connection send window of this side (DATA it may still send). */
  connWindow: number;
  connStall: OpenStall | null;
  pending: PendingBlock | null;
  pings: Map<string, { time: number; packet: number }>;
  compression: CompressionStats;
  headerBlocks: number;
  tableSnapshots: H2TableSnapshot[];
  /** HPACK entries forgotten so far (decoder.forgotten), and the anomaly that reports them. */
  forgottenSeen: number;
  forgottenAnomaly: Anomaly | null;
  goaway: { lastStreamId: number; errorCode: string; debugData: string; time: number; packet: number } | null;
  /** Lowest last-stream-id of this side's GOAWAYs (§6.8: it may only decrease). */
  goawayLastStreamId: number | null;
  lostBytes: number;
  /** Open stream-level stalls of this side as sender, and the heap SETTINGS consults (see StallHeap). */
  openStalls: Map<Direction, Stream>;
  stallHeap: StallHeap;
  /** Σ durations and count of this side's ended connection-level stalls (see `foldConnStalls`). */
  connStalledMs: number;
  connStalls: number;
}

interface StallHeapEntry {
  /** `windowRel` when pushed: an upper bound of it while the entry is current (DATA only lowers it). */
  key: number;
  d: Direction;
  token: number;
}

/**
 * Max-heap of open stream stalls of one sender by `windowRel` (a MinHeap of its negation), so that a
 * SETTINGS_INITIAL_WINDOW_SIZE increase finds the stalls it ends (window = windowRel + new size > 0)
 * in O(k log n) instead of a pass over every open stream. Entries are invalidated lazily (token
 * mismatch) and the heap is rebuilt from `openStalls` when stale entries outnumber live ones.
 */
type StallHeap = MinHeap<StallHeapEntry>;
const newStallHeap = (): StallHeap => new MinHeap<StallHeapEntry>((e) => -e.key);

const other = (s: Side): Side => (s === 'client' ? 'server' : 'client');

function newDirection(connStallMs0: number, connStalls0: number): Direction {
  return {
    headers: null,
    fields: null,
    headerBytes: 0,
    stats: { ...ZERO_STATS },
    trailers: null,
    body: 0,
    bodyWire: 0,
    start: null,
    end: null,
    firstPacket: null,
    lastPacket: null,
    ended: false,
    windowRel: 0,
    stall: null,
    stallToken: 0,
    stalledMs: 0,
    stalls: 0,
    unendedCounted: false,
    connStallMs0,
    connStalls0,
    connFolded: false,
  };
}

export class Http2Session implements StreamSink {
  private readonly info: StreamInfo;
  private readonly out: ExchangeSink;
  private readonly prefaceSeen: boolean;
  private readonly sides: Record<Side, SideState>;
  /** Set only while the view records this connection's HPACK tables (header-tap.ts). */
  private readonly tap: HeaderTap | null;
  private readonly streams = new Map<number, Stream>();
  private nextIndex = 1;
  private lastClientStreamId = 0;
  private openClientStreams = 0;
  private openStreams = 0;
  private maxOpenClientStreams = 0;
  private maxOpenStreams = 0;
  private limitReachedAt: number | null = null;
  private readonly waited: { streamId: number; limit: number; limitReachedTime: number; openedTime: number; maxWaitMs: number }[] = [];
  private readonly stalls: FlowControlStall[] = [];
  /** Resolved stalls waiting for "did DATA follow?" — by side, then stream id (0 = connection). */
  private readonly stallFollow: Record<Side, Map<number, FlowControlStall[]>> = { client: new Map(), server: new Map() };
  /**
   * Streams whose direction sent by each side is not ended and has started (the predicate of
   * `isUnended`), kept by `syncUnended`: lets a DATA frame ask "does this side still have a stream
   * to send on?" in O(1).
   */
  private readonly unended: Record<Side, number> = { client: 0, server: 0 };
  private readonly windows: { time: number; side: Side; window: number }[] = [];
  private readonly pingRtts: { side: Side; time: number; rttMs: number; packet: number }[] = [];
  private readonly pushCancelled = new Map<number, { streamId: number; code: string; time: number; bytesBeforeReset: number; bytesAfterReset: number }>();
  private readonly dropped: Record<string, number> = {};
  private streamsWithoutHeaders = 0;
  private lastPromisedStreamId = 0;
  /** Lowest stream ids seen opening (mid-connection: lower ids belong to streams opened before the capture). */
  private firstClientStreamId = 0;
  private firstPromisedStreamId = 0;
  private readonly unknownStreamIds = new Set<number>();
  private closed = false;
  private priorityFrames = 0;
  /** TCP head-of-line blocking across streams, per sending side (tcp-hol.ts). */
  private readonly hol: Record<Side, TcpHolTracker> = { client: new TcpHolTracker('client'), server: new TcpHolTracker('server') };
  /**
   * Read from TLS: the tracker measures the TCP chunks (onTransport), and frames are mapped to the
   * TCP octets that carried them (tcp-hol.ts). Null while the chunks are the transport's own.
   */
  private holMap: Record<Side, TransportMap> | null = null;
  /**
   * Windows are only known when every frame since the connection start was seen: false from the
   * start when `prefaceSeen` is false, and from the first lost frame boundary on.
   */
  private flowKnown: boolean;

  private readonly count: (name: string, n?: number) => void;

  constructor(info: StreamInfo, out: ExchangeSink, opts: Http2SessionOptions) {
    this.info = info;
    this.out = out;
    this.count = opts.count ?? (() => {});
    this.prefaceSeen = opts.prefaceSeen;
    this.flowKnown = opts.prefaceSeen;
    const mk = (side: Side): SideState => ({
      parser: new FrameParser({
        side,
        onFrame: (f) => this.onFrame(side, f),
        onAnomaly: (a) => this.out.anomaly(a),
        onDesync: () => this.onDesync(side),
        maxFrameSize: DEFAULT_MAX_FRAME_SIZE,
      }),
      decoder: new HpackDecoder({ unknownStart: !opts.prefaceSeen }),
      prefaceLeft: side === 'client' && opts.prefaceSeen ? CLIENT_PREFACE_BYTES.length : 0,
      sawFrame: false,
      settings: [],
      unacked: [],
      values: {
        headerTableSize: DEFAULT_HEADER_TABLE_SIZE,
        maxConcurrentStreams: null,
        initialWindowSize: DEFAULT_INITIAL_WINDOW_SIZE,
        maxFrameSize: DEFAULT_MAX_FRAME_SIZE,
        enablePush: 1,
      },
      connWindow: DEFAULT_INITIAL_WINDOW_SIZE,
      connStall: null,
      pending: null,
      pings: new Map(),
      compression: { ...ZERO_STATS },
      headerBlocks: 0,
      tableSnapshots: [],
      forgottenSeen: 0,
      forgottenAnomaly: null,
      goaway: null,
      goawayLastStreamId: null,
      lostBytes: 0,
      openStalls: new Map(),
      stallHeap: newStallHeap(),
      connStalledMs: 0,
      connStalls: 0,
    });
    this.sides = { client: mk('client'), server: mk('server') };
    this.tap = headerTapFor(info.id);
  }

  /** The decoder's table as header-tap.ts records it (HPACK indices 62… newest first). */
  private tapTable(side: Side): TableStateRecord {
    const t = this.sides[side].decoder.tableSnapshot(MAX_TAP_ENTRIES);
    return {
      entries: t.entries.map((e, i) => ({ index: 62 + i, name: e.name, value: e.value, size: e.size, ...(e.unknown ? { unknown: true } : {}) })),
      entryCount: t.entryCount,
      size: t.size,
      maxSize: t.maxSize,
      unknownOlderEntries: t.unknownOlderEntries,
      inserted: t.inserted,
      evicted: t.evicted,
    };
  }

  /**
   * Continue a connection in HTTP/2 after `Upgrade: h2c` → `101 Switching Protocols`.
   *
   * Hand-off contract with the HTTP/1 session: once the 101 response head is complete, it calls
   * this (with the upgrading request, its index and the 101's time/packet) and then feeds the
   * returned session, through `onData`, every byte after the upgrading request (client side: the
   * connection preface comes next) and every byte after the 101's empty line (server side), with
   * chunk `data`/`offset` sliced to start at those boundaries; later chunks, `onEnd` and `onClose`
   * are forwarded unchanged. The HTTP/1 session must not report the upgrading request itself: it is
   * stream 1 here (half-closed from the client at once, RFC 7540 §3.2), reported with the HTTP/2
   * response, `upgrade: 'h2c'` and the 101 as an informational response. The request's
   * `HTTP2-Settings` header is recorded as the client's first SETTINGS.
   */
  static afterUpgrade(info: StreamInfo, out: ExchangeSink, upgrade: H2cUpgrade = {}, count?: (name: string, n?: number) => void): Http2Session {
    const s = new Http2Session(info, out, { prefaceSeen: true, count });
    s.startUpgraded(upgrade);
    return s;
  }

  private startUpgraded(u: H2cUpgrade): void {
    const index = u.index ?? 1;
    this.nextIndex = index;
    const st = this.newStream(1, false, u.request?.startTime ?? u.switchTime ?? 0) as Stream;
    st.upgrade = 'h2c';
    this.lastClientStreamId = 1;
    this.firstClientStreamId = 1;
    const r = u.request;
    if (r) {
      st.upgradeRequest = r;
      st.req.headers = r.headers;
      st.req.headerBytes = r.headerBytes;
      st.req.body = r.bodyBytes;
      st.req.start = r.startTime;
      st.req.end = r.endTime;
      st.req.firstPacket = r.packets[0];
      st.req.lastPacket = r.packets[1];
      const hs = r.headers.find((h) => h.name.toLowerCase() === 'http2-settings');
      if (hs) this.applyHttp2SettingsHeader(hs.value, r.endTime ?? r.startTime, r.packets[1], u.switchTime ?? null, u.switchPacket ?? null);
    } else {
      st.anomalies.push({ code: HTTP2_ANOMALY.UNKNOWN_REQUEST, detail: 'stream 1 continues an h2c upgrade whose HTTP/1.1 request was not handed over' });
      st.req.start = u.switchTime ?? 0;
      st.req.firstPacket = u.switchPacket ?? 0;
      st.req.lastPacket = u.switchPacket ?? 0;
    }
    if (u.switchTime !== undefined) st.informational.push({ status: 101, time: u.switchTime });
    this.foldConnStalls(st.req, 'client');
    st.req.ended = true;
    st.state = 'half-closed-local';
    this.syncUnended(st);
  }

  private applyHttp2SettingsHeader(value: string, time: number, packet: number, ackTime: number | null, ackPacket: number | null): void {
    const b = Buffer.from(value.trim(), 'base64url');
    const values = new Map<number, number>();
    for (let o = 0; o + 6 <= b.length; o += 6) values.set(b.readUInt16BE(o), b.readUInt32BE(o + 2));
    const rec: SettingsRecord = { time, packet, settings: namedSettings(values), ackTime, ackPacket, via: 'HTTP2-Settings' };
    this.sides.client.settings.push(rec);
    this.applySettings('client', values, time, true);
  }

  // ---------------------------------------------------------------- StreamSink

  onData(side: Side, chunk: StreamChunk): void {
    // Once per TCP segment: plain field loads (a keyed load by side was a visible cost here).
    const client = side === 'client';
    const s = client ? this.sides.client : this.sides.server;
    if (chunk.transportOffset === undefined) (client ? this.hol.client : this.hol.server).chunk(chunk);
    else (this.holMap ??= { client: new TransportMap(), server: new TransportMap() })[side].push(chunk);
    if (chunk.skipped > 0) s.lostBytes += chunk.skipped;
    if (s.prefaceLeft > 0) {
      if (chunk.skipped !== 0) {
        // The preface itself was (partly) lost: give up on checking it.
        s.prefaceLeft = 0;
      } else {
        const data = chunk.data;
        const done = CLIENT_PREFACE_BYTES.length - s.prefaceLeft;
        let i = 0;
        while (i < data.length && s.prefaceLeft > 0) {
          if (data[i] !== CLIENT_PREFACE_BYTES[done + i]) {
            this.out.anomaly({
              code: HTTP2_ANOMALY.BAD_PREFACE,
              packet: chunk.packet,
              time: chunk.time,
              detail: `client connection preface mismatch at octet ${done + i}`,
            });
            s.prefaceLeft = 0;
            // Whatever follows is not aligned on a frame boundary we can trust: scan for one.
            s.parser.loseSync();
            break;
          }
          i++;
          s.prefaceLeft--;
        }
        if (i === data.length) return;
        chunk = { ...chunk, data: data.subarray(i), offset: chunk.offset + i };
      }
    } else if (side === 'client' && !this.prefaceSeen && !s.sawFrame && s.parser.stats.frames === 0 && chunk.skipped === 0 && startsWithPreface(chunk.data)) {
      // Told the start was unseen, but the preface is right here: skip it.
      const n = CLIENT_PREFACE_BYTES.length;
      if (chunk.data.length === n) return;
      chunk = { ...chunk, data: chunk.data.subarray(n), offset: chunk.offset + n };
    }
    s.parser.push(chunk);
  }

  /** A TCP chunk of the TLS stream this session reads (StreamSink.onTransport): for the tracker only. */
  onTransport(side: Side, chunk: StreamChunk): void {
    this.hol[side].chunk(chunk);
  }

  onEnd(side: Side, _how: EndHow, time: number, packet: number): void {
    this.sides[side].parser.end(time, packet);
  }

  onClose(time: number): void {
    if (this.closed) return;
    this.closed = true;
    for (const side of ['client', 'server'] as const) {
      const s = this.sides[side];
      if (s.pending) {
        this.out.anomaly({
          code: HTTP2_ANOMALY.PROTOCOL_ERROR,
          packet: s.pending.first.firstPacket,
          time: s.pending.first.startTime,
          detail: `${side} header block on stream ${s.pending.streamId} never completed (no END_HEADERS)`,
        });
        s.pending = null;
      }
      if (s.connStall) this.endStall(s.connStall, time, null, false);
      s.connStall = null;
    }
    for (const st of [...this.streams.values()].sort((a, b) => a.index - b.index)) {
      for (const side of ['client', 'server'] as const) {
        const d = side === 'client' ? st.req : st.resp;
        if (d.stall) this.endStall(d.stall, time, null, false, st);
        this.clearStall(d, side);
      }
      this.emit(st);
    }
    this.streams.clear();
    this.unended.client = this.unended.server = 0;
    this.out.h2?.(this.connectionFacts());
  }

  // ---------------------------------------------------------------- frames

  private onDesync(side: Side): void {
    const s = this.sides[side];
    this.hol[side].desync();
    s.pending = null;
    s.decoder.loseSync();
    // Frames may have been missed: windows are unknown from here on; open stalls are dropped.
    this.flowKnown = false;
    for (const x of [this.sides.client, this.sides.server]) {
      x.connStall = null;
      // Only streams with an open stall, not every open stream (no new stall opens from here on).
      for (const d of x.openStalls.keys()) {
        d.stall = null;
        d.stallToken++;
      }
      x.openStalls.clear();
      x.stallHeap.clear();
    }
  }

  private onFrame(side: Side, f: Frame): void {
    const s = this.sides[side];
    const map = this.holMap?.[side];
    if (map === undefined) this.hol[side].frame(f);
    else {
      const r = map.map(f.offset, f.offset + 9 + f.length);
      if (r !== null) this.hol[side].frameRange(f.streamId, r[0], r[1]);
      if (map.overflowed) this.hol[side].desync();
    }
    if (!s.sawFrame) {
      s.sawFrame = true;
      if (this.prefaceSeen && f.kind !== 'SETTINGS') {
        this.out.anomaly({
          code: HTTP2_ANOMALY.FIRST_FRAME_NOT_SETTINGS,
          packet: f.firstPacket,
          time: f.startTime,
          detail: `${side}'s first frame is ${f.kind}, not SETTINGS (RFC 9113 §3.4)`,
        });
      }
    }
    // §6.10: a header block must be followed only by its CONTINUATION frames.
    if (s.pending && (f.kind !== 'CONTINUATION' || f.streamId !== s.pending.streamId)) {
      this.protocolError(f, `${side} sent ${f.kind} on stream ${f.streamId} inside the header block of stream ${s.pending.streamId}`);
      s.pending = null;
      s.decoder.loseSync();
    }
    switch (f.kind) {
      case 'DATA':
        return this.onDataFrame(side, f);
      case 'HEADERS':
      case 'PUSH_PROMISE':
        return this.startBlock(side, f);
      case 'CONTINUATION':
        return this.onContinuation(side, f);
      case 'RST_STREAM':
        return this.onRst(side, f);
      case 'SETTINGS':
        return this.onSettings(side, f);
      case 'PING':
        return this.onPing(side, f);
      case 'GOAWAY':
        return this.onGoaway(side, f);
      case 'WINDOW_UPDATE':
        return this.onWindowUpdate(side, f);
      case 'PRIORITY':
        this.priorityFrames++;
        return;
      default:
        return;
    }
  }

  /**
   * Whether stream `id` was opened earlier on this connection (it is closed if not tracked now).
   * Stream ids only grow (§5.1.1), so no set of closed ids is needed.
   */
  private wasOpened(id: number): boolean {
    return id % 2 === 1
      ? this.firstClientStreamId > 0 && id >= this.firstClientStreamId && id <= this.lastClientStreamId
      : this.firstPromisedStreamId > 0 && id >= this.firstPromisedStreamId && id <= this.lastPromisedStreamId;
  }

  /** A frame for a stream whose opening was never seen (counted once per stream id, bounded). */
  private streamWithoutHeaders(side: Side, f: Frame): void {
    if (this.unknownStreamIds.has(f.streamId)) return;
    if (this.unknownStreamIds.size < MAX_OPEN_STREAMS) this.unknownStreamIds.add(f.streamId);
    this.streamsWithoutHeaders++;
    if (this.prefaceSeen) this.unknownStream(side, f);
  }

  private protocolError(f: Frame, detail: string): void {
    this.out.anomaly({ code: HTTP2_ANOMALY.PROTOCOL_ERROR, packet: f.firstPacket, time: f.startTime, detail });
  }

  private onDataFrame(side: Side, f: FrameOf<'DATA'>): void {
    if (f.streamId === 0) return; // reported by the parser
    const st = this.streams.get(f.streamId);
    // Flow control counts the whole payload, padding included (§6.9.1).
    this.consumeConnWindow(side, f);
    const late = this.pushCancelled.get(f.streamId);
    if (late && side === 'server') late.bytesAfterReset += f.dataLength;
    if (!st) {
      if (!this.wasOpened(f.streamId)) this.streamWithoutHeaders(side, f);
      return;
    }
    const d = side === 'client' ? st.req : st.resp;
    if (d.ended) {
      st.anomalies.push({ code: HTTP2_ANOMALY.PROTOCOL_ERROR, packet: f.firstPacket, time: f.startTime, detail: `${side} DATA after END_STREAM` });
    }
    d.body += f.dataLength;
    d.bodyWire += 9 + f.length;
    if (d.firstPacket === null) d.firstPacket = f.firstPacket;
    if (d.start === null && side === 'client') d.start = f.startTime;
    d.lastPacket = f.lastPacket;
    st.lostBytes += f.lostBytes;
    d.windowRel -= f.length;
    this.dataFollowed(side, f.streamId);
    if (f.endStream) this.endDirection(st, side, f.endTime, f.lastPacket, f.endDeliveredTime);
    else if (this.flowKnown && this.window(d, side) <= 0 && !d.stall) {
      this.openStall(st, d, side, { side, streamId: st.id, startTime: f.endTime, startPacket: f.lastPacket });
    }
    if (st.state === 'closed') this.finishStream(st);
  }

  private consumeConnWindow(side: Side, f: FrameOf<'DATA'>): void {
    const s = this.sides[side];
    s.connWindow -= f.length;
    if (!this.flowKnown) return;
    if (f.length > 0) this.windowSample(f.endTime, side, s.connWindow);
    if (s.connWindow <= 0 && !s.connStall && this.hasUnendedStream(side, f.endStream ? f.streamId : -1)) {
      s.connStall = { side, streamId: 0, startTime: f.endTime, startPacket: f.lastPacket };
    }
  }

  /** Whether `side` has an unended stream other than `except` (O(1): see `unended`). */
  private hasUnendedStream(side: Side, except: number): boolean {
    let n = this.unended[side];
    const ex = except >= 0 ? this.streams.get(except) : undefined;
    if (ex && (side === 'client' ? ex.req : ex.resp).unendedCounted) n--;
    return n > 0;
  }

  /** The direction `side` sends on this stream has started and not ended, on a stream not closed. */
  private static isUnended(st: Stream, side: Side): boolean {
    const d = side === 'client' ? st.req : st.resp;
    return !d.ended && st.state !== 'closed' && (side === 'client' ? st.req.headers !== null || st.upgrade !== undefined : st.resp.headers !== null || st.pushed);
  }

  /** Re-evaluate `isUnended` after a stream's headers, state or end changed; keeps `unended` exact. */
  private syncUnended(st: Stream): void {
    for (const side of ['client', 'server'] as const) {
      const d = side === 'client' ? st.req : st.resp;
      const now = Http2Session.isUnended(st, side);
      if (now !== d.unendedCounted) {
        this.unended[side] += now ? 1 : -1;
        d.unendedCounted = now;
      }
    }
  }

  /** Current send window of the direction `sender` sends (§6.9.2: relative to the receiver's setting). */
  private window(d: Direction, sender: Side): number {
    return d.windowRel + this.sides[other(sender)].values.initialWindowSize;
  }

  private openStall(st: Stream, d: Direction, sender: Side, open: OpenStall): void {
    const s = this.sides[sender];
    d.stall = open;
    s.openStalls.set(d, st);
    this.pushStall(s, d);
  }

  /** (Re)file an open stall in the heap under its current `windowRel`. */
  private pushStall(s: SideState, d: Direction): void {
    s.stallHeap.push({ key: d.windowRel, d, token: ++d.stallToken });
    if (s.stallHeap.size > 2 * s.openStalls.size + 64) {
      s.stallHeap.clear();
      for (const x of s.openStalls.keys()) s.stallHeap.push({ key: x.windowRel, d: x, token: x.stallToken });
    }
  }

  private clearStall(d: Direction, sender: Side): void {
    if (d.stall === null) return;
    d.stall = null;
    d.stallToken++;
    this.sides[sender].openStalls.delete(d);
  }

  private windowSample(time: number, side: Side, window: number): void {
    if (this.windows.length < MAX_WINDOW_SAMPLES) this.windows.push({ time, side, window });
    else this.drop('windowSamples');
  }

  private drop(what: string): void {
    this.dropped[what] = (this.dropped[what] ?? 0) + 1;
  }

  private unknownStream(side: Side, f: Frame): void {
    this.out.anomaly({
      code: HTTP2_ANOMALY.UNKNOWN_STREAM,
      packet: f.firstPacket,
      time: f.startTime,
      detail: `${side} ${f.kind} on stream ${f.streamId}, which was never opened`,
    });
  }

  // ---------------------------------------------------------------- header blocks

  private startBlock(side: Side, f: FrameOf<'HEADERS'> | FrameOf<'PUSH_PROMISE'>): void {
    const s = this.sides[side];
    const block: PendingBlock = {
      kind: f.kind,
      streamId: f.streamId,
      promisedStreamId: f.kind === 'PUSH_PROMISE' ? f.promisedStreamId : 0,
      endStream: f.kind === 'HEADERS' && f.endStream,
      parts: [f.fragment],
      bytes: f.fragment.length,
      first: f,
      lastPacket: f.lastPacket,
      endTime: f.endTime,
      endDelivered: f.endDeliveredTime,
      damaged: f.malformed !== undefined,
      lost: f.lostBytes,
    };
    if (f.kind === 'PUSH_PROMISE' && side === 'client') {
      this.protocolError(f, 'client sent PUSH_PROMISE');
    }
    if (f.endHeaders) this.completeBlock(side, block);
    else s.pending = block;
  }

  private onContinuation(side: Side, f: FrameOf<'CONTINUATION'>): void {
    const s = this.sides[side];
    const p = s.pending;
    if (!p) {
      this.protocolError(f, `${side} CONTINUATION on stream ${f.streamId} without a preceding HEADERS/PUSH_PROMISE`);
      return;
    }
    if (f.malformed) p.damaged = true;
    p.lost += f.lostBytes;
    p.bytes += f.fragment.length;
    if (p.bytes > MAX_HEADER_BLOCK_BYTES) {
      this.out.anomaly({
        code: HTTP2_ANOMALY.HEADER_BLOCK_TOO_LARGE,
        packet: f.firstPacket,
        time: f.startTime,
        detail: `${side} header block on stream ${p.streamId} exceeds ${MAX_HEADER_BLOCK_BYTES} octets`,
      });
      p.damaged = true;
      p.parts = [];
    } else if (!p.damaged) p.parts.push(f.fragment);
    p.lastPacket = f.lastPacket;
    p.endTime = f.endTime;
    p.endDelivered = f.endDeliveredTime;
    if (f.endHeaders) {
      s.pending = null;
      this.completeBlock(side, p);
    }
  }

  /**
   * The side's HPACK table passed MAX_TRACKED_TABLE_SIZE (its peer allowed a larger one): the oldest
   * entries were forgotten (hpack/dynamic-table.ts). Counted in `capture.counters` and
   * `dropped.hpackTableEntries`; one anomaly per side, its count kept current.
   */
  private tableForgot(side: Side, b: PendingBlock): void {
    const s = this.sides[side];
    const n = s.decoder.forgotten - s.forgottenSeen;
    s.forgottenSeen = s.decoder.forgotten;
    this.count('hpackTableEntriesForgotten', n);
    this.dropped.hpackTableEntries = (this.dropped.hpackTableEntries ?? 0) + n;
    if (!s.forgottenAnomaly) {
      s.forgottenAnomaly = { code: HTTP2_ANOMALY.HPACK_TABLE_LIMIT, packet: b.lastPacket, time: b.endTime, detail: '' };
      this.out.anomaly(s.forgottenAnomaly);
    }
    const t = s.decoder.tableInfo();
    s.forgottenAnomaly.detail =
      `${side} HPACK dynamic table (maximum ${t.maxSize} octets, SETTINGS_HEADER_TABLE_SIZE ${t.ceiling}) grew past ` +
      `the ${MAX_TRACKED_TABLE_SIZE} octets tracked (MAX_TRACKED_TABLE_SIZE): ${s.forgottenSeen} oldest entries forgotten; ` +
      `references to them decode as ${UNKNOWN_NAME}`;
  }

  private decodeBlock(side: Side, b: PendingBlock): DecodedBlock | null {
    const s = this.sides[side];
    if (b.damaged) {
      s.decoder.loseSync();
      return null;
    }
    const bytes = b.parts.length === 1 ? b.parts[0] : concatBytes(b.parts, b.bytes);
    try {
      return s.decoder.decode(bytes);
    } catch (e) {
      if (e instanceof HeaderListTooLargeError) {
        // The decoder's header list limits (DEFAULT_MAX_HEADER_LIST_SIZE octets, DEFAULT_MAX_HEADER_FIELDS
        // fields per block) bound what a stream keeps: the fields past them are not kept. The whole
        // block was still parsed, so the dynamic table stays in sync and later blocks decode normally.
        this.drop('headerListTruncated');
        this.out.anomaly({
          code: HTTP2_ANOMALY.COMPRESSION_ERROR,
          packet: b.first.firstPacket,
          time: b.first.startTime,
          detail: `${side} stream ${b.streamId}: ${e.message}`,
        });
        return e.block as DecodedBlock;
      }
      if (e instanceof HpackError) {
        this.out.anomaly({
          code: HTTP2_ANOMALY.COMPRESSION_ERROR,
          packet: b.first.firstPacket,
          time: b.first.startTime,
          detail: `${side} header block on stream ${b.streamId}: ${e.code}: ${e.message}; later blocks decoded in unknown-start mode`,
        });
        s.decoder.loseSync();
        return null;
      }
      // Not an input problem: report it rather than abort the whole analysis.
      this.out.anomaly({ code: HTTP2_ANOMALY.INTERNAL, packet: b.first.firstPacket, time: b.first.startTime, detail: `HPACK decoder failed: ${String(e)}` });
      s.decoder.loseSync();
      return null;
    }
  }

  private completeBlock(side: Side, b: PendingBlock): void {
    const s = this.sides[side];
    const before = this.tap?.wants ? this.tapTable(side) : null;
    const block = this.decodeBlock(side, b);
    if (before) {
      const after = this.tapTable(side);
      this.tap!.add({
        codec: 'hpack',
        side,
        streamId: b.kind === 'PUSH_PROMISE' ? b.promisedStreamId : b.streamId,
        kind: b.kind,
        time: b.endTime,
        packet: b.lastPacket,
        before,
        sizeUpdates: block ? block.sizeUpdates : [],
        inserted: Math.max(0, after.inserted - before.inserted),
        evicted: Math.max(0, after.evicted - before.evicted),
        fields: (block?.fields ?? []).map((f) => ({
          name: f.name,
          value: f.value,
          rep: f.rep,
          ...(f.table ? { table: f.table } : {}),
          ...(f.index !== undefined ? { index: f.index } : f.nameIndex !== undefined ? { index: f.nameIndex } : {}),
          wireBytes: f.wireBytes,
          http1Bytes: f.unknown ? http1Line(f.name, f.value) : f.nameOctets + 2 + f.valueOctets + 2,
          ...(f.rep === 'incremental' ? { inserted: true } : {}),
          ...(f.valueHuffman ? { huffman: true } : {}),
          ...(f.unknown ? { unknown: true } : {}),
        })),
        encodedBytes: b.bytes,
        http1Bytes: block ? compressionStats(block).http1Bytes : 0,
        ...(block ? {} : { error: b.damaged ? 'bytes of the block are missing from the capture' : 'the block could not be decoded; the table is no longer known' }),
      });
    }
    let stats: CompressionStats = { ...ZERO_STATS, encodedBytes: b.bytes };
    if (block) {
      stats = compressionStats(block);
      s.headerBlocks++;
      if (s.tableSnapshots.length < MAX_TABLE_SNAPSHOTS) {
        const t = s.decoder.tableInfo();
        s.tableSnapshots.push({
          time: b.endTime,
          packet: b.lastPacket,
          streamId: b.kind === 'PUSH_PROMISE' ? b.promisedStreamId : b.streamId,
          entries: t.entries,
          size: t.size,
          maxSize: t.maxSize,
          ...(t.unknownOlderEntries ? { unknownOlderEntries: true } : {}),
          ...(block.sizeUpdates.length ? { sizeUpdates: block.sizeUpdates } : {}),
          ...(block.sizeUpdateCount > block.sizeUpdates.length ? { sizeUpdateCount: block.sizeUpdateCount } : {}),
        });
      } else this.drop('tableSnapshots');
    }
    if (s.decoder.forgotten > s.forgottenSeen) this.tableForgot(side, b);
    s.compression = addStats(s.compression, stats);
    const headers = block ? block.fields.map((f) => ({ name: f.name, value: f.value })) : null;
    const fields = block ? block.fields : null;

    if (b.kind === 'PUSH_PROMISE') {
      const parent = this.streams.get(b.streamId);
      if (this.streams.has(b.promisedStreamId) || this.wasOpened(b.promisedStreamId)) {
        this.protocolError(b.first, `PUSH_PROMISE reuses stream ${b.promisedStreamId}`);
        return;
      }
      this.lastPromisedStreamId = Math.max(this.lastPromisedStreamId, b.promisedStreamId);
      if (this.firstPromisedStreamId === 0) this.firstPromisedStreamId = b.promisedStreamId;
      const st = this.newStream(b.promisedStreamId, true, b.first.startTime);
      if (!st) return;
      st.promisedBy = b.streamId;
      st.lostBytes += b.lost;
      st.state = 'reserved';
      st.req.headers = headers;
      st.req.fields = fields;
      st.req.headerBytes = b.bytes;
      st.req.stats = stats;
      st.req.start = b.first.startTime;
      st.req.end = b.endTime;
      st.req.firstPacket = b.first.firstPacket;
      st.req.lastPacket = b.lastPacket;
      this.foldConnStalls(st.req, 'client');
      st.req.ended = true;
      this.syncUnended(st);
      if (!block) st.anomalies.push(this.compressionAnomaly(b));
      if (!parent && this.prefaceSeen) this.unknownStream(side, b.first);
      return;
    }

    let st = this.streams.get(b.streamId);
    if (side === 'client') {
      if (!st) {
        if (this.wasOpened(b.streamId)) {
          this.protocolError(b.first, `client HEADERS on closed stream ${b.streamId}`);
          return;
        }
        if (b.streamId % 2 === 0) this.protocolError(b.first, `client opened even-numbered stream ${b.streamId}`);
        if (b.streamId <= this.lastClientStreamId) this.protocolError(b.first, `client stream ${b.streamId} not above ${this.lastClientStreamId}`);
        this.lastClientStreamId = Math.max(this.lastClientStreamId, b.streamId);
        if (this.firstClientStreamId === 0) this.firstClientStreamId = this.prefaceSeen ? 1 : b.streamId;
        this.noteConcurrency(b.streamId, b.first.startTime);
        const created = this.newStream(b.streamId, false, b.first.startTime);
        if (!created) return;
        st = created;
        st.state = 'open';
        st.req.headers = headers;
        st.req.fields = fields;
        st.req.headerBytes = b.bytes;
        st.req.stats = stats;
        st.req.start = b.first.startTime;
        noteDelivered(st, 'requestStartTime', b.first.startTime, b.first.startDeliveredTime);
        if (b.first.kind === 'HEADERS' && b.first.priority) st.priority = b.first.priority;
        st.req.firstPacket = b.first.firstPacket;
        st.req.lastPacket = b.lastPacket;
        if (!block) st.anomalies.push(this.compressionAnomaly(b));
      } else {
        // Trailers (§8.1): a second header block from the client, which must end the stream.
        st.req.trailers = headers ?? [];
        st.req.lastPacket = b.lastPacket;
        if (!b.endStream) st.anomalies.push({ code: HTTP2_ANOMALY.PROTOCOL_ERROR, packet: b.first.firstPacket, time: b.first.startTime, detail: 'client trailers without END_STREAM' });
      }
      if (b.endStream) this.endDirection(st, 'client', b.endTime, b.lastPacket, b.endDelivered);
    } else {
      if (!st) {
        if (!this.wasOpened(b.streamId)) this.streamWithoutHeaders(side, b.first);
        return;
      }
      const status = statusOf(headers);
      const final = st.resp.headers !== null;
      if (!final && status !== null && status >= 100 && status < 200) {
        // §8.1: interim (1xx) responses before the final one.
        st.informational.push({ status, time: b.first.startTime });
        st.resp.headerBytes += b.bytes;
        st.resp.stats = addStats(st.resp.stats, stats);
        if (st.resp.firstPacket === null) st.resp.firstPacket = b.first.firstPacket;
        st.resp.lastPacket = b.lastPacket;
      } else if (!final) {
        st.status = status;
        st.resp.headers = headers ?? [];
        st.resp.fields = fields;
        st.resp.headerBytes += b.bytes;
        st.resp.stats = addStats(st.resp.stats, stats);
        st.resp.start = b.first.startTime;
        noteDelivered(st, 'responseStartTime', b.first.startTime, b.first.startDeliveredTime);
        if (st.resp.firstPacket === null) st.resp.firstPacket = b.first.firstPacket;
        st.resp.lastPacket = b.lastPacket;
        if (st.pushed && st.state === 'reserved') st.state = 'half-closed-local';
        if (!block) st.anomalies.push(this.compressionAnomaly(b));
      } else {
        st.resp.trailers = headers ?? [];
        st.resp.lastPacket = b.lastPacket;
        if (!b.endStream) st.anomalies.push({ code: HTTP2_ANOMALY.PROTOCOL_ERROR, packet: b.first.firstPacket, time: b.first.startTime, detail: 'server trailers without END_STREAM' });
      }
      if (b.endStream) this.endDirection(st, 'server', b.endTime, b.lastPacket, b.endDelivered);
    }
    st.lostBytes += b.lost;
    this.syncUnended(st);
    if (st.state === 'closed') this.finishStream(st);
  }

  private compressionAnomaly(b: PendingBlock): Anomaly {
    if (b.damaged) {
      return {
        code: HTTP2_ANOMALY.HEADER_BLOCK_LOST,
        packet: b.first.firstPacket,
        time: b.first.startTime,
        detail: 'header block incomplete in the capture (lost or unbuffered octets); headers unknown',
      };
    }
    return {
      code: HTTP2_ANOMALY.COMPRESSION_ERROR,
      packet: b.first.firstPacket,
      time: b.first.startTime,
      detail: 'header block could not be decoded; headers unknown',
    };
  }

  private newStream(id: number, pushed: boolean, time: number): Stream | null {
    if (this.streams.size >= MAX_OPEN_STREAMS) {
      this.drop('streams');
      return null;
    }
    const c = this.sides.client;
    const s = this.sides.server;
    const st: Stream = {
      id,
      index: this.nextIndex++,
      pushed,
      state: 'idle',
      req: newDirection(c.connStalledMs, c.connStalls),
      resp: newDirection(s.connStalledMs, s.connStalls),
      status: null,
      informational: [],
      rst: null,
      lostBytes: 0,
      anomalies: [],
      refused: false,
      delivered: {},
    };
    this.streams.set(id, st);
    this.openStreams++;
    if (!pushed) this.openClientStreams++;
    this.maxOpenStreams = Math.max(this.maxOpenStreams, this.openStreams);
    this.maxOpenClientStreams = Math.max(this.maxOpenClientStreams, this.openClientStreams);
    const limit = this.sides.server.values.maxConcurrentStreams;
    if (!pushed && limit !== null && this.openClientStreams >= limit && this.limitReachedAt === null) this.limitReachedAt = time;
    return st;
  }

  /** Called right before a client stream opens (see the header comment for the inference). */
  private noteConcurrency(streamId: number, time: number): void {
    const limit = this.sides.server.values.maxConcurrentStreams;
    if (limit === null || this.limitReachedAt === null) return;
    if (this.openClientStreams < limit) {
      if (this.waited.length < MAX_WAITED_STREAMS) {
        this.waited.push({ streamId, limit, limitReachedTime: this.limitReachedAt, openedTime: time, maxWaitMs: time - this.limitReachedAt });
      } else this.drop('waitedStreams');
      this.limitReachedAt = null;
    }
  }

  private endDirection(st: Stream, side: Side, time: number, packet: number, delivered: number): void {
    const d = side === 'client' ? st.req : st.resp;
    noteDelivered(st, side === 'client' ? 'requestEndTime' : 'responseEndTime', time, delivered);
    this.foldConnStalls(d, side);
    d.ended = true;
    d.end = time;
    d.lastPacket = packet;
    // Ended without a WINDOW_UPDATE (e.g. an empty DATA with END_STREAM): not a data stall.
    this.clearStall(d, side);
    if (side === 'client') {
      st.state = st.state === 'half-closed-remote' ? 'closed' : 'half-closed-local';
    } else {
      st.state = st.state === 'half-closed-local' || st.pushed ? 'closed' : 'half-closed-remote';
    }
    this.syncUnended(st);
  }

  private finishStream(st: Stream): void {
    this.emit(st);
    this.clearStall(st.req, 'client');
    this.clearStall(st.resp, 'server');
    if (st.req.unendedCounted) this.unended.client--;
    if (st.resp.unendedCounted) this.unended.server--;
    st.req.unendedCounted = st.resp.unendedCounted = false;
    this.streams.delete(st.id);
    this.openStreams--;
    if (!st.pushed) this.openClientStreams--;
  }

  // ---------------------------------------------------------------- control frames

  private onRst(side: Side, f: FrameOf<'RST_STREAM'>): void {
    if (f.malformed) return;
    const st = this.streams.get(f.streamId);
    const code = errorCodeName(f.errorCode);
    if (!st) {
      if (!this.wasOpened(f.streamId) && this.prefaceSeen) this.unknownStream(side, f);
      return;
    }
    st.rst = { by: side, code, time: f.startTime, packet: f.firstPacket };
    st.anomalies.push({ code: HTTP2_ANOMALY.STREAM_RESET, packet: f.firstPacket, time: f.startTime, detail: `${side} reset stream ${f.streamId} (${code})` });
    if (st.pushed && side === 'client' && (f.errorCode === ErrorCode.CANCEL || f.errorCode === ErrorCode.REFUSED_STREAM)) {
      if (this.pushCancelled.size < MAX_PUSH_CANCELLED) {
        this.pushCancelled.set(st.id, { streamId: st.id, code, time: f.startTime, bytesBeforeReset: st.resp.body, bytesAfterReset: 0 });
      } else this.drop('pushCancelled');
    }
    for (const s of ['client', 'server'] as const) {
      const d = s === 'client' ? st.req : st.resp;
      if (d.stall) this.endStall(d.stall, f.startTime, f.firstPacket, false, st);
      this.clearStall(d, s);
    }
    st.state = 'closed';
    this.finishStream(st);
  }

  private onSettings(side: Side, f: FrameOf<'SETTINGS'>): void {
    if (f.malformed) return;
    const s = this.sides[side];
    if (f.ack) {
      // Acknowledges the oldest unacknowledged SETTINGS of the other side (§6.5.3).
      const peer = this.sides[other(side)];
      const u = peer.unacked.shift();
      if (!u) return;
      u.rec.ackTime = f.startTime;
      u.rec.ackPacket = f.firstPacket;
      this.applySettings(other(side), u.values, f.startTime, true);
      return;
    }
    const values = new Map<number, number>();
    for (const { id, value } of f.settings) values.set(id, value);
    const rec: SettingsRecord = { time: f.startTime, packet: f.firstPacket, settings: namedSettings(values), ackTime: null, ackPacket: null };
    if (s.settings.length < MAX_SETTINGS_RECORDS) s.settings.push(rec);
    else this.drop('settings');
    s.unacked.push({ rec, values });
    this.applySettings(side, values, f.startTime, false);
  }

  /**
   * Apply SETTINGS sent by `side`. Values that only relax limits (or that the peer applies on
   * receipt: INITIAL_WINDOW_SIZE, MAX_CONCURRENT_STREAMS) take effect when seen; values that tighten
   * the HPACK table or frame size take effect when acknowledged.
   */
  private applySettings(side: Side, values: Map<number, number>, time: number, acked: boolean): void {
    const s = this.sides[side];
    const peer = this.sides[other(side)];
    for (const [id, v] of values) {
      switch (id) {
        case Setting.HEADER_TABLE_SIZE:
          // Bounds the peer's encoder, i.e. the decoder of the blocks the peer sends.
          if (acked || v >= peer.decoder.maxTableSizeLimit) peer.decoder.setMaxTableSizeLimit(v);
          s.values.headerTableSize = v;
          break;
        case Setting.MAX_FRAME_SIZE:
          if (acked || v >= peer.parser.maxFrameSize) peer.parser.maxFrameSize = v;
          s.values.maxFrameSize = v;
          break;
        case Setting.ENABLE_PUSH:
          s.values.enablePush = v;
          break;
        case Setting.MAX_CONCURRENT_STREAMS:
          s.values.maxConcurrentStreams = v;
          break;
        case Setting.INITIAL_WINDOW_SIZE: {
          if (v > MAX_WINDOW_SIZE) {
            this.out.anomaly({ code: HTTP2_ANOMALY.FLOW_CONTROL_ERROR, time, detail: `${side} SETTINGS_INITIAL_WINDOW_SIZE ${v} > 2^31-1` });
            break;
          }
          if (s.values.initialWindowSize === v) break;
          // §6.9.2: the peer adjusts every stream window it sends on by the difference. Windows are
          // kept relative to this value (`windowRel`), so only the stalls it ends are visited.
          const raised = v > s.values.initialWindowSize;
          s.values.initialWindowSize = v;
          if (raised) this.endStallsReopenedBySettings(other(side), time);
          break;
        }
        default:
          break;
      }
    }
  }

  private onPing(side: Side, f: FrameOf<'PING'>): void {
    if (f.malformed) return;
    if (!f.ack) {
      const s = this.sides[side];
      if (s.pings.size < MAX_PING_SAMPLES) s.pings.set(f.opaque, { time: f.startTime, packet: f.firstPacket });
      return;
    }
    const initiator = other(side);
    const sent = this.sides[initiator].pings.get(f.opaque);
    if (!sent) return;
    this.sides[initiator].pings.delete(f.opaque);
    if (this.pingRtts.length < MAX_PING_SAMPLES) {
      this.pingRtts.push({ side: initiator, time: sent.time, rttMs: f.startTime - sent.time, packet: sent.packet });
    } else this.drop('pingSamples');
  }

  private onGoaway(side: Side, f: FrameOf<'GOAWAY'>): void {
    if (f.malformed) return;
    const s = this.sides[side];
    const code = errorCodeName(f.errorCode);
    s.goaway = { lastStreamId: f.lastStreamId, errorCode: code, debugData: f.debugData, time: f.startTime, packet: f.firstPacket };
    const detail = `${side} sent GOAWAY (${code}), last stream ${f.lastStreamId}${f.debugData ? `: ${f.debugData}` : ''}`;
    this.out.closeReason('goaway', detail);
    if (f.errorCode !== ErrorCode.NO_ERROR) {
      this.out.anomaly({ code: HTTP2_ANOMALY.GOAWAY_ERROR, packet: f.firstPacket, time: f.startTime, detail });
    }
    // §6.8: streams initiated by the receiver above lastStreamId were not (and will not be)
    // processed. Applied when each stream is reported (`emit`); a later GOAWAY may lower the id but
    // MUST NOT raise it, and a raised one cannot un-refuse streams: keep the lowest.
    s.goawayLastStreamId = s.goawayLastStreamId === null ? f.lastStreamId : Math.min(s.goawayLastStreamId, f.lastStreamId);
  }

  private onWindowUpdate(side: Side, f: FrameOf<'WINDOW_UPDATE'>): void {
    if (f.malformed) return;
    // A WINDOW_UPDATE from `side` lets the other side send more.
    const sender = other(side);
    if (f.streamId === 0) {
      const s = this.sides[sender];
      s.connWindow += f.increment;
      if (this.flowKnown) this.windowSample(f.startTime, sender, s.connWindow);
      if (this.flowKnown && s.connWindow > MAX_WINDOW_SIZE) {
        this.out.anomaly({ code: HTTP2_ANOMALY.FLOW_CONTROL_ERROR, packet: f.firstPacket, time: f.startTime, detail: `${sender} connection window above 2^31-1` });
      }
      if (s.connStall && s.connWindow > 0) {
        this.endStall(s.connStall, f.startTime, f.firstPacket, true);
        s.connStall = null;
      }
      return;
    }
    const st = this.streams.get(f.streamId);
    if (!st) return;
    const d = sender === 'client' ? st.req : st.resp;
    d.windowRel += f.increment;
    const window = this.window(d, sender);
    if (this.flowKnown && window > MAX_WINDOW_SIZE) {
      st.anomalies.push({ code: HTTP2_ANOMALY.FLOW_CONTROL_ERROR, packet: f.firstPacket, time: f.startTime, detail: `${sender} stream window above 2^31-1` });
    }
    if (d.stall && window > 0) {
      this.endStall(d.stall, f.startTime, f.firstPacket, true, st);
      this.clearStall(d, sender);
    } else if (d.stall) this.pushStall(this.sides[sender], d); // windowRel rose: its heap key must too
  }

  /**
   * SETTINGS_INITIAL_WINDOW_SIZE rose for the streams `sender` sends on: end the stalls whose window
   * is now positive, in stream order (as a pass over the streams would). The heap's top holds the
   * largest `windowRel`; a key above the current value (DATA lowered it since) is re-filed.
   */
  private endStallsReopenedBySettings(sender: Side, time: number): void {
    const s = this.sides[sender];
    const init = this.sides[other(sender)].values.initialWindowSize;
    const ended: Direction[] = [];
    for (let e = s.stallHeap.peek(); e; e = s.stallHeap.peek()) {
      const d = e.d;
      if (e.token !== d.stallToken || !d.stall) s.stallHeap.pop();
      else if (d.windowRel + init > 0) {
        s.stallHeap.pop();
        d.stallToken++;
        ended.push(d);
      } else if (e.key > d.windowRel) {
        s.stallHeap.pop();
        s.stallHeap.push({ key: d.windowRel, d, token: d.stallToken });
      } else break;
    }
    const streams = ended.map((d) => s.openStalls.get(d) as Stream).sort((a, b) => a.index - b.index);
    for (const st of streams) {
      const d = sender === 'client' ? st.req : st.resp;
      this.endStall(d.stall as OpenStall, time, null, true, st);
      this.clearStall(d, sender);
    }
  }

  private endStall(open: OpenStall, time: number, packet: number | null, resolved: boolean, st?: Stream): void {
    const rec: FlowControlStall = {
      side: open.side,
      streamId: open.streamId,
      startTime: open.startTime,
      endTime: time,
      durationMs: Math.max(0, time - open.startTime),
      startPacket: open.startPacket,
      endPacket: packet,
      resolved,
      dataFollowed: false,
    };
    if (this.stalls.length < MAX_STALLS) {
      this.stalls.push(rec);
      if (resolved) {
        const waiting = this.stallFollow[open.side];
        const list = waiting.get(open.streamId);
        if (list) list.push(rec);
        else waiting.set(open.streamId, [rec]);
      }
    } else this.drop('stalls');
    // Per-stream stall time: the stream's own stalls, plus connection stalls while it had not ended.
    if (st) {
      const d = open.side === 'client' ? st.req : st.resp;
      d.stalledMs += rec.durationMs;
      d.stalls++;
    } else if (open.streamId === 0) {
      // Added to each stream's direction by `foldConnStalls` (no pass over the open streams).
      const s = this.sides[open.side];
      s.connStalledMs += rec.durationMs;
      s.connStalls++;
    }
  }

  /**
   * Add to `d` the connection stalls of `side` that ended since the stream opened, once: when the
   * direction ends (later connection stalls do not count for it) or the stream is reported.
   */
  private foldConnStalls(d: Direction, side: Side): void {
    if (d.connFolded) return;
    d.connFolded = true;
    const s = this.sides[side];
    if (s.connStalls === d.connStalls0) return;
    d.stalledMs += s.connStalledMs - d.connStallMs0;
    d.stalls += s.connStalls - d.connStalls0;
  }

  private dataFollowed(side: Side, streamId: number): void {
    const waiting = this.stallFollow[side];
    if (waiting.size === 0) return;
    // The side's connection-window stalls (key 0) and this stream's own.
    for (const id of [0, streamId]) {
      const list = waiting.get(id);
      if (!list) continue;
      for (const rec of list) rec.dataFollowed = true;
      waiting.delete(id);
    }
  }

  // ---------------------------------------------------------------- output

  private emit(st: Stream): void {
    const req = st.req;
    const resp = st.resp;
    this.foldConnStalls(req, 'client');
    this.foldConnStalls(resp, 'server');
    // §6.8: a GOAWAY from the peer of the stream's initiator, with a last-stream-id below its id.
    const goawayLast = this.sides[st.id % 2 === 1 ? 'server' : 'client'].goawayLastStreamId;
    if (goawayLast !== null && st.id > goawayLast) st.refused = true;
    const reqHeaders = req.headers ?? [];
    const pseudo = (name: string): string | undefined => reqHeaders.find((h) => h.name === name)?.value;
    let method = pseudo(':method') ?? '';
    let target = pseudo(':path') ?? '';
    let url: string;
    const up = st.upgradeRequest;
    if (up) {
      method = up.method;
      target = up.target;
      url = up.url;
    } else {
      const scheme = pseudo(':scheme') ?? this.info.scheme;
      const authority = pseudo(':authority') ?? reqHeaders.find((h) => h.name === 'host')?.value ?? this.serverAuthority();
      if (method === 'CONNECT' && !target) {
        target = authority;
        url = authority;
      } else url = `${scheme}://${authority}${target}`;
    }
    let state: ExchangeState;
    if (st.rst) state = 'reset';
    else if (resp.ended) state = 'complete';
    else if (resp.headers) state = 'incomplete-response';
    else if (st.refused) state = 'aborted';
    else state = 'no-response';
    if (st.refused && !st.rst) {
      st.anomalies.push({ code: 'H2_REFUSED_BY_GOAWAY', detail: `stream ${st.id} above the peer's GOAWAY last-stream-id: not processed` });
    }
    const reqFirst = req.firstPacket ?? 0;
    const draft: RequestDraft = {
      index: st.index,
      streamId: st.id,
      method,
      url,
      target,
      httpVersion: 'h2',
      status: st.status,
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
      connectionReused: st.index > 1,
      state,
      packets: {
        request: [reqFirst, req.lastPacket ?? reqFirst],
        response: resp.firstPacket === null ? null : [resp.firstPacket, resp.lastPacket ?? resp.firstPacket],
      },
      lostBytes: st.lostBytes,
      anomalies: st.anomalies,
    };
    if (st.pushed) draft.pushed = true;
    if (st.informational.length) draft.informational = st.informational;
    if (resp.trailers) draft.trailers = resp.trailers;
    if (st.upgrade) draft.upgrade = st.upgrade;
    const h2: H2RequestFacts = {
      hpack: {
        request: annotate(req.fields),
        response: annotate(resp.fields),
        stats: { request: req.stats, response: resp.stats },
      },
      flowControl: {
        request: { stalledMs: req.stalledMs, stalls: req.stalls },
        response: { stalledMs: resp.stalledMs, stalls: resp.stalls },
      },
    };
    if (Object.keys(st.delivered).length) h2.deliveredTimes = { ...st.delivered };
    const holReq = this.hol.client.take(st.id);
    const holResp = this.hol.server.take(st.id);
    if (holReq || holResp) h2.tcpHol = { ...(holReq ? { request: holReq } : {}), ...(holResp ? { response: holResp } : {}) };
    if (st.rst) h2.rst = st.rst;
    if (st.priority) h2.priority = st.priority;
    if (st.promisedBy !== undefined) h2.promisedBy = st.promisedBy;
    if (req.trailers) h2.requestTrailers = req.trailers;
    draft.h2 = h2;
    this.out.request(draft);
  }

  private serverAuthority(): string {
    return serverAuthority(this.info);
  }

  /** Facts for `connection.h2` (see the header comment for definitions). */
  private connectionFacts(): H2ConnectionFacts {
    const side = (x: Side): H2SideFacts => {
      const s = this.sides[x];
      const t = s.decoder.tableSnapshot();
      return {
        settings: s.settings,
        frames: frameStats(s.parser.stats),
        headerBlocks: s.headerBlocks,
        compression: s.compression,
        hpackTable: s.tableSnapshots,
        finalHpackTable: t,
        connectionWindow: s.connWindow,
        lostBytes: s.lostBytes,
        ...(s.goaway ? { goaway: s.goaway } : {}),
      };
    };
    const pushed = [...this.pushCancelled.values()];
    return {
      prefaceSeen: this.prefaceSeen,
      client: side('client'),
      server: side('server'),
      maxConcurrentStreams: this.maxOpenClientStreams,
      maxOpenStreams: this.maxOpenStreams,
      streamsWaitedForConcurrencyLimit: this.waited,
      pingRtts: this.pingRtts,
      flowControlTracked: this.flowKnown,
      windows: this.windows,
      flowControlStalls: this.stalls,
      pushCancelled: pushed,
      pushedBytesUnused: pushed.reduce((n, p) => n + p.bytesBeforeReset + p.bytesAfterReset, 0),
      compression: addStats(this.sides.client.compression, this.sides.server.compression),
      priorityFrames: this.priorityFrames,
      streamsWithoutHeaders: this.streamsWithoutHeaders,
      tcpHol: { client: this.hol.client.facts(), server: this.hol.server.facts() },
      ...(Object.keys(this.dropped).length ? { dropped: this.dropped } : {}),
    };
  }
}

function frameStats(s: FrameParserStats): H2FrameStats {
  return { ...s, byType: { ...s.byType } };
}

function annotate(fields: DecodedField[] | null): HpackFieldNote[] {
  if (!fields) return [];
  return fields.map((f) => {
    const a: HpackFieldNote = { name: f.name, rep: f.rep, wireBytes: f.wireBytes };
    if (f.index !== undefined) a.index = f.index;
    if (f.nameIndex !== undefined) a.nameIndex = f.nameIndex;
    if (f.table !== undefined) a.table = f.table;
    if (f.nameHuffman !== undefined) a.nameHuffman = f.nameHuffman;
    if (f.valueHuffman !== undefined) a.valueHuffman = f.valueHuffman;
    if (f.unknown) a.unknown = true;
    return a;
  });
}

/** Same convention as the HTTP/1 session: `deliveredTimes[field]` only when it differs. */
function noteDelivered(st: Stream, field: string, time: number, delivered: number): void {
  if (delivered !== time) st.delivered[field] = delivered;
  else delete st.delivered[field];
}

function statusOf(headers: Header[] | null): number | null {
  const v = headers?.find((h) => h.name === ':status')?.value;
  if (v === undefined || !/^\d{3}$/.test(v)) return null;
  return Number(v);
}

function namedSettings(values: Map<number, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [id, v] of values) out[settingName(id)] = v;
  return out;
}

function startsWithPreface(d: Uint8Array): boolean {
  if (d.length < CLIENT_PREFACE_BYTES.length) return false;
  for (let i = 0; i < CLIENT_PREFACE_BYTES.length; i++) if (d[i] !== CLIENT_PREFACE_BYTES[i]) return false;
  return true;
}

function concatBytes(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
