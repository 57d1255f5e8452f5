#!/usr/bin/env node
// Thin launcher: the CLI is compiled TypeScript in ../dist (built by `npm ci`/`npm run build`).
// The bundle (dist/bundle, made by scripts/bundle.mjs after tsc) starts ~120 ms sooner than the
// per-module output. It is used only when no compiled module is newer than it, so a plain `tsc`
// (or `tsc -w`) rebuild is never shadowed by a stale bundle.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

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
