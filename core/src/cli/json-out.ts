/**
 * JSON output written in pieces: compact (`--format json`, NDJSON) or indented (`--pretty`, HAR),
 * byte for byte what `JSON.stringify(value, roundTimes, indent)` gives. Every non-integer number is
 * rounded to 3 decimals (`roundTimes`): times and durations are milliseconds, so outputs carry
 * microseconds and no float noise (`172.78700000000003` → `172.787`).
 *
 * A report's JSON is tens of MB (21 MB for the 521 MB benchmark capture). As one string it is then
 * encoded into one buffer of the same size: two large fresh allocations at the end of a run, when
 * the whole model is in memory. Streaming the top levels (the report's fields, then each
 * connection, request and finding) and handing the writer PIECE_CHARS at a time keeps every string
 * small, so the peak does not grow by twice the output. Speed: in a microbenchmark over a parsed
 * report the pieces took ~110 ms against 230–320 ms for one string, but in alternated whole runs of
 * the CLI the two were equal within the noise (pretty-printing itself is most of the cost).
 *
 * One difference from JSON.stringify: DEL, C1 and bidi control characters from captured data are
 * written as `\u00HH` escapes (`jsonSafe`, cli/escape.ts) — the same JSON value, safe on a terminal.
 *
 * A report's `connections` and `requests` can also be written before the rest of the document is
 * known (the streamed `--format json`, cli/json-spill.ts): each record as `jsonElement` gives it
 * for its array's place in the document, kept in a file, and the document written at the end with
 * a `SpilledJsonArray` in their place, whose text the writers below copy in between the array's
 * brackets — the same bytes as the records in memory would give.
 */
import { jsonSafe } from './escape.js';
import { micros } from '../model/micros.js';
import type { Request } from '../model/types.js';

/** Characters collected before a write. */
export const PIECE_CHARS = 64 * 1024;
/**
 * Levels of objects and arrays streamed member by member; deeper values are stringified whole. Four
 * reach the records of a batch ({ reports: [{ connections: [...] }] }) and of a HAR (log.entries).
 */
const STREAM_DEPTH = 4;

/** JSON.stringify replacer: non-integer numbers rounded to 3 decimals (ms → µs, model/micros.ts). */
export function roundTimes(_key: string, v: unknown): unknown {
  return typeof v === 'number' && !Number.isInteger(v) && Number.isFinite(v) ? micros(v) : v;
}

/**
 * A request record as JSON (compact), byte for byte what `JSON.stringify(r, roundTimes)` gives.
 * The engine makes `times` and `timings` in microseconds already (model/micros.ts), so a request
 * whose other members hold no time — no HTTP/2 or HTTP/3 facts, no interim responses, no anomalies,
 * no delivered times — has nothing left to round, and is written without the replacer (V8's fast
 * path: the replacer's call per member was ~40% of the NDJSON output on small requests). The rest
 * take the replacer.
 */
export function requestJson(r: Request): string {
  return jsonSafe(requestJsonRaw(r));
}

/** requestJson before the terminal-safety escapes (writers that apply `jsonSafe` per piece). */
function requestJsonRaw(r: Request): string {
  const plain = r.h2 === undefined && r.extra === undefined && r.informational === undefined && r.anomalies.length === 0 && r.http1?.deliveredTimes === undefined;
  return plain ? JSON.stringify(r) : JSON.stringify(r, roundTimes);
}

/** Where an array sits in a document: its indentation (pretty) and nesting depth. */
export interface ArrayPlace {
  pretty: boolean;
  /** The array's own indentation (pretty; its elements are indented two spaces more). */
  pad: string;
  /** Its depth: the root is 0, a report's members 1, a batch report's members 3. */
  depth: number;
}

/** Where `connections` and `requests` sit in a single report and in a batch ({ reports: [...] }). */
export function reportArrayPlace(pretty: boolean, batch: boolean): ArrayPlace {
  return batch ? { pretty, pad: '      ', depth: 3 } : { pretty, pad: '  ', depth: 1 };
}

/** What comes between two elements of an array at `place`. */
export function elementSeparator(place: ArrayPlace): string {
  return place.pretty ? ',\n' + place.pad + '  ' : ',';
}

/**
 * One element of the array `key` at `place`, exactly as `writeJson` writes it there (before
 * `jsonSafe`, which the document's writer applies). `place.depth` must be below STREAM_DEPTH.
 */
export function jsonElement(x: unknown, key: string, place: ArrayPlace): string {
  if (place.depth >= STREAM_DEPTH) throw new Error(`jsonElement: depth ${place.depth} is not streamed`);
  if (!place.pretty && key === 'requests' && isRequestRecord(x)) return requestJsonRaw(x);
  let out = '';
  const put = (s: string) => (out += s);
  if (place.pretty) emit(x, place.pad + '  ', place.depth + 1, { put });
  else emitCompact(x, place.depth + 1, { put });
  return out;
}

/**
 * An array whose elements were written before the document (see the module comment): the writers
 * put its brackets, and `copy` puts the elements, made by `jsonElement` for `place` and joined by
 * `elementSeparator(place)`. Written anywhere but at `place`, it throws (the text would not fit).
 */
export abstract class SpilledJsonArray {
  constructor(readonly place: ArrayPlace) {}
  abstract readonly length: number;
  /**
   * Puts the elements' text: as strings through `put`, or, when `bytes` is given, as the UTF-8 bytes
   * they are kept in (already `jsonSafe`), each piece valid only during the call (the buffer is
   * reused). Bytes skip a decode into strings and an encode back, and the large strings that
   * V8 keeps until its next full collection (the document's copy grew the peak RSS by 26 MB on
   * 302,720 requests).
   */
  abstract copy(put: (s: string) => void, bytes?: (b: Uint8Array) => void): void;
  check(pretty: boolean, pad: string, depth: number): void {
    const p = this.place;
    if (p.pretty !== pretty || p.depth !== depth || (pretty && p.pad !== pad)) throw new Error(`a spilled array made for depth ${p.depth} was written at depth ${depth}`);
  }
}

/** A member of a report's `requests` array that is a request record (requestJsonRaw applies). */
function isRequestRecord(v: unknown): v is Request {
  return typeof v === 'object' && v !== null && Array.isArray((v as Request).anomalies) && typeof (v as Request).times === 'object' && (v as Request).times !== null;
}

/** One NDJSON record line `{"type":…,"file":…,…}` for a request (see requestJson). */
export function requestLine(type: string, file: string, r: Request): string {
  const body = requestJson(r);
  return `{"type":${JSON.stringify(type)},"file":${jsonSafe(JSON.stringify(file))}${body.length > 2 ? ',' : ''}${body.slice(1)}`;
}

/** One record as a compact JSON line (no newline), times rounded as everywhere. */
export function jsonLine(value: unknown): string {
  return jsonSafe(JSON.stringify(value, roundTimes));
}

/** Compact JSON (one line) in pieces, then a newline. */
export interface JsonWriteOptions {
  pretty?: boolean;
  pieceChars?: number;
  /**
   * Where a `SpilledJsonArray`'s bytes go, between the text given to `write` (which is flushed
   * first): each piece valid only during the call. Without it they are decoded and go to `write`.
   */
  bytes?: (b: Uint8Array) => void;
}

/** The writers' `put`, and the way around it for a spilled array's bytes. */
interface Sink {
  put: (s: string) => void;
  bytes?: (b: Uint8Array) => void;
}

/** A sink collecting PIECE_CHARS before each write, with `bytes` written in order between pieces. */
function sinkOf(write: (s: string) => void, pieceChars: number, bytes: ((b: Uint8Array) => void) | undefined): { sink: Sink; end: () => void } {
  let buf = '';
  const put = (s: string): void => {
    buf += s;
    if (buf.length >= pieceChars) {
      write(jsonSafe(buf));
      buf = '';
    }
  };
  const sink: Sink = { put };
  if (bytes) {
    sink.bytes = (b) => {
      if (buf) write(jsonSafe(buf));
      buf = '';
      bytes(b);
    };
  }
  return { sink, end: () => write(jsonSafe(buf) + '\n') };
}

export function writeJson(value: unknown, write: (s: string) => void, opts: JsonWriteOptions = {}): void {
  if (opts.pretty) return writePrettyJson(value, write, opts.pieceChars, opts.bytes);
  const { sink, end } = sinkOf(write, opts.pieceChars ?? PIECE_CHARS, opts.bytes);
  emitCompact(value, 0, sink);
  end();
}

function emitCompact(v: unknown, depth: number, sink: Sink, key = ''): void {
  const put = sink.put;
  if (v instanceof SpilledJsonArray) {
    v.check(false, '', depth);
    put('[');
    v.copy(put, sink.bytes);
    return put(']');
  }
  if (depth < STREAM_DEPTH && typeof v === 'object' && v !== null && typeof (v as { toJSON?: unknown }).toJSON !== 'function') {
    if (Array.isArray(v)) {
      put('[');
      // A report's requests: each record whole, mostly without the replacer (requestJson).
      const requests = key === 'requests';
      for (let i = 0; i < v.length; i++) {
        if (i > 0) put(',');
        const x: unknown = v[i];
        if (requests && isRequestRecord(x)) put(requestJsonRaw(x));
        else emitCompact(x, depth + 1, sink);
      }
      return put(']');
    }
    put('{');
    let first = true;
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      const x = o[k];
      if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
      put((first ? '' : ',') + JSON.stringify(k) + ':');
      first = false;
      emitCompact(roundTimes(k, x), depth + 1, sink, k);
    }
    return put('}');
  }
  const s = JSON.stringify(v, roundTimes) as string | undefined;
  put(s === undefined ? 'null' : s);
}

export function writePrettyJson(value: unknown, write: (s: string) => void, pieceChars = PIECE_CHARS, bytes?: (b: Uint8Array) => void): void {
  const { sink, end } = sinkOf(write, pieceChars, bytes);
  emit(value, '', 0, sink);
  end();
}

function emit(v: unknown, pad: string, depth: number, sink: Sink): void {
  const put = sink.put;
  if (v instanceof SpilledJsonArray) {
    v.check(true, pad, depth);
    if (v.length === 0) return put('[]');
    put('[\n' + pad + '  ');
    v.copy(put, sink.bytes);
    return put('\n' + pad + ']');
  }
  if (depth < STREAM_DEPTH && typeof v === 'object' && v !== null && typeof (v as { toJSON?: unknown }).toJSON !== 'function') {
    const inner = pad + '  ';
    if (Array.isArray(v)) {
      if (v.length === 0) return put('[]');
      for (let i = 0; i < v.length; i++) {
        put((i === 0 ? '[\n' : ',\n') + inner);
        emit(v[i], inner, depth + 1, sink);
      }
      return put('\n' + pad + ']');
    }
    let first = true;
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      const x = o[k];
      // As JSON.stringify: members whose value has no JSON form are left out.
      if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
      put((first ? '{\n' : ',\n') + inner + JSON.stringify(k) + ': ');
      first = false;
      emit(roundTimes(k, x), inner, depth + 1, sink);
    }
    return put(first ? '{}' : '\n' + pad + '}');
  }
  // An array element with no JSON form is null, as in JSON.stringify. JSON escapes newlines inside
  // strings, so every newline in `s` is structural and takes this level's indentation.
  const s = JSON.stringify(v, roundTimes, 2) as string | undefined;
  put(s === undefined ? 'null' : pad === '' ? s : s.replaceAll('\n', '\n' + pad));
}
