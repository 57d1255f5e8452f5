import { describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeFile } from '../../../core/src/engine.js';
import { listCaptures, SAMPLES } from '../../helpers/env.js';
import { PcapWriter } from '../../e2e/pcap-writer.js';
import { decideCloseReason, matchesTimeout, parseKeepAlive, persistsAfter, type CloseFacts } from '../../../core/src/http1/keepalive.js';

describe('Keep-Alive header (RFC 2068 §19.7.1.1), parsed leniently', () => {
  it.each<[string, object]>([
    ['timeout=5, max=100', { timeoutS: 5, max: 100 }],
    ['timeout=5', { timeoutS: 5 }],
    ['Timeout = 15 ; Max = 3', { timeoutS: 15, max: 3 }],
    ['timeout="20"', { timeoutS: 20 }],
    ['max=10, timeout=2.5', { timeoutS: 2.5, max: 10 }],
    ['timeout=abc, max=-1', {}],
    ['300', {}],
    ['', {}],
  ])('%s', (v, want) => expect(parseKeepAlive(v)).toEqual(want));
});

describe('RFC 9112 §9.3 persistence after an exchange', () => {
  it.each<[string, string, string[], string, string[], boolean]>([
    ['1.1 both', 'HTTP/1.1', [], 'HTTP/1.1', [], true],
    ['1.1, server close', 'HTTP/1.1', [], 'HTTP/1.1', ['close'], false],
    ['1.1, client close', 'HTTP/1.1', ['close'], 'HTTP/1.1', [], false],
    ['1.0 both', 'HTTP/1.0', [], 'HTTP/1.0', [], false],
    ['1.0 keep-alive both', 'HTTP/1.0', ['keep-alive'], 'HTTP/1.0', ['keep-alive'], true],
    ['1.0 client asks, 1.0 server ignores', 'HTTP/1.0', ['keep-alive'], 'HTTP/1.0', [], false],
    ['1.0 client asks, 1.1 server', 'HTTP/1.0', ['keep-alive'], 'HTTP/1.1', [], true],
    ['1.1 client, 1.0 server with keep-alive', 'HTTP/1.1', [], 'HTTP/1.0', ['keep-alive'], true],
  ])('%s', (_n, rv, rc, sv, sc, want) => expect(persistsAfter(rv, rc, sv, sc)).toBe(want));
});

describe('close reason', () => {
  const base: CloseFacts = {
    firstEnd: { side: 'server', how: 'fin', time: 10_000 }, outstanding: 0, requestCount: 1,
    last: { index: 1, closeDelimited: false, clientSentClose: false, serverSentClose: false, http10NoKeepAlive: false },
    lastDataTime: 5_000,
  };
  it.each<[string, Partial<CloseFacts>, string]>([
    ['still open at capture end', { firstEnd: null }, 'capture-end'],
    ['outstanding + RST', { outstanding: 1, firstEnd: { side: 'server', how: 'rst', time: 1 } }, 'rst'],
    ['outstanding + client FIN', { outstanding: 1, firstEnd: { side: 'client', how: 'fin', time: 1 } }, 'client-close'],
    ['close-delimited body', { last: { ...base.last!, closeDelimited: true } }, 'close-delimited-body'],
    ['Connection: close', { last: { ...base.last!, serverSentClose: true } }, 'connection-close-header'],
    ['HTTP/1.0', { last: { ...base.last!, http10NoKeepAlive: true } }, 'http10-no-keepalive'],
    ['max reached', { firstMax: 1, requestCount: 1 }, 'max-requests'],
    ['idle = timeout (5 s)', { timeoutS: 5 }, 'idle-timeout'],
    ['idle 5 s, timeout 60 s', { timeoutS: 60 }, 'server-close'],
    ['client closes an idle connection', { firstEnd: { side: 'client', how: 'fin', time: 6000 } }, 'client-close'],
    ['RST on an idle connection', { firstEnd: { side: 'server', how: 'rst', time: 6000 } }, 'rst'],
  ])('%s', (_n, patch, want) => expect(decideCloseReason({ ...base, ...patch }).reason).toBe(want));

  it.each<[number, number, boolean]>([
    [5000, 5, true], [5900, 5, true], [6100, 5, false], [3900, 5, false], [66_000, 60, true], [54_000, 60, true], [53_000, 60, false],
  ])('idle %d ms vs timeout=%d s → %s (±1 s or 10 %)', (idle, t, want) => expect(matchesTimeout(idle, t)).toBe(want));
});

/**
 * A client's leg through a blind relay: one exchange answered, the second request never answered,
 * then the relay (the server side of this connection) resets it. Real bytes through the whole
 * engine: who closed is TCP's record of the first FIN/RST, and the close detail says the same side.
 */
function writeRelayReset(path: string, rstFrom: 'client' | 'server'): void {
  const w = new PcapWriter(path);
  const cl: [number[], number] = [[10, 0, 0, 1], 41000];
  const sv: [number[], number] = [[10, 0, 0, 3], 3128];
  const SYN = 0x02, ACK = 0x10, PSH = 0x08, RST = 0x04;
  let t = 1_700_000_000_000_000;
  let cs = 100, ss = 9000;
  w.tcp(t, cl, sv, cs, 0, SYN);
  w.tcp((t += 200), sv, cl, ss, cs + 1, SYN | ACK);
  w.tcp((t += 200), cl, sv, ++cs, ++ss, ACK);
  const q = (p: string) => Buffer.from(`GET ${p} HTTP/1.1\r\nHost: origin.test\r\n\r\n`);
  const resp = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  const q1 = q('/a');
  w.tcp((t += 1000), cl, sv, cs, ss, PSH | ACK, q1);
  cs += q1.length;
  w.tcp((t += 2000), sv, cl, ss, cs, PSH | ACK, resp);
  ss += resp.length;
  w.tcp((t += 100), cl, sv, cs, ss, ACK);
  const q2 = q('/b');
  w.tcp((t += 1000), cl, sv, cs, ss, PSH | ACK, q2);
  cs += q2.length;
  w.tcp((t += 100), sv, cl, ss, cs, ACK);
  // 3.9 s later: the RST (no response to /b ever came)
  if (rstFrom === 'server') w.tcp((t += 3_900_000), sv, cl, ss, cs, RST | ACK);
  else w.tcp((t += 3_900_000), cl, sv, cs, ss, RST | ACK);
  w.close();
}

describe('who closed is decided once, by TCP (Connection.close), and the close detail agrees', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wirefall-close-'));
  it.each(['server', 'client'] as const)('the %s resets a connection with an exchange unanswered', async (side) => {
    const file = join(dir, `relay-rst-${side}.pcap`);
    writeRelayReset(file, side);
    const r = await analyzeFile(file, {});
    const [c] = r.connections;
    expect(c.close).toMatchObject({ by: side, how: 'rst', reason: 'rst' });
    expect(c.close.detail).toBe(`The ${side} reset the connection with 1 exchange(s) unanswered or unfinished.`);
  });

  it('on every sample, a detail that names the side that closed names close.by', async () => {
    for (const f of listCaptures(SAMPLES)) {
      const r = await analyzeFile(f, {});
      for (const c of r.connections) {
        const m = /^The (client|server) (closed|reset)/.exec(c.close.detail ?? '');
        if (m) expect(m[1], `${f} connection ${c.id}: ${c.close.detail}`).toBe(c.close.by);
      }
    }
  });
});
