/**
 * The streaming analysis every bounded output is built on (NDJSON; the streamed `--format json`
 * and the view server read it too): the engine hands out connections and requests as they
 * complete, the detectors run beside it (detect/stream.ts) and the what-if collector keeps its
 * slim rows. Nothing here keeps a record after handing it to the sinks.
 *
 * Call order to the sinks (the engine's, detect/stream.ts's): `request(r)` any number, each before
 * its connection; `connection(c)`; `finding(f)` whenever a detector can judge no more records that
 * would change it (at a connection, a watermark, or the end). After the last record, `analyzeStreaming`
 * resolves with the capture facts (its counters include the detectors'), the counts and the what-if
 * estimate (null past the collector's limits).
 */
import { analyzeStream, type AnalyzeOptions } from './engine.js';
import { detectStream, type DetectOptions } from './detect/index.js';
import type { DetectStream } from './detect/stream.js';
import { WhatIfCollector, type WhatIfOptions } from './whatif/whatif.js';
import type { CaptureInfo, Connection, Finding, Request, WhatIf } from './model/types.js';

export interface StreamingSinks {
  connection?(c: Connection): void;
  request?(r: Request): void;
  finding?(f: Finding): void;
}

export interface StreamingOptions extends AnalyzeOptions {
  detect?: DetectOptions;
  whatIf?: WhatIfOptions;
  /** Requests the what-if collector keeps (default MAX_WHATIF_STREAM_REQUESTS). */
  whatIfMaxRequests?: number;
  /** TCP connections the what-if collector keeps (default MAX_WHATIF_STREAM_CONNECTIONS). */
  whatIfMaxConnections?: number;
  /** No what-if estimate at all (`--no-whatif`): nothing collected, `whatIf` null, nothing dropped. */
  whatIfOff?: boolean;
  /**
   * The detectors' driver, made here by `detectStream(opts.detect, onFinding, count)` unless given
   * (the streamed `--format json` makes one that tags each finding with its detector and limits,
   * cli/json-spill.ts). `onFinding` must see every finding; `count` adds to capture.counters.
   */
  detectors?: (onFinding: (f: Finding) => void, count: (name: string, n?: number) => void) => DetectStream;
}

export interface StreamingResult {
  capture: CaptureInfo;
  connections: number;
  requests: number;
  findings: number;
  /** The what-if estimate; null when the collector dropped records at a limit (see `whatIfDropped`), or with `whatIfOff`. */
  whatIf: WhatIf | null;
  whatIfDropped: { requests: number; connections: number };
}

/** Analyse `path` streaming, detectors and what-if collector beside the engine (see the module). */
export async function analyzeStreaming(path: string, sinks: StreamingSinks, opts: StreamingOptions = {}): Promise<StreamingResult> {
  const counts: Record<string, number> = {};
  let findings = 0;
  const onFinding = (f: Finding) => {
    findings++;
    sinks.finding?.(f);
  };
  const count = (name: string, n = 1) => (counts[name] = (counts[name] ?? 0) + n);
  const detect = opts.detectors ? opts.detectors(onFinding, count) : detectStream(opts.detect ?? {}, onFinding, count);
  const what = opts.whatIfOff ? null : new WhatIfCollector(opts.whatIfMaxRequests, opts.whatIfMaxConnections);
  let res;
  try {
    res = await analyzeStream(
      path,
      {
        onConnection: (c) => {
          sinks.connection?.(c);
          detect.connection(c);
          what?.connection(c);
        },
        onRequest: (r) => {
          sinks.request?.(r);
          detect.request(r);
          what?.request(r);
        },
        onWatermark: (t, floor) => detect.watermark(t, floor),
      },
      opts,
    );
  } catch (e) {
    // Stopped, or a capture that could not be read: the scratch files go now, not with the process
    // (the view server analyses many captures in one).
    detect.close();
    what?.close();
    throw e;
  }
  detect.finish();
  const estimate = what?.finish(opts.whatIf) ?? null;
  if (what?.spillFailed) count('whatIfSpillFailed');
  for (const [name, n] of Object.entries(counts)) res.capture.counters[name] = (res.capture.counters[name] ?? 0) + n;
  return {
    capture: res.capture,
    connections: res.connections,
    requests: res.requests,
    findings,
    whatIf: estimate,
    whatIfDropped: { requests: what?.droppedRequests ?? 0, connections: what?.droppedConnections ?? 0 },
  };
}
