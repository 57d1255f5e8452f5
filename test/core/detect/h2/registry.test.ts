/**
 * The HTTP/2 detectors in the framework: registered, documented (signature, where it can be
 * wrong), thresholds reachable through detectAll and the CLI's --threshold, and the complete set
 * of findings per HTTP/2 sample (nothing else).
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { DETECTOR_DEFS, detectAll, THRESHOLDS } from '../../../../core/src/detect/index.js';
import { analyzeFile } from '../../../../core/src/engine.js';
import { ROOT, sample } from '../../../helpers/env.js';

const H2 = { 'h2-missed-reuse': 'h2-missed-reuse.ts', 'h2-tcp-hol': 'h2-tcp-hol.ts', 'h2-flow-control': 'h2-flow-control.ts' } as const;

describe('HTTP/2 detectors in the registry', () => {
  it.each(Object.entries(H2))('%s is registered and documents its signature, thresholds and where it can be wrong', (name, file) => {
    expect(DETECTOR_DEFS.some((d) => d.name === name)).toBe(true);
    const src = readFileSync(join(ROOT, 'core', 'src', 'detect', file), 'utf8');
    const doc = src.slice(0, src.indexOf('*/'));
    expect(doc).toContain('Signature');
    expect(doc).toContain('Where it can be wrong');
    for (const t of Object.keys(DETECTOR_DEFS.find((d) => d.name === name)!.thresholds)) expect(doc, t).toContain(t);
  });

  it('threshold names are their own (h2 prefix) and positive', () => {
    for (const name of ['h2TcpHolMs', 'h2TcpHolStreamFloorMs', 'h2FlowStallMs', 'h2FlowStallFraction', 'h2FlowStallMinCount']) {
      expect(THRESHOLDS[name]?.default, name).toBeGreaterThan(0);
    }
  });

  // Every HTTP/2 sample and the exact HTTP/2 findings it produces through detectAll.
  const EXPECTED: Record<string, string[]> = {
    'h2-loss-hol.pcap': ['hol-stall/lost-segment@tcp'],
    'h2-flow-control.pcap': ['hol-stall/window-exhausted@flow-control'],
    'h2-two-connections.pcap': ['missed-reuse/h2-second-connection@h2'],
    'h2-clean.pcap': [],
    'h2load.pcap': [],
    'h2c-prior-knowledge.pcap': [],
    'h2-push.pcap': [],
    'h2c-upgrade.pcap': [],
  };
  for (const [file, want] of Object.entries(EXPECTED)) {
    it(`${file}: ${want.length ? want.join(', ') : 'no HTTP/2 finding'}`, async () => {
      const r = await analyzeFile(sample(file));
      const got = detectAll(r)
        .filter((f) => f.layer === 'tcp' || f.layer === 'flow-control' || f.layer === 'h2')
        .map((f) => `${f.kind}/${f.rule}@${f.layer}`);
      expect(got).toEqual(want);
    });
  }

  it('only: by detector name', async () => {
    const r = await analyzeFile(sample('h2-loss-hol.pcap'));
    expect(detectAll(r, { only: ['h2-tcp-hol'] }).map((f) => f.layer)).toEqual(['tcp']);
    expect(detectAll(r, { only: ['h2-flow-control'] })).toEqual([]);
  });

  const BIN = join(ROOT, 'core', 'bin', 'wirefall.js');
  const built = existsSync(join(ROOT, 'core', 'dist', 'detect', 'h2-tcp-hol.js'));
  it.skipIf(!built)('the CLI reaches the thresholds: --threshold h2FlowStallFraction=2 silences the flow-control finding', () => {
    const run = (args: string[]) => spawnSync(process.execPath, [BIN, 'analyze', sample('h2-flow-control.pcap'), '-f', 'json', ...args], { encoding: 'utf8' });
    const layers = (out: string) => (JSON.parse(out) as { findings: { layer?: string }[] }).findings.map((f) => f.layer);
    expect(layers(run([]).stdout)).toEqual(['flow-control']);
    expect(layers(run(['--threshold', 'h2FlowStallFraction=2']).stdout)).toEqual([]);
  });
});
