/**
 * Stepping through a connection's header-table history (core/src/header-tap.ts) in the HPACK /
 * QPACK inspector: the blocks of one direction in order, where to start for a stream, and a
 * field's representation in words. Pure; the history itself comes from core.
 */
import type { HeaderBlockRecord, HeaderTableHistory } from '../../../core/src/view/api.js';
import type { Side } from '../../../core/src/model/types.js';

/** Indices into `h.blocks` of the blocks `side` sent, in order. */
export function directionBlocks(h: HeaderTableHistory, side: Side): number[] {
  const out: number[] = [];
  h.blocks.forEach((b, i) => b.side === side && out.push(i));
  return out;
}

/** Position (in `directionBlocks(h, side)`) of the first block of `streamId`, else 0. */
export function startPosition(h: HeaderTableHistory, side: Side, streamId: number | undefined): number {
  if (streamId === undefined) return 0;
  const pos = directionBlocks(h, side).findIndex((i) => h.blocks[i]!.streamId === streamId);
  return pos < 0 ? 0 : pos;
}

const REP: Record<string, string> = {
  indexed: 'indexed',
  incremental: 'literal, added to table',
  'without-indexing': 'literal, not indexed',
  'never-indexed': 'literal, never indexed',
  'indexed-post-base': 'indexed (post-base)',
  'literal-name-ref': 'literal, name indexed',
  'literal-post-base-name-ref': 'literal, name indexed (post-base)',
  literal: 'literal',
};

/** "indexed dynamic #62", "literal, added to table (name static #1)", … */
export function repText(f: HeaderBlockRecord['fields'][number]): string {
  const rep = REP[f.rep] ?? f.rep;
  if (f.index === undefined) return rep;
  const ref = `${f.table ?? ''} #${f.index}`.trim();
  return f.rep.startsWith('indexed') ? `${rep} ${ref}` : `${rep} (name ${ref})`;
}

/** What the block saved against HTTP/1.1 text, as a signed octet count and a percentage of the HTTP/1 size. */
export function saving(b: Pick<HeaderBlockRecord, 'encodedBytes' | 'http1Bytes'>): { bytes: number; percent: number } {
  const bytes = b.http1Bytes - b.encodedBytes;
  return { bytes, percent: b.http1Bytes > 0 ? Math.round((bytes / b.http1Bytes) * 100) : 0 };
}
