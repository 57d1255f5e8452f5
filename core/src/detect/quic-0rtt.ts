/**
 * quic-0rtt (layer `quic`): QUIC connections whose client sent 0-RTT data (RFC 9001 §4.6, TLS 1.3
 * early data, RFC 8446 §4.2.10), and whether the server took it.
 *
 * Signature. A QUIC connection whose ClientHello offered early_data on a resumed session:
 *
 *  - `accepted` (info): the server's EncryptedExtensions accepted early data (`tls.earlyData`
 *    'accepted', needs keys): the requests the client sent in 0-RTT packets left with its first
 *    Initial and waited for no handshake.
 *  - `rejected` (info): the server refused it — a full handshake instead of the resumption (its
 *    ServerHello selected no PSK: visible without keys), or an EncryptedExtensions without
 *    early_data (keys). The 0-RTT packets the client sent were discarded and their data sent
 *    again in 1-RTT packets after the handshake (RFC 9001 §4.6.2).
 * One finding per client, origin and rule ("K of M QUIC connections …").
 *
 * Cost (`rejected`): the measured QUIC handshake of each such connection (first Initial → the
 * client's handshake end), which its early requests waited for after all. `accepted` has none; the
 * summary gives the handshake time the requests did not wait for.
 *
 * Streaming (stream.ts): per connection as it completes (`onConnection`, the whole record), the
 * findings per origin at `finish()` (connections in id order).
 *
 * Where it can be wrong:
 *  - Without keys, an offer on a resumed session stays 'offered': whether the server accepted it
 *    is in its (encrypted) EncryptedExtensions, so neither rule is claimed.
 *  - 0-RTT requests are replayable (RFC 8446 §8, RFC 9114 §10.9): servers may accept early data and
 *    still answer such requests only after the handshake (425 Too Early, RFC 8470), which the
 *    `accepted` rule does not check.
 *  - The handshake time is measured at the capture point; on loopback it is processing time.
 *  - TLS over TCP early data is not judged here (tls-resumption.ts reports resumptions).
 */
import type { Connection, Evidence, Finding, Request } from '../model/types.js';
import type { DetectorDef, DetectOptions } from './index.js';
import { defineDetector, type FindingSink, type StreamingDetector } from './stream.js';
import { isQuic, quicFacts, quicSetupCost } from './quic-util.js';
import { capEvidence, ev, fmtMs, maxOf, minOf, openTime, originKey, originLabel } from './util.js';

const THRESHOLDS = {} as const;

type Rule = 'accepted' | 'rejected';

interface Item {
  id: number;
  open: number;
  end: number;
  firstPacket: number;
  handshakeMs: number;
  zeroRttPackets: number;
  /** Requests sent before the client's handshake end (keys). */
  early: number;
  earlyIds: number[];
}

interface Group {
  client: string;
  origin: string;
  total: number;
  items: Map<Rule, Item[]>;
}

function stream(_opts: DetectOptions, emit: FindingSink): StreamingDetector {
  const groups = new Map<string, Group>();
  return {
    onConnection(c: Connection, reqs: readonly Request[]) {
      if (!isQuic(c) || !c.tls) return;
      const key = originKey(c);
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { client: c.client.ip, origin: originLabel(c), total: 0, items: new Map() }));
      g.total++;
      const e = c.tls.earlyData;
      if (e !== 'accepted' && e !== 'rejected') return;
      const f = quicFacts(c);
      const hsEnd = c.tls.handshakeEndTime ?? c.establishedTime;
      const early = hsEnd === null ? [] : reqs.filter((r) => r.times.requestStartTime < hsEnd);
      const item: Item = {
        id: c.id,
        open: openTime(c),
        end: hsEnd ?? c.lastTime,
        firstPacket: c.firstPacket,
        handshakeMs: quicSetupCost(c, f).handshakeMs,
        zeroRttPackets: f?.zeroRttPackets ?? 0,
        early: early.length,
        earlyIds: early.map((r) => r.id),
      };
      const l = g.items.get(e);
      if (l) l.push(item);
      else g.items.set(e, [item]);
    },
    finish() {
      const all = [...groups.values()].filter((g) => g.items.size);
      const first = (g: Group) => minOf([...g.items.values()].flat(), (i) => i.id);
      for (const g of all.sort((a, b) => first(a) - first(b))) {
        for (const rule of ['accepted', 'rejected'] as const) {
          const l = g.items.get(rule);
          if (l) emit(finding(g, rule, [...l].sort((a, b) => a.id - b.id)));
        }
      }
      groups.clear();
    },
  };
}

function finding(g: Group, rule: Rule, items: Item[]): Finding {
  const hs = items.reduce((s, i) => s + i.handshakeMs, 0);
  const early = items.reduce((s, i) => s + i.early, 0);
  const evidence: Evidence[] = items.map((i) =>
    ev(
      i.firstPacket,
      i.open,
      rule === 'accepted'
        ? `connection ${i.id}: ${i.zeroRttPackets} 0-RTT packet${i.zeroRttPackets === 1 ? '' : 's'} accepted; ${i.early} request${i.early === 1 ? '' : 's'} sent before its handshake ended (handshake ${fmtMs(i.handshakeMs)})`
        : `connection ${i.id}: ${i.zeroRttPackets} 0-RTT packet${i.zeroRttPackets === 1 ? '' : 's'} refused; their data waited for the handshake (${fmtMs(i.handshakeMs)})`,
    ),
  );
  const n = `${items.length} of ${g.total} QUIC connections from ${g.client} to ${g.origin}`;
  if (rule === 'accepted') {
    return {
      kind: 'quic-0rtt',
      rule,
      layer: 'quic',
      severity: 'info',
      summary: `${n} sent 0-RTT data and the server accepted it: ${early} request${early === 1 ? '' : 's'} left with the first Initial, not waiting for ~${fmtMs(hs)} of handshakes (1 round trip each)`,
      connectionIds: items.map((i) => i.id),
      requestIds: items.flatMap((i) => i.earlyIds),
      timeRange: [minOf(items, (i) => i.open), maxOf(items, (i) => i.end)],
      evidence: capEvidence(evidence),
      advice:
        'Nothing to fix. 0-RTT requests can be replayed by an attacker (RFC 8446 §8, RFC 9114 §10.9): send only idempotent requests in early data, and let the server answer others with 425 Too Early (RFC 8470).',
    };
  }
  return {
    kind: 'quic-0rtt',
    rule,
    layer: 'quic',
    severity: 'info',
    summary: `${n} sent 0-RTT data that the server refused: the early data was sent again after the handshake, ~${fmtMs(hs)} of handshakes waited for after all (1 round trip each)`,
    connectionIds: items.map((i) => i.id),
    requestIds: [],
    timeRange: [minOf(items, (i) => i.open), maxOf(items, (i) => i.end)],
    costMs: hs,
    evidence: capEvidence(evidence),
    advice:
      'Find why the server refuses early data: session tickets issued without early data allowed (max_early_data_size 0), ticket keys or anti-replay state not shared by the servers behind this address, transport parameters or ALPN that changed since the ticket, or early data disabled on the server.',
  };
}

export const quic0Rtt: DetectorDef = defineDetector({
  name: 'quic-0rtt',
  kinds: ['quic-0rtt'],
  thresholds: THRESHOLDS,
  reads: {},
  stream,
});
