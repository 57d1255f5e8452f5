/**
 * Hostile inputs stay linear: deep HTTP/1.1 pipelining (tens of thousands of requests answered in
 * order) and a body with thousands of TCP holes after thousands of framing anomalies. Each case is
 * driven straight into one session, at a size where the former quadratic code took seconds.
 * Time is only a hang guard; the assertions are on what the session reports.
 */
import { describe, expect, it } from 'vitest';
import { HTTP1_ANOMALY as A, Http1Session, MAX_ANOMALIES_PER_EXCHANGE } from '../../../core/src/http1/session.js';
import type { Side } from '../../../core/src/model/types.js';
import { INFO, Recorder } from './helpers.js';

/** Feeds one session packet by packet, keeping per-side offsets and packet numbers. */
function feeder() {
  const rec = new Recorder();
  const session = new Http1Session(INFO, rec);
  const offset = { client: 0, server: 0 };
  let packet = 0;
  return {
    rec,
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
    const f = feeder();
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
