import { describe, expect, it } from 'vitest';
import { createIpcHandler, IpcRejection } from '../../app/main/ipc.js';
import { APP_URL } from '../../app/main/security.js';
import { DocStore } from '../../core/src/view/docs.js';
import { validateCall } from '../../core/src/view/api.js';
import { phases } from '../../core/src/model/phases.js';
import type { Report } from '../../core/src/model/types.js';

const emptyReport: Report = {
  wirefall: 'test',
  capture: { file: '/c/x.pcap', format: 'pcap', gzip: false, fileBytes: 24, packets: 0, startEpochMs: null, startTime: null, durationMs: 0, interfaces: [], counters: {} },
  connections: [],
  requests: [],
  findings: [],
};

function setup() {
  const store = new DocStore(async () => emptyReport, phases);
  const opened: string[][] = [];
  const handle = createIpcHandler(store, {
    host: { kind: 'electron', canOpenFiles: true, platform: 'linux' },
    openDialog: async () => [],
    openPaths: async (p) => {
      opened.push(p);
      return [];
    },
    exportDoc: async () => ({ saved: false }),
  });
  return { store, handle, opened };
}
const app = { url: APP_URL, isMainFrame: true };

describe('IPC handler', () => {
  it('rejects calls from other pages and from subframes', async () => {
    const { handle } = setup();
    await expect(handle({ url: 'https://evil.example/', isMainFrame: true }, 'listDocs', [])).rejects.toBeInstanceOf(IpcRejection);
    await expect(handle({ url: APP_URL, isMainFrame: false }, 'listDocs', [])).rejects.toBeInstanceOf(IpcRejection);
    await expect(handle({ url: undefined, isMainFrame: true }, 'listDocs', [])).rejects.toThrow(/untrusted/);
  });

  it('rejects unknown methods and malformed arguments', async () => {
    const { handle } = setup();
    await expect(handle(app, 'constructor', [])).rejects.toThrow(/unknown method/);
    await expect(handle(app, 'getRequest', ['d1'])).rejects.toThrow(/expected \(doc, id\)/);
    await expect(handle(app, 'getRequest', ['d1', -1])).rejects.toThrow(/invalid IPC/);
    await expect(handle(app, 'getRequest', ['../x', 1])).rejects.toThrow(/invalid IPC/);
    await expect(handle(app, 'exportDoc', ['d1', 'pdf'])).rejects.toThrow(/invalid IPC/);
    await expect(handle(app, 'openPaths', [['a\0b']])).rejects.toThrow(/invalid IPC/);
    await expect(handle(app, 'listDocs', 'nope')).rejects.toThrow(/array/);
  });

  it('dispatches valid calls to the document store and the desktop actions', async () => {
    const { store, handle, opened } = setup();
    const info = store.open('/c/x.pcap', 24);
    await store.settled(info.id);
    expect(await handle(app, 'host', [])).toMatchObject({ kind: 'electron', canOpenFiles: true });
    expect(await handle(app, 'listDocs', [])).toEqual([expect.objectContaining({ id: info.id, state: 'ready', title: 'x.pcap' })]);
    expect(await handle(app, 'getModel', [info.id])).toMatchObject({ doc: info.id, requests: [], connections: [] });
    await expect(handle(app, 'getRequest', [info.id, 0])).rejects.toThrow(/No request 0/);
    await handle(app, 'openPaths', [['/c/y.pcapng']]);
    expect(opened).toEqual([['/c/y.pcapng']]);
  });

  it('validates every method of the API table', () => {
    expect(validateCall('host', [])).toBeNull();
    expect(validateCall('curl', ['dabc', 3])).toBeNull();
    expect(validateCall('curl', ['dabc', 3.5])).not.toBeNull();
    expect(validateCall('cancel', ['x'.repeat(65)])).not.toBeNull();
    expect(validateCall('subscribe', [])).toBe('unknown method');
  });
});

describe('document store', () => {
  it('reports analysis progress, then the ready state', async () => {
    const events: string[] = [];
    const store = new DocStore(async (_p, onProgress) => {
      onProgress({ bytes: 12, totalBytes: 24, packets: 1, connections: 0 });
      return emptyReport;
    }, phases);
    store.subscribe((e) => events.push(e.type === 'state' ? `state:${e.doc.state}` : e.type));
    const d = store.open('/c/x.pcap', 24);
    expect((await store.settled(d.id)).state).toBe('ready');
    expect(events).toEqual(['docs', 'progress', 'state:ready', 'docs']);
  });

  it('cancels an analysis through its AbortSignal', async () => {
    const store = new DocStore(
      (_p, _on, signal) => new Promise((_ok, fail) => signal.addEventListener('abort', () => fail(new Error('aborted')))),
      phases,
    );
    const d = store.open('/c/slow.pcap');
    store.cancel(d.id);
    expect((await store.settled(d.id)).state).toBe('cancelled');
  });

  it('reports engine errors with their code', async () => {
    const store = new DocStore(async () => {
      throw Object.assign(new Error('bad magic'), { code: 'CAPTURE_FORMAT' });
    }, phases);
    const d = store.open('/c/bad.pcap');
    expect(await store.settled(d.id)).toMatchObject({ state: 'error', error: { code: 'CAPTURE_FORMAT', message: 'bad magic' } });
  });
});

describe('IPC: the diff and the header-table inspector reach the desktop app', () => {
  it('diff of two real captures equals diffReports through the store (one place for both hosts)', async () => {
    const { analyzeFile } = await import('../../core/src/engine.js');
    const { KeyLog } = await import('../../core/src/tls/keylog.js');
    const { diffReports } = await import('../../core/src/diff/diff.js');
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const dir = join(import.meta.dirname, '../../samples/whatif');
    const analyze = async (path: string) => {
      const k = new KeyLog();
      k.addText(readFileSync(path.replace(/\.pcap$/, '.keys'), 'utf8'));
      return analyzeFile(path, { keyLog: k });
    };
    const store = new DocStore((p) => analyze(p), phases);
    const handle = createIpcHandler(store, { host: { kind: 'electron', canOpenFiles: true, platform: 'linux' }, openDialog: async () => [], openPaths: async () => [], exportDoc: async () => ({ saved: false }) });
    const a = store.open(join(dir, 'requests-get-50.pcap'), 1);
    const b = store.open(join(dir, 'requests-session-50.pcap'), 1);
    await store.settled(a.id);
    await store.settled(b.id);
    const got = (await handle(app, 'diff', [a.id, b.id])) as { diff: ReturnType<typeof diffReports> };
    const want = diffReports(store.report(a.id), store.report(b.id), { before: 'requests-get-50.pcap', after: 'requests-session-50.pcap' });
    expect(got.diff.origins.map((o) => [o.before?.connections, o.after?.connections])).toEqual(want.origins.map((o) => [o.before?.connections, o.after?.connections]));
    expect(want.origins[0]!.before!.connections).toBe(50);
    await expect(handle(app, 'diff', [a.id])).rejects.toThrow(/invalid IPC/);
    await expect(handle(app, 'diff', [a.id, '../x'])).rejects.toThrow(/invalid IPC/);
    // The inspector: without a table decoder the store says so (the desktop main passes one).
    await expect(handle(app, 'headerTables', [a.id, 0])).rejects.toThrow(/not available/);
  });
});
