/**
 * Compression statistics of one decoded header block.
 *
 * Definitions (all in octets):
 *  - `encodedBytes`: length of the HPACK block, including dynamic table size updates.
 *  - `http1Bytes`: the same fields written as HTTP/1.1 header lines, `Name: value\r\n` each, i.e.
 *    Σ (name octets + 2 + value octets + 2). Pseudo-header fields count like any other field (the
 *    HTTP/1.1 request/status line is not modelled). Unknown parts (placeholders) count 0.
 *  - `savedBytes`: http1Bytes − encodedBytes (negative when HPACK made the block larger).
 *  - `savedByDynamicTable`: the part of the saving owed to the dynamic table:
 *      for a field indexed in the dynamic table: its http1 line length − its wireBytes;
 *      for a literal whose name is a dynamic-table reference: (name octets + 2) − nameWireBytes
 *      (the `Name: ` text versus the octets spent on the representation prefix and name index).
 *    Static-table references and Huffman coding are not counted here.
 */
import type { DecodedBlock, DecodedField } from './decoder.js';

export interface CompressionStats {
  encodedBytes: number;
  http1Bytes: number;
  savedBytes: number;
  savedByDynamicTable: number;
}

export function http1LineBytes(f: DecodedField): number {
  return f.nameOctets + 2 + f.valueOctets + 2;
}

export function compressionStats(block: DecodedBlock): CompressionStats {
  let http1 = 0;
  let dyn = 0;
  for (const f of block.fields) {
    const line = http1LineBytes(f);
    http1 += line;
    if (f.table !== 'dynamic') continue;
    if (f.rep === 'indexed') dyn += line - f.wireBytes;
    else dyn += f.nameOctets + 2 - f.nameWireBytes;
  }
  return { encodedBytes: block.encodedBytes, http1Bytes: http1, savedBytes: http1 - block.encodedBytes, savedByDynamicTable: dyn };
}

/** Sum of several blocks' statistics. */
export function addStats(a: CompressionStats, b: CompressionStats): CompressionStats {
  return {
    encodedBytes: a.encodedBytes + b.encodedBytes,
    http1Bytes: a.http1Bytes + b.http1Bytes,
    savedBytes: a.savedBytes + b.savedBytes,
    savedByDynamicTable: a.savedByDynamicTable + b.savedByDynamicTable,
  };
}

export const ZERO_STATS: Readonly<CompressionStats> = Object.freeze({
  encodedBytes: 0,
  http1Bytes: 0,
  savedBytes: 0,
  savedByDynamicTable: 0,
});
