/**
 * PPP link types (LINKTYPE_PPP 9, LINKTYPE_PPP_HDLC 50; RFC 1661 §2, RFC 1662 §3.1): the protocol
 * field with and without the HDLC address/control octets (0xff 0x03) and with protocol-field
 * compression; real traffic re-encoded as PPP gives the Ethernet original's connections; the
 * quic-go interop captures of ../shared/corpus/zeek-quic (PPP framed, no 0xff03) decode as QUIC.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeFile } from '../../../core/src/engine.js';
import { LINKTYPE, NOT_IP, TRUNCATED, linkTypeName, networkOffset } from '../../../core/src/capture/link.js';
import { QUIC_CONNECTION_ID_BASE } from '../../../core/src/quic/index.js';
import { CORPUS, hasTshark, requireResource, sample } from '../../helpers/env.js';
import { readPcapSimple, writePcap, type Pkt } from '../../helpers/pcap-writer.js';

/** tshark's QUIC connection numbers and each one's ClientHello SNI. */
function tsharkQuic(file: string): Map<number, string> {
  const out = execFileSync('tshark', ['-n', '-r', file, '-Y', 'quic', '-T', 'fields', '-e', 'quic.connection.number', '-e', 'tls.handshake.extensions_server_name'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const m = new Map<number, string>();
  for (const line of out.split('\n').filter(Boolean)) {
    const [n, sni] = line.split('\t');
    for (const k of n.split(',').filter(Boolean).map(Number)) if (!m.get(k)) m.set(k, sni ?? '');
  }
  return m;
}

const ip4 = [0x45, 0, 0, 20];
const ip6 = [0x60, 0, 0, 0];

describe('networkOffset for PPP', () => {
  const cases: [string, number, number[], number][] = [
    ['PPP, protocol 0x0021 (IPv4), no address/control', LINKTYPE.PPP, [0x00, 0x21, ...ip4], 2],
    ['PPP, protocol 0x0057 (IPv6), no address/control (the quic-go captures)', LINKTYPE.PPP, [0x00, 0x57, ...ip6], 2],
    ['PPP, 0xff03 then 0x0021', LINKTYPE.PPP, [0xff, 0x03, 0x00, 0x21, ...ip4], 4],
    ['PPP in HDLC framing, 0xff03 then 0x0057', LINKTYPE.PPP_HDLC, [0xff, 0x03, 0x00, 0x57, ...ip6], 4],
    ['protocol-field compression: one octet 0x21', LINKTYPE.PPP, [0x21, ...ip4], 1],
    ['protocol-field compression after 0xff03: 0x57', LINKTYPE.PPP_HDLC, [0xff, 0x03, 0x57, ...ip6], 3],
    ['LCP (0xc021) is not IP', LINKTYPE.PPP, [0xff, 0x03, 0xc0, 0x21, 1, 1, 0, 4], NOT_IP],
    ['IPCP (0x8021) is not IP', LINKTYPE.PPP, [0x80, 0x21, 1, 1, 0, 4], NOT_IP],
    ['a lone 0xff03 is truncated', LINKTYPE.PPP, [0xff, 0x03], TRUNCATED],
    ['one octet of a two-octet protocol is truncated', LINKTYPE.PPP, [0x00], TRUNCATED],
    ['a protocol field with nothing after it is truncated', LINKTYPE.PPP, [0x00, 0x21], TRUNCATED],
    ['an empty frame is truncated', LINKTYPE.PPP_HDLC, [], TRUNCATED],
  ];
  for (const [name, lt, bytes, want] of cases) {
    it(name, () => expect(networkOffset(lt, Uint8Array.from(bytes))).toBe(want));
  }
  it('names the link types', () => {
    expect([linkTypeName(9), linkTypeName(50)]).toEqual(['PPP', 'PPP_HDLC']);
  });
});

describe('PPP captures', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wirefall-ppp-'));
  const { pkts } = readPcapSimple(readFileSync(sample('keepalive-pool.pcap')));
  const reframe = (h: number[]) => (p: Pkt): Pkt => ({ ...p, data: Buffer.concat([Buffer.from(h), p.data.subarray(14)]), origLen: p.origLen - 14 + h.length });
  const summary = async (f: string) => {
    const r = await analyzeFile(f);
    return r.connections.map((c) => [c.client.port, c.server.port, c.stats.client.payloadBytes, c.stats.server.payloadBytes, c.close.how]);
  };
  const variants: [string, number, number[]][] = [
    ['LINKTYPE_PPP, 0x0021', LINKTYPE.PPP, [0x00, 0x21]],
    ['LINKTYPE_PPP, 0xff03 0x0021', LINKTYPE.PPP, [0xff, 0x03, 0x00, 0x21]],
    ['LINKTYPE_PPP_HDLC, 0xff03 0x21 (compressed protocol)', LINKTYPE.PPP_HDLC, [0xff, 0x03, 0x21]],
  ];
  for (const [name, lt, h] of variants) {
    it(`${name}: the same connections as the Ethernet original`, async () => {
      const f = join(dir, `ppp-${lt}-${h.length}.pcap`);
      writeFileSync(f, writePcap(pkts.map(reframe(h)), { le: true, nano: false, linkType: lt }));
      const want = await summary(sample('keepalive-pool.pcap'));
      expect(want.length).toBeGreaterThan(0);
      expect(await summary(f)).toEqual(want);
    });
  }
});

describe('PPP in ../shared/corpus/zeek-quic (quic-go interop runner captures)', () => {
  const dirZ = join(CORPUS, 'zeek-quic');
  const ok = requireResource('../shared/corpus/zeek-quic', existsSync(dirZ), 'the shared test corpus beside the project') && hasTshark();
  const files: [string, number][] = [
    ['quic-go-handshake.pcap', 1],
    ['quic-go-retry.pcap', 1],
    ['quic-go-zerortt.pcap', 2],
  ];
  for (const [name, conns] of files) {
    it.skipIf(!ok)(`${name}: link type PPP, ${conns} QUIC connection(s), as tshark`, async () => {
      const f = join(dirZ, name);
      const r = await analyzeFile(f);
      expect(r.capture.interfaces.map((i) => [i.linkTypeName, i.supported])).toEqual([['PPP', true]]);
      expect(r.capture.counters.unsupportedLinkTypeFrames ?? 0).toBe(0);
      const quic = r.connections.filter((c) => c.transport === 'quic');
      expect(quic.length).toBe(conns);
      // tshark numbers one more connection in quic-go-zerortt.pcap (an undecryptable Initial; see
      // tshark-quic-exceptions.json): each of ours must be one of its, with the same SNI.
      const t = tsharkQuic(f);
      for (const c of quic) {
        expect(t.has(c.id - QUIC_CONNECTION_ID_BASE)).toBe(true);
        expect(c.tls?.sni).toBe(t.get(c.id - QUIC_CONNECTION_ID_BASE));
      }
    });
  }
});
