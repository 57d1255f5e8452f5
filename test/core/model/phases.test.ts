import { describe, expect, it } from 'vitest';
import { PHASE_IDS, harTimings, harTotalTime, phases } from '../../../core/src/model/phases.js';
import type { RequestTimes } from '../../../core/src/model/types.js';

const NONE: RequestTimes = {
  queuedTime: null, dnsStartTime: null, dnsEndTime: null, connectStartTime: null, connectEndTime: null,
  sslStartTime: null, sslEndTime: null, requestStartTime: 0, requestEndTime: null, responseStartTime: null,
  responseEndTime: null,
};
const T = (t: Partial<RequestTimes>): RequestTimes => ({ ...NONE, ...t });
type Row = [string, RequestTimes, [string, number, number][], Record<string, number>];

const table: Row[] = [
  ['reused connection, request in one packet', T({ requestStartTime: 10, requestEndTime: 10, responseStartTime: 30, responseEndTime: 45 }),
    [['sending', 10, 10], ['waiting', 10, 30], ['receiving', 30, 45]],
    { blocked: -1, dns: -1, connect: -1, ssl: -1, send: 0, wait: 20, receive: 15 }],
  ['queued on a reused connection', T({ queuedTime: 5, requestStartTime: 10, requestEndTime: 12, responseStartTime: 30, responseEndTime: 45 }),
    [['queueing', 5, 10], ['sending', 10, 12], ['waiting', 12, 30], ['receiving', 30, 45]],
    { blocked: 5, send: 2, wait: 18, receive: 15 }],
  ['fresh connection: dns, TCP, TLS, stall before send', T({
    queuedTime: 0, dnsStartTime: 1, dnsEndTime: 4, connectStartTime: 4, connectEndTime: 20, sslStartTime: 10, sslEndTime: 20,
    requestStartTime: 25, requestEndTime: 26, responseStartTime: 40, responseEndTime: 50 }),
    [['queueing', 0, 1], ['dns', 1, 4], ['connecting', 4, 10], ['ssl', 10, 20], ['blocking', 20, 25], ['sending', 25, 26],
      ['waiting', 26, 40], ['receiving', 40, 50]],
    { blocked: 6, dns: 3, connect: 16, ssl: 10, send: 1, wait: 14, receive: 10 }],
  ['plain TCP connect, no TLS', T({ connectStartTime: 0, connectEndTime: 1, requestStartTime: 1, requestEndTime: 1, responseStartTime: 3, responseEndTime: 4 }),
    [['connecting', 0, 1], ['sending', 1, 1], ['waiting', 1, 3], ['receiving', 3, 4]],
    { blocked: -1, connect: 1, ssl: -1 }],
  ['no response (missing phases do not appear)', T({ requestStartTime: 3, requestEndTime: 4 }),
    [['sending', 3, 4]], { send: 1, wait: -1, receive: -1 }],
  ['request end unknown: waiting starts at request start', T({ requestStartTime: 3, responseStartTime: 9, responseEndTime: 9 }),
    [['waiting', 3, 9], ['receiving', 9, 9]], { send: -1, wait: 6, receive: 0 }],
  ['response before the request ended (early 413): clamped, nothing negative', T({ requestStartTime: 0, requestEndTime: 50, responseStartTime: 20, responseEndTime: 30 }),
    [['sending', 0, 50], ['waiting', 50, 50], ['receiving', 50, 50]], { send: 50, wait: 0, receive: 0 }],
  ['response started, end unknown', T({ requestStartTime: 0, requestEndTime: 0, responseStartTime: 5 }),
    [['sending', 0, 0], ['waiting', 0, 5]], { wait: 5, receive: -1 }],
];

describe('phases(): DevTools-style ranges from raw times', () => {
  it.each(table)('%s', (_name, times, expected, har) => {
    expect(phases(times).map((p) => [p.name, p.startTime, p.endTime])).toEqual(expected);
    expect(harTimings(times)).toMatchObject(har);
  });

  it.each(table)('tiles [start, end] without overlap or hole: %s', (_name, times) => {
    const list = phases(times);
    for (let i = 0; i < list.length; i++) {
      expect(list[i].endTime).toBeGreaterThanOrEqual(list[i].startTime);
      if (i > 0) expect(list[i].startTime).toBe(list[i - 1].endTime);
      expect(PHASE_IDS).toContain(list[i].name);
    }
  });

  it.each(table)('HAR time = sum of non-negative timings except ssl = span of the phases: %s', (_name, times) => {
    const t = harTimings(times);
    const list = phases(times);
    const span = list.length ? list[list.length - 1].endTime - list[0].startTime : 0;
    expect(harTotalTime(t)).toBeCloseTo(span, 9);
  });

  it('random times: phases always tile and never go negative', () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 100);
    const maybe = () => (rnd() < 30 ? null : rnd());
    for (let k = 0; k < 2000; k++) {
      const times = T({
        queuedTime: maybe(), dnsStartTime: maybe(), dnsEndTime: maybe(), connectStartTime: maybe(), connectEndTime: maybe(),
        sslStartTime: maybe(), sslEndTime: maybe(), requestStartTime: rnd(), requestEndTime: maybe(),
        responseStartTime: maybe(), responseEndTime: maybe(),
      });
      const list = phases(times);
      for (let i = 0; i < list.length; i++) {
        expect(list[i].endTime).toBeGreaterThanOrEqual(list[i].startTime);
        if (i > 0) expect(list[i].startTime).toBe(list[i - 1].endTime);
      }
      const span = list.length ? list[list.length - 1].endTime - list[0].startTime : 0;
      expect(harTotalTime(harTimings(times))).toBeCloseTo(span, 9);
    }
  });
});
