/**
 * RFC 7541 §2.3.2 / §4 dynamic table: FIFO of header fields, newest first in HPACK indexing
 * (dynamic index 1 = the most recently inserted entry = HPACK index 62).
 *
 * Size accounting (§4.1): an entry's size is its name length + value length in octets + 32.
 * Eviction (§4.4): before inserting, the oldest entries are evicted until the new entry fits; an
 * entry larger than the maximum size empties the table and is not inserted (not an error).
 * Size updates (§4.3): lowering the maximum evicts the oldest entries until the size fits.
 *
 * Unknown start (capture began mid-connection): the table may begin with `unknownOlder = true`,
 * meaning "entries older than everything known may exist, contents and sizes unknown". Since every
 * insertion since the start is observed, the k newest known entries are exactly dynamic indices
 * 1..k; an index beyond them refers to one of the unknown older entries (or to a known entry that
 * we evicted under an assumed maximum smaller than the encoder's real one). `size` then counts only
 * known entries and is a lower bound of the encoder's table size. The unknown state ends when a
 * size update to 0 empties the table, or when the maximum size is known from a size update seen in
 * the capture and the known entries leave less than 32 octets (the smallest possible entry) free.
 *
 * Tracking limit: the encoder's table may be as large as the decoder's SETTINGS_HEADER_TABLE_SIZE
 * allows — up to 4 GiB, i.e. 134 million 32-octet entries. Only the newest entries up to
 * MAX_TRACKED_TABLE_SIZE octets (§4.1 sizes) are kept; older ones are *forgotten*: dropped from the
 * table, which then continues exactly as in unknown-start mode (`unknownOlder`). That is exact for
 * every known entry: forgotten entries are older than all known ones, so the encoder evicts them
 * first (§4.4), and a known entry is evicted only when the known entries alone exceed the maximum.
 * A reference to a forgotten entry decodes as unknown instead of its value; `forgotten` counts them.
 */

export interface DynamicEntry {
  readonly name: string;
  readonly value: string;
  /** name + value octets + 32 (§4.1). For a partially unknown entry, the unknown part counts 0. */
  readonly size: number;
  /** Name octet length (strings may hold decoded UTF-8, so string length ≠ octets). */
  readonly nameOctets: number;
  readonly valueOctets: number;
  /** The name (learned from a reference to an unknown entry) is a placeholder. */
  readonly unknown?: boolean;
}

/** Per-entry overhead of §4.1. */
export const ENTRY_OVERHEAD = 32;

/**
 * Octets (§4.1 entry sizes) of the newest dynamic entries tracked per decoder; older ones are
 * forgotten (see the header). 64× the 4 KiB default and 4× the 64 KiB browsers advertise; at most
 * 8,192 entries (~1 MB of heap) per direction, where a 4 GiB table could hold 134 million.
 */
export const MAX_TRACKED_TABLE_SIZE = 256 * 1024;

export class DynamicTable {
  /** Ring buffer: entries[(head + i) % cap] for i in [0, count), oldest first. */
  private ring: (DynamicEntry | undefined)[] = new Array(16);
  private head = 0;
  private count = 0;
  /** Sum of entry sizes (known entries). */
  size = 0;
  /** Current maximum size (as set by the last size update, or the initial ceiling). */
  maxSize: number;
  /** Older entries of unknown content may exist (unknown-start mode). */
  unknownOlder = false;
  /** maxSize was learned from a size update in the capture (vs assumed). */
  maxSizeKnown: boolean;
  /** Entries inserted since creation, and evicted (statistics). */
  inserted = 0;
  evicted = 0;
  /** Entries dropped past `maxTracked` while the encoder may still hold them (see the header). */
  forgotten = 0;
  private readonly maxTracked: number;

  constructor(maxSize: number, opts: { unknownOlder?: boolean; maxTracked?: number } = {}) {
    this.maxSize = maxSize;
    this.unknownOlder = opts.unknownOlder ?? false;
    this.maxSizeKnown = !this.unknownOlder;
    this.maxTracked = opts.maxTracked ?? MAX_TRACKED_TABLE_SIZE;
  }

  get length(): number {
    return this.count;
  }

  /** Entry at dynamic index `i` (1 = newest), or undefined beyond the known entries. */
  get(i: number): DynamicEntry | undefined {
    if (i < 1 || i > this.count) return undefined;
    return this.ring[(this.head + this.count - i) % this.ring.length];
  }

  /** §4.4 Entry Eviction When Adding New Entries. */
  add(entry: DynamicEntry): void {
    this.inserted++;
    if (entry.size > this.maxSize) {
      // §4.4: an entry larger than the maximum size empties the table (unknown entries too, if the
      // maximum is known rather than assumed).
      this.evictTo(0);
      if (this.maxSizeKnown) this.unknownOlder = false;
      return;
    }
    this.evictTo(this.maxSize - entry.size);
    if (this.size + entry.size > this.maxTracked) this.forget(this.maxTracked - entry.size);
    if (this.count === this.ring.length) this.grow();
    this.ring[(this.head + this.count) % this.ring.length] = entry;
    this.count++;
    this.size += entry.size;
    this.settleUnknown();
  }

  /** §4.3 Entry Eviction When Dynamic Table Size Changes. */
  setMaxSize(n: number, fromWire = true): void {
    this.maxSize = n;
    if (fromWire) this.maxSizeKnown = true;
    this.evictTo(n);
    if (n === 0) this.unknownOlder = false;
    this.settleUnknown();
  }

  /** Newest first, as HPACK indexes them. Copies. */
  entries(): DynamicEntry[] {
    const out: DynamicEntry[] = [];
    for (let i = 1; i <= this.count; i++) out.push(this.get(i) as DynamicEntry);
    return out;
  }

  private evictTo(limit: number): void {
    this.evicted += this.dropOldest(limit);
  }

  /** Past the tracking limit: drop the oldest known entries; the table has unknown older ones now. */
  private forget(limit: number): void {
    const n = this.dropOldest(limit);
    if (n === 0) return;
    this.forgotten += n;
    this.unknownOlder = true;
  }

  private dropOldest(limit: number): number {
    let n = 0;
    while (this.size > limit && this.count > 0) {
      const e = this.ring[this.head] as DynamicEntry;
      this.ring[this.head] = undefined;
      this.head = (this.head + 1) % this.ring.length;
      this.count--;
      this.size -= e.size;
      n++;
    }
    if (this.count === 0) this.size = 0;
    return n;
  }

  private settleUnknown(): void {
    if (this.unknownOlder && this.maxSizeKnown && this.maxSize - this.size < ENTRY_OVERHEAD) this.unknownOlder = false;
  }

  private grow(): void {
    const next: (DynamicEntry | undefined)[] = new Array(this.ring.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = this.ring[(this.head + i) % this.ring.length];
    this.ring = next;
    this.head = 0;
  }
}
