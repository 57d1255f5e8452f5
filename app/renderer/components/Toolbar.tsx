import type { RefObject } from 'react';
import type { ExportKind } from '../../../core/src/view/api.js';
import { STATUS_CLASSES, type Filter, type StatusClass } from '../model/rows.js';

function toggle<T>(list: T[], v: T): T[] {
  return list.includes(v) ? list.filter((x) => x !== v) : [...list, v];
}

export function Toolbar(props: {
  filter: Filter;
  setFilter(f: Filter): void;
  facets: { methods: string[]; protocols: string[] };
  group: boolean;
  setGroup(g: boolean): void;
  filterRef: RefObject<HTMLInputElement | null>;
  onZoom(factor: number): void;
  showFindings: boolean;
  setShowFindings(s: boolean): void;
  findingsCount: number;
  /** The What-if panel (WhatIfPanel.tsx); the button is shown when set. */
  showWhatIf?: boolean;
  setShowWhatIf?(s: boolean): void;
  onExport(kind: ExportKind): void;
  exportInMenu: boolean;
}) {
  const { filter, setFilter } = props;
  return (
    <div className="toolbar" role="toolbar">
      <input
        ref={props.filterRef}
        className="filter-text"
        type="search"
        placeholder="Filter (text, conn:3, status:404, -term)  /"
        title={'Filter requests (/ or Ctrl+F); Esc returns to the table.\nKeywords: domain:*.example.com  larger-than:50k  mime-type:image/  is:running  has-finding:KIND  conn:N  status:404  method:POST  -term'}
        aria-label="Filter"
        value={filter.text}
        onChange={(e) => setFilter({ ...filter, text: e.target.value })}
      />
      <div className="chips" aria-label="Methods">
        {props.facets.methods.map((m) => (
          <button key={m} className={`chip${filter.methods.includes(m) ? ' on' : ''}`} aria-pressed={filter.methods.includes(m)} onClick={() => setFilter({ ...filter, methods: toggle(filter.methods, m) })}>
            {m}
          </button>
        ))}
      </div>
      <div className="chips" aria-label="Status">
        {STATUS_CLASSES.map((s: StatusClass) => (
          <button key={s} className={`chip${filter.statusClasses.includes(s) ? ' on' : ''}`} aria-pressed={filter.statusClasses.includes(s)} onClick={() => setFilter({ ...filter, statusClasses: toggle(filter.statusClasses, s) })}>
            {s === 'none' ? 'no status' : s}
          </button>
        ))}
      </div>
      <div className="chips" aria-label="Protocols">
        {props.facets.protocols.map((p) => (
          <button key={p} className={`chip${filter.protocols.includes(p) ? ' on' : ''}`} aria-pressed={filter.protocols.includes(p)} onClick={() => setFilter({ ...filter, protocols: toggle(filter.protocols, p) })}>
            {p}
          </button>
        ))}
      </div>
      <label className="check">
        <input type="checkbox" checked={filter.hasFinding} onChange={(e) => setFilter({ ...filter, hasFinding: e.target.checked })} />
        Has finding
      </label>
      <span className="sep" />
      <label className="check">
        <input type="checkbox" checked={props.group} onChange={(e) => props.setGroup(e.target.checked)} />
        Group by connection
      </label>
      <span className="sep" />
      <button className="icon" title="Zoom in (+)" onClick={() => props.onZoom(0.5)}>
        +
      </button>
      <button className="icon" title="Zoom out (−)" onClick={() => props.onZoom(2)}>
        −
      </button>
      <button className="icon" title="Whole capture (0)" onClick={() => props.onZoom(0)}>
        ⤢
      </button>
      {/* Kept together at the right end; on a narrow window the toolbar wraps and they move to the next line. */}
      <span className="toolbar-end">
        <button className={`chip${props.showFindings ? ' on' : ''}`} data-testid="toggle-findings" onClick={() => props.setShowFindings(!props.showFindings)} aria-pressed={props.showFindings}>
          Findings ({props.findingsCount})
        </button>
        {props.setShowWhatIf && (
          <button className={`chip${props.showWhatIf ? ' on' : ''}`} data-testid="toggle-whatif" title="What if connections had been reused (estimates from this capture's timings)" onClick={() => props.setShowWhatIf!(!props.showWhatIf)} aria-pressed={props.showWhatIf}>
            What-if
          </button>
        )}
        {!props.exportInMenu && (
          <>
            <button data-testid="export-har" onClick={() => props.onExport('har')}>
              Export HAR
            </button>
            <button data-testid="export-json" onClick={() => props.onExport('report')}>
              Export JSON
            </button>
          </>
        )}
      </span>
    </div>
  );
}
