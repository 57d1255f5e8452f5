/**
 * Outside resources the tests use: tshark, Chromium, and ../shared/corpus. Where one is absent a
 * test skips with a visible message — except under CI (CI=true), where the absence is a failure,
 * so CI always runs them.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SAMPLES = join(ROOT, 'samples');
export const CORPUS = join(ROOT, '..', 'shared', 'corpus');
export const ZEEK = join(CORPUS, 'zeek');
export const HPACK_CORPUS = join(CORPUS, 'hpack');
export const IN_CI = process.env.CI === 'true';

function which(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * True when the resource is there. When it is not: under CI throws (the suite fails); elsewhere
 * prints why the tests that need it are skipped and returns false.
 */
export function requireResource(name: string, present: boolean, hint: string): boolean {
  if (present) return true;
  const msg = `${name} is not available (${hint})`;
  if (IN_CI) throw new Error(`${msg}: required under CI=true`);
  console.warn(`SKIPPED: tests needing ${msg}`);
  return false;
}

export const hasTshark = (): boolean => requireResource('tshark', which('tshark'), 'apt-get install tshark');
export const hasCorpus = (): boolean => requireResource('../shared/corpus', existsSync(ZEEK), 'the shared test corpus beside the project');
export const hasChromium = (): boolean => requireResource('chromium', existsSync('/usr/bin/chromium'), 'apt-get install chromium');

export function listCaptures(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => /\.(pcap|pcapng|cap)(\.gz)?$/i.test(f))
    .sort()
    .map((f) => join(dir, f));
}

/** Every capture file under `dir` and its subdirectories, in a stable order. */
export function listCapturesDeep(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...listCapturesDeep(p));
    else if (/\.(pcap|pcapng|cap)(\.gz)?$/i.test(e.name)) out.push(p);
  }
  return out.sort();
}

export const sample = (name: string): string => join(SAMPLES, name);
