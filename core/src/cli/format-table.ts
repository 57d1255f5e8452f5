/**
 * The `--format table` view: one row per connection (endpoints, protocol, lifetime, requests,
 * close), its exchanges beneath, then findings. Plain text, no colours, stable column widths;
 * control characters from the capture are shown escaped (cli/escape.ts).
 */
import type { Connection, Finding, Report, Request, WhatIfEstimate } from '../model/types.js';
import { explainUndecrypted, tlsSummary } from '../tls/explain.js';
import { QUIC_CONNECTION_ID_BASE } from '../quic/connection.js';
import { terminalSafe } from './escape.js';
import { endpointText as ep } from '../model/endpoint.js';
import { lateSegments, lateSegmentsText } from '../model/late-segments.js';
import { harTotalTime } from '../model/phases.js';
import { WHATIF_GENERAL_ASSUMPTIONS } from '../whatif/whatif.js';
import { groupFindings, type FindingGroup } from '../view/finding-groups.js';
import { captureWarnings, warningLine } from '../view/counter-docs.js';

export function ms(v: number | null | undefined): string {
  if (v === null || v === undefined || v < 0) return '-';
  if (v >= 10_000) return `${(v / 1000).toFixed(1)} s`;
  if (v >= 1000) return `${(v / 1000).toFixed(2)} s`;
  if (v >= 10) return `${v.toFixed(0)} ms`;
  if (v >= 1) return `${v.toFixed(1)} ms`;
  // As detect/util's fmtMs: loopback and LAN handshakes take microseconds, "0.0 ms" says nothing.
  return `${Math.round(v * 1000)} µs`;
}

export function bytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

function closeText(c: Connection): string {
  const cl = c.close;
  if (cl.how === 'open') return 'open at capture end';
  const who = cl.by ?? '?';
  // QUIC has no FIN: its close is a CONNECTION_CLOSE frame (or a stateless reset / idle timeout).
  const how = c.transport === 'quic' ? 'close' : cl.how === 'rst' ? 'RST' : 'FIN';
  const why = cl.detail ? ` — ${cl.detail}` : cl.reason && cl.reason !== `${who}-close` ? ` (${cl.reason})` : '';
  return `${who} ${how}${why}`;
}

/** "3 TCP connections" or "3 TCP connections, 2 QUIC connections". */
function connectionCounts(cs: Connection[]): string {
  let quic = 0;
  for (const c of cs) if (c.transport === 'quic') quic++;
  const tcp = cs.length - quic;
  return quic > 0 ? `${tcp} TCP connections, ${quic} QUIC connections` : `${tcp} TCP connections`;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function requestLine(r: Request): string {
  const status = r.status === null ? '---' : String(r.status);
  const t = r.timings;
  const total = harTotalTime(t);
  const flags = [r.pipelined ? 'pipelined' : '', r.state !== 'complete' ? r.state : '', r.anomalies.length ? `${r.anomalies.length} anomalies` : '']
    .filter(Boolean)
    .join(', ');
  return `    #${pad(String(r.index), 3)} ${pad(r.method, 7)} ${pad(status, 4)} ${pad(ms(total), 9)} wait ${pad(ms(t.wait), 9)} ${r.url}${flags ? `  [${flags}]` : ''}`;
}

export function findingLines(f: Finding, indent = '  '): string[] {
  const cost = f.costMs !== undefined ? ` (cost ~${ms(f.costMs)})` : '';
  const lines = [`${indent}[${f.severity}] ${f.kind}${f.rule ? `/${f.rule}` : ''}: ${f.summary}${cost}`];
  for (const e of f.evidence.slice(0, 5)) {
    lines.push(`${indent}    evidence: ${e.packet !== null ? `packet ${e.packet}` : ''}${e.time !== null ? ` at ${ms(e.time)}` : ''} — ${e.what}`);
  }
  if (f.evidence.length > 5) lines.push(`${indent}    … ${f.evidence.length - 5} more`);
  lines.push(`${indent}    advice: ${f.advice}`);
  return lines;
}

/** Cases listed under a group in the table (the JSON's findingGroups[].findings has them all). */
export const TABLE_GROUP_CASES = 10;

/**
 * A finding group in the table: a single case as findingLines; several as one header (severity,
 * kind/rule, count, connections, total without double counting), the worst case with its evidence,
 * the advice once, then one line per case.
 */
export function groupLines(g: FindingGroup, findings: readonly Finding[], indent = '  '): string[] {
  if (g.findings.length === 1) return findingLines(findings[g.findings[0]!]!, indent);
  const worst = findings[g.worst]!;
  const n = g.findings.length;
  const conns = g.connectionIds.length === 0 ? '' : g.connectionIds.length <= 3 ? ` on connection${g.connectionIds.length === 1 ? '' : 's'} ${g.connectionIds.join(', ')}` : ` on ${g.connectionIds.length} connections`;
  // The union of the cases' time ranges bounds the total: overlapping cases are counted once.
  const total = g.costMs > 0 ? ` (total ~${ms(g.costMs)}${g.costSumMs > g.costMs ? `, not ${ms(g.costSumMs)}: the cases overlap in time` : ''})` : '';
  const lines = [`${indent}[${g.severity}] ${g.kind}${g.rule ? `/${g.rule}` : ''} ×${n}${conns}${total}`];
  const cost = worst.costMs !== undefined ? ` (cost ~${ms(worst.costMs)})` : '';
  lines.push(`${indent}    worst: ${worst.summary}${cost}`);
  for (const e of worst.evidence.slice(0, 3)) lines.push(`${indent}      evidence: ${e.packet !== null ? `packet ${e.packet}` : ''}${e.time !== null ? ` at ${ms(e.time)}` : ''} — ${e.what}`);
  lines.push(`${indent}    advice: ${worst.advice}`);
  lines.push(`${indent}    cases:`);
  for (const i of g.findings.slice(0, TABLE_GROUP_CASES)) {
    const f = findings[i]!;
    lines.push(`${indent}      - ${f.summary}${f.costMs !== undefined ? ` (cost ~${ms(f.costMs)})` : ''}`);
  }
  if (n > TABLE_GROUP_CASES) lines.push(`${indent}      … ${n - TABLE_GROUP_CASES} more (--format json: findingGroups)`);
  return lines;
}

export function formatTable(report: Report): string {
  const out: string[] = [];
  const cap = report.capture;
  out.push(
    `${cap.file}: ${cap.format}${cap.gzip ? '.gz' : ''}, ${cap.packets} packets, ${ms(cap.durationMs)}, ` +
      `${connectionCounts(report.connections)}, ${report.requests.length} requests`,
  );
  if (cap.error) out.push(`  ! ${cap.error.code}: ${cap.error.message}`);
  const kc = cap.counters;
  if (kc.keyLogLines !== undefined && !kc.keyLogEntries) {
    out.push(`  ! key log: no usable line among ${kc.keyLogLines} (${kc.keyLogGarbageLines ?? 0} not in the NSS key log format): is it the file SSLKEYLOGFILE wrote?`);
  }
  for (const i of cap.interfaces) if (!i.supported) out.push(`  ! interface ${i.index}: unsupported link type ${i.linkTypeName} (${i.packets} packets skipped)`);
  // Counted anomalies, each with what it means and what to do (view/counter-docs.ts, as the UI's banner).
  const keyLogSaid = kc.keyLogLines !== undefined && !kc.keyLogEntries;
  for (const w of captureWarnings(kc, report.connections)) if (!(keyLogSaid && w.name === 'keyLogGarbageLines')) out.push(`  ! ${warningLine(w)}`);
  const byConn = new Map<number, Request[]>();
  for (const r of report.requests) {
    const l = byConn.get(r.connectionId) ?? [];
    l.push(r);
    byConn.set(r.connectionId, l);
  }
  // Findings at human scale (view/finding-groups.ts, as the UI's cards and the JSON's findingGroups):
  // one entry per kind, rule and connection set, under the connection its first case names.
  const groups = report.findingGroups ?? groupFindings(report.findings);
  const groupsByConn = new Map<number, FindingGroup[]>();
  const unattached: FindingGroup[] = [];
  for (const g of groups) {
    const id = report.findings[Math.min(...g.findings)]?.connectionIds[0];
    if (id === undefined) unattached.push(g);
    else groupsByConn.set(id, [...(groupsByConn.get(id) ?? []), g]);
  }
  out.push('');
  out.push(`  ${pad('ID', 4)} ${pad('CLIENT', 22)} ${pad('SERVER', 22)} ${pad('PROTO', 9)} ${pad('START', 9)} ${pad('LIFETIME', 9)} ${pad('REQS', 5)} CLOSE`);
  for (const c of report.connections) {
    const start = c.startSeen ? ms(c.firstTime) : `${ms(c.firstTime)}*`;
    out.push(
      `  ${pad(c.transport === 'quic' ? `q${c.id - QUIC_CONNECTION_ID_BASE}` : String(c.id), 4)} ${pad(ep(c.client), 22)} ${pad(ep(c.server), 22)} ${pad(c.protocol, 9)} ${pad(start, 9)} ${pad(ms(c.durationMs), 9)} ${pad(String(c.requestCount), 5)} ${closeText(c)}`,
    );
    const extra: string[] = [];
    if (c.handshakeRttMs >= 0) extra.push(`handshake ${ms(c.handshakeRttMs)}`);
    const s = c.stats;
    extra.push(`↑ ${s.client.packets} pkts ${bytes(s.client.payloadBytes)}`, `↓ ${s.server.packets} pkts ${bytes(s.server.payloadBytes)}`);
    const lost = s.client.lostBytes + s.server.lostBytes;
    if (lateSegments(s.client)) extra.push(`↑ ${lateSegmentsText(lateSegments(s.client))}`);
    if (lateSegments(s.server)) extra.push(`↓ ${lateSegmentsText(lateSegments(s.server))}`);
    if (lost) extra.push(`${bytes(lost)} never captured`);
    if (c.keepAlive?.timeoutS !== undefined || c.keepAlive?.max !== undefined) {
      extra.push(`Keep-Alive${c.keepAlive.timeoutS !== undefined ? ` timeout=${c.keepAlive.timeoutS}` : ''}${c.keepAlive.max !== undefined ? ` max=${c.keepAlive.max}` : ''}`);
    }
    if (c.idle.length) extra.push(`idle ${c.idle.map((i) => ms(i.durationMs)).join(', ')}`);
    out.push(`       ${extra.join(' · ')}`);
    if (c.tls) {
      const t = c.tls;
      const hs = t.clientHelloTime !== null && t.handshakeEndTime !== null ? ` in ${ms(t.handshakeEndTime - t.clientHelloTime)}` : '';
      out.push(`       ${tlsSummary(t)}${hs}${t.decrypted ? ' · decrypted' : ''}`);
      if (t.undecryptedReason) out.push(`       not decrypted (${t.undecryptedReason}): ${explainUndecrypted(t.undecryptedReason)}`);
    }
    for (const r of (byConn.get(c.id) ?? []).sort((a, b) => a.index - b.index)) out.push(requestLine(r));
    for (const g of groupsByConn.get(c.id) ?? []) out.push(...groupLines(g, report.findings, '    '));
  }
  if (report.connections.some((c) => !c.startSeen)) out.push('  * connection started before the capture (no SYN seen)');
  if (unattached.length) {
    out.push('', 'Findings:');
    for (const g of unattached) out.push(...groupLines(g, report.findings));
  }
  if (report.findings.length) {
    const kinds = new Map<string, number>();
    for (const f of report.findings) kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
    const grouped = groups.length < report.findings.length ? ` (${groups.length} group${groups.length === 1 ? '' : 's'})` : '';
    out.push('', `Findings: ${[...kinds].map(([k, n]) => `${n} ${k}`).join(', ')}${grouped}`);
  }
  if (report.whatIf && report.whatIf.reuse.requests > 0) out.push('', ...whatIfLines(report));
  // Captured text (hosts, URLs, SNI, evidence, file names) reaches the terminal only escaped.
  return out.map(terminalSafe).join('\n') + '\n';
}

/** Rows per policy kept in the table (the JSON has them all, up to MAX_WHATIF_ORIGINS). */
const WHATIF_TABLE_ORIGINS = 5;

function estimateLine(e: WhatIfEstimate, indent: string): string {
  const h = e.handshakesAvoided;
  const pct = e.savedPct >= 0.05 ? `, ${e.savedPct.toFixed(1)}%` : '';
  const hs = h.tcp ? `, ${h.tcp} TCP${h.tls ? ` + ${h.tls} TLS` : ''} handshake${h.tcp + h.tls === 1 ? '' : 's'} avoided (${ms(h.ms)})` : '';
  return `${indent}${ms(e.measuredMs)} → ${ms(e.estimatedMs)} (saved ${ms(e.savedMs)}${pct}); ${e.connections} → ${e.estimatedConnections} connections${hs}`;
}

/** The what-if section: measured vs estimated end-to-end time per policy and origin, and its assumptions. */
export function whatIfLines(report: Report): string[] {
  const w = report.whatIf!;
  const out = ['What if (replayed on this capture’s own timings; estimates, not measurements):'];
  const assumptions: string[] = [];
  for (const [name, e] of [
    ['reuse', w.reuse],
    ['h2', w.h2],
    // Absent from reports made before the policy existed.
    ['keepalive-timeout', w.keepaliveTimeout],
  ] as const) {
    if (!e || e.requests === 0) continue;
    if (name === 'keepalive-timeout') {
      const title = `with the server’s idle timeout raised to ${e.keepaliveTimeoutS} s`;
      const closes = e.serverIdleCloses ?? 0;
      if (!closes) {
        out.push(`  ${title}: the server closed no connection after an idle, nothing changes`);
        continue;
      }
      const avoided = e.serverIdleClosesAvoided ?? 0;
      const enough = e.sufficientTimeoutS != null && e.keepaliveTimeoutS !== undefined && e.sufficientTimeoutS < e.keepaliveTimeoutS ? `, ${e.sufficientTimeoutS} s would do` : '';
      out.push(`  ${title}: ${estimateLine(e, '')}; ${avoided} of ${closes} idle closes by the server avoided${enough} · confidence ${Math.round(e.confidence * 100)}%`);
    } else {
      const title = name === 'reuse' ? 'with connection reuse' : 'with one HTTP/2 connection per HTTP/1.x origin';
      out.push(`  ${title}: ${estimateLine(e, '')} · confidence ${Math.round(e.confidence * 100)}%`);
    }
    const rows = e.perOrigin.filter((o) => o.savedMs > 0 || e.perOrigin.length === 1);
    if (e.perOrigin.length > 1) {
      for (const o of rows.slice(0, WHATIF_TABLE_ORIGINS)) {
        out.push(`    ${o.client} → ${o.origin}: ${estimateLine({ ...e, ...o, savedPct: o.measuredMs > 0 ? (100 * o.savedMs) / o.measuredMs : 0 }, '')}`);
      }
      const more = rows.length - WHATIF_TABLE_ORIGINS + e.originsOmitted;
      if (more > 0) out.push(`    … ${more} more origins`);
    }
    for (const a of e.assumptions) if (!WHATIF_GENERAL_ASSUMPTIONS[name].includes(a) && !assumptions.includes(a)) assumptions.push(a);
  }
  // The assumptions every estimate makes are in the JSON; the table shows those this capture raised.
  for (const a of assumptions) out.push(`    note: ${a}`);
  out.push('    (slow start modelled from RTT and sizes, server wait and transfers kept as measured: whatIf.*.assumptions in --format json)');
  return out;
}
