/**
 * One QUIC connection (RFC 9000) as seen from the capture point: packet protection removed where
 * keys allow (RFC 9001 §5), frames parsed, the TLS 1.3 handshake read from CRYPTO frames, streams
 * reassembled and handed to the application session (HTTP/3), and the facts gathered into a
 * `Connection` record with `transport: 'quic'`, `quic` (QuicInfo) and `tls` (TlsInfo).
 *
 * Keys per packet type (RFC 9001 §4, Table 1):
 *   Initial    — from the client's first Destination Connection ID (or a Retry's Source
 *                Connection ID, RFC 9000 §17.2.5.2) and the version's salt: always available;
 *   Handshake  — CLIENT_/SERVER_HANDSHAKE_TRAFFIC_SECRET from the key log (by ClientHello random);
 *   0-RTT      — CLIENT_EARLY_TRAFFIC_SECRET;
 *   1-RTT      — CLIENT_/SERVER_TRAFFIC_SECRET_0, then each key update (§6: "quic ku"), detected by
 *                the Key Phase bit: the next keys are tried when it flips, the previous ones for
 *                packets reordered across the update.
 * Secrets are looked up when a packet needs them and the key log has grown since the last try
 * (pcapng Decryption Secrets Blocks may arrive mid-capture).
 *
 * Without keys the connection still shows its version, connection IDs, ClientHello (SNI, ALPN
 * offered, transport parameters), ServerHello (cipher suite, resumption, HelloRetryRequest),
 * Retry, Version Negotiation, CONNECTION_CLOSE in Initial packets, and packet counts and times.
 * The handshake's end is then estimated as the client's last Handshake packet before its first
 * 1-RTT packet (its Finished travels in its last Handshake flight, RFC 9001 §4.1.2); with keys it is
 * the packet that carried the client's Finished.
 *
 * Bounded: CRYPTO octets per connection (MAX_CRYPTO_BYTES), streams tracked (MAX_QUIC_STREAMS),
 * out-of-order octets held per stream and per connection (assembler.ts), connection IDs recorded
 * (MAX_CIDS_RECORDED), migrations and anomalies kept. Nothing here throws on packet contents.
 */
import type { ExchangeSink, RequestDraft } from '../model/exchange.js';
import { emptyTlsInfo } from '../tls/explain.js';
import type {
  Anomaly,
  AppProtocol,
  CloseReason,
  Connection,
  ConnectionClose,
  DirectionStats,
  Endpoint,
  QuicClose,
  QuicInfo,
  QuicPacketCounts,
  Side,
  TlsAlert,
  TlsInfo,
  UndecryptedReason,
} from '../model/types.js';
import type { StreamChunk, StreamInfo } from '../tcp/stream.js';
import { alertDescriptionName, versionName as tlsVersionName } from '../tls/constants.js';
import { HandshakeReassembler, parseCertificate, parseClientHello, parseEncryptedExtensions, parseServerHello, type ClientHello, type ServerHello } from '../tls/handshake.js';
import type { KeyLabel, KeyLog } from '../tls/keylog.js';
import { suiteName } from '../tls/suites.js';
import { OffsetAssembler, type HeldBudget } from './assembler.js';
import { decodePacketNumber, initialKeys, PacketKeys, quicSuite, removeHeaderProtection, retryIntegrityValid, type QuicSuite } from './crypto.js';
import { frameTypeName, parseFrames, transportErrorName, type FrameVisitor } from './frames.js';
import { QuicLossTracker } from './loss.js';
import type { PacketHeader } from './packet.js';
import { isUniStream, streamInitiator, type QuicStreamSink } from './streams.js';
import { findExtension, parseTransportParams, type TransportParams } from './transport-params.js';
import { toHex } from './varint.js';
import { versionName, type VersionParams } from './version.js';

/** QUIC connection ids start here, above any TCP stream number (see Connection.id). */
export const QUIC_CONNECTION_ID_BASE = 1_000_000_000;
/** CRYPTO octets accepted per connection, all epochs and directions (a handshake is a few KB; certificates up to tens). */
export const MAX_CRYPTO_BYTES = 256 * 1024;
/** Streams tracked per connection; frames of further streams are counted only. */
export const MAX_QUIC_STREAMS = 10_000;
/** Out-of-order pieces and octets held per stream direction, and octets held per connection. */
export const MAX_STREAM_PENDING_PIECES = 1024;
export const MAX_STREAM_PENDING_BYTES = 1 << 20;
export const MAX_CONNECTION_HELD_BYTES = 16 << 20;
/** Pieces held per CRYPTO stream (handshake messages are a handful of packets). */
export const MAX_CRYPTO_PENDING_PIECES = 256;
/** Connection IDs recorded per side (and registered in the table). */
export const MAX_CIDS_RECORDED = 64;
export const MAX_MIGRATIONS = 64;
export const MAX_QUIC_ANOMALIES = 200;
/** Reason phrase octets kept from a CONNECTION_CLOSE. */
export const MAX_REASON_BYTES = 256;

/** Stable anomaly codes of the QUIC layer. */
export const QUIC_ANOMALY = {
  MALFORMED_PACKET: 'quic-packet-malformed',
  MALFORMED_FRAME: 'quic-frame-malformed',
  UNDECRYPTABLE: 'quic-packet-undecryptable',
  CRYPTO_LIMIT: 'quic-crypto-limit',
  STREAM_LIMIT: 'quic-stream-limit',
  FRAMES_AFTER_CLOSE: 'quic-frames-after-close',
  RETRY_INVALID: 'quic-retry-integrity-invalid',
  HANDSHAKE: 'quic-tls-handshake-malformed',
  FRAME_IN_WRONG_EPOCH: 'quic-frame-in-wrong-packet-type',
} as const;

export type Epoch = 'initial' | 'handshake' | '0rtt' | '1rtt';
type Space = 0 | 1 | 2;
const SPACE: Record<Epoch, Space> = { initial: 0, handshake: 1, '0rtt': 2, '1rtt': 2 };

/** What the connection needs from its owner (the QuicTable and, through it, the engine). */
export interface QuicConnectionHooks {
  count(name: string, n?: number): void;
  keys: KeyLog | null;
  /** Register a connection ID chosen by `owner` (its peer sends packets to it). */
  addCid(cid: Uint8Array, owner: Side): void;
  /** The application session for this connection's streams, once ALPN is known (null: none). */
  session(info: StreamInfo, alpn: string | null, out: ExchangeSink): QuicStreamSink | null;
  request(conn: QuicConnection, d: RequestDraft): void;
}

interface AppKeys {
  cur: PacketKeys | null;
  phase: number;
  prev: PacketKeys | null;
  next: PacketKeys | null;
}

interface SideState {
  side: Side;
  stats: DirectionStats;
  counts: QuicPacketCounts;
  largest: [number, number, number];
  hsKeys: PacketKeys | null;
  app: AppKeys;
  crypto: Record<'initial' | 'handshake' | '1rtt', { asm: OffsetAssembler; hs: HandshakeReassembler }>;
  frames: Record<string, number>;
  cids: string[];
  firstOneRttTime: number | null;
  resetTokens: Set<string>;
  tp: TransportParams | null;
}

interface StreamDir {
  asm: OffsetAssembler;
  finalSize: number | null;
  ended: boolean;
}

interface QStream {
  id: number;
  dirs: Partial<Record<Side, StreamDir>>;
}

const zeroCounts = (): QuicPacketCounts => ({ initial: 0, handshake: 0, zeroRtt: 0, oneRtt: 0, retry: 0, versionNegotiation: 0, undecryptable: 0 });
const zeroStats = (): DirectionStats => ({
  packets: 0,
  frameBytes: 0,
  payloadBytes: 0,
  deliveredBytes: 0,
  retransmissions: 0,
  outOfOrder: 0,
  lostBytes: 0,
  zeroWindow: 0,
  truncatedSegments: 0,
});

const H3_ALPN = /^h3(-\d+)?$/;

export class QuicConnection implements ExchangeSink {
  readonly client: Endpoint;
  readonly server: Endpoint;
  /** The current client address (migrations move it). */
  readonly path: Endpoint;
  firstPacket: number;
  lastPacket: number;
  firstTime: number;
  lastTime: number;
  /** Times the engine uses for the first request's connect phase (see `addRequest` in engine.ts). */
  synTime: number | null;
  synAckTime: number | null = null;
  establishedTime: number | null = null;

  /** DCID the Initial keys derive from: the client's first, or a Retry's SCID (RFC 9001 §5.2). */
  private keyDcid: Uint8Array;
  private readonly odcid: Uint8Array;
  private initialCache = new Map<number, { client: PacketKeys; server: PacketKeys }>();
  private readonly sides: Record<Side, SideState>;
  private readonly budget: HeldBudget = { held: 0, max: MAX_CONNECTION_HELD_BYTES };
  private cryptoBytes = 0;
  private cryptoLimitHit = false;
  private readonly streams = new Map<number, QStream>();
  private streamsDropped = 0;
  private readonly opened = { client: { bidi: 0, uni: 0 }, server: { bidi: 0, uni: 0 } };
  private sink: QuicStreamSink | null = null;
  private sinkMade = false;

  // TLS
  private ch: ClientHello | null = null;
  private sh: ServerHello | null = null;
  private suite: QuicSuite | undefined;
  private hsVp: VersionParams;
  private keysTriedAt = -1;
  private keyLabelsFound = false;
  private decryptFailures = 0;
  private readonly tlsFacts: TlsInfo;
  private clientLastHandshakeTime: number | null = null;
  private finishedSeen = false;
  private handshakeLost = false;

  // QUIC facts
  private negotiatedVersion: number | null = null;
  private retry: QuicInfo['retry'] = null;
  private vn: QuicInfo['versionNegotiation'] = null;
  private readonly migrations: QuicInfo['migrations'] = [];
  private migrationsDropped = 0;
  private close: QuicClose | null = null;
  private appClose: { reason: CloseReason; detail: string } | null = null;
  private statelessReset: { by: Side; time: number; packet: number } | null = null;
  private afterCloseNoted = false;
  private keyUpdates = 0;
  private handshakeDoneTime: number | null = null;
  private coalesced = 0;
  private proto: AppProtocol = 'unknown';
  private facts: Record<string, unknown> | undefined;
  private readonly anomalies: Anomaly[] = [];
  private anomaliesDropped = 0;
  requestCount = 0;

  /** The packet being processed (frame callbacks read it). */
  private cur = { side: 'client' as Side, epoch: 'initial' as Epoch, time: 0, packet: 0, pn: 0 };
  /** Per-stream loss facts (loss.ts), from the first decrypted 1-RTT or 0-RTT packet. */
  private loss: QuicLossTracker | null = null;
  private readonly visitor: FrameVisitor;

  constructor(
    readonly id: number,
    readonly vp: VersionParams,
    odcid: Uint8Array,
    client: Endpoint,
    server: Endpoint,
    time: number,
    packet: number,
    private readonly hooks: QuicConnectionHooks,
  ) {
    this.client = { ...client };
    this.server = { ...server };
    this.path = { ...client };
    this.odcid = new Uint8Array(odcid);
    this.keyDcid = this.odcid;
    this.hsVp = vp;
    this.firstPacket = this.lastPacket = packet;
    this.firstTime = this.lastTime = time;
    this.synTime = time;
    this.sides = { client: this.mkSide('client'), server: this.mkSide('server') };
    this.tlsFacts = emptyTlsInfo();
    this.visitor = this.makeVisitor();
  }

  private mkSide(side: Side): SideState {
    const crypto = (epoch: 'initial' | 'handshake' | '1rtt') => {
      const hs = new HandshakeReassembler((type, body) => this.onHandshake(side, epoch, type, body));
      const asm = new OffsetAssembler(
        (data, _offset, skipped) => {
          if (skipped > 0) {
            this.handshakeLost = true;
            hs.reset();
          }
          hs.push(data);
        },
        { maxPieces: MAX_CRYPTO_PENDING_PIECES, maxBytes: MAX_CRYPTO_BYTES },
        this.budget,
      );
      return { asm, hs };
    };
    return {
      side,
      stats: zeroStats(),
      counts: zeroCounts(),
      largest: [-1, -1, -1],
      hsKeys: null,
      app: { cur: null, phase: 0, prev: null, next: null },
      crypto: { initial: crypto('initial'), handshake: crypto('handshake'), '1rtt': crypto('1rtt') },
      frames: {},
      cids: [],
      firstOneRttTime: null,
      resetTokens: new Set(),
      tp: null,
    };
  }

  // ---------------------------------------------------------------- ExchangeSink (from HTTP/3)

  request(d: RequestDraft): void {
    this.requestCount++;
    const t = this.tlsFacts;
    // The QUIC handshake is the first request's connect and ssl phases (TLS 1.3 runs inside it):
    // the engine sets connect from synTime/establishedTime, ssl is set here as the TLS session does.
    if (d.index === 1 && !d.connectionReused && t.clientHelloTime !== null && d.times.sslStartTime === null) {
      const start = Math.min(t.clientHelloTime, d.times.requestStartTime);
      const end = Math.min(this.handshakeEnd() ?? d.times.requestStartTime, d.times.requestStartTime);
      d.times.sslStartTime = start;
      d.times.sslEndTime = Math.max(start, end);
    }
    this.hooks.request(this, d);
  }
  protocol(p: AppProtocol): void {
    this.proto = p;
  }
  anomaly(a: Anomaly): void {
    if (this.anomalies.length < MAX_QUIC_ANOMALIES) this.anomalies.push(a);
    else this.anomaliesDropped++;
  }
  keepAlive(): void {}
  closeReason(reason: CloseReason, detail: string): void {
    this.appClose = { reason, detail };
  }
  extra(facts: Record<string, unknown>): void {
    this.facts = { ...this.facts, ...facts };
  }

  // ---------------------------------------------------------------- datagrams and packets

  /** A datagram from `side` (counted once, whatever it coalesces). */
  datagram(side: Side, src: Endpoint, frameLen: number, payloadLen: number, missing: number, time: number, packet: number): void {
    const s = this.sides[side].stats;
    s.packets++;
    s.frameBytes += frameLen;
    s.payloadBytes += payloadLen;
    if (missing > 0) s.truncatedSegments++;
    if (time > this.lastTime) this.lastTime = time;
    this.lastPacket = packet;
    if (side === 'client' && (src.ip !== this.path.ip || src.port !== this.path.port)) {
      // RFC 9000 §9: the client moved (migration, or a NAT rebinding it did not choose).
      if (this.migrations.length < MAX_MIGRATIONS) this.migrations.push({ time, packet, from: { ...this.path }, to: { ...src } });
      else this.migrationsDropped++;
      this.path.ip = src.ip;
      this.path.port = src.port;
      this.hooks.count('quicMigrations');
    }
  }

  noteCoalesced(): void {
    this.coalesced++;
  }

  /** Records a connection ID chosen by `owner` and registers it with the table. */
  addCid(cid: Uint8Array, owner: Side): void {
    if (cid.length === 0) return;
    const list = this.sides[owner].cids;
    const h = toHex(cid);
    if (list.includes(h) || list.length >= MAX_CIDS_RECORDED) return;
    list.push(h);
    this.hooks.addCid(cid, owner);
  }

  /** One QUIC packet of a datagram (header parsed by packet.ts), sent by `side`. */
  onPacket(h: PacketHeader, data: Uint8Array, side: Side, time: number, packet: number): void {
    const s = this.sides[side];
    if (h.type === 'vn') return this.versionNegotiation(h, side, time, packet);
    if (h.type === 'retry') return this.onRetry(h, data, side, time, packet);
    if (h.long && !h.vp) {
      // A long header of a version wirefall cannot read, on this connection.
      s.counts.undecryptable++;
      this.hooks.count('quicUnknownVersionPackets');
      return;
    }
    if (h.long) {
      if (h.vp && h.vp.code !== this.vp.code && this.negotiatedVersion === null && side === 'server') this.negotiatedVersion = h.vp.code;
      // Long headers announce the sender's connection ID (RFC 9000 §7.2).
      this.addCid(h.scid, side);
    }
    const epoch: Epoch = h.type === 'initial' ? 'initial' : h.type === 'handshake' ? 'handshake' : h.type === '0rtt' ? '0rtt' : '1rtt';
    switch (epoch) {
      case 'initial':
        s.counts.initial++;
        if (side === 'server' && this.synAckTime === null) this.synAckTime = time;
        break;
      case 'handshake':
        s.counts.handshake++;
        if (side === 'client' && s.firstOneRttTime === null) this.clientLastHandshakeTime = time;
        break;
      case '0rtt':
        s.counts.zeroRtt++;
        break;
      default:
        s.counts.oneRtt++;
        if (s.firstOneRttTime === null) {
          s.firstOneRttTime = time;
          this.tlsFacts.firstAppDataTime[side] ??= time;
          // Without the client's Finished in view, its first 1-RTT packet says the handshake is over.
          if (side === 'client' && this.establishedTime === null) this.establishedTime = this.clientLastHandshakeTime ?? time;
        }
        this.tlsFacts.records.applicationData++;
    }
    this.tlsFacts.records[side]++;
    // Short headers carry no version: 1-RTT uses the connection's negotiated one.
    const keys = this.keysFor(side, epoch, h.vp ?? this.hsVp);
    if (keys === null) {
      s.counts.undecryptable++;
      return;
    }
    const u = removeHeaderProtection(keys, data, h.start, h.pnOffset, h.end, h.long);
    if (u === null) {
      s.counts.undecryptable++;
      this.noteAnomaly(QUIC_ANOMALY.MALFORMED_PACKET, 'quicMalformedPackets', time, packet, `${side} ${epoch} packet of ${h.end - h.start} octets is too short for header protection (RFC 9001 §5.4.2)`);
      return;
    }
    const space = SPACE[epoch];
    const pn = decodePacketNumber(s.largest[space], u.truncatedPn, u.pnLen);
    const sealed = data.subarray(h.pnOffset + u.pnLen, h.end);
    const payload = epoch === '1rtt' ? this.open1rtt(s, u.first, u.header, pn, sealed) : keys.open(pn, u.header, sealed);
    if (payload === null) {
      s.counts.undecryptable++;
      if (epoch === '1rtt' && this.isStatelessReset(side, data, h)) {
        this.statelessReset ??= { by: side, time, packet };
        return;
      }
      if (epoch !== 'initial') {
        this.decryptFailures++;
        this.tlsFacts.undecryptableRecords++;
      }
      this.hooks.count('quicUndecryptablePackets');
      return;
    }
    if (pn > s.largest[space]) s.largest[space] = pn;
    if (epoch === '1rtt' || epoch === '0rtt') this.tlsFacts.decrypted = true;
    if (this.close !== null && !this.afterCloseNoted && this.hasNonCloseFrames(payload)) {
      this.afterCloseNoted = true;
      this.noteAnomaly(QUIC_ANOMALY.FRAMES_AFTER_CLOSE, 'quicFramesAfterClose', time, packet, `${side} sent frames other than CONNECTION_CLOSE after the connection was closed by the ${this.close.by} (RFC 9000 §10.2)`);
    }
    const c = this.cur;
    c.side = side;
    c.epoch = epoch;
    c.time = time;
    c.packet = packet;
    c.pn = pn;
    const app = epoch === '1rtt' || epoch === '0rtt';
    if (app) (this.loss ??= new QuicLossTracker()).packet(side, pn);
    const r = parseFrames(payload, this.visitor);
    if (app) this.loss!.packetDone(side, pn);
    if (!r.ok) this.noteAnomaly(QUIC_ANOMALY.MALFORMED_FRAME, 'quicMalformedFrames', time, packet, `${side} ${epoch} packet ${pn}: ${r.detail}`);
  }

  private hasNonCloseFrames(payload: Uint8Array): boolean {
    // Cheap check: the first frame type octet (ACK/PADDING/CLOSE are fine in the closing period).
    for (let i = 0; i < payload.length; i++) {
      const t = payload[i];
      if (t === 0x00) continue;
      return !(t === 0x1c || t === 0x1d || t === 0x02 || t === 0x03 || t === 0x01);
    }
    return false;
  }

  /** RFC 9000 §10.3: a packet that ends in a stateless reset token its sender issued, and does not decrypt. */
  private isStatelessReset(side: Side, data: Uint8Array, h: PacketHeader): boolean {
    const tokens = this.sides[side].resetTokens;
    if (tokens.size === 0 || h.end - h.start < 21) return false;
    return tokens.has(toHex(data.subarray(h.end - 16, h.end)));
  }

  private open1rtt(s: SideState, first: number, header: Uint8Array, pn: number, sealed: Uint8Array): Buffer | null {
    const a = s.app;
    if (a.cur === null) return null;
    const phase = (first >> 2) & 1;
    if (phase === a.phase) return a.cur.open(pn, header, sealed) ?? (a.prev ? a.prev.open(pn, header, sealed) : null);
    // The Key Phase bit flipped: a key update (RFC 9001 §6.2), or a packet from before the last one.
    a.next ??= a.cur.next();
    const r = a.next.open(pn, header, sealed);
    if (r !== null) {
      a.prev = a.cur;
      a.cur = a.next;
      a.next = null;
      a.phase = phase;
      this.keyUpdates++;
      return r;
    }
    return a.prev ? a.prev.open(pn, header, sealed) : null;
  }

  private keysFor(side: Side, epoch: Epoch, vp: VersionParams): PacketKeys | null {
    if (epoch === 'initial') return this.initialKeysFor(vp)[side];
    const s = this.sides[side];
    if (epoch === 'handshake') {
      if (s.hsKeys === null) this.armKeys();
      return s.hsKeys;
    }
    if (epoch === '0rtt') return side === 'client' ? this.earlyKeys() : null;
    if (s.app.cur === null) this.armKeys();
    return s.app.cur;
  }

  initialKeysFor(vp: VersionParams): { client: PacketKeys; server: PacketKeys } {
    let k = this.initialCache.get(vp.code);
    if (!k) {
      k = initialKeys(vp, this.keyDcid);
      if (this.initialCache.size < 4) this.initialCache.set(vp.code, k);
    }
    return k;
  }

  private versionNegotiation(h: PacketHeader, side: Side, time: number, packet: number): void {
    this.sides[side].counts.versionNegotiation++;
    this.vn ??= { time, packet, versions: (h.versions ?? []).map(versionName) };
  }

  private onRetry(h: PacketHeader, data: Uint8Array, side: Side, time: number, packet: number): void {
    this.sides[side].counts.retry++;
    if (side !== 'server' || !h.vp) return;
    const valid = retryIntegrityValid(h.vp, this.odcid, data.subarray(h.start, h.end));
    if (this.retry === null) {
      this.retry = { time, packet, tokenBytes: h.token.length, integrityValid: valid };
      if (!valid) this.noteAnomaly(QUIC_ANOMALY.RETRY_INVALID, 'quicRetryIntegrityInvalid', time, packet, 'Retry integrity tag does not verify against the original Destination Connection ID (RFC 9001 §5.8)');
    }
    if (!valid) return;
    // RFC 9000 §17.2.5.2: the client's next Initial goes to the Retry's SCID, and RFC 9001 §5.2:
    // the Initial keys are derived from it from now on.
    this.addCid(h.scid, 'server');
    this.keyDcid = new Uint8Array(h.scid);
    this.initialCache.clear();
    this.synAckTime = null;
  }

  // ---------------------------------------------------------------- frames

  private makeVisitor(): FrameVisitor {
    return {
      frame: (type) => {
        const f = this.sides[this.cur.side].frames;
        const n = frameTypeName(type);
        f[n] = (f[n] ?? 0) + 1;
        if (type === 0x14 || type === 0x15) this.sides[this.cur.side].stats.zeroWindow++;
      },
      crypto: (offset, data) => this.onCrypto(offset, data),
      ackRange: (smallest, largest) => {
        if (this.cur.epoch === '1rtt') this.loss?.ackRange(this.cur.side, smallest, largest);
      },
      stream: (id, offset, data, fin) => this.onStream(id, offset, data, fin),
      resetStream: (id, code, finalSize) => this.onResetStream(id, code, finalSize),
      stopSending: (id, code) => {
        if (this.streams.has(id)) this.sink?.onStopSending?.(id, this.cur.side, code, this.cur.time, this.cur.packet);
      },
      connectionClose: (app, code, ft, reason) => this.onConnectionClose(app, code, ft, reason),
      newConnectionId: (_seq, _retire, cid, token) => {
        this.addCid(cid, this.cur.side);
        const t = this.sides[this.cur.side].resetTokens;
        if (t.size < MAX_CIDS_RECORDED) t.add(toHex(token));
      },
      handshakeDone: () => {
        if (this.cur.side === 'server') this.handshakeDoneTime ??= this.cur.time;
      },
    };
  }

  private onCrypto(offset: number, data: Uint8Array): void {
    const { side, epoch, time, packet } = this.cur;
    if (epoch === '0rtt') {
      this.noteAnomaly(QUIC_ANOMALY.FRAME_IN_WRONG_EPOCH, 'quicFrameInWrongEpoch', time, packet, 'CRYPTO frame in a 0-RTT packet (RFC 9000 §12.5)');
      return;
    }
    const c = this.sides[side].crypto[epoch];
    const fresh = Math.max(0, offset + data.length - Math.max(offset, c.asm.next));
    if (this.cryptoBytes + fresh > MAX_CRYPTO_BYTES) {
      if (!this.cryptoLimitHit) {
        this.cryptoLimitHit = true;
        this.noteAnomaly(QUIC_ANOMALY.CRYPTO_LIMIT, 'quicCryptoLimit', time, packet, `more than ${MAX_CRYPTO_BYTES} CRYPTO octets on one connection; the rest is ignored`);
      }
      return;
    }
    this.cryptoBytes += fresh;
    c.asm.push(offset, data, time, packet);
  }

  private onConnectionClose(app: boolean, code: number, ft: number | null, reason: Uint8Array): void {
    const { side, epoch, time, packet } = this.cur;
    if (this.close !== null) return;
    const error = app ? h3ErrorName(code) : transportErrorName(code);
    this.close = {
      by: side,
      application: app,
      errorCode: code,
      error,
      frameType: ft,
      reason: Buffer.from(reason.subarray(0, MAX_REASON_BYTES)).toString('utf8'),
      epoch,
      time,
      packet,
    };
    if (!app && code >= 0x100 && code <= 0x1ff && this.tlsFacts.alerts.length < 16) {
      // RFC 9001 §4.8: a TLS alert becomes CRYPTO_ERROR 0x100 + AlertDescription, always fatal.
      const alert: TlsAlert = { side, level: 2, description: alertDescriptionName(code - 0x100), time, packet };
      this.tlsFacts.alerts.push(alert);
    }
  }

  private onStream(id: number, offset: number, data: Uint8Array, fin: boolean): void {
    const { side, epoch, time, packet } = this.cur;
    if (epoch === 'initial' || epoch === 'handshake') {
      this.noteAnomaly(QUIC_ANOMALY.FRAME_IN_WRONG_EPOCH, 'quicFrameInWrongEpoch', time, packet, `STREAM frame in a ${epoch} packet (RFC 9000 §12.5)`);
      return;
    }
    this.loss?.stream(side, id, offset, data.length, time, packet, this.cur.pn);
    const d = this.streamDir(id, side, time, packet);
    if (d === null) return;
    if (fin) d.finalSize = offset + data.length;
    d.asm.push(offset, data, time, packet);
    this.checkEnd(id, side, d, time, packet);
  }

  private onResetStream(id: number, code: number, finalSize: number): void {
    const { side, time, packet } = this.cur;
    const d = this.streamDir(id, side, time, packet);
    if (d === null || d.ended) return;
    d.finalSize = finalSize;
    d.ended = true;
    this.sink?.onStreamEnd?.(id, side, 'rst', time, packet, code);
  }

  private checkEnd(id: number, side: Side, d: StreamDir, time: number, packet: number): void {
    if (d.ended || d.finalSize === null || d.asm.next < d.finalSize) return;
    d.ended = true;
    this.sink?.onStreamEnd?.(id, side, 'fin', time, packet);
  }

  private streamDir(id: number, side: Side, time: number, packet: number): StreamDir | null {
    let st = this.streams.get(id);
    if (!st) {
      if (this.streams.size >= MAX_QUIC_STREAMS) {
        if (this.streamsDropped++ === 0) {
          this.noteAnomaly(QUIC_ANOMALY.STREAM_LIMIT, 'quicStreamLimit', time, packet, `more than ${MAX_QUIC_STREAMS} streams on one connection; later ones are not tracked`);
        }
        return null;
      }
      st = { id, dirs: {} };
      this.streams.set(id, st);
      const init = streamInitiator(id);
      if (isUniStream(id)) this.opened[init].uni++;
      else this.opened[init].bidi++;
      if (!this.sinkMade) this.makeSink();
    }
    let d = st.dirs[side];
    if (!d) {
      const stats = this.sides[side].stats;
      const dir: StreamDir = {
        finalSize: null,
        ended: false,
        asm: new OffsetAssembler(
          (data, offset, skipped, t, deliveredTime, pkt) => {
            stats.deliveredBytes += data.length;
            if (skipped > 0) stats.lostBytes += skipped;
            const chunk: StreamChunk = { data, offset, skipped, time: t, deliveredTime, packet: pkt };
            this.sink?.onStreamData(id, side, chunk);
          },
          { maxPieces: MAX_STREAM_PENDING_PIECES, maxBytes: MAX_STREAM_PENDING_BYTES },
          this.budget,
        ),
      };
      st.dirs[side] = dir;
      d = dir;
    }
    return d;
  }

  private makeSink(): void {
    this.sinkMade = true;
    const alpn = this.tlsFacts.alpn.selected ?? (this.tlsFacts.alpn.offered.some((a) => H3_ALPN.test(a)) ? 'h3' : null);
    const info: StreamInfo = { id: this.id, client: this.client, server: this.server, scheme: 'https', transport: 'quic', startSeen: true };
    this.sink = this.hooks.session(info, alpn, this);
  }

  // ---------------------------------------------------------------- TLS handshake

  private onHandshake(side: Side, epoch: 'initial' | 'handshake' | '1rtt', type: number, body: Uint8Array): void {
    const { time, packet } = this.cur;
    const f = this.tlsFacts;
    if (side === 'client') {
      if (type === 1 && epoch === 'initial') {
        const r = parseClientHello(body);
        if (!r.ok) return this.malformedHandshake('ClientHello', r.detail, time, packet);
        const again = this.ch !== null;
        const ch = r.value;
        this.ch = ch;
        if (!again) f.clientHelloTime = time;
        f.sni = ch.sni;
        f.alpn.offered = ch.alpn;
        f.resumptionOffered = ch.pskIdentities > 0;
        if (ch.earlyData) f.earlyData = 'offered';
        const ext = findExtension(body, true, this.vp.transportParamsExt) ?? findExtension(body, true, 0x39);
        if (ext) this.sides.client.tp = parseTransportParams(ext);
        return;
      }
      if (type === 20 && epoch === 'handshake') {
        // The client's Finished: the handshake is complete for the client (RFC 9001 §4.1.1).
        this.finishedSeen = true;
        f.handshakeEndTime = time;
        this.establishedTime = time;
      }
      return;
    }
    switch (type) {
      case 2: {
        if (epoch !== 'initial') return;
        const r = parseServerHello(body);
        if (!r.ok) return this.malformedHandshake('ServerHello', r.detail, time, packet);
        const sh = r.value;
        if (sh.helloRetryRequest) {
          f.helloRetry = true;
          return;
        }
        this.sh = sh;
        f.serverHelloTime = time;
        f.versionCode = sh.version;
        f.version = tlsVersionName(sh.version);
        f.cipherSuiteCode = sh.cipherSuite;
        f.cipherSuite = suiteName(sh.cipherSuite);
        f.resumed = sh.pskSelected !== null;
        f.handshakeRtts = f.helloRetry ? 2 : 1;
        if (f.earlyData === 'offered' && sh.pskSelected === null) f.earlyData = 'rejected';
        this.suite = quicSuite(sh.cipherSuite);
        // Handshake and 1-RTT packets use the version the server answered in (RFC 9369 §4.1).
        this.hsVp = this.negotiatedVp();
        this.keysTriedAt = -1;
        this.armKeys();
        return;
      }
      case 8: {
        const r = parseEncryptedExtensions(body);
        if (!r.ok) return this.malformedHandshake('EncryptedExtensions', r.detail, time, packet);
        if (r.value.alpn !== null) f.alpn.selected = r.value.alpn;
        if (f.earlyData === 'offered') f.earlyData = r.value.earlyData ? 'accepted' : 'rejected';
        if (f.earlyData === 'accepted') f.handshakeRtts = 0;
        const ext = findExtension(body, false, this.hsVp.transportParamsExt) ?? findExtension(body, false, 0x39);
        if (ext) {
          const tp = parseTransportParams(ext);
          this.sides.server.tp = tp;
          if (tp.statelessResetToken && this.sides.server.resetTokens.size < MAX_CIDS_RECORDED) this.sides.server.resetTokens.add(tp.statelessResetToken);
        }
        return;
      }
      case 11: {
        const r = parseCertificate(body, true);
        if (r.ok && r.value.leaf) {
          const c = r.value.leaf;
          f.certificate = { subject: c.subject, sans: c.sans, issuer: c.issuer, notBefore: c.notBefore, notAfter: c.notAfter };
        }
        return;
      }
      case 4:
        f.ticketIssued = true;
        return;
      default:
        return;
    }
  }

  private negotiatedVp(): VersionParams {
    if (this.negotiatedVersion === null) return this.vp;
    for (const k of this.initialCache.values()) if (k.client.vp.code === this.negotiatedVersion) return k.client.vp;
    return this.vp;
  }

  private malformedHandshake(what: string, detail: string, time: number, packet: number): void {
    this.noteAnomaly(QUIC_ANOMALY.HANDSHAKE, 'quicTlsHandshakeMalformed', time, packet, `${what}: ${detail}`);
  }

  private secret(label: KeyLabel): Uint8Array | undefined {
    const keys = this.hooks.keys;
    if (!keys || !this.ch) return undefined;
    const s = keys.get(label, this.ch.random);
    if (s) this.keyLabelsFound = true;
    return s;
  }

  /** Handshake and 1-RTT keys from the key log, once the ServerHello named the suite. */
  private armKeys(): void {
    const keys = this.hooks.keys;
    if (!keys || !this.ch || !this.sh || !this.suite) return;
    if (this.keysTriedAt === keys.size) return;
    this.keysTriedAt = keys.size;
    const p = this.suite;
    const vp = this.hsVp;
    const c = this.sides.client;
    const s = this.sides.server;
    if (!c.hsKeys) {
      const x = this.secret('CLIENT_HANDSHAKE_TRAFFIC_SECRET');
      if (x) c.hsKeys = new PacketKeys(p, vp, x);
    }
    if (!s.hsKeys) {
      const x = this.secret('SERVER_HANDSHAKE_TRAFFIC_SECRET');
      if (x) s.hsKeys = new PacketKeys(p, vp, x);
    }
    if (!c.app.cur) {
      const x = this.secret('CLIENT_TRAFFIC_SECRET_0');
      if (x) c.app.cur = new PacketKeys(p, vp, x);
    }
    if (!s.app.cur) {
      const x = this.secret('SERVER_TRAFFIC_SECRET_0');
      if (x) s.app.cur = new PacketKeys(p, vp, x);
    }
  }

  private early: PacketKeys | null | undefined;
  private earlyTriedAt = -1;

  /** 0-RTT keys (RFC 9001 §5.6): the client's early secret, the suite of the resumed session (the first TLS 1.3 suite offered). */
  private earlyKeys(): PacketKeys | null {
    if (this.early) return this.early;
    const keys = this.hooks.keys;
    if (!keys || !this.ch || this.earlyTriedAt === keys.size) return null;
    this.earlyTriedAt = keys.size;
    const x = this.secret('CLIENT_EARLY_TRAFFIC_SECRET');
    const p = this.suite ?? quicSuite(this.ch.cipherSuites.find((id) => quicSuite(id) !== undefined) ?? 0);
    if (!x || !p) return null;
    this.early = new PacketKeys(p, this.vp, x);
    return this.early;
  }

  // ---------------------------------------------------------------- end and record

  private noteAnomaly(code: string, counter: string, time: number, packet: number, detail: string): void {
    this.hooks.count(counter);
    this.anomaly({ code, packet, time, detail });
  }

  private handshakeEnd(): number | null {
    if (this.finishedSeen) return this.tlsFacts.handshakeEndTime;
    return this.clientLastHandshakeTime;
  }

  get closed(): boolean {
    return this.close !== null || this.statelessReset !== null;
  }

  /** Effective idle timeout (RFC 9000 §10.1): the minimum of the non-zero values both sides sent. */
  idleTimeoutMs(): number | null {
    const a = this.sides.client.tp?.maxIdleTimeoutMs ?? 0;
    const b = this.sides.server.tp?.maxIdleTimeoutMs ?? 0;
    if (a > 0 && b > 0) return Math.min(a, b);
    if (a > 0 || b > 0) return Math.max(a, b);
    return null;
  }

  /**
   * Finishes the connection: flushes streams (holes as skips), ends the application session and
   * builds the record. `captureEnd` is the capture's last time (for the idle-timeout decision).
   */
  finish(captureEnd: number): Connection {
    const now = Math.max(this.lastTime, captureEnd);
    for (const st of this.streams.values()) {
      for (const side of ['client', 'server'] as const) {
        const d = st.dirs[side];
        if (!d) continue;
        d.asm.flush(now);
        this.checkEnd(st.id, side, d, now, this.lastPacket);
      }
    }
    for (const side of ['client', 'server'] as const) {
      const s = this.sides[side];
      for (const e of ['initial', 'handshake', '1rtt'] as const) s.crypto[e].asm.flush(now);
    }
    this.sink?.onClose?.(this.lastTime);
    return this.record(captureEnd);
  }

  settled(): Promise<void> {
    return this.sink?.settled?.() ?? Promise.resolve();
  }

  private record(captureEnd: number): Connection {
    const f = this.tlsFacts;
    const hsEnd = this.handshakeEnd();
    if (f.handshakeEndTime === null && hsEnd !== null) f.handshakeEndTime = hsEnd;
    this.establishedTime ??= hsEnd;
    f.undecryptedReason = this.undecryptedReason();
    const alpn = f.alpn.selected;
    let proto: AppProtocol = this.proto;
    if (proto === 'unknown' || proto === 'none') {
      if (alpn !== null) proto = H3_ALPN.test(alpn) ? 'h3' : 'unknown';
      else if (f.alpn.offered.length > 0 && f.alpn.offered.every((a) => H3_ALPN.test(a))) proto = 'h3';
    }
    const idle = this.idleTimeoutMs();
    let end: QuicInfo['end'];
    const close: ConnectionClose = { by: null, how: 'open', time: null, packet: null, reason: 'capture-end', detail: 'still open when the capture ended' };
    if (this.close) {
      const c = this.close;
      end = 'connection-close';
      const clean = c.errorCode === 0 || (c.application && c.errorCode === 0x100);
      close.by = c.by;
      close.how = clean ? 'fin' : 'rst';
      close.time = c.time;
      close.packet = c.packet;
      close.reason = clean ? (c.by === 'client' ? 'client-close' : 'server-close') : 'rst';
      close.detail = `CONNECTION_CLOSE from the ${c.by}: ${c.error}${c.reason ? ` (${c.reason})` : ''}`;
    } else if (this.statelessReset) {
      const r = this.statelessReset;
      end = 'stateless-reset';
      close.by = r.by;
      close.how = 'rst';
      close.time = r.time;
      close.packet = r.packet;
      close.reason = 'rst';
      close.detail = `stateless reset from the ${r.by} (RFC 9000 §10.3)`;
    } else if (idle !== null && captureEnd - this.lastTime > idle) {
      end = 'idle-timeout';
      close.reason = 'idle-timeout';
      close.detail = `no packet for ${Math.round(captureEnd - this.lastTime)} ms, beyond the ${idle} ms idle timeout (RFC 9000 §10.1): closed silently`;
    } else end = 'capture-end';
    if (this.appClose && this.appClose.reason !== 'unknown' && end === 'connection-close') {
      close.reason = this.appClose.reason;
      close.detail = `${this.appClose.detail}; ${close.detail}`;
    }
    const c = this.sides.client;
    const s = this.sides.server;
    for (const side of [c, s]) side.stats.outOfOrder = 0;
    for (const st of this.streams.values()) {
      for (const side of ['client', 'server'] as const) {
        const d = st.dirs[side];
        if (!d) continue;
        const stats = this.sides[side].stats;
        stats.outOfOrder += d.asm.outOfOrder;
        if (d.asm.duplicateBytes > 0) stats.retransmissions++;
      }
    }
    if (this.migrationsDropped > 0) this.hooks.count('quicMigrationsDropped', this.migrationsDropped);
    if (this.anomaliesDropped > 0) this.hooks.count('quicAnomaliesDropped', this.anomaliesDropped);
    const quic: QuicInfo = {
      version: versionName(this.vp.code),
      versionCode: this.vp.code,
      negotiatedVersion: this.negotiatedVersion === null ? null : versionName(this.negotiatedVersion),
      originalDcid: toHex(this.odcid),
      connectionIds: { client: c.cids, server: s.cids },
      packets: { client: c.counts, server: s.counts },
      coalescedDatagrams: this.coalesced,
      retry: this.retry,
      versionNegotiation: this.vn,
      migrations: this.migrations,
      close: this.close,
      end,
      idleTimeoutMs: idle,
      transportParameters: { client: c.tp?.values ?? null, server: s.tp?.values ?? null },
      keyUpdates: this.keyUpdates,
      handshakeDoneTime: this.handshakeDoneTime,
      streams: this.opened,
      frames: { client: c.frames, server: s.frames },
    };
    const firstData = minN(c.firstOneRttTime, s.firstOneRttTime);
    const conn: Connection = {
      id: this.id,
      transport: 'quic',
      client: { ...this.client },
      server: { ...this.server },
      roles: 'syn',
      startSeen: true,
      firstPacket: this.firstPacket,
      lastPacket: this.lastPacket,
      firstTime: this.firstTime,
      lastTime: this.lastTime,
      synTime: this.synTime,
      synAckTime: this.synAckTime,
      establishedTime: hsEnd,
      firstDataTime: firstData,
      lastDataTime: firstData === null ? null : this.lastTime,
      handshakeRttMs: this.synTime !== null && hsEnd !== null ? hsEnd - this.synTime : -1,
      synToSynAckMs: this.synTime !== null && this.synAckTime !== null ? this.synAckTime - this.synTime : -1,
      synAckToAckMs: this.synAckTime !== null && hsEnd !== null ? hsEnd - this.synAckTime : -1,
      durationMs: this.lastTime - this.firstTime,
      close,
      stats: { client: c.stats, server: s.stats },
      idle: [],
      protocol: proto,
      requestCount: this.requestCount,
      tls: f,
      quic,
      anomalies: this.anomalies,
    };
    if (this.facts) conn.extra = this.facts;
    const loss = this.loss?.result();
    if (loss) conn.extra = { ...conn.extra, quicLoss: loss };
    return conn;
  }

  private undecryptedReason(): UndecryptedReason | null {
    const f = this.tlsFacts;
    if (f.decrypted) return null;
    const c = this.sides.client.counts;
    const s = this.sides.server.counts;
    const protectedSeen = c.handshake + s.handshake + c.oneRtt + s.oneRtt + c.zeroRtt > 0;
    if (!protectedSeen) return null;
    if (!this.ch || !this.sh) return 'handshake-not-captured';
    if (!this.suite) return 'unsupported-cipher';
    if (!this.keyLabelsFound) return 'no-keys';
    if (this.decryptFailures > 0 && !this.anyProtectedDecrypted()) return 'keys-mismatch';
    return 'data-lost';
  }

  private anyProtectedDecrypted(): boolean {
    return this.sides.client.largest[1] >= 0 || this.sides.server.largest[1] >= 0;
  }
}

function minN(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.min(a, b);
}

/** HTTP/3 error codes (RFC 9114 §8.1) and QPACK's (RFC 9204 §6), for application CONNECTION_CLOSE. */
export function h3ErrorName(code: number): string {
  return H3_ERRORS[code] ?? `0x${code.toString(16)}`;
}

const H3_ERRORS: Record<number, string> = {
  0x100: 'H3_NO_ERROR',
  0x101: 'H3_GENERAL_PROTOCOL_ERROR',
  0x102: 'H3_INTERNAL_ERROR',
  0x103: 'H3_STREAM_CREATION_ERROR',
  0x104: 'H3_CLOSED_CRITICAL_STREAM',
  0x105: 'H3_FRAME_UNEXPECTED',
  0x106: 'H3_FRAME_ERROR',
  0x107: 'H3_EXCESSIVE_LOAD',
  0x108: 'H3_ID_ERROR',
  0x109: 'H3_SETTINGS_ERROR',
  0x10a: 'H3_MISSING_SETTINGS',
  0x10b: 'H3_REQUEST_REJECTED',
  0x10c: 'H3_REQUEST_CANCELLED',
  0x10d: 'H3_REQUEST_INCOMPLETE',
  0x10e: 'H3_MESSAGE_ERROR',
  0x10f: 'H3_CONNECT_ERROR',
  0x110: 'H3_VERSION_FALLBACK',
  0x200: 'QPACK_DECOMPRESSION_FAILED',
  0x201: 'QPACK_ENCODER_STREAM_ERROR',
  0x202: 'QPACK_DECODER_STREAM_ERROR',
};
