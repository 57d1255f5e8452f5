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
 *  5. HTTPS: ≥ 200 MB captures from samples/bench-seed-https.pcap (curl -> nginx, TLS 1.3
 *     TLS_AES_128_GCM_SHA256, HTTP/1.1 keep-alive) and from samples/bench-seed-https-clear.pcap (the
 *     same fetch list in cleartext), both made by samples/tools/tls-bench-seed.sh. Replayed copies
 *     keep their client random, so the seed's key log (samples/bench-seed-https.keys) decrypts every
 *     copy. wirefall `analyze --format json --keylog` on the HTTPS file vs the same command on the
 *     cleartext file (MB/s ratio) and vs `tshark -o tls.keylog_file:… -Y http.request -T fields
 *     -e tcp.stream` on the HTTPS file. Before timing anything, wirefall and tshark must each find
 *     the seed's requests × copies on both files (a run that decrypts nothing fails).
 *  6. Many small requests: samples/bench-seed-h1-requests.pcap (h2load --h1 -> nginx, 16 keep-alive
 *     connections × 320 small requests, made by samples/tools/h1-requests-seed.sh) stretched by
 *     synth.mjs `stretch` into ≥ 300k requests on the same 16 long connections (≥ 100 MB), and a 2x
 *     version with twice the connections (32, a second copy with its own client address, running
 *     concurrently; not the same 4-tuples). Both tools must first find every request (wirefall
 *     ndjson, tshark http.request). Then, in rounds, with the default reader: wirefall
 *     `analyze --format ndjson` and `--format json` vs `tshark -Y http.request -T fields
 *     -e tcp.stream`, the engine alone, `--format json --no-whatif` (the what-if estimate's share
 *     of json's peak), µs per request and peak RSS on 1x and 2x (the median of the rounds' peaks,
 *     with their range); ndjson to a slow pipe (a reader taking 20 MB/s) on 1x and 2x, as many
 *     runs as rounds; and an in-process split of an ndjson and a json
 *     run into engine, detectors and output (µs per request) with the time spent in GC.
 *  7. QUIC / HTTP/3: a ≥ 100 MB capture from samples/bench-seed-quic.pcap (ngtcp2's gtlsclient ->
 *     gtlsserver, QUIC v1, TLS_AES_128_GCM_SHA256, two connections × 24 GETs, 16 small files and 8
 *     bodies of 100 KB; made by samples/tools/quic-bench-seed.sh with its key log
 *     samples/bench-seed-quic.keys), replayed by quic-synth.mjs: each copy has its own client
 *     address AND its own connection IDs (QUIC names a connection by its IDs: copies that kept them
 *     would be one migrating connection), every packet re-sealed so the one key log decrypts all.
 *     100 MB rather than 200 like parts 2 and 5: tshark decrypting and dissecting HTTP/3 keeps
 *     every QUIC connection's state, and the part should stay within minutes per round on the
 *     2-core machine. Before timing, both tools must find every request: wirefall's h3 requests,
 *     and for tshark (4.0 decodes HTTP/3 frames but not QPACK, and dissects a STREAM frame sent
 *     twice twice, so HEADERS frames over-count) the distinct client-initiated bidirectional
 *     streams (id % 4 == 0) in client packets carrying an HTTP/3 HEADERS frame, per QUIC
 *     connection; both must also count 2 × copies connections. Then, in rounds: wirefall
 *     `analyze --format json --keylog` (default reader and --pcap-reader builtin) vs
 *     `tshark -o tls.keylog_file:… -Y 'udp.dstport == P && http3.frame_type == 1' -T fields
 *     -e quic.connection.number -e quic.stream.stream_id`; and without keys (what every QUIC
 *     connection shows from its Initials alone): wirefall `analyze --format json` vs
 *     `tshark -Y quic -T fields -e quic.connection.number -e tls.handshake.extensions_server_name`.
 *
 *  8. `wirefall view` of part 6's two captures: seconds from starting the server to the first
 *     request row of the waterfall in headless Chromium (playwright-core, /usr/bin/chromium), and
 *     the server process's peak RSS (VmHWM, worker threads included).
 *
 * Options: --quick (smaller files, one round, for a smoke run), --rounds=N (rounds of the tshark
 * comparisons, default 3), --keep (keep generated captures in .bench/), --only=PART[,PART] (parts:
 * `plain` = 1-4, `https` = 5, `requests` = 6, `quic` = 7, `view` = 8; default all).
 * Needs tshark and /usr/bin/time (Debian packages tshark, time), and chromium for part 8.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loopsFor, plan, planStretch, stretch, synthesize } from './synth.mjs';
import { planQuic, synthesizeQuic } from './quic-synth.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OUT = join(ROOT, '.bench');
const quick = process.argv.includes('--quick');
const roundsArg = process.argv.find((a) => a.startsWith('--rounds='));
/** Rounds of the tshark comparisons (--rounds=N; default 3, 1 with --quick). */
const roundsN = roundsArg ? Math.max(1, Number(roundsArg.slice('--rounds='.length)) | 0) : quick ? 1 : 3;
const keep = process.argv.includes('--keep');
const PARTS = ['plain', 'https', 'requests', 'quic', 'view'];
const onlyArg = process.argv.find((a) => a.startsWith('--only='));
const parts = new Set(onlyArg ? onlyArg.slice('--only='.length).split(',').filter(Boolean) : PARTS);
for (const p of parts) {
  if (!PARTS.includes(p)) {
    console.error(`bench: unknown part '${p}' in --only (parts: ${PARTS.join(', ')})`);
    process.exit(64);
  }
}
const MB = 1e6;
mkdirSync(OUT, { recursive: true });

for (const tool of ['tshark', '/usr/bin/time']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    console.error(`bench: ${tool} is needed (apt-get install ${tool === 'tshark' ? 'tshark' : 'time'})`);
    process.exit(2);
  }
}

/** Synthesises .bench/NAME from samples/SEED (kept from an earlier run when it is newer than the
 * seed and has exactly the size this seed and target give); returns its path and the number of
 * copies of the seed. */
async function captureWithCopies(name, seed, target) {
  const path = join(OUT, name);
  const seedPath = join(ROOT, 'samples', seed);
  const want = plan(seedPath, target);
  if (!existsSync(path) || statSync(path).size !== want.bytes || statSync(path).mtimeMs < statSync(seedPath).mtimeMs) {
    process.stderr.write(`bench: synthesising ${name} (${(target / MB).toFixed(0)} MB) from ${seed} … `);
    const r = await synthesize(seedPath, path, target);
    process.stderr.write(`${r.packets} packets, ${r.copies} copies\n`);
  }
  return { path, copies: want.copies };
}
async function capture(name, seed, target) {
  return (await captureWithCopies(name, seed, target)).path;
}

/** Internal comparisons (reader only, engine only): median of 3 runs (peak RSS of the same run). */
function median3(label, cmd, args) {
  const runs = [0, 1, 2].map(() => measure(label, cmd, args));
  return medianRun(runs, false);
}

/**
 * The median run by time; `runs` keeps every run's seconds, in round order when `inRounds`. Its
 * peak RSS is the median of every run's peak (`rssRuns` keeps them), not the median-time run's: a
 * run's peak moves by 5 MB or more from run to run with V8's collection schedule (json on the
 * request-heavy 1x capture: 168–179 MB in four runs of one build), a few points of a 1x / 2x ratio.
 */
function medianRun(runs, inRounds) {
  const sorted = [...runs].sort((a, b) => a.seconds - b.seconds);
  const rss = runs.map((x) => x.rssMB).sort((a, b) => a - b);
  const mid = rss.length >> 1;
  const rssMB = rss.length % 2 ? rss[mid] : (rss[mid - 1] + rss[mid]) / 2;
  return { ...sorted[(sorted.length - 1) >> 1], rssMB, rssRuns: runs.map((x) => x.rssMB), runs: runs.map((x) => x.seconds), inRounds };
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

const size = (f) => statSync(f).size;
const packets = (f) => Number(/(\d+)/.exec(execFileSync('capinfos', ['-c', '-M', f], { encoding: 'utf8' }).split('\n')[1])?.[1] ?? 0);
const rate = (x, mb) => `${(mb / x.seconds).toFixed(0)} MB/s`;
/** How many times faster `fast` ran than `slow` (medians), and per round when both ran in rounds. */
const faster = (slow, fast) => {
  const per = slow.inRounds && fast.inRounds && slow.runs.length > 1 ? ` (rounds: ${slow.runs.map((t, i) => (t / fast.runs[i]).toFixed(1)).join(', ')})` : '';
  return `${(slow.seconds / fast.seconds).toFixed(1)}x${per}`;
};
const wfRun = (format, file, reader = 'pcap-parser', extra = []) => [wf, 'analyze', '--no-progress', '--pcap-reader', reader, '-f', format, ...extra, '-o', '/dev/null', file];

const lines = [`wirefall benchmark — ${new Date().toISOString()} — ${cpus()[0]?.model ?? '?'} × ${cpus().length}, node ${process.version}`];
const results = {};
/** Captures synthesised in this run (removed at the end unless --keep or --quick). */
const generated = [];

/**
 * Part 5, HTTPS: the TLS capture against its cleartext twin (the same fetch list, so the same
 * requests and nearly the same bytes: TLS adds the handshakes and 22 bytes per record) and against
 * tshark decrypting it with the same key log.
 */
async function httpsPart() {
  const seeds = { tls: 'bench-seed-https.pcap', clear: 'bench-seed-https-clear.pcap' };
  const keys = join(ROOT, 'samples', 'bench-seed-https.keys');
  for (const f of [...Object.values(seeds).map((x) => join(ROOT, 'samples', x)), keys]) {
    if (!existsSync(f)) {
      console.error(`bench: ${f} is missing; make the HTTPS seeds with: sudo samples/tools/tls-bench-seed.sh`);
      process.exit(2);
    }
  }
  const target = quick ? 30 * MB : 210 * MB;
  const tls = await captureWithCopies(quick ? 'https-quick.pcap' : 'https.pcap', seeds.tls, target);
  const clear = await captureWithCopies(quick ? 'https-clear-quick.pcap' : 'https-clear.pcap', seeds.clear, target);
  const keylog = ['--keylog', keys];
  const tsArgs = (file) => ['-n', '-r', file, '-o', `tls.keylog_file:${keys}`, '-Y', 'http.request', '-T', 'fields', '-e', 'tcp.stream'];
  const tsCount = (file) => {
    const r = spawnSync('tshark', tsArgs(file), { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] });
    if (r.status !== 0) throw new Error(`tshark on ${file} failed (${r.status})`);
    return r.stdout.split('\n').filter(Boolean).length;
  };
  const wfCount = (file) => {
    const out = join(OUT, 'https-verify.json');
    const r = spawnSync(node, [wf, 'analyze', '--no-progress', '-f', 'json', ...keylog, '-o', out, file], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) throw new Error(`wirefall on ${file} failed (${r.status}): ${r.stderr.slice(-2000)}`);
    const rep = JSON.parse(readFileSync(out, 'utf8'));
    rmSync(out, { force: true });
    const tlsConns = rep.connections.filter((c) => c.tls);
    return { requests: rep.requests.length, connections: rep.connections.length, tls: tlsConns.length, decrypted: tlsConns.filter((c) => c.tls.decrypted).length };
  };

  // A benchmark that decrypts nothing measures nothing: both tools must find every request first.
  const seedReq = tsCount(join(ROOT, 'samples', seeds.tls));
  const seedReqClear = tsCount(join(ROOT, 'samples', seeds.clear));
  if (seedReq === 0 || seedReq !== seedReqClear) {
    throw new Error(`bench: the HTTPS seeds disagree or hold no requests (tshark: ${seedReq} decrypted vs ${seedReqClear} in cleartext); remake them with samples/tools/tls-bench-seed.sh`);
  }
  const verify = {};
  for (const [k, c] of Object.entries({ tls, clear })) {
    process.stderr.write(`bench: verifying ${k === 'tls' ? 'the HTTPS' : 'the cleartext'} capture (${c.copies} copies × ${seedReq} requests) … `);
    const want = seedReq * c.copies;
    const w = wfCount(c.path);
    const t = tsCount(c.path);
    verify[k] = { expected: want, wirefall: w, tshark: t };
    process.stderr.write(
      `wirefall ${w.requests} requests on ${w.connections} connections` + (k === 'tls' ? ` (${w.decrypted} of ${w.tls} TLS connections decrypted)` : '') + `, tshark ${t}\n`,
    );
    if (w.requests !== want || (k === 'tls' && w.decrypted !== w.tls)) {
      throw new Error(`bench: wirefall found ${w.requests} requests in ${c.path}, expected ${want} (${seedReq} × ${c.copies} copies)` + (k === 'tls' ? `; decrypted ${w.decrypted} of ${w.tls} TLS connections` : ''));
    }
    if (t !== want) throw new Error(`bench: tshark found ${t} requests in ${c.path}, expected ${want} (${seedReq} × ${c.copies} copies): the comparison would be meaningless`);
  }

  const r = rounds(roundsN, {
    wfTls: ['wirefall analyze --format json --keylog (HTTPS)', node, wfRun('json', tls.path, 'pcap-parser', keylog)],
    wfClear: ['wirefall analyze --format json --keylog (cleartext twin)', node, wfRun('json', clear.path, 'pcap-parser', keylog)],
    wfTlsBuiltin: ['wirefall … --pcap-reader builtin (HTTPS)', node, wfRun('json', tls.path, 'builtin', keylog)],
    wfClearBuiltin: ['wirefall … --pcap-reader builtin (cleartext twin)', node, wfRun('json', clear.path, 'builtin', keylog)],
    tsTls: ['tshark -o tls.keylog_file -Y http.request -T fields -e tcp.stream (HTTPS)', 'tshark', tsArgs(tls.path)],
    tsClear: ['the same tshark command (cleartext twin)', 'tshark', tsArgs(clear.path)],
  });
  const mb = { tls: size(tls.path) / MB, clear: size(clear.path) / MB };
  const req = { tls: verify.tls.expected, clear: verify.clear.expected };
  const pk = { tls: packets(tls.path), clear: packets(clear.path) };
  const row = (x, k) =>
    `| ${x.label} | ${x.seconds.toFixed(2)} s | ${rate(x, mb[k])} | ${(req[k] / x.seconds).toFixed(0)} | ${(pk[k] / x.seconds / 1e3).toFixed(0)} k | ${x.rssMB.toFixed(0)} MB |`;
  /** MB/s of `a` (on the HTTPS file) as a share of MB/s of `b` (on the cleartext file); medians and per round. */
  const share = (a, b, per = 'mb') => {
    const f = (ta, tb) => (per === 'mb' ? mb.tls / ta / (mb.clear / tb) : req.tls / ta / (req.clear / tb));
    const rounds = a.runs.length > 1 ? ` (rounds: ${a.runs.map((t, i) => `${(100 * f(t, b.runs[i])).toFixed(0)}%`).join(', ')})` : '';
    return `${(100 * f(a.seconds, b.seconds)).toFixed(0)}%${rounds}`;
  };
  lines.push(
    '',
    `HTTPS (TLS 1.3 TLS_AES_128_GCM_SHA256, HTTP/1.1 keep-alive): ${mb.tls.toFixed(0)} MB, ${pk.tls} packets, ${tls.copies} copies × ${seedReq} requests = ${req.tls} requests; ` +
      `cleartext twin (same fetch list): ${mb.clear.toFixed(0)} MB, ${pk.clear} packets, ${clear.copies} copies = ${req.clear} requests ` +
      `(${((1e6 * mb.tls) / req.tls / 1e3).toFixed(1)} kB vs ${((1e6 * mb.clear) / req.clear / 1e3).toFixed(1)} kB of capture per request)`,
    `Checked before timing: wirefall found ${verify.tls.wirefall.requests} / ${verify.clear.wirefall.requests} requests (HTTPS / cleartext), ` +
      `decrypting ${verify.tls.wirefall.decrypted} of ${verify.tls.wirefall.tls} TLS connections; tshark found ${verify.tls.tshark} / ${verify.clear.tshark}.`,
    '',
    `| run | time | throughput | requests/s | packets/s | peak RSS |`,
    `|---|---|---|---|---|---|`,
    row(r.wfTls, 'tls'),
    row(r.wfClear, 'clear'),
    row(r.wfTlsBuiltin, 'tls'),
    row(r.wfClearBuiltin, 'clear'),
    row(r.tsTls, 'tls'),
    row(r.tsClear, 'clear'),
    '',
    `Ratios (${roundsN} round(s) of every command, medians), default reader (pcap-parser) / --pcap-reader builtin:`,
    `- wirefall HTTPS MB/s as a share of its cleartext MB/s: ${share(r.wfTls, r.wfClear)} / ${share(r.wfTlsBuiltin, r.wfClearBuiltin)} (target ≥ 60%); ` +
      `requests/s: ${share(r.wfTls, r.wfClear, 'req')} / ${share(r.wfTlsBuiltin, r.wfClearBuiltin, 'req')}`,
    `- wirefall vs tshark decrypting the same HTTPS file (http.request fields): ${faster(r.tsTls, r.wfTls)} / ${faster(r.tsTls, r.wfTlsBuiltin)} faster (target ≥ 5x)`,
    `- for comparison, tshark's HTTPS MB/s as a share of its cleartext MB/s: ${share(r.tsTls, r.tsClear)}`,
    `- peak RSS: wirefall HTTPS ${r.wfTls.rssMB.toFixed(0)} MB vs cleartext ${r.wfClear.rssMB.toFixed(0)} MB; tshark HTTPS ${r.tsTls.rssMB.toFixed(0)} MB`,
  );
  results.https = { files: { tls: size(tls.path), clear: size(clear.path), copies: { tls: tls.copies, clear: clear.copies }, seedRequests: seedReq }, verify, runs: r };
  generated.push(tls.path, clear.path);
}

/** Runs `script` in sh, where `/usr/bin/time -f "WFTIME %e %M %x"` wraps the one command measured
 * (the rest of a pipeline is not): wall seconds and peak RSS of that command. A failing command is
 * a result too (`failed`: its exit status and last error line), with the time and peak it reached. */
function measureShell(label, script) {
  process.stderr.write(`bench: ${label} … `);
  const r = spawnSync('sh', ['-c', script], { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'ignore', 'pipe'] });
  const m = /WFTIME ([\d.]+) (\d+) (\d+)/.exec(r.stderr ?? '');
  if (!m) throw new Error(`${label} failed (${r.status}): ${(r.stderr ?? '').slice(-2000)}`);
  const res = { label, seconds: Number(m[1]), rssMB: Number(m[2]) / 1024 };
  if (m[3] !== '0') {
    const why = (r.stderr ?? '').split('\n').find((l) => /^\w*Error\b|^wirefall:/.test(l)) ?? '';
    res.failed = `exit ${m[3]}${why ? `, ${why.trim()}` : ''}`;
  }
  process.stderr.write(`${res.seconds.toFixed(2)} s, ${res.rssMB.toFixed(0)} MB${res.failed ? ` — FAILED (${res.failed})` : ''}\n`);
  return res;
}
const sq = (s) => `'${String(s).replaceAll("'", `'\\''`)}'`;
/** A reader taking at most MB/s from its standard input (a slow consumer at the end of a pipe). */
const THROTTLE =
  'const rate=Number(process.argv[1])*1e6;let got=0;const t0=Date.now();' +
  'process.stdin.on("data",(b)=>{got+=b.length;const ahead=(got/rate)*1e3-(Date.now()-t0);' +
  'if(ahead>1){process.stdin.pause();setTimeout(()=>process.stdin.resume(),ahead);}});';
const SLOW_PIPE_MBS = 20;

/**
 * Part 6, many small requests: h2load --h1 against nginx, stretched into long connections (see
 * synth.mjs `stretch`), 1x (16 connections) and 2x (32). The request count is checked with both
 * tools before anything is timed.
 */
async function requestsPart() {
  const seedName = 'bench-seed-h1-requests.pcap';
  const seedPath = join(ROOT, 'samples', seedName);
  if (!existsSync(seedPath)) {
    console.error(`bench: ${seedPath} is missing; make it with: sudo samples/tools/h1-requests-seed.sh`);
    process.exit(2);
  }
  const loops = loopsFor(seedPath, quick ? 30_000 : 300_000);
  const make = async (name, copies) => {
    const path = join(OUT, name);
    const want = planStretch(seedPath, { loops, copies });
    if (!existsSync(path) || statSync(path).size !== want.bytes || statSync(path).mtimeMs < statSync(seedPath).mtimeMs) {
      process.stderr.write(`bench: synthesising ${name} (${seedName} stretched ${loops}x, ${copies} cop${copies === 1 ? 'y' : 'ies'}) … `);
      await stretch(seedPath, path, { loops, copies });
      process.stderr.write(`${want.requests} requests on ${want.connections} connections, ${want.packets} packets, ${(want.bytes / MB).toFixed(0)} MB\n`);
    }
    return { path, ...want };
  };
  const one = await make(quick ? 'requests-quick.pcap' : 'requests.pcap', 1);
  const two = await make(quick ? 'requests-2x-quick.pcap' : 'requests-2x.pcap', 2);

  const tsArgs = (file) => ['-n', '-r', file, '-Y', 'http.request', '-T', 'fields', '-e', 'tcp.stream'];
  const tsCount = (file) => {
    const r = spawnSync('tshark', tsArgs(file), { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] });
    if (r.status !== 0) throw new Error(`tshark on ${file} failed (${r.status})`);
    const streams = r.stdout.split('\n').filter(Boolean);
    return { requests: streams.length, connections: new Set(streams).size };
  };
  /** wirefall's ndjson (written to a file: stdout to a slower reader is measured apart below), read
   * line by line: records by type, connection anomalies, output bytes. */
  const wfCount = async (file) => {
    const nd = join(OUT, 'requests-verify.ndjson');
    const w = spawnSync(node, [wf, 'analyze', '--no-progress', '-f', 'ndjson', '-o', nd, file], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
    if (w.status !== 0) throw new Error(`wirefall on ${file} exited ${w.status}: ${w.stderr.slice(-2000)}`);
    const c = { requests: 0, connections: 0, requestCount: 0, findings: {}, anomalies: {}, bytes: 0, counters: {} };
    for await (const line of createInterface({ input: createReadStream(nd), crlfDelay: Infinity })) {
      c.bytes += line.length + 1;
      if (line.startsWith('{"type":"request"')) {
        c.requests++;
        continue;
      }
      const o = JSON.parse(line);
      if (o.type === 'connection') {
        c.connections++;
        c.requestCount += o.requestCount ?? 0;
        for (const a of o.anomalies ?? []) c.anomalies[a.code] = (c.anomalies[a.code] ?? 0) + 1;
      } else if (o.type === 'finding') c.findings[o.kind] = (c.findings[o.kind] ?? 0) + 1;
      else if (o.type === 'capture') c.counters = o.counters ?? {};
      else if (o.type === 'error') throw new Error(`wirefall on ${file}: ${o.code} ${o.message}`);
    }
    rmSync(nd, { force: true });
    return c;
  };

  // Nothing is timed before both tools have found every request of the seed and of each capture.
  const seedTs = tsCount(seedPath);
  if (seedTs.requests !== one.seedRequests || seedTs.connections !== one.seedConnections) {
    throw new Error(`bench: tshark finds ${seedTs.requests} requests on ${seedTs.connections} connections in ${seedName}, synth.mjs counts ${one.seedRequests} on ${one.seedConnections}`);
  }
  const verify = {};
  for (const [k, c] of Object.entries({ '1x': one, '2x': two })) {
    process.stderr.write(`bench: verifying the ${k} capture (${c.requests} requests on ${c.connections} connections) … `);
    const w = await wfCount(c.path);
    const t = tsCount(c.path);
    verify[k] = { expected: { requests: c.requests, connections: c.connections }, wirefall: w, tshark: t };
    process.stderr.write(`wirefall ${w.requests} on ${w.connections} (ndjson ${(w.bytes / MB).toFixed(0)} MB), tshark ${t.requests} on ${t.connections}\n`);
    const bad = [];
    if (w.requests !== c.requests || w.requestCount !== c.requests) bad.push(`wirefall found ${w.requests} request records (connections say ${w.requestCount})`);
    if (w.connections !== c.connections) bad.push(`wirefall found ${w.connections} connections`);
    if (Object.keys(w.anomalies).length) bad.push(`wirefall raised anomalies ${JSON.stringify(w.anomalies)} on clean traffic`);
    if (t.requests !== c.requests || t.connections !== c.connections) bad.push(`tshark found ${t.requests} requests on ${t.connections} connections`);
    if (bad.length) {
      throw new Error(`bench: ${c.path} holds ${c.requests} requests on ${c.connections} connections, but ${bad.join('; ')}: the comparison would be meaningless`);
    }
  }

  const r = rounds(roundsN, {
    wfNd: ['wirefall analyze --format ndjson (1x)', node, wfRun('ndjson', one.path)],
    wfJson: ['wirefall analyze --format json (1x)', node, wfRun('json', one.path)],
    ts: ['tshark -Y http.request -T fields -e tcp.stream (1x)', 'tshark', tsArgs(one.path)],
    engine: ['engine only: no detectors, no output (1x)', node, pipeline('pcap-parser', one.path)],
    wfNd2: ['wirefall analyze --format ndjson (2x)', node, wfRun('ndjson', two.path)],
    wfJson2: ['wirefall analyze --format json (2x)', node, wfRun('json', two.path)],
    // The what-if estimate's share of json's peak: it keeps every request until the end.
    wfJsonNw: ['wirefall analyze --format json --no-whatif (1x)', node, wfRun('json', one.path, 'pcap-parser', ['--no-whatif'])],
    wfJsonNw2: ['wirefall analyze --format json --no-whatif (2x)', node, wfRun('json', two.path, 'pcap-parser', ['--no-whatif'])],
  });
  // ndjson to standard output read by a slow consumer: peak RSS of wirefall alone.
  const slow = (c, k) =>
    measureShell(
      `wirefall analyze --format ndjson to stdout, read at ${SLOW_PIPE_MBS} MB/s (${k})`,
      `/usr/bin/time -f 'WFTIME %e %M %x' ${sq(node)} ${sq(wf)} analyze --no-progress -f ndjson ${sq(c.path)} | ${sq(node)} -e ${sq(THROTTLE)} ${SLOW_PIPE_MBS}`,
    );
  // As many runs as rounds (its peak is the median of theirs, as for the others; a failed run counts as failed).
  const slowRuns = (c, k) => {
    const runs = Array.from({ length: roundsN }, () => slow(c, k));
    return { ...medianRun(runs, false), failed: runs.find((x) => x.failed)?.failed };
  };
  r.slowNd = slowRuns(one, '1x');
  r.slowNd2 = slowRuns(two, '2x');
  // In process: engine, detectors and output of one run each (1x).
  const split = {};
  for (const mode of ['ndjson', 'json']) {
    process.stderr.write(`bench: in-process split of a ${mode} run (1x) … `);
    const s = spawnSync(node, [join(ROOT, 'test', 'bench', 'split.mjs'), join(ROOT, 'core', 'dist'), one.path, mode], {
      encoding: 'utf8',
      maxBuffer: 1 << 26,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (s.status !== 0) throw new Error(`split.mjs ${mode} failed (${s.status}): ${s.stderr.slice(-2000)}`);
    split[mode] = JSON.parse(s.stdout.trim().split('\n').at(-1));
    if (split[mode].unavailable) process.stderr.write(`unavailable: ${split[mode].unavailable}\n`);
    else {
      if (split[mode].requests !== one.requests) throw new Error(`split.mjs ${mode} found ${split[mode].requests} requests, expected ${one.requests}`);
      process.stderr.write(`${(split[mode].ms.total / 1e3).toFixed(2)} s\n`);
    }
  }

  const us = (x, n) => ((1e6 * x.seconds) / n).toFixed(1);
  const mb = { one: one.bytes / MB, two: two.bytes / MB };
  const row1 = (x) => `| ${x.label} | ${x.seconds.toFixed(2)} s | ${us(x, one.requests)} µs | ${rate(x, mb.one)} | ${x.rssMB.toFixed(0)} MB |`;
  const row2 = (x) => `| ${x.label} | ${x.seconds.toFixed(2)} s | ${us(x, two.requests)} µs | ${rate(x, mb.two)} | ${x.rssMB.toFixed(0)} MB |`;
  const perRound = (x) => (x.runs.length > 1 ? ` (rounds: ${x.runs.map((t) => t.toFixed(2)).join(', ')} s)` : '');
  // The growth from 1x to 2x, with the runs' peaks beside it when there are several.
  const span = (x) => `${Math.min(...x.rssRuns).toFixed(0)}–${Math.max(...x.rssRuns).toFixed(0)}`;
  const grow = (a, b) => `${((100 * (b.rssMB - a.rssMB)) / a.rssMB).toFixed(0)}%` + (a.rssRuns.length > 1 ? `; runs ${span(a)} / ${span(b)} MB` : '');
  const splitLine = (mode) => {
    const s = split[mode];
    if (s.unavailable) return `- in-process split of a ${mode} run: unavailable (${s.unavailable})`;
    const u = (ms) => ((1e3 * ms) / s.requests).toFixed(1);
    return (
      `- in-process split of a ${mode} run (1x, one run, ${(s.ms.total / 1e3).toFixed(2)} s): engine ${u(s.ms.engine)} µs/request · ` +
      `detectors ${u(s.ms.detectors)} µs (${mode === 'ndjson' ? 'streaming detectors' : 'detectAll over the whole report'}) · output ${u(s.ms.output)} µs ` +
      `(${mode === 'ndjson' ? 'requestLine/jsonLine + a writeSync per line' : 'writeJson, compact; the report path, which --format json no longer takes: it streams through a spill file'}) · GC ${u(s.ms.gc)} µs, ${((100 * s.ms.gc) / s.ms.total).toFixed(0)}% of the run (inside the others)`
    );
  };
  const wv = verify['1x'].wirefall;
  lines.push(
    '',
    `Many small requests (h2load --h1 -> nginx, one 45-byte file, keep-alive, one request in flight per connection): ` +
      `1x ${mb.one.toFixed(0)} MB, ${one.packets} packets, ${one.requests} requests on ${one.connections} connections; ` +
      `2x ${mb.two.toFixed(0)} MB, ${two.packets} packets, ${two.requests} requests on ${two.connections} connections ` +
      `(${seedName}: ${one.seedRequests} requests on ${one.seedConnections} connections, each connection's steady state repeated ${loops}x)`,
    `Checked before timing: wirefall and tshark each found ${one.requests} / ${two.requests} requests on ${one.connections} / ${two.connections} connections; ` +
      `wirefall raised no anomaly; findings: ${JSON.stringify(wv.findings)}; ndjson output ${(wv.bytes / MB).toFixed(0)} MB / ${(verify['2x'].wirefall.bytes / MB).toFixed(0)} MB ` +
      `(${(wv.bytes / one.requests).toFixed(0)} bytes per request).`,
    '',
    `| run (default reader, -o /dev/null) | time | per request | throughput | peak RSS |`,
    `|---|---|---|---|---|`,
    ...[r.wfNd, r.wfJson, r.wfJsonNw, r.ts, r.engine].map(row1),
    ...[r.wfNd2, r.wfJson2, r.wfJsonNw2].map(row2),
    ...[[r.slowNd, row1], [r.slowNd2, row2]].map(([x, row]) => (x.failed ? row(x).replace(/ \|$/, ` (FAILED: ${x.failed}) |`) : row(x))),
    '',
    `Ratios (${roundsN} round(s) of every command, medians):`,
    `- wirefall ndjson vs tshark http.request fields: ${faster(r.ts, r.wfNd)} faster (target ≥ 10x)`,
    `- wirefall json vs tshark http.request fields: ${faster(r.ts, r.wfJson)} faster (target ≥ 6x)`,
    `- µs per request (1x): ndjson ${us(r.wfNd, one.requests)}, json ${us(r.wfJson, one.requests)}, tshark ${us(r.ts, one.requests)}, ` +
      `engine alone ${us(r.engine, one.requests)} (so detectors + output: ndjson ${((1e6 * (r.wfNd.seconds - r.engine.seconds)) / one.requests).toFixed(1)}, ` +
      `json ${((1e6 * (r.wfJson.seconds - r.engine.seconds)) / one.requests).toFixed(1)})`,
    splitLine('ndjson'),
    splitLine('json'),
    `- peak RSS 1x / 2x: ndjson ${r.wfNd.rssMB.toFixed(0)} / ${r.wfNd2.rssMB.toFixed(0)} MB (${grow(r.wfNd, r.wfNd2)}), ` +
      `json ${r.wfJson.rssMB.toFixed(0)} / ${r.wfJson2.rssMB.toFixed(0)} MB (${grow(r.wfJson, r.wfJson2)}), ` +
      `ndjson to a ${SLOW_PIPE_MBS} MB/s pipe ${r.slowNd.rssMB.toFixed(0)}${r.slowNd.failed ? ' (failed)' : ''} / ${r.slowNd2.rssMB.toFixed(0)}${r.slowNd2.failed ? ' (failed)' : ''} MB (${grow(r.slowNd, r.slowNd2)}); ` +
      `tshark ${r.ts.rssMB.toFixed(0)} MB (targets: each ≤ 250 MB, 2x within +15% of 1x); ` +
      `json --no-whatif ${r.wfJsonNw.rssMB.toFixed(0)} / ${r.wfJsonNw2.rssMB.toFixed(0)} MB (${grow(r.wfJsonNw, r.wfJsonNw2)}): the rest of json's is the what-if estimate's`,
    `- per-round times: ndjson${perRound(r.wfNd)}; json${perRound(r.wfJson)}; tshark${perRound(r.ts)}`,
  );
  results.requests = { files: { one, two, loops }, verify, runs: r, split };
  generated.push(one.path, two.path);
}

/**
 * Part 8, `wirefall view` of the request-heavy captures (part 6's files): the time from starting
 * `wirefall view FILE` to the first request row of the waterfall in headless Chromium (the page
 * usable; the page gets the first rows first, getModelHead), the time until every row is loaded,
 * and the server process's peak RSS (VmHWM: its analysis worker threads included), read
 * once the page shows the rows and again after the details of the last request were opened.
 */
async function viewPart() {
  const { chromium } = await import('playwright-core');
  const CHROMIUM = '/usr/bin/chromium';
  if (!existsSync(CHROMIUM)) {
    console.error('bench: the view part needs Debian\'s chromium (apt-get install chromium)');
    process.exit(2);
  }
  const seedPath = join(ROOT, 'samples', 'bench-seed-h1-requests.pcap');
  const loops = loopsFor(seedPath, quick ? 30_000 : 300_000);
  const files = [
    ['1x', join(OUT, quick ? 'requests-quick.pcap' : 'requests.pcap'), 1],
    ['2x', join(OUT, quick ? 'requests-2x-quick.pcap' : 'requests-2x.pcap'), 2],
  ];
  const node = process.execPath;
  const wf = join(ROOT, 'core', 'bin', 'wirefall.js');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run'] });
  const runs = {};
  try {
    for (const [k, path, copies] of files) {
      const want = planStretch(seedPath, { loops, copies });
      if (!existsSync(path) || statSync(path).size !== want.bytes) await stretch(seedPath, path, { loops, copies });
      if (!keep) generated.push(path);
      process.stderr.write(`bench: wirefall view (${k}, ${want.requests} requests) … `);
      const { spawn } = await import('node:child_process');
      const t0 = performance.now();
      const child = spawn(node, [wf, 'view', '--port', '0', path], { stdio: ['ignore', 'pipe', 'pipe'] });
      let err = '';
      child.stderr.on('data', (b) => (err += b));
      const url = await new Promise((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (b) => {
          out += b;
          const m = /at (http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]);
        });
        child.once('exit', (code) => reject(new Error(`wirefall view exited ${code}: ${err.slice(-2000)}`)));
      });
      const hwm = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
      const page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
      try {
        await page.goto(url);
        await page.locator('[data-request-id]').first().waitFor({ state: 'visible', timeout: 600_000 });
        const usable = (performance.now() - t0) / 1e3;
        const rssUsable = hwm();
        // The first rows come first (getModelHead); every row is there once the page says no more
        // are loading and counts them all.
        await page.waitForFunction((n) => !document.querySelector('[data-testid="rows-loading"]') && document.querySelector('[data-testid="status-requests"]')?.textContent?.replace(/[^0-9]/g, '') === String(n), want.requests, { timeout: 600_000 });
        const allRows = (performance.now() - t0) / 1e3;
        // The details pane of one request: what a user does next (the server answers from its model).
        const id = await page.locator('[data-request-id]').first().getAttribute('data-request-id');
        await page.locator(`[data-request-id="${id}"]`).first().click();
        await page.waitForTimeout(500);
        const rss = hwm();
        runs[k] = { requests: want.requests, usableSeconds: usable, allRowsSeconds: allRows, rssUsableMB: rssUsable, rssMB: rss };
        process.stderr.write(`usable in ${usable.toFixed(1)} s, every row in ${allRows.toFixed(1)} s, server peak RSS ${rss.toFixed(0)} MB\n`);
      } finally {
        await page.close();
        child.kill('SIGINT');
        await new Promise((r) => child.once('exit', r));
      }
    }
  } finally {
    await browser.close();
  }
  const r1 = runs['1x'];
  const r2 = runs['2x'];
  lines.push(
    '',
    `wirefall view (the request-heavy captures of part 6, headless Chromium): page usable (first waterfall row shown) after ${r1.usableSeconds.toFixed(1)} s / ${r2.usableSeconds.toFixed(1)} s, ` +
      `every row loaded after ${r1.allRowsSeconds.toFixed(1)} s / ${r2.allRowsSeconds.toFixed(1)} s ` +
      `(1x ${r1.requests} / 2x ${r2.requests} requests); server peak RSS ${r1.rssMB.toFixed(0)} / ${r2.rssMB.toFixed(0)} MB (${r1.rssUsableMB.toFixed(0)} / ${r2.rssUsableMB.toFixed(0)} MB when usable) ` +
      `(targets for 1x: usable ≤ 10 s, server ≤ 600 MB)`,
  );
  results.view = runs;
}

/**
 * Part 7, QUIC / HTTP/3: the ngtcp2 seed replayed with distinct client addresses and connection IDs
 * (quic-synth.mjs), against tshark decrypting the same file with the same key log, and both
 * without keys.
 */
async function quicPart() {
  const seedPath = join(ROOT, 'samples', 'bench-seed-quic.pcap');
  const keys = join(ROOT, 'samples', 'bench-seed-quic.keys');
  for (const f of [seedPath, keys]) {
    if (!existsSync(f)) {
      console.error(`bench: ${f} is missing; make the QUIC seed with: sudo samples/tools/quic-bench-seed.sh`);
      process.exit(2);
    }
  }
  const target = quick ? 20 * MB : 105 * MB;
  const path = join(OUT, quick ? 'quic-quick.pcap' : 'quic.pcap');
  const want = planQuic(seedPath, target);
  if (!existsSync(path) || statSync(path).size !== want.bytes || statSync(path).mtimeMs < Math.max(statSync(seedPath).mtimeMs, statSync(new URL('./quic-synth.mjs', import.meta.url)).mtimeMs)) {
    process.stderr.write(`bench: synthesising ${path} (${(target / MB).toFixed(0)} MB) from bench-seed-quic.pcap, re-sealing every packet … `);
    const r = await synthesizeQuic(seedPath, keys, path, target);
    process.stderr.write(`${r.packets} packets, ${r.copies} copies\n`);
  }
  const copies = want.copies;
  // The server's port: the destination of the seed's first packet (the client's first Initial).
  const seedBuf = readFileSync(seedPath);
  const port = seedBuf.readUInt16BE(24 + 16 + 14 + (seedBuf[24 + 16 + 14] & 0x0f) * 4 + 2);
  const tsArgs = (file) => ['-n', '-r', file, '-o', `tls.keylog_file:${keys}`, '-Y', `udp.dstport == ${port} && http3.frame_type == 1`, '-T', 'fields', '-e', 'quic.connection.number', '-e', 'quic.stream.stream_id', '-E', 'occurrence=a', '-E', 'aggregator=,'];
  const tsNoKeys = (file) => ['-n', '-r', file, '-Y', 'quic', '-T', 'fields', '-e', 'quic.connection.number', '-e', 'tls.handshake.extensions_server_name'];
  const tsCount = (file) => {
    const r = spawnSync('tshark', tsArgs(file), { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] });
    if (r.status !== 0) throw new Error(`tshark on ${file} failed (${r.status})`);
    const streams = new Set();
    const conns = new Set();
    for (const line of r.stdout.split('\n')) {
      if (!line) continue;
      const [c, ids] = line.split('\t');
      conns.add(c);
      for (const id of (ids ?? '').split(',')) if (id !== '' && Number(id) % 4 === 0) streams.add(`${c} ${id}`);
    }
    return { requests: streams.size, connections: conns.size };
  };
  const tsConnections = (file) => {
    const r = spawnSync('tshark', tsNoKeys(file), { encoding: 'utf8', maxBuffer: 1 << 30, stdio: ['ignore', 'pipe', 'ignore'] });
    if (r.status !== 0) throw new Error(`tshark on ${file} failed (${r.status})`);
    return new Set(r.stdout.split('\n').flatMap((l) => (l ? l.split('\t')[0].split(',').filter(Boolean) : []))).size;
  };
  const wfCount = (file, withKeys) => {
    const out = join(OUT, 'quic-verify.json');
    const r = spawnSync(node, [wf, 'analyze', '--no-progress', '-f', 'json', ...(withKeys ? ['--keylog', keys] : []), '-o', out, file], { encoding: 'utf8', stdio: ['ignore', 'ignore', 'pipe'] });
    if (r.status !== 0) throw new Error(`wirefall on ${file} failed (${r.status}): ${r.stderr.slice(-2000)}`);
    const rep = JSON.parse(readFileSync(out, 'utf8'));
    rmSync(out, { force: true });
    const quicConns = rep.connections.filter((c) => c.transport === 'quic');
    const bad = Object.fromEntries(Object.entries(rep.capture.counters ?? {}).filter(([k]) => /^quic(Cid|Initial|Unmatched|Malformed|Coalesced|Connections?NotTracked)/.test(k)));
    return {
      requests: rep.requests.filter((q) => q.httpVersion === 'h3').length,
      connections: quicConns.length,
      decrypted: quicConns.filter((c) => c.tls?.decrypted).length,
      bad,
    };
  };

  const seedTs = tsCount(seedPath);
  const seedWf = wfCount(seedPath, true);
  if (seedTs.requests === 0 || seedTs.requests !== seedWf.requests || seedTs.connections !== seedWf.connections) {
    throw new Error(`bench: on the QUIC seed tshark finds ${seedTs.requests} requests on ${seedTs.connections} connections, wirefall ${seedWf.requests} on ${seedWf.connections}`);
  }
  process.stderr.write(`bench: verifying the QUIC capture (${copies} copies × ${seedTs.requests} requests on ${seedTs.connections} connections) … `);
  const expect = { requests: copies * seedTs.requests, connections: copies * seedTs.connections };
  const w = wfCount(path, true);
  const wNo = wfCount(path, false);
  const t = tsCount(path);
  const tNo = tsConnections(path);
  process.stderr.write(`wirefall ${w.requests} requests on ${w.connections} connections (${w.decrypted} decrypted; without keys ${wNo.connections} connections), tshark ${t.requests} on ${t.connections} (without keys ${tNo})\n`);
  const bad = [];
  if (w.requests !== expect.requests || w.connections !== expect.connections || w.decrypted !== expect.connections) bad.push(`wirefall found ${w.requests} requests on ${w.connections} connections, ${w.decrypted} decrypted`);
  if (Object.keys(w.bad).length) bad.push(`wirefall counted ${JSON.stringify(w.bad)} (copies colliding?)`);
  if (wNo.connections !== expect.connections) bad.push(`wirefall without keys found ${wNo.connections} connections`);
  if (t.requests !== expect.requests || t.connections !== expect.connections) bad.push(`tshark found ${t.requests} requests on ${t.connections} connections`);
  if (tNo !== expect.connections) bad.push(`tshark without keys found ${tNo} connections`);
  if (bad.length) throw new Error(`bench: ${path} holds ${expect.requests} requests on ${expect.connections} QUIC connections, but ${bad.join('; ')}: the comparison would be meaningless`);

  const keylog = ['--keylog', keys];
  const r = rounds(roundsN, {
    wf: ['wirefall analyze --format json --keylog (QUIC)', node, wfRun('json', path, 'pcap-parser', keylog)],
    wfBuiltin: ['wirefall … --keylog --pcap-reader builtin (QUIC)', node, wfRun('json', path, 'builtin', keylog)],
    ts: ['tshark -o tls.keylog_file -Y http3.frame_type == 1 -T fields (QUIC)', 'tshark', tsArgs(path)],
    wfNoKeys: ['wirefall analyze --format json, no key log (QUIC)', node, wfRun('json', path)],
    wfNoKeysBuiltin: ['wirefall … no key log, --pcap-reader builtin (QUIC)', node, wfRun('json', path, 'builtin')],
    tsNoKeys: ['tshark -Y quic -T fields, no key log (QUIC)', 'tshark', tsNoKeys(path)],
  });
  const mb = size(path) / MB;
  const pk = want.packets;
  const row = (x) => `| ${x.label} | ${x.seconds.toFixed(2)} s | ${rate(x, mb)} | ${(expect.requests / x.seconds).toFixed(0)} | ${(pk / x.seconds / 1e3).toFixed(0)} k | ${x.rssMB.toFixed(0)} MB |`;
  const rss = (a, b) => `${(a.rssMB / b.rssMB).toFixed(2)}`;
  lines.push(
    '',
    `QUIC / HTTP/3 (ngtcp2, QUIC v1, TLS_AES_128_GCM_SHA256): ${mb.toFixed(0)} MB, ${pk} packets, ${copies} copies × ${seedTs.connections} connections × ` +
      `${seedTs.requests / seedTs.connections} requests = ${expect.requests} requests on ${expect.connections} connections, each copy with its own client address and connection IDs`,
    `Checked before timing: wirefall found ${w.requests} h3 requests on ${w.connections} QUIC connections (${w.decrypted} decrypted; ${wNo.connections} without keys); ` +
      `tshark found ${t.requests} client request streams carrying HTTP/3 HEADERS on ${t.connections} connections (${tNo} without keys).`,
    '',
    `| run | time | throughput | requests/s | packets/s | peak RSS |`,
    `|---|---|---|---|---|---|`,
    ...[r.wf, r.wfBuiltin, r.ts, r.wfNoKeys, r.wfNoKeysBuiltin, r.tsNoKeys].map(row),
    '',
    `Ratios (${roundsN} round(s) of every command, medians), default reader (pcap-parser) / --pcap-reader builtin:`,
    `- with the key log, wirefall (HTTP/3 requests, QPACK decoded) vs tshark (HTTP/3 frames): ${faster(r.ts, r.wf)} / ${faster(r.ts, r.wfBuiltin)} faster; ` +
      `${rate(r.wf, mb)} / ${rate(r.wfBuiltin, mb)} vs ${rate(r.ts, mb)}; peak RSS ${r.wf.rssMB.toFixed(0)} / ${r.wfBuiltin.rssMB.toFixed(0)} MB vs ${r.ts.rssMB.toFixed(0)} MB (wirefall/tshark ${rss(r.wf, r.ts)})`,
    `- without keys (connections, SNI, ALPN from the Initials), wirefall vs tshark -Y quic: ${faster(r.tsNoKeys, r.wfNoKeys)} / ${faster(r.tsNoKeys, r.wfNoKeysBuiltin)} faster; ` +
      `peak RSS ${r.wfNoKeys.rssMB.toFixed(0)} / ${r.wfNoKeysBuiltin.rssMB.toFixed(0)} MB vs ${r.tsNoKeys.rssMB.toFixed(0)} MB`,
    `- the key log's cost to wirefall (decrypting 1-RTT, HTTP/3, QPACK): ${(r.wf.seconds / r.wfNoKeys.seconds).toFixed(1)}x the time of the run without keys`,
  );
  results.quic = { files: { quic: size(path), copies, packets: pk }, verify: { expect, wirefall: w, wirefallNoKeys: wNo, tshark: t, tsharkNoKeys: tNo }, runs: r };
  generated.push(path);
}

if (parts.has('plain')) {
  const h1Size = quick ? 60 * MB : 520 * MB;
  const h2Size = quick ? 30 * MB : 210 * MB;
  const h1 = await capture(quick ? 'http1-quick.pcap' : 'http1.pcap', 'bench-seed-http1.pcap', h1Size);
  const h1half = await capture(quick ? 'http1-quick-half.pcap' : 'http1-half.pcap', 'bench-seed-http1.pcap', h1Size / 2);
  const h2 = await capture(quick ? 'h2-quick.pcap' : 'h2.pcap', 'h2-clean.pcap', h2Size);

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
  lines.push(
    '',
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
  );
  results.plain = { files: { h1: size(h1), h1half: size(h1half), h2: size(h2), h1Packets: h1Pk }, runs: r };
  generated.push(h1, h1half, h2);
}

if (parts.has('https')) await httpsPart();
if (parts.has('requests')) await requestsPart();
if (parts.has('quic')) await quicPart();
if (parts.has('view')) await viewPart();

const text = lines.join('\n');
console.log(text);
writeFileSync(join(OUT, 'results.md'), text + '\n');
writeFileSync(join(OUT, 'results.json'), JSON.stringify(results, null, 2));
if (!keep && !quick) for (const f of generated) rmSync(f, { force: true });
