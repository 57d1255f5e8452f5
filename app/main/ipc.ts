/**
 * The main-process side of WirefallApi over IPC: one channel, `wirefall:call`, carrying
 * (method, args). Every call is checked: the sender must be our app page's main frame and the
 * arguments must pass validateCall. Electron-free so it is unit-tested directly.
 */
import { validateCall, type DocInfo, type ExportKind, type ExportResult, type HostInfo } from '../../core/src/view/api.js';
import { callDocStore, NOT_A_STORE_METHOD, type DocStore } from '../../core/src/view/docs.js';
import { isTrustedSender } from './security.js';

export const IPC_CALL = 'wirefall:call';
export const IPC_EVENT = 'wirefall:event';

export interface DesktopActions {
  host: HostInfo;
  openDialog(): Promise<DocInfo[]>;
  openPaths(paths: string[]): Promise<DocInfo[]>;
  exportDoc(doc: string, kind: ExportKind): Promise<ExportResult>;
}

export interface Sender {
  url: string | undefined | null;
  isMainFrame: boolean;
}

export class IpcRejection extends Error {
  override name = 'IpcRejection';
}

export function createIpcHandler(store: DocStore, actions: DesktopActions) {
  return async function handle(sender: Sender, method: unknown, args: unknown): Promise<unknown> {
    if (!isTrustedSender(sender.url, sender.isMainFrame)) throw new IpcRejection('IPC from an untrusted sender');
    const bad = validateCall(method, args);
    if (bad) throw new IpcRejection(`invalid IPC call: ${bad}`);
    const a = args as unknown[];
    const served = callDocStore(store, method as string, a);
    if (served !== NOT_A_STORE_METHOD) return served;
    switch (method as string) {
      case 'host':
        return actions.host;
      case 'exportDoc':
        return actions.exportDoc(a[0] as string, a[1] as ExportKind);
      case 'openDialog':
        return actions.openDialog();
      case 'openPaths':
        return actions.openPaths(a[0] as string[]);
    }
    throw new IpcRejection('unknown method');
  };
}
