/**
 * Header-compression table history of ONE connection, recorded on demand (the view's HPACK/QPACK
 * inspector): for each header block (HPACK, RFC 7541) or field section (QPACK, RFC 9204) a sender
 * emitted, the decoder's dynamic table as it was just before the block, what the block did to it
 * (size updates, insertions, evictions) and what each field cost on the wire against its HTTP/1.1
 * text.
 *
 * Never part of an analysis the CLI reports: the view server analyses the capture again inside
 * `recordHeaderTables(connectionId, …)`, and only the HTTP/2 or HTTP/3 session of that connection
 * (constructed inside that call, found through AsyncLocalStorage) copies its tables, so nothing is
 * kept for any other connection or any other analysis running at the same time.
 *
 * Bounds: MAX_TAP_BLOCKS blocks per connection (later ones counted in `droppedBlocks`) and
 * MAX_TAP_ENTRIES entries listed per table (the newest; `entryCount` has them all).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Side } from './model/types.js';

/** Header blocks (both directions together) recorded per connection. */
export const MAX_TAP_BLOCKS = 4000;
/** Newest dynamic-table entries listed per table snapshot. */
export const MAX_TAP_ENTRIES = 128;

export interface TableEntryRecord {
  /** HPACK index (62 = newest) or QPACK absolute index. */
  index: number;
  name: string;
  value: string;
  /** RFC 7541 §4.1 / RFC 9204 §3.2.1 entry size: name + value octets + 32. */
  size: number;
  unknown?: boolean;
}

export interface TableStateRecord {
  /** Newest first, at most MAX_TAP_ENTRIES. */
  entries: TableEntryRecord[];
  entryCount: number;
  size: number;
  /** HPACK maximum table size / QPACK capacity. */
  maxSize: number;
  /** Entries older than all known ones may exist (capture began mid-connection, lost bytes). */
  unknownOlderEntries: boolean;
  /** Since the connection's start: entries inserted and evicted (QPACK: absolute insert count). */
  inserted: number;
  evicted: number;
}

export interface FieldCostRecord {
  name: string;
  value: string;
  /** Representation as on the wire (HPACK: indexed / incremental / without-indexing / never-indexed; QPACK §4.5). */
  rep: string;
  table?: 'static' | 'dynamic';
  index?: number;
  /** Octets this field took in the block; null where the codec does not say (QPACK). */
  wireBytes: number | null;
  /** `Name: value\r\n` (hpack/stats.ts http1LineBytes). */
  http1Bytes: number;
  /** This field added an entry to the dynamic table (HPACK incremental indexing). */
  inserted?: boolean;
  huffman?: boolean;
  unknown?: boolean;
}

export interface HeaderBlockRecord {
  codec: 'hpack' | 'qpack';
  /** The sender of the block (its peer's decoder is the one replayed). */
  side: Side;
  streamId: number;
  /** HPACK: HEADERS (with CONTINUATIONs) or PUSH_PROMISE; QPACK: HEADERS. */
  kind: 'HEADERS' | 'PUSH_PROMISE';
  time: number;
  packet: number | null;
  /** The table just before this block. */
  before: TableStateRecord;
  /** HPACK §6.3 dynamic table size updates at the block's start (in order). */
  sizeUpdates: number[];
  /**
   * Entries inserted and evicted by this block (HPACK) or, for QPACK, by the encoder-stream
   * instructions since the previous section of the same sender (RFC 9204 §4.3).
   */
  inserted: number;
  evicted: number;
  /** QPACK capacity changes since the previous section (§4.3.1 Set Dynamic Table Capacity). */
  capacityUpdates?: number;
  fields: FieldCostRecord[];
  /** Octets of the block on the wire and of the same fields as HTTP/1.1 lines. */
  encodedBytes: number;
  http1Bytes: number;
  /** The block could not be decoded (the decoder lost sync here). */
  error?: string;
}

export interface HeaderTableHistory {
  connectionId: number;
  codec: 'hpack' | 'qpack' | null;
  blocks: HeaderBlockRecord[];
  /** Blocks past MAX_TAP_BLOCKS, not recorded. */
  droppedBlocks: number;
}

/** What a session gets when its connection is the one being recorded. */
export class HeaderTap {
  readonly history: HeaderTableHistory;
  constructor(connectionId: number) {
    this.history = { connectionId, codec: null, blocks: [], droppedBlocks: 0 };
  }
  /** False once MAX_TAP_BLOCKS are recorded (the caller then skips copying tables). */
  get wants(): boolean {
    if (this.history.blocks.length < MAX_TAP_BLOCKS) return true;
    this.history.droppedBlocks++;
    return false;
  }
  add(b: HeaderBlockRecord): void {
    this.history.codec ??= b.codec;
    this.history.blocks.push(b);
  }
}

const current = new AsyncLocalStorage<HeaderTap>();

/** Run an analysis (`run`) recording the header tables of connection `connectionId`. */
export async function recordHeaderTables<T>(connectionId: number, run: () => Promise<T>): Promise<{ result: T; history: HeaderTableHistory }> {
  const tap = new HeaderTap(connectionId);
  const result = await current.run(tap, run);
  return { result, history: tap.history };
}

/** For a session being constructed: the tap, when its connection is the one being recorded. */
export function headerTapFor(connectionId: number): HeaderTap | null {
  const t = current.getStore();
  return t && t.history.connectionId === connectionId ? t : null;
}

/** `Name: value\r\n` in octets, as hpack/stats.ts counts HTTP/1.1 text. */
export function http1Line(name: string, value: string): number {
  return utf8Length(name) + 2 + utf8Length(value) + 2;
}

function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}
