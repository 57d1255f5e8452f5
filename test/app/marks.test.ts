/**
 * What the packets say in the waterfall (core/src/view/marks.ts, core/src/tcp/marks.ts): the bounded
 * encoding of arrival and loss marks, and on real samples that every count the marks carry comes
 * from core's own counters (retransmissions + out-of-order, tcp-hol episodes, pipelining).
 */
import { describe, expect, it } from 'vitest';
import { connectionLateMarks, MAX_ARRIVAL_MARKS, mergeRuns, requestStalls, type Run } from '../../core/src/view/marks.js';
import { ARRIVAL_MERGE_MS, DirectionMarkRecorder, MarkBudget, MAX_ARRIVAL_RUNS, MAX_LATE_MARKS } from '../../core/src/tcp/marks.js';
import { toViewModel } from '../../core/src/view/compact.js';
import { phases } from '../../core/src/model/phases.js';
import { lateSegments } from '../../core/src/model/late-segments.js';
import { CORE } from '../../core/src/view/core-link.js';
import { analyzeFile } from '../../core/src/engine.js';
import type { Connection } from '../../core/src/model/types.js';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';

const addFormats = addFormatsModule as unknown as (a: Ajv) => Ajv;

const sample = (name: string) => new URL(`../../samples/${name}`, import.meta.url).pathname;
const sum = (runs: readonly Run[], i: 2 | 3) => runs.reduce((n, r) => n + (r[i] as number), 0);

describe('mergeRuns: at most k runs, nothing lost', () => {
  const cases: { name: string; runs: Run[]; k: number; expected?: Run[] }[] = [
    { name: 'fits: unchanged', runs: [[0, 1, 1, 10], [5, 6, 2, 20]], k: 2, expected: [[0, 1, 1, 10], [5, 6, 2, 20]] },
    { name: 'closest neighbours merge first', runs: [[0, 0, 1, 1], [1, 1, 1, 1], [50, 50, 1, 1], [100, 100, 1, 1]], k: 3, expected: [[0, 1, 2, 2], [50, 50, 1, 1], [100, 100, 1, 1]] },
    { name: 'one per ms over a second into 48', runs: Array.from({ length: 1000 }, (_, i): Run => [i, i + 0.5, 1, 1448]), k: 48 },
    { name: 'all at one instant', runs: Array.from({ length: 100 }, (): Run => [7, 7, 1, 1]), k: 4, expected: [[7, 7, 97, 97], [7, 7, 1, 1], [7, 7, 1, 1], [7, 7, 1, 1]] },
    { name: 'the widest pauses stay', runs: [[0, 1, 1, 1], [1.1, 2, 1, 1], [30, 31, 1, 1], [31.2, 32, 1, 1], [90, 91, 1, 1]], k: 3, expected: [[0, 2, 2, 2], [30, 32, 2, 2], [90, 91, 1, 1]] },
    { name: 'k = 1', runs: [[0, 1, 1, 1], [9, 10, 3, 3]], k: 1, expected: [[0, 10, 4, 4]] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const out = mergeRuns(c.runs, c.k);
      expect(out.length).toBeLessThanOrEqual(c.k);
      if (c.expected) expect(out).toEqual(c.expected);
      expect(sum(out, 2)).toBe(sum(c.runs, 2));
      expect(sum(out, 3)).toBe(sum(c.runs, 3));
      for (let i = 1; i < out.length; i++) expect(out[i]![0]).toBeGreaterThanOrEqual(out[i - 1]![1]);
      expect(out[0]![0]).toBe(c.runs[0]![0]);
    });
  }
  it('keeps the first run\'s extra fields (its first packet)', () => {
    expect(mergeRuns([[0, 0, 1, 1, 'server', 11], [0.1, 0.1, 1, 1, 'server', 12]] as Run[], 1)).toEqual([[0, 0.1, 2, 2, 'server', 11]]);
  });
});

describe('DirectionMarkRecorder: bounded per direction', () => {
  it('merges packets closer than mergeMs into one run', () => {
    const m = new DirectionMarkRecorder();
    m.arrival(1, 1, 100);
    m.arrival(1 + ARRIVAL_MERGE_MS / 2, 2, 100);
    m.arrival(5, 3, 50);
    expect(m.toJSON().arrivals).toEqual([
      { startTime: 1, endTime: 1 + ARRIVAL_MERGE_MS / 2, packets: 2, bytes: 200, firstPacket: 1 },
      { startTime: 5, endTime: 5, packets: 1, bytes: 50, firstPacket: 3 },
    ]);
  });
  it('coarsens at MAX_ARRIVAL_RUNS: fewer, longer runs, every packet still counted', () => {
    const m = new DirectionMarkRecorder();
    const n = MAX_ARRIVAL_RUNS * 5;
    for (let i = 0; i < n; i++) m.arrival(i * 10, i + 1, 1);
    const j = m.toJSON();
    expect(j.arrivals.length).toBeLessThanOrEqual(MAX_ARRIVAL_RUNS);
    expect(j.coarsened).toBeGreaterThan(0);
    expect(j.mergeMs).toBe(ARRIVAL_MERGE_MS * 2 ** j.coarsened);
    expect(j.arrivals.reduce((s, r) => s + r.packets, 0)).toBe(n);
  });
  it('shares one capture-wide budget: when it is spent, a direction coarsens its own runs and late segments are only counted', () => {
    let spent = 0;
    const budget = new MarkBudget(10, () => spent++);
    const a = new DirectionMarkRecorder(budget);
    const b = new DirectionMarkRecorder(budget);
    for (let i = 0; i < 8; i++) a.arrival(i * 10, i + 1, 1);
    for (let i = 0; i < 8; i++) b.arrival(i * 10, i + 1, 1);
    b.lateSegment(100, 99, 1);
    const ja = a.toJSON();
    const jb = b.toJSON();
    expect(ja.arrivals.length + jb.arrivals.length + jb.late.length).toBeLessThanOrEqual(10);
    expect(jb.coarsened).toBeGreaterThan(0);
    expect(jb.arrivals.reduce((s, r) => s + r.packets, 0)).toBe(8);
    expect(ja.arrivals.reduce((s, r) => s + r.packets, 0)).toBe(8);
    expect(jb.late.length + jb.lateDropped).toBe(1);
    expect(spent).toBe(1);
  });
  it('lists the first MAX_LATE_MARKS late segments and counts the rest', () => {
    const m = new DirectionMarkRecorder();
    for (let i = 0; i < MAX_LATE_MARKS + 7; i++) m.lateSegment(i, i + 1, 1448);
    const j = m.toJSON();
    expect(j.late.length).toBe(MAX_LATE_MARKS);
    expect(j.lateDropped).toBe(7);
  });
});

describe('marks on real samples', () => {
  const model = async (name: string) => {
    const report = await CORE.analyzeFile(sample(name), {});
    return { report, m: toViewModel(report, 'd1', phases) };
  };
  const lateTotal = (c: Connection) => lateSegments(c.stats.client) + lateSegments(c.stats.server);

  it('the CLI report has no packet marks (only the view asks for them)', async () => {
    const report = await analyzeFile(sample('tcp-loss-http1.pcap'));
    expect(report.connections.every((c) => c.packetMarks === undefined)).toBe(true);
  });

  it('tcp-loss-http1: one late mark per retransmitted or out-of-order segment, at their packets', async () => {
    const { report, m } = await model('tcp-loss-http1.pcap');
    for (const c of report.connections) {
      const row = m.connections.find((x) => x.id === c.id)!;
      const expected = lateTotal(c);
      expect(expected).toBeGreaterThan(0);
      expect(row.late!.total).toBe(expected);
      expect(row.late!.marks.reduce((s, l) => s + l[2], 0)).toBe(expected);
      // Every mark lies within the connection's life.
      for (const [s, e] of row.late!.marks) {
        expect(s).toBeGreaterThanOrEqual(c.firstTime);
        expect(e).toBeLessThanOrEqual(c.lastTime);
      }
    }
  });

  it('tcp-loss-http1: each response\'s arrival runs lie inside it and count its payload packets', async () => {
    const { report, m } = await model('tcp-loss-http1.pcap');
    for (const r of report.requests) {
      const row = m.requests.find((x) => x.id === r.id)!;
      expect(row.arrivals).toBeDefined();
      expect(row.arrivals!.shared).toBe(false);
      const runs = row.arrivals!.runs;
      expect(runs.length).toBeGreaterThan(1);
      expect(runs.length).toBeLessThanOrEqual(MAX_ARRIVAL_MARKS);
      expect(runs[0]![0]).toBe(r.times.responseStartTime);
      expect(runs[runs.length - 1]![1]).toBeLessThanOrEqual(r.times.responseEndTime!);
      // The response spans packets [first, last]: the runs count no more packets than that.
      const [p0, p1] = r.packets.response!;
      expect(runs.reduce((s, x) => s + x[2], 0)).toBeLessThanOrEqual(p1 - p0 + 1);
      // HTTP/1.x: the last byte's delivery later than its capture is drawn as a TCP delivery stall.
      const dEnd = r.http1?.deliveredTimes?.responseEndTime;
      if (dEnd !== undefined && dEnd > r.times.responseEndTime!) {
        expect(row.stalls!.some((s) => s.kind === 'tcp-delivery' && s.startTime === r.times.responseEndTime && s.endTime === dEnd)).toBe(true);
      }
    }
  });

  it('h2-loss-hol: one tcp-hol segment per episode that held the stream behind other streams\' loss', async () => {
    const { report, m } = await model('h2-loss-hol.pcap');
    const c = report.connections[0]!;
    const episodes = c.h2!.tcpHol.server.episodes;
    let total = 0;
    for (const r of report.requests) {
      const row = m.requests.find((x) => x.id === r.id)!;
      const expectedHol = episodes.filter((e) => e.streams.some((s) => s.streamId === r.streamId && s.holMs > 0)).length;
      const expectedLoss = episodes.filter((e) => e.streams.some((s) => s.streamId === r.streamId && s.waitMs > s.holMs)).length;
      const hol = row.stalls?.filter((s) => s.kind === 'tcp-hol') ?? [];
      const loss = row.stalls?.filter((s) => s.kind === 'loss') ?? [];
      expect(hol.length).toBe(expectedHol);
      expect(loss.length).toBe(expectedLoss);
      total += hol.length;
      for (const s of hol) {
        expect(s.endTime).toBeGreaterThan(s.startTime);
        expect(s.text).toMatch(/^TCP head-of-line blocking: .* behind lost bytes of stream/);
      }
      // HTTP/2: the arrivals are the stream's own DATA frames (h2-data-marks.ts), every one of them.
      expect(row.arrivals!.shared).toBe(false);
      expect(row.arrivals!.unit).toBe('frames');
      const runs = r.h2!.dataRuns!;
      expect(row.arrivals!.runs.reduce((n, a) => n + a[2], 0)).toBe(runs.reduce((n, d) => n + d.frames, 0));
      // Their octets are the response body's (DATA payload, no padding in this sample).
      expect(runs.reduce((n, d) => n + d.bytes, 0)).toBe(r.sizes.responseBody);
      expect(runs[0]!.startTime).toBeGreaterThanOrEqual(r.times.responseStartTime!);
      expect(runs[runs.length - 1]!.endTime).toBeLessThanOrEqual(r.times.responseEndTime!);
    }
    expect(total).toBeGreaterThan(8);
    expect(m.connections[0]!.late!.total).toBe(lateTotal(c));
  });

  // Every HTTP/2 way in: prior knowledge, h2c upgrade, push, TLS with keys (ALPN h2), TLS with loss.
  const h2Samples: [string, string | undefined][] = [
    ['h2c-prior-knowledge.pcap', undefined],
    ['h2c-upgrade.pcap', undefined],
    ['h2-push.pcap', undefined],
    ['h2-two-connections.pcap', undefined],
    ['tls/nginx-h2-tls13.pcap', 'tls/nginx-h2-tls13.keys'],
    ['tls/h2-tls-loss-hol.pcap', 'tls/h2-tls-loss-hol.keys'],
  ];
  for (const [name, keys] of h2Samples) {
    it(`${name}: each stream's DATA runs carry exactly its response body octets, inside its response`, async () => {
      const report = await CORE.analyzeFile(sample(name), keys ? { keylog: { files: [sample(keys)] } } : {});
      const m = toViewModel(report, 'd', phases);
      const h2 = report.requests.filter((r) => r.h2 && r.sizes.responseBody > 0);
      expect(h2.length).toBeGreaterThan(0);
      for (const r of h2) {
        const runs = r.h2!.dataRuns;
        expect(runs, `stream ${r.streamId}`).toBeDefined();
        // DATA payload = body + padding; lost octets are missing from the body.
        expect(runs!.reduce((n, d) => n + d.bytes, 0)).toBeGreaterThanOrEqual(r.sizes.responseBody);
        expect(runs![0]!.startTime).toBeGreaterThanOrEqual(r.times.responseStartTime! - 1e-9);
        // Inside TLS a frame is read when its record is complete: at the latest when TCP delivered the last octets.
        expect(runs![runs!.length - 1]!.endTime).toBeLessThanOrEqual(Math.max(r.times.responseEndTime!, r.h2!.deliveredTimes?.responseEndTime ?? 0) + 1e-9);
        expect(m.requests.find((x) => x.id === r.id)!.arrivals!.unit).toBe('frames');
      }
    });
  }

  it('h2-flow-control: flow-control stalls inside the bars of the streams they blocked', async () => {
    const { report, m } = await model('h2-flow-control.pcap');
    const stalls = report.connections.flatMap((c) => c.h2?.flowControlStalls ?? []);
    expect(stalls.length).toBeGreaterThan(0);
    const drawn = m.requests.flatMap((r) => r.stalls ?? []).filter((s) => s.kind === 'flow-control');
    expect(drawn.length).toBeGreaterThan(0);
    for (const s of drawn) expect(s.text).toMatch(/^HTTP\/2 flow control: /);
  });

  it('pipelining: a pipelined request waits behind the response before it', async () => {
    const { report, m } = await model('pipelining.pcap');
    const piped = report.requests.filter((r) => r.pipelined);
    expect(piped.length).toBeGreaterThan(0);
    for (const r of piped) {
      const prev = report.requests.find((q) => q.connectionId === r.connectionId && q.index === r.index - 1)!;
      const expected = requestStalls(r, report.connections.find((c) => c.id === r.connectionId), prev, undefined).filter((s) => s.kind === 'pipelining');
      const row = m.requests.find((x) => x.id === r.id)!;
      expect(row.stalls?.filter((s) => s.kind === 'pipelining')).toEqual(expected);
      if (prev.times.responseEndTime! > (r.times.requestEndTime ?? r.times.requestStartTime)) expect(expected.length).toBe(1);
    }
  });

  it("the view's report (with packet marks) still validates against core/schema/report.schema.json", async () => {
    const schema = JSON.parse(readFileSync(new URL('../../core/schema/report.schema.json', import.meta.url), 'utf8'));
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    const validate = ajv.compile(schema);
    for (const name of ['h2-loss-hol.pcap', 'tcp-loss-http1.pcap']) {
      const report = JSON.parse(JSON.stringify(await CORE.analyzeFile(sample(name), {})));
      expect(report.connections[0].packetMarks.server.arrivals.length).toBeGreaterThan(0);
      const ok = validate(report);
      expect(ok ? [] : validate.errors!.slice(0, 5)).toEqual([]);
    }
  });

  it('connectionLateMarks: a connection without packet marks has none', () => {
    expect(connectionLateMarks({ packetMarks: undefined } as unknown as Connection)).toBeUndefined();
  });
});
