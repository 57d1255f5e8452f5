/**
 * missed-reuse over QUIC (quic-missed-reuse.ts) on samples/quic/ngtcp2-h3-missed-reuse.pcap: three
 * ngtcp2 client processes, one URL each. The first stays connected (500 ms idle timeout) while the
 * second connects 400 ms later; the second closes right after its response and the third connects
 * 300 ms later. The facts the findings rest on are checked against tshark.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DETECTOR_DEFS } from '../../../core/src/detect/index.js';
import type { Connection } from '../../../core/src/model/types.js';
import { hasTshark, ROOT } from '../../helpers/env.js';
import { tsharkFields } from '../../helpers/tshark.js';
import { capture, haveQuicSamples, keysOf, loadQuic, Q, quicConns, quicFindings, redetect } from './quic-helpers.js';

const ok = haveQuicSamples();
const STEM = 'ngtcp2-h3-missed-reuse';
const reuse = async (stem: string, keys = true) => quicFindings(await loadQuic(stem, keys)).filter((f) => f.kind === 'missed-reuse');

describe('quic-missed-reuse on ngtcp2-h3-missed-reuse.pcap (with its key log)', () => {
  it.skipIf(!ok)('two findings: the second connection beside an open idle one, the third after a client close', async () => {
    const fs = await reuse(STEM);
    expect(fs.map((f) => [f.rule, f.layer, f.severity, f.connectionIds])).toEqual([
      ['idle-connection-unused', 'quic', 'warning', [Q, Q + 1]],
      ['client-no-pool', 'quic', 'warning', [Q + 1, Q + 2]],
    ]);
    for (const f of fs) expect(f.summary).toMatch(/^1 of 3 QUIC connections from 127\.0\.0\.1 to localhost \(127\.0\.0\.1:18700\) avoidable/);
  });

  it.skipIf(!ok)('each is priced as the new connection’s QUIC handshake (first Initial → handshake end), 1 round trip', async () => {
    const r = await loadQuic(STEM);
    const [c0, c1, c2] = quicConns(r);
    const [idle, noPool] = await reuse(STEM);
    expect(idle.costMs).toBeCloseTo(c1.establishedTime! - c1.synTime!, 6);
    expect(noPool.costMs).toBeCloseTo(c2.establishedTime! - c2.synTime!, 6);
    expect(idle.costMs!).toBeGreaterThan(0);
    expect(idle.summary).toContain('(QUIC handshake: 1 round trip each)');
    // The requests named are the first of each avoidable connection.
    expect(idle.requestIds).toEqual(r.requests.filter((q) => q.connectionId === c1.id).map((q) => q.id));
    expect(noPool.requestIds).toEqual(r.requests.filter((q) => q.connectionId === c2.id).map((q) => q.id));
    // Evidence: the avoidable connection's first Initial, and what the earlier one was doing.
    expect(idle.evidence[0]).toMatchObject({ packet: c1.firstPacket, time: c1.synTime });
    expect(idle.evidence[0].what).toMatch(/connection 1000000000 to the same origin was open and idle for \d+ ms/);
    expect(noPool.evidence[0]).toMatchObject({ packet: c1.close.packet, time: c1.close.time });
    expect(noPool.evidence[0].what).toContain('CONNECTION_CLOSE from the client');
    expect(noPool.evidence[1]).toMatchObject({ packet: c2.firstPacket, time: c2.synTime });
    expect(c0.quic!.end).toBe('idle-timeout');
  });

  it.skipIf(!ok)('without keys nothing is claimed: the earlier connections went quiet, and a CONNECTION_CLOSE in 1-RTT is not visible', async () => {
    expect(await reuse(STEM, false)).toEqual([]);
  });

  it.skipIf(!ok || !hasTshark())('tshark sees what the findings rest on: three QUIC connections with SNI localhost, a client CONNECTION_CLOSE on the 2nd and 3rd only', async () => {
    const f = capture(STEM);
    const bySni = new Map<string, Set<string>>();
    for (const [n, sni] of tsharkFields(f, 'quic.long.packet_type==0 && tls.handshake.type==1', ['quic.connection.number', 'tls.handshake.extensions_server_name'])) {
      if (!bySni.has(sni)) bySni.set(sni, new Set());
      bySni.get(sni)!.add(n);
    }
    expect([...bySni].map(([s, n]) => [s, n.size])).toEqual([['localhost', 3]]);
    const r = await loadQuic(STEM);
    const closes = tsharkFields(f, 'quic.frame_type==0x1c || quic.frame_type==0x1d', ['quic.connection.number', 'udp.srcport', 'frame.number'], ['-o', `tls.keylog_file:${keysOf(STEM)}`]);
    const cs = quicConns(r);
    expect(closes.map(([n, port, frame]) => [Number(n), Number(port), Number(frame)])).toEqual([
      [1, cs[1].client.port, cs[1].close.packet],
      [2, cs[2].client.port, cs[2].close.packet],
    ]);
  });
});

describe('quic-missed-reuse on the other QUIC captures', () => {
  it.skipIf(!ok)('ngtcp2-h3-0rtt: the second process resumed with 0-RTT — a missed reuse that cost no round trip (info, 0 ms)', async () => {
    const [f] = await reuse('ngtcp2-h3-0rtt');
    expect([f.rule, f.severity, f.connectionIds, f.costMs]).toEqual(['client-no-pool', 'info', [Q, Q + 1], 0]);
    expect(f.summary).toContain('0 round trips each; 1 with 0-RTT accepted, costing none');
    expect(await reuse('ngtcp2-h3-0rtt', false)).toEqual([]);
  });

  it.skipIf(!ok)('one connection per capture, or TCP beside QUIC: nothing', async () => {
    for (const stem of ['ngtcp2-h3', 'ngtcp2-h3-chacha-keyupdate', 'ngtcp2-h3-retry-rebind', 'ngtcp2-h3-dsb', 'chromium-caddy-h3', 'chromium-caddy-altsvc', 'chromium-quic-fallback', 'chromium-quic-blocked-forced']) {
      for (const keys of [true, false]) expect(await reuse(stem, keys), `${stem} keys ${keys}`).toEqual([]);
    }
  });
});

/** Scenario table on edited copies of the sample's records (the same connections, other endings). */
describe('quic-missed-reuse rules, from edited copies of ngtcp2-h3-missed-reuse.pcap', () => {
  const edit = async (f: (cs: Connection[]) => void) => {
    const r = await loadQuic(STEM);
    const cs = structuredClone(r.connections);
    f(cs);
    return redetect(r, cs).filter((x) => x.kind === 'missed-reuse');
  };
  const rules = (fs: { rule?: string; connectionIds: number[] }[]) => fs.map((f) => [f.rule, f.connectionIds]);

  it.skipIf(!ok)('the first connection still busy when the second opened: h3-second-connection; still open and idle at the third: idle-connection-unused', async () => {
    const r = await loadQuic(STEM);
    const reqs = structuredClone(r.requests);
    const q0 = reqs.find((q) => q.connectionId === Q)!;
    q0.times.responseEndTime = 600; // its exchange now spans the second connection's open (400 ms)
    const cs = structuredClone(r.connections);
    cs[0].lastTime = 600;
    const fs = redetect(r, cs, reqs).filter((x) => x.kind === 'missed-reuse');
    // Its idle timeout (500 ms) now runs from 600 ms: open and idle when the third opens (753 ms).
    expect(rules(fs)).toEqual([
      ['h3-second-connection', [Q, Q + 1]],
      ['idle-connection-unused', [Q, Q + 2]],
    ]);
  });

  it.skipIf(!ok)('without keys, an earlier connection that sent packets after the new one opened is known open: h3-second-connection', async () => {
    const r = await loadQuic(STEM, false);
    const cs = structuredClone(r.connections);
    cs[0].lastTime = 450;
    expect(rules(redetect(r, cs).filter((x) => x.kind === 'missed-reuse'))).toEqual([['h3-second-connection', [Q, Q + 1]]]);
  });

  it.skipIf(!ok)('server CONNECTION_CLOSE right after the response: server-close; after 600 ms idle: server-idle-timeout', async () => {
    const base = await loadQuic(STEM);
    const end1 = Math.max(...base.requests.filter((q) => q.connectionId === Q + 1).map((q) => q.times.responseEndTime!));
    const fs = await edit((cs) => {
      cs[1].close.by = 'server';
    });
    expect(rules(fs)).toContainEqual(['server-close', [Q + 1, Q + 2]]);
    const late = await edit((cs) => {
      cs[1].close = { ...cs[1].close, by: 'server', time: end1 + 600 };
      cs[2].synTime = cs[2].firstTime = end1 + 650;
    });
    expect(rules(late)).toContainEqual(['server-idle-timeout', [Q + 1, Q + 2]]);
  });

  it.skipIf(!ok)('a CONNECTION_CLOSE with an error: reset; beyond reuseWindowMs: nothing', async () => {
    const fs = await edit((cs) => {
      cs[1].close.how = 'rst';
    });
    expect(rules(fs)).toContainEqual(['reset', [Q + 1, Q + 2]]);
    const far = await edit((cs) => {
      cs[2].synTime = cs[2].firstTime = 20_000;
      cs[2].establishedTime = 20_022;
    });
    expect(rules(far)).toEqual([['idle-connection-unused', [Q, Q + 1]]]);
  });
});

describe('quic-missed-reuse in the registry', () => {
  it('is registered under kind missed-reuse and documents its signature, cost, thresholds and where it can be wrong', () => {
    for (const [name, file, kinds] of [
      ['quic-missed-reuse', 'quic-missed-reuse.ts', ['missed-reuse']],
      ['quic-alt-svc', 'quic-alt-svc.ts', ['alt-svc']],
      ['quic-fallback', 'quic-fallback.ts', ['quic-blocked']],
      ['quic-0rtt', 'quic-0rtt.ts', ['quic-0rtt']],
    ] as const) {
      const d = DETECTOR_DEFS.find((x) => x.name === name);
      expect(d?.kinds, name).toEqual(kinds);
      const src = readFileSync(join(ROOT, 'core', 'src', 'detect', file), 'utf8');
      const doc = src.slice(0, src.indexOf('*/'));
      for (const w of ['Signature', 'Cost', 'Where it can be wrong', 'Streaming']) expect(doc, `${file}: ${w}`).toContain(w);
      for (const t of Object.keys(d!.thresholds)) expect(doc, `${file}: ${t}`).toContain(t);
    }
  });
});
