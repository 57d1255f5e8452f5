/**
 * Damaged input never throws: the real fixture with flipped octets, dropped segments (as capture
 * gaps) and random re-chunking, under a fixed-seed PRNG. Every draft stays well-formed.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HpackDecoder } from '../../../core/src/http2/hpack/decoder.js';
import { HpackError } from '../../../core/src/http2/hpack/errors.js';
import { Http2Session } from '../../../core/src/http2/session.js';
import type { Side } from '../../../core/src/model/types.js';
import type { StreamChunk } from '../../../core/src/tcp/stream.js';
import { readFixture } from './pcap-chunks.js';
import { Recorder } from './session-harness.js';
import { rng as prng } from '../../helpers/rng.js';

const [conn] = readFixture(join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'h2c-prior-knowledge.pcap'));
const STATES = new Set(['complete', 'no-response', 'incomplete-response', 'aborted', 'reset']);

describe('robustness: mutated captures', () => {
  it.each(Array.from({ length: 40 }, (_, i) => i + 1))('seed %i', (seed) => {
    const rnd = prng(seed);
    const out = new Recorder();
    const s = new Http2Session(conn.info, out, { prefaceSeen: rnd() < 0.8 });
    const offset: Record<Side, number> = { client: 0, server: 0 };
    const pendingGap: Record<Side, number> = { client: 0, server: 0 };
    for (const e of conn.events) {
      let data = e.chunk.data.slice();
      if (rnd() < 0.1) {
        pendingGap[e.side] += data.length; // drop the segment: a gap before the next one
        continue;
      }
      const flips = rnd() < 0.3 ? 1 + Math.floor(rnd() * 4) : 0;
      for (let k = 0; k < flips; k++) data[Math.floor(rnd() * data.length)] ^= 1 << Math.floor(rnd() * 8);
      while (data.length > 0) {
        const n = 1 + Math.floor(rnd() * data.length);
        const chunk: StreamChunk = { ...e.chunk, data: data.subarray(0, n), offset: offset[e.side] + pendingGap[e.side], skipped: pendingGap[e.side] };
        offset[e.side] += pendingGap[e.side] + n;
        pendingGap[e.side] = 0;
        expect(() => s.onData(e.side, chunk)).not.toThrow();
        data = data.subarray(n);
      }
    }
    expect(() => {
      for (const f of conn.fins) s.onEnd(f.side, 'fin', f.time, f.packet);
      s.onClose(conn.lastTime);
    }).not.toThrow();
    for (const r of out.requests) {
      expect(STATES.has(r.state)).toBe(true);
      expect(Number.isFinite(r.times.requestStartTime)).toBe(true);
      expect(r.index).toBeGreaterThan(0);
      expect(r.httpVersion).toBe('h2');
    }
    expect(out.facts).toBeDefined();
  });
});

describe('robustness: random header blocks', () => {
  it('the decoder only ever throws HpackError', () => {
    const rnd = prng(7);
    for (let i = 0; i < 5000; i++) {
      const d = new HpackDecoder({ maxStringLength: 64 });
      const b = new Uint8Array(1 + Math.floor(rnd() * 40)).map(() => Math.floor(rnd() * 256));
      try {
        d.decode(b);
      } catch (e) {
        expect(e).toBeInstanceOf(HpackError);
      }
    }
  });
});
