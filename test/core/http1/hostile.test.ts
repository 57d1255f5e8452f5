/**
 * Hostile inputs stay linear and bounded: deep HTTP/1.1 pipelining (tens of thousands of requests
 * answered in order), hundreds of thousands of pipelined requests never answered (bounded by
 * MAX_OUTSTANDING_REQUESTS), and a body with thousands of TCP holes after thousands of framing
 * anomalies. Each case is driven straight into one session, at a size where the former quadratic
 * (or unbounded) code took seconds (or hundreds of MB). Time is only a hang guard; the assertions
 * are on what the session reports and, for the unbounded case, on the heap.
 */
import { describe, expect, it } from 'vitest';
import {
  HTTP1_ANOMALY as A,
  Http1Session,
  MAX_ANOMALIES_PER_EXCHANGE,
  MAX_OUTSTANDING_REQUESTS,
  type Http1SessionOptions,
} from '../../../core/src/http1/session.js';
import type { Side } from '../../../core/src/model/types.js';
import { INFO, Recorder } from './helpers.js';
import { liveHeap, MB } from '../../helpers/heap.js';

/** Feeds one session packet by packet, keeping per-side offsets and packet numbers. */
function feeder(opts: Http1SessionOptions = {}) {
  const rec = new Recorder();
  const counters: Record<string, number> = {};
  const session = new Http1Session(INFO, rec, { count: (n, k = 1) => void (counters[n] = (counters[n] ?? 0) + k), ...opts });
  const offset = { client: 0, server: 0 };
  let packet = 0;
  return {
    rec,
    counters,
    session,
    send(side: Side, data: string | Buffer, time: number, skipped = 0): void {
      const b = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
      offset[side] += skipped;
      session.onData(side, { data: b, offset: offset[side], skipped, time, deliveredTime: time, packet: ++packet });
      offset[side] += b.length;
    },
    close(time: number): void {
      session.onClose(time);
    },
  };
}

describe('hostile HTTP/1 inputs', () => {
  it('RFC 9112 §9.3.2 pipelining: 100,000 requests then 100,000 in-order responses, linear in the depth', () => {
    const n = 100_000;
    const req = 'GET /x HTTP/1.1\r\nHost: a\r\n\r\n';
    const resp = 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx';
    // Linearity at this depth needs every exchange recorded: the limit raised to the depth (the
    // default MAX_OUTSTANDING_REQUESTS case is the next test).
    const f = feeder({ maxOutstandingRequests: n });
    const t0 = performance.now();
    // Requests in ~1400-byte segments (as the audit capture), all sent before any response.
    const perSegment = Math.floor(1400 / req.length);
    for (let i = 0; i < n; i += perSegment) f.send('client', req.repeat(Math.min(perSegment, n - i)), 1);
    expect(f.rec.requests).toHaveLength(0);
    for (let i = 0; i < n; i++) f.send('server', resp, 2 + i * 1e-3);
    f.close(2 + n * 1e-3);
    const ms = performance.now() - t0;
    expect(f.rec.requests).toHaveLength(n);
    expect(f.rec.requests.every((r, i) => r.index === i + 1 && r.status === 200 && r.pipelined === i > 0)).toBe(true);
    expect(f.rec.requests[n - 1].times.responseStartTime).toBeCloseTo(2 + (n - 1) * 1e-3);
    expect(f.rec.anomalies).toEqual([]);
    expect(ms).toBeLessThan(10_000);
  });

  it(`260,000 pipelined requests never answered: the first MAX_OUTSTANDING_REQUESTS (${MAX_OUTSTANDING_REQUESTS}) recorded, the rest counted, heap bounded`, () => {
    // The audit capture: 4.7 MB of `GET / HTTP/1.1` in ~1400-byte segments, no response; it held
    // 780 MB (~0.75 KiB per waiting exchange here, then a request record each at close).
    const n = 260_000;
    const req = 'GET / HTTP/1.1\r\n\r\n';
    const f = feeder();
    const heap0 = liveHeap();
    const t0 = performance.now();
    const perSegment = Math.floor(1400 / req.length);
    for (let i = 0; i < n; i += perSegment) f.send('client', req.repeat(Math.min(perSegment, n - i)), 1 + i * 1e-4);
    const waiting = liveHeap() - heap0;
    f.rec.tcpClose = { side: 'client', how: 'fin', time: 100 };
    f.session.onEnd('client', 'fin', 100, 9999);
    f.close(100);
    const settled = liveHeap() - heap0; // with the 10,000 records the Recorder keeps
    const ms = performance.now() - t0;

    // The first exchanges are recorded (unanswered), numbered 1..MAX; the rest only counted.
    expect(f.rec.requests).toHaveLength(MAX_OUTSTANDING_REQUESTS);
    expect(f.rec.requests.every((r, i) => r.index === i + 1 && r.state === 'aborted' && r.status === null)).toBe(true); // the client closed first
    expect(f.counters).toEqual({ http1RequestsNotRecorded: n - MAX_OUTSTANDING_REQUESTS });
    expect(f.rec.extras.requestsNotRecorded).toEqual({ count: n - MAX_OUTSTANDING_REQUESTS, answered: 0, unanswered: n - MAX_OUTSTANDING_REQUESTS });
    expect(f.rec.anomalies).toHaveLength(1);
    expect(f.rec.anomalies[0]).toMatchObject({
      code: A.REQUESTS_NOT_RECORDED,
      detail: `${n - MAX_OUTSTANDING_REQUESTS} request(s) sent while ${MAX_OUTSTANDING_REQUESTS} were waiting for responses (MAX_OUTSTANDING_REQUESTS) were parsed but not recorded; 0 of them answered`,
    });
    // What the close reason and the detectors count: every unanswered request, recorded or not.
    expect(f.rec.closes.at(-1)!.detail).toContain(`with ${n} exchange(s) unanswered`);
    // reusableAfter is not padded for requests that were never recorded.
    expect(f.rec.keepAlive_!.reusableAfter.length).toBeLessThanOrEqual(MAX_OUTSTANDING_REQUESTS);
    // Live heap: 10,000 waiting exchanges (~0.75 KiB each) then their records, where all 260,000
    // were kept (~190 MB waiting, then ~600 MB of records at close).
    expect(waiting).toBeLessThan(40 * MB);
    expect(settled).toBeLessThan(60 * MB);
    expect(ms).toBeLessThan(20_000);
  });

  it('responses to requests past the limit are parsed and dropped in order (HEAD framing kept); recording resumes after them', () => {
    const f = feeder({ maxOutstandingRequests: 3 });
    // Recorded: /0 /1 /2; past the limit: HEAD /3, GET /4.
    for (const t of ['GET /0', 'GET /1', 'GET /2', 'HEAD /3', 'GET /4']) f.send('client', `${t} HTTP/1.1\r\nHost: a\r\n\r\n`, 1);
    // Five responses; the one to HEAD announces 5 octets but carries none (RFC 9112 §6.3 ¶1).
    for (let i = 0; i < 5; i++) f.send('server', i === 3 ? 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n' : `HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nbody${i}`, 2 + i);
    // All answered: the next request is recorded again, numbered by its position on the connection.
    f.send('client', 'GET /5 HTTP/1.1\r\nHost: a\r\n\r\n', 8);
    f.send('server', 'HTTP/1.1 204 No Content\r\n\r\n', 9);
    f.close(10);
    expect(f.rec.requests.map((r) => [r.index, r.target, r.status, r.state])).toEqual([
      [1, '/0', 200, 'complete'],
      [2, '/1', 200, 'complete'],
      [3, '/2', 200, 'complete'],
      [6, '/5', 204, 'complete'],
    ]);
    expect(f.rec.anomalies.map((a) => a.code)).toEqual([A.REQUESTS_NOT_RECORDED]); // no response-without-request
    expect(f.rec.anomalies[0].detail).toBe('2 request(s) sent while 3 were waiting for responses (MAX_OUTSTANDING_REQUESTS) were parsed but not recorded; 2 of them answered');
    expect(f.rec.extras.requestsNotRecorded).toEqual({ count: 2, answered: 2, unanswered: 0 });
    expect(f.counters).toEqual({ http1RequestsNotRecorded: 2 });
    expect(f.rec.keepAlive_!.reusableAfter).toEqual([true, true, true, true, true, true]);
  });

  it('pipelining with interleaved orphan responses and unanswered requests keeps request order', () => {
    // An unsolicited response first (orphan, put at the head of the queue), then 3,000 requests
    // of which the first 2,000 are answered; the rest are settled at close.
    const f = feeder();
    f.send('server', 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nab', 1);
    for (let i = 0; i < 3000; i++) f.send('client', `GET /${i} HTTP/1.1\r\nHost: a\r\n\r\n`, 2);
    for (let i = 0; i < 2000; i++) f.send('server', 'HTTP/1.1 204 No Content\r\n\r\n', 3);
    f.close(4);
    expect(f.rec.anomalies.map((a) => a.code)).toEqual([A.RESPONSE_WITHOUT_REQUEST]);
    expect(f.rec.requests.map((r) => r.target)).toEqual(Array.from({ length: 3000 }, (_, i) => `/${i}`));
    expect(f.rec.requests.filter((r) => r.status === 204)).toHaveLength(2000);
    expect(f.rec.requests.slice(2000).every((r) => r.state === 'no-response')).toBe(true);
  });

  it('40,000 one-byte holes in a chunk after 40,000 framing anomalies: anomalies capped, losses all counted', () => {
    const N = 40_000;
    const G = 40_000;
    const f = feeder();
    const t0 = performance.now();
    f.send('client', 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', 1);
    // Each `1\r\nx` chunk lacks its CRLF: one chunk-missing-crlf per 4 bytes (RFC 9112 §7.1).
    const body = Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' + '1\r\nx'.repeat(N) + '\r\nFFFFFFF\r\n', 'latin1');
    for (let i = 0; i < body.length; i += 1400) f.send('server', body.subarray(i, i + 1400), 2);
    // Then a huge chunk with G one-byte holes, each followed by 10 captured bytes.
    const y = Buffer.alloc(10, 'y');
    for (let g = 0; g < G; g++) f.send('server', y, 3, 1);
    f.close(4);
    const ms = performance.now() - t0;
    expect(f.rec.requests).toHaveLength(1);
    const r = f.rec.requests[0];
    expect(r.lostBytes).toBe(G);
    expect(r.sizes.responseBody).toBe(N + G * 11);
    expect(r.anomalies).toHaveLength(MAX_ANOMALIES_PER_EXCHANGE + 1);
    expect(r.anomalies.slice(0, MAX_ANOMALIES_PER_EXCHANGE).every((a) => a.code === A.CHUNK_MISSING_CRLF)).toBe(true);
    // The last entry counts what was dropped: N - 1 - MAX chunk-missing-crlf, and the one gap-in-body.
    const last = r.anomalies[MAX_ANOMALIES_PER_EXCHANGE];
    expect(last.code).toBe(A.ANOMALIES_DROPPED);
    expect(last.detail).toMatch(new RegExp(`^${N - MAX_ANOMALIES_PER_EXCHANGE} more anomalies`));
    expect(ms).toBeLessThan(10_000);
  });

  it('a gap in a body is reported once however many holes follow (below the cap)', () => {
    const f = feeder();
    f.send('client', 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', 1);
    f.send('server', 'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n', 2);
    for (let g = 0; g < 50; g++) f.send('server', 'y'.repeat(10), 3, 1);
    f.send('server', 'y'.repeat(450), 4);
    f.close(5);
    const r = f.rec.requests[0];
    expect(r.anomalies.map((a) => a.code)).toEqual([A.GAP_IN_BODY]);
    expect(r.anomalies[0].packet).toBe(3);
    expect([r.status, r.state, r.lostBytes, r.sizes.responseBody]).toEqual([200, 'complete', 50, 1000]);
  });
});
