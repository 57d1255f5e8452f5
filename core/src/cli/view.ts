/** `wirefall view`: serve the desktop app's renderer and the analysis to a browser on 127.0.0.1. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UnreadableFileError } from '../errors.js';
import { startViewServer } from '../view/server.js';

/** The built renderer of the app workspace, next to core in the repository. */
export function rendererDir(): string {
  return fileURLToPath(new URL('../../../app/dist/renderer', import.meta.url));
}

export async function startViewFromCli(capturePath: string, port: number, keylogFiles: string[] = []): Promise<number> {
  const staticDir = process.env.WIREFALL_RENDERER_DIR ?? rendererDir();
  if (!existsSync(`${staticDir}/index.html`)) {
    throw new UnreadableFileError(`the UI is not built (${staticDir}); run \`npm run build\` in the repository root`);
  }
  if (!existsSync(capturePath)) throw new UnreadableFileError(`cannot open ${capturePath}: ENOENT`);
  for (const k of keylogFiles) if (!existsSync(k)) throw new UnreadableFileError(`cannot open key log ${k}: ENOENT`);
  const server = await startViewServer({ capturePath, port, staticDir, keylogFiles });
  process.stdout.write(`wirefall: serving ${capturePath} at ${server.url}\n(Ctrl+C to stop)\n`);
  await new Promise<void>((resolve) => {
    const stop = () => void server.close().then(resolve);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
