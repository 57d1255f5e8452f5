/**
 * Worker-thread entry for `wirefall view`: runs the engine (with detectors) on one capture so the
 * view server's event loop stays free to serve the page and stream progress. Messages out:
 * {type:'progress', progress} · {type:'done', report} · {type:'error', error}; in: {type:'cancel'}.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { AnalysisProgress } from './api.js';
import { CORE, type KeyLogSources } from './core-link.js';
import { progressStep } from './docs.js';
import { statSync } from 'node:fs';

const port = parentPort;
if (port) {
  const { path, keylog } = workerData as { path: string; keylog?: KeyLogSources };
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
  CORE.analyzeFile(path, { signal: controller.signal, onProgress, keylog }).then(
    (report) => port.postMessage({ type: 'done', report }),
    (e: unknown) => {
      const err = e as { code?: unknown; message?: unknown };
      port.postMessage({ type: 'error', error: { code: typeof err?.code === 'string' ? err.code : 'analysis-failed', message: String(err?.message ?? e) } });
    },
  );
}
