/**
 * The SVG waterfall (app/renderer/model/svg.ts, drawn by `wirefall waterfall`) on real samples:
 * well-formed XML, one lane per connection, each request's bars exactly core's phases() on the
 * UI's time scale (within a pixel), every finding marked, the UI stylesheet's theme colours.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CORE } from '../../core/src/view/core-link.js';
import { toViewModel } from '../../core/src/view/compact.js';
import { phases } from '../../core/src/model/phases.js';
import { groupFindings } from '../../core/src/view/finding-groups.js';
import type { Report } from '../../core/src/model/types.js';
import { PHASE_STYLES } from '../../app/renderer/model/phaseStyles.js';
import { resolveColor, themeVars, waterfallSvg, xml } from '../../app/renderer/model/svg.js';
import { findAll, parseXml, type XmlElement } from '../helpers/xml.js';
import { ROOT, sample } from '../helpers/env.js';

const CSS = readFileSync(join(ROOT, 'app', 'renderer', 'styles.css'), 'utf8');
const THEMES = themeVars(CSS);

async function draw(file: string, keys?: string, opts: { width?: number; theme?: 'light' | 'dark'; maxRows?: number } = {}) {
  const report: Report = await CORE.analyzeFile(sample(file), keys ? { keylog: { files: [sample(keys)] } } : {});
  const model = toViewModel(report, 'test', phases);
  const text = waterfallSvg(model, { ...opts, vars: THEMES[opts.theme ?? 'light'] });
  return { report, model, text, svg: parseXml(text) };
}

const num = (e: XmlElement, a: string) => Number(e.attrs[a]);
const byAttr = (root: XmlElement, a: string, v?: string) => findAll(root, (e) => a in e.attrs && (v === undefined || e.attrs[a] === v));

/** The checks every drawing must pass. */
function checkDrawing({ report, svg }: Awaited<ReturnType<typeof draw>>) {
  expect(svg.name).toBe('svg');
  const wfW = num(svg, 'data-wf-width');
  const t0 = num(svg, 'data-t0');
  const t1 = num(svg, 'data-t1');
  const px = (t: number) => ((t - t0) / (t1 - t0)) * wfW;

  // One lane per connection, each once.
  const lanes = byAttr(svg, 'data-lane-id');
  expect(lanes.map((l) => Number(l.attrs['data-lane-id'])).sort((a, b) => a - b)).toEqual(report.connections.map((c) => c.id).sort((a, b) => a - b));

  // Each request: its bars are phases(), in order, on the time scale (within a pixel).
  const rows = byAttr(svg, 'data-request-id');
  expect(rows).toHaveLength(report.requests.length);
  for (const r of report.requests) {
    const row = rows.find((g) => g.attrs['data-request-id'] === String(r.id))!;
    expect(row.attrs['data-connection-id']).toBe(String(r.connectionId));
    const bars = findAll(row, (e) => 'data-phase' in e.attrs);
    const expected = phases(r.times);
    // An unanswered request has one more bar: its wait until the close (drawn as "no response").
    const hung = findAll(row, (e) => e.attrs['data-testid'] === 'no-response-bar');
    expect(bars.length).toBe(expected.length + hung.length);
    expected.forEach((p, k) => {
      const b = bars[k]!;
      expect(b.attrs['data-phase']).toBe(p.name);
      const x = hung.includes(b) ? num(b, 'data-x') : num(b, 'x');
      const w = hung.includes(b) ? num(b, 'data-w') : num(b, 'width');
      expect(Math.abs(x - px(p.startTime))).toBeLessThanOrEqual(1);
      expect(Math.abs(w - Math.max(1, px(p.endTime) - px(p.startTime)))).toBeLessThanOrEqual(1);
      // The thin connection-setup phases, as the UI draws them.
      if (!hung.includes(b)) expect(num(b, 'height')).toBe(PHASE_STYLES[p.name].thin ? 4 : 12);
    });
  }

  // Every finding is marked: on the rows it names (dot) and, by connection, on its lanes.
  const dots = findAll(svg, (e) => e.attrs['data-testid'] === 'finding-dot').map((d) => d.attrs['data-findings']!.split(',').map(Number));
  report.findings.forEach((f, i) => {
    if (f.requestIds.length || f.connectionIds.length) expect(dots.some((d) => d.includes(i))).toBe(true);
    if (f.connectionIds.length) expect(byAttr(svg, 'data-finding', String(i)).length).toBeGreaterThan(0);
  });
  const groups = byAttr(svg, 'data-finding-group');
  expect(groups).toHaveLength(Math.min(30, groupFindings(report.findings).length));
  expect(groups.reduce((n, g) => n + num(g, 'data-count'), 0)).toBe(report.findings.length);
}

describe('wirefall waterfall SVG', () => {
  it('no-pool.pcap: ten lanes, phases as phases(), the no-pool finding on every lane', async () => {
    const d = await draw('no-pool.pcap');
    checkDrawing(d);
    expect(byAttr(d.svg, 'data-lane-id')).toHaveLength(10);
    expect(d.report.findings.length).toBeGreaterThan(0);
    expect(byAttr(d.svg, 'data-testid', 'close-marker').length).toBe(10);
  });

  it('h2-loss-hol.pcap: data arrivals, stalls and retransmission marks drawn', async () => {
    const d = await draw('h2-loss-hol.pcap');
    checkDrawing(d);
    expect(byAttr(d.svg, 'data-testid', 'arrival').length).toBeGreaterThan(0);
    expect(byAttr(d.svg, 'data-testid', 'stall').length).toBeGreaterThan(0);
    const late = byAttr(d.svg, 'data-testid', 'late-mark');
    expect(late.length).toBeGreaterThan(0);
    // At the time of the model's first late-segment run.
    const first = d.model.connections.flatMap((c) => c.late?.marks ?? [])[0]!;
    expect(late.some((l) => Number(l.attrs['data-time']) === first[0])).toBe(true);
  });

  it('tls/chromium-h2.pcap with its key log: every decrypted request drawn, dark theme colours', async () => {
    const d = await draw('tls/chromium-h2.pcap', 'tls/chromium-h2.keys', { theme: 'dark', width: 900 });
    checkDrawing(d);
    expect(d.report.requests.length).toBeGreaterThan(10);
    expect(d.svg.attrs.width).toBe('900');
    const bg = d.svg.children.find((c) => c.name === 'rect')!;
    expect(bg.attrs.fill).toBe(THEMES.dark['--bg']);
    expect(THEMES.dark['--bg']).not.toBe(THEMES.light['--bg']);
    // A waiting bar takes the dark theme's --phase-waiting.
    const waiting = byAttr(d.svg, 'data-phase', 'waiting')[0]!;
    expect(waiting.attrs.fill).toBe(resolveColor(PHASE_STYLES.waiting.color, THEMES.dark));
  });

  it('blind-relay.pcap: the unanswered request is drawn to the close in the no-response style', async () => {
    const d = await draw('blind-relay.pcap');
    checkDrawing(d);
    const hung = byAttr(d.svg, 'data-testid', 'no-response-bar');
    expect(hung.length).toBeGreaterThan(0);
    expect(Number(hung[0]!.attrs['data-end']) - Number(hung[0]!.attrs['data-start'])).toBeGreaterThan(1000);
  });

  it('colours come from the stylesheet: no var() left, every phase colour resolved', async () => {
    const d = await draw('h2-loss-hol.pcap');
    expect(d.text).not.toMatch(/var\(/);
    expect(THEMES.light['--phase-waiting']).toMatch(/^#/);
    for (const id of Object.keys(PHASE_STYLES) as (keyof typeof PHASE_STYLES)[]) expect(resolveColor(PHASE_STYLES[id].color, THEMES.light)).toMatch(/^#[0-9a-f]{6}$/i);
  });

  it('--max-rows: rows beyond it are counted, not drawn', async () => {
    const d = await draw('tls/chromium-h2.pcap', 'tls/chromium-h2.keys', { maxRows: 5 });
    expect(byAttr(d.svg, 'data-request-id')).toHaveLength(4);
    expect(byAttr(d.svg, 'data-testid', 'rows-omitted')[0]!.attrs['data-count']).toBe(String(d.report.requests.length + 1 - 5));
  });

  it('--max-rows on several connections: every lane kept, each with its first requests', async () => {
    const d = await draw('browser-pageload.pcap.gz', undefined, { maxRows: 20 });
    const lanes = byAttr(d.svg, 'data-lane-id');
    expect(lanes).toHaveLength(d.report.connections.length);
    const per = Math.floor((20 - lanes.length) / lanes.length);
    for (const c of d.report.connections) {
      const drawn = byAttr(d.svg, 'data-connection-id', String(c.id)).map((g) => Number(g.attrs['data-request-id']));
      const first = d.report.requests.filter((r) => r.connectionId === c.id).sort((a, b) => a.times.requestStartTime - b.times.requestStartTime || a.id - b.id).slice(0, per).map((r) => r.id);
      expect(drawn).toEqual(first);
    }
    expect(Number(d.svg.attrs['data-rows-drawn'])).toBe(lanes.length * (1 + per));
    expect(byAttr(d.svg, 'data-testid', 'rows-omitted')[0]!.attrs['data-count']).toBe(String(d.report.connections.length + d.report.requests.length - lanes.length * (1 + per)));
    // The lane says how many of its requests are drawn.
    expect(d.text).toMatch(/ reqs \(\d+ shown\)/);
  });

  it('captured text is escaped, and characters XML cannot carry are replaced', () => {
    expect(xml('a<b>&"c"\u0001\ud800')).toBe('a&lt;b&gt;&amp;&quot;c&quot;\ufffd\ufffd');
    expect(() => parseXml(`<svg><text>${xml('<script>&')}</text></svg>`)).not.toThrow();
  });
});
