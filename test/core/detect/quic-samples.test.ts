/**
 * The QUIC detectors (layer `quic`: quic-missed-reuse, quic-alt-svc, quic-fallback, quic-0rtt,
 * quic-stream-loss) on
 * every sample capture — samples/, samples/tls and samples/quic, with and without their key logs —
 * against the complete list of QUIC findings each must produce (and nothing else: no false QUIC
 * finding on TCP, TLS or HTTP/2 captures). Then the streaming contract on QUIC records: the
 * positive samples laid over one another and fed in random orders of completion, with the
 * watermark the engine would give, find exactly what `detectAll` finds.
 */
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { analyzeFile } from '../../../core/src/engine.js';
import { detectAll, detectStream } from '../../../core/src/detect/index.js';
import { openTime } from '../../../core/src/detect/util.js';
import { readKeyLogFile } from '../../../core/src/tls/keylog.js';
import type { Connection, Finding, Report, Request } from '../../../core/src/model/types.js';
import { listCaptures, SAMPLES } from '../../helpers/env.js';
import { haveQuicSamples, ids, loadQuic, quicFindings } from './quic-helpers.js';
import { rng } from '../../helpers/rng.js';

const ok = haveQuicSamples();

/** QUIC findings per capture ("dir/file keys|no keys"); every other capture: none. */
const EXPECTED: Record<string, string[]> = {
  'quic/ngtcp2-h3-missed-reuse.pcap keys': ['missed-reuse/client-no-pool', 'missed-reuse/idle-connection-unused'],
  'quic/ngtcp2-h3-0rtt.pcap keys': ['missed-reuse/client-no-pool', 'quic-0rtt/accepted'],
  'quic/chromium-caddy-altsvc.pcap keys': ['alt-svc/moved-to-h3'],
  'quic/chromium-quic-fallback.pcap keys': ['quic-blocked/fallback-to-tcp'],
  'quic/chromium-quic-fallback.pcap no keys': ['quic-blocked/fallback-to-tcp'],
  'quic/chromium-quic-blocked-forced.pcap no keys': ['quic-blocked/no-fallback'],
  'quic/ngtcp2-h3-stream-loss.pcap keys': ['hol-stall/stream-loss'],
};

function inputs(): { name: string; file: string; keys?: string }[] {
  const out: { name: string; file: string; keys?: string }[] = listCaptures(SAMPLES).map((f) => ({ name: `${basename(f)} no keys`, file: f }));
  for (const dir of ['tls', 'quic']) {
    for (const f of listCaptures(join(SAMPLES, dir))) {
      out.push({ name: `${dir}/${basename(f)} no keys`, file: f });
      const keys = f.replace(/\.(pcap|pcapng)$/, '.keys');
      if (existsSync(keys)) out.push({ name: `${dir}/${basename(f)} keys`, file: f, keys });
    }
  }
  return out;
}

describe('QUIC findings on every sample capture', () => {
  const all = inputs();
  it('covers the samples, and every expected entry names one of them', () => {
    expect(all.length).toBeGreaterThan(60);
    for (const k of Object.keys(EXPECTED)) expect(all.some((i) => i.name === k), k).toBe(true);
  });

  it.each(all.map((i) => [i.name, i] as const))('%s', async (name, i) => {
    const keyLog = i.keys ? (await readKeyLogFile(i.keys)).keylog : undefined;
    const r = await analyzeFile(i.file, { keyLog, findings: (rep) => detectAll(rep) });
    const fs = quicFindings(r);
    expect(ids(fs)).toEqual(EXPECTED[name] ?? []);
    for (const f of fs) {
      expect(f.evidence.length).toBeGreaterThan(0);
      expect(f.advice.length).toBeGreaterThan(20);
      expect(f.timeRange[0]).toBeLessThanOrEqual(f.timeRange[1]);
      for (const c of f.connectionIds) expect(r.connections.some((x) => x.id === c), `${f.kind} connection ${c}`).toBe(true);
      for (const q of f.requestIds) expect(r.requests.some((x) => x.id === q), `${f.kind} request ${q}`).toBe(true);
      for (const e of f.evidence) if (e.packet !== null) expect(e.packet).toBeGreaterThanOrEqual(1);
    }
  });
});

/** Every capture time in a record moved by d (durations, `*Ms`, and packet numbers kept). */
function shifted<T>(x: T, d: number): T {
  if (Array.isArray(x)) return x.map((v) => shifted(v, d)) as T;
  if (!x || typeof x !== 'object') return x;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(x)) {
    if (typeof v === 'number' && (k === 'time' || k.endsWith('Time'))) out[k] = v + d;
    else if (k === 'firstAppDataTime' && v && typeof v === 'object') out[k] = Object.fromEntries(Object.entries(v).map(([s, t]) => [s, t === null ? null : (t as number) + d]));
    else if (v && typeof v === 'object') out[k] = shifted(v, d);
    else out[k] = v;
  }
  return out as T;
}

const STEMS = ['ngtcp2-h3-missed-reuse', 'ngtcp2-h3-0rtt', 'chromium-caddy-altsvc', 'chromium-quic-fallback', 'ngtcp2-h3-stream-loss'];

async function overlay(copies: number, dt: number): Promise<Report> {
  const connections: Connection[] = [];
  const requests: Request[] = [];
  let base: Report | undefined;
  for (let i = 0; i < copies; i++) {
    for (const [j, stem] of STEMS.entries()) {
      const r = await loadQuic(stem);
      base ??= r;
      const d = i * dt + j * 3;
      const idMap = new Map<number, number>();
      // QUIC ids stay above the TCP ones (as the engine numbers them).
      for (const c of r.connections) {
        const id = (c.transport === 'quic' ? 1_000_000_000 : 0) + connections.length;
        idMap.set(c.id, id);
        connections.push({ ...shifted(c, d), id });
      }
      for (const q of r.requests) requests.push({ ...shifted(q, d), id: requests.length, connectionId: idMap.get(q.connectionId)! });
    }
  }
  return { ...base!, connections, requests, findings: [] };
}

function canonical(fs: Finding[]): string[] {
  return fs.map((f) => JSON.stringify(f)).sort();
}

/** The report fed as the engine would: each connection after its requests, in a shuffled order, the watermark after each. */
function streamed(r: Report, seed: number): { findings: Finding[]; counts: Record<string, number> } {
  const findings: Finding[] = [];
  const counts: Record<string, number> = {};
  const d = detectStream({}, (f) => findings.push(f), (n, k = 1) => (counts[n] = (counts[n] ?? 0) + k));
  const conns = [...r.connections];
  const next = rng(seed);
  for (let i = conns.length - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [conns[i], conns[j]] = [conns[j], conns[i]];
  }
  const rest = new Float64Array(conns.length + 1).fill(Infinity);
  for (let i = conns.length - 1; i >= 0; i--) rest[i] = Math.min(rest[i + 1], conns[i].firstTime, openTime(conns[i]));
  for (let i = 0; i < conns.length; i++) {
    for (const q of r.requests) if (q.connectionId === conns[i].id) d.request(q);
    d.connection(conns[i]);
    d.watermark(rest[i + 1]);
  }
  d.finish();
  return { findings, counts };
}

describe('the QUIC detectors stream: batch == streaming on QUIC records in any order of completion', () => {
  it.skipIf(!ok).each([
    ['copies 60 s apart (windows apart)', 3, 60_000],
    ['copies 300 ms apart (windows overlap, origins repeat)', 4, 300],
  ] as const)('%s', async (_name, copies, dt) => {
    const r = await overlay(copies, dt);
    const want = detectAll(r).filter((f) => f.layer === 'quic');
    expect(new Set(want.map((f) => f.kind))).toEqual(new Set(['missed-reuse', 'alt-svc', 'quic-blocked', 'quic-0rtt', 'hol-stall']));
    for (const seed of [1, 2, 3]) {
      const s = streamed(r, seed);
      expect(canonical(s.findings.filter((f) => f.layer === 'quic')), `seed ${seed}`).toEqual(canonical(want));
      for (const c of ['detectLateConnections', 'detectWatermarkForced', 'detectFallbackSkipped']) expect(s.counts[c] ?? 0, c).toBe(0);
    }
  });
});

describe('the QUIC detectors on damaged and hostile records', () => {
  it.skipIf(!ok)('records without their QUIC or TLS facts, times or requests: no exception, nothing claimed from what is missing', async () => {
    const r = await overlay(1, 0);
    const strip = [
      (c: Connection): Connection => ({ ...c, quic: undefined }),
      (c: Connection): Connection => ({ ...c, tls: undefined }),
      (c: Connection): Connection => ({ ...c, synTime: null, establishedTime: null, handshakeRttMs: -1, close: { ...c.close, time: null } }),
    ];
    for (const f of strip) {
      const cs = r.connections.map((c) => (c.transport === 'quic' ? f(c) : c));
      expect(() => detectAll({ ...r, connections: cs, findings: [] })).not.toThrow();
      expect(() => detectAll({ ...r, connections: cs, requests: [], findings: [] })).not.toThrow();
    }
    // Without QUIC facts, nothing QUIC-specific is claimed (answered or not is unknown).
    const noQuic = detectAll({ ...r, connections: r.connections.map((c) => (c.transport === 'quic' ? { ...c, quic: undefined } : c)), findings: [] });
    expect(noQuic.filter((f) => f.layer === 'quic' && f.kind !== 'alt-svc' && f.kind !== 'quic-0rtt')).toEqual([]);
  });

  it.skipIf(!ok)('5,000 unanswered attempts to one origin: one finding, attempts kept up to MAX_ATTEMPTS_KEPT, evidence capped, in seconds', async () => {
    const { MAX_ATTEMPTS_KEPT } = await import('../../../core/src/detect/quic-fallback.js');
    const r = await loadQuic('chromium-quic-fallback');
    const q = r.connections.find((c) => c.transport === 'quic')!;
    const cs = Array.from({ length: 5000 }, (_, i) => ({ ...shifted(q, i * 10), id: 1_000_000_000 + i }));
    const t0 = performance.now();
    const fs = detectAll({ ...r, connections: cs, requests: [], findings: [] }).filter((f) => f.layer === 'quic');
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(fs.map((f) => [f.kind, f.rule, f.connectionIds.length, f.evidence.length])).toEqual([['quic-blocked', 'no-fallback', MAX_ATTEMPTS_KEPT, 22]]);
    expect(fs[0].evidence.at(-1)!.what).toBe(`${5000 - MAX_ATTEMPTS_KEPT} more attempts not kept (MAX_ATTEMPTS_KEPT)`);
  });

  it.skipIf(!ok)('5,000 QUIC connections to one origin, each opened beside the last (without keys: known open by its packets): one finding, linear', async () => {
    const r = await loadQuic('ngtcp2-h3-missed-reuse', false);
    const c = quicOf(r)[1];
    // 50 ms apart (each past the previous one's 22 ms handshake), each sending until after the next opened.
    const cs = Array.from({ length: 5000 }, (_, i) => ({ ...shifted(c, i * 50), id: 1_000_000_000 + i, lastTime: c.lastTime + i * 50 + 60 }));
    const t0 = performance.now();
    const fs = detectAll({ ...r, connections: cs, requests: [], findings: [] }).filter((f) => f.layer === 'quic');
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(fs.map((f) => [f.kind, f.rule, f.connectionIds.length, f.evidence.length])).toEqual([['missed-reuse', 'h3-second-connection', 5000, 100]]);
    expect(fs[0].summary).toMatch(/^4999 of 5000 QUIC connections/);
  });
});

const quicOf = (r: Report): Connection[] => r.connections.filter((c) => c.transport === 'quic');
