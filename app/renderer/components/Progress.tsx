import type { DocInfo } from '../../../core/src/view/api.js';
import { formatBytes, formatCount } from '../model/format.js';

export function Progress({ doc, onCancel }: { doc: DocInfo; onCancel(): void }) {
  const p = doc.progress;
  const frac = p.totalBytes > 0 ? Math.min(1, p.bytes / p.totalBytes) : 0;
  return (
    <div className="progress-view" role="status">
      <h2>{doc.state === 'analyzing' ? `Analysing ${doc.title}…` : doc.state === 'cancelled' ? `${doc.title}: cancelled` : `${doc.title}: failed`}</h2>
      {doc.state === 'analyzing' && (
        <>
          <progress max={1} value={frac} />
          <p>
            {formatBytes(p.bytes)} of {formatBytes(p.totalBytes)} · {formatCount(p.packets)} packets · {formatCount(p.connections)} connections
            {p.requests !== undefined ? ` · ${formatCount(p.requests)} requests` : ''}
          </p>
          {p.totalBytes > 0 && p.bytes >= p.totalBytes && <p className="muted">Capture read; finishing connections and looking for findings…</p>}
          <button onClick={onCancel}>Cancel</button>
        </>
      )}
      {doc.error && (
        <p className="error">
          {doc.error.message} <code>{doc.error.code}</code>
        </p>
      )}
    </div>
  );
}
