/**
 * RFC 9204 QPACK decoding, one decoder per direction of an HTTP/3 connection (the side whose
 * encoder stream and field sections it reads), in the style of the HPACK decoder
 * (http2/hpack/decoder.ts), whose integer and Huffman code it reuses (QPACK uses RFC 7541 §5.1
 * integers and §5.2 Huffman strings, with prefixes of other widths).
 *
 *   encoder stream ──encoderStream(bytes)──► dynamic table (absolute indices 0, 1, …)
 *   HEADERS payload ──decodeSection(block)──► fields, or `blocked` until the table has
 *                                             Required Insert Count entries (§2.1.2)
 *
 * The dynamic table is bounded by its capacity (Set Dynamic Table Capacity, §4.3.1), itself bounded
 * by the decoding side's SETTINGS_QPACK_MAX_TABLE_CAPACITY and by MAX_QPACK_TABLE_CAPACITY.
 * Limits at the allocation points: string literals (MAX_QPACK_STRING_LENGTH), fields per section
 * and their RFC 9114 §4.2.2 size (name + value + 32), encoder-stream bytes buffered for one
 * instruction. Errors are `QpackError`s with stable codes; the session turns them into anomalies.
 *
 * Unknown state (§2.2.3 style): a reference to an entry already evicted, or to one inserted while
 * encoder-stream bytes were lost, cannot be recovered: such a field gets the placeholder
 * '<unknown>' and `unknown: true`, and the section is marked incomplete — never a wrong value.
 */
import { HpackError } from '../../http2/hpack/errors.js';
import { huffmanDecode } from '../../http2/hpack/huffman.js';
import { decodeInteger, type IntegerResult } from '../../http2/hpack/integer.js';
import { QPACK_STATIC_TABLE, QPACK_STATIC_TABLE_LENGTH } from './static-table.js';

/** Largest dynamic table capacity honoured, whatever SETTINGS allow (§3.2.3). */
export const MAX_QPACK_TABLE_CAPACITY = 1 << 20;
/** Largest string literal decoded (octets after Huffman decoding). */
export const MAX_QPACK_STRING_LENGTH = 1 << 20;
/** Fields kept per section, and their size (RFC 9114 §4.2.2: name + value + 32 each). */
export const MAX_QPACK_SECTION_FIELDS = 1000;
export const MAX_QPACK_SECTION_SIZE = 256 * 1024;
/** Encoder-stream octets buffered while one instruction is incomplete. */
export const MAX_QPACK_INSTRUCTION_BYTES = MAX_QPACK_STRING_LENGTH + 64;
/** §2.1.1.1: an entry's size is its name and value lengths plus 32. */
export const QPACK_ENTRY_OVERHEAD = 32;
export const QPACK_UNKNOWN = '<unknown>';

export type QpackErrorCode =
  | 'QPACK_DECOMPRESSION_FAILED'
  | 'QPACK_ENCODER_STREAM_ERROR'
  | 'QPACK_INVALID_INDEX'
  | 'QPACK_STRING_TOO_LONG'
  | 'QPACK_SECTION_TOO_LARGE';

export class QpackError extends Error {
  constructor(
    readonly code: QpackErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'QpackError';
  }
}

export interface QpackField {
  name: string;
  value: string;
  /**
   * How it was encoded (§4.5.2–§4.5.6): 'indexed', 'indexed-post-base', 'literal-name-ref',
   * 'literal-post-base-name-ref', 'literal'.
   */
  rep: 'indexed' | 'indexed-post-base' | 'literal-name-ref' | 'literal-post-base-name-ref' | 'literal';
  table?: 'static' | 'dynamic';
  /** Static index, or the dynamic entry's absolute index. */
  index?: number;
  /** Never-indexed bit (N, §4.5.4): an intermediary must keep it literal. */
  neverIndexed?: boolean;
  huffman?: boolean;
  /** Refers to a dynamic entry the decoder could not know (evicted, or lost with encoder-stream bytes). */
  unknown?: boolean;
}

export type SectionResult =
  | { kind: 'ok'; fields: QpackField[]; requiredInsertCount: number; base: number; incomplete: boolean; droppedFields: number }
  | { kind: 'blocked'; requiredInsertCount: number }
  | { kind: 'error'; error: QpackError };

interface Entry {
  name: string;
  value: string;
}

export interface QpackTableSnapshot {
  capacity: number;
  size: number;
  insertCount: number;
  /** Newest first: absolute index, name, value. */
  entries: { index: number; name: string; value: string }[];
}

/** Entries listed in a snapshot (the table itself is bounded by capacity). */
export const MAX_SNAPSHOT_ENTRIES = 128;

export class QpackDecoder {
  /** The decoding side's SETTINGS_QPACK_MAX_TABLE_CAPACITY (§3.2.3); null until its SETTINGS are seen. */
  private maxCapacity: number | null = null;
  private capacity = 0;
  private size = 0;
  /** Entries by absolute index: entries[head + i - dropped] (a queue: evictions advance `head`). */
  private entries: Entry[] = [];
  private head = 0;
  private dropped = 0;
  /** Inserts whose name or value is unknown (encoder-stream bytes lost): absolute indices. */
  private unknownFrom = Number.POSITIVE_INFINITY;
  private buf = new Uint8Array(256);
  private bufLen = 0;
  private encoderBroken: QpackError | null = null;
  private readonly int: IntegerResult = { value: 0, next: 0 };
  /** Instructions applied, by kind. */
  readonly stats = { inserts: 0, duplicates: 0, capacityUpdates: 0, evictions: 0 };

  get insertCount(): number {
    return this.dropped + this.entries.length - this.head;
  }

  get encoderError(): QpackError | null {
    return this.encoderBroken;
  }

  /** The decoding side's SETTINGS_QPACK_MAX_TABLE_CAPACITY. */
  setMaxCapacity(n: number): void {
    this.maxCapacity = Math.min(n, MAX_QPACK_TABLE_CAPACITY);
  }

  /** Encoder-stream octets lost to the capture: later references to entries inserted from here may be unknown. */
  loseSync(): void {
    this.bufLen = 0;
    this.unknownFrom = Math.min(this.unknownFrom, this.insertCount);
    // What follows cannot be framed: instructions have no boundaries to find again.
    this.encoderBroken ??= new QpackError('QPACK_ENCODER_STREAM_ERROR', 'encoder stream octets were not captured; later dynamic entries are unknown');
  }

  /** Encoder-stream octets, in order (§4.3). Incomplete instructions are buffered. */
  encoderStream(data: Uint8Array): void {
    if (this.encoderBroken) return;
    this.append(data);
    let pos = 0;
    try {
      while (pos < this.bufLen) {
        const n = this.instruction(this.buf.subarray(0, this.bufLen), pos);
        if (n === 0) break;
        pos = n;
      }
    } catch (e) {
      this.encoderBroken = e instanceof QpackError ? e : new QpackError('QPACK_ENCODER_STREAM_ERROR', (e as Error).message);
      this.bufLen = 0;
      return;
    }
    if (pos > 0) {
      this.buf.copyWithin(0, pos, this.bufLen);
      this.bufLen -= pos;
    }
    if (this.bufLen > MAX_QPACK_INSTRUCTION_BYTES) {
      this.encoderBroken = new QpackError('QPACK_ENCODER_STREAM_ERROR', `encoder instruction longer than ${MAX_QPACK_INSTRUCTION_BYTES} octets`);
      this.bufLen = 0;
    }
  }

  private append(data: Uint8Array): void {
    const need = this.bufLen + data.length;
    if (need > this.buf.length) {
      const b = new Uint8Array(Math.max(need, this.buf.length * 2));
      b.set(this.buf.subarray(0, this.bufLen));
      this.buf = b;
    }
    this.buf.set(data, this.bufLen);
    this.bufLen = need;
  }

  /** One instruction at b[pos]; returns the offset after it, or 0 when it is not complete yet. */
  private instruction(b: Uint8Array, pos: number): number {
    const first = b[pos];
    const int = this.int;
    try {
      if (first & 0x80) {
        // §4.3.2 Insert with Name Reference — 1Txxxxxx (T: static), 6-bit index, then the value.
        decodeInteger(b, pos, 6, int);
        const idx = int.value;
        const nameOf = (first & 0x40) !== 0 ? this.staticName(idx) : this.relativeEntry(idx)?.name ?? null;
        const v = this.string(b, int.next, 7);
        if (v === null) return 0;
        this.insert(nameOf ?? QPACK_UNKNOWN, v.s, nameOf === null);
        return v.next;
      }
      if (first & 0x40) {
        // §4.3.3 Insert with Literal Name — 01Hxxxxx, 5-bit name length, then the value.
        const n = this.string(b, pos, 5);
        if (n === null) return 0;
        const v = this.string(b, n.next, 7);
        if (v === null) return 0;
        this.insert(n.s, v.s, false);
        return v.next;
      }
      if (first & 0x20) {
        // §4.3.1 Set Dynamic Table Capacity — 001xxxxx.
        decodeInteger(b, pos, 5, int);
        const cap = int.value;
        const max = this.maxCapacity ?? MAX_QPACK_TABLE_CAPACITY;
        if (cap > max) throw new QpackError('QPACK_ENCODER_STREAM_ERROR', `table capacity ${cap} above the maximum ${max} (§4.3.1)`);
        this.capacity = cap;
        this.stats.capacityUpdates++;
        this.evict(0);
        return int.next;
      }
      // §4.3.4 Duplicate — 000xxxxx, relative index.
      decodeInteger(b, pos, 5, int);
      const e = this.relativeEntry(int.value);
      this.stats.duplicates++;
      this.insert(e?.name ?? QPACK_UNKNOWN, e?.value ?? QPACK_UNKNOWN, e === null, true);
      return int.next;
    } catch (e) {
      if (e instanceof HpackError && e.code === 'HPACK_TRUNCATED') return 0;
      if (e instanceof HpackError) throw new QpackError('QPACK_ENCODER_STREAM_ERROR', e.message);
      throw e;
    }
  }

  private staticName(idx: number): string {
    if (idx >= QPACK_STATIC_TABLE_LENGTH) throw new QpackError('QPACK_INVALID_INDEX', `static index ${idx} (the table has ${QPACK_STATIC_TABLE_LENGTH})`);
    return QPACK_STATIC_TABLE[idx].name;
  }

  /** §3.2.5: on the encoder stream, relative index 0 is the newest entry. Null: unknown to the capture. */
  private relativeEntry(rel: number): Entry | null {
    const abs = this.insertCount - 1 - rel;
    if (abs < 0) throw new QpackError('QPACK_ENCODER_STREAM_ERROR', `relative index ${rel} with ${this.insertCount} inserts`);
    return this.entry(abs);
  }

  /** The entry at an absolute index, or null when evicted or unknown. */
  private entry(abs: number): Entry | null {
    if (abs < this.dropped || abs >= this.unknownFrom) return null;
    const e = this.entries[this.head + abs - this.dropped];
    return e && e.name !== QPACK_UNKNOWN && e.value !== QPACK_UNKNOWN ? e : null;
  }

  private insert(name: string, value: string, unknown: boolean, duplicate = false): void {
    const size = name.length + value.length + QPACK_ENTRY_OVERHEAD;
    if (size > this.capacity) throw new QpackError('QPACK_ENCODER_STREAM_ERROR', `entry of ${size} octets exceeds the table capacity ${this.capacity} (§3.2.2)`);
    this.evict(size);
    this.entries.push(unknown ? { name: QPACK_UNKNOWN, value: QPACK_UNKNOWN } : { name, value });
    this.size += size;
    if (!duplicate) this.stats.inserts++;
  }

  /** Evict oldest entries until `incoming` more octets fit the capacity (§3.2.2). */
  private evict(incoming: number): void {
    let n = 0;
    while (this.size + incoming > this.capacity && this.head < this.entries.length) {
      const e = this.entries[this.head++];
      this.size -= e.name.length + e.value.length + QPACK_ENTRY_OVERHEAD;
      n++;
    }
    if (n > 0) {
      this.dropped += n;
      this.stats.evictions += n;
      // Compact once the evicted prefix is the larger half: amortised O(1) per entry.
      if (this.head > 64 && this.head * 2 > this.entries.length) {
        this.entries = this.entries.slice(this.head);
        this.head = 0;
      }
    }
  }

  /** A string literal with an N-bit length prefix and the H bit just above it (§4.1.2); null if incomplete. */
  private string(b: Uint8Array, pos: number, prefix: number): { s: string; next: number; huffman: boolean } | null {
    if (pos >= b.length) return null;
    const huffman = (b[pos] & (1 << prefix)) !== 0;
    const int = this.int;
    try {
      decodeInteger(b, pos, prefix, int);
    } catch (e) {
      if (e instanceof HpackError && e.code === 'HPACK_TRUNCATED') return null;
      throw e;
    }
    const len = int.value;
    const start = int.next;
    if (len > MAX_QPACK_STRING_LENGTH) throw new QpackError('QPACK_STRING_TOO_LONG', `string of ${len} octets exceeds ${MAX_QPACK_STRING_LENGTH}`);
    if (start + len > b.length) return null;
    let s: string;
    if (huffman) {
      const o = huffmanDecode(b, start, start + len);
      if (o.length > MAX_QPACK_STRING_LENGTH) throw new QpackError('QPACK_STRING_TOO_LONG', `string of ${o.length} octets exceeds ${MAX_QPACK_STRING_LENGTH}`);
      s = Buffer.from(o.buffer, o.byteOffset, o.length).toString('latin1');
    } else s = Buffer.from(b.buffer, b.byteOffset + start, len).toString('latin1');
    return { s, next: start + len, huffman };
  }

  /**
   * Decodes one encoded field section (§4.5): the HEADERS frame payload. `blocked` when it needs
   * entries the encoder stream has not delivered yet (§2.1.2); call again once it has.
   */
  decodeSection(block: Uint8Array): SectionResult {
    const int = this.int;
    try {
      // §4.5.1 prefix: Required Insert Count (8-bit prefix), then S and Delta Base (7-bit prefix).
      decodeInteger(block, 0, 8, int);
      const ric = this.requiredInsertCount(int.value);
      const sign = int.next < block.length && (block[int.next] & 0x80) !== 0;
      decodeInteger(block, int.next, 7, int);
      const delta = int.value;
      // §4.5.1.2: Base = RIC + DeltaBase, or RIC − DeltaBase − 1 when S is set.
      const base = sign ? ric - delta - 1 : ric + delta;
      if (base < 0) throw new QpackError('QPACK_DECOMPRESSION_FAILED', `negative Base (RIC ${ric}, delta ${delta})`);
      if (ric > this.insertCount && this.encoderBroken === null) return { kind: 'blocked', requiredInsertCount: ric };
      const fields: QpackField[] = [];
      let pos = int.next;
      let size = 0;
      let dropped = 0;
      let incomplete = ric > this.insertCount;
      while (pos < block.length) {
        const r = this.line(block, pos, base);
        pos = r.next;
        const f = r.field;
        if (f.unknown) incomplete = true;
        size += f.name.length + f.value.length + QPACK_ENTRY_OVERHEAD;
        if (fields.length >= MAX_QPACK_SECTION_FIELDS || size > MAX_QPACK_SECTION_SIZE) dropped++;
        else fields.push(f);
      }
      if (dropped > 0) incomplete = true;
      return { kind: 'ok', fields, requiredInsertCount: ric, base, incomplete, droppedFields: dropped };
    } catch (e) {
      if (e instanceof QpackError) return { kind: 'error', error: e };
      if (e instanceof HpackError) return { kind: 'error', error: new QpackError('QPACK_DECOMPRESSION_FAILED', e.message) };
      throw e;
    }
  }

  /** §4.5.1.1: the Required Insert Count from its encoded form. */
  private requiredInsertCount(encoded: number): number {
    if (encoded === 0) return 0;
    const maxEntries = Math.floor((this.maxCapacity ?? MAX_QPACK_TABLE_CAPACITY) / 32);
    const fullRange = 2 * maxEntries;
    if (encoded > fullRange) throw new QpackError('QPACK_DECOMPRESSION_FAILED', `encoded Required Insert Count ${encoded} above ${fullRange}`);
    const maxValue = this.insertCount + maxEntries;
    const maxWrapped = Math.floor(maxValue / fullRange) * fullRange;
    let ric = maxWrapped + encoded - 1;
    if (ric > maxValue) {
      if (ric <= fullRange) throw new QpackError('QPACK_DECOMPRESSION_FAILED', `Required Insert Count ${ric} out of range`);
      ric -= fullRange;
    }
    if (ric === 0) throw new QpackError('QPACK_DECOMPRESSION_FAILED', 'Required Insert Count 0 encoded as non-zero');
    return ric;
  }

  private line(b: Uint8Array, pos: number, base: number): { field: QpackField; next: number } {
    const first = b[pos];
    const int = this.int;
    if (first & 0x80) {
      // §4.5.2 Indexed Field Line — 1Txxxxxx.
      decodeInteger(b, pos, 6, int);
      if (first & 0x40) {
        const e = this.staticEntry(int.value);
        return { field: { name: e.name, value: e.value, rep: 'indexed', table: 'static', index: int.value }, next: int.next };
      }
      const abs = base - 1 - int.value;
      return { field: this.dynField(abs, 'indexed', null), next: int.next };
    }
    if (first & 0x40) {
      // §4.5.4 Literal Field Line with Name Reference — 01NTxxxx, 4-bit index, then the value.
      decodeInteger(b, pos, 4, int);
      const idx = int.value;
      const neverIndexed = (first & 0x20) !== 0;
      const isStatic = (first & 0x10) !== 0;
      const v = this.mustString(b, int.next, 7);
      if (isStatic) {
        const e = this.staticEntry(idx);
        return { field: { name: e.name, value: v.s, rep: 'literal-name-ref', table: 'static', index: idx, neverIndexed, huffman: v.huffman }, next: v.next };
      }
      const f = this.dynField(base - 1 - idx, 'literal-name-ref', v.s);
      f.neverIndexed = neverIndexed;
      f.huffman = v.huffman;
      return { field: f, next: v.next };
    }
    if (first & 0x20) {
      // §4.5.6 Literal Field Line with Literal Name — 001NHxxx, 3-bit name length.
      const neverIndexed = (first & 0x10) !== 0;
      const n = this.mustString(b, pos, 3);
      const v = this.mustString(b, n.next, 7);
      return { field: { name: n.s, value: v.s, rep: 'literal', neverIndexed, huffman: v.huffman }, next: v.next };
    }
    if (first & 0x10) {
      // §4.5.3 Indexed Field Line with Post-Base Index — 0001xxxx.
      decodeInteger(b, pos, 4, int);
      return { field: this.dynField(base + int.value, 'indexed-post-base', null), next: int.next };
    }
    // §4.5.5 Literal Field Line with Post-Base Name Reference — 0000Nxxx, 3-bit index.
    decodeInteger(b, pos, 3, int);
    const abs = base + int.value;
    const v = this.mustString(b, int.next, 7);
    const f = this.dynField(abs, 'literal-post-base-name-ref', v.s);
    f.neverIndexed = (first & 0x08) !== 0;
    f.huffman = v.huffman;
    return { field: f, next: v.next };
  }

  private mustString(b: Uint8Array, pos: number, prefix: number): { s: string; next: number; huffman: boolean } {
    const r = this.string(b, pos, prefix);
    if (r === null) throw new QpackError('QPACK_DECOMPRESSION_FAILED', `field section ends inside a string literal at offset ${pos}`);
    return r;
  }

  private staticEntry(idx: number): { name: string; value: string } {
    if (idx >= QPACK_STATIC_TABLE_LENGTH) throw new QpackError('QPACK_INVALID_INDEX', `static index ${idx} (the table has ${QPACK_STATIC_TABLE_LENGTH})`);
    return QPACK_STATIC_TABLE[idx];
  }

  /** A field from a dynamic entry (its value, or `value` for a literal with a dynamic name). */
  private dynField(abs: number, rep: QpackField['rep'], value: string | null): QpackField {
    if (abs < 0 || abs >= this.insertCount) {
      // Beyond what was inserted (and not merely blocked: the caller checked RIC): a corrupt reference.
      if (this.encoderBroken === null) throw new QpackError('QPACK_INVALID_INDEX', `dynamic index ${abs} with ${this.insertCount} inserts`);
    }
    const e = abs >= 0 && abs < this.insertCount ? this.entry(abs) : null;
    if (e === null) return { name: QPACK_UNKNOWN, value: value ?? QPACK_UNKNOWN, rep, table: 'dynamic', index: abs, unknown: true };
    return { name: e.name, value: value ?? e.value, rep, table: 'dynamic', index: abs };
  }

  snapshot(): QpackTableSnapshot {
    const entries: QpackTableSnapshot['entries'] = [];
    for (let i = this.entries.length - 1; i >= this.head && entries.length < MAX_SNAPSHOT_ENTRIES; i--) {
      const e = this.entries[i];
      entries.push({ index: this.dropped + i - this.head, name: e.name, value: e.value });
    }
    return { capacity: this.capacity, size: this.size, insertCount: this.insertCount, entries };
  }
}
