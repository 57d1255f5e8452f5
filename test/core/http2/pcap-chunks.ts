/**
 * Test helper: read a small classic pcap (Ethernet or Linux cooked, IPv4/IPv6, TCP) into per-connection
 * StreamChunk lists, in capture order. Meant for loopback fixtures: segments are assumed to arrive in
 * order; retransmitted bytes are dropped by sequence number. Not the product's capture reader.
 */
import { readFileSync } from 'node:fs';
import type { Side } from '../../../core/src/model/types.js';
import type { StreamChunk, StreamInfo } from '../../../core/src/tcp/stream.js';

export interface FixtureConnection {
  info: StreamInfo;
  events: { side: Side; chunk: StreamChunk }[];
  fins: { side: Side; time: number; packet: number }[];
  lastTime: number;
}

export function readFixture(path: string): FixtureConnection[] {
  const buf = readFileSync(path);
  const magic = buf.readUInt32LE(0);
  const le = magic === 0xa1b2c3d4 || magic === 0xa1b23c4d;
  const nano = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
  const u32 = (o: number): number => (le ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  const linkType = u32(20);
  const conns = new Map<string, FixtureConnection & { next: Record<Side, number | null>; offset: Record<Side, number>; clientKey: string }>();
  let pos = 24;
  let packet = 0;
  let t0: number | null = null;
  while (pos + 16 <= buf.length) {
    const sec = u32(pos);
    const frac = u32(pos + 4);
    const incl = u32(pos + 8);
    const data = buf.subarray(pos + 16, pos + 16 + incl);
    pos += 16 + incl;
    packet++;
    const tMs = sec * 1000 + (nano ? frac / 1e6 : frac / 1e3);
    if (t0 === null) t0 = tMs;
    const time = tMs - t0;
    let off = linkType === 1 ? 14 : linkType === 113 ? 16 : linkType === 276 ? 20 : 4;
    const ethType = linkType === 1 ? data.readUInt16BE(12) : linkType === 113 ? data.readUInt16BE(14) : linkType === 276 ? data.readUInt16BE(0) : 0x0800;
    let src: string;
    let dst: string;
    let proto: number;
    let ipEnd: number;
    if (ethType === 0x0800) {
      const ihl = (data[off] & 0x0f) * 4;
      proto = data[off + 9];
      src = Array.from(data.subarray(off + 12, off + 16)).join('.');
      dst = Array.from(data.subarray(off + 16, off + 20)).join('.');
      ipEnd = off + data.readUInt16BE(off + 2);
      off += ihl;
    } else if (ethType === 0x86dd) {
      proto = data[off + 6];
      src = data.subarray(off + 8, off + 24).toString('hex');
      dst = data.subarray(off + 24, off + 40).toString('hex');
      ipEnd = off + 40 + data.readUInt16BE(off + 4);
      off += 40;
    } else continue;
    if (proto !== 6) continue;
    const sport = data.readUInt16BE(off);
    const dport = data.readUInt16BE(off + 2);
    const seq = data.readUInt32BE(off + 4);
    const flags = data[off + 13];
    const doff = (data[off + 12] >> 4) * 4;
    const payload = data.subarray(off + doff, Math.min(ipEnd, data.length));
    const a = `${src}:${sport}`;
    const b = `${dst}:${dport}`;
    const key = a < b ? `${a}|${b}` : `${b}|${a}`;
    let c = conns.get(key);
    if (!c) {
      // The SYN's sender (or the first sender) is the client.
      const synAck = (flags & 0x12) === 0x12;
      const clientIsSrc = !synAck;
      const [cip, cport, sip, sport2] = clientIsSrc ? [src, sport, dst, dport] : [dst, dport, src, sport];
      c = {
        info: { id: conns.size, client: { ip: cip, port: cport }, server: { ip: sip, port: sport2 }, scheme: 'http', transport: 'tcp', startSeen: true },
        events: [],
        fins: [],
        lastTime: time,
        next: { client: null, server: null },
        offset: { client: 0, server: 0 },
        clientKey: `${cip}:${cport}`,
      };
      conns.set(key, c);
    }
    c.lastTime = time;
    const side: Side = a === c.clientKey ? 'client' : 'server';
    if (flags & 0x02) {
      c.next[side] = (seq + 1) >>> 0;
      continue;
    }
    if (payload.length > 0) {
      const next = c.next[side] ?? seq;
      const skip = (seq - next) | 0;
      let d = payload;
      if (skip < 0) d = d.subarray(-skip); // retransmitted prefix
      if (d.length > 0) {
        c.events.push({
          side,
          chunk: { data: new Uint8Array(d), offset: c.offset[side], skipped: 0, time, deliveredTime: time, packet },
        });
        c.offset[side] += d.length;
        c.next[side] = (Math.max(0, skip) + next + d.length) >>> 0;
      }
    }
    if (flags & 0x01) c.fins.push({ side, time, packet });
  }
  return [...conns.values()].map(({ info, events, fins, lastTime }) => ({ info, events, fins, lastTime }));
}
