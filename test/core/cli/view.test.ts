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
import { rendererDir } from '../../../core/src/cli/view.js';
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
