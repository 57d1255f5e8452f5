import { describe, expect, it } from 'vitest';
import { FrameParser, type Frame } from '../../../core/src/http2/frames.js';
import type { Anomaly } from '../../../core/src/model/types.js';
import type { StreamChunk } from '../../../core/src/tcp/stream.js';
import { concat, data, frame, goaway, headers, ping, pushPromise, rst, settings, u32, windowUpdate, continuation } from './h2-builder.js';

function parse(parts: Uint8Array[], opts: { skipped?: number[]; maxFrameSize?: number } = {}) {
  const frames: Frame[] = [];
  const anomalies: Anomaly[] = [];
  const p = new FrameParser({ side: 'client', onFrame: (f) => frames.push(f), onAnomaly: (a) => anomalies.push(a), maxFrameSize: opts.maxFrameSize });
  let off = 0;
  parts.forEach((d, i) => {
    const skipped = opts.skipped?.[i] ?? 0;
    off += Math.max(skipped, 0);
    const c: StreamChunk = { data: d, offset: off, skipped, time: i * 10, deliveredTime: i * 10, packet: i + 1 };
    p.push(c);
    off += d.length;
  });
  return { frames, anomalies, parser: p };
}

const block = new Uint8Array([0x82, 0x86, 0x84]);

// Scenario table: one frame's bytes → expected decoded frame (subset).
const single: [string, Uint8Array, Record<string, unknown>][] = [
  ['DATA', data(1, 'hello', 1), { kind: 'DATA', streamId: 1, dataLength: 5, endStream: true, padLength: 0 }],
  ['DATA padded', frame(0, 0x8, 3, [2, 0x61, 0x62, 0x63, 0, 0]), { kind: 'DATA', dataLength: 3, padLength: 2 }],
  ['HEADERS', headers(1, block, 0x5), { kind: 'HEADERS', endHeaders: true, endStream: true, fragment: block }],
  [
    'HEADERS padded with priority',
    frame(1, 0x4 | 0x8 | 0x20, 5, [1, ...u32(0x80000003), 15, ...block, 0]),
    { kind: 'HEADERS', padLength: 1, priority: { exclusive: true, dependency: 3, weight: 16 }, fragment: block },
  ],
  ['PRIORITY', frame(2, 0, 7, [...u32(1), 255]), { kind: 'PRIORITY', priority: { exclusive: false, dependency: 1, weight: 256 } }],
  ['RST_STREAM', rst(1, 8), { kind: 'RST_STREAM', errorCode: 8 }],
  ['SETTINGS', settings([[3, 100], [4, 1 << 20]]), { kind: 'SETTINGS', ack: false, settings: [{ id: 3, value: 100 }, { id: 4, value: 1 << 20 }] }],
  ['SETTINGS ACK', settings([], true), { kind: 'SETTINGS', ack: true, settings: [] }],
  ['PUSH_PROMISE', pushPromise(1, 2, block), { kind: 'PUSH_PROMISE', promisedStreamId: 2, fragment: block, endHeaders: true }],
  ['PING', ping([1, 2, 3, 4, 5, 6, 7, 8]), { kind: 'PING', ack: false, opaque: '0102030405060708' }],
  ['GOAWAY', goaway(5, 0, 'bye'), { kind: 'GOAWAY', lastStreamId: 5, errorCode: 0, debugData: 'bye' }],
  ['WINDOW_UPDATE', windowUpdate(0, 1000), { kind: 'WINDOW_UPDATE', streamId: 0, increment: 1000 }],
  ['CONTINUATION', continuation(1, block), { kind: 'CONTINUATION', endHeaders: true, fragment: block }],
  ['unknown type', frame(0xfa, 0xff, 0, [1, 2, 3]), { kind: 'UNKNOWN', type: 0xfa, length: 3 }],
];

describe('frame parser: one frame of each type', () => {
  it.each(single)('%s', (_name, bytes, expected) => {
    const { frames, anomalies } = parse([bytes]);
    expect(anomalies).toEqual([]);
    expect(frames).toHaveLength(1);
    expect(frames[0]).toMatchObject({ ...expected, firstPacket: 1, lastPacket: 1, length: bytes.length - 9, lostBytes: 0 });
    expect(frames[0].malformed).toBeUndefined();
  });
});

describe('frame parser: split across chunks at every offset', () => {
  const all = concat(...single.map(([, b]) => b));
  it(`yields the same ${single.length} frames for each split point of ${all.length} octets`, () => {
    const whole = parse([all]).frames.map((f) => ({ ...f, firstPacket: 0, lastPacket: 0, startTime: 0, endTime: 0, startDeliveredTime: 0, endDeliveredTime: 0 }));
    expect(whole).toHaveLength(single.length);
    for (let cut = 1; cut < all.length; cut++) {
      const { frames, anomalies } = parse([all.subarray(0, cut), all.subarray(cut)]);
      expect(anomalies).toEqual([]);
      expect(frames.map((f) => ({ ...f, firstPacket: 0, lastPacket: 0, startTime: 0, endTime: 0, startDeliveredTime: 0, endDeliveredTime: 0 }))).toEqual(whole);
    }
  });
  it('records first and last packet and time of a frame split over three chunks', () => {
    const d = data(1, 'x'.repeat(30));
    const { frames } = parse([d.subarray(0, 4), d.subarray(4, 20), d.subarray(20)]);
    expect(frames[0]).toMatchObject({ firstPacket: 1, lastPacket: 3, startTime: 0, endTime: 20, dataLength: 30 });
  });
  it('parses byte-at-a-time input', () => {
    const all2 = concat(settings([[1, 0]]), headers(1, block), data(1, 'abc', 1));
    const parts = Array.from(all2, (b) => new Uint8Array([b]));
    expect(parse(parts).frames.map((f) => f.kind)).toEqual(['SETTINGS', 'HEADERS', 'DATA']);
  });
});

// Scenario table: bytes → anomaly codes, and the kinds of frames still delivered.
const errors: [string, Uint8Array, string[], string[]][] = [
  ['oversized frame is reported but the next frame still parses', concat(data(1, 20000), ping([0, 0, 0, 0, 0, 0, 0, 0])), ['H2_FRAME_SIZE_ERROR'], ['DATA', 'PING']],
  ['DATA on stream 0', data(0, 'x'), ['H2_PROTOCOL_ERROR'], ['DATA']],
  ['SETTINGS on a stream', frame(4, 0, 1, []), ['H2_PROTOCOL_ERROR'], ['SETTINGS']],
  ['SETTINGS with a length not multiple of 6', frame(4, 0, 0, [0, 1, 0, 0, 0]), ['H2_FRAME_SIZE_ERROR'], ['SETTINGS']],
  ['SETTINGS ACK with a payload', frame(4, 1, 0, [0, 1, 0, 0, 0, 0]), ['H2_FRAME_SIZE_ERROR'], ['SETTINGS']],
  ['PING of 7 octets', frame(6, 0, 0, [1, 2, 3, 4, 5, 6, 7]), ['H2_FRAME_SIZE_ERROR'], ['PING']],
  ['RST_STREAM of 3 octets', frame(3, 0, 1, [0, 0, 8]), ['H2_FRAME_SIZE_ERROR'], ['RST_STREAM']],
  ['WINDOW_UPDATE with increment 0', windowUpdate(1, 0), ['H2_PROTOCOL_ERROR'], ['WINDOW_UPDATE']],
  ['padding longer than the payload', frame(0, 0x8, 1, [9, 0, 0]), ['H2_PROTOCOL_ERROR'], ['DATA']],
  ['GOAWAY shorter than 8', frame(7, 0, 0, [0, 0, 0, 1]), ['H2_FRAME_SIZE_ERROR'], ['GOAWAY']],
];

describe('frame parser: errors become anomalies, parsing continues', () => {
  it.each(errors)('%s', (_name, bytes, codes, kinds) => {
    const { frames, anomalies } = parse([concat(bytes, settings([], true))]);
    expect(anomalies.map((a) => a.code)).toEqual(codes);
    expect(anomalies[0].packet).toBe(1);
    expect(frames.map((f) => f.kind)).toEqual([...kinds, 'SETTINGS']);
  });
});

describe('frame parser: capture gaps', () => {
  it('a gap inside a DATA payload keeps the frame boundary', () => {
    const d = data(1, 'a'.repeat(100), 1);
    const next = ping([1, 1, 1, 1, 1, 1, 1, 1]);
    const { frames, anomalies } = parse([d.subarray(0, 30), concat(d.subarray(80), next)], { skipped: [0, 50] });
    expect(anomalies).toEqual([]);
    expect(frames.map((f) => [f.kind, f.lostBytes])).toEqual([['DATA', 50], ['PING', 0]]);
    expect(frames[0]).toMatchObject({ dataLength: 100, endStream: true });
  });
  it('a gap past the frame end loses the boundary; the parser resynchronises on the next headers', () => {
    const a = data(1, 'a'.repeat(20));
    const lost = concat(data(1, 'b'.repeat(10)), data(3, 'c'.repeat(5)));
    const after = concat(data(1, 'd'.repeat(7)), windowUpdate(0, 100), settings([], true));
    const tailOfLost = lost.subarray(lost.length - 6);
    const { frames, anomalies, parser } = parse([a.subarray(0, 15), concat(tailOfLost, after)], { skipped: [0, a.length - 15 + lost.length - 6] });
    expect(anomalies.map((x) => x.code)).toEqual(['H2_FRAME_SYNC_LOST']);
    expect(frames.map((f) => f.kind)).toEqual(['DATA', 'DATA', 'WINDOW_UPDATE', 'SETTINGS']);
    expect(frames[1]).toMatchObject({ streamId: 1, dataLength: 7 });
    expect(parser.stats.droppedBytes).toBe(6);
  });
  it('an unseen direction start is scanned for a frame boundary', () => {
    const tail = data(1, 'zzzzzz').subarray(11); // 4 octets of a payload
    const { frames, anomalies } = parse([concat(tail, settings([[4, 100]]), ping([0, 0, 0, 0, 0, 0, 0, 1]))], { skipped: [-1] });
    expect(anomalies).toEqual([]);
    expect(frames.map((f) => f.kind)).toEqual(['SETTINGS', 'PING']);
  });
  it('reports a frame truncated by the end of the direction', () => {
    const d = data(1, 'abcdef');
    const { parser, anomalies } = parse([d.subarray(0, 12)]);
    parser.end(100, 9);
    expect(anomalies.map((a) => a.code)).toEqual(['H2_TRUNCATED_FRAME']);
  });
  it('bytes after the end of a direction that cut a frame (data after FIN) are scanned for a frame header, not taken as that frame', () => {
    // A fuzzed capture crashed here: end() dropped the partial frame but stayed in payload mode.
    const frames: Frame[] = [];
    const anomalies: Anomaly[] = [];
    const p = new FrameParser({ side: 'server', onFrame: (f) => frames.push(f), onAnomaly: (a) => anomalies.push(a) });
    const chunk = (d: Uint8Array, offset: number, packet: number): StreamChunk => ({ data: d, offset, skipped: 0, time: packet, deliveredTime: packet, packet });
    for (const cut of [5, 12]) {
      frames.length = 0;
      const d = data(1, 'abcdef');
      p.push(chunk(d.subarray(0, cut), 0, 1)); // inside the header (5) or the payload (12)
      p.end(2, 2);
      const after = concat(settings([[4, 100]]), ping([0, 0, 0, 0, 0, 0, 0, 2]));
      expect(() => p.push(chunk(after, cut, 3))).not.toThrow();
      expect(frames.map((f) => f.kind)).toEqual(['SETTINGS', 'PING']);
    }
    expect(anomalies.map((a) => a.code)).toEqual(['H2_TRUNCATED_FRAME', 'H2_TRUNCATED_FRAME']);
  });
});

describe('frame parser: statistics', () => {
  it('counts frames by type and unknown frames', () => {
    const { parser } = parse([concat(settings([]), frame(0x20, 0, 0, [1]), frame(0x21, 0, 1, []), data(1, 'x'))]);
    expect(parser.stats).toMatchObject({ frames: 4, unknownFrames: 2, byType: { SETTINGS: 1, UNKNOWN: 2, DATA: 1 } });
  });
});

describe('findFrameBoundary (sniffing a connection whose start was not captured)', () => {
  const cases: [string, Uint8Array, number][] = [
    ['frames from the first octet', concat(settings([[3, 100]]), ping([0, 0, 0, 0, 0, 0, 0, 1])), 0],
    ['the tail of a payload, then frames', concat([0x61, 0x62, 0x63], data(1, 'abc'), windowUpdate(0, 10)), 3],
    ['a single frame ending with the buffer', data(3, 'xyz'), 0],
    ['HTTP/1 text', new Uint8Array(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n')), -1],
    ['too short', new Uint8Array([0, 0, 0, 4]), -1],
  ];
  it.each(cases)('%s', async (_n, buf, expected) => {
    const { findFrameBoundary } = await import('../../../core/src/http2/frames.js');
    expect(findFrameBoundary(buf)).toBe(expected);
  });
});
