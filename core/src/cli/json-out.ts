/**
 * Pretty-printed JSON, byte for byte what `JSON.stringify(value, null, 2)` gives, written in pieces.
 *
 * A report's JSON is tens of MB (21 MB for the 521 MB benchmark capture). As one string it is then
 * encoded into one buffer of the same size: two large fresh allocations at the end of a run, when
 * the whole model is in memory. Streaming the top levels (the report's fields, then each
 * connection, request and finding) and handing the writer PIECE_CHARS at a time keeps every string
 * small, so the peak does not grow by twice the output. Speed: in a microbenchmark over a parsed
 * report the pieces took ~110 ms against 230–320 ms for one string, but in alternated whole runs of
 * the CLI the two were equal within the noise (pretty-printing itself is most of the cost).
 */

/** Characters collected before a write. */
export const PIECE_CHARS = 64 * 1024;
/**
 * Levels of objects and arrays streamed member by member; deeper values are stringified whole. Four
 * reach the records of a batch ({ reports: [{ connections: [...] }] }) and of a HAR (log.entries).
 */
const STREAM_DEPTH = 4;

export function writePrettyJson(value: unknown, write: (s: string) => void, pieceChars = PIECE_CHARS): void {
  let buf = '';
  const put = (s: string): void => {
    buf += s;
    if (buf.length >= pieceChars) {
      write(buf);
      buf = '';
    }
  };
  emit(value, '', 0, put);
  write(buf + '\n');
}

function emit(v: unknown, pad: string, depth: number, put: (s: string) => void): void {
  if (depth < STREAM_DEPTH && typeof v === 'object' && v !== null && typeof (v as { toJSON?: unknown }).toJSON !== 'function') {
    const inner = pad + '  ';
    if (Array.isArray(v)) {
      if (v.length === 0) return put('[]');
      for (let i = 0; i < v.length; i++) {
        put((i === 0 ? '[\n' : ',\n') + inner);
        emit(v[i], inner, depth + 1, put);
      }
      return put('\n' + pad + ']');
    }
    let first = true;
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) {
      const x = o[k];
      // As JSON.stringify: members whose value has no JSON form are left out.
      if (x === undefined || typeof x === 'function' || typeof x === 'symbol') continue;
      put((first ? '{\n' : ',\n') + inner + JSON.stringify(k) + ': ');
      first = false;
      emit(x, inner, depth + 1, put);
    }
    return put(first ? '{}' : '\n' + pad + '}');
  }
  // An array element with no JSON form is null, as in JSON.stringify. JSON escapes newlines inside
  // strings, so every newline in `s` is structural and takes this level's indentation.
  const s = JSON.stringify(v, null, 2) as string | undefined;
  put(s === undefined ? 'null' : pad === '' ? s : s.replaceAll('\n', '\n' + pad));
}
