/**
 * `wirefall waterfall <capture> -o out.svg`: the connection-grouped waterfall, findings marked, as
 * an SVG file (issue 15 item 8). The drawing is the UI's: the capture is analysed as `wirefall
 * view` does (view/core-link.ts), turned into the UI's ViewModel (view/compact.ts, phases from model/phases.ts), and drawn by
 * app/renderer/model/svg.ts with the UI's layout modules and stylesheet colours — built by the app
 * build into app/dist/svg/waterfall-svg.js, which this command loads (as `view` serves
 * app/dist/renderer).
 *
 * PNG: open the SVG in a browser, or screenshot `wirefall view` (see HELP).
 */
import { existsSync } from 'node:fs';
import { isatty } from 'node:tty';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { UnreadableFileError, UsageError } from '../errors.js';
import type { ViewModel } from '../view/api.js';
import { toViewModel } from '../view/compact.js';
import { BUILD_COMMAND } from '../view/server.js';
import { CORE } from '../view/core-link.js';
import { commitUnlessStopped, openOutput } from './output.js';
import { exitNow, RunStop, say } from './stop.js';

/** What app/renderer/model/waterfallSvg.ts exports (core cannot import the app's sources). */
interface SvgModule {
  renderWaterfallSvg(model: ViewModel, opts: { width?: number; theme?: 'light' | 'dark'; maxRows?: number }): string;
  DEFAULT_WIDTH: number;
  MIN_WIDTH: number;
  DEFAULT_MAX_ROWS: number;
}

/** The built SVG drawing of the app workspace, next to core in the repository (same depth from dist/cli and dist/bundle). */
export function svgModulePath(): string {
  return process.env.WIREFALL_SVG_MODULE ?? fileURLToPath(new URL('../../../app/dist/svg/waterfall-svg.js', import.meta.url));
}

export async function loadSvgModule(): Promise<SvgModule> {
  const path = svgModulePath();
  if (!existsSync(path)) throw new UnreadableFileError(`the waterfall drawing is not built (${path}); run \`${BUILD_COMMAND}\` in the repository root (it builds the CLI and the UI; \`npm ci\` runs it too)`);
  return (await import(pathToFileURL(path).href)) as SvgModule;
}

export async function waterfall(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      output: { type: 'string', short: 'o' },
      keylog: { type: 'string', multiple: true },
      width: { type: 'string', short: 'w' },
      theme: { type: 'string' },
      'max-rows': { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('waterfall needs exactly one capture file');
  const theme = values.theme ?? 'light';
  if (theme !== 'light' && theme !== 'dark') throw new UsageError(`unknown --theme ${theme} (light or dark)`);
  const width = values.width !== undefined ? Number(values.width) : undefined;
  if (width !== undefined && !(Number.isInteger(width) && width >= 480 && width <= 20000)) throw new UsageError(`--width must be a whole number of pixels from 480 to 20000`);
  const maxRows = values['max-rows'] !== undefined ? Number(values['max-rows']) : undefined;
  if (maxRows !== undefined && !(Number.isInteger(maxRows) && maxRows >= 1)) throw new UsageError(`--max-rows must be a positive whole number`);
  if (values.output === undefined && isatty(1)) {
    throw new UsageError('waterfall writes SVG: give -o FILE (or -o - to write it to standard output)');
  }
  // Before the analysis: a missing drawing module fails at once, not after a long capture.
  const svg = await loadSvgModule();
  const stop = new RunStop();
  const unlisten = stop.onSignals();
  // The analysis the UI's server runs (view/core-link.ts): every detector, and the packet marks
  // (data arrivals, retransmissions) the waterfall draws; in this thread, as `har` runs one file.
  const file = positionals[0]!;
  const analysis = CORE.analyzeFile(file, { signal: stop.signal, keylog: { files: values.keylog ?? [] } });
  const report = await Promise.race([analysis, stop.stopped.then(() => null)]);
  if (!report || stop.reason) return exitNow(stop.exitCode());
  if (report.capture.error) say(`wirefall: ${file}: ${report.capture.error.message} (drew what came before)\n`);
  const text = svg.renderWaterfallSvg(toViewModel(report, 'cli', CORE.phases), { ...(width !== undefined ? { width } : {}), theme, ...(maxRows !== undefined ? { maxRows } : {}) });
  const out = openOutput(values.output, positionals, stop);
  out.write(text);
  commitUnlessStopped(out, stop);
  unlisten();
  // As analyze: 3 when the capture was truncated or corrupt part-way.
  return report.capture.error ? 3 : 0;
}
