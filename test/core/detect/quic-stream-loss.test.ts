/**
 * quic-stream-loss (hol-stall/stream-loss, layer quic) on samples/quic/ngtcp2-h3-stream-loss.pcap:
 * ngtcp2's client fetches four 256 KB files concurrently from Caddy through a router dropping
 * every 41st server datagram (samples/generate-quic.sh, scenario ngtcp2_stream_loss), captured at
 * the client. Checked against tshark decrypting the same capture: the server's missing packet
 * numbers, and each hole wirefall reports is STREAM data tshark sees arrive late, in a new packet
 * number, on the same stream and offset; every such late arrival lies inside one of wirefall's
 * episodes of that stream.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DETECTOR_DEFS, detectAll, detectStream } from '../../../core/src/detect/index.js';
import { quicLossFacts } from '../../../core/src/detect/quic-stream-loss.js';
import type { Finding } from '../../../core/src/model/types.js';
import { hasTshark, ROOT } from '../../helpers/env.js';
import { capture, haveQuicSamples, keysOf, loadQuic, Q, quicConns, quicFindings } from './quic-helpers.js';

const ok = haveQuicSamples();
const STEM = 'ngtcp2-h3-stream-loss';
const SERVER_PORT = '18710';

interface TFrame {
  frame: number;
  pn: number;
  stream: number;
  offset: number;
  length: number;
}

/** tshark's decrypted view of the server's 1-RTT packets: packet numbers and STREAM frames. */
function tsharkServer(): { pns: number[]; frames: TFrame[] } {
  const out = execFileSync('tshark', ['-n', '-r', capture(STEM), '-o', `tls.keylog_file:${keysOf(STEM)}`, '-Y', `udp.srcport == ${SERVER_PORT} && quic.short`, '-T', 'json', '--no-duplicate-keys'], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const pns: number[] = [];
  const frames: TFrame[] = [];
  for (const p of JSON.parse(out) as { _source: { layers: Record<string, any> } }[]) {
    const l = p._source.layers;
    const frame = Number(l.frame['frame.number']);
    for (const q of [l.quic].flat()) {
      const pn = Number(q['quic.short']?.['quic.packet_number']);
      if (!Number.isFinite(pn)) continue;
      pns.push(pn);
      for (const f of [q['quic.frame'] ?? []].flat()) {
        if (f['quic.stream.stream_id'] === undefined) continue;
        const data: string = f['quic.stream_data'] ?? '';
        const length = f['quic.stream.length'] !== undefined ? Number(f['quic.stream.length']) : data ? (data.length + 1) / 3 : 0;
        frames.push({ frame, pn, stream: Number(f['quic.stream.stream_id']), offset: Number(f['quic.stream.offset'] ?? 0), length });
      }
    }
  }
  return { pns, frames };
}

describe('quic-stream-loss in the registry', () => {
  it('is registered, emits hol-stall, and documents its signature, cost, thresholds and where it can be wrong', () => {
    const d = DETECTOR_DEFS.find((x) => x.name === 'quic-stream-loss')!;
    expect(d.kinds).toEqual(['hol-stall']);
    const src = readFileSync(join(ROOT, 'core', 'src', 'detect', 'quic-stream-loss.ts'), 'utf8');
    const doc = src.slice(0, src.indexOf('*/'));
    for (const w of ['Signature', 'Cost', 'Where it can be wrong', ...Object.keys(d.thresholds)]) expect(doc, w).toContain(w);
  });
});

describe('quic-stream-loss on ngtcp2-h3-stream-loss.pcap', () => {
  it.skipIf(!ok)('with keys: one info finding for the server side, the four request streams, costs their own waits', async () => {
    const r = await loadQuic(STEM);
    const [c] = quicConns(r);
    const fs = quicFindings(r).filter((f) => f.kind === 'hol-stall');
    expect(fs.map((f) => [f.rule, f.layer, f.severity, f.connectionIds])).toEqual([['stream-loss', 'quic', 'info', [Q]]]);
    const f = fs[0];
    expect(f.requestIds.sort()).toEqual(r.requests.map((q) => q.id).sort());
    const loss = quicLossFacts(c)!.server;
    const counted = loss.episodes.filter((e) => e.retransmitted && e.endTime - e.startTime >= 0.5);
    expect(counted.length).toBeGreaterThanOrEqual(10);
    expect(f.costMs).toBeCloseTo(counted.reduce((n, e) => n + e.endTime - e.startTime, 0), 6);
    // Other streams kept flowing while one waited: what HTTP/3 avoided.
    expect(counted.filter((e) => e.others.length > 0).length).toBeGreaterThanOrEqual(counted.length / 2);
    expect(f.summary).toMatch(/held only the stream that lost data .* delivered on arrival: over one ordered byte stream \(HTTP\/2 over TCP\)/);
    for (const e of f.evidence) if (e.packet !== null) expect(e.packet).toBeGreaterThanOrEqual(1);
  });

  it.skipIf(!ok)('without keys: STREAM frames are encrypted, nothing is claimed', async () => {
    const r = await loadQuic(STEM, false);
    expect(quicLossFacts(quicConns(r)[0])).toBeNull();
    expect(quicFindings(r).filter((f) => f.kind === 'hol-stall')).toEqual([]);
  });

  it.skipIf(!ok || !hasTshark())('tshark agrees: missing packet numbers, and every retransmitted hole', async () => {
    const r = await loadQuic(STEM);
    const loss = quicLossFacts(quicConns(r)[0])!.server;
    const t = tsharkServer();
    // Packet numbers missing between the server's captured ones.
    const pns = [...new Set(t.pns)].sort((a, b) => a - b);
    let missing = 0;
    for (let i = 1; i < pns.length; i++) missing += pns[i] - pns[i - 1] - 1;
    expect(loss.packets).toBe(t.pns.length);
    expect(loss.missing).toBe(missing);
    expect(missing).toBeGreaterThan(0);
    // Late data per tshark: a STREAM frame starting below the highest end already seen on its
    // stream with bytes not seen before, in a packet number above every earlier one.
    const maxEnd = new Map<number, number>();
    const have = new Map<number, [number, number][]>();
    let largest = -1;
    let before = -1;
    let packet = -1;
    const late: TFrame[] = [];
    for (const f of t.frames.sort((a, b) => a.frame - b.frame)) {
      if (f.frame !== packet) [packet, before] = [f.frame, largest];
      const end = f.offset + f.length;
      const got = have.get(f.stream) ?? [];
      const fresh = f.length - got.reduce((n, [a, b]) => n + Math.max(0, Math.min(b, end) - Math.max(a, f.offset)), 0);
      if (f.offset < (maxEnd.get(f.stream) ?? 0) && fresh > 0 && f.pn > before) late.push(f);
      got.push([f.offset, end]);
      have.set(f.stream, got);
      maxEnd.set(f.stream, Math.max(maxEnd.get(f.stream) ?? 0, end));
      largest = Math.max(largest, f.pn);
    }
    expect(late.length).toBeGreaterThan(0);
    const retransmitted = loss.episodes.filter((e) => e.retransmitted);
    for (const e of retransmitted) {
      expect(late.some((f) => f.stream === e.streamId && f.offset === e.holeOffset && f.pn === e.fillPn), `stream ${e.streamId} hole at ${e.holeOffset} filled by pn ${e.fillPn}`).toBe(true);
    }
    for (const f of late) {
      expect(retransmitted.some((e) => e.streamId === f.stream && e.startPacket <= f.frame && f.frame <= e.endPacket), `tshark's late frame ${f.frame} (stream ${f.stream}, offset ${f.offset}, pn ${f.pn})`).toBe(true);
    }
  });

  it.skipIf(!ok)('streaming equals batch on this capture', async () => {
    const r = await loadQuic(STEM);
    const batch = detectAll(r).filter((f) => f.kind === 'hol-stall');
    const streamed: Finding[] = [];
    const d = detectStream({}, (f) => streamed.push(f), () => {});
    for (const q of r.requests) d.request(q);
    for (const c of r.connections) d.connection(c);
    d.finish();
    expect(streamed.filter((f) => f.kind === 'hol-stall')).toEqual(batch);
  });
});
