/**
 * Open captures ("documents") and the host-independent half of WirefallApi: both the Electron main
 * process and the `wirefall view` server keep a DocStore and dispatch validated calls to it.
 * How a capture is analysed is injected (`Analyze`): a worker thread (view/worker-client.ts) or
 * in-process. Node built-ins only; no DOM, no Electron.
 *
 * A document is held in one of two forms:
 *  - compact (what the engine's hosts use, view/stream-model.ts): the view model's JSON bytes and
 *    an index into a spill file of the records; no Request or Connection object is kept, details
 *    and exports read records back from the spill, which is removed when the document closes;
 *  - a whole Report (a report given to `add`, or injected analysis links returning one).
 */
import { basename } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Connection, Report, Request } from '../model/types.js';
import { MAX_KEYLOGS_PER_DOC, type AnalysisProgress, type ApiEvent, type DocId, type DocInfo, type ViewModel } from './api.js';
import { toCurl, toViewModel, type PhasesFn } from './compact.js';
import type { HeaderTableHistory } from '../header-tap.js';
import { MAX_CACHED_TABLES } from './header-tables-limits.js';
import { toDiffView, type DiffViewModel } from './diff-view.js';
import { CompactStore, isCompactDoc, removeSpillDir, type CompactDoc } from './stream-model.js';
import { prettyJsonPieces } from './export-stream.js';

/** `keylogTexts`: key logs opened in the app for this capture (added to any the host itself uses). */
export type Analyze = (path: string, onProgress: (p: AnalysisProgress) => void, signal: AbortSignal, keylogTexts?: string[]) => Promise<Report | CompactDoc>;

/** A whole Report in memory, with its view model and records by id. */
interface ReportData {
  kind: 'report';
  report: Report;
  model: ViewModel;
  requests: Map<number, Request>;
  connections: Map<number, Connection>;
}

type DocData = ReportData | { kind: 'compact'; store: CompactStore };

interface Doc {
  info: DocInfo;
  controller: AbortController;
  data?: DocData;
  done: Promise<void>;
  /** Key logs opened in the app for this capture. */
  keylogs: string[];
}

/** Bytes of progress between two progress events: 1/200 of the file, at least 64 KiB. */
export function progressStep(fileBytes: number): number {
  return Math.max(64 * 1024, Math.floor(fileBytes / 200));
}

/**
 * Captures open at once (analysing, ready or failed). Each ready one holds its compact model (or
 * its whole Report); beyond this, `open` answers with a document in state 'error' (code 'too-many-docs')
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
      (result) => {
        if (controller.signal.aborted || this.docs.get(id) !== doc) {
          if (isCompactDoc(result)) removeSpillDir(result.spill.dir);
          return;
        }
        if (isCompactDoc(result)) this.setCompact(doc, result);
        else this.setReport(doc, result);
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

  /** Replace the doc's data (a new analysis), releasing the old one's spill file. */
  private setData(doc: Doc, data: DocData): void {
    if (doc.data?.kind === 'compact') doc.data.store.dispose();
    doc.data = data;
  }

  private setCompact(doc: Doc, compact: CompactDoc): void {
    const store = new CompactStore(compact, doc.info.id);
    this.setData(doc, { kind: 'compact', store });
    doc.info.state = 'ready';
    doc.info.progress = {
      bytes: compact.capture.fileBytes,
      totalBytes: compact.capture.fileBytes,
      packets: compact.capture.packets,
      connections: store.connectionCount,
      requests: store.requestCount,
    };
    this.emit({ type: 'state', doc: { ...doc.info } });
    this.emit({ type: 'docs', docs: this.list() });
  }

  private setReport(doc: Doc, report: Report): void {
    this.setData(doc, {
      kind: 'report',
      report,
      model: toViewModel(report, doc.info.id, this.phases),
      requests: new Map(report.requests.map((r) => [r.id, r])),
      connections: new Map(report.connections.map((c) => [c.id, c])),
    });
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

  private ready(id: DocId): Doc & { data: DocData } {
    const d = this.get(id);
    if (!d.data) throw new DocError('not-ready', `${d.info.title} is not analysed yet`);
    return d as Doc & { data: DocData };
  }

  /** What the doc holds (tests and diagnostics): 'compact' or 'report', null before it is ready. */
  form(id: DocId): 'compact' | 'report' | null {
    return this.get(id).data?.kind ?? null;
  }

  /** The compact form of a ready doc (tests: what the store keeps), else null. */
  compact(id: DocId): CompactStore | null {
    const d = this.ready(id).data;
    return d.kind === 'compact' ? d.store : null;
  }

  info(id: DocId): DocInfo {
    return { ...this.get(id).info };
  }

  /**
   * The whole Report. A compact doc reads every record back from its spill file: as large as the
   * analysis' Report, for as long as the caller keeps it (diffs, HAR exports).
   */
  report(id: DocId): Report {
    const d = this.ready(id).data;
    return d.kind === 'report' ? d.report : d.store.report();
  }

  /**
   * An export (the CLI's pretty JSON, view/export-stream.ts) in pieces: the report is streamed a
   * record at a time from a compact doc's spill file; a HAR is made from the whole report.
   */
  exportPieces(id: DocId, kind: 'har' | 'report', toHar: (r: Report) => unknown): { name: string; pieces: Iterable<string> } {
    const d = this.ready(id).data;
    const report = d.kind === 'report' ? d.report : kind === 'report' ? d.store.lazyReport() : d.store.report();
    const stem = basename(report.capture.file || this.info(id).title).replace(/\.(pcapng|pcap|cap)(\.gz)?$/i, '');
    return { name: kind === 'har' ? `${stem}.har` : `${stem}.wirefall.json`, pieces: prettyJsonPieces(kind === 'har' ? toHar(report) : report) };
  }

  /** The diff of two ready documents (view/diff-view.ts), for every host (GET /api/diff, IPC). */
  diff(before: DocId, after: DocId): DiffViewModel {
    return toDiffView(this.report(before), this.report(after), { doc: before, title: this.info(before).title }, { doc: after, title: this.info(after).title });
  }

  /**
   * The view model; a compact doc's is parsed from its JSON (the view server streams `modelPieces`
   * instead). With `rows`, the head model (WirefallApi.getModelHead): its first `rows` request rows.
   */
  model(id: DocId, rows = Infinity): ViewModel {
    const d = this.ready(id).data;
    return d.kind === 'report' ? headOf(d.model, rows) : d.store.model(rows);
  }

  /** The view model as JSON text in pieces (the view server's getModel and getModelHead): a compact doc's bytes, no objects made. */
  modelPieces(id: DocId, rows = Infinity): Iterable<Buffer | string> {
    const d = this.ready(id).data;
    return d.kind === 'report' ? [JSON.stringify(headOf(d.model, rows))] : d.store.modelPieces(rows);
  }

  request(id: DocId, reqId: number): Request {
    const d = this.ready(id).data;
    const r = d.kind === 'report' ? d.requests.get(reqId) : d.store.request(reqId);
    if (!r) throw new DocError('unknown-request', `No request ${reqId}`);
    return r;
  }

  connection(id: DocId, connId: number): Connection {
    const d = this.ready(id).data;
    const c = d.kind === 'report' ? d.connections.get(connId) : d.store.connection(connId);
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

  /** Close a doc: its analysis is cancelled, its spill file removed. */
  close(id: DocId): void {
    const d = this.docs.get(id);
    if (!d) return;
    d.controller.abort();
    this.docs.delete(id);
    if (d.data?.kind === 'compact') d.data.store.dispose();
    delete d.data;
    this.emit({ type: 'docs', docs: this.list() });
  }

  /** Close every doc (the host is stopping). */
  closeAll(): void {
    for (const id of [...this.docs.keys()]) this.close(id);
  }
}

/** `callDocStore`'s answer for a method the document store does not serve (the host's own). */
export const NOT_A_STORE_METHOD: unique symbol = Symbol('not a store method');

/** `m` with only its first `rows` request rows and, when that cuts it short, `loading` (as CompactStore.modelPieces). */
function headOf(m: ViewModel, rows: number): ViewModel {
  return m.requests.length > rows ? { ...m, requests: m.requests.slice(0, rows), loading: { requests: m.requests.length } } : m;
}

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
    case 'getModelHead':
      return store.model(a[0] as DocId, a[1] as number);
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
