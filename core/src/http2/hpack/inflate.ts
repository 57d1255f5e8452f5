/**
 * `wirefall hpack inflate`: decode an hpack-test-case story (like nghttp2's `inflatehd`).
 *
 * Input: `{ cases: [{ seqno?, wire: "<hex>", header_table_size? }, ...] }`. All cases share one
 * decoder (one compression context). `header_table_size`, when present, is applied before the
 * case's block as the decoder's SETTINGS_HEADER_TABLE_SIZE ceiling (`setMaxTableSizeLimit`); `null`
 * means "no change", as absent does (some encoders' stories, swift-nio's for one, write it so, and the
 * corpus' own readers treat it so).
 * Output: `{ cases: [{ seqno, headers: [{ name: value }, ...] }] }` in the stories' own format.
 */
import { InvalidInputError } from '../../errors.js';
import { HpackDecoder } from './decoder.js';
import { HpackError } from './errors.js';

export interface InflatedStory {
  cases: { seqno: number; headers: Record<string, string>[] }[];
}

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

function hexToBytes(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

export function inflateStory(story: unknown): InflatedStory {
  if (typeof story !== 'object' || story === null || Array.isArray(story)) {
    throw new InvalidInputError('hpack story: expected a JSON object with a "cases" array');
  }
  const cases = (story as { cases?: unknown }).cases;
  if (!Array.isArray(cases)) throw new InvalidInputError('hpack story: "cases" must be an array');
  const dec = new HpackDecoder();
  const out: InflatedStory = { cases: [] };
  cases.forEach((c: unknown, i: number) => {
    if (typeof c !== 'object' || c === null) throw new InvalidInputError(`hpack story: case ${i} is not an object`);
    const rec = c as { seqno?: unknown; wire?: unknown; header_table_size?: unknown };
    const seqno = rec.seqno === undefined ? i : rec.seqno;
    if (typeof seqno !== 'number' || !Number.isInteger(seqno)) {
      throw new InvalidInputError(`hpack story: case ${i}: "seqno" must be an integer`);
    }
    if (typeof rec.wire !== 'string') throw new InvalidInputError(`hpack story: case ${i} (seqno ${seqno}): "wire" must be a hex string`);
    const wire = rec.wire.replace(/\s+/g, '');
    if (!HEX.test(wire)) throw new InvalidInputError(`hpack story: case ${i} (seqno ${seqno}): "wire" is not valid hex`);
    if (rec.header_table_size !== undefined && rec.header_table_size !== null) {
      const n = rec.header_table_size;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 0xffffffff) {
        throw new InvalidInputError(`hpack story: case ${i} (seqno ${seqno}): "header_table_size" must be a non-negative integer`);
      }
      dec.setMaxTableSizeLimit(n);
    }
    let fields;
    try {
      fields = dec.decode(hexToBytes(wire)).fields;
    } catch (e) {
      if (e instanceof HpackError) {
        throw new InvalidInputError(`hpack story: case ${i} (seqno ${seqno}): ${e.code}: ${e.message}`, { cause: e });
      }
      throw e;
    }
    out.cases.push({ seqno, headers: fields.map((f) => ({ [f.name]: f.value })) });
  });
  return out;
}

/** CLI entry: story JSON text in, inflated story JSON text out (2-space indented, trailing newline). */
export function runHpackInflate(input: string): string {
  let story: unknown;
  try {
    story = JSON.parse(input);
  } catch (e) {
    throw new InvalidInputError(`hpack story: not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  return JSON.stringify(inflateStory(story), null, 2) + '\n';
}
