/**
 * Scenario tests of the QUIC table and connection: datagrams built and sealed by quic-builder.ts
 * (RFC 9001 §5), run through the same QuicTable + HTTP/3 wiring the engine uses.
 */
import { describe, expect, it } from 'vitest';
import { QUIC_CONNECTION_ID_BASE } from '../../../core/src/quic/index.js';
import { QUIC_V2 } from '../../../core/src/quic/version.js';
import { runQuic } from './harness.js';
import { cat, clientHello, F, H3, qpackSection, QuicSim } from './quic-builder.js';

const enc = (s: string) => Uint8Array.from(Buffer.from(s));

/** Handshake, then the client's control stream and one GET, the server's control stream and a 200 with a body. */
function h3Exchange(sim: QuicSim, t0 = 30, path = '/') {
  const req = H3.headers(qpackSection([[':method', 'GET'], [':scheme', 'https'], [':authority', 'example.test'], [':path', path]]));
  const resp = cat(H3.headers(qpackSection([[':status', '200'], ['content-type', 'text/plain']])), H3.data(enc('hello')));
  return [
    sim.udp('client', sim.short('client', cat(F.stream(2, 0, cat([0x00], H3.settings({ 0x01: 0, 0x07: 0 }))), F.stream(0, 0, req, true))), t0),
    sim.udp('server', sim.short('server', cat(F.handshakeDone(), F.stream(3, 0, cat([0x00], H3.settings({ 0x06: 16384 }))), F.stream(0, 0, resp, true))), t0 + 10),
  ];
}

describe('QUIC connections from datagrams', () => {
  it('opens a connection from a client Initial, reads the handshake and an HTTP/3 request with keys', () => {
    const sim = new QuicSim();
    const r = runQuic([...sim.handshake({ sni: 'example.test', alpn: ['h3', 'h3-29'] }), ...h3Exchange(sim)], sim.keys);
    expect(r.connections).toHaveLength(1);
    const c = r.connections[0];
    expect(c.id).toBe(QUIC_CONNECTION_ID_BASE);
    expect(c.transport).toBe('quic');
    expect(c.protocol).toBe('h3');
    expect(c.client).toEqual(sim.client);
    expect(c.tls).toMatchObject({ sni: 'example.test', alpn: { offered: ['h3', 'h3-29'], selected: 'h3' }, version: 'TLS 1.3', cipherSuite: 'TLS_AES_128_GCM_SHA256', decrypted: true, undecryptedReason: null });
    expect(c.quic).toMatchObject({ version: 'QUICv1', originalDcid: '0102030405060708', keyUpdates: 0, end: 'capture-end', handshakeDoneTime: 40 });
    expect(c.quic!.connectionIds).toEqual({ client: ['c1c2c3c4'], server: ['5e5e5e01'] });
    // RFC 9000 §10.1: the smaller of the client's 30 s and the server's 10 s.
    expect(c.quic!.idleTimeoutMs).toBe(10000);
    expect(c.tls!.handshakeEndTime).toBe(20);
    expect(c.establishedTime).toBe(20);
    expect(r.requests).toHaveLength(1);
    const q = r.requests[0];
    expect(q).toMatchObject({ method: 'GET', url: 'https://example.test/', httpVersion: 'h3', streamId: 0, status: 200, state: 'complete', index: 1, connectionReused: false });
    expect(q.sizes.responseBody).toBe(5);
    // The QUIC handshake is the first request's ssl phase (the engine adds connect from synTime).
    expect(q.times.sslStartTime).toBe(0);
    expect(q.times.sslEndTime).toBe(20);
    expect(q.responseHeaders).toContainEqual({ name: 'content-type', value: 'text/plain' });
    const h3 = c.extra!.h3 as { client: { settings: object }; server: { settings: object } };
    expect(h3.client.settings).toEqual({ SETTINGS_QPACK_MAX_TABLE_CAPACITY: 0, SETTINGS_QPACK_BLOCKED_STREAMS: 0 });
    expect(h3.server.settings).toEqual({ SETTINGS_MAX_FIELD_SECTION_SIZE: 16384 });
  });

  it('without keys still shows the ClientHello, ServerHello and packet counts, and says why nothing was decrypted', () => {
    const sim = new QuicSim();
    const r = runQuic([...sim.handshake({ sni: 'no-keys.test' }), ...h3Exchange(sim)], null);
    const c = r.connections[0];
    expect(r.requests).toEqual([]);
    expect(c.tls).toMatchObject({ sni: 'no-keys.test', alpn: { offered: ['h3'], selected: null }, cipherSuite: 'TLS_AES_128_GCM_SHA256', decrypted: false, undecryptedReason: 'no-keys' });
    // Offered only h3: the connection is HTTP/3 even unread.
    expect(c.protocol).toBe('h3');
    expect(c.quic!.packets.client).toMatchObject({ initial: 1, handshake: 1, oneRtt: 1, undecryptable: 2 });
    // Without keys the handshake ends with the client's last Handshake packet before its first 1-RTT one.
    expect(c.tls!.handshakeEndTime).toBe(20);
    expect(c.quic!.idleTimeoutMs).toBe(30000);
  });

  it('reads a QUIC v2 connection (RFC 9369: its salt, labels and packet type bits)', () => {
    const sim = new QuicSim({ version: QUIC_V2 });
    const r = runQuic([...sim.handshake(), ...h3Exchange(sim)], sim.keys);
    expect(r.connections[0].quic!.version).toBe('QUICv2');
    expect(r.requests.map((q) => q.status)).toEqual([200]);
  });

  it('follows a 1-RTT key update (RFC 9001 §6) and keeps decrypting', () => {
    const sim = new QuicSim();
    const pk = [...sim.handshake()];
    sim.keyUpdate('client');
    sim.keyUpdate('server');
    pk.push(...h3Exchange(sim));
    const r = runQuic(pk, sim.keys);
    expect(r.connections[0].quic!.keyUpdates).toBe(2);
    expect(r.requests).toHaveLength(1);
  });

  it('keeps one connection when the client address changes (RFC 9000 §9), recording the migration', () => {
    const sim = new QuicSim();
    const pk = [...sim.handshake()];
    const rebound = { ip: '10.0.0.1', port: 61000 };
    const req = H3.headers(qpackSection([[':method', 'GET'], [':scheme', 'https'], [':authority', 'example.test'], [':path', '/moved']]));
    pk.push(sim.udp('client', sim.short('client', F.stream(0, 0, req, true)), 40, rebound));
    const r = runQuic(pk, sim.keys);
    expect(r.connections).toHaveLength(1);
    expect(r.connections[0].quic!.migrations).toEqual([{ time: 40, packet: 4, from: sim.client, to: rebound }]);
    expect(r.requests[0].url).toBe('https://example.test/moved');
  });

  it('reads a CONNECTION_CLOSE in an Initial without keys (who, error code, reason)', () => {
    const sim = new QuicSim();
    const pk = [
      sim.udp('client', sim.long('client', 'initial', F.crypto(0, clientHello(sim.random, 'refused.test', ['h3'])), { padTo: 1200 }), 0),
      sim.udp('server', sim.long('server', 'initial', F.close(0x02, 'go away')), 5),
    ];
    const r = runQuic(pk, null);
    const c = r.connections[0];
    expect(c.quic!.close).toMatchObject({ by: 'server', application: false, errorCode: 2, error: 'CONNECTION_REFUSED', reason: 'go away', epoch: 'initial', packet: 2 });
    expect(c.quic!.end).toBe('connection-close');
    expect(c.close).toMatchObject({ by: 'server', how: 'rst', reason: 'rst', packet: 2 });
  });

  it('maps a TLS alert carried as CRYPTO_ERROR (RFC 9001 §4.8) to the TLS alerts', () => {
    const sim = new QuicSim();
    const pk = [
      sim.udp('client', sim.long('client', 'initial', F.crypto(0, clientHello(sim.random, 'x.test', ['h3'])), { padTo: 1200 }), 0),
      sim.udp('server', sim.long('server', 'initial', F.close(0x100 + 40, 'handshake failure')), 5),
    ];
    const c = runQuic(pk, null).connections[0];
    expect(c.quic!.close!.error).toBe('CRYPTO_ERROR (TLS alert 40)');
    expect(c.tls!.alerts).toEqual([{ side: 'server', level: 2, description: 'handshake_failure', time: 5, packet: 2 }]);
  });

  it('numbers connections in order of first packet and tells them apart by connection ID', () => {
    const a = new QuicSim();
    const b = new QuicSim({ dcid: Uint8Array.from([9, 9, 9, 9, 9, 9, 9, 9]), clientCid: Uint8Array.of(0xbb, 1), serverCid: Uint8Array.of(0xbb, 2), random: new Uint8Array(32).fill(1), client: { ip: '10.0.0.1', port: 50001 } });
    const ha = a.handshake({ t0: 0 });
    const hb = b.handshake({ t0: 1 });
    const r = runQuic([ha[0], hb[0], ha[1], hb[1], ha[2], hb[2]], null);
    expect(r.connections.map((c) => [c.id - QUIC_CONNECTION_ID_BASE, c.tls!.sni, c.client.port])).toEqual([
      [0, 'example.test', 50000],
      [1, 'example.test', 50001],
    ]);
    expect(r.connections.map((c) => c.stats.client.packets + c.stats.server.packets)).toEqual([3, 3]);
  });

  it('does not claim UDP that is not QUIC, nor a long header that does not decrypt as a client Initial', () => {
    const sim = new QuicSim();
    // A well-formed v1 Initial header whose protection the Initial keys of its DCID do not remove.
    const junk = sim.udp('client', Uint8Array.from(Buffer.from('c000000001081122334455667788000014' + '00'.repeat(20), 'hex')), 0);
    const dns = sim.udp('client', Uint8Array.from([0x12, 0x34, 0x01, 0x00]), 1);
    const r = runQuic([junk, dns], null);
    expect(r.connections).toEqual([]);
    expect(r.claimed).toEqual([true, false]);
    expect(r.counters.quicInitialUndecryptable).toBe(1);
  });

  it('ends a silent connection at its idle timeout (RFC 9000 §10.1) when the capture goes on', () => {
    const sim = new QuicSim();
    const other = new QuicSim({ dcid: Uint8Array.of(7, 7, 7, 7, 7, 7, 7, 7), clientCid: Uint8Array.of(0xee), client: { ip: '10.0.0.9', port: 40000 } });
    const pk = [...sim.handshake(), ...h3Exchange(sim)];
    pk.push(other.udp('client', other.long('client', 'initial', F.crypto(0, clientHello(other.random, 'later.test', ['h3'])), { padTo: 1200 }), 60_000));
    const r = runQuic(pk, sim.keys);
    const c = r.connections[0];
    expect(c.quic!.end).toBe('idle-timeout');
    expect(c.close).toMatchObject({ reason: 'idle-timeout', how: 'open', by: null });
  });

  it('notes frames sent after CONNECTION_CLOSE (RFC 9000 §10.2)', () => {
    const sim = new QuicSim();
    const pk = [...sim.handshake()];
    pk.push(sim.udp('client', sim.short('client', F.close(0x100, '', true)), 30));
    pk.push(sim.udp('client', sim.short('client', F.stream(0, 0, enc('late'))), 31));
    const c = runQuic(pk, sim.keys).connections[0];
    expect(c.quic!.close).toMatchObject({ by: 'client', application: true, error: 'H3_NO_ERROR', epoch: '1rtt' });
    expect(c.close).toMatchObject({ by: 'client', how: 'fin', reason: 'client-close' });
    expect(c.anomalies.map((a) => a.code)).toContain('quic-frames-after-close');
  });

  it('delivers a stream whose middle packet was not captured with the gap as lost bytes', () => {
    const sim = new QuicSim();
    const pk = [...sim.handshake()];
    const req = H3.headers(qpackSection([[':method', 'GET'], [':scheme', 'https'], [':authority', 'example.test'], [':path', '/big']]));
    const body = new Uint8Array(3000).fill(0x61);
    const resp = cat(H3.headers(qpackSection([[':status', '200']])), H3.data(body));
    pk.push(sim.udp('client', sim.short('client', F.stream(0, 0, req, true)), 30));
    pk.push(sim.udp('server', sim.short('server', F.stream(0, 0, resp.subarray(0, 1000))), 40));
    sim.short('server', F.stream(0, 1000, resp.subarray(1000, 2000))); // sealed, never captured
    pk.push(sim.udp('server', sim.short('server', F.stream(0, 2000, resp.subarray(2000), true)), 42));
    const r = runQuic(pk, sim.keys);
    expect(r.requests).toHaveLength(1);
    const q = r.requests[0];
    expect(q.status).toBe(200);
    expect(q.lostBytes).toBe(1000);
    // The hole was inside the DATA payload: the framing survives and the response ends.
    expect(q.state).toBe('complete');
    expect(r.connections[0].stats.server.lostBytes).toBe(1000);
  });
});
