/**
 * The HPACK / QPACK inspector's data: one connection's header-compression table history, computed
 * on demand by analysing the capture again with that connection's sessions recording
 * (core/src/header-tap.ts). Nothing of it is in the Report, the CLI output or the view model: a
 * capture with 100,000 requests keeps no table copies until someone opens the inspector, and then
 * only for the connection asked about (bounded by MAX_TAP_BLOCKS and MAX_TAP_ENTRIES).
 *
 * Costs an analysis of the capture (without detectors or packet marks) per connection asked; the
 * DocStore caches the last MAX_CACHED_TABLES answers.
 */
import { analyzeFile } from '../engine.js';
import { recordHeaderTables, type HeaderTableHistory } from '../header-tap.js';
import { loadKeyLog, type KeyLogSources } from '../tls/keylog.js';

export type { HeaderBlockRecord, HeaderTableHistory, TableStateRecord, FieldCostRecord, TableEntryRecord } from '../header-tap.js';

export { MAX_CACHED_TABLES } from './header-tables-limits.js';

export type HeaderTablesFn = (path: string, connectionId: number, keylog: KeyLogSources, signal?: AbortSignal) => Promise<HeaderTableHistory>;

/** Analyse `path` again, recording the header tables of `connectionId`. */
export const headerTables: HeaderTablesFn = async (path, connectionId, keylog, signal) => {
  const keyLog = await loadKeyLog(keylog);
  const { history } = await recordHeaderTables(connectionId, () => analyzeFile(path, { keyLog, ...(signal ? { signal } : {}) }));
  return history;
};

/**
 * The blocks of one stream (request and response, trailers, push promise), with each one's
 * position in its direction's sequence: what the inspector opens at for a request.
 */
export function blocksOfStream(h: HeaderTableHistory, streamId: number): { index: number; side: 'client' | 'server' }[] {
  const out: { index: number; side: 'client' | 'server' }[] = [];
  h.blocks.forEach((b, i) => {
    if (b.streamId === streamId) out.push({ index: i, side: b.side });
  });
  return out;
}
