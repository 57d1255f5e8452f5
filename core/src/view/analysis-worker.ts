/**
 * Worker-thread entry for `wirefall view`: runs the engine (with detectors) on one capture so the
 * view server's event loop stays free to serve the page and stream progress. Messages out:
 * {type:'progress', progress} · {type:'done', report} · {type:'error', error}; in: {type:'cancel'}.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { CORE } from './core-link.js';

const port = parentPort;
if (port) {
  const { path } = workerData as { path: string };
  const controller = new AbortController();
  port.on('message', (m: { type?: string }) => {
    if (m?.type === 'cancel') controller.abort();
  });
  CORE.analyzeFile(path, { signal: controller.signal, onProgress: (progress) => port.postMessage({ type: 'progress', progress }) }).then(
    (report) => port.postMessage({ type: 'done', report }),
    (e: unknown) => {
      const err = e as { code?: unknown; message?: unknown };
      port.postMessage({ type: 'error', error: { code: typeof err?.code === 'string' ? err.code : 'analysis-failed', message: String(err?.message ?? e) } });
    },
  );
}
