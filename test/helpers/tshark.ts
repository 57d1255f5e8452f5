/**
 * Runs tshark (the reference peer) and returns its field rows. Several occurrences of a field in
 * one frame (e.g. pipelined requests in one segment) are joined with AGG; split them with `occ`.
 */
export const AGG = '\u0001';
export const occ = (v: string): string[] => (v === '' ? [] : v.split(AGG));

import { execFileSync } from 'node:child_process';

export function tsharkFields(file: string, filter: string, fields: string[], extra: string[] = []): string[][] {
  const args = ['-r', file, '-n', '-Y', filter, '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=a', '-E', `aggregator=${AGG}`, ...extra];
  for (const f of fields) args.push('-e', f);
  const out = execFileSync('tshark', args, { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'pipe'] });
  return out
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.split('\t'));
}
