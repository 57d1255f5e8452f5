/**
 * TCP head-of-line blocking across HTTP/2 streams, one `TcpHolTracker` per direction of a session.
 *
 * HTTP/2 multiplexes streams over one TCP byte stream, and TCP hands bytes to the application only
 * in order: when a segment is lost, every byte received after it waits for the retransmission,
 * whichever stream it belongs to. This tracker maps the waiting bytes to frames, and frames to
 * streams, and splits each byte's wait into the part its own stream would have suffered anyway
 * (its own bytes were missing) and the part caused by other streams' missing bytes.
 *
 * Definitions, per direction, for a byte b of stream S that arrived (was captured) at t_b:
 *
 *   ready_b = max arrival time of every byte up to and including b   (when TCP could deliver b)
 *   own_b   = max arrival time of S's bytes up to and including b    (when S alone had all it needed)
 *   wait_b  = ready_b − t_b          total time b was held by TCP
 *   hol_b   = ready_b − own_b        the part of it caused by other streams' (or control frames') bytes
 *
 * `own_b` is when b would have been readable had S been carried on its own ordered stream (as
 * QUIC streams are): it still waits for its own earlier bytes, never for other streams'.
 * ready_b equals the reassembler's `deliveredTime` when holes are filled by retransmissions. A hole
 * the reassembler gives up on (the receiver acknowledged bytes the capture never saw) contributes no
 * arrival time here, so capture loss is never reported as head-of-line blocking.
 *
 * An *episode* is a maximal run of held bytes (wait_b > 0) released by the same late bytes (the
 * retransmission that filled the hole; `blockers` are the streams those late bytes belonged to).
 * Per stream and episode: `holMs` = max hol_b, `waitMs` = max wait_b. A stream whose own bytes
 * were in the hole has holMs 0 for that episode (it would have waited anyway).
 * Per stream over the connection, `stalledMs` is the length of the union of the intervals
 * [own_b, ready_b]: time during which the stream had all its bytes up to some point but could not
 * read them because of other streams' loss.
 *
 * Frames are attributed by byte range: a frame's header and payload octets belong to its stream
 * (stream 0 for connection control frames); octets outside any frame (the client preface, bytes
 * skipped while resynchronising) count as stream 0. After a lost frame boundary the attribution is
 * approximate (`approximate: true`).
 *
 * Inside TLS the tracker measures TCP, not the plaintext: it is fed the TCP segments the TLS
 * session read (StreamSink.onTransport), and each frame's plaintext range is mapped to the TCP octets
 * that carried it by a `TransportMap` (plaintext octet k of a record ↔ TCP octet of the record's
 * body where it was encrypted). A frame that starts a record's plaintext takes the record's header
 * and explicit nonce, one that ends it the tag (and TLS 1.3 content type and padding), so every
 * octet of a record between two frames of one stream is that stream's; records that carry no frame
 * (NewSessionTicket, KeyUpdate, alerts) count as stream 0. A byte of stream S is thus held by the
 * loss of another stream's bytes even when both sat in one record: S alone, on its own ordered
 * stream (QUIC), would not have waited for them. (Decryption needs the whole record; that part of
 * the wait is TLS's own, not TCP's, and it is counted with the rest.)
 *
 * Bounded memory: pending pieces (chunks waiting for their frame to complete) MAX_PENDING_PIECES,
 * episodes MAX_HOL_EPISODES per direction; overflow is counted in `dropped`.
 */
import type { Side } from '../model/types.js';
import type { StreamChunk } from '../tcp/stream.js';

export const MAX_HOL_EPISODES = 1000;
/** Enough for one maximum-size frame (2^24 − 1 octets) in 1448-octet segments. */
export const MAX_PENDING_PIECES = 1 << 14;
/** Late pieces remembered before a held run (to name the blocking streams). */
const MAX_RECENT = 64;

export interface HolStreamShare {
  streamId: number;
  /** Held octets of this stream in the episode (frame headers included). */
  bytes: number;
  /** Arrival of its first held octet, and the packets that carried its held octets. */
  firstTime: number;
  firstPacket: number;
  lastPacket: number;
  /** Longest wait caused by other streams' bytes (0: its own bytes were in the hole). */
  holMs: number;
  /** Longest total wait in TCP. */
  waitMs: number;
}

export interface HolEpisode {
  /** Sender of the held bytes. */
  side: Side;
  /** When the held bytes became deliverable: arrival of the last late (retransmitted) bytes. */
  releaseTime: number;
  releasePacket: number;
  /** First held octet's arrival and packet. */
  firstHeldTime: number;
  firstHeldPacket: number;
  heldBytes: number;
  /** Streams whose late bytes (arrived after bytes behind them) the held bytes waited for. */
  blockers: { streamId: number; bytes: number; packet: number; time: number }[];
  streams: HolStreamShare[];
}

export interface StreamHol {
  /** Union of the stream's [own_b, ready_b] intervals: waiting only because of other streams. */
  stalledMs: number;
  /** Episodes in which it waited for other streams' bytes. */
  stalls: number;
  /** Episodes in which it waited (also) for its own lost bytes. */
  ownLossStalls: number;
  heldBytes: number;
}

export interface DirectionHol {
  episodes: HolEpisode[];
  /** Sum over streams (not stream 0) of `stalledMs` (stream-milliseconds). */
  streamStalledMs: number;
  /** Wall-clock time during which at least one stream waited for another stream's bytes. */
  stalledMs: number;
  heldBytes: number;
  approximate: boolean;
  dropped: { episodes: number; pieces: number };
}

interface StreamAcc extends StreamHol {
  curStart: number;
  curEnd: number;
}

/**
 * A new tracker's room for pending pieces (grows by doubling up to MAX_PENDING_PIECES): small, as
 * every HTTP/2 connection has two trackers and a capture may hold very many connections at once.
 */
const INITIAL_PENDING = 8;

export class TcpHolTracker {
  /**
   * Pieces (the octets of one chunk not yet attributed to a frame) waiting for their frame to
   * complete: a ring of parallel arrays, oldest at `pHead` (a piece per packet, so no object per
   * piece). Per piece: stream octets [start, end), arrival time and packet, and the prefix-max
   * arrival time (when TCP could deliver it) with the packet that set it.
   */
  private pStart = new Float64Array(INITIAL_PENDING);
  private pEnd = new Float64Array(INITIAL_PENDING);
  private pTime = new Float64Array(INITIAL_PENDING);
  private pPacket = new Float64Array(INITIAL_PENDING);
  private pReady = new Float64Array(INITIAL_PENDING);
  private pReadyPacket = new Float64Array(INITIAL_PENDING);
  private pHead = 0;
  private pLen = 0;
  private ready = -Infinity;
  private readyPacket = 0;
  private readonly own = new Map<number, number>();
  private readonly acc = new Map<number, StreamAcc>();
  private readonly episodes: HolEpisode[] = [];
  private cur: { ep: HolEpisode; shares: Map<number, HolStreamShare>; maxHol: number } | null = null;
  /**
   * The last MAX_RECENT pieces that were not held (a ring of parallel arrays: this runs for every
   * piece of every packet, so no object per piece), oldest at `recentHead`.
   */
  private readonly rStream = new Float64Array(MAX_RECENT);
  private readonly rBytes = new Float64Array(MAX_RECENT);
  private readonly rPacket = new Float64Array(MAX_RECENT);
  private readonly rTime = new Float64Array(MAX_RECENT);
  private recentHead = 0;
  private recentLen = 0;
  /** `own` of the stream of the latest piece, not yet written to the map (consecutive pieces are mostly one stream's). */
  private ownId = -1;
  private ownTime = -Infinity;
  private lastHeld = false;
  private readonly intervals: [number, number][] = [];
  private streamStalledMs = 0;
  private heldBytes = 0;
  private approximate = false;
  private readonly dropped = { episodes: 0, pieces: 0 };

  constructor(readonly side: Side) {}

  /** Every chunk of this direction, in stream order, before it is parsed. */
  chunk(c: StreamChunk): void {
    const n = c.data.length;
    if (n === 0) return;
    if (c.time > this.ready) {
      this.ready = c.time;
      this.readyPacket = c.packet;
    }
    if (this.pLen >= MAX_PENDING_PIECES) {
      // A frame longer than the limit allows: attribute the oldest piece to no stream.
      this.popPiece();
      this.dropped.pieces++;
      this.approximate = true;
    } else if (this.pLen === this.pStart.length) this.growPending();
    const i = (this.pHead + this.pLen) & (this.pStart.length - 1);
    this.pStart[i] = c.offset;
    this.pEnd[i] = c.offset + n;
    this.pTime[i] = c.time;
    this.pPacket[i] = c.packet;
    this.pReady[i] = this.ready;
    this.pReadyPacket[i] = this.readyPacket;
    this.pLen++;
  }

  private popPiece(): void {
    this.pHead = (this.pHead + 1) & (this.pStart.length - 1);
    this.pLen--;
  }

  /** Doubles the ring (its size stays a power of two), oldest piece first. */
  private growPending(): void {
    const old = [this.pStart, this.pEnd, this.pTime, this.pPacket, this.pReady, this.pReadyPacket];
    const cap = old[0].length;
    const grown = old.map((a) => {
      const b = new Float64Array(cap * 2);
      for (let k = 0; k < this.pLen; k++) b[k] = a[(this.pHead + k) & (cap - 1)];
      return b;
    });
    [this.pStart, this.pEnd, this.pTime, this.pPacket, this.pReady, this.pReadyPacket] = grown;
    this.pHead = 0;
  }

  /** A complete frame of this direction (octets [offset, offset + 9 + length)). */
  frame(f: { streamId: number; offset: number; length: number }): void {
    this.frameRange(f.streamId, f.offset, f.offset + 9 + f.length);
  }

  /** A complete frame of `streamId` carried by the chunks' octets [fs, fe). */
  frameRange(streamId: number, fs: number, fe: number): void {
    while (this.pLen > 0) {
      const i = this.pHead;
      const start = this.pStart[i];
      const end = this.pEnd[i];
      if (start >= fe) break;
      if (start < fs) {
        // Octets before the frame belong to no frame (preface, resync): connection-level.
        const e = Math.min(end, fs);
        this.attribute(0, i, e - start);
        this.pStart[i] = e;
        if (e >= end) {
          this.popPiece();
          continue;
        }
      }
      const from = this.pStart[i];
      const e = Math.min(end, fe);
      this.attribute(streamId, i, e - from);
      this.pStart[i] = e;
      if (e >= end) this.popPiece();
      else break;
    }
  }

  /** The frame boundary was lost: attribution from here on is a guess. */
  desync(): void {
    this.approximate = true;
  }

  /** Per-stream totals (and forget the stream); undefined when none of its octets were held. */
  take(streamId: number): StreamHol | undefined {
    if (this.ownId === streamId) this.ownId = -1;
    this.own.delete(streamId);
    const a = this.acc.get(streamId);
    if (!a) return undefined;
    this.acc.delete(streamId);
    if (streamId !== 0) this.streamStalledMs += a.curEnd - a.curStart;
    return { stalledMs: a.stalledMs + (a.curEnd - a.curStart), stalls: a.stalls, ownLossStalls: a.ownLossStalls, heldBytes: a.heldBytes };
  }

  /** Connection facts (call once, at close). */
  facts(): DirectionHol {
    this.closeEpisode();
    // Wall-clock union of the episodes' [release − max hol, release] intervals.
    const iv = [...this.intervals].sort((a, b) => a[0] - b[0]);
    let total = 0;
    let s = -Infinity;
    let e = -Infinity;
    for (const [a, b] of iv) {
      if (a > e) {
        if (e > s) total += e - s;
        s = a;
        e = b;
      } else if (b > e) e = b;
    }
    if (e > s) total += e - s;
    let streamSum = this.streamStalledMs;
    for (const [id, a] of this.acc) if (id !== 0) streamSum += a.curEnd - a.curStart;
    return {
      episodes: this.episodes,
      streamStalledMs: streamSum,
      stalledMs: total,
      heldBytes: this.heldBytes,
      approximate: this.approximate,
      dropped: { ...this.dropped },
    };
  }

  /** Attributes `bytes` octets of pending piece `i` to `streamId`. */
  private attribute(streamId: number, i: number, bytes: number): void {
    if (bytes <= 0) return;
    const time = this.pTime[i];
    const packet = this.pPacket[i];
    const ready = this.pReady[i];
    if (streamId !== this.ownId) {
      if (this.ownId >= 0) this.own.set(this.ownId, this.ownTime);
      this.ownId = streamId;
      this.ownTime = this.own.get(streamId) ?? -Infinity;
    }
    if (time > this.ownTime) this.ownTime = time;
    const own = this.ownTime;
    const wait = ready - time;
    if (wait <= 0) {
      if (this.lastHeld) this.recentLen = 0;
      this.lastHeld = false;
      const n = this.recentLen;
      const li = (this.recentHead + n - 1) % MAX_RECENT;
      if (n > 0 && this.rStream[li] === streamId && this.rPacket[li] === packet) this.rBytes[li] += bytes;
      else {
        let r: number;
        if (n < MAX_RECENT) {
          r = (this.recentHead + n) % MAX_RECENT;
          this.recentLen = n + 1;
        } else {
          r = this.recentHead;
          this.recentHead = (this.recentHead + 1) % MAX_RECENT;
        }
        this.rStream[r] = streamId;
        this.rBytes[r] = bytes;
        this.rPacket[r] = packet;
        this.rTime[r] = time;
      }
      return;
    }
    const hol = ready - own;
    this.heldBytes += bytes;
    if (!this.cur || !this.lastHeld || this.cur.ep.releaseTime !== ready) this.startEpisode(time, packet, ready, this.pReadyPacket[i]);
    this.lastHeld = true;
    const cur = this.cur!;
    cur.ep.heldBytes += bytes;
    let sh = cur.shares.get(streamId);
    const acc = this.streamAcc(streamId);
    acc.heldBytes += bytes;
    if (!sh) {
      sh = { streamId, bytes: 0, firstTime: time, firstPacket: packet, lastPacket: packet, holMs: 0, waitMs: 0 };
      cur.shares.set(streamId, sh);
      if (cur.ep.streams.length < 4096) cur.ep.streams.push(sh);
    }
    sh.bytes += bytes;
    sh.lastPacket = packet;
    const hadHol = sh.holMs > 0;
    const hadOwn = sh.waitMs > sh.holMs;
    if (wait > sh.waitMs) sh.waitMs = wait;
    if (hol > sh.holMs) sh.holMs = hol;
    if (!hadHol && sh.holMs > 0) acc.stalls++;
    if (!hadOwn && wait > hol) acc.ownLossStalls++;
    if (hol > 0) {
      // Interval [own, ready]; per stream both ends only grow, so merging is incremental.
      if (own > acc.curEnd) {
        acc.stalledMs += acc.curEnd - acc.curStart;
        if (streamId !== 0) this.streamStalledMs += acc.curEnd - acc.curStart;
        acc.curStart = own;
      }
      if (ready > acc.curEnd) acc.curEnd = ready;
      if (hol > cur.maxHol) cur.maxHol = hol;
    }
  }

  private streamAcc(id: number): StreamAcc {
    let a = this.acc.get(id);
    if (!a) {
      a = { stalledMs: 0, stalls: 0, ownLossStalls: 0, heldBytes: 0, curStart: 0, curEnd: 0 };
      this.acc.set(id, a);
    }
    return a;
  }

  /** A new episode, begun by a held piece that arrived at `time` in `packet` and became deliverable at `ready`. */
  private startEpisode(time: number, packet: number, ready: number, readyPacket: number): void {
    this.closeEpisode();
    const blockers: HolEpisode['blockers'] = [];
    for (let k = 0; k < this.recentLen; k++) {
      const i = (this.recentHead + k) % MAX_RECENT;
      const r = { streamId: this.rStream[i], bytes: this.rBytes[i], packet: this.rPacket[i], time: this.rTime[i] };
      if (r.time <= time) continue;
      const same = blockers.find((x) => x.streamId === r.streamId);
      if (same) same.bytes += r.bytes;
      else blockers.push(r);
    }
    const ep: HolEpisode = {
      side: this.side,
      releaseTime: ready,
      releasePacket: readyPacket,
      firstHeldTime: time,
      firstHeldPacket: packet,
      heldBytes: 0,
      blockers,
      streams: [],
    };
    this.cur = { ep, shares: new Map(), maxHol: 0 };
    if (this.episodes.length < MAX_HOL_EPISODES) this.episodes.push(ep);
    else this.dropped.episodes++;
    this.recentLen = 0;
  }

  private closeEpisode(): void {
    const c = this.cur;
    if (!c) return;
    if (c.maxHol > 0 && this.intervals.length < MAX_HOL_EPISODES) this.intervals.push([c.ep.releaseTime - c.maxHol, c.ep.releaseTime]);
    this.cur = null;
  }
}

/**
 * Plaintext → transport octets for one direction of a session read from TLS records (see the
 * module comment): the plaintext chunks not yet wholly framed, oldest first, each with the
 * transport octet of its first byte and its record's transport range. A ring of parallel arrays,
 * like the tracker's pieces; entries leave when a frame ends at or past their end.
 */
export class TransportMap {
  private pStart = new Float64Array(INITIAL_PENDING);
  private pEnd = new Float64Array(INITIAL_PENDING);
  private tAt = new Float64Array(INITIAL_PENDING);
  private tStart = new Float64Array(INITIAL_PENDING);
  private tEnd = new Float64Array(INITIAL_PENDING);
  private head = 0;
  private len = 0;
  /** Entries dropped at MAX_PENDING_PIECES (a frame over that many records): mapping is a guess. */
  overflowed = false;

  /** A plaintext chunk (with its transport fields) in stream order. */
  push(c: StreamChunk): void {
    const n = c.data.length;
    if (n === 0 || c.transportOffset === undefined) return;
    if (this.len >= MAX_PENDING_PIECES) {
      this.pop();
      this.overflowed = true;
    } else if (this.len === this.pStart.length) this.grow();
    const i = (this.head + this.len) & (this.pStart.length - 1);
    this.pStart[i] = c.offset;
    this.pEnd[i] = c.offset + n;
    this.tAt[i] = c.transportOffset;
    this.tStart[i] = c.transportStart ?? c.transportOffset;
    this.tEnd[i] = c.transportEnd ?? c.transportOffset + n;
    this.len++;
  }

  /**
   * Transport octets [start, end) of the plaintext octets [ps, pe) of a complete frame; forgets the
   * chunks the frame ends. Null when no chunk covers it (its plaintext was never delivered).
   */
  map(ps: number, pe: number): [number, number] | null {
    const mask = this.pStart.length - 1;
    // Chunks wholly before the frame (bytes skipped while resynchronising) are done with.
    while (this.len > 0 && this.pEnd[this.head] <= ps) this.pop();
    if (this.len === 0) return null;
    let i = this.head;
    // A frame that starts a record's plaintext (or starts in a hole before it) takes the record's header.
    const start = ps <= this.pStart[i] ? this.tStart[i] : this.tAt[i] + (ps - this.pStart[i]);
    let k = 0;
    while (k + 1 < this.len && this.pEnd[i] < pe) {
      k++;
      i = (this.head + k) & mask;
    }
    const end = pe >= this.pEnd[i] ? this.tEnd[i] : pe <= this.pStart[i] ? this.tStart[i] : this.tAt[i] + (pe - this.pStart[i]);
    while (this.len > 0 && this.pEnd[this.head] <= pe) this.pop();
    return [start, Math.max(start, end)];
  }

  private pop(): void {
    this.head = (this.head + 1) & (this.pStart.length - 1);
    this.len--;
  }

  private grow(): void {
    const old = [this.pStart, this.pEnd, this.tAt, this.tStart, this.tEnd];
    const cap = old[0].length;
    const grown = old.map((a) => {
      const b = new Float64Array(cap * 2);
      for (let k = 0; k < this.len; k++) b[k] = a[(this.head + k) & (cap - 1)];
      return b;
    });
    [this.pStart, this.pEnd, this.tAt, this.tStart, this.tEnd] = grown;
    this.head = 0;
  }
}
