/**
 * The builder thread of a compact document (view/core-link.ts `analyzeCompact`, split mode): the
 * analysis thread runs the engine, the detectors and the what-if collector and sends each record as
 * the JSON it would spill anyway; this thread parses it back, spills it and builds the rows
 * (view/stream-model.ts `CompactBuilder`). The two halves cost about the same, so on two cores the
 * document is ready in about the time of the analysis alone.
 *
 * Protocol (workerData: {role: 'compact-builder', dir, flow}):
 *   in  {type:'batch', text}   records, one a line: 'r' + a Request's JSON, or 'c' + a Connection's
 *                              (JSON.stringify escapes line breaks, so '\n' only separates them);
 *                              each batch processed decrements flow[FLOW_IN_FLIGHT] and notifies
 *   in  {type:'finish', capture, whatIf, findings, wirefall}
 *   out {type:'done', compact} (its buffers transferred) · {type:'error', error: {code, message}}
 * A failure also sets flow[FLOW_FAILED] (and notifies), so that an analysis thread waiting for room
 * (`Atomics.wait`) stops waiting.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { CaptureInfo, Connection, Finding, Request, WhatIf } from '../model/types.js';
import { phases } from '../model/phases.js';
import { byStart } from '../detect/index.js';
import { CompactBuilder, compactTransfer, FLOW_FAILED, FLOW_IN_FLIGHT } from './stream-model.js';

type In = { type: 'batch'; text: string } | { type: 'finish'; capture: CaptureInfo; whatIf: WhatIf | null; findings: Finding[]; wirefall: string };

const port = parentPort;
const data = workerData as { role?: string; dir: string; flow: SharedArrayBuffer } | null;
if (port && data?.role === 'compact-builder') {
  const { dir, flow } = data;
  const f = new Int32Array(flow);
  const b = new CompactBuilder(dir, phases);
  const fail = (e: unknown) => {
    b.abort();
    Atomics.store(f, FLOW_FAILED, 1);
    Atomics.notify(f, FLOW_IN_FLIGHT);
    const err = e as { code?: unknown; message?: unknown };
    port.postMessage({ type: 'error', error: { code: typeof err?.code === 'string' ? err.code : 'analysis-failed', message: String(err?.message ?? e) } });
  };
  port.on('message', (m: In) => {
    if (Atomics.load(f, FLOW_FAILED)) return;
    if (m.type === 'batch') {
      try {
        const text = m.text;
        for (let at = 0; at < text.length; ) {
          let end = text.indexOf('\n', at);
          if (end < 0) end = text.length;
          const json = text.slice(at + 1, end);
          if (text.charCodeAt(at) === 0x72 /* r */) b.request(JSON.parse(json) as Request, json);
          else b.connection(JSON.parse(json) as Connection, json);
          at = end + 1;
        }
      } catch (e) {
        fail(e);
        return;
      } finally {
        Atomics.sub(f, FLOW_IN_FLIGHT, 1);
        Atomics.notify(f, FLOW_IN_FLIGHT);
      }
      return;
    }
    for (const x of m.findings) b.finding(x);
    b.finish(m.capture, m.whatIf, m.wirefall, byStart).then((compact) => port.postMessage({ type: 'done', compact }, compactTransfer(compact)), fail);
  });
}
