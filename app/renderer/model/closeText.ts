/** Human labels for idle gaps and connection closes (UI text only; facts come from the model). */
import type { ConnectionRow } from '../../../core/src/view/api.js';
import type { CloseReason, IdlePeriod } from '../../../core/src/model/types.js';
import { formatMs } from './format.js';

const REASON_TEXT: Record<CloseReason, string> = {
  'client-close': 'client closed',
  'server-close': 'server closed',
  'connection-close-header': 'Connection: close',
  'idle-timeout': 'idle timeout',
  'max-requests': 'Keep-Alive max reached',
  'http10-no-keepalive': 'HTTP/1.0 without keep-alive',
  'close-delimited-body': 'close-delimited body',
  rst: 'reset',
  goaway: 'GOAWAY',
  'capture-end': 'still open at capture end',
  unknown: 'reason unknown',
};

export function closeReasonText(reason: CloseReason): string {
  return REASON_TEXT[reason] ?? reason;
}

/** Short marker label, e.g. "server FIN · idle timeout" or "open at capture end". */
export function closeLabel(close: ConnectionRow['close']): string {
  if (close.how === 'open' || close.by === null) return close.reason === 'capture-end' || close.how === 'open' ? 'open at capture end' : closeReasonText(close.reason);
  const head = `${close.by} ${close.how.toUpperCase()}`;
  // "client FIN · client closed" says nothing twice.
  if (close.reason === 'client-close' || close.reason === 'server-close' || (close.reason === 'rst' && close.how === 'rst')) return head;
  return `${head} · ${closeReasonText(close.reason)}`;
}

/** Idle-gap label, e.g. "idle 4.98 s (Keep-Alive: timeout=5)". */
export function idleLabel(gap: IdlePeriod, keepAlive: ConnectionRow['keepAlive']): string {
  const base = `idle ${formatMs(gap.durationMs)}`;
  if (keepAlive?.timeoutS !== undefined) return `${base} (Keep-Alive: timeout=${keepAlive.timeoutS})`;
  return base;
}
