/**
 * TLS constants: record content types (RFC 8446 §5.1), handshake types (§4), extension types (§4.2
 * and the IANA registry), protocol versions, alert descriptions (§6), named groups (§4.2.7 and the
 * IANA registry), the HelloRetryRequest random (§4.1.3) and GREASE values (RFC 8701).
 *
 * Name functions never throw and never return an empty string: an unassigned code gives
 * `Unknown (0x....)`, a GREASE code gives `GREASE (0x....)`, so a reserved value can never be
 * mistaken for a real one in a report.
 */

/** TLSPlaintext.type (RFC 8446 §5.1; heartbeat: RFC 6520 §2). */
export const ContentType = {
  CHANGE_CIPHER_SPEC: 20,
  ALERT: 21,
  HANDSHAKE: 22,
  APPLICATION_DATA: 23,
  HEARTBEAT: 24,
} as const;

const CONTENT_TYPE_NAMES: Readonly<Record<number, string>> = {
  20: 'change_cipher_spec',
  21: 'alert',
  22: 'handshake',
  23: 'application_data',
  24: 'heartbeat',
};

export function contentTypeName(t: number): string {
  return CONTENT_TYPE_NAMES[t] ?? unknown(t, 2);
}

/** Handshake.msg_type (RFC 8446 §4; RFC 5246 §7.4 for the TLS 1.2 messages). */
export const HandshakeType = {
  HELLO_REQUEST: 0, // RFC 5246 §7.4.1.1
  CLIENT_HELLO: 1,
  SERVER_HELLO: 2,
  HELLO_VERIFY_REQUEST: 3, // DTLS, RFC 6347 §4.2.1
  NEW_SESSION_TICKET: 4,
  END_OF_EARLY_DATA: 5,
  /** TLS 1.3 drafts ≤ 21 only; RFC 8446 sends a ServerHello with HRR_RANDOM instead (§4.1.3). */
  HELLO_RETRY_REQUEST: 6,
  ENCRYPTED_EXTENSIONS: 8,
  CERTIFICATE: 11,
  SERVER_KEY_EXCHANGE: 12,
  CERTIFICATE_REQUEST: 13,
  SERVER_HELLO_DONE: 14,
  CERTIFICATE_VERIFY: 15,
  CLIENT_KEY_EXCHANGE: 16,
  FINISHED: 20,
  CERTIFICATE_URL: 21, // RFC 6066 §5
  CERTIFICATE_STATUS: 22, // RFC 6066 §8
  SUPPLEMENTAL_DATA: 23, // RFC 4680
  KEY_UPDATE: 24,
  COMPRESSED_CERTIFICATE: 25, // RFC 8879
  NEXT_PROTOCOL: 67, // NPN (draft-agl-tls-nextprotoneg)
  MESSAGE_HASH: 254,
} as const;

const HANDSHAKE_TYPE_NAMES: Readonly<Record<number, string>> = {
  0: 'hello_request',
  1: 'client_hello',
  2: 'server_hello',
  3: 'hello_verify_request',
  4: 'new_session_ticket',
  5: 'end_of_early_data',
  6: 'hello_retry_request',
  8: 'encrypted_extensions',
  11: 'certificate',
  12: 'server_key_exchange',
  13: 'certificate_request',
  14: 'server_hello_done',
  15: 'certificate_verify',
  16: 'client_key_exchange',
  20: 'finished',
  21: 'certificate_url',
  22: 'certificate_status',
  23: 'supplemental_data',
  24: 'key_update',
  25: 'compressed_certificate',
  67: 'next_protocol',
  254: 'message_hash',
};

export function handshakeTypeName(t: number): string {
  return HANDSHAKE_TYPE_NAMES[t] ?? unknown(t, 2);
}

/** ExtensionType (RFC 8446 §4.2 and the IANA "TLS ExtensionType Values" registry). */
export const ExtensionType = {
  SERVER_NAME: 0, // RFC 6066 §3
  MAX_FRAGMENT_LENGTH: 1,
  STATUS_REQUEST: 5,
  SUPPORTED_GROUPS: 10, // RFC 8422 §5.1.1, RFC 7919
  EC_POINT_FORMATS: 11,
  SIGNATURE_ALGORITHMS: 13,
  USE_SRTP: 14,
  HEARTBEAT: 15,
  ALPN: 16, // RFC 7301
  STATUS_REQUEST_V2: 17,
  SIGNED_CERTIFICATE_TIMESTAMP: 18,
  CLIENT_CERTIFICATE_TYPE: 19,
  SERVER_CERTIFICATE_TYPE: 20,
  PADDING: 21, // RFC 7685
  ENCRYPT_THEN_MAC: 22, // RFC 7366
  EXTENDED_MASTER_SECRET: 23, // RFC 7627
  TOKEN_BINDING: 24,
  CACHED_INFO: 25,
  COMPRESS_CERTIFICATE: 27, // RFC 8879
  RECORD_SIZE_LIMIT: 28, // RFC 8449
  DELEGATED_CREDENTIAL: 34,
  SESSION_TICKET: 35, // RFC 5077
  /** key_share in TLS 1.3 drafts ≤ 22 (RFC 8446 lists 40 as reserved). */
  KEY_SHARE_DRAFT: 40,
  PRE_SHARED_KEY: 41,
  EARLY_DATA: 42,
  SUPPORTED_VERSIONS: 43,
  COOKIE: 44,
  PSK_KEY_EXCHANGE_MODES: 45,
  CERTIFICATE_AUTHORITIES: 47,
  OID_FILTERS: 48,
  POST_HANDSHAKE_AUTH: 49,
  SIGNATURE_ALGORITHMS_CERT: 50,
  KEY_SHARE: 51,
  TRANSPARENCY_INFO: 52,
  CONNECTION_ID: 54,
  QUIC_TRANSPORT_PARAMETERS: 57, // RFC 9001 §8.2
  TICKET_REQUEST: 58,
  DNSSEC_CHAIN: 59,
  NEXT_PROTOCOL_NEGOTIATION: 0x3374,
  APPLICATION_SETTINGS_OLD: 0x4469, // ALPS, Chrome
  APPLICATION_SETTINGS: 0x44cd,
  CHANNEL_ID: 0x7550,
  ENCRYPTED_CLIENT_HELLO: 0xfe0d, // RFC 9849 (draft-ietf-tls-esni-13 and later)
  RENEGOTIATION_INFO: 0xff01, // RFC 5746
  ENCRYPTED_SERVER_NAME: 0xffce, // ESNI drafts
} as const;

const EXTENSION_NAMES: Readonly<Record<number, string>> = {
  0: 'server_name',
  1: 'max_fragment_length',
  2: 'client_certificate_url',
  3: 'trusted_ca_keys',
  4: 'truncated_hmac',
  5: 'status_request',
  6: 'user_mapping',
  7: 'client_authz',
  8: 'server_authz',
  9: 'cert_type',
  10: 'supported_groups',
  11: 'ec_point_formats',
  12: 'srp',
  13: 'signature_algorithms',
  14: 'use_srtp',
  15: 'heartbeat',
  16: 'application_layer_protocol_negotiation',
  17: 'status_request_v2',
  18: 'signed_certificate_timestamp',
  19: 'client_certificate_type',
  20: 'server_certificate_type',
  21: 'padding',
  22: 'encrypt_then_mac',
  23: 'extended_master_secret',
  24: 'token_binding',
  25: 'cached_info',
  26: 'tls_lts',
  27: 'compress_certificate',
  28: 'record_size_limit',
  29: 'pwd_protect',
  30: 'pwd_clear',
  31: 'password_salt',
  32: 'ticket_pinning',
  33: 'tls_cert_with_extern_psk',
  34: 'delegated_credential',
  35: 'session_ticket',
  36: 'TLMSP',
  37: 'TLMSP_proxying',
  38: 'TLMSP_delegate',
  39: 'supported_ekt_ciphers',
  40: 'key_share (draft)',
  41: 'pre_shared_key',
  42: 'early_data',
  43: 'supported_versions',
  44: 'cookie',
  45: 'psk_key_exchange_modes',
  47: 'certificate_authorities',
  48: 'oid_filters',
  49: 'post_handshake_auth',
  50: 'signature_algorithms_cert',
  51: 'key_share',
  52: 'transparency_info',
  53: 'connection_id (deprecated)',
  54: 'connection_id',
  55: 'external_id_hash',
  56: 'external_session_id',
  57: 'quic_transport_parameters',
  58: 'ticket_request',
  59: 'dnssec_chain',
  0x3374: 'next_protocol_negotiation',
  0x4469: 'application_settings (old)',
  0x44cd: 'application_settings',
  0x7550: 'channel_id',
  0xfe0d: 'encrypted_client_hello',
  0xff01: 'renegotiation_info',
  0xffce: 'encrypted_server_name',
};

export function extensionTypeName(t: number): string {
  return EXTENSION_NAMES[t] ?? (isGrease(t) ? grease(t) : unknown(t, 4));
}

/** ProtocolVersion values (RFC 8446 §4.1.2 legacy_version, §4.2.1 supported_versions). */
export const Version = {
  SSL2: 0x0002,
  SSL3: 0x0300,
  TLS10: 0x0301,
  TLS11: 0x0302,
  TLS12: 0x0303,
  TLS13: 0x0304,
} as const;

/** TLS 1.3 draft versions are 0x7f00 + draft number (draft-ietf-tls-tls13-NN §4.2.1). */
export function tls13Draft(v: number): number | null {
  return v >= 0x7f00 && v <= 0x7fff ? v & 0xff : null;
}

/** 'TLS 1.2', 'TLS 1.3 (draft 23)', 'GREASE (0x8a8a)', 'Unknown (0x1234)'. */
export function versionName(v: number): string {
  switch (v) {
    case Version.SSL2:
      return 'SSL 2.0';
    case Version.SSL3:
      return 'SSL 3.0';
    case Version.TLS10:
      return 'TLS 1.0';
    case Version.TLS11:
      return 'TLS 1.1';
    case Version.TLS12:
      return 'TLS 1.2';
    case Version.TLS13:
      return 'TLS 1.3';
  }
  const draft = tls13Draft(v);
  if (draft !== null) return `TLS 1.3 (draft ${draft})`;
  if (isGrease(v)) return grease(v);
  return unknown(v, 4);
}

/** AlertLevel (RFC 8446 §6). */
export const AlertLevel = { WARNING: 1, FATAL: 2 } as const;

/**
 * AlertDescription names as RFC 8446 §6 spells them, except that values RFC 8446 marks
 * `_RESERVED` keep their TLS 1.2 name (RFC 5246 §7.2): those alerts still occur on the wire from
 * TLS ≤ 1.2 peers, and `decryption_failed` reads better there than `decryption_failed_RESERVED`.
 */
const ALERT_NAMES: Readonly<Record<number, string>> = {
  0: 'close_notify',
  10: 'unexpected_message',
  20: 'bad_record_mac',
  21: 'decryption_failed',
  22: 'record_overflow',
  30: 'decompression_failure',
  40: 'handshake_failure',
  41: 'no_certificate',
  42: 'bad_certificate',
  43: 'unsupported_certificate',
  44: 'certificate_revoked',
  45: 'certificate_expired',
  46: 'certificate_unknown',
  47: 'illegal_parameter',
  48: 'unknown_ca',
  49: 'access_denied',
  50: 'decode_error',
  51: 'decrypt_error',
  60: 'export_restriction',
  70: 'protocol_version',
  71: 'insufficient_security',
  80: 'internal_error',
  86: 'inappropriate_fallback', // RFC 7507
  90: 'user_canceled',
  100: 'no_renegotiation',
  109: 'missing_extension',
  110: 'unsupported_extension',
  111: 'certificate_unobtainable',
  112: 'unrecognized_name',
  113: 'bad_certificate_status_response',
  114: 'bad_certificate_hash_value',
  115: 'unknown_psk_identity',
  116: 'certificate_required',
  120: 'no_application_protocol',
  121: 'ech_required', // RFC 9849 §11.2
};

export function alertDescriptionName(code: number): string {
  return ALERT_NAMES[code] ?? unknown(code, 2);
}

export function alertLevelName(level: number): string {
  return level === AlertLevel.WARNING ? 'warning' : level === AlertLevel.FATAL ? 'fatal' : unknown(level, 2);
}

/** NamedGroup (RFC 8446 §4.2.7, RFC 8422, RFC 7919, and the IANA "TLS Supported Groups" registry). */
export const NamedGroup = {
  SECP256R1: 23,
  SECP384R1: 24,
  SECP521R1: 25,
  X25519: 29,
  X448: 30,
  FFDHE2048: 256,
  FFDHE3072: 257,
  FFDHE4096: 258,
  FFDHE6144: 259,
  FFDHE8192: 260,
  SECP256R1_MLKEM768: 0x11eb,
  X25519_MLKEM768: 0x11ec,
  SECP384R1_MLKEM1024: 0x11ed,
  X25519_KYBER768_DRAFT00: 0x6399,
} as const;

const GROUP_NAMES: Readonly<Record<number, string>> = {
  1: 'sect163k1',
  2: 'sect163r1',
  3: 'sect163r2',
  4: 'sect193r1',
  5: 'sect193r2',
  6: 'sect233k1',
  7: 'sect233r1',
  8: 'sect239k1',
  9: 'sect283k1',
  10: 'sect283r1',
  11: 'sect409k1',
  12: 'sect409r1',
  13: 'sect571k1',
  14: 'sect571r1',
  15: 'secp160k1',
  16: 'secp160r1',
  17: 'secp160r2',
  18: 'secp192k1',
  19: 'secp192r1',
  20: 'secp224k1',
  21: 'secp224r1',
  22: 'secp256k1',
  23: 'secp256r1',
  24: 'secp384r1',
  25: 'secp521r1',
  26: 'brainpoolP256r1',
  27: 'brainpoolP384r1',
  28: 'brainpoolP512r1',
  29: 'x25519',
  30: 'x448',
  31: 'brainpoolP256r1tls13',
  32: 'brainpoolP384r1tls13',
  33: 'brainpoolP512r1tls13',
  34: 'GC256A',
  35: 'GC256B',
  36: 'GC256C',
  37: 'GC256D',
  38: 'GC512A',
  39: 'GC512B',
  40: 'GC512C',
  41: 'curveSM2',
  256: 'ffdhe2048',
  257: 'ffdhe3072',
  258: 'ffdhe4096',
  259: 'ffdhe6144',
  260: 'ffdhe8192',
  0x0200: 'MLKEM512',
  0x0201: 'MLKEM768',
  0x0202: 'MLKEM1024',
  0x11eb: 'SecP256r1MLKEM768',
  0x11ec: 'X25519MLKEM768',
  0x11ed: 'SecP384r1MLKEM1024',
  0x6399: 'X25519Kyber768Draft00',
  0x639a: 'SecP256r1Kyber768Draft00',
  0xff01: 'arbitrary_explicit_prime_curves',
  0xff02: 'arbitrary_explicit_char2_curves',
};

export function namedGroupName(id: number): string {
  return GROUP_NAMES[id] ?? (isGrease(id) ? grease(id) : unknown(id, 4));
}

/**
 * ServerHello.random of a HelloRetryRequest: SHA-256("HelloRetryRequest") (RFC 8446 §4.1.3).
 */
export const HRR_RANDOM: Uint8Array = Uint8Array.from([
  0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
  0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
]);

/** Whether `b[off..off+32]` is HRR_RANDOM. */
export function isHrrRandom(b: Uint8Array, off = 0): boolean {
  if (off < 0 || off + 32 > b.length) return false;
  for (let i = 0; i < 32; i++) if (b[off + i] !== HRR_RANDOM[i]) return false;
  return true;
}

/**
 * RFC 8701 §2: the GREASE values for cipher suites, extensions, named groups, signature algorithms
 * and versions are the sixteen 0x?A?A codes with equal octets (0x0A0A, 0x1A1A, …, 0xFAFA).
 */
export function isGrease(v: number): boolean {
  return (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff) && v <= 0xffff;
}

/** RFC 8701 §2: PskKeyExchangeModes GREASE values are 0x0B, 0x2A, 0x49, …, 0xE4 (0x0B + 0x1F·k). */
export function isGreasePskMode(m: number): boolean {
  return m >= 0x0b && m <= 0xe4 && (m - 0x0b) % 0x1f === 0;
}

/** RFC 8701 §2: ALPN GREASE identifiers are the two-octet strings 0x?A?A with equal octets. */
export function isGreaseAlpn(b: Uint8Array, off: number, len: number): boolean {
  return len === 2 && b[off] === b[off + 1] && (b[off] & 0x0f) === 0x0a;
}

function hex(v: number, digits: number): string {
  return `0x${v.toString(16).padStart(digits, '0')}`;
}

function unknown(v: number, digits: number): string {
  return `Unknown (${hex(v, digits)})`;
}

function grease(v: number): string {
  return `GREASE (${hex(v, 4)})`;
}
