/**
 * The Diff view's view model (app/renderer/model/diffView.ts): table rows with their change and
 * verdict, findings by status, lanes of each side relative to its first connection; and the lanes
 * core serves per origin (core/src/view/diff-view.ts) name connections as diffReports names origins.
 */
import { describe, expect, it } from 'vitest';
import type { Diff, DiffOrigin, DiffOriginSide } from '../../core/src/diff/diff.js';
import { diffFindingItems, diffOriginRows, diffTotalRows, lanePct, MAX_LANE_BARS, MAX_PHASED_REQUESTS, metricRow, predictionText, sideLanes } from '../../app/renderer/model/diffView.js';
import { formatMs } from '../../app/renderer/model/format.js';
import { PHASE_STYLES } from '../../app/renderer/model/phaseStyles.js';
import { conn, model, req } from './fixtures.js';

function side(p: Partial<DiffOriginSide>): DiffOriginSide {
  return {
    servers: ['10.0.0.2:443'],
    connections: 50,
    requests: 50,
    requestsPerConnection: 1,
    handshakes: 50,
    handshakeMs: 4000,
    tls: { handshakes: 50, resumed: 0, resumptionOffered: 0 },
    protocol: 'http/1.1',
    durationMs: 6444,
    phases: { connecting: { count: 50, p50: 40, p95: 42 }, waiting: { count: 50, p50: 41, p95: 45 } },
    findings: 2,
    ...p,
  };
}

const origin: DiffOrigin = {
  origin: 'a.test:443',
  before: side({}),
  after: side({ connections: 1, requestsPerConnection: 50, handshakes: 1, handshakeMs: 80, tls: { handshakes: 1, resumed: 0, resumptionOffered: 0 }, durationMs: 2240, phases: { connecting: { count: 1, p50: 40, p95: 40 }, waiting: { count: 50, p50: 41, p95: 44 } }, findings: 0 }),
};

const diff: Diff = {
  before: { file: 'get.pcap', durationMs: 6444, connections: 50, requests: 50, handshakes: 50, handshakeMs: 4000, findings: 2 },
  after: { file: 'session.pcap', durationMs: 2240, connections: 1, requests: 50, handshakes: 1, handshakeMs: 80, findings: 0 },
  origins: [origin],
  findings: {
    resolved: [{ kind: 'missed-reuse', origin: 'a.test:443', before: { count: 1, costMs: 3900, severity: 'warning', rules: ['client-no-pool'], summary: '49 of 50 connections avoidable' }, after: null }],
    new: [],
    unchanged: [{ kind: 'slow-server', origin: 'a.test:443', before: { count: 3, costMs: 0, severity: 'info', rules: [], summary: 'slow' }, after: { count: 2, costMs: 0, severity: 'info', rules: [], summary: 'slow too' } }],
  },
  prediction: { policy: 'reuse', basis: 'x', beforeMeasuredMs: 6444, estimatedMs: 2334, afterMeasuredMs: 2240, errorPct: 4.2, beforeConnections: 50, estimatedConnections: 1, afterConnections: 1 },
  regressions: [],
};

describe('diff view model', () => {
  it('compares an origin row by row: counts, times with percent, verdicts by direction', () => {
    const rows = diffOriginRows(origin);
    const by = Object.fromEntries(rows.map((r) => [r.key, r]));
    expect(by.connections).toMatchObject({ before: '50', after: '1', change: '−49', verdict: 'better' });
    expect(by.requests).toMatchObject({ before: '50', after: '50', change: '=', verdict: '' });
    expect(by.requestsPerConnection).toMatchObject({ before: '1', after: '50', change: '+49', verdict: 'better' });
    expect(by.handshakeMs).toMatchObject({ before: formatMs(4000), after: formatMs(80), change: `−${formatMs(3920)} (−98.0%)`, verdict: 'better' });
    expect(by.durationMs!.change).toBe(`−${formatMs(4204)} (−65.2%)`);
    expect(by.tlsResumed).toMatchObject({ before: '0 of 50', after: '0 of 1' });
    expect(by.protocol).toMatchObject({ before: 'http/1.1', after: 'http/1.1', change: '' });
    expect(by['phase:connecting']).toMatchObject({ label: `${PHASE_STYLES.connecting.label} p50 / p95`, before: `${formatMs(40)} / ${formatMs(42)} ×50`, after: `${formatMs(40)} / ${formatMs(40)} ×1`, change: '=', verdict: 'same' });
    expect(rows.map((r) => r.key)).toEqual(['protocol', 'connections', 'requests', 'requestsPerConnection', 'handshakes', 'handshakeMs', 'tlsResumed', 'durationMs', 'phase:connecting', 'phase:waiting']);
  });

  it('leaves the change empty for an origin seen on one side only', () => {
    const rows = diffOriginRows({ origin: 'b.test:443', before: null, after: side({}) });
    expect(rows.find((r) => r.key === 'connections')).toMatchObject({ before: '—', after: '50', change: '', verdict: '' });
  });

  it('calls a growth worse and an equal value the same', () => {
    expect(metricRow('x', 'X', 10, 12, 'ms', 'down').verdict).toBe('worse');
    expect(metricRow('x', 'X', 10, 10, 'count', 'down')).toMatchObject({ change: '=', verdict: 'same' });
    expect(metricRow('x', 'X', 1.5, 2.25, 'count', 'up')).toMatchObject({ before: '1.50', after: '2.25', change: '+0.75', verdict: 'better' });
  });

  it('has capture-wide rows and the prediction sentence', () => {
    const t = Object.fromEntries(diffTotalRows(diff).map((r) => [r.key, r]));
    expect(t.connections).toMatchObject({ before: '50', after: '1' });
    expect(t.findings).toMatchObject({ before: '2', after: '0', verdict: 'better' });
    expect(predictionText(diff)).toBe(`BEFORE’s what-if with connection reuse estimated ${formatMs(2334)} and 50 → 1 connections; AFTER measured ${formatMs(2240)} and 1 (estimate +4.2%)`);
    expect(predictionText({ ...diff, prediction: undefined } as Diff)).toBeNull();
  });

  it('lists findings by status with their counts and costs', () => {
    const f = diffFindingItems(diff);
    expect(f.resolved).toHaveLength(1);
    expect(f.resolved[0]).toMatchObject({ kind: 'missed-reuse', rules: ['client-no-pool'], count: '×1', cost: `cost ${formatMs(3900)}`, summary: '49 of 50 connections avoidable' });
    expect(f.new).toEqual([]);
    expect(f.unchanged[0]).toMatchObject({ count: '3 → 2', cost: '', summary: 'slow too' });
  });

  it('lays out lanes relative to the side’s first connection, with request bars', () => {
    const m = model(
      [conn({ id: 4, synTime: 100, firstTime: 100, lastTime: 160, close: { by: 'client', how: 'fin', time: 150, reason: 'client-close' }, requestIds: [0], requestCount: 1 }), conn({ id: 5, synTime: 200, firstTime: 200, lastTime: 260, close: { by: 'client', how: 'fin', time: null, reason: 'capture-end' }, requestIds: [1], requestCount: 1 })],
      [
        req({ id: 0, connectionId: 4, timingStartTime: 100, durationMs: 30, phases: [['connecting', 100, 110], ['ssl', 110, 120], ['waiting', 120, 128], ['receiving', 128, 130]] }),
        req({ id: 1, connectionId: 5, timingStartTime: 210, durationMs: 70, phases: [['sending', 210, 211], ['waiting', 211, 280]] }),
      ],
    );
    const s = sideLanes(m, [4, 5, 99], 2);
    // Drawn phase by phase, as core computed the phases.
    expect(s.lanes.map((l) => [l.id, l.start, l.end, l.segments])).toEqual([
      [4, 0, 50, [['connecting', 0, 10], ['ssl', 10, 20], ['waiting', 20, 28], ['receiving', 28, 30]]],
      [5, 100, 180, [['sending', 110, 111], ['waiting', 111, 180]]],
    ]);
    expect(s.span).toBe(180);
    expect(s.omitted).toBe(3);
    expect(sideLanes(undefined, [1, 2]).omitted).toBe(2);
    // Without phases: one bar per request.
    const plain = sideLanes({ ...m, requests: m.requests.map((r) => ({ ...r, phases: [] })) }, [4, 5]);
    expect(plain.lanes.map((l) => l.segments)).toEqual([[['request', 0, 30]], [['request', 110, 180]]]);
    expect([lanePct(90, 180), lanePct(-5, 180), lanePct(400, 180), lanePct(3, 0)]).toEqual([50, 0, 100, 0]);
  });
});

describe('diff lanes of a busy connection', () => {
  it(`draw plain bars past ${MAX_PHASED_REQUESTS} requests and at most ${MAX_LANE_BARS} bars per lane, the last to the end of the rest`, () => {
    const n = MAX_PHASED_REQUESTS + 1;
    const rs = Array.from({ length: n }, (_, i) => req({ id: i, connectionId: 0, timingStartTime: i, durationMs: 2 }));
    const m = model([conn({ id: 0, synTime: 0, firstTime: 0, lastTime: n + 5, close: { by: 'client', how: 'fin', time: n + 5, reason: 'client-close' }, requestIds: rs.map((r) => r.id), requestCount: n })], rs);
    const [lane] = sideLanes(m, [0]).lanes;
    expect(lane!.segments).toHaveLength(MAX_LANE_BARS);
    expect(lane!.segments.every((g) => g[0] === 'request')).toBe(true);
    expect(lane!.segments[MAX_LANE_BARS - 1]).toEqual(['request', MAX_LANE_BARS - 1, n + 1]);
  });
});
