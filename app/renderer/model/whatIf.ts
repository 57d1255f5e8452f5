/**
 * The What-if panel's view model: core's `report.whatIf` (core/src/whatif/whatif.ts) laid out for
 * display, never recomputed. Policies are read generically from the data, so a policy core adds
 * shows up without a UI change: every entry of `whatIf` that looks like an estimate becomes a card,
 * labelled from POLICY_LABELS when the UI knows the policy id and by the id otherwise; scalar fields
 * the UI does not know are listed as they are ("extras").
 */
import type { WhatIf, WhatIfEstimate, WhatIfOrigin } from '../../../core/src/model/types.js';
import { formatMs } from './format.js';

/** Display labels of policy ids (ids are core's; labels live only in the UI). */
export const POLICY_LABELS: Readonly<Record<string, string>> = {
  reuse: 'With connection reuse',
  h2: 'With one HTTP/2 connection per HTTP/1.x origin',
  'keepalive-timeout': 'With the server’s idle timeout raised',
};

/** Fields every estimate has (shown in the card's summary); others are extras. */
const KNOWN_FIELDS: ReadonlySet<string> = new Set([
  'policy',
  'measuredMs',
  'estimatedMs',
  'savedMs',
  'savedPct',
  'confidence',
  'requests',
  'connections',
  'estimatedConnections',
  'handshakesAvoided',
  'assumptions',
  'perOrigin',
  'originsOmitted',
]);

/** Origins shown per policy; the rest are counted. */
export const MAX_WHATIF_ROWS = 50;

export interface WhatIfOriginRow {
  key: string;
  client: string;
  origin: string;
  protocol: string;
  requests: number;
  connections: string;
  handshakes: string;
  measured: string;
  estimated: string;
  saved: string;
  /** Bar lengths, 0–1 of the policy's longest measured origin time. */
  measuredFrac: number;
  estimatedFrac: number;
  o: WhatIfOrigin;
}

export interface WhatIfCard {
  /** The key in `report.whatIf` ('reuse', 'h2', 'keepaliveTimeout', …). */
  key: string;
  /** The policy id (`estimate.policy`), e.g. 'keepalive-timeout'. */
  policy: string;
  label: string;
  estimate: WhatIfEstimate;
  measured: string;
  estimated: string;
  saved: string;
  connections: string;
  handshakes: string;
  confidence: string;
  /** Nothing covered: the policy did not apply to this capture. */
  empty: boolean;
  extras: [string, string][];
  origins: WhatIfOriginRow[];
  /** Origins not shown: beyond MAX_WHATIF_ROWS plus core's `originsOmitted`. */
  moreOrigins: number;
}

function isEstimate(v: unknown): v is WhatIfEstimate {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Partial<WhatIfEstimate>;
  return typeof e.policy === 'string' && typeof e.measuredMs === 'number' && typeof e.estimatedMs === 'number' && Array.isArray(e.perOrigin);
}

/** "1.23 s (−4.2 s, 65.4%)"-style saving text. */
export function savedText(savedMs: number, measuredMs: number): string {
  if (!(savedMs > 0)) return 'no saving';
  const pct = measuredMs > 0 ? (100 * savedMs) / measuredMs : 0;
  return `${formatMs(savedMs)} (${pct.toFixed(1)}%)`;
}

/** "9 TCP + 9 TLS (369 ms)" or "none". */
export function handshakesText(h: { tcp: number; tls: number; ms: number }): string {
  if (!h.tcp && !h.tls) return 'none';
  return `${h.tcp} TCP${h.tls ? ` + ${h.tls} TLS` : ''} (${formatMs(h.ms)})`;
}

/** A field name as words: "serverIdleClosesAvoided" → "server idle closes avoided". */
export function fieldLabel(name: string): string {
  const unit = /Ms$/.test(name) ? ' (ms)' : /[a-z]S$/.test(name) ? ' (s)' : '';
  const base = unit ? name.replace(/(Ms|S)$/, '') : name;
  return base.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase() + unit;
}

function extraValue(name: string, v: unknown): string | null {
  if (v === null) return 'none';
  if (typeof v === 'number') return /Ms$/.test(name) ? formatMs(v) : /[a-z]S$/.test(name) ? `${v} s` : String(v);
  if (typeof v === 'string' || typeof v === 'boolean') return String(v);
  return null;
}

export function whatIfCards(w: WhatIf | undefined, maxRows = MAX_WHATIF_ROWS): WhatIfCard[] {
  if (!w) return [];
  const cards: WhatIfCard[] = [];
  for (const [key, v] of Object.entries(w as unknown as Record<string, unknown>)) {
    if (!isEstimate(v)) continue;
    const e = v;
    const extras: [string, string][] = [];
    for (const [name, x] of Object.entries(e as unknown as Record<string, unknown>)) {
      if (KNOWN_FIELDS.has(name)) continue;
      const s = extraValue(name, x);
      if (s !== null) extras.push([fieldLabel(name), s]);
    }
    const maxMeasured = e.perOrigin.reduce((m, o) => Math.max(m, o.measuredMs), 0);
    const frac = (x: number) => (maxMeasured > 0 ? Math.max(0, Math.min(1, x / maxMeasured)) : 0);
    const origins = e.perOrigin.slice(0, maxRows).map(
      (o, i): WhatIfOriginRow => ({
        key: `${i}:${o.client}:${o.origin}`,
        client: o.client,
        origin: o.origin,
        protocol: o.protocol,
        requests: o.requests,
        connections: `${o.connections} → ${o.estimatedConnections}`,
        handshakes: handshakesText(o.handshakesAvoided),
        measured: formatMs(o.measuredMs),
        estimated: formatMs(o.estimatedMs),
        saved: savedText(o.savedMs, o.measuredMs),
        measuredFrac: frac(o.measuredMs),
        estimatedFrac: frac(o.estimatedMs),
        o,
      }),
    );
    cards.push({
      key,
      policy: e.policy,
      label: POLICY_LABELS[e.policy] ?? e.policy,
      estimate: e,
      measured: formatMs(e.measuredMs),
      estimated: formatMs(e.estimatedMs),
      saved: savedText(e.savedMs, e.measuredMs),
      connections: `${e.connections} → ${e.estimatedConnections}`,
      handshakes: handshakesText(e.handshakesAvoided),
      confidence: `${Math.round(e.confidence * 100)}%`,
      empty: e.requests === 0,
      extras,
      origins,
      moreOrigins: Math.max(0, e.perOrigin.length - maxRows) + (e.originsOmitted ?? 0),
    });
  }
  return cards;
}
