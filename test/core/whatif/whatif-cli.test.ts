/**
 * The what-if estimate as `wirefall analyze` writes it (the built CLI, core/bin/wirefall.js):
 * `whatIf` in --format json (valid against report.schema.json), a `whatIf` record per file in
 * --format ndjson (before the file's `capture` record, equal to the JSON's), and
 * --whatif-keepalive-timeout SECONDS reaching the keepalive-timeout estimate in both, on one
 * thread and on worker threads.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { EXIT, HELP } from '../../../core/src/cli/main.js';
import { ROOT, sample } from '../../helpers/env.js';
import { keys, pcap } from '../diff/pairs.js';

const BIN = join(ROOT, 'core', 'bin', 'wirefall.js');
const run = (args: string[]) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const addFormats = addFormatsModule as unknown as (a: Ajv) => Ajv;
const validate = addFormats(new Ajv({ allErrors: true, strict: false })).compile(JSON.parse(readFileSync(join(ROOT, 'core', 'schema', 'report.schema.json'), 'utf8')));

const BEFORE = [pcap('idle-timeout-1s'), '--keylog', keys('idle-timeout-1s')];
const lines = (out: string) => out.trimEnd().split('\n').map((l) => JSON.parse(l));

describe('analyze: the what-if estimate in every output', () => {
  it('--help documents --whatif-keepalive-timeout, its default, and the ndjson whatIf record', () => {
    expect(HELP).toMatch(/--whatif-keepalive-timeout SECONDS/);
    expect(HELP).toMatch(/default 10/);
    expect(HELP).toMatch(/"whatIf"/);
  });

  it('--format json: whatIf.keepaliveTimeout at the default 10 s, valid against the schema', () => {
    const r = run(['analyze', ...BEFORE, '-f', 'json']);
    expect(r.code).toBe(EXIT.OK);
    const report = JSON.parse(r.out);
    expect(validate(report) ? [] : validate.errors!.slice(0, 5)).toEqual([]);
    expect(report.whatIf.keepaliveTimeout).toMatchObject({ policy: 'keepalive-timeout', keepaliveTimeoutS: 10, connections: 5, estimatedConnections: 1, sufficientTimeoutS: 2 });
  });

  it.each([
    ['1', 5],
    ['2', 1],
    ['1.6', 1],
  ])('--whatif-keepalive-timeout %s: %i connections estimated', (n, conns) => {
    const report = JSON.parse(run(['analyze', ...BEFORE, '-f', 'json', '--whatif-keepalive-timeout', n]).out);
    expect(report.whatIf.keepaliveTimeout).toMatchObject({ keepaliveTimeoutS: Number(n), estimatedConnections: conns });
    // The other policies do not read it.
    expect(report.whatIf.reuse.estimatedConnections).toBe(1);
  });

  it.each(['0', '-1', 'ten', 'Infinity'])('--whatif-keepalive-timeout %s is a usage error', (n) => {
    const r = run(['analyze', ...BEFORE, `--whatif-keepalive-timeout=${n}`]);
    expect(r.code).toBe(EXIT.USAGE);
    expect(r.err).toMatch(/--whatif-keepalive-timeout must be a positive number of seconds/);
  });

  it('--format ndjson: one whatIf record per file, before its capture record, equal to the JSON report’s whatIf', () => {
    const json = JSON.parse(run(['analyze', ...BEFORE, '-f', 'json']).out);
    const r = run(['analyze', ...BEFORE, '-f', 'ndjson']);
    expect(r.code).toBe(EXIT.OK);
    const recs = lines(r.out);
    const types = recs.map((x) => x.type);
    expect(types.filter((t) => t === 'whatIf')).toHaveLength(1);
    expect(types.slice(-3)).toEqual(['whatIf', 'capture', 'summary']);
    const { type: _t, file, ...w } = recs.find((x) => x.type === 'whatIf');
    expect(file).toBe(pcap('idle-timeout-1s'));
    expect(w).toEqual(json.whatIf);
  });

  it('--format ndjson with several files on worker threads (-j 2): each file its whatIf, the option passed on', () => {
    const files = [sample('f-no-pool-rtt.pcap'), sample('idle-timeout.pcap')];
    const r = run(['analyze', ...files, '-f', 'ndjson', '-j', '2', '--whatif-keepalive-timeout', '60']);
    expect(r.code).toBe(EXIT.OK);
    const recs = lines(r.out);
    for (const f of files) {
      const mine = recs.filter((x) => x.file === f).map((x) => x.type);
      expect(mine.slice(-2)).toEqual(['whatIf', 'capture']);
      const w = recs.find((x) => x.file === f && x.type === 'whatIf');
      expect(w.keepaliveTimeout.keepaliveTimeoutS).toBe(60);
      const json = JSON.parse(run(['analyze', f, '-f', 'json', '--whatif-keepalive-timeout', '60']).out);
      const { type: _t, file: _f, ...rest } = w;
      expect(rest).toEqual(json.whatIf);
    }
    expect(recs.find((x) => x.file === files[0] && x.type === 'whatIf').reuse).toMatchObject({ connections: 10, estimatedConnections: 1 });
    expect(recs.find((x) => x.file === files[1] && x.type === 'whatIf').keepaliveTimeout).toMatchObject({ connections: 2, estimatedConnections: 1, serverIdleCloses: 1 });
  });

  it('the table has the keepalive-timeout line', () => {
    const r = run(['analyze', ...BEFORE]);
    expect(r.out).toMatch(/^ {2}with the server’s idle timeout raised to 10 s: .*5 → 1 connections.*4 of 4 idle closes by the server avoided, 2 s would do/m);
  });

  describe('--no-whatif', () => {
    const strip = (report: Record<string, unknown>) => {
      const { whatIf: _w, ...rest } = report;
      return rest;
    };

    it('json (streamed, and the report path of a table run): no whatIf, everything else as without the option', () => {
      for (const args of [[...BEFORE], [sample('f-no-pool-rtt.pcap')], [sample('h2-two-connections.pcap')]]) {
        const want = JSON.parse(run(['analyze', ...args, '-f', 'json']).out);
        const r = run(['analyze', ...args, '-f', 'json', '--no-whatif']);
        expect(r.code).toBe(EXIT.OK);
        const got = JSON.parse(r.out);
        expect(got.whatIf).toBeUndefined();
        expect(validate(got) ? [] : validate.errors!.slice(0, 5)).toEqual([]);
        expect(got).toEqual(strip(want));
      }
      // The table: its lines are the default table's, in order, less the what-if block.
      const table = run(['analyze', ...BEFORE, '--no-whatif']).out.split('\n');
      const full = run(['analyze', ...BEFORE]).out.split('\n');
      expect(table.join('\n')).not.toMatch(/idle timeout raised to/);
      let at = 0;
      for (const l of table) {
        at = full.indexOf(l, at);
        expect(at, l).toBeGreaterThanOrEqual(0);
        at++;
      }
      expect(full.length).toBeGreaterThan(table.length);
    });

    it('ndjson: the whatIf record says it was skipped; the other records are the same', () => {
      const want = lines(run(['analyze', ...BEFORE, '-f', 'ndjson']).out);
      const got = lines(run(['analyze', ...BEFORE, '-f', 'ndjson', '--no-whatif']).out);
      expect(got.find((x) => x.type === 'whatIf')).toEqual({ type: 'whatIf', file: pcap('idle-timeout-1s'), skipped: 'not asked for (--no-whatif)' });
      expect(got.filter((x) => x.type !== 'whatIf')).toEqual(want.filter((x) => x.type !== 'whatIf'));
    });

    it('with --whatif-keepalive-timeout is a usage error; --help documents it', () => {
      const r = run(['analyze', ...BEFORE, '--no-whatif', '--whatif-keepalive-timeout', '5']);
      expect(r.code).toBe(EXIT.USAGE);
      expect(r.err).toMatch(/--no-whatif and --whatif-keepalive-timeout/);
      expect(HELP).toMatch(/--no-whatif/);
    });
  });
});
