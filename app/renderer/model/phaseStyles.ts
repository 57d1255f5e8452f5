/**
 * Waterfall styling keyed by DevTools phase id (cf. devtools-frontend NetworkWaterfallColumn.ts).
 * Labels live here, in the UI, never in the model. Connection-setup phases are drawn thinner.
 */
import type { PhaseId } from '../../../core/src/model/types.js';
import type { StallKind } from '../../../core/src/view/api.js';

export interface PhaseStyle {
  label: string;
  /** CSS colour (custom property with a fallback so themes can override). */
  color: string;
  /** Connection setup (dns/connecting/ssl/queueing/stalled) is drawn thinner, like DevTools. */
  thin: boolean;
}

export const PHASE_STYLES: Record<PhaseId, PhaseStyle> = {
  queueing: { label: 'Queueing', color: 'var(--phase-queueing, #a8a8a8)', thin: true },
  blocking: { label: 'Stalled', color: 'var(--phase-blocking, #9e9e9e)', thin: true },
  proxy: { label: 'Proxy negotiation', color: 'var(--phase-proxy, #80b4bd)', thin: true },
  dns: { label: 'DNS Lookup', color: 'var(--phase-dns, #009688)', thin: true },
  connecting: { label: 'Initial connection', color: 'var(--phase-connecting, #ff9800)', thin: true },
  ssl: { label: 'SSL', color: 'var(--phase-ssl, #9c27b0)', thin: true },
  sending: { label: 'Request sent', color: 'var(--phase-sending, #80a8f0)', thin: false },
  waiting: { label: 'Waiting for server response', color: 'var(--phase-waiting, #00a846)', thin: false },
  receiving: { label: 'Content Download', color: 'var(--phase-receiving, #0299de)', thin: false },
  push: { label: 'Receiving Push', color: 'var(--phase-push, #8f5bd6)', thin: false },
};

/** All phase ids in DevTools order (a test checks this covers PhaseId). */
export const PHASE_IDS = Object.keys(PHASE_STYLES) as PhaseId[];

export function phaseLabel(id: PhaseId): string {
  return PHASE_STYLES[id].label;
}

/** Stall segments drawn inside a request bar (core/src/view/marks.ts), keyed by their stable kind. */
export const STALL_STYLES: Record<StallKind, { label: string; color: string }> = {
  'tcp-hol': { label: 'TCP head-of-line blocking', color: 'var(--stall-hol, #d93025)' },
  loss: { label: 'Waiting for its own lost bytes', color: 'var(--stall-loss, #b06000)' },
  'tcp-delivery': { label: 'TCP delivery after a retransmission', color: 'var(--stall-loss, #b06000)' },
  'flow-control': { label: 'HTTP/2 flow-control window', color: 'var(--stall-flow, #e37400)' },
  pipelining: { label: 'Pipelining: behind an earlier response', color: 'var(--stall-pipeline, #7b6fb0)' },
};
