/**
 * Hostile DNS messages (RFC 1035 §4.1) fed to the DnsTracker: compression pointers that loop or
 * point forward, names longer than 255 octets, records that each expand a long label chain, and
 * answers naming more distinct addresses than the tracker keeps. Each case asserts a structural
 * bound; the time guards only catch hangs.
 */
import { describe, expect, it } from 'vitest';
import type { L4Packet } from '../../../core/src/capture/ip.js';
import { DnsTracker, MAX_DNS_ADDRESSES, MAX_DNS_NAME_OCTETS } from '../../../core/src/dns/tracker.js';

const CLIENT = '10.0.0.1';
const RESOLVER = '10.0.0.53';

function udp(num: number, time: number, fromClient: boolean, payload: Uint8Array): L4Packet {
  return {
    num,
    time,
    frameLen: 42 + payload.length,
    v6: false,
    src: fromClient ? CLIENT : RESOLVER,
    dst: fromClient ? RESOLVER : CLIENT,
    srcV4: -1,
    dstV4: -1,
    proto: 17,
    srcPort: fromClient ? 5353 : 53,
    dstPort: fromClient ? 53 : 5353,
    seq: 0,
    ack: 0,
    flags: 0,
    window: 0,
    payload,
    missing: 0,
  };
}

function header(id: number, response: boolean, qd: number, an: number): number[] {
  return [id >> 8, id & 0xff, response ? 0x81 : 0x01, response ? 0x80 : 0x00, qd >> 8, qd & 0xff, an >> 8, an & 0xff, 0, 0, 0, 0];
}

function label(s: string): number[] {
  return [s.length, ...Buffer.from(s, 'latin1')];
}

const QUERY_NAME = [...label('example'), ...label('com'), 0];

function query(id: number): Uint8Array {
  return Uint8Array.from([...header(id, false, 1, 0), ...QUERY_NAME, 0, 1, 0, 1]);
}

/** An A record whose owner name is `name` (bytes), with address 10.x.y.z from `n`. */
function aRecord(name: number[], n: number): number[] {
  return [...name, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
}

/** Query then answer on one id; returns the tracker. */
function exchange(t: DnsTracker, id: number, answer: Uint8Array, time = id): void {
  t.packet(udp(2 * id + 1, time, true, query(id)));
  t.packet(udp(2 * id + 2, time + 1, false, answer));
}

function counting(): { counters: Record<string, number>; count(name: string, n?: number): void } {
  const counters: Record<string, number> = {};
  return { counters, count: (name, n = 1) => void (counters[name] = (counters[name] ?? 0) + n) };
}

describe('DnsTracker on hostile messages', () => {
  it('answers with a normal compressed name are still matched', () => {
    const t = new DnsTracker();
    const ans = Uint8Array.from([...header(7, true, 1, 1), ...QUERY_NAME, 0, 1, 0, 1, ...aRecord([0xc0, 12], 0x010203)]);
    exchange(t, 7, ans, 100);
    expect(t.lookupBefore('10.1.2.3', 200)).toEqual({ name: 'example.com', queryTime: 100, answerTime: 101 });
  });

  it('RFC 1035 §4.1.4: a pointer loop, a forward pointer and a self pointer are malformed, not followed', () => {
    const c = counting();
    const t = new DnsTracker(c);
    // Question name: label "a" then a pointer back to itself (offset 12): a loop.
    const loop = Uint8Array.from([...header(1, true, 1, 1), ...label('a'), 0xc0, 12, 0, 1, 0, 1, ...aRecord([0xc0, 12], 1)]);
    exchange(t, 1, loop, 10);
    // Question name: a pointer to a later offset (forward), where a valid name sits.
    const fwd = Uint8Array.from([...header(2, true, 1, 1), 0xc0, 18, 0, 1, 0, 1, ...label('b'), 0, ...aRecord([0xc0, 12], 2)]);
    exchange(t, 2, fwd, 20);
    expect(t.lookupBefore('10.0.0.1', 1000)).toBeNull();
    expect(t.lookupBefore('10.0.0.2', 1000)).toBeNull();
    expect(c.counters['dnsMalformedMessages']).toBe(2);
  });

  it('RFC 1035 §2.3.4: a name longer than 255 octets is malformed', () => {
    const c = counting();
    const t = new DnsTracker(c);
    const long: number[] = [];
    for (let i = 0; i < 5; i++) long.push(...label('x'.repeat(60)));
    long.push(0); // 5·61 + 1 = 306 octets
    exchange(t, 3, Uint8Array.from([...header(3, true, 1, 1), ...long, 0, 1, 0, 1, ...aRecord([0xc0, 12], 3)]));
    expect(t.lookupBefore('10.0.0.3', 1000)).toBeNull();
    expect(c.counters['dnsMalformedMessages']).toBe(1);
    expect(MAX_DNS_NAME_OCTETS).toBe(255);
  });

  it('records that each point at a long label chain cost no more than the message length', () => {
    // The question name is a chain of 480 labels (30 KiB, itself over 255 octets on purpose: the
    // chain is not the question, the question is a short name after it). Every answer's owner name
    // points into the chain; before the fix each one was decoded label by label (2,000 × 480
    // labels per message, ~1 s), now the 255-octet limit stops each after 4 labels.
    const chain: number[] = [];
    for (let i = 0; i < 480; i++) chain.push(...label('y'.repeat(62)));
    chain.push(0);
    const qname = [...label('example'), ...label('com'), 0];
    const body: number[] = [...header(0, true, 1, 2000), ...qname, 0, 1, 0, 1];
    const chainAt = body.length;
    // Answers come after the chain in the message; put the chain inside an unknown-type record so
    // the message stays well-formed up to the A records.
    body[7] = (2001 & 0xff);
    body[6] = 2001 >> 8;
    body.push(...qname, 0, 99, 0, 1, 0, 0, 0, 60, (chain.length >> 8) & 0xff, chain.length & 0xff, ...chain);
    const chainOff = chainAt + qname.length + 10;
    for (let i = 0; i < 2000; i++) body.push(...aRecord([0xc0 | (chainOff >> 8), chainOff & 0xff], 0x100000 + i));
    expect(body.length).toBeLessThan(65_507);
    const c = counting();
    const t = new DnsTracker(c);
    const t0 = performance.now();
    for (let id = 0; id < 40; id++) {
      const msg = Uint8Array.from(body);
      msg[0] = id >> 8;
      msg[1] = id & 0xff;
      exchange(t, id, msg, id * 10);
    }
    const ms = performance.now() - t0;
    expect(c.counters['dnsMalformedMessages']).toBe(40);
    expect(ms).toBeLessThan(10_000);
  });

  it(`keeps answers for at most MAX_DNS_ADDRESSES addresses, dropping the least recently answered (counted)`, () => {
    const c = counting();
    const t = new DnsTracker(c);
    const perMessage = 4000;
    const messages = Math.ceil((MAX_DNS_ADDRESSES * 2) / perMessage);
    const head = [...header(0, true, 1, perMessage), ...QUERY_NAME, 0, 1, 0, 1];
    const record = aRecord([0xc0, 12], 0);
    const msg = new Uint8Array(head.length + perMessage * record.length);
    msg.set(head);
    for (let i = 0; i < perMessage; i++) msg.set(record, head.length + i * record.length);
    for (let id = 0; id < messages; id++) {
      msg[0] = id >> 8;
      msg[1] = id & 0xff;
      for (let i = 0; i < perMessage; i++) {
        const n = id * perMessage + i;
        const at = head.length + i * record.length + record.length - 3;
        msg[at] = (n >> 16) & 0xff;
        msg[at + 1] = (n >> 8) & 0xff;
        msg[at + 2] = n & 0xff;
      }
      exchange(t, id, msg.slice(), id * 10);
    }
    const total = messages * perMessage;
    expect(t.addresses).toBe(MAX_DNS_ADDRESSES);
    expect(c.counters['dnsAddressesEvicted']).toBe(total - MAX_DNS_ADDRESSES);
    const last = total - 1;
    expect(t.lookupBefore(`10.${(last >> 16) & 0xff}.${(last >> 8) & 0xff}.${last & 0xff}`, Infinity)?.name).toBe('example.com');
    expect(t.lookupBefore('10.0.0.0', Infinity)).toBeNull();
  });
});

describe('DNS through the engine', () => {
  it('a malformed answer in a capture is counted in capture.counters (not dropped silently)', async () => {
    const { writePcap } = await import('../../helpers/pcap-writer.js');
    const { analyzeFile } = await import('../../../core/src/engine.js');
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    // Raw IPv4 (LINKTYPE_IPV4 = 228) + UDP, checksums zero (not checked).
    const ipUdp = (fromClient: boolean, payload: Uint8Array): Uint8Array => {
      const len = 28 + payload.length;
      const [src, dst] = fromClient ? [[10, 0, 0, 1], [10, 0, 0, 53]] : [[10, 0, 0, 53], [10, 0, 0, 1]];
      const [sp, dp] = fromClient ? [5353, 53] : [53, 5353];
      const udpLen = 8 + payload.length;
      return Uint8Array.from([0x45, 0, len >> 8, len & 0xff, 0, 1, 0, 0, 64, 17, 0, 0, ...src, ...dst, sp >> 8, sp & 0xff, dp >> 8, dp & 0xff, udpLen >> 8, udpLen & 0xff, 0, 0, ...payload]);
    };
    const loop = Uint8Array.from([...header(7, true, 1, 1), ...label('a'), 0xc0, 12, 0, 1, 0, 1, ...aRecord([0xc0, 12], 1)]);
    const pkts = [ipUdp(true, query(7)), ipUdp(false, loop)].map((data, i) => ({ sec: 1_700_000_000, ns: i * 1000, data, origLen: data.length }));
    const f = join(mkdtempSync(join(tmpdir(), 'wirefall-dns-')), 'dns-loop.pcap');
    writeFileSync(f, writePcap(pkts, { le: true, nano: false, linkType: 228 }));
    const report = await analyzeFile(f);
    expect(report.capture.packets).toBe(2);
    expect(report.capture.counters['dnsMalformedMessages']).toBe(1);
  });
});
