/**
 * Where a run's time goes, in process (bench.mjs part 6): `node split.mjs DIST FILE ndjson|json`
 * does what `wirefall analyze -f FORMAT -o /dev/null FILE` does, with the CLI's own functions, and
 * times each step around the engine:
 *
 *   ndjson: every record serialised (requestLine for requests, jsonLine for the rest) and written to /dev/null with one writeSync per line
 *           as `-o` does = output; the streaming detectors (detectStream: connection, request,
 *           watermark, finish, as batch.ts feeds them) = detectors; the rest of the run = engine
 *           (reading, IP, TCP, HTTP, building the records).
 *   json:   the whole model kept (analyzeFile), detectAll over it = detectors, writeJson to
 *           /dev/null = output, the rest = engine (keeping the model included).
 *
 * Garbage collection is timed apart (PerformanceObserver 'gc') and also falls inside whichever
 * step it interrupted. Prints one JSON line: {requests, connections, ms: {total, engine, detectors,
 * output, gc}}. Imports internal modules of core/dist: when they change shape it prints
 * {"unavailable": reason} instead of failing the benchmark.
 */
import { openSync, writeSync } from 'node:fs';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const [dist, file, mode] = process.argv.slice(2);
const mod = (p) => import(pathToFileURL(`${dist}/${p}`).href);
let api;
try {
  const [engine, detect, out, batch] = await Promise.all([mod('engine.js'), mod('detect/index.js'), mod('cli/json-out.js'), mod('cli/batch.js')]);
  api = { ...engine, ...detect, ...out, ...batch };
  for (const f of ['analyzeStream', 'analyzeFile', 'detectAll', 'detectStream', 'jsonLine', 'requestLine', 'writeJson']) {
    if (typeof api[f] !== 'function') throw new Error(`core/dist no longer exports ${f}`);
  }
} catch (e) {
  console.log(JSON.stringify({ unavailable: e.message }));
  process.exit(0);
}

let gc = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gc += e.duration;
}).observe({ entryTypes: ['gc'] });
const fd = openSync('/dev/null', 'w');
const write = (s) => {
  const b = Buffer.from(s);
  for (let off = 0; off < b.length; ) off += writeSync(fd, b, off);
};
const now = () => performance.now();
let output = 0;
let detectors = 0;
let requests = 0;
let connections = 0;
const t0 = now();
if (mode === 'ndjson') {
  const emit = (type, rec) => {
    const t = now();
    write(api.jsonLine({ type, file, ...rec }) + '\n');
    output += now() - t;
  };
  const found = [];
  const detect = api.detectStream({}, (f) => found.push(f), () => {});
  const timed = (fn) => {
    const t = now();
    fn();
    detectors += now() - t;
  };
  const flush = () => {
    for (const f of found.splice(0)) emit('finding', f);
  };
  const res = await api.analyzeStream(
    file,
    {
      onConnection: (c) => {
        emit('connection', c);
        timed(() => detect.connection(c));
        flush();
      },
      onRequest: (r) => {
        // As the CLI writes requests (cli/batch.ts): requestLine, without the replacer where it can.
        const t = now();
        write(api.requestLine('request', file, r) + '\n');
        output += now() - t;
        timed(() => detect.request(r));
      },
      onWatermark: (w, floor) => {
        timed(() => detect.watermark(w, floor));
        flush();
      },
    },
    {},
  );
  timed(() => detect.finish());
  flush();
  emit('capture', res.capture);
  requests = res.requests;
  connections = res.connections;
} else {
  const report = await api.analyzeFile(file, {
    findings: (r) => {
      const t = now();
      const f = api.detectAll(r);
      detectors += now() - t;
      return f;
    },
  });
  const t = now();
  api.writeJson(report, write);
  output += now() - t;
  requests = report.requests.length;
  connections = report.connections.length;
}
const total = now() - t0;
// Let the observer deliver the last GC entries.
await new Promise((r) => setTimeout(r, 50));
console.log(JSON.stringify({ requests, connections, ms: { total, engine: total - output - detectors, detectors, output, gc } }));
