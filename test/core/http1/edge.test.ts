import { describe, expect, it } from 'vitest';
import { C, FIN, S, play } from './helpers.js';
import { HTTP1_ANOMALY as A, Http1Session, MAX_PAUSED_BYTES } from '../../../core/src/http1/session.js';
import { Recorder } from './helpers.js';

const GET = (path = '/', extra = '') => `GET ${path} HTTP/1.1\r\nHost: example.test\r\n${extra}\r\n`;
const OK = (body = 'hello', extra = '') => `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`;
const codes = (r: { anomalies: { code: string }[] }) => r.anomalies.map((a) => a.code);

describe('edge cases', () => {
  it('RFC 9110 §15.2: several interim responses (100, 103 Early Hints) before the final one', () => {
    const { rec } = play([C(GET(), 1), S('HTTP/1.1 100 Continue\r\n\r\n', 2), S('HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n', 3), S(OK(), 4)]);
    expect(rec.requests[0]).toMatchObject({ status: 200, informational: [{ status: 100, time: 2 }, { status: 103, time: 3 }] });
    expect(rec.requests[0].times.responseStartTime).toBe(4);
    expect(rec.requests[0].sizes.responseHeaders).toBe(OK().length - 5);
  });

  it('RFC 9112 §3.2.2 absolute-form target is the URL; HTTP/1.0 without Host uses the server address', () => {
    const a = play([C('GET http://proxy.test/x?y HTTP/1.1\r\nHost: proxy.test\r\n\r\n'), S(OK())]);
    expect(a.rec.requests[0]).toMatchObject({ url: 'http://proxy.test/x?y', target: 'http://proxy.test/x?y' });
    const b = play([C('GET /p HTTP/1.0\r\n\r\n'), S('HTTP/1.0 200 OK\r\n\r\nbody'), FIN('server')]);
    expect(b.rec.requests[0].url).toBe('http://10.0.0.2/p');
  });

  it('IPv6 server address in the URL is bracketed, non-80 port kept', () => {
    const rec = new Recorder();
    const s = new Http1Session({ id: 1, client: { ip: '::1', port: 5 }, server: { ip: '::1', port: 8080 }, scheme: 'http', transport: 'tcp', startSeen: true }, rec);
    s.onData('client', { data: Buffer.from('GET /v6 HTTP/1.0\r\n\r\n'), offset: 0, skipped: 0, time: 0, deliveredTime: 0, packet: 1 });
    s.onClose(1);
    expect(rec.requests[0].url).toBe('http://[::1]:8080/v6');
  });

  it('RFC 9112 §6.3 ¶4 response Transfer-Encoding not ending in chunked: read until close', () => {
    const { rec } = play([C(GET()), S('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxxxx'), FIN('server')]);
    expect(codes(rec.requests[0])).toContain(A.TE_NOT_CHUNKED);
    expect(rec.requests[0].sizes.responseBody).toBe(4);
    expect(rec.closes[0].reason).toBe('close-delimited-body');
  });

  it('RFC 9112 §6.3 ¶4 request Transfer-Encoding not ending in chunked: the rest of the client stream is not parsed', () => {
    const { rec } = play([C('POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\nGET /x HTTP/1.1\r\n\r\n'), S('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'), FIN('server')]);
    expect(rec.requests.map((r) => [r.method, r.status])).toEqual([['POST', 400]]);
    expect(codes(rec.requests[0])).toContain(A.TE_NOT_CHUNKED);
  });

  it('HTTP/0.9 request answered with a status line is parsed as HTTP/1.x', () => {
    const { rec } = play([C('GET /x\r\n'), S('HTTP/1.0 404 Not Found\r\nContent-Length: 2\r\n\r\nno')]);
    expect(rec.requests[0]).toMatchObject({ httpVersion: 'HTTP/0.9', status: 404 });
  });

  it('early response (413) while the request body is still being sent: emitted once the request ends', () => {
    const { rec } = play([
      C('POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc', 1),
      S('HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n', 2),
      C('defghij', 3), C(GET('/n'), 4), S(OK(), 5),
    ]);
    expect(rec.requests.map((r) => [r.target, r.status, r.pipelined, r.times.requestEndTime])).toEqual([['/up', 413, false, 3], ['/n', 200, false, 4]]);
  });

  it('gap inside a request body of known length', () => {
    const { rec } = play([C('POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\n0123456789'), C('x'.repeat(10), undefined, { skipped: 80 }), S(OK()), C(GET('/2')), S(OK())]);
    expect(rec.requests.map((r) => [r.status, r.lostBytes, r.sizes.requestBody])).toEqual([[200, 80, 100], [200, 0, 0]]);
  });

  it('gap inside one chunk of a chunked body: counted, framing continues', () => {
    const { rec } = play([C(GET()), S('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n100\r\n' + 'a'.repeat(16)), S('a'.repeat(16) + '\r\n0\r\n\r\n', undefined, { skipped: 224 }), C(GET('/2')), S(OK())]);
    expect(rec.requests.map((r) => [r.status, r.lostBytes, r.sizes.responseBody, codes(r)])).toEqual([
      [200, 224, 256, [A.GAP_IN_BODY]], [200, 0, 5, []],
    ]);
  });

  it('gap past the end of a chunk: framing lost, resync at the next status line', () => {
    const { rec } = play([C(GET() + GET('/2')), S('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc'), S('zzzz\r\n' + OK('two'), undefined, { skipped: 100 })]);
    expect(rec.requests.map((r) => r.status)).toEqual([200, 200]);
    expect(codes(rec.requests[0])).toEqual(expect.arrayContaining([A.GAP_IN_BODY, A.GAP_DESYNC]));
    expect(rec.requests[1].sizes.responseBody).toBe(3);
  });

  it('bytes after a complete response that are not a status line are skipped and reported', () => {
    const { rec } = play([C(GET() + GET('/2')), S(OK('a') + 'garbage\r\n' + OK('b'))]);
    expect(rec.requests.map((r) => r.sizes.responseBody)).toEqual([1, 1]);
    expect(rec.anomalies.map((a) => a.code)).toEqual([A.SKIPPED_BYTES]);
    expect(rec.anomalies[0].detail).toContain('9 bytes');
  });

  it('keepBodyBytes keeps the first bytes of an identity body', () => {
    const { rec } = play([C(GET()), S(OK('0123456789'))], { keepBodyBytes: 4 });
    expect(Buffer.from(rec.requests[0].http1!.body as string, 'base64').toString()).toBe('0123');
    expect(rec.requests[0].http1!.bodyTruncated).toBe(true);
  });

  it('HEAD response with Content-Encoding: decoded size 0, not unknown', () => {
    const { rec } = play([C('HEAD / HTTP/1.1\r\nHost: h\r\n\r\n'), S('HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 500\r\n\r\n')]);
    expect(rec.requests[0].sizes.responseBodyDecoded).toBe(0);
  });

  it(`upgrade answer never comes: after MAX_PAUSED_BYTES (${MAX_PAUSED_BYTES}) the held bytes are parsed as HTTP`, () => {
    const big = 'x'.repeat(MAX_PAUSED_BYTES);
    const { rec } = play([
      C(GET('/', 'Connection: Upgrade\r\nUpgrade: websocket\r\n')),
      C(GET('/2')), C(big), C(GET('/3')),
    ]);
    expect(rec.anomalies.map((a) => a.code)).toContain(A.PAUSED_LIMIT);
    expect(rec.requests.map((r) => r.target)).toEqual(['/', '/2', '/3']);
  });

  it('a response started with a 100 but never finished at capture end is incomplete', () => {
    const { rec } = play([C(GET()), S('HTTP/1.1 100 Continue\r\n\r\n')]);
    expect(rec.requests[0]).toMatchObject({ state: 'incomplete-response', status: null, informational: [{ status: 100 }] });
    expect(rec.requests[0].packets.response).toBeNull();
  });

  it('connection-level protocol: HTTP/1.1 request answered by HTTP/1.0 → http/1.0', () => {
    const { rec } = play([C(GET()), S('HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx'), FIN('server')]);
    expect(rec.protocols).toEqual(['http/1.1', 'http/1.0']);
    expect(rec.requests[0].http1?.responseHttpVersion).toBe('HTTP/1.0');
  });
});

describe('robustness: mutated conversations never throw and never break the draft invariants', () => {
  const base = [
    GET('/a'), OK('x'.repeat(30)), 'POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n',
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n3;e=1\r\nabc\r\n0\r\nT: 1\r\n\r\n',
    'HEAD /c HTTP/1.0\r\nConnection: keep-alive\r\n\r\n', 'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 9\r\n\r\n',
    GET('/d', 'Upgrade: websocket\r\nConnection: upgrade\r\n'), 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x00',
  ];
  it('2000 seeded mutations (byte flips, deletions, gaps, random chunking)', async () => {
    let seed = 1234;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    const states = new Set(['complete', 'no-response', 'incomplete-response', 'aborted', 'reset']);
    for (let k = 0; k < 2000; k++) {
      const steps = base.map((m, i) => {
        let b = Buffer.from(m, 'latin1');
        const op = rnd(6);
        if (op === 0 && b.length) { b = Buffer.from(b); b[rnd(b.length)] = rnd(256); }
        if (op === 1 && b.length > 2) { const at = rnd(b.length); b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + rnd(5))]); }
        const more = op === 2 ? { skipped: 1 + rnd(40) } : op === 3 && i < 2 ? { skipped: -1 } : {};
        return (i % 2 === 0 ? C : S)(new Uint8Array(b), undefined, more);
      });
      if (rnd(3) === 0) steps.push(rnd(2) ? FIN('server') : { end: 'client', how: 'rst' });
      const split = (n: number) => { const out: number[] = []; for (let l = n; l > 0;) { const c = Math.min(l, 1 + rnd(30)); out.push(c); l -= c; } return out; };
      const { rec, session } = play(steps, { split });
      await session.settled();
      let prev = 0;
      for (const r of rec.requests) {
        expect(r.index).toBe(prev + 1);
        prev = r.index;
        expect(states.has(r.state)).toBe(true);
        expect(r.lostBytes).toBeGreaterThanOrEqual(0);
        expect(r.sizes.responseBodyWire).toBeGreaterThanOrEqual(r.sizes.responseBody);
        if (r.times.responseStartTime !== null && r.times.responseEndTime !== null)
          expect(r.times.responseEndTime).toBeGreaterThanOrEqual(r.times.responseStartTime);
      }
      expect(rec.closes.length).toBeLessThanOrEqual(1);
    }
  });
});

describe('chunk sizes', () => {
  it('RFC 9112 §7.1 a chunk size beyond 2^52 is refused as invalid, not mis-added', () => {
    const { rec } = play([C(GET()), S('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\n'), C(GET('/2')), S(OK())]);
    expect(codes(rec.requests[0])).toContain(A.CHUNK_SIZE_INVALID);
    expect(rec.requests[1]).toMatchObject({ status: 200 });
  });
  it('upper- and lower-case hex, leading zeros', () => {
    const { rec } = play([C(GET()), S('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n00A\r\n0123456789\r\na\r\n0123456789\r\n000\r\n\r\n')]);
    expect(rec.requests[0].sizes.responseBody).toBe(20);
    expect(rec.requests[0].anomalies).toEqual([]);
  });
});
