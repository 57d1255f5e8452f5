/** HPACK (RFC 7541): public surface. */
export * from './errors.js';
export * from './decoder.js';
export * from './stats.js';
export * from './inflate.js';
export { DynamicTable, ENTRY_OVERHEAD, type DynamicEntry } from './dynamic-table.js';
export { STATIC_TABLE, STATIC_TABLE_LENGTH } from './static-table.js';
export { huffmanDecode, huffmanEncode, huffmanEncodedLength } from './huffman.js';
export { decodeInteger, encodeInteger, MAX_HPACK_INTEGER } from './integer.js';
