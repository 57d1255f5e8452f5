/**
 * A drag handle that resizes a pane or a column (issue 15 item 9): reports the pointer's offset
 * from where the drag began; the owner clamps and applies it (model/layout.ts). Keyboard: arrows
 * move it by 16 px when focused.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { readSize } from '../model/layout.js';

export function Splitter({ axis, onMove, onEnd, label, testId, className, style, dataKey }: { axis: 'x' | 'y'; onMove(delta: number): void; onEnd?(): void; label: string; testId: string; className?: string; style?: React.CSSProperties; dataKey?: string }) {
  const start = useRef<number | null>(null);
  return (
    <div
      className={`splitter splitter-${axis}${className ? ` ${className}` : ''}`}
      role="separator"
      aria-orientation={axis === 'x' ? 'vertical' : 'horizontal'}
      aria-label={label}
      title={label}
      tabIndex={0}
      data-testid={testId}
      {...(dataKey ? { 'data-key': dataKey } : {})}
      style={style}
      onClick={(e) => e.stopPropagation()}
      onPointerDown={(e) => {
        e.preventDefault();
        e.stopPropagation();
        start.current = axis === 'x' ? e.clientX : e.clientY;
        (e.target as HTMLElement).setPointerCapture(e.pointerId);
      }}
      onPointerMove={(e) => {
        if (start.current === null) return;
        onMove((axis === 'x' ? e.clientX : e.clientY) - start.current);
      }}
      onPointerUp={() => {
        if (start.current === null) return;
        start.current = null;
        onEnd?.();
      }}
      onKeyDown={(e) => {
        const d = { ArrowLeft: -16, ArrowUp: -16, ArrowRight: 16, ArrowDown: 16 }[e.key];
        if (d === undefined) return;
        e.preventDefault();
        e.stopPropagation();
        onMove(d);
        onEnd?.();
      }}
    />
  );
}

/**
 * A size kept across sessions in localStorage under `key` (null: the CSS default). `begin()` takes
 * the current size as the drag's start; `drag(delta, clamp)` sets start + delta, clamped.
 */
export function usePersistentSize(key: string) {
  const [size, setSize] = useState<number | null>(() => {
    try {
      return readSize(localStorage.getItem(key));
    } catch {
      return null;
    }
  });
  useEffect(() => {
    try {
      if (size === null) localStorage.removeItem(key);
      else localStorage.setItem(key, String(size));
    } catch {
      // Storage unavailable (a sandboxed page): the size lasts for this page only.
    }
  }, [key, size]);
  const base = useRef<number | null>(null);
  const drag = useCallback((current: () => number, delta: number, clamp: (start: number, delta: number) => number) => {
    base.current ??= current();
    setSize(clamp(base.current, delta));
  }, []);
  const end = useCallback(() => {
    base.current = null;
  }, []);
  return { size, setSize, drag, end };
}
