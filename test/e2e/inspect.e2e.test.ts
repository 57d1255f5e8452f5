/// <reference lib="dom" />
/**
 * Issues 15 (items 2, 4, 6) and 17 (item 5) in Chromium, browser mode, on real samples, with every
 * expectation taken from core's model: evidence lines that select, scroll, zoom and mark; from a
 * request to its findings; the HPACK and QPACK table inspector equal to the core decoder's history;
 * QUIC lanes with their connection IDs and the NAT rebinding marked; h3 requests in the waterfall;
 * Open… (and drop) of a second capture, a refused upload without the token; `wirefall view DIR`.
 * Skips where /usr/bin/chromium is absent; fails instead under CI=true.
 */
import { readFileSync, copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { CORE } from '../../core/src/view/core-link.js';
import { phases } from '../../core/src/model/phases.js';
import { toViewModel } from '../../core/src/view/compact.js';
import { evidenceTarget } from '../../core/src/view/evidence-nav.js';
import { headerTables } from '../../core/src/view/header-tables.js';
import { startViewServer } from '../../core/src/view/server.js';
import { directionBlocks } from '../../app/renderer/model/tables.js';
import { ARTIFACTS, buildRenderer, chromiumMissing, openView, sample, useBrowser } from './helpers.js';

const skip = chromiumMissing();

/** Whether the element's box lies within the grid body's visible box. */
async function inView(page: Page, selector: string): Promise<boolean> {
  return page.evaluate((sel) => {
    const el = document.querySelector(sel);
    const body = document.querySelector('[data-testid=grid-body]');
    if (!el || !body) return false;
    const a = el.getBoundingClientRect();
    const b = body.getBoundingClientRect();
    return a.top >= b.top - 1 && a.bottom <= b.bottom + 1;
  }, selector);
}

describe.skipIf(skip)('inspecting evidence, header tables, QUIC and opening captures in Chromium', () => {
  let browser: Browser;
  useBrowser((b) => (browser = b));

  it('an evidence line selects its request, zooms the waterfall to the moment and marks it (blind relay)', async () => {
    const report = await CORE.analyzeFile(sample('blind-relay.pcap'), {});
    const m = toViewModel(report, 'd', phases);
    const fi = report.findings.findIndex((f) => f.kind === 'blind-relay-hang');
    const f = report.findings[fi]!;
    const ej = f.evidence.findIndex((e) => e.what.startsWith('GET /f2.txt'));
    expect(ej).toBeGreaterThanOrEqual(0);
    const target = evidenceTarget(m, f, f.evidence[ej]!, { t0: 0, t1: report.capture.durationMs });
    expect(m.requests[target.requestId!]!.url).toMatch(/\/f2\.txt$/);
    const v = await openView(browser, { capturePath: sample('blind-relay.pcap') });
    v.page.setDefaultTimeout(10_000);
    try {
      const ticksBefore = await v.page.getByTestId('ruler-tick').allTextContents();
      await v.page.locator(`.findings [data-finding-index="${fi}"]`).click();
      await v.page.locator(`.findings [data-finding-index="${fi}"] [data-evidence-index="${ej}"]`).click();
      await expect.poll(() => v.page.locator('.row.req.selected').getAttribute('data-request-id')).toBe(String(target.requestId));
      const mark = v.page.getByTestId('evidence-mark');
      await expect.poll(() => mark.count()).toBe(1);
      expect(Number(await mark.getAttribute('data-time'))).toBe(f.evidence[ej]!.time);
      // Zoomed: the ruler now spans the target window, not the whole capture.
      const ticksAfter = await v.page.getByTestId('ruler-tick').allTextContents();
      expect(ticksAfter).not.toEqual(ticksBefore);
      // The mark sits at the moment in the waterfall: inside the selected row's waterfall cell.
      const wf = (await v.page.locator('.row.req.selected .cell.wf').boundingBox())!;
      const mb = (await mark.boundingBox())!;
      expect(mb.x).toBeGreaterThanOrEqual(wf.x - 2);
      expect(mb.x).toBeLessThanOrEqual(wf.x + wf.width + 2);
      expect(await inView(v.page, '.row.req.selected')).toBe(true);
      // Esc clears the mark first.
      await v.page.keyboard.press('Escape');
      await expect.poll(() => mark.count()).toBe(0);
      expect(v.errors).toEqual([]);
    } finally {
      await v.close();
    }
  });

  it('an evidence line naming a stream selects and scrolls to that stream (HTTP/2 with loss); a request leads to its findings', async () => {
    const report = await CORE.analyzeFile(sample('h2-loss-hol.pcap'), {});
    const m = toViewModel(report, 'd', phases);
    const fi = report.findings.findIndex((f) => f.kind === 'hol-stall');
    const f = report.findings[fi]!;
    const ej = f.evidence.findIndex((e) => /^stream \d+/.test(e.what));
    const stream = Number(/^stream (\d+)/.exec(f.evidence[ej]!.what)![1]);
    const want = m.requests.find((r) => r.streamId === stream)!;
    const v = await openView(browser, { capturePath: sample('h2-loss-hol.pcap') }, { width: 1400, height: 420 });
    v.page.setDefaultTimeout(10_000);
    try {
      await v.page.locator(`.findings .finding[data-finding-index="${fi}"]`).first().click();
      await v.page.locator(`.findings [data-finding-index="${fi}"] [data-evidence-index="${ej}"]`).click();
      await expect.poll(() => v.page.locator('.row.req.selected').getAttribute('data-request-id')).toBe(String(want.id));
      expect(await inView(v.page, '.row.req.selected')).toBe(true);
      expect(Number(await v.page.getByTestId('evidence-mark').getAttribute('data-time'))).toBe(f.evidence[ej]!.time);
      // A request id under the finding selects that request.
      const other = f.requestIds.find((id) => id !== want.id)!;
      await v.page.locator(`.findings [data-testid=evidence-request][data-request-id="${other}"]`).first().click();
      await expect.poll(() => v.page.locator('.row.req.selected').getAttribute('data-request-id')).toBe(String(other));
      // The reverse: a request's finding marker opens its findings in the details pane.
      await v.page.keyboard.press('Escape');
      await v.page.keyboard.press('Escape');
      const withF = m.requests.find((r) => r.findings.length > 0)!;
      await v.page.locator(`[data-request-id="${withF.id}"] [data-testid=finding-dot]`).click();
      const details = v.page.getByTestId('details');
      await expect.poll(() => details.getByRole('tab', { name: `Findings (${withF.findings.length})` }).getAttribute('aria-selected')).toBe('true');
      expect(await details.locator('.detail-findings > .finding').count()).toBe(withF.findings.length);
      // …and its evidence lines navigate from there too.
      await details.getByTestId('evidence-line').first().click();
      await expect.poll(() => v.page.getByTestId('evidence-mark').count()).toBe(1);
      await v.page.screenshot({ path: `${ARTIFACTS}/view-evidence-nav.png` });
      expect(v.errors).toEqual([]);
    } finally {
      await v.close();
    }
  });

  it('the HPACK inspector shows the table the core decoder had before the chosen request (h2load)', async () => {
    const path = sample('h2load.pcap');
    const report = await CORE.analyzeFile(path, {});
    const m = toViewModel(report, 'd', phases);
    const conn = report.connections.find((c) => c.h2)!;
    const hist = await headerTables(path, conn.id, {});
    const reqs = m.requests.filter((r) => r.connectionId === conn.id);
    // A request past the first few (the table has grown), near the top so that its row is drawn.
    const chosen = reqs[Math.min(6, reqs.length - 1)]!;
    const v = await openView(browser, { capturePath: path });
    v.page.setDefaultTimeout(20_000);
    try {
      await v.page.locator(`[data-request-id="${chosen.id}"]`).click();
      await v.page.getByRole('tab', { name: 'HPACK' }).click();
      const insp = v.page.getByTestId('hpack-inspector');
      await expect.poll(() => insp.getAttribute('data-codec')).toBe('hpack');
      for (const side of ['client', 'server'] as const) {
        await insp.getByTestId(`table-side-${side}`).click();
        const order = directionBlocks(hist, side);
        const pos = order.findIndex((i) => hist.blocks[i]!.streamId === chosen.streamId);
        const b = hist.blocks[order[pos]!]!;
        await expect.poll(() => insp.getByTestId('table-pos').getAttribute('data-pos')).toBe(String(pos));
        expect(await insp.getByTestId('table-block').getAttribute('data-stream-id')).toBe(String(chosen.streamId));
        const sum = insp.getByTestId('table-summary');
        expect([await sum.getAttribute('data-entries'), await sum.getAttribute('data-size'), await sum.getAttribute('data-max-size')]).toEqual([String(b.before.entryCount), String(b.before.size), String(b.before.maxSize)]);
        const rows = await insp.getByTestId('table-entry').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
        expect(rows).toEqual(b.before.entries.map((e) => [String(e.index), e.name, e.value, String(e.size)]));
        expect(await insp.getByTestId('block-field').count()).toBe(b.fields.length);
        expect(await insp.getByTestId('block-cost').getAttribute('data-encoded')).toBe(String(b.encodedBytes));
        // Stepping back shows the previous block of that direction.
        if (pos > 0) {
          await insp.getByTestId('table-prev').click();
          const p = hist.blocks[order[pos - 1]!]!;
          await expect.poll(() => sum.getAttribute('data-size')).toBe(String(p.before.size));
          expect(await insp.getByTestId('table-block').getAttribute('data-stream-id')).toBe(String(p.streamId));
        }
      }
      await v.page.screenshot({ path: `${ARTIFACTS}/view-hpack-inspector.png` });
      expect(v.errors).toEqual([]);
    } finally {
      await v.close();
    }
  });

  it('the HPACK inspector on a decrypted Chromium h2 capture (view --keylog)', async () => {
    const path = sample('tls/chromium-h2.pcap');
    const keylog = { files: [sample('tls/chromium-h2.keys')] };
    const report = await CORE.analyzeFile(path, { keylog });
    const m = toViewModel(report, 'd', phases);
    const conn = report.connections.find((c) => c.protocol === 'h2' && report.requests.some((r) => r.connectionId === c.id))!;
    const hist = await headerTables(path, conn.id, keylog);
    const chosen = m.requests.filter((r) => r.connectionId === conn.id).at(-1)!;
    const b = hist.blocks[directionBlocks(hist, 'client').find((i) => hist.blocks[i]!.streamId === chosen.streamId)!]!;
    expect(b.before.entryCount).toBeGreaterThan(0);
    const v = await openView(browser, { capturePath: path, keylogFiles: keylog.files });
    v.page.setDefaultTimeout(20_000);
    try {
      await v.page.locator(`[data-request-id="${chosen.id}"]`).click();
      await v.page.getByRole('tab', { name: 'HPACK' }).click();
      const sum = v.page.getByTestId('hpack-inspector').getByTestId('table-summary');
      await expect.poll(() => sum.getAttribute('data-entries')).toBe(String(b.before.entryCount));
      expect(await sum.getAttribute('data-size')).toBe(String(b.before.size));
      expect(await v.page.getByTestId('table-entry').first().locator('td').nth(1).textContent()).toBe(b.before.entries[0]!.name);
      expect(v.errors).toEqual([]);
    } finally {
      await v.close();
    }
  });

  it('the QPACK inspector on an HTTP/3 connection (ngtcp2, with its keys)', async () => {
    const path = sample('quic/ngtcp2-h3.pcap');
    const keylog = { files: [sample('quic/ngtcp2-h3.keys')] };
    const report = await CORE.analyzeFile(path, { keylog });
    const m = toViewModel(report, 'd', phases);
    const conn = report.connections.find((c) => c.protocol === 'h3')!;
    const hist = await headerTables(path, conn.id, keylog);
    const chosen = m.requests.filter((r) => r.connectionId === conn.id).at(-1)!;
    const v = await openView(browser, { capturePath: path, keylogFiles: keylog.files });
    v.page.setDefaultTimeout(20_000);
    try {
      await v.page.locator(`[data-request-id="${chosen.id}"]`).click();
      await v.page.getByRole('tab', { name: 'QPACK' }).click();
      const insp = v.page.getByTestId('hpack-inspector');
      await expect.poll(() => insp.getAttribute('data-codec')).toBe('qpack');
      await insp.getByTestId('table-side-server').click();
      const b = hist.blocks[directionBlocks(hist, 'server').find((i) => hist.blocks[i]!.streamId === chosen.streamId)!]!;
      const sum = insp.getByTestId('table-summary');
      await expect.poll(() => sum.getAttribute('data-size')).toBe(String(b.before.size));
      expect(await sum.getAttribute('data-entries')).toBe(String(b.before.entryCount));
      const rows = await insp.getByTestId('table-entry').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(0, 3).map((td) => td.textContent)));
      expect(rows).toEqual(b.before.entries.map((e) => [String(e.index), e.name, e.value]));
      const fields = await insp.getByTestId('block-field').evaluateAll((trs) => trs.map((tr) => [tr.querySelectorAll('td')[0]!.textContent, tr.querySelectorAll('td')[1]!.textContent]));
      expect(fields).toEqual(report.requests.find((r) => r.id === chosen.id)!.responseHeaders.map((h) => [h.name, h.value]));
      await v.page.screenshot({ path: `${ARTIFACTS}/view-qpack-inspector.png` });
      expect(v.errors).toEqual([]);
    } finally {
      await v.close();
    }
  });

  it('draws a QUIC connection as a lane with its version and connection IDs, marks its NAT rebinding, and lists its h3 requests', async () => {
    const path = sample('quic/ngtcp2-h3-retry-rebind.pcap');
    const keylog = { files: [sample('quic/ngtcp2-h3-retry-rebind.keys')] };
    const report = await CORE.analyzeFile(path, { keylog });
    const conn = report.connections.find((c) => c.transport === 'quic')!;
    expect(conn.quic!.migrations.length).toBeGreaterThan(0);
    const v = await openView(browser, { capturePath: path, keylogFiles: keylog.files });
    v.page.setDefaultTimeout(10_000);
    try {
      const lane = v.page.locator(`[data-lane-id="${conn.id}"]`);
      await expect.poll(() => lane.getAttribute('data-transport')).toBe('quic');
      const label = (await lane.getByTestId('lane-label').textContent())!;
      expect(label).toContain(conn.quic!.version);
      expect(label).toContain(`DCID ${conn.quic!.originalDcid.slice(0, 8)}`);
      const title = (await lane.getByTestId('lane-label').getAttribute('title'))!;
      for (const cid of [...conn.quic!.connectionIds.client, ...conn.quic!.connectionIds.server].slice(0, 16)) expect(title).toContain(cid);
      const marks = lane.getByTestId('migration-mark');
      expect(await marks.count()).toBe(conn.quic!.migrations.length);
      expect(Number(await marks.first().getAttribute('data-time'))).toBe(conn.quic!.migrations[0]!.time);
      expect(await marks.first().getAttribute('title')).toContain(`${conn.quic!.migrations[0]!.from.port} → `);
      // Its h3 requests are rows of the waterfall, with bars.
      const reqs = report.requests.filter((r) => r.connectionId === conn.id);
      expect(reqs.length).toBeGreaterThan(0);
      for (const r of reqs) {
        const row = v.page.locator(`.row.req[data-request-id="${r.id}"]`);
        expect(await row.count()).toBe(1);
        expect(await row.locator('.bar').count()).toBeGreaterThan(0);
      }
      await lane.click();
      expect(await v.page.getByTestId('quic-cids').textContent()).toContain(conn.quic!.originalDcid);
      expect(await v.page.getByTestId('quic-migrations').count()).toBe(1);
      await v.page.screenshot({ path: `${ARTIFACTS}/view-quic-lane.png` });
      expect(v.errors).toEqual([]);
    } finally {
      await v.close();
    }
  });

  it('opens a second capture with Open… and by dropping it, with progress; refuses an upload without the token', async () => {
    const second = await CORE.analyzeFile(sample('h2load.pcap'), {});
    const third = await CORE.analyzeFile(sample('pipelining.pcap'), {});
    const v = await openView(browser, { capturePath: sample('keepalive-pool.pcap') });
    v.page.setDefaultTimeout(20_000);
    try {
      // Progress is shown while a file is sent (seen by an observer, as a small file goes fast).
      await v.page.evaluate(() => {
        (window as unknown as { sawProgress: boolean }).sawProgress = false;
        new MutationObserver(() => {
          if (document.querySelector('[data-testid=upload-progress]')) (window as unknown as { sawProgress: boolean }).sawProgress = true;
        }).observe(document.body, { childList: true, subtree: true });
      });
      await v.page.getByTestId('capture-input').setInputFiles(sample('h2load.pcap'));
      await expect.poll(() => v.page.locator('.tab.active').textContent()).toContain('h2load.pcap');
      await expect.poll(() => v.page.getByTestId('status-requests').textContent(), { timeout: 30_000 }).toContain(`${second.requests.length} requests`);
      expect(await v.page.evaluate(() => (window as unknown as { sawProgress: boolean }).sawProgress)).toBe(true);
      expect(await v.page.getByTestId('upload-progress').count()).toBe(0);
      // Dropped onto the page.
      const bytes = [...readFileSync(sample('pipelining.pcap'))];
      const dt = await v.page.evaluateHandle((b) => {
        const d = new DataTransfer();
        d.items.add(new File([new Uint8Array(b)], 'pipelining.pcap', { type: 'application/octet-stream' }));
        return d;
      }, bytes);
      await v.page.locator('.app').dispatchEvent('drop', { dataTransfer: dt });
      await expect.poll(() => v.page.locator('.tab.active').textContent()).toContain('pipelining.pcap');
      await expect.poll(() => v.page.getByTestId('status-requests').textContent(), { timeout: 30_000 }).toContain(`${third.requests.length} requests`);
      expect(await v.page.locator('.tab').count()).toBe(3);
      // The same upload without the token is refused, and opens nothing.
      const status = await v.page.evaluate(async () => (await fetch('/api/upload?name=x.pcap', { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: new Uint8Array([1, 2, 3]) })).status);
      expect(status).toBe(401);
      expect(v.server.docs.list().length).toBe(3);
      // An opened capture's tab closes in browser mode too.
      await v.page.getByRole('button', { name: 'Close pipelining.pcap' }).click();
      await expect.poll(() => v.page.locator('.tab').count()).toBe(2);
      expect(v.server.docs.list().map((d) => d.title)).toEqual(['keepalive-pool.pcap', 'h2load.pcap']);
      await v.page.screenshot({ path: `${ARTIFACTS}/view-open-second.png` });
      // The only console error is the refused request's own 401.
      expect(v.errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
    } finally {
      await v.close();
    }
  });

  it('filters with DevTools keywords the model answers: mime-type:, larger-than:, domain:, has-finding:, is:running', async () => {
    const path = sample('tls/chromium-h2.pcap');
    const keylog = { files: [sample('tls/chromium-h2.keys')] };
    const report = await CORE.analyzeFile(path, { keylog });
    const m = toViewModel(report, 'd', phases);
    const total = m.requests.length;
    const v = await openView(browser, { capturePath: path, keylogFiles: keylog.files });
    v.page.setDefaultTimeout(10_000);
    const shown = async (text: string) => {
      await v.page.getByLabel('Filter').fill(text);
      return v.page.getByTestId('status-requests').textContent();
    };
    const expectShown = async (text: string, n: number) => {
      await expect.poll(() => shown(text)).toBe(n === total ? `${total} requests` : `${n} / ${total} requests`);
    };
    try {
      const sizes = m.requests.map((r) => r.size).sort((a, b) => a - b);
      const median = sizes[Math.floor(sizes.length / 2)]!;
      const ct = (r: (typeof report.requests)[number]) => r.responseHeaders.find((h) => h.name.toLowerCase() === 'content-type')?.value ?? '';
      await expectShown('mime-type:text/css', report.requests.filter((r) => ct(r).startsWith('text/css')).length);
      await expectShown(`larger-than:${median}`, m.requests.filter((r) => r.size > median).length);
      const host = new URL(report.requests[0]!.url).hostname;
      await expectShown(`domain:${host}`, report.requests.filter((r) => new URL(r.url).hostname === host).length);
      await expectShown(`domain:*.${host.split('.').slice(1).join('.')}`, total);
      await expectShown('is:running', report.requests.filter((r) => r.state !== 'complete').length);
      await expectShown('domain:nowhere.invalid', 0);
      expect(v.errors).toEqual([]);
    } finally {
      await v.close();
    }
    const pr = await CORE.analyzeFile(sample('pipelining.pcap'), {});
    const stalled = new Set(pr.findings.filter((f) => f.kind === 'hol-stall').flatMap((f) => f.requestIds));
    expect(stalled.size).toBeGreaterThan(0);
    const w = await openView(browser, { capturePath: sample('pipelining.pcap') });
    try {
      await w.page.getByLabel('Filter').fill('has-finding:hol-stall');
      await expect.poll(() => w.page.locator('.row.req').count()).toBe(stalled.size);
      await w.page.getByLabel('Filter').fill('has-finding:blind-relay-hang');
      await expect.poll(() => w.page.locator('.row.req').count()).toBe(0);
    } finally {
      await w.close();
    }
  });

  it('resizes columns, the details pane and the findings panel by dragging, and keeps the sizes after a reload', async () => {
    const v = await openView(browser, { capturePath: sample('blind-relay.pcap') }, { width: 1400, height: 800 });
    v.page.setDefaultTimeout(10_000);
    const drag = async (sel: string, dx: number, dy: number) => {
      const b = (await v.page.locator(sel).first().boundingBox())!;
      const x = b.x + b.width / 2;
      const y = b.y + b.height / 2;
      await v.page.mouse.move(x, y);
      await v.page.mouse.down();
      await v.page.mouse.move(x + dx / 2, y + dy / 2);
      await v.page.mouse.move(x + dx, y + dy);
      await v.page.mouse.up();
    };
    const width = async (sel: string) => (await v.page.locator(sel).first().boundingBox())!.width;
    try {
      const nameHeader = '.grid-header [role=columnheader]:first-child';
      const w0 = await width(nameHeader);
      const sortBefore = await v.page.locator(nameHeader).getAttribute('aria-sort');
      await drag('.grid-header [data-testid=col-resize][data-key=name]', 80, 0);
      await expect.poll(() => width(nameHeader)).toBeCloseTo(w0 + 80, -1);
      // The rows follow the header, and the drag did not sort.
      expect(await width('.row.req .cell.name')).toBeCloseTo(await width(nameHeader), 0);
      expect(await v.page.locator(nameHeader).getAttribute('aria-sort')).toBe(sortBefore);
      // The details pane, dragged wider at its left edge.
      await v.page.locator('.row.req').first().click();
      const d0 = await width('[data-testid=details]');
      await drag('[data-testid=details-splitter]', -120, 0);
      await expect.poll(() => width('[data-testid=details]')).toBeCloseTo(d0 + 120, -1);
      // The findings panel, dragged taller at its top edge.
      const h = async () => (await v.page.getByTestId('findings').boundingBox())!.height;
      const h0 = await h();
      await drag('[data-testid=findings-splitter]', 0, -100);
      await expect.poll(h).toBeGreaterThan(h0 + 60);
      const h1 = await h();
      // Kept after a reload.
      await v.page.reload();
      await v.page.waitForSelector('[data-testid=grid-body]');
      await expect.poll(() => width(nameHeader)).toBeCloseTo(w0 + 80, -1);
      await expect.poll(h).toBeCloseTo(h1, -1);
      await v.page.screenshot({ path: `${ARTIFACTS}/view-resized.png` });
      expect(v.errors).toEqual([]);
    } finally {
      await v.close();
    }
  });

  it('`wirefall view DIR` lists the directory\'s captures and opens the one chosen', async () => {
    const dir = mkdtempSync(`${tmpdir()}/wirefall-e2e-dir-`);
    copyFileSync(sample('h2load.pcap'), `${dir}/h2load.pcap`);
    copyFileSync(sample('blind-relay.pcap'), `${dir}/blind-relay.pcap`);
    const want = await CORE.analyzeFile(sample('blind-relay.pcap'), {});
    const server = await startViewServer({ directory: dir, staticDir: buildRenderer() });
    const ctx = await browser.newContext({ viewport: { width: 1200, height: 700 } });
    const page = await ctx.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.setDefaultTimeout(20_000);
    try {
      await page.goto(server.url);
      const list = page.getByTestId('dir-list');
      await expect.poll(() => list.getByTestId('dir-capture').allTextContents()).toEqual(['blind-relay.pcap', 'h2load.pcap']);
      await list.getByTestId('dir-capture').first().click();
      await page.waitForSelector('[data-testid=grid-body]');
      await expect.poll(() => page.getByTestId('status-requests').textContent()).toContain(`${want.requests.length} requests`);
      // The listing stays reachable from the tab bar.
      expect(await page.getByTestId('dir-captures').locator('option').count()).toBe(3);
      expect(errors).toEqual([]);
    } finally {
      await ctx.close();
      await server.close();
    }
  });
});
