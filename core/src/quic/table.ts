/**
 * UDP datagrams → QUIC connections (RFC 9000), on any port.
 *
 * A datagram is QUIC when (RFC 8999 invariants, RFC 9000 §17):
 *   - it is a long-header Initial of a known version whose protection the client Initial keys of
 *     its Destination Connection ID remove (RFC 9001 §5.2) — this opens a new connection, numbered
 *     in order as tshark's quic.connection.number; or
 *   - its Destination Connection ID is one a tracked connection's endpoint chose (long headers name
 *     it with its length; short headers do not, so each length in use is tried); or
 *   - it travels on the 4-tuple of a tracked connection (needed for zero-length connection IDs, and
 *     for connection IDs issued in NEW_CONNECTION_ID frames the capture could not decrypt); or
 *   - it is a Version Negotiation packet answering a tracked connection's Initial.
 * Anything else is not claimed (the engine counts it as plain UDP). Connections are identified by
 * their connection IDs, not their addresses, so a client that migrates or is rebound by a NAT
 * (RFC 9000 §9) stays one connection: its packets still go to the server's connection IDs.
 *
 * Each datagram is then cut into its coalesced packets (§12.2): long-header packets end where their
 * Length says; a short-header packet runs to the datagram's end; packets after the first whose
 * Destination Connection ID differs are ignored (§12.2: "SHOULD ignore"), zero octets after the last
 * packet are padding.
 *
 * Bounded: MAX_QUIC_CONNECTIONS tracked at once (later ones are counted, not tracked),
 * MAX_QUIC_CIDS connection IDs registered in all. Connections end at CONNECTION_CLOSE (after
 * CLOSED_LINGER_MS without packets: the draining period, RFC 9000 §10.2), after their idle timeout
 * (§10.1), or at capture end.
 */
import type { ExchangeSink, RequestDraft } from '../model/exchange.js';
import type { Connection, Side } from '../model/types.js';
import type { L4Packet } from '../capture/ip.js';
import type { StreamInfo } from '../tcp/stream.js';
import type { KeyLog } from '../tls/keylog.js';
import { decodePacketNumber, initialKeys, removeHeaderProtection } from './crypto.js';
import { QUIC_CONNECTION_ID_BASE, QuicConnection } from './connection.js';
import { parseLongHeader, parseShortHeader, type PacketHeader } from './packet.js';
import type { QuicStreamSink } from './streams.js';

/** QUIC connections tracked at once. */
export const MAX_QUIC_CONNECTIONS = 50_000;
/** Connection IDs registered across all connections. */
export const MAX_QUIC_CIDS = 500_000;
/** A closed connection is finished after this long without packets (its draining period). */
export const CLOSED_LINGER_MS = 10_000;
/** Connections whose idle timeout is unknown are finished after this long without packets. */
export const UNKNOWN_IDLE_FINISH_MS = 10 * 60_000;

export interface QuicTableHooks {
  count(name: string, n?: number): void;
  keys: KeyLog | null;
  /** The application session for a connection's streams (by ALPN), or null. */
  session(info: StreamInfo, alpn: string | null, out: ExchangeSink): QuicStreamSink | null;
  request(conn: QuicConnection, d: RequestDraft): void;
  /** A finished connection's record, after its requests; `settled` resolves when its session has. */
  connection(c: Connection, settled: () => Promise<void>): void;
}

interface CidEntry {
  conn: QuicConnection;
  owner: Side;
}

const cidKey = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.length).toString('latin1');

export class QuicTable {
  private readonly cids = new Map<string, CidEntry>();
  /** Connection ID lengths in use (→ how many registered), tried in turn on short headers. */
  private readonly cidLens = new Map<number, number>();
  private readonly tuples = new Map<string, QuicConnection>();
  private readonly live = new Set<QuicConnection>();
  private readonly owned = new Map<QuicConnection, { cids: string[]; tuples: string[] }>();
  private n = 0;
  private lastTime = 0;

  constructor(private readonly hooks: QuicTableHooks) {}

  /** Connections created so far. */
  get created(): number {
    return this.n;
  }

  /** One UDP datagram. True when it was QUIC (claimed by a connection or plainly a QUIC packet). */
  datagram(p: L4Packet): boolean {
    const d = p.payload;
    if (d.length === 0) return false;
    if (p.time > this.lastTime) this.lastTime = p.time;
    const first = d[0];
    let conn: QuicConnection | null = null;
    let side: Side = 'client';
    let h0: PacketHeader;
    if (first & 0x80) {
      const r = parseLongHeader(d, 0);
      if (!r.ok) {
        const m = this.byTuple(p);
        if (m) m.conn.datagram(m.side, { ip: p.src, port: p.srcPort }, p.frameLen, d.length, p.missing, p.time, p.num);
        if (m) this.hooks.count('quicMalformedPackets');
        return m !== null;
      }
      h0 = r.h;
      if (h0.type === 'vn') {
        // RFC 9000 §17.2.1: the server echoes the client's SCID as DCID and its DCID as SCID.
        const m = this.byCid(h0.scid) ?? this.byTuple(p);
        if (!m) return false;
        conn = m.conn;
        side = 'server';
      } else {
        const m = (h0.dcid.length > 0 ? this.byCid(h0.dcid) : null) ?? this.byTuple(p);
        if (m) {
          conn = m.conn;
          side = m.side;
        } else if (h0.vp && h0.type === 'initial') {
          conn = this.open(h0, d, p);
          if (!conn) return true;
          side = 'client';
        } else {
          if (h0.vp) this.hooks.count('quicUnmatchedPackets');
          return h0.vp !== undefined;
        }
      }
    } else {
      const m = this.byShortHeader(d) ?? this.byTuple(p);
      if (!m) return false;
      conn = m.conn;
      side = m.side;
      const r = parseShortHeader(d, 0, m.dcidLen);
      if (!r.ok) return true;
      h0 = r.h;
    }
    conn.datagram(side, { ip: p.src, port: p.srcPort }, p.frameLen, d.length, p.missing, p.time, p.num);
    if (side === 'client') this.addTuple(conn, p.src, p.srcPort, p.dst, p.dstPort);
    // Coalesced packets (§12.2).
    let h = h0;
    let packets = 0;
    for (;;) {
      packets++;
      conn.onPacket(h, d, side, p.time, p.num);
      const at = h.end;
      if (at >= d.length || at <= h.start) break;
      // Zero octets after the last packet pad the datagram (some stacks pad outside packets). A
      // zero first octet alone does not tell: with grease_quic_bit (RFC 9287) the fixed bit may be
      // 0, so a short header can start with 0x00 — but a protected packet is never all zeros.
      if (d[at] === 0 && allZero(d, at)) {
        this.hooks.count('quicDatagramPaddingOctets', d.length - at);
        break;
      }
      const r = d[at] & 0x80 ? parseLongHeader(d, at) : parseShortHeader(d, at, h0.dcid.length);
      if (!r.ok || !sameBytes(r.h.dcid, h0.dcid) || r.h.type === 'vn') {
        this.hooks.count(r.ok ? 'quicCoalescedMismatch' : 'quicMalformedPackets');
        break;
      }
      h = r.h;
    }
    if (packets > 1) conn.noteCoalesced();
    return true;
  }

  /** A client Initial with an unknown DCID: a new connection if the Initial keys of that DCID open it. */
  private open(h: PacketHeader, d: Uint8Array, p: L4Packet): QuicConnection | null {
    const vp = h.vp!;
    const keys = initialKeys(vp, h.dcid).client;
    const u = removeHeaderProtection(keys, d, h.start, h.pnOffset, h.end, true);
    const ok = u !== null && keys.open(decodePacketNumber(-1, u.truncatedPn, u.pnLen), u.header, d.subarray(h.pnOffset + u.pnLen, h.end)) !== null;
    if (!ok) {
      // A server Initial whose client Initial was not captured, or not an Initial at all.
      this.hooks.count('quicInitialUndecryptable');
      return null;
    }
    if (this.live.size >= MAX_QUIC_CONNECTIONS) {
      this.hooks.count('quicConnectionsNotTracked');
      return null;
    }
    const id = QUIC_CONNECTION_ID_BASE + this.n++;
    const client = { ip: p.src, port: p.srcPort };
    const server = { ip: p.dst, port: p.dstPort };
    const entry = { cids: [] as string[], tuples: [] as string[] };
    let conn: QuicConnection;
    conn = new QuicConnection(id, vp, h.dcid, client, server, p.time, p.num, {
      count: this.hooks.count,
      keys: this.hooks.keys,
      addCid: (cid, owner) => this.addCid(conn, entry, cid, owner),
      session: this.hooks.session,
      request: this.hooks.request,
    });
    this.live.add(conn);
    this.owned.set(conn, entry);
    this.hooks.count('quicConnections');
    // The client's chosen DCID names the server until the server picks its own (RFC 9000 §7.2).
    this.addCid(conn, entry, h.dcid, 'server');
    return conn;
  }

  private addCid(conn: QuicConnection, entry: { cids: string[] }, cid: Uint8Array, owner: Side): void {
    if (cid.length === 0) return;
    const k = cidKey(cid);
    const e = this.cids.get(k);
    if (e) {
      if (e.conn !== conn) this.hooks.count('quicCidCollisions');
      return;
    }
    if (this.cids.size >= MAX_QUIC_CIDS) {
      this.hooks.count('quicCidsNotRegistered');
      return;
    }
    this.cids.set(k, { conn, owner });
    entry.cids.push(k);
    this.cidLens.set(cid.length, (this.cidLens.get(cid.length) ?? 0) + 1);
  }

  private addTuple(conn: QuicConnection, cip: string, cport: number, sip: string, sport: number): void {
    const k = `${cip}|${cport}|${sip}|${sport}`;
    const e = this.tuples.get(k);
    if (e === conn) return;
    const entry = this.owned.get(conn);
    if (!entry || entry.tuples.length >= 64) return;
    // A newer connection on the same 4-tuple takes it over (the older one is usually finished).
    this.tuples.set(k, conn);
    entry.tuples.push(k);
  }

  private byCid(cid: Uint8Array): { conn: QuicConnection; side: Side } | null {
    const e = this.cids.get(cidKey(cid));
    // A packet to a CID the server chose was sent by the client, and vice versa.
    return e ? { conn: e.conn, side: e.owner === 'server' ? 'client' : 'server' } : null;
  }

  private byShortHeader(d: Uint8Array): { conn: QuicConnection; side: Side; dcidLen: number } | null {
    for (const len of this.cidLens.keys()) {
      if (1 + len > d.length) continue;
      const e = this.cids.get(cidKey(d.subarray(1, 1 + len)));
      if (e) return { conn: e.conn, side: e.owner === 'server' ? 'client' : 'server', dcidLen: len };
    }
    return null;
  }

  private byTuple(p: L4Packet): { conn: QuicConnection; side: Side; dcidLen: number } | null {
    if (this.tuples.size === 0) return null;
    let c = this.tuples.get(`${p.src}|${p.srcPort}|${p.dst}|${p.dstPort}`);
    if (c) return { conn: c, side: 'client', dcidLen: this.shortDcidLen(c, 'client') };
    c = this.tuples.get(`${p.dst}|${p.dstPort}|${p.src}|${p.srcPort}`);
    if (c) return { conn: c, side: 'server', dcidLen: this.shortDcidLen(c, 'server') };
    return null;
  }

  /** The DCID length a short header from `side` carries: that of the peer's first connection ID. */
  private shortDcidLen(c: QuicConnection, side: Side): number {
    const entry = this.owned.get(c);
    if (!entry) return 0;
    const peer: Side = side === 'client' ? 'server' : 'client';
    // The last-registered CID of the peer is the one in use after the handshake.
    for (let i = entry.cids.length - 1; i >= 0; i--) {
      const e = this.cids.get(entry.cids[i]);
      if (e && e.owner === peer) return entry.cids[i].length;
    }
    return 0;
  }

  /** Finish connections closed longer than their draining period or idle past their timeout. */
  flush(now: number): void {
    for (const c of this.live) {
      const quiet = now - c.lastTime;
      const idle = c.idleTimeoutMs();
      if ((c.closed && quiet > CLOSED_LINGER_MS) || (idle !== null && quiet > idle + CLOSED_LINGER_MS) || quiet > UNKNOWN_IDLE_FINISH_MS) {
        this.finishConn(c, now);
      }
    }
  }

  /** Capture end: finish every connection, in order of id. */
  finish(): void {
    const rest = [...this.live].sort((a, b) => a.id - b.id);
    for (const c of rest) this.finishConn(c, this.lastTime);
  }

  private finishConn(c: QuicConnection, now: number): void {
    this.live.delete(c);
    const entry = this.owned.get(c);
    this.owned.delete(c);
    if (entry) {
      for (const k of entry.cids) {
        if (this.cids.get(k)?.conn !== c) continue;
        this.cids.delete(k);
        const n = (this.cidLens.get(k.length) ?? 1) - 1;
        if (n <= 0) this.cidLens.delete(k.length);
        else this.cidLens.set(k.length, n);
      }
      for (const k of entry.tuples) if (this.tuples.get(k) === c) this.tuples.delete(k);
    }
    const rec = c.finish(now);
    this.hooks.connection(rec, () => c.settled());
  }
}

function allZero(d: Uint8Array, from: number): boolean {
  for (let i = from; i < d.length; i++) if (d[i] !== 0) return false;
  return true;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
