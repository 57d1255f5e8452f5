/**
 * The view server's diff (`wirefall view BEFORE --compare AFTER`, GET /api/diff): both captures
 * opened with the same key logs, the pair named in `host()`, the endpoint behind the same token,
 * Host and Origin checks as every /api request, and its answer exactly core's diff of the two
 * reports (core/src/view/diff-view.ts over diffReports). The model carries report.whatIf.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { startViewServer, type ViewServer } from '../../core/src/view/server.js';
import { CORE, type CoreLinks } from '../../core/src/view/core-link.js';
import { toDiffView, connectionsByOrigin, MAX_DIFF_LANES } from '../../core/src/view/diff-view.js';
import { diffReports } from '../../core/src/diff/diff.js';
import type { HostInfo, ViewModel } from '../../core/src/view/api.js';
import type { Report } from '../../core/src/model/types.js';
import { raw } from './http-raw.js';

const S = new URL('../../samples/whatif/', import.meta.url).pathname;
const BEFORE = `${S}requests-get-50.pcap`;
const AFTER = `${S}requests-session-50.pcap`;
const KEYS = [`${S}requests-get-50.keys`, `${S}requests-session-50.keys`];

function staticDir(): string {
  const d = mkdtempSync(`${tmpdir()}/wirefall-static-`);
  writeFileSync(`${d}/index.html`, '<!doctype html><title>wirefall</title>');
  return d;
}

describe('wirefall view --compare: the diff endpoint', () => {
  let server: ViewServer;
  let before: Report;
  let after: Report;
  const diffPath = () => `/api/diff?before=${server.compare!.before}&after=${server.compare!.after}`;
  const call = (method: string, args: unknown[]) =>
    raw(server.port, '/api/call', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Wirefall-Token': server.token }, body: JSON.stringify({ method, args }) });

  beforeAll(async () => {
    server = await startViewServer({ capturePath: BEFORE, compareWith: AFTER, keylogFiles: KEYS, staticDir: staticDir(), port: 0 });
    await server.docs.settled(server.compare!.before);
    await server.docs.settled(server.compare!.after);
    before = await CORE.analyzeFile(BEFORE, { keylog: { files: KEYS } });
    after = await CORE.analyzeFile(AFTER, { keylog: { files: KEYS } });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('opens both captures and names the pair in host()', async () => {
    expect(server.compare).toEqual({ before: server.doc, after: expect.stringMatching(/^d[0-9a-f]+$/) });
    const host = JSON.parse((await call('host', [])).body).result as HostInfo;
    expect(host.compare).toEqual(server.compare);
    expect(server.docs.list().map((d) => [d.title, d.state])).toEqual([
      ['requests-get-50.pcap', 'ready'],
      ['requests-session-50.pcap', 'ready'],
    ]);
  });

  it('refuses a request without the token, with a wrong one, a foreign Host or a cross origin', async () => {
    expect((await raw(server.port, diffPath())).status).toBe(401);
    expect((await raw(server.port, `${diffPath()}&token=${'x'.repeat(43)}`)).status).toBe(401);
    expect((await raw(server.port, diffPath(), { headers: { 'X-Wirefall-Token': 'nope' } })).status).toBe(401);
    expect((await raw(server.port, diffPath(), { headers: { 'X-Wirefall-Token': server.token, Host: `evil.example:${server.port}` } })).status).toBe(421);
    expect((await raw(server.port, diffPath(), { headers: { 'X-Wirefall-Token': server.token, Origin: 'http://evil.example' } })).status).toBe(403);
  });

  it('accepts only GET with two well-formed open documents', async () => {
    const h = { 'X-Wirefall-Token': server.token };
    expect((await raw(server.port, diffPath(), { method: 'POST', headers: h })).status).toBe(405);
    expect((await raw(server.port, `/api/diff?before=${server.doc}`, { headers: h })).status).toBe(400);
    expect((await raw(server.port, `/api/diff?before=${server.doc}&after=../x`, { headers: h })).status).toBe(400);
    expect((await raw(server.port, `/api/diff?before=${server.doc}&after=dzzzz`, { headers: h })).status).toBe(404);
  });

  it('answers core’s diff of the two reports, with each origin’s connections', async () => {
    const r = await raw(server.port, diffPath(), { headers: { 'X-Wirefall-Token': server.token } });
    expect(r.status).toBe(200);
    const got = JSON.parse(r.body).result;
    const want = toDiffView(before, after, { doc: server.compare!.before, title: 'requests-get-50.pcap' }, { doc: server.compare!.after, title: 'requests-session-50.pcap' });
    expect(got).toEqual(JSON.parse(JSON.stringify(want)));
    expect(got.diff).toEqual(JSON.parse(JSON.stringify(diffReports(before, after, { before: 'requests-get-50.pcap', after: 'requests-session-50.pcap' }))));
    // The seed story: one origin, 50 connections → 1, each drawn as a lane.
    expect(got.lanes).toHaveLength(got.diff.origins.length);
    for (const [i, o] of got.diff.origins.entries()) {
      expect(got.lanes[i].origin).toBe(o.origin);
      expect(got.lanes[i].before).toHaveLength(o.before?.connections ?? 0);
      expect(got.lanes[i].after).toHaveLength(o.after?.connections ?? 0);
    }
  });

  it('puts every connection in exactly one origin, as diffReports counts them', () => {
    const by = connectionsByOrigin(before);
    const d = diffReports(before, after);
    expect([...by.values()].flat().sort((a, b) => a - b)).toEqual(before.connections.map((c) => c.id).sort((a, b) => a - b));
    for (const o of d.origins) expect(by.get(o.origin)?.length ?? 0).toBe(o.before?.connections ?? 0);
    expect(MAX_DIFF_LANES).toBeGreaterThanOrEqual(50);
  });

  it('gives the UI the report’s what-if estimates in the model', async () => {
    const m = JSON.parse((await call('getModel', [server.doc])).body).result as ViewModel;
    expect(before.whatIf).toBeDefined();
    expect(m.whatIf).toEqual(JSON.parse(JSON.stringify(before.whatIf)));
  });
});

describe('the diff endpoint before the analyses are done', () => {
  it('answers 409 while a capture is still being analysed', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const core: CoreLinks = { ...CORE, analyzeFile: async (path, opts) => (path.endsWith('session-50.pcap') ? (await gate, CORE.analyzeFile(path, opts)) : CORE.analyzeFile(path, opts)) };
    const server = await startViewServer({ capturePath: BEFORE, compareWith: AFTER, keylogFiles: KEYS, staticDir: staticDir(), core });
    try {
      await server.docs.settled(server.compare!.before);
      const path = `/api/diff?before=${server.compare!.before}&after=${server.compare!.after}`;
      const r = await raw(server.port, path, { headers: { 'X-Wirefall-Token': server.token } });
      expect(r.status).toBe(409);
      expect(JSON.parse(r.body).error.code).toBe('not-ready');
      release();
      await server.docs.settled(server.compare!.after);
      expect((await raw(server.port, path, { headers: { 'X-Wirefall-Token': server.token } })).status).toBe(200);
    } finally {
      release();
      await server.close();
    }
  });
});
