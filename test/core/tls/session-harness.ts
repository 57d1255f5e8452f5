/**
 * Test harness for the TLS session (core/src/tls/session.ts):
 *
 *  - `drive`: feeds a TlsSession (or the whole DetectSink → TlsSession → HTTP chain) with the
 *    StreamChunks a TCP reassembler would make of recorded byte events, honouring the call-order
 *    contract of tcp/stream.ts (capture order across directions, onEnd per direction, one onClose);
 *    lost byte ranges become `skipped` on the next chunk, an unseen start `skipped = -1`.
 *  - re-chunkers: one byte per chunk, all consecutive same-direction bytes in one chunk, byte ranges
 *    lost from a direction's stream.
 *  - `captureNode`: real TLS from Node (OpenSSL) over loopback (127.0.0.1 only) through a recording
 *    TCP proxy, with the client's key log ('keylog' events): the exact bytes each side wrote, in the
 *    order the proxy received them, plus the application bytes (HTTP/1.1 or HTTP/2) each side sent.
 *  - `Synth13` / `Synth12`: hand-built TLS 1.3 / 1.2 connections (hello messages written here,
 *    records protected with node:crypto under random secrets whose key log is produced too), for
 *    what real stacks will not do on demand: KeyUpdate, 0-RTT, oversized records, floods.
 */
import { createCipheriv, randomBytes, type CipherGCM } from 'node:crypto';
import http2 from 'node:http2';
import net from 'node:net';
import tls from 'node:tls';
import type { ExchangeSink, RequestDraft } from '../../../core/src/model/exchange.js';
import type { HttpCloseFacts } from '../../../core/src/http1/keepalive.js';
import type { Anomaly, AppProtocol, Side, TlsInfo } from '../../../core/src/model/types.js';
import { Http1Session } from '../../../core/src/http1/session.js';
import { Http2Session } from '../../../core/src/http2/session.js';
import { createSession, DetectSink } from '../../../core/src/protocols.js';
import type { StreamChunk, StreamInfo, StreamSink } from '../../../core/src/tcp/stream.js';
import { KeyLog } from '../../../core/src/tls/keylog.js';
import { tls12KeyBlock, tls13TrafficKeys, type TlsKeyBlock } from '../../../core/src/tls/keys.js';
import { TlsSession } from '../../../core/src/tls/session.js';
import { suiteParams, type SuiteParams } from '../../../core/src/tls/suites.js';

// ------------------------------------------------------------------------------------ recording

export class Recorder implements ExchangeSink {
  requests: RequestDraft[] = [];
  anomalies: Anomaly[] = [];
  protocols: AppProtocol[] = [];
  closes: [string, string][] = [];
  extras: Record<string, unknown> = {};
  tlsInfo: TlsInfo | null = null;
  request(d: RequestDraft): void {
    this.requests.push(d);
  }
  protocol(p: AppProtocol): void {
    this.protocols.push(p);
  }
  anomaly(a: Anomaly): void {
    this.anomalies.push(a);
  }
  keepAlive(): void {}
  closeReason(r: string, d: string): void {
    this.closes.push([r, d]);
  }
  closeFacts(f: HttpCloseFacts): void {
    this.httpClose = f;
  }
  httpClose: HttpCloseFacts | null = null;
  extra(f: Record<string, unknown>): void {
    Object.assign(this.extras, f);
  }
  h2(f: unknown): void {
    this.extras.h2 = f;
  }
  tls(info: TlsInfo): void {
    this.tlsInfo = info;
  }
  get info(): TlsInfo {
    if (!this.tlsInfo) throw new Error('no TlsInfo reported');
    return this.tlsInfo;
  }
  codes(): string[] {
    return this.anomalies.map((a) => a.code);
  }
}

// ------------------------------------------------------------------------------------ driving

/** Bytes one side put on the wire (`lost`: never captured). */
export interface Ev {
  side: Side;
  data: Uint8Array;
  lost?: boolean;
}

export const INFO: StreamInfo = {
  id: 7,
  client: { ip: '10.0.0.1', port: 50000 },
  server: { ip: '10.0.0.2', port: 443 },
  scheme: 'http',
  transport: 'tcp',
  startSeen: true,
};

export interface DriveOptions {
  keys?: KeyLog | null;
  /** The TCP start was not seen: the first chunk of each direction says skipped = -1. */
  startUnseen?: boolean;
  /** 'tls': a TlsSession made here (inner HTTP session by ALPN, as protocols.ts); 'detect': createSession. */
  via?: 'tls' | 'detect';
  /** Leave the directions without onEnd (capture cut), still onClose. */
  noEnd?: boolean;
  /** Time of event i (default: i ms). */
  time?: (i: number) => number;
}

export interface Driven {
  out: Recorder;
  counters: Record<string, number>;
  session: StreamSink;
  /** Milliseconds the feeding took (for generous hang guards only). */
  ms: number;
}

/** The inner-session choice of protocols.ts (RFC 7301 §3.2), for a TlsSession made directly. */
function innerByAlpn(info: StreamInfo, alpn: string | null, out: ExchangeSink): StreamSink {
  if (alpn === 'h2') {
    out.protocol('h2');
    return new Http2Session(info, out, { prefaceSeen: info.startSeen });
  }
  if (alpn === 'http/1.1' || alpn === 'http/1.0') return new Http1Session(info, out);
  return new DetectSink(info, out, null);
}

export function newTlsSession(out: ExchangeSink, keys: KeyLog | null, counters: Record<string, number>, info: StreamInfo = INFO): TlsSession {
  return new TlsSession(info, out, {
    keys,
    count: (n, k = 1) => void (counters[n] = (counters[n] ?? 0) + k),
    inner: innerByAlpn,
  });
}

/** Feeds `events` as TCP chunks, in order; returns what the sessions reported. */
export function drive(events: readonly Ev[], opts: DriveOptions = {}): Driven {
  const out = new Recorder();
  const counters: Record<string, number> = {};
  const info: StreamInfo = { ...INFO, startSeen: !opts.startUnseen };
  const keys = opts.keys ?? null;
  const session: StreamSink =
    (opts.via ?? 'tls') === 'detect'
      ? createSession(info, out, { keys, count: (n, k = 1) => void (counters[n] = (counters[n] ?? 0) + k) })
      : newTlsSession(out, keys, counters, info);
  const offset: Record<Side, number> = { client: 0, server: 0 };
  const pending: Record<Side, number> = opts.startUnseen ? { client: -1, server: -1 } : { client: 0, server: 0 };
  const timeOf = opts.time ?? ((i: number) => i);
  let last = 0;
  const t0 = performance.now();
  events.forEach((e, i) => {
    last = timeOf(i);
    if (e.lost) {
      offset[e.side] += e.data.length;
      pending[e.side] = Math.max(0, pending[e.side]) + e.data.length;
      return;
    }
    const c: StreamChunk = { data: e.data, offset: offset[e.side], skipped: pending[e.side], time: last, deliveredTime: last, packet: i + 1 };
    pending[e.side] = 0;
    offset[e.side] += e.data.length;
    session.onData(e.side, c);
  });
  if (!opts.noEnd) {
    session.onEnd?.('client', 'fin', last, events.length + 1);
    session.onEnd?.('server', 'fin', last, events.length + 2);
  }
  session.onClose?.(last);
  return { out, counters, session, ms: performance.now() - t0 };
}

/** One byte per chunk (lost ranges kept whole). */
export function bytewise(events: readonly Ev[]): Ev[] {
  const r: Ev[] = [];
  for (const e of events) {
    if (e.lost) r.push(e);
    else for (let i = 0; i < e.data.length; i++) r.push({ side: e.side, data: e.data.subarray(i, i + 1) });
  }
  return r;
}

/** Consecutive bytes of one direction in one chunk (many records per chunk). */
export function coalesce(events: readonly Ev[]): Ev[] {
  const r: Ev[] = [];
  for (const e of events) {
    const prev = r[r.length - 1];
    if (prev && !prev.lost && !e.lost && prev.side === e.side) prev.data = Buffer.concat([prev.data, e.data]);
    else r.push({ ...e });
  }
  return r;
}

/** Marks bytes [from, to) of `side`'s stream as never captured. */
export function lose(events: readonly Ev[], side: Side, from: number, to: number): Ev[] {
  const r: Ev[] = [];
  let off = 0;
  for (const e of events) {
    if (e.side !== side) {
      r.push(e);
      continue;
    }
    const a = off;
    const b = off + e.data.length;
    off = b;
    if (b <= from || a >= to || e.lost) {
      r.push(e);
      continue;
    }
    const cut0 = Math.max(from, a) - a;
    const cut1 = Math.min(to, b) - a;
    if (cut0 > 0) r.push({ side, data: e.data.subarray(0, cut0) });
    r.push({ side, data: e.data.subarray(cut0, cut1), lost: true });
    if (cut1 < e.data.length) r.push({ side, data: e.data.subarray(cut1) });
  }
  return r;
}

/** All bytes one side sent, concatenated. */
export function streamOf(events: readonly Ev[], side: Side): Buffer {
  return Buffer.concat(events.filter((e) => e.side === side).map((e) => e.data));
}

/** Record boundaries of a direction's byte stream: [offset, type, length] of each record. */
export function recordsOf(stream: Uint8Array): { at: number; type: number; len: number }[] {
  const r: { at: number; type: number; len: number }[] = [];
  for (let at = 0; at + 5 <= stream.length; ) {
    const len = (stream[at + 3] << 8) | stream[at + 4];
    r.push({ at, type: stream[at], len });
    at += 5 + len;
  }
  return r;
}

export function keyLogOf(text: string): KeyLog {
  const k = new KeyLog();
  k.addText(text);
  return k;
}

/** The request facts that do not depend on how the bytes were carried (times, packets do). */
export function shape(r: RequestDraft): Record<string, unknown> {
  return {
    index: r.index,
    method: r.method,
    url: r.url,
    status: r.status,
    httpVersion: r.httpVersion,
    state: r.state,
    sizes: r.sizes,
    lostBytes: r.lostBytes,
    pipelined: r.pipelined,
    connectionReused: r.connectionReused,
    streamId: r.streamId,
  };
}

// ------------------------------------------------------------------------------------ real TLS

// A throwaway P-256 key and self-signed certificate for the test server (CN "wirefall test",
// SAN localhost + 127.0.0.1; made with `openssl req -x509 -newkey ec -pkeyopt
// ec_paramgen_curve:P-256 -nodes -subj /CN=wirefall\ test -addext subjectAltName=…`).
export const KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgsx2TvXSVib18l7DB
bRhKd3QGiFapI71OXh5H1pK9ybWhRANCAARpyGK/75pi7l4KHbbJI8HmhRSlPnNp
a/4k5TqnLvozS1lG+G9tCaPuCDE37XS3D7B5Iuparu+c3rfY8gpg9go4
-----END PRIVATE KEY-----
`;
export const CERT = `-----BEGIN CERTIFICATE-----
MIIBozCCAUmgAwIBAgIUZHFMjJ9glEsRNmbIRnvMw46cVmowCgYIKoZIzj0EAwIw
GDEWMBQGA1UEAwwNd2lyZWZhbGwgdGVzdDAgFw0yNjEyMDQxMzM5MzZaGA8yMTI2
MTExMDEzMzkzNlowGDEWMBQGA1UEAwwNd2lyZWZhbGwgdGVzdDBZMBMGByqGSM49
AgEGCCqGSM49AwEHA0IABGnIYr/vmmLuXgodtskjweaFFKU+c2lr/iTlOqcu+jNL
WUb4b20Jo+4IMTftdLcPsHki6lqu75zet9jyCmD2CjijbzBtMB0GA1UdDgQWBBSb
W8Gi4yWibhhR4s57/y5qGWtjbDAfBgNVHSMEGDAWgBSbW8Gi4yWibhhR4s57/y5q
GWtjbDAPBgNVHRMBAf8EBTADAQH/MBoGA1UdEQQTMBGCCWxvY2FsaG9zdIcEfwAA
ATAKBggqhkjOPQQDAgNIADBFAiEA6ncnPLRmNDDW+TjrRKb5vCjEgGOey9Z6r5Dx
RGQgFEACICrxItKt1BfZItEBVtjx6RyTRJzYsoFAjvGQfcBTO4BC
-----END CERTIFICATE-----
`;
export const CERT_DER = Buffer.from(CERT.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');

export interface NodeCaptureConfig {
  version: 'TLSv1.2' | 'TLSv1.3';
  /** OpenSSL cipher list (TLS 1.2) or ciphersuites (TLS 1.3). */
  ciphers?: string;
  alpn: 'http/1.1' | 'h2';
  /** Requested paths; the server answers each with `bodyBytes(path)` octets. */
  paths: string[];
  bodyBytes?: (path: string, i: number) => number;
}

export interface NodeCapture {
  /** Bytes each side wrote, as the proxy received them, in its order. */
  events: Ev[];
  keylog: string;
  /** Application bytes (cleartext) each side sent, in the order they were received. */
  plain: Ev[];
}

const body = (n: number, seed: number): Buffer => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = 97 + ((i * 7 + seed) % 26);
  return b;
};

/**
 * A real TLS connection between Node's client and server through a recording proxy on 127.0.0.1.
 * HTTP/1.1: the client sends each request after the previous response, then ends (close_notify,
 * FIN); HTTP/2: node:http2 client and server, requests one after another, then the session closes.
 */
export async function captureNode(cfg: NodeCaptureConfig): Promise<NodeCapture> {
  const events: Ev[] = [];
  const plain: Ev[] = [];
  const keylog: string[] = [];
  const sizeOf = cfg.bodyBytes ?? ((_p: string, i: number) => 60_000 + 17_000 * i);
  const tlsOpts = {
    minVersion: cfg.version,
    maxVersion: cfg.version,
    ...(cfg.ciphers ? { ciphers: cfg.ciphers } : {}),
  } as const;
  let server: net.Server;
  if (cfg.alpn === 'h2') {
    const s = http2.createSecureServer({ key: KEY, cert: CERT, ...tlsOpts, ALPNProtocols: ['h2'] });
    s.on('stream', (st, headers) => {
      const p = String(headers[':path']);
      const i = cfg.paths.indexOf(p);
      st.respond({ ':status': 200, 'content-type': 'text/plain' });
      st.end(body(sizeOf(p, i), i));
    });
    s.on('sessionError', () => {});
    server = s;
  } else {
    server = tls.createServer({ key: KEY, cert: CERT, ...tlsOpts, ALPNProtocols: ['http/1.1'] }, (sock) => {
      let buf = '';
      let i = 0;
      sock.on('data', (d: Buffer) => {
        plain.push({ side: 'client', data: Buffer.from(d) });
        buf += d.toString('latin1');
        let end: number;
        while ((end = buf.indexOf('\r\n\r\n')) >= 0) {
          const path = buf.slice(0, end).split(' ')[1];
          buf = buf.slice(end + 4);
          const n = sizeOf(path, i);
          sock.write(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${n}\r\n\r\n`, 'latin1'), body(n, i)]));
          i++;
        }
      });
      sock.on('end', () => sock.end());
      sock.on('error', () => {});
    });
  }
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const closed: Promise<void>[] = [];
  const proxy = net.createServer((down) => {
    const up = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    down.on('data', (d: Buffer) => (events.push({ side: 'client', data: Buffer.from(d) }), up.write(d)));
    up.on('data', (d: Buffer) => (events.push({ side: 'server', data: Buffer.from(d) }), down.write(d)));
    down.on('end', () => up.end());
    up.on('end', () => down.end());
    down.on('error', () => {});
    up.on('error', () => {});
    closed.push(new Promise((r) => down.on('close', () => r())), new Promise((r) => up.on('close', () => r())));
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const port = (proxy.address() as net.AddressInfo).port;
  const connect = (): tls.TLSSocket => {
    const c = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false, ALPNProtocols: [cfg.alpn], ...tlsOpts });
    c.on('keylog', (line: Buffer) => keylog.push(line.toString('latin1')));
    return c;
  };
  try {
    if (cfg.alpn === 'h2') {
      await new Promise<void>((resolve, reject) => {
        const session = http2.connect(`https://localhost:${port}`, { createConnection: () => connect() });
        session.on('error', reject);
        let k = 0;
        const next = (): void => {
          if (k === cfg.paths.length) {
            session.close(() => resolve());
            return;
          }
          const req = session.request({ ':path': cfg.paths[k++] });
          req.on('data', () => {});
          req.on('end', next);
          req.on('error', reject);
          req.end();
        };
        session.on('connect', next);
      });
    } else {
      await new Promise<void>((resolve, reject) => {
        const c = connect();
        c.on('error', reject);
        let k = 0;
        let want = -1;
        let got = Buffer.alloc(0);
        const send = (): void => {
          if (k === cfg.paths.length) {
            c.end();
            return;
          }
          c.write(`GET ${cfg.paths[k++]} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: wirefall-test\r\n\r\n`);
        };
        c.on('data', (d: Buffer) => {
          plain.push({ side: 'server', data: Buffer.from(d) });
          got = Buffer.concat([got, d]);
          for (;;) {
            if (want < 0) {
              const end = got.indexOf('\r\n\r\n');
              if (end < 0) return;
              want = end + 4 + Number(/Content-Length: (\d+)/i.exec(got.subarray(0, end).toString('latin1'))![1]);
            }
            if (got.length < want) return;
            got = got.subarray(want);
            want = -1;
            send();
          }
        });
        c.on('secureConnect', send);
        c.on('close', () => resolve());
      });
    }
    await Promise.all(closed);
  } finally {
    proxy.close();
    server.close();
  }
  return { events, keylog: keylog.join(''), plain };
}

// ------------------------------------------------------------------------------------ building

export const CT_CCS = 20;
export const CT_ALERT = 21;
export const CT_HANDSHAKE = 22;
export const CT_APPDATA = 23;

export const u16 = (v: number): Buffer => Buffer.from([v >> 8, v & 0xff]);
export const u24 = (v: number): Buffer => Buffer.from([v >> 16, (v >> 8) & 0xff, v & 0xff]);
export const vec8 = (b: Uint8Array): Buffer => Buffer.concat([Buffer.from([b.length]), b]);
export const vec16 = (b: Uint8Array): Buffer => Buffer.concat([u16(b.length), b]);
export const vec24 = (b: Uint8Array): Buffer => Buffer.concat([u24(b.length), b]);

/** A TLSPlaintext / TLSCiphertext record (RFC 8446 §5.1): type, legacy version, length, fragment. */
export function record(type: number, fragment: Uint8Array, version = 0x0303): Buffer {
  return Buffer.concat([Buffer.from([type, version >> 8, version & 0xff]), u16(fragment.length), fragment]);
}

/** A handshake message (RFC 8446 §4): msg_type, uint24 length, body. */
export function hsMsg(type: number, body: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([type]), u24(body.length), body]);
}

export const ext = (type: number, data: Uint8Array = Buffer.alloc(0)): Buffer => Buffer.concat([u16(type), vec16(data)]);
export const alpnExt = (names: string[]): Buffer => ext(16, vec16(Buffer.concat(names.map((n) => vec8(Buffer.from(n, 'latin1'))))));
export const sniExt = (host: string): Buffer => ext(0, vec16(Buffer.concat([Buffer.from([0]), vec16(Buffer.from(host, 'latin1'))])));

export interface HelloOptions {
  random: Uint8Array;
  suites: number[];
  tls13?: boolean;
  alpn?: string[];
  sni?: string;
  earlyData?: boolean;
  psk?: boolean;
  sessionId?: Uint8Array;
  /** More extensions, appended as they are. */
  extra?: Buffer[];
}

/** ClientHello (RFC 8446 §4.1.2). */
export function clientHello(o: HelloOptions): Buffer {
  const exts: Buffer[] = [];
  if (o.sni) exts.push(sniExt(o.sni));
  if (o.alpn) exts.push(alpnExt(o.alpn));
  if (o.tls13) {
    exts.push(ext(43, vec8(Buffer.concat([u16(0x0304), u16(0x0303)])))); // supported_versions
    exts.push(ext(10, vec16(u16(29)))); // supported_groups x25519
    exts.push(ext(51, vec16(Buffer.concat([u16(29), vec16(randomBytes(32))])))); // key_share
    exts.push(ext(45, vec8(Buffer.from([1])))); // psk_key_exchange_modes psk_dhe_ke
  }
  if (o.earlyData) exts.push(ext(42));
  if (o.extra) exts.push(...o.extra);
  // RFC 8446 §4.2.11: pre_shared_key is the last extension.
  if (o.psk) exts.push(ext(41, Buffer.concat([vec16(Buffer.concat([vec16(randomBytes(16)), Buffer.from([0, 0, 0, 1])])), vec16(vec8(randomBytes(32)))])));
  const body = Buffer.concat([
    u16(0x0303),
    o.random,
    vec8(o.sessionId ?? randomBytes(32)),
    vec16(Buffer.concat(o.suites.map(u16))),
    vec8(Buffer.from([0])),
    vec16(Buffer.concat(exts)),
  ]);
  return hsMsg(1, body);
}

/** ServerHello (RFC 8446 §4.1.3; RFC 5246 §7.4.1.3 when !tls13). */
export function serverHello(o: { random: Uint8Array; suite: number; tls13?: boolean; psk?: boolean; alpn?: string; sessionId?: Uint8Array }): Buffer {
  const exts: Buffer[] = [];
  if (o.tls13) {
    exts.push(ext(43, u16(0x0304)));
    exts.push(ext(51, Buffer.concat([u16(29), vec16(randomBytes(32))])));
    if (o.psk) exts.push(ext(41, u16(0)));
  } else if (o.alpn) exts.push(alpnExt([o.alpn]));
  const body = Buffer.concat([u16(0x0303), o.random, vec8(o.sessionId ?? Buffer.alloc(0)), u16(o.suite), Buffer.from([0]), vec16(Buffer.concat(exts))]);
  return hsMsg(2, body);
}

/** EncryptedExtensions (RFC 8446 §4.3.1). */
export function encryptedExtensions(o: { alpn?: string; earlyData?: boolean }): Buffer {
  const exts: Buffer[] = [];
  if (o.alpn) exts.push(alpnExt([o.alpn]));
  if (o.earlyData) exts.push(ext(42));
  return hsMsg(8, vec16(Buffer.concat(exts)));
}

/** Certificate (RFC 8446 §4.4.2 when tls13, else RFC 5246 §7.4.2). */
export function certificateMsg(certs: Uint8Array[], tls13: boolean): Buffer {
  const list = Buffer.concat(certs.map((c) => (tls13 ? Buffer.concat([vec24(c), u16(0)]) : vec24(c))));
  return hsMsg(11, tls13 ? Buffer.concat([Buffer.from([0]), vec24(list)]) : vec24(list));
}

export const CCS_RECORD = record(CT_CCS, Buffer.from([1]));

function seq8(seq: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(seq));
  return b;
}

function gcmSeal(p: SuiteParams, key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plain: Uint8Array): Buffer {
  const c = createCipheriv(p.cipher, key, nonce, { authTagLength: p.tagLen } as object) as unknown as CipherGCM;
  c.setAAD(aad);
  return Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
}

/** Protects TLS 1.3 records of one direction under one traffic secret (RFC 8446 §5.2–5.3). */
export class Writer13 {
  seq = 0;
  private readonly key: Uint8Array;
  private readonly iv: Uint8Array;
  constructor(
    private readonly p: SuiteParams,
    secret: Uint8Array,
  ) {
    const k = tls13TrafficKeys(p, secret);
    this.key = k.key;
    this.iv = k.iv;
  }
  /** The record body (TLSCiphertext.encrypted_record) of `content` with real type `type`. */
  sealBody(type: number, content: Uint8Array, padding = 0): Buffer {
    const inner = Buffer.concat([content, Buffer.from([type]), Buffer.alloc(padding)]);
    const len = inner.length + this.p.tagLen;
    const nonce = Buffer.from(this.iv);
    const s = seq8(this.seq++);
    for (let i = 0; i < 8; i++) nonce[4 + i] ^= s[i];
    return gcmSeal(this.p, this.key, nonce, Buffer.from([CT_APPDATA, 3, 3, len >> 8, len & 0xff]), inner);
  }
  record(type: number, content: Uint8Array, padding = 0): Buffer {
    return record(CT_APPDATA, this.sealBody(type, content, padding));
  }
}

/** Protects TLS 1.2 AES-GCM records of one direction (RFC 5246 §6.2.3.3, RFC 5288 §3). */
export class Writer12 {
  seq = 0;
  constructor(
    private readonly p: SuiteParams,
    private readonly key: Uint8Array,
    private readonly salt: Uint8Array,
  ) {}
  record(type: number, content: Uint8Array): Buffer {
    const s = seq8(this.seq++);
    const aad = Buffer.concat([s, Buffer.from([type, 3, 3]), u16(content.length)]);
    const sealed = gcmSeal(this.p, this.key, Buffer.concat([this.salt.subarray(0, 4), s]), aad, content);
    return record(type, Buffer.concat([s, sealed]));
  }
}

export const TLS_AES_128_GCM_SHA256 = 0x1301;
export const ECDHE_RSA_AES128_GCM = 0xc02f;

/** A hand-built TLS 1.3 connection (no real key exchange: the key log names the secrets). */
export class Synth13 {
  readonly random = randomBytes(32);
  readonly p: SuiteParams;
  readonly secrets = {
    CLIENT_EARLY_TRAFFIC_SECRET: randomBytes(32),
    CLIENT_HANDSHAKE_TRAFFIC_SECRET: randomBytes(32),
    SERVER_HANDSHAKE_TRAFFIC_SECRET: randomBytes(32),
    CLIENT_TRAFFIC_SECRET_0: randomBytes(32),
    SERVER_TRAFFIC_SECRET_0: randomBytes(32),
  };
  readonly w: { early: Writer13; chs: Writer13; shs: Writer13; capp: Writer13; sapp: Writer13 };
  constructor(suite = TLS_AES_128_GCM_SHA256) {
    this.p = suiteParams(suite)!;
    const s = this.secrets;
    this.w = {
      early: new Writer13(this.p, s.CLIENT_EARLY_TRAFFIC_SECRET),
      chs: new Writer13(this.p, s.CLIENT_HANDSHAKE_TRAFFIC_SECRET),
      shs: new Writer13(this.p, s.SERVER_HANDSHAKE_TRAFFIC_SECRET),
      capp: new Writer13(this.p, s.CLIENT_TRAFFIC_SECRET_0),
      sapp: new Writer13(this.p, s.SERVER_TRAFFIC_SECRET_0),
    };
  }
  keylog(labels: (keyof Synth13['secrets'])[] = Object.keys(this.secrets) as (keyof Synth13['secrets'])[]): string {
    const r = this.random.toString('hex');
    return labels.map((l) => `${l} ${r} ${this.secrets[l].toString('hex')}\n`).join('');
  }
  keys(labels?: (keyof Synth13['secrets'])[]): KeyLog {
    return keyLogOf(this.keylog(labels));
  }
  clientHello(o: Partial<HelloOptions> = {}): Buffer {
    return record(CT_HANDSHAKE, clientHello({ random: this.random, suites: [this.p.id], tls13: true, alpn: ['http/1.1'], sni: 'example.test', ...o }), 0x0301);
  }
  serverHello(o: { psk?: boolean } = {}): Buffer {
    return record(CT_HANDSHAKE, serverHello({ random: randomBytes(32), suite: this.p.id, tls13: true, ...o }));
  }
  /** The server's protected flight: EE, Certificate, CertificateVerify, Finished (one record each). */
  serverFlight(o: { alpn?: string; earlyData?: boolean; certs?: Uint8Array[] } = {}): Buffer[] {
    return [
      this.w.shs.record(CT_HANDSHAKE, encryptedExtensions({ alpn: o.alpn ?? 'http/1.1', earlyData: o.earlyData })),
      this.w.shs.record(CT_HANDSHAKE, certificateMsg(o.certs ?? [CERT_DER], true)),
      this.w.shs.record(CT_HANDSHAKE, hsMsg(15, Buffer.concat([u16(0x0403), vec16(randomBytes(70))]))),
      this.w.shs.record(CT_HANDSHAKE, hsMsg(20, randomBytes(32))),
    ];
  }
  clientFinished(): Buffer {
    return this.w.chs.record(CT_HANDSHAKE, hsMsg(20, randomBytes(32)));
  }
  /** A full 1-RTT handshake as events: CH; SH + CCS + server flight; client CCS + Finished. */
  handshake(o: { alpn?: string } = {}): Ev[] {
    return [
      { side: 'client', data: this.clientHello(o.alpn ? { alpn: [o.alpn] } : {}) },
      { side: 'server', data: Buffer.concat([this.serverHello(), CCS_RECORD, ...this.serverFlight({ alpn: o.alpn })]) },
      { side: 'client', data: Buffer.concat([CCS_RECORD, this.clientFinished()]) },
    ];
  }
  /** Application data records of `data` (split at 16384 octets, RFC 8446 §5.1). */
  app(side: Side, data: Uint8Array): Buffer[] {
    const w = side === 'client' ? this.w.capp : this.w.sapp;
    const r: Buffer[] = [];
    for (let i = 0; i < data.length; i += 16384) r.push(w.record(CT_APPDATA, data.subarray(i, Math.min(data.length, i + 16384))));
    return r;
  }
}

/** A hand-built TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256 connection (CLIENT_RANDOM key log line). */
export class Synth12 {
  readonly random = randomBytes(32);
  readonly serverRandom = randomBytes(32);
  readonly master = randomBytes(48);
  readonly p: SuiteParams;
  readonly kb: TlsKeyBlock;
  readonly w: { client: Writer12; server: Writer12 };
  constructor(suite = ECDHE_RSA_AES128_GCM) {
    this.p = suiteParams(suite)!;
    this.kb = tls12KeyBlock(this.p, this.master, this.random, this.serverRandom, 0x0303);
    this.w = { client: new Writer12(this.p, this.kb.clientKey, this.kb.clientIv), server: new Writer12(this.p, this.kb.serverKey, this.kb.serverIv) };
  }
  keylog(): string {
    return `CLIENT_RANDOM ${this.random.toString('hex')} ${this.master.toString('hex')}\n`;
  }
  keys(): KeyLog {
    return keyLogOf(this.keylog());
  }
  clientHello(o: Partial<HelloOptions> = {}): Buffer {
    return record(CT_HANDSHAKE, clientHello({ random: this.random, suites: [this.p.id], alpn: ['http/1.1'], sni: 'example.test', ...o }), 0x0301);
  }
  /** Full handshake: CH; SH, Certificate, ServerHelloDone; CKE, CCS, Finished; CCS, Finished. */
  handshake(o: { alpn?: string; certs?: Uint8Array[] } = {}): Ev[] {
    const alpn = o.alpn ?? 'http/1.1';
    return [
      { side: 'client', data: this.clientHello({ alpn: [alpn] }) },
      {
        side: 'server',
        data: record(
          CT_HANDSHAKE,
          Buffer.concat([serverHello({ random: this.serverRandom, suite: this.p.id, alpn }), certificateMsg(o.certs ?? [CERT_DER], false), hsMsg(14, Buffer.alloc(0))]),
        ),
      },
      {
        side: 'client',
        data: Buffer.concat([record(CT_HANDSHAKE, hsMsg(16, vec8(randomBytes(32)))), CCS_RECORD, this.w.client.record(CT_HANDSHAKE, hsMsg(20, randomBytes(12)))]),
      },
      { side: 'server', data: Buffer.concat([CCS_RECORD, this.w.server.record(CT_HANDSHAKE, hsMsg(20, randomBytes(12)))]) },
    ];
  }
  app(side: Side, data: Uint8Array): Buffer[] {
    const r: Buffer[] = [];
    for (let i = 0; i < data.length; i += 16384) r.push(this.w[side].record(CT_APPDATA, data.subarray(i, Math.min(data.length, i + 16384))));
    return r;
  }
}

/** An HTTP/1.1 GET and its response with a `n`-octet body. */
export function h1Request(path: string): Buffer {
  return Buffer.from(`GET ${path} HTTP/1.1\r\nHost: example.test\r\n\r\n`, 'latin1');
}
export function h1Response(n: number, seed = 0): Buffer {
  return Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${n}\r\n\r\n`, 'latin1'), body(n, seed)]);
}
