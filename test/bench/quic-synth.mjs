/**
 * A large QUIC / HTTP/3 capture from a small real one (samples/bench-seed-quic.pcap, made by
 * samples/tools/quic-bench-seed.sh), for part `quic` of bench.mjs.
 *
 * Copying a TCP connection only needs a new client address (synth.mjs). A QUIC connection is named
 * by its connection IDs, not its addresses (RFC 9000 §5.2, §9): copies that kept the seed's IDs
 * would be one connection migrating between addresses, for tshark and wirefall alike. So copy k
 * (k ≥ 1) gets its own connection IDs — each ID of the seed with its last three octets XORed with
 * k — in every header, in NEW_CONNECTION_ID frames and wherever a header's ID recurs in a packet's
 * payload (the transport parameters original_destination_connection_id and
 * initial_source_connection_id, RFC 9000 §7.3). The header is the AEAD's associated data and the
 * header protection samples the ciphertext (RFC 9001 §5.3, §5.4), so each packet is decrypted with
 * the seed's keys and sealed again: Initial packets with the Initial keys of the copy's own
 * Destination Connection ID (§5.2), Handshake and 1-RTT packets with the seed's key log secrets —
 * the TLS handshake (client random included) is the seed's, so that one key log still decrypts
 * every copy. Lengths do not change: packet numbers, payload bytes, timing and sizes are the
 * seed's; each copy also has its own client address (10.100.x.y) and starts `staggerUs` after the
 * previous one. UDP checksums are set to 0 (none, RFC 768).
 *
 * Seed limits (checked): classic little-endian µs pcap, Ethernet, IPv4/UDP, QUIC v1 with
 * TLS_AES_128_GCM_SHA256, one 4-tuple per connection, no key update, no 0-RTT, no Retry.
 */
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { createWriteStream, readFileSync } from 'node:fs';
import { readSeed } from './synth.mjs';

const ETH = 14;
const V1_SALT = Buffer.from('38762cf7f55934b34d179ae6a4c80cadccbb7f0a', 'hex');

function hkdfExpand(secret, info, len) {
  const out = [];
  let prev = Buffer.alloc(0);
  for (let i = 1; Buffer.concat(out).length < len; i++) {
    prev = createHmac('sha256', secret).update(Buffer.concat([prev, info, Buffer.from([i])])).digest();
    out.push(prev);
  }
  return Buffer.concat(out).subarray(0, len);
}
function expandLabel(secret, label, len) {
  const full = Buffer.from('tls13 ' + label, 'latin1');
  const info = Buffer.concat([Buffer.from([len >> 8, len & 0xff, full.length]), full, Buffer.from([0])]);
  return hkdfExpand(secret, info, len);
}
/** RFC 9001 §5.1: AEAD key, IV and header protection key of a traffic secret (AES-128-GCM). */
function packetKeys(secret) {
  return { key: expandLabel(secret, 'quic key', 16), iv: expandLabel(secret, 'quic iv', 12), hp: expandLabel(secret, 'quic hp', 16) };
}
/** RFC 9001 §5.2: client and server Initial keys of a Destination Connection ID (QUIC v1). */
function initialKeys(dcid) {
  const initial = createHmac('sha256', V1_SALT).update(dcid).digest();
  return { client: packetKeys(expandLabel(initial, 'client in', 32)), server: packetKeys(expandLabel(initial, 'server in', 32)) };
}
const hpMask = (hp, sample) => {
  const c = createCipheriv('aes-128-ecb', hp, null);
  c.setAutoPadding(false);
  return c.update(sample);
};
const nonce = (iv, pn) => {
  const n = Buffer.from(iv);
  for (let i = 0; i < 8; i++) n[11 - i] ^= Number((BigInt(pn) >> BigInt(8 * i)) & 0xffn);
  return n;
};
function open(k, pn, aad, sealed) {
  const d = createDecipheriv('aes-128-gcm', k.key, nonce(k.iv, pn));
  d.setAAD(aad);
  d.setAuthTag(sealed.subarray(sealed.length - 16));
  return Buffer.concat([d.update(sealed.subarray(0, sealed.length - 16)), d.final()]);
}
function seal(k, pn, aad, plain) {
  const c = createCipheriv('aes-128-gcm', k.key, nonce(k.iv, pn));
  c.setAAD(aad);
  return Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
}

/** RFC 9000 §16 variable-length integer at `o`: [value, next offset]. */
function varint(b, o) {
  const len = 1 << (b[o] >> 6);
  let v = b[o] & 0x3f;
  for (let i = 1; i < len; i++) v = v * 256 + b[o + i];
  return [v, o + len];
}
/** RFC 9000 §17.1: the full packet number nearest the next expected one. */
function decodePn(largest, truncated, pnLen) {
  const expected = largest + 1;
  const win = 2 ** (8 * pnLen);
  const cand = Math.floor(expected / win) * win + truncated;
  if (cand <= expected - win / 2 && cand + win < 2 ** 62) return cand + win;
  if (cand > expected + win / 2 && cand >= win) return cand - win;
  return cand;
}

/**
 * Walks a decrypted payload's frames (RFC 9000 §19), calling `onCid(offset, length)` for each
 * NEW_CONNECTION_ID's connection ID and `onCrypto(offset, data)` for CRYPTO frame data.
 */
function walkFrames(p, onCid, onCrypto) {
  let o = 0;
  const v = () => {
    const [x, n] = varint(p, o);
    o = n;
    return x;
  };
  /** Skips a length-prefixed field (the length is read before `o` moves past it). */
  const skip = () => {
    const len = v();
    o += len;
  };
  while (o < p.length) {
    const t = v();
    if (t === 0x00 || t === 0x01 || t === 0x1e) continue; // PADDING, PING, HANDSHAKE_DONE
    if (t === 0x02 || t === 0x03) {
      v();
      v();
      const n = v();
      v();
      for (let i = 0; i < n; i++) (v(), v());
      if (t === 0x03) (v(), v(), v());
    } else if (t === 0x04) (v(), v(), v());
    else if (t === 0x05) (v(), v());
    else if (t === 0x06) {
      const off = v();
      const len = v();
      onCrypto(off, p.subarray(o, o + len));
      o += len;
    } else if (t === 0x07) skip();
    else if (t >= 0x08 && t <= 0x0f) {
      v();
      if (t & 0x04) v();
      if (!(t & 0x02)) return; // no Length: the frame runs to the end of the packet
      skip();
    } else if (t === 0x10 || t === 0x12 || t === 0x13 || t === 0x14 || t === 0x16 || t === 0x17 || t === 0x19) v();
    else if (t === 0x11 || t === 0x15) (v(), v());
    else if (t === 0x18) {
      v();
      v();
      const len = p[o++];
      onCid(o, len);
      o += len + 16;
    } else if (t === 0x1a || t === 0x1b) o += 8;
    else if (t === 0x1c || t === 0x1d) {
      v();
      if (t === 0x1c) v();
      skip();
    } else if (t === 0x30 || t === 0x31) {
      if (t === 0x31) skip();
      else return;
    } else throw new Error(`quic-synth: frame type 0x${t.toString(16)} not handled`);
  }
}

function readKeyLog(path) {
  const m = new Map();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const [label, cr, secret] = line.trim().split(/\s+/);
    if (!secret) continue;
    if (!m.has(cr)) m.set(cr, {});
    m.get(cr)[label] = Buffer.from(secret, 'hex');
  }
  return m;
}

/**
 * Decodes the seed once: per datagram, its QUIC packets unprotected and decrypted, with where the
 * connection IDs sit in each header and payload.
 */
function decodeSeed(seedPath, keysPath) {
  const seed = readSeed(seedPath, { anyFirst: true });
  const keylog = readKeyLog(keysPath);
  const conns = new Map();
  const dgrams = [];
  for (const pkt of seed.pkts) {
    const d = pkt.data;
    if (d.length < ETH + 28 || d[12] !== 0x08 || d[13] !== 0x00 || d[ETH + 9] !== 17) throw new Error('quic-synth: an IPv4/UDP-only seed is needed');
    const udp = ETH + (d[ETH] & 0x0f) * 4;
    const q = udp + 8;
    const a = `${d.subarray(ETH + 12, ETH + 16).join('.')}:${d.readUInt16BE(udp)}`;
    const b = `${d.subarray(ETH + 16, ETH + 20).join('.')}:${d.readUInt16BE(udp + 2)}`;
    let c = conns.get(`${a}|${b}`) ?? conns.get(`${b}|${a}`);
    let fromClient;
    if (!c) {
      // A new connection starts with the client's first Initial (RFC 9000 §17.2.2).
      if ((d[q] & 0xf0) !== 0xc0) throw new Error('quic-synth: a connection that does not start with a client Initial');
      const dcid = d.subarray(q + 6, q + 6 + d[q + 5]);
      c = { client: a, odcid: Buffer.from(dcid), cids: new Map(), largest: {}, keys: { initial: initialKeys(dcid) }, dcidLen: {}, random: null };
      conns.set(`${a}|${b}`, c);
    }
    fromClient = c.client === a;
    const dir = fromClient ? 'client' : 'server';
    const packets = [];
    let o = q;
    while (o < d.length) {
      const first = d[o];
      const start = o;
      let pnOffset;
      let end;
      let space;
      const cidAt = [];
      if (first & 0x80) {
        const type = (first >> 4) & 3;
        if (d.readUInt32BE(o + 1) !== 1) throw new Error('quic-synth: QUIC v1 only');
        const dl = d[o + 5];
        cidAt.push([o + 6 - start, dl]);
        const sl = d[o + 6 + dl];
        cidAt.push([o + 7 + dl - start, sl]);
        c.cids.set(d.subarray(o + 7 + dl, o + 7 + dl + sl).toString('hex'), sl);
        c.cids.set(d.subarray(o + 6, o + 6 + dl).toString('hex'), dl);
        c.dcidLen[dir] = dl;
        let p = o + 7 + dl + sl;
        if (type === 0) {
          const [tl, n] = varint(d, p);
          p = n + tl;
        } else if (type !== 2) throw new Error(`quic-synth: long packet type ${type} (0-RTT / Retry) not supported`);
        const [len, n] = varint(d, p);
        pnOffset = n;
        end = n + len;
        space = type === 0 ? 'initial' : 'handshake';
      } else {
        const dl = c.dcidLen[dir];
        cidAt.push([1, dl]);
        pnOffset = o + 1 + dl;
        end = d.length;
        space = 'app';
      }
      const keys = space === 'initial' ? c.keys.initial[dir] : c.keys[`${space}-${dir}`];
      if (!keys) throw new Error(`quic-synth: no ${space} keys for the ${dir} (key log incomplete?)`);
      const mask = hpMask(keys.hp, d.subarray(pnOffset + 4, pnOffset + 20));
      const hdr = Buffer.from(d.subarray(start, pnOffset + 4));
      hdr[0] ^= mask[0] & (first & 0x80 ? 0x0f : 0x1f);
      if (!(first & 0x80) && hdr[0] & 0x04) throw new Error('quic-synth: key updates are not supported');
      const pnLen = (hdr[0] & 3) + 1;
      let tpn = 0;
      for (let i = 0; i < pnLen; i++) {
        hdr[pnOffset - start + i] ^= mask[1 + i];
        tpn = tpn * 256 + hdr[pnOffset - start + i];
      }
      const header = hdr.subarray(0, pnOffset - start + pnLen);
      const lk = `${dir}-${space}`;
      const pn = decodePn(c.largest[lk] ?? -1, tpn, pnLen);
      if (pn > (c.largest[lk] ?? -1)) c.largest[lk] = pn;
      const plain = open(keys, pn, header, d.subarray(pnOffset + pnLen, end));
      const ncids = [];
      const cryptoAt = [];
      walkFrames(
        plain,
        (at, len) => {
          ncids.push([at, len]);
          c.cids.set(plain.subarray(at, at + len).toString('hex'), len);
        },
        (off, data) => cryptoAt.push([off, data]),
      );
      // The client random names the connection's secrets in the key log (RFC 8446 §4.1.2).
      if (space === 'initial' && fromClient && !c.random) {
        const ch = cryptoAt.find(([off]) => off === 0);
        if (ch) {
          c.random = Buffer.from(ch[1].subarray(6, 38)).toString('hex');
          const s = keylog.get(c.random);
          if (!s) throw new Error(`quic-synth: client random ${c.random} not in ${keysPath}`);
          c.keys['handshake-client'] = packetKeys(s.CLIENT_HANDSHAKE_TRAFFIC_SECRET);
          c.keys['handshake-server'] = packetKeys(s.SERVER_HANDSHAKE_TRAFFIC_SECRET);
          c.keys['app-client'] = packetKeys(s.CLIENT_TRAFFIC_SECRET_0);
          c.keys['app-server'] = packetKeys(s.SERVER_TRAFFIC_SECRET_0);
        }
      }
      packets.push({ start: start - q, pnOffset: pnOffset - q, pnLen, end: end - q, pn, space, dir, header, plain, cidAt, ncids });
      o = end;
    }
    dgrams.push({ conn: c, fromClient, q, packets });
  }
  // Every connection ID recurring in a payload (transport parameters): where, per packet.
  for (const g of dgrams) {
    for (const p of g.packets) {
      p.payloadCids = [...p.ncids];
      for (const [hex, len] of g.conn.cids) {
        if (len < 4) continue;
        const cid = Buffer.from(hex, 'hex');
        for (let at = p.plain.indexOf(cid); at >= 0; at = p.plain.indexOf(cid, at + 1)) {
          if (!p.payloadCids.some(([x]) => x === at)) p.payloadCids.push([at, len]);
        }
      }
    }
  }
  return { seed, conns: [...conns.values()], dgrams };
}

/** Copy k's version of a connection ID: the last three octets XORed with k (k = 0: the seed's). */
function mapCid(buf, at, len, k) {
  if (k === 0 || len === 0) return;
  const n = Math.min(3, len);
  for (let i = 0; i < n; i++) buf[at + len - 1 - i] ^= (k >> (8 * i)) & 0xff;
}

/** Copy k of one datagram (a fresh buffer). */
function copyDatagram(pkt, g, k, initialKeysFor) {
  const d = Buffer.from(pkt.data);
  if (k === 0) return d;
  const c = g.conn;
  for (const p of g.packets) {
    const keys = p.space === 'initial' ? initialKeysFor(c)[p.dir] : c.keys[`${p.space}-${p.dir}`];
    const header = Buffer.from(p.header);
    for (const [at, len] of p.cidAt) mapCid(header, at, len, k);
    const plain = Buffer.from(p.plain);
    for (const [at, len] of p.payloadCids) mapCid(plain, at, len, k);
    const sealed = seal(keys, p.pn, header, plain);
    const base = g.q + p.start;
    header.copy(d, base);
    sealed.copy(d, g.q + p.pnOffset + p.pnLen);
    const sampleAt = g.q + p.pnOffset + 4;
    const mask = hpMask(keys.hp, d.subarray(sampleAt, sampleAt + 16));
    d[base] ^= mask[0] & (d[base] & 0x80 ? 0x0f : 0x1f);
    for (let i = 0; i < p.pnLen; i++) d[g.q + p.pnOffset + i] ^= mask[1 + i];
  }
  return d;
}

/** Copies, exact file size and packets for a target size (lengths never change). */
export function planQuic(seedPath, targetBytes) {
  const seed = readSeed(seedPath, { anyFirst: true });
  const perCopy = seed.pkts.reduce((a, p) => a + 16 + p.data.length, 0);
  const copies = Math.ceil(targetBytes / perCopy);
  return { copies, bytes: 24 + copies * perCopy, packets: copies * seed.pkts.length };
}

/** Writes the copies; returns {bytes, packets, copies, connectionsPerCopy}. */
export async function synthesizeQuic(seedPath, keysPath, outPath, targetBytes, { staggerUs = 2000 } = {}) {
  const { seed, conns, dgrams } = decodeSeed(seedPath, keysPath);
  const { copies } = planQuic(seedPath, targetBytes);
  const out = createWriteStream(outPath, { highWaterMark: 1 << 22 });
  const flush = (b) => (out.write(b) ? null : new Promise((r) => out.once('drain', r)));
  const first = readFileSync(seedPath).subarray(24, 32);
  const base = first.readUInt32LE(0) * 1e6 + first.readUInt32LE(4);
  const CHUNK = 1 << 22;
  let buf = Buffer.allocUnsafe(CHUNK);
  seed.header.copy(buf, 0);
  let at = 24;
  let bytes = 24;
  let packets = 0;
  // Copies start staggerUs apart: merge them by time (each copy is in time order).
  const active = [];
  let next = 0;
  while (next < copies || active.length) {
    let best = -1;
    for (let i = 0; i < active.length; i++) if (best < 0 || active[i].start + seed.pkts[active[i].i].us < active[best].start + seed.pkts[active[best].i].us) best = i;
    if (next < copies && (best < 0 || next * staggerUs <= active[best].start + seed.pkts[active[best].i].us)) {
      const k = next++;
      const ik = new Map();
      const odcidKeys = (c) => {
        if (!ik.has(c)) {
          const dcid = Buffer.from(c.odcid);
          mapCid(dcid, 0, dcid.length, k);
          ik.set(c, initialKeys(dcid));
        }
        return ik.get(c);
      };
      active.push({ k, i: 0, start: k * staggerUs, addr: Buffer.from([10, 100 + ((k >> 16) & 0x7f), (k >> 8) & 0xff, k & 0xff]), ik: odcidKeys });
      continue;
    }
    const a = active[best];
    const pkt = seed.pkts[a.i];
    const g = dgrams[a.i];
    const d = copyDatagram(pkt, g, a.k, a.ik);
    if (a.k > 0) {
      if (d.subarray(ETH + 12, ETH + 16).equals(seed.client)) a.addr.copy(d, ETH + 12);
      if (d.subarray(ETH + 16, ETH + 20).equals(seed.client)) a.addr.copy(d, ETH + 16);
      d.writeUInt16BE(0, g.q - 2); // UDP checksum: none
    }
    if (at + 16 + d.length > CHUNK) {
      const w = flush(buf.subarray(0, at));
      buf = Buffer.allocUnsafe(CHUNK);
      at = 0;
      if (w) await w;
    }
    const us = base + a.start + pkt.us;
    buf.writeUInt32LE(Math.floor(us / 1e6), at);
    buf.writeUInt32LE(us % 1e6, at + 4);
    buf.writeUInt32LE(d.length, at + 8);
    buf.writeUInt32LE(pkt.orig, at + 12);
    d.copy(buf, at + 16);
    at += 16 + d.length;
    bytes += 16 + d.length;
    packets++;
    if (++a.i >= seed.pkts.length) active.splice(best, 1);
  }
  const w = flush(buf.subarray(0, at));
  if (w) await w;
  await new Promise((r) => out.end(r));
  return { bytes, packets, copies, connectionsPerCopy: conns.length };
}
