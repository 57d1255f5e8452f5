/**
 * missed-resumption / tls-resumption on the real HTTPS samples (samples/tls/ground-truth.json:
 * resumed, newSessionTickets), with and without keys, and variants that change one fact.
 */
import { describe, expect, it } from 'vitest';
import { detectAll } from '../../../core/src/detect/index.js';
import type { Report } from '../../../core/src/model/types.js';
import { analyzeTls, avoidableCount, cloneReport, expectWithin, measuredTls, of } from './tls-helpers.js';

const resumed = (r: Report) => of(r, 'tls-resumption');
const missed = (r: Report) => of(r, 'missed-resumption');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

describe('tls-resumption (info): resumptions that happened', () => {
  it.each([true, false])('tls12-resumed (keys %s): connections 1 and 2 resumed by session id, 1 round trip saved each', async (keys) => {
    const r = await analyzeTls('tls12-resumed', keys);
    expect(missed(r)).toEqual([]);
    const [f] = resumed(r);
    expect([f.rule, f.layer, f.severity, f.connectionIds, f.costMs]).toEqual(['resumed', 'tls', 'info', [1, 2], undefined]);
    expect(f.summary).toContain('2 of 3 TLS connections');
    expect(f.summary).toContain('2 round trips saved in all');
    expect(f.summary).toContain('a full TLS 1.2 handshake takes 2 round trips, a resumed one 1');
    // the time saved is the measured difference to the full handshake (connection 0)
    const full = measuredTls(r.connections[0]);
    const saved = r.connections.slice(1).reduce((s, c) => s + (full - measuredTls(c)), 0);
    const said = Number(/~([\d.]+) ms of handshake time/.exec(f.summary)![1]);
    expectWithin(said, saved);
    expect(f.evidence.map((e) => e.what)).toEqual([expect.stringMatching(/^connection 1: TLS 1\.2 abbreviated handshake, handshake .*shorter than the full one$/), expect.stringMatching(/^connection 2: TLS 1\.2 abbreviated/)]);
  });

  it.each([true, false])('tls13-resumed (keys %s): connections 1 and 2 resumed with a PSK — no round trip saved, the certificate is', async (keys) => {
    const r = await analyzeTls('tls13-resumed', keys);
    expect(missed(r)).toEqual([]);
    const [f] = resumed(r);
    expect([f.rule, f.connectionIds]).toEqual(['resumed', [1, 2]]);
    expect(f.summary).toContain('0 round trips saved in all');
    expect(f.summary).toMatch(/TLS 1\.3: resumed handshake [\d.]+ (µs|ms) vs [\d.]+ ms full \(medians\)/);
    const full = measuredTls(r.connections[0]);
    const res = median([measuredTls(r.connections[1]), measuredTls(r.connections[2])]);
    expect(res).toBeLessThan(full);
  });

  it.each([true, false])('chromium-h1 (keys %s): Chromium resumed 3 of its 6 connections; the other 2 full handshakes had no ticket left (no finding)', async (keys) => {
    const r = await analyzeTls('chromium-h1', keys);
    expect(resumed(r).map((f) => f.connectionIds)).toEqual([[1, 2, 3]]);
    // Connection 0's ticket(s) and 1's: 3 PSK offers by 50 ms spent them (TLS 1.3 tickets are
    // single-use, RFC 8446 §C.4): connections 4 and 5 could not resume.
    expect(missed(r)).toEqual([]);
  });

  it.each(['chromium-h2', 'nginx-h2-tls13', 'coalescing', 'chromium-coalesced', 'node-h2-tls13'])('%s: no resumption finding either way', async (name) => {
    for (const keys of [true, false]) {
      const r = await analyzeTls(name, keys);
      expect([...missed(r), ...resumed(r)], `keys ${keys}`).toEqual([]);
    }
  });
});

describe('missed-resumption: full handshakes that could have resumed', () => {
  it('tls-missed-reuse with keys: 7 curl processes ignored the tickets of the one before (resumption-not-offered, TLS 1.3: info)', async () => {
    const r = await analyzeTls('tls-missed-reuse', true);
    const [f] = missed(r);
    expect([f.rule, f.layer, f.severity, f.connectionIds]).toEqual(['resumption-not-offered', 'tls', 'info', [0, 1, 2, 3, 4, 5, 6, 7]]);
    expect(avoidableCount(f)).toBe(7);
    expect(f.summary).toContain('0 round trips in all');
    expect(f.summary).toContain('a TLS 1.3 resumption keeps its 1 round trip');
    // cost: no resumed handshake here to compare with, so each full handshake's time beyond its one
    // round trip (certificate + signature), measured against the TCP handshake
    const est = r.connections.slice(1).reduce((s, c) => s + (measuredTls(c) - c.handshakeRttMs), 0);
    expectWithin(f.costMs!, est);
    expect(f.costMs!).toBeLessThan(r.connections.slice(1).reduce((s, c) => s + measuredTls(c), 0) / 4);
    expect(f.evidence[0].what).toMatch(/^connection 0: the server handed this client NewSessionTicket \(TLS 1\.3\)/);
    expect(f.evidence.filter((e) => /no session although NewSessionTicket from connection \d was available/.test(e.what))).toHaveLength(7);
  });

  it('tls-missed-reuse without keys: TLS 1.3 tickets are encrypted and no connection resumed — silent (documented)', async () => {
    expect(missed(await analyzeTls('tls-missed-reuse', false))).toEqual([]);
  });

  it('tls-alerts with keys: the Python client never offered the tickets of connection 0; the rejected handshakes are not judged', async () => {
    const r = await analyzeTls('tls-alerts', true);
    const [f] = missed(r);
    expect([f.rule, f.connectionIds]).toEqual(['resumption-not-offered', [0, 2, 5]]);
    expect(f.summary).toMatch(/^2 of 4 TLS connections/);
  });

  it('a PSK offer answered with a full TLS 1.3 handshake: resumption-declined (tls13-resumed, connection 2 made full)', async () => {
    for (const keys of [true, false]) {
      const r = cloneReport(await analyzeTls('tls13-resumed', keys));
      const c2 = r.connections[2];
      c2.tls!.resumed = false;
      c2.tls!.handshakeEndTime = c2.tls!.clientHelloTime! + measuredTls(r.connections[0]);
      const fs = detectAll(r).filter((f) => f.kind === 'missed-resumption');
      expect(fs.map((f) => [f.rule, f.severity, f.connectionIds.at(-1)]), `keys ${keys}`).toEqual([['resumption-declined', 'info', 2]]);
      // measured: its full handshake against the resumed one (connection 1)
      expectWithin(fs[0].costMs!, measuredTls(c2) - measuredTls(r.connections[1]));
      expect(fs[0].advice).toContain('ssl_session_ticket_key');
    }
  });

  it('TLS 1.2: a full handshake after a resumable session costs one round trip (warning, measured against the resumed ones)', async () => {
    const r = cloneReport(await analyzeTls('tls12-resumed', false));
    const c2 = r.connections[2];
    c2.tls!.resumed = false;
    c2.tls!.handshakeRtts = 2;
    c2.tls!.handshakeEndTime = c2.tls!.clientHelloTime! + measuredTls(r.connections[0]);
    const fs = detectAll(r).filter((f) => f.kind === 'missed-resumption');
    expect(fs.map((f) => [f.rule, f.severity, f.connectionIds])).toEqual([['resumption-not-offered', 'warning', [1, 2]]]);
    expect(fs[0].summary).toContain('1 round trip in all');
    expect(fs[0].evidence[0].what).toContain('a session it had already resumed');
    expectWithin(fs[0].costMs!, measuredTls(c2) - measuredTls(r.connections[1]));
  });

  it('a session handed out after the new ClientHello does not count (tls-missed-reuse with keys, connections overlapping)', async () => {
    const r = cloneReport(await analyzeTls('tls-missed-reuse', true));
    // every connection's tickets arrive only after the next connection's ClientHello
    for (const c of r.connections) c.tls!.firstAppDataTime.server = c.tls!.clientHelloTime! + 1000;
    expect(detectAll(r).filter((f) => f.kind === 'missed-resumption')).toEqual([]);
  });
});
