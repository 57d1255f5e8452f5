/**
 * The CLI's heap growth (core/src/cli/heap-growth.ts): half the live heap as room before the next
 * full collection, never less than HEAP_SLACK_MIN_MB, never more than V8's own largest factor.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HEAP_GROWING_MAX_PERCENT, HEAP_GROWING_MIN_PERCENT, HEAP_SLACK_MIN_MB, NEW_SPACE_MAX_MB, heapGrowingPercent } from '../../../core/src/cli/heap-growth.js';

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

describe('capYoungGeneration', () => {
  // In a fresh process (V8's flags are process-wide), the built module (`npm test` builds first):
  // garbage of which a third survives a while, made in turns of the event loop (the observer's
  // entries come on the next turn); then the young generation's size.
  const module = pathToFileURL(join(import.meta.dirname, '../../../core/dist/cli/heap-growth.js')).href;
  const script = (cap: boolean) => `
    const { capYoungGeneration } = await import(${JSON.stringify(module)});
    const v8 = await import('node:v8');
    if (${cap}) capYoungGeneration();
    let keep = [];
    for (let round = 0; round < 60; round++) {
      for (let i = 0; i < 50000; i++) {
        const o = { a: i, b: 'x' + i, c: [i] };
        if (i % 3 === 0) keep.push(o);
      }
      if (keep.length > 200000) keep = [];
      await new Promise((r) => setImmediate(r));
    }
    const ns = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    console.log(ns.space_size);`;
  const youngMb = (cap: boolean): number => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script(cap)], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    return Number(r.stdout.trim()) / (1024 * 1024);
  };

  it('stops its growth at NEW_SPACE_MAX_MB, where V8 alone lets it grow past', () => {
    expect(youngMb(false)).toBeGreaterThan(NEW_SPACE_MAX_MB);
    expect(youngMb(true)).toBe(NEW_SPACE_MAX_MB);
  });
});
