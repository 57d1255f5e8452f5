/**
 * The streamed `--format json`: one capture's Report written with its records never all in memory,
 * byte for byte what the whole Report (`analyzeFile`, `detectAll`, `whatIf`) written by `writeJson`
 * gives (tested on every sample and corpus capture: test/core/cli/json-stream.test.ts).
 *
 * The Report's members come in the order wirefall, capture, connections, requests, findings,
 * findingGroups, whatIf, and `capture` (its counters) is known only at the end. So the analysis
 * (pipeline.ts `analyzeStreaming`: engine, streaming detectors, what-if collector) writes each
 * record as it completes to a spill file, as `jsonElement` gives it for its place in the document
 * (compact or indented, single report or batch), made terminal-safe (`jsonSafe`, as the writers
 * make the rest of the document):
 *
 *   requests     in completion order, which is the Report's order (analyzeFile pushes them so), to
 *                the spill file itself, separators included;
 *   connections  in completion order to a second file, with their id, offset and length in typed
 *                arrays (24 bytes a connection: 24 MB for a SYN flood of 1M); at the end they are
 *                appended to the spill file in id order (the Report's: analyzeFile sorts them) and
 *                the second file removed.
 *
 * The worker (or the main thread, for one file) hands back a `SpilledReport`: the capture facts,
 * the findings, their groups, the what-if estimate and where the two arrays lie in the spill file.
 * The main thread writes the document through `writeJson` with `SpilledJsonArray`s in place of the
 * arrays (`spilledDocument`), which copy their byte range in pieces, then removes the file. The
 * CLI's writers take those pieces as bytes (`JsonWriteOptions.bytes`: no decode into strings and
 * encode back); other writers get them as text.
 *
 * Spill files: beside `-o FILE`'s temporary file (`.FILE.wirefall-PID-N.spill`), else in
 * os.tmpdir(). The main thread names them before the analysis starts and removes every one at the
 * end of the run, on failure and when the process exits (SIGINT, SIGTERM, an uncaught error); the
 * analysis removes its own on failure. Only a kill that runs no JavaScript (SIGKILL) leaves them,
 * as it leaves `-o`'s temporary file. A spill file that cannot be written (ENOSPC) fails the file
 * as an output error (WF_OUTPUT, exit 73).
 *
 * Findings: `detectAll` orders them by start time, then kind, ties in the order of DETECTOR_DEFS,
 * then as each detector emitted them over the whole report (connections in id order, then the
 * connections in order of opening, then the end). The streaming detectors emit the same findings
 * (detect/stream.ts) at other moments, so each is tagged with its detector, whether a connection's
 * completion emitted it (`onConnection`, which in `detectAll` come first, in connection id order)
 * and its emission number, and sorted by that (`orderFindings`). The detectors run without the
 * pending-record limits NDJSON has (MAX_DETECT_PENDING_RECORDS, MAX_DETECT_FALLBACK_RECORDS: an
 * early release can change findings); their request rows still go to the driver's own scratch file
 * past MAX_DETECT_RESIDENT_REQUESTS, which changes nothing found. The driver's counters are not put
 * in capture.counters (the Report in memory has none). The one thing that can still make the stream
 * judge differently is a connection arriving behind the watermark (a capture going back in time,
 * `detectLateConnections`; any counter but the harmless ones, `OrderedFindings.degraded`): then a
 * capture in a regular file is analysed again the old way (`analyzeFile`, the whole Report in
 * memory), and standard input or a FIFO keeps the streamed findings, those counters added to
 * capture.counters.
 *
 * What-if: the collector keeps 32 bytes a request, up to MAX_WHATIF_JSON_REQUESTS and
 * MAX_WHATIF_JSON_CONNECTIONS (whatif.ts); past them the report has no `whatIf`, and
 * capture.counters say how many records were not kept (`whatIfRequestsNotKept`,
 * `whatIfConnectionsNotKept`).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { OutputError } from '../errors.js';
import { jsonSafe } from './escape.js';
import { byStart, detectStream, type DetectOptions, type FindingSource } from '../detect/index.js';
import type { DetectStream } from '../detect/stream.js';
import type { CaptureInfo, Connection, Finding, Request, WhatIf } from '../model/types.js';
import type { FindingGroup } from '../view/finding-groups.js';
import { VERSION } from '../version.js';
import { grow } from '../util/grow.js';
import { elementSeparator, jsonElement, SpilledJsonArray, type ArrayPlace } from './json-out.js';

/** Characters collected before a write to a spill file. */
const SPILL_WRITE_CHARS = 256 * 1024;
/** Bytes read from a spill file at a time. */
const SPILL_READ_BYTES = 256 * 1024;

/** The second file, connections in completion order, until they are appended in id order. */
const connectionsPath = (path: string) => `${path}-connections`;

/**
 * Spill files for `n` inputs: beside `-o FILE`'s temporary file (`tempPath`,
 * `.FILE.wirefall-PID.tmp` → `.FILE.wirefall-PID-N.spill`), else in os.tmpdir().
 */
export function spillPaths(tempPath: string | undefined, n: number): string[] {
  const base = tempPath ? tempPath.replace(/\.tmp$/, '') : join(tmpdir(), `wirefall-${process.pid}-${randomBytes(4).toString('hex')}`);
  return Array.from({ length: n }, (_, i) => `${base}-${i}.spill`);
}

/** Every file a spill at `path` can leave (see `removeSpill`). */
export function spillFiles(path: string): string[] {
  return [path, connectionsPath(path)];
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // not there
  }
}

/** Removes what a spill at `path` left, if anything. */
export function removeSpill(path: string): void {
  for (const f of spillFiles(path)) unlinkQuietly(f);
}

function spillError(path: string, e: unknown): OutputError {
  return new OutputError(`cannot write the spill file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
}

/** Opens a fresh file for writing (one left by a killed run with the same name is replaced). */
function create(path: string): number {
  try {
    try {
      return openSync(path, 'wx+', 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      unlinkSync(path);
      return openSync(path, 'wx+', 0o600);
    }
  } catch (e) {
    throw spillError(path, e);
  }
}

/**
 * JSON text appended to a file in pieces, made terminal-safe (`jsonSafe`) on the way so that the
 * document's writer can copy the bytes as they are; `bytes` is where the next text will start.
 */
class Appender {
  private pending: string[] = [];
  private chars = 0;
  bytes = 0;
  constructor(
    readonly fd: number,
    private readonly path: string,
  ) {}

  append(text: string): void {
    let s = text;
    let n = Buffer.byteLength(s);
    // jsonSafe's own test, with the byte count needed here anyway: ASCII without DEL is safe.
    if (n !== s.length || s.indexOf('\x7f') >= 0) {
      s = jsonSafe(s);
      n = Buffer.byteLength(s);
    }
    this.pending.push(s);
    this.chars += s.length;
    this.bytes += n;
    if (this.chars >= SPILL_WRITE_CHARS) this.flush();
  }

  flush(): void {
    if (this.pending.length === 0) return;
    this.writeBuffer(Buffer.from(this.pending.join('')));
    this.pending = [];
    this.chars = 0;
  }

  /** Writes bytes already counted in `bytes` (after a flush). */
  writeBuffer(b: Uint8Array): void {
    try {
      for (let off = 0; off < b.length; ) off += writeSync(this.fd, b, off);
    } catch (e) {
      throw spillError(this.path, e);
    }
  }
}

/** Where a report's arrays lie in its spill file: what the analysis hands back (structured-clonable). */
export interface SpilledReport {
  path: string;
  place: ArrayPlace;
  capture: CaptureInfo;
  findings: Finding[];
  findingGroups: FindingGroup[];
  whatIf?: WhatIf;
  /** Byte ranges [start, end) of the arrays' elements, separators included, and their lengths. */
  connections: { start: number; end: number; count: number };
  requests: { start: number; end: number; count: number };
}

/** The analysis side: records in, spill file out (see the module comment). */
export class JsonSpillWriter {
  private readonly requests: Appender;
  private readonly conns: Appender;
  private readonly sep: string;
  private nRequests = 0;
  private nConns = 0;
  private ids = new Float64Array(64);
  private offsets = new Float64Array(64);
  private lengths = new Float64Array(64);
  private closed = false;

  constructor(
    readonly path: string,
    readonly place: ArrayPlace,
  ) {
    this.sep = elementSeparator(place);
    this.requests = new Appender(create(path), path);
    try {
      this.conns = new Appender(create(connectionsPath(path)), connectionsPath(path));
    } catch (e) {
      this.discard();
      throw e;
    }
  }

  request(r: Request): void {
    if (this.nRequests++ > 0) this.requests.append(this.sep);
    this.requests.append(jsonElement(r, 'requests', this.place));
  }

  connection(c: Connection): void {
    const s = jsonElement(c, 'connections', this.place);
    const i = this.nConns++;
    if (i > 0) this.conns.append(this.sep);
    this.ids = grow(this.ids, i + 1);
    this.offsets = grow(this.offsets, i + 1);
    this.lengths = grow(this.lengths, i + 1);
    this.ids[i] = c.id;
    this.offsets[i] = this.conns.bytes;
    this.conns.append(s);
    this.lengths[i] = this.conns.bytes - this.offsets[i];
  }

  /**
   * All records are in: the connections appended to the spill file in id order, the second file
   * removed, the file closed. Returns the arrays' byte ranges.
   */
  finish(): Pick<SpilledReport, 'path' | 'place' | 'connections' | 'requests'> {
    this.requests.flush();
    this.conns.flush();
    const requests = { start: 0, end: this.requests.bytes, count: this.nRequests };
    const n = this.nConns;
    let sorted = true;
    for (let i = 1; i < n && sorted; i++) sorted = this.ids[i] > this.ids[i - 1];
    const start = this.requests.bytes;
    const buf = Buffer.allocUnsafe(SPILL_READ_BYTES);
    // Completed in id order (the usual case): the second file is the array's text as it stands.
    if (sorted) this.copyRange(0, this.conns.bytes, buf);
    else {
      const order = new Uint32Array(n);
      for (let i = 0; i < n; i++) order[i] = i;
      order.sort((a, b) => this.ids[a] - this.ids[b]);
      const sep = Buffer.from(this.sep);
      for (let k = 0; k < n; k++) {
        if (k > 0) this.requests.writeBuffer(sep);
        this.copyRange(this.offsets[order[k]], this.lengths[order[k]], buf);
      }
    }
    // The same bytes either way: the elements and n - 1 separators.
    const end = start + this.conns.bytes;
    this.requests.bytes = end;
    this.close();
    unlinkQuietly(connectionsPath(this.path));
    return { path: this.path, place: this.place, requests, connections: { start, end, count: n } };
  }

  private copyRange(offset: number, length: number, buf: Buffer): void {
    for (let done = 0; done < length; ) {
      const want = Math.min(buf.length, length - done);
      const got = readSync(this.conns.fd, buf, 0, want, offset + done);
      if (got <= 0) throw spillError(connectionsPath(this.path), new Error('short read'));
      this.requests.writeBuffer(buf.subarray(0, got));
      done += got;
    }
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const fd of [this.requests?.fd, this.conns?.fd]) {
      if (fd === undefined) continue;
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    }
  }

  /** The analysis failed: files closed and removed. */
  discard(): void {
    this.close();
    removeSpill(this.path);
  }
}

/** A byte range of a spill file, copied into the document in pieces: bytes, or text UTF-8 decoded across reads. */
class SpilledRange extends SpilledJsonArray {
  constructor(
    place: ArrayPlace,
    private readonly path: string,
    private readonly start: number,
    private readonly end: number,
    readonly length: number,
  ) {
    super(place);
  }

  copy(put: (s: string) => void, bytes?: (b: Uint8Array) => void): void {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch (e) {
      throw spillError(this.path, e);
    }
    try {
      const buf = Buffer.allocUnsafe(SPILL_READ_BYTES);
      const dec = new StringDecoder('utf8');
      for (let pos = this.start; pos < this.end; ) {
        const got = readSync(fd, buf, 0, Math.min(buf.length, this.end - pos), pos);
        if (got <= 0) throw spillError(this.path, new Error('short read'));
        pos += got;
        if (bytes) bytes(buf.subarray(0, got));
        else {
          const s = dec.write(buf.subarray(0, got));
          if (s) put(s);
        }
      }
      const rest = dec.end();
      if (rest) put(rest);
    } finally {
      closeSync(fd);
    }
  }
}

/**
 * The Report to write for a spilled one: the members in the Report's order (model/types.ts), its
 * arrays copied from the spill file. Remove the file (`removeSpill`) once it is written.
 */
export function spilledDocument(s: SpilledReport): Record<string, unknown> {
  const doc: Record<string, unknown> = {
    wirefall: VERSION,
    capture: s.capture,
    connections: new SpilledRange(s.place, s.path, s.connections.start, s.connections.end, s.connections.count),
    requests: new SpilledRange(s.place, s.path, s.requests.start, s.requests.end, s.requests.count),
    findings: s.findings,
    findingGroups: s.findingGroups,
  };
  if (s.whatIf) doc.whatIf = s.whatIf;
  return doc;
}

/** A finding with what places it in `detectAll`'s order. */
interface Tagged extends FindingSource {
  f: Finding;
  seq: number;
}

/**
 * Counters of the detectors' driver that say nothing about findings (detect/stream.ts: request rows
 * it moved to its scratch file, or could not). Any other counter (`detectLateConnections`,
 * `detectWatermarkForced`, `detectFallbackSkipped`, one added later) may mean findings that differ
 * from `detectAll`'s.
 */
const HARMLESS_DETECT_COUNTERS: ReadonlySet<string> = new Set(['detectRequestsSpilled', 'detectSpillFailed']);

/**
 * The detectors of the streamed json (see the module comment): `detectors` is the driver for
 * `analyzeStreaming`, `findings()` the findings in `detectAll`'s order. The driver's counters are
 * kept here (`counts`), not added to capture.counters as NDJSON's are: the Report held in memory
 * has none. `degraded()` names those that may have changed findings.
 */
export class OrderedFindings {
  private readonly tagged: Tagged[] = [];
  private seq = 0;
  readonly counts: Record<string, number> = {};

  constructor(private readonly opts: DetectOptions = {}) {}

  /** The counters that may mean findings other than `detectAll`'s (empty: the findings are its). */
  degraded(): Record<string, number> {
    return Object.fromEntries(Object.entries(this.counts).filter(([k]) => !HARMLESS_DETECT_COUNTERS.has(k)));
  }

  /** The driver for `analyzeStreaming`: `detectStream` without the pending-record limits, each finding tagged. */
  readonly detectors = (onFinding: (f: Finding) => void): DetectStream =>
    detectStream(
      this.opts,
      (f, from) => {
        this.tagged.push({ f, ...from, seq: this.seq++ });
        onFinding(f);
      },
      (name, n = 1) => {
        this.counts[name] = (this.counts[name] ?? 0) + n;
      },
      { pending: Infinity, fallback: Infinity },
    );

  /** The findings in `detectAll`'s order. */
  findings(): Finding[] {
    return orderFindings(this.tagged);
  }
}

/**
 * `detectAll`'s order: start time, then kind (`byStart`); ties by detector (DETECTOR_DEFS order),
 * then those a connection's completion emitted, by connection id, then the rest, each as emitted.
 */
function orderFindings(tagged: Tagged[]): Finding[] {
  const t = [...tagged];
  t.sort((a, b) => {
    const o = byStart(a.f, b.f) || a.detector - b.detector;
    if (o) return o;
    const pa = a.connection < 0 ? 1 : 0;
    const pb = b.connection < 0 ? 1 : 0;
    return pa - pb || (pa === 0 ? a.connection - b.connection : 0) || a.seq - b.seq;
  });
  return t.map((x) => x.f);
}
