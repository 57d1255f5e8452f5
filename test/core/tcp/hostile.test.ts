/**
 * Hostile TCP input against the connection table: SYN floods past the live-connection limit,
 * out-of-order floods of tiny segments across many connections, and storms of conflicting
 * retransmissions. Each case asserts a structural bound (live connections, held segments, limit
 * counters, anomalies) and, for the floods, the heap; time guards only catch hangs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { L4Packet } from '../../../core/src/capture/ip.js';
import { analyzeStream } from '../../../core/src/engine.js';
import type { Connection } from '../../../core/src/model/types.js';
import { PcapWriter } from '../../e2e/pcap-writer.js';
import { MAX_OUTSTANDING_REQUESTS } from '../../../core/src/http1/session.js';
import { MAX_OOO_SEGMENTS_PER_DIRECTION } from '../../../core/src/tcp/reassembly.js';
import {
  MAX_HALF_OPEN_CONNECTIONS,
  MAX_OOO_SEGMENTS_TOTAL,
  MAX_OVERLAP_CONFLICTS_LISTED,
  TcpTable,
  TCP_ACK,
  TCP_FIN,
  TCP_RST,
  TCP_SYN,
  type TcpConnection,
} from '../../../core/src/tcp/table.js';
import { liveHeap, MB } from '../../helpers/heap.js';

const SERVER_V4 = 0x0a000002;

function packet(num: number, clientV4: number, clientPort: number, flags: number, seq: number, payload = new Uint8Array(0), fromServer = false, ack = 0): L4Packet {
  const client = `${clientV4 >>> 24}.${(clientV4 >> 16) & 255}.${(clientV4 >> 8) & 255}.${clientV4 & 255}`;
  return {
    num,
    time: num,
    frameLen: 54 + payload.length,
    v6: false,
    src: fromServer ? '10.0.0.2' : client,
    dst: fromServer ? client : '10.0.0.2',
    srcV4: fromServer ? SERVER_V4 : clientV4,
    dstV4: fromServer ? clientV4 : SERVER_V4,
    proto: 6,
    srcPort: fromServer ? 80 : clientPort,
    dstPort: fromServer ? clientPort : 80,
    seq,
    ack,
    flags,
    window: 65535,
    payload,
    missing: 0,
  };
}

function table(opts: { maxConnections?: number; maxHalfOpen?: number } = {}) {
  const counters: Record<string, number> = {};
  const done: TcpConnection[] = [];
  const t = new TcpTable(() => null, (c) => void done.push(c), { count: (n, k = 1) => void (counters[n] = (counters[n] ?? 0) + k) }, opts);
  return { t, counters, done };
}

describe('TcpTable on hostile captures', () => {
  it('a SYN flood past the connection limit evicts its own idle half-open connections, not a busy one', () => {
    const limit = 20_000;
    // The table's limit, not the (lower by default) half-open one, is the subject here.
    const { t, counters, done } = table({ maxConnections: limit, maxHalfOpen: limit });
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

  it(`a flood of 300,000 SYNs stays at MAX_HALF_OPEN_CONNECTIONS (${MAX_HALF_OPEN_CONNECTIONS}): the oldest finished early, counted and flagged, live heap bounded`, () => {
    // 1M SYNs took 2.8 GB and 80 s (the table kept up to 1,000,000 live connections, ~1.5 KiB each).
    // A legitimate connection (handshake, request, FIN both ways) runs through the flood.
    const flood = 300_000;
    const counters: Record<string, number> = {};
    let finished = 0;
    let evictedFlagged = 0;
    let legit: TcpConnection | undefined;
    const t = new TcpTable(
      () => null,
      (c) => {
        finished++;
        if (c.anomalies.some((a) => a.code === 'tcp-connection-evicted')) evictedFlagged++;
        if (c.client.ip === '10.0.0.1') legit = c;
      },
      { count: (n, k = 1) => void (counters[n] = (counters[n] ?? 0) + k) },
    );
    const legitIp = 0x0a000001;
    const req = new Uint8Array(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    const heap0 = liveHeap();
    let peak = heap0;
    let num = 0;
    const t0 = performance.now();
    for (let i = 0; i < flood; i++) {
      t.packet(packet(++num, 0x0b000000 + i, 1024 + (i % 60000), TCP_SYN, i));
      if (i === 1000) {
        t.packet(packet(++num, legitIp, 40000, TCP_SYN, 1000));
        t.packet(packet(++num, legitIp, 40000, TCP_SYN | TCP_ACK, 5000, undefined, true, 1001));
        t.packet(packet(++num, legitIp, 40000, TCP_ACK, 1001, req, false, 5001));
      }
      if (i === flood - 1000) {
        t.packet(packet(++num, legitIp, 40000, TCP_FIN | TCP_ACK, 1001 + req.length, undefined, false, 5001));
        t.packet(packet(++num, legitIp, 40000, TCP_FIN | TCP_ACK, 5001, undefined, true, 1002 + req.length));
      }
      if (i % 50_000 === 49_999) peak = Math.max(peak, liveHeap());
    }
    const ms = performance.now() - t0;
    expect(t.size).toBe(MAX_HALF_OPEN_CONNECTIONS + 1); // and the legitimate one, closed, lingering
    const evicted = flood - MAX_HALF_OPEN_CONNECTIONS;
    expect(counters).toEqual({ halfOpenConnectionsEvicted: evicted });
    // Finished early as the flood goes (ndjson writes them out and frees them at once), each flagged.
    expect(finished).toBe(evicted);
    expect(evictedFlagged).toBe(evicted);
    expect(legit).toBeUndefined(); // it carried payload: never a half-open candidate
    // Live heap: MAX_HALF_OPEN_CONNECTIONS connections (~25 MB), where all 300,000 were kept (~420 MB).
    expect(peak - heap0).toBeLessThan(60 * MB);
    expect(ms).toBeLessThan(20_000);
    t.finish();
    expect(legit!.c.stats.payloadBytes).toBe(req.length);
    expect(legit!.close).toMatchObject({ by: 'client', how: 'fin' });
    expect(legit!.anomalies).toEqual([]);
  });

  it('an evicted connection says why; at the table limit closed connections go first, without a flag', () => {
    const { t, counters, done } = table({ maxConnections: 3 });
    let num = 0;
    // 1: RST-closed; 2: carried data; 3: SYN only. Then two more SYNs need room.
    t.packet(packet(++num, 0x0b000001, 1000, TCP_SYN, 1));
    t.packet(packet(++num, 0x0b000001, 1000, TCP_RST, 2));
    t.packet(packet(++num, 0x0b000002, 1000, TCP_ACK, 1, new Uint8Array([1, 2, 3])));
    t.packet(packet(++num, 0x0b000003, 1000, TCP_SYN, 1));
    t.packet(packet(++num, 0x0b000004, 1000, TCP_SYN, 1)); // evicts the closed one
    t.packet(packet(++num, 0x0b000005, 1000, TCP_SYN, 1)); // evicts the oldest half-open one (3)
    expect(done.map((c) => c.id)).toEqual([0, 2]);
    expect(done[0].anomalies).toEqual([]);
    expect(done[0].evicted).toBeNull();
    expect(done[1].evicted).toBe('the connection table was full (MAX_TRACKED_CONNECTIONS 3) and it had carried no payload');
    expect(done[1].anomalies).toEqual([
      {
        code: 'tcp-connection-evicted',
        packet: 4,
        time: 4,
        detail: 'no longer tracked after this packet: the connection table was full (MAX_TRACKED_CONNECTIONS 3) and it had carried no payload; later packets of this 4-tuple start a new connection',
      },
    ]);
    expect(counters).toEqual({ connectionsEvictedAtLimit: 2, halfOpenConnectionsEvicted: 1 });

    // Past the half-open limit the oldest half-open connection goes, even with room in the table;
    // a connection that starts with payload is never half-open and evicts nothing.
    const h = table({ maxHalfOpen: 2 });
    num = 0;
    h.t.packet(packet(++num, 0x0b000001, 1000, TCP_SYN, 1));
    h.t.packet(packet(++num, 0x0b000002, 1000, TCP_SYN, 1));
    h.t.packet(packet(++num, 0x0b000003, 1000, TCP_ACK, 1, new Uint8Array([1])));
    h.t.packet(packet(++num, 0x0b000004, 1000, TCP_SYN, 1));
    expect(h.done.map((c) => [c.id, c.evicted])).toEqual([[0, '2 half-open connections were tracked (MAX_HALF_OPEN_CONNECTIONS) and it was the oldest']]);
    expect(h.counters).toEqual({ halfOpenConnectionsEvicted: 1 });
    expect(h.t.size).toBe(3);
  });

  it('200,000 conflicting retransmissions of a 1,460-octet segment: linear, one counter, anomalies capped', () => {
    const { t, counters, done } = table();
    const ip = 0x0b000001;
    const a = new Uint8Array(1460).fill(0x61);
    const b = new Uint8Array(1460).fill(0x62);
    let num = 0;
    t.packet(packet(++num, ip, 2000, TCP_SYN, 0));
    t.packet(packet(++num, ip, 2000, TCP_ACK, 1, a));
    const n = 200_000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) t.packet(packet(++num, ip, 2000, TCP_ACK, 1, b));
    const ms = performance.now() - t0;
    t.finish();
    const c = done[0];
    expect(counters.tcpOverlapConflicts).toBe(n);
    const listed = c.anomalies.filter((x) => x.code === 'tcp-overlap-conflict');
    expect(listed).toHaveLength(MAX_OVERLAP_CONFLICTS_LISTED + 1);
    expect(listed[0].detail).toBe("client stream bytes 0–1459: packet 3 carries 1460 of 1460 overlapping bytes different from packet 2 (first at byte 0); kept packet 2's copy (the earlier copy), dropped packet 3's");
    expect(c.c.stats.retransmissions).toBe(n);
    expect(t.retainBudget.bytes).toBe(0); // given back when the connection finished
    expect(ms).toBeLessThan(20_000);
  });

  it('300,000 connections that open and close (no limit hit): finished ones are freed, not kept by the eviction queues', () => {
    // The eviction queues' iterator, idle while the table churned, kept every connection that ever
    // passed through alive (~400 MB here; V8 keeps a Set's replaced tables alive for an iterator).
    const counters: Record<string, number> = {};
    let finished = 0;
    const t = new TcpTable(() => null, () => void finished++, { count: (n, k = 1) => void (counters[n] = (counters[n] ?? 0) + k) });
    const data = new Uint8Array(100);
    const heap0 = liveHeap();
    let num = 0;
    const at = (p: L4Packet): L4Packet => ({ ...p, time: num * 10 });
    for (let i = 0; i < 300_000; i++) {
      const ip = 0x0b000000 + i;
      t.packet(at(packet(++num, ip, 1024 + (i % 60000), TCP_SYN, i)));
      t.packet(at(packet(++num, ip, 1024 + (i % 60000), TCP_ACK, i + 1, data)));
      t.packet(at(packet(++num, ip, 1024 + (i % 60000), TCP_RST, i + 101)));
      if (i % 1000 === 0) t.flushClosed(num * 10);
    }
    const grown = liveHeap() - heap0;
    expect(t.size).toBeLessThan(10_000); // closed ones linger CLOSED_LINGER_MS of capture time
    expect(finished + t.size).toBe(300_000);
    expect(counters.connectionsEvictedAtLimit).toBeUndefined();
    expect(grown).toBeLessThan(40 * MB);
  });
});

describe('through the engine, from a capture file (the ndjson path: records handed out as they finish)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wirefall-tcp-hostile-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const SERVER: [number[], number] = [[10, 0, 0, 2], 80];
  const T0 = 1_700_000_000_000_000; // µs

  it('200,000 SYNs (14 MB): half-open connections are handed out while the flood goes on, counted, flagged; live heap flat', async () => {
    const path = join(dir, 'syn-flood.pcap');
    const w = new PcapWriter(path);
    const flood = 200_000;
    for (let i = 0; i < flood; i++) w.tcp(T0 + i, [[11, (i >> 16) & 255, (i >> 8) & 255, i & 255], 1024 + (i % 60000)], SERVER, i * 7919, 0, 0x02);
    w.close();
    let handedOut = 0;
    let flagged = 0;
    const atProgress: number[] = [];
    const heap0 = liveHeap();
    let peak = heap0;
    const res = await analyzeStream(
      path,
      {
        onConnection: (c: Connection) => {
          handedOut++;
          if (c.anomalies.some((a) => a.code === 'tcp-connection-evicted')) flagged++;
        },
      },
      {
        onProgress: () => {
          atProgress.push(handedOut);
          peak = Math.max(peak, liveHeap());
        },
      },
    );
    const evicted = flood - MAX_HALF_OPEN_CONNECTIONS;
    expect(res.capture.counters.halfOpenConnectionsEvicted).toBe(evicted);
    expect(res.capture.counters.connectionsEvictedAtLimit).toBeUndefined();
    expect(handedOut).toBe(flood);
    expect(flagged).toBe(evicted);
    // Handed out during the run (ndjson writes and frees them), not all at the end.
    expect(atProgress.some((n) => n > flood / 4)).toBe(true);
    expect(peak - heap0).toBeLessThan(60 * MB);
  });

  it('HTTP/1 pipelining and an HPACK bomb: the sessions\' limits reach capture.counters and the connection records', async () => {
    const path = join(dir, 'sessions.pcap');
    const w = new PcapWriter(path);
    let t = T0;
    // Connection 1: 30,000 pipelined requests, never answered.
    const c1: [number[], number] = [[10, 0, 0, 1], 40001];
    w.tcp(t++, c1, SERVER, 1000, 0, 0x02);
    w.tcp(t++, SERVER, c1, 5000, 1001, 0x12);
    w.tcp(t++, c1, SERVER, 1001, 5001, 0x10);
    const req = 'GET / HTTP/1.1\r\n\r\n';
    let seq = 1001;
    const n = 30_000;
    for (let i = 0; i < n; i += 70) {
      const p = Buffer.from(req.repeat(Math.min(70, n - i)));
      w.tcp(t++, c1, SERVER, seq, 5001, 0x18, p);
      seq += p.length;
    }
    // Connection 2: h2c prior knowledge; the client allows a 4 GiB table, the server's response
    // block raises it and inserts 200,000 two-octet entries (8.4 MB of table at 42 octets each).
    const c2: [number[], number] = [[10, 0, 0, 1], 40002];
    const S2: [number[], number] = [[10, 0, 0, 2], 8080];
    w.tcp(t++, c2, S2, 1000, 0, 0x02);
    w.tcp(t++, S2, c2, 5000, 1001, 0x12);
    w.tcp(t++, c2, S2, 1001, 5001, 0x10);
    const frame = (type: number, flags: number, sid: number, payload: Buffer): Buffer => {
      const h = Buffer.alloc(9);
      h.writeUIntBE(payload.length, 0, 3);
      h[3] = type;
      h[4] = flags;
      h.writeUInt32BE(sid, 5);
      return Buffer.concat([h, payload]);
    };
    const settingsTable = Buffer.from([0, 1, 0xff, 0xff, 0xff, 0xff]);
    let cs = 1001;
    let ss = 5001;
    const cSend = (b: Buffer) => {
      for (let o = 0; o < b.length; o += 1400) {
        const part = b.subarray(o, o + 1400);
        w.tcp(t++, c2, S2, cs, ss, 0x18, part);
        cs += part.length;
      }
    };
    const sSend = (b: Buffer) => {
      for (let o = 0; o < b.length; o += 1400) {
        const part = b.subarray(o, o + 1400);
        w.tcp(t++, S2, c2, ss, cs, 0x18, part);
        ss += part.length;
      }
    };
    cSend(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), frame(4, 0, 0, settingsTable)]));
    sSend(Buffer.concat([frame(4, 0, 0, Buffer.alloc(0)), frame(4, 1, 0, Buffer.alloc(0))]));
    cSend(frame(1, 0x5, 1, Buffer.from([0x82, 0x86, 0x84])));
    const entries = Buffer.alloc(200_000 * 2);
    for (let i = 0; i < 200_000; i++) entries[2 * i] = 0x41;
    const block = Buffer.concat([Buffer.from([0x3f, 0xe0, 0xff, 0xff, 0xff, 0x0f, 0x88]), entries]);
    const frames: Buffer[] = [];
    for (let o = 0; o < block.length; o += 16_384) {
      const last = o + 16_384 >= block.length;
      frames.push(frame(o === 0 ? 1 : 9, (o === 0 ? 0x1 : 0) | (last ? 0x4 : 0), 1, block.subarray(o, o + 16_384)));
    }
    sSend(Buffer.concat(frames));
    w.close();

    const conns: Connection[] = [];
    let requests = 0;
    const res = await analyzeStream(path, { onConnection: (c) => void conns.push(c), onRequest: () => void requests++ });
    const counters = res.capture.counters;
    expect(counters.http1RequestsNotRecorded).toBe(n - MAX_OUTSTANDING_REQUESTS);
    expect(counters.hpackTableEntriesForgotten).toBeGreaterThan(190_000);
    const [h1, h2] = [...conns].sort((a, b) => a.id - b.id);
    expect(h1.requestCount).toBe(MAX_OUTSTANDING_REQUESTS);
    expect(h1.anomalies.map((a) => a.code)).toContain('requests-not-recorded');
    expect(h1.extra?.requestsNotRecorded).toEqual({ count: n - MAX_OUTSTANDING_REQUESTS, answered: 0, unanswered: n - MAX_OUTSTANDING_REQUESTS });
    expect(h2.anomalies.map((a) => a.code)).toContain('H2_HPACK_TABLE_LIMIT');
    const fin = (h2.h2 as unknown as { server: { finalHpackTable: { entryCount: number; forgotten: number; entries: unknown[] } } }).server.finalHpackTable;
    expect(fin.forgotten).toBe(counters.hpackTableEntriesForgotten);
    expect(fin.entries.length).toBeLessThanOrEqual(32);
    expect(JSON.stringify(h2).length).toBeLessThan(64 * 1024);
    expect(requests).toBe(MAX_OUTSTANDING_REQUESTS + 1);
  });
});
