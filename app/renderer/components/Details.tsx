/** Details pane for the selected request (or connection): Headers, Timing, Connection, Findings. */
import { Fragment, useEffect, useRef, useState } from 'react';
import { Splitter, usePersistentSize } from './Splitter.js';
import { clampSize, MIN_DETAILS_W } from '../model/layout.js';
import type { RequestRow, ViewModel, WirefallApi } from '../../../core/src/view/api.js';
import type { Connection, Header, PhaseId, Request } from '../../../core/src/model/types.js';
import { PHASE_STYLES, STALL_STYLES } from '../model/phaseStyles.js';
import { formatBytes, formatMs, wrapPoints } from '../model/format.js';
import { closeLabel, closeReasonText, idleLabel } from '../model/closeText.js';
import { hpackNotes } from '../model/hpack.js';
import { connectionFacts } from '../../../core/src/view/facts.js';
import { endpointText } from '../../../core/src/model/endpoint.js';
import { lateSegments, lateSegmentsText } from '../../../core/src/model/late-segments.js';
import { EvidenceLinks, type OnEvidence } from './FindingsPanel.js';
import { HeaderTablesTab } from './HeaderTables.js';
import { pushText, pushWhen } from '../model/push.js';

export type Tab = 'headers' | 'timing' | 'connection' | 'findings' | 'hpack';
const SETUP: PhaseId[] = ['queueing', 'blocking', 'proxy', 'dns', 'connecting', 'ssl'];

export function Details(props: { api: WirefallApi; model: ViewModel; row: RequestRow | null; connId: number | null; onClose(): void; onCopyCurl(id: number): void; onSelectFinding(i: number): void; onEvidence: OnEvidence; openTab?: { tab: Tab; seq: number } | null }) {
  const { api, model, row, connId } = props;
  const [tab, setTab] = useState<Tab>(props.openTab?.tab ?? (row ? 'headers' : 'connection'));
  // A finding marker clicked in the table opens this pane on its Findings tab.
  useEffect(() => {
    if (props.openTab) setTab(props.openTab.tab);
  }, [props.openTab]);
  const [req, setReq] = useState<Request | null>(null);
  const [conn, setConn] = useState<Connection | null>(null);
  useEffect(() => {
    setReq(null);
    if (row) void api.getRequest(model.doc, row.id).then(setReq);
  }, [api, model.doc, row]);
  useEffect(() => {
    setConn(null);
    if (connId !== null) void api.getConnection(model.doc, connId).then(setConn);
  }, [api, model.doc, connId]);
  const findingIdx = row ? row.findings : connId !== null ? (model.connections.find((c) => c.id === connId)?.findings ?? []) : [];
  const connRow = connId !== null ? model.connections.find((c) => c.id === connId) : undefined;
  // HTTP/2 and HTTP/3 connections: the HPACK / QPACK dynamic-table inspector.
  const codec = connRow?.protocol === 'h3' ? 'QPACK' : connRow?.protocol === 'h2' || connRow?.protocol === 'h2c' ? 'HPACK' : null;
  const effTab: Tab = !row && (tab === 'headers' || tab === 'timing') ? 'connection' : tab === 'hpack' && !codec ? (row ? 'headers' : 'connection') : tab;
  const tabs: Tab[] = [...(row ? (['headers', 'timing', 'connection', 'findings'] as Tab[]) : (['connection', 'findings'] as Tab[])), ...(codec ? (['hpack'] as Tab[]) : [])];
  // Its width, dragged at its left edge (kept across sessions).
  const asideRef = useRef<HTMLElement>(null);
  const width = usePersistentSize('wirefall.detailsWidth');
  return (
    <aside className="details" data-testid="details" ref={asideRef} style={width.size !== null ? { width: width.size, maxWidth: 'none' } : undefined}>
      <Splitter
        axis="x"
        label="Drag to resize the details pane"
        testId="details-splitter"
        onMove={(d) => width.drag(() => asideRef.current?.getBoundingClientRect().width ?? 400, d, (s, dd) => clampSize(s, -dd, MIN_DETAILS_W, window.innerWidth * 0.8))}
        onEnd={width.end}
      />
      <div className="details-tabs" role="tablist">
        <button className="icon close" onClick={props.onClose} aria-label="Close details">
          ×
        </button>
        {tabs.map((t) => (
          <button key={t} role="tab" aria-selected={effTab === t} className={effTab === t ? 'active' : ''} onClick={() => setTab(t)}>
            {t === 'findings' ? `Findings (${findingIdx.length})` : t === 'hpack' ? codec : t[0]!.toUpperCase() + t.slice(1)}
          </button>
        ))}
      </div>
      <div className="details-body">
        {effTab === 'headers' && row && <HeadersTab row={row} req={req} onCopyCurl={() => props.onCopyCurl(row.id)} />}
        {effTab === 'timing' && row && <TimingTab row={row} />}
        {effTab === 'hpack' && codec && connId !== null && <HeaderTablesTab api={api} model={model} connId={connId} streamId={row?.streamId} />}
        {effTab === 'connection' && <ConnectionTab conn={conn} model={model} connId={connId} />}
        {effTab === 'findings' && (
          <div className="detail-findings">
            {findingIdx.length === 0 && <p className="muted">No findings.</p>}
            {findingIdx.map((i) => {
              const f = model.findings[i]!;
              return (
                <div key={i} className={`finding sev-${f.severity}`} role="button" tabIndex={0} onClick={() => props.onSelectFinding(i)}>
                  <span className={`sev sev-${f.severity}`}>{f.severity}</span> <b>{f.kind}</b> {f.summary}
                  <div className="advice">{f.advice}</div>
                  <EvidenceLinks i={i} f={f} model={model} onEvidence={props.onEvidence} />
                </div>
              );
            })}
          </div>
        )}
      </div>
    </aside>
  );
}

/** A long value with line-break opportunities after its separators (format.ts wrapPoints), not mid-word. */
function Wrapped({ value }: { value: string }) {
  const parts = wrapPoints(value);
  if (parts.length === 1) return <>{value}</>;
  return (
    <>
      {parts.map((p, i) => (
        <Fragment key={i}>
          {p}
          {i < parts.length - 1 && <wbr />}
        </Fragment>
      ))}
    </>
  );
}

function HeaderList({ title, headers, notes }: { title: string; headers: Header[]; notes: (string | undefined)[] | null }) {
  return (
    <section>
      <h4>
        {title} <span className="muted">({headers.length}, wire order)</span>
      </h4>
      <table className="kv headers">
        <tbody>
          {headers.map((h, i) => (
            <tr key={i}>
              <th>{h.name}</th>
              <td>
                <Wrapped value={h.value} />
                {notes?.[i] && <span className="hpack-note">{notes[i]}</span>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function HeadersTab({ row, req, onCopyCurl }: { row: RequestRow; req: Request | null; onCopyCurl(): void }) {
  return (
    <div>
      <section>
        <h4>General</h4>
        <table className="kv">
          <tbody>
            <tr>
              <th>Request URL</th>
              <td className="url">
                <Wrapped value={row.url} />
              </td>
            </tr>
            <tr>
              <th>Request Method</th>
              <td>{row.method}</td>
            </tr>
            <tr>
              <th>Protocol</th>
              <td data-testid="protocol">{row.responseHttpVersion ? `request ${row.httpVersion}, response ${row.responseHttpVersion}` : row.httpVersion}</td>
            </tr>
            <tr>
              <th>Status Code</th>
              <td>{row.status !== null ? `${row.status} ${row.statusText}` : `(${row.state})`}</td>
            </tr>
            <tr>
              <th>Remote Address</th>
              <td data-testid="remote-address">{row.remote}</td>
            </tr>
            <tr>
              <th>Connection</th>
              <td>
                #{row.connectionId}, request {row.index}
                {row.connectionReused ? ' (reused)' : ' (new connection)'}
                {row.pipelined ? ', pipelined' : ''}
                {row.streamId !== undefined ? `, stream ${row.streamId}` : ''}
              </td>
            </tr>
            {req && (
              <tr>
                <th>Packets</th>
                <td>
                  request #{req.packets.request[0]}–{req.packets.request[1]}
                  {req.packets.response ? `, response #${req.packets.response[0]}–${req.packets.response[1]}` : ''}
                  {req.lostBytes > 0 ? `, ${formatBytes(req.lostBytes)} lost` : ''}
                </td>
              </tr>
            )}
          </tbody>
        </table>
        <button onClick={onCopyCurl}>Copy as cURL</button>
      </section>
      {!req && <p className="muted">Loading…</p>}
      {req && <HeaderList title="Response Headers" headers={req.responseHeaders} notes={hpackNotes(req, 'response', req.responseHeaders)} />}
      {req && <HeaderList title="Request Headers" headers={req.requestHeaders} notes={hpackNotes(req, 'request', req.requestHeaders)} />}
      {req?.trailers && req.trailers.length > 0 && <HeaderList title="Trailers" headers={req.trailers} notes={null} />}
    </div>
  );
}

/**
 * Like DevTools' Timing tab: setup phases, then request/response phases, bars over the request's
 * whole span. Start and Total are the row's (core's phaseSpan), the same as the Time column.
 */
export function TimingTab({ row }: { row: RequestRow }) {
  const ph = row.phases;
  const push = row.pushed && (
    <p className={`timing-push${row.pushed.outcome !== 'delivered' ? ' cancelled' : ''}`} data-testid="timing-push">
      Initiator: {pushText(row.pushed)}
      {row.pushed.outcome === 'delivered' ? ' (the server pushed this response; the browser sent no request)' : row.pushed.outcome === 'cancelled' && pushWhen(row.pushed) ? `, ${pushWhen(row.pushed)}` : ''}
    </p>
  );
  if (ph.length === 0)
    return (
      <div className="timing">
        {push}
        <p className="muted">No timing.</p>
      </div>
    );
  const t0 = row.timingStartTime;
  const span = Math.max(1e-6, row.durationMs);
  const setup = ph.filter((p) => SETUP.includes(p[0]));
  const rest = ph.filter((p) => !SETUP.includes(p[0]));
  const line = ([id, s, e]: (typeof ph)[number], i: number) => (
    <tr key={i} data-phase={id}>
      <th>{PHASE_STYLES[id].label}</th>
      <td className="timing-bar-cell">
        <span className="timing-bar" style={{ left: `${((s - t0) / span) * 100}%`, width: `max(1px, ${((e - s) / span) * 100}%)`, background: PHASE_STYLES[id].color }} />
      </td>
      <td className="right">{formatMs(e - s)}</td>
    </tr>
  );
  return (
    <div className="timing">
      <p className="muted" data-testid="timing-start">
        Started at {formatMs(row.timingStartTime)} after capture start
        {row.startTime !== row.timingStartTime ? `, request sent at ${formatMs(row.startTime)}` : ''}
        {row.connectionReused ? ', on a reused connection' : ''}
      </p>
      {push}
      {row.noResponse && row.pushed?.outcome !== 'unanswered' && (
        <p className="timing-no-response" data-testid="timing-no-response">
          {row.noResponse.text}
        </p>
      )}
      <table className="timing-table">
        <tbody>
          {setup.length > 0 && (
            <tr className="group">
              <td colSpan={3}>Connection Start</td>
            </tr>
          )}
          {setup.map(line)}
          <tr className="group">
            <td colSpan={3}>Request/Response</td>
          </tr>
          {rest.map(line)}
          <tr className="total">
            <th>Total</th>
            <td />
            <td className="right" data-testid="timing-total">{formatMs(row.durationMs)}</td>
          </tr>
        </tbody>
      </table>
      {(row.stalls || row.arrivals) && (
        <section className="timing-evidence" data-testid="timing-evidence">
          <h4>What the packets say</h4>
          {row.arrivals && (
            <p className="muted">
              Response data arrived in {row.arrivals.runs.length} run{row.arrivals.runs.length === 1 ? '' : 's'} of {row.arrivals.runs.reduce((n, a) => n + a[2], 0)} {row.arrivals.unit === 'frames' ? 'DATA frame(s) of this stream' : 'packet(s)'}
              {row.arrivals.shared ? ' on the connection (HTTP/2: shared by all its streams)' : ''}.
            </p>
          )}
          {row.stalls && (
            <ul className="stall-list">
              {row.stalls.map((st, i) => (
                <li key={i} data-kind={st.kind}>
                  <span className="stall-swatch" style={{ borderColor: STALL_STYLES[st.kind].color, color: STALL_STYLES[st.kind].color }} />
                  <b>{STALL_STYLES[st.kind].label}</b> {formatMs(st.startTime)} – {formatMs(st.endTime)} ({formatMs(st.endTime - st.startTime)}): {st.text}
                </li>
              ))}
            </ul>
          )}
        </section>
      )}
    </div>
  );
}

function ConnectionTab({ conn, model, connId }: { conn: Connection | null; model: ViewModel; connId: number | null }) {
  const row = model.connections.find((c) => c.id === connId);
  if (!row) return <p className="muted">No connection.</p>;
  const dir = (s: Connection['stats']['client']) => `${s.packets} packets, ${formatBytes(s.frameBytes)} on the wire, ${formatBytes(s.deliveredBytes)} delivered${lateSegments(s) ? `, ${lateSegmentsText(lateSegments(s))}` : ''}${s.lostBytes ? `, ${formatBytes(s.lostBytes)} never captured` : ''}`;
  return (
    <div className="conn-tab">
      <table className="kv">
        <tbody>
          <tr>
            <th>Connection</th>
            <td>
              #{row.id} {endpointText(row.client)} → {endpointText(row.server)} ({row.protocol})
            </td>
          </tr>
          <tr>
            <th>Lifetime</th>
            <td>
              {formatMs(row.synTime ?? row.firstTime)} → {formatMs(row.close.time ?? row.lastTime)} ({formatMs((row.close.time ?? row.lastTime) - (row.synTime ?? row.firstTime))}){row.startSeen ? '' : ', start not captured'}
            </td>
          </tr>
          {row.quic ? (
            <>
              <tr>
                <th>QUIC</th>
                <td data-testid="quic-version">
                  {row.quic.version}
                  {row.quic.retry ? ', after a Retry' : ''} · ended by {row.quic.end}
                  {row.quic.closeError ? ` (${row.quic.closeError})` : ''}
                </td>
              </tr>
              <tr>
                <th>Connection IDs</th>
                <td className="mono wrap" data-testid="quic-cids">
                  original DCID {row.quic.originalDcid}
                  <br />
                  client: {row.quic.connectionIds.client.join(', ') || '—'}
                  <br />
                  server: {row.quic.connectionIds.server.join(', ') || '—'}
                </td>
              </tr>
              {row.quic.migrations.length > 0 && (
                <tr>
                  <th>Migrations</th>
                  <td data-testid="quic-migrations">
                    {row.quic.migrations.map((m, i) => (
                      <div key={i}>
                        {formatMs(m.time)} (#{m.packet}): {m.from} → {m.to}
                      </div>
                    ))}
                    <span className="muted">client address changes (migration or NAT rebinding, RFC 9000 §9); the connection IDs kept one connection</span>
                  </td>
                </tr>
              )}
            </>
          ) : (
            <tr>
              <th>Handshake</th>
              <td>{row.handshakeRttMs >= 0 ? `${formatMs(row.handshakeRttMs)} (SYN → ACK)` : 'not seen'}</td>
            </tr>
          )}
          {row.tlsSummary && (
            <tr>
              <th>TLS</th>
              <td data-testid="tls-summary">
                {row.tlsSummary}
                {row.tls ? ` — handshake ${formatMs(row.tls[1] - row.tls[0])}` : ''}
                {conn?.tls?.decrypted ? ' · decrypted' : ''}
              </td>
            </tr>
          )}
          {row.undecrypted && (
            <tr>
              <th>Encrypted</th>
              <td data-testid="tls-undecrypted" className="warn">
                Not decrypted ({row.undecrypted.reason}): {row.undecrypted.text}
              </td>
            </tr>
          )}
          {conn?.tls?.certificate && (
            <tr>
              <th>Certificate</th>
              <td data-testid="tls-certificate">
                <div>{conn.tls.certificate.subject}</div>
                {conn.tls.certificate.sans.length > 0 && <div>SANs: {conn.tls.certificate.sans.slice(0, 20).join(', ')}{conn.tls.certificate.sans.length > 20 ? ` … ${conn.tls.certificate.sans.length - 20} more` : ''}</div>}
                <div>issuer: {conn.tls.certificate.issuer}</div>
                {conn.tls.certificate.notAfter && <div>valid until {conn.tls.certificate.notAfter}</div>}
              </td>
            </tr>
          )}
          <tr>
            <th>Requests</th>
            <td>{row.requestCount}</td>
          </tr>
          {conn ? (
            connectionFacts(conn).map((f) => (
              <tr key={f.id} data-fact={f.id}>
                <th>{f.label}</th>
                <td>{f.value}</td>
              </tr>
            ))
          ) : (
            <tr>
              <th>Protocol</th>
              <td className="muted">Loading…</td>
            </tr>
          )}
          <tr>
            <th>Closed</th>
            <td data-testid="close-reason">
              {closeLabel(row.close)}
              {row.close.time !== null ? ` at ${formatMs(row.close.time)}` : ''}
              {row.close.detail ? ` — ${row.close.detail}` : ` — ${closeReasonText(row.close.reason)}`}
            </td>
          </tr>
          <tr>
            <th>Idle periods</th>
            <td>{row.idle.length === 0 ? 'none' : row.idle.map((g, i) => <div key={i}>{`${idleLabel(g, row.keepAlive)} from ${formatMs(g.startTime)}${g.afterRequest !== undefined ? ` after request ${g.afterRequest}` : ''}`}</div>)}</td>
          </tr>
          {conn && (
            <>
              <tr>
                <th>Client → server</th>
                <td>{dir(conn.stats.client)}</td>
              </tr>
              <tr>
                <th>Server → client</th>
                <td>{dir(conn.stats.server)}</td>
              </tr>
              <tr>
                <th>Packets</th>
                <td>
                  #{conn.firstPacket} – #{conn.lastPacket}
                </td>
              </tr>
              {conn.anomalies.length > 0 && (
                <tr>
                  <th>Anomalies</th>
                  <td>
                    {conn.anomalies.map((a, i) => (
                      <div key={i}>
                        {a.code}
                        {a.packet !== undefined ? ` #${a.packet}` : ''} {a.detail ?? ''}
                      </div>
                    ))}
                  </td>
                </tr>
              )}
            </>
          )}
        </tbody>
      </table>
    </div>
  );
}
