import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { toHar } from '../../../core/src/model/har.js';
import { harTimings } from '../../../core/src/model/phases.js';
import type { Connection, Report, Request } from '../../../core/src/model/types.js';
import { C, FIN, S, play } from '../http1/helpers.js';

const addFormats = addFormatsModule as unknown as (a: Ajv) => Ajv;
const schema = JSON.parse(readFileSync(new URL('./har-1.2.schema.json', import.meta.url), 'utf8'));
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const validate = ajv.compile(schema);

function connection(id: number, requestCount: number): Connection {
  const dir = { packets: 0, frameBytes: 0, payloadBytes: 0, deliveredBytes: 0, retransmissions: 0, outOfOrder: 0, lostBytes: 0, zeroWindow: 0, truncatedSegments: 0 };
  return {
    id, client: { ip: '10.0.0.1', port: 50000 + id }, server: { ip: '10.0.0.2', port: 80 }, roles: 'syn', startSeen: true,
    firstPacket: 1, lastPacket: 9, firstTime: 0, lastTime: 100, synTime: 0, synAckTime: 1, establishedTime: 2,
    firstDataTime: 2, lastDataTime: 90, handshakeRttMs: 2, synToSynAckMs: 1, synAckToAckMs: 1, durationMs: 100,
    close: { by: 'server', how: 'fin', time: 100, packet: 9, reason: 'server-close' }, stats: { client: dir, server: dir },
    idle: [], protocol: 'http/1.1', requestCount, anomalies: [],
  };
}

/** A report built the way the engine does: drafts from real sessions, ids and timings filled in. */
async function buildReport(): Promise<Report> {
  const requests: Request[] = [];
  const add = (connectionId: number, drafts: ReturnType<typeof play>['rec']['requests'], setup = false) => {
    for (const d of drafts) {
      const times = setup && d.index === 1 ? { ...d.times, queuedTime: 0, connectStartTime: 0, connectEndTime: 2 } : d.times;
      requests.push({ ...d, times, id: requests.length, connectionId, timings: harTimings(times) });
    }
  };
  const a = play([
    C('GET /a?q=1&x=a%20b&flag HTTP/1.1\r\nHost: example.test\r\nCookie: k=v\r\n\r\n', 3),
    S('HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello', 10),
    C('POST /b HTTP/1.1\r\nHost: example.test\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}', 20),
    S('HTTP/1.1 302 Found\r\nLocation: /c\r\nContent-Length: 0\r\n\r\n', 25), FIN('server', 30),
  ]);
  const b = play([C('GET / HTTP/1.1\r\nHost: other.test\r\n\r\n', 5), FIN('client', 40)]);
  add(0, a.rec.requests, true);
  add(1, b.rec.requests);
  requests.push({ ...requests[0], id: requests.length, connectionId: 2, index: 1, streamId: 1, httpVersion: 'h2', url: 'https://h2.test/' });
  return {
    wirefall: '0.1.0',
    capture: {
      file: 'test.pcap', format: 'pcap', gzip: false, fileBytes: 0, packets: 9, startEpochMs: Date.UTC(2024, 0, 2, 3, 4, 5),
      startTime: null, durationMs: 100, interfaces: [], counters: {},
    },
    connections: [connection(0, 2), connection(1, 1), { ...connection(2, 1), protocol: 'h2' }],
    requests,
    findings: [{
      kind: 'no-reuse', severity: 'warning', summary: 'connection not reused', connectionIds: [1], requestIds: [2],
      timeRange: [0, 1], evidence: [], advice: '',
    }],
  };
}

describe('toHar(): HAR 1.2', () => {
  it('validates against the HAR 1.2 JSON Schema (with and without pages)', async () => {
    const report = await buildReport();
    for (const opts of [{}, { pages: true }]) {
      const har = toHar(report, opts);
      const ok = validate(har);
      expect(validate.errors ?? []).toEqual([]);
      expect(ok).toBe(true);
    }
  });

  it('round trip: entries per _connectionId equal each connection requestCount', async () => {
    const report = await buildReport();
    const har = toHar(report) as { log: { entries: { _connectionId: number; connection: string }[] } };
    for (const c of report.connections) {
      const mine = har.log.entries.filter((e) => e._connectionId === c.id);
      expect(mine).toHaveLength(c.requestCount);
      for (const e of mine) expect(e.connection).toBe(String(c.id));
    }
  });

  it('entries: sorted by startedDateTime, fields mapped like DevTools', async () => {
    const report = await buildReport();
    const { log } = toHar(report) as { log: { creator: { name: string }; entries: Record<string, any>[] } };
    expect(log.creator.name).toBe('wirefall');
    const times = log.entries.map((e) => e.startedDateTime);
    expect([...times].sort()).toEqual(times);
    const first = log.entries.find((e) => e._connectionId === 0 && e._index === 1)!;
    // startedDateTime is the start of the first phase (the connect at t=0 here), so timings line up.
    expect(first.startedDateTime).toBe('2024-01-02T03:04:05.000Z');
    expect(first.request.queryString).toEqual([{ name: 'q', value: '1' }, { name: 'x', value: 'a b' }, { name: 'flag', value: '' }]);
    expect(first.request.cookies).toEqual([]);
    expect(first.timings).toMatchObject({ blocked: 1, connect: 2, ssl: -1, send: 0, wait: 7, receive: 0 });
    expect(first.time).toBe(10);
    expect(first.serverIPAddress).toBe('10.0.0.2');
    expect(first.response.content).toEqual({ size: 5, mimeType: 'text/html' });
    const redirect = log.entries.find((e) => e._connectionId === 0 && e._index === 2)!;
    expect(redirect.response.redirectURL).toBe('/c');
    expect(redirect.request.postData).toEqual({ mimeType: 'application/json', text: '' });
    const unanswered = log.entries.find((e) => e._connectionId === 1)!;
    expect(unanswered.response).toMatchObject({ status: 0, headersSize: -1, bodySize: -1 });
    expect(unanswered._findings).toEqual([{ kind: 'no-reuse', severity: 'warning', summary: 'connection not reused' }]);
    // Never answered: it waited until the server closed the connection at 100 ms (issue 15).
    expect(unanswered.timings).toMatchObject({ wait: 95, receive: 0 });
    expect(unanswered.time).toBe(95);
    expect(unanswered._noResponse).toMatchObject({ until: 'connection-close', closedBy: 'server', waitMs: 95 });
    const h2 = log.entries.find((e) => e._connectionId === 2)!;
    expect(h2._streamId).toBe(1);
    expect(h2.response.httpVersion).toBe('h2');
  });
});
