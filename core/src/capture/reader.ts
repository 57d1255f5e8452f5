/**
 * Opens a capture file and streams its records into a RecordSink: never reads the whole file into
 * memory, reports progress in bytes of the file as stored (compressed bytes for .gz), honours an
 * AbortSignal, and never modifies the input.
 *
 * An uncompressed file is read into two buffers allocated once and used in turn: while one chunk is
 * parsed, the next is read into the other (on libuv's thread pool). A fresh buffer per chunk, as
 * `fs.createReadStream` allocates, cost more than everything else in reading: on a 521 MB capture
 * 0.43 s (mostly page faults on the new memory) against 0.03 s into a reused buffer. This relies on
 * the RecordSink contract that a packet's `data` is valid only during `onPacket`; a test reads every
 * sample in tiny chunks, so that each buffer is overwritten after a few records, and requires the
 * same reports.
 *
 * Format detection is by content, not by name: gzip (1f 8b) is unwrapped transparently, then the
 * first four bytes choose pcap (µs, via pcap-parser), pcap (ns) or pcapng.
 *
 * Standard input (`-`), pipes, FIFOs and devices cannot be read at positions or peeked twice: they
 * are read as a stream (`readStreamCapture`), format and gzip decided from the first bytes as they
 * arrive, every chunk parsed as soon as it is read — so `tcpdump -U -w - | wirefall analyze -`
 * hands out records while the capture is still being made.
 */
import { closeSync, constants as fsConstants, createReadStream, fstatSync, open as openCb, openSync, statSync } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { Socket } from 'node:net';
import { Readable, pipeline } from 'node:stream';
import { isatty } from 'node:tty';
import { promisify } from 'node:util';
import { createGunzip } from 'node:zlib';
import {
  CancelledError,
  NotACaptureError,
  TruncatedCaptureError,
  UnreadableFileError,
  WirefallError,
} from '../errors.js';
import { PcapParserAdapter } from './pcap.js';
import { ClassicPcapParser, PcapngParser, type RecordParser, type RecordSink } from './records.js';

/** Read size; large enough that per-chunk overhead vanishes, small enough to stay cache-friendly. */
export const READ_CHUNK_BYTES = 1 << 20;

export type CaptureFormat = 'pcap' | 'pcap-ns' | 'pcapng';

export interface ReadProgress {
  bytesRead: number;
  totalBytes: number;
}

export interface ReadOptions {
  signal?: AbortSignal;
  onProgress?: (p: ReadProgress) => void;
  /** Use wirefall's own classic-pcap parser instead of pcap-parser (benchmarks, comparisons). */
  classicParser?: 'pcap-parser' | 'builtin';
  /** Awaited after each chunk is parsed: lets asynchronous consumers (body decoders) catch up. */
  afterChunk?: () => Promise<void> | void;
  /** Bytes read at a time (default READ_CHUNK_BYTES); small values are for tests. */
  chunkBytes?: number;
}

export interface ReadResult {
  format: CaptureFormat;
  gzip: boolean;
  fileBytes: number;
  /** Set when the file was truncated or corrupt part-way; everything before it was delivered. */
  error?: WirefallError;
}

export function detectFormat(magic: Uint8Array): CaptureFormat | null {
  if (magic.length < 4) return null;
  const m = ((magic[0] << 24) | (magic[1] << 16) | (magic[2] << 8) | magic[3]) >>> 0;
  switch (m) {
    case 0xa1b2c3d4:
    case 0xd4c3b2a1:
      return 'pcap';
    case 0xa1b23c4d:
    case 0x4d3cb2a1:
      return 'pcap-ns';
    case 0x0a0d0d0a:
      return 'pcapng';
    default:
      return null;
  }
}

async function openFile(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r');
  } catch (e) {
    throw new UnreadableFileError(`cannot open ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
}

async function peek(path: string, n: number): Promise<{ head: Uint8Array; size: number }> {
  const fh = await openFile(path);
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw new UnreadableFileError(`${path} is a directory`);
    const head = new Uint8Array(n);
    const { bytesRead } = await fh.read(head, 0, n, 0);
    return { head: head.subarray(0, bytesRead), size: st.size };
  } catch (e) {
    if (e instanceof WirefallError) throw e;
    throw new UnreadableFileError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  } finally {
    await fh.close();
  }
}

/** Reads the first bytes of a gzipped file's content without inflating the whole file. */
async function peekGunzipped(path: string): Promise<Uint8Array> {
  const input = createReadStream(path, { start: 0, end: 64 * 1024 });
  const gunzip = createGunzip();
  input.pipe(gunzip);
  const parts: Buffer[] = [];
  let have = 0;
  try {
    for await (const chunk of gunzip) {
      parts.push(chunk as Buffer);
      have += (chunk as Buffer).length;
      if (have >= 4) break;
    }
  } catch {
    // fall through: too little content decides below
  } finally {
    input.destroy();
    gunzip.destroy();
  }
  return Buffer.concat(parts).subarray(0, 4);
}

export async function readCapture(path: string, sink: RecordSink, opts: ReadOptions = {}): Promise<ReadResult> {
  if (path === STDIN_PATH || (await isStream(path))) return readStreamCapture(path, sink, opts);
  const { head, size } = await peek(path, 4);
  const gzip = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  const magic = gzip ? await peekGunzipped(path) : head;
  const format = detectFormat(magic);
  if (!format) {
    if (size === 0) throw new NotACaptureError(`${path} is empty, not a capture`);
    const hex = Buffer.from(magic).toString('hex') || '(none)';
    throw new NotACaptureError(`${path} is not a pcap or pcapng capture (magic ${hex}${gzip ? ' after gunzip' : ''})`);
  }
  const parser = parserFor(format, sink, opts);

  const result: ReadResult = { format, gzip, fileBytes: size };
  const chunkBytes = Math.max(1, Math.floor(opts.chunkBytes ?? READ_CHUNK_BYTES));
  let lastProgress = 0;
  const each = async (chunk: Buffer, bytesRead: number): Promise<void> => {
    if (opts.signal?.aborted) throw new CancelledError(`analysis of ${path} was cancelled`);
    parser.push(chunk);
    if (opts.afterChunk) await opts.afterChunk();
    if (opts.onProgress && bytesRead - lastProgress >= 8 * chunkBytes) {
      lastProgress = bytesRead;
      opts.onProgress({ bytesRead, totalBytes: size });
    }
  };
  try {
    if (gzip) await readGzip(path, chunkBytes, each);
    else await readPlain(path, chunkBytes, each);
    parser.end();
  } catch (e) {
    result.error = tailError(e, path);
  }
  opts.onProgress?.({ bytesRead: size, totalBytes: size });
  return result;
}

function parserFor(format: CaptureFormat, sink: RecordSink, opts: ReadOptions): RecordParser {
  if (format === 'pcapng') return new PcapngParser(sink);
  if (format === 'pcap' && opts.classicParser !== 'builtin') return new PcapParserAdapter(sink);
  return new ClassicPcapParser(sink);
}

/**
 * An error part-way through a capture: a truncated or corrupt tail is returned (what came before
 * stands); anything else is thrown.
 */
function tailError(e: unknown, name: string): TruncatedCaptureError {
  if (e instanceof TruncatedCaptureError) return e;
  if (e instanceof WirefallError) throw e;
  if ((e as NodeJS.ErrnoException).code?.startsWith('Z_'))
    return new TruncatedCaptureError(`${name}: gzip stream is truncated or corrupt (${(e as Error).message})`);
  if ((e as NodeJS.ErrnoException).syscall !== undefined)
    throw new UnreadableFileError(`error reading ${name}: ${(e as Error).message}`, { cause: e });
  // Anything else came from the parser or the analysis it feeds: a bug, not the file's fault
  // (the CLI reports it as an internal error, exit 70), so it is not dressed up as an I/O error.
  throw e;
}

type EachChunk = (chunk: Buffer, bytesRead: number) => Promise<void>;

/** Reads an uncompressed file into two reused buffers, reading ahead into one while the other is parsed. */
async function readPlain(path: string, chunkBytes: number, each: EachChunk): Promise<void> {
  const fh = await openFile(path);
  const bufs = [Buffer.allocUnsafe(chunkBytes), Buffer.allocUnsafe(chunkBytes)];
  let pos = 0;
  let turn = 0;
  let ahead: Promise<{ bytesRead: number }> | null = fh.read(bufs[0], 0, chunkBytes, 0);
  try {
    for (;;) {
      const { bytesRead } = await ahead;
      ahead = null;
      if (bytesRead === 0) break;
      const buf = bufs[turn];
      pos += bytesRead;
      turn ^= 1;
      // The other buffer's chunk was parsed completely (views of it ended with its callbacks).
      ahead = fh.read(bufs[turn], 0, chunkBytes, pos);
      await each(bytesRead === chunkBytes ? buf : buf.subarray(0, bytesRead), pos);
    }
  } finally {
    // A read still in flight must finish before the file is closed (and its error is moot then).
    if (ahead) await ahead.catch(() => undefined);
    await fh.close();
  }
}

/** A gzip file through zlib's stream (its output chunks are fresh buffers already). */
async function readGzip(path: string, chunkBytes: number, each: EachChunk): Promise<void> {
  const file = createReadStream(path, { highWaterMark: chunkBytes });
  const source: AsyncIterable<Buffer> = file.pipe(createGunzip({ chunkSize: Math.min(chunkBytes, 256 * 1024) }));
  try {
    for await (const chunk of source) await each(chunk, file.bytesRead);
  } finally {
    file.destroy();
  }
}

export async function fileSize(path: string): Promise<number> {
  return (await stat(path)).size;
}

/** The capture path that names standard input. */
export const STDIN_PATH = '-';

/** A path read as a stream: a FIFO (named pipe, `<(…)`, /dev/stdin on a pipe), socket or device. */
async function isStream(path: string): Promise<boolean> {
  try {
    const st = await stat(path);
    return st.isFIFO() || st.isSocket() || st.isCharacterDevice();
  } catch {
    return false; // the plain path reports why it cannot be opened
  }
}

const openFd = promisify(openCb);

/**
 * Opens a FIFO for reading, which waits (on a libuv pool thread) until a writer opens it. That wait
 * cannot be cancelled, and a pool thread blocked in open(2) also blocks the process's exit; so an
 * abort ends it the one way there is: `releaseFifo`.
 */
async function openFifo(path: string, signal: AbortSignal | undefined): Promise<number> {
  const release = () => releaseFifo(path);
  if (signal?.aborted) throw new CancelledError(`analysis of ${path} was cancelled`);
  signal?.addEventListener('abort', release, { once: true });
  try {
    const fd = await openFd(path, 'r');
    if (signal?.aborted) {
      closeSync(fd);
      throw new CancelledError(`analysis of ${path} was cancelled`);
    }
    return fd;
  } finally {
    signal?.removeEventListener('abort', release);
  }
}

/**
 * Ends any open of the FIFO at `path` still waiting for a writer (in this thread or a worker): opens
 * its write end without blocking and closes it at once, so the waiting open returns and its read
 * sees the end. Does nothing for other paths or when nobody waits to read.
 */
export function releaseFifo(path: string): void {
  if (path === STDIN_PATH) return;
  try {
    if (statSync(path).isFIFO()) closeSync(openSync(path, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK));
  } catch {
    // ENXIO: no reader is waiting
  }
}

/**
 * Opens standard input or a non-seekable path as a stream. Pipes and FIFOs are read through a
 * net.Socket (libuv polls them; a pending read ends when the stream is destroyed), other kinds
 * through fs streams. Opening a FIFO waits for its writer, as every reader of a FIFO does.
 */
async function openStream(path: string, signal: AbortSignal | undefined): Promise<{ input: Readable; size: number }> {
  const name = streamName(path);
  try {
    if (path === STDIN_PATH) {
      const st = fstatSync(0);
      if (st.isFIFO() || st.isSocket()) return { input: new Socket({ fd: 0, readable: true, writable: false }), size: 0 };
      if (isatty(0)) throw new UnreadableFileError('standard input is a terminal, not a capture: pipe one in (tcpdump -U -w - | wirefall analyze -) or name a file');
      // A file (`- < x.pcap`) is read from where its offset stands, like any reader of stdin.
      return { input: createReadStream('', { fd: 0, autoClose: false, highWaterMark: READ_CHUNK_BYTES }), size: st.isFile() ? st.size : 0 };
    }
    const st = await stat(path);
    if (st.isFIFO()) return { input: new Socket({ fd: await openFifo(path, signal), readable: true, writable: false }), size: 0 };
    const input = createReadStream(path, { highWaterMark: READ_CHUNK_BYTES });
    await new Promise<void>((ok, fail) => input.once('open', () => ok()).once('error', fail));
    return { input, size: 0 };
  } catch (e) {
    if (e instanceof WirefallError) throw e;
    throw new UnreadableFileError(`cannot open ${name}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
}

function streamName(path: string): string {
  return path === STDIN_PATH ? 'standard input' : path;
}

/** Reads chunks from `it` until at least `n` bytes (or the end); returns them unconsumed. */
async function take(it: AsyncIterator<Buffer>, n: number): Promise<Buffer[]> {
  const got: Buffer[] = [];
  for (let have = 0; have < n; ) {
    const r = await it.next();
    if (r.done) break;
    got.push(r.value);
    have += r.value.length;
  }
  return got;
}

/** The chunks `take` returned, then the rest of `it`. */
async function* replay(first: Buffer[], it: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield* first;
  for (let r = await it.next(); !r.done; r = await it.next()) yield r.value;
}

const magicOf = (chunks: Buffer[], n: number): Uint8Array => Buffer.concat(chunks).subarray(0, n);

/**
 * A capture from standard input or a pipe, FIFO or device: one pass, no seeking. The first bytes
 * decide gzip and then the format (after inflating them, for gzip); they are parsed with the rest.
 * Progress counts bytes as read (totalBytes is 0 when the size is unknown); `fileBytes` is the bytes
 * read. An abort ends a pending read at once.
 */
async function readStreamCapture(path: string, sink: RecordSink, opts: ReadOptions): Promise<ReadResult> {
  const name = streamName(path);
  const { input, size } = await openStream(path, opts.signal);
  const onAbort = () => input.destroy(new CancelledError(`analysis of ${name} was cancelled`));
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let bytesRead = 0;
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of input) {
      bytesRead += (chunk as Buffer).length;
      yield chunk as Buffer;
    }
  }
  const chunkBytes = Math.max(1, Math.floor(opts.chunkBytes ?? READ_CHUNK_BYTES));
  let result: ReadResult | undefined;
  let parser: RecordParser | undefined;
  let gunzip: ReturnType<typeof createGunzip> | undefined;
  try {
    const raw = counted();
    const rawHead = await take(raw, 2);
    const first = magicOf(rawHead, 2);
    const gzip = first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b;
    const rest = replay(rawHead, raw);
    let content: AsyncIterator<Buffer> = rest;
    if (gzip) {
      gunzip = createGunzip({ chunkSize: Math.min(chunkBytes, 256 * 1024) });
      content = (pipeline(Readable.from(rest), gunzip, () => {}) as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    }
    const head = await take(content, 4).catch((e: unknown) => {
      if ((e as NodeJS.ErrnoException).code?.startsWith('Z_')) return [] as Buffer[]; // not gzip after all: decided below
      throw e;
    });
    const magic = magicOf(head, 4);
    const format = detectFormat(magic);
    if (!format) {
      if (bytesRead === 0) throw new NotACaptureError(`${name} is empty, not a capture`);
      const hex = Buffer.from(magic).toString('hex') || '(none)';
      throw new NotACaptureError(`${name} is not a pcap or pcapng capture (magic ${hex}${gzip ? ' after gunzip' : ''})`);
    }
    const p = parserFor(format, sink, opts);
    parser = p;
    result = { format, gzip, fileBytes: 0 };
    let lastProgress = 0;
    for await (const chunk of replay(head, content)) {
      if (opts.signal?.aborted) throw new CancelledError(`analysis of ${name} was cancelled`);
      p.push(chunk);
      if (opts.afterChunk) await opts.afterChunk();
      if (opts.onProgress && bytesRead - lastProgress >= 8 * chunkBytes) {
        lastProgress = bytesRead;
        opts.onProgress({ bytesRead, totalBytes: size });
      }
    }
    p.end();
  } catch (e) {
    // An abort surfaces as the stream's error or as a premature close of the pipeline.
    if (opts.signal?.aborted) throw e instanceof CancelledError ? e : new CancelledError(`analysis of ${name} was cancelled`);
    if (!result || !parser) {
      if (e instanceof WirefallError) throw e;
      throw new UnreadableFileError(`error reading ${name}: ${(e as Error).message}`, { cause: e });
    }
    result.error = tailError(e, name);
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    input.destroy();
    gunzip?.destroy();
  }
  result.fileBytes = bytesRead;
  opts.onProgress?.({ bytesRead, totalBytes: size || bytesRead });
  return result;
}
