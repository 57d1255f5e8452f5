// HTTP/2 over TLS server (node:http2 createSecureServer, built-ins only) for samples/generate-tls.sh.
// GET serves files from ROOT (200 or 404); POST answers 201 "stored N bytes". h2 only (no HTTP/1.1
// fallback), TLS 1.3 only. Exits by itself after 60 s.
//   node tls-node-h2-server.mjs ADDR PORT CERT KEY ROOT
import http2 from 'node:http2';
import fs from 'node:fs';
import path from 'node:path';

const [addr, port, cert, key, root] = [process.argv[2], Number(process.argv[3]), ...process.argv.slice(4)];
const srv = http2.createSecureServer({
  cert: fs.readFileSync(cert), key: fs.readFileSync(key), minVersion: 'TLSv1.3', allowHTTP1: false,
});
srv.on('stream', (stream, headers) => {
  const method = headers[':method'];
  const p = path.join(root, path.normalize(decodeURIComponent(headers[':path'].split('?')[0])));
  if (method === 'POST') {
    let n = 0;
    stream.on('data', (d) => { n += d.length; });
    stream.on('end', () => {
      const body = `stored ${n} bytes\n`;
      stream.respond({ ':status': 201, 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
      stream.end(body);
    });
    return;
  }
  fs.readFile(p, (err, data) => {
    if (err) { stream.respond({ ':status': 404 }); stream.end(); return; }
    stream.respond({ ':status': 200, 'content-type': 'text/plain', 'content-length': data.length });
    stream.end(data);
  });
});
srv.listen(port, addr);
setTimeout(() => process.exit(0), 60000).unref();
