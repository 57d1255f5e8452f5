/**
 * missed-reuse over TLS, on the real HTTPS samples (samples/tls/, ground truth in
 * samples/tls/ground-truth.json): with the key log the HTTP/1 detector judges the decrypted
 * requests; without it tls-missed-reuse.ts judges the TLS records. Both must find the same
 * avoidable connections and price them as TCP + TLS handshakes.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DETECTOR_DEFS, detectAll } from '../../../core/src/detect/index.js';
import type { Connection, Report } from '../../../core/src/model/types.js';
import { ROOT } from '../../helpers/env.js';
import { analyzeTls, avoidableCount, cloneReport, expectWithin, measuredHandshake, of } from './tls-helpers.js';

const reuse = (r: Report) => of(r, 'missed-reuse');

describe('missed-reuse on HTTPS: tls-missed-reuse.pcap (8 curl processes, one URL each, RTT ≈ 20 ms)', () => {
  it.each([
    [true, 'http1'],
    [false, 'tls'],
  ])('keys %s: one client-no-pool finding (layer %s), 7 of 8 connections avoidable', async (keys, layer) => {
    const r = await analyzeTls('tls-missed-reuse', keys);
    const fs = reuse(r);
    expect(fs.map((f) => [f.rule, f.layer, f.connectionIds])).toEqual([['client-no-pool', layer, [0, 1, 2, 3, 4, 5, 6, 7]]]);
    expect(avoidableCount(fs[0])).toBe(7);
    expect(fs[0].summary).toContain('7 of 8');
    expect(fs[0].summary).toMatch(/~[\d.]+ (µs|ms|s) of handshakes \(TCP \+ TLS 1\.3 full handshake: 2 round trips each\)/);
    expect(fs[0].requestIds).toEqual(keys ? [1, 2, 3, 4, 5, 6, 7] : []);
  });

  it.each([true, false])('keys %s: the cost is the TCP + TLS handshakes of the 7 avoidable connections (≈ 2 RTT each)', async (keys) => {
    const r = await analyzeTls('tls-missed-reuse', keys);
    const [f] = reuse(r);
    const sum = r.connections.slice(1).reduce((s, c) => s + measuredHandshake(c), 0);
    expectWithin(f.costMs!, sum);
    expect(f.costMs!).toBeCloseTo(sum, 6);
    // RTT ≈ 20 ms (the relay adds 10 ms each way): TCP 1 RTT + TLS 1.3 1 RTT
    expect(f.costMs! / 7).toBeGreaterThan(2 * 20 * 0.9);
    expect(f.costMs! / 7).toBeLessThan(2 * 20 * 1.5);
    // more than the TCP handshakes alone: the TLS round trip is counted
    const tcp = r.connections.slice(1).reduce((s, c) => s + c.handshakeRttMs, 0);
    expect(f.costMs! / tcp).toBeGreaterThan(1.8);
  });

  it.each([true, false])('keys %s: the finding comes from the missed-reuse kind (what `--only missed-reuse` runs)', async (keys) => {
    const r = await analyzeTls('tls-missed-reuse', keys);
    const fs = detectAll(r, { only: ['missed-reuse'] });
    expect(fs.map((f) => `${f.kind}/${f.rule}`)).toEqual(['missed-reuse/client-no-pool']);
  });

  it('without keys the evidence says how each connection was judged and what its handshake cost', async () => {
    const r = await analyzeTls('tls-missed-reuse', false);
    const [f] = reuse(r);
    expect(f.summary).toContain('judged from TLS record timing');
    expect(f.summary).toContain('a.wirefall.test (10.99.0.2:18453)');
    const opened = f.evidence.filter((e) => /^connection \d opened/.test(e.what));
    expect(opened).toHaveLength(7);
    expect(opened[0].what).toMatch(/after connection 0's last TLS record \(client FIN\); handshake \d+ ms \(TCP \d+ ms \+ TLS 1\.3 full handshake \d+ ms: 2 round trips\)/);
    expect(f.evidence[0].what).toMatch(/^connection 0 closed by the client \(FIN\)/);
    expect(f.advice).toContain('SSLKEYLOGFILE');
  });
});

describe('missed-reuse on the other HTTPS samples, with and without keys', () => {
  // Ground truth: avoidableConnections.
  it.each([
    ['tls12-resumed', 2],
    ['tls13-resumed', 2],
    ['tls-missed-reuse', 7],
  ])('%s: %i avoidable connections either way', async (name, n) => {
    for (const keys of [true, false]) {
      const fs = reuse(await analyzeTls(name, keys));
      expect(fs.reduce((s, f) => s + avoidableCount(f), 0), `keys ${keys}`).toBe(n);
    }
  });

  it('tls13-resumed with keys: curl sent `Connection: close`, so the cause is the client (the server only echoed it)', async () => {
    const r = await analyzeTls('tls13-resumed', true);
    const fs = reuse(r);
    expect(fs.map((f) => [f.rule, f.connectionIds])).toEqual([['client-no-pool', [0, 1, 2]]]);
    expect(fs[0].summary).toContain('the client sent `Connection: close`');
    // resumed TLS 1.3 handshakes: still TCP + 1 TLS round trip each
    expect(fs[0].summary).toContain('TLS 1.3 resumed handshake: 2 round trips each');
  });

  it('tls12-resumed: an abbreviated TLS 1.2 handshake is counted as 1 round trip (TCP + 1 = 2)', async () => {
    for (const keys of [true, false]) {
      const [f] = reuse(await analyzeTls('tls12-resumed', keys));
      expect(f.summary).toContain('TLS 1.2 resumed handshake: 2 round trips each');
    }
  });

  it('tls-alerts: the record-level judgement (no keys) names the same connections and rules as the decrypted one', async () => {
    const view = (r: Report) => reuse(r).map((f) => [f.rule, f.connectionIds, avoidableCount(f)]);
    const keyed = await analyzeTls('tls-alerts', true);
    const keyless = await analyzeTls('tls-alerts', false);
    expect(view(keyed)).toEqual([
      ['server-close', [0, 1, 2], 2],
      ['client-no-pool', [2, 5], 1],
    ]);
    expect(view(keyless)).toEqual(view(keyed));
    // the two handshakes the client rejected (unknown_ca: no application data) are never counted
    for (const f of reuse(keyless)) expect(f.connectionIds).not.toContain(3), expect(f.connectionIds).not.toContain(4);
  });

  // Single connections, parallel busy connections (Chromium's 6), coalesced hosts: nothing to reuse.
  it.each(['chromium-h2', 'nginx-h2-tls13', 'chromium-h1', 'chromium-coalesced', 'node-h2-tls13', 'coalescing'])('%s: no missed-reuse with or without keys', async (name) => {
    for (const keys of [true, false]) expect(reuse(await analyzeTls(name, keys)), `keys ${keys}`).toEqual([]);
  });
});

/** tls-missed-reuse.pcap without keys, with every connection left open until `closeAt` (no close records). */
async function leftOpen(mutate?: (c: Connection, i: number) => void): Promise<Report> {
  const r = cloneReport(await analyzeTls('tls-missed-reuse', false));
  const end = r.capture.durationMs;
  r.connections.forEach((c, i) => {
    c.close = { by: 'client', how: 'fin', time: end - 1 + i * 0.01, packet: c.close.packet, reason: 'client-close' };
    c.lastDataTime = c.tls!.firstAppDataTime.server! + 0.5; // the response; nothing after it
    mutate?.(c, i);
  });
  return r;
}

describe('tls-missed-reuse: idle connections without keys (synthetic variants of tls-missed-reuse.pcap)', () => {
  it('a new connection while the previous one is open and quiet, never used again: idle-connection-unused', async () => {
    const r = await leftOpen();
    const fs = detectAll(r).filter((f) => f.kind === 'missed-reuse');
    expect(fs.map((f) => [f.rule, f.layer, avoidableCount(f)])).toEqual([['idle-connection-unused', 'tls', 7]]);
    expect(fs[0].evidence[0].what).toMatch(/while connection 0 was open and had been idle \(no TLS record\) for \d+ ms/);
  });

  it('a quiet stretch that ends with a close_notify long after (recorded idle period) still counts as idle', async () => {
    const r = await leftOpen((c) => {
      const quiet = c.lastDataTime!;
      c.lastDataTime = c.close.time! - 0.1; // the close_notify right before the FIN
      c.idle = [{ startTime: quiet, endTime: c.lastDataTime, durationMs: c.lastDataTime - quiet }];
    });
    const fs = detectAll(r).filter((f) => f.kind === 'missed-reuse');
    expect(fs.map((f) => [f.rule, avoidableCount(f)])).toEqual([['idle-connection-unused', 7]]);
  });

  it('a connection that carries records after the new one opened was busy or used again: no finding', async () => {
    const r = await leftOpen((c) => {
      c.lastDataTime = c.close.time! - 20; // traffic until shortly before its close, after every later SYN
    });
    expect(detectAll(r).filter((f) => f.kind === 'missed-reuse')).toEqual([]);
  });

  it('an open HTTP/2 connection (ALPN h2 visible, as in TLS 1.2) carrying traffic: h2-second-connection even while busy', async () => {
    const r = await leftOpen((c) => {
      c.tls!.alpn = { offered: ['h2', 'http/1.1'], selected: 'h2' };
      c.protocol = 'h2';
      c.lastDataTime = c.close.time! - 20;
    });
    const fs = detectAll(r).filter((f) => f.kind === 'missed-reuse');
    expect(fs.map((f) => [f.rule, f.layer, avoidableCount(f)])).toEqual([['h2-second-connection', 'tls', 7]]);
  });

  it('connections that sent no application data (handshake only, e.g. a preconnect) are neither judged nor used', async () => {
    const r = cloneReport(await analyzeTls('tls-missed-reuse', false));
    for (const c of r.connections) c.tls!.firstAppDataTime = { client: null, server: null };
    expect(detectAll(r).filter((f) => f.kind === 'missed-reuse')).toEqual([]);
  });

  it('another SNI on the same address and port is another origin', async () => {
    const r = cloneReport(await analyzeTls('tls-missed-reuse', false));
    r.connections.forEach((c, i) => (c.tls!.sni = i % 2 ? 'a.wirefall.test' : 'b.wirefall.test'));
    const fs = detectAll(r).filter((f) => f.kind === 'missed-reuse');
    // two origins of 4 connections each: 3 + 3 avoidable, each judged only against its own name
    expect(fs.map((f) => [f.summary.match(/to (\S+)/)![1], avoidableCount(f)]).sort()).toEqual([
      ['a.wirefall.test', 3],
      ['b.wirefall.test', 3],
    ]);
  });
});

describe('detectors at scale (TLS)', () => {
  it('tls-missed-reuse: 50,000 churned TLS connections without keys to one origin — one finding, in seconds', async () => {
    const base = await analyzeTls('tls-missed-reuse', false);
    const c0 = base.connections[0];
    const d = (v: number | null, by: number) => (v === null ? null : v + by);
    const n = 50_000;
    const connections: Connection[] = Array.from({ length: n }, (_, i) => {
      const by = i * 100;
      return {
        ...c0,
        id: i,
        client: { ip: c0.client.ip, port: 1024 + (i % 60000) },
        synTime: d(c0.synTime, by),
        establishedTime: d(c0.establishedTime, by),
        firstTime: c0.firstTime + by,
        lastTime: c0.lastTime + by,
        firstDataTime: d(c0.firstDataTime, by),
        lastDataTime: d(c0.lastDataTime, by),
        close: { ...c0.close, time: d(c0.close.time, by) },
        tls: {
          ...c0.tls!,
          clientHelloTime: d(c0.tls!.clientHelloTime, by),
          serverHelloTime: d(c0.tls!.serverHelloTime, by),
          handshakeEndTime: d(c0.tls!.handshakeEndTime, by),
          firstAppDataTime: { client: d(c0.tls!.firstAppDataTime.client, by), server: d(c0.tls!.firstAppDataTime.server, by) },
        },
      };
    });
    const t0 = performance.now();
    const fs = detectAll({ ...base, connections, requests: [], findings: [] });
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(fs.map((f) => [f.kind, f.rule, f.evidence.length])).toEqual([['missed-reuse', 'client-no-pool', 100]]);
    expect(fs[0].summary).toMatch(/^49999 of 50000 TLS connections/);
  });
});

describe('the TLS detectors in the registry', () => {
  it.each([
    ['tls-missed-reuse', 'tls-missed-reuse.ts', ['missed-reuse']],
    ['tls-resumption', 'tls-resumption.ts', ['missed-resumption', 'tls-resumption']],
    ['h2-coalescing', 'h2-coalescing.ts', ['missed-coalescing']],
  ])('%s is registered and documents its signature, cost and where it can be wrong', (name, file, kinds) => {
    const d = DETECTOR_DEFS.find((x) => x.name === name);
    expect(d?.kinds).toEqual(kinds);
    const src = readFileSync(join(ROOT, 'core', 'src', 'detect', file), 'utf8');
    const doc = src.slice(0, src.indexOf('*/'));
    for (const w of ['Signature', 'Cost', 'Where it can be wrong']) expect(doc, w).toContain(w);
    for (const t of Object.keys(d!.thresholds)) expect(doc, t).toContain(t);
  });
});

describe('QUIC connections are not judged by tls-missed-reuse', () => {
  it('ngtcp2-h3-0rtt.pcap without keys: the first connection looks open (its CONNECTION_CLOSE is encrypted), yet no missed reuse is claimed', async () => {
    const { analyzeFile } = await import('../../../core/src/engine.js');
    const report = await analyzeFile(join(ROOT, 'samples/quic/ngtcp2-h3-0rtt.pcap'));
    const quic = report.connections.filter((c) => c.transport === 'quic');
    expect(quic.length).toBe(2);
    expect(quic.every((c) => c.tls !== undefined && !c.tls.decrypted)).toBe(true);
    const findings = detectAll(report);
    expect(findings.filter((f) => f.kind === 'missed-reuse')).toEqual([]);
    // What the capture does show stays: the second connection resumed the first's session.
    expect(findings.some((f) => f.kind === 'tls-resumption' && f.connectionIds.includes(quic[1]!.id))).toBe(true);
  });
});
