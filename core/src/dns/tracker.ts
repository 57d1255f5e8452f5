/**
 * DNS answers seen in the capture (UDP port 53, RFC 1035 §4), so the first request on a connection
 * can show a DevTools "DNS Lookup" phase: the latest answer that resolved the connection's server
 * address before its SYN. Only what the timing needs is parsed: the query id, the question time,
 * and A/AAAA records in the answer section.
 */
import { v6str, type L4Packet } from '../capture/ip.js';
import { QueueMap } from '../util/oldest.js';

/** Answers remembered per address; older ones are dropped. */
export const MAX_DNS_ANSWERS_PER_ADDRESS = 8;
/** Queries awaiting an answer; beyond it the oldest are forgotten. */
export const MAX_PENDING_DNS_QUERIES = 4096;
/**
 * Addresses with remembered answers. A hostile capture can answer with millions of distinct
 * addresses (about 4,000 A records fit in one message); beyond this many, the address answered
 * least recently is forgotten (counted as `dnsAddressesEvicted`).
 */
export const MAX_DNS_ADDRESSES = 65_536;
/**
 * RFC 1035 §2.3.4: a name is at most 255 octets on the wire (length octets included). Checked while
 * decoding, so a record's cost is bounded however its compression pointers are arranged.
 */
export const MAX_DNS_NAME_OCTETS = 255;

/** Where the tracker counts malformed messages and evictions (the engine's capture counters). */
export interface DnsCounters {
  count(name: string, n?: number): void;
}

class MalformedDns extends Error {}

export interface DnsAnswer {
  name: string;
  queryTime: number;
  answerTime: number;
}

export class DnsTracker {
  // Queues by insertion order (util/oldest.ts QueueMap: an idle iterator over a churning Map
  // would keep every hash table it outgrew alive).
  private readonly pending = new QueueMap<string, number>();
  /** Insertion order is answer order: the first key is the address answered least recently. */
  private readonly byAddress = new QueueMap<string, DnsAnswer[]>();

  constructor(private readonly counters: DnsCounters = { count: () => {} }) {}

  /** Addresses with remembered answers (at most MAX_DNS_ADDRESSES). */
  get addresses(): number {
    return this.byAddress.size;
  }

  packet(p: L4Packet): void {
    const d = p.payload;
    if (d.length < 12) return;
    const id = (d[0] << 8) | d[1];
    const qr = (d[2] & 0x80) !== 0;
    if (!qr) {
      const key = `${p.src}|${p.srcPort}|${id}`;
      if (this.pending.size >= MAX_PENDING_DNS_QUERIES) {
        this.pending.delete(this.pending.oldest());
      }
      if (!this.pending.has(key)) this.pending.set(key, p.time);
      return;
    }
    const key = `${p.dst}|${p.dstPort}|${id}`;
    const queryTime = this.pending.get(key);
    if (queryTime === undefined) return;
    this.pending.delete(key);
    try {
      this.answers(d, queryTime, p.time);
    } catch {
      // Malformed answer (bad pointer, overlong name, runs past the message): counted; records
      // taken before the fault are kept, nothing else depends on it.
      this.counters.count('dnsMalformedMessages');
    }
  }

  private answers(d: Uint8Array, queryTime: number, answerTime: number): void {
    const qd = (d[4] << 8) | d[5];
    const an = (d[6] << 8) | d[7];
    let off = 12;
    let qname = '';
    for (let i = 0; i < qd; i++) {
      if (i === 0) {
        const [name, next] = readName(d, off);
        qname = name;
        off = next + 4;
      } else off = skipName(d, off) + 4;
    }
    for (let i = 0; i < an && off < d.length; i++) {
      off = skipName(d, off);
      if (off + 10 > d.length) throw new MalformedDns('record runs past the message');
      const type = (d[off] << 8) | d[off + 1];
      const rdlen = (d[off + 8] << 8) | d[off + 9];
      off += 10;
      if (off + rdlen > d.length) throw new MalformedDns('record data runs past the message');
      let addr: string | null = null;
      if (type === 1 && rdlen === 4) addr = `${d[off]}.${d[off + 1]}.${d[off + 2]}.${d[off + 3]}`;
      else if (type === 28 && rdlen === 16) addr = v6str(d, off);
      if (addr) this.remember(addr, { name: qname, queryTime, answerTime });
      off += rdlen;
    }
  }

  private remember(addr: string, a: DnsAnswer): void {
    let list = this.byAddress.get(addr);
    if (list) this.byAddress.delete(addr); // re-inserted last: most recently answered
    else {
      list = [];
      if (this.byAddress.size >= MAX_DNS_ADDRESSES) {
        this.byAddress.delete(this.byAddress.oldest());
        this.counters.count('dnsAddressesEvicted');
      }
    }
    list.push(a);
    if (list.length > MAX_DNS_ANSWERS_PER_ADDRESS) list.shift();
    this.byAddress.set(addr, list);
  }

  /** The latest answer for `addr` that arrived at or before `time`. */
  lookupBefore(addr: string, time: number): DnsAnswer | null {
    const list = this.byAddress.get(addr);
    if (!list) return null;
    for (let i = list.length - 1; i >= 0; i--) if (list[i].answerTime <= time) return list[i];
    return null;
  }
}

/**
 * Walks the name at `start` (RFC 1035 §4.1.4 message compression), calling `onLabel` for each label;
 * returns the offset after the name as it appears at `start`.
 *
 * A pointer (11xxxxxx xxxxxxxx) must point to a prior occurrence of a name: strictly before the
 * start of the labels being read when it is met. Each jump therefore goes backwards from the last
 * one, so loops (a pointer to itself or to labels that lead back to it) and forward pointers are
 * malformed; and the name may total at most MAX_DNS_NAME_OCTETS, so a record costs at most that
 * many octets read, however long the label chain it points into.
 */
function walkName(d: Uint8Array, start: number, onLabel?: (from: number, to: number) => void): number {
  let off = start;
  /** Start of the labels being read: a pointer must land strictly before it. */
  let segment = start;
  let end = -1;
  let octets = 0;
  for (;;) {
    if (off >= d.length) throw new MalformedDns('name runs past the message');
    const len = d[off];
    if (len === 0) {
      off++;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      // RFC 1035 §4.1.4 pointer: the 14-bit offset of a prior occurrence.
      if (off + 1 >= d.length) throw new MalformedDns('pointer runs past the message');
      const target = ((len & 0x3f) << 8) | d[off + 1];
      if (target >= segment) throw new MalformedDns('compression pointer does not point backwards');
      if (end < 0) end = off + 2;
      off = segment = target;
      continue;
    }
    // 01xxxxxx and 10xxxxxx are reserved (RFC 1035 §4.1.4; RFC 6891 §5 retired 01 extended labels).
    if (kind !== 0) throw new MalformedDns('reserved label type');
    octets += 1 + len;
    // RFC 1035 §2.3.4: 255 octets including the final zero-length label.
    if (octets + 1 > MAX_DNS_NAME_OCTETS) throw new MalformedDns('name longer than 255 octets');
    if (off + 1 + len > d.length) throw new MalformedDns('label runs past the message');
    onLabel?.(off + 1, off + 1 + len);
    off += 1 + len;
  }
  return end >= 0 ? end : off;
}

/** A name as text (labels joined by dots) and the offset after it. */
function readName(d: Uint8Array, start: number): [string, number] {
  const labels: string[] = [];
  const next = walkName(d, start, (from, to) => labels.push(Buffer.from(d.subarray(from, to)).toString('latin1')));
  return [labels.join('.'), next];
}

/** The offset after the name at `start`, validated but not decoded (answer owner names are unused). */
function skipName(d: Uint8Array, start: number): number {
  return walkName(d, start);
}
