/**
 * HAR 1.2 export (http://www.softwareishard.com/blog/har-12-spec/), shaped like Chrome DevTools'
 * `models/har/Log.ts`: timings from `phases()` (ssl included in connect, -1 when unknown),
 * `connection` as a string id, custom fields prefixed with `_`.
 *
 * `startedDateTime` is the start of the entry's first phase (capture.startEpochMs + that time): the
 * request start when the request waited for nothing, otherwise the start of queueing/DNS/connect,
 * so that startedDateTime + timings lines up with the capture (as in DevTools' HAR).
 */
import type { Finding, Header, Report, Request } from './types.js';
import { harTimings, harTotalTime, noResponseText, noResponseWait, phases } from './phases.js';

export interface HarOptions {
  /** Emit one page for the whole capture and set every entry's `pageref` (default false). */
  pages?: boolean;
  /** `log.creator.version`; defaults to `report.wirefall`. */
  creatorVersion?: string;
}

interface HarNameValue {
  name: string;
  value: string;
}

function header(list: Header[], name: string): string | undefined {
  const n = name.toLowerCase();
  return list.find((h) => h.name.toLowerCase() === n)?.value;
}

function queryString(url: string): HarNameValue[] {
  const q = url.indexOf('?');
  if (q < 0) return [];
  const hash = url.indexOf('#', q);
  const query = url.slice(q + 1, hash < 0 ? undefined : hash);
  if (!query) return [];
  return query.split('&').filter(Boolean).map((pair) => {
    const eq = pair.indexOf('=');
    const rawName = eq < 0 ? pair : pair.slice(0, eq);
    const rawValue = eq < 0 ? '' : pair.slice(eq + 1);
    return { name: decode(rawName), value: decode(rawValue) };
  });
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

function iso(epochMs: number): string {
  return new Date(Math.round(epochMs)).toISOString();
}

function entry(report: Report, r: Request, findings: Finding[], pageref: string | undefined): Record<string, unknown> {
  const base = report.capture.startEpochMs ?? 0;
  const list = phases(r.times);
  const start = list.length > 0 ? list[0].startTime : r.times.requestStartTime;
  const t = harTimings(r.times);
  const conn = report.connections.find((c) => c.id === r.connectionId);
  // Never answered: it waited until the close (or the capture end); HAR counts that as `wait`.
  const hung = noResponseWait(r, conn, report.capture.durationMs);
  if (hung) t.wait = Math.max(0, t.wait) + (hung.endTime - hung.startTime);
  const mimeType = header(r.responseHeaders, 'content-type') ?? '';
  const decoded = r.sizes.responseBodyDecoded;
  const content: Record<string, unknown> = {
    size: decoded >= 0 ? decoded : r.sizes.responseBody,
    mimeType,
  };
  if (decoded >= 0 && decoded !== r.sizes.responseBody) content.compression = decoded - r.sizes.responseBody;
  const postMime = header(r.requestHeaders, 'content-type');
  const request: Record<string, unknown> = {
    method: r.method,
    url: r.url,
    httpVersion: r.httpVersion,
    cookies: [],
    headers: r.requestHeaders.map((h) => ({ name: h.name, value: h.value })),
    queryString: queryString(r.url),
    headersSize: r.sizes.requestHeaders,
    bodySize: r.sizes.requestBody,
  };
  if (r.sizes.requestBody > 0) request.postData = { mimeType: postMime ?? '', text: '' };
  const e: Record<string, unknown> = {
    startedDateTime: iso(base + start),
    time: harTotalTime(t),
    request,
    response: {
      status: r.status ?? 0,
      statusText: r.statusText,
      httpVersion: r.http1?.responseHttpVersion ?? r.httpVersion,
      cookies: [],
      headers: r.responseHeaders.map((h) => ({ name: h.name, value: h.value })),
      content,
      redirectURL: header(r.responseHeaders, 'location') ?? '',
      headersSize: r.status === null ? -1 : r.sizes.responseHeaders,
      bodySize: r.status === null ? -1 : r.sizes.responseBody,
    },
    cache: {},
    // HAR 1.2 has no "unknown" for send/wait/receive: an absent phase is reported as 0.
    timings: {
      blocked: t.blocked,
      dns: t.dns,
      connect: t.connect,
      ssl: t.ssl,
      send: Math.max(0, t.send),
      wait: Math.max(0, t.wait),
      receive: Math.max(0, t.receive),
    },
    connection: String(r.connectionId),
    _connectionId: r.connectionId,
    _index: r.index,
    _pipelined: r.pipelined,
    _connectionReused: r.connectionReused,
    _state: r.state,
    _anomalies: r.anomalies,
    _findings: findings.map((f) => ({ kind: f.kind, severity: f.severity, summary: f.summary })),
  };
  if (pageref !== undefined) e.pageref = pageref;
  if (conn) e.serverIPAddress = conn.server.ip;
  if (r.streamId !== undefined) e._streamId = r.streamId;
  if (hung) e._noResponse = { until: hung.until === 'close' ? 'connection-close' : 'capture-end', closedBy: hung.closedBy, waitMs: hung.endTime - hung.startTime, text: noResponseText(hung) };
  if (r.pushed) {
    e._pushed = true;
    if (r.h2?.promisedBy !== undefined) e._promisedBy = r.h2.promisedBy;
    // A promised push the client (or server) reset before it was delivered (RFC 9113 §8.4.2).
    const rst = r.h2?.rst;
    if (rst && r.state === 'reset') e._pushCancelled = { by: rst.by, code: rst.code, time: rst.time };
  }
  return e;
}

/** The report as a HAR 1.2 log: one entry per request, sorted by startedDateTime. */
export function toHar(report: Report, opts: HarOptions = {}): { log: Record<string, unknown> } {
  const byRequest = new Map<number, Finding[]>();
  for (const f of report.findings)
    for (const id of f.requestIds) {
      const l = byRequest.get(id);
      if (l) l.push(f);
      else byRequest.set(id, [f]);
    }
  const pageId = opts.pages ? 'page_1' : undefined;
  const entries = report.requests
    .map((r) => entry(report, r, byRequest.get(r.id) ?? [], pageId))
    .sort((a, b) => (a.startedDateTime as string).localeCompare(b.startedDateTime as string));
  const log: Record<string, unknown> = {
    version: '1.2',
    creator: { name: 'wirefall', version: opts.creatorVersion ?? report.wirefall },
  };
  if (opts.pages) {
    log.pages = [
      {
        startedDateTime: iso(report.capture.startEpochMs ?? 0),
        id: pageId,
        title: report.capture.file,
        pageTimings: { onContentLoad: -1, onLoad: -1 },
      },
    ];
  }
  log.entries = entries;
  return { log };
}
