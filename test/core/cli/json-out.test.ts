/**
 * The CLI writes reports and HAR files in pieces (core/src/cli/json-out.ts); the bytes must be
 * exactly JSON.stringify(value, roundTimes, 2) (indented, `--pretty` and HAR) or
 * JSON.stringify(value, roundTimes) (compact, the `--format json` default) plus a newline, for real
 * reports and for the corner cases of JSON.stringify (members without a JSON form, empty
 * containers, toJSON, escaped newlines); and every time carries at most microseconds.
 */
import { describe, expect, it } from 'vitest';
import { jsonLine, requestJson, requestLine, roundTimes, writeJson, writePrettyJson } from '../../../core/src/cli/json-out.js';
import { micros } from '../../../core/src/model/micros.js';
import { jsonSafe } from '../../../core/src/cli/escape.js';
import { KeyLog } from '../../../core/src/tls/keylog.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeFile } from '../../../core/src/engine.js';
import { detectAll } from '../../../core/src/detect/index.js';
import { toHar } from '../../../core/src/model/har.js';
import { listCaptures, sample, SAMPLES } from '../../helpers/env.js';

const pieces = (v: unknown, chars?: number): string[] => {
  const out: string[] = [];
  writePrettyJson(v, (s) => out.push(s), chars);
  return out;
};
const compact = (v: unknown, chars?: number): string[] => {
  const out: string[] = [];
  writeJson(v, (s) => out.push(s), { pieceChars: chars });
  return out;
};

describe('pretty JSON in pieces', () => {
  for (const f of ['keepalive-pool.pcap', 'h2-push.pcap', 'pipelining.pcap']) {
    it(`${f}: report and HAR are written exactly as JSON.stringify(…, roundTimes, 2 | none)`, async () => {
      const report = await analyzeFile(sample(f), { findings: (r) => detectAll(r) });
      expect(report.requests.length).toBeGreaterThan(0);
      for (const v of [report, toHar(report), { reports: [report, report], failures: [] }]) {
        const want = JSON.stringify(v, roundTimes, 2) + '\n';
        const small = pieces(v, 200);
        expect(small.length).toBeGreaterThan(3);
        expect(small.join('')).toBe(want);
        expect(pieces(v).join('')).toBe(want);
        const wantCompact = JSON.stringify(v, roundTimes) + '\n';
        expect(compact(v, 200).join('')).toBe(wantCompact);
        expect(compact(v).join('')).toBe(wantCompact);
        // No float noise: every number has at most 3 decimals, and the values are the model's.
        for (const m of wantCompact.matchAll(/[:,\[](-?\d+\.(\d+))(?=[,\]}])/g)) expect(m[2].length).toBeLessThanOrEqual(3);
        expect(JSON.parse(wantCompact)).toEqual(JSON.parse(JSON.stringify(v, roundTimes)));
      }
    });
  }

  it('the corner cases of JSON.stringify', () => {
    const values: unknown[] = [
      {},
      [],
      null,
      'a\nb',
      42,
      { a: undefined, b: () => 1, c: Symbol('x'), d: [undefined, () => 1, null], e: {}, f: [] },
      { nested: { deeper: { deepest: [{ x: 'line\nbreak', y: [[], {}, [1, [2, [3]]]] }] } } },
      [{ toJSON: () => ({ replaced: true }) }, new Date(0), { at: new Date(0) }],
      { 'quo"te': 1, '\n': [{ '': '' }] },
    ];
    for (const v of values) {
      for (const chars of [1, 7, undefined]) {
        expect(pieces(v, chars).join('')).toBe(JSON.stringify(v, null, 2) + '\n');
        expect(compact(v, chars).join('')).toBe(JSON.stringify(v) + '\n');
      }
    }
  });

  it('times are rounded to microseconds, integers and non-numbers untouched', () => {
    const v = { lastTime: 172.78700000000003, d: -0.0004, n: 3, big: 1e21, s: '1.23456', a: [0.1 + 0.2, 2] };
    expect(JSON.parse(compact(v).join(''))).toEqual({ lastTime: 172.787, d: 0, n: 3, big: 1e21, s: '1.23456', a: [0.3, 2] });
  });

  it('no piece is much longer than asked for, below the streamed levels', async () => {
    const report = await analyzeFile(sample('keepalive-pool.pcap'));
    const longestRecord = Math.max(...[...report.connections, ...report.requests].map((x) => JSON.stringify(x, null, 2).length));
    for (const p of pieces(report, 4096)) expect(p.length).toBeLessThan(4096 + 2 * longestRecord);
  });
});

describe('request records without the replacer (requestJson, requestLine)', () => {
  // Every capture in samples/ (TLS and QUIC with their key logs): HTTP/1, HTTP/2, HTTP/3, pushes,
  // interim responses, anomalies, delivered times — the fast path and the replacer must agree.
  const files = ['', 'tls', 'quic', 'whatif'].flatMap((d) => listCaptures(join(SAMPLES, d)));
  it(`${files.length} sample captures: each request line is byte for byte jsonLine({ type, file, ...request }) and the compact report is JSON.stringify(report, roundTimes); most requests take the fast path`, async () => {
    let requests = 0;
    let fast = 0;
    for (const f of files) {
      const keys = f.replace(/\.pcap(ng)?(\.gz)?$/, '.keys');
      const keyLog = new KeyLog();
      if (existsSync(keys)) keyLog.addText(readFileSync(keys, 'utf8'));
      const report = await analyzeFile(f, { keyLog });
      // The compact report writer takes the same path for its requests array: the same bytes.
      expect(compact(report).join('')).toBe(`${jsonSafe(JSON.stringify(report, roundTimes))}\n`);
      for (const r of report.requests) {
        expect(requestLine('request', f, r)).toBe(jsonLine({ type: 'request', file: f, ...r }));
        requests++;
        if (requestJson(r) === JSON.stringify(r)) fast++;
      }
    }
    expect(requests).toBeGreaterThan(500);
    // The engine rounds times and timings itself: most records have nothing left to round.
    expect(fast / requests).toBeGreaterThan(0.5);
  });

  it('a request record carries times and timings in microseconds already (model/micros.ts)', async () => {
    const report = await analyzeFile(sample('tcp-loss-http1.pcap'));
    for (const r of report.requests) {
      for (const v of [...Object.values(r.times), ...Object.values(r.timings)]) if (typeof v === 'number') expect(micros(v)).toBe(v);
    }
  });
});
