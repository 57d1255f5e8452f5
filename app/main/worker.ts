/** Analysis off the UI thread: a worker_threads worker running the engine on one capture. */
import { parentPort, workerData } from 'node:worker_threads';
import { analyzeFile } from '../../core/src/engine.js';
import { detectAll } from '../../core/src/detect/index.js';
import { toAnalysisProgress } from '../../core/src/view/core-link.js';

const { path } = workerData as { path: string };
const controller = new AbortController();
parentPort!.on('message', (m: { type: string }) => {
  if (m.type === 'cancel') controller.abort();
});
let last = 0;
analyzeFile(path, {
  signal: controller.signal,
  findings: (r) => detectAll(r),
  onProgress: (p) => {
    const now = Date.now();
    if (now - last < 50) return;
    last = now;
    parentPort!.postMessage({ type: 'progress', progress: toAnalysisProgress(p) });
  },
}).then(
  (report) => parentPort!.postMessage({ type: 'done', report }),
  (e: unknown) => {
    const err = e as { code?: string; message?: string };
    parentPort!.postMessage({ type: 'error', error: { code: err?.code ?? 'analysis-failed', message: String(err?.message ?? e), aborted: controller.signal.aborted } });
  },
);
