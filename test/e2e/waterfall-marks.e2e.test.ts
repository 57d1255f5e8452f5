/// <reference lib="dom" />
/**
 * The waterfall shows what the packets say (issue 15), in Chromium on real samples: data-arrival
 * runs and stall segments inside the bars, retransmission marks on the lanes — each count taken
 * from core's own model, never written down here; the key bindings; and the 600 px layout (every
 * toolbar control reachable, lane labels apart, the last ruler tick whole, long values wrapping).
 * Skips where /usr/bin/chromium is absent; fails instead under CI=true.
 */
import { describe, expect, it } from 'vitest';
import type { Browser, Locator, Page } from 'playwright-core';
import { CORE } from '../../core/src/view/core-link.js';
import { toViewModel } from '../../core/src/view/compact.js';
import { phases } from '../../core/src/model/phases.js';
import { lateSegments } from '../../core/src/model/late-segments.js';
import { buildRows, DEFAULT_SORT, EMPTY_FILTER } from '../../app/renderer/model/rows.js';
import { ARTIFACTS, chromiumMissing, openView, sample, useBrowser } from './helpers.js';

const skip = chromiumMissing();

const analyze = async (name: string) => {
  const report = await CORE.analyzeFile(sample(name), {});
  return { report, model: toViewModel(report, 'd', phases) };
};

type Box = { x: number; y: number; width: number; height: number };
const boxes = (l: Locator): Promise<Box[]> => l.evaluateAll((els) => els.map((e) => e.getBoundingClientRect().toJSON() as Box));
const overlap = (a: Box, b: Box) => a.x < b.x + b.width - 0.5 && b.x < a.x + a.width - 0.5 && a.y < b.y + b.height - 0.5 && b.y < a.y + a.height - 0.5;

async function selectedId(page: Page): Promise<number | null> {
  const sel = page.locator('.row.req.selected');
  if ((await sel.count()) === 0) return null;
  return Number(await sel.getAttribute('data-request-id'));
}

describe.skipIf(skip)('waterfall evidence in Chromium', () => {
  let browser: Browser;
  useBrowser((b) => (browser = b));

  it("h2-loss-hol: arrival runs and stall segments in every stream's bar, with the cause on hover; loss marks on the lane", async () => {
    const { report, model } = await analyze('h2-loss-hol.pcap');
    const conn = report.connections[0]!;
    const episodes = conn.h2!.tcpHol.server.episodes;
    const v = await openView(browser, { capturePath: sample('h2-loss-hol.pcap') });
    v.page.setDefaultTimeout(10_000);
    try {
      let holTotal = 0;
      for (const r of report.requests) {
        const row = v.page.locator(`[data-request-id="${r.id}"]`);
        // Arrivals: as many runs as the view model has (bounded, merged), at least one.
        const runs = model.requests.find((x) => x.id === r.id)!.arrivals!.runs;
        await expect.poll(() => row.getByTestId('arrival').count()).toBe(runs.length);
        expect(runs.length).toBeGreaterThan(0);
        // TCP head-of-line: one segment per episode in which other streams' loss held this stream (core's tcp-hol).
        const expectedHol = episodes.filter((e) => e.streams.some((s) => s.streamId === r.streamId && s.holMs > 0)).length;
        const hol = row.locator('[data-testid=stall][data-kind=tcp-hol]');
        expect(await hol.count()).toBe(expectedHol);
        holTotal += expectedHol;
        if (expectedHol > 0) expect(await hol.first().getAttribute('title')).toMatch(/^TCP head-of-line blocking \(.+\)\nTCP head-of-line blocking: .+ behind lost bytes of stream/);
        // Flow control: the connection-window stalls of the server while this response was open.
        const flow = (conn.h2!.flowControlStalls ?? []).filter((f) => f.side === 'server' && (f.streamId === r.streamId || (f.streamId === 0 && f.endTime > r.times.responseStartTime! && f.startTime < r.times.responseEndTime!)));
        expect(await row.locator('[data-testid=stall][data-kind=flow-control]').count()).toBe(flow.length);
      }
      expect(holTotal).toBeGreaterThan(0);
      // The lane: retransmitted or out-of-order segments, all of them counted (model/late-segments.ts).
      const marks = v.page.locator('[data-lane-id="0"] [data-testid=late-mark]');
      const counts = await marks.evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-count'))));
      expect(counts.reduce((a, b) => a + b, 0)).toBe(lateSegments(conn.stats.client) + lateSegments(conn.stats.server));
      // The Timing tab lists the same stalls with their causes.
      const first = report.requests[0]!;
      await v.page.locator(`[data-request-id="${first.id}"] .cell.name`).click();
      const details = v.page.getByTestId('details');
      await details.getByRole('tab', { name: 'Timing' }).click();
      const listed = details.locator('[data-testid=timing-evidence] li');
      await expect.poll(() => listed.count()).toBe(model.requests.find((x) => x.id === first.id)!.stalls!.length);
      await v.page.screenshot({ path: `${ARTIFACTS}/view-h2-loss-marks.png` });
      expect(v.errors).toEqual([]);
    } finally {
      await v.close();
    }
  });

  it('tcp-loss-http1: a retransmission mark where TCP delivered the held bytes, at the right x; arrivals inside each response', async () => {
    const { report, model } = await analyze('tcp-loss-http1.pcap');
    const conn = report.connections[0]!;
    const v = await openView(browser, { capturePath: sample('tcp-loss-http1.pcap') });
    v.page.setDefaultTimeout(10_000);
    try {
      const lane = v.page.locator('[data-lane-id="0"]');
      const marks = lane.getByTestId('late-mark');
      await expect.poll(() => marks.count()).toBeGreaterThan(0);
      const got = await marks.evaluateAll((els) => els.map((e) => ({ n: Number(e.getAttribute('data-count')), t: Number(e.getAttribute('data-time')), box: e.getBoundingClientRect().toJSON() as { x: number; width: number } })));
      expect(got.reduce((a, m) => a + m.n, 0)).toBe(lateSegments(conn.stats.client) + lateSegments(conn.stats.server));
      // Where a response's last bytes were delivered later than captured, the retransmission that
      // released them arrived at that delivery time: a mark sits there.
      const delivered = report.requests.map((r) => r.http1?.deliveredTimes?.responseEndTime).filter((t): t is number => t !== undefined);
      expect(delivered.length).toBeGreaterThan(0);
      const times = got.map((m) => m.t);
      for (const t of delivered) expect(times.some((m) => Math.abs(m - t) < 1e-6), `a mark at ${t} in ${times.join(', ')}`).toBe(true);
      // Each mark is drawn at its time on the lane's axis (window = whole capture).
      const wf = (await lane.locator('.lane-wf').boundingBox())!;
      const win = (await v.page.locator('.status-bar .muted').textContent())!;
      expect(win).toMatch(/^window 0 µs – /);
      const extentT1 = Math.max(report.capture.durationMs, ...report.connections.map((c) => c.close.time ?? c.lastTime)) * 1.01;
      for (const m of got.slice(0, 5)) expect(Math.abs(m.box.x + m.box.width / 2 - wf.x - (m.t / extentT1) * wf.width)).toBeLessThan(1.5);
      for (const r of report.requests) {
        const runs = model.requests.find((x) => x.id === r.id)!.arrivals!.runs;
        expect(runs.length).toBeGreaterThan(1);
        expect(await v.page.locator(`[data-request-id="${r.id}"] [data-testid=arrival]`).count()).toBe(runs.length);
      }
      expect(v.errors).toEqual([]);
    } finally {
      await v.close();
    }
  });

  it('pipelining.pcap: a pipelined request shows its wait behind the response before it, the cause on hover', async () => {
    const { report } = await analyze('pipelining.pcap');
    // Pipelined exchanges sent before the previous response on their connection had ended.
    const waiting = report.requests.filter((r) => {
      const prev = report.requests.find((q) => q.connectionId === r.connectionId && q.index === r.index - 1);
      return r.pipelined && prev?.times.responseEndTime != null && prev.times.responseEndTime > (r.times.requestEndTime ?? r.times.requestStartTime);
    });
    expect(waiting.length).toBeGreaterThan(0);
    const v = await openView(browser, { capturePath: sample('pipelining.pcap') });
    v.page.setDefaultTimeout(10_000);
    try {
      await v.page.locator('.row.lane').first().waitFor();
      const drawn = v.page.locator('[data-testid=stall][data-kind=pipelining]');
      expect(await drawn.count()).toBe(waiting.length);
      for (const r of waiting) {
        const st = v.page.locator(`[data-request-id="${r.id}"] [data-testid=stall][data-kind=pipelining]`);
        expect(await st.getAttribute('title')).toMatch(new RegExp(`^Pipelining: behind an earlier response \\(.+\\)\nPipelining: sent while exchange ${r.index - 1}'s response was still arriving`));
      }
      expect(v.errors).toEqual([]);
    } finally {
      await v.close();
    }
  });

  it('keys: ↑↓ Home End PgUp PgDn move the selection, Esc closes the details, / and Ctrl+F focus the filter, + − 0 and Ctrl+= zoom', async () => {
    const { model } = await analyze('browser-pageload.pcap.gz');
    const order = buildRows(model, EMPTY_FILTER, DEFAULT_SORT, true).flatMap((r) => (r.kind === 'request' ? [r.req.id] : []));
    expect(order.length).toBeGreaterThan(20);
    const v = await openView(browser, { capturePath: sample('browser-pageload.pcap.gz') }, { width: 1400, height: 700 });
    const page = v.page;
    page.setDefaultTimeout(10_000);
    try {
      await page.locator(`[data-request-id="${order[0]}"] .cell.name`).click();
      await expect.poll(() => selectedId(page)).toBe(order[0]);
      await page.keyboard.press('ArrowDown');
      await expect.poll(() => selectedId(page)).toBe(order[1]);
      await page.keyboard.press('End');
      await expect.poll(() => selectedId(page)).toBe(order[order.length - 1]);
      await page.keyboard.press('Home');
      await expect.poll(() => selectedId(page)).toBe(order[0]);
      await page.keyboard.press('PageDown');
      const afterPage = await selectedId(page);
      expect(order.indexOf(afterPage!)).toBeGreaterThan(5);
      await page.keyboard.press('PageUp');
      await expect.poll(() => selectedId(page)).toBe(order[0]);
      // Esc closes a context menu first, then the details.
      await expect.poll(() => page.getByTestId('details').count()).toBe(1);
      await page.locator(`[data-request-id="${order[0]}"] .cell.name`).click({ button: 'right' });
      await expect.poll(() => page.getByRole('menu').count()).toBe(1);
      await page.keyboard.press('Escape');
      await expect.poll(() => page.getByRole('menu').count()).toBe(0);
      expect(await selectedId(page)).toBe(order[0]);
      // Esc: the details close and nothing stays selected.
      await page.keyboard.press('Escape');
      await expect.poll(() => page.getByTestId('details').count()).toBe(0);
      expect(await selectedId(page)).toBeNull();
      // "/" and Ctrl+F focus the filter; Esc goes back to the table.
      const focused = () => page.evaluate(() => document.activeElement?.getAttribute('aria-label') ?? document.activeElement?.getAttribute('data-testid') ?? '');
      await page.keyboard.press('/');
      await expect.poll(focused).toBe('Filter');
      await page.keyboard.type('zzz-no-such');
      await expect.poll(() => page.getByTestId('status-requests').textContent()).toMatch(/^0 \//);
      await page.keyboard.press('Escape');
      await expect.poll(focused).toBe('grid-body');
      await page.keyboard.press('Control+f');
      await expect.poll(focused).toBe('Filter');
      await page.keyboard.press('Control+a');
      await page.keyboard.press('Delete');
      await page.keyboard.press('Escape');
      // Zoom keys, plain and with Ctrl (browser mode: no menu), and 0 for the whole capture.
      const windowText = () => page.locator('.status-bar .muted').textContent();
      const whole = await windowText();
      const span = async () => {
        const m = /window (.+) – (.+)$/.exec((await windowText())!)!;
        const ms = (s: string) => (s.endsWith(' µs') ? parseFloat(s) / 1000 : s.endsWith(' ms') ? parseFloat(s) : s.endsWith(' s') ? parseFloat(s) * 1000 : NaN);
        return ms(m[2]!) - ms(m[1]!);
      };
      const s0 = await span();
      await page.keyboard.press('+');
      await expect.poll(span).toBeLessThan(s0 * 0.6);
      const s1 = await span();
      await page.keyboard.press('Control+=');
      await expect.poll(span).toBeLessThan(s1 * 0.6);
      await page.keyboard.press('-');
      await expect.poll(span).toBeGreaterThan(s1 * 0.9);
      await page.keyboard.press('0');
      await expect.poll(windowText).toBe(whole);
      await page.keyboard.press('Control+=');
      await expect.poll(span).toBeLessThan(s0 * 0.6);
      await page.keyboard.press('Control+0');
      await expect.poll(windowText).toBe(whole);
      // The browser itself was not zoomed by the Ctrl keys.
      expect(await page.evaluate(() => window.devicePixelRatio)).toBe(1);
      expect(v.errors).toEqual([]);
    } finally {
      await v.close();
    }
  });

  for (const name of ['keepalive-timeout-max.pcapng', 'f-keepalive-timeout-lies-rtt.pcap', 'idle-timeout.pcap', 'h2-loss-hol.pcap']) {
    it(`600 px wide, ${name}: Findings and Export reachable, lane labels apart and on their lane, the last ruler tick whole`, async () => {
      const v = await openView(browser, { capturePath: sample(name) }, { width: 600, height: 700 });
      const page = v.page;
      page.setDefaultTimeout(10_000);
      try {
        await page.locator('.row.lane').first().waitFor();
        const vw = 600;
        for (const id of ['toggle-findings', 'export-har', 'export-json']) {
          const b = (await page.getByTestId(id).boundingBox())!;
          expect(b, id).not.toBeNull();
          expect(b.x).toBeGreaterThanOrEqual(0);
          expect(b.x + b.width).toBeLessThanOrEqual(vw);
          expect(b.y + b.height).toBeLessThanOrEqual(700);
          await expect.poll(() => page.getByTestId(id).isVisible()).toBe(true);
        }
        // Nothing in the page is wider than the window.
        expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(vw);
        // Every tick label of the ruler lies inside it.
        const ruler = (await page.locator('.grid-header .ruler').boundingBox())!;
        for (const t of await boxes(page.getByTestId('ruler-tick'))) {
          expect(t.x).toBeGreaterThanOrEqual(ruler.x - 0.5);
          expect(t.x + t.width).toBeLessThanOrEqual(ruler.x + ruler.width + 0.5);
        }
        // Lane labels: never on top of each other, never past the lane's waterfall.
        const lanes = page.locator('.row.lane');
        for (let i = 0; i < (await lanes.count()); i++) {
          const lane = lanes.nth(i);
          const wf = (await lane.locator('.lane-wf').boundingBox())!;
          const labels = await boxes(lane.locator('.seg-label, .close-label'));
          for (const l of labels) {
            expect(l.x).toBeGreaterThanOrEqual(wf.x - 0.5);
            expect(l.x + l.width).toBeLessThanOrEqual(wf.x + wf.width + 0.5);
          }
          for (let a = 0; a < labels.length; a++) for (let b = a + 1; b < labels.length; b++) expect(overlap(labels[a]!, labels[b]!), `lane ${i} labels ${a}, ${b}`).toBe(false);
        }
        await page.screenshot({ path: `${ARTIFACTS}/view-600px-${name.replace(/\W+/g, '-')}.png` });
        expect(v.errors).toEqual([]);
      } finally {
        await v.close();
      }
    });
  }

  it('600 px wide: a long header value wraps at its separators, inside the details pane', async () => {
    const { report } = await analyze('browser-pageload.pcap.gz');
    // The request with the longest header value core saw.
    let best = { id: -1, len: 0 };
    for (const r of report.requests) for (const h of [...r.requestHeaders, ...r.responseHeaders]) if (h.value.length > best.len && /[,;&/ ]/.test(h.value)) best = { id: r.id, len: h.value.length };
    expect(best.len).toBeGreaterThan(60);
    const v = await openView(browser, { capturePath: sample('browser-pageload.pcap.gz') }, { width: 600, height: 700 });
    const page = v.page;
    page.setDefaultTimeout(10_000);
    try {
      await page.getByTestId('grid-body').focus();
      // Reach the row by keyboard (virtualised list): End/Home then arrows until it is selected.
      const { model } = await analyze('browser-pageload.pcap.gz');
      const order = buildRows(model, EMPTY_FILTER, DEFAULT_SORT, true).flatMap((r) => (r.kind === 'request' ? [r.req.id] : []));
      await page.keyboard.press('Home');
      for (let i = 0; i < order.indexOf(best.id); i++) await page.keyboard.press('ArrowDown');
      await expect.poll(() => selectedId(page)).toBe(best.id);
      const details = page.getByTestId('details');
      const cells = details.locator('table.headers td');
      await expect.poll(() => cells.count()).toBeGreaterThan(0);
      const widths = await cells.evaluateAll((els) => els.map((e) => ({ over: e.scrollWidth - e.clientWidth, wbr: e.querySelectorAll('wbr').length, len: e.textContent!.length })));
      for (const w of widths) expect(w.over).toBeLessThanOrEqual(1);
      expect(widths.some((w) => w.len >= 60 && w.wbr > 0)).toBe(true);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(600);
      await page.screenshot({ path: `${ARTIFACTS}/view-600px-details.png` });
      expect(v.errors).toEqual([]);
    } finally {
      await v.close();
    }
  });
});
