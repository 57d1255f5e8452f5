/**
 * Incremental HTTP/1.x parsing (RFC 9112) of one TCP connection, as a StreamSink.
 *
 * Push in, callbacks out: the assembler pushes chunks in capture order (tcp/stream.ts); each
 * direction is a small state machine that never re-scans bytes. Only lines are buffered (start line,
 * header fields, chunk-size lines, trailers; at most MAX_HEADER_BYTES per header block); bodies are
 * skipped by length arithmetic and counted, and fed to a streaming decoder when Content-Encoding asks.
 *
 *   client: START → HEADERS → (BODY_LENGTH | CHUNK_SIZE ⇄ CHUNK_DATA → CHUNK_DATA_END … TRAILERS) → START
 *           after an Upgrade or CONNECT request: PAUSED (bytes held until the response decides)
 *   server: START → HEADERS → (none | BODY_LENGTH | chunked | BODY_CLOSE until FIN) → START
 *           1xx: back to START for the same exchange; 101 / CONNECT 2xx: hand off both directions
 *
 * Exchanges are matched to responses in order (pipelining allowed). An exchange is emitted
 * (`out.request`) once its response and its request are complete, in request order; the rest are
 * emitted at close with their state. At most MAX_OUTSTANDING_REQUESTS exchanges wait for their
 * responses; requests sent beyond that are parsed (for framing) and numbered but not recorded, and
 * their responses, in turn, are parsed and not recorded (see `unrecorded`).
 * Gaps: inside a body of known length they are counted (`lostBytes`); elsewhere the direction
 * resynchronises at the next plausible start line.
 *
 * Tolerance (what a lenient client does, each flagged with an anomaly code from HTTP1_ANOMALY):
 * bare LF line ends, obs-fold (joined with SP), whitespace before the colon, invalid header names
 * (kept), Transfer-Encoding with Content-Length (chunked wins, RFC 9112 §6.3 ¶3), duplicate equal
 * Content-Length values (used), differing ones (the first is used), leading empty lines (ignored).
 */
import { Buffer } from 'node:buffer';
import { serverAuthority, type EndHow, type StreamChunk, type StreamInfo, type StreamSink } from '../tcp/stream.js';
import type { ExchangeSink, RequestDraft } from '../model/exchange.js';
import type { Anomaly, AppProtocol, DeliveredTimes, ExchangeState, Header, Http1RequestFacts, KeepAliveContract, PersistBasis, Side } from '../model/types.js';
import { BodyDecoder, MAX_BODY_KEEP, contentCoding } from './decode.js';
import {
  atLeast11,
  connectionTokens,
  framingByHeaders,
  framingByStatus,
  parseKeepAlive,
  persistBasis,
  reusableAfter,
  transferCodingsChunked,
  type BodyFraming,
  type HttpCloseFacts,
} from './keepalive.js';
import { TCHAR, looksLikeHttp1Request, looksLikeHttp1Response } from './sniff.js';
import { PersistLog, contractWith } from '../model/persist-log.js';

/** Most bytes of one header block (start line + fields + CRLFs), and of one trailer block. */
export const MAX_HEADER_BYTES = 64 * 1024;
/** Longest line examined while looking for a start line (longer ones are skipped as junk). */
export const MAX_START_LINE_BYTES = 16 * 1024;
/** Longest chunk-size line (size + extensions). */
export const MAX_CHUNK_LINE_BYTES = 4 * 1024;
/** Most client bytes held back after an Upgrade/CONNECT request while its response is awaited. */
export const MAX_PAUSED_BYTES = 256 * 1024;
/**
 * Most anomalies kept on one exchange. Hostile framing can raise one every few bytes (e.g. a
 * chunk-missing-crlf per `1\r\nx`); beyond this they are counted in one final ANOMALIES_DROPPED entry.
 */
export const MAX_ANOMALIES_PER_EXCHANGE = 100;
/**
 * Exchanges recorded while waiting for their responses, per connection. Each costs ~0.75 KiB here
 * and a request record once settled: 260,000 pipelined requests that were never answered (4.7 MB of
 * capture) held 780 MB. A request sent while this many wait (or while earlier ones past the limit
 * still wait) is parsed and numbered (`index`) but not recorded, and its response is parsed (to
 * keep the framing) and dropped: counted in `capture.counters.http1RequestsNotRecorded`, in
 * `connection.extra.requestsNotRecorded` and by one REQUESTS_NOT_RECORDED anomaly on the connection.
 * Far above real pipelining depths (curl's default was 5; benchmark tools pipeline 16–256 deep).
 */
export const MAX_OUTSTANDING_REQUESTS = 10_000;

/** Stable anomaly codes (request-level on the draft unless marked "connection"). */
export const HTTP1_ANOMALY = {
  BARE_LF: 'bare-lf',
  OBS_FOLD: 'obs-fold',
  INVALID_HEADER_NAME: 'invalid-header-name',
  SPACE_BEFORE_COLON: 'space-before-colon',
  HEADER_WITHOUT_COLON: 'header-without-colon',
  HEADERS_TOO_LARGE: 'headers-too-large',
  BAD_START_LINE: 'bad-start-line',
  TE_WITH_CL: 'transfer-encoding-with-content-length',
  TE_NOT_CHUNKED: 'transfer-encoding-not-chunked',
  CL_DUPLICATE: 'duplicate-content-length',
  CL_CONFLICT: 'conflicting-content-length',
  CL_INVALID: 'invalid-content-length',
  CHUNK_SIZE_INVALID: 'invalid-chunk-size',
  CHUNK_MISSING_CRLF: 'chunk-missing-crlf',
  GAP_IN_BODY: 'gap-in-body',
  GAP_DESYNC: 'gap-lost-framing',
  GAP_BEFORE_MESSAGE: 'gap-before-message',
  EXPECT_BODY_SKIPPED: 'expect-continue-body-not-sent',
  REQUEST_INCOMPLETE: 'request-incomplete',
  DECODE_FAILED: 'content-decoding-failed',
  /** connection */ SKIPPED_BYTES: 'skipped-non-http-bytes',
  /** connection */ MID_STREAM_START: 'mid-stream-start',
  /** connection */ RESPONSE_WITHOUT_REQUEST: 'response-without-request',
  /** connection */ PAUSED_LIMIT: 'upgrade-buffer-limit',
  /** connection */ HTTP09: 'http09',
  /** connection: requests past MAX_OUTSTANDING_REQUESTS, parsed but not recorded (one entry, count in `detail`) */
  REQUESTS_NOT_RECORDED: 'requests-not-recorded',
  /** Last entry of an exchange that hit MAX_ANOMALIES_PER_EXCHANGE; `detail` says how many were dropped. */
  ANOMALIES_DROPPED: 'anomalies-dropped',
} as const;

export interface UpgradeHandoff {
  /** The exchange that switched (already emitted): h2c's request becomes HTTP/2 stream 1 (RFC 7540 §3.2). */
  request: RequestDraft | null;
  /** Client bytes received after the upgrading request (copies), in order. */
  clientRest: StreamChunk[];
  /** Server bytes received after the 101 / 2xx header block (copies), in order. */
  serverRest: StreamChunk[];
}

export interface Http1SessionOptions {
  /**
   * Called once after `101 Switching Protocols` (kind = 'h2c', 'websocket' or the Upgrade token)
   * or a 2xx answer to CONNECT (kind = 'tunnel'). If it returns a sink, the session feeds it
   * `clientRest` then `serverRest` (capture order) right away, then forwards every later
   * onData/onEnd/onClose. If it returns null (or there is no hook) the bytes are only counted.
   */
  onUpgrade?: (kind: string, handoff: UpgradeHandoff) => StreamSink | null;
  /** Decode gzip/deflate/br bodies to count decoded bytes (default true). */
  decodeBodies?: boolean;
  /** Keep up to this many decoded body bytes per response in `request.http1.body` (base64), ≤ MAX_BODY_KEEP. */
  keepBodyBytes?: number;
  /** The capture's counters (`capture.counters`): limits hit are counted there too. */
  count?: (name: string, n?: number) => void;
  /** Exchanges recorded while waiting for responses (default MAX_OUTSTANDING_REQUESTS; other values for tests). */
  maxOutstandingRequests?: number;
}

// Direction states.
const START = 0;
const HEADERS = 1;
const BODY_LENGTH = 2;
const CHUNK_SIZE = 3;
const CHUNK_DATA = 4;
const CHUNK_DATA_END = 5;
const TRAILERS = 6;
const BODY_CLOSE = 7;
const PAUSED = 8;
const DONE = 9; // nothing more to parse (handed off, or a request body of unknown length)

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HTAB = 0x09;

/** What one message's header block said, gathered while the fields are parsed. */
interface Facts {
  headers: Header[];
  contentLength: string[];
  transferEncoding: string | null;
  connection: string[];
  keepAlive: string | null;
  proxyConnection: string | null;
  upgrade: string | null;
  contentEncoding: string | null;
  host: string | null;
  expect: string | null;
  bareLf: boolean;
  obsFold: boolean;
}

function newFacts(): Facts {
  return {
    headers: [],
    contentLength: [],
    transferEncoding: null,
    connection: [],
    keepAlive: null,
    proxyConnection: null,
    upgrade: null,
    contentEncoding: null,
    host: null,
    expect: null,
    bareLf: false,
    obsFold: false,
  };
}

interface Exchange {
  index: number;
  orphan: boolean;
  method: string;
  target: string;
  version: string;
  req: Facts;
  reqHeaderBytes: number;
  reqBody: number;
  reqStart: number;
  reqEnd: number;
  reqFirstPacket: number;
  reqLastPacket: number;
  reqDone: boolean;
  resp: Facts | null;
  respVersion: string | null;
  status: number | null;
  statusText: string;
  respHeaderBytes: number;
  respBody: number;
  respWire: number;
  respStart: number | null;
  respEnd: number | null;
  respFirstPacket: number | null;
  respLastPacket: number | null;
  respStarted: boolean;
  respDone: boolean;
  /** The final response's framing (RFC 9112 §6.3, keepalive.ts); null until decided. */
  framing: BodyFraming | null;
  /** framing === 'close': the response body ends with the connection. */
  closeDelimited: boolean;
  informational: { status: number; time: number }[];
  trailers: Header[] | null;
  pipelined: boolean;
  lostBytes: number;
  /** At most MAX_ANOMALIES_PER_EXCHANGE, then the ANOMALIES_DROPPED summary (see anomaly()). */
  anomalies: Anomaly[];
  /** Anomalies not kept because of MAX_ANOMALIES_PER_EXCHANGE, and the entry that says so. */
  anomaliesDropped: number;
  droppedSummary: Anomaly | null;
  /** Already reported once for this exchange (checked per gap / per message, so kept as flags). */
  gapInBodyReported: boolean;
  bareLfReported: boolean;
  upgrade: string | undefined;
  /** TCP delivery times where they differ from capture times (head-of-line blocking). */
  dReqStart: number | null;
  dReqEnd: number | null;
  dRespStart: number | null;
  dRespEnd: number | null;
  decoder: BodyDecoder | null;
  kept: Buffer[] | null;
  keptLen: number;
  emitted: RequestDraft | null;
  state: ExchangeState | null;
  /** Set when the decoder settles (possibly before the exchange is emitted). */
  decoded?: number;
  keptResult?: { body: string; truncated: boolean };
}

class Dir {
  st = START;
  partial: Buffer = Buffer.allocUnsafe(512);
  partialLen = 0;
  partialOverflow = false;
  /** Header (or trailer) bytes of the current message so far. */
  headerBytes = 0;
  /** Capture time of the current message's start line. */
  msgStart = 0;
  remaining = 0;
  ex: Exchange | null = null;
  facts: Facts = newFacts();
  /** Looking for a plausible start line after a gap / mid-stream start / junk. */
  resyncing = false;
  junk: { bytes: number; packet: number; time: number } | null = null;
  /** Bytes lost between messages, charged to the next message. */
  pendingLost = 0;
  paused: StreamChunk[] = [];
  pausedBytes = 0;
  end: { how: EndHow; time: number; packet: number } | null = null;
  /** Current chunk while it is being parsed (for hand-off of its rest). */
  buf: Buffer | null = null;
  pos = 0;
  chunk: StreamChunk | null = null;
  constructor(readonly side: Side) {}
}

const KNOWN_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE', 'PROPFIND'];

/** Index of `HTTP/1.x NNN` inside [s, e) forming a plausible status line, or -1. */
function innerResponseStart(b: Buffer, s: number, e: number): number {
  const line = b.subarray(s, e); // search this line only, never the rest of the chunk
  let i = line.indexOf('HTTP/1.', 0, 'latin1');
  while (i >= 0) {
    if (looksLikeHttp1Response(b, s + i, e)) return s + i;
    i = line.indexOf('HTTP/1.', i + 1, 'latin1');
  }
  return -1;
}

/** Start of `METHOD SP target SP HTTP/1.x` ending the line [s, e), glued to earlier bytes; or -1. */
function innerRequestStart(b: Buffer, s: number, e: number): number {
  if (e - s < 14 || b[e - 9] !== SP) return -1;
  const v = e - 8; // "HTTP/1.x" closes a request line
  if (latin1(b, v, v + 7) !== 'HTTP/1.') return -1;
  const sp2 = v - 1;
  const sp1 = b.lastIndexOf(SP, sp2 - 1);
  if (sp1 <= s) return -1;
  // The method is the run of upper-case letters before sp1; prefer the longest known method suffix.
  let m = sp1;
  while (m > s && b[m - 1] >= 0x41 && b[m - 1] <= 0x5a) m--;
  if (m === sp1) return -1;
  const run = latin1(b, m, sp1);
  let best = -1;
  for (const k of KNOWN_METHODS) if (run.endsWith(k) && k.length > best) best = k.length;
  const at = best > 0 ? sp1 - best : m;
  return looksLikeHttp1Request(b, at, e) ? at : -1;
}

/** Node's Buffer#latin1Slice, without toString()'s encoding lookup (hot: every header line). */
type Latin1 = Buffer & { latin1Slice(start: number, end: number): string };
function latin1(b: Buffer, s: number, e: number): string {
  return (b as Latin1).latin1Slice(s, e);
}

/**
 * Header names and short values by their position in a header block and the sender's side: a
 * keep-alive client (and its server) repeats the same fields in the same order, so a field whose
 * octets equal the remembered string's is that string — no new string per field and request
 * (`latin1Slice` for every name and value was a visible share of the per-request cost). Shared by
 * every session: a string equal in content is the same answer whichever connection asks, and
 * memory is bounded by the slots.
 */
const INTERN_POSITIONS = 32;
const INTERN_MAX_VALUE = 64;
const internedNames: (string | undefined)[] = new Array(2 * INTERN_POSITIONS);
const internedValues: (string | undefined)[] = new Array(2 * INTERN_POSITIONS);

function interned(table: (string | undefined)[], slot: number, b: Buffer, s: number, e: number): string {
  const n = e - s;
  const c = table[slot];
  if (c !== undefined && c.length === n) {
    let k = 0;
    while (k < n && c.charCodeAt(k) === b[s + k]) k++;
    if (k === n) return c;
  }
  const v = latin1(b, s, e);
  table[slot] = v;
  return v;
}

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

function copyChunk(c: StreamChunk, from = 0): StreamChunk {
  return {
    data: Uint8Array.prototype.slice.call(c.data, from),
    offset: c.offset + from,
    skipped: from === 0 ? c.skipped : 0,
    time: c.time,
    deliveredTime: c.deliveredTime,
    packet: c.packet,
  };
}

/**
 * FIFO with O(1) push, peek and shift: a head index into an array instead of Array#shift/splice
 * (linear each, so quadratic over a deep pipeline). The dead prefix is dropped once it exceeds
 * 1024 slots and half the array, so memory stays proportional to the live items.
 */
class Queue<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  peek(): T | undefined {
    return this.items[this.head];
  }
  push(x: T): void {
    this.items.push(x);
  }
  unshift(x: T): void {
    if (this.head > 0) this.items[--this.head] = x;
    else this.items.unshift(x);
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const x = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }
  /** Removes `x` (O(1) when it is the oldest, as it is for in-order responses). */
  remove(x: T): void {
    if (this.head < this.items.length && this.items[this.head] === x) {
      this.shift();
      return;
    }
    const i = this.items.indexOf(x, this.head);
    if (i >= 0) this.items.splice(i, 1);
  }
  some(f: (x: T) => boolean): boolean {
    for (let i = this.head; i < this.items.length; i++) if (f(this.items[i] as T)) return true;
    return false;
  }
  toArray(): T[] {
    return this.items.slice(this.head) as T[];
  }
}

/** Counts bytes of a connection after an upgrade nobody took over. */
class CountingSink implements StreamSink {
  bytes = { client: 0, server: 0 };
  onData(side: Side, chunk: StreamChunk): void {
    this.bytes[side] += chunk.data.length;
  }
}

export class Http1Session implements StreamSink {
  private readonly c = new Dir('client');
  private readonly s = new Dir('server');
  /** Exchanges whose final response is not complete yet, oldest first. */
  private readonly awaiting = new Queue<Exchange>();
  /** Exchanges not yet emitted, in request order. */
  private readonly unemitted = new Queue<Exchange>();
  private requestCount = 0;
  private protocolSent: AppProtocol | null = null;
  private handoff: StreamSink | null = null;
  private counting: CountingSink | null = null;
  private lastDataTime: number | null = null;
  private lastComplete: Exchange | null = null;
  private closed = false;
  /** Body decoders not finished yet, and who waits for them (see settled()). */
  private decoding = 0;
  private waiters: (() => void)[] = [];
  /**
   * The contract's other facts, with the per-exchange lists as placeholders in their places (the
   * JSON's key order): the lists are in `persist`, one byte an exchange (model/persist-log.ts).
   */
  private readonly ka: KeepAliveContract = {
    defaultPersistent: true,
    reusableAfter: [],
    clientPersistence: [],
    serverPersistence: [],
  };
  private readonly persist = new PersistLog();
  /** The contract as of now, made when the engine asks (once, for the connection's record). */
  private readonly contract = (): KeepAliveContract => contractWith(this.ka, this.persist);
  private firstMax: number | undefined;
  private prevMax: number | undefined;
  private lastMax: number | undefined;
  private readonly decode: boolean;
  private readonly keep: number;
  /**
   * Requests past MAX_OUTSTANDING_REQUESTS (see there) still waiting for a response. They always
   * follow every recorded exchange still waiting (once one is unrecorded, later ones are too until
   * all are answered), so a response finds the oldest unrecorded one when `awaiting` is empty.
   * Their indexes run from `unrecordedIndex`; a HEAD or CONNECT among them (whose responses frame
   * differently) is remembered by sequence number in `unrecordedMethods` (at most
   * MAX_OUTSTANDING_REQUESTS; beyond that they are framed as answers to GET).
   */
  private unrecorded = 0;
  private unrecordedIndex = 0;
  private unrecordedSeq = 0;
  private unrecordedAnsweredSeq = 0;
  private readonly unrecordedMethods = new Queue<{ seq: number; method: string }>();
  private unrecordedTotal = 0;
  private unrecordedAnswered = 0;
  private unrecordedAnomaly: Anomaly | null = null;
  private readonly count: (name: string, n?: number) => void;
  private readonly maxOutstanding: number;

  constructor(
    private readonly info: StreamInfo,
    private readonly out: ExchangeSink,
    private readonly opts: Http1SessionOptions = {},
  ) {
    this.decode = opts.decodeBodies ?? true;
    this.keep = Math.max(0, Math.min(MAX_BODY_KEEP, opts.keepBodyBytes ?? 0));
    this.count = opts.count ?? (() => {});
    this.maxOutstanding = opts.maxOutstandingRequests ?? MAX_OUTSTANDING_REQUESTS;
  }

  /** Resolves when every body decoder has finished and the emitted drafts' decoded sizes are final. */
  settled(): Promise<void> {
    if (this.decoding === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** A body decoder has not finished. */
  busy(): boolean {
    return this.decoding > 0;
  }

  // ---------------------------------------------------------------- StreamSink

  onData(side: Side, chunk: StreamChunk): void {
    if (this.handoff) return this.handoff.onData(side, chunk);
    if (chunk.data.length === 0 && chunk.skipped === 0) return;
    const d = side === 'client' ? this.c : this.s;
    this.lastDataTime = chunk.time;
    if (d.st === PAUSED) return this.hold(d, chunk, 0);
    if (chunk.skipped !== 0) this.gap(d, chunk);
    // Most segments of a large response lie wholly inside its Content-Length body, and with nothing
    // to decode or keep only their length matters: count them without the byte loop (what `run`
    // would do for them, minus a Buffer view per segment).
    const ex = d.ex;
    if (d.st === BODY_LENGTH && d.side === 'server' && ex !== null && ex.decoder === null && ex.kept === null && chunk.data.length > 0 && d.remaining > chunk.data.length) {
      const n = chunk.data.length;
      ex.respBody += n;
      ex.respWire += n;
      d.remaining -= n;
      this.touch(d, chunk);
      return;
    }
    this.run(d, asBuffer(chunk.data), 0, chunk);
  }

  onEnd(side: Side, how: EndHow, time: number, packet: number): void {
    if (this.handoff) return this.handoff.onEnd?.(side, how, time, packet);
    const d = side === 'client' ? this.c : this.s;
    d.end ??= { how, time, packet };
    // RFC 9112 §6.3 ¶8: a response without a length ends when the server closes (FIN; an RST may
    // have cut it short, so it is settled at close as 'reset').
    if (side === 'server' && how === 'fin' && d.st === BODY_CLOSE && d.ex) this.responseDone(d.ex);
  }

  onClose(time: number): void {
    if (this.closed) return;
    this.closed = true;
    if (this.handoff) {
      this.handoff.onClose?.(time);
      if (this.counting) this.out.extra({ upgradedBytes: { ...this.counting.bytes } });
    }
    this.endJunk(this.c);
    this.endJunk(this.s);
    const left = this.unemitted.toArray();
    const outstanding = left.filter((e) => !e.respDone).length + this.unrecorded;
    for (const ex of left) this.settleAtClose(ex);
    this.flush(true);
    if (this.unrecordedTotal > 0) this.settleUnrecorded();
    if (outstanding > 0) this.out.keepAlive(this.contract);
    const l = this.lastComplete;
    // Who closed is TCP's record: the engine decides the reason from these facts and it. Each
    // side's persistence is what updateKeepAlive recorded for the last complete exchange.
    const client = l ? (this.persist.client(l.index - 1) ?? null) : null;
    const server = l ? (this.persist.server(l.index - 1) ?? null) : null;
    const facts: HttpCloseFacts = {
      outstanding,
      requestCount: this.requestCount,
      last: l
        ? {
            index: l.index,
            closeDelimited: l.closeDelimited,
            clientSentClose: client === 'close',
            serverSentClose: server === 'close',
            http10NoKeepAlive: client === 'http/1.0' || server === 'http/1.0',
            max: this.lastMax,
          }
        : null,
      firstMax: this.firstMax,
      previousMax: this.prevMax,
      timeoutS: this.ka.timeoutS,
      lastDataTime: this.lastDataTime,
    };
    if (this.requestCount > 0 || this.handoff) this.out.closeFacts?.(facts);
  }

  // ---------------------------------------------------------------- the byte loop

  private run(d: Dir, b: Buffer, pos: number, chunk: StreamChunk): void {
    const end = b.length;
    d.buf = b;
    d.chunk = chunk;
    while (pos < end) {
      switch (d.st) {
        case START:
        case HEADERS:
        case CHUNK_SIZE:
        case CHUNK_DATA_END:
        case TRAILERS: {
          if (d.st === START && d.side === 'server' && d.partialLen === 0 && this.awaiting.peek()?.version === 'HTTP/0.9' &&
            !looksLikeHttp1Response(b, pos, Math.min(end, pos + 16))) {
            // RFC 1945 §4.1: the answer to a simple request is the raw entity, ended by the close.
            this.startRawResponse(d, this.awaiting.peek()!, chunk);
            break;
          }
          const lf = b.indexOf(LF, pos);
          if (lf < 0) {
            this.appendPartial(d, b, pos, end, chunk);
            pos = end;
            break;
          }
          let lb: Buffer = b;
          let ls = pos;
          let le = lf;
          let wire = lf + 1 - pos;
          const overflow = d.partialOverflow;
          if (d.partialLen > 0 || overflow) {
            wire += d.partialLen;
            this.appendPartial(d, b, pos, lf, chunk);
            lb = d.partial;
            ls = 0;
            le = d.partialLen;
            // A too-long line in START kept only its newest bytes (the rest was counted as junk).
            if (d.st === START && !overflow) wire = d.partialLen + 1;
          }
          d.partialLen = 0;
          d.partialOverflow = false;
          pos = lf + 1;
          d.pos = pos;
          if (d.st === HEADERS && d.headerBytes + wire > MAX_HEADER_BYTES) {
            this.headersTooLarge(d, chunk);
            break;
          }
          this.line(d, lb, ls, le, wire, overflow || d.partialOverflow, chunk);
          if (this.handoff) {
            // Switched protocols inside this chunk: its rest already went to the new sink.
            d.buf = null;
            d.chunk = null;
            return;
          }
          break;
        }
        case BODY_LENGTH:
        case CHUNK_DATA: {
          const ex = d.ex!;
          if (d.side === 'client' && ex.req.expect && ex.reqBody === 0 && ex.respDone &&
            looksLikeHttp1Request(b, pos, end)) {
            // RFC 9110 §10.1.1: after a final response to `Expect: 100-continue`, the client may
            // skip the body; the next request follows instead.
            this.anomaly(ex, HTTP1_ANOMALY.EXPECT_BODY_SKIPPED, chunk, 'the announced request body was never sent');
            this.messageDone(d, chunk);
            break;
          }
          const n = Math.min(d.remaining, end - pos);
          this.body(d, b, pos, pos + n, chunk);
          pos += n;
          d.remaining -= n;
          if (d.remaining === 0) {
            if (d.st === BODY_LENGTH) this.messageDone(d, chunk);
            else d.st = CHUNK_DATA_END;
          }
          break;
        }
        case BODY_CLOSE:
          this.body(d, b, pos, end, chunk);
          pos = end;
          break;
        case PAUSED:
          this.hold(d, chunk, pos);
          pos = end;
          break;
        default: // DONE
          pos = end;
      }
    }
    d.buf = null;
    d.chunk = null;
  }

  /** Buffer part of a line that continues in a later chunk (bounded per state). */
  private appendPartial(d: Dir, b: Buffer, s: number, e: number, chunk: StreamChunk): void {
    const n = e - s;
    if (d.partialOverflow || n === 0) {
      if (d.partialOverflow && d.st === START) this.junkBytes(d, n, chunk);
      return;
    }
    const limit =
      d.st === START ? MAX_START_LINE_BYTES : d.st === CHUNK_SIZE || d.st === CHUNK_DATA_END ? MAX_CHUNK_LINE_BYTES
        : MAX_HEADER_BYTES - d.headerBytes;
    if (d.partialLen + n > limit) {
      if (d.st === HEADERS || d.st === TRAILERS) return this.headersTooLarge(d, chunk);
      if (d.st === START) {
        // Too long for a start line: drop what is held and keep only the newest bytes, where a
        // start line glued to the end of lost body bytes may begin.
        const keep = Math.min(n, limit);
        this.junkBytes(d, d.partialLen + n - keep, chunk);
        d.partialLen = 0;
        s = e - keep;
        return this.appendPartial(d, b, s, e, chunk);
      }
      d.partialOverflow = true;
      d.partialLen = 0;
      return;
    }
    if (d.partialLen + n > d.partial.length) {
      const grown = Buffer.allocUnsafe(Math.min(Math.max(d.partial.length * 2, d.partialLen + n), limit + 1));
      d.partial.copy(grown, 0, 0, d.partialLen);
      d.partial = grown;
    }
    b.copy(d.partial, d.partialLen, s, e);
    d.partialLen += n;
  }

  /** One complete line [ls, le) (LF excluded) of `wire` bytes on the wire. */
  private line(d: Dir, lb: Buffer, ls: number, le: number, wire: number, overflow: boolean, chunk: StreamChunk): void {
    const bareLf = le === ls || lb[le - 1] !== CR;
    if (!bareLf) le--;
    switch (d.st) {
      case START: {
        if (overflow) return this.junkBytes(d, wire, chunk);
        // RFC 9112 §2.2: a recipient SHOULD ignore at least one empty line before the start line.
        if (le === ls) return d.resyncing ? this.junkBytes(d, wire, chunk) : undefined;
        if (d.side === 'client') {
          if (looksLikeHttp1Request(lb, ls, le)) return this.startRequest(d, lb, ls, le, wire, bareLf, chunk);
        } else if (looksLikeHttp1Response(lb, ls, le)) return this.startResponse(d, lb, ls, le, wire, bareLf, chunk);
        // Resynchronising: a start line may follow the end of a lost body on the same line
        // ("…</html>HTTP/1.1 200 OK"); look for one inside the line.
        const at = d.side === 'client' ? innerRequestStart(lb, ls, le) : innerResponseStart(lb, ls, le);
        if (at > ls) {
          this.junkBytes(d, at - ls, chunk);
          const w = wire - (at - ls);
          return d.side === 'client'
            ? this.startRequest(d, lb, at, le, w, bareLf, chunk)
            : this.startResponse(d, lb, at, le, w, bareLf, chunk);
        }
        return this.junkBytes(d, wire, chunk);
      }
      case HEADERS:
        d.headerBytes += wire;
        this.touch(d, chunk);
        if (bareLf) d.facts.bareLf = true;
        if (le === ls) return this.headersComplete(d, chunk);
        return this.fieldLine(d, d.facts, lb, ls, le, d.facts.headers);
      case CHUNK_DATA_END:
        d.ex!.respWire += d.side === 'server' ? wire : 0;
        this.touch(d, chunk);
        if (bareLf) d.facts.bareLf = true;
        if (le === ls) {
          d.st = CHUNK_SIZE;
          return;
        }
        this.anomaly(d.ex!, HTTP1_ANOMALY.CHUNK_MISSING_CRLF, chunk, 'chunk data not followed by CRLF');
        d.st = CHUNK_SIZE;
        if (d.side === 'server') d.ex!.respWire -= wire; // counted again as a chunk-size line
        return this.line(d, lb, ls, bareLf ? le : le + 1, wire, overflow, chunk);
      case CHUNK_SIZE: {
        const ex = d.ex!;
        if (d.side === 'server') ex.respWire += wire;
        this.touch(d, chunk);
        if (bareLf) d.facts.bareLf = true;
        // RFC 9112 §7.1: chunk-size [ chunk-ext ] CRLF; chunk-size = 1*HEXDIG.
        let i = ls;
        let size = 0;
        while (i < le && i - ls < 13) { // ≤ 13 hex digits: stays below 2^53
          const c = lb[i];
          const v = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
          if (v < 0) break;
          size = size * 16 + v;
          i++;
        }
        // After the digits: BWS, then `;ext` (ignored) or the end.
        let j = i;
        while (j < le && (lb[j] === SP || lb[j] === HTAB)) j++;
        if (overflow || i === ls || (j < le && lb[j] !== 0x3b)) {
          this.anomaly(ex, HTTP1_ANOMALY.CHUNK_SIZE_INVALID, chunk,
            `chunk-size line ${JSON.stringify(latin1(lb, ls, Math.min(le, ls + 40)))}`);
          this.messageDone(d, chunk);
          d.resyncing = true;
          return;
        }
        if (size === 0) {
          d.st = TRAILERS;
          d.headerBytes = 0;
          return;
        }
        d.remaining = size;
        d.st = CHUNK_DATA;
        return;
      }
      case TRAILERS: {
        const ex = d.ex!;
        if (d.side === 'server') ex.respWire += wire;
        d.headerBytes += wire;
        this.touch(d, chunk);
        if (bareLf) d.facts.bareLf = true;
        if (le === ls) return this.messageDone(d, chunk);
        if (d.side === 'client') return this.fieldLine(d, null, lb, ls, le, []);
        ex.trailers ??= [];
        return this.fieldLine(d, null, lb, ls, le, ex.trailers);
      }
    }
  }

  // ---------------------------------------------------------------- start lines and fields

  private startRequest(d: Dir, lb: Buffer, ls: number, le: number, wire: number, bareLf: boolean, chunk: StreamChunk): void {
    this.endJunk(d);
    const text = latin1(lb, ls, le);
    const sp1 = text.indexOf(' ');
    const sp2 = text.lastIndexOf(' ');
    const method = text.slice(0, sp1);
    let target: string;
    let version: string;
    let badLine = false;
    if (sp2 > sp1 && /^HTTP\/\d\.\d$/.test(text.slice(sp2 + 1))) {
      target = text.slice(sp1 + 1, sp2);
      version = text.slice(sp2 + 1);
      badLine = target.includes(' ') || target.length === 0;
    } else {
      // RFC 1945 §4.1 / RFC 9112 Appendix C.1: HTTP/0.9 simple request, `GET /path`.
      target = text.slice(sp1 + 1).trim();
      version = 'HTTP/0.9';
    }
    // Past MAX_OUTSTANDING_REQUESTS (orphans are at most one, at the head of `awaiting`).
    const waiting = this.awaiting.length - (this.awaiting.peek()?.orphan ? 1 : 0);
    const unrecorded = this.unrecorded > 0 || waiting >= this.maxOutstanding;
    const ex: Exchange = {
      index: ++this.requestCount,
      orphan: unrecorded,
      method,
      target,
      version,
      req: newFacts(),
      reqHeaderBytes: wire,
      reqBody: 0,
      reqStart: chunk.time,
      reqEnd: chunk.time,
      reqFirstPacket: chunk.packet,
      reqLastPacket: chunk.packet,
      reqDone: false,
      resp: null,
      respVersion: null,
      status: null,
      statusText: '',
      respHeaderBytes: 0,
      respBody: 0,
      respWire: 0,
      respStart: null,
      respEnd: null,
      respFirstPacket: null,
      respLastPacket: null,
      respStarted: false,
      respDone: false,
      framing: null,
      closeDelimited: false,
      informational: [],
      trailers: null,
      pipelined: this.awaiting.some((e) => !e.orphan),
      lostBytes: 0,
      anomalies: [],
      anomaliesDropped: 0,
      droppedSummary: null,
      gapInBodyReported: false,
      bareLfReported: false,
      upgrade: undefined,
      dReqStart: chunk.deliveredTime !== chunk.time ? chunk.deliveredTime : null,
      dReqEnd: null,
      dRespStart: null,
      dRespEnd: null,
      decoder: null,
      kept: null,
      keptLen: 0,
      emitted: null,
      state: null,
    };
    if (d.pendingLost > 0) {
      ex.lostBytes += d.pendingLost;
      this.anomaly(ex, HTTP1_ANOMALY.GAP_BEFORE_MESSAGE, chunk, `${d.pendingLost} bytes lost before this request`);
      d.pendingLost = 0;
    }
    if (badLine) this.anomaly(ex, HTTP1_ANOMALY.BAD_START_LINE, chunk, `request line ${JSON.stringify(text.slice(0, 80))}`);
    d.resyncing = false;
    d.ex = ex;
    d.facts = ex.req;
    d.facts.bareLf = bareLf;
    d.headerBytes = wire;
    if (unrecorded) this.notRecorded(ex, chunk);
    else {
      this.awaiting.push(ex);
      this.unemitted.push(ex);
    }
    if (version === 'HTTP/0.9') {
      this.out.anomaly({ code: HTTP1_ANOMALY.HTTP09, packet: chunk.packet, time: chunk.time, detail: `HTTP/0.9 request ${method} ${target}` });
      this.setProtocol('unknown');
      this.out.extra({ http09: true });
      this.requestDone(ex, d);
      return;
    }
    if (!this.protocolSent) this.setProtocol(version === 'HTTP/1.0' ? 'http/1.0' : 'http/1.1');
    d.st = HEADERS;
  }

  private startResponse(d: Dir, lb: Buffer, ls: number, le: number, wire: number, bareLf: boolean, chunk: StreamChunk): void {
    this.endJunk(d);
    const text = latin1(lb, ls, le);
    const version = text.slice(0, 8);
    const status = Number(text.slice(9, 12));
    const statusText = text.length > 13 ? text.slice(13) : '';
    let ex = this.awaiting.peek();
    if (!ex && this.unrecorded > 0) ex = this.unrecordedResponse(chunk);
    if (!ex) {
      this.out.anomaly({
        code: HTTP1_ANOMALY.RESPONSE_WITHOUT_REQUEST,
        packet: chunk.packet,
        time: chunk.time,
        detail: `${version} ${status} with no request outstanding`,
      });
      // Parsed (as an answer to GET) only to find where it ends; never emitted.
      ex = this.orphan(chunk);
    }
    if (d.pendingLost > 0) {
      ex.lostBytes += d.pendingLost;
      this.anomaly(ex, HTTP1_ANOMALY.GAP_BEFORE_MESSAGE, chunk, `${d.pendingLost} bytes lost before this response`);
      d.pendingLost = 0;
    }
    d.resyncing = false;
    d.ex = ex;
    d.facts = newFacts();
    d.facts.bareLf = bareLf;
    d.headerBytes = wire;
    d.msgStart = chunk.time;
    ex.respStarted = true;
    ex.status = status;
    ex.statusText = statusText;
    ex.respVersion = version;
    if (status >= 200 || status === 101 || status < 100) {
      ex.respStart = chunk.time;
      ex.respFirstPacket = chunk.packet;
      ex.dRespStart = chunk.deliveredTime !== chunk.time ? chunk.deliveredTime : null;
    }
    this.touch(d, chunk);
    d.st = HEADERS;
  }

  private startRawResponse(d: Dir, ex: Exchange, chunk: StreamChunk): void {
    this.endJunk(d);
    d.ex = ex;
    d.facts = newFacts();
    d.resyncing = false;
    ex.respStarted = true;
    ex.respVersion = 'HTTP/0.9';
    ex.respStart = chunk.time;
    ex.respFirstPacket = chunk.packet;
    ex.resp = d.facts;
    // An HTTP/0.9 response (no status line, no headers) runs until the server closes.
    ex.framing = 'close';
    ex.closeDelimited = true;
    d.st = BODY_CLOSE;
  }

  private orphan(chunk: StreamChunk, method = 'GET', index = 0): Exchange {
    const ex = {
      index, orphan: true, method, target: '', version: 'HTTP/1.1', req: newFacts(), reqHeaderBytes: 0,
      reqBody: 0, reqStart: chunk.time, reqEnd: chunk.time, reqFirstPacket: chunk.packet, reqLastPacket: chunk.packet,
      reqDone: true, resp: null, respVersion: null, status: null, statusText: '', respHeaderBytes: 0, respBody: 0,
      respWire: 0, respStart: null, respEnd: null, respFirstPacket: null, respLastPacket: null, respStarted: false,
      respDone: false, framing: null, closeDelimited: false, informational: [], trailers: null, pipelined: false, lostBytes: 0,
      anomalies: [], anomaliesDropped: 0, droppedSummary: null, gapInBodyReported: false, bareLfReported: false, upgrade: undefined, dReqStart: null, dReqEnd: null, dRespStart: null, dRespEnd: null, decoder: null, kept: null, keptLen: 0, emitted: null, state: null,
    } satisfies Exchange;
    this.awaiting.unshift(ex);
    return ex;
  }

  /** RFC 9112 §5: field-line = field-name ":" OWS field-value OWS. */
  private fieldLine(d: Dir, facts: Facts | null, lb: Buffer, ls: number, le: number, into: Header[]): void {
    const ex = d.ex!;
    const chunk = d.chunk!;
    const first = lb[ls];
    if (first === SP || first === HTAB) {
      // RFC 9112 §5.2 obs-fold: replace with SP and append to the previous field value.
      if (facts && !facts.obsFold) {
        facts.obsFold = true;
        this.anomaly(ex, HTTP1_ANOMALY.OBS_FOLD, chunk, 'obsolete line folding');
      }
      const prev = into[into.length - 1];
      if (prev) {
        const more = latin1(lb, ls, le).trim();
        prev.value = prev.value ? `${prev.value} ${more}` : more;
        if (facts) this.fact(facts, prev.name, more, true);
      }
      return;
    }
    let colon = lb.indexOf(0x3a, ls);
    if (colon < 0 || colon >= le) {
      this.anomaly(ex, HTTP1_ANOMALY.HEADER_WITHOUT_COLON, chunk, JSON.stringify(latin1(lb, ls, Math.min(le, ls + 60))));
      return;
    }
    let nameEnd = colon;
    if (lb[nameEnd - 1] === SP || lb[nameEnd - 1] === HTAB) {
      // RFC 9112 §5.1: no whitespace between name and colon (a server MUST reject; a client strips).
      this.anomaly(ex, HTTP1_ANOMALY.SPACE_BEFORE_COLON, chunk, JSON.stringify(latin1(lb, ls, colon + 1)));
      while (nameEnd > ls && (lb[nameEnd - 1] === SP || lb[nameEnd - 1] === HTAB)) nameEnd--;
    }
    let validName = nameEnd > ls;
    for (let i = ls; i < nameEnd && validName; i++) if (TCHAR[lb[i]] !== 1) validName = false;
    const pos = into.length;
    const slot = pos < INTERN_POSITIONS ? (d.side === 'client' ? pos : INTERN_POSITIONS + pos) : -1;
    const name = slot >= 0 ? interned(internedNames, slot, lb, ls, nameEnd) : latin1(lb, ls, nameEnd);
    if (!validName) this.anomaly(ex, HTTP1_ANOMALY.INVALID_HEADER_NAME, chunk, JSON.stringify(name.slice(0, 60)));
    let vs = colon + 1;
    let ve = le;
    while (vs < ve && (lb[vs] === SP || lb[vs] === HTAB)) vs++;
    while (ve > vs && (lb[ve - 1] === SP || lb[ve - 1] === HTAB)) ve--;
    const value = slot >= 0 && ve - vs <= INTERN_MAX_VALUE ? interned(internedValues, slot, lb, vs, ve) : latin1(lb, vs, ve);
    into.push({ name, value });
    if (facts) this.fact(facts, name, value, false);
  }

  /** Remember the fields that matter for framing and persistence. */
  private fact(f: Facts, name: string, value: string, folded: boolean): void {
    if (name.length > 17 || name.length < 4) return;
    switch (name.toLowerCase()) {
      case 'content-length':
        if (!folded) for (const v of value.split(',')) f.contentLength.push(v.trim());
        return;
      case 'transfer-encoding':
        f.transferEncoding = f.transferEncoding && !folded ? `${f.transferEncoding}, ${value}` : folded ? `${f.transferEncoding ?? ''} ${value}` : value;
        return;
      case 'connection':
        for (const t of connectionTokens(value)) f.connection.push(t);
        return;
      case 'keep-alive':
        f.keepAlive = f.keepAlive ? `${f.keepAlive}, ${value}` : value;
        return;
      case 'proxy-connection':
        f.proxyConnection = value;
        return;
      case 'upgrade':
        f.upgrade = value;
        return;
      case 'content-encoding':
        f.contentEncoding = f.contentEncoding ? `${f.contentEncoding}, ${value}` : value;
        return;
      case 'host':
        f.host ??= value;
        return;
      case 'expect':
        f.expect = value;
        return;
    }
  }

  // ---------------------------------------------------------------- framing (RFC 9112 §6)

  /** Content-Length (RFC 9110 §8.6): the length to use, or null (absent) / -1 (unusable). */
  private contentLength(ex: Exchange, f: Facts, chunk: StreamChunk): number | null {
    if (f.contentLength.length === 0) return null;
    let first = -1;
    let differs = false;
    for (const v of f.contentLength) {
      if (!/^\d{1,15}$/.test(v)) {
        this.anomaly(ex, HTTP1_ANOMALY.CL_INVALID, chunk, `Content-Length: ${v.slice(0, 40)}`);
        return -1;
      }
      const n = Number(v);
      if (first < 0) first = n;
      else if (n !== first) differs = true;
    }
    if (differs) this.anomaly(ex, HTTP1_ANOMALY.CL_CONFLICT, chunk, `Content-Length values ${f.contentLength.join(', ')}`);
    else if (f.contentLength.length > 1)
      this.anomaly(ex, HTTP1_ANOMALY.CL_DUPLICATE, chunk, `Content-Length values ${f.contentLength.join(', ')}`);
    return first;
  }

  private headersComplete(d: Dir, chunk: StreamChunk): void {
    const ex = d.ex!;
    const f = d.facts;
    if (f.bareLf) this.anomaly(ex, HTTP1_ANOMALY.BARE_LF, chunk, 'header lines end with LF instead of CRLF');
    if (d.side === 'client') return this.requestHeadersComplete(d, ex, f, chunk);
    return this.responseHeadersComplete(d, ex, f, chunk);
  }

  private requestHeadersComplete(d: Dir, ex: Exchange, f: Facts, chunk: StreamChunk): void {
    ex.reqHeaderBytes = d.headerBytes;
    if (f.proxyConnection !== null) this.ka.proxyConnection = f.proxyConnection;
    const chunked = transferCodingsChunked(f.transferEncoding);
    const cl = this.contentLength(ex, f, chunk);
    if (chunked !== null && cl !== null) this.anomaly(ex, HTTP1_ANOMALY.TE_WITH_CL, chunk, 'Transfer-Encoding wins over Content-Length');
    // RFC 9112 §6.3 (keepalive.ts framingByHeaders decides).
    switch (framingByHeaders('client', chunked, cl)) {
      case 'chunked':
        d.st = CHUNK_SIZE;
        return;
      case 'invalid':
        // ¶4: the request body length cannot be determined; the server answers 400 and closes.
        this.anomaly(ex, HTTP1_ANOMALY.TE_NOT_CHUNKED, chunk, `Transfer-Encoding: ${f.transferEncoding}`);
        d.st = DONE;
        ex.reqDone = true;
        return this.flush(false);
      case 'length':
        d.st = BODY_LENGTH;
        d.remaining = cl!;
        return;
      default:
        // ¶7 (or Content-Length 0 / unusable): no body.
        this.requestDone(ex, d);
    }
  }

  private responseHeadersComplete(d: Dir, ex: Exchange, f: Facts, chunk: StreamChunk): void {
    const status = ex.status!;
    d.st = START;
    // RFC 9112 §6.3 ¶1–2 first (keepalive.ts framingByStatus), then the framing headers.
    const byStatus = framingByStatus(ex.method, status);
    if (byStatus === 'interim') {
      // RFC 9110 §15.2: interim response, no body; the final response follows for the same request.
      ex.informational.push({ status, time: d.msgStart });
      ex.status = null;
      ex.statusText = '';
      return;
    }
    ex.resp = f;
    ex.respHeaderBytes = d.headerBytes;
    ex.framing = byStatus;
    if (byStatus === 'switch') {
      // RFC 9110 §15.2.2: the protocol changes right after the 101's empty line.
      const token = (f.upgrade ?? ex.req.upgrade ?? '').split(',')[0].trim().toLowerCase();
      const kind = token.startsWith('websocket') ? 'websocket' : token === 'h2c' ? 'h2c' : token || 'unknown';
      ex.upgrade = kind;
      this.responseDone(ex);
      return this.startHandoff(kind, kind === 'websocket' ? 'websocket' : kind === 'h2c' ? 'h2c' : 'unknown');
    }
    if (byStatus === 'tunnel') {
      // RFC 9110 §9.3.6: after a 2xx to CONNECT the connection is a tunnel; no body.
      this.responseDone(ex);
      this.out.extra({ tunnel: ex.target });
      return this.startHandoff('tunnel', 'tunnel');
    }
    // RFC 9112 §6.3 ¶1: HEAD, 204 and 304 responses end with the header block.
    if (byStatus === 'none') return this.responseDone(ex);
    const chunked = transferCodingsChunked(f.transferEncoding);
    const cl = this.contentLength(ex, f, chunk);
    if (this.decode && !ex.orphan) {
      const coding = contentCoding(f.contentEncoding);
      if (coding) {
        ex.decoder = new BodyDecoder(coding, this.keep);
      } else if (this.keep > 0 && !f.contentEncoding) ex.kept = [];
    }
    // RFC 9112 §6.3 ¶3: Transfer-Encoding overrides Content-Length.
    if (chunked !== null && cl !== null) this.anomaly(ex, HTTP1_ANOMALY.TE_WITH_CL, chunk, 'Transfer-Encoding wins over Content-Length');
    const framing = framingByHeaders('server', chunked, cl);
    ex.framing = framing;
    switch (framing) {
      case 'chunked':
        d.st = CHUNK_SIZE;
        return;
      case 'length':
        d.st = BODY_LENGTH;
        d.remaining = cl!;
        return;
      case 'none':
        return this.responseDone(ex);
      default:
        // ¶4 (a final coding other than chunked), ¶5 (unusable Content-Length), ¶8 (neither): the
        // body runs until the server closes the connection.
        if (chunked === false) this.anomaly(ex, HTTP1_ANOMALY.TE_NOT_CHUNKED, chunk, `Transfer-Encoding: ${f.transferEncoding}; read until close`);
        ex.closeDelimited = true;
        d.st = BODY_CLOSE;
    }
  }

  // ---------------------------------------------------------------- bodies and message ends

  private body(d: Dir, b: Buffer, s: number, e: number, chunk: StreamChunk): void {
    const ex = d.ex!;
    const n = e - s;
    if (d.side === 'client') {
      ex.reqBody += n;
    } else {
      ex.respBody += n;
      ex.respWire += n;
      if (ex.decoder) ex.decoder.write(b.subarray(s, e));
      else if (ex.kept && ex.keptLen < this.keep) {
        const take = Math.min(n, this.keep - ex.keptLen);
        ex.kept.push(Buffer.from(b.subarray(s, s + take)));
        ex.keptLen += take;
      }
    }
    this.touch(d, chunk);
  }

  /** The message in direction `d` ended with the bytes of `chunk`. */
  private messageDone(d: Dir, chunk: StreamChunk): void {
    const ex = d.ex!;
    if (d.facts.bareLf && d.st === TRAILERS && !ex.bareLfReported)
      this.anomaly(ex, HTTP1_ANOMALY.BARE_LF, chunk, 'chunked framing lines end with LF instead of CRLF');
    if (d.side === 'client') this.requestDone(ex, d);
    else this.responseDone(ex);
  }

  private requestDone(ex: Exchange, d: Dir): void {
    ex.reqDone = true;
    d.st = START;
    // Bytes after an Upgrade or CONNECT request may belong to the new protocol: hold them until the
    // response says whether the switch happened.
    if (!ex.respDone && !ex.orphan && (ex.method === 'CONNECT' || ex.req.upgrade !== null)) d.st = PAUSED;
    this.flush(false);
  }

  private responseDone(ex: Exchange): void {
    const d = this.s;
    ex.respDone = true;
    d.st = START;
    this.awaiting.remove(ex);
    if (ex.decoder) this.finishDecoder(ex);
    if (ex.orphan) {
      if (ex.index > 0) {
        // An unrecorded request's response: only the response's side and whether the connection
        // stayed reusable are kept (the request taken as asking nothing, in the response's version).
        const resp = ex.resp ?? newFacts();
        const v = ex.respVersion ?? 'HTTP/1.1';
        const server = persistBasis(v, resp.connection);
        this.recordPersistence(ex.index, null, server, reusableAfter({ client: persistBasis(v, []), server, framing: ex.framing, version: v }));
      }
      return;
    }
    this.lastComplete = ex;
    this.updateKeepAlive(ex);
    if (ex.respVersion === 'HTTP/1.0' && this.protocolSent === 'http/1.1' && ex.index === 1) this.setProtocol('http/1.0');
    // A paused client resumes (replaying what it sent meanwhile) unless the protocol switched.
    if (this.c.st === PAUSED && this.c.ex === ex && !this.handoff && ex.status !== 101 &&
      !(ex.method === 'CONNECT' && ex.status! >= 200 && ex.status! < 300)) {
      this.c.st = START;
      const held = this.c.paused;
      this.c.paused = [];
      this.c.pausedBytes = 0;
      for (const h of held) {
        if (h.skipped !== 0) this.gap(this.c, h);
        this.run(this.c, asBuffer(h.data), 0, h);
      }
    }
    this.flush(false);
  }

  private finishDecoder(ex: Exchange): void {
    const dec = ex.decoder!;
    dec.end();
    this.decoding++;
    void dec.result.then((r) => {
        const draft = ex.emitted;
        if (r.failure && r.failure !== 'gap')
          (draft?.anomalies ?? ex.anomalies).push({ code: HTTP1_ANOMALY.DECODE_FAILED, detail: `${r.failure}${r.error ? `: ${r.error}` : ''}` });
        if (draft) {
          // In place: the engine copies drafts shallowly, so `sizes` and `http1` are shared with it.
          draft.sizes.responseBodyDecoded = r.decoded;
          if (r.kept && draft.http1) Object.assign(draft.http1, { body: r.kept.toString('base64'), bodyTruncated: r.keptTruncated });
        }
        ex.decoded = r.decoded;
        ex.keptResult = r.kept ? { body: r.kept.toString('base64'), truncated: r.keptTruncated ?? false } : undefined;
        if (--this.decoding === 0) {
          const w = this.waiters;
          this.waiters = [];
          for (const f of w) f();
        }
      });
  }

  private updateKeepAlive(ex: Exchange): void {
    const resp = ex.resp ?? newFacts();
    if (ex.index === 1) this.ka.defaultPersistent = atLeast11(ex.version) && atLeast11(ex.respVersion ?? ex.version);
    if (ex.req.connection.length) this.ka.clientConnection = ex.req.connection.join(', ');
    if (resp.connection.length) this.ka.serverConnection = resp.connection.join(', ');
    this.prevMax = this.lastMax;
    this.lastMax = undefined;
    if (resp.keepAlive !== null) {
      const p = parseKeepAlive(resp.keepAlive);
      if (p.timeoutS !== undefined) this.ka.timeoutS = p.timeoutS;
      if (p.max !== undefined) {
        this.ka.max = p.max;
        this.lastMax = p.max;
        this.firstMax ??= p.max;
      }
    }
    // RFC 9112 §9.3, decided by keepalive.ts and recorded once for every reader.
    const client = persistBasis(ex.version, ex.req.connection);
    const server = persistBasis(ex.respVersion ?? ex.version, resp.connection);
    this.recordPersistence(ex.index, client, server, reusableAfter({ client, server, framing: ex.framing, version: ex.version, max: this.lastMax }));
    // The contract is made when the engine asks for it (no per-response copy: that would be
    // quadratic on long keep-alive connections); the last call's is the current one.
    this.out.keepAlive(this.contract);
  }

  /** The keep-alive contract's facts of exchange `index` (see KeepAliveContract). */
  private recordPersistence(index: number, client: PersistBasis | null, server: PersistBasis | null, reusable: boolean): void {
    this.persist.set(index - 1, client, server, reusable);
  }

  // ---------------------------------------------------------------- upgrades and tunnels

  private startHandoff(kind: string, protocol: AppProtocol): void {
    this.setProtocol(protocol);
    this.out.extra({ upgrade: kind });
    const s = this.s;
    const serverRest: StreamChunk[] = [];
    if (s.buf && s.chunk && s.pos < s.buf.length) serverRest.push(copyChunk(s.chunk, s.pos));
    const clientRest = this.c.paused;
    this.c.paused = [];
    const request = this.lastComplete?.emitted ?? null;
    const sink = this.opts.onUpgrade?.(kind, { request, clientRest, serverRest }) ?? null;
    this.c.st = DONE;
    s.st = DONE;
    if (sink) this.handoff = sink;
    else this.handoff = this.counting = new CountingSink();
    for (const c of clientRest) this.handoff.onData('client', c);
    for (const c of serverRest) this.handoff.onData('server', c);
    // The client's own end may already have happened while paused.
    this.flush(false);
  }

  private hold(d: Dir, chunk: StreamChunk, from: number): void {
    const n = chunk.data.length - from;
    if (d.pausedBytes + n > MAX_PAUSED_BYTES) {
      // Degrade: stop holding; resume parsing as HTTP (an upgrade that never got its 101).
      this.out.anomaly({ code: HTTP1_ANOMALY.PAUSED_LIMIT, packet: chunk.packet, time: chunk.time,
        detail: `more than ${MAX_PAUSED_BYTES} bytes sent before the upgrade/CONNECT response` });
      const held = d.paused;
      d.paused = [];
      d.pausedBytes = 0;
      d.st = START;
      for (const h of held) {
        if (h.skipped !== 0) this.gap(d, h);
        this.run(d, asBuffer(h.data), 0, h);
      }
      if (chunk.skipped !== 0 && from === 0) this.gap(d, chunk);
      this.run(d, asBuffer(chunk.data), from, chunk);
      return;
    }
    d.paused.push(copyChunk(chunk, from));
    d.pausedBytes += n;
  }

  // ---------------------------------------------------------------- gaps and junk

  private gap(d: Dir, chunk: StreamChunk): void {
    const lost = chunk.skipped;
    d.partialLen = 0;
    d.partialOverflow = false;
    if (lost < 0) {
      // Start of the direction unseen: find a message boundary on our own.
      this.out.anomaly({ code: HTTP1_ANOMALY.MID_STREAM_START, packet: chunk.packet, time: chunk.time,
        detail: `${d.side} data starts mid-stream; skipping to the first plausible ${d.side === 'client' ? 'request' : 'status'} line` });
      d.st = START;
      d.resyncing = true;
      return;
    }
    const ex = d.ex;
    switch (d.st) {
      case BODY_LENGTH:
      case CHUNK_DATA: {
        const inBody = Math.min(lost, d.remaining);
        this.lose(d, ex!, inBody, chunk);
        d.remaining -= inBody;
        if (lost <= inBody) {
          if (d.remaining === 0) {
            if (d.st === BODY_LENGTH) this.messageDone(d, chunk);
            else d.st = CHUNK_DATA_END;
          }
          return;
        }
        if (d.st === CHUNK_DATA) {
          this.anomaly(ex!, HTTP1_ANOMALY.GAP_DESYNC, chunk, `${lost - inBody} bytes lost where chunk framing was expected`);
          ex!.lostBytes += lost - inBody;
          this.messageDone(d, chunk);
        } else {
          this.messageDone(d, chunk);
          d.pendingLost += lost - inBody;
        }
        d.resyncing = true;
        return;
      }
      case BODY_CLOSE:
        this.lose(d, ex!, lost, chunk);
        return;
      case START:
        d.pendingLost += lost;
        d.resyncing = true;
        return;
      case HEADERS:
      case CHUNK_SIZE:
      case CHUNK_DATA_END:
      case TRAILERS: {
        // Framing lost in the middle of a message: end it here and look for the next one.
        ex!.lostBytes += lost;
        this.anomaly(ex!, HTTP1_ANOMALY.GAP_DESYNC, chunk, `${lost} bytes lost inside the message framing`);
        if (d.st === HEADERS) {
          if (d.side === 'client') ex!.reqHeaderBytes = d.headerBytes;
          else {
            ex!.resp = d.facts;
            ex!.respHeaderBytes = d.headerBytes;
          }
        }
        if (ex!.decoder) ex!.decoder.fail('gap');
        this.messageDone(d, chunk);
        d.resyncing = true;
        return;
      }
      default: // DONE
        return;
    }
  }

  /** `n` body bytes of `ex` were lost: counted as body, as lost, and break decoding. */
  private lose(d: Dir, ex: Exchange, n: number, chunk: StreamChunk): void {
    if (n <= 0) return;
    if (d.side === 'client') ex.reqBody += n;
    else {
      ex.respBody += n;
      ex.respWire += n;
      ex.decoder?.fail('gap');
    }
    ex.lostBytes += n;
    if (!ex.gapInBodyReported) this.anomaly(ex, HTTP1_ANOMALY.GAP_IN_BODY, chunk, `${n} body bytes not captured`);
  }

  private junkBytes(d: Dir, n: number, chunk: StreamChunk): void {
    if (n <= 0) return;
    d.junk ??= { bytes: 0, packet: chunk.packet, time: chunk.time };
    d.junk.bytes += n;
  }

  private endJunk(d: Dir): void {
    if (!d.junk) return;
    const j = d.junk;
    d.junk = null;
    this.out.anomaly({
      code: HTTP1_ANOMALY.SKIPPED_BYTES,
      packet: j.packet,
      time: j.time,
      detail: `${d.side}: skipped ${j.bytes} bytes before a plausible ${d.side === 'client' ? 'request' : 'status'} line`,
    });
  }

  private headersTooLarge(d: Dir, chunk: StreamChunk): void {
    const ex = d.ex!;
    this.anomaly(ex, HTTP1_ANOMALY.HEADERS_TOO_LARGE, chunk, `header block over ${MAX_HEADER_BYTES} bytes`);
    if (d.st === HEADERS) {
      if (d.side === 'client') ex.reqHeaderBytes = d.headerBytes;
      else {
        ex.resp = d.facts;
        ex.respHeaderBytes = d.headerBytes;
      }
    }
    d.partialLen = 0;
    d.partialOverflow = false;
    this.messageDone(d, chunk);
    d.resyncing = true;
  }

  // ---------------------------------------------------------------- bookkeeping

  private touch(d: Dir, chunk: StreamChunk): void {
    const ex = d.ex!;
    if (d.side === 'client') {
      ex.reqEnd = chunk.time;
      ex.reqLastPacket = chunk.packet;
      ex.dReqEnd = chunk.deliveredTime !== chunk.time ? chunk.deliveredTime : null;
    } else {
      ex.respEnd = chunk.time;
      ex.respLastPacket = chunk.packet;
      ex.dRespEnd = chunk.deliveredTime !== chunk.time ? chunk.deliveredTime : null;
    }
  }

  /** Records a request-level anomaly, keeping at most MAX_ANOMALIES_PER_EXCHANGE (the rest are counted). */
  private anomaly(ex: Exchange, code: string, chunk: StreamChunk, detail: string): void {
    if (code === HTTP1_ANOMALY.GAP_IN_BODY) ex.gapInBodyReported = true;
    else if (code === HTTP1_ANOMALY.BARE_LF) ex.bareLfReported = true;
    if (ex.anomalies.length < MAX_ANOMALIES_PER_EXCHANGE) {
      ex.anomalies.push({ code, packet: chunk.packet, time: chunk.time, detail });
      return;
    }
    // Limit hit: one summary entry (at the first dropped anomaly) whose count is kept current.
    ex.anomaliesDropped++;
    if (!ex.droppedSummary) {
      ex.droppedSummary = { code: HTTP1_ANOMALY.ANOMALIES_DROPPED, packet: chunk.packet, time: chunk.time, detail: '' };
      ex.anomalies.push(ex.droppedSummary);
    }
    ex.droppedSummary.detail = `${ex.anomaliesDropped} more anomalies not recorded (limit ${MAX_ANOMALIES_PER_EXCHANGE} per request)`;
  }

  private setProtocol(p: AppProtocol): void {
    if (this.protocolSent === p) return;
    this.protocolSent = p;
    this.out.protocol(p);
  }

  /** Request `ex` came past MAX_OUTSTANDING_REQUESTS: parsed and numbered, not recorded. */
  private notRecorded(ex: Exchange, chunk: StreamChunk): void {
    if (this.unrecorded === 0) this.unrecordedIndex = ex.index;
    this.unrecorded++;
    this.unrecordedTotal++;
    if ((ex.method === 'HEAD' || ex.method === 'CONNECT') && this.unrecordedMethods.length < this.maxOutstanding)
      this.unrecordedMethods.push({ seq: this.unrecordedSeq, method: ex.method });
    this.unrecordedSeq++;
    this.count('http1RequestsNotRecorded');
    if (!this.unrecordedAnomaly) {
      this.unrecordedAnomaly = { code: HTTP1_ANOMALY.REQUESTS_NOT_RECORDED, packet: chunk.packet, time: chunk.time, detail: '' };
      this.out.anomaly(this.unrecordedAnomaly);
      this.describeUnrecorded();
    }
  }

  /** A response to the oldest unrecorded request: parsed with a scratch exchange, never emitted. */
  private unrecordedResponse(chunk: StreamChunk): Exchange {
    const seq = this.unrecordedAnsweredSeq++;
    let method = 'GET';
    if (this.unrecordedMethods.peek()?.seq === seq) method = this.unrecordedMethods.shift()!.method;
    this.unrecorded--;
    this.unrecordedAnswered++;
    return this.orphan(chunk, method, this.unrecordedIndex++);
  }

  private describeUnrecorded(): void {
    this.unrecordedAnomaly!.detail =
      `${this.unrecordedTotal} request(s) sent while ${this.maxOutstanding} were waiting for responses ` +
      `(MAX_OUTSTANDING_REQUESTS) were parsed but not recorded; ${this.unrecordedAnswered} of them answered`;
  }

  /**
   * At close: the counts go out. Unrecorded requests still waiting are the last of the connection,
   * so `reusableAfter` needs no entries for them (no recorded exchange follows to index past them).
   */
  private settleUnrecorded(): void {
    this.describeUnrecorded();
    this.out.extra({
      requestsNotRecorded: { count: this.unrecordedTotal, answered: this.unrecordedAnswered, unanswered: this.unrecorded },
    });
  }

  private settleAtClose(ex: Exchange): void {
    if (ex.respDone) return;
    const cEnd = this.c.end;
    const sEnd = this.s.end;
    if (sEnd?.how === 'rst') ex.state = 'reset';
    else if (cEnd?.how === 'rst') ex.state = 'aborted';
    else if (cEnd && (!sEnd || cEnd.time < sEnd.time) && !ex.closeDelimited) ex.state = 'aborted';
    else if (ex.closeDelimited && sEnd) ex.state = 'complete';
    else ex.state = ex.respStarted ? 'incomplete-response' : 'no-response';
    if (ex.decoder) ex.decoder.fail('truncated');
    // Ended before its response did: not reusable; each side's persistence as far as it was seen.
    if (!ex.orphan && ex.index > 0)
      this.recordPersistence(ex.index, persistBasis(ex.version, ex.req.connection), ex.resp ? persistBasis(ex.respVersion ?? ex.version, ex.resp.connection) : null, false);
    if (!ex.reqDone) this.anomaly(ex, HTTP1_ANOMALY.REQUEST_INCOMPLETE, { packet: ex.reqLastPacket, time: ex.reqEnd } as StreamChunk,
      'the request was not complete when the connection ended');
    ex.reqDone = true;
    ex.respDone = true;
  }

  /** Emit finished exchanges in request order (all of them at close). */
  private flush(all: boolean): void {
    while (this.unemitted.length > 0) {
      const ex = this.unemitted.peek()!;
      if (!all && !(ex.reqDone && ex.respDone)) return;
      this.unemitted.shift();
      this.emit(ex);
    }
  }

  private emit(ex: Exchange): void {
    const host = ex.req.host ?? this.authority();
    const target = ex.target;
    const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(target)
      ? target
      : ex.method === 'CONNECT'
        ? `${this.info.scheme}://${target}`
        : target.startsWith('/')
          ? `${this.info.scheme}://${host}${target}`
          : `${this.info.scheme}://${host}/${target === '*' ? '' : target}`;
    const facts: Http1RequestFacts = {};
    if (ex.dReqStart !== null || ex.dReqEnd !== null || ex.dRespStart !== null || ex.dRespEnd !== null) {
      const dt: DeliveredTimes = {};
      if (ex.dReqStart !== null) dt.requestStartTime = ex.dReqStart;
      if (ex.dReqEnd !== null) dt.requestEndTime = ex.dReqEnd;
      if (ex.dRespStart !== null) dt.responseStartTime = ex.dRespStart;
      if (ex.dRespEnd !== null && ex.respStart !== null) dt.responseEndTime = ex.dRespEnd;
      facts.deliveredTimes = dt;
    }
    if (ex.respVersion && ex.respVersion !== ex.version) facts.responseHttpVersion = ex.respVersion;
    if (ex.closeDelimited) facts.closeDelimited = true;
    if (ex.kept) {
      facts.body = Buffer.concat(ex.kept).toString('base64');
      facts.bodyTruncated = ex.respBody > ex.keptLen;
    }
    const coding = ex.resp?.contentEncoding ?? null;
    const draft: RequestDraft = {
      index: ex.index,
      method: ex.method,
      url,
      target,
      httpVersion: ex.version,
      status: ex.status,
      statusText: ex.statusText,
      requestHeaders: ex.req.headers,
      responseHeaders: ex.resp?.headers ?? [],
      sizes: {
        requestHeaders: ex.reqHeaderBytes,
        requestBody: ex.reqBody,
        responseHeaders: ex.respHeaderBytes,
        responseBody: ex.respBody,
        responseBodyWire: ex.respWire,
        // Identity: the decoded size is the body size; an encoding we decode settles later.
        responseBodyDecoded:
          coding === null || coding.trim().toLowerCase() === 'identity' || (ex.respBody === 0 && !ex.decoder)
            ? ex.respBody
            : ex.decoded ?? -1,
      },
      times: {
        queuedTime: null,
        dnsStartTime: null,
        dnsEndTime: null,
        connectStartTime: null,
        connectEndTime: null,
        sslStartTime: null,
        sslEndTime: null,
        requestStartTime: ex.reqStart,
        requestEndTime: ex.reqEnd,
        responseStartTime: ex.respStart,
        responseEndTime: ex.respStart === null ? null : ex.respEnd,
      },
      pipelined: ex.pipelined,
      connectionReused: ex.index > 1,
      state: ex.state ?? 'complete',
      packets: {
        request: [ex.reqFirstPacket, ex.reqLastPacket],
        response: ex.respFirstPacket === null ? null : [ex.respFirstPacket, ex.respLastPacket ?? ex.respFirstPacket],
      },
      lostBytes: ex.lostBytes,
      anomalies: ex.anomalies,
    };
    if (ex.informational.length) draft.informational = ex.informational;
    if (ex.trailers) draft.trailers = ex.trailers;
    if (ex.upgrade !== undefined) draft.upgrade = ex.upgrade;
    if (ex.keptResult) {
      facts.body = ex.keptResult.body;
      facts.bodyTruncated = ex.keptResult.truncated;
    }
    // A decoder still running fills `http1.body` later, into this same object.
    if (Object.keys(facts).length || (ex.decoder && this.keep > 0)) draft.http1 = facts;
    ex.emitted = draft;
    this.out.request(draft);
  }

  private authority(): string {
    return serverAuthority(this.info);
  }
}
