/** Small hand-built view-model rows for unit tests of pure view functions (not e2e data). */
import type { ConnectionRow, RequestRow, ViewModel } from '../../core/src/view/api.js';

export function req(p: Partial<RequestRow> & { id: number }): RequestRow {
  return {
    connectionId: 0,
    index: 1,
    method: 'GET',
    url: `http://example.test/r/${p.id}`,
    name: String(p.id),
    host: 'example.test',
    status: 200,
    statusText: 'OK',
    httpVersion: 'HTTP/1.1',
    protocol: p.httpVersion ?? 'HTTP/1.1',
    remote: '127.0.0.2:8080',
    size: 100,
    startTime: p.id * 10,
    endTime: p.id * 10 + 5,
    timingStartTime: p.id * 10,
    durationMs: 5,
    phases: [
      ['sending', p.id * 10, p.id * 10 + 1],
      ['waiting', p.id * 10 + 1, p.id * 10 + 4],
      ['receiving', p.id * 10 + 4, p.id * 10 + 5],
    ],
    pipelined: false,
    connectionReused: false,
    state: 'complete',
    packets: [p.id * 10, p.id * 10 + 5],
    findings: [],
    ...p,
  };
}

export function conn(p: Partial<ConnectionRow> & { id: number }): ConnectionRow {
  return {
    client: { ip: '127.0.0.1', port: 40000 + p.id },
    server: { ip: '127.0.0.2', port: 8080 },
    protocol: 'http/1.1',
    tlsSummary: null,
    tlsShort: null,
    undecrypted: null,
    startSeen: true,
    firstTime: 0,
    lastTime: 100,
    synTime: 0,
    establishedTime: 1,
    handshakeRttMs: 1,
    tls: null,
    close: { by: 'client', how: 'fin', time: 99, reason: 'client-close' },
    idle: [],
    keepAlive: null,
    requestCount: 0,
    requestIds: [],
    findings: [],
    ...p,
  };
}

export function model(connections: ConnectionRow[], requests: RequestRow[]): ViewModel {
  return {
    doc: 'd1',
    wirefall: 'test',
    capture: {
      file: 'x.pcap',
      format: 'pcap',
      gzip: false,
      fileBytes: 0,
      packets: 0,
      startEpochMs: 0,
      startTime: null,
      durationMs: 100,
      interfaces: [],
      counters: {},
    },
    connections,
    requests,
    findings: [],
  };
}
