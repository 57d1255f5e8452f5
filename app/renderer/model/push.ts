/**
 * Texts of a server push and its promise's outcome (core's view/compact.ts pushInfo decides the
 * outcome; this only words it): the Name cell's title, the cancelled-push bar's hover, Details.
 */
import type { PushInfo } from '../../../core/src/view/api.js';
import { formatMs } from './format.js';

/** "Push / stream 1, cancelled by the client (CANCEL)" (Details and the Name cell's title say the same). */
export function pushText(p: PushInfo): string {
  return `Push${p.promisedBy !== null ? ` / stream ${p.promisedBy}` : ''}${p.text ? `, ${p.text}` : ''}`;
}

/** When a promise was cancelled: "1.76 ms after the promise (packet #11)"; '' when not cancelled. */
export function pushWhen(p: PushInfo): string {
  if (p.outcome !== 'cancelled') return '';
  const d = p.startTime !== undefined && p.endTime !== undefined ? `${formatMs(p.endTime - p.startTime)} after the promise` : '';
  const pkt = p.cancel?.packet != null ? `packet #${p.cancel.packet}` : '';
  return d && pkt ? `${d} (${pkt})` : d || pkt;
}

/** The cancelled-push bar's hover: who cancelled, the error code, when. */
export function pushTip(p: PushInfo): string {
  const on = p.promisedBy !== null ? ` on stream ${p.promisedBy}` : '';
  const when = pushWhen(p);
  return `Server push promised${on}, ${p.text ?? 'not delivered'}${when ? `, ${when}` : ''}`;
}

