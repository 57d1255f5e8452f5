/**
 * TLS record decryption (cipher.ts), key derivation (keys.ts) and the suite registry (suites.ts).
 *
 *  - Real sessions: node:tls (Node's OpenSSL 3) talks to itself through a recording TCP proxy on
 *    loopback, with the client's key log ('keylog' events, NSS format). Every protected record the
 *    two stacks wrote is decrypted with KeyLog + keys.ts + cipher.ts and the plaintext compared with
 *    what was sent: TLS 1.3 (all five suites), TLS 1.2 (AES-GCM, AES-CCM/CCM_8, ChaCha20, ARIA-GCM,
 *    AES/Camellia-CBC with HMAC-SHA1/256/384, encrypt-then-MAC and MAC-then-encrypt), TLS 1.1 and
 *    TLS 1.0 CBC (implicit IV chain, OpenSSL's empty-fragment records). This is what checks the key
 *    block (its seed order and slicing) against an independent implementation.
 *  - Round trips for every decryptable suite: records built here with node:crypto exactly as a TLS
 *    stack builds them, decrypted by cipher.ts; wrong key, wrong sequence number and tampering fail.
 *  - Edge cases: TLS 1.3 padding, CBC padding and MAC failures, lengths, TLS 1.0 IV chaining and
 *    retries at several sequence numbers.
 *  - PRF vectors: TLS 1.2 P_SHA256 / P_SHA384 from the IETF TLS WG list
 *    (https://www.ietf.org/mail-archive/web/tls/current/msg03416.html, also used by GnuTLS' and
 *    Bouncy Castle's tests); TLS 1.0 MD5/SHA-1 PRF values regenerated with the OpenSSL CLI
 *    (`openssl kdf -kdfopt digest:MD5-SHA1 … TLS1-PRF`).
 *  - Suite names: suiteName for all 65536 values against tshark's `tls.handshake.ciphersuite`.
 */
import { execFileSync } from 'node:child_process';
import { createCipheriv, createHmac, randomBytes, constants as cryptoConstants, type CipherCCM, type CipherGCM } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { describe, expect, it } from 'vitest';
import {
  MAX_TLS12_CIPHERTEXT,
  MAX_TLS13_CIPHERTEXT,
  tls12Cipher,
  tls13Cipher,
  type DecryptResult,
  type RecordCipher,
} from '../../../core/src/tls/cipher.js';
import { KeyLog } from '../../../core/src/tls/keylog.js';
import { HASH_LEN, hkdfExpandLabel, tls10Prf, tls12KeyBlock, tls12Prf, tls13NextTrafficSecret, tls13TrafficKeys } from '../../../core/src/tls/keys.js';
import { decryptableSuites, isGrease, suiteName, suiteParams, type SuiteParams } from '../../../core/src/tls/suites.js';
import { hasTshark, sample } from '../../helpers/env.js';
import { writePcap } from '../../helpers/pcap-writer.js';
import { readFixture } from '../http2/pcap-chunks.js';

const h = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
/** randomBytes(0) has no backing store, and node:crypto's CCM encryption then skips the update and fails. */
const rnd = (n: number): Buffer => (n === 0 ? Buffer.alloc(0) : randomBytes(n));
const params = (id: number): SuiteParams => {
  const p = suiteParams(id);
  if (!p) throw new Error(`suite 0x${id.toString(16)} is not decryptable`);
  return p;
};

const CT_CCS = 20;
const CT_ALERT = 21;
const CT_HANDSHAKE = 22;
const CT_APPDATA = 23;
const TLS10 = 0x0301;
const TLS11 = 0x0302;
const TLS12 = 0x0303;

// --------------------------------------------------------------------------------------------
// Record builders: what a TLS stack writes, with node:crypto.

function seq8(seq: bigint | number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(seq));
  return b;
}

function xorIv(iv: Uint8Array, seq: bigint | number): Buffer {
  const n = Buffer.from(iv);
  const s = seq8(seq);
  for (let i = 0; i < 8; i++) n[4 + i] ^= s[i];
  return n;
}

function aeadSeal(p: SuiteParams, key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, plain: Uint8Array): Buffer {
  const opts = { authTagLength: p.tagLen } as object;
  if (p.mode === 'ccm' || p.mode === 'ccm8') {
    const c = createCipheriv(p.cipher, key, nonce, opts) as unknown as CipherCCM;
    c.setAAD(aad, { plaintextLength: plain.length });
    return Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
  }
  const c = createCipheriv(p.cipher, key, nonce, opts) as unknown as CipherGCM;
  c.setAAD(aad);
  return Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
}

/** RFC 8446 §5.2: TLSCiphertext body for TLSInnerPlaintext = content || type || zeros. */
function seal13(p: SuiteParams, secret: Uint8Array, seq: bigint | number, type: number, content: Uint8Array, padding = 0): Buffer {
  const { key, iv } = tls13TrafficKeys(p, secret);
  const inner = Buffer.concat([content, Buffer.from([type]), Buffer.alloc(padding)]);
  const len = inner.length + p.tagLen;
  const aad = Buffer.from([CT_APPDATA, 3, 3, len >> 8, len & 0xff]);
  return aeadSeal(p, key, xorIv(iv, seq), aad, inner);
}

interface Keys12 {
  key: Uint8Array;
  iv: Uint8Array;
  macKey: Uint8Array;
}

/** RFC 5246 §6.2.3.3 (GCM/CCM: explicit nonce first) and RFC 7905 §2 (ChaCha20: none). */
function seal12Aead(p: SuiteParams, k: Keys12, seq: bigint | number, type: number, version: number, content: Uint8Array): Buffer {
  const aad = Buffer.concat([seq8(seq), Buffer.from([type, version >> 8, version & 0xff, content.length >> 8, content.length & 0xff])]);
  if (p.mode === 'chacha20') return aeadSeal(p, k.key, xorIv(k.iv, seq), aad, content);
  const explicit = randomBytes(8);
  return Buffer.concat([explicit, aeadSeal(p, k.key, Buffer.concat([k.iv.subarray(0, 4), explicit]), aad, content)]);
}

interface CbcOpts {
  etm: boolean;
  /** TLS ≥ 1.1: the explicit IV sent in the record; TLS 1.0: null, `chainIv` is used. */
  explicitIv: Buffer | null;
  chainIv?: Uint8Array;
  /** padding_length (default: the least that fills the last block). */
  padLen?: number;
  corruptMac?: boolean;
  corruptPadding?: boolean;
}

/** RFC 5246 §6.2.3.2 (MAC-then-encrypt) or RFC 7366 §3 (encrypt-then-MAC). Returns the body and its last ciphertext block. */
function seal12Cbc(p: SuiteParams, k: Keys12, seq: bigint | number, type: number, version: number, content: Uint8Array, o: CbcOpts): { body: Buffer; last: Buffer } {
  const bl = p.blockLen;
  const hdr = (len: number) => Buffer.concat([seq8(seq), Buffer.from([type, version >> 8, version & 0xff, len >> 8, len & 0xff])]);
  const hmac = (len: number, ...parts: Uint8Array[]) => {
    const m = createHmac(p.macHash as string, k.macKey).update(hdr(len));
    for (const x of parts) m.update(x);
    const d = m.digest();
    if (o.corruptMac) d[0] ^= 1;
    return d;
  };
  const iv = o.explicitIv ?? Buffer.from(o.chainIv as Uint8Array);
  const inner = o.etm ? [content] : [content, hmac(content.length, content)];
  const innerLen = inner.reduce((n, x) => n + x.length, 0);
  const padLen = o.padLen ?? (bl - ((innerLen + 1) % bl)) % bl;
  const pad = Buffer.alloc(padLen + 1, padLen);
  if (o.corruptPadding && padLen > 0) pad[0] ^= 1;
  const c = createCipheriv(p.cipher, k.key, iv);
  c.setAutoPadding(false);
  const enc = Buffer.concat([c.update(Buffer.concat([...inner, pad])), c.final()]);
  const ivPart = o.explicitIv ?? Buffer.alloc(0);
  const body = o.etm ? Buffer.concat([ivPart, enc, hmac(ivPart.length + enc.length, ivPart, enc)]) : Buffer.concat([ivPart, enc]);
  return { body, last: enc.subarray(enc.length - bl) };
}

const ok = (type: number, data: Uint8Array): DecryptResult => ({ ok: true, type, data: Buffer.from(data) });
/** Like toEqual(ok(type, data)) without an element-by-element comparison of large buffers. */
function expectOk(r: DecryptResult, type: number, data: Uint8Array): void {
  expect(r.ok ? [r.type, r.data.length] : r).toEqual([type, data.length]);
  if (r.ok) expect(Buffer.from(r.data.buffer, r.data.byteOffset, r.data.length).equals(data)).toBe(true);
}
const fail = (reason: 'auth' | 'length' | 'padding'): DecryptResult => ({ ok: false, reason });

// --------------------------------------------------------------------------------------------

describe('suite registry: parameters of the decryptable suites', () => {
  it('covers the TLS 1.3 suites and the AES-GCM/CCM, ChaCha20, ARIA-GCM and CBC families; not NULL, RC4, SEED, Camellia-GCM, draft ChaCha, SM4', () => {
    const ids = new Set(decryptableSuites());
    for (const id of [0x1301, 0x1302, 0x1303, 0x1304, 0x1305, 0x009c, 0x009f, 0x00a8, 0xc02b, 0xc030, 0xd001, 0xcca8, 0xccab, 0xc09c, 0xc0a0, 0xc0ac, 0xc0af, 0xd003, 0xd005, 0xc050, 0xc05d, 0x002f, 0x0035, 0x003c, 0x003d, 0xc009, 0xc014, 0xc023, 0xc028, 0x000a, 0xc012, 0x0041, 0xc072, 0xc03c])
      expect([id.toString(16), ids.has(id)]).toEqual([id.toString(16), true]);
    for (const id of [0x0000, 0x0002, 0x0004, 0x0005, 0x0009, 0x0096, 0xc07a, 0xcc13, 0xcc14, 0xcc15, 0x00c6, 0x00c7, 0xfeff, 0x0a0a, 0x1234, 0x5600, 0x00ff])
      expect([id.toString(16), ids.has(id)]).toEqual([id.toString(16), false]);
  });

  it('derives key, IV, MAC and PRF parameters from the registry names (RFC 5246, 5288, 5289, 6655, 7905, 8446)', () => {
    const pick = (id: number) => {
      const p = params(id);
      return [p.tls13, p.mode, p.cipher, p.keyLen, p.fixedIvLen, p.macHash, p.macLen, p.prfHash, p.tagLen, p.blockLen];
    };
    expect(pick(0x1301)).toEqual([true, 'gcm', 'aes-128-gcm', 16, 12, null, 0, 'sha256', 16, 0]);
    expect(pick(0x1302)).toEqual([true, 'gcm', 'aes-256-gcm', 32, 12, null, 0, 'sha384', 16, 0]);
    expect(pick(0x1303)).toEqual([true, 'chacha20', 'chacha20-poly1305', 32, 12, null, 0, 'sha256', 16, 0]);
    expect(pick(0x1305)).toEqual([true, 'ccm8', 'aes-128-ccm', 16, 12, null, 0, 'sha256', 8, 0]);
    expect(pick(0xc030)).toEqual([false, 'gcm', 'aes-256-gcm', 32, 4, null, 0, 'sha384', 16, 0]);
    expect(pick(0xcca9)).toEqual([false, 'chacha20', 'chacha20-poly1305', 32, 12, null, 0, 'sha256', 16, 0]);
    expect(pick(0xc0ad)).toEqual([false, 'ccm', 'aes-256-ccm', 32, 4, null, 0, 'sha256', 16, 0]);
    expect(pick(0xc0a1)).toEqual([false, 'ccm8', 'aes-256-ccm', 32, 4, null, 0, 'sha256', 8, 0]);
    expect(pick(0x002f)).toEqual([false, 'cbc', 'aes-128-cbc', 16, 16, 'sha1', 20, 'sha256', 0, 16]);
    expect(pick(0x003d)).toEqual([false, 'cbc', 'aes-256-cbc', 32, 16, 'sha256', 32, 'sha256', 0, 16]);
    expect(pick(0xc028)).toEqual([false, 'cbc', 'aes-256-cbc', 32, 16, 'sha384', 48, 'sha384', 0, 16]);
    expect(pick(0x000a)).toEqual([false, 'cbc', 'des-ede3-cbc', 24, 8, 'sha1', 20, 'sha256', 0, 8]);
    expect(params(0xc02f).name).toBe('TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256');
  });
});

describe('round trip for every decryptable suite (records built with node:crypto)', () => {
  const sizes = [0, 1, 1000, 1 << 14];
  for (const id of decryptableSuites()) {
    const p = params(id);
    it(`0x${id.toString(16).padStart(4, '0')} ${p.name}`, () => {
      if (p.tls13) {
        const secret = randomBytes(HASH_LEN[p.prfHash]);
        const c = tls13Cipher(p, secret);
        sizes.forEach((n, seq) => {
          const content = rnd(n);
          const body = seal13(p, secret, seq, CT_APPDATA, content, seq);
          expectOk(c.decrypt(seq, CT_APPDATA, TLS12, body), CT_APPDATA, content);
          expect(c.decrypt(seq + 1, CT_APPDATA, TLS12, body)).toEqual(fail('auth'));
          expect(tls13Cipher(p, randomBytes(secret.length)).decrypt(seq, CT_APPDATA, TLS12, body)).toEqual(fail('auth'));
        });
        return;
      }
      const ms = randomBytes(48);
      const cr = randomBytes(32);
      const sr = randomBytes(32);
      const versions = p.mode === 'cbc' ? [TLS12, TLS11, TLS10] : [TLS12];
      for (const version of versions) {
        const kb = tls12KeyBlock(p, ms, cr, sr, version);
        const keys = { key: kb.serverKey, iv: kb.serverIv, macKey: kb.serverMacKey };
        const wrong = { key: kb.clientKey, iv: kb.clientIv, macKey: kb.clientMacKey };
        for (const etm of p.mode === 'cbc' ? [false, true] : [false]) {
          const c = tls12Cipher(p, keys, { encryptThenMac: etm, version });
          let chain: Uint8Array = keys.iv;
          sizes.forEach((n, seq) => {
            const content = rnd(n);
            let body: Buffer;
            if (p.mode === 'cbc') {
              const r = seal12Cbc(p, keys, seq, CT_APPDATA, version, content, { etm, explicitIv: version >= TLS11 ? randomBytes(p.blockLen) : null, chainIv: chain });
              body = r.body;
              chain = r.last;
            } else body = seal12Aead(p, keys, seq, CT_APPDATA, version, content);
            expectOk(c.decrypt(seq, CT_APPDATA, version, body), CT_APPDATA, content);
            if (version >= TLS11) {
              // TLS 1.0 chains IVs: a second cipher would start from the wrong IV after record 0.
              expect(c.decrypt(seq + 1, CT_APPDATA, version, body)).toEqual(fail('auth'));
              expect(tls12Cipher(p, wrong, { encryptThenMac: etm, version }).decrypt(seq, CT_APPDATA, version, body).ok).toBe(false);
            }
          });
        }
      }
    });
  }
});

describe('TLS 1.3 records (RFC 8446 §5.2–5.4)', () => {
  const p = params(0x1301);
  const secret = randomBytes(32);
  const c = tls13Cipher(p, secret);

  it('strips the zero padding of TLSInnerPlaintext and returns the inner content type', () => {
    const content = Buffer.from('GET / HTTP/1.1\r\n\r\n');
    expect(c.decrypt(5, CT_APPDATA, TLS12, seal13(p, secret, 5, CT_APPDATA, content, 300))).toEqual(ok(CT_APPDATA, content));
    expect(c.decrypt(6, CT_APPDATA, TLS12, seal13(p, secret, 6, CT_ALERT, h('0100'), 7))).toEqual(ok(CT_ALERT, h('0100')));
    // zero-length content (allowed for application data, §5.4) still has its type octet
    expect(c.decrypt(7, CT_APPDATA, TLS12, seal13(p, secret, 7, CT_APPDATA, Buffer.alloc(0), 0))).toEqual(ok(CT_APPDATA, Buffer.alloc(0)));
    // content ending in zero octets keeps them: only what follows the type octet is padding
    const zeros = Buffer.from([1, 0, 0]);
    expect(c.decrypt(8, CT_APPDATA, TLS12, seal13(p, secret, 8, CT_HANDSHAKE, zeros, 4))).toEqual(ok(CT_HANDSHAKE, zeros));
  });

  it('an all-zero TLSInnerPlaintext (no content type) is reason "padding"', () => {
    const { key, iv } = tls13TrafficKeys(p, secret);
    const inner = Buffer.alloc(20);
    const len = inner.length + 16;
    const body = aeadSeal(p, key, xorIv(iv, 0), Buffer.from([23, 3, 3, 0, len]), inner);
    expect(c.decrypt(0, CT_APPDATA, TLS12, body)).toEqual(fail('padding'));
  });

  it('lengths: shorter than tag + type octet, or longer than 2^14 + 256, are reason "length"', () => {
    expect(c.decrypt(0, CT_APPDATA, TLS12, new Uint8Array(16))).toEqual(fail('length'));
    expect(c.decrypt(0, CT_APPDATA, TLS12, new Uint8Array(0))).toEqual(fail('length'));
    expect(c.decrypt(0, CT_APPDATA, TLS12, new Uint8Array(MAX_TLS13_CIPHERTEXT + 1))).toEqual(fail('length'));
    // the largest legal record (2^14 content + type + 255 padding + tag) is accepted
    const big = seal13(p, secret, 1, CT_APPDATA, randomBytes(1 << 14), 255 - 16);
    expect(big.length).toBe(MAX_TLS13_CIPHERTEXT);
    expect(c.decrypt(1, CT_APPDATA, TLS12, big).ok).toBe(true);
  });

  it('tampered ciphertext, tag or header, a wrong sequence number or key: reason "auth"', () => {
    const body = seal13(p, secret, 3, CT_APPDATA, Buffer.from('hello'));
    for (const i of [0, body.length - 1]) {
      const t = Buffer.from(body);
      t[i] ^= 0x80;
      expect(c.decrypt(3, CT_APPDATA, TLS12, t)).toEqual(fail('auth'));
    }
    expect(c.decrypt(3, CT_HANDSHAKE, TLS12, body)).toEqual(fail('auth')); // AAD = header
    expect(c.decrypt(2, CT_APPDATA, TLS12, body)).toEqual(fail('auth'));
    expect(c.decrypt(3n, CT_APPDATA, TLS12, body)).toEqual(ok(CT_APPDATA, Buffer.from('hello')));
  });

  it('64-bit sequence numbers, as number or bigint; impossible ones fail without throwing', () => {
    for (const seq of [2 ** 32, 2 ** 40 + 7, Number.MAX_SAFE_INTEGER]) {
      const body = seal13(p, secret, seq, CT_APPDATA, Buffer.from('x'));
      expect(c.decrypt(seq, CT_APPDATA, TLS12, body)).toEqual(ok(CT_APPDATA, Buffer.from('x')));
      expect(c.decrypt(BigInt(seq), CT_APPDATA, TLS12, body)).toEqual(ok(CT_APPDATA, Buffer.from('x')));
    }
    const max = 2n ** 64n - 1n;
    expect(c.decrypt(max, CT_APPDATA, TLS12, seal13(p, secret, max, CT_APPDATA, Buffer.from('y')))).toEqual(ok(CT_APPDATA, Buffer.from('y')));
    const body = seal13(p, secret, 0, CT_APPDATA, Buffer.from('z'));
    for (const bad of [-1, 1.5, NaN, 2 ** 64, -1n, 2n ** 64n]) expect(c.decrypt(bad, CT_APPDATA, TLS12, body)).toEqual(fail('auth'));
  });

  it('KeyUpdate: the next secret is HKDF-Expand-Label(secret, "traffic upd", "", Hash.length) (RFC 8446 §7.2)', () => {
    for (const id of [0x1301, 0x1302]) {
      const q = params(id);
      const s0 = randomBytes(HASH_LEN[q.prfHash]);
      const s1 = tls13NextTrafficSecret(q, s0);
      expect(Buffer.from(s1)).toEqual(Buffer.from(hkdfExpandLabel(q.prfHash, s0, 'traffic upd', new Uint8Array(0), HASH_LEN[q.prfHash])));
      expect(s1.length).toBe(HASH_LEN[q.prfHash]);
      const body = seal13(q, s1, 0, CT_APPDATA, Buffer.from('after update'));
      expect(tls13Cipher(q, s1).decrypt(0, CT_APPDATA, TLS12, body)).toEqual(ok(CT_APPDATA, Buffer.from('after update')));
      expect(tls13Cipher(q, s0).decrypt(0, CT_APPDATA, TLS12, body)).toEqual(fail('auth'));
    }
  });
});

describe('TLS 1.2 AEAD records (RFC 5246 §6.2.3.3, RFC 5288, RFC 6655, RFC 7905)', () => {
  const keysFor = (p: SuiteParams) => {
    const kb = tls12KeyBlock(p, randomBytes(48), randomBytes(32), randomBytes(32));
    return { key: kb.clientKey, iv: kb.clientIv, macKey: kb.clientMacKey };
  };

  it('GCM/CCM: the explicit nonce, the header and the sequence number are authenticated', () => {
    for (const id of [0xc02f, 0xc0ac, 0xc0ae]) {
      const p = params(id);
      const k = keysFor(p);
      const c = tls12Cipher(p, k, { encryptThenMac: false, version: TLS12 });
      const body = seal12Aead(p, k, 9, CT_APPDATA, TLS12, Buffer.from('data'));
      expect(c.decrypt(9, CT_APPDATA, TLS12, body)).toEqual(ok(CT_APPDATA, Buffer.from('data')));
      const t = Buffer.from(body);
      t[0] ^= 1; // explicit nonce
      expect(c.decrypt(9, CT_APPDATA, TLS12, t)).toEqual(fail('auth'));
      expect(c.decrypt(9, CT_HANDSHAKE, TLS12, body)).toEqual(fail('auth'));
      expect(c.decrypt(9, CT_APPDATA, TLS11, body)).toEqual(fail('auth'));
      expect(c.decrypt(10, CT_APPDATA, TLS12, body)).toEqual(fail('auth'));
      expect(c.decrypt(9, CT_APPDATA, TLS12, body.subarray(0, 8 + p.tagLen - 1))).toEqual(fail('length'));
      expect(c.decrypt(9, CT_APPDATA, TLS12, new Uint8Array(MAX_TLS12_CIPHERTEXT + 1))).toEqual(fail('length'));
    }
  });

  it('ChaCha20-Poly1305: no explicit nonce, the sequence number is XORed into the IV', () => {
    const p = params(0xcca8);
    const k = keysFor(p);
    const c = tls12Cipher(p, k, { encryptThenMac: false, version: TLS12 });
    const body = seal12Aead(p, k, 2 ** 33, CT_APPDATA, TLS12, Buffer.from('chacha'));
    expect(body.length).toBe(6 + 16);
    expect(c.decrypt(2 ** 33, CT_APPDATA, TLS12, body)).toEqual(ok(CT_APPDATA, Buffer.from('chacha')));
    expect(c.decrypt(2 ** 33 + 1, CT_APPDATA, TLS12, body)).toEqual(fail('auth'));
    expect(c.decrypt(0, CT_APPDATA, TLS12, new Uint8Array(15))).toEqual(fail('length'));
  });
});

describe('TLS CBC records (RFC 5246 §6.2.3.2, RFC 7366, RFC 2246 §6.2.3.2)', () => {
  const p = params(0xc013); // TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA
  const kb = tls12KeyBlock(p, randomBytes(48), randomBytes(32), randomBytes(32));
  const k = { key: kb.clientKey, iv: kb.clientIv, macKey: kb.clientMacKey };
  const msg = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');

  it('MAC-then-encrypt: a wrong MAC is "auth", inconsistent padding is "padding", any legal padding length is accepted', () => {
    const c = tls12Cipher(p, k, { encryptThenMac: false, version: TLS12 });
    const iv = () => randomBytes(16);
    expect(c.decrypt(1, CT_APPDATA, TLS12, seal12Cbc(p, k, 1, CT_APPDATA, TLS12, msg, { etm: false, explicitIv: iv() }).body)).toEqual(ok(CT_APPDATA, msg));
    expect(c.decrypt(1, CT_APPDATA, TLS12, seal12Cbc(p, k, 1, CT_APPDATA, TLS12, msg, { etm: false, explicitIv: iv(), corruptMac: true }).body)).toEqual(fail('auth'));
    const padded = (padLen: number, corruptPadding = false) => seal12Cbc(p, k, 1, CT_APPDATA, TLS12, msg, { etm: false, explicitIv: iv(), padLen, corruptPadding }).body;
    // content + MAC + padding + padding_length fill whole blocks with the least padding `base`, or base + 16n up to 255
    const base = (16 - ((msg.length + 20 + 1) % 16)) % 16;
    expect(c.decrypt(1, CT_APPDATA, TLS12, padded(base + 16 * 15))).toEqual(ok(CT_APPDATA, msg));
    expect(c.decrypt(1, CT_APPDATA, TLS12, padded(base + 16, true))).toEqual(fail('padding'));
    expect(c.decrypt(2, CT_APPDATA, TLS12, seal12Cbc(p, k, 1, CT_APPDATA, TLS12, msg, { etm: false, explicitIv: iv() }).body)).toEqual(fail('auth'));
  });

  it('MAC-then-encrypt: a padding_length pointing past the MAC is "padding"; bad lengths are "length"', () => {
    const c = tls12Cipher(p, k, { encryptThenMac: false, version: TLS12 });
    // one block of 0x0f octets after the IV: padding_length 15 leaves no room for a 20-octet MAC
    const enc = createCipheriv('aes-128-cbc', k.key, Buffer.alloc(16)).setAutoPadding(false);
    const body = Buffer.concat([Buffer.alloc(16), enc.update(Buffer.alloc(32, 0x0f)), enc.final()]);
    expect(c.decrypt(0, CT_APPDATA, TLS12, body)).toEqual(fail('padding'));
    expect(c.decrypt(0, CT_APPDATA, TLS12, new Uint8Array(16 + 17))).toEqual(fail('length')); // not whole blocks
    expect(c.decrypt(0, CT_APPDATA, TLS12, new Uint8Array(16 + 16))).toEqual(fail('length')); // < MAC + 1
    expect(c.decrypt(0, CT_APPDATA, TLS12, new Uint8Array(16))).toEqual(fail('length'));
    expect(c.decrypt(0, CT_APPDATA, TLS12, new Uint8Array(MAX_TLS12_CIPHERTEXT + 16))).toEqual(fail('length'));
  });

  it('encrypt-then-MAC: the MAC covers IV and ciphertext and is checked first; bad padding under a good MAC is "padding"', () => {
    const c = tls12Cipher(p, k, { encryptThenMac: true, version: TLS12 });
    const good = seal12Cbc(p, k, 4, CT_APPDATA, TLS12, msg, { etm: true, explicitIv: randomBytes(16) }).body;
    expect(c.decrypt(4, CT_APPDATA, TLS12, good)).toEqual(ok(CT_APPDATA, msg));
    const t = Buffer.from(good);
    t[3] ^= 1; // inside the explicit IV: would only change the first plaintext block, but the MAC covers it
    expect(c.decrypt(4, CT_APPDATA, TLS12, t)).toEqual(fail('auth'));
    expect(c.decrypt(5, CT_APPDATA, TLS12, good)).toEqual(fail('auth'));
    expect(c.decrypt(4, CT_APPDATA, TLS12, seal12Cbc(p, k, 4, CT_APPDATA, TLS12, msg, { etm: true, explicitIv: randomBytes(16), corruptMac: true }).body)).toEqual(fail('auth'));
    expect(c.decrypt(4, CT_APPDATA, TLS12, seal12Cbc(p, k, 4, CT_APPDATA, TLS12, msg, { etm: true, explicitIv: randomBytes(16), padLen: ((16 - ((msg.length + 1) % 16)) % 16) + 16, corruptPadding: true }).body)).toEqual(fail('padding'));
    // an EtM record given to a MAC-then-encrypt cipher, and the other way round, does not decrypt
    expect(tls12Cipher(p, k, { encryptThenMac: false, version: TLS12 }).decrypt(4, CT_APPDATA, TLS12, good).ok).toBe(false);
    const mte = seal12Cbc(p, k, 4, CT_APPDATA, TLS12, msg, { etm: false, explicitIv: randomBytes(16) }).body;
    expect(c.decrypt(4, CT_APPDATA, TLS12, mte).ok).toBe(false);
    expect(c.decrypt(4, CT_APPDATA, TLS12, good.subarray(0, 16 + 20 + 15))).toEqual(fail('length'));
  });

  for (const etm of [false, true]) {
    it(`TLS 1.0 implicit IV chain (${etm ? 'encrypt-then-MAC' : 'MAC-then-encrypt'}): in order, retried at several sequence numbers, and after a lost record`, () => {
      const kb10 = tls12KeyBlock(p, randomBytes(48), randomBytes(32), randomBytes(32), TLS10);
      const k10 = { key: kb10.serverKey, iv: kb10.serverIv, macKey: kb10.serverMacKey };
      const msgs = [0, 1, 2, 3, 4].map((i) => Buffer.from(`record ${i} `.repeat(i * 7 + 1)));
      let chain: Uint8Array = k10.iv;
      const bodies = msgs.map((m, seq) => {
        const r = seal12Cbc(p, k10, seq, CT_APPDATA, TLS10, m, { etm, explicitIv: null, chainIv: chain });
        chain = r.last;
        return r.body;
      });
      const c = tls12Cipher(p, k10, { encryptThenMac: etm, version: TLS10 });
      expect(c.decrypt(0, CT_APPDATA, TLS10, bodies[0])).toEqual(ok(CT_APPDATA, msgs[0]));
      // the session's resynchronisation tries seq, seq+1, …: the same record keeps its IV
      expect(c.decrypt(0, CT_APPDATA, TLS10, bodies[1])).toEqual(fail('auth'));
      expect(c.decrypt(1, CT_APPDATA, TLS10, bodies[1])).toEqual(ok(CT_APPDATA, msgs[1]));
      // record 2 is lost: record 3's first block cannot decrypt, record 4 is fine again
      expect(c.decrypt(3, CT_APPDATA, TLS10, bodies[3]).ok).toBe(false);
      expect(c.decrypt(4, CT_APPDATA, TLS10, bodies[4])).toEqual(ok(CT_APPDATA, msgs[4]));
    });
  }

  it('3DES-EDE-CBC (8-octet blocks), TLS 1.1 explicit IV', () => {
    const q = params(0x000a);
    const kb3 = tls12KeyBlock(q, randomBytes(48), randomBytes(32), randomBytes(32), TLS11);
    const k3 = { key: kb3.clientKey, iv: kb3.clientIv, macKey: kb3.clientMacKey };
    const body = seal12Cbc(q, k3, 0, CT_HANDSHAKE, TLS11, msg, { etm: false, explicitIv: randomBytes(8) }).body;
    expect(body.length % 8).toBe(0);
    expect(tls12Cipher(q, k3, { encryptThenMac: false, version: TLS11 }).decrypt(0, CT_HANDSHAKE, TLS11, body)).toEqual(ok(CT_HANDSHAKE, msg));
  });
});

describe('PRFs and the key block', () => {
  it('TLS 1.2 PRF with SHA-256 and SHA-384: the IETF TLS WG test vectors (msg03416)', () => {
    expect(Buffer.from(tls12Prf('sha256', h('9bbe436ba940f017b17652849a71db35'), 'test label', h('a0ba9f936cda311827a6f796ffd5198c'), 100)).toString('hex')).toBe(
      'e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab' +
        '4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66',
    );
    expect(Buffer.from(tls12Prf('sha384', h('b80b733d6ceefcdc71566ea48e5567df'), 'test label', h('cd665cf6a8447dd6ff8b27555edb7465'), 148)).toString('hex')).toBe(
      '7b0c18e9ced410ed1804f2cfa34a336a1c14dffb4900bb5fd7942107e81c83cde9ca0faa60be9fe34f82b1233c9146a0e534cb400fed2700884f9dc236f80edd' +
        '8bfa961144c9e8d792eca722a7b32fc3d416d473ebc2c5fd4abfdad05d9184259b5bf8cd4d90fa0d31e2dec479e4f1a26066f2eea9a69236a3e52655c9e9aee6' +
        '91c8f3a26854308d5eaa3be85e0990703d73e56f',
    );
  });

  it('TLS 1.0 PRF (MD5 XOR SHA-1, RFC 2246 §5), even and odd secret lengths: values from `openssl kdf … digest:MD5-SHA1 TLS1-PRF`', () => {
    expect(Buffer.from(tls10Prf(Buffer.from('secret'), 'label', Buffer.from('seed'), 20)).toString('hex')).toBe('b5baf4722b91851a8816d22ebd8c1d8cc2e94d55');
    const odd = h('0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223242526272829'); // 41 octets: halves overlap
    expect(Buffer.from(tls10Prf(odd, 'test label', h('a0ba9f936cda311827a6f796ffd5198c'), 48)).toString('hex')).toBe(
      '12aef76db75eeb99f0836451195f543a78b3c487778c60174faecf73472eac5aec3feb39755db308d392f5e3d4c45502',
    );
  });

  it('key block: client then server MAC keys, write keys, IVs (RFC 5246 §6.3), seeded with server_random + client_random', () => {
    const p = params(0xc014); // AES_256_CBC_SHA: 20 + 32 + 16 per side
    const ms = randomBytes(48);
    const cr = randomBytes(32);
    const sr = randomBytes(32);
    const block = Buffer.from(tls12Prf('sha256', ms, 'key expansion', Buffer.concat([sr, cr]), 136));
    const kb = tls12KeyBlock(p, ms, cr, sr);
    const cut = [kb.clientMacKey, kb.serverMacKey, kb.clientKey, kb.serverKey, kb.clientIv, kb.serverIv].map((x) => Buffer.from(x).toString('hex'));
    expect(cut).toEqual([block.subarray(0, 20), block.subarray(20, 40), block.subarray(40, 72), block.subarray(72, 104), block.subarray(104, 120), block.subarray(120, 136)].map((x) => x.toString('hex')));
    const g = tls12KeyBlock(params(0xc02f), ms, cr, sr);
    expect([g.clientMacKey.length, g.clientKey.length, g.clientIv.length]).toEqual([0, 16, 4]);
  });
});

// --------------------------------------------------------------------------------------------
// Real sessions: node:tls (OpenSSL) on loopback through a recording proxy.

// A throwaway P-256 key and self-signed certificate for the test server (made with
// `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=wirefall\ test`).
const KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgsx2TvXSVib18l7DB
bRhKd3QGiFapI71OXh5H1pK9ybWhRANCAARpyGK/75pi7l4KHbbJI8HmhRSlPnNp
a/4k5TqnLvozS1lG+G9tCaPuCDE37XS3D7B5Iuparu+c3rfY8gpg9go4
-----END PRIVATE KEY-----
`;
const CERT = `-----BEGIN CERTIFICATE-----
MIIBozCCAUmgAwIBAgIUZHFMjJ9glEsRNmbIRnvMw46cVmowCgYIKoZIzj0EAwIw
GDEWMBQGA1UEAwwNd2lyZWZhbGwgdGVzdDAgFw0yNjEyMDQxMzM5MzZaGA8yMTI2
MTExMDEzMzkzNlowGDEWMBQGA1UEAwwNd2lyZWZhbGwgdGVzdDBZMBMGByqGSM49
AgEGCCqGSM49AwEHA0IABGnIYr/vmmLuXgodtskjweaFFKU+c2lr/iTlOqcu+jNL
WUb4b20Jo+4IMTftdLcPsHki6lqu75zet9jyCmD2CjijbzBtMB0GA1UdDgQWBBSb
W8Gi4yWibhhR4s57/y5qGWtjbDAfBgNVHSMEGDAWgBSbW8Gi4yWibhhR4s57/y5q
GWtjbDAPBgNVHRMBAf8EBTADAQH/MBoGA1UdEQQTMBGCCWxvY2FsaG9zdIcEfwAA
ATAKBggqhkjOPQQDAgNIADBFAiEA6ncnPLRmNDDW+TjrRKb5vCjEgGOey9Z6r5Dx
RGQgFEACICrxItKt1BfZItEBVtjx6RyTRJzYsoFAjvGQfcBTO4BC
-----END CERTIFICATE-----
`;

interface SessionConfig {
  version: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  ciphers: string;
  noEtm?: boolean;
}
interface Captured {
  c2s: Buffer;
  s2c: Buffer;
  keylog: Buffer;
  clientData: Buffer;
  serverData: Buffer;
}

/** Client sends clientData; the server answers serverData once it has all of it; both then close. */
async function capture(cfg: SessionConfig): Promise<Captured> {
  const clientData = randomBytes(40_000);
  const serverData = randomBytes(70_000);
  const c2s: Buffer[] = [];
  const s2c: Buffer[] = [];
  const keylog: Buffer[] = [];
  const ciphers = cfg.version === 'TLSv1.3' ? cfg.ciphers : `${cfg.ciphers}:@SECLEVEL=0`;
  const secureOptions = cfg.noEtm ? cryptoConstants.SSL_OP_NO_ENCRYPT_THEN_MAC : 0;
  const common = { minVersion: cfg.version, maxVersion: cfg.version, ciphers, secureOptions } as const;
  const server = tls.createServer({ key: KEY, cert: CERT, ...common }, (s) => {
    let got = 0;
    s.on('data', (d: Buffer) => {
      got += d.length;
      if (got === clientData.length) s.end(serverData);
    });
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const closed: Promise<void>[] = [];
  const proxy = net.createServer((down) => {
    const up = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    down.on('data', (d) => (c2s.push(d), up.write(d)));
    up.on('data', (d) => (s2c.push(d), down.write(d)));
    down.on('end', () => up.end());
    up.on('end', () => down.end());
    closed.push(new Promise((r) => down.on('close', () => r())), new Promise((r) => up.on('close', () => r())));
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  try {
    await new Promise<void>((resolve, reject) => {
      const c = tls.connect({ host: '127.0.0.1', port: (proxy.address() as net.AddressInfo).port, servername: 'localhost', rejectUnauthorized: false, ...common });
      c.on('keylog', (line: Buffer) => keylog.push(line));
      c.on('error', reject);
      let got = 0;
      c.on('data', (d: Buffer) => {
        got += d.length;
        if (got === serverData.length) c.end();
      });
      c.on('secureConnect', () => c.write(clientData));
      c.on('close', () => resolve());
    });
    await Promise.all(closed);
  } finally {
    proxy.close();
    server.close();
  }
  return { c2s: Buffer.concat(c2s), s2c: Buffer.concat(s2c), keylog: Buffer.concat(keylog), clientData, serverData };
}

interface Rec {
  type: number;
  version: number;
  body: Buffer;
}
function records(stream: Buffer): Rec[] {
  const out: Rec[] = [];
  for (let off = 0; off < stream.length; ) {
    const len = stream.readUInt16BE(off + 3);
    out.push({ type: stream[off], version: stream.readUInt16BE(off + 1), body: stream.subarray(off + 5, off + 5 + len) });
    off += 5 + len;
  }
  return out;
}

/** The facts of the (unencrypted) ServerHello this test needs. */
function serverHello(rec: Rec): { version: number; random: Buffer; suite: number; etm: boolean } {
  const b = rec.body;
  expect(b[0]).toBe(2);
  let version = b.readUInt16BE(4);
  const random = b.subarray(6, 38);
  let off = 38 + 1 + b[38];
  const suite = b.readUInt16BE(off);
  off += 3;
  let etm = false;
  const end = 4 + b.readUIntBE(1, 3);
  if (off < end) {
    const extEnd = off + 2 + b.readUInt16BE(off);
    for (off += 2; off < extEnd; ) {
      const type = b.readUInt16BE(off);
      const len = b.readUInt16BE(off + 2);
      if (type === 0x0016) etm = true; // encrypt_then_mac (RFC 7366 §2)
      if (type === 0x002b) version = b.readUInt16BE(off + 4); // supported_versions (RFC 8446 §4.2.1)
      off += 4 + len;
    }
  }
  return { version, random, suite, etm };
}

interface Decrypted {
  appData: Buffer;
  types: number[];
  failures: number;
  lastAlert: string;
}

/** Decrypts one direction; `ciphers` yields the next cipher when the current epoch ends. */
function decryptDirection(recs: Rec[], start: (r: Rec) => boolean, first: RecordCipher, next: RecordCipher | null, switchAfter: (type: number, data: Uint8Array) => boolean): Decrypted {
  const app: Buffer[] = [];
  const types: number[] = [];
  let failures = 0;
  let lastAlert = '';
  let cipher = first;
  let seq = 0;
  let on = false;
  for (const r of recs) {
    if (!on) {
      on = start(r);
      continue;
    }
    if (r.type === CT_CCS) continue; // TLS 1.3 middlebox compatibility (RFC 8446 §D.4)
    const res = cipher.decrypt(seq++, r.type, r.version, r.body);
    if (!res.ok) {
      failures++;
      continue;
    }
    types.push(res.type);
    if (res.type === CT_APPDATA) app.push(Buffer.from(res.data));
    if (res.type === CT_ALERT) lastAlert = Buffer.from(res.data).toString('hex');
    if (next && switchAfter(res.type, res.data)) {
      cipher = next;
      next = null;
      seq = 0;
    }
  }
  return { appData: Buffer.concat(app), types, failures, lastAlert };
}

/** The handshake carries a Finished message (type 20) — TLS 1.3: the end of the handshake epoch. */
function hasFinished(data: Uint8Array): boolean {
  for (let off = 0; off + 4 <= data.length; off += 4 + ((data[off + 1] << 16) | (data[off + 2] << 8) | data[off + 3])) if (data[off] === 20) return true;
  return false;
}

function decryptSession(s: Captured): { suite: number; version: number; etm: boolean; client: Decrypted; server: Decrypted } {
  const keys = new KeyLog();
  const st = keys.addText(s.keylog);
  expect(st.garbage).toBe(0);
  const cr = records(s.c2s);
  const sr = records(s.s2c);
  const clientRandom = cr[0].body.subarray(6, 38);
  const sh = serverHello(sr[0]);
  const p = params(sh.suite);
  const secret = (label: Parameters<KeyLog['get']>[0]) => {
    const x = keys.get(label, clientRandom);
    expect(x, label).toBeDefined();
    return x as Uint8Array;
  };
  if (sh.version === 0x0304) {
    expect(p.tls13).toBe(true);
    const switchOnFinished = (type: number, data: Uint8Array) => type === CT_HANDSHAKE && hasFinished(data);
    // the server's protected records start after its ServerHello, the client's after its ClientHello
    const server = decryptDirection(sr, (r) => r.type === CT_HANDSHAKE, tls13Cipher(p, secret('SERVER_HANDSHAKE_TRAFFIC_SECRET')), tls13Cipher(p, secret('SERVER_TRAFFIC_SECRET_0')), switchOnFinished);
    const client = decryptDirection(cr, (r) => r.type === CT_HANDSHAKE, tls13Cipher(p, secret('CLIENT_HANDSHAKE_TRAFFIC_SECRET')), tls13Cipher(p, secret('CLIENT_TRAFFIC_SECRET_0')), switchOnFinished);
    return { suite: sh.suite, version: sh.version, etm: false, client, server };
  }
  const kb = tls12KeyBlock(p, secret('CLIENT_RANDOM'), clientRandom, sh.random, sh.version);
  const opts = { encryptThenMac: sh.etm && p.mode === 'cbc', version: sh.version };
  const afterCcs = (r: Rec) => r.type === CT_CCS;
  const never = () => false;
  const client = decryptDirection(cr, afterCcs, tls12Cipher(p, { key: kb.clientKey, iv: kb.clientIv, macKey: kb.clientMacKey }, opts), null, never);
  const server = decryptDirection(sr, afterCcs, tls12Cipher(p, { key: kb.serverKey, iv: kb.serverIv, macKey: kb.serverMacKey }, opts), null, never);
  return { suite: sh.suite, version: sh.version, etm: opts.encryptThenMac, client, server };
}

describe('real sessions: node:tls (OpenSSL) through a recording proxy, decrypted with its key log', () => {
  const cases: (SessionConfig & { suite: number; etm?: boolean })[] = [
    { version: 'TLSv1.3', ciphers: 'TLS_AES_128_GCM_SHA256', suite: 0x1301 },
    { version: 'TLSv1.3', ciphers: 'TLS_AES_256_GCM_SHA384', suite: 0x1302 },
    { version: 'TLSv1.3', ciphers: 'TLS_CHACHA20_POLY1305_SHA256', suite: 0x1303 },
    { version: 'TLSv1.3', ciphers: 'TLS_AES_128_CCM_SHA256', suite: 0x1304 },
    { version: 'TLSv1.3', ciphers: 'TLS_AES_128_CCM_8_SHA256', suite: 0x1305 },
    { version: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256', suite: 0xc02b },
    { version: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES256-GCM-SHA384', suite: 0xc02c },
    { version: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-CHACHA20-POLY1305', suite: 0xcca9 },
    { version: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-CCM', suite: 0xc0ac },
    { version: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES256-CCM8', suite: 0xc0af },
    { version: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-ARIA128-GCM-SHA256', suite: 0xc05c },
    { version: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA', suite: 0xc009, etm: true },
    { version: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA', suite: 0xc009, noEtm: true, etm: false },
    { version: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA256', suite: 0xc023, etm: true },
    { version: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES256-SHA384', suite: 0xc024, noEtm: true, etm: false },
    { version: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-CAMELLIA256-SHA384', suite: 0xc073, etm: true },
    { version: 'TLSv1.1', ciphers: 'ECDHE-ECDSA-AES256-SHA', suite: 0xc00a, etm: true },
    { version: 'TLSv1.1', ciphers: 'ECDHE-ECDSA-AES256-SHA', suite: 0xc00a, noEtm: true, etm: false },
    { version: 'TLSv1', ciphers: 'ECDHE-ECDSA-AES128-SHA', suite: 0xc009, etm: true },
    { version: 'TLSv1', ciphers: 'ECDHE-ECDSA-AES128-SHA', suite: 0xc009, noEtm: true, etm: false },
  ];
  for (const cfg of cases) {
    const etmNote = cfg.etm === undefined ? '' : cfg.etm ? ', encrypt-then-MAC' : ', MAC-then-encrypt';
    it(`${cfg.version} ${suiteName(cfg.suite)}${etmNote}`, async () => {
      const s = await capture(cfg);
      const d = decryptSession(s);
      expect(d.suite).toBe(cfg.suite);
      expect(d.etm).toBe(cfg.etm ?? false);
      for (const [side, dir, sent] of [
        ['client', d.client, s.clientData],
        ['server', d.server, s.serverData],
      ] as const) {
        expect([side, dir.failures]).toEqual([side, 0]);
        expect(dir.appData.length, side).toBe(sent.length);
        expect(dir.appData.equals(sent), side).toBe(true);
        expect([side, dir.lastAlert]).toEqual([side, '0100']); // close_notify
        expect(dir.types[0], side).toBe(CT_HANDSHAKE); // Finished first (TLS 1.2) / EE or Finished (TLS 1.3)
      }
    });
  }
});

describe('a real capture: samples/tls/nginx-h2-tls13.pcap (HTTP/2 over TLS 1.3 to nginx) with the key log its client wrote', () => {
  const pcap = sample('tls/nginx-h2-tls13.pcap');
  it.skipIf(!existsSync(pcap))('every protected record of both directions decrypts; the plaintext is HTTP/2', async () => {
    const [conn] = readFixture(pcap);
    const side = (s: 'client' | 'server') => Buffer.concat(conn.events.filter((e) => e.side === s).map((e) => Buffer.from(e.chunk.data)));
    const keylog = readFileSync(sample('tls/nginx-h2-tls13.keys'));
    const d = decryptSession({ c2s: side('client'), s2c: side('server'), keylog, clientData: Buffer.alloc(0), serverData: Buffer.alloc(0) });
    expect([d.version, d.suite]).toEqual([0x0304, 0x1301]);
    expect([d.client.failures, d.server.failures]).toEqual([0, 0]);
    expect(d.client.appData.subarray(0, 24).toString('latin1')).toBe('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'); // RFC 9113 §3.4
    expect(d.server.appData[3]).toBe(4); // the server's first frame is SETTINGS (RFC 9113 §3.4)
    expect(d.server.types.filter((t) => t === CT_HANDSHAKE).length).toBeGreaterThanOrEqual(2); // EE…Finished, NewSessionTickets
  });
});

// --------------------------------------------------------------------------------------------

describe('suite names agree with tshark (tls.handshake.ciphersuite) for all 65536 values', () => {
  const present = hasTshark();
  it.skipIf(!present)('every value: registry name, "Unknown (0x….)", GREASE', () => {
    // ClientHellos offering 4096 suites each, in TCP segments to port 443 (LINKTYPE_RAW IPv4).
    const pkts = [];
    for (let start = 0; start < 0x10000; start += 4096) {
      const body: number[] = [3, 3, ...new Array(32).fill(7), 0, (4096 * 2) >> 8, 0];
      for (let id = start; id < start + 4096; id++) body.push(id >> 8, id & 0xff);
      body.push(1, 0, 0, 0);
      const hs = [1, 0, body.length >> 8, body.length & 0xff, ...body];
      const payload = Buffer.from([22, 3, 1, hs.length >> 8, hs.length & 0xff, ...hs]);
      const tcp = Buffer.alloc(20);
      tcp.writeUInt16BE(40000 + start / 4096, 0);
      tcp.writeUInt16BE(443, 2);
      tcp.writeUInt32BE(1, 4);
      tcp[12] = 0x50;
      tcp[13] = 0x18;
      tcp.writeUInt16BE(65535, 14);
      const ip = Buffer.alloc(20);
      ip[0] = 0x45;
      ip.writeUInt16BE(40 + payload.length, 2);
      ip[8] = 64;
      ip[9] = 6;
      ip.set([10, 0, 0, 1], 12);
      ip.set([10, 0, 0, 2], 16);
      const data = Buffer.concat([ip, tcp, payload]);
      pkts.push({ sec: 1, ns: start, data, origLen: data.length });
    }
    const dir = mkdtempSync(join(tmpdir(), 'wf-suites-'));
    try {
      const file = join(dir, 'suites.pcap');
      writeFileSync(file, writePcap(pkts, { le: true, nano: false, linkType: 101 }));
      const out = execFileSync('tshark', ['-r', file, '-n', '-o', 'tcp.check_checksum:FALSE', '-V', '-Y', 'tls'], { encoding: 'utf8', maxBuffer: 1 << 28 });
      const shown = [...out.matchAll(/^\s+Cipher Suite: (.*) \((0x[0-9a-f]{4})\)$/gm)];
      expect(shown.length).toBe(0x10000);
      const mismatches: string[] = [];
      for (const [, name, idHex] of shown) {
        const id = Number(idHex);
        // tshark shows GREASE as "Reserved (GREASE)"; wirefall's spelling is "GREASE (0x0a0a)" by design.
        const expected = isGrease(id) ? `GREASE (${idHex})` : name === 'Unknown' ? `Unknown (${idHex})` : name;
        if (isGrease(id)) expect(name).toBe('Reserved (GREASE)');
        if (suiteName(id) !== expected) mismatches.push(`${idHex}: ${suiteName(id)} vs tshark ${name}`);
      }
      expect(mismatches).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
