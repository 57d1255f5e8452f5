/** blind-relay-hang: the two-leg correlation, the one-leg signature, and what must not fire. */
import { describe, expect, it } from 'vitest';
import { sample } from '../../helpers/env.js';
import { detectAll } from '../../../core/src/detect/index.js';
import type { Report } from '../../../core/src/model/types.js';
import { analyze } from './helpers.js';

const relay = (r: Report) => r.findings.filter((f) => f.kind === 'blind-relay-hang');
const clone = (r: Report): Report => structuredClone({ ...r, findings: [] });

describe('blind-relay-hang', () => {
  it.each([
    ['blind-relay.pcap', '127.0.0.1:18114', '127.0.0.1:18115', 3.9],
    ['f-blind-relay-rtt.pcap', '10.99.0.2:18206', '127.0.0.1:18207', 2.9],
  ])('%s: both legs — the relay at %s swallowed GET /f2.txt', async (file, hop, upstream, s) => {
    const [f] = relay(await analyze(sample(file)));
    expect(f.severity).toBe('error');
    expect(f.summary).toBe(
      `GET /f2.txt on reused connection 0 got no response for ${s} s until the connection was closed; swallowed by the relay at ${hop}: it forwarded GET /f1.txt to ${upstream} on connection 1 but never forwarded GET /f2.txt`,
    );
    expect(f.evidence.some((e) => e.what.includes('Connection: Keep-Alive'))).toBe(true);
    expect(f.advice).toContain('Proxy-Connection');
    expect(f.advice).toContain('HTTP/1.1 end to end');
  });

  it('one leg only: the hang is still found, blamed on "a hop between the client and" the server', async () => {
    const full = await analyze(sample('blind-relay.pcap'));
    const r = clone(full);
    r.connections = r.connections.filter((c) => c.id === 0);
    r.requests = r.requests.filter((q) => q.connectionId === 0);
    const [f] = detectAll(r).filter((x) => x.kind === 'blind-relay-hang');
    expect(f.connectionIds).toEqual([0]);
    expect(f.requestIds).toEqual([2, 1]);
    expect(f.summary).toContain('a hop between the client and 127.0.0.1:18114');
  });

  it('forwarded upstream: not blamed on the relay — the hang is reported on the upstream leg', async () => {
    const r = clone(await analyze(sample('blind-relay.pcap')));
    const hung = r.requests.find((q) => q.id === 2)!;
    r.requests.push({ ...structuredClone(hung), id: 99, connectionId: 1, index: 2, times: { ...hung.times, requestStartTime: hung.times.requestStartTime + 1 } });
    const fs = detectAll(r).filter((x) => x.kind === 'blind-relay-hang');
    expect(fs.map((f) => [f.connectionIds, f.requestIds])).toEqual([[[1], [99, 0]]]);
    expect(fs[0].summary).toContain('a hop between the client and 127.0.0.1:18115');
  });

  it('proxy evidence: absolute-form target, Proxy-Connection, Via and a proxy port are cited', async () => {
    const r = clone(await analyze(sample('blind-relay.pcap')));
    r.connections = r.connections.filter((c) => c.id === 0);
    r.requests = r.requests.filter((q) => q.connectionId === 0);
    r.connections[0].server.port = 3128;
    const first = r.requests.find((q) => q.id === 1)!;
    first.target = 'http://origin.example/f1.txt';
    first.requestHeaders.push({ name: 'Proxy-Connection', value: 'Keep-Alive' });
    first.responseHeaders.push({ name: 'Via', value: '1.0 relay' });
    const [f] = detectAll(r).filter((x) => x.kind === 'blind-relay-hang');
    const what = f.evidence.map((e) => e.what);
    expect(what).toContain('absolute-form request target http://origin.example/f1.txt (a request to a proxy)');
    expect(what).toContain('Proxy-Connection: Keep-Alive');
    expect(what).toContain('Via: 1.0 relay');
    expect(what).toContain('server port 3128 is a common proxy port');
  });

  it('hangMs: a 3.9 s silence is a hang at the default 1 s, not at 5 s', async () => {
    expect(relay(await analyze(sample('blind-relay.pcap'), { thresholds: { hangMs: 5000 } }))).toEqual([]);
  });

  it('a request sent into a connection the server was already closing is a stale race, not a hang', async () => {
    expect(relay(await analyze(sample('stale-race.pcap')))).toEqual([]);
    expect(relay(await analyze(sample('f-stale-race-post-rtt.pcap')))).toEqual([]);
  });

  it('close-delimited responses without keep-alive are normal (close-delimited.pcap)', async () => {
    expect(relay(await analyze(sample('close-delimited.pcap')))).toEqual([]);
  });

  it('a keep-alive response that is close-delimited, with the close long after its last byte', async () => {
    const r = clone(await analyze(sample('close-delimited.pcap')));
    const q = r.requests[0];
    q.responseHeaders.push({ name: 'Connection', value: 'keep-alive' });
    r.connections[0].close.time = q.times.responseEndTime! + 2500; // the client waited 2.5 s for the close
    const [f] = detectAll(r).filter((x) => x.kind === 'blind-relay-hang');
    expect(f.rule).toBe('keepalive-close-delimited');
    expect(f.costMs).toBeCloseTo(2500, 6);
  });
});
