#!/usr/bin/env node
// Thin launcher: the CLI is compiled TypeScript in ../dist (built by `npm ci`/`npm run build`).
// The bundle (dist/bundle, made by scripts/bundle.mjs after tsc) starts ~120 ms sooner than the
// per-module output. It is used only when no compiled module is newer than it, so a plain `tsc`
// (or `tsc -w`) rebuild is never shadowed by a stale bundle.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';

/**
 * How much V8 lets the heap grow past what the last full collection kept, in percent. Analysis
 * streams: its live heap stays small (tens of MB) while it allocates records at a high rate, and
 * V8's default for a small heap (up to 4x the live size) lets garbage pile up to several times the
 * live heap before collecting it: peak RSS 337 MB against ~40 MB live on the request-heavy bench
 * capture. At 1.5x, 227 MB, in the same time (bench part 7, `--only=requests`). Set here, for the
 * CLI process only (a library user keeps V8's defaults); it applies to its worker threads too.
 */
const HEAP_GROWING_PERCENT = 50;
setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const perModule = `${dist}cli/main.js`;
const bundled = `${dist}bundle/main.js`;

/** Latest modification time of the compiled modules (dist/**.js outside dist/bundle). */
function newestModule(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) {
      if (e.name !== 'bundle') t = Math.max(t, newestModule(`${dir}${e.name}/`));
    } else if (e.name.endsWith('.js')) t = Math.max(t, statSync(`${dir}${e.name}`).mtimeMs);
  }
  return t;
}

if (!existsSync(perModule)) {
  process.stderr.write('wirefall: the CLI is not built yet; run `npm run build` in the repository root\n');
  process.exit(70);
}
const entry = existsSync(bundled) && statSync(bundled).mtimeMs >= newestModule(dist) ? bundled : perModule;
const { main } = await import(pathToFileURL(entry).href);
process.exitCode = await main(process.argv.slice(2));
