/**
 * Issue 15 item 6: opening captures in browser mode — POST /api/upload streams a file to a temporary
 * file and opens it (token, Host and Origin checks hold); `wirefall view DIR` lists a directory's
 * captures and opens only names from that listing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { listCaptures, startViewServer, uploadName, type ViewServer } from '../../core/src/view/server.js';
import { validateCall } from '../../core/src/view/api.js';
import { raw } from './http-raw.js';

const sample = (name: string) => fileURLToPath(new URL(`../../samples/${name}`, import.meta.url));

describe('uploading a capture to the view server', () => {
  let server: ViewServer;
  let staticDir: string;
  beforeAll(async () => {
    staticDir = mkdtempSync(`${tmpdir()}/wirefall-static-`);
    writeFileSync(`${staticDir}/index.html`, '<!doctype html><title>wirefall</title>');
    server = await startViewServer({ capturePath: sample('keepalive-pool.pcap'), staticDir, port: 0 });
  });
  afterAll(async () => {
    await server?.close();
  });
  const upload = (body: Buffer, headers: Record<string, string>, name = 'pool.pcap') =>
    raw(server.port, `/api/upload?name=${encodeURIComponent(name)}`, { method: 'POST', headers: { 'Content-Type': 'application/octet-stream', ...headers }, body });

  it('opens an uploaded capture as a new document, analysed like `wirefall view FILE`', async () => {
    const bytes = readFileSync(sample('h2load.pcap'));
    const r = await upload(bytes, { 'X-Wirefall-Token': server.token }, '../../etc/h2load.pcap');
    expect(r.status).toBe(200);
    const doc = (JSON.parse(r.body) as { result: { id: string; title: string; path: string } }).result;
    expect(doc.title).toBe('h2load.pcap');
    expect(doc.path).not.toContain('..');
    const info = await server.docs.settled(doc.id);
    expect(info.state).toBe('ready');
    expect(server.docs.report(doc.id).capture.fileBytes).toBe(bytes.length);
    expect(readFileSync(doc.path).equals(bytes)).toBe(true);
  });

  it('refuses an upload without the token, from another origin, with a foreign Host or another content type', async () => {
    const bytes = readFileSync(sample('keepalive-pool.pcap'));
    const before = server.docs.list().length;
    expect((await upload(bytes, {})).status).toBe(401);
    expect((await upload(bytes, { 'X-Wirefall-Token': 'x'.repeat(43) })).status).toBe(401);
    expect((await upload(bytes, { 'X-Wirefall-Token': server.token, Origin: 'http://evil.test' })).status).toBe(403);
    expect((await upload(bytes, { 'X-Wirefall-Token': server.token, Host: `evil.test:${server.port}` })).status).toBe(421);
    expect((await raw(server.port, '/api/upload?name=a.pcap', { method: 'POST', headers: { 'X-Wirefall-Token': server.token, 'Content-Type': 'multipart/form-data' }, body: bytes })).status).toBe(415);
    expect((await raw(server.port, '/api/upload', { headers: { 'X-Wirefall-Token': server.token } })).status).toBe(405);
    expect(server.docs.list().length).toBe(before);
  });

  it('removes the uploaded files when the server closes', async () => {
    const s = await startViewServer({ capturePath: sample('keepalive-pool.pcap'), staticDir, port: 0 });
    const r = await raw(s.port, '/api/upload?name=x.pcap', { method: 'POST', headers: { 'Content-Type': 'application/octet-stream', 'X-Wirefall-Token': s.token }, body: readFileSync(sample('keepalive-pool.pcap')) });
    const path = (JSON.parse(r.body) as { result: { path: string; id: string } }).result.path;
    expect(existsSync(path)).toBe(true);
    await s.docs.settled((JSON.parse(r.body) as { result: { id: string } }).result.id);
    await s.close();
    expect(existsSync(path)).toBe(false);
  });

  it('removes an uploaded file when its document is closed', async () => {
    const r = await upload(readFileSync(sample('keepalive-pool.pcap')), { 'X-Wirefall-Token': server.token }, 'closing.pcap');
    const doc = (JSON.parse(r.body) as { result: { path: string; id: string } }).result;
    await server.docs.settled(doc.id);
    expect(existsSync(doc.path)).toBe(true);
    server.docs.close(doc.id);
    await new Promise((ok) => setTimeout(ok, 200));
    expect(existsSync(doc.path)).toBe(false);
  });

  it('names an upload safely', () => {
    expect(uploadName('a b.pcap')).toBe('a_b.pcap');
    expect(uploadName('C:\\Users\\x\\cap.pcapng')).toBe('cap.pcapng');
    expect(uploadName('../../.hidden')).toBe('hidden');
    expect(uploadName('')).toBe('capture.pcap');
    expect(uploadName(null)).toBe('capture.pcap');
  });
});

describe('wirefall view DIR', () => {
  let dir: string;
  let staticDir: string;
  beforeAll(() => {
    dir = mkdtempSync(`${tmpdir()}/wirefall-dir-`);
    staticDir = mkdtempSync(`${tmpdir()}/wirefall-static-`);
    writeFileSync(`${staticDir}/index.html`, '<!doctype html><title>wirefall</title>');
    copyFileSync(sample('keepalive-pool.pcap'), `${dir}/b.pcap`);
    copyFileSync(sample('h2load.pcap'), `${dir}/a.pcap`);
    writeFileSync(`${dir}/notes.txt`, 'x');
    mkdirSync(`${dir}/sub.pcap`);
  });

  it('lists the captures (files only, by name) and opens only listed names', async () => {
    expect((await listCaptures(dir)).map((c) => c.name)).toEqual(['a.pcap', 'b.pcap']);
    const s = await startViewServer({ directory: dir, staticDir, port: 0 });
    try {
      expect(s.docs.list()).toEqual([]);
      const call = (method: string, args: unknown[]) => raw(s.port, '/api/call', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Wirefall-Token': s.token }, body: JSON.stringify({ method, args }) });
      const host = JSON.parse((await call('host', [])).body) as { result: { directory: { path: string; captures: { name: string; bytes: number }[] } } };
      expect(host.result.directory.captures.map((c) => c.name)).toEqual(['a.pcap', 'b.pcap']);
      const opened = await call('openListed', ['b.pcap']);
      expect(opened.status).toBe(200);
      const id = (JSON.parse(opened.body) as { result: { id: string } }).result.id;
      expect((await s.docs.settled(id)).state).toBe('ready');
      expect((await call('openListed', ['notes.txt'])).status).toBe(400);
      expect((await call('openListed', ['../b.pcap'])).status).toBe(400);
      expect(validateCall('openListed', ['..'])).not.toBeNull();
      expect(validateCall('openListed', ['a/b.pcap'])).not.toBeNull();
      expect(s.docs.list().length).toBe(1);
    } finally {
      await s.close();
    }
  });
});
