/**
 * Hostile TCP input against the connection table: SYN floods past the live-connection limit, and
 * out-of-order floods of tiny segments across many connections. Each case asserts a structural
 * bound (live connections, held segments, limit counters); time guards only catch hangs.
 */
import { describe, expect, it } from 'vitest';
import type { L4Packet } from '../../../core/src/capture/ip.js';
import { MAX_OOO_SEGMENTS_PER_DIRECTION } from '../../../core/src/tcp/reassembly.js';
import { MAX_OOO_SEGMENTS_TOTAL, TcpTable, TCP_ACK, TCP_SYN, type TcpConnection } from '../../../core/src/tcp/table.js';

const SERVER_V4 = 0x0a000002;

function packet(num: number, clientV4: number, clientPort: number, flags: number, seq: number, payload = new Uint8Array(0)): L4Packet {
  return {
    num,
    time: num,
    frameLen: 54 + payload.length,
    v6: false,
    src: `${clientV4 >>> 24}.${(clientV4 >> 16) & 255}.${(clientV4 >> 8) & 255}.${clientV4 & 255}`,
    dst: '10.0.0.2',
    srcV4: clientV4,
    dstV4: SERVER_V4,
    proto: 6,
    srcPort: clientPort,
    dstPort: 80,
    seq,
    ack: 0,
    flags,
    window: 65535,
    payload,
    missing: 0,
  };
}

function table(opts: { maxConnections?: number } = {}) {
  const counters: Record<string, number> = {};
  const done: TcpConnection[] = [];
  const t = new TcpTable(() => null, (c) => void done.push(c), { count: (n, k = 1) => void (counters[n] = (counters[n] ?? 0) + k) }, opts);
  return { t, counters, done };
}

describe('TcpTable on hostile captures', () => {
  it('a SYN flood past the connection limit evicts its own idle half-open connections, not a busy one', () => {
    const limit = 20_000;
    const { t, counters, done } = table({ maxConnections: limit });
    const busyIp = 0x0a000001;
    const data = new Uint8Array(10);
    let num = 0;
    t.packet(packet(++num, busyIp, 40000, TCP_SYN, 1000));
    let busySeq = 1001;
    const flood = 200_000;
    const t0 = performance.now();
    for (let i = 0; i < flood; i++) {
      t.packet(packet(++num, 0x0b000000 + i, 1024 + (i % 60000), TCP_SYN, i));
      if (i % 1000 === 0) {
        t.packet(packet(++num, busyIp, 40000, TCP_ACK, busySeq, data));
        busySeq += data.length;
      }
    }
    const ms = performance.now() - t0;
    expect(t.size).toBe(limit);
    expect(counters['connectionsEvictedAtLimit']).toBe(flood + 1 - limit);
    expect(done).toHaveLength(flood + 1 - limit);
    // The busy connection (id 0, the oldest created) was never evicted: one connection, all its data.
    expect(done.some((c) => c.id === 0)).toBe(false);
    t.finish();
    const busy = done.find((c) => c.id === 0)!;
    expect(busy.c.stats.payloadBytes).toBe(busySeq - 1001);
    expect(busy.c.stats.lostBytes).toBe(0);
    expect(ms).toBeLessThan(10_000);
  });

  it('tiny out-of-order segments across many connections stop at MAX_OOO_SEGMENTS_TOTAL (counted)', () => {
    const { t, counters } = table();
    const perConnection = MAX_OOO_SEGMENTS_PER_DIRECTION - 96; // under the per-direction limit
    const connections = Math.ceil((MAX_OOO_SEGMENTS_TOTAL * 1.1) / perConnection);
    const one = new Uint8Array(1);
    let num = 0;
    let peak = 0;
    const t0 = performance.now();
    for (let c = 0; c < connections; c++) {
      const ip = 0x0b000000 + c;
      t.packet(packet(++num, ip, 2000, TCP_SYN, 0));
      // Byte 1 never arrives: every later byte, one per segment and a hole between each, is held.
      for (let i = 0; i < perConnection; i++) t.packet(packet(++num, ip, 2000, TCP_ACK, 3 + 2 * i, one));
      peak = Math.max(peak, t.budget.segments);
    }
    const ms = performance.now() - t0;
    expect(connections * perConnection).toBeGreaterThan(MAX_OOO_SEGMENTS_TOTAL);
    expect(peak).toBeLessThanOrEqual(MAX_OOO_SEGMENTS_TOTAL);
    expect(counters['oooTotalSegmentLimitFlushes']).toBeGreaterThan(0);
    expect(counters['oooSegmentLimitFlushes']).toBeUndefined();
    expect(ms).toBeLessThan(10_000);
    // Nothing is lost from the accounting when the capture ends.
    t.finish();
    expect(t.budget).toEqual({ held: 0, segments: 0 });
  });
});
