/**
 * hol-stall (layer tcp) on HTTP/2: the loss sample against an independent computation from tshark,
 * and the clean samples (no finding).
 *
 * Expected values, from tshark alone (hol-reference.ts): the server's TCP segments and its HTTP/2
 * frames in stream order (stream id, length, so each frame's byte range is the running sum of
 * 9 + length).
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { analyzeFile } from '../../../../core/src/engine.js';
import { h2TcpHol, h2TcpHolStalls } from '../../../../core/src/detect/h2-tcp-hol.js';
import type { DirectionHol } from '../../../../core/src/http2/tcp-hol.js';
import { hasTshark, SAMPLES } from '../../../helpers/env.js';
import { compareWithReference, expectedStalls, segmentsFrom, tshark, type Expected } from './hol-reference.js';

const LOSS = join(SAMPLES, 'h2-loss-hol.pcap');
const PORT = 8080;

const H2 = ['-d', `tcp.port==${PORT},http2`];

function expectedFromTshark(file: string): { expected: Expected[]; retransmissions: number } {
  const segs = segmentsFrom(file, PORT, H2);
  // HTTP/2 frames in stream order → byte ranges of streams.
  const ranges: { start: number; end: number; stream: number }[] = [];
  let off = 0;
  for (const l of tshark(file, ['-Y', `http2 && tcp.srcport==${PORT}`, '-T', 'fields', '-E', 'separator=;', '-e', 'http2.streamid', '-e', 'http2.length'], H2)) {
    const [ids, lens] = l.split(';').map((x) => x.split(',').map(Number));
    ids.forEach((id, i) => {
      ranges.push({ start: off, end: off + 9 + lens[i], stream: id });
      off += 9 + lens[i];
    });
  }
  return { expected: expectedStalls(segs, ranges, off), retransmissions: segs.filter((s) => s.retrans).length };
}

describe('hol-stall (tcp) on HTTP/2', () => {
  describe.skipIf(!hasTshark())('h2-loss-hol.pcap against tshark', () => {
    it('stall per stream and retransmission matches tshark\'s retransmission time minus the held segments\' arrival, within 1 ms', async () => {
      const { expected, retransmissions } = expectedFromTshark(LOSS);
      expect(retransmissions).toBe(38); // server→client; the 39th is a client retransmission
      const report = await analyzeFile(LOSS);
      const hol = report.connections[0].h2!.tcpHol.server as DirectionHol;
      expect(hol.approximate).toBe(false);
      const { compared, maxDiff, maxWaitDiff, heldByOthers } = compareWithReference(hol, expected);
      console.log(`h2-loss-hol: ${compared} (release, stream) pairs compared, ${expected.filter((e) => !e.own).length} held by other streams; max |Δ| stall ${maxDiff.toFixed(6)} ms, wait ${maxWaitDiff.toFixed(6)} ms`);
      // All 8 request streams were held by another stream's loss at some point.
      expect([...heldByOthers].filter((id) => id !== 0).sort((a, b) => a - b)).toEqual([13, 15, 17, 19, 21, 23, 25, 27]);
    });
  });

  it('h2-loss-hol.pcap: one finding, with per-stream delays and the retransmissions as evidence', async () => {
    const report = await analyzeFile(LOSS);
    const findings = h2TcpHol.detect(report, {});
    expect(findings).toHaveLength(1);
    const f = findings[0];
    expect(f).toMatchObject({ kind: 'hol-stall', rule: 'lost-segment', layer: 'tcp', severity: 'warning', connectionIds: [0] });
    expect(f.requestIds).toHaveLength(8);
    const [h] = h2TcpHolStalls(report);
    expect(f.costMs).toBeCloseTo(h.totalMs, 6);
    expect(h.totalMs).toBeGreaterThan(h.wallMs); // streams stalled at the same time
    expect(h.wallMs).toBeLessThanOrEqual(report.connections[0].durationMs);
    // Per stream: its stall is no longer than the time it was held in TCP, and a stream held only
    // behind its own losses is not counted.
    for (const s of h.streams) expect(s.stalledMs).toBeGreaterThan(0);
    expect(f.evidence.some((e) => e.what.includes('/big/b'))).toBe(true);
    expect(f.evidence.filter((e) => e.packet !== null && /arrived late \(retransmitted, or reordered in flight\) and released \d+ held bytes/.test(e.what)).length).toBeGreaterThan(10);
    expect(f.advice).toMatch(/HTTP\/3/);
  });

  it('raises the bar with the h2TcpHolMs threshold', async () => {
    const report = await analyzeFile(LOSS);
    const [h] = h2TcpHolStalls(report);
    expect(h2TcpHol.detect(report, { thresholds: { h2TcpHolMs: h.totalMs + 1 } })).toEqual([]);
    expect(h2TcpHol.detect(report, { thresholds: { h2TcpHolMs: h.totalMs - 1 } })).toHaveLength(1);
  });

  for (const name of ['h2-clean.pcap', 'h2-flow-control.pcap', 'h2-two-connections.pcap', 'h2load.pcap', 'h2c-prior-knowledge.pcap', 'h2-push.pcap', 'h2c-upgrade.pcap']) {
    it(`${name}: no TCP head-of-line stall`, async () => {
      const report = await analyzeFile(join(SAMPLES, name));
      expect(h2TcpHol.detect(report, {})).toEqual([]);
      expect(h2TcpHol.detect(report, { thresholds: { h2TcpHolMs: 0, h2TcpHolStreamFloorMs: 0 } })).toEqual([]);
    });
  }
});
