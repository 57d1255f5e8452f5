/** Shared by the QUIC detector tests: samples/quic captures analysed with the detectors, with or without their key logs. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeFile } from '../../../core/src/engine.js';
import { detectAll } from '../../../core/src/detect/index.js';
import { QUIC_CONNECTION_ID_BASE } from '../../../core/src/quic/index.js';
import { readKeyLogFile } from '../../../core/src/tls/keylog.js';
import type { Connection, Finding, Report } from '../../../core/src/model/types.js';
import { requireResource, SAMPLES } from '../../helpers/env.js';

export const QDIR = join(SAMPLES, 'quic');
export const Q = QUIC_CONNECTION_ID_BASE;
export const haveQuicSamples = (): boolean => requireResource('samples/quic', existsSync(QDIR), 'run samples/generate-quic.sh');

export const capture = (stem: string): string => join(QDIR, existsSync(join(QDIR, `${stem}.pcap`)) ? `${stem}.pcap` : `${stem}.pcapng`);
export const keysOf = (stem: string): string => join(QDIR, `${stem}.keys`);

const cache = new Map<string, Promise<Report>>();

/** A samples/quic capture with every detector, with its key log (when it has one) or without. */
export function loadQuic(stem: string, keys = true): Promise<Report> {
  const k = `${stem}\0${keys}`;
  let p = cache.get(k);
  if (!p) {
    p = (async () => {
      const kf = keysOf(stem);
      const keyLog = keys && existsSync(kf) ? (await readKeyLogFile(kf)).keylog : undefined;
      return analyzeFile(capture(stem), { keyLog, findings: (r) => detectAll(r) });
    })();
    cache.set(k, p);
  }
  return p;
}

/** Findings of the QUIC detectors (layer `quic`). */
export const quicFindings = (r: Report): Finding[] => r.findings.filter((f) => f.layer === 'quic');
export const ids = (fs: Finding[]): string[] => fs.map((f) => `${f.kind}/${f.rule}`).sort();

export const quicConns = (r: Report): Connection[] => r.connections.filter((c) => c.transport === 'quic');

/** A report's connections and requests with new findings from `detectAll` (for edited copies). */
export function redetect(r: Report, connections: Connection[], requests = r.requests): Finding[] {
  return detectAll({ ...r, connections, requests, findings: [] }).filter((f) => f.layer === 'quic');
}
