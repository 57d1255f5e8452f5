import { describe, expect, it } from 'vitest';
import { looksLikeHttp1Request, looksLikeHttp1Response } from '../../../core/src/http1/sniff.js';
import { bytes } from './helpers.js';

describe('looksLikeHttp1Request (RFC 9112 §3 request-line)', () => {
  it.each<[string, string, boolean]>([
    ['origin-form', 'GET /index.html HTTP/1.1\r\nHost: a\r\n', true],
    ['absolute-form (§3.2.2)', 'GET http://a.test/x HTTP/1.1\r\n', true],
    ['authority-form (§3.2.3)', 'CONNECT a.test:443 HTTP/1.1\r\n', true],
    ['asterisk-form (§3.2.4)', 'OPTIONS * HTTP/1.1\r\n', true],
    ['extension method token', 'M-SEARCH * HTTP/1.1\r\n', true],
    ['HTTP/1.0', 'POST /f HTTP/1.0\r\n', true],
    ['bare LF', 'GET / HTTP/1.1\n', true],
    ['line not complete yet', 'GET /long/path HTT', true],
    ['just the method and SP', 'GET ', true],
    ['HTTP/0.9 simple request (RFC 1945 §4.1)', 'GET /old\r\n', true],
    ['HTTP/2 preface is not HTTP/1', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', false],
    ['TLS ClientHello', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', false],
    ['status line', 'HTTP/1.1 200 OK\r\n', false],
    ['lower-case partial is not enough', 'get ', false],
    ['SSH banner', 'SSH-2.0-OpenSSH_9.6\r\n', false],
    ['two spaces', 'GET  / HTTP/1.1\r\n', false],
    ['wrong version', 'GET / HTTP/3.0\r\n', false],
    ['empty', '', false],
  ])('%s', (_n, s, want) => expect(looksLikeHttp1Request(bytes(s))).toBe(want));
});

describe('looksLikeHttp1Response (RFC 9112 §4 status-line)', () => {
  it.each<[string, string, boolean]>([
    ['200', 'HTTP/1.1 200 OK\r\n', true],
    ['empty reason phrase', 'HTTP/1.1 204 \r\n', true],
    ['no reason, no SP', 'HTTP/1.0 404\r\n', true],
    ['only the code so far', 'HTTP/1.1 200', true],
    ['two-digit status', 'HTTP/1.1 20 OK\r\n', false],
    ['HTTP/2', 'HTTP/2 200\r\n', false],
    ['request', 'GET / HTTP/1.1\r\n', false],
    ['short', 'HTTP/1.', false],
  ])('%s', (_n, s, want) => expect(looksLikeHttp1Response(bytes(s))).toBe(want));
});
