/**
 * Issue 15 item 4 / issue 17 item 5: the HPACK / QPACK inspector's history (core/src/header-tap.ts,
 * view/header-tables.ts) against what the same decoder reports in the analysis: the per-block table
 * snapshots and the table at close (Connection.h2), and the QPACK table at close (extra.h3).
 */
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { CORE } from '../../core/src/view/core-link.js';
import { headerTables } from '../../core/src/view/header-tables.js';
import { headerTapFor, MAX_TAP_ENTRIES, recordHeaderTables } from '../../core/src/header-tap.js';
import { DocStore } from '../../core/src/view/docs.js';
import { phases } from '../../core/src/model/phases.js';
import { directionBlocks, repText, saving, startPosition } from '../../app/renderer/model/tables.js';
import type { HeaderTableHistory } from '../../core/src/view/api.js';

const sample = (name: string) => fileURLToPath(new URL(`../../samples/${name}`, import.meta.url));

describe('the HPACK table history of an HTTP/2 connection', () => {
  it('steps through the same tables the decoder reported after each block, and ends at the table at close', async () => {
    const path = sample('h2load.pcap');
    const report = await CORE.analyzeFile(path, {});
    const conns = report.connections.filter((c) => c.h2);
    expect(conns.length).toBeGreaterThan(0);
    for (const c of conns) {
      const h = await headerTables(path, c.id, {});
      expect(h.codec).toBe('hpack');
      expect(h.droppedBlocks).toBe(0);
      for (const side of ['client', 'server'] as const) {
        const blocks = directionBlocks(h, side).map((i) => h.blocks[i]!);
        const snaps = c.h2![side].hpackTable;
        expect(blocks.length).toBe(c.h2![side].headerBlocks);
        expect(blocks[0]!.before.entryCount).toBe(0);
        // The table before block k+1 is the one the analysis recorded after block k.
        for (let k = 0; k + 1 < Math.min(blocks.length, snaps.length); k++) {
          expect([blocks[k + 1]!.before.entryCount, blocks[k + 1]!.before.size, blocks[k + 1]!.before.maxSize], `${side} block ${k + 1}`).toEqual([snaps[k]!.entries, snaps[k]!.size, snaps[k]!.maxSize]);
          expect(blocks[k]!.streamId).toBe(snaps[k]!.streamId);
        }
        // Entries a block inserted are the newest ones before the next block, in order.
        for (let k = 0; k + 1 < blocks.length; k++) {
          const ins = blocks[k]!.fields.filter((f) => f.inserted).reverse();
          expect(blocks[k + 1]!.before.entries.slice(0, ins.length).map((e) => [e.name, e.value])).toEqual(ins.map((f) => [f.name, f.value]).slice(0, MAX_TAP_ENTRIES));
        }
        // The table at close: the counters since the start, the newest entries.
        const fin = c.h2![side].finalHpackTable;
        const last = blocks.at(-1)!;
        expect(last.before.inserted + last.inserted).toBe(fin.inserted);
        expect(last.before.evicted + last.evicted).toBe(fin.evicted);
        // Every field's HTTP/1 cost adds up to the block's, as the compression counters count it.
        for (const b of blocks) expect(b.fields.reduce((n, f) => n + f.http1Bytes, 0)).toBe(b.http1Bytes);
        const enc = blocks.reduce((n, b) => n + b.encodedBytes, 0);
        expect(enc).toBe(c.h2![side].compression.encodedBytes);
        expect(blocks.reduce((n, b) => n + b.http1Bytes, 0)).toBe(c.h2![side].compression.http1Bytes);
      }
    }
  });

  it('records only the connection asked for, and nothing outside the recording', async () => {
    const path = sample('h2-two-connections.pcap');
    const report = await CORE.analyzeFile(path, {});
    const [a, b] = report.connections.filter((c) => c.h2);
    const ha = await headerTables(path, a!.id, {});
    const streamsA = new Set(report.requests.filter((r) => r.connectionId === a!.id).map((r) => r.streamId));
    expect(ha.blocks.length).toBe(a!.h2!.client.headerBlocks + a!.h2!.server.headerBlocks);
    for (const blk of ha.blocks) expect(streamsA.has(blk.streamId)).toBe(true);
    expect(b).toBeDefined();
    expect(headerTapFor(a!.id)).toBeNull();
    const { history } = await recordHeaderTables(-1, () => CORE.analyzeFile(path, {}));
    expect(history.blocks).toEqual([]);
  });
});

describe('the QPACK table history of an HTTP/3 connection', () => {
  it('shows the table before each field section and ends at the table the session reported at close', async () => {
    const path = sample('quic/ngtcp2-h3.pcap');
    const keylog = { files: [sample('quic/ngtcp2-h3.keys')] };
    const report = await CORE.analyzeFile(path, { keylog });
    const c = report.connections.find((x) => x.protocol === 'h3')!;
    const h = await headerTables(path, c.id, keylog);
    expect(h.codec).toBe('qpack');
    const h3 = (c.extra as { h3: Record<'client' | 'server', { qpack: { sections: number; inserts: number; table: { size: number; insertCount: number; entries: { index: number; name: string; value: string }[] } } }> }).h3;
    for (const side of ['client', 'server'] as const) {
      const blocks = directionBlocks(h, side).map((i) => h.blocks[i]!);
      expect(blocks.length).toBe(h3[side].qpack.sections);
      const last = blocks.at(-1)!;
      // No instruction after the last section in these captures: the table before it is the table at close.
      expect(last.before.size).toBe(h3[side].qpack.table.size);
      expect(last.before.inserted).toBe(h3[side].qpack.table.insertCount);
      expect(last.before.entries.map((e) => [e.index, e.name, e.value])).toEqual(h3[side].qpack.table.entries.map((e) => [e.index, e.name, e.value]));
      expect(blocks.reduce((n, b) => n + b.inserted, 0)).toBe(h3[side].qpack.inserts);
      // The sections' fields are the requests' (or responses') header lists.
      const reqs = report.requests.filter((r) => r.connectionId === c.id);
      for (const b of blocks) {
        const r = reqs.find((x) => x.streamId === b.streamId)!;
        expect(b.fields.map((f) => ({ name: f.name, value: f.value }))).toEqual(side === 'client' ? r.requestHeaders : r.responseHeaders);
      }
    }
  });
});

describe('the DocStore serves and caches the history', () => {
  it('re-decodes once per connection and refuses connections without HPACK or QPACK', async () => {
    const path = sample('h2load.pcap');
    let calls = 0;
    const store = new DocStore(
      (p, onProgress, signal) => CORE.analyzeFile(p, { onProgress, signal }),
      phases,
      (p, id) => {
        calls++;
        return headerTables(p, id, {});
      },
    );
    const d = store.open(path);
    await store.settled(d.id);
    const conn = store.report(d.id).connections.find((c) => c.h2)!;
    const [h1, h2] = await Promise.all([store.headerTables(d.id, conn.id), store.headerTables(d.id, conn.id)]);
    expect(h1).toBe(h2);
    expect(calls).toBe(1);
    const plain = await CORE.analyzeFile(sample('keepalive-pool.pcap'), {});
    const d2 = store.add(plain);
    await expect(store.headerTables(d2.id, plain.connections[0]!.id)).rejects.toThrow(/no HPACK or QPACK table/);
  });
});

describe('stepping through the history (app/renderer/model/tables.ts)', () => {
  const rec = (side: 'client' | 'server', streamId: number) => ({ side, streamId }) as HeaderTableHistory['blocks'][number];
  const h = { connectionId: 1, codec: 'hpack', droppedBlocks: 0, blocks: [rec('client', 1), rec('server', 1), rec('client', 3), rec('server', 3)] } as HeaderTableHistory;
  it('lists one direction in order and starts at a stream', () => {
    expect(directionBlocks(h, 'server')).toEqual([1, 3]);
    expect(startPosition(h, 'client', 3)).toBe(1);
    expect(startPosition(h, 'server', 99)).toBe(0);
    expect(startPosition(h, 'server', undefined)).toBe(0);
  });
  it('says how a field was represented and what a block saved', () => {
    expect(repText({ name: ':method', value: 'GET', rep: 'indexed', table: 'static', index: 2, wireBytes: 1, http1Bytes: 13 })).toBe('indexed static #2');
    expect(repText({ name: 'x', value: 'y', rep: 'incremental', table: 'dynamic', index: 62, wireBytes: 3, http1Bytes: 6 })).toBe('literal, added to table (name dynamic #62)');
    expect(repText({ name: 'x', value: 'y', rep: 'literal', wireBytes: null, http1Bytes: 6 })).toBe('literal');
    expect(saving({ encodedBytes: 25, http1Bytes: 100 })).toEqual({ bytes: 75, percent: 75 });
    expect(saving({ encodedBytes: 5, http1Bytes: 0 })).toEqual({ bytes: -5, percent: 0 });
  });
});
