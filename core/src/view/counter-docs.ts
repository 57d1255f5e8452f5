/**
 * What each capture counter (`report.capture.counters`, counted by the engine and its layers with
 * `count(name)`) means, and which of them are warnings: one table, used by the CLI's table output
 * (cli/format-table.ts) and the UI's anomaly banner (app/renderer), so neither keeps a copy.
 *
 * `level`:
 *   - 'info'    a plain statistic (packets of another protocol, fragments reassembled, key log lines
 *               read): nothing was lost, nothing to do;
 *   - 'warning' something the analysis could not see or had to give up on (bytes not decodable,
 *               a named limit hit, decryption abandoned): the results are still right for what was
 *               seen, but may be incomplete; `action` says what to do.
 * A test (test/core/view/counter-docs.test.ts) reads core/src for every counter name and asserts
 * each is documented here.
 */

export type CounterLevel = 'info' | 'warning';

export interface CounterDoc {
  level: CounterLevel;
  /** What one count is, in a sentence fragment ("packets cut short by the capture's snap length"). */
  meaning: string;
  /** What to do about it (warnings). */
  action?: string;
}

const info = (meaning: string): CounterDoc => ({ level: 'info', meaning });
const warn = (meaning: string, action: string): CounterDoc => ({ level: 'warning', meaning, action });

const RECAPTURE = 'capture again with a larger buffer (tcpdump -B) or a narrower filter';
const LIMIT = 'results past the limit are incomplete; split the capture (editcap -c / -i) and analyse the parts';
const KEYS = 'check that the key log (SSLKEYLOGFILE) belongs to this capture and was written completely';

export const COUNTER_DOCS: Readonly<Record<string, CounterDoc>> = {
  // ---------------------------------------------------------------- capture file and link layer
  connections: info('TCP connections tracked'),
  snaplenTruncatedFrames: warn('packets cut short by the capture’s snap length: their payload is partly missing', 'capture with the full snap length (tcpdump -s 0)'),
  unsupportedLinkTypeFrames: warn('packets on an interface whose link type wirefall does not decode: skipped', 'capture on an Ethernet, loopback, raw-IP or Linux "any" (SLL) interface'),
  nonIpFrames: info('link-layer frames carrying something other than IP (ARP, LLDP…): ignored'),
  notIp: info('frames whose payload is not IPv4 or IPv6: ignored'),
  truncatedFrames: warn('IP or TCP headers cut short inside a packet: the packet was not decodable', 'capture with the full snap length (tcpdump -s 0); a corrupt file gives this too'),
  badIpHeader: warn('IPv4 headers with an impossible length: the packet was not decodable', 'usually a corrupt capture or a link type recorded wrongly'),
  badTcpHeader: warn('TCP headers with an impossible data offset: the segment was not decodable', 'usually a corrupt capture'),
  otherIpProtocols: info('IP packets of another protocol (ICMP, SCTP…): ignored'),
  udpPackets: info('UDP packets (DNS and QUIC are read from them)'),
  pcapngPacketUnknownInterface: warn('pcapng packets naming an interface the file never described: skipped', 'the file is damaged or was concatenated wrongly; re-save it with editcap'),
  pcapngSimplePacketsWithoutTime: info('pcapng Simple Packet Blocks, which carry no timestamp: placed at the previous packet’s time'),
  pcapngCorruptSecretsBlock: warn('pcapng Decryption Secrets Blocks that could not be read', 'pass the key log with --keylog instead'),
  pcapngSecretsBlocks: info('pcapng Decryption Secrets Blocks read'),
  pcapngSecretsDropped: warn('embedded secrets beyond the key-log limit: not used', 'pass the key log with --keylog for the rest'),
  pcapngSecretsUnsupportedType: info('pcapng secrets of a type other than a TLS key log (WireGuard, SSH…): ignored'),
  pcapngSkippedBlocks: info('pcapng blocks of types not needed here (statistics, name resolution, custom): skipped'),
  pcapngTimestampOutOfRange: warn('pcapng timestamps too large to represent: those packets were clamped', 'the file’s interface time resolution is probably wrong'),
  // ---------------------------------------------------------------- IP fragments
  ipFragments: info('IP fragments seen'),
  ipReassembled: info('IP datagrams reassembled from fragments'),
  ipv6AtomicFragments: info('IPv6 "atomic" fragments (a fragment header on a whole datagram)'),
  truncatedFragments: warn('IP fragments cut short by the capture: their datagram could not be reassembled', 'capture with the full snap length (tcpdump -s 0)'),
  fragDuplicates: info('duplicate IP fragments (retransmitted or captured twice): the first copy kept'),
  ipv6FragOverlapDrops: warn('IPv6 datagrams dropped because their fragments overlap (RFC 5722)', 'an attack or a broken middlebox; compare with Wireshark'),
  fragLimitDrops: warn('IP datagrams dropped at the reassembly limit (too many in flight)', LIMIT),
  fragPieceLimitDrops: warn('IP datagrams dropped for having too many fragments', LIMIT),
  fragTimeouts: warn('IP datagrams whose fragments never all arrived within the reassembly timeout', 'fragments were lost before the capture point'),
  // ---------------------------------------------------------------- TCP
  tcpOverlapConflicts: warn('TCP segments overlapping earlier data with different bytes: the first copy was kept (tcp-overlap-conflict)', 'compare with Wireshark’s "overlap conflict" expert notes; often a capture of two paths or a broken middlebox'),
  rolesSwappedByData: info('connections whose client and server were decided again from their data (no SYN seen)'),
  oooConnectionLimitFlushes: warn('out-of-order segments flushed at the per-connection buffer limit: the gap was skipped', RECAPTURE),
  oooSegmentLimitFlushes: warn('out-of-order segments flushed at the per-connection segment limit: the gap was skipped', RECAPTURE),
  oooTotalLimit: warn('times out-of-order data held by all connections reached the total limit', RECAPTURE),
  oooTotalLimitFlushes: warn('out-of-order data flushed at the total buffer limit: gaps were skipped', RECAPTURE),
  oooTotalSegmentLimitFlushes: warn('out-of-order segments flushed at the total segment limit: gaps were skipped', RECAPTURE),
  retainedTotalLimit: warn('times the total of retained stream bytes reached its limit: older bytes were released early', LIMIT),
  connectionsEvictedAtLimit: warn('connections evicted at the connection-table limit: reported early, later packets start a new record', LIMIT),
  halfOpenConnectionsEvicted: warn('half-open connections (SYN without answer) evicted at their limit', 'a SYN flood or scan in the capture; filter it out (tcpdump "tcp[tcpflags] & tcp-syn == 0 or …")'),
  packetMarksBudgetSpent: warn('the budget of per-packet marks for the waterfall was spent: later data arrivals are not drawn', 'open a smaller capture to see every arrival'),
  // ---------------------------------------------------------------- DNS
  dnsMalformedMessages: info('DNS messages that could not be parsed: ignored'),
  dnsAddressesEvicted: info('DNS answers forgotten at the address-table limit (names of later connections may be missing)'),
  // ---------------------------------------------------------------- HTTP
  http1RequestsNotRecorded: warn('HTTP/1.x exchanges past the per-connection record limit: framed, not reported', LIMIT),
  hpackTableEntriesForgotten: info('HPACK dynamic-table entries not kept for the inspector (over its limit)'),
  h2DataMarksStreamLimit: info('HTTP/2 streams past the limit of per-stream data marks: drawn with the connection’s marks'),
  h3HeaderBlockTooLarge: warn('HTTP/3 HEADERS or PUSH_PROMISE blocks too large to buffer: their fields are missing', LIMIT),
  h3StreamsWithoutRequestHeaders: warn('HTTP/3 request streams whose HEADERS were not captured: not reported', 'start the capture before the requests'),
  h3FrameErrors: warn('malformed HTTP/3 frames on control streams', 'a peer’s bug, or bytes lost to the capture'),
  h3FramingLost: warn('HTTP/3 streams whose frame boundaries were lost with missing bytes', 'packets were lost before the capture point'),
  h3UnexpectedStreams: warn('HTTP/3 unidirectional streams of a type not allowed where they came', 'a peer’s bug'),
  h3Anomalies: warn('other HTTP/3 connection anomalies', 'see each connection’s anomalies'),
  qpackBlockedSections: info('QPACK field sections that had to wait for encoder-stream inserts'),
  qpackBlockedDropped: warn('QPACK field sections dropped while waiting for inserts (over the limit)', LIMIT),
  qpackBlockedAtEnd: warn('QPACK field sections still waiting for inserts at the end: their fields are missing', 'the encoder stream’s bytes were lost before the capture point'),
  qpackErrors: warn('QPACK field sections that could not be decoded', 'bytes lost to the capture, or a peer’s bug'),
  qpackEncoderStreamErrors: warn('QPACK encoder streams that could not be followed: later dynamic references are unknown', 'bytes lost to the capture, or a peer’s bug'),
  // ---------------------------------------------------------------- TLS
  keyLogLines: info('lines read from the key log'),
  keyLogEntries: info('usable secrets in the key log'),
  keyLogGarbageLines: warn('key log lines not in the NSS key log format', 'pass the file SSLKEYLOGFILE wrote, not another'),
  keyLogUnsupportedLines: info('key log lines with labels not used here'),
  keyLogEntriesDropped: warn('key log secrets beyond the limit: not used', 'pass a key log with only this capture’s sessions'),
  keyLogTruncated: warn('the key log was larger than the limit and read only in part', 'pass a key log with only this capture’s sessions'),
  tlsKeyLogLinesFromCapture: info('key log lines embedded in the capture (pcapng Decryption Secrets Blocks)'),
  tlsRecordResyncs: warn('times the TLS record layer lost and found its framing again', 'bytes lost to the capture'),
  tlsSslv2CompatibleClientHello: info('SSLv2-compatible ClientHellos (very old clients)'),
  tlsRecordDesync: warn('TLS connections whose record framing could not be followed after a gap', 'bytes lost to the capture'),
  tlsRecordOverflow: warn('TLS records longer than the protocol allows: the connection was not followed further', 'not TLS, or corrupt bytes'),
  tlsHandshakeRecordsNotKept: info('TLS handshake records beyond the per-connection limit: not kept'),
  tlsChangeCipherSpecInferred: info('TLS ChangeCipherSpec inferred where the record was not captured'),
  tlsDecryptionAbandoned: warn('TLS connections whose decryption was abandoned (records failed to decrypt): the key does not match', KEYS),
  tlsKeyChangeInferred: info('TLS 1.3 key changes inferred from records that decrypted with the next key'),
  tlsRecordsSkippedBySeq: warn('TLS records skipped because record numbers were lost with missing bytes', 'bytes lost to the capture'),
  tlsRecordsUndecryptable: warn('TLS records that did not decrypt with the key log’s keys', KEYS),
  tlsDataAfterClosureAlert: info('TLS bytes after a close_notify alert: ignored'),
  tlsEarlyDataBytesRejected: info('0-RTT early-data bytes the server rejected'),
  tlsEarlyDataNotHeld: warn('0-RTT early data not held while waiting for the server’s decision (over the limit)', LIMIT),
  tlsEarlyDataUndecided: info('connections whose 0-RTT early data was never accepted or rejected in the capture'),
  tlsHandshakeMessagesSkipped: info('TLS handshake messages skipped (too large or not needed)'),
  tlsHandshakeMessagesIgnored: info('TLS handshake messages of types not used here'),
  tlsHelloExtensionsSkipped: info('ClientHello/ServerHello extensions beyond the per-hello limit: not kept'),
  tlsHelloExtensionsMalformed: warn('malformed ClientHello/ServerHello extensions', 'not TLS, or corrupt bytes'),
  tlsHelloValuesSkipped: info('hello list values (cipher suites, groups…) beyond the limit: not kept'),
  tlsHandshakeMalformed: warn('TLS handshake messages that could not be parsed', 'not TLS, or corrupt bytes'),
  tlsRecordsTruncated: warn('TLS records cut short by the end of the capture or a gap', 'bytes lost to the capture'),
  tlsFinWithoutCloseNotify: info('TLS connections closed by FIN without a close_notify alert (common, usually harmless)'),
  tlsAlertsDropped: info('TLS alerts beyond the per-connection limit: not listed'),
  tlsAnomaliesNotReported: info('TLS anomalies beyond the per-connection limit: counted, not listed'),
  // ---------------------------------------------------------------- QUIC
  quicConnections: info('QUIC connections tracked'),
  quicMigrations: info('QUIC client address changes (migration or NAT rebinding)'),
  quicDatagramPaddingOctets: info('octets of padding after the last QUIC packet of a datagram'),
  quicMalformedPackets: warn('QUIC packets that could not be parsed', 'not QUIC, or corrupt bytes'),
  quicCoalescedMismatch: warn('coalesced QUIC packets whose connection IDs disagree with the first: skipped', 'a peer’s bug, or not QUIC'),
  quicUnmatchedPackets: warn('QUIC short-header packets matching no known connection', 'start the capture before the connections'),
  quicInitialUndecryptable: warn('QUIC Initial packets that did not decrypt', 'not QUIC, or an unknown version'),
  quicConnectionsNotTracked: warn('QUIC connections past the connection-table limit: not followed', LIMIT),
  quicCidCollisions: warn('QUIC connection IDs claimed by two connections', 'connection IDs too short to be unique; results for those connections may be mixed'),
  quicCidsNotRegistered: warn('QUIC connection IDs past the per-connection limit: packets using them are not matched', LIMIT),
  quicUnknownVersionPackets: warn('QUIC packets of a version wirefall does not decode', 'not decodable; only their sizes and times are used'),
  quicUndecryptablePackets: warn('QUIC packets that did not decrypt (no or wrong keys)', KEYS),
  quicMigrationsDropped: info('QUIC migrations beyond the per-connection limit: counted, not listed'),
  quicAnomaliesDropped: info('QUIC anomalies beyond the per-connection limit: counted, not listed'),
  quicFramesAfterClose: warn('QUIC frames other than CONNECTION_CLOSE after the close', 'a peer’s bug'),
  quicMalformedFrames: warn('QUIC frames that could not be parsed', 'a peer’s bug, or wrong keys'),
  quicRetryIntegrityInvalid: warn('QUIC Retry packets whose integrity tag does not verify', 'a forged or corrupt Retry'),
  quicFrameInWrongEpoch: warn('QUIC frames in a packet type that does not allow them', 'a peer’s bug'),
  quicCryptoLimit: warn('QUIC connections past the CRYPTO-bytes limit: the rest of their handshake is ignored', LIMIT),
  quicStreamLimit: warn('QUIC connections past the stream limit: later streams not tracked', LIMIT),
  quicTlsHandshakeMalformed: warn('QUIC connections whose TLS handshake could not be parsed', 'a peer’s bug, or wrong keys'),
  // ---------------------------------------------------------------- detectors
  detectLateConnections: warn('connections that arrived after the detectors had moved past their time: checked alone', 'findings across those connections may be missing; analyse without streaming (a file, not a pipe)'),
  detectWatermarkForced: warn('times the detectors were made to move on at their memory limit, with connections still open', 'findings across long-lived connections may be missing; split the capture'),
  detectRequestsWithoutConnection: warn('requests whose connection never reached the detectors: not checked', 'a capture cut in the middle of connections'),
  detectFallbackSkipped: warn('detectors skipped at the end because the capture was too large to hold whole', 'split the capture (editcap -c) to get every finding'),
  whatIfRequestsNotKept: warn('requests past the what-if limit (MAX_WHATIF_JSON_REQUESTS): the report has no what-if estimate', 'split the capture (editcap -c) for an estimate per part'),
  whatIfSpillFailed: warn('the what-if estimate’s scratch file could not be written: its request rows stayed in memory', 'free space in TMPDIR, or point TMPDIR at a writable disk'),
  whatIfConnectionsNotKept: warn('TCP connections past the what-if limit (MAX_WHATIF_JSON_CONNECTIONS): the report has no what-if estimate', 'split the capture (editcap -c) for an estimate per part'),
  detectRequestsSpilled: info('requests of open connections the detectors kept in a scratch file instead of memory (long-lived connections)'),
  detectSpillFailed: warn('times the detectors’ scratch file could not be written: the requests of open connections stayed in memory', 'free space in TMPDIR, or point TMPDIR at a writable disk'),
};

/** Connection anomaly codes (Connection.anomalies) shown in the banner, with their meaning. */
export const CONNECTION_ANOMALY_DOCS: Readonly<Record<string, CounterDoc>> = {
  'tcp-overlap-conflict': COUNTER_DOCS.tcpOverlapConflicts!,
  'tcp-connection-evicted': COUNTER_DOCS.connectionsEvictedAtLimit!,
  'data-after-fin': warn('data sent after the sender’s FIN', 'a broken stack or middlebox, or two connections on one 4-tuple'),
  truncated: warn('the capture ended inside a packet of this connection', 'the file ends early; capture again'),
};

export interface CounterWarning {
  /** The counter's name (capture.counters) or the anomaly code (connection anomalies). */
  name: string;
  source: 'counter' | 'connection-anomaly';
  count: number;
  meaning: string;
  action: string;
  /** Connections with this anomaly (source 'connection-anomaly'), at most 20. */
  connectionIds?: number[];
}

/**
 * The capture's warnings: counters documented as warnings with a count above zero, then the
 * connection anomalies of the documented codes, in table order. Counters not in the table (a
 * newer core's) are warnings too, with an honest meaning.
 */
export function captureWarnings(counters: Readonly<Record<string, number>>, connections: readonly { id: number; anomalies?: readonly { code: string }[] }[] = []): CounterWarning[] {
  const out: CounterWarning[] = [];
  for (const [name, doc] of Object.entries(COUNTER_DOCS)) {
    const n = counters[name] ?? 0;
    if (doc.level === 'warning' && n > 0) out.push({ name, source: 'counter', count: n, meaning: doc.meaning, action: doc.action ?? '' });
  }
  for (const [name, n] of Object.entries(counters)) {
    if (!(name in COUNTER_DOCS) && n > 0) out.push({ name, source: 'counter', count: n, meaning: 'a counter this version does not document', action: 'see --format json capture.counters' });
  }
  // A code already counted capture-wide (tcp-overlap-conflict ↔ tcpOverlapConflicts) is said once.
  const counted = new Set(out.map((w) => w.name));
  const byCode = new Map<string, { count: number; ids: number[] }>();
  for (const c of connections) {
    const seen = new Set<string>();
    for (const a of c.anomalies ?? []) {
      if (!(a.code in CONNECTION_ANOMALY_DOCS)) continue;
      const e = byCode.get(a.code) ?? byCode.set(a.code, { count: 0, ids: [] }).get(a.code)!;
      e.count++;
      if (!seen.has(a.code) && e.ids.length < 20) e.ids.push(c.id);
      seen.add(a.code);
    }
  }
  for (const [code, doc] of Object.entries(CONNECTION_ANOMALY_DOCS)) {
    const e = byCode.get(code);
    if (!e) continue;
    if (code === 'tcp-overlap-conflict' && counted.has('tcpOverlapConflicts')) continue;
    if (code === 'tcp-connection-evicted' && counted.has('connectionsEvictedAtLimit')) continue;
    out.push({ name: code, source: 'connection-anomaly', count: e.count, meaning: doc.meaning, action: doc.action ?? '', connectionIds: e.ids });
  }
  return out;
}

/** One line: "tcpOverlapConflicts × 3: TCP segments overlapping … — compare with Wireshark …". */
export function warningLine(w: CounterWarning): string {
  const where = w.connectionIds?.length ? ` (connection${w.connectionIds.length === 1 ? '' : 's'} ${w.connectionIds.join(', ')})` : '';
  return `${w.name} × ${w.count}: ${w.meaning}${where}${w.action ? ` — ${w.action}` : ''}`;
}
