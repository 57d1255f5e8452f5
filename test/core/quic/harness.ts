/** Runs datagrams through a QuicTable wired to HTTP/3, as the engine does, and collects what comes out. */
import type { L4Packet } from '../../../core/src/capture/ip.js';
import type { RequestDraft } from '../../../core/src/model/exchange.js';
import type { Connection } from '../../../core/src/model/types.js';
import { createQuicTable } from '../../../core/src/quic/index.js';
import type { KeyLog } from '../../../core/src/tls/keylog.js';

export interface SimResult {
  connections: Connection[];
  requests: (RequestDraft & { connectionId: number })[];
  counters: Record<string, number>;
  claimed: boolean[];
}

export function runQuic(packets: L4Packet[], keys: KeyLog | null): SimResult {
  const counters: Record<string, number> = {};
  const requests: SimResult['requests'] = [];
  const connections: Connection[] = [];
  const table = createQuicTable({
    count: (n, k = 1) => {
      counters[n] = (counters[n] ?? 0) + k;
    },
    keys,
    request: (c, d) => requests.push({ ...d, connectionId: c.id }),
    connection: (c) => connections.push(c),
  });
  const claimed = packets.map((p) => table.datagram(p));
  table.finish();
  connections.sort((a, b) => a.id - b.id);
  return { connections, requests, counters, claimed };
}
