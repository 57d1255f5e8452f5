/**
 * The TLS session (core/src/tls/session.ts) on real bytes: TLS 1.3 and 1.2 connections between
 * Node's own client and server (OpenSSL) over loopback, recorded byte for byte by a proxy with the
 * client's key log (session-harness.ts captureNode), and hand-built connections for what real
 * stacks will not do on demand (KeyUpdate, 0-RTT, post-handshake authentication, lost handshake
 * messages). The session is driven with StreamChunks as TCP reassembly makes them; capture loss is
 * cut out of the recorded streams.
 *
 *  - decrypted HTTP equals the cleartext HTTP (same requests, sizes, states); one byte per chunk,
 *    or all bytes of a direction coalesced, gives the same results;
 *  - loss: a range inside one record is that record's plaintext as an explicit gap for HTTP
 *    (exact for AEAD suites) with a tls-record-undecryptable anomaly and counter, later records
 *    decrypt; a range across record headers is resynchronised; whole records lost are skipped by
 *    sequence number, beyond MAX_SEQ_SKIP too; a loss at the end reaches HTTP before the FIN;
 *  - undecryptedReason: handshake-not-captured, no-keys, keys-mismatch, data-lost;
 *  - key changes: KeyUpdate (RFC 8446 §4.6.3) seen and lost, a lost Finished, a lost TLS 1.2
 *    ChangeCipherSpec, post-handshake authentication (§4.6.2) keeping the keys;
 *  - 0-RTT (§4.2.10): accepted early data reaches HTTP, rejected early data does not;
 *  - the ssl phase of the first request; roles from the ClientHello when the SYN is missing
 *    (through analyzeFile, on a sample cut and on a capture written here).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyzeFile } from '../../../core/src/engine.js';
import type { ExchangeSink, RequestDraft } from '../../../core/src/model/exchange.js';
import { readKeyLogFile } from '../../../core/src/tls/keylog.js';
import { tls13NextTrafficSecret } from '../../../core/src/tls/keys.js';
import { MAX_SEQ_SKIP, TLS_ANOMALY, TlsSession } from '../../../core/src/tls/session.js';
import { readPcapSimple, writePcap } from '../../helpers/pcap-writer.js';
import { sample } from '../../helpers/env.js';
import { PcapWriter } from '../../e2e/pcap-writer.js';
import {
  CCS_RECORD,
  CT_ALERT,
  CT_APPDATA,
  CT_HANDSHAKE,
  bytewise,
  captureNode,
  coalesce,
  drive,
  encryptedExtensions,
  hsMsg,
  h1Request,
  h1Response,
  keyLogOf,
  lose,
  newTlsSession,
  record,
  Recorder,
  recordsOf,
  shape,
  streamOf,
  Synth12,
  ext,
  u16,
  vec8,
  vec16,
  Synth13,
  Writer13,
  type Ev,
  type NodeCapture,
  type NodeCaptureConfig,
} from './session-harness.js';

const UNDECRYPTABLE = TLS_ANOMALY.UNDECRYPTABLE;

/** Request shapes with the scheme left out (cleartext HTTP says http://, decrypted https://). */
const shapes = (rs: RequestDraft[]): Record<string, unknown>[] =>
  [...rs].sort((a, b) => a.index - b.index).map((r) => ({ ...shape(r), url: r.url.replace(/^https?:/, '') }));

/** The TlsInfo facts that do not depend on capture times. */
function timeless(info: ReturnType<typeof drive>['out']['info']): Record<string, unknown> {
  const { clientHelloTime, serverHelloTime, handshakeEndTime, firstAppDataTime, alerts, ...rest } = info;
  void clientHelloTime, serverHelloTime, handshakeEndTime, firstAppDataTime;
  return { ...rest, alerts: alerts.map((a) => ({ side: a.side, level: a.level, description: a.description })) };
}

const ev = (side: 'client' | 'server', ...data: Uint8Array[]): Ev => ({ side, data: Buffer.concat(data) });

// ------------------------------------------------------------------------------------ real TLS

const CONFIGS: Record<string, NodeCaptureConfig & { overhead: number | null }> = {
  // overhead: the fixed expansion per record (null: CBC, padding unknown).
  'TLS 1.3 AES-128-GCM': { version: 'TLSv1.3', ciphers: 'TLS_AES_128_GCM_SHA256', alpn: 'http/1.1', paths: ['/a', '/b', '/c', '/d'], overhead: 17 },
  'TLS 1.3 ChaCha20-Poly1305': { version: 'TLSv1.3', ciphers: 'TLS_CHACHA20_POLY1305_SHA256', alpn: 'http/1.1', paths: ['/a', '/b', '/c'], overhead: 17 },
  'TLS 1.2 ECDHE-ECDSA-AES128-GCM-SHA256': { version: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256', alpn: 'http/1.1', paths: ['/a', '/b', '/c', '/d'], overhead: 24 },
  'TLS 1.2 ECDHE-ECDSA-CHACHA20-POLY1305': { version: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-CHACHA20-POLY1305', alpn: 'http/1.1', paths: ['/a', '/b', '/c'], overhead: 16 },
  'TLS 1.2 ECDHE-ECDSA-AES128-SHA256 (CBC)': { version: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-SHA256', alpn: 'http/1.1', paths: ['/a', '/b', '/c'], overhead: null },
};
const captures = new Map<string, NodeCapture>();
let h2cap: NodeCapture;

beforeAll(async () => {
  for (const [name, cfg] of Object.entries(CONFIGS)) captures.set(name, await captureNode(cfg));
  h2cap = await captureNode({ version: 'TLSv1.3', alpn: 'h2', paths: ['/one', '/two', '/three'], bodyBytes: (_p, i) => 20_000 * (i + 1) });
}, 60_000);

const cap = (name: string): NodeCapture => captures.get(name)!;

/**
 * Full-size application records inside a response body: the record before is full-size too (a
 * response starts after the last, shorter, record of the one before, or after the tickets), and
 * one more follows. (Bodies are 60,000 + 17,000·i octets: no response ends on a full record.)
 */
function bodyRecords(c: NodeCapture): { at: number; type: number; len: number }[] {
  const recs = recordsOf(streamOf(c.events, 'server'));
  const full = Math.max(...recs.map((r) => r.len));
  return recs.filter((r, i) => i > 0 && i < recs.length - 1 && r.len === full && recs[i - 1].len === full);
}

/** Two adjacent records inside one response body. */
function adjacentBodyRecords(c: NodeCapture): [{ at: number; len: number }, { at: number; len: number }] {
  const recs = bodyRecords(c);
  for (let i = 1; i < recs.length; i++) if (recs[i].at === recs[i - 1].at + 5 + recs[i - 1].len) return [recs[i - 1], recs[i]];
  throw new Error('no two adjacent body records');
}

describe('real TLS (Node/OpenSSL over loopback) decrypts to the cleartext HTTP', () => {
  for (const name of Object.keys(CONFIGS)) {
    it(`${name}: same requests as the cleartext, whole records, one byte per chunk, all coalesced`, () => {
      const c = cap(name);
      const keys = keyLogOf(c.keylog);
      const plain = drive(c.plain, { via: 'detect' });
      const tls = drive(c.events, { keys });
      expect(plain.out.requests).toHaveLength(CONFIGS[name].paths.length);
      expect(shapes(tls.out.requests)).toEqual(shapes(plain.out.requests));
      for (const r of tls.out.requests) expect(r.state).toBe('complete');
      const info = tls.out.info;
      expect(info).toMatchObject({
        version: CONFIGS[name].version === 'TLSv1.3' ? 'TLS 1.3' : 'TLS 1.2',
        sni: 'localhost',
        alpn: { offered: ['http/1.1'], selected: 'http/1.1' },
        decrypted: true,
        undecryptedReason: null,
        undecryptableRecords: 0,
        closeNotify: { client: true, server: true },
        certificate: { subject: 'CN=wirefall test', sans: ['localhost', '127.0.0.1'] },
      });
      expect(tls.out.anomalies).toEqual([]);
      expect(tls.counters).toEqual({});
      // Chunking does not change what is read.
      for (const events of [bytewise(c.events), coalesce(c.events)]) {
        const again = drive(events, { keys });
        expect(shapes(again.out.requests)).toEqual(shapes(tls.out.requests));
        expect(timeless(again.out.info)).toEqual(timeless(info));
        expect(again.out.anomalies).toEqual([]);
      }
    });
  }

  it('TLS 1.3 h2 (ALPN): the HTTP/2 requests by :path, also through DetectSink (createSession)', () => {
    const keys = keyLogOf(h2cap.keylog);
    for (const via of ['tls', 'detect'] as const) {
      const r = drive(h2cap.events, { keys, via });
      expect(r.out.requests.map((q) => [q.method, q.target, q.status, q.httpVersion, q.state, q.sizes.responseBody])).toEqual([
        ['GET', '/one', 200, 'h2', 'complete', 20_000],
        ['GET', '/two', 200, 'h2', 'complete', 40_000],
        ['GET', '/three', 200, 'h2', 'complete', 60_000],
      ]);
      expect(r.out.protocols).toContain('h2');
      expect(r.out.info.alpn.selected).toBe('h2');
      const one = drive(bytewise(h2cap.events), { keys, via });
      expect(shapes(one.out.requests)).toEqual(shapes(r.out.requests));
    }
  });

  it('ssl phase on the first request only: ClientHello → handshake end, both ≤ requestStartTime', () => {
    for (const c of [cap('TLS 1.3 AES-128-GCM'), cap('TLS 1.2 ECDHE-ECDSA-AES128-GCM-SHA256'), h2cap]) {
      // Times 10 ms apart so that the phases have a length.
      const r = drive(c.events, { keys: keyLogOf(c.keylog), time: (i) => 10 * i });
      const info = r.out.info;
      const [first, ...rest] = [...r.out.requests].sort((a, b) => a.index - b.index);
      expect(first.times.sslStartTime).toBe(info.clientHelloTime);
      expect(first.times.sslEndTime).toBe(info.handshakeEndTime);
      expect(info.clientHelloTime!).toBeLessThan(info.handshakeEndTime!);
      expect(first.times.sslEndTime!).toBeLessThanOrEqual(first.times.requestStartTime);
      for (const q of rest) {
        expect(q.times.sslStartTime).toBeNull();
        expect(q.times.sslEndTime).toBeNull();
      }
    }
  });
});

// ------------------------------------------------------------------------------------ loss

describe('capture loss inside and across records', () => {
  for (const name of Object.keys(CONFIGS)) {
    it(`${name}: bytes lost inside one application record: that record's plaintext is an explicit gap, later records decrypt`, () => {
      const c = cap(name);
      const keys = keyLogOf(c.keylog);
      const plain = drive(c.plain, { via: 'detect' });
      const rec = bodyRecords(c)[2];
      const r = drive(lose(c.events, 'server', rec.at + 100, rec.at + 300), { keys });
      expect(r.out.codes()).toEqual([UNDECRYPTABLE]);
      expect(r.counters).toEqual({ tlsRecordsUndecryptable: 1 });
      expect(r.out.info.undecryptableRecords).toBe(1);
      expect(r.out.info.decrypted).toBe(true);
      // Every request is still there and complete: the response that held the record lost exactly
      // its plaintext (AEAD: the record length less the fixed expansion), counted as body.
      const got = shapes(r.out.requests);
      const want = shapes(plain.out.requests);
      expect(got).toHaveLength(want.length);
      const hit = got.filter((q) => (q.lostBytes as number) > 0);
      expect(hit).toHaveLength(1);
      // Full records hold 2^14 octets: AEAD, the record length less the suite's fixed expansion;
      // CBC, whole blocks (the padding is not known, RFC 5246 §6.2.3.2).
      const overhead = CONFIGS[name].overhead;
      if (overhead !== null) expect(rec.len - overhead).toBe(16384);
      expect(hit[0].lostBytes).toBe(16384);
      for (let i = 0; i < got.length; i++) {
        expect(got[i].state).toBe('complete');
        expect({ ...got[i], lostBytes: 0 }).toEqual({ ...want[i], lostBytes: 0 });
      }
    });
  }

  it('a lost range spanning a record header: resynchronised; both records are a gap of exactly their plaintext', () => {
    const c = cap('TLS 1.3 AES-128-GCM');
    const keys = keyLogOf(c.keylog);
    const [a, b] = adjacentBodyRecords(c);
    const r = drive(lose(c.events, 'server', b.at - 50, b.at + 50), { keys });
    expect(r.counters.tlsRecordResyncs).toBe(1);
    expect(r.counters.tlsRecordsUndecryptable).toBe(1); // `a`: header seen, its end lost
    expect(r.counters.tlsRecordsSkippedBySeq).toBe(1); // `b`: header lost, found by sequence number
    const lost = r.out.requests.reduce((n, q) => n + q.lostBytes, 0);
    expect(lost).toBe(a.len - 17 + (b.len - 17));
    expect(r.out.requests).toHaveLength(4);
    for (const q of r.out.requests) expect(q.state).toBe('complete');
  });

  it('a lost range cut at a record start: framing regained by scanning, the record before is a gap', () => {
    const c = cap('TLS 1.2 ECDHE-ECDSA-AES128-GCM-SHA256');
    const keys = keyLogOf(c.keylog);
    const [a, b] = adjacentBodyRecords(c);
    const r = drive(lose(c.events, 'server', a.at + 2, b.at + 7), { keys });
    expect(r.counters.tlsRecordResyncs).toBe(1);
    expect(r.out.requests.reduce((n, q) => n + q.lostBytes, 0)).toBe(a.len - 24 + (b.len - 24));
    for (const q of r.out.requests) expect(q.state).toBe('complete');
  });

  it('whole records lost between two chunks: found again by sequence number, the plaintext of each a gap', () => {
    const c = cap('TLS 1.3 AES-128-GCM');
    const keys = keyLogOf(c.keylog);
    const gone = adjacentBodyRecords(c);
    const r = drive(lose(c.events, 'server', gone[0].at, gone[1].at + 5 + gone[1].len), { keys });
    expect(r.counters.tlsRecordsSkippedBySeq).toBe(2);
    expect(r.counters.tlsRecordsUndecryptable).toBeUndefined();
    expect(r.out.requests.reduce((n, q) => n + q.lostBytes, 0)).toBe(gone.reduce((n, x) => n + x.len - 17, 0));
    for (const q of r.out.requests) expect(q.state).toBe('complete');
  });

  it(`more than MAX_SEQ_SKIP (${MAX_SEQ_SKIP}) records lost at once (a 500 KB hole): the next record is found from the hole's size`, () => {
    const s = new Synth13();
    const events: Ev[] = [
      ...s.handshake(),
      ev('client', ...s.app('client', h1Request('/big'))),
      ...s.app('server', h1Response(1_000_000)).map((d) => ev('server', d)),
      ev('client', ...s.app('client', h1Request('/next'))),
      ev('server', ...s.app('server', h1Response(1000, 1))),
    ];
    const server = recordsOf(streamOf(events, 'server'));
    const app = server.filter((x) => x.type === CT_APPDATA && x.len > 10_000);
    const from = app[10].at + 1000;
    const to = app[41].at + 2000; // 30 records lost whole, the one before in part, the header of the one after
    const r = drive(lose(events, 'server', from, to), { keys: s.keys() });
    expect(r.counters.tlsRecordsSkippedBySeq).toBe(31);
    expect(r.counters.tlsRecordsUndecryptable).toBe(1);
    const [big, next] = [...r.out.requests].sort((a, b) => a.index - b.index);
    expect(big.lostBytes).toBe(32 * 16384);
    expect(big).toMatchObject({ state: 'complete', sizes: { responseBody: 1_000_000 } });
    expect(next).toMatchObject({ target: '/next', state: 'complete', lostBytes: 0 });
  });

  it('a record cut short by the FIN reaches HTTP as a gap of its plaintext before the end (never a silent end)', () => {
    const s = new Synth13();
    const resp = s.app('server', h1Response(100_000));
    const events: Ev[] = [...s.handshake(), ev('client', ...s.app('client', h1Request('/x'))), ...resp.map((d) => ev('server', d))];
    // The last record's header arrives, then the FIN: 30 of its bytes only.
    const last = resp[resp.length - 1];
    events[events.length - 1] = ev('server', last.subarray(0, 35));
    const r = drive(events, { keys: s.keys() });
    expect(r.counters.tlsRecordsTruncated).toBe(1);
    expect(r.out.anomalies.find((a) => a.code === UNDECRYPTABLE)?.detail).toMatch(/cut short by FIN after 30 of \d+ bytes/);
    const [q] = r.out.requests;
    expect(q.lostBytes).toBe(last.length - 5 - 17);
    expect(q).toMatchObject({ state: 'complete', sizes: { responseBody: 100_000 } });
  });

  it('the connection never desynchronises silently: a loss anywhere in the server stream is reported', () => {
    const c = cap('TLS 1.3 AES-128-GCM');
    const keys = keyLogOf(c.keylog);
    const stream = streamOf(c.events, 'server');
    const appStart = recordsOf(stream).find((x) => x.type === CT_APPDATA && x.len > 10_000)!.at;
    for (let from = appStart; from < stream.length - 400; from += 7919) {
      const r = drive(lose(c.events, 'server', from, from + 300), { keys });
      const told = r.out.requests.some((q) => q.lostBytes > 0 || q.anomalies.length > 0 || q.state !== 'complete');
      expect(told || r.out.anomalies.length > 0, `loss at ${from}`).toBe(true);
      expect(r.out.requests.length).toBeGreaterThanOrEqual(3);
    }
  });
});

describe('the plaintext chunks HTTP is handed (tcp/stream.ts contract)', () => {
  it('offsets count plaintext, a lost record is `skipped` of exactly its plaintext, time and packet are those of the segment that completed each record', () => {
    const s = new Synth13();
    const body = Buffer.alloc(3 * 16384, 0x61);
    const recs = s.app('server', body);
    const got: { side: string; offset: number; skipped: number; len: number; time: number; packet: number }[] = [];
    const info = { id: 1, client: { ip: '10.0.0.1', port: 50000 }, server: { ip: '10.0.0.2', port: 443 }, scheme: 'http' as const, transport: 'tcp' as const, startSeen: true };
    const sess = new TlsSession(info, nullSink(), {
      keys: s.keys(),
      count: () => {},
      inner: (inner) => {
        expect(inner).toMatchObject({ scheme: 'https', transport: 'tls', startSeen: true });
        return { onData: (side, c) => void got.push({ side, offset: c.offset, skipped: c.skipped, len: c.data.length, time: c.time, packet: c.packet }) };
      },
    });
    let packet = 0;
    const off = { client: 0, server: 0 };
    const send = (side: 'client' | 'server', data: Uint8Array, time: number, skipped = 0): void => {
      off[side] += skipped;
      sess.onData(side, { data, offset: off[side], skipped, time, deliveredTime: time, packet: ++packet });
      off[side] += data.length;
    };
    for (const [i, e] of s.handshake().entries()) send(e.side, e.data, i);
    // Each record in two segments; 100 octets of the second record never captured.
    send('server', recs[0].subarray(0, 1000), 10);
    send('server', recs[0].subarray(1000), 11);
    send('server', recs[1].subarray(0, 500), 12);
    send('server', recs[1].subarray(600), 13, 100);
    send('server', recs[2].subarray(0, 7), 14);
    send('server', recs[2].subarray(7), 15);
    expect(got).toEqual([
      { side: 'server', offset: 0, skipped: 0, len: 16384, time: 11, packet: 5 },
      { side: 'server', offset: 2 * 16384, skipped: 16384, len: 16384, time: 15, packet: 9 },
    ]);
  });

  it('a record is timed by its latest-captured segment, maps its plaintext to TCP octets, and the inner session sees every TCP chunk first (onTransport)', () => {
    const s = new Synth13();
    const recs = s.app('server', Buffer.alloc(2 * 16384, 0x62));
    const calls: string[] = [];
    const plain: { offset: number; time: number; packet: number; transportOffset?: number; transportStart?: number; transportEnd?: number }[] = [];
    const info = { id: 1, client: { ip: '10.0.0.1', port: 50000 }, server: { ip: '10.0.0.2', port: 443 }, scheme: 'http' as const, transport: 'tcp' as const, startSeen: true };
    const sess = new TlsSession(info, nullSink(), {
      keys: s.keys(),
      count: () => {},
      inner: () => ({
        onTransport: (side, c) => void calls.push(`tcp ${side} ${c.offset}+${c.data.length} #${c.packet}`),
        onData: (side, c) => {
          calls.push(`plain ${side} ${c.offset}+${c.data.length}`);
          const { offset, time, packet, transportOffset, transportStart, transportEnd } = c;
          plain.push({ offset, time, packet, transportOffset, transportStart, transportEnd });
        },
      }),
    });
    let packet = 0;
    const off = { client: 0, server: 0 };
    const expectTcp: string[] = [];
    const send = (side: 'client' | 'server', data: Uint8Array, time: number, deliveredTime = time): void => {
      sess.onData(side, { data, offset: off[side], skipped: 0, time, deliveredTime, packet: ++packet });
      expectTcp.push(`tcp ${side} ${off[side]}+${data.length} #${packet}`);
      off[side] += data.length;
    };
    for (const [i, e] of s.handshake().entries()) send(e.side, e.data, i);
    const rec0 = off.server;
    // The record's first segment was lost and retransmitted at 20; its second arrived at 11 and
    // waited in TCP. In stream order the second completes the record.
    send('server', recs[0].subarray(0, 1000), 20);
    send('server', recs[0].subarray(1000), 11, 20);
    const rec1 = off.server;
    send('server', recs[1], 21);
    // Every TCP chunk, the handshake's replayed, before the plaintext it completed.
    const firstPlain = calls.findIndex((c) => c.startsWith('plain'));
    expect(calls.slice(0, firstPlain)).toEqual(expectTcp.slice(0, firstPlain));
    expect(calls.filter((c) => c.startsWith('tcp'))).toEqual(expectTcp);
    expect(plain).toEqual([
      { offset: 0, time: 20, packet: expectTcp.length - 2, transportOffset: rec0 + 5, transportStart: rec0, transportEnd: rec1 },
      { offset: 16384, time: 21, packet: expectTcp.length, transportOffset: rec1 + 5, transportStart: rec1, transportEnd: rec1 + recs[1].length },
    ]);
  });

  it('data after a close_notify from the same side is not handed on (RFC 8446 §6.1)', () => {
    const s = new Synth13();
    const events: Ev[] = [
      ...s.handshake(),
      ev('client', ...s.app('client', h1Request('/a'))),
      ev('server', ...s.app('server', h1Response(5))),
      ev('client', s.w.capp.record(CT_ALERT, Buffer.from([1, 0])), ...s.app('client', h1Request('/after-close'))),
      ev('server', ...s.app('server', h1Response(6))),
    ];
    const r = drive(events, { keys: s.keys() });
    expect(r.out.requests.map((q) => q.target)).toEqual(['/a']);
    expect(r.counters.tlsDataAfterClosureAlert).toBe(h1Request('/after-close').length);
    expect(r.out.info.closeNotify).toEqual({ client: true, server: false });
  });

  it('FIN without close_notify: counted; reported only when the server cuts an open client off (RFC 8446 §6.1, RFC 2818 §2.2.2)', () => {
    const s = new Synth13();
    const base: Ev[] = [...s.handshake(), ev('client', ...s.app('client', h1Request('/a'))), ev('server', ...s.app('server', h1Response(5)))];
    // Both FIN at once (drive ends the client first): the client's bare FIN is allowed.
    const a = drive(base, { keys: s.keys() });
    expect(a.counters.tlsFinWithoutCloseNotify).toBe(2);
    expect(a.out.codes()).not.toContain(TLS_ANOMALY.TRUNCATION);
    // The server ends first, the client still open and without close_notify.
    const t = new Synth13();
    const sess = newTlsSessionFor(t);
    let i = 0;
    const off = { client: 0, server: 0 };
    for (const e of [...t.handshake(), ev('client', ...t.app('client', h1Request('/a'))), ev('server', ...t.app('server', h1Response(5)))]) {
      sess.session.onData(e.side, { data: e.data, offset: off[e.side], skipped: 0, time: i, deliveredTime: i, packet: ++i });
      off[e.side] += e.data.length;
    }
    sess.session.onEnd('server', 'fin', 10, 20);
    sess.session.onEnd('client', 'fin', 11, 21);
    sess.session.onClose(11);
    expect(sess.out.anomalies.filter((x) => x.code === TLS_ANOMALY.TRUNCATION)).toHaveLength(1);
  });
});

function nullSink(): ExchangeSink {
  return { request() {}, protocol() {}, anomaly() {}, keepAlive() {}, closeReason() {}, closeFacts() {}, extra() {} };
}

function newTlsSessionFor(s: Synth13): { session: TlsSession; out: Recorder } {
  const out = new Recorder();
  return { session: newTlsSession(out, s.keys(), {}), out };
}

// ------------------------------------------------------------------------------------ reasons

describe('why nothing was decrypted', () => {
  it('capture starting mid-connection: handshake-not-captured, records still counted', () => {
    const c = cap('TLS 1.3 AES-128-GCM');
    const firstApp = c.events.findIndex((e, i) => i > 3 && e.side === 'client');
    const r = drive(c.events.slice(firstApp), { keys: keyLogOf(c.keylog), startUnseen: true });
    expect(r.out.info).toMatchObject({ decrypted: false, undecryptedReason: 'handshake-not-captured', version: null, sni: null });
    expect(r.out.info.records.client + r.out.info.records.server).toBeGreaterThan(5);
    expect(r.out.requests).toEqual([]);
  });

  it('no keys: no-keys, with the cleartext facts (TLS 1.2 shows the certificate and ALPN, TLS 1.3 does not)', () => {
    const r13 = drive(cap('TLS 1.3 AES-128-GCM').events, { keys: null });
    expect(r13.counters).toEqual({});
    expect(r13.out.info).toMatchObject({ version: 'TLS 1.3', cipherSuite: 'TLS_AES_128_GCM_SHA256', sni: 'localhost', certificate: null, decrypted: false, undecryptedReason: 'no-keys' });
    expect(r13.out.info.alpn.selected).toBeNull();
    expect(r13.out.info.handshakeEndTime).not.toBeNull();
    const r12 = drive(cap('TLS 1.2 ECDHE-ECDSA-AES128-GCM-SHA256').events, { keys: keyLogOf('') });
    expect(r12.out.info).toMatchObject({ version: 'TLS 1.2', alpn: { selected: 'http/1.1' }, certificate: { subject: 'CN=wirefall test' }, undecryptedReason: 'no-keys' });
    for (const r of [r13, r12]) {
      expect(r.out.requests).toEqual([]);
      expect(r.out.anomalies).toEqual([]);
    }
  });

  it('wrong keys: keys-mismatch, each direction gives up after a few records', () => {
    for (const name of ['TLS 1.3 AES-128-GCM', 'TLS 1.2 ECDHE-ECDSA-AES128-GCM-SHA256']) {
      const c = cap(name);
      // Same labels and client random, other secrets: flip one bit of every secret.
      const wrong = c.keylog.replace(/ ([0-9a-f]+)\n/g, (_m, hex: string) => ` ${(parseInt(hex[0], 16) ^ 1).toString(16)}${hex.slice(1)}\n`);
      const r = drive(c.events, { keys: keyLogOf(wrong) });
      expect(r.out.info).toMatchObject({ decrypted: false, undecryptedReason: 'keys-mismatch' });
      expect(r.counters.tlsDecryptionAbandoned).toBe(2);
      expect(r.out.requests).toEqual([]);
    }
  });

  it('a gap that took the ClientHello (SYN seen): data-lost', () => {
    const c = cap('TLS 1.3 AES-128-GCM');
    const r = drive(lose(c.events, 'client', 0, c.events[0].data.length), { keys: keyLogOf(c.keylog) });
    expect(r.out.info.undecryptedReason).toBe('data-lost');
  });
});

// ------------------------------------------------------------------------------------ key changes

/** Client request / server response pairs under the given writers. */
function exchange(s: Synth13, cw: Writer13, sw: Writer13, path: string, n: number): Ev[] {
  return [ev('client', cw.record(CT_APPDATA, h1Request(path))), ev('server', sw.record(CT_APPDATA, h1Response(n)))];
}

describe('key changes (RFC 8446 §4.6.3, §7.2) seen and unseen', () => {
  function keyUpdateConnection(): { s: Synth13; events: Ev[]; kuClient: number } {
    const s = new Synth13();
    const p = s.p;
    const c1 = new Writer13(p, tls13NextTrafficSecret(p, s.secrets.CLIENT_TRAFFIC_SECRET_0));
    const c2 = new Writer13(p, tls13NextTrafficSecret(p, tls13NextTrafficSecret(p, s.secrets.CLIENT_TRAFFIC_SECRET_0)));
    const s1 = new Writer13(p, tls13NextTrafficSecret(p, s.secrets.SERVER_TRAFFIC_SECRET_0));
    const events: Ev[] = [
      ...s.handshake(),
      ...exchange(s, s.w.capp, s.w.sapp, '/1', 3000),
      // KeyUpdate(update_requested) from the client; the server answers with its own (§4.6.3).
      ev('client', s.w.capp.record(CT_HANDSHAKE, hsMsg(24, Buffer.from([1])))),
      ev('server', s.w.sapp.record(CT_HANDSHAKE, hsMsg(24, Buffer.from([0])))),
      ...exchange(s, c1, s1, '/2', 4000),
      ev('client', c1.record(CT_HANDSHAKE, hsMsg(24, Buffer.from([0])))),
      ...exchange(s, c2, s1, '/3', 5000),
    ];
    return { s, events, kuClient: 5 };
  }

  it('KeyUpdate both ways, twice from the client: every request decrypts', () => {
    const { s, events } = keyUpdateConnection();
    const r = drive(events, { keys: s.keys() });
    expect(r.out.requests.map((q) => [q.target, q.state, q.sizes.responseBody])).toEqual([
      ['/1', 'complete', 3000],
      ['/2', 'complete', 4000],
      ['/3', 'complete', 5000],
    ]);
    expect(r.out.info.undecryptableRecords).toBe(0);
    expect(r.counters).toEqual({ tlsFinWithoutCloseNotify: 2 });
  });

  it('a KeyUpdate lost to the capture: the next keys are found by trying them, nothing else is lost', () => {
    const { s, events, kuClient } = keyUpdateConnection();
    const cut = events.map((e, i) => (i === kuClient ? { ...e, lost: true } : e));
    const r = drive(cut, { keys: s.keys() });
    expect(r.counters.tlsKeyChangeInferred).toBe(1);
    expect(r.out.requests.map((q) => [q.target, q.state, q.lostBytes])).toEqual([
      ['/1', 'complete', 0],
      ['/2', 'complete', 0],
      ['/3', 'complete', 0],
    ]);
  });

  it("a client Finished lost to the capture: its application keys are found, the requests decrypt", () => {
    const s = new Synth13();
    const events: Ev[] = [
      ev('client', s.clientHello()),
      ev('server', s.serverHello(), CCS_RECORD, ...s.serverFlight()),
      ev('client', CCS_RECORD),
      { side: 'client', data: s.clientFinished(), lost: true },
      ...exchange(s, s.w.capp, s.w.sapp, '/a', 100),
      ...exchange(s, s.w.capp, s.w.sapp, '/b', 200),
    ];
    const r = drive(events, { keys: s.keys() });
    expect(r.counters.tlsKeyChangeInferred).toBe(1);
    expect(r.out.requests.map((q) => [q.target, q.state, q.lostBytes])).toEqual([
      ['/a', 'complete', 0],
      ['/b', 'complete', 0],
    ]);
  });

  it('a key log without handshake secrets: the application keys are used from the first record they open', () => {
    const s = new Synth13();
    const events: Ev[] = [...s.handshake(), ...exchange(s, s.w.capp, s.w.sapp, '/a', 100)];
    const r = drive(events, { keys: s.keys(['CLIENT_TRAFFIC_SECRET_0', 'SERVER_TRAFFIC_SECRET_0']) });
    expect(r.out.requests.map((q) => [q.target, q.state])).toEqual([['/a', 'complete']]);
    expect(r.counters.tlsDecryptionAbandoned).toBeUndefined();
  });

  it('TLS 1.2: a lost ChangeCipherSpec is inferred from the first application record', () => {
    const t = new Synth12();
    const hs = t.handshake();
    // The client's flight: ClientKeyExchange, [ChangeCipherSpec lost], Finished.
    const flight = hs[2].data;
    const cke = recordsOf(flight)[0];
    const events: Ev[] = [
      hs[0],
      hs[1],
      { side: 'client', data: flight.subarray(0, 5 + cke.len) },
      { side: 'client', data: flight.subarray(5 + cke.len, 5 + cke.len + 6), lost: true },
      { side: 'client', data: flight.subarray(5 + cke.len + 6) },
      hs[3],
      ev('client', ...t.app('client', h1Request('/a'))),
      ev('server', ...t.app('server', h1Response(500))),
    ];
    const r = drive(events, { keys: t.keys() });
    expect(r.counters.tlsChangeCipherSpecInferred).toBe(1);
    expect(r.out.requests.map((q) => [q.target, q.state, q.lostBytes])).toEqual([['/a', 'complete', 0]]);
  });

  it('post-handshake client authentication (§4.6.2): its Finished does not reset the keys or the handshake end', () => {
    const s = new Synth13();
    const events: Ev[] = [
      ...s.handshake(),
      ...exchange(s, s.w.capp, s.w.sapp, '/a', 100),
      ev('server', s.w.sapp.record(CT_HANDSHAKE, hsMsg(13, Buffer.from([0, 0, 0])))), // CertificateRequest
      ev(
        'client',
        s.w.capp.record(CT_HANDSHAKE, Buffer.concat([hsMsg(11, Buffer.from([0, 0, 0, 0])), hsMsg(15, Buffer.from([4, 3, 0, 0])), hsMsg(20, Buffer.alloc(32, 7))])),
      ),
      ...exchange(s, s.w.capp, s.w.sapp, '/b', 200),
    ];
    const r = drive(events, { keys: s.keys() });
    expect(r.out.requests.map((q) => [q.target, q.state])).toEqual([
      ['/a', 'complete'],
      ['/b', 'complete'],
    ]);
    expect(r.out.info.handshakeEndTime).toBe(2);
    expect(r.out.info.undecryptableRecords).toBe(0);
  });

  it('TLS 1.3: a plaintext alert after the ServerHello is read as an alert, not as an undecryptable record', () => {
    const s = new Synth13();
    const events: Ev[] = [ev('client', s.clientHello()), ev('server', s.serverHello(), CCS_RECORD), ev('client', record(CT_ALERT, Buffer.from([2, 47])))];
    const r = drive(events, { keys: s.keys() });
    expect(r.out.info.alerts).toMatchObject([{ side: 'client', level: 2, description: 'illegal_parameter' }]);
    expect(r.out.info).toMatchObject({ undecryptableRecords: 0, handshakeEndTime: null, undecryptedReason: null });
    expect(r.out.anomalies).toEqual([]);
  });
});

describe('TLS 1.3 drafts (supported_versions 0x7fxx)', () => {
  it('read as TLS 1.3 — protected after the ServerHello, resumption only by pre_shared_key — and not decrypted', () => {
    const s = new Synth13();
    const sid = Buffer.alloc(32, 9); // middlebox compatibility mode: the session id is echoed (RFC 8446 §D.4)
    const sh = (psk: boolean): Buffer =>
      record(
        CT_HANDSHAKE,
        hsMsg(2, Buffer.concat([u16(0x0303), Buffer.alloc(32, 1), vec8(sid), u16(0x1301), Buffer.from([0]), vec16(Buffer.concat([ext(43, u16(0x7f17)), ...(psk ? [ext(41, u16(0))] : [])]))])),
      );
    for (const psk of [false, true]) {
      const r = drive(
        [ev('client', s.clientHello({ sessionId: sid })), ev('server', sh(psk), CCS_RECORD, record(CT_APPDATA, Buffer.alloc(300, 1))), ev('client', CCS_RECORD, record(CT_APPDATA, Buffer.alloc(53, 2)))],
        { keys: s.keys() },
      );
      expect(r.out.info).toMatchObject({ version: 'TLS 1.3 (draft 23)', resumed: psk, handshakeRtts: 1, handshakeEndTime: 2, undecryptedReason: 'unsupported-cipher' });
      expect(r.out.anomalies).toEqual([]);
    }
  });
});

// ------------------------------------------------------------------------------------ 0-RTT

describe('0-RTT early data (RFC 8446 §4.2.10)', () => {
  function zeroRtt(accept: boolean): { s: Synth13; events: Ev[] } {
    const s = new Synth13();
    const early = [s.w.early.record(CT_APPDATA, h1Request('/early'))];
    if (accept) early.push(s.w.early.record(CT_HANDSHAKE, hsMsg(5, Buffer.alloc(0)))); // EndOfEarlyData (§4.5)
    const events: Ev[] = [
      ev('client', s.clientHello({ earlyData: true, psk: true }), CCS_RECORD, early[0]),
      ev('server', s.serverHello({ psk: true }), CCS_RECORD, s.w.shs.record(CT_HANDSHAKE, encryptedExtensions({ alpn: 'http/1.1', earlyData: accept })), s.w.shs.record(CT_HANDSHAKE, hsMsg(20, Buffer.alloc(32, 1)))),
    ];
    if (accept) {
      events.push(ev('server', s.w.sapp.record(CT_APPDATA, h1Response(10))));
      events.push(ev('client', early[1], s.clientFinished()));
    } else {
      // Rejected: no EndOfEarlyData; the client sends the request again under 1-RTT keys.
      events.push(ev('client', s.clientFinished(), s.w.capp.record(CT_APPDATA, h1Request('/early'))));
      events.push(ev('server', s.w.sapp.record(CT_APPDATA, h1Response(10))));
    }
    events.push(...exchange(s, s.w.capp, s.w.sapp, '/later', 20));
    return { s, events };
  }

  it('accepted: the early request reaches HTTP once, 0-RTT handshake', () => {
    const { s, events } = zeroRtt(true);
    const r = drive(events, { keys: s.keys() });
    expect(r.out.requests.map((q) => [q.target, q.state, q.sizes.responseBody])).toEqual([
      ['/early', 'complete', 10],
      ['/later', 'complete', 20],
    ]);
    expect(r.out.info).toMatchObject({ earlyData: 'accepted', handshakeRtts: 0, resumed: true });
  });

  it('rejected: the early data is dropped (the server never read it), the request sent again is the only one', () => {
    const { s, events } = zeroRtt(false);
    const r = drive(events, { keys: s.keys() });
    expect(r.out.requests.map((q) => [q.target, q.state, q.sizes.responseBody, q.lostBytes])).toEqual([
      ['/early', 'complete', 10, 0],
      ['/later', 'complete', 20, 0],
    ]);
    expect(r.out.info.earlyData).toBe('rejected');
    expect(r.counters.tlsEarlyDataBytesRejected).toBe(h1Request('/early').length);
  });

  it('rejected, the server flight unreadable (no server handshake secret): told by the client switching keys without EndOfEarlyData', () => {
    const { s, events } = zeroRtt(false);
    const r = drive(events, { keys: s.keys(['CLIENT_EARLY_TRAFFIC_SECRET', 'CLIENT_HANDSHAKE_TRAFFIC_SECRET', 'CLIENT_TRAFFIC_SECRET_0', 'SERVER_TRAFFIC_SECRET_0']) });
    expect(r.out.requests.map((q) => [q.target, q.state])).toEqual([
      ['/early', 'complete'],
      ['/later', 'complete'],
    ]);
    expect(r.out.info.earlyData).toBe('rejected');
  });
});

// ------------------------------------------------------------------------------------ roles

describe('roles from the ClientHello when the SYN is missing (tcp/table.ts), through analyzeFile', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'wirefall-tls-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a sample with its TCP handshake cut: same TLS facts and requests as the whole capture', async () => {
    const file = sample('tls/nginx-h1-tls12-gcm.pcap');
    const { keylog } = await readKeyLogFile(sample('tls/nginx-h1-tls12-gcm.keys'));
    const whole = await analyzeFile(file, { keyLog: keylog });
    const { linkType, pkts } = readPcapSimple(readFileSync(file));
    // Ethernet/IPv4/TCP: drop every segment with SYN set (flags at 14 + IHL + 13).
    const cut = pkts.filter((p) => (p.data[14 + (p.data[14] & 0x0f) * 4 + 13] & 0x02) === 0);
    expect(cut.length).toBe(pkts.length - 2);
    const path = join(dir, 'cut.pcap');
    writeFileSync(path, writePcap(cut, { le: true, nano: false, linkType }));
    const part = await analyzeFile(path, { keyLog: keylog });
    const [c] = part.connections;
    expect(c.startSeen).toBe(false);
    expect(c.client).toEqual(whole.connections[0].client);
    expect(c.tls).toMatchObject({ version: 'TLS 1.2', decrypted: true, undecryptedReason: null, sni: whole.connections[0].tls!.sni });
    expect(part.requests.map((q) => [q.method, q.url, q.status, q.state])).toEqual(whole.requests.map((q) => [q.method, q.url, q.status, q.state]));
  });

  it('no SYN, the client on the lower port: the ClientHello corrects the port guess', async () => {
    const s = new Synth13();
    const events: Ev[] = [...s.handshake(), ...exchange(s, s.w.capp, s.w.sapp, '/roles', 64)];
    const path = join(dir, 'roles.pcap');
    const w = new PcapWriter(path);
    const C: [number[], number] = [[10, 1, 0, 1], 20000];
    const S: [number[], number] = [[10, 1, 0, 2], 30000];
    const seq = { client: 1000, server: 5000 };
    let t = 1_700_000_000_000_000;
    // The server's bare ACK first: by ports (neither well known, the lower one serves) it would be the client.
    w.tcp(t, S, C, seq.server, seq.client, 0x10);
    for (const e of events) {
      t += 1000;
      const [src, dst] = e.side === 'client' ? [C, S] : [S, C];
      w.tcp(t, src, dst, seq[e.side], seq[e.side === 'client' ? 'server' : 'client'], 0x18, Buffer.from(e.data));
      seq[e.side] += e.data.length;
    }
    w.close();
    const r = await analyzeFile(path, { keyLog: s.keys() });
    const [c] = r.connections;
    expect(c.startSeen).toBe(false);
    expect(c.client.port).toBe(20000);
    expect(c.server.port).toBe(30000);
    expect(c.roles).toBe('data');
    expect(r.capture.counters.rolesSwappedByData).toBe(1);
    expect(c.tls).toMatchObject({ version: 'TLS 1.3', sni: 'example.test', decrypted: true });
    expect(r.requests.map((q) => [q.method, q.target, q.status, q.state])).toEqual([['GET', '/roles', 200, 'complete']]);
  });
});
