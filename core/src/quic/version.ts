/**
 * QUIC versions wirefall can read, and what differs between them: the Initial salt (RFC 9001 §5.2,
 * RFC 9369 §3.3.1), the HKDF labels (RFC 9001 §5.1 "quic key"/"quic iv"/"quic hp"/"quic ku";
 * RFC 9369 §3.3.2 "quicv2 …"), the long-header packet type bits (RFC 9000 §17.2 Table 5; RFC 9369
 * §3.2), the Retry integrity key and nonce (RFC 9001 §5.8; RFC 9369 §3.3.3) and the TLS extension
 * that carries transport parameters (RFC 9001 §8.2: 0x39; drafts: 0xffa5).
 *
 * Drafts 29–34 (0xff00001d–0xff000022) share the draft-29 salt and the v1 labels; they are still
 * seen in older captures. Any other version is "unknown": its packets are counted, never decrypted.
 */

export const QUIC_V1 = 0x0000_0001;
/** RFC 9369 §3.1. */
export const QUIC_V2 = 0x6b33_43cf;
/** Version Negotiation packets carry version 0 (RFC 9000 §17.2.1). */
export const VERSION_NEGOTIATION = 0;

export type LongPacketType = 'initial' | '0rtt' | 'handshake' | 'retry';

export interface VersionParams {
  code: number;
  name: string;
  salt: Uint8Array;
  /** Label prefix: 'quic' (v1, drafts) or 'quicv2' (RFC 9369 §3.3.2). */
  labelPrefix: 'quic' | 'quicv2';
  /** Long-header type bits (first octet bits 4–5) → packet type. */
  types: readonly [LongPacketType, LongPacketType, LongPacketType, LongPacketType];
  retryKey: Uint8Array;
  retryNonce: Uint8Array;
  /** TLS extension type of quic_transport_parameters. */
  transportParamsExt: number;
}

const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'));

const V1_TYPES = ['initial', '0rtt', 'handshake', 'retry'] as const;
// RFC 9369 §3.2: Initial 0b01, 0-RTT 0b10, Handshake 0b11, Retry 0b00.
const V2_TYPES = ['retry', 'initial', '0rtt', 'handshake'] as const;

const V1: VersionParams = {
  code: QUIC_V1,
  name: 'QUICv1',
  salt: hex('38762cf7f55934b34d179ae6a4c80cadccbb7f0a'),
  labelPrefix: 'quic',
  types: V1_TYPES,
  retryKey: hex('be0c690b9f66575a1d766b54e368c84e'),
  retryNonce: hex('461599d35d632bf2239825bb'),
  transportParamsExt: 0x39,
};

const V2: VersionParams = {
  code: QUIC_V2,
  name: 'QUICv2',
  salt: hex('0dede3def700a6db819381be6e269dcbf9bd2ed9'),
  labelPrefix: 'quicv2',
  types: V2_TYPES,
  retryKey: hex('8fb4b01b56ac48e260fbcbcead7ccc92'),
  retryNonce: hex('d86969bc2d7c6d9990efb04a'),
  transportParamsExt: 0x39,
};

// draft-ietf-quic-tls-29 §5.2 and §5.8 (used through draft 34).
const DRAFT29_SALT = hex('afbfec289993d24c9e9786f19c6111e04390a899');
const DRAFT29_RETRY_KEY = hex('ccce187ed09a09d05728155a6cb96be1');
const DRAFT29_RETRY_NONCE = hex('e54930f97f2136f0530a8c1c');

const TABLE = new Map<number, VersionParams>([
  [QUIC_V1, V1],
  [QUIC_V2, V2],
]);
for (let d = 29; d <= 34; d++) {
  TABLE.set(0xff00_0000 + d, {
    code: 0xff00_0000 + d,
    name: `draft-${d}`,
    salt: DRAFT29_SALT,
    labelPrefix: 'quic',
    types: V1_TYPES,
    retryKey: DRAFT29_RETRY_KEY,
    retryNonce: DRAFT29_RETRY_NONCE,
    transportParamsExt: 0xffa5,
  });
}

/** Parameters of a version wirefall can decrypt, or undefined. */
export function versionParams(v: number): VersionParams | undefined {
  return TABLE.get(v >>> 0);
}

/**
 * Display name: 'QUICv1', 'QUICv2', 'draft-29', a reserved "greasing" version (RFC 9000 §15:
 * 0x?a?a?a?a) as 'reserved (0x1a2a3a4a)', anything else as its 8 hex digits.
 */
export function versionName(v: number): string {
  const p = TABLE.get(v >>> 0);
  if (p) return p.name;
  const h = (v >>> 0).toString(16).padStart(8, '0');
  if ((v & 0x0f0f0f0f) === 0x0a0a0a0a) return `reserved (0x${h})`;
  return `0x${h}`;
}
