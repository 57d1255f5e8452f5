/** QUIC connections and HTTP/3 requests in real reports validate against core/schema/report.schema.json. */
import { describe, expect, it } from 'vitest';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { analyzeFile } from '../../../core/src/engine.js';
import { readKeyLogFile } from '../../../core/src/tls/keylog.js';
import { CORPUS, listCaptures, requireResource, ROOT, SAMPLES } from '../../helpers/env.js';

const addFormats = addFormatsModule as unknown as (a: Ajv) => Ajv;
const schema = JSON.parse(readFileSync(join(ROOT, 'core', 'schema', 'report.schema.json'), 'utf8'));
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats(ajv);
const validate = ajv.compile(schema);

describe('QUIC reports against the schema', () => {
  const dirs = [join(SAMPLES, 'quic'), join(CORPUS, 'zeek-quic')];
  const ok = requireResource('samples/quic and ../shared/corpus/zeek-quic', dirs.every(existsSync), 'samples/generate-quic.sh, the shared corpus');
  const files = ok ? dirs.flatMap(listCaptures) : [];
  for (const file of files) {
    it.skipIf(!ok)(`${basename(file)} validates, with requestCount equal to the requests naming each connection`, async () => {
      const keys = file.replace(/\.pcapng$|\.pcap$/, '.keys');
      const keyLog = existsSync(keys) ? (await readKeyLogFile(keys)).keylog : undefined;
      // Every file is read, the quic-go-*.pcap ones (link type 9, PPP) included.
      const report = JSON.parse(JSON.stringify(await analyzeFile(file, { keyLog })));
      const valid = validate(report);
      expect(valid ? [] : validate.errors!.slice(0, 5)).toEqual([]);
      for (const c of report.connections) {
        expect(report.requests.filter((q: { connectionId: number }) => q.connectionId === c.id).length).toBe(c.requestCount);
      }
    });
  }
});
