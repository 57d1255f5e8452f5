import { useMemo } from 'react';
import type { WhatIf } from '../../../core/src/model/types.js';
import { whatIfCards, type WhatIfCard } from '../model/whatIf.js';
import './compare.css';

/**
 * What-if: per policy in core's `report.whatIf` (every one it has, read generically by
 * model/whatIf.ts), the capture's measured end-to-end time against the estimate, connections
 * before → after, handshakes avoided, the confidence and the assumptions; per client and origin a
 * bar pair (measured, estimated). Estimates, not measurements: the panel says so.
 */
export function WhatIfPanel({ whatIf, onClose }: { whatIf: WhatIf | undefined; onClose?: () => void }) {
  const cards = useMemo(() => whatIfCards(whatIf), [whatIf]);
  return (
    <section className="whatif" aria-label="What-if" data-testid="whatif">
      <header className="whatif-head">
        <h2>What if</h2>
        <span className="muted">replayed on this capture’s own timings: estimates, not measurements</span>
        <span className="grow" />
        <span className="whatif-legend muted">
          <span className="whatif-bar measured" /> measured <span className="whatif-bar estimated" /> estimated
        </span>
        {onClose && (
          <button className="icon" aria-label="Close what-if" onClick={onClose}>
            ×
          </button>
        )}
      </header>
      {cards.length === 0 && <div className="empty">No what-if estimate in this report (made by an older wirefall, or no HTTP requests).</div>}
      {cards.map((c) => (
        <PolicyCard key={c.key} c={c} />
      ))}
    </section>
  );
}

/** [label, value, test id, tooltip] of the card's summary line; extras (fields the UI does not know) last. */
function summaryItems(c: WhatIfCard): [string, string, string | undefined, string | undefined][] {
  return [
    ['Measured', c.measured, 'whatif-measured', 'End-to-end client time as captured: first SYN to last response byte of the requests covered'],
    ['Estimated', c.estimated, 'whatif-estimated', undefined],
    ['Saved', c.saved, 'whatif-saved', undefined],
    ['Connections', c.connections, 'whatif-connections', 'Measured → estimated'],
    ['Handshakes avoided', c.handshakes, 'whatif-handshakes', undefined],
    ['Confidence', c.confidence, 'whatif-confidence', 'Share of the covered requests placed from measured times (the rest kept as measured)'],
    ...c.extras.map(([k, v]): [string, string, undefined, undefined] => [k, v, undefined, undefined]),
  ];
}

function PolicyCard({ c }: { c: WhatIfCard }) {
  return (
    <div className="whatif-policy" data-policy={c.policy} data-testid="whatif-policy">
      <h3>
        {c.label} <span className="muted policy-id">{c.policy}</span>
      </h3>
      {c.empty ? (
        <div className="muted">Nothing this policy changes in this capture (no requests it covers).</div>
      ) : (
        <>
          <dl className="whatif-summary">
            {summaryItems(c).map(([label, value, testid, title]) => (
              <div key={label} className="kv" title={title}>
                <dt>{label}</dt>
                <dd data-testid={testid}>{value}</dd>
              </div>
            ))}
          </dl>
          {c.origins.length > 0 && (
            <table className="whatif-origins">
              <thead>
                <tr>
                  <th>Client → origin</th>
                  <th>Protocol</th>
                  <th>Requests</th>
                  <th>Connections</th>
                  <th>Handshakes avoided</th>
                  <th>Measured</th>
                  <th>Estimated</th>
                  <th>Saved</th>
                  <th className="bars-col">Measured / estimated</th>
                </tr>
              </thead>
              <tbody>
                {c.origins.map((o) => (
                  <tr key={o.key} data-testid="whatif-origin">
                    <td className="origin" title={`${o.client} → ${o.origin}`}>
                      <span className="muted">{o.client} →</span> {o.origin}
                    </td>
                    <td>{o.protocol}</td>
                    <td className="num">{o.requests}</td>
                    <td className="num">{o.connections}</td>
                    <td className="num">{o.handshakes}</td>
                    <td className="num">{o.measured}</td>
                    <td className="num">{o.estimated}</td>
                    <td className="num">{o.saved}</td>
                    <td className="bars-col">
                      <div className="bar-pair" title={`measured ${o.measured}, estimated ${o.estimated}`}>
                        <span className="whatif-bar measured" style={{ width: `${o.measuredFrac * 100}%` }} />
                        <span className="whatif-bar estimated" style={{ width: `${o.estimatedFrac * 100}%` }} />
                      </div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
          {c.moreOrigins > 0 && <div className="muted">… {c.moreOrigins} more origins (all in the JSON report)</div>}
          <details className="whatif-assumptions">
            <summary>Assumptions ({c.estimate.assumptions.length})</summary>
            <ul>
              {c.estimate.assumptions.map((a, i) => (
                <li key={i}>{a}</li>
              ))}
            </ul>
          </details>
        </>
      )}
    </div>
  );
}
