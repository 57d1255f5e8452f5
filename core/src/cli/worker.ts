/** Worker-thread entry for batch analysis: one task at a time, results posted back. */
import { parentPort } from 'node:worker_threads';
import { runTask, type FileTask } from './batch.js';

parentPort?.on('message', async (m: { task: FileTask; progress: boolean }) => {
  // Lines go out in batches of up to 256, and at the latest when the analysis yields to the event
  // loop (after each chunk read): a capture read from a FIFO streams its records live.
  const lines: string[] = [];
  let scheduled = false;
  const flushLines = () => {
    scheduled = false;
    if (lines.length) parentPort!.postMessage({ kind: 'line', line: lines.join('\n') });
    lines.length = 0;
  };
  const outcome = await runTask(m.task, {
    onLine: (l) => {
      lines.push(l);
      if (lines.length >= 256) flushLines();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flushLines);
      }
    },
    onProgress: m.progress ? (_f, p) => parentPort!.postMessage({ kind: 'progress', progress: p }) : undefined,
  });
  flushLines();
  parentPort!.postMessage({ kind: 'done', outcome });
});
