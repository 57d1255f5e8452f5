/**
 * TcpHolTracker scenarios: chunks (offset, length, arrival time, packet) in stream order, then the
 * frames that own those octets → episodes and per-stream waits. Times in ms.
 */
import { describe, expect, it } from 'vitest';
import { MAX_PENDING_PIECES, TcpHolTracker } from '../../../core/src/http2/tcp-hol.js';

type C = [offset: number, len: number, time: number, packet: number];
type F = [streamId: number, offset: number, payloadLength: number];

function run(chunks: C[], frames: F[]) {
  const t = new TcpHolTracker('server');
  for (const [offset, len, time, packet] of chunks) t.chunk({ data: new Uint8Array(len), offset, skipped: 0, time, deliveredTime: time, packet });
  for (const [streamId, offset, length] of frames) t.frame({ streamId, offset, length });
  return t;
}

describe('TcpHolTracker', () => {
  it('reports nothing for in-order arrival', () => {
    const t = run([[0, 100, 1, 1], [100, 100, 2, 2]], [[1, 0, 91], [3, 100, 91]]);
    expect(t.facts().episodes).toEqual([]);
    expect(t.take(1)).toBeUndefined();
  });

  it('charges a stream held behind another stream\'s retransmitted bytes, from its first held byte to the retransmission', () => {
    // stream 1's frame [0,100) lost first time, retransmitted at t=10 (packet 5);
    // stream 3's frame [100,200) arrived at t=2 and t=3 and waited until t=10.
    const t = run(
      [[0, 100, 10, 5], [100, 50, 2, 2], [150, 50, 3, 3]],
      [[1, 0, 91], [3, 100, 91]],
    );
    const f = t.facts();
    expect(f.episodes).toHaveLength(1);
    const ep = f.episodes[0];
    expect(ep).toMatchObject({ releaseTime: 10, releasePacket: 5, firstHeldTime: 2, firstHeldPacket: 2, heldBytes: 100 });
    expect(ep.blockers).toEqual([{ streamId: 1, bytes: 100, packet: 5, time: 10 }]);
    expect(ep.streams).toEqual([{ streamId: 3, bytes: 100, firstTime: 2, firstPacket: 2, lastPacket: 3, holMs: 8, waitMs: 8 }]);
    expect(t.take(3)).toEqual({ stalledMs: 8, stalls: 1, ownLossStalls: 0, heldBytes: 100 });
    expect(f.stalledMs).toBe(8);
  });

  it('does not charge a stream for waiting on its own lost bytes', () => {
    // One DATA frame of stream 1 spans all three chunks: its middle chunk was retransmitted.
    const t = run([[0, 50, 1, 1], [50, 50, 9, 4], [100, 50, 2, 2]], [[1, 0, 141]]);
    const ep = t.facts().episodes[0];
    expect(ep.streams).toEqual([{ streamId: 1, bytes: 50, firstTime: 2, firstPacket: 2, lastPacket: 2, holMs: 0, waitMs: 7 }]);
    expect(t.take(1)).toEqual({ stalledMs: 0, stalls: 0, ownLossStalls: 1, heldBytes: 50 });
  });

  it('splits one held chunk between frames of two streams (own loss for one, HOL for the other)', () => {
    // chunk [100,200) arrived at t=2, held behind [0,100) retransmitted at t=6; frames: stream 1 = [0,150), stream 3 = [150,250).
    const t = run([[0, 100, 6, 3], [100, 100, 2, 2], [200, 50, 7, 4]], [[1, 0, 141], [3, 150, 91]]);
    const ep = t.facts().episodes[0];
    expect(ep.streams.map((s) => [s.streamId, s.bytes, s.holMs, s.waitMs])).toEqual([[1, 50, 0, 4], [3, 50, 4, 4]]);
  });

  it('keeps a stream\'s own later wait out of its HOL share when two holes are outstanding', () => {
    // [0,10) stream 1 late (t=20); [10,20) stream 3 at t=1; [20,30) stream 3 late (t=15); [30,40) stream 3 at t=2.
    const t = run([[0, 10, 20, 9], [10, 10, 1, 1], [20, 10, 15, 8], [30, 10, 2, 2]], [[1, 0, 1], [3, 10, 21]]);
    const s3 = t.facts().episodes[0].streams.find((s) => s.streamId === 3)!;
    // byte at t=1 waits 19 for stream 1; bytes at t=15 and t=2 wait for ready=20, own=15 → 5.
    expect(s3.waitMs).toBe(19);
    expect(s3.holMs).toBe(19);
    expect(t.take(3)!.stalledMs).toBe(19); // union of [1,20] and [15,20]
  });

  it('attributes octets outside any frame (the preface) to stream 0', () => {
    const t = run([[0, 24, 5, 2], [24, 20, 1, 1]], [[1, 24, 11]]);
    const ep = t.facts().episodes[0];
    expect(ep.blockers).toEqual([{ streamId: 0, bytes: 24, packet: 2, time: 5 }]);
    expect(ep.streams[0]).toMatchObject({ streamId: 1, holMs: 4 });
  });

  it('merges a stream\'s overlapping stall intervals across episodes and sums distinct ones', () => {
    // Episode A: stream 3 held [2 → 10]; episode B: stream 3 held [12 → 20].
    const t = run(
      [[0, 10, 10, 3], [10, 10, 2, 1], [20, 10, 20, 6], [30, 10, 12, 4]],
      [[1, 0, 1], [3, 10, 1], [1, 20, 1], [3, 30, 1]],
    );
    const f = t.facts();
    expect(f.episodes).toHaveLength(2);
    expect(t.take(3)).toMatchObject({ stalledMs: 16, stalls: 2 });
    expect(f.streamStalledMs).toBe(16);
    expect(f.stalledMs).toBe(16);
  });

  it('does not count a capture gap (bytes the capture never saw, skipped by the reassembler) as a stall', () => {
    const t = new TcpHolTracker('server');
    t.chunk({ data: new Uint8Array(10), offset: 0, skipped: 0, time: 1, deliveredTime: 1, packet: 1 });
    // [10,20) never captured; the receiver ACKed past it at t=9, so [20,30) is delivered then.
    t.chunk({ data: new Uint8Array(10), offset: 20, skipped: 10, time: 2, deliveredTime: 9, packet: 2 });
    t.frame({ streamId: 1, offset: 0, length: 1 });
    t.frame({ streamId: 3, offset: 10, length: 11 });
    expect(t.facts().episodes).toEqual([]);
  });

  it('marks the attribution approximate after a lost frame boundary, and when a frame outgrows the pending limit', () => {
    const a = new TcpHolTracker('client');
    a.desync();
    expect(a.facts().approximate).toBe(true);
    const b = new TcpHolTracker('client');
    for (let i = 0; i <= MAX_PENDING_PIECES; i++) b.chunk({ data: new Uint8Array(1), offset: i, skipped: 0, time: i, deliveredTime: i, packet: i + 1 });
    const f = b.facts();
    expect(f.approximate).toBe(true);
    expect(f.dropped.pieces).toBe(1);
  });
});
