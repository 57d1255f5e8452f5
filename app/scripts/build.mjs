#!/usr/bin/env node
// Build the app: the renderer (vite → app/dist/renderer), the Electron main process, analysis
// worker and preload (bundled with vite/rolldown → app/dist/main), and the SVG waterfall that
// `wirefall waterfall` loads (→ app/dist/svg). Fast: a few seconds.
// WIREFALL_RENDERER_OUT / WIREFALL_MAIN_OUT / WIREFALL_SVG_OUT redirect the outputs (tests build
// into their own dirs).
//   node app/scripts/build.mjs [--renderer-only]
import { build } from 'vite';
import { builtinModules } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const appDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const rendererOnly = process.argv.includes('--renderer-only');

await build({ configFile: join(appDir, 'vite.config.ts'), logLevel: 'warn' });

if (!rendererOnly) {
  const external = ['electron', ...builtinModules, ...builtinModules.map((m) => `node:${m}`)];
  const common = (entry, format, fileName) => ({
    configFile: false,
    logLevel: 'warn',
    root: appDir,
    ssr: { noExternal: true, external: ['electron'] },
    build: {
      ssr: entry,
      outDir: process.env.WIREFALL_MAIN_OUT ?? join(appDir, 'dist', 'main'),
      emptyOutDir: false,
      target: 'node22',
      minify: false,
      sourcemap: false,
      rollupOptions: { external, output: { format, entryFileNames: fileName, codeSplitting: false } },
    },
  });
  await build(common(join(appDir, 'main', 'main.ts'), 'es', 'main.js'));
  await build(common(join(appDir, 'main', 'worker.ts'), 'es', 'worker.js'));
  // The compact document's builder thread, beside the worker that starts it (core/src/view/core-link.ts).
  await build(common(join(appDir, '..', 'core', 'src', 'view', 'compact-worker.ts'), 'es', 'compact-worker.js'));
  await build(common(join(appDir, 'preload', 'preload.ts'), 'cjs', 'preload.cjs'));
  // The SVG waterfall (renderer/model/svg.ts, the UI's own layout and colours) for `wirefall waterfall`.
  const svg = common(join(appDir, 'renderer', 'model', 'waterfallSvg.ts'), 'es', 'waterfall-svg.js');
  // A build redirected for a test (WIREFALL_MAIN_OUT) leaves app/dist/svg alone too.
  svg.build.outDir = process.env.WIREFALL_SVG_OUT ?? (process.env.WIREFALL_MAIN_OUT ? `${process.env.WIREFALL_MAIN_OUT}-svg` : join(appDir, 'dist', 'svg'));
  svg.build.target = 'node20';
  await build(svg);
}
console.log(`wirefall app built in ${join(appDir, 'dist')}`);
