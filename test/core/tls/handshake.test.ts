/**
 * TLS handshake parsing (core/src/tls/handshake.ts, constants.ts).
 *
 * Real bytes: every cleartext ClientHello, ServerHello, Certificate and Alert of the Zeek TLS
 * corpus (../shared/corpus/zeek-tls), read with wirefall's own capture reader and TCP reassembly,
 * cut into records here and into messages by HandshakeReassembler, is compared field by field with
 * tshark on the same file (matched by TCP stream and the frame that completed the message).
 *
 * Hand-built cases: hostile inputs (10k extensions, truncation at every offset, one-octet
 * fragments, a 1 MB Certificate, garbage certificates), HelloRetryRequest, supported_versions
 * precedence, GREASE, and a certificate made by openssl with awkward subjectAltNames.
 */
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { readCapture } from '../../../core/src/capture/reader.js';
import { networkOffset } from '../../../core/src/capture/link.js';
import { IpDecoder, PROTO_TCP } from '../../../core/src/capture/ip.js';
import { TcpTable } from '../../../core/src/tcp/table.js';
import type { Side } from '../../../core/src/model/types.js';
import type { StreamChunk } from '../../../core/src/tcp/stream.js';
import {
  alertDescriptionName,
  extensionTypeName,
  HRR_RANDOM,
  isGrease,
  isGreasePskMode,
  namedGroupName,
  versionName,
} from '../../../core/src/tls/constants.js';
import {
  decodeCertificate,
  HandshakeReassembler,
  MAX_ALPN_PROTOCOLS,
  MAX_EXTENSIONS,
  MAX_HANDSHAKE_MESSAGE_BYTES,
  MAX_LIST_VALUES,
  parseAlert,
  parseCertificate,
  parseClientHello,
  parseEncryptedExtensions,
  parseNewSessionTicket,
  parseServerHello,
  parseSubjectAltName,
  type Alert,
  type ClientHello,
  type ParseResult,
  type ServerHello,
} from '../../../core/src/tls/handshake.js';
import { CORPUS, hasTshark, listCaptures, requireResource } from '../../helpers/env.js';
import { occ, tsharkFields } from '../../helpers/tshark.js';

const ZEEK_TLS = join(CORPUS, 'zeek-tls');
const haveCorpus = requireResource('../shared/corpus/zeek-tls', existsSync(ZEEK_TLS), 'the shared test corpus beside the project');
const files = haveCorpus ? listCaptures(ZEEK_TLS) : [];

// ---------------------------------------------------------------------------------------------
// Byte builders (TLS presentation language, RFC 8446 §3)

type Bytes = number[] | Uint8Array;
const cat = (...parts: Bytes[]): number[] => parts.flatMap((p) => Array.from(p));
const u8 = (n: number): number[] => [n & 0xff];
const u16 = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff];
const u24 = (n: number): number[] => [(n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
const u32 = (n: number): number[] => [(n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
const vec = (lenBytes: 1 | 2 | 3, ...parts: Bytes[]): number[] => {
  const body = cat(...parts);
  return cat(lenBytes === 1 ? u8(body.length) : lenBytes === 2 ? u16(body.length) : u24(body.length), body);
};
const ext = (type: number, ...data: Bytes[]): number[] => cat(u16(type), vec(2, ...data));
const ascii = (s: string): number[] => Array.from(Buffer.from(s, 'latin1'));
const bytes = (a: Bytes): Uint8Array => Uint8Array.from(a);
const hexOf = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const fill = (n: number, v: number): number[] => new Array<number>(n).fill(v);

function clientHello(opts: { suites?: number[]; exts?: number[][]; sid?: number[]; noExtensions?: boolean; version?: number } = {}): Uint8Array {
  const head = cat(u16(opts.version ?? 0x0303), fill(32, 7), vec(1, opts.sid ?? []), vec(2, ...(opts.suites ?? [0x1301, 0xc02f]).map(u16)), vec(1, [0]));
  return bytes(opts.noExtensions ? head : cat(head, vec(2, ...(opts.exts ?? []))));
}

function serverHello(opts: { random?: Bytes; version?: number; suite?: number; exts?: number[][]; sid?: number[] } = {}): Uint8Array {
  return bytes(cat(u16(opts.version ?? 0x0303), opts.random ?? fill(32, 9), vec(1, opts.sid ?? []), u16(opts.suite ?? 0x1301), [0], vec(2, ...(opts.exts ?? []))));
}

const handshake = (type: number, body: Bytes): number[] => cat(u8(type), u24(body.length), body);

function ok<T>(r: ParseResult<T>): T {
  if (!r.ok) throw new Error(`${r.error}: ${r.detail}`);
  return r.value;
}

// ---------------------------------------------------------------------------------------------
// Corpus: capture → TCP (wirefall's reader and reassembly) → TLS records → HandshakeReassembler

interface Msg {
  conn: number;
  side: Side;
  packet: number;
  type: number;
  body: Uint8Array;
}
interface AlertSeen {
  conn: number;
  packet: number;
  alert: Alert;
}
interface Seen {
  msgs: Msg[];
  alerts: AlertSeen[];
  /** Messages over MAX_HANDSHAKE_MESSAGE_BYTES: type and announced length. */
  skipped: { conn: number; side: Side; type: number; length: number }[];
}

/**
 * A minimal TLS record layer for the test: splits one direction into records (RFC 8446 §5.1),
 * feeds cleartext handshake records to a HandshakeReassembler and reads cleartext alerts. A
 * direction that does not start with a TLS record (SSLv2, plain HTTP) or has a gap is dropped;
 * after ChangeCipherSpec, TLS ≤ 1.2 handshake records are encrypted and no longer read.
 */
function tlsSink(conn: number, { msgs, alerts, skipped }: Seen) {
  const shared = { tls13: false };
  const mk = (side: Side) => {
    const st = {
      buf: new Uint8Array(0),
      dead: false,
      ccs: false,
      started: false,
      packet: 0,
      reasm: null as unknown as HandshakeReassembler,
    };
    st.reasm = new HandshakeReassembler((type, body) => {
      msgs.push({ conn, side, packet: st.packet, type, body: new Uint8Array(body) });
      if (type === 2) {
        const sh = parseServerHello(body);
        if (sh.ok && (sh.value.version === 0x0304 || sh.value.version >> 8 === 0x7f)) shared.tls13 = true;
      }
    }, {}, (type, length) => skipped.push({ conn, side, type, length }));
    return st;
  };
  const sides = { client: mk('client'), server: mk('server') };
  return {
    onData(side: Side, chunk: StreamChunk) {
      const st = sides[side];
      if (st.dead) return;
      if (chunk.skipped !== 0) {
        st.dead = true;
        return;
      }
      const joined = new Uint8Array(st.buf.length + chunk.data.length);
      joined.set(st.buf);
      joined.set(chunk.data, st.buf.length);
      let b = joined;
      st.packet = chunk.packet;
      while (b.length >= 5) {
        const type = b[0];
        if (type < 20 || type > 24 || b[1] !== 3) {
          st.dead = true;
          return;
        }
        const len = (b[3] << 8) | b[4];
        if (b.length < 5 + len) break;
        const frag = b.subarray(5, 5 + len);
        if (type === 20) st.ccs = true;
        else if (type === 22 && (!st.ccs || shared.tls13)) st.reasm.push(frag);
        else if (type === 21) {
          const a = parseAlert(frag);
          if (a) alerts.push({ conn, packet: chunk.packet, alert: a });
        }
        b = b.subarray(5 + len);
      }
      st.buf = new Uint8Array(b);
    },
  };
}

async function corpusMessages(file: string): Promise<Seen> {
  const seen: Seen = { msgs: [], alerts: [], skipped: [] };
  const counters = { count() {} };
  const table = new TcpTable((c) => tlsSink(c.id, seen), () => {}, counters);
  const ip = new IpDecoder((p) => {
    if (p.proto === PROTO_TCP) table.packet(p);
  }, counters);
  let sec0 = -1;
  let ns0 = 0;
  await readCapture(file, {
    onInterface() {},
    onPacket(p) {
      if (sec0 < 0) {
        sec0 = p.sec;
        ns0 = p.ns;
      }
      const off = networkOffset(p.linkType, p.data);
      if (off >= 0) ip.decode(p.data, off, p.num, (p.sec - sec0) * 1000 + (p.ns - ns0) / 1e6, p.origLen);
    },
    count() {},
  });
  table.finish();
  return seen;
}

const cache = new Map<string, Promise<Seen>>();
const messagesOf = (file: string) => {
  let p = cache.get(file);
  if (!p) cache.set(file, (p = corpusMessages(file)));
  return p;
};

// tshark values: numbers as '0x0303' or decimal, GREASE kept; lists joined with AGG.
const num = (s: string): number => Number(s);
const nums = (s: string): number[] => occ(s).map(num);
const noGrease = (a: number[]): number[] => a.filter((v) => !isGrease(v));

function findAll(node: unknown, pred: (o: Record<string, unknown>) => boolean, out: Record<string, unknown>[] = []): Record<string, unknown>[] {
  if (Array.isArray(node)) for (const x of node) findAll(x, pred, out);
  else if (node && typeof node === 'object') {
    const o = node as Record<string, unknown>;
    if (pred(o)) out.push(o);
    for (const v of Object.values(o)) findAll(v, pred, out);
  }
  return out;
}

function valuesOf(node: unknown, keyPred: (k: string) => boolean, out: string[] = []): string[] {
  if (Array.isArray(node)) for (const x of node) valuesOf(x, keyPred, out);
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
      if (keyPred(k) && typeof v === 'string') out.push(v);
      else if (keyPred(k) && Array.isArray(v) && v.every((x) => typeof x === 'string')) out.push(...(v as string[]));
      else valuesOf(v, keyPred, out);
    }
  }
  return out;
}

/** TLS on any port (https-to-http.pcap sends a ClientHello to port 80): tshark's TCP heuristics first. */
const TSHARK_TLS_ANY_PORT = ['-o', 'tcp.try_heuristic_first:TRUE'];
const first = <T>(v: T | T[]): T => (Array.isArray(v) ? v[0] : v);
/** tshark's "2021-05-31 03:52:05 (UTC)" → ISO 8601 as the parser gives it. */
const tsharkTime = (s: string | undefined): string | null => {
  const m = s ? /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)/.exec(s) : null;
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.000Z` : null;
};

describe.skipIf(!haveCorpus || !hasTshark())('handshake messages of the Zeek TLS corpus agree with tshark', () => {
  it('has captures to compare', () => {
    expect(files.length).toBeGreaterThan(15);
  });

  for (const file of files) {
    it(`${basename(file)}: ClientHello and ServerHello`, async () => {
      const { msgs } = await messagesOf(file);
      const pick = (stream: number, frame: number, type: number) => msgs.filter((m) => m.conn === stream && m.packet === frame && m.type === type);

      const chRows = tsharkFields(file, 'tls.handshake.type == 1 && tls.record.content_type == 22', [
        'tcp.stream',
        'frame.number',
        'tls.handshake.version',
        'tls.handshake.random',
        'tls.handshake.session_id',
        'tls.handshake.ciphersuite',
        'tls.handshake.extension.type',
        'tls.handshake.extensions_server_name',
        'tls.handshake.extensions_alpn_str',
        'tls.handshake.extensions.supported_version',
        'tls.handshake.extensions_supported_group',
        'tls.handshake.extensions_key_share_group',
        'tls.extension.psk_ke_mode',
        'tls.handshake.extensions.psk.identity.identity_length',
      ], TSHARK_TLS_ANY_PORT);
      for (const r of chRows) {
        const at = `stream ${r[0]} frame ${r[1]}`;
        const found = pick(num(r[0]), num(r[1]), 1);
        expect(found.length, at).toBe(1);
        const ch: ClientHello = ok(parseClientHello(found[0].body));
        const types = nums(r[6]);
        expect(
          {
            legacyVersion: ch.legacyVersion,
            random: hexOf(ch.random),
            sessionId: hexOf(ch.sessionId),
            cipherSuites: ch.cipherSuites,
            extensionTypes: ch.extensionTypes,
            sni: ch.sni,
            alpn: ch.alpn,
            supportedVersions: ch.supportedVersions,
            supportedGroups: ch.supportedGroups,
            keyShareGroups: ch.keyShareGroups,
            pskModes: ch.pskModes,
            pskIdentities: ch.pskIdentities,
            sessionTicket: ch.sessionTicket !== 'none',
            earlyData: ch.earlyData,
            ech: ch.ech,
            extendedMasterSecret: ch.extendedMasterSecret,
            encryptThenMac: ch.encryptThenMac,
            malformed: ch.malformedExtensions,
          },
          at,
        ).toEqual({
          legacyVersion: num(r[2]),
          random: r[3].replaceAll(':', ''),
          sessionId: r[4].replaceAll(':', ''),
          cipherSuites: noGrease(nums(r[5])),
          extensionTypes: types,
          sni: occ(r[7])[0] ?? null,
          alpn: occ(r[8]),
          supportedVersions: noGrease(nums(r[9])),
          supportedGroups: noGrease(nums(r[10])),
          keyShareGroups: noGrease(nums(r[11])),
          pskModes: nums(r[12]).filter((m) => !isGreasePskMode(m)),
          pskIdentities: occ(r[13]).length,
          sessionTicket: types.includes(35),
          earlyData: types.includes(42),
          ech: types.includes(0xfe0d),
          extendedMasterSecret: types.includes(23),
          encryptThenMac: types.includes(22),
          malformed: 0,
        });
      }
      const shRows = tsharkFields(file, 'tls.handshake.type == 2 && tls.record.content_type == 22', [
        'tcp.stream',
        'frame.number',
        'tls.handshake.version',
        'tls.handshake.random',
        'tls.handshake.session_id',
        'tls.handshake.ciphersuite',
        'tls.handshake.extension.type',
        'tls.handshake.extensions.supported_version',
        'tls.handshake.extensions_key_share_group',
        'tls.handshake.extensions_key_share_selected_group',
        'tls.handshake.extensions.psk.identity.selected',
        'tls.handshake.extensions_alpn_str',
      ], TSHARK_TLS_ANY_PORT);
      for (const r of shRows) {
        const at = `stream ${r[0]} frame ${r[1]}`;
        const found = pick(num(r[0]), num(r[1]), 2);
        expect(found.length, at).toBe(1);
        const sh: ServerHello = ok(parseServerHello(found[0].body));
        const types = nums(r[6]);
        const ks = r[8] || r[9];
        expect(
          {
            legacyVersion: sh.legacyVersion,
            random: hexOf(sh.random),
            sessionId: hexOf(sh.sessionId),
            cipherSuite: sh.cipherSuite,
            extensionTypes: sh.extensionTypes,
            version: sh.version,
            keyShareGroup: sh.keyShareGroup,
            pskSelected: sh.pskSelected,
            alpn: sh.alpn,
            sessionTicket: sh.sessionTicket,
            extendedMasterSecret: sh.extendedMasterSecret,
            malformed: sh.malformedExtensions,
          },
          at,
        ).toEqual({
          legacyVersion: num(r[2]),
          random: r[3].replaceAll(':', ''),
          sessionId: r[4].replaceAll(':', ''),
          cipherSuite: num(r[5]),
          extensionTypes: types,
          version: r[7] ? num(r[7]) : num(r[2]),
          keyShareGroup: ks ? num(ks) : null,
          pskSelected: r[10] ? num(r[10]) : null,
          alpn: r[11] || null,
          sessionTicket: types.includes(35),
          extendedMasterSecret: types.includes(23),
          malformed: 0,
        });
      }
      // Nothing parsed that tshark did not see as a cleartext hello.
      expect(msgs.filter((m) => m.type === 1).length).toBe(chRows.length);
      expect(msgs.filter((m) => m.type === 2).length).toBe(shRows.length);
    });

    it(`${basename(file)}: Certificate leaf and alerts`, async () => {
      const { msgs, alerts } = await messagesOf(file);
      const out = execFileSync(
        'tshark',
        ['-r', file, '-n', '-Y', 'tls.handshake.type == 11 && tls.record.content_type == 22', '-T', 'json', '--no-duplicate-keys', '-J', 'frame tcp tls', ...TSHARK_TLS_ANY_PORT],
        { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const frames = JSON.parse(out || '[]') as { _source: { layers: Record<string, unknown> } }[];
      let compared = 0;
      for (const f of frames) {
        const layers = f._source.layers;
        const frameNo = num(valuesOf(layers.frame, (k) => k === 'frame.number')[0] ?? '0');
        const stream = num(valuesOf(layers.tcp, (k) => k === 'tcp.stream')[0] ?? '-1');
        const certMsgs = findAll(layers.tls, (o) => o['tls.handshake.type'] === '11' && 'tls.handshake.certificates_length' in o);
        const ours = msgs.filter((m) => m.conn === stream && m.packet === frameNo && m.type === 11);
        expect(ours.length, `stream ${stream} frame ${frameNo}`).toBe(certMsgs.length);
        for (let i = 0; i < certMsgs.length; i++) {
          const t = certMsgs[i];
          const got = ok(parseCertificate(ours[i].body, false));
          const certs = t['tls.handshake.certificates'] as Record<string, unknown>;
          const lengths = certs['tls.handshake.certificate_length'];
          expect(got.certs).toBe(Array.isArray(lengths) ? lengths.length : lengths ? 1 : 0);
          expect(got.bytes).toBe(num(t['tls.handshake.certificates_length'] as string));
          if (got.certs === 0) continue;
          const leafTree = first(certs['tls.handshake.certificate_tree'] as unknown);
          expect(got.leaf, `leaf of stream ${stream} frame ${frameNo}`).not.toBeNull();
          const leaf = got.leaf!;
          const serial = valuesOf(leafTree, (k) => k === 'x509af.serialNumber')[0];
          expect(leaf.serial?.replace(/^0+/, '')).toBe(serial.replaceAll(':', '').toUpperCase().replace(/^0+/, ''));
          const time = (k: string) => tsharkTime(valuesOf(findAll(leafTree, (o) => k in o)[0]?.[k], (x) => x.endsWith('Time'))[0]);
          expect(leaf.notBefore).toBe(time('x509af.notBefore_tree'));
          expect(leaf.notAfter).toBe(time('x509af.notAfter_tree'));
          const sanExt = findAll(leafTree, (o) => o['x509af.extension.id'] === '2.5.29.17');
          const sans = valuesOf(sanExt, (k) => k === 'x509ce.dNSName' || k === 'x509ce.iPAddress');
          expect([...leaf.sans].sort()).toEqual([...sans].sort());
          const subjectTree = findAll(leafTree, (o) => 'x509af.subject_tree' in o)[0]?.['x509af.subject_tree'];
          const rdns = valuesOf(subjectTree, (k) => k.startsWith('x509sat.') && !k.endsWith('DirectoryString'));
          const subject = leaf.subject.replaceAll('\\', '');
          for (const v of rdns) expect(subject, 'subject').toContain(v);
          compared++;
        }
      }
      expect(compared).toBe(msgs.filter((m) => m.type === 11).length);

      // Cleartext alerts: tshark shows level and description; encrypted ones (TLS ≤ 1.2 after
      // ChangeCipherSpec) it cannot read, and parseAlert must refuse them.
      const rows = tsharkFields(file, 'tls.alert_message', ['tcp.stream', 'frame.number', 'tls.alert_message.level', 'tls.alert_message.desc'], TSHARK_TLS_ANY_PORT);
      const expected = rows.flatMap((r) => occ(r[2]).map((lvl, i) => ({ conn: num(r[0]), packet: num(r[1]), level: num(lvl), description: num(occ(r[3])[i]) })));
      expect(alerts.map((a) => ({ conn: a.conn, packet: a.packet, level: a.alert.level, description: a.alert.description }))).toEqual(expected);
    });
  }

  it('reads the awkward cases the corpus was chosen for', async () => {
    const get = async (name: string) => (await messagesOf(join(ZEEK_TLS, name))).msgs;
    for (const f of files) if (!basename(f).startsWith('tls-fragmented')) expect((await messagesOf(f)).skipped, basename(f)).toEqual([]);
    const chOf = (m: Msg[]) => m.filter((x) => x.type === 1).map((x) => ok(parseClientHello(x.body)));
    const shOf = (m: Msg[]) => m.filter((x) => x.type === 2).map((x) => ok(parseServerHello(x.body)));
    // A post-quantum hybrid key share (Chrome 125).
    const kyber = chOf(await get('chrome-1250-tls-x25519-kyber.pcap'))[0];
    expect(kyber.keyShareGroups.map(namedGroupName)).toEqual(['X25519Kyber768Draft00', 'x25519']);
    // Encrypted Client Hello (outer hello carries 0xfe0d).
    expect(chOf(await get('tls13-ech.pcap')).every((c) => c.ech && c.sni === 'cloudflare-ech.com')).toBe(true);
    // TLS 1.3 draft 19: ServerHello without session id or compression method, key_share at 40.
    const d19 = shOf(await get('tls-13draft19-early-data.pcap'));
    expect(d19.map((s) => [versionName(s.version), s.keyShareGroup])).toEqual([
      ['TLS 1.3 (draft 19)', 29],
      ['TLS 1.3 (draft 19)', 29],
    ]);
    const d19ch = chOf(await get('tls-13draft19-early-data.pcap'));
    expect(d19ch[1].earlyData && d19ch[1].pskIdentities === 1).toBe(true);
    // Draft 23 negotiates through supported_versions.
    expect(shOf(await get('tls13draft23-chrome67.0.3368.0-canary.pcap')).map((s) => versionName(s.version))).toEqual(['TLS 1.3 (draft 23)']);
    // A PSK resumption.
    expect(shOf(await get('tls13_psk_succesfull.pcap'))[0].pskSelected).toBe(0);
    // A 356 KB certificate chain in 22 records of 16 KB: over MAX_HANDSHAKE_MESSAGE_BYTES, so
    // skipped and counted (tshark does not reassemble it either); the messages after it arrive.
    const frag = await messagesOf(join(ZEEK_TLS, 'tls-fragmented-handshake.pcap.gz'));
    expect(chOf(frag.msgs)[0].sni).toBe('104.236.167.107');
    expect(frag.skipped.map((s) => [s.side, s.type, s.length > MAX_HANDSHAKE_MESSAGE_BYTES])).toEqual([['server', 11, true]]);
    expect(frag.msgs.filter((m) => m.side === 'server').map((m) => m.type)).toEqual([2, 12, 14]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('constants', () => {
  it('names versions, drafts and GREASE', () => {
    expect([0x0002, 0x0300, 0x0301, 0x0302, 0x0303, 0x0304].map(versionName)).toEqual(['SSL 2.0', 'SSL 3.0', 'TLS 1.0', 'TLS 1.1', 'TLS 1.2', 'TLS 1.3']);
    expect(versionName(0x7f17)).toBe('TLS 1.3 (draft 23)');
    expect(versionName(0x7f13)).toBe('TLS 1.3 (draft 19)');
    expect(versionName(0x0a0a)).toBe('GREASE (0x0a0a)');
    expect(versionName(0x1234)).toBe('Unknown (0x1234)');
  });

  it('names alerts, groups and extensions as the RFCs spell them', () => {
    expect([0, 10, 20, 40, 42, 48, 70, 80, 86, 90, 109, 112, 116, 120].map(alertDescriptionName)).toEqual([
      'close_notify',
      'unexpected_message',
      'bad_record_mac',
      'handshake_failure',
      'bad_certificate',
      'unknown_ca',
      'protocol_version',
      'internal_error',
      'inappropriate_fallback',
      'user_canceled',
      'missing_extension',
      'unrecognized_name',
      'certificate_required',
      'no_application_protocol',
    ]);
    expect(alertDescriptionName(200)).toBe('Unknown (0xc8)');
    expect([23, 24, 25, 29, 30, 256, 0x11ec, 0x6399].map(namedGroupName)).toEqual([
      'secp256r1',
      'secp384r1',
      'secp521r1',
      'x25519',
      'x448',
      'ffdhe2048',
      'X25519MLKEM768',
      'X25519Kyber768Draft00',
    ]);
    expect(namedGroupName(0xdada)).toBe('GREASE (0xdada)');
    expect(extensionTypeName(0)).toBe('server_name');
    expect(extensionTypeName(0xfe0d)).toBe('encrypted_client_hello');
    expect(extensionTypeName(0xff01)).toBe('renegotiation_info');
    expect(extensionTypeName(0x3a3a)).toBe('GREASE (0x3a3a)');
    expect(extensionTypeName(0x1234)).toBe('Unknown (0x1234)');
  });

  it('HRR random is SHA-256("HelloRetryRequest") (RFC 8446 §4.1.3)', () => {
    expect(hexOf(HRR_RANDOM)).toBe(createHash('sha256').update('HelloRetryRequest').digest('hex'));
  });

  it('GREASE values are exactly the sixteen 0x?A?A codes (RFC 8701 §2)', () => {
    const all: number[] = [];
    for (let v = 0; v <= 0xffff; v++) if (isGrease(v)) all.push(v);
    expect(all).toEqual(Array.from({ length: 16 }, (_, i) => 0x0a0a + i * 0x1010));
    const modes: number[] = [];
    for (let m = 0; m < 256; m++) if (isGreasePskMode(m)) modes.push(m);
    expect(modes).toEqual([0x0b, 0x2a, 0x49, 0x68, 0x87, 0xa6, 0xc5, 0xe4]);
  });
});

describe('ClientHello', () => {
  it('reads a TLS 1.3 ClientHello field by field', () => {
    const ch = ok(
      parseClientHello(
        clientHello({
          sid: fill(32, 1),
          suites: [0x2a2a, 0x1301, 0x1302, 0xc02b],
          exts: [
            ext(0x2a2a),
            ext(0, vec(2, [0], vec(2, ascii('example.com')))),
            ext(16, vec(2, vec(1, [0x1a, 0x1a]), vec(1, ascii('h2')), vec(1, ascii('http/1.1')))),
            ext(43, vec(1, u16(0x3a3a), u16(0x0304), u16(0x0303))),
            ext(10, vec(2, u16(0x4a4a), u16(0x11ec), u16(29), u16(23))),
            ext(51, vec(2, u16(0x4a4a), vec(2, [0]), u16(29), vec(2, fill(32, 2)))),
            ext(45, vec(1, [0x0b, 1])),
            ext(35),
            ext(23),
            ext(22),
            ext(42),
            ext(0xfe0d, [0, 1, 2]),
            ext(41, vec(2, vec(2, fill(16, 3)), u32(1234), vec(2, fill(8, 4)), u32(5)), vec(2, vec(1, fill(32, 0)))),
          ],
        }),
      ),
    );
    expect(ch).toMatchObject({
      legacyVersion: 0x0303,
      cipherSuites: [0x1301, 0x1302, 0xc02b],
      sni: 'example.com',
      alpn: ['h2', 'http/1.1'],
      supportedVersions: [0x0304, 0x0303],
      supportedGroups: [0x11ec, 29, 23],
      keyShareGroups: [29],
      pskModes: [1],
      sessionTicket: 'empty',
      pskIdentities: 2,
      earlyData: true,
      ech: true,
      extendedMasterSecret: true,
      encryptThenMac: true,
      extensionTypes: [0x2a2a, 0, 16, 43, 10, 51, 45, 35, 23, 22, 42, 0xfe0d, 41],
      extensionsSkipped: 0,
      malformedExtensions: 0,
    });
    expect(ch.sessionId.length).toBe(32);
    expect(ch.random).toEqual(bytes(fill(32, 7)));
  });

  it('takes a TLS ≤ 1.2 ClientHello without extensions (RFC 5246 §7.4.1.2)', () => {
    const ch = ok(parseClientHello(clientHello({ version: 0x0301, noExtensions: true })));
    expect(ch).toMatchObject({ legacyVersion: 0x0301, extensionTypes: [], sni: null, sessionTicket: 'none', supportedVersions: [] });
  });

  it('loses only the value of a malformed extension, and keeps the first of a repeated one', () => {
    const ch = ok(
      parseClientHello(
        clientHello({
          exts: [
            ext(0, vec(2, [0], vec(2, ascii('first.example')))),
            ext(16, vec(2, vec(1, ascii('h2'))), [0]), // trailing octet: lenient
            ext(43, vec(1, [3, 4, 3])), // odd-length version list
            ext(10, [0, 9, 0, 29]), // list length past the extension
            ext(0, vec(2, [0], vec(2, ascii('second.example')))),
          ],
        }),
      ),
    );
    expect(ch.sni).toBe('first.example');
    expect(ch.alpn).toEqual(['h2']);
    expect(ch.supportedVersions).toEqual([]);
    expect(ch.supportedGroups).toEqual([]);
    expect(ch.malformedExtensions).toBe(3);
  });

  it('refuses what breaks the message framing', () => {
    const r1 = parseClientHello(clientHello({ sid: fill(33, 0) }));
    expect(r1).toMatchObject({ ok: false, error: 'bad-length' });
    const good = clientHello({ exts: [ext(0, vec(2, [0], vec(2, ascii('a'))))] });
    // An extension claiming more than its block holds (block length fixed, extension grown).
    const bad = new Uint8Array(good);
    bad[bad.length - 8] = 0xff; // the server_name extension_data length, high octet
    expect(parseClientHello(bad)).toMatchObject({ ok: false, error: 'bad-length' });
    expect(parseClientHello(new Uint8Array(0))).toMatchObject({ ok: false, error: 'truncated' });
  });

  it('caps ALPN names and list values, counting the rest', () => {
    const names = Array.from({ length: 100 }, (_, i) => vec(1, ascii(`p${i}`)));
    const suites = Array.from({ length: 2000 }, (_, i) => i + 1);
    const ch = ok(parseClientHello(clientHello({ suites, exts: [ext(16, vec(2, ...names))] })));
    expect(ch.alpn.length).toBe(MAX_ALPN_PROTOCOLS);
    expect(ch.cipherSuites.length).toBe(MAX_LIST_VALUES);
    expect(ch.valuesSkipped).toBe(100 - MAX_ALPN_PROTOCOLS + 2000 - MAX_LIST_VALUES);
  });
});

describe('ServerHello', () => {
  it('detects a HelloRetryRequest by its random (RFC 8446 §4.1.3), with key_share selected_group', () => {
    const hrr = ok(parseServerHello(serverHello({ random: HRR_RANDOM, exts: [ext(43, u16(0x0304)), ext(51, u16(0x11ec)), ext(44, vec(2, fill(40, 5)))] })));
    expect(hrr).toMatchObject({ helloRetryRequest: true, version: 0x0304, keyShareGroup: 0x11ec, malformedExtensions: 0 });
    const near = new Uint8Array(HRR_RANDOM);
    near[31] ^= 1;
    const sh = ok(parseServerHello(serverHello({ random: near, exts: [ext(43, u16(0x0304)), ext(51, u16(29), vec(2, fill(32, 1)))] })));
    expect(sh).toMatchObject({ helloRetryRequest: false, keyShareGroup: 29 });
  });

  it('takes the version from supported_versions when present (RFC 8446 §4.2.1)', () => {
    expect(ok(parseServerHello(serverHello({ exts: [ext(43, u16(0x0304))] }))).version).toBe(0x0304);
    expect(ok(parseServerHello(serverHello({ version: 0x0303, exts: [ext(23)] }))).version).toBe(0x0303);
    const bad = ok(parseServerHello(serverHello({ exts: [ext(43, [3, 4, 0])] })));
    expect(bad).toMatchObject({ version: 0x0303, malformedExtensions: 1 });
    // A TLS 1.2 ServerHello may end after the compression method.
    const bare = bytes(cat(u16(0x0303), fill(32, 1), vec(1, []), u16(0xc02f), [0]));
    expect(ok(parseServerHello(bare))).toMatchObject({ version: 0x0303, cipherSuite: 0xc02f, extensionTypes: [] });
  });

  it('reads ALPN, PSK, extended master secret and session ticket', () => {
    const sh = ok(parseServerHello(serverHello({ exts: [ext(16, vec(2, vec(1, ascii('h2')))), ext(41, u16(0)), ext(23), ext(22), ext(35)] })));
    expect(sh).toMatchObject({ alpn: 'h2', pskSelected: 0, extendedMasterSecret: true, encryptThenMac: true, sessionTicket: true });
  });

  it('reads the TLS 1.3 draft ≤ 21 layout (no session id, no compression method)', () => {
    const draft = bytes(cat(u16(0x7f12), fill(32, 1), u16(0x1301), vec(2, ext(40, u16(29), vec(2, fill(32, 1))))));
    expect(ok(parseServerHello(draft))).toMatchObject({ version: 0x7f12, cipherSuite: 0x1301, keyShareGroup: 29, sessionId: new Uint8Array(0) });
  });
});

describe('EncryptedExtensions, NewSessionTicket, Alert', () => {
  it('EncryptedExtensions (RFC 8446 §4.3.1)', () => {
    const ee = ok(parseEncryptedExtensions(bytes(vec(2, ext(0), ext(16, vec(2, vec(1, ascii('h2')))), ext(42)))));
    expect(ee).toMatchObject({ alpn: 'h2', earlyData: true, serverName: true, extensionTypes: [0, 16, 42] });
    expect(ok(parseEncryptedExtensions(bytes(vec(2))))).toMatchObject({ alpn: null, earlyData: false, serverName: false });
    expect(parseEncryptedExtensions(bytes([0]))).toMatchObject({ ok: false, error: 'truncated' });
  });

  it('NewSessionTicket, TLS 1.3 (RFC 8446 §4.6.1) and TLS 1.2 (RFC 5077 §3.3)', () => {
    const t13 = bytes(cat(u32(7200), u32(0xdeadbeef), vec(1, [1, 2]), vec(2, fill(100, 1)), vec(2, ext(42, u32(16384)))));
    expect(parseNewSessionTicket(t13, true)).toEqual({ lifetimeS: 7200, earlyDataMax: 16384, ticketBytes: 100 });
    const t12 = bytes(cat(u32(300), vec(2, fill(50, 1))));
    expect(parseNewSessionTicket(t12, false)).toEqual({ lifetimeS: 300, earlyDataMax: null, ticketBytes: 50 });
    expect(parseNewSessionTicket(t12, true)).toBeNull();
    expect(parseNewSessionTicket(t13.subarray(0, 20), true)).toBeNull();
  });

  it('Alert: two octets with a defined level only (encrypted alerts are longer)', () => {
    expect(parseAlert(bytes([2, 40]))).toEqual({ level: 2, description: 40, name: 'handshake_failure' });
    expect(parseAlert(bytes([1, 0]))).toEqual({ level: 1, description: 0, name: 'close_notify' });
    expect(parseAlert(bytes([2]))).toBeNull();
    expect(parseAlert(bytes([3, 40]))).toBeNull();
    expect(parseAlert(bytes(fill(26, 2)))).toBeNull();
  });
});

// A certificate made with OpenSSL 3.0 (`openssl req -x509 -days 10000 -set_serial
// 0x0123456789ABCDEF -subj "/CN=test, with comma/O=Wirefall Test"`) with subjectAltName
// DNS:a.example, DNS:*.b.example, IP:192.0.2.1, IP:2001:db8::1, email:x@y.z,
// URI:https://u.example/, DNS:"we, DNS:ird.example" — a name with a comma, which node escapes.
const OPENSSL_CERT = Buffer.from(
  'MIIB7DCCAZKgAwIBAgIIASNFZ4mrze8wCgYIKoZIzj0EAwIwMzEZMBcGA1UEAwwQdGVzdCwgd2l0aCBjb21tYTEWMBQGA1UE' +
    'CgwNV2lyZWZhbGwgVGVzdDAgFw0yNjEyMDQxMzM1NTFaGA8yMDU0MDQyMTEzMzU1MVowMzEZMBcGA1UEAwwQdGVzdCwgd2l0' +
    'aCBjb21tYTEWMBQGA1UECgwNV2lyZWZhbGwgVGVzdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABEj/FDo1b0dfdmAkv1bu' +
    'u7+7yAd6Mdid1YfXl+ZuPwfU5OyAcv8JPlY/gmSdqzeF6gMjwgBGYITgf7tnWYbpiIKjgY0wgYowaQYDVR0RBGIwYIIJYS5l' +
    'eGFtcGxlggsqLmIuZXhhbXBsZYcEwAACAYcQIAENuAAAAAAAAAAAAAAAAYEFeEB5LnqGEmh0dHBzOi8vdS5leGFtcGxlL4IT' +
    'd2UsIEROUzppcmQuZXhhbXBsZTAdBgNVHQ4EFgQUhoChTBHgVNumL3q4uUiADuV8mZUwCgYIKoZIzj0EAwIDSAAwRQIgMcjP' +
    '1b97eFiXK6qk5R1f3+/50CDNZWxxH9FZoSzDZ3gCIQCWIvfFyh8+aC+SOTgmlTFq+A/uLqLs3QvGf0wo1IwWbQ==',
  'base64',
);

describe('Certificate', () => {
  it('decodes the leaf: subject, SANs (escaped commas, IPv6 in RFC 5952 form), UTCTime and GeneralizedTime', () => {
    const body = bytes(vec(3, vec(3, OPENSSL_CERT), vec(3, fill(10, 0x30))));
    const msg = ok(parseCertificate(body, false));
    expect(msg.certs).toBe(2);
    expect(msg.bytes).toBe(body.length - 3);
    expect(msg.leafError).toBeNull();
    expect(msg.leaf).toEqual({
      subject: 'CN=test\\, with comma\nO=Wirefall Test',
      issuer: 'CN=test\\, with comma\nO=Wirefall Test',
      sans: ['a.example', '*.b.example', '192.0.2.1', '2001:db8::1', 'we, DNS:ird.example'],
      notBefore: '2026-12-04T13:35:51.000Z',
      notAfter: '2054-04-21T13:35:51.000Z',
      serial: '0123456789ABCDEF',
    });
  });

  it('TLS 1.3 layout: request context and per-entry extensions (RFC 8446 §4.4.2)', () => {
    const body = bytes(cat(vec(1, [1, 2, 3]), vec(3, vec(3, OPENSSL_CERT), vec(2, ext(5, [1, 0, 0, 0, 0])), vec(3, fill(5, 1)), vec(2))));
    const msg = ok(parseCertificate(body, true));
    expect(msg.certs).toBe(2);
    expect(msg.leaf?.serial).toBe('0123456789ABCDEF');
    expect(parseCertificate(body, false)).toMatchObject({ ok: false });
  });

  it('a garbage certificate leaves leaf null with the reason; an empty list has no leaf', () => {
    for (const junk of [fill(300, 0x30), [0x30, 0x82, 0xff, 0xff, 1, 2, 3], ascii('-----BEGIN CERTIFICATE-----'), [0x30]]) {
      const msg = ok(parseCertificate(bytes(vec(3, vec(3, junk))), false));
      expect(msg).toMatchObject({ certs: 1, leaf: null, leafError: 'bad-certificate' });
    }
    expect(ok(parseCertificate(bytes(vec(3)), false))).toMatchObject({ certs: 0, leaf: null, leafError: null, bytes: 0 });
    expect(decodeCertificate(new Uint8Array(0))).toBeNull();
    expect(parseCertificate(bytes([0, 0, 9, 0, 0]), false)).toMatchObject({ ok: false, error: 'truncated' });
  });

  it('parses node subjectAltName strings, quoted values included', () => {
    expect(parseSubjectAltName('DNS:a, DNS:"b\\u002c c", IP Address:10.0.0.1, email:"x, y", DNS:d')).toEqual(['a', 'b, c', '10.0.0.1', 'd']);
    expect(parseSubjectAltName('')).toEqual([]);
    expect(parseSubjectAltName('IP Address:0:0:0:0:0:0:0:1')).toEqual(['::1']);
    expect(parseSubjectAltName('DNS:"unterminated')).toEqual(['unterminated']);
  });
});

describe('HandshakeReassembler', () => {
  const collect = (limits?: { maxMessageBytes?: number }) => {
    const got: { type: number; body: string }[] = [];
    const skipped: [number, number][] = [];
    const r = new HandshakeReassembler((type, body) => got.push({ type, body: hexOf(body) }), limits, (t, l) => skipped.push([t, l]));
    return { r, got, skipped };
  };
  const stream = bytes(
    cat(
      handshake(2, serverHello({ exts: [ext(23)] })),
      handshake(11, vec(3, vec(3, OPENSSL_CERT))),
      handshake(14, []),
      handshake(4, cat(u32(300), vec(2, fill(5000, 1)))),
    ),
  );

  it('splits coalesced messages and joins fragmented ones, the same for any cut', () => {
    const whole = collect();
    whole.r.push(stream);
    expect(whole.got.map((m) => m.type)).toEqual([2, 11, 14, 4]);
    expect(whole.r.pending).toBe(0);
    for (const size of [1, 2, 3, 5, 7, 100, 1000, 4096]) {
      const c = collect();
      for (let i = 0; i < stream.length; i += size) c.r.push(stream.subarray(i, i + size));
      expect(c.got, `fragments of ${size}`).toEqual(whole.got);
      expect(c.r.pending).toBe(0);
    }
  });

  it.skipIf(!haveCorpus)('one-octet fragments of a real ServerHello flight give the same messages', async () => {
    const { msgs } = await messagesOf(join(ZEEK_TLS, 'google-cert-repeat.pcap'));
    const flight = bytes(cat(...msgs.filter((m) => m.conn === 0 && m.side === 'server').map((m) => handshake(m.type, m.body))));
    expect(flight.length).toBeGreaterThan(4000);
    const c = collect();
    for (let i = 0; i < flight.length; i++) c.r.push(flight.subarray(i, i + 1));
    expect(c.got.map((m) => m.type)).toEqual([2, 11, 12, 14, 4]);
    expect(c.got.map((m) => m.body)).toEqual(msgs.filter((m) => m.conn === 0 && m.side === 'server').map((m) => hexOf(m.body)));
  });

  it('reports pending octets mid-message and forgets them on reset', () => {
    const c = collect();
    c.r.push(stream.subarray(0, 2));
    expect(c.r.pending).toBe(2);
    c.r.push(stream.subarray(2, 10));
    expect(c.r.pending).toBe(10);
    c.r.reset();
    expect(c.r.pending).toBe(0);
    c.r.push(bytes(handshake(14, [])));
    expect(c.got).toEqual([{ type: 14, body: '' }]);
  });
});

describe('hostile input', () => {
  it('10k extensions: the first MAX_EXTENSIONS are read, the rest counted, in linear time', () => {
    const types = Array.from({ length: 10_000 }, (_, i) => (i % 10 === 1 ? 0 : 0x1000 + (i % 50)));
    const many = types.map((t, i) => (t === 0 ? ext(0, vec(2, [0], vec(2, ascii(`h${i}`)))) : ext(t)));
    const t0 = performance.now();
    const ch = ok(parseClientHello(clientHello({ exts: many })));
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(ch.extensionTypes).toEqual(types.slice(0, MAX_EXTENSIONS));
    expect(ch.extensionsSkipped).toBe(10_000 - MAX_EXTENSIONS);
    expect(ch.sni).toBe('h1');
    // All but the first of each type among those read are repeats (RFC 8446 §4.2).
    expect(ch.malformedExtensions).toBe(MAX_EXTENSIONS - new Set(types.slice(0, MAX_EXTENSIONS)).size);
    // The most a 64 KB block can hold (16383 empty extensions), and a ServerHello alike.
    const max = ok(parseClientHello(clientHello({ exts: Array.from({ length: 16_383 }, () => ext(0x5555)) })));
    expect(max.extensionsSkipped).toBe(16_383 - MAX_EXTENSIONS);
    const sh = ok(parseServerHello(serverHello({ exts: Array.from({ length: 16_383 }, (_, i) => ext(0x1000 + i)) })));
    expect(sh).toMatchObject({ extensionsSkipped: 16_383 - MAX_EXTENSIONS, malformedExtensions: 0 });
  });

  it('a real ClientHello truncated at every offset: never throws, never ok except where TLS 1.2 allows', async () => {
    const real: Uint8Array[] = [
      clientHello({ sid: fill(32, 1), exts: [ext(0, vec(2, [0], vec(2, ascii('example.com')))), ext(51, vec(2, u16(29), vec(2, fill(32, 2)))), ext(43, vec(1, u16(0x0304)))] }),
    ];
    if (haveCorpus) {
      for (const name of ['chrome-1250-tls-x25519-kyber.pcap', 'tls13-ech.pcap', 'tls13_psk_succesfull.pcap']) {
        const { msgs } = await messagesOf(join(ZEEK_TLS, name));
        real.push(msgs.find((m) => m.type === 1)!.body);
      }
    }
    for (const body of real) {
      // Where the extensions block would start: a TLS ≤ 1.2 hello may end there.
      const sidLen = body[34];
      const suitesLen = (body[35 + sidLen] << 8) | body[36 + sidLen];
      const extStart = 37 + sidLen + suitesLen + 1 + body[37 + sidLen + suitesLen];
      expect(ok(parseClientHello(body)).extensionTypes.length).toBeGreaterThan(0);
      for (let cut = 0; cut < body.length; cut++) {
        const r = parseClientHello(body.subarray(0, cut));
        if (cut === extStart) expect(r.ok, `cut ${cut}`).toBe(true);
        else expect(r, `cut ${cut}`).toMatchObject({ ok: false, error: 'truncated' });
      }
      // The same for the other parsers: no throw on any prefix.
      for (let cut = 0; cut < body.length; cut++) {
        const b = body.subarray(0, cut);
        parseServerHello(b);
        parseEncryptedExtensions(b);
        parseCertificate(b, true);
        parseCertificate(b, false);
        parseNewSessionTicket(b, true);
        parseNewSessionTicket(b, false);
      }
    }
  });

  it('a message in 100k one-octet records is reassembled in linear time and bounded memory', () => {
    const body = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 7) & 0xff);
    const msg = bytes(handshake(11, body));
    let out: Uint8Array | null = null;
    let maxHeld = 0;
    const r = new HandshakeReassembler((_t, b) => (out = new Uint8Array(b)));
    const t0 = performance.now();
    for (let i = 0; i < msg.length; i++) {
      r.push(msg.subarray(i, i + 1));
      if (r.heldBytes > maxHeld) maxHeld = r.heldBytes;
    }
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(out).toEqual(body);
    expect(maxHeld).toBeLessThanOrEqual(body.length + 4);
  });

  it('a 1 MB Certificate message is skipped and counted, never buffered; the next message still arrives', () => {
    const types: number[] = [];
    const skipped: [number, number][] = [];
    const r = new HandshakeReassembler((t) => types.push(t), {}, (t, l) => skipped.push([t, l]));
    const big = 1 << 20;
    r.push(bytes(cat(handshake(2, serverHello()), u8(11), u24(big))));
    let maxHeld = 0;
    const record = new Uint8Array(16384).fill(0x30);
    for (let sent = 0; sent < big; sent += record.length) {
      r.push(record.subarray(0, Math.min(record.length, big - sent)));
      maxHeld = Math.max(maxHeld, r.heldBytes);
      if (sent + record.length < big) expect(r.pending).toBe(4 + sent + record.length);
    }
    r.push(bytes(handshake(14, [])));
    expect(types).toEqual([2, 14]);
    expect(skipped).toEqual([[11, big]]);
    expect(r.skippedMessages).toBe(1);
    expect(maxHeld).toBeLessThanOrEqual(4);
    expect(big).toBeGreaterThan(MAX_HANDSHAKE_MESSAGE_BYTES);
    // A header announcing the limit, then silence: memory follows what arrived, not what was announced.
    const r2 = new HandshakeReassembler(() => {});
    r2.push(bytes(cat(u8(11), u24(MAX_HANDSHAKE_MESSAGE_BYTES), [1, 2, 3])));
    expect(r2.heldBytes).toBeLessThanOrEqual(4096 + 4);
    // A custom limit.
    const r3 = new HandshakeReassembler(() => {}, { maxMessageBytes: 10 });
    r3.push(bytes(handshake(1, fill(11, 0))));
    expect(r3.skippedMessages).toBe(1);
  });

  it('random inputs never throw', () => {
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) / 65536;
    const r = new HandshakeReassembler(() => {}, { maxMessageBytes: 4096 });
    for (let n = 0; n < 3000; n++) {
      const len = Math.floor(rnd() * 300);
      const b = Uint8Array.from({ length: len }, () => Math.floor(rnd() * 256));
      // Bias toward plausible framing: small lengths in the first octets.
      if (len > 40 && rnd() < 0.5) b[34] = Math.floor(rnd() * 40);
      expect(() => {
        parseClientHello(b);
        parseServerHello(b);
        parseEncryptedExtensions(b);
        parseCertificate(b, rnd() < 0.5);
        parseNewSessionTicket(b, rnd() < 0.5);
        parseAlert(b);
        r.push(b);
      }).not.toThrow();
    }
  });
});
