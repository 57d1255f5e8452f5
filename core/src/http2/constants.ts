/** RFC 9113 constants: frame types (§6), flags, settings (§6.5.2), error codes (§7). */

export const FRAME_HEADER_LENGTH = 9;
/** SETTINGS_MAX_FRAME_SIZE initial value and lower bound (§6.5.2). */
export const DEFAULT_MAX_FRAME_SIZE = 16_384;
/** Largest SETTINGS_MAX_FRAME_SIZE (2^24 − 1) — also the largest length a frame header can carry. */
export const MAX_FRAME_SIZE_LIMIT = 16_777_215;
/** Initial flow-control window, connection and streams (§6.9.2). */
export const DEFAULT_INITIAL_WINDOW_SIZE = 65_535;
/** Largest flow-control window (2^31 − 1, §6.9.1). */
export const MAX_WINDOW_SIZE = 2_147_483_647;
/** The client connection preface (§3.4). */
export const CLIENT_PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
export const CLIENT_PREFACE_BYTES = new Uint8Array(Buffer.from(CLIENT_PREFACE, 'latin1'));

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export type FrameTypeName = keyof typeof FrameType;

export const FRAME_TYPE_NAMES: readonly FrameTypeName[] = [
  'DATA',
  'HEADERS',
  'PRIORITY',
  'RST_STREAM',
  'SETTINGS',
  'PUSH_PROMISE',
  'PING',
  'GOAWAY',
  'WINDOW_UPDATE',
  'CONTINUATION',
];

export const Flags = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

/** Flags defined for each frame type (others must be ignored, §4.1). */
export const DEFINED_FLAGS: readonly number[] = [
  Flags.END_STREAM | Flags.PADDED, // DATA
  Flags.END_STREAM | Flags.END_HEADERS | Flags.PADDED | Flags.PRIORITY, // HEADERS
  0, // PRIORITY
  0, // RST_STREAM
  Flags.ACK, // SETTINGS
  Flags.END_HEADERS | Flags.PADDED, // PUSH_PROMISE
  Flags.ACK, // PING
  0, // GOAWAY
  0, // WINDOW_UPDATE
  Flags.END_HEADERS, // CONTINUATION
];

export const SETTINGS_NAMES: Readonly<Record<number, string>> = {
  0x1: 'HEADER_TABLE_SIZE',
  0x2: 'ENABLE_PUSH',
  0x3: 'MAX_CONCURRENT_STREAMS',
  0x4: 'INITIAL_WINDOW_SIZE',
  0x5: 'MAX_FRAME_SIZE',
  0x6: 'MAX_HEADER_LIST_SIZE',
  0x8: 'ENABLE_CONNECT_PROTOCOL', // RFC 8441
  0x9: 'NO_RFC7540_PRIORITIES', // RFC 9218
};

export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

export const ERROR_CODE_NAMES: readonly string[] = [
  'NO_ERROR',
  'PROTOCOL_ERROR',
  'INTERNAL_ERROR',
  'FLOW_CONTROL_ERROR',
  'SETTINGS_TIMEOUT',
  'STREAM_CLOSED',
  'FRAME_SIZE_ERROR',
  'REFUSED_STREAM',
  'CANCEL',
  'COMPRESSION_ERROR',
  'CONNECT_ERROR',
  'ENHANCE_YOUR_CALM',
  'INADEQUATE_SECURITY',
  'HTTP_1_1_REQUIRED',
];

export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
} as const;

export function errorCodeName(code: number): string {
  return ERROR_CODE_NAMES[code] ?? `0x${code.toString(16)}`;
}

export function settingName(id: number): string {
  return SETTINGS_NAMES[id] ?? `0x${id.toString(16)}`;
}
