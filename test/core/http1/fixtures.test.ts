/**
 * Real bytes: TCP connections from the committed sample captures (nginx, curl, node), extracted with
 * tshark by fixtures/extract.mjs, replayed into Http1Session one packet per chunk. Expected values
 * come from tshark's HTTP dissector and samples/ground-truth.json.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import type { Side } from '../../../core/src/model/types.js';
import { Http1Session, type Http1SessionOptions } from '../../../core/src/http1/session.js';
import type { StreamChunk } from '../../../core/src/tcp/stream.js';
import { INFO, Recorder } from './helpers.js';

type Event =
  | { side: Side; packet: number; time: number; skipped: number; hex: string }
  | { end: Side; how: 'fin' | 'rst'; packet: number; time: number };

async function replay(name: string, split = false, opts: Http1SessionOptions = {}) {
  const fx = JSON.parse(readFileSync(new URL(`./fixtures/${name}.json`, import.meta.url), 'utf8')) as { events: Event[] };
  const rec = new Recorder();
  const session = new Http1Session(INFO, rec, opts);
  const offset = { client: 0, server: 0 };
  let last = 0;
  for (const e of fx.events) {
    last = e.time;
    if ('end' in e) {
      rec.tcpClose ??= { side: e.end, how: e.how, time: e.time }; // TCP's close record: the first FIN/RST
      session.onEnd(e.end, e.how, e.time, e.packet);
      continue;
    }
    const data = new Uint8Array(Buffer.from(e.hex, 'hex'));
    offset[e.side] += e.skipped;
    const cuts = split ? [Math.floor(data.length / 3), Math.floor(data.length / 3), data.length - 2 * Math.floor(data.length / 3)] : [data.length];
    let from = 0;
    for (const [i, n] of cuts.entries()) {
      session.onData(e.side, { data: data.subarray(from, from + n), offset: offset[e.side], skipped: i === 0 ? e.skipped : 0, time: e.time, deliveredTime: e.time, packet: e.packet });
      offset[e.side] += n;
      from += n;
    }
  }
  session.onClose(last);
  await session.settled();
  return rec;
}

describe('real captures (tshark-extracted bytes)', () => {
  it('chunked-gzip stream 0: gzip + chunked, decoded like tshark (3465 → 88800, 46 → 125)', async () => {
    const rec = await replay('chunked-gzip-0');
    expect(rec.requests.map((r) => [r.target, r.status, r.sizes.responseBody, r.sizes.responseBodyDecoded, r.state])).toEqual([
      ['/big.txt', 200, 3465, 88800, 'complete'],
      ['/f5.txt', 200, 46, 125, 'complete'],
    ]);
    expect(rec.requests[1]).toMatchObject({ connectionReused: true, pipelined: false });
    expect(rec.closes[0].reason).toBe('client-close');
  });

  it('chunked-gzip stream 1: five data chunks (45…165) and an X-Checksum trailer', async () => {
    const rec = await replay('chunked-gzip-1');
    const r = rec.requests[0];
    expect(r).toMatchObject({ target: '/stream', status: 200, state: 'complete' });
    expect(r.sizes.responseBody).toBe(525);
    expect(r.sizes.responseBody + r.sizes.responseHeaders).toBeLessThan(792);
    expect(r.sizes.responseBodyWire + r.sizes.responseHeaders).toBe(792); // tshark tcp.reassembled.length
    expect(r.trailers?.map((h) => h.name)).toEqual(['X-Checksum']);
  });

  it('expect-100-continue: 100 then 201, 4096-byte request body', async () => {
    const rec = await replay('expect-100-continue-0');
    expect(rec.requests).toHaveLength(1);
    const r = rec.requests[0];
    expect(r).toMatchObject({ method: 'POST', status: 201, state: 'complete' });
    expect(r.informational?.map((i) => i.status)).toEqual([100]);
    expect(r.sizes.requestBody).toBe(4096);
    expect(r.informational![0].time).toBeLessThan(r.times.requestEndTime!);
  });

  it('pipelining: three requests in one segment, answered in order', async () => {
    const rec = await replay('pipelining-0');
    expect(rec.requests.map((r) => [r.target, r.status, r.pipelined])).toEqual([
      ['/slow', 200, false], ['/fast1', 200, true], ['/fast2', 200, true],
    ]);
    expect(rec.requests[0].packets.request).toEqual(rec.requests[2].packets.request);
    // Head-of-line blocking: /fast1 is answered only after /slow (≈ 0.5 s).
    expect(rec.requests[1].times.responseStartTime! - rec.requests[1].times.requestStartTime).toBeGreaterThan(400);
  });

  it('keepalive-timeout-max: nginx Keep-Alive timeout=5, third response closes', async () => {
    const rec = await replay('keepalive-timeout-max-0');
    expect(rec.requests).toHaveLength(3);
    expect(rec.keepAlive_).toMatchObject({ defaultPersistent: true, timeoutS: 5, reusableAfter: [true, true, false] });
    expect(rec.closes[0].reason).toBe('connection-close-header');
  });

  it('close-delimited: body ends at the server FIN', async () => {
    const rec = await replay('close-delimited-0');
    expect(rec.requests[0]).toMatchObject({ status: 200, state: 'complete' });
    expect(rec.requests[0].http1?.closeDelimited).toBe(true);
    expect(rec.closes[0].reason).toBe('close-delimited-body');
  });

  it('idle-timeout: nginx closes after 2 s idle (no Keep-Alive header, so a plain server close with the idle time)', async () => {
    const rec = await replay('idle-timeout-0');
    expect(rec.closes[0].reason).toBe('server-close');
    expect(rec.closes[0].detail).toMatch(/after 2\.0 s idle/);
  });

  it('http10-keepalive: HTTP/1.0 requests with Keep-Alive, HTTP/1.1 responses', async () => {
    const rec = await replay('http10-keepalive-0');
    expect(rec.requests.map((r) => r.httpVersion)).toEqual(['HTTP/1.0', 'HTTP/1.0', 'HTTP/1.0', 'HTTP/1.0']);
    expect(rec.keepAlive_).toMatchObject({ defaultPersistent: false, reusableAfter: [true, true, true, true] });
    expect(rec.protocols[0]).toBe('http/1.0');
  });

  it('h2c-upgrade (Apache): 101 then every later byte goes to the HTTP/2 sink, preface first', async () => {
    const got: { side: Side; chunk: StreamChunk }[] = [];
    const ends: string[] = [];
    let kind = '';
    const rec = await replay('h2c-upgrade-0', false, {
      onUpgrade: (k, h) => {
        kind = k;
        expect(h.request).toMatchObject({ target: '/f1.txt', status: 101, upgrade: 'h2c' });
        expect(h.clientRest).toEqual([]);
        expect(h.serverRest).toEqual([]);
        return { onData: (side, chunk) => got.push({ side, chunk }), onEnd: (side, how) => ends.push(`${side} ${how}`) };
      },
    });
    expect(kind).toBe('h2c');
    expect(rec.requests).toHaveLength(1);
    expect(rec.protocols).toEqual(['http/1.1', 'h2c']);
    expect(got.map((g) => g.chunk.packet)).toEqual([8, 10, 11, 12, 14, 15, 16, 17, 19]);
    const firstClient = got.find((g) => g.side === 'client')!;
    expect(Buffer.from(firstClient.chunk.data).subarray(0, 24).toString('latin1')).toBe('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    expect(ends).toEqual(['client fin']);
  });

  it('websocket (node): 101, frames counted not parsed, FIN by the server', async () => {
    const rec = await replay('websocket-0');
    expect(rec.requests).toHaveLength(1);
    expect(rec.requests[0]).toMatchObject({ target: '/chat', status: 101, upgrade: 'websocket', state: 'complete' });
    expect(rec.protocols).toEqual(['http/1.1', 'websocket']);
    // server: text frame "hello" (7) + close frame (2); client: masked "hi" (8)
    expect(rec.extras.upgradedBytes).toEqual({ client: 8, server: 9 });
    expect(rec.closes[0].reason).toBe('server-close');
  });

  it.each(['chunked-gzip-0', 'chunked-gzip-1', 'expect-100-continue-0', 'pipelining-0', 'keepalive-timeout-max-0', 'close-delimited-0', 'http10-keepalive-0'])(
    '%s: every packet cut in three gives the same result', async (name) => {
      const a = await replay(name);
      const b = await replay(name, true);
      expect(b.requests).toEqual(a.requests);
      expect(b.closes).toEqual(a.closes);
    });
});
