#!/usr/bin/env node
/**
 * `npm run bench`: wirefall's throughput and peak memory next to tshark on the same files, in one
 * run, reported as ratios (never as timed unit tests).
 *
 *  1. HTTP/1.1 keep-alive: a ≥ 500 MB capture synthesised from samples/bench-seed-http1.pcap (real
 *     nginx + curl traffic over a veth pair, MTU 1500), replayed with distinct client addresses.
 *     wirefall `analyze --format json` vs `tshark -q -z conv,tcp` and vs
 *     `tshark -Y http.request -T fields -e tcp.stream`; `--format ndjson` peak RSS on the full and
 *     the half-size file (memory must not grow with capture size).
 *  2. HTTP/2: a ≥ 200 MB capture from samples/h2-clean.pcap vs tshark decoding its HTTP/2 headers.
 *  3. The classic-pcap reader alone: pcap-parser vs wirefall's built-in parser (judging pcap-parser).
 *
 * Options: --quick (smaller files, for a smoke run), --keep (keep generated captures in .bench/).
 * Needs tshark and /usr/bin/time (Debian packages tshark, time).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { synthesize } from './synth.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OUT = join(ROOT, '.bench');
const quick = process.argv.includes('--quick');
const keep = process.argv.includes('--keep');
const MB = 1e6;
mkdirSync(OUT, { recursive: true });

for (const tool of ['tshark', '/usr/bin/time']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    console.error(`bench: ${tool} is needed (apt-get install ${tool === 'tshark' ? 'tshark' : 'time'})`);
    process.exit(2);
  }
}

async function capture(name, seed, target) {
  const path = join(OUT, name);
  if (!existsSync(path) || statSync(path).size < target) {
    process.stderr.write(`bench: synthesising ${name} (${(target / MB).toFixed(0)} MB) from ${seed} … `);
    const r = await synthesize(join(ROOT, 'samples', seed), path, target);
    process.stderr.write(`${r.packets} packets, ${r.copies} copies\n`);
  }
  return path;
}

/** Runs a command under /usr/bin/time; returns wall seconds and peak RSS in MB. */
function measure(label, cmd, args) {
  process.stderr.write(`bench: ${label} … `);
  const r = spawnSync('/usr/bin/time', ['-f', 'WFTIME %e %M', cmd, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 30,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const m = /WFTIME ([\d.]+) (\d+)/.exec(r.stderr ?? '');
  if (r.status !== 0 || !m) throw new Error(`${label} failed (${r.status}): ${(r.stderr ?? '').slice(-2000)}`);
  const res = { label, seconds: Number(m[1]), rssMB: Number(m[2]) / 1024 };
  process.stderr.write(`${res.seconds.toFixed(2)} s, ${res.rssMB.toFixed(0)} MB\n`);
  return res;
}

const node = process.execPath;
const wf = join(ROOT, 'core', 'bin', 'wirefall.js');
const readerOnly = (parser, file) => [
  '--input-type=module',
  '-e',
  `import { readCapture } from ${JSON.stringify(join(ROOT, 'core/dist/capture/reader.js'))};` +
    `let n=0; await readCapture(${JSON.stringify(file)}, {onInterface(){}, onPacket(){n++}, count(){}}, {classicParser:'${parser}'});`,
];
const pipeline = (parser, file) => [
  '--input-type=module',
  '-e',
  `import { analyzeStream } from ${JSON.stringify(join(ROOT, 'core/dist/engine.js'))};` +
    `await analyzeStream(${JSON.stringify(file)}, {}, {classicParser:'${parser}'});`,
];

const h1Size = quick ? 60 * MB : 520 * MB;
const h2Size = quick ? 30 * MB : 210 * MB;
const h1 = await capture(quick ? 'http1-quick.pcap' : 'http1.pcap', 'bench-seed-http1.pcap', h1Size);
const h1half = await capture(quick ? 'http1-quick-half.pcap' : 'http1-half.pcap', 'bench-seed-http1.pcap', h1Size / 2);
const h2 = await capture(quick ? 'h2-quick.pcap' : 'h2.pcap', 'h2-clean.pcap', h2Size);
const size = (f) => statSync(f).size;
const packets = (f) => Number(/(\d+)/.exec(execFileSync('capinfos', ['-c', '-M', f], { encoding: 'utf8' }).split('\n')[1])?.[1] ?? 0);

const r = {};
r.wfJson = measure('wirefall analyze --format json (HTTP/1.1)', node, [wf, 'analyze', '--no-progress', '-f', 'json', '-o', '/dev/null', h1]);
r.wfNdjson = measure('wirefall analyze --format ndjson (HTTP/1.1)', node, [wf, 'analyze', '--no-progress', '-f', 'ndjson', '-o', '/dev/null', h1]);
r.wfNdjsonHalf = measure('wirefall analyze --format ndjson (half size)', node, [wf, 'analyze', '--no-progress', '-f', 'ndjson', '-o', '/dev/null', h1half]);
r.tsConv = measure('tshark -q -z conv,tcp', 'tshark', ['-n', '-q', '-z', 'conv,tcp', '-r', h1]);
r.tsHttp = measure('tshark -Y http.request -T fields -e tcp.stream', 'tshark', ['-n', '-r', h1, '-Y', 'http.request', '-T', 'fields', '-e', 'tcp.stream']);
r.readPcapParser = measure('reader only: pcap-parser', node, readerOnly('pcap-parser', h1));
r.readBuiltin = measure('reader only: built-in classic parser', node, readerOnly('builtin', h1));
r.pipeBuiltin = measure('pipeline with built-in classic parser', node, pipeline('builtin', h1));
r.wfH2 = measure('wirefall analyze --format json (HTTP/2)', node, [wf, 'analyze', '--no-progress', '-f', 'json', '-o', '/dev/null', h2]);
r.tsH2 = measure('tshark HTTP/2 headers', 'tshark', ['-n', '-r', h2, '-Y', 'http2.type == 1', '-T', 'fields', '-e', 'http2.header.name', '-e', 'http2.header.value', '-d', 'tcp.port==8082,http2']);

const h1MB = size(h1) / MB;
const h1Pk = packets(h1);
const h2MB = size(h2) / MB;
const rate = (x, mb) => `${(mb / x.seconds).toFixed(0)} MB/s`;
const lines = [
  `wirefall benchmark — ${new Date().toISOString()} — ${cpus()[0]?.model ?? '?'} × ${cpus().length}, node ${process.version}`,
  `HTTP/1.1 keep-alive capture: ${h1MB.toFixed(0)} MB, ${h1Pk} packets (half: ${(size(h1half) / MB).toFixed(0)} MB); HTTP/2: ${h2MB.toFixed(0)} MB`,
  '',
  `| run | time | throughput | packets/s | peak RSS |`,
  `|---|---|---|---|---|`,
  ...[r.wfJson, r.wfNdjson, r.tsConv, r.tsHttp, r.readPcapParser, r.readBuiltin, r.pipeBuiltin].map(
    (x) => `| ${x.label} | ${x.seconds.toFixed(2)} s | ${rate(x, h1MB)} | ${(h1Pk / x.seconds / 1e3).toFixed(0)} k | ${x.rssMB.toFixed(0)} MB |`,
  ),
  `| ${r.wfNdjsonHalf.label} | ${r.wfNdjsonHalf.seconds.toFixed(2)} s | ${rate(r.wfNdjsonHalf, size(h1half) / MB)} | | ${r.wfNdjsonHalf.rssMB.toFixed(0)} MB |`,
  ...[r.wfH2, r.tsH2].map((x) => `| ${x.label} | ${x.seconds.toFixed(2)} s | ${rate(x, h2MB)} | | ${x.rssMB.toFixed(0)} MB |`),
  '',
  `Ratios (same run, same files):`,
  `- wirefall json vs tshark conv,tcp: ${(r.tsConv.seconds / r.wfJson.seconds).toFixed(1)}x faster (target ≥ 10x)`,
  `- wirefall json vs tshark http.request fields: ${(r.tsHttp.seconds / r.wfJson.seconds).toFixed(1)}x faster (target ≥ 20x); ${rate(r.wfJson, h1MB)} on one core (target ≥ 250 MB/s)`,
  `- wirefall HTTP/2 vs tshark HTTP/2 headers: ${(r.tsH2.seconds / r.wfH2.seconds).toFixed(1)}x faster (target ≥ 20x)`,
  `- ndjson peak RSS, full vs half-size capture: ${r.wfNdjson.rssMB.toFixed(0)} MB vs ${r.wfNdjsonHalf.rssMB.toFixed(0)} MB (ratio ${(r.wfNdjson.rssMB / r.wfNdjsonHalf.rssMB).toFixed(2)}; independent of size ≈ 1)`,
  `- classic pcap reader: pcap-parser ${rate(r.readPcapParser, h1MB)} vs built-in ${rate(r.readBuiltin, h1MB)}; ` +
    `reading is ${((100 * r.readPcapParser.seconds) / r.wfJson.seconds).toFixed(0)}% of the json pipeline's time; pipeline with built-in parser ${(r.wfJson.seconds / r.pipeBuiltin.seconds).toFixed(2)}x the speed`,
];
const text = lines.join('\n');
console.log(text);
writeFileSync(join(OUT, 'results.md'), text + '\n');
writeFileSync(join(OUT, 'results.json'), JSON.stringify({ files: { h1: size(h1), h1half: size(h1half), h2: size(h2), h1Packets: h1Pk }, runs: r }, null, 2));
if (!keep && !quick) for (const f of [h1, h1half, h2]) rmSync(f, { force: true });
