/// <reference lib="dom" />
/**
 * The real desktop app, when an Electron binary and a display exist (skips here otherwise,
 * saying why): the window opens the capture given on the command line and draws its lanes.
 */
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { findElectronBinary, hasDisplay } from '../../app/scripts/electron-bin.mjs';
import { CORE } from '../../core/src/view/core-link.js';
import { ARTIFACTS, ROOT, sample } from './helpers.js';

const bin = findElectronBinary();
const why = !bin.path ? `no Electron binary (${bin.reason}); run \`npx install-electron\` where the network allows` : !hasDisplay() ? 'no display (DISPLAY/WAYLAND_DISPLAY unset); run under xvfb-run' : null;
if (why) console.warn(`SKIP: Electron e2e: ${why}`);

describe.skipIf(why !== null)('wirefall desktop app (Electron)', () => {
  it('opens a capture from the command line and shows one lane per connection', async () => {
    const main = `${ROOT}app/dist/main/main.js`;
    if (!existsSync(main)) spawnSync(process.execPath, [`${ROOT}app/scripts/build.mjs`], { cwd: ROOT, stdio: 'inherit' });
    const report = await CORE.analyzeFile(sample('browser-pageload.pcap.gz'), {});
    const { _electron } = await import('playwright-core');
    const app = await _electron.launch({ executablePath: bin.path!, args: [main, sample('browser-pageload.pcap.gz')] });
    try {
      const page = await app.firstWindow();
      await page.waitForSelector('[data-lane-id]', { timeout: 60_000 });
      const rowcount = await page.getAttribute('[data-testid=grid-body]', 'aria-rowcount');
      expect(Number(rowcount)).toBe(report.connections.length + report.requests.length);
      // The renderer is sandboxed: no Node in the page, only the typed bridge.
      expect(await page.evaluate(() => typeof (globalThis as { require?: unknown }).require)).toBe('undefined');
      expect(await page.evaluate(() => typeof (window as { wirefall?: unknown }).wirefall)).toBe('object');
      await page.screenshot({ path: `${ARTIFACTS}/electron-window.png` });
    } finally {
      await app.close();
    }
  });
});
