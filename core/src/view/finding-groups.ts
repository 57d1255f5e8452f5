/**
 * Findings at human scale (issue 15): findings of the same kind, rule and set of connections are one
 * group, with a count, the worst case, and a total cost that never adds overlapping cases twice.
 * Pure; the UI (FindingsPanel) draws what this decides.
 *
 * Total cost of a set of findings: min(sum of their costs, length of the union of their time
 * ranges). Per-request costs overlap (97 requests stalled behind the same slow response are one
 * stall, not 97), so the sum alone overstates; the union of the intervals the cases cover is the
 * wall-clock time during which at least one was affected, and is never more than the capture.
 */
import type { Finding, Severity } from '../model/types.js';

const SEV_ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

export interface FindingGroup {
  /** kind|rule|connection ids: stable within one model. */
  key: string;
  kind: string;
  rule?: string;
  severity: Severity;
  connectionIds: number[];
  /** Indices into the findings list, costliest first. */
  findings: number[];
  /** Index of the costliest (then most severe) case. */
  worst: number;
  /** The group's cost without double counting (see the module comment); 0 when no case has a cost. */
  costMs: number;
  /** The plain sum of the cases' costs, for the tooltip. */
  costSumMs: number;
  /** The union of the cases' time ranges, in ms. */
  coveredMs: number;
}

/** Length of the union of intervals. */
export function unionLength(ranges: readonly (readonly [number, number])[]): number {
  const sorted = ranges.filter(([a, b]) => Number.isFinite(a) && Number.isFinite(b) && b > a).map(([a, b]) => [a, b] as [number, number]).sort((x, y) => x[0] - y[0]);
  let total = 0;
  let cur: [number, number] | null = null;
  for (const r of sorted) {
    if (cur && r[0] <= cur[1]) cur[1] = Math.max(cur[1], r[1]);
    else {
      if (cur) total += cur[1] - cur[0];
      cur = r;
    }
  }
  if (cur) total += cur[1] - cur[0];
  return total;
}

/** The cost of a set of findings without double counting: min(sum of costs, union of the time ranges of the costed ones). */
export function combinedCost(findings: readonly Finding[]): { costMs: number; costSumMs: number; coveredMs: number } {
  const costed = findings.filter((f) => (f.costMs ?? 0) > 0);
  const costSumMs = costed.reduce((s, f) => s + (f.costMs ?? 0), 0);
  const coveredMs = unionLength(costed.map((f) => f.timeRange));
  return { costMs: costed.length === 0 ? 0 : Math.min(costSumMs, coveredMs), costSumMs, coveredMs };
}

/** Groups by kind + rule + connection set, most severe then costliest first. */
export function groupFindings(findings: readonly Finding[]): FindingGroup[] {
  const byKey = new Map<string, number[]>();
  findings.forEach((f, i) => {
    const conns = [...new Set(f.connectionIds)].sort((a, b) => a - b);
    const key = `${f.kind}|${f.rule ?? ''}|${conns.join(',')}`;
    const l = byKey.get(key);
    if (l) l.push(i);
    else byKey.set(key, [i]);
  });
  const groups: FindingGroup[] = [];
  for (const [key, idx] of byKey) {
    const list = idx.map((i) => findings[i]!);
    const order = idx.slice().sort((a, b) => (findings[b]!.costMs ?? 0) - (findings[a]!.costMs ?? 0) || SEV_ORDER[findings[a]!.severity] - SEV_ORDER[findings[b]!.severity] || a - b);
    const first = findings[idx[0]!]!;
    const severity = list.reduce<Severity>((s, f) => (SEV_ORDER[f.severity] < SEV_ORDER[s] ? f.severity : s), 'info');
    groups.push({
      key,
      kind: first.kind,
      ...(first.rule !== undefined ? { rule: first.rule } : {}),
      severity,
      connectionIds: [...new Set(first.connectionIds)].sort((a, b) => a - b),
      findings: order,
      worst: order[0]!,
      ...combinedCost(list),
    });
  }
  return groups.sort((a, b) => SEV_ORDER[a.severity] - SEV_ORDER[b.severity] || b.costMs - a.costMs || a.findings[0]! - b.findings[0]!);
}
