#!/usr/bin/env node
/**
 * Bundles the compiled CLI (dist/cli/main.js and the worker entries it starts) into a few files in
 * dist/bundle/, which bin/wirefall.js loads when present.
 *
 * Why: Node 20 loads ES modules one file at a time (resolve, read, compile, link): the CLI's ~60
 * modules took ~120 ms before the first packet was read, about a tenth of a 200 MB HTTP/2 run.
 * esbuild (made for exactly this) joins them; packages (pcap-parser, tinyglobby) stay external.
 * The library (`@wirefall/core`, dist/index.js) and the tests keep using the per-module output.
 *
 * Layout constraints: the bundle directory sits at the same depth as dist/cli/, so the relative
 * URLs the code resolves from import.meta.url (../../../app/dist/renderer, ./worker.js,
 * ./analysis-worker.js, ./compact-worker.js) name the same files from either build; entries are flat (entryNames
 * '[name]') for the same reason.
 */
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const outdir = `${dist}bundle`;
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: [`${dist}cli/main.js`, `${dist}cli/worker.js`, `${dist}view/analysis-worker.js`, `${dist}view/compact-worker.js`],
  outdir,
  entryNames: '[name]',
  chunkNames: 'chunk-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});
