/** Filtering, sorting and grouping of request rows (pure; the grid renders what this returns). */
import type { ConnectionRow, RequestRow, ViewModel } from '../../../core/src/view/api.js';

export type StatusClass = '1xx' | '2xx' | '3xx' | '4xx' | '5xx' | 'none';
export const STATUS_CLASSES: StatusClass[] = ['1xx', '2xx', '3xx', '4xx', '5xx', 'none'];

export interface Filter {
  /** Substring of URL, method, status, remote address; `conn:N` selects a connection. Space-separated terms are ANDed; `-term` negates. */
  text: string;
  /** Empty = all methods. */
  methods: string[];
  /** Empty = all status classes. */
  statusClasses: StatusClass[];
  /** Empty = all protocols (httpVersion values). */
  protocols: string[];
  hasFinding: boolean;
}

export const EMPTY_FILTER: Filter = { text: '', methods: [], statusClasses: [], protocols: [], hasFinding: false };

export function isFilterActive(f: Filter): boolean {
  return f.text.trim() !== '' || f.methods.length > 0 || f.statusClasses.length > 0 || f.protocols.length > 0 || f.hasFinding;
}

export function statusClass(status: number | null): StatusClass {
  if (status === null || status < 100 || status >= 600) return 'none';
  return `${Math.floor(status / 100)}xx` as StatusClass;
}

type TermTest = (r: RequestRow) => boolean;

/** What some keywords need beyond the row: the kind of finding i (`has-finding:KIND`). */
export interface FilterContext {
  findingKind(i: number): string | undefined;
}

/** "50k" → 51200, "1.5M" → 1572864, "300" → 300 (DevTools' larger-than: units); NaN when malformed. */
export function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([kmg]?)b?$/i.exec(s);
  if (!m) return Number.NaN;
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Number(m[1]) * mult;
}

/** `domain:` value, DevTools-style: exact host, or `*.example.com` for it and its subdomains; the port ignored. */
function domainTest(pattern: string): TermTest {
  const p = pattern.toLowerCase();
  const hostOf = (r: RequestRow) => r.host.toLowerCase().replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  if (p.startsWith('*.')) {
    const base = p.slice(2);
    return (r) => {
      const h = hostOf(r);
      return h === base || h.endsWith(`.${base}`);
    };
  }
  if (p.includes('*')) {
    const re = new RegExp(`^${p.split('*').map((x) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
    return (r) => re.test(hostOf(r));
  }
  return (r) => hostOf(r) === p;
}

/**
 * One filter term. Keywords (DevTools' where the model can answer them): `conn:N`, `status:N`,
 * `method:M`, `domain:HOST` (`*.example.com`), `larger-than:SIZE` (response bytes on the wire;
 * `k`/`M` suffixes), `mime-type:TYPE` (prefix match, `image/`), `is:running` (not complete: no
 * response, cut off, reset), `has-finding:KIND` (or `has-finding:` for any); anything else is a
 * substring of URL, method, status or remote address.
 */
function compileTerm(term: string, ctx?: FilterContext): TermTest {
  const neg = term.startsWith('-') && term.length > 1;
  const t = (neg ? term.slice(1) : term).toLowerCase();
  let test: TermTest;
  const conn = /^conn(?:ection)?:(\d+)$/.exec(t);
  const status = /^status(?:-code)?:(\d+)$/.exec(t);
  const method = /^method:(\S+)$/.exec(t);
  const kw = /^(domain|larger-than|mime-type|is|has-finding):(.*)$/.exec(t);
  if (kw) {
    const v = kw[2]!;
    switch (kw[1]) {
      case 'domain':
        test = domainTest(v);
        break;
      case 'larger-than': {
        const n = parseSize(v);
        test = Number.isNaN(n) ? () => false : (r) => r.size > n;
        break;
      }
      case 'mime-type':
        test = (r) => r.mimeType !== undefined && r.mimeType.startsWith(v);
        break;
      case 'is':
        test = v === 'running' ? (r) => r.state !== 'complete' : () => false;
        break;
      default:
        test = v === '' ? (r) => r.findings.length > 0 : (r) => r.findings.some((i) => ctx?.findingKind(i)?.toLowerCase() === v);
    }
  } else if (conn) {
    const id = Number(conn[1]);
    test = (r) => r.connectionId === id;
  } else if (status) {
    const s = Number(status[1]);
    test = (r) => r.status === s;
  } else if (method) {
    const m = method[1]!.toUpperCase();
    test = (r) => r.method === m;
  } else {
    test = (r) =>
      r.url.toLowerCase().includes(t) ||
      r.method.toLowerCase() === t ||
      (r.status !== null && String(r.status) === t) ||
      r.remote.includes(t);
  }
  return neg ? (r) => !test(r) : test;
}

/** A predicate for a filter; compile once, run on every row. */
export function compileFilter(f: Filter, ctx?: FilterContext): (r: RequestRow) => boolean {
  const terms = f.text.trim().split(/\s+/).filter(Boolean).map((t) => compileTerm(t, ctx));
  const methods = new Set(f.methods);
  const classes = new Set(f.statusClasses);
  const protocols = new Set(f.protocols);
  return (r) => {
    if (methods.size && !methods.has(r.method)) return false;
    if (classes.size && !classes.has(statusClass(r.status))) return false;
    if (protocols.size && !protocols.has(r.httpVersion)) return false;
    if (f.hasFinding && r.findings.length === 0) return false;
    for (const t of terms) if (!t(r)) return false;
    return true;
  };
}

export function filterRequests(rows: readonly RequestRow[], f: Filter, ctx?: FilterContext): RequestRow[] {
  if (!isFilterActive(f)) return rows.slice();
  const p = compileFilter(f, ctx);
  return rows.filter(p);
}

export type SortKey = 'name' | 'method' | 'status' | 'protocol' | 'remote' | 'connection' | 'index' | 'size' | 'time' | 'waterfall';
export interface Sort {
  key: SortKey;
  dir: 1 | -1;
}
export const DEFAULT_SORT: Sort = { key: 'waterfall', dir: 1 };

function cmpNum(a: number, b: number): number {
  return a - b;
}

/** Stable comparator; ties break on start time then id so the order is total and deterministic. */
export function comparator(s: Sort): (a: RequestRow, b: RequestRow) => number {
  const key: (a: RequestRow, b: RequestRow) => number = (() => {
    switch (s.key) {
      case 'name':
        return (a: RequestRow, b: RequestRow) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
      case 'method':
        return (a: RequestRow, b: RequestRow) => (a.method < b.method ? -1 : a.method > b.method ? 1 : 0);
      case 'status':
        return (a: RequestRow, b: RequestRow) => cmpNum(a.status ?? -1, b.status ?? -1);
      case 'protocol':
        return (a: RequestRow, b: RequestRow) => (a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : 0);
      case 'remote':
        return (a: RequestRow, b: RequestRow) => (a.remote < b.remote ? -1 : a.remote > b.remote ? 1 : 0);
      case 'connection':
        return (a: RequestRow, b: RequestRow) => cmpNum(a.connectionId, b.connectionId) || cmpNum(a.index, b.index);
      case 'index':
        return (a: RequestRow, b: RequestRow) => cmpNum(a.index, b.index);
      case 'size':
        return (a: RequestRow, b: RequestRow) => cmpNum(a.size, b.size);
      case 'time':
        return (a: RequestRow, b: RequestRow) => cmpNum(a.durationMs, b.durationMs);
      case 'waterfall':
        return (a: RequestRow, b: RequestRow) => cmpNum(a.startTime, b.startTime);
    }
  })();
  return (a, b) => s.dir * key(a, b) || cmpNum(a.startTime, b.startTime) || cmpNum(a.id, b.id);
}

export function sortRequests(rows: RequestRow[], s: Sort): RequestRow[] {
  return rows.sort(comparator(s));
}

export type GridRow = { kind: 'lane'; conn: ConnectionRow; shown: number } | { kind: 'request'; req: RequestRow };

/**
 * The grid's rows. Flat: filtered requests, sorted. Grouped by connection: one lane per connection
 * (in order of first packet), its filtered requests beneath it sorted within the lane; lanes
 * without a matching request are hidden while a filter is active.
 */
export function buildRows(model: ViewModel, f: Filter, s: Sort, group: boolean): GridRow[] {
  const reqs = sortRequests(filterRequests(model.requests, f, { findingKind: (i) => model.findings[i]?.kind }), s);
  if (!group) return reqs.map((req) => ({ kind: 'request', req }));
  const byConn = new Map<number, RequestRow[]>();
  for (const r of reqs) {
    let list = byConn.get(r.connectionId);
    if (!list) byConn.set(r.connectionId, (list = []));
    list.push(r);
  }
  const active = isFilterActive(f);
  const conns = model.connections.slice().sort((a, b) => a.firstTime - b.firstTime || a.id - b.id);
  const out: GridRow[] = [];
  for (const c of conns) {
    const list = byConn.get(c.id) ?? [];
    if (active && list.length === 0) continue;
    out.push({ kind: 'lane', conn: c, shown: list.length });
    for (const req of list) out.push({ kind: 'request', req });
  }
  return out;
}

/** Methods and protocols present, for the filter bar's choices. */
export function facets(model: ViewModel): { methods: string[]; protocols: string[] } {
  const m = new Set<string>();
  const p = new Set<string>();
  for (const r of model.requests) {
    m.add(r.method);
    p.add(r.httpVersion);
  }
  return { methods: [...m].sort(), protocols: [...p].sort() };
}
