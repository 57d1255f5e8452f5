/** Shared e2e plumbing: Chromium via playwright-core, a fresh renderer build, the view server. */
import { existsSync, mkdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { startViewServer, type ViewServer, type ViewServerOptions } from '../../core/src/view/server.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const ARTIFACTS = `${ROOT}test-artifacts`;
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Chromium present → null. Absent → the reason to skip; under CI (CI=true) absence is a failure,
 * so this throws instead.
 */
export function chromiumMissing(): string | null {
  if (existsSync(CHROMIUM)) return null;
  const msg = `Chromium not found at ${CHROMIUM}: browser e2e tests skipped (apt-get install chromium)`;
  if (process.env.CI === 'true') throw new Error(`${msg} — required under CI`);
  console.warn(`SKIP: ${msg}`);
  return msg;
}

let built: string | null = null;
/** Build the renderer once per test process into its own directory (no races with dev builds). */
export function buildRenderer(): string {
  if (built) return built;
  const out = `${ARTIFACTS}/e2e-renderer-${process.pid}`;
  mkdirSync(ARTIFACTS, { recursive: true });
  const r = spawnSync(process.execPath, [`${ROOT}app/scripts/build.mjs`, '--renderer-only'], {
    cwd: ROOT,
    env: { ...process.env, WIREFALL_RENDERER_OUT: out },
    encoding: 'utf8',
  });
  if (r.status !== 0 || !existsSync(`${out}/index.html`)) throw new Error(`renderer build failed:\n${r.stdout}\n${r.stderr}`);
  built = out;
  return out;
}

export async function launch(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/**
 * One browser for a describe block: the renderer is built and Chromium launched before its tests,
 * closed after them. `set` receives the browser: `let browser: Browser; useBrowser((b) => (browser = b));`.
 */
export function useBrowser(set: (b: Browser) => void): void {
  let b: Browser | undefined;
  beforeAll(async () => {
    buildRenderer();
    b = await launch();
    set(b);
  });
  afterAll(async () => {
    await b?.close();
  });
}

export interface Opened {
  server: ViewServer;
  page: Page;
  errors: string[];
  close(): Promise<void>;
}

/** Serve a capture (or report) and open it in a new page; waits until the grid is drawn. */
export async function openView(browser: Browser, opts: Omit<ViewServerOptions, 'staticDir'>, viewport = { width: 1600, height: 900 }, colorScheme: 'light' | 'dark' = 'light'): Promise<Opened> {
  const server = await startViewServer({ ...opts, staticDir: buildRenderer() });
  const ctx = await browser.newContext({ viewport, colorScheme });
  const page = await ctx.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  await page.goto(server.url);
  await page.waitForSelector('[data-testid=grid-body]', { timeout: 60_000 });
  return {
    server,
    page,
    errors,
    close: async () => {
      await ctx.close();
      await server.close();
    },
  };
}

export function sample(name: string): string {
  return `${ROOT}samples/${name}`;
}
