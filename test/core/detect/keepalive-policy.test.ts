/** keepalive-policy: each rule on the capture that shows it, severities, suggestions, thresholds. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sample } from '../../helpers/env.js';
import type { Finding, Report } from '../../../core/src/model/types.js';
import { PcapWriter } from '../../e2e/pcap-writer.js';
import { analyze } from './helpers.js';

/**
 * 1000 keep-alive requests on one connection; the client sends the last one 38 µs before the
 * previous response's last segment arrives (it is in flight while that response ends), and the
 * server answers nothing more and closes (FIN 0.1 ms later): a client racing the server's close
 * with no idle time at all.
 */
function writeInFlightClose(path: string): void {
  const w = new PcapWriter(path);
  const cl: [number[], number] = [[10, 0, 0, 1], 40000];
  const sv: [number[], number] = [[10, 0, 0, 2], 8080];
  const SYN = 0x02, ACK = 0x10, PSH = 0x08, FIN = 0x01;
  let t = 1_700_000_000_000_000;
  let cs = 1000, ss = 5000;
  w.tcp(t, cl, sv, cs, 0, SYN);
  w.tcp((t += 100), sv, cl, ss, cs + 1, SYN | ACK);
  w.tcp((t += 100), cl, sv, ++cs, ++ss, ACK);
  const req = (k: number) => Buffer.from(`GET /item/${k} HTTP/1.1\r\nHost: 10.0.0.2:8080\r\nConnection: keep-alive\r\n\r\n`);
  const body = 'x'.repeat(100);
  const head = Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nKeep-Alive: timeout=5, max=1000\r\n\r\n`);
  for (let k = 1; k <= 999; k++) {
    const q = req(k);
    w.tcp((t += 500), cl, sv, cs, ss, PSH | ACK, q);
    cs += q.length;
    w.tcp((t += 300), sv, cl, ss, cs, PSH | ACK, head);
    ss += head.length;
    if (k < 999) {
      w.tcp((t += 10), sv, cl, ss, cs, PSH | ACK, Buffer.from(body));
      ss += body.length;
    } else {
      // request 1000 goes out 38 µs before response 999's body arrives
      const q1000 = req(1000);
      w.tcp((t += 10), cl, sv, cs, ss, PSH | ACK, q1000);
      cs += q1000.length;
      w.tcp((t += 38), sv, cl, ss, cs, PSH | ACK, Buffer.from(body));
      ss += body.length;
    }
    w.tcp((t += 20), cl, sv, cs, ss, ACK);
  }
  w.tcp((t += 100), sv, cl, ss, cs, FIN | ACK);
  w.tcp((t += 50), cl, sv, cs, ss + 1, FIN | ACK);
  w.tcp((t += 50), sv, cl, ss + 1, cs + 1, ACK);
  w.close();
}

const rule = (r: Report, name: string): Finding[] => r.findings.filter((f) => f.kind === 'keepalive-policy' && f.rule === name);

describe('keepalive-policy', () => {
  it('stale-connection-race, idempotent retry (stale-race.pcap): a warning, safe', async () => {
    const r = await analyze(sample('stale-race.pcap'));
    const [f] = rule(r, 'stale-connection-race');
    expect(f.severity).toBe('warning');
    expect(f.summary).toMatch(/^GET \/f2\.txt was sent on connection 0 as the server was closing it after 1\.0 s idle; retried on connection 1 \(idempotent, safe to retry\)$/);
    expect(f.evidence.map((e) => e.packet)).toEqual([6, 8, 9, 14]); // response, server FIN, request into it, retry
  });

  it('stale-connection-race with the request in flight as the previous response ended: no negative idle', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'wirefall-race-')), 'in-flight-close.pcap');
    writeInFlightClose(file);
    const r = await analyze(file);
    expect(r.requests).toHaveLength(1000);
    const [f] = rule(r, 'stale-connection-race');
    expect(f, 'the unanswered request 1000 raced the server\'s close').toBeDefined();
    const text = [f.summary, f.advice, ...f.evidence.map((e) => e.what)].join('\n');
    expect(text).not.toMatch(/-\d/); // no negative duration anywhere
    expect(f.summary).toBe('GET /item/1000 was sent on connection 0 38 µs before response 999 had ended, as the server was closing it (no idle time); no retry in the capture');
    // in time order: the request, the end of the response before it, the server's FIN
    expect(f.evidence.map((e) => e.what)).toEqual([
      'GET /item/1000 sent on connection 0; no response (no-response)',
      'GET /item/1000 was sent while response 999 on connection 0 was still arriving (it ended 38 µs later)',
      'server FIN on connection 0',
    ]);
    const times = f.evidence.map((e) => e.time!);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(f.advice).toContain('not after an idle period');
    expect(f.advice).toContain('999 answered request(s)');
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
