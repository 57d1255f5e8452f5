/**
 * The SVG waterfall (app/renderer/model/svg.ts) draws promises that were cancelled or never answered
 * as the UI does: a dashed Push badge saying what became of it, and for a cancelled one a bar from
 * the promise to the reset with who cancelled and the code. samples/h2-push-cancel.pcap.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CORE } from '../../core/src/view/core-link.js';
import { toViewModel } from '../../core/src/view/compact.js';
import { phases } from '../../core/src/model/phases.js';
import { themeVars, waterfallSvg } from '../../app/renderer/model/svg.js';
import { findAll, parseXml } from '../helpers/xml.js';
import { ROOT, sample } from '../helpers/env.js';

describe('SVG waterfall: cancelled and unanswered pushes', () => {
  it('h2-push-cancel.pcap', async () => {
    const report = await CORE.analyzeFile(sample('h2-push-cancel.pcap'), {});
    const model = toViewModel(report, 'test', phases);
    const vars = themeVars(readFileSync(join(ROOT, 'app', 'renderer', 'styles.css'), 'utf8')).light;
    const svg = parseXml(waterfallSvg(model, { vars }));
    const badges = findAll(svg, (e) => e.attrs['data-testid'] === 'push-badge');
    const pushed = model.requests.filter((r) => r.pushed);
    expect(badges.length).toBe(pushed.length);
    expect(badges.map((b) => b.attrs['data-outcome'] ?? 'delivered').sort()).toEqual(pushed.map((r) => r.pushed!.outcome).sort());
    const cancelled = report.requests.filter((r) => r.pushed && r.h2?.rst);
    const bars = findAll(svg, (e) => e.attrs['data-testid'] === 'push-cancelled-bar');
    expect(bars.length).toBe(cancelled.length);
    for (const [i, r] of cancelled.entries()) {
      const title = findAll(bars[i]!, (e) => e.name === 'title')[0]!.text;
      expect(title).toContain(`cancelled by the ${r.h2!.rst!.by} (${r.h2!.rst!.code})`);
      expect(title).toContain(`packet #${r.h2!.rst!.packet}`);
    }
  });
});
