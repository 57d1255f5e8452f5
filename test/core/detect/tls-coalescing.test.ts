/**
 * missed-coalescing (h2-coalescing.ts) on the real HTTPS samples: coalescing.pcap (curl: a second
 * HTTP/2 connection for b.wirefall.test while the one for a.wirefall.test, whose certificate
 * covers b, was open on the same address and port) and chromium-coalesced.pcap (Chromium: b's
 * requests ride a's connection — the positive case), with and without keys; and variants that
 * change one fact (the certificate, the address, the close).
 */
import { describe, expect, it } from 'vitest';
import { detectAll } from '../../../core/src/detect/index.js';
import { certCovers, certNames, quietStart } from '../../../core/src/detect/tls-util.js';
import type { Connection, Report } from '../../../core/src/model/types.js';
import { analyzeTls, cloneReport, expectWithin, measuredHandshake, of } from './tls-helpers.js';

const coalescing = (r: Report) => of(r, 'missed-coalescing');
const run = (r: Report) => detectAll(r).filter((f) => f.kind === 'missed-coalescing');

describe('missed-coalescing on coalescing.pcap', () => {
  it('with keys: the certificate of connection 0 (a.wirefall.test) covers b.wirefall.test — certificate-covers-host, warning', async () => {
    const r = await analyzeTls('coalescing', true);
    const fs = coalescing(r);
    expect(fs.map((f) => [f.rule, f.layer, f.severity, f.connectionIds])).toEqual([['certificate-covers-host', 'h2', 'warning', [0, 1]]]);
    const f = fs[0];
    expect(f.requestIds.sort()).toEqual(r.requests.filter((q) => q.connectionId === 1).map((q) => q.id).sort());
    expect(f.requestIds).toHaveLength(2);
    // cost: connection 1's TCP + TLS 1.3 handshakes
    expectWithin(f.costMs!, measuredHandshake(r.connections[1]));
    expect(f.summary).toContain('TCP + TLS 1.3 full handshake: 2 round trips each');
    expect(f.summary).toContain('RFC 9113 §9.1.1');
    // where it matters, the finding says what browsers require
    expect(f.summary).toContain('same IP address and port whose certificate covers the new name');
    expect(f.summary).toContain('same credentials mode');
    expect(f.evidence[0].what).toMatch(/connection 0 for a\.wirefall\.test opened; HTTP\/2 \(ALPN h2\); its certificate \(CN=a\.wirefall\.test\) lists a\.wirefall\.test, b\.wirefall\.test/);
  });

  it('with keys: not reported as a second connection to one origin (two names are two origins)', async () => {
    const r = await analyzeTls('coalescing', true);
    expect(of(r, 'missed-reuse')).toEqual([]);
  });

  it('without keys: the TLS 1.3 certificate and ALPN are encrypted — certificate-not-visible, info, with the condition spelled out', async () => {
    const r = await analyzeTls('coalescing', false);
    const fs = coalescing(r);
    expect(fs.map((f) => [f.rule, f.severity, f.connectionIds, f.requestIds])).toEqual([['certificate-not-visible', 'info', [0, 1], []]]);
    expect(fs[0].summary).toContain('certificate not visible (TLS 1.3 without keys): coalescing assumed possible only if that connection negotiated HTTP/2 and its certificate covers b.wirefall.test');
    expectWithin(fs[0].costMs!, measuredHandshake(r.connections[1]));
    expect(fs[0].advice).toContain('SSLKEYLOGFILE');
  });

  it('without keys, a certificate seen on another connection to the same address and name is used (then certificate-covers-host, HTTP/2 assumed)', async () => {
    const keyed = await analyzeTls('coalescing', true);
    const r = cloneReport(await analyzeTls('coalescing', false));
    // a third connection from another client port to a.wirefall.test that showed the certificate
    // (as a TLS 1.2 handshake does in clear), opened and closed before the others
    const shown: Connection = { ...structuredClone(r.connections[0]), id: 2, synTime: -10, firstTime: -10, lastTime: -5, close: { ...r.connections[0].close, time: -5 } };
    shown.client = { ...shown.client, ip: '127.0.0.9' };
    shown.tls!.certificate = keyed.connections[0].tls!.certificate;
    r.connections.push(shown);
    const fs = run(r);
    expect(fs.map((f) => [f.rule, f.severity, f.connectionIds])).toEqual([['certificate-covers-host', 'info', [0, 1]]]);
    expect(fs[0].summary).toContain('selection is not visible without keys: assumed');
    expect(fs[0].evidence[0].what).toContain('seen on connection 2');
  });
});

describe('missed-coalescing: negative cases', () => {
  it.each(['chromium-coalesced', 'chromium-h2', 'nginx-h2-tls13', 'chromium-h1', 'tls-missed-reuse', 'node-h2-tls13', 'tls13-resumed'])('%s: no missed-coalescing either way', async (name) => {
    for (const keys of [true, false]) expect(coalescing(await analyzeTls(name, keys)), `keys ${keys}`).toEqual([]);
  });

  const variant = async (f: (r: Report) => void) => {
    const r = cloneReport(await analyzeTls('coalescing', true));
    f(r);
    return run(r);
  };

  it('a certificate that does not cover the new name: nothing', async () => {
    expect(await variant((r) => (r.connections[0].tls!.certificate!.sans = ['a.wirefall.test']))).toEqual([]);
  });

  it('wildcards: *.wirefall.test covers b; *.test, b*.wirefall.test and *.b.wirefall.test do not (RFC 6125 §6.4.3)', async () => {
    expect((await variant((r) => (r.connections[0].tls!.certificate!.sans = ['*.wirefall.test']))).map((f) => f.rule)).toEqual(['certificate-covers-host']);
    for (const w of ['*.test', 'b*.wirefall.test', '*.b.wirefall.test', '*']) {
      expect(await variant((r) => (r.connections[0].tls!.certificate!.sans = ['a.wirefall.test', w])), w).toEqual([]);
    }
  });

  it('another address or port: not coalescible', async () => {
    expect(await variant((r) => (r.connections[1].server = { ...r.connections[1].server, ip: '127.0.0.2' }))).toEqual([]);
    expect(await variant((r) => (r.connections[1].server = { ...r.connections[1].server, port: 18458 }))).toEqual([]);
  });

  it('the first connection closed before the second opened, or was still in its handshake: nothing open to coalesce onto', async () => {
    expect(await variant((r) => (r.connections[0].close = { ...r.connections[0].close, time: r.connections[1].synTime! - 0.001 }))).toEqual([]);
    expect(await variant((r) => (r.connections[0].tls!.handshakeEndTime = r.connections[1].synTime! + 0.001))).toEqual([]);
  });

  it('the first connection negotiated HTTP/1.1, or the new one did not offer h2: no HTTP/2 to coalesce', async () => {
    expect(
      await variant((r) => {
        r.connections[0].protocol = 'http/1.1';
        r.connections[0].tls!.alpn.selected = 'http/1.1';
        delete r.connections[0].h2;
        delete r.connections[0].extra;
      }),
    ).toEqual([]);
    expect(await variant((r) => (r.connections[1].tls!.alpn.offered = ['http/1.1']))).toEqual([]);
  });

  it('without keys, unrelated names on one address (shared hosting, CDN) are not guessed coalescible', async () => {
    const r = cloneReport(await analyzeTls('coalescing', false));
    r.connections[1].tls!.sni = 'www.other.example';
    expect(run(r)).toEqual([]);
  });

  it('a GOAWAY on the first connection before the second opened: draining, nothing', async () => {
    expect(
      await variant((r) => {
        const h2 = r.connections[0].h2 as unknown as { server?: { goaway?: unknown } };
        h2.server = { ...(h2.server ?? {}), goaway: { time: r.connections[1].synTime! - 0.5, packet: 1, lastStreamId: 3, errorCode: 'NO_ERROR' } };
      }),
    ).toEqual([]);
  });
});

describe('tls-util', () => {
  const cert = (sans: string[]) => ({ subject: 'CN=x', sans, issuer: 'CN=ca', notBefore: null, notAfter: null });
  it('certCovers: exact names case-insensitively, one-label wildcards only, never IP entries', () => {
    expect(certCovers(cert(['A.Example.COM.']), 'a.example.com')).toBe(true);
    expect(certCovers(cert(['*.example.com']), 'a.example.com')).toBe(true);
    expect(certCovers(cert(['*.example.com']), 'a.b.example.com')).toBe(false);
    expect(certCovers(cert(['*.example.com']), 'example.com')).toBe(false);
    expect(certCovers(cert(['*.com']), 'example.com')).toBe(false);
    expect(certCovers(cert(['f*.example.com']), 'foo.example.com')).toBe(false);
    expect(certNames(cert(['127.0.0.1', '::1', 'localhost', 'a.example.com']))).toEqual(['a.example.com']);
  });

  it('quietStart: the last record before the close, or the start of the idle that ended with a close_notify', () => {
    const c = { lastDataTime: 100, close: { time: 200 }, idle: [] } as unknown as Connection;
    expect(quietStart(c)).toBe(100);
    const withNotify = { lastDataTime: 199.9, close: { time: 200 }, idle: [{ startTime: 50, endTime: 199.9, durationMs: 149.9 }] } as unknown as Connection;
    expect(quietStart(withNotify)).toBe(50);
    const dataAfterFin = { lastDataTime: 250, close: { time: 200 }, idle: [] } as unknown as Connection;
    expect(quietStart(dataAfterFin)).toBe(200);
    const open = { lastDataTime: 80, close: { time: null }, idle: [] } as unknown as Connection;
    expect(quietStart(open)).toBe(80);
  });
});

describe('h2-coalescing at scale', () => {
  it('20,000 connections for 2 names alternating on one address, each left open: a sweep with indexed lookups, in seconds', async () => {
    const base = await analyzeTls('coalescing', true);
    const [c0, c1] = base.connections;
    const n = 20_000;
    const shift = (v: number | null, by: number) => (v === null ? null : v + by);
    const connections: Connection[] = Array.from({ length: n }, (_, i) => {
      const src = i % 2 ? c1 : c0;
      const by = i * 10 - (src === c1 ? c1.synTime! : 0);
      const { extra: _drop, h2: _dropH2, ...rest } = src;
      return {
        ...rest,
        id: i,
        client: { ip: src.client.ip, port: 1024 + (i % 60000) },
        synTime: shift(src.synTime, by),
        establishedTime: shift(src.establishedTime, by),
        firstTime: src.firstTime + by,
        lastTime: 1e9,
        close: { ...src.close, time: 1e9 + i },
        tls: { ...src.tls!, clientHelloTime: shift(src.tls!.clientHelloTime, by), handshakeEndTime: shift(src.tls!.handshakeEndTime, by), firstAppDataTime: { client: shift(src.tls!.firstAppDataTime.client, by), server: null } },
      };
    });
    const t0 = performance.now();
    const fs = detectAll({ ...base, connections, requests: [], findings: [] }).filter((f) => f.kind === 'missed-coalescing');
    expect(performance.now() - t0).toBeLessThan(10_000);
    // every b connection (odd) could have used an open a connection
    expect(fs.map((f) => [f.rule, f.evidence.length])).toEqual([['certificate-covers-host', 100]]);
    expect(fs[0].summary).toMatch(/^Connections /);
  });
});
