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
 * resynchronises on an explicit gap and never on garbage.
 *
 * Without keys the session still reports everything the cleartext handshake shows (TlsInfo); with
 * keys it derives record keys (RFC 8446 §7 / RFC 5246 §6.3, tls/keys.ts) and decrypts
 * (tls/cipher.ts, node:crypto only). Sequence numbers are implicit in TLS (RFC 8446 §5.3, RFC 5246
 * §6.1): after a lost record the next one is tried at the following MAX_SEQ_SKIP numbers too, so one
 * lost record costs its own bytes, not the rest of the connection.
 *
 * Bounded: a record body is at most MAX_RECORD_BODY bytes (RFC 5246 §6.2.3: 2^14 + 2048; RFC 8446
 * §5.2 allows less); handshake messages are reassembled up to MAX_HANDSHAKE_MESSAGE_BYTES
 * (tls/handshake.ts); alerts kept MAX_ALERTS. Anything else is counted, never thrown.
 */
import type { ExchangeSink, RequestDraft } from '../model/exchange.js';
import type { AppProtocol, Side, TlsAlert, TlsCertificate, TlsInfo, UndecryptedReason } from '../model/types.js';
import type { EndHow, StreamChunk, StreamInfo, StreamSink } from '../tcp/stream.js';
import { alertDescriptionName, versionName } from './constants.js';
import { tls12Cipher, tls13Cipher, type RecordCipher } from './cipher.js';
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
import { tls12KeyBlock, tls13NextTrafficSecret } from './keys.js';
import type { KeyLog } from './keylog.js';
import { suiteName, suiteParams, type SuiteParams } from './suites.js';

/** RFC 5246 §6.2.3: TLSCiphertext.length ≤ 2^14 + 2048 (RFC 8446 §5.2: 2^14 + 256). */
export const MAX_RECORD_BODY = (1 << 14) + 2048;
/** Record sequence numbers tried beyond the expected one after a record was lost. */
export const MAX_SEQ_SKIP = 8;
/** Alerts kept per connection (more are counted). */
export const MAX_ALERTS = 16;
/** Failed decryptions in a row, with no success yet, after which a direction stops trying. */
export const MAX_FAILED_BEFORE_GIVING_UP = 4;
/** Bytes scanned per chunk for a record header after the record boundary was lost. */
export const MAX_RESYNC_SCAN = 64 * 1024;

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
}

/** One direction's record layer. */
interface Dir {
  side: Side;
  /** At a known record boundary. */
  synced: boolean;
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
  /** Decryption: the active cipher and its next sequence number; what to switch to next. */
  cipher: RecordCipher | null;
  seq: number;
  /** Which secret the active cipher was made from ('hs', 'app', 'early', '12'). */
  epoch: 'none' | 'early' | 'hs' | 'app' | '12';
  appSecret: Uint8Array | null;
  switchToApp: boolean;
  /** 1.2: the peer's ChangeCipherSpec turned encryption on for this direction. */
  encrypted: boolean;
  pending12: RecordCipher | null;
  decryptedOk: number;
  failedInRow: number;
  gaveUp: boolean;
  /** Handshake messages: cleartext ones, and (1.3) decrypted ones. */
  hs: HandshakeReassembler;
  /** Plaintext stream handed to HTTP. */
  plainOffset: number;
  plainSkip: number;
  startUnseen: boolean;
  records: number;
  ended: boolean;
}

export class TlsSession implements InnerSink {
  private readonly dirs: Record<Side, Dir>;
  private ch: ClientHello | null = null;
  private sh: ServerHello | null = null;
  private suite: SuiteParams | undefined;
  private tls13 = false;
  private inner: InnerSink | null = null;
  private innerMade = false;
  private readonly innerInfo: StreamInfo;
  private readonly wrapped: ExchangeSink;
  private readonly facts: TlsInfo;
  private keyLabelsFound = false;
  private keysMismatch = false;
  private unsupported = false;
  private handshakeLost = false;
  private certSeen = false;
  private abbreviated12: boolean | null = null;
  private alertsDropped = 0;

  constructor(
    private readonly info: StreamInfo,
    private readonly out: ExchangeSink,
    private readonly opts: TlsSessionOptions,
  ) {
    this.innerInfo = {
      id: info.id,
      client: info.client,
      server: info.server,
      scheme: 'https',
      transport: 'tls',
      startSeen: info.startSeen,
    };
    this.dirs = { client: this.mkDir('client'), server: this.mkDir('server') };
    this.facts = {
      version: null,
      cipherSuite: null,
      versionCode: 0,
      cipherSuiteCode: 0,
      sni: null,
      alpn: { offered: [], selected: null },
      resumed: false,
      resumptionOffered: false,
      ticketIssued: false,
      earlyData: 'none',
      helloRetry: false,
      handshakeRtts: -1,
      clientHelloTime: null,
      serverHelloTime: null,
      handshakeEndTime: null,
      firstAppDataTime: { client: null, server: null },
      certificate: null,
      alerts: [],
      closeNotify: { client: false, server: false },
      records: { client: 0, server: 0, applicationData: 0 },
      decrypted: false,
      undecryptedReason: null,
      undecryptableRecords: 0,
    };
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
      extra: (f) => out.extra(f),
    };
  }

  private mkDir(side: Side): Dir {
    return {
      side,
      synced: true,
      hdr: new Uint8Array(5),
      hdrLen: 0,
      type: 0,
      version: 0,
      len: 0,
      body: null,
      filled: 0,
      lostInBody: false,
      bodyDelivered: 0,
      cipher: null,
      seq: 0,
      epoch: 'none',
      appSecret: null,
      switchToApp: false,
      encrypted: false,
      pending12: null,
      decryptedOk: 0,
      failedInRow: 0,
      gaveUp: false,
      hs: new HandshakeReassembler((type, body) => this.onHandshake(side, type, body)),
      plainOffset: 0,
      plainSkip: 0,
      startUnseen: false,
      records: 0,
      ended: false,
    };
  }

  settled(): Promise<void> {
    return this.inner?.settled?.() ?? Promise.resolve();
  }

  // ------------------------------------------------------------------ record framing

  onData(side: Side, chunk: StreamChunk): void {
    const d = this.dirs[side];
    if (chunk.skipped !== 0) this.gap(d, chunk.skipped);
    const data = chunk.data;
    let i = 0;
    const n = data.length;
    while (i < n) {
      if (!d.synced) {
        const at = findRecordStart(data, i);
        if (at < 0) {
          this.lostPlain(d, n - i);
          return;
        }
        this.lostPlain(d, at - i);
        i = at;
        d.synced = true;
        d.hdrLen = 0;
      }
      if (d.hdrLen < 5) {
        // Fast path: a whole record inside this chunk, at a boundary: no copy.
        if (d.hdrLen === 0 && n - i >= 5) {
          const len = (data[i + 3] << 8) | data[i + 4];
          if (!this.headerOk(d, data[i], data[i + 1], data[i + 2], len, chunk)) return;
          if (n - i - 5 >= len) {
            d.type = data[i];
            d.version = (data[i + 1] << 8) | data[i + 2];
            d.len = len;
            d.bodyDelivered = chunk.deliveredTime;
            this.record(d, data.subarray(i + 5, i + 5 + len), false, chunk);
            i += 5 + len;
            continue;
          }
        }
        while (d.hdrLen < 5 && i < n) d.hdr[d.hdrLen++] = data[i++];
        if (d.hdrLen < 5) return;
        const h = d.hdr;
        const len = (h[3] << 8) | h[4];
        if (!this.headerOk(d, h[0], h[1], h[2], len, chunk)) return;
        d.type = h[0];
        d.version = (h[1] << 8) | h[2];
        d.len = len;
        d.filled = 0;
        d.lostInBody = false;
        d.body = len > 0 ? new Uint8Array(len) : null;
        d.bodyDelivered = chunk.deliveredTime;
      }
      const take = Math.min(d.len - d.filled, n - i);
      if (take > 0) {
        d.body!.set(data.subarray(i, i + take), d.filled);
        d.filled += take;
        i += take;
      }
      if (chunk.deliveredTime > d.bodyDelivered) d.bodyDelivered = chunk.deliveredTime;
      if (d.filled === d.len) {
        const body = d.body ?? new Uint8Array(0);
        d.body = null;
        d.hdrLen = 0;
        this.record(d, body, d.lostInBody, chunk);
      }
    }
  }

  /** RFC 8446 §5.1 / RFC 5246 §6.2.1: a plausible record header, else the framing is lost. */
  private headerOk(d: Dir, type: number, v0: number, v1: number, len: number, chunk: StreamChunk): boolean {
    if (type >= CT_CCS && type <= CT_HEARTBEAT && v0 === 3 && v1 <= 4 && len <= MAX_RECORD_BODY) return true;
    const overflow = type >= CT_CCS && type <= CT_HEARTBEAT && v0 === 3 && len > MAX_RECORD_BODY;
    this.opts.count(overflow ? 'tlsRecordOverflow' : 'tlsRecordDesync');
    this.out.anomaly({
      code: overflow ? TLS_ANOMALY.RECORD_OVERFLOW : TLS_ANOMALY.DESYNC,
      packet: chunk.packet,
      time: chunk.time,
      detail: overflow
        ? `${d.side} record of ${len} bytes exceeds 2^14 + 2048 (RFC 5246 §6.2.3); framing lost`
        : `${d.side} bytes are not a TLS record header (type ${type}, version ${v0}.${v1}); framing lost`,
    });
    d.synced = false;
    d.hdrLen = 0;
    d.body = null;
    return false;
  }

  /** Bytes never captured: inside a record body they spoil that record; across a header, the framing. */
  private gap(d: Dir, skipped: number): void {
    if (skipped < 0) {
      // The capture starts mid-stream: no handshake, no record boundary.
      d.startUnseen = true;
      d.synced = false;
      this.handshakeLost = true;
      return;
    }
    if (!d.synced) {
      this.lostPlain(d, skipped);
      return;
    }
    if (d.hdrLen === 5) {
      const left = d.len - d.filled;
      if (skipped < left) {
        d.filled += skipped;
        d.lostInBody = true;
        return;
      }
      // The record ends inside the gap; what follows it is unknown unless the gap ends exactly there.
      this.lostPlain(d, Math.max(0, d.len - 16));
      d.seq++;
      d.records++;
      this.facts.undecryptableRecords++;
      d.body = null;
      d.hdrLen = 0;
      skipped -= left;
      if (skipped === 0) return;
    }
    if (!d.encrypted && d.epoch === 'none') this.handshakeLost = true;
    d.synced = false;
    d.hdrLen = 0;
    this.lostPlain(d, skipped);
  }

  private lostPlain(d: Dir, n: number): void {
    if (n > 0 && (d.encrypted || d.epoch !== 'none')) d.plainSkip += n;
  }

  // ------------------------------------------------------------------ records

  private record(d: Dir, body: Uint8Array, lost: boolean, chunk: StreamChunk): void {
    d.records++;
    if (d.side === 'client') this.facts.records.client++;
    else this.facts.records.server++;
    const protectedRecord = d.encrypted || d.type === CT_APPDATA;
    if (!protectedRecord) {
      if (lost) {
        if (d.type === CT_HANDSHAKE) {
          this.handshakeLost = true;
          d.hs.reset();
        }
        return;
      }
      this.cleartext(d, d.type, body, chunk);
      return;
    }
    // A protected record. TLS 1.3 disguises every type as application_data (RFC 8446 §5.2) except
    // the compatibility ChangeCipherSpec (§D.4), which is never protected.
    if (d.type === CT_CCS) return;
    if (lost) {
      this.undecryptable(d, body.length, chunk, 'bytes of this record were not captured');
      d.seq++;
      return;
    }
    if (!d.cipher || d.gaveUp) {
      if (d.type === CT_APPDATA) this.facts.records.applicationData++;
      this.noteProtectedWithoutKeys(d, chunk);
      return;
    }
    const res = this.decrypt(d, body);
    if (!res) {
      d.failedInRow++;
      if (d.decryptedOk === 0) this.keysMismatch = true;
      if (d.decryptedOk === 0 && d.epoch !== 'early' && d.failedInRow >= MAX_FAILED_BEFORE_GIVING_UP) d.gaveUp = true;
      this.undecryptable(d, body.length, chunk, 'the record did not authenticate with the logged keys');
      d.seq++;
      return;
    }
    d.failedInRow = 0;
    d.decryptedOk++;
    this.facts.decrypted = true;
    this.decrypted(d, res.type, res.data, chunk);
    if (d.switchToApp) {
      d.switchToApp = false;
      this.useApp(d);
    }
  }

  /** Try the expected sequence number, then a few later ones (records lost to the capture). */
  private decrypt(d: Dir, body: Uint8Array): { type: number; data: Uint8Array } | null {
    const c = d.cipher!;
    for (let k = 0; k <= MAX_SEQ_SKIP; k++) {
      const r = c.decrypt(d.seq + k, d.type, d.version, body);
      if (r.ok) {
        if (k > 0) {
          this.opts.count('tlsRecordsSkippedBySeq', k);
          this.lostPlain(d, k * 16);
        }
        d.seq += k + 1;
        return r;
      }
      if (d.decryptedOk === 0 && k === 0 && d.epoch === 'early') {
        // 0-RTT rejected or absent: the client's records are under the handshake key (§4.2.10).
        if (this.switchClientToHandshake(d)) return this.decrypt(d, body);
      }
      if (r.reason === 'length') break;
    }
    return null;
  }

  private undecryptable(d: Dir, bytes: number, chunk: StreamChunk, why: string): void {
    this.facts.undecryptableRecords++;
    this.opts.count('tlsRecordsUndecryptable');
    this.lostPlain(d, Math.max(0, bytes - 16));
    if (this.facts.undecryptableRecords <= 8) {
      this.out.anomaly({ code: TLS_ANOMALY.UNDECRYPTABLE, packet: chunk.packet, time: chunk.time, detail: `${d.side} record of ${bytes} bytes: ${why}` });
    }
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
        if (f.handshakeEndTime === null) f.handshakeEndTime = chunk.time;
        else if (f.firstAppDataTime.client === null) f.firstAppDataTime.client = chunk.time;
      } else if (d.side === 'server' && f.handshakeEndTime !== null && f.firstAppDataTime.server === null) {
        f.firstAppDataTime.server = chunk.time;
      }
      return;
    }
    if (d.type === CT_HANDSHAKE) {
      // 1.2 Finished: the client's handshake ends with the last Finished of the two.
      if (f.handshakeEndTime === null || chunk.time > f.handshakeEndTime) f.handshakeEndTime = chunk.time;
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
        // RFC 5246 §7.1: from the next record on this direction is protected. (A TLS 1.3 client's
        // compatibility CCS, RFC 8446 §D.4, e.g. after a HelloRetryRequest, changes nothing.)
        if (this.sh && !this.tls13) {
          d.encrypted = true;
          if (d.pending12) {
            d.cipher = d.pending12;
            d.pending12 = null;
            d.seq = 0;
            d.epoch = '12';
          }
        }
        return;
      case CT_ALERT:
        this.alert(d, body, chunk);
        return;
      case CT_APPDATA:
        return;
      default:
        return;
    }
  }

  private alert(d: Dir, body: Uint8Array | null, chunk: StreamChunk): void {
    const a = body ? parseAlert(body) : null;
    if (a && a.description === 0) this.facts.closeNotify[d.side] = true;
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

  /** The chunk whose record is being processed (handshake callbacks stamp times with it). */
  private chunkNow: StreamChunk | null = null;

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
    if (!this.innerMade) {
      this.innerMade = true;
      const alpn = this.facts.alpn.selected;
      this.inner = this.opts.inner(this.innerInfo, alpn, this.wrapped);
    }
    if (data.length === 0) return;
    const skipped = d.startUnseen && d.plainOffset === 0 ? -1 : d.plainSkip;
    d.plainOffset += d.plainSkip;
    d.plainSkip = 0;
    const c: StreamChunk = {
      data,
      offset: d.plainOffset,
      skipped,
      time: chunk.time,
      deliveredTime: Math.max(chunk.deliveredTime, d.bodyDelivered),
      packet: chunk.packet,
    };
    d.plainOffset += data.length;
    d.startUnseen = false;
    this.inner?.onData(d.side, c);
  }

  // ------------------------------------------------------------------ handshake

  private onHandshake(side: Side, type: number, body: Uint8Array): void {
    const chunk = this.chunkNow;
    const time = chunk?.time ?? 0;
    const f = this.facts;
    const d = this.dirs[side];
    if (side === 'client') {
      if (type === HS_CLIENT_HELLO) {
        const r = parseClientHello(body);
        if (!r.ok) return this.malformed(side, 'ClientHello', r.detail);
        const again = this.ch !== null;
        this.ch = r.value;
        const ch = r.value;
        if (!again) f.clientHelloTime = time;
        f.sni = ch.sni;
        f.alpn.offered = ch.alpn;
        f.resumptionOffered = ch.pskIdentities > 0 || ch.sessionTicket === 'present' || (ch.sessionId.length > 0 && !ch.supportedVersions.includes(TLS13));
        if (ch.earlyData) f.earlyData = 'offered';
        if (ch.earlyData && !again) this.armEarly();
        return;
      }
      if (type === HS_END_OF_EARLY_DATA) {
        this.switchClientToHandshake(d);
        return;
      }
      if (type === HS_FINISHED) {
        if (this.tls13) {
          f.handshakeEndTime = time;
          d.switchToApp = true;
        } else if (f.handshakeEndTime === null || time > f.handshakeEndTime) f.handshakeEndTime = time;
        return;
      }
      if (type === HS_KEY_UPDATE) return this.keyUpdate(d);
      return;
    }
    // Server.
    switch (type) {
      case HS_SERVER_HELLO: {
        const r = parseServerHello(body);
        if (!r.ok) return this.malformed(side, 'ServerHello', r.detail);
        const sh = r.value;
        if (sh.helloRetryRequest) {
          // RFC 8446 §4.1.4: one more round trip; the real ServerHello follows the second ClientHello.
          f.helloRetry = true;
          return;
        }
        this.sh = sh;
        f.serverHelloTime = time;
        f.versionCode = sh.version;
        f.version = versionName(sh.version);
        f.cipherSuiteCode = sh.cipherSuite;
        f.cipherSuite = suiteName(sh.cipherSuite);
        this.tls13 = sh.version === TLS13;
        this.suite = suiteParams(sh.cipherSuite);
        this.unsupported = !this.suite || (this.tls13 ? !this.suite.tls13 : this.suite.tls13 || sh.version < 0x0301 || sh.version > 0x0303);
        if (this.tls13) {
          f.resumed = sh.pskSelected !== null;
          f.handshakeRtts = f.helloRetry ? 2 : 1;
          if (f.earlyData === 'offered' && sh.pskSelected === null) f.earlyData = 'rejected';
          // RFC 8446 §2: everything after the ServerHello is protected, both ways.
          this.dirs.server.encrypted = true;
          this.dirs.client.encrypted = true;
        } else {
          if (sh.alpn !== null) f.alpn.selected = sh.alpn;
          if (sh.sessionTicket) f.ticketIssued = true;
          const ch = this.ch;
          // RFC 5246 §7.3: a session id echoed from the ClientHello resumes that session.
          if (ch && ch.sessionId.length > 0 && equalBytes(ch.sessionId, sh.sessionId)) this.abbreviated12 = true;
        }
        this.armKeys();
        return;
      }
      case HS_ENCRYPTED_EXTENSIONS: {
        const r = parseEncryptedExtensions(body);
        if (!r.ok) return this.malformed(side, 'EncryptedExtensions', r.detail);
        if (r.value.alpn !== null) f.alpn.selected = r.value.alpn;
        if (f.earlyData === 'offered') f.earlyData = r.value.earlyData ? 'accepted' : 'rejected';
        if (f.earlyData === 'accepted') f.handshakeRtts = 0;
        return;
      }
      case HS_CERTIFICATE: {
        this.certSeen = true;
        if (this.abbreviated12 === null && !this.tls13) this.abbreviated12 = false;
        const r = parseCertificate(body, this.tls13);
        if (r.ok && r.value.leaf) f.certificate = certOf(r.value.leaf);
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
        if (this.tls13) d.switchToApp = true;
        else if (f.handshakeEndTime === null || time > f.handshakeEndTime) f.handshakeEndTime = time;
        return;
      case HS_KEY_UPDATE:
        return this.keyUpdate(d);
      default:
        return;
    }
  }

  private malformed(side: Side, what: string, detail: string): void {
    this.opts.count('tlsHandshakeMalformed');
    this.out.anomaly({ code: TLS_ANOMALY.HANDSHAKE, packet: this.chunkNow?.packet, time: this.chunkNow?.time, detail: `${side} ${what}: ${detail}` });
  }

  // ------------------------------------------------------------------ keys

  private secret(label: Parameters<KeyLog['get']>[0]): Uint8Array | undefined {
    const keys = this.opts.keys;
    if (!keys || !this.ch) return undefined;
    const s = keys.get(label, this.ch.random);
    if (s) this.keyLabelsFound = true;
    return s;
  }

  /** 0-RTT: the client's records before the ServerHello use CLIENT_EARLY_TRAFFIC_SECRET (RFC 8446 §7.1). */
  private armEarly(): void {
    const ch = this.ch!;
    const early = this.secret('CLIENT_EARLY_TRAFFIC_SECRET');
    // The early suite is the PSK's; the client's first offered TLS 1.3 suite is the usual choice.
    const p = early ? suiteParams(ch.cipherSuites.find((s) => s >> 8 === 0x13) ?? 0) : undefined;
    if (!early || !p) return;
    const d = this.dirs.client;
    d.cipher = tls13Cipher(p, early);
    d.seq = 0;
    d.epoch = 'early';
    d.encrypted = true;
  }

  private armKeys(): void {
    const p = this.suite;
    const sh = this.sh!;
    if (!this.ch) return;
    if (this.tls13) {
      if (!p || this.unsupported) return;
      const shs = this.secret('SERVER_HANDSHAKE_TRAFFIC_SECRET');
      const chs = this.secret('CLIENT_HANDSHAKE_TRAFFIC_SECRET');
      const sts = this.secret('SERVER_TRAFFIC_SECRET_0');
      const cts = this.secret('CLIENT_TRAFFIC_SECRET_0');
      const s = this.dirs.server;
      const c = this.dirs.client;
      s.appSecret = sts ?? null;
      c.appSecret = cts ?? null;
      if (shs) {
        s.cipher = tls13Cipher(p, shs);
        s.seq = 0;
        s.epoch = 'hs';
      } else if (sts) this.useApp(s);
      this.clientHandshakeSecret = chs ?? null;
      if (c.epoch !== 'early') {
        if (chs) {
          c.cipher = tls13Cipher(p, chs);
          c.seq = 0;
          c.epoch = 'hs';
        } else if (cts) this.useApp(c);
      }
      return;
    }
    const ms = this.secret('CLIENT_RANDOM');
    if (!ms || !p || this.unsupported) return;
    const kb = tls12KeyBlock(p, ms, this.ch.random, sh.random, sh.version);
    const etm = sh.encryptThenMac && p.mode === 'cbc';
    this.dirs.client.pending12 = tls12Cipher(p, { key: kb.clientKey, iv: kb.clientIv, macKey: kb.clientMacKey }, { encryptThenMac: etm, version: sh.version });
    this.dirs.server.pending12 = tls12Cipher(p, { key: kb.serverKey, iv: kb.serverIv, macKey: kb.serverMacKey }, { encryptThenMac: etm, version: sh.version });
  }

  private clientHandshakeSecret: Uint8Array | null = null;

  private switchClientToHandshake(d: Dir): boolean {
    if (d.epoch !== 'early' || !this.suite || !this.clientHandshakeSecret) return false;
    d.cipher = tls13Cipher(this.suite, this.clientHandshakeSecret);
    d.seq = 0;
    d.epoch = 'hs';
    return true;
  }

  private useApp(d: Dir): void {
    if (!this.suite || !d.appSecret) {
      d.cipher = null;
      return;
    }
    d.cipher = tls13Cipher(this.suite, d.appSecret);
    d.seq = 0;
    d.epoch = 'app';
  }

  /** RFC 8446 §4.6.3: the sender's next records use application_traffic_secret_N+1. */
  private keyUpdate(d: Dir): void {
    if (!this.tls13 || !this.suite || !d.appSecret) return;
    d.appSecret = tls13NextTrafficSecret(this.suite, d.appSecret);
    d.switchToApp = true;
  }

  // ------------------------------------------------------------------ end

  onEnd(side: Side, how: EndHow, time: number, packet: number): void {
    this.dirs[side].ended = true;
    this.inner?.onEnd?.(side, how, time, packet);
  }

  onClose(time: number): void {
    const f = this.facts;
    if (this.alertsDropped > 0) this.opts.count('tlsAlertsDropped', this.alertsDropped);
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
    const protectedSeen = f.records.applicationData > 0 || f.handshakeEndTime !== null || this.dirs.server.encrypted;
    if (!this.ch) return protectedSeen || this.handshakeLost ? 'handshake-not-captured' : null;
    if (!this.sh) return this.handshakeLost ? 'handshake-not-captured' : null;
    if (!protectedSeen) return null;
    if (this.unsupported) return 'unsupported-cipher';
    if (!this.keyLabelsFound) return 'no-keys';
    if (this.keysMismatch) return 'keys-mismatch';
    return 'data-lost';
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
 * After the record boundary was lost: the first offset at which a plausible record header starts
 * (RFC 8446 §5.1 content types 20–24, version 3.0–3.4, length within limits) and, where the chunk
 * holds it, the next header after that record is plausible too. -1 when none within the scan limit.
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
    } else if (t !== CT_APPDATA) continue;
    return i;
  }
  return -1;
}
