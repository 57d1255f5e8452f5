/**
 * Link-layer decoding: from a frame of a given LINKTYPE to the offset of its IPv4/IPv6 header.
 * Numbers from https://www.tcpdump.org/linktypes.html.
 */

export const LINKTYPE = {
  NULL: 0,
  EN10MB: 1,
  RAW: 101,
  RAW_OPENBSD: 12,
  RAW_ALT: 14,
  PPP: 9,
  PPP_HDLC: 50,
  LOOP: 108,
  LINUX_SLL: 113,
  IPV4: 228,
  IPV6: 229,
  NFLOG: 239,
  LINUX_SLL2: 276,
} as const;

const NAMES: Record<number, string> = {
  0: 'NULL',
  1: 'EN10MB',
  9: 'PPP',
  12: 'RAW',
  14: 'RAW',
  101: 'RAW',
  108: 'LOOP',
  113: 'LINUX_SLL',
  228: 'IPV4',
  229: 'IPV6',
  50: 'PPP_HDLC',
  239: 'NFLOG',
  276: 'LINUX_SLL2',
};

export function linkTypeName(lt: number): string {
  return NAMES[lt] ?? `LINKTYPE_${lt}`;
}

export function isSupportedLinkType(lt: number): boolean {
  return lt in NAMES;
}

/** Result codes of `networkOffset` other than an offset ≥ 0. */
export const NOT_IP = -1;
export const TRUNCATED = -2;
export const UNSUPPORTED = -3;

const ETH_IPV4 = 0x0800;
const ETH_IPV6 = 0x86dd;
const ETH_VLAN = 0x8100; // IEEE 802.1Q
const ETH_QINQ = 0x88a8; // IEEE 802.1ad
const ETH_QINQ_OLD = 0x9100;

/** Maximum stacked VLAN tags we walk through before giving up. */
const MAX_VLAN_TAGS = 8;

/** RFC 1661 §2 / RFC 1332 / RFC 5072: the PPP protocol numbers of IPv4 and IPv6. */
const PPP_IPV4 = 0x0021;
const PPP_IPV6 = 0x0057;

/**
 * PPP (LINKTYPE_PPP 9, LINKTYPE_PPP_HDLC 50): an optional HDLC address and control field
 * (0xff 0x03, RFC 1662 §3.1; omitted with Address-and-Control-Field-Compression, RFC 1661
 * §6.6), then the protocol field: two octets, or one when Protocol-Field-Compression leaves
 * off the leading 0x00 (RFC 1661 §6.5; a protocol number's last octet is odd, its first even,
 * so an odd first octet is a compressed one-octet field).
 */
function pppOffset(d: Uint8Array): number {
  let off = 0;
  if (d.length >= 2 && d[0] === 0xff && d[1] === 0x03) off = 2;
  if (off >= d.length) return TRUNCATED;
  let proto: number;
  if (d[off] & 1) {
    proto = d[off];
    off += 1;
  } else {
    if (off + 2 > d.length) return TRUNCATED;
    proto = (d[off] << 8) | d[off + 1];
    off += 2;
  }
  if (proto !== PPP_IPV4 && proto !== PPP_IPV6) return NOT_IP;
  return off < d.length ? off : TRUNCATED;
}

function etherTypeOk(t: number): boolean {
  return t === ETH_IPV4 || t === ETH_IPV6;
}

/**
 * Offset of the IP header inside `d`, or NOT_IP / TRUNCATED / UNSUPPORTED. For NFLOG the payload
 * TLV is found and its offset returned.
 */
export function networkOffset(lt: number, d: Uint8Array): number {
  switch (lt) {
    case LINKTYPE.EN10MB: {
      if (d.length < 14) return TRUNCATED;
      let off = 12;
      let type = (d[off] << 8) | d[off + 1];
      let tags = 0;
      while ((type === ETH_VLAN || type === ETH_QINQ || type === ETH_QINQ_OLD) && tags++ < MAX_VLAN_TAGS) {
        off += 4;
        if (off + 2 > d.length) return TRUNCATED;
        type = (d[off] << 8) | d[off + 1];
      }
      return etherTypeOk(type) ? off + 2 : NOT_IP;
    }
    case LINKTYPE.LINUX_SLL: {
      if (d.length < 16) return TRUNCATED;
      return etherTypeOk((d[14] << 8) | d[15]) ? 16 : NOT_IP;
    }
    case LINKTYPE.LINUX_SLL2: {
      if (d.length < 20) return TRUNCATED;
      return etherTypeOk((d[0] << 8) | d[1]) ? 20 : NOT_IP;
    }
    case LINKTYPE.NULL:
    case LINKTYPE.LOOP: {
      if (d.length < 4) return TRUNCATED;
      // The family is in the capturing host's byte order (NULL) or big-endian (LOOP): accept both.
      const le = d[0] | (d[1] << 8) | (d[2] << 16) | (d[3] << 24);
      const be = (d[0] << 24) | (d[1] << 16) | (d[2] << 8) | d[3];
      const fam = lt === LINKTYPE.LOOP ? be : le > 0 && le < 256 ? le : be;
      // AF_INET = 2; AF_INET6 = 24 (BSD), 28 (FreeBSD), 30 (macOS), 10 (Linux).
      if (fam === 2 || fam === 24 || fam === 28 || fam === 30 || fam === 10) return 4;
      return NOT_IP;
    }
    case LINKTYPE.PPP:
    case LINKTYPE.PPP_HDLC:
      return pppOffset(d);
    case LINKTYPE.RAW:
    case LINKTYPE.RAW_OPENBSD:
    case LINKTYPE.RAW_ALT:
    case LINKTYPE.IPV4:
    case LINKTYPE.IPV6:
      return d.length > 0 ? 0 : TRUNCATED;
    case LINKTYPE.NFLOG: {
      // https://www.tcpdump.org/linktypes/LINKTYPE_NFLOG.html: 4-byte header, then TLVs whose
      // length and type are in host byte order (little-endian on every capture we have seen).
      if (d.length < 4) return TRUNCATED;
      let off = 4;
      while (off + 4 <= d.length) {
        const len = d[off] | (d[off + 1] << 8);
        const type = d[off + 2] | (d[off + 3] << 8);
        if (len < 4) return TRUNCATED;
        if (type === 9) return off + 4 <= d.length ? off + 4 : TRUNCATED; // NFULA_PAYLOAD
        off += (len + 3) & ~3;
      }
      return NOT_IP;
    }
    default:
      return UNSUPPORTED;
  }
}
