/**
 * Overview strip of the whole capture (canvas, like DevTools' overview): one thin line per
 * connection lifetime, requests painted over it by phase; a brush selects the waterfall window.
 */
import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import type { ViewModel } from '../../../core/src/view/api.js';
import type { PhaseId } from '../../../core/src/model/types.js';
import type { Highlight } from '../App.js';
import { PHASE_STYLES } from '../model/phaseStyles.js';
import { ticks, xOf, type TimeWindow } from '../model/timescale.js';
import { formatMs } from '../model/format.js';

const H = 64;
/** Requests up to which the overview draws every bar in request order (beyond, colour by colour). */
const OVERVIEW_EXACT_REQUESTS = 20_000;

/** Canvas can't use CSS variables: resolve `var(--x, fallback)` against the document. */
function resolveColor(css: string, el: Element): string {
  const m = /^var\((--[\w-]+),\s*([^)]+)\)$/.exec(css);
  if (!m) return css;
  const v = getComputedStyle(el).getPropertyValue(m[1]!).trim();
  return v || m[2]!.trim();
}

export function Overview({ model, extent, win, setWindow, highlight }: { model: ViewModel; extent: TimeWindow; win: TimeWindow; setWindow(w: TimeWindow): void; highlight: Highlight }) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const wrapRef = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(800);
  const [scheme, setScheme] = useState(0);

  useLayoutEffect(() => {
    const el = wrapRef.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setWidth(el.clientWidth));
    ro.observe(el);
    setWidth(el.clientWidth);
    const mq = window.matchMedia('(prefers-color-scheme: dark)');
    const onScheme = () => setScheme((s) => s + 1);
    mq.addEventListener('change', onScheme);
    return () => {
      ro.disconnect();
      mq.removeEventListener('change', onScheme);
    };
  }, []);

  useEffect(() => {
    const cv = canvasRef.current;
    if (!cv) return;
    const dpr = window.devicePixelRatio || 1;
    cv.width = Math.max(1, Math.floor(width * dpr));
    cv.height = H * dpr;
    const ctx = cv.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, H);
    const conns = model.connections.slice().sort((a, b) => a.firstTime - b.firstTime);
    const lanes = Math.max(1, conns.length);
    const top = 14;
    const avail = H - top - 2;
    const laneOf = new Map<number, number>();
    conns.forEach((c, i) => laneOf.set(c.id, i));
    const pitch = Math.min(8, avail / lanes);
    const y = (i: number) => top + i * pitch;
    const lh = Math.max(1, Math.min(6, pitch - 1));
    const lifeColor = resolveColor('var(--lane-life, #b0b0b0)', cv);
    ctx.fillStyle = lifeColor;
    // Many lanes share a pixel row: keep lifetimes faint so request activity stays readable.
    ctx.globalAlpha = lanes > avail / 3 ? 0.25 : 1;
    for (const c of conns) {
      const x0 = xOf(c.synTime ?? c.firstTime, extent, width);
      const x1 = xOf(c.close.time ?? c.lastTime, extent, width);
      ctx.fillRect(x0, y(laneOf.get(c.id)!) + lh / 2 - 0.5, Math.max(1, x1 - x0), 1);
    }
    ctx.globalAlpha = 1;
    if (highlight.requests.size || highlight.connections.size) {
      ctx.fillStyle = resolveColor('var(--highlight-strong, #f5a623)', cv);
      ctx.globalAlpha = 0.45;
      for (const c of conns) {
        if (!highlight.connections.has(c.id)) continue;
        const x0 = xOf(c.synTime ?? c.firstTime, extent, width);
        const x1 = xOf(c.close.time ?? c.lastTime, extent, width);
        ctx.fillRect(x0, y(laneOf.get(c.id)!) - 1, Math.max(2, x1 - x0), lh + 2);
      }
    }
    ctx.globalAlpha = 1;
    const colors = {} as Record<PhaseId, string>;
    for (const id of Object.keys(PHASE_STYLES) as PhaseId[]) colors[id] = resolveColor(PHASE_STYLES[id].color, cv);
    if (model.requests.length <= OVERVIEW_EXACT_REQUESTS) {
      for (const r of model.requests) {
        const yy = y(laneOf.get(r.connectionId) ?? 0);
        for (const [id, s, e] of r.phases) {
          if (PHASE_STYLES[id].thin) continue;
          ctx.fillStyle = colors[id];
          const x0 = xOf(s, extent, width);
          ctx.fillRect(x0, yy, Math.max(1, xOf(e, extent, width) - x0), lh);
        }
      }
    } else {
      // Hundreds of thousands of bars, mostly narrower than a pixel: per phase colour and lane,
      // bars that touch are merged into one run (a bar per fillRect dominated the drawing), and the
      // colours are drawn one after another (where phases overlap, the later colour is on top).
      const runs = new Map<PhaseId, number[]>();
      const open = new Map<string, [number, number, number]>();
      const flush = (id: PhaseId, run: [number, number, number]) => {
        let l = runs.get(id);
        if (!l) runs.set(id, (l = []));
        l.push(run[0], run[2], run[1] - run[0]);
      };
      for (const r of model.requests) {
        const yy = y(laneOf.get(r.connectionId) ?? 0);
        for (const [id, s, e] of r.phases) {
          if (PHASE_STYLES[id].thin) continue;
          const x0 = xOf(s, extent, width);
          const x1 = x0 + Math.max(1, xOf(e, extent, width) - x0);
          const key = `${id} ${yy}`;
          const run = open.get(key);
          if (run && x0 <= run[1] + 0.5 && x1 >= run[0] - 0.5) {
            run[0] = Math.min(run[0], x0);
            run[1] = Math.max(run[1], x1);
          } else {
            if (run) flush(id, run);
            open.set(key, [x0, x1, yy]);
          }
        }
      }
      for (const [key, run] of open) flush(key.slice(0, key.indexOf(' ')) as PhaseId, run);
      for (const [id, l] of runs) {
        ctx.fillStyle = colors[id];
        for (let i = 0; i < l.length; i += 3) ctx.fillRect(l[i]!, l[i + 1]!, l[i + 2]!, lh);
      }
    }
    ctx.fillStyle = resolveColor('var(--text-muted, #777)', cv);
    ctx.font = '10px system-ui, sans-serif';
    for (const t of ticks(extent, width, 110)) {
      const x = xOf(t, extent, width);
      ctx.fillRect(x, 0, 1, 4);
      // A label that would run past the right edge is drawn to the left of its tick.
      const label = formatMs(t);
      const lw = ctx.measureText(label).width;
      ctx.fillText(label, x + 2 + lw > width ? x - 2 - lw : x + 2, 10);
    }
  }, [model, extent, width, highlight, scheme]);

  const drag = useRef<{ mode: 'new' | 'move'; x0: number; w0: TimeWindow } | null>(null);
  const tOf = (clientX: number) => {
    const rect = wrapRef.current!.getBoundingClientRect();
    return extent.t0 + ((clientX - rect.left) / rect.width) * (extent.t1 - extent.t0);
  };
  const bx = xOf(win.t0, extent, width);
  const bw = Math.max(2, xOf(win.t1, extent, width) - bx);
  const whole = win.t0 <= extent.t0 && win.t1 >= extent.t1;

  return (
    <div
      className="overview"
      ref={wrapRef}
      data-testid="overview"
      onPointerDown={(e) => {
        (e.currentTarget as HTMLElement).setPointerCapture(e.pointerId);
        const t = tOf(e.clientX);
        const inside = !whole && t >= win.t0 && t <= win.t1;
        drag.current = { mode: inside ? 'move' : 'new', x0: e.clientX, w0: win };
      }}
      onPointerMove={(e) => {
        const d = drag.current;
        if (!d) return;
        if (d.mode === 'move') {
          const dt = tOf(e.clientX) - tOf(d.x0);
          setWindow({ t0: d.w0.t0 + dt, t1: d.w0.t1 + dt });
        } else if (Math.abs(e.clientX - d.x0) > 3) {
          const a = tOf(d.x0);
          const b = tOf(e.clientX);
          setWindow({ t0: Math.min(a, b), t1: Math.max(a, b) });
        }
      }}
      onPointerUp={() => (drag.current = null)}
      onDoubleClick={() => setWindow(extent)}
      title="Drag to select a time window; drag the window to move it; double-click for the whole capture"
    >
      <canvas ref={canvasRef} style={{ width, height: H }} />
      {!whole && (
        <>
          <div className="brush-shade" style={{ left: 0, width: Math.max(0, bx) }} />
          <div className="brush" data-testid="brush" style={{ left: bx, width: bw }} />
          <div className="brush-shade" style={{ left: bx + bw, right: 0 }} />
        </>
      )}
    </div>
  );
}
