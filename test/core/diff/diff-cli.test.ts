/**
 * `wirefall diff` as users run it (the built CLI, through core/bin/wirefall.js): the table, the
 * JSON validated against core/schema/diff.schema.json, -o FILE, --fail-on-regression exit codes
 * (a swapped pair is a regression), and input errors exiting as `analyze` does on the same input.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { EXIT, HELP } from '../../../core/src/cli/main.js';
import { REGRESSION_KINDS } from '../../../core/src/diff/diff.js';
import { ROOT } from '../../helpers/env.js';
import { keys, PAIRS, pcap } from './pairs.js';

const BIN = join(ROOT, 'core', 'bin', 'wirefall.js');
const run = (args: string[]) => {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const addFormats = addFormatsModule as unknown as (a: Ajv) => Ajv;
const validate = addFormats(new Ajv({ allErrors: true, strict: false })).compile(JSON.parse(readFileSync(join(ROOT, 'core', 'schema', 'diff.schema.json'), 'utf8')));
const tmp = mkdtempSync(join(tmpdir(), 'wirefall-diff-'));

const p = PAIRS[0];
const withKeys = ['--keylog', keys(p.before), '--keylog', keys(p.after)];
const forward = [pcap(p.before), pcap(p.after), ...withKeys];
const swapped = [pcap(p.after), pcap(p.before), ...withKeys];

describe('wirefall diff', () => {
  it('is built (npm test builds it first)', () => {
    expect(existsSync(join(ROOT, 'core', 'dist', 'cli', 'diff.js'))).toBe(true);
  });

  it('--help documents diff and every regression kind', () => {
    expect(HELP).toMatch(/wirefall diff <before> <after>/);
    for (const k of REGRESSION_KINDS) expect(HELP).toContain(k);
  });

  it(`table: the origin's connections ${p.n} → 1, requests per connection 1 → ${p.n}, the resolved missed reuse`, () => {
    const r = run(['diff', ...forward]);
    expect(r.err).toBe('');
    expect(r.code).toBe(EXIT.OK);
    expect(r.out).toMatch(new RegExp(`^${p.origin.replace(/\./g, '\\.')}$`, 'm'));
    expect(r.out).toMatch(new RegExp(`^  connections\\s+${p.n}\\s+1\\s+−${p.n - 1}$`, 'm'));
    expect(r.out).toMatch(new RegExp(`^  requests per connection\\s+1\\s+${p.n}\\s+\\+${p.n - 1}$`, 'm'));
    expect(r.out).toMatch(/^ {2}end-to-end\s+\d\.\d\d s\s+\d\.\d\d s\s+−\d\.\d\d s \(−\d+\.\d%\)$/m);
    expect(r.out).toMatch(new RegExp(`^ {2}resolved {3}\\[warning\\] missed-reuse/${p.missedReuse.join(',')} \\(${p.origin.replace(/\./g, '\\.')}\\)`, 'm'));
    expect(r.out).toMatch(/what-if with connection reuse estimated/);
    expect(r.out).toMatch(/^Regressions \(--fail-on-regression\): none$/m);
  });

  it('--format json: compact, one line, valid against diff.schema.json; --pretty is the same value indented', () => {
    const r = run(['diff', ...forward, '--format', 'json']);
    expect(r.code).toBe(EXIT.OK);
    expect(r.out.trimEnd().split('\n')).toHaveLength(1);
    const d = JSON.parse(r.out);
    expect(validate(d) ? [] : validate.errors!.slice(0, 5)).toEqual([]);
    expect(d.before.file).toBe(pcap(p.before));
    expect(d.origins[0]).toMatchObject({ origin: p.origin, before: { connections: p.n }, after: { connections: 1 } });
    const pretty = run(['diff', ...forward, '--format', 'json', '--pretty']);
    expect(pretty.out).toMatch(/^ {2}"before": \{$/m);
    expect(JSON.parse(pretty.out)).toEqual(d);
    // The swapped diff (regressions, new findings) validates too.
    const s = JSON.parse(run(['diff', ...swapped, '-f', 'json']).out);
    expect(validate(s) ? [] : validate.errors!.slice(0, 5)).toEqual([]);
    expect(s.regressions.length).toBeGreaterThan(0);
  });

  it('the idle-timeout pair: the prediction is the keepalive-timeout estimate (BEFORE\'s missed reuse is by idle timeout), in the table and the JSON', () => {
    const q = PAIRS.find((x) => x.policy === 'keepalive-timeout')!;
    const args = [pcap(q.before), pcap(q.after), '--keylog', keys(q.before), '--keylog', keys(q.after)];
    const t = run(['diff', ...args]);
    expect(t.code).toBe(EXIT.OK);
    expect(t.out).toMatch(/^BEFORE's what-if with the server's idle timeout raised to 10 s estimated 6\.3\d s and 5 → 1 connections; AFTER measured 6\.3\d s and 1 \(estimate [+−]\d\.\d%\)$/m);
    const d = JSON.parse(run(['diff', ...args, '-f', 'json']).out);
    expect(validate(d) ? [] : validate.errors!.slice(0, 5)).toEqual([]);
    expect(d.prediction).toMatchObject({ policy: 'keepalive-timeout', keepaliveTimeoutS: 10, beforeConnections: 5, estimatedConnections: 1, afterConnections: 1 });
    expect(Math.abs(d.prediction.errorPct)).toBeLessThan(15);
  });

  it('-o FILE: written through a temporary file, nothing left beside it', () => {
    const out = join(tmp, 'diff.json');
    writeFileSync(out, 'old');
    const r = run(['diff', ...forward, '-f', 'json', '-o', out]);
    expect(r.code).toBe(EXIT.OK);
    expect(r.out).toBe('');
    expect(JSON.parse(readFileSync(out, 'utf8')).after.connections).toBe(1);
    expect(readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(run(['diff', ...forward, '-o', pcap(p.after)]).code).toBe(EXIT.USAGE);
  });

  it.each([
    ['connections-per-request'],
    ['new-findings'],
    ['handshake-time'],
    ['duration'],
    ['any'],
    ['new-findings,handshake-time'],
  ])('--fail-on-regression %s: 0 for the fix, 1 when AFTER is the one without reuse', (kinds) => {
    expect(run(['diff', ...forward, '--fail-on-regression', kinds]).code).toBe(EXIT.OK);
    const r = run(['diff', ...swapped, '--fail-on-regression', kinds, '-f', 'json']);
    expect(r.code).toBe(EXIT.FINDINGS);
    const first = kinds === 'any' ? 'connections-per-request' : kinds.split(',')[0];
    expect(r.err).toMatch(new RegExp(`^wirefall: regression \\(${first}\\): `, 'm'));
    // The output is still written.
    expect(JSON.parse(r.out).regressions.length).toBeGreaterThan(0);
  });

  it('a regression of a kind not asked for does not fail the run', () => {
    // Without keys no requests are visible: only handshakes (and duration) can regress.
    const r = run(['diff', pcap(p.after), pcap(p.before), '--fail-on-regression', 'connections-per-request']);
    expect(r.code).toBe(EXIT.OK);
    expect(run(['diff', pcap(p.after), pcap(p.before), '--fail-on-regression', 'handshake-time']).code).toBe(EXIT.FINDINGS);
  });

  it('usage errors exit 64', () => {
    expect(run(['diff', pcap(p.before)]).code).toBe(EXIT.USAGE);
    expect(run(['diff', pcap(p.before), pcap(p.after), pcap(p.after)]).code).toBe(EXIT.USAGE);
    expect(run(['diff', ...forward, '--fail-on-regression', 'slower']).code).toBe(EXIT.USAGE);
    expect(run(['diff', ...forward, '--fail-on-regression', '']).code).toBe(EXIT.USAGE);
    expect(run(['diff', ...forward, '--format', 'ndjson']).code).toBe(EXIT.USAGE);
    expect(run(['diff', '-', '-']).code).toBe(EXIT.USAGE);
  });

  it.each([
    ['a missing file', join(tmp, 'missing.pcap'), EXIT.UNREADABLE],
    ['a key log (not a capture)', keys(p.before), EXIT.NOT_CAPTURE],
  ])('%s as BEFORE or AFTER exits as analyze does on it', (_what, bad, code) => {
    expect(run(['analyze', bad]).code).toBe(code);
    for (const args of [
      [bad, pcap(p.after)],
      [pcap(p.before), bad],
    ]) {
      const r = run(['diff', ...args]);
      expect(r.code).toBe(code);
      expect(r.out).toBe('');
      expect(r.err).toContain(bad);
    }
  });
});
