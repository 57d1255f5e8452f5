/**
 * Opening captures in browser mode (issue 15 item 6): an Open… button and drag and drop send the
 * file to the local view server (POST /api/upload with the page's token; the server streams it to
 * a temporary file, so the size is bounded only by its disk), with the progress shown; and, under
 * `wirefall view DIR`, the directory's captures to open by name.
 */
import { useCallback, useRef, useState } from 'react';
import type { DocInfo, HostInfo, WirefallApi } from '../../../core/src/view/api.js';
import { formatBytes } from '../model/format.js';

export interface UploadState {
  name: string;
  sent: number;
  total: number;
}

/** Upload files one after another; `onOpened` gets each new document. */
export function useUpload(api: WirefallApi, onOpened: (d: DocInfo) => void, onError: (msg: string) => void) {
  const [state, setState] = useState<UploadState | null>(null);
  const upload = useCallback(
    async (files: File[]) => {
      if (!api.upload) return;
      for (const f of files) {
        setState({ name: f.name, sent: 0, total: f.size });
        try {
          const d = await api.upload(f, (sent, total) => setState({ name: f.name, sent, total }));
          onOpened(d);
        } catch (e) {
          onError((e as Error).message);
        }
      }
      setState(null);
    },
    [api, onOpened, onError],
  );
  return { upload, state };
}

export function OpenCaptureControls({ api, host, upload, state, onOpened, onError }: { api: WirefallApi; host: HostInfo | null; upload(files: File[]): void; state: UploadState | null; onOpened(d: DocInfo): void; onError(msg: string): void }) {
  const input = useRef<HTMLInputElement>(null);
  if (host?.kind !== 'browser') return null;
  const dir = host.directory;
  return (
    <>
      {host.canUpload && api.upload && (
        <>
          <button className="tab-open" data-testid="open-capture" title="Open a capture from this computer (or drop it here); it is sent to the local wirefall view server" onClick={() => input.current?.click()}>
            Open…
          </button>
          <input
            ref={input}
            type="file"
            data-testid="capture-input"
            accept=".pcap,.pcapng,.cap,.gz"
            multiple
            style={{ display: 'none' }}
            onChange={(e) => {
              const files = [...(e.target.files ?? [])];
              e.target.value = '';
              if (files.length) upload(files);
            }}
          />
        </>
      )}
      {dir && api.openListed && (
        <select
          className="tab-open"
          data-testid="dir-captures"
          aria-label={`Open a capture from ${dir.path}`}
          value=""
          onChange={(e) => {
            const name = e.target.value;
            if (name) api.openListed!(name).then(onOpened, (err: Error) => onError(err.message));
          }}
        >
          <option value="">Open from {dir.path.split('/').pop() || dir.path}…</option>
          {dir.captures.map((c) => (
            <option key={c.name} value={c.name}>
              {c.name} ({formatBytes(c.bytes)})
            </option>
          ))}
        </select>
      )}
      {state && (
        <span className="upload-progress" data-testid="upload-progress" role="status">
          Sending {state.name}… <progress max={Math.max(1, state.total)} value={state.sent} /> {state.total > 0 ? `${Math.floor((state.sent / state.total) * 100)}%` : formatBytes(state.sent)}
        </span>
      )}
    </>
  );
}

/** `wirefall view DIR` with nothing open yet: the directory's captures as a list. */
export function DirectoryList({ api, host, onOpened, onError }: { api: WirefallApi; host: HostInfo; onOpened(d: DocInfo): void; onError(msg: string): void }) {
  const dir = host.directory!;
  return (
    <div className="dir-list" data-testid="dir-list">
      <h3>Captures in {dir.path}</h3>
      {dir.captures.length === 0 && <p className="muted">No .pcap, .pcapng or .cap files here.</p>}
      <ul>
        {dir.captures.map((c) => (
          <li key={c.name}>
            <button className="link" data-testid="dir-capture" onClick={() => api.openListed?.(c.name).then(onOpened, (e: Error) => onError(e.message))}>
              {c.name}
            </button>{' '}
            <span className="muted">{formatBytes(c.bytes)}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}
