/**
 * The hpack-test-case interoperability corpus (../shared/corpus/hpack, never copied into the repo):
 * every story of every encoder must decode to exactly its `headers`.
 * Missing corpus: skipped with a warning locally, a failure when CI=true. WIREFALL_HPACK_CORPUS
 * overrides the location.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HpackDecoder } from '../../../../core/src/http2/hpack/decoder.js';
import { inflateStory } from '../../../../core/src/http2/hpack/inflate.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const corpusDir = process.env.WIREFALL_HPACK_CORPUS ?? resolve(repoRoot, '../shared/corpus/hpack');
const exists = existsSync(corpusDir);
const inCI = process.env.CI === 'true';

if (!exists) {
  console.warn(`[hpack corpus] ${corpusDir} not found: corpus tests skipped${inCI ? ' (CI: failing instead)' : ''}`);
}

describe('hpack corpus availability', () => {
  it.runIf(inCI)('the corpus is present in CI', () => {
    expect(exists, `hpack corpus missing at ${corpusDir}`).toBe(true);
  });
});

interface StoryCase {
  seqno?: number;
  wire: string;
  header_table_size?: number | null;
  headers: Record<string, string>[];
}

const implementations = exists
  ? readdirSync(corpusDir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && d.name !== 'raw-data')
      .map((d) => d.name)
      .sort()
  : [];

describe.skipIf(!exists)('hpack-test-case corpus', () => {
  it('has encoder folders with stories', () => {
    expect(implementations.length).toBeGreaterThan(0);
  });
  for (const impl of implementations) {
    it(`decodes every story encoded by ${impl}`, () => {
      const stories = readdirSync(join(corpusDir, impl)).filter((f) => /^story_\d+\.json$/.test(f)).sort();
      expect(stories.length).toBeGreaterThan(0);
      let blocks = 0;
      for (const file of stories) {
        const story = JSON.parse(readFileSync(join(corpusDir, impl, file), 'utf8')) as { cases: StoryCase[] };
        const dec = new HpackDecoder();
        for (const c of story.cases) {
          // null = no change, as absent (swift-nio's stories write it so).
          if (c.header_table_size !== undefined && c.header_table_size !== null) dec.setMaxTableSizeLimit(c.header_table_size);
          const got = dec.decode(new Uint8Array(Buffer.from(c.wire, 'hex'))).fields.map((f) => ({ [f.name]: f.value }));
          if (JSON.stringify(got) !== JSON.stringify(c.headers)) {
            expect(got, `${impl}/${file} seqno ${c.seqno}`).toEqual(c.headers);
          }
          blocks++;
        }
        // inflateStory (the CLI path) agrees with the decoder on the whole story.
        const inflated = inflateStory(story);
        expect(inflated.cases.map((c) => c.headers)).toEqual(story.cases.map((c) => c.headers));
      }
      expect(blocks).toBeGreaterThan(0);
    });
  }
});
