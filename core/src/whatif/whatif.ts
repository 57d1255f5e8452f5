/**
 * What-if: how long the capture's HTTP traffic would have taken under another connection policy,
 * replayed on the capture's own measurements (issue 16, part 1). A pure function of the Report
 * (`whatIf`), or of its records pushed one by one (`WhatIfCollector`, for the NDJSON stream: it
 * keeps a slim copy of what the replay reads, within named limits).
 *
 * Signature. Requests are grouped by client address and origin (server address and port, the SNI
 * over TLS — `originKey` — and, over cleartext, the Host of the connection's first request). TCP
 * connections only (QUIC is left out), and only requests that are visible (TLS without keys shows
 * no requests). In each group the requests are replayed in the order the client wanted them: a
 * request's *need time* is its connection's SYN for the first request on a connection, else its
 * first request byte. Its *predecessor* is the group's request whose response ended last at or
 * before that need time; the client's *think time* is the gap between the two, kept as measured.
 * A request without a predecessor (the first, or one issued in parallel before any response) is
 * kept at its measured need time. Then, on the replayed timeline:
 *
 *   estimated need   = estimated end of the predecessor + think time
 *   estimated start  = estimated need + setup, where setup is the measured SYN → first request
 *                      byte for the first request of a connection that is still opened (TCP + TLS
 *                      handshake as measured), and that minus the handshake (`handshakeCost`) when
 *                      the request reuses a simulated connection; 0 for later requests
 *   estimated end    = estimated start + measured request start → response end, minus the slow
 *                      start penalty when a cold connection's first response goes over a warm one
 *
 * Policies:
 *   - `reuse`: each measured connection, when its first request is needed, takes a simulated
 *     connection of its group that is idle then (HTTP/1.x: no exchange in flight; HTTP/2: any),
 *     else opens one. Those that take an idle one are the avoided connections: no TCP (and TLS)
 *     handshake, a warm congestion window.
 *   - `h2` (HTTP/1.x origins only): one multiplexed connection per group: every connection after
 *     the group's first is avoided, and no request waits for a busy connection.
 *   - `keepalive-timeout` (`keepaliveTimeout` in the Report): the server's idle timeout raised to
 *     N s (`keepaliveTimeoutS`, default WHATIF_KEEPALIVE_TIMEOUT_S). Only the closes the server
 *     made for idleness go away: a connection P had a *server idle close* when
 *       - the server closed first: its FIN/RST was the connection's first, or over TLS its
 *         close_notify (or an alert that could not be decrypted) came before any close of the
 *         client's (a client-side capture sees the client's FIN answer the server's close_notify
 *         before the server's own FIN arrives, so the first FIN alone would name the client);
 *       - after an idle: at least WHATIF_IDLE_CLOSE_MS (missed-reuse's `idleCloseMs`) from its
 *         last response end, or the close matched an advertised `Keep-Alive: timeout`
 *         (`close.reason` 'idle-timeout', http1/keepalive.ts decideCloseReason);
 *       - and for no other reason: every exchange complete, the last response persistent
 *         (`keepAlive.reusableAfter`), and `close.reason` none of connection-close-header,
 *         max-requests, http10-no-keepalive, close-delimited-body (decideCloseReason decides those
 *         before it looks at idleness).
 *     Had the server waited N s, P would have stayed open: a measured connection Q of the group
 *     opened after P's close takes P's simulated connection when Q's first request is needed
 *     within N s of P's last (estimated) response end, as `reuse` would. Closes by the client
 *     (its own idle timeout, no pool, `Connection: close`) and every other close stay.
 *
 * Cost model. Handshakes at their measured times (`handshakeCost`: TCP SYN → ACK + TLS ClientHello
 * → handshake end). Slow start (RFC 5681 §3.1, initial window 10 segments, RFC 6928): a cold
 * connection delivers S bytes in k = ceil(log2(S / (10 × MSS) + 1)) round trips, a warm one in
 * one, so a reused connection saves (k − 1) × RTT on its first response, RTT being the group's
 * smallest measured TCP handshake and MSS 1460 bytes; never more than that response's measured
 * receiving time. A connection idle longer than a retransmission timeout restarts slow start
 * (RFC 5681 §4.1; Linux `tcp_slow_start_after_idle`, on by default, with an RTO of about RTT +
 * 200 ms): reused after an idle longer than RTT + WHATIF_RTO_MIN_MS, it saves no slow start — so
 * `keepalive-timeout`, whose reuses all follow an idle the server found long, saves handshakes only.
 *
 * Measured / estimated end-to-end time: from the first need time (first SYN) to the last response
 * end of the requests covered, per group and over all groups.
 *
 * Where it can be wrong (repeated in each estimate's `assumptions`):
 *  - A gap before a request is taken as client think time that a faster timeline keeps; a request
 *    that really waited for a free connection in a pool, or for something outside the capture
 *    (another origin, DNS, a new process), is shifted by its predecessor's saving as if it
 *    depended on it.
 *  - The server's wait and the transfer times are kept as measured: a server that is slower
 *    under more concurrency (h2), or faster on a warm connection, is not modelled.
 *  - Slow start is modelled from sizes and the handshake RTT only (no loss, no pacing, MSS 1460,
 *    initial window 10, restart after idle at RTT + 200 ms); HTTP/2 transfers that share one
 *    connection are not slowed by sharing.
 *  - The capture point: near the server, handshakes under-count the client's round trip.
 *  - `reuse` and `h2`: a simulated connection stays reusable while idle up to `maxIdleMs` (10 s,
 *    missed-reuse's reuse window), whatever the server's idle timeout was: a server that closes
 *    sooner (its Keep-Alive timeout) would have cost the handshake anyway.
 *  - `keepalive-timeout`: the client is taken to use an idle connection it still has (it did, up
 *    to the server's close); a client whose own idle timeout is shorter than the gap closes it
 *    anyway. A server close after an idle is taken for its idle timeout, not a restart or a
 *    per-connection limit it did not announce. A raised timeout keeps more idle connections open
 *    on the server: not priced.
 *  - Requests without a response end (incomplete, reset) are kept at their measured times and
 *    lower the confidence (the share of requests placed from measured times).
 *  - A client's connections to other origins are replayed apart: a loop that alternates between
 *    two origins keeps the other origin's time as think time.
 *
 * Cost: O(n log n) in the requests (one sort and a few heaps per client and origin); the
 * per-origin rows kept are capped at MAX_WHATIF_ORIGINS, largest saving first. The streaming
 * collector keeps 32 bytes per request (in a scratch file until `finish`) and about 330 per TCP
 * connection in memory, up to
 * MAX_WHATIF_STREAM_REQUESTS and MAX_WHATIF_STREAM_CONNECTIONS for NDJSON and up to
 * MAX_WHATIF_JSON_REQUESTS and MAX_WHATIF_JSON_CONNECTIONS for the streamed `--format json` (then it
 * gives no estimate).
 */
import type { CloseReason, Connection, Report, Request, WhatIf, WhatIfEstimate, WhatIfHandshakes, WhatIfOrigin, WhatIfPolicy } from '../model/types.js';

export type { WhatIf, WhatIfEstimate, WhatIfHandshakes, WhatIfOrigin, WhatIfPolicy };
import { fmtMs, hostOf, isHttp1, originKey, originLabel } from '../detect/util.js';
import { MinHeap } from '../util/heap.js';
import { sortIndices } from '../util/sort.js';
import { SpillFile } from '../util/spill.js';
import { grow } from '../util/grow.js';

/** Per-origin rows kept in each estimate, largest saving first; the rest are counted in `originsOmitted`. */
export const MAX_WHATIF_ORIGINS = 500;
/** Assumed maximum segment size (bytes) and initial congestion window (segments, RFC 6928). */
export const WHATIF_MSS = 1460;
export const WHATIF_INITIAL_WINDOW = 10;
/** How long a simulated connection stays reusable when idle: missed-reuse's `reuseWindowMs` default. */
export const WHATIF_MAX_IDLE_MS = 10_000;
/**
 * `keepalive-timeout`'s default N (seconds): missed-reuse's reuse window, the idle `reuse` already
 * allows — so the policy asks "which of reuse's savings does the server's idle timeout account
 * for" — and between common server defaults (Apache and Node.js 5 s, nginx 75 s).
 */
export const WHATIF_KEEPALIVE_TIMEOUT_S = WHATIF_MAX_IDLE_MS / 1000;
/** A server close at least this long after the last response is an idle close: missed-reuse's `idleCloseMs`. */
export const WHATIF_IDLE_CLOSE_MS = 500;
/** Linux's minimum retransmission timeout (TCP_RTO_MIN): idle beyond RTT + this restarts slow start. */
export const WHATIF_RTO_MIN_MS = 200;
/** Requests the streaming collector keeps (32 bytes each, 8 MB in all, read back into memory at the end); beyond, it gives no estimate. */
export const MAX_WHATIF_STREAM_REQUESTS = 250_000;
/** TCP connections the streaming collector keeps (about 300 bytes each, 30 MB in all); beyond, no estimate. */
export const MAX_WHATIF_STREAM_CONNECTIONS = 100_000;
/**
 * Requests the collector keeps for the streamed `--format json` (cli/json-spill.ts), which has the
 * estimate wherever the Report held in memory (~3 KB a request: 893 MB peak for 302,720 requests)
 * could have had it. Cost: 32 bytes a request kept (64 MB at the limit; in a scratch file until
 * `finish()` reads them back), and while `finish()` replays them about 30 bytes a request more in typed arrays (`prepare`, shared by the policies; 60
 * MB at the limit): 0.47 s for 302,720 requests in one client and origin (it was 1.6 s and +73 MB
 * of RSS with arrays per policy and V8's sort), after the analysis has let go of its own memory. Beyond,
 * the report has no `whatIf` and capture.counters say how many records were not kept
 * (`whatIfRequestsNotKept`, `whatIfConnectionsNotKept`).
 */
export const MAX_WHATIF_JSON_REQUESTS = 2_000_000;
/** TCP connections kept for the streamed `--format json` (about 300 bytes each, 150 MB at the limit); as above. */
export const MAX_WHATIF_JSON_CONNECTIONS = 500_000;

export interface WhatIfOptions {
  /** Assumed MSS in bytes (default WHATIF_MSS). */
  mss?: number;
  /** Initial congestion window in segments (default WHATIF_INITIAL_WINDOW). */
  initialWindow?: number;
  /** `reuse`, `h2`: a simulated connection idle longer than this is not reused (default WHATIF_MAX_IDLE_MS). */
  maxIdleMs?: number;
  /** `keepalive-timeout`: the server's idle timeout raised to this many seconds (default WHATIF_KEEPALIVE_TIMEOUT_S). */
  keepaliveTimeoutS?: number;
}

const COMMON_ASSUMPTIONS = [
  'Server wait and transfer times are kept as measured; a gap before a request is client think time that the faster timeline keeps, and a request is taken to depend on the response that ended last before it.',
  'Requests with no response end (incomplete, reset) are kept at their measured times; TLS connections without keys show no requests and are not covered; QUIC is not covered.',
  'The handshake round trip is measured at the capture point: captured near the server, it under-counts the client’s.',
];

/** Closes decideCloseReason explains by something other than idleness (http1/keepalive.ts). */
const NOT_IDLE: ReadonlySet<CloseReason> = new Set<CloseReason>(['connection-close-header', 'max-requests', 'http10-no-keepalive', 'close-delimited-body', 'capture-end']);

/** What the replay reads of a connection: a slim copy (the NDJSON stream keeps these, not the records). */
interface WConn {
  id: number;
  client: string;
  serverIp: string;
  /** `originKey`; over cleartext the first request's Host is added to it when grouping. */
  key: string;
  label: string;
  tls: boolean;
  protocol: string;
  http1: boolean;
  startSeen: boolean;
  /** SYN, else first packet. */
  open: number;
  tcpMs: number;
  /** TLS ClientHello → handshake end, when seen on the connection; else the first request's ssl phase counts. */
  tlsMs: number | null;
  /** When the server started closing, if it closed first (FIN/RST, or TLS close_notify); else null. */
  serverCloseAt: number | null;
  closeReason: CloseReason;
  /** The last response kept the connection persistent (`keepAlive.reusableAfter`; true without HTTP/1 facts). */
  lastReusable: boolean;
}

/**
 * What the replay reads of the requests, column-wise, 32 bytes a request (60 before: six doubles
 * and three integers; 80 when the integers were doubles too). A request's times are whole
 * microseconds (the engine makes them so, model/micros.ts), so its request start is kept as µs in
 * a Float64Array and its request end, response start and response end as µs after it in a
 * Uint32Array (NONE for null), with its id, its connection's and its index; a row whose times do
 * not come back exactly that way (a time not in whole µs, a delta past 2^32 µs ≈ 71 minutes, a
 * response before its request) keeps its four times as doubles beside the table (`exact`, flagged
 * in its index word), so every time reads back as the record had it. The replay reads a
 * connection's ssl phase and response size only for its first request (the lowest index, first
 * pushed among equals: `groupsOf` sorts a connection's rows stably by index), so those are kept per
 * connection (`heads`), not per request; and the Host a connection's first request named (index 1
 * only). The replay reads rows by index and keeps its per-request state in typed arrays, so no
 * object is made per request: on 302,720 requests `finish()` grew RSS by 73 MB, against 240 MB with
 * an object per request and per item (and 2.1 s against 1.6 s). Rows are kept in chunks of
 * TABLE_CHUNK_ROWS: a table that doubled (and copied) as it grew held up to twice what it used, and
 * both copies while growing (84 MB committed for 605,440 requests, 126 MB while it grew).
 * Measured on the request-heavy bench capture at 2x (605,440 requests, json): 36 MB of table at 60
 * bytes a row, 19 MB at 32. Exported for its tests.
 */
export class ReqTable {
  private readonly starts: Float64Array[] = [];
  private readonly ints: Uint32Array[] = [];
  /** Per chunk, where it lies in `spill` (-1: in memory). */
  private readonly spilledAt: number[] = [];
  /** Chunks in the spill file now (`load` reads them back). */
  private outside = 0;
  /** The spill file could not be written: every chunk stayed in memory. */
  spillFailed = false;
  /** Rows whose times are kept as doubles (EXACT in their index word): request start, request end, response start, response end. */
  private readonly exact = new Map<number, Float64Array>();
  /** Per connection id, its first request's index, ssl phase (ms, 0 unknown) and response bytes: a slot of three in `headVals`. */
  private readonly heads = new Map<number, number>();
  private headVals = new Float64Array(3 * 64);
  n = 0;
  readonly hosts = new Map<number, string>();

  /**
   * `spill`: each chunk, once full, goes to this scratch file (util/spill.ts) and leaves memory
   * until `load` (the streaming collector, `WhatIfCollector`: the table is read only at the end, so
   * it needs no memory while the capture is analysed). Rows are not readable between a spill and
   * `load`.
   */
  constructor(private readonly spill?: SpillFile) {}

  push(r: Request): void {
    const k = this.n & (TABLE_CHUNK_ROWS - 1);
    if (k === 0) {
      if (this.spill && this.starts.length > 0) this.putAway(this.starts.length - 1);
      this.spilledAt.push(-1);
      this.starts.push(new Float64Array(TABLE_CHUNK_ROWS));
      this.ints.push(new Uint32Array(TABLE_CHUNK_ROWS * IROW));
    }
    // Ids count records and the index requests on a connection: far below 2^32 (and 2^30) in any
    // capture the engine can hold; a value that is not would be stored wrong, so it is refused.
    if (!(r.id <= 0xffff_ffff && r.connectionId <= 0xffff_ffff && r.index < INDEX_EXACT)) throw new RangeError(`what-if: request ${r.id} of connection ${r.connectionId} (index ${r.index}) is out of the table's range`);
    const t = r.times;
    const s = Math.round(t.requestStartTime * 1000);
    const reqEnd = delta(t.requestEndTime, s);
    const respStart = delta(t.responseStartTime, s);
    const respEnd = delta(t.responseEndTime, s);
    const io = k * IROW;
    const b = this.ints[this.ints.length - 1];
    let index = r.index + (r.state === 'complete' ? INDEX_COMPLETE : 0);
    if (s / 1000 !== t.requestStartTime || reqEnd < 0 || respStart < 0 || respEnd < 0) {
      index += INDEX_EXACT;
      this.exact.set(this.n, Float64Array.of(t.requestStartTime, t.requestEndTime ?? NaN, t.responseStartTime ?? NaN, t.responseEndTime ?? NaN));
    } else {
      this.starts[this.starts.length - 1][k] = s;
      b[io + I_REQ_END] = reqEnd;
      b[io + I_RESP_START] = respStart;
      b[io + I_RESP_END] = respEnd;
    }
    b[io + I_ID] = r.id;
    b[io + I_CONN] = r.connectionId;
    b[io + I_INDEX] = index;
    this.head(r);
    // Only a connection's first request names its cleartext origin (groupsOf).
    if (r.index === 1) {
      const h = hostOf(r);
      if (h !== null) this.hosts.set(this.n, h);
    }
    this.n++;
  }

  /** Chunk j (full) to the spill file; it stays in memory when the file cannot be written. */
  private putAway(j: number): void {
    if (this.spillFailed) return;
    const s = this.starts[j];
    const b = this.ints[j];
    const at = this.spill!.append(new Uint8Array(s.buffer, s.byteOffset, s.byteLength), new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
    if (at === null) {
      this.spillFailed = true;
      return;
    }
    this.spilledAt[j] = at;
    this.starts[j] = SPILLED_F64;
    this.ints[j] = SPILLED_U32;
    this.outside++;
  }

  /** Brings every spilled chunk back into memory: rows are readable again. */
  load(): void {
    if (this.outside === 0) return;
    const startBytes = TABLE_CHUNK_ROWS * Float64Array.BYTES_PER_ELEMENT;
    const intBytes = TABLE_CHUNK_ROWS * IROW * Uint32Array.BYTES_PER_ELEMENT;
    for (let j = 0; j < this.spilledAt.length; j++) {
      const at = this.spilledAt[j];
      if (at < 0) continue;
      // A buffer of its own (byteOffset 0): the views below are aligned.
      const buf = this.spill!.read(at, startBytes + intBytes);
      this.starts[j] = new Float64Array(buf.buffer, 0, TABLE_CHUNK_ROWS);
      this.ints[j] = new Uint32Array(buf.buffer, startBytes, TABLE_CHUNK_ROWS * IROW);
      this.spilledAt[j] = -1;
    }
    this.outside = 0;
  }

  /** Keeps r's ssl phase and response size if it is its connection's first request so far (lowest index, first pushed among equals). */
  private head(r: Request): void {
    let slot = this.heads.get(r.connectionId);
    if (slot === undefined) {
      slot = this.heads.size;
      this.heads.set(r.connectionId, slot);
      this.headVals = grow(this.headVals, 3 * (slot + 1));
    } else if (!(r.index < this.headVals[3 * slot])) return;
    const t = r.times;
    const v = this.headVals;
    v[3 * slot] = r.index;
    // ssl phase of the request (its connection's TLS handshake when the connection did not time it), 0 unknown.
    v[3 * slot + 1] = t.sslStartTime !== null && t.sslEndTime !== null && t.sslEndTime > t.sslStartTime ? t.sslEndTime - t.sslStartTime : 0;
    v[3 * slot + 2] = r.sizes.responseBody + r.sizes.responseHeaders;
  }

  /** Row i's time in column `col` (T_…; null as NaN). */
  time(i: number, col: number): number {
    const b = this.ints[i >>> TABLE_CHUNK_BITS];
    const io = (i & (TABLE_CHUNK_ROWS - 1)) * IROW;
    if (b[io + I_INDEX] & INDEX_EXACT) return this.exact.get(i)![col];
    const s = this.starts[i >>> TABLE_CHUNK_BITS][i & (TABLE_CHUNK_ROWS - 1)];
    if (col === T_REQ_START) return s / 1000;
    const d = b[io + col];
    return d === NONE ? NaN : (s + d) / 1000;
  }

  /** The ssl phase (ms, 0 unknown) of the first request of connection `id` (the lowest index pushed). */
  headSsl(id: number): number {
    return this.headVals[3 * this.heads.get(id)! + 1];
  }

  /** Response body + headers (bytes) of the first request of connection `id`. */
  headBytes(id: number): number {
    return this.headVals[3 * this.heads.get(id)! + 2];
  }

  private int(i: number, col: number): number {
    return this.ints[i >>> TABLE_CHUNK_BITS][(i & (TABLE_CHUNK_ROWS - 1)) * IROW + col];
  }

  id(i: number): number {
    return this.int(i, I_ID);
  }

  conn(i: number): number {
    return this.int(i, I_CONN);
  }

  index(i: number): number {
    return this.int(i, I_INDEX) % INDEX_EXACT;
  }

  /** The request's state is 'complete'. */
  complete(i: number): boolean {
    return this.int(i, I_INDEX) >= INDEX_COMPLETE;
  }
}

/** `time` (whole µs) as µs after the request start `s` (µs); NONE for null; -1 when it does not fit or would not read back exactly. */
function delta(time: number | null, s: number): number {
  if (time === null) return NONE;
  const x = Math.round(time * 1000);
  const d = x - s;
  return x / 1000 === time && d >= 0 && d < NONE ? d : -1;
}

/** Rows a chunk of the replay's table holds (2^TABLE_CHUNK_BITS: 0.5 MB a chunk). */
const TABLE_CHUNK_BITS = 14;
const TABLE_CHUNK_ROWS = 1 << TABLE_CHUNK_BITS;
/** A null time in the table. */
const NONE = 0xffff_ffff;
/** A chunk's place while it is in the spill file. */
const SPILLED_F64 = new Float64Array(0);
const SPILLED_U32 = new Uint32Array(0);

/** Times `ReqTable.time` reads (T_REQ_START from the doubles, the others µs after it, at their I_ column). */
export const T_REQ_START = 0;
export const T_REQ_END = 1;
export const T_RESP_START = 2;
export const T_RESP_END = 3;
/** Integers kept per request (a Uint32Array row): three times, its id, its connection's, its index there. */
const IROW = 6;
const I_REQ_END = T_REQ_END;
const I_RESP_START = T_RESP_START;
const I_RESP_END = T_RESP_END;
const I_ID = 4;
const I_CONN = 5;
/** The index, plus INDEX_EXACT when the row's times are in `exact`, plus INDEX_COMPLETE when the request's state is 'complete'. */
const I_INDEX = 0;
const INDEX_EXACT = 2 ** 30;
const INDEX_COMPLETE = 2 ** 31;

function slimConn(c: Connection): WConn | null {
  if (c.transport === 'quic') return null;
  const tls = c.tls;
  const tlsMs = tls && tls.clientHelloTime !== null && tls.handshakeEndTime !== null && tls.handshakeEndTime > tls.clientHelloTime ? tls.handshakeEndTime - tls.clientHelloTime : null;
  // Who started closing: the first FIN/RST, unless a TLS alert of the other side came before it.
  let server = c.close.by === 'server' && c.close.time !== null ? c.close.time : Infinity;
  let client = c.close.by === 'client' && c.close.time !== null ? c.close.time : Infinity;
  for (const a of tls?.alerts ?? []) {
    if (a.description !== null && a.description !== 'close_notify') continue;
    if (a.side === 'server') server = Math.min(server, a.time);
    else client = Math.min(client, a.time);
  }
  return {
    id: c.id,
    client: c.client.ip,
    serverIp: c.server.ip,
    key: originKey(c),
    label: originLabel(c),
    tls: !!tls,
    protocol: c.protocol,
    http1: isHttp1(c),
    startSeen: c.startSeen,
    open: c.synTime ?? c.firstTime,
    tcpMs: c.handshakeRttMs > 0 ? c.handshakeRttMs : 0,
    tlsMs,
    serverCloseAt: server < client ? server : null,
    closeReason: c.close.reason,
    lastReusable: c.keepAlive ? (c.keepAlive.reusableAfter.at(-1) ?? false) : true,
  };
}

/** A measured connection as the replay sees it. */
interface GConn {
  c: WConn;
  /** TCP + TLS handshake as measured (`handshakeCost` of the connection and its first request). */
  handshakeMs: number;
  requests: number;
  /** Its server idle close (see `keepalive-timeout`): when, and the idle before it; null when none. */
  idleClose: { at: number; idleMs: number } | null;
}

interface Group {
  client: string;
  origin: string;
  protocol: string;
  http1: boolean;
  conns: GConn[];
  /** The table and the group's rows in it: its connections in order, each one's requests by index. */
  table: ReqTable;
  reqs: Uint32Array;
}

function groupsOf(conns: Iterable<WConn>, table: ReqTable): Group[] {
  // Rows by connection, in the order they were pushed: a counting sort into one array (no array
  // per connection), each connection's rows at [start, start + count).
  const slotOf = new Map<number, number>();
  const counts: number[] = [];
  for (let i = 0; i < table.n; i++) {
    const id = table.conn(i);
    const k = slotOf.get(id);
    if (k === undefined) {
      slotOf.set(id, counts.length);
      counts.push(1);
    } else counts[k]++;
  }
  const starts = new Float64Array(counts.length + 1);
  for (let k = 0; k < counts.length; k++) starts[k + 1] = starts[k] + counts[k];
  const byConn = new Uint32Array(table.n);
  const fill = starts.slice(0, counts.length);
  for (let i = 0; i < table.n; i++) byConn[fill[slotOf.get(table.conn(i))!]++] = i;
  const byIndex = (a: number, b: number) => table.index(a) - table.index(b);

  const groups = new Map<string, Group & { parts: Uint32Array[]; n: number }>();
  for (const c of conns) {
    const k = slotOf.get(c.id);
    if (k === undefined) continue;
    const reqs = byConn.subarray(starts[k], starts[k + 1]);
    // Usually pushed in index order already; else sorted (stable, as the rows' order breaks ties).
    let sorted = true;
    for (let i = 1; i < reqs.length && sorted; i++) sorted = byIndex(reqs[i - 1], reqs[i]) <= 0;
    if (!sorted) reqs.sort(byIndex);
    const host = c.tls ? null : (table.hosts.get(reqs[0]) ?? null);
    const key = `${c.key}${host ? ` host:${host}` : ''}`;
    let g = groups.get(key);
    if (!g) {
      // Cleartext: "host (ip:port)" when the Host names something other than the address itself.
      const origin = host && host !== c.serverIp.toLowerCase() && `[${host}]` !== c.serverIp ? `${host} (${c.label})` : c.label;
      g = { client: c.client, origin, protocol: c.protocol, http1: true, conns: [], table, reqs: EMPTY_ROWS, parts: [], n: 0 };
      groups.set(key, g);
    }
    if (!c.http1) g.http1 = false;
    if (g.protocol !== c.protocol) g.protocol = 'mixed';
    g.parts.push(reqs);
    g.n += reqs.length;
    let lastEnd = -Infinity;
    let complete = true;
    for (const r of reqs) {
      const end = table.time(r, T_RESP_END);
      if (!table.complete(r) || Number.isNaN(end)) complete = false;
      else lastEnd = Math.max(lastEnd, end);
    }
    let idleClose: GConn['idleClose'] = null;
    if (c.serverCloseAt !== null && complete && c.lastReusable && !NOT_IDLE.has(c.closeReason)) {
      const idleMs = c.serverCloseAt - lastEnd;
      if (idleMs >= WHATIF_IDLE_CLOSE_MS || (c.closeReason === 'idle-timeout' && idleMs >= 0)) idleClose = { at: c.serverCloseAt, idleMs };
    }
    g.conns.push({ c, handshakeMs: c.tcpMs + (c.tlsMs ?? table.headSsl(c.id)), requests: reqs.length, idleClose });
  }
  const out: Group[] = [];
  for (const g of groups.values()) {
    const reqs = g.parts.length === 1 ? g.parts[0] : new Uint32Array(g.n);
    if (g.parts.length > 1) {
      let o = 0;
      for (const part of g.parts) {
        reqs.set(part, o);
        o += part.length;
      }
    }
    out.push({ client: g.client, origin: g.origin, protocol: g.protocol, http1: g.http1, conns: g.conns, table, reqs });
  }
  return out;
}

const EMPTY_ROWS = new Uint32Array(0);

/**
 * What every policy's replay of a group reads, made once per group: for each position k in the
 * group's rows, its connection (an index into `g.conns`), whether it is its connection's first
 * request, and its need time; the positions in need order (`items`); the group's RTT; and
 * `estEndOf`, which each policy fills before it reads it. Typed arrays, 25 bytes a request (with
 * the rows by connection of `groupsOf`, 29).
 */
interface Prepared {
  g: Group;
  gcOf: Uint32Array;
  needOf: Float64Array;
  firstOf: Uint8Array;
  items: Uint32Array;
  estEndOf: Float64Array;
  /** The group's smallest measured TCP handshake (ms); -1 when none. */
  rttMs: number;
}

function prepare(g: Group): Prepared {
  const t = g.table;
  const m = g.reqs.length;
  const rowOf = g.reqs;
  const connIndex = new Map(g.conns.map((c, i) => [c.c.id, i]));
  let rtt = Infinity;
  for (const c of g.conns) if (c.c.tcpMs > 0) rtt = Math.min(rtt, c.c.tcpMs);
  // Requests by need time; the first of each connection needs it at its SYN.
  const gcOf = new Uint32Array(m);
  const needOf = new Float64Array(m);
  const firstOf = new Uint8Array(m);
  const seen = new Uint8Array(g.conns.length);
  for (let k = 0; k < m; k++) {
    const row = rowOf[k];
    const ci = connIndex.get(t.conn(row))!;
    const first = seen[ci] === 0;
    seen[ci] = 1;
    const c = g.conns[ci].c;
    const start = t.time(row, T_REQ_START);
    gcOf[k] = ci;
    firstOf[k] = first ? 1 : 0;
    needOf[k] = first && c.startSeen ? Math.min(c.open, start) : start;
  }
  const items = new Uint32Array(m);
  for (let k = 0; k < m; k++) items[k] = k;
  // A total order (request ids are unique), so the in-place sort gives what any sort would.
  sortIndices(items, (a, b) => needOf[a] - needOf[b] || t.time(rowOf[a], T_REQ_START) - t.time(rowOf[b], T_REQ_START) || t.id(rowOf[a]) - t.id(rowOf[b]));
  return { g, gcOf, needOf, firstOf, items, estEndOf: new Float64Array(m), rttMs: rtt === Infinity ? -1 : rtt };
}

interface SimConn {
  busyUntil: number;
  /** It has an entry in the idle heap (one at most: see `replay`). */
  queued: boolean;
}

/** k − 1 round trips a warm connection saves over a cold one for a response of `bytes`. */
export function slowStartExtraRtts(bytes: number, mss = WHATIF_MSS, iw = WHATIF_INITIAL_WINDOW): number {
  if (!(bytes > 0)) return 0;
  const k = Math.ceil(Math.log2(bytes / (iw * mss) + 1));
  return Math.max(0, k - 1);
}

interface GroupResult {
  row: WhatIfOrigin;
  startMeasured: number;
  endMeasured: number;
  startEstimated: number;
  endEstimated: number;
  placed: number;
  /** keepalive-timeout: server idle closes, those that no longer happen, the longest gap bridged (+ RTT). */
  idleCloses: number;
  idleClosesAvoided: number;
  longestBridgedMs: number;
}

function replay(p: Prepared, policy: WhatIfPolicy, opts: WhatIfOptions): GroupResult {
  const g = p.g;
  const mss = opts.mss ?? WHATIF_MSS;
  const iw = opts.initialWindow ?? WHATIF_INITIAL_WINDOW;
  const rttMs = p.rttMs;
  const multiplexed = policy === 'h2' || !g.http1;
  const keepalive = policy === 'keepalive-timeout';
  const maxIdle = keepalive ? 1000 * (opts.keepaliveTimeoutS ?? WHATIF_KEEPALIVE_TIMEOUT_S) : (opts.maxIdleMs ?? WHATIF_MAX_IDLE_MS);
  /** Idle after which a reused connection has restarted slow start (RFC 5681 §4.1). */
  const restartMs = (rttMs > 0 ? rttMs : 0) + WHATIF_RTO_MIN_MS;

  // An item is a position k in the group's rows: its row, connection, need, end (NaN: none) and
  // estimated end (`prepare`).
  const t = g.table;
  const rowOf = g.reqs;
  const { gcOf, needOf, firstOf, items, estEndOf } = p;
  const endOf = (k: number): number => t.time(rowOf[k], T_RESP_END);

  const done = new MinHeap<number>(endOf);
  let pred = -1;
  const simOf = new Map<number, SimConn>();
  // Idle simulated connections by when they became idle: one entry per connection at most, whose
  // time may lag behind a later use (`busyUntil` only grows): such an entry moves to the new time
  // when it reaches the top. An entry per exchange instead held one object per request.
  const idle = new MinHeap<{ at: number; s: SimConn }>((x) => x.at);
  const queue = (s: SimConn, at: number) => {
    if (s.queued) return;
    s.queued = true;
    idle.push({ at, s });
  };
  // keepalive-timeout: connections the server closed for idleness, until the client's need passes their close.
  const closing = new MinHeap<{ closeAt: number; at: number; s: SimConn }>((x) => x.closeAt);
  const left = new Map(g.conns.map((c) => [c.c.id, c.requests]));
  let single: SimConn | null = null;
  const avoided: WhatIfHandshakes = { tcp: 0, tls: 0, ms: 0 };
  let estConns = 0;
  let placed = 0;
  let startM = Infinity;
  let endM = -Infinity;
  let startE = Infinity;
  let endE = -Infinity;
  let thinkMs = 0;
  let idleCloses = 0;
  let idleClosesAvoided = 0;
  let longestBridgedMs = 0;
  for (const c of g.conns) if (c.idleClose) idleCloses++;

  for (const it of items) {
    const row = rowOf[it];
    const gc = g.conns[gcOf[it]];
    const c = gc.c;
    const need = needOf[it];
    const end = endOf(it);
    const requestStart = t.time(row, T_REQ_START);
    while (done.size && endOf(done.peek()!) <= need) {
      const d = done.pop()!;
      if (pred < 0 || endOf(d) >= endOf(pred)) pred = d;
    }
    // A connection the server closed before this need: with the longer timeout, still open and idle.
    while (closing.size && closing.peek()!.closeAt <= need) {
      const x = closing.pop()!;
      queue(x.s, x.at);
    }
    startM = Math.min(startM, need);
    if (Number.isNaN(end)) {
      // Not placed: kept at its measured times.
      const requestEnd = t.time(row, T_REQ_END);
      estEndOf[it] = Number.isNaN(requestEnd) ? requestStart : requestEnd;
      startE = Math.min(startE, need);
      endM = Math.max(endM, estEndOf[it]);
      endE = Math.max(endE, estEndOf[it]);
      if (firstOf[it]) {
        const s: SimConn = { busyUntil: Infinity, queued: false };
        simOf.set(c.id, s);
        estConns++;
      }
      left.set(c.id, left.get(c.id)! - 1);
      continue;
    }
    placed++;
    endM = Math.max(endM, end);
    const estNeed = pred >= 0 ? Math.min(need, estEndOf[pred] + (need - endOf(pred))) : need;
    if (pred >= 0) thinkMs += need - endOf(pred);
    let sim: SimConn | undefined;
    let setup = 0;
    let ssSaving = 0;
    if (firstOf[it]) {
      const measuredSetup = Math.max(0, requestStart - need);
      let idleFor = 0;
      if (policy === 'h2') {
        if (single && estNeed - single.busyUntil <= maxIdle) {
          sim = single;
          idleFor = estNeed - single.busyUntil;
        }
      } else {
        while (idle.size) {
          const top = idle.peek()!;
          // Used since it was queued: it is idle from its last use on.
          if (top.at !== top.s.busyUntil) {
            idle.pop();
            top.at = top.s.busyUntil;
            idle.push(top);
            continue;
          }
          // Idle too long to be kept: never again (unless its own connection uses it again).
          if (estNeed - top.at > maxIdle) {
            idle.pop();
            top.s.queued = false;
            continue;
          }
          if (multiplexed || top.at <= estNeed) {
            sim = top.s;
            idleFor = estNeed - top.at;
            idle.pop();
            sim.queued = false;
            if (keepalive) {
              idleClosesAvoided++;
              longestBridgedMs = Math.max(longestBridgedMs, idleFor + (rttMs > 0 ? rttMs : 0));
            }
          }
          break;
        }
      }
      if (sim) {
        avoided.tcp++;
        if (c.tls) avoided.tls++;
        avoided.ms += gc.handshakeMs;
        setup = Math.max(0, measuredSetup - gc.handshakeMs);
        const responseStart = t.time(row, T_RESP_START);
        const recv = !Number.isNaN(responseStart) ? Math.max(0, end - responseStart) : 0;
        if (rttMs > 0 && idleFor <= restartMs) ssSaving = Math.min(recv, slowStartExtraRtts(t.headBytes(c.id), mss, iw) * rttMs);
      } else {
        sim = { busyUntil: -Infinity, queued: false };
        estConns++;
        if (policy === 'h2') single = sim;
        setup = measuredSetup;
      }
      simOf.set(c.id, sim);
    } else sim = simOf.get(c.id)!;
    let estStart = estNeed + setup;
    if (!multiplexed && sim.busyUntil > estStart) estStart = sim.busyUntil;
    const dur = Math.max(0, end - requestStart - ssSaving);
    // Never later than measured: the replay only removes work.
    const estEnd = (estEndOf[it] = Math.min(end, estStart + dur));
    startE = Math.min(startE, estNeed);
    endE = Math.max(endE, estEnd);
    if (multiplexed) sim.busyUntil = Math.max(sim.busyUntil === -Infinity ? estEnd : sim.busyUntil, estEnd);
    else sim.busyUntil = estEnd;
    if (policy === 'reuse') queue(sim, sim.busyUntil);
    const rest = left.get(c.id)! - 1;
    left.set(c.id, rest);
    // The measured connection's last exchange: a server idle close no longer happens under keepalive-timeout.
    if (keepalive && rest === 0 && gc.idleClose) closing.push({ closeAt: gc.idleClose.at, at: sim.busyUntil, s: sim });
    done.push(it);
  }
  const measuredMs = Math.max(0, endM - startM);
  const estimatedMs = Math.min(measuredMs, Math.max(0, endE - startE));
  const row: WhatIfOrigin = {
    client: g.client,
    origin: g.origin,
    protocol: g.protocol,
    requests: g.reqs.length,
    connections: g.conns.length,
    estimatedConnections: estConns,
    handshakesAvoided: { ...avoided, ms: round(avoided.ms) },
    rttMs: rttMs < 0 ? -1 : round(rttMs),
    startTime: round(startM),
    measuredMs: round(measuredMs),
    estimatedMs: round(estimatedMs),
    savedMs: round(measuredMs - estimatedMs),
    unplacedRequests: g.reqs.length - placed,
    thinkMs: round(thinkMs),
  };
  return { row, startMeasured: startM, endMeasured: endM, startEstimated: startE, endEstimated: endE, placed, idleCloses, idleClosesAvoided, longestBridgedMs };
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/** The assumptions every estimate of `policy` makes (those a capture raises are added to them). */
function generalAssumptions(policy: WhatIfPolicy, opts: WhatIfOptions): string[] {
  const maxIdle = opts.maxIdleMs ?? WHATIF_MAX_IDLE_MS;
  const n = opts.keepaliveTimeoutS ?? WHATIF_KEEPALIVE_TIMEOUT_S;
  const head =
    policy === 'reuse'
      ? `reuse: a connection is avoided when a connection of its client and origin is idle (HTTP/1.x: no exchange in flight) when its first request is needed; it then skips its TCP and TLS handshakes as measured, and a connection stays reusable while idle up to ${maxIdle} ms (missed-reuse’s reuse window), whatever idle timeout the server had.`
      : policy === 'h2'
        ? `h2: each HTTP/1.x client and origin uses one multiplexed connection (a new one only after ${maxIdle} ms idle): every other connection is avoided and no request waits for a busy connection; transfers that would share the connection are not slowed by sharing it, and a server slower under more concurrency is not modelled.`
        : `keepalive-timeout: the server’s idle timeout raised to ${n} s. A connection the server closed after at least ${WHATIF_IDLE_CLOSE_MS} ms idle (its FIN/RST first, or its TLS close_notify before the client’s; not after Connection: close, a request limit, HTTP/1.0 or a body delimited by the close) stays open, and the client’s next connection to the origin, opened after that close, uses it instead when needed within ${n} s of its last response: no TCP and TLS handshakes. The client’s own closes stay; it is taken to use an idle connection it still has, as it did until the server closed it.`;
  const list = [
    head,
    `Slow start: a cold connection delivers a response of S bytes in ceil(log2(S / (${opts.initialWindow ?? WHATIF_INITIAL_WINDOW} × ${opts.mss ?? WHATIF_MSS} B) + 1)) round trips, a warm one in one; the difference, at the origin's smallest TCP handshake time, is saved on a reused connection’s first response (never more than its measured receiving time), unless the connection was idle longer than a retransmission timeout (RTT + ${WHATIF_RTO_MIN_MS} ms), after which slow start restarts (RFC 5681 §4.1). No loss, no pacing.`,
    ...COMMON_ASSUMPTIONS,
  ];
  if (policy === 'h2') list.push('A request that waited for a free connection in the pool cannot be told from one that depended on the previous response: it keeps its measured gap, so the saving from lifting the pool limit is a floor.');
  if (policy === 'keepalive-timeout') list.push('A server close after an idle is taken for its idle timeout (not a restart, or a limit it did not announce); the memory and sockets a longer timeout holds on the server are not priced.');
  return list;
}

/** General assumptions with the default options, per policy: the table shows only the others, those a capture raised. */
export const WHATIF_GENERAL_ASSUMPTIONS: Readonly<Record<WhatIfPolicy, readonly string[]>> = {
  reuse: generalAssumptions('reuse', {}),
  h2: generalAssumptions('h2', {}),
  'keepalive-timeout': generalAssumptions('keepalive-timeout', {}),
};

/** One policy's estimate from its replay of each group (in group order). */
function estimate(results: GroupResult[], policy: WhatIfPolicy, opts: WhatIfOptions): WhatIfEstimate {
  let sM = Infinity;
  let eM = -Infinity;
  let sE = Infinity;
  let eE = -Infinity;
  let placed = 0;
  let requests = 0;
  let connections = 0;
  let estimatedConnections = 0;
  let idleCloses = 0;
  let idleClosesAvoided = 0;
  let longestBridgedMs = 0;
  const avoided: WhatIfHandshakes = { tcp: 0, tls: 0, ms: 0 };
  for (const x of results) {
    sM = Math.min(sM, x.startMeasured);
    eM = Math.max(eM, x.endMeasured);
    sE = Math.min(sE, x.startEstimated);
    eE = Math.max(eE, x.endEstimated);
    placed += x.placed;
    requests += x.row.requests;
    connections += x.row.connections;
    estimatedConnections += x.row.estimatedConnections;
    avoided.tcp += x.row.handshakesAvoided.tcp;
    avoided.tls += x.row.handshakesAvoided.tls;
    avoided.ms += x.row.handshakesAvoided.ms;
    idleCloses += x.idleCloses;
    idleClosesAvoided += x.idleClosesAvoided;
    longestBridgedMs = Math.max(longestBridgedMs, x.longestBridgedMs);
  }
  const measuredMs = results.length ? Math.max(0, eM - sM) : 0;
  const estimatedMs = results.length ? Math.min(measuredMs, Math.max(0, eE - sE)) : 0;
  const rows = results.map((x) => x.row).sort((a, b) => b.savedMs - a.savedMs || a.startTime - b.startTime);
  const assumptions = generalAssumptions(policy, opts);
  const think = rows.reduce((a, x) => a + x.thinkMs, 0);
  if (estimatedMs > 0 && think > 0.05 * estimatedMs) {
    assumptions.push(
      `${fmtMs(think)} of the estimate (${Math.round((100 * think) / estimatedMs)}%) are gaps between a response and the client's next request, kept as think time: they cannot be told apart from work a fixed client would not repeat (a new process or a new pool per request), so where they are, the saving is a floor.`,
    );
  }
  if (placed < requests) assumptions.push(`${requests - placed} of ${requests} requests have no response end (incomplete, reset) and are kept at their measured times.`);
  const e: WhatIfEstimate = {
    policy,
    measuredMs: round(measuredMs),
    estimatedMs: round(estimatedMs),
    savedMs: round(measuredMs - estimatedMs),
    savedPct: measuredMs > 0 ? round((100 * (measuredMs - estimatedMs)) / measuredMs) : 0,
    confidence: requests ? round(placed / requests) : 0,
    requests,
    connections,
    estimatedConnections,
    handshakesAvoided: { ...avoided, ms: round(avoided.ms) },
    assumptions,
    perOrigin: rows.slice(0, MAX_WHATIF_ORIGINS),
    originsOmitted: Math.max(0, rows.length - MAX_WHATIF_ORIGINS),
  };
  if (policy === 'keepalive-timeout') {
    const n = opts.keepaliveTimeoutS ?? WHATIF_KEEPALIVE_TIMEOUT_S;
    const sufficient = idleClosesAvoided ? Math.max(1, Math.ceil(longestBridgedMs / 1000)) : null;
    e.keepaliveTimeoutS = n;
    e.serverIdleCloses = idleCloses;
    e.serverIdleClosesAvoided = idleClosesAvoided;
    e.sufficientTimeoutS = sufficient;
  }
  return e;
}


/**
 * Collects what the what-if replay needs from records pushed one by one, in any order (a request
 * may come before or after its connection): the NDJSON stream's way to an estimate without the
 * Report. A request is kept as one row of numbers (32 bytes, see below; the Host only for a connection's first
 * request), a TCP connection as a slim record (about 300 bytes). Past `maxRequests`
 * (MAX_WHATIF_STREAM_REQUESTS) requests or `maxConnections` (MAX_WHATIF_STREAM_CONNECTIONS) TCP
 * connections it keeps no more, counts what it dropped (`droppedRequests`, `droppedConnections`),
 * and `finish` returns null: an estimate over part of a capture would not be the capture's.
 *
 * The request rows wait in a scratch file (`ReqTable`'s spill, util/spill.ts) until `finish`: the
 * replay reads them only then, and held in memory they grew the streamed `--format json`'s peak
 * with the capture (19 MB at the end hand-out of the request-heavy bench capture at 2x, 605,440
 * requests). A file that cannot be written keeps them in memory (`spillFailed`). `close` (or
 * `finish`) lets the file go.
 */
export class WhatIfCollector {
  /** What is kept, until a limit drops a record: then nothing more is (the estimate is null). */
  private conns: Map<number, WConn> | null = new Map();
  private readonly spill = new SpillFile();
  private table: ReqTable | null = new ReqTable(this.spill);
  private keptRequests = 0;
  private keptConnections = 0;
  /** Requests and TCP connections not kept because a limit was reached. */
  droppedRequests = 0;
  droppedConnections = 0;
  constructor(
    private readonly maxRequests = MAX_WHATIF_STREAM_REQUESTS,
    private readonly maxConnections = MAX_WHATIF_STREAM_CONNECTIONS,
  ) {}

  connection(c: Connection): void {
    if (c.transport === 'quic') return;
    if (this.keptConnections >= this.maxConnections) {
      this.droppedConnections++;
      this.release();
      return;
    }
    this.keptConnections++;
    const w = slimConn(c);
    if (w) this.conns?.set(c.id, w);
  }

  request(r: Request): void {
    if (this.keptRequests >= this.maxRequests) {
      this.droppedRequests++;
      this.release();
      return;
    }
    this.keptRequests++;
    this.table?.push(r);
  }

  /** Request rows held now (0 once a limit was reached): how tests see the release. */
  held(): number {
    return this.table?.n ?? 0;
  }

  /** A record was dropped, so there will be no estimate: what was kept is let go (NDJSON: 15 MB at the request limit). */
  private release(): void {
    this.spillFailed = this.table?.spillFailed ?? this.spillFailed;
    this.conns = null;
    this.table = null;
    this.spill.close();
  }

  /** The scratch file could not be written: the rows were kept in memory (counted as `whatIfSpillFailed`). */
  spillFailed = false;

  /** The estimates of everything pushed (see `whatIf`); null when records were dropped at a limit. Lets the scratch file go. */
  finish(opts: WhatIfOptions = {}): WhatIf | null {
    const table = this.table;
    if (this.droppedRequests || this.droppedConnections || !this.conns || !table) {
      this.close();
      return null;
    }
    this.spillFailed = table.spillFailed;
    table.load();
    this.spill.close();
    const conns = [...this.conns.values()].sort((x, y) => x.id - y.id);
    return estimates(groupsOf(conns, table), opts);
  }

  /** Lets the scratch file go (idempotent): for a run that ends without `finish`. */
  close(): void {
    this.release();
  }
}

function estimates(groups: Group[], opts: WhatIfOptions): WhatIf {
  // Group by group, every policy over one preparation (`h2` for HTTP/1.x groups only): one set of
  // per-request arrays alive at a time.
  const reuse: GroupResult[] = [];
  const h2: GroupResult[] = [];
  const keepalive: GroupResult[] = [];
  for (const g of groups) {
    const p = prepare(g);
    reuse.push(replay(p, 'reuse', opts));
    if (g.http1) h2.push(replay(p, 'h2', opts));
    keepalive.push(replay(p, 'keepalive-timeout', opts));
  }
  return {
    reuse: estimate(reuse, 'reuse', opts),
    h2: estimate(h2, 'h2', opts),
    keepaliveTimeout: estimate(keepalive, 'keepalive-timeout', opts),
  };
}

/** The what-if estimates of a report (see the module comment). */
export function whatIf(report: Pick<Report, 'connections' | 'requests'>, opts: WhatIfOptions = {}): WhatIf {
  const table = new ReqTable();
  for (const r of report.requests) table.push(r);
  const conns: WConn[] = [];
  for (const c of report.connections) {
    const w = slimConn(c);
    if (w) conns.push(w);
  }
  return estimates(groupsOf(conns, table), opts);
}
