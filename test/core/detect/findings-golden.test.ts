/**
 * Every finding, whole (summary, evidence, advice, costs), on every sample capture — samples/*,
 * samples/tls, samples/quic and samples/whatif with and without their key logs — and on the Zeek
 * corpus, at the default thresholds and at loose ones, against findings-golden.json.
 * samples.test.ts and zeek-corpus.test.ts pin which findings each capture gives; this pins that a
 * refactoring of the engine or the detectors (the HTTP/1 persistence and framing facts decided
 * once in http1/keepalive.ts, for one) leaves every word of them as it was. A capture added since
 * the fixture was written fails until the fixture is rewritten.
 *
 * After an intended change of findings: `WIREFALL_GOLDEN_UPDATE=1 npx vitest run
 * test/core/detect/findings-golden.test.ts` rewrites the fixture; review its diff.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { analyzeFile } from '../../../core/src/engine.js';
import { detectAll, type DetectOptions } from '../../../core/src/detect/index.js';
import { readKeyLogFile } from '../../../core/src/tls/keylog.js';
import type { Finding } from '../../../core/src/model/types.js';
import { hasCorpus, listCaptures, ROOT, SAMPLES, ZEEK } from '../../helpers/env.js';

const FIXTURE = join(import.meta.dirname, 'findings-golden.json');
const UPDATE = process.env.WIREFALL_GOLDEN_UPDATE === '1';

interface Input {
  name: string;
  file: string;
  keys?: string;
  opts?: DetectOptions;
}

/**
 * Loose thresholds, so that rules silent at the defaults (idle-kept-long, timeout-too-short, short
 * hangs, wide reuse windows) run on every capture too.
 */
const LOOSE: DetectOptions = { thresholds: { reuseWindowMs: 60_000, idleCloseMs: 50, hangMs: 200, idleLongMs: 1500, idleRatio: 1, staleRaceMs: 1000, holStallMs: 1 } };

function inputs(): Input[] {
  const out: Input[] = listCaptures(SAMPLES).map((f) => ({ name: basename(f), file: f }));
  for (const dir of ['tls', 'quic', 'whatif']) {
    for (const f of listCaptures(join(SAMPLES, dir))) {
      out.push({ name: `${dir}/${basename(f)} without keys`, file: f });
      const keys = f.replace(/\.(pcap|pcapng)$/, '.keys');
      if (existsSync(keys)) out.push({ name: `${dir}/${basename(f)} with keys`, file: f, keys });
    }
  }
  if (hasCorpus()) for (const f of listCaptures(ZEEK)) out.push({ name: `corpus/${relative(ZEEK, f)}`, file: f });
  return [...out, ...out.map((i) => ({ ...i, name: `${i.name} (loose thresholds)`, opts: LOOSE }))];
}

/** Findings in one order, whatever order the detectors gave them in. */
function canonical(fs: Finding[]): Finding[] {
  const key = (f: Finding) => JSON.stringify([f.timeRange[0], f.kind, f.rule ?? '', f.connectionIds, f.requestIds, f.summary]);
  return [...fs].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

async function findingsOf(i: Input): Promise<Finding[]> {
  const keyLog = i.keys ? (await readKeyLogFile(i.keys)).keylog : undefined;
  const report = await analyzeFile(i.file, { keyLog, findings: (r) => detectAll(r, i.opts) });
  // Through JSON, as every output writes them (drops undefined members).
  return JSON.parse(JSON.stringify(canonical(report.findings))) as Finding[];
}

const all = inputs();
const golden: Record<string, Finding[]> = existsSync(FIXTURE) ? (JSON.parse(readFileSync(FIXTURE, 'utf8')) as Record<string, Finding[]>) : {};
const updated: Record<string, Finding[]> = {};

describe('every finding, word for word, on every sample and corpus capture', () => {
  it('covers the samples, their key logs and the corpus; no capture of the fixture went missing', () => {
    expect(all.length).toBeGreaterThan(hasCorpus() ? 160 : 100);
    const names = new Set(all.map((i) => i.name));
    // Without ../shared (hasCorpus() says so, and fails under CI) the corpus entries are not run.
    const corpus = (k: string) => k.startsWith('corpus/');
    if (!UPDATE) expect(Object.keys(golden).filter((k) => !names.has(k) && (hasCorpus() || !corpus(k)))).toEqual([]);
  });

  // A capture added since the fixture was written fails until the fixture is rewritten (and its
  // new entries reviewed): a capture nobody pinned must not pass silently.
  const pinned = all.filter((i) => UPDATE || i.name in golden);
  const unpinned = all.filter((i) => !pinned.includes(i));
  if (unpinned.length)
    it.each(unpinned.map((i) => [i.name]))('%s is pinned in findings-golden.json', (name) => {
      expect.fail(`${name} has no entry: rewrite the fixture with WIREFALL_GOLDEN_UPDATE=1 and review the diff`);
    });

  it.each(pinned.map((i) => [i.name, i] as const))('%s', async (name, i) => {
    const got = await findingsOf(i);
    if (UPDATE) {
      updated[name] = got;
      if (Object.keys(updated).length === pinned.length) {
        // Without ../shared the corpus entries were not run: they are kept as they were.
        if (!hasCorpus()) for (const [k, v] of Object.entries(golden)) if (k.startsWith('corpus/')) updated[k] = v;
        const sorted = Object.fromEntries(Object.keys(updated).sort().map((k) => [k, updated[k]]));
        writeFileSync(FIXTURE, `${JSON.stringify(sorted, null, 1)}\n`);
        console.warn(`wrote ${relative(ROOT, FIXTURE)}`);
      }
      return;
    }
    expect(got).toEqual(golden[name]);
  });
});
