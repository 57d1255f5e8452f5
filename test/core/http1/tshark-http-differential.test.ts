/**
 * Differential test of HTTP/1.x against tshark's HTTP dissector: per connection the number of
 * requests, and per request the method, URI and final status, on every sample and Zeek capture.
 * tshark only dissects HTTP on ports it knows, so it is told (`-d tcp.port==P,http`) about each
 * server port wirefall found HTTP on. Reasoned exceptions live in tshark-http-exceptions.json.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { analyzeFile } from '../../../core/src/engine.js';
import { hasCorpus, hasTshark, listCaptures, SAMPLES, ZEEK } from '../../helpers/env.js';
import { occ, tsharkFields } from '../../helpers/tshark.js';

const exceptions: { file: string; stream?: number; reason: string }[] = JSON.parse(
  readFileSync(new URL('./tshark-http-exceptions.json', import.meta.url), 'utf8'),
);

const files = [...listCaptures(SAMPLES), ...(hasCorpus() ? listCaptures(ZEEK) : [])];

describe.skipIf(!hasTshark())('HTTP/1.x exchanges agree with tshark', () => {
  for (const file of files) {
    it(basename(file), async () => {
      const report = await analyzeFile(file);
      const http = report.connections.filter((c) => c.protocol.startsWith('http/') || c.protocol === 'websocket' || c.protocol === 'tunnel');
      if (http.length === 0) return;
      const ports = [...new Set(http.map((c) => c.server.port))];
      const decodeAs = ports.flatMap((p) => ['-d', `tcp.port==${p},http`]);
      const reqs = tsharkFields(file, 'http.request', ['tcp.stream', 'http.request.method', 'http.request.uri'], decodeAs);
      const resps = tsharkFields(file, 'http.response', ['tcp.stream', 'http.response.code'], decodeAs);
      const mismatches: string[] = [];
      for (const c of http) {
        if (exceptions.some((e) => e.file === basename(file) && (e.stream === undefined || e.stream === c.id))) continue;
        const mine = report.requests.filter((r) => r.connectionId === c.id).sort((a, b) => a.index - b.index);
        const theirs = reqs.filter((r) => Number(r[0]) === c.id);
        const want = theirs.flatMap((r) => occ(r[1]).map((m, i) => `${m} ${occ(r[2])[i]}`));
        const got = mine.map((r) => `${r.method} ${r.target}`);
        if (JSON.stringify(got) !== JSON.stringify(want)) mismatches.push(`stream ${c.id} requests: wirefall ${JSON.stringify(got)}, tshark ${JSON.stringify(want)}`);
        // Final statuses in order (tshark lists interim 1xx responses as responses of their own; 101 is final).
        const codes = resps.filter((r) => Number(r[0]) === c.id).flatMap((r) => occ(r[1]).map(Number)).filter((s) => s >= 200 || s === 101);
        const myCodes = mine.map((r) => r.status).filter((s): s is number => s !== null);
        if (JSON.stringify(myCodes) !== JSON.stringify(codes)) mismatches.push(`stream ${c.id} statuses: wirefall ${JSON.stringify(myCodes)}, tshark ${JSON.stringify(codes)}`);
        if (c.requestCount !== mine.length) mismatches.push(`stream ${c.id}: requestCount ${c.requestCount} but ${mine.length} requests`);
      }
      expect(mismatches).toEqual([]);
    });
  }
});
