// HTTP/2 over TLS client (node:http2 connect, built-ins only) for samples/generate-tls.sh. Run with
// `node --tls-keylog=FILE` to get the key log. On ONE connection to https://SNI:PORT (TCP to ADDR):
// three GETs at once, then, after they finish, POST /submit with a 1000-byte body; then
// session.close() (GOAWAY, then the TLS/TCP close).
//   node --tls-keylog=K tls-node-h2-client.mjs ADDR PORT SNI CAFILE
import http2 from 'node:http2';
import tls from 'node:tls';
import fs from 'node:fs';

const [addr, port, sni, cafile] = [process.argv[2], Number(process.argv[3]), process.argv[4], process.argv[5]];
setTimeout(() => process.exit(3), 20000).unref();
const ca = fs.readFileSync(cafile);
const session = http2.connect(`https://${sni}:${port}`, {
  createConnection: () => tls.connect({ host: addr, port, servername: sni, ca, ALPNProtocols: ['h2'] }),
});
session.on('error', (e) => { console.error('session error', e.message); process.exit(1); });
const req = (method, path, body) => new Promise((ok, fail) => {
  const s = session.request({ ':method': method, ':path': path, ...(body ? { 'content-type': 'text/plain' } : {}) });
  let n = 0;
  s.on('response', (h) => console.error(`node-h2 ${method} ${path} -> ${h[':status']}`));
  s.on('data', (d) => { n += d.length; });
  s.on('end', () => ok(n));
  s.on('error', fail);
  s.end(body);
});
await Promise.all([req('GET', '/f1.txt'), req('GET', '/f2.txt'), req('GET', '/assets/s1.css')]);
await req('POST', '/submit', 'p'.repeat(1000));
session.close(() => console.error('node-h2 closed'));
