/**
 * The wirefall model: plain records that the engine emits and every view (CLI table, JSON, NDJSON,
 * HAR, the desktop app) reads. Nothing here computes protocol facts; see `phases.ts` for the one
 * pure function that turns a request's times into DevTools/HAR phases.
 *
 * Time convention (also stated in core/schema/report.schema.json):
 *   every `*Time`/`time` field is a capture time in **milliseconds since the capture's first packet**
 *   (`capture.startEpochMs` is that packet's wall-clock time). Every `*Ms` field is a duration in
 *   milliseconds. Unknown durations are -1 (as in HAR and DevTools), unknown times are `null`.
 * Packet numbers are 1-based frame numbers, as Wireshark/tshark count them.
 */
import type { FindingGroup } from '../view/finding-groups.js';

export interface Endpoint {
  ip: string;
  port: number;
}

export type Side = 'client' | 'server';

/** How the client/server roles of a connection were decided. */
export type RoleInference =
  | 'syn' // the SYN (or SYN/ACK) was seen: the SYN's sender is the client (QUIC: the client's first Initial was seen)
  | 'port' // start unseen: the well-known / lower port is the server
  | 'data'; // start unseen: the side that sent a request-looking first payload is the client

export interface DirectionStats {
  /** Frames that carried this connection's segments in this direction. */
  packets: number;
  /** Frame lengths on the wire (pcap orig_len), summed — comparable with tshark's conversation bytes. */
  frameBytes: number;
  /** TCP payload bytes as captured, including retransmitted copies. */
  payloadBytes: number;
  /** Distinct stream bytes delivered in order to the application layer. */
  deliveredBytes: number;
  retransmissions: number;
  outOfOrder: number;
  /** Stream bytes never seen in the capture (holes delivered as gaps). */
  lostBytes: number;
  zeroWindow: number;
  /** Segments that carried payload beyond the captured length (snaplen), bytes counted as lost. */
  truncatedSegments: number;
}

export interface IdlePeriod {
  startTime: number;
  endTime: number;
  durationMs: number;
  /** Request index (1-based) after which the connection idled, when known (HTTP layer). */
  afterRequest?: number;
}

export type CloseHow = 'fin' | 'rst' | 'open';

/** Why a connection ended, as far as the capture shows (HTTP layers refine `reason`). */
export type CloseReason =
  | 'client-close'
  | 'server-close'
  | 'connection-close-header'
  | 'idle-timeout'
  | 'max-requests'
  | 'http10-no-keepalive'
  | 'close-delimited-body'
  | 'rst'
  | 'goaway'
  | 'capture-end'
  | 'unknown';

export interface ConnectionClose {
  /** Who closed (sent FIN or RST) first; null while still open at capture end. */
  by: Side | null;
  how: CloseHow;
  /** Time of the first FIN/RST, or null. */
  time: number | null;
  /** Packet number of the first FIN/RST. */
  packet: number | null;
  reason: CloseReason;
  /** Human-readable explanation of `reason` (one sentence). */
  detail?: string;
}

export interface KeepAliveContract {
  /** Protocol default: HTTP/1.1 persistent, HTTP/1.0 not (RFC 9112 §9.3). */
  defaultPersistent: boolean;
  clientConnection?: string; // last Connection header value sent by the client
  serverConnection?: string;
  /** `Keep-Alive: timeout=N` in seconds, as advertised by the server. */
  timeoutS?: number;
  /** `Keep-Alive: max=M`. */
  max?: number;
  proxyConnection?: string;
  /**
   * After each exchange (exchange index − 1), whether the connection was still reusable for another
   * request: both sides let it persist (below), the response was self-delimited (not
   * `http1.closeDelimited`), no protocol switch or tunnel, no `Keep-Alive: max=0`; false when the
   * connection ended before the response completed (http1/keepalive.ts `reusableAfter`).
   */
  reusableAfter: boolean[];
  /**
   * Per exchange (index − 1, beside `reusableAfter`): RFC 9112 §9.3 as the server read the request
   * (http1/keepalive.ts `persistBasis`). The client asked the connection to persist when `http/1.1`
   * or `keep-alive`. null for a request answered but not recorded (past the session's limit of
   * outstanding requests). Absent in reports written before it was recorded.
   */
  clientPersistence?: (PersistBasis | null)[];
  /**
   * The same for the final response, as the client read it: the server let the connection persist
   * when `http/1.1` or `keep-alive`. null when no final response header block was seen.
   */
  serverPersistence?: (PersistBasis | null)[];
}

/**
 * Why the recipient of an HTTP/1 message decided the connection does or does not persist after
 * it (RFC 9112 §9.3, tested in this order): `close` — the Connection header lists close (not
 * persistent); `http/1.1` — HTTP/1.1 or later (persistent by default); `keep-alive` — HTTP/1.0
 * listing keep-alive (persistent); `http/1.0` — HTTP/1.0 (or 0.9) without it (not persistent).
 */
export type PersistBasis = 'close' | 'http/1.1' | 'keep-alive' | 'http/1.0';

/**
 * The HTTP protocol of a connection once known ('h2' is HTTP/2 over TLS, 'h2c' over cleartext TCP,
 * 'h3' HTTP/3 over QUIC); 'tls' while a TLS connection's protocol is not known (no ALPN seen and no keys).
 */
export type AppProtocol = 'http/1.0' | 'http/1.1' | 'h2c' | 'h2' | 'h3' | 'tls' | 'websocket' | 'tunnel' | 'unknown' | 'none';

/** Why a TLS connection's contents could not be read (stable codes; `TlsInfo.undecryptedReason`). */
export type UndecryptedReason =
  | 'no-keys' // no key log line for this connection's client random
  | 'keys-mismatch' // key log lines found, but the records' AEAD tags / MACs do not verify
  | 'handshake-not-captured' // the capture started after the ClientHello / ServerHello
  | 'unsupported-cipher' // a cipher suite (or protocol version) wirefall cannot decrypt
  | 'data-lost'; // capture loss cut the handshake or the records needed to keep decrypting

export interface TlsCertificate {
  subject: string;
  /** subjectAltName DNS names and IP addresses. */
  sans: string[];
  issuer: string;
  /** ISO 8601, or null when the certificate could not be decoded. */
  notBefore: string | null;
  notAfter: string | null;
}

export interface TlsAlert {
  side: Side;
  /** 1 warning, 2 fatal; null when the alert was encrypted and not decrypted. */
  level: number | null;
  /** RFC 8446 §6 name (close_notify, handshake_failure, ...); null when encrypted. */
  description: string | null;
  time: number;
  packet: number;
}

/**
 * What a TLS connection shows (RFC 8446, RFC 5246): from the cleartext handshake without keys, and
 * from the decrypted handshake (TLS 1.3 EncryptedExtensions, Certificate, tickets) with them.
 */
export interface TlsInfo {
  /** Negotiated version ('TLS 1.3', 'TLS 1.2', …; supported_versions wins, RFC 8446 §4.2.1); null before a ServerHello. */
  version: string | null;
  /** IANA name, e.g. 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384'; null before a ServerHello. */
  cipherSuite: string | null;
  /** Numeric code points of the above (0 when unknown). */
  versionCode: number;
  cipherSuiteCode: number;
  /** server_name (RFC 6066 §3) from the ClientHello. */
  sni: string | null;
  /** ALPN (RFC 7301): offered by the client; selected by the server (ServerHello in TLS 1.2, EncryptedExtensions in 1.3: needs keys). */
  alpn: { offered: string[]; selected: string | null };
  /** The handshake resumed a session: TLS 1.3 PSK accepted, TLS 1.2 abbreviated handshake. */
  resumed: boolean;
  /** The client offered resumption (1.3 pre_shared_key; 1.2 non-empty session ticket or session id). */
  resumptionOffered: boolean;
  /** The server issued a ticket (NewSessionTicket seen, or 1.2 session_ticket extension echoed). */
  ticketIssued: boolean;
  /** 0-RTT (RFC 8446 §4.2.10): none, offered by the client, accepted or rejected by the server (known with keys). */
  earlyData: 'none' | 'offered' | 'accepted' | 'rejected';
  /** A HelloRetryRequest made the client send a second ClientHello (one more round trip). */
  helloRetry: boolean;
  /** Round trips before the client may send application data: 1.3 full 1 (+1 after HelloRetryRequest, 0 with accepted 0-RTT), 1.2 full 2, abbreviated 1; -1 unknown. */
  handshakeRtts: number;
  /** Times: ClientHello, ServerHello, handshake complete for the client, first application data each way. */
  clientHelloTime: number | null;
  serverHelloTime: number | null;
  handshakeEndTime: number | null;
  firstAppDataTime: { client: number | null; server: number | null };
  /** The server's leaf certificate (TLS ≤ 1.2 in clear; 1.3 only when decrypted). */
  certificate: TlsCertificate | null;
  alerts: TlsAlert[];
  /** Each side's close_notify (RFC 8446 §6.1) before its FIN; a FIN without one is a truncation to the peer. */
  closeNotify: { client: boolean; server: boolean };
  /** Records seen per direction, and how many of them were application data. */
  records: { client: number; server: number; applicationData: number };
  /** Application data was decrypted and handed to HTTP. */
  decrypted: boolean;
  /** Why not (null when decrypted, or when the connection carried no application data). */
  undecryptedReason: UndecryptedReason | null;
  /** Records that failed to decrypt (tag/MAC failure or lost bytes inside them). */
  undecryptableRecords: number;
}

/** Packets of one direction of a QUIC connection, by type (RFC 9000 §17). */
export interface QuicPacketCounts {
  initial: number;
  handshake: number;
  zeroRtt: number;
  oneRtt: number;
  retry: number;
  versionNegotiation: number;
  /** Packets whose protection could not be removed (no keys, keys that do not authenticate, too short). */
  undecryptable: number;
}

/** A CONNECTION_CLOSE frame (RFC 9000 §19.19), the first one seen. */
export interface QuicClose {
  by: Side;
  /** Frame type 0x1d: an application (HTTP/3) error code; 0x1c: a transport error code. */
  application: boolean;
  errorCode: number;
  /** RFC 9000 §20.1 / RFC 9114 §8.1 name, e.g. 'NO_ERROR', 'H3_NO_ERROR', 'CRYPTO_ERROR (TLS alert 40)'. */
  error: string;
  /** The frame type that caused a transport error (0x1c only), else null. */
  frameType: number | null;
  reason: string;
  /** The packet type that carried it: visible without keys in Initial packets, needs keys in Handshake and 1-RTT ones. */
  epoch: 'initial' | 'handshake' | '0rtt' | '1rtt';
  time: number;
  packet: number;
}

/** QUIC facts of a connection (RFC 9000, RFC 9001; `Connection.transport` is 'quic'). */
export interface QuicInfo {
  /** Version of the client's first Initial: 'QUICv1', 'QUICv2' (RFC 9369), 'draft-29', or '0x…'. */
  version: string;
  versionCode: number;
  /** The version the server answered in when it differs (compatible version negotiation, RFC 9368), else null. */
  negotiatedVersion: string | null;
  /** The client's first Destination Connection ID (hex): it keys the Initial secrets (RFC 9001 §5.2). */
  originalDcid: string;
  /** Connection IDs seen (hex), by the side that chose them (its peer puts them in Destination Connection IDs). */
  connectionIds: { client: string[]; server: string[] };
  packets: { client: QuicPacketCounts; server: QuicPacketCounts };
  /** Datagrams that carried more than one QUIC packet (RFC 9000 §12.2). */
  coalescedDatagrams: number;
  /** A Retry (RFC 9000 §17.2.5) and whether its integrity tag verified (RFC 9001 §5.8). */
  retry: { time: number; packet: number; tokenBytes: number; integrityValid: boolean } | null;
  /** A Version Negotiation packet (RFC 9000 §17.2.1) and the versions it offered. */
  versionNegotiation: { time: number; packet: number; versions: string[] } | null;
  /** Client address changes (RFC 9000 §9: migration or NAT rebinding) — the connection IDs kept it one connection. */
  migrations: { time: number; packet: number; from: Endpoint; to: Endpoint }[];
  close: QuicClose | null;
  /**
   * How the connection ended as far as the capture shows: a CONNECTION_CLOSE, a stateless reset
   * (RFC 9000 §10.3, recognised with keys only), silence longer than the idle timeout (§10.1), or
   * still open when the capture ended.
   */
  end: 'connection-close' | 'stateless-reset' | 'idle-timeout' | 'capture-end';
  /** Effective idle timeout (RFC 9000 §10.1: the minimum of both sides' non-zero max_idle_timeout); null when unknown. */
  idleTimeoutMs: number | null;
  /** Transport parameters (RFC 9000 §18.2): the client's from its ClientHello, the server's (EncryptedExtensions) with keys only. */
  transportParameters: { client: Record<string, number | string | boolean> | null; server: Record<string, number | string | boolean> | null };
  /** 1-RTT key updates seen (RFC 9001 §6), both directions. */
  keyUpdates: number;
  /** Server's HANDSHAKE_DONE (RFC 9001 §4.1.2: handshake confirmed), with keys. */
  handshakeDoneTime: number | null;
  /** Streams opened, by the side that opened them (RFC 9000 §2.1), with keys. */
  streams: { client: { bidi: number; uni: number }; server: { bidi: number; uni: number } };
  /** Frames decrypted, by type name and direction. */
  frames: { client: Record<string, number>; server: Record<string, number> };
}

/** One run of payload arrivals: packets of one direction no further apart than `DirectionMarks.mergeMs`. */
export interface ArrivalRun {
  startTime: number;
  endTime: number;
  packets: number;
  /** Payload bytes as captured (retransmitted copies included). */
  bytes: number;
  firstPacket: number;
}

/**
 * Packet-level evidence of one TCP direction (tcp/marks.ts), present only when the analysis was
 * asked for it (AnalyzeOptions.packetMarks; the view does, the CLI does not). Bounded: see tcp/marks.ts.
 */
export interface DirectionMarks {
  /** When payload arrived, merged into runs (at most MAX_ARRIVAL_RUNS, coarser after each `coarsened`). */
  arrivals: ArrivalRun[];
  /** Packets closer than this (ms) share a run. */
  mergeMs: number;
  /** Times the runs were merged pairwise at the limit. */
  coarsened: number;
  /** Retransmitted or out-of-order segments (model/late-segments.ts), the first MAX_LATE_MARKS. */
  late: { time: number; packet: number; bytes: number }[];
  lateDropped: number;
}

export interface Connection {
  /**
   * TCP: 0-based, in order of first packet; equals tshark's `tcp.stream` numbering. QUIC:
   * QUIC_CONNECTION_ID_BASE (1 000 000 000) + n, n 0-based in order of first packet as tshark's
   * `quic.connection.number`, so the two numberings never collide.
   */
  id: number;
  /** What carries the connection: absent or 'tcp' for TCP (with or without TLS), 'quic' for QUIC. */
  transport?: 'tcp' | 'quic';
  client: Endpoint;
  server: Endpoint;
  roles: RoleInference;
  /** False when the capture starts after the connection opened (no SYN seen). */
  startSeen: boolean;
  firstPacket: number;
  lastPacket: number;
  /** Times (ms since capture start). */
  firstTime: number;
  lastTime: number;
  synTime: number | null;
  synAckTime: number | null;
  establishedTime: number | null;
  firstDataTime: number | null;
  lastDataTime: number | null;
  /** SYN → SYN/ACK → ACK as seen from the capture point; -1 if not seen. */
  handshakeRttMs: number;
  /** Client-side part (SYN/ACK → ACK) and server-side part (SYN → SYN/ACK). */
  synToSynAckMs: number;
  synAckToAckMs: number;
  durationMs: number;
  close: ConnectionClose;
  stats: { client: DirectionStats; server: DirectionStats };
  idle: IdlePeriod[];
  protocol: AppProtocol;
  requestCount: number;
  keepAlive?: KeepAliveContract;
  /** TLS facts when the connection speaks TLS (with or without keys); for QUIC, its TLS 1.3 handshake. */
  tls?: TlsInfo;
  /** QUIC facts (transport 'quic' only). */
  quic?: QuicInfo;
  /** Counted oddities: 'ooo-buffer-limit', 'data-after-fin', ... */
  anomalies: Anomaly[];
  /** HTTP/2 connection facts (protocol 'h2'/'h2c'; see H2ConnectionFacts and core/src/http2/README.md). */
  h2?: H2ConnectionFacts;
  /** Packet-level evidence per direction (TCP only, AnalyzeOptions.packetMarks). */
  packetMarks?: { client: DirectionMarks; server: DirectionMarks };
  /**
   * Free-form facts of the other application layers, not (yet) typed: HTTP/1.x (`upgradedBytes`,
   * `upgrade`, `tunnel`, `http09`, `requestsNotRecorded`, ...) and HTTP/3 (`h3`: settings, QPACK).
   * HTTP/2 facts are in `h2`, TLS facts in `tls`, QUIC facts in `quic`.
   */
  extra?: Record<string, unknown>;
}

export interface Anomaly {
  code: string;
  packet?: number;
  time?: number;
  detail?: string;
}

export interface Header {
  name: string;
  value: string;
}

/** DevTools phase ids (RequestTimeRanges.ts); labels live only in the UI. */
export type PhaseId =
  | 'queueing'
  | 'blocking'
  | 'proxy'
  | 'dns'
  | 'connecting'
  | 'ssl'
  | 'sending'
  | 'waiting'
  | 'receiving'
  | 'push';

export interface Phase {
  name: PhaseId;
  startTime: number;
  endTime: number;
}

/** HAR 1.2 timings (ms, -1 = unknown / not applicable). `ssl` is included in `connect`. */
export interface HarTimings {
  blocked: number;
  dns: number;
  connect: number;
  ssl: number;
  send: number;
  wait: number;
  receive: number;
}

/** The raw times an exchange was seen at; phases() derives everything else. */
export interface RequestTimes {
  /** When the request could first have been issued (connection start, or previous end). */
  queuedTime: number | null;
  dnsStartTime: number | null;
  dnsEndTime: number | null;
  connectStartTime: number | null; // SYN
  connectEndTime: number | null; // handshake ACK (or TLS start)
  sslStartTime: number | null;
  sslEndTime: number | null;
  requestStartTime: number; // first request byte
  requestEndTime: number | null; // last request byte
  responseStartTime: number | null; // first response byte
  responseEndTime: number | null; // last response byte
}

export type ExchangeState = 'complete' | 'no-response' | 'incomplete-response' | 'aborted' | 'reset';

export interface Request {
  /**
   * Global id in the report, 0-based, in order of completion (the order NDJSON hands requests out;
   * HTTP/2 streams complete out of order). `index` gives the order on the connection.
   */
  id: number;
  connectionId: number;
  /** 1-based position on its connection (Zeek's trans_depth). */
  index: number;
  streamId?: number;
  method: string;
  /** Absolute URL (scheme://Host/target). */
  url: string;
  target: string;
  httpVersion: string; // 'HTTP/0.9' | 'HTTP/1.0' | 'HTTP/1.1' | 'h2' | 'h3'
  status: number | null;
  statusText: string;
  requestHeaders: Header[];
  responseHeaders: Header[];
  /** Interim (1xx) responses before the final one. */
  informational?: { status: number; time: number }[];
  trailers?: Header[];
  sizes: {
    requestHeaders: number;
    requestBody: number;
    responseHeaders: number;
    /** Body bytes on the wire (after transfer coding framing is removed: chunk payloads). */
    responseBody: number;
    /** Bytes on the wire including chunk framing. */
    responseBodyWire: number;
    /** After Content-Encoding decoding, when decoded; -1 if not decoded. */
    responseBodyDecoded: number;
  };
  times: RequestTimes;
  timings: HarTimings;
  /** Request was sent while an earlier response on the connection was still outstanding. */
  pipelined: boolean;
  connectionReused: boolean;
  pushed?: boolean;
  state: ExchangeState;
  /** Packet numbers: [first, last] of request and response bytes. */
  packets: { request: [number, number]; response: [number, number] | null };
  /** Bytes lost to capture gaps inside this exchange. */
  lostBytes: number;
  anomalies: Anomaly[];
  /** Upgrade target after 101 ('websocket', 'h2c', other token). */
  upgrade?: string;
  /** HTTP/2 stream facts (httpVersion 'h2'; see H2RequestFacts). */
  h2?: H2RequestFacts;
  /** HTTP/1.x exchange facts, present only when one of them is (see Http1RequestFacts). */
  http1?: Http1RequestFacts;
  /** Free-form facts of the HTTP/3 session (`rst`, `stopSending`, `requestTrailers`, `pushPromises`, ...). */
  extra?: Record<string, unknown>;
}

/**
 * Typed protocol facts (replacing the untyped `extra` for HTTP/1 and HTTP/2). Layout:
 *   - `Connection.h2`: what the HTTP/2 session knows of the whole connection at close;
 *   - `Request.h2`: per stream (HPACK annotations, flow control, TCP head-of-line, RST, priority, push);
 *   - `Request.http1`: per HTTP/1.x exchange, only the members that apply (absent when none does).
 * Nested detail records (frame counters, HPACK table summaries, head-of-line episodes) are typed
 * here too but described loosely in the JSON schema (additionalProperties allowed).
 */

/** Capture times whose octets TCP delivered later than captured (head-of-line), by `RequestTimes` field; only those that differ. */
export type DeliveredTimes = Partial<Record<keyof RequestTimes, number>>;

/** HPACK header-compression counters (core/src/http2/hpack/stats.ts). */
export interface H2CompressionStats {
  encodedBytes: number;
  http1Bytes: number;
  savedBytes: number;
  savedByDynamicTable: number;
}

/** One SETTINGS frame (or the h2c HTTP2-Settings header) and its ACK. */
export interface H2SettingsRecord {
  time: number;
  packet: number;
  /** By setting name (`HEADER_TABLE_SIZE`, `MAX_CONCURRENT_STREAMS`, `INITIAL_WINDOW_SIZE`, ...; unknown ids as `0x..`). */
  settings: Record<string, number>;
  ackTime: number | null;
  ackPacket: number | null;
  /** 'frame' or 'HTTP2-Settings' (h2c upgrade header, acknowledged implicitly by the 101). */
  via?: string;
}

export interface H2Goaway {
  lastStreamId: number;
  errorCode: string;
  debugData: string;
  time: number;
  packet: number;
}

/** Frame parser counters of one direction (core/src/http2/frames.ts FrameParserStats). */
export interface H2FrameStats {
  frames: number;
  frameBytes: number;
  byType: Record<string, number>;
  unknownFrames: number;
  malformedFrames: number;
  oversizedFrames: number;
  desyncs: number;
  droppedBytes: number;
}

/** The HPACK dynamic table after one header block (bounded: MAX_TABLE_SNAPSHOTS per side). */
export interface H2TableSnapshot {
  time: number;
  packet: number;
  streamId: number;
  entries: number;
  size: number;
  maxSize: number;
  unknownOlderEntries?: boolean;
  sizeUpdates?: number[];
  sizeUpdateCount?: number;
}

/** The HPACK dynamic table at connection close (core/src/http2/hpack/decoder.ts TableSnapshot). */
export interface H2FinalTable {
  entries: { name: string; value: string; size: number; unknown?: boolean }[];
  entryCount: number;
  size: number;
  maxSize: number;
  ceiling: number;
  unknownOlderEntries: boolean;
  inserted: number;
  evicted: number;
  forgotten: number;
  sizeUpdates: number;
}

/** What one side (as sender) did on an HTTP/2 connection. */
export interface H2SideFacts {
  settings: H2SettingsRecord[];
  frames: H2FrameStats;
  headerBlocks: number;
  compression: H2CompressionStats;
  hpackTable: H2TableSnapshot[];
  finalHpackTable: H2FinalTable;
  /** Connection-level send window of this side at close. */
  connectionWindow: number;
  lostBytes: number;
  goaway?: H2Goaway;
}

/** A flow-control stall (see core/src/http2/session.ts header comment). */
export interface H2FlowControlStall {
  side: Side;
  /** 0 = the connection window. */
  streamId: number;
  startTime: number;
  endTime: number;
  durationMs: number;
  startPacket: number;
  endPacket: number | null;
  resolved: boolean;
  dataFollowed: boolean;
}

/** TCP head-of-line blocking of one stream in one direction (core/src/http2/tcp-hol.ts StreamHol). */
export interface H2StreamHol {
  stalledMs: number;
  stalls: number;
  ownLossStalls: number;
  heldBytes: number;
}

export interface H2HolEpisode {
  side: Side;
  releaseTime: number;
  releasePacket: number;
  firstHeldTime: number;
  firstHeldPacket: number;
  heldBytes: number;
  blockers: { streamId: number; bytes: number; packet: number; time: number }[];
  streams: { streamId: number; bytes: number; firstTime: number; firstPacket: number; lastPacket: number; holMs: number; waitMs: number }[];
}

/** TCP head-of-line blocking of one direction (core/src/http2/tcp-hol.ts DirectionHol). */
export interface H2DirectionHol {
  episodes: H2HolEpisode[];
  streamStalledMs: number;
  stalledMs: number;
  heldBytes: number;
  approximate: boolean;
  dropped: { episodes: number; pieces: number };
}

/** `Connection.h2`: the HTTP/2 session's facts at connection close. */
export interface H2ConnectionFacts {
  /** The client connection preface was captured (false: capture began mid-connection). */
  prefaceSeen: boolean;
  client: H2SideFacts;
  server: H2SideFacts;
  /** Most client-initiated streams open at once, and most streams (both sides) open at once. */
  maxConcurrentStreams: number;
  maxOpenStreams: number;
  /** Client streams that may have waited for the server's MAX_CONCURRENT_STREAMS (maxWaitMs: an upper bound). */
  streamsWaitedForConcurrencyLimit: { streamId: number; limit: number; limitReachedTime: number; openedTime: number; maxWaitMs: number }[];
  pingRtts: { side: Side; time: number; rttMs: number; packet: number }[];
  /** Flow-control windows could be replayed (false after a mid-connection start or a lost frame boundary). */
  flowControlTracked: boolean;
  /** Connection send-window series (bounded: MAX_WINDOW_SAMPLES). */
  windows: { time: number; side: Side; window: number }[];
  flowControlStalls: H2FlowControlStall[];
  /** Pushed streams the client reset, with the octets the server sent before and after the reset. */
  pushCancelled: { streamId: number; code: string; time: number; bytesBeforeReset: number; bytesAfterReset: number }[];
  pushedBytesUnused: number;
  /** Both directions' HPACK counters summed. */
  compression: H2CompressionStats;
  priorityFrames: number;
  streamsWithoutHeaders: number;
  tcpHol: { client: H2DirectionHol; server: H2DirectionHol };
  /** Records dropped at a named limit, by record kind (present only when some were). */
  dropped?: Record<string, number>;
}

/** One decoded header field as HPACK carried it (core/src/http2/hpack/decoder.ts DecodedField). */
export interface HpackFieldNote {
  name: string;
  rep: 'indexed' | 'incremental' | 'without-indexing' | 'never-indexed';
  wireBytes: number;
  index?: number;
  nameIndex?: number;
  table?: 'static' | 'dynamic';
  nameHuffman?: boolean;
  valueHuffman?: boolean;
  /** Refers to a dynamic entry from before the capture. */
  unknown?: boolean;
}

/** `Request.h2`: the facts of one HTTP/2 stream. */
export interface H2RequestFacts {
  /** Per field of the request/response header blocks, in order; and the blocks' compression counters. */
  hpack: { request: HpackFieldNote[]; response: HpackFieldNote[]; stats: { request: H2CompressionStats; response: H2CompressionStats } };
  /** Time each direction's sender was flow-control blocked (stream or connection window). */
  flowControl: { request: { stalledMs: number; stalls: number }; response: { stalledMs: number; stalls: number } };
  deliveredTimes?: DeliveredTimes;
  /** TCP head-of-line blocking of this stream per direction (only when there was some). */
  tcpHol?: { request?: H2StreamHol; response?: H2StreamHol };
  rst?: { by: Side; code: string; time: number; packet: number };
  /** RFC 7540 priority carried on the request HEADERS. */
  priority?: { exclusive: boolean; dependency: number; weight: number };
  /** Pushed stream: the stream whose PUSH_PROMISE announced it. */
  promisedBy?: number;
  requestTrailers?: Header[];
  /**
   * When the server's DATA frames of this stream arrived, merged into runs (h2-data-marks.ts);
   * only when the analysis kept packet marks (AnalyzeOptions.packetMarks; the view does).
   */
  dataRuns?: H2DataRun[];
}

/** DATA frames of one stream that arrived close together: the span of their packets' capture times. */
export interface H2DataRun {
  startTime: number;
  endTime: number;
  frames: number;
  /** DATA payload octets (padding included), as the frame headers say. */
  bytes: number;
  firstPacket: number;
}

/** `Request.http1`: facts of one HTTP/1.x exchange (each member only when it applies). */
export interface Http1RequestFacts {
  deliveredTimes?: DeliveredTimes;
  /** The status line's version when it differs from the request's (`HTTP/1.0` answering `HTTP/1.1`). */
  responseHttpVersion?: string;
  /**
   * The response body ended with the connection (RFC 9112 §6.3 ¶4, ¶5, ¶8: neither Content-Length
   * nor chunked as the final coding, or an unusable Content-Length): the response is not
   * self-delimited, and the connection could not carry another exchange after it. Decided by
   * http1/keepalive.ts (`framingByStatus`, `framingByHeaders`); absent when self-delimited.
   */
  closeDelimited?: true;
  /** Decoded response body octets kept (base64, up to the session's `keep` option), and whether more were cut. */
  body?: string;
  bodyTruncated?: boolean;
}

export type Severity = 'info' | 'warning' | 'error';

export interface Evidence {
  packet: number | null;
  time: number | null;
  what: string;
}

export interface Finding {
  kind: string;
  rule?: string;
  layer?: string;
  severity: Severity;
  summary: string;
  connectionIds: number[];
  requestIds: number[];
  timeRange: [number, number];
  costMs?: number;
  evidence: Evidence[];
  advice: string;
}

export interface InterfaceInfo {
  index: number;
  linkType: number;
  linkTypeName: string;
  supported: boolean;
  packets: number;
  snaplen: number;
  tsResolution: string;
}

export interface CaptureInfo {
  file: string;
  format: 'pcap' | 'pcap-ns' | 'pcapng';
  gzip: boolean;
  fileBytes: number;
  packets: number;
  /** Wall-clock time of the first packet, ms since the Unix epoch; null for an empty capture. */
  startEpochMs: number | null;
  startTime: string | null; // ISO 8601
  durationMs: number;
  interfaces: InterfaceInfo[];
  counters: Record<string, number>;
  /** Set when the file ended early or was corrupt part-way: what was read is still reported. */
  error?: { code: string; message: string };
}

export interface Report {
  wirefall: string; // version
  capture: CaptureInfo;
  connections: Connection[];
  requests: Request[];
  findings: Finding[];
  /**
   * The findings grouped by kind, rule and connection set (view/finding-groups.ts), most severe and
   * costliest first; each group lists its cases as indices into `findings`, and its `costMs` never
   * counts overlapping cases twice. Present when detectors ran (not in NDJSON).
   */
  findingGroups?: FindingGroup[];
  /** What-if estimates (core/src/whatif/whatif.ts): the same traffic under another connection policy. */
  whatIf?: WhatIf;
}

/* What-if estimates (issue 16): computed by core/src/whatif/whatif.ts, documented there. */
export type WhatIfPolicy = 'reuse' | 'h2' | 'keepalive-timeout';

export interface WhatIfHandshakes {
  /** TCP handshakes avoided (connections not opened). */
  tcp: number;
  /** TLS handshakes avoided among them. */
  tls: number;
  /** Their measured handshake time, summed (TCP + TLS). */
  ms: number;
}

export interface WhatIfOrigin {
  client: string;
  /** "a.example (10.0.0.2:443)": SNI over TLS, the Host over cleartext (when it is not the address itself). */
  origin: string;
  protocol: string;
  requests: number;
  connections: number;
  estimatedConnections: number;
  handshakesAvoided: WhatIfHandshakes;
  /** Smallest measured TCP handshake of the origin's connections (≈ one round trip); -1 unknown. */
  rttMs: number;
  /** Time of the first need (first SYN) of the group. */
  startTime: number;
  measuredMs: number;
  estimatedMs: number;
  savedMs: number;
  /** Requests kept at their measured times (no response end). */
  unplacedRequests: number;
  /** Gaps between a response and the client's next request (or its new connection's SYN), kept in the estimate as think time. */
  thinkMs: number;
}

export interface WhatIfEstimate {
  policy: WhatIfPolicy;
  /** End-to-end client time (first SYN to last response byte) of the requests covered, measured. */
  measuredMs: number;
  estimatedMs: number;
  savedMs: number;
  /** savedMs / measuredMs in percent (0 when nothing measured). */
  savedPct: number;
  /** Share (0–1) of the covered requests placed from measured times (the rest kept as measured). */
  confidence: number;
  requests: number;
  connections: number;
  estimatedConnections: number;
  handshakesAvoided: WhatIfHandshakes;
  assumptions: string[];
  perOrigin: WhatIfOrigin[];
  originsOmitted: number;
  /** `keepalive-timeout` only: the server's idle timeout (s) the estimate assumes. */
  keepaliveTimeoutS?: number;
  /** `keepalive-timeout` only: connections the server closed after an idle (covered requests' connections). */
  serverIdleCloses?: number;
  /** `keepalive-timeout` only: those closes that no longer happen (a later connection uses the connection instead). */
  serverIdleClosesAvoided?: number;
  /**
   * `keepalive-timeout` only: the smallest whole-second timeout that saves as much (the longest gap
   * bridged plus one round trip, rounded up); null when no close is avoided.
   */
  sufficientTimeoutS?: number | null;
}

export interface WhatIf {
  reuse: WhatIfEstimate;
  /** Only HTTP/1.x origins are covered. */
  h2: WhatIfEstimate;
  /** The server's idle timeout raised: the connections it closed for idleness stay open for the client's next request. */
  keepaliveTimeout: WhatIfEstimate;
}
