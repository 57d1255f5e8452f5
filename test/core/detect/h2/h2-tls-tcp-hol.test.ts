/**
 * hol-stall (layer tcp) on HTTP/2 inside TLS: the lossy h2-over-TLS sample against an independent
 * computation from tshark with the same key log. core's tracker measures the TCP segments the TLS
 * session read, with each frame mapped to the TCP octets that carried it (http2/tcp-hol.ts).
 *
 * Expected values, from tshark alone (hol-reference.ts): the server's TCP segments; its TLS records
 * in stream order (record length and content type — the inner type where decrypted), so each
 * record's octets are the running sum of 5 + length; and its HTTP/2 frames in stream order (so each
 * frame's plaintext range is the running sum of 9 + length over the application-data records'
 * plaintext, which is a TLS 1.3 AES-128-GCM record's length − 16 (tag) − 1 (content type): nginx
 * does not pad, and the sums must agree). A record's header goes to the frame holding its first
 * plaintext octet, its tag to the frame holding its last; records without application data to
 * stream 0.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { analyzeFile } from '../../../../core/src/engine.js';
import { KeyLog } from '../../../../core/src/tls/keylog.js';
import { h2TcpHol } from '../../../../core/src/detect/h2-tcp-hol.js';
import type { DirectionHol } from '../../../../core/src/http2/tcp-hol.js';
import { hasTshark, SAMPLES } from '../../../helpers/env.js';
import { compareWithReference, expectedStalls, segmentsFrom, tshark } from './hol-reference.js';

const FILE = join(SAMPLES, 'tls', 'h2-tls-loss-hol.pcap');
const KEYS = join(SAMPLES, 'tls', 'h2-tls-loss-hol.keys');
const PORT = 18460;
const TLS = ['-o', `tls.keylog_file:${KEYS}`];
const AEAD_TAG = 16;
const keyLog = (): KeyLog => {
  const k = new KeyLog();
  k.addText(readFileSync(KEYS, 'utf8'));
  return k;
};

function fields(filter: string, ...names: string[]): string[][] {
  return tshark(FILE, ['-Y', filter, '-T', 'fields', '-E', 'separator=;', ...names.flatMap((n) => ['-e', n])], TLS).map((l) => l.split(';'));
}

function expectedFromTshark() {
  const segs = segmentsFrom(FILE, PORT, TLS);
  const records: { len: number; type: number }[] = [];
  for (const [lens, types] of fields(`tls && tcp.srcport==${PORT}`, 'tls.record.length', 'tls.record.content_type')) {
    if (lens === '') continue; // a segment of a record completed later
    const l = lens.split(',').map(Number);
    const t = types.split(',').map(Number);
    expect(t.length).toBe(l.length);
    l.forEach((len, i) => records.push({ len, type: t[i] }));
  }
  const frames: { stream: number; start: number; end: number }[] = [];
  let p = 0;
  for (const [ids, lens] of fields(`http2 && tcp.srcport==${PORT}`, 'http2.streamid', 'http2.length')) {
    const l = lens.split(',').map(Number);
    ids.split(',').map(Number).forEach((id, i) => {
      frames.push({ stream: id, start: p, end: p + 9 + l[i] });
      p += 9 + l[i];
    });
  }
  let fi = 0;
  const streamAt = (plain: number): number => {
    while (fi < frames.length && frames[fi].end <= plain) fi++;
    return frames[fi].stream;
  };
  const ranges: { start: number; end: number; stream: number }[] = [];
  const add = (start: number, end: number, stream: number) => {
    const last = ranges[ranges.length - 1];
    if (last && last.stream === stream && last.end === start) last.end = end;
    else if (end > start) ranges.push({ start, end, stream });
  };
  let c = 0;
  let plain = 0;
  for (const r of records) {
    if (r.type !== 23) {
      add(c, c + 5 + r.len, 0);
    } else {
      const n = r.len - AEAD_TAG - 1;
      const body = c + 5;
      add(c, body, streamAt(plain));
      for (let k = 0; k < n; ) {
        const s = streamAt(plain + k);
        const e = Math.min(n, frames[fi].end - plain);
        add(body + k, body + e, s);
        k = e;
      }
      add(body + n, c + 5 + r.len, streamAt(plain + n - 1));
      plain += n;
    }
    c += 5 + r.len;
  }
  expect(plain).toBe(p); // every application-data octet is in a frame, and no padding
  return { expected: expectedStalls(segs, ranges, c), retransmissions: segs.filter((s) => s.retrans).length, records: records.length };
}

describe('hol-stall (tcp) on HTTP/2 over TLS', () => {
  describe.skipIf(!hasTshark())('tls/h2-tls-loss-hol.pcap against tshark with the key log', () => {
    it('stall per stream and retransmission matches tshark\'s TCP segments mapped through the TLS records, within 1 ms', async () => {
      const { expected, retransmissions, records } = expectedFromTshark();
      expect(retransmissions).toBeGreaterThan(20);
      const report = await analyzeFile(FILE, { keyLog: keyLog() });
      const conn = report.connections[0];
      expect(conn.tls?.decrypted).toBe(true);
      const hol = conn.h2!.tcpHol.server as DirectionHol;
      expect(hol.approximate).toBe(false);
      const { compared, maxDiff, maxWaitDiff, heldByOthers } = compareWithReference(hol, expected);
      console.log(`h2-tls-loss-hol: ${records} records, ${compared} (release, stream) pairs compared, ${expected.filter((e) => !e.own && e.ms > 0).length} held by other streams; max |Δ| stall ${maxDiff.toFixed(6)} ms, wait ${maxWaitDiff.toFixed(6)} ms`);
      // Loss held several request streams behind other streams' bytes (the sample's point).
      expect(heldByOthers.size).toBeGreaterThanOrEqual(4);
    });
  });

  it('one finding on the decrypted capture, none without keys (no frames to attribute)', async () => {
    const withKeys = await analyzeFile(FILE, { keyLog: keyLog() });
    const [f] = h2TcpHol.detect(withKeys, {});
    expect(f).toMatchObject({ kind: 'hol-stall', rule: 'lost-segment', layer: 'tcp', connectionIds: [0] });
    expect(f.requestIds.length).toBeGreaterThanOrEqual(4);
    const without = await analyzeFile(FILE);
    expect(without.connections[0].tls?.undecryptedReason).toBe('no-keys');
    expect(h2TcpHol.detect(without, {})).toEqual([]);
  });
});
