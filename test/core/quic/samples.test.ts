/**
 * What makes each samples/quic capture special, read back from the real bytes: key updates and
 * ChaCha20 header protection, Retry and NAT rebinding, resumption with 0-RTT, a key log carried in
 * a pcapng Decryption Secrets Block, and the same captures without keys.
 */
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeFile } from '../../../core/src/engine.js';
import { readKeyLogFile } from '../../../core/src/tls/keylog.js';
import type { Report } from '../../../core/src/model/types.js';
import { requireResource, SAMPLES } from '../../helpers/env.js';

const Q = join(SAMPLES, 'quic');
const ok = requireResource('samples/quic', existsSync(Q), 'run samples/generate-quic.sh');

async function load(stem: string, keys = true): Promise<Report> {
  const k = join(Q, `${stem}.keys`);
  return analyzeFile(join(Q, existsSync(join(Q, `${stem}.pcap`)) ? `${stem}.pcap` : `${stem}.pcapng`), { keyLog: keys && existsSync(k) ? (await readKeyLogFile(k)).keylog : undefined });
}

describe('samples/quic', () => {
  it.skipIf(!ok)('ngtcp2-h3-chacha-keyupdate: ChaCha20-Poly1305 and 1-RTT key updates in both directions', async () => {
    const r = await load('ngtcp2-h3-chacha-keyupdate');
    const c = r.connections[0];
    expect(c.tls!.cipherSuite).toBe('TLS_CHACHA20_POLY1305_SHA256');
    expect(c.quic!.keyUpdates).toBe(2);
    expect(c.quic!.packets.client.undecryptable + c.quic!.packets.server.undecryptable).toBe(0);
    expect(r.requests.map((q) => q.state)).toEqual(['complete', 'complete']);
  });

  it.skipIf(!ok)('ngtcp2-h3-retry-rebind: a valid Retry, then one connection across a client port change', async () => {
    const r = await load('ngtcp2-h3-retry-rebind');
    expect(r.connections).toHaveLength(1);
    const c = r.connections[0];
    expect(c.quic!.retry).toMatchObject({ integrityValid: true });
    expect(c.quic!.retry!.tokenBytes).toBeGreaterThan(0);
    expect(c.quic!.migrations).toHaveLength(1);
    const m = c.quic!.migrations[0];
    expect(m.from.port).toBe(c.client.port);
    expect(m.to.port).not.toBe(c.client.port);
    expect(r.requests).toHaveLength(2);
  });

  it.skipIf(!ok)('ngtcp2-h3-0rtt: the second connection resumes and sends its request in 0-RTT', async () => {
    const r = await load('ngtcp2-h3-0rtt');
    const [a, b] = r.connections;
    expect(a.tls).toMatchObject({ resumed: false, earlyData: 'none', ticketIssued: true });
    expect(b.tls).toMatchObject({ resumed: true, earlyData: 'accepted', handshakeRtts: 0, resumptionOffered: true });
    expect(b.quic!.packets.client.zeroRtt).toBeGreaterThan(0);
    const q = r.requests.find((x) => x.connectionId === b.id)!;
    // Sent before the handshake completed: its first octet precedes the client's Finished.
    expect(q.times.requestStartTime).toBeLessThan(b.tls!.handshakeEndTime!);
  });

  it.skipIf(!ok)('ngtcp2-h3-dsb.pcapng: the key log inside the capture is enough', async () => {
    const r = await analyzeFile(join(Q, 'ngtcp2-h3-dsb.pcapng'));
    expect(r.capture.counters.tlsKeyLogLinesFromCapture).toBeGreaterThan(0);
    expect(r.requests.map((q) => q.target)).toEqual(['/index.html', '/a.txt']);
  });

  it.skipIf(!ok)('chromium-caddy-h3: a page over HTTP/3, its phases starting with the QUIC handshake', async () => {
    const r = await load('chromium-caddy-h3');
    expect(r.connections).toHaveLength(1);
    const c = r.connections[0];
    expect(c.tls).toMatchObject({ sni: 'quic.test', alpn: { selected: 'h3' } });
    const first = r.requests.find((q) => q.index === 1)!;
    expect(first.times.connectStartTime).toBe(c.synTime);
    expect(first.times.connectEndTime).toBe(c.establishedTime);
    expect(first.times.sslEndTime).toBe(c.establishedTime);
    expect(first.timings.connect).toBeGreaterThan(0);
    expect(r.requests.filter((q) => q.connectionReused)).toHaveLength(r.requests.length - 1);
  });

  it.skipIf(!ok)('without keys: the same connections, SNI and ALPN, no requests, reason no-keys', async () => {
    for (const stem of ['ngtcp2-h3', 'chromium-caddy-h3', 'ngtcp2-h3-0rtt']) {
      const withKeys = await load(stem);
      const r = await load(stem, false);
      expect(r.connections.map((c) => [c.id, c.tls!.sni, c.tls!.alpn.offered, c.tls!.cipherSuite])).toEqual(withKeys.connections.map((c) => [c.id, c.tls!.sni, c.tls!.alpn.offered, c.tls!.cipherSuite]));
      expect(r.requests).toEqual([]);
      for (const c of r.connections) {
        expect(c.tls!.undecryptedReason).toBe('no-keys');
        expect(c.protocol).toBe('h3');
        // The handshake end without keys (client's last Handshake packet) matches the Finished seen with them.
        expect(c.establishedTime).toBe(withKeys.connections.find((x) => x.id === c.id)!.establishedTime);
      }
    }
  });
});
