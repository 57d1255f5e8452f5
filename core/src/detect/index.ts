/**
 * The findings framework: every detector lives in its own module under detect/, documenting the
 * signature it looks for and where it can be wrong.
 *
 * A detector module exports a `DetectorDef`: the finding kinds it can emit, its named thresholds
 * (with defaults and a one-line description — the CLI's `--threshold NAME=VALUE` sets them), what
 * it reads of the records, and a streaming form (stream.ts: fed connection by connection as the
 * capture is analysed, with a watermark). `detect(report)` and `detectAll(report)` drive the same
 * streaming form over a whole report. Threshold names are global (one namespace), so two
 * detectors may share one.
 */
import type { Finding, Report } from '../model/types.js';
import { DetectStream, driveReport, type DetectorReads, type FindingSink, type StreamContext, type StreamingDetector, type StreamMember } from './stream.js';

export { defineDetector } from './stream.js';
import { blindRelay } from './blind-relay.js';
import { h2Coalescing } from './h2-coalescing.js';
import { h2FlowControl } from './h2-flow-control.js';
import { h2MissedReuse } from './h2-missed-reuse.js';
import { h2TcpHol } from './h2-tcp-hol.js';
import { holStall } from './hol-stall.js';
import { keepAlivePolicy } from './keepalive-policy.js';
import { missedReuse } from './missed-reuse.js';
import { quic0Rtt } from './quic-0rtt.js';
import { quicAltSvc } from './quic-alt-svc.js';
import { quicFallback } from './quic-fallback.js';
import { quicMissedReuse } from './quic-missed-reuse.js';
import { quicStreamLoss } from './quic-stream-loss.js';
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
  /** What it reads beyond connection records (streaming keeps only that of requests). */
  reads: DetectorReads;
  /** One capture's streaming instance; findings go to `emit` as they become final. */
  stream(opts: DetectOptions, emit: FindingSink, ctx: StreamContext): StreamingDetector;
  /** The findings of a whole report (the streaming form driven over it). */
  detect: Detector;
}

const REPORT_CONTEXT: StreamContext = { count: () => {}, bounded: false };

function enabled(d: DetectorDef, opts: DetectOptions): boolean {
  return !opts.only || opts.only.includes(d.name) || d.kinds.some((k) => opts.only!.includes(k));
}

/** With `only` naming kinds (not this detector), the findings of other kinds are dropped. */
function wanted(d: DetectorDef, f: Finding, opts: DetectOptions): boolean {
  return !opts.only || opts.only.includes(d.name) || opts.only.includes(f.kind);
}

export const DETECTOR_DEFS: DetectorDef[] = [missedReuse, blindRelay, holStall, keepAlivePolicy, h2MissedReuse, h2TcpHol, h2FlowControl, tlsMissedReuse, tlsResumption, h2Coalescing, quicMissedReuse, quicAltSvc, quicFallback, quic0Rtt, quicStreamLoss];

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

/**
 * Every enabled detector over a whole report: findings by start time, then kind (ties: in the
 * order of DETECTOR_DEFS, then as each detector emitted them).
 */
export function detectAll(report: Report, opts: DetectOptions = {}): Finding[] {
  const defs = DETECTOR_DEFS.filter((d) => enabled(d, opts));
  const per: Finding[][] = defs.map(() => []);
  driveReport(
    report,
    defs.map((d, i) => ({ name: d.name, reads: d.reads, detector: d.stream(opts, (f) => wanted(d, f, opts) && per[i].push(f), REPORT_CONTEXT) })),
  );
  const out = per.flat();
  out.sort(byStart);
  return out;
}

/** The order of `detectAll`: start time, then kind (stable). */
export function byStart(a: Finding, b: Finding): number {
  return a.timeRange[0] - b.timeRange[0] || a.kind.localeCompare(b.kind);
}

/** Where a streamed finding came from: what places it in `detectAll`'s order (cli/json-spill.ts). */
export interface FindingSource {
  /** Its detector's index in DETECTOR_DEFS. */
  detector: number;
  /** The connection whose completion (`onConnection`) emitted it; -1 for any other moment. */
  connection: number;
}

/**
 * Every enabled detector fed as a capture is analysed (see stream.ts for the call order):
 * `onFinding` gets each finding as soon as no later record can change it — per-connection ones
 * when their connection completes, windowed ones when the watermark passes their window, those
 * summing up a client/origin pair at `finish()` — with where it came from. `count` records limits
 * hit (capture.counters).
 */
export function detectStream(
  opts: DetectOptions,
  onFinding: (f: Finding, from: FindingSource) => void,
  count: (name: string, n?: number) => void,
  limits?: StreamContext['limits'],
): DetectStream {
  const ctx: StreamContext = { count, bounded: true, limits };
  const members: StreamMember[] = [];
  DETECTOR_DEFS.forEach((d, detector) => {
    if (!enabled(d, opts)) return;
    const emit = (f: Finding) => {
      if (wanted(d, f, opts)) onFinding(f, { detector, connection: driver.handingOut });
    };
    members.push({ name: d.name, reads: d.reads, detector: d.stream(opts, emit, ctx) });
  });
  const driver = new DetectStream(members, ctx, true);
  return driver;
}
