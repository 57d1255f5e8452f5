/**
 * QUIC (RFC 9000, RFC 9001, RFC 9369) and, on top of it, HTTP/3: the public surface the engine uses.
 * `createQuicTable` wires the table to the HTTP/3 session chosen by ALPN.
 */
import type { Connection } from '../model/types.js';
import type { RequestDraft } from '../model/exchange.js';
import type { KeyLog } from '../tls/keylog.js';
import { createH3Session } from '../http3/session.js';
import type { QuicConnection } from './connection.js';
import { QuicTable } from './table.js';

export { QuicTable, MAX_QUIC_CONNECTIONS, MAX_QUIC_CIDS, CLOSED_LINGER_MS } from './table.js';
export { QUIC_CONNECTION_ID_BASE, QuicConnection, QUIC_ANOMALY, MAX_CRYPTO_BYTES, MAX_QUIC_STREAMS } from './connection.js';
export type { QuicStreamSink } from './streams.js';

export interface QuicEngineHooks {
  count(name: string, n?: number): void;
  keys: KeyLog | null;
  request(conn: QuicConnection, d: RequestDraft): void;
  connection(c: Connection): void;
}

export function createQuicTable(h: QuicEngineHooks): QuicTable {
  return new QuicTable({
    count: h.count,
    keys: h.keys,
    session: (info, alpn, out) => createH3Session(info, alpn, out, h.count),
    request: h.request,
    connection: (c) => h.connection(c),
  });
}
