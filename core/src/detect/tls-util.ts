/**
 * Helpers shared by the TLS-aware detectors (tls-missed-reuse.ts, tls-resumption.ts,
 * h2-coalescing.ts): reading a TLS connection's record activity when its contents are not visible,
 * and matching host names against a certificate (RFC 6125 §6.4). Pure functions of the Report.
 */
import type { Connection, TlsCertificate } from '../model/types.js';
import { endpoint, sniOf } from './util.js';

/**
 * A TLS record sent by the side that closes within this long before its FIN/RST (close_notify,
 * an alert) belongs to the close, not to the traffic: the closer writes it right before the FIN.
 */
export const CLOSE_RECORD_SLACK_MS = 5;

/** How many candidate connections one lookup examines before giving up (bounded work per connection). */
export const MAX_CANDIDATES_SCANNED = 16;

/** SAN entries of one certificate indexed for coalescing (a CDN certificate can list hundreds). */
export const MAX_SANS_INDEXED = 256;

/** A TLS connection whose HTTP exchanges are not visible (no keys, wrong keys, handshake not captured…). */
export function exchangesHidden(c: Connection): boolean {
  return c.tls !== undefined && !c.tls.decrypted && c.requestCount === 0;
}

/**
 * The client sent application data after its handshake (RFC 8446 §2: a TLS 1.3 client's first
 * protected record is its Finished, later ones are data — or an encrypted alert); the time of its
 * first such record, or null. Without keys this is all the capture says about "a request".
 */
export function clientDataTime(c: Connection): number | null {
  const t = c.tls;
  if (!t || t.handshakeEndTime === null) return null;
  return t.firstAppDataTime.client;
}

/**
 * Start of the connection's final quiet stretch: the time of its last TLS record that was not part
 * of its close, so that from then on the connection carried nothing but (at most) the closing
 * records. Null when it carried no payload.
 *
 * From the facts the model keeps (`lastDataTime`, the idle periods of at least `idleGapMs`): the
 * last payload before the first FIN/RST; when that payload sat within CLOSE_RECORD_SLACK_MS of the
 * FIN (a close_notify), the quiet stretch began where the last idle period that ended at the close
 * began — when that idle was shorter than `idleGapMs` it was not recorded, and the stretch is
 * taken to start at the close_notify (a short idle is under-counted, never invented).
 */
export function quietStart(c: Connection): number | null {
  if (c.lastDataTime === null) return null;
  const end = c.close.time;
  if (end === null) return c.lastDataTime;
  let q = Math.min(c.lastDataTime, end);
  if (q >= end - CLOSE_RECORD_SLACK_MS) {
    for (let i = c.idle.length - 1; i >= 0; i--) {
      const p = c.idle[i];
      if (p.endTime > end + CLOSE_RECORD_SLACK_MS) continue;
      if (p.endTime >= end - CLOSE_RECORD_SLACK_MS && p.startTime < q) q = p.startTime;
      break;
    }
  }
  return q;
}

/** The server's certificate as recorded on this connection, else null. */
export function ownCertificate(c: Connection): TlsCertificate | null {
  return c.tls?.certificate ?? null;
}

/**
 * Certificates seen per server endpoint and SNI (the first connection that showed one): a resumed
 * handshake, or a TLS 1.3 one without keys, does not show the certificate, but the session it
 * resumed — or another connection to the same endpoint and name — did.
 */
export function certificatesBySni(conns: readonly Connection[]): Map<string, { cert: TlsCertificate; from: Connection }> {
  const m = new Map<string, { cert: TlsCertificate; from: Connection }>();
  for (const c of conns) {
    const cert = c.tls?.certificate;
    const sni = sniOf(c);
    if (!cert || sni === null) continue;
    const k = `${endpoint(c.server)} ${sni}`;
    if (!m.has(k)) m.set(k, { cert, from: c });
  }
  return m;
}

export function certKey(c: Connection): string | null {
  const sni = sniOf(c);
  return sni === null ? null : `${endpoint(c.server)} ${sni}`;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** A DNS name (not an IP literal) of at least two labels. */
export function isDnsName(h: string): boolean {
  return h.includes('.') && !IPV4.test(h) && !h.includes(':');
}

/** "b.example.com" → "example.com"; null for a single label. */
export function parentDomain(h: string): string | null {
  const i = h.indexOf('.');
  return i > 0 && i < h.length - 1 ? h.slice(i + 1) : null;
}

/**
 * The SAN-index keys of a certificate: its DNS names, lower-cased without a trailing dot, with
 * wildcards kept only in the form RFC 6125 §6.4.3 (as narrowed by RFC 9525 §6.3 and browsers)
 * accepts: `*` as the whole left-most label, over a base of at least two labels (`*.example.com`,
 * never `*.com` or `f*.example.com`). IP address entries are dropped: an SNI is never an IP
 * (RFC 6066 §3). At most MAX_SANS_INDEXED entries.
 */
export function certNames(cert: TlsCertificate): string[] {
  const out = new Set<string>();
  for (const raw of cert.sans) {
    if (out.size >= MAX_SANS_INDEXED) break;
    let n = raw.trim().toLowerCase();
    if (n.startsWith('dns:')) n = n.slice(4);
    if (n.endsWith('.')) n = n.slice(0, -1);
    if (!n || !isDnsName(n)) continue;
    if (n.includes('*')) {
      const base = n.startsWith('*.') ? n.slice(2) : null;
      if (base === null || base.includes('*') || !base.includes('.')) continue;
    }
    out.add(n);
  }
  return [...out];
}

/** The index keys under which a certificate covering `host` is found: the name itself and `*.parent`. */
export function coverKeys(host: string): string[] {
  const parent = parentDomain(host);
  return parent !== null && parent.includes('.') ? [host, `*.${parent}`] : [host];
}

/** Does the certificate cover `host` (RFC 6125 §6.4.1 exact match, §6.4.3 one-label wildcard)? */
export function certCovers(cert: TlsCertificate, host: string): boolean {
  const names = new Set(certNames(cert));
  return coverKeys(host).some((k) => names.has(k));
}
