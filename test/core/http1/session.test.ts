import { describe, expect, it } from 'vitest';
import { gzipSync, brotliCompressSync, deflateRawSync } from 'node:zlib';
import { C, FIN, RST, S, play, summary, type Step } from './helpers.js';
import { HTTP1_ANOMALY as A, MAX_HEADER_BYTES, type UpgradeHandoff } from '../../../core/src/http1/session.js';
import type { StreamSink } from '../../../core/src/tcp/stream.js';

const GET = (path = '/', extra = '') => `GET ${path} HTTP/1.1\r\nHost: example.test\r\n${extra}\r\n`;
const OK = (body = 'hello', extra = '') => `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`;

describe('RFC 9112 §6 message framing', () => {
  it('§6.3 ¶6 Content-Length response: sizes, times, url, headers in wire order', () => {
    const { rec } = play([C(GET('/a?x=1', 'X-B: 2\r\nx-a: 1\r\n'), 10), S(OK('hello'), 25), FIN('client', 30), FIN('server', 31)]);
    expect(rec.requests).toHaveLength(1);
    const r = rec.requests[0];
    expect(r).toMatchObject({
      index: 1, method: 'GET', url: 'http://example.test/a?x=1', target: '/a?x=1', httpVersion: 'HTTP/1.1',
      status: 200, statusText: 'OK', pipelined: false, connectionReused: false, state: 'complete', lostBytes: 0,
      packets: { request: [1, 1], response: [2, 2] },
    });
    expect(r.requestHeaders.map((h) => h.name)).toEqual(['Host', 'X-B', 'x-a']);
    expect(r.sizes).toEqual({
      requestHeaders: GET('/a?x=1', 'X-B: 2\r\nx-a: 1\r\n').length, requestBody: 0,
      responseHeaders: OK('hello').length - 5, responseBody: 5, responseBodyWire: 5, responseBodyDecoded: 5,
    });
    expect(r.times).toMatchObject({ requestStartTime: 10, requestEndTime: 10, responseStartTime: 25, responseEndTime: 25, queuedTime: null, connectStartTime: null });
    expect(rec.protocols).toEqual(['http/1.1']);
  });

  it('§6.3 ¶4 chunked with extensions and trailers (RFC 9112 §7.1.1, §7.1.2)', () => {
    const body = '5;name=value\r\nhello\r\n6 ; q="x"\r\n world\r\n0\r\nX-Checksum: abc\r\n\r\n';
    const { rec } = play([C(GET()), S(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${body}`), C(GET('/2')), S(OK('x'))]);
    expect(rec.requests).toHaveLength(2);
    expect(rec.requests[0].sizes).toMatchObject({ responseBody: 11, responseBodyWire: body.length });
    expect(rec.requests[0].trailers).toEqual([{ name: 'X-Checksum', value: 'abc' }]);
    expect(rec.requests[1]).toMatchObject({ status: 200, index: 2, connectionReused: true, pipelined: false });
  });

  it('§6.3 ¶7 chunked request body, then the response', () => {
    const { rec } = play([C('POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'), S(OK('ok'))]);
    expect(rec.requests[0]).toMatchObject({ method: 'POST', state: 'complete' });
    expect(rec.requests[0].sizes.requestBody).toBe(3);
  });

  it('§6.3 ¶8 close-delimited response ends at the server FIN', () => {
    const { rec } = play([C(GET()), S('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nabc'), S('def'), FIN('server', 9)]);
    expect(rec.requests[0]).toMatchObject({ state: 'complete' });
    expect(rec.requests[0].sizes.responseBody).toBe(6);
    expect(rec.requests[0].times.responseEndTime).toBe(3);
    expect(rec.keepAlive_?.reusableAfter).toEqual([false]);
    expect(rec.closes[0].reason).toBe('close-delimited-body');
  });

  it.each([
    ['HEAD request (RFC 9110 §9.3.2)', 'HEAD', 'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n'],
    ['204 No Content (RFC 9110 §15.3.5)', 'GET', 'HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n'],
    ['304 Not Modified (RFC 9110 §15.4.5)', 'GET', 'HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n'],
  ])('§6.3 ¶1 no body: %s', (_name, method, head) => {
    const { rec } = play([C(`${method} / HTTP/1.1\r\nHost: h\r\n\r\n`), S(head), C(GET('/next')), S(OK('yo'))]);
    expect(rec.requests.map((r) => [r.status, r.sizes.responseBody, r.state])).toEqual([
      [Number(head.slice(9, 12)), 0, 'complete'], [200, 2, 'complete'],
    ]);
  });

  it('RFC 9110 §10.1.1 / §15.2.1 Expect: 100-continue → interim 100 then the final response', () => {
    const { rec } = play([
      C('PUT /f HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n', 1),
      S('HTTP/1.1 100 Continue\r\n\r\n', 2), C('data', 3), S(OK('done'), 5),
    ]);
    expect(rec.requests).toHaveLength(1);
    expect(rec.requests[0]).toMatchObject({ status: 200, informational: [{ status: 100, time: 2 }], state: 'complete' });
    expect(rec.requests[0].times).toMatchObject({ requestEndTime: 3, responseStartTime: 5 });
  });

  it('RFC 9110 §10.1.1 final response instead of 100: a client that skips the body goes on with the next request', () => {
    const { rec } = play([
      C('PUT /f HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 400\r\n\r\n'),
      S('HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n'), C(GET('/after')), S(OK()),
    ]);
    expect(rec.requests.map((r) => [r.target, r.status])).toEqual([['/f', 401], ['/after', 200]]);
    expect(rec.requests[0].anomalies.map((a) => a.code)).toContain(A.EXPECT_BODY_SKIPPED);
  });
});

describe('RFC 9112 §9.3 persistence and pipelining', () => {
  it('§9.3.2 pipelining: requests sent before earlier responses complete are marked', () => {
    const { rec } = play([C(GET('/1') + GET('/2')), C(GET('/3')), S(OK('a') + OK('bb')), S(OK('ccc'))]);
    expect(rec.requests.map((r) => [r.target, r.index, r.pipelined, r.sizes.responseBody])).toEqual([
      ['/1', 1, false, 1], ['/2', 2, true, 2], ['/3', 3, true, 3],
    ]);
    expect(rec.keepAlive_?.reusableAfter).toEqual([true, true, true]);
  });

  it.each<[string, string, string, boolean, boolean, string]>([
    ['HTTP/1.1 default persistent', 'HTTP/1.1', 'HTTP/1.1 200 OK', true, true, 'server-close'],
    ['HTTP/1.0 default not persistent', 'HTTP/1.0', 'HTTP/1.0 200 OK', false, false, 'http10-no-keepalive'],
    ['HTTP/1.0 + Connection: keep-alive both ways', 'HTTP/1.0|Connection: keep-alive', 'HTTP/1.0 200 OK|Connection: keep-alive', false, true, 'server-close'],
    ['HTTP/1.1 client, HTTP/1.0 server', 'HTTP/1.1', 'HTTP/1.0 200 OK', false, false, 'http10-no-keepalive'],
    ['server Connection: close', 'HTTP/1.1', 'HTTP/1.1 200 OK|Connection: close', true, false, 'connection-close-header'],
    ['client Connection: close', 'HTTP/1.1|Connection: close', 'HTTP/1.1 200 OK', true, false, 'connection-close-header'],
  ])('§9.3 %s', (_n, req, resp, defaultPersistent, reusable, reason) => {
    const [rv, rh] = req.split('|');
    const [sl, sh] = resp.split('|');
    const { rec } = play([
      C(`GET / ${rv}\r\nHost: h\r\n${rh ? rh + '\r\n' : ''}\r\n`),
      S(`${sl}\r\nContent-Length: 2\r\n${sh ? sh + '\r\n' : ''}\r\nok`),
      FIN('server'), FIN('client'),
    ]);
    expect(rec.keepAlive_).toMatchObject({ defaultPersistent, reusableAfter: [reusable] });
    expect(rec.closes[0].reason).toBe(reason);
  });

  it('Keep-Alive: timeout=N, max=M parsed; idle close ≈ timeout → idle-timeout', () => {
    const { rec } = play([
      C(GET(), 0), S(OK('ok', 'Keep-Alive: timeout=5, max=100\r\n'), 10),
      FIN('server', 5012), FIN('client', 5013),
    ]);
    expect(rec.keepAlive_).toMatchObject({ timeoutS: 5, max: 100, reusableAfter: [true] });
    expect(rec.closes[0].reason).toBe('idle-timeout');
  });

  it('idle far from the advertised timeout is a plain server close', () => {
    const { rec } = play([C(GET(), 0), S(OK('ok', 'Keep-Alive: timeout=5\r\n'), 10), FIN('server', 1500)]);
    expect(rec.closes[0].reason).toBe('server-close');
  });

  it('Apache-style max countdown → max-requests', () => {
    const { rec } = play([
      C(GET('/1')), S(OK('a', 'Keep-Alive: timeout=5, max=2\r\n')),
      C(GET('/2')), S(OK('b', 'Keep-Alive: timeout=5, max=1\r\n')),
      C(GET('/3')), S(OK('c', 'Connection: close\r\n')), FIN('server'),
    ]);
    expect(rec.keepAlive_?.reusableAfter).toEqual([true, true, false]);
    expect(rec.closes[0].reason).toBe('max-requests');
  });

  it('Proxy-Connection is recorded', () => {
    const { rec } = play([C(GET('/', 'Proxy-Connection: keep-alive\r\n')), S(OK())]);
    expect(rec.keepAlive_?.proxyConnection).toBe('keep-alive');
  });

  it.each<[string, Step[], string[], string]>([
    ['no response, capture end', [C(GET())], ['no-response'], 'capture-end'],
    ['response cut short, capture end', [C(GET()), S('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc')], ['incomplete-response'], 'capture-end'],
    ['server RST mid-response', [C(GET()), S('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'), RST('server')], ['reset'], 'rst'],
    ['client gives up (FIN)', [C(GET()), FIN('client'), FIN('server')], ['aborted'], 'client-close'],
    ['client RST', [C(GET()), RST('client')], ['aborted'], 'rst'],
    ['server FIN, no answer', [C(GET()), FIN('server')], ['no-response'], 'server-close'],
  ])('exchange state at close: %s', (_n, steps, states, reason) => {
    const { rec } = play(steps);
    expect(rec.requests.map((r) => r.state)).toEqual(states);
    expect(rec.closes[0].reason).toBe(reason);
  });
});

describe('RFC 9110 §7.8 Upgrade, §9.3.6 CONNECT, HTTP/0.9', () => {
  it('101 websocket: later bytes are not parsed as HTTP, protocol websocket', () => {
    const { rec } = play([
      C(GET('/ws', 'Connection: Upgrade\r\nUpgrade: websocket\r\n')),
      S('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x02hi'),
      C('\x81\x82abcdXX'), S('GET / HTTP/1.1\r\n\r\n'),
    ]);
    expect(rec.requests).toHaveLength(1);
    expect(rec.requests[0]).toMatchObject({ status: 101, upgrade: 'websocket', state: 'complete' });
    expect(rec.protocols).toEqual(['http/1.1', 'websocket']);
    expect(rec.extras.upgradedBytes).toEqual({ client: 8, server: 4 + 18 });
  });

  it('101 h2c: onUpgrade gets the rest of both directions, then every later byte', () => {
    const got: [string, string][] = [];
    let handoff: UpgradeHandoff | null = null;
    const sink: StreamSink = { onData: (side, c) => got.push([side, Buffer.from(c.data).toString('latin1')]) };
    const { rec } = play(
      [
        C(GET('/', 'Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n')),
        C('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
        S('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00'),
        C('\x00\x00\x00\x04\x01\x00\x00\x00\x00'),
      ],
      { onUpgrade: (kind, h) => (kind === 'h2c' ? ((handoff = h), sink) : null) },
    );
    expect(rec.requests[0]).toMatchObject({ status: 101, upgrade: 'h2c' });
    expect(handoff!.request).toMatchObject({ status: 101, upgrade: 'h2c', index: 1 });
    expect(handoff!.clientRest).toHaveLength(1);
    expect(handoff!.serverRest).toHaveLength(1);
    expect(got.map(([s]) => s)).toEqual(['client', 'server', 'client']);
    expect(got[0][1]).toBe('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    expect(rec.protocols).toEqual(['http/1.1', 'h2c']);
  });

  it('Upgrade refused (200): held client bytes are parsed as HTTP again', () => {
    const { rec } = play([
      C(GET('/', 'Connection: Upgrade\r\nUpgrade: h2c\r\n')), C(GET('/2')), S(OK('a')), S(OK('b')),
    ]);
    expect(rec.requests.map((r) => [r.target, r.status, r.upgrade])).toEqual([['/', 200, undefined], ['/2', 200, undefined]]);
  });

  it('CONNECT 200 → tunnel; CONNECT 407 → parsing continues', () => {
    const t = play([
      C('CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n'),
      S('HTTP/1.1 200 Connection Established\r\n\r\n'), C('\x16\x03\x01\x00\x05hello'), S('\x16\x03\x03'),
    ]);
    expect(t.rec.requests[0]).toMatchObject({ method: 'CONNECT', status: 200, url: 'http://example.test:443', state: 'complete' });
    expect(t.rec.protocols).toContain('tunnel');
    expect(t.rec.keepAlive_?.reusableAfter).toEqual([false]);
    const p = play([
      C('CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n'),
      S('HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n'),
      C('CONNECT example.test:443 HTTP/1.1\r\nProxy-Authorization: Basic eDp5\r\n\r\n'), S('HTTP/1.1 200 OK\r\n\r\n'),
    ]);
    expect(p.rec.requests.map((r) => r.status)).toEqual([407, 200]);
    expect(p.rec.keepAlive_?.reusableAfter).toEqual([true, false]);
  });

  it('HTTP/0.9 simple request: the response is raw bytes until close (RFC 9112 Appendix C.1)', () => {
    const { rec } = play([C('GET /old\r\n'), S('<html>old</html>'), FIN('server')]);
    expect(rec.requests[0]).toMatchObject({ httpVersion: 'HTTP/0.9', target: '/old', state: 'complete', status: null });
    expect(rec.requests[0].sizes.responseBody).toBe(16);
    expect(rec.anomalies.map((a) => a.code)).toContain(A.HTTP09);
  });
});

describe('RFC 9112 tolerance: conflicting or malformed framing', () => {
  const codes = (r: { anomalies: { code: string }[] }) => r.anomalies.map((a) => a.code);

  it.each<[string, string, string, number]>([
    ['§6.3 ¶3 Transfer-Encoding and Content-Length: chunked wins', 'Transfer-Encoding: chunked\r\nContent-Length: 100\r\n', A.TE_WITH_CL, 3],
    ['RFC 9110 §8.6 duplicate equal Content-Length', 'Content-Length: 3\r\nContent-Length: 3\r\n', A.CL_DUPLICATE, 3],
    ['RFC 9110 §8.6 list of equal values', 'Content-Length: 3, 3\r\n', A.CL_DUPLICATE, 3],
    ['§6.3 ¶5 differing Content-Length: the first is used', 'Content-Length: 3\r\nContent-Length: 7\r\n', A.CL_CONFLICT, 3],
  ])('%s', (_n, headers, code, body) => {
    const chunked = headers.includes('chunked');
    const { rec } = play([C(GET()), S(`HTTP/1.1 200 OK\r\n${headers}\r\n${chunked ? '3\r\nabc\r\n0\r\n\r\n' : 'abc'}`), C(GET('/n')), S(OK('z'))]);
    expect(rec.requests.map((r) => r.status)).toEqual([200, 200]);
    expect(codes(rec.requests[0])).toContain(code);
    expect(rec.requests[0].sizes.responseBody).toBe(body);
    expect(rec.requests[1].anomalies).toEqual([]);
  });

  it('§6.3 ¶5 negative Content-Length: anomaly, read until close', () => {
    const { rec } = play([C(GET()), S('HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\nabc'), FIN('server')]);
    expect(codes(rec.requests[0])).toContain(A.CL_INVALID);
    expect(rec.requests[0].sizes.responseBody).toBe(3);
  });

  it('§2.2 bare LF line endings are accepted and flagged', () => {
    const { rec } = play([C('GET / HTTP/1.1\nHost: h\n\n'), S('HTTP/1.1 200 OK\nContent-Length: 2\n\nok'), C(GET('/2')), S(OK())]);
    expect(rec.requests.map((r) => r.status)).toEqual([200, 200]);
    expect(codes(rec.requests[0])).toEqual([A.BARE_LF, A.BARE_LF]);
    expect(rec.requests[0].sizes.responseHeaders).toBe('HTTP/1.1 200 OK\nContent-Length: 2\n\n'.length);
  });

  it('§5.2 obs-fold: continuation joined with SP', () => {
    const { rec } = play([C(GET()), S('HTTP/1.1 200 OK\r\nX-Long: a\r\n  b\r\nContent-Length: 0\r\n\r\n')]);
    expect(rec.requests[0].responseHeaders[0]).toEqual({ name: 'X-Long', value: 'a b' });
    expect(codes(rec.requests[0])).toContain(A.OBS_FOLD);
  });

  it.each<[string, string, string]>([
    ['§5.1 whitespace before colon', 'Content-Length : 2\r\n', A.SPACE_BEFORE_COLON],
    ['RFC 9110 §5.1 invalid field name', 'X(Bad): 1\r\nContent-Length: 2\r\n', A.INVALID_HEADER_NAME],
    ['§5 line without colon', 'garbage\r\nContent-Length: 2\r\n', A.HEADER_WITHOUT_COLON],
  ])('%s', (_n, fields, code) => {
    const { rec } = play([C(GET()), S(`HTTP/1.1 200 OK\r\n${fields}\r\nok`), C(GET('/2')), S(OK())]);
    expect(codes(rec.requests[0])).toContain(code);
    expect(rec.requests.map((r) => [r.status, r.sizes.responseBody])).toEqual([[200, 2], [200, 5]]);
  });

  it('§7.1 invalid chunk size: anomaly, later exchanges still parsed', () => {
    const { rec } = play([C(GET()), S('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'), C(GET('/2')), S(OK())]);
    expect(codes(rec.requests[0])).toContain(A.CHUNK_SIZE_INVALID);
    expect(rec.requests[1]).toMatchObject({ status: 200, target: '/2' });
  });

  it('header block larger than MAX_HEADER_BYTES: flagged, not buffered', () => {
    const big = `X-Big: ${'a'.repeat(MAX_HEADER_BYTES)}\r\n`;
    const { rec } = play([C(GET()), S(`HTTP/1.1 200 OK\r\n${big}Content-Length: 2\r\n\r\nok`), C(GET('/2')), S(OK())]);
    expect(codes(rec.requests[0])).toContain(A.HEADERS_TOO_LARGE);
    expect(rec.requests[1]).toMatchObject({ status: 200, target: '/2' });
  });

  it('leading empty lines before a request are ignored (§2.2)', () => {
    const { rec } = play([C('\r\n' + GET()), S(OK())]);
    expect(rec.requests[0].anomalies).toEqual([]);
    expect(rec.anomalies).toEqual([]);
  });
});

describe('capture gaps (skipped bytes) and mid-stream starts', () => {
  it('gap inside a Content-Length body: counted, next exchange intact', () => {
    const { rec } = play([
      C(GET()), S('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n' + 'a'.repeat(100)),
      S('a'.repeat(100), undefined, { skipped: 800 }), C(GET('/2')), S(OK()),
    ]);
    expect(rec.requests.map((r) => [r.status, r.state, r.lostBytes, r.sizes.responseBody])).toEqual([
      [200, 'complete', 800, 1000], [200, 'complete', 0, 5],
    ]);
    expect(rec.requests[0].anomalies.map((a) => a.code)).toEqual([A.GAP_IN_BODY]);
  });

  it('gap that swallows the end of a body and the next status line: resync at the next status line', () => {
    const { rec } = play([
      C(GET('/1') + GET('/2') + GET('/3')),
      S('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'),
      S('body of 2\r\n' + OK('three'), undefined, { skipped: 50 }),
    ]);
    expect(rec.requests[0]).toMatchObject({ status: 200, lostBytes: 7, state: 'complete' });
    // The response to /2 was lost in the gap and the parser cannot know: /3's response pairs with /2.
    expect(rec.requests[1]).toMatchObject({ status: 200, lostBytes: 43 });
    expect(rec.requests[1].anomalies.map((a) => a.code)).toContain(A.GAP_BEFORE_MESSAGE);
    expect(rec.anomalies.map((a) => a.code)).toContain(A.SKIPPED_BYTES);
  });

  it('gap inside response headers: message ended, resync', () => {
    const { rec } = play([
      C(GET('/1') + GET('/2')), S('HTTP/1.1 200 OK\r\nContent-Le'), S('x\r\n\r\n' + OK('two'), undefined, { skipped: 30 }),
    ]);
    expect(rec.requests.map((r) => r.status)).toEqual([200, 200]);
    expect(rec.requests[0].anomalies.map((a) => a.code)).toContain(A.GAP_DESYNC);
    expect(rec.requests[1].sizes.responseBody).toBe(3);
  });

  it('mid-stream start (skipped = -1): skip to the first plausible start line', () => {
    const { rec } = play([
      C('ost: h\r\n\r\n' + GET('/2'), undefined, { skipped: -1 }),
      S('dy-of-1' + OK('2'), undefined, { skipped: -1 }),
    ]);
    expect(rec.requests).toHaveLength(1);
    expect(rec.requests[0]).toMatchObject({ target: '/2', status: 200, index: 1 });
    expect(rec.anomalies.map((a) => a.code)).toEqual(expect.arrayContaining([A.MID_STREAM_START, A.SKIPPED_BYTES]));
  });

  it('response with no request outstanding (capture started mid-exchange) is not paired', () => {
    const { rec } = play([S(OK('old'), undefined, { skipped: -1 }), C(GET('/new')), S(OK('new'))]);
    expect(rec.requests.map((r) => [r.target, r.sizes.responseBody])).toEqual([['/new', 3]]);
    expect(rec.anomalies.map((a) => a.code)).toContain(A.RESPONSE_WITHOUT_REQUEST);
  });

  it('deliveredTime differing from time is kept in http1.deliveredTimes', () => {
    const { rec } = play([C(GET(), 1), S(OK(), 5, { delivered: 7 })]);
    expect(rec.requests[0].http1?.deliveredTimes).toEqual({ responseStartTime: 7, responseEndTime: 7 });
  });
});

describe('Content-Encoding decoded sizes (streaming zlib)', () => {
  const payload = Buffer.from('wirefall '.repeat(5000));
  it.each<[string, Buffer]>([
    ['gzip', gzipSync(payload)],
    ['br', brotliCompressSync(payload)],
    ['deflate', deflateRawSync(payload)],
  ])('%s body decoded chunk by chunk', async (coding, enc) => {
    const head = `HTTP/1.1 200 OK\r\nContent-Encoding: ${coding}\r\nContent-Length: ${enc.length}\r\n\r\n`;
    const steps = [C(GET())];
    const all = Buffer.concat([Buffer.from(head, 'latin1'), enc]);
    for (let i = 0; i < all.length; i += 700) steps.push(S(new Uint8Array(all.subarray(i, i + 700))));
    const { rec, session } = play(steps, { keepBodyBytes: 9 });
    await session.settled();
    expect(rec.requests[0].sizes).toMatchObject({ responseBody: enc.length, responseBodyDecoded: payload.length });
    expect(Buffer.from(rec.requests[0].http1!.body as string, 'base64').toString()).toBe('wirefall ');
  });

  it('a shallow copy taken at emission (as the engine does) sees the decoded size after settled()', async () => {
    const enc = gzipSync(payload);
    const head = `HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: ${enc.length}\r\n\r\n`;
    const { rec, session } = play([C(GET()), S(new Uint8Array(Buffer.concat([Buffer.from(head), enc])))], { keepBodyBytes: 4 });
    const copy = { ...rec.requests[0] };
    expect(copy.sizes.responseBodyDecoded).toBe(-1); // not yet: zlib runs off the main thread
    await session.settled();
    expect(copy.sizes.responseBodyDecoded).toBe(payload.length);
    expect(copy.http1?.body).toBe(Buffer.from('wire').toString('base64'));
    await session.settled(); // idempotent
  });

  it('corrupt gzip → -1 and an anomaly', async () => {
    const { rec, session } = play([C(GET()), S(OK('not gzip at all', 'Content-Encoding: gzip\r\n'))]);
    await session.settled();
    expect(rec.requests[0].sizes.responseBodyDecoded).toBe(-1);
    expect(rec.requests[0].anomalies.map((a) => a.code)).toContain(A.DECODE_FAILED);
  });

  it('decodeBodies: false leaves -1', () => {
    const { rec } = play([C(GET()), S(OK('xx', 'Content-Encoding: gzip\r\n'))], { decodeBodies: false });
    expect(rec.requests[0].sizes.responseBodyDecoded).toBe(-1);
  });
});

describe('split invariance: the same bytes in any chunking give identical results', () => {
  const conversation: Step[] = [
    C('\r\nGET /a HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\nPOST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello', 1),
    S('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nKeep-Alive: timeout=5\r\n\r\n4;x=y\r\nabcd\r\n0\r\nT: v\r\n\r\n', 2),
    S('HTTP/1.1 201 Created\r\nContent-Length: 3\r\nX-Fold: a\r\n b\r\n\r\nxyz', 3),
    C('HEAD /c HTTP/1.1\nHost: h\n\nGET /d HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n', 4),
    S('HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nHTTP/1.0 200 OK\r\nContent-Type: x\r\n\r\nclose-delimited body', 5),
    FIN('server', 6), FIN('client', 7),
  ];
  const reference = summary(play(conversation).rec);

  it('reference conversation parses as expected', () => {
    const r = reference as { requests: { target: string; status: number }[] };
    expect(r.requests.map((x) => [x.target, x.status])).toEqual([['/a', 200], ['/b', 201], ['/c', 200], ['/d', 200]]);
  });

  it('every single-byte chunking', () => {
    expect(summary(play(conversation, { split: (n) => Array(n).fill(1) }).rec)).toEqual(reference);
  });

  it('every two-way split point of every packet', () => {
    for (let cut = 1; cut < 160; cut++) {
      const split = (n: number) => (cut < n ? [cut, n - cut] : [n]);
      expect(summary(play(conversation, { split }).rec)).toEqual(reference);
    }
  });

  it('200 random chunkings (seeded)', () => {
    let seed = 42;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    for (let k = 0; k < 200; k++) {
      const split = (n: number) => {
        const out: number[] = [];
        for (let left = n; left > 0;) {
          const c = Math.min(left, 1 + Math.floor(rnd() * 20));
          out.push(c);
          left -= c;
        }
        return out;
      };
      expect(summary(play(conversation, { split }).rec)).toEqual(reference);
    }
  });
});

describe('header strings remembered by position (interning)', () => {
  it('a field of the same length but other octets at the same position is read as it is, on any connection', () => {
    // Same positions, same lengths, one octet different in names and values: a remembered string
    // must only be reused when every octet matches.
    const first = play([C('GET /a HTTP/1.1\r\nHost: h\r\nX-Aaa: v1\r\nAccept: */*\r\n\r\n'), S('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nX-Srv: abc\r\n\r\nx')]);
    const second = play([
      C('GET /b HTTP/1.1\r\nHost: h\r\nX-Aab: v2\r\nAccept: */*\r\n\r\n'),
      S('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nX-Srv: abd\r\n\r\ny'),
      C('GET /c HTTP/1.1\r\nHost: h\r\nX-Aab: v2\r\nAccept: */*\r\n\r\n'),
      S('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nX-Srv: abc\r\n\r\nz'),
    ]);
    expect(first.rec.requests[0]!.requestHeaders).toEqual([{ name: 'Host', value: 'h' }, { name: 'X-Aaa', value: 'v1' }, { name: 'Accept', value: '*/*' }]);
    expect(second.rec.requests.map((r) => r.requestHeaders[1])).toEqual([{ name: 'X-Aab', value: 'v2' }, { name: 'X-Aab', value: 'v2' }]);
    expect(second.rec.requests.map((r) => r.responseHeaders[1]!.value)).toEqual(['abd', 'abc']);
    expect(first.rec.requests[0]!.responseHeaders[1]).toEqual({ name: 'X-Srv', value: 'abc' });
  });
});
