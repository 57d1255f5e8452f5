/**
 * test/bench/quic-synth.mjs, the QUIC benchmark's synthesiser: copies of samples/bench-seed-quic.pcap
 * with their own client addresses and connection IDs, every packet re-sealed, must stay separate
 * connections that the seed's one key log decrypts — for wirefall (no connection-ID collisions,
 * every request found) and for tshark (its QUIC connection numbers and request streams).
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeFile } from '../../../core/src/engine.js';
import { readKeyLogFile } from '../../../core/src/tls/keylog.js';
import { hasTshark, requireResource, sample } from '../../helpers/env.js';
import { planQuic, synthesizeQuic } from '../../bench/quic-synth.mjs';

const SEED = sample('bench-seed-quic.pcap');
const KEYS = sample('bench-seed-quic.keys');
const ok = requireResource('samples/bench-seed-quic.pcap', existsSync(SEED) && existsSync(KEYS), 'sudo samples/tools/quic-bench-seed.sh');

describe('quic-synth: three copies of the QUIC bench seed', () => {
  const out = join(mkdtempSync(join(tmpdir(), 'wirefall-quic-synth-')), 'quic3.pcap');
  const target = ok ? 2 * statSync(SEED).size + 1 : 0;
  let made: Promise<void> | null = null;
  const make = () => (made ??= synthesizeQuic(SEED, KEYS, out, target).then(() => undefined));

  it.skipIf(!ok)('writes exactly what planQuic says', async () => {
    await make();
    const p = planQuic(SEED, target);
    expect(p.copies).toBe(3);
    expect(statSync(out).size).toBe(p.bytes);
  });

  it.skipIf(!ok)('wirefall: 3 × the seed connections, each decrypted with all its requests, no CID collision', async () => {
    await make();
    const keyLog = (await readKeyLogFile(KEYS)).keylog;
    const seed = await analyzeFile(SEED, { keyLog });
    const r = await analyzeFile(out, { keyLog });
    const q = r.connections.filter((c) => c.transport === 'quic');
    const seedQ = seed.connections.filter((c) => c.transport === 'quic');
    expect(q.length).toBe(3 * seedQ.length);
    expect(q.every((c) => c.tls?.decrypted)).toBe(true);
    expect(r.requests.length).toBe(3 * seed.requests.length);
    expect(r.requests.every((x) => x.status === 200)).toBe(true);
    expect(Object.keys(r.capture.counters).filter((k) => /^quic(Cid|Initial|Unmatched|Malformed|Undecryptable)/.test(k))).toEqual([]);
    // Each copy has its own connection IDs (and client address).
    const cids = q.map((c) => c.quic!.originalDcid);
    expect(new Set(cids).size).toBe(q.length);
    expect(new Set(q.map((c) => `${c.client.ip}:${c.client.port}`)).size).toBe(q.length);
  });

  it.skipIf(!ok || !hasTshark())('tshark: the same connections and request streams, decrypted with the seed key log', async () => {
    await make();
    const lines = execFileSync('tshark', ['-n', '-r', out, '-o', `tls.keylog_file:${KEYS}`, '-Y', 'udp.dstport == 4433 && http3.frame_type == 1', '-T', 'fields', '-e', 'quic.connection.number', '-e', 'quic.stream.stream_id', '-E', 'occurrence=a', '-E', 'aggregator=,'], {
      encoding: 'utf8',
      maxBuffer: 1 << 28,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
      .split('\n')
      .filter(Boolean);
    const conns = new Set(lines.map((l) => l.split('\t')[0]));
    const streams = new Set(lines.flatMap((l) => (l.split('\t')[1] ?? '').split(',').filter((s) => s !== '' && Number(s) % 4 === 0).map((s) => `${l.split('\t')[0]} ${s}`)));
    expect(conns.size).toBe(6);
    expect(streams.size).toBe(144);
  });
});
