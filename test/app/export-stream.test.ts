/**
 * Exports of any size from `wirefall view` (issue 15 item 7; core/src/view/export-stream.ts): the
 * same bytes as the CLI's pretty JSON writer, pulled piece by piece as the socket drains, a broken
 * transfer (never a truncated file that looks whole) when serialising fails, and a ≥ 100k-request
 * capture exported as report and HAR that parse.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, request, type Server } from 'node:http';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { prettyJsonPieces, streamPieces } from '../../core/src/view/export-stream.js';
import { writePrettyJson } from '../../core/src/cli/json-out.js';
import { CORE } from '../../core/src/view/core-link.js';
import { startViewServer } from '../../core/src/view/server.js';
import { loopsFor, stretch } from '../bench/synth.mjs';
import { sample, ROOT } from '../helpers/env.js';

/** GET → status and body bytes; `pauseMs` holds reading back that long after the headers. */
function get(port: number, path: string, pauseMs = 0): Promise<{ status: number; body: Buffer; error?: Error }> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, agent: false, headers: { Host: `127.0.0.1:${port}` } }, (res) => {
      const chunks: Buffer[] = [];
      if (pauseMs) {
        res.pause();
        setTimeout(() => res.resume(), pauseMs);
      }
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks) }));
      res.on('error', (error) => resolve({ status: res.statusCode!, body: Buffer.concat(chunks), error }));
      res.on('aborted', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks), error: new Error('aborted') }));
    });
    req.on('error', (error) => resolve({ status: 0, body: Buffer.alloc(0), error }));
    req.end();
  });
}

async function serve(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; port: number }> {
  const server = createServer(handler);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return { server, port: (server.address() as AddressInfo).port };
}

describe('export streaming', () => {
  it('writes exactly what the CLI writes (writePrettyJson), report and HAR, at any piece size', async () => {
    const report = await CORE.analyzeFile(sample('browser-pageload.pcap.gz'), {});
    for (const value of [report, CORE.toHar(report)]) {
      let cli = '';
      writePrettyJson(value, (s) => (cli += s));
      for (const size of [1, 700, 64 * 1024]) expect([...prettyJsonPieces(value, size)].join('')).toBe(cli);
    }
    expect([...prettyJsonPieces({ a: [], b: {}, c: [1, { d: 1.23456 }], e: undefined })].join('')).toBe(JSON.stringify({ a: [], b: {}, c: [1, { d: 1.235 }] }, null, 2) + '\n');
  });

  it('pulls pieces only as fast as the client reads (back-pressure)', async () => {
    let pulled = 0;
    const total = 4000;
    const piece = 'x'.repeat(16 * 1024);
    function* pieces() {
      for (let i = 0; i < total; i++) {
        pulled++;
        yield piece;
      }
    }
    let done: Promise<boolean> = Promise.resolve(false);
    const { server, port } = await serve((_req, res) => {
      done = streamPieces(res, pieces());
    });
    try {
      const got = get(port, '/', 400);
      await new Promise((r) => setTimeout(r, 250));
      // 64 MB offered; while the client does not read, only what fills the socket buffers was pulled.
      expect(pulled).toBeLessThan(total / 4);
      const r = await got;
      expect(r.body.length).toBe(total * piece.length);
      expect(await done).toBe(true);
      expect(pulled).toBe(total);
    } finally {
      server.close();
    }
  });

  it('a client that goes away stops the serialisation', async () => {
    let pulled = 0;
    function* pieces() {
      for (let i = 0; i < 1e6; i++) {
        pulled++;
        yield 'y'.repeat(16 * 1024);
      }
    }
    let done: Promise<boolean> = Promise.resolve(true);
    const { server, port } = await serve((_req, res) => {
      done = streamPieces(res, pieces());
    });
    try {
      await new Promise<void>((resolve) => {
        const req = request({ host: '127.0.0.1', port, path: '/' }, (res) => {
          res.once('data', () => {
            req.destroy();
            resolve();
          });
        });
        req.end();
      });
      expect(await done).toBe(false);
      expect(pulled).toBeLessThan(1e5);
    } finally {
      server.close();
    }
  });

  it('a failure part-way breaks the transfer instead of ending a truncated file', async () => {
    const { server, port } = await serve((_req, res) => {
      res.setHeader('Content-Type', 'application/json');
      void streamPieces(res, prettyJsonPieces({ ok: 'x'.repeat(200_000), bad: [1, 2, 3, { n: 1n }] }, 1024));
    });
    try {
      const r = await get(port, '/');
      expect(r.error).toBeDefined();
      expect(() => JSON.parse(r.body.toString('utf8'))).toThrow();
    } finally {
      server.close();
    }
  });
});

describe('export of a ≥ 100k-request capture from wirefall view', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wirefall-export-'));
  const capture = join(dir, 'requests-100k.pcap');
  let requests = 0;
  let view: Awaited<ReturnType<typeof startViewServer>>;

  beforeAll(async () => {
    // samples/bench-seed-h1-requests.pcap stretched on its 16 connections (test/bench/synth.mjs).
    const seed = join(ROOT, 'samples', 'bench-seed-h1-requests.pcap');
    requests = (await stretch(seed, capture, { loops: loopsFor(seed, 100_000) })).requests;
    const staticDir = join(dir, 'static');
    mkdirSync(staticDir);
    writeFileSync(join(staticDir, 'index.html'), '<!doctype html><title>wirefall</title>');
    view = await startViewServer({ capturePath: capture, staticDir });
    expect((await view.docs.settled(view.doc)).state).toBe('ready');
  }, 300_000);
  afterAll(async () => {
    await view?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('report and HAR both download whole and parse', { timeout: 300_000 }, async () => {
    expect(requests).toBeGreaterThanOrEqual(100_000);
    const rep = await get(view.port, `/api/export?doc=${view.doc}&kind=report&token=${view.token}`);
    expect(rep.error).toBeUndefined();
    expect(rep.status).toBe(200);
    const report = JSON.parse(rep.body.toString('utf8')) as { requests: unknown[]; connections: unknown[] };
    rep.body = Buffer.alloc(0);
    expect(report.requests.length).toBe(requests);
    expect(report.connections.length).toBe(16);
    const har = await get(view.port, `/api/export?doc=${view.doc}&kind=har&token=${view.token}`);
    expect(har.status).toBe(200);
    expect(har.error).toBeUndefined();
    expect((JSON.parse(har.body.toString('utf8')) as { log: { entries: unknown[] } }).log.entries.length).toBe(requests);
  });
});

describe('desktop exports: writePiecesToFile (app/main/main.ts)', () => {
  it('writes the CLI\'s bytes through a temporary file, and a failure part-way keeps the old file and leaves nothing behind', async () => {
    const { readFileSync, readdirSync } = await import('node:fs');
    const { writePiecesToFile } = await import('../../core/src/view/export-stream.js');
    const dir = mkdtempSync(join(tmpdir(), 'wf-desktop-export-'));
    try {
      const report = await CORE.analyzeFile(sample('h2-push.pcap'), {});
      const target = join(dir, 'h2-push.wirefall.json');
      await writePiecesToFile(target, prettyJsonPieces(report, 700));
      const cli: string[] = [];
      writePrettyJson(report, (s) => cli.push(s));
      expect(readFileSync(target, 'utf8')).toBe(cli.join(''));
      // A serialisation error after some pieces: the file written before stays whole.
      function* failing(): Generator<string> {
        yield '{"partial": ';
        throw new Error('boom');
      }
      await expect(writePiecesToFile(target, failing())).rejects.toThrow('boom');
      expect(readFileSync(target, 'utf8')).toBe(cli.join(''));
      expect(readdirSync(dir)).toEqual(['h2-push.wirefall.json']);
      // An unwritable place: rejected, nothing created.
      await expect(writePiecesToFile(join(dir, 'missing-dir', 'x.json'), prettyJsonPieces(report))).rejects.toThrow(/ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
