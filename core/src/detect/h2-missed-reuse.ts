/**
 * missed-reuse (layer `h2`): a new connection to an origin while an HTTP/2 connection to it was
 * open, ready and had room for more streams. HTTP/2 multiplexes any number of requests (up to the
 * server's SETTINGS_MAX_CONCURRENT_STREAMS) on one connection, and RFC 9113 §9.1 says clients
 * SHOULD NOT open more than one HTTP/2 connection to a given host and port.
 *
 * Signature. HTTP/2 connections (h2c, and h2 when its frames are visible) are grouped by client
 * address and server endpoint (for `http` URIs, RFC 9113 §9.1.1 allows reuse for any host that
 * resolves to the same address) and, over TLS, the SNI: a connection for another name on the same
 * address is reused only by coalescing, which needs the certificate to cover that name — that is
 * h2-coalescing.ts. A connection N with at least one request, opened (SYN) at t, is avoidable
 * when an earlier connection P of its group was at t:
 *   - open: its handshake done, no FIN/RST before t;
 *   - not draining: no GOAWAY from either side before t;
 *   - ready and in use: the server's SETTINGS had arrived (so the client knew it was HTTP/2 and
 *     its stream limit) and the client had already sent a request on P;
 *   - not full: P's open streams at t (requests started, response not yet complete) were fewer
 *     than the server's MAX_CONCURRENT_STREAMS in force at t (unlimited when not advertised).
 * Rule `h2-second-connection`: one finding per client and origin, "k of m connections avoidable".
 * Cost per avoidable connection: its TCP handshake (SYN → ACK at the capture point) plus, over TLS,
 * its measured TLS handshake (1 round trip for full TLS 1.3, 2 for full TLS 1.2: `util.handshakeCost`)
 * — it also paid a SETTINGS exchange and a fresh congestion window, not counted, so the cost is a
 * floor.
 *
 * Load generators and pre-opened pools: `h2load -c 2` (samples/h2load.pcap) opens both
 * connections at once, the second SYN (0.075 ms) before the first has its server SETTINGS
 * (0.118 ms) or any request (0.316 ms). Opening several connections on purpose — to spread load
 * over server threads or measure it — is the tool's documented choice (`-c`), not a client that
 * failed to find its connection, so it is not a finding: the "ready and in use" condition excludes
 * connections opened before the client could have used the first one. A client that opens N after
 * it has been using P (samples/h2-two-connections.pcap: the second `nghttp` process, 53 ms into
 * the first one's transfer) is the finding.
 *
 * Streaming (stream.ts): per client and origin in order of opening, keeping the open HTTP/2
 * connections (their streams' start and end times, dropped once closed before the watermark); one
 * finding per origin at the end.
 *
 * Where it can be wrong:
 *  - Separate processes (two command-line clients, two browser profiles) cannot share a
 *    connection; the finding is then about the application design (share one client), not a bug
 *    in either process.
 *  - Same address, different origins: over h2c any host on the address is merged (§9.1.1 allows
 *    it for `http`); behind NAT, several clients share one address.
 *  - The server may have been about to refuse more streams (a lower MAX_CONCURRENT_STREAMS in a
 *    SETTINGS not yet acknowledged, load shedding) or P may have been slow (a big download with
 *    flow-control stalls): a client may open a second connection on purpose to avoid head-of-line
 *    blocking — the finding then says the deliberate trade-off cost a handshake.
 *  - Open streams are counted from request/response times at the capture point, so a stream
 *    finishing at t is counted as open or not by a few microseconds.
 */
import type { Connection, Finding, Report, Request } from '../model/types.js';
import type { DetectorDef, DetectOptions } from './index.js';
import { defineDetector, type FindingSink, type StreamContext, type StreamingDetector } from './stream.js';
import { ev, fmtMs, h2Facts, isH2 } from './h2-util.js';
import { capEvidence, groupByOrigin, handshakeCost, handshakesNote, MinHeap, openTime, originKey, originLabel } from './util.js';

const THRESHOLDS = {} as const;

export interface AvoidableH2Connection {
  connection: Connection;
  /** The open connection that could have carried its requests. */
  couldUse: Connection;
  openStreams: number;
  /** Server's MAX_CONCURRENT_STREAMS on `couldUse` at the time (null = not advertised: unlimited). */
  limit: number | null;
  /** When `couldUse` became ready (server SETTINGS) and its first request. */
  readyTime: number;
  readyPacket: number;
  firstRequest: Request;
  costMs: number;
}

function reqsOf(report: Report): Map<number, Request[]> {
  const m = new Map<number, Request[]>();
  for (const r of report.requests) {
    const l = m.get(r.connectionId) ?? [];
    l.push(r);
    m.set(r.connectionId, l);
  }
  for (const l of m.values()) byStart(l);
  return m;
}

/** In order of start, then index (sorts `l` in place). */
function byStart(l: Request[]): Request[] {
  return l.sort((a, b) => a.times.requestStartTime - b.times.requestStartTime || a.index - b.index);
}

/** The server's MAX_CONCURRENT_STREAMS in force at t, and when its first SETTINGS arrived. */
export function serverSettingsAt(c: Connection, t: number): { ready: { time: number; packet: number } | null; limit: number | null } {
  const recs = h2Facts(c)?.server?.settings ?? [];
  let ready: { time: number; packet: number } | null = null;
  let limit: number | null = null;
  for (const r of recs) {
    if (r.time > t) break;
    if (!ready) ready = { time: r.time, packet: r.packet };
    const v = r.settings.MAX_CONCURRENT_STREAMS;
    if (v !== undefined) limit = v;
  }
  return { ready, limit };
}

/** A GOAWAY from either side at or before t (RFC 9113 §6.8: the connection is draining). */
export function goawayBefore(c: Connection, t: number): boolean {
  const h = h2Facts(c);
  return [h?.client?.goaway, h?.server?.goaway].some((g) => g !== undefined && g.time <= t);
}

/** What the sweep keeps of an open connection: its streams' start and end times (not the requests). */
interface Live {
  c: Connection;
  /** Its first request that was not a push (in order of start). */
  first: Request | undefined;
  /** Starts and ends (NaN: no end) of its requests that were not pushes, in order of start. */
  starts: Float64Array;
  ends: Float64Array;
}

function live(c: Connection, reqs: readonly Request[]): Live {
  const own = reqs.filter((r) => !r.pushed);
  return {
    c,
    first: own[0],
    starts: Float64Array.from(own, (r) => r.times.requestStartTime),
    ends: Float64Array.from(own, (r) => r.times.responseEndTime ?? NaN),
  };
}

/**
 * One client and origin's sweep, fed in order of opening: `live` holds the earlier connections not
 * closed (FIN/RST) by t, in order of opening; a heap by close time takes them out, and those that
 * can never qualify again (no handshake, GOAWAY sent) leave when first met. Only those are
 * candidates, so n connections opened one after another cost O(n log n), not n²/2 pairs.
 */
class Sweep {
  private readonly live = new Set<Live>();
  private readonly byClose = new MinHeap<Live>((l) => l.c.close.time ?? Infinity);
  /** Connections seen (the group's size). */
  count = 0;

  /**
   * `l` closed before every connection still to come opens: it leaves the sweep now rather than
   * when the group's next connection comes (which may be never).
   */
  expire(l: Live): void {
    this.live.delete(l);
    if (!this.live.size) this.byClose.clear();
  }

  /** N, with its requests in order of start: the avoidable connection it is, if it is one. */
  add(n: Connection, reqs: readonly Request[]): AvoidableH2Connection | undefined {
    const t = openTime(n);
    while (this.byClose.size && this.byClose.key(this.byClose.peek()!) <= t) this.live.delete(this.byClose.pop()!);
    const a = this.count++ > 0 && reqs.length ? this.judge(n, reqs, t) : undefined;
    const l = live(n, reqs);
    this.live.add(l);
    this.byClose.push(l);
    this.last = l;
    return a;
  }

  /** The connection added last (its sweep entry). */
  last: Live | undefined;

  private judge(n: Connection, reqs: readonly Request[], t: number): AvoidableH2Connection | undefined {
    for (const l of this.live) {
      const p = l.c;
      if (p.establishedTime === null || goawayBefore(p, t)) {
        this.live.delete(l); // draining (RFC 9113 §6.8) or never established: not for any later t either
        continue;
      }
      if (p.establishedTime > t) continue;
      const { ready, limit } = serverSettingsAt(p, t);
      if (!ready) continue;
      if (!l.first || l.first.times.requestStartTime > t) continue;
      let open = 0;
      for (let i = 0; i < l.starts.length && l.starts[i] <= t; i++) if (!(l.ends[i] <= t)) open++;
      if (limit !== null && open >= limit) continue;
      return {
        connection: n,
        couldUse: p,
        openStreams: open,
        limit,
        readyTime: ready.time,
        readyPacket: ready.packet,
        firstRequest: l.first,
        costMs: handshakeCost(n, reqs[0]).ms,
      };
    }
    return undefined;
  }
}

/**
 * Avoidable HTTP/2 connections, in order of opening. `groups`: the report's HTTP/2 connections by
 * client and origin, each in order of opening (computed when not given).
 */
export function avoidableH2Connections(
  report: Report,
  groups: Map<string, Connection[]> = groupByOrigin(report.connections.filter(isH2)),
): AvoidableH2Connection[] {
  const reqs = reqsOf(report);
  const out: AvoidableH2Connection[] = [];
  for (const conns of groups.values()) {
    const sweep = new Sweep();
    for (const c of conns) {
      const a = sweep.add(c, reqs.get(c.id) ?? []);
      if (a) out.push(a);
    }
  }
  return out;
}

/** An avoidable connection as the finding needs it: its requests' ids and the first few. */
interface Item extends AvoidableH2Connection {
  requestIds: number[];
  shown: Request[];
  count: number;
}

interface Group {
  minId: number;
  sweep: Sweep;
  list: Item[];
}

/** Per client and origin (`originKey`) in order of opening; one finding per origin at the end. */
function stream(_opts: DetectOptions, emit: FindingSink, ctx: StreamContext): StreamingDetector {
  const groups = new Map<string, Group>();
  /** Open connections by close time: each leaves its sweep once the watermark passes it (streaming only). */
  const closing = new MinHeap<{ l: Live; sweep: Sweep }>((e) => e.l.c.close.time!);
  return {
    onOrdered(n, requests) {
      if (!isH2(n)) return;
      const k = originKey(n);
      let g = groups.get(k);
      if (!g) groups.set(k, (g = { minId: n.id, sweep: new Sweep(), list: [] }));
      g.minId = Math.min(g.minId, n.id);
      const reqs = byStart([...requests]);
      const a = g.sweep.add(n, reqs);
      if (a) g.list.push({ ...a, requestIds: reqs.map((r) => r.id), shown: reqs.slice(0, 5), count: reqs.length });
      if (ctx.bounded && n.close.time !== null) closing.push({ l: g.sweep.last!, sweep: g.sweep });
    },
    onWatermark(w) {
      while (closing.size && closing.key(closing.peek()!) < w) {
        const { l, sweep } = closing.pop()!;
        sweep.expire(l);
      }
    },
    finish() {
      for (const g of [...groups.values()].sort((a, b) => a.minId - b.minId)) if (g.list.length) emit(finding(g.list, g.sweep.count));
      groups.clear();
    },
  };
}

function finding(list: Item[], total: number): Finding {
  const c0 = list[0].connection;
  const origin = originLabel(c0);
  const cost = list.reduce((n, a) => n + a.costMs, 0);
  const requestIds = list.flatMap((a) => a.requestIds);
  const evidence = list.flatMap((a) => {
    const n = a.connection;
    const p = a.couldUse;
    const nr = a.shown;
    return [
      ev(p.firstPacket, openTime(p), `connection ${p.id} to ${origin} opened`),
      ev(a.readyPacket, a.readyTime, `connection ${p.id}: server SETTINGS received (HTTP/2 ready${a.limit !== null ? `, MAX_CONCURRENT_STREAMS = ${a.limit}` : ', no stream limit advertised'})`),
      ev(a.firstRequest.packets.request[0], a.firstRequest.times.requestStartTime, `connection ${p.id}: first request ${a.firstRequest.method} ${a.firstRequest.target} (the client is using it)`),
      ev(n.firstPacket, openTime(n), `connection ${n.id} opened to the same origin while connection ${p.id} was open with ${a.openStreams} active stream(s) of ${a.limit ?? 'unlimited'} allowed`),
      ev(n.lastPacket, n.establishedTime, `connection ${n.id}: handshake took ${fmtMs(a.costMs)}${n.tls ? ` (${handshakeCost(n, nr[0]).what})` : ''}; it then carried ${a.count} request(s): ${nr.slice(0, 5).map((r) => `${r.method} ${r.target}`).join(', ')}${a.count > 5 ? ', …' : ''}`),
    ];
  });
  const first = list[0];
  const lastConn = list[list.length - 1].connection;
  return {
    kind: 'missed-reuse',
    rule: 'h2-second-connection',
    layer: 'h2',
    severity: 'warning',
    summary:
      `${list.length} of ${total} HTTP/2 connections from ${c0.client.ip} to ${origin} were avoidable: opened while another HTTP/2 connection to it was open with room for more streams ` +
      `(~${fmtMs(cost)} of handshakes${handshakesNote(list.map((a) => a.connection))})`,
    connectionIds: [...new Set(list.flatMap((a) => [a.couldUse.id, a.connection.id]))],
    requestIds,
    timeRange: [openTime(first.connection), lastConn.establishedTime ?? openTime(lastConn)],
    costMs: cost,
    evidence: capEvidence(evidence),
    advice:
      'HTTP/2 carries many requests at once on one connection, so a client needs only one connection per origin (RFC 9113 §9.1). ' +
      `Here a second connection was opened although connection ${first.couldUse.id} was open and could take more streams; each extra connection costs a handshake, a slow start and server memory. ` +
      'Send all requests for an origin through one shared HTTP/2 client/session (one connection pool for the whole application, not one per task or process).',
  };
}

export const h2MissedReuse: DetectorDef = defineDetector({
  name: 'h2-missed-reuse',
  kinds: ['missed-reuse'],
  thresholds: THRESHOLDS,
  reads: { orderedConnectionH2: ['client.settings', 'client.goaway', 'server.settings', 'server.goaway'] },
  stream,
});
