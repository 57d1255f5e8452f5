/** keepalive-policy: each rule on the capture that shows it, severities, suggestions, thresholds. */
import { describe, expect, it } from 'vitest';
import { sample } from '../../helpers/env.js';
import type { Finding, Report } from '../../../core/src/model/types.js';
import { analyze } from './helpers.js';

const rule = (r: Report, name: string): Finding[] => r.findings.filter((f) => f.kind === 'keepalive-policy' && f.rule === name);

describe('keepalive-policy', () => {
  it('stale-connection-race, idempotent retry (stale-race.pcap): a warning, safe', async () => {
    const r = await analyze(sample('stale-race.pcap'));
    const [f] = rule(r, 'stale-connection-race');
    expect(f.severity).toBe('warning');
    expect(f.summary).toMatch(/^GET \/f2\.txt was sent on connection 0 as the server was closing it after 1\.0 s idle; retried on connection 1 \(idempotent, safe to retry\)$/);
    expect(f.evidence.map((e) => e.packet)).toEqual([6, 8, 9, 14]); // response, server FIN, request into it, retry
  });

  it('stale-connection-race, POST retried (f-stale-race-post-rtt.pcap): an error, unsafe', async () => {
    const r = await analyze(sample('f-stale-race-post-rtt.pcap'));
    const [f] = rule(r, 'stale-connection-race');
    expect(f.severity).toBe('error');
    expect(f.summary).toContain('POST is not idempotent: retrying it is unsafe');
    expect(f.advice).toContain('retry only idempotent requests');
  });

  it('staleRaceMs: a request the server closes on long after it was sent is not a race', async () => {
    // blind-relay.pcap: the server closed 3.9 s after the unanswered request (that is a hang)
    expect(rule(await analyze(sample('blind-relay.pcap')), 'stale-connection-race')).toEqual([]);
    expect(rule(await analyze(sample('blind-relay.pcap'), { thresholds: { staleRaceMs: 5000 } }), 'stale-connection-race')).toHaveLength(1);
  });

  it('timeout-too-short suggests a timeout from the observed gap (3.0 s × 1.5 → 5 s)', async () => {
    const [f] = rule(await analyze(sample('idle-timeout.pcap')), 'timeout-too-short');
    expect(f.summary).toContain('the server closed idle connections to 127.0.0.1:18104 after ~2.0 s');
    expect(f.advice).toContain('keepalive_timeout 5s');
  });

  it('keepalive-timeout-contradicted: advertised timeout=10, closed after 2 s (a warning)', async () => {
    const [f] = rule(await analyze(sample('f-keepalive-timeout-lies-rtt.pcap')), 'keepalive-timeout-contradicted');
    expect(f.severity).toBe('warning');
    expect(f.summary).toBe('connection 0: the server advertised Keep-Alive: timeout=10 but closed the idle connection after 2.0 s');
  });

  it('keepalive-timeout-contradicted: advertised timeout=1, closed after 2 s (later: info)', async () => {
    const [f] = rule(await analyze(sample('f-stale-race-post-rtt.pcap')), 'keepalive-timeout-contradicted');
    expect(f.severity).toBe('info');
    expect(f.summary).toContain('(later than advertised)');
  });

  it('keepAliveToleranceMs absorbs small differences', async () => {
    const r = await analyze(sample('f-keepalive-timeout-lies-rtt.pcap'), { thresholds: { keepAliveToleranceMs: 9000 } });
    expect(rule(r, 'keepalive-timeout-contradicted')).toEqual([]);
  });

  it('server-stopped-keepalive: nginx keepalive_requests 3 on both full connections', async () => {
    const [f] = rule(await analyze(sample('keepalive-timeout-max.pcapng')), 'server-stopped-keepalive');
    expect(f.connectionIds).toEqual([0, 1]);
    expect(f.summary).toContain('after 3 request(s) on 2 connection(s)');
    expect(f.summary).toContain('a per-connection request limit');
  });

  it('keepalive-max-contradicted: advertised max=10, closed after 3 (f-keepalive-max-lies-rtt.pcap)', async () => {
    const [f] = rule(await analyze(sample('f-keepalive-max-lies-rtt.pcap')), 'keepalive-max-contradicted');
    expect(f.severity).toBe('warning');
    expect(f.summary).toBe('connection 0: the server advertised Keep-Alive: max=10 but closed after 3');
  });

  it('client-dropped-keepalive: the third HTTP/1.0 request without keep-alive ends the connection; not blamed on the server', async () => {
    const r = await analyze(sample('f-http10-drop-keepalive-rtt.pcap'));
    expect(rule(r, 'client-dropped-keepalive').map((f) => f.requestIds)).toEqual([[2]]);
    expect(rule(r, 'server-stopped-keepalive')).toEqual([]);
  });

  it('idle-kept-long: off at the default 60 s on every sample; with idleLongMs the idle legs show', async () => {
    expect(rule(await analyze(sample('blind-relay.pcap')), 'idle-kept-long')).toEqual([]);
    const [f] = rule(await analyze(sample('blind-relay.pcap'), { thresholds: { idleLongMs: 3000 } }), 'idle-kept-long');
    expect(f.connectionIds).toEqual([1]); // the origin leg idled 4 s after 0.1 ms of use; leg 0 was hung, not idle
    const [g] = rule(await analyze(sample('idle-timeout.pcap'), { thresholds: { idleLongMs: 1500 } }), 'idle-kept-long');
    expect(g.connectionIds).toEqual([0]);
    expect(rule(await analyze(sample('idle-timeout.pcap'), { thresholds: { idleLongMs: 1500, idleRatio: 1e6 } }), 'idle-kept-long')).toEqual([]);
  });
});
