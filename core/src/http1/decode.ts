/**
 * Content-Encoding decoding for size accounting (RFC 9110 §8.4.1): one streaming Node zlib object
 * per response body, fed chunk by chunk as the body arrives; output bytes are counted and dropped
 * (optionally the first `keep` bytes are kept, capped by MAX_BODY_KEEP).
 *
 * Node's zlib streams run asynchronously (libuv thread pool), so the decoded size is known only after
 * the stream has ended: `result` settles then. The session mutates the already-emitted draft's
 * `sizes.responseBodyDecoded` at that point; callers await `Http1Session.settled()` before reading it.
 *
 * Limits: input queued in a decoder but not yet consumed is bounded by MAX_DECODE_BACKLOG; when it is
 * exceeded the decoder gives up (result -1, reason 'backlog') instead of buffering more.
 */
import { Buffer } from 'node:buffer';
import zlib from 'node:zlib';
import type { Transform } from 'node:stream';

/** Most decoded body bytes kept per response when the session option asks for them. */
export const MAX_BODY_KEEP = 1024 * 1024;
/** Most compressed bytes queued in one decoder, not yet consumed by zlib. */
export const MAX_DECODE_BACKLOG = 8 * 1024 * 1024;

export type ContentCoding = 'gzip' | 'deflate' | 'br';

export interface DecodeResult {
  /** Decoded bytes, or -1 when decoding failed or was abandoned. */
  decoded: number;
  /** Why decoding failed: 'error' (corrupt data), 'backlog', 'gap', 'truncated'. */
  failure?: string;
  error?: string;
  kept?: Buffer;
  keptTruncated?: boolean;
}

/** The single coding a Content-Encoding value names, if we can decode it ('x-gzip' is gzip). */
export function contentCoding(value: string | null): ContentCoding | null {
  if (!value) return null;
  const v = value.trim().toLowerCase();
  if (v === 'gzip' || v === 'x-gzip') return 'gzip';
  if (v === 'deflate') return 'deflate';
  if (v === 'br') return 'br';
  return null;
}

export class BodyDecoder {
  readonly result: Promise<DecodeResult>;
  private stream: Transform | null = null;
  private count = 0;
  private failure: string | undefined;
  private errorMessage: string | undefined;
  private keptParts: Buffer[] = [];
  private keptLen = 0;
  private keptTruncated = false;
  private resolve!: (r: DecodeResult) => void;
  private finished = false;

  constructor(
    private readonly coding: ContentCoding,
    private readonly keep = 0,
  ) {
    this.result = new Promise((r) => (this.resolve = r));
  }

  /** Feed body bytes (after transfer-coding removal). The bytes are copied. */
  write(bytes: Uint8Array): void {
    if (this.finished || this.failure || bytes.length === 0) return;
    if (!this.stream) this.stream = this.open(bytes);
    if (this.stream.writableLength + bytes.length > MAX_DECODE_BACKLOG) return this.fail('backlog');
    this.stream.write(Buffer.from(bytes)); // copy: chunk data is only valid during the callback
  }

  /** Bytes were lost: the rest of the stream cannot be decoded. */
  fail(reason: string, message?: string): void {
    if (this.finished) return;
    this.failure ??= reason;
    if (message) this.errorMessage ??= message;
    this.finish();
  }

  /** The body is complete. */
  end(): void {
    if (this.finished) return;
    if (!this.stream || this.failure) return this.finish();
    this.stream.end();
  }

  private open(first: Uint8Array): Transform {
    let s: Transform;
    if (this.coding === 'gzip') s = zlib.createGunzip();
    else if (this.coding === 'br') s = zlib.createBrotliDecompress();
    // "deflate" should be zlib-wrapped (RFC 9110 §8.4.1.2) but some servers send raw deflate:
    // a zlib header has CM = 8 in the low nibble and CINFO ≤ 7 in the high one.
    else s = (first[0] & 0x0f) === 8 && first[0] >> 4 <= 7 ? zlib.createInflate() : zlib.createInflateRaw();
    s.on('data', (out: Buffer) => {
      this.count += out.length;
      if (this.keep > 0 && this.keptLen < this.keep) {
        const take = Math.min(out.length, this.keep - this.keptLen);
        this.keptParts.push(Buffer.from(out.subarray(0, take)));
        this.keptLen += take;
        if (take < out.length) this.keptTruncated = true;
      } else if (this.keep > 0) this.keptTruncated = true;
    });
    s.on('error', (e: Error & { code?: string }) =>
      this.fail(e.code === 'Z_BUF_ERROR' ? 'truncated' : 'error', e.message));
    s.on('end', () => this.finish());
    return s;
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.stream && !this.stream.destroyed) this.stream.destroy();
    const r: DecodeResult = { decoded: this.failure ? -1 : this.count };
    if (this.failure) r.failure = this.failure;
    if (this.errorMessage) r.error = this.errorMessage;
    if (this.keep > 0 && !this.failure) {
      r.kept = Buffer.concat(this.keptParts, this.keptLen);
      r.keptTruncated = this.keptTruncated;
    }
    this.keptParts = [];
    this.resolve(r);
  }
}
