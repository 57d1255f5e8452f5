/**
 * hol-stall (layer tcp) on HTTP/2: the loss sample against an independent computation from tshark,
 * and the clean samples (no finding).
 *
 * Expected values, from tshark alone: the server's TCP segments (time, relative seq, length,
 * tcp.analysis.retransmission) and its HTTP/2 frames in stream order (stream id, length, so each
 * frame's byte range is the running sum of 9 + length). A segment is *held* when some segment
 * before it in sequence order was first seen later than it; it is released by the latest of those,
 * which must be a retransmission. Per release and stream S with held bytes, S's expected stall is
 * (retransmission time − arrival of the first held segment carrying S's bytes), unless the
 * retransmitted (late) segments carried S's bytes too (its own loss: expected 0).
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { analyzeFile } from '../../../../core/src/engine.js';
import { h2TcpHol, h2TcpHolStalls } from '../../../../core/src/detect/h2-tcp-hol.js';
import type { DirectionHol } from '../../../../core/src/http2/tcp-hol.js';
import { hasTshark, SAMPLES } from '../../../helpers/env.js';

const LOSS = join(SAMPLES, 'h2-loss-hol.pcap');
const PORT = 8080;

function tshark(args: string[]): string[] {
  const out = execFileSync('tshark', ['-n', '-o', 'tcp.reassemble_out_of_order:TRUE', '-d', `tcp.port==${PORT},http2`, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return out.split('\n').filter(Boolean);
}

interface Seg { frame: number; time: number; start: number; end: number; retrans: boolean }
interface Expected { release: number; releaseFrame: number; stream: number; ms: number; waitMs: number; own: boolean; late: number[] }

function expectedFromTshark(file: string): { expected: Expected[]; retransmissions: number } {
  const segs: Seg[] = tshark(['-r', file, '-Y', `tcp.srcport==${PORT} && tcp.len>0`, '-T', 'fields', '-E', 'separator=;', '-e', 'frame.number', '-e', 'frame.time_relative', '-e', 'tcp.seq', '-e', 'tcp.len', '-e', 'tcp.analysis.retransmission']).map((l) => {
    const [f, t, seq, len, re] = l.split(';');
    return { frame: Number(f), time: Number(t) * 1000, start: Number(seq) - 1, end: Number(seq) - 1 + Number(len), retrans: re !== '' };
  });
  // HTTP/2 frames in stream order → byte ranges of streams.
  const ranges: { start: number; end: number; stream: number }[] = [];
  let off = 0;
  for (const l of tshark(['-r', file, '-Y', `http2 && tcp.srcport==${PORT}`, '-T', 'fields', '-E', 'separator=;', '-e', 'http2.streamid', '-e', 'http2.length'])) {
    const [ids, lens] = l.split(';').map((x) => x.split(',').map(Number));
    ids.forEach((id, i) => {
      ranges.push({ start: off, end: off + 9 + lens[i], stream: id });
      off += 9 + lens[i];
    });
  }
  const streamsOf = (s: Seg) => new Set(ranges.filter((r) => r.start < s.end && r.end > s.start).map((r) => r.stream));
  // First arrival of each byte range (retransmissions of bytes already seen are duplicates).
  const first = new Map<number, Seg>();
  for (const s of segs) if (!first.has(s.start)) first.set(s.start, s);
  const ordered = [...first.values()].sort((a, b) => a.start - b.start);
  let covered = 0;
  let release = -Infinity;
  let releaseSeg: Seg | null = null;
  const groups = new Map<number, { releaseSeg: Seg; held: Seg[]; late: Seg[] }>();
  let lastLate: Seg[] = [];
  for (const s of ordered) {
    if (s.start !== covered) throw new Error(`capture gap or partial overlap at offset ${covered}`);
    covered = s.end;
    if (s.time > release) {
      release = s.time;
      releaseSeg = s;
    }
    if (s.time < release) {
      let g = groups.get(release);
      if (!g) {
        // The late segments: those right before this held run that arrived after it.
        g = { releaseSeg: releaseSeg!, held: [], late: lastLate.filter((x) => x.time > s.time) };
        groups.set(release, g);
      }
      g.held.push(s);
      lastLate = [];
    } else lastLate.push(s);
  }
  expect(covered).toBe(off);
  const expected: Expected[] = [];
  for (const [rel, g] of groups) {
    expect(g.releaseSeg.retrans).toBe(true); // every release is a retransmission frame
    const own = new Set(g.late.flatMap((s) => [...streamsOf(s)]));
    const firstArrival = new Map<number, number>();
    for (const s of g.held) for (const id of streamsOf(s)) if (!firstArrival.has(id)) firstArrival.set(id, s.time);
    const late = [...own].sort((a, b) => a - b);
    for (const [id, t] of firstArrival) expected.push({ release: rel, releaseFrame: g.releaseSeg.frame, stream: id, ms: own.has(id) ? 0 : rel - t, waitMs: rel - t, own: own.has(id), late });
  }
  return { expected, retransmissions: segs.filter((s) => s.retrans).length };
}

describe('hol-stall (tcp) on HTTP/2', () => {
  describe.skipIf(!hasTshark())('h2-loss-hol.pcap against tshark', () => {
    it('stall per stream and retransmission matches tshark\'s retransmission time minus the held segments\' arrival, within 1 ms', async () => {
      const { expected, retransmissions } = expectedFromTshark(LOSS);
      expect(retransmissions).toBe(38); // server→client; the 39th is a client retransmission
      const report = await analyzeFile(LOSS);
      const hol = report.connections[0].h2!.tcpHol.server as DirectionHol;
      expect(hol.approximate).toBe(false);
      // One episode per hole: 38 releases.
      expect(hol.episodes.length).toBe(new Set(expected.map((e) => e.release)).size);
      let compared = 0;
      let maxDiff = 0;
      let maxWaitDiff = 0;
      const heldByOthers = new Set<number>();
      for (const e of expected) {
        const ep = hol.episodes.find((x) => Math.abs(x.releaseTime - e.release) < 1e-6);
        expect(ep, `episode released at ${e.release} ms`).toBeDefined();
        expect(ep!.releasePacket).toBe(e.releaseFrame);
        const share = ep!.streams.find((s) => s.streamId === e.stream);
        expect(share, `stream ${e.stream} at ${e.release} ms`).toBeDefined();
        // Total wait in TCP (own loss or not), and the streams of the late bytes.
        maxWaitDiff = Math.max(maxWaitDiff, Math.abs(share!.waitMs - e.waitMs));
        expect([...new Set(ep!.blockers.map((b) => b.streamId))].sort((a, b) => a - b)).toEqual(e.late);
        if (e.own) expect(share!.holMs).toBe(0);
        else {
          maxDiff = Math.max(maxDiff, Math.abs(share!.holMs - e.ms));
          if (e.ms > 0) heldByOthers.add(e.stream);
        }
        compared++;
      }
      expect(maxDiff).toBeLessThanOrEqual(1);
      expect(maxWaitDiff).toBeLessThanOrEqual(1);
      console.log(`h2-loss-hol: ${compared} (release, stream) pairs compared, ${expected.filter((e) => !e.own).length} held by other streams; max |Δ| stall ${maxDiff.toFixed(6)} ms, wait ${maxWaitDiff.toFixed(6)} ms`);
      // Our episodes name no stream tshark does not.
      for (const ep of hol.episodes) for (const s of ep.streams) expect(expected.some((e) => Math.abs(e.release - ep.releaseTime) < 1e-6 && e.stream === s.streamId)).toBe(true);
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
