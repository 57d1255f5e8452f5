/**
 * QUIC variable-length integers (RFC 9000 §16) and a bounds-checked reader over packet bytes.
 *
 *   2MSB  Length  Usable bits  Range
 *   00    1       6            0–63
 *   01    2       14           0–16383
 *   10    4       30           0–1073741823
 *   11    8       62           0–4611686018427387903
 *
 * Values are JavaScript numbers: exact up to 2^53 − 1. An 8-octet value above that (never a valid
 * offset or length; possible in an error code or a GREASE frame type) is returned rounded — callers
 * that use a value as a length or offset compare it against the bytes actually present first.
 *
 * Like the TLS handshake cursor (tls/handshake.ts), the reader never throws: a read past the end
 * sets `bad`, yields 0 and moves to the end; callers check `bad` after a group of reads.
 */

/** Largest value a varint can hold (2^62 − 1), as a (rounded) number. */
export const MAX_VARINT = 2 ** 62 - 1;

export class QuicReader {
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
    if (this.p >= this.end) return this.short();
    return this.b[this.p++];
  }

  u16(): number {
    if (this.p + 2 > this.end) return this.short();
    const v = (this.b[this.p] << 8) | this.b[this.p + 1];
    this.p += 2;
    return v;
  }

  u32(): number {
    if (this.p + 4 > this.end) return this.short();
    const b = this.b;
    const p = this.p;
    this.p += 4;
    return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
  }

  /** RFC 9000 §16: the two most significant bits of the first octet give the length. */
  varint(): number {
    if (this.p >= this.end) return this.short();
    const b = this.b;
    const first = b[this.p];
    const len = 1 << (first >> 6);
    if (this.p + len > this.end) return this.short();
    const p = this.p;
    this.p += len;
    switch (len) {
      case 1:
        return first;
      case 2:
        return ((first & 0x3f) << 8) | b[p + 1];
      case 4:
        return (((first & 0x3f) << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
      default: {
        const hi = (((first & 0x3f) << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
        const lo = ((b[p + 4] << 24) | (b[p + 5] << 16) | (b[p + 6] << 8) | b[p + 7]) >>> 0;
        return hi * 0x1_0000_0000 + lo;
      }
    }
  }

  /** A view of the next n octets (n must already be known to fit; else `bad` and an empty view). */
  bytes(n: number): Uint8Array {
    if (!(n >= 0) || this.p + n > this.end) {
      this.short();
      return this.b.subarray(this.end, this.end);
    }
    const at = this.p;
    this.p += n;
    return this.b.subarray(at, at + n);
  }

  skip(n: number): boolean {
    if (!(n >= 0) || this.p + n > this.end) {
      this.short();
      return false;
    }
    this.p += n;
    return true;
  }

  private short(): number {
    this.bad = true;
    this.p = this.end;
    return 0;
  }
}

/** Decodes one varint at b[pos]; null when it does not fit before `end`. */
export function readVarint(b: Uint8Array, pos: number, end = b.length): { value: number; next: number } | null {
  const r = new QuicReader(b, pos, end);
  const value = r.varint();
  return r.bad ? null : { value, next: r.p };
}

/** Encodes a varint in its shortest form (for tests and fixtures). */
export function encodeVarint(v: number): Uint8Array {
  if (v < 0x40) return Uint8Array.of(v);
  if (v < 0x4000) return Uint8Array.of(0x40 | (v >> 8), v & 0xff);
  if (v < 0x4000_0000) return Uint8Array.of(0x80 | (v >>> 24), (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  const hi = Math.floor(v / 0x1_0000_0000);
  const lo = v >>> 0;
  return Uint8Array.of(0xc0 | (hi >>> 24), (hi >>> 16) & 0xff, (hi >>> 8) & 0xff, hi & 0xff, lo >>> 24, (lo >>> 16) & 0xff, (lo >>> 8) & 0xff, lo & 0xff);
}

const HEX_DIGITS = '0123456789abcdef';

/** Lower-case hex of a byte string (connection IDs, tokens). */
export function toHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += HEX_DIGITS[b[i] >> 4] + HEX_DIGITS[b[i] & 15];
  return s;
}
