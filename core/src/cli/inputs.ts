/**
 * Expands the CLI's capture arguments: plain files, directories (walked recursively for capture
 * files) and glob patterns (tinyglobby: a small, maintained glob library — globbing is not
 * wirefall's core, and Node 20 has no fs.glob). Order is kept; duplicates are dropped.
 *
 * A directory walk takes regular files with a capture name and symbolic links (by their own name)
 * to regular files; it does not follow links to directories (no cycles) and skips FIFOs, sockets
 * and devices there (opening a FIFO would wait for a writer). Named on the command line, `-` and
 * any pipe or FIFO are read as a stream (capture/reader.ts).
 */
import { readdir, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';

export const CAPTURE_EXTENSIONS = ['.pcap', '.pcapng', '.cap', '.pcap.gz', '.pcapng.gz', '.cap.gz'];
/** Directory levels walked below each directory argument. */
export const MAX_WALK_DEPTH = 32;

export function isCaptureName(name: string): boolean {
  const n = name.toLowerCase();
  return CAPTURE_EXTENSIONS.some((e) => n.endsWith(e));
}

async function walk(dir: string, depth: number, out: string[]): Promise<void> {
  if (depth > MAX_WALK_DEPTH) return;
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, depth + 1, out);
    else if (!isCaptureName(e.name)) continue;
    else if (e.isFile() || (e.isSymbolicLink() && (await stat(p).catch(() => null))?.isFile())) out.push(p);
  }
}

/** Returns the files to analyse; a path that does not exist is kept so it is reported as unreadable. */
export async function expandInputs(args: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const a of args) {
    let st;
    try {
      st = await stat(a);
    } catch {
      st = null;
    }
    if (st?.isDirectory()) {
      await walk(a, 0, out);
    } else if (!st && isDynamicPattern(a)) {
      const found = await glob(a, { onlyFiles: true, expandDirectories: false, absolute: isAbsolute(a) });
      found.sort();
      out.push(...found);
    } else {
      out.push(a);
    }
  }
  return [...new Set(out)];
}
