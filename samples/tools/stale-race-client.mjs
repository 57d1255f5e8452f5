// Keep-alive client that reuses a pooled connection right when the server's
// idle timeout closes it (stale-connection race).
//   node stale-race-client.mjs PORT GAP_MS [BUSY_MS]
// GET /f1.txt; wait GAP_MS with setTimeout; optionally block the event loop for
// BUSY_MS more (a busy client that cannot process the server's FIN in time);
// then GET /f2.txt through the same http.Agent({keepAlive:true}). If the reused
// socket fails (ECONNRESET / socket hang up) the request is retried once on a
// new connection, the retry pattern recommended in the Node.js docs
// (request.reusedSocket).
import http from 'node:http';

const [port, gap, busy] = [Number(process.argv[2]), Number(process.argv[3]), Number(process.argv[4] || 0)];
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const t0 = Date.now();
const log = (m) => console.error(`stale-race +${Date.now() - t0}ms ${m}`);
setTimeout(() => { log('time limit'); process.exit(3); }, 10000).unref();

function get(path, attempt = 1) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => { log(`${path} attempt ${attempt} -> ${res.statusCode} local=${req.socket.localPort} reused=${req.reusedSocket}`); resolve('ok'); });
    });
    req.on('error', (e) => {
      log(`${path} attempt ${attempt} -> ${e.code || e.message} reused=${req.reusedSocket}`);
      if (req.reusedSocket && attempt === 1) resolve(get(path, 2)); else resolve('failed');
    });
  });
}

await get('/f1.txt');
await new Promise((r) => setTimeout(r, gap));
if (busy > 0) { const until = Date.now() + busy; while (Date.now() < until) { /* event loop blocked */ } }
const r = await get('/f2.txt');
agent.destroy();
process.exitCode = r === 'ok' ? 0 : 1;
