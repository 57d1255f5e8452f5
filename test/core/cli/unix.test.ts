/**
 * `wirefall` as a Unix citizen, run as users run it (the built CLI through core/bin/wirefall.js, in
 * shells, pipes and FIFOs): a reader that goes away (`| head -1`) ends the run quietly; a full disk
 * is WF_OUTPUT (73); `-o FILE` is replaced only by a run that succeeds, whatever else happens
 * (missing input, not a capture, SIGINT, SIGTERM) — NDJSON keeps what it wrote as FILE.partial;
 * signals exit 130/143 with the worker threads stopped (`view` too); control characters from
 * captured data never reach a terminal raw; `-`, pipes and FIFOs are read as streams, live.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
  type WriteStream,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT } from '../../../core/src/cli/main.js';
import { jsonSafe, terminalSafe } from '../../../core/src/cli/escape.js';
import { PcapWriter, writeLargeCapture } from '../../e2e/pcap-writer.js';
import { requireResource, ROOT, sample } from '../../helpers/env.js';

const BIN = join(ROOT, 'core', 'bin', 'wirefall.js');
const tmp = mkdtempSync(join(tmpdir(), 'wirefall-unix-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const run = (args: string[], opts: { input?: Buffer | string; stdin?: number; stdout?: number; env?: NodeJS.ProcessEnv } = {}) => {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    input: opts.input,
    stdio: [opts.stdin ?? 'pipe', opts.stdout ?? 'pipe', 'pipe'],
    maxBuffer: 1 << 28,
    env: opts.env,
  });
  return { code: r.status, signal: r.signal, out: r.stdout?.toString('utf8') ?? '', err: r.stderr.toString('utf8') };
};

/** A running CLI: its output so far, and its end. */
interface Live {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Live {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  child.stdin!.on('error', () => {}); // the CLI may exit while we still write
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.on('close', (code, signal) => r({ code, signal })));
  return { child, out: () => out, err: () => err, exited };
}

/** Waits until `cond` holds; fails with `what` if the process ends first or time runs out. */
async function until(cond: () => boolean, what: string, live?: Live, ms = 15_000): Promise<void> {
  let ended = false;
  void live?.exited.then(() => (ended = true));
  const t0 = Date.now();
  while (!cond()) {
    if (ended && !cond()) throw new Error(`the CLI ended before ${what}: ${live!.err()}`);
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function mkfifo(path: string): void {
  const r = spawnSync('mkfifo', [path]);
  if (r.status !== 0) throw new Error(`mkfifo ${path} failed: ${r.stderr}`);
}

/** Opens a FIFO for writing (resolves once a reader has opened it too). */
function fifoWriter(path: string): { ws: WriteStream; opened: Promise<void> } {
  const ws = createWriteStream(path);
  ws.on('error', () => {}); // the reader may go away first
  return { ws, opened: new Promise((r) => ws.once('open', () => r())) };
}

const others = (dir: string, keep: string[]) => readdirSync(dir).filter((f) => !keep.includes(f));
const lines = (s: string) => s.split('\n').filter(Boolean);
const requestLines = (s: string) => lines(s).filter((l) => l.startsWith('{"type":"request"'));

/** The report without what names the input (capture.file; fileBytes of a stream is what was read). */
function sansFile(json: string): unknown {
  const r = JSON.parse(json);
  delete r.capture.file;
  return r;
}

const SYN = 0x02;
const ACK = 0x10;
const PSH = 0x08;
const FIN = 0x01;

/** One HTTP/1.1 exchange on one connection, with the request head given byte for byte. */
function writeExchange(path: string, requestHead: Buffer): void {
  const w = new PcapWriter(path);
  const c: [number[], number] = [[10, 0, 0, 1], 40000];
  const s: [number[], number] = [[10, 0, 0, 2], 80];
  const resp = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  let t = 1_700_000_000_000_000;
  const cs = 1000;
  const ss = 5000;
  w.tcp(t, c, s, cs, 0, SYN);
  w.tcp((t += 100), s, c, ss, cs + 1, SYN | ACK);
  w.tcp((t += 100), c, s, cs + 1, ss + 1, ACK);
  w.tcp((t += 100), c, s, cs + 1, ss + 1, PSH | ACK, requestHead);
  w.tcp((t += 300), s, c, ss + 1, cs + 1 + requestHead.length, PSH | ACK, resp);
  const cf = cs + 1 + requestHead.length;
  const sf = ss + 1 + resp.length;
  w.tcp((t += 100), c, s, cf, sf, FIN | ACK);
  w.tcp((t += 100), s, c, sf, cf + 1, FIN | ACK);
  w.tcp((t += 100), c, s, cf + 1, sf + 1, ACK);
  w.close();
}

let big: string;
beforeAll(() => {
  // ~5,000 requests: megabytes of NDJSON, far more than a pipe buffer holds.
  big = join(tmp, 'big.pcap');
  writeLargeCapture(big, { connections: 100, requestsPerConnection: 50 });
});

describe('a reader that goes away, a full disk', () => {
  it('`| head -1` gets one line; wirefall stops quietly with exit 0 (EPIPE)', () => {
    const r = spawnSync('bash', ['-c', `"${process.execPath}" "${BIN}" analyze -f ndjson "${big}" | head -1; echo "status=\${PIPESTATUS[0]}" >&2`], { encoding: 'utf8' });
    expect(lines(r.stdout)).toHaveLength(1);
    expect(JSON.parse(r.stdout).type).toBe('request');
    expect(r.stderr).toBe('status=0\n');
  });

  it('also in table and json formats, and with worker threads', () => {
    for (const args of [['analyze', big], ['analyze', '-f', 'json', '--pretty', big], ['analyze', '-f', 'ndjson', '-j', '2', big, big + '.copy.pcap']]) {
      if (args.includes(big + '.copy.pcap')) copyFileSync(big, big + '.copy.pcap');
      const cmd = `"${process.execPath}" "${BIN}" ${args.map((a) => `"${a}"`).join(' ')} | head -1; echo "status=\${PIPESTATUS[0]}" >&2`;
      const r = spawnSync('bash', ['-c', cmd], { encoding: 'utf8' });
      expect(r.stderr, args.join(' ')).toBe('status=0\n');
      expect(lines(r.stdout)).toHaveLength(1);
    }
  });

  it('stops at once when the reader goes away, even while its input is still open', async () => {
    const live = start(['analyze', '-f', 'ndjson', '-']);
    const cap = readFileSync(big);
    const half = cap.length >> 1;
    live.child.stdin!.write(cap.subarray(0, half));
    await until(() => live.out().includes('\n'), 'a first record', live);
    live.child.stdout!.destroy(); // as `head -1` exits
    live.child.stdin!.write(cap.subarray(half)); // more records to write; stdin stays open: the capture never ends
    const end = await Promise.race([live.exited, new Promise<null>((r) => setTimeout(() => r(null), 15_000))]);
    live.child.stdin!.destroy();
    expect(end).toEqual({ code: 0, signal: null });
    expect(live.err()).toBe('');
  }, 30_000);

  it('a full disk (ENOSPC) is exit 73 with one line on stderr, on stdout and with -o', () => {
    if (!requireResource('/dev/full', existsSync('/dev/full'), 'a Linux /dev/full')) return;
    for (const format of ['json', 'ndjson', 'table']) {
      const fd = openSync('/dev/full', 'w');
      const r = run(['analyze', '-f', format, big], { stdout: fd });
      closeSync(fd);
      expect(r.code, format).toBe(EXIT.OUTPUT);
      expect(r.err, format).toBe('wirefall: cannot write standard output: ENOSPC\n');
      // A device is written directly (it is not replaced by a file).
      const o = run(['analyze', '-f', format, '-o', '/dev/full', sample('keepalive-pool.pcap')]);
      expect(o.code, format).toBe(EXIT.OUTPUT);
      expect(o.err, format).toBe('wirefall: cannot write /dev/full: ENOSPC\n');
      expect(statSync('/dev/full').isCharacterDevice()).toBe(true);
    }
  }, 60_000);
});

describe('-o FILE is replaced only by a run that succeeds', () => {
  const OLD = 'the previous report\n';
  const fresh = (name: string) => {
    const d = join(tmp, name);
    mkdirSync(d);
    writeFileSync(join(d, 'out'), OLD);
    chmodSync(join(d, 'out'), 0o640);
    return d;
  };

  it.each([
    ['a missing input', () => join(tmp, 'no-such.pcap'), EXIT.UNREADABLE],
    ['not a capture', () => (writeFileSync(join(tmp, 'junk.pcap'), 'not a capture'), join(tmp, 'junk.pcap')), EXIT.NOT_CAPTURE],
  ])('%s leaves FILE as it was (json, table, ndjson)', (_n, input, code) => {
    for (const format of ['json', 'table', 'ndjson']) {
      const d = fresh(`fail-${code}-${format}`);
      const r = run(['analyze', '-f', format, '-o', join(d, 'out'), input()]);
      expect(r.code, format).toBe(code);
      expect(readFileSync(join(d, 'out'), 'utf8'), format).toBe(OLD);
      expect(r.err).toContain(`${join(d, 'out')} was left as it was`);
      // No temporary file is left; NDJSON keeps its records (the error, the summary) beside FILE.
      if (format === 'ndjson') {
        expect(others(d, ['out'])).toEqual(['out.partial']);
        expect(lines(readFileSync(join(d, 'out.partial'), 'utf8')).map((l) => JSON.parse(l).type)).toEqual(['error', 'summary']);
      } else expect(others(d, ['out'])).toEqual([]);
    }
  });

  it('through a symbolic link: a failure leaves FILE, a success replaces it (keeping its permissions and the link)', () => {
    const d = fresh('ok');
    symlinkSync('out', join(d, 'link'));
    expect(run(['analyze', '-f', 'json', '-o', join(d, 'link'), join(d, 'missing.pcap')]).code).toBe(EXIT.UNREADABLE);
    expect(readFileSync(join(d, 'out'), 'utf8')).toBe(OLD);
    const r = run(['analyze', '-f', 'json', '-o', join(d, 'link'), sample('keepalive-pool.pcap')]);
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(join(d, 'out'), 'utf8')).requests).toHaveLength(10);
    expect(statSync(join(d, 'out')).mode & 0o777).toBe(0o640);
    expect(readdirSync(d).sort()).toEqual(['link', 'out']);
    // A capture cut short (exit 3) is a finished run: its report stands.
    const cut = join(d, 'cut.pcap');
    const buf = readFileSync(sample('keepalive-pool.pcap'));
    writeFileSync(cut, buf.subarray(0, buf.length - 10));
    expect(run(['analyze', '-f', 'json', '-o', join(d, 'out'), cut]).code).toBe(EXIT.TRUNCATED);
    expect(JSON.parse(readFileSync(join(d, 'out'), 'utf8')).capture.error.code).toBe('WF_TRUNCATED');
  });

  it('SIGINT during an ndjson run: exit 130, FILE as it was, the records so far in FILE.partial', async () => {
    const d = fresh('sigint-ndjson');
    const fifo = join(d, 'cap.fifo');
    mkfifo(fifo);
    const live = start(['analyze', '-f', 'ndjson', '-o', join(d, 'out'), fifo]);
    const { ws, opened } = fifoWriter(fifo);
    await opened;
    ws.write(readFileSync(sample('keepalive-pool.pcap'))); // and never ends
    const tmpFile = () => readdirSync(d).find((f) => f.endsWith('.tmp'));
    await until(() => {
      const t = tmpFile();
      return t !== undefined && requestLines(readFileSync(join(d, t), 'utf8')).length === 10;
    }, 'ten request records in the temporary file', live);
    live.child.kill('SIGINT');
    expect(await live.exited).toEqual({ code: EXIT.CANCELLED, signal: null });
    ws.destroy();
    expect(readFileSync(join(d, 'out'), 'utf8')).toBe(OLD);
    expect(others(d, ['out', 'cap.fifo'])).toEqual(['out.partial']);
    const partial = lines(readFileSync(join(d, 'out.partial'), 'utf8')).map((l) => JSON.parse(l));
    expect(partial.map((x) => x.type)).toEqual(Array(10).fill('request'));
    expect(live.err()).toContain(`the records written so far are in ${join(d, 'out')}.partial`);
  }, 30_000);

  it('SIGINT and SIGTERM during a json run, with worker threads and a FIFO nobody writes: 130 / 143, FILE as it was', async () => {
    for (const [sig, code] of [['SIGINT', EXIT.CANCELLED], ['SIGTERM', EXIT.TERMINATED]] as const) {
      const d = fresh(`sig-json-${sig}`);
      const [f1, f2] = [join(d, 'a.fifo'), join(d, 'b.fifo')];
      mkfifo(f1);
      mkfifo(f2);
      const live = start(['analyze', '-f', 'json', '-j', '2', '-o', join(d, 'out'), f1, f2]);
      const { ws, opened } = fifoWriter(f1);
      await opened;
      ws.write(readFileSync(sample('keepalive-pool.pcap')));
      // The other worker waits to open b.fifo, which no one ever writes.
      await new Promise((r) => setTimeout(r, 300));
      live.child.kill(sig);
      const end = await Promise.race([live.exited, new Promise<null>((r) => setTimeout(() => r(null), 15_000))]);
      ws.destroy();
      if (!end) live.child.kill('SIGKILL');
      expect(end, sig).toEqual({ code, signal: null });
      expect(readFileSync(join(d, 'out'), 'utf8')).toBe(OLD);
      expect(others(d, ['out', 'a.fifo', 'b.fifo'])).toEqual([]);
    }
  }, 60_000);
});

describe('signals', () => {
  it('`wirefall view` exits 130 on SIGINT', async () => {
    const ui = join(tmp, 'ui');
    mkdirSync(ui, { recursive: true });
    writeFileSync(join(ui, 'index.html'), '<!doctype html><title>wirefall</title>');
    const live = start(['view', sample('keepalive-pool.pcap')], { env: { ...process.env, WIREFALL_RENDERER_DIR: ui } });
    await until(() => live.out().includes('serving'), 'the server to start', live);
    live.child.kill('SIGINT');
    expect(await live.exited).toEqual({ code: EXIT.CANCELLED, signal: null });
  }, 30_000);
});

describe('control characters from captured data', () => {
  const hostile = join(tmp, 'hostile.pcap');
  // ESC ] 0 ; … BEL sets a terminal's title; ESC [ 31 m colours; 0x9b is an 8-bit CSI; DEL; CR.
  // (The request-target itself must be visible ASCII to be taken for HTTP; the Host makes the URL.)
  const host = 'evil\x1b]0;pwned\x07.example\x9b2J\x7f\x1b[31m\x08';
  beforeAll(() => writeExchange(hostile, Buffer.from(`GET /a HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: t\x1b[5m\r\n\r\n`, 'latin1')));

  it('the table shows them escaped, never raw', () => {
    const r = run(['analyze', hostile]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/#1 +GET/);
    expect(r.out).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
    expect(r.out).toContain('evil\\x1b]0;pwned\\x07.example\\x9b2J\\x7f\\x1b[31m\\x08');
  });

  it('JSON carries the same strings, with DEL and C1 escaped (\\u00XX), and no raw control byte', () => {
    for (const format of ['json', 'ndjson']) {
      const r = run(['analyze', '-f', format, hostile]);
      expect(r.code).toBe(0);
      expect(r.out).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
      const req = lines(r.out).map((l) => JSON.parse(l)).flatMap((x) => (format === 'json' ? x.requests : x.type === 'request' ? [x] : []))[0];
      expect(req.requestHeaders.find((h: { name: string }) => h.name.toLowerCase() === 'host').value).toBe(host);
    }
  });

  it('stderr messages quoting a file name escape it', () => {
    const name = join(tmp, 'x\x1b]0;pwned\x07.pcap');
    const r = run(['analyze', name]);
    expect(r.code).toBe(EXIT.UNREADABLE);
    expect(r.err).toBe(`wirefall: cannot open ${join(tmp, 'x')}\\x1b]0;pwned\\x07.pcap: ENOENT\n`);
  });

  it('one function decides: C0, DEL, C1 and bidi controls are escaped; other text is not', () => {
    expect(terminalSafe('a\x00b\x1b[0m\t\n\x7f\x80\x9f\u202e\u2066z')).toBe('a\\x00b\\x1b[0m\\x09\\x0a\\x7f\\x80\\x9f\\u202e\\u2066z');
    const plain = 'GET http://exämple.test/µs — ↑ 12 pkts 3.2 KiB 😀 \\x1b';
    expect(terminalSafe(plain)).toBe(plain);
    const json = JSON.stringify({ h: 'a\x1b\x7f\x9b\u202eb' });
    expect(jsonSafe(json)).toBe('{"h":"a\\u001b\\u007f\\u009b\\u202eb"}');
    expect(JSON.parse(jsonSafe(json))).toEqual(JSON.parse(json));
  });
});

describe('standard input, pipes and FIFOs', () => {
  const inputs = ['keepalive-pool.pcap', 'keepalive-timeout-max.pcapng', 'browser-pageload.pcap.gz', 'h2load.pcap'];

  it.each(inputs)('`-` reads %s from a pipe: the same report as the file', (name) => {
    const want = run(['analyze', '-f', 'json', sample(name)]);
    const got = run(['analyze', '-f', 'json', '-'], { input: readFileSync(sample(name)) });
    expect(got.err).toBe('');
    expect(got.code).toBe(0);
    expect(JSON.parse(got.out).capture.file).toBe('-');
    expect(sansFile(got.out)).toEqual(sansFile(want.out));
  });

  it('`- < FILE` (standard input is a file) and `har -`', () => {
    const fd = openSync(sample('pipelining.pcap'), 'r');
    const got = run(['analyze', '-f', 'json', '-'], { stdin: fd });
    closeSync(fd);
    expect(got.code).toBe(0);
    expect(sansFile(got.out)).toEqual(sansFile(run(['analyze', '-f', 'json', sample('pipelining.pcap')]).out));
    const har = run(['har', '-'], { input: readFileSync(sample('pipelining.pcap')) });
    expect(har.code).toBe(0);
    expect(JSON.parse(har.out).log.entries.length).toBeGreaterThan(0);
  });

  it('a capture cut short on standard input is exit 3 with what came before, as for the file (pcap and gzip)', () => {
    for (const [name, cut] of [['keepalive-pool.pcap', 10], ['browser-pageload.pcap.gz', 200]] as const) {
      const buf = readFileSync(sample(name));
      const f = join(tmp, `cut-${name}`);
      writeFileSync(f, buf.subarray(0, buf.length - cut));
      const want = run(['analyze', '-f', 'json', f]);
      const got = run(['analyze', '-f', 'json', '-'], { input: readFileSync(f) });
      expect(want.code, name).toBe(EXIT.TRUNCATED);
      expect(got.code, name).toBe(EXIT.TRUNCATED);
      // The messages name the input: '-' (as the report does) or, from the reader, standard input.
      expect(got.err.replaceAll('standard input', 'IN').replace('wirefall: -:', 'wirefall: IN:')).toBe(want.err.replaceAll(f, 'IN'));
      expect(sansFile(got.out.replaceAll('standard input', 'IN'))).toEqual(sansFile(want.out.replaceAll(f, 'IN')));
    }
  });

  it('an empty or non-capture standard input is exit 65 with one line', () => {
    expect(run(['analyze', '-'], { input: '' })).toMatchObject({ code: EXIT.NOT_CAPTURE, err: 'wirefall: standard input is empty, not a capture\n' });
    const r = run(['analyze', '-'], { input: 'GET / HTTP/1.1\r\n' });
    expect(r.code).toBe(EXIT.NOT_CAPTURE);
    expect(r.err).toMatch(/^wirefall: standard input is not a pcap or pcapng capture \(magic 47455420\)\n$/);
  });

  it('records stream out live while standard input is still open (tcpdump -U -w - | wirefall analyze -f ndjson -)', async () => {
    const live = start(['analyze', '-f', 'ndjson', '-']);
    live.child.stdin!.write(readFileSync(sample('keepalive-pool.pcap')));
    await until(() => requestLines(live.out()).length === 10, 'ten request records before the end of input', live);
    expect(live.out()).not.toContain('"type":"summary"');
    live.child.stdin!.end();
    expect(await live.exited).toEqual({ code: 0, signal: null });
    expect(lines(live.out()).at(-1)).toMatch(/^\{"type":"summary","files":1,"connections":1,"requests":10,/);
  }, 30_000);

  it('a FIFO is read as it is written, alone (in-process) and in a batch (worker threads)', async () => {
    const fifo = join(tmp, 'live.fifo');
    mkfifo(fifo);
    for (const args of [[fifo], ['-j', '2', fifo, sample('no-pool.pcap')]]) {
      const live = start(['analyze', '-f', 'ndjson', ...args]);
      const { ws, opened } = fifoWriter(fifo);
      await opened;
      ws.write(readFileSync(sample('keepalive-pool.pcap')));
      const mine = () => requestLines(live.out()).filter((l) => JSON.parse(l).file === fifo);
      await until(() => mine().length === 10, 'the FIFO records before its writer closes', live);
      ws.end();
      expect(await live.exited).toEqual({ code: 0, signal: null });
      const recs = lines(live.out()).map((l) => JSON.parse(l));
      expect(recs.filter((x) => x.type === 'request')).toHaveLength(args.length === 1 ? 10 : 20);
    }
    // And a whole report from a FIFO equals the file's.
    const live = start(['analyze', '-f', 'json', fifo]);
    const { ws, opened } = fifoWriter(fifo);
    await opened;
    ws.end(readFileSync(sample('h2-clean.pcap')));
    expect(await live.exited).toEqual({ code: 0, signal: null });
    expect(sansFile(live.out())).toEqual(sansFile(run(['analyze', '-f', 'json', sample('h2-clean.pcap')]).out));
  }, 60_000);

  it('a directory walk follows symbolic links to capture files (not to directories, not FIFOs)', () => {
    const d = join(tmp, 'walk');
    mkdirSync(join(d, 'sub'), { recursive: true });
    copyFileSync(sample('no-pool.pcap'), join(d, 'a.pcap'));
    symlinkSync(sample('keepalive-pool.pcap'), join(d, 'sub', 'linked.pcap'));
    symlinkSync(join(tmp, 'nowhere.pcap'), join(d, 'dangling.pcap'));
    symlinkSync(join(d, 'sub'), join(d, 'loop'));
    mkfifo(join(d, 'waiting.pcap'));
    const r = run(['analyze', '-f', 'ndjson', d]);
    expect(r.code).toBe(0);
    const files = new Set(lines(r.out).map((l) => JSON.parse(l).file).filter(Boolean));
    expect([...files].sort()).toEqual([join(d, 'a.pcap'), join(d, 'sub', 'linked.pcap')]);
  });
});
