/**
 * Byte-level recognisers for HTTP/1.x start lines (RFC 9112 §3 request-line, §4 status-line), used
 * to detect HTTP on any port and to resynchronise after a capture gap. They look at raw bytes and
 * allocate nothing.
 */

/** RFC 9110 §5.6.2 tchar: "!#$%&'*+-.^_`|~" / DIGIT / ALPHA. */
export const TCHAR: Uint8Array = (() => {
  const t = new Uint8Array(256);
  for (let c = 0x30; c <= 0x39; c++) t[c] = 1;
  for (let c = 0x41; c <= 0x5a; c++) t[c] = 1;
  for (let c = 0x61; c <= 0x7a; c++) t[c] = 1;
  for (const ch of "!#$%&'*+-.^_`|~") t[ch.charCodeAt(0)] = 1;
  return t;
})();

const SP = 0x20;
const CR = 0x0d;
const LF = 0x0a;
/** Longest method token accepted by the sniffers (real ones are ≤ 17: VERSION-CONTROL). */
const MAX_METHOD = 24;

/** `HTTP/1.` followed by one digit at `i`; returns the index after the digit or -1. */
function httpVersionAt(b: Uint8Array, i: number, end: number): number {
  if (i + 8 > end) return -1;
  return b[i] === 0x48 && b[i + 1] === 0x54 && b[i + 2] === 0x54 && b[i + 3] === 0x50 && b[i + 4] === 0x2f &&
    b[i + 5] === 0x31 && b[i + 6] === 0x2e && b[i + 7] >= 0x30 && b[i + 7] <= 0x39
    ? i + 8
    : -1;
}

/**
 * Does a request line start at `start`? `METHOD SP target SP HTTP/1.x (CR)LF`, or HTTP/0.9's
 * `GET SP /target (CR)LF` (RFC 1945 §4.1, simple request). When the bytes end before the line does,
 * a consistent prefix of at least `METHOD SP x` with an upper-case method is accepted.
 */
export function looksLikeHttp1Request(bytes: Uint8Array, start = 0, end = bytes.length): boolean {
  let i = start;
  let upper = true;
  while (i < end && i - start <= MAX_METHOD && TCHAR[bytes[i]] === 1) {
    if (bytes[i] < 0x41 || bytes[i] > 0x5a) upper = false;
    i++;
  }
  const methodLen = i - start;
  if (methodLen === 0 || methodLen > MAX_METHOD || i >= end || bytes[i] !== SP) return false;
  i++;
  const targetStart = i;
  // request-target: visible ASCII, no spaces (origin/absolute/authority/asterisk form).
  while (i < end && bytes[i] > SP && bytes[i] < 0x7f) i++;
  if (i === targetStart) return i >= end && upper && methodLen >= 3;
  if (i >= end) return upper;
  if (bytes[i] === SP) {
    const v = httpVersionAt(bytes, i + 1, end);
    if (v < 0) return end - (i + 1) < 8 && upper && isPrefixOfHttpVersion(bytes, i + 1, end);
    return v === end || bytes[v] === CR || bytes[v] === LF;
  }
  // HTTP/0.9 simple request: GET /path CRLF
  if ((bytes[i] === CR || bytes[i] === LF) && methodLen === 3 && bytes[start] === 0x47 && bytes[start + 1] === 0x45 &&
    bytes[start + 2] === 0x54 && bytes[targetStart] === 0x2f) return true;
  return false;
}

function isPrefixOfHttpVersion(b: Uint8Array, i: number, end: number): boolean {
  const want = 'HTTP/1.';
  for (let k = 0; i + k < end; k++) {
    if (k >= want.length) return b[i + k] >= 0x30 && b[i + k] <= 0x39;
    if (b[i + k] !== want.charCodeAt(k)) return false;
  }
  return true;
}

/** Does a status line start at `start`? `HTTP/1.x SP 3DIGIT` followed by SP, CR, LF or the end. */
export function looksLikeHttp1Response(bytes: Uint8Array, start = 0, end = bytes.length): boolean {
  const v = httpVersionAt(bytes, start, end);
  if (v < 0 || v + 4 > end || bytes[v] !== SP) return false;
  for (let k = 1; k <= 3; k++) if (bytes[v + k] < 0x30 || bytes[v + k] > 0x39) return false;
  const after = v + 4;
  return after === end || bytes[after] === SP || bytes[after] === CR || bytes[after] === LF;
}
