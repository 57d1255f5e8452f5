/**
 * Findings at human scale in the CLI (issue 15 item 3): the JSON report's `findingGroups` (each group
 * keeps its cases) and the table's grouped findings — the same grouping as the UI's cards
 * (core/src/view/finding-groups.ts), totals never more than the capture's duration.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { formatTable, groupLines, TABLE_GROUP_CASES } from '../../../core/src/cli/format-table.js';
import { groupFindings } from '../../../core/src/view/finding-groups.js';
import type { Finding, Report } from '../../../core/src/model/types.js';
import { ROOT, sample } from '../../helpers/env.js';

const BIN = join(ROOT, 'core', 'bin', 'wirefall.js');
const json = (file: string): Report => {
  const r = spawnSync(process.execPath, [BIN, 'analyze', '--format', 'json', file], { encoding: 'utf8', maxBuffer: 1 << 28 });
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as Report;
};

/** What every report's groups must satisfy. */
function checkGroups(report: Report) {
  const groups = report.findingGroups!;
  expect(groups).toBeDefined();
  // Every finding is in exactly one group; the flat list is unchanged.
  const all = groups.flatMap((g) => g.findings).sort((a, b) => a - b);
  expect(all).toEqual(report.findings.map((_, i) => i));
  expect(groups.reduce((n, g) => n + g.findings.length, 0)).toBe(report.findings.length);
  for (const g of groups) {
    const cases = g.findings.map((i) => report.findings[i]!);
    for (const f of cases) {
      expect(f.kind).toBe(g.kind);
      expect(f.rule).toBe(g.rule);
    }
    expect(g.findings).toContain(g.worst);
    expect(g.costMs).toBeLessThanOrEqual(g.costSumMs + 1e-9);
    expect(g.costMs).toBeLessThanOrEqual(g.coveredMs + 1e-9);
    expect(g.costMs).toBeLessThanOrEqual(report.capture.durationMs);
  }
  // As the UI computes them from the same findings.
  expect(groups).toEqual(JSON.parse(JSON.stringify(groupFindings(report.findings), (_k, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 1000) / 1000 : v))));
}

describe('finding groups in the CLI', () => {
  it('browser-pageload.pcap.gz: groups in the JSON, counts equal to the flat findings', () => {
    checkGroups(json(sample('browser-pageload.pcap.gz')));
  });

  it('pipelining.pcap: overlapping stalls are one group whose total is the time covered, not the sum', () => {
    const report = json(sample('pipelining.pcap'));
    checkGroups(report);
    const stalls = report.findingGroups!.filter((g) => g.kind === 'hol-stall');
    expect(stalls).toHaveLength(1);
    const g = stalls[0]!;
    expect(g.findings.length).toBe(report.findings.filter((f) => f.kind === 'hol-stall').length);
    expect(g.findings.length).toBeGreaterThan(1);
    expect(g.costSumMs).toBeGreaterThan(report.capture.durationMs);
    expect(g.costMs).toBeLessThanOrEqual(report.capture.durationMs);
    // The table: one header with the count and the total, the advice once, every case listed.
    const table = formatTable(report);
    expect(table).toMatch(/\[warning\] hol-stall\/blocked ×2 on connection 0 \(total ~\d+ ms, not [\d.]+ s: the cases overlap in time\)/);
    expect(table.match(/advice: Pipelined responses/g)).toHaveLength(1);
    for (const i of g.findings) expect(table).toContain(`      - ${report.findings[i]!.summary}`);
    expect(table).toMatch(/Findings: 2 hol-stall \(1 group\)/);
  });

  it('a single finding is printed as before (no group header)', () => {
    const report = json(sample('no-pool.pcap'));
    checkGroups(report);
    const table = formatTable(report);
    expect(table).toMatch(/\[warning\] missed-reuse\/client-no-pool: /);
    expect(table).not.toMatch(/×1/);
  });

  it('97 cases: one header, the worst case, the first cases listed and the rest counted', () => {
    const f = (i: number): Finding => ({
      kind: 'hol-stall',
      rule: 'blocked',
      severity: 'warning',
      summary: `case ${i}`,
      connectionIds: [0],
      requestIds: [i],
      timeRange: [i, 500],
      costMs: 500 - i,
      evidence: [{ packet: i + 1, time: i, what: `evidence ${i}` }],
      advice: 'one advice',
    });
    const findings = Array.from({ length: 97 }, (_, i) => f(i));
    const [g] = groupFindings(findings);
    const lines = groupLines(g!, findings);
    expect(lines[0]).toBe('  [warning] hol-stall/blocked ×97 on connection 0 (total ~500 ms, not 43.8 s: the cases overlap in time)');
    expect(lines[1]).toBe('      worst: case 0 (cost ~500 ms)');
    expect(lines.filter((l) => l.includes('advice:'))).toHaveLength(1);
    expect(lines.filter((l) => /^ {8}- case/.test(l))).toHaveLength(TABLE_GROUP_CASES);
    expect(lines.at(-1)).toBe(`        … ${97 - TABLE_GROUP_CASES} more (--format json: findingGroups)`);
  });
});
