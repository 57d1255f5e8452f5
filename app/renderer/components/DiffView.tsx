import { useEffect, useMemo, useState } from 'react';
import type { DocId, DocInfo, ViewModel, WirefallApi } from '../../../core/src/view/api.js';
import type { DiffLanes, DiffViewModel } from '../../../core/src/view/diff-view.js';
import { diffFindingItems, diffOriginRows, diffTotalRows, lanePct, predictionText, sideLanes, type DiffFindingItem, type DiffMetricRow, type DiffSideLanes, type FindingStatus } from '../model/diffView.js';
import { formatMs } from '../model/format.js';
import { PHASE_STYLES } from '../model/phaseStyles.js';
import './compare.css';

/** Origins drawn (largest BEFORE end-to-end first, core's order); the rest are counted. */
export const MAX_DIFF_ORIGINS_SHOWN = 100;

interface Loaded {
  view: DiffViewModel;
  before: ViewModel;
  after: ViewModel;
}

/**
 * Two captures side by side (`wirefall view BEFORE --compare AFTER`): per origin the connections of
 * each as lanes on one time scale, aligned row by row, and the diff table; the findings resolved,
 * new and unchanged. The numbers are core's `diffReports` (served by GET /api/diff); this view
 * only lays them out.
 */
export function DiffView({ api, pair, docs }: { api: WirefallApi; pair: { before: DocId; after: DocId }; docs: DocInfo[] }) {
  const b = docs.find((d) => d.id === pair.before);
  const a = docs.find((d) => d.id === pair.after);
  const ready = b?.state === 'ready' && a?.state === 'ready';
  const [loaded, setLoaded] = useState<Loaded | null>(null);
  const [error, setError] = useState<string | null>(null);
  // Fetched again whenever both become ready (a key log added to either analyses it again).
  const version = `${b?.state}:${b?.progress.packets}:${a?.state}:${a?.progress.packets}`;
  useEffect(() => {
    if (!ready) {
      setLoaded(null);
      return;
    }
    if (!api.diff) {
      setError('This host cannot compare captures (run `wirefall view BEFORE --compare AFTER`).');
      return;
    }
    let live = true;
    Promise.all([api.diff(pair.before, pair.after), api.getModel(pair.before), api.getModel(pair.after)]).then(
      ([view, before, after]) => {
        if (!live) return;
        setLoaded({ view, before, after });
        setError(null);
      },
      (e: Error) => {
        if (live) setError(e.message);
      },
    );
    return () => {
      live = false;
    };
  }, [api, pair.before, pair.after, ready, version]);

  if (error)
    return (
      <div className="diff-view" data-testid="diff-view">
        <div className="error-bar" role="alert">
          {error}
        </div>
      </div>
    );
  if (!ready || !loaded) {
    const line = (label: string, d: DocInfo | undefined) => (d ? `${label} ${d.title}: ${d.state}${d.state === 'analyzing' ? ` (${d.progress.packets} packets)` : ''}` : `${label}: not open`);
    return (
      <div className="diff-view" data-testid="diff-view">
        <div className="empty" data-testid="diff-waiting">
          {line('BEFORE', b)} · {line('AFTER', a)}
        </div>
      </div>
    );
  }
  return <DiffBody loaded={loaded} />;
}

function DiffBody({ loaded }: { loaded: Loaded }) {
  const { view } = loaded;
  const d = view.diff;
  const totals = useMemo(() => diffTotalRows(d), [d]);
  const findings = useMemo(() => diffFindingItems(d), [d]);
  const prediction = predictionText(d);
  return (
    <div className="diff-view" data-testid="diff-view">
      <header className="diff-head">
        <h2>
          <span data-testid="diff-before-title">{view.before.title}</span> → <span data-testid="diff-after-title">{view.after.title}</span>
        </h2>
        <span className="muted">origins matched by TLS server name, else Host, else address (with the port); findings by kind and origin</span>
      </header>
      <MetricTable rows={totals} testid="diff-totals" />
      {prediction && (
        <div className="diff-prediction" data-testid="diff-prediction">
          {prediction}
        </div>
      )}
      {d.regressions.length > 0 && (
        <div className="diff-regressions" data-testid="diff-regressions">
          <strong>Regressions</strong>
          <ul>
            {d.regressions.map((r, i) => (
              <li key={i}>
                <span className="kind">{r.kind}</span> {r.detail}
              </li>
            ))}
          </ul>
        </div>
      )}
      <FindingLists items={findings} />
      {d.origins.slice(0, MAX_DIFF_ORIGINS_SHOWN).map((o, i) => (
        <OriginSection key={o.origin} origin={o} lanes={view.lanes[i]} loaded={loaded} />
      ))}
      {d.origins.length > MAX_DIFF_ORIGINS_SHOWN && (
        <div className="muted" data-testid="diff-more-origins">
          … {d.origins.length - MAX_DIFF_ORIGINS_SHOWN} more origins, shortest last (all in `wirefall diff BEFORE AFTER`)
        </div>
      )}
    </div>
  );
}

function OriginSection({ origin, lanes, loaded }: { origin: DiffViewModel['diff']['origins'][number]; lanes: DiffLanes | undefined; loaded: Loaded }) {
  const rows = useMemo(() => diffOriginRows(origin), [origin]);
  const before = useMemo(() => sideLanes(loaded.before, lanes?.before ?? [], lanes?.beforeOmitted ?? 0), [loaded.before, lanes]);
  const after = useMemo(() => sideLanes(loaded.after, lanes?.after ?? [], lanes?.afterOmitted ?? 0), [loaded.after, lanes]);
  // One scale for both sides: the shorter capture's lanes end earlier.
  const scale = Math.max(before.span, after.span);
  return (
    <section className="diff-origin" data-testid="diff-origin" data-origin={origin.origin}>
      <h3>
        {origin.origin}
        {!origin.before && <span className="muted"> (AFTER only)</span>}
        {!origin.after && <span className="muted"> (BEFORE only)</span>}
      </h3>
      <div className="diff-lanes">
        <LaneColumn label="BEFORE" side={before} scale={scale} testid="diff-lanes-before" />
        <LaneColumn label="AFTER" side={after} scale={scale} testid="diff-lanes-after" />
      </div>
      <MetricTable rows={rows} testid="diff-origin-table" />
    </section>
  );
}

function LaneColumn({ label, side, scale, testid }: { label: string; side: DiffSideLanes; scale: number; testid: string }) {
  const dense = side.lanes.length > 60;
  return (
    <div className={`lane-col${dense ? ' dense' : ''}`} data-testid={testid} data-lanes={side.lanes.length}>
      <div className="lane-col-head">
        <strong>{label}</strong> <span className="muted">
          {side.lanes.length} connection{side.lanes.length === 1 ? '' : 's'}
          {side.omitted > 0 ? ` (+${side.omitted} not drawn)` : ''} · {formatMs(side.span)}
        </span>
      </div>
      <div className="lane-track-list">
        {side.lanes.map((l) => (
          <div key={l.id} className="diff-lane" title={l.title}>
            <span className="diff-life" style={{ left: `${lanePct(l.start, scale)}%`, width: `${Math.max(0.2, lanePct(l.end, scale) - lanePct(l.start, scale))}%` }} />
            {l.segments.map(([id, s, e], i) => (
              <span
                key={i}
                className={`diff-req${id !== 'request' && PHASE_STYLES[id].thin ? ' thin' : ''}`}
                style={{ left: `${lanePct(s, scale)}%`, width: `${Math.max(0.1, lanePct(e, scale) - lanePct(s, scale))}%`, ...(id !== 'request' ? { background: PHASE_STYLES[id].color } : {}) }}
              />
            ))}
          </div>
        ))}
      </div>
      <div className="lane-axis muted">
        <span>0</span>
        <span>{formatMs(scale)}</span>
      </div>
    </div>
  );
}

function MetricTable({ rows, testid }: { rows: DiffMetricRow[]; testid: string }) {
  return (
    <table className="diff-table" data-testid={testid}>
      <thead>
        <tr>
          <th />
          <th>BEFORE</th>
          <th>AFTER</th>
          <th>Change</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.key} data-metric={r.key}>
            <th scope="row">{r.label}</th>
            <td className="num" data-side="before">
              {r.before}
            </td>
            <td className="num" data-side="after">
              {r.after}
            </td>
            <td className={`num change ${r.verdict}`} data-side="change">
              {r.change}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const STATUS_LABEL: Record<FindingStatus, string> = { resolved: 'Resolved', new: 'New', unchanged: 'Unchanged' };

function FindingLists({ items }: { items: Record<FindingStatus, DiffFindingItem[]> }) {
  return (
    <div className="diff-findings">
      {(['resolved', 'new', 'unchanged'] as const).map((s) => (
        <div key={s} className={`diff-findings-col ${s}`} data-testid={`diff-findings-${s}`} data-count={items[s].length}>
          <h3>
            {STATUS_LABEL[s]} ({items[s].length})
          </h3>
          {items[s].length === 0 && <div className="muted">none</div>}
          {items[s].map((f) => (
            <div key={f.key} className={`finding sev-${f.severity}`} data-kind={f.kind} title={f.summary}>
              <span className={`sev sev-${f.severity}`}>{f.severity}</span>{' '}
              <span className="kind">
                {f.kind}
                {f.rules.length ? `/${f.rules.join(',')}` : ''}
              </span>{' '}
              {f.origin && <span className="muted">({f.origin})</span>} <span className="count">{f.count}</span>
              {f.cost && <span className="cost">{f.cost}</span>}
              <div className="summary">{f.summary}</div>
            </div>
          ))}
        </div>
      ))}
    </div>
  );
}
