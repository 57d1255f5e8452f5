/**
 * TLS key derivation, all through node:crypto (createHmac, createHash):
 *  - TLS 1.3 (RFC 8446 §7): HKDF-Extract/Expand (RFC 5869), HKDF-Expand-Label, Derive-Secret, traffic
 *    keys and IVs from a traffic secret, and the KeyUpdate successor of an application secret.
 *  - TLS 1.2 (RFC 5246 §5, §6.3): the P_hash PRF and the key block from the master secret.
 *  - TLS 1.0/1.1 (RFC 2246 §5, RFC 4346 §5): the MD5/SHA-1 split PRF, selected by `version`.
 * SSL 3.0's key derivation is not supported.
 *
 * Inputs are secrets from a key log (which the analyzer does not trust): every function is total
 * over byte strings — a wrong secret gives wrong keys, and the record layer then reports records
 * that do not authenticate. The only exception is an HKDF-Expand output longer than 255 × HashLen
 * (RFC 5869 §2.3), which no caller in wirefall asks for; it throws a RangeError.
 */
import { createHash, createHmac } from 'node:crypto';
import type { SuiteParams } from './suites.js';

export type HkdfHash = 'sha256' | 'sha384';

/** Output length of the hashes used by TLS 1.2 PRFs and TLS 1.3 HKDF. */
export const HASH_LEN: Readonly<Record<HkdfHash, number>> = { sha256: 32, sha384: 48 };

/** TLS 1.3 AEAD nonce length (RFC 8446 §5.3: iv_length = max(8, N_MIN) = 12 for every suite). */
export const TLS13_IV_LEN = 12;

const latin1 = (s: string): Buffer => Buffer.from(s, 'latin1');

// ------------------------------------------------------------------------------------ TLS 1.3

/** HKDF-Extract(salt, IKM) = HMAC-Hash(salt, IKM) (RFC 5869 §2.2); an empty salt is HashLen zeros. */
export function hkdfExtract(hash: HkdfHash, salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  const s = salt.length === 0 ? Buffer.alloc(HASH_LEN[hash]) : salt;
  return createHmac(hash, s).update(ikm).digest();
}

/**
 * HKDF-Expand(PRK, info, L) (RFC 5869 §2.3): T(i) = HMAC-Hash(PRK, T(i-1) | info | i), output the
 * first L octets of T(1) | T(2) | … .
 */
export function hkdfExpand(hash: HkdfHash, prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  const hl = HASH_LEN[hash];
  if (length > 255 * hl) throw new RangeError(`HKDF-Expand: ${length} octets exceeds 255 × ${hl}`);
  const out = Buffer.allocUnsafe(Math.ceil(length / hl) * hl);
  const counter = Buffer.alloc(1);
  let prev: Uint8Array = Buffer.alloc(0);
  for (let i = 0, off = 0; off < length; i++, off += hl) {
    counter[0] = i + 1;
    prev = createHmac(hash, prk).update(prev).update(info).update(counter).digest();
    out.set(prev, off);
  }
  return out.subarray(0, length);
}

/**
 * HKDF-Expand-Label(Secret, Label, Context, Length) (RFC 8446 §7.1) = HKDF-Expand(Secret,
 * HkdfLabel, Length) with HkdfLabel = uint16 length | opaque label<7..255> = "tls13 " + Label |
 * opaque context<0..255>.
 */
export function hkdfExpandLabel(hash: HkdfHash, secret: Uint8Array, label: string, context: Uint8Array, length: number): Uint8Array {
  const full = latin1('tls13 ' + label);
  const info = Buffer.allocUnsafe(2 + 1 + full.length + 1 + context.length);
  info.writeUInt16BE(length, 0);
  info[2] = full.length;
  info.set(full, 3);
  info[3 + full.length] = context.length;
  info.set(context, 4 + full.length);
  return hkdfExpand(hash, secret, info, length);
}

/** Transcript-Hash(M1, M2, …) = Hash(M1 | M2 | …) over handshake messages with their headers (RFC 8446 §4.4.1). */
export function transcriptHash(hash: HkdfHash, messages: readonly Uint8Array[]): Uint8Array {
  const h = createHash(hash);
  for (const m of messages) h.update(m);
  return h.digest();
}

/**
 * Derive-Secret(Secret, Label, Messages) = HKDF-Expand-Label(Secret, Label,
 * Transcript-Hash(Messages), Hash.length) (RFC 8446 §7.1).
 */
export function deriveSecret(hash: HkdfHash, secret: Uint8Array, label: string, messages: readonly Uint8Array[]): Uint8Array {
  return hkdfExpandLabel(hash, secret, label, transcriptHash(hash, messages), HASH_LEN[hash]);
}

export interface TrafficKeys {
  key: Uint8Array;
  iv: Uint8Array;
}

const EMPTY = new Uint8Array(0);

/**
 * RFC 8446 §7.3: [sender]_write_key = HKDF-Expand-Label(Secret, "key", "", key_length),
 * [sender]_write_iv = HKDF-Expand-Label(Secret, "iv", "", iv_length).
 */
export function tls13TrafficKeys(p: SuiteParams, trafficSecret: Uint8Array): TrafficKeys {
  return {
    key: hkdfExpandLabel(p.prfHash, trafficSecret, 'key', EMPTY, p.keyLen),
    iv: hkdfExpandLabel(p.prfHash, trafficSecret, 'iv', EMPTY, TLS13_IV_LEN),
  };
}

/**
 * RFC 8446 §7.2: application_traffic_secret_N+1 = HKDF-Expand-Label(application_traffic_secret_N,
 * "traffic upd", "", Hash.length) — the sender's secret after a KeyUpdate (§4.6.3).
 */
export function tls13NextTrafficSecret(p: SuiteParams, secret: Uint8Array): Uint8Array {
  return hkdfExpandLabel(p.prfHash, secret, 'traffic upd', EMPTY, HASH_LEN[p.prfHash]);
}

// ------------------------------------------------------------------------------ TLS 1.0 – 1.2

/**
 * P_hash(secret, seed) = HMAC_hash(secret, A(1) + seed) + HMAC_hash(secret, A(2) + seed) + …,
 * A(0) = seed, A(i) = HMAC_hash(secret, A(i-1)) (RFC 5246 §5), truncated to `length`.
 */
function pHash(hash: 'md5' | 'sha1' | HkdfHash, secret: Uint8Array, seed: Uint8Array, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  let a: Uint8Array = seed;
  let off = 0;
  while (off < length) {
    a = createHmac(hash, secret).update(a).digest();
    const block = createHmac(hash, secret).update(a).update(seed).digest();
    const n = Math.min(block.length, length - off);
    out.set(n === block.length ? block : block.subarray(0, n), off);
    off += n;
  }
  return out;
}

/** TLS 1.2 PRF(secret, label, seed) = P_<hash>(secret, label + seed) (RFC 5246 §5; RFC 5289 §3.2 for SHA-384). */
export function tls12Prf(hash: HkdfHash, secret: Uint8Array, label: string, seed: Uint8Array, length: number): Uint8Array {
  return pHash(hash, secret, Buffer.concat([latin1(label), seed]), length);
}

/**
 * TLS 1.0/1.1 PRF (RFC 2246 §5, RFC 4346 §5): the secret is split into halves S1, S2 (overlapping
 * by one octet when its length is odd); PRF = P_MD5(S1, label + seed) XOR P_SHA-1(S2, label + seed).
 */
export function tls10Prf(secret: Uint8Array, label: string, seed: Uint8Array, length: number): Uint8Array {
  const half = Math.ceil(secret.length / 2);
  const s = Buffer.concat([latin1(label), seed]);
  const md5 = pHash('md5', secret.subarray(0, half), s, length);
  const sha = pHash('sha1', secret.subarray(secret.length - half), s, length);
  for (let i = 0; i < length; i++) md5[i] ^= sha[i];
  return md5;
}

/** Record protocol versions (RFC 8446 §B.1 / RFC 5246 §A.1). */
export const VERSION_TLS10 = 0x0301;
export const VERSION_TLS11 = 0x0302;
export const VERSION_TLS12 = 0x0303;

/** The PRF of a negotiated version: MD5/SHA-1 below TLS 1.2, the suite's hash from TLS 1.2 on. */
export function prfFor(p: SuiteParams, version: number, secret: Uint8Array, label: string, seed: Uint8Array, length: number): Uint8Array {
  return version < VERSION_TLS12 ? tls10Prf(secret, label, seed, length) : tls12Prf(p.prfHash, secret, label, seed, length);
}

export interface TlsKeyBlock {
  clientMacKey: Uint8Array;
  serverMacKey: Uint8Array;
  clientKey: Uint8Array;
  serverKey: Uint8Array;
  clientIv: Uint8Array;
  serverIv: Uint8Array;
}

/**
 * RFC 5246 §6.3: key_block = PRF(master_secret, "key expansion", server_random + client_random),
 * cut into client/server MAC keys (mac_key_length; none for AEAD), client/server write keys and
 * client/server IVs (fixed_iv_length: the 4-octet salt for GCM/CCM, RFC 5288 §3 and RFC 6655 §3;
 * 12 octets for ChaCha20-Poly1305, RFC 7905 §2; a CBC block, used only by TLS 1.0's implicit IV,
 * RFC 2246 §6.3 — TLS 1.1+ CBC carries an explicit IV in every record).
 *
 * `version` is the negotiated version (ServerHello): below TLS 1.2 (0x0303) the TLS 1.0 PRF is used.
 */
export function tls12KeyBlock(
  p: SuiteParams,
  masterSecret: Uint8Array,
  clientRandom: Uint8Array,
  serverRandom: Uint8Array,
  version: number = VERSION_TLS12,
): TlsKeyBlock {
  const mac = p.macLen;
  const key = p.keyLen;
  const iv = p.fixedIvLen;
  const kb = prfFor(p, version, masterSecret, 'key expansion', Buffer.concat([serverRandom, clientRandom]), 2 * (mac + key + iv));
  let off = 0;
  const take = (n: number): Uint8Array => kb.subarray(off, (off += n));
  return {
    clientMacKey: take(mac),
    serverMacKey: take(mac),
    clientKey: take(key),
    serverKey: take(key),
    clientIv: take(iv),
    serverIv: take(iv),
  };
}
