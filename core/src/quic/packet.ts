/**
 * QUIC packet headers (RFC 9000 §17; RFC 8999 for the version-independent parts), parsed without
 * removing protection: what the table needs to find the connection and the epoch, and where the
 * packet number and payload sit.
 *
 *   Long header (§17.2):  1 F TT xxxx | Version (32) | DCID Len (8) | DCID | SCID Len (8) | SCID | …
 *     Initial (§17.2.2):     … Token Length (i) | Token | Length (i) | Packet Number | Payload
 *     0-RTT, Handshake:      … Length (i) | Packet Number | Payload
 *     Retry (§17.2.5):       … Retry Token | Retry Integrity Tag (128)
 *     Version Negotiation (§17.2.1): Version 0 | DCID | SCID | Supported Version (32) …
 *   Short header (§17.3.1): 0 1 S RR K PP | DCID (length known only to the endpoints) | PN | Payload
 *
 * Several long-header packets may be coalesced in one datagram (§12.2): each one's Length field
 * ends it; a short-header packet, a Retry, a Version Negotiation packet or a packet of an unknown
 * version runs to the end of the datagram.
 *
 * Nothing throws: a header that does not fit is returned as `{ ok: false, error }` with a stable
 * code ('truncated', 'bad-cid-length', 'bad-length').
 */
import { QuicReader } from './varint.js';
import { VERSION_NEGOTIATION, versionParams, type LongPacketType, type VersionParams } from './version.js';

/** RFC 9000 §17.2: in version 1 a connection ID is at most 20 octets. */
export const MAX_CID_LEN = 20;

export type PacketType = LongPacketType | '1rtt' | 'vn';

export interface PacketHeader {
  long: boolean;
  type: PacketType;
  /** Version field (long headers); 0 for Version Negotiation and for short headers. */
  version: number;
  /** Known version parameters, or undefined (unknown version, VN, short header). */
  vp: VersionParams | undefined;
  /** The fixed bit (0x40) was set (RFC 9000 §17.2; RFC 9287 lets peers grease it). */
  fixedBit: boolean;
  dcid: Uint8Array;
  scid: Uint8Array;
  /** Initial: the token (empty when none); Retry: the retry token. */
  token: Uint8Array;
  /** Offsets in the datagram: the packet's first octet, its packet number, its end (exclusive). */
  start: number;
  pnOffset: number;
  end: number;
  /** Version Negotiation: the versions the server offers. */
  versions?: number[];
}

export type HeaderResult = { ok: true; h: PacketHeader } | { ok: false; error: string; detail: string };

const EMPTY: Uint8Array = new Uint8Array(0);

function fail(error: string, detail: string): HeaderResult {
  return { ok: false, error, detail };
}

/** Versions kept from one Version Negotiation packet (more are counted only). */
export const MAX_VN_VERSIONS = 64;

/** Parses the long-header packet at data[start] (the caller checked the 0x80 bit). */
export function parseLongHeader(data: Uint8Array, start: number): HeaderResult {
  const r = new QuicReader(data, start, data.length);
  const first = r.u8();
  const version = r.u32();
  const dcidLen = r.u8();
  const dcid = r.bytes(dcidLen);
  const scidLen = r.u8();
  const scid = r.bytes(scidLen);
  if (r.bad) return fail('truncated', `long header of ${data.length - start} octets ends inside its connection IDs`);
  const fixedBit = (first & 0x40) !== 0;
  if (version === VERSION_NEGOTIATION) {
    // §17.2.1: the rest is a list of 32-bit versions; the packet runs to the end of the datagram.
    const versions: number[] = [];
    while (r.left >= 4) {
      const v = r.u32();
      if (versions.length < MAX_VN_VERSIONS) versions.push(v);
    }
    return { ok: true, h: { long: true, type: 'vn', version, vp: undefined, fixedBit, dcid, scid, token: EMPTY, start, pnOffset: r.p, end: data.length, versions } };
  }
  const vp = versionParams(version);
  if (!vp) {
    // Unknown version: only the invariant fields (RFC 8999 §5.1) can be read; it runs to the end.
    return { ok: true, h: { long: true, type: 'initial', version, vp: undefined, fixedBit, dcid, scid, token: EMPTY, start, pnOffset: r.p, end: data.length } };
  }
  // §17.2: "Endpoints that receive a version 1 long header with a value larger than 20 MUST drop the packet."
  if (dcidLen > MAX_CID_LEN || scidLen > MAX_CID_LEN) return fail('bad-cid-length', `connection ID of ${Math.max(dcidLen, scidLen)} octets (at most 20, RFC 9000 §17.2)`);
  const type = vp.types[(first >> 4) & 0x03];
  let token: Uint8Array = EMPTY;
  if (type === 'retry') {
    // §17.2.5: Retry Token runs to the 16-octet Retry Integrity Tag at the end of the datagram.
    if (r.left < 16) return fail('truncated', 'Retry packet shorter than its integrity tag');
    token = data.subarray(r.p, data.length - 16);
    return { ok: true, h: { long: true, type, version, vp, fixedBit, dcid, scid, token, start, pnOffset: data.length, end: data.length } };
  }
  if (type === 'initial') {
    const tokenLen = r.varint();
    token = r.bytes(tokenLen);
    if (r.bad) return fail('truncated', `Initial token of ${tokenLen} octets runs past the datagram`);
  }
  const length = r.varint();
  if (r.bad) return fail('truncated', 'long header ends before its Length field');
  const pnOffset = r.p;
  // §17.2: Length covers the packet number and the payload; it must fit the datagram.
  if (length > data.length - pnOffset) return fail('bad-length', `Length ${length} runs past the datagram (${data.length - pnOffset} octets left)`);
  return { ok: true, h: { long: true, type, version, vp, fixedBit, dcid, scid, token, start, pnOffset, end: pnOffset + length } };
}

/** The short-header packet at data[start] with a destination connection ID of `dcidLen` octets. */
export function parseShortHeader(data: Uint8Array, start: number, dcidLen: number): HeaderResult {
  if (start + 1 + dcidLen > data.length) return fail('truncated', 'short header shorter than its connection ID');
  const dcid = data.subarray(start + 1, start + 1 + dcidLen);
  return {
    ok: true,
    h: { long: false, type: '1rtt', version: 0, vp: undefined, fixedBit: (data[start] & 0x40) !== 0, dcid, scid: EMPTY, token: EMPTY, start, pnOffset: start + 1 + dcidLen, end: data.length },
  };
}
