/// <reference lib="dom" />
/**
 * Cancelled and unanswered server pushes, and the banner of counted anomalies, in Chromium on real
 * samples; every expectation comes from core's own report of the capture. Skips where
 * /usr/bin/chromium is absent; fails instead under CI=true.
 */
import { describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { CORE } from '../../core/src/view/core-link.js';
import { captureWarnings } from '../../core/src/view/counter-docs.js';
import { formatCount } from '../../app/renderer/model/format.js';
import { ARTIFACTS, chromiumMissing, openView, sample, useBrowser } from './helpers.js';

const skip = chromiumMissing();

describe.skipIf(skip)('cancelled pushes and counted anomalies in Chromium', () => {
  let browser: Browser;
  useBrowser((b) => (browser = b));

  it('a push cancelled by the client and one never answered: their own bar style, hover and Timing tab', async () => {
    const report = await CORE.analyzeFile(sample('h2-push-cancel.pcap'), {});
    const pushed = report.requests.filter((r) => r.pushed);
    const cancelled = pushed.filter((r) => r.state === 'reset' && r.h2?.rst);
    const unanswered = pushed.filter((r) => r.state === 'no-response');
    expect(cancelled.length).toBeGreaterThan(0);
    expect(unanswered.length).toBeGreaterThan(0);
    const v = await openView(browser, { capturePath: sample('h2-push-cancel.pcap') });
    v.page.setDefaultTimeout(10_000);
    try {
      await expect.poll(() => v.page.getByTestId('push-badge').count()).toBe(pushed.length);
      const bars = v.page.getByTestId('push-cancelled-bar');
      expect(await bars.count()).toBe(cancelled.length + unanswered.length);
      for (const r of cancelled) {
        const rst = r.h2!.rst!;
        const row = v.page.locator(`[role=row].req[data-request-id="${r.id}"]`);
        expect(await row.getAttribute('class')).toContain('push-cancelled');
        expect(await row.getByTestId('push-badge').getAttribute('data-outcome')).toBe('cancelled');
        const bar = row.getByTestId('push-cancelled-bar');
        expect(await bar.getAttribute('data-outcome')).toBe('cancelled');
        const tip = (await bar.getAttribute('title'))!;
        expect(tip).toContain(`promised on stream ${r.h2!.promisedBy}, cancelled by the ${rst.by} (${rst.code})`);
        expect(tip).toContain(`packet #${rst.packet}`);
        expect((await bar.boundingBox())!.width).toBeGreaterThanOrEqual(3);
        expect(await row.locator('.cell.status').textContent()).toBe('(canceled)');
        await bar.hover();
        await row.click();
        await v.page.getByRole('tab', { name: 'Timing' }).click();
        expect(await v.page.getByTestId('timing-push').textContent()).toContain(`Initiator: Push / stream ${r.h2!.promisedBy}, cancelled by the ${rst.by} (${rst.code})`);
      }
      await v.page.screenshot({ path: `${ARTIFACTS}/view-push-cancelled.png` });
      for (const r of unanswered) {
        const row = v.page.locator(`[role=row].req[data-request-id="${r.id}"]`);
        const bar = row.getByTestId('push-cancelled-bar');
        expect(await bar.getAttribute('data-outcome')).toBe('unanswered');
        expect(await bar.getAttribute('title')).toMatch(new RegExp(`^Server push promised on stream ${r.h2!.promisedBy}, never answered — connection closed by the ${report.connections[0]!.close.by}`));
        // Drawn as a cancelled push, not as an ordinary request that got no response.
        expect(await row.getByTestId('no-response-bar').count()).toBe(0);
        await row.click();
        await v.page.getByRole('tab', { name: 'Timing' }).click();
        expect(await v.page.getByTestId('timing-push').textContent()).toMatch(new RegExp(`^Initiator: Push / stream ${r.h2!.promisedBy}, never answered`));
      }
      // The delivered push keeps the plain badge.
      const delivered = pushed.filter((r) => r.state === 'complete');
      for (const r of delivered) expect(await v.page.locator(`[role=row].req[data-request-id="${r.id}"]`).getByTestId('push-badge').getAttribute('data-outcome')).toBe('delivered');
      expect(v.errors).toEqual([]);
    } finally {
      await v.close();
    }
  });

  it('a key log of another run: a banner lists the counted anomalies with their meaning, the tab dot says so, and it can be dismissed', async () => {
    const cap = sample('tls/nginx-h2-tls13.pcap');
    const keys = sample('tls/nginx-h2-tls13.wrong.keys');
    const report = await CORE.analyzeFile(cap, { keylog: { files: [keys] } });
    const warnings = captureWarnings(report.capture.counters, report.connections);
    expect(warnings.length).toBeGreaterThan(0);
    const v = await openView(browser, { capturePath: cap, keylogFiles: [keys] });
    v.page.setDefaultTimeout(10_000);
    try {
      const banner = v.page.getByTestId('warnings-banner');
      await expect.poll(() => banner.count()).toBe(1);
      const items = banner.getByTestId('warning');
      expect(await items.evaluateAll((els) => els.map((e) => e.getAttribute('data-name')))).toEqual(warnings.map((w) => w.name));
      for (const w of warnings) {
        const text = (await banner.locator(`[data-testid=warning][data-name="${w.name}"]`).textContent())!;
        expect(text).toContain(`${w.name} × ${formatCount(w.count)}: ${w.meaning}`);
        expect(text).toContain(w.action);
      }
      const dot = v.page.getByTestId('tab-state');
      expect(await dot.getAttribute('class')).toContain('warnings');
      expect(await dot.getAttribute('title')).toContain(warnings.map((w) => w.name).join(', '));
      await v.page.screenshot({ path: `${ARTIFACTS}/view-warnings-banner.png` });
      await banner.getByTestId('warnings-dismiss').click();
      await expect.poll(() => banner.count()).toBe(0);
      // Dismissing the banner leaves the tab dot's state.
      expect(await dot.getAttribute('class')).toContain('warnings');
      expect(v.errors).toEqual([]);
    } finally {
      await v.close();
    }
  });

  it('a clean capture: no banner, a plain tab dot', async () => {
    const report = await CORE.analyzeFile(sample('keepalive-pool.pcap'), {});
    expect(captureWarnings(report.capture.counters, report.connections)).toEqual([]);
    const v = await openView(browser, { capturePath: sample('keepalive-pool.pcap') });
    try {
      await expect.poll(() => v.page.getByTestId('tab-state').getAttribute('class')).toMatch(/\bready\b/);
      expect(await v.page.getByTestId('warnings-banner').count()).toBe(0);
      expect(await v.page.getByTestId('damage-banner').count()).toBe(0);
      expect(await v.page.getByTestId('tab-state').getAttribute('class')).not.toMatch(/warnings|damaged/);
      expect(v.errors).toEqual([]);
    } finally {
      await v.close();
    }
  });
});
