/**
 * The compact document built on a second thread (view/core-link.ts `analyzeCompact` in split mode,
 * view/compact-worker.ts): the analysis sends each record's JSON, the builder thread parses it back
 * and builds the rows. It must give exactly what the whole-Report path gives — the same view model
 * as `toViewModel(analyzeFile(…))`, the same records by id — on every capture in samples/, and a
 * builder that fails must fail the analysis (no hang, no document). The builder's module exists
 * only compiled, so this runs the built core (core/dist; `npm test` builds first).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { SAMPLES, sample, listCapturesDeep } from '../../helpers/env.js';
import type { Report } from '../../../core/src/model/types.js';

const DIST = join(import.meta.dirname, '../../../core/dist/view');
const built = existsSync(join(DIST, 'compact-worker.js'));
type CoreLink = typeof import('../../../core/src/view/core-link.js');
type StreamModel = typeof import('../../../core/src/view/stream-model.js');
type Compact = typeof import('../../../core/src/view/compact.js');
type Phases = typeof import('../../../core/src/model/phases.js');
const load = async () => ({
  link: (await import(join(DIST, 'core-link.js'))) as CoreLink,
  sm: (await import(join(DIST, 'stream-model.js'))) as StreamModel,
  compact: (await import(join(DIST, 'compact.js'))) as Compact,
  phases: (await import(join(DIST, '../model/phases.js'))) as Phases,
});

const inputs = listCapturesDeep(SAMPLES).map((file) => {
  const keys = file.replace(/\.(pcap|pcapng|cap)(\.gz)?$/i, '.keys');
  return { name: relative(SAMPLES, file), file, keys: existsSync(keys) ? [keys] : [] };
});
const json = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

afterAll(async () => {
  if (!built) return;
  const { sm } = await load();
  for (const d of sm.liveSpillDirs()) sm.removeSpillDir(d);
});

describe.runIf(built || process.env.CI === 'true')('compact document built on a second thread = toViewModel(report)', () => {
  it('the builder module is built, beside every analysis worker that starts it (per-module, CLI bundle)', () => {
    expect(built).toBe(true);
    // bin/wirefall.js runs the bundle: without its own builder there, `wirefall view` builds in one thread.
    expect(existsSync(join(DIST, '../bundle/analysis-worker.js'))).toBe(true);
    expect(existsSync(join(DIST, '../bundle/compact-worker.js'))).toBe(true);
  });

  it.each(inputs.map((i) => [i.name, i] as const))('%s', async (_name, i) => {
    const { link, sm, compact, phases } = await load();
    const opts = { keyLog: await (await import(join(DIST, '../tls/keylog.js'))).loadKeyLog({ files: i.keys }), packetMarks: true, split: true };
    let report: Report;
    try {
      report = await link.CORE.analyzeFile(i.file, { keylog: { files: i.keys } });
    } catch (e) {
      const dir = sm.makeSpillDir();
      await expect(link.analyzeCompact(i.file, dir, opts)).rejects.toThrow((e as Error).message);
      sm.removeSpillDir(dir);
      return;
    }
    const dir = sm.makeSpillDir();
    const store = new sm.CompactStore(await link.analyzeCompact(i.file, dir, opts), 'd1');
    try {
      const want = json(compact.toViewModel(report, 'd1', phases.phases));
      const got = store.model();
      expect(got.findings).toEqual(want.findings);
      expect(got.connections).toEqual(want.connections);
      for (let k = 0; k < want.requests.length; k++) expect(got.requests[k], `request row ${k}`).toEqual(want.requests[k]);
      expect(got).toEqual(want);
      for (const r of report.requests) expect(store.request(r.id), `request ${r.id}`).toEqual(json(r));
      for (const c of report.connections) expect(store.connection(c.id), `connection ${c.id}`).toEqual(json(c));
    } finally {
      store.dispose();
    }
  });

  it('a builder that fails fails the analysis, at once', async () => {
    const { link } = await load();
    // The builder opens its spill file in a directory that is not there.
    const gone = mkdtempSync(join(tmpdir(), 'wirefall-split-'));
    rmSync(gone, { recursive: true });
    const t0 = performance.now();
    await expect(link.analyzeCompact(sample('keepalive-pool.pcap'), gone, { split: true })).rejects.toThrow(/ENOENT|builder/);
    expect(performance.now() - t0).toBeLessThan(30_000);
  });
});
