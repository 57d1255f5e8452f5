/**
 * How far V8 lets the heap grow past what the last full collection kept, for the CLI's analyses.
 *
 * Analysis streams: its live heap stays small (15–50 MB) while it allocates records fast. V8's
 * default for a small heap lets the next full collection wait until the heap is up to 4x the live
 * size, so garbage piles up: peak RSS 337 MB on the request-heavy bench capture against ~40 MB
 * live. A fixed 1.5x (`--heap-growing-percent=50`) took that to 222 MB in the same time, but cost
 * 15–20% on byte-heavy captures: there the live heap is ~15 MB, 1.5x of it is a few MB of room,
 * and a full collection ran every 30–40 ms (28 in a 1.9 s run).
 *
 * So the room is set from the live heap after each full collection: half the live heap, and never
 * less than HEAP_SLACK_MIN_MB — `--heap-growing-percent` = max(HEAP_GROWING_MIN_PERCENT,
 * HEAP_SLACK_MIN_MB / live), capped at HEAP_GROWING_MAX_PERCENT (about V8's own largest factor).
 * Measured (single runs, 2026-12-04, alternating with the build before this change): with a floor
 * of 16 MB the byte-heavy HTTP/1.1 json run took 1.69–1.86 s against 1.69–1.79 s (12 MB: 1.81–1.93
 * against 1.69–1.73; a fixed 1.5x: 1.91–2.12 s), and ndjson on the request-heavy capture peaked at
 * 211–212 MB at 1x and 247–255 MB at 2x (12 MB: 210 / 239; 32 MB: 238 / 264; V8's defaults: 337 / 414).
 * V8 reads the flag each time it computes the next limit; the live size comes from the major GC
 * entries of a PerformanceObserver (delivered on the next turn of the event loop, so the room set
 * after one collection applies from the next). The engine hands out the connections still open at
 * the capture's end one turn apart (engine.ts `analyzeStream`), so the room follows the live heap
 * there too: on long keep-alive connections that is where every request they carried reaches the
 * detectors.
 *
 * The young generation is capped too (NEW_SPACE_MAX_MB, below).
 *
 * For the CLI's process only (a library user keeps V8's defaults). Worker threads share the flag,
 * set from the main thread's live heap: in an `analyze -j N` batch, where the main thread only
 * prints, that is HEAP_GROWING_MAX_PERCENT, about V8's own default.
 */
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { getHeapSpaceStatistics, getHeapStatistics, setFlagsFromString } from 'node:v8';

export const HEAP_GROWING_MIN_PERCENT = 50;
export const HEAP_GROWING_MAX_PERCENT = 300;
/** Least room (MB) above the live heap before the next full collection. */
export const HEAP_SLACK_MIN_MB = 16;

/** The growing percent for a live heap of `liveBytes`. */
export function heapGrowingPercent(liveBytes: number): number {
  const live = Math.max(liveBytes, 1) / (1024 * 1024);
  const p = Math.ceil((100 * HEAP_SLACK_MIN_MB) / live);
  return Math.min(HEAP_GROWING_MAX_PERCENT, Math.max(HEAP_GROWING_MIN_PERCENT, p));
}

/**
 * The young generation's size (both semi-spaces, MB) at which it stops growing. V8 starts it at 2 MB
 * and doubles it while much of it survives, up to 32 MB on 64 bits; an analysis keeps it growing
 * (records live until their connection completes), and at 32 MB it is a sixth of the peak. The
 * maximum can only be set before the heap is made (`--max-semi-space-size`), but V8 reads the growth
 * factor at each growth, so at this size the factor is set to 1 (`capYoungGeneration`).
 * Measured on the request-heavy 2x capture (json, 2026-12-04, with the startup flag as the stand-in):
 * 289 MB peak at 32 MB, 256 MB at 16 MB, 243 MB at 8 MB; 17.1, 17.3 and 19.6 s. Then with the cap,
 * alternating with the build before it: byte-heavy HTTP/1.1 and HTTP/2 json as fast (1.63–1.70 s
 * against 1.66–1.76 s; 0.81–0.85 against 0.81–0.88) with 35 MB less (140 against 174 MB); HTTPS json
 * 1.48–1.49 s against 1.50–1.64 s, 225 against 255 MB; request-heavy ndjson 2–4% slower (7.37–7.73 s
 * against 7.17–7.38 s) with 186–191 MB against 211–219 MB.
 *
 * Not for `view`: its second thread's young generation would stop wherever it stood when the main
 * thread's reached this size, and its server peak did not fall (615 MB against 577 MB, one run each).
 */
export const NEW_SPACE_MAX_MB = 16;

/**
 * `wirefall view`'s growing percent while it analyses: its analysis and its row builder run on two threads (the
 * server on a third), the observer below would see only the server thread's small heap, and V8's
 * flag applies to all of them. V8's own factor for a small heap is up to 4x. Measured on the
 * request-heavy bench capture (the compact document built by `analyzeCompact`, two runs each,
 * 2026-12-04 22:35 UTC): V8's default 6.96–7.09 s and 502 MB peak; 100 (2x) 7.31–7.42 s and
 * 393–394 MB; 50 (1.5x) 8.06–8.10 s and 361–370 MB. In bench part 8 (headless Chromium): page
 * usable after 8.8 s against 8.4 s, server peak 419 MB against 496 MB (593 against 727 MB at 2x).
 * Before the builder made in-order rows one by one, 2x had cost the page ~0.5–0.9 s.
 */
export const VIEW_HEAP_GROWING_PERCENT = 100;

/**
 * For `wirefall view`: VIEW_HEAP_GROWING_PERCENT while a capture is being analysed, V8's own factor
 * (the flag's 0) while the server only serves. Kept while serving, it made the page's every row
 * arrive 1.5 s later (11.8–12.0 s against 10.3 s) for no lower peak: the peak is the analysis.
 */
export function tuneViewHeapGrowth(analyzing: boolean): void {
  setFlagsFromString(`--heap-growing-percent=${analyzing ? VIEW_HEAP_GROWING_PERCENT : 0}`);
}

let observer: PerformanceObserver | null = null;
let youngObserver: PerformanceObserver | null = null;

/**
 * Stops the young generation's growth at NEW_SPACE_MAX_MB (idempotent): after each collection,
 * until it has reached that size. Process-wide (V8's flags are): worker threads too.
 */
export function capYoungGeneration(): void {
  if (youngObserver) return;
  const obs = new PerformanceObserver(() => {
    const ns = getHeapSpaceStatistics().find((x) => x.space_name === 'new_space');
    if (ns && ns.space_size >= NEW_SPACE_MAX_MB * 1024 * 1024) {
      setFlagsFromString('--semi-space-growth-factor=1');
      obs.disconnect();
    }
  });
  youngObserver = obs;
  obs.observe({ entryTypes: ['gc'] });
}

/** Starts adjusting the heap's growth after each full collection (idempotent). */
export function tuneHeapGrowth(): void {
  if (observer) return;
  let current = -1;
  const set = (p: number) => {
    if (p === current) return;
    current = p;
    setFlagsFromString(`--heap-growing-percent=${p}`);
  };
  set(HEAP_GROWING_MAX_PERCENT);
  capYoungGeneration();
  observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if ((e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) {
        set(heapGrowingPercent(getHeapStatistics().used_heap_size));
        break;
      }
    }
  });
  observer.observe({ entryTypes: ['gc'] });
}
