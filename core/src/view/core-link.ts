/**
 * Late-bound links to engine modules that the view layer uses: the analysis entry point
 * (engine.ts `analyzeFile`), the one `phases()` function (model/phases.ts) and HAR export
 * (model/har.ts). Loaded on first use so the view server starts fast.
 */
import type { Report } from '../model/types.js';
import type { PhasesFn } from './compact.js';

export interface EngineProgress {
  bytes?: number;
  bytesRead?: number;
  totalBytes?: number;
  fileBytes?: number;
  packets?: number;
  connections?: number;
  requests?: number;
}

export interface CoreLinks {
  analyzeFile(path: string, opts: { onProgress?: (p: EngineProgress) => void; signal?: AbortSignal }): Promise<Report>;
  phases: PhasesFn;
  toHar(report: Report): unknown;
}

let links: Promise<CoreLinks> | undefined;

export function loadCore(): Promise<CoreLinks> {
  links ??= (async () => {
    // Specifiers through variables: these modules are written concurrently by other layers.
    const eng = '../engine.js';
    const ph = '../model/phases.js';
    const har = '../model/har.js';
    const det = '../detect/index.js';
    const [e, p, d] = await Promise.all([import(eng), import(ph), import(det)]);
    const h = await import(har).catch(() => null);
    const detectAll = d.detectAll as (r: Report) => Report['findings'];
    const analyzeFile = e.analyzeFile as (path: string, o: object) => Promise<Report>;
    return {
      analyzeFile: (path, opts) => analyzeFile(path, { ...opts, findings: (r: Report) => detectAll(r) }),
      phases: p.phases,
      toHar: (r: Report) => {
        if (!h) throw new Error('HAR export is not available in this build');
        return h.toHar(r);
      },
    } as CoreLinks;
  })();
  return links;
}
