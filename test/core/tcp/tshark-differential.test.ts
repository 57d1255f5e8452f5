/**
 * Differential test against tshark (a real peer): for every capture in samples/ and the Zeek
 * corpus, the TCP connections (4-tuples, port reuse split the same way as tcp.stream), their
 * packet and frame-byte counts per direction, and their open/close facts must agree.
 * Disagreements judged to be tshark's are listed, with the reason, in tshark-exceptions.json.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { analyzeFile } from '../../../core/src/engine.js';
import { hasCorpus, hasTshark, listCaptures, SAMPLES, ZEEK } from '../../helpers/env.js';
import { occ, tsharkFields } from '../../helpers/tshark.js';

interface Dir {
  packets: number;
  bytes: number;
}
interface TStream {
  a: string;
  b: string;
  dirs: Record<string, Dir>;
  syn: boolean;
  firstClose: { by: string; how: 'fin' | 'rst' } | null;
}

const exceptions: { file: string; stream?: number; field: string; reason: string }[] = JSON.parse(
  readFileSync(new URL('./tshark-exceptions.json', import.meta.url), 'utf8'),
);

const on = (v: string | undefined) => v === '1' || v === 'True' || v === 'true';

function tsharkStreams(file: string): Map<number, TStream> {
  const rows = tsharkFields(file, 'tcp && !icmp && !icmpv6', [
    'tcp.stream',
    'ip.src',
    'ipv6.src',
    'tcp.srcport',
    'ip.dst',
    'ipv6.dst',
    'tcp.dstport',
    'frame.len',
    'tcp.flags.syn',
    'tcp.flags.ack',
    'tcp.flags.fin',
    'tcp.flags.reset',
  ]);
  const streams = new Map<number, TStream>();
  for (const r of rows) {
    const id = Number(r[0]);
    // Tunnelled packets list several addresses; the innermost (last) carries the TCP segment.
    const last = (s: string) => occ(s).pop()!;
    const src = `${last(r[1] || r[2])}:${r[3]}`;
    const dst = `${last(r[4] || r[5])}:${r[6]}`;
    let s = streams.get(id);
    if (!s) {
      s = { a: src, b: dst, dirs: { [src]: { packets: 0, bytes: 0 }, [dst]: { packets: 0, bytes: 0 } }, syn: false, firstClose: null };
      streams.set(id, s);
    }
    const d = s.dirs[src] ?? (s.dirs[src] = { packets: 0, bytes: 0 });
    d.packets++;
    d.bytes += Number(r[7]);
    if (on(r[8]) && !on(r[9])) s.syn = true;
    if (!s.firstClose && (on(r[10]) || on(r[11]))) s.firstClose = { by: src, how: on(r[11]) ? 'rst' : 'fin' };
  }
  return streams;
}

function excused(file: string, stream: number, field: string): boolean {
  return exceptions.some((e) => e.file === basename(file) && (e.stream === undefined || e.stream === stream) && e.field === field);
}

const files = [...listCaptures(SAMPLES), ...(hasCorpus() ? listCaptures(ZEEK) : [])];

describe.skipIf(!hasTshark())('TCP connections agree with tshark', () => {
  it('has captures to compare', () => {
    expect(files.length).toBeGreaterThan(10);
  });
  for (const file of files) {
    it(basename(file), async () => {
      const ts = tsharkStreams(file);
      const analysed = await analyzeFile(file);
      // TCP connections only: QUIC connections (transport 'quic') are compared in test/core/quic.
      const report = { ...analysed, connections: analysed.connections.filter((c) => c.transport !== 'quic') };
      const mismatches: string[] = [];
      const note = (stream: number, field: string, msg: string) => {
        if (!excused(file, stream, field)) mismatches.push(`stream ${stream} ${field}: ${msg}`);
      };
      if (report.connections.length !== ts.size && !excused(file, -1, 'count')) {
        mismatches.push(`connection count: wirefall ${report.connections.length}, tshark ${ts.size}`);
      }
      for (const c of report.connections) {
        const t = ts.get(c.id);
        if (!t) {
          note(c.id, 'missing', 'no such tcp.stream in tshark');
          continue;
        }
        const cl = `${c.client.ip}:${c.client.port}`;
        const sv = `${c.server.ip}:${c.server.port}`;
        if (!(new Set([t.a, t.b]).has(cl) && new Set([t.a, t.b]).has(sv))) {
          note(c.id, 'endpoints', `wirefall ${cl} ↔ ${sv}, tshark ${t.a} ↔ ${t.b}`);
          continue;
        }
        const tc = t.dirs[cl] ?? { packets: 0, bytes: 0 };
        const tsv = t.dirs[sv] ?? { packets: 0, bytes: 0 };
        if (c.stats.client.packets !== tc.packets || c.stats.server.packets !== tsv.packets) {
          note(c.id, 'packets', `wirefall ${c.stats.client.packets}/${c.stats.server.packets}, tshark ${tc.packets}/${tsv.packets}`);
        }
        if (c.stats.client.frameBytes !== tc.bytes || c.stats.server.frameBytes !== tsv.bytes) {
          note(c.id, 'bytes', `wirefall ${c.stats.client.frameBytes}/${c.stats.server.frameBytes}, tshark ${tc.bytes}/${tsv.bytes}`);
        }
        if (c.startSeen !== t.syn) note(c.id, 'syn', `wirefall startSeen=${c.startSeen}, tshark SYN seen=${t.syn}`);
        const wfClose = c.close.how === 'open' ? null : { by: c.close.by === 'client' ? cl : sv, how: c.close.how };
        if (JSON.stringify(wfClose) !== JSON.stringify(t.firstClose)) {
          note(c.id, 'close', `wirefall ${JSON.stringify(wfClose)}, tshark ${JSON.stringify(t.firstClose)}`);
        }
      }
      expect(mismatches).toEqual([]);
    });
  }
});
