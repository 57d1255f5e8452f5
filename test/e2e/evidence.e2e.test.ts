/// <reference lib="dom" />
/**
 * Issue 15 in Chromium on real samples: an unanswered request drawn as a "no response" wait to the
 * close (never as idle), with its Total in the Timing tab; the damage banner on a truncated capture;
 * server-pushed streams marked; a failed export reported as a failure. Skips where
 * /usr/bin/chromium is absent; fails instead under CI=true.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { CORE } from '../../core/src/view/core-link.js';
import { phases } from '../../core/src/model/phases.js';
import { toViewModel } from '../../core/src/view/compact.js';
import { formatMs } from '../../app/renderer/model/format.js';
import { ARTIFACTS, chromiumMissing, openView, sample, useBrowser } from './helpers.js';

const skip = chromiumMissing();

describe.skipIf(skip)('evidence in Chromium', () => {
  let browser: Browser;
  useBrowser((b) => (browser = b));

  it('draws a request that never got an answer as waiting until the close, not as idle', async () => {
    const report = await CORE.analyzeFile(sample('blind-relay.pcap'), {});
    const m = toViewModel(report, 'd', phases);
    const f2 = m.requests.find((r) => r.url.endsWith('/f2.txt'))!;
    const v = await openView(browser, { capturePath: sample('blind-relay.pcap') });
    v.page.setDefaultTimeout(10_000);
    try {
      const row = v.page.locator(`[data-request-id="${f2.id}"]`);
      const bar = row.getByTestId('no-response-bar');
      await expect.poll(() => bar.count()).toBe(1);
      expect(await bar.getAttribute('title')).toBe('no response — connection closed by the server after 3.90 s');
      // Send (108 ms) to close (4010 ms) of a ~4 s capture: most of the waterfall's width.
      const rowBox = (await row.locator('.cell.wf').boundingBox())!;
      const barBox = (await bar.boundingBox())!;
      expect(barBox.width).toBeGreaterThan(rowBox.width * 0.8);
      // The lane shows the wait as unanswered activity; no idle gap covers it.
      const lane = v.page.locator(`[data-lane-id="${f2.connectionId}"]`);
      expect(await lane.getByTestId('lane-no-response').count()).toBe(1);
      expect(await lane.getByTestId('idle-gap').count()).toBe(0);
      // Timing tab: the wait and a Total that is not 0.
      await row.click();
      await v.page.getByRole('tab', { name: 'Timing' }).click();
      const details = v.page.getByTestId('details');
      expect(await details.getByTestId('timing-no-response').textContent()).toBe('no response — connection closed by the server after 3.90 s');
      expect(await details.getByTestId('timing-total').textContent()).toBe(formatMs(f2.durationMs));
      expect(f2.durationMs).toBeGreaterThan(3800);
      await v.page.screenshot({ path: `${ARTIFACTS}/view-no-response.png` });
      expect(v.errors).toEqual([]);
    } finally {
      await v.close();
    }
  });

  it('shows a banner for a truncated capture', async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    const bytes = readFileSync(sample('keepalive-pool.pcap'));
    const cut = `${ARTIFACTS}/keepalive-pool-truncated-${process.pid}.pcap`;
    writeFileSync(cut, bytes.subarray(0, bytes.length - 40));
    const report = await CORE.analyzeFile(cut, {});
    expect(report.capture.error).toBeDefined();
    const v = await openView(browser, { capturePath: cut });
    v.page.setDefaultTimeout(10_000);
    try {
      const banner = v.page.getByTestId('damage-banner');
      await expect.poll(() => banner.count()).toBe(1);
      const text = (await banner.textContent())!;
      expect(text).toContain(report.capture.error!.message);
      expect(text).toContain(report.capture.error!.code);
      expect(await v.page.locator('.tab-state.damaged').count()).toBe(1);
      // An intact capture has none.
      const ok = await openView(browser, { capturePath: sample('keepalive-pool.pcap') });
      try {
        expect(await ok.page.getByTestId('damage-banner').count()).toBe(0);
      } finally {
        await ok.close();
      }
      expect(v.errors).toEqual([]);
    } finally {
      await v.close();
    }
  });

  it('marks server-pushed streams in the grid and the Timing tab', async () => {
    const v = await openView(browser, { capturePath: sample('h2-push.pcap') });
    v.page.setDefaultTimeout(10_000);
    try {
      const badges = v.page.getByTestId('push-badge');
      await expect.poll(() => badges.count()).toBe(3);
      const pushedRow = v.page.locator('[role=row].req', { hasText: 's1.css' });
      expect(await pushedRow.getByTestId('push-badge').count()).toBe(1);
      expect(await v.page.locator('[role=row].req', { hasText: 'index.html' }).getByTestId('push-badge').count()).toBe(0);
      await pushedRow.click();
      await v.page.getByRole('tab', { name: 'Timing' }).click();
      expect(await v.page.getByTestId('timing-push').textContent()).toMatch(/^Initiator: Push \/ stream 13/);
      expect(v.errors).toEqual([]);
    } finally {
      await v.close();
    }
  });

  it('groups findings of one kind on one connection into a card whose total is at most the capture', async () => {
    const report = await CORE.analyzeFile(sample('pipelining.pcap'), {});
    const stalls = report.findings.filter((f) => f.kind === 'hol-stall');
    const v = await openView(browser, { capturePath: sample('pipelining.pcap') });
    v.page.setDefaultTimeout(10_000);
    try {
      const section = v.page.locator('.finding-group[data-kind="hol-stall"]');
      const card = section.getByTestId('finding-card');
      await expect.poll(() => card.count()).toBe(1);
      expect(await card.getAttribute('data-count')).toBe(String(stalls.length));
      expect(await card.getByTestId('finding-count').textContent()).toBe(`${stalls.length}×`);
      expect(await card.locator('.advice').count()).toBe(1);
      const total = Number(await section.getByTestId('kind-cost').getAttribute('data-cost-ms'));
      expect(total).toBeGreaterThan(0);
      expect(total).toBeLessThanOrEqual(report.capture.durationMs);
      expect(await section.getByTestId('kind-cost').getAttribute('title')).toMatch(/union of their time ranges/);
      // Each case is still there, and selecting one highlights its requests.
      const idx = report.findings.indexOf(stalls[0]!);
      await card.locator(`[data-finding-index="${idx}"]`).click();
      await expect.poll(() => v.page.locator('.row.req.highlighted').count()).toBe(stalls[0]!.requestIds.length);
      expect(v.errors).toEqual([]);
    } finally {
      await v.close();
    }
  });

  it('says so when an export fails', async () => {
    const failing = { ...CORE, toHar: () => { throw new Error('Invalid string length'); } };
    const v = await openView(browser, { capturePath: sample('keepalive-pool.pcap'), core: failing });
    v.page.setDefaultTimeout(10_000);
    try {
      let downloads = 0;
      v.page.on('download', () => downloads++);
      await v.page.getByRole('button', { name: 'Export HAR' }).click();
      await expect.poll(() => v.page.locator('.toast').textContent()).toMatch(/^Export failed: the HAR could not be produced \(Invalid string length\)/);
      expect(downloads).toBe(0);
      // The JSON report still exports, under its own name.
      const [rep] = await Promise.all([v.page.waitForEvent('download'), v.page.getByRole('button', { name: 'Export JSON' }).click()]);
      expect(rep.suggestedFilename()).toBe('keepalive-pool.wirefall.json');
      await expect.poll(() => v.page.locator('.toast').textContent()).toBe('Exported keepalive-pool.wirefall.json');
    } finally {
      await v.close();
    }
  });
});
