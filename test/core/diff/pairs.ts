/**
 * The paired captures of samples/whatif/ (samples/generate-whatif.sh): the same client loop
 * without (BEFORE) and with (AFTER) connection reuse, over the delaying cable (RTT ≈ 40 ms), each
 * with the key log its client wrote.
 */
import { join } from 'node:path';
import { analyzeFile } from '../../../core/src/engine.js';
import { detectAll } from '../../../core/src/detect/index.js';
import { whatIf } from '../../../core/src/whatif/whatif.js';
import { readKeyLogFile } from '../../../core/src/tls/keylog.js';
import type { Report } from '../../../core/src/model/types.js';
import { SAMPLES } from '../../helpers/env.js';

export const WHATIF_SAMPLES = join(SAMPLES, 'whatif');

export interface Pair {
  name: string;
  before: string;
  after: string;
  /** Requests in each capture. */
  n: number;
  origin: string;
  /** One client process, no think time between requests: the what-if must predict AFTER within ±15%. */
  predicts: boolean;
  /** The what-if policy the diff's prediction uses (diff.ts predictionPolicy, from BEFORE's missed-reuse rules). */
  policy: 'reuse' | 'keepalive-timeout';
  /** missed-reuse rules BEFORE shows. */
  missedReuse: string[];
  /** TLS handshakes BEFORE resumed (Node's agent caches sessions; requests.get and curl processes do not). */
  resumedBefore: number;
  /** Smallest share of BEFORE's end-to-end time AFTER saves (the idle-timeout pair is mostly think time). */
  minSaved: number;
}

export const PAIRS: Pair[] = [
  {
    name: 'python requests.get ×50 → one requests.Session',
    before: 'requests-get-50',
    after: 'requests-session-50',
    n: 50,
    origin: '10.99.0.2:18601',
    predicts: true,
    policy: 'reuse',
    // requests.get closes its Session (and connection) before the next one opens.
    missedReuse: ['client-no-pool'],
    resumedBefore: 0,
    minSaved: 0.5,
  },
  {
    name: 'node https.get agent: false ×50 → one keep-alive https.Agent',
    before: 'node-https-new-50',
    after: 'node-https-keepalive-50',
    n: 50,
    origin: '10.99.0.2:18602',
    predicts: true,
    policy: 'reuse',
    missedReuse: ['client-no-pool'],
    resumedBefore: 0,
    minSaved: 0.5,
  },
  {
    // A process per request: its start-up is think time the estimate keeps (and says so).
    name: 'a curl process per URL ×20 → one curl process',
    before: 'curl-per-process-20',
    after: 'curl-one-process-20',
    n: 20,
    origin: '10.99.0.2:18603',
    predicts: false,
    policy: 'reuse',
    missedReuse: ['client-no-pool'],
    resumedBefore: 0,
    minSaved: 0.5,
  },
  {
    name: 'nginx keepalive_timeout 1s → 10s (a keep-alive client, 5 GETs 1.5 s apart)',
    before: 'idle-timeout-1s',
    after: 'idle-timeout-10s',
    n: 5,
    origin: '10.99.0.2:18604',
    predicts: true,
    // The server's idle timeout was the fix: the keepalive-timeout estimate (N = 10 s, the default).
    policy: 'keepalive-timeout',
    missedReuse: ['client-idle-timeout', 'server-idle-timeout'],
    resumedBefore: 4,
    minSaved: 0.03,
  },
];

export const pcap = (stem: string): string => join(WHATIF_SAMPLES, `${stem}.pcap`);
export const keys = (stem: string): string => join(WHATIF_SAMPLES, `${stem}.keys`);

/** The report `wirefall analyze --keylog STEM.keys` makes (findings and what-if included). */
export async function analyzeStem(stem: string, withKeys = true): Promise<Report> {
  const keyLog = withKeys ? (await readKeyLogFile(keys(stem))).keylog : undefined;
  return analyzeFile(pcap(stem), { keyLog, findings: (r) => detectAll(r), whatIf: (r) => whatIf(r) });
}
