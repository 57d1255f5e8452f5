/**
 * The engine entry points the view layer uses: analysis (engine.ts `analyzeFile` + detectors +
 * the what-if estimate, or the same streamed into a compact document: view/stream-model.ts),
 * the one `phases()` function (model/phases.ts) and HAR export (model/har.ts). Injectable (tests,
 * embedding) through ViewServerOptions.core.
 */
import { analyzeFile, type AnalyzeProgress } from '../engine.js';
import { detectAll } from '../detect/index.js';
import { phases } from '../model/phases.js';
import { toHar } from '../model/har.js';
import { whatIf } from '../whatif/whatif.js';
import type { Report } from '../model/types.js';
import type { AnalysisProgress } from './api.js';
import type { PhasesFn } from './compact.js';
import { loadKeyLog, type KeyLogSources } from '../tls/keylog.js';
import { headerTables, type HeaderTablesFn } from './header-tables.js';
import { CompactBuilder, FLOW_FAILED, FLOW_IN_FLIGHT, VIEW_WHATIF_MAX_REQUESTS, type CompactDoc } from './stream-model.js';
import { VERSION } from '../version.js';
import { analyzeStreaming, type StreamingOptions } from '../pipeline.js';
import { byStart } from '../detect/index.js';
import type { Finding } from '../model/types.js';
import { Worker } from 'node:worker_threads';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type { KeyLogSources };

export interface CoreLinks {
  analyzeFile(path: string, opts: { onProgress?: (p: AnalysisProgress) => void; signal?: AbortSignal; keylog?: KeyLogSources }): Promise<Report>;
  /**
   * The same analysis streamed into a compact document whose spill file goes in `spillDir`
   * (view/stream-model.ts). Used by the view server when `analyzeFile` is the engine's; absent, or
   * beside an injected `analyzeFile`, the view holds the Report `analyzeFile` gives.
   */
  analyzeCompact?(path: string, spillDir: string, opts: { onProgress?: (p: AnalysisProgress) => void; signal?: AbortSignal; keylog?: KeyLogSources }): Promise<CompactDoc>;
  phases: PhasesFn;
  toHar(report: Report): unknown;
  /** The HPACK/QPACK inspector's re-decoding (view/header-tables.ts); the engine's when absent. */
  headerTables?: HeaderTablesFn;
}

export function toAnalysisProgress(p: AnalyzeProgress): AnalysisProgress {
  return { bytes: p.bytesRead, totalBytes: p.totalBytes, packets: p.packets, connections: p.connections, requests: p.requests };
}

/** Captures at least this large are built on a second thread (a worker's start-up is ~40 ms). */
export const COMPACT_SPLIT_MIN_BYTES = 16 * 1024 * 1024;
/** Characters of record JSON sent to the builder thread at a time. */
const BATCH_CHARS = 1024 * 1024;
/** Batches sent and not yet processed before the analysis waits for the builder (~8 MB of text). */
const MAX_BATCHES_IN_FLIGHT = 8;
/** How long the analysis waits for the builder to make room before it gives up (a stuck thread). */
const BUILDER_STALL_MS = 120_000;

/** The builder thread's module beside this one (core/dist, the desktop bundle); null from sources. */
function builderFile(): string | null {
  // Named at run time: a bundler must not take it for an asset to resolve.
  const name = ['compact', 'worker.js'].join('-');
  const f = fileURLToPath(new URL(`./${name}`, import.meta.url));
  return existsSync(f) ? f : null;
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/**
 * Analyse `path` streaming (pipeline.ts: engine, streaming detectors, what-if collector) into a
 * compact document whose spill file goes in `dir` (made by stream-model.ts `makeSpillDir`; the
 * caller removes it on failure). Findings in detectAll's order.
 *
 * Split mode (`split`, by default for captures of COMPACT_SPLIT_MIN_BYTES and more when the
 * builder's module is there): this thread analyses and sends each record's JSON to a builder
 * thread (view/compact-worker.ts) that spills it and builds the rows. On the request-heavy bench
 * capture the document was ready in 9.0 s instead of 10.7 s; the analysis thread is then the
 * slower half (its JSON.stringify of each record, 1.5 s, is the price of the split). Back-pressure:
 * past MAX_BATCHES_IN_FLIGHT batches not yet built, the analysis waits (Atomics.wait), so text
 * never piles up between the two.
 */
export async function analyzeCompact(path: string, dir: string, opts: StreamingOptions & { split?: boolean }): Promise<CompactDoc> {
  const file = builderFile();
  const split = file !== null && (opts.split ?? sizeOf(path) >= COMPACT_SPLIT_MIN_BYTES);
  if (split) return analyzeCompactSplit(path, dir, file, opts);
  const b = new CompactBuilder(dir, phases);
  try {
    const res = await analyzeStreaming(path, { request: (r) => b.request(r), connection: (c) => b.connection(c), finding: (f) => b.finding(f) }, { whatIfMaxRequests: VIEW_WHATIF_MAX_REQUESTS, ...opts });
    return await b.finish(res.capture, res.whatIf, VERSION, byStart);
  } catch (e) {
    b.abort();
    throw e;
  }
}

async function analyzeCompactSplit(path: string, dir: string, file: string, opts: StreamingOptions): Promise<CompactDoc> {
  const flow = new SharedArrayBuffer(8);
  const f = new Int32Array(flow);
  const w = new Worker(file, { workerData: { role: 'compact-builder', dir, flow } });
  let failure: Error | null = null;
  let settle: { ok: (d: CompactDoc) => void; fail: (e: Error) => void } | null = null;
  const onFail = (e: Error) => {
    failure ??= e;
    settle?.fail(e);
  };
  w.on('message', (m: { type: string; compact?: CompactDoc; error?: { code: string; message: string } }) => {
    if (m.type === 'done') settle?.ok(m.compact!);
    else if (m.type === 'error') onFail(Object.assign(new Error(m.error!.message), { code: m.error!.code }));
  });
  w.on('error', onFail);
  w.on('exit', (code) => onFail(new Error(`compact builder thread exited with code ${code}`)));
  const builderFailed = () => failure ?? (Atomics.load(f, FLOW_FAILED) ? new Error('the compact builder thread failed') : null);

  let parts: string[] = [];
  let chars = 0;
  const send = () => {
    if (!parts.length) return;
    let waited = 0;
    for (let n = Atomics.load(f, FLOW_IN_FLIGHT); n >= MAX_BATCHES_IN_FLIGHT; n = Atomics.load(f, FLOW_IN_FLIGHT)) {
      if (Atomics.load(f, FLOW_FAILED)) break;
      if (waited >= BUILDER_STALL_MS) throw new Error(`the compact builder thread made no progress in ${BUILDER_STALL_MS / 1000} s`);
      Atomics.wait(f, FLOW_IN_FLIGHT, n, 100);
      waited += 100;
    }
    const e = builderFailed();
    if (e) throw e;
    Atomics.add(f, FLOW_IN_FLIGHT, 1);
    w.postMessage({ type: 'batch', text: parts.join('\n') });
    parts = [];
    chars = 0;
  };
  const put = (line: string) => {
    parts.push(line);
    chars += line.length;
    if (chars >= BATCH_CHARS) send();
  };
  const findings: Finding[] = [];
  try {
    const res = await analyzeStreaming(
      path,
      { request: (r) => put(`r${JSON.stringify(r)}`), connection: (c) => put(`c${JSON.stringify(c)}`), finding: (x) => findings.push(x) },
      { whatIfMaxRequests: VIEW_WHATIF_MAX_REQUESTS, ...opts },
    );
    send();
    const done = new Promise<CompactDoc>((ok, fail) => (settle = { ok, fail }));
    done.catch(() => {}); // awaited below; a failure before then is thrown here instead
    const e = builderFailed();
    if (e) throw e;
    w.postMessage({ type: 'finish', capture: res.capture, whatIf: res.whatIf, findings, wirefall: VERSION });
    return await done;
  } finally {
    w.removeAllListeners('exit');
    void w.terminate();
  }
}

/** The real engine, with every detector, keeping the packet-level evidence the waterfall draws. */
export const CORE: CoreLinks = {
  analyzeFile: async (path, opts) =>
    analyzeFile(path, {
      keyLog: await loadKeyLog(opts.keylog),
      // Data arrivals and late segments per connection, drawn in the waterfall (tcp/marks.ts).
      packetMarks: true,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onProgress ? { onProgress: (p: AnalyzeProgress) => opts.onProgress!(toAnalysisProgress(p)) } : {}),
      findings: (r) => detectAll(r),
      // The what-if estimates (report.whatIf), shown in the UI's What-if panel.
      whatIf: (r) => whatIf(r),
    }),
  analyzeCompact: async (path, spillDir, opts) =>
    analyzeCompact(path, spillDir, {
      keyLog: await loadKeyLog(opts.keylog),
      // As analyzeFile below: the packet evidence the waterfall draws.
      packetMarks: true,
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onProgress ? { onProgress: (p: AnalyzeProgress) => opts.onProgress!(toAnalysisProgress(p)) } : {}),
    }),
  phases,
  toHar,
  headerTables,
};
