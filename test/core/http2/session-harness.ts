/** Test harness: a recording ExchangeSink and helpers to drive an Http2Session. */
import type { ExchangeSink, RequestDraft } from '../../../core/src/model/exchange.js';
import type { Anomaly, H2ConnectionFacts, Side } from '../../../core/src/model/types.js';
import { Http2Session } from '../../../core/src/http2/session.js';
import type { StreamInfo } from '../../../core/src/tcp/stream.js';

export class Recorder implements ExchangeSink {
  requests: RequestDraft[] = [];
  anomalies: Anomaly[] = [];
  protocols: string[] = [];
  closes: [string, string][] = [];
  extras: Record<string, unknown> = {};
  request(d: RequestDraft): void {
    this.requests.push(d);
  }
  protocol(p: string): void {
    this.protocols.push(p);
  }
  anomaly(a: Anomaly): void {
    this.anomalies.push(a);
  }
  keepAlive(): void {}
  closeReason(r: string, d: string): void {
    this.closes.push([r, d]);
  }
  closeFacts(): void {}
  extra(f: Record<string, unknown>): void {
    Object.assign(this.extras, f);
  }
  h2(f: H2ConnectionFacts): void {
    this.extras.h2 = f;
  }
  /** The session's `connection.h2` facts (loosely typed for the tests). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  get facts(): any {
    return this.extras.h2;
  }
  byStream(id: number): RequestDraft {
    const r = this.requests.find((q) => q.streamId === id);
    if (!r) throw new Error(`no request for stream ${id}`);
    return r;
  }
}

export const INFO: StreamInfo = { id: 0, client: { ip: '10.0.0.1', port: 50000 }, server: { ip: '10.0.0.2', port: 8080 }, scheme: 'http', transport: 'tcp', startSeen: true };

/** Drives a session with whole-frame chunks: each `send` is one packet at the given time. */
export class Driver {
  readonly out = new Recorder();
  readonly session: Http2Session;
  private offset: Record<Side, number> = { client: 0, server: 0 };
  packet = 0;
  constructor(opts: { prefaceSeen?: boolean; session?: (out: Recorder) => Http2Session } = {}) {
    this.session = opts.session ? opts.session(this.out) : new Http2Session(INFO, this.out, { prefaceSeen: opts.prefaceSeen ?? true });
  }
  send(side: Side, time: number, data: Uint8Array, skipped = 0): number {
    const packet = ++this.packet;
    this.offset[side] += Math.max(0, skipped);
    this.session.onData(side, { data, offset: this.offset[side], skipped, time, deliveredTime: time, packet });
    this.offset[side] += data.length;
    return packet;
  }
  close(time: number): Recorder {
    this.session.onEnd('client', 'fin', time, ++this.packet);
    this.session.onEnd('server', 'fin', time, ++this.packet);
    this.session.onClose(time);
    return this.out;
  }
}
