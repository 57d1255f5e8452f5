/**
 * What became of each server push promise (core/src/view/compact.ts pushInfo), from core's own
 * records: a pushed stream the client reset (h2.rst CANCEL) is 'cancelled' with who and the code,
 * one left without a response until the close is 'unanswered', the rest 'delivered'.
 * samples/h2-push-cancel.pcap: node:http2 promises three assets, the client cancels one.
 */
import { describe, expect, it } from 'vitest';
import { CORE } from '../../../core/src/view/core-link.js';
import { pushInfo, toViewModel } from '../../../core/src/view/compact.js';
import { phases } from '../../../core/src/model/phases.js';
import { sample } from '../../helpers/env.js';

describe('server push outcomes in the view model', () => {
  it('h2-push-cancel.pcap: one delivered, one cancelled by the client (CANCEL), one never answered', async () => {
    const report = await CORE.analyzeFile(sample('h2-push-cancel.pcap'), {});
    const m = toViewModel(report, 'd1', phases);
    const pushed = report.requests.filter((r) => r.pushed);
    expect(pushed.length).toBe(3);
    for (const r of pushed) {
      const row = m.requests.find((x) => x.id === r.id)!;
      expect(row.pushed?.promisedBy).toBe(r.h2?.promisedBy);
      if (r.h2?.rst) {
        expect(r.state).toBe('reset');
        expect(row.pushed).toMatchObject({ outcome: 'cancelled', cancel: { by: r.h2.rst.by, code: r.h2.rst.code, time: r.h2.rst.time, packet: r.h2.rst.packet }, endTime: r.h2.rst.time });
        expect(row.pushed!.text).toBe(`cancelled by the ${r.h2.rst.by} (${r.h2.rst.code})`);
        // Its Time runs from the promise to the reset.
        expect(row.durationMs).toBeCloseTo(r.h2.rst.time - Math.min(r.times.requestStartTime, row.timingStartTime), 6);
      } else if (r.state === 'no-response') {
        expect(row.pushed).toMatchObject({ outcome: 'unanswered', endTime: row.noResponse!.endTime });
        expect(row.pushed!.text).toMatch(/^never answered — connection closed by the client after /);
        expect(row.noResponse!.text).toBe(row.pushed!.text);
      } else {
        expect(r.state).toBe('complete');
        expect(row.pushed).toEqual({ promisedBy: r.h2?.promisedBy, outcome: 'delivered' });
      }
    }
    // The capture's ground truth (samples/README.md): stream 4 cancelled by the client, stream 6 never answered.
    const byStream = new Map(m.requests.map((r) => [r.streamId, r]));
    expect(byStream.get(2)?.pushed?.outcome).toBe('delivered');
    expect(byStream.get(4)?.pushed).toMatchObject({ outcome: 'cancelled', cancel: { by: 'client', code: 'CANCEL' }, promisedBy: 1 });
    expect(byStream.get(6)?.pushed?.outcome).toBe('unanswered');
    expect(byStream.get(1)?.pushed).toBeUndefined();
    // core's connection facts agree: one cancelled push.
    expect(report.connections[0]!.h2?.pushCancelled.map((p) => p.streamId)).toEqual([4]);
  });

  it('h2-push.pcap: every push delivered', async () => {
    const report = await CORE.analyzeFile(sample('h2-push.pcap'), {});
    const m = toViewModel(report, 'd1', phases);
    const outcomes = m.requests.filter((r) => r.pushed).map((r) => r.pushed!.outcome);
    expect(outcomes).toEqual(['delivered', 'delivered', 'delivered']);
  });

  it('an HTTP/3 push reset (extra.rst) is cancelled with the error name', () => {
    const r = {
      pushed: true,
      state: 'reset',
      status: null,
      times: { requestStartTime: 10, requestEndTime: 10, responseStartTime: null, responseEndTime: null },
      extra: { rst: { by: 'client', code: 0x10c, error: 'H3_REQUEST_CANCELLED', time: 12.5 } },
    } as unknown as Parameters<typeof pushInfo>[0];
    expect(pushInfo(r)).toEqual({
      promisedBy: null,
      outcome: 'cancelled',
      cancel: { by: 'client', code: 'H3_REQUEST_CANCELLED', time: 12.5, packet: null },
      startTime: 10,
      endTime: 12.5,
      text: 'cancelled by the client (H3_REQUEST_CANCELLED)',
    });
  });
});

describe('HAR: a cancelled push', () => {
  it('h2-push-cancel.pcap: the cancelled promise carries _pushCancelled with who reset it and the code; the delivered one does not', async () => {
    const { toHar } = await import('../../../core/src/model/har.js');
    const { analyzeFile } = await import('../../../core/src/engine.js');
    const { sample } = await import('../../helpers/env.js');
    const report = await analyzeFile(sample('h2-push-cancel.pcap'));
    const har = toHar(report) as { log: { entries: Record<string, unknown>[] } };
    const pushed = har.log.entries.filter((e) => e._pushed === true);
    const cancelled = report.requests.filter((r) => r.pushed && r.state === 'reset' && r.h2?.rst);
    expect(cancelled.length).toBeGreaterThan(0);
    expect(pushed.filter((e) => e._pushCancelled !== undefined).map((e) => e._pushCancelled)).toEqual(cancelled.map((r) => ({ by: r.h2!.rst!.by, code: r.h2!.rst!.code, time: r.h2!.rst!.time })));
    expect(pushed.length).toBeGreaterThan(cancelled.length);
  });
});
