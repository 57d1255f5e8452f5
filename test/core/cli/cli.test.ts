/**
 * The `wirefall` command as users run it (the built CLI, through core/bin/wirefall.js): output
 * formats validated against the published JSON Schema, batch behaviour, exit codes per error class.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, copyFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { HELP, EXIT } from '../../../core/src/cli/main.js';
import { VERSION } from '../../../core/src/version.js';
import { listCaptures, ROOT, sample, SAMPLES } from '../../helpers/env.js';

const BIN = join(ROOT, 'core', 'bin', 'wirefall.js');
const run = (args: string[], opts: { input?: string } = {}) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', input: opts.input, maxBuffer: 1 << 28 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

const addFormats = addFormatsModule as unknown as (a: Ajv) => Ajv;
const schema = JSON.parse(readFileSync(join(ROOT, 'core', 'schema', 'report.schema.json'), 'utf8'));
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const validate = ajv.compile(schema);
const tmp = mkdtempSync(join(tmpdir(), 'wirefall-cli-'));

describe('wirefall CLI', () => {
  it('is built (npm test builds it first)', () => {
    expect(existsSync(join(ROOT, 'core', 'dist', 'cli', 'main.js'))).toBe(true);
  });

  it('--version and the package agree', () => {
    expect(run(['--version']).out.trim()).toBe(VERSION);
    expect(JSON.parse(readFileSync(join(ROOT, 'core', 'package.json'), 'utf8')).version).toBe(VERSION);
  });

  it('--help documents every exit code the CLI uses', () => {
    const r = run(['--help']);
    expect(r.code).toBe(0);
    for (const code of Object.values(EXIT)) expect(r.out).toMatch(new RegExp(`^  ${code}\\s`, 'm'));
    expect(r.out).toBe(HELP);
  });

  for (const file of listCaptures(SAMPLES)) {
    it(`analyze --format json on ${file.split('/').pop()} validates against the schema`, () => {
      const r = run(['analyze', '--format', 'json', file]);
      expect(r.err).toBe('');
      expect(r.code).toBe(0);
      const report = JSON.parse(r.out);
      const ok = validate(report);
      expect(ok ? [] : validate.errors!.slice(0, 5)).toEqual([]);
      // requestCount per connection equals the requests that name it.
      for (const c of report.connections) {
        expect(report.requests.filter((q: { connectionId: number }) => q.connectionId === c.id).length).toBe(c.requestCount);
      }
    });
  }

  it('batch over a directory: one bad file is reported and skipped, NDJSON records name their file', () => {
    const d = join(tmp, 'batch');
    mkdirSync(join(d, 'sub'), { recursive: true });
    copyFileSync(sample('keepalive-pool.pcap'), join(d, 'a.pcap'));
    copyFileSync(sample('no-pool.pcap'), join(d, 'sub', 'b.pcap'));
    writeFileSync(join(d, 'sub', 'bad.pcap'), 'not a capture at all');
    const r = run(['analyze', '--format', 'ndjson', '--jobs', '2', d]);
    expect(r.code).toBe(EXIT.NOT_CAPTURE);
    const recs = r.out.trim().split('\n').map((l) => JSON.parse(l));
    const byType = (t: string) => recs.filter((x) => x.type === t);
    expect(byType('request').filter((x) => x.file.endsWith('a.pcap'))).toHaveLength(10);
    expect(byType('request').filter((x) => x.file.endsWith('b.pcap'))).toHaveLength(10);
    expect(byType('connection').filter((x) => x.file.endsWith('b.pcap'))).toHaveLength(10);
    expect(byType('error')).toEqual([expect.objectContaining({ code: 'WF_NOT_CAPTURE', file: join(d, 'sub', 'bad.pcap') })]);
    expect(byType('summary')).toEqual([expect.objectContaining({ files: 3, connections: 11, requests: 20, failures: 1 })]);
    expect(r.err).toMatch(/3 files, 11 connections, 20 requests, 1 failed/);
  });

  it('parallel and sequential batches give the same reports, in input order', () => {
    const files = [sample('no-pool.pcap'), sample('keepalive-pool.pcap'), sample('idle-timeout.pcap')];
    const a = JSON.parse(run(['analyze', '--format', 'json', '--jobs', '1', ...files]).out);
    const b = JSON.parse(run(['analyze', '--format', 'json', '--jobs', '3', ...files]).out);
    expect(validate(a)).toBe(true);
    expect(b).toEqual(a);
    expect(a.reports.map((x: { capture: { file: string } }) => x.capture.file)).toEqual(files);
  });

  it('globs are expanded', () => {
    const r = run(['analyze', '--format', 'ndjson', join(SAMPLES, 'keepalive-*.pcap*')]);
    const files = new Set(r.out.trim().split('\n').map((l) => JSON.parse(l).file));
    files.delete(undefined);
    expect([...files].sort()).toEqual([sample('keepalive-pool.pcap'), sample('keepalive-timeout-max.pcapng')]);
  });

  it('--output writes the file instead of stdout', () => {
    const out = join(tmp, 'o.json');
    const r = run(['analyze', '-f', 'json', '-o', out, sample('keepalive-pool.pcap')]);
    expect(r.out).toBe('');
    expect(JSON.parse(readFileSync(out, 'utf8')).requests).toHaveLength(10);
  });

  it('an output that cannot be created is exit 73 with the reason, before any analysis', () => {
    const r = run(['analyze', '-f', 'json', '-o', join(tmp, 'no-such-dir', 'o.json'), sample('keepalive-pool.pcap')]);
    expect(r.code).toBe(EXIT.OUTPUT);
    expect(r.err).toMatch(/^wirefall: cannot write .*no-such-dir.*: ENOENT\n$/);
    expect(r.out).toBe('');
  });

  it('-o naming one of the inputs is refused and the capture is left as it was', () => {
    const cap = join(tmp, 'victim.pcap');
    copyFileSync(sample('keepalive-pool.pcap'), cap);
    const before = readFileSync(cap);
    for (const args of [['analyze', '-f', 'json', '-o', cap, sample('pipelining.pcap'), cap], ['har', cap, '-o', cap]]) {
      const r = run(args);
      expect(r.code).toBe(EXIT.USAGE);
      expect(r.err).toContain('is one of the input captures');
      expect(readFileSync(cap).equals(before)).toBe(true);
    }
  });

  it('--format ndjson streams the same findings as --format json on every sample, and --fail-on sees them', () => {
    // ndjson writes each finding as soon as it is final (detect/stream.ts), json sorts them by
    // start time: the same findings, compared in one order.
    const inOrder = (fs: object[]) => fs.map((f) => JSON.stringify(f)).sort();
    // One batch call per format over the whole samples directory (the worker pool in both).
    const files = listCaptures(SAMPLES);
    const batch = JSON.parse(run(['analyze', '-f', 'json', ...files]).out) as { reports: { capture: { path: string }; findings: { kind: string }[] }[]; summary: { findings: Record<string, number> } };
    const recs = run(['analyze', '-f', 'ndjson', ...files]).out.trim().split('\n').map((l) => JSON.parse(l));
    expect(batch.reports).toHaveLength(files.length);
    let withFindings = 0;
    for (const [i, f] of files.entries()) {
      const json = batch.reports[i];
      const findings = recs.filter((r) => r.type === 'finding' && r.file === f).map(({ type: _t, file: _f, ...rest }) => rest);
      expect(inOrder(findings), f).toEqual(inOrder(json.findings));
      if (json.findings.length) withFindings++;
    }
    expect(withFindings).toBeGreaterThan(5);
    const summary = recs.at(-1);
    expect(summary.type).toBe('summary');
    expect(summary.findings).toEqual(batch.summary.findings);
    const r = run(['analyze', '-f', 'ndjson', '--fail-on', 'missed-reuse', sample('no-pool.pcap')]);
    expect(r.code).toBe(EXIT.FINDINGS);
    expect(r.err).toMatch(/1 missed-reuse finding/);
  });

  it('--format ndjson writes a finding as soon as it is final: a per-connection one before later records', () => {
    // pipelining.pcap: the hol-stall findings of connection 0 come with it, before the capture record.
    const recs = run(['analyze', '-f', 'ndjson', sample('pipelining.pcap')]).out.trim().split('\n').map((l) => JSON.parse(l));
    const types = recs.map((r) => r.type);
    expect(types.indexOf('finding')).toBeGreaterThan(types.indexOf('connection'));
    expect(types.indexOf('finding')).toBeLessThan(types.indexOf('capture'));
    expect(recs.find((r) => r.type === 'capture').counters).not.toHaveProperty('ndjsonFindingsSkipped');
  });

  it('--pcap-reader builtin reports exactly what pcap-parser does, also on a truncated file', () => {
    const buf = readFileSync(sample('pipelining.pcap'));
    const cut = join(tmp, 'cut-reader.pcap');
    writeFileSync(cut, buf.subarray(0, buf.length - 7));
    for (const f of [sample('no-pool.pcap'), sample('h2load.pcap'), cut]) {
      const a = run(['analyze', '-f', 'json', f]);
      const b = run(['analyze', '-f', 'json', '--pcap-reader', 'builtin', f]);
      expect(b.code).toBe(a.code);
      expect(b.out).toBe(a.out);
      expect(JSON.parse(a.out).connections.length).toBeGreaterThan(0);
    }
  });

  it.each([
    ['usage: unknown pcap reader', ['analyze', '--pcap-reader', 'libpcap', sample('keepalive-pool.pcap')], EXIT.USAGE, /unknown --pcap-reader libpcap/],
    ['usage: no command', [], EXIT.USAGE, /Usage:/],
    ['usage: unknown format', ['analyze', '-f', 'xml', sample('keepalive-pool.pcap')], EXIT.USAGE, /unknown --format xml/],
    ['usage: unknown option', ['analyze', '--bogus', sample('keepalive-pool.pcap')], EXIT.USAGE, /bogus/],
    ['missing file', ['analyze', join(tmp, 'missing.pcap')], EXIT.UNREADABLE, /cannot open .*missing.pcap: ENOENT/],
  ])('%s → exit %i', (_n, args, code, msg) => {
    const r = run(args as string[]);
    expect(r.code).toBe(code);
    expect(r.err + r.out).toMatch(msg as RegExp);
  });

  it('not a capture → exit 65 with one clear line', () => {
    const f = join(tmp, 'x.pcap');
    writeFileSync(f, 'hello');
    const r = run(['analyze', f]);
    expect(r.code).toBe(EXIT.NOT_CAPTURE);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/not a pcap or pcapng capture/);
  });

  it('truncated capture → exit 3, and what came before is still reported', () => {
    const buf = readFileSync(sample('keepalive-pool.pcap'));
    const f = join(tmp, 'cut.pcap');
    writeFileSync(f, buf.subarray(0, buf.length - 10));
    const r = run(['analyze', '-f', 'json', f]);
    expect(r.code).toBe(EXIT.TRUNCATED);
    expect(r.err).toMatch(/file ends inside a packet record/);
    const rep = JSON.parse(r.out);
    expect(validate(rep)).toBe(true);
    expect(rep.capture.error.code).toBe('WF_TRUNCATED');
    expect(rep.connections).toHaveLength(1);
  });

  it('unsupported link type → exit 4', () => {
    const buf = Buffer.from(readFileSync(sample('keepalive-pool.pcap')));
    buf.writeUInt32LE(189, 20); // LINKTYPE_USB_LINUX
    const f = join(tmp, 'usb.pcap');
    writeFileSync(f, buf);
    const r = run(['analyze', f]);
    expect(r.code).toBe(EXIT.LINKTYPE);
    expect(r.err).toMatch(/unsupported link type LINKTYPE_189/);
  });

  it('a batch exits with the worst outcome', () => {
    const f = join(tmp, 'cut2.pcap');
    const buf = readFileSync(sample('keepalive-pool.pcap'));
    writeFileSync(f, buf.subarray(0, buf.length - 10));
    expect(run(['analyze', '-f', 'ndjson', sample('no-pool.pcap'), f]).code).toBe(EXIT.TRUNCATED);
    expect(run(['analyze', '-f', 'ndjson', f, join(tmp, 'nope.pcap')]).code).toBe(EXIT.UNREADABLE);
  });

  it('the table format shows one row per connection with its exchanges beneath', () => {
    const r = run(['analyze', sample('server-connection-close.pcap')]);
    expect(r.code).toBe(0);
    const rows = r.out.split('\n').filter((l) => /^  \d+ /.test(l));
    expect(rows).toHaveLength(5);
    expect(r.out.match(/^    #1 /gm)).toHaveLength(5);
    expect(r.out).toMatch(/server FIN/);
  });
});

describe('wirefall har', () => {
  const harSchema = JSON.parse(readFileSync(join(ROOT, 'test', 'core', 'model', 'har-1.2.schema.json'), 'utf8'));
  const validateHar = addFormats(new Ajv({ allErrors: true, strict: false })).compile(harSchema);
  for (const name of ['browser-pageload.pcap.gz', 'pipelining.pcap', 'h2c-prior-knowledge.pcap']) {
    it(`${name}: valid HAR 1.2 whose entries per _connectionId equal requestCount`, () => {
      const out = join(tmp, `${name}.har`);
      const r = run(['har', sample(name), '-o', out]);
      expect(r.code).toBe(0);
      const har = JSON.parse(readFileSync(out, 'utf8'));
      expect(validateHar(har) ? [] : validateHar.errors!.slice(0, 5)).toEqual([]);
      const report = JSON.parse(run(['analyze', '-f', 'json', sample(name)]).out);
      for (const c of report.connections) {
        const n = har.log.entries.filter((e: { _connectionId: number }) => e._connectionId === c.id).length;
        expect(n, `connection ${c.id}`).toBe(c.requestCount);
      }
      expect(har.log.entries.length).toBe(report.requests.length);
    });
  }
});
