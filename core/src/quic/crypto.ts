/**
 * QUIC packet protection (RFC 9001 §5), all through node:crypto:
 *  - Initial secrets from the client's first Destination Connection ID and the version's salt
 *    (§5.2; RFC 9369 §3.3.1), so every Initial packet can be read without keys;
 *  - packet protection keys from a TLS 1.3 traffic secret with HKDF-Expand-Label and the version's
 *    labels (§5.1: "quic key", "quic iv", "quic hp"; RFC 9369 §3.3.2: "quicv2 …"), and the next
 *    key phase (§6.1: "quic ku"; the header protection key is not updated);
 *  - header protection (§5.4): AES-ECB over a 16-octet sample (§5.4.3) or ChaCha20 with the sample
 *    as counter and nonce (§5.4.4);
 *  - AEAD (§5.3): AEAD_AES_128_GCM, AEAD_AES_256_GCM, AEAD_CHACHA20_POLY1305, AEAD_AES_128_CCM; the
 *    nonce is the IV XOR the packet number (left-padded), the associated data the unprotected header;
 *  - the Retry Integrity Tag (§5.8; RFC 9369 §3.3.3).
 *
 * Keys come from untrusted input (a key log, a capture): every function is total — wrong keys give
 * packets that do not authenticate (`open` returns null), never an exception.
 */
import { createCipheriv, createDecipheriv, timingSafeEqual, type Cipher, type DecipherCCM, type DecipherGCM } from 'node:crypto';
import { HASH_LEN, hkdfExpandLabel, hkdfExtract, type HkdfHash } from '../tls/keys.js';
import type { VersionParams } from './version.js';

/** AEAD tag length of every QUIC AEAD (RFC 9001 §5.3). */
export const QUIC_TAG_LEN = 16;
/** Header protection sample length (RFC 9001 §5.4.2). */
export const HP_SAMPLE_LEN = 16;

export interface QuicSuite {
  id: number;
  name: string;
  aead: 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305' | 'aes-128-ccm';
  keyLen: number;
  hash: HkdfHash;
  hp: 'aes-128-ecb' | 'aes-256-ecb' | 'chacha20';
}

const SUITES = new Map<number, QuicSuite>([
  [0x1301, { id: 0x1301, name: 'TLS_AES_128_GCM_SHA256', aead: 'aes-128-gcm', keyLen: 16, hash: 'sha256', hp: 'aes-128-ecb' }],
  [0x1302, { id: 0x1302, name: 'TLS_AES_256_GCM_SHA384', aead: 'aes-256-gcm', keyLen: 32, hash: 'sha384', hp: 'aes-256-ecb' }],
  [0x1303, { id: 0x1303, name: 'TLS_CHACHA20_POLY1305_SHA256', aead: 'chacha20-poly1305', keyLen: 32, hash: 'sha256', hp: 'chacha20' }],
  // RFC 9001 §5.3: AEAD_AES_128_CCM may be used; TLS_AES_128_CCM_8_SHA256 must not (its tag is 8 octets).
  [0x1304, { id: 0x1304, name: 'TLS_AES_128_CCM_SHA256', aead: 'aes-128-ccm', keyLen: 16, hash: 'sha256', hp: 'aes-128-ecb' }],
]);

/** The suite's QUIC protection parameters; undefined for a suite QUIC cannot use. */
export function quicSuite(id: number): QuicSuite | undefined {
  return SUITES.get(id);
}

/** Initial packets use AEAD_AES_128_GCM with SHA-256 (RFC 9001 §5.2). */
export const INITIAL_SUITE: QuicSuite = SUITES.get(0x1301)!;

const EMPTY = new Uint8Array(0);

/**
 * RFC 9001 §5.2: initial_secret = HKDF-Extract(initial_salt, client_dst_connection_id);
 * client_initial_secret = HKDF-Expand-Label(initial_secret, "client in", "", 32), and "server in".
 */
export function initialSecrets(vp: VersionParams, dcid: Uint8Array): { initial: Uint8Array; client: Uint8Array; server: Uint8Array } {
  const initial = hkdfExtract('sha256', vp.salt, dcid);
  return {
    initial,
    client: hkdfExpandLabel('sha256', initial, 'client in', EMPTY, 32),
    server: hkdfExpandLabel('sha256', initial, 'server in', EMPTY, 32),
  };
}

export type OpenResult = Buffer | null;

/** One direction's keys at one key phase: AEAD key and IV, header protection key. */
export class PacketKeys {
  readonly key: Uint8Array;
  readonly iv: Uint8Array;
  readonly hp: Uint8Array;
  private readonly nonce = Buffer.alloc(12);
  /** AES-ECB is stateless per block: one cipher object serves every sample. */
  private ecb: Cipher | null = null;

  constructor(
    readonly suite: QuicSuite,
    readonly vp: VersionParams,
    readonly secret: Uint8Array,
    hp?: Uint8Array,
  ) {
    const pre = vp.labelPrefix;
    this.key = hkdfExpandLabel(suite.hash, secret, `${pre} key`, EMPTY, suite.keyLen);
    this.iv = hkdfExpandLabel(suite.hash, secret, `${pre} iv`, EMPTY, 12);
    // RFC 9001 §5.4: the header protection key has the AEAD key's length (16 for AES-128, 32 else).
    this.hp = hp ?? hkdfExpandLabel(suite.hash, secret, `${pre} hp`, EMPTY, suite.keyLen);
  }

  /**
   * RFC 9001 §6.1: secret_<n+1> = HKDF-Expand-Label(secret_<n>, "quic ku", "", Hash.length); the
   * key and IV are derived from it; the header protection key stays (§6: "not updated").
   */
  next(): PacketKeys {
    const s = hkdfExpandLabel(this.suite.hash, this.secret, `${this.vp.labelPrefix} ku`, EMPTY, HASH_LEN[this.suite.hash]);
    return new PacketKeys(this.suite, this.vp, s, this.hp);
  }

  /** The 5-octet header protection mask for a 16-octet sample (RFC 9001 §5.4.3, §5.4.4); null on a crypto error. */
  mask(sample: Uint8Array): Uint8Array | null {
    try {
      if (this.suite.hp === 'chacha20') {
        // §5.4.4: counter = sample[0..3] (little-endian), nonce = sample[4..15]; OpenSSL's
        // chacha20 IV is exactly counter (LE) || nonce. mask = ChaCha20(hp_key, counter, nonce, {0,0,0,0,0}).
        const c = createCipheriv('chacha20', this.hp, sample);
        return c.update(ZERO5);
      }
      if (this.ecb === null) {
        this.ecb = createCipheriv(this.suite.hp, this.hp, null);
        this.ecb.setAutoPadding(false);
      }
      return this.ecb.update(sample).subarray(0, 5);
    } catch {
      this.ecb = null;
      return null;
    }
  }

  /**
   * Opens a protected payload (RFC 9001 §5.3): nonce = iv XOR packet number (big-endian,
   * left-padded to the IV length); `aad` is the header with protection removed, through the packet
   * number; `sealed` is ciphertext || 16-octet tag. Null when it does not authenticate.
   */
  open(pn: number, aad: Uint8Array, sealed: Uint8Array): OpenResult {
    if (sealed.length < QUIC_TAG_LEN || !(pn >= 0) || pn > Number.MAX_SAFE_INTEGER) return null;
    const nonce = this.nonce;
    nonce.set(this.iv);
    const hi = Math.floor(pn / 0x1_0000_0000);
    const lo = pn >>> 0;
    nonce[4] ^= (hi >>> 24) & 0xff;
    nonce[5] ^= (hi >>> 16) & 0xff;
    nonce[6] ^= (hi >>> 8) & 0xff;
    nonce[7] ^= hi & 0xff;
    nonce[8] ^= lo >>> 24;
    nonce[9] ^= (lo >>> 16) & 0xff;
    nonce[10] ^= (lo >>> 8) & 0xff;
    nonce[11] ^= lo & 0xff;
    const ctLen = sealed.length - QUIC_TAG_LEN;
    const ct = sealed.subarray(0, ctLen);
    const tag = sealed.subarray(ctLen);
    try {
      let d: DecipherGCM | DecipherCCM;
      if (this.suite.aead === 'aes-128-ccm') {
        const c = createDecipheriv('aes-128-ccm', this.key, nonce, { authTagLength: QUIC_TAG_LEN });
        c.setAuthTag(tag);
        c.setAAD(aad, { plaintextLength: ctLen });
        d = c;
      } else {
        const g = createDecipheriv(this.suite.aead as 'aes-128-gcm', this.key, nonce, { authTagLength: QUIC_TAG_LEN });
        g.setAuthTag(tag);
        g.setAAD(aad);
        d = g;
      }
      const out = d.update(ct);
      const fin = d.final();
      return fin.length === 0 ? out : Buffer.concat([out, fin]);
    } catch {
      return null;
    }
  }
}

const ZERO5 = new Uint8Array(5);

/** Client and server Initial keys for a version and the client's chosen DCID (RFC 9001 §5.2). */
export function initialKeys(vp: VersionParams, dcid: Uint8Array): { client: PacketKeys; server: PacketKeys } {
  const s = initialSecrets(vp, dcid);
  return { client: new PacketKeys(INITIAL_SUITE, vp, s.client), server: new PacketKeys(INITIAL_SUITE, vp, s.server) };
}

/**
 * RFC 9000 Appendix A.3: the full packet number from its truncated encoding, given the largest
 * packet number successfully processed in the same space (-1 when none).
 */
export function decodePacketNumber(largest: number, truncated: number, pnLen: number): number {
  const expected = largest + 1;
  const win = 2 ** (pnLen * 8);
  const hwin = win / 2;
  const candidate = expected - (expected % win) + truncated;
  if (candidate <= expected - hwin && candidate < 2 ** 62 - win) return candidate + win;
  if (candidate > expected + hwin && candidate >= win) return candidate - win;
  return candidate;
}

export interface HeaderUnprotected {
  /** The first octet with protection removed. */
  first: number;
  pnLen: number;
  truncatedPn: number;
  /** Copy of the header through the packet number, unprotected: the AEAD's associated data. */
  header: Uint8Array;
}

/**
 * Removes header protection (RFC 9001 §5.4.1) from the packet at data[start, end) whose packet
 * number starts at `pnOffset`. The sample starts 4 octets after the packet number's start (§5.4.2).
 * Null when the packet is too short to hold a sample (a malformed packet). The input is not modified.
 */
export function removeHeaderProtection(keys: PacketKeys, data: Uint8Array, start: number, pnOffset: number, end: number, long: boolean): HeaderUnprotected | null {
  const sampleAt = pnOffset + 4;
  if (sampleAt + HP_SAMPLE_LEN > end) return null;
  const mask = keys.mask(data.subarray(sampleAt, sampleAt + HP_SAMPLE_LEN));
  if (mask === null) return null;
  // §5.4.1: long header: 4 bits masked (0x0f); short header: 5 bits (0x1f).
  const first = data[start] ^ (mask[0] & (long ? 0x0f : 0x1f));
  const pnLen = (first & 0x03) + 1;
  const header = new Uint8Array(pnOffset - start + pnLen);
  header.set(data.subarray(start, pnOffset + pnLen));
  header[0] = first;
  let pn = 0;
  for (let i = 0; i < pnLen; i++) {
    const b = data[pnOffset + i] ^ mask[1 + i];
    header[pnOffset - start + i] = b;
    pn = pn * 256 + b;
  }
  return { first, pnLen, truncatedPn: pn, header };
}

/**
 * RFC 9001 §5.8: the Retry Integrity Tag is AEAD_AES_128_GCM over an empty plaintext with the
 * Retry pseudo-packet (ODCID Length, Original Destination Connection ID, the Retry packet without
 * its tag) as associated data, under the version's fixed key and nonce.
 */
export function retryIntegrityValid(vp: VersionParams, odcid: Uint8Array, retry: Uint8Array): boolean {
  if (retry.length < QUIC_TAG_LEN || odcid.length > 255) return false;
  try {
    const c = createCipheriv('aes-128-gcm', vp.retryKey, vp.retryNonce, { authTagLength: QUIC_TAG_LEN });
    const pseudo = new Uint8Array(1 + odcid.length + retry.length - QUIC_TAG_LEN);
    pseudo[0] = odcid.length;
    pseudo.set(odcid, 1);
    pseudo.set(retry.subarray(0, retry.length - QUIC_TAG_LEN), 1 + odcid.length);
    c.setAAD(pseudo);
    c.final();
    return timingSafeEqual(c.getAuthTag(), retry.subarray(retry.length - QUIC_TAG_LEN));
  } catch {
    return false;
  }
}
