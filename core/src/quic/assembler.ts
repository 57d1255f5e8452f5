/**
 * Offset-ordered reassembly of one QUIC byte stream (a CRYPTO stream of one epoch and direction,
 * RFC 9000 §19.6, or one direction of a STREAM, §2.2): frames carry (offset, data) and may arrive
 * out of order, repeated (retransmissions) or overlapping; the assembler delivers each stream octet
 * once, in order, as the transport-neutral chunks of tcp/stream.ts.
 *
 * Call order: `deliver` is called during `push`/`flush` with consecutive, non-overlapping pieces;
 * `skipped` > 0 says octets before the piece were never seen (a hole the capture lost). Holes are
 * only delivered as skips when a limit forces it (see below) or at `flush` (connection end) — QUIC
 * retransmits lost frames, so a hole in the capture may still be filled later.
 *
 *   next ─────────────┐
 *   delivered ████████│      pending (sorted by offset, copies)
 *                     │  ░░░  ░░░░      ░░
 *   push(at next)  ──►│ deliver, then drain pending that became contiguous
 *   push(below next)  │ the part below `next` is a duplicate (counted), the rest goes on
 *   push(beyond next) │ copied into `pending` (out of order)
 *
 * Bounded: at most `maxPieces` pending pieces and `maxBytes` pending octets per stream, and a
 * budget shared by every stream of a connection. When a limit would be passed, the oldest pending
 * piece is delivered with the hole before it as a skip (gopacket's "flush oldest"), which the
 * consumer sees as explicit loss. Insertion is a binary search plus a splice over at most
 * `maxPieces` entries, so each frame costs O(maxPieces) at worst and O(1) when in order.
 */

export type DeliverFn = (data: Uint8Array, offset: number, skipped: number, time: number, deliveredTime: number, packet: number) => void;

export interface AssemblerLimits {
  maxPieces: number;
  maxBytes: number;
}

/** Octets held by every assembler of one connection; `max` is its ceiling. */
export interface HeldBudget {
  held: number;
  max: number;
}

interface Piece {
  offset: number;
  data: Uint8Array;
  time: number;
  packet: number;
}

export class OffsetAssembler {
  /** Next stream offset to deliver. */
  next = 0;
  /** Octets received again (retransmissions, overlaps). */
  duplicateBytes = 0;
  /** Frames that arrived beyond `next`. */
  outOfOrder = 0;
  /** Octets delivered as skips (never captured). */
  lostBytes = 0;
  /** Times a limit forced a hole to be given up. */
  forced = 0;
  private pending: Piece[] = [];
  private buffered = 0;

  constructor(
    private readonly deliver: DeliverFn,
    private readonly limits: AssemblerLimits,
    private readonly budget: HeldBudget | null = null,
  ) {}

  get pendingBytes(): number {
    return this.buffered;
  }

  push(offset: number, data: Uint8Array, time: number, packet: number): void {
    const end = offset + data.length;
    if (end <= this.next) {
      this.duplicateBytes += data.length;
      return;
    }
    if (offset < this.next) {
      this.duplicateBytes += this.next - offset;
      data = data.subarray(this.next - offset);
      offset = this.next;
    }
    if (offset === this.next) {
      this.next = offset + data.length;
      this.deliver(data, offset, 0, time, time, packet);
      this.drain(time);
      return;
    }
    this.outOfOrder++;
    while (this.pending.length > 0 && !this.room(data.length)) this.forceOldest(time);
    if (offset === this.next) {
      this.next = offset + data.length;
      this.deliver(data, offset, 0, time, time, packet);
      this.drain(time);
      return;
    }
    if (!this.room(data.length)) {
      // Even alone it does not fit: give up the hole before it now.
      this.forced++;
      const skipped = offset - this.next;
      this.lostBytes += skipped;
      this.next = offset + data.length;
      this.deliver(data, offset, skipped, time, time, packet);
      return;
    }
    const piece: Piece = { offset, data: new Uint8Array(data), time, packet };
    const list = this.pending;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (list[mid].offset <= offset) lo = mid + 1;
      else hi = mid;
    }
    list.splice(lo, 0, piece);
    this.hold(data.length);
  }

  /** Deliver everything pending, holes as skips (connection end). */
  flush(now: number): void {
    while (this.pending.length > 0) this.forceOldest(now);
  }

  private room(n: number): boolean {
    if (this.pending.length >= this.limits.maxPieces) return false;
    if (this.buffered + n > this.limits.maxBytes) return false;
    const b = this.budget;
    return b === null || b.held + n <= b.max;
  }

  private hold(n: number): void {
    this.buffered += n;
    if (this.budget) this.budget.held += n;
  }

  private forceOldest(now: number): void {
    const p = this.pending[0];
    if (p.offset > this.next) {
      this.forced++;
      const skipped = p.offset - this.next;
      this.lostBytes += skipped;
      this.pending.shift();
      this.hold(-p.data.length);
      this.next = p.offset + p.data.length;
      this.deliver(p.data, p.offset, skipped, p.time, now, p.packet);
    }
    this.drain(now);
  }

  /** Deliver pending pieces that start at or below `next`. */
  private drain(now: number): void {
    const list = this.pending;
    while (list.length > 0 && list[0].offset <= this.next) {
      const p = list.shift()!;
      this.hold(-p.data.length);
      const end = p.offset + p.data.length;
      if (end <= this.next) {
        this.duplicateBytes += p.data.length;
        continue;
      }
      const d = p.offset < this.next ? p.data.subarray(this.next - p.offset) : p.data;
      if (p.offset < this.next) this.duplicateBytes += this.next - p.offset;
      const at = this.next;
      this.next = end;
      this.deliver(d, at, 0, p.time, now, p.packet);
    }
  }
}
