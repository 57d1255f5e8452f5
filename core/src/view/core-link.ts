/**
 * The engine entry points the view layer uses: analysis (engine.ts `analyzeFile` + detectors +
 * the what-if estimate, or the same streamed into a compact document: view/stream-model.ts),
 * the one `phases()` function (model/phases.ts) and HAR export (model/har.ts). Injectable (tests,
 * embedding) through ViewServerOptions.core.
 */
import { analyzeFile, type AnalyzeProgress } from '../engine.js';
import { detectAll } from '../detect/index.js';
import { phases } from '../model/phases.js';
import { toHar } from '../model/har.js';
import { whatIf } from '../whatif/whatif.js';
import type { Report } from '../model/types.js';
import type { AnalysisProgress } from './api.js';
import type { PhasesFn } from './compact.js';
import { loadKeyLog, type KeyLogSources } from '../tls/keylog.js';
import { headerTables, type HeaderTablesFn } from './header-tables.js';
import { CompactBuilder, VIEW_WHATIF_MAX_REQUESTS, type CompactDoc } from './stream-model.js';
import { VERSION } from '../version.js';
import { analyzeStreaming, type StreamingOptions } from '../pipeline.js';
import { byStart } from '../detect/index.js';

export type { KeyLogSources };

export interface CoreLinks {
  analyzeFile(path: string, opts: { onProgress?: (p: AnalysisProgress) => void; signal?: AbortSignal; keylog?: KeyLogSources }): Promise<Report>;
  /**
   * The same analysis streamed into a compact document whose spill file goes in `spillDir`
   * (view/stream-model.ts). Used by the view server when `analyzeFile` is the engine's; absent, or
   * beside an injected `analyzeFile`, the view holds the Report `analyzeFile` gives.
   */
  analyzeCompact?(path: string, spillDir: string, opts: { onProgress?: (p: AnalysisProgress) => void; signal?: AbortSignal; keylog?: KeyLogSources }): Promise<CompactDoc>;
  phases: PhasesFn;
  toHar(report: Report): unknown;
  /** The HPACK/QPACK inspector's re-decoding (view/header-tables.ts); the engine's when absent. */
  headerTables?: HeaderTablesFn;
}

export function toAnalysisProgress(p: AnalyzeProgress): AnalysisProgress {
  return { bytes: p.bytesRead, totalBytes: p.totalBytes, packets: p.packets, connections: p.connections, requests: p.requests };
}

/**
 * Analyse `path` streaming (pipeline.ts: engine, streaming detectors, what-if collector) into a
 * compact document whose spill file goes in `dir` (made by stream-model.ts `makeSpillDir`; the
 * caller removes it on failure). Findings in detectAll's order.
 */
export async function analyzeCompact(path: string, dir: string, opts: StreamingOptions): Promise<CompactDoc> {
  const b = new CompactBuilder(dir, phases);
  try {
    const res = await analyzeStreaming(path, { request: (r) => b.request(r), connection: (c) => b.connection(c), finding: (f) => b.finding(f) }, { whatIfMaxRequests: VIEW_WHATIF_MAX_REQUESTS, ...opts });
    return await b.finish(res.capture, res.whatIf, VERSION, byStart);
  } catch (e) {
    b.abort();
    throw e;
  }
}

/** The real engine, with every detector, keeping the packet-level evidence the waterfall draws. */
export const CORE: CoreLinks = {
  analyzeFile: async (path, opts) =>
    analyzeFile(path, {
      keyLog: await loadKeyLog(opts.keylog),
      // Data arrivals and late segments per connection, drawn in the waterfall (tcp/marks.ts).
      packetMarks: true,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onProgress ? { onProgress: (p: AnalyzeProgress) => opts.onProgress!(toAnalysisProgress(p)) } : {}),
      findings: (r) => detectAll(r),
      // The what-if estimates (report.whatIf), shown in the UI's What-if panel.
      whatIf: (r) => whatIf(r),
    }),
  analyzeCompact: async (path, spillDir, opts) =>
    analyzeCompact(path, spillDir, {
      keyLog: await loadKeyLog(opts.keylog),
      // As analyzeFile below: the packet evidence the waterfall draws.
      packetMarks: true,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onProgress ? { onProgress: (p: AnalyzeProgress) => opts.onProgress!(toAnalysisProgress(p)) } : {}),
    }),
  phases,
  toHar,
  headerTables,
};
