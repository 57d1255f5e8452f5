/**
 * Minimal capture writers for tests: re-encode real packets into other container variants (byte
 * order, timestamp resolution, pcapng, other link types) so readers can be checked against the
 * same real traffic. Not used by the product.
 */
export interface Pkt {
  sec: number;
  ns: number;
  data: Uint8Array;
  origLen: number;
}

export function writePcap(pkts: Pkt[], opts: { le: boolean; nano: boolean; linkType: number; snaplen?: number }): Buffer {
  const parts: Buffer[] = [];
  const h = Buffer.alloc(24);
  const w32 = (b: Buffer, v: number, o: number) => (opts.le ? b.writeUInt32LE(v >>> 0, o) : b.writeUInt32BE(v >>> 0, o));
  const w16 = (b: Buffer, v: number, o: number) => (opts.le ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o));
  w32(h, opts.nano ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w16(h, 2, 4);
  w16(h, 4, 6);
  w32(h, opts.snaplen ?? 262144, 16);
  w32(h, opts.linkType, 20);
  parts.push(h);
  for (const p of pkts) {
    const r = Buffer.alloc(16);
    w32(r, p.sec, 0);
    w32(r, opts.nano ? p.ns : Math.floor(p.ns / 1000), 4);
    w32(r, p.data.length, 8);
    w32(r, p.origLen, 12);
    parts.push(r, Buffer.from(p.data));
  }
  return Buffer.concat(parts);
}

export function writePcapng(
  pkts: (Pkt & { iface?: number })[],
  opts: { le: boolean; ifaces: { linkType: number; tsresol?: number }[]; extraBlocks?: boolean },
): Buffer {
  const parts: Buffer[] = [];
  const block = (type: number, body: Buffer) => {
    const len = 12 + body.length + ((4 - (body.length % 4)) % 4);
    const b = Buffer.alloc(len);
    const w = (v: number, o: number) => (opts.le ? b.writeUInt32LE(v >>> 0, o) : b.writeUInt32BE(v >>> 0, o));
    w(type, 0);
    w(len, 4);
    body.copy(b, 8);
    w(len, len - 4);
    parts.push(b);
  };
  const u32 = (v: number) => {
    const b = Buffer.alloc(4);
    opts.le ? b.writeUInt32LE(v >>> 0) : b.writeUInt32BE(v >>> 0);
    return b;
  };
  const u16 = (v: number) => {
    const b = Buffer.alloc(2);
    opts.le ? b.writeUInt16LE(v) : b.writeUInt16BE(v);
    return b;
  };
  // SHB: byte-order magic, version 1.0, section length -1.
  block(0x0a0d0d0a, Buffer.concat([u32(0x1a2b3c4d), u16(1), u16(0), Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])]));
  for (const i of opts.ifaces) {
    const optsBuf = i.tsresol !== undefined ? Buffer.concat([u16(9), u16(1), Buffer.from([i.tsresol, 0, 0, 0]), u16(0), u16(0)]) : Buffer.alloc(0);
    block(1, Buffer.concat([u16(i.linkType), u16(0), u32(262144), optsBuf]));
  }
  if (opts.extraBlocks) {
    block(0x00000bad, Buffer.from('custom block wirefall must skip'));
    block(0x0000000a, Buffer.concat([u32(0x544c534b), u32(9), Buffer.from('CLIENT_RA')])); // DSB, TLS key log
  }
  for (const p of pkts) {
    const iface = p.iface ?? 0;
    const res = opts.ifaces[iface].tsresol ?? 6;
    const units = BigInt(p.sec) * 10n ** BigInt(res) + (BigInt(p.ns) * 10n ** BigInt(res)) / 1_000_000_000n;
    const hi = Number(units >> 32n);
    const lo = Number(units & 0xffffffffn);
    const pad = Buffer.alloc((4 - (p.data.length % 4)) % 4);
    block(6, Buffer.concat([u32(iface), u32(hi), u32(lo), u32(p.data.length), u32(p.origLen), Buffer.from(p.data), pad]));
  }
  return Buffer.concat(parts);
}

/** Packets of a classic little/big-endian µs/ns pcap, decoded without any library. */
export function readPcapSimple(buf: Buffer): { linkType: number; pkts: Pkt[] } {
  const magic = buf.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const nano = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
  const r32 = (o: number) => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const pkts: Pkt[] = [];
  let off = 24;
  while (off + 16 <= buf.length) {
    const cap = r32(off + 8);
    pkts.push({ sec: r32(off), ns: nano ? r32(off + 4) : r32(off + 4) * 1000, origLen: r32(off + 12), data: buf.subarray(off + 16, off + 16 + cap) });
    off += 16 + cap;
  }
  return { linkType: r32(20), pkts };
}
