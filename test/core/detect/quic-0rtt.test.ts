/**
 * quic-0rtt (quic-0rtt.ts) on samples/quic/ngtcp2-h3-0rtt.pcap: a second ngtcp2 client process
 * resumes the first one's session and sends its request in 0-RTT; the server accepts it. tshark
 * counts the 0-RTT packets.
 */
import { describe, expect, it } from 'vitest';
import { hasTshark } from '../../helpers/env.js';
import { tsharkFields } from '../../helpers/tshark.js';
import { capture, haveQuicSamples, loadQuic, Q, quicConns, quicFindings, redetect } from './quic-helpers.js';

const ok = haveQuicSamples();
const STEM = 'ngtcp2-h3-0rtt';
const zero = async (stem: string, keys = true) => quicFindings(await loadQuic(stem, keys)).filter((f) => f.kind === 'quic-0rtt');

describe('quic-0rtt on ngtcp2-h3-0rtt.pcap', () => {
  it.skipIf(!ok)('with keys: accepted (info), the request sent before the handshake ended named', async () => {
    const r = await loadQuic(STEM);
    const fs = await zero(STEM);
    const [, b] = quicConns(r);
    const q = r.requests.find((x) => x.connectionId === b.id)!;
    expect(fs.map((f) => [f.rule, f.severity, f.connectionIds, f.requestIds, f.costMs])).toEqual([['accepted', 'info', [Q + 1], [q.id], undefined]]);
    expect(q.times.requestStartTime).toBeLessThan(b.tls!.handshakeEndTime!);
    expect(fs[0].summary).toBe(`1 of 2 QUIC connections from 127.0.0.1 to localhost (127.0.0.1:18460) sent 0-RTT data and the server accepted it: 1 request left with the first Initial, not waiting for ~${Math.round(b.handshakeRttMs)} ms of handshakes (1 round trip each)`);
    expect(fs[0].evidence[0]).toMatchObject({ packet: b.firstPacket, time: b.synTime });
  });

  it.skipIf(!ok)('without keys: acceptance is in the encrypted EncryptedExtensions, nothing is claimed', async () => {
    const r = await loadQuic(STEM, false);
    expect(quicConns(r)[1].tls!.earlyData).toBe('offered');
    expect(await zero(STEM, false)).toEqual([]);
  });

  it.skipIf(!ok)('rejected (an edited copy): info, priced as the handshake the early data waited for', async () => {
    const r = await loadQuic(STEM);
    const cs = structuredClone(r.connections);
    cs[1].tls!.earlyData = 'rejected';
    const fs = redetect(r, cs).filter((f) => f.kind === 'quic-0rtt');
    expect(fs.map((f) => [f.rule, f.severity, f.connectionIds])).toEqual([['rejected', 'info', [Q + 1]]]);
    expect(fs[0].costMs).toBeCloseTo(cs[1].handshakeRttMs, 9);
  });

  it.skipIf(!ok || !hasTshark())('tshark: 0-RTT packets (long header type 1) only on the second connection, from the client', async () => {
    const rows = tsharkFields(capture(STEM), 'quic.long.packet_type==1', ['quic.connection.number', 'udp.dstport']);
    expect(rows.length).toBeGreaterThan(0);
    expect(new Set(rows.map((x) => `${x[0]} ${x[1]}`))).toEqual(new Set(['1 18460']));
    const r = await loadQuic(STEM);
    expect(quicConns(r)[1].quic!.packets.client.zeroRtt).toBe(rows.length);
  });

  it.skipIf(!ok)('no 0-RTT anywhere else in samples/quic', async () => {
    for (const stem of ['ngtcp2-h3', 'ngtcp2-h3-chacha-keyupdate', 'ngtcp2-h3-retry-rebind', 'ngtcp2-h3-missed-reuse', 'ngtcp2-h3-dsb', 'chromium-caddy-h3', 'chromium-caddy-altsvc', 'chromium-quic-fallback', 'chromium-quic-blocked-forced']) {
      for (const keys of [true, false]) expect(await zero(stem, keys), `${stem} keys ${keys}`).toEqual([]);
    }
  });
});
