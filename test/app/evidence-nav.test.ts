/**
 * Issue 15 item 2: where a finding's evidence line points (core/src/view/evidence-nav.ts) — the
 * request it names or whose packets hold it, the moment, a window zoomed on both — on real samples.
 */
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { CORE } from '../../core/src/view/core-link.js';
import { toViewModel } from '../../core/src/view/compact.js';
import { phases } from '../../core/src/model/phases.js';
import { evidenceTarget, MIN_EVIDENCE_WINDOW_MS, namedRequest } from '../../core/src/view/evidence-nav.js';
import { req } from './fixtures.js';

const sample = (name: string) => fileURLToPath(new URL(`../../samples/${name}`, import.meta.url));
const extentOf = (d: number) => ({ t0: 0, t1: d });

describe('evidence targets on real captures', () => {
  for (const name of ['blind-relay.pcap', 'h2-loss-hol.pcap', 'pipelining.pcap', 'stale-race.pcap']) {
    it(`every evidence line of ${name} selects a request of the finding's connections, marks its time and zooms onto it`, async () => {
      const report = await CORE.analyzeFile(sample(name), {});
      const m = toViewModel(report, 'd', phases);
      const ext = extentOf(report.capture.durationMs);
      expect(report.findings.length).toBeGreaterThan(0);
      for (const f of report.findings) {
        const conns = new Set([...f.connectionIds, ...f.requestIds.map((id) => m.requests[id]!.connectionId)]);
        for (const ev of f.evidence) {
          const t = evidenceTarget(m, f, ev, ext);
          if (t.requestId !== null) expect(conns.has(m.requests[t.requestId]!.connectionId)).toBe(true);
          else expect(t.connectionId).toBe(f.connectionIds[0] ?? null);
          if (ev.time !== null) {
            expect(t.time).toBe(ev.time);
            expect(t.window.t0).toBeLessThanOrEqual(ev.time);
            expect(t.window.t1).toBeGreaterThanOrEqual(ev.time);
          }
          expect(t.window.t0).toBeGreaterThanOrEqual(ext.t0);
          expect(t.window.t1).toBeLessThanOrEqual(ext.t1 + 1e-9);
          expect(t.window.t1 - t.window.t0).toBeGreaterThanOrEqual(Math.min(MIN_EVIDENCE_WINDOW_MS, ext.t1) - 1e-9);
          // A line with a packet inside one of the finding's requests lands on such a request.
          const holders = f.requestIds.filter((id) => ev.packet !== null && m.requests[id]!.packets[0] <= ev.packet && ev.packet <= m.requests[id]!.packets[1]);
          if (holders.length > 0 && !/\bstream \d+|\b(GET|POST|HEAD|PUT) \//.test(ev.what)) expect(holders).toContain(t.requestId);
        }
      }
    });
  }

  it('lands on the request a line names: GET /f2.txt on blind-relay, stream 17 on h2-loss-hol', async () => {
    const br = await CORE.analyzeFile(sample('blind-relay.pcap'), {});
    const bm = toViewModel(br, 'd', phases);
    const hang = br.findings.find((f) => f.kind === 'blind-relay-hang')!;
    const ev = hang.evidence.find((e) => e.what.startsWith('GET /f2.txt'))!;
    expect(bm.requests[evidenceTarget(bm, hang, ev, extentOf(br.capture.durationMs)).requestId!]!.url).toMatch(/\/f2\.txt$/);

    const hol = await CORE.analyzeFile(sample('h2-loss-hol.pcap'), {});
    const hm = toViewModel(hol, 'd', phases);
    for (const f of hol.findings.filter((x) => x.kind === 'hol-stall'))
      for (const e of f.evidence) {
        const s = /stream (\d+)/.exec(e.what);
        if (!s) continue;
        expect(hm.requests[evidenceTarget(hm, f, e, extentOf(hol.capture.durationMs)).requestId!]!.streamId).toBe(Number(s[1]));
      }
  });
});

describe('matching a sentence to a request', () => {
  const a = req({ id: 1, url: 'http://x.test/a?q=1', streamId: 1 });
  const b = req({ id: 2, url: 'http://x.test/b', streamId: 3, method: 'POST' });
  it('by stream, by request line, else nothing', () => {
    expect(namedRequest([[a, b]], 'stream 3 held 20 ms')).toBe(b);
    expect(namedRequest([[a, b]], 'GET /a?q=1 sent, no answer')).toBe(a);
    expect(namedRequest([[a, b]], 'POST /b, retried')).toBe(b);
    expect(namedRequest([[a, b]], 'GET /b (not this method)')).toBeUndefined();
    expect(namedRequest([[a, b]], 'the server closed')).toBeUndefined();
  });
});
