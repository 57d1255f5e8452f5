/**
 * One decision per protocol fact: whether a connection persists after an exchange (RFC 9112 §9.3)
 * and how a response is delimited (§6.3) are decided by the pure functions of http1/keepalive.ts,
 * recorded by the session (`keepAlive.clientPersistence` / `serverPersistence` / `reusableAfter`,
 * `http1.closeDelimited`), and read — not decided again from headers — by the detectors.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import {
  framingByHeaders,
  framingByStatus,
  persistBasis,
  persists,
  persistsAfter,
  reusableAfter,
  selfDelimited,
  transferCodingsChunked,
  type BodyFraming,
  type ReuseFacts,
} from '../../../core/src/http1/keepalive.js';
import type { Connection, PersistBasis, Report, Request } from '../../../core/src/model/types.js';
import { detectAll } from '../../../core/src/detect/index.js';
import * as util from '../../../core/src/detect/util.js';
import { ROOT, sample } from '../../helpers/env.js';
import { analyze } from '../detect/helpers.js';
import { C, FIN, S, play } from './helpers.js';

describe('RFC 9112 §9.3: why each recipient lets a connection persist (persistBasis)', () => {
  it.each<[string, string, string[], PersistBasis, boolean]>([
    ['§9.3 HTTP/1.1: persistent by default', 'HTTP/1.1', [], 'http/1.1', true],
    ['§9.3 HTTP/1.1 with an explicit keep-alive: still the HTTP/1.1 default', 'HTTP/1.1', ['keep-alive'], 'http/1.1', true],
    ['§9.3 HTTP/1.1 with close', 'HTTP/1.1', ['close'], 'close', false],
    ['§9.3 HTTP/1.1 with close among other options', 'HTTP/1.1', ['upgrade', 'close'], 'close', false],
    ['§9.3 HTTP/1.0 without keep-alive: closes by default', 'HTTP/1.0', [], 'http/1.0', false],
    ['§9.3 HTTP/1.0 with keep-alive (Appendix C.2.2)', 'HTTP/1.0', ['keep-alive'], 'keep-alive', true],
    ['§9.3 HTTP/1.0 with keep-alive and close: close is tested first', 'HTTP/1.0', ['keep-alive', 'close'], 'close', false],
    ['§9.3 HTTP/0.9: no headers, not persistent', 'HTTP/0.9', [], 'http/1.0', false],
    ['§9.3 a later minor version (HTTP/1.2) counts as 1.1 or later', 'HTTP/1.2', [], 'http/1.1', true],
  ])('%s', (_name, version, options, basis, persistent) => {
    expect(persistBasis(version, options)).toBe(basis);
    expect(persists(basis)).toBe(persistent);
  });

  it('persists(): unknown (null, undefined) is not persistent', () => {
    expect(persists(null)).toBe(false);
    expect(persists(undefined)).toBe(false);
  });

  it.each<[string, string, string[], string, string[], boolean]>([
    ['§9.3 1.1 both', 'HTTP/1.1', [], 'HTTP/1.1', [], true],
    ['§9.3 1.1, close in the request', 'HTTP/1.1', ['close'], 'HTTP/1.1', [], false],
    ['§9.3 1.1, close in the response', 'HTTP/1.1', [], 'HTTP/1.1', ['close'], false],
    ['§9.3 1.1, close in both', 'HTTP/1.1', ['close'], 'HTTP/1.1', ['close'], false],
    ['§9.3 1.0 without keep-alive', 'HTTP/1.0', [], 'HTTP/1.0', [], false],
    ['§9.3 1.0 with keep-alive on both sides', 'HTTP/1.0', ['keep-alive'], 'HTTP/1.0', ['keep-alive'], true],
    ['§9.3 1.0 asking keep-alive, a 1.0 server ignoring it', 'HTTP/1.0', ['keep-alive'], 'HTTP/1.0', [], false],
    ['§9.3 1.0 request asking keep-alive answered by 1.1', 'HTTP/1.0', ['keep-alive'], 'HTTP/1.1', [], true],
    ['§9.3 1.0 request without keep-alive answered by 1.1', 'HTTP/1.0', [], 'HTTP/1.1', [], false],
    ['§9.3 1.1 request answered by 1.0 with keep-alive', 'HTTP/1.1', [], 'HTTP/1.0', ['keep-alive'], true],
    ['§9.3 1.1 request answered by 1.0 without keep-alive', 'HTTP/1.1', [], 'HTTP/1.0', [], false],
  ])('persistsAfter: %s', (_n, rv, rc, sv, sc, want) => expect(persistsAfter(rv, rc, sv, sc)).toBe(want));
});

describe('RFC 9112 §6.3: how a message is delimited (framingByStatus, framingByHeaders)', () => {
  it.each<[string, string, number, BodyFraming | null]>([
    ['§6.3 ¶1 HEAD response', 'HEAD', 200, 'none'],
    ['§6.3 ¶1 204 No Content', 'GET', 204, 'none'],
    ['§6.3 ¶1 304 Not Modified', 'GET', 304, 'none'],
    ['§6.3 ¶1 1xx interim (100 Continue)', 'POST', 100, 'interim'],
    ['§6.3 ¶1 1xx interim (103 Early Hints)', 'GET', 103, 'interim'],
    ['RFC 9110 §15.2.2 101 Switching Protocols', 'GET', 101, 'switch'],
    ['§6.3 ¶2 2xx to CONNECT: a tunnel', 'CONNECT', 200, 'tunnel'],
    ['§6.3 ¶2 a non-2xx to CONNECT is an ordinary response', 'CONNECT', 407, null],
    ['§6.3 ¶2 CONNECT 204 is a tunnel too (tested before ¶1)', 'CONNECT', 204, 'tunnel'],
    ['a 200 to GET: its headers decide', 'GET', 200, null],
    ['a 200 to POST: its headers decide', 'POST', 200, null],
  ])('%s', (_n, method, status, want) => expect(framingByStatus(method, status)).toBe(want));

  it.each<[string, 'client' | 'server', boolean | null, number | null, BodyFraming]>([
    ['§6.3 ¶4 response chunked', 'server', true, null, 'chunked'],
    ['§6.3 ¶3 response chunked and Content-Length: Transfer-Encoding wins', 'server', true, 10, 'chunked'],
    ['§6.3 ¶4 response Transfer-Encoding not ending in chunked: until close', 'server', false, null, 'close'],
    ['§6.3 ¶4 … even with a Content-Length', 'server', false, 10, 'close'],
    ['§6.3 ¶5 response with an unusable Content-Length: until close', 'server', null, -1, 'close'],
    ['§6.3 ¶6 response Content-Length', 'server', null, 10, 'length'],
    ['§6.3 ¶6 response Content-Length: 0', 'server', null, 0, 'none'],
    ['§6.3 ¶8 response with neither: until close', 'server', null, null, 'close'],
    ['§6.3 ¶4 request chunked', 'client', true, null, 'chunked'],
    ['§6.3 ¶4 request Transfer-Encoding not ending in chunked: length unknown', 'client', false, null, 'invalid'],
    ['§6.3 ¶5 request with an unusable Content-Length: read as bodiless', 'client', null, -1, 'none'],
    ['§6.3 ¶6 request Content-Length', 'client', null, 3, 'length'],
    ['§6.3 ¶7 request with neither: no body', 'client', null, null, 'none'],
  ])('%s', (_n, side, chunked, cl, want) => {
    expect(framingByHeaders(side, chunked, cl)).toBe(want);
    expect(selfDelimited(want)).toBe(want !== 'close');
  });

  it.each<[string, string | null, boolean | null]>([
    ['absent', null, null],
    ['chunked', 'chunked', true],
    ['gzip, chunked', 'gzip, chunked', true],
    ['Chunked (case-insensitive)', 'Chunked', true],
    ['chunked, gzip: not final', 'chunked, gzip', false],
    ['gzip', 'gzip', false],
  ])('§6.3 ¶4 Transfer-Encoding %s: chunked final?', (_n, te, want) => expect(transferCodingsChunked(te)).toBe(want));
});

describe('reusableAfter: the connection can carry another request after the exchange', () => {
  const base: ReuseFacts = { client: 'http/1.1', server: 'http/1.1', framing: 'length', version: 'HTTP/1.1' };
  it.each<[string, Partial<ReuseFacts>, boolean]>([
    ['§9.3 both persist, §6.3 ¶6 Content-Length', {}, true],
    ['§9.3 close in the request', { client: 'close' }, false],
    ['§9.3 close in the response', { server: 'close' }, false],
    ['§9.3 HTTP/1.0 keep-alive both sides', { client: 'keep-alive', server: 'keep-alive', version: 'HTTP/1.0' }, true],
    ['§9.3 HTTP/1.0 without keep-alive', { client: 'http/1.0', version: 'HTTP/1.0' }, false],
    ['§9.3 the request not recorded (null)', { client: null }, false],
    ['§6.3 ¶4 chunked', { framing: 'chunked' }, true],
    ['§6.3 ¶1 no body (HEAD, 204, 304)', { framing: 'none' }, true],
    ['§6.3 ¶8 close-delimited', { framing: 'close' }, false],
    ['RFC 9110 §15.2.2 101: the protocol switched', { framing: 'switch' }, false],
    ['RFC 9110 §9.3.6 CONNECT 2xx: a tunnel', { framing: 'tunnel' }, false],
    ['a header block never framed (cut by a gap): not held against it', { framing: null }, true],
    ['Keep-Alive: max=0', { max: 0 }, false],
    ['Keep-Alive: max=1', { max: 1 }, true],
  ])('%s', (_n, patch, want) => expect(reusableAfter({ ...base, ...patch })).toBe(want));
});

/**
 * One exchange through the session; what it records is what the functions above decide. Each row:
 * request, response, then [clientPersistence, serverPersistence, reusableAfter, closeDelimited].
 */
describe('recorded by the session, per exchange', () => {
  const get = (v = '1.1', conn = '') => `GET /a HTTP/${v}\r\nHost: h\r\n${conn ? `Connection: ${conn}\r\n` : ''}\r\n`;
  const ok = (v = '1.1', conn = '', framing = 'Content-Length: 2') => `HTTP/${v} 200 OK\r\n${framing}\r\n${conn ? `Connection: ${conn}\r\n` : ''}\r\nok`;
  it.each<[string, string, string, [PersistBasis, PersistBasis, boolean, boolean]]>([
    ['§9.3 HTTP/1.1 both sides: persistent', get(), ok(), ['http/1.1', 'http/1.1', true, false]],
    ['§9.3 HTTP/1.1, close in the request', get('1.1', 'close'), ok(), ['close', 'http/1.1', false, false]],
    ['§9.3 HTTP/1.1, close in the response', get(), ok('1.1', 'close'), ['http/1.1', 'close', false, false]],
    ['§9.3 HTTP/1.1, close in both', get('1.1', 'close'), ok('1.1', 'close'), ['close', 'close', false, false]],
    ['§9.3 HTTP/1.0 without keep-alive', get('1.0'), ok('1.0'), ['http/1.0', 'http/1.0', false, false]],
    ['§9.3 HTTP/1.0 with keep-alive on both sides', get('1.0', 'keep-alive'), ok('1.0', 'keep-alive'), ['keep-alive', 'keep-alive', true, false]],
    ['§9.3 HTTP/1.0 Keep-Alive (any case)', get('1.0', 'Keep-Alive'), ok('1.0', 'Keep-Alive'), ['keep-alive', 'keep-alive', true, false]],
    ['§9.3 HTTP/1.0 request asking keep-alive answered by HTTP/1.1', get('1.0', 'keep-alive'), ok('1.1'), ['keep-alive', 'http/1.1', true, false]],
    ['§9.3 HTTP/1.0 request without keep-alive answered by HTTP/1.1', get('1.0'), ok('1.1'), ['http/1.0', 'http/1.1', false, false]],
    ['§9.3 HTTP/1.1 request answered by HTTP/1.0 without keep-alive', get(), ok('1.0'), ['http/1.1', 'http/1.0', false, false]],
    ['§6.3 ¶4 chunked', get(), ok('1.1', '', 'Transfer-Encoding: chunked').replace(/ok$/, '2\r\nok\r\n0\r\n\r\n'), ['http/1.1', 'http/1.1', true, false]],
    ['§6.3 ¶3 chunked with Content-Length: chunked wins', get(), ok('1.1', '', 'Transfer-Encoding: chunked\r\nContent-Length: 99').replace(/ok$/, '2\r\nok\r\n0\r\n\r\n'), ['http/1.1', 'http/1.1', true, false]],
    ['§6.3 ¶4 Transfer-Encoding not ending in chunked: until close', get(), ok('1.1', '', 'Transfer-Encoding: gzip'), ['http/1.1', 'http/1.1', false, true]],
    ['§6.3 ¶5 an unusable Content-Length: until close', get(), ok('1.1', '', 'Content-Length: 2x'), ['http/1.1', 'http/1.1', false, true]],
    ['§6.3 ¶8 neither Content-Length nor Transfer-Encoding: until close', get(), ok('1.1', '', 'Content-Type: text/plain'), ['http/1.1', 'http/1.1', false, true]],
    ['§6.3 ¶8 HTTP/1.0 keep-alive, yet close-delimited', get('1.0', 'keep-alive'), ok('1.0', 'keep-alive', 'Content-Type: text/plain'), ['keep-alive', 'keep-alive', false, true]],
    ['§6.3 ¶1 HEAD: no body despite Content-Length', 'HEAD /a HTTP/1.1\r\nHost: h\r\n\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n', ['http/1.1', 'http/1.1', true, false]],
    ['§6.3 ¶1 204 without a length', get(), 'HTTP/1.1 204 No Content\r\n\r\n', ['http/1.1', 'http/1.1', true, false]],
    ['§6.3 ¶1 304 without a length', get(), 'HTTP/1.1 304 Not Modified\r\n\r\n', ['http/1.1', 'http/1.1', true, false]],
    ['§6.3 ¶1 1xx, then the final response', 'POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nhi', `HTTP/1.1 100 Continue\r\n\r\n${ok()}`, ['http/1.1', 'http/1.1', true, false]],
    ['RFC 9110 §15.2.2 Upgrade: 101 Switching Protocols', get('1.1', 'Upgrade').replace('\r\n\r\n', '\r\nUpgrade: websocket\r\n\r\n'), 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n', ['http/1.1', 'http/1.1', false, false]],
    ['RFC 9110 §9.3.6 CONNECT 200: a tunnel', 'CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n', 'HTTP/1.1 200 Connection Established\r\n\r\n', ['http/1.1', 'http/1.1', false, false]],
    ['RFC 9110 §9.3.6 CONNECT 407: an ordinary response', 'CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n', 'HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n', ['http/1.1', 'http/1.1', true, false]],
    ['Keep-Alive: max=0', get(), ok('1.1', '', 'Content-Length: 2\r\nKeep-Alive: timeout=5, max=0'), ['http/1.1', 'http/1.1', false, false]],
  ])('%s', (_name, req, resp, [client, server, reusable, closeDelimited]) => {
    const { rec } = play([C(req, 1), S(resp, 2), FIN('server', 3), FIN('client', 4)]);
    const ka = rec.keepAlive_!;
    expect([ka.clientPersistence?.[0], ka.serverPersistence?.[0], ka.reusableAfter[0], rec.requests[0].http1?.closeDelimited ?? false]).toEqual([
      client, server, reusable, closeDelimited,
    ]);
  });

  it('an exchange the connection ended before its response: the request side recorded, no response side, not reusable', () => {
    const { rec } = play([C(get(), 1), S(ok(), 2), C(get('1.1', 'close'), 3), FIN('server', 4)]);
    expect(rec.keepAlive_).toMatchObject({ clientPersistence: ['http/1.1', 'close'], serverPersistence: ['http/1.1', null], reusableAfter: [true, false] });
  });

  it('a response whose header block came but not its body: the response side recorded, not reusable', () => {
    const { rec } = play([C(get(), 1), S('HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\nabc', 2), FIN('server', 3)]);
    expect(rec.requests[0].state).not.toBe('complete');
    expect(rec.keepAlive_).toMatchObject({ clientPersistence: ['http/1.1'], serverPersistence: ['close'], reusableAfter: [false] });
  });

  it('a request past the outstanding limit is not recorded: its client side is null, its response side and reusability kept', () => {
    const { rec } = play([C(get() + get() + get(), 1), S(ok() + ok() + ok('1.1', 'close'), 2), FIN('server', 3)], { maxOutstandingRequests: 1 });
    expect(rec.requests).toHaveLength(1);
    const ka = rec.keepAlive_!;
    expect(ka.clientPersistence?.[0]).toBe('http/1.1');
    expect(ka.clientPersistence?.slice(1)).toEqual([null, null]);
    expect(ka.serverPersistence).toEqual(['http/1.1', 'http/1.1', 'close']);
    expect(ka.reusableAfter).toEqual([true, true, false]);
  });

  it('the close reason reads the recorded sides: a 1.0 request asking keep-alive to a 1.0 server that ignores it is http10-no-keepalive', () => {
    const { rec } = play([C(get('1.0', 'keep-alive'), 1), S(ok('1.0'), 2), FIN('server', 3)]);
    expect(rec.keepAlive_).toMatchObject({ clientPersistence: ['keep-alive'], serverPersistence: ['http/1.0'], reusableAfter: [false] });
    expect(rec.closes[0].reason).toBe('http10-no-keepalive');
  });
});

describe('read by the detectors, never decided again from headers', () => {
  const clone = (r: Report): Report => structuredClone(r);

  it('util: persistence and self-delimitation come from the records, whatever the headers say', () => {
    const c = { keepAlive: { defaultPersistent: true, reusableAfter: [false, true], clientPersistence: ['close', 'keep-alive'], serverPersistence: ['http/1.1', null] } } as unknown as Connection;
    const r = (index: number, extra: Partial<Request> = {}) => ({ index, requestHeaders: [{ name: 'Connection', value: 'keep-alive' }], ...extra }) as unknown as Request;
    expect([util.clientPersistence(c, r(1)), util.serverPersistence(c, r(1)), util.persistAsked(c, r(1)), util.persisted(c, r(1)), util.reusableAfter(c, r(1))]).toEqual(['close', 'http/1.1', false, false, false]);
    expect([util.persistAsked(c, r(2)), util.persisted(c, r(2)), util.reusableAfter(c, r(2))]).toEqual([true, false, true]);
    // Past the records (or without them): unknown, so not persistent.
    expect([util.clientPersistence(c, r(3)), util.persisted(c, r(3)), util.reusableAfter(c, r(3))]).toEqual([null, false, false]);
    expect(util.persisted({} as Connection, r(1))).toBe(false);
    const noLength = { responseHeaders: [], http1: undefined } as unknown as Request;
    const withLength = { responseHeaders: [{ name: 'Content-Length', value: '5' }], http1: { closeDelimited: true } } as unknown as Request;
    expect([util.selfDelimited(noLength), util.selfDelimited(withLength)]).toEqual([true, false]);
  });

  it('missed-reuse: a response recorded close-delimited is not-self-delimited, though it carried a Content-Length', async () => {
    const r = clone(await analyze(sample('no-pool.pcap')));
    const before = detectAll(r).filter((f) => f.kind === 'missed-reuse').map((f) => f.rule);
    expect(before).toEqual(['client-no-pool']);
    for (const q of r.requests) q.http1 = { ...q.http1, closeDelimited: true };
    expect(r.requests.every((q) => q.responseHeaders.some((h) => /^content-length$/i.test(h.name)))).toBe(true);
    expect(detectAll(r).filter((f) => f.kind === 'missed-reuse').map((f) => f.rule)).toEqual(['not-self-delimited']);
  });

  it('missed-reuse: the server side as recorded decides server-connection-close, not the Connection header', async () => {
    const r = clone(await analyze(sample('server-connection-close.pcap')));
    expect(detectAll(r).filter((f) => f.kind === 'missed-reuse').map((f) => f.rule)).toEqual(['server-connection-close']);
    // Same headers (Connection: close on every response), the record says the server kept it.
    for (const c of r.connections) c.keepAlive!.serverPersistence = c.keepAlive!.serverPersistence!.map(() => 'http/1.1');
    expect(detectAll(r).filter((f) => f.kind === 'missed-reuse').map((f) => f.rule)).not.toContain('server-connection-close');
  });

  it('missed-reuse: the client side as recorded decides http10-no-keepalive, not the request version', async () => {
    const r = clone(await analyze(sample('no-pool.pcap')));
    for (const c of r.connections) c.keepAlive!.clientPersistence = c.keepAlive!.clientPersistence!.map(() => 'http/1.0');
    expect(r.requests.every((q) => q.httpVersion === 'HTTP/1.1')).toBe(true);
    expect(detectAll(r).filter((f) => f.kind === 'missed-reuse').map((f) => f.rule)).toEqual(['http10-no-keepalive']);
  });

  it('keepalive-policy: client-dropped-keepalive follows the recorded client side', async () => {
    const r = clone(await analyze(sample('f-http10-drop-keepalive-rtt.pcap')));
    const dropped = (x: Report) => detectAll(x).filter((f) => f.rule === 'client-dropped-keepalive').map((f) => f.requestIds);
    expect(dropped(r)).toEqual([[2]]);
    // The record says the third request asked keep-alive (its headers still do not).
    const c = r.connections.find((x) => x.id === r.requests.find((q) => q.id === 2)!.connectionId)!;
    c.keepAlive!.clientPersistence = c.keepAlive!.clientPersistence!.map(() => 'keep-alive');
    expect(dropped(r)).toEqual([]);
  });

  it('keepalive-policy: server-stopped-keepalive follows the recorded server side', async () => {
    const r = clone(await analyze(sample('keepalive-timeout-max.pcapng')));
    const stopped = (x: Report) => detectAll(x).filter((f) => f.rule === 'server-stopped-keepalive');
    expect(stopped(r)).toHaveLength(1);
    for (const c of r.connections) if (c.keepAlive?.serverPersistence) c.keepAlive.serverPersistence = c.keepAlive.serverPersistence.map((b) => (b === 'close' ? 'http/1.1' : b));
    expect(stopped(r)).toEqual([]);
  });

  it('blind-relay-hang (b): a keep-alive response is close-delimited when the session recorded it so', async () => {
    const r = clone(await analyze(sample('f-blind-relay-rtt.pcap')));
    const b = (x: Report) => detectAll(x, { only: ['blind-relay-hang'] }).filter((f) => f.rule === 'keepalive-close-delimited');
    const before = b(r).length;
    const ka = r.requests.filter((q) => q.state === 'complete' && util.tokens(q.responseHeaders, 'connection').includes('keep-alive') && !q.http1?.closeDelimited);
    expect(ka.length).toBeGreaterThan(0);
    for (const q of ka) q.http1 = { ...q.http1, closeDelimited: true };
    expect(b(r).length).toBeGreaterThan(before);
  });
});

describe('described in core/schema/report.schema.json', () => {
  const addFormats = addFormatsModule as unknown as (a: Ajv) => Ajv;
  const validate = addFormats(new Ajv({ allErrors: true, strict: false })).compile(JSON.parse(readFileSync(join(ROOT, 'core', 'schema', 'report.schema.json'), 'utf8')));
  it.each(['http10-keepalive.pcap', 'close-delimited.pcap', 'keepalive-timeout-max.pcapng', 'stale-race.pcap'])('%s: the recorded facts validate', async (name) => {
    const report = await analyze(sample(name));
    expect(report.connections.some((c) => c.keepAlive?.clientPersistence?.length && c.keepAlive.serverPersistence?.length)).toBe(true);
    const ok = validate(JSON.parse(JSON.stringify(report)));
    expect(validate.errors ?? [], JSON.stringify(validate.errors?.slice(0, 3))).toEqual([]);
    expect(ok).toBe(true);
  });

  it('a persistence outside the closed set does not validate', async () => {
    const report = structuredClone(await analyze(sample('http10-keepalive.pcap')));
    (report.connections[0].keepAlive!.clientPersistence as unknown[])[0] = 'maybe';
    expect(validate(JSON.parse(JSON.stringify(report)))).toBe(false);
  });
});
