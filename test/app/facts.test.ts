/**
 * Connection facts for the Connection tab (core/src/view/facts.ts): the lines that fit the
 * connection's protocol, on real captures; and the one count of lost-or-late TCP segments
 * (core/src/model/late-segments.ts) that the tab, the CLI and the hol-stall finding share.
 */
import { describe, expect, it } from 'vitest';
import { CORE } from '../../core/src/view/core-link.js';
import { connectionFacts } from '../../core/src/view/facts.js';
import { lateSegments, lateSegmentsText } from '../../core/src/model/late-segments.js';
import { formatTable } from '../../core/src/cli/format-table.js';

const analyze = (name: string) => CORE.analyzeFile(new URL(`../../samples/${name}`, import.meta.url).pathname, {});
const byId = (facts: { id: string; value: string }[]) => Object.fromEntries(facts.map((f) => [f.id, f.value]));

describe('connection facts', () => {
  it('an h2c connection gets SETTINGS, concurrency and GOAWAY, not a keep-alive line (h2-loss-hol.pcap)', async () => {
    const r = await analyze('h2-loss-hol.pcap');
    const c = r.connections[0]!;
    expect(c.requestCount).toBe(8);
    const f = connectionFacts(c);
    expect(f.map((x) => x.id)).toEqual(['h2-settings-client', 'h2-settings-server', 'h2-streams', 'h2-goaway']);
    expect(f.map((x) => x.value).join('\n')).not.toMatch(/keep-alive|not negotiated|no HTTP/i);
    const v = byId(f);
    expect(v['h2-settings-client']).toMatch(/^MAX_CONCURRENT_STREAMS=100, INITIAL_WINDOW_SIZE=65535; acknowledged after /);
    expect(v['h2-settings-server']).toMatch(/^MAX_CONCURRENT_STREAMS=100; acknowledged after /);
    expect(v['h2-streams']).toBe('up to 8 client stream(s) open at once; the server allowed 100 (MAX_CONCURRENT_STREAMS)');
    expect(v['h2-goaway']).toMatch(/^client sent GOAWAY \(NO_ERROR\), last stream 0, at 543 ms$/);
  });

  it('an HTTP/1.1 connection gets its keep-alive contract', async () => {
    const r = await analyze('keepalive-timeout-max.pcapng');
    expect(byId(connectionFacts(r.connections[0]!))['keep-alive']).toMatch(/^persistent by default \(HTTP\/1\.1\).*Keep-Alive: timeout=5/);
  });

  it('one count of retransmitted or out-of-order segments: the finding, the CLI and the tab agree', async () => {
    const r = await analyze('h2-loss-hol.pcap');
    const c = r.connections[0]!;
    const late = lateSegments(c.stats.server);
    expect(late).toBe(38); // 1 counted as a retransmission by the 3 ms heuristic, 37 as out-of-order
    const text = lateSegmentsText(late);
    expect(text).toBe('38 retransmitted or out-of-order segments');
    const [hol] = r.findings.filter((x) => x.kind === 'hol-stall');
    expect(hol!.summary).toContain(`after the server's ${text} (29 of them held other streams)`);
    const table = formatTable(r);
    expect(table).toContain(`↓ ${text}`);
    expect(table).not.toMatch(/\d+ retransmissions/);
  });
});
