/**
 * Every sample capture against the complete set of findings it must produce (and nothing else):
 * kind/rule, the connections and requests named, and the cost within a stated tolerance. Ground
 * truth: samples/README.md (loopback captures) and samples/FINDINGS.md (f-*.pcap, RTT ≈ 40 ms).
 * Loopback handshakes take tens of microseconds, so their costs are checked against the
 * connections' own handshake times instead (see missed-reuse.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { listCaptures, sample, SAMPLES } from '../../helpers/env.js';
import { analyze, compact, type Expected } from './helpers.js';

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

/** Clean samples: no findings at all. */
const CLEAN = [
  'keepalive-pool.pcap', // one curl, 10 URLs, one connection
  'pool-node-fetch.pcap', // keep-alive agent, 5 requests on one connection
  'http10-keepalive.pcap', // HTTP/1.0 keep-alive negotiated and honoured
  'browser-pageload.pcap.gz', // 6 parallel connections (Chromium's limit), each reused
  'chunked-gzip.pcap',
  'expect-100-continue.pcap',
  'close-delimited.pcap', // one connection: nothing to reuse, and the response is not keep-alive
  'tcp-loss-http1.pcap',
  'ipv6-keepalive.pcap',
  'f-pool-rtt.pcap', // one curl, 10 URLs, over RTT 40 ms
  'f-parallel6-rtt.pcap', // 6 parallel busy connections: within the budget
  'f-pipeline-fast-rtt.pcap', // pipelined fast responses: latency, not blocking
  // Two ngtcp2 client runs over QUIC (analysed here without its key log: the QUIC layer's
  // findings are pinned in quic-samples.test.ts; with keys it has the same churn as the other seeds).
  'bench-seed-quic.pcap',
];

/**
 * HTTP/2 captures: no HTTP/1 findings (layer http1 / http1-pipelining). HTTP/2 detectors are
 * tested in test/core/detect/h2/.
 */
const H2 = [
  'h2-clean.pcap',
  'h2-flow-control.pcap',
  'h2-loss-hol.pcap',
  'h2-push.pcap',
  'h2-push-cancel.pcap', // a pushed stream cancelled by the client, one promised and never answered
  'h2-two-connections.pcap',
  'h2c-prior-knowledge.pcap',
  'h2c-upgrade.pcap',
  'h2load.pcap',
];
const isHttp1Finding = (f: { layer?: string }) => f.layer === 'http1' || f.layer === 'http1-pipelining';

const EXPECTED: Record<string, Expected[]> = {
  'no-pool.pcap': [{ id: 'missed-reuse/client-no-pool', connections: range(0, 9), requests: range(1, 9) }],
  'no-pool-node-fetch.pcap': [{ id: 'missed-reuse/client-no-pool', connections: range(0, 4), requests: range(1, 4) }],
  'server-connection-close.pcap': [{ id: 'missed-reuse/server-connection-close', connections: range(0, 4), requests: range(1, 4) }],
  'http10-close.pcap': [{ id: 'missed-reuse/http10-no-keepalive', connections: range(0, 3), requests: range(1, 3) }],
  'idle-timeout.pcap': [
    { id: 'keepalive-policy/timeout-too-short', connections: [0, 1], requests: [1] },
    { id: 'missed-reuse/server-idle-timeout', connections: [0, 1], requests: [1] },
  ],
  'keepalive-timeout-max.pcapng': [
    { id: 'keepalive-policy/server-stopped-keepalive', connections: [0, 1], requests: [2, 5] },
    { id: 'missed-reuse/max-requests', connections: [0, 1, 2], requests: [3, 6] },
  ],
  // Two curl runs in a row (14 then 3 URLs): the second connection is churn, truthfully.
  'bench-seed-http1.pcap': [{ id: 'missed-reuse/client-no-pool', connections: [0, 1], requests: [14] }],
  // The same fetch list over plain HTTP, and over TLS 1.3 (analysed here without its key log: the
  // requests are not visible, the TLS records show the same churn — tls-missed-reuse.ts).
  'bench-seed-https-clear.pcap': [{ id: 'missed-reuse/client-no-pool', connections: [0, 1], requests: [14] }],
  'bench-seed-https.pcap': [{ id: 'missed-reuse/client-no-pool', connections: [0, 1], requests: [] }],
  // h2load --h1 -c 16: sixteen connections opened at once to one origin, ten past the budget of six.
  'bench-seed-h1-requests.pcap': [{ id: 'excess-parallel-connections', connections: range(6, 15), requests: range(6, 15) }],
  // Hung request 2 (GET /f2.txt), its predecessor 1 and the upstream copy 0; nginx keepalive 4 s.
  'blind-relay.pcap': [{ id: 'blind-relay-hang', connections: [0, 1], requests: [2, 1, 0], cost: [3900, 30] }],
  'stale-race.pcap': [{ id: 'keepalive-policy/stale-connection-race', connections: [0, 1], requests: [2, 1], cost: [1.5, 1.5] }],
  // /slow answers after 500 ms; both fast responses wait behind it.
  'pipelining.pcap': [
    { id: 'hol-stall/blocked', connections: [0], requests: [1, 0], cost: [502, 5] },
    { id: 'hol-stall/blocked', connections: [0], requests: [2, 0, 1], cost: [503, 5] },
  ],
  // RTT 40 ms: 9 avoidable handshakes ≈ 360 ms (±10 %).
  'f-no-pool-rtt.pcap': [{ id: 'missed-reuse/client-no-pool', connections: range(0, 9), requests: range(1, 9), cost: [360, 36] }],
  'f-idle-unused-rtt.pcap': [{ id: 'missed-reuse/idle-connection-unused', connections: range(0, 4), requests: range(1, 4), cost: [160, 16] }],
  'f-parallel8-rtt.pcap': [{ id: 'excess-parallel-connections', connections: [6, 7], requests: [6, 7], cost: [80, 8] }],
  // nginx keepalive_timeout 3 s upstream; the client's second request went out ≈ 100 ms after the first response.
  'f-blind-relay-rtt.pcap': [{ id: 'blind-relay-hang', connections: [0, 1], requests: [2, 1, 0], cost: [2900, 50] }],
  // POST sent 5 ms after the server's FIN, retried 60 ms after that (+ ≈ 40 ms handshake).
  'f-stale-race-post-rtt.pcap': [
    { id: 'keepalive-policy/keepalive-timeout-contradicted', connections: [0], requests: [0] },
    { id: 'keepalive-policy/stale-connection-race', connections: [0, 1], requests: [2, 1], cost: [105, 15] },
  ],
  'f-keepalive-timeout-lies-rtt.pcap': [
    { id: 'keepalive-policy/keepalive-timeout-contradicted', connections: [0], requests: [0] },
    { id: 'keepalive-policy/timeout-too-short', connections: [0, 1], requests: [1] },
    { id: 'missed-reuse/server-idle-timeout', connections: [0, 1], requests: [1], cost: [40, 4] },
  ],
  // nginx keepalive_requests 3 behind a hand-written `Keep-Alive: timeout=5, max=10`.
  'f-keepalive-max-lies-rtt.pcap': [
    { id: 'keepalive-policy/keepalive-max-contradicted', connections: [0], requests: [0, 2] },
    { id: 'keepalive-policy/server-stopped-keepalive', connections: [0], requests: [2] },
    { id: 'missed-reuse/max-requests', connections: [0, 1], requests: [3], cost: [40, 8] },
  ],
  'f-http10-drop-keepalive-rtt.pcap': [{ id: 'keepalive-policy/client-dropped-keepalive', connections: [0], requests: [2] }],
  // The POST's response takes 300 ms (+ a few ms of server work); the GET behind it waits.
  'f-pipeline-post-rtt.pcap': [
    { id: 'hol-stall/after-non-idempotent', connections: [0], requests: [0, 1] },
    { id: 'hol-stall/blocked', connections: [0], requests: [1, 0], cost: [305, 15] },
  ],
};

describe('findings on the sample captures', () => {
  it('every sample capture is listed here (clean or with its expected findings)', () => {
    const all = listCaptures(SAMPLES).map((p) => p.slice(SAMPLES.length + 1));
    const listed = new Set([...CLEAN, ...H2, ...Object.keys(EXPECTED)]);
    expect(all.filter((f) => !listed.has(f))).toEqual([]);
    for (const f of listed) expect(existsSync(sample(f)), f).toBe(true);
  });

  it.each(CLEAN)('%s: no findings', async (file) => {
    const r = await analyze(sample(file));
    expect(compact(r.findings)).toEqual([]);
  });

  it.each(H2)('%s: no HTTP/1 findings', async (file) => {
    const r = await analyze(sample(file));
    expect(compact(r.findings.filter(isHttp1Finding))).toEqual([]);
  });

  it.each(Object.entries(EXPECTED))('%s: exactly the expected findings', async (file, expected) => {
    const r = await analyze(sample(file));
    const got = compact(r.findings);
    const want = [...expected].sort((a, b) => a.id.localeCompare(b.id) || a.connections[0] - b.connections[0] || a.requests[0] - b.requests[0]);
    expect(got.map(({ id, connections, requests }) => ({ id, connections, requests }))).toEqual(want.map(({ id, connections, requests }) => ({ id, connections, requests })));
    want.forEach((w, i) => {
      if (!w.cost) return;
      expect(got[i].costMs, `${w.id} cost`).toBeDefined();
      expect(Math.abs(got[i].costMs! - w.cost[0]), `${w.id} cost ${got[i].costMs} vs ${w.cost[0]} ± ${w.cost[1]}`).toBeLessThanOrEqual(w.cost[1]);
    });
  });

  it('every finding carries evidence, advice and a time range inside the capture', async () => {
    for (const file of Object.keys(EXPECTED)) {
      const r = await analyze(sample(file));
      for (const f of r.findings) {
        expect(f.evidence.length, `${file} ${f.kind}`).toBeGreaterThan(0);
        expect(f.advice.length).toBeGreaterThan(20);
        expect(f.timeRange[0]).toBeLessThanOrEqual(f.timeRange[1]);
        expect(f.timeRange[0]).toBeGreaterThanOrEqual(0);
        expect(f.timeRange[1]).toBeLessThanOrEqual(r.capture.durationMs + 1e-6);
        for (const e of f.evidence) if (e.packet !== null) expect(e.packet).toBeGreaterThanOrEqual(1);
        for (const c of f.connectionIds) expect(r.connections.some((x) => x.id === c)).toBe(true);
        for (const q of f.requestIds) expect(r.requests.some((x) => x.id === q)).toBe(true);
      }
    }
  });
});
