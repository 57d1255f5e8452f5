/**
 * alt-svc (quic-alt-svc.ts) on samples/quic/chromium-caddy-altsvc.pcap: headless Chromium loads a
 * page from Caddy over HTTP/2, Caddy advertises h3 on the same port, Chromium opens a QUIC
 * connection at once and sends its later requests over it once Caddy has closed the idle HTTP/2
 * connection. Caddy's access log (chromium-caddy-altsvc.expected.json) and tshark are the
 * references. RFC 7838 §3 header parsing as a scenario table.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAltSvc } from '../../../core/src/detect/quic-alt-svc.js';
import { hasTshark } from '../../helpers/env.js';
import { tsharkFields } from '../../helpers/tshark.js';
import { capture, haveQuicSamples, keysOf, loadQuic, Q, QDIR, quicConns, quicFindings, redetect } from './quic-helpers.js';

const ok = haveQuicSamples();
const STEM = 'chromium-caddy-altsvc';
const alt = async (stem: string, keys = true) => quicFindings(await loadQuic(stem, keys)).filter((f) => f.kind === 'alt-svc');

interface CaddyLog {
  requests: { method: string; path: string; status: number }[];
  tcpRequests: { method: string; path: string; status: number; proto: string; altSvc: string | null }[];
}

describe('parseAltSvc (RFC 7838 §3)', () => {
  it.each([
    ['h3=":443"; ma=3600', [{ protocol: 'h3', host: '', port: 443, maxAgeS: 3600 }]],
    ['h3=":443"', [{ protocol: 'h3', host: '', port: 443, maxAgeS: 86_400 }]],
    ['h3-29=":8443"; ma=60, h3=":443"; ma=60; persist=1', [{ protocol: 'h3-29', host: '', port: 8443, maxAgeS: 60 }, { protocol: 'h3', host: '', port: 443, maxAgeS: 60 }]],
    ['h2="alt.example.com:443", h3="Alt.Example.com:4433"', [{ protocol: 'h2', host: 'alt.example.com', port: 443, maxAgeS: 86_400 }, { protocol: 'h3', host: 'alt.example.com', port: 4433, maxAgeS: 86_400 }]],
    ['w%3D%3D="[2001:db8::1]:443"', [{ protocol: 'w==', host: '2001:db8::1', port: 443, maxAgeS: 86_400 }]],
    ['h3=":0", h3=":99999", h3=443, garbage', []],
  ] as const)('%s', (value, want) => {
    expect(parseAltSvc(value)).toEqual(want);
  });
  it('clear', () => {
    expect(parseAltSvc(' Clear ')).toBe('clear');
  });
});

describe('alt-svc on chromium-caddy-altsvc.pcap (with its key log)', () => {
  it.skipIf(!ok)('moved-to-h3: the advertisement on the HTTP/2 connection, then the QUIC connection', async () => {
    const r = await loadQuic(STEM);
    const fs = await alt(STEM);
    expect(fs.map((f) => [f.rule, f.severity, f.connectionIds])).toEqual([['moved-to-h3', 'info', [0, Q]]]);
    const [f] = fs;
    const page = r.requests.find((q) => q.target === '/alt.html')!;
    expect(f.requestIds).toEqual([page.id]);
    expect(f.evidence[0]).toEqual({ packet: page.packets.response![0], time: page.times.responseStartTime, what: `connection 0, request ${page.id}: Alt-Svc: h3=":18701"; ma=2592000` });
    const [qc] = quicConns(r);
    expect(f.timeRange).toEqual([page.times.responseStartTime, qc.synTime]);
    expect(f.evidence[1]).toMatchObject({ packet: qc.firstPacket, time: qc.synTime });
    expect(f.costMs).toBeUndefined();
  });

  it.skipIf(!ok)('the counts in the summary are Caddy’s: requests over h3, and over HTTP/2 after the advertisement', async () => {
    const r = await loadQuic(STEM);
    const log: CaddyLog = JSON.parse(readFileSync(join(QDIR, `${STEM}.expected.json`), 'utf8'));
    const [f] = await alt(STEM);
    const page = r.requests.find((q) => q.target === '/alt.html')!;
    const h2After = r.requests.filter((q) => q.httpVersion === 'h2' && q.times.requestStartTime > page.times.responseStartTime!).length;
    // Caddy: the page and two more over HTTP/2 (each answered with Alt-Svc), three over HTTP/3.
    expect(log.tcpRequests.map((x) => [x.proto, x.altSvc])).toEqual(Array(3).fill(['HTTP/2.0', 'h3=":18701"; ma=2592000']));
    expect(h2After).toBe(log.tcpRequests.length - 1);
    expect(f.summary).toContain(`${log.requests.length} later requests over h3, ${h2After} still over h2`);
    expect(f.summary).toMatch(/the client moved to h3 \d+ ms later \(QUIC connection 1000000000\)/);
    // The measured difference: the connections' own handshakes and the requests' own durations.
    const [qc] = quicConns(r);
    expect(f.summary).toContain(`setup ${fmt(qc.establishedTime! - qc.synTime!)} (QUIC handshake)`);
    expect(f.summary).toMatch(/median request [\d.]+ (µs|ms) over h3 vs [\d.]+ (µs|ms) over h2$/);
  });

  it.skipIf(!ok)('without keys no header is visible: nothing', async () => {
    expect(await alt(STEM, false)).toEqual([]);
  });

  it.skipIf(!ok)('h3-not-used when the client never tried QUIC (the same capture without its QUIC connection)', async () => {
    const r = await loadQuic(STEM);
    const fs = redetect(
      r,
      r.connections.filter((c) => c.transport !== 'quic'),
      r.requests.filter((q) => q.httpVersion !== 'h3'),
    ).filter((f) => f.kind === 'alt-svc');
    expect(fs.map((f) => [f.rule, f.severity, f.connectionIds])).toEqual([['h3-not-used', 'info', [0]]]);
    expect(fs[0].summary).toBe('quic.test (127.0.0.1:18701) advertised HTTP/3 (Alt-Svc: h3=":18701"; ma=2592000) on 3 responses to 127.0.0.1 over h2, and the client never tried it: 2 later requests still went over h2');
    expect(fs[0].evidence.at(-1)!.what).toBe('no QUIC Initial from 127.0.0.1 for quic.test to UDP port 18701 in the capture');
  });

  it.skipIf(!ok)('QUIC to another port than the advertised one does not count as moving', async () => {
    const r = await loadQuic(STEM);
    const cs = structuredClone(r.connections);
    for (const c of cs) if (c.transport === 'quic') c.server.port = 18799;
    expect(redetect(r, cs).filter((f) => f.kind === 'alt-svc').map((f) => f.rule)).toEqual(['h3-not-used']);
  });

  it.skipIf(!ok || !hasTshark())('tshark: the alt-svc header on the HTTP/2 responses comes before the only QUIC connection, whose SNI is the origin', async () => {
    const f = capture(STEM);
    const ads = tsharkFields(f, 'http2.header.name == "alt-svc"', ['frame.number', 'frame.time_relative'], ['-o', `tls.keylog_file:${keysOf(STEM)}`]);
    expect(ads.length).toBe(3);
    const quic = tsharkFields(f, 'quic.long.packet_type==0 && tls.handshake.type==1', ['quic.connection.number', 'tls.handshake.extensions_server_name', 'frame.number', 'frame.time_relative']);
    expect([...new Set(quic.map((x) => `${x[0]} ${x[1]}`))]).toEqual(['0 quic.test']);
    expect(Number(quic[0][3]) * 1000).toBeGreaterThan(Number(ads[0][1]) * 1000);
    const [fd] = await alt(STEM);
    expect(fd.evidence[0].packet).toBe(Number(ads[0][0]));
    // Its first Initial (Chromium's ClientHello spans two: tshark shows it in the second).
    const initials = tsharkFields(f, 'quic.long.packet_type==0', ['frame.number']);
    expect(fd.evidence[1].packet).toBe(Number(initials[0][0]));
  });
});

describe('alt-svc on the other captures', () => {
  it.skipIf(!ok)('chromium-quic-fallback: advertised, and tried (unanswered) — quic-fallback’s, not an alt-svc finding', async () => {
    expect(await alt('chromium-quic-fallback')).toEqual([]);
  });
  it.skipIf(!ok)('the other QUIC captures: no alt-svc finding', async () => {
    for (const stem of ['ngtcp2-h3', 'ngtcp2-h3-0rtt', 'ngtcp2-h3-chacha-keyupdate', 'ngtcp2-h3-retry-rebind', 'ngtcp2-h3-missed-reuse', 'ngtcp2-h3-dsb', 'chromium-caddy-h3', 'chromium-quic-blocked-forced']) {
      expect(await alt(stem), stem).toEqual([]);
    }
  });
});

function fmt(v: number): string {
  if (v >= 10) return `${v.toFixed(0)} ms`;
  if (v >= 1) return `${v.toFixed(1)} ms`;
  return `${Math.round(v * 1000)} µs`;
}
