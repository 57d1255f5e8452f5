/**
 * What the key log held is reported once per capture (capture.counters, and a line in the table):
 * a wrong file passed as --keylog is named as such, not only as `no-keys` on every connection.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { analyzeFile } from '../../../core/src/engine.js';
import { formatTable } from '../../../core/src/cli/format-table.js';
import { KeyLog } from '../../../core/src/tls/keylog.js';
import { sample } from '../../helpers/env.js';

const CAP = sample('tls/nginx-h1-tls12-gcm.pcap');

describe('key log facts in the report', () => {
  it('a file that is not a key log: zero entries, its lines counted, one warning in the table', async () => {
    const keys = new KeyLog();
    keys.addText('garbage\nCLIENT_RANDOM zz 11\n');
    const r = await analyzeFile(CAP, { keyLog: keys });
    expect(r.capture.counters).toMatchObject({ keyLogLines: 2, keyLogEntries: 0, keyLogGarbageLines: 2 });
    expect(r.connections[0]!.tls?.undecryptedReason).toBe('no-keys');
    expect(formatTable(r)).toContain('! key log: no usable line among 2 (2 not in the NSS key log format)');
  });

  it('the right key log: its entries counted, no warning, decrypted', async () => {
    const keys = new KeyLog();
    keys.addText(readFileSync(sample('tls/nginx-h1-tls12-gcm.keys')));
    const r = await analyzeFile(CAP, { keyLog: keys });
    expect(r.capture.counters.keyLogEntries).toBeGreaterThan(0);
    expect(r.capture.counters.keyLogGarbageLines).toBeUndefined();
    expect(r.connections[0]!.tls?.decrypted).toBe(true);
    expect(formatTable(r)).not.toContain('! key log');
  });

  it('no key log at all: no key log counters', async () => {
    const r = await analyzeFile(CAP);
    expect(r.capture.counters.keyLogLines).toBeUndefined();
  });
});
