/** HTTP/3 code points (RFC 9114 §7.2 frame types, §6.2 stream types, §7.2.4.1 settings; RFC 9204 §5). */

export const H3Frame = {
  DATA: 0x00,
  HEADERS: 0x01,
  CANCEL_PUSH: 0x03,
  SETTINGS: 0x04,
  PUSH_PROMISE: 0x05,
  GOAWAY: 0x07,
  MAX_PUSH_ID: 0x0d,
  /** RFC 9218 §7.2. */
  PRIORITY_UPDATE_REQUEST: 0xf0700,
  PRIORITY_UPDATE_PUSH: 0xf0701,
} as const;

export const H3Stream = {
  CONTROL: 0x00,
  PUSH: 0x01,
  QPACK_ENCODER: 0x02,
  QPACK_DECODER: 0x03,
} as const;

export function h3FrameName(t: number): string {
  switch (t) {
    case 0x00: return 'DATA';
    case 0x01: return 'HEADERS';
    case 0x03: return 'CANCEL_PUSH';
    case 0x04: return 'SETTINGS';
    case 0x05: return 'PUSH_PROMISE';
    case 0x07: return 'GOAWAY';
    case 0x0d: return 'MAX_PUSH_ID';
    case 0xf0700: case 0xf0701: return 'PRIORITY_UPDATE';
    default: return isReservedH3(t) ? 'reserved' : `0x${t.toString(16)}`;
  }
}

/** Reserved (GREASE) frame, stream and setting types: 0x1f * N + 0x21 (RFC 9114 §7.2.8, §6.2.3, §7.2.4.1). */
export function isReservedH3(t: number): boolean {
  return t >= 0x21 && (t - 0x21) % 0x1f === 0;
}

export function h3SettingName(id: number): string {
  switch (id) {
    case 0x01: return 'SETTINGS_QPACK_MAX_TABLE_CAPACITY';
    case 0x06: return 'SETTINGS_MAX_FIELD_SECTION_SIZE';
    case 0x07: return 'SETTINGS_QPACK_BLOCKED_STREAMS';
    case 0x08: return 'SETTINGS_ENABLE_CONNECT_PROTOCOL'; // RFC 9220
    case 0x33: return 'SETTINGS_H3_DATAGRAM'; // RFC 9297
    default: return isReservedH3(id) ? 'reserved' : `0x${id.toString(16)}`;
  }
}
