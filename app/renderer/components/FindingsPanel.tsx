import { useMemo } from 'react';
import type { ViewModel } from '../../../core/src/view/api.js';
import type { Severity } from '../../../core/src/model/types.js';
import { formatMs } from '../model/format.js';

const SEV_ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

/** Findings grouped by kind; clicking one highlights its connections and requests. */
export function FindingsPanel({ model, active, onSelect }: { model: ViewModel; active: number | null; onSelect(i: number): void }) {
  const groups = useMemo(() => {
    const m = new Map<string, number[]>();
    model.findings.forEach((f, i) => {
      const l = m.get(f.kind);
      if (l) l.push(i);
      else m.set(f.kind, [i]);
    });
    const worst = (l: number[]) => Math.min(...l.map((i) => SEV_ORDER[model.findings[i]!.severity]));
    return [...m.entries()].sort((a, b) => worst(a[1]) - worst(b[1]) || b[1].length - a[1].length);
  }, [model]);
  return (
    <section className="findings" aria-label="Findings" data-testid="findings">
      {groups.length === 0 && <div className="empty">No findings.</div>}
      {groups.map(([kind, list]) => {
        const cost = list.reduce((s, i) => s + Math.max(0, model.findings[i]!.costMs ?? 0), 0);
        return (
          <div key={kind} className="finding-group">
            <h3>
              {kind} <span className="muted">×{list.length}</span>
              {cost > 0 && <span className="cost">≈{formatMs(cost)} total</span>}
            </h3>
            {list.map((i) => {
              const f = model.findings[i]!;
              return (
                <div key={i} className={`finding sev-${f.severity}${active === i ? ' active' : ''}`} role="button" tabIndex={0} data-finding-index={i} onClick={() => onSelect(i)} onKeyDown={(e) => e.key === 'Enter' && onSelect(i)}>
                  <span className={`sev sev-${f.severity}`}>{f.severity}</span>
                  <span className="summary">{f.summary}</span>
                  {f.costMs !== undefined && f.costMs > 0 && <span className="cost">{formatMs(f.costMs)}</span>}
                  <span className="muted refs">
                    {f.connectionIds.length} conn · {f.requestIds.length} req
                  </span>
                  <div className="advice">{f.advice}</div>
                </div>
              );
            })}
          </div>
        );
      })}
    </section>
  );
}
