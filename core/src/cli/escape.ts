/**
 * Text from a capture (a Host header, a URL, an SNI, a finding's evidence, a file name) is hostile
 * input on its way to a terminal: ESC starts colour changes, window-title and OSC 52 clipboard
 * writes, CR and BS overwrite what was printed, a raw newline forges a line. Every terminal output
 * of the CLI — the table format, stderr messages, the progress line — passes captured text through
 * `terminalSafe`; JSON output passes through `jsonSafe`. The decision of what is escaped is made
 * here and nowhere else.
 *
 * Escaped: C0 controls (U+0000–U+001F, tab and newline included), DEL (U+007F) and C1 controls
 * (U+0080–U+009F: 8-bit CSI and OSC), as `\xHH`; and the Unicode bidirectional overrides and
 * isolates (U+202A–U+202E, U+2066–U+2069), which reorder what a terminal shows, as `\uHHHH`.
 * The escape is for display, not reversible: a backslash in the data is shown as it is.
 */

/** What `terminalSafe` escapes. */
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;
const UNSAFE_ALL = new RegExp(UNSAFE.source, 'g');
/** What JSON.stringify leaves raw that a terminal may still act on (it escapes C0 itself). */
const JSON_UNSAFE = /[\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;
const JSON_UNSAFE_ALL = new RegExp(JSON_UNSAFE.source, 'g');

function hex(c: string): string {
  const n = c.charCodeAt(0);
  return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
}

/** One line of terminal text with every control character shown as an escape (e.g. ESC as `\x1b`). */
export function terminalSafe(s: string): string {
  return UNSAFE.test(s) ? s.replace(UNSAFE_ALL, hex) : s;
}

/**
 * JSON text with DEL, C1 and bidi controls written as `\u00HH` escapes: the same JSON value (these
 * characters occur only inside strings), safe to `cat` to a terminal.
 */
export function jsonSafe(json: string): string {
  // Most output is ASCII without DEL: its UTF-8 length is its length, which Node counts natively
  // (~2.5x faster than the regular expression's scan, over a whole NDJSON run ~1 µs a record).
  if (Buffer.byteLength(json, 'utf8') === json.length && json.indexOf('\x7f') < 0) return json;
  return JSON_UNSAFE.test(json) ? json.replace(JSON_UNSAFE_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : json;
}
