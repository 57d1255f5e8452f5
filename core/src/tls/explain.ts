/**
 * One-line explanations of TLS facts, shared by the CLI table, HAR comments and the UI (pure: no
 * Node APIs, so the renderer bundles it). The facts themselves are decided in tls/session.ts.
 */
import type { TlsInfo, UndecryptedReason } from '../model/types.js';

/** TLS facts before anything was seen: what the TLS and QUIC sessions start from. */
export function emptyTlsInfo(): TlsInfo {
  return {
    version: null,
    cipherSuite: null,
    versionCode: 0,
    cipherSuiteCode: 0,
    sni: null,
    alpn: { offered: [], selected: null },
    resumed: false,
    resumptionOffered: false,
    ticketIssued: false,
    earlyData: 'none',
    helloRetry: false,
    handshakeRtts: -1,
    clientHelloTime: null,
    serverHelloTime: null,
    handshakeEndTime: null,
    firstAppDataTime: { client: null, server: null },
    certificate: null,
    alerts: [],
    closeNotify: { client: false, server: false },
    records: { client: 0, server: 0, applicationData: 0 },
    decrypted: false,
    undecryptedReason: null,
    undecryptableRecords: 0,
  };
}

/** Why a TLS connection was not decrypted, and what to do about it. */
export function explainUndecrypted(reason: UndecryptedReason): string {
  switch (reason) {
    case 'no-keys':
      return 'encrypted, and no key log line matches its client random: record the traffic with SSLKEYLOGFILE=keys.log (curl, Firefox, Python), Chromium --ssl-key-log-file=keys.log or node --tls-keylog=keys.log, then pass --keylog keys.log (or open the key log in the app)';
    case 'keys-mismatch':
      return 'a key log line matches its client random, but the records do not authenticate with it: the key log belongs to another run of this client (same random is unlikely) or was edited; record the capture and the key log together';
    case 'handshake-not-captured':
      return 'the capture starts after the TLS handshake, so its keys cannot be matched: start the capture before the client connects';
    case 'unsupported-cipher':
      return 'its cipher suite or TLS version cannot be decrypted by wirefall (supported: TLS 1.2/1.3 with AES-GCM, AES-CCM, ChaCha20-Poly1305, AES-CBC with SHA-1/SHA-256/SHA-384)';
    case 'data-lost':
      return 'packets the decryption needs were not captured (the handshake or the records before the first readable one): capture with a larger buffer (tcpdump -B) or without a snap length';
  }
}

/** Short lane label: `TLS 1.3 a.example resumed` / `TLS 1.2 a.example · not decrypted`. */
export function tlsShort(t: TlsInfo): string {
  const parts: string[] = [t.version ?? 'TLS'];
  if (t.sni) parts.push(t.sni);
  if (t.resumed) parts.push('resumed');
  let s = parts.join(' ');
  if (!t.decrypted && t.undecryptedReason) s += ' · not decrypted';
  return s;
}

/** `TLS 1.3 · TLS_AES_128_GCM_SHA256 · SNI a.example · ALPN h2 · resumed` (what is known). */
export function tlsSummary(t: TlsInfo): string {
  const parts: string[] = [t.version ?? 'TLS (no ServerHello seen)'];
  if (t.cipherSuite) parts.push(t.cipherSuite);
  if (t.sni) parts.push(`SNI ${t.sni}`);
  if (t.alpn.selected) parts.push(`ALPN ${t.alpn.selected}`);
  else if (t.alpn.offered.length) parts.push(`ALPN offered ${t.alpn.offered.join(',')}`);
  if (t.resumed) parts.push('resumed');
  else if (t.resumptionOffered) parts.push('resumption offered, full handshake');
  if (t.helloRetry) parts.push('HelloRetryRequest');
  if (t.earlyData !== 'none') parts.push(`0-RTT ${t.earlyData}`);
  if (t.handshakeRtts >= 0) parts.push(`${t.handshakeRtts}-RTT handshake`);
  return parts.join(' · ');
}
