/**
 * hol-stall (layer `quic`, rule `stream-loss`): on a QUIC connection, a lost packet holds only the
 * streams whose data it carried — the counterpart of h2-tcp-hol.ts (HTTP/2 over TCP, where one lost
 * segment holds every stream behind it), showing what HTTP/3 avoided.
 *
 * Signature (needs the key log: STREAM frames are in 1-RTT packets). The QUIC layer
 * (core/src/quic/loss.ts, `connection.extra.quicLoss`) follows every stream's offsets per sending
 * side: data arriving beyond a hole in a stream opens an episode, during which that stream's own
 * later bytes wait; the episode ends when the hole is filled. A hole filled by a packet whose
 * number is above every one seen before from that side is a retransmission (RFC 9000 §13.3:
 * lost data goes out again in new packets); one filled by an older packet number is reordering
 * in flight, not loss (not counted). While an episode is open, data of the other streams that
 * arrives in order is delivered at once (RFC 9000 §2.2: streams are ordered each on its own) —
 * the loss layer records, per such stream, its bytes and the span from its first delivery in the
 * episode to the episode's end: what one ordered byte stream (TCP) would have held it.
 *
 * Rule `stream-loss` (info): one finding per connection and sending side when the retransmitted
 * episodes at least `quicStreamLossFloorMs` long (default 0.5 ms; shorter is noise) sum to
 * `quicStreamLossMs` (default 10 ms, the h2-tcp-hol threshold). Packet numbers missing from the
 * capture and whether the peer acknowledged them (the capture missed them, the peer did not) are
 * given beside.
 *
 * Cost = the streams' own waits summed (stream-milliseconds, each episode's hole-open to
 * hole-filled): what the loss cost on QUIC. The summary sets beside it what the same arrivals
 * would have cost the other streams over one ordered byte stream (the sum over episodes and other
 * streams of their avoided waits) — not a cost, since it did not happen.
 *
 * Streaming (stream.ts): per connection as it completes (the facts are in its record); nothing is
 * kept between connections, so streaming equals batch.
 *
 * Where it can be wrong:
 *  - Capture point. At the receiver (or after the loss point) a lost packet is missing and its
 *    data comes later: the episodes are what the receiver's QUIC stack imposed. At the sender
 *    (before the loss point) the lost packet was captured and its data is seen twice: no hole, no
 *    episode — only `duplicateBytes` says data was sent again; the receiver's waits are not
 *    estimated there.
 *  - The capture can miss a packet the receiver got (then the peer's ACK covers its number:
 *    `missingAcked`), and the data in it then looks retransmitted when the sender repeats it for
 *    another reason (a spurious retransmission) — rare; otherwise a captured-then-missed hole
 *    stays open until the next copy and overstates the wait.
 *  - Senders skip packet numbers on purpose (RFC 9000 §21.4): "missing" counts them too.
 *  - The avoided waits assume the same arrival times over TCP; one TCP connection would have had
 *    its own congestion control and loss pattern.
 *  - The application may read a stream later than QUIC could deliver it (a slow reader hides part
 *    of a wait).
 *  - Episodes are bounded (MAX_LOSS_EPISODES per side; beyond, counted) and a stream too
 *    fragmented to follow is merged (`approximate`).
 */
import type { Connection, Evidence, Finding, Request, Side } from '../model/types.js';
import type { QuicLossEpisode, QuicLossFacts, QuicLossSide } from '../quic/loss.js';
import type { DetectorDef, DetectOptions } from './index.js';
import { defineDetector, type FindingSink, type StreamingDetector } from './stream.js';
import { isQuic } from './quic-util.js';
import { capEvidence, ev, fmtMs, label, originLabel, threshold } from './util.js';

const THRESHOLDS = {
  quicStreamLossMs: { default: 10, unit: 'ms', description: 'QUIC streams waiting for their own retransmitted data for at least this long in total (per connection and sending side) give a hol-stall/stream-loss (info)' },
  quicStreamLossFloorMs: { default: 0.5, unit: 'ms', description: '…counting only waits at least this long (shorter: reordering noise)' },
} as const;

/** Episodes with an evidence line each (the longest); the others are counted in one line. */
export const MAX_EPISODE_EVIDENCE = 40;
/** Other streams named per episode line (the most bytes); the others are counted. */
const MAX_OTHERS_NAMED = 8;

/** The QUIC loss facts of a connection's record, or null. */
export function quicLossFacts(c: Connection): QuicLossFacts | null {
  const l = c.extra?.quicLoss as QuicLossFacts | undefined;
  return l && typeof l === 'object' && l.client && l.server ? l : null;
}

const kb = (n: number): string => (n >= 10_000 ? `${(n / 1000).toFixed(0)} kB` : `${n} bytes`);

function streamName(id: number, r: Request | undefined): string {
  return r ? `stream ${id} (${label(r)})` : `stream ${id}`;
}

function stream(opts: DetectOptions, emit: FindingSink): StreamingDetector {
  const limit = threshold(opts.thresholds, 'quicStreamLossMs', THRESHOLDS.quicStreamLossMs.default);
  const floor = threshold(opts.thresholds, 'quicStreamLossFloorMs', THRESHOLDS.quicStreamLossFloorMs.default);
  return {
    onConnection(c: Connection, requests: readonly Request[]) {
      // The loss facts belong to the QUIC layer's record: without it, nothing is claimed.
      if (!isQuic(c) || !c.quic) return;
      const facts = quicLossFacts(c);
      if (!facts) return;
      const byStream = new Map<number, Request>();
      for (const r of requests) if (r.streamId !== undefined && r.streamId !== null) byStream.set(r.streamId, r);
      for (const side of ['server', 'client'] as const) {
        const f = finding(c, side, facts[side], byStream, limit, floor);
        if (f) emit(f);
      }
    },
  };
}

function finding(c: Connection, side: Side, s: QuicLossSide, reqs: Map<number, Request>, limit: number, floor: number): Finding | null {
  const lost = s.episodes.filter((e) => e.retransmitted && e.endTime - e.startTime >= floor);
  const ownMs = lost.reduce((n, e) => n + (e.endTime - e.startTime), 0);
  if (!lost.length || ownMs < limit) return null;
  const reordered = s.episodes.filter((e) => !e.retransmitted && e.fillPn >= 0).length;
  const unfilled = s.episodes.filter((e) => e.fillPn < 0).length;
  const streams = [...new Set(lost.map((e) => e.streamId))].sort((a, b) => a - b);
  const perStream = new Map<number, number>();
  for (const e of lost) perStream.set(e.streamId, (perStream.get(e.streamId) ?? 0) + (e.endTime - e.startTime));
  const worst = [...perStream].sort((a, b) => b[1] - a[1] || a[0] - b[0])[0];
  const longest = lost.reduce((a, e) => (e.endTime - e.startTime > a.endTime - a.startTime ? e : a));
  const otherBytes = lost.reduce((n, e) => n + e.others.reduce((m, o) => m + o.bytes, 0), 0);
  const avoidedMs = lost.reduce((n, e) => n + e.others.reduce((m, o) => m + o.avoidedMs, 0), 0);
  const avoidedMax = Math.max(0, ...lost.flatMap((e) => e.others.map((o) => o.avoidedMs)));
  const othersHelped = new Set(lost.flatMap((e) => e.others.map((o) => o.streamId)));
  const dir = side === 'server' ? 'response' : 'request';
  const peer = side === 'server' ? 'client' : 'server';

  const shown = [...lost].sort((a, b) => b.endTime - b.startTime - (a.endTime - a.startTime)).slice(0, MAX_EPISODE_EVIDENCE).sort((a, b) => a.startTime - b.startTime);
  const evidence: Evidence[] = shown.map((e) => ev(e.startPacket, e.startTime, episodeText(e, reqs)));
  if (lost.length > shown.length) evidence.push(ev(null, null, `${lost.length - shown.length} shorter episode(s) not listed`));
  for (const e of shown) evidence.push(ev(e.endPacket, e.endTime, `packet number ${e.fillPn} brought ${streamName(e.streamId, reqs.get(e.streamId))}'s missing data at offset ${e.holeOffset} again (new packet number: a retransmission, RFC 9000 §13.3)`));
  evidence.push(
    ev(
      null,
      null,
      `${side}'s 1-RTT packets: ${s.packets} captured, ${s.missing} packet number(s) missing between them, ${s.missingAcked} of those acknowledged by the ${peer} (the capture missed them)` +
        (s.missing > s.missingAcked ? `; the other ${s.missing - s.missingAcked} never acknowledged: lost before the capture point, or skipped by the sender (RFC 9000 §21.4)` : '') +
        (reordered ? `; ${reordered} hole(s) filled by an older packet number (reordering, not counted)` : '') +
        (unfilled ? `; ${unfilled} hole(s) never filled in the capture (not counted)` : '') +
        (s.episodesDropped ? `; ${s.episodesDropped} more episode(s) beyond the recorded ones` : '') +
        (s.approximate ? '; some ranges merged at a limit (approximate)' : ''),
    ),
  );
  const requestIds = streams.flatMap((id) => (reqs.get(id) ? [reqs.get(id)!.id] : []));
  return {
    kind: 'hol-stall',
    rule: 'stream-loss',
    layer: 'quic',
    severity: 'info',
    summary:
      `QUIC connection ${c.id} (${c.client.ip} → ${originLabel(c)}): ${lost.length} loss(es) in the ${side}'s packets held only the stream that lost data — ` +
      `${streams.length} stream(s) waited ${fmtMs(ownMs)} in all for their own retransmitted ${dir} data (longest ${fmtMs(longest.endTime - longest.startTime)}, ${streamName(longest.streamId, reqs.get(longest.streamId))}; most in all ${streamName(worst[0], reqs.get(worst[0]))}, ${fmtMs(worst[1])}). ` +
      (othersHelped.size
        ? `Meanwhile the other streams' data arriving in order (${kb(otherBytes)} on ${othersHelped.size} stream(s) over the episodes) was delivered on arrival: over one ordered byte stream (HTTP/2 over TCP) the same arrivals would have held them ${fmtMs(avoidedMs)} in all (up to ${fmtMs(avoidedMax)} at once) — the head-of-line blocking HTTP/3 avoided.`
        : 'No other stream had data arriving meanwhile, so nothing else could have been held.'),
    connectionIds: [c.id],
    requestIds,
    timeRange: [Math.min(...lost.map((e) => e.startTime)), Math.max(...lost.map((e) => e.endTime))],
    costMs: ownMs,
    evidence: capEvidence(evidence),
    advice:
      'Nothing to change in the protocol: QUIC kept each loss on its own stream. The waits themselves come from the loss and the time to detect it (packet or time threshold, RFC 9002 §6.1): reduce loss on the path (queue sizes, a congested or lossy link), or, for the sender, a loss detection that reacts sooner. Compare with hol-stall/lost-segment on HTTP/2 over TCP, where every stream would have waited.',
  };
}

function episodeText(e: QuicLossEpisode, reqs: Map<number, Request>): string {
  const others = [...e.others].sort((a, b) => b.bytes - a.bytes || a.streamId - b.streamId);
  const named = others.slice(0, MAX_OTHERS_NAMED).map((o) => `${streamName(o.streamId, reqs.get(o.streamId))} ${kb(o.bytes)} (would have waited ${fmtMs(o.avoidedMs)})`);
  const more = others.length - named.length + e.othersDropped;
  return (
    `${streamName(e.streamId, reqs.get(e.streamId))}: ${e.holeBytes} bytes at offset ${e.holeOffset} missing, ${kb(e.heldBytes)} of its later data held ${fmtMs(e.endTime - e.startTime)} until packet ${e.endPacket}` +
    (named.length ? `; meanwhile delivered on arrival: ${named.join(', ')}${more > 0 ? ` and ${more} more` : ''}` : '; no other stream received data meanwhile')
  );
}

export const quicStreamLoss: DetectorDef = defineDetector({
  name: 'quic-stream-loss',
  kinds: ['hol-stall'],
  thresholds: THRESHOLDS,
  reads: {},
  stream,
});
