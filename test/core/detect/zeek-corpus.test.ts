/**
 * The Zeek corpus (../shared/corpus/zeek): HTTP/1 detectors must stay silent except where the
 * fixture zeek-expected.json lists the findings and says why they are right. Skips with a visible
 * message when the corpus is absent; fails under CI=true (hasCorpus).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { hasCorpus, listCaptures, ZEEK } from '../../helpers/env.js';
import { analyze, compact } from './helpers.js';

interface Fixture {
  findings: { id: string; connections: number[]; requests: number[] }[];
  reason: string;
}
const fixture = JSON.parse(readFileSync(join(import.meta.dirname, 'zeek-expected.json'), 'utf8')) as Record<string, Fixture | string>;
const present = hasCorpus();
const files = present ? listCaptures(ZEEK) : [];
const http1 = (f: { layer?: string }) => f.layer === 'http1' || f.layer === 'http1-pipelining';

describe.skipIf(!present)('HTTP/1 findings on the Zeek corpus', () => {
  it('the corpus is there and every fixture entry names a corpus file with a reason', () => {
    expect(files.length).toBeGreaterThan(20);
    const names = new Set(files.map((f) => basename(f)));
    for (const [name, fx] of Object.entries(fixture)) {
      if (name.startsWith('_')) continue;
      expect(names.has(name), name).toBe(true);
      expect((fx as Fixture).reason.length).toBeGreaterThan(40);
    }
  });

  it.each(files.map((f) => [basename(f), f]))('%s', async (name, file) => {
    const r = await analyze(file);
    const got = compact(r.findings.filter(http1)).map(({ id, connections, requests }) => ({ id, connections, requests }));
    const fx = fixture[name] as Fixture | undefined;
    expect(got).toEqual(fx ? fx.findings : []);
  });
});
