/**
 * Streaming detectors (core/src/detect/stream.ts) find exactly what the whole-report detectors
 * find: on every sample capture (HTTPS with and without its key log, QUIC too) and the Zeek
 * corpus, fed by the engine as it analyses (`analyzeStream` with its watermark, the path
 * `--format ndjson` takes); and on reports built to exercise the windows, fed in random orders of
 * completion with the watermark the engine would give.
 *
 * Order: `detectAll` sorts by start time then kind; a stream emits each finding when it becomes
 * final (per-connection ones as their connection completes, windowed ones when the watermark
 * passes, per-origin summaries at the end). Both are compared in one canonical order.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { analyzeFile, analyzeStream } from '../../../core/src/engine.js';
import { DETECTOR_DEFS, detectAll, detectStream, type DetectOptions } from '../../../core/src/detect/index.js';
import { DetectStream, fallback, LOG_PAGE_ROWS, mergeReads, RefTable, RequestLog, slimRequest, Strings, type StreamMember } from '../../../core/src/detect/stream.js';
import { SpillFile } from '../../../core/src/util/spill.js';
import { openTime } from '../../../core/src/detect/util.js';
import { readKeyLogFile } from '../../../core/src/tls/keylog.js';
import type { Connection, Finding, Report, Request, RequestTimes } from '../../../core/src/model/types.js';
import { hasCorpus, listCaptures, sample, SAMPLES, ZEEK } from '../../helpers/env.js';
import { analyze } from './helpers.js';
import { rng } from '../../helpers/rng.js';
import { readPcapSimple, writePcap } from '../../helpers/pcap-writer.js';

/** Findings in one order, whatever order they came in. */
function canonical(fs: Finding[]): Finding[] {
  const key = (f: Finding) => JSON.stringify([f.timeRange[0], f.kind, f.rule ?? '', f.connectionIds, f.requestIds, f.summary]);
  return [...fs].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** Counters a stream may raise only when it had to degrade (never on these inputs). */
const DEGRADED = ['detectLateConnections', 'detectWatermarkForced', 'detectFallbackSkipped', 'detectRequestsWithoutConnection'];

interface Input {
  name: string;
  file: string;
  keys?: string;
}

function inputs(): Input[] {
  const out: Input[] = listCaptures(SAMPLES).map((f) => ({ name: basename(f), file: f }));
  for (const dir of ['tls', 'quic']) {
    for (const f of listCaptures(join(SAMPLES, dir))) {
      out.push({ name: `${dir}/${basename(f)} without keys`, file: f });
      const keys = f.replace(/\.(pcap|pcapng)$/, '.keys');
      if (existsSync(keys)) out.push({ name: `${dir}/${basename(f)} with keys`, file: f, keys });
    }
  }
  return out;
}

/** The engine's stream through the detectors, checking the watermark's promise as it goes. */
async function streamed(file: string, keys: string | undefined, opts: DetectOptions = {}, limits?: { resident?: number }) {
  const findings: Finding[] = [];
  const counts: Record<string, number> = {};
  const d = detectStream(opts, (f) => findings.push(f), (name, n = 1) => (counts[name] = (counts[name] ?? 0) + n), limits);
  let watermark = -Infinity;
  let floor = -Infinity;
  const broken: number[] = [];
  /** Requests handed out (or before one on their connection) that started below the request floor given earlier. */
  const belowFloor: number[] = [];
  const lastStart = new Map<number, { index: number; start: number }>();
  const keyLog = keys ? (await readKeyLogFile(keys)).keylog : undefined;
  await analyzeStream(
    file,
    {
      onRequest: (r) => {
        // The floor's promise (engine.ts requestFloor): neither r nor the request before it on its
        // connection started before a floor given earlier.
        const prev = lastStart.get(r.connectionId);
        const prevStart = prev && prev.index === r.index - 1 ? prev.start : Infinity;
        if (Math.min(r.times.requestStartTime, prevStart) < floor) belowFloor.push(r.id);
        if (!prev || r.index > prev.index) lastStart.set(r.connectionId, { index: r.index, start: r.times.requestStartTime });
        d.request(r);
      },
      onConnection: (c) => {
        if (c.firstTime < watermark || openTime(c) < watermark) broken.push(c.id);
        d.connection(c);
      },
      onWatermark: (t, requestFloor) => {
        if (requestFloor < t) broken.push(-1);
        watermark = Math.max(watermark, t);
        floor = Math.max(floor, requestFloor);
        d.watermark(t, requestFloor);
      },
    },
    { keyLog, chunkBytes: 4096 },
  );
  d.finish();
  return { findings, counts, broken, belowFloor };
}

async function whole(file: string, keys: string | undefined, opts: DetectOptions = {}): Promise<Finding[]> {
  const keyLog = keys ? (await readKeyLogFile(keys)).keylog : undefined;
  return (await analyzeFile(file, { keyLog, findings: (r) => detectAll(r, opts) })).findings;
}

describe('streaming detectors keep windowed state windowed', () => {
  // 16 keep-alive connections open for the whole capture, 320 requests each, handed out together
  // at its end: the leg index (blind-relay) and the retry candidates (keepalive-policy) must not
  // hold every request they carried (the request floor, and one candidate per method and target).
  it('on long keep-alive connections (bench-seed-h1-requests.pcap)', async () => {
    const d = detectStream({}, () => {}, () => {});
    const peak: Record<string, number> = {};
    const sampleHeld = () => {
      for (const [k, n] of Object.entries(d.detectorsHeld())) peak[k] = Math.max(peak[k] ?? 0, n);
    };
    let requests = 0;
    let connections = 0;
    await analyzeStream(
      sample('bench-seed-h1-requests.pcap'),
      {
        onRequest: (r) => {
          requests++;
          d.request(r);
        },
        onConnection: (c) => {
          connections++;
          d.connection(c);
          sampleHeld();
        },
        onWatermark: (t, floor) => {
          d.watermark(t, floor);
          sampleHeld();
        },
      },
      { chunkBytes: 64 * 1024 },
    );
    d.finish();
    expect([requests, connections]).toEqual([5120, 16]);
    expect(Object.keys(peak).sort()).toEqual(['blind-relay-hang', 'keepalive-policy']);
    // The leg index: the requests since the floor, which the connection that went quiet first
    // holds back (h2load's connections end their 320 requests at different times) — a tenth of
    // them here; without the floor it held all 5,120 at the end. Retry candidates: one per
    // connection (one method and target).
    expect(peak['blind-relay-hang'], 'leg index').toBeLessThanOrEqual(requests / 10);
    expect(peak['keepalive-policy'], 'retry candidates').toBeLessThanOrEqual(connections);
  });
});

describe('streaming detectors find what the whole-report detectors find', () => {
  const all = inputs();
  it('on a sample set with findings of every detector', () => {
    expect(all.length).toBeGreaterThan(60);
  });

  it.each(all.map((i) => [i.name, i] as const))('%s', async (_name, i) => {
    const s = await streamed(i.file, i.keys);
    expect(canonical(s.findings)).toEqual(canonical(await whole(i.file, i.keys)));
    expect(s.broken, 'connections handed out behind the watermark').toEqual([]);
    expect(s.belowFloor, 'requests handed out below the request floor').toEqual([]);
    for (const c of DEGRADED) expect(s.counts[c] ?? 0, c).toBe(0);
    // With the requests of open connections in the scratch file past 2 in memory: the same findings.
    const spilled = await streamed(i.file, i.keys, {}, { resident: 2 });
    expect(canonical(spilled.findings)).toEqual(canonical(s.findings));
    expect(spilled.counts.detectSpillFailed ?? 0).toBe(0);
    expect(spilled.belowFloor).toEqual([]);
  });

  it('spilling is exercised: requests of open connections go to the scratch file past the budget', async () => {
    for (const name of ['pipelining.pcap', 'blind-relay.pcap', 'h2-loss-hol.pcap']) {
      const s = await streamed(sample(name), undefined, {}, { resident: 2 });
      expect(s.counts.detectRequestsSpilled ?? 0, name).toBeGreaterThan(0);
    }
  });

  it('with thresholds and `only`, as on the command line', async () => {
    const opts: DetectOptions = { thresholds: { reuseWindowMs: 60_000, idleCloseMs: 50, hangMs: 200, holStallMs: 1 } };
    for (const name of ['idle-timeout.pcap', 'f-blind-relay-rtt.pcap', 'pipelining.pcap', 'f-stale-race-post-rtt.pcap']) {
      expect(canonical((await streamed(sample(name), undefined, opts)).findings), name).toEqual(canonical(await whole(sample(name), undefined, opts)));
      const only = { only: ['keepalive-policy', 'excess-parallel-connections'] };
      expect(canonical((await streamed(sample(name), undefined, only)).findings), name).toEqual(canonical(await whole(sample(name), undefined, only)));
    }
  });

  const corpus = hasCorpus() ? listCaptures(ZEEK) : [];
  describe.skipIf(!corpus.length)('the Zeek corpus', () => {
    it.each(corpus.map((f) => [basename(f), f]))('%s', async (_name, file) => {
      const s = await streamed(file, undefined);
      expect(canonical(s.findings)).toEqual(canonical(await whole(file, undefined)));
      expect(s.broken).toEqual([]);
      for (const c of DEGRADED) expect(s.counts[c] ?? 0, c).toBe(0);
    });
  });
});

/**
 * A report fed as the engine would: requests before their connection, connections in some order
 * of completion (`order`: by end time, or shuffled), and after each one the watermark — the
 * earliest first packet (or open time) of the connections still to come.
 */
function simulate(report: Report, opts: DetectOptions, order: 'end' | number, limits?: { pending?: number }) {
  const findings: Finding[] = [];
  const counts: Record<string, number> = {};
  const d = detectStream(opts, (f) => findings.push(f), (name, n = 1) => (counts[name] = (counts[name] ?? 0) + n), limits);
  const conns = [...report.connections];
  if (order === 'end') conns.sort((a, b) => (a.close.time === null ? Infinity : a.lastTime) - (b.close.time === null ? Infinity : b.lastTime) || a.id - b.id);
  else {
    const r = rng(order);
    for (let i = conns.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [conns[i], conns[j]] = [conns[j], conns[i]];
    }
  }
  const reqs = new Map<number, Request[]>();
  for (const r of report.requests) {
    const l = reqs.get(r.connectionId);
    if (l) l.push(r);
    else reqs.set(r.connectionId, [r]);
  }
  // The earliest start still to come, from the back (a suffix minimum).
  const rest = new Float64Array(conns.length + 1).fill(Infinity);
  for (let i = conns.length - 1; i >= 0; i--) rest[i] = Math.min(rest[i + 1], conns[i].firstTime, openTime(conns[i]));
  let pending = 0;
  let maxPending = 0;
  for (let i = 0; i < conns.length; i++) {
    for (const r of reqs.get(conns[i].id) ?? []) d.request(r);
    d.connection(conns[i]);
    d.watermark(rest[i + 1]);
    pending = d.heldRecords;
    maxPending = Math.max(maxPending, pending);
  }
  d.finish();
  return { findings, counts, maxPending };
}

const shift = (t: RequestTimes, d: number): RequestTimes =>
  Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v === null ? null : (v as number) + d])) as unknown as RequestTimes;
const at = (v: number | null, d: number) => (v === null ? null : v + d);

/**
 * Several sample reports laid over one another: each copy's connections get new ids, the i-th
 * copy is shifted by `dt`·i ms, and copies share client and server addresses (so origins mix and
 * windows reach across copies).
 */
async function overlay(files: string[], copies: number, dt: number): Promise<Report> {
  const connections: Connection[] = [];
  const requests: Request[] = [];
  let k = 0;
  for (let i = 0; i < copies; i++) {
    for (const f of files) {
      const base = await analyze(sample(f));
      const d = i * dt + k++ * 7;
      const ids = new Map<number, number>();
      for (const c of base.connections) {
        ids.set(c.id, connections.length);
        connections.push({
          ...c,
          id: connections.length,
          firstTime: c.firstTime + d,
          lastTime: c.lastTime + d,
          synTime: at(c.synTime, d),
          synAckTime: at(c.synAckTime, d),
          establishedTime: at(c.establishedTime, d),
          close: { ...c.close, time: at(c.close.time, d) },
          client: { ...c.client, port: (c.client.port + i * 97) % 65536 },
        });
      }
      for (const r of base.requests) requests.push({ ...r, id: requests.length, connectionId: ids.get(r.connectionId)!, times: shift(r.times, d) });
    }
  }
  requests.sort((a, b) => a.id - b.id);
  return { ...(await analyze(sample(files[0]))), connections, requests, findings: [] };
}

const HTTP1 = ['no-pool.pcap', 'idle-timeout.pcap', 'stale-race.pcap', 'f-stale-race-post-rtt.pcap', 'blind-relay.pcap', 'f-blind-relay-rtt.pcap', 'keepalive-timeout-max.pcapng', 'f-parallel8-rtt.pcap', 'pipelining.pcap', 'server-connection-close.pcap', 'http10-close.pcap', 'f-idle-unused-rtt.pcap'];
const H2 = ['h2-two-connections.pcap', 'h2load.pcap', 'h2-flow-control.pcap', 'h2-loss-hol.pcap'];

describe('streaming over reports built to reach across windows, in any order of completion', () => {
  it.each([
    ['HTTP/1 samples laid over one another every 3 s', HTTP1, 6, 3000],
    ['HTTP/1 samples every 300 ms (windows overlap more)', HTTP1, 6, 300],
    ['HTTP/2 samples every 50 ms', H2, 5, 50],
  ] as const)('%s', async (_name, files, copies, dt) => {
    const r = await overlay([...files], copies, dt);
    const want = canonical(detectAll(r));
    expect(want.length).toBeGreaterThan(5);
    for (const order of ['end', 1, 2, 3] as const) {
      const s = simulate(r, {}, order);
      expect(canonical(s.findings), `order ${order}`).toEqual(want);
      for (const c of DEGRADED) expect(s.counts[c] ?? 0, c).toBe(0);
    }
  });

  it('TLS samples (without and with keys) laid over one another', async () => {
    const files: [string, boolean][] = [
      ['tls-missed-reuse', false],
      ['tls-missed-reuse', true],
      ['tls13-resumed', false],
      ['tls12-resumed', true],
      ['coalescing', true],
      ['chromium-h1', false],
    ];
    const connections: Connection[] = [];
    const requests: Request[] = [];
    let report: Report | undefined;
    for (let i = 0; i < 4; i++) {
      for (const [name, keys] of files) {
        const keyLog = keys ? (await readKeyLogFile(sample(`tls/${name}.keys`))).keylog : undefined;
        const base = await analyzeFile(sample(`tls/${name}.pcap`), { keyLog });
        report ??= base;
        const d = i * 400;
        const ids = new Map<number, number>();
        for (const c of base.connections) {
          ids.set(c.id, connections.length);
          const tls = c.tls && { ...c.tls, clientHelloTime: at(c.tls.clientHelloTime, d), serverHelloTime: at(c.tls.serverHelloTime, d), handshakeEndTime: at(c.tls.handshakeEndTime, d), firstAppDataTime: { client: at(c.tls.firstAppDataTime.client, d), server: at(c.tls.firstAppDataTime.server, d) } };
          connections.push({ ...c, id: connections.length, tls, firstTime: c.firstTime + d, lastTime: c.lastTime + d, synTime: at(c.synTime, d), synAckTime: at(c.synAckTime, d), establishedTime: at(c.establishedTime, d), firstDataTime: at(c.firstDataTime, d), lastDataTime: at(c.lastDataTime, d), idle: c.idle.map((p) => ({ ...p, startTime: p.startTime + d, endTime: p.endTime + d })), close: { ...c.close, time: at(c.close.time, d) } });
        }
        for (const r of base.requests) requests.push({ ...r, id: requests.length, connectionId: ids.get(r.connectionId)!, times: shift(r.times, d) });
      }
    }
    const r: Report = { ...report!, connections, requests, findings: [] };
    const want = canonical(detectAll(r));
    expect(new Set(want.map((f) => f.kind))).toEqual(new Set(['missed-reuse', 'missed-resumption', 'tls-resumption', 'missed-coalescing']));
    for (const order of ['end', 7, 8] as const) expect(canonical(simulate(r, {}, order).findings), `order ${order}`).toEqual(want);
  });

  it('2,000 churned connections and 2,000 stale races with their retries', async () => {
    for (const [file, dt] of [['no-pool.pcap', 10], ['stale-race.pcap', 10]] as const) {
      const r = await overlay([file], 2000, dt);
      const want = canonical(detectAll(r));
      expect(want.length).toBeGreaterThan(0);
      const s = simulate(r, {}, 'end');
      expect(canonical(s.findings), file).toEqual(want);
    }
  });
});

describe('bounded memory', () => {
  it('slim copies keep only what some detector reads', async () => {
    const r = await analyze(sample('no-pool.pcap'));
    const reads = mergeReads(DETECTOR_DEFS.map((d) => d.reads));
    for (const q of r.requests) {
      const s = slimRequest(q, reads);
      expect(s.requestHeaders.map((h) => h.name.toLowerCase())).toEqual(['host']);
      // Framing is read from what the session recorded (http1.closeDelimited), not from
      // Content-Length / Transfer-Encoding: those are not kept.
      expect(s.responseHeaders.map((h) => h.name.toLowerCase()).sort()).toEqual(['connection']);
      expect(s.url).toBe('');
      expect(s.times).toBe(q.times);
      expect(s.http1).toBeUndefined();
    }
  });

  it('slim copies keep http1.closeDelimited (RFC 9112 §6.3, as the session framed it) and nothing else of http1', async () => {
    const r = await analyze(sample('close-delimited.pcap'));
    const reads = mergeReads(DETECTOR_DEFS.map((d) => d.reads));
    expect(reads.closeDelimited).toBe(true);
    const delimited = r.requests.filter((q) => q.http1?.closeDelimited);
    expect(delimited.length).toBeGreaterThan(0);
    for (const q of r.requests) expect(slimRequest(q, reads).http1).toEqual(q.http1?.closeDelimited ? { closeDelimited: true } : undefined);
    // Not kept when no enabled detector reads it.
    const none = mergeReads(DETECTOR_DEFS.filter((d) => !d.reads.requestHttp1).map((d) => d.reads));
    for (const q of delimited) expect(slimRequest(q, none).http1).toBeUndefined();
  });

  it('a connection open for the whole capture does not hold every later one: the oldest are released early, counted', async () => {
    // 3,000 churned connections behind one that stays open (handed out only at the end).
    const r = await overlay(['no-pool.pcap'], 300, 10);
    const c0 = r.connections[0];
    r.connections[0] = { ...c0, close: { ...c0.close, time: null, how: 'open', by: null }, lastTime: 1e9 };
    const s = simulate(r, {}, 'end', { pending: 500 });
    expect(s.maxPending).toBeLessThanOrEqual(500);
    expect(s.counts.detectWatermarkForced).toBeGreaterThan(2000);
    // The documented degradation: connection 0 comes after the connections opened after it were
    // judged, so the later ones that only it could have served are not counted (the whole report
    // counts all 2,999: connection 0 stayed open and idle).
    expect(s.counts.detectLateConnections).toBe(1);
    const n = (fs: Finding[]) => fs.find((f) => f.rule === 'idle-connection-unused')!.connectionIds.length;
    expect(n(s.findings)).toBeLessThan(n(detectAll(r)));
  });

  it('a detector without a streaming form keeps its inputs up to a limit, then is skipped and counted', async () => {
    const r = await overlay(['no-pool.pcap'], 3, 1000);
    const run = (limit: number) => {
      const found: Finding[] = [];
      const counts: Record<string, number> = {};
      const ctx = { count: (n: string, k = 1) => void (counts[n] = (counts[n] ?? 0) + k), bounded: true, limits: { fallback: limit } };
      const member: StreamMember = { name: 'x', reads: DETECTOR_DEFS.find((x) => x.name === 'missed-reuse')!.reads, detector: fallback((rep) => detectAll(rep, { only: ['missed-reuse'] }), () => true, (f) => found.push(f), ctx, []) };
      const d = new DetectStream([member], ctx, true);
      for (const q of r.requests) d.request(q);
      for (const c of r.connections) d.connection(c);
      d.finish();
      return { found, counts };
    };
    expect(run(1000).found.map((f) => f.rule)).toEqual(['client-no-pool']);
    expect(run(1000).counts).toEqual({});
    expect(run(50)).toEqual({ found: [], counts: { detectFallbackSkipped: 1 } });
  });
});

describe('capture end: each connection released as it is handed out', () => {
  /** The request-heavy seed cut in the middle: its 16 connections are all open when the capture ends. */
  const cut = (): string => {
    const { linkType, pkts } = readPcapSimple(readFileSync(sample('bench-seed-h1-requests.pcap')));
    const dir = mkdtempSync(join(tmpdir(), 'wirefall-cut-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'cut.pcap');
    writeFileSync(file, writePcap(pkts.slice(0, pkts.length >> 1), { le: true, nano: false, linkType }));
    return file;
  };

  it('the engine gives a watermark after each connection it hands out at the end, and it passes that connection', async () => {
    const file = cut();
    const events: { kind: 'c' | 'w'; id?: number; open?: number; t?: number }[] = [];
    await analyzeStream(file, { onConnection: (c) => events.push({ kind: 'c', id: c.id, open: openTime(c) }), onWatermark: (t) => events.push({ kind: 'w', t }) });
    // The end: the longest run of (connection, watermark) pairs closing the stream.
    let from = events.length;
    while (from >= 2 && events[from - 2]!.kind === 'c' && events[from - 1]!.kind === 'w') from -= 2;
    const tail = events.slice(from);
    expect(tail.length).toBeGreaterThanOrEqual(4);
    for (let i = 0; i < tail.length; i += 2) {
      // Every connection still to come opens at or after the watermark given after this one…
      for (const later of tail.slice(i + 2)) if (later.kind === 'c') expect(later.open!).toBeGreaterThanOrEqual(tail[i + 1]!.t!);
    }
    // …and the watermarks move on, past every connection handed out at the end but the last.
    const ws = tail.filter((e) => e.kind === 'w').map((e) => e.t!);
    expect(ws).toEqual([...ws].sort((a, b) => a - b));
    expect(ws.at(-2)!).toBeGreaterThan(ws[0]!);
  });

  it('hands the open connections out one event-loop turn apart, and a stop between two ends the run', async () => {
    const file = cut();
    // Every connection handed out, and how many turns of a setImmediate loop (started at the
    // first hand-out) had run before each.
    const whole: number[] = [];
    const all: { id: number; turns: number }[] = [];
    let turns = -1;
    await analyzeStream(file, {
      onConnection: (c) => {
        if (turns < 0) {
          turns = 0;
          setImmediate(function again() {
            turns++;
            if (turns < 1000) setImmediate(again);
          });
        }
        all.push({ id: c.id, turns });
        whole.push(c.id);
      },
    });
    // The seed cut in half: all 16 connections are open at its end, so all come out there, in id order.
    expect(whole).toHaveLength(16);
    expect(whole).toEqual([...whole].sort((a, b) => a - b));
    // Between two hand-outs another callback ran (in one synchronous loop, none could).
    for (let i = 1; i < all.length; i++) expect(all[i]!.turns, `before connection ${all[i]!.id}`).toBeGreaterThan(all[i - 1]!.turns);

    const stop = new AbortController();
    const seen: number[] = [];
    await expect(
      analyzeStream(
        file,
        {
          onConnection: (c) => {
            seen.push(c.id);
            if (seen.length === 3) stop.abort();
          },
        },
        { signal: stop.signal },
      ),
    ).rejects.toMatchObject({ code: 'WF_CANCELLED' });
    expect(seen).toEqual(whole.slice(0, 3));
  });

  it('onOrdered reads the records made for onConnection when the release follows the hand-out, and makes them again otherwise', async () => {
    const r = await analyzeFile(cut());
    const seen: { on: 'conn' | 'ordered'; id: number; reqs: readonly Request[] }[] = [];
    const member: StreamMember = {
      name: 'x',
      reads: {},
      detector: {
        onConnection: (c, reqs) => void seen.push({ on: 'conn', id: c.id, reqs }),
        onOrdered: (c, reqs) => void seen.push({ on: 'ordered', id: c.id, reqs }),
      },
    };
    const d = new DetectStream([member], { count: () => {}, bounded: true }, true);
    const conns = [...r.connections].sort((a, b) => openTime(a) - openTime(b) || a.id - b.id);
    for (const q of r.requests) d.request(q);
    // The first one released at once (a watermark past it), the second only after another hand-out.
    d.connection(conns[0]!);
    d.watermark(openTime(conns[1]!));
    d.connection(conns[1]!);
    d.connection(conns[2]!);
    d.finish();
    const of = (on: 'conn' | 'ordered', id: number) => seen.find((x) => x.on === on && x.id === id)!.reqs;
    expect(of('conn', conns[0]!.id).length).toBeGreaterThan(0);
    expect(of('ordered', conns[0]!.id)).toBe(of('conn', conns[0]!.id));
    expect(of('ordered', conns[1]!.id)).not.toBe(of('conn', conns[1]!.id));
    expect(of('ordered', conns[1]!.id)).toEqual(of('conn', conns[1]!.id));
  });
});

describe('RequestLog: the column-wise slim requests of an open connection', () => {
  const reads = mergeReads(DETECTOR_DEFS.map((d) => d.reads));
  // close-delimited.pcap and http10-close.pcap: responses with http1.closeDelimited (a flag of the log).
  for (const name of ['pipelining.pcap', 'h2-push.pcap', 'h2-loss-hol.pcap', 'blind-relay.pcap', 'expect-100-continue.pcap', 'close-delimited.pcap', 'http10-close.pcap']) {
    it(`${name}: hands back exactly what slimRequest keeps, per connection in index order`, async () => {
      const report = await analyzeFile(sample(name));
      const byConn = new Map<number, Request[]>();
      for (const r of report.requests) byConn.set(r.connectionId, [...(byConn.get(r.connectionId) ?? []), r]);
      expect(byConn.size).toBeGreaterThan(0);
      for (const [id, reqs] of byConn) {
        const want = [...reqs].sort((a, b) => a.index - b.index || a.id - b.id).map((r) => slimRequest(r, reads));
        // In memory, then with every row but the last in the scratch file (pages of LOG_PAGE_ROWS:
        // one per row here, so each page boundary is crossed).
        for (const spillEvery of [0, 1]) {
          const log = new RequestLog(id);
          const file = new SpillFile();
          const table = new RefTable();
          // Completion order (as the engine hands them out), not index order.
          for (const r of [...reqs].sort((a, b) => a.id - b.id)) {
            if (spillEvery && log.length) expect(log.spill(file, table)).toBe(true);
            log.push(r, reads, new Strings());
          }
          expect(log.length).toBe(reqs.length);
          expect(log.resident).toBe(spillEvery ? 1 : reqs.length);
          const back = log.requests(file, table);
          expect(back.length).toBe(want.length);
          expect([...back]).toEqual(want);
          file.close();
        }
      }
    });
  }

  it('a spilled log reads back as an array would: index, length, iteration, methods, header lists shared', async () => {
    const report = await analyzeFile(sample('pipelining.pcap'));
    const id = report.connections[0].id;
    const reqs = report.requests.filter((r) => r.connectionId === id);
    expect(reqs.length).toBeGreaterThan(2);
    const file = new SpillFile();
    const table = new RefTable();
    const log = new RequestLog(id);
    // Arrival order reversed: the lazy list must put them in index order through its permutation.
    for (const r of [...reqs].reverse()) log.push(r, reads, new Strings());
    expect(log.spill(file, table)).toBe(true);
    const want = [...reqs].sort((a, b) => a.index - b.index).map((r) => slimRequest(r, reads));
    const l = log.requests(file, table);
    expect(Array.isArray(l)).toBe(true);
    expect(l.length).toBe(want.length);
    expect(l[0]).toEqual(want[0]);
    expect(l[want.length]).toBeUndefined();
    expect(l.at(-1)).toEqual(want.at(-1));
    expect(l.map((r) => r.index)).toEqual(want.map((r) => r.index));
    expect(l.slice(1)).toEqual(want.slice(1));
    expect(l.some((r) => r.index === want[1].index)).toBe(true);
    expect(l.find((r) => r.index === want[1].index)).toEqual(want[1]);
    expect(l.filter((r) => r.index > 1).length).toBe(want.filter((r) => r.index > 1).length);
    expect(1 in l && !(want.length in l)).toBe(true);
    // Header lists come back as one object per distinct list (the token cache is keyed by list).
    expect(l[1].requestHeaders).toBe(log.requests(file, table)[1].requestHeaders);
    expect(() => ((l as Request[])[0] = want[0])).toThrow();
    file.close();
  });

  it('a scratch file is unlinked at once, and one that cannot be made says so without throwing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'wirefall-spill-'));
    try {
      const f = new SpillFile(dir);
      expect(f.append(new Uint8Array([1, 2, 3]), new Uint8Array([4]))).toBe(0);
      expect(f.append(new Uint8Array([5]))).toBe(4);
      expect(readdirSync(dir)).toEqual([]);
      expect([...f.read(1, 4)]).toEqual([2, 3, 4, 5]);
      f.close();
      const none = new SpillFile(join(dir, 'missing', 'dir'));
      expect(none.append(new Uint8Array([1]))).toBeNull();
      expect(none.failed).toBe(true);
      none.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a scratch file that fails part-way keeps the rest in memory, and every request reads back', async () => {
    const report = await analyzeFile(sample('pipelining.pcap'));
    const r0 = report.requests[0];
    const n = LOG_PAGE_ROWS + 100;
    const reqs = Array.from({ length: n }, (_, i) => ({ ...r0, id: i, index: i + 1 }));
    /** Takes one page, then fails (as a full disk would). */
    class FullAfterOne extends SpillFile {
      private pages = 0;
      override append(...parts: Uint8Array[]): number | null {
        if (this.pages++ >= 1) {
          this.failed = true;
          return null;
        }
        return super.append(...parts);
      }
    }
    const file = new FullAfterOne();
    const table = new RefTable();
    const log = new RequestLog(r0.connectionId);
    for (const r of reqs) log.push(r, reads, new Strings());
    expect(log.spill(file, table)).toBe(false);
    expect(log.length).toBe(n);
    expect(log.resident).toBe(n - LOG_PAGE_ROWS);
    const back = log.requests(file, table);
    expect(back.length).toBe(n);
    expect([...back]).toEqual(reqs.map((r) => slimRequest(r, reads)));
    file.close();
  });

  it('carries http1.closeDelimited through the log, beside the other flags', async () => {
    const report = await analyzeFile(sample('close-delimited.pcap'));
    const withFlag = report.requests.filter((r) => r.http1?.closeDelimited);
    expect(withFlag.length).toBeGreaterThan(0);
    for (const pipelined of [false, true]) {
      const log = new RequestLog();
      for (const r of report.requests) log.push({ ...r, pipelined, connectionReused: pipelined }, reads, new Strings());
      const back = log.requests();
      expect(back.map((r) => r.http1?.closeDelimited ?? false)).toEqual(report.requests.map((r) => r.http1?.closeDelimited ?? false));
      expect(back.every((r) => r.pipelined === pipelined && r.connectionReused === pipelined)).toBe(true);
    }
  });
});
