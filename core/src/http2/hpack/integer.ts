/**
 * RFC 7541 §5.1 Integer Representation: an N-bit prefix; if the value does not fit, the prefix is
 * all ones and the rest follows in 7-bit groups, least significant first, with the top bit set on
 * every octet but the last.
 */
import { IntegerOverflowError, TruncatedError } from './errors.js';

/** Largest integer the decoder accepts (nghttp2 and Go use 32-bit limits too). */
export const MAX_HPACK_INTEGER = 0xffff_ffff;

/** Result slots reused by decodeInteger to avoid an allocation per integer. */
export interface IntegerResult {
  value: number;
  /** Offset of the first octet after the integer. */
  next: number;
}

/**
 * Decode an integer whose prefix occupies the low `prefixBits` bits of `buf[pos]`.
 * Throws TruncatedError if the input ends inside it, IntegerOverflowError above MAX_HPACK_INTEGER.
 */
export function decodeInteger(buf: Uint8Array, pos: number, prefixBits: number, out: IntegerResult): IntegerResult {
  if (pos >= buf.length) throw new TruncatedError('integer expected', pos);
  const mask = (1 << prefixBits) - 1;
  let value = buf[pos] & mask;
  let p = pos + 1;
  if (value < mask) {
    out.value = value;
    out.next = p;
    return out;
  }
  let mul = 1;
  for (;;) {
    if (p >= buf.length) throw new TruncatedError('integer continuation expected', pos);
    const b = buf[p++];
    value += (b & 0x7f) * mul;
    if (value > MAX_HPACK_INTEGER) throw new IntegerOverflowError(pos);
    if ((b & 0x80) === 0) break;
    mul *= 128;
    // 2^35 > 2^32: a further continuation octet can only add zeros or overflow; refuse it.
    if (mul > 2 ** 28) throw new IntegerOverflowError(pos);
  }
  out.value = value;
  out.next = p;
  return out;
}

/** Encode an integer with an N-bit prefix; `firstByteFlags` supplies the bits above the prefix. */
export function encodeInteger(value: number, prefixBits: number, firstByteFlags = 0): number[] {
  const mask = (1 << prefixBits) - 1;
  if (value < mask) return [firstByteFlags | value];
  const out = [firstByteFlags | mask];
  let v = value - mask;
  while (v >= 128) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}
