import { describe, expect, it } from 'vitest';
import { HpackDecoder, type DecodedBlock, type TableSnapshot } from '../../../../core/src/http2/hpack/decoder.js';
import { decodeInteger, encodeInteger } from '../../../../core/src/http2/hpack/integer.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const pairs = (b: DecodedBlock): [string, string][] => b.fields.map((f) => [f.name, f.value]);
const table = (t: TableSnapshot): [string, string, number][] => t.entries.map((e) => [e.name, e.value, e.size]);

describe('RFC 7541 C.1 integer representation', () => {
  it('C.1.1 encodes 10 using a 5-bit prefix', () => {
    expect(encodeInteger(10, 5)).toEqual([0x0a]);
    expect(decodeInteger(hex('0a'), 0, 5, { value: 0, next: 0 })).toEqual({ value: 10, next: 1 });
  });
  it('C.1.2 encodes 1337 using a 5-bit prefix', () => {
    expect(encodeInteger(1337, 5)).toEqual([0x1f, 0x9a, 0x0a]);
    expect(decodeInteger(hex('1f9a0a'), 0, 5, { value: 0, next: 0 })).toEqual({ value: 1337, next: 3 });
  });
  it('C.1.3 encodes 42 starting at an octet boundary', () => {
    expect(encodeInteger(42, 8)).toEqual([0x2a]);
    expect(decodeInteger(hex('2a'), 0, 8, { value: 0, next: 0 })).toEqual({ value: 42, next: 1 });
  });
});

describe('RFC 7541 C.2 header field representation examples', () => {
  it('C.2.1 literal header field with indexing', () => {
    const d = new HpackDecoder();
    const b = d.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'));
    expect(pairs(b)).toEqual([['custom-key', 'custom-header']]);
    expect(b.fields[0]).toMatchObject({ rep: 'incremental', nameHuffman: false, valueHuffman: false, wireBytes: 26 });
    expect(table(d.tableSnapshot())).toEqual([['custom-key', 'custom-header', 55]]);
    expect(d.tableSnapshot().size).toBe(55);
  });
  it('C.2.2 literal header field without indexing', () => {
    const d = new HpackDecoder();
    const b = d.decode(hex('040c 2f73 616d 706c 652f 7061 7468'));
    expect(pairs(b)).toEqual([[':path', '/sample/path']]);
    expect(b.fields[0]).toMatchObject({ rep: 'without-indexing', nameIndex: 4, table: 'static' });
    expect(d.tableSnapshot()).toMatchObject({ entries: [], size: 0 });
  });
  it('C.2.3 literal header field never indexed', () => {
    const d = new HpackDecoder();
    const b = d.decode(hex('1008 7061 7373 776f 7264 0673 6563 7265 74'));
    expect(pairs(b)).toEqual([['password', 'secret']]);
    expect(b.fields[0].rep).toBe('never-indexed');
    expect(d.tableSnapshot()).toMatchObject({ entries: [], size: 0 });
  });
  it('C.2.4 indexed header field', () => {
    const d = new HpackDecoder();
    const b = d.decode(hex('82'));
    expect(pairs(b)).toEqual([[':method', 'GET']]);
    expect(b.fields[0]).toMatchObject({ rep: 'indexed', index: 2, table: 'static', wireBytes: 1 });
    expect(d.tableSnapshot()).toMatchObject({ entries: [], size: 0 });
  });
});

const REQ1: [string, string][] = [[':method', 'GET'], [':scheme', 'http'], [':path', '/'], [':authority', 'www.example.com']];
const REQ2: [string, string][] = [...REQ1, ['cache-control', 'no-cache']];
const REQ3: [string, string][] = [
  [':method', 'GET'],
  [':scheme', 'https'],
  [':path', '/index.html'],
  [':authority', 'www.example.com'],
  ['custom-key', 'custom-value'],
];
const T1: [string, string, number][] = [[':authority', 'www.example.com', 57]];
const T2: [string, string, number][] = [['cache-control', 'no-cache', 53], ...T1];
const T3: [string, string, number][] = [['custom-key', 'custom-value', 54], ...T2];

function requestSequence(name: string, blocks: string[]): void {
  describe(name, () => {
    const d = new HpackDecoder();
    const expectations: [[string, string][], [string, string, number][], number][] = [
      [REQ1, T1, 57],
      [REQ2, T2, 110],
      [REQ3, T3, 164],
    ];
    blocks.forEach((blk, i) => {
      it(`${name}.${i + 1} ${['first', 'second', 'third'][i]} request`, () => {
        const b = d.decode(hex(blk));
        const [fields, tbl, size] = expectations[i];
        expect(pairs(b)).toEqual(fields);
        const snap = d.tableSnapshot();
        expect(table(snap)).toEqual(tbl);
        expect(snap.size).toBe(size);
        expect(snap.maxSize).toBe(4096);
      });
    });
  });
}

requestSequence('C.3', [
  '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
  '8286 84be 5808 6e6f 2d63 6163 6865',
  '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
]);
requestSequence('C.4', [
  '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff',
  '8286 84be 5886 a8eb 1064 9cbf',
  '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
]);

const DATE1 = 'Mon, 21 Oct 2013 20:13:21 GMT';
const DATE2 = 'Mon, 21 Oct 2013 20:13:22 GMT';
const COOKIE = 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1';
const RES1: [string, string][] = [[':status', '302'], ['cache-control', 'private'], ['date', DATE1], ['location', 'https://www.example.com']];
const RES2: [string, string][] = [[':status', '307'], ['cache-control', 'private'], ['date', DATE1], ['location', 'https://www.example.com']];
const RES3: [string, string][] = [[':status', '200'], ['cache-control', 'private'], ['date', DATE2], ['location', 'https://www.example.com'], ['content-encoding', 'gzip'], ['set-cookie', COOKIE]];
const RT1: [string, string, number][] = [
  ['location', 'https://www.example.com', 63],
  ['date', DATE1, 65],
  ['cache-control', 'private', 52],
  [':status', '302', 42],
];
const RT2: [string, string, number][] = [[':status', '307', 42], ...RT1.slice(0, 3)];
const RT3: [string, string, number][] = [['set-cookie', COOKIE, 98], ['content-encoding', 'gzip', 52], ['date', DATE2, 65]];

function responseSequence(name: string, blocks: string[]): void {
  describe(`${name} (dynamic table max size 256, with eviction)`, () => {
    const d = new HpackDecoder({ maxTableSize: 256 });
    const expectations: [[string, string][], [string, string, number][], number][] = [
      [RES1, RT1, 222],
      [RES2, RT2, 222],
      [RES3, RT3, 215],
    ];
    blocks.forEach((blk, i) => {
      it(`${name}.${i + 1} ${['first', 'second', 'third'][i]} response`, () => {
        const b = d.decode(hex(blk));
        const [fields, tbl, size] = expectations[i];
        expect(pairs(b)).toEqual(fields);
        const snap = d.tableSnapshot();
        expect(table(snap)).toEqual(tbl);
        expect(snap.size).toBe(size);
        expect(snap.maxSize).toBe(256);
      });
    });
  });
}

responseSequence('C.5', [
  `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
   2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d`,
  '4803 3330 37c1 c0bf',
  `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
   54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
   5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31`,
]);
responseSequence('C.6', [
  `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
   2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
  '4883 640e ffc1 c0bf',
  `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
   77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
   9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
]);

describe('C.4 field annotations', () => {
  it('records Huffman flags, indices and wire bytes per field', () => {
    const d = new HpackDecoder();
    d.decode(hex('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff'));
    const b = d.decode(hex('8286 84be 5886 a8eb 1064 9cbf'));
    expect(b.fields[3]).toMatchObject({ rep: 'indexed', index: 62, table: 'dynamic', wireBytes: 1 });
    expect(b.fields[4]).toMatchObject({ rep: 'incremental', nameIndex: 24, table: 'static', valueHuffman: true, wireBytes: 8 });
    expect(b.encodedBytes).toBe(12);
  });
});
