/**
 * The reader reads into two buffers it reuses (core/src/capture/reader.ts), so nothing downstream
 * may keep a view of packet bytes past its callback: reassembly, HTTP/1 and HTTP/2 parsers, body
 * decoders and HPACK must copy what they hold. Read in tiny, odd-sized chunks, each buffer is
 * overwritten after a record or two, so any such view would change the report. Every sample must
 * give exactly the report it gives when read in the default chunks, through both classic readers.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { analyzeFile, type AnalyzeOptions } from '../../../core/src/engine.js';
import { SAMPLES, sample } from '../../helpers/env.js';

const captures = readdirSync(SAMPLES).filter((f) => /\.(pcap|pcapng)(\.gz)?$/.test(f));
/** Smaller than most records, and prime, so record and chunk boundaries never line up for long. */
const TINY = 997;

const report = async (f: string, opts: AnalyzeOptions) => {
  return JSON.stringify(await analyzeFile(sample(f), opts));
};

describe('reading in tiny chunks from reused buffers', () => {
  it('finds the samples', () => {
    expect(captures.length).toBeGreaterThan(20);
  });
  for (const f of captures) {
    const readers: AnalyzeOptions['classicParser'][] = f.endsWith('.pcap') ? ['pcap-parser', 'builtin'] : [undefined];
    for (const classicParser of readers) {
      it(`${f}${classicParser ? ` (${classicParser})` : ''}: the same report as in default chunks`, async () => {
        const whole = await report(f, { classicParser });
        expect(await report(f, { classicParser, chunkBytes: TINY })).toBe(whole);
      });
    }
  }
});
