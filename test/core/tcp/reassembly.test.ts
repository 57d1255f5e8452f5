/**
 * Reassembly scenario tables (gopacket style): input segments → expected deliveries to the sink.
 * Each case drives the real TcpTable with decoded packets, so handshake, FIN and RST accounting
 * are part of what is checked.
 */
import { describe, expect, it } from 'vitest';
import type { L4Packet } from '../../../core/src/capture/ip.js';
import { MAX_OVERLAP_CONFLICTS_LISTED, TcpTable, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../../../core/src/tcp/table.js';
import type { TcpConnection } from '../../../core/src/tcp/table.js';

const C = { ip: '10.0.0.1', port: 40000 };
const S = { ip: '10.0.0.2', port: 80 };

interface Seg {
  from: 'c' | 's';
  seq: number;
  data?: string;
  flags?: number;
  ack?: number;
  t?: number;
  missing?: number;
}
interface Delivery {
  side: 'client' | 'server';
  offset: number;
  data: string;
  skipped: number;
}

function run(segs: Seg[]) {
  const deliveries: (Delivery & { time: number; deliveredTime: number; packet: number })[] = [];
  const ends: string[] = [];
  const done: TcpConnection[] = [];
  const counters: Record<string, number> = {};
  const table = new TcpTable(
    () => ({
      onData: (side, ch) =>
        deliveries.push({
          side,
          offset: ch.offset,
          data: Buffer.from(ch.data).toString('latin1'),
          skipped: ch.skipped,
          time: ch.time,
          deliveredTime: ch.deliveredTime,
          packet: ch.packet,
        }),
      onEnd: (side, how) => ends.push(`${side}:${how}`),
    }),
    (c) => done.push(c),
    { count: (n, k = 1) => (counters[n] = (counters[n] ?? 0) + k) },
  );
  segs.forEach((s, i) => {
    const [src, dst] = s.from === 'c' ? [C, S] : [S, C];
    const p: L4Packet = {
      num: i + 1,
      time: s.t ?? i,
      frameLen: 54 + (s.data?.length ?? 0),
      v6: false,
      src: src.ip,
      srcV4: -1,
      dstV4: -1,
      dst: dst.ip,
      proto: 6,
      srcPort: src.port,
      dstPort: dst.port,
      seq: s.seq >>> 0,
      ack: (s.ack ?? 0) >>> 0,
      flags: s.flags ?? TCP_ACK,
      window: 1000,
      payload: Buffer.from(s.data ?? '', 'latin1'),
      missing: s.missing ?? 0,
    };
    table.packet(p);
  });
  table.finish();
  return { deliveries, ends, done, counters };
}

const simple = (ds: { side: string; offset: number; data: string; skipped: number }[]) =>
  ds.map(({ side, offset, data, skipped }) => ({ side, offset, data, skipped }));

// Client ISN 1000 (first byte 1001), server ISN 5000 (first byte 5001).
const HS: Seg[] = [
  { from: 'c', seq: 1000, flags: TCP_SYN },
  { from: 's', seq: 5000, flags: TCP_SYN | TCP_ACK, ack: 1001 },
  { from: 'c', seq: 1001, ack: 5001 },
];

interface Case {
  name: string;
  segs: Seg[];
  want: Delivery[];
  ends?: string[];
  stats?: Partial<Record<'cRetrans' | 'cOoo' | 'cLost' | 'sLost' | 'sRetrans', number>>;
}

const cases: Case[] = [
  {
    name: 'in order, both directions, FIN from both',
    segs: [
      ...HS,
      { from: 'c', seq: 1001, data: 'GET / ', ack: 5001 },
      { from: 'c', seq: 1007, data: 'HTTP/1.1', ack: 5001 },
      { from: 's', seq: 5001, data: 'HTTP/1.1 200', ack: 1015 },
      { from: 's', seq: 5013, flags: TCP_FIN | TCP_ACK, ack: 1015 },
      { from: 'c', seq: 1015, flags: TCP_FIN | TCP_ACK, ack: 5014 },
    ],
    want: [
      { side: 'client', offset: 0, data: 'GET / ', skipped: 0 },
      { side: 'client', offset: 6, data: 'HTTP/1.1', skipped: 0 },
      { side: 'server', offset: 0, data: 'HTTP/1.1 200', skipped: 0 },
    ],
    ends: ['server:fin', 'client:fin'],
  },
  {
    name: 'reordered segments are held and delivered in order',
    segs: [...HS, { from: 'c', seq: 1004, data: 'def', t: 10 }, { from: 'c', seq: 1001, data: 'abc', t: 10.5 }],
    want: [
      { side: 'client', offset: 0, data: 'abc', skipped: 0 },
      { side: 'client', offset: 3, data: 'def', skipped: 0 },
    ],
    stats: { cOoo: 1, cRetrans: 0, cLost: 0 },
  },
  {
    name: 'exact retransmission is dropped and counted',
    segs: [...HS, { from: 'c', seq: 1001, data: 'abc' }, { from: 'c', seq: 1001, data: 'abc' }, { from: 'c', seq: 1004, data: 'd' }],
    want: [
      { side: 'client', offset: 0, data: 'abc', skipped: 0 },
      { side: 'client', offset: 3, data: 'd', skipped: 0 },
    ],
    stats: { cRetrans: 1 },
  },
  {
    name: 'overlapping retransmission delivers only the new tail',
    segs: [...HS, { from: 'c', seq: 1001, data: 'abcd' }, { from: 'c', seq: 1003, data: 'cdef' }],
    want: [
      { side: 'client', offset: 0, data: 'abcd', skipped: 0 },
      { side: 'client', offset: 4, data: 'ef', skipped: 0 },
    ],
    stats: { cRetrans: 1 },
  },
  {
    name: 'overlap into held data: held segment is trimmed on drain',
    segs: [...HS, { from: 'c', seq: 1005, data: 'efgh', t: 5 }, { from: 'c', seq: 1001, data: 'abcdef', t: 5.1 }],
    want: [
      { side: 'client', offset: 0, data: 'abcdef', skipped: 0 },
      { side: 'client', offset: 6, data: 'gh', skipped: 0 },
    ],
  },
  {
    name: 'sequence numbers wrap at 2^32',
    segs: [
      { from: 'c', seq: 0xfffffffa, flags: TCP_SYN },
      { from: 's', seq: 7, flags: TCP_SYN | TCP_ACK, ack: 0xfffffffb },
      { from: 'c', seq: 0xfffffffb, data: 'abcd' },
      { from: 'c', seq: 0xffffffff, data: 'efgh' },
      { from: 'c', seq: 3, data: 'ij' },
    ],
    want: [
      { side: 'client', offset: 0, data: 'abcd', skipped: 0 },
      { side: 'client', offset: 4, data: 'efgh', skipped: 0 },
      { side: 'client', offset: 8, data: 'ij', skipped: 0 },
    ],
  },
  {
    name: 'a hole the peer acknowledges is delivered as a gap',
    segs: [
      ...HS,
      { from: 'c', seq: 1001, data: 'abc' },
      // 'def' (1004..1006) never captured
      { from: 'c', seq: 1007, data: 'ghi' },
      { from: 's', seq: 5001, ack: 1010 },
    ],
    want: [
      { side: 'client', offset: 0, data: 'abc', skipped: 0 },
      { side: 'client', offset: 6, data: 'ghi', skipped: 3 },
    ],
    stats: { cLost: 3 },
  },
  {
    name: 'a hole never filled nor acknowledged is skipped at the end',
    segs: [...HS, { from: 'c', seq: 1001, data: 'abc' }, { from: 'c', seq: 1010, data: 'xyz' }],
    want: [
      { side: 'client', offset: 0, data: 'abc', skipped: 0 },
      { side: 'client', offset: 9, data: 'xyz', skipped: 6 },
    ],
    stats: { cLost: 6 },
  },
  {
    name: 'mid-stream start: roles from ports, first chunk says the start was unseen',
    segs: [
      { from: 'c', seq: 777777, data: 'GET /x HTTP/1.1\r\n', ack: 99 },
      { from: 's', seq: 99, data: 'HTTP/1.1 200 OK\r\n', ack: 777794 },
    ],
    want: [
      { side: 'client', offset: 0, data: 'GET /x HTTP/1.1\r\n', skipped: -1 },
      { side: 'server', offset: 0, data: 'HTTP/1.1 200 OK\r\n', skipped: -1 },
    ],
  },
  {
    name: 'data after FIN is still delivered and flagged',
    segs: [...HS, { from: 'c', seq: 1001, data: 'ab', flags: TCP_FIN | TCP_ACK }, { from: 'c', seq: 1004, data: 'zz' }],
    want: [
      { side: 'client', offset: 0, data: 'ab', skipped: 0 },
      { side: 'client', offset: 3, data: 'zz', skipped: 1 },
    ],
    ends: ['client:fin'],
  },
  {
    name: 'RST ends both directions; held data after a hole is flushed with a gap',
    segs: [...HS, { from: 's', seq: 5001, data: 'aa' }, { from: 's', seq: 5005, data: 'cc' }, { from: 'c', seq: 1001, flags: TCP_RST }],
    want: [
      { side: 'server', offset: 0, data: 'aa', skipped: 0 },
      { side: 'server', offset: 4, data: 'cc', skipped: 2 },
    ],
    ends: ['client:rst', 'server:rst'],
  },
  {
    name: 'FIN that arrives before the last data segment ends the stream only when reached',
    segs: [...HS, { from: 'c', seq: 1004, data: 'def', flags: TCP_FIN | TCP_ACK, t: 5 }, { from: 'c', seq: 1001, data: 'abc', t: 5.5 }],
    want: [
      { side: 'client', offset: 0, data: 'abc', skipped: 0 },
      { side: 'client', offset: 3, data: 'def', skipped: 0 },
    ],
    ends: ['client:fin'],
  },
  {
    name: 'snaplen-truncated segment: captured part delivered, the rest is a gap',
    segs: [...HS, { from: 's', seq: 5001, data: 'HTTP', missing: 6 }, { from: 's', seq: 5011, data: 'next' }],
    want: [
      { side: 'server', offset: 0, data: 'HTTP', skipped: 0 },
      { side: 'server', offset: 10, data: 'next', skipped: 6 },
    ],
    stats: { sLost: 6 },
  },
];

describe('TCP reassembly scenarios', () => {
  for (const c of cases) {
    it(c.name, () => {
      const r = run(c.segs);
      expect(simple(r.deliveries)).toEqual(c.want);
      if (c.ends) expect(r.ends).toEqual(c.ends);
      const conn = r.done[0];
      const st = conn.c.stats;
      const sv = conn.s.stats;
      const got = { cRetrans: st.retransmissions, cOoo: st.outOfOrder, cLost: st.lostBytes, sLost: sv.lostBytes, sRetrans: sv.retransmissions };
      for (const [k, v] of Object.entries(c.stats ?? {})) expect(got[k as keyof typeof got], k).toBe(v);
    });
  }

  it('a reordered segment keeps its own arrival time and reports when it became deliverable', () => {
    const r = run([...HS, { from: 'c', seq: 1004, data: 'def', t: 10 }, { from: 'c', seq: 1001, data: 'abc', t: 50 }]);
    const late = r.deliveries.find((d) => d.data === 'def')!;
    expect(late.time).toBe(10);
    expect(late.deliveredTime).toBe(50);
    expect(late.packet).toBe(4);
  });

  it('a hole filled long after (retransmission) is counted as a retransmission, not reordering', () => {
    const r = run([...HS, { from: 'c', seq: 1004, data: 'def', t: 10 }, { from: 'c', seq: 1001, data: 'abc', t: 250 }]);
    expect(r.done[0].c.stats.retransmissions).toBe(1);
    expect(r.done[0].c.stats.outOfOrder).toBe(0);
  });

  it('port reuse: a new SYN after both FINs starts a new connection', () => {
    const r = run([
      ...HS,
      { from: 'c', seq: 1001, flags: TCP_FIN | TCP_ACK, ack: 5001 },
      { from: 's', seq: 5001, flags: TCP_FIN | TCP_ACK, ack: 1002 },
      { from: 'c', seq: 1002, ack: 5002 },
      { from: 'c', seq: 90000, flags: TCP_SYN },
      { from: 's', seq: 70000, flags: TCP_SYN | TCP_ACK, ack: 90001 },
    ]);
    expect(r.done.map((c) => c.id)).toEqual([0, 1]);
    expect(r.done[1].startSeen).toBe(true);
    expect(r.done[0].close).toMatchObject({ by: 'client', how: 'fin' });
  });

  it('a retransmitted SYN stays in the same connection', () => {
    const r = run([{ from: 'c', seq: 1000, flags: TCP_SYN }, { from: 'c', seq: 1000, flags: TCP_SYN, t: 1000 }, ...HS.slice(1)]);
    expect(r.done).toHaveLength(1);
    expect(r.done[0].c.stats.retransmissions).toBe(1);
  });

  it('roles are swapped when the unseen-start guess is contradicted by the data', () => {
    // Both ports ephemeral; the lower port guessed as server actually sends the request.
    const segs: Seg[] = [{ from: 's', seq: 50, data: 'GET / HTTP/1.1\r\n' }];
    const r = run(segs);
    expect(r.done[0].client).toEqual(S);
    expect(r.deliveries[0].side).toBe('client');
  });

  it('buffered out-of-order data is bounded: the per-direction segment limit skips the oldest hole', () => {
    const segs: Seg[] = [...HS];
    for (let i = 0; i < 5000; i++) segs.push({ from: 'c', seq: 2001 + i * 2, data: 'x' });
    const r = run(segs);
    expect(r.counters.oooSegmentLimitFlushes).toBeGreaterThan(0);
    expect(r.done[0].c.stats.lostBytes).toBeGreaterThan(0);
  });

  describe('conflicting overlaps (tcp-overlap-conflict, Wireshark\'s "segment data overlap conflict")', () => {
    const conflicts = (r: ReturnType<typeof run>) => r.done[0].anomalies.filter((a) => a.code === 'tcp-overlap-conflict');

    it('a retransmission whose bytes differ from the delivered copy: both packets named, the delivered (first) copy kept', () => {
      // Packet 4 delivers `GET /cccc`; packet 5 claims the same sequence numbers for `POST /evil…`.
      const r = run([...HS, { from: 'c', seq: 1001, data: 'GET /cccc HTTP/1.1\r\n' }, { from: 'c', seq: 1001, data: 'POST /evil HTTP/1.1\r\nX' }]);
      expect(simple(r.deliveries)).toEqual([
        { side: 'client', offset: 0, data: 'GET /cccc HTTP/1.1\r\n', skipped: 0 },
        { side: 'client', offset: 20, data: '\nX', skipped: 0 },
      ]);
      expect(conflicts(r)).toEqual([
        {
          code: 'tcp-overlap-conflict',
          packet: 5,
          time: 4,
          detail: "client stream bytes 0–19: packet 5 carries 19 of 20 overlapping bytes different from packet 4 (first at byte 0); kept packet 4's copy (the earlier copy), dropped packet 5's",
        },
      ]);
      expect(r.counters.tcpOverlapConflicts).toBe(1);
    });

    it('an identical retransmission, or one after the bytes were acknowledged, raises nothing', () => {
      const same = run([...HS, { from: 'c', seq: 1001, data: 'abcdef' }, { from: 'c', seq: 1003, data: 'cdefgh' }]);
      expect(conflicts(same)).toEqual([]);
      expect(same.counters.tcpOverlapConflicts).toBeUndefined();
      // The server acknowledged `abcdef` before the differing copy: the receiver kept the first one.
      const acked = run([...HS, { from: 'c', seq: 1001, data: 'abcdef' }, { from: 's', seq: 5001, ack: 1007 }, { from: 'c', seq: 1001, data: 'zzzzzz' }]);
      expect(conflicts(acked)).toEqual([]);
    });

    it('two held copies of the same out-of-order bytes: compared when the hole fills, the first kept', () => {
      const r = run([
        ...HS,
        { from: 'c', seq: 1005, data: 'efgh', t: 5 }, // packet 4, held
        { from: 'c', seq: 1005, data: 'eFGh', t: 6 }, // packet 5, held behind it
        { from: 'c', seq: 1001, data: 'abcd', t: 7 }, // packet 6 fills the hole
      ]);
      expect(simple(r.deliveries).map((d) => d.data)).toEqual(['abcd', 'efgh']);
      expect(conflicts(r).map((a) => [a.packet, a.detail])).toEqual([
        [5, "client stream bytes 4–7: packet 5 carries 2 of 4 overlapping bytes different from packet 4 (first at byte 5); kept packet 4's copy (the earlier copy), dropped packet 5's"],
      ]);
    });

    it('a later segment that reaches further back is delivered first: its copy is kept, and said to be the later one', () => {
      const r = run([...HS, { from: 'c', seq: 1005, data: 'efgh', t: 5 }, { from: 'c', seq: 1001, data: 'abcdXY', t: 5.1 }]);
      expect(simple(r.deliveries).map((d) => d.data)).toEqual(['abcdXY', 'gh']);
      expect(conflicts(r).map((a) => [a.packet, a.detail])).toEqual([
        [4, "client stream bytes 4–5: packet 4 carries 2 of 2 overlapping bytes different from packet 5 (first at byte 4); kept packet 5's copy (the later-captured copy, delivered first), dropped packet 4's"],
      ]);
    });

    it(`conflicts past MAX_OVERLAP_CONFLICTS_LISTED (${MAX_OVERLAP_CONFLICTS_LISTED}) per connection are counted in one more entry`, () => {
      const segs: Seg[] = [...HS, { from: 'c', seq: 1001, data: 'aaaa' }];
      for (let i = 0; i < 20; i++) segs.push({ from: 'c', seq: 1001, data: 'bbbb' });
      const r = run(segs);
      const all = conflicts(r);
      expect(all).toHaveLength(MAX_OVERLAP_CONFLICTS_LISTED + 1);
      expect(all.at(-1)).toEqual({ code: 'tcp-overlap-conflict', detail: `4 more conflicting overlaps not listed (limit ${MAX_OVERLAP_CONFLICTS_LISTED} per connection)` });
      expect(r.counters.tcpOverlapConflicts).toBe(20);
    });
  });
});
