/**
 * The narrow, typed bridge between the sandboxed renderer and the main process. Exposes exactly
 * WirefallApi (core/src/view/api.ts) as `window.wirefall`, plus `window.wirefallFiles.pathForFile`
 * for drag and drop. No Node, no ipcRenderer, no Electron objects reach the page.
 */
import { contextBridge, ipcRenderer, webUtils, type IpcRendererEvent } from 'electron';
import type { ApiEvent, WirefallApi } from '../../core/src/view/api.js';

const CALL = 'wirefall:call';
const EVENT = 'wirefall:event';
const call = <T>(method: string, ...args: unknown[]): Promise<T> => ipcRenderer.invoke(CALL, method, args) as Promise<T>;

const api: WirefallApi = {
  host: () => call('host'),
  listDocs: () => call('listDocs'),
  getModel: (doc) => call('getModel', doc),
  getRequest: (doc, id) => call('getRequest', doc, id),
  getConnection: (doc, id) => call('getConnection', doc, id),
  curl: (doc, id) => call('curl', doc, id),
  exportDoc: (doc, kind) => call('exportDoc', doc, kind),
  cancel: (doc) => call('cancel', doc),
  closeDoc: (doc) => call('closeDoc', doc),
  openDialog: () => call('openDialog'),
  openPaths: (paths) => call('openPaths', paths),
  addKeyLog: (doc, text) => call('addKeyLog', doc, text),
  headerTables: (doc, id) => call('headerTables', doc, id),
  diff: (before, after) => call('diff', before, after),
  subscribe(listener: (ev: ApiEvent) => void) {
    const h = (_e: IpcRendererEvent, ev: ApiEvent) => listener(ev);
    ipcRenderer.on(EVENT, h);
    return () => {
      ipcRenderer.removeListener(EVENT, h);
    };
  },
};

contextBridge.exposeInMainWorld('wirefall', api);
contextBridge.exposeInMainWorld('wirefallFiles', { pathForFile: (f: File) => webUtils.getPathForFile(f) });
