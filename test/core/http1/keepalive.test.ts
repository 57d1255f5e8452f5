import { describe, expect, it } from 'vitest';
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
