/**
 * Worker-thread entry for `wirefall view` and the desktop app: runs the engine (with detectors) on
 * one capture so the host's event loop stays free to serve the page and stream progress.
 * workerData: {path, keylog, spillDir?}. With `spillDir` the capture is analysed streaming into a
 * compact document (view/stream-model.ts; its records spilled to a file in that directory) whose
 * buffers are transferred, not copied; without, into a whole Report (cloned).
 * Messages out: {type:'progress', progress} · {type:'done', report | compact} · {type:'error', error};
 * in: {type:'cancel'}. The host side is view/worker-client.ts.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { AnalysisProgress } from './api.js';
import { CORE, type KeyLogSources } from './core-link.js';
import { progressStep } from './docs.js';
import { compactTransfer } from './stream-model.js';
import { statSync } from 'node:fs';

const port = parentPort;
if (port) {
  const { path, keylog, spillDir } = workerData as { path: string; keylog?: KeyLogSources; spillDir?: string };
  const controller = new AbortController();
  port.on('message', (m: { type?: string }) => {
    if (m?.type === 'cancel') controller.abort();
  });
  let size = 0;
  try {
    size = statSync(path).size;
  } catch {
    /* the engine reports the error */
  }
  const step = progressStep(size);
  let last = -Infinity;
  const onProgress = (progress: AnalysisProgress) => {
    if (progress.bytes - last < step) return;
    last = progress.bytes;
    port.postMessage({ type: 'progress', progress });
  };
  const failed = (e: unknown) => {
    const err = e as { code?: unknown; message?: unknown };
    port.postMessage({ type: 'error', error: { code: typeof err?.code === 'string' ? err.code : 'analysis-failed', message: String(err?.message ?? e) } });
  };
  if (spillDir)
    CORE.analyzeCompact!(path, spillDir, { signal: controller.signal, onProgress, keylog }).then((compact) => port.postMessage({ type: 'done', compact }, compactTransfer(compact)), failed);
  else CORE.analyzeFile(path, { signal: controller.signal, onProgress, keylog }).then((report) => port.postMessage({ type: 'done', report }), failed);
}
