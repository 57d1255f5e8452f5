import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

// The renderer: a static bundle served by `wirefall view` and loaded by the Electron window.
export default defineConfig({
  root: fileURLToPath(new URL('./renderer', import.meta.url)),
  base: './',
  logLevel: 'warn',
  build: {
    outDir: process.env.WIREFALL_RENDERER_OUT ?? fileURLToPath(new URL('./dist/renderer', import.meta.url)),
    emptyOutDir: true,
    target: 'chrome120',
    sourcemap: false,
    modulePreload: { polyfill: false },
  },
  oxc: { jsx: { runtime: 'automatic' } },
});
