/**
 * Batch analysis: one file in-process, several files on a pool of worker threads (one file per
 * worker at a time). A failing file yields an error outcome; it never aborts the batch.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { analyzeFile, analyzeStream, type AnalyzeProgress } from '../engine.js';
import { detectAll, type DetectOptions } from '../detect/index.js';
import { WirefallError } from '../errors.js';
import type { CaptureInfo, Report } from '../model/types.js';

export type OutputMode = 'report' | 'ndjson';

export interface FileTask {
  file: string;
  mode: OutputMode;
  idleGapMs?: number;
  detect?: DetectOptions;
  /** Reader for classic pcap files (default pcap-parser). */
  classicParser?: 'pcap-parser' | 'builtin';
}

export interface FileOutcome {
  file: string;
  /** 'report' mode: the whole report. */
  report?: Report;
  /** 'ndjson' mode: the capture facts and counts (records were streamed through onLine). */
  capture?: CaptureInfo;
  connections: number;
  requests: number;
  findings: number;
  findingKinds: Record<string, number>;
  error?: { code: string; message: string; exitCode: number };
}

export interface BatchCallbacks {
  /** ndjson mode: one serialised record (no newline). */
  onLine?(line: string): void;
  onProgress?(file: string, p: AnalyzeProgress): void;
}

function errorOf(e: unknown): { code: string; message: string; exitCode: number } {
  if (e instanceof WirefallError) return { code: e.code, message: e.message, exitCode: e.exitCode };
  const err = e as Error;
  return { code: 'WF_INTERNAL', message: `internal error: ${err?.stack ?? String(e)}`, exitCode: 70 };
}

/** Analyse one file in this thread. */
export async function runTask(task: FileTask, cb: BatchCallbacks): Promise<FileOutcome> {
  const outcome: FileOutcome = { file: task.file, connections: 0, requests: 0, findings: 0, findingKinds: {} };
  const onProgress = cb.onProgress ? (p: AnalyzeProgress) => cb.onProgress!(task.file, p) : undefined;
  try {
    if (task.mode === 'report') {
      const report = await analyzeFile(task.file, { idleGapMs: task.idleGapMs, classicParser: task.classicParser, onProgress, findings: (r) => detectAll(r, task.detect) });
      outcome.report = report;
      outcome.connections = report.connections.length;
      outcome.requests = report.requests.length;
      countFindings(outcome, report);
    } else {
      const emit = (type: string, rec: object) => cb.onLine?.(JSON.stringify({ type, file: task.file, ...rec }));
      // Findings need the whole connection/request set; NDJSON keeps only the compact model needed
      // for them (no headers beyond the detectors' use), and emits findings at the end.
      const res = await analyzeStream(
        task.file,
        {
          onConnection: (c) => emit('connection', c),
          onRequest: (r) => emit('request', r),
        },
        { idleGapMs: task.idleGapMs, classicParser: task.classicParser, onProgress },
      );
      outcome.capture = res.capture;
      outcome.connections = res.connections;
      outcome.requests = res.requests;
      emit('capture', res.capture);
    }
  } catch (e) {
    outcome.error = errorOf(e);
    const partial = (e as { capture?: CaptureInfo }).capture;
    if (partial) outcome.capture = partial;
    if (task.mode === 'ndjson') cb.onLine?.(JSON.stringify({ type: 'error', file: task.file, code: outcome.error.code, message: outcome.error.message }));
  }
  return outcome;
}

function countFindings(o: FileOutcome, r: Report): void {
  o.findings = r.findings.length;
  for (const f of r.findings) o.findingKinds[f.kind] = (o.findingKinds[f.kind] ?? 0) + 1;
}

export function defaultJobs(): number {
  return Math.max(1, availableParallelism());
}

/**
 * Run tasks on up to `jobs` worker threads; outcomes are returned in task order. `onOutcome` sees
 * each outcome as soon as it and every earlier one is done (so output stays in input order).
 */
export async function runBatch(
  tasks: FileTask[],
  jobs: number,
  cb: BatchCallbacks,
  onOutcome: (o: FileOutcome, index: number) => void,
): Promise<FileOutcome[]> {
  const results: (FileOutcome | undefined)[] = new Array(tasks.length);
  let printed = 0;
  const flush = () => {
    while (printed < tasks.length && results[printed]) {
      onOutcome(results[printed]!, printed);
      printed++;
    }
  };
  if (jobs <= 1 || tasks.length <= 1) {
    for (let i = 0; i < tasks.length; i++) {
      results[i] = await runTask(tasks[i], cb);
      flush();
    }
    return results as FileOutcome[];
  }
  let next = 0;
  const workerUrl = new URL('./worker.js', import.meta.url);
  const live = new Set<Worker>();
  const spawn = (): Worker => {
    const w = new Worker(workerUrl);
    live.add(w);
    return w;
  };
  // Each lane runs tasks one after another on its worker; a worker that dies (a bug, or memory)
  // fails only its current file and is replaced.
  const lane = async (): Promise<void> => {
    let w = spawn();
    for (let i = next++; i < tasks.length; i = next++) {
      const task = tasks[i];
      results[i] = await new Promise<FileOutcome>((resolve) => {
        const onMsg = (m: { kind: string; line?: string; progress?: AnalyzeProgress; outcome?: FileOutcome }) => {
          if (m.kind === 'line') cb.onLine?.(m.line!);
          else if (m.kind === 'progress') cb.onProgress?.(task.file, m.progress!);
          else if (m.kind === 'done') {
            cleanup();
            resolve(m.outcome!);
          }
        };
        const onFail = (e: unknown) => {
          cleanup();
          live.delete(w);
          void w.terminate();
          w = spawn();
          resolve({ file: task.file, connections: 0, requests: 0, findings: 0, findingKinds: {}, error: errorOf(e ?? new Error('worker exited')) });
        };
        const cleanup = () => {
          w.off('message', onMsg);
          w.off('error', onFail);
          w.off('exit', onFail);
        };
        w.on('message', onMsg);
        w.once('error', onFail);
        w.once('exit', onFail);
        w.postMessage({ task, progress: !!cb.onProgress });
      });
      flush();
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(jobs, tasks.length) }, lane));
  } finally {
    await Promise.all([...live].map((w) => w.terminate()));
  }
  return results as FileOutcome[];
}
