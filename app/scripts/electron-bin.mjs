// Find Electron's binary WITHOUT require('electron') (which downloads it lazily when missing).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** @returns {{ path: string | null, reason: string }} */
export function findElectronBinary(env = process.env) {
  let pkgDir;
  try {
    pkgDir = dirname(createRequire(import.meta.url).resolve('electron/package.json'));
  } catch {
    return { path: null, reason: 'the electron package is not installed' };
  }
  const pathFile = join(pkgDir, 'path.txt');
  const rel = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : '';
  if (env.ELECTRON_OVERRIDE_DIST_PATH) {
    const p = join(env.ELECTRON_OVERRIDE_DIST_PATH, rel || 'electron');
    return existsSync(p) ? { path: p, reason: 'ELECTRON_OVERRIDE_DIST_PATH' } : { path: null, reason: `no Electron binary at ${p}` };
  }
  if (!rel) return { path: null, reason: "Electron's binary was never downloaded (node_modules/electron/path.txt missing)" };
  const p = join(pkgDir, 'dist', rel);
  return existsSync(p) ? { path: p, reason: 'node_modules/electron/dist' } : { path: null, reason: `Electron's binary is missing (${p})` };
}

/** A display to open a window on? (Linux/BSD need X11 or Wayland; macOS and Windows always have one.) */
export function hasDisplay(env = process.env, platform = process.platform) {
  if (platform === 'darwin' || platform === 'win32') return true;
  return Boolean(env.DISPLAY || env.WAYLAND_DISPLAY);
}
