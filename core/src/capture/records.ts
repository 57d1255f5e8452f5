/**
 * Record-level parsers for capture files, push-based: `push(chunk)` parses every complete record in
 * the bytes seen so far and calls `onPacket` for each; a partial record is carried to the next push.
 *
 * - Classic pcap (microsecond, magic a1b2c3d4) is decoded by the `pcap-parser` package (the user's
 *   choice; see pcap.ts). Nanosecond pcap (magic a1b23c4d), which pcap-parser rejects, is decoded
 *   here by `ClassicPcapParser`, which also serves as the measured alternative in `npm run bench`.
 * - pcapng (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-03.html) by `PcapngParser`.
 */
import { TruncatedCaptureError } from '../errors.js';

/**
 * Latest (and, negated, earliest) packet time in seconds since the epoch: the range of a JavaScript
 * Date (±8.64e15 ms, ECMA-262 §21.4.1.1), so that every capture time can be written as one (HAR,
 * ISO times). Classic pcap's 32-bit seconds are always inside it; pcapng's 64-bit timestamps may not be.
 */
export const MAX_TIMESTAMP_SEC = 8.64e12;
/** No single record may be larger than this; a longer length field means a corrupt file. */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;
/** Decryption Secrets Blocks kept for later TLS work, in total bytes; more are counted, not kept. */
export const MAX_SECRETS_BYTES = 16 * 1024 * 1024;

export interface RawPacket {
  /** 1-based frame number across the file, as Wireshark counts. */
  num: number;
  /** Whole seconds since the Unix epoch. */
  sec: number;
  /** Nanoseconds within `sec` (0 ≤ ns < 1e9). */
  ns: number;
  caplen: number;
  origLen: number;
  iface: number;
  linkType: number;
  /** The captured bytes; a view valid only during the callback. */
  data: Uint8Array;
}

export interface IfaceDesc {
  linkType: number;
  snaplen: number;
  /** Human-readable timestamp resolution ('us', 'ns', '10^-k', '2^-k'). */
  tsResolution: string;
}

export interface RecordSink {
  onInterface(index: number, iface: IfaceDesc): void;
  onPacket(p: RawPacket): void;
  /** A Decryption Secrets Block (pcapng 0x0000000A): type and payload (copied). */
  onSecrets?(type: number, data: Uint8Array): void;
  /** A counted, non-fatal oddity (unknown block types, etc.). */
  count(counter: string, n?: number): void;
}

export interface RecordParser {
  push(chunk: Uint8Array): void;
  /** Called at end of input: throws TruncatedCaptureError if a partial record remains. */
  end(): void;
}

/** Bytes of a new chunk joined to a carried partial record to complete it (≥ a typical snaplen record). */
export const BRIDGE_BYTES = 256 * 1024 + 64;
/** Enough bytes to hold any record header (pcap: 16, pcapng block: 12). */
const HEADER_PROBE_BYTES = 32;

/**
 * Carries a partial record from one chunk to the next without copying whole chunks: the remainder
 * is joined only with the chunk's first BRIDGE_BYTES, and once the carried record is complete,
 * parsing goes on in the new chunk itself.
 *
 * A record larger than the bridge (up to MAX_RECORD_BYTES) is instead allocated once at the length
 * its header announces and filled across chunks, so each of its bytes is copied once: re-joining
 * the growing remainder to every chunk would cost O(record² / chunk).
 */
export class Carry {
  private rest: Uint8Array | null = null;
  /** A record larger than the bridge, at its full length; `fill` bytes of it received so far. */
  private big: Uint8Array | null = null;
  private fill = 0;

  /**
   * @param recordLength the total length of the record that starts at `buf[0]`, read from its
   *   header (already validated by `parse`), or -1 while the header is incomplete.
   */
  constructor(private readonly recordLength: (buf: Uint8Array) => number) {}

  /** Feeds `chunk` to `parse` (which returns how many bytes it consumed) and keeps the remainder. */
  feed(c: Uint8Array, parse: (buf: Uint8Array) => number): void {
    const big = this.big;
    if (big !== null) {
      const n = Math.min(big.length - this.fill, c.length);
      big.set(c.subarray(0, n), this.fill);
      this.fill += n;
      if (this.fill < big.length) return;
      this.big = null;
      this.fill = 0;
      // The record is whole: parse consumes all of it (anything left would be carried as usual).
      this.keep(big, parse(big));
      if (n < c.length) this.feed(c.subarray(n), parse);
      return;
    }
    const rest = this.rest;
    if (rest === null) {
      const off = parse(c);
      this.keep(c, off);
      return;
    }
    this.rest = null;
    // Join only the bytes that complete the carried record when its header tells how many: a
    // fixed bridge allocated (and zero-filled) BRIDGE_BYTES per chunk, which on a 521 MB capture in
    // 1 MB chunks was an eighth of the whole analysis. A wrong guess (a header not yet validated)
    // only costs copying: an incomplete record goes on being carried below.
    const need = this.stillNeeded(rest, c);
    const bridge = Math.min(c.length, need > 0 ? need : BRIDGE_BYTES, BRIDGE_BYTES);
    const head = new Uint8Array(rest.length + bridge);
    head.set(rest, 0);
    head.set(c.subarray(0, bridge), rest.length);
    const off = parse(head);
    if (off >= rest.length) {
      // The carried record is done; everything after `off` is the new chunk's own bytes.
      const tail = c.subarray(off - rest.length);
      const off2 = parse(tail);
      this.keep(tail, off2);
    } else if (this.startBig(head.subarray(off))) {
      // A record larger than the bridge: fill it from the rest of the chunk.
      this.feed(c.subarray(bridge), parse);
    } else {
      // A chunk shorter than the bridge left the record (or its header) incomplete: keep carrying.
      const more = new Uint8Array(head.length - off + c.length - bridge);
      more.set(head.subarray(off), 0);
      more.set(c.subarray(bridge), head.length - off);
      this.rest = more;
    }
  }

  /** Bytes of `c` that would complete the record begun in `rest`, or -1 if its header is not known yet. */
  private stillNeeded(rest: Uint8Array, c: Uint8Array): number {
    let total = this.recordLength(rest);
    if (total < 0) {
      // The header itself spans the chunks: read it from a small probe.
      const probe = new Uint8Array(rest.length + Math.min(c.length, HEADER_PROBE_BYTES));
      probe.set(rest, 0);
      probe.set(c.subarray(0, probe.length - rest.length), rest.length);
      total = this.recordLength(probe);
    }
    return total < 0 ? -1 : total - rest.length;
  }

  private keep(buf: Uint8Array, from: number): void {
    if (from >= buf.length) {
      this.rest = null;
      return;
    }
    // Copy: the reader reuses its buffers. (Not `buf.slice`: on a Buffer that is a view.)
    if (!this.startBig(buf.subarray(from))) this.rest = new Uint8Array(buf.subarray(from));
  }

  /** Starts filling a record larger than the bridge from its first bytes `part`; false if not one. */
  private startBig(part: Uint8Array): boolean {
    const total = this.recordLength(part);
    if (total <= BRIDGE_BYTES || total <= part.length) return false;
    this.big = new Uint8Array(total);
    this.big.set(part, 0);
    this.fill = part.length;
    return true;
  }

  get pending(): number {
    return this.big !== null ? this.fill : (this.rest?.length ?? 0);
  }
}

/**
 * Classic libpcap file format (https://www.tcpdump.org/manpages/pcap-savefile.5.html), either byte
 * order, microsecond or nanosecond timestamps.
 */
export class ClassicPcapParser implements RecordParser {
  private readonly carry = new Carry((buf) =>
    this.header && buf.length >= 16 ? 16 + new DataView(buf.buffer, buf.byteOffset, 16).getUint32(8, this.le) : -1,
  );
  private header = false;
  private le = true;
  private nano = false;
  private linkType = 0;
  private num = 0;
  private consumed = 0;

  constructor(private readonly sink: RecordSink) {}

  push(chunk: Uint8Array): void {
    this.carry.feed(chunk, (buf) => this.parse(buf));
  }

  /** Parses the complete records at the start of `buf`; returns the bytes consumed. */
  private parse(chunk: Uint8Array): number {
    // A plain Uint8Array view: its subarrays are much cheaper than Buffer slices, one per packet.
    const buf = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let off = 0;
    if (!this.header) {
      if (buf.length < 24) return 0;
      const magic = dv.getUint32(0, false);
      this.le = magic === 0xd4c3b2a1 || magic === 0x4d3cb2a1;
      this.nano = magic === 0xa1b23c4d || magic === 0x4d3cb2a1;
      const snaplen = dv.getUint32(16, this.le);
      this.linkType = dv.getUint32(20, this.le) & 0x0fffffff; // upper bits: FCS info
      this.sink.onInterface(0, { linkType: this.linkType, snaplen, tsResolution: this.nano ? 'ns' : 'us' });
      this.header = true;
      off = 24;
    }
    const le = this.le;
    const mul = this.nano ? 1 : 1000;
    while (off + 16 <= buf.length) {
      const caplen = dv.getUint32(off + 8, le);
      if (caplen > MAX_RECORD_BYTES) {
        throw new TruncatedCaptureError(
          `corrupt pcap record header at byte ${this.consumed + off}: captured length ${caplen} exceeds ${MAX_RECORD_BYTES}`,
        );
      }
      if (off + 16 + caplen > buf.length) break;
      const sub = dv.getUint32(off + 4, le) * mul;
      this.sink.onPacket({
        num: ++this.num,
        sec: dv.getUint32(off, le),
        ns: sub < 1e9 ? sub : 999_999_999,
        caplen,
        origLen: dv.getUint32(off + 12, le),
        iface: 0,
        linkType: this.linkType,
        data: buf.subarray(off + 16, off + 16 + caplen),
      });
      off += 16 + caplen;
    }
    this.consumed += off;
    return off;
  }

  end(): void {
    if (!this.header) throw new TruncatedCaptureError('file ends inside the pcap file header');
    if (this.carry.pending > 0) {
      throw new TruncatedCaptureError(
        `file ends inside a packet record (${this.carry.pending} trailing bytes after packet ${this.num})`,
      );
    }
  }
}

interface NgIface {
  linkType: number;
  snaplen: number;
  /** Timestamp units per second, as a BigInt when not a power of ten ≤ 10^6. */
  unitsPerSec: number;
  tsOffsetSec: number;
}

const BT_SHB = 0x0a0d0d0a;
const BT_IDB = 0x00000001;
const BT_OPB = 0x00000002; // obsolete Packet Block
const BT_SPB = 0x00000003;
const BT_EPB = 0x00000006;
const BT_DSB = 0x0000000a;

/**
 * pcapng: Section Header, Interface Description (with if_tsresol / if_tsoffset), Enhanced, Simple and
 * obsolete Packet blocks, Decryption Secrets; every other block type is skipped and counted. Each
 * section has its own byte order and its own interfaces.
 */
export class PcapngParser implements RecordParser {
  // Block Total Length at +4, in the byte order `parse` set (it reads a Section Header's magic first).
  private readonly carry = new Carry((buf) =>
    buf.length >= 12 ? new DataView(buf.buffer, buf.byteOffset, 12).getUint32(4, this.le) : -1,
  );
  private le = true;
  private ifaces: NgIface[] = [];
  /** Global interface index (across sections) of this section's interface 0. */
  private ifaceBase = 0;
  private ifaceCount = 0;
  private num = 0;
  private consumed = 0;
  private lastSec = 0;
  private lastNs = 0;
  private secretsBytes = 0;

  constructor(private readonly sink: RecordSink) {}

  push(chunk: Uint8Array): void {
    this.carry.feed(chunk, (buf) => this.parse(buf));
  }

  /** Parses the complete blocks at the start of `buf`; returns the bytes consumed. */
  private parse(chunk: Uint8Array): number {
    const buf = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let off = 0;
    while (off + 12 <= buf.length) {
      let type = dv.getUint32(off, this.le);
      if (dv.getUint32(off, true) === BT_SHB) {
        // The Section Header's byte-order magic decides the order of everything in the section.
        const bom = dv.getUint32(off + 8, true);
        if (bom === 0x1a2b3c4d) this.le = true;
        else if (bom === 0x4d3c2b1a) this.le = false;
        else throw new TruncatedCaptureError(`corrupt pcapng section header at byte ${this.consumed + off}: bad byte-order magic`);
        type = BT_SHB;
      }
      const len = dv.getUint32(off + 4, this.le);
      if (len < 12 || len % 4 !== 0 || len > MAX_RECORD_BYTES) {
        throw new TruncatedCaptureError(
          `corrupt pcapng block at byte ${this.consumed + off}: block length ${len} is invalid`,
        );
      }
      if (off + len > buf.length) break;
      if (dv.getUint32(off + len - 4, this.le) !== len) {
        throw new TruncatedCaptureError(
          `corrupt pcapng block at byte ${this.consumed + off}: trailing length does not match ${len}`,
        );
      }
      this.block(type, buf, dv, off, len);
      off += len;
    }
    this.consumed += off;
    return off;
  }

  end(): void {
    if (this.carry.pending > 0) {
      throw new TruncatedCaptureError(
        `file ends inside a pcapng block (${this.carry.pending} trailing bytes after packet ${this.num})`,
      );
    }
  }

  private block(type: number, buf: Uint8Array, dv: DataView, off: number, len: number): void {
    const le = this.le;
    switch (type) {
      case BT_SHB:
        this.ifaceBase = this.ifaceCount;
        this.ifaces = [];
        return;
      case BT_IDB: {
        const iface: NgIface = {
          linkType: dv.getUint16(off + 8, le),
          snaplen: dv.getUint32(off + 12, le),
          unitsPerSec: 1e6,
          tsOffsetSec: 0,
        };
        let res = 'us';
        // Options: code u16, length u16, value padded to 32 bits; opt_endofopt = 0.
        let p = off + 16;
        const stop = off + len - 4;
        while (p + 4 <= stop) {
          const code = dv.getUint16(p, le);
          const olen = dv.getUint16(p + 2, le);
          if (code === 0 || p + 4 + olen > stop) break;
          if (code === 9 && olen >= 1) {
            // if_tsresol: MSB 0 → 10^-v, MSB 1 → 2^-v.
            const v = buf[p + 4];
            if (v & 0x80) {
              iface.unitsPerSec = 2 ** (v & 0x7f);
              res = `2^-${v & 0x7f}`;
            } else {
              iface.unitsPerSec = 10 ** v;
              res = v === 6 ? 'us' : v === 9 ? 'ns' : `10^-${v}`;
            }
          } else if (code === 14 && olen >= 8) {
            iface.tsOffsetSec = Number(dv.getBigInt64(p + 4, le));
          }
          p += 4 + ((olen + 3) & ~3);
        }
        this.ifaces.push(iface);
        this.sink.onInterface(this.ifaceCount++, { linkType: iface.linkType, snaplen: iface.snaplen, tsResolution: res });
        return;
      }
      case BT_EPB:
      case BT_OPB: {
        const ifId = type === BT_EPB ? dv.getUint32(off + 8, le) : dv.getUint16(off + 8, le);
        const iface = this.ifaces[ifId];
        if (!iface) {
          this.sink.count('pcapngPacketUnknownInterface');
          return;
        }
        const caplen = dv.getUint32(off + 20, le);
        if (28 + caplen > len - 4) {
          throw new TruncatedCaptureError(
            `corrupt pcapng packet block at byte ${this.consumed + off}: captured length ${caplen} exceeds the block`,
          );
        }
        this.setTime(iface, dv.getUint32(off + 12, le), dv.getUint32(off + 16, le));
        this.sink.onPacket({
          num: ++this.num,
          sec: this.lastSec,
          ns: this.lastNs,
          caplen,
          origLen: dv.getUint32(off + 24, le),
          iface: this.ifaceBase + ifId,
          linkType: iface.linkType,
          data: buf.subarray(off + 28, off + 28 + caplen),
        });
        return;
      }
      case BT_SPB: {
        const iface = this.ifaces[0];
        if (!iface) {
          this.sink.count('pcapngPacketUnknownInterface');
          return;
        }
        const origLen = dv.getUint32(off + 8, le);
        let caplen = Math.min(origLen, len - 16);
        if (iface.snaplen > 0) caplen = Math.min(caplen, iface.snaplen);
        // A Simple Packet Block has no timestamp: it inherits the previous packet's time.
        this.sink.count('pcapngSimplePacketsWithoutTime');
        this.sink.onPacket({
          num: ++this.num,
          sec: this.lastSec,
          ns: this.lastNs,
          caplen,
          origLen,
          iface: this.ifaceBase,
          linkType: iface.linkType,
          data: buf.subarray(off + 12, off + 12 + caplen),
        });
        return;
      }
      case BT_DSB: {
        const stype = dv.getUint32(off + 8, le);
        const slen = dv.getUint32(off + 12, le);
        if (16 + slen > len - 4) {
          this.sink.count('pcapngCorruptSecretsBlock');
          return;
        }
        this.sink.count('pcapngSecretsBlocks');
        if (this.secretsBytes + slen <= MAX_SECRETS_BYTES) {
          this.secretsBytes += slen;
          this.sink.onSecrets?.(stype, buf.slice(off + 16, off + 16 + slen));
        } else {
          this.sink.count('pcapngSecretsDropped');
        }
        return;
      }
      default:
        this.sink.count('pcapngSkippedBlocks');
    }
  }

  /**
   * The packet's time from its 64-bit timestamp. One beyond the range of a date (MAX_TIMESTAMP_SEC:
   * only a corrupt block or if_tsoffset gives one) is counted as `pcapngTimestampOutOfRange`, and
   * the packet keeps the previous packet's time, as a Simple Packet Block does.
   */
  private setTime(iface: NgIface, hi: number, lo: number): void {
    const ups = iface.unitsPerSec;
    let secs: number;
    let ns: number;
    if (ups <= 1e6) {
      // ≤ 2^53 for any date before year 2255 at microsecond resolution: exact in a double.
      const v = hi * 4294967296 + lo;
      const sec = Math.floor(v / ups);
      secs = sec + iface.tsOffsetSec;
      ns = Math.round(((v - sec * ups) * 1e9) / ups);
    } else {
      const v = (BigInt(hi) << 32n) | BigInt(lo);
      const u = BigInt(ups);
      const sec = v / u;
      secs = Number(sec) + iface.tsOffsetSec;
      ns = Number(((v - sec * u) * 1_000_000_000n) / u);
    }
    if (!(Math.abs(secs) <= MAX_TIMESTAMP_SEC)) {
      this.sink.count('pcapngTimestampOutOfRange');
      return;
    }
    this.lastSec = secs;
    this.lastNs = ns;
  }
}
