/**
 * DNS answers seen in the capture (UDP port 53, RFC 1035 §4), so the first request on a connection
 * can show a DevTools "DNS Lookup" phase: the latest answer that resolved the connection's server
 * address before its SYN. Only what the timing needs is parsed: the query id, the question time,
 * and A/AAAA records in the answer section.
 */
import { v6str, type L4Packet } from '../capture/ip.js';

/** Answers remembered per address; older ones are dropped. */
export const MAX_DNS_ANSWERS_PER_ADDRESS = 8;
/** Queries awaiting an answer; beyond it the oldest are forgotten. */
export const MAX_PENDING_DNS_QUERIES = 4096;
/** Compression pointers followed per name before the message is judged hostile. */
const MAX_NAME_JUMPS = 32;

export interface DnsAnswer {
  name: string;
  queryTime: number;
  answerTime: number;
}

export class DnsTracker {
  private readonly pending = new Map<string, number>();
  private readonly byAddress = new Map<string, DnsAnswer[]>();

  packet(p: L4Packet): void {
    const d = p.payload;
    if (d.length < 12) return;
    const id = (d[0] << 8) | d[1];
    const qr = (d[2] & 0x80) !== 0;
    if (!qr) {
      const key = `${p.src}|${p.srcPort}|${id}`;
      if (this.pending.size >= MAX_PENDING_DNS_QUERIES) {
        const first = this.pending.keys().next().value as string;
        this.pending.delete(first);
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
      // malformed answer: ignored, nothing depends on it
    }
  }

  private answers(d: Uint8Array, queryTime: number, answerTime: number): void {
    const qd = (d[4] << 8) | d[5];
    const an = (d[6] << 8) | d[7];
    let off = 12;
    let qname = '';
    for (let i = 0; i < qd; i++) {
      const [name, next] = readName(d, off);
      if (i === 0) qname = name;
      off = next + 4;
    }
    for (let i = 0; i < an && off < d.length; i++) {
      const [, next] = readName(d, off);
      off = next;
      if (off + 10 > d.length) return;
      const type = (d[off] << 8) | d[off + 1];
      const rdlen = (d[off + 8] << 8) | d[off + 9];
      off += 10;
      if (off + rdlen > d.length) return;
      let addr: string | null = null;
      if (type === 1 && rdlen === 4) addr = `${d[off]}.${d[off + 1]}.${d[off + 2]}.${d[off + 3]}`;
      else if (type === 28 && rdlen === 16) addr = v6str(d, off);
      if (addr) {
        const list = this.byAddress.get(addr) ?? [];
        list.push({ name: qname, queryTime, answerTime });
        if (list.length > MAX_DNS_ANSWERS_PER_ADDRESS) list.shift();
        this.byAddress.set(addr, list);
      }
      off += rdlen;
    }
  }

  /** The latest answer for `addr` that arrived at or before `time`. */
  lookupBefore(addr: string, time: number): DnsAnswer | null {
    const list = this.byAddress.get(addr);
    if (!list) return null;
    for (let i = list.length - 1; i >= 0; i--) if (list[i].answerTime <= time) return list[i];
    return null;
  }
}

/** RFC 1035 §4.1.4 names with compression pointers; returns [name, offset after the name]. */
function readName(d: Uint8Array, start: number): [string, number] {
  const labels: string[] = [];
  let off = start;
  let end = -1;
  let jumps = 0;
  for (;;) {
    if (off >= d.length) throw new Error('name runs past the message');
    const len = d[off];
    if (len === 0) {
      off++;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (off + 1 >= d.length || ++jumps > MAX_NAME_JUMPS) throw new Error('bad compression pointer');
      if (end < 0) end = off + 2;
      off = ((len & 0x3f) << 8) | d[off + 1];
      continue;
    }
    labels.push(Buffer.from(d.subarray(off + 1, off + 1 + len)).toString('latin1'));
    off += 1 + len;
  }
  return [labels.join('.'), end >= 0 ? end : off];
}
