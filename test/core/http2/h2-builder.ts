/**
 * Test helpers: a tiny HTTP/2 frame encoder and an HPACK encoder (literal representations, optional
 * incremental indexing and static-table indices) so tests can build exact byte sequences.
 */
import { encodeInteger } from '../../../core/src/http2/hpack/integer.js';
import { huffmanEncode } from '../../../core/src/http2/hpack/huffman.js';
import { STATIC_TABLE } from '../../../core/src/http2/hpack/static-table.js';
import type { StreamChunk } from '../../../core/src/tcp/stream.js';

export function frame(type: number, flags: number, streamId: number, payload: Uint8Array | number[] = []): Uint8Array {
  const p = payload instanceof Uint8Array ? payload : new Uint8Array(payload);
  const out = new Uint8Array(9 + p.length);
  out[0] = (p.length >> 16) & 0xff;
  out[1] = (p.length >> 8) & 0xff;
  out[2] = p.length & 0xff;
  out[3] = type;
  out[4] = flags;
  out[5] = (streamId >>> 24) & 0x7f;
  out[6] = (streamId >> 16) & 0xff;
  out[7] = (streamId >> 8) & 0xff;
  out[8] = streamId & 0xff;
  out.set(p, 9);
  return out;
}

export const u32 = (v: number): number[] => [(v >>> 24) & 0xff, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];

export const concat = (...parts: (Uint8Array | number[])[]): Uint8Array => concatAll(parts);

/** `concat` for a list (tens of thousands of frames are too many to spread as arguments). */
export const concatAll = (parts: (Uint8Array | number[])[]): Uint8Array => {
  const arrs = parts.map((p) => (p instanceof Uint8Array ? p : new Uint8Array(p)));
  const out = new Uint8Array(arrs.reduce((n, a) => n + a.length, 0));
  let o = 0;
  for (const a of arrs) {
    out.set(a, o);
    o += a.length;
  }
  return out;
};

export const settings = (pairs: [number, number][], ack = false): Uint8Array =>
  frame(4, ack ? 1 : 0, 0, pairs.flatMap(([id, v]) => [(id >> 8) & 0xff, id & 0xff, ...u32(v)]));
export const data = (sid: number, body: string | number, flags = 0): Uint8Array =>
  frame(0, flags, sid, typeof body === 'number' ? new Uint8Array(body) : new Uint8Array(Buffer.from(body)));
export const headers = (sid: number, block: Uint8Array, flags = 0x4): Uint8Array => frame(1, flags, sid, block);
export const continuation = (sid: number, block: Uint8Array, flags = 0x4): Uint8Array => frame(9, flags, sid, block);
export const rst = (sid: number, code: number): Uint8Array => frame(3, 0, sid, u32(code));
export const windowUpdate = (sid: number, inc: number): Uint8Array => frame(8, 0, sid, u32(inc));
export const ping = (opaque: number[], ack = false): Uint8Array => frame(6, ack ? 1 : 0, 0, opaque);
export const goaway = (last: number, code: number, debug = ''): Uint8Array =>
  frame(7, 0, 0, [...u32(last), ...u32(code), ...Buffer.from(debug)]);
export const pushPromise = (sid: number, promised: number, block: Uint8Array, flags = 0x4): Uint8Array =>
  frame(5, flags, sid, concat(u32(promised), block));

export const PREFACE = new Uint8Array(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1'));

function str(s: string, huffman: boolean): number[] {
  const raw = new Uint8Array(Buffer.from(s));
  const bytes = huffman ? huffmanEncode(raw) : raw;
  return [...encodeInteger(bytes.length, 7, huffman ? 0x80 : 0), ...bytes];
}

export interface EncodeOpts {
  /** Insert into the dynamic table (§6.2.1) — default true. */
  index?: boolean;
  huffman?: boolean;
}

/**
 * A small stateful HPACK encoder: static matches are indexed, then exact dynamic matches, else a
 * literal with (optionally) incremental indexing and a static/dynamic name reference.
 */
export class TestHpackEncoder {
  private dyn: [string, string][] = [];
  private size = 0;
  constructor(private maxSize = 4096) {}

  encode(fields: [string, string][], opts: EncodeOpts = {}): Uint8Array {
    const out: number[] = [];
    for (const [name, value] of fields) {
      const s = STATIC_TABLE.findIndex((e) => e.name === name && e.value === value);
      if (s >= 0) {
        out.push(...encodeInteger(s + 1, 7, 0x80));
        continue;
      }
      const d = this.dyn.findIndex(([n, v]) => n === name && v === value);
      if (d >= 0) {
        out.push(...encodeInteger(62 + d, 7, 0x80));
        continue;
      }
      let nameIdx = STATIC_TABLE.findIndex((e) => e.name === name) + 1;
      if (nameIdx === 0) {
        const dn = this.dyn.findIndex(([n]) => n === name);
        if (dn >= 0) nameIdx = 62 + dn;
      }
      const idx = opts.index ?? true;
      out.push(...encodeInteger(nameIdx, idx ? 6 : 4, idx ? 0x40 : 0));
      if (nameIdx === 0) out.push(...str(name, opts.huffman ?? false));
      out.push(...str(value, opts.huffman ?? false));
      if (idx) {
        const sz = Buffer.byteLength(name) + Buffer.byteLength(value) + 32;
        this.dyn.unshift([name, value]);
        this.size += sz;
        while (this.size > this.maxSize) {
          const [n, v] = this.dyn.pop() as [string, string];
          this.size -= Buffer.byteLength(n) + Buffer.byteLength(v) + 32;
        }
      }
    }
    return new Uint8Array(out);
  }
}

let packetNo = 0;
/** Build chunks for a direction: each part becomes one chunk (one packet), times given or increasing. */
export function chunk(data: Uint8Array, offset: number, time: number, opts: { skipped?: number; packet?: number } = {}): StreamChunk {
  return { data, offset, skipped: opts.skipped ?? 0, time, deliveredTime: time, packet: opts.packet ?? ++packetNo };
}
