/**
 * Offset reassembly (quic/assembler.ts) as a scenario table: pushes (offset, data) → deliveries
 * (offset, data, skipped). Reorder, duplicates, overlap, limits that force a hole to be given up,
 * and flush at the end.
 */
import { describe, expect, it } from 'vitest';
import { OffsetAssembler, type HeldBudget } from '../../../core/src/quic/assembler.js';

type Push = [offset: number, data: string];
type Delivery = [offset: number, data: string, skipped: number];

interface Case {
  name: string;
  pushes: Push[];
  flush?: boolean;
  limits?: { maxPieces: number; maxBytes: number };
  want: Delivery[];
  dup?: number;
  lost?: number;
}

const cases: Case[] = [
  { name: 'in order', pushes: [[0, 'ab'], [2, 'cd']], want: [[0, 'ab', 0], [2, 'cd', 0]] },
  { name: 'reordered: held, then drained in order', pushes: [[2, 'cd'], [4, 'e'], [0, 'ab']], want: [[0, 'ab', 0], [2, 'cd', 0], [4, 'e', 0]] },
  { name: 'retransmission of delivered octets is dropped', pushes: [[0, 'abcd'], [0, 'ab'], [2, 'cd']], want: [[0, 'abcd', 0]], dup: 4 },
  { name: 'overlap: only the new tail is delivered', pushes: [[0, 'abc'], [1, 'bcdef']], want: [[0, 'abc', 0], [3, 'def', 0]], dup: 2 },
  { name: 'overlapping held pieces are trimmed when drained', pushes: [[3, 'def'], [2, 'cdefg'], [0, 'ab']], want: [[0, 'ab', 0], [2, 'cdefg', 0]], dup: 3 },
  { name: 'a hole stays open until flush, then is a skip', pushes: [[0, 'a'], [3, 'd']], flush: true, want: [[0, 'a', 0], [3, 'd', 2]], lost: 2 },
  { name: 'a late fill closes the hole before flush', pushes: [[0, 'a'], [3, 'd'], [1, 'bc']], flush: true, want: [[0, 'a', 0], [1, 'bc', 0], [3, 'd', 0]] },
  {
    name: 'piece limit: the oldest held piece is delivered across its hole',
    limits: { maxPieces: 2, maxBytes: 100 },
    pushes: [[2, 'c'], [4, 'e'], [6, 'g']],
    want: [[2, 'c', 2]],
    lost: 2,
  },
  {
    name: 'byte limit: a piece too large to hold is delivered at once after its hole',
    limits: { maxPieces: 10, maxBytes: 3 },
    pushes: [[5, 'fghij']],
    want: [[5, 'fghij', 5]],
    lost: 5,
  },
];

describe('OffsetAssembler scenarios', () => {
  for (const c of cases) {
    it(c.name, () => {
      const got: Delivery[] = [];
      const a = new OffsetAssembler((d, off, skipped) => got.push([off, Buffer.from(d).toString(), skipped]), c.limits ?? { maxPieces: 64, maxBytes: 1 << 20 });
      let t = 0;
      for (const [off, s] of c.pushes) a.push(off, Buffer.from(s), ++t, t);
      if (c.flush) a.flush(100);
      expect(got).toEqual(c.want);
      if (c.dup !== undefined) expect(a.duplicateBytes).toBe(c.dup);
      if (c.lost !== undefined) expect(a.lostBytes).toBe(c.lost);
    });
  }

  it('stamps drained pieces with their own capture time and the time they became deliverable', () => {
    const got: [number, number, number][] = [];
    const a = new OffsetAssembler((_d, off, _s, time, delivered) => got.push([off, time, delivered]), { maxPieces: 8, maxBytes: 100 });
    a.push(2, Buffer.from('cd'), 10, 1);
    a.push(0, Buffer.from('ab'), 20, 2);
    expect(got).toEqual([
      [0, 20, 20],
      [2, 10, 20],
    ]);
  });

  it('shares one budget across assemblers and gives it back as pieces drain', () => {
    const budget: HeldBudget = { held: 0, max: 4 };
    const a = new OffsetAssembler(() => {}, { maxPieces: 8, maxBytes: 100 }, budget);
    const b = new OffsetAssembler(() => {}, { maxPieces: 8, maxBytes: 100 }, budget);
    a.push(1, Buffer.from('xyz'), 1, 1);
    expect(budget.held).toBe(3);
    b.push(5, Buffer.from('vw'), 2, 2); // does not fit the budget: delivered across its hole
    expect(b.lostBytes).toBe(5);
    a.push(0, Buffer.from('w'), 3, 3);
    expect(budget.held).toBe(0);
  });
});
