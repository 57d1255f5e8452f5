/**
 * Hostile input to the TLS session (core/src/tls/session.ts) and what feeds it (handshake
 * reassembly, the key log): wrong keys, truncated and oversized records (RFC 8446 §5.1–5.2,
 * RFC 5246 §6.2.1–6.2.3), handshake messages cut into hundreds of records, 100,000 one-byte
 * records, a ClientHello with 10,000 extensions, a 1 MB certificate chain, a key log of a million
 * lines with garbage, floods of alerts, hellos, KeyUpdates and false record headers. Each asserts
 * the named limit and its counter; the time checks are only generous hang guards (every per-byte
 * and per-record step is O(1) amortised, or bounded by a named limit).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MAX_EXTENSIONS, MAX_HANDSHAKE_MESSAGE_BYTES } from '../../../core/src/tls/handshake.js';
import { KeyLog } from '../../../core/src/tls/keylog.js';
import { tls13NextTrafficSecret } from '../../../core/src/tls/keys.js';
import {
  MAX_ALERTS,
  MAX_ANOMALIES_PER_CODE,
  MAX_FAILED_BEFORE_GIVING_UP,
  MAX_FAILED_IN_ROW,
  MAX_PLAINTEXT_RECORD,
  MAX_RECORD_BODY,
  MAX_TLS13_RECORD,
  TLS_ANOMALY,
  TlsSession,
} from '../../../core/src/tls/session.js';
import {
  CCS_RECORD,
  CERT_DER,
  CT_ALERT,
  CT_APPDATA,
  CT_HANDSHAKE,
  bytewise,
  certificateMsg,
  clientHello,
  drive,
  encryptedExtensions,
  ext,
  hsMsg,
  h1Request,
  h1Response,
  keyLogOf,
  newTlsSession,
  record,
  recordsOf,
  serverHello,
  Synth12,
  Synth13,
  vec16,
  vec8,
  Writer13,
  type Ev,
} from './session-harness.js';

/** A hang guard, not a benchmark (DEVELOPERS.md: speed is measured by `npm run bench`). */
const HANG_MS = 30_000;

const ev = (side: 'client' | 'server', ...data: Uint8Array[]): Ev => ({ side, data: Buffer.concat(data) });

/** Internal state read only to assert memory bounds. */
interface Peek {
  dirs: Record<'client' | 'server', { body: Uint8Array | null; hs: { heldBytes: number } }>;
}
const peek = (s: unknown): Peek => s as Peek;

/** `n` application-data records of `side` carrying `data` split `per` octets each. */
function appRecords(w: Writer13, data: Uint8Array, per: number): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += per) out.push(w.record(CT_APPDATA, data.subarray(i, Math.min(data.length, i + per))));
  return Buffer.concat(out);
}

/** A handshake byte string cut into plaintext handshake records of `per` octets. */
function hsRecords(msgs: Uint8Array, per: number, version = 0x0303): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; i < msgs.length; i += per) out.push(record(CT_HANDSHAKE, msgs.subarray(i, Math.min(msgs.length, i + per)), version));
  return Buffer.concat(out);
}

describe('wrong keys', () => {
  it(`each direction stops after MAX_FAILED_BEFORE_GIVING_UP (${MAX_FAILED_BEFORE_GIVING_UP}) failures; 4,000 records cost no more`, () => {
    const s = new Synth13();
    const wrong = new Synth13();
    const keys = keyLogOf(wrong.keylog().replace(new RegExp(wrong.random.toString('hex'), 'g'), s.random.toString('hex')));
    const events: Ev[] = [...s.handshake()];
    for (let i = 0; i < 2000; i++) events.push(ev('client', ...s.app('client', h1Request(`/${i}`))), ev('server', ...s.app('server', h1Response(100))));
    const r = drive(events, { keys });
    expect(r.out.info).toMatchObject({ decrypted: false, undecryptedReason: 'keys-mismatch' });
    expect(r.counters.tlsDecryptionAbandoned).toBe(2);
    expect(r.counters.tlsRecordsUndecryptable).toBe(2 * MAX_FAILED_BEFORE_GIVING_UP);
    expect(r.out.anomalies.length).toBeLessThanOrEqual(MAX_ANOMALIES_PER_CODE);
    expect(r.out.info.records.applicationData).toBe(4000 + 4 + 1 - 2 * MAX_FAILED_BEFORE_GIVING_UP);
    expect(r.ms).toBeLessThan(HANG_MS);
  });

  it(`after successes, garbage records are tried at most MAX_FAILED_IN_ROW (${MAX_FAILED_IN_ROW}) times in a row`, () => {
    const s = new Synth13();
    const events: Ev[] = [...s.handshake(), ev('client', ...s.app('client', h1Request('/a'))), ev('server', ...s.app('server', h1Response(100)))];
    // 20,000 records that look right and authenticate under nothing.
    const junk: Buffer[] = [];
    for (let i = 0; i < 20_000; i++) junk.push(record(CT_APPDATA, randomBytes(40)));
    events.push(ev('server', ...junk));
    const r = drive(events, { keys: s.keys() });
    expect(r.counters.tlsRecordsUndecryptable).toBe(MAX_FAILED_IN_ROW);
    expect(r.counters.tlsDecryptionAbandoned).toBe(1);
    expect(r.out.requests.map((q) => [q.target, q.status])).toEqual([['/a', 200]]);
    expect(r.ms).toBeLessThan(HANG_MS);
  });
});

describe('truncated records', () => {
  it('a record cut short by the FIN, a header cut short, the capture ending mid-record: counted, no crash', () => {
    const s = new Synth13();
    const resp = s.app('server', h1Response(30_000));
    const base: Ev[] = [...s.handshake(), ev('client', ...s.app('client', h1Request('/a')))];
    // Body cut after 10 octets.
    const a = drive([...base, ev('server', resp[0].subarray(0, 15))], { keys: s.keys() });
    expect(a.counters.tlsRecordsTruncated).toBe(1);
    expect(a.out.anomalies.find((x) => x.code === TLS_ANOMALY.UNDECRYPTABLE)?.detail).toBe('server record of 16401 bytes: cut short by FIN after 10 of 16401 bytes');
    // Header cut after 3 octets.
    const b = drive([...base, ev('server', resp[0]), ev('server', resp[1].subarray(0, 3))], { keys: s.keys() });
    expect(b.counters.tlsRecordsTruncated).toBe(1);
    // The capture ends (no FIN) inside a record.
    const c = drive([...base, ev('server', resp[0].subarray(0, 100))], { keys: s.keys(), noEnd: true });
    expect(c.out.anomalies.find((x) => x.code === TLS_ANOMALY.UNDECRYPTABLE)?.detail).toMatch(/cut short by the end of the capture after 95 of/);
    // A truncated ClientHello record: no hello, the loss says so.
    const ch = s.clientHello();
    const d = drive([ev('client', ch.subarray(0, ch.length - 20))]);
    expect(d.counters.tlsRecordsTruncated).toBe(1);
    expect(d.out.info.sni).toBeNull();
  });

  it('a record whose length field is short: the bytes after it are not a header → desync, resync, later records decrypt', () => {
    const s = new Synth13();
    const bad = s.w.sapp.record(CT_APPDATA, h1Response(50));
    bad.writeUInt16BE(bad.length - 5 - 7, 3); // 7 octets too short
    const events: Ev[] = [...s.handshake(), ev('client', ...s.app('client', h1Request('/a'))), ev('server', bad)];
    events.push(ev('client', ...s.app('client', h1Request('/b'))), ev('server', ...s.app('server', h1Response(60))));
    const r = drive(events, { keys: s.keys() });
    expect(r.counters.tlsRecordDesync).toBe(1);
    expect(r.counters.tlsRecordResyncs).toBe(1);
    expect(r.out.codes()).toContain(TLS_ANOMALY.DESYNC);
    // The broken record is lost (HTTP is told: its framed length less the expansion, the 7 stray
    // octets are not known to be plaintext), the next one decrypts: its 60-octet response is read
    // (HTTP/1.1 pairs it with the oldest request waiting, /a).
    expect(r.counters.tlsRecordsUndecryptable).toBe(1);
    expect(r.out.requests.map((q) => [q.target, q.status, q.sizes.responseBody])).toEqual([
      ['/a', 200, 60],
      ['/b', null, 0],
    ]);
    expect(r.out.requests[0].anomalies[0].detail).toBe(`${h1Response(50).length - 7} bytes lost before this response`);
  });
});

describe('oversized records (RFC 8446 §5.1–5.2, RFC 5246 §6.2.1–6.2.3): tls-record-overflow, framing kept', () => {
  it(`TLS 1.3: a record over 2^14 + 256 (${MAX_TLS13_RECORD}) and one of 65,535 octets: overflow, not decrypted, not kept; the next record decrypts`, () => {
    const s = new Synth13();
    for (const len of [MAX_TLS13_RECORD + 1, MAX_RECORD_BODY + 1, 65_535]) {
      const events: Ev[] = [
        ...s.handshake(),
        ev('client', ...s.app('client', h1Request('/a'))),
        ev('server', record(CT_APPDATA, randomBytes(len))),
        ev('server', ...s.app('server', h1Response(10))),
      ];
      for (const evs of [events, bytewise(events)]) {
        const sess = newTlsSession(new (class {
          request(): void {}
          protocol(): void {}
          anomaly(): void {}
          keepAlive(): void {}
          closeReason(): void {}
          closeFacts(): void {}
          extra(): void {}
        })(), s.keys(), {});
        // Fed by hand to look at the buffer while the oversized record streams by.
        let maxBody = 0;
        const off = { client: 0, server: 0 };
        evs.forEach((e, i) => {
          sess.onData(e.side, { data: e.data, offset: off[e.side], skipped: 0, time: i, deliveredTime: i, packet: i + 1 });
          off[e.side] += e.data.length;
          maxBody = Math.max(maxBody, peek(sess).dirs.server.body?.length ?? 0);
        });
        expect(maxBody).toBeLessThanOrEqual(MAX_RECORD_BODY);
      }
      // A fresh connection for the facts (the writers' sequence numbers moved on).
      const t = new Synth13();
      const r = drive(
        [...t.handshake(), ev('client', ...t.app('client', h1Request('/a'))), ev('server', record(CT_APPDATA, randomBytes(len))), ev('server', ...t.app('server', h1Response(10)))],
        { keys: t.keys() },
      );
      expect(r.counters.tlsRecordOverflow).toBe(1);
      expect(r.out.anomalies.find((a) => a.code === TLS_ANOMALY.RECORD_OVERFLOW)?.detail).toMatch(/exceeds 2\^14 \+ 256 for a TLS 1\.3 record \(RFC 8446 §5\.2\)/);
      expect(r.counters.tlsRecordsUndecryptable).toBe(1);
      // The HTTP layer was told (a gap), and the response after it still decrypted.
      expect(r.out.info.undecryptableRecords).toBe(1);
      expect(r.out.info.records.server).toBeGreaterThan(6);
    }
  });

  it('TLS 1.2: a record over 2^14 + 2048: overflow, not kept; the next record decrypts', () => {
    const t = new Synth12();
    const r = drive(
      [
        ...t.handshake(),
        ev('client', ...t.app('client', h1Request('/a'))),
        ev('server', ...t.app('server', h1Response(10))),
        ev('server', record(CT_APPDATA, randomBytes(MAX_RECORD_BODY + 1))),
        ev('client', ...t.app('client', h1Request('/b'))),
      ],
      { keys: t.keys() },
    );
    expect(r.counters.tlsRecordOverflow).toBe(1);
    expect(r.out.anomalies.find((a) => a.code === TLS_ANOMALY.RECORD_OVERFLOW)?.detail).toMatch(/exceeds 2\^14 \+ 2048 \(RFC 5246 §6\.2\.3\)/);
    expect(r.out.requests.map((q) => q.target).sort()).toEqual(['/a', '/b']);
  });

  it('plaintext handshake records over 2^14: one of 2^14 + 1 still read (lenient), one over MAX_RECORD_BODY skipped', () => {
    const s = new Synth13();
    const padding = (n: number): Buffer => ext(21, Buffer.alloc(n)); // RFC 7685
    const big = clientHello({ random: s.random, suites: [0x1301], tls13: true, sni: 'big.example', extra: [padding(MAX_PLAINTEXT_RECORD - 150)] });
    const ch = record(CT_HANDSHAKE, big);
    expect(ch.length - 5).toBeGreaterThan(MAX_PLAINTEXT_RECORD);
    const r = drive([ev('client', ch)]);
    expect(r.counters.tlsRecordOverflow).toBe(1);
    expect(r.out.anomalies.find((a) => a.code === TLS_ANOMALY.RECORD_OVERFLOW)?.detail).toMatch(/exceeds 2\^14 for a plaintext record/);
    expect(r.out.info.sni).toBe('big.example');
    const huge = clientHello({ random: s.random, suites: [0x1301], tls13: true, sni: 'huge.example', extra: [padding(MAX_RECORD_BODY)] });
    const r2 = drive([ev('client', record(CT_HANDSHAKE, huge))]);
    expect(r2.counters).toMatchObject({ tlsRecordOverflow: 1, tlsHandshakeRecordsNotKept: 1 });
    expect(r2.out.info.sni).toBeNull();
  });

  it('1,000 oversized records: every one counted, MAX_ANOMALIES_PER_CODE reported', () => {
    const s = new Synth13();
    const junk = Buffer.concat(Array.from({ length: 1000 }, () => record(CT_APPDATA, Buffer.alloc(MAX_TLS13_RECORD + 100))));
    const r = drive([...s.handshake(), ev('server', junk)], { keys: s.keys() });
    expect(r.counters.tlsRecordOverflow).toBe(1000);
    expect(r.out.anomalies.filter((a) => a.code === TLS_ANOMALY.RECORD_OVERFLOW)).toHaveLength(MAX_ANOMALIES_PER_CODE);
    expect(r.counters.tlsAnomaliesNotReported).toBe(2 * (1000 - MAX_ANOMALIES_PER_CODE));
    expect(r.ms).toBeLessThan(HANG_MS);
  });
});

describe('handshake messages split over hundreds of records', () => {
  it('TLS 1.2: a ClientHello in 1-octet records, a Certificate in 500 records: read, and the connection decrypts', () => {
    const t = new Synth12();
    const hs = t.handshake();
    const chMsg = clientHello({ random: t.random, suites: [t.p.id], alpn: ['http/1.1'], sni: 'split.example', sessionId: Buffer.alloc(0) });
    const chain = [CERT_DER, ...Array.from({ length: 40 }, () => randomBytes(1000))];
    const flight = Buffer.concat([serverHello({ random: t.serverRandom, suite: t.p.id, alpn: 'http/1.1' }), certificateMsg(chain, false), hsMsg(14, Buffer.alloc(0))]);
    const per = Math.ceil(flight.length / 500);
    const events: Ev[] = [ev('client', hsRecords(chMsg, 1, 0x0301)), ev('server', hsRecords(flight, per)), hs[2], hs[3]];
    events.push(ev('client', ...t.app('client', h1Request('/a'))), ev('server', ...t.app('server', h1Response(10))));
    const r = drive(events, { keys: t.keys() });
    expect(recordsOf(events[1].data).length).toBeGreaterThanOrEqual(490);
    expect(r.out.info).toMatchObject({ sni: 'split.example', certificate: { subject: 'CN=wirefall test' }, resumed: false, decrypted: true });
    expect(r.out.requests.map((q) => [q.target, q.state])).toEqual([['/a', 'complete']]);
  });

  it('TLS 1.3: the encrypted server flight in 1-octet records (~1,000 records)', () => {
    const s = new Synth13();
    const flight = Buffer.concat([
      encryptedExtensions({ alpn: 'http/1.1' }),
      certificateMsg([CERT_DER], true),
      hsMsg(15, Buffer.concat([Buffer.from([4, 3]), vec16(randomBytes(70))])),
      hsMsg(20, randomBytes(32)),
    ]);
    const recs = appRecordsHs(s.w.shs, flight);
    const events: Ev[] = [ev('client', s.clientHello()), ev('server', s.serverHello(), CCS_RECORD, recs), ev('client', CCS_RECORD, s.clientFinished())];
    events.push(ev('client', ...s.app('client', h1Request('/a'))), ev('server', ...s.app('server', h1Response(10))));
    const r = drive(events, { keys: s.keys() });
    expect(r.out.info).toMatchObject({ alpn: { selected: 'http/1.1' }, certificate: { subject: 'CN=wirefall test' } });
    expect(r.out.info.records.server).toBeGreaterThan(flight.length);
    expect(r.out.requests.map((q) => [q.target, q.state])).toEqual([['/a', 'complete']]);
  });
});

/** Handshake bytes as TLS 1.3 protected records of one octet each. */
function appRecordsHs(w: Writer13, msgs: Uint8Array): Buffer {
  const out: Buffer[] = [];
  for (let i = 0; i < msgs.length; i++) out.push(w.record(CT_HANDSHAKE, msgs.subarray(i, i + 1)));
  return Buffer.concat(out);
}

describe('100,000 one-byte records: linear time, bounded memory', () => {
  it('a response body as 100,000 protected one-octet records, in one chunk and one chunk per record', () => {
    const s = new Synth13();
    const response = h1Response(100_000);
    const head = response.subarray(0, response.length - 100_000);
    const events: Ev[] = [...s.handshake(), ev('client', ...s.app('client', h1Request('/drip'))), ev('server', s.w.sapp.record(CT_APPDATA, head))];
    const drip = appRecords(s.w.sapp, response.subarray(head.length), 1);
    for (const split of [false, true]) {
      const evs = split ? [...events, ...recordsOf(drip).map((x) => ev('server', drip.subarray(x.at, x.at + 5 + x.len)))] : [...events, ev('server', drip)];
      const r = drive(evs, { keys: s.keys() });
      expect(r.out.requests.map((q) => [q.target, q.state, q.sizes.responseBody, q.lostBytes])).toEqual([['/drip', 'complete', 100_000, 0]]);
      expect(r.out.info.records.server).toBe(6 + 1 + 100_000);
      expect(peek(r.session).dirs.server.body).toBeNull();
      expect(r.ms).toBeLessThan(HANG_MS);
    }
  });

  it('a 100 KB ClientHello as 100,000 plaintext one-octet records (fed one octet per chunk too): read once, linear', () => {
    const s = new Synth13();
    const msg = clientHello({ random: s.random, suites: [0x1301], tls13: true, sni: 'drip.example', extra: [ext(21, Buffer.alloc(100_000 - 200))] });
    const recs = hsRecords(msg, 1, 0x0301);
    expect(msg.length).toBeGreaterThan(99_900);
    const r = drive([ev('client', recs)]);
    expect(r.out.info.sni).toBe('drip.example');
    expect(r.out.info.records.client).toBe(msg.length);
    // One octet per chunk as well (600,000 chunks), and the message still in progress at the end:
    // its buffer grew by doubling up to its length, no further.
    const one = drive(bytewise([ev('client', recs.subarray(0, recs.length - 60))]));
    expect(one.out.info.records.client).toBe(msg.length - 10);
    expect(peek(one.session).dirs.client.hs.heldBytes).toBeLessThanOrEqual(msg.length + 4);
    expect(r.ms + one.ms).toBeLessThan(HANG_MS);
  });
});

describe('hellos', () => {
  it(`a ClientHello with 10,000 extensions: the first MAX_EXTENSIONS (${MAX_EXTENSIONS}) read, the rest walked and counted`, () => {
    const s = new Synth13();
    const many = Array.from({ length: 10_000 }, (_, i) => ext(0x7000 + i, Buffer.from([i & 0xff])));
    const msg = clientHello({ random: s.random, suites: [0x1301], tls13: true, sni: 'many.example', extra: many });
    const r = drive([ev('client', hsRecords(msg, 16_384, 0x0301)), ev('server', s.serverHello(), CCS_RECORD, ...s.serverFlight())], { keys: s.keys() });
    expect(r.out.info.sni).toBe('many.example'); // SNI comes first
    // Extensions before them: server_name, supported_versions, supported_groups, key_share, psk modes.
    expect(r.counters.tlsHelloExtensionsSkipped).toBe(10_000 + 5 - MAX_EXTENSIONS);
    expect(r.out.info.certificate).not.toBeNull(); // the connection goes on
    // The same type 10,000 times (RFC 8446 §4.2 forbids repeats): counted as malformed, first one wins.
    const dup = clientHello({ random: s.random, suites: [0x1301], tls13: true, sni: 'dup.example', extra: Array.from({ length: 10_000 }, () => ext(0x7777)) });
    const d = drive([ev('client', hsRecords(dup, 16_384, 0x0301))]);
    expect(d.out.info.sni).toBe('dup.example');
    expect(d.counters.tlsHelloExtensionsMalformed).toBe(MAX_EXTENSIONS - 5 - 1);
    expect(r.ms + d.ms).toBeLessThan(HANG_MS);
  });

  it('10,000 ServerHellos, 10,000 ClientHellos: the first (and one after a HelloRetryRequest) count, the rest are ignored and counted', () => {
    const s = new Synth13();
    const shs = Buffer.concat(Array.from({ length: 10_000 }, () => s.serverHello()));
    const chs = Buffer.concat(Array.from({ length: 10_000 }, () => s.clientHello()));
    const r = drive([ev('client', chs), ev('server', shs, CCS_RECORD, ...s.serverFlight())], { keys: s.keys() });
    expect(r.counters.tlsHandshakeMessagesIgnored).toBe(2 * 9_999);
    expect(r.out.info).toMatchObject({ version: 'TLS 1.3', certificate: { subject: 'CN=wirefall test' } });
    expect(r.ms).toBeLessThan(HANG_MS);
  });

  it('a second HelloRetryRequest (RFC 8446 §4.1.4): malformed, reported', () => {
    const s = new Synth13();
    const HRR = Buffer.from('cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c', 'hex');
    const hrr = record(CT_HANDSHAKE, serverHello({ random: HRR, suite: 0x1301, tls13: true }));
    const r = drive([ev('client', s.clientHello()), ev('server', hrr), ev('client', s.clientHello()), ev('server', hrr)], { keys: s.keys() });
    expect(r.out.info.helloRetry).toBe(true);
    expect(r.counters.tlsHandshakeMalformed).toBe(1);
    expect(r.out.anomalies.find((a) => a.code === TLS_ANOMALY.HANDSHAKE)?.detail).toMatch(/second HelloRetryRequest/);
  });
});

describe('a 1 MB certificate chain: skipped as it streams by, counted, never buffered', () => {
  const chain = Array.from({ length: 16 }, (_, i) => (i === 0 ? Buffer.concat([CERT_DER, randomBytes(65_000 - CERT_DER.length)]) : randomBytes(65_000)));

  it(`TLS 1.2 (plaintext): over MAX_HANDSHAKE_MESSAGE_BYTES (${MAX_HANDSHAKE_MESSAGE_BYTES}), the handshake goes on`, () => {
    const t = new Synth12();
    const hs = t.handshake();
    const cert = certificateMsg(chain, false);
    expect(cert.length).toBeGreaterThan(1_000_000);
    const flight = Buffer.concat([serverHello({ random: t.serverRandom, suite: t.p.id, alpn: 'http/1.1' }), cert, hsMsg(14, Buffer.alloc(0))]);
    const recs = hsRecords(flight, 16_384);
    let held = 0;
    const sess = newTlsSession(nullSink(), t.keys(), {});
    let off = 0;
    sess.onData('client', { data: hs[0].data, offset: 0, skipped: 0, time: 0, deliveredTime: 0, packet: 1 });
    for (const x of recordsOf(recs)) {
      sess.onData('server', { data: recs.subarray(x.at, x.at + 5 + x.len), offset: off, skipped: 0, time: 1, deliveredTime: 1, packet: 2 });
      off += 5 + x.len;
      held = Math.max(held, peek(sess).dirs.server.hs.heldBytes);
    }
    expect(held).toBeLessThan(64 * 1024);
    const r = drive([hs[0], ev('server', recs), hs[2], hs[3], ev('client', ...t.app('client', h1Request('/a'))), ev('server', ...t.app('server', h1Response(10)))], { keys: t.keys() });
    expect(r.counters.tlsHandshakeMessagesSkipped).toBe(1);
    expect(r.out.info).toMatchObject({ certificate: null, resumed: false, handshakeRtts: 2, decrypted: true });
    expect(r.out.requests.map((q) => [q.target, q.state])).toEqual([['/a', 'complete']]);
  });

  it('TLS 1.3 (protected): skipped and counted, the application data decrypts', () => {
    const s = new Synth13();
    const cert = certificateMsg(chain, true);
    const flight = [s.w.shs.record(CT_HANDSHAKE, encryptedExtensions({ alpn: 'http/1.1' }))];
    for (let i = 0; i < cert.length; i += 16_384) flight.push(s.w.shs.record(CT_HANDSHAKE, cert.subarray(i, i + 16_384)));
    flight.push(s.w.shs.record(CT_HANDSHAKE, hsMsg(20, randomBytes(32))));
    const r = drive(
      [ev('client', s.clientHello()), ev('server', s.serverHello(), CCS_RECORD, ...flight), ev('client', CCS_RECORD, s.clientFinished()), ev('client', ...s.app('client', h1Request('/a'))), ev('server', ...s.app('server', h1Response(10)))],
      { keys: s.keys() },
    );
    expect(r.counters.tlsHandshakeMessagesSkipped).toBe(1);
    expect(r.out.info).toMatchObject({ certificate: null, alpn: { selected: 'http/1.1' } });
    expect(r.out.requests.map((q) => [q.target, q.state])).toEqual([['/a', 'complete']]);
  });
});

function nullSink() {
  return {
    request(): void {},
    protocol(): void {},
    anomaly(): void {},
    keepAlive(): void {},
    closeReason(): void {},
    closeFacts(): void {},
    extra(): void {},
  };
}

describe('key logs', () => {
  it('a million lines, mostly garbage of every kind: each counted, the right secrets still found', () => {
    const s = new Synth13();
    const r32 = 'ab'.repeat(32);
    // Short and long garbage: a million lines stay under MAX_KEYLOG_BYTES (64 MiB).
    const kinds = [
      'x',
      'CLIENT_RANDOM',
      `CLIENT_RANDOM ${r32}`,
      'SERVER_HANDSHAKE_TRAFFIC_SECRET zz zz',
      '0',
      '\t',
      '   # an indented comment',
      'NOT_A_LABEL 00 11',
      `CLIENT_RANDOM ${r32.slice(2)} ${'cd'.repeat(48)}`, // random too short
      `CLIENT_RANDOM ${r32} ${'cd'.repeat(47)}`, // master secret of 47 octets
      `SERVER_TRAFFIC_SECRET_0 ${r32} ${'zz'.repeat(32)}`, // not hex
      `CLIENT_TRAFFIC_SECRET_0 ${r32} ${'cd'.repeat(32)} extra`, // a fourth field
      'RSA 0011 2233', // known, unsupported
      '# a comment',
      '',
    ];
    const lines: string[] = [];
    for (let i = 0; i < 1_000_000 - 5; i++) lines.push(kinds[i % kinds.length]);
    const text = s.keylog() + lines.join('\n') + '\n';
    const keys = new KeyLog();
    const t0 = performance.now();
    const st = keys.addText(text);
    const ms = performance.now() - t0;
    expect(st.lines).toBe(1_000_000);
    expect(st.entries).toBe(5);
    expect(st.truncated).toBe(false);
    expect(st.garbage).toBe(countKinds(1_000_000 - 5, kinds.length, [0, 1, 2, 3, 4, 7, 8, 9, 10, 11]));
    expect(st.unsupported).toBe(countKinds(1_000_000 - 5, kinds.length, [12]));
    expect(keys.size).toBe(5);
    expect(ms).toBeLessThan(HANG_MS);
    const r = drive([...s.handshake(), ev('client', ...s.app('client', h1Request('/k'))), ev('server', ...s.app('server', h1Response(5)))], { keys });
    expect(r.out.requests.map((q) => q.target)).toEqual(['/k']);
  });

  it('entries beyond maxEntries are dropped and counted; a source beyond maxBytes is cut at a line and flagged', () => {
    const keys = new KeyLog({ maxEntries: 1000, maxBytes: 8 * 1024 * 1024 });
    const lines: string[] = [];
    for (let i = 0; i < 100_000; i++) lines.push(`CLIENT_RANDOM ${i.toString(16).padStart(64, '0')} ${'ee'.repeat(48)}`);
    const st = keys.addText(Buffer.from(lines.join('\n') + '\n', 'latin1'));
    expect(st.truncated).toBe(true);
    expect(keys.size).toBe(1000);
    const kept = Math.floor((8 * 1024 * 1024) / (lines[0].length + 1));
    expect(st.lines).toBe(kept);
    expect(st.dropped).toBe(kept - 1000);
  });
});

/** Lines of the listed kinds among the first `n` lines cycling through `k` kinds. */
function countKinds(n: number, k: number, kinds: number[]): number {
  let c = 0;
  for (const j of kinds) c += Math.floor(n / k) + (j < n % k ? 1 : 0);
  return c;
}

describe('floods', () => {
  it(`10,000 alerts: MAX_ALERTS (${MAX_ALERTS}) kept, the rest counted`, () => {
    const s = new Synth13();
    const alerts = Buffer.concat(Array.from({ length: 10_000 }, () => record(CT_ALERT, Buffer.from([1, 0]))));
    const r = drive([ev('client', s.clientHello()), ev('server', alerts)]);
    expect(r.out.info.alerts).toHaveLength(MAX_ALERTS);
    expect(r.counters.tlsAlertsDropped).toBe(10_000 - MAX_ALERTS);
    expect(r.out.info.closeNotify.server).toBe(true);
  });

  it('10,000 KeyUpdates in a row: each followed, every record decrypts', () => {
    const s = new Synth13();
    const p = s.p;
    const events: Ev[] = [...s.handshake()];
    let secret: Uint8Array = s.secrets.CLIENT_TRAFFIC_SECRET_0;
    let w = s.w.capp;
    const parts: Buffer[] = [];
    for (let i = 0; i < 10_000; i++) {
      parts.push(w.record(CT_HANDSHAKE, hsMsg(24, Buffer.from([0]))));
      secret = tls13NextTrafficSecret(p, secret);
      w = new Writer13(p, secret);
    }
    parts.push(w.record(CT_APPDATA, h1Request('/after')));
    events.push(ev('client', ...parts), ev('server', ...s.app('server', h1Response(3))));
    const r = drive(events, { keys: s.keys() });
    expect(r.out.requests.map((q) => [q.target, q.state])).toEqual([['/after', 'complete']]);
    expect(r.out.info.undecryptableRecords).toBe(0);
    expect(r.ms).toBeLessThan(HANG_MS);
  });

  it('1 MB of garbage after the handshake, and 1,000 bad headers: desyncs counted, MAX_ANOMALIES_PER_CODE reported, linear', () => {
    const s = new Synth13();
    const garbage = randomBytes(1 << 20);
    for (let i = 0; i < garbage.length; i++) if (garbage[i] >= 20 && garbage[i] <= 24) garbage[i] = 0; // no header can start
    const r = drive([...s.handshake(), ev('server', garbage)], { keys: s.keys() });
    expect(r.counters.tlsRecordDesync).toBe(1);
    // 1,000 records whose length lands on a byte that is no header.
    const bad = Buffer.concat(Array.from({ length: 1000 }, () => Buffer.from([CT_APPDATA, 3, 3, 0, 1, 0xee, 0x99, 0x99, 0x99, 0x99, 0x99])));
    const r2 = drive([...s.handshake(), ev('server', bad)], { keys: s.keys() });
    expect(r2.counters.tlsRecordDesync).toBeGreaterThanOrEqual(1);
    expect(r2.out.anomalies.filter((a) => a.code === TLS_ANOMALY.DESYNC).length).toBeLessThanOrEqual(MAX_ANOMALIES_PER_CODE);
    expect(r.ms + r2.ms).toBeLessThan(HANG_MS);
  });

  it('ClientHello record versions and a TlsSession made directly accept any StreamInfo (no crash on empty chunks)', () => {
    const sess = new TlsSession(
      { id: 1, client: { ip: '::1', port: 1 }, server: { ip: '::1', port: 2 }, scheme: 'http', transport: 'tcp', startSeen: false },
      nullSink(),
      { keys: null, count: () => {}, inner: () => ({ onData: () => {} }) },
    );
    sess.onData('client', { data: new Uint8Array(0), offset: 0, skipped: -1, time: 0, deliveredTime: 0, packet: 1 });
    sess.onData('server', { data: new Uint8Array(0), offset: 0, skipped: 5, time: 0, deliveredTime: 0, packet: 2 });
    sess.onEnd('client', 'rst', 1, 3);
    sess.onClose(2);
    void vec8;
  });
});
