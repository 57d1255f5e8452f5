/**
 * `diffReports` (core/src/diff/diff.ts) on the paired captures of samples/whatif/: the measured
 * change per origin, the findings resolved, the regressions a swapped pair shows, the what-if
 * estimate on BEFORE against AFTER's measured time, and tshark's view of the same captures.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { diffReports, predictionPolicy, type Diff } from '../../../core/src/diff/diff.js';
import { handshakeCost } from '../../../core/src/detect/util.js';
import type { Finding, Report } from '../../../core/src/model/types.js';
import { hasTshark } from '../../helpers/env.js';
import { tsharkFields } from '../../helpers/tshark.js';
import { execFileSync } from 'node:child_process';
import { analyzeStem, keys, PAIRS, pcap, type Pair } from './pairs.js';

const reports = new Map<string, Report>();
beforeAll(async () => {
  for (const p of PAIRS) for (const stem of [p.before, p.after]) reports.set(stem, await analyzeStem(stem));
});
const rep = (stem: string): Report => reports.get(stem)!;

describe.each(PAIRS.map((p) => [p.name, p] as [string, Pair]))('diff: %s', (_name, p) => {
  let d: Diff;
  beforeAll(() => {
    d = diffReports(rep(p.before), rep(p.after), { before: pcap(p.before), after: pcap(p.after) });
  });

  it(`shows connections ${p.n} → 1 for the origin, the same ${p.n} requests, and one handshake instead of ${p.n}`, () => {
    expect(d.origins.map((o) => o.origin)).toEqual([p.origin]);
    const [o] = d.origins;
    expect(o.before).toMatchObject({ connections: p.n, requests: p.n, requestsPerConnection: 1, handshakes: p.n, protocol: 'http/1.1', tls: { handshakes: p.n, resumed: p.resumedBefore } });
    expect(o.after).toMatchObject({ connections: 1, requests: p.n, requestsPerConnection: p.n, handshakes: 1, protocol: 'http/1.1', tls: { handshakes: 1, resumed: 0 } });
    expect(d.before).toMatchObject({ connections: p.n, requests: p.n, handshakes: p.n });
    expect(d.after).toMatchObject({ connections: 1, requests: p.n, handshakes: 1 });
  });

  it('prices the handshakes as the capture measured them (TCP + TLS 1.3, 2 round trips of ≈40 ms each)', () => {
    const own = (r: Report) => r.connections.reduce((a, c) => a + handshakeCost(c, r.requests.find((q) => q.connectionId === c.id)).ms, 0);
    const [o] = d.origins;
    expect(o.before!.handshakeMs).toBeCloseTo(own(rep(p.before)), 2);
    expect(o.after!.handshakeMs).toBeCloseTo(own(rep(p.after)), 2);
    // Each: a TCP round trip and a TLS 1.3 full handshake's, over a 40 ms path.
    expect(o.before!.handshakeMs / p.n).toBeGreaterThan(2 * 35);
    expect(o.before!.handshakeMs / p.n).toBeLessThan(2 * 60);
    expect(o.after!.handshakeMs).toBeLessThan((1.5 * o.before!.handshakeMs) / p.n);
  });

  it('the end-to-end time shrinks by at least the handshakes it no longer pays', () => {
    const [o] = d.origins;
    expect(d.before.durationMs).toBe(o.before!.durationMs);
    expect(d.after.durationMs).toBe(o.after!.durationMs);
    const saved = o.before!.durationMs - o.after!.durationMs;
    expect(saved).toBeGreaterThan(p.minSaved * o.before!.durationMs);
    const handshakesGone = o.before!.handshakeMs - o.after!.handshakeMs;
    expect(saved).toBeGreaterThan(0.95 * handshakesGone);
    // In one process, what went away is the handshakes and the client's per-connection set-up
    // around them; a process per request also saves the process starts.
    if (p.predicts) expect(saved).toBeLessThan(1.15 * handshakesGone);
  });

  it('per phase: connecting and ssl once instead of per request; waiting ≈ one round trip on both sides', () => {
    const [o] = d.origins;
    expect(o.before!.phases.connecting!.count).toBe(p.n);
    expect(o.before!.phases.ssl!.count).toBe(p.n);
    expect(o.after!.phases.connecting!.count).toBe(1);
    expect(o.after!.phases.ssl!.count).toBe(1);
    for (const side of [o.before!, o.after!]) {
      const w = side.phases.waiting!;
      expect(w.count).toBe(p.n);
      expect(w.p50).toBeGreaterThan(35);
      expect(w.p50).toBeLessThan(60);
      expect(w.p95).toBeGreaterThanOrEqual(w.p50);
    }
  });

  it('missed reuse (and the missed resumption that came with the new connections) resolved; nothing new', () => {
    const resolved = d.findings.resolved.map((f) => `${f.kind} ${f.origin}`);
    expect(resolved).toContain(`missed-reuse ${p.origin}`);
    const mr = d.findings.resolved.find((f) => f.kind === 'missed-reuse')!;
    expect(mr.before!.rules).toEqual(p.missedReuse);
    expect(mr.before!.costMs).toBeGreaterThan(0);
    expect(mr.after).toBeNull();
    expect(d.findings.new).toEqual([]);
    expect(d.regressions).toEqual([]);
    // Every BEFORE finding is accounted for, once.
    expect(d.findings.resolved.length + d.findings.unchanged.length).toBe(new Set(rep(p.before).findings.map((f) => f.kind)).size);
  });

  it('swapped (AFTER → BEFORE), every regression kind fires', () => {
    const s = diffReports(rep(p.after), rep(p.before));
    const kinds = new Set(s.regressions.map((r) => r.kind));
    // duration only where AFTER was more than 10% faster (the idle-timeout pair is mostly think time).
    const slower = rep(p.before).whatIf!.reuse.measuredMs > 1.1 * rep(p.after).whatIf!.reuse.measuredMs;
    expect([...kinds].sort()).toEqual(['connections-per-request', ...(slower ? ['duration'] : []), 'handshake-time', 'new-findings']);
    const cpr = s.regressions.find((r) => r.kind === 'connections-per-request')!;
    expect(cpr).toMatchObject({ origin: p.origin, before: 1 / p.n, after: 1 });
    expect(s.findings.new.map((f) => f.kind)).toContain('missed-reuse');
    expect(s.findings.resolved).toEqual([]);
  });

  it('a capture against itself: no change, everything unchanged, no regression', () => {
    for (const stem of [p.before, p.after]) {
      const s = diffReports(rep(stem), rep(stem));
      for (const o of s.origins) expect(o.after).toEqual(o.before);
      expect(s.findings.resolved).toEqual([]);
      expect(s.findings.new).toEqual([]);
      expect(s.findings.unchanged.length).toBe(new Set(rep(stem).findings.map((f) => f.kind)).size);
      expect(s.regressions).toEqual([]);
    }
  });

  it('without keys: connections and handshakes still compare; no requests are visible', async () => {
    const s = diffReports(await analyzeStem(p.before, false), await analyzeStem(p.after, false));
    expect(s.origins).toHaveLength(1);
    expect(s.origins[0].before).toMatchObject({ connections: p.n, requests: 0, handshakes: p.n });
    expect(s.origins[0].after).toMatchObject({ connections: 1, requests: 0, handshakes: 1 });
    expect(s.prediction).toBeUndefined();
    // Without requests, no origin has requests on both sides: connections-per-request cannot regress.
    expect(diffReports(await analyzeStem(p.after, false), await analyzeStem(p.before, false)).regressions.map((r) => r.kind)).not.toContain('connections-per-request');
  });

  // Each pair gets the check that applies to it (no test skipped on a pair it does not concern).
  if (p.predicts) it(`the what-if estimate (${p.policy}) on BEFORE predicts AFTER’s measured end-to-end time within ±15%, and ${p.n} → 1 connections`, () => {
    const w = p.policy === 'reuse' ? rep(p.before).whatIf!.reuse : rep(p.before).whatIf!.keepaliveTimeout;
    const after = rep(p.after).whatIf!.reuse;
    expect(w.confidence).toBe(1);
    expect(w.estimatedConnections).toBe(1);
    expect(after.measuredMs).toBe(d.after.durationMs);
    expect(w.measuredMs).toBe(d.before.durationMs);
    const err = (w.estimatedMs - after.measuredMs) / after.measuredMs;
    console.log(`${p.name}: BEFORE ${w.measuredMs} ms, estimated with ${p.policy} ${w.estimatedMs} ms, AFTER measured ${after.measuredMs} ms: ${(100 * err).toFixed(1)}%`);
    expect(Math.abs(err)).toBeLessThan(0.15);
    expect(d.prediction).toEqual({
      policy: p.policy,
      basis: expect.stringMatching(p.policy === 'reuse' ? /missed-reuse client-no-pool/ : /by idle timeout \(missed-reuse client-idle-timeout, server-idle-timeout\)/),
      ...(p.policy === 'keepalive-timeout' ? { keepaliveTimeoutS: 10 } : {}),
      beforeMeasuredMs: w.measuredMs,
      estimatedMs: w.estimatedMs,
      afterMeasuredMs: after.measuredMs,
      errorPct: expect.closeTo(100 * err, 2),
      beforeConnections: p.n,
      estimatedConnections: 1,
      afterConnections: 1,
    });
    // The estimate is not merely "BEFORE minus its handshakes": the model had to place the
    // requests; and it must beat doing nothing by far.
    expect(w.estimatedMs).toBeLessThan(w.measuredMs - 0.9 * w.handshakesAvoided.ms);
  });

  else it('a process per request: the estimate keeps the process starts as think time, says so, and is a floor of the saving', () => {
    expect(d.prediction).toMatchObject({ policy: p.policy, beforeConnections: p.n, estimatedConnections: 1, afterConnections: 1 });
    const w = rep(p.before).whatIf!.reuse;
    const after = rep(p.after).whatIf!.reuse;
    console.log(`${p.name}: BEFORE ${w.measuredMs} ms, estimated with reuse ${w.estimatedMs} ms, AFTER measured ${after.measuredMs} ms: ${((100 * (w.estimatedMs - after.measuredMs)) / after.measuredMs).toFixed(1)}%`);
    expect(w.estimatedConnections).toBe(1);
    expect(w.estimatedMs).toBeGreaterThan(after.measuredMs);
    expect(w.estimatedMs).toBeLessThan(w.measuredMs);
    expect(w.assumptions.some((a) => /think time/.test(a) && /new process/.test(a) && /floor/.test(a))).toBe(true);
  });
});

describe('prediction: the what-if policy BEFORE\'s findings point at (predictionPolicy)', () => {
  const f = (kind: string, rule?: string) => ({ kind, rule }) as unknown as Finding;
  it.each([
    ['no findings', [], 'reuse'],
    ['missed-reuse client-no-pool', [f('missed-reuse', 'client-no-pool')], 'reuse'],
    ['missed-reuse server-idle-timeout', [f('missed-reuse', 'server-idle-timeout')], 'keepalive-timeout'],
    ['server-idle-timeout + client-idle-timeout (a simultaneous close)', [f('missed-reuse', 'client-idle-timeout'), f('missed-reuse', 'server-idle-timeout')], 'keepalive-timeout'],
    ['client-idle-timeout alone: the client’s own timeout, not the server’s', [f('missed-reuse', 'client-idle-timeout')], 'reuse'],
    ['server-idle-timeout and client-no-pool: the client does not pool either', [f('missed-reuse', 'server-idle-timeout'), f('missed-reuse', 'client-no-pool')], 'reuse'],
    ['server-idle-timeout and a keepalive-policy finding (other kinds do not matter)', [f('missed-reuse', 'server-idle-timeout'), f('keepalive-policy', 'timeout-too-short')], 'keepalive-timeout'],
  ] as [string, Finding[], string][])('%s → %s', (_what, findings, policy) => {
    expect(predictionPolicy({ findings }).policy).toBe(policy);
  });

  it('BEFORE made before keepaliveTimeout existed: the reuse estimate, and the basis says so', () => {
    const p = PAIRS.find((x) => x.policy === 'keepalive-timeout')!;
    const old = JSON.parse(JSON.stringify(rep(p.before))) as Report;
    delete (old.whatIf as Partial<NonNullable<Report['whatIf']>>).keepaliveTimeout;
    const d = diffReports(old, rep(p.after));
    expect(d.prediction).toMatchObject({ policy: 'reuse', estimatedMs: old.whatIf!.reuse.estimatedMs, basis: expect.stringMatching(/no keepalive-timeout estimate: reuse instead/) });
    expect(d.prediction).not.toHaveProperty('keepaliveTimeoutS');
  });
});

describe.runIf(hasTshark())('diff against tshark', () => {
  const stems = PAIRS.flatMap((p) => [p.before, p.after]);
  it.each(stems)('%s: connections as tshark -z conv,tcp counts them; end-to-end from its first SYN to its last HTTP response', (stem) => {
    const conv = execFileSync('tshark', ['-r', pcap(stem), '-n', '-q', '-z', 'conv,tcp'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const convs = conv.split('\n').filter((l) => /<->/.test(l)).length;
    const d = diffReports(rep(stem), rep(stem));
    expect(d.before.connections).toBe(convs);
    expect(d.origins.reduce((a, o) => a + o.before!.connections, 0)).toBe(convs);
    // Decrypted with the same key log: the first SYN and the last response frame.
    const syn = tsharkFields(pcap(stem), 'tcp.flags.syn == 1 && tcp.flags.ack == 0', ['frame.time_relative']);
    const resp = tsharkFields(pcap(stem), 'http.response', ['frame.time_relative'], ['-o', `tls.keylog_file:${keys(stem)}`]);
    expect(resp.length).toBe(rep(stem).requests.length);
    const first = Number(syn[0][0]) * 1000;
    const last = Math.max(...resp.map((r) => Number(r[0]) * 1000));
    expect(d.before.durationMs).toBeCloseTo(last - first, 2);
  });
});
