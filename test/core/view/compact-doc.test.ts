/**
 * The view's compact document (core/src/view/stream-model.ts): a capture analysed streaming, its
 * view model built as the records arrive and its records spilled to a file, must give what the
 * whole-Report path gives — the same view model as `toViewModel(analyzeFile(…))` and the same
 * records by id — on every capture in samples/ (with its key log where it has one). The store
 * keeps no Request or Connection object, and its spill goes when the document closes.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CORE } from '../../../core/src/view/core-link.js';
import { toViewModel } from '../../../core/src/view/compact.js';
import { CompactStore, liveSpillDirs, makeSpillDir, removeSpillDir, type CompactDoc } from '../../../core/src/view/stream-model.js';
import { DocStore } from '../../../core/src/view/docs.js';
import { prettyJsonPieces } from '../../../core/src/view/export-stream.js';
import { phases } from '../../../core/src/model/phases.js';
import type { Report } from '../../../core/src/model/types.js';
import { SAMPLES, sample, listCapturesDeep } from '../../helpers/env.js';

/** Each capture with its key log (X.keys beside X.pcap) where it has one. */
const inputs = listCapturesDeep(SAMPLES).map((file) => {
  const keys = file.replace(/\.(pcap|pcapng|cap)(\.gz)?$/i, '.keys');
  return { name: relative(SAMPLES, file), file, keys: existsSync(keys) ? [keys] : [] };
});

/** As the page gets it: through JSON. */
const json = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

async function compact(file: string, keys: string[]): Promise<CompactStore> {
  const dir = makeSpillDir();
  const doc = await CORE.analyzeCompact!(file, dir, { keylog: { files: keys } });
  return new CompactStore(doc, 'd1');
}

afterAll(() => {
  for (const d of liveSpillDirs()) removeSpillDir(d);
});

describe('compact view document = toViewModel(report)', () => {
  it('covers the samples, with key logs', () => {
    expect(inputs.length).toBeGreaterThan(20);
    expect(inputs.some((i) => i.keys.length > 0)).toBe(true);
  });

  it.each(inputs.map((i) => [i.name, i] as const))('%s', async (_name, i) => {
    let report: Report;
    try {
      report = await CORE.analyzeFile(i.file, { keylog: { files: i.keys } });
    } catch (e) {
      // A capture the engine refuses is refused streaming too.
      await expect(compact(i.file, i.keys)).rejects.toThrow((e as Error).message);
      return;
    }
    const store = await compact(i.file, i.keys);
    try {
      const want = json(toViewModel(report, 'd1', phases));
      const got = store.model();
      // Parts first (a readable difference), then the whole.
      expect(got.findings).toEqual(want.findings);
      expect(got.connections).toEqual(want.connections);
      expect(got.requests.length).toBe(want.requests.length);
      for (let k = 0; k < want.requests.length; k++) expect(got.requests[k], `request row ${k}`).toEqual(want.requests[k]);
      expect(got).toEqual(want);
      // The streamed bytes are that model.
      expect(JSON.parse(Buffer.concat([...store.modelPieces()]).toString('utf8'))).toEqual(want);
      // The head model (getModelHead): its first rows, and how many there are when that is more.
      for (const rows of [0, 1, Math.floor(want.requests.length / 2), want.requests.length]) {
        const head = JSON.parse(Buffer.concat([...store.modelPieces(rows)]).toString('utf8')) as unknown;
        expect(head, `head of ${rows} rows`).toEqual(rows < want.requests.length ? { ...want, requests: want.requests.slice(0, rows), loading: { requests: want.requests.length } } : want);
      }
      // Details read back from the spill: the report's records.
      for (const r of report.requests) expect(store.request(r.id), `request ${r.id}`).toEqual(json(r));
      for (const c of report.connections) expect(store.connection(c.id), `connection ${c.id}`).toEqual(json(c));
      expect(store.request(report.requests.length)).toBeUndefined();
      expect(store.connection(-1)).toBeUndefined();
    } finally {
      store.dispose();
    }
  });
});

describe('compact document in the DocStore', () => {
  const open = async (name: string) => {
    const docs = new DocStore(async (path) => CORE.analyzeCompact!(path, makeSpillDir(), {}), phases);
    const info = docs.open(sample(name));
    await docs.settled(info.id);
    return { docs, id: info.id };
  };

  it('holds no Request or Connection object: the model bytes and typed-array indices only', async () => {
    const { docs, id } = await open('keepalive-pool.pcap');
    expect(docs.form(id)).toBe('compact');
    const store = docs.compact(id)!;
    const d: CompactDoc = store.doc;
    for (const a of [d.rows.chunk, d.rows.offset, d.rows.length, d.spill.requests.offset, d.spill.requests.length, d.spill.connections.id, d.spill.connections.offset, d.spill.connections.length])
      expect(ArrayBuffer.isView(a)).toBe(true);
    expect(d.rows.chunks.every((c) => c instanceof ArrayBuffer)).toBe(true);
    // Nothing in the document is a record: walk every object it holds (typed arrays and buffers are leaves).
    const seen = new Set<object>();
    const walkObj = (v: unknown, path: string): void => {
      if (typeof v !== 'object' || v === null || seen.has(v) || ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return;
      seen.add(v);
      const o = v as Record<string, unknown>;
      expect('requestHeaders' in o || 'packetMarks' in o || ('stats' in o && 'roles' in o), `a record at ${path}`).toBe(false);
      for (const [k, x] of Object.entries(o)) walkObj(x, `${path}.${k}`);
    };
    walkObj(store, 'store');
    const n = d.rows.count;
    expect(n).toBeGreaterThan(0);
    // The details are still there, read back.
    expect(docs.request(id, 0).requestHeaders.length).toBeGreaterThan(0);
    expect(docs.connection(id, docs.model(id).connections[0]!.id).stats).toBeDefined();
    docs.close(id);
  });

  it('a head model from a document held as a Report is the same head as a compact one', async () => {
    const file = sample('keepalive-pool.pcap');
    const byReport = new DocStore(async (path) => CORE.analyzeFile(path, {}), phases);
    const r = byReport.open(file);
    await byReport.settled(r.id);
    expect(byReport.form(r.id)).toBe('report');
    const { docs, id } = await open('keepalive-pool.pcap');
    const text = (pieces: Iterable<Buffer | string>) => JSON.parse([...pieces].map(String).join('')) as Record<string, unknown>;
    const n = docs.model(id).requests.length;
    for (const rows of [1, n - 1, n, n + 1]) {
      const want = text(docs.modelPieces(id, rows));
      expect({ ...text(byReport.modelPieces(r.id, rows)), doc: want.doc }).toEqual(want);
    }
    expect(text(docs.modelPieces(id, 1)).loading).toEqual({ requests: n });
    // The object form (the desktop app's IPC) is the same.
    expect(docs.model(id, 1)).toEqual(text(docs.modelPieces(id, 1)));
    expect(byReport.model(r.id, 1)).toEqual({ ...text(byReport.modelPieces(r.id, 1)) });
    byReport.closeAll();
    docs.closeAll();
  });

  it('removes the spill file when the document closes', async () => {
    const { docs, id } = await open('keepalive-pool.pcap');
    const dir = docs.compact(id)!.doc.spill.dir;
    expect(readdirSync(dir)).toEqual(['records.jsonl']);
    expect(liveSpillDirs()).toContain(dir);
    docs.close(id);
    expect(existsSync(dir)).toBe(false);
    expect(liveSpillDirs()).not.toContain(dir);
  });

  it('removes the old spill when a key log re-analyses the document, and on closeAll', async () => {
    const { docs, id } = await open('keepalive-pool.pcap');
    const first = docs.compact(id)!.doc.spill.dir;
    docs.addKeyLog(id, '# no keys\n');
    await docs.settled(id);
    const second = docs.compact(id)!.doc.spill.dir;
    expect(second).not.toBe(first);
    expect(existsSync(first)).toBe(false);
    docs.closeAll();
    expect(existsSync(second)).toBe(false);
  });

  it('exports the report streamed from the spill, byte for byte as the in-memory report', async () => {
    const { docs, id } = await open('keepalive-pool.pcap');
    const report = await CORE.analyzeFile(sample('keepalive-pool.pcap'), {});
    const { name, pieces } = docs.exportPieces(id, 'report', CORE.toHar);
    expect(name).toBe('keepalive-pool.wirefall.json');
    expect([...pieces].join('')).toBe([...prettyJsonPieces(report)].join(''));
    // The whole report read back (diffs, HAR) is the analysis' Report.
    expect(docs.report(id)).toEqual(json(report));
    const har = docs.exportPieces(id, 'har', CORE.toHar);
    expect(har.name).toBe('keepalive-pool.har');
    expect([...har.pieces].join('')).toBe([...prettyJsonPieces(CORE.toHar(report))].join(''));
    docs.close(id);
  });
});

describe('the view server and its spill files', () => {
  it('keeps compact documents, and removes a spill when the analysis is cancelled or the doc closed first', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { startViewServer } = await import('../../../core/src/view/server.js');
    const staticDir = mkdtempSync(join(tmpdir(), 'wirefall-static-'));
    writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>wirefall</title>');
    const before = new Set(liveSpillDirs());
    const fresh = () => liveSpillDirs().filter((d) => !before.has(d));
    const server = await startViewServer({ capturePath: sample('bench-seed-h1-requests.pcap'), staticDir });
    try {
      await server.docs.settled(server.doc);
      expect(server.docs.form(server.doc)).toBe('compact');
      expect(fresh()).toHaveLength(1);
      // Cancelled while analysing: the analysis stops and its spill goes.
      const a = server.docs.open(sample('bench-seed-h1-requests.pcap'));
      server.docs.cancel(a.id);
      expect((await server.docs.settled(a.id)).state).toBe('cancelled');
      // Closed while analysing: whatever the analysis made is removed.
      const b = server.docs.open(sample('bench-seed-h1-requests.pcap'));
      const settled = server.docs.settled(b.id);
      server.docs.close(b.id);
      await settled;
      await new Promise((r) => setTimeout(r, 50));
      expect(fresh()).toHaveLength(1);
    } finally {
      await server.close();
      rmSync(staticDir, { recursive: true, force: true });
    }
    // Closing the server closes its documents.
    expect(fresh()).toEqual([]);
  }, 60_000);
});

describe('`wirefall view` and its spill files', () => {
  it('removes them when it is stopped with Ctrl+C (SIGINT)', async () => {
    const { spawn } = await import('node:child_process');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { ROOT } = await import('../../helpers/env.js');
    // Its own temporary directory (os.tmpdir() follows TMPDIR), to see the spill appear and go.
    const tmp = mkdtempSync(join(tmpdir(), 'wirefall-view-spill-'));
    const spills = () => readdirSync(tmp).filter((f) => f.startsWith('wirefall-spill-'));
    const p = spawn(process.execPath, [join(ROOT, 'core', 'bin', 'wirefall.js'), 'view', sample('keepalive-pool.pcap')], { env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      const url = await new Promise<URL>((ok, fail) => {
        p.stdout.on('data', (b: Buffer) => {
          out += b.toString();
          const m = /http:\/\/\S+/.exec(out);
          if (m) ok(new URL(m[0]));
        });
        p.once('exit', () => fail(new Error(`view exited: ${out}`)));
      });
      const token = url.searchParams.get('token')!;
      const call = async (method: string, args: unknown[]) =>
        (await (await fetch(new URL('/api/call', url), { method: 'POST', headers: { 'content-type': 'application/json', 'x-wirefall-token': token }, body: JSON.stringify({ method, args }) })).json()) as { result?: { id: string; state: string }[] };
      for (let i = 0; i < 200; i++) {
        const docs = (await call('listDocs', [])).result ?? [];
        if (docs[0]?.state === 'ready') break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(spills()).toHaveLength(1);
      const exited = new Promise<number | null>((ok) => p.once('exit', (code) => ok(code)));
      p.kill('SIGINT');
      expect(await exited).toBe(130);
      expect(spills()).toEqual([]);
    } finally {
      p.kill('SIGKILL');
      rmSync(tmp, { recursive: true, force: true });
    }
  }, 30_000);
});
