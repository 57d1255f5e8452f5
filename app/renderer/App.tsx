import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { MODEL_HEAD_ROWS, type ApiEvent, type DocInfo, type HostInfo, type ViewModel, type WirefallApi } from '../../core/src/view/api.js';
import { Toolbar } from './components/Toolbar.js';
import { Overview } from './components/Overview.js';
import { Grid, type GridHandle } from './components/Grid.js';
import { Details, type Tab as DetailsTab } from './components/Details.js';
import { FindingsPanel } from './components/FindingsPanel.js';
import { Progress } from './components/Progress.js';
import { DirectoryList, OpenCaptureControls, useUpload } from './components/OpenCapture.js';
import { WhatIfPanel } from './components/WhatIfPanel.js';
import { DiffView } from './components/DiffView.js';
import { buildRows, DEFAULT_SORT, EMPTY_FILTER, facets, type Filter, type Sort } from './model/rows.js';
import { captureExtent, clampWindow, zoomWindow, type TimeWindow } from './model/timescale.js';
import { formatCount, formatMs } from './model/format.js';
import { copyText } from './clipboard.js';
import { globalKeyAction } from './model/keys.js';
import { evidenceTarget } from '../../core/src/view/evidence-nav.js';
import type { Evidence } from '../../core/src/model/types.js';

/** The moment an evidence click marks in the waterfall. */
export interface EvidenceMark {
  time: number;
  label: string;
}

export interface Highlight {
  finding: number | null;
  connections: Set<number>;
  requests: Set<number>;
}
const NO_HIGHLIGHT: Highlight = { finding: null, connections: new Set(), requests: new Set() };

export function App({ api }: { api: WirefallApi }) {
  const [host, setHost] = useState<HostInfo | null>(null);
  const [docs, setDocs] = useState<DocInfo[]>([]);
  const [active, setActive] = useState<string | null>(null);
  const [models, setModels] = useState<Record<string, ViewModel>>({});
  /** The model fetch under way per doc (a token: a fetch of an older analysis must not land). */
  const fetching = useRef(new Map<string, object>());
  const [error, setError] = useState<string | null>(null);
  const [toast, setToast] = useState<string | null>(null);
  const [dragOver, setDragOver] = useState(false);
  // `wirefall view BEFORE --compare AFTER`: the Diff tab (DiffView.tsx), open first.
  const [showDiff, setShowDiff] = useState(false);
  // Or any two open captures, compared from the tab bar ("Compare with…"), in either host.
  const [comparePair, setComparePair] = useState<{ before: string; after: string } | null>(null);

  useEffect(() => {
    void api.host().then((h) => {
      setHost(h);
      if (h.compare) setShowDiff(true);
    });
    void api.listDocs().then((d) => {
      setDocs(d);
      setActive((a) => a ?? d[0]?.id ?? null);
    });
    return api.subscribe((ev: ApiEvent) => {
      if (ev.type === 'docs') {
        setDocs(ev.docs);
        setActive((a) => (a && ev.docs.some((d) => d.id === a) ? a : (ev.docs[ev.docs.length - 1]?.id ?? null)));
      } else if (ev.type === 'progress') {
        setDocs((ds) => ds.map((d) => (d.id === ev.doc ? { ...d, progress: ev.progress } : d)));
      } else if (ev.type === 'state') {
        setDocs((ds) => ds.map((d) => (d.id === ev.doc.id ? ev.doc : d)));
        // Analysed again (a key log was added): the old model goes, the new one is fetched when ready.
        if (ev.doc.state === 'analyzing') {
          fetching.current.delete(ev.doc.id);
          setModels((ms) => {
            if (!ms[ev.doc.id]) return ms;
            const rest = { ...ms };
            delete rest[ev.doc.id];
            return rest;
          });
        }
      } else if (ev.type === 'command') {
        window.dispatchEvent(new CustomEvent('wirefall-command', { detail: ev.command }));
      }
    });
  }, [api]);

  const activeDoc = docs.find((d) => d.id === active) ?? null;
  const ready = activeDoc?.state === 'ready';
  useEffect(() => {
    if (!activeDoc || !ready || models[activeDoc.id] || fetching.current.has(activeDoc.id)) return;
    const id = activeDoc.id;
    const token = {};
    fetching.current.set(id, token);
    const current = () => fetching.current.get(id) === token;
    // The whole model can be hundreds of MB of JSON: where the host offers it, the first rows come
    // first and are drawn while the rest loads (`loading`), as DevTools fills its table.
    api.getModelHead?.(id, MODEL_HEAD_ROWS).then(
      (m) => current() && setModels((ms) => (ms[id] ? ms : { ...ms, [id]: m })),
      () => {}, // the whole model's answer reports any failure
    );
    api.getModel(id).then(
      (m) => {
        if (!current()) return;
        fetching.current.delete(id);
        setModels((ms) => ({ ...ms, [id]: m }));
      },
      (e: Error) => {
        if (!current()) return;
        fetching.current.delete(id);
        setError(e.message);
      },
    );
  }, [api, activeDoc, ready, models]);

  const flash = useCallback((msg: string) => {
    setToast(msg);
    setTimeout(() => setToast((t) => (t === msg ? null : t)), 2500);
  }, []);

  const keyLogInput = useRef<HTMLInputElement>(null);
  /** A TLS key log read in the page and added to the open capture, which is then analysed again. */
  const addKeyLogFiles = useCallback(
    async (files: File[]) => {
      if (!active) return;
      try {
        for (const f of files) await api.addKeyLog(active, await f.text());
        flash(`Key log added: analysing again with ${files.map((f) => f.name).join(', ')}`);
      } catch (err) {
        setError((err as Error).message);
      }
    },
    [api, active, flash],
  );

  // Browser mode: captures opened or dropped are sent to the view server (OpenCapture.tsx).
  const opened = useCallback((d: DocInfo) => setActive(d.id), []);
  const { upload, state: uploadState } = useUpload(api, opened, setError);

  const onDrop = useCallback(
    (e: React.DragEvent) => {
      e.preventDefault();
      setDragOver(false);
      const all = [...e.dataTransfer.files];
      // A dropped key log (not a capture file name) goes to the open capture, in both hosts.
      const keyLogs = all.filter((f) => !/\.(pcap|pcapng|cap)(\.gz)?$/i.test(f.name));
      if (keyLogs.length && active) void addKeyLogFiles(keyLogs);
      const files = all.filter((f) => !keyLogs.includes(f));
      if (files.length === 0) return;
      if (host?.kind === 'browser' && host.canUpload && api.upload) {
        upload(files);
        return;
      }
      const paths = files.map((f) => window.wirefallFiles?.pathForFile(f) ?? '').filter(Boolean);
      if (!host?.canOpenFiles || paths.length === 0) {
        flash('Drop a capture onto the desktop app; in browser mode run `wirefall view <capture>`');
        return;
      }
      api.openPaths(paths).catch((err: Error) => setError(err.message));
    },
    [api, host, flash, active, addKeyLogFiles, upload],
  );

  const model = activeDoc ? models[activeDoc.id] : undefined;
  const pair = comparePair ?? host?.compare ?? null;
  const diffShown = showDiff && pair !== null;
  return (
    <div
      className={`app${dragOver ? ' drag-over' : ''}`}
      onDragOver={(e) => {
        e.preventDefault();
        setDragOver(true);
      }}
      onDragLeave={() => setDragOver(false)}
      onDrop={onDrop}
    >
      <header className="tabs" role="tablist">
        <span className="brand">wirefall</span>
        {docs.map((d) => (
          <div key={d.id} role="tab" aria-selected={d.id === active && !diffShown} className={`tab${d.id === active && !diffShown ? ' active' : ''}`} onClick={() => {
              setActive(d.id);
              setShowDiff(false);
            }} title={d.path ?? d.title}>
            <span className={`tab-state ${d.state}${tabMark(models[d.id])}`} data-testid="tab-state" title={tabTitle(d, models[d.id])} />
            {d.title}
            {(host?.kind === 'electron' || host?.canUpload) && (
              <button
                className="tab-close"
                aria-label={`Close ${d.title}`}
                onClick={(e) => {
                  e.stopPropagation();
                  void api.closeDoc(d.id);
                }}
              >
                ×
              </button>
            )}
          </div>
        ))}
        {api.diff && active && docs.length >= 2 && (
          <select
            className="tab-compare"
            data-testid="compare-with"
            aria-label="Compare this capture with another"
            value=""
            onChange={(e) => {
              const after = e.target.value;
              if (!after || !active) return;
              setComparePair({ before: active, after });
              setShowDiff(true);
            }}
          >
            <option value="">Compare with…</option>
            {docs
              .filter((d) => d.id !== active && d.state === 'ready')
              .map((d) => (
                <option key={d.id} value={d.id}>
                  {d.title}
                </option>
              ))}
          </select>
        )}
        {pair && (
          <div role="tab" aria-selected={diffShown} className={`tab${diffShown ? ' active' : ''}`} data-testid="diff-tab" onClick={() => setShowDiff(true)} title="The two captures side by side (wirefall diff)">
            Diff
          </div>
        )}
        <OpenCaptureControls api={api} host={host} upload={upload} state={uploadState} onOpened={opened} onError={setError} />
        {host?.canOpenFiles && (
          <button className="tab-open" onClick={() => void api.openDialog().catch((e: Error) => setError(e.message))}>
            Open…
          </button>
        )}
        {activeDoc?.path && (
          <button className="tab-open" data-testid="open-keylog" title="Open a TLS key log (SSLKEYLOGFILE) to decrypt HTTPS in this capture; you can also drop it here" onClick={() => keyLogInput.current?.click()}>
            Key log…
          </button>
        )}
        <input
          ref={keyLogInput}
          type="file"
          data-testid="keylog-input"
          style={{ display: 'none' }}
          onChange={(e) => {
            const files = [...(e.target.files ?? [])];
            e.target.value = '';
            if (files.length) void addKeyLogFiles(files);
          }}
        />
      </header>
      {error && (
        <div className="error-bar" role="alert">
          {error} <button onClick={() => setError(null)}>Dismiss</button>
        </div>
      )}
      {diffShown && pair && <DiffView key={`${pair.before}/${pair.after}`} api={api} pair={pair} docs={docs} />}
      {!diffShown && !activeDoc && host?.directory && <DirectoryList api={api} host={host} onOpened={opened} onError={setError} />}
      {!diffShown && !activeDoc && !host?.directory && <div className="empty">{host?.canOpenFiles ? 'Open a capture (File › Open, or drop a .pcap here).' : host?.canUpload ? 'Open a capture (Open…, or drop a .pcap here).' : 'No capture.'}</div>}
      {!diffShown && activeDoc && activeDoc.state !== 'ready' && <Progress doc={activeDoc} onCancel={() => void api.cancel(activeDoc.id)} />}
      {!diffShown && activeDoc && ready && !model && <div className="empty">Loading…</div>}
      {!diffShown && activeDoc && model && <DocView key={activeDoc.id} api={api} model={model} flash={flash} host={host} />}
      {toast && <div className="toast">{toast}</div>}
    </div>
  );
}

/** The tab dot's mark: a damaged capture, else one with counted anomalies (view/counter-docs.ts). */
function tabMark(m: ViewModel | undefined): string {
  if (m?.capture.error) return ' damaged';
  return m?.warnings?.length ? ' warnings' : '';
}

function tabTitle(d: DocInfo, m: ViewModel | undefined): string {
  if (m?.capture.error) return `damaged capture: ${m.capture.error.message}`;
  const w = m?.warnings ?? [];
  if (w.length) return `${w.length} counted anomal${w.length === 1 ? 'y' : 'ies'}: ${w.map((x) => x.name).join(', ')}`;
  return d.state;
}

/** Counted anomalies, one line each with what it means and what to do; dismissible (per tab). */
function WarningsBanner({ warnings, onDismiss }: { warnings: NonNullable<ViewModel['warnings']>; onDismiss(): void }) {
  return (
    <div className="warnings-banner" role="status" data-testid="warnings-banner">
      <div className="warnings-head">
        <strong>
          {warnings.length} counted anomal{warnings.length === 1 ? 'y' : 'ies'}
        </strong>{' '}
        <span className="muted">— what is shown is right for what was read, but may be incomplete:</span>
        <button className="warnings-dismiss" aria-label="Dismiss" title="Dismiss" data-testid="warnings-dismiss" onClick={onDismiss}>
          ×
        </button>
      </div>
      <ul>
        {warnings.map((w) => (
          <li key={`${w.source}:${w.name}`} data-testid="warning" data-name={w.name} data-count={w.count}>
            <code>{w.name}</code> × {formatCount(w.count)}: {w.meaning}
            {w.connectionIds?.length ? ` (connection${w.connectionIds.length === 1 ? '' : 's'} ${w.connectionIds.join(', ')})` : ''}
            {w.action ? <span className="muted"> — {w.action}</span> : null}
          </li>
        ))}
      </ul>
    </div>
  );
}

function DocView({ api, model, flash, host }: { api: WirefallApi; model: ViewModel; flash: (m: string) => void; host: HostInfo | null }) {
  const [filter, setFilter] = useState<Filter>(EMPTY_FILTER);
  const [sort, setSort] = useState<Sort>(DEFAULT_SORT);
  const [group, setGroup] = useState(true);
  const [selected, setSelected] = useState<number | null>(null);
  const [selectedConn, setSelectedConn] = useState<number | null>(null);
  const [highlight, setHighlight] = useState<Highlight>(NO_HIGHLIGHT);
  const [mark, setMark] = useState<EvidenceMark | null>(null);
  const [openTab, setOpenTab] = useState<{ tab: DetailsTab; seq: number } | null>(null);
  const [showFindings, setShowFindings] = useState(model.findings.length > 0);
  const [warningsDismissed, setWarningsDismissed] = useState(false);
  const warnings = !warningsDismissed && model.warnings?.length ? model.warnings : null;
  const [showWhatIf, setShowWhatIf] = useState(false);
  const gridRef = useRef<GridHandle>(null);
  const filterRef = useRef<HTMLInputElement>(null);

  const extent = useMemo(
    () => captureExtent(model.capture.durationMs, model.connections.map((c) => c.close.time ?? c.lastTime)),
    [model],
  );
  const [win, setWin] = useState<TimeWindow>(extent);
  const setWindow = useCallback((w: TimeWindow) => setWin(clampWindow(w, extent)), [extent]);
  const rows = useMemo(() => buildRows(model, filter, sort, group), [model, filter, sort, group]);
  const fac = useMemo(() => facets(model), [model]);
  const shownRequests = useMemo(() => rows.reduce((n, r) => n + (r.kind === 'request' ? 1 : 0), 0), [rows]);

  const copyCurl = useCallback(
    (id: number) => {
      api.curl(model.doc, id).then(
        (s) => copyText(s).then(() => flash('Copied as cURL')),
        (e: Error) => flash(e.message),
      );
    },
    [api, model.doc, flash],
  );

  useEffect(() => {
    const onCmd = (e: Event) => {
      const c = (e as CustomEvent<string>).detail;
      if (c === 'focus-filter') filterRef.current?.focus();
      else if (c === 'toggle-group') setGroup((g) => !g);
      else if (c === 'toggle-findings') setShowFindings((s) => !s);
      else if (c === 'copy-curl' && selected !== null) copyCurl(selected);
      else if (c === 'zoom-in') setWin((w) => zoomWindow(w, (w.t0 + w.t1) / 2, 0.5, extent));
      else if (c === 'zoom-out') setWin((w) => zoomWindow(w, (w.t0 + w.t1) / 2, 2, extent));
      else if (c === 'zoom-reset') setWin(extent);
      else if (c === 'export-har' || c === 'export-report')
        void api.exportDoc(model.doc, c === 'export-har' ? 'har' : 'report').then(
          (r) => r.saved && flash(`Exported ${r.location ?? ''}`),
          (e: Error) => flash(e.message),
        );
    };
    window.addEventListener('wirefall-command', onCmd);
    return () => window.removeEventListener('wirefall-command', onCmd);
  }, [selected, copyCurl, extent, api, model.doc, flash]);

  // Keys (model/keys.ts): Esc, / and Ctrl/Cmd+F, + − 0 (and Ctrl/Cmd+ them in browser mode).
  const escape = useRef<() => void>(() => {});
  escape.current = () => {
    if (mark !== null) setMark(null);
    else if (selected !== null || selectedConn !== null) {
      setSelected(null);
      setSelectedConn(null);
    } else if (highlight.finding !== null) setHighlight(NO_HIGHLIGHT);
  };
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      const editable = !!t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable);
      const a = globalKeyAction(e, { editable, electron: host?.kind === 'electron' });
      if (a === null) return;
      e.preventDefault();
      if (a === 'escape') escape.current();
      else if (a === 'leave-filter') {
        t?.blur();
        document.querySelector<HTMLElement>('[data-testid=grid-body]')?.focus();
      } else if (a === 'focus-filter') {
        filterRef.current?.focus();
        filterRef.current?.select();
      } else if (a === 'zoom-in') setWin((w) => zoomWindow(w, (w.t0 + w.t1) / 2, 0.5, extent));
      else if (a === 'zoom-out') setWin((w) => zoomWindow(w, (w.t0 + w.t1) / 2, 2, extent));
      else setWin(extent);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [host, extent]);

  const selectFinding = useCallback(
    (i: number | null) => {
      if (i === null || highlight.finding === i) {
        setHighlight(NO_HIGHLIGHT);
        return;
      }
      const f = model.findings[i];
      if (!f) return;
      const reqs = new Set(f.requestIds);
      const conns = new Set(f.connectionIds);
      for (const r of f.requestIds) {
        const row = model.requests[r];
        if (row) conns.add(row.connectionId);
      }
      setHighlight({ finding: i, connections: conns, requests: reqs });
      const first = f.requestIds[0];
      if (first !== undefined) {
        setSelected(first);
        setSelectedConn(null);
        gridRef.current?.scrollToRequest(first);
      } else if (f.connectionIds[0] !== undefined) {
        setSelected(null);
        setSelectedConn(f.connectionIds[0]);
        gridRef.current?.scrollToConnection(f.connectionIds[0]);
      }
    },
    [model, highlight.finding],
  );

  /** An evidence line (or a finding's request) clicked: select its request, zoom to the moment, mark it. */
  const goToEvidence = useCallback(
    (i: number, ev: Evidence | null, requestId?: number) => {
      const f = model.findings[i];
      if (!f) return;
      const t = evidenceTarget(model, requestId !== undefined ? { ...f, requestIds: [requestId] } : f, ev, extent);
      const conns = new Set(f.connectionIds);
      for (const r of f.requestIds) if (model.requests[r]) conns.add(model.requests[r]!.connectionId);
      setHighlight({ finding: i, connections: conns, requests: new Set(f.requestIds) });
      setWindow(t.window);
      setMark({ time: t.time, label: ev ? `${ev.packet !== null ? `#${ev.packet} ` : ''}${ev.what}` : (model.requests[t.requestId ?? -1]?.name ?? f.summary) });
      if (t.requestId !== null) {
        setSelected(t.requestId);
        setSelectedConn(null);
        gridRef.current?.scrollToRequest(t.requestId);
      } else if (t.connectionId !== null) {
        setSelected(null);
        setSelectedConn(t.connectionId);
        gridRef.current?.scrollToConnection(t.connectionId);
      }
    },
    [model, extent, setWindow],
  );

  const selectedRow = selected !== null ? (model.requests.find((r) => r.id === selected) ?? null) : null;
  const detailConn = selectedRow ? selectedRow.connectionId : selectedConn;

  return (
    <div className={`doc${model.capture.error || warnings ? ' with-damage' : ''}${showFindings ? ' with-findings' : ''}${selectedRow || selectedConn !== null ? ' with-details' : ''}`}>
      <Toolbar
        filter={filter}
        setFilter={setFilter}
        facets={fac}
        group={group}
        setGroup={setGroup}
        filterRef={filterRef}
        onZoom={(f) => (f === 0 ? setWin(extent) : setWin((w) => zoomWindow(w, (w.t0 + w.t1) / 2, f, extent)))}
        showFindings={showFindings}
        setShowFindings={setShowFindings}
        findingsCount={model.findings.length}
        showWhatIf={showWhatIf}
        setShowWhatIf={model.whatIf ? setShowWhatIf : undefined}
        onExport={(kind) =>
          void api.exportDoc(model.doc, kind).then(
            (r) => r.saved && flash(`Exported ${r.location ?? ''}`),
            (e: Error) => flash(e.message),
          )
        }
        exportInMenu={host?.kind === 'electron'}
      />
      {(model.capture.error || warnings) && (
        <div className="banners">
          {model.capture.error && (
            <div className="damage-banner" role="alert" data-testid="damage-banner">
              Damaged capture ({model.capture.error.code}): {model.capture.error.message}.{' '}
              <span className="muted">Everything read before the damage is shown; exchanges cut off by it may look unanswered or incomplete.</span>
            </div>
          )}
          {warnings && <WarningsBanner warnings={warnings} onDismiss={() => setWarningsDismissed(true)} />}
        </div>
      )}
      <Overview model={model} extent={extent} win={win} setWindow={setWindow} highlight={highlight} />
      <div className="main">
        <Grid
          ref={gridRef}
          rows={rows}
          model={model}
          win={win}
          extent={extent}
          setWindow={setWindow}
          sort={sort}
          setSort={setSort}
          selected={selected}
          selectedConn={selectedConn}
          onSelect={(id) => {
            setSelected(id);
            setSelectedConn(null);
          }}
          onSelectConn={(id) => {
            setSelected(null);
            setSelectedConn(id);
          }}
          highlight={highlight}
          mark={mark}
          onShowFindings={(id) => {
            setSelected(id);
            setSelectedConn(null);
            setOpenTab((o) => ({ tab: 'findings', seq: (o?.seq ?? 0) + 1 }));
          }}
          onCopyCurl={copyCurl}
          compact={selectedRow !== null || selectedConn !== null}
        />
        {(selectedRow || detailConn !== null) && (
          <Details
            api={api}
            model={model}
            row={selectedRow}
            connId={detailConn}
            onClose={() => {
              setSelected(null);
              setSelectedConn(null);
            }}
            onCopyCurl={copyCurl}
            onSelectFinding={selectFinding}
            onEvidence={goToEvidence}
            openTab={openTab}
          />
        )}
      </div>
      {showFindings && <FindingsPanel model={model} active={highlight.finding} onSelect={selectFinding} onEvidence={goToEvidence} />}
      {showWhatIf && <WhatIfPanel whatIf={model.whatIf} onClose={() => setShowWhatIf(false)} />}
      <footer className="status-bar">
        <span data-testid="status-requests">
          {shownRequests === model.requests.length ? `${formatCount(model.requests.length)} requests` : `${formatCount(shownRequests)} / ${formatCount(model.requests.length)} requests`}
        </span>
        {model.loading && (
          <span data-testid="rows-loading" className="muted">
            loading the other {formatCount(model.loading.requests - model.requests.length)} requests…
          </span>
        )}
        <span data-testid="status-connections">
          {formatCount(model.connections.length)} connection{model.connections.length === 1 ? '' : 's'}
        </span>
        <span>
          {formatCount(model.findings.length)} finding{model.findings.length === 1 ? '' : 's'}
        </span>
        <span>
          {formatCount(model.capture.packets)} packets · {formatMs(model.capture.durationMs)}
        </span>
        <span className="grow" />
        <span className="muted">
          window {formatMs(win.t0)} – {formatMs(win.t1)}
        </span>
      </footer>
    </div>
  );
}
