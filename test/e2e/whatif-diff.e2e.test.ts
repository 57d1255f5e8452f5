/// <reference lib="dom" />
/**
 * Issue 16 in the UI (browser mode, Debian's Chromium): the What-if panel shows core's
 * `report.whatIf` as the panel formats it, every policy the report has; `wirefall view BEFORE
 * --compare AFTER` opens the Diff tab with core's `diffReports` numbers (never hard-coded here: the
 * test computes them) — for the Python pair, connections 50 → 1 and the findings resolved — and the
 * diff endpoint refuses a request without the token.
 */
import { describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { CORE } from '../../core/src/view/core-link.js';
import { diffReports } from '../../core/src/diff/diff.js';
import { startViewServer } from '../../core/src/view/server.js';
import { formatMs } from '../../app/renderer/model/format.js';
import { ARTIFACTS, buildRenderer, chromiumMissing, openView, sample, useBrowser } from './helpers.js';

const skip = chromiumMissing();
const BEFORE = sample('whatif/requests-get-50.pcap');
const AFTER = sample('whatif/requests-session-50.pcap');
const KEYS = [sample('whatif/requests-get-50.keys'), sample('whatif/requests-session-50.keys')];

describe.skipIf(skip)('what-if panel and diff view in browser mode', () => {
  let browser: Browser;
  useBrowser((b) => (browser = b));

  it('the What-if panel shows core’s estimates, per policy and origin, as formatted', async () => {
    const report = await CORE.analyzeFile(BEFORE, { keylog: { files: [KEYS[0]!] } });
    const w = report.whatIf!;
    expect(w.reuse.requests).toBeGreaterThan(0);
    const v = await openView(browser, { capturePath: BEFORE, keylogFiles: [KEYS[0]!] });
    try {
      await v.page.click('[data-testid=toggle-whatif]');
      const reuse = v.page.locator('[data-testid=whatif-policy][data-policy=reuse]');
      await expect.poll(() => reuse.locator('[data-testid=whatif-estimated]').textContent()).toBe(formatMs(w.reuse.estimatedMs));
      expect(await reuse.locator('[data-testid=whatif-measured]').textContent()).toBe(formatMs(w.reuse.measuredMs));
      expect(await reuse.locator('[data-testid=whatif-connections]').textContent()).toBe(`${w.reuse.connections} → ${w.reuse.estimatedConnections}`);
      expect(await reuse.locator('[data-testid=whatif-confidence]').textContent()).toBe(`${Math.round(w.reuse.confidence * 100)}%`);
      expect(await reuse.locator('[data-testid=whatif-handshakes]').textContent()).toContain(`${w.reuse.handshakesAvoided.tcp} TCP`);
      // One bar pair per origin, and a card for every policy the report has (none hard-coded).
      expect(await reuse.locator('[data-testid=whatif-origin]').count()).toBe(w.reuse.perOrigin.length);
      expect(await reuse.locator('.bar-pair .whatif-bar').count()).toBe(2 * w.reuse.perOrigin.length);
      const policies = Object.values(w).map((e) => e.policy);
      expect(await v.page.locator('[data-testid=whatif-policy]').evaluateAll((els) => els.map((e) => e.getAttribute('data-policy')))).toEqual(policies);
      await v.page.locator('[data-testid=whatif]').screenshot({ path: `${ARTIFACTS}/whatif-panel.png` });
      // The panel sits under the waterfall; the status bar stays at the bottom.
      expect(await v.page.locator('[data-testid=grid-body]').isVisible()).toBe(true);
      expect(await v.page.locator('.status-bar').isVisible()).toBe(true);
      await v.page.screenshot({ path: `${ARTIFACTS}/whatif-app.png` });
      expect(v.errors).toEqual([]);
    } finally {
      await v.close();
    }
  });

  it('view BEFORE --compare AFTER: the Diff tab shows diffReports side by side, 50 → 1 connections and the findings resolved', async () => {
    const before = await CORE.analyzeFile(BEFORE, { keylog: { files: KEYS } });
    const after = await CORE.analyzeFile(AFTER, { keylog: { files: KEYS } });
    const d = diffReports(before, after, { before: 'requests-get-50.pcap', after: 'requests-session-50.pcap' });
    expect(d.findings.resolved.length).toBeGreaterThan(0);
    const server = await startViewServer({ capturePath: BEFORE, compareWith: AFTER, keylogFiles: KEYS, staticDir: buildRenderer() });
    const ctx = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    try {
      await page.goto(server.url);
      await page.waitForSelector('[data-testid=diff-origin]', { timeout: 60_000 });
      expect(await page.textContent('[data-testid=diff-before-title]')).toBe(d.before.file);
      expect(await page.textContent('[data-testid=diff-after-title]')).toBe(d.after.file);
      const cell = (scope: string, metric: string, side: string) => page.textContent(`${scope} tr[data-metric="${metric}"] td[data-side=${side}]`);
      expect(await cell('[data-testid=diff-totals]', 'connections', 'before')).toBe(String(d.before.connections));
      expect(await cell('[data-testid=diff-totals]', 'connections', 'after')).toBe(String(d.after.connections));
      expect(await cell('[data-testid=diff-totals]', 'durationMs', 'before')).toBe(formatMs(d.before.durationMs));
      expect(await cell('[data-testid=diff-totals]', 'durationMs', 'after')).toBe(formatMs(d.after.durationMs));
      // The seed story as core computed it: 50 → 1 for the one origin.
      expect([d.before.connections, d.after.connections]).toEqual([50, 1]);
      expect(await page.locator('[data-testid=diff-origin]').count()).toBe(d.origins.length);
      for (const o of d.origins) {
        const sec = `[data-testid=diff-origin][data-origin="${o.origin}"]`;
        expect(await cell(`${sec} [data-testid=diff-origin-table]`, 'connections', 'before')).toBe(String(o.before!.connections));
        expect(await cell(`${sec} [data-testid=diff-origin-table]`, 'connections', 'after')).toBe(String(o.after!.connections));
        expect(await cell(`${sec} [data-testid=diff-origin-table]`, 'requestsPerConnection', 'after')).toBe(String(o.after!.requestsPerConnection));
        expect(await cell(`${sec} [data-testid=diff-origin-table]`, 'handshakeMs', 'before')).toBe(formatMs(o.before!.handshakeMs));
        // Lanes aligned per origin: one per connection on each side.
        expect(await page.getAttribute(`${sec} [data-testid=diff-lanes-before]`, 'data-lanes')).toBe(String(o.before!.connections));
        expect(await page.getAttribute(`${sec} [data-testid=diff-lanes-after]`, 'data-lanes')).toBe(String(o.after!.connections));
        expect(await page.locator(`${sec} [data-testid=diff-lanes-before] .diff-lane`).count()).toBe(o.before!.connections);
      }
      const resolved = page.locator('[data-testid=diff-findings-resolved]');
      expect(await resolved.getAttribute('data-count')).toBe(String(d.findings.resolved.length));
      expect(await resolved.locator('.finding').evaluateAll((els) => els.map((e) => e.getAttribute('data-kind')))).toEqual(d.findings.resolved.map((f) => f.kind));
      expect(await page.getAttribute('[data-testid=diff-findings-new]', 'data-count')).toBe(String(d.findings.new.length));
      expect(await page.getAttribute('[data-testid=diff-findings-unchanged]', 'data-count')).toBe(String(d.findings.unchanged.length));
      if (d.prediction) expect(await page.textContent('[data-testid=diff-prediction]')).toContain(formatMs(d.prediction.estimatedMs));
      await page.screenshot({ path: `${ARTIFACTS}/diff-view.png`, fullPage: true });

      // Each capture is still a tab with its waterfall; the Diff tab brings the diff back.
      await page.locator('.tab', { hasText: 'requests-session-50.pcap' }).click();
      await page.waitForSelector('[data-testid=grid-body]');
      await expect.poll(() => page.textContent('[data-testid=status-requests]')).toBe(`${after.requests.length} requests`);
      await page.click('[data-testid=diff-tab]');
      await page.waitForSelector('[data-testid=diff-origin]');
      expect(errors).toEqual([]);
    } finally {
      await ctx.close();
      await server.close();
    }
  });

  it('any two open captures: "Compare with…" in the tab bar opens their diff (swapped: AFTER → BEFORE)', async () => {
    const before = await CORE.analyzeFile(BEFORE, { keylog: { files: KEYS } });
    const after = await CORE.analyzeFile(AFTER, { keylog: { files: KEYS } });
    // Opened in the order AFTER, BEFORE, and compared from AFTER's tab: the diff AFTER → BEFORE.
    const d = diffReports(after, before, { before: 'requests-session-50.pcap', after: 'requests-get-50.pcap' });
    const server = await startViewServer({ capturePath: AFTER, compareWith: BEFORE, keylogFiles: KEYS, staticDir: buildRenderer() });
    const ctx = await browser.newContext({ viewport: { width: 1600, height: 1000 } });
    const page = await ctx.newPage();
    try {
      await page.goto(server.url);
      await page.waitForSelector('[data-testid=diff-origin]', { timeout: 60_000 });
      await page.locator('.tab', { hasText: 'requests-session-50.pcap' }).click();
      await page.waitForSelector('[data-testid=grid-body]');
      await page.selectOption('[data-testid=compare-with]', { label: 'requests-get-50.pcap' });
      await page.waitForSelector('[data-testid=diff-origin]');
      expect(await page.textContent('[data-testid=diff-before-title]')).toBe(d.before.file);
      const cell = (metric: string, side: string) => page.textContent(`[data-testid=diff-totals] tr[data-metric="${metric}"] td[data-side=${side}]`);
      expect([await cell('connections', 'before'), await cell('connections', 'after')]).toEqual([String(d.before.connections), String(d.after.connections)]);
      expect([d.before.connections, d.after.connections]).toEqual([1, 50]);
      // Swapped, the missed reuse is new, not resolved.
      expect(await page.getAttribute('[data-testid=diff-findings-new]', 'data-count')).toBe(String(d.findings.new.length));
      expect(d.findings.new.length).toBeGreaterThan(0);
    } finally {
      await ctx.close();
      await server.close();
    }
  });

  it('the diff endpoint refuses a request without the token', async () => {
    const server = await startViewServer({ capturePath: BEFORE, compareWith: AFTER, keylogFiles: KEYS, staticDir: buildRenderer() });
    try {
      await server.docs.settled(server.compare!.after);
      await server.docs.settled(server.compare!.before);
      const base = `http://127.0.0.1:${server.port}/api/diff?before=${server.compare!.before}&after=${server.compare!.after}`;
      expect((await fetch(base)).status).toBe(401);
      expect((await fetch(base, { headers: { 'X-Wirefall-Token': 'wrong' } })).status).toBe(401);
      expect((await fetch(base, { headers: { 'X-Wirefall-Token': server.token } })).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
