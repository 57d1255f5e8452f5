/**
 * Streaming detection: detectors fed connection by connection as the engine completes them, in the
 * spirit of gopacket's `FlushCloseOlderThan` — the capture time of the oldest connection still
 * open is the watermark, and state older than a detector's own window is dropped as it passes.
 *
 * Call order, per capture (`DetectStream`):
 *
 *   request(r)*        any number, in completion order; a request comes before its connection
 *   connection(c)      when the engine hands c out (completion order, not id order): c's buffered
 *                      requests are handed with it, in index order, to every detector's
 *                      `onConnection` — per-connection detectors emit their findings here
 *   watermark(t)*      no connection handed out from now on opened (or had its first packet)
 *                      before t: the connections opened before t go to `onOrdered` in order of
 *                      opening (open time, then id), then every detector's `onWatermark(t)`
 *   finish()           capture end: the rest go to `onOrdered`, then every detector's `finish()`
 *
 * Cross-connection detectors (missed reuse, retries, relay legs, resumption) judge a connection
 * against the ones opened before it, so they read `onOrdered`, and emit a finding once no later
 * connection can change it: at `onWatermark` when their window has passed, or at `finish()` for
 * findings that aggregate a whole client/origin pair ("N of M connections …").
 *
 * Memory. The driver keeps (1) the requests of connections not yet complete, holding only what
 * some enabled detector `reads`, column-wise (`RequestLog`, ~250 bytes a request; the slim Request
 * records are made again at each hand-out); (2) complete connections not yet released to
 * `onOrdered` (opened after the oldest connection still open), slim as well, at most
 * `MAX_DETECT_PENDING_RECORDS` connections plus requests: past it the oldest are released early
 * (counted as `detectWatermarkForced`), and a connection arriving behind what was released is
 * judged out of order (counted as `detectLateConnections`: its cross-connection findings may
 * then differ from the whole-report ones). Detectors keep their own windowed state, documented
 * in each module. A detector without a streaming form runs through `fallback()`: its inputs are
 * kept (bounded by `MAX_DETECT_FALLBACK_RECORDS`, else skipped and counted as
 * `detectFallbackSkipped`) and it runs once at the end.
 *
 * `detectAll(report)` drives the same detectors over a whole report (connections in id order, no
 * watermark before the end), so both paths share one implementation per detector.
 *
 * Which detectors stream: hol-stall, h2-tcp-hol and h2-flow-control (per connection);
 * blind-relay-hang and keepalive-policy (per connection, plus windows for relay legs and retries);
 * missed-reuse, h2-missed-reuse, tls-missed-reuse and tls-resumption (per client and origin, in
 * order of opening, windowed; their per-origin summaries at the end); quic-missed-reuse and
 * quic-fallback (likewise), quic-alt-svc (noted in order of opening, judged at the end) and
 * quic-0rtt (per connection, summed up per origin at the end). h2-coalescing runs through
 * `fallback()` (see its module for why).
 *
 * Where it can be wrong: the watermark assumes packets in capture order (the engine subtracts the
 * largest step back in time it has seen); a capture that goes back further, or the early release
 * past MAX_DETECT_PENDING_RECORDS, hands a connection in after later ones were judged — counted as
 * `detectLateConnections`, and its cross-connection findings may then differ from `detectAll`'s.
 */
import type { Connection, Finding, H2ConnectionFacts, H2RequestFacts, Header, Http1RequestFacts, Report, Request, RequestTimes } from '../model/types.js';
import type { DetectorDef } from './index.js';
import { openTime } from './util.js';
import { Heap } from '../util/heap.js';
import { SpillFile } from '../util/spill.js';
import { grow } from '../util/grow.js';
import { firstIndex } from '../util/search.js';
import { compactKeepAlive } from '../model/persist-log.js';

/** What a detector reads beyond the connection record: the driver keeps only that of requests. */
export interface DetectorReads {
  /** Request header names (lower case). */
  requestHeaders?: readonly string[];
  /** Response header names (lower case). */
  responseHeaders?: readonly string[];
  /** `request.h2` keys (the other protocol facts of requests are not kept). */
  requestH2?: readonly (keyof H2RequestFacts)[];
  /**
   * `request.http1` facts the HTTP/1 session recorded (RFC 9112 §6.3 framing: `closeDelimited`),
   * kept as a flag: detectors read them instead of deciding them again from headers.
   */
  requestHttp1?: readonly 'closeDelimited'[];
  /** `request.url` (only kept when the request has no Host / :authority header). */
  url?: boolean;
  /**
   * Paths into `connection.h2` read by `onOrdered` (dotted: 'server.settings'); the connection
   * handed to `onConnection` is whole (a slim one has no `extra`).
   */
  orderedConnectionH2?: readonly string[];
}

export type FindingSink = (f: Finding) => void;

export interface StreamingDetector {
  /** Every connection as it completes (any order), its requests in index order. */
  onConnection?(c: Connection, requests: readonly Request[]): void;
  /** Connections in order of opening (open time, then id); every one opened earlier came first. */
  onOrdered?(c: Connection, requests: readonly Request[]): void;
  /**
   * No connection opened before `t` will be handed out any more (capture time, ms); no request
   * handed out from now on, nor the request before it on its connection, started before
   * `requestFloor` (≥ t; engine.ts `requestFloor`: per-request state of connections open since the
   * capture began may be dropped below it, where `t` stays at their opening).
   */
  onWatermark?(t: number, requestFloor: number): void;
  /** Capture end: emit everything still held. */
  finish?(): void;
  /**
   * Request records (or their stand-ins) the detector keeps now: how tests and the bench see that
   * windowed state stays windowed. Not called on the hot path.
   */
  held?(): number;
}

/**
 * Most connections (plus requests not in a RequestLog) held for `onOrdered` while an older
 * connection is still open. A connection open for the whole capture would otherwise hold every
 * later one; past this, the oldest are released early (gopacket's flush: degraded, counted, never
 * unbounded). The requests in logs are bounded by MAX_DETECT_RESIDENT_REQUESTS instead.
 */
export const MAX_DETECT_PENDING_RECORDS = 200_000;
/**
 * Requests the driver holds in memory over all RequestLogs (~250 bytes each, 8 MB): past it, the
 * logs with the most go to a scratch file (util/spill.ts), counted as `detectRequestsSpilled`.
 */
export const MAX_DETECT_RESIDENT_REQUESTS = 32_768;
/** Records (connections plus requests) a fallback detector keeps for its end-of-capture run. */
export const MAX_DETECT_FALLBACK_RECORDS = 500_000;

export interface StreamContext {
  /** Counts limits hit (capture.counters). */
  count(name: string, n?: number): void;
  /** False when driving a whole report: no limits apply (the report is in memory anyway). */
  bounded: boolean;
  /** Tests: smaller limits than MAX_DETECT_PENDING_RECORDS / MAX_DETECT_FALLBACK_RECORDS / MAX_DETECT_RESIDENT_REQUESTS. */
  limits?: { pending?: number; fallback?: number; resident?: number };
}

/** Slim copies (streaming) hold only what detectors read; constants shared by all of them. */
const NO_HEADERS: Header[] = [];
const NO_ANOMALIES: Request['anomalies'] = [];
const NO_SIZES: Request['sizes'] = Object.freeze({ requestHeaders: 0, requestBody: 0, responseHeaders: 0, responseBody: 0, responseBodyWire: 0, responseBodyDecoded: -1 });
const NO_TIMINGS: Request['timings'] = Object.freeze({ blocked: -1, dns: -1, connect: -1, ssl: -1, send: 0, wait: 0, receive: 0 });
/** The `http1` of a slim request whose response was close-delimited (the only HTTP/1 fact kept). */
const CLOSE_DELIMITED: Http1RequestFacts = Object.freeze({ closeDelimited: true as const });
const NO_STATS = Object.freeze({ packets: 0, frameBytes: 0, payloadBytes: 0, deliveredBytes: 0, retransmissions: 0, outOfOrder: 0, lostBytes: 0, zeroWindow: 0, truncatedSegments: 0 });

export interface MergedReads {
  requestHeaders: Set<string>;
  responseHeaders: Set<string>;
  requestH2: readonly string[];
  /** Some detector reads `request.http1.closeDelimited`. */
  closeDelimited: boolean;
  url: boolean;
  orderedConnectionH2: readonly string[];
}

export function mergeReads(all: readonly DetectorReads[]): MergedReads {
  return {
    requestHeaders: new Set(all.flatMap((r) => r.requestHeaders ?? [])),
    responseHeaders: new Set(all.flatMap((r) => r.responseHeaders ?? [])),
    requestH2: [...new Set(all.flatMap((r) => r.requestH2 ?? []))],
    closeDelimited: all.some((r) => r.requestHttp1?.includes('closeDelimited')),
    url: all.some((r) => r.url),
    orderedConnectionH2: [...new Set(all.flatMap((r) => r.orderedConnectionH2 ?? []))],
  };
}

/** Distinct strings kept by `own` (beyond it, strings are copied without being remembered). */
export const MAX_INTERNED_STRINGS = 50_000;

/**
 * Strings of a parsed record can be slices of a larger string (a whole header block): keeping
 * the slice keeps the block. Kept strings are copied once and shared (`own`), and so are kept
 * header lists with the same content (most requests of a client repeat them): one list, and one
 * entry in the detectors' parsed-token cache (util.ts `tokens`), for all of them.
 */
export class Strings {
  private readonly m = new Map<string, string>();
  /**
   * Shared lists by content: a trie over (name, value) pairs, walked with the strings as they come
   * (the HTTP/1 session hands out one string object per repeated name or value, whose hash V8 keeps),
   * so a repeated list costs lookups, not a key string; at most MAX_INTERNED_STRINGS nodes.
   */
  private readonly root: ListNode = { next: new Map(), list: undefined };
  private nodes = 0;
  own(s: string): string {
    if (s.length < 13) return s; // V8 copies short substrings anyway
    const k = this.m.get(s);
    if (k !== undefined) return k;
    const copy = JSON.parse(JSON.stringify(s)) as string;
    if (this.m.size < MAX_INTERNED_STRINGS) this.m.set(copy, copy);
    return copy;
  }
  /** A shared list equal to `hs` (read-only: detectors never change header lists). */
  list(hs: Header[]): Header[] {
    let node: ListNode | undefined = this.root;
    for (let i = 0; i < hs.length && node; i++) {
      const h = hs[i];
      let byValue = node.next.get(h.name);
      if (!byValue && this.nodes < MAX_INTERNED_STRINGS) node.next.set(h.name, (byValue = new Map()));
      let child: ListNode | undefined = byValue?.get(h.value);
      if (!child && byValue && this.nodes < MAX_INTERNED_STRINGS) {
        byValue.set(h.value, (child = { next: new Map(), list: undefined }));
        this.nodes++;
      }
      node = child;
    }
    if (node?.list) return node.list;
    const own = hs.map((h) => ({ name: this.own(h.name), value: this.own(h.value) }));
    if (node) node.list = own;
    return own;
  }

  /** Is header `name` one of `names` (lower case)? Remembered per set and name (at most MAX_INTERNED_STRINGS names a set). */
  keeps(name: string, names: Set<string>): boolean {
    let memo = this.kept.get(names);
    if (!memo) this.kept.set(names, (memo = new Map()));
    let k = memo.get(name);
    if (k === undefined) {
      k = names.has(name) || names.has(name.toLowerCase());
      if (memo.size < MAX_INTERNED_STRINGS) memo.set(name, k);
    }
    return k;
  }
  private readonly kept = new Map<Set<string>, Map<string, boolean>>();

  /** Does the (kept) header list name a Host or :authority? Remembered per list. */
  namesHost(hs: Header[]): boolean {
    if (!hs.length) return false;
    let k = this.hostIn.get(hs);
    if (k === undefined) this.hostIn.set(hs, (k = hs.some((h) => /^(host|:authority)$/i.test(h.name))));
    return k;
  }
  private readonly hostIn = new WeakMap<Header[], boolean>();
}

interface ListNode {
  next: Map<string, Map<string, ListNode>>;
  list: Header[] | undefined;
}

function keepHeaders(hs: Header[], names: Set<string>, strings: Strings): Header[] {
  let out: Header[] | undefined;
  for (const h of hs) {
    if (!strings.keeps(h.name, names)) continue;
    (out ??= []).push(h);
  }
  return out ? strings.list(out) : NO_HEADERS;
}

/** The parts of `o` at the given dotted paths (intermediate objects kept as present). */
export function pick(o: object | undefined, paths: readonly string[]): Record<string, unknown> | undefined {
  if (!o || !paths.length) return undefined;
  let out: Record<string, unknown> | undefined;
  for (const p of paths) {
    const keys = p.split('.');
    let src: unknown = o;
    let dst: Record<string, unknown> | undefined;
    for (let i = 0; i < keys.length; i++) {
      if (!src || typeof src !== 'object' || !(keys[i] in (src as object))) break;
      const v = (src as Record<string, unknown>)[keys[i]];
      out ??= {};
      dst ??= out;
      if (i === keys.length - 1 || !v || typeof v !== 'object') {
        dst[keys[i]] = v;
        break;
      }
      const next = (dst[keys[i]] ??= {}) as Record<string, unknown>;
      dst = next;
      src = v;
    }
  }
  return out;
}

/** A copy of `r` with only what the detectors read (sub-records shared, not copied). */
export function slimRequest(r: Request, reads: MergedReads, strings: Strings = new Strings()): Request {
  const f: unknown[] = [];
  const closeDelimited = slimRefs(r, reads, strings, f);
  return {
    id: r.id,
    connectionId: r.connectionId,
    index: r.index,
    streamId: r.streamId,
    method: f[0] as string,
    url: f[1] as string,
    target: f[2] as string,
    httpVersion: f[3] as string,
    status: r.status,
    statusText: '',
    requestHeaders: f[4] as Header[],
    responseHeaders: f[5] as Header[],
    informational: undefined,
    trailers: undefined,
    sizes: NO_SIZES,
    times: r.times,
    timings: NO_TIMINGS,
    pipelined: r.pipelined,
    connectionReused: r.connectionReused,
    pushed: r.pushed,
    state: r.state,
    packets: r.packets,
    lostBytes: r.lostBytes,
    anomalies: NO_ANOMALIES,
    upgrade: f[7] as string | undefined,
    h2: f[8] as H2RequestFacts | undefined,
    http1: closeDelimited ? CLOSE_DELIMITED : undefined,
    extra: undefined,
  };
}

/**
 * The references of a slim request (LOG_REFS of them: method, url, target, httpVersion, request
 * and response header lists, state, upgrade, h2) pushed onto `out`; true when its response was
 * close-delimited and a detector reads that. One definition for `slimRequest` and `RequestLog`.
 */
function slimRefs(r: Request, reads: MergedReads, strings: Strings, out: unknown[]): boolean {
  const requestHeaders = keepHeaders(r.requestHeaders, reads.requestHeaders, strings);
  const url = reads.url && !strings.namesHost(requestHeaders) ? strings.own(r.url) : '';
  out.push(strings.own(r.method), url, strings.own(r.target), r.httpVersion, requestHeaders, keepHeaders(r.responseHeaders, reads.responseHeaders, strings), r.state, r.upgrade, pick(r.h2, reads.requestH2));
  return reads.closeDelimited && r.http1?.closeDelimited === true;
}

/**
 * A copy of `c` for cross-connection state: no counters, anomalies, QUIC details, `extra`, nor `h2`
 * beyond `paths`; the keep-alive contract's per-exchange lists in a byte an exchange
 * (model/persist-log.ts `compactKeepAlive`: 24 bytes an exchange as arrays, for every connection a
 * window holds).
 */
export function slimConnection(c: Connection, paths: readonly string[]): Connection {
  const slim: Connection = { ...c, stats: { client: NO_STATS, server: NO_STATS }, anomalies: [], quic: undefined, h2: pick(c.h2, paths) as H2ConnectionFacts | undefined, extra: undefined };
  if (c.keepAlive) slim.keepAlive = compactKeepAlive(c.keepAlive);
  return slim;
}

/**
 * The slim requests of one connection, held column-wise until the connection completes: numbers in
 * one growing Float64Array, strings and shared sub-records in one array, STRIDE and REFS slots a
 * request (~250 bytes, against ~720 for a slim Request object with its times and packets records).
 * A connection open for the whole capture holds every request it carried until its end, so past
 * the driver's budget (MAX_DETECT_RESIDENT_REQUESTS over all logs) the rows go to a scratch file
 * in pages (`spill`, util/spill.ts): memory stays flat in the capture's size. The Request objects
 * are made again for each hand-out (`requests()`): all at once while nothing was spilled, else one
 * at a time as a detector reads them (a lazy list, keeping at most LAZY_ROWS_CACHED decoded rows
 * at a time), so a connection of a million requests is never a million objects at once.
 */
export class RequestLog {
  private num = new Float64Array(LOG_STRIDE * 4);
  private refs: unknown[] = [];
  /** Rows in memory (after the spilled ones). */
  private n = 0;
  private spilled = 0;
  private readonly pages: LogPage[] = [];
  /** Rows pushed in index order so far (ties allowed). */
  private inOrder = true;
  private lastIndex = -Infinity;

  constructor(readonly connectionId = 0) {}

  get length(): number {
    return this.spilled + this.n;
  }

  /** Rows held in memory. */
  get resident(): number {
    return this.n;
  }

  push(r: Request, reads: MergedReads, strings: Strings): void {
    this.num = grow(this.num, (this.n + 1) * LOG_STRIDE);
    if (r.index < this.lastIndex) this.inOrder = false;
    else this.lastIndex = r.index;
    const a = this.num;
    const o = this.n * LOG_STRIDE;
    const t = r.times;
    a[o] = r.id;
    a[o + 1] = r.index;
    a[o + 2] = r.streamId ?? NaN;
    a[o + 3] = r.status ?? NaN;
    // In TIME_KEYS order, written out (a keyed loop over the names was a megamorphic load each).
    a[o + 4] = t.queuedTime ?? NaN;
    a[o + 5] = t.dnsStartTime ?? NaN;
    a[o + 6] = t.dnsEndTime ?? NaN;
    a[o + 7] = t.connectStartTime ?? NaN;
    a[o + 8] = t.connectEndTime ?? NaN;
    a[o + 9] = t.sslStartTime ?? NaN;
    a[o + 10] = t.sslEndTime ?? NaN;
    a[o + 11] = t.requestStartTime ?? NaN;
    a[o + 12] = t.requestEndTime ?? NaN;
    a[o + 13] = t.responseStartTime ?? NaN;
    a[o + 14] = t.responseEndTime ?? NaN;
    const p = r.packets;
    a[o + 15] = p.request[0];
    a[o + 16] = p.request[1];
    a[o + 17] = p.response ? p.response[0] : NaN;
    a[o + 18] = p.response ? p.response[1] : NaN;
    a[o + 19] = r.lostBytes;
    const closeDelimited = slimRefs(r, reads, strings, this.refs);
    a[o + 20] = (r.pipelined ? 1 : 0) | (r.connectionReused ? 2 : 0) | (r.pushed === undefined ? 0 : r.pushed ? 4 : 8) | (closeDelimited ? 16 : 0);
    this.n++;
  }

  /**
   * Moves the rows in memory to `file`, LOG_PAGE_ROWS a page (numbers as they are, references as
   * JSON with shared header lists by number: `RefTable`). False when the file cannot take them
   * (they stay in memory).
   */
  spill(file: SpillFile, table: RefTable): boolean {
    for (let from = 0; from < this.n; from += LOG_PAGE_ROWS) {
      const rows = Math.min(LOG_PAGE_ROWS, this.n - from);
      const nums = new Uint8Array(this.num.buffer, from * LOG_STRIDE * 8, rows * LOG_STRIDE * 8);
      const ids = new Int32Array(rows * LOG_REFS);
      const extras = table.encode(this.refs, from * LOG_REFS, ids);
      const rest = extras.length ? Buffer.from(JSON.stringify(extras)) : EMPTY_BYTES;
      const offset = file.append(nums, new Uint8Array(ids.buffer), rest);
      if (offset === null) {
        // Keep what is left in memory (the rows before `from` are in the file, in pages already).
        if (from) {
          this.num = this.num.slice(from * LOG_STRIDE);
          this.refs = this.refs.slice(from * LOG_REFS);
          this.n -= from;
          this.spilled += from;
        }
        return false;
      }
      this.pages.push({ offset, first: this.spilled + from, rows, numBytes: nums.length, idBytes: ids.byteLength, restBytes: rest.length });
    }
    this.spilled += this.n;
    this.n = 0;
    this.num = new Float64Array(LOG_STRIDE * 64);
    this.refs = [];
    return true;
  }

  /**
   * Slim Request objects (as `slimRequest` makes them, with this log's connection id), in index
   * order, ties in arrival order. Nothing spilled: an array. Else a lazy list whose elements are
   * made as they are read (`file` and `table` are the ones `spill` was given); two reads of one
   * element give the same object while its page is among those decoded last (LAZY_ROWS_CACHED), else
   * equal ones.
   */
  requests(file?: SpillFile, table?: RefTable): readonly Request[] {
    if (!this.pages.length) {
      const out: Request[] = new Array(this.n);
      for (let i = 0; i < this.n; i++) out[i] = makeRequest(this.num, i * LOG_STRIDE, this.refs, i * LOG_REFS, this.connectionId);
      // Index order, ties in arrival (id) order: as `requestsByConnection`.
      if (!this.inOrder) out.sort((x, y) => x.index - y.index);
      return out;
    }
    // Decoded pages with the requests made from them so far: a request read twice while its page is
    // cached is one object (and made once).
    const cache = new Map<LogPage, { num: Float64Array; refs: unknown[]; made: (Request | undefined)[] }>();
    let cachedRows = 0;
    const pageOf = (row: number): LogPage => this.pages[firstIndex(0, this.pages.length, (k) => this.pages[k].first + this.pages[k].rows > row)];
    const decoded = (pg: LogPage) => {
      let d = cache.get(pg);
      if (d) {
        cache.delete(pg);
        cache.set(pg, d);
        return d;
      }
      // Read into a buffer of its own (offset 0): the numbers and reference numbers are viewed in place.
      const b = file!.read(pg.offset, pg.numBytes + pg.idBytes + pg.restBytes);
      const num = new Float64Array(b.buffer, b.byteOffset, pg.rows * LOG_STRIDE);
      const ids = new Int32Array(b.buffer, b.byteOffset + pg.numBytes, pg.rows * LOG_REFS);
      const extras = pg.restBytes ? (JSON.parse(b.toString('utf8', pg.numBytes + pg.idBytes)) as unknown[]) : [];
      d = { num, refs: table!.decode(ids, extras), made: new Array<Request | undefined>(pg.rows) };
      cache.set(pg, d);
      cachedRows += pg.rows;
      for (const [old] of cache) {
        if (cachedRows <= LAZY_ROWS_CACHED || old === pg) break;
        cache.delete(old);
        cachedRows -= old.rows;
      }
      return d;
    };
    const madeResident = new Array<Request | undefined>(this.n);
    const row = (i: number): Request => {
      if (i >= this.spilled) {
        const k = i - this.spilled;
        return (madeResident[k] ??= makeRequest(this.num, k * LOG_STRIDE, this.refs, k * LOG_REFS, this.connectionId));
      }
      const pg = pageOf(i);
      const d = decoded(pg);
      const k = i - pg.first;
      return (d.made[k] ??= makeRequest(d.num, k * LOG_STRIDE, d.refs, k * LOG_REFS, this.connectionId));
    };
    if (this.inOrder) return lazyList(this.length, row);
    // Index order, ties in arrival order: a permutation of the rows (4 bytes a request).
    const idx = new Float64Array(this.length);
    for (const pg of this.pages) {
      const d = decoded(pg);
      for (let k = 0; k < pg.rows; k++) idx[pg.first + k] = d.num[k * LOG_STRIDE + 1];
    }
    for (let k = 0; k < this.n; k++) idx[this.spilled + k] = this.num[k * LOG_STRIDE + 1];
    const order = Uint32Array.from({ length: this.length }, (_, i) => i).sort((x, y) => idx[x] - idx[y] || x - y);
    return lazyList(this.length, (i) => row(order[i]));
  }
}

/** Requests a page of a spilled RequestLog holds. */
export const LOG_PAGE_ROWS = 4096;
/**
 * Rows of decoded pages a lazy list keeps (LRU by page; pages are up to LOG_PAGE_ROWS, smaller when
 * the budget spilled a log early): a connection of up to this many spilled requests is decoded and
 * made once per hand-out, however many passes the detectors make over it; ~15 MB of records.
 */
const LAZY_ROWS_CACHED = 32_768;

interface LogPage {
  offset: number;
  /** Its first row in the log. */
  first: number;
  rows: number;
  /** Bytes of its numbers, of its reference numbers (Int32, RefTable), of the JSON of the rest. */
  numBytes: number;
  idBytes: number;
  restBytes: number;
}

const EMPTY_BYTES = new Uint8Array(0);
/** Longest string a RefTable keeps (longer ones are written whole each time). */
const MAX_REF_STRING = 256;

/**
 * Spilled references by number: the strings, header lists (`Strings.list`, shared) and other
 * records requests share, at most MAX_INTERNED_STRINGS of them, so that a list comes back as the
 * same object (the detectors' token cache is by list) and a page decodes without parsing; anything
 * else is written whole as JSON (its number is -1 - its place in the page's rest).
 */
export class RefTable {
  private readonly ids = new Map<unknown, number>([[undefined, 0]]);
  private readonly all: unknown[] = [undefined];

  /** Numbers for `refs[from ..]` into `out`; what has none, in order. */
  encode(refs: readonly unknown[], from: number, out: Int32Array): unknown[] {
    const rest: unknown[] = [];
    for (let i = 0; i < out.length; i++) {
      const v = refs[from + i];
      let id = this.ids.get(v);
      if (id === undefined && this.all.length < MAX_INTERNED_STRINGS && (typeof v !== 'string' || v.length <= MAX_REF_STRING) && (typeof v === 'string' || i % LOG_REFS === 4 || i % LOG_REFS === 5)) {
        id = this.all.length;
        this.ids.set(v, id);
        this.all.push(v);
      }
      if (id !== undefined) out[i] = id;
      else {
        out[i] = -1 - rest.length;
        rest.push(v);
      }
    }
    return rest;
  }

  decode(ids: Int32Array, rest: readonly unknown[]): unknown[] {
    const refs: unknown[] = new Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      refs[i] = id >= 0 ? this.all[id] : rest[-1 - id];
    }
    return refs;
  }
}

/**
 * A read-only array whose element i is `at(i)`, made when read (a Proxy over an empty array, so
 * Array.isArray, iteration and the Array.prototype methods the detectors use all work).
 */
function lazyList(n: number, at: (i: number) => Request): readonly Request[] {
  const isIndex = (p: string | symbol): boolean => typeof p === 'string' && p.length > 0 && p.charCodeAt(0) >= 48 && p.charCodeAt(0) <= 57 && String(+p >>> 0) === p;
  return new Proxy([] as Request[], {
    get(t, p, recv) {
      if (isIndex(p)) {
        const i = +(p as string);
        return i < n ? at(i) : undefined;
      }
      if (p === 'length') return n;
      return Reflect.get(t, p, recv) as unknown;
    },
    has(t, p) {
      return isIndex(p) ? +(p as string) < n : Reflect.has(t, p);
    },
    set() {
      return false;
    },
    deleteProperty() {
      return false;
    },
  });
}

const orNull = (v: number): number | null => (v === v ? v : null);

/** The slim Request of row `o` (numbers) / `q` (references). */
function makeRequest(a: Float64Array, o: number, f: readonly unknown[], q: number, connectionId: number): Request {
  // In TIME_KEYS order, as one literal (one hidden class for every request's times).
  const times: RequestTimes = {
    queuedTime: orNull(a[o + 4]),
    dnsStartTime: orNull(a[o + 5]),
    dnsEndTime: orNull(a[o + 6]),
    connectStartTime: orNull(a[o + 7]),
    connectEndTime: orNull(a[o + 8]),
    sslStartTime: orNull(a[o + 9]),
    sslEndTime: orNull(a[o + 10]),
    requestStartTime: a[o + 11],
    requestEndTime: orNull(a[o + 12]),
    responseStartTime: orNull(a[o + 13]),
    responseEndTime: orNull(a[o + 14]),
  };
  const flags = a[o + 20];
  const streamId = a[o + 2];
  const status = a[o + 3];
  return {
    id: a[o],
    connectionId,
    index: a[o + 1],
    streamId: Number.isNaN(streamId) ? undefined : streamId,
    method: f[q] as string,
    url: f[q + 1] as string,
    target: f[q + 2] as string,
    httpVersion: f[q + 3] as string,
    status: Number.isNaN(status) ? null : status,
    statusText: '',
    requestHeaders: f[q + 4] as Header[],
    responseHeaders: f[q + 5] as Header[],
    informational: undefined,
    trailers: undefined,
    sizes: NO_SIZES,
    times,
    timings: NO_TIMINGS,
    pipelined: (flags & 1) !== 0,
    connectionReused: (flags & 2) !== 0,
    pushed: flags & 4 ? true : flags & 8 ? false : undefined,
    state: f[q + 6] as Request['state'],
    packets: { request: [a[o + 15], a[o + 16]], response: Number.isNaN(a[o + 17]) ? null : [a[o + 17], a[o + 18]] },
    lostBytes: a[o + 19],
    anomalies: NO_ANOMALIES,
    upgrade: f[q + 7] as string | undefined,
    h2: f[q + 8] as H2RequestFacts | undefined,
    http1: flags & 16 ? CLOSE_DELIMITED : undefined,
    extra: undefined,
  };
}

const TIME_KEYS = [
  'queuedTime',
  'dnsStartTime',
  'dnsEndTime',
  'connectStartTime',
  'connectEndTime',
  'sslStartTime',
  'sslEndTime',
  'requestStartTime',
  'requestEndTime',
  'responseStartTime',
  'responseEndTime',
] as const satisfies readonly (keyof RequestTimes)[];
/**
 * Numbers a request (id, index, streamId, status, the times, packets, lostBytes, flags: pipelined 1,
 * connectionReused 2, pushed 4 / not pushed 8, http1.closeDelimited 16).
 */
const LOG_STRIDE = 4 + TIME_KEYS.length + 4 + 2;
/** References a request (method, url, target, httpVersion, header lists, state, upgrade, h2). */
const LOG_REFS = 9;

interface Held {
  c: Connection;
  reqs: readonly Request[] | RequestLog;
  at: number;
  /** Records it stands for (with no `onOrdered` detector, only its place is held, for the watermark). */
  n: number;
}

/** Held connections in order of opening: (open time, id). */
const openOrder = (x: Held, y: Held): boolean => x.at < y.at || (x.at === y.at && x.c.id < y.c.id);

export interface StreamMember {
  name: string;
  reads: DetectorReads;
  detector: StreamingDetector;
}

/** The driver: see the file comment for the call order. */
export class DetectStream {
  private readonly reads: MergedReads;
  private readonly strings = new Strings();
  /** Requests of connections not complete yet: a column-wise log when slim, else the records. */
  private readonly pending = new Map<number, Request[] | RequestLog>();
  /** Logs with rows in memory, those rows in all, and where rows go past the budget. */
  private readonly logs = new Set<RequestLog>();
  private resident = 0;
  private readonly spill = new SpillFile();
  private readonly table = new RefTable();
  private readonly order = new Heap<Held>(openOrder);
  private held = 0;
  /** (open time, id) of the last connection released to `onOrdered`. */
  private releasedAt = -Infinity;
  private releasedId = -1;
  private readonly ordered: StreamingDetector[];
  private finished = false;
  private handing = -1;
  /**
   * The requests made for the last connection handed out, until the next watermark: released to
   * `onOrdered` before then (at the capture's end each connection is: engine.ts analyzeStream),
   * it reads the same records instead of making them again (detectors never change records).
   */
  private lastHanded: { log: RequestLog; reqs: readonly Request[] } | null = null;

  /** The connection being handed to `onConnection` now; -1 at any other moment. */
  get handingOut(): number {
    return this.handing;
  }
  /** The last watermark and request floor given (the floor never goes back). */
  private watermarkAt = -Infinity;
  private floorAt = -Infinity;

  constructor(
    private readonly members: readonly StreamMember[],
    private readonly ctx: StreamContext,
    /** Slim copies of the records (streaming); false: the records as given (a whole report). */
    private readonly slim: boolean,
  ) {
    this.reads = mergeReads(members.map((m) => m.reads));
    this.ordered = members.map((m) => m.detector).filter((d) => d.onOrdered);
  }

  request(r: Request): void {
    if (!this.members.length) return;
    let l = this.pending.get(r.connectionId);
    if (l === undefined) this.pending.set(r.connectionId, (l = this.slim ? new RequestLog(r.connectionId) : []));
    if (l instanceof RequestLog) {
      l.push(r, this.reads, this.strings);
      this.logs.add(l);
      if (++this.resident > (this.ctx.limits?.resident ?? MAX_DETECT_RESIDENT_REQUESTS) && this.ctx.bounded) this.spillSome();
    } else l.push(r);
  }

  /**
   * Over the budget: the logs with the most rows in memory go to the scratch file until half the
   * budget is left (a file that cannot be written: counted once as `detectSpillFailed`, and the
   * rows stay in memory — bounded then only by the capture).
   */
  private spillSome(): void {
    if (this.spill.failed) return;
    const budget = this.ctx.limits?.resident ?? MAX_DETECT_RESIDENT_REQUESTS;
    const byRows = [...this.logs].sort((x, y) => y.resident - x.resident);
    for (const l of byRows) {
      if (this.resident <= budget / 2) break;
      const before = l.resident;
      if (!l.spill(this.spill, this.table)) {
        this.ctx.count('detectSpillFailed');
        this.resident -= before - l.resident;
        return;
      }
      this.resident -= before;
      this.logs.delete(l);
      this.ctx.count('detectRequestsSpilled', before);
    }
  }

  /** A log no longer held: its rows leave the budget. */
  private dropLog(l: readonly Request[] | RequestLog | undefined): void {
    if (!(l instanceof RequestLog)) return;
    if (this.logs.delete(l)) this.resident -= l.resident;
  }

  /** The requests held for `c`, as Request records in index order (ties in arrival order). */
  private requestsOf(held: Request[] | RequestLog | undefined): readonly Request[] {
    if (held === undefined) return [];
    if (held instanceof RequestLog) return held.requests(this.spill, this.table);
    // Index order, ties in arrival (id) order: as `requestsByConnection`.
    for (let i = 1; i < held.length; i++) {
      if (held[i - 1].index > held[i].index) {
        held.sort((a, b) => a.index - b.index);
        break;
      }
    }
    return held;
  }

  connection(c: Connection): void {
    const log = this.pending.get(c.id);
    this.pending.delete(c.id);
    const reqs = this.requestsOf(log);
    this.handing = c.id;
    try {
      for (const m of this.members) m.detector.onConnection?.(c, reqs);
    } finally {
      this.handing = -1;
    }
    this.lastHanded = log instanceof RequestLog ? { log, reqs } : null;
    if (!this.members.length) return;
    const at = openTime(c);
    if (at < this.releasedAt || (at === this.releasedAt && c.id < this.releasedId)) this.ctx.count('detectLateConnections');
    // Without an `onOrdered` detector only the place is held: the windows of the others (relay
    // legs, retries) follow the watermark, which the early release below keeps moving.
    // A log's requests count in the resident budget (past it they are on disk), not here.
    const n = 1 + (log instanceof RequestLog && this.ctx.bounded ? 0 : reqs.length);
    // Held for `onOrdered` in the log's compact form (its records are made again on release).
    if (this.ordered.length) this.order.push({ c: this.slim ? slimConnection(c, this.reads.orderedConnectionH2) : c, reqs: log instanceof RequestLog ? log : reqs, at, n });
    else {
      this.order.push({ c: { id: c.id } as Connection, reqs: [], at, n });
      this.dropLog(log);
    }
    this.held += n;
    const max = this.ctx.limits?.pending ?? MAX_DETECT_PENDING_RECORDS;
    if (this.ctx.bounded && this.held > max) {
      let n = 0;
      while (this.held > max * 0.9 && this.order.size) {
        this.release(this.order.pop()!);
        n++;
      }
      this.ctx.count('detectWatermarkForced', n);
      const w = Math.max(this.releasedAt, this.watermarkAt);
      for (const d of this.members) d.detector.onWatermark?.(w, Math.max(w, this.floorAt));
    }
  }

  /** Connections plus requests held for `onOrdered` now. */
  get heldRecords(): number {
    return this.held;
  }

  /** Request records the detectors keep now, by detector (those that say: `held`). */
  detectorsHeld(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const m of this.members) if (m.detector.held) out[m.name] = m.detector.held();
    return out;
  }

  private release(h: Held): void {
    this.held -= h.n;
    if (h.at > this.releasedAt || (h.at === this.releasedAt && h.c.id > this.releasedId)) {
      this.releasedAt = h.at;
      this.releasedId = h.c.id;
    }
    const reqs = h.reqs instanceof RequestLog ? (this.lastHanded?.log === h.reqs ? this.lastHanded.reqs : this.requestsOf(h.reqs)) : h.reqs;
    for (const d of this.ordered) d.onOrdered!(h.c, reqs);
    this.dropLog(h.reqs);
  }

  /** See StreamHandlers.onWatermark (engine.ts); `requestFloor` defaults to `t`. */
  watermark(t: number, requestFloor = t): void {
    // After an early release, the detectors' clock does not go back.
    const w = Math.max(t, this.releasedAt);
    this.watermarkAt = w;
    this.floorAt = Math.max(this.floorAt, requestFloor, w);
    while (this.order.size && this.order.peek()!.at < w) this.release(this.order.pop()!);
    this.lastHanded = null;
    for (const m of this.members) m.detector.onWatermark?.(w, this.floorAt);
  }

  finish(): void {
    if (this.finished) return;
    this.finished = true;
    // Requests whose connection never came (cannot happen with the engine; a report may lack it).
    for (const held of this.pending.values()) {
      if (held.length) this.ctx.count('detectRequestsWithoutConnection', held.length);
      this.dropLog(held);
    }
    this.pending.clear();
    while (this.order.size) this.release(this.order.pop()!);
    for (const m of this.members) m.detector.onWatermark?.(Infinity, Infinity);
    for (const m of this.members) m.detector.finish?.();
    this.spill.close();
  }

  /** Lets the scratch file go without judging (a run that failed or was stopped); `finish` does it too. */
  close(): void {
    this.spill.close();
  }
}

/** Feed a whole report through streaming detectors: connections in id order, requests before them. */
export function driveReport(report: Pick<Report, 'connections' | 'requests'>, members: readonly StreamMember[]): void {
  const s = new DetectStream(members, { count: () => {}, bounded: false }, false);
  for (const r of report.requests) s.request(r);
  const conns = [...report.connections].sort((a, b) => a.id - b.id);
  for (const c of conns) s.connection(c);
  s.finish();
}

/**
 * A whole-report detector run once at the end over the connections `keep` selects and their
 * requests, kept (as given to `onConnection`) up to MAX_DETECT_FALLBACK_RECORDS; past it nothing
 * is kept and the detector is skipped, counted as `detectFallbackSkipped`.
 */
export function fallback(
  detect: (report: Report) => Finding[],
  keep: (c: Connection) => boolean,
  emit: FindingSink,
  ctx: StreamContext,
  connectionH2: readonly string[],
): StreamingDetector {
  let conns: Connection[] = [];
  let reqs: Request[] = [];
  let over = false;
  return {
    onConnection(c, requests) {
      if (over || !keep(c)) return;
      conns.push(ctx.bounded ? slimConnection(c, connectionH2) : c);
      for (const r of requests) reqs.push(r);
      if (ctx.bounded && conns.length + reqs.length > (ctx.limits?.fallback ?? MAX_DETECT_FALLBACK_RECORDS)) {
        over = true;
        conns = [];
        reqs = [];
        ctx.count('detectFallbackSkipped');
      }
    },
    finish() {
      if (over) return;
      conns.sort((a, b) => a.id - b.id);
      reqs.sort((a, b) => a.id - b.id);
      const report = { wirefall: '', capture: undefined as unknown as Report['capture'], connections: conns, requests: reqs, findings: [] };
      for (const f of detect(report)) emit(f);
      conns = [];
      reqs = [];
    },
  };
}

const REPORT_CONTEXT: StreamContext = { count: () => {}, bounded: false };

/**
 * A DetectorDef from its streaming form: `detect(report)` drives it over the report. (Here, not in
 * index.ts, which imports every detector module: the modules call this while they load.)
 */
export function defineDetector(d: Omit<DetectorDef, 'detect'>): DetectorDef {
  return {
    ...d,
    detect(report, opts) {
      const out: Finding[] = [];
      driveReport(report, [{ name: d.name, reads: d.reads, detector: d.stream(opts, (f) => out.push(f), REPORT_CONTEXT) }]);
      return out;
    },
  };
}
