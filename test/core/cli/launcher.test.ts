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
  const dir = mkdtempSync(join(tmpdir(), 'wirefall-launcher-'));
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

describe('wirefall launcher', () => {
  it('runs the bundle while it is at least as new as every compiled module', () => {
    const { dir, run } = layout();
    const dist = join(dir, 'core', 'dist');
    entry(join(dist, 'cli', 'main.js'), 'per-module', 1_000);
    entry(join(dist, 'engine.js'), 'engine', 1_000);
    entry(join(dist, 'bundle', 'main.js'), 'bundle', 2_000);
    expect(run()).toMatchObject({ code: 0, out: 'bundle x' });
    rmSync(dir, { recursive: true, force: true });
  });

  it('falls back to the per-module output when any compiled module is newer than the bundle (a tsc-only rebuild)', () => {
    const { dir, run } = layout();
    const dist = join(dir, 'core', 'dist');
    entry(join(dist, 'cli', 'main.js'), 'per-module', 1_000);
    entry(join(dist, 'bundle', 'main.js'), 'bundle', 2_000);
    entry(join(dist, 'http2', 'session.js'), 'a module deep in the tree', 3_000);
    expect(run()).toMatchObject({ code: 0, out: 'per-module x' });
    rmSync(dir, { recursive: true, force: true });
  });

  it('uses the per-module output when there is no bundle, and exits 70 with a hint when nothing is built', () => {
    const { dir, run } = layout();
    const dist = join(dir, 'core', 'dist');
    expect(run()).toMatchObject({ code: 70, out: '' });
    expect(run().err).toContain('npm run build');
    entry(join(dist, 'cli', 'main.js'), 'per-module', 1_000);
    expect(run()).toMatchObject({ code: 0, out: 'per-module x' });
    rmSync(dir, { recursive: true, force: true });
  });
});
