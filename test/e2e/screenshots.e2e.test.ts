/// <reference lib="dom" />
/**
 * The screenshots in app/README.md, taken by this test so that the docs show what the app shows
 * (issue 15): the waterfall, the Timing tab of a selected request and the findings panel, in the
 * light and dark themes, on the default sample (samples/keepalive-pool.pcap) and an HTTP/2 one
 * (samples/h2-loss-hol.pcap), served by `wirefall view` in Chromium; and the output of
 * `wirefall waterfall` (app/renderer/model/svg.ts), parsed by Chromium as SVG. Each view is checked
 * before its picture is written — rows, bars, timing phases, findings — so a view that fails to
 * render fails the test instead of leaving a blank picture in the docs.
 *
 * Writes app/docs/*.png (each under 200 KB) and app/docs/waterfall-h2-loss-hol.svg. Skips where
 * /usr/bin/chromium is absent; fails instead under CI=true.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { CORE } from '../../core/src/view/core-link.js';
import { toViewModel } from '../../core/src/view/compact.js';
import { phases } from '../../core/src/model/phases.js';
import type { Report } from '../../core/src/model/types.js';
import { PHASE_STYLES } from '../../app/renderer/model/phaseStyles.js';
import { themeVars, waterfallSvg } from '../../app/renderer/model/svg.js';
import { buildRenderer, chromiumMissing, launch, openView, ROOT, sample } from './helpers.js';

const skip = chromiumMissing();
const DOCS = join(ROOT, 'app', 'docs');
const VIEWPORT = { width: 1280, height: 640 };
/** The largest picture the docs take. */
const MAX_PNG_BYTES = 200 * 1024;

const SAMPLES = [
  { name: 'keepalive-pool.pcap', slug: 'keepalive', request: 3 },
  { name: 'h2-loss-hol.pcap', slug: 'h2', request: 2 },
] as const;
const THEMES = ['light', 'dark'] as const;

async function shot(page: Page, file: string): Promise<void> {
  const path = join(DOCS, file);
  await page.screenshot({ path, animations: 'disabled' });
  expect(statSync(path).size, `${file} size`).toBeLessThan(MAX_PNG_BYTES);
}

/** The waterfall as drawn: lanes, request rows and phase bars of the report. */
async function checkWaterfall(page: Page, report: Report): Promise<void> {
  await page.waitForSelector('[data-testid=grid-body] [data-request-id] .bar');
  const lanes = await page.locator('[data-testid=grid-body] [data-lane-id]').count();
  expect(lanes).toBe(report.connections.length);
  const rows = await page.locator('[data-testid=grid-body] [data-request-id]').count();
  expect(rows).toBe(Math.min(report.requests.length, rows));
  expect(rows).toBeGreaterThan(0);
  // Every visible request row has its bars (phases() of that request).
  const drawn = await page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('[data-testid=grid-body] [data-request-id]')].map((r) => ({ id: Number(r.dataset.requestId), bars: r.querySelectorAll('.bar').length })),
  );
  for (const d of drawn) {
    const r = report.requests.find((x) => x.id === d.id)!;
    expect(d.bars, `bars of request ${d.id}`).toBeGreaterThanOrEqual(phases(r.times).length);
  }
  // The overview canvas has been painted (not blank).
  const painted = await page.evaluate(() => {
    const c = document.querySelector<HTMLCanvasElement>('[data-testid=overview] canvas')!;
    const d = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) n++;
    return n;
  });
  expect(painted).toBeGreaterThan(100);
}

describe.skipIf(skip)('screenshots for app/README.md', () => {
  let browser: Browser;
  const reports = new Map<string, Report>();
  beforeAll(async () => {
    mkdirSync(DOCS, { recursive: true });
    buildRenderer();
    browser = await launch();
    for (const s of SAMPLES) reports.set(s.name, await CORE.analyzeFile(sample(s.name), {}));
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
  });

  for (const s of SAMPLES)
    for (const theme of THEMES)
      it(`${s.name}, ${theme}: waterfall, Timing tab${s.slug === 'h2' ? ', findings' : ''}`, async () => {
        const report = reports.get(s.name)!;
        const v = await openView(browser, { capturePath: sample(s.name) }, VIEWPORT, theme);
        v.page.setDefaultTimeout(15_000);
        try {
          // The theme applied: the page background is the stylesheet's for this scheme.
          const bg = await v.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
          expect(bg).toBe(theme === 'light' ? 'rgb(255, 255, 255)' : 'rgb(32, 33, 36)');

          await checkWaterfall(v.page, report);
          await shot(v.page, `waterfall-${s.slug}-${theme}.png`);

          // Details → Timing of one request: its phases, as the Timing tab lists them.
          await v.page.locator(`[data-testid=grid-body] [data-request-id="${s.request}"]`).click();
          const details = v.page.getByTestId('details');
          await details.getByRole('tab', { name: 'Timing' }).click();
          const timing = details.locator('.timing-table');
          await timing.waitFor();
          const text = (await timing.textContent())!;
          const r = report.requests.find((x) => x.id === s.request)!;
          for (const p of phases(r.times)) expect(text).toContain(PHASE_STYLES[p.name].label);
          await shot(v.page, `timing-${s.slug}-${theme}.png`);

          if (s.slug === 'h2') {
            await v.page.getByRole('button', { name: 'Close details' }).click();
            // Shown from the start when there are findings; the toolbar button toggles it.
            const panel = v.page.getByTestId('findings');
            if (!(await panel.isVisible())) await v.page.getByTestId('toggle-findings').click();
            await panel.waitFor();
            expect(report.findings.length).toBeGreaterThan(0);
            for (const f of report.findings) expect(await panel.textContent()).toContain(f.summary.slice(0, 40));
            // A click on a finding highlights the rows it names.
            await panel.locator('.finding').first().click();
            await v.page.locator('[data-testid=grid-body] .row.highlighted').first().waitFor();
            await shot(v.page, `findings-${s.slug}-${theme}.png`);
          }
          expect(v.errors).toEqual([]);
        } finally {
          await v.close();
        }
      });

  it('wirefall waterfall: the SVG parses in Chromium and draws every lane and request', async () => {
    const report = reports.get('h2-loss-hol.pcap')!;
    const model = toViewModel({ ...report, capture: { ...report.capture, file: 'samples/h2-loss-hol.pcap' } }, 'docs', phases);
    const css = readFileSync(join(ROOT, 'app', 'renderer', 'styles.css'), 'utf8');
    const text = waterfallSvg(model, { width: 1000, vars: themeVars(css).light });
    const ctx = await browser.newContext({ viewport: { width: 1000, height: 400 } });
    try {
      const page = await ctx.newPage();
      const parsed = await page.evaluate((src) => {
        const doc = new DOMParser().parseFromString(src, 'image/svg+xml');
        return {
          error: doc.querySelector('parsererror')?.textContent ?? null,
          root: doc.documentElement.nodeName,
          lanes: doc.querySelectorAll('[data-lane-id]').length,
          requests: doc.querySelectorAll('[data-request-id]').length,
        };
      }, text);
      expect(parsed).toEqual({ error: null, root: 'svg', lanes: report.connections.length, requests: report.requests.length });
      writeFileSync(join(DOCS, 'waterfall-h2-loss-hol.svg'), text);
    } finally {
      await ctx.close();
    }
  });
});
