/**
 * Live heap for the hostile tests' memory bounds: `heapUsed` right after a full garbage collection,
 * so garbage not yet collected (which V8 lets grow to hundreds of MB) does not count. `gc` is not
 * exposed to test workers; `--expose-gc` set at run time makes it available in a fresh context.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Bytes of live heap now (after a full collection). */
export function liveHeap(): number {
  gc();
  return process.memoryUsage().heapUsed;
}

export const MB = 1024 * 1024;
