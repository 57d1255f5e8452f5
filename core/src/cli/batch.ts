/**
 * Batch analysis: one file in-process, several files on a pool of worker threads (one file per
 * worker at a time). A failing file yields an error outcome; it never aborts the batch.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { analyzeFile, analyzeStream, type AnalyzeProgress } from '../engine.js';
import { detectAll, type DetectOptions } from '../detect/index.js';
import { WirefallError } from '../errors.js';
import type { CaptureInfo, Connection, Header, Report, Request } from '../model/types.js';
import { VERSION } from '../version.js';
import { jsonLine } from './json-out.js';
import { KeyLog, readKeyLogFile } from '../tls/keylog.js';

export type OutputMode = 'report' | 'ndjson';

export interface FileTask {
  file: string;
  mode: OutputMode;
  idleGapMs?: number;
  detect?: DetectOptions;
  /** Reader for classic pcap files (default pcap-parser). */
  classicParser?: 'pcap-parser' | 'builtin';
  /** TLS key log files (NSS format), read for each file; the capture's own DSBs are added. */
  keylogFiles?: string[];
}

/** A fresh key log per capture from the task's files (a DSB of one capture never leaks into another). */
async function keyLogOf(task: FileTask): Promise<KeyLog | undefined> {
  if (!task.keylogFiles?.length) return undefined;
  const keys = new KeyLog();
  for (const f of task.keylogFiles) await readKeyLogFile(f, keys);
  return keys;
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
      const keyLog = await keyLogOf(task);
      const report = await analyzeFile(task.file, { idleGapMs: task.idleGapMs, classicParser: task.classicParser, keyLog, onProgress, findings: (r) => detectAll(r, task.detect) });
      outcome.report = report;
      outcome.connections = report.connections.length;
      outcome.requests = report.requests.length;
      countFindings(outcome, report);
    } else {
      const emit = (type: string, rec: object) => cb.onLine?.(jsonLine({ type, file: task.file, ...rec }));
      // Findings need the whole connection/request set. NDJSON streams every record as it completes
      // and keeps only a slim copy for the detectors (the headers they read, no bodies or HPACK
      // field records), up to MAX_NDJSON_DETECT_RECORDS; findings follow at the end.
      const model = new SlimModel();
      const keyLog = await keyLogOf(task);
      const res = await analyzeStream(
        task.file,
        {
          onConnection: (c) => {
            emit('connection', c);
            model.connection(c);
          },
          onRequest: (r) => {
            emit('request', r);
            model.request(r);
          },
        },
        { idleGapMs: task.idleGapMs, classicParser: task.classicParser, keyLog, onProgress },
      );
      outcome.capture = res.capture;
      outcome.connections = res.connections;
      outcome.requests = res.requests;
      if (model.overflow) {
        res.capture.counters['ndjsonFindingsSkipped'] = 1;
      } else {
        const findings = detectAll(model.report(res.capture), task.detect);
        for (const f of findings) emit('finding', f);
        countFindings(outcome, { findings } as Pick<Report, 'findings'>);
      }
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
 * Most connections plus requests kept for the detectors in NDJSON mode (a few hundred bytes each):
 * beyond it the findings are skipped (counted as `ndjsonFindingsSkipped` in capture.counters) so
 * memory stays bounded; `--format json` has no such limit.
 */
export const MAX_NDJSON_DETECT_RECORDS = 2_000_000;

/** The headers any detector reads (detect/*.ts); NDJSON mode keeps only these for findings. */
const DETECTOR_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'content-length', 'host', 'via']);
/** Request `extra` entries no detector reads and that can be large. */
const HEAVY_EXTRA = new Set(['body', 'hpack']);

export class SlimModel {
  private readonly connections: Connection[] = [];
  private readonly requests: Request[] = [];
  overflow = false;

  constructor(private readonly limit = MAX_NDJSON_DETECT_RECORDS) {}

  private room(): boolean {
    if (this.connections.length + this.requests.length >= this.limit) {
      this.overflow = true;
      this.connections.length = 0;
      this.requests.length = 0;
    }
    return !this.overflow;
  }

  connection(c: Connection): void {
    if (this.room()) this.connections.push(c);
  }

  request(r: Request): void {
    if (!this.room()) return;
    const keep = (hs: Header[]) => hs.filter((h) => DETECTOR_HEADERS.has(h.name.toLowerCase()));
    let extra = r.extra;
    if (extra && Object.keys(extra).some((k) => HEAVY_EXTRA.has(k))) {
      extra = Object.fromEntries(Object.entries(extra).filter(([k]) => !HEAVY_EXTRA.has(k)));
    }
    // `r` was already written out and nothing else reads it: slim it in place (keeping its shape).
    r.requestHeaders = keep(r.requestHeaders);
    r.responseHeaders = keep(r.responseHeaders);
    r.trailers = undefined;
    r.extra = extra;
    this.requests.push(r);
  }

  report(capture: CaptureInfo): Report {
    // The same order as analyzeFile: connections by id, requests as they completed.
    this.connections.sort((a, b) => a.id - b.id);
    return { wirefall: VERSION, capture, connections: this.connections, requests: this.requests, findings: [] };
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
