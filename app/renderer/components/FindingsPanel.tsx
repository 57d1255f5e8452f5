import { useLayoutEffect, useMemo, useRef } from 'react';
import { Splitter, usePersistentSize } from './Splitter.js';
import { clampSize, MIN_FINDINGS_H } from '../model/layout.js';
import type { ViewModel } from '../../../core/src/view/api.js';
import type { Evidence, Finding, Severity } from '../../../core/src/model/types.js';
import { combinedCost, groupFindings, type FindingGroup } from '../../../core/src/view/finding-groups.js';
import { formatMs } from '../model/format.js';

const SEV_ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** What a total means: overlapping cases are not added up (core/src/view/finding-groups.ts). */
function costTitle(c: { costMs: number; costSumMs: number; coveredMs: number }, n: number): string {
  return n === 1
    ? `cost of this case: ${formatMs(c.costSumMs)}`
    : `Total without double counting: the smaller of the sum of the ${n} cases' costs (${formatMs(c.costSumMs)}) and the time covered by at least one of them (union of their time ranges, ${formatMs(c.coveredMs)}). Overlapping cases are counted once.`;
}

/**
 * Findings by kind; within a kind, one card per kind + rule + connection set with a count, the
 * worst case, the advice once and the cases inside. Clicking a case (or a card, for its worst case)
 * highlights its connections and requests.
 */
/** Go to a finding's evidence line (or, with `requestId`, one of its requests): App.goToEvidence. */
export type OnEvidence = (finding: number, ev: Evidence | null, requestId?: number) => void;

export function FindingsPanel({ model, active, onSelect, onEvidence }: { model: ViewModel; active: number | null; onSelect(i: number): void; onEvidence: OnEvidence }) {
  const kinds = useMemo(() => {
    const m = new Map<string, FindingGroup[]>();
    for (const g of groupFindings(model.findings)) {
      const l = m.get(g.kind);
      if (l) l.push(g);
      else m.set(g.kind, [g]);
    }
    const worst = (l: FindingGroup[]) => Math.min(...l.map((g) => SEV_ORDER[g.severity]));
    const count = (l: FindingGroup[]) => l.reduce((n, g) => n + g.findings.length, 0);
    return [...m.entries()]
      .map(([kind, groups]) => ({ kind, groups, count: count(groups), cost: combinedCost(groups.flatMap((g) => g.findings.map((i) => model.findings[i]!))) }))
      .sort((a, b) => worst(a.groups) - worst(b.groups) || b.count - a.count);
  }, [model]);
  // Its height, dragged at its top edge (kept across sessions): the page's grid row follows --findings-h.
  const ref = useRef<HTMLElement>(null);
  const height = usePersistentSize('wirefall.findingsHeight');
  useLayoutEffect(() => {
    const doc = ref.current?.parentElement;
    if (!doc) return;
    if (height.size === null) doc.style.removeProperty('--findings-h');
    else doc.style.setProperty('--findings-h', `${height.size}px`);
    return () => {
      doc.style.removeProperty('--findings-h');
    };
  }, [height.size]);
  return (
    <section className="findings" aria-label="Findings" data-testid="findings" ref={ref}>
      <Splitter
        axis="y"
        label="Drag to resize the findings panel"
        testId="findings-splitter"
        onMove={(d) => height.drag(() => ref.current?.getBoundingClientRect().height ?? 150, d, (s, dd) => clampSize(s, -dd, MIN_FINDINGS_H, window.innerHeight * 0.7))}
        onEnd={height.end}
      />
      {kinds.length === 0 && <div className="empty">No findings.</div>}
      {kinds.map(({ kind, groups, count, cost }) => (
        <div key={kind} className="finding-group" data-kind={kind}>
          <h3>
            {kind} <span className="muted">×{count}</span>
            {cost.costMs > 0 && (
              <span className="cost" data-testid="kind-cost" data-cost-ms={cost.costMs} title={costTitle(cost, count)}>
                ≈{formatMs(cost.costMs)} total
              </span>
            )}
          </h3>
          {groups.map((g) => (g.findings.length === 1 ? <Case key={g.key} i={g.findings[0]!} f={model.findings[g.findings[0]!]!} active={active} onSelect={onSelect} onEvidence={onEvidence} withAdvice model={model} /> : <GroupCard key={g.key} g={g} model={model} active={active} onSelect={onSelect} onEvidence={onEvidence} />))}
        </div>
      ))}
    </section>
  );
}

/** Requests listed as links under a selected finding, at most. */
const MAX_REQUEST_LINKS = 30;
/** Evidence lines listed under a selected finding, at most. */
const MAX_EVIDENCE_LINES = 40;

/**
 * A finding's evidence as links (issue 15 item 2): each line selects the request it points at,
 * zooms the waterfall to the moment and marks it (core/src/view/evidence-nav.ts); so does each
 * request id. Shared by the Findings panel and the Details pane's Findings tab.
 */
export function EvidenceLinks({ i, f, model, onEvidence }: { i: number; f: Finding; model: ViewModel; onEvidence: OnEvidence }) {
  return (
    <div className="evidence-links" data-testid="evidence" onClick={(e) => e.stopPropagation()}>
      {f.evidence.length > 0 && (
        <ul className="evidence">
          {f.evidence.slice(0, MAX_EVIDENCE_LINES).map((e, j) => (
            <li key={j}>
              <button className="link" data-testid="evidence-line" data-evidence-index={j} title="Select the request, zoom to this moment and mark it" onClick={() => onEvidence(i, e)}>
                {e.packet !== null ? `#${e.packet} ` : ''}
                {e.time !== null ? `@${formatMs(e.time)} ` : ''}
                {e.what}
              </button>
            </li>
          ))}
          {f.evidence.length > MAX_EVIDENCE_LINES && <li className="muted">… {f.evidence.length - MAX_EVIDENCE_LINES} more</li>}
        </ul>
      )}
      {f.requestIds.length > 0 && (
        <div className="request-links">
          Requests:{' '}
          {f.requestIds.slice(0, MAX_REQUEST_LINKS).map((id) => (
            <button key={id} className="link" data-testid="evidence-request" data-request-id={id} title={model.requests[id]?.url} onClick={() => onEvidence(i, null, id)}>
              {model.requests[id]?.name ?? `#${id}`}
            </button>
          ))}
          {f.requestIds.length > MAX_REQUEST_LINKS && <span className="muted"> … {f.requestIds.length - MAX_REQUEST_LINKS} more</span>}
        </div>
      )}
    </div>
  );
}

function Case({ i, f, active, onSelect, onEvidence, withAdvice, model }: { i: number; f: Finding; active: number | null; onSelect(i: number): void; onEvidence: OnEvidence; withAdvice: boolean; model?: ViewModel }) {
  return (
    <div className={`finding sev-${f.severity}${active === i ? ' active' : ''}`} role="button" tabIndex={0} data-finding-index={i} onClick={() => onSelect(i)} onKeyDown={(e) => e.key === 'Enter' && onSelect(i)}>
      <span className={`sev sev-${f.severity}`}>{f.severity}</span>
      <span className="summary">{f.summary}</span>
      {f.costMs !== undefined && f.costMs > 0 && <span className="cost">{formatMs(f.costMs)}</span>}
      <span className="muted refs">
        {f.connectionIds.length} conn · {f.requestIds.length} req
      </span>
      {withAdvice && <div className="advice">{f.advice}</div>}
      {active === i && model && <EvidenceLinks i={i} f={f} model={model} onEvidence={onEvidence} />}
    </div>
  );
}

function GroupCard({ g, model, active, onSelect, onEvidence }: { g: FindingGroup; model: ViewModel; active: number | null; onSelect(i: number): void; onEvidence: OnEvidence }) {
  const worst = model.findings[g.worst]!;
  const n = g.findings.length;
  const conns = g.connectionIds.length === 0 ? '' : g.connectionIds.length <= 3 ? ` on connection${g.connectionIds.length === 1 ? '' : 's'} ${g.connectionIds.map((c) => `#${c}`).join(', ')}` : ` on ${g.connectionIds.length} connections`;
  return (
    <div className={`finding-card sev-${g.severity}`} data-testid="finding-card" data-count={n}>
      <div className={`finding card-head${g.findings.includes(active ?? -1) ? ' active' : ''}`} role="button" tabIndex={0} title="Select the worst case" onClick={() => onSelect(g.worst)} onKeyDown={(e) => e.key === 'Enter' && onSelect(g.worst)}>
        <span className={`sev sev-${g.severity}`}>{g.severity}</span>
        <span className="count" data-testid="finding-count">
          {n}×
        </span>
        <span className="summary">
          {g.rule ?? g.kind}
          {conns} — worst: {worst.summary}
        </span>
        {g.costMs > 0 && (
          <span className="cost" data-testid="group-cost" data-cost-ms={g.costMs} title={costTitle(g, n)}>
            ≈{formatMs(g.costMs)} total
          </span>
        )}
        <div className="advice">{worst.advice}</div>
      </div>
      <details className="cases" open={n <= 3 || (active !== null && g.findings.includes(active))}>
        <summary>{n} cases</summary>
        {g.findings.map((i) => (
          <Case key={i} i={i} f={model.findings[i]!} active={active} onSelect={onSelect} onEvidence={onEvidence} withAdvice={false} model={model} />
        ))}
      </details>
    </div>
  );
}
