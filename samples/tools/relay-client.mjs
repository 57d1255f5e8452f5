// Raw-socket HTTP/1.0 keep-alive client for the blind-relay sample.
//   node relay-client.mjs PORT
// Sends "GET /f1.txt HTTP/1.0" + "Connection: Keep-Alive", reads the response
// (Content-Length framing), then sends "GET /f2.txt" on the same connection and
// waits (at most ~6 s in total) for a response or for the connection to close.
import net from 'node:net';

const port = Number(process.argv[2]);
const t0 = Date.now();
const log = (m) => console.error(`relay-client +${Date.now() - t0}ms ${m}`);
const req = (p) => `GET ${p} HTTP/1.0\r\nHost: 127.0.0.1:${port}\r\nUser-Agent: wirefall-relay-client\r\nConnection: Keep-Alive\r\n\r\n`;
const sock = net.connect(port, '127.0.0.1', () => { log('send GET /f1.txt'); sock.write(req('/f1.txt')); });
let buf = Buffer.alloc(0);
let responses = 0;
sock.on('data', (d) => {
  buf = Buffer.concat([buf, d]);
  const he = buf.indexOf('\r\n\r\n');
  if (he < 0) return;
  const head = buf.subarray(0, he).toString('latin1');
  const len = Number((/content-length:\s*(\d+)/i.exec(head) || [0, 0])[1]);
  if (buf.length < he + 4 + len) return;
  responses++;
  log(`response ${responses}: ${head.split('\r\n')[0]} (${/connection:[^\r]*/i.exec(head)})`);
  buf = buf.subarray(he + 4 + len);
  if (responses === 1) setTimeout(() => { log('send GET /f2.txt on the same connection'); sock.write(req('/f2.txt')); }, 100);
  else sock.end();
});
sock.on('end', () => { log(`server side closed after ${responses} response(s)`); sock.end(); });
sock.on('error', (e) => log(`error ${e.message}`));
setTimeout(() => { log('time limit, closing'); sock.destroy(); }, 6000).unref();
