/**
 * The TCP head-of-line reference the HTTP/2 hol tests compare core's tracker (http2/tcp-hol.ts)
 * with, computed from tshark's output alone: the sender's TCP segments (time, relative sequence
 * numbers, length, tcp.analysis.retransmission) and which HTTP/2 stream each TCP octet belongs to.
 *
 * A segment is *held* when some segment before it in sequence order was first seen later than it;
 * it is released by the latest of those, which must be a retransmission. Per release and stream S
 * with held bytes, S's expected stall is (release time − arrival of the first held segment carrying
 * S's bytes), unless the late segments right before the held run carried S's bytes too (its own
 * loss: expected 0).
 */
import { execFileSync } from 'node:child_process';
import { expect } from 'vitest';
import type { DirectionHol } from '../../../../core/src/http2/tcp-hol.js';

export function tshark(file: string, args: string[], extra: string[] = []): string[] {
  const out = execFileSync('tshark', ['-n', '-r', file, '-o', 'tcp.reassemble_out_of_order:TRUE', ...extra, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return out.split('\n').filter(Boolean);
}

export interface Seg { frame: number; time: number; start: number; end: number; retrans: boolean }
export interface Expected { release: number; releaseFrame: number; stream: number; ms: number; waitMs: number; own: boolean; late: number[] }

/** The data segments sent from `port`, in capture order. */
export function segmentsFrom(file: string, port: number, extra: string[] = []): Seg[] {
  return tshark(file, ['-Y', `tcp.srcport==${port} && tcp.len>0`, '-T', 'fields', '-E', 'separator=;', '-e', 'frame.number', '-e', 'frame.time_relative', '-e', 'tcp.seq', '-e', 'tcp.len', '-e', 'tcp.analysis.retransmission'], extra).map((l) => {
    const [f, t, seq, len, re] = l.split(';');
    return { frame: Number(f), time: Number(t) * 1000, start: Number(seq) - 1, end: Number(seq) - 1 + Number(len), retrans: re !== '' };
  });
}

/**
 * Expected stalls from the segments and `ranges`: the stream of every octet of the direction,
 * as consecutive [start, end) ranges in sequence order covering `total` octets.
 */
export function expectedStalls(segs: Seg[], ranges: { start: number; end: number; stream: number }[], total: number): Expected[] {
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
  expect(covered).toBe(total);
  const expected: Expected[] = [];
  for (const [rel, g] of groups) {
    expect(g.releaseSeg.retrans).toBe(true); // every release is a retransmission frame
    const own = new Set(g.late.flatMap((s) => [...streamsOf(s)]));
    const firstArrival = new Map<number, number>();
    for (const s of g.held) for (const id of streamsOf(s)) if (!firstArrival.has(id)) firstArrival.set(id, s.time);
    const late = [...own].sort((a, b) => a - b);
    for (const [id, t] of firstArrival) expected.push({ release: rel, releaseFrame: g.releaseSeg.frame, stream: id, ms: own.has(id) ? 0 : rel - t, waitMs: rel - t, own: own.has(id), late });
  }
  return expected;
}

/**
 * Core's episodes (one direction) against the reference: one episode per release, at the same
 * packet, naming the same late streams; per (release, stream) the same total wait and, where the
 * stream did not wait for its own bytes, the same stall, within 1 ms; and no stream the reference
 * does not name.
 */
export function compareWithReference(hol: DirectionHol, expected: Expected[]): { compared: number; maxDiff: number; maxWaitDiff: number; heldByOthers: Set<number> } {
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
    expect([...new Set(ep!.blockers.map((b) => b.streamId))].sort((a, b) => a - b), `blockers of the episode released at ${e.release} ms`).toEqual(e.late);
    if (e.own) expect(share!.holMs).toBe(0);
    else {
      maxDiff = Math.max(maxDiff, Math.abs(share!.holMs - e.ms));
      if (e.ms > 0) heldByOthers.add(e.stream);
    }
    compared++;
  }
  expect(maxDiff).toBeLessThanOrEqual(1);
  expect(maxWaitDiff).toBeLessThanOrEqual(1);
  // Our episodes name no stream the reference does not.
  for (const ep of hol.episodes) for (const s of ep.streams) expect(expected.some((e) => Math.abs(e.release - ep.releaseTime) < 1e-6 && e.stream === s.streamId)).toBe(true);
  return { compared, maxDiff, maxWaitDiff, heldByOthers };
}
