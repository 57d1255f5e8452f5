// node:http server for the pipelining sample.
//   node pipeline-server.mjs PORT
// /slow answers after 500 ms; anything else answers immediately. node:http
// processes pipelined requests in order, so responses 2 and 3 queue behind /slow.
import http from 'node:http';

const port = Number(process.argv[2]);
http.createServer((req, res) => {
  const send = () => {
    const body = `response for ${req.url}\n`;
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  };
  if (req.url === '/slow') setTimeout(send, 500); else send();
}).listen(port, '127.0.0.1');
setTimeout(() => process.exit(0), 60000).unref();
