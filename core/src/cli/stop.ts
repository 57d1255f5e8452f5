/**
 * Why a CLI run ends before its inputs do, and how it exits then. One RunStop per command: the
 * signal handlers and the output (cli/output.ts) call `stop`, which aborts the run's AbortSignal —
 * the batch terminates its worker threads and an in-process analysis ends at its next chunk or
 * pending read — and the command then leaves through `exitNow`.
 *
 * Exit codes: SIGINT 130 and SIGTERM 143 (128 + the signal, as a shell reports a process the
 * signal killed); standard output closed by its reader (EPIPE, `| head`) 0 and nothing on stderr,
 * as ripgrep and most Node CLIs do (the reader asked for no more; under `set -o pipefail` a 141
 * would fail a pipeline that did what was meant); a write error on the output (ENOSPC, EIO) 73.
 *
 * Known limit: output is written synchronously (cli/output.ts), and a signal is handled by
 * JavaScript only between writes. While a reader that stopped reading but did not exit keeps a
 * pipe full, the write waits and so does the signal: the run stops when the reader reads on or
 * goes away (then as EPIPE). Asynchronous writes with back-pressure at chunk boundaries would lift
 * this; they need a per-chunk asynchronous hook from the engine.
 */
import { writeSync } from 'node:fs';
import type { OutputError } from '../errors.js';
import { terminalSafe } from './escape.js';

export type StopReason =
  | { kind: 'signal'; signal: 'SIGINT' | 'SIGTERM' }
  | { kind: 'output-closed' }
  | { kind: 'output-error'; error: OutputError };

export const SIGNAL_EXIT = { SIGINT: 130, SIGTERM: 143 } as const;

export class RunStop {
  private readonly controller = new AbortController();
  private resolveStopped!: (r: StopReason) => void;
  reason: StopReason | null = null;
  /** Resolves with the reason when the run is stopped (never otherwise). */
  readonly stopped = new Promise<StopReason>((r) => (this.resolveStopped = r));

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  stop(reason: StopReason): void {
    if (this.reason) return;
    this.reason = reason;
    this.controller.abort(reason);
    this.resolveStopped(reason);
  }

  /**
   * SIGINT and SIGTERM stop the run instead of killing the process at once, so that workers are
   * terminated and `-o` files settled; a second signal while that happens exits at once.
   * Returns a function that removes the handlers.
   */
  onSignals(): () => void {
    const handler = (signal: 'SIGINT' | 'SIGTERM') => {
      if (this.reason?.kind === 'signal') exitNow(SIGNAL_EXIT[this.reason.signal]);
      this.stop({ kind: 'signal', signal });
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
    return () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    };
  }

  exitCode(): number {
    const r = this.reason;
    if (!r) return 0;
    if (r.kind === 'signal') return SIGNAL_EXIT[r.signal];
    if (r.kind === 'output-closed') return 0;
    return r.error.exitCode;
  }
}

/**
 * Writes to standard error synchronously (so nothing is lost when the process exits right after)
 * with captured text escaped line by line (a message's own newlines, as in an internal error's
 * stack, are kept); a closed or failing stderr is ignored — there is nowhere left to say it.
 */
export function say(text: string): void {
  const lines = text.split('\n').map(terminalSafe).join('\n');
  writeAll(2, Buffer.from(lines), () => undefined);
}

/** Writes text already made safe (the progress line's own control sequences) to standard error. */
export function sayRaw(text: string): void {
  writeAll(2, Buffer.from(text), () => undefined);
}

/** Short output of commands that are not a run (help, version, hpack): to stdout, errors ignored. */
export function print(text: string): void {
  writeAll(1, Buffer.from(text), () => undefined);
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes all of `b` to `fd` synchronously. A descriptor some other process left non-blocking
 * answers EAGAIN when its pipe is full: wait a millisecond and retry (the reader drains it).
 * Returns false after `onError` was told of any other error.
 */
export function writeAll(fd: number, b: Uint8Array, onError: (e: NodeJS.ErrnoException) => void): boolean {
  for (let off = 0; off < b.length; ) {
    try {
      off += writeSync(fd, b, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') {
        Atomics.wait(sleeper, 0, 0, 1);
        continue;
      }
      onError(e as NodeJS.ErrnoException);
      return false;
    }
  }
  return true;
}

/**
 * Ends the process with `code` now. Used once a run has stopped and its output is settled: work
 * still in flight (an in-process analysis finishing its chunk, a read blocked on a FIFO that has no
 * writer yet) must not hold the process open.
 */
export function exitNow(code: number): never {
  process.exit(code);
}
