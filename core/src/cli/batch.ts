/**
 * Batch analysis: one file in-process, several files on a pool of worker threads (one file per
 * worker at a time). A failing file yields an error outcome; it never aborts the batch.
 *
 * Modes: 'report' keeps the whole Report (table, HAR; `--format json` before it was streamed, kept
 * for comparison in the tests); 'ndjson' streams records through `onLine`; 'json' streams the
 * records of a Report to a spill file and hands back where they lie (cli/json-spill.ts).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { analyzeFile, type AnalyzeProgress } from '../engine.js';
import { analyzeStreaming } from '../pipeline.js';
import { detectAll, type DetectOptions } from '../detect/index.js';
import { CancelledError, WirefallError } from '../errors.js';
import type { CaptureInfo, Report } from '../model/types.js';
import { jsonLine, requestLine, type ArrayPlace } from './json-out.js';
import { JsonSpillWriter, OrderedFindings, type SpilledReport } from './json-spill.js';
import { releaseFifo, STDIN_PATH } from '../capture/reader.js';
import { loadKeyLog } from '../tls/keylog.js';
import { groupFindings } from '../view/finding-groups.js';
import {
  MAX_WHATIF_JSON_CONNECTIONS,
  MAX_WHATIF_JSON_REQUESTS,
  MAX_WHATIF_STREAM_CONNECTIONS,
  MAX_WHATIF_STREAM_REQUESTS,
  whatIf,
  type WhatIfOptions,
} from '../whatif/whatif.js';
import { statSync } from 'node:fs';

export type OutputMode = 'report' | 'ndjson' | 'json';

export interface FileTask {
  file: string;
  mode: OutputMode;
  idleGapMs?: number;
  detect?: DetectOptions;
  /** Reader for classic pcap files (default pcap-parser). */
  classicParser?: 'pcap-parser' | 'builtin';
  /** TLS key log files (NSS format), read for each file; the capture's own DSBs are added. */
  keylogFiles?: string[];
  /** What-if options (`--whatif-keepalive-timeout`). */
  whatIf?: WhatIfOptions;
  /** No what-if estimate (`--no-whatif`): the report has no `whatIf`; NDJSON's whatIf record says it was skipped. */
  noWhatIf?: boolean;
  /** Bytes read at a time (tests: small values give the streaming detectors a watermark per chunk). */
  chunkBytes?: number;
  /** 'json' mode, tests: smaller what-if limits than MAX_WHATIF_JSON_REQUESTS / MAX_WHATIF_JSON_CONNECTIONS. */
  whatIfLimits?: { requests?: number; connections?: number };
  /** 'json' mode: the spill file to create (named by the main thread, which removes it) and where the report's arrays sit. */
  json?: { spill: string; place: ArrayPlace };
}

export interface FileOutcome {
  file: string;
  /** 'report' mode: the whole report. */
  report?: Report;
  /** 'ndjson' and 'json' modes: the capture facts and counts (records were streamed through onLine). */
  capture?: CaptureInfo;
  /** 'json' mode: the report, its records in the spill file (json-spill.ts `spilledDocument`). */
  spilled?: SpilledReport;
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

/** NDJSON's whatIf record under `--no-whatif`. */
export const NO_WHATIF_SKIPPED = 'not asked for (--no-whatif)';

/** Analyse one file in this thread; `signal` ends it at its next chunk or pending read. */
export async function runTask(task: FileTask, cb: BatchCallbacks, signal?: AbortSignal): Promise<FileOutcome> {
  const outcome: FileOutcome = { file: task.file, connections: 0, requests: 0, findings: 0, findingKinds: {} };
  const onProgress = cb.onProgress ? (p: AnalyzeProgress) => cb.onProgress!(task.file, p) : undefined;
  try {
    if (task.mode === 'report') {
      const keyLog = await loadKeyLog({ files: task.keylogFiles });
      const report = await analyzeFile(task.file, { idleGapMs: task.idleGapMs, classicParser: task.classicParser, chunkBytes: task.chunkBytes, keyLog, onProgress, signal, findings: (r) => detectAll(r, task.detect), ...(task.noWhatIf ? {} : { whatIf: (r: Report) => whatIf(r, task.whatIf) }) });
      outcome.report = report;
      outcome.connections = report.connections.length;
      outcome.requests = report.requests.length;
      countFindings(outcome, report);
    } else if (task.mode === 'json') {
      const again = await runJson(task, outcome, onProgress, signal);
      if (again) return runTask({ ...task, mode: 'report' }, cb, signal);
    } else {
      const emit = (type: string, rec: object) => cb.onLine?.(jsonLine({ type, file: task.file, ...rec }));
      // NDJSON streams every record as it completes, and the detectors with it (pipeline.ts,
      // detect/stream.ts): each finding is written as soon as no later record can change it.
      const keyLog = await loadKeyLog({ files: task.keylogFiles });
      const res = await analyzeStreaming(
        task.file,
        {
          connection: (c) => emit('connection', c),
          request: (r) => cb.onLine?.(requestLine('request', task.file, r)),
          finding: (f) => {
            emit('finding', f);
            outcome.findingKinds[f.kind] = (outcome.findingKinds[f.kind] ?? 0) + 1;
          },
        },
        { idleGapMs: task.idleGapMs, classicParser: task.classicParser, keyLog, onProgress, signal, detect: task.detect, whatIf: task.whatIf, whatIfOff: task.noWhatIf },
      );
      outcome.capture = res.capture;
      outcome.connections = res.connections;
      outcome.requests = res.requests;
      outcome.findings = res.findings;
      // Past the collector's limits: no estimate (one over part of the capture would not be its own).
      if (task.noWhatIf) emit('whatIf', { skipped: NO_WHATIF_SKIPPED });
      else emit('whatIf', res.whatIf ?? { skipped: `more than ${MAX_WHATIF_STREAM_REQUESTS} requests or ${MAX_WHATIF_STREAM_CONNECTIONS} TCP connections (${res.whatIfDropped.requests} requests, ${res.whatIfDropped.connections} connections not kept): --format json has the estimate` });
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

/**
 * 'json' mode (json-spill.ts): the records to the spill file, the findings in `detectAll`'s order,
 * the what-if estimate from the collector. Returns true when the capture should be analysed again
 * the old way: the streaming detectors may have judged differently (a connection behind the
 * watermark) and the capture can be read again (a regular file).
 */
async function runJson(task: FileTask, outcome: FileOutcome, onProgress: ((p: AnalyzeProgress) => void) | undefined, signal?: AbortSignal): Promise<boolean> {
  const spill = new JsonSpillWriter(task.json!.spill, task.json!.place);
  try {
    const ordered = new OrderedFindings(task.detect);
    const keyLog = await loadKeyLog({ files: task.keylogFiles });
    const res = await analyzeStreaming(
      task.file,
      { connection: (c) => spill.connection(c), request: (r) => spill.request(r) },
      {
        idleGapMs: task.idleGapMs,
        classicParser: task.classicParser,
        chunkBytes: task.chunkBytes,
        keyLog,
        onProgress,
        signal,
        detect: task.detect,
        whatIf: task.whatIf,
        whatIfOff: task.noWhatIf,
        detectors: ordered.detectors,
        whatIfMaxRequests: task.whatIfLimits?.requests ?? MAX_WHATIF_JSON_REQUESTS,
        whatIfMaxConnections: task.whatIfLimits?.connections ?? MAX_WHATIF_JSON_CONNECTIONS,
      },
    );
    const degraded = ordered.degraded();
    if (Object.keys(degraded).length > 0 && rereadable(task.file)) {
      spill.discard();
      return true;
    }
    const capture = res.capture;
    // Read once only (standard input, a FIFO): the findings stand as streamed, and the counters say why.
    for (const [name, n] of Object.entries(degraded)) capture.counters[name] = (capture.counters[name] ?? 0) + n;
    if (!res.whatIf) {
      if (res.whatIfDropped.requests) capture.counters.whatIfRequestsNotKept = res.whatIfDropped.requests;
      if (res.whatIfDropped.connections) capture.counters.whatIfConnectionsNotKept = res.whatIfDropped.connections;
    }
    const findings = ordered.findings();
    outcome.spilled = { ...spill.finish(), capture, findings, findingGroups: groupFindings(findings), ...(res.whatIf ? { whatIf: res.whatIf } : {}) };
    outcome.capture = capture;
    outcome.connections = res.connections;
    outcome.requests = res.requests;
    countFindings(outcome, { findings });
    return false;
  } catch (e) {
    spill.discard();
    throw e;
  }
}

/** A capture that can be read a second time: a regular file (not standard input, a pipe or a FIFO). */
function rereadable(file: string): boolean {
  try {
    return file !== STDIN_PATH && statSync(file).isFile();
  } catch {
    return false;
  }
}

function countFindings(o: FileOutcome, r: Pick<Report, 'findings'>): void {
  o.findings = r.findings.length;
  for (const f of r.findings) o.findingKinds[f.kind] = (o.findingKinds[f.kind] ?? 0) + 1;
}

export function defaultJobs(): number {
  return Math.max(1, availableParallelism());
}

/**
 * Run tasks on up to `jobs` worker threads; outcomes are returned in task order. `onOutcome` sees
 * each outcome as soon as it and every earlier one is done (so output stays in input order).
 * When `signal` aborts, the worker threads are terminated at once, no further task starts, and the
 * outcomes so far are returned (later ones are missing).
 */
export async function runBatch(
  tasks: FileTask[],
  jobs: number,
  cb: BatchCallbacks,
  onOutcome: (o: FileOutcome, index: number) => void,
  signal?: AbortSignal,
): Promise<FileOutcome[]> {
  const results: (FileOutcome | undefined)[] = new Array(tasks.length);
  let printed = 0;
  const flush = () => {
    while (printed < tasks.length && results[printed]) {
      onOutcome(results[printed]!, printed);
      printed++;
    }
  };
  const done = () => results.filter((r): r is FileOutcome => r !== undefined);
  if (jobs <= 1 || tasks.length <= 1) {
    for (let i = 0; i < tasks.length && !signal?.aborted; i++) {
      results[i] = await runTask(tasks[i], cb, signal);
      if (signal?.aborted) break;
      flush();
    }
    return done();
  }
  let next = 0;
  const workerUrl = new URL('./worker.js', import.meta.url);
  const live = new Set<Worker>();
  /** Inputs being analysed by a worker now. */
  const running = new Set<string>();
  const spawn = (): Worker => {
    const w = new Worker(workerUrl);
    live.add(w);
    return w;
  };
  // Each lane runs tasks one after another on its worker; a worker that dies (a bug, or memory)
  // fails only its current file and is replaced.
  const lane = async (): Promise<void> => {
    let w = spawn();
    for (let i = next++; i < tasks.length && !signal?.aborted; i = next++) {
      const task = tasks[i];
      running.add(task.file);
      results[i] = await new Promise<FileOutcome>((resolve) => {
        const onMsg = (m: { kind: string; line?: string; progress?: AnalyzeProgress; outcome?: FileOutcome }) => {
          if (signal?.aborted) return;
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
          if (signal?.aborted) return resolve({ ...empty(task), error: errorOf(new CancelledError(`analysis of ${task.file} was cancelled`)) });
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
      running.delete(task.file);
      if (!signal?.aborted) flush();
    }
  };
  // Terminating a worker ends its lane's current task through the worker's 'exit' event; a task
  // still waiting to open a FIFO is released first (a pool thread blocked there blocks exit).
  const stopAll = () => {
    for (const f of running) releaseFifo(f);
    for (const w of live) void w.terminate();
  };
  signal?.addEventListener('abort', stopAll, { once: true });
  try {
    await Promise.all(Array.from({ length: Math.min(jobs, tasks.length) }, lane));
  } finally {
    signal?.removeEventListener('abort', stopAll);
    await Promise.all([...live].map((w) => w.terminate()));
  }
  return done();
}

const empty = (task: FileTask): FileOutcome => ({ file: task.file, connections: 0, requests: 0, findings: 0, findingKinds: {} });
