/**
 * IPv4 (RFC 791) and IPv6 (RFC 8200) decoding down to TCP/UDP, with fragment reassembly for both.
 *
 * Push-based: `decode(frame)` fills one reusable `L4Packet` and hands it to the sink synchronously
 * (the sink must copy anything it keeps). Fragments are held, under named limits, until the datagram
 * is complete; then the datagram is delivered with the frame number and time of its last fragment.
 * Fragments older than FRAG_TIMEOUT_MS of capture time are dropped and counted.
 */
import { firstIndex } from '../util/search.js';

/** IPv4 fragment reassembly: datagrams in progress at once. */
export const MAX_FRAG_DATAGRAMS = 4096;
/**
 * Bytes held for incomplete datagrams, in total: each fragment is charged its payload plus
 * FRAG_PIECE_OVERHEAD, so empty fragments count too. A fragment that would pass it is dropped
 * with its datagram (which could not complete without it) and counted in `fragLimitDrops`.
 */
export const MAX_FRAG_BYTES = 64 * 1024 * 1024;
/** Bookkeeping bytes charged per held fragment against MAX_FRAG_BYTES (≈ its object and copy header). */
export const FRAG_PIECE_OVERHEAD = 64;
/**
 * Distinct fragments held per datagram; one more drops the datagram (`fragPieceLimitDrops`).
 * Real traffic needs few: a 64 KB datagram is 45 fragments at MTU 1500, 52 at IPv6's minimum 1280
 * (RFC 8200 §5) and 119 at IPv4's 576-octet reassembly minimum (RFC 791). 1024 still takes a full
 * 64 KB datagram cut into 64-octet pieces, or a 1500-octet packet cut into 8-octet ones (fragroute,
 * `nmap -f`); only the 8-octet cutting of a full 64 KB datagram (8192 pieces) is refused. The bound
 * keeps the work per fragment O(MAX_FRAGS_PER_DATAGRAM) instead of growing with the input.
 * Exact duplicates replace the copy they repeat and do not count twice.
 */
export const MAX_FRAGS_PER_DATAGRAM = 1024;
/** Fragments older than this (capture time) are dropped, as a host's reassembly timer would. */
export const FRAG_TIMEOUT_MS = 30_000;
/** IPv6 extension headers walked before giving up. */
const MAX_EXT_HEADERS = 16;

export const PROTO_TCP = 6;
export const PROTO_UDP = 17;

export interface L4Packet {
  num: number;
  time: number;
  /** Frame length on the wire (pcap orig_len). */
  frameLen: number;
  v6: boolean;
  /** Canonical address strings ('192.0.2.1', '2001:db8::1'). */
  src: string;
  dst: string;
  /** IPv4 addresses as unsigned 32-bit numbers (-1 for IPv6): cheap connection-table keys. */
  srcV4: number;
  dstV4: number;
  proto: number;
  srcPort: number;
  dstPort: number;
  // TCP only
  seq: number;
  ack: number;
  flags: number;
  window: number;
  /** Transport payload as captured. */
  payload: Uint8Array;
  /** Payload bytes the IP/TCP lengths announce but the capture (snaplen) cut off. */
  missing: number;
}

export interface IpCounters {
  count(name: string, n?: number): void;
}

interface FragPiece {
  off: number;
  data: Uint8Array;
}

interface FragDatagram {
  key: string;
  firstTime: number;
  /** Kept sorted by offset; fragments at the same offset in arrival order. */
  pieces: FragPiece[];
  total: number; // -1 until the last fragment is seen
  /** Payload bytes held: the datagram cannot be complete while this is below `total`. */
  bytes: number;
  frameLen: number;
}

function u32(d: Uint8Array, o: number): number {
  return ((d[o] << 24) | (d[o + 1] << 16) | (d[o + 2] << 8) | d[o + 3]) >>> 0;
}

const v4cache = new Map<number, string>();
function v4str(d: Uint8Array, o: number): string {
  const n = u32(d, o);
  let s = v4cache.get(n);
  if (s === undefined) {
    s = `${d[o]}.${d[o + 1]}.${d[o + 2]}.${d[o + 3]}`;
    if (v4cache.size < 65536) v4cache.set(n, s);
  }
  return s;
}

/** RFC 5952 canonical text form of an IPv6 address. */
export function v6str(d: Uint8Array, o: number): string {
  const w: number[] = [];
  for (let i = 0; i < 8; i++) w.push((d[o + 2 * i] << 8) | d[o + 2 * i + 1]);
  // longest run (≥2) of zero words becomes '::'
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (w[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && w[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  if (best < 0) return hex(w);
  return `${hex(w.slice(0, best))}::${hex(w.slice(best + bestLen))}`;
}
const v6cache = new Map<string, string>();
function v6key(d: Uint8Array, o: number): string {
  const k = Buffer.from(d.buffer, d.byteOffset + o, 16).toString('latin1');
  let s = v6cache.get(k);
  if (s === undefined) {
    s = v6str(d, o);
    if (v6cache.size < 65536) v6cache.set(k, s);
  }
  return s;
}

/** Bytes a datagram holds against MAX_FRAG_BYTES: its payload plus FRAG_PIECE_OVERHEAD per piece. */
function charged(dg: FragDatagram): number {
  return dg.bytes + dg.pieces.length * FRAG_PIECE_OVERHEAD;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

export class IpDecoder {
  private readonly pkt: L4Packet = {
    num: 0,
    time: 0,
    frameLen: 0,
    v6: false,
    src: '',
    dst: '',
    srcV4: -1,
    dstV4: -1,
    proto: 0,
    srcPort: 0,
    dstPort: 0,
    seq: 0,
    ack: 0,
    flags: 0,
    window: 0,
    payload: new Uint8Array(0),
    missing: 0,
  };
  private readonly frags = new Map<string, FragDatagram>();
  private fragBytes = 0;

  constructor(
    private readonly onL4: (p: L4Packet) => void,
    private readonly counters: IpCounters,
  ) {}

  /** Decode the IP packet at `d[off..]` of frame `num`. */
  decode(d: Uint8Array, off: number, num: number, time: number, frameLen: number): void {
    if (off >= d.length) {
      this.counters.count('truncatedFrames');
      return;
    }
    const ver = d[off] >> 4;
    if (ver === 4) this.v4(d, off, num, time, frameLen);
    else if (ver === 6) this.v6(d, off, num, time, frameLen);
    else this.counters.count('notIp');
  }

  private v4(d: Uint8Array, o: number, num: number, time: number, frameLen: number): void {
    if (o + 20 > d.length) return this.counters.count('truncatedFrames');
    const ihl = (d[o] & 0x0f) * 4;
    const totalLen = (d[o + 2] << 8) | d[o + 3];
    if (ihl < 20 || totalLen < ihl) return this.counters.count('badIpHeader');
    if (o + ihl > d.length) return this.counters.count('truncatedFrames');
    const flagsFrag = (d[o + 6] << 8) | d[o + 7];
    const more = (flagsFrag & 0x2000) !== 0;
    const fragOff = (flagsFrag & 0x1fff) * 8;
    const proto = d[o + 9];
    const src = v4str(d, o + 12);
    const dst = v4str(d, o + 16);
    // Ethernet pads short frames: the IP total length, not the frame, says where the packet ends.
    const end = Math.min(o + totalLen, d.length);
    const missing = o + totalLen - end;
    if (more || fragOff > 0) {
      const id = (d[o + 4] << 8) | d[o + 5];
      const key = `4|${src}|${dst}|${id}|${proto}`;
      const whole = this.fragment(key, false, fragOff, more, d.subarray(o + ihl, end), missing, time, frameLen);
      if (whole) {
        this.pkt.srcV4 = u32(d, o + 12);
        this.pkt.dstV4 = u32(d, o + 16);
        this.l4(false, src, dst, proto, whole, 0, whole.length, 0, num, time, frameLen);
      }
      return;
    }
    this.pkt.srcV4 = u32(d, o + 12);
    this.pkt.dstV4 = u32(d, o + 16);
    this.l4(false, src, dst, proto, d, o + ihl, end, missing, num, time, frameLen);
  }

  private v6(d: Uint8Array, o: number, num: number, time: number, frameLen: number): void {
    if (o + 40 > d.length) return this.counters.count('truncatedFrames');
    const payloadLen = (d[o + 4] << 8) | d[o + 5];
    let next = d[o + 6];
    const src = v6key(d, o + 8);
    const dst = v6key(d, o + 24);
    const end = Math.min(o + 40 + payloadLen, d.length);
    const missing = o + 40 + payloadLen - end;
    let p = o + 40;
    let frag: { off: number; more: boolean; id: number } | null = null;
    // RFC 8200 §4: walk extension headers to the upper-layer header.
    for (let n = 0; n < MAX_EXT_HEADERS; n++) {
      if (next === 0 || next === 43 || next === 60 || next === 135 || next === 139 || next === 140) {
        // Hop-by-Hop, Routing, Destination Options, Mobility, HIP, Shim6: (len+1)*8 octets.
        if (p + 2 > end) return this.counters.count('truncatedFrames');
        const nn = d[p];
        p += (d[p + 1] + 1) * 8;
        next = nn;
      } else if (next === 51) {
        // AH (RFC 4302): payload length in 4-octet units, minus 2.
        if (p + 2 > end) return this.counters.count('truncatedFrames');
        const nn = d[p];
        p += (d[p + 1] + 2) * 4;
        next = nn;
      } else if (next === 44) {
        // RFC 8200 §4.5 Fragment header: 8 octets.
        if (p + 8 > end) return this.counters.count('truncatedFrames');
        const nn = d[p];
        const offFlags = (d[p + 2] << 8) | d[p + 3];
        frag = {
          off: offFlags & 0xfff8,
          more: (offFlags & 1) === 1,
          id: ((d[p + 4] << 24) | (d[p + 5] << 16) | (d[p + 6] << 8) | d[p + 7]) >>> 0,
        };
        p += 8;
        next = nn;
      } else break;
    }
    if (p > end) return this.counters.count('truncatedFrames');
    if (frag && (frag.more || frag.off > 0)) {
      const key = `6|${src}|${dst}|${frag.id}`;
      const whole = this.fragment(key, true, frag.off, frag.more, d.subarray(p, end), missing, time, frameLen);
      this.pkt.srcV4 = this.pkt.dstV4 = -1;
      if (whole) this.l4(true, src, dst, next, whole, 0, whole.length, 0, num, time, frameLen);
      return;
    }
    if (frag) this.counters.count('ipv6AtomicFragments'); // RFC 6946: offset 0 and M=0
    this.pkt.srcV4 = this.pkt.dstV4 = -1;
    this.l4(true, src, dst, next, d, p, end, missing, num, time, frameLen);
  }

  /**
   * Adds one fragment; returns the reassembled payload when the datagram is complete.
   *
   * Pieces stay sorted by offset (binary search + insert), and coverage is only scanned once the
   * bytes held could fill the datagram, so each fragment costs O(pieces held) ≤ MAX_FRAGS_PER_DATAGRAM.
   * Overlaps: IPv4 (RFC 791) keeps every piece and writes them in offset order, the later of two
   * at the same offset last. IPv6 (RFC 8200 §4.5, RFC 5722 §4): an overlapping fragment abandons
   * the datagram (`ipv6FragOverlapDrops`); an exact duplicate is dropped and the rest kept.
   * Exact duplicates are counted in `fragDuplicates` in both versions.
   */
  private fragment(
    key: string,
    v6: boolean,
    off: number,
    more: boolean,
    data: Uint8Array,
    missing: number,
    time: number,
    frameLen: number,
  ): Uint8Array | null {
    this.counters.count('ipFragments');
    if (missing > 0) {
      this.counters.count('truncatedFragments');
      return null;
    }
    this.expireFragments(time);
    const cost = data.length + FRAG_PIECE_OVERHEAD;
    let dg = this.frags.get(key);
    if (!dg) {
      if (this.frags.size >= MAX_FRAG_DATAGRAMS || this.fragBytes + cost > MAX_FRAG_BYTES) {
        this.counters.count('fragLimitDrops');
        return null;
      }
      dg = { key, firstTime: time, pieces: [], total: -1, bytes: 0, frameLen: 0 };
      this.frags.set(key, dg);
    }
    const pieces = dg.pieces;
    // Insertion point: after every piece at an offset ≤ off (arrival order among equal offsets).
    let at = firstIndex(0, pieces.length, (i) => pieces[i].off > off);
    let dup = -1;
    for (let i = at - 1; i >= 0 && pieces[i].off === off; i--) {
      if (pieces[i].data.length === data.length) {
        dup = i;
        break;
      }
    }
    if (v6) {
      if (dup >= 0 && equalBytes(pieces[dup].data, data)) {
        // RFC 8200 §4.5: exact duplicates may be dropped while the other fragments are kept.
        this.counters.count('fragDuplicates');
        return null;
      }
      // RFC 5722 §4 / RFC 8200 §4.5: overlapping fragments abandon the whole datagram. Held pieces
      // never overlap, so only the neighbours of the insertion point can.
      const end = off + data.length;
      const prev = at > 0 ? pieces[at - 1] : null;
      const next = at < pieces.length ? pieces[at] : null;
      if ((prev && prev.off + prev.data.length > off) || (next && next.off < end)) {
        this.dropDatagram(dg);
        this.counters.count('ipv6FragOverlapDrops');
        return null;
      }
    } else if (dup >= 0) {
      // RFC 791 IPv4: the later copy replaces a piece of the same offset and length (it would
      // overwrite it anyway).
      this.counters.count('fragDuplicates');
      const old = pieces[dup];
      pieces.splice(dup, 1);
      at--;
      dg.bytes -= old.data.length;
      this.fragBytes -= old.data.length + FRAG_PIECE_OVERHEAD;
    }
    if (pieces.length >= MAX_FRAGS_PER_DATAGRAM) {
      this.dropDatagram(dg);
      this.counters.count('fragPieceLimitDrops');
      return null;
    }
    if (this.fragBytes + cost > MAX_FRAG_BYTES) {
      this.dropDatagram(dg);
      this.counters.count('fragLimitDrops');
      return null;
    }
    pieces.splice(at, 0, { off, data: new Uint8Array(data) });
    dg.bytes += data.length;
    dg.frameLen += frameLen;
    this.fragBytes += cost;
    if (!more) dg.total = off + data.length;
    // Cheap precheck: fewer bytes than the datagram's length cannot cover it.
    if (dg.total < 0 || dg.bytes < dg.total) return null;
    // Complete when the pieces cover [0, total) without holes; pieces past `total` are ignored.
    const total = dg.total;
    let covered = 0;
    for (const pc of pieces) {
      if (covered >= total) break;
      if (pc.off > covered) return null;
      covered = Math.max(covered, pc.off + pc.data.length);
    }
    if (covered < total) return null;
    const out = new Uint8Array(total);
    for (const pc of pieces) {
      if (pc.off >= total) break;
      out.set(pc.data.subarray(0, Math.min(pc.data.length, total - pc.off)), pc.off);
    }
    this.frags.delete(key);
    this.fragBytes -= charged(dg);
    this.counters.count('ipReassembled');
    return out;
  }

  private dropDatagram(dg: FragDatagram): void {
    this.frags.delete(dg.key);
    this.fragBytes -= charged(dg);
  }

  private expireFragments(now: number): void {
    if (this.frags.size === 0) return;
    for (const dg of this.frags.values()) {
      if (now - dg.firstTime <= FRAG_TIMEOUT_MS) break; // insertion order ≈ age order
      this.dropDatagram(dg);
      this.counters.count('fragTimeouts');
    }
  }

  private l4(
    v6: boolean,
    src: string,
    dst: string,
    proto: number,
    d: Uint8Array,
    p: number,
    end: number,
    missing: number,
    num: number,
    time: number,
    frameLen: number,
  ): void {
    const k = this.pkt;
    if (proto === PROTO_TCP) {
      if (p + 20 > end) return this.counters.count(missing > 0 ? 'truncatedFrames' : 'badTcpHeader');
      const hl = (d[p + 12] >> 4) * 4;
      if (hl < 20) return this.counters.count('badTcpHeader');
      if (p + hl > end) return this.counters.count('truncatedFrames');
      k.srcPort = (d[p] << 8) | d[p + 1];
      k.dstPort = (d[p + 2] << 8) | d[p + 3];
      k.seq = ((d[p + 4] << 24) | (d[p + 5] << 16) | (d[p + 6] << 8) | d[p + 7]) >>> 0;
      k.ack = ((d[p + 8] << 24) | (d[p + 9] << 16) | (d[p + 10] << 8) | d[p + 11]) >>> 0;
      k.flags = d[p + 13] | ((d[p + 12] & 1) << 8);
      k.window = (d[p + 14] << 8) | d[p + 15];
      k.payload = d.subarray(p + hl, end);
    } else if (proto === PROTO_UDP) {
      if (p + 8 > end) return this.counters.count('truncatedFrames');
      k.srcPort = (d[p] << 8) | d[p + 1];
      k.dstPort = (d[p + 2] << 8) | d[p + 3];
      k.seq = k.ack = k.flags = k.window = 0;
      k.payload = d.subarray(p + 8, end);
    } else {
      this.counters.count('otherIpProtocols');
      return;
    }
    k.num = num;
    k.time = time;
    k.frameLen = frameLen;
    k.v6 = v6;
    k.src = src;
    k.dst = dst;
    k.proto = proto;
    k.missing = missing;
    this.onL4(k);
  }
}
