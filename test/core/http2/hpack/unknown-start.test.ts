import { describe, expect, it } from 'vitest';
import { HpackDecoder, UNKNOWN_NAME, UNKNOWN_VALUE } from '../../../../core/src/http2/hpack/decoder.js';
import { compressionStats } from '../../../../core/src/http2/hpack/stats.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

describe('unknown start (capture began mid-connection)', () => {
  it('without the option, a reference beyond the table throws', () => {
    expect(() => new HpackDecoder().decode(hex('be'))).toThrow(/invalid HPACK index 62/);
  });

  it('flags references to pre-capture entries and learns new ones with correct index arithmetic', () => {
    const d = new HpackDecoder({ unknownStart: true });
    // C.3.2 as the first block seen: be = index 62 (:authority entry from before the capture).
    const b1 = d.decode(hex('8286 84be 5808 6e6f 2d63 6163 6865'));
    expect(b1.fields.map((f) => [f.name, f.value])).toEqual([
      [':method', 'GET'],
      [':scheme', 'http'],
      [':path', '/'],
      [UNKNOWN_NAME, UNKNOWN_VALUE],
      ['cache-control', 'no-cache'],
    ]);
    expect(b1.fields[3]).toMatchObject({ unknown: true, index: 62, table: 'dynamic' });
    expect(d.tableSnapshot()).toMatchObject({ size: 53, unknownOlderEntries: true });
    // C.3.3: bf = 63 → still the unknown :authority (now second after cache-control... 62 is cache-control).
    const b2 = d.decode(hex('8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65'));
    expect(b2.fields[3]).toMatchObject({ unknown: true, index: 63 });
    expect(b2.fields[4]).toMatchObject({ name: 'custom-key', value: 'custom-value' });
    // Next block references 62 (custom-key) and 63 (cache-control): both learned, both exact.
    const b3 = d.decode(hex('be bf c0'));
    expect(b3.fields.map((f) => [f.name, f.value, f.unknown ?? false])).toEqual([
      ['custom-key', 'custom-value', false],
      ['cache-control', 'no-cache', false],
      [UNKNOWN_NAME, UNKNOWN_VALUE, true],
    ]);
  });

  it('a literal whose name is unknown still inserts an entry; later references keep the flag', () => {
    const d = new HpackDecoder({ unknownStart: true });
    const b = d.decode(hex('7f 01 01 78')); // incremental, name index 64 (unknown), value "x"
    expect(b.fields[0]).toMatchObject({ name: UNKNOWN_NAME, value: 'x', unknown: true, nameIndex: 64 });
    const b2 = d.decode(hex('be'));
    expect(b2.fields[0]).toMatchObject({ name: UNKNOWN_NAME, value: 'x', unknown: true });
  });

  it('a size update to 0 proves the table empty: later bad references throw again', () => {
    const d = new HpackDecoder({ unknownStart: true });
    d.decode(hex('20'));
    expect(d.tableSnapshot().unknownOlderEntries).toBe(false);
    expect(() => d.decode(hex('be'))).toThrow(/invalid HPACK index/);
  });

  it('loseSync() re-enters unknown mode', () => {
    const d = new HpackDecoder();
    d.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'));
    d.loseSync();
    expect(d.decode(hex('be')).fields[0].unknown).toBe(true);
  });
});

describe('compression statistics', () => {
  it('C.3.2: counts dynamic-table savings for indexed and name references', () => {
    const d = new HpackDecoder();
    d.decode(hex('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d'));
    const b = d.decode(hex('8286 84be 5808 6e6f 2d63 6163 6865'));
    const s = compressionStats(b);
    // :method: GET\r\n 14, :scheme: http\r\n 15, :path: /\r\n 10, :authority: www.example.com\r\n 29,
    // cache-control: no-cache\r\n 25 → 93.
    expect(s).toEqual({ encodedBytes: 14, http1Bytes: 93, savedBytes: 79, savedByDynamicTable: 28 });
  });

  it('entries forgotten past the tracking limit behave as unknown older ones; the known ones stay exact', () => {
    // 130 octets tracked: three 43-octet entries (`:authority: a` is 10 + 1 + 32), where the
    // encoder's table (420 octets) holds nine.
    const d = new HpackDecoder({ maxTableSize: 420, maxTrackedTableSize: 130 });
    const lit = (v: string) => [0x41, v.length, ...Buffer.from(v)]; // §6.2.1, name :authority
    // Five entries a..e: the tracked size keeps the newest three, c d e.
    d.decode(new Uint8Array(['a', 'b', 'c', 'd', 'e'].flatMap(lit)));
    expect(d.tableSnapshot()).toMatchObject({ entryCount: 3, inserted: 5, evicted: 0, forgotten: 2, unknownOlderEntries: true });
    expect(d.forgotten).toBe(2);
    // 62..64 are e d c (known, exact); 65 and 66 are b and a in the encoder's table: unknown here.
    const b = d.decode(hex('be bf c0 c1 c2'));
    expect(b.fields.map((f) => [f.value, f.unknown ?? false])).toEqual([
      ['e', false],
      ['d', false],
      ['c', false],
      [UNKNOWN_VALUE, true],
      [UNKNOWN_VALUE, true],
    ]);
    // A size update to 0 empties the encoder's table: nothing unknown remains, bad indices throw again.
    d.decode(hex('20'));
    expect(d.tableSnapshot()).toMatchObject({ entryCount: 0, unknownOlderEntries: false, sizeUpdates: 1 });
    expect(() => d.decode(hex('be'))).toThrow(/invalid HPACK index/);
  });
});
