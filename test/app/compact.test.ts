/** Report → ViewModel (core/src/view/compact.ts) on a real report, plus names and cURL. */
import { describe, expect, it } from 'vitest';
import { requestName, toCurl, toViewModel } from '../../core/src/view/compact.js';
import { harTotalTime, phases } from '../../core/src/model/phases.js';
import { CORE } from '../../core/src/view/core-link.js';
import type { Request } from '../../core/src/model/types.js';

describe('view model', () => {
  it('names requests like DevTools', () => {
    expect(requestName('http://a.test/x/y/app.js?v=2', '/x/y/app.js?v=2')).toEqual({ name: 'app.js?v=2', host: 'a.test' });
    expect(requestName('http://a.test:8080/', '/')).toEqual({ name: 'a.test:8080', host: 'a.test:8080' });
    expect(requestName('http://a.test/dir/', '/dir/')).toEqual({ name: 'dir', host: 'a.test' });
  });

  it('carries every connection and request of a real report, with phases from phases()', async () => {
    const report = await CORE.analyzeFile(new URL('../../samples/browser-pageload.pcap.gz', import.meta.url).pathname, {});
    const m = toViewModel(report, 'd1', phases);
    expect(m.connections.map((c) => c.id)).toEqual(report.connections.map((c) => c.id));
    expect(m.requests.map((r) => r.id)).toEqual(report.requests.map((r) => r.id));
    for (const r of report.requests) {
      const row = m.requests.find((x) => x.id === r.id)!;
      expect(row.phases).toEqual(phases(r.times).map((p) => [p.name, p.startTime, p.endTime]));
      expect(m.connections.find((c) => c.id === r.connectionId)!.requestIds).toContain(r.id);
    }
    // The compact model is much smaller than the report (no headers, no packets).
    expect(JSON.stringify(m).length).toBeLessThan(JSON.stringify(report).length);
  });

  const sampleModel = async (name: string) => {
    const report = await CORE.analyzeFile(new URL(`../../samples/${name}`, import.meta.url).pathname, {});
    return { report, m: toViewModel(report, 'd1', phases) };
  };

  it("Time is DevTools' Time: the whole span of the phases, as the Timing tab's Total and HAR time", async () => {
    const { report, m } = await sampleModel('f-pool-rtt.pcap');
    const first = m.requests.find((r) => r.connectionId === 0 && r.index === 1)!;
    // The first request on a new connection: SYN at 0, request at 40.6 ms, last response byte at 81.0 ms.
    expect(first.timingStartTime).toBe(0);
    expect(first.startTime).toBeCloseTo(40.564, 3);
    expect(first.durationMs).toBeCloseTo(81.007, 3);
    for (const r of report.requests) {
      const row = m.requests.find((x) => x.id === r.id)!;
      expect(row.durationMs).toBeCloseTo(harTotalTime(r.timings), 6);
      expect(row.timingStartTime).toBe(row.phases[0]![1]);
      expect(row.timingStartTime + row.durationMs).toBeCloseTo(row.phases.at(-1)![2], 6);
    }
  });

  it('writes IPv6 remote addresses in brackets, as the CLI does', async () => {
    const { m } = await sampleModel('ipv6-keepalive.pcap');
    expect(m.requests.map((r) => r.remote)).toEqual(m.requests.map(() => '[::1]:18130'));
  });

  it('shows the request and the response version in the Protocol column where they differ', async () => {
    const { report, m } = await sampleModel('http10-keepalive.pcap');
    for (const r of report.requests) {
      const row = m.requests.find((x) => x.id === r.id)!;
      expect([row.httpVersion, row.responseHttpVersion, row.protocol]).toEqual(['HTTP/1.0', 'HTTP/1.1', 'HTTP/1.0 → HTTP/1.1']);
    }
    const same = (await sampleModel('keepalive-pool.pcap')).m.requests[0]!;
    expect([same.protocol, same.responseHttpVersion]).toEqual(['HTTP/1.1', undefined]);
  });

  it('copies as cURL with POSIX quoting, leaving hop-by-hop headers to curl', () => {
    const r = {
      url: "http://a.test/it's",
      method: 'POST',
      httpVersion: 'HTTP/1.1',
      requestHeaders: [
        { name: 'Host', value: 'a.test' },
        { name: 'Connection', value: 'keep-alive' },
        { name: 'X-Quote', value: "it's" },
      ],
    } as Request;
    expect(toCurl(r)).toBe(`curl 'http://a.test/it'\\''s' -X 'POST' -H 'X-Quote: it'\\''s'`);
  });
});
