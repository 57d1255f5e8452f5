/**
 * The HPACK (HTTP/2) / QPACK (HTTP/3) dynamic-table inspector: step through a connection's header
 * blocks per direction and see the table as it was before each one (entries, size, maximum),
 * what the block did to it (size updates, insertions, evictions) and what each field cost on the
 * wire against its HTTP/1.1 text. The history is computed in core on demand
 * (core/src/view/header-tables.ts); this only draws it.
 */
import { useEffect, useMemo, useState } from 'react';
import type { HeaderTableHistory, ViewModel, WirefallApi } from '../../../core/src/view/api.js';
import type { Side } from '../../../core/src/model/types.js';
import { formatBytes, formatMs } from '../model/format.js';
import { directionBlocks, repText, saving, startPosition } from '../model/tables.js';

export function HeaderTablesTab({ api, model, connId, streamId }: { api: WirefallApi; model: ViewModel; connId: number; streamId?: number | undefined }) {
  const [hist, setHist] = useState<HeaderTableHistory | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [side, setSide] = useState<Side>('client');
  const [pos, setPos] = useState(0);
  useEffect(() => {
    setHist(null);
    setError(null);
    if (!api.headerTables) {
      setError('The header-table inspector is not available in this host.');
      return;
    }
    let live = true;
    api.headerTables(model.doc, connId).then(
      (h) => live && setHist(h),
      (e: Error) => live && setError(e.message),
    );
    return () => {
      live = false;
    };
  }, [api, model.doc, connId]);
  const order = useMemo(() => (hist ? directionBlocks(hist, side) : []), [hist, side]);
  useEffect(() => {
    if (hist) setPos(startPosition(hist, side, streamId));
  }, [hist, side, streamId]);

  if (error) return <p className="error-text">{error}</p>;
  if (!hist) return <p className="muted">Decoding the connection's header blocks…</p>;
  const codec = hist.codec === 'qpack' ? 'QPACK' : 'HPACK';
  const b = order.length > 0 ? hist.blocks[order[Math.min(pos, order.length - 1)]!]! : null;
  const go = (p: number) => setPos(Math.max(0, Math.min(order.length - 1, p)));
  return (
    <div className="hpack-inspector" data-testid="hpack-inspector" data-codec={hist.codec ?? ''}>
      <div className="hpack-controls">
        <span className="seg-buttons" role="group" aria-label="Direction">
          {(['client', 'server'] as const).map((s) => (
            <button key={s} className={side === s ? 'active' : ''} aria-pressed={side === s} data-testid={`table-side-${s}`} onClick={() => setSide(s)}>
              {s === 'client' ? 'Requests (client → server)' : 'Responses (server → client)'}
            </button>
          ))}
        </span>
        <button data-testid="table-prev" disabled={pos <= 0} onClick={() => go(pos - 1)} aria-label="Previous block">
          ◀
        </button>
        <span data-testid="table-pos" data-pos={pos}>
          block {order.length ? pos + 1 : 0} of {order.length}
        </span>
        <button data-testid="table-next" disabled={pos >= order.length - 1} onClick={() => go(pos + 1)} aria-label="Next block">
          ▶
        </button>
      </div>
      {hist.droppedBlocks > 0 && <p className="muted">{hist.droppedBlocks} later blocks not recorded (limit reached).</p>}
      {!b && <p className="muted">No {codec} blocks in this direction.</p>}
      {b && (
        <>
          <p data-testid="table-block" data-stream-id={b.streamId}>
            {b.kind === 'PUSH_PROMISE' ? 'PUSH_PROMISE for' : 'HEADERS of'} stream {b.streamId} at {formatMs(b.time)}
            {b.packet !== null ? `, packet #${b.packet}` : ''}
            {b.error ? ` — ${b.error}` : ''}
          </p>
          <h4>
            {codec} dynamic table before this block{' '}
            <span className="muted" data-testid="table-summary" data-entries={b.before.entryCount} data-size={b.before.size} data-max-size={b.before.maxSize}>
              {b.before.entryCount} entries, {b.before.size} / {b.before.maxSize} octets
              {b.before.unknownOlderEntries ? ', older entries unknown' : ''} · since the start {b.before.inserted} inserted, {b.before.evicted} evicted
            </span>
          </h4>
          <p className="muted" data-testid="table-effects">
            This block{hist.codec === 'qpack' ? ' (and the encoder stream before it)' : ''}: {b.inserted} inserted, {b.evicted} evicted
            {b.sizeUpdates.length > 0 ? `, size update${b.sizeUpdates.length > 1 ? 's' : ''} to ${b.sizeUpdates.join(', ')}` : ''}
            {b.capacityUpdates ? `, ${b.capacityUpdates} capacity update${b.capacityUpdates > 1 ? 's' : ''}` : ''}
          </p>
          <table className="hpack-table table-entries" data-testid="table-entries">
            <thead>
              <tr>
                <th className="right">Index</th>
                <th>Name</th>
                <th>Value</th>
                <th className="right">Size</th>
              </tr>
            </thead>
            <tbody>
              {b.before.entries.map((e) => (
                <tr key={e.index} data-testid="table-entry" data-index={e.index}>
                  <td className="right">{e.index}</td>
                  <td className="mono">{e.name}</td>
                  <td className="mono wrap">{e.value}</td>
                  <td className="right">{e.size}</td>
                </tr>
              ))}
              {b.before.entries.length === 0 && (
                <tr>
                  <td colSpan={4} className="muted">
                    (empty)
                  </td>
                </tr>
              )}
              {b.before.entryCount > b.before.entries.length && (
                <tr>
                  <td colSpan={4} className="muted">
                    … {b.before.entryCount - b.before.entries.length} older entries not listed
                  </td>
                </tr>
              )}
            </tbody>
          </table>
          <h4>
            Fields of this block{' '}
            <span className="muted" data-testid="block-cost" data-encoded={b.encodedBytes} data-http1={b.http1Bytes}>
              {formatBytes(b.encodedBytes)} on the wire vs {formatBytes(b.http1Bytes)} as HTTP/1.1 text ({saving(b).percent}% saved)
            </span>
          </h4>
          <table className="hpack-table block-fields">
            <thead>
              <tr>
                <th>Name</th>
                <th>Value</th>
                <th>Representation</th>
                <th className="right" title="Octets of the block this field took">Wire</th>
                <th className="right" title="Name: value\r\n">HTTP/1</th>
              </tr>
            </thead>
            <tbody>
              {b.fields.map((f, i) => (
                <tr key={i} data-testid="block-field" className={f.inserted ? 'inserted' : ''}>
                  <td className="mono">{f.name}</td>
                  <td className="mono wrap">{f.value}</td>
                  <td>
                    {repText(f)}
                    {f.huffman ? ', Huffman' : ''}
                    {f.unknown ? ', from before the capture' : ''}
                  </td>
                  <td className="right">{f.wireBytes ?? '—'}</td>
                  <td className="right">{f.http1Bytes}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {hist.codec === 'qpack' && <p className="muted">QPACK does not delimit a field's octets within its section; only the section's total is known.</p>}
        </>
      )}
    </div>
  );
}
