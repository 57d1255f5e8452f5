/** Test helpers: a recording ExchangeSink and a tiny script language for feeding a session. */
import type { ExchangeSink, RequestDraft } from '../../../core/src/model/exchange.js';
import type { Anomaly, AppProtocol, CloseReason, KeepAliveContract, Side } from '../../../core/src/model/types.js';
import type { EndHow, StreamChunk, StreamInfo } from '../../../core/src/tcp/stream.js';
import { Http1Session, type Http1SessionOptions } from '../../../core/src/http1/session.js';
import { decideCloseReason, type CloseFacts, type HttpCloseFacts } from '../../../core/src/http1/keepalive.js';

export class Recorder implements ExchangeSink {
  requests: RequestDraft[] = [];
  protocols: AppProtocol[] = [];
  anomalies: Anomaly[] = [];
  /** The last contract handed over (the engine makes it once, for the record: as `keepAlive_` does). */
  private keep: (() => KeepAliveContract) | undefined;
  closes: { reason: CloseReason; detail: string }[] = [];
  extras: Record<string, unknown> = {};
  request(d: RequestDraft): void {
    this.requests.push(d);
  }
  protocol(p: AppProtocol): void {
    this.protocols.push(p);
  }
  anomaly(a: Anomaly): void {
    this.anomalies.push(a);
  }
  keepAlive(contract: () => KeepAliveContract): void {
    this.keep = contract;
  }
  closeReason(reason: CloseReason, detail: string): void {
    this.closes.push({ reason, detail });
  }
  /** The first FIN/RST the script played: TCP's close record, as the engine hands it to decideCloseReason. */
  tcpClose: CloseFacts['firstEnd'] = null;
  closeFacts(facts: HttpCloseFacts): void {
    this.closes.push(decideCloseReason({ ...facts, firstEnd: this.tcpClose }));
  }
  extra(facts: Record<string, unknown>): void {
    Object.assign(this.extras, facts);
  }
  get keepAlive_(): KeepAliveContract | undefined {
    return this.keep?.();
  }
}

export const INFO: StreamInfo = { id: 0, client: { ip: '10.0.0.1', port: 50000 }, server: { ip: '10.0.0.2', port: 80 }, scheme: 'http', transport: 'tcp', startSeen: true };

/** One step: data from a side (optionally at a time, after a gap), an end (FIN/RST), or close. */
export type Step =
  | { side: Side; data: string | Uint8Array; time?: number; skipped?: number; delivered?: number }
  | { end: Side; how?: EndHow; time?: number }
  | { close: true; time?: number };

export const C = (data: string | Uint8Array, time?: number, more: Partial<{ skipped: number; delivered: number }> = {}): Step =>
  ({ side: 'client', data, time, ...more });
export const S = (data: string | Uint8Array, time?: number, more: Partial<{ skipped: number; delivered: number }> = {}): Step =>
  ({ side: 'server', data, time, ...more });
export const FIN = (side: Side, time?: number): Step => ({ end: side, how: 'fin', time });
export const RST = (side: Side, time?: number): Step => ({ end: side, how: 'rst', time });

export function bytes(s: string | Uint8Array): Uint8Array {
  return typeof s === 'string' ? new Uint8Array(Buffer.from(s, 'latin1')) : s;
}

/**
 * Feed the steps to a fresh session; each data step is one packet (numbered from 1) unless
 * `split` cuts it further. Times default to the step number. A close is appended if missing.
 */
export function play(steps: Step[], opts: Http1SessionOptions & { split?: (n: number) => number[]; noClose?: boolean } = {}) {
  const rec = new Recorder();
  const session = new Http1Session(INFO, rec, opts);
  const offset = { client: 0, server: 0 };
  let packet = 0;
  let t = 0;
  for (const st of steps) {
    t = st.time ?? t + 1;
    if ('side' in st) {
      const data = bytes(st.data);
      packet++;
      if (st.skipped && st.skipped > 0) offset[st.side] += st.skipped;
      const cuts = opts.split ? opts.split(data.length) : [data.length];
      let from = 0;
      let first = true;
      for (const n of cuts) {
        const c: StreamChunk = {
          data: data.subarray(from, from + n),
          offset: offset[st.side],
          skipped: first ? st.skipped ?? 0 : 0,
          time: t,
          deliveredTime: st.delivered ?? t,
          packet,
        };
        first = false;
        offset[st.side] += n;
        from += n;
        session.onData(st.side, c);
      }
    } else if ('end' in st) {
      packet++;
      rec.tcpClose ??= { side: st.end, how: st.how ?? 'fin', time: t };
      session.onEnd(st.end, st.how ?? 'fin', t, packet);
    } else {
      session.onClose(t);
    }
  }
  if (!opts.noClose && !steps.some((s) => 'close' in s)) session.onClose(t);
  return { rec, session };
}

/** A comparable summary of everything a session reported (for split-invariance checks). */
export function summary(rec: Recorder): unknown {
  return {
    requests: rec.requests.map((r) => ({ ...r, anomalies: r.anomalies.map((a) => a.code) })),
    protocols: rec.protocols,
    anomalies: rec.anomalies.map((a) => a.code),
    keepAlive: rec.keepAlive_,
    closes: rec.closes,
    extras: rec.extras,
  };
}
