// Sequential HTTP/1.1 client built on node:http.
//   node http-seq.mjs PORT keepalive|nokeepalive STEP...
// STEP is a path ("/f1.txt", "GET /x", "POST /x") or a pause in ms ("+3000").
// With "keepalive" one http.Agent({keepAlive:true, maxSockets:1}) is shared, so
// requests reuse the pooled socket if it is still open. Logs one line per
// response to stderr: path, status, client port, whether the socket was reused.
import http from 'node:http';

const [portArg, mode, ...steps] = process.argv.slice(2);
const port = Number(portArg);
const keepAlive = mode === 'keepalive';
const agent = new http.Agent({ keepAlive, maxSockets: 1 });
const hardStop = setTimeout(() => { console.error('http-seq: time limit'); process.exit(3); }, 30000);

function request(method, path) {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, method, path, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const s = req.socket;
        console.error(`${method} ${path} -> ${res.statusCode} ${Buffer.concat(chunks).length}B local=${s.localPort} reused=${req.reusedSocket}`);
        resolve();
      });
    });
    req.on('error', (e) => { console.error(`${method} ${path} -> error ${e.code || e.message} reused=${req.reusedSocket}`); resolve(e); });
    req.end();
  });
}

for (const step of steps) {
  if (step.startsWith('+')) { await new Promise((r) => setTimeout(r, Number(step.slice(1)))); continue; }
  const [m, p] = step.includes(' ') ? step.split(' ') : ['GET', step];
  await request(m, p);
}
agent.destroy();
clearTimeout(hardStop);
