/**
 * HPACK annotations for h2 headers in the Headers tab, from `request.h2.hpack` (the decoder's
 * per-field records, core/src/http2/hpack/decoder.ts DecodedField), aligned with the header list.
 */
import type { Request } from '../../../core/src/model/types.js';

interface FieldLike {
  rep?: 'indexed' | 'incremental' | 'without-indexing' | 'never-indexed';
  index?: number;
  table?: 'static' | 'dynamic';
  nameIndex?: number;
  valueHuffman?: boolean;
  wireBytes?: number;
  unknown?: boolean;
}

const REP: Record<NonNullable<FieldLike['rep']>, string> = {
  indexed: 'indexed',
  incremental: 'literal, added to table',
  'without-indexing': 'literal, not indexed',
  'never-indexed': 'literal, never indexed',
};

export function hpackNote(x: unknown): string | undefined {
  if (typeof x === 'string') return x;
  if (!x || typeof x !== 'object') return undefined;
  const f = x as FieldLike;
  const parts: string[] = [];
  if (f.rep === 'indexed') parts.push(`indexed ${f.table ?? ''} #${f.index ?? '?'}`.replace('  ', ' '));
  else if (f.rep) {
    parts.push(REP[f.rep] ?? f.rep);
    if (f.nameIndex !== undefined) parts.push(`name ${f.table ?? ''} #${f.nameIndex}`.replace('  ', ' '));
    if (f.valueHuffman) parts.push('Huffman');
  }
  if (typeof f.wireBytes === 'number') parts.push(`${f.wireBytes} B on the wire`);
  if (f.unknown) parts.push('entry from before the capture');
  return parts.length ? parts.join(', ') : undefined;
}

/**
 * Notes per header of `headers`, matched to the decoder's fields in order by name (so a header
 * list that omits or adds entries stays aligned), or null when the request has none.
 */
export function hpackNotes(req: Pick<Request, 'h2'>, which: 'request' | 'response', headers?: readonly { name: string }[]): (string | undefined)[] | null {
  // Typed as the session writes it, but read defensively: a report file may come from elsewhere.
  const h = req.h2?.hpack as Record<string, unknown> | undefined;
  if (!h || typeof h !== 'object') return null;
  let list: unknown = h[`${which}Headers`] ?? h[which];
  if (list && typeof list === 'object' && !Array.isArray(list) && Array.isArray((list as { fields?: unknown }).fields)) list = (list as { fields: unknown[] }).fields;
  if (!Array.isArray(list)) return null;
  const fields = list as unknown[];
  if (!headers) return fields.map(hpackNote);
  const nameOf = (f: unknown) => (f && typeof f === 'object' && typeof (f as { name?: unknown }).name === 'string' ? (f as { name: string }).name.toLowerCase() : null);
  let j = 0;
  return headers.map((h) => {
    const n = h.name.toLowerCase();
    for (let k = j; k < fields.length; k++) {
      const fn = nameOf(fields[k]);
      if (fn === n || (fn === null && k === j)) {
        j = k + 1;
        return hpackNote(fields[k]);
      }
    }
    return undefined;
  });
}
