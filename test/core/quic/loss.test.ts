/**
 * core/src/quic/loss.ts: per-stream holes and their fills (RFC 9000 §2.2, §13.3), other streams
 * delivered meanwhile, duplicates, packet numbers missing and acknowledged — as scenario tables:
 * STREAM frames in (side, stream, offset, length, time, frame number, packet number) → the
 * episodes and counts expected. And the ACK ranges frames.ts now reports (RFC 9000 §19.3.1).
 */
import { describe, expect, it } from 'vitest';
import { MAX_LOSS_EPISODES, MAX_LOSS_STREAMS, MAX_PENDING_TOTAL, QuicLossTracker, type QuicLossFacts } from '../../../core/src/quic/loss.js';
import { parseFrames } from '../../../core/src/quic/frames.js';

/** [stream, offset, length, time, pn] frames from the server, one packet each (frame number = index + 1). */
type F = [number, number, number, number, number];

function run(frames: F[], acks: [number, number][] = []): QuicLossFacts | null {
  const t = new QuicLossTracker();
  frames.forEach(([id, off, len, time, pn], i) => {
    t.packet('server', pn);
    t.stream('server', id, off, len, time, i + 1, pn);
    t.packetDone('server', pn);
  });
  for (const [lo, hi] of acks) t.ackRange('client', lo, hi);
  return t.result();
}

describe('QuicLossTracker scenarios', () => {
  it('in-order data on two streams: nothing to report', () => {
    expect(run([[0, 0, 100, 1, 0], [4, 0, 100, 2, 1], [0, 100, 100, 3, 2], [4, 100, 100, 4, 3]])).toBeNull();
  });

  it('a lost packet: the stream waits for its own retransmission; the other stream is delivered meanwhile', () => {
    // pn 1 (stream 0, offset 100..200) lost; stream 0's later bytes wait; stream 4 flows; pn 5 retransmits.
    const r = run([[0, 0, 100, 0, 0], [0, 200, 100, 2, 2], [4, 0, 100, 3, 3], [4, 100, 50, 4, 4], [0, 100, 100, 10, 5]])!;
    expect(r.server.missing).toBe(1);
    expect(r.server.missingAcked).toBe(0);
    expect(r.server.episodes).toEqual([
      {
        streamId: 0,
        startTime: 2,
        startPacket: 2,
        endTime: 10,
        endPacket: 5,
        fillPn: 5,
        retransmitted: true,
        holeOffset: 100,
        holeBytes: 100,
        heldBytes: 100,
        others: [{ streamId: 4, bytes: 150, firstTime: 3, firstPacket: 3, avoidedMs: 7 }],
        othersDropped: 0,
      },
    ]);
  });

  it('reordering: the hole is filled by an older packet number (not a retransmission)', () => {
    const r = run([[0, 0, 100, 0, 0], [0, 200, 100, 1, 2], [0, 100, 100, 1.2, 1]])!;
    expect(r.server.missing).toBe(0);
    const [e] = r.server.episodes;
    expect([e.retransmitted, e.fillPn]).toEqual([false, 1]);
    expect(e.endTime - e.startTime).toBeCloseTo(0.2);
  });

  it('two holes on one stream before either is filled: one episode until the data is contiguous again', () => {
    const r = run([[0, 0, 10, 0, 0], [0, 20, 10, 1, 2], [0, 40, 10, 2, 4], [0, 10, 10, 5, 5], [0, 30, 10, 8, 6]])!;
    expect(r.server.episodes.map((e) => [e.startTime, e.endTime, e.holeOffset, e.holeBytes, e.heldBytes, e.fillPn, e.retransmitted])).toEqual([[1, 8, 10, 10, 20, 5, true]]);
    expect(r.server.missing).toBe(2);
  });

  it('data seen twice (capture before the loss point): duplicates, no episode', () => {
    const r = run([[0, 0, 100, 0, 0], [0, 100, 100, 1, 1], [0, 100, 100, 5, 3]], []);
    // Nothing held and pn 2 missing: reported for the missing number.
    expect(r!.server.episodes).toEqual([]);
    expect(r!.server.duplicateBytes).toBe(100);
    expect(r!.server.missing).toBe(1);
  });

  it('a missing packet number the peer acknowledged: the capture missed it', () => {
    const r = run([[0, 0, 100, 0, 0], [0, 100, 100, 1, 1], [0, 200, 100, 2, 3]], [[0, 3]])!;
    expect([r.server.missing, r.server.missingAcked]).toEqual([1, 1]);
  });

  it('a hole never filled in the capture: an episode with no fill', () => {
    const r = run([[0, 0, 100, 0, 0], [0, 200, 100, 2, 2]])!;
    expect(r.server.episodes.map((e) => [e.fillPn, e.retransmitted, e.endTime - e.startTime])).toEqual([[-1, false, 0]]);
  });

  it('episodes beyond MAX_LOSS_EPISODES are counted, not kept', () => {
    const frames: F[] = [];
    let pn = 0;
    for (let i = 0; i < MAX_LOSS_EPISODES + 5; i++) {
      const base = i * 300;
      frames.push([0, base, 100, pn, pn++]);
      pn++; // lost
      frames.push([0, base + 200, 100, pn, pn++]);
      frames.push([0, base + 100, 100, pn, pn++]);
    }
    const r = run(frames)!;
    expect(r.server.episodes.length).toBe(MAX_LOSS_EPISODES);
    expect(r.server.episodesDropped).toBe(5);
  });
});

describe('QuicLossTracker limits (hostile input)', () => {
  it(`streams beyond MAX_LOSS_STREAMS are not followed; held ranges stop at MAX_PENDING_TOTAL; both say approximate`, () => {
    const t = new QuicLossTracker();
    t.packet('server', 0);
    // Every stream: one 1-byte frame after a hole, then 30 more, each after its own hole.
    for (let id = 0; id < MAX_LOSS_STREAMS + 100; id++) for (let k = 0; k < 31; k++) t.stream('server', id * 4, 10 + 2 * k, 1, 1, 1, 0);
    t.packetDone('server', 0);
    const r = t.result()!;
    expect(r.server.approximate).toBe(true);
    expect(r.server.episodes.length + r.server.episodesDropped).toBe(MAX_LOSS_STREAMS);
    const internal = (t as unknown as { sides: { server: { streams: Map<number, { pending: unknown[] }>; pending: number } } }).sides.server;
    expect(internal.streams.size).toBe(MAX_LOSS_STREAMS);
    expect(internal.pending).toBeLessThanOrEqual(MAX_PENDING_TOTAL + MAX_LOSS_STREAMS);
  });
});

describe('ACK ranges (RFC 9000 §19.3.1)', () => {
  it('Largest 100, First ACK Range 2, then Gap 1 / Length 3 and Gap 0 / Length 0: [98,100] [92,95] [90,90]', () => {
    // 0x02 ACK, Largest Acknowledged 100 (2-octet varint 0x4064), ACK Delay 0, Range Count 2, First Range 2, (Gap 1, Len 3), (Gap 0, Len 0)
    const payload = Uint8Array.from([0x02, 0x40, 0x64, 0x00, 0x02, 0x02, 0x01, 0x03, 0x00, 0x00]);
    const got: [number, number][] = [];
    let acked: number[] = [];
    const r = parseFrames(payload, { ackRange: (lo, hi) => got.push([lo, hi]), ack: (largest, n) => (acked = [largest, n]) });
    expect(r.ok).toBe(true);
    expect(got).toEqual([[98, 100], [92, 95], [90, 90]]);
    expect(acked).toEqual([100, 3]);
  });
});
