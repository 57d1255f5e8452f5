/**
 * Capture containers and link types: the same real traffic (samples/keepalive-pool.pcap, Ethernet
 * from tcpdump) re-encoded into every container variant and link type wirefall reads must give the
 * same connections, packet counts and nanosecond timestamps. Bad files get specific typed errors.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { analyzeFile } from '../../../core/src/engine.js';
import { toHar } from '../../../core/src/model/har.js';
import { readCapture } from '../../../core/src/capture/reader.js';
import { ClassicPcapParser, PcapngParser, type RawPacket } from '../../../core/src/capture/records.js';
import { NotACaptureError, TruncatedCaptureError, UnreadableFileError, UnsupportedLinkTypeError } from '../../../core/src/errors.js';
import type { Report } from '../../../core/src/model/types.js';
import { sample } from '../../helpers/env.js';
import { readPcapSimple, writePcap, writePcapng, type Pkt } from '../../helpers/pcap-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'wirefall-capture-'));
const src = readFileSync(sample('keepalive-pool.pcap'));
const { linkType, pkts } = readPcapSimple(src);
const put = (name: string, b: Buffer) => {
  const p = join(dir, name);
  writeFileSync(p, b);
  return p;
};

/** Ethernet frames → raw IP packets (strip the 14-byte header). */
const rawIp = (p: Pkt): Pkt => ({ ...p, data: p.data.subarray(14), origLen: p.origLen - 14 });
const withHeader = (h: Uint8Array) => (p: Pkt): Pkt => {
  const r = rawIp(p);
  return { ...r, data: Buffer.concat([h, r.data]), origLen: r.origLen + h.length };
};
const nullHdr = Buffer.from([2, 0, 0, 0]); // AF_INET, little-endian host
const sllHdr = Buffer.alloc(16);
sllHdr.writeUInt16BE(0x0800, 14);
const sll2Hdr = Buffer.alloc(20);
sll2Hdr.writeUInt16BE(0x0800, 0);
const vlan = (p: Pkt): Pkt => {
  const d = Buffer.from(p.data);
  const tagged = Buffer.concat([d.subarray(0, 12), Buffer.from([0x81, 0x00, 0x00, 0x2a, 0x88, 0xa8]).subarray(0, 4), d.subarray(12)]);
  return { ...p, data: tagged, origLen: p.origLen + 4 };
};

function summary(r: Report) {
  return {
    packets: r.capture.packets,
    connections: r.connections.map((c) => ({
      client: c.client.port,
      server: `${c.server.ip}:${c.server.port}`,
      c: c.stats.client.payloadBytes,
      s: c.stats.server.payloadBytes,
      syn: c.synTime,
      close: c.close.how,
    })),
  };
}

let reference: ReturnType<typeof summary>;
beforeAll(async () => {
  expect(linkType).toBe(1);
  reference = summary(await analyzeFile(sample('keepalive-pool.pcap')));
  expect(reference.connections.length).toBeGreaterThan(0);
});

describe('capture containers', () => {
  const variants: [string, () => string][] = [
    ['pcap big-endian µs', () => put('be.pcap', writePcap(pkts, { le: false, nano: false, linkType: 1 }))],
    ['pcap little-endian ns (a1b23c4d)', () => put('ns.pcap', writePcap(pkts, { le: true, nano: true, linkType: 1 }))],
    ['pcap big-endian ns', () => put('bens.pcap', writePcap(pkts, { le: false, nano: true, linkType: 1 }))],
    ['pcapng little-endian, skipped unknown block and a DSB', () => put('le.pcapng', writePcapng(pkts, { le: true, ifaces: [{ linkType: 1 }], extraBlocks: true }))],
    ['pcapng big-endian, if_tsresol=9 (ns)', () => put('be.pcapng', writePcapng(pkts, { le: false, ifaces: [{ linkType: 1, tsresol: 9 }] }))],
    ['gzip-compressed pcap', () => put('gz.pcap.gz', gzipSync(src))],
    ['gzip-compressed pcapng without a telling name', () => put('gzng.bin', gzipSync(writePcapng(pkts, { le: true, ifaces: [{ linkType: 1 }] })))],
    ['raw IPv4 (LINKTYPE_RAW)', () => put('raw.pcap', writePcap(pkts.map(rawIp), { le: true, nano: false, linkType: 101 }))],
    ['BSD loopback (LINKTYPE_NULL)', () => put('null.pcap', writePcap(pkts.map(withHeader(nullHdr)), { le: true, nano: false, linkType: 0 }))],
    ['Linux cooked SLL', () => put('sll.pcap', writePcap(pkts.map(withHeader(sllHdr)), { le: true, nano: false, linkType: 113 }))],
    ['Linux cooked SLL2', () => put('sll2.pcap', writePcap(pkts.map(withHeader(sll2Hdr)), { le: true, nano: false, linkType: 276 }))],
    ['802.1Q VLAN tagged Ethernet', () => put('vlan.pcap', writePcap(pkts.map(vlan), { le: true, nano: false, linkType: 1 }))],
  ];
  for (const [name, make] of variants) {
    it(`${name} gives the same connections as the original`, async () => {
      const r = await analyzeFile(make());
      expect(summary(r)).toEqual(reference);
    });
  }

  it('pcapng timestamps beyond the range of a date are counted, and those packets keep the previous time', async () => {
    // A fuzzed pcapng (a packet ~480,000 years after the first) made the HAR export throw.
    const far = 1e13; // seconds: past JavaScript's Date range (8.64e12 s)
    for (const at of [0, 5]) {
      const bad = pkts.map((p, i) => (i === at ? { ...p, sec: far } : p));
      const r = await analyzeFile(put(`far-${at}.pcapng`, writePcapng(bad, { le: true, ifaces: [{ linkType: 1 }] })));
      expect(r.capture.counters.pcapngTimestampOutOfRange).toBe(1);
      expect(summary(r).connections.length).toBe(reference.connections.length);
      expect(() => JSON.stringify(toHar(r))).not.toThrow();
      // The first packet has no previous time: it takes the epoch (and the counter says why).
      expect(new Date(r.capture.startTime!).getUTCFullYear()).toBe(at === 0 ? 1970 : new Date(pkts[0].sec * 1000).getUTCFullYear());
      if (at > 0) expect(r.capture.durationMs).toBeLessThan(60_000);
    }
  });
  it('pcapng with two interfaces of different link types and resolutions', async () => {
    const mixed = pkts.map((p, i) => (i % 2 ? { ...rawIp(p), iface: 1 } : { ...p, iface: 0 }));
    const f = put('multi.pcapng', writePcapng(mixed, { le: true, ifaces: [{ linkType: 1, tsresol: 6 }, { linkType: 101, tsresol: 9 }] }));
    const r = await analyzeFile(f);
    expect(summary(r)).toEqual(reference);
    expect(r.capture.interfaces.map((i) => [i.linkTypeName, i.tsResolution, i.packets])).toEqual([
      ['EN10MB', 'us', Math.ceil(pkts.length / 2)],
      ['RAW', 'ns', Math.floor(pkts.length / 2)],
    ]);
  });

  it('nanosecond timestamps survive with sub-microsecond precision', async () => {
    const shifted = pkts.map((p, i) => ({ ...p, ns: (p.ns + 123 * (i + 1)) % 1e9 }));
    const f = put('nsprec.pcap', writePcap(shifted, { le: true, nano: true, linkType: 1 }));
    const seen: RawPacket['ns'][] = [];
    await readCapture(f, { onInterface() {}, onPacket: (p) => seen.push(p.ns), count() {} });
    expect(seen).toEqual(shifted.map((p) => p.ns));
  });

  it('the built-in classic parser and pcap-parser deliver identical packets', async () => {
    const collect = async (classicParser: 'pcap-parser' | 'builtin') => {
      const out: string[] = [];
      await readCapture(sample('keepalive-pool.pcap'), { onInterface() {}, onPacket: (p) => out.push(`${p.num} ${p.sec}.${p.ns} ${p.caplen} ${Buffer.from(p.data).toString('base64')}`), count() {} }, { classicParser });
      return out;
    };
    expect(await collect('builtin')).toEqual(await collect('pcap-parser'));
  });

  it('reports progress up to the file size', async () => {
    const seen: number[] = [];
    await analyzeFile(sample('h2-clean.pcap'), { onProgress: (p) => seen.push(p.bytesRead) });
    expect(seen.at(-1)).toBe(statSync(sample('h2-clean.pcap')).size);
  });

  it('an input file is never modified', async () => {
    const before = readFileSync(sample('keepalive-pool.pcap'));
    await analyzeFile(sample('keepalive-pool.pcap'));
    expect(readFileSync(sample('keepalive-pool.pcap')).equals(before)).toBe(true);
  });
});

describe('bad input', () => {
  it('not a capture: a specific error naming the magic', async () => {
    const f = put('text.pcap', Buffer.from('hello, this is text\n'));
    await expect(analyzeFile(f)).rejects.toThrow(NotACaptureError);
    await expect(analyzeFile(f)).rejects.toThrow(/magic 68656c6c/);
  });
  it('empty file', async () => {
    await expect(analyzeFile(put('empty.pcap', Buffer.alloc(0)))).rejects.toThrow(/empty/);
  });
  it('missing file and directory are unreadable', async () => {
    await expect(analyzeFile(join(dir, 'nope.pcap'))).rejects.toThrow(UnreadableFileError);
    await expect(analyzeFile(dir)).rejects.toThrow(UnreadableFileError);
  });
  it('an exception from the analysis it feeds is passed on as it is, not reported as a read error', async () => {
    // A bug must surface as one (the CLI's internal error, exit 70), not as "error reading" (exit 66).
    for (const classicParser of ['pcap-parser', 'builtin'] as const) {
      const bug = new TypeError('a bug in the analysis');
      const sink = { onInterface() {}, count() {}, onPacket() { throw bug; } };
      await expect(readCapture(sample('keepalive-pool.pcap'), sink, { classicParser })).rejects.toBe(bug);
    }
  });
  for (const [name, variant] of [
    ['pcap (pcap-parser)', src],
    ['pcapng', writePcapng(pkts, { le: true, ifaces: [{ linkType: 1 }] })],
    ['ns pcap', writePcap(pkts, { le: true, nano: true, linkType: 1 })],
  ] as const) {
    it(`${name} truncated mid-packet: everything before is analysed and the truncation reported`, async () => {
      const cut = put(`cut-${name.replace(/\W/g, '')}`, Buffer.from(variant).subarray(0, variant.length - 7));
      const r = await analyzeFile(cut);
      expect(r.capture.error?.code).toBe('WF_TRUNCATED');
      expect(r.capture.packets).toBe(pkts.length - 1);
      expect(r.connections.length).toBe(reference.connections.length);
    });
  }
  it('a corrupt record length fails fast with a clear error instead of buffering', async () => {
    const bad = Buffer.from(src);
    bad.writeUInt32LE(0xfffffff0, 24 + 8); // first record's captured length
    const r = await analyzeFile(put('corrupt.pcap', bad));
    expect(r.capture.error?.message).toMatch(/captured length 4294967280 exceeds/);
    expect(r.capture.packets).toBe(0);
  });
  it('a truncated gzip stream is reported as truncated', async () => {
    const gz = gzipSync(src);
    const r = await analyzeFile(put('cut.pcap.gz', gz.subarray(0, gz.length - 40)));
    expect(r.capture.error?.code).toBe('WF_TRUNCATED');
    expect(r.capture.packets).toBeGreaterThan(0);
  });
  it('a capture whose only link type is unsupported is an UnsupportedLinkTypeError', async () => {
    await expect(analyzeFile(put('usb.pcap', writePcap(pkts, { le: true, nano: false, linkType: 189 })))).rejects.toThrow(UnsupportedLinkTypeError);
  });
  it('an unsupported interface in a multi-interface pcapng is reported per interface, not fatal', async () => {
    const mixed = pkts.map((p, i) => ({ ...p, iface: i % 2 }));
    const r = await analyzeFile(put('mixed-bad.pcapng', writePcapng(mixed, { le: true, ifaces: [{ linkType: 1 }, { linkType: 189 }] })));
    expect(r.capture.interfaces.map((i) => i.supported)).toEqual([true, false]);
    expect(r.capture.counters.unsupportedLinkTypeFrames).toBe(Math.floor(pkts.length / 2));
  });
  it('random garbage after a valid pcap header never crashes or hangs', async () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    for (let trial = 0; trial < 20; trial++) {
      const junk = Buffer.from(Array.from({ length: 4000 }, rnd));
      const f = put(`junk${trial}.pcap`, Buffer.concat([src.subarray(0, 24 + 16 + pkts[0].data.length), junk]));
      const r = await analyzeFile(f);
      expect(r.capture.packets).toBeGreaterThanOrEqual(1);
    }
  });
});

describe('record parsers across chunk boundaries', () => {
  // Real packets plus one record larger than the bridge that joins a carried remainder to a chunk.
  const big = { sec: 1, ns: 5, data: new Uint8Array(300 * 1024).fill(7), origLen: 300 * 1024 };
  const mixed = [...pkts.slice(0, 10), big, ...pkts.slice(10)];
  const collect = (Parser: typeof ClassicPcapParser | typeof PcapngParser, buf: Buffer, sizes: () => number) => {
    const out: string[] = [];
    const p = new Parser({ onInterface() {}, onPacket: (k) => out.push(`${k.num}:${k.sec}.${k.ns}:${k.caplen}:${Buffer.from(k.data).subarray(0, 40).toString('hex')}:${k.data[k.data.length - 1]}`), count() {} });
    for (let off = 0; off < buf.length; ) {
      const n = Math.max(1, sizes());
      p.push(new Uint8Array(buf.subarray(off, off + n))); // a copy, as a stream would hand out
      off += n;
    }
    p.end();
    return out;
  };
  let seed = 42;
  const rnd = (max: number) => () => ((seed = (seed * 1103515245 + 12345) >>> 0) % max) + 1;
  for (const [name, Parser, buf] of [
    ['classic pcap', ClassicPcapParser, writePcap(mixed, { le: true, nano: true, linkType: 1 })],
    ['pcapng', PcapngParser, writePcapng(mixed, { le: false, ifaces: [{ linkType: 1, tsresol: 9 }] })],
  ] as const) {
    it(`${name}: any chunking gives the same packets as one buffer`, () => {
      const whole = collect(Parser, buf, () => buf.length);
      expect(whole).toHaveLength(mixed.length);
      for (const max of [1, 7, 100, 5000, 70_000, 400_000]) expect(collect(Parser, buf, rnd(max))).toEqual(whole);
    });
  }
});
