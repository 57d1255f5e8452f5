/**
 * The BUILT main-process bundle (app/dist/main: main.js, worker.js, preload.cjs), run in Node
 * against a stand-in `electron` (test/e2e/fixtures/electron-stub.mjs): it must start, create the
 * secured window on the app scheme, and analyse the capture from its command line in the worker
 * thread, streaming progress to the window. Needs no Electron binary.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { ARTIFACTS, ROOT, sample } from './helpers.js';

describe('bundled Electron main process', () => {
  it('opens the command-line capture and analyses it in the worker', () => {
    const out = `${ARTIFACTS}/main-bundle-${process.pid}`;
    const b = spawnSync(process.execPath, [`${ROOT}app/scripts/build.mjs`], { cwd: ROOT, env: { ...process.env, WIREFALL_MAIN_OUT: out, WIREFALL_RENDERER_OUT: `${out}-renderer` }, encoding: 'utf8' });
    expect(b.status, b.stderr).toBe(0);
    for (const f of ['main.js', 'worker.js', 'preload.cjs']) expect(existsSync(`${out}/${f}`), f).toBe(true);
    // The sandboxed preload may only require('electron').
    expect([...readFileSync(`${out}/preload.cjs`, 'utf8').matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1])).toEqual(['electron']);

    const r = spawnSync(process.execPath, ['--import', `${ROOT}test/e2e/fixtures/electron-stub-register.mjs`, `${out}/main.js`, sample('browser-pageload.pcap.gz')], {
      cwd: ROOT,
      env: { ...process.env, WIREFALL_TEST_USERDATA: mkdtempSync(`${tmpdir()}/wirefall-ud-`) },
      encoding: 'utf8',
      timeout: 60_000,
    });
    const lines = r.stdout
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { what: string; data: any });
    const find = (w: string) => lines.filter((l) => l.what === w).map((l) => l.data);
    expect(find('schemes')[0]).toEqual([{ scheme: 'wirefall', privileges: expect.objectContaining({ secure: true, standard: true }) }]);
    expect(find('window')[0]).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false });
    expect(find('window')[0].preload).toBe(`${out}/preload.cjs`);
    expect(find('load')).toEqual(['wirefall://app/index.html']);
    expect(find('ipc')).toEqual(['wirefall:call']);
    expect(find('recent')).toEqual([sample('browser-pageload.pcap.gz')]);
    const events = find('event');
    expect(events.some((e) => e.type === 'progress'), JSON.stringify(events)).toBe(true);
    expect(events.find((e) => e.type === 'state')).toEqual({ type: 'state', state: 'ready' });
  });
});
