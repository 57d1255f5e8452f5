/** HTTP/1.x: incremental parsing per connection (RFC 9112), sniffers, persistence rules. */
export {
  Http1Session,
  HTTP1_ANOMALY,
  MAX_HEADER_BYTES,
  MAX_START_LINE_BYTES,
  MAX_CHUNK_LINE_BYTES,
  MAX_PAUSED_BYTES,
} from './session.js';
export type { Http1SessionOptions, UpgradeHandoff } from './session.js';
export { looksLikeHttp1Request, looksLikeHttp1Response } from './sniff.js';
export { MAX_BODY_KEEP, MAX_DECODE_BACKLOG } from './decode.js';
export { parseKeepAlive, persistsAfter, decideCloseReason, firstEndOf, matchesTimeout } from './keepalive.js';
export type { KeepAliveParams, CloseFacts, HttpCloseFacts } from './keepalive.js';
