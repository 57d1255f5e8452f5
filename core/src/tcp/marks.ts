/**
 * Packet-level evidence of one TCP direction, kept only when asked for (AnalyzeOptions.packetMarks;
 * the view sets it to draw data arrivals and loss marks): when payload arrived, and which segments
 * were retransmitted or arrived out of order (the segments model/late-segments.ts counts).
 *
 * Bounded memory, documented degradation:
 *  - Arrivals are merged into runs: a payload packet within `mergeMs` of the current run's end
 *    extends it. At most MAX_ARRIVAL_RUNS runs per direction; when full, neighbouring runs are merged
 *    pairwise and `mergeMs` doubles (the picture gets coarser, never longer), counted in `coarsened`.
 *    Amortised O(1) per packet.
 *  - Late segments: the first MAX_LATE_MARKS are listed, the rest only counted in `lateDropped`, so
 *    `late.length + lateDropped` is the direction's retransmissions + outOfOrder (plus retransmitted SYNs).
 *  - Across the capture, records (runs and late marks) share one MarkBudget of MAX_MARK_RECORDS_TOTAL
 *    (finished connections keep theirs in the report): with it spent, a direction that needs a new
 *    run coarsens its own runs first (handing half of them back), and late segments are only counted.
 *    Spending it is counted once as `packetMarksBudgetSpent` in capture.counters.
 */
import type { ArrivalRun, DirectionMarks } from '../model/types.js';

/** Arrival runs kept per direction before they are merged pairwise. */
export const MAX_ARRIVAL_RUNS = 512;
/** Late (retransmitted or out-of-order) segments listed per direction. */
export const MAX_LATE_MARKS = 256;
/** Records (arrival runs + late marks, ~80 bytes each) across a capture: ~160 MB at most. */
export const MAX_MARK_RECORDS_TOTAL = 2_000_000;

/** The capture-wide allowance of mark records (see the header). */
export class MarkBudget {
  private spentCounted = false;
  constructor(
    public left = MAX_MARK_RECORDS_TOTAL,
    private readonly onSpent: () => void = () => {},
  ) {}
  take(): boolean {
    if (this.left > 0) {
      this.left--;
      return true;
    }
    if (!this.spentCounted) {
      this.spentCounted = true;
      this.onSpent();
    }
    return false;
  }
  give(n: number): void {
    this.left += n;
  }
}
/** Initial merge distance of arrival runs: packets closer than this belong to one run. */
export const ARRIVAL_MERGE_MS = 0.05;

export class DirectionMarkRecorder {
  constructor(private readonly budget: MarkBudget = new MarkBudget()) {}

  private readonly runs: ArrivalRun[] = [];
  private mergeMs = ARRIVAL_MERGE_MS;
  private coarsened = 0;
  private readonly late: DirectionMarks['late'] = [];
  private lateDropped = 0;

  /** A packet carrying `bytes` payload bytes of this direction was captured. */
  arrival(time: number, packet: number, bytes: number): void {
    this.span(time, time, packet, bytes, 1);
  }

  /** `count` units (packets; HTTP/2 DATA frames for a stream) that arrived over [startTime, endTime]. */
  span(startTime: number, endTime: number, packet: number, bytes: number, count: number): void {
    if (this.extendLast(startTime, endTime, bytes, count, this.mergeMs)) return;
    if (this.runs.length >= MAX_ARRIVAL_RUNS) {
      this.coarsen();
      if (this.extendLast(startTime, endTime, bytes, count, this.mergeMs)) return;
    }
    if (!this.budget.take()) {
      // The capture's allowance is spent: give back half of this direction's runs, else join the last run.
      if (this.runs.length >= 2) {
        this.coarsen();
        if (this.extendLast(startTime, endTime, bytes, count, this.mergeMs)) return;
      }
      if (!this.budget.take()) {
        this.extendLast(startTime, endTime, bytes, count, Number.POSITIVE_INFINITY);
        return;
      }
    }
    this.runs.push({ startTime, endTime, packets: count, bytes, firstPacket: packet });
  }

  /** Add to the last run when the span starts within `within` ms of its end. */
  private extendLast(startTime: number, endTime: number, bytes: number, count: number, within: number): boolean {
    const last = this.runs[this.runs.length - 1];
    if (!last || startTime < last.startTime || startTime - last.endTime > within) return false;
    if (endTime > last.endTime) last.endTime = endTime;
    last.packets += count;
    last.bytes += bytes;
    return true;
  }

  /** A segment that was retransmitted or arrived out of order (or a retransmitted SYN, bytes 0). */
  lateSegment(time: number, packet: number, bytes: number): void {
    if (this.late.length < MAX_LATE_MARKS && this.budget.take()) this.late.push({ time, packet, bytes });
    else this.lateDropped++;
  }

  private coarsen(): void {
    const out: ArrivalRun[] = [];
    for (let i = 0; i < this.runs.length; i += 2) {
      const a = this.runs[i]!;
      const b = this.runs[i + 1];
      out.push(b ? { startTime: a.startTime, endTime: Math.max(a.endTime, b.endTime), packets: a.packets + b.packets, bytes: a.bytes + b.bytes, firstPacket: a.firstPacket } : a);
    }
    this.budget.give(this.runs.length - out.length);
    this.runs.length = 0;
    this.runs.push(...out);
    this.mergeMs *= 2;
    this.coarsened++;
  }

  toJSON(): DirectionMarks {
    return {
      arrivals: this.runs.map((r) => ({ ...r })),
      mergeMs: this.mergeMs,
      coarsened: this.coarsened,
      late: this.late.slice(),
      lateDropped: this.lateDropped,
    };
  }
}

