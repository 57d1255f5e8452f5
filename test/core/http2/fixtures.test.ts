/**
 * Sessions fed with real HTTP/2 bytes captured on loopback:
 *   fixtures/h2c-prior-knowledge.pcap — nghttp -w 12 against nghttpd -m 2 with a push rule:
 *     /index.html (pushes /style.css), /big.txt (stalls on a 4095-octet stream window),
 *     /big2.txt and /missing (refused: sent before the server's MAX_CONCURRENT_STREAMS 2 arrived).
 *   fixtures/h2c-upgrade.pcap — curl --http2 against Apache mod_http2: Upgrade: h2c, three files.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Http2Session } from '../../../core/src/http2/session.js';
import type { StreamChunk } from '../../../core/src/tcp/stream.js';
import { readFixture, type FixtureConnection } from './pcap-chunks.js';
import { Recorder } from './session-harness.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

function run(c: FixtureConnection, make: (out: Recorder) => Http2Session, events = c.events): Recorder {
  const out = new Recorder();
  const s = make(out);
  for (const e of events) s.onData(e.side, e.chunk);
  for (const f of c.fins) s.onEnd(f.side, 'fin', f.time, f.packet);
  s.onClose(c.lastTime);
  return out;
}

describe('fixture h2c-prior-knowledge.pcap (nghttp → nghttpd)', () => {
  const [c] = readFixture(join(dir, 'h2c-prior-knowledge.pcap'));
  const out = run(c, (o) => new Http2Session(c.info, o, { prefaceSeen: true }));

  it('reports every stream with its outcome', () => {
    const rows = out.requests
      .map((r) => [r.index, r.streamId, r.target, r.status, r.state, r.pushed ?? false, r.sizes.responseBody])
      .sort((a, b) => (a[0] as number) - (b[0] as number));
    expect(rows).toEqual([
      [1, 13, '/index.html', 200, 'complete', false, 12],
      [2, 15, '/big.txt', 200, 'complete', false, 9430],
      [3, 17, '/big2.txt', null, 'reset', false, 0],
      [4, 19, '/missing', null, 'reset', false, 0],
      [5, 2, '/style.css', 200, 'complete', true, 7],
    ]);
    expect(out.anomalies).toEqual([]);
    for (const r of out.requests) expect(r.url.startsWith('http://127.0.0.1:38412/')).toBe(true);
  });

  it('times and packets come from the frames', () => {
    const big = out.byStream(15);
    expect(big.packets).toEqual({ request: [4, 4], response: [9, 13] });
    expect(big.times.responseStartTime).toBeGreaterThan(big.times.requestStartTime);
    expect(big.times.responseEndTime).toBeGreaterThan(big.times.responseStartTime as number);
  });

  it('finds the two flow-control stalls on /big.txt', () => {
    expect(out.facts.flowControlStalls.map((s: { streamId: number; startPacket: number; endPacket: number; dataFollowed: boolean }) => [s.streamId, s.startPacket, s.endPacket, s.dataFollowed])).toEqual([
      [15, 9, 10, true],
      [15, 11, 12, true],
    ]);
    expect((out.byStream(15).h2?.flowControl as { response: { stalls: number } }).response.stalls).toBe(2);
  });

  it('records SETTINGS, their ACKs and the GOAWAY', () => {
    expect(out.facts.client.settings[0]).toMatchObject({ packet: 4, settings: { MAX_CONCURRENT_STREAMS: 100, INITIAL_WINDOW_SIZE: 4095 }, ackPacket: 9 });
    expect(out.facts.server.settings[0]).toMatchObject({ packet: 6, settings: { MAX_CONCURRENT_STREAMS: 2 }, ackPacket: 8 });
    expect(out.closes).toEqual([['goaway', 'client sent GOAWAY (NO_ERROR), last stream 2']]);
    expect(out.facts.client.frames.byType).toEqual({ SETTINGS: 2, PRIORITY: 5, HEADERS: 4, WINDOW_UPDATE: 2, GOAWAY: 1 });
  });

  it('splitting every chunk into single octets gives the same exchanges', () => {
    const bytewise: typeof c.events = [];
    for (const e of c.events) {
      for (let i = 0; i < e.chunk.data.length; i++) {
        const ch: StreamChunk = { ...e.chunk, data: e.chunk.data.subarray(i, i + 1), offset: e.chunk.offset + i };
        bytewise.push({ side: e.side, chunk: ch });
      }
    }
    const again = run(c, (o) => new Http2Session(c.info, o, { prefaceSeen: true }), bytewise);
    expect(again.requests).toEqual(out.requests);
  });

  it('started mid-connection (preface and first packets unseen) still finds later frames', () => {
    const later = c.events.filter((e) => e.chunk.packet >= 9);
    const first = new Set<string>();
    const events = later.map((e) => {
      if (first.has(e.side)) return e;
      first.add(e.side);
      return { side: e.side, chunk: { ...e.chunk, skipped: -1 } };
    });
    const mid = run(c, (o) => new Http2Session(c.info, o, { prefaceSeen: false }), events);
    expect(mid.anomalies).toEqual([]);
    // The requests were in the unseen packet 4: responses arrive for streams never opened.
    expect(mid.facts.streamsWithoutHeaders).toBeGreaterThan(0);
    expect(mid.facts.server.frames.frames).toBeGreaterThan(5);
  });
});

describe('fixture h2c-upgrade.pcap (curl --http2 → Apache, Upgrade: h2c)', () => {
  const [c] = readFixture(join(dir, 'h2c-upgrade.pcap'));
  // Play the HTTP/1 session's part: find the end of the request head and of the 101 head.
  const text = (e: { chunk: StreamChunk }): string => Buffer.from(e.chunk.data).toString('latin1');
  const reqEv = c.events.find((e) => e.side === 'client') as { side: 'client'; chunk: StreamChunk };
  const respEv = c.events.find((e) => e.side === 'server') as { side: 'server'; chunk: StreamChunk };
  const reqEnd = text(reqEv).indexOf('\r\n\r\n') + 4;
  const respEnd = text(respEv).indexOf('\r\n\r\n') + 4;
  const headLines = text(reqEv).slice(0, reqEnd - 4).split('\r\n').slice(1);
  const headers = headLines.map((l) => ({ name: l.slice(0, l.indexOf(':')), value: l.slice(l.indexOf(':') + 1).trim() }));
  const rest = c.events.flatMap((e) => {
    const cut = e === reqEv ? reqEnd : e === respEv ? respEnd : 0;
    if (cut >= e.chunk.data.length) return [];
    return [{ side: e.side, chunk: { ...e.chunk, data: e.chunk.data.subarray(cut), offset: e.chunk.offset + cut } }];
  });
  const out = run(
    c,
    (o) =>
      Http2Session.afterUpgrade(c.info, o, {
        request: {
          method: 'GET',
          target: '/f1.txt',
          url: 'http://127.0.0.1:18121/f1.txt',
          headers,
          headerBytes: reqEnd,
          bodyBytes: 0,
          startTime: reqEv.chunk.time,
          endTime: reqEv.chunk.time,
          packets: [reqEv.chunk.packet, reqEv.chunk.packet],
        },
        index: 1,
        switchTime: respEv.chunk.time,
        switchPacket: respEv.chunk.packet,
      }),
    rest,
  );

  it('stream 1 is the upgrading request; the others follow in HTTP/2', () => {
    const rows = out.requests.map((r) => [r.index, r.streamId, r.method, r.target, r.status, r.state, r.upgrade ?? null]).sort((a, b) => (a[0] as number) - (b[0] as number));
    expect(rows).toEqual([
      [1, 1, 'GET', '/f1.txt', 200, 'complete', 'h2c'],
      [2, 3, 'GET', '/f2.txt', 200, 'complete', null],
      [3, 5, 'GET', '/f3.txt', 200, 'complete', null],
    ]);
    expect(out.byStream(1).informational).toEqual([{ status: 101, time: respEv.chunk.time }]);
    expect(out.anomalies).toEqual([]);
  });

  it('records the HTTP2-Settings header as the client’s first SETTINGS', () => {
    expect(out.facts.client.settings[0]).toMatchObject({ via: 'HTTP2-Settings', settings: { MAX_CONCURRENT_STREAMS: 100, INITIAL_WINDOW_SIZE: 33554432, ENABLE_PUSH: 0 } });
  });
});
