#!/usr/bin/env node
// Thin launcher: the CLI is compiled TypeScript in ../dist (built by `npm ci`/`npm run build`).
// The bundle (dist/bundle, scripts/bundle.mjs) starts ~120 ms sooner than the per-module output,
// which is used when the bundle is absent (a plain `tsc` build).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const bundled = new URL('../dist/bundle/main.js', import.meta.url);
const entry = existsSync(fileURLToPath(bundled)) ? bundled : new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('wirefall: the CLI is not built yet; run `npm run build` in the repository root\n');
  process.exit(70);
}
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
