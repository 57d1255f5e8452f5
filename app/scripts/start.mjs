#!/usr/bin/env node
// Launch wirefall's desktop app on a capture (default: samples/keepalive-pool.pcap). Where
// Electron's binary is missing or there is no display, say so in one line and serve the same UI
// to a browser on 127.0.0.1 instead (browser mode, `wirefall view`).
//
//   node app/scripts/start.mjs [capture] [--browser] [--port N] [--install-electron]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { findElectronBinary, hasDisplay } from './electron-bin.mjs';

const appDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const root = resolve(appDir, '..');
const args = process.argv.slice(2);
const flag = (f) => {
  const i = args.indexOf(f);
  if (i >= 0) args.splice(i, 1);
  return i >= 0;
};
const opt = (f) => {
  const i = args.indexOf(f);
  if (i < 0) return undefined;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const forceBrowser = flag('--browser');
const installElectron = flag('--install-electron') || process.env.WIREFALL_INSTALL_ELECTRON === '1';
const port = Number(opt('--port') ?? process.env.WIREFALL_PORT ?? 0);
const capture = resolve(args[0] ?? join(root, 'samples', 'keepalive-pool.pcap'));

if (!existsSync(capture)) {
  console.error(`wirefall: cannot open ${capture}: no such file`);
  process.exit(2);
}

/** mtime of the newest source file under dir (skipping node_modules and dist). */
function newest(dir) {
  let t = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules' && e.name !== 'dist') walk(p);
      } else t = Math.max(t, statSync(p).mtimeMs);
    }
  };
  walk(dir);
  return t;
}

function ensureBuilt() {
  const need = [];
  const coreOut = join(root, 'core', 'dist', 'view', 'server.js');
  if (!existsSync(coreOut) || statSync(coreOut).mtimeMs < newest(join(root, 'core', 'src'))) need.push(['run', 'build', '-w', 'core']);
  const ui = join(appDir, 'dist', 'renderer', 'index.html');
  const main = join(appDir, 'dist', 'main', 'main.js');
  const src = Math.max(newest(join(appDir, 'renderer')), newest(join(appDir, 'main')), newest(join(appDir, 'preload')));
  if (!existsSync(ui) || !existsSync(main) || statSync(ui).mtimeMs < src || statSync(main).mtimeMs < src) need.push(['run', 'build', '-w', 'app']);
  for (const cmd of need) {
    const r = spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', cmd, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
    if (r.error) throw r.error;
    // tsc reports type errors but still emits: only a missing output is fatal.
    const output = cmd.includes('core') ? coreOut : ui;
    if (r.status !== 0 && !existsSync(output)) {
      process.stderr.write(`wirefall: \`npm ${cmd.join(' ')}\` failed:\n${r.stdout}${r.stderr}`);
      process.exit(1);
    }
  }
}

async function browserMode(why) {
  console.log(`wirefall: ${why} — serving the UI in browser mode instead.`);
  const { startViewServer } = await import(pathToFileURL(join(root, 'core', 'dist', 'view', 'server.js')).href);
  const server = await startViewServer({ capturePath: capture, port, staticDir: join(appDir, 'dist', 'renderer') });
  console.log(`Open ${server.url}`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

ensureBuilt();
let bin = findElectronBinary();
if (!bin.path && installElectron && hasDisplay() && !forceBrowser) {
  console.log('wirefall: downloading Electron (npx install-electron)…');
  spawnSync(process.platform === 'win32' ? 'npx.cmd' : 'npx', ['--no', 'install-electron'], { cwd: root, stdio: 'inherit', timeout: 300_000 });
  bin = findElectronBinary();
}
if (forceBrowser) await browserMode('--browser given');
else if (!bin.path) await browserMode(`${bin.reason}${installElectron ? '' : ' (pass --install-electron to fetch it)'}`);
else if (!hasDisplay()) await browserMode('no display (DISPLAY/WAYLAND_DISPLAY unset)');
else {
  const child = spawn(bin.path, [join(appDir, 'dist', 'main', 'main.js'), capture], { stdio: 'inherit' });
  child.on('exit', (code) => process.exit(code ?? 0));
}
