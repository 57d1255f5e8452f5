/**
 * The engine entry points the view layer uses: analysis (engine.ts `analyzeFile` + detectors),
 * the one `phases()` function (model/phases.ts) and HAR export (model/har.ts). Injectable (tests,
 * embedding) through ViewServerOptions.core.
 */
import { analyzeFile, type AnalyzeProgress } from '../engine.js';
import { detectAll } from '../detect/index.js';
import { phases } from '../model/phases.js';
import { toHar } from '../model/har.js';
import type { Report } from '../model/types.js';
import type { AnalysisProgress } from './api.js';
import type { PhasesFn } from './compact.js';
import { KeyLog, readKeyLogFile } from '../tls/keylog.js';

export interface CoreLinks {
  analyzeFile(path: string, opts: { onProgress?: (p: AnalysisProgress) => void; signal?: AbortSignal; keylog?: KeyLogSources }): Promise<Report>;
  phases: PhasesFn;
  toHar(report: Report): unknown;
}

export function toAnalysisProgress(p: AnalyzeProgress): AnalysisProgress {
  return { bytes: p.bytesRead, totalBytes: p.totalBytes, packets: p.packets, connections: p.connections, requests: p.requests };
}

/** TLS key logs for an analysis: files named on the command line, and texts opened in the app. */
export interface KeyLogSources {
  files?: string[];
  texts?: string[];
}

/** A fresh KeyLog from the sources (undefined when there are none). */
export async function loadKeyLog(src: KeyLogSources | undefined): Promise<KeyLog | undefined> {
  if (!src || (!src.files?.length && !src.texts?.length)) return undefined;
  const keys = new KeyLog();
  for (const f of src.files ?? []) await readKeyLogFile(f, keys);
  for (const t of src.texts ?? []) keys.addText(t);
  return keys;
}

/** The real engine, with every detector. */
export const CORE: CoreLinks = {
  analyzeFile: async (path, opts) =>
    analyzeFile(path, {
      keyLog: await loadKeyLog(opts.keylog),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onProgress ? { onProgress: (p: AnalyzeProgress) => opts.onProgress!(toAnalysisProgress(p)) } : {}),
      findings: (r) => detectAll(r),
    }),
  phases,
  toHar,
};
