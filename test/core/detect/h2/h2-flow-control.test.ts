/**
 * hol-stall (layer flow-control) on HTTP/2: the 1023-byte-window sample is flow-control bound;
 * the clean samples are not; stalls during TCP loss recovery are left to the tcp layer.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { analyzeFile } from '../../../../core/src/engine.js';
import { h2FlowControl, h2FlowStalls } from '../../../../core/src/detect/h2-flow-control.js';
import type { Report } from '../../../../core/src/model/types.js';
import { SAMPLES } from '../../../helpers/env.js';

const load = (name: string): Promise<Report> => analyzeFile(join(SAMPLES, name));

describe('hol-stall (flow-control) on HTTP/2', () => {
  it('h2-flow-control.pcap: the server waited for WINDOW_UPDATE ~256 times; one finding with the window and the stalls as evidence', async () => {
    const report = await load('h2-flow-control.pcap');
    const [s, ...more] = h2FlowStalls(report);
    expect(more).toEqual([]);
    expect(s.side).toBe('server');
    // 256 DATA frames of 1023 bytes, each exhausting the stream window (and the connection window
    // at times): at least 255 stream stalls, every one followed by more DATA except the last.
    expect(s.stalls.filter((x) => x.streamId === 13).length).toBeGreaterThanOrEqual(255);
    expect(s.duringLoss).toEqual([]);
    expect(s.stalledMs).toBeGreaterThan(0.2 * s.transferMs);
    expect(s.stalledMs).toBeLessThanOrEqual(s.transferMs);
    expect(s.periods).toBeGreaterThanOrEqual(255); // ≈ one per 1023-byte DATA frame

    const f = h2FlowControl.detect(report, {});
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ kind: 'hol-stall', rule: 'window-exhausted', layer: 'flow-control', severity: 'warning', connectionIds: [0] });
    expect(f[0].requestIds).toEqual([report.requests[0].id]);
    expect(f[0].costMs).toBeCloseTo(s.stalledMs, 9);
    expect(f[0].summary).toMatch(/initial stream window is 1023 bytes/);
    expect(f[0].evidence[0]).toMatchObject({ what: expect.stringMatching(/INITIAL_WINDOW_SIZE = 1023/) });
    expect(f[0].evidence.some((e) => /sent 449 WINDOW_UPDATE/.test(e.what))).toBe(true);
    expect(f[0].evidence.filter((e) => /WINDOW_UPDATE reopens/.test(e.what) && e.packet !== null).length).toBeGreaterThan(5);
    expect(f[0].advice).toMatch(/SETTINGS_INITIAL_WINDOW_SIZE/);
  });

  it('the thresholds are named options: a stricter share or count removes the finding, a low absolute bar keeps it', async () => {
    const report = await load('h2-flow-control.pcap');
    expect(h2FlowControl.detect(report, { thresholds: { h2FlowStallFraction: 0.99 } })).toEqual([]);
    expect(h2FlowControl.detect(report, { thresholds: { h2FlowStallMinCount: 10_000 } })).toEqual([]);
    expect(h2FlowControl.detect(report, { thresholds: { h2FlowStallFraction: 1.1, h2FlowStallMs: 1 } })).toHaveLength(1);
  });

  it('h2-loss-hol.pcap: connection-window stalls happen only while TCP holds bytes behind a loss, so they are not a flow-control finding', async () => {
    const report = await load('h2-loss-hol.pcap');
    const [s] = h2FlowStalls(report);
    expect(s.duringLoss.length).toBeGreaterThan(0);
    expect(s.duringLoss.every((x) => x.streamId === 0)).toBe(true);
    expect(s.stalls).toEqual([]);
    expect(h2FlowControl.detect(report, {})).toEqual([]);
  });

  for (const name of ['h2-clean.pcap', 'h2-two-connections.pcap', 'h2load.pcap', 'h2c-prior-knowledge.pcap', 'h2-push.pcap', 'h2c-upgrade.pcap']) {
    it(`${name}: no flow-control stall`, async () => {
      const report = await load(name);
      expect(h2FlowStalls(report)).toEqual([]);
      expect(h2FlowControl.detect(report, { thresholds: { h2FlowStallMs: 0, h2FlowStallMinCount: 0, h2FlowStallFraction: 0 } })).toEqual([]);
    });
  }
});
