/**
 * HTTP/3 sessions (RFC 9114) over simulated QUIC connections: request streams, interim responses,
 * trailers, resets, GOAWAY, and QPACK's dynamic table filled from the encoder stream — including a
 * field section that arrives before the inserts it needs (blocked, RFC 9204 §2.1.2).
 */
import { describe, expect, it } from 'vitest';
import { runQuic } from '../quic/harness.js';
import { cat, F, H3, qpackSection, QuicSim } from '../quic/quic-builder.js';

const enc = (s: string) => Uint8Array.from(Buffer.from(s));
const get = (path: string) => H3.headers(qpackSection([[':method', 'GET'], [':scheme', 'https'], [':authority', 'example.test'], [':path', path]]));
const ok200 = H3.headers(qpackSection([[':status', '200']]));

function setup() {
  const sim = new QuicSim();
  const pk = [...sim.handshake()];
  pk.push(sim.udp('client', sim.short('client', F.stream(2, 0, cat([0x00], H3.settings({ 0x01: 4096, 0x07: 16 })))), 25));
  pk.push(sim.udp('server', sim.short('server', F.stream(3, 0, cat([0x00], H3.settings({ 0x01: 4096 })))), 26));
  return { sim, pk };
}

describe('HTTP/3 session', () => {
  it('reports requests in stream order of their HEADERS with index, reuse and sizes', () => {
    const { sim, pk } = setup();
    pk.push(sim.udp('client', sim.short('client', cat(F.stream(0, 0, get('/a'), true), F.stream(4, 0, get('/b'), true))), 30));
    pk.push(sim.udp('server', sim.short('server', cat(F.stream(4, 0, cat(ok200, H3.data(enc('bb'))), true), F.stream(0, 0, cat(ok200, H3.data(enc('aaa'))), true))), 40));
    const r = runQuic(pk, sim.keys);
    // Reported as each completes (stream 4 first), numbered by the order the requests were sent.
    expect(r.requests.map((q) => [q.streamId, q.target, q.index, q.connectionReused, q.sizes.responseBody])).toEqual([
      [4, '/b', 2, true, 2],
      [0, '/a', 1, false, 3],
    ]);
    expect(r.requests[1].sizes.responseBodyWire).toBe(2 + 3);
  });

  it('keeps interim responses apart from the final one and reads trailers (RFC 9114 §4.1)', () => {
    const { sim, pk } = setup();
    const early = H3.headers(qpackSection([[':status', '103'], ['link', '</s.css>; rel=preload']]));
    const trailers = H3.headers(qpackSection([['x-checksum', 'abc']]));
    pk.push(sim.udp('client', sim.short('client', F.stream(0, 0, get('/'), true)), 30));
    pk.push(sim.udp('server', sim.short('server', F.stream(0, 0, cat(early, ok200, H3.data(enc('x')), trailers), true)), 40));
    const q = runQuic(pk, sim.keys).requests[0];
    expect(q.status).toBe(200);
    expect(q.informational).toEqual([{ status: 103, time: 40 }]);
    expect(q.trailers).toEqual([{ name: 'x-checksum', value: 'abc' }]);
  });

  it('a RESET_STREAM ends the request as reset with its error code', () => {
    const { sim, pk } = setup();
    pk.push(sim.udp('client', sim.short('client', F.stream(0, 0, get('/slow'), true)), 30));
    pk.push(sim.udp('server', sim.short('server', F.resetStream(0, 0x10c, 0)), 40));
    const q = runQuic(pk, sim.keys).requests[0];
    expect(q.state).toBe('reset');
    expect(q.extra!.rst).toMatchObject({ by: 'server', code: 0x10c, error: 'H3_REQUEST_CANCELLED' });
  });

  it('GOAWAY from the server refuses the streams at or above its id and names the close reason', () => {
    const { sim, pk } = setup();
    pk.push(sim.udp('client', sim.short('client', cat(F.stream(0, 0, get('/ok'), true), F.stream(4, 0, get('/late'), true))), 30));
    pk.push(sim.udp('server', sim.short('server', cat(F.stream(3, 1 + H3.settings({ 0x01: 4096 }).length, H3.goaway(4)), F.stream(0, 0, ok200, true))), 40));
    pk.push(sim.udp('server', sim.short('server', F.close(0x100, '', true)), 50));
    const r = runQuic(pk, sim.keys);
    const late = r.requests.find((q) => q.target === '/late')!;
    expect(late.state).toBe('aborted');
    expect(late.anomalies.map((a) => a.code)).toContain('H3_REFUSED_BY_GOAWAY');
    expect(r.connections[0].close.reason).toBe('goaway');
  });

  it('decodes field sections against the dynamic table, waiting when the inserts come later', () => {
    const { sim, pk } = setup();
    // Server encoder stream (id 7): Set Dynamic Table Capacity 4096, Insert With Literal Name server=h3test.
    const insert = Uint8Array.from([0x3f, 0xe1, 0x1f, 0x46, ...enc('server'), 0x06, ...enc('h3test')]);
    // A response section: RIC 1 (encoded 2), Base 1; :status 200 (static), then dynamic relative index 0.
    const section = H3.headers(Uint8Array.from([0x02, 0x00, 0xc0 | 25, 0x80]));
    pk.push(sim.udp('client', sim.short('client', F.stream(0, 0, get('/dyn'), true)), 30));
    pk.push(sim.udp('server', sim.short('server', F.stream(0, 0, section, true)), 40)); // before its insert
    pk.push(sim.udp('server', sim.short('server', F.stream(7, 0, cat([0x02], insert))), 41));
    const r = runQuic(pk, sim.keys);
    expect(r.counters.qpackBlockedSections).toBe(1);
    const q = r.requests[0];
    expect(q.responseHeaders).toEqual([
      { name: ':status', value: '200' },
      { name: 'server', value: 'h3test' },
    ]);
    expect(q.anomalies).toEqual([]);
    const h3 = r.connections[0].extra!.h3 as { server: { qpack: { inserts: number; table: { entries: unknown[] } } } };
    expect(h3.server.qpack.inserts).toBe(1);
    expect(h3.server.qpack.table.entries).toEqual([{ index: 0, name: 'server', value: 'h3test' }]);
  });

  it('a section still blocked at the end is reported incomplete, not guessed', () => {
    const { sim, pk } = setup();
    pk.push(sim.udp('client', sim.short('client', F.stream(0, 0, get('/never'), true)), 30));
    pk.push(sim.udp('server', sim.short('server', F.stream(0, 0, H3.headers(Uint8Array.from([0x02, 0x00, 0x80])), true)), 40));
    const q = runQuic(pk, sim.keys).requests[0];
    expect(q.anomalies.map((a) => a.code)).toEqual(expect.arrayContaining(['QPACK_BLOCKED_AT_END', 'H3_HEADERS_INCOMPLETE']));
    expect(q.status).toBeNull();
  });

  it('does not open a session for other ALPN protocols (hq-interop): streams are counted only', () => {
    const sim = new QuicSim();
    const pk = [...sim.handshake({ alpn: ['hq-interop'], selected: 'hq-interop' })];
    pk.push(sim.udp('client', sim.short('client', F.stream(0, 0, enc('GET /\r\n'), true)), 30));
    const r = runQuic(pk, sim.keys);
    expect(r.requests).toEqual([]);
    expect(r.connections[0].protocol).toBe('unknown');
    expect(r.connections[0].quic!.streams.client.bidi).toBe(1);
  });
});
