/**
 * Analysis off the UI thread: the desktop app's worker is the view layer's analysis worker
 * (core/src/view/analysis-worker.ts), bundled; main.ts speaks its message protocol.
 */
import '../../core/src/view/analysis-worker.js';
