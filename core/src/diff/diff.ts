/**
 * `wirefall diff BEFORE AFTER` (issue 16, part 2): two Reports of the same client work side by
 * side, per origin — the proof, after a fix, that it did what the what-if estimate said. A pure
 * function of the two Reports; the CLI (cli/diff.ts) only reads and prints. Shape:
 * core/schema/diff.schema.json.
 *
 * Origins. A connection's origin is the name it was addressed by and its port: the TLS server
 * name (SNI) over TLS, else the Host of its first request over cleartext, else the server address
 * (`a.example:443`, `10.0.0.2:8080`, `[2001:db8::1]:443`). Matching by name rather than address
 * lets the same origin compare across captures whose DNS answered differently; `servers` lists the
 * addresses seen. Every client of an origin counts (one row per origin, not per client). TCP and
 * QUIC connections both count; a TLS connection without keys counts with its handshake but shows
 * no requests.
 *
 * Per origin and side:
 *   connections, requests, requestsPerConnection (requests / connections; 0 without connections)
 *   handshakes      connections whose opening was captured (TCP SYN, QUIC client Initial)
 *   handshakeMs     their TCP + TLS handshake time as measured (detect/util's handshakeCost, as
 *                   missed-reuse and the what-if estimate price it)
 *   tls             TLS handshakes seen, how many resumed a session, how many offered to
 *   protocol        the connections' application protocols, '+'-joined when several
 *   durationMs      end-to-end client time, as the what-if estimate measures it: first need (the
 *                   SYN of a connection that carried a request, or the first request byte when the
 *                   SYN was not captured) to the last response byte (the last request byte for a
 *                   request without a response); without visible requests, first SYN to the last
 *                   data packet of the origin's connections
 *   phases          per DevTools phase id (model/phases.ts): how many requests have it, p50, p95
 *                   (nearest rank) of its duration; a request whose connection was reused has no
 *                   `connecting`/`ssl`
 *   findings        findings attributed to the origin (through their first connection)
 *
 * Findings are matched by kind and origin: resolved (BEFORE only), new (AFTER only), unchanged
 * (both; the count and cost may differ). A rule that changes within a kind (missed-reuse's
 * idle-connection-unused → client-no-pool) is the same problem, unchanged.
 *
 * Regressions (`--fail-on-regression` picks among these kinds; all are always listed):
 *   connections-per-request  an origin with requests on both sides opened more connections per
 *                            request after than before (exact ratio; origins on one side only do
 *                            not count)
 *   new-findings             a finding kind appeared for an origin that did not have it before
 *   handshake-time           the total handshake time (all origins) grew by more than
 *                            REGRESSION_TOLERANCE (10%) and 1 ms: handshakes jitter by a few
 *                            percent from run to run, so an equal number of them is not a regression
 *   duration                 the capture's end-to-end time grew by more than REGRESSION_TOLERANCE
 *
 * Prediction: BEFORE's what-if estimate (whatif/whatif.ts) of the policy its findings point at
 * (`predictionPolicy`: `keepalive-timeout` when its missed reuse is by idle timeout, else `reuse`)
 * against AFTER's measured end-to-end time and connections, both as the what-if measures them.
 *
 * Where it can be wrong: the two captures are compared as given — different request lists, a
 * capture that missed the start of a connection (no handshake seen), or a capture point near the
 * server (handshakes under-count the client's round trip) make the columns less comparable; the
 * diff counts what each capture shows and does not align requests one by one.
 *
 * Cost: O(n log n) in the requests of both reports (one sort per phase and origin).
 */
import type { Connection, Finding, PhaseId, Report, Request, Severity } from '../model/types.js';
import { phases, PHASE_IDS } from '../model/phases.js';
import { endpointText } from '../model/endpoint.js';
import { fmtMs, handshakeCost, hostOf, sniOf } from '../detect/util.js';

/** Growth (fraction) of handshake time or end-to-end time that is taken as noise, not a regression. */
export const REGRESSION_TOLERANCE = 0.1;
/** Absolute slack (ms) under which a handshake-time or duration growth is never a regression. */
export const REGRESSION_SLACK_MS = 1;

export const REGRESSION_KINDS = ['connections-per-request', 'new-findings', 'handshake-time', 'duration'] as const;
export type RegressionKind = (typeof REGRESSION_KINDS)[number];

export interface PhaseStats {
  /** Requests that have this phase. */
  count: number;
  p50: number;
  p95: number;
}

export interface DiffOriginSide {
  /** Server addresses (ip:port) of the origin's connections. */
  servers: string[];
  connections: number;
  requests: number;
  requestsPerConnection: number;
  handshakes: number;
  handshakeMs: number;
  tls: { handshakes: number; resumed: number; resumptionOffered: number } | null;
  protocol: string;
  durationMs: number;
  phases: Partial<Record<PhaseId, PhaseStats>>;
  findings: number;
}

export interface DiffOrigin {
  origin: string;
  before: DiffOriginSide | null;
  after: DiffOriginSide | null;
}

export interface DiffFindingSide {
  count: number;
  costMs: number;
  severity: Severity;
  rules: string[];
  /** The first such finding's summary. */
  summary: string;
}

export interface DiffFinding {
  kind: string;
  /** null: a finding tied to no connection (capture-wide). */
  origin: string | null;
  before: DiffFindingSide | null;
  after: DiffFindingSide | null;
}

export interface DiffCaptureSide {
  file: string;
  /** End-to-end client time over all origins (first need to last response byte, see above). */
  durationMs: number;
  connections: number;
  requests: number;
  handshakes: number;
  handshakeMs: number;
  findings: number;
}

export interface Regression {
  kind: RegressionKind;
  origin: string | null;
  before: number;
  after: number;
  detail: string;
}

export interface Diff {
  before: DiffCaptureSide;
  after: DiffCaptureSide;
  /** Largest BEFORE duration first; origins on one side only last. */
  origins: DiffOrigin[];
  findings: { resolved: DiffFinding[]; new: DiffFinding[]; unchanged: DiffFinding[] };
  /**
   * BEFORE's what-if estimate against AFTER's measured end-to-end time (both the what-if's
   * `measuredMs` definition); present when BEFORE's report carries `whatIf` (see `predictionPolicy`).
   */
  prediction?: Prediction;
  regressions: Regression[];
}

export interface Prediction {
  /** The what-if policy that matches BEFORE's problem (`predictionPolicy`). */
  policy: 'reuse' | 'keepalive-timeout';
  /** Why that policy: the findings it was read from. */
  basis: string;
  /** keepalive-timeout: the server idle timeout (s) the estimate assumed. */
  keepaliveTimeoutS?: number;
  beforeMeasuredMs: number;
  estimatedMs: number;
  afterMeasuredMs: number;
  /** (estimatedMs − afterMeasuredMs) / afterMeasuredMs × 100 */
  errorPct: number;
  /** Connections of the requests covered: BEFORE measured, BEFORE estimated, AFTER measured. */
  beforeConnections: number;
  estimatedConnections: number;
  afterConnections: number;
}

/** missed-reuse rules that say a connection ended by an idle timeout (detect/missed-reuse.ts). */
const IDLE_RULES: ReadonlySet<string> = new Set(['server-idle-timeout', 'client-idle-timeout']);

/**
 * The what-if policy that predicts AFTER: `keepalive-timeout` when every missed reuse BEFORE shows
 * is by an idle timeout (missed-reuse rules server-idle-timeout and client-idle-timeout, at least
 * one of the server's) — the fix was the server's timeout; else `reuse` (the client pooled). A
 * client-idle-timeout counts with them: when a server and a client time out one idle connection
 * together, the first FIN the capture shows may be the client's answer to the server's TLS
 * close_notify, and the keepalive-timeout estimate reads who closed first from both.
 */
export function predictionPolicy(before: Pick<Report, 'findings'>): { policy: Prediction['policy']; basis: string } {
  const rules = new Set<string>();
  for (const f of before.findings) if (f.kind === 'missed-reuse' && f.rule) rules.add(f.rule);
  const list = [...rules].sort().join(', ');
  if (rules.has('server-idle-timeout') && [...rules].every((r) => IDLE_RULES.has(r))) {
    return { policy: 'keepalive-timeout', basis: `BEFORE's missed reuse is by idle timeout (missed-reuse ${list}): the server's idle timeout raised` };
  }
  return { policy: 'reuse', basis: rules.size ? `BEFORE's missed reuse (missed-reuse ${list}): its avoidable connections reused` : 'no missed reuse BEFORE: avoidable connections reused, if any' };
}

/** The origin a connection was addressed as (see the module comment). */
export function diffOriginOf(c: Connection, first?: Request): string {
  const name = c.tls ? sniOf(c) : first ? hostOf(first) : null;
  if (!name) return endpointText(c.server);
  return endpointText({ ip: name, port: c.server.port });
}

interface Acc {
  servers: Set<string>;
  conns: Connection[];
  reqs: Request[];
  findings: number;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

function round(v: number): number {
  return Math.round(v * 1000) / 1000;
}

interface Span {
  start: number;
  end: number;
}

/** First need → last response byte of the requests (or the connections' data when none). */
function spanOf(conns: Connection[], reqs: Request[], connById: Map<number, Connection>): Span | null {
  let start = Infinity;
  let end = -Infinity;
  for (const r of reqs) {
    const t = r.times;
    const c = connById.get(r.connectionId);
    const open = c && c.startSeen ? (c.synTime ?? c.firstTime) : Infinity;
    start = Math.min(start, open, t.requestStartTime);
    end = Math.max(end, t.responseEndTime ?? t.requestEndTime ?? t.requestStartTime);
  }
  if (!reqs.length) {
    for (const c of conns) {
      start = Math.min(start, c.synTime ?? c.firstTime);
      end = Math.max(end, c.lastDataTime ?? c.lastTime);
    }
  }
  return start === Infinity || end === -Infinity ? null : { start, end };
}

function sideOf(a: Acc, connById: Map<number, Connection>): DiffOriginSide {
  const firstOf = new Map<number, Request>();
  for (const r of a.reqs) {
    const f = firstOf.get(r.connectionId);
    if (!f || r.index < f.index) firstOf.set(r.connectionId, r);
  }
  let handshakes = 0;
  let handshakeMs = 0;
  let tlsN = 0;
  let resumed = 0;
  let offered = 0;
  const protocols = new Set<string>();
  for (const c of a.conns) {
    if (c.startSeen) handshakes++;
    handshakeMs += handshakeCost(c, firstOf.get(c.id)).ms;
    protocols.add(c.protocol);
    if (c.tls && c.tls.clientHelloTime !== null) {
      tlsN++;
      if (c.tls.resumed) resumed++;
      if (c.tls.resumptionOffered) offered++;
    }
  }
  const byPhase = new Map<PhaseId, number[]>();
  for (const r of a.reqs) {
    const per = new Map<PhaseId, number>();
    for (const p of phases(r.times)) per.set(p.name, (per.get(p.name) ?? 0) + (p.endTime - p.startTime));
    for (const [name, d] of per) {
      const l = byPhase.get(name);
      if (l) l.push(d);
      else byPhase.set(name, [d]);
    }
  }
  const ph: Partial<Record<PhaseId, PhaseStats>> = {};
  for (const id of PHASE_IDS) {
    const l = byPhase.get(id);
    if (!l) continue;
    l.sort((x, y) => x - y);
    ph[id] = { count: l.length, p50: round(percentile(l, 50)), p95: round(percentile(l, 95)) };
  }
  const span = spanOf(a.conns, a.reqs, connById);
  return {
    servers: [...a.servers].sort(),
    connections: a.conns.length,
    requests: a.reqs.length,
    requestsPerConnection: a.conns.length ? round(a.reqs.length / a.conns.length) : 0,
    handshakes,
    handshakeMs: round(handshakeMs),
    tls: tlsN ? { handshakes: tlsN, resumed, resumptionOffered: offered } : null,
    protocol: [...protocols].sort().join('+'),
    durationMs: span ? round(span.end - span.start) : 0,
    phases: ph,
    findings: a.findings,
  };
}

interface Side {
  origins: Map<string, Acc>;
  capture: DiffCaptureSide;
  /** Findings by kind + origin. */
  findings: Map<string, { kind: string; origin: string | null; list: Finding[] }>;
}

function analyseSide(report: Report, file: string): Side {
  const connById = new Map(report.connections.map((c) => [c.id, c]));
  const firstReq = new Map<number, Request>();
  for (const r of report.requests) {
    const f = firstReq.get(r.connectionId);
    if (!f || r.index < f.index) firstReq.set(r.connectionId, r);
  }
  const originOfConn = new Map<number, string>();
  const origins = new Map<string, Acc>();
  const acc = (o: string): Acc => {
    let a = origins.get(o);
    if (!a) origins.set(o, (a = { servers: new Set(), conns: [], reqs: [], findings: 0 }));
    return a;
  };
  for (const c of report.connections) {
    const o = diffOriginOf(c, firstReq.get(c.id));
    originOfConn.set(c.id, o);
    const a = acc(o);
    a.conns.push(c);
    a.servers.add(endpointText(c.server));
  }
  for (const r of report.requests) {
    const o = originOfConn.get(r.connectionId);
    if (o !== undefined) acc(o).reqs.push(r);
  }
  const reqById = new Map(report.requests.map((r) => [r.id, r]));
  const findings: Side['findings'] = new Map();
  for (const f of report.findings) {
    const cid = f.connectionIds[0] ?? (f.requestIds.length ? reqById.get(f.requestIds[0])?.connectionId : undefined);
    const origin = cid !== undefined ? (originOfConn.get(cid) ?? null) : null;
    if (origin !== null) acc(origin).findings++;
    const key = `${f.kind}\u0000${origin ?? ''}`;
    const e = findings.get(key);
    if (e) e.list.push(f);
    else findings.set(key, { kind: f.kind, origin, list: [f] });
  }
  const span = spanOf(report.connections, report.requests, connById);
  let handshakes = 0;
  let handshakeMs = 0;
  for (const c of report.connections) {
    if (c.startSeen) handshakes++;
    handshakeMs += handshakeCost(c, firstReq.get(c.id)).ms;
  }
  return {
    origins,
    findings,
    capture: {
      file,
      durationMs: span ? round(span.end - span.start) : 0,
      connections: report.connections.length,
      requests: report.requests.length,
      handshakes,
      handshakeMs: round(handshakeMs),
      findings: report.findings.length,
    },
  };
}

const SEVERITY_ORDER: Record<Severity, number> = { info: 0, warning: 1, error: 2 };

function findingSide(list: Finding[]): DiffFindingSide {
  let severity: Severity = 'info';
  let cost = 0;
  const rules = new Set<string>();
  for (const f of list) {
    if (SEVERITY_ORDER[f.severity] > SEVERITY_ORDER[severity]) severity = f.severity;
    cost += f.costMs ?? 0;
    if (f.rule) rules.add(f.rule);
  }
  return { count: list.length, costMs: round(cost), severity, rules: [...rules].sort(), summary: list[0].summary };
}

function grewBeyondNoise(before: number, after: number): boolean {
  return after > before * (1 + REGRESSION_TOLERANCE) && after - before > REGRESSION_SLACK_MS;
}

/** The diff of two reports (see the module comment); `files` name them in the output. */
export function diffReports(before: Report, after: Report, files: { before: string; after: string } = { before: before.capture.file, after: after.capture.file }): Diff {
  const b = analyseSide(before, files.before);
  const a = analyseSide(after, files.after);
  const bConn = new Map(before.connections.map((c) => [c.id, c]));
  const aConn = new Map(after.connections.map((c) => [c.id, c]));
  const names = new Set([...b.origins.keys(), ...a.origins.keys()]);
  const origins: DiffOrigin[] = [...names].map((origin) => {
    const x = b.origins.get(origin);
    const y = a.origins.get(origin);
    return { origin, before: x ? sideOf(x, bConn) : null, after: y ? sideOf(y, aConn) : null };
  });
  origins.sort((p, q) => {
    const pb = p.before ? p.before.durationMs : -1;
    const qb = q.before ? q.before.durationMs : -1;
    return qb - pb || (q.after?.durationMs ?? -1) - (p.after?.durationMs ?? -1) || (p.origin < q.origin ? -1 : p.origin > q.origin ? 1 : 0);
  });

  const resolved: DiffFinding[] = [];
  const added: DiffFinding[] = [];
  const unchanged: DiffFinding[] = [];
  for (const [key, e] of b.findings) {
    const other = a.findings.get(key);
    const entry = { kind: e.kind, origin: e.origin, before: findingSide(e.list), after: other ? findingSide(other.list) : null };
    (other ? unchanged : resolved).push(entry);
  }
  for (const [key, e] of a.findings) if (!b.findings.has(key)) added.push({ kind: e.kind, origin: e.origin, before: null, after: findingSide(e.list) });

  const regressions: Regression[] = [];
  for (const o of origins) {
    const x = o.before;
    const y = o.after;
    if (!x || !y || x.requests === 0 || y.requests === 0) continue;
    const cb = x.connections / x.requests;
    const ca = y.connections / y.requests;
    if (ca > cb + 1e-9) {
      regressions.push({
        kind: 'connections-per-request',
        origin: o.origin,
        before: round(cb),
        after: round(ca),
        detail: `${o.origin}: ${y.connections} connections for ${y.requests} requests after, ${x.connections} for ${x.requests} before`,
      });
    }
  }
  for (const f of added) {
    regressions.push({ kind: 'new-findings', origin: f.origin, before: 0, after: f.after!.count, detail: `new ${f.kind} finding${f.origin ? ` for ${f.origin}` : ''}: ${f.after!.summary}` });
  }
  if (grewBeyondNoise(b.capture.handshakeMs, a.capture.handshakeMs)) {
    regressions.push({
      kind: 'handshake-time',
      origin: null,
      before: b.capture.handshakeMs,
      after: a.capture.handshakeMs,
      detail: `${a.capture.handshakes} handshakes took ${fmtMs(a.capture.handshakeMs)} in all after, ${b.capture.handshakes} took ${fmtMs(b.capture.handshakeMs)} before`,
    });
  }
  if (grewBeyondNoise(b.capture.durationMs, a.capture.durationMs)) {
    regressions.push({
      kind: 'duration',
      origin: null,
      before: b.capture.durationMs,
      after: a.capture.durationMs,
      detail: `end-to-end ${fmtMs(a.capture.durationMs)} after, ${fmtMs(b.capture.durationMs)} before`,
    });
  }

  const diff: Diff = { before: b.capture, after: a.capture, origins, findings: { resolved, new: added, unchanged }, regressions };
  const pick = predictionPolicy(before);
  // A report made before keepaliveTimeout existed: the reuse estimate.
  const w = pick.policy === 'keepalive-timeout' && before.whatIf?.keepaliveTimeout ? before.whatIf.keepaliveTimeout : before.whatIf?.reuse;
  const m = after.whatIf?.reuse;
  if (w && m && w.requests > 0 && m.measuredMs > 0) {
    const policy = w.policy === 'keepalive-timeout' ? 'keepalive-timeout' : 'reuse';
    diff.prediction = {
      policy,
      basis: policy === pick.policy ? pick.basis : `${pick.basis} (BEFORE's report has no keepalive-timeout estimate: reuse instead)`,
      ...(w.keepaliveTimeoutS !== undefined ? { keepaliveTimeoutS: w.keepaliveTimeoutS } : {}),
      beforeMeasuredMs: w.measuredMs,
      estimatedMs: w.estimatedMs,
      afterMeasuredMs: m.measuredMs,
      errorPct: round((100 * (w.estimatedMs - m.measuredMs)) / m.measuredMs),
      beforeConnections: w.connections,
      estimatedConnections: w.estimatedConnections,
      afterConnections: m.connections,
    };
  }
  return diff;
}
