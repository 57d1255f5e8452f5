/** Shared by the detector tests: analyse a capture with the detectors, and compact views of findings. */
import { analyzeFile } from '../../../core/src/engine.js';
import { detectAll, type DetectOptions } from '../../../core/src/detect/index.js';
import type { Finding, Report } from '../../../core/src/model/types.js';

const cache = new Map<string, Promise<Report>>();

/** The report of a capture with findings from `detectAll(report, opts)` (cached per file+opts). */
export function analyze(file: string, opts: DetectOptions = {}): Promise<Report> {
  const key = `${file}\0${JSON.stringify(opts)}`;
  let p = cache.get(key);
  if (!p) {
    p = analyzeFile(file, { findings: (r) => detectAll(r, opts) });
    cache.set(key, p);
  }
  return p;
}

/** "kind/rule" or "kind". */
export const id = (f: Finding): string => (f.rule ? `${f.kind}/${f.rule}` : f.kind);

export interface Expected {
  id: string;
  connections: number[];
  requests: number[];
  /** [value, tolerance] in ms; omitted when the finding has no cost. */
  cost?: [number, number];
}

/** Findings in a stable order for comparison. */
export function compact(fs: Finding[]): { id: string; connections: number[]; requests: number[]; costMs?: number }[] {
  return fs
    .map((f) => ({ id: id(f), connections: f.connectionIds, requests: f.requestIds, costMs: f.costMs }))
    .sort((a, b) => a.id.localeCompare(b.id) || a.connections[0] - b.connections[0] || (a.requests[0] ?? -1) - (b.requests[0] ?? -1));
}
