/**
 * RFC 7541 §5.2 Huffman decoding with a nibble-driven state machine, built once at module load.
 *
 * The Huffman code (Appendix B) is a full binary tree with 257 leaves and so 256 internal nodes;
 * a decoder state is "which internal node are we at", i.e. the bits read since the last symbol.
 * For each state and each 4-bit input nibble the table gives the next state and at most one emitted
 * symbol (the shortest code is 5 bits, so a nibble can finish at most one code). Decoding is two
 * table lookups per input octet; no bit-by-bit tree walking.
 *
 * Errors (RFC 7541 §5.2): a string that contains the EOS symbol; padding longer than 7 bits; padding
 * that is not the most significant bits of EOS (all ones). A state is accepting at the end of input
 * only if the bits read since the last symbol are all ones and at most 7 of them.
 */
import { InvalidHuffmanError } from './errors.js';
import { HUFFMAN_CODES, HUFFMAN_CODE_LENGTHS, HUFFMAN_EOS } from './huffman-codes.js';

const F_EMIT = 1 << 16;
const F_FAIL = 1 << 17;

/** Transition table: [state * 16 + nibble] → next (bits 0–7) | symbol (bits 8–15) | flags. */
const TRANSITIONS = new Uint32Array(256 * 16);
/** Per state: 0 = reject at end, 1 = accept, 2 = reject: padding not all ones, 3 = reject: padding > 7 bits. */
const END_STATE = new Uint8Array(256);

function buildTables(): void {
  // Tree as arrays. Internal nodes are 0..255 (0 = root); a child < 0 is leaf ~symbol.
  const left = new Int32Array(256).fill(-0x7fffffff);
  const right = new Int32Array(256).fill(-0x7fffffff);
  const depth = new Uint8Array(256);
  const allOnes = new Uint8Array(256);
  allOnes[0] = 1;
  let nodes = 1;
  const UNSET = -0x7fffffff;
  for (let sym = 0; sym <= HUFFMAN_EOS; sym++) {
    const code = HUFFMAN_CODES[sym];
    const len = HUFFMAN_CODE_LENGTHS[sym];
    let node = 0;
    for (let i = len - 1; i >= 0; i--) {
      const bit = Math.floor(code / 2 ** i) & 1;
      const arr = bit ? right : left;
      if (i === 0) {
        arr[node] = ~sym;
      } else {
        if (arr[node] === UNSET) {
          const child = nodes++;
          arr[node] = child;
          depth[child] = depth[node] + 1;
          allOnes[child] = allOnes[node] && bit ? 1 : 0;
        }
        node = arr[node];
      }
    }
  }
  if (nodes !== 256) throw new Error(`Huffman tree has ${nodes} internal nodes, expected 256`);
  for (let s = 0; s < 256; s++) {
    END_STATE[s] = allOnes[s] ? (depth[s] <= 7 ? 1 : 3) : 2;
    for (let nib = 0; nib < 16; nib++) {
      let node = s;
      let entry = 0;
      for (let b = 3; b >= 0; b--) {
        const child = (nib >> b) & 1 ? right[node] : left[node];
        if (child < 0) {
          const sym = ~child;
          if (sym === HUFFMAN_EOS) {
            entry |= F_FAIL;
            break;
          }
          entry |= F_EMIT | (sym << 8);
          node = 0;
        } else {
          node = child;
        }
      }
      TRANSITIONS[s * 16 + nib] = entry | node;
    }
  }
}
buildTables();

let scratch = new Uint8Array(256);

/**
 * Decode Huffman-encoded `src[start..end)` into octets. Returns a view of a shared scratch buffer,
 * valid until the next call (callers turn it into a string at once).
 */
export function huffmanDecode(src: Uint8Array, start: number, end: number, offset = start): Uint8Array {
  // Each symbol is at least 5 bits: the output is at most floor(8n/5) octets.
  const bound = Math.floor(((end - start) * 8) / 5);
  if (scratch.length < bound) scratch = new Uint8Array(Math.max(bound, scratch.length * 2));
  const out = scratch;
  let n = 0;
  let state = 0;
  for (let i = start; i < end; i++) {
    const byte = src[i];
    let e = TRANSITIONS[(state << 4) | (byte >> 4)];
    if (e & F_FAIL) throw new InvalidHuffmanError('EOS symbol in string', offset);
    if (e & F_EMIT) out[n++] = (e >> 8) & 0xff;
    state = e & 0xff;
    e = TRANSITIONS[(state << 4) | (byte & 0x0f)];
    if (e & F_FAIL) throw new InvalidHuffmanError('EOS symbol in string', offset);
    if (e & F_EMIT) out[n++] = (e >> 8) & 0xff;
    state = e & 0xff;
  }
  const end_ = END_STATE[state];
  if (end_ !== 1) {
    throw new InvalidHuffmanError(end_ === 2 ? 'padding is not all ones' : 'padding longer than 7 bits', offset);
  }
  return out.subarray(0, n);
}

/** Length in octets of `data` once Huffman-encoded. */
export function huffmanEncodedLength(data: Uint8Array): number {
  let bits = 0;
  for (let i = 0; i < data.length; i++) bits += HUFFMAN_CODE_LENGTHS[data[i]];
  return Math.ceil(bits / 8);
}

/** Huffman-encode `data` (RFC 7541 §5.2), padding with the high bits of EOS (ones). For tests and tools. */
export function huffmanEncode(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(huffmanEncodedLength(data));
  let acc = 0; // pending bits, right-aligned
  let accBits = 0;
  let o = 0;
  for (let i = 0; i < data.length; i++) {
    const code = HUFFMAN_CODES[data[i]];
    const len = HUFFMAN_CODE_LENGTHS[data[i]];
    // Feed bit by bit in chunks of ≤ 8 to stay within 32-bit integer arithmetic.
    let remaining = len;
    while (remaining > 0) {
      const take = Math.min(remaining, 8);
      const chunk = Math.floor(code / 2 ** (remaining - take)) & ((1 << take) - 1);
      acc = (acc << take) | chunk;
      accBits += take;
      remaining -= take;
      while (accBits >= 8) {
        out[o++] = (acc >> (accBits - 8)) & 0xff;
        accBits -= 8;
        acc &= (1 << accBits) - 1;
      }
    }
  }
  if (accBits > 0) out[o++] = ((acc << (8 - accBits)) | ((1 << (8 - accBits)) - 1)) & 0xff;
  return out;
}
