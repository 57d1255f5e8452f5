import { describe, expect, it } from 'vitest';
import { captureExtent, clampWindow, laneLayout, panWindow, phaseBars, ticks, xOf, zoomWindow } from '../../app/renderer/model/timescale.js';
import { closeLabel, idleLabel } from '../../app/renderer/model/closeText.js';
import { keepAliveText } from '../../core/src/view/facts.js';
import { formatBytes, formatMs } from '../../app/renderer/model/format.js';
import { conn } from './fixtures.js';

const W = { t0: 0, t1: 1000 };

describe('time axis', () => {
  it('maps times to pixels', () => {
    expect(xOf(500, W, 200)).toBe(100);
    expect(xOf(0, W, 200)).toBe(0);
  });
  it('zooms around the anchor and stays inside the capture', () => {
    expect(zoomWindow(W, 500, 0.5, W)).toEqual({ t0: 250, t1: 750 });
    expect(zoomWindow({ t0: 0, t1: 100 }, 0, 100, W)).toEqual({ t0: 0, t1: 1000 });
  });
  it('pans, clamped at the ends', () => {
    expect(panWindow({ t0: 100, t1: 200 }, 50, W)).toEqual({ t0: 150, t1: 250 });
    expect(panWindow({ t0: 100, t1: 200 }, -500, W)).toEqual({ t0: 0, t1: 100 });
    expect(panWindow({ t0: 800, t1: 900 }, 500, W)).toEqual({ t0: 900, t1: 1000 });
    expect(clampWindow({ t0: -5, t1: 2000 }, W)).toEqual(W);
  });
  it('puts ticks at 1-2-5 steps', () => {
    expect(ticks(W, 1000, 100)).toEqual([0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
    expect(ticks({ t0: 3, t1: 13 }, 500, 100)).toEqual([4, 6, 8, 10, 12]);
  });
  it('extends to the last event', () => {
    expect(captureExtent(100, [50, 300]).t1).toBeCloseTo(303);
  });
});

describe('connection lane layout', () => {
  const c = conn({
    id: 3,
    synTime: 100,
    establishedTime: 110,
    firstTime: 100,
    lastTime: 900,
    idle: [{ startTime: 300, endTime: 800, durationMs: 500, afterRequest: 2 }],
    keepAlive: { defaultPersistent: true, timeoutS: 5, max: 100 },
    close: { by: 'server', how: 'fin', time: 850, reason: 'idle-timeout' },
  });
  it('draws lifetime SYN→FIN, handshake, labelled idle gap and close marker', () => {
    const segs = laneLayout(c, W, 1000);
    const by = (k: string) => segs.filter((s) => s.kind === k);
    expect(by('lifetime')).toHaveLength(1);
    expect(by('lifetime')[0]).toMatchObject({ x: 100, w: 750 });
    expect(by('handshake')[0]).toMatchObject({ x: 100, w: 10 });
    expect(by('idle')[0]).toMatchObject({ x: 300, w: 500, label: 'idle 500 ms (Keep-Alive: timeout=5)' });
    expect(by('close')[0]).toMatchObject({ x: 850, by: 'server', how: 'fin', label: 'server FIN · idle timeout' });
  });
  it('drops pieces outside the window and clips the rest', () => {
    const segs = laneLayout(c, { t0: 850.5, t1: 2000 }, 1000);
    expect(segs.map((s) => s.kind)).toEqual([]);
    const z = laneLayout(c, { t0: 400, t1: 500 }, 1000);
    const idle = z.find((s) => s.kind === 'idle')!;
    expect(idle.x).toBeGreaterThanOrEqual(-2);
    expect(idle.x + idle.w).toBeLessThanOrEqual(1002);
  });
  it('starts at the first packet when the SYN was not captured', () => {
    const segs = laneLayout(conn({ id: 1, startSeen: false, synTime: null, establishedTime: null, firstTime: 200 }), W, 1000);
    expect(segs[0]).toMatchObject({ kind: 'lifetime', x: 200 });
    expect(segs.some((s) => s.kind === 'handshake')).toBe(false);
  });
  it('gives phase bars at least a pixel', () => {
    expect(phaseBars([['waiting', 10, 10.0001]], W, 1000)).toEqual([{ id: 'waiting', idx: 0, x: 10, w: 1 }]);
  });
});

describe('labels', () => {
  it('label idle gaps without a negotiated timeout', () => {
    expect(idleLabel({ startTime: 0, endTime: 4980, durationMs: 4980 }, null)).toBe('idle 4.98 s');
  });
  it('label closes', () => {
    expect(closeLabel({ by: 'client', how: 'rst', time: 1, reason: 'rst' })).toBe('client RST');
    expect(closeLabel({ by: 'client', how: 'fin', time: 1, reason: 'client-close' })).toBe('client FIN');
    expect(closeLabel({ by: null, how: 'open', time: null, reason: 'capture-end' })).toBe('open at capture end');
    expect(closeLabel({ by: 'server', how: 'fin', time: 1, reason: 'connection-close-header' })).toBe('server FIN · Connection: close');
  });
  it('describe the keep-alive contract', () => {
    expect(keepAliveText({ defaultPersistent: false, serverConnection: 'keep-alive', timeoutS: 5, max: 100 })).toBe(
      'not persistent by default (HTTP/1.0); server Connection: keep-alive; Keep-Alive: timeout=5, max=100',
    );
  });
  it('format numbers like DevTools', () => {
    expect([formatMs(0.5), formatMs(3.456), formatMs(45.67), formatMs(1500), formatMs(-1)]).toEqual(['500 µs', '3.46 ms', '45.7 ms', '1.50 s', '—']);
    expect([formatBytes(999), formatBytes(1500), formatBytes(2_500_000), formatBytes(-1)]).toEqual(['999 B', '1.5 kB', '2.5 MB', '—']);
  });
});
