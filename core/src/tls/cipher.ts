/**
 * TLS record decryption (one direction of one connection), all through node:crypto
 * (createDecipheriv, createHmac).
 *
 * Stateless by sequence number: `decrypt(seq, …)` uses only its arguments and the keys, so the
 * caller can retry a record at later sequence numbers to resynchronise after records lost to the
 * capture (the AEAD nonce and the MAC both cover the sequence number, so a wrong one fails as
 * 'auth'). One exception, documented at `tls12Cipher`: TLS 1.0 CBC chains its IV through the
 * previous record's ciphertext (RFC 2246 §6.2.3.2), so that cipher remembers the last block.
 *
 * Never throws on record bytes: too short or too long → { ok: false, reason: 'length' }; a record
 * that does not authenticate (wrong key, wrong sequence number, tampered bytes) → 'auth'; bad CBC
 * padding or a TLS 1.3 TLSInnerPlaintext without a content type → 'padding'. Exceptions from
 * node:crypto are caught and reported as 'auth'.
 *
 * Per record it allocates what node:crypto needs (a Decipher, an Hmac, the plaintext) and nothing
 * else: nonce, AAD and MAC-header buffers are preallocated per cipher and reused (node:crypto copies
 * them into its own state before returning).
 */
import { createDecipheriv, createHmac, createSecretKey, timingSafeEqual, type DecipherCCM, type DecipherGCM, type KeyObject } from 'node:crypto';
import { tls13TrafficKeys, VERSION_TLS11 } from './keys.js';
import type { SuiteParams } from './suites.js';

/** RFC 8446 §5.2: TLSCiphertext.length MUST NOT exceed 2^14 + 256. */
export const MAX_TLS13_CIPHERTEXT = (1 << 14) + 256;
/** RFC 5246 §6.2.3: TLSCiphertext.length MUST NOT exceed 2^14 + 2048. */
export const MAX_TLS12_CIPHERTEXT = (1 << 14) + 2048;

/** TLS 1.2 GCM/CCM explicit nonce length (RFC 5288 §3, RFC 6655 §3). */
const EXPLICIT_NONCE_LEN = 8;

export type DecryptFailure = 'auth' | 'length' | 'padding';
export type DecryptResult = { ok: true; type: number; data: Uint8Array } | { ok: false; reason: DecryptFailure };

export interface RecordCipher {
  /**
   * Decrypt one record. `type` and `version` are the record header's (TLS 1.3: the outer
   * opaque_type 23 and legacy_record_version); `fragment` is the record body. The result's `type`
   * is the real content type (TLS 1.3: from TLSInnerPlaintext; before: `type`). `data` may be a
   * view on a buffer owned by the result; it is not reused by the cipher.
   */
  decrypt(seq: bigint | number, type: number, version: number, fragment: Uint8Array): DecryptResult;
  /**
   * Where the plaintext starts in a record's body: the explicit nonce (TLS 1.2 GCM/CCM, RFC 5288
   * §3) or IV (CBC, TLS ≥ 1.1, RFC 5246 §6.2.3.2) before it; 0 for TLS 1.3 and ChaCha20. Plaintext
   * octet k of a record is carried by body octet `plaintextAt + k` (a byte-range map to TCP).
   */
  readonly plaintextAt: number;
}

const FAIL_AUTH: DecryptResult = Object.freeze({ ok: false, reason: 'auth' });
const FAIL_LENGTH: DecryptResult = Object.freeze({ ok: false, reason: 'length' });
const FAIL_PADDING: DecryptResult = Object.freeze({ ok: false, reason: 'padding' });

/**
 * Writes a 64-bit sequence number big-endian at buf[off..off+8]. False for a value that is not
 * one (negative, fractional, ≥ 2^64): no record can authenticate under it.
 */
function writeSeq(buf: Uint8Array, off: number, seq: bigint | number): boolean {
  let hi: number;
  let lo: number;
  if (typeof seq === 'number') {
    if (!Number.isSafeInteger(seq) || seq < 0) return false;
    hi = Math.floor(seq / 0x1_0000_0000);
    lo = seq - hi * 0x1_0000_0000;
  } else {
    if (seq < 0n || seq > 0xffff_ffff_ffff_ffffn) return false;
    hi = Number(seq >> 32n);
    lo = Number(seq & 0xffff_ffffn);
  }
  buf[off] = hi >>> 24;
  buf[off + 1] = (hi >>> 16) & 0xff;
  buf[off + 2] = (hi >>> 8) & 0xff;
  buf[off + 3] = hi & 0xff;
  buf[off + 4] = lo >>> 24;
  buf[off + 5] = (lo >>> 16) & 0xff;
  buf[off + 6] = (lo >>> 8) & 0xff;
  buf[off + 7] = lo & 0xff;
  return true;
}

/** nonce = iv XOR (seq left-padded to the IV length) (RFC 8446 §5.3, RFC 7905 §2). */
function xorNonce(nonce: Uint8Array, iv: Uint8Array, seq: bigint | number): boolean {
  if (!writeSeq(nonce, 4, seq)) return false;
  for (let i = 0; i < 4; i++) nonce[i] = iv[i];
  for (let i = 4; i < 12; i++) nonce[i] ^= iv[i];
  return true;
}

/** Runs one AEAD open; null when it does not authenticate (or node:crypto refuses the input). */
function aeadOpen(
  p: SuiteParams,
  key: KeyObject,
  nonce: Uint8Array,
  aad: Uint8Array,
  ciphertext: Uint8Array,
  tag: Uint8Array,
): Buffer | null {
  try {
    const opts = { authTagLength: p.tagLen } as object;
    let d: DecipherGCM | DecipherCCM;
    if (p.mode === 'ccm' || p.mode === 'ccm8') {
      // CCM needs the plaintext length with the AAD (node:crypto; RFC 3610 §2.2 encodes it in B_0).
      const c = createDecipheriv(p.cipher, key, nonce, opts) as unknown as DecipherCCM;
      c.setAuthTag(tag);
      c.setAAD(aad, { plaintextLength: ciphertext.length });
      d = c;
    } else {
      const g = createDecipheriv(p.cipher, key, nonce, opts) as unknown as DecipherGCM;
      g.setAuthTag(tag);
      g.setAAD(aad);
      d = g;
    }
    const out = d.update(ciphertext);
    const fin = d.final();
    return fin.length === 0 ? out : Buffer.concat([out, fin]);
  } catch {
    return null;
  }
}

// ------------------------------------------------------------------------------------ TLS 1.3

class Tls13Cipher implements RecordCipher {
  /** RFC 8446 §5.2: encrypted_record is AEAD-Encrypted(TLSInnerPlaintext), no explicit nonce. */
  readonly plaintextAt = 0;
  /** A KeyObject made once: createDecipheriv then skips importing raw key bytes per record. */
  private readonly key: KeyObject;
  private readonly iv: Uint8Array;
  private readonly nonce = new Uint8Array(12);
  private readonly aad = new Uint8Array(5);

  constructor(private readonly p: SuiteParams, trafficSecret: Uint8Array) {
    const k = tls13TrafficKeys(p, trafficSecret);
    this.key = createSecretKey(k.key);
    this.iv = k.iv;
  }

  decrypt(seq: bigint | number, type: number, version: number, fragment: Uint8Array): DecryptResult {
    const p = this.p;
    const len = fragment.length;
    // RFC 8446 §5.2: at least the tag and the one-octet content type; at most 2^14 + 256.
    if (len < p.tagLen + 1 || len > MAX_TLS13_CIPHERTEXT) return FAIL_LENGTH;
    if (!xorNonce(this.nonce, this.iv, seq)) return FAIL_AUTH;
    // RFC 8446 §5.2: additional_data = TLSCiphertext.opaque_type || legacy_record_version || length.
    const aad = this.aad;
    aad[0] = type;
    aad[1] = (version >> 8) & 0xff;
    aad[2] = version & 0xff;
    aad[3] = len >> 8;
    aad[4] = len & 0xff;
    const ctLen = len - p.tagLen;
    const plain = aeadOpen(p, this.key, this.nonce, aad, fragment.subarray(0, ctLen), fragment.subarray(ctLen));
    if (plain === null) return FAIL_AUTH;
    // RFC 8446 §5.4: TLSInnerPlaintext = content || ContentType type || uint8 zeros[length_of_padding];
    // the content type is the last non-zero octet. All zeros: no type, "unexpected_message".
    let i = plain.length - 1;
    while (i >= 0 && plain[i] === 0) i--;
    if (i < 0) return FAIL_PADDING;
    return { ok: true, type: plain[i], data: plain.subarray(0, i) };
  }
}

/** A TLS 1.3 record cipher for one direction and one traffic secret (RFC 8446 §5.2–5.4, §7.3). */
export function tls13Cipher(p: SuiteParams, trafficSecret: Uint8Array): RecordCipher {
  return new Tls13Cipher(p, trafficSecret);
}

// ------------------------------------------------------------------------------ TLS 1.0 – 1.2

export interface Tls12DirectionKeys {
  /** Write key of the sending side. */
  key: Uint8Array;
  /** Its fixed IV: GCM/CCM salt, ChaCha20 IV, or TLS 1.0 CBC initial IV (see tls12KeyBlock). */
  iv: Uint8Array;
  /** Its MAC key (CBC suites; empty for AEAD). */
  macKey: Uint8Array;
}

export interface Tls12CipherOptions {
  /** encrypt_then_mac negotiated (RFC 7366); only meaningful for CBC suites. */
  encryptThenMac: boolean;
  /** Negotiated version (ServerHello.server_version): 0x0301 TLS 1.0, 0x0302 TLS 1.1, 0x0303 TLS 1.2. */
  version: number;
}

/** The sequence-number-and-header prefix of the TLS 1.2 AEAD additional data and the CBC MAC input. */
function writeSeqHeader(buf: Uint8Array, seq: bigint | number, type: number, version: number, length: number): boolean {
  // RFC 5246 §6.2.3.2 / §6.2.3.3: seq_num || TLSCompressed.type || TLSCompressed.version || TLSCompressed.length
  if (!writeSeq(buf, 0, seq)) return false;
  buf[8] = type;
  buf[9] = (version >> 8) & 0xff;
  buf[10] = version & 0xff;
  buf[11] = (length >> 8) & 0xff;
  buf[12] = length & 0xff;
  return true;
}

class Tls12AeadCipher implements RecordCipher {
  private readonly nonce = new Uint8Array(12);
  private readonly aad = new Uint8Array(13);
  readonly plaintextAt: number;

  private keyObj: KeyObject | undefined;

  constructor(
    private readonly p: SuiteParams,
    private readonly keys: Tls12DirectionKeys,
  ) {
    this.plaintextAt = p.mode === 'chacha20' ? 0 : EXPLICIT_NONCE_LEN;
  }

  decrypt(seq: bigint | number, type: number, version: number, fragment: Uint8Array): DecryptResult {
    const p = this.p;
    const len = fragment.length;
    const chacha = p.mode === 'chacha20';
    const explicit = chacha ? 0 : EXPLICIT_NONCE_LEN;
    if (len < explicit + p.tagLen || len > MAX_TLS12_CIPHERTEXT) return FAIL_LENGTH;
    const nonce = this.nonce;
    if (chacha) {
      // RFC 7905 §2: nonce = client/server_write_IV XOR (64-bit sequence number, left-padded); no explicit nonce.
      if (!xorNonce(nonce, this.keys.iv, seq)) return FAIL_AUTH;
    } else {
      // RFC 5288 §3 / RFC 6655 §3: nonce = salt (4, from the key block) || GenericAEADCipher.nonce_explicit (8).
      const salt = this.keys.iv;
      for (let i = 0; i < 4; i++) nonce[i] = salt[i];
      for (let i = 0; i < EXPLICIT_NONCE_LEN; i++) nonce[4 + i] = fragment[i];
    }
    const ptLen = len - explicit - p.tagLen;
    // RFC 5246 §6.2.3.3: additional_data = seq_num + type + version + length (of the plaintext).
    if (!writeSeqHeader(this.aad, seq, type, version, ptLen)) return FAIL_AUTH;
    const plain = aeadOpen(p, (this.keyObj ??= createSecretKey(this.keys.key)), nonce, this.aad, fragment.subarray(explicit, len - p.tagLen), fragment.subarray(len - p.tagLen));
    if (plain === null) return FAIL_AUTH;
    return { ok: true, type, data: plain };
  }
}

class Tls12CbcCipher implements RecordCipher {
  private readonly header = new Uint8Array(13);
  private readonly explicitIv: boolean;
  readonly plaintextAt: number;
  /** TLS 1.0: the IV of the record being decrypted, and the last ciphertext block seen (next IV). */
  private chainIv: Uint8Array;
  private lastTail: Uint8Array | null = null;
  /** TLS 1.0 encrypt-then-MAC: the sequence number that follows the last record whose MAC verified. */
  private expectSeq = 0n;

  constructor(
    private readonly p: SuiteParams,
    private readonly keys: Tls12DirectionKeys,
    private readonly etm: boolean,
    version: number,
  ) {
    // RFC 4346 §6.2.3.2 (TLS 1.1) and RFC 5246 §6.2.3.2: an explicit IV opens every CBC record.
    this.explicitIv = version >= VERSION_TLS11;
    this.plaintextAt = this.explicitIv ? p.blockLen : 0;
    this.chainIv = keys.iv.subarray(0, p.blockLen);
  }

  /**
   * TLS 1.0 (RFC 2246 §6.2.3.2): the first record's IV is the key block's, each later record's the
   * last ciphertext block of the one before. A retry of the same record (same last block, as when
   * the caller tries several sequence numbers) reuses the same IV.
   */
  private implicitIv(ciphertext: Uint8Array): Uint8Array {
    const bl = this.p.blockLen;
    const tail = ciphertext.subarray(ciphertext.length - bl);
    const last = this.lastTail;
    let same = last !== null;
    for (let i = 0; same && i < bl; i++) if (last![i] !== tail[i]) same = false;
    if (!same) {
      if (last !== null) this.chainIv = last;
      this.lastTail = new Uint8Array(tail);
    }
    return this.chainIv;
  }

  private mac(seq: bigint | number, type: number, version: number, parts: readonly Uint8Array[], length: number): Buffer | null {
    if (!writeSeqHeader(this.header, seq, type, version, length)) return null;
    const h = createHmac(this.p.macHash as string, this.keys.macKey).update(this.header);
    for (const part of parts) h.update(part);
    return h.digest();
  }

  private cbcDecrypt(iv: Uint8Array, ciphertext: Uint8Array): Buffer | null {
    try {
      const d = createDecipheriv(this.p.cipher, this.keys.key, iv);
      d.setAutoPadding(false);
      const out = d.update(ciphertext);
      const fin = d.final();
      return fin.length === 0 ? out : Buffer.concat([out, fin]);
    } catch {
      return null;
    }
  }

  /** RFC 5246 §6.2.3.2: padding_length octets, each equal to padding_length, then padding_length. Returns its total length. */
  private static padding(plain: Uint8Array, room: number): number {
    const n = plain[plain.length - 1];
    if (n + 1 > room) return -1;
    for (let i = plain.length - 1 - n; i < plain.length - 1; i++) if (plain[i] !== n) return -1;
    return n + 1;
  }

  decrypt(seq: bigint | number, type: number, version: number, fragment: Uint8Array): DecryptResult {
    const p = this.p;
    const bl = p.blockLen;
    const len = fragment.length;
    if (len > MAX_TLS12_CIPHERTEXT) return FAIL_LENGTH;
    const ivLen = this.explicitIv ? bl : 0;
    if (this.etm) {
      // RFC 7366 §3: TLSCiphertext = IV (TLS ≥ 1.1) || ENC(content + padding + padding_length) || MAC,
      // MAC = MAC(MAC_write_key, seq_num + type + version + length + IV + ENC(…)), length = len(IV + ENC(…)),
      // checked before decrypting.
      const bodyLen = len - p.macLen;
      const ctLen = bodyLen - ivLen;
      if (ctLen < bl || ctLen % bl !== 0) return FAIL_LENGTH;
      const body = fragment.subarray(0, bodyLen);
      const ciphertext = fragment.subarray(ivLen, bodyLen);
      const iv = this.explicitIv ? fragment.subarray(0, bl) : this.implicitIv(ciphertext);
      const mac = this.mac(seq, type, version, [body], bodyLen);
      if (mac === null || !timingSafeEqual(mac, fragment.subarray(bodyLen))) return FAIL_AUTH;
      if (!this.explicitIv) {
        // TLS 1.0: the MAC does not cover the implicit IV. A record verified at a later sequence
        // number than expected follows records this cipher never saw, so its IV (the last block of
        // the record before it) is unknown and its first block would decrypt wrongly.
        const s = BigInt(seq);
        const gap = s !== this.expectSeq;
        this.expectSeq = s + 1n;
        if (gap) return FAIL_AUTH;
      }
      const plain = this.cbcDecrypt(iv, ciphertext);
      if (plain === null) return FAIL_AUTH;
      const pad = Tls12CbcCipher.padding(plain, plain.length);
      if (pad < 0) return FAIL_PADDING;
      return { ok: true, type, data: plain.subarray(0, plain.length - pad) };
    }
    // RFC 5246 §6.2.3.2 (MAC-then-encrypt): GenericBlockCipher = IV (TLS ≥ 1.1) ||
    // ENC(content + MAC + padding + padding_length); MAC = HMAC(MAC_write_key, seq_num + type + version + length + content).
    const ctLen = len - ivLen;
    if (ctLen < bl || ctLen % bl !== 0 || ctLen < p.macLen + 1) return FAIL_LENGTH;
    const ciphertext = fragment.subarray(ivLen);
    const iv = this.explicitIv ? fragment.subarray(0, bl) : this.implicitIv(ciphertext);
    const plain = this.cbcDecrypt(iv, ciphertext);
    if (plain === null) return FAIL_AUTH;
    const pad = Tls12CbcCipher.padding(plain, plain.length - p.macLen);
    if (pad < 0) return FAIL_PADDING;
    const contentLen = plain.length - pad - p.macLen;
    const content = plain.subarray(0, contentLen);
    const mac = this.mac(seq, type, version, [content], contentLen);
    if (mac === null || !timingSafeEqual(mac, plain.subarray(contentLen, contentLen + p.macLen))) return FAIL_AUTH;
    return { ok: true, type, data: content };
  }
}

/**
 * A TLS 1.0–1.2 record cipher for one direction (RFC 5246 §6.2.3): AEAD (GCM, CCM, CCM_8,
 * ChaCha20-Poly1305; TLS 1.2 only) or CBC with HMAC, MAC-then-encrypt or encrypt-then-MAC
 * (RFC 7366).
 *
 * Stateless by sequence number, except TLS 1.0 CBC (`opts.version` 0x0301): its implicit IV is the
 * previous record's last ciphertext block, so the cipher keeps that block and must see every record
 * of its direction in order. After a record lost to the capture (one not passed to `decrypt`), the
 * next one fails as 'auth' (MAC-then-encrypt: its first block decrypts wrongly; encrypt-then-MAC,
 * whose MAC does not cover the implicit IV: its sequence number shows the gap) and the chain is
 * right again from the record after it.
 * SSL 3.0 (0x0300) is not supported: its MAC is not HMAC, and its records fail as 'auth'.
 */
export function tls12Cipher(p: SuiteParams, keys: Tls12DirectionKeys, opts: Tls12CipherOptions): RecordCipher {
  if (p.mode === 'cbc') return new Tls12CbcCipher(p, keys, opts.encryptThenMac, opts.version);
  return new Tls12AeadCipher(p, keys);
}
