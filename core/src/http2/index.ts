/** HTTP/2 (RFC 9113) and HPACK (RFC 7541): public surface. */
export {
  Http2Session,
  HTTP2_ANOMALY,
  MAX_HEADER_BLOCK_BYTES,
  MAX_OPEN_STREAMS,
  MAX_PING_SAMPLES,
  MAX_SETTINGS_RECORDS,
  MAX_STALLS,
  MAX_TABLE_SNAPSHOTS,
  MAX_WAITED_STREAMS,
  MAX_WINDOW_SAMPLES,
  MAX_PUSH_CANCELLED,
  type FlowControlStall,
  type H2cUpgrade,
  type H2cUpgradeRequest,
  type Http2SessionOptions,
} from './session.js';
export { FrameParser, findFrameBoundary, plausibleFrameHeader, MAX_BUFFERED_FRAME_PAYLOAD, MAX_RESYNC_BUFFER, type Frame, type FrameInfo, type FrameParserStats } from './frames.js';
export * from './constants.js';
export * from './hpack/index.js';
