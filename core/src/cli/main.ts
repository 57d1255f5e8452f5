/**
 * The `wirefall` command line. Exit codes are documented in HELP and are the WirefallError classes'
 * `exitCode`; a batch exits with the worst outcome among its files.
 */
import { readFileSync } from 'node:fs';
import { isatty } from 'node:tty';
import { parseArgs } from 'node:util';
import { UnreadableFileError, UsageError, WirefallError } from '../errors.js';
import type { AnalyzeProgress } from '../engine.js';
import { toHar } from '../model/har.js';
import { VERSION } from '../version.js';
import { checkThresholds } from '../detect/index.js';
import { defaultJobs, runBatch, type FileOutcome, type FileTask } from './batch.js';
import { formatTable, bytes } from './format-table.js';
import { expandInputs } from './inputs.js';
import { jsonLine, reportArrayPlace, writeJson, writePrettyJson } from './json-out.js';
import { removeSpill, spilledDocument, spillPaths } from './json-spill.js';
import { abandonStopped, commitUnlessStopped, openOutput, type Output } from './output.js';
import { exitNow, print, RunStop, say, sayRaw } from './stop.js';
import { terminalSafe } from './escape.js';
import { STDIN_PATH } from '../capture/reader.js';
import { tuneHeapGrowth, tuneViewHeapGrowth } from './heap-growth.js';

export const EXIT = {
  OK: 0,
  FINDINGS: 1,
  TRUNCATED: 3,
  LINKTYPE: 4,
  USAGE: 64,
  NOT_CAPTURE: 65,
  UNREADABLE: 66,
  INTERNAL: 70,
  OUTPUT: 73,
  CANCELLED: 130,
  TERMINATED: 143,
} as const;

export const HELP = `wirefall ${VERSION} — HTTP connection behaviour (keep-alive, reuse, HTTP/1.x, HTTP/2, HTTP/3;
TCP, TLS and QUIC) in packet captures

Usage:
  wirefall analyze <capture...> [options]   connections, requests and findings
  wirefall har <capture> [-o out.har] [--keylog F]   HAR 1.2 export (Chrome DevTools can import it)
  wirefall diff <before> <after> [options]  the same work captured twice, side by side per origin
  wirefall view <capture> [--port N] [--keylog F]    serve the waterfall UI on 127.0.0.1
  wirefall view <dir> [--port N] [--keylog F]        the same, listing the directory's captures to open
  wirefall waterfall <capture> -o out.svg [options]  the waterfall, findings marked, as SVG
  wirefall view <before> --compare <after> [...]     the same, with the two captures' diff (as diff)
  wirefall hpack inflate [story.json]         decode an hpack-test-case story (stdin if no file)
  wirefall --help | --version

Captures: pcap (µs or ns, either byte order), pcapng, optionally gzip-compressed (.gz).
<capture...> may be files, directories (searched recursively for .pcap/.pcapng/.cap[.gz], also
through symbolic links to files) or quoted glob patterns ('captures/**/*.pcap'). '-' is standard
input; it, a pipe or a FIFO is read as the capture arrives, and ndjson writes each record as it
completes: tcpdump -U -w - | wirefall analyze --format ndjson -

analyze options:
  -f, --format table|json|ndjson   output format (default: table)
                                    json: one Report (several files: {"reports": [...], ...}),
                                    written when the file is analysed; its connections and
                                    requests wait in a spill file beside -o FILE's temporary file
                                    (else in the temporary directory), removed at the end, so
                                    memory does not grow with them;
                                    ndjson: one record per line as it completes, in bounded memory:
                                    {"type":"request"|"connection"|"finding"|"whatIf"|"capture"|"error"|"summary","file":...};
                                    a finding as soon as no later record can change it (per
                                    connection when it completes; per client and origin at the end);
                                    per file, before its capture record, a whatIf record (the
                                    estimates of report.whatIf; "skipped" instead past 250 000
                                    requests or 100 000 connections, the most it keeps for them)
      --pretty                     indent --format json (2 spaces); compact by default. Times in
                                    every output are ms rounded to µs (at most 3 decimals)
  -o, --output FILE                write there instead of standard output ('-' is standard
                                    output). Written to .FILE.wirefall-PID.tmp beside FILE and
                                    renamed onto it when the run ends with exit 0, 1 or 3; on any
                                    other end FILE is left as it was, and ndjson records written
                                    so far are kept in FILE.partial (complete lines)
  -j, --jobs N                     files analysed in parallel (default: number of cores)
      --idle-gap MS                shortest gap recorded as an idle period (default 1000)
      --fail-on KIND[,KIND]        exit 1 when findings of these kinds exist ('any' for all)
      --threshold NAME=VALUE       set a detector threshold (repeatable), e.g. parallelBudget=8,
                                    holStallMs=50; names and defaults: core/src/detect/*.ts
      --no-progress                no progress bar (it is shown only when stderr is a terminal)
      --keylog FILE                TLS key log (NSS format: SSLKEYLOGFILE, Chromium's
                                    --ssl-key-log-file, Node's --tls-keylog) to decrypt HTTPS;
                                    repeatable; lines of other sessions are ignored. Keys embedded
                                    in a pcapng (Decryption Secrets Block, editcap --inject-secrets)
                                    are used without it. Each TLS connection says in
                                    connection.tls.undecryptedReason why it was not decrypted
      --whatif-keepalive-timeout SECONDS
                                   the server idle timeout the what-if keepalive-timeout estimate
                                    assumes (default 10: the reuse window missed-reuse and the
                                    what-if reuse estimate use); whatIf.keepaliveTimeout says which
                                    whole-second timeout would already save as much
      --no-whatif                  no what-if estimate: the report has no whatIf (ndjson: its whatIf
                                    record says "skipped"). It keeps 32 bytes a request in a
                                    scratch file until the end and needs ~30 more in memory while
                                    it replays them (json: up to 2 000 000 requests); findings are
                                    the same
      --pcap-reader pcap-parser|builtin
                                   reader for classic pcap files (default: pcap-parser, the
                                    project's chosen library; builtin is wirefall's own reader,
                                    faster: README, Benchmark says by how much)

diff options (BEFORE and AFTER are analysed as analyze does; an origin is the TLS server name, else
the Host, else the server address, with the port; findings are matched by kind and origin):
  -f, --format table|json          output format (default: table); json: core/schema/diff.schema.json
      --pretty, -o, --output FILE  as for analyze
      --keylog FILE                TLS key log for both captures; repeatable (pass each capture's)
      --fail-on-regression KIND[,KIND]
                                   exit 1 when AFTER is worse than BEFORE in one of these ('any'
                                    for all):
                                    connections-per-request  an origin with requests in both opened
                                      more connections per request in AFTER
                                    new-findings  a finding kind appeared for an origin in AFTER
                                    handshake-time  total TCP + TLS handshake time grew by more
                                      than 10% (and 1 ms)
                                    duration  end-to-end time (first SYN to last response byte)
                                      grew by more than 10% (and 1 ms)

waterfall options (the UI's drawing: one lane per connection, its requests beneath, phases as
the Timing tab's, findings marked on their rows and listed by group below):
  -o, --output FILE                the SVG file (written as for analyze; '-' is standard output)
      --keylog FILE                TLS key log, as for analyze; repeatable
  -w, --width N                    width in pixels (default 1200, 480 to 20000)
      --theme light|dark           colours of the UI's light or dark theme (default light)
      --max-rows N                 lanes and requests drawn at most (default 2000; the rest counted)
  PNG: no rasteriser is bundled; open the SVG in a browser (chromium --headless
  --screenshot=out.png out.svg), or take a screenshot of wirefall view

Times in JSON are milliseconds since the capture's first packet; see core/schema/report.schema.json.
Connection ids: TCP connections are numbered as tshark's tcp.stream; QUIC connections from
1000000000 on (transport "quic"), as tshark's quic.connection.number + 1000000000. Without keys,
TLS and QUIC connections show their handshake facts (version, cipher suite, SNI, ALPN, resumption).

Exit codes (a batch exits with the worst one among its files):
  0    success; also when the reader of standard output goes away (EPIPE, as in | head -1):
       the run stops there, silently
  1    findings matched --fail-on; diff: AFTER regressed in a --fail-on-regression kind
  3    capture truncated or corrupt part-way (what came before was analysed and reported)
  4    unsupported link type (nothing decodable)
  64   usage error
  65   not a capture (unknown file format) / invalid input
  66   file cannot be opened or read
  70   internal error (a bug: please report it)
  73   the output (-o FILE, or standard output) cannot be created or written (e.g. ENOSPC)
  130  interrupted (SIGINT, Ctrl+C): worker threads are stopped, -o FILE is left as it was
  143  terminated (SIGTERM): as for SIGINT
`;

/** Worst-outcome order for a batch: larger is worse (usage errors stop before analysis). */
function worse(a: number, b: number): number {
  return Math.max(a, b);
}

class Progress {
  private last = 0;
  private shown = false;
  constructor(private readonly enabled: boolean) {}
  update(file: string, p: AnalyzeProgress): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 100) return;
    this.last = now;
    const pct = p.totalBytes ? Math.floor((100 * p.bytesRead) / p.totalBytes) : 0;
    const width = 24;
    const bar = '#'.repeat(Math.floor((pct * width) / 100)).padEnd(width, '.');
    const name = terminalSafe(file.length > 30 ? `…${file.slice(-29)}` : file);
    // A stream (stdin, a pipe) has no known size: only what was read so far.
    const size = p.totalBytes ? ` [${bar}] ${pct}% ${bytes(p.bytesRead)}/${bytes(p.totalBytes)}` : ` ${bytes(p.bytesRead)}`;
    sayRaw(`\r${name}${size} ${p.packets} pkts ${p.connections} conns ${p.requests} reqs\x1b[K`);
    this.shown = true;
  }
  clear(): void {
    if (this.shown) sayRaw('\r\x1b[K');
    this.shown = false;
  }
}

function exitFor(o: FileOutcome): number {
  if (o.error) return o.error.exitCode;
  const err = o.report?.capture.error ?? o.capture?.error;
  return err ? EXIT.TRUNCATED : EXIT.OK;
}

function pcapReader(v: string | undefined): FileTask['classicParser'] {
  if (v === undefined) return undefined;
  if (v !== 'pcap-parser' && v !== 'builtin') throw new UsageError(`unknown --pcap-reader ${v} (pcap-parser or builtin)`);
  return v;
}

async function analyze(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      format: { type: 'string', short: 'f', default: 'table' },
      output: { type: 'string', short: 'o' },
      jobs: { type: 'string', short: 'j' },
      'idle-gap': { type: 'string' },
      'fail-on': { type: 'string' },
      threshold: { type: 'string', multiple: true },
      'no-progress': { type: 'boolean', default: false },
      'pcap-reader': { type: 'string' },
      keylog: { type: 'string', multiple: true },
      pretty: { type: 'boolean', default: false },
      'whatif-keepalive-timeout': { type: 'string' },
      'no-whatif': { type: 'boolean', default: false },
    },
  });
  const format = values.format!;
  const noWhatIf = values['no-whatif'] === true;
  if (noWhatIf && values['whatif-keepalive-timeout'] !== undefined) throw new UsageError('--no-whatif and --whatif-keepalive-timeout: the second sets an estimate the first leaves out');
  const pretty = values.pretty === true;
  const keepaliveTimeoutS = values['whatif-keepalive-timeout'] !== undefined ? Number(values['whatif-keepalive-timeout']) : undefined;
  if (keepaliveTimeoutS !== undefined && !(keepaliveTimeoutS > 0 && Number.isFinite(keepaliveTimeoutS))) throw new UsageError(`--whatif-keepalive-timeout must be a positive number of seconds`);
  const keylogFiles = values.keylog;
  const classicParser = pcapReader(values['pcap-reader']);
  if (!['table', 'json', 'ndjson'].includes(format)) throw new UsageError(`unknown --format ${format} (table, json or ndjson)`);
  if (positionals.length === 0) throw new UsageError('analyze needs at least one capture file');
  const jobs = values.jobs !== undefined ? Number(values.jobs) : defaultJobs();
  if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError(`--jobs must be a positive integer, not ${values.jobs}`);
  const idleGapMs = values['idle-gap'] !== undefined ? Number(values['idle-gap']) : undefined;
  if (idleGapMs !== undefined && !(idleGapMs > 0)) throw new UsageError(`--idle-gap must be a positive number of ms`);
  const thresholds: Record<string, number> = {};
  for (const t of values.threshold ?? []) {
    const m = /^([A-Za-z][\w-]*)=(.+)$/.exec(t.trim());
    const v = m ? Number(m[2]) : NaN;
    if (!m || !Number.isFinite(v)) throw new UsageError(`--threshold wants NAME=NUMBER, not ${t}`);
    thresholds[m[1]] = v;
  }
  try {
    checkThresholds(thresholds);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const detect = Object.keys(thresholds).length ? { thresholds } : undefined;
  const failOn = values['fail-on']?.split(',').map((s) => s.trim()).filter(Boolean) ?? [];

  const files = await expandInputs(positionals);
  if (files.length === 0) throw new UsageError(`no capture files found in ${positionals.join(' ')}`);
  if (files.includes(STDIN_PATH) && isatty(0)) {
    throw new UsageError(`'-' reads a capture from standard input, which is a terminal: pipe one in (tcpdump -U -w - | wirefall analyze -)`);
  }
  const whatIfOptions = keepaliveTimeoutS !== undefined ? { keepaliveTimeoutS } : undefined;
  const mode = format === 'ndjson' ? 'ndjson' : format === 'json' ? 'json' : 'report';
  const tasks: FileTask[] = files.map((file) => ({ file, mode, idleGapMs, detect, classicParser, keylogFiles, whatIf: whatIfOptions, ...(noWhatIf ? { noWhatIf } : {}) }));
  const stop = new RunStop();
  const out = openOutput(values.output, files, stop);
  const batch = files.length > 1;
  // --format json: each file's records go to a spill file beside -o's temporary file (json-spill.ts),
  // removed once copied, and whatever happens when the process exits.
  const spills = mode === 'json' ? spillPaths(out.tempPath, files.length) : [];
  const removeSpills = () => spills.forEach(removeSpill);
  if (spills.length) process.on('exit', removeSpills);
  spills.forEach((spill, i) => (tasks[i].json = { spill, place: reportArrayPlace(pretty, batch) }));
  const unlisten = stop.onSignals();
  const write = writerFor(out, stop);
  const writeBytes = bytesWriterFor(out, stop);
  const progress = new Progress(!values['no-progress'] && isatty(2));
  const reports: unknown[] = [];
  const failures: { file: string; code: string; message: string }[] = [];
  let code: number = EXIT.OK;
  let connections = 0;
  let requests = 0;
  const kinds: Record<string, number> = {};

  const run = runBatch(
    tasks,
    jobs,
    {
      onLine: (l) => out.write(l + '\n'),
      onProgress: (f, p) => progress.update(f, p),
    },
    (o) => {
      if (stop.reason) return;
      progress.clear();
      code = worse(code, exitFor(o));
      connections += o.connections;
      requests += o.requests;
      for (const [k, n] of Object.entries(o.findingKinds)) kinds[k] = (kinds[k] ?? 0) + n;
      if (o.error) {
        failures.push({ file: o.file, code: o.error.code, message: o.error.message });
        say(`wirefall: ${o.error.message}\n`);
      } else {
        const err = o.report?.capture.error ?? o.capture?.error;
        if (err) say(`wirefall: ${o.file}: ${err.message} (analysed what came before)\n`);
      }
      untilStopped(() => {
        if (o.report) {
          if (format === 'table') write((batch ? '\n' : '') + formatTable(o.report));
          else if (batch) reports.push(o.report);
          else writeJson(o.report, write, { pretty });
        } else if (o.spilled) {
          // The report with its records copied from the spill file (removed after the document).
          if (batch) reports.push(spilledDocument(o.spilled));
          else {
            writeJson(spilledDocument(o.spilled), write, { pretty, bytes: writeBytes });
            removeSpill(o.spilled.path);
          }
        } else if (format === 'json' && !batch && o.capture) {
          // The file could not be fully analysed but some facts exist (e.g. unsupported link type).
          writeJson({ wirefall: VERSION, capture: o.capture, connections: [], requests: [], findings: [] }, write, { pretty });
        }
      });
    },
    stop.signal,
  );
  // A signal or a closed output ends the run without waiting for work still in flight.
  const outcomes = await Promise.race([run, stop.stopped.then(() => null)]);
  if (!outcomes || stop.reason) return stopped(stop, out, progress, format === 'ndjson');
  const summary = { files: outcomes.length, connections, requests, findings: kinds, failures: failures.length };
  untilStopped(() => {
    if (format === 'json' && batch) writeJson({ wirefall: VERSION, reports, failures, summary }, write, { pretty, bytes: writeBytes });
    if (format === 'ndjson') write(jsonLine({ type: 'summary', ...summary, failedFiles: failures }) + '\n');
  });
  removeSpills();
  process.off('exit', removeSpills);
  if (stop.reason) return stopped(stop, out, progress, format === 'ndjson');
  const hit = Object.entries(kinds).filter(([k]) => failOn.includes('any') || failOn.includes(k));
  if (hit.length) code = worse(code, EXIT.FINDINGS);
  settle(out, code, format === 'ndjson', values.output);
  if (stop.reason) return stopped(stop, out, progress, format === 'ndjson'); // the last write failed
  unlisten();
  if (batch) say(`wirefall: ${summary.files} files, ${connections} connections, ${requests} requests, ${failures.length} failed\n`);
  for (const [k, n] of hit) say(`wirefall: ${n} ${k} finding${n === 1 ? '' : 's'}\n`);
  return code;
}

/** Thrown by a `writerFor` writer once the run has stopped, to end a long serialisation early. */
const STOPPED = new Error('output stopped');

/** A writer for whole-document output (json, table, HAR) that stops serialising once the run stops. */
function writerFor(out: Output, stop: RunStop): (s: string) => void {
  return (s) => {
    out.write(s);
    if (stop.reason) throw STOPPED;
  };
}

/** The same for a spilled array's bytes (json-out.ts `JsonWriteOptions.bytes`). */
function bytesWriterFor(out: Output, stop: RunStop): (b: Uint8Array) => void {
  return (b) => {
    out.writeBytes(b);
    if (stop.reason) throw STOPPED;
  };
}

function untilStopped(f: () => void): void {
  try {
    f();
  } catch (e) {
    if (e !== STOPPED) throw e;
  }
}

/** Exits 0, 1 and 3 are a finished run whose output stands: it replaces -o FILE. */
const REPLACES_OUTPUT: readonly number[] = [EXIT.OK, EXIT.FINDINGS, EXIT.TRUNCATED];

/** Ends a finished run's output: -o FILE replaced, or left as it was (and ndjson kept as .partial). */
function settle(out: Output, code: number, ndjson: boolean, path: string | undefined): void {
  if (REPLACES_OUTPUT.includes(code)) return out.commit();
  const partial = out.abandon(ndjson);
  if (path && path !== '-') say(`wirefall: ${path} was left as it was${partial ? `; this run's records are in ${partial}` : ''}\n`);
}

/** A stopped run: the output settled (what ndjson wrote kept as .partial), then exit at once. */
function stopped(stop: RunStop, out: Output, progress: Progress | null, ndjson: boolean): never {
  progress?.clear();
  return abandonStopped(out, stop, ndjson);
}

async function har(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { output: { type: 'string', short: 'o' }, keylog: { type: 'string', multiple: true } },
  });
  if (positionals.length !== 1) throw new UsageError('har needs exactly one capture file');
  const stop = new RunStop();
  const unlisten = stop.onSignals();
  const run = runBatch([{ file: positionals[0], mode: 'report', keylogFiles: values.keylog }], 1, {}, () => {}, stop.signal);
  const outcomes = await Promise.race([run, stop.stopped.then(() => null)]);
  if (!outcomes || stop.reason) return exitNow(stop.exitCode());
  const [o] = outcomes;
  if (o.error) {
    say(`wirefall: ${o.error.message}\n`);
    return o.error.exitCode;
  }
  const out = openOutput(values.output, positionals, stop);
  untilStopped(() => writePrettyJson(toHar(o.report!), writerFor(out, stop)));
  commitUnlessStopped(out, stop);
  unlisten();
  return exitFor(o);
}

async function hpack(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'inflate') throw new UsageError(`unknown hpack command ${sub ?? '(none)'}; try: wirefall hpack inflate [story.json]`);
  if (rest.length > 1) throw new UsageError('hpack inflate takes at most one file');
  const { runHpackInflate } = await import('../http2/hpack/inflate.js');
  const input = rest.length === 1 ? readInput(rest[0]) : readFileSync(0, 'utf8');
  print(runHpackInflate(input));
  return EXIT.OK;
}

function readInput(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new UnreadableFileError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

async function view(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { port: { type: 'string', short: 'p' }, keylog: { type: 'string', multiple: true }, compare: { type: 'string' } },
  });
  if (positionals.length !== 1) throw new UsageError('view needs exactly one capture file (and --compare AFTER for a diff)');
  const port = values.port !== undefined ? Number(values.port) : 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0-65535`);
  const { startViewFromCli } = await import('./view.js');
  return startViewFromCli(positionals[0], port, values.keylog ?? [], values.compare);
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  // `view` gets 2x while it analyses instead (heap-growth.ts VIEW_HEAP_GROWING_PERCENT): its analysis and row
  // building run on two threads, where the extra collections of the CLI's setting compete with the
  // other thread for the cores (document ready in 9.3 s against 8.2 s with a fixed 1.5x), and the
  // observer would see only the server thread's small heap.
  if (cmd === 'view') tuneViewHeapGrowth(true);
  else tuneHeapGrowth();
  try {
    switch (cmd) {
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        print(HELP);
        return cmd === undefined ? EXIT.USAGE : EXIT.OK;
      case '-v':
      case '--version':
        print(`${VERSION}\n`);
        return EXIT.OK;
      case 'analyze':
        return await analyze(rest);
      case 'har':
        return await har(rest);
      case 'hpack':
        return await hpack(rest);
      case 'view':
        return await view(rest);
      case 'diff':
        return await (await import('./diff.js')).diff(rest);
      case 'waterfall':
        return await (await import('./waterfall.js')).waterfall(rest);
      default:
        throw new UsageError(`unknown command ${cmd}; see wirefall --help`);
    }
  } catch (e) {
    if (e instanceof WirefallError) {
      say(`wirefall: ${e.message}\n`);
      return e.exitCode;
    }
    if ((e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      say(`wirefall: ${(e as Error).message}\n`);
      return EXIT.USAGE;
    }
    say(`wirefall: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
    return EXIT.INTERNAL;
  }
}
