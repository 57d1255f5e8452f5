/**
 * Cipher suite registry: display names for every TLS cipher suite value, and the record-protection
 * parameters of the suites wirefall can decrypt.
 *
 * Names: exactly the table of the reference peer, Wireshark's `ssl_31_ciphersuite`
 * (epan/dissectors/packet-tls-utils.c) as shown by tshark 4.0.17 in `tls.handshake.ciphersuite`,
 * which follows the IANA "TLS Cipher Suites" registry
 * (https://www.iana.org/assignments/tls-parameters/, RFC 8447 §8) and keeps a few pre-IANA and
 * private values (SSL_FORTEZZA_*, SSL_RSA_FIPS_*, the draft ChaCha20 values 0xcc13–0xcc15, the
 * GM/T SM1/SM4 and eSTREAM Salsa20 suites). The table was extracted by letting that tshark dissect
 * ClientHellos offering all 65536 values. Registry entries newer than that table (TLS_AEGIS_256_SHA512
 * 0x1306 and TLS_AEGIS_128L_SHA256 0x1307, draft-irtf-cfrg-aegis-aead) are deliberately left out so
 * that names agree with the tshark the tests compare against.
 * Differences from tshark's display, both as specified for wirefall:
 *  - GREASE values (RFC 8701 §2: 0x0a0a, 0x1a1a, … 0xfafa) are 'GREASE (0x0a0a)' (tshark: 'Reserved (GREASE)');
 *  - unknown values are 'Unknown (0x1234)', four lowercase hex digits (tshark prints the same text).
 *
 * Parameters (`suiteParams`): derived from the suite names, for the bulk ciphers node:crypto on this
 * machine provides (checked with `getCiphers()` at load): AES-128/256-GCM (RFC 5288, RFC 5289,
 * RFC 5487, RFC 8442), AES-128/256-CCM and CCM_8 (RFC 6655, RFC 7251, RFC 8442), ChaCha20-Poly1305
 * (RFC 7905), ARIA-128/256-GCM (RFC 6209), and in CBC mode AES, ARIA, Camellia and 3DES-EDE with
 * HMAC-SHA1/SHA256/SHA384 (RFC 5246, RFC 5289, RFC 6209, RFC 5932, RFC 6367); and the five TLS 1.3
 * suites (RFC 8446 §B.4). Not decryptable: NULL, RC4, DES, IDEA, SEED, export and GOST suites,
 * Camellia-GCM (not in OpenSSL), the pre-RFC ChaCha20 values 0xcc13–0xcc15 (different AEAD
 * construction), SM4, and names starting SSL_ (SSL 3.0 era).
 */
import { getCiphers } from 'node:crypto';

export interface SuiteParams {
  id: number;
  name: string;
  /** A TLS 1.3 suite (RFC 8446 §B.4): keys from traffic secrets, TLSInnerPlaintext. */
  tls13: boolean;
  mode: 'gcm' | 'ccm' | 'ccm8' | 'chacha20' | 'cbc';
  /** node:crypto cipher name, e.g. 'aes-128-gcm', 'aes-256-cbc', 'chacha20-poly1305', 'aes-128-ccm'. */
  cipher: string;
  /** Encryption key length in octets. */
  keyLen: number;
  /**
   * IV octets taken from the key block (TLS ≤ 1.2) or derived (TLS 1.3): 12 for TLS 1.3 and
   * ChaCha20 (RFC 8446 §5.3, RFC 7905 §2); 4 for TLS 1.2 GCM/CCM, the salt (RFC 5288 §3, RFC 6655 §3);
   * the block length for CBC (16, or 8 for 3DES), used only by TLS 1.0's implicit IV.
   */
  fixedIvLen: number;
  /** HMAC hash of CBC suites (RFC 5246 §6.2.3.2); null for AEAD suites. */
  macHash: 'sha1' | 'sha256' | 'sha384' | null;
  /** MAC length in octets (20, 32, 48), 0 for AEAD suites. */
  macLen: number;
  /** TLS 1.2 PRF hash (RFC 5246 §5, RFC 5289 §3.2) and TLS 1.3 HKDF hash (RFC 8446 §7.1). */
  prfHash: 'sha256' | 'sha384';
  /** AEAD tag length in octets (16, or 8 for CCM_8); 0 for CBC. */
  tagLen: number;
  /** Cipher block length for CBC suites (16, or 8 for 3DES); 0 for AEAD suites. */
  blockLen: number;
}

/** GREASE cipher suite values (RFC 8701 §2): both octets 0x?A and equal. */
export function isGrease(id: number): boolean {
  return (id & 0x0f0f) === 0x0a0a && id >> 8 === (id & 0xff);
}

const hex4 = (id: number): string => id.toString(16).padStart(4, '0');

/** Display name of a cipher suite value (see the module comment for the exact spelling rules). */
export function suiteName(id: number): string {
  const n = NAMES.get(id);
  if (n !== undefined) return n;
  if (isGrease(id)) return `GREASE (0x${hex4(id)})`;
  return `Unknown (0x${hex4(id & 0xffff)})`;
}

/** Record-protection parameters, or undefined when wirefall cannot decrypt this suite. */
export function suiteParams(id: number): SuiteParams | undefined {
  return PARAMS.get(id);
}

/** Every decryptable suite value, ascending. */
export function decryptableSuites(): number[] {
  return [...PARAMS.keys()].sort((a, b) => a - b);
}

// Wireshark 4.0.17's table (GREASE entries are computed by isGrease).
const TABLE: readonly (readonly [number, string])[] = [
  [0x0000, 'TLS_NULL_WITH_NULL_NULL'],
  [0x0001, 'TLS_RSA_WITH_NULL_MD5'],
  [0x0002, 'TLS_RSA_WITH_NULL_SHA'],
  [0x0003, 'TLS_RSA_EXPORT_WITH_RC4_40_MD5'],
  [0x0004, 'TLS_RSA_WITH_RC4_128_MD5'],
  [0x0005, 'TLS_RSA_WITH_RC4_128_SHA'],
  [0x0006, 'TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5'],
  [0x0007, 'TLS_RSA_WITH_IDEA_CBC_SHA'],
  [0x0008, 'TLS_RSA_EXPORT_WITH_DES40_CBC_SHA'],
  [0x0009, 'TLS_RSA_WITH_DES_CBC_SHA'],
  [0x000a, 'TLS_RSA_WITH_3DES_EDE_CBC_SHA'],
  [0x000b, 'TLS_DH_DSS_EXPORT_WITH_DES40_CBC_SHA'],
  [0x000c, 'TLS_DH_DSS_WITH_DES_CBC_SHA'],
  [0x000d, 'TLS_DH_DSS_WITH_3DES_EDE_CBC_SHA'],
  [0x000e, 'TLS_DH_RSA_EXPORT_WITH_DES40_CBC_SHA'],
  [0x000f, 'TLS_DH_RSA_WITH_DES_CBC_SHA'],
  [0x0010, 'TLS_DH_RSA_WITH_3DES_EDE_CBC_SHA'],
  [0x0011, 'TLS_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA'],
  [0x0012, 'TLS_DHE_DSS_WITH_DES_CBC_SHA'],
  [0x0013, 'TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA'],
  [0x0014, 'TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA'],
  [0x0015, 'TLS_DHE_RSA_WITH_DES_CBC_SHA'],
  [0x0016, 'TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA'],
  [0x0017, 'TLS_DH_anon_EXPORT_WITH_RC4_40_MD5'],
  [0x0018, 'TLS_DH_anon_WITH_RC4_128_MD5'],
  [0x0019, 'TLS_DH_anon_EXPORT_WITH_DES40_CBC_SHA'],
  [0x001a, 'TLS_DH_anon_WITH_DES_CBC_SHA'],
  [0x001b, 'TLS_DH_anon_WITH_3DES_EDE_CBC_SHA'],
  [0x001c, 'SSL_FORTEZZA_KEA_WITH_NULL_SHA'],
  [0x001d, 'SSL_FORTEZZA_KEA_WITH_FORTEZZA_CBC_SHA'],
  [0x001e, 'TLS_KRB5_WITH_DES_CBC_SHA'],
  [0x001f, 'TLS_KRB5_WITH_3DES_EDE_CBC_SHA'],
  [0x0020, 'TLS_KRB5_WITH_RC4_128_SHA'],
  [0x0021, 'TLS_KRB5_WITH_IDEA_CBC_SHA'],
  [0x0022, 'TLS_KRB5_WITH_DES_CBC_MD5'],
  [0x0023, 'TLS_KRB5_WITH_3DES_EDE_CBC_MD5'],
  [0x0024, 'TLS_KRB5_WITH_RC4_128_MD5'],
  [0x0025, 'TLS_KRB5_WITH_IDEA_CBC_MD5'],
  [0x0026, 'TLS_KRB5_EXPORT_WITH_DES_CBC_40_SHA'],
  [0x0027, 'TLS_KRB5_EXPORT_WITH_RC2_CBC_40_SHA'],
  [0x0028, 'TLS_KRB5_EXPORT_WITH_RC4_40_SHA'],
  [0x0029, 'TLS_KRB5_EXPORT_WITH_DES_CBC_40_MD5'],
  [0x002a, 'TLS_KRB5_EXPORT_WITH_RC2_CBC_40_MD5'],
  [0x002b, 'TLS_KRB5_EXPORT_WITH_RC4_40_MD5'],
  [0x002c, 'TLS_PSK_WITH_NULL_SHA'],
  [0x002d, 'TLS_DHE_PSK_WITH_NULL_SHA'],
  [0x002e, 'TLS_RSA_PSK_WITH_NULL_SHA'],
  [0x002f, 'TLS_RSA_WITH_AES_128_CBC_SHA'],
  [0x0030, 'TLS_DH_DSS_WITH_AES_128_CBC_SHA'],
  [0x0031, 'TLS_DH_RSA_WITH_AES_128_CBC_SHA'],
  [0x0032, 'TLS_DHE_DSS_WITH_AES_128_CBC_SHA'],
  [0x0033, 'TLS_DHE_RSA_WITH_AES_128_CBC_SHA'],
  [0x0034, 'TLS_DH_anon_WITH_AES_128_CBC_SHA'],
  [0x0035, 'TLS_RSA_WITH_AES_256_CBC_SHA'],
  [0x0036, 'TLS_DH_DSS_WITH_AES_256_CBC_SHA'],
  [0x0037, 'TLS_DH_RSA_WITH_AES_256_CBC_SHA'],
  [0x0038, 'TLS_DHE_DSS_WITH_AES_256_CBC_SHA'],
  [0x0039, 'TLS_DHE_RSA_WITH_AES_256_CBC_SHA'],
  [0x003a, 'TLS_DH_anon_WITH_AES_256_CBC_SHA'],
  [0x003b, 'TLS_RSA_WITH_NULL_SHA256'],
  [0x003c, 'TLS_RSA_WITH_AES_128_CBC_SHA256'],
  [0x003d, 'TLS_RSA_WITH_AES_256_CBC_SHA256'],
  [0x003e, 'TLS_DH_DSS_WITH_AES_128_CBC_SHA256'],
  [0x003f, 'TLS_DH_RSA_WITH_AES_128_CBC_SHA256'],
  [0x0040, 'TLS_DHE_DSS_WITH_AES_128_CBC_SHA256'],
  [0x0041, 'TLS_RSA_WITH_CAMELLIA_128_CBC_SHA'],
  [0x0042, 'TLS_DH_DSS_WITH_CAMELLIA_128_CBC_SHA'],
  [0x0043, 'TLS_DH_RSA_WITH_CAMELLIA_128_CBC_SHA'],
  [0x0044, 'TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA'],
  [0x0045, 'TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA'],
  [0x0046, 'TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA'],
  [0x0060, 'TLS_RSA_EXPORT1024_WITH_RC4_56_MD5'],
  [0x0061, 'TLS_RSA_EXPORT1024_WITH_RC2_CBC_56_MD5'],
  [0x0062, 'TLS_RSA_EXPORT1024_WITH_DES_CBC_SHA'],
  [0x0063, 'TLS_DHE_DSS_EXPORT1024_WITH_DES_CBC_SHA'],
  [0x0064, 'TLS_RSA_EXPORT1024_WITH_RC4_56_SHA'],
  [0x0065, 'TLS_DHE_DSS_EXPORT1024_WITH_RC4_56_SHA'],
  [0x0066, 'TLS_DHE_DSS_WITH_RC4_128_SHA'],
  [0x0067, 'TLS_DHE_RSA_WITH_AES_128_CBC_SHA256'],
  [0x0068, 'TLS_DH_DSS_WITH_AES_256_CBC_SHA256'],
  [0x0069, 'TLS_DH_RSA_WITH_AES_256_CBC_SHA256'],
  [0x006a, 'TLS_DHE_DSS_WITH_AES_256_CBC_SHA256'],
  [0x006b, 'TLS_DHE_RSA_WITH_AES_256_CBC_SHA256'],
  [0x006c, 'TLS_DH_anon_WITH_AES_128_CBC_SHA256'],
  [0x006d, 'TLS_DH_anon_WITH_AES_256_CBC_SHA256'],
  [0x0080, 'TLS_GOSTR341094_WITH_28147_CNT_IMIT'],
  [0x0081, 'TLS_GOSTR341001_WITH_28147_CNT_IMIT'],
  [0x0082, 'TLS_GOSTR341094_WITH_NULL_GOSTR3411'],
  [0x0083, 'TLS_GOSTR341001_WITH_NULL_GOSTR3411'],
  [0x0084, 'TLS_RSA_WITH_CAMELLIA_256_CBC_SHA'],
  [0x0085, 'TLS_DH_DSS_WITH_CAMELLIA_256_CBC_SHA'],
  [0x0086, 'TLS_DH_RSA_WITH_CAMELLIA_256_CBC_SHA'],
  [0x0087, 'TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA'],
  [0x0088, 'TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA'],
  [0x0089, 'TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA'],
  [0x008a, 'TLS_PSK_WITH_RC4_128_SHA'],
  [0x008b, 'TLS_PSK_WITH_3DES_EDE_CBC_SHA'],
  [0x008c, 'TLS_PSK_WITH_AES_128_CBC_SHA'],
  [0x008d, 'TLS_PSK_WITH_AES_256_CBC_SHA'],
  [0x008e, 'TLS_DHE_PSK_WITH_RC4_128_SHA'],
  [0x008f, 'TLS_DHE_PSK_WITH_3DES_EDE_CBC_SHA'],
  [0x0090, 'TLS_DHE_PSK_WITH_AES_128_CBC_SHA'],
  [0x0091, 'TLS_DHE_PSK_WITH_AES_256_CBC_SHA'],
  [0x0092, 'TLS_RSA_PSK_WITH_RC4_128_SHA'],
  [0x0093, 'TLS_RSA_PSK_WITH_3DES_EDE_CBC_SHA'],
  [0x0094, 'TLS_RSA_PSK_WITH_AES_128_CBC_SHA'],
  [0x0095, 'TLS_RSA_PSK_WITH_AES_256_CBC_SHA'],
  [0x0096, 'TLS_RSA_WITH_SEED_CBC_SHA'],
  [0x0097, 'TLS_DH_DSS_WITH_SEED_CBC_SHA'],
  [0x0098, 'TLS_DH_RSA_WITH_SEED_CBC_SHA'],
  [0x0099, 'TLS_DHE_DSS_WITH_SEED_CBC_SHA'],
  [0x009a, 'TLS_DHE_RSA_WITH_SEED_CBC_SHA'],
  [0x009b, 'TLS_DH_anon_WITH_SEED_CBC_SHA'],
  [0x009c, 'TLS_RSA_WITH_AES_128_GCM_SHA256'],
  [0x009d, 'TLS_RSA_WITH_AES_256_GCM_SHA384'],
  [0x009e, 'TLS_DHE_RSA_WITH_AES_128_GCM_SHA256'],
  [0x009f, 'TLS_DHE_RSA_WITH_AES_256_GCM_SHA384'],
  [0x00a0, 'TLS_DH_RSA_WITH_AES_128_GCM_SHA256'],
  [0x00a1, 'TLS_DH_RSA_WITH_AES_256_GCM_SHA384'],
  [0x00a2, 'TLS_DHE_DSS_WITH_AES_128_GCM_SHA256'],
  [0x00a3, 'TLS_DHE_DSS_WITH_AES_256_GCM_SHA384'],
  [0x00a4, 'TLS_DH_DSS_WITH_AES_128_GCM_SHA256'],
  [0x00a5, 'TLS_DH_DSS_WITH_AES_256_GCM_SHA384'],
  [0x00a6, 'TLS_DH_anon_WITH_AES_128_GCM_SHA256'],
  [0x00a7, 'TLS_DH_anon_WITH_AES_256_GCM_SHA384'],
  [0x00a8, 'TLS_PSK_WITH_AES_128_GCM_SHA256'],
  [0x00a9, 'TLS_PSK_WITH_AES_256_GCM_SHA384'],
  [0x00aa, 'TLS_DHE_PSK_WITH_AES_128_GCM_SHA256'],
  [0x00ab, 'TLS_DHE_PSK_WITH_AES_256_GCM_SHA384'],
  [0x00ac, 'TLS_RSA_PSK_WITH_AES_128_GCM_SHA256'],
  [0x00ad, 'TLS_RSA_PSK_WITH_AES_256_GCM_SHA384'],
  [0x00ae, 'TLS_PSK_WITH_AES_128_CBC_SHA256'],
  [0x00af, 'TLS_PSK_WITH_AES_256_CBC_SHA384'],
  [0x00b0, 'TLS_PSK_WITH_NULL_SHA256'],
  [0x00b1, 'TLS_PSK_WITH_NULL_SHA384'],
  [0x00b2, 'TLS_DHE_PSK_WITH_AES_128_CBC_SHA256'],
  [0x00b3, 'TLS_DHE_PSK_WITH_AES_256_CBC_SHA384'],
  [0x00b4, 'TLS_DHE_PSK_WITH_NULL_SHA256'],
  [0x00b5, 'TLS_DHE_PSK_WITH_NULL_SHA384'],
  [0x00b6, 'TLS_RSA_PSK_WITH_AES_128_CBC_SHA256'],
  [0x00b7, 'TLS_RSA_PSK_WITH_AES_256_CBC_SHA384'],
  [0x00b8, 'TLS_RSA_PSK_WITH_NULL_SHA256'],
  [0x00b9, 'TLS_RSA_PSK_WITH_NULL_SHA384'],
  [0x00ba, 'TLS_RSA_WITH_CAMELLIA_128_CBC_SHA256'],
  [0x00bb, 'TLS_DH_DSS_WITH_CAMELLIA_128_CBC_SHA256'],
  [0x00bc, 'TLS_DH_RSA_WITH_CAMELLIA_128_CBC_SHA256'],
  [0x00bd, 'TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA256'],
  [0x00be, 'TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA256'],
  [0x00bf, 'TLS_DH_anon_WITH_CAMELLIA_128_CBC_SHA256'],
  [0x00c0, 'TLS_RSA_WITH_CAMELLIA_256_CBC_SHA256'],
  [0x00c1, 'TLS_DH_DSS_WITH_CAMELLIA_256_CBC_SHA256'],
  [0x00c2, 'TLS_DH_RSA_WITH_CAMELLIA_256_CBC_SHA256'],
  [0x00c3, 'TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA256'],
  [0x00c4, 'TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA256'],
  [0x00c5, 'TLS_DH_anon_WITH_CAMELLIA_256_CBC_SHA256'],
  [0x00c6, 'TLS_SM4_GCM_SM3'],
  [0x00c7, 'TLS_SM4_CCM_SM3'],
  [0x00ff, 'TLS_EMPTY_RENEGOTIATION_INFO_SCSV'],
  [0x1301, 'TLS_AES_128_GCM_SHA256'],
  [0x1302, 'TLS_AES_256_GCM_SHA384'],
  [0x1303, 'TLS_CHACHA20_POLY1305_SHA256'],
  [0x1304, 'TLS_AES_128_CCM_SHA256'],
  [0x1305, 'TLS_AES_128_CCM_8_SHA256'],
  [0x5600, 'TLS_FALLBACK_SCSV'],
  [0xc001, 'TLS_ECDH_ECDSA_WITH_NULL_SHA'],
  [0xc002, 'TLS_ECDH_ECDSA_WITH_RC4_128_SHA'],
  [0xc003, 'TLS_ECDH_ECDSA_WITH_3DES_EDE_CBC_SHA'],
  [0xc004, 'TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA'],
  [0xc005, 'TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA'],
  [0xc006, 'TLS_ECDHE_ECDSA_WITH_NULL_SHA'],
  [0xc007, 'TLS_ECDHE_ECDSA_WITH_RC4_128_SHA'],
  [0xc008, 'TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA'],
  [0xc009, 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA'],
  [0xc00a, 'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA'],
  [0xc00b, 'TLS_ECDH_RSA_WITH_NULL_SHA'],
  [0xc00c, 'TLS_ECDH_RSA_WITH_RC4_128_SHA'],
  [0xc00d, 'TLS_ECDH_RSA_WITH_3DES_EDE_CBC_SHA'],
  [0xc00e, 'TLS_ECDH_RSA_WITH_AES_128_CBC_SHA'],
  [0xc00f, 'TLS_ECDH_RSA_WITH_AES_256_CBC_SHA'],
  [0xc010, 'TLS_ECDHE_RSA_WITH_NULL_SHA'],
  [0xc011, 'TLS_ECDHE_RSA_WITH_RC4_128_SHA'],
  [0xc012, 'TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA'],
  [0xc013, 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA'],
  [0xc014, 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA'],
  [0xc015, 'TLS_ECDH_anon_WITH_NULL_SHA'],
  [0xc016, 'TLS_ECDH_anon_WITH_RC4_128_SHA'],
  [0xc017, 'TLS_ECDH_anon_WITH_3DES_EDE_CBC_SHA'],
  [0xc018, 'TLS_ECDH_anon_WITH_AES_128_CBC_SHA'],
  [0xc019, 'TLS_ECDH_anon_WITH_AES_256_CBC_SHA'],
  [0xc01a, 'TLS_SRP_SHA_WITH_3DES_EDE_CBC_SHA'],
  [0xc01b, 'TLS_SRP_SHA_RSA_WITH_3DES_EDE_CBC_SHA'],
  [0xc01c, 'TLS_SRP_SHA_DSS_WITH_3DES_EDE_CBC_SHA'],
  [0xc01d, 'TLS_SRP_SHA_WITH_AES_128_CBC_SHA'],
  [0xc01e, 'TLS_SRP_SHA_RSA_WITH_AES_128_CBC_SHA'],
  [0xc01f, 'TLS_SRP_SHA_DSS_WITH_AES_128_CBC_SHA'],
  [0xc020, 'TLS_SRP_SHA_WITH_AES_256_CBC_SHA'],
  [0xc021, 'TLS_SRP_SHA_RSA_WITH_AES_256_CBC_SHA'],
  [0xc022, 'TLS_SRP_SHA_DSS_WITH_AES_256_CBC_SHA'],
  [0xc023, 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256'],
  [0xc024, 'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384'],
  [0xc025, 'TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256'],
  [0xc026, 'TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384'],
  [0xc027, 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256'],
  [0xc028, 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384'],
  [0xc029, 'TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256'],
  [0xc02a, 'TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384'],
  [0xc02b, 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256'],
  [0xc02c, 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384'],
  [0xc02d, 'TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256'],
  [0xc02e, 'TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384'],
  [0xc02f, 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'],
  [0xc030, 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384'],
  [0xc031, 'TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256'],
  [0xc032, 'TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384'],
  [0xc033, 'TLS_ECDHE_PSK_WITH_RC4_128_SHA'],
  [0xc034, 'TLS_ECDHE_PSK_WITH_3DES_EDE_CBC_SHA'],
  [0xc035, 'TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA'],
  [0xc036, 'TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA'],
  [0xc037, 'TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256'],
  [0xc038, 'TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA384'],
  [0xc039, 'TLS_ECDHE_PSK_WITH_NULL_SHA'],
  [0xc03a, 'TLS_ECDHE_PSK_WITH_NULL_SHA256'],
  [0xc03b, 'TLS_ECDHE_PSK_WITH_NULL_SHA384'],
  [0xc03c, 'TLS_RSA_WITH_ARIA_128_CBC_SHA256'],
  [0xc03d, 'TLS_RSA_WITH_ARIA_256_CBC_SHA384'],
  [0xc03e, 'TLS_DH_DSS_WITH_ARIA_128_CBC_SHA256'],
  [0xc03f, 'TLS_DH_DSS_WITH_ARIA_256_CBC_SHA384'],
  [0xc040, 'TLS_DH_RSA_WITH_ARIA_128_CBC_SHA256'],
  [0xc041, 'TLS_DH_RSA_WITH_ARIA_256_CBC_SHA384'],
  [0xc042, 'TLS_DHE_DSS_WITH_ARIA_128_CBC_SHA256'],
  [0xc043, 'TLS_DHE_DSS_WITH_ARIA_256_CBC_SHA384'],
  [0xc044, 'TLS_DHE_RSA_WITH_ARIA_128_CBC_SHA256'],
  [0xc045, 'TLS_DHE_RSA_WITH_ARIA_256_CBC_SHA384'],
  [0xc046, 'TLS_DH_anon_WITH_ARIA_128_CBC_SHA256'],
  [0xc047, 'TLS_DH_anon_WITH_ARIA_256_CBC_SHA384'],
  [0xc048, 'TLS_ECDHE_ECDSA_WITH_ARIA_128_CBC_SHA256'],
  [0xc049, 'TLS_ECDHE_ECDSA_WITH_ARIA_256_CBC_SHA384'],
  [0xc04a, 'TLS_ECDH_ECDSA_WITH_ARIA_128_CBC_SHA256'],
  [0xc04b, 'TLS_ECDH_ECDSA_WITH_ARIA_256_CBC_SHA384'],
  [0xc04c, 'TLS_ECDHE_RSA_WITH_ARIA_128_CBC_SHA256'],
  [0xc04d, 'TLS_ECDHE_RSA_WITH_ARIA_256_CBC_SHA384'],
  [0xc04e, 'TLS_ECDH_RSA_WITH_ARIA_128_CBC_SHA256'],
  [0xc04f, 'TLS_ECDH_RSA_WITH_ARIA_256_CBC_SHA384'],
  [0xc050, 'TLS_RSA_WITH_ARIA_128_GCM_SHA256'],
  [0xc051, 'TLS_RSA_WITH_ARIA_256_GCM_SHA384'],
  [0xc052, 'TLS_DHE_RSA_WITH_ARIA_128_GCM_SHA256'],
  [0xc053, 'TLS_DHE_RSA_WITH_ARIA_256_GCM_SHA384'],
  [0xc054, 'TLS_DH_RSA_WITH_ARIA_128_GCM_SHA256'],
  [0xc055, 'TLS_DH_RSA_WITH_ARIA_256_GCM_SHA384'],
  [0xc056, 'TLS_DHE_DSS_WITH_ARIA_128_GCM_SHA256'],
  [0xc057, 'TLS_DHE_DSS_WITH_ARIA_256_GCM_SHA384'],
  [0xc058, 'TLS_DH_DSS_WITH_ARIA_128_GCM_SHA256'],
  [0xc059, 'TLS_DH_DSS_WITH_ARIA_256_GCM_SHA384'],
  [0xc05a, 'TLS_DH_anon_WITH_ARIA_128_GCM_SHA256'],
  [0xc05b, 'TLS_DH_anon_WITH_ARIA_256_GCM_SHA384'],
  [0xc05c, 'TLS_ECDHE_ECDSA_WITH_ARIA_128_GCM_SHA256'],
  [0xc05d, 'TLS_ECDHE_ECDSA_WITH_ARIA_256_GCM_SHA384'],
  [0xc05e, 'TLS_ECDH_ECDSA_WITH_ARIA_128_GCM_SHA256'],
  [0xc05f, 'TLS_ECDH_ECDSA_WITH_ARIA_256_GCM_SHA384'],
  [0xc060, 'TLS_ECDHE_RSA_WITH_ARIA_128_GCM_SHA256'],
  [0xc061, 'TLS_ECDHE_RSA_WITH_ARIA_256_GCM_SHA384'],
  [0xc062, 'TLS_ECDH_RSA_WITH_ARIA_128_GCM_SHA256'],
  [0xc063, 'TLS_ECDH_RSA_WITH_ARIA_256_GCM_SHA384'],
  [0xc064, 'TLS_PSK_WITH_ARIA_128_CBC_SHA256'],
  [0xc065, 'TLS_PSK_WITH_ARIA_256_CBC_SHA384'],
  [0xc066, 'TLS_DHE_PSK_WITH_ARIA_128_CBC_SHA256'],
  [0xc067, 'TLS_DHE_PSK_WITH_ARIA_256_CBC_SHA384'],
  [0xc068, 'TLS_RSA_PSK_WITH_ARIA_128_CBC_SHA256'],
  [0xc069, 'TLS_RSA_PSK_WITH_ARIA_256_CBC_SHA384'],
  [0xc06a, 'TLS_PSK_WITH_ARIA_128_GCM_SHA256'],
  [0xc06b, 'TLS_PSK_WITH_ARIA_256_GCM_SHA384'],
  [0xc06c, 'TLS_DHE_PSK_WITH_ARIA_128_GCM_SHA256'],
  [0xc06d, 'TLS_DHE_PSK_WITH_ARIA_256_GCM_SHA384'],
  [0xc06e, 'TLS_RSA_PSK_WITH_ARIA_128_GCM_SHA256'],
  [0xc06f, 'TLS_RSA_PSK_WITH_ARIA_256_GCM_SHA384'],
  [0xc070, 'TLS_ECDHE_PSK_WITH_ARIA_128_CBC_SHA256'],
  [0xc071, 'TLS_ECDHE_PSK_WITH_ARIA_256_CBC_SHA384'],
  [0xc072, 'TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_CBC_SHA256'],
  [0xc073, 'TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_CBC_SHA384'],
  [0xc074, 'TLS_ECDH_ECDSA_WITH_CAMELLIA_128_CBC_SHA256'],
  [0xc075, 'TLS_ECDH_ECDSA_WITH_CAMELLIA_256_CBC_SHA384'],
  [0xc076, 'TLS_ECDHE_RSA_WITH_CAMELLIA_128_CBC_SHA256'],
  [0xc077, 'TLS_ECDHE_RSA_WITH_CAMELLIA_256_CBC_SHA384'],
  [0xc078, 'TLS_ECDH_RSA_WITH_CAMELLIA_128_CBC_SHA256'],
  [0xc079, 'TLS_ECDH_RSA_WITH_CAMELLIA_256_CBC_SHA384'],
  [0xc07a, 'TLS_RSA_WITH_CAMELLIA_128_GCM_SHA256'],
  [0xc07b, 'TLS_RSA_WITH_CAMELLIA_256_GCM_SHA384'],
  [0xc07c, 'TLS_DHE_RSA_WITH_CAMELLIA_128_GCM_SHA256'],
  [0xc07d, 'TLS_DHE_RSA_WITH_CAMELLIA_256_GCM_SHA384'],
  [0xc07e, 'TLS_DH_RSA_WITH_CAMELLIA_128_GCM_SHA256'],
  [0xc07f, 'TLS_DH_RSA_WITH_CAMELLIA_256_GCM_SHA384'],
  [0xc080, 'TLS_DHE_DSS_WITH_CAMELLIA_128_GCM_SHA256'],
  [0xc081, 'TLS_DHE_DSS_WITH_CAMELLIA_256_GCM_SHA384'],
  [0xc082, 'TLS_DH_DSS_WITH_CAMELLIA_128_GCM_SHA256'],
  [0xc083, 'TLS_DH_DSS_WITH_CAMELLIA_256_GCM_SHA384'],
  [0xc084, 'TLS_DH_anon_WITH_CAMELLIA_128_GCM_SHA256'],
  [0xc085, 'TLS_DH_anon_WITH_CAMELLIA_256_GCM_SHA384'],
  [0xc086, 'TLS_ECDHE_ECDSA_WITH_CAMELLIA_128_GCM_SHA256'],
  [0xc087, 'TLS_ECDHE_ECDSA_WITH_CAMELLIA_256_GCM_SHA384'],
  [0xc088, 'TLS_ECDH_ECDSA_WITH_CAMELLIA_128_GCM_SHA256'],
  [0xc089, 'TLS_ECDH_ECDSA_WITH_CAMELLIA_256_GCM_SHA384'],
  [0xc08a, 'TLS_ECDHE_RSA_WITH_CAMELLIA_128_GCM_SHA256'],
  [0xc08b, 'TLS_ECDHE_RSA_WITH_CAMELLIA_256_GCM_SHA384'],
  [0xc08c, 'TLS_ECDH_RSA_WITH_CAMELLIA_128_GCM_SHA256'],
  [0xc08d, 'TLS_ECDH_RSA_WITH_CAMELLIA_256_GCM_SHA384'],
  [0xc08e, 'TLS_PSK_WITH_CAMELLIA_128_GCM_SHA256'],
  [0xc08f, 'TLS_PSK_WITH_CAMELLIA_256_GCM_SHA384'],
  [0xc090, 'TLS_DHE_PSK_WITH_CAMELLIA_128_GCM_SHA256'],
  [0xc091, 'TLS_DHE_PSK_WITH_CAMELLIA_256_GCM_SHA384'],
  [0xc092, 'TLS_RSA_PSK_WITH_CAMELLIA_128_GCM_SHA256'],
  [0xc093, 'TLS_RSA_PSK_WITH_CAMELLIA_256_GCM_SHA384'],
  [0xc094, 'TLS_PSK_WITH_CAMELLIA_128_CBC_SHA256'],
  [0xc095, 'TLS_PSK_WITH_CAMELLIA_256_CBC_SHA384'],
  [0xc096, 'TLS_DHE_PSK_WITH_CAMELLIA_128_CBC_SHA256'],
  [0xc097, 'TLS_DHE_PSK_WITH_CAMELLIA_256_CBC_SHA384'],
  [0xc098, 'TLS_RSA_PSK_WITH_CAMELLIA_128_CBC_SHA256'],
  [0xc099, 'TLS_RSA_PSK_WITH_CAMELLIA_256_CBC_SHA384'],
  [0xc09a, 'TLS_ECDHE_PSK_WITH_CAMELLIA_128_CBC_SHA256'],
  [0xc09b, 'TLS_ECDHE_PSK_WITH_CAMELLIA_256_CBC_SHA384'],
  [0xc09c, 'TLS_RSA_WITH_AES_128_CCM'],
  [0xc09d, 'TLS_RSA_WITH_AES_256_CCM'],
  [0xc09e, 'TLS_DHE_RSA_WITH_AES_128_CCM'],
  [0xc09f, 'TLS_DHE_RSA_WITH_AES_256_CCM'],
  [0xc0a0, 'TLS_RSA_WITH_AES_128_CCM_8'],
  [0xc0a1, 'TLS_RSA_WITH_AES_256_CCM_8'],
  [0xc0a2, 'TLS_DHE_RSA_WITH_AES_128_CCM_8'],
  [0xc0a3, 'TLS_DHE_RSA_WITH_AES_256_CCM_8'],
  [0xc0a4, 'TLS_PSK_WITH_AES_128_CCM'],
  [0xc0a5, 'TLS_PSK_WITH_AES_256_CCM'],
  [0xc0a6, 'TLS_DHE_PSK_WITH_AES_128_CCM'],
  [0xc0a7, 'TLS_DHE_PSK_WITH_AES_256_CCM'],
  [0xc0a8, 'TLS_PSK_WITH_AES_128_CCM_8'],
  [0xc0a9, 'TLS_PSK_WITH_AES_256_CCM_8'],
  [0xc0aa, 'TLS_PSK_DHE_WITH_AES_128_CCM_8'],
  [0xc0ab, 'TLS_PSK_DHE_WITH_AES_256_CCM_8'],
  [0xc0ac, 'TLS_ECDHE_ECDSA_WITH_AES_128_CCM'],
  [0xc0ad, 'TLS_ECDHE_ECDSA_WITH_AES_256_CCM'],
  [0xc0ae, 'TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8'],
  [0xc0af, 'TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8'],
  [0xc0b0, 'TLS_ECCPWD_WITH_AES_128_GCM_SHA256'],
  [0xc0b1, 'TLS_ECCPWD_WITH_AES_256_GCM_SHA384'],
  [0xc0b2, 'TLS_ECCPWD_WITH_AES_128_CCM_SHA256'],
  [0xc0b3, 'TLS_ECCPWD_WITH_AES_256_CCM_SHA384'],
  [0xc0b4, 'TLS_SHA256_SHA256'],
  [0xc0b5, 'TLS_SHA384_SHA384'],
  [0xc0ff, 'TLS_ECJPAKE_WITH_AES_128_CCM_8'],
  [0xc100, 'TLS_GOSTR341112_256_WITH_KUZNYECHIK_CTR_OMAC'],
  [0xc101, 'TLS_GOSTR341112_256_WITH_MAGMA_CTR_OMAC'],
  [0xc102, 'TLS_GOSTR341112_256_WITH_28147_CNT_IMIT'],
  [0xc103, 'TLS_GOSTR341112_256_WITH_KUZNYECHIK_MGM_L'],
  [0xc104, 'TLS_GOSTR341112_256_WITH_MAGMA_MGM_L'],
  [0xc105, 'TLS_GOSTR341112_256_WITH_KUZNYECHIK_MGM_S'],
  [0xc106, 'TLS_GOSTR341112_256_WITH_MAGMA_MGM_S'],
  [0xcc13, 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256'],
  [0xcc14, 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256'],
  [0xcc15, 'TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256'],
  [0xcca8, 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256'],
  [0xcca9, 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256'],
  [0xccaa, 'TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256'],
  [0xccab, 'TLS_PSK_WITH_CHACHA20_POLY1305_SHA256'],
  [0xccac, 'TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256'],
  [0xccad, 'TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256'],
  [0xccae, 'TLS_RSA_PSK_WITH_CHACHA20_POLY1305_SHA256'],
  [0xd001, 'TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256'],
  [0xd002, 'TLS_ECDHE_PSK_WITH_AES_256_GCM_SHA384'],
  [0xd003, 'TLS_ECDHE_PSK_WITH_AES_128_CCM_8_SHA256'],
  [0xd005, 'TLS_ECDHE_PSK_WITH_AES_128_CCM_SHA256'],
  [0xe001, 'ECDHE_SM1_SM3'],
  [0xe003, 'ECC_SM1_SM3'],
  [0xe005, 'IBSDH_SM1_SM3'],
  [0xe007, 'IBC_SM1_SM3'],
  [0xe009, 'RSA_SM1_SM3'],
  [0xe00a, 'RSA_SM1_SHA1'],
  [0xe011, 'ECDHE_SM4_CBC_SM3'],
  [0xe013, 'ECC_SM4_CBC_SM3'],
  [0xe015, 'IBSDH_SM4_CBC_SM3'],
  [0xe017, 'IBC_SM4_CBC_SM3'],
  [0xe019, 'RSA_SM4_CBC_SM3'],
  [0xe01a, 'RSA_SM4_CBC_SHA1'],
  [0xe01c, 'RSA_SM4_CBC_SHA256'],
  [0xe051, 'ECDHE_SM4_GCM_SM3'],
  [0xe053, 'ECC_SM4_GCM_SM3'],
  [0xe055, 'IBSDH_SM4_GCM_SM3'],
  [0xe057, 'IBC_SM4_GCM_SM3'],
  [0xe059, 'RSA_SM4_GCM_SM3'],
  [0xe05a, 'RSA_SM4_GCM_SHA256'],
  [0xe410, 'TLS_RSA_WITH_ESTREAM_SALSA20_SHA1'],
  [0xe411, 'TLS_RSA_WITH_SALSA20_SHA1'],
  [0xe412, 'TLS_ECDHE_RSA_WITH_ESTREAM_SALSA20_SHA1'],
  [0xe413, 'TLS_ECDHE_RSA_WITH_SALSA20_SHA1'],
  [0xe414, 'TLS_ECDHE_ECDSA_WITH_ESTREAM_SALSA20_SHA1'],
  [0xe415, 'TLS_ECDHE_ECDSA_WITH_SALSA20_SHA1'],
  [0xe416, 'TLS_PSK_WITH_ESTREAM_SALSA20_SHA1'],
  [0xe417, 'TLS_PSK_WITH_SALSA20_SHA1'],
  [0xe418, 'TLS_ECDHE_PSK_WITH_ESTREAM_SALSA20_SHA1'],
  [0xe419, 'TLS_ECDHE_PSK_WITH_SALSA20_SHA1'],
  [0xe41a, 'TLS_RSA_PSK_WITH_ESTREAM_SALSA20_SHA1'],
  [0xe41b, 'TLS_RSA_PSK_WITH_SALSA20_SHA1'],
  [0xe41c, 'TLS_DHE_PSK_WITH_ESTREAM_SALSA20_SHA1'],
  [0xe41d, 'TLS_DHE_PSK_WITH_SALSA20_SHA1'],
  [0xe41e, 'TLS_DHE_RSA_WITH_ESTREAM_SALSA20_SHA1'],
  [0xe41f, 'TLS_DHE_RSA_WITH_SALSA20_SHA1'],
  [0xfefe, 'SSL_RSA_FIPS_WITH_DES_CBC_SHA'],
  [0xfeff, 'SSL_RSA_FIPS_WITH_3DES_EDE_CBC_SHA'],
  [0xffe0, 'SSL_RSA_FIPS_WITH_3DES_EDE_CBC_SHA'],
  [0xffe1, 'SSL_RSA_FIPS_WITH_DES_CBC_SHA'],
];

const NAMES = new Map<number, string>(TABLE);

/** TLS 1.3 suites (RFC 8446 §B.4; CCM per RFC 8446 §B.4 / RFC 6655). */
const TLS13: readonly [number, SuiteParams['mode'], string, number, 'sha256' | 'sha384'][] = [
  [0x1301, 'gcm', 'aes-128-gcm', 16, 'sha256'],
  [0x1302, 'gcm', 'aes-256-gcm', 32, 'sha384'],
  [0x1303, 'chacha20', 'chacha20-poly1305', 32, 'sha256'],
  [0x1304, 'ccm', 'aes-128-ccm', 16, 'sha256'],
  [0x1305, 'ccm8', 'aes-128-ccm', 16, 'sha256'],
];

/** The pre-RFC 7905 ChaCha20-Poly1305 values (draft-agl-tls-chacha20poly1305): other nonce and MAC layout. */
const DRAFT_CHACHA = new Set([0xcc13, 0xcc14, 0xcc15]);

/**
 * TLS ≤ 1.2 parameters from a registry name "TLS_<kx>_WITH_<cipher>_<mode>[_<hash>]". The key
 * exchange does not matter: the key log gives the master secret.
 */
const BULK = /^TLS_\w+?_WITH_(AES|ARIA|CAMELLIA)_(128|256)_(GCM|CCM_8|CCM|CBC)(?:_(SHA|SHA256|SHA384))?$/;

function tls12Params(id: number, name: string, available: Set<string>): SuiteParams | undefined {
  if (DRAFT_CHACHA.has(id) || !name.startsWith('TLS_')) return undefined;
  const base = { id, name, tls13: false };
  if (name.endsWith('_WITH_CHACHA20_POLY1305_SHA256')) {
    // RFC 7905 §2: 32-octet key, 12-octet fixed IV XORed with the sequence number, SHA-256 PRF.
    return available.has('chacha20-poly1305')
      ? { ...base, mode: 'chacha20', cipher: 'chacha20-poly1305', keyLen: 32, fixedIvLen: 12, macHash: null, macLen: 0, prfHash: 'sha256', tagLen: 16, blockLen: 0 }
      : undefined;
  }
  if (name.endsWith('_WITH_3DES_EDE_CBC_SHA')) {
    // RFC 5246 §6.2.3.2 / Appendix C: 24-octet key, 8-octet block, HMAC-SHA1.
    return available.has('des-ede3-cbc')
      ? { ...base, mode: 'cbc', cipher: 'des-ede3-cbc', keyLen: 24, fixedIvLen: 8, macHash: 'sha1', macLen: 20, prfHash: 'sha256', tagLen: 0, blockLen: 8 }
      : undefined;
  }
  const m = BULK.exec(name);
  if (!m) return undefined;
  const [, alg, bits, mode, hash] = m;
  const keyLen = Number(bits) / 8;
  const prfHash = hash === 'SHA384' ? 'sha384' : 'sha256';
  if (mode === 'CBC') {
    if (hash === undefined) return undefined;
    const cipher = `${alg.toLowerCase()}-${bits}-cbc`;
    if (!available.has(cipher)) return undefined;
    const macHash = hash === 'SHA' ? 'sha1' : hash === 'SHA256' ? 'sha256' : 'sha384';
    const macLen = macHash === 'sha1' ? 20 : macHash === 'sha256' ? 32 : 48;
    // RFC 5246 §6.2.3.2; RFC 5289 §3.1: *_SHA256/_SHA384 CBC suites use that hash for MAC and PRF,
    // *_SHA suites HMAC-SHA1 with the default SHA-256 PRF.
    return { ...base, mode: 'cbc', cipher, keyLen, fixedIvLen: 16, macHash, macLen, prfHash, tagLen: 0, blockLen: 16 };
  }
  if (mode === 'GCM') {
    // RFC 5288 §3 (AES), RFC 6209 §2 (ARIA): 4-octet salt + 8-octet explicit nonce, 16-octet tag.
    const cipher = `${alg.toLowerCase()}-${bits}-gcm`;
    if (hash === undefined || hash === 'SHA' || !available.has(cipher)) return undefined;
    return { ...base, mode: 'gcm', cipher, keyLen, fixedIvLen: 4, macHash: null, macLen: 0, prfHash, tagLen: 16, blockLen: 0 };
  }
  // CCM (RFC 6655 §3, RFC 7251 §2, RFC 8442 §3): AES only; 4-octet salt + 8-octet explicit nonce;
  // tag 16, or 8 for CCM_8. Suites without a hash suffix use the SHA-256 PRF (RFC 6655 §3).
  if (alg !== 'AES' || hash === 'SHA') return undefined;
  const cipher = `aes-${bits}-ccm`;
  if (!available.has(cipher)) return undefined;
  const ccm8 = mode === 'CCM_8';
  return { ...base, mode: ccm8 ? 'ccm8' : 'ccm', cipher, keyLen, fixedIvLen: 4, macHash: null, macLen: 0, prfHash, tagLen: ccm8 ? 8 : 16, blockLen: 0 };
}

function buildParams(): Map<number, SuiteParams> {
  const available = new Set(getCiphers());
  const out = new Map<number, SuiteParams>();
  for (const [id, mode, cipher, keyLen, prfHash] of TLS13) {
    if (!available.has(cipher)) continue;
    out.set(id, {
      id,
      name: NAMES.get(id) as string,
      tls13: true,
      mode,
      cipher,
      keyLen,
      fixedIvLen: 12,
      macHash: null,
      macLen: 0,
      prfHash,
      tagLen: mode === 'ccm8' ? 8 : 16,
      blockLen: 0,
    });
  }
  for (const [id, name] of TABLE) {
    if ((id >> 8) === 0x13) continue;
    const p = tls12Params(id, name, available);
    if (p) out.set(id, p);
  }
  return out;
}

const PARAMS = buildParams();
