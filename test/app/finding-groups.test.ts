/** Findings at human scale (issue 15): grouping by kind + rule + connections, totals without double counting. */
import { describe, expect, it } from 'vitest';
import { combinedCost, groupFindings, unionLength } from '../../core/src/view/finding-groups.js';
import { CORE } from '../../core/src/view/core-link.js';
import type { Finding } from '../../core/src/model/types.js';

const f = (p: Partial<Finding>): Finding => ({
  kind: 'hol-stall',
  rule: 'blocked',
  severity: 'warning',
  summary: 's',
  connectionIds: [0],
  requestIds: [],
  timeRange: [0, 10],
  evidence: [],
  advice: 'a',
  ...p,
});

describe('finding groups', () => {
  it('unions intervals', () => {
    expect(unionLength([])).toBe(0);
    expect(unionLength([[0, 10], [5, 15], [20, 30]])).toBe(25);
    expect(unionLength([[20, 30], [0, 100]])).toBe(100);
  });

  it('97 overlapping stalls on one connection are one card whose total is the time covered, not the sum', () => {
    const list = Array.from({ length: 97 }, (_, i) => f({ requestIds: [i], timeRange: [i, 500], costMs: 500 - i }));
    list.push(f({ kind: 'missed-reuse', rule: 'client-no-pool', connectionIds: [1, 2], timeRange: [0, 50], costMs: 20 }));
    list.push(f({ connectionIds: [3], timeRange: [600, 700], costMs: 100, severity: 'error' }));
    const groups = groupFindings(list);
    expect(groups.map((g) => [g.kind, g.connectionIds, g.findings.length])).toEqual([
      ['hol-stall', [3], 1],
      ['hol-stall', [0], 97],
      ['missed-reuse', [1, 2], 1],
    ]);
    const big = groups[1]!;
    expect(big.worst).toBe(0);
    expect(big.costSumMs).toBeGreaterThan(20_000);
    expect(big.costMs).toBe(500);
    // Across groups: still the union, never more than the sum.
    expect(combinedCost(list.filter((x) => x.kind === 'hol-stall')).costMs).toBe(600);
    expect(combinedCost([f({ timeRange: [0, 1000], costMs: 30 })]).costMs).toBe(30);
    expect(combinedCost([f({})]).costMs).toBe(0);
  });

  it('on a real pipelining capture the total is no more than the capture', async () => {
    const report = await CORE.analyzeFile(new URL('../../samples/pipelining.pcap', import.meta.url).pathname, {});
    const stalls = report.findings.filter((x) => x.kind === 'hol-stall');
    expect(stalls.length).toBeGreaterThan(1);
    const sum = stalls.reduce((s, x) => s + (x.costMs ?? 0), 0);
    expect(sum).toBeGreaterThan(report.capture.durationMs);
    const groups = groupFindings(report.findings).filter((g) => g.kind === 'hol-stall');
    expect(groups).toHaveLength(1);
    expect(groups[0]!.findings).toHaveLength(stalls.length);
    expect(groups[0]!.costMs).toBeLessThanOrEqual(report.capture.durationMs);
  });
});
