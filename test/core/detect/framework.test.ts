/**
 * The detector framework: every detector module documents its heuristic and blind spots, thresholds
 * have one namespace with sane defaults, `only` filters, and the CLI's --threshold reaches them.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { checkThresholds, DETECTOR_DEFS, detectAll, THRESHOLDS } from '../../../core/src/detect/index.js';
import { ROOT, sample } from '../../helpers/env.js';
import { analyze } from './helpers.js';

const MINE = ['missed-reuse', 'blind-relay-hang', 'hol-stall', 'keepalive-policy'];
const FILES: Record<string, string> = { 'missed-reuse': 'missed-reuse.ts', 'blind-relay-hang': 'blind-relay.ts', 'hol-stall': 'hol-stall.ts', 'keepalive-policy': 'keepalive-policy.ts' };

describe('detector framework', () => {
  it.each(MINE)('%s is registered and its module documents the signature and where it can be wrong', (name) => {
    expect(DETECTOR_DEFS.some((d) => d.name === name)).toBe(true);
    const src = readFileSync(join(ROOT, 'core', 'src', 'detect', FILES[name]), 'utf8');
    const doc = src.slice(0, src.indexOf('*/'));
    expect(doc).toMatch(/Signature|Definition|rule/i);
    expect(doc).toContain('Where it can be wrong');
  });

  it('every threshold has a positive default, a unit and a description; names are unique across detectors', () => {
    const seen = new Map<string, number>();
    for (const d of DETECTOR_DEFS) {
      for (const [name, t] of Object.entries(d.thresholds)) {
        expect(t.default, name).toBeGreaterThan(0);
        expect(['ms', 'count', 'ratio']).toContain(t.unit);
        expect(t.description.length).toBeGreaterThan(10);
        if (seen.has(name)) expect(seen.get(name), `${name} shared with a different default`).toBe(t.default);
        seen.set(name, t.default);
      }
    }
    expect(Object.keys(THRESHOLDS).sort()).toEqual([...seen.keys()].sort());
  });

  it('checkThresholds refuses unknown names', () => {
    expect(() => checkThresholds({ parallelBudget: 8, holStallMs: 50 })).not.toThrow();
    expect(() => checkThresholds({ holStalMs: 50 })).toThrow(/unknown threshold 'holStalMs'/);
  });

  it('only: by detector name or by finding kind', async () => {
    const r = await analyze(sample('idle-timeout.pcap'));
    expect(detectAll(r, { only: ['missed-reuse'] }).map((f) => f.kind)).toEqual(['missed-reuse']);
    expect(detectAll(r, { only: ['keepalive-policy'] }).map((f) => f.kind)).toEqual(['keepalive-policy']);
    expect(detectAll(r, { only: ['excess-parallel-connections'] })).toEqual([]);
  });

  it('findings come sorted by start time', async () => {
    const r = await analyze(sample('keepalive-timeout-max.pcapng'));
    const starts = r.findings.map((f) => f.timeRange[0]);
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
  });
});

describe('wirefall analyze --threshold', () => {
  const BIN = join(ROOT, 'core', 'bin', 'wirefall.js');
  const run = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });
  const built = existsSync(join(ROOT, 'core', 'dist', 'detect', 'missed-reuse.js'));

  it.skipIf(!built)('feeds detector thresholds (repeatable), in one process and in the worker pool', () => {
    const kinds = (out: string) => (JSON.parse(out).reports ?? [JSON.parse(out)]).flatMap((r: { findings: { kind: string }[] }) => r.findings.map((f) => f.kind));
    expect(kinds(run(['analyze', sample('pipelining.pcap'), '-f', 'json']).stdout)).toEqual(['hol-stall', 'hol-stall']);
    const quiet = ['--threshold', 'holStallMs=600', '--threshold', 'holStallFraction=2'];
    expect(kinds(run(['analyze', sample('pipelining.pcap'), '-f', 'json', ...quiet]).stdout)).toEqual([]);
    const two = run(['analyze', sample('pipelining.pcap'), sample('f-parallel8-rtt.pcap'), '-f', 'json', '-j', '2', ...quiet, '--threshold', 'parallelBudget=8']);
    expect(kinds(two.stdout)).toEqual([]);
  });

  it.skipIf(!built)('rejects unknown names and non-numbers as usage errors (exit 64)', () => {
    const a = run(['analyze', sample('pipelining.pcap'), '--threshold', 'nope=1']);
    expect(a.status).toBe(64);
    expect(a.stderr).toContain("unknown threshold 'nope'");
    const b = run(['analyze', sample('pipelining.pcap'), '--threshold', 'holStallMs=fast']);
    expect(b.status).toBe(64);
    expect(b.stderr).toContain('NAME=NUMBER');
  });

  it.skipIf(!built)('the table shows the no-pool finding under connection 0 with its advice', () => {
    const out = run(['analyze', sample('no-pool.pcap')]).stdout;
    expect(out).toContain('[warning] missed-reuse/client-no-pool: 9 of 10 connections');
    expect(out).toContain('advice: Reuse connections');
    expect(out).toContain('Findings: 1 missed-reuse');
  });
});
