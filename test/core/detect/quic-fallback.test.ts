/**
 * quic-blocked (quic-fallback.ts) on samples/quic/chromium-quic-fallback.pcap: Chromium, knowing
 * from an earlier run that quic.test:18702 speaks h3, sends QUIC Initials that iptables drops in
 * the namespace, then connects over TCP. tshark checks the facts: every QUIC packet is the
 * client's, and the TCP SYN's time after the first Initial is the price.
 */
import { describe, expect, it } from 'vitest';
import { hasTshark } from '../../helpers/env.js';
import { tsharkFields } from '../../helpers/tshark.js';
import { capture, haveQuicSamples, loadQuic, Q, quicConns, quicFindings, redetect } from './quic-helpers.js';

const ok = haveQuicSamples();
const STEM = 'chromium-quic-fallback';
const blocked = async (stem: string, keys = true) => quicFindings(await loadQuic(stem, keys)).filter((f) => f.kind === 'quic-blocked');

describe('quic-blocked on chromium-quic-fallback.pcap', () => {
  it.skipIf(!ok).each([true, false])('keys %s: fallback-to-tcp, priced from the first Initial to the TCP SYN', async (keys) => {
    const r = await loadQuic(STEM, keys);
    const fs = await blocked(STEM, keys);
    expect(fs.map((f) => [f.rule, f.severity, f.connectionIds])).toEqual([['fallback-to-tcp', 'warning', [0, Q]]]);
    const [q] = quicConns(r);
    const tcp = r.connections.find((c) => c.transport !== 'quic')!;
    expect(fs[0].costMs).toBeCloseTo(tcp.synTime! - q.synTime!, 9);
    expect(fs[0].costMs!).toBeGreaterThan(5); // Chromium held its TCP attempt back (QUIC had worked before)
    expect(fs[0].timeRange).toEqual([q.synTime, tcp.synTime]);
    expect(fs[0].evidence.map((e) => [e.packet, e.time])).toEqual([
      [q.firstPacket, q.synTime],
      [tcp.firstPacket, tcp.synTime],
    ]);
    expect(fs[0].evidence[0].what).toMatch(/^QUIC connection 1000000000 to UDP port 18702: 5 Initials from 0 µs to \d+ ms, not one packet from the server$/);
    expect(fs[0].summary).toMatch(/^1 QUIC attempt from 127\.0\.0\.1 to quic\.test \(127\.0\.0\.1\) got no answer \(5 Initials, not one packet back\); the client fell back to TCP \(connection 0\) \d+ ms after its first Initial/);
  });

  it.skipIf(!ok || !hasTshark())('tshark: five client Initials and no packet from the server on UDP; the first TCP SYN at the finding’s price', async () => {
    const f = capture(STEM);
    const udp = tsharkFields(f, 'udp', ['udp.srcport', 'udp.dstport', 'quic.long.packet_type', 'frame.time_relative']);
    expect(udp.every((x) => x[1] === '18702')).toBe(true); // nothing came back from the server's port
    expect(udp.filter((x) => x[2] === '0')).toHaveLength(5);
    const syn = tsharkFields(f, 'tcp.flags.syn==1 && tcp.flags.ack==0', ['frame.time_relative']);
    const [fd] = await blocked(STEM);
    expect(fd.costMs!).toBeCloseTo((Number(syn[0][0]) - Number(udp[0][3])) * 1000, 3);
  });
});

describe('quic-blocked on chromium-quic-blocked-forced.pcap (QUIC forced, UDP dropped: Chromium never tries TCP)', () => {
  it.skipIf(!ok)('no-fallback (warning), priced as the time spent trying: first Initial → last packet', async () => {
    const r = await loadQuic('chromium-quic-blocked-forced');
    const [q] = quicConns(r);
    const fs = await blocked('chromium-quic-blocked-forced');
    expect(fs.map((f) => [f.rule, f.severity, f.connectionIds])).toEqual([['no-fallback', 'warning', [Q]]]);
    expect(fs[0].costMs).toBeCloseTo(q.lastTime - q.synTime!, 9);
    expect(fs[0].costMs!).toBeGreaterThan(3000); // Chromium gives up after 4 s (ERR_QUIC_PROTOCOL_ERROR)
    expect(fs[0].summary).toMatch(/^1 QUIC attempt from 127\.0\.0\.1 to quic\.test \(127\.0\.0\.1\) got no answer \(\d+ Initials over [\d.]+ s, not one packet back\), and no TCP connection to it followed within 30 s$/);
    expect(r.connections.filter((c) => c.transport !== 'quic')).toEqual([]);
  });

  it.skipIf(!ok || !hasTshark())('tshark: only client Initials on UDP, no TCP at all; the span of the Initials is the price', async () => {
    const f = capture('chromium-quic-blocked-forced');
    const udp = tsharkFields(f, 'udp', ['udp.dstport', 'quic.long.packet_type', 'frame.time_relative']);
    expect(udp.every((x) => x[0] === '18703' && x[1] === '0')).toBe(true);
    expect(tsharkFields(f, 'tcp', ['frame.number'])).toEqual([]);
    const [fd] = await blocked('chromium-quic-blocked-forced');
    const r = await loadQuic('chromium-quic-blocked-forced');
    expect(quicConns(r)[0].quic!.packets.client.initial).toBe(udp.length);
    expect(fd.costMs!).toBeCloseTo((Number(udp.at(-1)![2]) - Number(udp[0][2])) * 1000, 3);
  });
});

describe('quic-blocked rules, from edited copies of chromium-quic-fallback.pcap', () => {
  it.skipIf(!ok)('no TCP connection afterwards: no-fallback (warning), priced as the time spent trying', async () => {
    const r = await loadQuic(STEM);
    const fs = redetect(r, quicConns(r), []).filter((f) => f.kind === 'quic-blocked');
    const [q] = quicConns(r);
    expect(fs.map((f) => [f.rule, f.severity, f.connectionIds, f.costMs])).toEqual([['no-fallback', 'warning', [Q], q.lastTime - q.synTime!]]);
  });

  it.skipIf(!ok)('a TCP connection to the origin open at the first Initial: blocked-while-tcp-open, not priced', async () => {
    const r = await loadQuic(STEM);
    const cs = structuredClone(r.connections);
    const tcp = cs.find((c) => c.transport !== 'quic')!;
    const earlier = { ...structuredClone(tcp), id: 7, synTime: -5, firstTime: -5, close: { ...tcp.close, time: 500 } };
    const fs = redetect(r, [...cs, earlier]).filter((f) => f.kind === 'quic-blocked');
    expect(fs.map((f) => [f.rule, f.severity, f.connectionIds, f.costMs])).toEqual([['blocked-while-tcp-open', 'info', [0, 7, Q], undefined]]);
  });

  it.skipIf(!ok)('a TCP connection beyond fallbackWindowMs is not the fallback; another SNI is another origin', async () => {
    const r = await loadQuic(STEM);
    const cs = structuredClone(r.connections);
    const tcp = cs.find((c) => c.transport !== 'quic')!;
    tcp.synTime = tcp.firstTime = 40_000;
    expect(redetect(r, cs).filter((f) => f.kind === 'quic-blocked').map((f) => f.rule)).toEqual(['no-fallback']);
    const cs2 = structuredClone(r.connections);
    cs2.find((c) => c.transport !== 'quic')!.tls!.sni = 'other.test';
    expect(redetect(r, cs2).filter((f) => f.kind === 'quic-blocked').map((f) => f.rule)).toEqual(['no-fallback']);
  });

  it.skipIf(!ok)('an answered QUIC connection is never blocked: no finding on the other QUIC captures', async () => {
    for (const stem of ['ngtcp2-h3', 'ngtcp2-h3-0rtt', 'ngtcp2-h3-chacha-keyupdate', 'ngtcp2-h3-retry-rebind', 'ngtcp2-h3-missed-reuse', 'ngtcp2-h3-dsb', 'chromium-caddy-h3', 'chromium-caddy-altsvc']) {
      for (const keys of [true, false]) expect(await blocked(stem, keys), `${stem} keys ${keys}`).toEqual([]);
    }
  });
});
