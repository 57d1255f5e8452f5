/**
 * A TLS session: one more StreamSink between TCP reassembly and the HTTP sessions.
 *
 *   TCP chunks ─► record framing (per direction; gaps kept) ─► cleartext handshake (facts)
 *              ─► record decryption (key log) ─► plaintext chunks ─► HTTP/1 or HTTP/2 session
 *
 * Call-order contract (as tcp/stream.ts): the owner calls `onData` in capture order across both
 * directions, `onEnd` at most once per direction, `onClose` once. The inner HTTP session is created
 * on the first application plaintext (chosen by ALPN, RFC 7301 §3.2, else by sniffing) and sees the
 * same contract: its chunks are the plaintexts of records, each stamped with the time and packet of
 * the TCP segment that completed the record (a record is decrypted whole); `skipped` counts
 * plaintext bytes lost with records that were not captured or would not decrypt, so the HTTP layer
 * resynchronises on an explicit gap and never on garbage. Lost plaintext is exact for AEAD suites
 * (RFC 8446 §5.2, RFC 5288 §3, RFC 7905 §2: a fixed expansion per record) and, for CBC (unknown
 * padding), exact for full records and short by less than a block otherwise; a loss HTTP has not
 * been told of when a direction ends (a record cut short by the FIN) is handed over as an empty
 * chunk whose `skipped` says how much, before `onEnd`.
 *
 * Without keys the session still reports everything the cleartext handshake shows (TlsInfo); with
 * keys it derives record keys (RFC 8446 §7 / RFC 5246 §6.3, tls/keys.ts) and decrypts
 * (tls/cipher.ts, node:crypto only).
 *
 * Sequence numbers are implicit in TLS (RFC 8446 §5.3, RFC 5246 §6.1). After a loss, a record is
 * tried at the sequence numbers it can have: from the last decrypted record's successor plus the
 * records known to have passed since (framed in sync, whether or not they decrypted) plus the fewest
 * records the bytes lost to the capture can hold (a maximal record each), up to MAX_SEQ_SKIP more
 * plus one per record framed after a resynchronisation (which may have been a false header).
 * So one lost record costs its own bytes, and a long gap the records in it, not the rest of the
 * connection. A key change the capture did not show (a lost Finished, KeyUpdate or EndOfEarlyData,
 * or a rejected 0-RTT, RFC 8446 §4.2.10) is found the same way: a record that fails under the
 * current keys is tried under the next ones (handshake → application → KeyUpdate successor, §7.2).
 *
 * 0-RTT (RFC 8446 §4.2.10): early data is decrypted with CLIENT_EARLY_TRAFFIC_SECRET and held (at
 * most MAX_EARLY_DATA_HELD bytes) until the server's verdict is known — a ServerHello without
 * pre_shared_key or a HelloRetryRequest rejects, EncryptedExtensions says, the client's
 * EndOfEarlyData accepts (§4.5), a client record under the handshake keys without it rejects — then
 * handed to HTTP (accepted) or dropped (rejected: the server never read it; the client sends the
 * requests again).
 *
 * Bounded: a record body is buffered up to MAX_RECORD_BODY bytes (RFC 5246 §6.2.3: 2^14 + 2048);
 * a longer one (a tls-record-overflow, as is anything above the version's limit: 2^14 for
 * plaintext, RFC 8446 §5.1 / RFC 5246 §6.2.1; 2^14 + 256 for TLS 1.3 ciphertext, §5.2) streams by
 * without being kept, its framing trusted. Handshake messages are reassembled up to
 * MAX_HANDSHAKE_MESSAGE_BYTES (tls/handshake.ts; larger ones — a 1 MB certificate chain — are
 * skipped and counted); alerts kept MAX_ALERTS; anomalies reported MAX_ANOMALIES_PER_CODE per code
 * (all counted). Anything else is counted, never thrown; work per byte is O(1) amortised, per
 * record at most 2 × (MAX_FAILED_IN_ROW + MAX_SEQ_SKIP + 1) decryption attempts, and a direction
 * stops trying after MAX_FAILED_BEFORE_GIVING_UP failures with no success yet (wrong keys), or
 * MAX_FAILED_IN_ROW failures in a row after successes.
 */
import type { ExchangeSink, RequestDraft } from '../model/exchange.js';
import { emptyTlsInfo } from './explain.js';
import type { AppProtocol, Side, TlsAlert, TlsCertificate, TlsInfo, UndecryptedReason } from '../model/types.js';
import type { EndHow, StreamChunk, StreamInfo, StreamSink } from '../tcp/stream.js';
import { alertDescriptionName, tls13Draft, versionName } from './constants.js';
import { MAX_TLS13_CIPHERTEXT, tls12Cipher, tls13Cipher, type DecryptResult, type RecordCipher } from './cipher.js';
import {
  HandshakeReassembler,
  parseAlert,
  parseCertificate,
  parseClientHello,
  parseEncryptedExtensions,
  parseServerHello,
  type ClientHello,
  type ServerHello,
} from './handshake.js';
import { HASH_LEN, tls12KeyBlock, tls13NextTrafficSecret, VERSION_TLS11 } from './keys.js';
import type { KeyLog } from './keylog.js';
import { suiteName, suiteParams, type SuiteParams } from './suites.js';

/** Largest record body buffered: RFC 5246 §6.2.3, TLSCiphertext.length ≤ 2^14 + 2048. */
export const MAX_RECORD_BODY = (1 << 14) + 2048;
/** RFC 8446 §5.1 / RFC 5246 §6.2.1: TLSPlaintext.length ≤ 2^14. */
export const MAX_PLAINTEXT_RECORD = 1 << 14;
/** RFC 8446 §5.2: TLSCiphertext.length ≤ 2^14 + 256. */
export const MAX_TLS13_RECORD = MAX_TLS13_CIPHERTEXT;
/** Largest record on the wire (header included): the most a lost byte range can hold per record. */
export const MAX_RECORD_WIRE = 5 + MAX_RECORD_BODY;
/** Sequence numbers tried beyond the lowest possible one after a loss. */
export const MAX_SEQ_SKIP = 8;
/** Alerts kept per connection (more are counted). */
export const MAX_ALERTS = 16;
/** Failed decryptions in a row, with no success yet, after which a direction stops trying. */
export const MAX_FAILED_BEFORE_GIVING_UP = 4;
/** Failed decryptions in a row, after successes, after which a direction stops trying. */
export const MAX_FAILED_IN_ROW = 64;
/** Bytes scanned per chunk for a record header after the record boundary was lost. */
export const MAX_RESYNC_SCAN = 64 * 1024;
/** Anomalies reported per connection and code (all are counted). */
export const MAX_ANOMALIES_PER_CODE = 8;
/** 0-RTT plaintext held until the server accepts or rejects it (RFC 8446 §4.2.10). */
export const MAX_EARLY_DATA_HELD = 256 * 1024;
/**
 * TCP chunks remembered before the inner session exists (the handshake flights), replayed to it
 * through onTransport so that a measure of the TCP stream (HTTP/2's head-of-line tracker) sees the
 * connection from its start; later ones before it are not.
 */
export const MAX_TRANSPORT_REPLAY = 32;

const CT_CCS = 20;
const CT_ALERT = 21;
const CT_HANDSHAKE = 22;
const CT_APPDATA = 23;
const CT_HEARTBEAT = 24;

const HS_CLIENT_HELLO = 1;
const HS_SERVER_HELLO = 2;
const HS_NEW_SESSION_TICKET = 4;
const HS_END_OF_EARLY_DATA = 5;
const HS_ENCRYPTED_EXTENSIONS = 8;
const HS_CERTIFICATE = 11;
const HS_SERVER_KEY_EXCHANGE = 12;
const HS_SERVER_HELLO_DONE = 14;
const HS_FINISHED = 20;
const HS_KEY_UPDATE = 24;

const TLS13 = 0x0304;
/** TLS 1.2 Finished: verify_data of 12 octets (RFC 5246 §7.4.9) behind the 4-octet header. */
const TLS12_FINISHED_BYTES = 16;

/** Stable anomaly codes raised by the TLS layer. */
export const TLS_ANOMALY = {
  RECORD_OVERFLOW: 'tls-record-overflow',
  DESYNC: 'tls-record-desync',
  UNDECRYPTABLE: 'tls-record-undecryptable',
  HANDSHAKE: 'tls-handshake-malformed',
  TRUNCATION: 'tls-fin-without-close-notify',
} as const;

export interface TlsSessionOptions {
  /** Key log (file lines and pcapng Decryption Secrets Blocks); null: no keys at all. */
  keys: KeyLog | null;
  /** Capture-wide counters. */
  count(name: string, n?: number): void;
  /** Makes the HTTP session for the plaintext, by the ALPN the server selected (null: sniff). */
  inner(info: StreamInfo, alpn: string | null, out: ExchangeSink): InnerSink;
}

export interface InnerSink extends StreamSink {
  settled?(): Promise<void>;
  busy?(): boolean;
}

/** Which secret a direction's cipher was made from. */
type Epoch = 'none' | 'early' | 'hs' | 'app' | '12';

/** A cipher a direction may move to without having seen the message that announces it. */
interface NextKeys {
  cipher: RecordCipher;
  epoch: Epoch;
  /** The application traffic secret it was made from (KeyUpdate successors derive from it). */
  secret: Uint8Array | null;
}

/** One direction's record layer. */
interface Dir {
  side: Side;
  /** At a known record boundary. */
  synced: boolean;
  /** Framing was regained by scanning since the last decrypted record (framed records may be false). */
  resynced: boolean;
  /** Header bytes of the current record (0..5) and its fields once complete. */
  hdr: Uint8Array;
  hdrLen: number;
  type: number;
  version: number;
  len: number;
  /** Body of the current record (allocated when it spans chunks), bytes filled, lost bytes inside. */
  body: Uint8Array | null;
  filled: number;
  lostInBody: boolean;
  bodyDelivered: number;
  /**
   * The current record's bytes: the transport offset of its header, and the latest capture time
   * (and its packet) among the chunks that carried them — a record is readable only whole, so its
   * plaintext was captured when its last-arriving byte was, whichever chunk completed it in order.
   */
  recStart: number;
  bodyTime: number;
  bodyPacket: number;
  /** Transport offset of the first plaintext octet of the record just decrypted (-1: none). */
  plainAt: number;
  /** The current record is longer than MAX_RECORD_BODY: its body streams by, not kept. */
  skipBody: boolean;
  /** Bytes since the last decrypted record that belong to no framed record (gaps, resync scans). */
  unframed: number;
  /** Of those, the bytes the capture lost (gaps): they held at least one record per MAX_RECORD_WIRE. */
  unframedLost: number;
  /** Records framed since the last decrypted record: in sync (certainly records), after a resync. */
  certain: number;
  uncertain: number;
  /** Decryption: the active cipher, the sequence number after the last record it decrypted. */
  cipher: RecordCipher | null;
  seq: number;
  epoch: Epoch;
  /** Records decrypted in the current epoch. */
  epochOk: number;
  /** The next keys (lazily made; null: none; undefined: not made yet). */
  next: NextKeys | null | undefined;
  appSecret: Uint8Array | null;
  switchToApp: boolean;
  /** 1.2: the peer's ChangeCipherSpec turned encryption on for this direction. */
  encrypted: boolean;
  pending12: RecordCipher | null;
  decryptedOk: number;
  failedInRow: number;
  gaveUp: boolean;
  /** This direction's first Finished was seen (later ones: post-handshake auth, renegotiation). */
  finished: boolean;
  /** This side sent close_notify or a fatal alert: what it sends after is not data (RFC 8446 §6). */
  closedByAlert: boolean;
  /** Handshake messages: cleartext ones, and (1.3) decrypted ones. */
  hs: HandshakeReassembler;
  /** Plaintext stream handed to HTTP. */
  plainOffset: number;
  plainSkip: number;
  startUnseen: boolean;
  /** The reused buffer records spanning chunks are assembled in (see onData). */
  scratch: Uint8Array | null;
  records: number;
  ended: boolean;
}

/** 0-RTT plaintext held until the server's verdict (RFC 8446 §4.2.10). */
interface HeldEarly {
  data: Uint8Array;
  time: number;
  deliveredTime: number;
  packet: number;
  /** Its record's transport range and the offset of its first plaintext octet (see Dir.plainAt). */
  at: number;
  recStart: number;
  recEnd: number;
}

export class TlsSession implements InnerSink {
  private readonly dirs: Record<Side, Dir>;
  private ch: ClientHello | null = null;
  private clientHellos = 0;
  private sh: ServerHello | null = null;
  private suite: SuiteParams | undefined;
  /** TLS 1.3 (or one of its drafts) negotiated: every record after the ServerHello is protected. */
  private tls13 = false;
  private inner: InnerSink | null = null;
  /** The TCP chunk being read (onData), its side, and whether the inner session has seen it. */
  private tcpNow: StreamChunk | null = null;
  private tcpNowSide: Side = 'client';
  private tcpNowFed = false;
  /** TCP chunks before the inner session (times, offsets and lengths only); null once not needed. */
  private preInner: { side: Side; chunk: StreamChunk }[] | null = [];
  private innerMade = false;
  private readonly wrapped: ExchangeSink;
  private readonly facts: TlsInfo;
  private keyLabelsFound = false;
  private keysMismatch = false;
  private unsupported = false;
  /** A direction's start was not captured (capture began mid-connection). */
  private startLost = false;
  /** Bytes of the cleartext handshake were lost to a capture gap. */
  private handshakeGap = false;
  private certSeen = false;
  private abbreviated12: boolean | null = null;
  private alertsDropped = 0;
  private protectedRecords = 0;
  /** The last packet seen (stamps what is reported at capture end). */
  private lastPacket = 0;
  private fatalAlert = false;
  private readonly anomalyCount = new Map<string, number>();
  private clientHandshakeSecret: Uint8Array | null = null;
  /** 0-RTT: the server's verdict on the client's early data, and the plaintext held meanwhile. */
  private earlyVerdict: 'pending' | 'accepted' | 'rejected' = 'pending';
  private readonly earlyHeld: HeldEarly[] = [];
  private earlyHeldBytes = 0;
  /** The chunk whose record is being processed (handshake callbacks stamp times with it). */
  private chunkNow: StreamChunk | null = null;

  constructor(
    private readonly info: StreamInfo,
    private readonly out: ExchangeSink,
    private readonly opts: TlsSessionOptions,
  ) {
    this.dirs = { client: this.mkDir('client'), server: this.mkDir('server') };
    this.facts = emptyTlsInfo();
    // The HTTP session reports through this: the TLS handshake becomes the first request's `ssl`
    // phase (DevTools: sslStart/sslEnd, only on a new connection; HAR 1.2 counts it in connect).
    const tls = this.facts;
    this.wrapped = {
      request: (d: RequestDraft) => {
        if (d.index === 1 && !d.connectionReused && tls.clientHelloTime !== null && d.times.sslStartTime === null) {
          const start = Math.min(tls.clientHelloTime, d.times.requestStartTime);
          const end = Math.min(tls.handshakeEndTime ?? d.times.requestStartTime, d.times.requestStartTime);
          d.times.sslStartTime = start;
          d.times.sslEndTime = Math.max(start, end);
        }
        out.request(d);
      },
      protocol: (p: AppProtocol) => out.protocol(p === 'h2c' ? 'h2' : p),
      anomaly: (a) => out.anomaly(a),
      keepAlive: (k) => out.keepAlive(k),
      closeReason: (r, detail) => out.closeReason(r, detail),
      closeFacts: (f) => out.closeFacts?.(f),
      extra: (f) => out.extra(f),
      h2: (f) => out.h2?.(f),
    };
  }

  private mkDir(side: Side): Dir {
    return {
      side,
      synced: true,
      resynced: false,
      hdr: new Uint8Array(5),
      hdrLen: 0,
      type: 0,
      version: 0,
      len: 0,
      body: null,
      filled: 0,
      lostInBody: false,
      bodyDelivered: 0,
      recStart: 0,
      bodyTime: 0,
      bodyPacket: 0,
      plainAt: -1,
      skipBody: false,
      unframed: 0,
      unframedLost: 0,
      certain: 0,
      uncertain: 0,
      cipher: null,
      seq: 0,
      epoch: 'none',
      epochOk: 0,
      next: undefined,
      appSecret: null,
      switchToApp: false,
      encrypted: false,
      pending12: null,
      decryptedOk: 0,
      failedInRow: 0,
      gaveUp: false,
      finished: false,
      closedByAlert: false,
      hs: new HandshakeReassembler(
        (type, body) => this.onHandshake(side, type, body),
        {},
        (type) => this.onHandshakeSkipped(side, type),
      ),
      plainOffset: 0,
      plainSkip: 0,
      startUnseen: false,
      scratch: null,
      records: 0,
      ended: false,
    };
  }

  settled(): Promise<void> {
    return this.inner?.settled?.() ?? Promise.resolve();
  }

  busy(): boolean {
    return this.inner?.busy?.() ?? false;
  }

  /** A connection anomaly: the first MAX_ANOMALIES_PER_CODE of each code are reported. */
  private anomaly(code: string, chunk: { packet?: number; time?: number } | null, detail: string): void {
    const n = (this.anomalyCount.get(code) ?? 0) + 1;
    this.anomalyCount.set(code, n);
    if (n <= MAX_ANOMALIES_PER_CODE) this.out.anomaly({ code, packet: chunk?.packet, time: chunk?.time, detail });
  }

  // ------------------------------------------------------------------ record framing

  onData(side: Side, chunk: StreamChunk): void {
    const d = this.dirs[side];
    if (chunk.packet > this.lastPacket) this.lastPacket = chunk.packet;
    // The inner session sees the TCP chunk before the plaintext it completes (StreamSink.onTransport).
    this.tcpNow = chunk;
    this.tcpNowSide = side;
    this.tcpNowFed = this.inner !== null;
    if (this.inner !== null) this.inner.onTransport?.(side, chunk);
    else if (this.preInner !== null && this.preInner.length < MAX_TRANSPORT_REPLAY && chunk.data.length > 0) {
      // Lengths matter, not bytes: a view on a shared zero buffer where it is long enough.
      const n = chunk.data.length;
      const data = n <= ZEROS.length ? ZEROS.subarray(0, n) : new Uint8Array(n);
      this.preInner.push({ side, chunk: { ...chunk, data } });
    }
    if (chunk.skipped !== 0) this.gap(d, chunk);
    const data = chunk.data;
    let i = 0;
    const n = data.length;
    if (side === 'client' && d.records === 0 && d.synced && d.hdrLen === 0 && this.ch === null && chunk.skipped === 0) i = this.sslv2Hello(data, chunk);
    while (i < n) {
      if (!d.synced) {
        const at = findRecordStart(data, i);
        if (at < 0) {
          d.unframed += n - i;
          return;
        }
        d.unframed += at - i;
        i = at;
        d.synced = true;
        d.resynced = true;
        d.hdrLen = 0;
        this.opts.count('tlsRecordResyncs');
      }
      if (d.skipBody) {
        // An oversized record streams by; its framing is trusted.
        const take = Math.min(d.len - d.filled, n - i);
        d.filled += take;
        i += take;
        if (d.filled === d.len) {
          d.skipBody = false;
          d.hdrLen = 0;
          this.record(d, null, chunk);
        }
        continue;
      }
      if (d.hdrLen < 5) {
        // Fast path: a whole record inside this chunk, at a boundary: no copy.
        if (d.hdrLen === 0 && n - i >= 5) {
          d.recStart = chunk.offset + i;
          const len = (data[i + 3] << 8) | data[i + 4];
          if (!this.header(d, data[i], data[i + 1], data[i + 2], len, chunk)) {
            // Framing lost: the scan resumes right after this header's first byte.
            d.unframed += 1;
            i += 1;
            continue;
          }
          if (n - i - 5 >= len) {
            d.bodyDelivered = chunk.deliveredTime;
            d.bodyTime = chunk.time;
            d.bodyPacket = chunk.packet;
            d.lostInBody = false;
            this.record(d, data.subarray(i + 5, i + 5 + len), chunk);
            i += 5 + len;
            continue;
          }
        }
        if (d.hdrLen === 0) {
          d.recStart = chunk.offset + i;
          d.bodyTime = chunk.time;
          d.bodyPacket = chunk.packet;
        } else if (chunk.time > d.bodyTime) {
          d.bodyTime = chunk.time;
          d.bodyPacket = chunk.packet;
        }
        while (d.hdrLen < 5 && i < n) d.hdr[d.hdrLen++] = data[i++];
        if (d.hdrLen < 5) return;
        const h = d.hdr;
        const len = (h[3] << 8) | h[4];
        if (!this.header(d, h[0], h[1], h[2], len, chunk)) {
          d.unframed += 5;
          continue;
        }
        d.filled = 0;
        d.lostInBody = false;
        d.bodyDelivered = chunk.deliveredTime;
        if (len > MAX_RECORD_BODY) {
          d.skipBody = true;
          d.body = null;
          continue;
        }
        // One buffer per direction, reused: a record's bytes are only read while it is processed
        // (decryption output and anything kept are copies), and a fresh zeroed buffer per record
        // cost ~8% of an HTTPS run.
        if (len > 0) {
          if (d.scratch === null || d.scratch.length < len) d.scratch = new Uint8Array(Math.max(len, Math.min(MAX_RECORD_BODY, 2 * (d.scratch?.length ?? 1024))));
          d.body = d.scratch.subarray(0, len);
        } else d.body = null;
      }
      const take = Math.min(d.len - d.filled, n - i);
      if (take > 0) {
        d.body!.set(data.subarray(i, i + take), d.filled);
        d.filled += take;
        i += take;
      }
      if (chunk.deliveredTime > d.bodyDelivered) d.bodyDelivered = chunk.deliveredTime;
      if (chunk.time > d.bodyTime) {
        d.bodyTime = chunk.time;
        d.bodyPacket = chunk.packet;
      }
      if (d.filled === d.len) {
        const body = d.body ?? new Uint8Array(0);
        d.body = null;
        d.hdrLen = 0;
        // Completed in order by this chunk, but captured whole only when its latest byte was.
        const at = d.bodyTime > chunk.time ? { ...chunk, time: d.bodyTime, packet: d.bodyPacket } : chunk;
        this.record(d, d.lostInBody ? null : body, at);
      }
    }
  }

  /**
   * RFC 5246 Appendix E.2: an SSL 2.0-compatible ClientHello opens the client's stream (2-byte
   * length with the high bit set, msg_type 1, version, cipher_spec/session_id/challenge lengths,
   * 3-byte cipher specs, session id, challenge). It is read as the equivalent TLS ClientHello (the
   * challenge, right-aligned in 32 zero bytes, is the client random; specs of the form 0x00XXXX
   * are TLS cipher suites; no extensions). Returns the bytes consumed (0: not one, or not whole).
   */
  private sslv2Hello(data: Uint8Array, chunk: StreamChunk): number {
    if (data.length < 11 || (data[0] & 0x80) === 0 || data[2] !== 1 || data[3] !== 3) return 0;
    const len = ((data[0] & 0x7f) << 8) | data[1];
    if (data.length < 2 + len || len < 9) return 0;
    const m = data.subarray(2, 2 + len);
    const specLen = (m[3] << 8) | m[4];
    const sidLen = (m[5] << 8) | m[6];
    const chLen = (m[7] << 8) | m[8];
    if (9 + specLen + sidLen + chLen !== m.length || specLen % 3 !== 0 || chLen < 16 || chLen > 32) return 0;
    const suites: number[] = [];
    for (let o = 9; o < 9 + specLen; o += 3) if (m[o] === 0) suites.push((m[o + 1] << 8) | m[o + 2]);
    const sid = m.subarray(9 + specLen, 9 + specLen + sidLen);
    const challenge = m.subarray(9 + specLen + sidLen);
    const body = new Uint8Array(2 + 32 + 1 + sid.length + 2 + 2 * suites.length + 2);
    let o = 0;
    body[o++] = m[1];
    body[o++] = m[2];
    body.set(challenge, o + 32 - challenge.length);
    o += 32;
    body[o++] = sid.length;
    body.set(sid, o);
    o += sid.length;
    body[o++] = (2 * suites.length) >> 8;
    body[o++] = (2 * suites.length) & 0xff;
    for (const cs of suites) {
      body[o++] = cs >> 8;
      body[o++] = cs & 0xff;
    }
    body[o++] = 1; // compression_methods: null only
    body[o++] = 0;
    this.opts.count('tlsSslv2CompatibleClientHello');
    this.dirs.client.records++;
    this.facts.records.client++;
    this.chunkNow = chunk;
    this.onHandshake('client', HS_CLIENT_HELLO, body);
    return 2 + len;
  }

  /**
   * RFC 8446 §5.1 / RFC 5246 §6.2.1: a plausible record header (content type 20–24, version 3.x),
   * else the framing is lost (false). A length above the limit of its kind is a record_overflow
   * (§5.2 / §6.2.3): reported, and the framing kept (true): the header is otherwise well formed.
   */
  private header(d: Dir, type: number, v0: number, v1: number, len: number, chunk: StreamChunk): boolean {
    if (type < CT_CCS || type > CT_HEARTBEAT || v0 !== 3 || v1 > 4) {
      this.opts.count('tlsRecordDesync');
      this.anomaly(TLS_ANOMALY.DESYNC, chunk, `${d.side} bytes are not a TLS record header (type ${type}, version ${v0}.${v1}); framing lost`);
      d.synced = false;
      d.hdrLen = 0;
      d.body = null;
      return false;
    }
    d.type = type;
    d.version = (v0 << 8) | v1;
    d.len = len;
    const prot = this.isProtected(d, type);
    const limit = !prot ? MAX_PLAINTEXT_RECORD : this.tls13 ? MAX_TLS13_RECORD : MAX_RECORD_BODY;
    if (len > limit) {
      this.opts.count('tlsRecordOverflow');
      const rule = !prot
        ? '2^14 for a plaintext record (RFC 8446 §5.1, RFC 5246 §6.2.1)'
        : this.tls13
          ? '2^14 + 256 for a TLS 1.3 record (RFC 8446 §5.2)'
          : '2^14 + 2048 (RFC 5246 §6.2.3)';
      this.anomaly(TLS_ANOMALY.RECORD_OVERFLOW, chunk, `${d.side} record of ${len} bytes exceeds ${rule}`);
    }
    return true;
  }

  /**
   * Whether a record of this type is protected. TLS 1.3 disguises every protected record as
   * application_data (RFC 8446 §5.2: opaque_type is always 23); its ChangeCipherSpec (§D.4) and a
   * plaintext alert sent before keys are in place are never protected. TLS ≤ 1.2 protects every
   * record after the sender's ChangeCipherSpec (RFC 5246 §7.1).
   */
  private isProtected(d: Dir, type: number): boolean {
    if (type === CT_APPDATA) return true;
    return d.encrypted && !this.tls13;
  }

  /** Bytes never captured: inside a record body they spoil that record; across a header, the framing. */
  private gap(d: Dir, chunk: StreamChunk): void {
    let skipped = chunk.skipped;
    if (skipped < 0) {
      // The capture starts mid-stream: no handshake, no record boundary.
      d.startUnseen = true;
      d.synced = false;
      this.startLost = true;
      return;
    }
    if (!d.synced) {
      d.unframed += skipped;
      d.unframedLost += skipped;
      return;
    }
    if (d.hdrLen === 5) {
      const left = d.len - d.filled;
      if (skipped < left) {
        d.filled += skipped;
        d.lostInBody = true;
        return;
      }
      // The record ends inside the gap: it is lost; what follows is at a record boundary only if
      // the gap ends exactly where the record does.
      d.filled = d.len;
      d.body = null;
      d.hdrLen = 0;
      d.skipBody = false;
      d.lostInBody = true;
      this.record(d, null, chunk);
      skipped -= left;
      if (skipped === 0) return;
    }
    if (!d.encrypted && d.epoch === 'none') {
      this.handshakeGap = true;
      d.hs.reset();
    }
    d.unframed += d.hdrLen + skipped;
    d.unframedLost += skipped;
    d.synced = false;
    d.hdrLen = 0;
  }

  // ------------------------------------------------------------------ records

  /** One framed record; `body` null when its bytes were (partly) lost to the capture. */
  private record(d: Dir, body: Uint8Array | null, chunk: StreamChunk): void {
    d.records++;
    if (d.side === 'client') this.facts.records.client++;
    else this.facts.records.server++;
    // A body over MAX_RECORD_BODY is never kept (whether or not it came in one chunk).
    const oversized = d.len > MAX_RECORD_BODY;
    if (!this.isProtected(d, d.type)) {
      if (body === null || oversized) {
        if (d.type === CT_HANDSHAKE) {
          // RFC 8446 §5.1: a message cannot be completed across a record that is gone.
          d.hs.reset();
          if (body === null && !oversized) this.handshakeGap = true;
          else this.opts.count('tlsHandshakeRecordsNotKept');
        }
        return;
      }
      this.cleartext(d, d.type, body, chunk);
      return;
    }
    this.protectedRecords++;
    // TLS 1.2: application data before this direction's ChangeCipherSpec means the CCS was lost to
    // the capture (RFC 5246 §7.1: nothing is protected before it).
    if (!this.tls13 && !d.encrypted && d.pending12 && this.sh) {
      this.opts.count('tlsChangeCipherSpecInferred');
      d.encrypted = true;
      this.switchTo(d, d.pending12, '12');
      d.pending12 = null;
    }
    if (oversized) {
      this.undecryptable(d, chunk, `longer than ${MAX_RECORD_BODY} bytes, not kept`, 'doubtful');
      return;
    }
    if (body === null) {
      this.undecryptable(d, chunk, 'bytes of this record were not captured');
      return;
    }
    if (this.tls13 && d.len > MAX_TLS13_RECORD) {
      this.undecryptable(d, chunk, 'longer than 2^14 + 256 bytes (RFC 8446 §5.2)', 'doubtful');
      return;
    }
    if (d.gaveUp || (!d.cipher && !this.nextOf(d))) {
      // No plaintext is coming from this direction: nothing to replay TCP chunks to.
      this.preInner = null;
      if (d.type === CT_APPDATA) this.facts.records.applicationData++;
      this.noteProtectedWithoutKeys(d, chunk);
      if (d.decryptedOk > 0 && !(d.epoch === '12' && d.type !== CT_APPDATA)) this.lostPlain(d, this.plainOf(d.len));
      return;
    }
    const res = this.decrypt(d, body);
    if (res === null) {
      // Evidence against the keys where this epoch's keys were there and the record cannot be one
      // the key log has no secret for: a handshake record without the handshake secret, 0-RTT data
      // (captured after the ServerHello) without the early secret. Otherwise a direction keeps
      // trying longer, as it does after a success (a long gap).
      const unsure = !d.cipher || d.epoch === 'early' || (d.side === 'client' && this.facts.earlyData !== 'none' && d.epoch === 'hs' && d.epochOk === 0);
      d.failedInRow++;
      if (d.decryptedOk === 0 && !unsure) this.keysMismatch = true;
      if (d.failedInRow >= (d.decryptedOk === 0 && !unsure ? MAX_FAILED_BEFORE_GIVING_UP : MAX_FAILED_IN_ROW)) {
        d.gaveUp = true;
        if (d.decryptedOk === 0) this.keysMismatch = true;
        this.opts.count('tlsDecryptionAbandoned');
      }
      // Without this epoch's keys the timing facts come from the record layer, as with no keys.
      if (!d.cipher) this.noteProtectedWithoutKeys(d, chunk);
      this.undecryptable(d, chunk, 'the record did not authenticate with the logged keys');
      return;
    }
    if (res.ok === false) {
      // RFC 8446 §5.4: authentic, but the TLSInnerPlaintext has no content type.
      this.undecryptable(d, chunk, 'TLSInnerPlaintext without a content type (RFC 8446 §5.4)', 'known');
      return;
    }
    d.failedInRow = 0;
    d.decryptedOk++;
    d.epochOk++;
    this.facts.decrypted = true;
    d.plainAt = d.recStart + 5 + (d.cipher?.plaintextAt ?? 0);
    this.decrypted(d, res.type, res.data, chunk);
    if (d.switchToApp) {
      d.switchToApp = false;
      this.useApp(d);
    }
  }

  /**
   * Decrypts the current record at the sequence numbers it can have (see the module comment),
   * under the current keys and then the next ones. Null when it does not authenticate; a failure
   * result for an authentic record whose content is unusable.
   */
  private decrypt(d: Dir, body: Uint8Array): DecryptResult | null {
    if (d.cipher) {
      const low = d.seq + d.certain + Math.ceil(d.unframedLost / this.maxWire());
      const w = this.tryWindow(d, d.cipher, low, low + Math.min(d.uncertain, MAX_FAILED_IN_ROW) + MAX_SEQ_SKIP, body);
      if (w) {
        this.accept(d, w.seq);
        return w.result;
      }
    }
    // The current keys fail: the next epoch may have begun unseen — a Finished or KeyUpdate lost
    // to the capture, an EndOfEarlyData never sent because the server rejected 0-RTT (§4.2.10).
    const nx = this.nextOf(d);
    if (!nx) return null;
    const w = this.tryWindow(d, nx.cipher, 0, Math.min(d.certain + d.uncertain, MAX_FAILED_IN_ROW) + MAX_SEQ_SKIP, body);
    if (!w) return null;
    const prev = d.epoch;
    this.switchTo(d, nx.cipher, nx.epoch);
    if (nx.secret) d.appSecret = nx.secret;
    this.opts.count('tlsKeyChangeInferred');
    if (prev === 'early') this.earlyDecided(false);
    this.accept(d, w.seq, prev);
    return w.result;
  }

  /** The first sequence number in low..high under which the record authenticates. */
  private tryWindow(d: Dir, c: RecordCipher, low: number, high: number, body: Uint8Array): { seq: number; result: DecryptResult } | null {
    for (let s = Math.max(low, 0); s <= high; s++) {
      const r = c.decrypt(s, d.type, d.version, body);
      // TLS 1.3 'padding' (no content type) is reported after the AEAD tag verified (cipher.ts).
      if (r.ok || (r.reason === 'padding' && this.tls13)) return { seq: s, result: r };
      if (r.reason === 'length') return null;
    }
    return null;
  }

  /**
   * The record at sequence number `s` decrypted: records between the last decrypted one and it
   * that were never framed (lost whole, or cut at their header) lost their plaintext — exactly,
   * with the suite's fixed expansion per record; records framed but undecryptable were accounted
   * when they failed. `prevEpoch`: the record is the first seen under new keys (see decrypt).
   */
  private accept(d: Dir, s: number, prevEpoch?: Epoch): void {
    let unknown = Math.max(0, s - d.seq - d.certain - d.uncertain);
    let bytes = d.unframed;
    if (unknown > 0) this.opts.count('tlsRecordsSkippedBySeq', unknown);
    if (prevEpoch !== undefined && unknown === 0) {
      // The record that announced the change was lost (a KeyUpdate: 5 octets of plaintext, RFC 8446
      // §4.6.3), perhaps with records of the old epoch before it: assume full ones.
      const rest = bytes - 5 - this.wireOf(5);
      if (rest > 0 && isAppEpoch(prevEpoch)) this.lostPlain(d, Math.max(1, this.plainOfRecords(rest, Math.ceil(rest / this.maxWire()))));
    } else if (unknown > 0 && bytes > 0) {
      if (d.epoch === '12' && d.epochOk === 0 && d.seq === 0 && d.certain + d.uncertain === 0) {
        // TLS 1.2: the first record after ChangeCipherSpec is Finished (RFC 5246 §7.4.9), not data.
        unknown--;
        bytes -= 5 + this.wireOf(TLS12_FINISHED_BYTES);
      }
      if (unknown > 0) this.lostPlain(d, Math.max(unknown, this.plainOfRecords(bytes, unknown)));
    }
    d.seq = s + 1;
    d.unframed = 0;
    d.unframedLost = 0;
    d.certain = 0;
    d.uncertain = 0;
    d.resynced = false;
  }

  /**
   * A framed record that could not be decrypted; its plaintext is lost. It used a sequence number:
   * certainly when framed in sync by a conforming sender, perhaps when framed after a resync or
   * when no conforming sender could have sent it (oversized), already accounted when `seq` is
   * 'known' (authentic, see accept).
   */
  private undecryptable(d: Dir, at: { time: number; packet: number }, why: string, seq: 'framed' | 'doubtful' | 'known' = 'framed'): void {
    this.facts.undecryptableRecords++;
    this.opts.count('tlsRecordsUndecryptable');
    if (seq !== 'known') {
      if (d.resynced || seq === 'doubtful') d.uncertain++;
      else d.certain++;
    }
    // RFC 8446 §5.1: a handshake message cannot span a record that is gone.
    d.hs.reset();
    if (!(d.epoch === '12' && d.type !== CT_APPDATA)) this.lostPlain(d, this.plainOf(d.len));
    this.anomaly(TLS_ANOMALY.UNDECRYPTABLE, at, `${d.side} record of ${d.len} bytes: ${why}`);
  }

  /** Plaintext octets lost (counted only in the epochs that carry application data). */
  private lostPlain(d: Dir, n: number): void {
    if (n > 0 && isAppEpoch(d.epoch)) d.plainSkip += n;
  }

  /**
   * Plaintext length of a protected record body of `len` bytes: exact for AEAD suites (a fixed
   * expansion); for CBC (RFC 5246 §6.2.3.2, RFC 7366) the padding is unknown, and the content is
   * taken as the largest whole number of blocks that fits — exact for full records (2^14 octets)
   * and for any content of whole blocks with the minimal padding stacks use, short by less than a
   * block otherwise.
   */
  private plainOf(len: number): number {
    const p = this.suite;
    if (p && !this.tls13 && p.mode === 'cbc') return Math.max(0, Math.floor((len - this.cbcIv() - p.macLen - 1) / p.blockLen) * p.blockLen);
    return Math.max(0, len - this.overhead());
  }

  /** Plaintext of `k` protected records taking `bytes` on the wire (headers included), sizes alike. */
  private plainOfRecords(bytes: number, k: number): number {
    if (k <= 0) return 0;
    const p = this.suite;
    if (p && !this.tls13 && p.mode === 'cbc') {
      const each = Math.floor(bytes / k);
      return k * this.plainOf(each - 5) + (bytes - each * k);
    }
    return bytes - k * (5 + this.overhead());
  }

  /** Body length of a protected record carrying `plain` octets (CBC: minimal padding). */
  private wireOf(plain: number): number {
    const p = this.suite;
    if (p && !this.tls13 && p.mode === 'cbc') {
      const etm = this.sh?.encryptThenMac === true;
      const padded = Math.ceil((plain + 1 + (etm ? 0 : p.macLen)) / p.blockLen) * p.blockLen;
      return this.cbcIv() + padded + (etm ? p.macLen : 0);
    }
    return plain + this.overhead();
  }

  /** CBC: the explicit IV of TLS ≥ 1.1 (RFC 4346 §6.2.3.2); TLS 1.0 has none. */
  private cbcIv(): number {
    return this.sh && this.sh.version >= VERSION_TLS11 ? this.suite!.blockLen : 0;
  }

  /**
   * Fixed per-record expansion of the negotiated suite: TLS 1.3 tag + content type (RFC 8446
   * §5.2, no padding); TLS 1.2 GCM/CCM explicit nonce + tag (RFC 5288 §3, RFC 6655 §3);
   * ChaCha20-Poly1305 tag (RFC 7905 §2); CBC explicit IV (TLS ≥ 1.1) + MAC + padding_length (the
   * padding itself unknown: see plainOf).
   */
  private overhead(): number {
    const p = this.suite;
    if (!p) return 0;
    if (this.tls13) return p.tagLen + 1;
    if (p.mode === 'cbc') return this.cbcIv() + p.macLen + 1;
    return p.mode === 'chacha20' ? p.tagLen : 8 + p.tagLen;
  }

  /** Largest protected record on the wire for the negotiated version (header included). */
  private maxWire(): number {
    if (this.tls13) return 5 + MAX_TLS13_RECORD;
    const p = this.suite;
    if (p && p.mode !== 'cbc') return 5 + MAX_PLAINTEXT_RECORD + this.overhead();
    return MAX_RECORD_WIRE;
  }

  /**
   * Protected records without keys. TLS 1.2: after ChangeCipherSpec the first record is Finished
   * (handshake type on the outer header), application data is type 23. TLS 1.3: the client's first
   * protected record after the ServerHello is its Finished (early data comes before the
   * ServerHello), so the handshake ends for the client there; later type-23 records are data.
   */
  private noteProtectedWithoutKeys(d: Dir, chunk: StreamChunk): void {
    const f = this.facts;
    if (this.tls13) {
      if (d.side === 'client' && this.sh) {
        if (!d.finished) {
          d.finished = true;
          if (f.handshakeEndTime === null) f.handshakeEndTime = chunk.time;
        } else if (f.firstAppDataTime.client === null) f.firstAppDataTime.client = chunk.time;
      } else if (d.side === 'server' && f.handshakeEndTime !== null && f.firstAppDataTime.server === null) {
        f.firstAppDataTime.server = chunk.time;
      }
      return;
    }
    if (d.type === CT_HANDSHAKE) {
      // 1.2 Finished, the first protected handshake record of each side (later ones would be a
      // renegotiation, RFC 5746): the client's handshake ends with the last of the two.
      if (!d.finished) {
        d.finished = true;
        if (f.handshakeEndTime === null || chunk.time > f.handshakeEndTime) f.handshakeEndTime = chunk.time;
      }
    } else if (d.type === CT_APPDATA) {
      if (f.firstAppDataTime[d.side] === null) f.firstAppDataTime[d.side] = chunk.time;
    } else if (d.type === CT_ALERT) {
      this.alert(d, null, chunk);
    }
  }

  private cleartext(d: Dir, type: number, body: Uint8Array, chunk: StreamChunk): void {
    switch (type) {
      case CT_HANDSHAKE:
        this.chunkNow = chunk;
        d.hs.push(body);
        return;
      case CT_CCS:
        // RFC 5246 §7.1: from the next record on this direction is protected. (A TLS 1.3
        // compatibility CCS, RFC 8446 §D.4, e.g. after a HelloRetryRequest, changes nothing.)
        if (this.sh && !this.tls13 && !d.encrypted) {
          d.encrypted = true;
          if (d.pending12) {
            this.switchTo(d, d.pending12, '12');
            d.pending12 = null;
          }
        }
        return;
      case CT_ALERT:
        this.alert(d, body, chunk);
        return;
      default:
        return;
    }
  }

  /** RFC 8446 §6 / RFC 5246 §7.2. close_notify (0) is the orderly end of a side's writes (§6.1). */
  private alert(d: Dir, body: Uint8Array | null, chunk: StreamChunk): void {
    const a = body ? parseAlert(body) : null;
    if (a && a.description === 0) this.facts.closeNotify[d.side] = true;
    if (a && a.level === 2) this.fatalAlert = true;
    if (a && (a.description === 0 || a.level === 2)) d.closedByAlert = true;
    if (this.facts.alerts.length >= MAX_ALERTS) {
      this.alertsDropped++;
      return;
    }
    const rec: TlsAlert = {
      side: d.side,
      level: a ? a.level : null,
      description: a ? alertDescriptionName(a.description) : null,
      time: chunk.time,
      packet: chunk.packet,
    };
    this.facts.alerts.push(rec);
  }

  private decrypted(d: Dir, type: number, data: Uint8Array, chunk: StreamChunk): void {
    switch (type) {
      case CT_APPDATA:
        this.facts.records.applicationData++;
        if (this.facts.firstAppDataTime[d.side] === null) this.facts.firstAppDataTime[d.side] = chunk.time;
        this.plaintext(d, data, chunk);
        return;
      case CT_HANDSHAKE:
        this.chunkNow = chunk;
        d.hs.push(data);
        return;
      case CT_ALERT:
        this.alert(d, data, chunk);
        return;
      default:
        return;
    }
  }

  private plaintext(d: Dir, data: Uint8Array, chunk: StreamChunk): void {
    if (d.closedByAlert) {
      // RFC 8446 §6.1: "Any data received after a closure alert has been received MUST be
      // ignored"; §6.2: after a fatal alert the connection is closed at once.
      this.opts.count('tlsDataAfterClosureAlert', data.length);
      return;
    }
    if (d.epoch === 'early') {
      // RFC 8446 §4.2.10: early data counts only if the server accepts it.
      if (this.earlyVerdict === 'rejected') {
        this.opts.count('tlsEarlyDataBytesRejected', data.length);
        return;
      }
      if (this.earlyVerdict === 'pending') {
        if (this.earlyHeldBytes + data.length <= MAX_EARLY_DATA_HELD) {
          this.earlyHeld.push({
            data: new Uint8Array(data),
            time: chunk.time,
            deliveredTime: Math.max(chunk.deliveredTime, d.bodyDelivered),
            packet: chunk.packet,
            at: d.plainAt,
            recStart: d.recStart,
            recEnd: d.recStart + 5 + d.len,
          });
          this.earlyHeldBytes += data.length;
          return;
        }
        this.opts.count('tlsEarlyDataNotHeld');
        this.earlyDecided(true, true);
      }
    } else if (this.earlyHeld.length > 0) {
      // Other plaintext is due before the verdict (keys for it are missing): early data first.
      this.earlyDecided(true, true);
    }
    if (data.length === 0) return;
    this.deliver(d, data, chunk.time, Math.max(chunk.deliveredTime, d.bodyDelivered), chunk.packet, d.plainAt, d.recStart, d.recStart + 5 + d.len);
  }

  /** Hands plaintext (or, with empty `data`, only a pending loss) to the HTTP session. */
  private deliver(d: Dir, data: Uint8Array, time: number, deliveredTime: number, packet: number, at = -1, recStart = 0, recEnd = 0): void {
    if (!this.innerMade) {
      if (data.length === 0) return;
      this.innerMade = true;
      // The plaintext starts where the handshake did: seen when both hellos were, whatever TCP saw.
      const innerInfo: StreamInfo = {
        id: this.info.id,
        client: this.info.client,
        server: this.info.server,
        scheme: 'https',
        transport: 'tls',
        startSeen: !this.dirs.client.startUnseen && !this.dirs.server.startUnseen,
      };
      this.inner = this.opts.inner(innerInfo, this.facts.alpn.selected, this.wrapped);
      // The TCP chunks so far, the one being read now last (it carries this plaintext): the inner
      // session sees them before the plaintext.
      const pre = this.preInner;
      this.preInner = null;
      const inner = this.inner;
      if (inner?.onTransport) {
        const t = this.tcpNow;
        for (const p of pre ?? []) if (p.chunk.packet !== t?.packet || p.side !== this.tcpNowSide) inner.onTransport(p.side, p.chunk);
        if (t !== null && !this.tcpNowFed) {
          this.tcpNowFed = true;
          inner.onTransport(this.tcpNowSide, t);
        }
      }
    }
    const skipped = d.startUnseen && d.plainOffset === 0 ? -1 : d.plainSkip;
    if (data.length === 0 && skipped <= 0) return;
    d.plainOffset += d.plainSkip;
    d.plainSkip = 0;
    const c: StreamChunk =
      at >= 0
        ? { data, offset: d.plainOffset, skipped, time, deliveredTime, packet, transportOffset: at, transportStart: recStart, transportEnd: recEnd }
        : { data, offset: d.plainOffset, skipped, time, deliveredTime, packet };
    d.plainOffset += data.length;
    d.startUnseen = false;
    this.inner?.onData(d.side, c);
  }

  /** The server's verdict on 0-RTT (or none coming: `undecided`): held early data goes or stays. */
  private earlyDecided(accepted: boolean, undecided = false): void {
    if (this.earlyVerdict !== 'pending') return;
    if (undecided) this.opts.count('tlsEarlyDataUndecided');
    this.earlyVerdict = accepted ? 'accepted' : 'rejected';
    const f = this.facts;
    if (!undecided && f.earlyData === 'offered') {
      f.earlyData = accepted ? 'accepted' : 'rejected';
      // RFC 8446 §2.3: with 0-RTT accepted the client's data went in the first flight.
      if (accepted && this.tls13) f.handshakeRtts = 0;
    }
    const held = this.earlyHeld.splice(0);
    this.earlyHeldBytes = 0;
    if (!accepted) {
      let n = 0;
      for (const h of held) n += h.data.length;
      if (n > 0) this.opts.count('tlsEarlyDataBytesRejected', n);
      return;
    }
    const d = this.dirs.client;
    for (const h of held) this.deliver(d, h.data, h.time, h.deliveredTime, h.packet, h.at, h.recStart, h.recEnd);
  }

  // ------------------------------------------------------------------ handshake

  private onHandshakeSkipped(side: Side, type: number): void {
    // Longer than MAX_HANDSHAKE_MESSAGE_BYTES: not buffered (a 1 MB certificate chain).
    this.opts.count('tlsHandshakeMessagesSkipped');
    if (side === 'server' && type === HS_CERTIFICATE) {
      this.certSeen = true;
      if (this.abbreviated12 === null && !this.tls13) this.abbreviated12 = false;
    }
  }

  private onHandshake(side: Side, type: number, body: Uint8Array): void {
    const chunk = this.chunkNow;
    const time = chunk?.time ?? 0;
    const f = this.facts;
    const d = this.dirs[side];
    if (side === 'client') {
      if (type === HS_CLIENT_HELLO) {
        // RFC 8446 §4.1.2: one ClientHello, and a second only in answer to a HelloRetryRequest
        // (§4.1.4); later ones (a TLS 1.2 renegotiation, RFC 5746) do not change the facts.
        if (this.sh || (this.ch && !(f.helloRetry && this.clientHellos === 1))) {
          this.opts.count('tlsHandshakeMessagesIgnored');
          return;
        }
        const r = parseClientHello(body);
        if (!r.ok) return this.malformed(side, 'ClientHello', r.detail);
        const again = this.ch !== null;
        this.clientHellos++;
        // The first record of the client's stream: its start is seen, whatever TCP saw.
        if (!again) d.startUnseen = false;
        this.countSkipped(r.value);
        this.ch = r.value;
        const ch = r.value;
        if (!again) f.clientHelloTime = time;
        f.sni = ch.sni;
        f.alpn.offered = ch.alpn;
        f.resumptionOffered = ch.pskIdentities > 0 || ch.sessionTicket === 'present' || (ch.sessionId.length > 0 && !ch.supportedVersions.includes(TLS13));
        // RFC 8446 §4.1.2: after a HelloRetryRequest the client removes early_data.
        if (ch.earlyData && !again) {
          f.earlyData = 'offered';
          this.armEarly();
        }
        return;
      }
      if (type === HS_END_OF_EARLY_DATA) {
        // RFC 8446 §4.5: sent only when the server accepted 0-RTT; the last early-key record.
        if (d.epoch === 'early') {
          this.earlyDecided(true);
          this.switchClientToHandshake(d);
        }
        return;
      }
      if (type === HS_FINISHED) {
        if (this.tls13) {
          // The handshake Finished (§4.4.4); a later one is post-handshake authentication (§4.6.2).
          if (d.epoch === 'hs' && !d.finished) {
            d.finished = true;
            f.handshakeEndTime = time;
            d.switchToApp = true;
          }
        } else if (!d.finished) {
          d.finished = true;
          if (f.handshakeEndTime === null || time > f.handshakeEndTime) f.handshakeEndTime = time;
        }
        return;
      }
      if (type === HS_KEY_UPDATE) return this.keyUpdate(d);
      return;
    }
    // Server.
    switch (type) {
      case HS_SERVER_HELLO: {
        if (this.sh) {
          this.opts.count('tlsHandshakeMessagesIgnored');
          return;
        }
        const r = parseServerHello(body);
        if (!r.ok) return this.malformed(side, 'ServerHello', r.detail);
        const sh = r.value;
        d.startUnseen = false;
        this.countSkipped(sh);
        if (sh.helloRetryRequest) {
          // RFC 8446 §4.1.4: one more round trip; the real ServerHello follows the second
          // ClientHello. A client that receives a second HelloRetryRequest aborts.
          if (f.helloRetry) return this.malformed(side, 'HelloRetryRequest', 'a second HelloRetryRequest (RFC 8446 §4.1.4)');
          f.helloRetry = true;
          // RFC 8446 §4.2.10: a server that answers with a HelloRetryRequest rejects 0-RTT.
          this.earlyDecided(false);
          return;
        }
        this.sh = sh;
        f.serverHelloTime = time;
        f.versionCode = sh.version;
        f.version = versionName(sh.version);
        f.cipherSuiteCode = sh.cipherSuite;
        f.cipherSuite = suiteName(sh.cipherSuite);
        const draft = tls13Draft(sh.version) !== null;
        this.tls13 = sh.version === TLS13 || draft;
        this.suite = suiteParams(sh.cipherSuite);
        // TLS 1.3 drafts have other key schedules: their facts are read, their records not.
        this.unsupported = draft || !this.suite || (this.tls13 ? !this.suite.tls13 : this.suite.tls13 || sh.version < 0x0301 || sh.version > 0x0303);
        if (this.tls13) {
          f.resumed = sh.pskSelected !== null;
          f.handshakeRtts = f.helloRetry ? 2 : 1;
          // RFC 8446 §4.2.10: 0-RTT needs the PSK accepted.
          if (sh.pskSelected === null) this.earlyDecided(false);
          // RFC 8446 §2: everything after the ServerHello is protected, both ways.
          this.dirs.server.encrypted = true;
          this.dirs.client.encrypted = true;
        } else {
          if (sh.alpn !== null) f.alpn.selected = sh.alpn;
          if (sh.sessionTicket) f.ticketIssued = true;
          const ch = this.ch;
          // RFC 5246 §7.3: a session id echoed from the ClientHello resumes that session.
          if (ch && ch.sessionId.length > 0 && equalBytes(ch.sessionId, sh.sessionId)) this.abbreviated12 = true;
          // RFC 8446 §4.2.10 / §D: a TLS 1.2 server ignores early data; the client's next keys
          // come with its ChangeCipherSpec.
          this.earlyDecided(false);
          if (this.dirs.client.epoch === 'early') this.switchTo(this.dirs.client, null, 'none');
        }
        this.armKeys();
        return;
      }
      case HS_ENCRYPTED_EXTENSIONS: {
        const r = parseEncryptedExtensions(body);
        if (!r.ok) return this.malformed(side, 'EncryptedExtensions', r.detail);
        if (r.value.alpn !== null) f.alpn.selected = r.value.alpn;
        if (f.earlyData === 'offered' || this.earlyVerdict === 'pending') this.earlyDecided(r.value.earlyData);
        if (f.earlyData === 'offered') f.earlyData = r.value.earlyData ? 'accepted' : 'rejected';
        if (f.earlyData === 'accepted') f.handshakeRtts = 0;
        return;
      }
      case HS_CERTIFICATE: {
        this.certSeen = true;
        if (this.abbreviated12 === null && !this.tls13) this.abbreviated12 = false;
        // TLS 1.3: the server's Certificate in the handshake epoch (a later one cannot come from it).
        const r = parseCertificate(body, this.tls13);
        if (r.ok && r.value.leaf && f.certificate === null) f.certificate = certOf(r.value.leaf);
        return;
      }
      case HS_SERVER_KEY_EXCHANGE:
      case HS_SERVER_HELLO_DONE:
        if (!this.tls13 && this.abbreviated12 === null) this.abbreviated12 = false;
        return;
      case HS_NEW_SESSION_TICKET:
        f.ticketIssued = true;
        return;
      case HS_FINISHED:
        if (this.tls13) {
          if (d.epoch === 'hs' && !d.finished) {
            d.finished = true;
            d.switchToApp = true;
          }
        } else if (!d.finished) {
          d.finished = true;
          if (f.handshakeEndTime === null || time > f.handshakeEndTime) f.handshakeEndTime = time;
        }
        return;
      case HS_KEY_UPDATE:
        return this.keyUpdate(d);
      default:
        return;
    }
  }

  /** Hello extensions and list values beyond the parser's limits (tls/handshake.ts MAX_*). */
  private countSkipped(h: { extensionsSkipped: number; malformedExtensions: number; valuesSkipped?: number }): void {
    if (h.extensionsSkipped > 0) this.opts.count('tlsHelloExtensionsSkipped', h.extensionsSkipped);
    if (h.malformedExtensions > 0) this.opts.count('tlsHelloExtensionsMalformed', h.malformedExtensions);
    if (h.valuesSkipped) this.opts.count('tlsHelloValuesSkipped', h.valuesSkipped);
  }

  private malformed(side: Side, what: string, detail: string): void {
    this.opts.count('tlsHandshakeMalformed');
    this.anomaly(TLS_ANOMALY.HANDSHAKE, this.chunkNow, `${side} ${what}: ${detail}`);
  }

  // ------------------------------------------------------------------ keys

  private secret(label: Parameters<KeyLog['get']>[0]): Uint8Array | undefined {
    const keys = this.opts.keys;
    if (!keys || !this.ch) return undefined;
    const s = keys.get(label, this.ch.random);
    if (s) this.keyLabelsFound = true;
    return s;
  }

  private switchTo(d: Dir, cipher: RecordCipher | null, epoch: Epoch): void {
    d.cipher = cipher;
    d.seq = 0;
    d.epoch = epoch;
    d.epochOk = 0;
    d.next = undefined;
  }

  /**
   * 0-RTT: the client's early records use CLIENT_EARLY_TRAFFIC_SECRET (RFC 8446 §7.1) under the
   * PSK's suite, unknown until the ServerHello: every offered TLS 1.3 suite whose hash matches the
   * secret's length is a candidate; the first to authenticate a record is kept.
   */
  private armEarly(): void {
    const ch = this.ch!;
    const early = this.secret('CLIENT_EARLY_TRAFFIC_SECRET');
    if (!early) return;
    const candidates: RecordCipher[] = [];
    for (const id of ch.cipherSuites) {
      const p = suiteParams(id);
      if (p && p.tls13 && HASH_LEN[p.prfHash] === early.length && candidates.length < 8) candidates.push(tls13Cipher(p, early));
    }
    if (candidates.length === 0) return;
    const d = this.dirs.client;
    this.switchTo(d, candidates.length === 1 ? candidates[0] : new FirstThatWorks(candidates), 'early');
  }

  private armKeys(): void {
    const p = this.suite;
    const sh = this.sh!;
    if (!this.ch) return;
    const c = this.dirs.client;
    const s = this.dirs.server;
    c.next = undefined;
    s.next = undefined;
    if (this.tls13) {
      if (!p || this.unsupported) return;
      const shs = this.secret('SERVER_HANDSHAKE_TRAFFIC_SECRET');
      const chs = this.secret('CLIENT_HANDSHAKE_TRAFFIC_SECRET');
      const sts = this.secret('SERVER_TRAFFIC_SECRET_0');
      const cts = this.secret('CLIENT_TRAFFIC_SECRET_0');
      s.appSecret = sts ?? null;
      c.appSecret = cts ?? null;
      // Without a handshake secret the direction starts with no keys and moves to the
      // application keys when a record first authenticates under them (nextOf).
      if (shs) this.switchTo(s, tls13Cipher(p, shs), 'hs');
      this.clientHandshakeSecret = chs ?? null;
      if (c.epoch === 'early' && c.decryptedOk === 0 && c.cipher instanceof FirstThatWorks) {
        // RFC 8446 §4.2.10: accepted early data used the negotiated suite.
        const early = this.secret('CLIENT_EARLY_TRAFFIC_SECRET');
        if (early && HASH_LEN[p.prfHash] === early.length) c.cipher = tls13Cipher(p, early);
      }
      if (c.epoch !== 'early' && chs) this.switchTo(c, tls13Cipher(p, chs), 'hs');
      return;
    }
    const ms = this.secret('CLIENT_RANDOM');
    if (!ms || !p || this.unsupported) return;
    const kb = tls12KeyBlock(p, ms, this.ch.random, sh.random, sh.version);
    const etm = sh.encryptThenMac && p.mode === 'cbc';
    c.pending12 = tls12Cipher(p, { key: kb.clientKey, iv: kb.clientIv, macKey: kb.clientMacKey }, { encryptThenMac: etm, version: sh.version });
    s.pending12 = tls12Cipher(p, { key: kb.serverKey, iv: kb.serverIv, macKey: kb.serverMacKey }, { encryptThenMac: etm, version: sh.version });
  }

  /**
   * The keys a direction moves to next (RFC 8446 §7.1–7.2): early → client handshake, handshake
   * (or none, without a handshake secret) → application, application → its KeyUpdate successor.
   */
  private nextOf(d: Dir): NextKeys | null {
    if (d.next !== undefined) return d.next;
    let nx: NextKeys | null = null;
    const p = this.suite;
    if (this.tls13 && p && !this.unsupported && this.sh) {
      if (d.epoch === 'early') {
        if (this.clientHandshakeSecret) nx = { cipher: tls13Cipher(p, this.clientHandshakeSecret), epoch: 'hs', secret: null };
      } else if ((d.epoch === 'hs' || d.epoch === 'none') && d.appSecret) {
        nx = { cipher: tls13Cipher(p, d.appSecret), epoch: 'app', secret: d.appSecret };
      } else if (d.epoch === 'app' && d.appSecret) {
        // A KeyUpdate is looked for only once the current keys have worked (else: no cache).
        if (d.epochOk === 0) return null;
        const s = tls13NextTrafficSecret(p, d.appSecret);
        nx = { cipher: tls13Cipher(p, s), epoch: 'app', secret: s };
      }
    }
    d.next = nx;
    return nx;
  }

  private switchClientToHandshake(d: Dir): boolean {
    if (d.epoch !== 'early' || !this.suite || !this.clientHandshakeSecret) {
      if (d.epoch === 'early') this.switchTo(d, null, 'none');
      return false;
    }
    this.switchTo(d, tls13Cipher(this.suite, this.clientHandshakeSecret), 'hs');
    return true;
  }

  private useApp(d: Dir): void {
    if (!this.suite || !d.appSecret) {
      this.switchTo(d, null, 'app');
      return;
    }
    this.switchTo(d, tls13Cipher(this.suite, d.appSecret), 'app');
  }

  /** RFC 8446 §4.6.3: the sender's next records use application_traffic_secret_N+1 (§7.2). */
  private keyUpdate(d: Dir): void {
    if (!this.tls13 || !this.suite || !d.appSecret || d.epoch !== 'app') return;
    d.appSecret = tls13NextTrafficSecret(this.suite, d.appSecret);
    d.switchToApp = true;
  }

  // ------------------------------------------------------------------ end

  /**
   * A direction ends (FIN/RST, or the capture): a record cut short is lost, and the plaintext lost
   * since the last delivery is handed to HTTP as an explicit gap.
   */
  private finishDir(d: Dir, time: number, packet: number, how: EndHow | 'capture-end'): void {
    if (d.side === 'client' && this.earlyVerdict === 'pending' && this.earlyHeld.length > 0) this.earlyDecided(true, true);
    const at = { time, packet };
    if (d.synced && (d.hdrLen > 0 || d.skipBody)) {
      this.opts.count('tlsRecordsTruncated');
      if (d.hdrLen === 5 && this.isProtected(d, d.type)) {
        this.protectedRecords++;
        d.records++;
        if (d.side === 'client') this.facts.records.client++;
        else this.facts.records.server++;
        const cut = `cut short by ${how === 'capture-end' ? 'the end of the capture' : how.toUpperCase()} after ${d.filled} of ${d.len} bytes`;
        this.undecryptable(d, at, cut);
      } else {
        if (d.hdrLen === 5 && d.type === CT_HANDSHAKE) this.handshakeGap = true;
        d.unframed += d.hdrLen < 5 ? d.hdrLen : 0;
      }
      d.hdrLen = 0;
      d.body = null;
      d.skipBody = false;
    }
    if (d.unframed > 0 && d.decryptedOk > 0) {
      // Records lost at the end: assume full ones (the fewest records the bytes can be).
      this.lostPlain(d, Math.max(1, this.plainOfRecords(d.unframed, Math.ceil(d.unframed / this.maxWire()))));
    }
    d.unframed = 0;
    if (d.plainSkip > 0) this.deliver(d, EMPTY, at.time, at.time, at.packet);
  }

  onEnd(side: Side, how: EndHow, time: number, packet: number): void {
    const d = this.dirs[side];
    if (d.ended) return;
    d.ended = true;
    this.finishDir(d, time, packet, how);
    // RFC 8446 §6.1 / RFC 5246 §7.2.1: each party sends close_notify before closing its write side;
    // without it the peer cannot tell the end of the data from a truncation. Known only where this
    // direction was read (its alerts are visible). Counted for either side; reported when the
    // server does it first, the client still open and not closing: responses may have been cut
    // (RFC 2818 §2.2.2, "incomplete close"). A client's bare FIN is common and allowed (§2.2.1).
    if (how === 'fin' && !this.facts.closeNotify[side] && d.decryptedOk > 0 && !d.gaveUp) {
      this.opts.count('tlsFinWithoutCloseNotify');
      // RFC 8446 §6.2: after a fatal alert both sides close at once, no close_notify due.
      if (side === 'server' && !this.dirs.client.ended && !this.facts.closeNotify.client && !this.fatalAlert) {
        this.anomaly(TLS_ANOMALY.TRUNCATION, { time, packet }, 'the server closed (FIN) without a close_notify alert while the client was still open (RFC 8446 §6.1, RFC 2818 §2.2.2)');
      }
    }
    this.inner?.onEnd?.(side, how, time, packet);
  }

  onClose(time: number): void {
    const f = this.facts;
    for (const side of ['client', 'server'] as const) {
      const d = this.dirs[side];
      if (!d.ended) this.finishDir(d, time, this.lastPacket, 'capture-end');
    }
    if (this.earlyVerdict === 'pending' && this.earlyHeld.length > 0) this.earlyDecided(true, true);
    if (this.alertsDropped > 0) this.opts.count('tlsAlertsDropped', this.alertsDropped);
    let unreported = 0;
    for (const n of this.anomalyCount.values()) unreported += Math.max(0, n - MAX_ANOMALIES_PER_CODE);
    if (unreported > 0) this.opts.count('tlsAnomaliesNotReported', unreported);
    if (!this.tls13 && this.sh) {
      const abbreviated = this.abbreviated12 === true || (this.abbreviated12 === null && !this.certSeen && this.dirs.server.encrypted);
      f.resumed = abbreviated;
      f.handshakeRtts = abbreviated ? 1 : 2;
    }
    f.undecryptedReason = this.reason();
    this.out.tls?.(f);
    if (f.alpn.selected === 'h2' && !this.inner) this.out.protocol('h2');
    else if ((f.alpn.selected === 'http/1.1' || f.alpn.selected === 'http/1.0') && !this.inner) this.out.protocol(f.alpn.selected);
    this.inner?.onClose?.(time);
  }

  /** Why nothing was decrypted (null: something was, or there was nothing protected to read). */
  private reason(): UndecryptedReason | null {
    const f = this.facts;
    if (f.decrypted) return null;
    const protectedSeen = this.protectedRecords > 0;
    // The capture began after the hello it needs (no client random to find keys by), or a capture
    // gap took it.
    const helloMissing = (): UndecryptedReason => (this.startLost || !this.info.startSeen ? 'handshake-not-captured' : 'data-lost');
    if (!this.ch) return protectedSeen || this.startLost || this.handshakeGap ? helloMissing() : null;
    if (!this.sh) return this.startLost || this.handshakeGap ? helloMissing() : null;
    if (!protectedSeen) return null;
    if (this.unsupported) return 'unsupported-cipher';
    if (!this.keyLabelsFound) return 'no-keys';
    if (this.keysMismatch) return 'keys-mismatch';
    return 'data-lost';
  }
}

const EMPTY = new Uint8Array(0);
/** Stand-in bytes for remembered TCP chunks (MAX_TRANSPORT_REPLAY): never written. */
const ZEROS = new Uint8Array(1 << 16);

function isAppEpoch(e: Epoch): boolean {
  return e === 'early' || e === 'app' || e === '12';
}

/** Candidate ciphers for records whose suite is not known yet: the first to authenticate wins. */
class FirstThatWorks implements RecordCipher {
  private chosen: RecordCipher | null = null;
  constructor(private readonly candidates: RecordCipher[]) {}
  get plaintextAt(): number {
    return this.chosen?.plaintextAt ?? 0;
  }
  decrypt(seq: bigint | number, type: number, version: number, fragment: Uint8Array): DecryptResult {
    if (this.chosen) return this.chosen.decrypt(seq, type, version, fragment);
    let last: DecryptResult | null = null;
    for (const c of this.candidates) {
      const r = c.decrypt(seq, type, version, fragment);
      if (r.ok) {
        this.chosen = c;
        return r;
      }
      last = r;
    }
    return last!;
  }
}

function certOf(c: { subject: string; issuer: string; sans: string[]; notBefore: string | null; notAfter: string | null }): TlsCertificate {
  return { subject: c.subject, sans: c.sans, issuer: c.issuer, notBefore: c.notBefore, notAfter: c.notAfter };
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * After the record boundary was lost (or never seen: the capture began mid-connection): the first
 * offset at which a plausible record header starts (RFC 8446 §5.1 content types 20–24, version
 * 3.0–3.4, length within limits) and, where the chunk holds it, the next header after that record
 * is plausible too; a record running past the chunk must be application data, or a handshake
 * record whose first message is a ClientHello or ServerHello that fits in it (RFC 8446 §4: type,
 * uint24 length) — the first record of a direction whose TCP start was not captured. -1 when none
 * within the scan limit.
 */
export function findRecordStart(d: Uint8Array, from: number): number {
  const end = Math.min(d.length - 5, from + MAX_RESYNC_SCAN);
  for (let i = from; i <= end; i++) {
    const t = d[i];
    if (t < CT_CCS || t > CT_HEARTBEAT || d[i + 1] !== 3 || d[i + 2] > 4) continue;
    const len = (d[i + 3] << 8) | d[i + 4];
    if (len === 0 || len > MAX_RECORD_BODY) continue;
    const next = i + 5 + len;
    if (next + 3 <= d.length) {
      const t2 = d[next];
      if (t2 < CT_CCS || t2 > CT_HEARTBEAT || d[next + 1] !== 3 || d[next + 2] > 4) continue;
    } else if (t === CT_HANDSHAKE) {
      if (len < 4 || i + 9 > d.length) continue;
      const ht = d[i + 5];
      const hl = (d[i + 6] << 16) | (d[i + 7] << 8) | d[i + 8];
      if ((ht !== HS_CLIENT_HELLO && ht !== HS_SERVER_HELLO) || hl + 4 > len) continue;
    } else if (t !== CT_APPDATA) continue;
    return i;
  }
  return -1;
}
