/**
 * The request table with its waterfall column, like DevTools' Network panel. Rows are virtualised
 * (only the visible slice is in the DOM), so 100,000 rows scroll like 100. In "group by connection"
 * mode each connection is a lane row (lifetime, handshake, idle gaps, close marker) with its
 * requests beneath.
 */
import { type ReactElement, forwardRef, memo, useCallback, useEffect, useImperativeHandle, useLayoutEffect, useMemo, useRef, useState } from 'react';
import type { ConnectionRow, QuicLane, RequestRow, ViewModel } from '../../../core/src/view/api.js';
import { pushText, pushTip } from '../model/push.js';
import type { EvidenceMark, Highlight } from '../App.js';
import type { GridRow, Sort, SortKey } from '../model/rows.js';
import { laneLayout, labelWidth, panWindow, phaseBars, placeLaneLabels, spansPx, ticks, xOf, zoomWindow, type TimeWindow } from '../model/timescale.js';
import { PHASE_STYLES, STALL_STYLES } from '../model/phaseStyles.js';
import { formatBytes, formatMs } from '../model/format.js';
import { endpointText } from '../../../core/src/model/endpoint.js';
import { gridMove } from '../model/keys.js';
import { clampSize, columnWidths, MAX_COLUMN_W, MIN_COLUMN_W } from '../model/layout.js';
import { Splitter } from './Splitter.js';

export const ROW_H = 24;
/** Below this much room for the waterfall, only the compact columns are shown. */
const MIN_WATERFALL_W = 260;
const OVERSCAN = 8;
/** Keys that move the selection in the table (model/keys.ts gridMove). */
const NAV_KEYS = new Set(['ArrowDown', 'ArrowUp', 'Home', 'End', 'PageDown', 'PageUp']);

interface Col {
  key: SortKey;
  label: string;
  width: number;
  title?: string;
  align?: 'right';
  /** Kept when the details pane is open (DevTools collapses the table the same way). */
  compact?: boolean;
}
export const COLUMNS: Col[] = [
  { key: 'name', label: 'Name', width: 200, compact: true },
  { key: 'method', label: 'Method', width: 62 },
  { key: 'status', label: 'Status', width: 56, align: 'right', compact: true },
  { key: 'protocol', label: 'Protocol', width: 84, title: "The request's HTTP version, then the response's where it differs" },
  { key: 'remote', label: 'Remote address', width: 132 },
  { key: 'connection', label: 'Conn ID', width: 58, align: 'right', title: 'Connection ID (tcp.stream)', compact: true },
  { key: 'index', label: 'Index', width: 46, align: 'right', title: 'Index on connection (ᴾ = pipelined)', compact: true },
  { key: 'size', label: 'Size', width: 66, align: 'right' },
  { key: 'time', label: 'Time', width: 66, align: 'right', title: "Total duration, as the Timing tab's Total: queueing and connection setup included" },
];
/** localStorage key of the column widths the user dragged. */
const COLUMN_WIDTHS_KEY = 'wirefall.columnWidths';
const widthOf = (cols: Col[]) => cols.reduce((s, c) => s + c.width, 0);

export interface GridHandle {
  scrollToRequest(id: number): void;
  scrollToConnection(id: number): void;
}

interface Props {
  rows: GridRow[];
  model: ViewModel;
  win: TimeWindow;
  extent: TimeWindow;
  setWindow(w: TimeWindow): void;
  sort: Sort;
  setSort(s: Sort): void;
  selected: number | null;
  selectedConn: number | null;
  onSelect(id: number): void;
  onSelectConn(id: number): void;
  highlight: Highlight;
  /** The moment an evidence click marked (a vertical line across the waterfall). */
  mark?: EvidenceMark | null;
  /** The finding marker of a row clicked: show that request's findings. */
  onShowFindings?(id: number): void;
  onCopyCurl(id: number): void;
  /** Fewer columns, for when the details pane takes half the width. */
  compact: boolean;
}

export const Grid = forwardRef<GridHandle, Props>(function Grid(props, ref) {
  const { rows, win, extent, setWindow, sort, setSort, selected, selectedConn, highlight } = props;
  const bodyRef = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [size, setSize] = useState({ w: 1000, h: 400 });
  const [menu, setMenu] = useState<{ x: number; y: number; id: number } | null>(null);

  useLayoutEffect(() => {
    const el = bodyRef.current;
    if (!el) return;
    const measure = () => setSize({ w: el.clientWidth, h: el.clientHeight });
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  // Column widths the user dragged (kept across sessions, model/layout.ts).
  const [stored, setStored] = useState<Partial<Record<SortKey, number>>>(() => {
    try {
      return JSON.parse(localStorage.getItem(COLUMN_WIDTHS_KEY) ?? '{}') as Partial<Record<SortKey, number>>;
    } catch {
      return {};
    }
  });
  const allCols = useMemo(() => {
    const w = columnWidths(COLUMNS, stored);
    return COLUMNS.map((c) => ({ ...c, width: w[c.key] }));
  }, [stored]);
  const dragBase = useRef<number | null>(null);
  const resizeColumn = useCallback((key: SortKey, start: number, delta: number) => {
    dragBase.current ??= start;
    const width = clampSize(dragBase.current, delta, MIN_COLUMN_W, MAX_COLUMN_W);
    setStored((s) => ({ ...s, [key]: width }));
  }, []);
  const endResize = useCallback(() => {
    dragBase.current = null;
    setStored((s) => {
      try {
        localStorage.setItem(COLUMN_WIDTHS_KEY, JSON.stringify(s));
      } catch {
        // No storage: the widths last for this page.
      }
      return s;
    });
  }, []);
  // Narrow windows (or an open details pane) keep the compact columns, so the waterfall stays on screen.
  const cols = props.compact || size.w - widthOf(allCols) < MIN_WATERFALL_W ? allCols.filter((c) => c.compact) : allCols;
  const FIXED_W = widthOf(cols);
  const wfW = Math.max(120, size.w - FIXED_W - 8);
  const rowIndex = useMemo(() => {
    const req = new Map<number, number>();
    const conn = new Map<number, number>();
    rows.forEach((r, i) => (r.kind === 'request' ? req.set(r.req.id, i) : conn.set(r.conn.id, i)));
    return { req, conn };
  }, [rows]);

  const scrollToIndex = useCallback((i: number | undefined) => {
    const el = bodyRef.current;
    if (!el || i === undefined) return;
    const top = i * ROW_H;
    if (top < el.scrollTop || top + ROW_H > el.scrollTop + el.clientHeight) el.scrollTop = Math.max(0, top - el.clientHeight / 3);
  }, []);
  useImperativeHandle(ref, () => ({
    scrollToRequest: (id) => scrollToIndex(rowIndex.req.get(id)),
    scrollToConnection: (id) => scrollToIndex(rowIndex.conn.get(id)),
  }));

  // Keep the scroll position valid when the row count shrinks (filtering).
  useEffect(() => {
    const el = bodyRef.current;
    if (el && el.scrollTop > rows.length * ROW_H) el.scrollTop = 0;
  }, [rows.length]);

  const first = Math.max(0, Math.floor(scrollTop / ROW_H) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((scrollTop + size.h) / ROW_H) + OVERSCAN);

  const onWheel = useCallback(
    (e: WheelEvent) => {
      const rect = bodyRef.current?.getBoundingClientRect();
      if (!rect) return;
      const x = e.clientX - rect.left - FIXED_W;
      if ((e.ctrlKey || e.metaKey) && x >= 0) {
        e.preventDefault();
        const anchor = win.t0 + (x / wfW) * (win.t1 - win.t0);
        setWindow(zoomWindow(win, anchor, e.deltaY > 0 ? 1.25 : 0.8, extent));
      } else if (e.shiftKey || Math.abs(e.deltaX) > Math.abs(e.deltaY)) {
        const d = e.shiftKey ? e.deltaY : e.deltaX;
        setWindow(panWindow(win, (d / wfW) * (win.t1 - win.t0), extent));
      }
    },
    [win, wfW, extent, setWindow, FIXED_W],
  );
  // A native, non-passive listener: React's wheel handlers are passive and cannot stop the
  // browser's own Ctrl+wheel page zoom.
  const gridRef = useRef<HTMLDivElement>(null);
  const wheelRef = useRef(onWheel);
  wheelRef.current = onWheel;
  useEffect(() => {
    const el = gridRef.current;
    if (!el) return;
    const h = (e: WheelEvent) => wheelRef.current(e);
    el.addEventListener('wheel', h, { passive: false });
    return () => el.removeEventListener('wheel', h);
  }, []);

  // Drag on the ruler pans the time window.
  const drag = useRef<{ x: number; w: TimeWindow } | null>(null);
  const onRulerDown = (e: React.PointerEvent) => {
    drag.current = { x: e.clientX, w: win };
    (e.target as HTMLElement).setPointerCapture(e.pointerId);
  };
  const onRulerMove = (e: React.PointerEvent) => {
    const d = drag.current;
    if (!d) return;
    const dt = ((d.x - e.clientX) / wfW) * (d.w.t1 - d.w.t0);
    setWindow(panWindow(d.w, dt, extent));
  };

  // Esc closes an open context menu first (before the page's Esc clears the selection).
  useEffect(() => {
    if (!menu) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape') return;
      e.stopPropagation();
      e.preventDefault();
      setMenu(null);
    };
    document.addEventListener('keydown', onKey, true);
    return () => document.removeEventListener('keydown', onKey, true);
  }, [menu]);

  const tks = useMemo(() => ticks(win, wfW), [win, wfW]);
  const openMenu = useCallback((id: number, x: number, y: number) => setMenu({ x, y, id }), []);
  const visible: ReactElement[] = [];
  for (let i = first; i < last; i++) {
    const r = rows[i]!;
    if (r.kind === 'lane')
      visible.push(
        <LaneRow key={`c${r.conn.id}`} top={i * ROW_H} fixedW={FIXED_W} conn={r.conn} shown={r.shown} model={props.model} win={win} wfW={wfW} selected={selectedConn === r.conn.id} highlighted={highlight.connections.has(r.conn.id)} onSelect={props.onSelectConn} />,
      );
    else
      visible.push(
        <ReqRow
          key={`r${r.req.id}`}
          top={i * ROW_H}
          cols={cols}
          req={r.req}
          win={win}
          wfW={wfW}
          selected={selected === r.req.id}
          highlighted={highlight.requests.has(r.req.id)}
          onSelect={props.onSelect}
          onMenu={openMenu}
          onShowFindings={props.onShowFindings}
        />,
      );
  }

  const onKey = (e: React.KeyboardEvent) => {
    if (e.ctrlKey || e.metaKey || e.altKey || !NAV_KEYS.has(e.key)) return;
    e.preventDefault();
    const cur = selected !== null ? rowIndex.req.get(selected) : undefined;
    const to = gridMove(e.key, rows.length, cur, (i) => rows[i]!.kind === 'request', size.h / ROW_H - 1);
    const r = to !== undefined ? rows[to] : undefined;
    if (to === undefined || r?.kind !== 'request') return;
    props.onSelect(r.req.id);
    scrollToIndex(to);
  };

  return (
    <div className="grid" ref={gridRef} data-testid="grid">
      <div className="grid-header" role="row">
        {cols.map((c) => (
          <div
            key={c.key}
            role="columnheader"
            className={`cell hcell${c.align === 'right' ? ' right' : ''}${sort.key === c.key ? ' sorted' : ''}`}
            style={{ width: c.width }}
            title={c.title ?? `Sort by ${c.label}`}
            aria-sort={sort.key === c.key ? (sort.dir > 0 ? 'ascending' : 'descending') : 'none'}
            onClick={() => setSort({ key: c.key, dir: sort.key === c.key ? (-sort.dir as 1 | -1) : 1 })}
          >
            {c.label}
            {sort.key === c.key && <span className="sort-arrow">{sort.dir > 0 ? '▲' : '▼'}</span>}
          </div>
        ))}
        {/* Column resize handles, at each column's right edge (outside the headers, so their names stay the labels). */}
        {cols.map((c, i) => (
          <Splitter
            key={`rs-${c.key}`}
            axis="x"
            className="col-resize"
            testId="col-resize"
            dataKey={c.key}
            style={{ left: widthOf(cols.slice(0, i + 1)) - 3 }}
            label={`Drag to resize the ${c.label} column`}
            onMove={(d) => resizeColumn(c.key, c.width, d)}
            onEnd={endResize}
          />
        ))}
        <div
          className={`cell hcell ruler${sort.key === 'waterfall' ? ' sorted' : ''}`}
          style={{ width: wfW }}
          role="columnheader"
          title="Waterfall: drag to pan, Ctrl+wheel to zoom, click to sort by start time"
          onPointerDown={onRulerDown}
          onPointerMove={onRulerMove}
          onPointerUp={(e) => {
            const d = drag.current;
            drag.current = null;
            if (d && Math.abs(d.x - e.clientX) < 3) setSort({ key: 'waterfall', dir: sort.key === 'waterfall' ? (-sort.dir as 1 | -1) : 1 });
          }}
        >
          {tks.map((t) => {
            // The last label would run past the ruler's end: drawn to the left of its tick instead.
            const x = xOf(t, win, wfW);
            const end = x + labelWidth(formatMs(t)) > wfW;
            return (
              <span key={t} className={`tick${end ? ' end' : ''}`} data-testid="ruler-tick" style={{ left: x }}>
                {formatMs(t)}
              </span>
            );
          })}
        </div>
      </div>
      <div className="grid-body" ref={bodyRef} tabIndex={0} onKeyDown={onKey} onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)} data-testid="grid-body" role="grid" aria-rowcount={rows.length}>
        <div className="grid-spacer" style={{ height: rows.length * ROW_H }}>
          <div className="gridlines" style={{ left: FIXED_W, width: wfW }}>
            {tks.map((t) => (
              <span key={t} className="gridline" style={{ left: xOf(t, win, wfW) }} />
            ))}
          </div>
          {visible}
          {props.mark && props.mark.time >= win.t0 && props.mark.time <= win.t1 && (
            <span className="evidence-mark" data-testid="evidence-mark" data-time={props.mark.time} style={{ left: FIXED_W + xOf(props.mark.time, win, wfW) }} title={`${formatMs(props.mark.time)} ${props.mark.label}`}>
              <span className="evidence-mark-label">{formatMs(props.mark.time)}</span>
            </span>
          )}
        </div>
        {rows.length === 0 && <div className="empty">No requests match the filter.</div>}
      </div>
      {menu && (
        <div className="context-menu" style={{ left: menu.x, top: menu.y }} onMouseLeave={() => setMenu(null)} role="menu">
          <button
            role="menuitem"
            onClick={() => {
              props.onCopyCurl(menu.id);
              setMenu(null);
            }}
          >
            Copy as cURL
          </button>
          <button role="menuitem" onClick={() => setMenu(null)}>
            Cancel
          </button>
        </div>
      )}
    </div>
  );
});

function statusText(r: RequestRow): string {
  if (r.pushed?.outcome === 'cancelled') return '(canceled)';
  if (r.pushed?.outcome === 'unanswered') return '(not pushed)';
  if (r.status !== null) return String(r.status);
  return r.state === 'no-response' ? '(none)' : r.state === 'reset' ? '(reset)' : '(partial)';
}

function cellContent(key: SortKey, req: RequestRow) {
  switch (key) {
    case 'name':
      return (
        <>
          {req.findings.length > 0 && <span className="finding-dot" data-testid="finding-dot" title={`${req.findings.length} finding(s): click to show them`} />}
          {req.pushed && (
            <span
              className={`push-badge${req.pushed.outcome !== 'delivered' ? ' cancelled' : ''}`}
              data-testid="push-badge"
              data-outcome={req.pushed.outcome}
              title={`Server push${req.pushed.promisedBy !== null ? `, promised on stream ${req.pushed.promisedBy}` : ''}${req.pushed.text ? `, ${req.pushed.text}` : ''}`}
            >
              Push
            </span>
          )}
          {req.name}
        </>
      );
    case 'method':
      return req.method;
    case 'status':
      return statusText(req);
    case 'protocol':
      return req.protocol;
    case 'remote':
      return req.remote;
    case 'connection':
      return req.connectionId;
    case 'index':
      return `${req.index}${req.pipelined ? 'ᴾ' : ''}`;
    case 'size':
      return formatBytes(req.size);
    case 'time':
      return formatMs(req.durationMs);
    default:
      return null;
  }
}

function cellTitle(key: SortKey, req: RequestRow): string | undefined {
  if (key === 'name') return req.pushed ? `${req.url}\n${pushText(req.pushed)}` : req.url;
  if (key === 'status') return req.pushed?.text ?? (req.noResponse ? req.noResponse.text : req.statusText);
  if (key === 'protocol') return req.responseHttpVersion ? `request ${req.httpVersion}, response ${req.responseHttpVersion}` : req.httpVersion;
  if (key === 'index') return req.pipelined ? 'pipelined' : req.connectionReused ? 'connection reused' : 'new connection';
  return undefined;
}

/** Memoised: while scrolling only rows entering the viewport render. */
const ReqRow = memo(function ReqRow({ top, cols, req, win, wfW, selected, highlighted, onSelect, onMenu, onShowFindings }: { top: number; cols: Col[]; req: RequestRow; win: TimeWindow; wfW: number; selected: boolean; highlighted: boolean; onSelect(id: number): void; onMenu(id: number, x: number, y: number): void; onShowFindings?: ((id: number) => void) | undefined }) {
  const bars = phaseBars(req.phases, win, wfW);
  const err = req.status === null || req.status >= 400;
  const push = req.pushed && req.pushed.outcome !== 'delivered' ? req.pushed : null;
  return (
    <div
      className={`row req${selected ? ' selected' : ''}${highlighted ? ' highlighted' : ''}${err ? ' error' : ''}${push ? ' push-cancelled' : ''}`}
      style={{ top }}
      role="row"
      data-request-id={req.id}
      data-connection-id={req.connectionId}
      onClick={(e) => {
        // The finding marker opens the request's findings (Details › Findings).
        if (onShowFindings && (e.target as HTMLElement).classList.contains('finding-dot')) onShowFindings(req.id);
        else onSelect(req.id);
      }}
      onContextMenu={(e) => {
        e.preventDefault();
        onSelect(req.id);
        onMenu(req.id, e.clientX, e.clientY);
      }}
    >
      {cols.map((c) => (
        <div key={c.key} className={`cell${c.align === 'right' ? ' right' : ''}${c.key === 'name' ? ' name' : ''}${c.key === 'status' ? ' status' : ''}`} style={{ width: c.width }} title={cellTitle(c.key, req)}>
          {cellContent(c.key, req)}
        </div>
      ))}
      <div className="cell wf" style={{ width: wfW }} title={req.phases.map(([id, s, e]) => `${PHASE_STYLES[id].label}: ${formatMs(e - s)}`).join('\n') + (push ? `\n${pushTip(push)}` : req.noResponse ? `\n${req.noResponse.text}` : '')}>
        {bars.map((b, i) => {
          // The unanswered wait is the last phase (core adds it): drawn in the "no response" style,
          // or for a push promise never answered in the "cancelled push" style (drawn below).
          const hung = req.noResponse !== undefined && b.idx === req.phases.length - 1;
          if (hung && push) return null;
          return (
            <span
              key={i}
              className={`bar${PHASE_STYLES[b.id].thin ? ' thin' : ''}${hung ? ' no-response' : ''}`}
              data-phase={b.id}
              {...(hung ? { 'data-testid': 'no-response-bar', title: req.noResponse!.text } : {})}
              style={{ left: b.x, width: b.w, background: hung ? undefined : PHASE_STYLES[b.id].color }}
            />
          );
        })}
        {push && push.startTime !== undefined && push.endTime !== undefined && (
          // A promise cancelled or never answered: from the PUSH_PROMISE to the reset (or the close).
          <span
            className="bar push-cancelled"
            data-testid="push-cancelled-bar"
            data-outcome={push.outcome}
            title={pushTip(push)}
            style={{ left: xOf(push.startTime, win, wfW), width: Math.max(3, xOf(push.endTime, win, wfW) - xOf(push.startTime, win, wfW)) }}
          />
        )}
        <PacketMarks req={req} win={win} wfW={wfW} />
      </div>
    </div>
  );
});

/** Inside the bar, what the packets say (core/src/view/marks.ts): data arrivals and stall segments, each with its cause on hover. */
function PacketMarks({ req, win, wfW }: { req: RequestRow; win: TimeWindow; wfW: number }) {
  const shared = req.arrivals?.shared === true;
  return (
    <>
      {req.stalls &&
        spansPx(req.stalls, (st) => [st.startTime, st.endTime], win, wfW, 2).map(({ item: st, x, w }, i) => (
          <span
            key={`s${i}`}
            className={`stall stall-${st.kind}`}
            data-testid="stall"
            data-kind={st.kind}
            style={{ left: x, width: w, borderColor: STALL_STYLES[st.kind].color, color: STALL_STYLES[st.kind].color }}
            title={`${STALL_STYLES[st.kind].label} (${formatMs(st.endTime - st.startTime)})\n${st.text}`}
          />
        ))}
      {req.arrivals &&
        spansPx(req.arrivals.runs, (a) => [a[0], a[1]], win, wfW).map(({ item: a, x, w }, i) => (
          <span
            key={`d${i}`}
            className={`arrival${shared ? ' shared' : ''}`}
            data-testid="arrival"
            data-packets={a[2]}
            style={{ left: x, width: w }}
            title={`Data arrived ${formatMs(a[0])}${a[1] > a[0] ? ` – ${formatMs(a[1])}` : ''}: ${a[2]} ${req.arrivals!.unit === 'frames' ? `DATA frame${a[2] === 1 ? '' : 's'}` : `packet${a[2] === 1 ? '' : 's'}`}, ${formatBytes(a[3])}${shared ? '\non the connection: HTTP/2 streams share it, so this is every stream\'s data' : ''}`}
          />
        ))}
    </>
  );
}

const LaneRow = memo(function LaneRow({ top, fixedW, conn, shown, model, win, wfW, selected, highlighted, onSelect }: { top: number; fixedW: number; conn: ConnectionRow; shown: number; model: ViewModel; win: TimeWindow; wfW: number; selected: boolean; highlighted: boolean; onSelect(id: number): void }) {
  const segs = laneLayout(conn, win, wfW);
  const labels = placeLaneLabels(segs, wfW);
  // Request activity on the lane (request start → end); overlapping spans show pipelining / h2 concurrency.
  const spans: { x: number; w: number; id: number; hung?: string | undefined }[] = [];
  for (const rid of conn.requestIds) {
    const r = model.requests[rid];
    const end = r?.noResponse ? r.noResponse.endTime : r?.endTime;
    if (!r || end === undefined || end < win.t0 || r.startTime > win.t1) continue;
    const x = xOf(r.startTime, win, wfW);
    spans.push({ x: Math.max(-2, x), w: Math.max(2, Math.min(wfW + 2, xOf(end, win, wfW)) - Math.max(-2, x)), id: rid, hung: r.noResponse?.text });
    if (spans.length > 2000) break;
  }
  const q = conn.quic;
  const fixedLabel = `#${conn.id} ${endpointText(conn.client)} → ${endpointText(conn.server)} · ${conn.protocol}${q ? ` · ${quicLabel(q)}` : ''}${conn.tlsShort ? ` · ${conn.tlsShort}` : ''} · ${conn.requestCount} req${conn.requestCount === 1 ? '' : 's'}${shown !== conn.requestCount ? ` (${shown} shown)` : ''}`;
  return (
    <div className={`row lane${selected ? ' selected' : ''}${highlighted ? ' highlighted' : ''}${q ? ' quic' : ''}`} style={{ top }} role="row" data-lane-id={conn.id} data-transport={conn.transport ?? 'tcp'} onClick={() => onSelect(conn.id)}>
      <div className="cell lane-label" style={{ width: fixedW }} title={q ? `${fixedLabel}\n${quicTitle(q)}` : fixedLabel} data-testid="lane-label">
        <span className="lane-icon">⇄</span>
        {fixedLabel}
        {conn.findings.length > 0 && <span className="finding-dot" title={`${conn.findings.length} finding(s)`} />}
      </div>
      <div className="cell wf lane-wf" style={{ width: wfW }}>
        {segs
          .filter((s) => s.kind !== 'close' && s.kind !== 'idle')
          .map((s, i) => (
            <span key={`s${i}`} className={`seg seg-${s.kind}`} style={{ left: s.x, width: s.w }} title={s.label} />
          ))}
        {spans.map((s) => (
          <span key={`a${s.id}`} className={`seg seg-activity${s.hung ? ' seg-no-response' : ''}`} style={{ left: s.x, width: s.w }} {...(s.hung ? { title: s.hung, 'data-testid': 'lane-no-response' } : {})} />
        ))}
        {segs
          .filter((s) => s.kind === 'idle')
          .map((s, i) => (
            <span key={`i${i}`} className="seg seg-idle" data-testid="idle-gap" style={{ left: s.x, width: s.w }} title={s.label}>
              {labels.idle.has(s) && <span className="seg-label">{s.label}</span>}
            </span>
          ))}
        {conn.late &&
          spansPx(conn.late.marks, (l) => [l[0], l[1]], win, wfW, 0).map(({ item: [s, e, n, side, p], x, w }, i) => (
            <span
              key={`l${i}`}
              className={`late-mark late-${side}`}
              data-testid="late-mark"
              data-count={n}
              data-time={s}
              style={{ left: w < 7 ? x - (7 - w) / 2 : x, width: Math.max(7, w) }}
              title={`${n} retransmitted or out-of-order segment${n === 1 ? '' : 's'} ${side} → ${side === 'client' ? 'server' : 'client'} at ${formatMs(s)}${e > s ? ` – ${formatMs(e)}` : ''} (first #${p})`}
            />
          ))}
        {q &&
          q.migrations
            .filter((m) => m.time >= win.t0 && m.time <= win.t1)
            .map((m, i) => (
              <span
                key={`m${i}`}
                className="migration-mark"
                data-testid="migration-mark"
                data-time={m.time}
                style={{ left: xOf(m.time, win, wfW) }}
                title={`Client address changed ${m.from} → ${m.to} at ${formatMs(m.time)} (packet #${m.packet}): connection migration or NAT rebinding (RFC 9000 §9); the connection IDs kept it one connection`}
              >
                ⇆
              </span>
            ))}
        {segs
          .filter((s) => s.kind === 'close')
          .map((s, i) => {
            const side = labels.close.get(s) ?? 'none';
            return (
              <span key={`x${i}`} className={`close-marker by-${s.by ?? 'none'} how-${s.how}`} data-testid="close-marker" style={{ left: s.x }} title={s.detail ? `${s.label}: ${s.detail}` : s.label}>
                {side !== 'none' && <span className={`close-label${side === 'left' ? ' left' : ''}`}>{s.label}</span>}
              </span>
            );
          })}
      </div>
    </div>
  );
});

/** A QUIC lane's label part: version and the client's original Destination Connection ID (shortened). */
export function quicLabel(q: QuicLane): string {
  const cid = q.originalDcid.length > 8 ? `${q.originalDcid.slice(0, 8)}…` : q.originalDcid;
  return `${q.version} · DCID ${cid || '(empty)'}${q.migrations.length ? ` · ${q.migrations.length} migration${q.migrations.length > 1 ? 's' : ''}` : ''}`;
}

/** Every connection ID, for the lane's tooltip. */
export function quicTitle(q: QuicLane): string {
  return [
    `QUIC ${q.version}${q.retry ? ', after a Retry' : ''}; original DCID ${q.originalDcid}`,
    `client's connection IDs: ${q.connectionIds.client.join(', ') || '—'}`,
    `server's connection IDs: ${q.connectionIds.server.join(', ') || '—'}`,
    `ended: ${q.end}${q.closeError ? ` (${q.closeError})` : ''}`,
  ].join('\n');
}
