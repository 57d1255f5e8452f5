/// <reference lib="dom" />
/**
 * The page draws the first rows of a large capture before its whole model has loaded
 * (WirefallApi.getModelHead, App.tsx): with the whole model's answer held back, the waterfall shows
 * the head's MODEL_HEAD_ROWS rows and says how many are still loading; once the answer comes, every
 * row is there and the notice is gone. Skips where /usr/bin/chromium is absent; fails under CI=true.
 */
import { describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startViewServer } from '../../core/src/view/server.js';
import { MODEL_HEAD_ROWS } from '../../core/src/view/api.js';
import { CORE } from '../../core/src/view/core-link.js';
import { formatCount } from '../../app/renderer/model/format.js';
import { buildRenderer, chromiumMissing, sample, useBrowser } from './helpers.js';

const skip = chromiumMissing();

describe.skipIf(skip)('the first rows before the whole model', () => {
  let browser: Browser;
  useBrowser((b) => (browser = b));

  it('draws the head, says what is still loading, then shows every row', async () => {
    const file = sample('bench-seed-h1-requests.pcap');
    const total = (await CORE.analyzeFile(file, {})).requests.length;
    expect(total).toBeGreaterThan(MODEL_HEAD_ROWS);
    const server = await startViewServer({ capturePath: file, staticDir: buildRenderer() });
    const ctx = await browser.newContext({ viewport: { width: 1600, height: 900 } });
    const page = await ctx.newPage();
    page.setDefaultTimeout(30_000);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    try {
      // The whole model's answer waits until the head has been checked.
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let heads = 0;
      await page.route('**/api/call', async (route) => {
        const method = (JSON.parse(route.request().postData() ?? '{}') as { method?: string }).method;
        if (method === 'getModelHead') heads++;
        if (method === 'getModel') await gate;
        await route.continue();
      });
      await page.goto(server.url);
      await page.locator('[data-request-id]').first().waitFor({ state: 'visible' });
      expect(heads).toBe(1);
      await expect.poll(() => page.getByTestId('status-requests').textContent()).toBe(`${formatCount(MODEL_HEAD_ROWS)} requests`);
      expect(await page.getByTestId('rows-loading').textContent()).toBe(`loading the other ${formatCount(total - MODEL_HEAD_ROWS)} requests…`);
      release();
      await page.getByTestId('rows-loading').waitFor({ state: 'detached' });
      expect(await page.getByTestId('status-requests').textContent()).toBe(`${formatCount(total)} requests`);
      expect(errors).toEqual([]);
    } finally {
      await ctx.close();
      await server.close();
    }
  });
});
