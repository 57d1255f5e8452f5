/**
 * Builds a large capture from a small real one: the seed's TCP connections are replayed many times,
 * each copy with its own client address (so connections stay distinct, as tshark and wirefall both
 * see them) and shifted in time so that copies overlap like concurrent clients. Packet bytes are
 * otherwise untouched real traffic. Classic little-endian pcap, IPv4 over Ethernet seeds only.
 */
import { createWriteStream, readFileSync } from 'node:fs';

export function readSeed(path) {
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
  const syn = pkts.find((p) => p.data[14 + 9] === 6 && (p.data[14 + 20 + 13] & 0x12) === 0x02);
  if (!syn) throw new Error(`${path}: no SYN in seed`);
  const client = syn.data.subarray(14 + 12, 14 + 16);
  return { header: buf.subarray(0, 24), pkts, client: Buffer.from(client), durUs: pkts.at(-1).us };
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
