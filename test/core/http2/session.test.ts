import { describe, expect, it } from 'vitest';
import { Http2Session } from '../../../core/src/http2/session.js';
import { Driver, INFO } from './session-harness.js';
import {
  PREFACE,
  TestHpackEncoder,
  concat,
  continuation,
  data,
  frame,
  goaway,
  headers,
  ping,
  pushPromise,
  rst,
  settings,
  windowUpdate,
} from './h2-builder.js';

const REQ = (path: string, method = 'GET'): [string, string][] => [
  [':method', method],
  [':scheme', 'http'],
  [':authority', 'example.test'],
  [':path', path],
  ['user-agent', 'wirefall-test'],
];

function start(d: Driver, clientSettings: [number, number][] = [], serverSettings: [number, number][] = []): void {
  d.send('client', 0, concat(PREFACE, settings(clientSettings)));
  d.send('server', 1, concat(settings(serverSettings), settings([], true)));
  d.send('client', 2, settings([], true));
}

describe('Http2Session: one request', () => {
  it('reports method, URL, status, headers in wire order, sizes, times and packets', () => {
    const d = new Driver();
    const ce = new TestHpackEncoder();
    const se = new TestHpackEncoder();
    start(d);
    const reqBlock = ce.encode(REQ('/a?x=1'));
    const p1 = d.send('client', 10, headers(1, reqBlock, 0x5));
    const respBlock = se.encode([[':status', '200'], ['content-type', 'text/plain']]);
    const p2 = d.send('server', 20, headers(1, respBlock, 0x4));
    d.send('server', 25, data(1, 'hello '));
    const p3 = d.send('server', 30, data(1, 'world', 0x1));
    const out = d.close(40);
    expect(out.requests).toHaveLength(1);
    const r = out.requests[0];
    expect(r).toMatchObject({
      index: 1,
      streamId: 1,
      method: 'GET',
      url: 'http://example.test/a?x=1',
      target: '/a?x=1',
      httpVersion: 'h2',
      status: 200,
      state: 'complete',
      pipelined: false,
      connectionReused: false,
      sizes: { requestHeaders: reqBlock.length, requestBody: 0, responseHeaders: respBlock.length, responseBody: 11, responseBodyWire: 9 + 6 + 9 + 5 },
      times: { requestStartTime: 10, requestEndTime: 10, responseStartTime: 20, responseEndTime: 30, queuedTime: null, connectStartTime: null },
      packets: { request: [p1, p1], response: [p2, p3] },
    });
    expect(r.requestHeaders.map((h) => h.name)).toEqual([':method', ':scheme', ':authority', ':path', 'user-agent']);
    expect(r.responseHeaders).toEqual([{ name: ':status', value: '200' }, { name: 'content-type', value: 'text/plain' }]);
    const hp = r.h2?.hpack as { request: { rep: string }[]; stats: { request: { encodedBytes: number } } };
    expect(hp.request[0]).toMatchObject({ name: ':method', rep: 'indexed', index: 2, table: 'static' });
    expect(hp.stats.request.encodedBytes).toBe(reqBlock.length);
    expect(out.anomalies).toEqual([]);
  });

  it('assembles a header block from HEADERS + CONTINUATION split across packets', () => {
    const d = new Driver();
    const block = new TestHpackEncoder().encode([...REQ('/long'), ['x-big', 'v'.repeat(50)]]);
    start(d);
    const all = concat(headers(1, block.subarray(0, 10), 0x1), continuation(1, block.subarray(10, 30), 0), continuation(1, block.subarray(30)));
    d.send('client', 10, all.subarray(0, 7));
    d.send('client', 11, all.subarray(7, 40));
    d.send('client', 12, all.subarray(40));
    d.send('server', 20, headers(1, new TestHpackEncoder().encode([[':status', '204']]), 0x5));
    const out = d.close(30);
    expect(out.requests[0]).toMatchObject({ url: 'http://example.test/long', status: 204, state: 'complete' });
    expect(out.requests[0].requestHeaders.at(-1)).toEqual({ name: 'x-big', value: 'v'.repeat(50) });
    expect(out.requests[0].times).toMatchObject({ requestStartTime: 10, requestEndTime: 12 });
  });

  it('keeps trailers and interim responses', () => {
    const d = new Driver();
    const se = new TestHpackEncoder();
    start(d);
    d.send('client', 10, headers(1, new TestHpackEncoder().encode(REQ('/up', 'POST')), 0x4));
    d.send('client', 11, data(1, 'abc', 0x1));
    d.send('server', 12, headers(1, se.encode([[':status', '103'], ['link', '</s.css>; rel=preload']])));
    d.send('server', 20, headers(1, se.encode([[':status', '200']])));
    d.send('server', 21, data(1, 'ok'));
    d.send('server', 22, headers(1, se.encode([['grpc-status', '0']]), 0x5));
    const r = d.close(30).requests[0];
    expect(r).toMatchObject({ method: 'POST', status: 200, state: 'complete', informational: [{ status: 103, time: 12 }], trailers: [{ name: 'grpc-status', value: '0' }] });
    expect(r.sizes.requestBody).toBe(3);
    expect(r.times).toMatchObject({ requestEndTime: 11, responseStartTime: 20, responseEndTime: 22 });
  });
});

describe('Http2Session: several streams', () => {
  it('numbers streams in order of opening; reuse and reset states', () => {
    const d = new Driver();
    const ce = new TestHpackEncoder();
    const se = new TestHpackEncoder();
    start(d);
    d.send('client', 10, concat(headers(1, ce.encode(REQ('/1')), 0x5), headers(3, ce.encode(REQ('/2')), 0x5), headers(5, ce.encode(REQ('/3')), 0x5)));
    d.send('server', 20, concat(headers(3, se.encode([[':status', '200']]), 0x5), rst(5, 0x7)));
    d.send('server', 30, headers(1, se.encode([[':status', '404']]), 0x4));
    const out = d.close(40);
    expect(out.requests.map((r) => [r.streamId, r.index, r.connectionReused, r.state, r.status])).toEqual([
      [3, 2, true, 'complete', 200],
      [5, 3, true, 'reset', null],
      [1, 1, false, 'incomplete-response', 404],
    ]);
    expect(out.byStream(5).h2?.rst).toMatchObject({ by: 'server', code: 'REFUSED_STREAM', time: 20 });
    expect(out.facts.maxConcurrentStreams).toBe(3);
  });

  it('infers streams that waited for SETTINGS_MAX_CONCURRENT_STREAMS', () => {
    const d = new Driver();
    const ce = new TestHpackEncoder();
    const se = new TestHpackEncoder();
    start(d, [], [[3, 1]]);
    d.send('client', 10, headers(1, ce.encode(REQ('/1')), 0x5));
    d.send('server', 50, headers(1, se.encode([[':status', '200']]), 0x5));
    d.send('client', 51, headers(3, ce.encode(REQ('/2')), 0x5));
    d.send('server', 60, headers(3, se.encode([[':status', '200']]), 0x5));
    const out = d.close(70);
    expect(out.facts.streamsWaitedForConcurrencyLimit).toEqual([{ streamId: 3, limit: 1, limitReachedTime: 10, openedTime: 51, maxWaitMs: 41 }]);
  });

  it('GOAWAY sets the close reason; streams above last-stream-id are aborted', () => {
    const d = new Driver();
    const ce = new TestHpackEncoder();
    start(d);
    d.send('client', 10, concat(headers(1, ce.encode(REQ('/1')), 0x5), headers(3, ce.encode(REQ('/2')), 0x5)));
    d.send('server', 20, goaway(1, 0x2, 'overloaded'));
    const out = d.close(30);
    expect(out.closes).toEqual([['goaway', 'server sent GOAWAY (INTERNAL_ERROR), last stream 1: overloaded']]);
    expect(out.anomalies.map((a) => a.code)).toEqual(['H2_GOAWAY_ERROR']);
    expect(out.byStream(3).state).toBe('aborted');
    expect(out.byStream(1).state).toBe('no-response');
  });
});

describe('Http2Session: server push', () => {
  it('reports a pushed stream with its PUSH_PROMISE request headers', () => {
    const d = new Driver();
    const se = new TestHpackEncoder();
    start(d);
    d.send('client', 10, headers(1, new TestHpackEncoder().encode(REQ('/')), 0x5));
    d.send('server', 20, pushPromise(1, 2, se.encode(REQ('/style.css'))));
    d.send('server', 21, headers(1, se.encode([[':status', '200']]), 0x4));
    d.send('server', 22, headers(2, se.encode([[':status', '200']]), 0x4));
    d.send('server', 23, data(2, 'body{}', 0x1));
    d.send('server', 24, data(1, 'page', 0x1));
    const out = d.close(30);
    const p = out.byStream(2);
    expect(p).toMatchObject({ pushed: true, index: 2, url: 'http://example.test/style.css', status: 200, state: 'complete' });
    expect(p.times).toMatchObject({ requestStartTime: 20, responseStartTime: 22, responseEndTime: 23 });
    expect(p.h2?.promisedBy).toBe(1);
  });

  it('counts pushed bytes the client cancelled', () => {
    const d = new Driver();
    const se = new TestHpackEncoder();
    start(d);
    d.send('client', 10, headers(1, new TestHpackEncoder().encode(REQ('/')), 0x5));
    d.send('server', 20, pushPromise(1, 2, se.encode(REQ('/big.js'))));
    d.send('server', 21, headers(2, se.encode([[':status', '200']]), 0x4));
    d.send('server', 22, data(2, 1000));
    d.send('client', 23, rst(2, 0x8));
    d.send('server', 24, data(2, 500));
    const out = d.close(30);
    expect(out.facts.pushCancelled).toEqual([{ streamId: 2, code: 'CANCEL', time: 23, bytesBeforeReset: 1000, bytesAfterReset: 500 }]);
    expect(out.facts.pushedBytesUnused).toBe(1500);
    expect(out.byStream(2).state).toBe('reset');
  });
});

describe('Http2Session: flow control', () => {
  it('infers a stream stall from an exhausted window until WINDOW_UPDATE', () => {
    const d = new Driver();
    const se = new TestHpackEncoder();
    start(d, [[4, 100]]); // client: INITIAL_WINDOW_SIZE 100 for server-sent streams
    d.send('client', 10, headers(1, new TestHpackEncoder().encode(REQ('/big')), 0x5));
    d.send('server', 20, concat(headers(1, se.encode([[':status', '200']])), data(1, 100)));
    d.send('client', 45, windowUpdate(1, 100));
    d.send('server', 50, data(1, 50, 0x1));
    const out = d.close(60);
    expect(out.facts.flowControlStalls).toEqual([
      { side: 'server', streamId: 1, startTime: 20, endTime: 45, durationMs: 25, startPacket: 5, endPacket: 6, resolved: true, dataFollowed: true },
    ]);
    expect(out.byStream(1).h2?.flowControl).toEqual({ request: { stalledMs: 0, stalls: 0 }, response: { stalledMs: 25, stalls: 1 } });
  });

  it('infers a connection-level stall and records the window series', () => {
    const d = new Driver();
    const se = new TestHpackEncoder();
    start(d, [[4, 1 << 20]]);
    d.send('client', 10, headers(1, new TestHpackEncoder().encode(REQ('/big')), 0x5));
    d.send('server', 20, headers(1, se.encode([[':status', '200']])));
    for (let i = 0; i < 4; i++) d.send('server', 21 + i, data(1, 16383));
    d.send('server', 26, data(1, 3)); // 65535 consumed
    d.send('client', 40, windowUpdate(0, 65535));
    d.send('server', 41, data(1, 10, 0x1));
    const out = d.close(50);
    expect(out.facts.flowControlStalls).toMatchObject([{ side: 'server', streamId: 0, startTime: 26, endTime: 40, durationMs: 14, resolved: true, dataFollowed: true }]);
    expect(out.facts.windows.at(-2)).toEqual({ time: 40, side: 'server', window: 65535 });
    expect(out.byStream(1).h2?.flowControl).toMatchObject({ response: { stalledMs: 14, stalls: 1 } });
  });
});

describe('Http2Session: connection facts', () => {
  it('records SETTINGS with ACK times and PING round trips', () => {
    const d = new Driver();
    start(d, [[1, 8192], [4, 1 << 20]], [[3, 100]]);
    d.send('client', 100, ping([1, 2, 3, 4, 5, 6, 7, 8]));
    d.send('server', 103.5, ping([1, 2, 3, 4, 5, 6, 7, 8], true));
    const out = d.close(110);
    expect(out.facts.client.settings).toEqual([
      { time: 0, packet: 1, settings: { HEADER_TABLE_SIZE: 8192, INITIAL_WINDOW_SIZE: 1 << 20 }, ackTime: 1, ackPacket: 2 },
    ]);
    expect(out.facts.server.settings).toEqual([{ time: 1, packet: 2, settings: { MAX_CONCURRENT_STREAMS: 100 }, ackTime: 2, ackPacket: 3 }]);
    expect(out.facts.pingRtts).toEqual([{ side: 'client', time: 100, rttMs: 3.5, packet: 4 }]);
  });

  it('SETTINGS_HEADER_TABLE_SIZE bounds the peer encoder: raising it allows a larger size update', () => {
    const d = new Driver();
    start(d, [[1, 8192]]);
    d.send('client', 10, headers(1, new TestHpackEncoder().encode(REQ('/')), 0x5));
    // The server's block starts with a dynamic table size update to 8192 (§6.3: 001 11111 + 8161).
    d.send('server', 20, headers(1, concat([0x3f, 0xe1, 0x3f, 0x88]), 0x5));
    const out = d.close(30);
    expect(out.anomalies).toEqual([]);
    expect(out.facts.server.finalHpackTable).toMatchObject({ maxSize: 8192, ceiling: 8192 });
    expect(out.byStream(1).status).toBe(200);
  });

  it('a size update above the peer’s SETTINGS_HEADER_TABLE_SIZE is a COMPRESSION_ERROR', () => {
    const d = new Driver();
    start(d);
    d.send('client', 10, headers(1, new TestHpackEncoder().encode(REQ('/')), 0x5));
    d.send('server', 20, headers(1, concat([0x3f, 0xe1, 0x3f, 0x88]), 0x5));
    const out = d.close(30);
    expect(out.anomalies.map((a) => [a.code, a.packet])).toEqual([['COMPRESSION_ERROR', 5]]);
    expect(out.anomalies[0].detail).toMatch(/HPACK_TABLE_SIZE_UPDATE/);
  });

  it('reports a bad preface and a first frame that is not SETTINGS', () => {
    const d = new Driver();
    d.send('client', 0, new Uint8Array(Buffer.from('PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n')));
    d.send('server', 1, ping([0, 0, 0, 0, 0, 0, 0, 0]));
    const out = d.close(5);
    expect(out.anomalies.map((a) => a.code)).toEqual(['H2_BAD_PREFACE', 'H2_FIRST_FRAME_NOT_SETTINGS']);
  });

  it('reports HPACK compression totals and table snapshots', () => {
    const d = new Driver();
    const ce = new TestHpackEncoder();
    start(d);
    d.send('client', 10, headers(1, ce.encode(REQ('/1')), 0x5));
    d.send('client', 11, headers(3, ce.encode(REQ('/1')), 0x5));
    const out = d.close(20);
    expect(out.facts.client.headerBlocks).toBe(2);
    expect(out.facts.client.hpackTable.map((t: { entries: number }) => t.entries)).toEqual([3, 3]);
    expect(out.facts.client.finalHpackTable.entries.map((e: { name: string }) => e.name)).toEqual(['user-agent', ':path', ':authority']);
    expect(out.facts.client.compression.savedByDynamicTable).toBeGreaterThan(0);
  });
});

describe('Http2Session: damaged input', () => {
  it('an HPACK error is a COMPRESSION_ERROR anomaly; later blocks decode in unknown-start mode', () => {
    const d = new Driver();
    const ce = new TestHpackEncoder();
    start(d);
    d.send('client', 10, headers(1, ce.encode(REQ('/1')), 0x5));
    d.send('client', 11, headers(3, new Uint8Array([0x82, 0x80]), 0x5)); // index 0
    d.send('client', 12, headers(5, ce.encode(REQ('/1')), 0x5)); // all indexed from the dynamic table
    const out = d.close(20);
    expect(out.anomalies.map((a) => a.code)).toEqual(['COMPRESSION_ERROR']);
    expect(out.anomalies[0]).toMatchObject({ packet: 5, time: 11 });
    const r5 = out.byStream(5);
    expect(r5.requestHeaders[0]).toEqual({ name: ':method', value: 'GET' });
    expect((r5.h2?.hpack as { request: { unknown?: boolean }[] }).request.some((f) => f.unknown)).toBe(true);
    expect(out.byStream(3).anomalies.map((a) => a.code)).toContain('COMPRESSION_ERROR');
  });

  it('a frame inside a header block is a protocol error', () => {
    const d = new Driver();
    const block = new TestHpackEncoder().encode(REQ('/x'));
    start(d);
    d.send('client', 10, concat(headers(1, block.subarray(0, 4), 0x1), ping([0, 0, 0, 0, 0, 0, 0, 0])));
    const out = d.close(20);
    expect(out.anomalies.map((a) => a.code)).toEqual(['H2_PROTOCOL_ERROR']);
  });

  it('starts mid-connection: finds frame boundaries and marks unknown dynamic references', () => {
    const d = new Driver({ prefaceSeen: false });
    const ce = new TestHpackEncoder();
    const se = new TestHpackEncoder();
    ce.encode(REQ('/before')); // entries the capture never saw
    se.encode([[':status', '200'], ['server', 'x']]);
    const tailOfSomething = new Uint8Array([1, 2, 3, 4, 5]);
    d.send('client', 10, concat(tailOfSomething, headers(7, ce.encode(REQ('/after')), 0x5)), -1);
    d.send('server', 20, concat(headers(7, se.encode([[':status', '200'], ['server', 'x']]), 0x4), data(7, 'x', 1)), -1);
    d.send('server', 21, data(5, 'late', 1)); // a stream opened before the capture
    const out = d.close(30);
    expect(out.anomalies).toEqual([]);
    const r = out.byStream(7);
    expect(r).toMatchObject({ index: 1, status: 200, state: 'complete', target: '/after' });
    // :authority and user-agent referred to entries from before the capture: name and value unknown.
    expect(r.requestHeaders.filter((h) => h.name === '<unknown>')).toHaveLength(2);
    expect(r.url).toBe('http://10.0.0.2:8080/after');
    expect(out.facts).toMatchObject({ prefaceSeen: false, streamsWithoutHeaders: 1, flowControlTracked: false, flowControlStalls: [] });
  });

  it('a capture gap inside a DATA frame is counted as lost bytes of the stream', () => {
    const d = new Driver();
    start(d);
    d.send('client', 10, headers(1, new TestHpackEncoder().encode(REQ('/')), 0x5));
    const f = concat(headers(1, new TestHpackEncoder().encode([[':status', '200']])), data(1, 'a'.repeat(200), 1));
    d.send('server', 20, f.subarray(0, 50));
    d.send('server', 21, f.subarray(150), 100);
    const out = d.close(30);
    expect(out.byStream(1)).toMatchObject({ lostBytes: 100, state: 'complete' });
    expect(out.byStream(1).sizes.responseBody).toBe(200);
  });
});

describe('Http2Session.afterUpgrade (h2c)', () => {
  it('reports the upgrading request as stream 1 with the HTTP/2 response', () => {
    const se = new TestHpackEncoder();
    const d = new Driver({
      session: (out) =>
        Http2Session.afterUpgrade(INFO, out, {
          request: {
            method: 'GET',
            target: '/f1.txt',
            url: 'http://10.0.0.2:8080/f1.txt',
            headers: [
              { name: 'Host', value: '10.0.0.2:8080' },
              { name: 'HTTP2-Settings', value: 'AAMAAABkAAQCAAAAAAIAAAAA' },
            ],
            headerBytes: 120,
            bodyBytes: 0,
            startTime: 1,
            endTime: 1,
            packets: [4, 4],
          },
          index: 1,
          switchTime: 2,
          switchPacket: 6,
        }),
    });
    d.send('client', 3, concat(PREFACE, settings([])));
    d.send('server', 3.5, concat(settings([]), headers(1, se.encode([[':status', '200']])), data(1, 'f1', 1)));
    d.send('client', 4, headers(3, new TestHpackEncoder().encode(REQ('/f2.txt')), 0x5));
    const out = d.close(10);
    const r1 = out.byStream(1);
    expect(r1).toMatchObject({
      index: 1,
      method: 'GET',
      url: 'http://10.0.0.2:8080/f1.txt',
      status: 200,
      state: 'complete',
      upgrade: 'h2c',
      informational: [{ status: 101, time: 2 }],
      sizes: { requestHeaders: 120, responseBody: 2 },
      times: { requestStartTime: 1, requestEndTime: 1, responseStartTime: 3.5, responseEndTime: 3.5 },
      packets: { request: [4, 4] },
    });
    expect(out.byStream(3)).toMatchObject({ index: 2, connectionReused: true });
    expect(out.facts.client.settings[0]).toMatchObject({ via: 'HTTP2-Settings', settings: { MAX_CONCURRENT_STREAMS: 100, INITIAL_WINDOW_SIZE: 33554432, ENABLE_PUSH: 0 } });
    expect(out.anomalies).toEqual([]);
  });
});

it('Http2Session ignores unknown frame types (§5.5)', () => {
  const d = new Driver();
  start(d);
  d.send('client', 5, frame(0xbb, 0, 0, [1, 2, 3]));
  const out = d.close(10);
  expect(out.anomalies).toEqual([]);
  expect(out.facts.client.frames.unknownFrames).toBe(1);
});

it('Http2Session records head-of-line-blocked delivery times like the HTTP/1 session', () => {
  const d = new Driver();
  start(d);
  d.send('client', 10, headers(1, new TestHpackEncoder().encode(REQ('/')), 0x5));
  // The response's packet was captured at 20 but delivered in order only at 35 (a hole before it).
  d.session.onData('server', { data: concat(headers(1, new TestHpackEncoder().encode([[':status', '200']])), data(1, 'x', 1)), offset: 18, skipped: 0, time: 20, deliveredTime: 35, packet: 99 });
  const r = d.close(40).requests[0];
  expect(r.times).toMatchObject({ responseStartTime: 20, responseEndTime: 20 });
  expect(r.h2?.deliveredTimes).toEqual({ responseStartTime: 35, responseEndTime: 35 });
});

it('Http2Session: a header block with lost octets is flagged, and later blocks decode in unknown-start mode', () => {
  const d = new Driver();
  const ce = new TestHpackEncoder();
  start(d);
  d.send('client', 10, headers(1, ce.encode(REQ('/1')), 0x5));
  const h3 = headers(3, ce.encode([...REQ('/2'), ['x-pad', 'p'.repeat(40)]]), 0x5);
  d.send('client', 11, h3.subarray(0, 20));
  d.send('client', 12, h3.subarray(30), 10); // 10 octets of the block never captured
  d.send('client', 13, headers(5, ce.encode(REQ('/2')), 0x5));
  const out = d.close(20);
  expect(out.anomalies).toEqual([]);
  expect(out.byStream(3).anomalies.map((a) => a.code)).toEqual(['H2_HEADER_BLOCK_LOST']);
  expect(out.byStream(3).lostBytes).toBe(10);
  const r5 = out.byStream(5);
  expect(r5.requestHeaders.map((h) => h.name)).toContain('<unknown>');
  expect(r5.requestHeaders[0]).toEqual({ name: ':method', value: 'GET' });
});

it('Http2Session keeps the RFC 7540 priority of a request', () => {
  const d = new Driver();
  start(d);
  const block = new TestHpackEncoder().encode(REQ('/p'));
  d.send('client', 10, frame(1, 0x4 | 0x1 | 0x20, 1, concat([0x80, 0, 0, 0, 0x0f], block)));
  const r = d.close(20).requests[0];
  expect(r.h2?.priority).toEqual({ exclusive: true, dependency: 0, weight: 16 });
  expect(r.target).toBe('/p');
});
