// node:http server that streams a chunked response with a trailer.
//   node chunked-trailer-server.mjs PORT
// GET /stream  -> Transfer-Encoding: chunked, 5 chunks written 50 ms apart,
//                 then trailer "X-Checksum: <sha1 of body>" (declared in "Trailer").
// other paths  -> small fixed-length response.
import http from 'node:http';
import crypto from 'node:crypto';

const port = Number(process.argv[2]);
const server = http.createServer(async (req, res) => {
  if (req.url === '/stream') {
    res.writeHead(200, { 'Content-Type': 'text/plain', Trailer: 'X-Checksum' });
    const h = crypto.createHash('sha1');
    for (let i = 1; i <= 5; i++) {
      const chunk = `chunk ${i} of 5: ${'abcdefghij'.repeat(i * 3)}\n`;
      h.update(chunk);
      res.write(chunk);
      await new Promise((r) => setTimeout(r, 50));
    }
    res.addTrailers({ 'X-Checksum': h.digest('hex') });
    res.end();
  } else {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 3 });
    res.end('ok\n');
  }
});
server.listen(port, '127.0.0.1');
setTimeout(() => process.exit(0), 60000).unref();
