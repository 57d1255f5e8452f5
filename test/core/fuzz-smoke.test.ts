/**
 * The whole pipeline on damaged real captures: seeded byte flips over a multi-connection HTTP/2
 * capture (built from samples/h2-clean.pcap the way the benchmark builds its own) and over HTTP/1.x
 * samples (and the HTTP/2 capture rewritten as pcapng), through analyzeFile, every detector, HAR
 * and JSON, with both classic-pcap readers.
 * A damaged capture may give a WirefallError (a truncated or corrupt file); anything else is a bug.
 * Found this way: bytes after a FIN that cut an HTTP/2 frame crashed the frame parser (several of
 * the HTTP/2 seeds here did it before the fix). A longer random run also found pcapng timestamps
 * past the range of a date crashing the HAR export; test/core/capture/reader.test.ts covers that.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeFile } from '../../core/src/engine.js';
import { detectAll } from '../../core/src/detect/index.js';
import { toHar } from '../../core/src/model/har.js';
import { WirefallError } from '../../core/src/errors.js';
import { synthesize } from '../bench/synth.mjs';
import { sample } from '../helpers/env.js';
import { readPcapSimple, writePcapng } from '../helpers/pcap-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'wirefall-fuzz-'));

/**
 * Pseudo-random numbers in [0, 1) from a seed: an LCG step computed in doubles (the product loses
 * low bits, so not a textbook LCG), but IEEE arithmetic makes it the same sequence everywhere.
 */
function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s / 0x7fffffff;
  };
}

/** `base` with `flips` random octets (after the file header) set to random values. */
function damaged(base: Buffer, seed: number, flips: number): Buffer {
  const rnd = lcg(seed);
  const d = Buffer.from(base);
  for (let i = 0; i < flips; i++) d[24 + Math.floor(rnd() * (d.length - 24))] = Math.floor(rnd() * 256);
  return d;
}

/** Analyses `d` end to end; returns the unexpected error's text, or null. */
async function bug(d: Buffer, name: string, classicParser: 'builtin' | 'pcap-parser'): Promise<string | null> {
  const f = join(dir, name);
  writeFileSync(f, d);
  try {
    const r = await analyzeFile(f, { classicParser, findings: (rep) => detectAll(rep) });
    toHar(r);
    JSON.stringify(r);
    return null;
  } catch (e) {
    return e instanceof WirefallError ? null : `${name} (${classicParser}): ${(e as Error).stack ?? e}`;
  }
}

describe('fuzz smoke: damaged captures give a report or a WirefallError, never another exception', () => {
  let h2: Buffer;
  beforeAll(async () => {
    const f = join(dir, 'h2-multi.pcap');
    await synthesize(sample('h2-clean.pcap'), f, 2_000_000);
    h2 = readFileSync(f);
  });

  it('HTTP/2, 40 seeds × 3,000 flipped octets over ~2 MB of interleaved connections', async () => {
    const bugs: string[] = [];
    for (let seed = 1; seed <= 40; seed++) {
      const b = await bug(damaged(h2, seed, 3000), `h2-${seed}.pcap`, seed % 4 === 0 ? 'pcap-parser' : 'builtin');
      if (b) bugs.push(b);
    }
    expect(bugs).toEqual([]);
  });

  it('pcapng: the same HTTP/2 capture as Enhanced Packet Blocks, 20 seeds × 3,000 flipped octets', async () => {
    const ng = writePcapng(readPcapSimple(h2).pkts, { le: true, ifaces: [{ linkType: 1 }] });
    const bugs: string[] = [];
    for (let seed = 1; seed <= 20; seed++) {
      const b = await bug(damaged(ng, seed, 3000), `h2-${seed}.pcapng`, 'builtin');
      if (b) bugs.push(b);
    }
    expect(bugs).toEqual([]);
  });

  it('HTTP/1.x samples, 20 seeds each × 200 flipped octets', async () => {
    const bugs: string[] = [];
    for (const s of ['pipelining.pcap', 'chunked-gzip.pcap', 'tcp-loss-http1.pcap', 'blind-relay.pcap', 'keepalive-timeout-max.pcapng']) {
      const base = readFileSync(sample(s));
      for (let seed = 1; seed <= 20; seed++) {
        const b = await bug(damaged(base, seed, 200), `${s}-${seed}`, seed % 2 === 0 ? 'pcap-parser' : 'builtin');
        if (b) bugs.push(b);
      }
    }
    expect(bugs).toEqual([]);
  });
});
