/**
 * HPACK decoding errors (RFC 7541 §2.4 "decoding error"): one base class with a stable `code`,
 * in undici's style. A decoding error is a connection error of type COMPRESSION_ERROR in HTTP/2
 * (RFC 9113 §4.3); the session layer turns it into an anomaly and keeps going.
 */

export type HpackErrorCode =
  | 'HPACK_INVALID_INDEX'
  | 'HPACK_STRING_TOO_LONG'
  | 'HPACK_INVALID_HUFFMAN'
  | 'HPACK_TRUNCATED'
  | 'HPACK_TABLE_SIZE_UPDATE'
  | 'HPACK_HEADER_LIST_TOO_LARGE'
  | 'HPACK_INTEGER_OVERFLOW';

export class HpackError extends Error {
  readonly code: HpackErrorCode;
  /** Offset in the header block at which the bad representation starts, when known. */
  readonly offset: number;
  constructor(code: HpackErrorCode, message: string, offset = -1) {
    super(message);
    this.name = 'HpackError';
    this.code = code;
    this.offset = offset;
  }
}

/** An index is 0, or beyond the static + dynamic tables (RFC 7541 §2.3.3). */
export class InvalidIndexError extends HpackError {
  constructor(index: number, tableLength: number, offset = -1) {
    super('HPACK_INVALID_INDEX', `invalid HPACK index ${index} (static 61 + dynamic ${tableLength})`, offset);
    this.name = 'InvalidIndexError';
  }
}

/** A string literal is longer than the decoder's `maxStringLength`. */
export class StringTooLongError extends HpackError {
  constructor(length: number, limit: number, offset = -1) {
    super('HPACK_STRING_TOO_LONG', `HPACK string of ${length} octets exceeds limit ${limit}`, offset);
    this.name = 'StringTooLongError';
  }
}

/** Huffman data with EOS, padding longer than 7 bits, or padding not all ones (RFC 7541 §5.2). */
export class InvalidHuffmanError extends HpackError {
  constructor(detail: string, offset = -1) {
    super('HPACK_INVALID_HUFFMAN', `invalid Huffman-encoded string: ${detail}`, offset);
    this.name = 'InvalidHuffmanError';
  }
}

/** The block ends inside a representation. */
export class TruncatedError extends HpackError {
  constructor(detail: string, offset = -1) {
    super('HPACK_TRUNCATED', `truncated header block: ${detail}`, offset);
    this.name = 'TruncatedError';
  }
}

/** A dynamic table size update not at the start of a block, or above the allowed ceiling (§4.2, §6.3). */
export class TableSizeUpdateError extends HpackError {
  constructor(detail: string, offset = -1) {
    super('HPACK_TABLE_SIZE_UPDATE', `invalid dynamic table size update: ${detail}`, offset);
    this.name = 'TableSizeUpdateError';
  }
}

/**
 * The decoded header list is larger than `maxHeaderListSize` (RFC 9113 §6.5.2 size: name + value
 * octets + 32 per field), or has more fields than `maxHeaderFields`. Raised after the whole block
 * was parsed, so the dynamic table stays in sync; the attached block holds only the fields kept
 * before the limit was passed (its `headerListSize` counts them all).
 */
export class HeaderListTooLargeError extends HpackError {
  readonly block: unknown;
  constructor(size: number, limit: number, block: unknown, fields?: { count: number; limit: number; kept: number; byCount: boolean }) {
    const what = fields?.byCount
      ? `header list of ${fields.count} fields exceeds limit ${fields.limit}`
      : `header list of ${size} octets exceeds limit ${limit}`;
    super('HPACK_HEADER_LIST_TOO_LARGE', fields ? `${what}; first ${fields.kept} fields kept` : what);
    this.name = 'HeaderListTooLargeError';
    this.block = block;
  }
}

/** An integer (§5.1) does not fit in 32 bits, or uses too many continuation octets. */
export class IntegerOverflowError extends HpackError {
  constructor(offset = -1) {
    super('HPACK_INTEGER_OVERFLOW', 'HPACK integer exceeds 2^32-1', offset);
    this.name = 'IntegerOverflowError';
  }
}
