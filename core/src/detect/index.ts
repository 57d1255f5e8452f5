/**
 * The findings framework: every detector is a pure function of the Report and its options, in its
 * own module under detect/, documenting the signature it looks for and where it can be wrong.
 *
 * A detector module exports a `DetectorDef`: the finding kinds it can emit, its named thresholds
 * (with defaults and a one-line description — the CLI's `--threshold NAME=VALUE` sets them), and
 * the function. Threshold names are global (one namespace), so two detectors may share one.
 */
import type { Finding, Report } from '../model/types.js';
import { blindRelay } from './blind-relay.js';
import { h2Coalescing } from './h2-coalescing.js';
import { h2FlowControl } from './h2-flow-control.js';
import { h2MissedReuse } from './h2-missed-reuse.js';
import { h2TcpHol } from './h2-tcp-hol.js';
import { holStall } from './hol-stall.js';
import { keepAlivePolicy } from './keepalive-policy.js';
import { missedReuse } from './missed-reuse.js';
import { tlsMissedReuse } from './tls-missed-reuse.js';
import { tlsResumption } from './tls-resumption.js';

export interface DetectOptions {
  /** Only run detectors emitting these kinds (default: all). */
  only?: string[];
  /** Per-detector thresholds, by option name (see `THRESHOLDS`). */
  thresholds?: Record<string, number>;
}

export type Detector = (report: Report, opts: DetectOptions) => Finding[];

export interface ThresholdDef {
  default: number;
  unit: 'ms' | 'count' | 'ratio';
  description: string;
}

export interface DetectorDef {
  /** Registry name (also accepted by `only`). */
  name: string;
  /** Finding kinds this detector emits. */
  kinds: string[];
  thresholds: Record<string, ThresholdDef>;
  detect: Detector;
}

export const DETECTOR_DEFS: DetectorDef[] = [missedReuse, blindRelay, holStall, keepAlivePolicy, h2MissedReuse, h2TcpHol, h2FlowControl, tlsMissedReuse, tlsResumption, h2Coalescing];

/** Detectors by name. */
export const DETECTORS: Record<string, Detector> = Object.fromEntries(DETECTOR_DEFS.map((d) => [d.name, d.detect]));

/** Every named threshold with its default, across detectors. */
export const THRESHOLDS: Record<string, ThresholdDef> = Object.assign({}, ...DETECTOR_DEFS.map((d) => d.thresholds));

/** Throws for names no detector knows (so a typo on the command line is not silently ignored). */
export function checkThresholds(t: Record<string, number> | undefined): void {
  for (const name of Object.keys(t ?? {})) {
    if (!(name in THRESHOLDS)) throw new Error(`unknown threshold '${name}' (known: ${Object.keys(THRESHOLDS).join(', ')})`);
  }
}

export function detectAll(report: Report, opts: DetectOptions = {}): Finding[] {
  const out: Finding[] = [];
  for (const d of DETECTOR_DEFS) {
    if (opts.only && !opts.only.includes(d.name) && !d.kinds.some((k) => opts.only!.includes(k))) continue;
    for (const f of d.detect(report, opts)) if (!opts.only || opts.only.includes(d.name) || opts.only.includes(f.kind)) out.push(f);
  }
  out.sort((a, b) => a.timeRange[0] - b.timeRange[0] || a.kind.localeCompare(b.kind));
  return out;
}
