/**
 * missed-coalescing (layer `h2`): a new HTTPS connection for a host that an open HTTP/2 connection
 * to the same address and port could have served, because that connection's certificate covers
 * the new host (RFC 9113 §9.1.1, RFC 9110 §4.3.3: a connection is authoritative for every name its
 * certificate covers, on the address the client connected to).
 *
 * Signature. TLS connections are grouped by client address and server address and port (not by
 * SNI: this is about other names on the same endpoint). In order of opening, a connection N is
 * judged when it carried traffic (requests visible, or — without keys — application data from the
 * client after its handshake), named a host in its SNI and offered `h2` in its ALPN. It is a missed
 * coalescing when an earlier connection P of its group, for a *different* SNI, was at N's SYN (t):
 *   - open (no FIN/RST by t) and past its handshake (the client had its certificate);
 *   - HTTP/2: ALPN `h2` selected (TLS 1.2 shows it in clear; TLS 1.3 only with keys), or —
 *     without keys — `h2` offered and the selection not visible (assumed, said so);
 *   - when its frames are visible: the server's SETTINGS had arrived, no GOAWAY from either side,
 *     and fewer open streams than the server's MAX_CONCURRENT_STREAMS (as h2-missed-reuse.ts);
 *   - its certificate covers N's SNI — a SAN equal to it (RFC 6125 §6.4.1, case-insensitive) or a
 *     wildcard `*.parent` as the whole left-most label (§6.4.3; partial-label wildcards and
 *     wildcards over a single label are not accepted, as browsers and RFC 9525 §6.3 do). P's
 *     certificate is its own, or — a TLS 1.3 handshake without keys, or a resumed one, shows none —
 *     one seen on another connection to the same address, port and SNI.
 * Rules:
 *   - `certificate-covers-host`: the certificate was seen and covers N's host. Severity warning
 *     when P is known to speak HTTP/2, info when that was assumed.
 *   - `certificate-not-visible`: no certificate for P was seen (TLS 1.3 without keys). Chosen
 *     conservatively: reported, as info, only when N's host and P's are siblings (same parent
 *     domain of at least two labels: `a.example.com`, `b.example.com`) — the shape a wildcard
 *     certificate `*.example.com` would cover — and never for unrelated names, which on shared
 *     hosting and CDN addresses usually have certificates of their own.
 * One finding per client, endpoint and rule. Cost per connection: its TCP and TLS handshakes
 * (`util.handshakeCost`: 2 round trips with a full TLS 1.3 handshake, 3 with TLS 1.2).
 *
 * Browsers: Chrome coalesces only onto a connection to an address the new host also resolved to
 * (here: the same address and port) whose certificate covers the new host, and only between
 * requests of the same privacy mode and network partition — credentialed and anonymous requests
 * (CORS `crossorigin` fonts, `fetch(…, {credentials: 'omit'})`) use separate connections even to
 * one host. Firefox also coalesces names the server lists in an ORIGIN frame (RFC 8336). curl and
 * most HTTP libraries do not coalesce at all: a connection serves only the host it was opened for.
 *
 * Streaming (stream.ts): not yet — a connection without a certificate of its own is indexed with
 * one seen on any other connection to the same endpoint and name, possibly a later one. The TLS
 * connections (slim) and their requests are kept, up to MAX_DETECT_FALLBACK_RECORDS (else the
 * detector is skipped, counted as `detectFallbackSkipped`), and judged at the end.
 *
 * Where it can be wrong:
 *  - `certificate-not-visible` is a guess from the names: the certificate may not cover N's host,
 *    and P may have negotiated HTTP/1.1 (TLS 1.3 hides ALPN without keys). Pass the key log to
 *    settle both.
 *  - A certificate seen on another connection to the same address and SNI may differ from P's (a
 *    certificate rotated in between, several servers behind one address).
 *  - The requests for N may have been of another credentials mode or partition (a browser would not
 *    coalesce them), or the client a non-browser that never coalesces: the finding then says what
 *    the design costs (two names, two handshakes), not that the client misbehaved.
 *  - The server may answer 421 Misdirected Request (RFC 9110 §15.5.20) for a name it does not serve
 *    on that connection although the certificate covers it.
 *  - N may also be counted by missed-reuse when a connection for its own name had just closed; the
 *    two costs then overlap.
 *  - Each judgement examines at most MAX_CANDIDATES_SCANNED open connections per index key.
 */
import type { Connection, Evidence, Finding, Report, Request, TlsCertificate } from '../model/types.js';
import type { DetectorDef, DetectOptions } from './index.js';
import { defineDetector, fallback, type FindingSink, type StreamContext, type StreamingDetector } from './stream.js';
import { goawayBefore, serverSettingsAt } from './h2-missed-reuse.js';
import { h2Facts } from './h2-util.js';
import {
  certificatesBySni,
  certKey,
  certNames,
  clientDataTime,
  coverKeys,
  isDnsName,
  MAX_CANDIDATES_SCANNED,
  parentDomain,
} from './tls-util.js';
import {
  capEvidence,
  endpoint,
  ev,
  fmtMs,
  handshakeCost,
  handshakesNote,
  maxOf,
  MinHeap,
  minOf,
  openTime,
  requestsByConnection,
  sniOf,
} from './util.js';

const THRESHOLDS = {} as const;

type Rule = 'certificate-covers-host' | 'certificate-not-visible';

interface Live {
  c: Connection;
  sni: string;
  /** HTTP/2 known from ALPN or frames, or assumed (offered, selection not visible). */
  h2: 'known' | 'assumed';
  cert: TlsCertificate | null;
  /** The connection the certificate was seen on (P itself or another to the same endpoint and SNI). */
  certFrom: Connection | null;
  keys: { map: Index; key: string }[];
}

/** Open connections by index key (a name their certificate covers, or their SNI's parent), then by their own SNI. */
type Index = Map<string, Map<string, Set<Live>>>;

interface Missed {
  conn: Connection;
  by: Live;
  rule: Rule;
  costMs: number;
}

function h2Of(c: Connection): Live['h2'] | null {
  const t = c.tls!;
  if (c.protocol === 'h2' || t.alpn.selected === 'h2') return 'known';
  if (t.alpn.selected === null && !t.decrypted && t.alpn.offered.includes('h2')) return 'assumed';
  return null;
}

function add(index: Index, key: string, l: Live): void {
  let bySni = index.get(key);
  if (!bySni) index.set(key, (bySni = new Map()));
  let s = bySni.get(l.sni);
  if (!s) bySni.set(l.sni, (s = new Set()));
  s.add(l);
  l.keys.push({ map: index, key });
}

function remove(l: Live): void {
  for (const { map, key } of l.keys) {
    const bySni = map.get(key);
    const s = bySni?.get(l.sni);
    if (!bySni || !s) continue;
    s.delete(l);
    if (!s.size) bySni.delete(l.sni);
    if (!bySni.size) map.delete(key);
  }
  l.keys.length = 0;
}

function detectReport(report: Report): Finding[] {
  const tls = report.connections.filter((c) => c.tls !== undefined);
  const certs = certificatesBySni(tls);
  const reqs = requestsByConnection(report);
  const groups = new Map<string, Connection[]>();
  for (const c of tls) {
    const k = `${c.client.ip}→${endpoint(c.server)}`;
    const l = groups.get(k);
    if (l) l.push(c);
    else groups.set(k, [c]);
  }
  const findings: Finding[] = [];
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    if (new Set(group.map(sniOf)).size < 2) continue; // one name: nothing to coalesce
    group.sort((a, b) => openTime(a) - openTime(b) || a.id - b.id);
    // One sweep in order of opening: the open HTTP/2 connections are indexed by every name their
    // certificate covers (`byCert`) or, without a certificate, by their SNI's parent domain
    // (`bySibling`); a heap by close time takes them out. A judgement is two or three lookups.
    const byCert: Index = new Map();
    const bySibling: Index = new Map();
    const byClose = new MinHeap<Live>((l) => l.c.close.time ?? Infinity);
    const missed: Missed[] = [];
    for (const n of group) {
      const t = openTime(n);
      while (byClose.size && byClose.key(byClose.peek()!) <= t) remove(byClose.pop()!);
      const sni = sniOf(n);
      if (sni === null || !isDnsName(sni)) continue;
      const nReqs = reqs.get(n.id) ?? [];
      if ((nReqs.length > 0 || clientDataTime(n) !== null) && n.tls!.alpn.offered.includes('h2')) judge(n, sni, t, nReqs);
      const h2 = h2Of(n);
      if (!h2 || n.tls!.handshakeEndTime === null) continue;
      const seen = n.tls!.certificate ? { cert: n.tls!.certificate, from: n } : certs.get(certKey(n)!) ?? null;
      const live: Live = { c: n, sni, h2, cert: seen?.cert ?? null, certFrom: seen?.from ?? null, keys: [] };
      if (live.cert) for (const name of certNames(live.cert)) add(byCert, name, live);
      else {
        const parent = parentDomain(sni);
        if (parent !== null && parent.includes('.')) add(bySibling, parent, live);
      }
      byClose.push(live);
    }

    function ready(p: Live, n: Connection, t: number): boolean {
      const c = p.c;
      if (c === n || openTime(c) >= t || c.tls!.handshakeEndTime! > t) return false;
      if (!h2Facts(c)) return true; // frames not visible
      if (goawayBefore(c, t)) return false;
      const { ready, limit } = serverSettingsAt(c, t);
      if (!ready) return false;
      if (limit === null) return true;
      const open = (reqs.get(c.id) ?? []).filter((r) => !r.pushed && r.times.requestStartTime <= t && (r.times.responseEndTime === null || r.times.responseEndTime > t)).length;
      return open < limit;
    }

    /** The oldest ready connection under `key` for another name than N's (connections for N's own name are missed-reuse's). */
    function find(bySni: Map<string, Set<Live>> | undefined, n: Connection, sni: string, t: number): Live | null {
      if (!bySni) return null;
      let k = 0;
      for (const [other, set] of bySni) {
        if (other === sni) continue;
        for (const p of set) {
          if (++k > MAX_CANDIDATES_SCANNED) return null;
          if (ready(p, n, t)) return p;
        }
      }
      return null;
    }

    function judge(n: Connection, sni: string, t: number, nReqs: Request[]): void {
      for (const key of coverKeys(sni)) {
        const p = find(byCert.get(key), n, sni, t);
        if (p) {
          missed.push({ conn: n, by: p, rule: 'certificate-covers-host', costMs: handshakeCost(n, nReqs[0]).ms });
          return;
        }
      }
      const parent = parentDomain(sni);
      const p = parent !== null ? find(bySibling.get(parent), n, sni, t) : null;
      if (p) missed.push({ conn: n, by: p, rule: 'certificate-not-visible', costMs: handshakeCost(n, nReqs[0]).ms });
    }

    for (const rule of ['certificate-covers-host', 'certificate-not-visible'] as const) {
      const items = missed.filter((m) => m.rule === rule);
      if (items.length) findings.push(finding(rule, items, reqs));
    }
  }
  return findings;
}

const cap = (x: string) => x.charAt(0).toUpperCase() + x.slice(1);

const BROWSERS =
  'Browsers coalesce only onto an open connection to the same IP address and port whose certificate covers the new name, and only between requests of the same credentials mode and network partition (Chrome keeps anonymous CORS requests — `crossorigin` fonts, fetch with credentials "omit" — on connections of their own); Firefox also accepts names listed in an ORIGIN frame (RFC 8336). curl and most HTTP libraries never coalesce.';

function finding(rule: Rule, items: Missed[], reqs: Map<number, Request[]>): Finding {
  const cost = items.reduce((s, m) => s + m.costMs, 0);
  const c0 = items[0].conn;
  const names = [...new Set(items.map((m) => sniOf(m.conn)!))];
  const hosts = [...new Set(items.map((m) => m.by.sni))];
  const assumedH2 = items.some((m) => m.by.h2 === 'assumed');
  const evidence: Evidence[] = [];
  for (const m of items) {
    const p = m.by;
    const certWhere = p.certFrom === null ? '' : p.certFrom === p.c ? '' : ` (seen on connection ${p.certFrom.id}, same address and name)`;
    const certText = p.cert
      ? `its certificate (${p.cert.subject}) lists ${p.cert.sans.slice(0, 6).join(', ')}${p.cert.sans.length > 6 ? ', …' : ''}${certWhere}`
      : `its certificate was not visible (TLS 1.3 without keys)`;
    evidence.push(ev(p.c.firstPacket, openTime(p.c), `connection ${p.c.id} for ${p.sni} opened; ${p.h2 === 'known' ? 'HTTP/2 (ALPN h2)' : `ALPN offered ${p.c.tls!.alpn.offered.join(', ')}, selection not visible`}; ${certText}`));
    const nr = reqs.get(m.conn.id) ?? [];
    evidence.push(
      ev(
        m.conn.firstPacket,
        openTime(m.conn),
        `connection ${m.conn.id} opened for ${sniOf(m.conn)} while connection ${p.c.id} was open; handshake ${fmtMs(m.costMs)} (${handshakeCost(m.conn, nr[0]).what})${nr.length ? `; it carried ${nr.length} request(s): ${nr.slice(0, 3).map((r) => `${r.method} ${r.target}`).join(', ')}${nr.length > 3 ? ', …' : ''}` : ''}`,
      ),
    );
  }
  const ids = (cs: Connection[]) => [...new Set(cs.map((c) => c.id))].join(', ');
  const plural = items.length === 1 ? 'connection' : 'connections';
  const opened = `${plural} ${ids(items.map((m) => m.conn))} from ${c0.client.ip} for ${names.join(', ')} ${items.length === 1 ? 'was' : 'were'} opened while ${hosts.length === 1 && new Set(items.map((m) => m.by.c)).size === 1 ? 'connection' : 'connections'} ${ids(items.map((m) => m.by.c))} for ${hosts.join(', ')} to the same address and port (${endpoint(c0.server)}) ${items.length === 1 ? 'was' : 'were'} open`;
  const saving = `~${fmtMs(cost)} of handshakes${handshakesNote(items.map((m) => m.conn))}`;
  const summary =
    rule === 'certificate-covers-host'
      ? `${cap(opened)}, ${assumedH2 ? 'offering HTTP/2 (its selection is not visible without keys: assumed)' : 'speaking HTTP/2'}, with a certificate that covers ${names.join(', ')}: a coalescing client would have sent these requests on it (RFC 9113 §9.1.1) and saved ${saving}. ${BROWSERS}`
      : `${cap(opened)}; certificate not visible (TLS 1.3 without keys): coalescing assumed possible only if that connection negotiated HTTP/2 and its certificate covers ${names.join(', ')} (as a wildcard *.${parentDomain(names[0])} would — the names are siblings, nothing more is known); if so, a coalescing client would have saved ${saving} (RFC 9113 §9.1.1). ${BROWSERS}`;
  return {
    kind: 'missed-coalescing',
    rule,
    layer: 'h2',
    severity: rule === 'certificate-covers-host' && !assumedH2 ? 'warning' : 'info',
    summary,
    connectionIds: [...new Set(items.flatMap((m) => [m.by.c.id, m.conn.id]))].sort((a, b) => a - b),
    requestIds: items.flatMap((m) => (reqs.get(m.conn.id) ?? []).map((r) => r.id)),
    timeRange: [minOf(items, (m) => openTime(m.by.c)), maxOf(items, (m) => m.conn.tls?.handshakeEndTime ?? openTime(m.conn))],
    costMs: cost,
    evidence: capEvidence(evidence),
    advice:
      'For browsers: serve the names from one address (DNS answers that include the open connection’s address) with one certificate covering all of them, keep requests in one credentials mode where possible (a `crossorigin` attribute consistent across them), or send an ORIGIN frame (RFC 8336) for Firefox. ' +
      'For other clients, which do not coalesce: fetch everything from one host name, so one connection serves it all. ' +
      (rule === 'certificate-not-visible' ? 'Capture the TLS key log (SSLKEYLOGFILE) to see the certificate and the negotiated protocol and settle this.' : ''),
  };
}

const H2_FACTS = ['client.settings', 'client.goaway', 'server.settings', 'server.goaway'];

/**
 * Not streaming yet: a connection without a certificate of its own is judged with one seen on any
 * other connection to the same endpoint and name — possibly a later one — which decides where it
 * is indexed before later connections are judged against it. So the TLS connections (slim) and
 * their requests are kept, at most MAX_DETECT_FALLBACK_RECORDS (stream.ts `fallback`), and judged
 * at the end.
 */
function stream(_opts: DetectOptions, emit: FindingSink, ctx: StreamContext): StreamingDetector {
  return fallback(detectReport, (c) => c.tls !== undefined, emit, ctx, H2_FACTS);
}

export const h2Coalescing: DetectorDef = defineDetector({
  name: 'h2-coalescing',
  kinds: ['missed-coalescing'],
  thresholds: THRESHOLDS,
  reads: { orderedConnectionH2: H2_FACTS },
  stream,
});
