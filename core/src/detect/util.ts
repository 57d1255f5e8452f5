/**
 * Shared helpers for detectors: grouping connections by client and origin, reading headers,
 * asking whether a connection was idle and reusable at an instant, and formatting durations.
 * Pure functions of the Report; no detector state lives here. HTTP/1 persistence and framing are
 * read from what the session recorded (`keepAlive.clientPersistence` / `serverPersistence` /
 * `reusableAfter`, `http1.closeDelimited`), never decided again from headers.
 */
import type { Connection, Evidence, PersistBasis, Report, Request } from '../model/types.js';
import { endpointText } from '../model/endpoint.js';
import { persists } from '../http1/keepalive.js';
import { persistEntry } from '../model/persist-log.js';

/** HTTP/1.x connections: the only ones the HTTP/1 detectors reason about. */
export function isHttp1(c: Connection): boolean {
  return c.protocol === 'http/1.0' || c.protocol === 'http/1.1';
}

export function header(headers: { name: string; value: string }[], name: string): string | undefined {
  const n = name.toLowerCase();
  // Field names are case-insensitive (RFC 9110 §5.1); the length check spares a lower-cased copy of
  // every other name (detectors ask several names of every request).
  for (const h of headers) if (h.name.length === n.length && (h.name === n || h.name.toLowerCase() === n)) return h.value;
  return undefined;
}

/**
 * Parsed token lists by header list and name: detectors ask the same request's Connection tokens
 * many times (every rule asks whether it persisted), and a detection runs once per report, in
 * code V8 has not optimised yet, so each parse is dear. Keyed weakly by the header list.
 */
const tokenCache = new WeakMap<object, Map<string, readonly string[]>>();
const NO_TOKENS: readonly string[] = Object.freeze([]);

/**
 * Lower-cased tokens of a Connection-like header (RFC 9110 §7.6.1), empty when absent. The list is
 * shared between callers (memoised per header list): read it, never change it.
 */
export function tokens(headers: { name: string; value: string }[], name: string): readonly string[] {
  let byName = tokenCache.get(headers);
  if (!byName) tokenCache.set(headers, (byName = new Map()));
  let t = byName.get(name);
  if (t === undefined) {
    const v = header(headers, name);
    t = v ? Object.freeze(v.toLowerCase().split(',').map((x) => x.trim()).filter(Boolean)) : NO_TOKENS;
    byName.set(name, t);
  }
  return t;
}

/** RFC 9110 §9.2.2: methods whose repetition has the same effect as one request. */
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PUT', 'DELETE']);
export function isIdempotent(method: string): boolean {
  return IDEMPOTENT.has(method.toUpperCase());
}

/**
 * RFC 9112 §6.3: was the response to `r` self-delimited (not ended by the connection's close)? As
 * the HTTP/1 session framed it and recorded it (`http1.closeDelimited`, decided in
 * http1/keepalive.ts) — never re-derived here from Content-Length / Transfer-Encoding.
 */
export function selfDelimited(r: Pick<Request, 'http1'>): boolean {
  return r.http1?.closeDelimited !== true;
}

/**
 * RFC 9112 §9.3 for exchange `r` of connection `c` as the session recorded it: why the server
 * (reading the request: `clientPersistence`) and the client (reading the response:
 * `serverPersistence`) let the connection persist or not (http1/keepalive.ts `persistBasis`).
 * null when not known (no final response, a request not recorded, not an HTTP/1 connection).
 */
export function clientPersistence(c: Connection, r: Pick<Request, 'index'>): PersistBasis | null {
  // The slim copies detectors keep hold the lists in a log (stream.ts slimConnection): persistEntry reads one byte.
  return c.keepAlive ? (persistEntry(c.keepAlive, 'clientPersistence', r.index - 1) ?? null) : null;
}
export function serverPersistence(c: Connection, r: Pick<Request, 'index'>): PersistBasis | null {
  return c.keepAlive ? (persistEntry(c.keepAlive, 'serverPersistence', r.index - 1) ?? null) : null;
}

/** The client asked the connection to persist after `r` (HTTP/1.1 without close, or HTTP/1.0 with keep-alive). */
export function persistAsked(c: Connection, r: Pick<Request, 'index'>): boolean {
  return persists(clientPersistence(c, r));
}

/** Both sides let the connection persist after `r` (RFC 9112 §9.3; `reusableAfter` adds framing and the rest). */
export function persisted(c: Connection, r: Pick<Request, 'index'>): boolean {
  return persists(clientPersistence(c, r)) && persists(serverPersistence(c, r));
}

/** `keepAlive.reusableAfter` of exchange `r`: the connection could carry another request after it. */
export function reusableAfter(c: Connection, r: Pick<Request, 'index'>): boolean {
  return c.keepAlive ? (persistEntry(c.keepAlive, 'reusableAfter', r.index - 1) ?? false) : false;
}

/**
 * Client, server endpoint and — for TLS — the SNI: the unit one connection pool serves. Two TLS
 * names on one address and port are two origins (RFC 6454 §4: the host is part of the origin), and
 * a client pools connections per origin; connections for another name on the same address are
 * only shared by HTTP/2 coalescing (h2-coalescing.ts). A TLS connection without SNI (an IP
 * literal, or a ClientHello not captured) forms its own group with the others without one. QUIC
 * connections form groups of their own, apart from TCP ones to the same address and port.
 */
export function originKey(c: Connection): string {
  const base = `${c.client.ip}→${endpoint(c.server)}`;
  // QUIC apart from TCP on the same address and port: one pool does not hold both, and a TLS
  // session from TCP is not offered on QUIC (or the other way round).
  if (c.transport === 'quic') return `${base} quic:${sniOf(c) ?? ''}`;
  return c.tls ? `${base} tls:${sniOf(c) ?? ''}` : base;
}

/** The TLS server name (RFC 6066 §3), lower-cased without a trailing dot; null when none was sent. */
export function sniOf(c: Connection): string | null {
  const s = c.tls?.sni;
  if (!s) return null;
  const l = s.toLowerCase();
  return l.endsWith('.') ? l.slice(0, -1) : l;
}

/** "a.example (10.0.0.2:443)" for TLS connections with SNI, else "10.0.0.2:443". */
export function originLabel(c: Connection): string {
  const sni = sniOf(c);
  return sni ? `${sni} (${endpoint(c.server)})` : endpoint(c.server);
}

/** The host a request named (Host header, else the URL's authority), lower-cased, without port. */
export function hostOf(r: Request): string | null {
  let h = header(r.requestHeaders, ':authority') ?? header(r.requestHeaders, 'host');
  if (h === undefined) {
    const m = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(r.url);
    if (!m) return null;
    h = m[1].slice(m[1].lastIndexOf('@') + 1);
  }
  h = h.trim().toLowerCase();
  // "[v6]:port", "name:port"
  const v6 = /^\[([^\]]*)\]/.exec(h);
  if (v6) return v6[1];
  const colon = h.indexOf(':');
  if (colon >= 0) h = h.slice(0, colon);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h || null;
}

/** `ip:port`, IPv6 in brackets: model/endpoint.ts's `endpointText`. */
export const endpoint = endpointText;

/** Requests of each connection, in index order. */
export function requestsByConnection(report: Report): Map<number, Request[]> {
  const m = new Map<number, Request[]>();
  for (const r of report.requests) {
    const l = m.get(r.connectionId) ?? [];
    l.push(r);
    m.set(r.connectionId, l);
  }
  for (const l of m.values()) l.sort((a, b) => a.index - b.index);
  return m;
}

/** The instant a connection was opened (SYN), or its first packet when the SYN was not seen. */
export function openTime(c: Connection): number {
  return c.synTime ?? c.firstTime;
}

/** Connections grouped by client address and server endpoint, each group in order of opening. */
export function groupByOrigin(conns: Connection[]): Map<string, Connection[]> {
  const g = new Map<string, Connection[]>();
  for (const c of conns) {
    const k = originKey(c);
    const l = g.get(k) ?? [];
    l.push(c);
    g.set(k, l);
  }
  for (const l of g.values()) l.sort((a, b) => openTime(a) - openTime(b) || a.id - b.id);
  return g;
}

/** End of the last byte of an exchange seen (response end, else request end, else start). */
export function exchangeEnd(r: Request): number {
  return r.times.responseEndTime ?? r.times.requestEndTime ?? r.times.requestStartTime;
}

/** Did the connection end (first FIN or RST) at or before `t`? */
export function closedBy(c: Connection, t: number): boolean {
  return c.close.time !== null && c.close.time <= t;
}

/** Time spent on the TCP (and TLS, when seen) handshake of a connection; 0 when unknown. */
export function setupCostMs(c: Connection, first: Request | undefined): number {
  return handshakeCost(c, first).ms;
}

export interface HandshakeCost {
  /** TCP + TLS. */
  ms: number;
  /** SYN → ACK at the capture point (≈ one round trip from a client-side capture); 0 unknown. */
  tcpMs: number;
  /** ClientHello → the client's handshake end (`tls.handshakeEndTime`), 0 without TLS or unknown. */
  tlsMs: number;
  /** Round trips before the client could send its request: 1 (TCP) + `tls.handshakeRtts`; null unknown. */
  rtts: number | null;
  /** "TCP 20 ms + TLS 1.3 full handshake 22 ms: 2 round trips" */
  what: string;
}

/**
 * What a connection's setup cost: the measured TCP handshake plus the measured TLS handshake
 * (ClientHello → the client's Finished / handshake end: RFC 8446 §2 one round trip for a full TLS
 * 1.3 handshake, RFC 5246 §7.3 two for a full TLS 1.2 one, one when resumed), and the round trips
 * that implies. The TLS times come from `tls` when the handshake was seen, else from the first
 * request's ssl phase.
 */
export function handshakeCost(c: Connection, first?: Request): HandshakeCost {
  const tcpMs = c.handshakeRttMs > 0 ? c.handshakeRttMs : 0;
  const tls = c.tls;
  let tlsMs = 0;
  if (tls && tls.clientHelloTime !== null && tls.handshakeEndTime !== null && tls.handshakeEndTime > tls.clientHelloTime) {
    tlsMs = tls.handshakeEndTime - tls.clientHelloTime;
  } else {
    const t = first?.times;
    if (t && t.sslStartTime !== null && t.sslEndTime !== null && t.sslEndTime > t.sslStartTime) tlsMs = t.sslEndTime - t.sslStartTime;
  }
  const tcpRtts = c.synTime !== null ? 1 : null;
  const tlsRtts = tls ? (tls.handshakeRtts >= 0 ? tls.handshakeRtts : null) : 0;
  const rtts = tcpRtts === null || tlsRtts === null ? null : tcpRtts + tlsRtts;
  const parts = [`TCP ${fmtMs(tcpMs)}`];
  if (tls) parts.push(`${tlsHandshakeName(c)} ${tlsMs > 0 ? fmtMs(tlsMs) : '(time not seen)'}`);
  const what = `${parts.join(' + ')}${rtts !== null ? `: ${rtts} round trip${rtts === 1 ? '' : 's'}` : ''}`;
  return { ms: tcpMs + tlsMs, tcpMs, tlsMs, rtts, what };
}

/** "TLS 1.3 full handshake", "TLS 1.2 resumed handshake", "TLS 1.3 resumed handshake with 0-RTT". */
export function tlsHandshakeName(c: Connection): string {
  const t = c.tls;
  if (!t) return 'no TLS';
  const v = t.version ?? 'TLS';
  const extra = [t.helloRetry ? ' after a HelloRetryRequest' : '', t.earlyData === 'accepted' ? ' with 0-RTT' : ''].join('');
  return `${v} ${t.resumed ? 'resumed' : 'full'} handshake${extra}`;
}

/** Duration for humans: "0.4 ms", "38 ms", "3.9 s". */
export function fmtMs(v: number): string {
  if (v >= 10_000) return `${(v / 1000).toFixed(0)} s`;
  if (v >= 1000) return `${(v / 1000).toFixed(1)} s`;
  if (v >= 10) return `${v.toFixed(0)} ms`;
  if (v >= 1) return `${v.toFixed(1)} ms`;
  // Loopback and LAN handshakes take microseconds: "0.0 ms" would say nothing.
  return `${Math.round(v * 1000)} µs`;
}

export function ev(packet: number | null, time: number | null, what: string): Evidence {
  return { packet, time, what };
}

/** "GET /f1.txt" */
export function label(r: Pick<Request, 'method' | 'target'>): string {
  return `${r.method} ${r.target}`;
}

/** Resolve a named threshold: the option if given and finite, else the default. */
export function threshold(t: Record<string, number> | undefined, name: string, dflt: number): number {
  const v = t?.[name];
  return typeof v === 'number' && Number.isFinite(v) ? v : dflt;
}

/** At most `max` evidence records: the first ones, then one line saying how many were left out. */
export function capEvidence(e: Evidence[], max = 100): Evidence[] {
  if (e.length <= max) return e;
  return [...e.slice(0, max - 1), { packet: null, time: null, what: `… and ${e.length - max + 1} more like these` }];
}

/** Min/max of a mapped list without spreading it into arguments (safe for any length). */
export function minOf<T>(xs: readonly T[], f: (x: T) => number): number {
  let m = Infinity;
  for (const x of xs) m = Math.min(m, f(x));
  return m;
}
export function maxOf<T>(xs: readonly T[], f: (x: T) => number): number {
  let m = -Infinity;
  for (const x of xs) m = Math.max(m, f(x));
  return m;
}

export { MinHeap } from '../util/heap.js';

/**
 * Position of the largest value in any range of a fixed list: O(1) per query after an O(n log n)
 * build (a sparse table). Ties go to the leftmost position.
 */
export class RangeArgMax {
  private readonly t: Int32Array[];
  constructor(private readonly v: ArrayLike<number>) {
    const n = v.length;
    const t = [Int32Array.from({ length: n }, (_, i) => i)];
    for (let w = 1; 2 * w <= n; w *= 2) {
      const p = t[t.length - 1];
      const q = new Int32Array(n - 2 * w + 1);
      for (let i = 0; i < q.length; i++) q[i] = v[p[i + w]] > v[p[i]] ? p[i + w] : p[i];
      t.push(q);
    }
    this.t = t;
  }
  /** Leftmost position of the largest of v[l..r] (inclusive, l ≤ r). */
  at(l: number, r: number): number {
    const lev = 31 - Math.clz32(r - l + 1);
    const a = this.t[lev][l];
    const b = this.t[lev][r - (1 << lev) + 1];
    return this.v[b] > this.v[a] ? b : a;
  }
  /** Positions of the `k` largest positive values of v[l..r], largest first (ties: leftmost first). */
  top(l: number, r: number, k: number): number[] {
    const out: number[] = [];
    const ranges: [number, number, number][] = l <= r ? [[l, r, this.at(l, r)]] : [];
    while (out.length < k && ranges.length) {
      let bi = 0;
      for (let i = 1; i < ranges.length; i++) {
        const m = ranges[i][2];
        const b = ranges[bi][2];
        if (this.v[m] > this.v[b] || (this.v[m] === this.v[b] && m < b)) bi = i;
      }
      const [a, b, m] = ranges.splice(bi, 1)[0];
      if (!(this.v[m] > 0)) break;
      out.push(m);
      if (a < m) ranges.push([a, m - 1, this.at(a, m - 1)]);
      if (m < b) ranges.push([m + 1, b, this.at(m + 1, b)]);
    }
    return out;
  }
}

/** What `handshakesNote` needs of one TLS connection (`handshakeOf`), so streaming detectors need not keep the connection. */
export interface HandshakeNote {
  name: string;
  rtts: number | null;
}

export function handshakeOf(c: Connection): HandshakeNote | null {
  return c.tls ? { name: tlsHandshakeName(c), rtts: handshakeCost(c).rtts } : null;
}

/**
 * " (TCP + TLS 1.3 full handshake: 2 round trips each)" for a list of avoidable TLS connections;
 * "" when none is TLS. Versions and round-trip counts that differ are shown as ranges.
 */
export function handshakesNote(conns: readonly Connection[]): string {
  return handshakesNoteOf(conns.map(handshakeOf));
}

export function handshakesNoteOf(notes: readonly (HandshakeNote | null)[]): string {
  const tls = notes.filter((n): n is HandshakeNote => n !== null);
  if (!tls.length) return '';
  const names = new Set(tls.map((n) => n.name));
  let lo = Infinity;
  let hi = -Infinity;
  for (const n of tls) {
    if (n.rtts === null) continue;
    lo = Math.min(lo, n.rtts);
    hi = Math.max(hi, n.rtts);
  }
  const rtts = lo === Infinity ? '' : `: ${lo === hi ? lo : `${lo}–${hi}`} round trip${hi === 1 ? '' : 's'} each`;
  return ` (TCP + ${names.size === 1 ? [...names][0] : 'TLS'}${rtts})`;
}
