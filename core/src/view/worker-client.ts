/**
 * The host side of view/analysis-worker.ts, shared by the `wirefall view` server and the desktop
 * app: one worker thread per analysis, progress relayed, cancellation by message. With `compact`
 * the worker streams the capture into a compact document whose spill directory is made here
 * (view/stream-model.ts `makeSpillDir`) and removed here if the analysis fails or is cancelled;
 * on success the DocStore owns it.
 */
import { Worker } from 'node:worker_threads';
import type { Report } from '../model/types.js';
import type { AnalysisProgress } from './api.js';
import type { KeyLogSources } from './core-link.js';
import { makeSpillDir, removeSpillDir, type CompactDoc } from './stream-model.js';

export function analyzeInWorker(
  workerFile: string,
  path: string,
  keylog: KeyLogSources,
  onProgress: (p: AnalysisProgress) => void,
  signal: AbortSignal,
  compact: boolean,
): Promise<Report | CompactDoc> {
  const spillDir = compact ? makeSpillDir() : undefined;
  const p = new Promise<Report | CompactDoc>((resolve, reject) => {
    const w = new Worker(workerFile, { workerData: { path, keylog, ...(spillDir ? { spillDir } : {}) } });
    signal.addEventListener('abort', () => w.postMessage({ type: 'cancel' }), { once: true });
    w.on('message', (m: { type: string; progress?: AnalysisProgress; report?: Report; compact?: CompactDoc; error?: { code: string; message: string } }) => {
      if (m.type === 'progress' && m.progress) onProgress(m.progress);
      else if (m.type === 'done') resolve(m.compact ?? m.report!);
      else if (m.type === 'error') reject(Object.assign(new Error(m.error!.message), { code: m.error!.code }));
      if (m.type !== 'progress') void w.terminate();
    });
    w.on('error', reject);
    w.on('exit', (code) => code !== 0 && reject(new Error(`analysis worker exited with code ${code}`)));
  });
  if (spillDir) p.catch(() => removeSpillDir(spillDir));
  return p;
}
