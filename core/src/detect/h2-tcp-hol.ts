/**
 * hol-stall (layer `tcp`): TCP head-of-line blocking across the streams of an HTTP/2 connection.
 *
 * Signature. HTTP/2 multiplexes every stream of a connection over one TCP byte stream, and TCP
 * delivers bytes only in order. When a segment is lost, every byte that arrives after it waits in
 * the receiver's TCP buffer until the retransmission fills the hole — including the bytes of
 * streams that lost nothing. The HTTP/2 session (core/src/http2/tcp-hol.ts) maps each held byte
 * to its frame and stream and splits its wait in two: the part its own stream would have suffered
 * anyway (its own earlier bytes were missing — as on a QUIC stream) and the part caused only by
 * other streams' missing bytes. This detector reports the second part: per stream the time it had
 * everything it needed but could not read it (`stalledMs`, the union over its held bytes of
 * [own-ready, TCP-ready]), per episode the retransmission that released the held bytes, and per
 * connection the total.
 *
 * Rule `lost-segment`: one finding per connection and sending side when the stalls summed over
 * streams reach `h2TcpHolMs` (default 10 ms). Streams below `h2TcpHolStreamFloorMs` (default
 * 0.5 ms; in-flight reordering) are left out of the finding. Cost = the sum over streams
 * (stream-milliseconds, the same convention as the HTTP/1 hol-stall: each request's own delay);
 * the summary also gives the wall-clock time during which at least one stream was held.
 *
 * Why 10 ms: a retransmission costs at least one round trip (fast retransmit) and usually a
 * retransmission timeout (≥ 200 ms on Linux) when the loss is at the tail. On a WAN path
 * (≥ 20 ms RTT) a single loss that holds one other stream already crosses 10 ms; below it (LAN,
 * loopback, reordering) HOL blocking is not worth a change of transport.
 *
 * What the capture point changes:
 *  - Client side (receiver of the responses), as in samples/h2-loss-hol.pcap: a segment lost on
 *    the path is missing from the capture, later bytes are captured, and the retransmission fills
 *    the hole. Arrival times are the receiver's, so the waits are what the client's TCP stack
 *    imposed (up to the kernel's own processing). Loss in the other direction (requests) was
 *    captured before it was lost: invisible here.
 *  - Server side (sender): the original segment is captured before it is lost and the
 *    retransmission is a duplicate, so no hole and no stall appears; the client's stalls could
 *    only be estimated from its duplicate ACKs / SACK blocks (not done). Loss of request bytes is
 *    visible there as holes in the client→server direction (the server's HOL blocking).
 *  - In the middle: before the loss point, like the server side; after it, like the client side
 *    with every time shifted by the one-way delay to the client (held bytes and the
 *    retransmission take the same path, so the waits are nearly unchanged).
 *
 * Output is bounded: a line per stream for the `MAX_STREAM_EVIDENCE` longest held (then a count),
 * the `MAX_EPISODE_EVIDENCE` largest episodes, and `MAX_EPISODE_STREAMS` streams named per
 * episode — one episode can hold thousands of streams.
 *
 * Streaming (stream.ts): per connection as it completes; nothing is kept between connections.
 *
 * Where it can be wrong:
 *  - Capture loss (the capture missed a segment the receiver got, shown by an ACK beyond it) is
 *    never counted as a stall, but a capture that misses the retransmission as well makes the
 *    held bytes look released by the next packet after it — a wrong release time.
 *  - Reordering in flight also holds bytes (for microseconds on one path; longer with multipath
 *    or link bonding) — that is real HOL blocking, but not caused by loss.
 *  - The counterfactual "had the stream been alone" assumes the same arrival times; with one
 *    connection per stream, congestion control and the loss pattern would differ.
 *  - The receiving application may not have read the bytes as soon as TCP could deliver them;
 *    a slow reader hides part of the stall, which is then an upper bound.
 *  - After a lost frame boundary (capture gap outside one frame) the byte→stream attribution is
 *    a guess; findings say so.
 */
import type { HolEpisode } from '../http2/tcp-hol.js';
import type { Connection, Finding, Report, Request, Side } from '../model/types.js';
import type { DetectorDef, DetectOptions } from './index.js';
import { defineDetector, type FindingSink, type StreamingDetector } from './stream.js';
import { ev, fmtMs, h2Facts, isH2, requestsByStream, streamHol, streamLabel, streamsOf, threshold } from './h2-util.js';
import { capEvidence, maxOf } from './util.js';
import { lateSegments, lateSegmentsText } from '../model/late-segments.js';

const THRESHOLDS = {
  h2TcpHolMs: { default: 10, unit: 'ms', description: 'HTTP/2 streams held behind other streams\' lost TCP segments for at least this long in total (per connection) is a hol-stall' },
  h2TcpHolStreamFloorMs: { default: 0.5, unit: 'ms', description: '…counting only streams held at least this long (shorter: reordering noise)' },
} as const;

/** Evidence items kept per finding (the largest episodes). */
const MAX_EPISODE_EVIDENCE = 40;
/** Streams with an evidence line each (the longest held); the others are counted in one line. */
export const MAX_STREAM_EVIDENCE = 100;
/** Held streams named per episode line (the longest held); the others are counted. */
export const MAX_EPISODE_STREAMS = 20;

export interface StreamStall {
  streamId: number;
  request: Request | undefined;
  /** Time held behind other streams' lost bytes (union over its held bytes). */
  stalledMs: number;
  stalls: number;
  ownLossStalls: number;
}

export interface ConnectionHol {
  connectionId: number;
  side: Side;
  streams: StreamStall[];
  /** Sum of the streams' stalledMs. */
  totalMs: number;
  /** Wall-clock time during which at least one stream was held by another stream's loss. */
  wallMs: number;
  episodes: HolEpisode[];
  approximate: boolean;
  /** The sending side's retransmitted or out-of-order segments (model/late-segments.ts). */
  lateSegments: number;
}

/** Per connection and sending side, the streams held by other streams' lost bytes. */
export function h2TcpHolStalls(report: Report, floorMs: number = THRESHOLDS.h2TcpHolStreamFloorMs.default): ConnectionHol[] {
  const byStream = requestsByStream(report);
  return report.connections.flatMap((c) => connectionHol(c, byStream.get(c.id) ?? new Map<number, Request>(), floorMs));
}

/** One connection's stalls per sending side; `reqs`: its requests by stream id. */
function connectionHol(c: Connection, reqs: Map<number, Request>, floorMs: number): ConnectionHol[] {
  const out: ConnectionHol[] = [];
  if (!isH2(c)) return out;
  const hol = h2Facts(c)?.tcpHol;
  if (!hol) return out;
  for (const side of ['server', 'client'] as const) {
    const d = hol[side];
    if (!d.episodes.length && !d.streamStalledMs) continue;
    const streams: StreamStall[] = [];
    for (const [id, r] of reqs) {
      const h = streamHol(r)?.[side === 'server' ? 'response' : 'request'];
      if (!h || h.stalledMs < floorMs) continue;
      streams.push({ streamId: id, request: r, stalledMs: h.stalledMs, stalls: h.stalls, ownLossStalls: h.ownLossStalls });
    }
    streams.sort((a, b) => b.stalledMs - a.stalledMs || a.streamId - b.streamId);
    out.push({
      connectionId: c.id,
      side,
      streams,
      totalMs: streams.reduce((n, s) => n + s.stalledMs, 0),
      wallMs: d.stalledMs,
      episodes: d.episodes,
      approximate: d.approximate,
      lateSegments: lateSegments(c.stats[side]),
    });
  }
  return out;
}

function describeEpisode(e: HolEpisode, reqs: Map<number, Request>, floorMs: number): string {
  const held = e.streams.filter((s) => s.holMs >= floorMs).sort((a, b) => b.holMs - a.holMs);
  const ownAll = e.streams.filter((s) => s.holMs === 0 && s.waitMs > 0).map((s) => s.streamId);
  const own: (number | string)[] = ownAll.slice(0, MAX_EPISODE_STREAMS);
  if (ownAll.length > MAX_EPISODE_STREAMS) own.push(`… (${ownAll.length} in all)`);
  const blockers = e.blockers.slice(0, MAX_EPISODE_STREAMS).map((b) => `stream ${b.streamId}`);
  if (e.blockers.length > MAX_EPISODE_STREAMS) blockers.push(`${e.blockers.length - MAX_EPISODE_STREAMS} more`);
  const parts = held.slice(0, MAX_EPISODE_STREAMS).map((s) => `${streamLabel(s.streamId, reqs.get(s.streamId))} waited ${fmtMs(s.holMs)} (held since packet ${s.firstPacket})`);
  if (held.length > MAX_EPISODE_STREAMS) parts.push(`${held.length - MAX_EPISODE_STREAMS} more stream(s) waited less`);
  return (
    `the missing bytes${blockers.length ? ` (of ${blockers.join(', ')})` : ''} arrived late (retransmitted, or reordered in flight) and released ${e.heldBytes} held bytes: ${parts.join('; ')}` +
    (own.length ? `; stream(s) ${own.join(', ')} waited for their own lost bytes (not counted)` : '')
  );
}

/** Per connection, as it completes: reads the session's `connection.h2.tcpHol` and each stream's `request.h2.tcpHol`. */
function stream(opts: DetectOptions, emit: FindingSink): StreamingDetector {
  const limit = threshold(opts.thresholds, 'h2TcpHolMs', THRESHOLDS.h2TcpHolMs.default);
  const floor = threshold(opts.thresholds, 'h2TcpHolStreamFloorMs', THRESHOLDS.h2TcpHolStreamFloorMs.default);
  return {
    onConnection(c, requests) {
      if (!isH2(c) || !h2Facts(c)?.tcpHol) return;
      const reqs = streamsOf(requests);
      for (const h of connectionHol(c, reqs, floor)) {
        const f = finding(h, reqs, limit, floor);
        if (f) emit(f);
      }
    },
  };
}

function finding(h: ConnectionHol, reqs: Map<number, Request>, limit: number, floor: number): Finding | null {
  if (h.totalMs < limit || !h.streams.length) return null;
  // Each episode's longest hold, computed once (not per comparison of the sort).
  const maxHol = new Map<HolEpisode, number>();
  for (const e of h.episodes) maxHol.set(e, maxOf(e.streams, (s) => s.holMs));
  const counted = h.episodes.filter((e) => maxHol.get(e)! >= floor);
  const shown = [...counted].sort((a, b) => maxHol.get(b)! - maxHol.get(a)!).slice(0, MAX_EPISODE_EVIDENCE);
  shown.sort((a, b) => a.releaseTime - b.releaseTime);
  const dir = h.side === 'server' ? 'response' : 'request';
  const worst = h.streams[0];
  // Each stream's longest stall (the first episode holding it longest; within an episode its
  // first record): one pass over the episodes instead of one per stream.
  const longest = new Map<number, { packet: number; time: number; ms: number }>();
  for (const e of h.episodes) {
    const seen = new Set<number>();
    for (const sh of e.streams) {
      if (seen.has(sh.streamId)) continue;
      seen.add(sh.streamId);
      const at = longest.get(sh.streamId);
      if (!at || sh.holMs > at.ms) longest.set(sh.streamId, { packet: sh.firstPacket, time: sh.firstTime, ms: sh.holMs });
    }
  }
  const evidence = [
    ...capEvidence(h.streams.map((s) => {
      // Point at the stream's longest stall: its first held packet there.
      const at = longest.get(s.streamId) ?? null;
      return ev(
        at?.packet ?? null,
        at?.time ?? null,
        `${streamLabel(s.streamId, s.request)}: ${dir} held ${fmtMs(s.stalledMs)} in ${s.stalls} stall(s) behind other streams' lost bytes` +
          (at ? ` (longest ${fmtMs(at.ms)}, from this packet)` : '') +
          (s.ownLossStalls ? `; held ${s.ownLossStalls} more time(s) behind its own lost bytes (not counted)` : ''),
      );
    }), MAX_STREAM_EVIDENCE),
    ...shown.flatMap((e) => [
      ev(e.firstHeldPacket, e.firstHeldTime, `a segment is missing before this one: from here on, received bytes wait in TCP (for ${fmtMs(e.releaseTime - e.firstHeldTime)}, until packet ${e.releasePacket})`),
      ev(e.releasePacket, e.releaseTime, describeEpisode(e, reqs, floor)),
    ]),
  ];
  if (counted.length > shown.length) evidence.push(ev(null, null, `${counted.length - shown.length} smaller episode(s) not listed`));
  if (h.approximate) evidence.push(ev(null, null, 'a frame boundary was lost in this direction: the byte-to-stream attribution after it is approximate'));
  const first = counted[0] ?? h.episodes[0];
  const last = counted[counted.length - 1] ?? h.episodes[h.episodes.length - 1];
  return {
    kind: 'hol-stall',
    rule: 'lost-segment',
    layer: 'tcp',
    severity: 'warning',
    summary:
      `${h.streams.length} HTTP/2 stream(s) on connection ${h.connectionId} waited ${fmtMs(h.totalMs)} in total (${fmtMs(h.wallMs)} of wall-clock time) ` +
      `for TCP retransmissions of other streams' ${dir} bytes, after the ${h.side}'s ${lateSegmentsText(h.lateSegments)} (${counted.length} of them held other streams); worst: ${streamLabel(worst.streamId, worst.request)}, ${fmtMs(worst.stalledMs)}`,
    connectionIds: [h.connectionId],
    requestIds: h.streams.filter((s) => s.request).map((s) => s.request!.id),
    timeRange: [first ? first.firstHeldTime : 0, last ? last.releaseTime : 0],
    costMs: h.totalMs,
    evidence,
    advice:
      'HTTP/2 carries all streams on one TCP connection, and TCP hands bytes over only in order: one lost segment holds back every stream behind it until it is retransmitted. ' +
      'Find and fix the loss first (a congested or lossy link, a too-small buffer at a router — see the retransmissions in the evidence). ' +
      'On lossy paths (mobile, Wi-Fi, long distances) HTTP/3 (QUIC) avoids this, because each stream is delivered in order on its own; ' +
      'a faster loss recovery (SACK, RACK, a modern congestion control such as BBR at the server) shortens each stall.',
  };
}

export const h2TcpHol: DetectorDef = defineDetector({
  name: 'h2-tcp-hol',
  kinds: ['hol-stall'],
  thresholds: THRESHOLDS,
  reads: { requestH2: ['tcpHol'] },
  stream,
});
