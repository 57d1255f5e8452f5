/**
 * Builds a large capture from a small real one: the seed's TCP connections are replayed many times,
 * each copy with its own client address (so connections stay distinct, as tshark and wirefall both
 * see them) and shifted in time so that copies overlap like concurrent clients. Packet bytes are
 * otherwise untouched real traffic. Classic little-endian pcap, IPv4 over Ethernet seeds only.
 */
import { createWriteStream, readFileSync } from 'node:fs';

/** The seed's records; `client` is the address each copy rewrites: the sender of the first SYN,
 * or with `anyFirst` (UDP seeds: QUIC) the sender of the first packet. */
export function readSeed(path, { anyFirst = false } = {}) {
  const buf = readFileSync(path);
  if (buf.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error(`${path}: seed must be a little-endian µs pcap`);
  if (buf.readUInt32LE(20) !== 1) throw new Error(`${path}: seed must be Ethernet`);
  const pkts = [];
  let off = 24;
  let t0 = null;
  while (off + 16 <= buf.length) {
    const cap = buf.readUInt32LE(off + 8);
    const us = buf.readUInt32LE(off) * 1e6 + buf.readUInt32LE(off + 4);
    t0 ??= us;
    pkts.push({ us: us - t0, orig: buf.readUInt32LE(off + 12), data: buf.subarray(off + 16, off + 16 + cap) });
    off += 16 + cap;
  }
  // The client is the sender of the first SYN; its address is what each copy rewrites.
  const syn = anyFirst ? pkts[0] : pkts.find((p) => p.data[14 + 9] === 6 && (p.data[14 + 20 + 13] & 0x12) === 0x02);
  if (!syn) throw new Error(`${path}: no SYN in seed`);
  const client = syn.data.subarray(14 + 12, 14 + 16);
  return { header: buf.subarray(0, 24), pkts, client: Buffer.from(client), durUs: pkts.at(-1).us };
}

/**
 * What `synthesize(seedPath, _, targetBytes)` writes, without writing it: the number of copies and
 * the exact size of the file (every copy has the seed's records, only addresses and times change),
 * so a capture kept from an earlier run can be recognised (same seed, same target) and the
 * benchmark knows how many requests it must hold.
 */
export function plan(seedPath, targetBytes) {
  const seed = readSeed(seedPath);
  const perCopy = seed.pkts.reduce((a, p) => a + 16 + p.data.length, 0);
  const copies = Math.ceil(targetBytes / perCopy);
  return { copies, bytes: 24 + copies * perCopy, packets: copies * seed.pkts.length };
}

/** Writes copies of the seed until `targetBytes`; returns {bytes, packets, copies}. */
export async function synthesize(seedPath, outPath, targetBytes, { staggerUs = 2000 } = {}) {
  const seed = readSeed(seedPath);
  const out = createWriteStream(outPath, { highWaterMark: 1 << 22 });
  const write = (b) => (out.write(b) ? null : new Promise((r) => out.once('drain', r)));
  await write(seed.header);
  let bytes = 24;
  let packets = 0;
  const copiesNeeded = Math.ceil(targetBytes / seed.pkts.reduce((a, p) => a + 16 + p.data.length, 0));
  // k-way merge of active copies by time (each copy is already in time order).
  const active = [];
  let nextCopy = 0;
  const base = 1_700_000_000 * 1e6;
  const hdr = Buffer.alloc(16);
  while (nextCopy < copiesNeeded || active.length) {
    const nextStart = nextCopy < copiesNeeded ? nextCopy * staggerUs : Infinity;
    let best = -1;
    for (let i = 0; i < active.length; i++) {
      const a = active[i];
      if (best < 0 || a.start + seed.pkts[a.i].us < active[best].start + seed.pkts[active[best].i].us) best = i;
    }
    if (best < 0 || nextStart <= active[best].start + seed.pkts[active[best].i].us) {
      const k = nextCopy++;
      const addr = Buffer.from([10, 100 + ((k >> 16) & 0x7f), (k >> 8) & 0xff, k & 0xff]);
      active.push({ k, i: 0, start: k * staggerUs, addr });
      continue;
    }
    const a = active[best];
    const p = seed.pkts[a.i];
    const d = Buffer.from(p.data);
    if (d.length >= 34 && d[12] === 0x08 && d[13] === 0x00) {
      if (d.subarray(26, 30).equals(seed.client)) a.addr.copy(d, 26);
      if (d.subarray(30, 34).equals(seed.client)) a.addr.copy(d, 30);
    }
    const us = base + a.start + p.us;
    hdr.writeUInt32LE(Math.floor(us / 1e6), 0);
    hdr.writeUInt32LE(us % 1e6, 4);
    hdr.writeUInt32LE(d.length, 8);
    hdr.writeUInt32LE(p.orig, 12);
    const w1 = write(Buffer.from(hdr));
    if (w1) await w1;
    const w2 = write(d);
    if (w2) await w2;
    bytes += 16 + d.length;
    packets++;
    if (++a.i >= seed.pkts.length) active.splice(best, 1);
  }
  await new Promise((r) => out.end(r));
  return { bytes, packets, copies: copiesNeeded, connectionsPerCopy: undefined };
}

/**
 * Long connections from a short seed (the request-heavy benchmark). `synthesize` multiplies
 * connections; a capture of many small requests on FEW connections needs each connection to be
 * longer instead. `stretch` replays every seed connection as one connection: its handshake and
 * first `warm` exchanges, then its steady state (the exchanges from request `warm` up to the
 * `warm`-th from last) `loops` times, then its last `warm` exchanges and its close. Each repetition
 * carries the TCP sequence and acknowledgement numbers, the TCP timestamps (TSval/TSecr), the IP
 * ids and the capture times on from where the previous one ended, by the amounts the steady state
 * advanced them in the seed, so every byte of HTTP and every packet is the seed's and each
 * replayed connection reads as one continuous keep-alive connection (one handshake, one close).
 * `copies` > 1 adds copies of the whole seed with their own client address (10.100.x.y; copy 0
 * keeps the seed's), each starting `staggerUs` after the previous, i.e. more concurrent
 * connections with the same shape. Checksums are left as captured (a veth capture carries
 * offloaded, unverified checksums anyway). Classic little-endian µs pcap, Ethernet, IPv4/TCP seeds
 * with one connection per 4-tuple, whose HTTP/1 requests each start a segment (h2load --h1 -m 1).
 */
const ETH = 14;
const REQUEST_START = /^[A-Z]{3,10} \S+ HTTP\/1\.[01]\r\n/;

function tcpView(d) {
  if (d.length < ETH + 20 || d[12] !== 0x08 || d[13] !== 0x00 || d[ETH + 9] !== 6) return null;
  const ihl = (d[ETH] & 0x0f) * 4;
  const tcp = ETH + ihl;
  const doff = (d[tcp + 12] >> 4) * 4;
  const ipEnd = ETH + d.readUInt16BE(ETH + 2);
  // TCP timestamps option (kind 8, length 10): offset of TSval, or -1.
  let ts = -1;
  for (let o = tcp + 20; o < tcp + doff; ) {
    const kind = d[o];
    if (kind === 0) break;
    if (kind === 1) { o++; continue; }
    if (kind === 8 && d[o + 1] === 10) { ts = o + 2; break; }
    o += d[o + 1] || 1;
  }
  return { tcp, flags: d[tcp + 13], seq: d.readUInt32BE(tcp + 4), ack: d.readUInt32BE(tcp + 8), ts, payload: tcp + doff, len: ipEnd - (tcp + doff) };
}

/** Splits the seed into connections and finds each one's steady state. */
function stretchSeed(seedPath, warm) {
  const seed = readSeed(seedPath);
  const conns = new Map();
  for (const p of seed.pkts) {
    const v = tcpView(p.data);
    if (!v) throw new Error(`${seedPath}: stretch needs an IPv4/TCP-only seed`);
    const d = p.data;
    const a = d.subarray(ETH + 12, ETH + 16).toString('hex') + ':' + d.readUInt16BE(v.tcp);
    const b = d.subarray(ETH + 16, ETH + 20).toString('hex') + ':' + d.readUInt16BE(v.tcp + 2);
    const key = a < b ? `${a}-${b}` : `${b}-${a}`;
    let c = conns.get(key);
    if (!c) conns.set(key, (c = { pkts: [], client: null }));
    if (!c.client && (v.flags & 0x12) === 0x02) c.client = a;
    c.pkts.push({ ...p, v, fromClient: null, src: a });
  }
  const out = [];
  for (const c of conns.values()) {
    if (!c.client) throw new Error(`${seedPath}: a connection without its SYN`);
    if (c.pkts.filter((p) => (p.v.flags & 0x12) === 0x02).length !== 1) throw new Error(`${seedPath}: a 4-tuple is used by more than one connection`);
    for (const p of c.pkts) p.fromClient = p.src === c.client;
    const starts = [];
    c.pkts.forEach((p, i) => {
      if (p.fromClient && p.v.len > 0 && REQUEST_START.test(p.data.toString('latin1', p.v.payload, Math.min(p.v.payload + 64, p.v.payload + p.v.len)))) starts.push(i);
    });
    if (starts.length <= 2 * warm) throw new Error(`${seedPath}: a connection with ${starts.length} requests (stretch needs more than ${2 * warm})`);
    const ia = starts[warm];
    const ib = starts[starts.length - warm];
    const A = c.pkts[ia];
    const B = c.pkts[ib];
    const firstServer = (from) => c.pkts.slice(from).find((p) => !p.fromClient);
    const sA = firstServer(ia);
    const sB = firstServer(ib);
    if (A.v.ts < 0 || B.v.ts < 0 || !sA || !sB) throw new Error(`${seedPath}: stretch needs TCP timestamps and a response after the steady state`);
    const d = {
      us: B.us - A.us,
      seqC: (B.v.seq - A.v.seq) >>> 0,
      seqS: (B.v.ack - A.v.ack) >>> 0,
      tsC: (B.data.readUInt32BE(B.v.ts) - A.data.readUInt32BE(A.v.ts)) >>> 0,
      tsS: (B.data.readUInt32BE(B.v.ts + 4) - A.data.readUInt32BE(A.v.ts + 4)) >>> 0,
      idC: (B.data.readUInt16BE(ETH + 4) - A.data.readUInt16BE(ETH + 4)) & 0xffff,
      idS: (sB.data.readUInt16BE(ETH + 4) - sA.data.readUInt16BE(ETH + 4)) & 0xffff,
    };
    // The steady state must be plain data transfer inside the window the deltas describe.
    for (let i = ia; i < ib; i++) {
      const p = c.pkts[i];
      const [own, peer, ownD, peerD] = p.fromClient ? [A.v.seq, A.v.ack, d.seqC, d.seqS] : [A.v.ack, A.v.seq, d.seqS, d.seqC];
      if (p.v.flags & 0x07) throw new Error(`${seedPath}: SYN/FIN/RST inside a steady state`);
      if (((p.v.seq - own) >>> 0) > ownD || ((p.v.ack - peer) >>> 0) > peerD) throw new Error(`${seedPath}: a segment outside its steady state's sequence window (retransmission?)`);
    }
    out.push({ pkts: c.pkts, ia, ib, requests: starts.length, bodyRequests: starts.length - 2 * warm, d });
  }
  return { seed, conns: out };
}

/** Requests, packets, connections and exact bytes that stretch() writes for these options. */
export function planStretch(seedPath, { loops, copies = 1, warm = 5 }) {
  const { seed, conns } = stretchSeed(seedPath, warm);
  let requests = 0;
  let packets = 0;
  let bytes = 0;
  for (const c of conns) {
    requests += c.requests + (loops - 1) * c.bodyRequests;
    const size = (from, to) => c.pkts.slice(from, to).reduce((a, p) => a + 16 + p.data.length, 0);
    packets += c.pkts.length + (loops - 1) * (c.ib - c.ia);
    bytes += size(0, c.pkts.length) + (loops - 1) * size(c.ia, c.ib);
  }
  return {
    connections: copies * conns.length,
    requests: copies * requests,
    packets: copies * packets,
    bytes: 24 + copies * bytes,
    seedRequests: conns.reduce((a, c) => a + c.requests, 0),
    seedConnections: conns.length,
    loops,
    copies,
  };
}

/** The fewest loops giving at least `requests` requests per copy. */
export function loopsFor(seedPath, requests, { warm = 5 } = {}) {
  const one = planStretch(seedPath, { loops: 1, warm });
  const body = planStretch(seedPath, { loops: 2, warm }).requests - one.requests;
  return Math.max(1, 1 + Math.ceil((requests - one.requests) / body));
}

/** Writes the stretched capture; returns what planStretch() says it holds. */
export async function stretch(seedPath, outPath, { loops, copies = 1, warm = 5, staggerUs = 2000 }) {
  const { seed, conns } = stretchSeed(seedPath, warm);
  const client0 = seed.client;
  // One generator per (copy, connection): its packets in order, each with its capture time.
  function* connection(c, copy) {
    const addr = copy === 0 ? null : Buffer.from([10, 100 + ((copy >> 16) & 0x7f), (copy >> 8) & 0xff, copy & 0xff]);
    const emit = (p, k) => {
      const d = Buffer.from(p.data);
      const { tcp, ts } = p.v;
      if (k > 0) {
        const [seq, ack, tsv, tse, id] = p.fromClient ? [c.d.seqC, c.d.seqS, c.d.tsC, c.d.tsS, c.d.idC] : [c.d.seqS, c.d.seqC, c.d.tsS, c.d.tsC, c.d.idS];
        d.writeUInt32BE((p.v.seq + k * seq) >>> 0, tcp + 4);
        if (p.v.flags & 0x10) d.writeUInt32BE((p.v.ack + k * ack) >>> 0, tcp + 8);
        if (ts >= 0) {
          d.writeUInt32BE((d.readUInt32BE(ts) + k * tsv) >>> 0, ts);
          if (d.readUInt32BE(ts + 4) !== 0) d.writeUInt32BE((d.readUInt32BE(ts + 4) + k * tse) >>> 0, ts + 4);
        }
        d.writeUInt16BE((d.readUInt16BE(ETH + 4) + k * id) & 0xffff, ETH + 4);
      }
      if (addr) {
        if (d.subarray(ETH + 12, ETH + 16).equals(client0)) addr.copy(d, ETH + 12);
        if (d.subarray(ETH + 16, ETH + 20).equals(client0)) addr.copy(d, ETH + 16);
      }
      return { us: copy * staggerUs + p.us + k * c.d.us, orig: p.orig, data: d };
    };
    for (let i = 0; i < c.ia; i++) yield emit(c.pkts[i], 0);
    for (let k = 0; k < loops; k++) for (let i = c.ia; i < c.ib; i++) yield emit(c.pkts[i], k);
    for (let i = c.ib; i < c.pkts.length; i++) yield emit(c.pkts[i], loops - 1);
  }
  const streams = [];
  for (let copy = 0; copy < copies; copy++) for (const c of conns) streams.push(connection(c, copy));
  const heads = streams.map((g) => g.next().value);

  const out = createWriteStream(outPath, { highWaterMark: 1 << 22 });
  const flush = (b) => (out.write(b) ? null : new Promise((r) => out.once('drain', r)));
  const CHUNK = 1 << 22;
  let buf = Buffer.allocUnsafe(CHUNK);
  seed.header.copy(buf, 0);
  let at = 24;
  // Times start where the seed's did (its first record's time; readSeed keeps them relative).
  const first = readFileSync(seedPath).subarray(24, 32);
  const base = first.readUInt32LE(0) * 1e6 + first.readUInt32LE(4);
  let bytes = 24;
  let packets = 0;
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i++) if (heads[i] && (best < 0 || heads[i].us < heads[best].us)) best = i;
    if (best < 0) break;
    const p = heads[best];
    heads[best] = streams[best].next().value;
    if (at + 16 + p.data.length > CHUNK) {
      const w = flush(buf.subarray(0, at));
      buf = Buffer.allocUnsafe(CHUNK);
      at = 0;
      if (w) await w;
    }
    const us = base + p.us;
    buf.writeUInt32LE(Math.floor(us / 1e6), at);
    buf.writeUInt32LE(us % 1e6, at + 4);
    buf.writeUInt32LE(p.data.length, at + 8);
    buf.writeUInt32LE(p.orig, at + 12);
    p.data.copy(buf, at + 16);
    at += 16 + p.data.length;
    bytes += 16 + p.data.length;
    packets++;
  }
  const w = flush(buf.subarray(0, at));
  if (w) await w;
  await new Promise((r) => out.end(r));
  const want = planStretch(seedPath, { loops, copies, warm });
  if (want.bytes !== bytes || want.packets !== packets) throw new Error(`stretch wrote ${bytes} bytes / ${packets} packets, planned ${want.bytes} / ${want.packets}`);
  return want;
}
