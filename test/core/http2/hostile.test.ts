/**
 * Hostile HTTP/2 input stays linear and bounded (findings of the hostile-input audit):
 *  - per-frame work must not scale with the open streams (up to MAX_OPEN_STREAMS): GOAWAY,
 *    SETTINGS_INITIAL_WINDOW_SIZE, DATA on an exhausted connection window, connection-stall ends
 *    and frame-sync losses each used to visit every open stream;
 *  - HPACK expansion (a 1-octet reference to a 4 KiB dynamic entry) is capped per header block by
 *    DEFAULT_MAX_HEADER_LIST_SIZE / DEFAULT_MAX_HEADER_FIELDS, counted, and leaves the dynamic table
 *    in sync;
 *  - an HPACK entry-count bomb (a peer allowing a 4 GiB table, then tens of thousands of 2-octet
 *    entries per block) is tracked up to MAX_TRACKED_TABLE_SIZE and summarised in bounded records
 *    (the final table once listed every entry: 240 MB in one connection record, then a RangeError).
 * Besides a generous time guard (a hang guard, as in test/core/detect/scale.test.ts), the stream
 * tests count passes over the session's open-stream map: the old code made one per frame.
 */
import { describe, expect, it } from 'vitest';
import { HTTP2_ANOMALY, Http2Session, MAX_OPEN_STREAMS, MAX_STALLS } from '../../../core/src/http2/session.js';
import {
  DEFAULT_MAX_HEADER_FIELDS,
  DEFAULT_MAX_HEADER_LIST_SIZE,
  HpackDecoder,
  MAX_REPORTED_TABLE_ENTRIES,
  MAX_SIZE_UPDATES_KEPT,
  UNKNOWN_NAME,
} from '../../../core/src/http2/hpack/decoder.js';
import { MAX_TRACKED_TABLE_SIZE } from '../../../core/src/http2/hpack/dynamic-table.js';
import { HeaderListTooLargeError } from '../../../core/src/http2/hpack/errors.js';
import { encodeInteger } from '../../../core/src/http2/hpack/integer.js';
import type { RequestDraft } from '../../../core/src/model/exchange.js';
import { PREFACE, concatAll, continuation, data, goaway, headers, ping, settings, windowUpdate } from './h2-builder.js';
import { Driver, INFO } from './session-harness.js';
import { liveHeap, MB } from '../../helpers/heap.js';

const join = concatAll;

/** A Map that counts full passes (iterations) over it. */
class ScanCountingMap<K, V> extends Map<K, V> {
  scans = 0;
  override values(): MapIterator<V> {
    this.scans++;
    return super.values();
  }
  override keys(): MapIterator<K> {
    this.scans++;
    return super.keys();
  }
  override entries(): MapIterator<[K, V]> {
    this.scans++;
    return super.entries();
  }
  override forEach(cb: (v: V, k: K, m: Map<K, V>) => void): void {
    this.scans++;
    super.forEach(cb);
  }
}

/** A driver whose session's open-stream map counts the passes made over it. */
function probedDriver(): { d: Driver; streams: ScanCountingMap<number, unknown> } {
  const streams = new ScanCountingMap<number, unknown>();
  const d = new Driver({
    session: (out) => {
      const s = new Http2Session(INFO, out, { prefaceSeen: true });
      (s as unknown as { streams: Map<number, unknown> }).streams = streams;
      return s;
    },
  });
  return { d, streams };
}

const REQUEST_BLOCK = new Uint8Array([0x82, 0x86, 0x84]); // :method GET, :scheme http, :path /
const RESPONSE_BLOCK = new Uint8Array([0x88]); // :status 200
const STREAMS = MAX_OPEN_STREAMS; // 10,000 open streams
const FRAMES = 20_000;
const clientIds = Array.from({ length: STREAMS }, (_, i) => 1 + 2 * i);

/** Preface, empty SETTINGS both ways, then `STREAMS` client streams left open (3-octet HEADERS). */
function openStreams(d: Driver, serverSettings: [number, number][] = []): void {
  d.send('client', 1, join([PREFACE, settings([])]));
  d.send('server', 2, settings(serverSettings));
  d.send('client', 3, join(clientIds.map((id) => headers(id, REQUEST_BLOCK))));
}

const flow = (r: RequestDraft): { request: { stalledMs: number; stalls: number }; response: { stalledMs: number; stalls: number } } =>
  r.h2?.flowControl as never;

/**
 * Opens STREAMS client streams (the server sending `serverSettings`), lets `feed` send its frames
 * and return the close time, closes, and checks what every test here asks: at most the one pass
 * over the open streams (at connection close), and the hang guard. Returns the session's output.
 */
function probed(feed: (d: Driver) => number, serverSettings: [number, number][] = []): ReturnType<Driver['close']> {
  const { d, streams } = probedDriver();
  const t0 = performance.now();
  openStreams(d, serverSettings);
  const out = d.close(feed(d));
  const ms = performance.now() - t0;
  expect(streams.scans).toBeLessThanOrEqual(1); // the one pass at connection close
  expect(ms).toBeLessThan(10_000);
  return out;
}

describe('per-frame work does not scale with the open streams (10,000 open, 20,000 frames)', () => {
  it('GOAWAY: refusal is decided when each stream is reported, not by a pass per GOAWAY', () => {
    const out = probed((d) => {
      d.send('server', 4, join(Array.from({ length: FRAMES }, () => goaway(1, 0))));
      return 5;
    });
    expect(out.requests).toHaveLength(STREAMS);
    const aborted = out.requests.filter((r) => r.state === 'aborted' && r.anomalies.some((a) => a.code === 'H2_REFUSED_BY_GOAWAY'));
    expect(aborted).toHaveLength(STREAMS - 1); // every stream above last-stream-id 1
    expect(out.byStream(1).state).toBe('no-response');
  });

  it('SETTINGS_INITIAL_WINDOW_SIZE changes do not visit every stream', () => {
    const out = probed((d) => {
      d.send('client', 4, join(Array.from({ length: FRAMES }, (_, i) => settings([[4, 65_535 + (i % 2)]]))));
      return 5;
    });
    expect(out.requests).toHaveLength(STREAMS);
    expect(out.facts.flowControlStalls).toEqual([]);
  });

  it('10,000 stalled streams: SETTINGS that keep them stalled cost nothing, the one that reopens them ends each once', () => {
    // The server's INITIAL_WINDOW_SIZE 0 leaves every request stream window at 0; one octet of DATA
    // each takes it to -1 (RFC 9113 §6.9.2 allows negative windows): 10,000 open stalls.
    const out = probed((d) => {
      d.send('client', 4, join(clientIds.map((id) => data(id, 1))));
      // Windows -1 ↔ 0: never positive, nothing ends.
      d.send('server', 5, join(Array.from({ length: FRAMES }, (_, i) => settings([[4, i % 2]]))));
      d.send('server', 6, settings([[4, 65_535]])); // reopens all of them
      return 7;
    }, [[4, 0]]);
    for (const r of out.requests) expect(flow(r).request).toEqual({ stalledMs: 2, stalls: 1 });
    expect(out.facts.flowControlStalls).toHaveLength(MAX_STALLS);
    expect(out.facts.dropped.stalls).toBe(STREAMS - MAX_STALLS);
    // Ended in stream order, at the SETTINGS that made the windows positive.
    expect(out.facts.flowControlStalls.slice(0, 3).map((s: { streamId: number; endTime: number; resolved: boolean }) => [s.streamId, s.endTime, s.resolved])).toEqual([
      [1, 6, true],
      [3, 6, true],
      [5, 6, true],
    ]);
  });

  it('DATA while the connection window is exhausted does not look for an unended stream in every stream', () => {
    const out = probed((d) => {
      // The server exhausts its connection window on stream 2 (never opened), then sends empty DATA.
      d.send('server', 4, join([data(2, 16_384), data(2, 16_384), data(2, 16_384), data(2, 16_383)]));
      d.send('server', 5, join(Array.from({ length: FRAMES }, () => data(2, 0))));
      return 6;
    });
    expect(out.requests).toHaveLength(STREAMS);
    expect(out.facts.flowControlStalls).toEqual([]); // the server had no response under way
    expect(out.facts.client.connectionWindow).toBe(65_535);
    expect(out.facts.server.connectionWindow).toBe(0);
  });

  it('connection-level stalls are charged to every unended stream without a pass per stall', () => {
    const pairs = FRAMES / 2;
    const out = probed((d) => {
      d.send('server', 4, join(clientIds.map((id) => headers(id, RESPONSE_BLOCK))));
      // Exhaust the server's connection window on stream 1 (stream window too: both stall).
      d.send('server', 5, join([data(1, 16_384), data(1, 16_384), data(1, 16_384), data(1, 16_383)]));
      // Stream 3's window stays open; the connection window reopens by 1 and closes again.
      let t = 5;
      for (let i = 0; i < pairs; i++) {
        d.send('client', ++t, windowUpdate(0, 1));
        d.send('server', ++t, data(3, 1));
      }
      return ++t;
    });
    // pairs − 1 stalls ended by a WINDOW_UPDATE, each 1 ms, plus the last one unresolved at close (1 ms).
    const s3 = flow(out.byStream(3)).response;
    expect(s3.stalls).toBe(pairs + 1);
    expect(s3.stalledMs).toBe(pairs + 1);
    // Stream 1 also has its own stream-level stall, open until close.
    expect(flow(out.byStream(1)).response.stalls).toBe(pairs + 2);
    expect(out.facts.flowControlStalls).toHaveLength(MAX_STALLS);
    expect(out.facts.dropped.stalls).toBeGreaterThan(0);
  });

  it('frame-sync losses do not visit every stream', () => {
    const out = probed((d) => {
      // Each chunk follows a 1-octet gap at a frame boundary (sync lost), then two PINGs resync.
      const pings = join([ping([1, 2, 3, 4, 5, 6, 7, 8]), ping([1, 2, 3, 4, 5, 6, 7, 8])]);
      for (let i = 0; i < FRAMES / 2; i++) d.send('server', 4 + i, pings, 1);
      return FRAMES;
    });
    expect(out.requests).toHaveLength(STREAMS);
    expect(out.facts.flowControlTracked).toBe(false);
  });
});

describe('GOAWAY semantics (RFC 9113 §6.8) after the change', () => {
  function run(frames: ['client' | 'server', Uint8Array][]): ReturnType<Driver['close']> {
    const d = new Driver();
    d.send('client', 1, join([PREFACE, settings([])]));
    d.send('server', 2, settings([]));
    let t = 2;
    for (const [side, f] of frames) d.send(side, ++t, f);
    return d.close(++t);
  }

  it('a later GOAWAY lowers last-stream-id; a raised one does not un-refuse', () => {
    const out = run([
      ['client', headers(1, REQUEST_BLOCK)],
      ['client', headers(3, REQUEST_BLOCK)],
      ['client', headers(5, REQUEST_BLOCK)],
      ['server', goaway(5, 0)],
      ['server', goaway(1, 0)],
      ['server', goaway(3, 0)],
    ]);
    expect([1, 3, 5].map((id) => out.byStream(id).state)).toEqual(['no-response', 'aborted', 'aborted']);
  });

  it('a stream opened after the GOAWAY, above its last-stream-id, is refused too', () => {
    const out = run([
      ['client', headers(1, REQUEST_BLOCK)],
      ['server', goaway(1, 0)],
      ['client', headers(3, REQUEST_BLOCK)],
    ]);
    expect(out.byStream(1).state).toBe('no-response');
    expect(out.byStream(3).state).toBe('aborted');
    expect(out.byStream(3).anomalies.map((a) => a.code)).toContain('H2_REFUSED_BY_GOAWAY');
  });

  it('streams finished before the GOAWAY are not refused', () => {
    const out = run([
      ['client', headers(1, REQUEST_BLOCK, 0x5)],
      ['client', headers(3, REQUEST_BLOCK, 0x5)],
      ['server', headers(3, RESPONSE_BLOCK, 0x5)],
      ['server', goaway(1, 0)],
    ]);
    expect(out.byStream(3).state).toBe('complete');
    expect(out.byStream(3).anomalies).toEqual([]);
  });
});

describe('HPACK expansion is capped per header block', () => {
  const V = 4000;
  /** RFC 7541 §6.2.1 literal with incremental indexing, new name "x", 4000-octet value: one 4,033-octet entry. */
  const bigEntry = new Uint8Array([0x40, 0x01, 0x78, ...encodeInteger(V, 7, 0), ...new Uint8Array(V).fill(0x61)]);
  /** `n` references to dynamic index 62 (the newest entry): 1 octet each (§6.1, 0xbe). */
  const refs = (n: number): Uint8Array => new Uint8Array(n).fill(0xbe);
  const entrySize = 1 + V + 32;

  it('the decoder keeps fields up to DEFAULT_MAX_HEADER_LIST_SIZE and stays in sync past it', () => {
    const dec = new HpackDecoder();
    // 1 MB of references (≈ 4 GB of header list) followed by one more insertion.
    const late = new Uint8Array([0x40, 0x04, ...Buffer.from('late'), 0x01, 0x79]);
    const block = join([bigEntry, refs(1 << 20), late]);
    const t0 = performance.now();
    let err: unknown;
    try {
      dec.decode(block);
    } catch (e) {
      err = e;
    }
    const ms = performance.now() - t0;
    expect(err).toBeInstanceOf(HeaderListTooLargeError);
    const kept = (err as HeaderListTooLargeError).block as { fields: unknown[]; headerListSize: number };
    expect(kept.fields).toHaveLength(Math.floor(DEFAULT_MAX_HEADER_LIST_SIZE / entrySize));
    expect(kept.headerListSize).toBe(((1 << 20) + 1) * entrySize + 4 + 1 + 32);
    // The insertion after the limit happened: the next block's index 62 is "late: y".
    expect(dec.decode(new Uint8Array([0xbe, 0xbf])).fields.map((f) => [f.name, f.value.length])).toEqual([
      ['late', 1],
      ['x', V],
    ]);
    expect(ms).toBeLessThan(10_000);
  });

  it('the decoder keeps at most DEFAULT_MAX_HEADER_FIELDS fields of a block', () => {
    let err: unknown;
    try {
      new HpackDecoder().decode(new Uint8Array(5000).fill(0x82)); // 5000 × ":method: GET", 42 octets each
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HeaderListTooLargeError);
    expect((err as Error).message).toBe(`header list of 5000 fields exceeds limit ${DEFAULT_MAX_HEADER_FIELDS}; first ${DEFAULT_MAX_HEADER_FIELDS} fields kept`);
    expect(((err as HeaderListTooLargeError).block as { fields: unknown[] }).fields).toHaveLength(DEFAULT_MAX_HEADER_FIELDS);
  });

  it('10 streams of 40,000 one-octet references: counted anomalies, bounded output, table in sync', () => {
    const streamsN = 10;
    const d = new Driver();
    d.send('client', 1, join([PREFACE, settings([])]));
    d.send('server', 2, settings([]));
    const t0 = performance.now();
    for (let i = 0; i < streamsN; i++) {
      // 40,000 references ≈ 160 MB of header list per stream, in frames of at most 16,384 octets.
      const block = join([i === 0 ? bigEntry : new Uint8Array(0), REQUEST_BLOCK, refs(40_000)]);
      const frames: Uint8Array[] = [];
      for (let o = 0; o < block.length; o += 16_384) {
        const part = block.subarray(o, o + 16_384);
        const last = o + 16_384 >= block.length;
        frames.push(o === 0 ? headers(1 + 2 * i, part, 0x1 | (last ? 0x4 : 0)) : continuation(1 + 2 * i, part, last ? 0x4 : 0));
      }
      d.send('client', 3 + i, join(frames));
    }
    // A normal request afterwards still sees the 4 KB entry at index 62: the table stayed in sync.
    d.send('client', 20, headers(101, join([REQUEST_BLOCK, refs(1)]), 0x5));
    const out = d.close(21);
    const json = JSON.stringify(out.requests);
    const ms = performance.now() - t0;

    const truncated = out.anomalies.filter((a) => a.code === 'COMPRESSION_ERROR');
    expect(truncated).toHaveLength(streamsN);
    expect(truncated[0].detail).toMatch(/^client stream 1: header list of \d+ octets exceeds limit 262144; first \d+ fields kept$/);
    expect(out.facts.dropped.headerListTruncated).toBe(streamsN);
    for (let i = 0; i < streamsN; i++) {
      const r = out.byStream(1 + 2 * i);
      const size = r.requestHeaders.reduce((n, h) => n + Buffer.byteLength(h.name) + Buffer.byteLength(h.value) + 32, 0);
      expect(size).toBeLessThanOrEqual(DEFAULT_MAX_HEADER_LIST_SIZE);
      expect(r.requestHeaders.length).toBeLessThanOrEqual(DEFAULT_MAX_HEADER_FIELDS);
      expect(r.method).toBe('GET');
      expect(((r.h2?.hpack as { request: unknown[] }).request).length).toBe(r.requestHeaders.length);
    }
    const after = out.byStream(101);
    expect(after.requestHeaders.map((h) => [h.name, h.value.length])).toEqual([
      [':method', 3],
      [':scheme', 4],
      [':path', 1],
      ['x', V],
    ]);
    // The old code kept every field: ≈ 1.6 GB of JSON (a RangeError); now ≈ 10 × 256 KB.
    expect(json.length).toBeLessThan(streamsN * 2 * DEFAULT_MAX_HEADER_LIST_SIZE);
    expect(ms).toBeLessThan(10_000);
  });
});

describe('HPACK entry-count bomb: the tracked table and every table summary stay bounded', () => {
  /** Split a header block into HEADERS + CONTINUATION frames of at most 16,384 octets. */
  function blockFrames(streamId: number, block: Uint8Array, endStream: boolean): Uint8Array {
    const frames: Uint8Array[] = [];
    for (let o = 0; o < block.length; o += 16_384) {
      const part = block.subarray(o, o + 16_384);
      const last = o + 16_384 >= block.length;
      frames.push(o === 0 ? headers(streamId, part, (endStream ? 0x1 : 0) | (last ? 0x4 : 0)) : continuation(streamId, part, last ? 0x4 : 0));
    }
    return join(frames);
  }

  it('4 GiB allowed, 40 blocks × 60,000 two-octet entries: MAX_TRACKED_TABLE_SIZE kept, the rest forgotten (counted, one anomaly), heap bounded', () => {
    const BLOCKS = 40;
    const PER = 60_000;
    const counters: Record<string, number> = {};
    const d = new Driver({
      session: (out) => new Http2Session(INFO, out, { prefaceSeen: true, count: (n, k = 1) => void (counters[n] = (counters[n] ?? 0) + k) }),
    });
    // The client allows the server's encoder a 2^32 − 1 octet table (RFC 9113 §6.5.2).
    d.send('client', 1, join([PREFACE, settings([[1, 0xffffffff]])]));
    d.send('server', 2, join([settings([]), settings([], true)]));
    // RFC 7541 §6.2.1, name index 1 (:authority), empty value: a 42-octet entry for 2 octets.
    const entries = new Uint8Array(PER * 2);
    for (let i = 0; i < PER; i++) entries[2 * i] = 0x41;
    const heap0 = liveHeap();
    const t0 = performance.now();
    let t = 3;
    for (let k = 0; k < BLOCKS; k++) {
      const sid = 1 + 2 * k;
      d.send('client', t++, headers(sid, REQUEST_BLOCK, 0x5));
      // The first block raises the table's maximum to the ceiling (§6.3 size update).
      const update = k === 0 ? [...encodeInteger(0xffffffff, 5, 0x20)] : [];
      d.send('server', t++, blockFrames(sid, join([new Uint8Array(update), RESPONSE_BLOCK, entries]), true));
    }
    const tableHeap = liveHeap() - heap0;
    // Then: one distinctive entry, a reference to it (index 62, known) and one to an entry long
    // forgotten (index 62 + 20,000): exact, and <unknown> instead of an invalid-index error.
    const last = join([
      RESPONSE_BLOCK,
      new Uint8Array([0x40, 0x06, ...Buffer.from('x-last'), 0x01, 0x76]),
      new Uint8Array(encodeInteger(62, 7, 0x80)),
      new Uint8Array(encodeInteger(62 + 20_000, 7, 0x80)),
    ]);
    const sid = 1 + 2 * BLOCKS;
    d.send('client', t++, headers(sid, REQUEST_BLOCK, 0x5));
    d.send('server', t++, blockFrames(sid, last, true));
    const out = d.close(t);
    const json = JSON.stringify(out.extras);
    const ms = performance.now() - t0;

    const inserted = BLOCKS * PER + 1;
    const tracked = Math.floor(MAX_TRACKED_TABLE_SIZE / 42); // 42-octet entries fill the tracked size
    const fin = out.facts.server.finalHpackTable;
    expect(fin).toMatchObject({
      entryCount: tracked,
      maxSize: 0xffffffff,
      ceiling: 0xffffffff,
      unknownOlderEntries: true,
      inserted,
      evicted: 0,
      forgotten: inserted - tracked,
      sizeUpdates: 1,
    });
    expect(fin.size).toBeLessThanOrEqual(MAX_TRACKED_TABLE_SIZE);
    expect(fin.entries).toHaveLength(MAX_REPORTED_TABLE_ENTRIES);
    expect(fin.entries[0]).toEqual({ name: 'x-last', value: 'v', size: 39 });
    expect(fin.entries[1]).toEqual({ name: ':authority', value: '', size: 42 });
    // The limit's counter (capture.counters and dropped) and its one anomaly, on the server side.
    expect(counters).toEqual({ hpackTableEntriesForgotten: inserted - tracked });
    expect(out.facts.dropped.hpackTableEntries).toBe(inserted - tracked);
    const limit = out.anomalies.filter((a) => a.code === HTTP2_ANOMALY.HPACK_TABLE_LIMIT);
    expect(limit).toHaveLength(1);
    expect(limit[0].detail).toBe(
      `server HPACK dynamic table (maximum 4294967295 octets, SETTINGS_HEADER_TABLE_SIZE 4294967295) grew past the ${MAX_TRACKED_TABLE_SIZE} octets tracked (MAX_TRACKED_TABLE_SIZE): ${inserted - tracked} oldest entries forgotten; references to them decode as ${UNKNOWN_NAME}`,
    );
    expect(out.anomalies.filter((a) => a.code === 'COMPRESSION_ERROR')).toHaveLength(BLOCKS); // 60,000 fields > DEFAULT_MAX_HEADER_FIELDS
    // The known newest entry decodes exactly; the forgotten one is flagged, not an error.
    const r = out.byStream(sid);
    expect(r.responseHeaders.slice(-2)).toEqual([
      { name: 'x-last', value: 'v' },
      { name: UNKNOWN_NAME, value: '<unknown>' },
    ]);
    // Bounded records: the connection facts are a few kB (they listed all 2.4 M entries: 100 MB of
    // JSON), and the live heap holds the tracked table, not the whole one (~200 MB before).
    expect(out.facts.server.hpackTable.length).toBeLessThanOrEqual(BLOCKS + 1);
    expect(json.length).toBeLessThan(64 * 1024);
    expect(tableHeap).toBeLessThan(20 * MB);
    expect(ms).toBeLessThan(20_000);
  });

  it(`a block of 100,000 size updates keeps MAX_SIZE_UPDATES_KEPT (${MAX_SIZE_UPDATES_KEPT}) in its snapshot and counts the rest`, () => {
    const d = new Driver();
    d.send('client', 1, join([PREFACE, settings([])]));
    d.send('server', 2, settings([]));
    // §6.3: size updates to 0 (1 octet each), then a request.
    const block = join([new Uint8Array(100_000).fill(0x20), REQUEST_BLOCK]);
    d.send('client', 3, blockFrames(1, block, true));
    d.send('server', 4, headers(1, RESPONSE_BLOCK, 0x5));
    const out = d.close(5);
    const snap = out.facts.client.hpackTable[0];
    expect(snap.sizeUpdates).toEqual(new Array(MAX_SIZE_UPDATES_KEPT).fill(0));
    expect(snap.sizeUpdateCount).toBe(100_000);
    expect(out.facts.client.finalHpackTable).toMatchObject({ sizeUpdates: 100_000, entryCount: 0, entries: [] });
    expect(out.byStream(1).method).toBe('GET');
  });
});
