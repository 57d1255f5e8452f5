/**
 * Differential test of QUIC against tshark (its `quic` dissector decrypts Initial packets without
 * keys, RFC 9001 §5.2, as wirefall does).
 *
 * 1. ../shared/corpus/zeek-quic/ (no keys): every capture — including the two that crashed another
 *    analyzer — is analysed without an exception, and per file both tools agree on the number of
 *    QUIC connections; per connection (wirefall id − QUIC_CONNECTION_ID_BASE = tshark's
 *    quic.connection.number, both in order of first packet) on the version of the client's
 *    Initial, the SNI and the ALPN list of the ClientHello (RFC 7301 §3.1), and the ServerHello's
 *    cipher suite where both saw it.
 *
 * 2. samples/quic/ (made by samples/generate-quic.sh with ngtcp2, Caddy and Chromium), each with
 *    its key log (or, for the .pcapng, a Decryption Secrets Block): the same per-connection facts,
 *    and with the keys, per connection, the client-initiated bidirectional streams (tshark's
 *    quic.stream.stream_id from client packets) equal the stream ids of wirefall's h3 requests, and
 *    both sides' HTTP/3 SETTINGS (http3.settings.id/value; reserved ids left out) equal wirefall's
 *    `extra.h3.*.settings`. tshark 4.0 does not decode QPACK field sections, so the request lines
 *    (method, path, status) are checked against what the software that made the capture logged:
 *    X.expected.json (ngtcp2's client log, Caddy's access log).
 *
 * Reasoned exceptions live in tshark-quic-exceptions.json: { file, connection?, field, reason }.
 * An exception that excuses nothing fails the test (the behaviour it described has changed).
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { analyzeFile } from '../../../core/src/engine.js';
import { QUIC_CONNECTION_ID_BASE } from '../../../core/src/quic/index.js';
import type { Report } from '../../../core/src/model/types.js';
import { CORPUS, hasTshark, listCaptures, requireResource, SAMPLES } from '../../helpers/env.js';
import { existsSync } from 'node:fs';
import { readKeyLogFile } from '../../../core/src/tls/keylog.js';
import { h3SettingName, isReservedH3 } from '../../../core/src/http3/constants.js';

const ZEEK_QUIC = join(CORPUS, 'zeek-quic');

interface Exception {
  file: string;
  connection?: number;
  field: string;
  reason: string;
}
const exceptions: Exception[] = JSON.parse(readFileSync(new URL('./tshark-quic-exceptions.json', import.meta.url), 'utf8'));

export interface TQuicConn {
  versions: Set<number>;
  sni: string | null;
  alpn: string[] | null;
  /** The ServerHello's cipher suite (RFC 8446 §4.1.3). */
  cipher: number | null;
}

/** tshark's view: per quic.connection.number, the versions of its long headers and its ClientHello's SNI and ALPN. */
export function tsharkQuic(file: string, keylog?: string): Map<number, TQuicConn> {
  const args = ['-r', file, '-Y', 'quic', '-T', 'fields', '-E', 'aggregator=|', '-E', 'occurrence=a'];
  if (keylog) args.push('-o', `tls.keylog_file:${keylog}`);
  for (const f of ['quic.connection.number', 'quic.version', 'tls.handshake.type', 'tls.handshake.extensions_server_name', 'tls.handshake.extensions_alpn_str', 'tls.handshake.ciphersuite']) args.push('-e', f);
  const out = execFileSync('tshark', args, { encoding: 'utf8', maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
  const conns = new Map<number, TQuicConn>();
  for (const line of out.split('\n')) {
    if (!line) continue;
    const [num, ver, types, sni, alpn, suites] = line.split('\t');
    const nums = [...new Set(num.split('|').filter(Boolean).map(Number))];
    if (nums.length === 0) continue;
    for (const n of nums) {
      let c = conns.get(n);
      if (!c) conns.set(n, (c = { versions: new Set(), sni: null, alpn: null, cipher: null }));
      for (const v of ver.split('|').filter(Boolean)) if (Number(v) !== 0) c.versions.add(Number(v));
      // The ClientHello (type 1) carries SNI and the offered ALPN list; with keys EE (8) also has ALPN.
      if (types.split('|').includes('1') && nums.length === 1) {
        if (sni) c.sni ??= sni;
        if (alpn) c.alpn ??= alpn.split('|').slice(0, alpnCountOfClientHello(types, alpn));
      }
      // A ServerHello (type 2) packet holds no ClientHello: its one cipher suite is the server's choice.
      if (types.split('|').includes('2') && !types.split('|').includes('1') && nums.length === 1 && suites && !suites.includes('|')) c.cipher ??= Number(suites);
    }
  }
  return conns;
}

/** With one ClientHello per packet its ALPN names come first; an EncryptedExtensions' single name after. */
function alpnCountOfClientHello(types: string, alpn: string): number {
  const names = alpn.split('|');
  return types.split('|').includes('8') ? names.length - 1 : names.length;
}

export function compareQuic(file: string, r: Report, t: Map<number, TQuicConn>): { connection: number | null; field: string; detail: string }[] {
  const mism: { connection: number | null; field: string; detail: string }[] = [];
  const ours = new Map(r.connections.filter((c) => c.transport === 'quic').map((c) => [c.id - QUIC_CONNECTION_ID_BASE, c]));
  if (ours.size !== t.size) mism.push({ connection: null, field: 'connections', detail: `wirefall ${ours.size} QUIC connections, tshark ${t.size}` });
  for (const [n, tc] of t) {
    const c = ours.get(n);
    if (!c) {
      mism.push({ connection: n, field: 'missing', detail: `tshark connection ${n} not found` });
      continue;
    }
    if (tc.versions.size > 0 && !tc.versions.has(c.quic!.versionCode)) mism.push({ connection: n, field: 'version', detail: `wirefall ${c.quic!.version}, tshark ${[...tc.versions].map((v) => v.toString(16))}` });
    if ((c.tls?.sni ?? null) !== tc.sni) mism.push({ connection: n, field: 'sni', detail: `wirefall ${c.tls?.sni}, tshark ${tc.sni}` });
    if (tc.cipher !== null && c.tls?.cipherSuiteCode !== tc.cipher) mism.push({ connection: n, field: 'cipher', detail: `wirefall ${c.tls?.cipherSuite}, tshark 0x${tc.cipher.toString(16)}` });
    if (tc.alpn !== null && JSON.stringify(c.tls?.alpn.offered) !== JSON.stringify(tc.alpn)) mism.push({ connection: n, field: 'alpn', detail: `wirefall ${c.tls?.alpn.offered}, tshark ${tc.alpn}` });
  }
  return mism;
}

describe('QUIC against tshark: ../shared/corpus/zeek-quic (no keys)', () => {
  const ok = requireResource('../shared/corpus/zeek-quic', existsSync(ZEEK_QUIC), 'the shared test corpus beside the project') && hasTshark();
  const files = ok ? listCaptures(ZEEK_QUIC) : [];
  const used = new Set<Exception>();

  it.skipIf(!ok)('finds the corpus', () => {
    expect(files.length).toBeGreaterThanOrEqual(14);
  });

  for (const file of files) {
    const name = basename(file);
    it.skipIf(!ok)(`${name}: same QUIC connections, versions, SNI and ALPN`, async () => {
      let report: Report;
      try {
        report = await analyzeFile(file);
      } catch (e) {
        const ex = exceptions.find((x) => x.file === name && x.field === 'file');
        if (!ex) throw e;
        used.add(ex);
        return;
      }
      const mism = compareQuic(name, report, tsharkQuic(file));
      const left = mism.filter((m) => {
        const ex = exceptions.find((x) => x.file === name && x.field === m.field && (x.connection === undefined || x.connection === m.connection));
        if (ex) used.add(ex);
        return !ex;
      });
      expect(left, JSON.stringify(left, null, 1)).toEqual([]);
    });
  }

  it.skipIf(!ok)('every exception still excuses something', () => {
    const stale = exceptions.filter((x) => files.some((f) => basename(f) === x.file) && !used.has(x));
    expect(stale.map((x) => `${x.file} ${x.connection ?? ''} ${x.field}`)).toEqual([]);
  });
});

interface TStreams {
  /** Client-initiated bidirectional stream ids seen in client packets. */
  requestStreams: Set<number>;
  settings: Record<'client' | 'server', Record<string, number> | null>;
}

/** With keys: per connection, request stream ids and each side's SETTINGS. */
function tsharkStreams(file: string, keylog: string | null, serverPort: Map<number, number>): Map<number, TStreams> {
  const args = ['-r', file, '-Y', 'quic', '-T', 'fields', '-E', 'aggregator=|', '-E', 'occurrence=a'];
  if (keylog) args.push('-o', `tls.keylog_file:${keylog}`);
  for (const f of ['quic.connection.number', 'udp.srcport', 'quic.stream.stream_id', 'http3.settings.id', 'http3.settings.value']) args.push('-e', f);
  const out = execFileSync('tshark', args, { encoding: 'utf8', maxBuffer: 256 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
  const m = new Map<number, TStreams>();
  for (const line of out.split('\n')) {
    if (!line) continue;
    const [num, sport, sids, ids, values] = line.split('\t');
    const nums = [...new Set(num.split('|').filter(Boolean).map(Number))];
    if (nums.length !== 1) continue;
    const n = nums[0];
    let t = m.get(n);
    if (!t) m.set(n, (t = { requestStreams: new Set(), settings: { client: null, server: null } }));
    const side = Number(sport) === serverPort.get(n) ? 'server' : 'client';
    if (side === 'client') for (const id of sids.split('|').filter(Boolean).map(Number)) if (id % 4 === 0) t.requestStreams.add(id);
    if (ids) {
      const s: Record<string, number> = {};
      const vs = values.split('|');
      ids.split('|').forEach((id, i) => {
        if (!isReservedH3(Number(id))) s[h3SettingName(Number(id))] = Number(vs[i]);
      });
      t.settings[side] ??= s;
    }
  }
  return m;
}

interface Expected {
  source: string;
  requests: { connection?: number; stream?: number; method: string; path: string; status: number | null }[];
}

const QUIC_SAMPLES = join(SAMPLES, 'quic');

describe('QUIC and HTTP/3 against tshark and the software logs: samples/quic (with keys)', () => {
  const ok = requireResource('samples/quic', existsSync(QUIC_SAMPLES), 'run samples/generate-quic.sh') && hasTshark();
  const files = ok ? listCaptures(QUIC_SAMPLES) : [];

  it.skipIf(!ok)('finds the samples', () => {
    expect(files.length).toBeGreaterThanOrEqual(6);
  });

  for (const file of files) {
    const name = basename(file);
    const stem = name.replace(/\.pcapng$|\.pcap$/, '');
    it.skipIf(!ok)(`${name}: connections, streams, SETTINGS and request lines`, async () => {
      const keyFile = existsSync(join(QUIC_SAMPLES, `${stem}.keys`)) ? join(QUIC_SAMPLES, `${stem}.keys`) : null;
      const keyLog = keyFile ? (await readKeyLogFile(keyFile)).keylog : undefined;
      const report = await analyzeFile(file, { keyLog });
      const quic = report.connections.filter((c) => c.transport === 'quic');
      expect(quic.length).toBeGreaterThan(0);
      expect(compareQuic(name, report, tsharkQuic(file, keyFile ?? undefined))).toEqual([]);
      const ports = new Map(quic.map((c) => [c.id - QUIC_CONNECTION_ID_BASE, c.server.port]));
      const t = tsharkStreams(file, keyFile, ports);
      for (const c of quic) {
        const n = c.id - QUIC_CONNECTION_ID_BASE;
        const reqs = report.requests.filter((r) => r.connectionId === c.id);
        // chromium-quic-fallback: Initials that nothing answered (UDP dropped) have no handshake,
        // streams or SETTINGS to compare; the per-connection facts above still are.
        if (!Object.values(c.quic!.packets.server).some((k) => k > 0)) {
          expect(reqs, `connection ${n}: unanswered, no requests`).toEqual([]);
          continue;
        }
        expect(c.tls?.decrypted, `connection ${n} decrypted`).toBe(true);
        expect(c.protocol).toBe('h3');
        expect(reqs.map((r) => r.streamId).sort((a, b) => a! - b!), `connection ${n} request streams`).toEqual([...(t.get(n)?.requestStreams ?? [])].sort((a, b) => a - b));
        const h3 = (c.extra?.h3 ?? {}) as Record<'client' | 'server', { settings: Record<string, number> | null }>;
        // An empty SETTINGS frame (quic-go's, in Caddy) shows no http3.settings.id in tshark.
        expect(h3.client?.settings ?? {}, `connection ${n} client SETTINGS`).toEqual(t.get(n)?.settings.client ?? {});
        expect(h3.server?.settings ?? {}, `connection ${n} server SETTINGS`).toEqual(t.get(n)?.settings.server ?? {});
        expect(h3.client?.settings, `connection ${n}: the client's SETTINGS frame was read`).not.toBeNull();
        expect(h3.server?.settings, `connection ${n}: the server's SETTINGS frame was read`).not.toBeNull();
        for (const r of reqs) {
          expect(r.httpVersion).toBe('h3');
          expect(r.state).toBe('complete');
          expect(r.anomalies).toEqual([]);
        }
      }
      const exp: Expected = JSON.parse(readFileSync(join(QUIC_SAMPLES, `${stem}.expected.json`), 'utf8'));
      const line = (x: { method: string; path: string; status: number | null }) => `${x.method} ${x.path} ${x.status}`;
      const ours = report.requests.filter((r) => r.httpVersion === 'h3');
      expect(ours.map((r) => line({ method: r.method, path: r.target, status: r.status })).sort(), exp.source).toEqual(exp.requests.map(line).sort());
      for (const e of exp.requests) {
        if (e.connection === undefined) continue;
        const r = ours.find((x) => x.connectionId === QUIC_CONNECTION_ID_BASE + e.connection! && x.streamId === e.stream);
        expect(r && line({ method: r.method, path: r.target, status: r.status }), `connection ${e.connection} stream ${e.stream}`).toBe(line(e));
      }
    });
  }
});
