/**
 * Builds QUIC datagrams for scenario and hostile tests: packets sealed exactly as RFC 9001 §5
 * describes (AEAD, then header protection sampled from the ciphertext), frames and TLS handshake
 * messages assembled by hand, and a key log that names the secrets used. The decoder under test
 * shares only the key derivation (PacketKeys) with this builder, which the RFC 9001/9369 Appendix
 * A vector tests pin down independently.
 */
import { createCipheriv } from 'node:crypto';
import type { L4Packet } from '../../../core/src/capture/ip.js';
import { initialKeys, PacketKeys, quicSuite } from '../../../core/src/quic/crypto.js';
import { encodeVarint } from '../../../core/src/quic/varint.js';
import { QUIC_V1, versionParams, type VersionParams } from '../../../core/src/quic/version.js';
import { KeyLog } from '../../../core/src/tls/keylog.js';

export const cat = (...parts: (Uint8Array | number[])[]): Uint8Array => {
  const arrs = parts.map((p) => (p instanceof Uint8Array ? p : Uint8Array.from(p)));
  const out = new Uint8Array(arrs.reduce((n, a) => n + a.length, 0));
  let o = 0;
  for (const a of arrs) {
    out.set(a, o);
    o += a.length;
  }
  return out;
};
const v = encodeVarint;
const u16 = (n: number) => [n >> 8, n & 0xff];
const u24 = (n: number) => [n >> 16, (n >> 8) & 0xff, n & 0xff];
const ascii = (s: string) => Uint8Array.from(Buffer.from(s, 'latin1'));

// ------------------------------------------------------------------ frames (RFC 9000 §19)

export const F = {
  padding: (n: number) => new Uint8Array(n),
  ping: () => Uint8Array.of(0x01),
  crypto: (offset: number, data: Uint8Array) => cat(v(0x06), v(offset), v(data.length), data),
  stream: (id: number, offset: number, data: Uint8Array, fin = false) => cat(v(0x08 | 0x04 | 0x02 | (fin ? 1 : 0)), v(id), v(offset), v(data.length), data),
  resetStream: (id: number, code: number, finalSize: number) => cat(v(0x04), v(id), v(code), v(finalSize)),
  close: (code: number, reason = '', app = false) => (app ? cat(v(0x1d), v(code), v(reason.length), ascii(reason)) : cat(v(0x1c), v(code), v(0), v(reason.length), ascii(reason))),
  handshakeDone: () => Uint8Array.of(0x1e),
  newConnectionId: (seq: number, cid: Uint8Array, token: Uint8Array) => cat(v(0x18), v(seq), v(0), [cid.length], cid, token),
  ack: (largest: number) => cat(v(0x02), v(largest), v(0), v(0), v(0)),
};

// ------------------------------------------------------------------ TLS messages

export function clientHello(random: Uint8Array, sni: string, alpn: string[], tp: Uint8Array = transportParams({ 0x01: 30000 })): Uint8Array {
  const name = ascii(sni);
  const sniExt = cat(u16(name.length + 3), [0], u16(name.length), name);
  const alpnList = cat(...alpn.map((a) => cat([a.length], ascii(a))));
  const exts = cat(
    u16(0x0000), u16(sniExt.length), sniExt,
    u16(0x0010), u16(alpnList.length + 2), u16(alpnList.length), alpnList,
    u16(0x002b), u16(3), [2, 0x03, 0x04],
    u16(0x0033), u16(2 + 2 + 2 + 32), u16(36), u16(0x001d), u16(32), new Uint8Array(32),
    u16(0x0039), u16(tp.length), tp,
  );
  const body = cat(u16(0x0303), random, [0], u16(2), u16(0x1301), [1, 0], u16(exts.length), exts);
  return cat([1], u24(body.length), body);
}

export function serverHello(suite = 0x1301): Uint8Array {
  const exts = cat(u16(0x002b), u16(2), u16(0x0304), u16(0x0033), u16(36), u16(0x001d), u16(32), new Uint8Array(32).fill(7));
  const body = cat(u16(0x0303), new Uint8Array(32).fill(9), [0], u16(suite), [0], u16(exts.length), exts);
  return cat([2], u24(body.length), body);
}

export function encryptedExtensions(alpn: string, tp: Uint8Array = transportParams({ 0x01: 10000 })): Uint8Array {
  const a = ascii(alpn);
  const exts = cat(u16(0x0010), u16(a.length + 3), u16(a.length + 1), [a.length], a, u16(0x0039), u16(tp.length), tp);
  const body = cat(u16(exts.length), exts);
  return cat([8], u24(body.length), body);
}

export const finished = (): Uint8Array => cat([20], u24(32), new Uint8Array(32).fill(1));

/** Transport parameters with varint values (RFC 9000 §18). */
export function transportParams(values: Record<number, number>): Uint8Array {
  return cat(...Object.entries(values).map(([id, val]) => {
    const e = v(val);
    return cat(v(Number(id)), v(e.length), e);
  }));
}

// ------------------------------------------------------------------ HTTP/3 and QPACK (static / literal only)

export const H3 = {
  frame: (type: number, payload: Uint8Array) => cat(v(type), v(payload.length), payload),
  settings: (s: Record<number, number>) => H3.frame(0x04, cat(...Object.entries(s).map(([id, val]) => cat(v(Number(id)), v(val))))),
  headers: (section: Uint8Array) => H3.frame(0x01, section),
  data: (d: Uint8Array) => H3.frame(0x00, d),
  goaway: (id: number) => H3.frame(0x07, v(id)),
};

/** An encoded field section with Required Insert Count 0 (RFC 9204 §4.5): static refs and literals. */
export function qpackSection(fields: [string, string][]): Uint8Array {
  const lines: Uint8Array[] = [Uint8Array.of(0x00, 0x00)];
  const STATIC: Record<string, number> = { ':method GET': 17, ':method POST': 20, ':scheme https': 23, ':path /': 1, ':status 200': 25, ':status 404': 27 };
  const NAMES: Record<string, number> = { ':authority': 0, ':path': 1, 'content-type': 44, ':status': 24 };
  for (const [n, val] of fields) {
    const idx = STATIC[`${n} ${val}`];
    if (idx !== undefined) {
      lines.push(Uint8Array.of(0xc0 | idx)); // §4.5.2 indexed, static, idx < 64
      continue;
    }
    const vb = ascii(val);
    const ni = NAMES[n];
    if (ni !== undefined && ni < 15) lines.push(cat([0x50 | ni], lenPrefixed(vb, 7))); // §4.5.4 static name ref
    else {
      const nb = ascii(n);
      lines.push(cat(lenPrefixed(nb, 3, 0x20), lenPrefixed(vb, 7))); // §4.5.6 literal name
    }
  }
  return cat(...lines);
}

/** A non-Huffman string literal with an N-bit length prefix (RFC 7541 §5.1 integers). */
export function lenPrefixed(b: Uint8Array, prefix: number, flags = 0): Uint8Array {
  const max = (1 << prefix) - 1;
  if (b.length < max) return cat([flags | b.length], b);
  const out = [flags | max];
  let rest = b.length - max;
  while (rest >= 128) {
    out.push((rest & 0x7f) | 0x80);
    rest = Math.floor(rest / 128);
  }
  out.push(rest);
  return cat(out, b);
}

// ------------------------------------------------------------------ packet sealing

function seal(keys: PacketKeys, header: Uint8Array, pnOffset: number, pn: number, payload: Uint8Array, long: boolean): Uint8Array {
  const nonce = Buffer.from(keys.iv);
  const pnb = Buffer.alloc(8);
  pnb.writeBigUInt64BE(BigInt(pn));
  for (let i = 0; i < 8; i++) nonce[4 + i] ^= pnb[i];
  const aead = keys.suite.aead;
  const c = createCipheriv(aead as 'aes-128-gcm', keys.key, nonce, { authTagLength: 16 });
  if (aead === 'aes-128-ccm') (c as unknown as { setAAD(a: Uint8Array, o: object): void }).setAAD(header, { plaintextLength: payload.length });
  else c.setAAD(header);
  const ct = cat(c.update(payload), c.final(), c.getAuthTag());
  const pkt = cat(header, ct);
  const sample = pkt.subarray(pnOffset + 4, pnOffset + 20);
  const mask = keys.mask(sample)!;
  pkt[0] ^= mask[0] & (long ? 0x0f : 0x1f);
  for (let i = 0; i < 4; i++) pkt[pnOffset + i] ^= mask[1 + i];
  return pkt;
}

export type SimSide = 'client' | 'server';

export interface SimOptions {
  version?: number;
  dcid?: Uint8Array;
  clientCid?: Uint8Array;
  serverCid?: Uint8Array;
  suite?: number;
  random?: Uint8Array;
  client?: { ip: string; port: number };
  server?: { ip: string; port: number };
}

/** One simulated connection: endpoints, connection IDs, keys for every epoch, a key log. */
export class QuicSim {
  readonly vp: VersionParams;
  readonly dcid: Uint8Array;
  readonly clientCid: Uint8Array;
  readonly serverCid: Uint8Array;
  readonly random: Uint8Array;
  readonly client: { ip: string; port: number };
  readonly server: { ip: string; port: number };
  readonly keys = new KeyLog();
  private readonly secrets: Record<string, Uint8Array>;
  private readonly hs: Record<SimSide, PacketKeys>;
  private app: Record<SimSide, PacketKeys>;
  private pn: Record<string, number> = {};
  private num = 0;

  constructor(o: SimOptions = {}) {
    this.vp = versionParams(o.version ?? QUIC_V1)!;
    this.dcid = o.dcid ?? Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
    this.clientCid = o.clientCid ?? Uint8Array.from([0xc1, 0xc2, 0xc3, 0xc4]);
    this.serverCid = o.serverCid ?? Uint8Array.from([0x5e, 0x5e, 0x5e, 0x01]);
    this.random = o.random ?? new Uint8Array(32).fill(0xab);
    this.client = o.client ?? { ip: '10.0.0.1', port: 50000 };
    this.server = o.server ?? { ip: '10.0.0.2', port: 443 };
    const suite = quicSuite(o.suite ?? 0x1301)!;
    const hlen = suite.hash === 'sha384' ? 48 : 32;
    const mk = (b: number) => new Uint8Array(hlen).fill(b);
    this.secrets = { CLIENT_HANDSHAKE_TRAFFIC_SECRET: mk(0x11), SERVER_HANDSHAKE_TRAFFIC_SECRET: mk(0x22), CLIENT_TRAFFIC_SECRET_0: mk(0x33), SERVER_TRAFFIC_SECRET_0: mk(0x44) };
    const rnd = Buffer.from(this.random).toString('hex');
    this.keys.addText(Object.entries(this.secrets).map(([k, s]) => `${k} ${rnd} ${Buffer.from(s).toString('hex')}`).join('\n') + '\n');
    this.hs = { client: new PacketKeys(suite, this.vp, this.secrets.CLIENT_HANDSHAKE_TRAFFIC_SECRET), server: new PacketKeys(suite, this.vp, this.secrets.SERVER_HANDSHAKE_TRAFFIC_SECRET) };
    this.app = { client: new PacketKeys(suite, this.vp, this.secrets.CLIENT_TRAFFIC_SECRET_0), server: new PacketKeys(suite, this.vp, this.secrets.SERVER_TRAFFIC_SECRET_0) };
  }

  private nextPn(key: string): number {
    const n = this.pn[key] ?? 0;
    this.pn[key] = n + 1;
    return n;
  }

  private cids(side: SimSide): { dcid: Uint8Array; scid: Uint8Array } {
    return side === 'client' ? { dcid: this.serverCidSeen ? this.serverCid : this.dcid, scid: this.clientCid } : { dcid: this.clientCid, scid: this.serverCid };
  }
  /** Set once the client has "received" the server's Initial (RFC 9000 §7.2). */
  serverCidSeen = false;

  /** A long-header packet (Initial or Handshake) of `side` carrying `frames`. */
  long(side: SimSide, type: 'initial' | 'handshake', frames: Uint8Array, opts: { padTo?: number; token?: Uint8Array } = {}): Uint8Array {
    const keys = type === 'initial' ? initialKeys(this.vp, this.dcid)[side] : this.hs[side];
    const pn = this.nextPn(`${side}-${type}`);
    const typeBits = this.vp.types.indexOf(type);
    const { dcid, scid } = this.cids(side);
    let payload = frames.length < 4 ? cat(frames, F.padding(4 - frames.length)) : frames;
    const build = (pl: Uint8Array) => {
      const len = 4 + pl.length + 16;
      const token = type === 'initial' ? cat(v(opts.token?.length ?? 0), opts.token ?? new Uint8Array(0)) : new Uint8Array(0);
      const pre = cat([0xc0 | (typeBits << 4) | 0x03], [(this.vp.code >>> 24) & 0xff, (this.vp.code >>> 16) & 0xff, (this.vp.code >>> 8) & 0xff, this.vp.code & 0xff], [dcid.length], dcid, [scid.length], scid, token, encodeVarint2(len));
      return pre;
    };
    let pre = build(payload);
    if (opts.padTo && pre.length + 4 + payload.length + 16 < opts.padTo) {
      payload = cat(payload, F.padding(opts.padTo - (pre.length + 4 + payload.length + 16)));
      pre = build(payload);
    }
    const pnb = [(pn >>> 24) & 0xff, (pn >>> 16) & 0xff, (pn >>> 8) & 0xff, pn & 0xff];
    const header = cat(pre, pnb);
    return seal(keys, header, pre.length, pn, payload, true);
  }

  /** A short-header (1-RTT) packet of `side`. */
  short(side: SimSide, frames: Uint8Array, opts: { keyPhase?: number } = {}): Uint8Array {
    const pn = this.nextPn(`${side}-app`);
    const { dcid } = this.cids(side);
    const payload = frames.length < 4 ? cat(frames, F.padding(4 - frames.length)) : frames;
    const header = cat([0x40 | ((opts.keyPhase ?? this.phase[side]) << 2) | 0x03], dcid, [(pn >>> 24) & 0xff, (pn >>> 16) & 0xff, (pn >>> 8) & 0xff, pn & 0xff]);
    return seal(this.app[side], header, 1 + dcid.length, pn, payload, false);
  }

  private phase: Record<SimSide, number> = { client: 0, server: 0 };

  /** RFC 9001 §6: the side moves to its next key phase. */
  keyUpdate(side: SimSide): void {
    this.app[side] = this.app[side].next();
    this.phase[side] ^= 1;
  }

  /** A UDP datagram from `side` as the engine's IP layer hands it to QUIC. */
  udp(side: SimSide, payload: Uint8Array, time: number, from?: { ip: string; port: number }): L4Packet {
    const src = from ?? (side === 'client' ? this.client : this.server);
    const dst = side === 'client' ? this.server : this.client;
    return {
      num: ++this.num,
      time,
      frameLen: payload.length + 42,
      v6: false,
      src: src.ip,
      dst: dst.ip,
      srcV4: -1,
      dstV4: -1,
      proto: 17,
      srcPort: src.port,
      dstPort: dst.port,
      seq: 0,
      ack: 0,
      flags: 0,
      window: 0,
      payload,
      missing: 0,
    };
  }

  /** The usual handshake: client Initial (ClientHello), server Initial (ServerHello) + Handshake (EE, Finished), client Handshake (Finished). */
  handshake(opts: { sni?: string; alpn?: string[]; selected?: string; t0?: number } = {}): L4Packet[] {
    const t = opts.t0 ?? 0;
    const ch = clientHello(this.random, opts.sni ?? 'example.test', opts.alpn ?? ['h3']);
    const out: L4Packet[] = [];
    out.push(this.udp('client', this.long('client', 'initial', F.crypto(0, ch), { padTo: 1200 }), t));
    const sInit = this.long('server', 'initial', cat(F.ack(0), F.crypto(0, serverHello())));
    const sHs = this.long('server', 'handshake', F.crypto(0, cat(encryptedExtensions(opts.selected ?? 'h3'), finished())));
    out.push(this.udp('server', cat(sInit, sHs), t + 10));
    this.serverCidSeen = true;
    out.push(this.udp('client', this.long('client', 'handshake', F.crypto(0, finished())), t + 20));
    return out;
  }
}

/** A varint forced to 2 octets (long-header Length fields are easier to patch at fixed width). */
function encodeVarint2(n: number): Uint8Array {
  return Uint8Array.of(0x40 | (n >> 8), n & 0xff);
}
