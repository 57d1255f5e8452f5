/**
 * The analysis pipeline, push-based from file to model:
 *
 *   readCapture ─► link layer ─► IpDecoder (fragments) ─► TcpTable (connections, reassembly)
 *     ─► per-connection protocol sniffing ─► [TlsSession (key log)] ─► Http1Session / Http2Session
 *     ─► ExchangeSink ─► model
 *
 * Capture time is the only clock: all times are ms since the capture's first packet.
 * `analyzeFile` returns the whole Report; `analyzeStream` hands records out as they complete
 * (connections when finished, requests when complete) so NDJSON output runs in bounded memory.
 */
import { readCapture, type ReadOptions } from './capture/reader.js';
import { IpDecoder, PROTO_TCP, PROTO_UDP, type L4Packet } from './capture/ip.js';
import { isSupportedLinkType, linkTypeName, networkOffset, NOT_IP, TRUNCATED, UNSUPPORTED } from './capture/link.js';
import type { IfaceDesc, RawPacket, RecordSink } from './capture/records.js';
import { CancelledError, UnsupportedLinkTypeError, type WirefallError } from './errors.js';
import { DnsTracker } from './dns/tracker.js';
import { harTimings } from './model/phases.js';
import type { ExchangeSink, RequestDraft } from './model/exchange.js';
import type {
  H2ConnectionFacts,
  Anomaly,
  AppProtocol,
  CaptureInfo,
  CloseReason,
  Connection,
  Finding,
  InterfaceInfo,
  KeepAliveContract,
  Report,
  Request,
  TlsInfo,
  WhatIf,
} from './model/types.js';
import { createSession, type DetectSink, type SessionContext } from './protocols.js';
import { KeyLog } from './tls/keylog.js';
import { decideCloseReason, firstEndOf, type HttpCloseFacts } from './http1/keepalive.js';
import { TcpTable, type TcpConnection } from './tcp/table.js';
import { createQuicTable, QUIC_CONNECTION_ID_BASE, type QuicTable } from './quic/index.js';
import { MinHeap } from './util/heap.js';
import { MarkBudget, MAX_MARK_RECORDS_TOTAL } from './tcp/marks.js';
import { VERSION } from './version.js';
import { groupFindings } from './view/finding-groups.js';
import { microsInPlace } from './model/micros.js';

export interface AnalyzeOptions {
  signal?: AbortSignal;
  /** Progress in bytes of the stored file, plus running counts. */
  onProgress?: (p: AnalyzeProgress) => void;
  /** Minimum gap without payload recorded as an idle period (ms). */
  idleGapMs?: number;
  /**
   * Keep packet-level evidence for drawing: per TCP direction in `Connection.packetMarks` (tcp/marks.ts:
   * data arrival runs, retransmitted or out-of-order segments) and per HTTP/2 stream in
   * `request.h2.dataRuns` (h2-data-marks.ts); bounded per direction and by one budget for the capture
   * (MAX_MARK_RECORDS_TOTAL, counted as `packetMarksBudgetSpent` when spent). The view asks for it.
   */
  packetMarks?: boolean;
  /** Classic-pcap decoder: the pcap-parser package (default) or the built-in one (benchmarks). */
  classicParser?: ReadOptions['classicParser'];
  /** Bytes read from the file at a time (tests use small values to prove no view outlives its chunk). */
  chunkBytes?: number;
  /**
   * TLS key log (NSS format) for decryption; pcapng Decryption Secrets Blocks are added to it
   * as they are read. Absent: a fresh one per capture, filled only from the capture's DSBs.
   */
  keyLog?: KeyLog;
}

export interface AnalyzeProgress {
  bytesRead: number;
  totalBytes: number;
  packets: number;
  connections: number;
  requests: number;
}

export interface StreamHandlers {
  onConnection?(c: Connection): void;
  onRequest?(r: Request): void;
  /**
   * After each chunk, and at the capture's end after each connection still open is handed out:
   * no connection handed out from now on had its first packet (or its SYN)
   * before `time` — the first packet of the oldest connection not yet handed out, at most the
   * last packet's time. Streaming detectors release state older than it (detect/stream.ts).
   * Assumes packets in time order: a capture that goes back in time can break the promise.
   *
   * `requestFloor` (≥ `time`): no request handed out from now on, nor the request before it on its
   * connection, started before it (Engine.requestFloor) — what per-request state may be dropped
   * below while a connection open since the capture began holds `time` back.
   */
  onWatermark?(time: number, requestFloor: number): void;
}

export interface StreamResult {
  capture: CaptureInfo;
  connections: number;
  requests: number;
}

/** Per-connection application-layer facts, collected through the ExchangeSink. */
class ConnectionApp implements ExchangeSink {
  proto: AppProtocol = 'none';
  keep?: () => KeepAliveContract;
  reason?: { reason: CloseReason; detail: string };
  httpClose?: HttpCloseFacts;
  facts?: Record<string, unknown>;
  h2Facts?: H2ConnectionFacts;
  tlsInfo?: TlsInfo;
  readonly anomalies: Anomaly[] = [];
  requestCount = 0;
  session: DetectSink | null = null;

  constructor(
    private readonly engine: Engine,
    readonly conn: TcpConnection,
  ) {}

  request(d: RequestDraft): void {
    this.requestCount++;
    this.engine.addRequest(this.conn, d);
  }
  protocol(p: AppProtocol): void {
    this.proto = p;
  }
  anomaly(a: Anomaly): void {
    if (this.anomalies.length < 1000) this.anomalies.push(a);
  }
  keepAlive(contract: () => KeepAliveContract): void {
    this.keep = contract;
  }
  closeReason(reason: CloseReason, detail: string): void {
    this.reason = { reason, detail };
    this.httpClose = undefined;
  }
  closeFacts(facts: HttpCloseFacts): void {
    this.httpClose = facts;
    this.reason = undefined;
  }
  extra(facts: Record<string, unknown>): void {
    this.facts = { ...this.facts, ...facts };
  }
  h2(facts: H2ConnectionFacts): void {
    this.h2Facts = facts;
  }
  tls(info: TlsInfo): void {
    this.tlsInfo = info;
  }
}

class Engine implements RecordSink {
  readonly counters: Record<string, number> = {};
  readonly interfaces: InterfaceInfo[] = [];
  private readonly ip: IpDecoder;
  readonly table: TcpTable;
  /** QUIC over UDP on any port (core/src/quic): its connections and requests join the same outputs. */
  readonly quic: QuicTable;
  private readonly dns = new DnsTracker({ count: (name, n) => this.count(name, n) });
  private readonly apps = new Map<number, ConnectionApp>();
  /**
   * Records waiting for their session's asynchronous work (zlib body decoding) before they are
   * handed out, and every record after them, in completion order (`handOut`); drained after every
   * chunk read, so it stays small.
   */
  private outbox: { session: DetectSink | null; emit: () => void }[] = [];
  private sec0 = -1;
  private ns0 = 0;
  packets = 0;
  lastTime = 0;
  requestsSeen = 0;
  private sinceFlush = 0;
  readonly keys: KeyLog;
  private readonly ctx: SessionContext;

  constructor(
    private readonly handlers: StreamHandlers,
    opts: AnalyzeOptions,
  ) {
    const count = (name: string, n = 1) => this.count(name, n);
    this.unfinished = handlers.onWatermark ? new Map() : null;
    this.keys = opts.keyLog ?? new KeyLog();
    // Packet-level evidence for drawing (tcp/marks.ts, h2-data-marks.ts), one budget for the capture.
    const markBudget = opts.packetMarks === true ? new MarkBudget(MAX_MARK_RECORDS_TOTAL, () => count('packetMarksBudgetSpent')) : null;
    this.ctx = { keys: this.keys, count, markBudget };
    this.ip = new IpDecoder((p) => this.l4(p), { count });
    this.table = new TcpTable(
      (c) => {
        const app = new ConnectionApp(this, c);
        this.apps.set(c.id, app);
        // The TCP byte stream as the sessions see it (tcp/stream.ts StreamInfo); the endpoints
        // are the connection's own objects, so a role swap before the first chunk is seen.
        app.session = createSession(
          { id: c.id, client: c.client, server: c.server, scheme: 'http', transport: 'tcp', startSeen: c.startSeen },
          app,
          this.ctx,
        );
        return app.session;
      },
      (c) => this.connectionDone(c),
      { count },
      { idleGapMs: opts.idleGapMs, markBudget },
    );
    this.quic = createQuicTable({
      count,
      keys: this.keys,
      request: (c, d) => this.addRequest(c, d),
      connection: (c) => this.handOut(null, () => this.handlers.onConnection?.(c)),
    });
  }

  count(name: string, n = 1): void {
    this.counters[name] = (this.counters[name] ?? 0) + n;
  }

  onInterface(index: number, iface: IfaceDesc): void {
    const supported = isSupportedLinkType(iface.linkType);
    this.interfaces[index] = {
      index,
      linkType: iface.linkType,
      linkTypeName: linkTypeName(iface.linkType),
      supported,
      packets: 0,
      snaplen: iface.snaplen,
      tsResolution: iface.tsResolution,
    };
  }

  onPacket(p: RawPacket): void {
    if (this.sec0 < 0) {
      this.sec0 = p.sec;
      this.ns0 = p.ns;
    }
    const time = (p.sec - this.sec0) * 1000 + (p.ns - this.ns0) / 1e6;
    this.packets = p.num;
    this.packetTime = time;
    if (time > this.lastTime) this.lastTime = time;
    const iface = this.interfaces[p.iface];
    if (iface) iface.packets++;
    if (p.caplen < p.origLen) this.count('snaplenTruncatedFrames');
    const off = networkOffset(p.linkType, p.data);
    if (off >= 0) this.ip.decode(p.data, off, p.num, time, p.origLen);
    else if (off === NOT_IP) this.count('nonIpFrames');
    else if (off === TRUNCATED) this.count('truncatedFrames');
    else if (off === UNSUPPORTED) this.count('unsupportedLinkTypeFrames');
    if (++this.sinceFlush >= 65536) {
      this.sinceFlush = 0;
      this.table.flushClosed(time);
      this.quic.flush(time);
    }
  }

  /** pcapng Decryption Secrets Block: type 'TLSK' (0x544c534b) holds NSS key log lines. */
  onSecrets(type: number, data: Uint8Array): void {
    if (type === DSB_TLS_KEY_LOG) {
      const st = this.keys.addText(data);
      this.count('tlsKeyLogLinesFromCapture', st.entries);
    } else this.count('pcapngSecretsUnsupportedType');
  }

  /**
   * Connections not handed out yet, by id → first packet time (only when a watermark is wanted),
   * in order of creation: the first is the oldest unless the capture went back in time; those
   * created earlier in time than one before them are also in `disordered`.
   */
  readonly unfinished: Map<number, number> | null;
  private readonly disordered = new MinHeap<{ id: number; t: number }>((e) => e.t);
  private lastOpen = -Infinity;
  packetTime = 0;
  /**
   * Transport packets can reach the connection table out of time order (a SYN held in IP
   * fragment reassembly, a capture merged out of order): the largest step back in time seen so
   * far is taken off the watermark, so a SYN that comes late still opens after it.
   */
  private l4Max = -Infinity;
  private l4Lag = 0;

  private opened(id: number, t: number): void {
    this.unfinished!.set(id, t);
    if (t < this.lastOpen) this.disordered.push({ id, t });
    else this.lastOpen = t;
    this.floors.push({ id, t });
  }

  /**
   * Per connection not handed out yet that has handed out requests: the end of the gap-free run of
   * indices handed out (1..index), that request's start, and the indices handed out beyond a gap
   * (`ahead`, at most MAX_FLOOR_AHEAD) — see `requestFloor`; `floors` holds (id, floor) entries, stale
   * ones (a later request moved the floor, or the connection was handed out) dropped lazily and
   * all rebuilt once they outnumber the open connections twice (so an idle connection under a
   * busy one cannot make it grow without bound).
   */
  private readonly lastRequest = new Map<number, { index: number; start: number; ahead?: Map<number, number> }>();
  private floors = new MinHeap<{ id: number; t: number }>((e) => e.t);

  private floorOf(id: number): number | undefined {
    const l = this.lastRequest.get(id);
    return l && l.index > 0 ? l.start : this.unfinished!.get(id);
  }

  /**
   * A request was handed out (watermarks wanted only). The floor follows the handed-out prefix of
   * the connection's indices: HTTP/2 and HTTP/3 hand streams out as they complete, not in order.
   */
  requestHandedOut(r: Request): void {
    const id = r.connectionId;
    if (!this.unfinished!.has(id)) return;
    let l = this.lastRequest.get(id);
    if (!l) this.lastRequest.set(id, (l = { index: 0, start: -Infinity }));
    if (r.index <= l.index) return;
    if (r.index > l.index + 1) {
      // Past MAX_FLOOR_AHEAD (a stream that never completes under many that do) the floor stays
      // where it is: lower than it could be, never wrong.
      if ((l.ahead ??= new Map()).size < MAX_FLOOR_AHEAD) l.ahead.set(r.index, r.times.requestStartTime);
      return;
    }
    l.index = r.index;
    l.start = r.times.requestStartTime;
    for (let next = l.ahead?.get(l.index + 1); next !== undefined; next = l.ahead!.get(l.index + 1)) {
      l.ahead!.delete(++l.index);
      l.start = next;
    }
    this.floors.push({ id, t: l.start });
    if (this.floors.size > 2 * this.unfinished!.size + 1024) {
      const h = new MinHeap<{ id: number; t: number }>((e) => e.t);
      for (const k of this.unfinished!.keys()) h.push({ id: k, t: this.floorOf(k)! });
      this.floors = h;
    }
  }

  /** A connection was handed out (watermarks wanted only). */
  connectionHandedOut(id: number): void {
    this.unfinished!.delete(id);
    this.lastRequest.delete(id);
  }

  /**
   * See StreamHandlers.onWatermark: at least `watermark` (this.watermark(), computed once by the
   * caller for both). For each connection not handed out
   * yet, the start of request p, where 1..p are the indices it has handed out without a gap (its
   * first packet while it has handed out no request 1); the least of them, at most the last
   * packet's time. Requests are indexed in order of their start, so no request handed out from now
   * on (index > p), nor the one before it (index ≥ p), started earlier.
   */
  requestFloor(watermark: number): number {
    const u = this.unfinished!;
    const h = this.floors;
    let w = this.packetTime;
    while (h.size) {
      const e = h.peek()!;
      if (!u.has(e.id) || this.floorOf(e.id) !== e.t) {
        h.pop();
        continue;
      }
      w = Math.min(w, e.t);
      break;
    }
    return Math.max(watermark, w - this.l4Lag);
  }

  /** See StreamHandlers.onWatermark. */
  watermark(): number {
    const u = this.unfinished!;
    let w = this.packetTime;
    for (const t of u.values()) {
      w = Math.min(w, t);
      break;
    }
    const d = this.disordered;
    while (d.size && !u.has(d.peek()!.id)) d.pop();
    return (d.size ? Math.min(w, d.peek()!.t) : w) - this.l4Lag;
  }

  private l4(p: L4Packet): void {
    if (this.unfinished) {
      if (p.time > this.l4Max) this.l4Max = p.time;
      else if (this.l4Max - p.time > this.l4Lag) this.l4Lag = this.l4Max - p.time;
    }
    if (p.proto === PROTO_TCP && this.unfinished) {
      const n = this.table.created;
      this.table.packet(p);
      if (this.table.created !== n) this.opened(n, p.time);
    } else if (p.proto === PROTO_TCP) this.table.packet(p);
    else if (p.proto === PROTO_UDP) {
      this.count('udpPackets');
      if (p.srcPort === 53 || p.dstPort === 53) this.dns.packet(p);
      else if (this.unfinished) {
        const n = this.quic.created;
        this.quic.datagram(p);
        if (this.quic.created !== n) this.opened(QUIC_CONNECTION_ID_BASE + n, p.time);
      } else this.quic.datagram(p);
    }
  }

  addRequest(conn: Pick<TcpConnection, 'id' | 'synTime' | 'synAckTime' | 'establishedTime' | 'server'>, d: RequestDraft): void {
    const times = { ...d.times };
    if (d.index === 1 && times.connectStartTime === null && conn.synTime !== null) {
      // The TCP handshake belongs to the first exchange only (DevTools: connectionReused = false).
      times.connectStartTime = conn.synTime;
      times.connectEndTime = conn.establishedTime ?? conn.synAckTime;
      const dns = this.dns.lookupBefore(conn.server.ip, conn.synTime);
      if (dns && times.dnsStartTime === null) {
        times.dnsStartTime = dns.queryTime;
        times.dnsEndTime = dns.answerTime;
      }
    }
    // Request times are microseconds (model/micros.ts), and so are the timings made from them.
    microsInPlace(times);
    // Every field written out in one literal, in the model's order: all requests share one hidden
    // class (a spread `{ ...d, id }` gave each its own, making every later read megamorphic).
    // Absent optional fields are `undefined`, which JSON output omits.
    const r = {
      id: this.requestsSeen++,
      connectionId: conn.id,
      index: d.index,
      streamId: d.streamId,
      method: d.method,
      url: d.url,
      target: d.target,
      httpVersion: d.httpVersion,
      status: d.status,
      statusText: d.statusText,
      requestHeaders: d.requestHeaders,
      responseHeaders: d.responseHeaders,
      informational: d.informational,
      trailers: d.trailers,
      sizes: d.sizes,
      times,
      timings: microsInPlace(harTimings(times)),
      pipelined: d.pipelined,
      connectionReused: d.connectionReused,
      pushed: d.pushed,
      state: d.state,
      packets: d.packets,
      lostBytes: d.lostBytes,
      anomalies: d.anomalies,
      upgrade: d.upgrade,
      h2: d.h2,
      http1: d.http1,
      extra: d.extra,
    } satisfies { [K in keyof Required<Request>]: Request[K] | undefined };
    this.handOut(this.apps.get(conn.id)?.session ?? null, () => this.handlers.onRequest?.(r));
  }

  /**
   * A record goes out at once when nothing is queued before it and its session has no body
   * decoder running; else into the outbox, in completion order. (Held to the end of the chunk, the
   * records of ~2,000 small requests outlived V8's young generation: a third of what the engine
   * allocated was promoted, and scavenges took a quarter of the run.)
   */
  private handOut(session: DetectSink | null, emit: () => void): void {
    if (this.outbox.length === 0 && !session?.busy()) emit();
    else this.outbox.push({ session, emit });
  }

  /** Hand out queued records once the sessions they depend on have settled. */
  async drain(): Promise<void> {
    if (this.outbox.length === 0) return;
    const box = this.outbox;
    this.outbox = [];
    const sessions = new Set<DetectSink>();
    for (const e of box) if (e.session) sessions.add(e.session);
    await Promise.all([...sessions].map((s) => s.settled()));
    for (const e of box) e.emit();
  }

  private connectionDone(c: TcpConnection): void {
    const app = this.apps.get(c.id);
    this.apps.delete(c.id);
    const close = { ...c.close };
    // Who closed is TCP's record (c.close); the HTTP/1 reason is decided from it, once, here.
    const why = app?.httpClose ? decideCloseReason({ ...app.httpClose, firstEnd: firstEndOf(c.close) }) : app?.reason;
    if (why && why.reason !== 'unknown') {
      close.reason = why.reason;
      close.detail = why.detail;
    } else if (close.how === 'open') {
      close.reason = 'capture-end';
      close.detail = c.evicted ? `not followed further: ${c.evicted}` : 'still open when the capture ended';
    }
    const conn: Connection = {
      id: c.id,
      client: { ...c.client },
      server: { ...c.server },
      roles: c.roles,
      startSeen: c.startSeen,
      firstPacket: c.firstPacket,
      lastPacket: c.lastPacket,
      firstTime: c.firstTime,
      lastTime: c.lastTime,
      synTime: c.synTime,
      synAckTime: c.synAckTime,
      establishedTime: c.establishedTime,
      firstDataTime: minNullable(c.c.firstDataTime, c.s.firstDataTime),
      lastDataTime: maxNullable(c.c.lastDataTime, c.s.lastDataTime),
      handshakeRttMs: c.synTime !== null && c.establishedTime !== null ? c.establishedTime - c.synTime : -1,
      synToSynAckMs: c.synTime !== null && c.synAckTime !== null ? c.synAckTime - c.synTime : -1,
      synAckToAckMs: c.synAckTime !== null && c.establishedTime !== null ? c.establishedTime - c.synAckTime : -1,
      durationMs: c.lastTime - c.firstTime,
      close,
      stats: { client: c.c.stats, server: c.s.stats },
      idle: c.idle,
      protocol: app?.proto ?? 'none',
      requestCount: app?.requestCount ?? 0,
      anomalies: [...c.anomalies, ...(app?.anomalies ?? [])],
    };
    if (app?.keep) conn.keepAlive = app.keep();
    if (app?.tlsInfo) conn.tls = app.tlsInfo;
    if (app?.h2Facts) conn.h2 = app.h2Facts;
    if (app?.facts) conn.extra = app.facts;
    if (c.c.marks && c.s.marks) conn.packetMarks = { client: c.c.marks.toJSON(), server: c.s.marks.toJSON() };
    // After its requests: a connection record is handed out once everything on it is settled.
    this.handOut(app?.session ?? null, () => this.handlers.onConnection?.(conn));
  }

  captureInfo(path: string, r: { format: CaptureInfo['format']; gzip: boolean; fileBytes: number; error?: WirefallError }): CaptureInfo {
    const info: CaptureInfo = {
      file: path,
      format: r.format,
      gzip: r.gzip,
      fileBytes: r.fileBytes,
      packets: this.packets,
      startEpochMs: this.sec0 >= 0 ? this.sec0 * 1000 + this.ns0 / 1e6 : null,
      startTime: this.sec0 >= 0 ? new Date(this.sec0 * 1000 + Math.floor(this.ns0 / 1e6)).toISOString() : null,
      durationMs: this.lastTime,
      interfaces: this.interfaces.filter(Boolean),
      counters: { ...this.counters, ...keyLogCounters(this.keys), connections: this.table.created },
    };
    if (r.error) info.error = { code: r.error.code, message: r.error.message };
    return info;
  }
}

/**
 * What the key log (files and the capture's DSBs) held, when there was one: a key log of the wrong
 * file gives `keyLogEntries: 0` with its lines counted as garbage, said once for the capture
 * rather than as `no-keys` on every connection only.
 */
function keyLogCounters(k: KeyLog): Record<string, number> {
  const st = k.stats;
  if (st.lines === 0) return {};
  const out: Record<string, number> = { keyLogLines: st.lines, keyLogEntries: k.size };
  if (st.garbage) out.keyLogGarbageLines = st.garbage;
  if (st.unsupported) out.keyLogUnsupportedLines = st.unsupported;
  if (st.dropped) out.keyLogEntriesDropped = st.dropped;
  if (st.truncated) out.keyLogTruncated = 1;
  return out;
}

/**
 * Requests of one connection handed out ahead of a gap in its indices that `requestFloor`
 * remembers (HTTP/2 and HTTP/3 complete streams out of order; the gap is usually a few streams).
 */
export const MAX_FLOOR_AHEAD = 4096;

/** pcapng Decryption Secrets Block secrets type for a TLS key log (pcapng spec §4.7). */
export const DSB_TLS_KEY_LOG = 0x544c534b;

function minNullable(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.min(a, b);
}
function maxNullable(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.max(a, b);
}

/**
 * Analyse a capture, handing out connections and requests as they complete. Throws a
 * WirefallError for a file that cannot be analysed at all; a truncated or corrupt tail is reported
 * in `capture.error` after everything before it was analysed.
 */
export async function analyzeStream(path: string, handlers: StreamHandlers, opts: AnalyzeOptions = {}): Promise<StreamResult> {
  let connections = 0;
  let requests = 0;
  /** The capture has ended: the connections still open are being handed out. */
  let ending = false;
  const engine: Engine = new Engine(
    {
      onConnection: (c) => {
        connections++;
        if (engine.unfinished) engine.connectionHandedOut(c.id);
        handlers.onConnection?.(c);
        // At the end every open connection completes at once; a watermark after each lets the
        // consumer finish with each (detect/stream.ts releases it in order of opening, with the
        // request records it made for it) instead of holding all of them until the last.
        if (ending && handlers.onWatermark) {
          const w = engine.watermark();
          handlers.onWatermark(w, engine.requestFloor(w));
        }
      },
      onRequest: (r) => {
        requests++;
        if (engine.unfinished) engine.requestHandedOut(r);
        handlers.onRequest?.(r);
      },
      onWatermark: handlers.onWatermark,
    },
    opts,
  );
  const res = await readCapture(path, engine, {
    signal: opts.signal,
    classicParser: opts.classicParser,
    chunkBytes: opts.chunkBytes,
    afterChunk: handlers.onWatermark
      ? async () => {
          await engine.drain();
          const w = engine.watermark();
          handlers.onWatermark!(w, engine.requestFloor(w));
        }
      : () => engine.drain(),
    onProgress: opts.onProgress
      ? (p) =>
          opts.onProgress!({
            ...p,
            packets: engine.packets,
            connections: engine.table.created,
            requests: engine.requestsSeen,
          })
      : undefined,
  });
  await engine.drain();
  ending = true;
  // The connections still open are handed out one at a time, with a turn of the event loop
  // between them: on a capture of long keep-alive connections this is where every request they
  // carried reaches the detectors (4 s for the request-heavy bench capture at 2x). A stop takes
  // effect between two connections, and what runs between turns runs: the CLI's heap tuning
  // (cli/heap-growth.ts) sets V8's room after each full collection from the live heap it sees
  // then. Handed out in one synchronous loop, the room stayed as set before the end, for a live
  // heap half this size: json's peak RSS on that capture was 162–178 MB this way against
  // 191–210 MB (2x), ndjson's 163–164 against 176–186 (single runs, 2026-12-05).
  for (const _ of engine.table.finishing()) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (opts.signal?.aborted) throw new CancelledError(`analysis of ${path} was cancelled`);
  }
  engine.quic.finish();
  await engine.drain();
  const capture = engine.captureInfo(path, res);
  if (capture.interfaces.length > 0 && capture.interfaces.every((i) => !i.supported) && capture.packets > 0) {
    const names = capture.interfaces.map((i) => i.linkTypeName).join(', ');
    throw Object.assign(new UnsupportedLinkTypeError(`${path}: unsupported link type ${names}; nothing could be decoded`), {
      capture,
    });
  }
  return { capture, connections, requests };
}

/** Analyse a capture into a whole Report (connections sorted by id, requests by id). */
export async function analyzeFile(
  path: string,
  opts: AnalyzeOptions & { findings?: (r: Report) => Finding[]; whatIf?: (r: Report) => WhatIf } = {},
): Promise<Report> {
  const connections: Connection[] = [];
  const requests: Request[] = [];
  const { capture } = await analyzeStream(
    path,
    { onConnection: (c) => connections.push(c), onRequest: (r) => requests.push(r) },
    opts,
  );
  connections.sort((a, b) => a.id - b.id);
  const report: Report = { wirefall: VERSION, capture, connections, requests, findings: [] };
  if (opts.findings) {
    report.findings = opts.findings(report);
    // The findings at human scale (view/finding-groups.ts): what the UI's cards and the table show.
    report.findingGroups = groupFindings(report.findings);
  }
  if (opts.whatIf) report.whatIf = opts.whatIf(report);
  return report;
}
