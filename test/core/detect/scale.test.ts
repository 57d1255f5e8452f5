/**
 * Detectors stay near-linear: a client without a pool making 50,000 connections to one origin, and
 * 100,000 exchanges on one pipelined connection, are judged in seconds (synthetic reports built
 * by shifting a real sample's records in time).
 */
import { describe, expect, it } from 'vitest';
import { sample } from '../../helpers/env.js';
import { detectAll } from '../../../core/src/detect/index.js';
import type { Report, RequestTimes } from '../../../core/src/model/types.js';
import { analyze } from './helpers.js';

const shift = (t: RequestTimes, d: number): RequestTimes =>
  Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v === null ? null : (v as number) + d])) as unknown as RequestTimes;

async function churn(n: number): Promise<Report> {
  const base = await analyze(sample('no-pool.pcap'));
  const c0 = base.connections[0];
  const r0 = base.requests[0];
  const at = (v: number | null, d: number) => (v === null ? null : v + d);
  return {
    ...base,
    findings: [],
    connections: Array.from({ length: n }, (_, i) => ({
      ...c0,
      id: i,
      client: { ip: c0.client.ip, port: 1024 + (i % 60000) },
      synTime: at(c0.synTime, i * 10),
      establishedTime: at(c0.establishedTime, i * 10),
      firstTime: c0.firstTime + i * 10,
      lastTime: c0.lastTime + i * 10,
      close: { ...c0.close, time: at(c0.close.time, i * 10) },
    })),
    requests: Array.from({ length: n }, (_, i) => ({ ...r0, id: i, connectionId: i, times: shift(r0.times, i * 10) })),
  };
}

describe('detectors at scale', () => {
  it('50,000 churned connections to one origin: one finding, evidence capped, in seconds', async () => {
    const r = await churn(50_000);
    const t0 = performance.now();
    const fs = detectAll(r);
    const ms = performance.now() - t0;
    expect(fs.map((f) => [f.kind, f.rule, f.requestIds.length, f.evidence.length])).toEqual([['missed-reuse', 'client-no-pool', 49_999, 100]]);
    expect(fs[0].summary).toMatch(/^49999 of 50000 connections/);
    expect(ms).toBeLessThan(10_000);
  });

  it('100,000 pipelined exchanges on one connection, in seconds', async () => {
    const base = await analyze(sample('pipelining.pcap'));
    const n = 100_000;
    const reqs = Array.from({ length: n }, (_, i) => ({
      ...base.requests[i % 3],
      id: i,
      index: i + 1,
      pipelined: i > 0,
      times: { ...base.requests[0].times, requestStartTime: i, requestEndTime: i, responseStartTime: i + 5, responseEndTime: i + 5 },
    }));
    const c = { ...base.connections[0], keepAlive: { ...base.connections[0].keepAlive!, reusableAfter: reqs.map(() => true) } };
    const t0 = performance.now();
    const fs = detectAll({ ...base, connections: [c], requests: reqs, findings: [] });
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(fs.filter((f) => f.kind === 'hol-stall')).toEqual([]); // each waits 4 ms: under every threshold
  });

  it('100,000 HTTP/1.0 requests without keep-alive on one connection (hostile): linear, no finding', async () => {
    // Each request is a candidate for client-dropped-keepalive; a rule that rescans the requests
    // before each one is quadratic here (5·10^9 steps).
    const base = await analyze(sample('http10-close.pcap'));
    const n = 100_000;
    const reqs = Array.from({ length: n }, (_, i) => ({
      ...base.requests[0],
      id: i,
      index: i + 1,
      times: shift(base.requests[0].times, i),
    }));
    const t0 = performance.now();
    const fs = detectAll({ ...base, connections: [base.connections[0]], requests: reqs, findings: [] });
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(fs.filter((f) => f.rule === 'client-dropped-keepalive')).toEqual([]);
  });
});
