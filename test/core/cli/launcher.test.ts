/**
 * core/bin/wirefall.js picks the CLI's entry: the esbuild bundle (dist/bundle, faster start-up)
 * only while no compiled module is newer than it, else the per-module tsc output; and says so when
 * nothing is built. Checked on a copy of the launcher over stand-in entries that name themselves,
 * so the real build is never touched.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../helpers/env.js';

function layout(): { dir: string; run: () => { code: number | null; out: string; err: string } } {
  // A path with a space, '#' and '%' (as a user's home may have): the entry must still load.
  const dir = mkdtempSync(join(tmpdir(), 'wirefall launcher #%-'));
  mkdirSync(join(dir, 'core', 'bin'), { recursive: true });
  copyFileSync(join(ROOT, 'core', 'bin', 'wirefall.js'), join(dir, 'core', 'bin', 'wirefall.js'));
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  const run = () => {
    const r = spawnSync(process.execPath, [join(dir, 'core', 'bin', 'wirefall.js'), 'x'], { encoding: 'utf8' });
    return { code: r.status, out: r.stdout.trim(), err: r.stderr };
  };
  return { dir, run };
}

function entry(path: string, name: string, mtimeS: number): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, `export async function main(argv) { console.log(${JSON.stringify(name)} + ' ' + argv.join(',')); return 0; }\n`);
  utimesSync(path, mtimeS, mtimeS);
}

/** Scenarios: stand-in entries (path under dist/, mtime in seconds) and which one must run. */
const SCENARIOS: [string, [string, number][], string][] = [
  ['runs the bundle while it is at least as new as every compiled module',
    [['cli/main.js', 1_000], ['engine.js', 1_000], ['bundle/main.js', 2_000]], 'bundle/main.js'],
  ['falls back to the per-module output when any compiled module is newer than the bundle (a tsc-only rebuild)',
    [['cli/main.js', 1_000], ['bundle/main.js', 2_000], ['http2/session.js', 3_000]], 'cli/main.js'],
  ['uses the per-module output when there is no bundle', [['cli/main.js', 1_000]], 'cli/main.js'],
];

describe('wirefall launcher', () => {
  for (const [name, entries, expected] of SCENARIOS) {
    it(name, () => {
      const { dir, run } = layout();
      for (const [path, mtime] of entries) entry(join(dir, 'core', 'dist', path), path, mtime);
      expect(run()).toMatchObject({ code: 0, out: `${expected} x` });
      rmSync(dir, { recursive: true, force: true });
    });
  }

  it('exits 70 with a hint when nothing is built', () => {
    const { dir, run } = layout();
    const r = run();
    expect(r).toMatchObject({ code: 70, out: '' });
    expect(r.err).toContain('npm run build');
    rmSync(dir, { recursive: true, force: true });
  });
});
