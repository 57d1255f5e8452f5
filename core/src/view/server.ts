/**
 * `wirefall view`: serves the built renderer (app/dist/renderer) and the WirefallApi over HTTP to a
 * browser, on 127.0.0.1 only.
 *
 * Security model (the UI shows packet contents, which may be sensitive):
 *  - binds 127.0.0.1 (never 0.0.0.0);
 *  - every /api request needs the unguessable token from the printed URL (32 random bytes), in the
 *    `X-Wirefall-Token` header (or `token` query parameter for EventSource and downloads);
 *  - every request's Host header must be exactly 127.0.0.1:PORT or localhost:PORT (DNS rebinding);
 *  - a cross-origin Origin header is refused; API calls must be POSTed as application/json;
 *  - responses carry a strict CSP, nosniff, no-referrer and frame-ancestors 'none'.
 *
 * Opening captures from the page: POST /api/upload?name= (application/octet-stream, the token
 * header, the same Host/Origin checks) streams the body to a file in a private temporary directory
 * (mkdtemp; removed on close), bounded only by the free space statfs reports; `openListed` opens a
 * capture of `wirefall view DIR` by a name from the directory's listing, never by a path.
 *
 * Memory: a capture is analysed in a worker thread streaming into a compact document
 * (view/stream-model.ts): the view model's bytes and a spill file of the records, removed when the
 * document closes or the server stops; getModel streams those bytes, details read the spill.
 *
 * API over HTTP: POST /api/call {method, args} → {result} | {error}; GET /api/events → Server-Sent
 * Events of ApiEvent; GET /api/export?doc=&kind=har|report → attachment; GET /api/diff?before=&after=
 * → {result: DiffViewModel} (view/diff-view.ts) of two ready documents.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { basename, extname, join, normalize, resolve, sep } from 'node:path';
import type { Report } from '../model/types.js';
import { MAX_KEYLOG_UPLOAD_CHARS, validateCall, type AnalysisProgress, type ApiEvent, type DocId, type HostInfo } from './api.js';
import { CONTENT_SECURITY_POLICY } from './csp.js';
import { CORE, type CoreLinks } from './core-link.js';
import { streamPieces } from './export-stream.js';
import { analyzeInWorker } from './worker-client.js';
import { makeSpillDir, removeSpillDir } from './stream-model.js';
import { callDocStore, DocStore, DocError, NOT_A_STORE_METHOD, type Analyze } from './docs.js';
import { headerTables } from './header-tables.js';

export interface ViewServerOptions {
  /** A capture to analyse (progress is streamed to the page) … */
  capturePath?: string;
  /** … or a Report already analysed. */
  report?: Report;
  /** 0 (default) picks a free port. */
  port?: number;
  /** The built renderer (index.html + assets), normally app/dist/renderer. */
  staticDir: string;
  /** Only loopback is allowed; the default and the only accepted value is 127.0.0.1. */
  host?: '127.0.0.1';
  /** For tests and embedding: provide the engine links (analysis then runs in-process). */
  core?: CoreLinks;
  /** TLS key log files (`wirefall view --keylog`), used for every capture this server analyses. */
  keylogFiles?: string[];
  /** `wirefall view DIR`: the page lists the captures in this directory (not recursive) to open. */
  directory?: string;
  /** A second capture to compare with the first (`wirefall view BEFORE --compare AFTER`): both are opened, the UI shows their diff. */
  compareWith?: string;
}

/** Where analysis runs: a worker thread (compiled build) or the server's own thread. */
export type AnalysisMode = 'worker' | 'in-process';

export interface ViewServer {
  /** Full URL to open, including the token: http://127.0.0.1:PORT/?token=… */
  url: string;
  port: number;
  token: string;
  docs: DocStore;
  /** The document id of the capture/report given in the options. */
  doc: DocId;
  /** With `compareWith`: the two documents the UI compares (`doc` is `before`). */
  compare?: { before: DocId; after: DocId };
  analysis: AnalysisMode;
  close(): Promise<void>;
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

/** Bytes of an /api/call request body; larger ones get 413 (a call is a method name and ids). */
export const MAX_BODY = 64 * 1024;
/** Event-stream subscribers at once (one per open page); more get 503. */
export const MAX_SSE_SUBSCRIBERS = 16;
/**
 * Bytes queued for one event-stream subscriber that does not read. Past this it is disconnected
 * (EventSource reconnects and gets a fresh `docs` event), so a stalled reader cannot grow the
 * server's memory with every progress event.
 */
export const MAX_SSE_BUFFERED_BYTES = 1024 * 1024;

class BodyTooLarge extends Error {}

function securityHeaders(res: ServerResponse): void {
  res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  res.setHeader('Cache-Control', 'no-store');
}

function send(res: ServerResponse, status: number, body: string | Buffer, type = 'text/plain; charset=utf-8'): void {
  res.statusCode = status;
  res.setHeader('Content-Type', type);
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, JSON.stringify(value), 'application/json; charset=utf-8');
}

function tokenOk(given: string | null | undefined, token: string): boolean {
  if (!given) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function readBody(req: IncomingMessage, limit = MAX_BODY): Promise<string> {
  return new Promise((resolveBody, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        // Keep nothing more: the rest is read and discarded while the 413 goes out, and the
        // connection is closed after it (Connection: close).
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLarge(`request body over ${limit} bytes`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolveBody(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * The command that builds the UI (with the CLI), named wherever the UI is missing: the root
 * `build` script builds core and app, and `npm ci` runs it (the root `prepare` script).
 */
export const BUILD_COMMAND = 'npm run build';

/** The hosts a request may name: exactly loopback with our port. */
export function allowedHosts(port: number): string[] {
  return [`127.0.0.1:${port}`, `localhost:${port}`];
}

export async function startViewServer(opts: ViewServerOptions): Promise<ViewServer> {
  if (opts.host !== undefined && opts.host !== '127.0.0.1') throw new Error('wirefall view only listens on 127.0.0.1');
  if (!opts.capturePath && !opts.report && !opts.directory) throw new Error('startViewServer needs capturePath, report or directory');
  const staticDir = resolve(opts.staticDir);
  try {
    await stat(join(staticDir, 'index.html'));
  } catch {
    throw new Error(`The UI is not built: ${join(staticDir, 'index.html')} is missing (run \`${BUILD_COMMAND}\` in the repository root)`);
  }
  const core = opts.core ?? CORE;
  const token = randomBytes(32).toString('base64url');
  // The engine runs in a worker thread when the compiled worker is next to this module (core/dist);
  // from sources (tests) or with injected links it runs in-process.
  const workerFile = fileURLToPath(new URL('./analysis-worker.js', import.meta.url));
  const analysis: AnalysisMode = !opts.core && existsSync(workerFile) ? 'worker' : 'in-process';
  // The engine's analysis is streamed into a compact document (view/stream-model.ts): the server
  // keeps the view model's bytes and an index into a spill file of the records, never the Report.
  // Injected links without `analyzeCompact`, or with an `analyzeFile` of their own (tests gating or
  // faking analysis), give a Report, held whole.
  const analyzeCompact = core.analyzeFile === CORE.analyzeFile ? core.analyzeCompact : undefined;
  const analyze: Analyze =
    analysis === 'worker'
      ? (path, onProgress, signal, texts) => analyzeInWorker(workerFile, path, { files: opts.keylogFiles ?? [], texts }, onProgress, signal, true)
      : analyzeCompact
        ? (path, onProgress, signal, texts) => {
            const dir = makeSpillDir();
            const p = analyzeCompact(path, dir, { signal, onProgress, keylog: { files: opts.keylogFiles ?? [], texts } });
            p.catch(() => removeSpillDir(dir));
            return p;
          }
        : (path, onProgress, signal, texts) => core.analyzeFile(path, { signal, onProgress, keylog: { files: opts.keylogFiles ?? [], texts } });
  const tables = core.headerTables ?? headerTables;
  const docs = new DocStore(analyze, core.phases, (path, connId, texts) => tables(path, connId, { files: opts.keylogFiles ?? [], ...(texts ? { texts } : {}) }));
  const hostInfo: HostInfo = { kind: 'browser', canOpenFiles: false, canUpload: true, platform: process.platform };
  const directory = opts.directory ? resolve(opts.directory) : null;
  if (directory) hostInfo.directory = { path: directory, captures: await listCaptures(directory) };
  /** Captures sent from the page (POST /api/upload), removed when their document closes or the server does. */
  let uploadDir: string | null = null;
  const uploads = new Map<DocId, string>();
  docs.subscribe((ev) => {
    if (ev.type !== 'docs') return;
    const open = new Set(ev.docs.map((d) => d.id));
    for (const [id, dir] of uploads)
      if (!open.has(id)) {
        uploads.delete(id);
        void rm(dir, { recursive: true, force: true });
      }
  });
  const sse = new Set<ServerResponse>();
  docs.subscribe((ev: ApiEvent) => {
    const line = `data: ${JSON.stringify(ev)}\n\n`;
    for (const res of sse) {
      if (res.writableLength > MAX_SSE_BUFFERED_BYTES) {
        sse.delete(res);
        res.destroy();
      } else res.write(line);
    }
  });

  let port = 0;

  async function call(method: string, args: unknown[]): Promise<unknown> {
    const served = callDocStore(docs, method, args);
    if (served !== NOT_A_STORE_METHOD) return served;
    switch (method) {
      case 'host':
        return hostInfo;
      case 'exportDoc':
        // In a browser the client downloads GET /api/export; nothing to do server-side.
        return { saved: false };
      case 'openListed': {
        // Only a name the directory listing has now: no path from the page is ever opened.
        if (!directory) throw new Error('No directory is being served (`wirefall view DIR`)');
        const captures = await listCaptures(directory);
        hostInfo.directory = { path: directory, captures };
        const hit = captures.find((c) => c.name === args[0]);
        if (!hit) throw new Error(`${String(args[0])} is not a capture in ${directory}`);
        return docs.open(join(directory, hit.name), hit.bytes);
      }
      case 'openDialog':
      case 'openPaths':
        throw new Error('Opening files is not available in browser mode; run `wirefall view <capture>`');
      default:
        throw new Error('unknown method');
    }
  }

  async function serveStatic(res: ServerResponse, urlPath: string): Promise<void> {
    let rel: string;
    try {
      rel = decodeURIComponent(urlPath);
    } catch {
      return send(res, 400, 'malformed URL');
    }
    if (rel === '/' || rel === '') rel = '/index.html';
    const file = normalize(join(staticDir, rel));
    if (file !== staticDir && !file.startsWith(staticDir + sep)) return send(res, 403, 'forbidden');
    try {
      const body = await readFile(file);
      send(res, 200, body, MIME[extname(file)] ?? 'application/octet-stream');
    } catch {
      send(res, 404, 'not found');
    }
  }

  const server = createServer((req, res) => {
    void (async () => {
      securityHeaders(res);
      const host = req.headers.host ?? '';
      if (!allowedHosts(port).includes(host)) return send(res, 421, 'misdirected request: bad Host header');
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== `http://${host}`) return send(res, 403, 'cross-origin request refused');
      const url = new URL(req.url ?? '/', `http://${host}`);
      if (!url.pathname.startsWith('/api/')) {
        if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed');
        return serveStatic(res, url.pathname);
      }
      const given = (req.headers['x-wirefall-token'] as string | undefined) ?? url.searchParams.get('token');
      if (!tokenOk(given, token)) return send(res, 401, 'missing or wrong token');

      if (url.pathname === '/api/call') {
        if (req.method !== 'POST') return send(res, 405, 'method not allowed');
        if (!(req.headers['content-type'] ?? '').startsWith('application/json')) return send(res, 415, 'expected application/json');
        const tooLarge = () => {
          res.setHeader('Connection', 'close');
          return sendJson(res, 413, { error: { code: 'too-large', message: `request body over ${MAX_BODY} bytes` } });
        };
        // A declared length over the limit is refused before reading; a body that grows past it, while read.
        if (Number(req.headers['content-length'] ?? 0) > MAX_BODY) return tooLarge();
        let parsed: { method?: unknown; args?: unknown };
        try {
          parsed = JSON.parse(await readBody(req)) as { method?: unknown; args?: unknown };
          if (typeof parsed !== 'object' || parsed === null) throw new Error('expected a JSON object');
        } catch (e) {
          if (e instanceof BodyTooLarge) return tooLarge();
          return sendJson(res, 400, { error: { code: 'bad-request', message: (e as Error).message } });
        }
        const invalid = validateCall(parsed.method, parsed.args);
        if (invalid) return sendJson(res, 400, { error: { code: 'bad-request', message: invalid } });
        try {
          if (parsed.method === 'getModel' || parsed.method === 'getModelHead') {
            // The model's JSON in pieces (a compact doc's stored bytes), with back-pressure: no
            // object or single string of a 300k-request model is made on this thread.
            const a = parsed.args as unknown[];
            const pieces = docs.modelPieces(a[0] as DocId, parsed.method === 'getModelHead' ? (a[1] as number) : Infinity);
            res.statusCode = 200;
            res.setHeader('Content-Type', 'application/json; charset=utf-8');
            await streamPieces(res, concatPieces(['{"result":', pieces, '}']));
            return;
          }
          const result = await call(parsed.method as string, parsed.args as unknown[]);
          return sendJson(res, 200, { result });
        } catch (e) {
          const code = e instanceof DocError ? e.code : 'error';
          return sendJson(res, e instanceof DocError && e.code === 'not-ready' ? 409 : 400, { error: { code, message: (e as Error).message } });
        }
      }
      if (url.pathname === '/api/keylog') {
        // A key log opened in the page: text/plain, larger than an API call may be.
        if (req.method !== 'POST') return send(res, 405, 'method not allowed');
        const doc = url.searchParams.get('doc') ?? '';
        if (Number(req.headers['content-length'] ?? 0) > MAX_KEYLOG_UPLOAD_CHARS) return sendJson(res, 413, { error: { code: 'too-large', message: `key log over ${MAX_KEYLOG_UPLOAD_CHARS} bytes` } });
        let text: string;
        try {
          text = await readBody(req, MAX_KEYLOG_UPLOAD_CHARS);
        } catch (e) {
          res.setHeader('Connection', 'close');
          return sendJson(res, 413, { error: { code: 'too-large', message: (e as Error).message } });
        }
        const invalid = validateCall('addKeyLog', [doc, text]);
        if (invalid) return sendJson(res, 400, { error: { code: 'bad-request', message: invalid } });
        try {
          return sendJson(res, 200, { result: docs.addKeyLog(doc, text) });
        } catch (e) {
          return sendJson(res, e instanceof DocError && e.code === 'unknown-doc' ? 404 : 409, { error: { code: e instanceof DocError ? e.code : 'error', message: (e as Error).message } });
        }
      }
      if (url.pathname === '/api/upload') {
        // A capture opened in the page (Open… or dropped): streamed to a temporary file, bounded
        // only by the disk (statfs), then analysed like `wirefall view FILE`.
        if (req.method !== 'POST') return send(res, 405, 'method not allowed');
        if (!(req.headers['content-type'] ?? '').startsWith('application/octet-stream')) return send(res, 415, 'expected application/octet-stream');
        const name = uploadName(url.searchParams.get('name'));
        const declared = Number(req.headers['content-length'] ?? NaN);
        uploadDir ??= await mkdtemp(join(tmpdir(), 'wirefall-view-'));
        const fs = await statfs(uploadDir).catch(() => null);
        if (fs && Number.isFinite(declared) && declared > fs.bavail * fs.bsize) {
          res.setHeader('Connection', 'close');
          return sendJson(res, 507, { error: { code: 'no-space', message: `${declared} bytes do not fit in ${uploadDir} (${fs.bavail * fs.bsize} bytes free)` } });
        }
        const destDir = await mkdtemp(join(uploadDir, 'u'));
        const dest = join(destDir, name);
        try {
          await pipeline(req, createWriteStream(dest, { flags: 'wx' }));
        } catch (e) {
          await rm(dest, { force: true });
          res.setHeader('Connection', 'close');
          return sendJson(res, 400, { error: { code: 'upload-failed', message: `upload of ${name} failed: ${(e as Error).message}` } });
        }
        const st = await stat(dest);
        try {
          const info = docs.open(dest, st.size);
          // Not kept (too many open): its file goes at once; else when its tab is closed.
          if (info.state === 'error') await rm(destDir, { recursive: true, force: true });
          else uploads.set(info.id, destDir);
          return sendJson(res, 200, { result: info });
        } catch (e) {
          await rm(destDir, { recursive: true, force: true });
          return sendJson(res, 409, { error: { code: e instanceof DocError ? e.code : 'error', message: (e as Error).message } });
        }
      }
      if (url.pathname === '/api/events') {
        if (sse.size >= MAX_SSE_SUBSCRIBERS) return send(res, 503, `more than ${MAX_SSE_SUBSCRIBERS} event streams open`);
        res.statusCode = 200;
        res.setHeader('Content-Type', 'text/event-stream');
        res.setHeader('Connection', 'keep-alive');
        res.write(`data: ${JSON.stringify({ type: 'docs', docs: docs.list() } satisfies ApiEvent)}\n\n`);
        sse.add(res);
        req.on('close', () => sse.delete(res));
        return;
      }
      if (url.pathname === '/api/export') {
        const doc = url.searchParams.get('doc') ?? '';
        const kind = url.searchParams.get('kind');
        const invalid = validateCall('exportDoc', [doc, kind]);
        if (invalid) return send(res, 400, invalid);
        let pieces: Iterable<string>;
        let name: string;
        try {
          ({ name, pieces } = docs.exportPieces(doc, kind as 'har' | 'report', (r) => core.toHar(r)));
        } catch (e) {
          return send(res, 409, (e as Error).message);
        }
        // Streamed in pieces with back-pressure (view/export-stream.ts): any size, bounded memory.
        res.statusCode = 200;
        res.setHeader('Content-Type', 'application/json; charset=utf-8');
        res.setHeader('Content-Disposition', `attachment; filename="${name.replace(/[^\w.-]/g, '_')}"`);
        await streamPieces(res, pieces);
        return;
      }
      if (url.pathname === '/api/diff') {
        if (req.method !== 'GET') return send(res, 405, 'method not allowed');
        const before = url.searchParams.get('before') ?? '';
        const after = url.searchParams.get('after') ?? '';
        if (validateCall('getModel', [before]) || validateCall('getModel', [after])) return sendJson(res, 400, { error: { code: 'bad-request', message: 'expected before=DOC&after=DOC' } });
        try {
          const result = docs.diff(before, after);
          return sendJson(res, 200, { result });
        } catch (e) {
          const code = e instanceof DocError ? e.code : 'error';
          return sendJson(res, code === 'unknown-doc' ? 404 : code === 'not-ready' ? 409 : 500, { error: { code, message: (e as Error).message } });
        }
      }
      return send(res, 404, 'not found');
    })().catch((e: unknown) => {
      if (!res.headersSent) send(res, 500, String((e as Error)?.message ?? e));
      else res.end();
    });
  });

  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, '127.0.0.1', () => ok());
  });
  const addr = server.address();
  port = typeof addr === 'object' && addr ? addr.port : 0;

  let doc: DocId = '';
  if (opts.report) doc = docs.add(opts.report).id;
  else if (opts.capturePath) {
    const path = resolve(opts.capturePath!);
    const st = await stat(path);
    doc = docs.open(path, st.size).id;
  }
  let compare: ViewServer['compare'];
  if (opts.compareWith) {
    if (!doc) throw new Error('startViewServer: compareWith needs a capture (or report) to compare with');
    const path = resolve(opts.compareWith);
    const st = await stat(path);
    compare = { before: doc, after: docs.open(path, st.size).id };
    hostInfo.compare = compare;
  }

  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    docs,
    doc,
    ...(compare ? { compare } : {}),
    analysis,
    close: () =>
      new Promise<void>((ok) => {
        for (const r of sse) r.end();
        sse.clear();
        // Analyses cancelled, spill files removed.
        docs.closeAll();
        server.close(() => {
          if (uploadDir) void rm(uploadDir, { recursive: true, force: true }).finally(ok);
          else ok();
        });
        server.closeAllConnections();
      }),
  };
}

/** Strings, byte pieces and iterables of them, flattened in order. */
function* concatPieces(parts: (string | Iterable<Buffer | string>)[]): Generator<Buffer | string, void, undefined> {
  for (const p of parts) {
    if (typeof p === 'string') yield p;
    else yield* p;
  }
}

/** File names `wirefall view DIR` lists (classic pcap, pcapng, gzip-compressed). */
const CAPTURE_NAME = /\.(pcap|pcapng|cap)(\.gz)?$/i;
/** Captures listed from a directory, at most. */
export const MAX_LISTED_CAPTURES = 1000;

/** The captures directly in `dir` (files only, by name), with their sizes. */
export async function listCaptures(dir: string): Promise<{ name: string; bytes: number }[]> {
  const out: { name: string; bytes: number }[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    if (!e.isFile() || !CAPTURE_NAME.test(e.name)) continue;
    const st = await stat(join(dir, e.name)).catch(() => null);
    if (st) out.push({ name: e.name, bytes: st.size });
    if (out.length >= MAX_LISTED_CAPTURES) break;
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** A safe file name for an uploaded capture: the page's name without any path, else 'capture.pcap'. */
export function uploadName(given: string | null): string {
  const base = (given ?? '').split(/[\\/]/).pop()!.replace(/[^\w.+-]/g, '_').replace(/^\.+/, '').slice(0, 120);
  return base.length > 0 ? base : 'capture.pcap';
}
