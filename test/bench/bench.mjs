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
 *  4. Where the time goes: reader alone, engine alone (no detectors, no output) on both captures, and
 *     the fixed startup (node alone, and `wirefall --version`), so the ratios can be read against
 *     what every run pays.
 *
 * Options: --quick (smaller files, one round, for a smoke run), --rounds=N (rounds of the tshark
 * comparisons, default 3), --keep (keep generated captures in .bench/).
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
const roundsArg = process.argv.find((a) => a.startsWith('--rounds='));
/** Rounds of the tshark comparisons (--rounds=N; default 3, 1 with --quick). */
const roundsN = roundsArg ? Math.max(1, Number(roundsArg.slice('--rounds='.length)) | 0) : quick ? 1 : 3;
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

/** Internal comparisons (reader only, engine only): median of 3 runs (peak RSS of the same run). */
function median3(label, cmd, args) {
  const runs = [0, 1, 2].map(() => measure(label, cmd, args));
  return medianRun(runs, false);
}

/** The median run; `runs` keeps every run's seconds, in round order when `inRounds`. */
function medianRun(runs, inRounds) {
  const sorted = [...runs].sort((a, b) => a.seconds - b.seconds);
  return { ...sorted[(sorted.length - 1) >> 1], runs: runs.map((x) => x.seconds), inRounds };
}

/**
 * The comparisons with tshark run in rounds: each round runs every wirefall and tshark command once,
 * in the same order, so the machine's drift (20-30% within minutes on the 2-core machine) falls on
 * both sides alike. Each figure is the median of its runs; each ratio is the ratio of the medians,
 * with the per-round ratios beside it.
 */
function rounds(n, jobs) {
  const runs = Object.fromEntries(Object.keys(jobs).map((k) => [k, []]));
  for (let i = 0; i < n; i++) {
    process.stderr.write(`bench: round ${i + 1} of ${n}\n`);
    for (const [k, [label, cmd, args]] of Object.entries(jobs)) runs[k].push(measure(label, cmd, args));
  }
  return Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, medianRun(v, true)]));
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

const wfRun = (format, file, reader = 'pcap-parser') => [wf, 'analyze', '--no-progress', '--pcap-reader', reader, '-f', format, '-o', '/dev/null', file];
const r = rounds(roundsN, {
  wfJson: ['wirefall analyze --format json (HTTP/1.1)', node, wfRun('json', h1)],
  wfJsonBuiltin: ['wirefall analyze --format json --pcap-reader builtin (HTTP/1.1)', node, wfRun('json', h1, 'builtin')],
  tsConv: ['tshark -q -z conv,tcp', 'tshark', ['-n', '-q', '-z', 'conv,tcp', '-r', h1]],
  tsHttp: ['tshark -Y http.request -T fields -e tcp.stream', 'tshark', ['-n', '-r', h1, '-Y', 'http.request', '-T', 'fields', '-e', 'tcp.stream']],
  wfH2: ['wirefall analyze --format json (HTTP/2)', node, wfRun('json', h2)],
  wfH2Builtin: ['wirefall analyze --format json --pcap-reader builtin (HTTP/2)', node, wfRun('json', h2, 'builtin')],
  tsH2: ['tshark HTTP/2 headers', 'tshark', ['-n', '-r', h2, '-Y', 'http2.type == 1', '-T', 'fields', '-e', 'http2.header.name', '-e', 'http2.header.value', '-d', 'tcp.port==8082,http2']],
  wfNdjson: ['wirefall analyze --format ndjson (HTTP/1.1)', node, wfRun('ndjson', h1)],
  wfNdjsonHalf: ['wirefall analyze --format ndjson (half size)', node, wfRun('ndjson', h1half)],
});
r.readPcapParser = median3('reader only: pcap-parser', node, readerOnly('pcap-parser', h1));
r.readBuiltin = median3('reader only: built-in classic parser', node, readerOnly('builtin', h1));
r.pipePcapParser = median3('engine only (no detectors, no output): pcap-parser', node, pipeline('pcap-parser', h1));
r.pipeBuiltin = median3('engine only (no detectors, no output): built-in', node, pipeline('builtin', h1));
r.pipeH2Builtin = median3('engine only (no detectors, no output), HTTP/2: built-in', node, pipeline('builtin', h2));
// Fixed costs every run pays, whatever the capture: Node itself, then wirefall's modules.
r.nodeStart = median3('node startup alone (node -e 0)', node, ['-e', '0']);
r.wfStart = median3('wirefall --version (node, then loading wirefall)', node, [wf, '--version']);

const h1MB = size(h1) / MB;
const h1Pk = packets(h1);
const h2MB = size(h2) / MB;
const rate = (x, mb) => `${(mb / x.seconds).toFixed(0)} MB/s`;
/** How many times faster `fast` ran than `slow` (medians), and per round when both ran in rounds. */
const faster = (slow, fast) => {
  const per = slow.inRounds && fast.inRounds && slow.runs.length > 1 ? ` (rounds: ${slow.runs.map((t, i) => (t / fast.runs[i]).toFixed(1)).join(', ')})` : '';
  return `${(slow.seconds / fast.seconds).toFixed(1)}x${per}`;
};
const lines = [
  `wirefall benchmark — ${new Date().toISOString()} — ${cpus()[0]?.model ?? '?'} × ${cpus().length}, node ${process.version}`,
  `HTTP/1.1 keep-alive capture: ${h1MB.toFixed(0)} MB, ${h1Pk} packets (half: ${(size(h1half) / MB).toFixed(0)} MB); HTTP/2: ${h2MB.toFixed(0)} MB`,
  '',
  `| run | time | throughput | packets/s | peak RSS |`,
  `|---|---|---|---|---|`,
  ...[r.wfJson, r.wfJsonBuiltin, r.wfNdjson, r.tsConv, r.tsHttp, r.readPcapParser, r.readBuiltin, r.pipePcapParser, r.pipeBuiltin].map(
    (x) => `| ${x.label} | ${x.seconds.toFixed(2)} s | ${rate(x, h1MB)} | ${(h1Pk / x.seconds / 1e3).toFixed(0)} k | ${x.rssMB.toFixed(0)} MB |`,
  ),
  `| ${r.wfNdjsonHalf.label} | ${r.wfNdjsonHalf.seconds.toFixed(2)} s | ${rate(r.wfNdjsonHalf, size(h1half) / MB)} | | ${r.wfNdjsonHalf.rssMB.toFixed(0)} MB |`,
  ...[r.wfH2, r.wfH2Builtin, r.tsH2, r.pipeH2Builtin].map((x) => `| ${x.label} | ${x.seconds.toFixed(2)} s | ${rate(x, h2MB)} | | ${x.rssMB.toFixed(0)} MB |`),
  ...[r.nodeStart, r.wfStart].map((x) => `| ${x.label} | ${x.seconds.toFixed(2)} s | | | ${x.rssMB.toFixed(0)} MB |`),
  '',
  `Ratios (same run, same files; ${roundsN} round(s) of every wirefall and tshark command, medians), default reader (pcap-parser) / --pcap-reader builtin:`,
  `- wirefall json vs tshark conv,tcp: ${faster(r.tsConv, r.wfJson)} / ${faster(r.tsConv, r.wfJsonBuiltin)} faster (target ≥ 10x)`,
  `- wirefall json vs tshark http.request fields: ${faster(r.tsHttp, r.wfJson)} / ${faster(r.tsHttp, r.wfJsonBuiltin)} faster (target ≥ 20x); ` +
    `${rate(r.wfJson, h1MB)} / ${rate(r.wfJsonBuiltin, h1MB)} on one core (target ≥ 250 MB/s)`,
  `- wirefall HTTP/2 vs tshark HTTP/2 headers: ${faster(r.tsH2, r.wfH2)} / ${faster(r.tsH2, r.wfH2Builtin)} faster (target ≥ 20x)`,
  `- ndjson peak RSS, full vs half-size capture: ${r.wfNdjson.rssMB.toFixed(0)} MB vs ${r.wfNdjsonHalf.rssMB.toFixed(0)} MB (ratio ${(r.wfNdjson.rssMB / r.wfNdjsonHalf.rssMB).toFixed(2)}; independent of size ≈ 1)`,
  `- classic pcap reader alone: pcap-parser ${rate(r.readPcapParser, h1MB)} vs built-in ${rate(r.readBuiltin, h1MB)} (${faster(r.readPcapParser, r.readBuiltin)}); ` +
    `reading with pcap-parser is ${((100 * r.readPcapParser.seconds) / r.wfJson.seconds).toFixed(0)}% of the json run's time, ` +
    `and the json run with the built-in reader takes ${((100 * r.wfJsonBuiltin.seconds) / r.wfJson.seconds).toFixed(0)}% of the default's`,
  `- where a json run's time goes (built-in reader; HTTP/1.1 / HTTP/2): startup ${r.wfStart.seconds.toFixed(2)} s (node alone ${r.nodeStart.seconds.toFixed(2)} s) · ` +
    `reading records ${r.readBuiltin.seconds.toFixed(2)} s / – · the engine, reading included ${r.pipeBuiltin.seconds.toFixed(2)} s / ${r.pipeH2Builtin.seconds.toFixed(2)} s · ` +
    `then detectors and JSON output ${(r.wfJsonBuiltin.seconds - r.pipeBuiltin.seconds).toFixed(2)} s / ${(r.wfH2Builtin.seconds - r.pipeH2Builtin.seconds).toFixed(2)} s. ` +
    `For 20x, tshark's times allow ${(r.tsHttp.seconds / 20).toFixed(2)} s / ${(r.tsH2.seconds / 20).toFixed(2)} s in all.`,
];
const text = lines.join('\n');
console.log(text);
writeFileSync(join(OUT, 'results.md'), text + '\n');
writeFileSync(join(OUT, 'results.json'), JSON.stringify({ files: { h1: size(h1), h1half: size(h1half), h2: size(h2), h1Packets: h1Pk }, runs: r }, null, 2));
if (!keep && !quick) for (const f of [h1, h1half, h2]) rmSync(f, { force: true });
