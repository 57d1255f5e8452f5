/**
 * `--format json` streamed (core/src/cli/json-spill.ts): records spilled to a file as they complete,
 * findings put in `detectAll`'s order, the what-if estimate from the collector — and the output byte
 * for byte what the Report held in memory gave (`runTask` in 'report' mode, the path json took
 * before, written by `writeJson`): on every capture under samples/ (with and without its key log),
 * on the ../shared corpus, compact and (a subset) indented, at default and loose thresholds, as one
 * report and inside a batch. And the spill file: beside -o's temporary file (else in the temporary
 * directory) while the run lasts, gone after it whatever its end, -o FILE left as it was on failure.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { runTask, type FileOutcome, type FileTask } from '../../../core/src/cli/batch.js';
import { reportArrayPlace, writeJson } from '../../../core/src/cli/json-out.js';
import { JsonSpillWriter, removeSpill, spilledDocument, spillPaths } from '../../../core/src/cli/json-spill.js';
import { analyzeFile } from '../../../core/src/engine.js';
import { detectAll } from '../../../core/src/detect/index.js';
import { whatIf } from '../../../core/src/whatif/whatif.js';
import { groupFindings } from '../../../core/src/view/finding-groups.js';
import { EXIT } from '../../../core/src/cli/main.js';
import type { DetectOptions } from '../../../core/src/detect/index.js';
import { VERSION } from '../../../core/src/version.js';
import { CORPUS, hasCorpus, ROOT, sample, SAMPLES, listCapturesDeep } from '../../helpers/env.js';
import { writeLargeCapture } from '../../e2e/pcap-writer.js';

const tmp = mkdtempSync(join(tmpdir(), 'wirefall-json-stream-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Input {
  name: string;
  file: string;
  keys?: string;
}

/** Each capture without keys, and with its key log (X.keys beside X.pcap) where it has one. */
function inputsUnder(dir: string, label: string): Input[] {
  const out: Input[] = [];
  for (const file of listCapturesDeep(dir)) {
    const name = `${label}/${relative(dir, file)}`;
    out.push({ name, file });
    const keys = file.replace(/\.(pcap|pcapng|cap)(\.gz)?$/i, '.keys');
    if (existsSync(keys)) out.push({ name: `${name} with keys`, file, keys });
  }
  return out;
}

const LOOSE: DetectOptions = { thresholds: { reuseWindowMs: 60_000, idleCloseMs: 50, hangMs: 200, idleLongMs: 1500, idleRatio: 1, staleRaceMs: 1000, holStallMs: 1 } };

/** The position and surroundings of the first difference (a whole report in a diff is unreadable). */
function firstDifference(a: string, b: string): string | null {
  if (a === b) return null;
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return `at ${i} of ${a.length}/${b.length}: …${JSON.stringify(a.slice(Math.max(0, i - 60), i + 60))}… vs …${JSON.stringify(b.slice(Math.max(0, i - 60), i + 60))}…`;
}

const spills: string[] = [];
const task = (i: Input, detect?: DetectOptions): FileTask => ({ file: i.file, mode: 'report', keylogFiles: i.keys ? [i.keys] : undefined, detect });

/** The old path: the whole Report in memory. */
async function viaReport(t: FileTask): Promise<FileOutcome> {
  return runTask({ ...t, mode: 'report' }, {});
}

/** The streamed path, the spill file in this test's directory. */
async function viaSpill(t: FileTask, pretty: boolean, batch: boolean): Promise<FileOutcome> {
  const [spill] = spillPaths(join(tmp, `.out.wirefall-${spills.length}.tmp`), 1);
  spills.push(spill);
  return runTask({ ...t, mode: 'json', json: { spill, place: reportArrayPlace(pretty, batch) } }, {});
}

/** What the CLI writes for one file's outcome (main.ts): the report, or the facts of a failed file. */
function documentOf(o: FileOutcome): unknown {
  if (o.report) return o.report;
  if (o.spilled) return spilledDocument(o.spilled);
  if (o.capture) return { wirefall: VERSION, capture: o.capture, connections: [], requests: [], findings: [] };
  return null;
}

const text = (v: unknown, pretty: boolean): string => {
  let s = '';
  if (v !== null) writeJson(v, (p) => (s += p), { pretty });
  return s;
};

/** As the CLI writes it: the spilled arrays as bytes between the text (each piece copied at once, as the buffer is reused). */
const bytesText = (v: unknown, pretty: boolean): string => {
  const parts: Buffer[] = [];
  if (v !== null) writeJson(v, (p) => parts.push(Buffer.from(p)), { pretty, bytes: (b) => parts.push(Buffer.from(b)) });
  return Buffer.concat(parts).toString('utf8');
};

/** Both paths over one input: the same bytes, the same outcome; no spill file left. */
async function same(i: Input, pretty: boolean, detect?: DetectOptions): Promise<void> {
  const old = await viaReport(task(i, detect));
  const streamed = await viaSpill(task(i, detect), pretty, false);
  expect(streamed.report, 'analysed again the old way (the stream degraded)').toBeUndefined();
  const want = text(documentOf(old), pretty);
  expect(firstDifference(want, text(documentOf(streamed), pretty))).toBeNull();
  expect(firstDifference(want, bytesText(documentOf(streamed), pretty))).toBeNull();
  const facts = (o: FileOutcome) => [o.error, o.connections, o.requests, o.findings, Object.entries(o.findingKinds)];
  expect(facts(streamed)).toEqual(facts(old));
  if (streamed.spilled) removeSpill(streamed.spilled.path);
  expect(readdirSync(tmp).filter((f) => f.includes('.spill'))).toEqual([]);
}

const samples = inputsUnder(SAMPLES, 'samples');
const corpus = hasCorpus() ? inputsUnder(CORPUS, 'corpus') : [];

describe('--format json streamed is byte for byte the whole-report output', () => {
  it('covers every capture under samples/ (with their key logs) and the corpus', () => {
    expect(samples.length).toBeGreaterThan(100);
    expect(samples.some((i) => i.name.startsWith('samples/quic/') && i.keys)).toBe(true);
    expect(samples.some((i) => i.name.startsWith('samples/whatif/') && i.keys)).toBe(true);
    if (corpus.length) expect(corpus.length).toBeGreaterThan(60);
  });

  describe('compact, default and loose thresholds', () => {
    it.each([...samples, ...corpus].map((i) => [i.name, i] as const))('%s', async (_n, i) => {
      await same(i, false);
      await same(i, false, LOOSE);
    });
  });

  describe('--pretty (every third capture, and every one with keys)', () => {
    const subset = [...samples, ...corpus].filter((i, k) => k % 3 === 0 || i.keys);
    it.each(subset.map((i) => [i.name, i] as const))('%s', async (_n, i) => {
      await same(i, true);
    });
  });

  it('with `only` a kind: the findings of the other kinds are left out alike', async () => {
    for (const f of ['pipelining.pcap', 'idle-timeout.pcap', 'f-blind-relay-rtt.pcap']) {
      await same({ name: f, file: sample(f) }, false, { only: ['keepalive-policy', 'excess-parallel-connections'], thresholds: LOOSE.thresholds });
    }
  });

  it('inside a batch ({ reports: [...] }): the same bytes, compact and indented', async () => {
    const inputs: Input[] = ['keepalive-pool.pcap', 'h2-push.pcap', 'pipelining.pcap', 'tls/chromium-h2.pcap'].map((f) => ({ name: f, file: sample(f) }));
    inputs.push({ name: 'with keys', file: sample('tls/chromium-h2.pcap'), keys: sample('tls/chromium-h2.keys') });
    const junk = join(tmp, 'junk.pcap');
    writeFileSync(junk, 'not a capture');
    inputs.push({ name: 'junk', file: junk });
    for (const pretty of [false, true]) {
      const doc = (os: FileOutcome[]) => ({
        wirefall: VERSION,
        reports: os.filter((o) => !o.error).map(documentOf),
        failures: os.filter((o) => o.error).map((o) => ({ file: o.file, code: o.error!.code, message: o.error!.message })),
      });
      const old: FileOutcome[] = [];
      const streamed: FileOutcome[] = [];
      for (const i of inputs) {
        old.push(await viaReport(task(i)));
        streamed.push(await viaSpill(task(i), pretty, true));
      }
      expect(streamed.filter((o) => o.spilled)).toHaveLength(inputs.length - 1);
      expect(firstDifference(text(doc(old), pretty), text(doc(streamed), pretty))).toBeNull();
      for (const o of streamed) if (o.spilled) removeSpill(o.spilled.path);
    }
  });

  it('a capture that goes back in time (connections behind the watermark) is analysed again the old way, and gives its bytes', async () => {
    // The same traffic three times: 100 s later, 200 s later, then as captured. Past 65,536
    // packets the engine hands out the closed connections of the first copy and the watermark
    // passes them; then the capture goes back 200 s and connections open behind it.
    const src = join(tmp, 'large.pcap');
    writeLargeCapture(src, { connections: 20, requestsPerConnection: 600 });
    const b = readFileSync(src);
    const recs: Buffer[] = [];
    for (let o = 24; o + 16 <= b.length; o += 16 + b.readUInt32LE(o + 8)) recs.push(b.subarray(o, o + 16 + b.readUInt32LE(o + 8)));
    expect(recs.length).toBeGreaterThan(65_536 / 2);
    expect(recs.length).toBeLessThan(65_536);
    // Each copy from its own client address (127.0.0.N), its IP header checksum made again.
    const copy = (seconds: number, client: number) =>
      recs.map((r) => {
        const c = Buffer.from(r);
        c.writeUInt32LE(c.readUInt32LE(0) + seconds, 0);
        const ip = 16 + 14;
        for (const a of [ip + 12, ip + 16]) if (c[a] === 127 && c[a + 3] === 1) c[a + 3] = client;
        c.writeUInt16BE(0, ip + 10);
        let sum = 0;
        for (let k = 0; k < 20; k += 2) sum += c.readUInt16BE(ip + k);
        while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
        c.writeUInt16BE(~sum & 0xffff, ip + 10);
        return c;
      });
    const back = join(tmp, 'back-in-time.pcap');
    writeFileSync(back, Buffer.concat([b.subarray(0, 24), ...copy(100, 11), ...copy(200, 12), ...copy(0, 13)]));
    const i = { name: 'back in time', file: back };
    const old = await viaReport(task(i));
    const streamed = await viaSpill(task(i), false, false);
    expect(streamed.spilled).toBeUndefined();
    expect(streamed.report).toBeDefined();
    expect(firstDifference(text(documentOf(old), false), text(documentOf(streamed), false))).toBeNull();
    expect(readdirSync(tmp).filter((f) => f.includes('.spill'))).toEqual([]);
    rmSync(src);
  }, 60_000);

  it('connections completing out of id order come out in id order (the spill writer fed a real report shuffled)', async () => {
    const report = await analyzeFile(sample('browser-pageload.pcap.gz'), { findings: (r) => detectAll(r), whatIf: (r) => whatIf(r) });
    expect(report.connections.length).toBeGreaterThan(4);
    for (const [pretty, batch] of [[false, false], [true, false], [true, true]]) {
      const [path] = spillPaths(join(tmp, '.shuffled.tmp'), 1);
      const w = new JsonSpillWriter(path, reportArrayPlace(pretty, batch));
      for (const r of report.requests) w.request(r);
      // Reversed, then every other one: no two neighbours in id order.
      const conns = [...report.connections].reverse();
      for (const c of [...conns.filter((_, k) => k % 2 === 0), ...conns.filter((_, k) => k % 2 === 1)]) w.connection(c);
      const spilled = { ...w.finish(), capture: report.capture, findings: report.findings, findingGroups: groupFindings(report.findings), whatIf: report.whatIf };
      try {
        const doc = spilledDocument(spilled);
        const wrap = (r: unknown) => (batch ? { wirefall: VERSION, reports: [r] } : r);
        expect(firstDifference(text(wrap(report), pretty), text(wrap(doc), pretty))).toBeNull();
      } finally {
        removeSpill(path);
      }
    }
  });

  it('past the what-if limits: no whatIf, and capture.counters say how many records were not kept', async () => {
    const i = { name: 'pool', file: sample('keepalive-pool.pcap') };
    const old = documentOf(await viaReport(task(i))) as { whatIf?: unknown; capture: { counters: Record<string, number> } };
    expect(old.whatIf).toBeDefined();
    for (const [limits, counters] of [
      [{ requests: 4 }, { whatIfRequestsNotKept: 6 }],
      [{ connections: 0 }, { whatIfConnectionsNotKept: 1 }],
    ] as const) {
      const o = await runTask({ ...task(i), mode: 'json', whatIfLimits: limits, json: { spill: spillPaths(join(tmp, '.limits.tmp'), 1)[0], place: reportArrayPlace(false, false) } }, {});
      const doc = JSON.parse(text(documentOf(o), false));
      removeSpill(o.spilled!.path);
      expect(doc.whatIf).toBeUndefined();
      expect(doc.capture.counters).toEqual({ ...old.capture.counters, ...counters });
      // Everything else as it was.
      const rest = (d: Record<string, unknown>) => ({ ...d, whatIf: undefined, capture: { ...(d.capture as object), counters: undefined } });
      expect(rest(doc)).toEqual(rest(JSON.parse(text(old, false))));
    }
  });

  it('a spilled array written at another depth than it was made for is refused, not written wrongly', async () => {
    const o = await viaSpill(task({ name: 'k', file: sample('keepalive-pool.pcap') }), false, true);
    try {
      expect(() => text(spilledDocument(o.spilled!), false)).toThrow(/spilled array made for depth 3 was written at depth 1/);
    } finally {
      removeSpill(o.spilled!.path);
    }
  });
});

const BIN = join(ROOT, 'core', 'bin', 'wirefall.js');
const OLD = 'the previous report\n';

function fresh(name: string): string {
  const d = join(tmp, name);
  mkdirSync(d);
  writeFileSync(join(d, 'out'), OLD);
  return d;
}

const cli = (args: string[], env?: NodeJS.ProcessEnv) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 28, env: env ? { ...process.env, ...env } : undefined });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

/** Runs the CLI on a FIFO; `during` sees the directory once a spill file is there, then the capture is written. */
async function throughFifo(d: string, args: string[], capture: string, during: (spill: string) => 'finish' | 'interrupt', env?: NodeJS.ProcessEnv, spillDir = d) {
  const fifo = join(d, 'cap.fifo');
  if (spawnSync('mkfifo', [fifo]).status !== 0) throw new Error('mkfifo failed');
  const child = spawn(process.execPath, [BIN, ...args, fifo], { stdio: ['ignore', 'pipe', 'pipe'], env: env ? { ...process.env, ...env } : undefined });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  const ws = createWriteStream(fifo);
  ws.on('error', () => {});
  const t0 = Date.now();
  let spill: string | undefined;
  while (!(spill = readdirSync(spillDir).find((f) => f.endsWith('.spill')))) {
    if (Date.now() - t0 > 15_000) throw new Error(`no spill file in ${spillDir}: ${err}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const what = during(spill);
  if (what === 'finish') ws.end(readFileSync(capture));
  else {
    ws.write(readFileSync(capture)); // and never ends
    await new Promise((r) => setTimeout(r, 300));
    child.kill('SIGINT');
  }
  const code = await exited;
  ws.destroy();
  return { code, out, err, spill };
}

describe('the spill file', () => {
  it('lies beside -o FILE’s temporary file while the run lasts, and is gone after a success', async () => {
    const d = fresh('ok');
    const r = await throughFifo(d, ['analyze', '-f', 'json', '-o', join(d, 'out')], sample('keepalive-pool.pcap'), () => 'finish');
    expect(r.code).toBe(0);
    expect(r.spill).toMatch(/^\.out\.wirefall-\d+-0\.spill$/);
    expect(readdirSync(d).sort()).toEqual(['cap.fifo', 'out']);
    expect(JSON.parse(readFileSync(join(d, 'out'), 'utf8')).requests).toHaveLength(10);
  }, 30_000);

  it('is gone after SIGINT, -o FILE left as it was', async () => {
    const d = fresh('sigint');
    const r = await throughFifo(d, ['analyze', '-f', 'json', '--pretty', '-o', join(d, 'out')], sample('keepalive-pool.pcap'), () => 'interrupt');
    expect(r.code).toBe(EXIT.CANCELLED);
    expect(readFileSync(join(d, 'out'), 'utf8')).toBe(OLD);
    expect(readdirSync(d).sort()).toEqual(['cap.fifo', 'out']);
  }, 30_000);

  it('is gone after a failure (not a capture, a missing file, one bad file of a batch), -o FILE left as it was', () => {
    const d = fresh('fail');
    const junk = join(tmp, 'not-a-capture.pcap');
    writeFileSync(junk, 'not a capture at all');
    for (const [inputs, code] of [
      [[junk], EXIT.NOT_CAPTURE],
      [[join(tmp, 'missing.pcap')], EXIT.UNREADABLE],
      [[sample('keepalive-pool.pcap'), junk, sample('no-pool.pcap')], EXIT.NOT_CAPTURE],
    ] as const) {
      const r = cli(['analyze', '-f', 'json', '-j', '2', '-o', join(d, 'out'), ...inputs]);
      expect(r.code).toBe(code);
      expect(readFileSync(join(d, 'out'), 'utf8')).toBe(OLD);
      expect(readdirSync(d)).toEqual(['out']);
    }
  });

  it('without -o: in the temporary directory (TMPDIR) while the run lasts, gone after it', async () => {
    const d = join(tmp, 'stdout');
    const t = join(tmp, 'tmpdir');
    mkdirSync(d);
    mkdirSync(t);
    const env = { TMPDIR: t };
    const r = await throughFifo(d, ['analyze', '-f', 'json'], sample('keepalive-pool.pcap'), () => 'finish', env, t);
    expect(r.code).toBe(0);
    expect(r.spill).toMatch(/^wirefall-\d+-[0-9a-f]{8}-0\.spill$/);
    expect(JSON.parse(r.out).requests).toHaveLength(10);
    expect(readdirSync(t)).toEqual([]);
    // A batch (worker threads), one file failing.
    const b = cli(['analyze', '-f', 'json', '-j', '2', sample('keepalive-pool.pcap'), join(tmp, 'missing.pcap'), sample('h2-push.pcap')], env);
    expect(b.code).toBe(EXIT.UNREADABLE);
    expect(JSON.parse(b.out).reports).toHaveLength(2);
    expect(readdirSync(t)).toEqual([]);
  }, 30_000);

  it('a batch through the CLI (worker threads) writes what the whole reports gave, byte for byte', async () => {
    const files = [sample('no-pool.pcap'), sample('keepalive-pool.pcap'), sample('h2-push.pcap'), sample('idle-timeout.pcap')];
    for (const pretty of [false, true]) {
      const r = cli(['analyze', '-f', 'json', '-j', '2', ...(pretty ? ['--pretty'] : []), ...files]);
      expect(r.code).toBe(0);
      const old: FileOutcome[] = [];
      for (const file of files) old.push(await viaReport({ file, mode: 'report' }));
      const kinds: Record<string, number> = {};
      for (const o of old) for (const [k, n] of Object.entries(o.findingKinds)) kinds[k] = (kinds[k] ?? 0) + n;
      const sum = (k: 'connections' | 'requests') => old.reduce((a, o) => a + o[k], 0);
      const want = { wirefall: VERSION, reports: old.map((o) => o.report), failures: [], summary: { files: files.length, connections: sum('connections'), requests: sum('requests'), findings: kinds, failures: 0 } };
      expect(firstDifference(text(want, pretty), r.out)).toBeNull();
    }
  }, 30_000);
});
