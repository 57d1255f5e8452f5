/**
 * The `keepalive-timeout` what-if policy (core/src/whatif/whatif.ts): the server's idle timeout
 * raised to N s. On the real pair samples/whatif/idle-timeout-1s → idle-timeout-10s (nginx
 * keepalive_timeout 1s vs 10s, a Node.js keep-alive agent, 5 GETs 1.5 s apart), BEFORE's estimate
 * predicts AFTER; on captures without an idle close by the server it changes nothing. Which closes
 * count is a scenario table: the real BEFORE report with one fact of one connection changed.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { analyzeFile } from '../../../core/src/engine.js';
import { whatIf, WhatIfCollector, WHATIF_KEEPALIVE_TIMEOUT_S, type WhatIfEstimate } from '../../../core/src/whatif/whatif.js';
import { formatTable } from '../../../core/src/cli/format-table.js';
import type { Report } from '../../../core/src/model/types.js';
import { sample } from '../../helpers/env.js';
import { analyzeStem } from '../diff/pairs.js';

let before: Report;
let after: Report;
beforeAll(async () => {
  before = await analyzeStem('idle-timeout-1s');
  after = await analyzeStem('idle-timeout-10s');
});

const clone = (r: Report): Report => JSON.parse(JSON.stringify(r));
const ka = (r: Pick<Report, 'connections' | 'requests'>, keepaliveTimeoutS?: number): WhatIfEstimate => whatIf(r, { keepaliveTimeoutS }).keepaliveTimeout;

describe('keepalive-timeout on idle-timeout-1s → idle-timeout-10s', () => {
  it('BEFORE as measured: 5 connections, 4 closed by nginx after 1.0 s idle, the next request 1.5 s after each response', () => {
    expect(before.connections).toHaveLength(5);
    expect(before.requests).toHaveLength(5);
    expect(after.connections).toHaveLength(1);
  });

  it(`with N = 10 s (the default, ${WHATIF_KEEPALIVE_TIMEOUT_S} s) BEFORE's estimate predicts AFTER's end-to-end time within ±15%, and 5 → 1 connections`, () => {
    const e = before.whatIf!.keepaliveTimeout;
    expect(e).toMatchObject({ policy: 'keepalive-timeout', keepaliveTimeoutS: 10, connections: 5, estimatedConnections: 1, serverIdleCloses: 4, serverIdleClosesAvoided: 4, confidence: 1 });
    expect(e.handshakesAvoided).toMatchObject({ tcp: 4, tls: 4 });
    const measured = after.whatIf!.keepaliveTimeout.measuredMs;
    expect(measured).toBe(after.whatIf!.reuse.measuredMs);
    const err = (e.estimatedMs - measured) / measured;
    console.log(`keepalive-timeout=10: BEFORE ${e.measuredMs} ms, estimated ${e.estimatedMs} ms, AFTER measured ${measured} ms: ${(100 * err).toFixed(2)}%`);
    expect(Math.abs(err)).toBeLessThan(0.15);
    // What went away is the 4 handshakes (TCP + TLS 1.3, 2 round trips of ≈40 ms each) and nothing else.
    expect(e.savedMs).toBeCloseTo(e.handshakesAvoided.ms, -1);
    expect(e.handshakesAvoided.ms).toBeGreaterThan(4 * 2 * 35);
  });

  it('the longest gap bridged is 1.5 s (+ one round trip): 2 s would do, and is the smallest whole second that does', () => {
    expect(before.whatIf!.keepaliveTimeout.sufficientTimeoutS).toBe(2);
    expect(ka(before, 2)).toMatchObject({ estimatedConnections: 1, estimatedMs: before.whatIf!.keepaliveTimeout.estimatedMs, sufficientTimeoutS: 2 });
    // 1 s: what nginx had: every close still happens.
    const one = ka(before, 1);
    expect(one).toMatchObject({ estimatedConnections: 5, serverIdleCloses: 4, serverIdleClosesAvoided: 0, savedMs: 0, sufficientTimeoutS: null });
    expect(one.estimatedMs).toBe(one.measuredMs);
    // A fraction of a second is a timeout too (nginx accepts `keepalive_timeout 1500ms`).
    expect(ka(before, 1.6).estimatedConnections).toBe(1);
  });

  it('connection 1: its first FIN is the client’s, answering the server’s close_notify that was still in flight — the server closed it', () => {
    const c = before.connections[1];
    expect(c.close).toMatchObject({ by: 'client', reason: 'client-close' });
    const alerts = c.tls!.alerts;
    expect(alerts[0]).toMatchObject({ side: 'server', description: 'close_notify' });
    expect(alerts[0].time).toBeLessThan(c.close.time!);
    expect(before.whatIf!.keepaliveTimeout.serverIdleCloses).toBe(4);
  });

  it('AFTER (one connection, nothing closed for idleness): nothing changes', () => {
    const e = after.whatIf!.keepaliveTimeout;
    expect(e).toMatchObject({ connections: 1, estimatedConnections: 1, serverIdleCloses: 0, serverIdleClosesAvoided: 0, savedMs: 0, sufficientTimeoutS: null });
    expect(e.estimatedMs).toBe(e.measuredMs);
  });

  it('the table shows the policy in one line', () => {
    const t = formatTable(before);
    const lines = t.split('\n').filter((l) => /idle timeout raised/.test(l));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^ {2}with the server’s idle timeout raised to 10 s: 6\.65 s → 6\.3\d s \(saved \d+ ms, \d\.\d%\); 5 → 1 connections, 4 TCP \+ 4 TLS handshakes avoided \(\d+ ms\); 4 of 4 idle closes by the server avoided, 2 s would do · confidence 100%$/);
    expect(formatTable(after)).toMatch(/^ {2}with the server’s idle timeout raised to 10 s: the server closed no connection after an idle, nothing changes$/m);
  });
});

describe('keepalive-timeout: which closes count (the BEFORE report with one fact changed)', () => {
  // Connection 0: the server's close_notify and FIN 1.0 s after its only response.
  const cases: [string, (r: Report) => void, number][] = [
    ['as captured', () => {}, 4],
    ['the close came with Connection: close (decideCloseReason: connection-close-header)', (r) => (r.connections[0].close.reason = 'connection-close-header'), 3],
    ['the server’s request limit (max-requests)', (r) => (r.connections[0].close.reason = 'max-requests'), 3],
    ['still open at capture end', (r) => Object.assign(r.connections[0].close, { by: null, how: 'open', time: null, packet: null, reason: 'capture-end' }), 3],
    ['the last response did not keep the connection (keepAlive.reusableAfter)', (r) => (r.connections[0].keepAlive!.reusableAfter = [false]), 3],
    ['its request has no response end', (r) => Object.assign(r.requests[0], { state: 'incomplete-response' }), 3],
    [
      'the server closed 400 ms after the response: no idle close (WHATIF_IDLE_CLOSE_MS 500)',
      (r) => {
        const c = r.connections[0];
        const t = r.requests[0].times.responseEndTime! + 400;
        c.close.time = t;
        for (const a of c.tls!.alerts) a.time = a.side === 'server' ? t : t + 1;
      },
      3,
    ],
    [
      '… unless it matched an advertised Keep-Alive timeout (close.reason idle-timeout)',
      (r) => {
        const c = r.connections[0];
        const t = r.requests[0].times.responseEndTime! + 400;
        Object.assign(c.close, { time: t, reason: 'idle-timeout' });
        for (const a of c.tls!.alerts) a.time = a.side === 'server' ? t : t + 1;
      },
      4,
    ],
    [
      'connection 1 without its alerts (not decrypted): the client’s FIN is the first close seen, the client’s own',
      (r) => (r.connections[1].tls!.alerts = []),
      3,
    ],
    [
      'the client’s close_notify first on connection 0: the client closed, though the server’s FIN came first',
      (r) => {
        const [s, c] = r.connections[0].tls!.alerts;
        c.time = s.time - 1;
      },
      3,
    ],
    ['an alert that could not be decrypted counts as close_notify', (r) => (r.connections[1].tls!.alerts[0].description = null), 4],
    ['another alert (not close_notify) is not a close', (r) => (r.connections[1].tls!.alerts[0].description = 'internal_error'), 3],
  ];
  it.each(cases)('%s', (_what, change, closes) => {
    const r = clone(before);
    change(r);
    const e = ka(r);
    expect(e.serverIdleCloses).toBe(closes);
    expect(e.serverIdleClosesAvoided).toBe(closes);
    // Each server idle close avoided is one connection fewer (each is followed by the next request).
    expect(e.estimatedConnections).toBe(5 - closes);
    expect(e.estimatedMs).toBeLessThanOrEqual(e.measuredMs);
  });
});

describe('keepalive-timeout where no server closed for idleness: estimate = measured', () => {
  it.each([
    ['whatif/requests-session-50.pcap', 'whatif/requests-session-50.keys', 1],
    ['whatif/requests-get-50.pcap', 'whatif/requests-get-50.keys', 50], // the client closes each one
    ['keepalive-pool.pcap', undefined, 1],
    ['f-no-pool-rtt.pcap', undefined, 10],
    ['tls/tls-missed-reuse.pcap', 'tls/tls-missed-reuse.keys', 8],
  ])('%s', async (name, keys, conns) => {
    const { readKeyLogFile } = await import('../../../core/src/tls/keylog.js');
    const keyLog = keys ? (await readKeyLogFile(sample(keys))).keylog : undefined;
    const r = await analyzeFile(sample(name), { keyLog });
    for (const n of [undefined, 1, 60, 3600]) {
      const e = ka(r, n);
      expect(e).toMatchObject({ connections: conns, estimatedConnections: conns, serverIdleCloses: 0, savedMs: 0, handshakesAvoided: { tcp: 0, tls: 0, ms: 0 } });
      expect(e.estimatedMs).toBe(e.measuredMs);
      expect(e.requests).toBeGreaterThan(0);
    }
  });

  it('idle-timeout.pcap (cleartext; the server closed after 2 s idle, the next request ≈3 s after the response): N decides', async () => {
    const r = await analyzeFile(sample('idle-timeout.pcap'));
    const e = ka(r);
    expect(e).toMatchObject({ connections: 2, estimatedConnections: 1, serverIdleCloses: 1, serverIdleClosesAvoided: 1 });
    const s = e.sufficientTimeoutS!;
    expect(s).toBeGreaterThanOrEqual(3);
    expect(ka(r, s)).toMatchObject({ estimatedConnections: 1, estimatedMs: e.estimatedMs });
    expect(ka(r, s - 1)).toMatchObject({ estimatedConnections: 2, savedMs: 0 });
    // reuse ignores the server's timeout (up to its 10 s window): the same connection avoided.
    expect(whatIf(r).reuse.estimatedConnections).toBe(1);
  });
});

describe('WhatIfCollector (the NDJSON stream): the same estimates from records pushed one by one', () => {
  it.each([
    ['idle-timeout-1s', () => before],
    ['idle-timeout-10s', () => after],
  ])('%s: requests before their connection, in any order — equal to whatIf(report)', (_n, get) => {
    const r = get();
    const w = new WhatIfCollector();
    for (const q of [...r.requests].reverse()) w.request(q);
    for (const c of r.connections) w.connection(c);
    expect(w.finish()).toEqual(whatIf(r));
    expect(w.droppedRequests).toBe(0);
  });

  it('f-no-pool-rtt with --whatif-keepalive-timeout-like options: the options reach every policy', async () => {
    const r = await analyzeFile(sample('f-no-pool-rtt.pcap'));
    const w = new WhatIfCollector();
    for (const c of r.connections) w.connection(c);
    for (const q of r.requests) w.request(q);
    expect(w.finish({ keepaliveTimeoutS: 3 })).toEqual(whatIf(r, { keepaliveTimeoutS: 3 }));
    expect(w.finish({ keepaliveTimeoutS: 3 })!.keepaliveTimeout.keepaliveTimeoutS).toBe(3);
  });

  it('past its limits it keeps no more, counts what it dropped, and gives no estimate rather than a partial one', () => {
    const w = new WhatIfCollector(3);
    for (const c of before.connections) w.connection(c);
    for (const q of before.requests.slice(0, 3)) w.request(q);
    expect(w.held()).toBe(3);
    for (const q of before.requests.slice(3)) w.request(q);
    expect(w.droppedRequests).toBe(2);
    // Nothing kept for an estimate that will not be made.
    expect(w.held()).toBe(0);
    expect(w.finish()).toBeNull();
    const v = new WhatIfCollector(100, 4);
    for (const c of before.connections) v.connection(c);
    for (const q of before.requests) v.request(q);
    expect([v.droppedRequests, v.droppedConnections]).toEqual([0, 1]);
    expect(v.held()).toBe(0);
    expect(v.finish()).toBeNull();
    // At the limits exactly: the whole estimate.
    const x = new WhatIfCollector(5, 5);
    for (const q of before.requests) x.request(q);
    for (const c of before.connections) x.connection(c);
    expect(x.finish()).toEqual(whatIf(before));
  });

  it('grows its rows past their first allocation (2 000 requests of f-no-pool-rtt repeated)', async () => {
    const base = await analyzeFile(sample('f-no-pool-rtt.pcap'));
    const shift = <T>(v: T, d: number): T => JSON.parse(JSON.stringify(v), (k, x) => (typeof x === 'number' && /(Time|^time)$/.test(k) ? x + d : x));
    const connections = [];
    const requests = [];
    for (let i = 0; i < 200; i++) {
      for (const c of base.connections) connections.push({ ...shift(c, i * 2000), id: c.id + i * 10 });
      for (const r of base.requests) requests.push({ ...shift(r, i * 2000), id: r.id + i * 10, connectionId: r.connectionId + i * 10 });
    }
    const w = new WhatIfCollector();
    for (const r of requests) w.request(r);
    for (const c of connections) w.connection(c);
    const got = w.finish()!;
    expect(got).toEqual(whatIf({ connections, requests }));
    expect(got.reuse.requests).toBe(2000);
  });
});
