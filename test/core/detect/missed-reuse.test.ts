/**
 * missed-reuse / excess-parallel-connections: cause attribution, cost accounting, thresholds and
 * the wording a newcomer reads in `wirefall analyze samples/no-pool.pcap`.
 */
import { describe, expect, it } from 'vitest';
import { sample } from '../../helpers/env.js';
import { formatTable } from '../../../core/src/cli/format-table.js';
import type { Finding, Report } from '../../../core/src/model/types.js';
import { analyze, id } from './helpers.js';

const reuse = (r: Report): Finding[] => r.findings.filter((f) => f.kind === 'missed-reuse');
const handshakes = (r: Report, f: Finding) =>
  f.requestIds.map((q) => r.requests.find((x) => x.id === q)!.connectionId).reduce((s, c) => s + r.connections[c].handshakeRttMs, 0);

describe('missed-reuse', () => {
  it.each([
    ['no-pool.pcap', 'client-no-pool', 9, 10],
    ['no-pool-node-fetch.pcap', 'client-no-pool', 4, 5],
    ['server-connection-close.pcap', 'server-connection-close', 4, 5],
    ['http10-close.pcap', 'http10-no-keepalive', 3, 4],
    ['idle-timeout.pcap', 'server-idle-timeout', 1, 2],
    ['keepalive-timeout-max.pcapng', 'max-requests', 2, 3],
    ['f-no-pool-rtt.pcap', 'client-no-pool', 9, 10],
    ['f-idle-unused-rtt.pcap', 'idle-connection-unused', 4, 5],
    ['f-keepalive-timeout-lies-rtt.pcap', 'server-idle-timeout', 1, 2],
  ])('%s: cause %s, %i of %i connections avoidable', async (file, rule, n, m) => {
    const r = await analyze(sample(file));
    const [f] = reuse(r);
    expect(id(f)).toBe(`missed-reuse/${rule}`);
    expect(f.requestIds).toHaveLength(n);
    expect(f.summary).toContain(`${n} of ${m} connections`);
    expect(f.summary).toMatch(/~[\d.]+ (µs|ms|s) of handshakes/);
  });

  it('cost is the sum of the avoidable connections’ handshakes (SYN → ACK)', async () => {
    for (const file of ['no-pool.pcap', 'server-connection-close.pcap', 'http10-close.pcap', 'f-no-pool-rtt.pcap', 'f-idle-unused-rtt.pcap']) {
      const r = await analyze(sample(file));
      const [f] = reuse(r);
      expect(f.costMs, file).toBeCloseTo(handshakes(r, f), 6);
    }
  });

  it('with a 40 ms round trip each avoidable connection costs about one round trip', async () => {
    const r = await analyze(sample('f-no-pool-rtt.pcap'));
    const [f] = reuse(r);
    expect(f.costMs! / 9).toBeGreaterThan(38);
    expect(f.costMs! / 9).toBeLessThan(46);
    // and the capture shows the time it cost end to end: 10 connections take about twice as long
    // as one pooled connection for the same 10 URLs
    const pooled = await analyze(sample('f-pool-rtt.pcap'));
    expect(r.capture.durationMs / pooled.capture.durationMs).toBeGreaterThan(1.6);
  });

  it('names the connection that could have served first, so the table shows it there', async () => {
    const r = await analyze(sample('no-pool.pcap'));
    const [f] = reuse(r);
    expect(f.connectionIds[0]).toBe(0);
    const table = formatTable(r);
    const conn0 = table.split('\n').findIndex((l) => l.startsWith('  0 '));
    const conn1 = table.split('\n').findIndex((l) => l.startsWith('  1 '));
    const at = table.split('\n').findIndex((l) => l.includes('missed-reuse/client-no-pool'));
    expect(at).toBeGreaterThan(conn0);
    expect(at).toBeLessThan(conn1);
    // Loopback handshakes take microseconds: the table says how many, not "0.0 ms".
    const hs = r.connections[0].handshakeRttMs;
    expect(hs).toBeLessThan(1);
    expect(table).toContain(`handshake ${Math.round(hs * 1000)} µs`);
  });

  it('no-pool.pcap reads as plain English: what happened, what it cost, what to do', async () => {
    const r = await analyze(sample('no-pool.pcap'));
    const [f] = reuse(r);
    expect(f.summary).toMatch(/^9 of 10 connections from 127\.0\.0\.1 to 127\.0\.0\.1:18102 avoidable, ~\d+ µs of handshakes: /);
    expect(f.summary).toContain('opened a new connection for each request and closed it right after the response');
    expect(f.summary).toContain('although the server offered keep-alive');
    expect(f.advice).toMatch(/one HTTP client that keeps a connection pool/);
    expect(f.evidence[0].what).toContain('Connection: keep-alive');
    expect(f.evidence).toHaveLength(10); // the close of connection 0, then each avoidable connection
  });

  it('a retry after a stale-connection race is not counted (keepalive-policy reports it)', async () => {
    for (const file of ['stale-race.pcap', 'f-stale-race-post-rtt.pcap']) expect(reuse(await analyze(sample(file)))).toEqual([]);
  });

  it('reuseWindowMs: a new connection long after the last response is not a missed reuse', async () => {
    const r = await analyze(sample('idle-timeout.pcap'), { thresholds: { reuseWindowMs: 2500 } });
    expect(reuse(r)).toEqual([]); // the second request came 3.0 s after the first response
  });

  it('idleCloseMs: decides between an idle timeout and an immediate close', async () => {
    const r = await analyze(sample('idle-timeout.pcap'), { thresholds: { idleCloseMs: 5000 } });
    expect(reuse(r).map(id)).toEqual(['missed-reuse/server-close']);
  });
});

describe('excess-parallel-connections', () => {
  const excess = (r: Report) => r.findings.filter((f) => f.kind === 'excess-parallel-connections');

  it('8 busy parallel connections: the 2 above the default budget of 6', async () => {
    const r = await analyze(sample('f-parallel8-rtt.pcap'));
    const [f] = excess(r);
    expect(f.connectionIds).toEqual([6, 7]);
    expect(f.summary).toContain('up to 8 connections');
    expect(f.summary).toContain('budget 6');
    expect(f.costMs).toBeCloseTo(r.connections[6].handshakeRttMs + r.connections[7].handshakeRttMs, 6);
  });

  it('6 busy parallel connections are within the budget; a browser’s 6 reused ones too', async () => {
    expect(excess(await analyze(sample('f-parallel6-rtt.pcap')))).toEqual([]);
    expect(excess(await analyze(sample('browser-pageload.pcap.gz')))).toEqual([]);
  });

  it('parallelBudget moves the line both ways', async () => {
    expect(excess(await analyze(sample('f-parallel8-rtt.pcap'), { thresholds: { parallelBudget: 8 } }))).toEqual([]);
    const [f] = excess(await analyze(sample('f-parallel6-rtt.pcap'), { thresholds: { parallelBudget: 4 } }));
    expect(f.connectionIds).toEqual([4, 5]);
  });
});
