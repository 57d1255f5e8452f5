/// <reference lib="dom" />
/**
 * HTTPS in browser mode: an encrypted capture says per connection why it was not decrypted and how
 * to fix it; a key log given to `wirefall view --keylog` or opened in the page decrypts it, and the
 * requests appear. The facts shown are core's (tls/explain.ts), read by the page, never recomputed.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { CORE } from '../../core/src/view/core-link.js';
import { explainUndecrypted, tlsShort, tlsSummary } from '../../core/src/tls/explain.js';
import { ARTIFACTS, chromiumMissing, openView, sample, useBrowser } from './helpers.js';

const skip = chromiumMissing();
const CAP = sample('tls/chromium-h2.pcap');
const KEYS = sample('tls/chromium-h2.keys');

describe.skipIf(skip)('wirefall view on HTTPS', () => {
  let browser: Browser;
  useBrowser((b) => (browser = b));

  it('without keys: the lane and the Connection tab say the traffic is encrypted, why, and how to fix it', async () => {
    const report = await CORE.analyzeFile(CAP, {});
    const c = report.connections[0]!;
    expect(c.tls?.undecryptedReason).toBe('no-keys');
    expect(report.requests.length).toBe(0);
    const v = await openView(browser, { capturePath: CAP });
    try {
      const lane = v.page.locator(`[data-lane-id="${c.id}"]`);
      await expect.poll(() => lane.locator('.lane-label').getAttribute('title')).toContain(tlsShort(c.tls!));
      expect(tlsShort(c.tls!)).toContain('not decrypted');
      await lane.click();
      await expect.poll(() => v.page.textContent('[data-testid=tls-summary]')).toContain(tlsSummary(c.tls!));
      await expect.poll(() => v.page.textContent('[data-testid=tls-undecrypted]')).toContain(explainUndecrypted('no-keys'));
      await v.page.screenshot({ path: `${ARTIFACTS}/view-tls-no-keys.png` });

      // Opening the key log in the page analyses the capture again, decrypted.
      await v.page.locator('[data-testid=keylog-input]').setInputFiles({ name: 'keys.log', mimeType: 'text/plain', buffer: readFileSync(KEYS) });
      const withKeys = await CORE.analyzeFile(CAP, { keylog: { files: [KEYS] } });
      expect(withKeys.requests.length).toBeGreaterThan(20);
      await expect.poll(() => v.page.textContent('[data-testid=status-requests]'), { timeout: 30_000 }).toBe(`${withKeys.requests.length} requests`);
      expect(v.errors).toEqual([]);
    } finally {
      await v.close();
    }
  });

  it('with --keylog: requests decrypted, the TLS facts and the certificate-less 1.3 summary shown', async () => {
    const report = await CORE.analyzeFile(CAP, { keylog: { files: [KEYS] } });
    const c = report.connections[0]!;
    expect(c.tls?.decrypted).toBe(true);
    const v = await openView(browser, { capturePath: CAP, keylogFiles: [KEYS] });
    try {
      await expect.poll(() => v.page.textContent('[data-testid=status-requests]'), { timeout: 30_000 }).toBe(`${report.requests.length} requests`);
      const lane = v.page.locator(`[data-lane-id="${c.id}"]`);
      await lane.click();
      await expect.poll(() => v.page.textContent('[data-testid=tls-summary]')).toContain('decrypted');
      expect(await v.page.locator('[data-testid=tls-undecrypted]').count()).toBe(0);
      await v.page.screenshot({ path: `${ARTIFACTS}/view-tls-decrypted.png` });
      expect(v.errors).toEqual([]);
    } finally {
      await v.close();
    }
  });

  it('the key log endpoint refuses a wrong token and an unknown document', async () => {
    const v = await openView(browser, { capturePath: CAP });
    try {
      const base = v.server.url.replace(/\/\?token=.*/, '');
      const bad = await fetch(`${base}/api/keylog?doc=${v.server.doc}`, { method: 'POST', headers: { 'X-Wirefall-Token': 'nope' }, body: 'x' });
      expect(bad.status).toBe(401);
      const unknown = await fetch(`${base}/api/keylog?doc=dzzzz`, { method: 'POST', headers: { 'X-Wirefall-Token': v.server.token }, body: 'x' });
      expect(unknown.status).toBe(404);
    } finally {
      await v.close();
    }
  });
});
