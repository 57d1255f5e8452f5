/**
 * wirefall desktop: Electron main process. Opens captures (File › Open, Open Recent, drag and
 * drop, command line, OS file associations / macOS open-file), analyses each in a worker thread,
 * and serves the renderer from a privileged custom scheme with the settings in security.ts.
 */
import { app, BrowserWindow, dialog, ipcMain, Menu, nativeTheme, protocol, session, type MenuItemConstructorOptions, type WebContents } from 'electron';
import { readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ApiEvent, DocInfo, ExportKind, ExportResult, HostInfo, UiCommand } from '../../core/src/view/api.js';
import { DocStore } from '../../core/src/view/docs.js';
import { phases } from '../../core/src/model/phases.js';
import { headerTables } from '../../core/src/view/header-tables.js';
import { writePiecesToFile } from '../../core/src/view/export-stream.js';
import { analyzeInWorker } from '../../core/src/view/worker-client.js';
import { toHar } from '../../core/src/model/har.js';
import { APP_SCHEME, APP_URL, allowPermission, appUrlToRelativePath, browserWindowOptions, isAllowedNavigation, securityHeaders } from './security.js';
import { addRecent, capturePathsFromArgv, isCaptureFile, OPEN_DIALOG_FILTERS, parseRecent } from './files.js';
import { createIpcHandler, IPC_CALL, IPC_EVENT } from './ipc.js';

const here = dirname(fileURLToPath(import.meta.url));
const rendererDir = join(here, '..', 'renderer');
const preloadPath = join(here, 'preload.cjs');
// Unpacked from the asar archive when packaged (electron-builder.yml asarUnpack).
const workerPath = join(here, 'worker.js').replace(/app\.asar([\\/])/, 'app.asar.unpacked$1');

protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);

if (!app.requestSingleInstanceLock()) app.quit();

let win: BrowserWindow | null = null;
const pendingPaths: string[] = [];

const store = new DocStore(
  // Streamed into a compact document (core/src/view/stream-model.ts): the model's bytes and a spill
  // file of the records, removed when the tab closes or the app quits.
  (path, onProgress, signal, texts) => analyzeInWorker(workerPath, path, { ...(texts ? { texts } : {}) }, onProgress, signal, true),
  phases,
  // The HPACK / QPACK inspector decodes the capture again, recording one connection's tables.
  (path, connId, texts) => headerTables(path, connId, { files: [], ...(texts ? { texts } : {}) }),
);

// ---- Open Recent ------------------------------------------------------------------------------
const recentFile = () => join(app.getPath('userData'), 'recent.json');
let recent: string[] = [];
function loadRecent() {
  try {
    recent = parseRecent(readFileSync(recentFile(), 'utf8'));
  } catch {
    recent = [];
  }
}
function rememberRecent(path: string) {
  recent = addRecent(recent, path);
  try {
    mkdirSync(dirname(recentFile()), { recursive: true });
    writeFileSync(recentFile(), JSON.stringify(recent));
  } catch {
    /* not fatal */
  }
  app.addRecentDocument(path);
  buildMenu();
}

function openPaths(paths: string[]): DocInfo[] {
  const out: DocInfo[] = [];
  for (const p of paths) {
    let size = 0;
    try {
      const st = statSync(p);
      if (!st.isFile()) continue;
      size = st.size;
    } catch {
      dialog.showErrorBox('wirefall', `Cannot open ${p}: no such file`);
      continue;
    }
    out.push(store.open(p, size));
    rememberRecent(p);
  }
  return out;
}

function openOrQueue(paths: string[]) {
  if (app.isReady() && win) openPaths(paths);
  else pendingPaths.push(...paths);
}

async function openDialog(): Promise<DocInfo[]> {
  const r = await dialog.showOpenDialog(win ?? undefined!, { properties: ['openFile', 'multiSelections'], filters: OPEN_DIALOG_FILTERS });
  return r.canceled ? [] : openPaths(r.filePaths);
}

async function exportDoc(doc: string, kind: ExportKind): Promise<ExportResult> {
  // The report is read back from the doc's spill file a record at a time (store.exportPieces).
  const { name, pieces } = store.exportPieces(doc, kind, toHar);
  const r = await dialog.showSaveDialog(win ?? undefined!, {
    defaultPath: name,
    filters: kind === 'har' ? [{ name: 'HAR', extensions: ['har'] }] : [{ name: 'JSON', extensions: ['json'] }],
  });
  if (r.canceled || !r.filePath) return { saved: false };
  // Streamed to a temporary file and renamed (view/export-stream.ts): any size, the old file kept on
  // failure, and the same bytes as the CLI's and the browser's exports (times in µs).
  await writePiecesToFile(r.filePath, pieces);
  return { saved: true, location: r.filePath };
}

function send(ev: ApiEvent) {
  if (win && !win.isDestroyed()) win.webContents.send(IPC_EVENT, ev);
}
function command(c: UiCommand) {
  send({ type: 'command', command: c });
}
store.subscribe(send);

// ---- Menu -------------------------------------------------------------------------------------
function buildMenu() {
  const isMac = process.platform === 'darwin';
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: 'File',
      submenu: [
        { label: 'Open…', accelerator: 'CmdOrCtrl+O', click: () => void openDialog() },
        {
          label: 'Open Recent',
          submenu: [
            ...recent.map((p) => ({ label: p, click: () => void openPaths([p]) })),
            ...(recent.length ? [{ type: 'separator' as const }] : []),
            {
              label: 'Clear Recent',
              enabled: recent.length > 0,
              click: () => {
                recent = [];
                app.clearRecentDocuments();
                try {
                  writeFileSync(recentFile(), '[]');
                } catch {
                  /* ignore */
                }
                buildMenu();
              },
            },
          ],
        },
        { type: 'separator' },
        { label: 'Export HAR…', accelerator: 'CmdOrCtrl+Shift+E', click: () => command('export-har') },
        { label: 'Export Report (JSON)…', accelerator: 'CmdOrCtrl+E', click: () => command('export-report') },
        { type: 'separator' },
        isMac ? { role: 'close' } : { role: 'quit' },
      ],
    },
    {
      label: 'Edit',
      submenu: [
        { role: 'copy' },
        { label: 'Copy as cURL', accelerator: 'CmdOrCtrl+Shift+C', click: () => command('copy-curl') },
        { role: 'selectAll' },
        { type: 'separator' },
        { label: 'Filter', accelerator: 'CmdOrCtrl+F', click: () => command('focus-filter') },
      ],
    },
    {
      label: 'View',
      submenu: [
        { label: 'Group by Connection', accelerator: 'CmdOrCtrl+G', click: () => command('toggle-group') },
        { label: 'Findings', accelerator: 'CmdOrCtrl+Shift+F', click: () => command('toggle-findings') },
        { type: 'separator' },
        { label: 'Zoom In Waterfall', accelerator: 'CmdOrCtrl+=', click: () => command('zoom-in') },
        { label: 'Zoom Out Waterfall', accelerator: 'CmdOrCtrl+-', click: () => command('zoom-out') },
        { label: 'Whole Capture', accelerator: 'CmdOrCtrl+0', click: () => command('zoom-reset') },
        { type: 'separator' },
        { role: 'togglefullscreen' },
        ...(app.isPackaged ? [] : [{ role: 'toggleDevTools' as const }]),
      ],
    },
    { role: 'windowMenu' },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

// ---- Security: every web contents ---------------------------------------------------------------
app.on('web-contents-created', (_e, contents: WebContents) => {
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  contents.on('will-navigate', (e, url) => {
    if (!isAllowedNavigation(url)) e.preventDefault();
  });
  contents.on('will-redirect', (e, url) => {
    if (!isAllowedNavigation(url)) e.preventDefault();
  });
  contents.on('will-attach-webview', (e) => e.preventDefault());
});

function createWindow() {
  win = new BrowserWindow(browserWindowOptions(preloadPath));
  win.once('ready-to-show', () => win?.show());
  win.on('closed', () => (win = null));
  void win.loadURL(APP_URL);
}

app.on('open-file', (e, path) => {
  e.preventDefault();
  if (isCaptureFile(path)) openOrQueue([path]);
});

app.on('second-instance', (_e, argv, cwd) => {
  openOrQueue(capturePathsFromArgv(argv, cwd, app.isPackaged));
  if (win) {
    if (win.isMinimized()) win.restore();
    win.focus();
  }
});

void app.whenReady().then(() => {
  nativeTheme.themeSource = 'system';
  loadRecent();
  protocol.handle(APP_SCHEME, async (req) => {
    const rel = appUrlToRelativePath(req.url);
    if (rel === null) return new Response('forbidden', { status: 403 });
    const file = join(rendererDir, rel);
    try {
      const body = await readFile(file);
      const type = file.endsWith('.html') ? 'text/html' : file.endsWith('.js') ? 'text/javascript' : file.endsWith('.css') ? 'text/css' : file.endsWith('.svg') ? 'image/svg+xml' : 'application/octet-stream';
      return new Response(body, { headers: { 'Content-Type': type, ...securityHeaders() } });
    } catch {
      return new Response('not found', { status: 404 });
    }
  });
  session.defaultSession.setPermissionRequestHandler((_wc, permission, cb) => cb(allowPermission(permission)));
  session.defaultSession.setPermissionCheckHandler((_wc, permission) => allowPermission(permission));
  // No remote content at all: refuse every http(s)/ws request from the renderer.
  session.defaultSession.webRequest.onBeforeRequest({ urls: ['http://*/*', 'https://*/*', 'ws://*/*', 'wss://*/*'] }, (_d, cb) => cb({ cancel: true }));

  const host: HostInfo = { kind: 'electron', canOpenFiles: true, platform: process.platform };
  const handle = createIpcHandler(store, { host, openDialog, openPaths: async (p) => openPaths(p.filter(isCaptureFile)), exportDoc });
  ipcMain.handle(IPC_CALL, (e, method: unknown, args: unknown) =>
    handle({ url: e.senderFrame?.url, isMainFrame: e.senderFrame !== null && e.senderFrame === e.sender.mainFrame }, method, args),
  );

  buildMenu();
  createWindow();
  openOrQueue(capturePathsFromArgv(process.argv, process.cwd(), app.isPackaged));
  win!.webContents.once('did-finish-load', () => openPaths(pendingPaths.splice(0)));
});

// Spill files of open captures go with the app (stream-model.ts also removes them at exit).
app.on('will-quit', () => store.closeAll());
app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});
app.on('activate', () => {
  if (BrowserWindow.getAllWindows().length === 0) createWindow();
});
