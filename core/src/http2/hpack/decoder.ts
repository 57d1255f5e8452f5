/**
 * RFC 7541 HPACK decoder, one per connection per direction (Go's hpack.Decoder, in spirit).
 *
 * `decode(block)` takes one complete header block (a HEADERS or PUSH_PROMISE fragment plus its
 * CONTINUATIONs, concatenated) and returns every field with how it was encoded. The dynamic table
 * carries over between calls. Limits sit at the allocation points: `maxStringLength` per string
 * literal, `maxHeaderListSize` and `maxHeaderFields` per block (checked field by field while
 * decoding, see `decode`), and the table-size ceiling (SETTINGS_HEADER_TABLE_SIZE as sent by the
 * decoding side) for dynamic table size updates.
 *
 * Unknown start (`unknownStart: true`, for captures that begin after the connection did): the
 * dynamic table starts as "unknown older entries" (see dynamic-table.ts). What can be recovered:
 *  - every literal field whose name is literal or a static-table reference, and every static
 *    indexed field: exactly;
 *  - references to dynamic entries inserted since the capture started (incremental-indexing
 *    literals decoded here): exactly, because dynamic indices count from the newest entry;
 *  - references to entries inserted before the capture started: not recoverable. Such a field has
 *    `unknown: true`; the unknown part is the placeholder `UNKNOWN_NAME` / `UNKNOWN_VALUE`
 *    ("<unknown>"). A literal with incremental indexing whose name is unknown still inserts an
 *    entry (name placeholder, value known), so later index arithmetic stays right.
 *  - table size: only known entries are counted, so `size` is a lower bound until the unknown
 *    entries are provably gone (size update to 0, or known entries fill a known maximum).
 * The decoder never produces a wrong name or value in this mode: everything it cannot know is
 * flagged `unknown`. It does so as long as it saw every header block since the start; after a loss
 * (or a decoding error) call `loseSync()` to re-enter the same mode.
 */
import {
  HeaderListTooLargeError,
  InvalidIndexError,
  StringTooLongError,
  TableSizeUpdateError,
  TruncatedError,
} from './errors.js';
import { huffmanDecode } from './huffman.js';
import { decodeInteger, type IntegerResult } from './integer.js';
import { DynamicTable, ENTRY_OVERHEAD, type DynamicEntry } from './dynamic-table.js';
import { STATIC_TABLE, STATIC_TABLE_LENGTH } from './static-table.js';

/** SETTINGS_HEADER_TABLE_SIZE initial value (RFC 9113 §6.5.2). */
export const DEFAULT_HEADER_TABLE_SIZE = 4096;
/** Default limit on one string literal, in octets (decoded). */
export const DEFAULT_MAX_STRING_LENGTH = 1 << 20;
/**
 * Default limit on the fields kept from one header block, in octets of RFC 7541 §4.1 / RFC 9113
 * §6.5.2 accounting (Σ name + value octets + 32). HPACK lets a 1-octet indexed representation stand
 * for a whole dynamic-table entry (up to the table size, 4 KiB by default), so a block of a few
 * kilobytes can expand to hundreds of megabytes; the limit caps what one block can cost. 256 KiB is
 * far above real header lists (servers commonly refuse 8–64 KiB; the hpack-test-case corpus peaks
 * near 2 KiB) while bounding the expansion to 256 KiB per block.
 */
export const DEFAULT_MAX_HEADER_LIST_SIZE = 256 * 1024;
/**
 * Default limit on the fields kept from one header block. Small fields (an indexed `:method: GET`
 * counts 42 octets) would otherwise allow ~6,000 field records per block under the octet limit;
 * 1000 is well above real lists (Node's HTTP/2 default `maxHeaderListPairs` is 128).
 */
export const DEFAULT_MAX_HEADER_FIELDS = 1000;
/**
 * Dynamic table size updates kept per block in `DecodedBlock.sizeUpdates` (all are applied and
 * counted in `sizeUpdateCount`). RFC 7541 §4.2 needs at most two per block — the smallest maximum
 * and the final one —, but nothing stops an encoder from sending a million.
 */
export const MAX_SIZE_UPDATES_KEPT = 16;
/** Newest dynamic entries listed in a table summary (`tableSnapshot`); the rest are only counted. */
export const MAX_REPORTED_TABLE_ENTRIES = 32;
/** Placeholder for a name or value that refers to a dynamic entry from before the capture. */
export const UNKNOWN_NAME = '<unknown>';
export const UNKNOWN_VALUE = '<unknown>';

export type FieldRepresentation = 'indexed' | 'incremental' | 'without-indexing' | 'never-indexed';

export interface DecodedField {
  name: string;
  value: string;
  rep: FieldRepresentation;
  /** For `indexed`: the HPACK index (1–61 static, 62+ dynamic) as on the wire. */
  index?: number;
  /** Which table `index` (or, for literals, `nameIndex`) refers to. */
  table?: 'static' | 'dynamic';
  /** For literals with an indexed name: the name's HPACK index. */
  nameIndex?: number;
  /** For literals: whether the name (when literal) and value were Huffman-encoded. */
  nameHuffman?: boolean;
  valueHuffman?: boolean;
  /** Octets of the block this representation occupies. */
  wireBytes: number;
  /** Of `wireBytes`, the octets before the value string (prefix + name index or name literal). */
  nameWireBytes: number;
  /** Octet lengths of name and value (strings may hold decoded UTF-8). */
  nameOctets: number;
  valueOctets: number;
  /** Name and/or value refer to a dynamic entry from before the capture: placeholders. */
  unknown?: boolean;
}

export interface DecodedBlock {
  fields: DecodedField[];
  /** Dynamic table size updates at the start of the block (§6.3), in order (at most MAX_SIZE_UPDATES_KEPT). */
  sizeUpdates: number[];
  /** All size updates of the block. */
  sizeUpdateCount: number;
  /** Length of the block in octets. */
  encodedBytes: number;
  /** RFC 9113 §6.5.2 size of the header list: Σ name + value octets + 32. */
  headerListSize: number;
}

/** A bounded summary of the dynamic table: counts and sizes, and only the newest entries. */
export interface TableSnapshot {
  /** The newest MAX_REPORTED_TABLE_ENTRIES (or fewer) known entries, newest first (entries[0] is HPACK index 62). */
  entries: { name: string; value: string; size: number; unknown?: boolean }[];
  /** Known entries in the table (`entries` lists the newest of them). */
  entryCount: number;
  size: number;
  maxSize: number;
  /** The SETTINGS_HEADER_TABLE_SIZE ceiling the encoder must respect. */
  ceiling: number;
  /** Entries older than all known ones may exist (unknown start, lost sync, or forgotten). `size` is then a lower bound. */
  unknownOlderEntries: boolean;
  /** Since the decoder started: entries inserted, evicted (§4.4), forgotten (MAX_TRACKED_TABLE_SIZE), and size updates (§6.3). */
  inserted: number;
  evicted: number;
  forgotten: number;
  sizeUpdates: number;
}

export interface HpackDecoderOptions {
  /** SETTINGS_HEADER_TABLE_SIZE ceiling; also the initial maximum size. Default 4096. */
  maxTableSize?: number;
  maxStringLength?: number;
  maxHeaderListSize?: number;
  /** Fields kept per block (default DEFAULT_MAX_HEADER_FIELDS). */
  maxHeaderFields?: number;
  /** Capture began mid-connection: tolerate references to unknown older dynamic entries. */
  unknownStart?: boolean;
  /** Octets of the newest entries tracked (default MAX_TRACKED_TABLE_SIZE; see dynamic-table.ts). */
  maxTrackedTableSize?: number;
}

export class HpackDecoder {
  private table: DynamicTable;
  private ceiling: number;
  private readonly maxStringLength: number;
  private readonly maxHeaderListSize: number;
  private readonly maxHeaderFields: number;
  private tolerateUnknown: boolean;
  private readonly maxTracked: number | undefined;
  private readonly int: IntegerResult = { value: 0, next: 0 };
  /** Header blocks decoded so far. */
  blocks = 0;
  /** Dynamic table size updates seen so far. */
  sizeUpdates = 0;
  /** Statistics of the tables dropped by loseSync(). */
  private pastInserted = 0;
  private pastEvicted = 0;
  private pastForgotten = 0;

  constructor(opts: HpackDecoderOptions = {}) {
    this.ceiling = opts.maxTableSize ?? DEFAULT_HEADER_TABLE_SIZE;
    this.maxStringLength = opts.maxStringLength ?? DEFAULT_MAX_STRING_LENGTH;
    this.maxHeaderListSize = opts.maxHeaderListSize ?? DEFAULT_MAX_HEADER_LIST_SIZE;
    this.maxHeaderFields = opts.maxHeaderFields ?? DEFAULT_MAX_HEADER_FIELDS;
    this.tolerateUnknown = opts.unknownStart ?? false;
    this.maxTracked = opts.maxTrackedTableSize;
    this.table = new DynamicTable(this.ceiling, { unknownOlder: this.tolerateUnknown, maxTracked: this.maxTracked });
  }

  /**
   * The decoding side's SETTINGS_HEADER_TABLE_SIZE changed (once the SETTINGS is acknowledged).
   * Later size updates may not exceed `n`. If the current maximum is above `n`, the table shrinks now
   * (the encoder must then signal a size update ≤ n at the start of its next block, §4.2).
   */
  setMaxTableSizeLimit(n: number): void {
    this.ceiling = n;
    if (this.table.maxSize > n) this.table.setMaxSize(n, false);
  }

  /** Current ceiling (SETTINGS_HEADER_TABLE_SIZE). */
  get maxTableSizeLimit(): number {
    return this.ceiling;
  }

  /**
   * Forget the dynamic table (after a decoding error or lost bytes): continue in unknown-start
   * mode. Known entries are dropped because their positions can no longer be trusted.
   */
  loseSync(): void {
    this.tolerateUnknown = true;
    this.pastInserted += this.table.inserted;
    this.pastEvicted += this.table.evicted;
    this.pastForgotten += this.table.forgotten;
    this.table = new DynamicTable(this.table.maxSize, { unknownOlder: true, maxTracked: this.maxTracked });
  }

  /** Entries forgotten past MAX_TRACKED_TABLE_SIZE since the decoder started. */
  get forgotten(): number {
    return this.pastForgotten + this.table.forgotten;
  }

  /** Whether the decoder is tolerating unknown dynamic entries (unknown start or lost sync). */
  get unknownMode(): boolean {
    return this.tolerateUnknown;
  }

  /** Dynamic table size facts without copying entries. */
  tableInfo(): { entries: number; size: number; maxSize: number; ceiling: number; unknownOlderEntries: boolean; inserted: number; evicted: number } {
    const t = this.table;
    return { entries: t.length, size: t.size, maxSize: t.maxSize, ceiling: this.ceiling, unknownOlderEntries: t.unknownOlder, inserted: t.inserted, evicted: t.evicted };
  }

  /** A bounded summary of the dynamic table (the newest `maxEntries` entries, copied); made only when asked. */
  tableSnapshot(maxEntries = MAX_REPORTED_TABLE_ENTRIES): TableSnapshot {
    const t = this.table;
    const entries: TableSnapshot['entries'] = [];
    for (let i = 1; i <= Math.min(t.length, maxEntries); i++) {
      const e = t.get(i)!;
      entries.push(e.unknown ? { name: e.name, value: e.value, size: e.size, unknown: true } : { name: e.name, value: e.value, size: e.size });
    }
    return {
      entries,
      entryCount: t.length,
      size: t.size,
      maxSize: t.maxSize,
      ceiling: this.ceiling,
      unknownOlderEntries: t.unknownOlder,
      inserted: this.pastInserted + t.inserted,
      evicted: this.pastEvicted + t.evicted,
      forgotten: this.forgotten,
      sizeUpdates: this.sizeUpdates,
    };
  }

  /**
   * Decode one complete header block. Throws an HpackError; after any error but
   * HeaderListTooLargeError the table is out of sync (the session then calls `loseSync()`).
   *
   * Header list limits (RFC 9113 §6.5.2 SETTINGS_MAX_HEADER_LIST_SIZE accounting, RFC 7541 §4.1
   * entry size): the running list size and field count are checked as each field is decoded. From
   * the first field that would pass `maxHeaderListSize` or `maxHeaderFields`, fields are no longer
   * kept, but the rest of the block is still parsed (linear in its octets, nothing accumulated) so
   * that its insertions keep the dynamic table in sync — as Go's http2 does with
   * `SetEmitEnabled(false)`. The block then ends in a HeaderListTooLargeError carrying the block
   * with the fields kept and the full `headerListSize`.
   */
  decode(block: Uint8Array): DecodedBlock {
    const fields: DecodedField[] = [];
    const sizeUpdates: number[] = [];
    let sizeUpdateCount = 0;
    const buf = block;
    const int = this.int;
    let listSize = 0;
    /** Field representations seen (kept or not). */
    let seen = 0;
    /** Fields are kept until a header list limit is passed; then which one. */
    let over: 'octets' | 'fields' | null = null;
    let pos = 0;
    this.blocks++;
    while (pos < buf.length) {
      const start = pos;
      const b = buf[pos];
      if (b & 0x80) {
        // RFC 7541 §6.1 Indexed Header Field Representation — 1xxxxxxx (7-bit index)
        decodeInteger(buf, pos, 7, int);
        pos = int.next;
        const index = int.value;
        const f = this.lookup(index, start, true);
        f.rep = 'indexed';
        f.wireBytes = pos - start;
        f.nameWireBytes = pos - start;
        seen++;
        listSize += f.nameOctets + f.valueOctets + ENTRY_OVERHEAD;
        if (over === null) over = this.overLimit(listSize, fields.length);
        if (over === null) fields.push(f);
        continue;
      }
      if ((b & 0xe0) === 0x20) {
        // RFC 7541 §6.3 Dynamic Table Size Update — 001xxxxx (5-bit max size)
        // Only at the beginning of a header block (§4.2), and not above the ceiling.
        if (seen > 0) throw new TableSizeUpdateError('not at the start of the header block', start);
        decodeInteger(buf, pos, 5, int);
        pos = int.next;
        if (int.value > this.ceiling) {
          throw new TableSizeUpdateError(`size ${int.value} exceeds SETTINGS_HEADER_TABLE_SIZE ${this.ceiling}`, start);
        }
        this.table.setMaxSize(int.value);
        if (sizeUpdates.length < MAX_SIZE_UPDATES_KEPT) sizeUpdates.push(int.value);
        sizeUpdateCount++;
        this.sizeUpdates++;
        continue;
      }
      let rep: FieldRepresentation;
      let prefix: number;
      if ((b & 0xc0) === 0x40) {
        // RFC 7541 §6.2.1 Literal Header Field with Incremental Indexing — 01xxxxxx (6-bit name index)
        rep = 'incremental';
        prefix = 6;
      } else if ((b & 0xf0) === 0x10) {
        // RFC 7541 §6.2.3 Literal Header Field Never Indexed — 0001xxxx (4-bit name index)
        rep = 'never-indexed';
        prefix = 4;
      } else {
        // RFC 7541 §6.2.2 Literal Header Field without Indexing — 0000xxxx (4-bit name index)
        rep = 'without-indexing';
        prefix = 4;
      }
      decodeInteger(buf, pos, prefix, int);
      pos = int.next;
      const nameIndex = int.value;
      let f: DecodedField;
      if (nameIndex === 0) {
        // New name: a string literal follows (§5.2).
        pos = this.readString(buf, pos);
        f = {
          name: this.str,
          value: '',
          rep,
          nameHuffman: this.strHuffman,
          wireBytes: 0,
          nameWireBytes: 0,
          nameOctets: this.strOctets,
          valueOctets: 0,
        };
      } else {
        // Indexed name (§6.2.x with index ≠ 0).
        const ref = this.lookup(nameIndex, start, false);
        f = {
          name: ref.name,
          value: '',
          rep,
          nameIndex,
          table: ref.table,
          wireBytes: 0,
          nameWireBytes: 0,
          nameOctets: ref.nameOctets,
          valueOctets: 0,
        };
        if (ref.unknown) f.unknown = true;
      }
      f.nameWireBytes = pos - start;
      pos = this.readString(buf, pos);
      f.value = this.str;
      f.valueOctets = this.strOctets;
      f.valueHuffman = this.strHuffman;
      f.wireBytes = pos - start;
      if (rep === 'incremental') {
        const entry: DynamicEntry = {
          name: f.name,
          value: f.value,
          size: f.nameOctets + f.valueOctets + ENTRY_OVERHEAD,
          nameOctets: f.nameOctets,
          valueOctets: f.valueOctets,
          ...(f.unknown ? { unknown: true } : {}),
        };
        this.table.add(entry);
      }
      seen++;
      listSize += f.nameOctets + f.valueOctets + ENTRY_OVERHEAD;
      if (over === null) over = this.overLimit(listSize, fields.length);
      if (over === null) fields.push(f);
    }
    const result: DecodedBlock = { fields, sizeUpdates, sizeUpdateCount, encodedBytes: buf.length, headerListSize: listSize };
    if (over !== null) {
      throw new HeaderListTooLargeError(listSize, this.maxHeaderListSize, result, {
        count: seen,
        limit: this.maxHeaderFields,
        kept: fields.length,
        byCount: over === 'fields',
      });
    }
    return result;
  }

  /** Which header list limit the next field passes (`listSize` already includes it), if any. */
  private overLimit(listSize: number, kept: number): 'octets' | 'fields' | null {
    if (listSize > this.maxHeaderListSize) return 'octets';
    return kept >= this.maxHeaderFields ? 'fields' : null;
  }

  // Result slots of readString (avoid a tuple allocation per string).
  private str = '';
  private strOctets = 0;
  private strHuffman = false;

  /** RFC 7541 §5.2 String Literal Representation — H bit + 7-bit length, then octets. */
  private readString(buf: Uint8Array, pos: number): number {
    if (pos >= buf.length) throw new TruncatedError('string literal expected', pos);
    const huffman = (buf[pos] & 0x80) !== 0;
    decodeInteger(buf, pos, 7, this.int);
    const len = this.int.value;
    const start = this.int.next;
    const end = start + len;
    if (end > buf.length) throw new TruncatedError(`string of ${len} octets, ${buf.length - start} left`, pos);
    let octets: Uint8Array;
    if (huffman) {
      // Codes are at most 30 bits: the decoded string has at least floor(8·len/30) octets. Reject
      // before decoding when even that exceeds the limit.
      if (Math.floor((len * 8) / 30) > this.maxStringLength) throw new StringTooLongError(len, this.maxStringLength, pos);
      octets = huffmanDecode(buf, start, end, pos);
    } else {
      octets = buf.subarray(start, end);
    }
    if (octets.length > this.maxStringLength) throw new StringTooLongError(octets.length, this.maxStringLength, pos);
    this.str = octetsToString(octets);
    this.strOctets = octets.length;
    this.strHuffman = huffman;
    return end;
  }

  private lookup(
    index: number,
    offset: number,
    full: boolean,
  ): DecodedField {
    if (index === 0) throw new InvalidIndexError(0, this.table.length, offset);
    if (index <= STATIC_TABLE_LENGTH) {
      const e = STATIC_TABLE[index - 1];
      // Static entries are ASCII: octets = string length.
      const f: DecodedField = {
        name: e.name,
        value: full ? e.value : '',
        rep: 'indexed',
        table: 'static',
        wireBytes: 0,
        nameWireBytes: 0,
        nameOctets: e.name.length,
        valueOctets: full ? e.value.length : 0,
      };
      if (full) f.index = index;
      return f;
    }
    const d = index - STATIC_TABLE_LENGTH;
    const e = this.table.get(d);
    if (e) {
      const f: DecodedField = {
        name: e.name,
        value: full ? e.value : '',
        rep: 'indexed',
        table: 'dynamic',
        wireBytes: 0,
        nameWireBytes: 0,
        nameOctets: e.nameOctets,
        valueOctets: full ? e.valueOctets : 0,
      };
      if (full) f.index = index;
      if (e.unknown) f.unknown = true;
      return f;
    }
    // Unknown older entries: from before the capture (unknownStart), after lost sync, or forgotten
    // past MAX_TRACKED_TABLE_SIZE (dynamic-table.ts).
    if (this.table.unknownOlder) {
      const f: DecodedField = {
        name: UNKNOWN_NAME,
        value: full ? UNKNOWN_VALUE : '',
        rep: 'indexed',
        table: 'dynamic',
        wireBytes: 0,
        nameWireBytes: 0,
        nameOctets: 0,
        valueOctets: 0,
        unknown: true,
      };
      if (full) f.index = index;
      return f;
    }
    throw new InvalidIndexError(index, this.table.length, offset);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Header octets to a string: ASCII as is; valid UTF-8 decoded; anything else as Latin-1. */
function octetsToString(o: Uint8Array): string {
  let ascii = true;
  for (let i = 0; i < o.length; i++) {
    if (o[i] & 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) {
    if (o.length < 32) {
      let s = '';
      for (let i = 0; i < o.length; i++) s += String.fromCharCode(o[i]);
      return s;
    }
    return Buffer.from(o.buffer, o.byteOffset, o.length).toString('latin1');
  }
  try {
    return utf8.decode(o);
  } catch {
    return Buffer.from(o.buffer, o.byteOffset, o.length).toString('latin1');
  }
}
