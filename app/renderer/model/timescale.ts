/** Time axis: a window [t0, t1] of capture time mapped onto [0, width] pixels; lane layout. */
import type { ConnectionRow, PhaseTuple } from '../../../core/src/view/api.js';
import type { PhaseId } from '../../../core/src/model/types.js';
import { closeLabel, idleLabel } from './closeText.js';

export interface TimeWindow {
  t0: number;
  t1: number;
}

export function clampWindow(w: TimeWindow, total: TimeWindow, minSpan = 0.01): TimeWindow {
  const span = Math.max(minSpan, Math.min(w.t1 - w.t0, total.t1 - total.t0));
  let t0 = Math.max(total.t0, Math.min(w.t0, total.t1 - span));
  if (!Number.isFinite(t0)) t0 = total.t0;
  return { t0, t1: t0 + span };
}

/** Zoom around an anchor time by a factor (<1 zooms in). */
export function zoomWindow(w: TimeWindow, anchor: number, factor: number, total: TimeWindow): TimeWindow {
  const t0 = anchor - (anchor - w.t0) * factor;
  const t1 = anchor + (w.t1 - anchor) * factor;
  return clampWindow({ t0, t1 }, total);
}

export function panWindow(w: TimeWindow, deltaMs: number, total: TimeWindow): TimeWindow {
  return clampWindow({ t0: w.t0 + deltaMs, t1: w.t1 + deltaMs }, total);
}

export function xOf(t: number, w: TimeWindow, width: number): number {
  const span = w.t1 - w.t0;
  return span > 0 ? ((t - w.t0) / span) * width : 0;
}

/** "Nice" tick positions (1, 2, 5 × 10^k ms) with about one tick per `minPx` pixels. */
export function ticks(w: TimeWindow, width: number, minPx = 90): number[] {
  const span = w.t1 - w.t0;
  if (!(span > 0) || width <= 0) return [];
  const raw = (span * minPx) / width;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? 10 * pow;
  const out: number[] = [];
  for (let t = Math.ceil(w.t0 / step) * step; t <= w.t1 + 1e-9 && out.length < 1000; t += step) out.push(Number(t.toFixed(6)));
  return out;
}

export interface Segment {
  kind: 'lifetime' | 'handshake' | 'tls' | 'idle' | 'close';
  start: number;
  end: number;
  x: number;
  w: number;
  label: string;
  /** For close markers: who closed, how, and the engine's one-sentence explanation. */
  by?: 'client' | 'server' | null;
  how?: string;
  detail?: string;
}

const clip = (x: number, w: number, width: number): [number, number] => {
  const a = Math.max(-2, x);
  const b = Math.min(width + 2, x + w);
  return [a, Math.max(0, b - a)];
};

/**
 * A connection lane's pieces in pixels: lifetime bar from SYN (or first packet) to FIN/RST (or
 * last packet), TCP handshake, TLS, idle gaps labelled with duration and the advertised Keep-Alive
 * timeout, and a close marker saying who closed and why. Pieces outside the window are dropped.
 */
export function laneLayout(c: ConnectionRow, w: TimeWindow, width: number): Segment[] {
  const segs: Segment[] = [];
  const push = (kind: Segment['kind'], start: number, end: number, label: string, extra: Partial<Segment> = {}) => {
    if (end < w.t0 || start > w.t1) return;
    const x = xOf(start, w, width);
    const rawW = Math.max(kind === 'close' ? 0 : 1, xOf(end, w, width) - x);
    const [cx, cw] = kind === 'close' ? [x, 0] : clip(x, rawW, width);
    segs.push({ kind, start, end, x: cx, w: cw, label, ...extra });
  };
  const start = c.synTime ?? c.firstTime;
  const end = Math.max(c.close.time ?? c.lastTime, start);
  const how = c.startSeen ? 'SYN' : 'first packet';
  push('lifetime', start, end, `connection #${c.id}: ${how} → ${c.close.how === 'open' ? 'open' : c.close.how.toUpperCase()}`);
  if (c.synTime !== null && c.establishedTime !== null && c.establishedTime >= c.synTime)
    push('handshake', c.synTime, c.establishedTime, `TCP handshake ${fmtShort(c.establishedTime - c.synTime)}`);
  if (c.tls) push('tls', c.tls[0], c.tls[1], `TLS ${fmtShort(c.tls[1] - c.tls[0])}`);
  for (const g of c.idle) push('idle', g.startTime, g.endTime, idleLabel(g, c.keepAlive));
  const closeT = c.close.time;
  if (closeT !== null) push('close', closeT, closeT, closeLabel(c.close), { by: c.close.by, how: c.close.how, ...(c.close.detail ? { detail: c.close.detail } : {}) });
  return segs;
}

function fmtShort(ms: number): string {
  return ms < 1000 ? `${ms.toFixed(ms < 10 ? 2 : 1)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

export interface PhaseBar {
  id: PhaseId;
  /** Index of the phase in the input list. */
  idx: number;
  x: number;
  w: number;
}

/** A request's phase bars in pixels (at least 1px each so short phases stay visible). */
export function phaseBars(phases: readonly PhaseTuple[], w: TimeWindow, width: number): PhaseBar[] {
  const out: PhaseBar[] = [];
  for (let idx = 0; idx < phases.length; idx++) {
    const [id, s, e] = phases[idx]!;
    if (e < w.t0 || s > w.t1) continue;
    const x = xOf(s, w, width);
    const [cx, cw] = clip(x, Math.max(1, xOf(e, w, width) - x), width);
    out.push({ id, idx, x: cx, w: cw });
  }
  return out;
}

/** Whole-capture extent: [0, max(duration, last event)] with a small margin. */
export function captureExtent(durationMs: number, lastTimes: number[]): TimeWindow {
  let t1 = durationMs;
  for (const t of lastTimes) if (t > t1) t1 = t;
  if (!(t1 > 0)) t1 = 1;
  return { t0: 0, t1: t1 * 1.01 };
}

export interface SpanPx<T> {
  item: T;
  x: number;
  w: number;
}

/**
 * Time spans [start, end] (arrival runs, stalls, late-segment marks) in pixels, at least `minW` wide
 * so an instant stays visible; spans outside the window are dropped, never drawn off the row.
 */
export function spansPx<T>(items: readonly T[], span: (t: T) => [number, number], w: TimeWindow, width: number, minW = 1): SpanPx<T>[] {
  const out: SpanPx<T>[] = [];
  for (const item of items) {
    const [s, e] = span(item);
    if (e < w.t0 || s > w.t1) continue;
    const x = xOf(s, w, width);
    const [cx, cw] = clip(x, Math.max(minW, xOf(e, w, width) - x), width);
    out.push({ item, x: cx, w: cw });
  }
  return out;
}

/** Approximate width in pixels of a 10 px label (the lane font) — enough to keep labels apart. */
export function labelWidth(text: string): number {
  return Math.ceil(text.length * 5.6) + 6;
}

export interface LaneLabels {
  /** Close marker label side: 'right' of the marker, 'left' of it, or hidden when neither fits. */
  close: Map<Segment, 'right' | 'left' | 'none'>;
  /** Idle segments whose label is drawn (the others keep it as their hover title). */
  idle: Set<Segment>;
}

/**
 * Where a lane's labels go so that none overlap and none run off the lane: close labels to the right
 * of their marker, else to the left, else hidden (the marker keeps its title); an idle gap shows its
 * label only when the label fits inside the gap and clears every close label. Later close markers
 * never cover earlier ones.
 */
export function placeLaneLabels(segs: readonly Segment[], width: number): LaneLabels {
  const taken: [number, number][] = [];
  const free = (a: number, b: number) => a >= 0 && b <= width && taken.every(([x, y]) => b <= x || a >= y);
  const close = new Map<Segment, 'right' | 'left' | 'none'>();
  for (const s of segs) {
    if (s.kind !== 'close') continue;
    const w = labelWidth(s.label);
    if (free(s.x + 4, s.x + 4 + w)) {
      close.set(s, 'right');
      taken.push([s.x + 4, s.x + 4 + w]);
    } else if (free(s.x - 4 - w, s.x - 4)) {
      close.set(s, 'left');
      taken.push([s.x - 4 - w, s.x - 4]);
    } else close.set(s, 'none');
  }
  const idle = new Set<Segment>();
  for (const s of segs) {
    if (s.kind !== 'idle') continue;
    const w = labelWidth(s.label);
    if (w > s.w - 4) continue;
    const mid = s.x + s.w / 2;
    const [a, b] = [Math.max(0, mid - w / 2), Math.min(width, mid + w / 2)];
    if (!free(a, b)) continue;
    idle.add(s);
    taken.push([a, b]);
  }
  return { close, idle };
}
