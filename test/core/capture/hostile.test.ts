/**
 * Hostile inputs to the capture layer: inputs built to make fragment reassembly or record
 * buffering cost more than linear time or unbounded memory. Each test asserts the named limit or
 * structural bound that now holds; the time checks are only hang guards (the old code took seconds
 * to minutes on the same inputs).
 */
import type { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import {
  FRAG_PIECE_OVERHEAD,
  IpDecoder,
  MAX_FRAGS_PER_DATAGRAM,
  type L4Packet,
} from '../../../core/src/capture/ip.js';
import { PcapParserAdapter } from '../../../core/src/capture/pcap.js';
import { ClassicPcapParser, PcapngParser, type RecordParser, type RecordSink } from '../../../core/src/capture/records.js';
import { TruncatedCaptureError } from '../../../core/src/errors.js';
import { writePcap, writePcapng, type Pkt } from '../../helpers/pcap-writer.js';

// ---------------------------------------------------------------------------------------------
// IP fragments

function ipv4Frag(id: number, off: number, more: boolean, payload: Uint8Array): Uint8Array {
  const p = new Uint8Array(20 + payload.length);
  p[0] = 0x45;
  p[2] = p.length >> 8;
  p[3] = p.length & 0xff;
  p[4] = id >> 8;
  p[5] = id & 0xff;
  const ff = (more ? 0x2000 : 0) | (off / 8);
  p[6] = ff >> 8;
  p[7] = ff & 0xff;
  p[8] = 64;
  p[9] = 17; // UDP
  p.set([10, 0, 0, 1], 12);
  p.set([10, 0, 0, 2], 16);
  p.set(payload, 20);
  return p;
}

function ipv6Frag(id: number, off: number, more: boolean, payload: Uint8Array): Uint8Array {
  const p = new Uint8Array(48 + payload.length);
  p[0] = 0x60;
  p[4] = (8 + payload.length) >> 8;
  p[5] = (8 + payload.length) & 0xff;
  p[6] = 44; // Fragment header
  p[7] = 64;
  p.set([0x20, 0x01, 0x0d, 0xb8], 8);
  p[23] = 1;
  p.set([0x20, 0x01, 0x0d, 0xb8], 24);
  p[39] = 2;
  p[40] = 17; // UDP after the Fragment header
  const of = off | (more ? 1 : 0);
  p[42] = of >> 8;
  p[43] = of & 0xff;
  new DataView(p.buffer).setUint32(44, id);
  p.set(payload, 48);
  return p;
}

/** A UDP datagram (header + `n` patterned bytes) to cut into fragments. */
function udp(n: number): Uint8Array {
  const d = new Uint8Array(8 + n);
  d.set([0x14, 0xe9, 0x00, 0x35, (8 + n) >> 8, (8 + n) & 0xff], 0);
  for (let i = 0; i < n; i++) d[8 + i] = (i * 7 + 3) & 0xff;
  return d;
}

function decoder() {
  const counts: Record<string, number> = {};
  const got: { v6: boolean; sport: number; payload: Buffer }[] = [];
  const dec = new IpDecoder(
    (p: L4Packet) => got.push({ v6: p.v6, sport: p.srcPort, payload: Buffer.from(p.payload) }),
    { count: (k: string, n = 1) => void (counts[k] = (counts[k] ?? 0) + n) },
  );
  let num = 0;
  const feed = (pkt: Uint8Array, time = 0) => dec.decode(pkt, 0, ++num, time, pkt.length);
  // Private state, read only to assert the memory bounds.
  const state = dec as unknown as { frags: Map<string, { pieces: unknown[] }>; fragBytes: number };
  return { counts, got, feed, state };
}

const maxPieces = (s: ReturnType<typeof decoder>['state']) => Math.max(0, ...[...s.frags.values()].map((d) => d.pieces.length));

describe('IP fragment reassembly under hostile input', () => {
  it('a datagram whose last fragment came first and whose offset 0 never comes holds at most MAX_FRAGS_PER_DATAGRAM fragments', () => {
    // gen_frag.py with distinct offsets: the old code sorted and scanned every held piece on each of
    // the 20 000 empty fragments (~5 s), never de-duplicating or limiting them.
    const { counts, got, feed, state } = decoder();
    const n = 20_000;
    const t0 = performance.now();
    feed(ipv4Frag(7, 65_000, false, new Uint8Array(8)));
    let peak = 0;
    for (let i = 0; i < n; i++) {
      feed(ipv4Frag(7, 8 * (1 + (i % 8000)), true, new Uint8Array(0)));
      if (i % 97 === 0) peak = Math.max(peak, maxPieces(state));
    }
    const ms = performance.now() - t0;
    expect(peak).toBeLessThanOrEqual(MAX_FRAGS_PER_DATAGRAM);
    expect(maxPieces(state)).toBeLessThanOrEqual(MAX_FRAGS_PER_DATAGRAM);
    // Empty fragments count toward the limits: each drop frees a datagram of MAX pieces.
    expect(counts.fragPieceLimitDrops).toBe(Math.floor((n + 1) / (MAX_FRAGS_PER_DATAGRAM + 1)));
    expect(counts.ipFragments).toBe(n + 1);
    expect(counts.ipReassembled).toBeUndefined();
    expect(got).toHaveLength(0);
    expect(ms).toBeLessThan(10_000);
  });

  it('repeated empty fragments at a few offsets (the audit capture) are held once each', () => {
    const { counts, feed, state } = decoder();
    const n = 40_000;
    const t0 = performance.now();
    feed(ipv4Frag(7, 64, false, new Uint8Array(8)));
    for (let i = 0; i < n; i++) feed(ipv4Frag(7, 8 + (i % 7) * 8, true, new Uint8Array(0)));
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(maxPieces(state)).toBe(8);
    expect(counts.fragDuplicates).toBe(n - 7);
    // Empty fragments are charged against MAX_FRAG_BYTES too.
    expect(state.fragBytes).toBe(8 + 8 * FRAG_PIECE_OVERHEAD);
  });

  it('overlapping fragments of many lengths that never cover offset 0 stay bounded (each one rescans at most MAX pieces)', () => {
    // Once the bytes held exceed the datagram's length, every fragment checks coverage: the piece
    // limit keeps that check O(MAX_FRAGS_PER_DATAGRAM).
    const { counts, feed, state } = decoder();
    const t0 = performance.now();
    feed(ipv4Frag(9, 64, false, new Uint8Array(8)));
    let n = 0;
    for (let round = 0; round < 4; round++)
      for (let len = 8; len <= 1480; len += 8)
        for (let off = 8; off <= 56; off += 8) {
          feed(ipv4Frag(9, off, true, new Uint8Array(len)));
          n++;
        }
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(maxPieces(state)).toBeLessThanOrEqual(MAX_FRAGS_PER_DATAGRAM);
    expect(counts.fragPieceLimitDrops).toBeGreaterThanOrEqual(1);
    expect(counts.ipReassembled).toBeUndefined();
    expect(n).toBeGreaterThan(4 * MAX_FRAGS_PER_DATAGRAM);
  });

  it('a real datagram still reassembles: out of order, with an exact duplicate', () => {
    const { counts, got, feed, state } = decoder();
    const d = udp(2000); // 2008 bytes: fragments of 504 bytes (a multiple of 8)
    const cut = [0, 504, 1008, 1512].map((o) => ({ o, part: d.subarray(o, Math.min(o + 504, d.length)) }));
    for (const i of [3, 1, 1, 0, 2]) feed(ipv4Frag(1, cut[i].o, i < 3, cut[i].part));
    expect(got).toHaveLength(1);
    expect(got[0].payload.equals(Buffer.from(d.subarray(8)))).toBe(true);
    expect(counts.ipReassembled).toBe(1);
    expect(counts.fragDuplicates).toBe(1);
    expect(state.frags.size).toBe(0);
    expect(state.fragBytes).toBe(0);
  });

  it('IPv6: an exact duplicate is dropped and the datagram completes (RFC 8200 §4.5)', () => {
    const { counts, got, feed } = decoder();
    const d = udp(1000);
    feed(ipv6Frag(5, 0, true, d.subarray(0, 512)));
    feed(ipv6Frag(5, 0, true, d.subarray(0, 512)));
    feed(ipv6Frag(5, 512, false, d.subarray(512)));
    expect(got).toHaveLength(1);
    expect(got[0].v6).toBe(true);
    expect(got[0].payload.equals(Buffer.from(d.subarray(8)))).toBe(true);
    expect(counts.fragDuplicates).toBe(1);
  });

  it('IPv6: an overlapping fragment abandons the datagram (RFC 5722 §4)', () => {
    const { counts, got, feed, state } = decoder();
    const d = udp(1000);
    feed(ipv6Frag(6, 0, true, d.subarray(0, 512)));
    feed(ipv6Frag(6, 504, true, d.subarray(504, 520))); // overlaps the first
    feed(ipv6Frag(6, 512, false, d.subarray(512)));
    expect(got).toHaveLength(0);
    expect(counts.ipv6FragOverlapDrops).toBe(1);
    // Same offset and length, different bytes: an overlap too, not a duplicate.
    feed(ipv6Frag(8, 0, true, d.subarray(0, 512)));
    feed(ipv6Frag(8, 0, true, new Uint8Array(512)));
    expect(counts.ipv6FragOverlapDrops).toBe(2);
    expect(state.frags.size).toBe(1); // only the last fragment of datagram 6, which started afresh
  });

  it('a fragment past the datagram end neither blocks nor breaks reassembly', () => {
    // The old code wrote a piece starting past the end and threw a RangeError.
    const { got, feed } = decoder();
    const d = udp(56); // 64 bytes
    const long = new Uint8Array(80);
    long.set(d);
    feed(ipv4Frag(3, 0, true, long));
    feed(ipv4Frag(3, 72, true, new Uint8Array(8)));
    feed(ipv4Frag(3, 56, false, d.subarray(56)));
    expect(got).toHaveLength(1);
    expect(got[0].payload.equals(Buffer.from(d.subarray(8)))).toBe(true);
  });
});

// ---------------------------------------------------------------------------------------------
// Large records

const MB = 1024 * 1024;
/** Records of 16 MB fed in 64 KB chunks: the old buffering re-copied each record ~256 times. */
const BIG = 16 * MB;
const CHUNK = 64 * 1024;

function bigPkts(): Pkt[] {
  const small = (k: number): Pkt => ({ sec: 100 + k, ns: 0, data: new Uint8Array(60).fill(k), origLen: 60 });
  const big = (k: number): Pkt => {
    const data = new Uint8Array(BIG - 16 * k);
    data.fill(k);
    data[0] = 0xa0 + k;
    data[data.length - 1] = 0xb0 + k;
    return { sec: 200 + k, ns: 0, data, origLen: data.length };
  };
  return [small(1), big(1), big(2), small(2), big(3)];
}

interface Instrumented {
  parser: RecordParser;
  /** Bytes the parser's record buffering went over: the quadratic term when a record is re-joined. */
  work: () => number;
}

/** ClassicPcapParser / PcapngParser: bytes handed to their parse step (Carry's joins included). */
function viaCarry(P: typeof ClassicPcapParser | typeof PcapngParser) {
  return (sink: RecordSink): Instrumented => {
    const parser = new P(sink);
    const self = parser as unknown as { parse(b: Uint8Array): number };
    const parse = self.parse.bind(parser);
    let n = 0;
    self.parse = (b) => {
      n += b.length;
      return parse(b);
    };
    return { parser, work: () => n };
  };
}

/**
 * PcapParserAdapter: bytes pcap-parser copies. Its updateBuffer() joins the bytes it holds (handed
 * so far minus the records it emitted) to every 'data' event.
 */
function viaPcapParser(sink: RecordSink): Instrumented {
  let emitted = 24;
  const parser = new PcapParserAdapter({
    ...sink,
    onPacket: (k) => {
      emitted += 16 + k.caplen;
      sink.onPacket(k);
    },
  });
  const source = (parser as unknown as { source: EventEmitter }).source;
  const emit = source.emit.bind(source);
  let handed = 0;
  let copied = 0;
  source.emit = (event: string | symbol, ...args: unknown[]) => {
    if (event === 'data') {
      const n = (args[0] as Buffer).length;
      if (handed > 0) copied += handed - emitted + n;
      handed += n;
    }
    return emit(event, ...args);
  };
  return { parser, work: () => copied };
}

function collect(make: (sink: RecordSink) => Instrumented, file: Uint8Array, chunk: number) {
  const out: string[] = [];
  const { parser: p, work } = make({
    onInterface() {},
    onPacket: (k) => out.push(`${k.num}:${k.sec}:${k.caplen}:${k.data.length}:${k.data[0]}:${k.data[k.data.length >> 1]}:${k.data[k.data.length - 1]}`),
    count() {},
  });
  let error: unknown = null;
  try {
    for (let off = 0; off < file.length; off += chunk) p.push(new Uint8Array(file.subarray(off, off + chunk)));
    p.end();
  } catch (e) {
    error = e;
  }
  return { out, error, work: work() };
}

describe('large records across many chunks', () => {
  const pkts = bigPkts();
  const expected = pkts.map((p, i) => `${i + 1}:${p.sec}:${p.data.length}:${p.data.length}:${p.data[0]}:${p.data[p.data.length >> 1]}:${p.data[p.data.length - 1]}`);
  const files = [
    ['µs pcap through pcap-parser', viaPcapParser, writePcap(pkts, { le: true, nano: false, linkType: 1 })],
    ['ns pcap (Carry)', viaCarry(ClassicPcapParser), writePcap(pkts, { le: false, nano: true, linkType: 1 })],
    ['pcapng (Carry)', viaCarry(PcapngParser), writePcapng(pkts, { le: true, ifaces: [{ linkType: 1 }] })],
  ] as const;

  for (const [name, make, file] of files) {
    it(`${name}: 16 MB records in 64 KB chunks are assembled once, in linear time`, () => {
      const t0 = performance.now();
      const { out, error, work } = collect(make, file, CHUNK);
      const ms = performance.now() - t0;
      expect(error).toBeNull();
      expect(out).toEqual(expected);
      // Each byte is buffered about once; re-joining a record to every chunk made this ~128 × file.
      expect(work).toBeLessThan(2 * file.length);
      expect(ms).toBeLessThan(10_000);
    });

    it(`${name}: a file cut inside a large record reports the exact trailing bytes`, () => {
      const cut = file.subarray(0, file.length - 5 * MB);
      const { out, error } = collect(make, cut, MB);
      expect(out).toEqual(expected.slice(0, 4));
      expect(error).toBeInstanceOf(TruncatedCaptureError);
      const last = name.startsWith('pcapng') ? 28 + pkts[4].data.length + 4 : 16 + pkts[4].data.length;
      expect((error as Error).message).toContain(`(${last - 5 * MB} trailing bytes after packet 4)`);
    });
  }

  it('pcap-parser: a corrupt record length after large records is still caught, after every packet before it', () => {
    const good = files[0][2];
    const bad = Buffer.concat([good, Buffer.from([1, 0, 0, 0, 0, 0, 0, 0, 0xf0, 0xff, 0xff, 0xff, 0, 0, 0, 0])]);
    const { out, error } = collect(files[0][1], bad, MB);
    expect(out).toEqual(expected);
    expect((error as Error).message).toMatch(/after packet 5: captured length 4294967280 exceeds/);
  });
});
