/**
 * The TCP connection table: one TcpConnection per connection (4-tuple plus lifetime), robust to port
 * reuse and to captures that start mid-connection. Push a decoded packet with `packet(p)`; finished
 * connections come out of `onDone` (in order of completion), the rest at `finish(time)`.
 *
 * Numbering: a connection's id is its order of first packet, which is how tshark numbers
 * `tcp.stream`, so the two can be compared connection by connection.
 *
 * Port reuse (RFC 9293 §3.6.1, TIME-WAIT): a SYN (without ACK) on a tuple whose connection has
 * closed (FIN from both sides, or RST) starts a new connection; so does a SYN whose sequence number
 * differs from the current connection's SYN once that connection has carried data. A SYN with the
 * same sequence number is a retransmitted SYN.
 */
import type { L4Packet } from '../capture/ip.js';
import type { ConnectionClose, DirectionStats, IdlePeriod, RoleInference, Side } from '../model/types.js';
import {
  HalfStream,
  MAX_OOO_BYTES_PER_CONNECTION,
  MAX_OOO_SEGMENTS_PER_DIRECTION,
  type HeldBudget,
  type OverlapConflict,
  type RetainBudget,
} from './reassembly.js';
import type { EndHow, StreamChunk, StreamFactory, StreamSink } from './stream.js';
import { QueueSet } from '../util/oldest.js';
import { DirectionMarkRecorder, type MarkBudget } from './marks.js';

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_ACK = 0x10;

/** Out-of-order bytes buffered across all connections before holes are skipped. */
export const MAX_OOO_BYTES_TOTAL = 256 * 1024 * 1024;
/**
 * Out-of-order segments buffered across all connections before holes are skipped (gopacket's
 * MaxBufferedPagesTotal). Bounds the per-segment overhead (~270 bytes each, ~140 MiB at the limit)
 * that MAX_OOO_BYTES_TOTAL does not see; counted as `oooTotalSegmentLimitFlushes`.
 */
export const MAX_OOO_SEGMENTS_TOTAL = 1 << 19;
/**
 * Connections tracked at once. Measured heap per live connection: ~1.5 KiB with no payload yet (a
 * SYN, a handshake), ~7.5 KiB for an idle HTTP/1.1 keep-alive connection after an exchange (its
 * session, and ~2 KiB of retained bytes for overlap checks) — so ~245 MB at worst for a table full
 * of HTTP/1 sessions, where the old limit of 1,000,000 let a SYN flood take GBs. Beyond it one
 * connection is finished early (and, in ndjson, written out and freed at once), counted as
 * `connectionsEvictedAtLimit`; in this order of preference:
 *  1. the oldest closed one (FIN both ways or RST; only lingering for late packets, nothing lost);
 *  2. the oldest half-open one (see MAX_HALF_OPEN_CONNECTIONS);
 *  3. the oldest-created one that had no packet since it was last considered (second chance).
 * Cases 2 and 3 get a `tcp-connection-evicted` anomaly: later packets of the 4-tuple start a new
 * connection record.
 */
export const MAX_TRACKED_CONNECTIONS = 32_768;
/**
 * Half-open connections tracked at once: those that carried no payload yet and are not closed (a
 * SYN never answered, a handshake never used, stray ACKs), the SYN-flood case. Beyond it the oldest
 * is finished early with a `tcp-connection-evicted` anomaly, counted as
 * `halfOpenConnectionsEvicted` (as are half-open ones evicted at MAX_TRACKED_CONNECTIONS), so a
 * flood costs at most ~25 MB of live heap and never displaces connections that carry data. Four
 * times Linux's default SYN backlog (tcp_max_syn_backlog 4096); a legitimate connection sends data
 * within a round trip or two of its handshake.
 */
export const MAX_HALF_OPEN_CONNECTIONS = 16_384;
/**
 * Capacity of the retained delivered-not-acknowledged bytes (reassembly.ts `Retained`, for
 * `tcp-overlap-conflict`) across all connections; past it directions keep what they have and
 * new ones retain nothing (counted once per direction as `retainedTotalLimit`).
 */
export const MAX_RETAINED_BYTES_TOTAL = 64 * 1024 * 1024;
/** `tcp-overlap-conflict` anomalies listed per connection; the rest are counted in one more. */
export const MAX_OVERLAP_CONFLICTS_LISTED = 16;
/** A closed connection is finished once this much capture time passed without a packet for it. */
export const CLOSED_LINGER_MS = 60_000;
/** Gaps without payload at least this long are recorded as idle periods. */
export const DEFAULT_IDLE_GAP_MS = 1000;
/** Idle periods kept per connection. */
export const MAX_IDLE_PERIODS = 1000;

/** Ports that identify a server when the handshake was not seen. */
const SERVER_PORTS = new Set([80, 443, 8080, 8000, 8008, 8081, 8443, 8888, 3128, 1080, 3000, 5000, 9000, 9090]);

const HTTP_METHOD_START = /^(GET|POST|PUT|HEAD|DELETE|OPTIONS|PATCH|CONNECT|TRACE|PRI) /;

export interface TableCounters {
  count(name: string, n?: number): void;
}

export interface TableOptions {
  idleGapMs?: number;
  /** Keep packet-level evidence per direction (tcp/marks.ts: data arrivals, late segments) within this budget. */
  markBudget?: MarkBudget | null;
  /** Live connection limit (default MAX_TRACKED_CONNECTIONS; lower for embedding and tests). */
  maxConnections?: number;
  /** Live half-open connection limit (default MAX_HALF_OPEN_CONNECTIONS, at most maxConnections). */
  maxHalfOpen?: number;
}

export class TcpConnection {
  readonly client: { ip: string; port: number };
  readonly server: { ip: string; port: number };
  readonly c: HalfStream;
  readonly s: HalfStream;
  roles: RoleInference;
  startSeen = false;
  firstPacket: number;
  lastPacket: number;
  firstTime: number;
  lastTime: number;
  synTime: number | null = null;
  synSeq = -1;
  synAckTime: number | null = null;
  establishedTime: number | null = null;
  close: ConnectionClose = { by: null, how: 'open', time: null, packet: null, reason: 'capture-end' };
  finBy = { client: false, server: false };
  rst = false;
  idle: IdlePeriod[] = [];
  private lastPayloadTime: number | null = null;
  sink: StreamSink | null = null;
  private sinkMade = false;
  done = false;
  /** Packet number when this connection was (re)queued for eviction (TupleMap.evictionCandidate). */
  queuedAt: number;
  /** No payload yet and not closed (in TcpTable's half-open queue). */
  dataless = true;
  /** Why the table finished this connection early (MAX_TRACKED_CONNECTIONS), or null. */
  evicted: string | null = null;
  private overlapConflicts = 0;
  anomalies: { code: string; packet?: number; time?: number; detail?: string }[] = [];

  constructor(
    readonly id: number,
    readonly key: string | [number, number],
    client: { ip: string; port: number },
    server: { ip: string; port: number },
    roles: RoleInference,
    p: L4Packet,
    private readonly table: TcpTable,
  ) {
    this.client = client;
    this.server = server;
    this.roles = roles;
    this.firstPacket = this.lastPacket = this.queuedAt = p.num;
    this.firstTime = this.lastTime = p.time;
    const deliver = (side: Side, chunk: StreamChunk) => this.deliver(side, chunk);
    const conflict = (x: OverlapConflict) => this.overlapConflict(x);
    this.c = new HalfStream('client', deliver, table.budget, table.retainBudget, conflict);
    this.s = new HalfStream('server', deliver, table.budget, table.retainBudget, conflict);
    if (table.markBudget) {
      this.c.marks = new DirectionMarkRecorder(table.markBudget);
      this.s.marks = new DirectionMarkRecorder(table.markBudget);
    }
  }

  /**
   * A dropped copy of delivered bytes differs from the delivered one (reassembly.ts header):
   * `tcp-overlap-conflict`, as Wireshark's "TCP segment data overlap conflict" expert note.
   */
  private overlapConflict(x: OverlapConflict): void {
    this.table.counters.count('tcpOverlapConflicts');
    if (++this.overlapConflicts > MAX_OVERLAP_CONFLICTS_LISTED) return;
    const n = x.to - x.from;
    const order = x.keptPacket < x.droppedPacket ? 'the earlier copy' : 'the later-captured copy, delivered first';
    this.anomalies.push({
      code: 'tcp-overlap-conflict',
      packet: x.droppedPacket,
      time: x.time,
      detail:
        `${x.side} stream bytes ${x.from}–${x.to - 1}: packet ${x.droppedPacket} carries ${x.differing} of ${n} overlapping ` +
        `byte${n === 1 ? '' : 's'} different from packet ${x.keptPacket} (first at byte ${x.firstDiff}); ` +
        `kept packet ${x.keptPacket}'s copy (${order}), dropped packet ${x.droppedPacket}'s`,
    });
  }

  get closed(): boolean {
    return this.rst || (this.finBy.client && this.finBy.server);
  }

  stats(side: Side): DirectionStats {
    return side === 'client' ? this.c.stats : this.s.stats;
  }

  /** Swap roles before any payload was delivered (start unseen and the data says otherwise). */
  private swapRoles(): void {
    const ip = this.client.ip;
    const port = this.client.port;
    (this.client as { ip: string }).ip = this.server.ip;
    (this.client as { port: number }).port = this.server.port;
    (this.server as { ip: string }).ip = ip;
    (this.server as { port: number }).port = port;
    // HalfStreams are bound to sides; swap their contents by swapping references.
    const c = this.c;
    (this as { c: HalfStream }).c = this.s;
    (this as { s: HalfStream }).s = c;
    (this.c as { side: Side }).side = 'client';
    (this.s as { side: Side }).side = 'server';
    const f = this.finBy.client;
    this.finBy.client = this.finBy.server;
    this.finBy.server = f;
    this.roles = 'data';
  }

  packet(p: L4Packet, fromClient: boolean): void {
    this.lastPacket = p.num;
    if (p.time > this.lastTime) this.lastTime = p.time;
    const flags = p.flags;
    const len = p.payload.length + p.missing;
    // Role check on the first payload of a connection whose handshake was not seen.
    if (!this.startSeen && this.roles === 'port' && len > 0 && !this.sinkMade) {
      // Roles from the data when the SYN was not seen: the TLS ClientHello's sender is the client
      // and the ServerHello's the server (RFC 8446 §4.1.2–4.1.3), else HTTP request / status lines.
      const tls = tlsHelloType(p.payload);
      const looksResponse = tls === 2 || (tls === 0 && startsWith(p.payload, 'HTTP/'));
      const looksRequest = tls === 1 || (tls === 0 && HTTP_METHOD_START.test(latinHead(p.payload)));
      if ((fromClient && looksResponse) || (!fromClient && looksRequest)) {
        this.swapRoles();
        fromClient = !fromClient;
        this.table.counters.count('rolesSwappedByData');
      } else if ((fromClient && looksRequest) || (!fromClient && looksResponse)) {
        this.roles = 'data';
      }
    }
    const me = fromClient ? this.c : this.s;
    const peer = fromClient ? this.s : this.c;
    const side: Side = fromClient ? 'client' : 'server';
    const st = me.stats;
    st.packets++;
    st.frameBytes += p.frameLen;
    st.payloadBytes += p.payload.length;
    if (p.window === 0 && (flags & (TCP_SYN | TCP_FIN | TCP_RST)) === 0) st.zeroWindow++;

    if (flags & TCP_SYN) {
      if (flags & TCP_ACK) {
        if (this.synAckTime === null) this.synAckTime = p.time;
      } else if (this.synTime === null) {
        this.synTime = p.time;
      } else {
        st.retransmissions++;
        me.marks?.lateSegment(p.time, p.num, 0);
      }
      me.setIsn(p.seq);
    } else if (
      fromClient &&
      this.establishedTime === null &&
      this.synAckTime !== null &&
      flags & TCP_ACK &&
      this.s.based &&
      this.s.rel(p.ack) === 0
    ) {
      this.establishedTime = p.time;
    }

    if (len > 0) {
      if (this.lastPayloadTime !== null) this.noteGap(this.lastPayloadTime, p.time);
      this.lastPayloadTime = p.time;
    }

    if (flags & TCP_RST) {
      this.noteClose(side, 'rst', p);
      this.rst = true;
      // Deliver what is contiguous; the rest is lost. RST ends both directions for the application.
      if (len > 0) me.segment(p.seq, p.payload, p.missing, false, p.time, p.num);
      this.endDir(this.c, p.time, p.num, 'rst', side === 'client');
      this.endDir(this.s, p.time, p.num, 'rst', side === 'server');
      return;
    }

    // The ACK first: it acknowledges data the peer sent earlier, so bytes it releases (a hole the
    // capture missed) come before this packet's own payload — a response after its request.
    if (flags & TCP_ACK) peer.acked(p.ack, p.time);
    const fin = (flags & TCP_FIN) !== 0;
    if (fin) this.noteClose(side, 'fin', p);
    if (len > 0 || fin) {
      const reached = me.segment(p.seq, p.payload, p.missing, fin, p.time, p.num);
      if (reached) this.sinkEnd(side, 'fin', p.time, p.num);
      if (fin) {
        if (fromClient) this.finBy.client = true;
        else this.finBy.server = true;
      }
    }
    if (me.heldBytes + peer.heldBytes > MAX_OOO_BYTES_PER_CONNECTION) {
      this.table.counters.count('oooConnectionLimitFlushes');
      (me.heldBytes >= peer.heldBytes ? me : peer).skipOldestHole(p.time);
    }
    if (me.heldSegments > MAX_OOO_SEGMENTS_PER_DIRECTION) {
      this.table.counters.count('oooSegmentLimitFlushes');
      me.skipOldestHole(p.time);
    }
  }

  private noteGap(from: number, to: number): void {
    if (to - from >= this.table.idleGapMs && this.idle.length < MAX_IDLE_PERIODS) {
      this.idle.push({ startTime: from, endTime: to, durationMs: to - from });
    }
  }

  private noteClose(side: Side, how: EndHow, p: L4Packet): void {
    if (this.close.by !== null) return;
    this.close = { by: side, how, time: p.time, packet: p.num, reason: side === 'client' ? 'client-close' : 'server-close' };
    if (how === 'rst') this.close.reason = 'rst';
    if (this.lastPayloadTime !== null) this.noteGap(this.lastPayloadTime, p.time);
  }

  private endDir(h: HalfStream, time: number, packet: number, how: EndHow, sender: boolean): void {
    if (h.ended) return;
    h.flush(time);
    h.ended = true;
    if (sender || how === 'rst') this.sinkEnd(h.side, how, time, packet);
  }

  private sinkEnd(side: Side, how: EndHow, time: number, packet: number): void {
    if (this.table.heldTotalOver()) this.table.counters.count('oooTotalLimit');
    this.sink?.onEnd?.(side, how, time, packet);
  }

  private deliver(side: Side, chunk: StreamChunk): void {
    if (!this.sinkMade) {
      this.sinkMade = true;
      this.sink = this.table.factory(this);
    }
    this.sink?.onData(side, chunk);
  }

  /** Flush everything and tell the sink the connection is over. */
  finish(time: number): void {
    if (this.done) return;
    this.done = true;
    for (const h of [this.c, this.s]) {
      if (h.flush(time)) this.sinkEnd(h.side, 'fin', time, this.lastPacket);
    }
    this.c.releaseRetained();
    this.s.releaseRetained();
    if (this.c.dataAfterFin + this.s.dataAfterFin > 0) {
      this.anomalies.push({ code: 'data-after-fin', detail: `${this.c.dataAfterFin + this.s.dataAfterFin} segments carried data after a FIN` });
    }
    if (this.overlapConflicts > MAX_OVERLAP_CONFLICTS_LISTED) {
      this.anomalies.push({
        code: 'tcp-overlap-conflict',
        detail: `${this.overlapConflicts - MAX_OVERLAP_CONFLICTS_LISTED} more conflicting overlaps not listed (limit ${MAX_OVERLAP_CONFLICTS_LISTED} per connection)`,
      });
    }
    if (this.sinkMade) this.sink?.onClose?.(time);
  }
}

function startsWith(d: Uint8Array, s: string): boolean {
  if (d.length < s.length) return false;
  for (let i = 0; i < s.length; i++) if (d[i] !== s.charCodeAt(i)) return false;
  return true;
}

/**
 * 1 for a TLS record carrying a ClientHello, 2 for a ServerHello (record header RFC 8446 §5.1:
 * handshake(22), version 0x03 0x0{0..4}; then the handshake type), else 0.
 */
function tlsHelloType(d: Uint8Array): number {
  if (d.length < 6 || d[0] !== 0x16 || d[1] !== 0x03 || d[2] > 0x04) return 0;
  return d[5] === 1 ? 1 : d[5] === 2 ? 2 : 0;
}

function latinHead(d: Uint8Array): string {
  return Buffer.from(d.buffer, d.byteOffset, Math.min(d.length, 16)).toString('latin1');
}

function isServerPort(port: number): boolean {
  return SERVER_PORTS.has(port) || port < 1024;
}

/**
 * 4-tuple → connection. IPv4 tuples (the common case) are looked up through two numeric keys
 * (address·65536 + port of each endpoint, lower first), so no string is built per packet; IPv6
 * tuples use a string key. `live` keeps connections in queue order (creation, or the last second
 * chance) for eviction; finishing sorts by id.
 */
class TupleMap {
  private readonly v4 = new Map<number, Map<number, TcpConnection>>();
  private readonly other = new Map<string, TcpConnection>();
  /** In queue order; its `oldest()` is amortised O(1) (a fresh iterator per eviction would step over every deleted entry). */
  readonly live = new QueueSet<TcpConnection>();

  static keyOf(p: L4Packet): string | [number, number] {
    if (p.srcV4 >= 0 && p.dstV4 >= 0) {
      const a = p.srcV4 * 65536 + p.srcPort;
      const b = p.dstV4 * 65536 + p.dstPort;
      return a <= b ? [a, b] : [b, a];
    }
    const aFirst = p.src < p.dst || (p.src === p.dst && p.srcPort <= p.dstPort);
    return aFirst ? `${p.src}|${p.srcPort}|${p.dst}|${p.dstPort}` : `${p.dst}|${p.dstPort}|${p.src}|${p.srcPort}`;
  }

  /** The connection of packet `p`'s tuple; for IPv4 without building a key (once per packet). */
  lookup(p: L4Packet): TcpConnection | undefined {
    if (p.srcV4 >= 0 && p.dstV4 >= 0) {
      const a = p.srcV4 * 65536 + p.srcPort;
      const b = p.dstV4 * 65536 + p.dstPort;
      return a <= b ? this.v4.get(a)?.get(b) : this.v4.get(b)?.get(a);
    }
    return this.other.get(TupleMap.keyOf(p) as string);
  }

  set(k: string | [number, number], c: TcpConnection): void {
    if (typeof k === 'string') this.other.set(k, c);
    else {
      let m = this.v4.get(k[0]);
      if (!m) this.v4.set(k[0], (m = new Map()));
      m.set(k[1], c);
    }
    this.live.add(c);
  }

  delete(c: TcpConnection): void {
    const k = c.key;
    if (typeof k === 'string') {
      if (this.other.get(k) === c) this.other.delete(k);
    } else {
      const m = this.v4.get(k[0]);
      if (m?.get(k[1]) === c) {
        m.delete(k[1]);
        if (m.size === 0) this.v4.delete(k[0]);
      }
    }
    this.live.delete(c);
  }

  get size(): number {
    return this.live.size;
  }

  /**
   * The connection to finish when the table is full (CLOCK / second chance): the oldest queued
   * one that carried no packet since it was queued; busier ones are re-queued at the end. Each
   * re-queue is paid for by a packet, so this is amortised O(1).
   */
  evictionCandidate(now: number): TcpConnection {
    for (;;) {
      const c = this.live.oldest();
      if (c.lastPacket <= c.queuedAt) return c;
      c.queuedAt = now;
      this.live.delete(c);
      this.live.add(c);
    }
  }
}

export class TcpTable {
  readonly budget: HeldBudget = { held: 0, segments: 0 };
  readonly retainBudget: RetainBudget = { bytes: 0, limit: MAX_RETAINED_BYTES_TOTAL, count: (n, k) => this.counters.count(n, k) };
  readonly idleGapMs: number;
  /** Shared by every direction's packet marks when they are kept (tcp/marks.ts), else null. */
  readonly markBudget: MarkBudget | null;
  private readonly maxConnections: number;
  private readonly maxHalfOpen: number;
  /** Why a connection was finished early, per limit (TcpConnection.evicted and the anomaly's detail). */
  private readonly why: Record<'halfOpenLimit' | 'tableHalfOpen' | 'tableIdle', { reason: string; detail: string }>;
  private readonly conns = new TupleMap();
  /** Closed connections still live, in order of closing. */
  private readonly closedQueue = new QueueSet<TcpConnection>();
  /** Live connections that carried no payload yet and are not closed, in order of creation. */
  private readonly halfOpen = new QueueSet<TcpConnection>();
  private nextId = 0;

  constructor(
    readonly factory: (c: TcpConnection) => StreamSink | null,
    private readonly onDone: (c: TcpConnection) => void,
    readonly counters: TableCounters,
    opts: TableOptions = {},
  ) {
    this.idleGapMs = opts.idleGapMs ?? DEFAULT_IDLE_GAP_MS;
    this.markBudget = opts.markBudget ?? null;
    this.maxConnections = opts.maxConnections ?? MAX_TRACKED_CONNECTIONS;
    this.maxHalfOpen = Math.min(opts.maxHalfOpen ?? MAX_HALF_OPEN_CONNECTIONS, this.maxConnections);
    const why = (reason: string) => ({ reason, detail: `no longer tracked after this packet: ${reason}; later packets of this 4-tuple start a new connection` });
    this.why = {
      halfOpenLimit: why(`${this.maxHalfOpen} half-open connections were tracked (MAX_HALF_OPEN_CONNECTIONS) and it was the oldest`),
      tableHalfOpen: why(`the connection table was full (MAX_TRACKED_CONNECTIONS ${this.maxConnections}) and it had carried no payload`),
      tableIdle: why(`the connection table was full (MAX_TRACKED_CONNECTIONS ${this.maxConnections}) and it was the longest without a packet`),
    };
  }

  heldTotalOver(): boolean {
    return this.budget.held > MAX_OOO_BYTES_TOTAL;
  }

  get size(): number {
    return this.conns.size;
  }

  get created(): number {
    return this.nextId;
  }

  packet(p: L4Packet): void {
    let c = this.conns.lookup(p);
    const syn = (p.flags & (TCP_SYN | TCP_ACK)) === TCP_SYN;
    if (c && syn) {
      const sameSyn = c.synSeq === p.seq && c.client.ip === p.src && c.client.port === p.srcPort;
      const carriedData = c.c.stats.payloadBytes + c.s.stats.payloadBytes > 0;
      if (!sameSyn && (c.closed || carriedData || c.finBy.client || c.finBy.server)) {
        this.finishConn(c);
        c = undefined;
      } else if (c.synSeq < 0 && c.client.ip === p.src && c.client.port === p.srcPort) {
        // The SYN/ACK was captured before the SYN (timestamps out of order): same connection.
        c.synSeq = p.seq;
        c.startSeen = true;
      }
    }
    if (!c) {
      c = this.create(TupleMap.keyOf(p), p);
    }
    const fromClient = p.src === c.client.ip && p.srcPort === c.client.port;
    const wasClosed = c.closed;
    c.packet(p, fromClient);
    if (!wasClosed && c.closed) this.closedQueue.add(c);
    if (c.dataless && (p.payload.length + p.missing > 0 || c.closed)) {
      c.dataless = false;
      this.halfOpen.delete(c);
    }
    if (this.budget.held > MAX_OOO_BYTES_TOTAL) {
      this.counters.count('oooTotalLimitFlushes');
      c.c.skipOldestHole(p.time);
      c.s.skipOldestHole(p.time);
    }
    // Only this packet's connection can have grown the total, and it holds at least the segment
    // that did: skipping its oldest hole keeps the total at the limit.
    if (this.budget.segments > MAX_OOO_SEGMENTS_TOTAL) {
      this.counters.count('oooTotalSegmentLimitFlushes');
      (c.c.heldSegments >= c.s.heldSegments ? c.c : c.s).skipOldestHole(p.time);
    }
  }

  private create(key: string | [number, number], p: L4Packet): TcpConnection {
    // A connection starting without payload is half-open until it carries some (see packet()).
    if (this.halfOpen.size >= this.maxHalfOpen && p.payload.length + p.missing === 0) this.evictHalfOpen(this.why.halfOpenLimit);
    if (this.conns.size >= this.maxConnections) this.evict(p.num);
    const src = { ip: p.src, port: p.srcPort };
    const dst = { ip: p.dst, port: p.dstPort };
    let client = src;
    let server = dst;
    let roles: RoleInference = 'syn';
    let startSeen = false;
    if ((p.flags & (TCP_SYN | TCP_ACK)) === TCP_SYN) {
      startSeen = true;
    } else if (p.flags & TCP_SYN) {
      // SYN/ACK first: its sender is the server.
      client = dst;
      server = src;
    } else {
      roles = 'port';
      const srcServer = isServerPort(p.srcPort);
      const dstServer = isServerPort(p.dstPort);
      if ((srcServer && !dstServer) || (srcServer === dstServer && p.srcPort < p.dstPort)) {
        client = dst;
        server = src;
      }
    }
    const c = new TcpConnection(this.nextId++, key, { ...client }, { ...server }, roles, p, this);
    c.startSeen = startSeen;
    if (startSeen) c.synSeq = p.seq;
    this.conns.set(key, c);
    this.halfOpen.add(c);
    return c;
  }

  /** The table is full: finish one connection early (see MAX_TRACKED_CONNECTIONS for which). */
  private evict(now: number): void {
    this.counters.count('connectionsEvictedAtLimit');
    if (this.closedQueue.size > 0) {
      this.finishConn(this.closedQueue.oldest());
    } else if (this.halfOpen.size > 0) {
      this.evictHalfOpen(this.why.tableHalfOpen);
    } else {
      this.flagEvicted(this.conns.evictionCandidate(now), this.why.tableIdle);
    }
  }

  private evictHalfOpen(why: { reason: string; detail: string }): void {
    this.counters.count('halfOpenConnectionsEvicted');
    this.flagEvicted(this.halfOpen.oldest(), why);
  }

  /** Finish `c` early, saying why (one of `this.why`: shared strings, not built per connection). */
  private flagEvicted(c: TcpConnection, why: { reason: string; detail: string }): void {
    c.evicted = why.reason;
    c.anomalies.push({ code: 'tcp-connection-evicted', packet: c.lastPacket, time: c.lastTime, detail: why.detail });
    this.finishConn(c);
  }

  /** A connection's close time is its own last packet's, whatever made us finish it now. */
  private finishConn(c: TcpConnection): void {
    this.conns.delete(c);
    this.closedQueue.delete(c);
    this.halfOpen.delete(c);
    c.finish(c.lastTime);
    this.onDone(c);
  }

  /** Finish closed connections idle for CLOSED_LINGER_MS of capture time (bounded memory). */
  flushClosed(now: number): void {
    for (const c of this.closedQueue) {
      if (now - c.lastTime < CLOSED_LINGER_MS) continue;
      if (this.conns.live.has(c)) this.finishConn(c);
      else this.closedQueue.delete(c);
    }
  }

  /** Capture end: finish every connection, in order of id. */
  finish(): void {
    for (const _ of this.finishing());
  }

  /** Capture end one connection at a time: each step finishes the next open connection, in order of id. */
  *finishing(): Generator<void> {
    const rest = [...this.conns.live].sort((a, b) => a.id - b.id);
    for (const c of rest) {
      this.finishConn(c);
      yield;
    }
  }
}

export type { StreamFactory };
