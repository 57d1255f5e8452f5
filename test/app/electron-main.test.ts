/**
 * The Electron main process wired against a stand-in `electron` module (no binary needed):
 * privileged app scheme, security handlers on every web contents, one validated IPC channel,
 * menus, and captures opened from the command line.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';

type Handler = (...args: any[]) => any;
const h = vi.hoisted(() => {
  const appHandlers = new Map<string, (...a: any[]) => any>();
  const state = {
    appHandlers,
    schemes: [] as unknown[],
    protocolHandlers: new Map<string, (...a: any[]) => any>(),
    ipc: new Map<string, (...a: any[]) => any>(),
    windows: [] as any[],
    menu: null as any,
    permissionRequest: null as null | ((...a: any[]) => any),
    beforeRequest: null as null | { filter: unknown; fn: (...a: any[]) => any },
    sent: [] as unknown[],
  };
  return state;
});

vi.mock('electron', () => {
  class BrowserWindow {
    static getAllWindows = () => h.windows;
    webContents: any;
    opts: any;
    url = '';
    constructor(opts: any) {
      this.opts = opts;
      const wc = {
        send: (_c: string, ev: unknown) => h.sent.push(ev),
        once: (_e: string, fn: Handler) => fn(),
        mainFrame: {},
      };
      this.webContents = wc;
      h.windows.push(this);
    }
    once() {}
    on() {}
    show() {}
    isDestroyed() {
      return false;
    }
    loadURL(u: string) {
      this.url = u;
      return Promise.resolve();
    }
  }
  const app = {
    on: (e: string, fn: Handler) => h.appHandlers.set(e, fn),
    whenReady: () => Promise.resolve(),
    isReady: () => true,
    requestSingleInstanceLock: () => true,
    quit: vi.fn(),
    getPath: () => '/nonexistent/wirefall-test-userdata',
    addRecentDocument: vi.fn(),
    clearRecentDocuments: vi.fn(),
    isPackaged: false,
  };
  return {
    app,
    BrowserWindow,
    dialog: { showOpenDialog: vi.fn(), showSaveDialog: vi.fn(), showErrorBox: vi.fn() },
    ipcMain: { handle: (c: string, fn: Handler) => h.ipc.set(c, fn) },
    Menu: { buildFromTemplate: (t: unknown) => t, setApplicationMenu: (m: unknown) => (h.menu = m) },
    nativeTheme: { themeSource: 'light' },
    protocol: {
      registerSchemesAsPrivileged: (s: unknown[]) => h.schemes.push(...s),
      handle: (scheme: string, fn: Handler) => h.protocolHandlers.set(scheme, fn),
    },
    session: {
      defaultSession: {
        setPermissionRequestHandler: (fn: Handler) => (h.permissionRequest = fn),
        setPermissionCheckHandler: () => {},
        webRequest: { onBeforeRequest: (filter: unknown, fn: Handler) => (h.beforeRequest = { filter, fn }) },
      },
    },
  };
});

const sample = new URL('../../samples/keepalive-pool.pcap', import.meta.url).pathname;

describe('Electron main process', () => {
  beforeAll(async () => {
    process.argv = [process.argv[0]!, 'dist/main/main.js', sample];
    await import('../../app/main/main.js');
    await new Promise((r) => setTimeout(r, 50));
  });

  it('serves the renderer from a secure, standard custom scheme, not file://', async () => {
    expect(h.schemes).toEqual([{ scheme: 'wirefall', privileges: expect.objectContaining({ standard: true, secure: true }) }]);
    expect(h.windows[0].url).toBe('wirefall://app/index.html');
    const res: Response = await h.protocolHandlers.get('wirefall')!({ url: 'wirefall://app/../../../etc/passwd' });
    expect([403, 404]).toContain(res.status);
  });

  it('creates the window with the security settings', () => {
    expect(h.windows[0].opts.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webviewTag: false });
    expect(h.windows[0].opts.webPreferences.preload).toMatch(/preload\.cjs$/);
  });

  it('blocks new windows, foreign navigation and webviews on every web contents', () => {
    const handlers = new Map<string, Handler>();
    let openHandler: Handler | null = null;
    h.appHandlers.get('web-contents-created')!({}, { setWindowOpenHandler: (fn: Handler) => (openHandler = fn), on: (e: string, fn: Handler) => handlers.set(e, fn) });
    expect(openHandler!({ url: 'https://example.com' })).toEqual({ action: 'deny' });
    const nav = { preventDefault: vi.fn() };
    handlers.get('will-navigate')!(nav, 'https://example.com/');
    expect(nav.preventDefault).toHaveBeenCalled();
    const ok = { preventDefault: vi.fn() };
    handlers.get('will-navigate')!(ok, 'wirefall://app/index.html');
    expect(ok.preventDefault).not.toHaveBeenCalled();
    const wv = { preventDefault: vi.fn() };
    handlers.get('will-attach-webview')!(wv);
    expect(wv.preventDefault).toHaveBeenCalled();
  });

  it('refuses permissions and all remote requests', () => {
    const cb = vi.fn();
    h.permissionRequest!({}, 'media', cb);
    expect(cb).toHaveBeenCalledWith(false);
    const cancel = vi.fn();
    h.beforeRequest!.fn({ url: 'https://example.com/x.js' }, cancel);
    expect(cancel).toHaveBeenCalledWith({ cancel: true });
  });

  it('answers IPC only from the app page, and opens the capture given on the command line', async () => {
    const call = h.ipc.get('wirefall:call')!;
    const wc = h.windows[0].webContents;
    const fromApp = { senderFrame: wc.mainFrame, sender: wc };
    (wc.mainFrame as { url?: string }).url = 'wirefall://app/index.html';
    await expect(call({ senderFrame: { url: 'https://evil.example/' }, sender: wc }, 'listDocs', [])).rejects.toThrow(/untrusted/);
    await expect(call(fromApp, 'getRequest', ['x'])).rejects.toThrow(/invalid/);
    const docs = (await call(fromApp, 'listDocs', [])) as { id: string; title: string }[];
    expect(docs.map((d) => d.title)).toEqual(['keepalive-pool.pcap']);
  });

  it('has File › Open, Open Recent, Export HAR / Report, Edit › Copy as cURL', () => {
    const labels = JSON.stringify(h.menu, (k, v) => (k === 'click' ? undefined : v));
    for (const l of ['Open…', 'Open Recent', 'Export HAR…', 'Export Report (JSON)…', 'Copy as cURL', 'Group by Connection']) expect(labels).toContain(l);
    expect(labels).toContain(sample); // the opened capture is in Open Recent
  });

  it('opens files the OS hands over (macOS open-file), only captures', async () => {
    const before = h.sent.length;
    const ev = { preventDefault: vi.fn() };
    h.appHandlers.get('open-file')!(ev, '/nonexistent/notes.txt');
    expect(ev.preventDefault).toHaveBeenCalled();
    expect(h.sent.length).toBe(before);
  });
});
