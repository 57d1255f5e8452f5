/**
 * `wirefall view` server (core/src/view/server.ts): loopback only, token on every API request,
 * Host-header check against DNS rebinding, no path traversal, same API as the preload.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { request } from 'node:http';
import { startViewServer, type ViewServer } from '../../core/src/view/server.js';
import { CORE } from '../../core/src/view/core-link.js';
import type { ViewModel } from '../../core/src/view/api.js';
import { raw } from './http-raw.js';

const sample = new URL('../../samples/browser-pageload.pcap.gz', import.meta.url).pathname;


describe('wirefall view server', () => {
  let server: ViewServer;
  let staticDir: string;
  const call = (method: string, args: unknown[], token = server.token, extra: Record<string, string> = {}) =>
    raw(server.port, '/api/call', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Wirefall-Token': token, ...extra }, body: JSON.stringify({ method, args }) });

  beforeAll(async () => {
    staticDir = mkdtempSync(`${tmpdir()}/wirefall-static-`);
    mkdirSync(`${staticDir}/assets`);
    writeFileSync(`${staticDir}/index.html`, '<!doctype html><title>wirefall</title>');
    writeFileSync(`${staticDir}/assets/app.js`, 'console.log(1)');
    server = await startViewServer({ capturePath: sample, staticDir, port: 0 });
    await server.docs.settled(server.doc);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('listens on 127.0.0.1 with a 256-bit token in the URL', () => {
    expect(server.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${server.port}/\\?token=[A-Za-z0-9_-]{43}$`));
  });

  it('refuses to listen anywhere but loopback', async () => {
    await expect(startViewServer({ capturePath: sample, staticDir, host: '0.0.0.0' as '127.0.0.1' })).rejects.toThrow(/127\.0\.0\.1/);
  });

  it('serves the UI with a strict CSP and nosniff', async () => {
    const r = await raw(server.port, '/');
    expect(r.status).toBe(200);
    expect(r.body).toContain('<title>wirefall</title>');
    expect(r.headers['content-security-policy']).toMatch(/default-src 'none'; script-src 'self'/);
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect((await raw(server.port, '/assets/app.js')).headers['content-type']).toMatch(/javascript/);
  });

  it('requires the token on every API request', async () => {
    expect((await call('listDocs', [], '')).status).toBe(401);
    expect((await call('listDocs', [], 'x'.repeat(43))).status).toBe(401);
    expect((await raw(server.port, '/api/events')).status).toBe(401);
    expect((await raw(server.port, `/api/export?doc=${server.doc}&kind=har`)).status).toBe(401);
    expect((await call('listDocs', [])).status).toBe(200);
  });

  it('rejects foreign Host headers (DNS rebinding) and cross-origin requests', async () => {
    for (const host of ['evil.example', `evil.example:${server.port}`, `127.0.0.1:${server.port + 1}`, '127.0.0.1']) {
      const r = await raw(server.port, '/', { headers: { Host: host } });
      expect(r.status, host).toBe(421);
    }
    expect((await raw(server.port, '/', { headers: { Host: `localhost:${server.port}` } })).status).toBe(200);
    expect((await call('listDocs', [], server.token, { Origin: 'http://evil.example' })).status).toBe(403);
  });

  it('does not serve files outside its directory', async () => {
    for (const p of ['/../package.json', '/%2e%2e/%2e%2e/etc/passwd', '/assets/..%2f..%2fetc%2fpasswd']) {
      const r = await raw(server.port, p);
      expect([403, 404], p).toContain(r.status);
      expect(r.body).not.toContain('root:');
    }
  });

  it('accepts only well-formed JSON calls of known methods', async () => {
    expect((await raw(server.port, '/api/call', { method: 'POST', headers: { 'X-Wirefall-Token': server.token, 'Content-Type': 'text/plain' }, body: '{}' })).status).toBe(415);
    expect((await raw(server.port, '/api/call', { method: 'GET', headers: { 'X-Wirefall-Token': server.token } })).status).toBe(405);
    expect((await call('eval', ['1'])).status).toBe(400);
    expect((await call('getRequest', [server.doc, 'x'])).status).toBe(400);
    expect((await call('openPaths', [['/etc/passwd']])).status).toBe(400);
  });

  it('serves a head model: the first rows of the whole model, and how many it has', async () => {
    const whole = JSON.parse((await call('getModel', [server.doc])).body).result as ViewModel;
    expect(whole.loading).toBeUndefined();
    const n = 5;
    expect(whole.requests.length).toBeGreaterThan(n);
    const head = JSON.parse((await call('getModelHead', [server.doc, n])).body).result as ViewModel;
    expect(head).toEqual({ ...whole, requests: whole.requests.slice(0, n), loading: { requests: whole.requests.length } });
    // Asked for as many rows as there are (or more): the whole model.
    expect(JSON.parse((await call('getModelHead', [server.doc, whole.requests.length])).body).result).toEqual(whole);
    expect((await call('getModelHead', [server.doc, -1])).status).toBe(400);
    expect((await call('getModelHead', [server.doc])).status).toBe(400);
  });

  it('serves the same API as the preload: model, request, connection, cURL, exports', async () => {
    const report = await CORE.analyzeFile(sample, {});
    const model = JSON.parse((await call('getModel', [server.doc])).body).result as ViewModel;
    expect(model.requests.length).toBe(report.requests.length);
    expect(model.connections.length).toBe(report.connections.length);
    const r0 = JSON.parse((await call('getRequest', [server.doc, 0])).body).result;
    expect(r0.requestHeaders).toEqual(report.requests[0]!.requestHeaders);
    const curl = JSON.parse((await call('curl', [server.doc, 0])).body).result as string;
    expect(curl.startsWith(`curl '${report.requests[0]!.url}'`)).toBe(true);
    const har = await raw(server.port, `/api/export?doc=${server.doc}&kind=har&token=${server.token}`);
    expect(har.status).toBe(200);
    expect(har.headers['content-disposition']).toBe('attachment; filename="browser-pageload.har"');
    expect(JSON.parse(har.body).log.entries.length).toBe(report.requests.length);
    const rep = await raw(server.port, `/api/export?doc=${server.doc}&kind=report&token=${server.token}`);
    expect(JSON.parse(rep.body).requests.length).toBe(report.requests.length);
  });

  it('streams document events to the page', async () => {
    const first = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: server.port, path: `/api/events?token=${server.token}`, headers: { Host: `127.0.0.1:${server.port}` } }, (res) => {
        expect(res.headers['content-type']).toBe('text/event-stream');
        res.setEncoding('utf8');
        res.once('data', (c: string) => {
          resolve(c);
          req.destroy();
        });
      });
      req.on('error', reject);
      req.end();
    });
    expect(JSON.parse(first.replace(/^data: /, ''))).toMatchObject({ type: 'docs', docs: [{ id: server.doc, state: 'ready' }] });
  });
});
