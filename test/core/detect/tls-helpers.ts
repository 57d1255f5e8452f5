/** Shared by the TLS detector tests: the HTTPS samples (samples/tls/) analysed with and without their key logs. */
import { analyzeFile } from '../../../core/src/engine.js';
import { detectAll, type DetectOptions } from '../../../core/src/detect/index.js';
import { readKeyLogFile } from '../../../core/src/tls/keylog.js';
import type { Connection, Finding, Report } from '../../../core/src/model/types.js';
import { sample } from '../../helpers/env.js';

const cache = new Map<string, Promise<Report>>();

/** samples/tls/NAME.pcap analysed with (keys) or without its key log NAME.keys, findings from detectAll. */
export function analyzeTls(name: string, keys: boolean, opts: DetectOptions = {}): Promise<Report> {
  const k = `${name}\0${keys}\0${JSON.stringify(opts)}`;
  let p = cache.get(k);
  if (!p) {
    p = (async () => {
      const keyLog = keys ? (await readKeyLogFile(sample(`tls/${name}.keys`))).keylog : undefined;
      return analyzeFile(sample(`tls/${name}.pcap`), { keyLog, findings: (r) => detectAll(r, opts) });
    })();
    cache.set(k, p);
  }
  return p;
}

export const of = (r: Report, kind: string): Finding[] => r.findings.filter((f) => f.kind === kind);

/** Measured TCP + TLS handshake of a connection (SYN → ACK, ClientHello → handshake end). */
export function measuredHandshake(c: Connection): number {
  const t = c.tls!;
  return c.handshakeRttMs + (t.handshakeEndTime! - t.clientHelloTime!);
}

/** The TLS part alone. */
export function measuredTls(c: Connection): number {
  return c.tls!.handshakeEndTime! - c.tls!.clientHelloTime!;
}

/** "7 of 8 …" → 7 */
export function avoidableCount(f: Finding): number {
  return Number(/^(\d+) of \d+/.exec(f.summary)?.[1] ?? NaN);
}

/** A deep copy of a report (detectors never change it, but tests modify their copies). */
export function cloneReport(r: Report): Report {
  return structuredClone({ ...r, findings: [] });
}

export function expectWithin(value: number, reference: number, lo = 0.5, hi = 2): void {
  if (!(value >= reference * lo && value <= reference * hi)) throw new Error(`${value} not within ${lo}x–${hi}x of ${reference}`);
}
