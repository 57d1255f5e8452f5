/**
 * TLS handshake messages in the clear: pure parsers of message bodies (the 4-octet handshake header
 * already removed, RFC 8446 §4) and a reassembler that cuts a direction's handshake-record
 * fragments into messages (§5.1).
 *
 * Every parser is a pure function of its input: it never throws, its work is linear in the input,
 * and what it returns is bounded by named limits (MAX_EXTENSIONS, MAX_LIST_VALUES,
 * MAX_ALPN_PROTOCOLS, MAX_CERTS_PARSED). Results never alias the input (random and session id are
 * copies).
 *
 * Leniency, on purpose (an analyzer wants what a message says even when a peer got a detail
 * wrong, as tshark does):
 *  - a length that runs past the end of the body is `truncated`; an inner length that contradicts
 *    its enclosing vector, or a fixed-size field with a wrong size, is `bad-length` — the whole
 *    message is then unusable and `ok: false`;
 *  - a malformed extension *body* (bad inner lengths, odd-length lists …) only loses that
 *    extension's value: it is counted in `malformedExtensions`, the rest of the message stands.
 *    A repeated extension type (forbidden by RFC 8446 §4.2) is counted there too; the first one wins;
 *  - octets after the last field are ignored;
 *  - GREASE values (RFC 8701) are left out of the value lists (cipher suites, versions, groups, key
 *    shares, PSK modes, ALPN), so a list says what the peer really supports; `extensionTypes` keeps
 *    the wire order, GREASE included, for fingerprints.
 */
import { X509Certificate } from 'node:crypto';
import { v6str } from '../capture/ip.js';
import {
  alertDescriptionName,
  ExtensionType as Ext,
  isGrease,
  isGreaseAlpn,
  isGreasePskMode,
  isHrrRandom,
  tls13Draft,
} from './constants.js';

/**
 * Largest handshake message kept (the 24-bit length allows 16 MiB). Larger ones — a 1 MB
 * certificate chain — are skipped as they stream by: counted in `skippedMessages`, never buffered.
 * Real messages stay far below: a ClientHello is under 2 KB (16 KB with post-quantum key shares),
 * a typical certificate chain 3–6 KB, and OpenSSL refuses chains above 100 KB by default.
 */
export const MAX_HANDSHAKE_MESSAGE_BYTES = 256 * 1024;
/** Extensions interpreted per hello; later ones are only walked and counted (`extensionsSkipped`). */
export const MAX_EXTENSIONS = 512;
/** ALPN protocol names kept from one ALPN extension (later ones count in `valuesSkipped`). */
export const MAX_ALPN_PROTOCOLS = 64;
/**
 * Entries kept per value list (cipher suites, versions, groups, key shares, PSK modes); later ones
 * count in `valuesSkipped`. Real lists are short (OpenSSL's longest default cipher list is ~140).
 */
export const MAX_LIST_VALUES = 1024;
/** Certificates decoded per Certificate message: only the leaf (the first entry). */
export const MAX_CERTS_PARSED = 1;
/** Subject alternative names kept from the leaf. */
export const MAX_SANS = 1024;
/** legacy_session_id<0..32> (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2). */
export const MAX_SESSION_ID_BYTES = 32;
/** First allocation for a message that does not fit the fragment it starts in (then doubled). */
const INITIAL_MESSAGE_BUFFER = 4096;

export interface ClientHello {
  legacyVersion: number;
  /** 32 octets (a copy). */
  random: Uint8Array;
  sessionId: Uint8Array;
  cipherSuites: number[];
  /** First host_name of server_name (RFC 6066 §3), as sent (latin1), or null. */
  sni: string | null;
  alpn: string[];
  /** supported_versions (RFC 8446 §4.2.1); empty when the extension is absent. */
  supportedVersions: number[];
  /** Groups of the key_share entries (RFC 8446 §4.2.8; draft code point 40 too). */
  keyShareGroups: number[];
  supportedGroups: number[];
  /** session_ticket (RFC 5077 §3.2): absent, empty (asks for a ticket) or carrying one (resumption). */
  sessionTicket: 'none' | 'empty' | 'present';
  /** Identities offered in pre_shared_key (RFC 8446 §4.2.11); 0 without the extension. */
  pskIdentities: number;
  pskModes: number[];
  earlyData: boolean;
  /** encrypted_client_hello (0xfe0d) present (outer or inner ClientHello). */
  ech: boolean;
  extendedMasterSecret: boolean;
  encryptThenMac: boolean;
  /** Extension types in wire order (GREASE included), the first MAX_EXTENSIONS. */
  extensionTypes: number[];
  /** Extensions past MAX_EXTENSIONS: walked and counted, not interpreted. */
  extensionsSkipped: number;
  /** Extensions whose body could not be used, or repeated types (RFC 8446 §4.2). */
  malformedExtensions: number;
  /** List entries dropped at MAX_LIST_VALUES / MAX_ALPN_PROTOCOLS. */
  valuesSkipped: number;
}

export interface ServerHello {
  legacyVersion: number;
  random: Uint8Array;
  /** Empty for TLS 1.3 drafts ≤ 21, whose ServerHello had none. */
  sessionId: Uint8Array;
  cipherSuite: number;
  /** The selected version: supported_versions if present (RFC 8446 §4.2.1), else legacy_version. */
  version: number;
  /** random is HRR_RANDOM (RFC 8446 §4.1.3). */
  helloRetryRequest: boolean;
  /** pre_shared_key selected_identity (RFC 8446 §4.2.11). */
  pskSelected: number | null;
  /** key_share: the server's share group, or an HRR's selected_group (RFC 8446 §4.2.8). */
  keyShareGroup: number | null;
  /** TLS ≤ 1.2 put ALPN in the ServerHello (RFC 7301 §3.1); TLS 1.3 in EncryptedExtensions. */
  alpn: string | null;
  extendedMasterSecret: boolean;
  encryptThenMac: boolean;
  /** session_ticket echoed: the server will send NewSessionTicket (RFC 5077 §3.2). */
  sessionTicket: boolean;
  extensionTypes: number[];
  extensionsSkipped: number;
  malformedExtensions: number;
}

export interface EncryptedExtensions {
  alpn: string | null;
  /** early_data accepted (RFC 8446 §4.2.10). */
  earlyData: boolean;
  /** server_name acknowledged (empty extension, RFC 6066 §3). */
  serverName: boolean;
  extensionTypes: number[];
  extensionsSkipped: number;
  malformedExtensions: number;
}

export interface CertificateInfo {
  /** As node:crypto gives them: one `KEY=value` per line. */
  subject: string;
  issuer: string;
  /** DNS names and IP addresses (canonical text) of subjectAltName, without prefixes, in order. */
  sans: string[];
  /** ISO 8601 (UTC). */
  notBefore: string | null;
  notAfter: string | null;
  /** Hex, upper case, as node:crypto gives it. */
  serial?: string;
}

export interface CertificateMsg {
  /** Entries in certificate_list. */
  certs: number;
  /** The first entry, decoded; null when there is none or it is not a readable X.509 certificate. */
  leaf: CertificateInfo | null;
  /** Why `leaf` is null although certs > 0 ('bad-certificate'), else null. */
  leafError: string | null;
  /** Octets of certificate_list (the chain as sent, with its per-entry framing). */
  bytes: number;
}

export interface NewSessionTicket {
  /** ticket_lifetime (RFC 8446 §4.6.1) or ticket_lifetime_hint (RFC 5077 §3.3), seconds. */
  lifetimeS: number;
  /** early_data max_early_data_size (RFC 8446 §4.2.10); null when absent or TLS ≤ 1.2. */
  earlyDataMax: number | null;
  ticketBytes: number;
}

export interface Alert {
  level: number;
  description: number;
  name: string;
}

/** `error` is a stable short code: 'truncated' | 'bad-length'. */
export type ParseResult<T> = { ok: true; value: T } | { ok: false; error: string; detail: string };

const EMPTY = new Uint8Array(0);

function fail<T>(error: string, detail: string): ParseResult<T> {
  return { ok: false, error, detail };
}

/**
 * A cursor over b[p, end). A read past `end` sets `bad` and yields 0 / an empty vector; callers
 * check `bad` after a group of reads. Nothing here throws.
 */
class Cursor {
  bad = false;
  constructor(
    readonly b: Uint8Array,
    public p: number,
    readonly end: number,
  ) {}

  get left(): number {
    return this.end - this.p;
  }

  u8(): number {
    if (this.p + 1 > this.end) return this.short();
    return this.b[this.p++];
  }

  u16(): number {
    if (this.p + 2 > this.end) return this.short();
    const v = (this.b[this.p] << 8) | this.b[this.p + 1];
    this.p += 2;
    return v;
  }

  u24(): number {
    if (this.p + 3 > this.end) return this.short();
    const v = (this.b[this.p] << 16) | (this.b[this.p + 1] << 8) | this.b[this.p + 2];
    this.p += 3;
    return v;
  }

  u32(): number {
    if (this.p + 4 > this.end) return this.short();
    const b = this.b;
    const v = ((b[this.p] << 24) | (b[this.p + 1] << 16) | (b[this.p + 2] << 8) | b[this.p + 3]) >>> 0;
    this.p += 4;
    return v;
  }

  /** Skips n octets and returns where they start (-1 if they are not all there). */
  skip(n: number): number {
    if (this.p + n > this.end) {
      this.short();
      return -1;
    }
    const at = this.p;
    this.p += n;
    return at;
  }

  /** A vector with a `lenBytes`-octet length prefix (RFC 8446 §3.4): a cursor over its content. */
  vec(lenBytes: 1 | 2 | 3): Cursor {
    const n = lenBytes === 1 ? this.u8() : lenBytes === 2 ? this.u16() : this.u24();
    const at = this.bad ? -1 : this.skip(n);
    if (at < 0) return new Cursor(this.b, this.end, this.end);
    return new Cursor(this.b, at, at + n);
  }

  /** A copy of the cursor's remaining octets. */
  copyRest(): Uint8Array {
    return this.left > 0 ? new Uint8Array(this.b.subarray(this.p, this.end)) : EMPTY;
  }

  latin1(at: number, n: number): string {
    return Buffer.from(this.b.buffer, this.b.byteOffset + at, n).toString('latin1');
  }

  private short(): number {
    this.bad = true;
    this.p = this.end;
    return 0;
  }
}

interface ListState {
  valuesSkipped: number;
}

/** A list of u16 values filling `c` (GREASE left out, capped at MAX_LIST_VALUES). Odd length: bad. */
function u16List(c: Cursor, st: ListState): number[] {
  const out: number[] = [];
  if (c.left % 2 !== 0) c.bad = true;
  while (c.left >= 2) {
    const v = c.u16();
    if (isGrease(v)) continue;
    if (out.length < MAX_LIST_VALUES) out.push(v);
    else st.valuesSkipped++;
  }
  return out;
}

/** ProtocolNameList (RFC 7301 §3.1): protocol_name_list<2..2^16-1> of opaque<1..2^8-1>. */
function alpnList(c: Cursor, st: ListState): string[] {
  const list = c.vec(2);
  const out: string[] = [];
  while (list.left > 0 && !list.bad) {
    const name = list.vec(1);
    if (name.bad || name.left === 0) {
      list.bad = true;
      break;
    }
    if (isGreaseAlpn(list.b, name.p, name.left)) continue;
    if (out.length < MAX_ALPN_PROTOCOLS) out.push(list.latin1(name.p, name.left));
    else st.valuesSkipped++;
  }
  if (list.bad) c.bad = true;
  return out;
}

/** ServerNameList (RFC 6066 §3): the first host_name (type 0), or null. */
function serverName(c: Cursor): string | null {
  const list = c.vec(2);
  let host: string | null = null;
  while (list.left > 0 && !list.bad) {
    const type = list.u8();
    const name = list.vec(2);
    if (list.bad) break;
    if (type === 0 && host === null) host = list.latin1(name.p, name.left);
  }
  if (list.bad) c.bad = true;
  return host;
}

interface ExtWalk {
  types: number[];
  skipped: number;
  malformed: number;
}

/**
 * Walks an extensions block (RFC 8446 §4.2: Extension extensions<..>; each extension_type u16,
 * extension_data<0..2^16-1>). The first MAX_EXTENSIONS are recorded and, for the first of each
 * type, handed to `visit` with a cursor over their data; a visit that leaves the cursor `bad`
 * counts as malformed. Returns an error detail when an extension header or length breaks the block.
 */
function walkExtensions(block: Cursor, w: ExtWalk, visit: (type: number, data: Cursor) => void): string | null {
  const seen = new Set<number>();
  let n = 0;
  while (block.left > 0) {
    if (block.left < 4) return `extension header cut short at offset ${block.p} (${block.left} octets left)`;
    const type = block.u16();
    const len = block.u16();
    if (len > block.left) return `extension ${type} at offset ${block.p - 4} claims ${len} octets, ${block.left} left in the block`;
    const at = block.p;
    block.p += len;
    if (n++ >= MAX_EXTENSIONS) {
      w.skipped++;
      continue;
    }
    w.types.push(type);
    // RFC 8446 §4.2: "There MUST NOT be more than one extension of the same type in a given
    // extension block." The first one is used.
    if (seen.has(type)) {
      w.malformed++;
      continue;
    }
    seen.add(type);
    const data = new Cursor(block.b, at, at + len);
    visit(type, data);
    if (data.bad) w.malformed++;
  }
  return null;
}

/** ClientHello (RFC 8446 §4.1.2; RFC 5246 §7.4.1.2 for TLS ≤ 1.2). */
export function parseClientHello(body: Uint8Array): ParseResult<ClientHello> {
  const r = new Cursor(body, 0, body.length);
  const legacyVersion = r.u16();
  const randomAt = r.skip(32);
  const sid = r.vec(1);
  const suites = r.vec(2);
  r.vec(1); // legacy_compression_methods
  if (r.bad) return fail('truncated', `ClientHello ends at ${body.length} octets, before its compression methods`);
  if (sid.left > MAX_SESSION_ID_BYTES) return fail('bad-length', `legacy_session_id of ${sid.left} octets (max 32, RFC 8446 §4.1.2)`);
  if (suites.left % 2 !== 0) return fail('bad-length', `cipher_suites of odd length ${suites.left}`);
  const st: ListState = { valuesSkipped: 0 };
  const ch: ClientHello = {
    legacyVersion,
    random: new Uint8Array(body.subarray(randomAt, randomAt + 32)),
    sessionId: sid.copyRest(),
    cipherSuites: u16List(suites, st),
    sni: null,
    alpn: [],
    supportedVersions: [],
    keyShareGroups: [],
    supportedGroups: [],
    sessionTicket: 'none',
    pskIdentities: 0,
    pskModes: [],
    earlyData: false,
    ech: false,
    extendedMasterSecret: false,
    encryptThenMac: false,
    extensionTypes: [],
    extensionsSkipped: 0,
    malformedExtensions: 0,
    valuesSkipped: 0,
  };
  // RFC 5246 §7.4.1.2: a TLS ≤ 1.2 ClientHello may end after compression_methods (no extensions).
  if (r.left > 0) {
    const block = r.vec(2);
    if (r.bad) return fail('truncated', `extensions block of ClientHello runs past its ${body.length} octets`);
    const w: ExtWalk = { types: ch.extensionTypes, skipped: 0, malformed: 0 };
    let keyShareSeen = false;
    const err = walkExtensions(block, w, (type, d) => {
      switch (type) {
        case Ext.SERVER_NAME: {
          const host = serverName(d);
          if (!d.bad) ch.sni = host;
          break;
        }
        case Ext.ALPN: {
          const names = alpnList(d, st);
          if (!d.bad) ch.alpn = names;
          break;
        }
        case Ext.SUPPORTED_VERSIONS: {
          // RFC 8446 §4.2.1: ProtocolVersion versions<2..254> in the ClientHello.
          const list = d.vec(1);
          const v = u16List(list, st);
          if (list.bad) d.bad = true;
          else ch.supportedVersions = v;
          break;
        }
        case Ext.SUPPORTED_GROUPS: {
          const list = d.vec(2);
          const g = u16List(list, st);
          if (list.bad) d.bad = true;
          else ch.supportedGroups = g;
          break;
        }
        case Ext.KEY_SHARE:
        case Ext.KEY_SHARE_DRAFT: {
          // RFC 8446 §4.2.8: KeyShareEntry client_shares<0..2^16-1>; {NamedGroup group;
          // opaque key_exchange<1..2^16-1>}. Drafts ≤ 22 used code point 40 with the same layout;
          // a client offering drafts on both sides of the change may send both: the first is used.
          if (keyShareSeen) break;
          keyShareSeen = true;
          const list = d.vec(2);
          const groups: number[] = [];
          while (list.left > 0 && !list.bad) {
            const g = list.u16();
            list.vec(2);
            if (list.bad || isGrease(g)) continue;
            if (groups.length < MAX_LIST_VALUES) groups.push(g);
            else st.valuesSkipped++;
          }
          if (list.bad) d.bad = true;
          else ch.keyShareGroups = groups;
          break;
        }
        case Ext.SESSION_TICKET:
          // RFC 5077 §3.2: empty to ask for a ticket, the ticket itself to resume.
          ch.sessionTicket = d.left === 0 ? 'empty' : 'present';
          break;
        case Ext.PRE_SHARED_KEY: {
          // RFC 8446 §4.2.11: OfferedPsks { PskIdentity identities<7..2^16-1>; binders }.
          const ids = d.vec(2);
          let n = 0;
          while (ids.left > 0 && !ids.bad) {
            ids.vec(2);
            ids.u32(); // obfuscated_ticket_age
            if (!ids.bad) n++;
          }
          if (ids.bad) d.bad = true;
          else ch.pskIdentities = n;
          break;
        }
        case Ext.PSK_KEY_EXCHANGE_MODES: {
          // RFC 8446 §4.2.9: PskKeyExchangeMode ke_modes<1..255>.
          const list = d.vec(1);
          const modes: number[] = [];
          while (list.left > 0) {
            const m = list.u8();
            if (isGreasePskMode(m)) continue;
            if (modes.length < MAX_LIST_VALUES) modes.push(m);
            else st.valuesSkipped++;
          }
          if (!d.bad) ch.pskModes = modes;
          break;
        }
        case Ext.EARLY_DATA:
          ch.earlyData = true; // RFC 8446 §4.2.10
          break;
        case Ext.ENCRYPTED_CLIENT_HELLO:
          ch.ech = true;
          break;
        case Ext.EXTENDED_MASTER_SECRET:
          ch.extendedMasterSecret = true; // RFC 7627 §5.1
          break;
        case Ext.ENCRYPT_THEN_MAC:
          ch.encryptThenMac = true; // RFC 7366 §2
          break;
      }
    });
    if (err !== null) return fail('bad-length', err);
    ch.extensionsSkipped = w.skipped;
    ch.malformedExtensions = w.malformed;
  }
  ch.valuesSkipped = st.valuesSkipped;
  return { ok: true, value: ch };
}

/** ServerHello (RFC 8446 §4.1.3; RFC 5246 §7.4.1.3; TLS 1.3 drafts ≤ 21), HelloRetryRequest included. */
export function parseServerHello(body: Uint8Array): ParseResult<ServerHello> {
  const r = new Cursor(body, 0, body.length);
  const legacyVersion = r.u16();
  const randomAt = r.skip(32);
  const draft = tls13Draft(legacyVersion);
  // draft-ietf-tls-tls13-21 §4.1.3 and earlier: { version; random; cipher_suite; extensions<0..2^16-1> }
  // — no session id, no compression method. Draft 22 moved to the RFC 8446 layout.
  const oldDraft = draft !== null && draft < 22;
  const sid = oldDraft ? new Cursor(body, 0, 0) : r.vec(1);
  const cipherSuite = r.u16();
  if (!oldDraft) r.u8(); // legacy_compression_method
  if (r.bad) return fail('truncated', `ServerHello ends at ${body.length} octets, before its cipher suite and compression method`);
  if (sid.left > MAX_SESSION_ID_BYTES) return fail('bad-length', `legacy_session_id_echo of ${sid.left} octets (max 32, RFC 8446 §4.1.3)`);
  const hrr = isHrrRandom(body, randomAt);
  const sh: ServerHello = {
    legacyVersion,
    random: new Uint8Array(body.subarray(randomAt, randomAt + 32)),
    sessionId: sid.copyRest(),
    cipherSuite,
    version: legacyVersion,
    helloRetryRequest: hrr,
    pskSelected: null,
    keyShareGroup: null,
    alpn: null,
    extendedMasterSecret: false,
    encryptThenMac: false,
    sessionTicket: false,
    extensionTypes: [],
    extensionsSkipped: 0,
    malformedExtensions: 0,
  };
  if (r.left > 0) {
    const block = r.vec(2);
    if (r.bad) return fail('truncated', `extensions block of ServerHello runs past its ${body.length} octets`);
    const w: ExtWalk = { types: sh.extensionTypes, skipped: 0, malformed: 0 };
    const st: ListState = { valuesSkipped: 0 };
    let keyShareSeen = false;
    const err = walkExtensions(block, w, (type, d) => {
      switch (type) {
        case Ext.SUPPORTED_VERSIONS:
          // RFC 8446 §4.2.1: ServerHello carries selected_version, and "if this extension is
          // present, clients MUST ignore the ServerHello.legacy_version value".
          if (d.left !== 2) d.bad = true;
          else sh.version = d.u16();
          break;
        case Ext.KEY_SHARE:
        case Ext.KEY_SHARE_DRAFT: {
          if (keyShareSeen) break;
          keyShareSeen = true;
          // RFC 8446 §4.2.8: HRR carries NamedGroup selected_group; ServerHello a KeyShareEntry.
          const g = d.u16();
          if (!hrr) d.vec(2);
          if (!d.bad) sh.keyShareGroup = g;
          break;
        }
        case Ext.PRE_SHARED_KEY: {
          const sel = d.u16(); // RFC 8446 §4.2.11 selected_identity
          if (!d.bad) sh.pskSelected = sel;
          break;
        }
        case Ext.ALPN: {
          // RFC 7301 §3.1: the server's list holds exactly one name.
          const names = alpnList(d, st);
          if (!d.bad) sh.alpn = names[0] ?? null;
          break;
        }
        case Ext.EXTENDED_MASTER_SECRET:
          sh.extendedMasterSecret = true;
          break;
        case Ext.ENCRYPT_THEN_MAC:
          sh.encryptThenMac = true;
          break;
        case Ext.SESSION_TICKET:
          sh.sessionTicket = true; // RFC 5077 §3.2
          break;
      }
    });
    if (err !== null) return fail('bad-length', err);
    sh.extensionsSkipped = w.skipped;
    sh.malformedExtensions = w.malformed;
  }
  return { ok: true, value: sh };
}

/** EncryptedExtensions (RFC 8446 §4.3.1): Extension extensions<0..2^16-1>. */
export function parseEncryptedExtensions(body: Uint8Array): ParseResult<EncryptedExtensions> {
  const r = new Cursor(body, 0, body.length);
  const block = r.vec(2);
  if (r.bad) return fail('truncated', `EncryptedExtensions of ${body.length} octets is shorter than its extensions block`);
  const ee: EncryptedExtensions = { alpn: null, earlyData: false, serverName: false, extensionTypes: [], extensionsSkipped: 0, malformedExtensions: 0 };
  const w: ExtWalk = { types: ee.extensionTypes, skipped: 0, malformed: 0 };
  const st: ListState = { valuesSkipped: 0 };
  const err = walkExtensions(block, w, (type, d) => {
    if (type === Ext.ALPN) {
      const names = alpnList(d, st);
      if (!d.bad) ee.alpn = names[0] ?? null;
    } else if (type === Ext.EARLY_DATA) ee.earlyData = true;
    else if (type === Ext.SERVER_NAME) ee.serverName = true;
  });
  if (err !== null) return fail('bad-length', err);
  ee.extensionsSkipped = w.skipped;
  ee.malformedExtensions = w.malformed;
  return { ok: true, value: ee };
}

/**
 * Certificate: RFC 8446 §4.4.2 for TLS 1.3 (certificate_request_context, then CertificateEntry
 * certificate_list<0..2^24-1> with per-entry extensions), RFC 5246 §7.4.2 before
 * (ASN.1Cert certificate_list<0..2^24-1>). All entries are counted; only the leaf is decoded
 * (MAX_CERTS_PARSED), with node:crypto. An unreadable leaf (garbage, a raw public key per RFC 7250)
 * leaves `leaf` null and says why in `leafError`; the message itself is still `ok`.
 */
export function parseCertificate(body: Uint8Array, tls13: boolean): ParseResult<CertificateMsg> {
  const r = new Cursor(body, 0, body.length);
  if (tls13) r.vec(1); // certificate_request_context
  const list = r.vec(3);
  if (r.bad) return fail('truncated', `Certificate of ${body.length} octets is shorter than its certificate_list`);
  const bytes = list.left;
  let certs = 0;
  let leafAt = -1;
  let leafLen = 0;
  while (list.left > 0) {
    const cert = list.vec(3);
    if (tls13) list.vec(2); // per-entry extensions
    if (list.bad) return fail('bad-length', `certificate entry ${certs} overruns certificate_list (${bytes} octets)`);
    if (certs === 0) {
      leafAt = cert.p;
      leafLen = cert.left;
    }
    certs++;
  }
  let leaf: CertificateInfo | null = null;
  let leafError: string | null = null;
  if (certs > 0) {
    leaf = decodeCertificate(body.subarray(leafAt, leafAt + leafLen));
    if (leaf === null) leafError = 'bad-certificate';
  }
  return { ok: true, value: { certs, leaf, leafError, bytes } };
}

/** X.509 DER → CertificateInfo, or null when node:crypto cannot read it. Never throws. */
/**
 * Decoded leaf certificates remembered by their DER bytes: a capture repeats one server's
 * certificate on every connection, and X509Certificate costs ~0.3 ms. Least recently added first out.
 */
export const MAX_CERT_CACHE = 256;
/** Larger certificates are decoded each time (the cache holds at most 256 × 16 KiB). */
export const MAX_CACHED_CERT_BYTES = 16 * 1024;
const certCache = new Map<string, CertificateInfo | null>();

export function decodeCertificate(der: Uint8Array): CertificateInfo | null {
  // Only DER (a SEQUENCE) is accepted: node would otherwise also take a PEM text.
  if (der.length < 2 || der[0] !== 0x30) return null;
  if (der.length > MAX_CACHED_CERT_BYTES) return decodeCertificateUncached(der);
  const key = Buffer.from(der.buffer, der.byteOffset, der.length).toString('latin1');
  const hit = certCache.get(key);
  if (hit !== undefined) return hit && { ...hit, sans: [...hit.sans] };
  const info = decodeCertificateUncached(der);
  if (certCache.size >= MAX_CERT_CACHE) certCache.delete(certCache.keys().next().value!);
  certCache.set(key, info);
  return info && { ...info, sans: [...info.sans] };
}

function decodeCertificateUncached(der: Uint8Array): CertificateInfo | null {
  try {
    const x = new X509Certificate(der);
    return {
      subject: x.subject ?? '',
      issuer: x.issuer ?? '',
      sans: parseSubjectAltName(x.subjectAltName ?? ''),
      notBefore: opensslTimeToIso(x.validFrom),
      notAfter: opensslTimeToIso(x.validTo),
      serial: x.serialNumber,
    };
  } catch {
    return null;
  }
}

/**
 * node's subjectAltName string ("DNS:a, IP Address:192.0.2.1, email:x@y") → DNS names and IP
 * addresses. Since Node 17.3 a value with a comma, quote or non-ASCII character is written as a
 * JSON string ("DNS:\"a\\u002c b\""), so entries are split on ", " outside quotes only.
 * IPv6 addresses are rewritten from node's uncompressed form to RFC 5952 text.
 */
export function parseSubjectAltName(s: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < s.length && out.length < MAX_SANS) {
    const colon = s.indexOf(':', i);
    if (colon < 0) break;
    const kind = s.slice(i, colon);
    let value: string;
    let next: number;
    if (s[colon + 1] === '"') {
      // A JSON string: find the closing quote (not escaped).
      let j = colon + 2;
      while (j < s.length && s[j] !== '"') j += s[j] === '\\' ? 2 : 1;
      try {
        value = JSON.parse(s.slice(colon + 1, j + 1)) as string;
      } catch {
        value = s.slice(colon + 2, j);
      }
      next = s.indexOf(', ', j + 1);
    } else {
      next = s.indexOf(', ', colon + 1);
      value = s.slice(colon + 1, next < 0 ? s.length : next);
    }
    if (kind === 'DNS') out.push(value);
    else if (kind === 'IP Address') out.push(canonicalIp(value));
    if (next < 0) break;
    i = next + 2;
  }
  return out;
}

function canonicalIp(v: string): string {
  if (!v.includes(':')) return v;
  const parts = v.split(':');
  if (parts.length !== 8) return v.toLowerCase();
  const b = new Uint8Array(16);
  for (let k = 0; k < 8; k++) {
    const w = parseInt(parts[k], 16);
    if (!(w >= 0 && w <= 0xffff)) return v.toLowerCase();
    b[2 * k] = w >> 8;
    b[2 * k + 1] = w & 0xff;
  }
  return v6str(b, 0);
}

const MONTHS: Readonly<Record<string, number>> = { Jan: 0, Feb: 1, Mar: 2, Apr: 3, May: 4, Jun: 5, Jul: 6, Aug: 7, Sep: 8, Oct: 9, Nov: 10, Dec: 11 };

/** OpenSSL's ASN1_TIME_print form ("May 31 03:52:05 2021 GMT") → ISO 8601, or null. */
function opensslTimeToIso(s: string | undefined): string | null {
  if (!s) return null;
  const m = /^([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})(?:\.\d+)? (\d{1,4}) GMT$/.exec(s);
  if (!m || MONTHS[m[1]] === undefined) return null;
  const d = new Date(0);
  d.setUTCFullYear(Number(m[6]), MONTHS[m[1]], Number(m[2]));
  d.setUTCHours(Number(m[3]), Number(m[4]), Number(m[5]), 0);
  return Number.isFinite(d.getTime()) ? d.toISOString() : null;
}

/**
 * NewSessionTicket: RFC 8446 §4.6.1 (ticket_lifetime, ticket_age_add, ticket_nonce<0..255>,
 * ticket<1..2^16-1>, extensions with early_data's max_early_data_size, §4.2.10) or RFC 5077 §3.3
 * (ticket_lifetime_hint, ticket<0..2^16-1>). Null when malformed.
 */
export function parseNewSessionTicket(body: Uint8Array, tls13: boolean): NewSessionTicket | null {
  const r = new Cursor(body, 0, body.length);
  const lifetimeS = r.u32();
  if (!tls13) {
    const ticket = r.vec(2);
    return r.bad ? null : { lifetimeS, earlyDataMax: null, ticketBytes: ticket.left };
  }
  r.u32(); // ticket_age_add
  r.vec(1); // ticket_nonce
  const ticket = r.vec(2);
  const block = r.vec(2);
  if (r.bad) return null;
  let earlyDataMax: number | null = null;
  const w: ExtWalk = { types: [], skipped: 0, malformed: 0 };
  const err = walkExtensions(block, w, (type, d) => {
    if (type !== Ext.EARLY_DATA) return;
    const max = d.u32();
    if (!d.bad) earlyDataMax = max;
  });
  if (err !== null) return null;
  return { lifetimeS, earlyDataMax, ticketBytes: ticket.left };
}

/**
 * A plaintext Alert record fragment (RFC 8446 §6: AlertLevel level; AlertDescription description).
 * Null unless it is exactly two octets with a defined level (1 warning, 2 fatal): an encrypted
 * alert (TLS ≤ 1.2 after ChangeCipherSpec) is longer and must not be read as one.
 */
export function parseAlert(fragment: Uint8Array): Alert | null {
  if (fragment.length !== 2) return null;
  const level = fragment[0];
  if (level !== 1 && level !== 2) return null;
  const description = fragment[1];
  return { level, description, name: alertDescriptionName(description) };
}

export interface HandshakeReassemblerLimits {
  /** Largest message buffered (default MAX_HANDSHAKE_MESSAGE_BYTES); larger ones are skipped. */
  maxMessageBytes?: number;
}

/**
 * Reassembles handshake messages from successive plaintext handshake-record fragments of one
 * direction (RFC 8446 §5.1: "Handshake messages MAY be coalesced into a single TLSPlaintext
 * record or fragmented across several records").
 *
 * Call order: `onMessage(type, body)` for each complete message, in order, during `push`; the body
 * is valid only during the call (it may be a view of the pushed fragment). A message longer than
 * `maxMessageBytes` is not buffered: `onSkipped(type, length)` is called when its header is seen,
 * `skippedMessages` counts it, and its octets are discarded as they arrive.
 *
 * Cost: a message that lies within one fragment is delivered as a view, without a copy; one that
 * spans fragments is copied into a buffer grown by doubling, so each octet costs amortised O(1)
 * and a message in one-octet fragments costs O(n) in all. Memory: at most one
 * buffer of the message's length (≤ maxMessageBytes), grown with what has arrived — a header that
 * announces 256 KB followed by nothing holds 4 KB.
 */
export class HandshakeReassembler {
  private readonly maxMessageBytes: number;
  private readonly hdr = new Uint8Array(4);
  /** Header octets received of the current message (4 once the header is complete). */
  private hdrFill = 0;
  private type = 0;
  private length = 0;
  /** Body octets received (buffered, or discarded when skipping). */
  private fill = 0;
  private buf: Uint8Array | null = null;
  private skipping = false;
  private skipped = 0;
  private delivered = 0;

  constructor(
    private readonly onMessage: (type: number, body: Uint8Array) => void,
    limits: HandshakeReassemblerLimits = {},
    private readonly onSkipped?: (type: number, length: number) => void,
  ) {
    this.maxMessageBytes = limits.maxMessageBytes ?? MAX_HANDSHAKE_MESSAGE_BYTES;
  }

  /** Messages skipped for exceeding maxMessageBytes. */
  get skippedMessages(): number {
    return this.skipped;
  }

  /** Messages delivered to onMessage. */
  get messages(): number {
    return this.delivered;
  }

  /**
   * Octets received of the message in progress (header included; skipped octets too), 0 at a
   * message boundary. RFC 8446 §5.1: handshake messages must not span a key change, so a caller
   * can check this is 0 when keys change.
   */
  get pending(): number {
    return this.hdrFill < 4 ? this.hdrFill : 4 + this.fill;
  }

  /** Octets of memory held for the message in progress. */
  get heldBytes(): number {
    return (this.buf?.length ?? 0) + this.hdrFill;
  }

  /** Forget the message in progress (e.g. after a capture gap). */
  reset(): void {
    this.hdrFill = 0;
    this.fill = 0;
    this.buf = null;
    this.skipping = false;
  }

  /** Push the next fragment of this direction's handshake records (copied where it must be kept). */
  push(fragment: Uint8Array): void {
    const n = fragment.length;
    let i = 0;
    while (i < n) {
      if (this.hdrFill < 4) {
        if (this.hdrFill === 0 && n - i >= 4) {
          // Handshake header (RFC 8446 §4): msg_type u8, length u24.
          this.type = fragment[i];
          this.length = (fragment[i + 1] << 16) | (fragment[i + 2] << 8) | fragment[i + 3];
          i += 4;
        } else {
          while (this.hdrFill < 4 && i < n) this.hdr[this.hdrFill++] = fragment[i++];
          if (this.hdrFill < 4) return;
          this.type = this.hdr[0];
          this.length = (this.hdr[1] << 16) | (this.hdr[2] << 8) | this.hdr[3];
        }
        this.hdrFill = 4;
        this.fill = 0;
        if (this.length > this.maxMessageBytes) {
          this.skipping = true;
          this.skipped++;
          this.onSkipped?.(this.type, this.length);
          if (!this.skipping) continue; // onSkipped called reset()
        } else if (this.length <= n - i) {
          // The whole body is in this fragment: deliver a view, no copy.
          const body = fragment.subarray(i, i + this.length);
          i += this.length;
          this.hdrFill = 0;
          this.delivered++;
          this.onMessage(this.type, body);
          continue;
        }
      }
      const take = Math.min(this.length - this.fill, n - i);
      if (take === 0) return; // header complete, body still to come
      if (this.skipping) {
        this.fill += take;
        i += take;
      } else {
        this.ensure(this.fill + take);
        this.buf!.set(fragment.subarray(i, i + take), this.fill);
        this.fill += take;
        i += take;
      }
      if (this.fill === this.length) {
        const body = this.buf === null ? EMPTY : this.buf.subarray(0, this.length);
        const wasSkipping = this.skipping;
        this.reset();
        if (!wasSkipping) {
          this.delivered++;
          this.onMessage(this.type, body);
        }
      }
    }
  }

  /** Capacity for `need` body octets, doubling (capped at the message length). */
  private ensure(need: number): void {
    const cap = this.buf?.length ?? 0;
    if (need <= cap) return;
    const next = Math.min(this.length, Math.max(need, cap * 2, INITIAL_MESSAGE_BUFFER));
    const b = new Uint8Array(next);
    if (this.buf !== null && this.fill > 0) b.set(this.buf.subarray(0, this.fill));
    this.buf = b;
  }
}
