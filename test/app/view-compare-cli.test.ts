/**
 * `wirefall view BEFORE --compare AFTER --keylog …` from the built CLI: it serves both captures
 * (analysed in worker threads, the key logs applied to both), names the pair in host(), serves
 * their diff behind the token, and stops on SIGINT with 130. Usage errors exit 64 / 66.
 */
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT, HELP } from '../../core/src/cli/main.js';
import { CORE } from '../../core/src/view/core-link.js';
import { diffReports } from '../../core/src/diff/diff.js';
import type { HostInfo } from '../../core/src/view/api.js';
import { ROOT } from '../helpers/env.js';

const BIN = join(ROOT, 'core', 'bin', 'wirefall.js');
const S = join(ROOT, 'samples', 'whatif');
const BEFORE = join(S, 'requests-get-50.pcap');
const AFTER = join(S, 'requests-session-50.pcap');
const KEYS = [join(S, 'requests-get-50.keys'), join(S, 'requests-session-50.keys')];

function stubRenderer(): string {
  const d = mkdtempSync(join(tmpdir(), 'wirefall-static-'));
  writeFileSync(join(d, 'index.html'), '<!doctype html><title>wirefall</title>');
  return d;
}

describe('wirefall view --compare', () => {
  it('is in --help', () => {
    expect(HELP).toMatch(/wirefall view <before> --compare <after>/);
  });

  it('refuses two positional captures (64), a missing AFTER (66) and a directory (64)', () => {
    const env = { ...process.env, WIREFALL_RENDERER_DIR: stubRenderer() };
    const two = spawnSync(process.execPath, [BIN, 'view', BEFORE, AFTER], { encoding: 'utf8', env });
    expect(two.status).toBe(EXIT.USAGE);
    expect(two.stderr).toMatch(/--compare/);
    const missing = spawnSync(process.execPath, [BIN, 'view', BEFORE, '--compare', join(S, 'no-such.pcap')], { encoding: 'utf8', env });
    expect(missing.status).toBe(EXIT.UNREADABLE);
    expect(missing.stderr).toMatch(/no-such\.pcap/);
    const dir = spawnSync(process.execPath, [BIN, 'view', S, '--compare', AFTER], { encoding: 'utf8', env });
    expect(dir.status).toBe(EXIT.USAGE);
    expect(dir.stderr).toMatch(/not directories/);
  });

  it('serves the diff of the two captures, with --keylog applied to both', async () => {
    const child = spawn(process.execPath, [BIN, 'view', BEFORE, '--compare', AFTER, ...KEYS.flatMap((k) => ['--keylog', k])], {
      env: { ...process.env, WIREFALL_RENDERER_DIR: stubRenderer() },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.setEncoding('utf8');
        child.stdout.on('data', (c: string) => {
          out += c;
          const m = /(http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.on('exit', (code) => reject(new Error(`view exited ${code}: ${out}`)));
      });
      expect(out).toContain('requests-get-50.pcap → ');
      const u = new URL(url);
      const token = u.searchParams.get('token')!;
      const host = (await (await fetch(`${u.origin}/api/call`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Wirefall-Token': token }, body: JSON.stringify({ method: 'host', args: [] }) })).json()) as { result: HostInfo };
      const pair = host.result.compare!;
      expect(pair).toBeDefined();
      const path = `${u.origin}/api/diff?before=${pair.before}&after=${pair.after}`;
      expect((await fetch(path)).status).toBe(401);
      let res = await fetch(path, { headers: { 'X-Wirefall-Token': token } });
      for (let i = 0; res.status === 409 && i < 200; i++) {
        await new Promise((r) => setTimeout(r, 50));
        res = await fetch(path, { headers: { 'X-Wirefall-Token': token } });
      }
      expect(res.status).toBe(200);
      const got = ((await res.json()) as { result: { diff: ReturnType<typeof diffReports> } }).result.diff;
      const before = await CORE.analyzeFile(BEFORE, { keylog: { files: KEYS } });
      const after = await CORE.analyzeFile(AFTER, { keylog: { files: KEYS } });
      const want = diffReports(before, after, { before: 'requests-get-50.pcap', after: 'requests-session-50.pcap' });
      expect(got).toEqual(JSON.parse(JSON.stringify(want)));
      expect([got.before.connections, got.after.connections]).toEqual([want.before.connections, want.after.connections]);
      expect(got.before.requests).toBe(before.requests.length);
      expect(got.before.requests).toBeGreaterThan(0);
    } finally {
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGINT');
      expect(await exited).toBe(EXIT.CANCELLED);
    }
  });
});
