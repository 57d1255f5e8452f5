/**
 * A tiny classic-pcap writer (Ethernet/IPv4/TCP) and a generator of a large, realistic HTTP/1.1
 * keep-alive capture: many pooled connections (handshake, back-to-back request/response exchanges,
 * ACKs, idle gaps, FIN close), the traffic pattern of samples/keepalive-pool.pcap scaled up.
 * Only writes a file; nothing is sent on any network.
 */
import { openSync, writeSync, closeSync } from 'node:fs';

const SYN = 0x02,
  ACK = 0x10,
  PSH = 0x08,
  FIN = 0x01;

function ipChecksum(buf: Buffer, start: number, len: number): number {
  let sum = 0;
  for (let i = 0; i < len; i += 2) sum += (buf[start + i]! << 8) | (i + 1 < len ? buf[start + i + 1]! : 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export class PcapWriter {
  private readonly fd: number;
  private buf = Buffer.alloc(1 << 20);
  private off = 0;
  packets = 0;

  constructor(path: string) {
    this.fd = openSync(path, 'w');
    const h = Buffer.alloc(24);
    h.writeUInt32LE(0xa1b2c3d4, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeUInt32LE(65535, 16);
    h.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
    writeSync(this.fd, h);
  }

  /** One TCP segment at capture time `tUs` (µs since the epoch). */
  tcp(tUs: number, src: [number[], number], dst: [number[], number], seq: number, ack: number, flags: number, payload: Buffer = Buffer.alloc(0)): void {
    const len = 14 + 20 + 20 + payload.length;
    if (this.off + 16 + len > this.buf.length) this.flush();
    const b = this.buf;
    let o = this.off;
    b.writeUInt32LE(Math.floor(tUs / 1e6), o);
    b.writeUInt32LE(Math.floor(tUs % 1e6), o + 4);
    b.writeUInt32LE(len, o + 8);
    b.writeUInt32LE(len, o + 12);
    o += 16;
    // Ethernet
    b.fill(0, o, o + 12);
    b[o + 5] = 1;
    b[o + 11] = 2;
    b.writeUInt16BE(0x0800, o + 12);
    const ip = o + 14;
    b[ip] = 0x45;
    b[ip + 1] = 0;
    b.writeUInt16BE(20 + 20 + payload.length, ip + 2);
    b.writeUInt16BE(this.packets & 0xffff, ip + 4);
    b.writeUInt16BE(0x4000, ip + 6);
    b[ip + 8] = 64;
    b[ip + 9] = 6;
    b.writeUInt16BE(0, ip + 10);
    for (let i = 0; i < 4; i++) {
      b[ip + 12 + i] = src[0][i]!;
      b[ip + 16 + i] = dst[0][i]!;
    }
    b.writeUInt16BE(ipChecksum(b, ip, 20), ip + 10);
    const t = ip + 20;
    b.writeUInt16BE(src[1], t);
    b.writeUInt16BE(dst[1], t + 2);
    b.writeUInt32BE(seq >>> 0, t + 4);
    b.writeUInt32BE(ack >>> 0, t + 8);
    b[t + 12] = 0x50;
    b[t + 13] = flags;
    b.writeUInt16BE(65535, t + 14);
    b.writeUInt32BE(0, t + 16);
    payload.copy(b, t + 20);
    // TCP checksum over the pseudo-header + segment.
    let sum = 0;
    for (let i = 0; i < 8; i += 2) sum += (b[ip + 12 + i]! << 8) | b[ip + 13 + i]!;
    sum += 6 + 20 + payload.length;
    const segLen = 20 + payload.length;
    for (let i = 0; i < segLen; i += 2) sum += (b[t + i]! << 8) | (i + 1 < segLen ? b[t + i + 1]! : 0);
    while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
    b.writeUInt16BE(~sum & 0xffff, t + 16);
    this.off = o + len;
    this.packets++;
  }

  private flush(): void {
    writeSync(this.fd, this.buf, 0, this.off);
    this.off = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

export interface LargeCaptureOptions {
  connections: number;
  requestsPerConnection: number;
}

/**
 * Connections open staggered; each runs `requestsPerConnection` keep-alive exchanges with
 * 0.2–2 ms server think time, a 0.5 ms client pause, and a 1.5 s idle gap half-way; the client
 * closes with FIN. Returns the number of packets and the exchanges written.
 */
export function writeLargeCapture(path: string, o: LargeCaptureOptions): { packets: number; requests: number } {
  const w = new PcapWriter(path);
  const client = [127, 0, 0, 1];
  const server: [number[], number] = [[127, 0, 0, 2], 8080];
  const base = 1_700_000_000_000_000; // µs
  // Every packet is an event; connections overlap in time, so events are merged by time below.
  type Ev = { t: number; emit: () => void };
  const events: Ev[] = [];
  let requests = 0;
  for (let c = 0; c < o.connections; c++) {
    const cp: [number[], number] = [client, 20000 + c];
    let t = base + c * 3000;
    let cs = 1000 + c * 7;
    let ss = 5000 + c * 11;
    const at = (dt: number, f: () => void) => {
      t += dt;
      const tt = t;
      events.push({ t: tt, emit: f });
    };
    {
      const s0 = cs;
      const s1 = ss;
      at(0, () => w.tcp(curT, cp, server, s0, 0, SYN));
      at(150, () => w.tcp(curT, server, cp, s1, s0 + 1, SYN | ACK));
      at(40, () => w.tcp(curT, cp, server, s0 + 1, s1 + 1, ACK));
    }
    cs += 1;
    ss += 1;
    for (let k = 0; k < o.requestsPerConnection; k++) {
      const req = Buffer.from(`GET /api/items/${c}/${k}?page=${k % 7} HTTP/1.1\r\nHost: 127.0.0.2:8080\r\nUser-Agent: wirefall-gen\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n`);
      const bodyLen = 200 + ((c * 31 + k * 17) % 1800);
      const status = k % 97 === 96 ? '404 Not Found' : '200 OK';
      const resp = Buffer.concat([
        Buffer.from(`HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${bodyLen}\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5, max=1000\r\n\r\n`),
        Buffer.alloc(bodyLen, 0x61),
      ]);
      const [rs, rsAck, ps, psAck] = [cs, ss, ss, cs + req.length];
      at(k === 0 ? 30 : k === Math.floor(o.requestsPerConnection / 2) ? 1_500_000 : 500, () => w.tcp(curT, cp, server, rs, rsAck, PSH | ACK, req));
      at(200 + ((c + k) % 10) * 180, () => w.tcp(curT, server, cp, ps, psAck, PSH | ACK, resp));
      cs += req.length;
      ss += resp.length;
      const a1 = cs;
      const a2 = ss;
      at(30, () => w.tcp(curT, cp, server, a1, a2, ACK));
      requests++;
    }
    const f1 = cs;
    const f2 = ss;
    at(2000, () => w.tcp(curT, cp, server, f1, f2, FIN | ACK));
    at(100, () => w.tcp(curT, server, cp, f2, f1 + 1, FIN | ACK));
    at(40, () => w.tcp(curT, cp, server, f1 + 1, f2 + 1, ACK));
  }
  let curT = 0;
  events.sort((a, b) => a.t - b.t);
  for (const e of events) {
    curT = e.t;
    e.emit();
  }
  w.close();
  return { packets: w.packets, requests };
}
