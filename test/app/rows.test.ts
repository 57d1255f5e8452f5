import { describe, expect, it } from 'vitest';
import { buildRows, compileFilter, EMPTY_FILTER, facets, filterRequests, isFilterActive, sortRequests, statusClass } from '../../app/renderer/model/rows.js';
import { conn, model, req } from './fixtures.js';

const reqs = [
  req({ id: 0, connectionId: 0, index: 1, method: 'GET', status: 200, name: 'b.js', url: 'http://a.test/b.js', size: 300, durationMs: 9 }),
  req({ id: 1, connectionId: 1, index: 1, method: 'POST', status: 404, name: 'a.json', url: 'http://a.test/api/a.json', size: 100, durationMs: 3, findings: [0] }),
  req({ id: 2, connectionId: 0, index: 2, method: 'GET', status: null, state: 'no-response', name: 'c.css', url: 'http://a.test/c.css', size: -1, durationMs: 1 }),
  req({ id: 3, connectionId: 1, index: 2, method: 'GET', status: 503, httpVersion: 'HTTP/1.0', name: 'd', url: 'http://a.test/d', size: 50, durationMs: 20 }),
];
const m = model([conn({ id: 0, firstTime: 0, requestIds: [0, 2] }), conn({ id: 1, firstTime: 5, requestIds: [1, 3] }), conn({ id: 2, firstTime: 7 })], reqs);
const ids = (rs: { id: number }[]) => rs.map((r) => r.id);

describe('filters', () => {
  it('classify status codes, null as "none"', () => {
    expect([statusClass(101), statusClass(204), statusClass(302), statusClass(404), statusClass(503), statusClass(null)]).toEqual(['1xx', '2xx', '3xx', '4xx', '5xx', 'none']);
  });
  it('match text in the URL, case-insensitively', () => {
    expect(ids(filterRequests(reqs, { ...EMPTY_FILTER, text: 'API' }))).toEqual([1]);
  });
  it('AND space-separated terms and negate -terms', () => {
    expect(ids(filterRequests(reqs, { ...EMPTY_FILTER, text: 'a.test -css' }))).toEqual([0, 1, 3]);
  });
  it('understand conn:N, status:N and method:M', () => {
    expect(ids(filterRequests(reqs, { ...EMPTY_FILTER, text: 'conn:1' }))).toEqual([1, 3]);
    expect(ids(filterRequests(reqs, { ...EMPTY_FILTER, text: 'status:404' }))).toEqual([1]);
    expect(ids(filterRequests(reqs, { ...EMPTY_FILTER, text: 'method:post' }))).toEqual([1]);
  });
  it('filter by method, status class, protocol and has-finding', () => {
    expect(ids(filterRequests(reqs, { ...EMPTY_FILTER, methods: ['POST'] }))).toEqual([1]);
    expect(ids(filterRequests(reqs, { ...EMPTY_FILTER, statusClasses: ['5xx', 'none'] }))).toEqual([2, 3]);
    expect(ids(filterRequests(reqs, { ...EMPTY_FILTER, protocols: ['HTTP/1.0'] }))).toEqual([3]);
    expect(ids(filterRequests(reqs, { ...EMPTY_FILTER, hasFinding: true }))).toEqual([1]);
  });
  it('know when a filter is active', () => {
    expect(isFilterActive(EMPTY_FILTER)).toBe(false);
    expect(isFilterActive({ ...EMPTY_FILTER, text: '  ' })).toBe(false);
    expect(isFilterActive({ ...EMPTY_FILTER, hasFinding: true })).toBe(true);
    expect(compileFilter(EMPTY_FILTER)(reqs[0]!)).toBe(true);
  });
});

describe('sorting', () => {
  it('sorts by each column, both directions, ties by start time', () => {
    expect(ids(sortRequests(reqs.slice(), { key: 'name', dir: 1 }))).toEqual([1, 0, 2, 3]);
    expect(ids(sortRequests(reqs.slice(), { key: 'status', dir: -1 }))).toEqual([3, 1, 0, 2]);
    expect(ids(sortRequests(reqs.slice(), { key: 'size', dir: 1 }))).toEqual([2, 3, 1, 0]);
    expect(ids(sortRequests(reqs.slice(), { key: 'time', dir: -1 }))).toEqual([3, 0, 1, 2]);
    expect(ids(sortRequests(reqs.slice(), { key: 'connection', dir: 1 }))).toEqual([0, 2, 1, 3]);
    expect(ids(sortRequests(reqs.slice(), { key: 'method', dir: 1 }))).toEqual([0, 2, 3, 1]);
    expect(ids(sortRequests(reqs.slice(), { key: 'waterfall', dir: -1 }))).toEqual([3, 2, 1, 0]);
  });
});

describe('grouping by connection', () => {
  it('puts each connection lane before its requests, lanes in order of first packet', () => {
    const rows = buildRows(m, EMPTY_FILTER, { key: 'waterfall', dir: 1 }, true);
    expect(rows.map((r) => (r.kind === 'lane' ? `c${r.conn.id}` : `r${r.req.id}`))).toEqual(['c0', 'r0', 'r2', 'c1', 'r1', 'r3', 'c2']);
  });
  it('hides lanes without matching requests while filtering, and counts what is shown', () => {
    const rows = buildRows(m, { ...EMPTY_FILTER, methods: ['POST'] }, { key: 'waterfall', dir: 1 }, true);
    expect(rows.map((r) => (r.kind === 'lane' ? `c${r.conn.id}:${r.shown}` : `r${r.req.id}`))).toEqual(['c1:1', 'r1']);
  });
  it('is flat when not grouped', () => {
    expect(buildRows(m, EMPTY_FILTER, { key: 'waterfall', dir: 1 }, false).every((r) => r.kind === 'request')).toBe(true);
  });
  it('lists the methods and protocols present', () => {
    expect(facets(m)).toEqual({ methods: ['GET', 'POST'], protocols: ['HTTP/1.0', 'HTTP/1.1'] });
  });
  it('handles 100,000 rows quickly', () => {
    const big = Array.from({ length: 100_000 }, (_, i) => req({ id: i, connectionId: i % 500, index: Math.floor(i / 500) + 1 }));
    const bm = model(Array.from({ length: 500 }, (_, i) => conn({ id: i, firstTime: i })), big);
    const t0 = performance.now();
    const rows = buildRows(bm, { ...EMPTY_FILTER, text: 'r/1' }, { key: 'size', dir: -1 }, true);
    expect(rows.length).toBeGreaterThan(0);
    expect(performance.now() - t0).toBeLessThan(1500);
  });
});

describe('DevTools-style filter keywords', () => {
  const reqs = [
    req({ id: 0, url: 'https://www.example.com/a.png', host: 'www.example.com', size: 60 * 1024, mimeType: 'image/png' }),
    req({ id: 1, url: 'https://example.com/api', host: 'example.com:8443', size: 300, mimeType: 'application/json', findings: [0] }),
    req({ id: 2, url: 'https://cdn.test/x.js', host: 'cdn.test', size: -1, state: 'no-response', status: null, findings: [1] }),
    req({ id: 3, url: 'http://[::1]:8080/', host: '[::1]:8080', size: 2 * 1024 * 1024, mimeType: 'text/html', state: 'reset' }),
  ];
  const ctx = { findingKind: (i: number) => ['hol-stall', 'blind-relay-hang'][i] };
  const q = (text: string) => ids(filterRequests(reqs, { ...EMPTY_FILTER, text }, ctx));
  it('domain: exact host (port ignored), *.domain for it and its subdomains, other wildcards', () => {
    expect(q('domain:example.com')).toEqual([1]);
    expect(q('domain:*.example.com')).toEqual([0, 1]);
    expect(q('domain:*.test')).toEqual([2]);
    expect(q('domain:c*n.test')).toEqual([2]);
    expect(q('domain:::1')).toEqual([3]);
    expect(q('-domain:*.example.com')).toEqual([2, 3]);
  });
  it('larger-than: response bytes with k/M units', () => {
    expect(q('larger-than:50k')).toEqual([0, 3]);
    expect(q('larger-than:1M')).toEqual([3]);
    expect(q('larger-than:299')).toEqual([0, 1, 3]);
    expect(q('larger-than:lots')).toEqual([]);
  });
  it('mime-type: by prefix; is:running: not complete; has-finding: by kind or any', () => {
    expect(q('mime-type:image/')).toEqual([0]);
    expect(q('mime-type:application/json')).toEqual([1]);
    expect(q('is:running')).toEqual([2, 3]);
    expect(q('is:other')).toEqual([]);
    expect(q('has-finding:hol-stall')).toEqual([1]);
    expect(q('has-finding:blind-relay-hang')).toEqual([2]);
    expect(q('has-finding:')).toEqual([1, 2]);
    expect(q('has-finding:hol-stall domain:example.com')).toEqual([1]);
  });
});
