/**
 * The protocol facts of one connection for the UI's Connection tab, as label/value lines: which
 * lines apply is decided here, by the connection's protocol, so the renderer never decides what a
 * connection negotiated. HTTP/1.x: the keep-alive contract. HTTP/2: each side's SETTINGS, the
 * concurrency (the server's SETTINGS_MAX_CONCURRENT_STREAMS against the streams seen open at once)
 * and GOAWAY. Other protocols: what was (not) seen. (TCP facts are the same for every connection;
 * their lost-or-late count is model/late-segments.ts's, as in the CLI and the findings.)
 *
 * Pure and free of Node and DOM dependencies: the renderer imports it.
 */
import type { Connection, KeepAliveContract } from '../model/types.js';

export interface ConnectionFact {
  /** Stable id (tests, styling): 'keep-alive', 'h2-settings-client', 'h2-streams', 'h2-goaway', 'app'. */
  id: string;
  label: string;
  value: string;
}

/** The keep-alive contract (HTTP/1.x) in one line. */
export function keepAliveText(ka: Pick<KeepAliveContract, 'defaultPersistent' | 'clientConnection' | 'serverConnection' | 'timeoutS' | 'max'>): string {
  const parts: string[] = [ka.defaultPersistent ? 'persistent by default (HTTP/1.1)' : 'not persistent by default (HTTP/1.0)'];
  if (ka.clientConnection) parts.push(`client Connection: ${ka.clientConnection}`);
  if (ka.serverConnection) parts.push(`server Connection: ${ka.serverConnection}`);
  const kv: string[] = [];
  if (ka.timeoutS !== undefined) kv.push(`timeout=${ka.timeoutS}`);
  if (ka.max !== undefined) kv.push(`max=${ka.max}`);
  if (kv.length) parts.push(`Keep-Alive: ${kv.join(', ')}`);
  return parts.join('; ');
}

interface SettingsRecord {
  time?: number;
  settings?: Record<string, number>;
  ackTime?: number | null;
}
interface GoawayRecord {
  lastStreamId: number;
  errorCode: string;
  debugData?: string;
  time: number;
}
interface H2SideFacts {
  settings?: SettingsRecord[];
  goaway?: GoawayRecord;
}
interface H2ConnFacts {
  prefaceSeen?: boolean;
  client?: H2SideFacts;
  server?: H2SideFacts;
  /** Most client-initiated streams open at once (session.ts `maxOpenClientStreams`). */
  maxConcurrentStreams?: number;
  streamsWaitedForConcurrencyLimit?: unknown[];
}

function ms(v: number): string {
  if (v >= 1000) return `${(v / 1000).toFixed(2)} s`;
  if (v >= 10) return `${v.toFixed(0)} ms`;
  if (v >= 1) return `${v.toFixed(1)} ms`;
  return `${Math.round(v * 1000)} µs`;
}

/** Each SETTINGS frame's values applied in order (RFC 9113 §6.5.3): the side's final settings. */
function settingsOf(side: H2SideFacts | undefined): { values: Record<string, number>; frames: number; ackMs: number | null } | null {
  const list = side?.settings ?? [];
  if (!list.length) return null;
  const values: Record<string, number> = {};
  for (const rec of list) Object.assign(values, rec.settings ?? {});
  const first = list[0]!;
  const ackMs = typeof first.ackTime === 'number' && typeof first.time === 'number' ? first.ackTime - first.time : null;
  return { values, frames: list.length, ackMs };
}

function settingsText(s: ReturnType<typeof settingsOf>): string {
  if (!s) return 'none seen';
  const kv = Object.entries(s.values).map(([k, v]) => `${k}=${v}`);
  const body = kv.length ? kv.join(', ') : 'defaults only (empty SETTINGS)';
  const more = s.frames > 1 ? ` (${s.frames} SETTINGS frames)` : '';
  const ack = s.ackMs !== null ? `; acknowledged after ${ms(s.ackMs)}` : '';
  return `${body}${more}${ack}`;
}

function h2Facts(c: Connection): ConnectionFact[] {
  const h2: H2ConnFacts = c.h2 ?? {};
  const client = settingsOf(h2.client);
  const server = settingsOf(h2.server);
  const out: ConnectionFact[] = [
    { id: 'h2-settings-client', label: 'Client SETTINGS', value: settingsText(client) },
    { id: 'h2-settings-server', label: 'Server SETTINGS', value: settingsText(server) },
  ];
  // RFC 9113 §5.1.2: the server's SETTINGS_MAX_CONCURRENT_STREAMS limits the streams the client opens.
  const limit = server?.values['MAX_CONCURRENT_STREAMS'];
  const peak = h2.maxConcurrentStreams;
  const waited = h2.streamsWaitedForConcurrencyLimit?.length ?? 0;
  const streams: string[] = [];
  if (peak !== undefined) streams.push(`up to ${peak} client stream(s) open at once`);
  streams.push(limit !== undefined ? `the server allowed ${limit} (MAX_CONCURRENT_STREAMS)` : 'no limit advertised by the server (unlimited)');
  if (waited) streams.push(`${waited} stream(s) may have waited for the limit`);
  out.push({ id: 'h2-streams', label: 'Max concurrent streams', value: streams.join('; ') });
  const goaways: string[] = [];
  for (const side of ['client', 'server'] as const) {
    const g = h2[side]?.goaway;
    if (g) goaways.push(`${side} sent GOAWAY (${g.errorCode}), last stream ${g.lastStreamId}, at ${ms(g.time)}${g.debugData ? `: ${g.debugData}` : ''}`);
  }
  out.push({ id: 'h2-goaway', label: 'GOAWAY', value: goaways.length ? goaways.join('; ') : 'none: the connection ended without GOAWAY' });
  if (h2.prefaceSeen === false) out.push({ id: 'h2-start', label: 'HTTP/2 start', value: 'not captured: frames and header compression were picked up mid-connection' });
  return out;
}

/**
 * The application-layer facts of a connection, by its protocol. TCP facts (timing, per-direction
 * counts) are the same for every connection and are not repeated here.
 */
export function connectionFacts(c: Connection): ConnectionFact[] {
  switch (c.protocol) {
    case 'http/1.0':
    case 'http/1.1':
      return [{ id: 'keep-alive', label: 'Keep-alive', value: c.keepAlive ? keepAliveText(c.keepAlive) : 'no complete exchange seen' }];
    case 'h2':
    case 'h2c':
      return h2Facts(c);
    case 'tls':
      return [{ id: 'app', label: 'Application', value: 'TLS, HTTP not visible (not decrypted, or no application data)' }];
    case 'websocket':
      return [{ id: 'app', label: 'Application', value: 'WebSocket after an HTTP/1.1 Upgrade (frames not analysed)' }];
    case 'tunnel':
      return [{ id: 'app', label: 'Application', value: 'a tunnel after CONNECT (its bytes are not analysed)' }];
    case 'unknown':
      return [{ id: 'app', label: 'Application', value: 'no HTTP seen: the first bytes matched no known protocol' }];
    case 'none':
      return [{ id: 'app', label: 'Application', value: 'no application data' }];
    default:
      return [{ id: 'app', label: 'Application', value: String(c.protocol) }];
  }
}
