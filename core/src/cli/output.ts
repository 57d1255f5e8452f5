/**
 * Where a command's output goes: standard output, or `-o FILE`.
 *
 * Writes are synchronous (as process.stdout's are to files and, on Linux, to pipes): a report
 * arrives in pieces (json-out.ts) and none waits in memory for an asynchronous stream, a slow
 * reader holds the analysis back instead of letting output pile up, and a write error is known at
 * the write. Text is collected up to FLUSH_CHARS and written then, or when the event loop next
 * turns (after the chunk being analysed): one system call per ~64 KiB instead of one per NDJSON
 * line (200k lines to a pipe: 0.22 s against 0.57 s), while records still leave as their chunk
 * completes. A write never throws: the first failure stops the run (RunStop: EPIPE as
 * `output-closed`, anything else as `output-error`, WF_OUTPUT) and later writes are dropped, so a
 * failure inside an analysis callback or a worker message cannot turn into a crash.
 *
 * `-o FILE` is atomic: the output is written to `.FILE.wirefall-PID.tmp` in FILE's directory (a
 * symbolic link is resolved first, so the link stays) and renamed onto FILE only when the run
 * succeeds (`commit`); on any other end (`abandon`) FILE is left as it was and the temporary file
 * removed — except that NDJSON records written so far are kept as `FILE.partial`, complete lines
 * only. FILE keeps its permissions. A FILE that exists and is not a regular file (a device such as
 * /dev/null, a FIFO) is written directly: there is nothing to keep intact.
 */
import { closeSync, fchmodSync, fsyncSync, ftruncateSync, lstatSync, openSync, realpathSync, renameSync, statSync, unlinkSync, type Stats } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { OutputError, UsageError } from '../errors.js';
import { exitNow, say, writeAll, type RunStop } from './stop.js';

export interface Output {
  /** Appends text. Never throws: after a failure (reported to the RunStop) writes are dropped. */
  write(s: string): void;
  /**
   * Appends bytes (after the text collected so far), written before the call returns: the caller
   * may reuse `b`. Never throws, as `write`.
   */
  writeBytes(b: Uint8Array): void;
  /** True once a write failed. */
  readonly failed: boolean;
  /** `-o FILE`'s temporary file (the streamed json's spill files go beside it); absent for standard output and devices. */
  readonly tempPath?: string;
  /** The run succeeded: the output becomes FILE (no-op for standard output and devices). */
  commit(): void;
  /**
   * The run failed or stopped: FILE stays as it was. With `keepPartial`, what was written (complete
   * writes only) is kept as FILE.partial, whose path is returned; null when nothing was kept.
   */
  abandon(keepPartial: boolean): string | null;
}

/** The temporary file `-o FILE` is written to, beside FILE. */
export function tempPathFor(target: string, pid = process.pid): string {
  return join(dirname(target), `.${basename(target)}.wirefall-${pid}.tmp`);
}

export const PARTIAL_SUFFIX = '.partial';

/** Characters collected before a write. */
export const FLUSH_CHARS = 64 * 1024;

class FdOutput implements Output {
  failed = false;
  /** Set by commit and abandon: a late write (a worker's last message) must not reach a reused fd. */
  protected closed = false;
  /** Bytes of complete writes: the end of the last whole record. */
  protected bytes = 0;
  private pending: string[] = [];
  private pendingChars = 0;
  private scheduled = false;
  private readonly flushSoon = () => {
    this.scheduled = false;
    this.flush();
  };

  constructor(
    protected readonly fd: number,
    private readonly name: string,
    private readonly stop: RunStop,
  ) {}

  write(s: string): void {
    if (this.failed || this.closed) return;
    this.pending.push(s);
    this.pendingChars += s.length;
    if (this.pendingChars >= FLUSH_CHARS) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.flushSoon);
    }
  }

  writeBytes(b: Uint8Array): void {
    if (this.failed || this.closed) return;
    this.flush();
    if (this.failed) return;
    if (writeAll(this.fd, b, (e) => this.fail(e))) this.bytes += b.length;
  }

  /** Writes what was collected (whole writes only, so `bytes` always ends a record). */
  protected flush(): void {
    if (this.pending.length === 0 || this.failed || this.closed) return;
    const b = Buffer.from(this.pending.length === 1 ? this.pending[0] : this.pending.join(''));
    this.pending = [];
    this.pendingChars = 0;
    if (writeAll(this.fd, b, (e) => this.fail(e))) this.bytes += b.length;
  }

  private fail(e: NodeJS.ErrnoException): void {
    this.failed = true;
    if (e.code === 'EPIPE') this.stop.stop({ kind: 'output-closed' });
    else this.stop.stop({ kind: 'output-error', error: new OutputError(`cannot write ${this.name}: ${e.code ?? e.message}`, { cause: e }) });
  }

  commit(): void {
    this.flush();
    this.closed = true;
  }

  abandon(_keepPartial: boolean): string | null {
    this.flush(); // what was produced is shown
    this.closed = true;
    return null;
  }
}

class DeviceOutput extends FdOutput {
  override commit(): void {
    this.flush();
    if (!this.closed) closeSync(this.fd);
    this.closed = true;
  }
  override abandon(): string | null {
    this.commit();
    return null;
  }
}

class AtomicFileOutput extends FdOutput {
  readonly tempPath: string;
  private settled = false;
  private readonly onExit = () => this.removeTemp();

  constructor(
    fd: number,
    private readonly tmp: string,
    private readonly target: string,
    private readonly shown: string,
    stop: RunStop,
  ) {
    super(fd, shown, stop);
    this.tempPath = tmp;
    // Even an exit nobody planned (an uncaught error) leaves no temporary file behind.
    process.on('exit', this.onExit);
  }

  private removeTemp(): void {
    this.closed = true;
    if (this.settled) return;
    this.settled = true;
    process.off('exit', this.onExit);
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
    try {
      unlinkSync(this.tmp);
    } catch {
      // already gone
    }
  }

  override commit(): void {
    if (this.settled) return;
    this.flush();
    if (this.failed) return; // the RunStop has the error; the run ends through `abandon`
    this.closed = true;
    try {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.settled = true;
      process.off('exit', this.onExit);
      renameSync(this.tmp, this.target);
    } catch (e) {
      this.settled = false;
      this.removeTemp();
      throw new OutputError(`cannot write ${this.shown}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
    }
  }

  override abandon(keepPartial: boolean): string | null {
    if (this.settled) return null;
    if (keepPartial) this.flush();
    this.closed = true;
    if (!keepPartial || this.bytes === 0) {
      this.removeTemp();
      return null;
    }
    const partial = this.target + PARTIAL_SUFFIX;
    try {
      ftruncateSync(this.fd, this.bytes); // a write cut short by an error is not kept
      closeSync(this.fd);
      this.settled = true;
      process.off('exit', this.onExit);
      renameSync(this.tmp, partial);
      return partial;
    } catch {
      this.settled = false;
      this.removeTemp();
      return null;
    }
  }
}

function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

const sameFile = (a: Stats | null, b: Stats): boolean => a !== null && a.dev === b.dev && a.ino === b.ino;

/**
 * Opens the output: standard output when `path` is undefined or `-`, else `-o FILE` (see above).
 * Errors creating it are OutputError (exit 73) naming FILE, raised before any analysis.
 */
export function openOutput(path: string | undefined, inputs: string[], stop: RunStop): Output {
  if (path === undefined || path === '-') return new FdOutput(1, 'standard output', stop);
  const failed = (e: unknown): OutputError =>
    new OutputError(`cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  // Input files are never modified, nor replaced by a report.
  const existing = statOrNull(path);
  if (existing && inputs.some((f) => sameFile(statOrNull(f), existing))) {
    throw new UsageError(`-o ${path} is one of the input captures; refusing to overwrite it`);
  }
  if (existing && !existing.isFile()) {
    try {
      return new DeviceOutput(openSync(path, 'w'), path, stop);
    } catch (e) {
      throw failed(e);
    }
  }
  let target = path;
  try {
    if (existing && lstatSync(path).isSymbolicLink()) target = realpathSync(path);
  } catch {
    // keep the path as given
  }
  const tmp = tempPathFor(target);
  const create = () => openSync(tmp, 'wx', 0o666);
  let fd: number;
  try {
    try {
      fd = create();
    } catch (e) {
      // Left by an earlier run that had this process id and was killed outright.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      unlinkSync(tmp);
      fd = create();
    }
  } catch (e) {
    throw failed(e);
  }
  const out = new AtomicFileOutput(fd, tmp, target, path, stop);
  try {
    if (existing) fchmodSync(fd, existing.mode & 0o7777);
  } catch (e) {
    out.abandon(false);
    throw failed(e);
  }
  return out;
}

/**
 * A stopped run's output settled: FILE left as it was (an ndjson run's records kept in
 * FILE.partial when `keepPartial`), why said once, then exit at once with the stop's code.
 */
export function abandonStopped(out: Output, stop: RunStop, keepPartial: boolean): never {
  const partial = out.abandon(keepPartial);
  const r = stop.reason!;
  if (r.kind === 'output-error') say(`wirefall: ${r.error.message}\n`);
  if (partial) say(`wirefall: ${r.kind === 'signal' ? 'interrupted' : 'stopped'}; the records written so far are in ${partial}\n`);
  return exitNow(stop.exitCode());
}

/** A whole document written: commit FILE unless the run was stopped (before the commit or by it). */
export function commitUnlessStopped(out: Output, stop: RunStop): void {
  if (!stop.reason) out.commit();
  if (stop.reason) abandonStopped(out, stop, false);
}
