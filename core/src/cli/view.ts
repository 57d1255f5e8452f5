/**
 * `wirefall view`: serve the desktop app's renderer and the analysis to a browser on 127.0.0.1.
 * `--compare AFTER` opens a second capture and the page shows the diff of the two (view/diff-view.ts);
 * `--keylog` applies to both.
 */
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UnreadableFileError, UsageError } from '../errors.js';
import { BUILD_COMMAND, startViewServer } from '../view/server.js';
import type { DocStore } from '../view/docs.js';
import { terminalSafe } from './escape.js';
import { tuneViewHeapGrowth } from './heap-growth.js';
import { exitNow, print, SIGNAL_EXIT } from './stop.js';

/** The built renderer of the app workspace, next to core in the repository. */
export function rendererDir(): string {
  return fileURLToPath(new URL('../../../app/dist/renderer', import.meta.url));
}

export async function startViewFromCli(capturePath: string, port: number, keylogFiles: string[] = [], compareWith?: string): Promise<number> {
  const staticDir = process.env.WIREFALL_RENDERER_DIR ?? rendererDir();
  if (!existsSync(`${staticDir}/index.html`)) {
    throw new UnreadableFileError(`the UI is not built (${staticDir}); run \`${BUILD_COMMAND}\` in the repository root (it builds the CLI and the UI; \`npm ci\` runs it too)`);
  }
  if (!existsSync(capturePath)) throw new UnreadableFileError(`cannot open ${capturePath}: ENOENT`);
  if (compareWith !== undefined && !existsSync(compareWith)) throw new UnreadableFileError(`cannot open ${compareWith}: ENOENT`);
  for (const k of keylogFiles) if (!existsSync(k)) throw new UnreadableFileError(`cannot open key log ${k}: ENOENT`);
  // `wirefall view DIR`: the page lists the directory's captures to open (and can be sent others).
  const source = statSync(capturePath).isDirectory() ? { directory: capturePath } : { capturePath };
  if (compareWith !== undefined && (source.directory !== undefined || statSync(compareWith).isDirectory())) throw new UsageError('view --compare compares two capture files, not directories');
  const server = await startViewServer({ ...source, port, staticDir, keylogFiles, ...(compareWith !== undefined ? { compareWith } : {}) });
  heapFollowsAnalyses(server.docs, tuneViewHeapGrowth);
  const what = compareWith !== undefined ? `${terminalSafe(capturePath)} → ${terminalSafe(compareWith)} (diff)` : terminalSafe(capturePath);
  print(`wirefall: serving ${what} at ${server.url}\n(Ctrl+C to stop)\n`);
  // Serving ends only by a signal: exit 130 (SIGINT) or 143 (SIGTERM), as analyze does, once the
  // analyses still running are cancelled (their worker threads stopped) and the server closed.
  const signal = await new Promise<'SIGINT' | 'SIGTERM'>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  const docs = server.docs.list();
  for (const d of docs) server.docs.cancel(d.id);
  await Promise.race([Promise.all(docs.map((d) => server.docs.settled(d.id))), new Promise((r) => setTimeout(r, VIEW_STOP_WAIT_MS).unref())]);
  await server.close();
  return exitNow(SIGNAL_EXIT[signal]);
}

/**
 * Calls `tune` with whether a document is being analysed, now and at each change of the documents'
 * states: `view` sets the heap's growth for analysing only then (heap-growth.ts `tuneViewHeapGrowth`).
 */
export function heapFollowsAnalyses(docs: Pick<DocStore, 'list' | 'subscribe'>, tune: (analyzing: boolean) => void): () => void {
  const sync = () => tune(docs.list().some((d) => d.state === 'analyzing'));
  sync();
  return docs.subscribe((ev) => {
    if (ev.type === 'state' || ev.type === 'docs') sync();
  });
}

/** Longest wait for cancelled analyses to settle before `view` exits anyway (process.exit ends them). */
export const VIEW_STOP_WAIT_MS = 2000;
