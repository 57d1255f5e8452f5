/**
 * `wirefall view` server and DocStore under hostile or broken clients: oversized and malformed
 * bodies, malformed URLs, too many event streams, too many open captures. Each case asserts a
 * specific status or a bound, never a reset connection or a 500.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { startViewServer, MAX_BODY, MAX_SSE_SUBSCRIBERS, type ViewServer } from '../../core/src/view/server.js';
import { DocStore, MAX_OPEN_DOCS } from '../../core/src/view/docs.js';
import { phases } from '../../core/src/model/phases.js';
import type { Report } from '../../core/src/model/types.js';
import { raw } from './http-raw.js';

const sample = new URL('../../samples/browser-pageload.pcap.gz', import.meta.url).pathname;


/** Opens an event stream; resolves with the response (kept open) and the request to abort it. */
function events(port: number, token: string): Promise<{ res: IncomingMessage; req: ClientRequest }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: `/api/events?token=${token}`, headers: { Host: `127.0.0.1:${port}` } }, (res) => resolve({ res, req }));
    req.on('error', reject);
    req.end();
  });
}

describe('wirefall view server against hostile clients', () => {
  let server: ViewServer;
  const post = (body: string | Buffer, headers: Record<string, string> = {}) =>
    raw(server.port, '/api/call', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Wirefall-Token': server.token, ...headers }, body });

  beforeAll(async () => {
    const staticDir = mkdtempSync(`${tmpdir()}/wirefall-static-`);
    writeFileSync(`${staticDir}/index.html`, '<!doctype html><title>wirefall</title>');
    server = await startViewServer({ capturePath: sample, staticDir, port: 0 });
    await server.docs.settled(server.doc);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('answers 413 to a body declared larger than MAX_BODY, without reading it', async () => {
    const r = await post(Buffer.alloc(MAX_BODY + 1, 0x20));
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body).error.code).toBe('too-large');
  });

  it('answers 413 to a chunked body that grows past MAX_BODY', async () => {
    const chunks = Array.from({ length: 64 }, () => Buffer.alloc(16 * 1024, 0x20)); // 1 MiB, no Content-Length
    const r = await raw(server.port, '/api/call', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Wirefall-Token': server.token, 'Transfer-Encoding': 'chunked' },
      chunks,
    });
    expect(r.status).toBe(413);
  });

  it('answers 400 (not 500) to JSON that is not an object', async () => {
    for (const body of ['null', '42', '"x"']) {
      const r = await post(body);
      expect(r.status, body).toBe(400);
      expect(JSON.parse(r.body).error.code).toBe('bad-request');
    }
  });

  it('answers 400 (not 500) to a malformed percent-encoded path', async () => {
    expect((await raw(server.port, '/%E0%A4%A')).status).toBe(400);
  });

  it(`serves at most MAX_SSE_SUBSCRIBERS event streams at once`, async () => {
    const open: { res: IncomingMessage; req: ClientRequest }[] = [];
    for (let i = 0; i < MAX_SSE_SUBSCRIBERS; i++) open.push(await events(server.port, server.token));
    expect(open.every((o) => o.res.statusCode === 200)).toBe(true);
    const extra = await events(server.port, server.token);
    expect(extra.res.statusCode).toBe(503);
    extra.req.destroy();
    // Closing one frees a place.
    const closed = new Promise((ok) => open[0].res.once('close', ok));
    open[0].req.destroy();
    await closed;
    await new Promise((ok) => setTimeout(ok, 50));
    const again = await events(server.port, server.token);
    expect(again.res.statusCode).toBe(200);
    for (const o of [...open.slice(1), again]) o.req.destroy();
  });
});

describe('DocStore', () => {
  it(`keeps at most MAX_OPEN_DOCS captures; further opens answer 'too-many-docs' and are not kept`, () => {
    const store = new DocStore(() => new Promise<Report>(() => {}), phases);
    const states = new Set<string>();
    store.subscribe((ev) => ev.type === 'state' && states.add(ev.doc.error?.code ?? ev.doc.state));
    const opened = Array.from({ length: MAX_OPEN_DOCS + 100 }, (_, i) => store.open(`/tmp/c${i}.pcap`, 100));
    expect(store.list()).toHaveLength(MAX_OPEN_DOCS);
    expect(opened.slice(0, MAX_OPEN_DOCS).every((d) => d.state === 'analyzing')).toBe(true);
    const refused = opened[MAX_OPEN_DOCS];
    expect(refused.state).toBe('error');
    expect(refused.error?.code).toBe('too-many-docs');
    expect(states).toEqual(new Set(['too-many-docs']));
    // Closing one makes room again.
    store.close(opened[0].id);
    expect(store.open('/tmp/again.pcap').state).toBe('analyzing');
  });
});
