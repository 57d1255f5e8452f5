/** Issue 15: unanswered requests drawn as waiting (not idle), server push marked — in the view model and HAR. */
import { describe, expect, it } from 'vitest';
import { idleWithoutWaits, toViewModel } from '../../core/src/view/compact.js';
import { noResponseWait, phases } from '../../core/src/model/phases.js';
import { toHar } from '../../core/src/model/har.js';
import { CORE } from '../../core/src/view/core-link.js';

const sample = (name: string) => CORE.analyzeFile(new URL(`../../samples/${name}`, import.meta.url).pathname, {});

describe('a request that never got an answer', () => {
  it('waits from its send to the close: bar, Time/Total, state text, and not idle on the lane', async () => {
    const report = await sample('blind-relay.pcap');
    const m = toViewModel(report, 'd1', phases);
    const f2 = m.requests.find((r) => r.url.endsWith('/f2.txt'))!;
    const conn = m.connections.find((c) => c.id === f2.connectionId)!;
    expect(f2.status).toBeNull();
    expect(conn.close.time).not.toBeNull();
    expect(f2.noResponse).toBeDefined();
    expect(f2.noResponse!.until).toBe('close');
    expect(f2.noResponse!.endTime).toBe(conn.close.time);
    expect(f2.noResponse!.text).toMatch(/^no response — connection closed by the server after 3\.90 s$/);
    // The last phase is the wait, ending at the close; Time (the Timing tab's Total) covers it.
    expect(f2.phases.at(-1)).toEqual(['waiting', f2.startTime, conn.close.time]);
    expect(f2.durationMs).toBeGreaterThan(3800);
    expect(f2.timingStartTime + f2.durationMs).toBeCloseTo(conn.close.time!, 6);
    // The lane does not call that wait idle (the core idle period was exactly that wait).
    expect(report.connections.find((c) => c.id === conn.id)!.idle.length).toBe(1);
    expect(conn.idle).toEqual([]);
    // Answered requests are untouched.
    for (const r of m.requests.filter((x) => x.status !== null)) expect(r.noResponse).toBeUndefined();
  });

  it('counts the wait in HAR time and wait, with a _noResponse note', async () => {
    const report = await sample('blind-relay.pcap');
    const entries = toHar(report).log.entries as Record<string, any>[];
    const e = entries.find((x) => (x.request.url as string).endsWith('/f2.txt'))!;
    const m = toViewModel(report, 'd1', phases);
    const row = m.requests.find((r) => r.url.endsWith('/f2.txt'))!;
    expect(e.time).toBeGreaterThan(3800);
    expect(e.time).toBeCloseTo(row.durationMs, 6);
    expect(e.timings.wait).toBeCloseTo(row.noResponse!.endTime - row.noResponse!.startTime, 6);
    expect(e._noResponse).toMatchObject({ until: 'connection-close', closedBy: 'server' });
    for (const x of entries.filter((y) => y.response.status !== 0)) expect(x._noResponse).toBeUndefined();
  });

  it('without a close, waits until the capture end', async () => {
    const report = await sample('blind-relay.pcap');
    const f2 = report.requests.find((r) => r.url.endsWith('/f2.txt'))!;
    const c = report.connections.find((x) => x.id === f2.connectionId)!;
    const open = { ...report, connections: report.connections.map((x) => (x === c ? { ...x, close: { ...x.close, time: null, how: 'open' as const, by: null } } : x)) };
    const row = toViewModel(open, 'd1', phases).requests.find((r) => r.id === f2.id)!;
    expect(row.noResponse).toMatchObject({ until: 'capture-end', endTime: report.capture.durationMs });
    expect(row.noResponse!.text).toMatch(/^no response — capture ended after /);
  });

  it('applies to unanswered HTTP/1.x exchanges and unanswered streams, not to reset HTTP/2 streams', () => {
    const times = { queuedTime: null, dnsStartTime: null, dnsEndTime: null, connectStartTime: null, connectEndTime: null, sslStartTime: null, sslEndTime: null, requestStartTime: 10, requestEndTime: 12, responseStartTime: null, responseEndTime: null };
    const conn = { close: { time: 100, by: 'client' as const } };
    expect(noResponseWait({ times, status: null, state: 'aborted' }, conn, 200)).toEqual({ startTime: 12, endTime: 100, until: 'close', closedBy: 'client' });
    expect(noResponseWait({ times, status: null, state: 'no-response', streamId: 3 }, conn, 200)).not.toBeNull();
    expect(noResponseWait({ times, status: null, state: 'reset', streamId: 3 }, conn, 200)).toBeNull();
    expect(noResponseWait({ times: { ...times, responseStartTime: 20 }, status: null, state: 'incomplete-response' }, conn, 200)).toBeNull();
  });

  it('idle periods lose exactly the waiting time', () => {
    const idle = [{ startTime: 0, endTime: 100, durationMs: 100 }];
    expect(idleWithoutWaits(idle, [])).toEqual(idle);
    expect(idleWithoutWaits(idle, [{ startTime: 20, endTime: 50 }])).toEqual([
      { startTime: 0, endTime: 20, durationMs: 20 },
      { startTime: 50, endTime: 100, durationMs: 50 },
    ]);
    expect(idleWithoutWaits(idle, [{ startTime: -5, endTime: 200 }])).toEqual([]);
  });
});

describe('server push', () => {
  it('marks pushed streams in the view model and HAR, with the promising stream', async () => {
    const report = await sample('h2-push.pcap');
    const m = toViewModel(report, 'd1', phases);
    const pushed = m.requests.filter((r) => r.pushed);
    expect(pushed.map((r) => r.name).sort()).toEqual(['j1.js', 's1.css', 's2.css']);
    for (const r of pushed) expect(r.pushed).toEqual({ promisedBy: 13, outcome: 'delivered' });
    expect(m.requests.find((r) => r.name === 'index.html')!.pushed).toBeUndefined();
    const entries = toHar(report).log.entries as Record<string, any>[];
    expect(entries.filter((e) => e._pushed === true).map((e) => (e.request.url as string).split('/').pop()).sort()).toEqual(['j1.js', 's1.css', 's2.css']);
    expect(entries.find((e) => (e.request.url as string).endsWith('index.html'))!._pushed).toBeUndefined();
  });
});
