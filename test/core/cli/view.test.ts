/**
 * `wirefall view` right after `npm ci`: the UI it serves must already be built, and where it is
 * missing the message must name a command that builds it. Checked on the scripts themselves (what
 * `npm ci` and the named command run), and on the CLI with the UI pointed elsewhere. `.ci/run`
 * checks the whole path in a fresh clone: `npm ci`, then the README's `view` example, fetched.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { heapFollowsAnalyses, rendererDir } from '../../../core/src/cli/view.js';
import { DocStore } from '../../../core/src/view/docs.js';
import { phases } from '../../../core/src/model/phases.js';
import { analyzeFile } from '../../../core/src/engine.js';
import { EXIT } from '../../../core/src/cli/main.js';
import { ROOT, sample } from '../../helpers/env.js';

type Pkg = { scripts?: Record<string, string> };
const pkg = (dir: string): Pkg => JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as Pkg;

/**
 * The shell commands an `npm run <script>` in the root runs, with `npm run X` and `npm run X -w W`
 * expanded into the scripts they name (enough of npm's behaviour for these scripts).
 */
function expand(script: string, dir = '.', depth = 0): string[] {
  const body = pkg(dir).scripts?.[script];
  if (body === undefined || depth > 5) return [];
  return body.split(/\s*&&\s*/).flatMap((cmd) => {
    const m = /^npm run ([\w:-]+)(?:\s+(?:-w|--workspace)\s+(\S+))?$/.exec(cmd.trim());
    return m ? expand(m[1]!, m[2] ?? dir, depth + 1) : [`${dir}: ${cmd.trim()}`];
  });
}

/** Does a command (as expand() gives it) build the renderer into app/dist/renderer? */
const buildsRenderer = (cmd: string) =>
  /^app: node scripts\/build\.mjs(?! --renderer-only)/.test(cmd) || /^\.: node app\/scripts\/build\.mjs/.test(cmd);

describe('wirefall view after npm ci', () => {
  it('npm ci builds the UI the CLI serves (the root prepare script)', () => {
    // npm ci runs the root package's `prepare` after installing.
    const steps = expand('prepare');
    expect(steps.some(buildsRenderer), `prepare runs: ${steps.join(' | ')}`).toBe(true);
    expect(steps.some((s) => s.startsWith('core: tsc'))).toBe(true);
    // …into the directory `wirefall view` serves from
    expect(rendererDir()).toBe(join(ROOT, 'app', 'dist', 'renderer'));
    expect(readFileSync(join(ROOT, 'app', 'vite.config.ts'), 'utf8')).toContain("new URL('./dist/renderer', import.meta.url)");
  });

  it('names a command that builds the UI when it is missing', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'core', 'bin', 'wirefall.js'), 'view', sample('h2-push.pcap')], {
      encoding: 'utf8',
      env: { ...process.env, WIREFALL_RENDERER_DIR: join(ROOT, 'test-artifacts', 'no-such-renderer') },
      timeout: 30_000,
    });
    expect(r.status).toBe(EXIT.UNREADABLE);
    const named = /run `npm run ([\w:-]+)` in the repository root/.exec(r.stderr);
    expect(named, r.stderr).not.toBeNull();
    const steps = expand(named![1]!);
    expect(steps.some(buildsRenderer), `\`npm run ${named![1]}\` runs: ${steps.join(' | ')}`).toBe(true);
  });
});

describe('view: the heap setting follows the analyses (heapFollowsAnalyses)', () => {
  it('is on while a real capture is analysed and off once every document is ready', async () => {
    // Each analysis starts when the test lets it (real captures, the real engine).
    const gates = new Map<string, () => void>();
    const store = new DocStore((p) => new Promise<void>((go) => gates.set(p, go)).then(() => analyzeFile(p)), phases);
    const calls: boolean[] = [];
    const stop = heapFollowsAnalyses(store, (on) => calls.push(on));
    expect(calls).toEqual([false]);
    const pa = sample('keepalive-pool.pcap');
    const pb = sample('pipelining.pcap');
    const a = store.open(pa, 1);
    const b = store.open(pb, 1);
    expect(calls.at(-1)).toBe(true);
    gates.get(pa)!();
    await store.settled(a.id);
    // One still analysed: still on.
    expect(store.list().map((d) => d.state)).toEqual(['ready', 'analyzing']);
    expect(calls.at(-1)).toBe(true);
    gates.get(pb)!();
    await store.settled(b.id);
    expect(calls.at(-1)).toBe(false);
    stop();
    store.open(sample('idle-timeout.pcap'), 1);
    expect(calls.at(-1)).toBe(false);
  });
});
