import { describe, expect, it } from 'vitest';
import { hpackNote, hpackNotes } from '../../app/renderer/model/hpack.js';

describe('HPACK annotations', () => {
  it('describe each representation (RFC 7541 §6)', () => {
    expect(hpackNote({ rep: 'indexed', index: 2, table: 'static', wireBytes: 1 })).toBe('indexed static #2, 1 B on the wire');
    expect(hpackNote({ rep: 'incremental', nameIndex: 1, table: 'static', valueHuffman: true, wireBytes: 12 })).toBe('literal, added to table, name static #1, Huffman, 12 B on the wire');
    expect(hpackNote({ rep: 'never-indexed', wireBytes: 30 })).toBe('literal, never indexed, 30 B on the wire');
    expect(hpackNote({ rep: 'indexed', index: 70, table: 'dynamic', wireBytes: 1, unknown: true })).toBe('indexed dynamic #70, 1 B on the wire, entry from before the capture');
    expect(hpackNote(null)).toBeUndefined();
  });
  it('align with the header list in either layout', () => {
    expect(hpackNotes({ h2: { hpack: { request: { fields: [{ rep: 'indexed', index: 2, table: 'static' }] } } } as never }, 'request')).toEqual(['indexed static #2']);
    expect(hpackNotes({ h2: { hpack: { responseHeaders: ['x'] } } as never }, 'response')).toEqual(['x']);
    expect(hpackNotes({}, 'request')).toBeNull();
  });
  it('match fields to headers by name, in order', () => {
    const h2 = { hpack: { request: [{ name: ':method', rep: 'indexed', index: 2, table: 'static' }, { name: 'accept', rep: 'indexed', index: 19, table: 'static' }, { name: 'accept', rep: 'never-indexed' }] } };
    expect(hpackNotes({ h2: h2 as never }, 'request', [{ name: 'Accept' }, { name: 'accept' }, { name: 'x-missing' }])).toEqual(['indexed static #19', 'literal, never indexed', undefined]);
  });
});
