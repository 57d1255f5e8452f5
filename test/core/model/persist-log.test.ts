/**
 * The keep-alive contract's per-exchange lists in a byte an exchange (core/src/model/persist-log.ts):
 * on every sample's HTTP/1 connections, the log gives back the session's lists exactly (holes and
 * nulls included), the compact copy detectors keep serializes to the same JSON, and the readers of
 * detect/util.ts answer the same from the copy as from the record.
 */
import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeFile } from '../../../core/src/engine.js';
import { PersistLog, compactKeepAlive, persistLogOf } from '../../../core/src/model/persist-log.js';
import { slimConnection } from '../../../core/src/detect/stream.js';
import { clientPersistence, reusableAfter, serverPersistence } from '../../../core/src/detect/util.js';
import { readKeyLogFile } from '../../../core/src/tls/keylog.js';
import type { KeepAliveContract, Report } from '../../../core/src/model/types.js';
import { listCaptures, SAMPLES } from '../../helpers/env.js';

async function analyze(file: string): Promise<Report | null> {
  const keys = file.replace(/\.pcapng?(\.gz)?$/, '.keys');
  const keyLog = existsSync(keys) ? (await readKeyLogFile(keys)).keylog : undefined;
  try {
    return await analyzeFile(file, { keyLog });
  } catch {
    return null; // captures made to fail are the CLI tests' business
  }
}

describe('PersistLog on every sample', () => {
  const files = [...listCaptures(SAMPLES), ...listCaptures(join(SAMPLES, 'tls'))].filter((f) => !/bench-seed/.test(f));
  it.each(files.map((f) => [f.slice(SAMPLES.length + 1), f]))('%s', async (_n, file) => {
    const report = await analyze(file);
    if (!report) return;
    for (const c of report.connections) {
      const k = c.keepAlive;
      if (!k) continue;
      const log = PersistLog.of(k)!;
      expect(log, `connection ${c.id}`).not.toBeNull();
      // Holes stay holes (toStrictEqual tells a hole from undefined).
      expect(log.lists()).toStrictEqual({ reusableAfter: k.reusableAfter, clientPersistence: k.clientPersistence, serverPersistence: k.serverPersistence });
      const slim = slimConnection(c, []);
      expect(JSON.stringify(slim.keepAlive)).toBe(JSON.stringify(k));
      expect(persistLogOf(slim.keepAlive!)).toBeDefined();
      for (const r of report.requests.filter((x) => x.connectionId === c.id)) {
        expect([clientPersistence(slim, r), serverPersistence(slim, r), reusableAfter(slim, r)]).toEqual([clientPersistence(c, r), serverPersistence(c, r), reusableAfter(c, r)]);
      }
    }
  });
});

describe('PersistLog', () => {
  it('keeps every basis, null, holes and both reusable values; lists have the log’s length', () => {
    const log = new PersistLog();
    log.set(0, 'http/1.1', 'keep-alive', true);
    log.set(1, null, 'close', false);
    log.set(3, 'http/1.0', null, true);
    log.set(40, 'keep-alive', 'http/1.0', false); // past the first allocation
    const l = log.lists();
    expect(log.length).toBe(41);
    expect(l.reusableAfter.length).toBe(41);
    expect([l.reusableAfter[0], l.reusableAfter[1], l.reusableAfter[3], l.reusableAfter[40]]).toEqual([true, false, true, false]);
    expect([l.clientPersistence[0], l.clientPersistence[1], l.clientPersistence[3], l.clientPersistence[40]]).toEqual(['http/1.1', null, 'http/1.0', 'keep-alive']);
    expect([l.serverPersistence[0], l.serverPersistence[1], l.serverPersistence[3], l.serverPersistence[40]]).toEqual(['keep-alive', 'close', null, 'http/1.0']);
    expect(2 in l.reusableAfter || 2 in l.clientPersistence || 2 in l.serverPersistence).toBe(false);
    expect([log.client(2), log.server(2), log.reusable(2), log.client(99)]).toEqual([undefined, undefined, undefined, undefined]);
    expect(PersistLog.of({ defaultPersistent: true, ...l })!.lists()).toStrictEqual(l);
  });

  it('a contract whose lists are not three of one length (an older report) is kept as it is', () => {
    const k: KeepAliveContract = { defaultPersistent: true, reusableAfter: [true, true] };
    expect(PersistLog.of(k)).toBeNull();
    expect(compactKeepAlive(k)).toBe(k);
  });

  it('the compact copy makes its arrays when read, in the contract’s key order', () => {
    const k: KeepAliveContract = { defaultPersistent: false, reusableAfter: [true], clientPersistence: ['keep-alive'], serverPersistence: ['keep-alive'], timeoutS: 5, max: 100 };
    const c = compactKeepAlive(k);
    expect(Object.keys(c)).toEqual(Object.keys(k));
    expect(typeof Object.getOwnPropertyDescriptor(c, 'reusableAfter')!.get).toBe('function');
    expect({ ...c }).toEqual(k);
    expect(structuredClone(c)).toEqual(k);
  });
});
