/**
 * alt-svc (layer `quic`): an origin advertising HTTP/3 on its HTTP/1.1 or HTTP/2 responses
 * (`Alt-Svc: h3=":443"`, RFC 7838 §3, RFC 9114 §3.1.1) and what the client did with it.
 *
 * Signature. Responses over TCP (with keys: their headers are visible) whose Alt-Svc lists `h3`
 * (or a draft `h3-NN`) — not `clear` — are advertisements of the origin: client address, the
 * request's host (`:authority`/Host, else the SNI), and the TCP server address and port. The
 * alternative is UDP on the advertised port, at the advertised host (an empty host: the same
 * address). A QUIC connection *goes to it* when it comes from the same client address, its SNI is
 * the origin's host (RFC 7838 §2.1: the client still names the origin) and it goes to the
 * advertised port (and, for an empty alt-authority host, the origin's address). After the first
 * advertisement:
 *
 *  - `moved-to-h3` (info): a QUIC connection that the server answered went to it. The finding
 *    says when (from the first advertisement to the first Initial), how many later requests went
 *    over h3 and how many still over TCP, and the measured difference: the median setup time
 *    (TCP + TLS handshake vs the QUIC handshake) and the median request time (first request byte
 *    → last response byte) over each transport.
 *  - `h3-not-used` (info): no QUIC connection went to it at all, in the whole capture; the finding
 *    counts the requests the client still sent over TCP after the advertisement.
 *  QUIC connections to it that nothing answered are quic-fallback.ts's (QUIC blocked), not these.
 *
 * Cost: none (informational). What moving saved or cost is in the summary, measured, not added up
 * as a cost: the requests over the two transports are not the same requests.
 *
 * Streaming (stream.ts): advertisements and QUIC connections are noted per client and origin as
 * connections come (`onOrdered`; QUIC facts from `onConnection`), the findings made at `finish()`:
 * the first advertisement decides which QUIC connections came after it, and a later-completing
 * TCP connection can still bring an earlier one. Bounded: at most MAX_ALT_SVC_SAMPLES request and
 * setup times per origin and transport, and MAX_ALT_SVC_QUIC QUIC connections per client,
 * host and port (the earliest opened: the ones that matter); beyond, counted only.
 *
 * Where it can be wrong:
 *  - Without keys no header is visible: nothing is advertised as far as this detector knows.
 *  - The advertisement may have been learnt before the capture (a browser stores Alt-Svc for `ma`
 *    seconds): a QUIC connection before the first advertisement seen is not judged.
 *  - `h3-not-used` may be by design: a client without HTTP/3 (curl without --http3), a policy that
 *    disables QUIC, an existing HTTP/2 connection it keeps using (browsers do not move requests
 *    off an open connection), or a capture that ended before the client needed a new connection.
 *  - An alt-authority naming another host is matched by SNI and port only (its address is not
 *    known from the capture), so a QUIC connection to the same name and port elsewhere counts.
 *  - The measured difference compares different requests over different connections; on loopback
 *    and LANs handshake times are mostly processing time, and a QUIC handshake in user space can
 *    take longer than the kernel's TCP handshake plus TLS. The first connection of a fresh client
 *    also pays its certificate verification (tens of ms in a new browser profile), later ones
 *    reuse it: the TCP connection that carried the advertisement is usually that first one.
 */
import type { Connection, Evidence, Finding, Request } from '../model/types.js';
import type { DetectorDef, DetectOptions } from './index.js';
import { defineDetector, type FindingSink, type StreamingDetector } from './stream.js';
import { isQuic, QuicFactsBook, quicSetupCost } from './quic-util.js';
import { endpoint, ev, fmtMs, handshakeCost, header, hostOf, openTime, sniOf } from './util.js';

const THRESHOLDS = {} as const;

/** Request and setup times kept per origin and transport (for the medians). */
export const MAX_ALT_SVC_SAMPLES = 10_000;
/** QUIC connections kept per client, host and UDP port. */
export const MAX_ALT_SVC_QUIC = 1_000;

export interface AltSvcEntry {
  protocol: string;
  host: string;
  port: number;
  maxAgeS: number;
}

/**
 * RFC 7838 §3: `Alt-Svc: clear` or `protocol-id="[host]:port"; ma=N; persist=1, …` (protocol-id
 * percent-encoded, alt-authority a quoted string). Malformed entries are skipped.
 */
export function parseAltSvc(value: string): AltSvcEntry[] | 'clear' {
  if (value.trim().toLowerCase() === 'clear') return 'clear';
  const out: AltSvcEntry[] = [];
  // Split at commas outside quoted strings.
  const parts: string[] = [];
  let cur = '';
  let quoted = false;
  for (const ch of value) {
    if (ch === '"') quoted = !quoted;
    if (ch === ',' && !quoted) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  for (const p of parts) {
    const m = /^\s*([!#$%&'*+\-.^_`|~0-9A-Za-z]+)\s*=\s*"([^"]*)"\s*(.*)$/.exec(p);
    if (!m) continue;
    let protocol: string;
    try {
      protocol = decodeURIComponent(m[1]);
    } catch {
      continue;
    }
    const auth = /^(.*):(\d{1,5})$/.exec(m[2]);
    if (!auth) continue;
    const port = Number(auth[2]);
    if (port < 1 || port > 65535) continue;
    const ma = /(?:^|;)\s*ma\s*=\s*"?(\d+)"?/i.exec(m[3]);
    out.push({ protocol, host: auth[1].replace(/^\[|\]$/g, '').toLowerCase(), port, maxAgeS: ma ? Number(ma[1]) : 86_400 });
  }
  return out;
}

/** HTTP/3 and its drafts (RFC 9114 §3.1: `h3`; drafts `h3-NN`). */
const H3 = /^h3(-\d+)?$/;

interface Ad {
  time: number;
  connId: number;
  reqId: number;
  packet: number | null;
  value: string;
  altHost: string;
  altPort: number;
}

/** One origin as reached over TCP: client, host, TCP server endpoint. */
interface Origin {
  minId: number;
  client: string;
  host: string;
  serverIp: string;
  label: string;
  first: Ad | null;
  ads: number;
  /** TCP request start times and durations; setup times of the TCP connections that carried them. */
  reqStarts: number[];
  reqMs: number[];
  setupMs: number[];
  httpVersions: Set<string>;
  conns: Set<number>;
}

interface QuicSeen {
  id: number;
  serverIp: string;
  open: number;
  answered: boolean;
  handshakeMs: number;
  firstPacket: number;
  reqStarts: number[];
  reqMs: number[];
}

const median = (xs: number[]): number | null => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
};

function pushCapped(l: number[], v: number): void {
  if (l.length < MAX_ALT_SVC_SAMPLES) l.push(v);
}

function stream(_opts: DetectOptions, emit: FindingSink): StreamingDetector {
  const origins = new Map<string, Origin>();
  const quic = new Map<string, QuicSeen[]>();
  const book = new QuicFactsBook();

  function tcp(c: Connection, reqs: readonly Request[]): void {
    if (!c.tls) return;
    const setup = handshakeCost(c, reqs[0]).ms;
    for (const r of reqs) {
      const host = hostOf(r) ?? sniOf(c);
      if (!host) continue;
      const key = `${c.client.ip}|${host}|${endpoint(c.server)}`;
      let o = origins.get(key);
      if (!o) {
        o = { minId: c.id, client: c.client.ip, host, serverIp: c.server.ip, label: `${host} (${endpoint(c.server)})`, first: null, ads: 0, reqStarts: [], reqMs: [], setupMs: [], httpVersions: new Set(), conns: new Set() };
        origins.set(key, o);
      }
      o.minId = Math.min(o.minId, c.id);
      o.httpVersions.add(r.httpVersion);
      if (!o.conns.has(c.id)) {
        if (o.conns.size < MAX_ALT_SVC_SAMPLES) o.conns.add(c.id);
        pushCapped(o.setupMs, setup);
      }
      pushCapped(o.reqStarts, r.times.requestStartTime);
      if (r.times.responseEndTime !== null) pushCapped(o.reqMs, r.times.responseEndTime - r.times.requestStartTime);
      const v = header(r.responseHeaders, 'alt-svc');
      if (v === undefined) continue;
      const entries = parseAltSvc(v);
      if (entries === 'clear') continue;
      const h3 = entries.find((e) => H3.test(e.protocol));
      if (!h3) continue;
      o.ads++;
      const time = r.times.responseStartTime ?? r.times.responseEndTime ?? r.times.requestStartTime;
      // The earliest advertisement (ties: the lower connection, then request id).
      const f = o.first;
      if (!f || time < f.time || (time === f.time && (c.id < f.connId || (c.id === f.connId && r.id < f.reqId)))) {
        o.first = { time, connId: c.id, reqId: r.id, packet: r.packets.response?.[0] ?? null, value: v, altHost: h3.host, altPort: h3.port };
      }
    }
  }

  function quicConn(c: Connection, reqs: readonly Request[]): void {
    const f = book.take(c);
    const sni = sniOf(c);
    if (!f || !sni) return;
    const key = `${c.client.ip}|${sni}|${c.server.port}`;
    let l = quic.get(key);
    if (!l) quic.set(key, (l = []));
    if (l.length >= MAX_ALT_SVC_QUIC) return;
    const s: QuicSeen = { id: c.id, serverIp: c.server.ip, open: openTime(c), answered: f.answered, handshakeMs: quicSetupCost(c, f).handshakeMs, firstPacket: c.firstPacket, reqStarts: [], reqMs: [] };
    for (const r of reqs) {
      pushCapped(s.reqStarts, r.times.requestStartTime);
      if (r.times.responseEndTime !== null) pushCapped(s.reqMs, r.times.responseEndTime - r.times.requestStartTime);
    }
    l.push(s);
  }

  function judge(o: Origin): Finding | null {
    const ad = o.first!;
    const sameAddress = ad.altHost === '' || ad.altHost === o.host;
    const all = (quic.get(`${o.client}|${o.host}|${ad.altPort}`) ?? []).filter((q) => !sameAddress || q.serverIp === o.serverIp);
    const after = all.filter((q) => q.open >= ad.time && q.answered).sort((a, b) => a.open - b.open || a.id - b.id);
    const tcpAfter = o.reqStarts.filter((t) => t > ad.time).length;
    const alt = `${ad.altHost}:${ad.altPort}`;
    const evidence: Evidence[] = [ev(ad.packet, ad.time, `connection ${ad.connId}, request ${ad.reqId}: Alt-Svc: ${ad.value}`)];
    const tcpName = [...o.httpVersions].sort().join('/');
    if (after.length) {
      const q0 = after[0];
      const h3Reqs = after.flatMap((q) => q.reqStarts).filter((t) => t > ad.time).length;
      const hsQ = median(after.map((q) => q.handshakeMs).filter((x) => x > 0));
      const hsT = median(o.setupMs.filter((x) => x > 0));
      const rqQ = median(after.flatMap((q) => q.reqMs));
      const rqT = median(o.reqMs);
      const measured = [
        hsQ !== null && hsT !== null ? `setup ${fmtMs(hsQ)} (QUIC handshake) vs ${fmtMs(hsT)} (TCP + TLS)` : '',
        rqQ !== null && rqT !== null ? `median request ${fmtMs(rqQ)} over h3 vs ${fmtMs(rqT)} over ${tcpName}` : '',
      ].filter(Boolean);
      for (const q of after.slice(0, 10)) evidence.push(ev(q.firstPacket, q.open, `QUIC connection ${q.id} to ${alt}: first Initial ${fmtMs(q.open - ad.time)} after the advertisement; ${q.reqStarts.length} request${q.reqStarts.length === 1 ? '' : 's'} on it${q.handshakeMs > 0 ? `, handshake ${fmtMs(q.handshakeMs)}` : ''}`));
      return {
        kind: 'alt-svc',
        rule: 'moved-to-h3',
        layer: 'quic',
        severity: 'info',
        summary:
          `${o.label} advertised HTTP/3 (Alt-Svc: ${ad.value}) to ${o.client} over ${tcpName}; the client moved to h3 ${fmtMs(q0.open - ad.time)} later (QUIC connection ${q0.id}): ` +
          `${h3Reqs} later request${h3Reqs === 1 ? '' : 's'} over h3, ${tcpAfter} still over ${tcpName}` +
          (measured.length ? `. Measured: ${measured.join('; ')}` : ''),
        connectionIds: [...new Set([ad.connId, ...after.map((q) => q.id)])].sort((a, b) => a - b),
        requestIds: [ad.reqId],
        timeRange: [ad.time, Math.max(ad.time, q0.open)],
        evidence,
        advice:
          tcpAfter > 0
            ? `Nothing to fix: the client took the advertised HTTP/3. The ${tcpAfter} request${tcpAfter === 1 ? '' : 's'} still sent over ${tcpName} after the advertisement went on a connection that was already open (clients do not move requests off it); with HTTPS DNS records (RFC 9460, alpn=h3) a client can start on HTTP/3 without the first TCP connection.`
            : 'Nothing to fix: the client took the advertised HTTP/3.',
      };
    }
    if (all.length) return null; // tried: answered only before the advertisement, or never answered (quic-fallback.ts)
    evidence.push(ev(null, null, `no QUIC Initial from ${o.client} for ${o.host} to UDP port ${ad.altPort} in the capture`));
    return {
      kind: 'alt-svc',
      rule: 'h3-not-used',
      layer: 'quic',
      severity: 'info',
      summary:
        `${o.label} advertised HTTP/3 (Alt-Svc: ${ad.value}) on ${o.ads} response${o.ads === 1 ? '' : 's'} to ${o.client} over ${tcpName}, and the client never tried it: ` +
        (tcpAfter > 0 ? `${tcpAfter} later request${tcpAfter === 1 ? '' : 's'} still went over ${tcpName}` : 'no later request to the origin in the capture'),
      connectionIds: [ad.connId],
      requestIds: [ad.reqId],
      timeRange: [ad.time, ad.time],
      evidence,
      advice:
        'Check whether the client speaks HTTP/3 (curl needs --http3; many libraries do not) and may use QUIC (browser policy, a proxy), and whether UDP to port ' +
        `${ad.altPort} is reachable. A client keeps using an open HTTP/2 connection; it takes h3 for new connections, within the advertisement's max-age (ma).`,
    };
  }

  return {
    onConnection(c) {
      book.note(c);
    },
    onOrdered(c, reqs) {
      if (isQuic(c)) quicConn(c, reqs);
      else if (reqs.length) tcp(c, reqs);
    },
    finish() {
      for (const o of [...origins.values()].sort((a, b) => a.minId - b.minId || (a.label < b.label ? -1 : 1))) {
        if (!o.first) continue;
        const f = judge(o);
        if (f) emit(f);
      }
      origins.clear();
      quic.clear();
    },
  };
}

export const quicAltSvc: DetectorDef = defineDetector({
  name: 'quic-alt-svc',
  kinds: ['alt-svc'],
  thresholds: THRESHOLDS,
  reads: { requestHeaders: [':authority', 'host'], responseHeaders: ['alt-svc'], url: true },
  stream,
});
