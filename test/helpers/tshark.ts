/** Runs tshark (the reference peer) and returns its field rows. */
import { execFileSync } from 'node:child_process';

export function tsharkFields(file: string, filter: string, fields: string[], extra: string[] = []): string[][] {
  const args = ['-r', file, '-n', '-Y', filter, '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=a', '-E', 'aggregator=,', ...extra];
  for (const f of fields) args.push('-e', f);
  const out = execFileSync('tshark', args, { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'pipe'] });
  return out
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => l.split('\t'));
}
