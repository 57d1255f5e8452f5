/**
 * hol-stall (http1-pipelining): the stall definition as a scenario table over synthetic exchanges,
 * then the real captures and the thresholds.
 */
import { describe, expect, it } from 'vitest';
import { sample } from '../../helpers/env.js';
import { stalls } from '../../../core/src/detect/hol-stall.js';
import type { Report, Request } from '../../../core/src/model/types.js';
import { analyze, id } from './helpers.js';

/** Exchange k on one connection: request fully sent at q, response bytes [s, e]. */
function ex(index: number, q: number, s: number | null, e: number | null, method = 'GET', pipelined = index > 1): Request {
  return {
    id: index - 1, connectionId: 0, index, method, url: `http://h/${index}`, target: `/${index}`, httpVersion: 'HTTP/1.1',
    status: e === null ? null : 200, statusText: '', requestHeaders: [], responseHeaders: [],
    sizes: { requestHeaders: 0, requestBody: 0, responseHeaders: 0, responseBody: 0, responseBodyWire: 0, responseBodyDecoded: -1 },
    times: { queuedTime: null, dnsStartTime: null, dnsEndTime: null, connectStartTime: null, connectEndTime: null, sslStartTime: null, sslEndTime: null,
      requestStartTime: q, requestEndTime: q, responseStartTime: s, responseEndTime: e },
    timings: { blocked: -1, dns: -1, connect: -1, ssl: -1, send: 0, wait: 0, receive: 0 },
    pipelined, connectionReused: index > 1, state: e === null ? 'no-response' : 'complete',
    packets: { request: [1, 1], response: e === null ? null : [2, 2] }, lostBytes: 0, anomalies: [],
  };
}

// stall_k = max(0, E_{k-1} − (Q_k + RTT)); blame cut at E_1 … E_{k-2}.
const TABLE: { name: string; rtt: number; reqs: Request[]; want: { k: number; stall: number; blame: [number, number][] }[] }[] = [
  {
    name: 'slow first response holds two fast ones (pipelining.pcap in miniature)',
    rtt: 0,
    reqs: [ex(1, 0, 500, 500), ex(2, 0, 501, 501), ex(3, 0, 503, 503)],
    want: [
      { k: 2, stall: 500, blame: [[1, 500]] },
      { k: 3, stall: 501, blame: [[1, 500], [2, 1]] },
    ],
  },
  {
    name: 'one round trip of latency is not a stall',
    rtt: 40,
    reqs: [ex(1, 0, 40, 40), ex(2, 0, 40.1, 40.1), ex(3, 0, 40.2, 40.2)],
    want: [
      { k: 2, stall: 0, blame: [] },
      { k: 3, stall: 0.1, blame: [[2, 0.1]] },
    ],
  },
  {
    name: 'a request sent after the previous response ended never stalls',
    rtt: 0,
    reqs: [ex(1, 0, 10, 10), ex(2, 20, 30, 30, 'GET', false)],
    want: [],
  },
  {
    name: 'a late pipelined request waits only for the rest of the earlier response',
    rtt: 0,
    reqs: [ex(1, 0, 100, 300), ex(2, 250, 301, 302)],
    want: [{ k: 2, stall: 50, blame: [[1, 50]] }],
  },
  {
    name: 'the middle response is the slow one: blame goes to it',
    rtt: 0,
    reqs: [ex(1, 0, 10, 10), ex(2, 0, 400, 400), ex(3, 0, 401, 401)],
    want: [
      { k: 2, stall: 10, blame: [[1, 10]] },
      { k: 3, stall: 400, blame: [[2, 390], [1, 10]] },
    ],
  },
  {
    name: 'an unanswered earlier exchange: nothing to measure against',
    rtt: 0,
    reqs: [ex(1, 0, null, null), ex(2, 0, null, null)],
    want: [],
  },
];

describe('hol-stall: the stall of a pipelined exchange', () => {
  it.each(TABLE)('$name', ({ rtt, reqs, want }) => {
    const got = stalls(reqs, rtt).map((s) => ({
      k: s.request.index,
      stall: +s.stallMs.toFixed(6),
      blame: s.blockers.map((b) => [b.request.index, +b.ms.toFixed(6)] as [number, number]),
    }));
    expect(got).toEqual(want.filter((w) => w.stall > 0));
  });

  it('blame always sums to the stall', () => {
    for (const { rtt, reqs } of TABLE) for (const s of stalls(reqs, rtt)) expect(s.blockers.reduce((a, b) => a + b.ms, 0)).toBeCloseTo(s.stallMs, 9);
  });
});

describe('hol-stall on captures', () => {
  const hol = (r: Report) => r.findings.filter((f) => f.kind === 'hol-stall');

  it('pipelining.pcap: /fast1 and /fast2 waited ~500 ms behind /slow', async () => {
    const r = await analyze(sample('pipelining.pcap'));
    const fs = hol(r);
    expect(fs.map((f) => [id(f), f.layer, f.requestIds[0], f.requestIds[1]])).toEqual([
      ['hol-stall/blocked', 'http1-pipelining', 1, 0],
      ['hol-stall/blocked', 'http1-pipelining', 2, 0],
    ]);
    expect(fs[0].summary).toContain('GET /fast1');
    expect(fs[0].summary).toContain('behind GET /slow');
  });

  it('f-pipeline-post-rtt.pcap: a GET pipelined behind a POST — blocked, and unsafe (RFC 9112 §9.3.2)', async () => {
    const fs = hol(await analyze(sample('f-pipeline-post-rtt.pcap')));
    expect(fs.map(id).sort()).toEqual(['hol-stall/after-non-idempotent', 'hol-stall/blocked']);
    const unsafe = fs.find((f) => f.rule === 'after-non-idempotent')!;
    expect(unsafe.summary).toContain('POST /submit');
    expect(unsafe.advice).toContain('9.3.2');
  });

  it('f-pipeline-fast-rtt.pcap: pipelined fast responses over a 40 ms path do not stall', async () => {
    const r = await analyze(sample('f-pipeline-fast-rtt.pcap'));
    expect(r.requests.filter((q) => q.pipelined)).toHaveLength(2);
    expect(hol(r)).toEqual([]);
    // without subtracting the round trip, the same capture would show ~40 ms "stalls"
    const reqs = r.requests.filter((q) => q.connectionId === 0).sort((a, b) => a.index - b.index);
    expect(stalls(reqs, 0)[0].stallMs).toBeGreaterThan(35);
  });

  it('thresholds: holStallMs, and the "most of its time" rule with its floor', async () => {
    expect(hol(await analyze(sample('pipelining.pcap'), { thresholds: { holStallMs: 600 } }))).toHaveLength(2); // still > 50 % of their time
    expect(hol(await analyze(sample('pipelining.pcap'), { thresholds: { holStallMs: 600, holStallFraction: 1.01 } }))).toEqual([]);
    expect(hol(await analyze(sample('pipelining.pcap'), { thresholds: { holStallMs: 600, holStallFloorMs: 1000 } }))).toEqual([]);
  });
});
