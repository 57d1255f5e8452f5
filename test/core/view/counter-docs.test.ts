/**
 * The capture counters' table (core/src/view/counter-docs.ts): every counter core can emit has a
 * meaning (names read from core/src itself), warnings say what to do, and the CLI table and the
 * UI's banner (ViewModel.warnings) say the same lines on a real capture with counted anomalies.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CONNECTION_ANOMALY_DOCS, COUNTER_DOCS, captureWarnings, warningLine } from '../../../core/src/view/counter-docs.js';
import { CORE } from '../../../core/src/view/core-link.js';
import { toViewModel } from '../../../core/src/view/compact.js';
import { phases } from '../../../core/src/model/phases.js';
import { formatTable } from '../../../core/src/cli/format-table.js';
import { ROOT, sample } from '../../helpers/env.js';

const SRC = join(ROOT, 'core', 'src');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/**
 * Counter names as core/src writes them: `count('name'` (and both arms of a `count(a ? 'x' : 'y')`),
 * QUIC's `noteAnomaly(CODE, 'counter', …)`, HTTP/3's COUNTER map and `?? 'h3Anomalies'`, the key
 * log's counters (engine.ts keyLogCounters) and `connections`.
 */
function countersInSource(): Map<string, string> {
  const names = new Map<string, string>();
  const add = (name: string, file: string) => names.has(name) || names.set(name, relative(ROOT, file));
  for (const file of sources(SRC)) {
    if (file.endsWith('counter-docs.ts')) continue;
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\bcount\(([^()]*(?:\([^()]*\)[^()]*)*)\)/g)) for (const q of m[1]!.matchAll(/'([A-Za-z][A-Za-z0-9]+)'/g)) add(q[1]!, file);
    for (const m of text.matchAll(/noteAnomaly\([^,]+,\s*'([A-Za-z][A-Za-z0-9]+)'/g)) add(m[1]!, file);
    for (const m of text.matchAll(/\[H3_ANOMALY\.\w+\]:\s*'([A-Za-z0-9]+)'/g)) add(m[1]!, file);
    for (const m of text.matchAll(/\b(keyLog[A-Z][A-Za-z]+)\s*[:=]/g)) if (file.endsWith('engine.ts')) add(m[1]!, file);
    if (file.endsWith('engine.ts') && /connections: this\.table\.created/.test(text)) add('connections', file);
  }
  return names;
}

describe('capture counters: one table of meanings', () => {
  const found = countersInSource();

  it('finds the counters core writes (the scan itself works)', () => {
    for (const n of ['tcpOverlapConflicts', 'truncatedFrames', 'badTcpHeader', 'tlsDecryptionAbandoned', 'quicMalformedFrames', 'h3FrameErrors', 'h3Anomalies', 'keyLogGarbageLines', 'detectWatermarkForced', 'connections']) {
      expect(found.has(n), n).toBe(true);
    }
    expect(found.size).toBeGreaterThan(90);
  });

  it('every counter core can emit has a meaning', () => {
    const missing = [...found].filter(([n]) => !(n in COUNTER_DOCS)).map(([n, f]) => `${n} (${f})`);
    expect(missing).toEqual([]);
  });

  it('each entry has a meaning, and each warning says what to do', () => {
    for (const [name, d] of [...Object.entries(COUNTER_DOCS), ...Object.entries(CONNECTION_ANOMALY_DOCS)]) {
      expect(d.meaning.length, name).toBeGreaterThan(15);
      if (d.level === 'warning') expect(d.action?.length ?? 0, name).toBeGreaterThan(10);
    }
  });

  it('warnings are the documented warning counters above zero, plus undocumented ones, in table order', () => {
    const w = captureWarnings({ connections: 4, udpPackets: 9, truncatedFrames: 2, tcpOverlapConflicts: 1, someFutureCounter: 3, badIpHeader: 0 });
    expect(w.map((x) => [x.name, x.count])).toEqual([
      ['truncatedFrames', 2],
      ['tcpOverlapConflicts', 1],
      ['someFutureCounter', 3],
    ]);
    expect(warningLine(w[0]!)).toBe(`truncatedFrames × 2: ${COUNTER_DOCS.truncatedFrames!.meaning} — ${COUNTER_DOCS.truncatedFrames!.action}`);
    expect(captureWarnings({ connections: 3, udpPackets: 1 })).toEqual([]);
  });

  it('connection anomalies of documented codes are listed with their connections, once when also counted', () => {
    const conns = [
      { id: 0, anomalies: [{ code: 'data-after-fin' }, { code: 'data-after-fin' }] },
      { id: 3, anomalies: [{ code: 'data-after-fin' }, { code: 'H2_RST_STREAM' }, { code: 'tcp-overlap-conflict' }] },
    ];
    const w = captureWarnings({ tcpOverlapConflicts: 1 }, conns);
    expect(w.map((x) => [x.name, x.source, x.count, x.connectionIds])).toEqual([
      ['tcpOverlapConflicts', 'counter', 1, undefined],
      ['data-after-fin', 'connection-anomaly', 3, [0, 3]],
    ]);
  });

  it('a key log of another run: the CLI table and the view model give the same lines', async () => {
    const report = await CORE.analyzeFile(sample('tls/nginx-h2-tls13.pcap'), { keylog: { files: [sample('tls/nginx-h2-tls13.wrong.keys')] } });
    const w = captureWarnings(report.capture.counters, report.connections);
    expect(w.length).toBeGreaterThan(0);
    expect(w.map((x) => x.name)).toContain('tlsDecryptionAbandoned');
    const table = formatTable(report);
    for (const x of w) expect(table).toContain(`  ! ${warningLine(x)}`);
    expect(toViewModel(report, 'd1', phases).warnings).toEqual(w);
  });

  it('a clean capture has none, in the table or the view model', async () => {
    const report = await CORE.analyzeFile(sample('keepalive-pool.pcap'), {});
    expect(captureWarnings(report.capture.counters, report.connections)).toEqual([]);
    expect(toViewModel(report, 'd1', phases).warnings).toEqual([]);
    expect(formatTable(report)).not.toMatch(/^ {2}! /m);
  });
});
