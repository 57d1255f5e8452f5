/**
 * One direction of a TCP connection: sequence tracking and in-order delivery with explicit gaps.
 *
 * Offsets are stream-relative (0 = first byte after the SYN, or the first byte seen when the SYN was
 * not captured) and kept as plain numbers, so streams longer than 4 GiB and sequence numbers that
 * wrap at 2^32 are both handled: a raw sequence number is turned into an offset by its signed 32-bit
 * distance from the next expected byte (RFC 9293 §3.4: comparisons are modulo 2^32; segments are
 * always within ±2^31 of each other on a real connection).
 *
 * How a segment [rel, end) relates to what was delivered up to `next`:
 *
 *     delivered            next
 *   ───────────────────────┤
 *   [rel ─── end)                      end ≤ next: duplicate (retransmission), dropped
 *               [rel ───────┼──── end) rel < next < end: overlap, the new tail is delivered
 *                           [rel ── end)  rel = next: delivered, then buffered segments drained
 *                           │    [rel ── end) rel > next: a hole; buffered (copied) until the hole
 *                                          is filled, skipped (see below), or limits are hit
 *
 * A hole is given up — delivered as a gap (`skipped` on the next chunk, counted in lostBytes) — when
 * the peer acknowledges bytes beyond it (the receiver got data the capture missed), when buffered
 * data passes the per-connection or global limit, or when the direction or connection ends.
 *
 * Conflicting overlaps: the first copy of a byte that is delivered wins; a later copy of it is
 * dropped. When the dropped copy carries *different* bytes, the receiver may have used either: it
 * processes only the new part of a segment (RFC 9293 §3.10.7.4), so it keeps whichever copy reached
 * it first, which need not be the one the capture saw first — the classic way to hide a request
 * from a monitor, and what Wireshark flags as a segment data overlap conflict. So each direction
 * keeps a copy of its delivered bytes that the peer has not acknowledged yet (`Retained`, at most
 * MAX_RETAINED_BYTES_PER_DIRECTION, and MAX_RETAINED_BYTES_TOTAL across connections) and compares
 * only the overlapping bytes of a dropped copy with it: O(overlap), so O(1) amortised per byte of
 * input. A conflict is reported through `onConflict` with both packet numbers. Bytes already
 * acknowledged are not compared (the receiver had its copy before the other one arrived).
 */
import type { DirectionMarkRecorder } from './marks.js';
import type { DirectionStats, Side } from '../model/types.js';
import type { StreamChunk } from './stream.js';

/** Out-of-order bytes buffered per connection before the oldest hole is skipped. */
export const MAX_OOO_BYTES_PER_CONNECTION = 8 * 1024 * 1024;
/** Out-of-order segments buffered per direction before the oldest hole is skipped. */
export const MAX_OOO_SEGMENTS_PER_DIRECTION = 4096;
/**
 * A segment that fills a hole within this much capture time of the highest segment is counted as
 * out-of-order (reordered in flight); later, as a retransmission. Wireshark's default heuristic.
 */
export const REORDER_WINDOW_MS = 3;

/**
 * Delivered, not yet acknowledged bytes kept per direction to compare later copies against (see
 * the header): the largest unscaled TCP window. Retransmissions reach back at most one window.
 */
export const MAX_RETAINED_BYTES_PER_DIRECTION = 64 * 1024;
/** Delivered chunks indexed per direction (to name the packet whose copy was kept). */
export const MAX_RETAINED_CHUNKS_PER_DIRECTION = 1024;
/**
 * Smallest retained-byte buffer, grown by doubling up to MAX_RETAINED_BYTES_PER_DIRECTION (a
 * direction keeps the largest its unacknowledged bytes needed); small requests and responses fit.
 */
const RETAINED_INITIAL_BYTES = 512;
const RETAINED_INITIAL_CHUNKS = 8;

const TWO32 = 4294967296;

interface Held {
  rel: number;
  data: Uint8Array;
  time: number;
  packet: number;
}

export function newDirectionStats(): DirectionStats {
  return {
    packets: 0,
    frameBytes: 0,
    payloadBytes: 0,
    deliveredBytes: 0,
    retransmissions: 0,
    outOfOrder: 0,
    lostBytes: 0,
    zeroWindow: 0,
    truncatedSegments: 0,
  };
}

export type Deliver = (side: Side, chunk: StreamChunk) => void;

/** Capacity of the retained-byte buffers of all directions (limit MAX_RETAINED_BYTES_TOTAL in table.ts). */
export interface RetainBudget {
  bytes: number;
  readonly limit: number;
  count(name: string, n?: number): void;
}

/** A later copy of delivered bytes that differs from the copy that was delivered (see the header). */
export interface OverlapConflict {
  side: Side;
  /** Overlapping stream offsets compared, [from, to). */
  from: number;
  to: number;
  /** First differing offset, and how many of the compared bytes differ. */
  firstDiff: number;
  differing: number;
  /** Packet whose copy was delivered (kept), and the one whose copy was dropped. */
  keptPacket: number;
  droppedPacket: number;
  time: number;
}

/** Global accounting shared by all directions (the total out-of-order limits live in the table). */
export interface HeldBudget {
  /** Out-of-order payload bytes held. */
  held: number;
  /**
   * Out-of-order segments held. Each costs about 270 bytes of heap besides its payload (the copy's
   * own ArrayBuffer and the record), which `held` does not see: a flood of 1-byte segments would
   * otherwise pass the byte limits at 270 times their size.
   */
  segments: number;
}

export class HalfStream {
  readonly stats: DirectionStats = newDirectionStats();
  /** Raw sequence number of offset 0; valid once `based`. */
  private base = 0;
  based = false;
  /** The first bytes of this direction were not seen (no SYN): first chunk says skipped = -1. */
  startUnseen = false;
  private firstChunk = true;
  /** Next offset to deliver. */
  next = 0;
  /** Highest end offset seen. */
  private highest = 0;
  private highestTime = 0;
  private held: Held[] = [];
  heldBytes = 0;
  /** Bytes skipped but not yet reported on a delivered chunk. */
  private pendingSkip = 0;
  /** Offset of the FIN (the sequence number it occupies), or -1. */
  finRel = -1;
  /** FIN or RST reached in stream order. */
  ended = false;
  dataAfterFin = 0;
  lastDataTime: number | null = null;
  firstDataTime: number | null = null;
  /** Delivered bytes not yet acknowledged, for overlap comparison; made at the first delivery. */
  private ret: Retained | null = null;
  /** The retain budget refused this direction a buffer (counted once). */
  private retainRefused = false;
  /** Packet-level evidence (arrivals, late segments), when the table was asked for it (tcp/marks.ts). */
  marks: DirectionMarkRecorder | null = null;

  constructor(
    readonly side: Side,
    private readonly deliver: Deliver,
    private readonly budget: HeldBudget,
    private readonly retainBudget: RetainBudget | null = null,
    private readonly onConflict: ((c: OverlapConflict) => void) | null = null,
  ) {}

  get heldSegments(): number {
    return this.held.length;
  }

  /** SYN (or SYN/ACK) seen with sequence number `seq`: offset 0 is seq + 1. */
  setIsn(seq: number): void {
    if (this.based) return;
    this.base = (seq + 1) % TWO32;
    this.based = true;
  }

  /** Offset of raw sequence number `seq`, relative to the next expected byte (mod 2^32). */
  rel(seq: number): number {
    const expected = (this.base + this.next) % TWO32;
    return this.next + ((seq - expected) | 0);
  }

  /**
   * A segment carrying `payload` (captured) plus `missing` bytes cut by the snaplen.
   * Returns true when the FIN was reached in order by this call.
   */
  segment(seq: number, payload: Uint8Array, missing: number, fin: boolean, time: number, packet: number): boolean {
    if (!this.based) {
      if (payload.length + missing === 0 && !fin) return false;
      // Mid-stream start: the first byte seen is offset 0, and the first chunk says so.
      this.base = seq;
      this.based = true;
      this.startUnseen = true;
    }
    const len = payload.length + missing;
    const rel = this.rel(seq);
    const end = rel + len;
    if (missing > 0) this.stats.truncatedSegments++;
    if (fin && this.finRel < 0) this.finRel = end;
    if (len > 0) {
      const lateBefore = this.marks !== null ? this.stats.retransmissions + this.stats.outOfOrder : 0;
      if (this.lastDataTime === null || time > this.lastDataTime) this.lastDataTime = time;
      if (this.firstDataTime === null) this.firstDataTime = time;
      if (this.finRel >= 0 && rel >= this.finRel && !fin) this.dataAfterFin++;
      if (end <= this.next) {
        this.stats.retransmissions++;
        if (this.ret !== null) this.compare(rel, payload, payload.length, packet, time);
      } else if (rel <= this.next) {
        if (rel < this.next) {
          this.stats.retransmissions++;
          if (this.ret !== null) this.compare(rel, payload, Math.min(this.next - rel, payload.length), packet, time);
        } else if (this.highest > this.next) {
          // Fills (part of) a hole: reordered in flight or a retransmission of lost data.
          if (time - this.highestTime <= REORDER_WINDOW_MS) this.stats.outOfOrder++;
          else this.stats.retransmissions++;
        }
        const from = this.next - rel;
        this.emit(payload, from, missing, rel, time, time, packet);
        this.drain(time);
      } else {
        if (end <= this.highest) {
          if (this.isHeld(rel, end)) this.stats.retransmissions++;
          else if (time - this.highestTime <= REORDER_WINDOW_MS) this.stats.outOfOrder++;
          else this.stats.retransmissions++;
        }
        this.hold(rel, payload, missing, time, packet);
      }
      if (end > this.highest) {
        this.highest = end;
        this.highestTime = time;
      }
      if (this.marks !== null) {
        this.marks.arrival(time, packet, len);
        if (this.stats.retransmissions + this.stats.outOfOrder > lateBefore) this.marks.lateSegment(time, packet, len);
      }
    }
    if (this.finRel >= 0 && !this.ended && this.next >= this.finRel) {
      this.ended = true;
      return true;
    }
    return false;
  }

  /** The peer acknowledged up to raw `ack`: bytes before it that were never seen are a gap. */
  acked(ack: number, time: number): void {
    if (!this.based) return;
    if (this.ret !== null) {
      this.ret.trim(this.rel(ack));
      // The direction is over and the peer has every byte: nothing left to compare.
      if (this.ended && this.ret.start >= this.ret.end) this.releaseRetained();
    }
    if (this.ended) return;
    let ackRel = this.rel(ack);
    if (this.finRel >= 0 && ackRel > this.finRel) ackRel = this.finRel;
    if (ackRel <= this.next) return;
    // The receiver has bytes the capture never saw: skip to the acknowledged point (or the first
    // held segment, if it starts earlier), then deliver whatever became contiguous.
    const target = this.held.length > 0 ? Math.min(ackRel, this.held[0].rel) : ackRel;
    if (target > this.next) this.skipTo(target);
    this.drain(time);
    if (ackRel > this.next && (this.held.length === 0 || this.held[0].rel > this.next)) {
      this.skipTo(this.held.length > 0 ? Math.min(ackRel, this.held[0].rel) : ackRel);
      this.drain(time);
    }
  }

  /** Give up every hole: deliver all held data with gaps (direction or connection ends). */
  flush(time: number): boolean {
    while (this.held.length > 0) {
      if (this.held[0].rel > this.next) this.skipTo(this.held[0].rel);
      this.drain(time);
    }
    if (this.finRel >= 0 && !this.ended && this.next < this.finRel) {
      // Bytes between the last delivered and the FIN were never seen.
      this.skipTo(this.finRel);
    }
    if (this.finRel >= 0 && !this.ended && this.next >= this.finRel) {
      this.ended = true;
      return true;
    }
    return false;
  }

  /** Skip the oldest hole (limits hit). */
  skipOldestHole(time: number): void {
    if (this.held.length === 0) return;
    this.skipTo(this.held[0].rel);
    this.drain(time);
  }

  /** Give the retained bytes back to the budget (the connection is finished). */
  releaseRetained(): void {
    if (this.ret === null) return;
    this.retainBudget!.bytes -= this.ret.buf.length;
    this.ret = null;
  }

  /** Keep a copy of delivered bytes [at, at + data.length) of `packet`. */
  private retain(at: number, data: Uint8Array, packet: number): void {
    let r = this.ret;
    const b = this.retainBudget!;
    if (r === null) {
      if (b.bytes + RETAINED_INITIAL_BYTES > b.limit) return this.refuseRetain();
      b.bytes += RETAINED_INITIAL_BYTES;
      r = this.ret = new Retained(at);
    }
    const want = at + data.length - (r.end === at ? r.start : at);
    if (want > r.buf.length && r.buf.length < MAX_RETAINED_BYTES_PER_DIRECTION) {
      let cap = r.buf.length;
      while (cap < want && cap < MAX_RETAINED_BYTES_PER_DIRECTION) cap *= 2;
      if (b.bytes + cap - r.buf.length <= b.limit) {
        b.bytes += cap - r.buf.length;
        r.grow(cap);
      } else this.refuseRetain();
    }
    r.add(at, data, packet);
  }

  private refuseRetain(): void {
    if (this.retainRefused) return;
    this.retainRefused = true;
    this.retainBudget!.count('retainedTotalLimit');
  }

  /**
   * A copy of [at, at + len) (bytes `src[0..len)`) from `packet` is dropped because those bytes were
   * delivered already: compare it with what was delivered, where that is still retained.
   */
  private compare(at: number, src: Uint8Array, len: number, packet: number, time: number): void {
    const r = this.ret!;
    const lo = Math.max(at, r.start);
    const hi = Math.min(at + len, r.end);
    if (lo >= hi) return;
    const buf = r.buf;
    const cap = buf.length;
    let first = -1;
    let differing = 0;
    let j = lo % cap;
    for (let o = lo; o < hi; o++) {
      if (src[o - at] !== buf[j]) {
        if (first < 0) first = o;
        differing++;
      }
      if (++j === cap) j = 0;
    }
    if (first < 0 || this.onConflict === null) return;
    this.onConflict({ side: this.side, from: lo, to: hi, firstDiff: first, differing, keptPacket: r.packetAt(first), droppedPacket: packet, time });
  }

  private skipTo(rel: number): void {
    const gap = rel - this.next;
    if (gap <= 0) return;
    this.stats.lostBytes += gap;
    this.pendingSkip += gap;
    this.next = rel;
  }

  private isHeld(rel: number, end: number): boolean {
    for (const h of this.held) if (h.rel <= rel && h.rel + h.data.length >= end) return true;
    return false;
  }

  private hold(rel: number, payload: Uint8Array, missing: number, time: number, packet: number): void {
    if (payload.length === 0) {
      // Only snaplen-missing bytes: nothing to hold; the hole will be skipped later.
      return;
    }
    // Keep sorted by offset; usually appended at the end.
    // A copy (the constructor copies; `.slice()` would not, on a Buffer): the payload is a view of
    // the reader's chunk, which is reused or would be kept alive whole by a one-byte segment.
    const h: Held = { rel, data: new Uint8Array(payload), time, packet };
    let i = this.held.length;
    while (i > 0 && this.held[i - 1].rel > rel) i--;
    this.held.splice(i, 0, h);
    this.heldBytes += h.data.length;
    this.budget.held += h.data.length;
    this.budget.segments++;
    if (missing > 0) {
      // The truncated tail is a hole right after this segment; remembered implicitly (next segment
      // will start beyond it), and skipped like any other.
    }
  }

  private drain(time: number): void {
    while (this.held.length > 0 && this.held[0].rel <= this.next) {
      const h = this.held.shift()!;
      this.heldBytes -= h.data.length;
      this.budget.held -= h.data.length;
      this.budget.segments--;
      const end = h.rel + h.data.length;
      if (h.rel < this.next && this.ret !== null) this.compare(h.rel, h.data, Math.min(this.next, end) - h.rel, h.packet, h.time);
      if (end <= this.next) continue;
      this.emit(h.data, this.next - h.rel, 0, h.rel, h.time, time, h.packet);
    }
  }

  private emit(
    payload: Uint8Array,
    from: number,
    missing: number,
    rel: number,
    time: number,
    deliveredTime: number,
    packet: number,
  ): void {
    const data = from > 0 ? payload.subarray(from) : payload;
    if (data.length > 0) {
      const skipped = this.firstChunk && this.startUnseen ? -1 : this.pendingSkip;
      this.firstChunk = false;
      this.pendingSkip = 0;
      this.stats.deliveredBytes += data.length;
      this.next = rel + from + data.length;
      if (this.retainBudget !== null) this.retain(this.next - data.length, data, packet);
      this.deliver(this.side, { data, offset: this.next - data.length, skipped, time, deliveredTime, packet });
    } else {
      this.next = Math.max(this.next, rel + payload.length);
    }
    if (missing > 0) this.skipTo(this.next + missing);
  }
}

/**
 * A direction's delivered bytes [start, end) not yet acknowledged (a ring of `buf.length` bytes,
 * byte at offset o in buf[o % length]) and which packet delivered them (a ring of chunk start
 * offsets and packet numbers; a chunk runs to the next one's start).
 */
class Retained {
  buf = new Uint8Array(RETAINED_INITIAL_BYTES);
  start: number;
  end: number;
  private offs = new Float64Array(RETAINED_INITIAL_CHUNKS);
  private pkts = new Float64Array(RETAINED_INITIAL_CHUNKS);
  private head = 0;
  private n = 0;

  constructor(at: number) {
    this.start = this.end = at;
  }

  /** The peer acknowledged up to offset `ack`: those bytes are no longer compared. */
  trim(ack: number): void {
    if (ack <= this.start) return;
    this.start = Math.min(ack, this.end);
    this.dropChunksBefore();
  }

  grow(cap: number): void {
    const old = this.buf;
    const oc = old.length;
    const next = new Uint8Array(cap);
    // [start, end) moves from ring positions o % oc to o % cap: at most three contiguous runs.
    for (let o = this.start; o < this.end; ) {
      const src = o % oc;
      const dst = o % cap;
      const n = Math.min(this.end - o, oc - src, cap - dst);
      next.set(old.subarray(src, src + n), dst);
      o += n;
    }
    this.buf = next;
  }

  add(at: number, data: Uint8Array, packet: number): void {
    if (at !== this.end) {
      // Not contiguous (a gap was skipped): start over.
      this.start = this.end = at;
      this.n = 0;
    }
    const cap = this.buf.length;
    let d = data;
    let o = at;
    if (d.length > cap) {
      o = at + d.length - cap;
      d = d.subarray(d.length - cap);
    }
    const pos = o % cap;
    const first = Math.min(d.length, cap - pos);
    if (first === d.length) this.buf.set(d, pos);
    else {
      this.buf.set(d.subarray(0, first), pos);
      this.buf.set(d.subarray(first), 0);
    }
    this.end = at + data.length;
    if (this.end - this.start > cap) this.start = this.end - cap;
    this.pushChunk(o, packet);
    this.dropChunksBefore();
  }

  /** The packet that delivered offset `o` (within [start, end)). */
  packetAt(o: number): number {
    const cap = this.offs.length;
    // Binary search for the last chunk starting at or before o.
    let lo = 0;
    let hi = this.n - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.offs[(this.head + mid) % cap] <= o) lo = mid;
      else hi = mid - 1;
    }
    return this.pkts[(this.head + lo) % cap];
  }

  private pushChunk(o: number, packet: number): void {
    let cap = this.offs.length;
    if (this.n === cap) {
      if (cap < MAX_RETAINED_CHUNKS_PER_DIRECTION) {
        const offs = new Float64Array(cap * 2);
        const pkts = new Float64Array(cap * 2);
        for (let i = 0; i < this.n; i++) {
          offs[i] = this.offs[(this.head + i) % cap];
          pkts[i] = this.pkts[(this.head + i) % cap];
        }
        this.offs = offs;
        this.pkts = pkts;
        this.head = 0;
        cap *= 2;
      } else {
        // Chunk index full: forget the oldest chunk's bytes.
        this.head = (this.head + 1) % cap;
        this.n--;
        this.start = Math.max(this.start, this.offs[this.head]);
      }
    }
    const i = (this.head + this.n) % cap;
    this.offs[i] = o;
    this.pkts[i] = packet;
    this.n++;
  }

  /** Drop index entries whose chunk ends at or before `start`. */
  private dropChunksBefore(): void {
    const cap = this.offs.length;
    while (this.n > 1 && this.offs[(this.head + 1) % cap] <= this.start) {
      this.head = (this.head + 1) % cap;
      this.n--;
    }
  }
}
