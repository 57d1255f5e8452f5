/**
 * The one count of lost-or-late TCP segments that the CLI, the UI and the findings give.
 *
 * The reassembler (tcp/reassembly.ts) sorts a segment that repeats bytes, or fills a hole after later
 * bytes were seen, into `retransmissions` or `outOfOrder` by Wireshark's timing heuristic: a hole
 * filled within REORDER_WINDOW_MS of the highest segment counts as reordered, later as retransmitted.
 * On a fast path that split says little: the retransmission of a segment lost while data keeps
 * flowing arrives within the window (samples/h2-loss-hol.pcap, where a router drops every 30th
 * packet: 37 of its 38 retransmissions count as out-of-order). So no view shows the two counters
 * apart as "retransmissions": they show their sum, named for what the capture can tell.
 */
import type { DirectionStats } from './types.js';

/** Segments of one direction that were retransmitted or arrived out of order. */
export function lateSegments(s: DirectionStats): number {
  return s.retransmissions + s.outOfOrder;
}

/** "38 retransmitted or out-of-order segments". */
export function lateSegmentsText(n: number): string {
  return `${n} retransmitted or out-of-order segment${n === 1 ? '' : 's'}`;
}
