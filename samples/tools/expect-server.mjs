// node:http server honouring "Expect: 100-continue".
//   node expect-server.mjs PORT
// On a request with Expect: 100-continue it waits 100 ms, sends "100 Continue",
// reads the whole body and answers 201 with the byte count (Content-Length).
import http from 'node:http';

const port = Number(process.argv[2]);
const server = http.createServer();
function handle(req, res) {
  let n = 0;
  req.on('data', (c) => { n += c.length; });
  req.on('end', () => {
    const body = `received ${n} bytes\n`;
    res.writeHead(201, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  });
}
server.on('checkContinue', (req, res) => {
  setTimeout(() => { res.writeContinue(); handle(req, res); }, 100);
});
server.on('request', handle);
server.listen(port, '127.0.0.1');
setTimeout(() => process.exit(0), 60000).unref();
