// Raw-socket HTTP/1.1 pipelining client: writes 3 GET requests back-to-back in
// ONE write on one connection, reads until 3 complete responses arrived
// (Content-Length framing), then closes (FIN).
//   node pipeline-client.mjs PORT
import net from 'node:net';

const port = Number(process.argv[2]);
const paths = ['/slow', '/fast1', '/fast2'];
const sock = net.connect(port, '127.0.0.1', () => {
  sock.write(paths.map((p) => `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUser-Agent: wirefall-pipeline\r\n\r\n`).join(''));
});
let buf = Buffer.alloc(0);
let done = 0;
sock.on('data', (d) => {
  buf = Buffer.concat([buf, d]);
  for (;;) {
    const he = buf.indexOf('\r\n\r\n');
    if (he < 0) break;
    const head = buf.subarray(0, he).toString('latin1');
    const len = Number((/content-length:\s*(\d+)/i.exec(head) || [0, 0])[1]);
    if (buf.length < he + 4 + len) break;
    console.error(`response ${++done}: ${head.split('\r\n')[0]} ${buf.subarray(he + 4, he + 4 + len).toString().trim()}`);
    buf = buf.subarray(he + 4 + len);
  }
  if (done === paths.length) sock.end();
});
sock.on('error', (e) => console.error('pipeline-client', e.message));
setTimeout(() => { console.error('pipeline-client: time limit'); process.exit(3); }, 5000).unref();
