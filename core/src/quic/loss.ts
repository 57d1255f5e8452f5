/**
 * Loss on a QUIC connection, per stream (RFC 9000 §2.2, §13.3; RFC 9002), from decrypted 1-RTT
 * packets — the facts behind detect/quic-stream-loss.ts.
 *
 * QUIC never sends a lost packet again: it sends the lost frames' data again in new packets
 * (RFC 9000 §13.3), and every stream is delivered in order on its own (§2.2). So, per sending side:
 *
 *  - Packet numbers. Each 1-RTT packet number seen, as ranges; the peer's ACK ranges (§19.3.1)
 *    for that number space. A number missing between two seen ones was lost before the capture
 *    point if the peer never acknowledged it, or seen by the peer but missed by the capture if it
 *    did (`missingAcked`). A sender may also skip numbers on purpose (RFC 9000 §21.4, optimistic
 *    ACK defence): those look lost and carry nothing, so no stream waits for them.
 *  - Streams. Per stream and direction, the contiguous prefix received so far and the ranges
 *    received beyond it. Data arriving beyond a hole opens an episode: the stream's own later bytes
 *    wait for the hole. The episode ends when the prefix reaches the end of everything received
 *    (the hole and any later ones filled). The frame that filled the (first) hole came in a new
 *    packet number above every one seen from that side before it — a retransmission (§13.3) — or
 *    in an older number: reordering in flight (`retransmitted: false`).
 *  - Other streams during the episode. Data of another stream that arrived in order while the
 *    episode was open was delivered at once (QUIC, unlike TCP, has no connection-wide order):
 *    per such stream, its bytes and the span from its first delivery in the episode to the
 *    episode's end — the wait one ordered byte stream (HTTP/2 over TCP) would have imposed.
 *  - Data received twice (the capture point is before the loss, or a spurious retransmission):
 *    counted as duplicate bytes; no episode (the receiver's wait is not visible there).
 *
 * Capture time only; bounded: MAX_LOSS_EPISODES episodes recorded per side (then counted),
 * MAX_EPISODE_OTHERS other streams named per episode, MAX_PENDING_RANGES ranges beyond a hole per
 * stream and MAX_PENDING_TOTAL per side, MAX_LOSS_STREAMS streams followed per side (later ones
 * are not), MAX_PN_RANGES packet-number and ACK ranges per side (beyond each: `approximate`).
 */
import type { Side } from '../model/types.js';

export const MAX_LOSS_EPISODES = 200;
export const MAX_EPISODE_OTHERS = 32;
export const MAX_PENDING_RANGES = 256;
export const MAX_PN_RANGES = 4096;
export const MAX_LOSS_STREAMS = 10_000;
export const MAX_PENDING_TOTAL = 65_536;

/** Another stream's data delivered in order while an episode was open. */
export interface QuicLossOther {
  streamId: number;
  bytes: number;
  /** Capture time and frame number of its first delivery inside the episode. */
  firstTime: number;
  firstPacket: number;
  /** Episode end − firstTime: what one ordered byte stream would have held its first byte. */
  avoidedMs: number;
}

/** One stream waiting for its own missing data. */
export interface QuicLossEpisode {
  streamId: number;
  /** The first byte beyond the hole arrived (capture time, frame number). */
  startTime: number;
  startPacket: number;
  /** The hole(s) filled: the stream's data is contiguous again. */
  endTime: number;
  endPacket: number;
  /** QUIC packet number of the packet that filled the first hole, and whether it was new (a retransmission) or older (reordering). */
  fillPn: number;
  retransmitted: boolean;
  /** Stream offset where the first hole began, and its size when the episode opened. */
  holeOffset: number;
  holeBytes: number;
  /** The stream's own bytes that arrived beyond the hole and waited for it. */
  heldBytes: number;
  others: QuicLossOther[];
  othersDropped: number;
}

export interface QuicLossSide {
  /** 1-RTT packets seen from this side, and packet numbers missing between them. */
  packets: number;
  missing: number;
  /** Missing numbers the peer acknowledged (the capture missed them, the peer did not). */
  missingAcked: number;
  /** Stream bytes received a second time. */
  duplicateBytes: number;
  episodes: QuicLossEpisode[];
  episodesDropped: number;
  approximate: boolean;
}

/** `connection.extra.quicLoss` — present on QUIC connections with decrypted 1-RTT STREAM data and a loss. */
export type QuicLossFacts = Record<Side, QuicLossSide>;

/** Sorted disjoint [lo, hi] integer ranges with a cap. */
class RangeSet {
  readonly r: [number, number][] = [];
  overflow = false;
  constructor(private readonly max: number) {}
  add(lo: number, hi: number): void {
    const r = this.r;
    // Fast path: extends or follows the last range (packet numbers mostly ascend).
    const last = r[r.length - 1];
    if (last && lo >= last[0]) {
      if (lo <= last[1] + 1) {
        if (hi > last[1]) last[1] = hi;
        return;
      }
      if (r.length >= this.max) {
        this.overflow = true;
        return;
      }
      r.push([lo, hi]);
      return;
    }
    let i = 0;
    while (i < r.length && r[i][1] + 1 < lo) i++;
    let j = i;
    let nlo = lo;
    let nhi = hi;
    while (j < r.length && r[j][0] <= hi + 1) {
      nlo = Math.min(nlo, r[j][0]);
      nhi = Math.max(nhi, r[j][1]);
      j++;
    }
    if (j === i && r.length >= this.max) {
      this.overflow = true;
      return;
    }
    r.splice(i, j - i, [nlo, nhi]);
  }
  /** How many of [lo, hi] are in the set. */
  covered(lo: number, hi: number): number {
    let n = 0;
    for (const [a, b] of this.r) {
      if (b < lo) continue;
      if (a > hi) break;
      n += Math.min(b, hi) - Math.max(a, lo) + 1;
    }
    return n;
  }
}

interface Open {
  ep: QuicLossEpisode;
  others: Map<number, QuicLossOther>;
}

interface StreamState {
  next: number;
  /** Ranges received beyond `next`, sorted, disjoint: [start, end). */
  pending: [number, number][];
  open: Open | null;
}

interface SideState {
  pns: RangeSet;
  acked: RangeSet;
  largest: number;
  streams: Map<number, StreamState>;
  /** Ranges held beyond holes, all streams of this side. */
  pending: number;
  open: Set<Open>;
  out: QuicLossSide;
}

export class QuicLossTracker {
  private readonly sides: Record<Side, SideState>;
  /** Some data arrived beyond a hole (something worth reporting). */
  private any = false;

  constructor() {
    const mk = (): SideState => ({
      pns: new RangeSet(MAX_PN_RANGES),
      acked: new RangeSet(MAX_PN_RANGES),
      largest: -1,
      streams: new Map(),
      pending: 0,
      open: new Set(),
      out: { packets: 0, missing: 0, missingAcked: 0, duplicateBytes: 0, episodes: [], episodesDropped: 0, approximate: false },
    });
    this.sides = { client: mk(), server: mk() };
  }

  /** A decrypted 1-RTT packet from `side` with packet number `pn`. */
  packet(side: Side, pn: number): void {
    const s = this.sides[side];
    s.out.packets++;
    s.pns.add(pn, pn);
  }

  /** Called after a packet's frames: its number becomes the largest seen when it is. */
  packetDone(side: Side, pn: number): void {
    const s = this.sides[side];
    if (pn > s.largest) s.largest = pn;
  }

  /** An ACK range [smallest, largest] of 1-RTT packet numbers from `side` (it acknowledges the peer's). */
  ackRange(side: Side, smallest: number, largest: number): void {
    const peer = this.sides[side === 'client' ? 'server' : 'client'];
    if (smallest <= largest) peer.acked.add(smallest, largest);
  }

  /** A STREAM frame's data [offset, offset + len) from `side`, in 1-RTT packet `pn`. */
  stream(side: Side, id: number, offset: number, len: number, time: number, packet: number, pn: number): void {
    if (len === 0) return;
    const s = this.sides[side];
    let st = s.streams.get(id);
    if (!st) {
      if (s.streams.size >= MAX_LOSS_STREAMS) {
        s.out.approximate = true;
        return;
      }
      s.streams.set(id, (st = { next: 0, pending: [], open: null }));
    }
    const end = offset + len;
    if (end <= st.next) {
      s.out.duplicateBytes += len;
      return;
    }
    if (offset > st.next) {
      // Beyond a hole: held until the hole is filled.
      const dup = this.addPending(st, offset, end, s);
      s.out.duplicateBytes += dup;
      if (!st.open) {
        this.any = true;
        const ep: QuicLossEpisode = {
          streamId: id,
          startTime: time,
          startPacket: packet,
          endTime: time,
          endPacket: packet,
          fillPn: -1,
          retransmitted: false,
          holeOffset: st.next,
          holeBytes: offset - st.next,
          heldBytes: 0,
          others: [],
          othersDropped: 0,
        };
        st.open = { ep, others: new Map() };
        s.open.add(st.open);
      }
      st.open.ep.heldBytes += len - dup;
      return;
    }
    // In order: the prefix grows (bytes already held beyond it count as duplicates).
    let dup = offset < st.next ? st.next - offset : 0;
    for (const [a, b] of st.pending) dup += Math.max(0, Math.min(b, end) - Math.max(a, st.next));
    s.out.duplicateBytes += dup;
    const filledHole = st.pending.length > 0;
    st.next = end;
    while (st.pending.length && st.pending[0][0] <= st.next) {
      const [, b] = st.pending.shift()!;
      s.pending--;
      if (b > st.next) st.next = b;
    }
    const o = st.open;
    if (o) {
      if (o.ep.fillPn < 0 && filledHole) {
        o.ep.fillPn = pn;
        o.ep.retransmitted = pn > s.largest;
      }
      if (st.pending.length === 0) {
        o.ep.endTime = time;
        o.ep.endPacket = packet;
        this.close(s, st);
      }
      return;
    }
    // Delivered on arrival while other streams of this side wait for their own data.
    for (const other of s.open) {
      if (other.ep.streamId === id) continue;
      const x = other.others.get(id);
      if (x) x.bytes += len;
      else if (other.others.size < MAX_EPISODE_OTHERS) other.others.set(id, { streamId: id, bytes: len, firstTime: time, firstPacket: packet, avoidedMs: 0 });
      else other.ep.othersDropped++;
    }
  }

  /** Adds [a, b) beyond the prefix; returns the bytes already there. */
  private addPending(st: StreamState, a: number, b: number, s: SideState): number {
    const p = st.pending;
    let dup = 0;
    for (const [x, y] of p) dup += Math.max(0, Math.min(b, y) - Math.max(a, x));
    let i = 0;
    while (i < p.length && p[i][1] < a) i++;
    let j = i;
    let lo = a;
    let hi = b;
    while (j < p.length && p[j][0] <= hi) {
      lo = Math.min(lo, p[j][0]);
      hi = Math.max(hi, p[j][1]);
      j++;
    }
    if (j === i && (p.length >= MAX_PENDING_RANGES || s.pending >= MAX_PENDING_TOTAL) && p.length > 0) {
      // Too fragmented: merge with the last range (the hole between is then assumed filled).
      p[p.length - 1][1] = Math.max(p[p.length - 1][1], b);
      s.out.approximate = true;
      return dup;
    }
    p.splice(i, j - i, [lo, hi]);
    s.pending += 1 - (j - i);
    return dup;
  }

  private close(s: SideState, st: StreamState): void {
    const o = st.open!;
    st.open = null;
    s.open.delete(o);
    for (const x of o.others.values()) x.avoidedMs = o.ep.endTime - x.firstTime;
    o.ep.others = [...o.others.values()];
    if (s.out.episodes.length < MAX_LOSS_EPISODES) s.out.episodes.push(o.ep);
    else s.out.episodesDropped++;
  }

  /** The facts at the connection's end (null when nothing was held and no packet number is missing). */
  result(): QuicLossFacts | null {
    let missingAny = false;
    for (const side of ['client', 'server'] as const) {
      const s = this.sides[side];
      // Episodes still open at the end: their holes were never filled in the capture.
      for (const o of [...s.open]) {
        s.open.delete(o);
        o.ep.endTime = o.ep.startTime;
        o.ep.fillPn = -1;
        for (const x of o.others.values()) x.avoidedMs = 0;
        o.ep.others = [...o.others.values()];
        if (s.out.episodes.length < MAX_LOSS_EPISODES) s.out.episodes.push(o.ep);
        else s.out.episodesDropped++;
      }
      let missing = 0;
      let acked = 0;
      const r = s.pns.r;
      for (let i = 1; i < r.length; i++) {
        const lo = r[i - 1][1] + 1;
        const hi = r[i][0] - 1;
        missing += hi - lo + 1;
        acked += s.acked.covered(lo, hi);
      }
      s.out.missing = missing;
      s.out.missingAcked = acked;
      if (s.pns.overflow || s.acked.overflow) s.out.approximate = true;
      if (missing > 0) missingAny = true;
    }
    if (!this.any && !missingAny) return null;
    return { client: this.sides.client.out, server: this.sides.server.out };
  }
}
