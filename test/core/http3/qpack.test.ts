/**
 * QPACK decoding (RFC 9204): the Appendix B examples in order on one decoder (encoder-stream
 * instructions and field sections), the static table (Appendix A), blocked sections (§2.1.2),
 * Huffman literals (shared with HPACK) and the limits.
 */
import { describe, expect, it } from 'vitest';
import { huffmanEncode } from '../../../core/src/http2/hpack/huffman.js';
import { MAX_QPACK_SECTION_FIELDS, MAX_QPACK_TABLE_CAPACITY, QpackDecoder, QPACK_UNKNOWN, type SectionResult } from '../../../core/src/http3/qpack/decoder.js';
import { QPACK_STATIC_TABLE, QPACK_STATIC_TABLE_LENGTH } from '../../../core/src/http3/qpack/static-table.js';

const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const fields = (r: SectionResult) => {
  if (r.kind !== 'ok') throw new Error(`section ${r.kind}${r.kind === 'error' ? `: ${r.error.message}` : ''}`);
  return r.fields.map((f) => [f.name, f.value]);
};

describe('RFC 9204 Appendix A: static table', () => {
  it('has 99 entries from :authority to x-frame-options: sameorigin', () => {
    expect(QPACK_STATIC_TABLE_LENGTH).toBe(99);
    expect(QPACK_STATIC_TABLE).toHaveLength(99);
    expect(QPACK_STATIC_TABLE[0]).toEqual({ name: ':authority', value: '' });
    expect(QPACK_STATIC_TABLE[17]).toEqual({ name: ':method', value: 'GET' });
    expect(QPACK_STATIC_TABLE[25]).toEqual({ name: ':status', value: '200' });
    expect(QPACK_STATIC_TABLE[85].value).toBe("script-src 'none'; object-src 'none'; base-uri 'none'");
    expect(QPACK_STATIC_TABLE[98]).toEqual({ name: 'x-frame-options', value: 'sameorigin' });
  });
});

describe('RFC 9204 Appendix B: encoding and decoding examples (one decoder, in order)', () => {
  const d = new QpackDecoder();
  d.setMaxCapacity(220);

  it('B.1 Literal Field Line with Name Reference', () => {
    expect(fields(d.decodeSection(hex('0000 510b 2f69 6e64 6578 2e68 746d 6c')))).toEqual([[':path', '/index.html']]);
  });

  it('B.2 Dynamic Table: a blocked section decodes once the inserts arrive', () => {
    const section = hex('0381 10 11');
    expect(d.decodeSection(section)).toEqual({ kind: 'blocked', requiredInsertCount: 2 });
    d.encoderStream(hex('3fbd01 c00f 7777 772e 6578 616d 706c 652e 636f 6d c10c 2f73 616d 706c 652f 7061 7468'));
    expect(d.encoderError).toBeNull();
    expect(fields(d.decodeSection(section))).toEqual([
      [':authority', 'www.example.com'],
      [':path', '/sample/path'],
    ]);
    expect(d.snapshot()).toMatchObject({ capacity: 220, size: 106, insertCount: 2 });
  });

  it('B.3 Speculative Insert', () => {
    d.encoderStream(hex('4a63 7573 746f 6d2d 6b65 790c 6375 7374 6f6d 2d76 616c 7565'));
    expect(d.snapshot()).toMatchObject({ size: 160, insertCount: 3 });
  });

  it('B.4 Duplicate Instruction, Stream Cancellation', () => {
    d.encoderStream(hex('02'));
    expect(d.snapshot()).toMatchObject({ size: 217, insertCount: 4 });
    expect(fields(d.decodeSection(hex('0500 80 c1 81')))).toEqual([
      [':authority', 'www.example.com'],
      [':path', '/'],
      ['custom-key', 'custom-value'],
    ]);
  });

  it('B.5 Dynamic Table Insert, Eviction', () => {
    // Split across two writes: an incomplete instruction waits for the rest.
    d.encoderStream(hex('810d 6375 7374 6f6d'));
    expect(d.snapshot().insertCount).toBe(4);
    d.encoderStream(hex('2d76 616c 7565 32'));
    const t = d.snapshot();
    expect(t).toMatchObject({ size: 215, insertCount: 5 });
    expect(t.entries.map((e) => [e.index, e.name, e.value])).toEqual([
      [4, 'custom-key', 'custom-value2'],
      [3, ':authority', 'www.example.com'],
      [2, 'custom-key', 'custom-value'],
      [1, ':path', '/sample/path'],
    ]);
  });
});

describe('QPACK decoder details', () => {
  it('decodes Huffman-coded literal names and values (RFC 7541 §5.2 code, RFC 9204 §4.1.2)', () => {
    const d = new QpackDecoder();
    const name = huffmanEncode(Buffer.from('x-custom'));
    const value = huffmanEncode(Buffer.from('hello world'));
    // §4.5.6 001NHxxx: H (0x08) set, 3-bit name length; value with H (0x80) and a 7-bit length.
    const section = Uint8Array.from([0, 0, 0x28 | name.length, ...name, 0x80 | value.length, ...value]);
    const r = d.decodeSection(section);
    expect(fields(r)).toEqual([['x-custom', 'hello world']]);
    expect(r.kind === 'ok' && r.fields[0]).toMatchObject({ rep: 'literal', huffman: true });
  });

  it('decodes post-base references (§4.5.3, §4.5.5) with a negative Delta Base', () => {
    const d = new QpackDecoder();
    d.setMaxCapacity(4096);
    d.encoderStream(hex('3fe11f')); // capacity 4096
    d.encoderStream(Uint8Array.from([0x40 | 1, 0x61, 1, 0x31])); // a=1
    d.encoderStream(Uint8Array.from([0x40 | 1, 0x62, 1, 0x32])); // b=2
    // RIC 2 (encoded 3), S=1 Delta 1 → Base = 2 − 1 − 1 = 0: entries 0 and 1 are post-base 0 and 1.
    const r = d.decodeSection(Uint8Array.from([0x03, 0x81, 0x10, 0x01 | 0x00, 0x01, 0x7a]));
    expect(fields(r)).toEqual([
      ['a', '1'],
      ['b', 'z'],
    ]);
  });

  it('reports a static index beyond the table as an error, not an exception', () => {
    const r = new QpackDecoder().decodeSection(Uint8Array.from([0, 0, 0xff, 0x40]));
    expect(r.kind).toBe('error');
  });

  it('refuses a capacity above the decoding side\'s setting and stops reading the encoder stream', () => {
    const d = new QpackDecoder();
    d.setMaxCapacity(100);
    d.encoderStream(hex('3fe11f'));
    expect(d.encoderError?.code).toBe('QPACK_ENCODER_STREAM_ERROR');
  });

  it('marks references to entries lost with encoder-stream octets as unknown instead of guessing', () => {
    const d = new QpackDecoder();
    d.setMaxCapacity(220);
    d.encoderStream(hex('3fbd01'));
    d.loseSync();
    const r = d.decodeSection(hex('0381 10'));
    expect(r.kind).toBe('ok');
    if (r.kind === 'ok') {
      expect(r.incomplete).toBe(true);
      expect(r.fields[0]).toMatchObject({ name: QPACK_UNKNOWN, unknown: true });
    }
  });

  it('caps the fields kept from one section (MAX_QPACK_SECTION_FIELDS) and says the section is incomplete', () => {
    const d = new QpackDecoder();
    const section = new Uint8Array(2 + 5000).fill(0xc0 | 17);
    section[0] = 0;
    section[1] = 0;
    const r = d.decodeSection(section);
    expect(r.kind === 'ok' && r.fields.length).toBe(MAX_QPACK_SECTION_FIELDS);
    expect(r.kind === 'ok' && r.droppedFields).toBe(5000 - MAX_QPACK_SECTION_FIELDS);
    expect(r.kind === 'ok' && r.incomplete).toBe(true);
  });

  it('never honours a table capacity above MAX_QPACK_TABLE_CAPACITY', () => {
    const d = new QpackDecoder();
    d.setMaxCapacity(2 ** 40);
    const over = MAX_QPACK_TABLE_CAPACITY + 1;
    // 001xxxxx with a 5-bit prefix
    const bytes = [0x3f];
    let rest = over - 31;
    while (rest >= 128) {
      bytes.push((rest & 0x7f) | 0x80);
      rest = Math.floor(rest / 128);
    }
    bytes.push(rest);
    d.encoderStream(Uint8Array.from(bytes));
    expect(d.encoderError).not.toBeNull();
  });
});
