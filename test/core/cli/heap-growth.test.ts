/**
 * The CLI's heap growth (core/src/cli/heap-growth.ts): half the live heap as room before the next
 * full collection, never less than HEAP_SLACK_MIN_MB, never more than V8's own largest factor.
 */
import { describe, expect, it } from 'vitest';
import { HEAP_GROWING_MAX_PERCENT, HEAP_GROWING_MIN_PERCENT, HEAP_SLACK_MIN_MB, heapGrowingPercent } from '../../../core/src/cli/heap-growth.js';

const MB = 1024 * 1024;

describe('heapGrowingPercent', () => {
  it('a large live heap grows by half of itself', () => {
    expect(heapGrowingPercent(200 * MB)).toBe(HEAP_GROWING_MIN_PERCENT);
    expect(heapGrowingPercent(2 * HEAP_SLACK_MIN_MB * MB)).toBe(HEAP_GROWING_MIN_PERCENT);
  });

  it('a small one gets at least HEAP_SLACK_MIN_MB of room', () => {
    for (const live of [HEAP_SLACK_MIN_MB * MB, 15 * MB, 10 * MB, 7 * MB]) {
      const p = heapGrowingPercent(live);
      expect(p).toBeGreaterThan(HEAP_GROWING_MIN_PERCENT);
      expect((live * p) / 100).toBeGreaterThanOrEqual(HEAP_SLACK_MIN_MB * MB);
      // The least percent that gives it.
      expect((live * (p - 1)) / 100).toBeLessThan(HEAP_SLACK_MIN_MB * MB);
    }
  });

  it('a tiny (or unknown) live heap is capped at V8\'s largest factor', () => {
    expect(heapGrowingPercent(MB)).toBe(HEAP_GROWING_MAX_PERCENT);
    expect(heapGrowingPercent(0)).toBe(HEAP_GROWING_MAX_PERCENT);
  });
});
