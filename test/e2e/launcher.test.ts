/** `node app/scripts/start.mjs`: without Electron's binary or a display it falls back to browser mode. */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { get } from 'node:http';
import { findElectronBinary, hasDisplay } from '../../app/scripts/electron-bin.mjs';
import { ROOT } from './helpers.js';

describe('launcher', () => {
  it('detects a display per platform', () => {
    expect(hasDisplay({}, 'linux')).toBe(false);
    expect(hasDisplay({ DISPLAY: ':0' }, 'linux')).toBe(true);
    expect(hasDisplay({ WAYLAND_DISPLAY: 'wayland-0' }, 'linux')).toBe(true);
    expect(hasDisplay({}, 'darwin')).toBe(true);
  });

  it('finds no binary under a wrong ELECTRON_OVERRIDE_DIST_PATH, without downloading', () => {
    const r = findElectronBinary({ ELECTRON_OVERRIDE_DIST_PATH: '/nonexistent/electron-dist' });
    expect(r.path).toBeNull();
    expect(r.reason).toMatch(/no Electron binary/);
  });

  it('`npm start` (the README\'s first command) is this launcher, on the default sample', async () => {
    const { readFileSync } = await import('node:fs');
    const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts['start']).toBe('node app/scripts/start.mjs');
  });

  it('says why in one line and serves the UI to a browser, printing the URL', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, ELECTRON_OVERRIDE_DIST_PATH: '/nonexistent/electron-dist' };
    delete env.DISPLAY;
    delete env.WAYLAND_DISPLAY;
    // No capture argument: exactly what `npm start` runs.
    const child = spawn(process.execPath, [`${ROOT}app/scripts/start.mjs`], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const out = await new Promise<string>((resolve, reject) => {
        let buf = '';
        const timer = setTimeout(() => reject(new Error(`no URL printed; output so far:\n${buf}`)), 90_000);
        child.stdout.setEncoding('utf8');
        child.stdout.on('data', (c: string) => {
          buf += c;
          if (/Open http:\/\/127\.0\.0\.1:\d+\/\?token=\S+\n/.test(buf)) {
            clearTimeout(timer);
            resolve(buf);
          }
        });
        child.on('exit', (code) => reject(new Error(`launcher exited (${code}):\n${buf}`)));
      });
      const lines = out.trim().split('\n');
      expect(lines).toHaveLength(2);
      expect(lines[0]).toMatch(/^wirefall: .*no Electron binary.* — serving the UI in browser mode instead\.$/);
      const url = /Open (\S+)/.exec(lines[1]!)![1]!;
      const status = await new Promise<number>((resolve, reject) => get(url, (res) => (res.resume(), resolve(res.statusCode ?? 0))).on('error', reject));
      expect(status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
  });
});

describe('wirefall view from the compiled build', () => {
  it('analyses in a worker thread, keeping the server responsive', async () => {
    const { existsSync } = await import('node:fs');
    const dist = `${ROOT}core/dist/view/server.js`;
    if (!existsSync(dist)) {
      const { spawnSync } = await import('node:child_process');
      spawnSync('npm', ['run', 'build', '-w', 'core'], { cwd: ROOT, stdio: 'ignore' });
    }
    const { startViewServer } = (await import(dist)) as typeof import('../../core/src/view/server.js');
    const { buildRenderer } = await import('./helpers.js');
    const server = await startViewServer({ capturePath: `${ROOT}samples/browser-pageload.pcap.gz`, staticDir: buildRenderer() });
    try {
      expect(server.analysis).toBe('worker');
      const info = await server.docs.settled(server.doc);
      expect(info.state).toBe('ready');
      expect(server.docs.model(server.doc).requests.length).toBe(info.progress.requests);
    } finally {
      await server.close();
    }
  });
});
