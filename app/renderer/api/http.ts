/** WirefallApi over HTTP, for browser mode (`wirefall view`, core/src/view/server.ts). */
import type { ApiEvent, DocId, DocInfo, ExportKind, ExportResult, WirefallApi } from '../../../core/src/view/api.js';
import type { DiffViewModel } from '../../../core/src/view/diff-view.js';

export function createHttpApi(token: string, base = ''): WirefallApi {
  async function call<T>(method: string, args: unknown[]): Promise<T> {
    const res = await fetch(`${base}/api/call`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Wirefall-Token': token },
      body: JSON.stringify({ method, args }),
    });
    const body = (await res.json().catch(() => ({ error: { message: `HTTP ${res.status}` } }))) as { result?: T; error?: { message: string } };
    if (!res.ok || body.error) throw new Error(body.error?.message ?? `HTTP ${res.status}`);
    return body.result as T;
  }
  return {
    host: () => call('host', []),
    listDocs: () => call('listDocs', []),
    getModel: (doc) => call('getModel', [doc]),
    getModelHead: (doc, rows) => call('getModelHead', [doc, rows]),
    getRequest: (doc, id) => call('getRequest', [doc, id]),
    getConnection: (doc, id) => call('getConnection', [doc, id]),
    curl: (doc, id) => call('curl', [doc, id]),
    cancel: (doc) => call('cancel', [doc]),
    closeDoc: (doc) => call('closeDoc', [doc]),
    openDialog: () => call('openDialog', []),
    openPaths: (paths) => call('openPaths', [paths]),
    headerTables: (doc, id) => call('headerTables', [doc, id]),
    openListed: (name) => call('openListed', [name]),
    upload: (file, onProgress) => uploadCapture(base, token, file, onProgress),
    async addKeyLog(doc, text) {
      // Its own endpoint: a key log may be larger than an API call's body limit.
      const res = await fetch(`${base}/api/keylog?doc=${encodeURIComponent(doc)}`, {
        method: 'POST',
        headers: { 'Content-Type': 'text/plain; charset=utf-8', 'X-Wirefall-Token': token },
        body: text,
      });
      const body = (await res.json().catch(() => ({ error: { message: `HTTP ${res.status}` } }))) as { result?: DocInfo; error?: { message: string } };
      if (!res.ok || body.error || !body.result) throw new Error(body.error?.message ?? `HTTP ${res.status}`);
      return body.result;
    },
    async exportDoc(doc: DocId, kind: ExportKind): Promise<ExportResult> {
      // Fetched first, so that a failure (409 "Invalid string length" on a huge capture, for
      // instance) is reported instead of a download that silently never happens.
      const res = await fetch(`${base}/api/export?doc=${encodeURIComponent(doc)}&kind=${kind}`, { headers: { 'X-Wirefall-Token': token } });
      if (!res.ok) throw new Error(exportFailure(kind, res.status, await res.text().catch(() => '')));
      const blob = await res.blob();
      const name = attachmentName(res.headers.get('Content-Disposition')) ?? (kind === 'har' ? 'capture.har' : 'capture.wirefall.json');
      const url = URL.createObjectURL(blob);
      try {
        const a = document.createElement('a');
        a.href = url;
        a.download = name;
        document.body.appendChild(a);
        a.click();
        a.remove();
      } finally {
        // Revoked after the click has started the download.
        setTimeout(() => URL.revokeObjectURL(url), 60_000);
      }
      return { saved: true, location: name };
    },
    async diff(before: DocId, after: DocId): Promise<DiffViewModel> {
      // Its own endpoint (GET /api/diff), behind the same token, Host and Origin checks.
      const res = await fetch(`${base}/api/diff?before=${encodeURIComponent(before)}&after=${encodeURIComponent(after)}`, { headers: { 'X-Wirefall-Token': token } });
      const body = (await res.json().catch(() => ({ error: { message: `HTTP ${res.status}` } }))) as { result?: DiffViewModel; error?: { message: string } };
      if (!res.ok || body.error || !body.result) throw new Error(body.error?.message ?? `HTTP ${res.status}`);
      return body.result;
    },
    subscribe(listener: (ev: ApiEvent) => void): () => void {
      const es = new EventSource(`${base}/api/events?token=${encodeURIComponent(token)}`);
      es.onmessage = (m) => listener(JSON.parse(m.data as string) as ApiEvent);
      return () => es.close();
    },
  };
}

/** The user-facing message for a failed export. */
export function exportFailure(kind: ExportKind, status: number, body: string): string {
  const what = kind === 'har' ? 'HAR' : 'JSON report';
  const why = body.trim().slice(0, 300) || `HTTP ${status}`;
  return `Export failed: the ${what} could not be produced (${why})`;
}

/** The file name of a `Content-Disposition: attachment; filename="…"` header, if any. */
export function attachmentName(header: string | null): string | null {
  const m = header ? /filename="([^"]+)"/i.exec(header) : null;
  return m ? m[1]! : null;
}

/**
 * Send a capture to the view server (POST /api/upload, streamed there to a temporary file).
 * XMLHttpRequest, not fetch: only it reports upload progress. The token goes in the header, as
 * for every other call; the server checks Host and Origin as well.
 */
export function uploadCapture(base: string, token: string, file: Blob & { readonly name: string }, onProgress?: (sent: number, total: number) => void): Promise<DocInfo> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `${base}/api/upload?name=${encodeURIComponent(file.name)}`);
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    xhr.setRequestHeader('X-Wirefall-Token', token);
    xhr.upload.onprogress = (e) => onProgress?.(e.loaded, e.lengthComputable ? e.total : file.size);
    xhr.onerror = () => reject(new Error(`Upload of ${file.name} failed (connection error)`));
    xhr.onload = () => {
      let body: { result?: DocInfo; error?: { message: string } } = {};
      try {
        body = JSON.parse(xhr.responseText) as typeof body;
      } catch {
        body = { error: { message: xhr.responseText.slice(0, 300) || `HTTP ${xhr.status}` } };
      }
      if (xhr.status !== 200 || body.error || !body.result) reject(new Error(`Upload of ${file.name} failed: ${body.error?.message ?? `HTTP ${xhr.status}`}`));
      else resolve(body.result);
    };
    xhr.send(file);
  });
}
