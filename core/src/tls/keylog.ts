/**
 * TLS key log store: the NSS key log format (SSLKEYLOGFILE; RFC 9850, formerly
 * draft-ietf-tls-keylogfile; https://firefox-source-docs.mozilla.org/security/nss/legacy/key_log_format/),
 * from files (`readKeyLogFile`) and from pcapng Decryption Secrets Blocks of type 'TLSK'
 * (`addText`, pcapng §4.8), merged into one store.
 *
 * Line format: `<label> <client_random: 64 hex digits> <secret: hex>`. Lines starting with '#'
 * and blank lines are ignored; CR before LF, leading blanks and runs of spaces or tabs between
 * fields are tolerated (as Wireshark does); trailing NULs of a source are ignored. Hex is
 * case-insensitive. Labels kept (RFC 9850 §3):
 *  - CLIENT_RANDOM: the TLS ≤ 1.2 master secret, exactly 48 octets (RFC 5246 §8.1);
 *  - the TLS 1.3 secrets (RFC 8446 §7.1): CLIENT_EARLY_TRAFFIC_SECRET, CLIENT_HANDSHAKE_TRAFFIC_SECRET,
 *    SERVER_HANDSHAKE_TRAFFIC_SECRET, CLIENT_TRAFFIC_SECRET_0, SERVER_TRAFFIC_SECRET_0,
 *    EXPORTER_SECRET, EARLY_EXPORTER_SECRET — each a hash output: 32, 48 or 64 octets.
 * Counted as `unsupported` and not kept: RSA (encrypted pre-master → pre-master; needs the
 * ClientKeyExchange), ECH_SECRET and ECH_CONFIG (RFC 9850 §3.2). Any other line (unknown label,
 * bad hex, random not 32 octets, secret of the wrong length, extra fields) is `garbage`: counted,
 * never thrown.
 *
 * The same label and client random again is a `duplicate`; the later secret replaces the earlier
 * (as in Wireshark, where a later line wins). Limits: MAX_KEYLOG_BYTES per source (the rest of the
 * source is ignored, from the last line break before the limit; `truncated`), MAX_KEYLOG_ENTRIES
 * in the store (further new entries are `dropped`).
 *
 * Parsing is one linear pass with no regular expressions (about 1.5 s per million lines on Node 20).
 * Storage is compact: the key is a 33-char one-byte string (label index + the 32 random octets),
 * the value an offset into 1 MiB slabs that hold the secrets — no object per secret; a million
 * entries measured about 120 MB (85 MB heap, 36 MB slabs).
 */
import { open } from 'node:fs/promises';
import { UnreadableFileError, WirefallError } from '../errors.js';

/** Octets read from one source (a file or a DSB); beyond it the rest of the source is ignored. */
export const MAX_KEYLOG_BYTES = 64 * 1024 * 1024;
/** Entries kept in one store; further new (label, client random) pairs are dropped and counted. */
export const MAX_KEYLOG_ENTRIES = 2_000_000;
/** Longest secret kept: a SHA-512 output (the hash of TLS_AEGIS_256_SHA512). */
export const MAX_KEYLOG_SECRET_BYTES = 64;

export type KeyLabel =
  | 'CLIENT_RANDOM'
  | 'CLIENT_EARLY_TRAFFIC_SECRET'
  | 'CLIENT_HANDSHAKE_TRAFFIC_SECRET'
  | 'SERVER_HANDSHAKE_TRAFFIC_SECRET'
  | 'CLIENT_TRAFFIC_SECRET_0'
  | 'SERVER_TRAFFIC_SECRET_0'
  | 'EXPORTER_SECRET'
  | 'EARLY_EXPORTER_SECRET';

export const KEY_LABELS: readonly KeyLabel[] = [
  'CLIENT_RANDOM',
  'CLIENT_EARLY_TRAFFIC_SECRET',
  'CLIENT_HANDSHAKE_TRAFFIC_SECRET',
  'SERVER_HANDSHAKE_TRAFFIC_SECRET',
  'CLIENT_TRAFFIC_SECRET_0',
  'SERVER_TRAFFIC_SECRET_0',
  'EXPORTER_SECRET',
  'EARLY_EXPORTER_SECRET',
];

/** Known labels wirefall does not use (counted as `unsupported`). */
const UNSUPPORTED_LABELS = new Set(['RSA', 'ECH_SECRET', 'ECH_CONFIG']);

export interface KeyLogStats {
  /** Lines examined (including comments and blank lines). */
  lines: number;
  /** New entries stored. */
  entries: number;
  /** Malformed lines (see the module comment). */
  garbage: number;
  /** Lines with a known label wirefall does not use (RSA, ECH_SECRET, ECH_CONFIG). */
  unsupported: number;
  /** Lines repeating a stored (label, client random); the later secret is kept. */
  duplicates: number;
  /** New entries not stored because the store held MAX_KEYLOG_ENTRIES. */
  dropped: number;
  /** A source exceeded MAX_KEYLOG_BYTES and its rest was ignored. */
  truncated: boolean;
}

export interface KeyLogOptions {
  /** Per-source byte limit (default MAX_KEYLOG_BYTES). */
  maxBytes?: number;
  /** Store entry limit (default MAX_KEYLOG_ENTRIES). */
  maxEntries?: number;
}

const CLIENT_RANDOM_LEN = 32;
const MASTER_SECRET_LEN = 48; // RFC 5246 §8.1
const SLAB_BYTES = 1 << 20;
const READ_CHUNK = 1 << 20;

const LABEL_INDEX = new Map<string, number>(KEY_LABELS.map((l, i) => [l, i]));

/** Hex digit values by char code, -1 for non-hex. */
const HEX = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) HEX[48 + i] = i;
for (let i = 0; i < 6; i++) {
  HEX[65 + i] = 10 + i;
  HEX[97 + i] = 10 + i;
}

const isBlank = (c: number): boolean => c === 32 || c === 9 || c === 13;

const emptyStats = (): KeyLogStats => ({ lines: 0, entries: 0, garbage: 0, unsupported: 0, duplicates: 0, dropped: 0, truncated: false });

export class KeyLog {
  private readonly map = new Map<string, number>();
  private readonly slabs: Uint8Array[] = [];
  private slabUsed = SLAB_BYTES;
  /** Per-source byte limit. */
  readonly maxBytes: number;
  /** Store entry limit. */
  readonly maxEntries: number;
  /** Scratch: label index + client random, turned into the map key. */
  private readonly keyScratch = Buffer.alloc(1 + CLIENT_RANDOM_LEN);
  /** Scratch: the decoded secret of the line being parsed. */
  private readonly secretScratch = new Uint8Array(MAX_KEYLOG_SECRET_BYTES);
  /** Cumulative over every source added. */
  readonly stats: KeyLogStats = emptyStats();

  constructor(opts: KeyLogOptions = {}) {
    this.maxBytes = opts.maxBytes ?? MAX_KEYLOG_BYTES;
    this.maxEntries = opts.maxEntries ?? MAX_KEYLOG_ENTRIES;
  }

  /** Entries stored. */
  get size(): number {
    return this.map.size;
  }

  /**
   * Parse one source (a key log file's contents, or a pcapng DSB 'TLSK' payload) and merge it in.
   * Returns this source's counts; `stats` accumulates them.
   */
  addText(source: string | Uint8Array): KeyLogStats {
    const st = emptyStats();
    let text: string;
    let end: number;
    if (typeof source === 'string') {
      text = source;
      end = text.length;
    } else {
      // Only ASCII is meaningful; latin1 maps each octet to one char, so offsets stay octet offsets.
      const n = Math.min(source.length, this.maxBytes + 1);
      text = Buffer.from(source.buffer, source.byteOffset, n).toString('latin1');
      end = source.length;
    }
    if (end > this.maxBytes) {
      // Keep whole lines only: cut after the last line break within the limit.
      st.truncated = true;
      end = text.lastIndexOf('\n', this.maxBytes - 1) + 1;
    }
    while (end > 0 && text.charCodeAt(end - 1) === 0) end--;
    let pos = 0;
    while (pos < end) {
      let eol = text.indexOf('\n', pos);
      if (eol < 0 || eol > end) eol = end;
      st.lines++;
      this.line(text, pos, eol, st);
      pos = eol + 1;
    }
    const c = this.stats;
    c.lines += st.lines;
    c.entries += st.entries;
    c.garbage += st.garbage;
    c.unsupported += st.unsupported;
    c.duplicates += st.duplicates;
    c.dropped += st.dropped;
    c.truncated ||= st.truncated;
    return st;
  }

  /** The secret logged for (label, client random), as a copy; undefined when none was logged. */
  get(label: KeyLabel, clientRandom: Uint8Array): Uint8Array | undefined {
    const li = LABEL_INDEX.get(label);
    if (li === undefined || clientRandom.length !== CLIENT_RANDOM_LEN) return undefined;
    const k = this.keyScratch;
    k[0] = li;
    k.set(clientRandom, 1);
    const ref = this.map.get(k.toString('latin1'));
    if (ref === undefined) return undefined;
    const slab = this.slabs[Math.floor(ref / SLAB_BYTES)];
    const off = ref % SLAB_BYTES;
    return slab.slice(off + 1, off + 1 + slab[off]);
  }

  /** One line text[start, end) (without its LF). */
  private line(text: string, start: number, end: number, st: KeyLogStats): void {
    let i = start;
    while (i < end && isBlank(text.charCodeAt(i))) i++;
    let e = end;
    while (e > i && isBlank(text.charCodeAt(e - 1))) e--;
    if (i === e || text.charCodeAt(i) === 35 /* # */) return;
    // label
    let j = i;
    while (j < e && !isBlank(text.charCodeAt(j))) j++;
    const label = text.slice(i, j);
    const li = LABEL_INDEX.get(label);
    if (li === undefined) {
      if (UNSUPPORTED_LABELS.has(label)) st.unsupported++;
      else st.garbage++;
      return;
    }
    // client random
    while (j < e && isBlank(text.charCodeAt(j))) j++;
    const r0 = j;
    while (j < e && !isBlank(text.charCodeAt(j))) j++;
    const r1 = j;
    // secret: the rest, which must be one field
    while (j < e && isBlank(text.charCodeAt(j))) j++;
    const s0 = j;
    while (j < e && !isBlank(text.charCodeAt(j))) j++;
    const s1 = j;
    if (s1 !== e || r1 - r0 !== 2 * CLIENT_RANDOM_LEN) {
      st.garbage++;
      return;
    }
    const slen = (s1 - s0) >> 1;
    if ((s1 - s0) % 2 !== 0 || (li === 0 ? slen !== MASTER_SECRET_LEN : slen !== 32 && slen !== 48 && slen !== MAX_KEYLOG_SECRET_BYTES)) {
      st.garbage++;
      return;
    }
    const k = this.keyScratch;
    k[0] = li;
    const secret = this.secretScratch;
    if (!decodeHex(text, r0, r1, k, 1) || !decodeHex(text, s0, s1, secret, 0)) {
      st.garbage++;
      return;
    }
    const key = k.toString('latin1');
    const ref = this.map.get(key);
    if (ref !== undefined) {
      st.duplicates++;
      const slab = this.slabs[Math.floor(ref / SLAB_BYTES)];
      const off = ref % SLAB_BYTES;
      if (slab[off] === slen) for (let i = 0; i < slen; i++) slab[off + 1 + i] = secret[i];
      else this.map.set(key, this.store(slen));
      return;
    }
    if (this.map.size >= this.maxEntries) {
      st.dropped++;
      return;
    }
    this.map.set(key, this.store(slen));
    st.entries++;
  }

  /** Appends [length, secretScratch…] to the slabs; returns its reference (slab × SLAB_BYTES + offset). */
  private store(slen: number): number {
    if (this.slabUsed + 1 + slen > SLAB_BYTES) {
      this.slabs.push(new Uint8Array(SLAB_BYTES));
      this.slabUsed = 0;
    }
    const slab = this.slabs[this.slabs.length - 1];
    const off = this.slabUsed;
    slab[off] = slen;
    const secret = this.secretScratch;
    for (let i = 0; i < slen; i++) slab[off + 1 + i] = secret[i];
    this.slabUsed += 1 + slen;
    return (this.slabs.length - 1) * SLAB_BYTES + off;
  }
}

/** Decodes hex text[a, b) into out[at…]; false (out partly written) on a non-hex digit. */
function decodeHex(text: string, a: number, b: number, out: Uint8Array, at: number): boolean {
  for (let i = a; i < b; i += 2) {
    const h = text.charCodeAt(i);
    const l = text.charCodeAt(i + 1);
    if (h >= 128 || l >= 128) return false;
    const hv = HEX[h];
    const lv = HEX[l];
    if (hv < 0 || lv < 0) return false;
    out[at++] = (hv << 4) | lv;
  }
  return true;
}

/**
 * Reads a key log file into `into` (a new KeyLog by default). At most the store's byte limit is
 * read (MAX_KEYLOG_BYTES by default); the rest of a longer file is ignored and `truncated` set.
 * A missing, unreadable or directory path throws UnreadableFileError (WF_UNREADABLE).
 */
export async function readKeyLogFile(path: string, into: KeyLog = new KeyLog()): Promise<{ keylog: KeyLog; stats: KeyLogStats }> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    throw new UnreadableFileError(`cannot open key log ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) throw new UnreadableFileError(`key log ${path} is a directory`);
    // Read to EOF (not to st.size: a pipe or a file still being written has no final size), but
    // never more than one octet past the limit, which tells addText the source was longer.
    const want = into.maxBytes + 1;
    const parts: Buffer[] = [];
    let got = 0;
    while (got < want) {
      const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK, want - got));
      const { bytesRead } = await fh.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      parts.push(bytesRead === chunk.length ? chunk : chunk.subarray(0, bytesRead));
      got += bytesRead;
    }
    const stats = into.addText(parts.length === 1 ? parts[0] : Buffer.concat(parts, got));
    return { keylog: into, stats };
  } catch (e) {
    if (e instanceof WirefallError) throw e;
    throw new UnreadableFileError(`cannot read key log ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
  } finally {
    await fh.close();
  }
}

/** TLS key logs for one analysis: files (`--keylog`) and texts (opened in the app). */
export interface KeyLogSources {
  files?: string[];
  texts?: string[];
}

/**
 * A fresh KeyLog from the sources, one per capture (a capture's own DSBs are added to it and must
 * not leak into another's); undefined when there are none.
 */
export async function loadKeyLog(src: KeyLogSources | undefined): Promise<KeyLog | undefined> {
  if (!src || (!src.files?.length && !src.texts?.length)) return undefined;
  const keys = new KeyLog();
  for (const f of src.files ?? []) await readKeyLogFile(f, keys);
  for (const t of src.texts ?? []) keys.addText(t);
  return keys;
}
