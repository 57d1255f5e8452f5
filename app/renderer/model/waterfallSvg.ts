/**
 * Entry of the SVG waterfall for `wirefall waterfall` (built by app/scripts/build.mjs into
 * app/dist/svg/waterfall-svg.js, which the CLI loads): svg.ts with the UI stylesheet's theme colours.
 */
import css from '../styles.css?raw';
import type { ViewModel } from '../../../core/src/view/api.js';
import { themeVars, waterfallSvg, type WaterfallSvgOptions } from './svg.js';

export { DEFAULT_MAX_ROWS, DEFAULT_WIDTH, MIN_WIDTH } from './svg.js';

export function renderWaterfallSvg(model: ViewModel, opts: Omit<WaterfallSvgOptions, 'vars'> = {}): string {
  return waterfallSvg(model, { ...opts, vars: themeVars(css)[opts.theme ?? 'light'] });
}
