/**
 * Hostile QUIC and HTTP/3 input: each case builds what was quadratic, unbounded or crashing in
 * analyzers and asserts the named limit and its counter (or anomaly), with only a generous time
 * guard against hangs. Packets are sealed for real (quic-builder.ts), so every case reaches the
 * code behind the AEAD, not just the header parser.
 */
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { L4Packet } from '../../../core/src/capture/ip.js';
import { analyzeFile } from '../../../core/src/engine.js';
import { MAX_CRYPTO_BYTES, MAX_QUIC_STREAMS } from '../../../core/src/quic/index.js';
import { MAX_STREAM_PENDING_PIECES } from '../../../core/src/quic/connection.js';
import { CORPUS, requireResource } from '../../helpers/env.js';
import { runQuic } from './harness.js';
import { cat, clientHello, F, H3, lenPrefixed, qpackSection, QuicSim } from './quic-builder.js';

const GUARD_MS = 20_000;

function timed<T>(f: () => T): { value: T; ms: number } {
  const t0 = performance.now();
  const value = f();
  return { value, ms: performance.now() - t0 };
}

/** Packs frames into 1-RTT packets of at most ~1200 octets of payload. */
function packets(sim: QuicSim, side: 'client' | 'server', frames: Uint8Array[], t0: number) {
  const out: L4Packet[] = [];
  let cur: Uint8Array[] = [];
  let n = 0;
  let t = t0;
  const flush = () => {
    if (cur.length) out.push(sim.udp(side, sim.short(side, cat(...cur)), (t += 0.001)));
    cur = [];
    n = 0;
  };
  for (const f of frames) {
    if (n + f.length > 1200) flush();
    cur.push(f);
    n += f.length;
  }
  flush();
  return out;
}

const request = (path: string) => H3.headers(qpackSection([[':method', 'GET'], [':scheme', 'https'], [':authority', 'example.test'], [':path', path]]));

describe('hostile QUIC input', () => {
  it('an Initial with a bogus DCID length (200 > 20, RFC 9000 §17.2) is not a connection and does not throw', () => {
    const sim = new QuicSim();
    const d = Uint8Array.from([0xc3, 0, 0, 0, 1, 200, ...new Uint8Array(200), 0, 0, 0x41, 0x00, ...new Uint8Array(300)]);
    const r = runQuic([sim.udp('client', d, 0)], null);
    expect(r.connections).toEqual([]);
  });

  it('coalesced garbage after a real Initial is counted, the real packet still opens the connection', () => {
    const sim = new QuicSim();
    const first = sim.long('client', 'initial', F.crypto(0, clientHello(sim.random, 'x.test', ['h3'])), { padTo: 1000 });
    const junk = Uint8Array.from({ length: 300 }, (_, i) => (i * 37 + 11) & 0xff);
    junk[0] = 0xc5; // a long header of version 0x..., whatever follows
    const r = runQuic([sim.udp('client', cat(first, junk), 0)], null);
    expect(r.connections).toHaveLength(1);
    expect(r.connections[0].tls!.sni).toBe('x.test');
    expect((r.counters.quicMalformedPackets ?? 0) + (r.counters.quicCoalescedMismatch ?? 0)).toBe(1);
  });

  it('a million 1-byte STREAM frames in order cost O(1) each: one request with a million body octets', () => {
    const sim = new QuicSim();
    const N = 1_000_000;
    const frames: Uint8Array[] = [];
    const head = cat(request('/drip'));
    frames.push(F.stream(0, 0, head, true));
    const resp = H3.headers(qpackSection([[':status', '200']]));
    const dataHdr = Uint8Array.from([0x00, 0x80 | ((N >>> 24) & 0x3f), (N >>> 16) & 0xff, (N >>> 8) & 0xff, N & 0xff]);
    const prefix = cat(resp, dataHdr);
    const server: Uint8Array[] = [F.stream(0, 0, prefix)];
    const one = Uint8Array.of(0x7a);
    for (let i = 0; i < N; i++) server.push(F.stream(0, prefix.length + i, one, i === N - 1));
    const pk = [...sim.handshake(), ...packets(sim, 'client', frames, 30), ...packets(sim, 'server', server, 40)];
    const { value: r, ms } = timed(() => runQuic(pk, sim.keys));
    expect(ms).toBeLessThan(GUARD_MS);
    expect(r.requests).toHaveLength(1);
    expect(r.requests[0].sizes.responseBody).toBe(N);
    expect(r.requests[0].state).toBe('complete');
    expect(r.connections[0].quic!.frames.server.STREAM).toBe(N + 1);
  }, 120_000);

  it('1-byte STREAM frames in reverse order hit MAX_STREAM_PENDING_PIECES and give holes up as counted loss', () => {
    const sim = new QuicSim();
    const N = 20_000;
    const server: Uint8Array[] = [];
    for (let i = N - 1; i >= 0; i--) server.push(F.stream(3, 1 + i, Uint8Array.of(0x7a)));
    const pk = [...sim.handshake(), ...packets(sim, 'server', server, 40)];
    const { value: r, ms } = timed(() => runQuic(pk, sim.keys));
    expect(ms).toBeLessThan(GUARD_MS);
    const s = r.connections[0].stats.server;
    // The held window fills, then its oldest piece is delivered across the hole before it; the
    // octets of that hole arriving later are below the delivered offset and dropped as duplicates.
    // Bounded memory, loss made explicit (lostBytes), never a quadratic pile of held pieces.
    expect(s.lostBytes).toBeGreaterThan(0);
    expect(s.deliveredBytes).toBeGreaterThanOrEqual(MAX_STREAM_PENDING_PIECES);
    // Offsets 1..N were sent; offset 0 never was.
    expect(s.deliveredBytes + s.lostBytes).toBe(N + 1);
  }, 60_000);

  it('more streams than MAX_QUIC_STREAMS are counted, not tracked', () => {
    const sim = new QuicSim();
    const frames: Uint8Array[] = [];
    for (let i = 0; i < MAX_QUIC_STREAMS + 50; i++) frames.push(F.stream(i * 4, 0, Uint8Array.of(1), true));
    const pk = [...sim.handshake(), ...packets(sim, 'client', frames, 30)];
    const { value: r, ms } = timed(() => runQuic(pk, sim.keys));
    expect(ms).toBeLessThan(GUARD_MS);
    expect(r.counters.quicStreamLimit).toBe(1);
    expect(r.connections[0].anomalies.map((a) => a.code)).toContain('quic-stream-limit');
    expect(r.connections[0].quic!.streams.client.bidi).toBe(MAX_QUIC_STREAMS);
  }, 60_000);

  it('a CRYPTO flood beyond MAX_CRYPTO_BYTES is cut off and noted', () => {
    const sim = new QuicSim();
    const pk: L4Packet[] = [];
    const chunk = new Uint8Array(1000).fill(0x41);
    for (let off = 0, t = 0; off < MAX_CRYPTO_BYTES + 20_000; off += 1000) {
      pk.push(sim.udp('client', sim.long('client', 'initial', off === 0 ? F.crypto(0, clientHello(sim.random, 'flood.test', ['h3'])) : F.crypto(off, chunk), { padTo: 1200 }), t++));
    }
    const r = runQuic(pk, null);
    expect(r.counters.quicCryptoLimit).toBe(1);
    expect(r.connections[0].anomalies.map((a) => a.code)).toContain('quic-crypto-limit');
  });

  it('QPACK table abuse: 50 000 inserts into a small table evict in O(1), a section of 20 000 references to a large entry is capped', () => {
    const sim = new QuicSim();
    const enc: number[] = [0x3f, 0xe1, 0x1f]; // Set Dynamic Table Capacity 4096 (§4.3.1)
    const big = new Uint8Array(3000).fill(0x62);
    const encoder: Uint8Array[] = [Uint8Array.of(0x02), Uint8Array.from(enc)];
    for (let i = 0; i < 50_000; i++) encoder.push(cat([0x40 | 1, 0x6b], [1, 0x30 + (i % 10)])); // insert k=digit
    encoder.push(cat([0x40 | 1, 0x6b], lenPrefixed(big, 7))); // k=bbbb… (3 KB)
    const encStream = cat(...encoder);
    // RIC = 50 001 → encoded (50001 mod 2·MaxEntries) + 1 with MaxEntries = 4096/32 = 128.
    const ric = (50_001 % 256) + 1;
    const refs = new Uint8Array(20_000).fill(0x80); // indexed, dynamic, relative 0 → the 3 KB entry
    const ricBytes = ric < 255 ? [ric] : [0xff, ric - 255];
    const section = cat(ricBytes, [0x00], refs);
    const client = [
      F.stream(2, 0, cat([0x00], H3.settings({ 0x01: 4096 }))),
      ...chunks(encStream, 1000).map((c, i) => F.stream(6, i * 1000, c)),
      F.stream(0, 0, request('/abuse'), true),
    ];
    const server = [
      F.stream(3, 0, cat([0x00], H3.settings({}))),
      ...chunks(cat([0x02], encStream.subarray(1)), 1000).map((c, i) => F.stream(7, i * 1000, c)),
      F.stream(0, 0, H3.headers(section), true),
    ];
    const pk = [...sim.handshake(), ...packets(sim, 'client', client, 30), ...packets(sim, 'server', server, 40)];
    const { value: r, ms } = timed(() => runQuic(pk, sim.keys));
    expect(ms).toBeLessThan(GUARD_MS);
    expect(r.requests).toHaveLength(1);
    const q = r.requests[0];
    expect(q.responseHeaders.length).toBeLessThanOrEqual(1000);
    expect(q.responseHeaders.reduce((n, h) => n + h.name.length + h.value.length + 32, 0)).toBeLessThanOrEqual(256 * 1024);
    expect(q.anomalies.map((a) => a.code)).toContain('H3_HEADERS_INCOMPLETE');
  }, 60_000);

  it('frames after CONNECTION_CLOSE are noted once, however many follow', () => {
    const sim = new QuicSim();
    const pk = [...sim.handshake(), sim.udp('server', sim.short('server', F.close(0)), 30)];
    for (let i = 0; i < 100; i++) pk.push(sim.udp('client', sim.short('client', F.stream(0, i, Uint8Array.of(1))), 31 + i));
    const r = runQuic(pk, sim.keys);
    expect(r.counters.quicFramesAfterClose).toBe(1);
  });

  it('random mutations of real datagrams never throw', () => {
    const sim = new QuicSim();
    const base = [...sim.handshake(), sim.udp('client', sim.short('client', F.stream(0, 0, request('/'), true)), 30)];
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const pk: L4Packet[] = [];
    for (let i = 0; i < 3000; i++) {
      const p = base[i % base.length];
      const d = new Uint8Array(p.payload);
      const flips = 1 + Math.floor(rnd() * 4);
      for (let k = 0; k < flips; k++) d[Math.floor(rnd() * d.length)] ^= 1 << Math.floor(rnd() * 8);
      const cut = rnd() < 0.2 ? Math.floor(rnd() * d.length) : d.length;
      pk.push({ ...p, num: i + 1, time: i, payload: d.subarray(0, cut) });
    }
    expect(() => runQuic([...base, ...pk], sim.keys)).not.toThrow();
    expect(() => runQuic(pk, null)).not.toThrow();
  });
});

describe('captures that crashed another analyzer', () => {
  const dir = join(CORPUS, 'zeek-quic');
  const ok = requireResource('../shared/corpus/zeek-quic', existsSync(dir), 'the shared test corpus beside the project');
  for (const f of ['vector-max-size-crash.pcap', '383379789-decrypt-crash.pcap']) {
    it.skipIf(!ok)(`${f} is analysed without an exception and opens no connection`, async () => {
      const r = await analyzeFile(join(dir, f));
      expect(r.connections.filter((c) => c.transport === 'quic')).toEqual([]);
    });
  }
});

function chunks(b: Uint8Array, n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < b.length; i += n) out.push(b.subarray(i, i + n));
  return out;
}
