// Raw TCP server answering every HTTP request with a close-delimited body:
// "HTTP/1.1 200 OK" with neither Content-Length nor Transfer-Encoding; the body
// is written in 3 pieces 30 ms apart and the server then closes (FIN) to mark
// the end of the body.
//   node close-delimited-server.mjs PORT
import net from 'node:net';

const port = Number(process.argv[2]);
const server = net.createServer((sock) => {
  let buf = '';
  sock.on('data', async (d) => {
    buf += d.toString('latin1');
    if (!buf.includes('\r\n\r\n') || sock.answered) return;
    sock.answered = true;
    sock.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nServer: close-delimited-demo\r\n\r\n');
    for (let i = 1; i <= 3; i++) {
      await new Promise((r) => setTimeout(r, 30));
      sock.write(`part ${i}: the end of this body is marked only by the connection closing\n`);
    }
    sock.end();
  });
  sock.on('error', () => {});
});
server.listen(port, '127.0.0.1');
setTimeout(() => process.exit(0), 60000).unref();
