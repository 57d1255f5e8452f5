/**
 * Differential test of HTTP/2 against tshark on the HTTP/2 samples: per connection the number of
 * request streams, and per stream every decoded header name and value (HEADERS and PUSH_PROMISE,
 * in wire order) must agree with tshark's http2.header.name / http2.header.value.
 * tshark's field lists flatten all frames of a packet, so its PDML tree is read instead.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { basename } from 'node:path';
import { analyzeFile } from '../../../core/src/engine.js';
import { hasTshark, listCaptures, SAMPLES } from '../../helpers/env.js';

const unxml = (s: string) =>
  s.replace(/&(quot|amp|lt|gt|apos|#x?[0-9a-fA-F]+);/g, (_m, e: string) =>
    e === 'quot' ? '"' : e === 'amp' ? '&' : e === 'lt' ? '<' : e === 'gt' ? '>' : e === 'apos' ? "'" : String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10)),
  );

/** tcp.stream → h2 stream id → header lines in capture order. */
function tsharkHeaders(file: string, ports: number[], upgrade: boolean): Map<number, Map<number, string[]>> {
  const args = ['-r', file, '-n', '-o', 'tcp.reassemble_out_of_order:TRUE', '-T', 'pdml', '-Y', 'http2.type == 1 || http2.type == 5'];
  // Prior knowledge: tell tshark the port is HTTP/2. An h2c upgrade starts as HTTP/1.1, and
  // tshark's HTTP dissector follows the 101 into HTTP/2 by itself.
  for (const p of ports) args.push('-d', `tcp.port==${p},${upgrade ? 'http' : 'http2'}`);
  const xml = execFileSync('tshark', args, { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] });
  const out = new Map<number, Map<number, string[]>>();
  let conn = -1;
  let type = -1;
  let sid = -1;
  let name: string | null = null;
  const re = /<field name="(tcp\.stream|http2\.type|http2\.streamid|http2\.push_promise\.promised_stream_id|http2\.header\.name|http2\.header\.value)"[^>]*?show="([^"]*)"/g;
  for (let m = re.exec(xml); m; m = re.exec(xml)) {
    const [, f, v] = m;
    if (f === 'tcp.stream') conn = Number(v);
    else if (f === 'http2.type') type = Number(v);
    else if (f === 'http2.streamid') sid = Number(v);
    else if (f === 'http2.push_promise.promised_stream_id') sid = Number(v); // promised request headers
    else if (type === 1 || type === 5) {
      if (f === 'http2.header.name') name = unxml(v);
      else if (name !== null) {
        const byStream = out.get(conn) ?? new Map<number, string[]>();
        out.set(conn, byStream);
        const l = byStream.get(sid) ?? [];
        l.push(`${name}: ${unxml(v)}`);
        byStream.set(sid, l);
        name = null;
      }
    }
  }
  return out;
}

const files = listCaptures(SAMPLES).filter((f) => /h2/.test(basename(f)));

describe.skipIf(!hasTshark())('HTTP/2 streams and HPACK-decoded headers agree with tshark', () => {
  it('has HTTP/2 samples', () => expect(files.length).toBeGreaterThanOrEqual(6));
  for (const file of files) {
    it(basename(file), async () => {
      const report = await analyzeFile(file);
      const h2 = report.connections.filter((c) => c.protocol === 'h2c' || c.protocol === 'h2');
      expect(h2.length).toBeGreaterThan(0);
      const upgrade = report.requests.some((r) => r.upgrade === 'h2c');
      const theirs = tsharkHeaders(file, [...new Set(h2.map((c) => c.server.port))], upgrade);
      const mismatches: string[] = [];
      for (const c of h2) {
        const mine = report.requests.filter((r) => r.connectionId === c.id && r.streamId !== undefined);
        const t = theirs.get(c.id) ?? new Map<number, string[]>();
        // Request streams: tshark streams whose first header block carries :method.
        // (Stream 1 of an h2c upgrade carries its request in HTTP/1.1: only its response is HPACK.)
        const tReq = [...t]
          .filter(([id, l]) => l.some((h) => h.startsWith(':method: ')) || (upgrade && id === 1))
          .map(([id]) => id)
          .sort((a, b) => a - b);
        const mReq = mine.map((r) => r.streamId!).sort((a, b) => a - b);
        if (JSON.stringify(mReq) !== JSON.stringify(tReq)) mismatches.push(`conn ${c.id} request streams: wirefall ${JSON.stringify(mReq)}, tshark ${JSON.stringify(tReq)}`);
        for (const r of mine) {
          const hpackReq = r.upgrade === 'h2c' && r.streamId === 1 ? [] : r.requestHeaders;
          const got = [...hpackReq, ...r.responseHeaders, ...(r.trailers ?? [])].map((h) => `${h.name}: ${h.value}`);
          const want = t.get(r.streamId!) ?? [];
          if (JSON.stringify(got) !== JSON.stringify(want)) {
            mismatches.push(`conn ${c.id} stream ${r.streamId}: wirefall ${JSON.stringify(got)}, tshark ${JSON.stringify(want)}`);
          }
        }
      }
      expect(mismatches).toEqual([]);
    });
  }
});
