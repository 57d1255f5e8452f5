/**
 * missed-resumption and tls-resumption (layer `tls`): full TLS handshakes where the client could
 * have resumed a session, and the resumptions that did happen, with what they saved.
 *
 * Signature. TLS connections whose handshake completed (TLS 1.2 or 1.3) are grouped by client
 * address, server address and port, and SNI (`originKey`: a client caches sessions per server
 * name and port). In order of their ClientHello, each connection N is judged against the sessions
 * the server had handed this client before N's ClientHello, per protocol version (only connections
 * that carried application data from the client are judged — a handshake the client rejected is
 * not about resumption — but every completed handshake can hand out sessions):
 *
 *  - TLS 1.3 (RFC 8446 §4.6.1): tickets from NewSessionTicket. Clients use each ticket once (RFC
 *    8446 §C.4), so they are counted: every earlier connection that received tickets adds one (a
 *    lower bound: servers often send two — the model has only `ticketIssued`), every ClientHello
 *    that offered a PSK takes one. The tickets are encrypted: they are seen with keys; without
 *    keys, a group where some connection *resumed* shows that the server issues tickets to this
 *    client, and every earlier completed handshake with server data after it is credited with one
 *    (inferred, said so in the evidence). A ticket counts from the server's first application data
 *    after the handshake (NewSessionTicket comes with or before it).
 *  - TLS 1.2: a session ticket (RFC 5077 §3.2, the ServerHello echoes session_ticket) or a session
 *    already resumed once (RFC 5246 §7.3: the server still caches it) makes the session available
 *    from the end of that handshake; 1.2 sessions are reusable, not counted. A session cached by
 *    ID after a full handshake is not visible until a resumption shows it.
 *
 * Rules:
 *  - `resumption-not-offered` (kind missed-resumption): N made a full handshake without offering a
 *    session (no pre_shared_key; no ticket or session id) although one was available.
 *  - `resumption-declined` (kind missed-resumption): N offered a session and the server answered
 *    with a full handshake (ticket expired, ticket keys rotated, session cache evicted, another
 *    server behind the same address).
 *  - `resumed` (kind tls-resumption, info): N resumed (TLS 1.3 PSK accepted, TLS 1.2 abbreviated
 *    handshake).
 *
 * Cost per full handshake that could have been resumed: the round trips resumption saves (full −
 * resumed `tls.handshakeRtts`: 1 for TLS 1.2, 0 for TLS 1.3 without 0-RTT), and the time measured:
 * N's handshake (ClientHello → the client's handshake end) minus the median resumed handshake of
 * the same group and version where both exist; else, for TLS 1.2, one round trip (N's TCP
 * handshake time), and for TLS 1.3 the part of N's handshake beyond one round trip (the
 * certificate and its signature, which a resumption skips: an upper bound). The `resumed` finding
 * states what each resumption saved against the median full handshake, and has no cost.
 *
 * Streaming (stream.ts): per client and origin in order of ClientHello (connections wait until no
 * later one can have an earlier ClientHello). The medians and whether TLS 1.3 tickets are inferred
 * depend on the whole group, so the pools are swept both ways and the savings computed at the end;
 * per origin it keeps the pending sessions, one handshake time per connection and the judgements.
 *
 * Where it can be wrong:
 *  - Ticket counts are lower bounds (one per connection that received any), and a client may keep
 *    tickets in a cache the capture cannot see (from before the capture, or dropped by the client:
 *    lifetime, cache size): "available" is the server's offer as captured, not the client's cache.
 *  - Separate processes cannot share a session cache; `resumption-not-offered` then says the
 *    client design (one process per request) costs handshakes, not that one process erred.
 *  - Without keys, TLS 1.3 tickets are invisible: the detector infers them only when the group
 *    shows a resumption; otherwise it is silent about TLS 1.3 missed resumptions.
 *  - A TLS 1.3-capable client that negotiates TLS 1.2 sends a random legacy session id (RFC 8446
 *    §4.1.2 compatibility mode); its real session-id offer cannot be told from that, so a declined
 *    TLS 1.2 session-id offer by such a client reads as `resumption-not-offered`.
 *  - Browsers partition session caches (by top-level site, privacy mode), so a session from another
 *    partition is not available to them although the capture shows it.
 *  - Handshake times include server CPU time, which varies; the measured difference is a median.
 */
import type { Connection, Evidence, Finding } from '../model/types.js';
import type { DetectorDef, DetectOptions } from './index.js';
import { defineDetector, type FindingSink, type StreamingDetector } from './stream.js';
import { clientDataTime } from './tls-util.js';
import { capEvidence, ev, fmtMs, handshakeCost, maxOf, MinHeap, minOf, openTime, originKey, originLabel } from './util.js';

const THRESHOLDS = {} as const;

type Version = 'TLS 1.2' | 'TLS 1.3';
type Rule = 'resumption-not-offered' | 'resumption-declined';
type Source = 'ticket' | 'session' | 'inferred';

interface Credit {
  from: Connection;
  time: number;
  version: Version;
  source: Source;
}

interface Pool {
  /** TLS 1.3: tickets received minus tickets offered (may go below 0: a ticket seen late). 1.2: sessions. */
  count: number;
  last: Credit | null;
}

interface Judged {
  conn: Connection;
  version: Version;
  /** The session that was available (null for a declined offer with no session seen). */
  credit: Credit | null;
  tlsMs: number;
  savedMs: number;
  measured: boolean;
}

function versionOf(c: Connection): Version | null {
  const v = c.tls?.version;
  return v === 'TLS 1.2' || v === 'TLS 1.3' ? v : null;
}

function completed(c: Connection): boolean {
  const t = c.tls!;
  return t.clientHelloTime !== null && t.serverHelloTime !== null && t.handshakeEndTime !== null && versionOf(c) !== null;
}

function tlsMs(c: Connection): number {
  return handshakeCost(c).tlsMs;
}

/** One round trip as this connection saw it: its TCP handshake, else ClientHello → ServerHello. */
function rttOf(c: Connection): number {
  if (c.handshakeRttMs > 0) return c.handshakeRttMs;
  const t = c.tls!;
  return t.serverHelloTime !== null && t.clientHelloTime !== null ? Math.max(0, t.serverHelloTime - t.clientHelloTime) : 0;
}

function median(xs: number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}

/** Round trips a resumption saves for this version (full − resumed handshake round trips). */
function savedRtts(v: Version): number {
  return v === 'TLS 1.2' ? 1 : 0;
}

function sourceText(c: Credit): string {
  switch (c.source) {
    case 'ticket':
      return c.version === 'TLS 1.3' ? 'NewSessionTicket' : 'session ticket (RFC 5077)';
    case 'session':
      return 'a session it had already resumed (still cached by the server)';
    case 'inferred':
      return 'a ticket inferred (tickets are encrypted without keys; a later connection of this client resumed, so the server issues them)';
  }
}

/** A judgement as made in order; what it saved needs the group's medians, known at the end. */
interface Raw {
  conn: Connection;
  version: Version;
  credit: Credit | null;
  tlsMs: number;
}

/** The ticket/session pools and judgements of one group, with or without inferred TLS 1.3 tickets. */
class Sweep {
  private readonly pending = new MinHeap<Credit>((c) => c.time);
  private readonly pools = new Map<Version, Pool>([
    ['TLS 1.2', { count: 0, last: null }],
    ['TLS 1.3', { count: 0, last: null }],
  ]);
  readonly missed = new Map<Rule, Raw[]>();

  constructor(private readonly infer13: boolean) {}

  add(n: Connection): void {
    const t = n.tls!;
    const at = t.clientHelloTime!;
    while (this.pending.size && this.pending.key(this.pending.peek()!) <= at) {
      const c = this.pending.pop()!;
      const p = this.pools.get(c.version)!;
      p.count++;
      p.last = c;
    }
    const v = versionOf(n)!;
    const pool = this.pools.get(v)!;
    if (clientDataTime(n) !== null && !t.resumed) {
      const rule: Rule | null = t.resumptionOffered ? 'resumption-declined' : pool.count > 0 ? 'resumption-not-offered' : null;
      if (rule) {
        const l = this.missed.get(rule) ?? [];
        l.push({ conn: n, version: v, credit: pool.count > 0 ? pool.last : null, tlsMs: tlsMs(n) });
        this.missed.set(rule, l);
      }
    }
    // RFC 8446 §C.4: a TLS 1.3 client uses a ticket once; offering it spends it.
    if (v === 'TLS 1.3' && t.resumptionOffered) pool.count--;
    const credit = creditOf(n, v, this.infer13);
    if (credit) this.pending.push(credit);
  }
}

/** One client and origin's state (`originKey`, completed handshakes). */
interface Group {
  minId: number;
  any: Connection;
  size: number;
  /** Connections that carried data (the judged ones). */
  total: number;
  fullMs: Map<Version, number[]>;
  resumedMs: Map<Version, number[]>;
  /** Whether a TLS 1.3 connection resumed (then tickets are inferred without keys): known at the end, so both are swept. */
  resumed13: boolean;
  plain: Sweep;
  inferred: Sweep;
  resumed: Raw[];
}

/**
 * Per client and origin in order of ClientHello: connections come in order of opening
 * (`onOrdered`) and wait in a small heap until no connection still to come can have an earlier
 * ClientHello (one opened later sends its ClientHello later). The medians and whether TLS 1.3
 * tickets are inferred depend on the whole group, so the pools are swept both ways (with and
 * without inferred tickets) and the savings computed at the end: the state per origin is the
 * pending credits, one handshake time per connection and the judgements.
 */
function stream(_opts: DetectOptions, emit: FindingSink): StreamingDetector {
  const groups = new Map<string, Group>();
  const waiting = new MinHeap<Connection>((c) => c.tls!.clientHelloTime!);
  /** Same ClientHello time: by id (the heap orders by time only). */
  const ties: Connection[] = [];

  function take(n: Connection): void {
    const k = originKey(n);
    let g = groups.get(k);
    if (!g) {
      g = { minId: n.id, any: n, size: 0, total: 0, fullMs: new Map(), resumedMs: new Map(), resumed13: false, plain: new Sweep(false), inferred: new Sweep(true), resumed: [] };
      groups.set(k, g);
    }
    g.minId = Math.min(g.minId, n.id);
    g.size++;
    const t = n.tls!;
    const v = versionOf(n)!;
    const ms = tlsMs(n);
    if (ms > 0) {
      const m = t.resumed ? g.resumedMs : g.fullMs;
      const l = m.get(v);
      if (l) l.push(ms);
      else m.set(v, [ms]);
    }
    if (v === 'TLS 1.3' && t.resumed) g.resumed13 = true;
    if (clientDataTime(n) !== null) {
      g.total++;
      if (t.resumed) g.resumed.push({ conn: n, version: v, credit: null, tlsMs: ms });
    }
    g.plain.add(n);
    g.inferred.add(n);
  }

  /** Judge every waiting connection whose ClientHello came before `t`. */
  function release(t: number): void {
    while (waiting.size && waiting.key(waiting.peek()!) < t) {
      const at = waiting.key(waiting.peek()!);
      while (waiting.size && waiting.key(waiting.peek()!) === at) ties.push(waiting.pop()!);
      ties.sort((a, b) => a.id - b.id);
      for (const c of ties) take(c);
      ties.length = 0;
    }
  }

  return {
    onOrdered(c) {
      if (c.tls === undefined || !completed(c)) return;
      // Later connections open at or after this one, and send their ClientHello after opening.
      release(openTime(c));
      waiting.push(c);
    },
    onWatermark(t) {
      release(t);
    },
    finish() {
      release(Infinity);
      for (const g of [...groups.values()].sort((a, b) => a.minId - b.minId)) {
        if (g.size < 2) continue;
        const medFull = new Map([...g.fullMs].map(([v, l]) => [v, median(l)!]));
        const medResumed = new Map([...g.resumedMs].map(([v, l]) => [v, median(l)!]));
        const origin = originLabel(g.any);
        const client = g.any.client.ip;
        const missed = (g.resumed13 ? g.inferred : g.plain).missed;
        for (const [rule, items] of missed) {
          const judged = items.map((j): Judged => {
            const res = medResumed.get(j.version);
            const measured = res !== undefined && j.tlsMs > 0;
            const savedMs = measured ? Math.max(0, j.tlsMs - res) : j.version === 'TLS 1.2' ? rttOf(j.conn) : Math.max(0, j.tlsMs - rttOf(j.conn));
            return { ...j, savedMs, measured };
          });
          emit(missedFinding(rule, judged, g.total, client, origin));
        }
        if (g.resumed.length) {
          const judged = g.resumed.map((j): Judged => {
            const full = medFull.get(j.version);
            const measured = full !== undefined && j.tlsMs > 0;
            return { ...j, savedMs: measured ? Math.max(0, full - j.tlsMs) : savedRtts(j.version) * rttOf(j.conn), measured };
          });
          emit(resumedFinding(judged, g.total, client, origin, medFull));
        }
      }
      groups.clear();
    },
  };
}

function creditOf(c: Connection, v: Version, infer13: boolean): Credit | null {
  const t = c.tls!;
  if (v === 'TLS 1.2') {
    if (t.ticketIssued) return { from: c, time: t.handshakeEndTime!, version: v, source: 'ticket' };
    if (t.resumed) return { from: c, time: t.handshakeEndTime!, version: v, source: 'session' };
    return null;
  }
  const after = Math.max(t.handshakeEndTime!, t.firstAppDataTime.server ?? t.handshakeEndTime!);
  if (t.ticketIssued) return { from: c, time: after, version: v, source: 'ticket' };
  if (infer13 && !t.decrypted && t.firstAppDataTime.server !== null) return { from: c, time: after, version: v, source: 'inferred' };
  return null;
}

function rttNote(v: Version): string {
  return v === 'TLS 1.2'
    ? 'a full TLS 1.2 handshake takes 2 round trips, a resumed one 1'
    : 'a TLS 1.3 resumption keeps its 1 round trip (0 only with 0-RTT early data) but skips the certificate and its signature';
}

function missedFinding(rule: Rule, items: Judged[], total: number, client: string, origin: string): Finding {
  const cost = items.reduce((s, j) => s + j.savedMs, 0);
  const versions = [...new Set(items.map((j) => j.version))];
  const rtts = items.reduce((s, j) => s + savedRtts(j.version), 0);
  const sources = [...new Map(items.filter((j) => j.credit).map((j) => [j.credit!.from.id, j.credit!])).values()];
  const evidence: Evidence[] = sources.slice(0, 10).map((c) => ev(c.from.firstPacket, c.time, `connection ${c.from.id}: the server handed this client ${sourceText(c)} (${c.version}) — usable from here`));
  for (const j of items) {
    const n = j.conn;
    const t = n.tls!;
    const offered = rule === 'resumption-declined'
      ? `the client offered a session (${j.version === 'TLS 1.3' ? 'pre_shared_key' : 'session ticket / id'}) and the server answered with a full handshake`
      : `the client offered no session${j.credit ? ` although ${sourceText(j.credit)} from connection ${j.credit.from.id} was available` : ''}`;
    evidence.push(
      ev(n.firstPacket, t.clientHelloTime, `connection ${n.id}: full ${j.version} handshake ${fmtMs(j.tlsMs)} (ClientHello → Finished); ${offered}; a resumption would have saved ~${fmtMs(j.savedMs)}${j.measured ? ' (measured against the resumed handshakes here)' : ' (estimated)'}`),
    );
  }
  const what =
    rule === 'resumption-not-offered'
      ? 'made a full TLS handshake although the server had handed this client a session to resume on an earlier connection (the client did not offer it)'
      : 'offered a session to resume and got a full TLS handshake instead (the server did not accept it)';
  const severity: Finding['severity'] = rtts > 0 ? 'warning' : 'info';
  return {
    kind: 'missed-resumption',
    rule,
    layer: 'tls',
    severity,
    summary:
      `${items.length} of ${total} TLS connections from ${client} to ${origin} ${what}: ~${fmtMs(cost)} of handshake time, ${rtts} round trip${rtts === 1 ? '' : 's'} in all (${versions.map(rttNote).join('; ')})`,
    connectionIds: [...new Set([...sources.map((c) => c.from.id), ...items.map((j) => j.conn.id)])].sort((a, b) => a - b),
    requestIds: [],
    timeRange: [Math.min(minOf(sources, (c) => openTime(c.from)), openTime(items[0].conn)), maxOf(items, (j) => j.conn.tls!.handshakeEndTime!)],
    costMs: cost,
    evidence: capEvidence(evidence),
    advice:
      rule === 'resumption-not-offered'
        ? 'Keep one TLS session cache across connections to this server: use one HTTP client (or process) for all requests rather than a new one each time — curl: several URLs in one run, or a share handle with CURL_LOCK_DATA_SSL_SESSION; Node.js: a shared https.Agent (maxCachedSessions); Python: reuse the SSLContext and pass `session=`. Better still, reuse the connection itself: no handshake at all.'
        : 'Find why the server refused the session: ticket keys that differ between the servers behind this address or rotate too often (nginx `ssl_session_ticket_key` shared by every server), a session cache too small or too short (`ssl_session_cache`, `ssl_session_timeout`), or a client offering an expired ticket.',
  };
}

function resumedFinding(items: Judged[], total: number, client: string, origin: string, medFull: Map<Version, number>): Finding {
  const versions = [...new Set(items.map((j) => j.version))];
  const rtts = items.reduce((s, j) => s + savedRtts(j.version), 0);
  const saved = items.reduce((s, j) => s + j.savedMs, 0);
  const compare = versions
    .map((v) => {
      const full = medFull.get(v);
      const res = median(items.filter((j) => j.version === v && j.tlsMs > 0).map((j) => j.tlsMs));
      return full !== undefined && res !== null ? `${v}: resumed handshake ${fmtMs(res)} vs ${fmtMs(full)} full (medians)` : `${v}: no full handshake here to compare with`;
    })
    .join('; ');
  const evidence = items.map((j) =>
    ev(j.conn.firstPacket, j.conn.tls!.clientHelloTime, `connection ${j.conn.id}: ${j.version} ${j.version === 'TLS 1.3' ? 'PSK accepted' : 'abbreviated handshake'}${j.conn.tls!.earlyData === 'accepted' ? ' with 0-RTT early data' : ''}, handshake ${fmtMs(j.tlsMs)}${j.measured ? `, ~${fmtMs(j.savedMs)} shorter than the full one` : ''}`),
  );
  return {
    kind: 'tls-resumption',
    rule: 'resumed',
    layer: 'tls',
    severity: 'info',
    summary: `${items.length} of ${total} TLS connections from ${client} to ${origin} resumed an earlier session: ${rtts} round trip${rtts === 1 ? '' : 's'} saved in all${saved > 0 ? `, ~${fmtMs(saved)} of handshake time` : ''} (${compare}; ${versions.map(rttNote).join('; ')})`,
    connectionIds: items.map((j) => j.conn.id),
    requestIds: [],
    timeRange: [openTime(items[0].conn), maxOf(items, (j) => j.conn.tls!.handshakeEndTime!)],
    evidence: capEvidence(evidence),
    advice:
      'Nothing to fix: the client kept its TLS sessions and the server accepted them. Each of these connections still paid a TCP handshake and a TLS round trip; reusing one connection for the requests (keep-alive, HTTP/2) would avoid both, and TLS 1.3 0-RTT early data can save the TLS round trip for idempotent requests (RFC 8446 §8: replayable).',
  };
}

export const tlsResumption: DetectorDef = defineDetector({
  name: 'tls-resumption',
  kinds: ['missed-resumption', 'tls-resumption'],
  thresholds: THRESHOLDS,
  reads: {},
  stream,
});
