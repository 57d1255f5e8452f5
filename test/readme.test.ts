/**
 * The README's CLI examples run as written: every command of the ```sh block after "After `npm ci`,
 * the CLI works", through `sh` and `npx` as a user types it, in a scratch directory that holds only
 * the repository's `samples/` and `node_modules/` (so `page.har` lands there, not in the checkout).
 * `wirefall view` is started, its printed URL fetched (HTTP 200, the UI's HTML), then stopped.
 * npm runs offline: an `npx` that did not find the local `wirefall` fails instead of downloading.
 *
 * Also: the built-in reader's speed-up is one measured figure, stated once (README, Benchmark), and
 * `--help` points there instead of giving its own.
 */
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HELP } from '../core/src/cli/main.js';
import { ROOT } from './helpers/env.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');

/** The commands of the first ```sh block after `marker`, without trailing `# comments`. */
function shBlockAfter(text: string, marker: string): string[] {
  const at = text.indexOf(marker);
  if (at < 0) throw new Error(`README: "${marker}" not found`);
  const m = /```sh\n([\s\S]*?)```/.exec(text.slice(at));
  if (!m) throw new Error(`README: no sh block after "${marker}"`);
  return m[1]!
    .split('\n')
    .map((l) => l.replace(/\s+#[^'"]*$/, '').trim())
    .filter((l) => l.length > 0);
}

const EXAMPLES = shBlockAfter(README, 'After `npm ci`');

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wirefall-readme-'));
  symlinkSync(join(ROOT, 'samples'), join(dir, 'samples'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

const ENV = { ...process.env, npm_config_offline: 'true', npm_config_update_notifier: 'false' };

function fetchPage(url: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body }));
    }).on('error', reject);
  });
}

/** Start a long-running example, wait for the URL it prints, fetch it, stop it. */
async function runView(cmd: string, cwd: string): Promise<{ status: number; type: string; body: string }> {
  const child = spawn('sh', ['-c', `exec ${cmd}`], { cwd, env: ENV, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`no URL printed within 60 s:\n${out}`)), 60_000);
      const take = (c: Buffer) => {
        out += c.toString('utf8');
        const m = /http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[0]);
        }
      };
      child.stdout.on('data', take);
      child.stderr.on('data', take);
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${cmd} exited (${code}) before serving:\n${out}`));
      });
    });
    return await fetchPage(url);
  } finally {
    if (child.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGTERM');
  }
}

describe('README examples', () => {
  it('the CLI block is there and names only files that exist in the repository', () => {
    expect(EXAMPLES.length).toBeGreaterThanOrEqual(8);
    for (const cmd of EXAMPLES) {
      for (const path of cmd.match(/\bsamples\/[\w./*-]*/g) ?? []) {
        if (!path.includes('*')) expect(existsSync(join(ROOT, path)), `${cmd}: ${path}`).toBe(true);
      }
    }
  });

  for (const cmd of EXAMPLES) {
    it(`runs as written: ${cmd}`, async () => {
      const cwd = scratch();
      if (/\bwirefall view\b/.test(cmd)) {
        const page = await runView(cmd, cwd);
        expect(page.status).toBe(200);
        expect(page.type).toMatch(/^text\/html/);
        expect(page.body).toMatch(/<!doctype html>/i);
        return;
      }
      const r = spawnSync('sh', ['-c', cmd], { cwd, env: ENV, encoding: 'utf8', maxBuffer: 1 << 28, timeout: 120_000 });
      expect(r.status, `${cmd}\n${r.stderr}`).toBe(0);
      const har = /-o (\S+\.har)/.exec(cmd);
      const svg = /-o (\S+\.svg)/.exec(cmd);
      if (har) {
        const doc = JSON.parse(readFileSync(join(cwd, har[1]!), 'utf8')) as { log: { entries: unknown[] } };
        expect(doc.log.entries.length).toBeGreaterThan(0);
      } else if (svg) {
        const text = readFileSync(join(cwd, svg[1]!), 'utf8');
        expect(text).toMatch(/^<\?xml[^>]*>\s*<svg /);
        expect(text.trimEnd().endsWith('</svg>')).toBe(true);
      } else {
        expect(r.stdout.length).toBeGreaterThan(0);
      }
    }, 180_000);
  }
});

describe('README and --help agree', () => {
  const speedUp = /\d+(?:\.\d+)?(?:[–-]\d+(?:\.\d+)?)?x faster/g;
  it('the built-in reader\'s speed-up is stated once, in the README, and --help points there', () => {
    expect(HELP.match(speedUp)).toBeNull();
    expect(HELP).toMatch(/builtin[\s\S]*README, Benchmark/);
    expect(README.match(speedUp)).toHaveLength(1);
  });
});
