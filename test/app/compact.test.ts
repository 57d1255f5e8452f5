/** Report → ViewModel (core/src/view/compact.ts) on a real report, plus names and cURL. */
import { describe, expect, it } from 'vitest';
import { requestName, toCurl, toViewModel } from '../../core/src/view/compact.js';
import { phases } from '../../core/src/model/phases.js';
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
