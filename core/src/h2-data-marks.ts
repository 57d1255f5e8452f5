/**
 * When each HTTP/2 stream's response data arrived, for drawing inside its bar (view/marks.ts), kept
 * only when the analysis keeps packet marks (AnalyzeOptions.packetMarks; the view asks for them).
 *
 * A tap in front of an Http2Session: the server's plaintext chunks go through a FrameParser of
 * their own first (frames.ts — the session's parser, not a second one), then to the session
 * unchanged. Each DATA frame (RFC 9113 §6.1) adds the span of capture times of the packets that
 * carried it to its stream's runs (tcp/marks.ts DirectionMarkRecorder, frames for packets); when the
 * session hands out the stream's exchange, the runs go on `request.h2.dataRuns`. The tap parses with
 * the largest frame size the protocol allows (2^24 − 1, RFC 9113 §4.2), so a larger
 * SETTINGS_MAX_FRAME_SIZE never costs it the frame boundaries. Inside TLS a frame's times are
 * those of the chunks that carried it, i.e. when its TLS records were complete (a record is
 * decrypted whole): after a retransmission that can be later than the octets' own capture time,
 * at most when TCP delivered them (`deliveredTimes`).
 *
 * Bounded: runs per stream as tcp/marks.ts (and the capture's MarkBudget); streams with runs not
 * yet handed out, at most MAX_PENDING_STREAMS per connection (DATA of further streams is not
 * recorded, counted as `h2DataMarksStreamLimit`).
 */
import { FrameParser } from './http2/frames.js';
import type { ExchangeSink, RequestDraft } from './model/exchange.js';
import type { Side } from './model/types.js';
import type { SettlingSink } from './protocols.js';
import type { StreamChunk } from './tcp/stream.js';
import { DirectionMarkRecorder, type MarkBudget } from './tcp/marks.js';

/** Streams whose DATA runs wait for their exchange, per connection. */
export const MAX_PENDING_STREAMS = 4096;
/** RFC 9113 §4.2: the largest SETTINGS_MAX_FRAME_SIZE a peer may announce. */
const MAX_FRAME_SIZE = (1 << 24) - 1;

export class H2DataTap implements SettlingSink {
  private readonly streams = new Map<number, DirectionMarkRecorder>();
  private readonly parser: FrameParser;
  private limitCounted = false;
  /** The sink to construct the session with: it attaches the runs to each exchange. */
  readonly out: ExchangeSink;
  inner: SettlingSink | null = null;

  constructor(
    outer: ExchangeSink,
    private readonly budget: MarkBudget,
    private readonly count: (name: string) => void = () => {},
  ) {
    this.parser = new FrameParser({
      side: 'server',
      maxFrameSize: MAX_FRAME_SIZE,
      onAnomaly: () => {}, // the session's own parser reports them
      onFrame: (f) => {
        if (f.kind !== 'DATA' || f.streamId === 0 || f.length === 0) return;
        let rec = this.streams.get(f.streamId);
        if (!rec) {
          if (this.streams.size >= MAX_PENDING_STREAMS) {
            if (!this.limitCounted) this.count('h2DataMarksStreamLimit');
            this.limitCounted = true;
            return;
          }
          rec = new DirectionMarkRecorder(this.budget);
          this.streams.set(f.streamId, rec);
        }
        rec.span(f.startTime, f.endTime, f.firstPacket, f.length, 1);
      },
    });
    const attach = (d: RequestDraft) => {
      const rec = d.streamId !== undefined ? this.streams.get(d.streamId) : undefined;
      if (!rec || !d.h2) return;
      this.streams.delete(d.streamId!);
      d.h2.dataRuns = rec.toJSON().arrivals.map((r) => ({ startTime: r.startTime, endTime: r.endTime, frames: r.packets, bytes: r.bytes, firstPacket: r.firstPacket }));
    };
    this.out = {
      request: (d) => {
        attach(d);
        outer.request(d);
      },
      protocol: (p) => outer.protocol(p),
      anomaly: (a) => outer.anomaly(a),
      keepAlive: (k) => outer.keepAlive(k),
      closeReason: (r, detail) => outer.closeReason(r, detail),
      extra: (facts) => outer.extra(facts),
      ...(outer.closeFacts ? { closeFacts: (f: Parameters<NonNullable<ExchangeSink['closeFacts']>>[0]) => outer.closeFacts!(f) } : {}),
      ...(outer.h2 ? { h2: (f: Parameters<NonNullable<ExchangeSink['h2']>>[0]) => outer.h2!(f) } : {}),
      ...(outer.tls ? { tls: (i: Parameters<NonNullable<ExchangeSink['tls']>>[0]) => outer.tls!(i) } : {}),
    };
  }

  onData(side: Side, chunk: StreamChunk): void {
    // First the tap, so a stream's last DATA frame is recorded before the session hands out its exchange.
    if (side === 'server') this.parser.push(chunk);
    this.inner?.onData(side, chunk);
  }

  onTransport(side: Side, chunk: StreamChunk): void {
    this.inner?.onTransport?.(side, chunk);
  }

  onEnd(side: Side, how: 'fin' | 'rst', time: number, packet: number): void {
    this.inner?.onEnd?.(side, how, time, packet);
  }

  onClose(time: number): void {
    this.inner?.onClose?.(time);
    this.streams.clear();
  }

  settled(): Promise<void> {
    return this.inner?.settled?.() ?? Promise.resolve();
  }

  busy(): boolean {
    return this.inner?.busy?.() ?? false;
  }
}
