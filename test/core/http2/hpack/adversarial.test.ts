import { describe, expect, it } from 'vitest';
import { HpackDecoder } from '../../../../core/src/http2/hpack/decoder.js';
import { HpackError } from '../../../../core/src/http2/hpack/errors.js';
import { huffmanDecode, huffmanEncode } from '../../../../core/src/http2/hpack/huffman.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(HpackError);
    return (e as HpackError).code;
  }
  return 'no error';
}

// Scenario table: block → expected error code (fresh decoder, default 4096 ceiling).
const cases: [string, string, string, { maxStringLength?: number; maxHeaderListSize?: number }?][] = [
  ['index 0 in an indexed field', '80', 'HPACK_INVALID_INDEX'],
  ['index beyond the static table with an empty dynamic table', 'be', 'HPACK_INVALID_INDEX'],
  ['name index beyond the table in a literal', '7e 01 61', 'HPACK_INVALID_INDEX'],
  ['integer with too many continuation octets', 'ff ff ff ff ff ff ff 7f', 'HPACK_INTEGER_OVERFLOW'],
  ['integer above 2^32-1', 'ff ff ff ff ff 7f', 'HPACK_INTEGER_OVERFLOW'],
  ['truncated integer', 'ff 80', 'HPACK_TRUNCATED'],
  ['truncated string (length says 10, 3 left)', '40 0a 61 62 63', 'HPACK_TRUNCATED'],
  ['literal with no value string', '40 01 61', 'HPACK_TRUNCATED'],
  ['literal with no name string', '40', 'HPACK_TRUNCATED'],
  ['table size update after a field', '82 3f e1 1f', 'HPACK_TABLE_SIZE_UPDATE'],
  ['table size update above the ceiling', '3f e2 1f', 'HPACK_TABLE_SIZE_UPDATE'],
  // 'a' = 00011 then 8 padding ones: more than 7 bits of padding.
  ['Huffman padding longer than 7 bits', '00 81 1f 82 1f ff', 'HPACK_INVALID_HUFFMAN'],
  // 'a' = 00011 then padding 000: padding not all ones.
  ['Huffman padding not all ones', '00 01 61 81 18', 'HPACK_INVALID_HUFFMAN'],
  // EOS (30 ones) followed by padding 11.
  ['Huffman string containing EOS', '00 81 1f 84 ff ff ff ff', 'HPACK_INVALID_HUFFMAN'],
  ['string longer than maxStringLength', '00 05 68 65 6c 6c 6f 00', 'HPACK_STRING_TOO_LONG', { maxStringLength: 4 }],
  ['Huffman string decoding past maxStringLength', '00 84 9c b4 50 7f 00', 'HPACK_STRING_TOO_LONG', { maxStringLength: 4 }],
  ['header list larger than maxHeaderListSize', '82 86', 'HPACK_HEADER_LIST_TOO_LARGE', { maxHeaderListSize: 60 }],
];

describe('adversarial header blocks', () => {
  it.each(cases)('%s → %s', (_name, block, code, opts) => {
    expect(codeOf(() => new HpackDecoder(opts).decode(hex(block)))).toBe(code);
  });

  it('accepts two size updates at the start of a block (§4.2) and applies them in order', () => {
    const d = new HpackDecoder();
    const b = d.decode(hex('20 3f e1 1f 82'));
    expect(b.sizeUpdates).toEqual([0, 4096]);
    expect(d.tableSnapshot().maxSize).toBe(4096);
  });

  it('a size update to 0 empties the table', () => {
    const d = new HpackDecoder();
    d.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'));
    expect(d.tableSnapshot().size).toBe(55);
    d.decode(hex('20'));
    expect(d.tableSnapshot()).toMatchObject({ entries: [], size: 0, maxSize: 0 });
  });

  it('lowering SETTINGS_HEADER_TABLE_SIZE bounds later updates and shrinks the table', () => {
    const d = new HpackDecoder();
    d.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572'));
    d.setMaxTableSizeLimit(40);
    expect(d.tableSnapshot()).toMatchObject({ size: 0, maxSize: 40, ceiling: 40 });
    expect(codeOf(() => d.decode(hex('3f 0a')))).toBe('HPACK_TABLE_SIZE_UPDATE'); // 41 > 40
    expect(d.decode(hex('3f 09')).sizeUpdates).toEqual([40]);
  });

  it('an entry larger than the table empties it without error (§4.4)', () => {
    const d = new HpackDecoder({ maxTableSize: 40 });
    d.decode(hex('40 01 61 01 62')); // a: b, 34 octets
    expect(d.tableSnapshot().size).toBe(34);
    d.decode(hex('40 05 61 61 61 61 61 05 62 62 62 62 62')); // 42 octets > 40
    expect(d.tableSnapshot()).toMatchObject({ entries: [], size: 0 });
  });

  it('the header-list error still keeps the table in sync and carries the block', () => {
    const d = new HpackDecoder({ maxHeaderListSize: 10 });
    try {
      d.decode(hex('40 01 61 01 62'));
      expect.unreachable();
    } catch (e) {
      expect((e as HpackError).code).toBe('HPACK_HEADER_LIST_TOO_LARGE');
    }
    expect(d.tableSnapshot().size).toBe(34);
  });
});

describe('Huffman coding', () => {
  it('round-trips every octet value', () => {
    const all = new Uint8Array(256).map((_, i) => i);
    const enc = huffmanEncode(all);
    expect(Array.from(huffmanDecode(enc, 0, enc.length))).toEqual(Array.from(all));
  });
  it('decodes the empty string', () => {
    expect(huffmanDecode(new Uint8Array(0), 0, 0).length).toBe(0);
  });
  it('accepts up to 7 bits of all-ones padding', () => {
    // '0' = 00000 + 111 padding.
    expect(Array.from(huffmanDecode(hex('07'), 0, 1))).toEqual([0x30]);
  });
});
