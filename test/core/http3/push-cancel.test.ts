/**
 * HTTP/3 server push cancelled with CANCEL_PUSH (RFC 9114 §7.2.3): the promised request carries
 * `extra.cancelPush` (who, when, which packet), and the view model calls it a cancelled push.
 */
import { describe, expect, it } from 'vitest';
import { runQuic } from '../quic/harness.js';
import { cat, F, H3, qpackSection, QuicSim } from '../quic/quic-builder.js';
import { pushInfo } from '../../../core/src/view/compact.js';
import type { Request } from '../../../core/src/model/types.js';

const fields = (path: string) => qpackSection([[':method', 'GET'], [':scheme', 'https'], [':authority', 'example.test'], [':path', path]]);
const ok200 = H3.headers(qpackSection([[':status', '200']]));
const pushPromise = (pushId: number, path: string) => H3.frame(0x05, cat([pushId], fields(path)));

describe('HTTP/3 push cancelled by CANCEL_PUSH', () => {
  it('records who cancelled which promise, and only that one', () => {
    const sim = new QuicSim();
    const pk = [...sim.handshake()];
    const clientSettings = cat([0x00], H3.settings({ 0x01: 4096, 0x07: 16 }));
    pk.push(sim.udp('client', sim.short('client', F.stream(2, 0, clientSettings)), 25));
    pk.push(sim.udp('server', sim.short('server', F.stream(3, 0, cat([0x00], H3.settings({ 0x01: 4096 })))), 26));
    pk.push(sim.udp('client', sim.short('client', F.stream(0, 0, H3.headers(fields('/')), true)), 30));
    // Two promises on the request stream; push 0 delivered on push stream 11, push 1 cancelled.
    pk.push(sim.udp('server', sim.short('server', F.stream(0, 0, cat(pushPromise(0, '/a.css'), pushPromise(1, '/b.css')))), 40));
    pk.push(sim.udp('server', sim.short('server', F.stream(11, 0, cat([0x01, 0x00], ok200, H3.data(Uint8Array.of(0x61))), true)), 41));
    pk.push(sim.udp('client', sim.short('client', F.stream(2, clientSettings.length, H3.frame(0x03, Uint8Array.of(1)))), 45));
    pk.push(sim.udp('server', sim.short('server', F.stream(0, cat(pushPromise(0, '/a.css'), pushPromise(1, '/b.css')).length, ok200, true)), 50));
    pk.push(sim.udp('server', sim.short('server', F.close(0x100, '', true)), 60));
    const r = runQuic(pk, sim.keys);
    const byPath = new Map(r.requests.map((q) => [q.target, q]));
    const b = byPath.get('/b.css')!;
    const a = byPath.get('/a.css')!;
    expect(b.pushed).toBe(true);
    expect(b.extra!.cancelPush).toMatchObject({ by: 'client', time: 45 });
    expect(typeof (b.extra!.cancelPush as { packet: unknown }).packet).toBe('number');
    expect(a.pushed).toBe(true);
    expect(a.state).toBe('complete');
    // Delivered on its push stream, reported as a push (not as an ordinary request), its promise time as the request's.
    expect(a.times.requestEndTime).toBe(40);
    expect(byPath.get('/')!.state).toBe('complete');
    expect(a.extra!.cancelPush).toBeUndefined();
    expect(byPath.get('/')!.extra!.cancelPush).toBeUndefined();
    expect(pushInfo(b as Request)).toMatchObject({ outcome: 'cancelled', cancel: { by: 'client', code: 'CANCEL_PUSH', time: 45 }, text: 'cancelled by the client (CANCEL_PUSH)' });
    expect(pushInfo(a as Request).outcome).toBe('delivered');
  });
});
