// A deliberately naive HTTP/1.0 "blind relay" (the kind RFC 9112 §C.2.2 warns
// about): for each client connection it reads ONE request (up to the blank
// line), opens a connection to the origin, forwards the request bytes verbatim
// (including "Connection: Keep-Alive"), then copies the origin's response back
// to the client until the ORIGIN closes. It never parses the response, never
// closes on its own, and silently ignores anything else the client sends.
//   node naive-relay.mjs LISTEN_PORT ORIGIN_HOST ORIGIN_PORT
import net from 'node:net';

const [listenPort, originHost, originPort] = [Number(process.argv[2]), process.argv[3], Number(process.argv[4])];
net.createServer((client) => {
  let buf = Buffer.alloc(0);
  let forwarded = false;
  client.on('data', (d) => {
    if (forwarded) return; // ignore everything after the first request
    buf = Buffer.concat([buf, d]);
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    forwarded = true;
    const origin = net.connect(originPort, originHost, () => origin.write(buf.subarray(0, end + 4)));
    origin.on('data', (r) => client.write(r));
    origin.on('end', () => client.end());      // only the origin's close ends the client leg
    origin.on('error', () => client.destroy());
    client.on('close', () => origin.destroy());
  });
  client.on('error', () => {});
}).listen(listenPort, '127.0.0.1');
setTimeout(() => process.exit(0), 60000).unref();
