/**
 * Detectors on hostile reports: shapes that made a detector quadratic in time or in output size
 * (found by a hostile-input audit). Each report is built from a real sample by cloning and
 * shifting its records; the assertions are the bounds (listed items capped, the rest counted)
 * and the findings, with a generous time guard against a hang only.
 */
import { describe, expect, it } from 'vitest';
import { sample } from '../../helpers/env.js';
import { blindRelay } from '../../../core/src/detect/blind-relay.js';
import { h2MissedReuse } from '../../../core/src/detect/h2-missed-reuse.js';
import { h2TcpHol, MAX_EPISODE_STREAMS, MAX_STREAM_EVIDENCE } from '../../../core/src/detect/h2-tcp-hol.js';
import { holStall, MAX_HOL_BLOCKERS, MAX_LISTED_AFTER, MAX_STALL_FINDINGS_PER_CONNECTION } from '../../../core/src/detect/hol-stall.js';
import { keepAlivePolicy } from '../../../core/src/detect/keepalive-policy.js';
import { missedReuse } from '../../../core/src/detect/missed-reuse.js';
import type { Connection, Finding, Report, RequestTimes } from '../../../core/src/model/types.js';
import { analyze } from './helpers.js';

const shift = (t: RequestTimes, d: number): RequestTimes =>
  Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v === null ? null : (v as number) + d])) as unknown as RequestTimes;
const at = (v: number | null, d: number) => (v === null ? null : v + d);

/** n copies of connection `cid` of a sample (and its requests), the i-th shifted by i·dt ms. */
async function clones(file: string, cid: number, n: number, dt: number, tweak: (c: Connection) => Connection = (c) => c): Promise<Report> {
  const base = await analyze(sample(file));
  const c0 = base.connections.find((c) => c.id === cid)!;
  const rq = base.requests.filter((r) => r.connectionId === cid);
  const connections: Connection[] = [];
  const requests: Report['requests'] = [];
  for (let i = 0; i < n; i++) {
    const d = i * dt;
    connections.push(
      tweak({
        ...c0,
        id: i,
        client: { ...c0.client, port: 1024 + (i % 60000) },
        synTime: at(c0.synTime, d),
        establishedTime: at(c0.establishedTime, d),
        firstTime: c0.firstTime + d,
        lastTime: c0.lastTime + d,
        close: { ...c0.close, time: at(c0.close.time, d) },
      }),
    );
    for (const r of rq) requests.push({ ...r, id: requests.length, connectionId: i, times: shift(r.times, d) });
  }
  return { ...base, connections, requests, findings: [] };
}

/** n exchanges pipelined at t = 0 on one connection of pipelining.pcap. */
async function pipelined(n: number, method: 'GET' | 'POST'): Promise<Report> {
  const base = await analyze(sample('pipelining.pcap'));
  const post = method === 'POST';
  const requests = Array.from({ length: n }, (_, i) => ({
    ...base.requests[i % 3],
    id: i,
    index: i + 1,
    pipelined: i > 0,
    method,
    state: post ? ('no-response' as const) : ('complete' as const),
    times: { ...base.requests[0].times, requestStartTime: 0, requestEndTime: 0, responseStartTime: post ? null : 10 + i, responseEndTime: post ? null : 11 + i },
  }));
  const c0 = base.connections[0];
  const c = { ...c0, handshakeRttMs: 0, close: { ...c0.close, time: n + 100 }, keepAlive: { ...c0.keepAlive!, reusableAfter: requests.map(() => true) } };
  return { ...base, connections: [c], requests, findings: [] };
}

function timed<T>(f: () => T): { out: T; ms: number } {
  const t0 = performance.now();
  const out = f();
  return { out, ms: performance.now() - t0 };
}

const size = (fs: Finding[]) => JSON.stringify(fs).length;

describe('detectors on hostile reports', () => {
  it('hol-stall: 3,000 requests pipelined at once list at most MAX_HOL_BLOCKERS blockers each and count the rest', async () => {
    // Each exchange k waits behind all k−1 earlier ones: listing them all was 4.5 M request ids
    // (a 415 KB capture of this shape crashed the CLI writing its JSON).
    const n = 3000;
    const r = await pipelined(n, 'GET');
    const { out: fs, ms } = timed(() => holStall.detect(r, {}));
    // The first MAX_STALL_FINDINGS_PER_CONNECTION one by one, then one summary for the rest.
    const K = MAX_STALL_FINDINGS_PER_CONNECTION;
    expect(fs).toHaveLength(K + 1);
    for (const f of fs) {
      expect(f.requestIds.length).toBeLessThanOrEqual(1 + MAX_HOL_BLOCKERS);
      expect(f.evidence.length).toBeLessThanOrEqual(MAX_HOL_BLOCKERS + 3);
    }
    const lastSingle = fs[K - 1];
    // exchange K (id K) is blocked 11 ms by the first response, then 1 ms by each of the K − 1 after it
    expect(lastSingle.requestIds).toEqual([K, 0, ...Array.from({ length: MAX_HOL_BLOCKERS - 1 }, (_, i) => i + 1)]);
    expect(lastSingle.summary).toContain(`and ${K - 1} other response(s)`);
    expect(lastSingle.costMs).toBe(K + 10);
    expect(lastSingle.evidence.some((e) => e.what.includes(`… and ${K - MAX_HOL_BLOCKERS} more earlier response(s)`))).toBe(true);
    // The summary: exchanges K+1 … n−1, costs (K+1+10) … (n−1+10).
    const rest = fs[K];
    const more = n - 1 - K;
    expect(rest.summary).toMatch(new RegExp(`^${more} more pipelined exchange\\(s\\) on connection 0`));
    expect(rest.requestIds).toEqual([K + 1, n - 1]);
    expect(rest.costMs).toBe((more * (K + 11 + n + 9)) / 2);
    expect(size(fs)).toBeLessThan(1_000_000);
    expect(ms).toBeLessThan(10_000);
  });

  it('hol-stall: 4,000 POSTs pipelined without responses name MAX_LISTED_AFTER followers each and count the rest', async () => {
    const n = 4000;
    const r = await pipelined(n, 'POST');
    const { out: fs, ms } = timed(() => holStall.detect(r, {}));
    const unsafe = fs.filter((f) => f.rule === 'after-non-idempotent');
    expect(unsafe).toHaveLength(MAX_STALL_FINDINGS_PER_CONNECTION + 1);
    expect(unsafe.at(-1)!.summary).toMatch(new RegExp(`^${n - 1 - MAX_STALL_FINDINGS_PER_CONNECTION} more non-idempotent request\\(s\\)`));
    expect(unsafe[0].summary).toMatch(new RegExp(`^${n - 1} request\\(s\\) on connection`));
    expect(unsafe[0].requestIds).toEqual(Array.from({ length: 1 + MAX_LISTED_AFTER }, (_, i) => i));
    expect(unsafe[0].evidence.at(-2)!.what).toContain(`… and ${n - 1 - MAX_LISTED_AFTER} more request(s)`);
    for (const f of unsafe) expect(f.evidence.length).toBeLessThanOrEqual(MAX_LISTED_AFTER + 3);
    expect(ms).toBeLessThan(10_000);
  });

  it('blind-relay-hang: 10,000 hung connections find (and miss) their upstream legs through an index, not a scan', async () => {
    const r = await clones('f-blind-relay-rtt.pcap', 0, 10_000, 10);
    const { out: fs, ms } = timed(() => blindRelay.detect(r, {}));
    expect(fs.filter((f) => !f.rule)).toHaveLength(10_000);
    expect(fs.every((f) => f.connectionIds.length === 1)).toBe(true); // every clone goes to the same server: no leg
    expect(ms).toBeLessThan(10_000);
  });

  it('h2-tcp-hol: 1,000 episodes × 1,000 streams — one pass for the longest stalls, evidence capped', async () => {
    const base = await analyze(sample('h2-loss-hol.pcap'));
    const c0 = base.connections.find((c) => c.protocol === 'h2' || c.protocol === 'h2c')!;
    const r0 = base.requests.find((r) => r.connectionId === c0.id)!;
    const n = 1000;
    const E = 1000;
    const episodes = Array.from({ length: E }, (_, e) => ({
      side: 'server', releaseTime: e + 1, releasePacket: e, firstHeldTime: e, firstHeldPacket: e, heldBytes: 100, blockers: [],
      streams: Array.from({ length: n }, (_, s) => ({ streamId: 2 * s + 1, bytes: 1, firstTime: e, firstPacket: e, lastPacket: e, holMs: 1 + (e === s ? 1 : 0), waitMs: 1 })),
    }));
    const tcpHol = { client: { episodes: [], streamStalledMs: 0, stalledMs: 0, approximate: false }, server: { episodes, streamStalledMs: n, stalledMs: E, approximate: false } };
    const conn = { ...c0, id: 0, h2: { ...c0.h2, tcpHol } } as unknown as Connection;
    const requests = Array.from({ length: n }, (_, s) => ({ ...r0, id: s, connectionId: 0, streamId: 2 * s + 1, h2: { ...r0.h2, tcpHol: { response: { stalledMs: 5 - s / n, stalls: 1, ownLossStalls: 0 } } } }));
    const { out: fs, ms } = timed(() => h2TcpHol.detect({ ...base, connections: [conn], requests, findings: [] } as unknown as Report, {}));
    expect(fs).toHaveLength(1);
    const f = fs[0];
    expect(f.requestIds).toHaveLength(n);
    const perStream = f.evidence.filter((e) => e.what.includes('held'));
    // stream 2s+1 is held longest (2 ms) in episode s: that is where its line points
    expect(f.evidence[0].what).toContain('longest 2.0 ms');
    expect(f.evidence[0].packet).toBe(0);
    expect(f.evidence[1].packet).toBe(1);
    expect(f.evidence.filter((e) => /^… and \d+ more like these$/.test(e.what))).toEqual([expect.objectContaining({ what: `… and ${n - MAX_STREAM_EVIDENCE + 1} more like these` })]);
    expect(perStream.length).toBeLessThan(MAX_STREAM_EVIDENCE + 2 * 40 + 2);
    expect(f.evidence.find((e) => e.what.includes(`${n - MAX_EPISODE_STREAMS} more stream(s) waited less`))).toBeDefined();
    expect(size(fs)).toBeLessThan(200_000);
    expect(ms).toBeLessThan(10_000);
  });

  it('h2 missed-reuse: 40,000 HTTP/2 connections one after another to one origin — a sweep over the open ones', async () => {
    // h2-two-connections.pcap's connection 1, repeated every 100 ms: each is closed before the
    // next opens, so none is avoidable; every pair used to be checked.
    const r = await clones('h2-two-connections.pcap', 1, 40_000, 100);
    const { out: fs, ms } = timed(() => h2MissedReuse.detect(r, {}));
    expect(fs).toEqual([]);
    expect(ms).toBeLessThan(10_000);
  });

  it('keepalive-policy: 40,000 stale-connection races look for their retries only among connections opened in the window', async () => {
    // stale-race.pcap's connection 0 (GET /f2.txt sent 1,003 ms in, as the server closes) every
    // 10 ms: the first connection opened after a race that sends GET /f2.txt is 101 clones later.
    const n = 40_000;
    const r = await clones('stale-race.pcap', 0, n, 10);
    const { out: fs, ms } = timed(() => keepAlivePolicy.detect(r, {}));
    const races = fs.filter((f) => f.rule === 'stale-connection-race');
    expect(races).toHaveLength(n);
    expect(races.filter((f) => f.connectionIds.length === 2).map((f) => f.connectionIds[1] - f.connectionIds[0])).toEqual(Array(n - 101).fill(101));
    expect(ms).toBeLessThan(10_000);
  });

  it('missed-reuse: 60,000 never-closed connections with one SYN time — the busy list stops at the first not opened before', async () => {
    const n = 60_000;
    const r = await clones('no-pool.pcap', 0, n, 0, (c) => ({ ...c, close: { ...c.close, time: null, how: 'open', by: null } }) as Connection);
    const { out: fs, ms } = timed(() => missedReuse.detect(r, {}));
    const excess = fs.find((f) => f.kind === 'excess-parallel-connections')!;
    expect(excess.connectionIds).toHaveLength(n - 6); // above the default budget of 6
    expect(excess.evidence).toHaveLength(100);
    expect(ms).toBeLessThan(10_000);
  });

  it('keepalive-policy and blind-relay-hang: 100,000 unanswered requests on one connection find their predecessor by position', async () => {
    const base = await analyze(sample('stale-race.pcap'));
    const c0 = base.connections[0];
    const [r1, r2] = base.requests.filter((r) => r.connectionId === 0);
    const n = 100_000;
    const requests = [{ ...r1, id: 0, index: 1 }, ...Array.from({ length: n - 1 }, (_, i) => ({ ...r2, id: i + 1, index: i + 2 }))];
    const r = { ...base, connections: [{ ...c0, keepAlive: { ...c0.keepAlive!, reusableAfter: requests.map((_, i) => i === 0) } }], requests, findings: [] };
    const { out: ka, ms: kaMs } = timed(() => keepAlivePolicy.detect(r, {}));
    const { out: br, ms: brMs } = timed(() => blindRelay.detect(r, {}));
    expect(ka.filter((f) => f.rule === 'stale-connection-race')).toHaveLength(n - 1);
    expect(br).toEqual([]);
    expect(kaMs).toBeLessThan(10_000);
    expect(brMs).toBeLessThan(10_000);
  });
});
