/**
 * Times and durations are milliseconds since the capture's first packet; every output carries them
 * to the microsecond (3 decimals), without float noise (`172.78700000000003` → `172.787`). Decided
 * here, once: the JSON writers' replacer (cli/json-out.ts `roundTimes`) and the engine, which rounds
 * a request's `times` and `timings` as it makes the record (engine.ts `addRequest`), so that most
 * request records need no rounding on the way out (cli/json-out.ts `requestJson`).
 *
 * Idempotent: `micros(micros(x)) === micros(x)` for every finite x (k / 1000 rounds back to k).
 */
export function micros(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** Every non-integer finite number member of `o`, rounded to microseconds, in place. */
export function microsInPlace<T extends object>(o: T): T {
  const r = o as Record<string, unknown>;
  for (const k in r) {
    const v = r[k];
    if (typeof v === 'number' && !Number.isInteger(v) && Number.isFinite(v)) r[k] = Math.round(v * 1000) / 1000;
  }
  return o;
}
