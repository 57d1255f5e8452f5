/**
 * `wirefall diff BEFORE AFTER`: the two captures analysed as `analyze` does (the same reader, key
 * logs, detectors and what-if estimate), then core/src/diff/diff.ts side by side. Output as
 * `analyze`'s: a table by default, `--format json` compact (`--pretty` indented), `-o FILE`
 * written to a temporary file and renamed onto FILE when the run ends with exit 0, 1 or 3.
 *
 * Exit codes: an input that cannot be analysed exits as `analyze` would on it (65 not a capture,
 * 66 unreadable, 4 unsupported link type; the worse of the two), before any output; 3 when a
 * capture is truncated part-way (the diff of what was read is still written); 1 when a regression
 * of a kind named by --fail-on-regression was found (and no input error).
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';
import { diffReports, REGRESSION_KINDS, type Diff, type DiffFinding, type DiffOrigin, type DiffOriginSide, type RegressionKind } from '../diff/diff.js';
import { formatCount, percentChange, signedChange } from '../diff/format.js';
import type { PhaseId } from '../model/types.js';
import { PHASE_IDS } from '../model/phases.js';
import { runBatch, defaultJobs, type FileTask } from './batch.js';
import { writeJson } from './json-out.js';
import { commitUnlessStopped, openOutput } from './output.js';
import { exitNow, RunStop, say } from './stop.js';
import { terminalSafe } from './escape.js';
import { ms } from './format-table.js';
import { EXIT } from './main.js';
import { STDIN_PATH } from '../capture/reader.js';

/** Parses `--fail-on-regression KIND[,KIND]` ('any' for every kind). */
export function regressionKinds(v: string | undefined): RegressionKind[] {
  if (v === undefined) return [];
  const out = new Set<RegressionKind>();
  for (const k of v.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (k === 'any') REGRESSION_KINDS.forEach((x) => out.add(x));
    else if ((REGRESSION_KINDS as readonly string[]).includes(k)) out.add(k as RegressionKind);
    else throw new UsageError(`unknown --fail-on-regression kind ${k} (${REGRESSION_KINDS.join(', ')} or any)`);
  }
  if (!out.size) throw new UsageError('--fail-on-regression needs at least one kind');
  return [...out];
}

export async function diff(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      format: { type: 'string', short: 'f', default: 'table' },
      output: { type: 'string', short: 'o' },
      pretty: { type: 'boolean', default: false },
      keylog: { type: 'string', multiple: true },
      'fail-on-regression': { type: 'string' },
    },
  });
  const format = values.format!;
  if (format !== 'table' && format !== 'json') throw new UsageError(`unknown --format ${format} for diff (table or json)`);
  if (positionals.length !== 2) throw new UsageError('diff needs exactly two captures: BEFORE AFTER');
  if (positionals.every((p) => p === STDIN_PATH)) throw new UsageError(`diff can read at most one capture from standard input ('-')`);
  const failOn = regressionKinds(values['fail-on-regression']);

  const tasks: FileTask[] = positionals.map((file) => ({ file, mode: 'report', keylogFiles: values.keylog }));
  const stop = new RunStop();
  const unlisten = stop.onSignals();
  const run = runBatch(tasks, Math.min(2, defaultJobs()), {}, () => {}, stop.signal);
  const outcomes = await Promise.race([run, stop.stopped.then(() => null)]);
  if (!outcomes || stop.reason || outcomes.length < 2) return exitNow(stop.exitCode());

  // An input that could not be analysed: its error, as analyze reports it, and no diff.
  const failed = outcomes.filter((o) => o.error);
  if (failed.length) {
    for (const o of failed) say(`wirefall: ${o.error!.message}\n`);
    unlisten();
    return Math.max(...failed.map((o) => o.error!.exitCode));
  }
  let code: number = EXIT.OK;
  for (const o of outcomes) {
    const err = o.report!.capture.error;
    if (err) {
      say(`wirefall: ${o.file}: ${err.message} (analysed what came before)\n`);
      code = EXIT.TRUNCATED;
    }
  }
  const d = diffReports(outcomes[0].report!, outcomes[1].report!, { before: positionals[0], after: positionals[1] });
  const hit = d.regressions.filter((r) => failOn.includes(r.kind));
  if (hit.length) code = Math.max(code, EXIT.FINDINGS);

  const out = openOutput(values.output, positionals, stop);
  if (format === 'table') out.write(formatDiffTable(d));
  else writeJson(d, (s) => out.write(s), { pretty: values.pretty === true });
  // A write failure or a signal during the output: FILE is left as it was.
  commitUnlessStopped(out, stop);
  unlisten();
  for (const r of hit) say(`wirefall: regression (${r.kind}): ${terminalSafe(r.detail)}\n`);
  return code;
}

// ------------------------------------------------------------------------- table ----

const signed = signedChange;

/** ", −65.5%" (relative change), or '' when there is nothing to compare with. */
function pct(before: number, after: number): string {
  const p = percentChange(before, after);
  return p ? `, ${p}` : '';
}

const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;
const num = formatCount;

type Row = [string, string, string, string];

function originRows(o: DiffOrigin): Row[] {
  const x = o.before;
  const y = o.after;
  const rows: Row[] = [];
  const both = <T,>(f: (s: DiffOriginSide) => T): [T | null, T | null] => [x ? f(x) : null, y ? f(y) : null];
  const cell = (v: string | null): string => v ?? '-';
  const countRow = (label: string, f: (s: DiffOriginSide) => number) => {
    const [p, q] = both(f);
    rows.push([label, cell(p === null ? null : num(p)), cell(q === null ? null : num(q)), p !== null && q !== null ? signed(q - p, num) : '']);
  };
  const msRow = (label: string, f: (s: DiffOriginSide) => number) => {
    const [p, q] = both(f);
    rows.push([label, cell(p === null ? null : ms(p)), cell(q === null ? null : ms(q)), p !== null && q !== null ? (q === p ? '=' : `${signed(q - p, ms)}${p > 0 ? ` (${pct(p, q).slice(2)})` : ''}`) : '']);
  };
  const [pb, pa] = both((s) => s.protocol);
  rows.push(['protocol', cell(pb), cell(pa), '']);
  countRow('connections', (s) => s.connections);
  countRow('requests', (s) => s.requests);
  countRow('requests per connection', (s) => s.requestsPerConnection);
  countRow('handshakes', (s) => s.handshakes);
  msRow('handshake time', (s) => s.handshakeMs);
  const tls = both((s) => (s.tls ? `${s.tls.resumed} of ${s.tls.handshakes}` : null));
  if (tls[0] !== null || tls[1] !== null) rows.push(['TLS resumed', cell(tls[0]), cell(tls[1]), '']);
  msRow('end-to-end', (s) => s.durationMs);
  for (const id of PHASE_IDS as readonly PhaseId[]) {
    const [p, q] = both((s) => s.phases[id] ?? null);
    if (!p && !q) continue;
    const c = (v: typeof p) => (v ? `${ms(v.p50)} / ${ms(v.p95)} ×${v.count}` : '-');
    rows.push([`${id} p50 / p95`, c(p), c(q), p && q ? signed(q.p50 - p.p50, ms) : '']);
  }
  return rows;
}

function findingLine(tag: string, f: DiffFinding): string {
  const side = f.after ?? f.before!;
  const where = f.origin ? ` (${f.origin})` : '';
  const counts = f.before && f.after ? ` ${f.before.count} → ${f.after.count}` : '';
  const cost = f.before && f.after && (f.before.costMs || f.after.costMs) ? `, cost ${ms(f.before.costMs)} → ${ms(f.after.costMs)}` : side.costMs ? `, cost ${ms(side.costMs)}` : '';
  return `  ${tag.padEnd(10)} [${side.severity}] ${f.kind}${side.rules.length ? `/${side.rules.join(',')}` : ''}${where}${counts}${cost}: ${side.summary}`;
}

/** The `--format table` view of a diff. Plain text; captured text escaped (cli/escape.ts). */
export function formatDiffTable(d: Diff): string {
  const out: string[] = [];
  const b = d.before;
  const a = d.after;
  out.push(`BEFORE ${b.file}: ${plural(b.connections, 'connection')}, ${plural(b.requests, 'request')}, end-to-end ${ms(b.durationMs)}`);
  out.push(`AFTER  ${a.file}: ${plural(a.connections, 'connection')}, ${plural(a.requests, 'request')}, end-to-end ${ms(a.durationMs)}`);
  out.push(`end-to-end ${ms(b.durationMs)} → ${ms(a.durationMs)} (${signed(a.durationMs - b.durationMs, ms)}${pct(b.durationMs, a.durationMs)}); connections ${b.connections} → ${a.connections}; handshake time ${ms(b.handshakeMs)} → ${ms(a.handshakeMs)}`);
  if (d.prediction) {
    const p = d.prediction;
    const what = p.policy === 'keepalive-timeout' ? `with the server's idle timeout raised to ${p.keepaliveTimeoutS} s` : 'with connection reuse';
    out.push(
      `BEFORE's what-if ${what} estimated ${ms(p.estimatedMs)} and ${p.beforeConnections} → ${p.estimatedConnections} connections; AFTER measured ${ms(p.afterMeasuredMs)} and ${p.afterConnections} (estimate ${p.errorPct >= 0 ? '+' : '−'}${Math.abs(p.errorPct).toFixed(1)}%)`,
    );
  }
  for (const o of d.origins) {
    const rows = originRows(o);
    const w0 = Math.max(24, ...rows.map((r) => r[0].length));
    const w1 = Math.max(6, ...rows.map((r) => r[1].length));
    const w2 = Math.max(5, ...rows.map((r) => r[2].length));
    out.push('', `${o.origin}${o.before ? '' : ' (AFTER only)'}${o.after ? '' : ' (BEFORE only)'}`);
    out.push(`  ${''.padEnd(w0)}  ${'BEFORE'.padEnd(w1)}  ${'AFTER'.padEnd(w2)}  CHANGE`);
    for (const r of rows) out.push(`  ${r[0].padEnd(w0)}  ${r[1].padEnd(w1)}  ${r[2].padEnd(w2)}  ${r[3]}`.trimEnd());
  }
  const f = d.findings;
  out.push('', `Findings: ${f.resolved.length} resolved, ${f.new.length} new, ${f.unchanged.length} unchanged (matched by kind and origin)`);
  for (const x of f.resolved) out.push(findingLine('resolved', x));
  for (const x of f.new) out.push(findingLine('new', x));
  for (const x of f.unchanged) out.push(findingLine('unchanged', x));
  if (d.regressions.length) {
    out.push('', `Regressions (--fail-on-regression): ${d.regressions.length}`);
    for (const r of d.regressions) out.push(`  ${r.kind}: ${r.detail}`);
  } else out.push('', 'Regressions (--fail-on-regression): none');
  return out.map(terminalSafe).join('\n') + '\n';
}
