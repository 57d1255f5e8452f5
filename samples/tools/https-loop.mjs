// A Node.js client loop for samples/generate-whatif.sh: N GETs one after another over HTTPS with
// node:https, optionally with a pause between a response and the next request.
//   node https-loop.mjs new|keepalive BASE_URL N CA_FILE [PAUSE_MS]
// new:       agent: false — a new TCP + TLS connection per request (Connection: close)
// keepalive: one https.Agent({ keepAlive: true, maxSockets: 1 }) for all N
// Each TLS socket's secrets are appended to $SSLKEYLOGFILE (the socket's 'keylog' event).
import https from 'node:https';
import { appendFileSync, readFileSync } from 'node:fs';

const [mode, base, n, caFile, pause] = [process.argv[2], process.argv[3].replace(/\/$/, ''), Number(process.argv[4]), process.argv[5], Number(process.argv[6] ?? 0)];
if (mode !== 'new' && mode !== 'keepalive') throw new Error(`unknown mode ${mode} (new or keepalive)`);
setTimeout(() => process.exit(3), 60_000).unref();
const ca = readFileSync(caFile);
const keylog = process.env.SSLKEYLOGFILE;
const agent = mode === 'keepalive' ? new https.Agent({ keepAlive: true, maxSockets: 1, ca }) : false;
const watched = new WeakSet();
for (let i = 0; i < n; i++) {
  if (i > 0 && pause > 0) await new Promise((ok) => setTimeout(ok, pause));
  await new Promise((ok, fail) => {
    const req = https.get(`${base}/f${(i % 10) + 1}.txt`, { agent, ca }, (res) => {
      if (res.statusCode !== 200) fail(new Error(`status ${res.statusCode}`));
      res.resume();
      res.on('end', ok);
    });
    req.on('socket', (s) => {
      if (!keylog || watched.has(s)) return;
      watched.add(s);
      s.on('keylog', (line) => appendFileSync(keylog, line));
    });
    req.on('error', fail);
  });
}
if (agent) agent.destroy();
