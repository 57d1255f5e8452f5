/**
 * Open captures ("documents") and the host-independent half of WirefallApi: both the Electron main
 * process and the `wirefall view` server keep a DocStore and dispatch validated calls to it.
 * How a capture is analysed is injected (`Analyze`): in-process for the view server, a worker for
 * the desktop app. Node built-ins only; no DOM, no Electron.
 */
import { basename } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Connection, Report, Request } from '../model/types.js';
import { MAX_KEYLOGS_PER_DOC, type AnalysisProgress, type ApiEvent, type DocId, type DocInfo, type ViewModel } from './api.js';
import { toCurl, toViewModel, type PhasesFn } from './compact.js';
import type { HeaderTableHistory } from '../header-tap.js';
import { MAX_CACHED_TABLES } from './header-tables-limits.js';
import { toDiffView, type DiffViewModel } from './diff-view.js';

/** `keylogTexts`: key logs opened in the app for this capture (added to any the host itself uses). */
export type Analyze = (path: string, onProgress: (p: AnalysisProgress) => void, signal: AbortSignal, keylogTexts?: string[]) => Promise<Report>;

interface Doc {
  info: DocInfo;
  controller: AbortController;
  report?: Report;
  model?: ViewModel;
  requests?: Map<number, Request>;
  connections?: Map<number, Connection>;
  done: Promise<void>;
  /** Key logs opened in the app for this capture. */
  keylogs: string[];
}

/** Bytes of progress between two progress events: 1/200 of the file, at least 64 KiB. */
export function progressStep(fileBytes: number): number {
  return Math.max(64 * 1024, Math.floor(fileBytes / 200));
}

/**
 * Captures open at once (analysing, ready or failed). Each ready one holds its whole Report and
 * view model; beyond this, `open` answers with a document in state 'error' (code 'too-many-docs')
 * that is not kept, so a flood of opens cannot grow memory or start unbounded analyses.
 */
export const MAX_OPEN_DOCS = 64;

export class DocError extends Error {
  override name = 'DocError';
  constructor(
    readonly code: 'unknown-doc' | 'not-ready' | 'unknown-request' | 'unknown-connection' | 'too-many-docs',
    message: string,
  ) {
    super(message);
  }
}

/** Re-analyses a capture recording one connection's header tables (view/header-tables.ts). */
export type Tables = (path: string, connectionId: number, keylogTexts: string[] | undefined) => Promise<HeaderTableHistory>;

export class DocStore {
  private readonly docs = new Map<DocId, Doc>();
  private readonly listeners = new Set<(ev: ApiEvent) => void>();
  /** Header-table histories asked for, newest last (at most MAX_CACHED_TABLES). */
  private readonly tableCache = new Map<string, Promise<HeaderTableHistory>>();

  constructor(
    private readonly analyze: Analyze,
    private readonly phases: PhasesFn,
    private readonly tables: Tables | null = null,
  ) {}

  /**
   * The HPACK / QPACK table history of an HTTP/2 or HTTP/3 connection (the inspector), computed by
   * analysing the capture again (`tables`); cached per document and connection.
   */
  headerTables(id: DocId, connId: number): Promise<HeaderTableHistory> {
    const d = this.ready(id);
    const c = this.connection(id, connId);
    if (!this.tables) return Promise.reject(new DocError('not-ready', 'The header-table inspector is not available here'));
    if (!d.info.path) return Promise.reject(new DocError('not-ready', `${d.info.title} has no capture file to decode again`));
    if (c.protocol !== 'h2' && c.protocol !== 'h2c' && c.protocol !== 'h3') return Promise.reject(new DocError('unknown-connection', `Connection ${connId} is ${c.protocol}: no HPACK or QPACK table`));
    const key = `${id}/${d.keylogs.length}/${connId}`;
    let p = this.tableCache.get(key);
    if (!p) {
      p = this.tables(d.info.path, connId, d.keylogs.length ? [...d.keylogs] : undefined);
      p.catch(() => this.tableCache.delete(key));
      this.tableCache.set(key, p);
      while (this.tableCache.size > MAX_CACHED_TABLES) this.tableCache.delete(this.tableCache.keys().next().value!);
    }
    return p;
  }

  subscribe(listener: (ev: ApiEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(ev: ApiEvent): void {
    for (const l of this.listeners) l(ev);
  }

  list(): DocInfo[] {
    return [...this.docs.values()].map((d) => ({ ...d.info }));
  }

  /** Start analysing a capture; resolves immediately with its DocInfo (state 'analyzing'). */
  open(path: string, fileBytes = 0): DocInfo {
    const info: DocInfo = {
      id: 'd' + randomBytes(6).toString('hex'),
      title: basename(path),
      path,
      state: 'analyzing',
      progress: { bytes: 0, totalBytes: fileBytes, packets: 0, connections: 0 },
    };
    if (this.docs.size >= MAX_OPEN_DOCS) {
      const refused: DocInfo = {
        ...info,
        state: 'error',
        error: { code: 'too-many-docs', message: `${MAX_OPEN_DOCS} captures are already open; close one first` },
      };
      this.emit({ type: 'state', doc: { ...refused } });
      return refused;
    }
    const doc: Doc = { info, controller: new AbortController(), done: Promise.resolve(), keylogs: [] };
    this.docs.set(info.id, doc);
    this.emit({ type: 'docs', docs: this.list() });
    this.start(doc, path, fileBytes);
    return { ...info };
  }

  /**
   * Analyse the doc's capture again with one more TLS key log: the running analysis (if any) is
   * cancelled and the doc goes back to 'analyzing'; the view model is replaced when it is done.
   */
  addKeyLog(id: DocId, text: string): DocInfo {
    const doc = this.get(id);
    const path = doc.info.path;
    if (!path) throw new DocError('not-ready', `${doc.info.title} has no capture file to analyse again`);
    doc.keylogs.push(text);
    if (doc.keylogs.length > MAX_KEYLOGS_PER_DOC) doc.keylogs.shift();
    doc.controller.abort();
    doc.controller = new AbortController();
    doc.info.state = 'analyzing';
    delete doc.info.error;
    this.emit({ type: 'state', doc: { ...doc.info } });
    this.start(doc, path, doc.info.progress.totalBytes);
    return { ...doc.info };
  }

  private start(doc: Doc, path: string, fileBytes: number): void {
    const info = doc.info;
    const id = info.id;
    const controller = doc.controller;
    const step = progressStep(fileBytes);
    let lastBytes = -Infinity;
    const onProgress = (p: AnalysisProgress) => {
      info.progress = { ...p, totalBytes: p.totalBytes || info.progress.totalBytes };
      // Throttled by progress made (no wall clock in core): about 200 updates per file.
      if (p.bytes - lastBytes >= step) {
        lastBytes = p.bytes;
        this.emit({ type: 'progress', doc: id, progress: info.progress });
      }
    };
    doc.done = this.analyze(path, onProgress, controller.signal, doc.keylogs.length ? [...doc.keylogs] : undefined).then(
      (report) => {
        if (controller.signal.aborted) return;
        this.setReport(doc, report);
      },
      (err: unknown) => {
        // Superseded by a newer analysis of the same doc (addKeyLog): that one reports.
        if (controller !== doc.controller) return;
        info.state = controller.signal.aborted ? 'cancelled' : 'error';
        if (info.state === 'error') {
          const e = err as { code?: unknown; message?: unknown };
          info.error = { code: typeof e?.code === 'string' ? e.code : 'analysis-failed', message: String(e?.message ?? err) };
        }
        this.emit({ type: 'state', doc: { ...info } });
        this.emit({ type: 'docs', docs: this.list() });
      },
    );
  }

  /** Add an already analysed report (e.g. `wirefall view` given a Report). */
  add(report: Report, title = basename(report.capture.file || 'report')): DocInfo {
    const id = 'd' + randomBytes(6).toString('hex');
    if (this.docs.size >= MAX_OPEN_DOCS) throw new DocError('too-many-docs', `${MAX_OPEN_DOCS} captures are already open; close one first`);
    const info: DocInfo = {
      id,
      title,
      state: 'analyzing',
      progress: { bytes: report.capture.fileBytes, totalBytes: report.capture.fileBytes, packets: report.capture.packets, connections: report.connections.length },
    };
    if (report.capture.file) info.path = report.capture.file;
    const doc: Doc = { info, controller: new AbortController(), done: Promise.resolve(), keylogs: [] };
    this.docs.set(id, doc);
    this.setReport(doc, report);
    return { ...info };
  }

  private setReport(doc: Doc, report: Report): void {
    doc.report = report;
    doc.model = toViewModel(report, doc.info.id, this.phases);
    doc.requests = new Map(report.requests.map((r) => [r.id, r]));
    doc.connections = new Map(report.connections.map((c) => [c.id, c]));
    doc.info.state = 'ready';
    doc.info.progress = {
      bytes: report.capture.fileBytes,
      totalBytes: report.capture.fileBytes,
      packets: report.capture.packets,
      connections: report.connections.length,
      requests: report.requests.length,
    };
    this.emit({ type: 'state', doc: { ...doc.info } });
    this.emit({ type: 'docs', docs: this.list() });
  }

  /** Resolves when the doc's analysis has settled (ready, error or cancelled). */
  async settled(id: DocId): Promise<DocInfo> {
    const d = this.get(id);
    await d.done;
    return { ...d.info };
  }

  private get(id: DocId): Doc {
    const d = this.docs.get(id);
    if (!d) throw new DocError('unknown-doc', `No open capture ${id}`);
    return d;
  }

  private ready(id: DocId): Doc & { report: Report; model: ViewModel; requests: Map<number, Request>; connections: Map<number, Connection> } {
    const d = this.get(id);
    if (!d.report || !d.model || !d.requests || !d.connections) throw new DocError('not-ready', `${d.info.title} is not analysed yet`);
    return d as Doc & { report: Report; model: ViewModel; requests: Map<number, Request>; connections: Map<number, Connection> };
  }

  info(id: DocId): DocInfo {
    return { ...this.get(id).info };
  }

  report(id: DocId): Report {
    return this.ready(id).report;
  }

  /** The diff of two ready documents (view/diff-view.ts), for every host (GET /api/diff, IPC). */
  diff(before: DocId, after: DocId): DiffViewModel {
    return toDiffView(this.report(before), this.report(after), { doc: before, title: this.info(before).title }, { doc: after, title: this.info(after).title });
  }

  model(id: DocId): ViewModel {
    return this.ready(id).model;
  }

  request(id: DocId, reqId: number): Request {
    const r = this.ready(id).requests.get(reqId);
    if (!r) throw new DocError('unknown-request', `No request ${reqId}`);
    return r;
  }

  connection(id: DocId, connId: number): Connection {
    const c = this.ready(id).connections.get(connId);
    if (!c) throw new DocError('unknown-connection', `No connection ${connId}`);
    return c;
  }

  curl(id: DocId, reqId: number): string {
    return toCurl(this.request(id, reqId));
  }

  cancel(id: DocId): void {
    const d = this.get(id);
    if (d.info.state === 'analyzing') d.controller.abort();
  }

  close(id: DocId): void {
    const d = this.docs.get(id);
    if (!d) return;
    d.controller.abort();
    this.docs.delete(id);
    this.emit({ type: 'docs', docs: this.list() });
  }
}

/** `callDocStore`'s answer for a method the document store does not serve (the host's own). */
export const NOT_A_STORE_METHOD: unique symbol = Symbol('not a store method');

/**
 * The WirefallApi methods both hosts serve from their DocStore, dispatched once for the view
 * server's `/api/call` and the desktop app's IPC (arguments already checked by `validateCall`).
 * Host-specific methods (host, exportDoc, openDialog, openPaths, openListed) answer
 * NOT_A_STORE_METHOD.
 */
export function callDocStore(store: DocStore, method: string, a: readonly unknown[]): unknown {
  switch (method) {
    case 'listDocs':
      return store.list();
    case 'getModel':
      return store.model(a[0] as DocId);
    case 'getRequest':
      return store.request(a[0] as DocId, a[1] as number);
    case 'getConnection':
      return store.connection(a[0] as DocId, a[1] as number);
    case 'curl':
      return store.curl(a[0] as DocId, a[1] as number);
    case 'cancel':
      store.cancel(a[0] as DocId);
      return null;
    case 'closeDoc':
      store.close(a[0] as DocId);
      return null;
    case 'addKeyLog':
      return store.addKeyLog(a[0] as DocId, a[1] as string);
    case 'headerTables':
      return store.headerTables(a[0] as DocId, a[1] as number);
    case 'diff':
      return store.diff(a[0] as DocId, a[1] as DocId);
    default:
      return NOT_A_STORE_METHOD;
  }
}
