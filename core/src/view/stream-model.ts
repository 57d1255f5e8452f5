/**
 * The compact document of `wirefall view` (and the desktop app): a capture analysed streaming
 * (pipeline.ts `analyzeStreaming`: engine, streaming detectors, what-if collector), its view model
 * built as the records arrive, and no Request or Connection object kept once it is used.
 *
 *  - Every request and connection record is written whole, as one line of JSON, to a spill file
 *    in a private temporary directory (os.tmpdir()/wirefall-spill-XXXX); its (offset, length) go to
 *    typed arrays by id. The details pane, "Copy as cURL", exports and diffs read them back.
 *  - Each request row (view/compact.ts `toRequestRow`, the same function `toViewModel` uses) is
 *    stored as JSON text without its `findings` (known only once the detectors are done; appended
 *    when the model is sent), in two parts: what the request alone gives, written as it arrives
 *    (in id order, into chunks deflated when full), and what its connection gives (remote, data
 *    arrivals, stalls: the connection's packet marks), written when the connection completes. Until
 *    then only a few numbers of each request wait, as a short JSON string (`miniOf`). A request
 *    that may wait for the close (unanswered) has its whole row made at its connection instead.
 *  - Connection rows are made as connections complete; findings are sorted as detectAll sorts them.
 *  - What crosses from the analysis worker to the server thread is `CompactDoc`: those chunks and
 *    index arrays (transferred, not copied), the connection rows, findings, what-if and warnings.
 *
 * `CompactStore` is the server side: it streams the model's JSON in pieces (`modelPieces`, the same
 * value as `toViewModel(report)`), reads records back by id, and removes the spill when disposed
 * (DocStore.close) or at process exit (`removeSpillsAtExit`).
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRaw, deflateRawSync, inflateRawSync } from 'node:zlib';
import type { CaptureInfo, Connection, Finding, Report, Request, WhatIf } from '../model/types.js';
import { noResponseWait } from '../model/phases.js';
import type { ConnectionRow, DocId, RequestRow, ViewModel } from './api.js';
import { toConnectionRow, toRequestRow, type PhasesFn } from './compact.js';
import { endpointText } from '../model/endpoint.js';
import { captureWarnings, type CounterWarning } from './counter-docs.js';
import { requestArrivals, requestStalls, stallIndex, type StallIndex } from './marks.js';
import { groupFindings } from './finding-groups.js';
import { grow } from '../util/grow.js';

/** Requests the what-if collector keeps in the view (the CLI's streamed default is lower). */
export const VIEW_WHATIF_MAX_REQUESTS = 10_000_000;
/** Bytes of one chunk of row JSON (a row longer than this gets a chunk of its own): deflated when full… */
const ROW_CHUNK_BYTES = 4 * 1024 * 1024;
/** …and of the parts made when a connection completes, kept as they are (copied out when full). */
const TAIL_CHUNK_BYTES = 1024 * 1024;
/** Row chunks being deflated on zlib's thread pool at once (more are deflated synchronously). */
const MAX_DEFLATING = 2;
/** Bytes of spill text buffered before a write. */
const SPILL_BUFFER_BYTES = 4 * 1024 * 1024;
const FINDINGS_TAIL = '"findings":[]}';
/** Slots of the Int32Array over the SharedArrayBuffer between an analysis and its builder thread (view/compact-worker.ts). */
export const FLOW_IN_FLIGHT = 0;
export const FLOW_FAILED = 1;

/** What the analysis hands to the document store (structured-clonable; `transfer` lists its buffers). */
export interface CompactDoc {
  kind: 'compact';
  wirefall: string;
  capture: CaptureInfo;
  /** Connection rows by id, their `findings` filled. */
  connections: ConnectionRow[];
  /** In detectAll's order (start time, then kind). */
  findings: Finding[];
  whatIf?: WhatIf;
  warnings: CounterWarning[];
  /**
   * Request rows' JSON by request id, in two parts: `{` and the members made when the request
   * arrived, then (`tails`) those its connection gave (remote, arrivals, stalls) — or only a
   * `tails` part, the whole row of a request that may wait for the close — each part ending with
   * `,`, up to where `"findings":[…]}` goes.
   */
  rows: {
    /** Deflated (raw) when `deflated`: inflated one at a time as the model is sent. */
    chunks: ArrayBuffer[];
    deflated: boolean;
    chunk: Uint16Array;
    offset: Uint32Array;
    length: Uint32Array;
    count: number;
    tails: { chunks: ArrayBuffer[]; chunk: Uint16Array; offset: Uint32Array; length: Uint32Array };
  };
  /** The spill file (one JSON record a line) and where each record is in it. */
  spill: {
    dir: string;
    file: string;
    requests: { offset: Float64Array; length: Uint32Array; count: number };
    /** Sorted by id. */
    connections: { id: Float64Array; offset: Float64Array; length: Uint32Array; count: number };
  };
}

/** The ArrayBuffers of a CompactDoc, to transfer rather than copy to another thread. */
export function compactTransfer(d: CompactDoc): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>([...d.rows.chunks, ...d.rows.tails.chunks]);
  for (const a of [d.rows.chunk, d.rows.offset, d.rows.length, d.rows.tails.chunk, d.rows.tails.offset, d.rows.tails.length, d.spill.requests.offset, d.spill.requests.length, d.spill.connections.id, d.spill.connections.offset, d.spill.connections.length])
    out.add(a.buffer as ArrayBuffer);
  return [...out];
}

export function isCompactDoc(v: unknown): v is CompactDoc {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'compact';
}

// ---- spill directories: removed when their document closes, or at exit ------------------------

const liveSpills = new Set<string>();
let exitHookInstalled = false;

/** A fresh private directory for one analysis' spill file; removed at process exit if still there. */
export function makeSpillDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wirefall-spill-'));
  liveSpills.add(dir);
  removeSpillsAtExit();
  return dir;
}

/** Remove a spill directory (idempotent). */
export function removeSpillDir(dir: string): void {
  liveSpills.delete(dir);
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch {
    /* already gone */
  }
}

/** Spill directories made by this process and not removed yet. */
export function liveSpillDirs(): string[] {
  return [...liveSpills];
}

/** Installs (once) a process 'exit' hook removing every spill directory still there. */
export function removeSpillsAtExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const d of [...liveSpills]) removeSpillDir(d);
  });
}

// ---- worker side ------------------------------------------------------------------------------

/** Appends JSON lines to the spill file, recording where each is. */
class SpillWriter {
  private readonly fd: number;
  /** Encoded straight into this buffer, written out when the next record may not fit. */
  private buf = Buffer.allocUnsafeSlow(SPILL_BUFFER_BYTES);
  private used = 0;
  /** File offset of buf[0]. */
  private base = 0;
  reqOffset = new Float64Array(1024);
  reqLength = new Uint32Array(1024);
  reqCount = 0;
  conns: { id: number; offset: number; length: number }[] = [];

  constructor(readonly file: string) {
    this.fd = openSync(file, 'w', 0o600);
  }

  private put(s: string): [number, number] {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    const most = s.length * 3 + 1;
    if (this.used + most > this.buf.length) {
      this.flush();
      if (most > this.buf.length) this.buf = Buffer.allocUnsafeSlow(most);
    }
    const at = this.base + this.used;
    const len = this.buf.write(s, this.used, 'utf8');
    this.buf[this.used + len] = 0x0a;
    this.used += len + 1;
    return [at, len];
  }

  /** `json`: the record's JSON when the caller has it already (the builder thread gets it so). */
  request(r: Request, json = JSON.stringify(r)): void {
    const [at, len] = this.put(json);
    this.reqOffset = grow(this.reqOffset, r.id + 1);
    this.reqLength = grow(this.reqLength, r.id + 1);
    this.reqOffset[r.id] = at;
    this.reqLength[r.id] = len;
    if (r.id + 1 > this.reqCount) this.reqCount = r.id + 1;
  }

  connection(c: Connection, json = JSON.stringify(c)): void {
    const [at, len] = this.put(json);
    this.conns.push({ id: c.id, offset: at, length: len });
  }

  flush(): void {
    let off = 0;
    while (off < this.used) off += writeSync(this.fd, this.buf, off, this.used - off);
    this.base += this.used;
    this.used = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

/** Exactly `b`'s bytes in an ArrayBuffer of their own (transferable, nothing else in it). */
function ownBuffer(b: Buffer): ArrayBuffer {
  if (b.byteOffset === 0 && b.buffer.byteLength === b.length) return b.buffer as ArrayBuffer;
  const c = Buffer.allocUnsafeSlow(b.length);
  b.copy(c);
  return c.buffer as ArrayBuffer;
}

/**
 * Rows' JSON (without findings) in large chunks, by id. With `compress`, each full chunk is
 * deflated (zlib's thread pool, beside the analysis) — for rows written in id order, which the
 * server then inflates one chunk at a time as it streams them.
 */
class RowWriter {
  private readonly packed: (Promise<Buffer> | Buffer)[] = [];
  private cur: Buffer | null = null;
  private pos = 0;
  private deflating = 0;
  chunk = new Uint16Array(1024);
  offset = new Uint32Array(1024);
  length = new Uint32Array(1024);
  count = 0;

  constructor(
    readonly compress: boolean,
    private readonly chunkBytes: number,
  ) {}

  /** `json`: an object whose last member is `"findings":[]`; kept without it (and without `{` unless `open`). */
  put(id: number, json: string, open = true): void {
    if (!json.endsWith(FINDINGS_TAIL)) throw new Error(`request row ${id}: findings is not its last member`);
    const s = json.slice(open ? 0 : 1, json.length - FINDINGS_TAIL.length);
    const most = s.length * 3;
    if (!this.cur || this.pos + most > this.cur.length) {
      this.seal();
      this.cur = Buffer.allocUnsafeSlow(Math.max(this.chunkBytes, most));
      this.pos = 0;
      if (this.packed.length >= 0xffff) throw new Error('too many row chunks');
    }
    const len = this.cur.write(s, this.pos, 'utf8');
    this.chunk = grow(this.chunk, id + 1);
    this.offset = grow(this.offset, id + 1);
    this.length = grow(this.length, id + 1);
    this.chunk[id] = this.packed.length;
    this.offset[id] = this.pos;
    this.length[id] = len;
    this.pos += len;
    if (id + 1 > this.count) this.count = id + 1;
  }

  /** The current chunk is done: deflated (asynchronously) or trimmed to its bytes. */
  private seal(): void {
    if (!this.cur) return;
    const used = this.cur.subarray(0, this.pos);
    if (!this.compress) this.packed.push(Buffer.from(used));
    // On zlib's thread pool (beside the analysis) while few are waiting; else here, so that
    // chunks waiting to be deflated cannot pile up.
    else if (this.deflating >= MAX_DEFLATING) this.packed.push(deflateRawSync(used, { level: 1 }));
    else {
      this.deflating++;
      this.packed.push(
        new Promise<Buffer>((ok, fail) =>
          deflateRaw(used, { level: 1 }, (e, b) => {
            this.deflating--;
            if (e) fail(e);
            else ok(b);
          }),
        ),
      );
    }
    this.cur = null;
  }

  /** Every chunk, after the last row (grown to `count` ids: those with no row have length 0). */
  async chunks(count: number): Promise<ArrayBuffer[]> {
    this.seal();
    this.chunk = grow(this.chunk, count);
    this.offset = grow(this.offset, count);
    this.length = grow(this.length, count);
    return (await Promise.all(this.packed)).map(ownBuffer);
  }
}

/**
 * A copy of a request holding only what a row reads (view/compact.ts, view/marks.ts,
 * model/phases.ts): held until its connection completes, without headers, timings or anomalies.
 */
export function rowRequest(r: Request): Request {
  const ct = r.responseHeaders.find((h) => h.name.toLowerCase() === 'content-type');
  const h2 = r.h2 as (Record<string, unknown> & Request['h2']) | undefined;
  const h1 = r.http1 as Record<string, unknown> | undefined;
  const ex = r.extra;
  return {
    id: r.id,
    connectionId: r.connectionId,
    index: r.index,
    streamId: r.streamId,
    method: r.method,
    url: r.url,
    target: r.target,
    httpVersion: r.httpVersion,
    status: r.status,
    statusText: r.statusText,
    requestHeaders: [],
    responseHeaders: ct ? [ct] : [],
    sizes: { responseHeaders: r.sizes.responseHeaders, responseBodyWire: r.sizes.responseBodyWire } as Request['sizes'],
    times: r.times,
    timings: undefined as unknown as Request['timings'],
    pipelined: r.pipelined,
    connectionReused: r.connectionReused,
    pushed: r.pushed,
    state: r.state,
    packets: r.packets,
    lostBytes: r.lostBytes,
    anomalies: [],
    h2: h2 ? ({ promisedBy: h2.promisedBy, rst: h2.rst, dataRuns: h2.dataRuns } as unknown as Request['h2']) : undefined,
    http1: h1 ? ({ responseHttpVersion: h1.responseHttpVersion, deliveredTimes: h1.deliveredTimes } as unknown as Request['http1']) : undefined,
    extra: ex && (ex.rst !== undefined || ex.cancelPush !== undefined) ? { rst: ex.rst, cancelPush: ex.cancelPush } : undefined,
  } as Request;
}

/**
 * Whether a request's row can depend on its connection beyond `remote`, `arrivals` and `stalls`:
 * an unanswered one waits until the connection's close (model/phases.ts noResponseWait).
 */
function mayWait(r: Request): boolean {
  // A close and a capture end later than anything: only the request's own state decides.
  return noResponseWait(r, { close: { time: Number.MAX_VALUE, by: null } }, Number.MAX_VALUE) !== null;
}

/**
 * What `requestArrivals` / `requestStalls` (view/marks.ts) and a connection row (its first
 * request's TLS times) read of a request, as a JSON array: [id, index, streamId, pipelined,
 * requestStart, requestEnd, responseStart, responseEnd, sslStart, sslEnd, h2 dataRuns, http1 deliveredTimes].
 */
function miniOf(r: Request): string {
  const t = r.times;
  return JSON.stringify([r.id, r.index, r.streamId ?? null, r.pipelined ? 1 : 0, t.requestStartTime, t.requestEndTime, t.responseStartTime, t.responseEndTime, t.sslStartTime, t.sslEndTime, r.h2?.dataRuns ?? null, r.http1?.deliveredTimes ?? null]);
}

type Mini = [number, number, number | null, number, number, number | null, number | null, number | null, number | null, number | null, unknown, unknown];

/** A Request-shaped view of a mini record (only what marks.ts and tlsSpan read). */
function fromMini(m: Mini): Request {
  return {
    id: m[0],
    index: m[1],
    ...(m[2] !== null ? { streamId: m[2] } : {}),
    pipelined: m[3] === 1,
    times: { requestStartTime: m[4], requestEndTime: m[5], responseStartTime: m[6], responseEndTime: m[7], sslStartTime: m[8], sslEndTime: m[9] },
    ...(m[10] !== null ? { h2: { dataRuns: m[10] } } : {}),
    ...(m[11] !== null ? { http1: { deliveredTimes: m[11] } } : {}),
  } as unknown as Request;
}

/**
 * Every pending request is a mini record (`[id,index,…`: none may wait for the close) and their
 * indices strictly increase (the order `rowsOf` sorts them into). Read from the text, unparsed.
 */
function minisInIndexOrder(list: string[]): boolean {
  let last = -Infinity;
  for (const s of list) {
    if (s.charCodeAt(0) !== 0x5b) return false;
    const a = s.indexOf(',');
    const i = Number(s.slice(a + 1, s.indexOf(',', a + 1)));
    if (!(i > last)) return false;
    last = i;
  }
  return true;
}

/** A pending request: its mini record (row already written) or, when it may wait, its slim copy. */
interface Pending {
  r: Request;
  /** The row still to be made whole (`rowRequest` copy) rather than completed. */
  whole: boolean;
}

/** Builds the compact document from the streamed records (see the module comment). */
export class CompactBuilder {
  private readonly spill: SpillWriter;
  /** Rows' JSON made when a request arrives, in id order (deflated)… */
  private readonly rows = new RowWriter(true, ROW_CHUNK_BYTES);
  /**
   * …and, written when its connection completes, the members only it gives (remote, arrivals,
   * stalls), or the whole row of a request that may wait for the close.
   */
  private readonly tails = new RowWriter(false, TAIL_CHUNK_BYTES);
  /**
   * Requests of connections not complete yet, in arrival order, as JSON text (`miniOf`, or a
   * `rowRequest` copy when the row may wait for the close): one string each rather than a dozen
   * live objects, so a long connection's requests cost little memory and garbage collection.
   */
  private readonly pending = new Map<number, string[]>();
  /** Connections whose rows need the capture's end (an unanswered request, no close time). */
  private readonly deferred: { c: Connection; reqs: Pending[] }[] = [];
  private readonly connRows: ConnectionRow[] = [];
  /** Connection ids and anomaly codes (for the warnings). */
  private readonly anomalies: { id: number; anomalies: { code: string }[] }[] = [];
  readonly findings: Finding[] = [];

  constructor(
    readonly dir: string,
    private readonly phases: PhasesFn,
  ) {
    this.spill = new SpillWriter(join(dir, 'records.jsonl'));
  }

  /** `json`: JSON.stringify(r), when the caller has it (view/compact-worker.ts). */
  request(r: Request, json?: string): void {
    this.spill.request(r, json);
    let l = this.pending.get(r.connectionId);
    if (!l) this.pending.set(r.connectionId, (l = []));
    if (mayWait(r)) {
      l.push(JSON.stringify(rowRequest(r)));
      return;
    }
    // Everything but the connection's part now: no connection, no wait (mayWait is false).
    const row = toRequestRow(r, undefined, [], this.phases, Number.NaN) as Partial<RequestRow>;
    // Left out (JSON omits undefined) rather than deleted: a delete makes the object slow to stringify.
    row.remote = undefined;
    row.arrivals = undefined;
    row.stalls = undefined;
    this.rows.put(r.id, JSON.stringify(row));
    l.push(miniOf(r));
  }

  private static parse(s: string): Pending {
    return s.charCodeAt(0) === 0x5b ? { r: fromMini(JSON.parse(s) as Mini), whole: false } : { r: JSON.parse(s) as Request, whole: true };
  }

  connection(c: Connection, json?: string): void {
    this.spill.connection(c, json);
    const list = this.pending.get(c.id) ?? [];
    this.pending.delete(c.id);
    if (c.anomalies.length) this.anomalies.push({ id: c.id, anomalies: c.anomalies.map((a) => ({ code: a.code })) });
    // Mini records only (no request that may wait for the close), in index order: made one by one.
    if (minisInIndexOrder(list)) return this.rowsInOrder(c, list);
    const reqs = list.map(CompactBuilder.parse);
    // An unanswered request waits until the close, else until the capture's end (known at the end).
    if (reqs.some((p) => p.whole && noResponseWait(p.r, c, Number.NaN) === null && noResponseWait(p.r, c, Number.MAX_VALUE) !== null)) {
      this.deferred.push({ c, reqs });
      return;
    }
    this.rowsOf(c, reqs, Number.NaN);
  }

  /**
   * `rowsOf` for a connection whose requests are all mini records that arrived in index order
   * (HTTP/1.x, none that may wait for the close): each parsed as its row is made, so that the objects die young. A long connection's requests all parsed at once
   * (19k on the request-heavy bench capture) outlived the young generation and left ~8 MB of old
   * garbage per connection: the builder thread's heap grew from 75 to 194 MB over the 16 long
   * connections handed out at the capture's end. The same rows, written in the same order.
   */
  private rowsInOrder(c: Connection, list: string[]): void {
    const stalls = stallIndex(c);
    const waits: { startTime: number; endTime: number }[] = [];
    const ids: number[] = [];
    const remote = endpointText(c.server);
    let first: Request | undefined;
    let prev: Request | undefined;
    for (const s of list) {
      const p = CompactBuilder.parse(s);
      first ??= p.r;
      ids.push(p.r.id);
      this.tailOf(p, c, prev, stalls, remote, Number.NaN, waits);
      prev = p.r;
    }
    this.connRows.push(toConnectionRow(c, ids, [], first, waits));
  }

  /** The part of a request's row its connection gives (or its whole row, `whole`), to `tails`; its wait to `waits`. */
  private tailOf({ r, whole }: Pending, c: Connection | undefined, prev: Request | undefined, stalls: StallIndex | undefined, remote: string, captureEnd: number, waits: { startTime: number; endTime: number }[]): void {
    if (whole) {
      const row = toRequestRow(r, c, [], this.phases, captureEnd, { prev, stalls });
      if (row.noResponse) waits.push(row.noResponse);
      this.tails.put(r.id, JSON.stringify(row));
      return;
    }
    const arrivals = requestArrivals(r, c);
    const st = requestStalls(r, c, prev, stalls ?? (c ? stallIndex(c) : undefined));
    this.tails.put(r.id, JSON.stringify({ remote, ...(arrivals ? { arrivals } : {}), ...(st.length > 0 ? { stalls: st } : {}), findings: [] }), false);
  }

  finding(f: Finding): void {
    this.findings.push(f);
  }

  /** The rest of the rows of one connection and its requests (as `toViewModel` makes them), and its row. */
  private rowsOf(c: Connection | undefined, reqs: Pending[], captureEnd: number): void {
    const byIndex = reqs.slice().sort((a, b) => a.r.index - b.r.index);
    const stalls = c ? stallIndex(c) : undefined;
    const waits: { startTime: number; endTime: number }[] = [];
    const prevOf = new Map<number, Request>();
    for (let i = 1; i < byIndex.length; i++) prevOf.set(byIndex[i]!.r.id, byIndex[i - 1]!.r);
    const remote = c ? endpointText(c.server) : '';
    for (const p of reqs) this.tailOf(p, c, prevOf.get(p.r.id), stalls, remote, captureEnd, waits);
    if (c)
      this.connRows.push(
        toConnectionRow(
          c,
          byIndex.map((p) => p.r.id),
          [],
          byIndex[0]?.r,
          waits,
        ),
      );
  }

  /** After the last record: the deferred rows, findings in order, and the document. */
  async finish(capture: CaptureInfo, whatIf: WhatIf | null, wirefall: string, findingOrder: (a: Finding, b: Finding) => number): Promise<CompactDoc> {
    const end = capture.durationMs;
    for (const { c, reqs } of this.deferred) this.rowsOf(c, reqs, end);
    this.deferred.length = 0;
    // Requests whose connection never came (the engine always hands it out): rows without one.
    for (const reqs of this.pending.values()) this.rowsOf(undefined, reqs.map(CompactBuilder.parse), end);
    this.pending.clear();
    this.spill.close();
    // detectAll's order (detect/index.ts byStart): start time, then kind.
    this.findings.sort(findingOrder);
    const connFindings = new Map<number, number[]>();
    this.findings.forEach((f, i) => {
      for (const id of f.connectionIds) (connFindings.get(id) ?? connFindings.set(id, []).get(id)!).push(i);
    });
    this.connRows.sort((a, b) => a.id - b.id);
    for (const row of this.connRows) row.findings = connFindings.get(row.id) ?? [];
    this.anomalies.sort((a, b) => a.id - b.id);
    const conns = this.spill.conns.sort((a, b) => a.id - b.id);
    const w = this.rows;
    const t = this.tails;
    const count = Math.max(w.count, t.count);
    const rowChunks = await w.chunks(count);
    const tailChunks = await t.chunks(count);
    const s = this.spill;
    return {
      kind: 'compact',
      wirefall,
      capture,
      connections: this.connRows,
      findings: this.findings,
      ...(whatIf ? { whatIf } : {}),
      warnings: captureWarnings(capture.counters, this.anomalies),
      rows: {
        chunks: rowChunks,
        deflated: true,
        chunk: w.chunk.slice(0, count),
        offset: w.offset.slice(0, count),
        length: w.length.slice(0, count),
        count,
        tails: {
          chunks: tailChunks,
          chunk: t.chunk.slice(0, count),
          offset: t.offset.slice(0, count),
          length: t.length.slice(0, count),
        },
      },
      spill: {
        dir: this.dir,
        file: s.file,
        requests: { offset: s.reqOffset.slice(0, s.reqCount), length: s.reqLength.slice(0, s.reqCount), count: s.reqCount },
        connections: {
          id: Float64Array.from(conns, (x) => x.id),
          offset: Float64Array.from(conns, (x) => x.offset),
          length: Uint32Array.from(conns, (x) => x.length),
          count: conns.length,
        },
      },
    };
  }

  /** Give up (cancelled or failed): the spill file is closed; the caller removes the directory. */
  abort(): void {
    try {
      this.spill.close();
    } catch {
      /* already closed */
    }
  }
}

// ---- server side ------------------------------------------------------------------------------

const EMPTY_FINDINGS = Buffer.from('"findings":[]}');
/** Bytes of model JSON per piece `modelPieces` yields. */
const PIECE_BYTES = 1024 * 1024;

/** A compact document held by the DocStore: the model's bytes and the spill index, no records. */
export class CompactStore {
  private readonly chunks: Buffer[];
  private readonly tailChunks: Buffer[];
  private readonly deflated: boolean;
  /** The last chunk inflated (rows are read in id order, mostly from one chunk to the next). */
  private inflated: { k: number; b: Buffer } | null = null;

  private rowChunk(k: number): Buffer {
    if (!this.deflated) return this.chunks[k]!;
    if (this.inflated?.k !== k) this.inflated = { k, b: inflateRawSync(this.chunks[k]!) };
    return this.inflated.b;
  }
  private fd: number | null = null;
  /** Request id → indices into findings. */
  private readonly reqFindings = new Map<number, number[]>();
  private disposed = false;

  constructor(
    readonly doc: CompactDoc,
    readonly id: DocId,
  ) {
    this.chunks = doc.rows.chunks.map((a) => Buffer.from(a));
    this.tailChunks = doc.rows.tails.chunks.map((a) => Buffer.from(a));
    this.deflated = doc.rows.deflated;
    doc.findings.forEach((f, i) => {
      for (const r of f.requestIds) (this.reqFindings.get(r) ?? this.reqFindings.set(r, []).get(r)!).push(i);
    });
  }

  get requestCount(): number {
    return this.doc.rows.count;
  }
  get connectionCount(): number {
    return this.doc.connections.length;
  }

  /**
   * The view model as JSON text, in pieces (equal to `JSON.stringify(toViewModel(report))` as a
   * value); with `rows`, the head model (WirefallApi.getModelHead): only the first `rows` request
   * rows, and `loading` with how many the whole model has when that is more.
   */
  *modelPieces(rows = Infinity): Generator<Buffer, void, undefined> {
    const d = this.doc;
    const head =
      `{"doc":${JSON.stringify(this.id)},"wirefall":${JSON.stringify(d.wirefall)},"capture":${JSON.stringify(d.capture)},` +
      `"connections":${JSON.stringify(d.connections)},"requests":[`;
    yield Buffer.from(head);
    const { chunk, offset, length, count, tails } = d.rows;
    let parts: Buffer[] = [];
    let bytes = 0;
    let first = true;
    let made = 0;
    let i = 0;
    for (; i < count; i++) {
      const tl = tails.length[i]!;
      if (length[i] === 0 && tl === 0) continue;
      if (made === rows) break;
      made++;
      if (!first) parts.push(COMMA);
      first = false;
      if (length[i]! > 0) parts.push(this.rowChunk(chunk[i]!).subarray(offset[i]!, offset[i]! + length[i]!));
      if (tl > 0) parts.push(this.tailChunks[tails.chunk[i]!]!.subarray(tails.offset[i]!, tails.offset[i]! + tl));
      const f = this.reqFindings.get(i);
      parts.push(f ? Buffer.from(`"findings":${JSON.stringify(f)}}`) : EMPTY_FINDINGS);
      bytes += length[i]! + tl + 16;
      if (bytes >= PIECE_BYTES) {
        yield Buffer.concat(parts);
        parts = [];
        bytes = 0;
      }
    }
    // Cut short: the rows there are in all (the rest of them, counted without being read).
    let loading = '';
    if (i < count) {
      for (; i < count; i++) if (length[i] !== 0 || tails.length[i] !== 0) made++;
      loading = `,"loading":{"requests":${made}}`;
    }
    parts.push(Buffer.from(`],"findings":${JSON.stringify(d.findings)}${d.whatIf ? `,"whatIf":${JSON.stringify(d.whatIf)}` : ''},"warnings":${JSON.stringify(d.warnings)}${loading}}`));
    yield Buffer.concat(parts);
  }

  /** The view model (with `rows`, its head) as an object (the desktop app's IPC, tests): parsed from `modelPieces`. */
  model(rows = Infinity): ViewModel {
    return JSON.parse(Buffer.concat([...this.modelPieces(rows)]).toString('utf8')) as ViewModel;
  }

  private read(offset: number, length: number): unknown {
    if (this.disposed) throw new Error('document closed');
    this.fd ??= openSync(this.doc.spill.file, 'r');
    const b = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const n = readSync(this.fd, b, got, length - got, offset + got);
      if (n <= 0) throw new Error(`spill file ${this.doc.spill.file} is short`);
      got += n;
    }
    return JSON.parse(b.toString('utf8'));
  }

  request(id: number): Request | undefined {
    const r = this.doc.spill.requests;
    if (!Number.isInteger(id) || id < 0 || id >= r.count || r.length[id] === 0) return undefined;
    return this.read(r.offset[id]!, r.length[id]!) as Request;
  }

  private connIndex(id: number): number {
    const c = this.doc.spill.connections;
    let lo = 0;
    let hi = c.count - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = c.id[mid]!;
      if (v === id) return mid;
      if (v < id) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  connection(id: number): Connection | undefined {
    const i = this.connIndex(id);
    if (i < 0) return undefined;
    const c = this.doc.spill.connections;
    return this.read(c.offset[i]!, c.length[i]!) as Connection;
  }

  /** Every request record in id order, read back one at a time. */
  *requests(): Generator<Request, void, undefined> {
    const r = this.doc.spill.requests;
    for (let i = 0; i < r.count; i++) if (r.length[i]! > 0) yield this.read(r.offset[i]!, r.length[i]!) as Request;
  }

  /** Every connection record in id order. */
  *connections(): Generator<Connection, void, undefined> {
    const c = this.doc.spill.connections;
    for (let i = 0; i < c.count; i++) yield this.read(c.offset[i]!, c.length[i]!) as Connection;
  }

  /**
   * The Report as `analyzeFile` gives it, with its records as lazy lists read from the spill (for
   * streamed exports: view/export-stream.ts walks them one record at a time).
   */
  lazyReport(): Report {
    const d = this.doc;
    return {
      wirefall: d.wirefall,
      capture: d.capture,
      connections: new LazyList(d.spill.connections.count, (i) => this.read(d.spill.connections.offset[i]!, d.spill.connections.length[i]!)) as unknown as Connection[],
      requests: new LazyList(d.spill.requests.count, (i) => this.read(d.spill.requests.offset[i]!, d.spill.requests.length[i]!)) as unknown as Request[],
      findings: d.findings,
      findingGroups: groupFindings(d.findings),
      ...(d.whatIf ? { whatIf: d.whatIf } : {}),
    };
  }

  /** The whole Report in memory (diffs, HAR): every record read back — as large as analyzeFile's. */
  report(): Report {
    const d = this.doc;
    return {
      wirefall: d.wirefall,
      capture: d.capture,
      connections: [...this.connections()],
      requests: [...this.requests()],
      findings: d.findings,
      findingGroups: groupFindings(d.findings),
      ...(d.whatIf ? { whatIf: d.whatIf } : {}),
    };
  }

  /** Close the spill file and remove its directory. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.inflated = null;
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    removeSpillDir(this.doc.spill.dir);
  }
}

const COMMA = Buffer.from(',');

/** A read-only list of records made on demand (`length`, `at(i)`); view/export-stream.ts streams it like an array. */
export class LazyList<T> {
  constructor(
    readonly length: number,
    private readonly get: (i: number) => T,
  ) {}
  at(i: number): T {
    return this.get(i);
  }
  *[Symbol.iterator](): Generator<T, void, undefined> {
    for (let i = 0; i < this.length; i++) yield this.get(i);
  }
  toJSON(): T[] {
    return [...this];
  }
}
