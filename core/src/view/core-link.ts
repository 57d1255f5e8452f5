/**
 * The engine entry points the view layer uses: analysis (engine.ts `analyzeFile` + detectors +
 * the what-if estimate),
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

export type { KeyLogSources };

export interface CoreLinks {
  analyzeFile(path: string, opts: { onProgress?: (p: AnalysisProgress) => void; signal?: AbortSignal; keylog?: KeyLogSources }): Promise<Report>;
  phases: PhasesFn;
  toHar(report: Report): unknown;
  /** The HPACK/QPACK inspector's re-decoding (view/header-tables.ts); the engine's when absent. */
  headerTables?: HeaderTablesFn;
}

export function toAnalysisProgress(p: AnalyzeProgress): AnalysisProgress {
  return { bytes: p.bytesRead, totalBytes: p.totalBytes, packets: p.packets, connections: p.connections, requests: p.requests };
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
  phases,
  toHar,
  headerTables,
};
