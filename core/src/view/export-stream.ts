/**
 * Exports of any size from the view server (issue 15 item 7): the report or HAR written to the HTTP
 * response in pieces, waiting for the socket to drain between them (back-pressure), instead of one
 * `JSON.stringify` string — which V8 refuses past ~512 MB ("Invalid string length", a 300k-request
 * capture) and which doubled the server's memory at the end of an export.
 *
 * The text is exactly cli/json-out.ts `writePrettyJson`'s (the CLI's `--pretty` and `har -o`): the
 * same levels streamed member by member, deeper values stringified whole, times rounded to µs,
 * terminal-unsafe characters escaped. That writer pushes synchronously into a callback, which
 * cannot wait for a socket; this one is a generator the server pulls from. A test holds the two to
 * the same bytes. A compact document's records (view/stream-model.ts `LazyList`) are read back
 * from its spill file one at a time, so such an export never holds the whole report.
 */
import type { ServerResponse } from 'node:http';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { jsonSafe } from '../cli/escape.js';
import { PIECE_CHARS, roundTimes } from '../cli/json-out.js';
import { LazyList } from './stream-model.js';

/** As json-out.ts STREAM_DEPTH: a report's records and a HAR's log.entries are streamed one by one. */
const STREAM_DEPTH = 4;

/** Indented JSON (2 spaces, then a newline) in pieces of about `pieceChars` characters. */
export function* prettyJsonPieces(value: unknown, pieceChars = PIECE_CHARS): Generator<string, void, undefined> {
  let buf = '';
  for (const s of emit(value, '', 0)) {
    buf += s;
    if (buf.length >= pieceChars) {
      yield jsonSafe(buf);
      buf = '';
    }
  }
  yield jsonSafe(buf) + '\n';
}

function* emit(v: unknown, pad: string, depth: number): Generator<string, void, undefined> {
  // A compact document's records (view/stream-model.ts), read back one at a time: as an array.
  if (v instanceof LazyList) {
    const inner = pad + '  ';
    if (v.length === 0) return yield '[]';
    for (let i = 0; i < v.length; i++) {
      yield (i === 0 ? '[\n' : ',\n') + inner;
      yield* emit(v.at(i), inner, depth + 1);
    }
    return yield '\n' + pad + ']';
  }
  if (depth < STREAM_DEPTH && typeof v === 'object' && v !== null && typeof (v as { toJSON?: unknown }).toJSON !== 'function') {
    const inner = pad + '  ';
    if (Array.isArray(v)) {
      if (v.length === 0) return yield '[]';
      for (let i = 0; i < v.length; i++) {
        yield (i === 0 ? '[\n' : ',\n') + inner;
        yield* emit(v[i], inner, depth + 1);
      }
      return yield '\n' + pad + ']';
    }
    let first = true;
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      const x = o[k];
      if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
      yield (first ? '{\n' : ',\n') + inner + JSON.stringify(k) + ': ';
      first = false;
      yield* emit(roundTimes(k, x), inner, depth + 1);
    }
    return yield first ? '{}' : '\n' + pad + '}';
  }
  const s = JSON.stringify(v, roundTimes, 2) as string | undefined;
  yield s === undefined ? 'null' : pad === '' ? s : s.replaceAll('\n', '\n' + pad);
}

/**
 * Writes `pieces` to `res`, waiting for 'drain' whenever the socket's buffer is full, and ends it.
 * Resolves false when the client went away first (the rest is not serialised). A failure while
 * serialising, after the headers went out, destroys the response: the client sees a broken
 * transfer (fetch rejects), never a truncated file that looks whole.
 */
export async function streamPieces(res: ServerResponse, pieces: Iterable<string | Buffer>): Promise<boolean> {
  let gone = false;
  const onClose = () => (gone = true);
  res.once('close', onClose);
  try {
    for (const piece of pieces) {
      if (gone || res.destroyed) return false;
      if (!res.write(piece)) {
        await new Promise<void>((ok) => {
          const done = () => {
            res.off('drain', done);
            res.off('close', done);
            ok();
          };
          res.on('drain', done);
          res.on('close', done);
        });
      }
    }
    if (gone || res.destroyed) return false;
    await new Promise<void>((ok) => res.end(ok));
    return true;
  } catch (e) {
    res.destroy(e as Error);
    return false;
  } finally {
    res.off('close', onClose);
  }
}

/**
 * Writes `pieces` to the file `path` as the CLI's `-o` does: into a temporary file beside it
 * (`.NAME.wirefall-PID.tmp`), waiting for the stream to drain, then renamed onto `path` — so a
 * failure part-way (a full disk, a serialisation error) leaves an existing file as it was and no
 * partial file behind. The desktop app's exports (app/main/main.ts) use it: any size, bounded memory.
 */
export async function writePiecesToFile(path: string, pieces: Iterable<string>): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.wirefall-${process.pid}.tmp`);
  const out = createWriteStream(tmp);
  try {
    await new Promise<void>((ok, fail) => {
      out.once('open', () => ok());
      out.once('error', fail);
    });
    for (const piece of pieces) {
      if (!out.write(piece)) {
        await new Promise<void>((ok, fail) => {
          const done = () => {
            out.off('error', failed);
            ok();
          };
          const failed = (e: Error) => {
            out.off('drain', done);
            fail(e);
          };
          out.once('drain', done);
          out.once('error', failed);
        });
      }
    }
    await new Promise<void>((ok, fail) => {
      out.once('error', fail);
      out.end(() => ok());
    });
    await rename(tmp, path);
  } catch (e) {
    out.destroy();
    await rm(tmp, { force: true });
    throw e;
  }
}
