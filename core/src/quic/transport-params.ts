/**
 * QUIC transport parameters (RFC 9000 §18; RFC 9001 §8.2: carried in the TLS extension
 * quic_transport_parameters, 0x39, of the ClientHello and the EncryptedExtensions), and a small
 * walker that finds one extension's raw body in a hello (tls/handshake.ts parses the usual
 * extensions but does not keep unknown bodies).
 *
 * Never throws; a malformed list yields what was read before the fault and `malformed: true`.
 */
import { QuicReader, toHex } from './varint.js';

/** Parameters kept per side (later ones are counted in `skipped`). */
export const MAX_TRANSPORT_PARAMS = 64;

export interface TransportParams {
  /** Named values (RFC 9000 §18.2 names); connection IDs and tokens as hex; unknown ids as 'unknown_0x…'. */
  values: Record<string, number | string | boolean>;
  /** max_idle_timeout in ms (0 = none), when sent. */
  maxIdleTimeoutMs: number | null;
  /** stateless_reset_token (server only), hex. */
  statelessResetToken: string | null;
  skipped: number;
  malformed: boolean;
}

const NAMES: Record<number, string> = {
  0x00: 'original_destination_connection_id',
  0x01: 'max_idle_timeout',
  0x02: 'stateless_reset_token',
  0x03: 'max_udp_payload_size',
  0x04: 'initial_max_data',
  0x05: 'initial_max_stream_data_bidi_local',
  0x06: 'initial_max_stream_data_bidi_remote',
  0x07: 'initial_max_stream_data_uni',
  0x08: 'initial_max_streams_bidi',
  0x09: 'initial_max_streams_uni',
  0x0a: 'ack_delay_exponent',
  0x0b: 'max_ack_delay',
  0x0c: 'disable_active_migration',
  0x0d: 'preferred_address',
  0x0e: 'active_connection_id_limit',
  0x0f: 'initial_source_connection_id',
  0x10: 'retry_source_connection_id',
  0x11: 'version_information', // RFC 9368 §3
  0x20: 'max_datagram_frame_size', // RFC 9221 §3
  0x2ab2: 'grease_quic_bit', // RFC 9287 §3
};

/** Parameters whose value is a varint (RFC 9000 §18.2). */
const VARINT_PARAMS = new Set([0x01, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0e, 0x20]);

/** GREASE ids (RFC 9000 §18.1): 31 * N + 27. */
const isReserved = (id: number): boolean => id >= 27 && (id - 27) % 31 === 0;

export function parseTransportParams(body: Uint8Array): TransportParams {
  const tp: TransportParams = { values: {}, maxIdleTimeoutMs: null, statelessResetToken: null, skipped: 0, malformed: false };
  const r = new QuicReader(body, 0, body.length);
  let n = 0;
  while (r.left > 0) {
    const id = r.varint();
    const len = r.varint();
    const v = r.bytes(len);
    if (r.bad) {
      tp.malformed = true;
      break;
    }
    if (isReserved(id)) continue;
    if (n++ >= MAX_TRANSPORT_PARAMS) {
      tp.skipped++;
      continue;
    }
    const name = NAMES[id] ?? `unknown_0x${id.toString(16)}`;
    if (VARINT_PARAMS.has(id)) {
      const vr = new QuicReader(v, 0, v.length);
      const x = vr.varint();
      if (vr.bad || vr.left !== 0) {
        tp.malformed = true;
        continue;
      }
      tp.values[name] = x;
      if (id === 0x01) tp.maxIdleTimeoutMs = x;
    } else if (id === 0x0c || id === 0x2ab2) {
      tp.values[name] = true;
    } else if (id === 0x11 && v.length >= 4 && v.length % 4 === 0) {
      // RFC 9368 §3: Chosen Version, Available Versions (32 bits each).
      const vr = new QuicReader(v, 0, v.length);
      const list: string[] = [];
      while (vr.left >= 4 && list.length < 16) list.push(vr.u32().toString(16).padStart(8, '0'));
      tp.values[name] = list.join(',');
    } else {
      tp.values[name] = toHex(v.subarray(0, 64));
      if (id === 0x02 && v.length === 16) tp.statelessResetToken = toHex(v);
    }
  }
  return tp;
}

/**
 * The body of extension `type` in a ClientHello (`clientHello`: true; RFC 8446 §4.1.2) or an
 * EncryptedExtensions (false; §4.3.1) message body, or null when absent or malformed.
 */
export function findExtension(body: Uint8Array, clientHello: boolean, type: number): Uint8Array | null {
  const r = new QuicReader(body, 0, body.length);
  if (clientHello) {
    r.skip(2 + 32); // legacy_version, random
    r.skip(r.u8()); // legacy_session_id
    r.skip(r.u16()); // cipher_suites
    r.skip(r.u8()); // legacy_compression_methods
  }
  const total = r.u16();
  if (r.bad || total > r.left) return null;
  const end = r.p + total;
  const e = new QuicReader(body, r.p, end);
  while (e.left >= 4) {
    const t = e.u16();
    const len = e.u16();
    const data = e.bytes(len);
    if (e.bad) return null;
    if (t === type) return data;
  }
  return null;
}
