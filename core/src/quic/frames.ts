/**
 * QUIC frames (RFC 9000 §19; DATAGRAM RFC 9221 §4), parsed from a decrypted packet payload into
 * visitor calls, in order. Lengths are checked against the payload before any view is taken; a frame
 * that does not fit, or a frame type whose length is unknown (an extension wirefall does not know),
 * ends the parse with an error code: the frames before it stand.
 *
 * Cost is linear in the payload: PADDING runs are skipped in one loop, ACK ranges are walked without
 * being kept, and data frames hand out views (valid during the call only).
 */
import { QuicReader } from './varint.js';

/** Frame type names (RFC 9000 §19, Table 3; RFC 9221 §4), for counters and anomalies. */
export function frameTypeName(t: number): string {
  if (t >= 0x08 && t <= 0x0f) return 'STREAM';
  switch (t) {
    case 0x00: return 'PADDING';
    case 0x01: return 'PING';
    case 0x02: case 0x03: return 'ACK';
    case 0x04: return 'RESET_STREAM';
    case 0x05: return 'STOP_SENDING';
    case 0x06: return 'CRYPTO';
    case 0x07: return 'NEW_TOKEN';
    case 0x10: return 'MAX_DATA';
    case 0x11: return 'MAX_STREAM_DATA';
    case 0x12: case 0x13: return 'MAX_STREAMS';
    case 0x14: return 'DATA_BLOCKED';
    case 0x15: return 'STREAM_DATA_BLOCKED';
    case 0x16: case 0x17: return 'STREAMS_BLOCKED';
    case 0x18: return 'NEW_CONNECTION_ID';
    case 0x19: return 'RETIRE_CONNECTION_ID';
    case 0x1a: return 'PATH_CHALLENGE';
    case 0x1b: return 'PATH_RESPONSE';
    case 0x1c: case 0x1d: return 'CONNECTION_CLOSE';
    case 0x1e: return 'HANDSHAKE_DONE';
    case 0x30: case 0x31: return 'DATAGRAM';
    default: return `0x${t.toString(16)}`;
  }
}

export interface FrameVisitor {
  /** Every frame, first, with its type (PADDING runs once per run). */
  frame?(type: number): void;
  ack?(largest: number, ranges: number, ecn: boolean): void;
  /** §19.3.1: each acknowledged range [smallest, largest] of an ACK frame, largest first (before `ack`). */
  ackRange?(smallest: number, largest: number): void;
  crypto?(offset: number, data: Uint8Array): void;
  stream?(id: number, offset: number, data: Uint8Array, fin: boolean): void;
  resetStream?(id: number, errorCode: number, finalSize: number): void;
  stopSending?(id: number, errorCode: number): void;
  /** §19.19: 0x1c transport (with the frame type that caused it), 0x1d application. */
  connectionClose?(application: boolean, errorCode: number, frameType: number | null, reason: Uint8Array): void;
  newConnectionId?(seq: number, retirePriorTo: number, cid: Uint8Array, resetToken: Uint8Array): void;
  retireConnectionId?(seq: number): void;
  maxData?(max: number): void;
  maxStreamData?(id: number, max: number): void;
  dataBlocked?(limit: number): void;
  streamDataBlocked?(id: number, limit: number): void;
  pathChallenge?(data: Uint8Array): void;
  pathResponse?(data: Uint8Array): void;
  handshakeDone?(): void;
  newToken?(token: Uint8Array): void;
  datagram?(data: Uint8Array): void;
}

export type FrameParseResult = { ok: true; frames: number } | { ok: false; frames: number; error: 'truncated' | 'unknown-frame-type'; detail: string };

/** Parses every frame of a decrypted payload. Never throws. */
export function parseFrames(payload: Uint8Array, v: FrameVisitor): FrameParseResult {
  const r = new QuicReader(payload, 0, payload.length);
  let frames = 0;
  while (r.left > 0) {
    const at = r.p;
    const type = r.varint();
    if (r.bad) break;
    frames++;
    v.frame?.(type);
    if (type === 0x00) {
      // §19.1 PADDING: a run of zero octets, skipped at once.
      while (r.p < r.end && payload[r.p] === 0) r.p++;
      continue;
    }
    if (type >= 0x08 && type <= 0x0f) {
      // §19.8 STREAM: 0b00001OLF — OFF (0x04), LEN (0x02), FIN (0x01).
      const id = r.varint();
      const offset = type & 0x04 ? r.varint() : 0;
      const len = type & 0x02 ? r.varint() : r.left;
      const data = r.bytes(len);
      if (r.bad) return truncated(frames, 'STREAM', at);
      v.stream?.(id, offset, data, (type & 0x01) !== 0);
      continue;
    }
    switch (type) {
      case 0x01: // §19.2 PING
        break;
      case 0x02:
      case 0x03: {
        // §19.3 ACK: Largest Acknowledged, ACK Delay, ACK Range Count, First ACK Range,
        // ACK Range (Gap, ACK Range Length) …, [ECN Counts: ECT0, ECT1, ECN-CE] for 0x03.
        const largest = r.varint();
        r.varint();
        const count = r.varint();
        const first = r.varint();
        // Each range is at least two octets: a count beyond what is left cannot be real.
        if (count > r.left) return truncated(frames, 'ACK', at);
        // §19.3.1: the first range is [largest − First ACK Range, largest]; each next one ends
        // Gap + 2 below the previous smallest and spans ACK Range Length + 1 numbers.
        let smallest = largest - first;
        const ranges = v.ackRange !== undefined && !r.bad && smallest >= 0;
        if (ranges) v.ackRange!(smallest, largest);
        for (let i = 0; i < count && !r.bad; i++) {
          const gap = r.varint();
          const len = r.varint();
          if (!ranges || r.bad) continue;
          const hi = smallest - gap - 2;
          smallest = hi - len;
          if (smallest >= 0) v.ackRange!(smallest, hi);
        }
        if (type === 0x03) {
          r.varint();
          r.varint();
          r.varint();
        }
        if (r.bad) return truncated(frames, 'ACK', at);
        v.ack?.(largest, count + 1, type === 0x03);
        break;
      }
      case 0x04: {
        const id = r.varint();
        const code = r.varint();
        const finalSize = r.varint();
        if (r.bad) return truncated(frames, 'RESET_STREAM', at);
        v.resetStream?.(id, code, finalSize);
        break;
      }
      case 0x05: {
        const id = r.varint();
        const code = r.varint();
        if (r.bad) return truncated(frames, 'STOP_SENDING', at);
        v.stopSending?.(id, code);
        break;
      }
      case 0x06: {
        // §19.6 CRYPTO: Offset, Length, Crypto Data.
        const offset = r.varint();
        const len = r.varint();
        const data = r.bytes(len);
        if (r.bad) return truncated(frames, 'CRYPTO', at);
        v.crypto?.(offset, data);
        break;
      }
      case 0x07: {
        const len = r.varint();
        const token = r.bytes(len);
        if (r.bad) return truncated(frames, 'NEW_TOKEN', at);
        v.newToken?.(token);
        break;
      }
      case 0x10:
      case 0x12:
      case 0x13:
      case 0x14:
      case 0x16:
      case 0x17: {
        const n = r.varint();
        if (r.bad) return truncated(frames, 'MAX_DATA', at);
        if (type === 0x10) v.maxData?.(n);
        else if (type === 0x14) v.dataBlocked?.(n);
        break;
      }
      case 0x11:
      case 0x15: {
        const id = r.varint();
        const n = r.varint();
        if (r.bad) return truncated(frames, 'MAX_STREAM_DATA', at);
        if (type === 0x11) v.maxStreamData?.(id, n);
        else v.streamDataBlocked?.(id, n);
        break;
      }
      case 0x18: {
        // §19.15 NEW_CONNECTION_ID: Sequence Number, Retire Prior To, Length (8), CID, Reset Token (128).
        const seq = r.varint();
        const retire = r.varint();
        const len = r.u8();
        const cid = r.bytes(len);
        const token = r.bytes(16);
        if (r.bad || len === 0 || len > 20) return truncated(frames, 'NEW_CONNECTION_ID', at);
        v.newConnectionId?.(seq, retire, cid, token);
        break;
      }
      case 0x19: {
        const seq = r.varint();
        if (r.bad) return truncated(frames, 'RETIRE_CONNECTION_ID', at);
        v.retireConnectionId?.(seq);
        break;
      }
      case 0x1a:
      case 0x1b: {
        const data = r.bytes(8);
        if (r.bad) return truncated(frames, 'PATH_CHALLENGE', at);
        if (type === 0x1a) v.pathChallenge?.(data);
        else v.pathResponse?.(data);
        break;
      }
      case 0x1c:
      case 0x1d: {
        // §19.19 CONNECTION_CLOSE: Error Code, [Frame Type] (0x1c only), Reason Phrase Length, Reason Phrase.
        const code = r.varint();
        const ft = type === 0x1c ? r.varint() : null;
        const len = r.varint();
        const reason = r.bytes(len);
        if (r.bad) return truncated(frames, 'CONNECTION_CLOSE', at);
        v.connectionClose?.(type === 0x1d, code, ft, reason);
        break;
      }
      case 0x1e:
        v.handshakeDone?.();
        break;
      case 0x30:
      case 0x31: {
        // RFC 9221 §4: DATAGRAM, 0x31 with a Length field, 0x30 to the end of the packet.
        const len = type === 0x31 ? r.varint() : r.left;
        const data = r.bytes(len);
        if (r.bad) return truncated(frames, 'DATAGRAM', at);
        v.datagram?.(data);
        break;
      }
      default:
        return { ok: false, frames, error: 'unknown-frame-type', detail: `frame type 0x${type.toString(16)} at offset ${at}: its length is unknown, the rest of the packet is skipped` };
    }
    if (r.bad) return truncated(frames, frameTypeName(type), at);
  }
  if (r.bad) return truncated(frames, 'frame type', r.p);
  return { ok: true, frames };
}

function truncated(frames: number, what: string, at: number): FrameParseResult {
  return { ok: false, frames, error: 'truncated', detail: `${what} frame at offset ${at} runs past the end of the packet` };
}

/** Transport error code names (RFC 9000 §20.1); 0x0100–0x01ff are TLS alerts (CRYPTO_ERROR). */
export function transportErrorName(code: number): string {
  if (code >= 0x100 && code <= 0x1ff) return `CRYPTO_ERROR (TLS alert ${code - 0x100})`;
  return TRANSPORT_ERRORS[code] ?? `0x${code.toString(16)}`;
}

const TRANSPORT_ERRORS: Record<number, string> = {
  0x00: 'NO_ERROR',
  0x01: 'INTERNAL_ERROR',
  0x02: 'CONNECTION_REFUSED',
  0x03: 'FLOW_CONTROL_ERROR',
  0x04: 'STREAM_LIMIT_ERROR',
  0x05: 'STREAM_STATE_ERROR',
  0x06: 'FINAL_SIZE_ERROR',
  0x07: 'FRAME_ENCODING_ERROR',
  0x08: 'TRANSPORT_PARAMETER_ERROR',
  0x09: 'CONNECTION_ID_LIMIT_ERROR',
  0x0a: 'PROTOCOL_VIOLATION',
  0x0b: 'INVALID_TOKEN',
  0x0c: 'APPLICATION_ERROR',
  0x0d: 'CRYPTO_BUFFER_EXCEEDED',
  0x0e: 'KEY_UPDATE_ERROR',
  0x0f: 'AEAD_LIMIT_REACHED',
  0x10: 'NO_VIABLE_PATH',
  0x11: 'VERSION_NEGOTIATION_ERROR',
};
