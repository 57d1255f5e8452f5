/** `wirefall view DIR` from the compiled CLI: serves the page with the directory's captures listed to open. */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { ROOT, sample } from './helpers.js';

describe('wirefall view DIR', () => {
  it('prints the URL and lists the captures of the directory in HostInfo; opens one by name', async () => {
    const dir = mkdtempSync(`${tmpdir()}/wirefall-cli-dir-`);
    copyFileSync(sample('keepalive-pool.pcap'), `${dir}/pool.pcap`);
    copyFileSync(sample('h2load.pcap'), `${dir}/h2.pcapng.gz`);
    writeFileSync(`${dir}/readme.txt`, 'not a capture');
    const child = spawn(process.execPath, [`${ROOT}core/bin/wirefall.js`, 'view', dir, '--port', '0'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const out = await new Promise<string>((resolve, reject) => {
        let buf = '';
        const timer = setTimeout(() => reject(new Error(`no URL printed:\n${buf}`)), 60_000);
        child.stdout.setEncoding('utf8');
        child.stdout.on('data', (c: string) => {
          buf += c;
          if (/http:\/\/127\.0\.0\.1:\d+\/\?token=\S+/.test(buf)) {
            clearTimeout(timer);
            resolve(buf);
          }
        });
        child.on('exit', (code) => reject(new Error(`view exited (${code}):\n${buf}`)));
      });
      const url = new URL(/(http:\/\/127\.0\.0\.1:\d+\/\?token=\S+)/.exec(out)![1]!);
      const token = url.searchParams.get('token')!;
      const call = async (method: string, args: unknown[]) => {
        const res = await fetch(`${url.origin}/api/call`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Wirefall-Token': token }, body: JSON.stringify({ method, args }) });
        return { status: res.status, body: (await res.json()) as { result?: unknown; error?: { message: string } } };
      };
      const host = (await call('host', [])).body.result as { directory: { captures: { name: string }[] }; canUpload: boolean };
      expect(host.directory.captures.map((c) => c.name)).toEqual(['h2.pcapng.gz', 'pool.pcap']);
      expect(host.canUpload).toBe(true);
      expect((await call('listDocs', [])).body.result).toEqual([]);
      const opened = await call('openListed', ['pool.pcap']);
      expect(opened.status).toBe(200);
      expect((opened.body.result as { title: string }).title).toBe('pool.pcap');
      expect((await call('openListed', ['readme.txt'])).status).toBe(400);
      // Without the token: refused.
      expect((await fetch(`${url.origin}/api/call`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"method":"host","args":[]}' })).status).toBe(401);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
