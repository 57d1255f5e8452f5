/**
 * missed-reuse (layer h2): a second HTTP/2 connection to an origin while the first was open, in
 * use and not full. h2-two-connections.pcap is the positive; h2load's `-c 2` (both connections
 * opened before either was usable) and the single-connection samples are negatives.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { analyzeFile } from '../../../../core/src/engine.js';
import { avoidableH2Connections, h2MissedReuse } from '../../../../core/src/detect/h2-missed-reuse.js';
import type { Report } from '../../../../core/src/model/types.js';
import { SAMPLES } from '../../../helpers/env.js';

const load = (name: string): Promise<Report> => analyzeFile(join(SAMPLES, name));

describe('missed-reuse (h2)', () => {
  it('h2-two-connections.pcap: connection 1 opened while connection 0 was carrying 4 streams of 100 allowed; cost = its handshake', async () => {
    const report = await load('h2-two-connections.pcap');
    const [a, ...more] = avoidableH2Connections(report);
    expect(more).toEqual([]);
    expect(a.connection.id).toBe(1);
    expect(a.couldUse.id).toBe(0);
    expect(a.openStreams).toBe(4);
    expect(a.limit).toBe(100);
    expect(a.costMs).toBe(report.connections[1].handshakeRttMs);
    expect(a.costMs).toBeGreaterThan(0);

    const f = h2MissedReuse.detect(report, {});
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ kind: 'missed-reuse', rule: 'h2-second-connection', layer: 'h2', severity: 'warning', connectionIds: [0, 1], costMs: a.costMs });
    expect(f[0].summary).toMatch(/^1 of 2 HTTP\/2 connections from 10\.77\.0\.1 to 10\.77\.0\.6:8080 were avoidable/);
    // The requests that could have gone on connection 0: /f1.txt and /f2.txt.
    expect(report.requests.filter((r) => f[0].requestIds.includes(r.id)).map((r) => r.target).sort()).toEqual(['/f1.txt', '/f2.txt']);
    expect(f[0].evidence.map((e) => e.packet)).not.toContain(null);
    expect(f[0].evidence.some((e) => /MAX_CONCURRENT_STREAMS = 100/.test(e.what))).toBe(true);
    expect(f[0].advice).toMatch(/one connection per origin/);
  });

  it('h2load.pcap: two connections opened together by `-c 2` before either was usable are not a finding', async () => {
    const report = await load('h2load.pcap');
    const [c0, c1] = report.connections;
    // The second SYN precedes the first connection's server SETTINGS and its first request.
    const firstReq = Math.min(...report.requests.filter((r) => r.connectionId === c0.id).map((r) => r.times.requestStartTime));
    expect(c1.synTime!).toBeLessThan(firstReq);
    expect(avoidableH2Connections(report)).toEqual([]);
    expect(h2MissedReuse.detect(report, {})).toEqual([]);
  });

  for (const name of ['h2-clean.pcap', 'h2-loss-hol.pcap', 'h2-flow-control.pcap', 'h2c-prior-knowledge.pcap', 'h2-push.pcap', 'h2c-upgrade.pcap']) {
    it(`${name}: one connection, no finding`, async () => {
      expect(h2MissedReuse.detect(await load(name), {})).toEqual([]);
    });
  }

  it('HTTP/1 captures are left to the HTTP/1 detector', async () => {
    expect(h2MissedReuse.detect(await load('no-pool.pcap'), {})).toEqual([]);
  });

  describe('conditions on the open connection (edited reports)', () => {
    it('a connection that had sent GOAWAY before the new SYN is draining: not reusable', async () => {
      const report = await load('h2-two-connections.pcap');
      const h2 = report.connections[0].h2!;
      h2.client.goaway = { ...h2.client.goaway!, time: 10 };
      expect(avoidableH2Connections(report)).toEqual([]);
    });

    it('a connection at its MAX_CONCURRENT_STREAMS is full: a second connection is allowed', async () => {
      const report = await load('h2-two-connections.pcap');
      const h2 = report.connections[0].h2!;
      h2.server.settings[0].settings.MAX_CONCURRENT_STREAMS = 4;
      expect(avoidableH2Connections(report)).toEqual([]);
      h2.server.settings[0].settings.MAX_CONCURRENT_STREAMS = 5;
      expect(avoidableH2Connections(report)).toHaveLength(1);
    });

    it('two later connections while the first is open: one finding, "2 of 3", cost = both handshakes', async () => {
      const report = await load('h2-two-connections.pcap');
      const c1 = report.connections[1];
      const c2 = { ...c1, id: 2, client: { ...c1.client, port: c1.client.port + 1 }, synTime: c1.synTime! + 20, firstTime: c1.firstTime + 20, establishedTime: c1.establishedTime! + 20, handshakeRttMs: 3 };
      report.connections.push(c2);
      report.requests.push(...report.requests.filter((r) => r.connectionId === 1).map((r, i) => ({ ...r, id: 100 + i, connectionId: 2 })));
      const f = h2MissedReuse.detect(report, {});
      expect(f).toHaveLength(1);
      expect(f[0].summary).toMatch(/^2 of 3 HTTP\/2 connections/);
      expect(f[0].connectionIds).toEqual([0, 1, 2]);
      expect(f[0].costMs).toBeCloseTo(c1.handshakeRttMs + 3, 9);
    });

    it('a connection closed before the new SYN is not "open"', async () => {
      const report = await load('h2-two-connections.pcap');
      report.connections[0].close = { ...report.connections[0].close, time: 50 };
      expect(avoidableH2Connections(report)).toEqual([]);
    });
  });
});
