/**
 * Report → ViewModel: the compact, draw-ready model the UI receives (see view/api.ts).
 * Pure; phases come from model/phases.ts (the one place they are computed).
 */
import { explainUndecrypted, tlsShort, tlsSummary } from '../tls/explain.js';
import type { Connection, IdlePeriod, Phase, QuicInfo, Report, Request, RequestTimes } from '../model/types.js';
import { endpointText } from '../model/endpoint.js';
import { noResponseText, noResponseWait, phaseSpan } from '../model/phases.js';
import type { ConnectionRow, DocId, PhaseTuple, PushInfo, QuicLane, RequestRow, ViewModel } from './api.js';
import { captureWarnings } from './counter-docs.js';
import { connectionLateMarks, requestArrivals, requestStalls, stallIndex, type StallIndex } from './marks.js';

/** DevTools' Name column: the last path segment plus query, or the host for "/". */
export function requestName(url: string, target: string): { name: string; host: string } {
  let host = '';
  let path = target;
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)(.*)$/i.exec(url);
  if (m) {
    host = m[1] ?? '';
    path = m[2] || target;
  }
  const q = path.indexOf('?');
  const pathOnly = q >= 0 ? path.slice(0, q) : path;
  const query = q >= 0 ? path.slice(q) : '';
  const segs = pathOnly.split('/').filter((s) => s.length > 0);
  const last = segs.length > 0 ? segs[segs.length - 1] : '';
  if (!last) return { name: (host || '/') + query, host };
  return { name: last + query, host };
}

/** model/phases.ts's `phases`. */
export type PhasesFn = (times: RequestTimes) => Phase[];

function lastTime(r: Request): number {
  const t = r.times;
  return t.responseEndTime ?? t.responseStartTime ?? t.requestEndTime ?? t.requestStartTime;
}

/** The TLS handshake span: connection.tls when the engine records it, else the ssl times of the connection's first request. */
function tlsSpan(c: Connection, first: Request | undefined): [number, number] | null {
  const tls = c.tls;
  if (tls && tls.clientHelloTime !== null && tls.handshakeEndTime !== null) return [tls.clientHelloTime, tls.handshakeEndTime];
  const t = first?.times;
  if (t && t.sslStartTime !== null && t.sslEndTime !== null) return [t.sslStartTime, t.sslEndTime];
  return null;
}

/** The response's HTTP version where it differs from the request's (HTTP/1.x sessions record it). */
export function responseHttpVersion(r: Request): string | undefined {
  const v = r.http1?.responseHttpVersion;
  return typeof v === 'string' && v !== r.httpVersion ? v : undefined;
}

/** The Protocol column: the request's version, then the response's where it differs ("HTTP/1.1 → HTTP/1.0"). */
export function protocolLabel(r: Request): string {
  const resp = responseHttpVersion(r);
  return resp ? `${r.httpVersion} → ${resp}` : r.httpVersion;
}

/** What the packets say inside the bar (view/marks.ts): the request before it on its connection, and the connection's stall index. */
export interface RowEvidence {
  prev?: Request | undefined;
  stalls?: StallIndex | undefined;
}

export function toRequestRow(r: Request, c: Connection | undefined, findings: number[], phases: PhasesFn, captureEndMs = Number.NaN, ev: RowEvidence = {}): RequestRow {
  const { name, host } = requestName(r.url, r.target);
  const end = lastTime(r);
  const list = phases(r.times);
  const ph: PhaseTuple[] = list.map((p) => [p.name, p.startTime, p.endTime]);
  // An unanswered request waited until the close (or the capture end): that wait is its last phase.
  const wait = noResponseWait(r, c, captureEndMs);
  if (wait) ph.push(['waiting', ph.length > 0 ? Math.max(ph[ph.length - 1]![2], wait.startTime) : wait.startTime, wait.endTime]);
  // DevTools' Time is the whole span of the phases (connection setup included), as the Timing tab's Total.
  const base = phaseSpan(list) ?? { startTime: r.times.requestStartTime, endTime: end };
  const push = r.pushed ? pushInfo(r, wait) : undefined;
  let span = wait ? { startTime: Math.min(base.startTime, ph[0]![1]), endTime: Math.max(base.endTime, wait.endTime) } : base;
  // A cancelled push lasted from its promise to the reset (DevTools' Time of a "(canceled)" row).
  if (push?.outcome === 'cancelled' && push.endTime !== undefined) span = { startTime: Math.min(span.startTime, push.startTime ?? span.startTime), endTime: Math.max(span.endTime, push.endTime) };
  const hasResponse = r.status !== null || r.times.responseStartTime !== null;
  const respVersion = responseHttpVersion(r);
  const arrivals = requestArrivals(r, c);
  const stalls = requestStalls(r, c, ev.prev, ev.stalls ?? (c ? stallIndex(c) : undefined));
  return {
    id: r.id,
    connectionId: r.connectionId,
    index: r.index,
    ...(r.streamId !== undefined ? { streamId: r.streamId } : {}),
    method: r.method,
    url: r.url,
    name,
    host,
    status: r.status,
    statusText: r.statusText,
    httpVersion: r.httpVersion,
    ...(respVersion !== undefined ? { responseHttpVersion: respVersion } : {}),
    protocol: protocolLabel(r),
    remote: c ? endpointText(c.server) : '',
    size: hasResponse ? r.sizes.responseHeaders + r.sizes.responseBodyWire : -1,
    startTime: r.times.requestStartTime,
    endTime: end,
    timingStartTime: span.startTime,
    durationMs: span.endTime - span.startTime,
    phases: ph,
    pipelined: r.pipelined,
    connectionReused: r.connectionReused,
    state: r.state,
    ...(wait ? { noResponse: { startTime: wait.startTime, endTime: wait.endTime, until: wait.until, text: push?.text ?? noResponseText(wait) } } : {}),
    ...(push ? { pushed: push } : {}),
    ...(arrivals ? { arrivals } : {}),
    ...(stalls.length > 0 ? { stalls } : {}),
    ...mimeOf(r),
    packets: [r.packets.request[0], r.packets.response ? r.packets.response[1] : r.packets.request[1]],
    findings,
  };
}

const SIDE = { client: 'client', server: 'server' } as const;

/**
 * Server push (RFC 9113 §8.4, RFC 9114 §4.6): the stream whose PUSH_PROMISE announced this one,
 * and what became of the promise (api.ts PushInfo). A reset stream whose response had not ended
 * was cancelled (HTTP/2 `h2.rst`, HTTP/3 `extra.rst`); a promise left without a response until the
 * close or the capture end (`noResponseWait`) was never answered.
 */
export function pushInfo(r: Request, wait: ReturnType<typeof noResponseWait> = null): PushInfo {
  const p = r.h2?.promisedBy;
  const promisedBy = typeof p === 'number' ? p : null;
  const promised = r.times.requestStartTime;
  const h3 = r.extra?.rst as { by?: unknown; error?: unknown; code?: unknown; time?: unknown } | undefined;
  const rst =
    r.h2?.rst ??
    (h3 && typeof h3.time === 'number' && (h3.by === 'client' || h3.by === 'server')
      ? { by: SIDE[h3.by], code: typeof h3.error === 'string' ? h3.error : String(h3.code), time: h3.time, packet: null }
      : undefined);
  // HTTP/3 CANCEL_PUSH (RFC 9114 §7.2.3) on a push whose response did not come (or not wholly).
  const cp = r.extra?.cancelPush as { by?: unknown; time?: unknown; packet?: unknown } | undefined;
  if (!rst && cp && typeof cp.time === 'number' && (cp.by === 'client' || cp.by === 'server') && r.times.responseEndTime === null) {
    const by = SIDE[cp.by];
    return { promisedBy, outcome: 'cancelled', cancel: { by, code: 'CANCEL_PUSH', time: cp.time, packet: typeof cp.packet === 'number' ? cp.packet : null }, startTime: promised, endTime: Math.max(promised, cp.time), text: `${by === 'client' ? 'cancelled' : 'withdrawn'} by the ${by} (CANCEL_PUSH)` };
  }
  if (r.state === 'reset' && rst && r.times.responseEndTime === null) {
    const who = `${rst.by === 'client' ? 'cancelled' : 'reset'} by the ${rst.by} (${rst.code})`;
    return { promisedBy, outcome: 'cancelled', cancel: { by: rst.by, code: rst.code, time: rst.time, packet: rst.packet ?? null }, startTime: promised, endTime: Math.max(promised, rst.time), text: who };
  }
  if (r.state === 'no-response' && r.status === null) {
    const text = wait ? `never answered — ${noResponseText(wait).replace(/^no response — /, '')}` : 'never answered';
    return { promisedBy, outcome: 'unanswered', startTime: promised, ...(wait ? { endTime: wait.endTime } : {}), text };
  }
  return { promisedBy, outcome: 'delivered' };
}

/**
 * The connection's idle periods minus the time a request was outstanding without an answer: a
 * request waiting for a response that never came is waiting, not idle.
 */
export function idleWithoutWaits(idle: readonly IdlePeriod[], waits: readonly { startTime: number; endTime: number }[]): IdlePeriod[] {
  if (waits.length === 0) return idle.slice();
  const out: IdlePeriod[] = [];
  for (const g of idle) {
    let pieces: [number, number][] = [[g.startTime, g.endTime]];
    for (const w of waits) {
      const next: [number, number][] = [];
      for (const [a, b] of pieces) {
        if (w.endTime <= a || w.startTime >= b) next.push([a, b]);
        else {
          if (w.startTime > a) next.push([a, w.startTime]);
          if (w.endTime < b) next.push([w.endTime, b]);
        }
      }
      pieces = next;
    }
    for (const [a, b] of pieces) if (b > a) out.push(a === g.startTime && b === g.endTime ? g : { ...g, startTime: a, endTime: b, durationMs: b - a });
  }
  return out;
}

function lateOf(c: Connection): { late?: NonNullable<ConnectionRow['late']> } {
  const late = connectionLateMarks(c);
  return late ? { late } : {};
}

export function toConnectionRow(c: Connection, requestIds: number[], findings: number[], first?: Request, waits: readonly { startTime: number; endTime: number }[] = []): ConnectionRow {
  const ka = c.keepAlive;
  return {
    id: c.id,
    client: c.client,
    server: c.server,
    protocol: c.protocol,
    startSeen: c.startSeen,
    firstTime: c.firstTime,
    lastTime: c.lastTime,
    synTime: c.synTime,
    establishedTime: c.establishedTime,
    handshakeRttMs: c.handshakeRttMs,
    tls: tlsSpan(c, first),
    tlsSummary: c.tls ? tlsSummary(c.tls) : null,
    tlsShort: c.tls ? tlsShort(c.tls) : null,
    undecrypted: c.tls?.undecryptedReason ? { reason: c.tls.undecryptedReason, text: explainUndecrypted(c.tls.undecryptedReason) } : null,
    close: {
      by: c.close.by,
      how: c.close.how,
      time: c.close.time,
      reason: c.close.reason,
      ...(c.close.detail !== undefined ? { detail: c.close.detail } : {}),
    },
    idle: idleWithoutWaits(c.idle, waits),
    ...lateOf(c),
    keepAlive: ka
      ? {
          defaultPersistent: ka.defaultPersistent,
          ...(ka.timeoutS !== undefined ? { timeoutS: ka.timeoutS } : {}),
          ...(ka.max !== undefined ? { max: ka.max } : {}),
          ...(ka.clientConnection !== undefined ? { clientConnection: ka.clientConnection } : {}),
          ...(ka.serverConnection !== undefined ? { serverConnection: ka.serverConnection } : {}),
        }
      : null,
    requestCount: c.requestCount,
    ...(c.transport ? { transport: c.transport } : {}),
    ...(c.quic ? { quic: quicLane(c.quic) } : {}),
    requestIds,
    findings,
  };
}

/** The lane's QUIC facts (Connection.quic): version, connection IDs, migrations, how it ended. */
export function quicLane(q: QuicInfo): QuicLane {
  return {
    version: q.negotiatedVersion ?? q.version,
    originalDcid: q.originalDcid,
    connectionIds: { client: q.connectionIds.client.slice(0, 16), server: q.connectionIds.server.slice(0, 16) },
    migrations: q.migrations.slice(0, 200).map((m) => ({ time: m.time, packet: m.packet, from: endpointText(m.from), to: endpointText(m.to) })),
    end: q.end,
    closeError: q.close ? `${q.close.error} by the ${q.close.by}` : null,
    retry: q.retry !== null,
  };
}

export function toViewModel(report: Report, doc: DocId, phases: PhasesFn): ViewModel {
  const connById = new Map<number, Connection>();
  for (const c of report.connections) connById.set(c.id, c);
  const reqFindings = new Map<number, number[]>();
  const connFindings = new Map<number, number[]>();
  report.findings.forEach((f, i) => {
    for (const id of f.requestIds) (reqFindings.get(id) ?? reqFindings.set(id, []).get(id)!).push(i);
    for (const id of f.connectionIds) (connFindings.get(id) ?? connFindings.set(id, []).get(id)!).push(i);
  });
  const reqIdsByConn = new Map<number, Request[]>();
  for (const r of report.requests) (reqIdsByConn.get(r.connectionId) ?? reqIdsByConn.set(r.connectionId, []).get(r.connectionId)!).push(r);
  const captureEnd = report.capture.durationMs;
  // The exchange before each one on its connection (pipelining stalls) and each connection's stall index.
  const prevOf = new Map<number, Request>();
  for (const list of reqIdsByConn.values()) {
    const byIndex = list.slice().sort((a, b) => a.index - b.index);
    for (let i = 1; i < byIndex.length; i++) prevOf.set(byIndex[i]!.id, byIndex[i - 1]!);
  }
  const stallIdx = new Map<number, StallIndex | undefined>();
  const idxOf = (c: Connection | undefined) => {
    if (!c) return undefined;
    if (!stallIdx.has(c.id)) stallIdx.set(c.id, stallIndex(c));
    return stallIdx.get(c.id);
  };
  const requests = report.requests.map((r) => {
    const c = connById.get(r.connectionId);
    return toRequestRow(r, c, reqFindings.get(r.id) ?? [], phases, captureEnd, { prev: prevOf.get(r.id), stalls: idxOf(c) });
  });
  const waitsByConn = new Map<number, { startTime: number; endTime: number }[]>();
  for (const row of requests) if (row.noResponse) (waitsByConn.get(row.connectionId) ?? waitsByConn.set(row.connectionId, []).get(row.connectionId)!).push(row.noResponse);
  return {
    doc,
    wirefall: report.wirefall,
    capture: report.capture,
    connections: report.connections.map((c) => {
      const reqs = (reqIdsByConn.get(c.id) ?? []).slice().sort((a, b) => a.index - b.index);
      return toConnectionRow(
        c,
        reqs.map((r) => r.id),
        connFindings.get(c.id) ?? [],
        reqs[0],
        waitsByConn.get(c.id) ?? [],
      );
    }),
    requests,
    findings: report.findings,
    ...(report.whatIf ? { whatIf: report.whatIf } : {}),
    warnings: captureWarnings(report.capture.counters, report.connections),
  };
}

/** POSIX-shell single quoting. */
function sq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

const CURL_SKIP = new Set(['host', 'content-length', 'connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade', 'te']);

/** "Copy as cURL" like DevTools: method, URL, headers in wire order (hop-by-hop ones left to curl). */
export function toCurl(r: Request): string {
  const parts = ['curl', sq(r.url)];
  if (r.method !== 'GET') parts.push('-X', sq(r.method));
  for (const h of r.requestHeaders) {
    const n = h.name.toLowerCase();
    if (n.startsWith(':') || CURL_SKIP.has(n)) continue;
    parts.push('-H', sq(`${h.name}: ${h.value}`));
  }
  if (r.httpVersion === 'HTTP/1.0') parts.push('--http1.0');
  else if (r.httpVersion === 'h2') parts.push('--http2-prior-knowledge');
  return parts.join(' ');
}

/** The response's Content-Type without parameters, lower case (DevTools' `mime-type:` filter). */
function mimeOf(r: Request): { mimeType?: string } {
  const ct = r.responseHeaders.find((h) => h.name.toLowerCase() === 'content-type')?.value;
  const m = ct?.split(';')[0]!.trim().toLowerCase();
  return m ? { mimeType: m } : {};
}
