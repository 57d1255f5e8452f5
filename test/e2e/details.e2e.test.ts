/// <reference lib="dom" />
/**
 * What the request table and the details pane say about a connection and a request, in Chromium on
 * real samples: protocol-appropriate connection facts (HTTP/2: SETTINGS, concurrency, GOAWAY; no
 * keep-alive line) and the same lost-or-late segment count as the finding; DevTools' Time (the Timing
 * tab's Total) and "Started at"; IPv6 endpoints in brackets; request and response versions where
 * they differ. Skips where /usr/bin/chromium is absent; fails instead under CI=true.
 */
import { describe, expect, it } from 'vitest';
import type { Browser, Locator, Page } from 'playwright-core';
import { CORE } from '../../core/src/view/core-link.js';
import { harTotalTime } from '../../core/src/model/phases.js';
import { formatMs } from '../../app/renderer/model/format.js';
import { ARTIFACTS, chromiumMissing, openView, sample, useBrowser } from './helpers.js';

const skip = chromiumMissing();

/** A request row's cell under the column headed `label`. */
async function cell(page: Page, row: Locator, label: string): Promise<Locator> {
  const headers = await page.locator('.grid-header [role=columnheader]').allTextContents();
  const i = headers.findIndex((h) => h.replace(/[▲▼]/g, '') === label);
  expect(i, `column ${label} in ${headers.join(', ')}`).toBeGreaterThanOrEqual(0);
  return row.locator('.cell').nth(i);
}

describe.skipIf(skip)('details in Chromium', () => {
  let browser: Browser;
  useBrowser((b) => (browser = b));

  it('an h2c connection: HTTP/2 facts instead of keep-alive, and the finding\'s count of late segments', async () => {
    const report = await CORE.analyzeFile(sample('h2-loss-hol.pcap'), {});
    const hol = report.findings.find((f) => f.kind === 'hol-stall')!;
    const v = await openView(browser, { capturePath: sample('h2-loss-hol.pcap') });
    v.page.setDefaultTimeout(10_000);
    try {
      await v.page.locator('[data-lane-id="0"]').click();
      const details = v.page.getByTestId('details');
      // The whole connection record has arrived once its per-direction lines show.
      const serverLine = details.locator('tr', { hasText: 'Server → client' }).locator('td');
      await expect.poll(() => serverLine.count()).toBe(1);
      const text = (await details.textContent())!;
      expect(text).not.toMatch(/not negotiated|no HTTP seen/);
      expect(text).not.toMatch(/\d+ retransmissions/);
      // One definition, counted once: the server → client line and the finding give the same number.
      expect(await serverLine.textContent()).toContain('38 retransmitted or out-of-order segments');
      expect(hol.summary).toContain("the server's 38 retransmitted or out-of-order segments");
      expect(await details.locator('[data-fact=h2-goaway] td').textContent()).toMatch(/^client sent GOAWAY \(NO_ERROR\)/);
      expect(await details.locator('[data-fact=h2-settings-server] td').textContent()).toContain('MAX_CONCURRENT_STREAMS=100');
      expect(await details.locator('[data-fact=h2-streams] td').textContent()).toContain('up to 8 client stream(s) open at once');
      await v.page.screenshot({ path: `${ARTIFACTS}/view-h2-connection-facts.png` });
      expect(v.errors).toEqual([]);
    } finally {
      await v.close();
    }
  });

  it("Time is the Timing tab's Total, and the Timing tab starts where its first bar does", async () => {
    const report = await CORE.analyzeFile(sample('f-pool-rtt.pcap'), {});
    const r = report.requests.find((q) => q.connectionId === 0 && q.index === 1)!;
    const total = formatMs(harTotalTime(r.timings));
    expect(total).toBe('81.0 ms'); // SYN at 0 → last response byte at 81.0 ms; the request went out at 40.6 ms
    const v = await openView(browser, { capturePath: sample('f-pool-rtt.pcap') });
    v.page.setDefaultTimeout(10_000);
    try {
      const row = v.page.locator(`[data-request-id="${r.id}"]`);
      const time = await cell(v.page, row, 'Time');
      await expect.poll(() => time.textContent()).toBe(total);
      await row.click();
      const details = v.page.getByTestId('details');
      await details.getByRole('tab', { name: 'Timing' }).click();
      await expect.poll(() => details.locator('.timing-table tr.total td').last().textContent()).toBe(total);
      expect(await details.locator('.timing > p').first().textContent()).toBe('Started at 0 µs after capture start, request sent at 40.6 ms');
      // The first bar (Initial connection) starts at the left edge, the last ends at the right.
      const bars = await details.locator('.timing-bar').evaluateAll((els) => els.map((e) => [parseFloat((e as HTMLElement).style.left), (e as HTMLElement).style.width]));
      expect(bars[0]![0]).toBe(0);
      expect(v.errors).toEqual([]);
    } finally {
      await v.close();
    }
  });

  it('writes IPv6 endpoints in brackets in the lane, the Remote address column and the details', async () => {
    const v = await openView(browser, { capturePath: sample('ipv6-keepalive.pcap') });
    v.page.setDefaultTimeout(10_000);
    try {
      const lane = v.page.locator('[data-lane-id="0"] .lane-label');
      await expect.poll(() => lane.textContent()).toContain('[::1]:56976 → [::1]:18130');
      const first = v.page.locator('[data-request-id]').first();
      await first.waitFor();
      expect(await (await cell(v.page, first, 'Remote address')).textContent()).toBe('[::1]:18130');
      await first.click();
      await expect.poll(() => v.page.getByTestId('remote-address').textContent()).toBe('[::1]:18130');
      await v.page.getByTestId('details').getByRole('tab', { name: 'Connection' }).click();
      await expect.poll(() => v.page.getByTestId('details').textContent()).toContain('#0 [::1]:56976 → [::1]:18130');
      expect(v.errors).toEqual([]);
    } finally {
      await v.close();
    }
  });

  it('shows the request and the response HTTP version where they differ', async () => {
    const v = await openView(browser, { capturePath: sample('http10-keepalive.pcap') });
    v.page.setDefaultTimeout(10_000);
    try {
      const first = v.page.locator('[data-request-id]').first();
      await first.waitFor();
      const protocol = await cell(v.page, first, 'Protocol');
      await expect.poll(() => protocol.textContent()).toBe('HTTP/1.0 → HTTP/1.1');
      expect(await protocol.getAttribute('title')).toBe('request HTTP/1.0, response HTTP/1.1');
      await first.click();
      await expect.poll(() => v.page.getByTestId('protocol').textContent()).toBe('request HTTP/1.0, response HTTP/1.1');
      expect(v.errors).toEqual([]);
    } finally {
      await v.close();
    }
  });
});
