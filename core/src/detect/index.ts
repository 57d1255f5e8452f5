/**
 * The findings framework: every detector is a pure function of the Report and its options, in its
 * own module under detect/, documenting the signature it looks for and where it can be wrong.
 */
import type { Finding, Report } from '../model/types.js';

export interface DetectOptions {
  /** Only run these detector kinds (default: all). */
  only?: string[];
  /** Per-detector thresholds, by option name (see each detector's options). */
  thresholds?: Record<string, number>;
}

export type Detector = (report: Report, opts: DetectOptions) => Finding[];

export const DETECTORS: Record<string, Detector> = {};

export function detectAll(report: Report, opts: DetectOptions = {}): Finding[] {
  const out: Finding[] = [];
  for (const [kind, d] of Object.entries(DETECTORS)) {
    if (opts.only && !opts.only.includes(kind)) continue;
    out.push(...d(report, opts));
  }
  out.sort((a, b) => a.timeRange[0] - b.timeRange[0]);
  return out;
}
