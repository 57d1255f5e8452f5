/**
 * The one typed API between the wirefall UI (React renderer) and whatever hosts the analysis:
 * the Electron preload (over IPC, app/preload) and the `wirefall view` server (over HTTP,
 * core/src/view/server.ts, client in app/renderer/api/http.ts). Both implement `WirefallApi`.
 *
 * The renderer never receives packets or whole Reports for drawing: it gets a `ViewModel`
 * (compact rows with phases already computed by model/phases.ts, see view/compact.ts) and asks
 * for a full `Request` / `Connection` only for the details pane.
 *
 * This file is type-only apart from constants and a few validators; it must stay free of Node and
 * DOM dependencies so that the preload, the renderer and the server can all import it.
 */
import type {
  AppProtocol,
  CaptureInfo,
  CloseHow,
  CloseReason,
  Connection,
  Endpoint,
  ExchangeState,
  Finding,
  IdlePeriod,
  PhaseId,
  Request,
  Side,
  UndecryptedReason,
  WhatIf,
} from '../model/types.js';
import type { HeaderTableHistory } from '../header-tap.js';

export type { HeaderBlockRecord, HeaderTableHistory, TableStateRecord, FieldCostRecord, TableEntryRecord } from '../header-tap.js';
import type { DiffViewModel } from './diff-view.js';
import type { CounterWarning } from './counter-docs.js';
export type { CounterWarning } from './counter-docs.js';

/** One open capture (a tab in the app, the single document of `wirefall view`). */
export type DocId = string;

export interface AnalysisProgress {
  /** Bytes of the capture file read so far. */
  bytes: number;
  /** Size of the capture file (0 when unknown). */
  totalBytes: number;
  packets: number;
  connections: number;
  requests?: number;
}

export type DocState = 'analyzing' | 'ready' | 'error' | 'cancelled';

export interface DocInfo {
  id: DocId;
  /** File name shown in the tab; the full path only where the host reveals it. */
  title: string;
  path?: string;
  state: DocState;
  progress: AnalysisProgress;
  error?: { code: string; message: string };
}

/** [phase id, start time, end time] in capture ms, in DevTools order; missing phases are absent. */
export type PhaseTuple = [PhaseId, number, number];

/** A run of response data arrivals: [startTime, endTime, packets, payload bytes] (view/marks.ts). */
export type ArrivalTuple = [number, number, number, number];

/**
 * Stall kinds drawn inside a request bar (view/marks.ts; labels and styles live in the UI):
 * 'tcp-hol' HTTP/2 TCP head-of-line (held behind other streams' lost bytes), 'loss' waiting for its
 * own retransmitted bytes, 'tcp-delivery' HTTP/1.x bytes TCP delivered later than captured,
 * 'flow-control' HTTP/2 window exhausted, 'pipelining' HTTP/1.1 waiting behind an earlier response.
 */
export type StallKind = 'tcp-hol' | 'loss' | 'tcp-delivery' | 'flow-control' | 'pipelining';

export interface StallMark {
  kind: StallKind;
  startTime: number;
  endTime: number;
  /** The cause, one sentence with its evidence (packet numbers, times). */
  text: string;
}

/** Retransmitted or out-of-order segments merged into a run: [startTime, endTime, count, direction sender, first packet]. */
export type LateTuple = [number, number, number, Side, number];

export interface RequestRow {
  id: number;
  connectionId: number;
  /** 1-based index on its connection. */
  index: number;
  streamId?: number;
  method: string;
  url: string;
  /** DevTools' Name column: last path segment (or host) plus query. */
  name: string;
  host: string;
  status: number | null;
  statusText: string;
  /** The request's HTTP version ('HTTP/1.1', 'h2', …). */
  httpVersion: string;
  /** The response's HTTP version, only where it differs from the request's. */
  responseHttpVersion?: string;
  /** The Protocol column: `httpVersion`, then `→ responseHttpVersion` where they differ. */
  protocol: string;
  /** Server address "ip:port" ("[ipv6]:port"), model/endpoint.ts. */
  remote: string;
  /** Bytes on the wire for the response (headers + body incl. framing), -1 if no response. */
  size: number;
  /** First request byte. */
  startTime: number;
  /** Last known time of the exchange (response end, else request end, else start). */
  endTime: number;
  /**
   * Start of the first timing phase (queueing, or the connection's SYN for the first request on a
   * new connection): the Timing tab's "Started at" and the left end of its bars.
   */
  timingStartTime: number;
  /**
   * DevTools' Time: the whole span of the phases, from `timingStartTime` to the end of the last phase
   * (the Timing tab's Total, HAR `time`); endTime - startTime when there are no phases.
   */
  durationMs: number;
  phases: PhaseTuple[];
  pipelined: boolean;
  connectionReused: boolean;
  state: ExchangeState;
  /**
   * Sent but never answered (model/phases.ts noResponseWait): it waited from its last request byte
   * to the connection's close or the capture end. `phases` ends with that wait as 'waiting', and
   * `durationMs` includes it; the connection's `idle` leaves it out.
   */
  noResponse?: { startTime: number; endTime: number; until: 'close' | 'capture-end'; text: string };
  /** A server-pushed stream (RFC 9113 §8.4), with the stream whose PUSH_PROMISE announced it. */
  pushed?: PushInfo;
  /**
   * When response data arrived, as runs (at most MAX_ARRIVAL_MARKS, the narrowest pauses merged):
   * of packets, or for HTTP/2 of the stream's DATA frames (`unit`); `shared`: HTTP/2 without stream
   * runs, the runs are the connection's (all streams), not this stream's alone.
   */
  arrivals?: { runs: ArrivalTuple[]; shared: boolean; unit: 'packets' | 'frames' };
  /** Stall segments with their cause (view/marks.ts), in time order. */
  stalls?: StallMark[];
  /** The response's media type (Content-Type without parameters, lower case), when it has one. */
  mimeType?: string;
  /** Packet numbers of the exchange: first request packet, last packet (of the response when there is one). */
  packets: [number, number];
  /** Indices into ViewModel.findings that name this request. */
  findings: number[];
}

/**
 * A pushed stream and what became of its promise (view/compact.ts pushInfo):
 *   - 'delivered'   the response came (wholly or in part, without a reset);
 *   - 'cancelled'   the stream was reset — by the client (RST_STREAM CANCEL or REFUSED_STREAM: it
 *                   did not want it, RFC 9113 §8.4.2) or the server — before its response ended;
 *   - 'unanswered'  promised, and no response came before the connection closed or the capture ended.
 * `endTime` is when the promise ended (the reset, the close or the capture end); `text` says it in
 * words ("cancelled by the client (CANCEL)"); DevTools shows such a row as "(canceled)".
 */
export interface PushInfo {
  promisedBy: number | null;
  outcome: 'delivered' | 'cancelled' | 'unanswered';
  /** The reset that cancelled it (HTTP/2 RST_STREAM, HTTP/3 RESET_STREAM), when 'cancelled'. */
  cancel?: { by: Side; code: string; time: number; packet: number | null };
  /** Promise time (its PUSH_PROMISE) and when it ended undelivered; absent when delivered. */
  startTime?: number;
  endTime?: number;
  /** "cancelled by the client (CANCEL)", "never answered — connection closed by the client after 255 ms". */
  text?: string;
}

/** A QUIC connection's lane facts (Connection.quic, RFC 9000): version, connection IDs, migrations. */
export interface QuicLane {
  version: string;
  /** The client's first Destination Connection ID (hex), which keys the Initial secrets. */
  originalDcid: string;
  /** Connection IDs seen (hex) by the side that chose them. */
  connectionIds: { client: string[]; server: string[] };
  /** Client address changes (RFC 9000 §9): migration or NAT rebinding. */
  migrations: { time: number; packet: number; from: string; to: string }[];
  end: 'connection-close' | 'stateless-reset' | 'idle-timeout' | 'capture-end';
  /** CONNECTION_CLOSE error name, e.g. 'H3_NO_ERROR', with who sent it. */
  closeError: string | null;
  retry: boolean;
}

export interface ConnectionRow {
  id: number;
  client: Endpoint;
  server: Endpoint;
  protocol: AppProtocol;
  startSeen: boolean;
  firstTime: number;
  lastTime: number;
  synTime: number | null;
  establishedTime: number | null;
  handshakeRttMs: number;
  /** TLS handshake span (ClientHello → handshake complete) when known, else null. */
  tls: [number, number] | null;
  /** One line of TLS facts (tls/explain.ts tlsSummary), null for a connection without TLS. */
  tlsSummary: string | null;
  /** The lane label's TLS part (tls/explain.ts tlsShort), null without TLS. */
  tlsShort: string | null;
  /** Why a TLS connection was not decrypted and how to fix it, null when decrypted or not TLS. */
  undecrypted: { reason: UndecryptedReason; text: string } | null;
  close: { by: Side | null; how: CloseHow; time: number | null; reason: CloseReason; detail?: string };
  idle: IdlePeriod[];
  /** Retransmitted or out-of-order segments (model/late-segments.ts) as lane marks; `total` counts them all. */
  late?: { marks: LateTuple[]; total: number };
  keepAlive: { timeoutS?: number; max?: number; clientConnection?: string; serverConnection?: string; defaultPersistent: boolean } | null;
  requestCount: number;
  /** What carries the connection ('tcp' when absent). */
  transport?: 'tcp' | 'quic';
  quic?: QuicLane;
  /** Request ids on this connection in index order. */
  requestIds: number[];
  /** Indices into ViewModel.findings that name this connection. */
  findings: number[];
}

export interface ViewModel {
  doc: DocId;
  wirefall: string;
  capture: CaptureInfo;
  connections: ConnectionRow[];
  requests: RequestRow[];
  findings: Finding[];
  /** The report's what-if estimates (whatif/whatif.ts), as computed by core; absent in older reports. */
  whatIf?: WhatIf;
  /** Counted anomalies and warning counters, with what each means (view/counter-docs.ts captureWarnings). */
  warnings?: CounterWarning[];
  /**
   * Only in a head model (`getModelHead`): `requests` holds the first rows (by id) of the
   * `requests` the whole model has; everything else is whole. The page draws it while the whole
   * model loads, as DevTools fills its table.
   */
  loading?: { requests: number };
}

/** Request rows in a head model (`getModelHead`): a few screens of the waterfall. */
export const MODEL_HEAD_ROWS = 1000;

export type ExportKind = 'har' | 'report';

export interface ExportResult {
  /** False when the user cancelled a save dialog. */
  saved: boolean;
  /** Where it went: a file path (desktop) or a file name (browser download). */
  location?: string;
}

export type ApiEvent =
  | { type: 'docs'; docs: DocInfo[] }
  | { type: 'progress'; doc: DocId; progress: AnalysisProgress }
  | { type: 'state'; doc: DocInfo }
  /** Desktop menu actions routed to the renderer (focus filter, toggle grouping, ...). */
  | { type: 'command'; command: UiCommand };

export type UiCommand =
  | 'focus-filter'
  | 'toggle-group'
  | 'toggle-findings'
  | 'copy-curl'
  | 'export-har'
  | 'export-report'
  | 'zoom-in'
  | 'zoom-out'
  | 'zoom-reset';

/** Host capabilities the UI adapts to (no "Open…" in browser mode, for instance). */
export interface HostInfo {
  kind: 'electron' | 'browser';
  canOpenFiles: boolean;
  /** Browser mode: captures can be sent to the server (POST /api/upload, streamed to a temp file). */
  canUpload?: boolean;
  /** `wirefall view DIR`: the captures in that directory, to open by name. */
  directory?: { path: string; captures: { name: string; bytes: number }[] };
  platform: string;
  /** Two open captures to compare (`wirefall view BEFORE --compare AFTER`): the UI opens their diff. */
  compare?: { before: DocId; after: DocId };
}

/**
 * Implemented by the preload (window.wirefall) and by the HTTP client of `wirefall view`.
 * Every method is async and takes only plain data; errors reject with an Error whose message is
 * meant for the user.
 */
export interface WirefallApi {
  host(): Promise<HostInfo>;
  listDocs(): Promise<DocInfo[]>;
  getModel(doc: DocId): Promise<ViewModel>;
  /**
   * The view model with only its first `rows` request rows (`loading` says how many the whole one
   * has), drawn while `getModel`'s much larger answer loads. Optional: a host whose getModel is
   * quick (the desktop app's IPC) leaves it out.
   */
  getModelHead?(doc: DocId, rows: number): Promise<ViewModel>;
  getRequest(doc: DocId, id: number): Promise<Request>;
  getConnection(doc: DocId, id: number): Promise<Connection>;
  /** A `curl` command line reproducing the request (POSIX shell quoting). */
  curl(doc: DocId, id: number): Promise<string>;
  exportDoc(doc: DocId, kind: ExportKind): Promise<ExportResult>;
  cancel(doc: DocId): Promise<void>;
  closeDoc(doc: DocId): Promise<void>;
  /** Desktop only (canOpenFiles): show the native Open dialog; resolves with the new docs. */
  openDialog(): Promise<DocInfo[]>;
  /** Desktop only: open dropped files by path. */
  openPaths(paths: string[]): Promise<DocInfo[]>;
  /**
   * Add a TLS key log (NSS format text, as read from a file the user picked or dropped) to a
   * capture and analyse it again with every key log added so far; resolves with the doc (state
   * 'analyzing'). Both hosts: the text is read in the page, no path crosses the API.
   */
  addKeyLog(doc: DocId, text: string): Promise<DocInfo>;
  /**
   * The HPACK (h2) or QPACK (h3) table history of one connection for the inspector: the capture is
   * analysed again with that connection recording (view/header-tables.ts). Optional: a host
   * without it has no inspector.
   */
  headerTables?(doc: DocId, connectionId: number): Promise<HeaderTableHistory>;
  /** Browser mode (`canUpload`): send a capture file to the server, which opens it. */
  upload?(file: Blob & { readonly name: string }, onProgress?: (sent: number, total: number) => void): Promise<DocInfo>;
  /** `wirefall view DIR` (`HostInfo.directory`): open one of the listed captures by name. */
  openListed?(name: string): Promise<DocInfo>;
  subscribe(listener: (ev: ApiEvent) => void): () => void;
  /**
   * The diff of two ready captures (view/diff-view.ts: diff/diff.ts `diffReports` plus their lanes
   * per origin): GET /api/diff in browser mode, the IPC call in the desktop app.
   */
  diff?(before: DocId, after: DocId): Promise<DiffViewModel>;
}

/** Method names, for hosts that dispatch by name (IPC channel `wirefall:call`, HTTP `/api/<name>`). */
export const API_METHODS = [
  'host',
  'listDocs',
  'getModel',
  'getModelHead',
  'getRequest',
  'getConnection',
  'curl',
  'exportDoc',
  'cancel',
  'closeDoc',
  'openDialog',
  'openPaths',
  'addKeyLog',
  'headerTables',
  'openListed',
  'diff',
] as const satisfies readonly Exclude<keyof WirefallApi, 'subscribe'>[];

export type ApiMethod = (typeof API_METHODS)[number];

/** A key log opened in the app, in characters (a browser session's key log is a few KB per site). */
export const MAX_KEYLOG_UPLOAD_CHARS = 8 * 1024 * 1024;
/** Key logs kept per open capture; the oldest is dropped beyond it. */
export const MAX_KEYLOGS_PER_DOC = 16;

/** Validates untrusted call arguments; returns an error message or null. */
export function validateCall(method: unknown, args: unknown): string | null {
  if (typeof method !== 'string' || !(API_METHODS as readonly string[]).includes(method)) return 'unknown method';
  if (!Array.isArray(args)) return 'arguments must be an array';
  const m = method as ApiMethod;
  const isDoc = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= 64 && /^[A-Za-z0-9_-]+$/.test(v);
  const isId = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < 2 ** 31;
  switch (m) {
    case 'host':
    case 'listDocs':
    case 'openDialog':
      return args.length === 0 ? null : 'expected no arguments';
    case 'getModel':
    case 'cancel':
    case 'closeDoc':
      return args.length === 1 && isDoc(args[0]) ? null : 'expected (doc)';
    case 'getModelHead':
    case 'getRequest':
    case 'getConnection':
    case 'headerTables':
    case 'curl':
      return args.length === 2 && isDoc(args[0]) && isId(args[1]) ? null : 'expected (doc, id)';
    case 'exportDoc':
      return args.length === 2 && isDoc(args[0]) && (args[1] === 'har' || args[1] === 'report') ? null : "expected (doc, 'har' | 'report')";
    case 'addKeyLog':
      return args.length === 2 && isDoc(args[0]) && typeof args[1] === 'string' && args[1].length <= MAX_KEYLOG_UPLOAD_CHARS ? null : `expected (doc, text of at most ${MAX_KEYLOG_UPLOAD_CHARS} characters)`;
    case 'diff':
      return args.length === 2 && isDoc(args[0]) && isDoc(args[1]) ? null : 'expected (before doc, after doc)';
    case 'openListed':
      return args.length === 1 && typeof args[0] === 'string' && args[0].length > 0 && args[0].length < 256 && !/[/\\\0]/.test(args[0]) && args[0] !== '..' && args[0] !== '.' ? null : 'expected (name)';
    case 'openPaths':
      return args.length === 1 &&
        Array.isArray(args[0]) &&
        args[0].length <= 64 &&
        args[0].every((p) => typeof p === 'string' && p.length > 0 && p.length < 4096 && !p.includes('\0'))
        ? null
        : 'expected (paths: string[])';
  }
}
