/**
 * An append-only scratch file for state that grows with a capture but is read rarely (the requests
 * of connections still open, kept for detectors that judge a connection when it ends): memory
 * stays flat, the disk takes the rest. The file is unlinked as soon as it is opened, so it goes
 * away with its descriptor — on `close()`, or when the process ends, however it ends.
 *
 * A file that cannot be made or written (no space, a read-only TMPDIR) is not an error: `append`
 * answers null from then on and the caller keeps its data in memory (and counts it).
 */
import { closeSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export class SpillFile {
  private fd: number | null = null;
  private end = 0;
  /** The file could not be made or written: nothing more is appended. */
  failed = false;

  constructor(private readonly dir: string = tmpdir()) {}

  /** Bytes in the file. */
  get size(): number {
    return this.end;
  }

  /** Appends `parts` (one record); returns its offset, or null when the file is unusable. */
  append(...parts: Uint8Array[]): number | null {
    if (this.failed) return null;
    try {
      if (this.fd === null) {
        const path = join(this.dir, `wirefall-spill-${process.pid}-${randomBytes(6).toString('hex')}`);
        this.fd = openSync(path, 'wx+', 0o600);
        unlinkSync(path);
      }
      const at = this.end;
      let pos = at;
      for (const p of parts) {
        let done = 0;
        while (done < p.length) done += writeSync(this.fd, p, done, p.length - done, pos + done);
        pos += p.length;
      }
      this.end = pos;
      return at;
    } catch {
      this.failed = true;
      return null;
    }
  }

  /** `length` bytes from `offset` (within what was appended), in a buffer of their own (byteOffset 0). */
  read(offset: number, length: number): Buffer {
    const b = Buffer.allocUnsafeSlow(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd!, b, done, length - done, offset + done);
      if (n === 0) throw new Error(`spill file: short read at ${offset + done}`);
      done += n;
    }
    return b;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}
