/// <reference lib="dom" />
/**
 * Exports from the page in browser mode (issue 15 item 7): Export HAR downloads the streamed file
 * whole, and an export that breaks part-way (the server fails while streaming) is reported in the
 * page as a failure, never as "Exported". Skips where /usr/bin/chromium is absent; fails instead
 * under CI=true.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { CORE } from '../../core/src/view/core-link.js';
import type { Report } from '../../core/src/model/types.js';
import { chromiumMissing, openView, sample, useBrowser } from './helpers.js';

const skip = chromiumMissing();

describe.skipIf(skip)('exports in the page', () => {
  let browser: Browser;
  useBrowser((b) => (browser = b));

  it('Export HAR saves the whole streamed file and says so', async () => {
    const v = await openView(browser, { capturePath: sample('keepalive-pool.pcap') });
    v.page.setDefaultTimeout(15_000);
    try {
      const download = v.page.waitForEvent('download');
      await v.page.getByTestId('export-har').click();
      const d = await download;
      expect(d.suggestedFilename()).toBe('keepalive-pool.har');
      const har = JSON.parse(readFileSync((await d.path())!, 'utf8')) as { log: { entries: unknown[] } };
      expect(har.log.entries).toHaveLength(10);
      await expect.poll(() => v.page.locator('.toast').textContent()).toMatch(/^Exported keepalive-pool\.har/);
      expect(v.errors).toEqual([]);
    } finally {
      await v.close();
    }
  });

  it('an export that breaks while streaming is reported as a failure', async () => {
    const report: Report = await CORE.analyzeFile(sample('keepalive-pool.pcap'), {});
    // A value JSON cannot hold, in a member the page never asks for: the report export fails at
    // the last request, after the headers and most of the file went out.
    const last = report.requests[report.requests.length - 1]!;
    (last as unknown as { extra: unknown }).extra = { broken: 1n };
    const v = await openView(browser, { report });
    v.page.setDefaultTimeout(15_000);
    try {
      await v.page.getByTestId('export-json').click();
      const toast = v.page.locator('.toast');
      await toast.waitFor();
      const text = (await toast.textContent())!;
      expect(text).not.toMatch(/^Exported/);
      expect(text.length).toBeGreaterThan(0);
    } finally {
      await v.close();
    }
  });
});
