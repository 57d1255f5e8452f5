/**
 * Differential test of TLS against tshark, read from its PDML tree (tshark's field lists flatten
 * the handshake messages, records and HTTP/2 frames of a packet).
 *
 * Per TCP connection (wirefall's connection id = tshark's tcp.stream) both tools must agree on:
 *  - whether the connection is TLS at all;
 *  - the negotiated version (the ServerHello's supported_versions, else its legacy version;
 *    RFC 8446 §4.2.1), numerically against `versionCode`;
 *  - the cipher suite, by code point and by name (tshark's display name against `cipherSuite`);
 *  - SNI (RFC 6066 §3) and the ALPN list the client offered (RFC 7301 §3.1);
 *  - the ALPN protocol the server selected: the ServerHello in TLS ≤ 1.2, EncryptedExtensions in
 *    TLS 1.3 (readable only with keys: null without);
 *  - resumption: TLS 1.3 = the ServerHello carries pre_shared_key (RFC 8446 §4.2.11); TLS ≤ 1.2 =
 *    an abbreviated handshake (RFC 5246 §7.3): the ServerHello echoes the client's non-empty
 *    session id, or the server goes to ChangeCipherSpec without Certificate, ServerKeyExchange or
 *    ServerHelloDone (RFC 5077 §3.1 ticket resumption); and whether a HelloRetryRequest came;
 *  - with keys: the requests, in order (HTTP/1.x request lines; HTTP/2 `:method :path` of each
 *    request HEADERS, by stream id), and where tshark read requests, that wirefall decrypted and
 *    chose the same HTTP version;
 *  - without keys: no requests, and why nothing was decrypted ('no-keys'; 'handshake-not-captured'
 *    where tshark sees protected records but no ClientHello);
 *  - with wrong keys: nothing decrypted by either tool, wirefall saying 'keys-mismatch'.
 *
 * 1. samples/tls/: every capture with a key log beside it (X.pcap + X.keys), and the pcapng whose
 *    Decryption Secrets Block both tools read by themselves.
 * 2. ../shared/corpus/zeek-tls/ (no keys). `tcp.try_heuristic_first` lets tshark find TLS on
 *    ports it otherwise gives to another dissector (https-to-http.pcap: a ClientHello to port 80).
 * 3. Wrong keys: samples/tls/nginx-h2-tls13.wrong.keys, plus key logs built here by flipping bits
 *    of every secret of a right one (TLS 1.2 AEAD and CBC), written to a temporary file.
 *
 * Reasoned exceptions live in tshark-tls-exceptions.json: { file, stream?, field?, reason }, where
 * field is one of the labels the mismatches carry. An exception that excuses nothing fails the test
 * (the behaviour it described has changed: remove it).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { analyzeFile } from '../../../core/src/engine.js';
import { readKeyLogFile } from '../../../core/src/tls/keylog.js';
import type { Connection, Report } from '../../../core/src/model/types.js';
import { CORPUS, hasCorpus, hasTshark, listCaptures, requireResource, SAMPLES } from '../../helpers/env.js';

const ZEEK_TLS = join(CORPUS, 'zeek-tls');
const TLS_SAMPLES = join(SAMPLES, 'tls');

interface Exception {
  file: string;
  stream?: number;
  field?: string;
  reason: string;
}
const exceptions: Exception[] = JSON.parse(readFileSync(new URL('./tshark-tls-exceptions.json', import.meta.url), 'utf8'));

// ------------------------------------------------------------------------------------ tshark side

/** RFC 8446 §4.1.3: a ServerHello with this random is a HelloRetryRequest. */
const HRR_RANDOM = 'cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c';

interface TClientHello {
  sslv2: boolean;
  version: number | null;
  sessionId: string;
  sni: string | null;
  alpn: string[];
}
interface TServerHello {
  sslv2: boolean;
  version: number | null;
  supportedVersion: number | null;
  random: string;
  sessionId: string;
  cipher: number | null;
  cipherName: string | null;
  alpn: string | null;
  pskSelected: boolean;
}
interface TConn {
  clientKey: string | null;
  serverKey: string | null;
  ch: TClientHello | null;
  shs: TServerHello[];
  eeAlpn: string | null;
  /** Certificate, ServerKeyExchange or ServerHelloDone from the server (a full TLS ≤ 1.2 handshake). */
  serverFullFlight: boolean;
  serverCcs: boolean;
  /** Records of (outer, for TLS 1.3) type application_data. */
  protectedRecords: number;
  tlsRecords: number;
  h1: string[];
  h2: Map<number, { method?: string; path?: string }>;
}

const unxml = (s: string) =>
  s.replace(/&(quot|amp|lt|gt|apos|#x?[0-9a-fA-F]+);/g, (_m, e: string) =>
    e === 'quot' ? '"' : e === 'amp' ? '&' : e === 'lt' ? '<' : e === 'gt' ? '>' : e === 'apos' ? "'" : String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)),
  );

const FIELDS = [
  'ip.src',
  'ipv6.src',
  'tcp.srcport',
  'tcp.stream',
  'tls.record',
  'tls.record.version',
  'tls.record.content_type',
  'tls.record.opaque_type',
  'tls.handshake.type',
  'tls.handshake.version',
  'tls.handshake.random',
  'tls.handshake.session_id',
  'tls.handshake.ciphersuite',
  'tls.handshake.extensions.supported_version',
  'tls.handshake.extensions_server_name',
  'tls.handshake.extensions_alpn_str',
  'tls.handshake.extensions.psk.identity.selected',
  'http.request.method',
  'http.request.uri',
  'http2.type',
  'http2.streamid',
  'http2.header.name',
  'http2.header.value',
];
const FIELD_RE = new RegExp(`<packet>|<field name="(${FIELDS.map((f) => f.replace(/\./g, '\\.')).join('|')})"(?: showname="([^"]*)")?[^>]*? show="([^"]*)"`, 'g');

/** Runs tshark and returns its view of each TCP stream that carried TLS or HTTP. */
function tsharkTls(file: string, opts: string[]): Map<number, TConn> {
  const args = ['-r', file, '-n', '-o', 'tcp.reassemble_out_of_order:TRUE', ...opts, '-T', 'pdml', '-Y', 'tls || http || http2'];
  const xml = execFileSync('tshark', args, { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] });
  const conns = new Map<number, TConn>();
  let ip: string | null = null;
  let port: string | null = null;
  let conn: TConn | null = null;
  let src = '';
  let sslv2 = false;
  let recCounted = false;
  let msg: { type: number; ch?: TClientHello; sh?: TServerHello; ee?: boolean } | null = null;
  let method: string | null = null;
  let h2type = -1;
  let sid = -1;
  let hname: string | null = null;
  const connOf = (stream: number): TConn => {
    let c = conns.get(stream);
    if (!c) {
      c = { clientKey: null, serverKey: null, ch: null, shs: [], eeAlpn: null, serverFullFlight: false, serverCcs: false, protectedRecords: 0, tlsRecords: 0, h1: [], h2: new Map() };
      conns.set(stream, c);
    }
    return c;
  };
  FIELD_RE.lastIndex = 0;
  for (let m = FIELD_RE.exec(xml); m; m = FIELD_RE.exec(xml)) {
    const [whole, f, showname, raw] = m;
    if (whole === '<packet>') {
      ip = port = null;
      conn = null;
      msg = null;
      method = null;
      h2type = -1;
      continue;
    }
    const v = unxml(raw);
    switch (f) {
      case 'ip.src':
      case 'ipv6.src':
        ip ??= v;
        continue;
      case 'tcp.srcport':
        port ??= v;
        continue;
      case 'tcp.stream':
        if (!conn) {
          conn = connOf(Number(v));
          src = `${ip}:${port}`;
        }
        continue;
    }
    if (!conn) continue;
    const c = conn;
    const fromServer = c.clientKey !== null && src !== c.clientKey;
    switch (f) {
      case 'tls.record':
        c.tlsRecords++;
        sslv2 = false;
        recCounted = false;
        msg = null;
        break;
      case 'tls.record.version':
        if (v === '0x0002') sslv2 = true;
        break;
      case 'tls.record.content_type':
      case 'tls.record.opaque_type':
        if (v === '23' && !recCounted) {
          c.protectedRecords++;
          recCounted = true;
        }
        if (f === 'tls.record.content_type' && v === '20' && fromServer) c.serverCcs = true;
        break;
      case 'tls.handshake.type': {
        const type = Number(v);
        msg = { type };
        if (sslv2) {
          // SSL 2.0 records (also the SSLv2-compatible ClientHello, RFC 5246 Appendix E.2):
          // CLIENT-HELLO 1, SERVER-HELLO 4.
          if (type === 1) {
            msg.ch = c.ch = { sslv2: true, version: null, sessionId: '', sni: null, alpn: [] };
            c.clientKey = src;
          } else if (type === 4) {
            msg.type = 2;
            msg.sh = { sslv2: true, version: null, supportedVersion: null, random: '', sessionId: '', cipher: null, cipherName: null, alpn: null, pskSelected: false };
            c.shs.push(msg.sh);
            c.serverKey = src;
          } else msg = null;
          break;
        }
        if (type === 1) {
          msg.ch = c.ch = { sslv2: false, version: null, sessionId: '', sni: null, alpn: [] };
          c.clientKey = src;
        } else if (type === 2) {
          msg.sh = { sslv2: false, version: null, supportedVersion: null, random: '', sessionId: '', cipher: null, cipherName: null, alpn: null, pskSelected: false };
          c.shs.push(msg.sh);
          c.serverKey = src;
        } else if (type === 8) msg.ee = true;
        else if ((type === 11 || type === 12 || type === 14) && (fromServer || src === c.serverKey)) c.serverFullFlight = true;
        break;
      }
      case 'tls.handshake.version':
        if (msg?.ch) msg.ch.version = Number(v);
        if (msg?.sh) msg.sh.version = Number(v);
        break;
      case 'tls.handshake.random':
        if (msg?.sh) msg.sh.random = v.replace(/:/g, '').toLowerCase();
        break;
      case 'tls.handshake.session_id':
        if (msg?.ch) msg.ch.sessionId = v.replace(/:/g, '').toLowerCase();
        if (msg?.sh) msg.sh.sessionId = v.replace(/:/g, '').toLowerCase();
        break;
      case 'tls.handshake.ciphersuite':
        if (msg?.sh) {
          msg.sh.cipher = Number(v);
          // showname: "Cipher Suite: TLS_AES_128_GCM_SHA256 (0x1301)"
          const n = /^Cipher Suite: (.*?)(?: \(0x[0-9a-fA-F]+\))?$/.exec(unxml(showname ?? ''));
          msg.sh.cipherName = n ? n[1] : null;
        }
        break;
      case 'tls.handshake.extensions.supported_version':
        if (msg?.sh) msg.sh.supportedVersion = Number(v);
        break;
      case 'tls.handshake.extensions_server_name':
        if (msg?.ch && msg.ch.sni === null) msg.ch.sni = v;
        break;
      case 'tls.handshake.extensions_alpn_str':
        if (msg?.ch) msg.ch.alpn.push(v);
        else if (msg?.sh) msg.sh.alpn = v;
        else if (msg?.ee) c.eeAlpn = v;
        break;
      case 'tls.handshake.extensions.psk.identity.selected':
        if (msg?.sh) msg.sh.pskSelected = true;
        break;
      case 'http.request.method':
        method = v;
        break;
      case 'http.request.uri':
        if (method !== null) c.h1.push(`${method} ${v}`);
        method = null;
        break;
      case 'http2.type':
        h2type = Number(v);
        hname = null;
        break;
      case 'http2.streamid':
        sid = Number(v);
        break;
      case 'http2.header.name':
        hname = v;
        break;
      case 'http2.header.value':
        if (h2type === 1 && hname !== null && (hname === ':method' || hname === ':path')) {
          const e = c.h2.get(sid) ?? {};
          if (hname === ':method') e.method ??= v;
          else e.path ??= v;
          c.h2.set(sid, e);
        }
        hname = null;
        break;
    }
  }
  return conns;
}

/** What tshark says, in wirefall's terms. */
function expectedTls(t: TConn) {
  const real = t.shs.filter((s) => s.random !== HRR_RANDOM);
  const sh = real.length > 0 ? real[real.length - 1] : null;
  const version = sh ? (sh.sslv2 ? 0x0002 : (sh.supportedVersion ?? sh.version ?? 0)) : 0;
  const tls13 = version === 0x0304 || (version & 0xff00) === 0x7f00;
  const ch = t.ch;
  let resumed = false;
  if (sh && !sh.sslv2) {
    if (tls13) resumed = sh.pskSelected;
    else resumed = (ch !== null && ch.sessionId !== '' && ch.sessionId === sh.sessionId) || (!t.serverFullFlight && t.serverCcs);
  }
  const requests = [...t.h1, ...[...t.h2].filter(([, e]) => e.method !== undefined).sort((a, b) => a[0] - b[0]).map(([, e]) => `${e.method} ${e.path ?? ''}`)];
  return {
    clientHello: ch !== null,
    versionCode: version,
    cipherSuiteCode: sh?.cipher ?? 0,
    cipherSuite: sh?.cipherName ?? null,
    sni: ch?.sni ?? null,
    alpnOffered: ch?.alpn ?? [],
    alpnSelected: sh ? (tls13 ? t.eeAlpn : sh.alpn) : null,
    resumed,
    helloRetry: t.shs.some((s) => s.random === HRR_RANDOM),
    requests,
    h2: t.h2.size > 0,
  };
}

// ---------------------------------------------------------------------------------- comparison

interface Mismatch {
  stream: number;
  field: string;
  text: string;
}

function requestLines(report: Report, c: Connection): string[] {
  const mine = report.requests.filter((r) => r.connectionId === c.id);
  mine.sort((a, b) => (a.streamId !== undefined && b.streamId !== undefined ? a.streamId - b.streamId : a.index - b.index));
  return mine.map((r) => `${r.method} ${r.target}`);
}

/** A suite every TLS decryptor is expected to handle: final TLS 1.0–1.3 with AES (GCM, CCM, CBC) or ChaCha20-Poly1305. */
const commonlyDecryptable = (version: number, name: string | null) =>
  version >= 0x0301 && version <= 0x0304 && name !== null && /_WITH_AES_(128|256)_(GCM|CCM|CBC)_|_WITH_CHACHA20_POLY1305_|^TLS_(AES_(128|256)_(GCM|CCM)|CHACHA20_POLY1305)_SHA/.test(name);

type Mode = 'keys' | 'no-keys';

function compare(report: Report, theirs: Map<number, TConn>, mode: Mode): Mismatch[] {
  const out: Mismatch[] = [];
  const byId = new Map(report.connections.map((c) => [c.id, c]));
  const ids = new Set<number>([...theirs.keys(), ...report.connections.filter((c) => c.tls).map((c) => c.id)]);
  const add = (stream: number, field: string, got: unknown, want: unknown) => {
    if (JSON.stringify(got) !== JSON.stringify(want)) out.push({ stream, field, text: `stream ${stream} ${field}: wirefall ${JSON.stringify(got)}, tshark ${JSON.stringify(want)}` });
  };
  for (const id of [...ids].sort((a, b) => a - b)) {
    const t = theirs.get(id);
    const c = byId.get(id);
    const mine = c ? requestLines(report, c) : [];
    if (!t || t.tlsRecords === 0) {
      if (c?.tls) out.push({ stream: id, field: 'tls', text: `stream ${id} tls: wirefall reports TLS (protocol ${c.protocol}), tshark sees none` });
      continue;
    }
    const w = expectedTls(t);
    if (!c?.tls) {
      out.push({ stream: id, field: 'tls', text: `stream ${id} tls: wirefall reports none (protocol ${c?.protocol ?? 'no connection'}), tshark sees ${t.tlsRecords} TLS records${t.ch ? ` and a${t.ch.sslv2 ? 'n SSLv2-format' : ''} ClientHello` : ''}${w.versionCode ? `, version 0x${w.versionCode.toString(16).padStart(4, '0')}` : ''}${w.cipherSuite ? `, ${w.cipherSuite}` : ''}` });
      continue;
    }
    const tls = c.tls;
    add(id, 'version', tls.versionCode, w.versionCode);
    add(id, 'cipherSuiteCode', tls.cipherSuiteCode, w.cipherSuiteCode);
    add(id, 'cipherSuite', tls.cipherSuite, w.cipherSuite);
    add(id, 'sni', tls.sni, w.sni);
    add(id, 'alpn.offered', tls.alpn.offered, w.alpnOffered);
    add(id, 'alpn.selected', tls.alpn.selected, w.alpnSelected);
    add(id, 'resumed', tls.resumed, w.resumed);
    add(id, 'helloRetry', tls.helloRetry, w.helloRetry);
    if (mode === 'keys') {
      add(id, 'requests', mine, w.requests);
      if (w.requests.length > 0) {
        add(id, 'decrypted', tls.decrypted, true);
        add(id, 'protocol', c.protocol.startsWith('http/1') ? 'http/1.x' : c.protocol, w.h2 ? 'h2' : 'http/1.x');
      }
    } else {
      add(id, 'requests', mine, []);
      add(id, 'decrypted', tls.decrypted, false);
      if (t.protectedRecords > 0) {
        // Why nothing was read: no key log line for this ClientHello; or, where the ClientHello was
        // never captured, that. A suite outside the common decryptable set may be called unsupported.
        const allowed = !w.clientHello
          ? ['handshake-not-captured']
          : commonlyDecryptable(w.versionCode, w.cipherSuite)
            ? ['no-keys']
            : ['no-keys', 'unsupported-cipher'];
        if (!allowed.includes(tls.undecryptedReason ?? 'null')) {
          out.push({ stream: id, field: 'undecryptedReason', text: `stream ${id} undecryptedReason: wirefall ${JSON.stringify(tls.undecryptedReason)}, expected ${allowed.join(' or ')} (tshark: ${t.protectedRecords} application_data records, ${w.clientHello ? '' : 'no '}ClientHello, 0x${w.versionCode.toString(16)} ${w.cipherSuite})` });
        }
      }
    }
  }
  return out;
}

/** Fails on mismatches no exception excuses, and on exceptions for this file that excused nothing. */
function judge(file: string, mismatches: Mismatch[]): void {
  const mine = exceptions.filter((e) => e.file === basename(file));
  const used = new Set<Exception>();
  const left = mismatches.filter((m) => {
    const e = mine.find((x) => (x.stream === undefined || x.stream === m.stream) && (x.field === undefined || x.field === m.field));
    if (e) used.add(e);
    return !e;
  });
  expect(left.map((m) => m.text)).toEqual([]);
  expect(
    mine.filter((e) => !used.has(e)).map((e) => `unused exception (remove it): ${JSON.stringify(e)}`),
    'every exception still excuses a mismatch',
  ).toEqual([]);
}

// ------------------------------------------------------------------------------------- tests

const TSHARK = hasTshark();
const CORPUS_TLS = TSHARK && hasCorpus() && requireResource('../shared/corpus/zeek-tls', existsSync(ZEEK_TLS), 'the TLS part of the shared test corpus');

const keyLogOf = (f: string): string | null => {
  const k = f.replace(/\.(pcapng|pcap)$/i, '.keys');
  return k !== f && existsSync(k) ? k : null;
};
/** Samples with a key log beside them, and pcapng files (their Decryption Secrets Block holds the keys). */
const keyed = listCaptures(TLS_SAMPLES).filter((f) => keyLogOf(f) !== null || /\.pcapng$/i.test(f));

describe.skipIf(!TSHARK)('TLS with keys agrees with tshark (samples/tls)', () => {
  it('has keyed TLS samples, one of them with a Decryption Secrets Block', () => {
    expect(keyed.length).toBeGreaterThanOrEqual(10);
    expect(keyed.some((f) => /\.pcapng$/i.test(f) && keyLogOf(f) === null)).toBe(true);
  });
  for (const file of keyed) {
    it(basename(file), async () => {
      const keys = keyLogOf(file);
      const report = await analyzeFile(file, keys ? { keyLog: (await readKeyLogFile(keys)).keylog } : {});
      const theirs = tsharkTls(file, keys ? ['-o', `tls.keylog_file:${keys}`] : []);
      // The test has teeth: tshark decrypted requests on every sample.
      expect([...theirs.values()].some((t) => expectedTls(t).requests.length > 0)).toBe(true);
      judge(file, compare(report, theirs, 'keys'));
    });
  }
});

const corpus = CORPUS_TLS ? listCaptures(ZEEK_TLS) : [];

describe.skipIf(!CORPUS_TLS)('TLS without keys agrees with tshark (../shared/corpus/zeek-tls)', () => {
  it('has the corpus', () => expect(corpus.length).toBeGreaterThanOrEqual(20));
  for (const file of corpus) {
    it(basename(file), async () => {
      const report = await analyzeFile(file);
      const theirs = tsharkTls(file, ['-o', 'tls.keylog_file:', '-o', 'tcp.try_heuristic_first:TRUE']);
      judge(file, compare(report, theirs, 'no-keys'));
    });
  }
});

// ------------------------------------------------------------------------------- wrong keys

const tmp: string[] = [];
afterAll(() => {
  for (const d of tmp) rmSync(d, { recursive: true, force: true });
});

/** A key log for the same client randoms, every secret with its first octet's bits flipped. */
function flippedKeyLog(keys: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'wirefall-tls-wrong-'));
  tmp.push(dir);
  const out = readFileSync(keys, 'utf8')
    .split('\n')
    .map((l) => {
      const p = l.trim().split(/\s+/);
      if (p.length !== 3 || l.startsWith('#')) return l;
      const b = (parseInt(p[2].slice(0, 2), 16) ^ 0xff).toString(16).padStart(2, '0');
      return `${p[0]} ${p[1]} ${b}${p[2].slice(2)}`;
    })
    .join('\n');
  const f = join(dir, basename(keys).replace(/\.keys$/, '.flipped.keys'));
  writeFileSync(f, out);
  return f;
}

const wrongCases: { name: string; file: string; keys: () => string }[] = [];
{
  const h2 = join(TLS_SAMPLES, 'nginx-h2-tls13.pcap');
  const given = join(TLS_SAMPLES, 'nginx-h2-tls13.wrong.keys');
  if (existsSync(h2)) {
    wrongCases.push(
      existsSync(given)
        ? { name: 'nginx-h2-tls13.pcap + nginx-h2-tls13.wrong.keys', file: h2, keys: () => given }
        : { name: 'nginx-h2-tls13.pcap + flipped secrets', file: h2, keys: () => flippedKeyLog(join(TLS_SAMPLES, 'nginx-h2-tls13.keys')) },
    );
  }
  for (const n of ['nginx-h1-tls12-gcm', 'tls12-cbc-mte', 'nginx-h1-tls13-chacha']) {
    const f = join(TLS_SAMPLES, `${n}.pcap`);
    if (existsSync(f) && existsSync(join(TLS_SAMPLES, `${n}.keys`))) wrongCases.push({ name: `${n}.pcap + flipped secrets`, file: f, keys: () => flippedKeyLog(join(TLS_SAMPLES, `${n}.keys`)) });
  }
}

describe.skipIf(!TSHARK)('wrong keys: neither tool decrypts', () => {
  it('has wrong-key cases', () => expect(wrongCases.length).toBeGreaterThanOrEqual(2));
  for (const w of wrongCases) {
    it(w.name, async () => {
      const keys = w.keys();
      const report = await analyzeFile(w.file, { keyLog: (await readKeyLogFile(keys)).keylog });
      const theirs = tsharkTls(w.file, ['-o', `tls.keylog_file:${keys}`]);
      const problems: string[] = [];
      for (const [id, t] of theirs) {
        if (t.h1.length > 0 || t.h2.size > 0) problems.push(`stream ${id}: tshark decrypted HTTP with the wrong keys`);
      }
      const tlsConns = report.connections.filter((c) => c.tls);
      expect(tlsConns.length).toBeGreaterThan(0);
      for (const c of tlsConns) {
        const tls = c.tls!;
        const n = report.requests.filter((r) => r.connectionId === c.id).length;
        if (n !== 0) problems.push(`stream ${c.id}: wirefall ${n} requests`);
        if (tls.decrypted) problems.push(`stream ${c.id}: wirefall decrypted`);
        if ((theirs.get(c.id)?.protectedRecords ?? 0) > 0 && tls.undecryptedReason !== 'keys-mismatch') {
          problems.push(`stream ${c.id}: wirefall undecryptedReason ${JSON.stringify(tls.undecryptedReason)}, expected "keys-mismatch"`);
        }
      }
      expect(problems).toEqual([]);
    });
  }
});
