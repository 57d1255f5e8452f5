/** Which files the app opens, from the command line, the OS, drag and drop; the Open Recent list. Pure. */
import { isAbsolute, resolve } from 'node:path';

export const CAPTURE_EXTENSIONS = ['pcap', 'pcapng', 'cap', 'pcap.gz', 'pcapng.gz'] as const;

export function isCaptureFile(path: string): boolean {
  const p = path.toLowerCase();
  return CAPTURE_EXTENSIONS.some((e) => p.endsWith('.' + e));
}

/** The Open dialog's filters. */
export const OPEN_DIALOG_FILTERS = [
  { name: 'Packet captures', extensions: ['pcap', 'pcapng', 'cap', 'gz'] },
  { name: 'All files', extensions: ['*'] },
];

/**
 * Capture paths in a command line (process.argv or a second instance's argv): non-option
 * arguments after the app entry that look like captures, resolved against `cwd`.
 * Electron's argv is [electron, main.js, ...] in development and [app, ...] when packaged.
 */
export function capturePathsFromArgv(argv: readonly string[], cwd: string, packaged: boolean): string[] {
  const rest = argv.slice(packaged ? 1 : 2);
  const out: string[] = [];
  for (const a of rest) {
    if (a.startsWith('-') || a.length === 0) continue;
    if (!isCaptureFile(a)) continue;
    out.push(isAbsolute(a) ? a : resolve(cwd, a));
  }
  return out;
}

export const RECENT_MAX = 10;

/** Most recent first, no duplicates, at most RECENT_MAX. */
export function addRecent(list: readonly string[], path: string, max = RECENT_MAX): string[] {
  return [path, ...list.filter((p) => p !== path)].slice(0, max);
}

export function parseRecent(json: string): string[] {
  try {
    const v = JSON.parse(json) as unknown;
    if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string' && x.length > 0).slice(0, RECENT_MAX);
  } catch {
    /* a corrupt list is an empty list */
  }
  return [];
}
