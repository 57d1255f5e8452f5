/**
 * Helpers shared by the HTTP/2 detectors (h2-*.ts): reading `connection.h2` and the
 * per-stream `request.h2` records the HTTP/2 session writes (see core/src/http2/README.md).
 * Pure functions of the Report.
 */
import type { FlowControlStall } from '../http2/session.js';
import type { DirectionHol, StreamHol } from '../http2/tcp-hol.js';
import type { Connection, Report, Request } from '../model/types.js';

export { endpoint, ev, fmtMs, threshold } from './util.js';

export function isH2(c: Connection): boolean {
  return c.protocol === 'h2' || c.protocol === 'h2c';
}

/** The part of `connection.h2` the detectors read (a slim connection carries only the picked paths). */
export interface H2Facts {
  tcpHol?: { client: DirectionHol; server: DirectionHol };
  flowControlStalls?: FlowControlStall[];
  flowControlTracked?: boolean;
  maxConcurrentStreams?: number;
  client?: { settings?: { time: number; packet: number; settings: Record<string, number> }[]; goaway?: { time: number; packet: number; lastStreamId: number; errorCode: string } };
  server?: { settings?: { time: number; packet: number; settings: Record<string, number> }[]; goaway?: { time: number; packet: number; lastStreamId: number; errorCode: string } };
}

export function h2Facts(c: Connection): H2Facts | undefined {
  return c.h2;
}

export function streamHol(r: Request): { request?: StreamHol; response?: StreamHol } | undefined {
  return r.h2?.tcpHol;
}

/** Requests of each connection by HTTP/2 stream id. */
export function requestsByStream(report: Report): Map<number, Map<number, Request>> {
  const m = new Map<number, Map<number, Request>>();
  for (const r of report.requests) {
    if (r.streamId === undefined) continue;
    let byId = m.get(r.connectionId);
    if (!byId) m.set(r.connectionId, (byId = new Map()));
    byId.set(r.streamId, r);
  }
  return m;
}

/** One connection's requests by HTTP/2 stream id, the later (by id) of two with one stream id kept. */
export function streamsOf(reqs: readonly Request[]): Map<number, Request> {
  const byId = new Map<number, Request>();
  const inIdOrder = reqs.every((r, i) => i === 0 || reqs[i - 1].id < r.id) ? reqs : [...reqs].sort((a, b) => a.id - b.id);
  for (const r of inIdOrder) if (r.streamId !== undefined) byId.set(r.streamId, r);
  return byId;
}

/** "stream 19 (GET /big/b4.bin)", or "stream 0 (connection control frames)". */
export function streamLabel(id: number, r: Request | undefined): string {
  if (id === 0) return 'stream 0 (connection control frames)';
  return r ? `stream ${id} (${r.method} ${r.target})` : `stream ${id}`;
}
