// HTTP/2 server push, one promise answered, one cancelled by the client, one never answered
// (node:http2 over cleartext prior knowledge, built-ins only), for samples/generate.sh's
// h2_push_cancel scenario.
//   node h2-push-cancel.mjs server ADDR PORT     # exits by itself after 30 s
//   node h2-push-cancel.mjs client ADDR PORT
// Server: GET /index.html promises /assets/s1.css (answered at once), /assets/big.css (64 KiB,
// answered 20 ms later) and /assets/j1.js (never answered), then answers the page after 50 ms.
// Client: reads s1.css, cancels big.css as soon as its promise arrives (RST_STREAM CANCEL, as a
// browser does for a resource it has cached), leaves j1.js alone; when the page and s1.css are in,
// closes the session (GOAWAY) and, 200 ms later, the socket.
import http2 from 'node:http2';

const [role, addr, port] = [process.argv[2], process.argv[3], Number(process.argv[4])];

if (role === 'server') {
  const srv = http2.createServer();
  srv.on('stream', (stream, headers) => {
    if (headers[':path'] !== '/index.html') {
      stream.respond({ ':status': 404 });
      stream.end();
      return;
    }
    const push = (path, answer) =>
      stream.pushStream({ ':path': path }, (err, ps) => {
        if (err) return;
        ps.on('error', () => {});
        answer(ps);
      });
    push('/assets/s1.css', (ps) => {
      ps.respond({ ':status': 200, 'content-type': 'text/css' });
      ps.end('.c1 { color: #140a05; }\n');
    });
    push('/assets/big.css', (ps) =>
      setTimeout(() => {
        if (ps.destroyed || ps.closed) return;
        ps.respond({ ':status': 200, 'content-type': 'text/css' });
        ps.end(Buffer.alloc(64 * 1024, 'a'));
      }, 20),
    );
    push('/assets/j1.js', () => {}); // promised, never answered
    setTimeout(() => {
      stream.respond({ ':status': 200, 'content-type': 'text/html' });
      stream.end('<!doctype html><link rel="stylesheet" href="/assets/s1.css"><link rel="stylesheet" href="/assets/big.css"><script src="/assets/j1.js"></script>\n');
    }, 50);
  });
  srv.on('sessionError', () => {});
  srv.listen(port, addr);
  setTimeout(() => process.exit(0), 30000).unref();
} else {
  const session = http2.connect(`http://${addr}:${port}`);
  session.on('error', () => {});
  let pending = 2; // the page and s1.css
  const done = () => {
    if (--pending > 0) return;
    session.close();
    setTimeout(() => session.destroy(), 200);
  };
  session.on('stream', (ps, headers) => {
    ps.on('error', () => {});
    const path = headers[':path'];
    if (path === '/assets/big.css') ps.close(http2.constants.NGHTTP2_CANCEL);
    else if (path === '/assets/s1.css') {
      ps.resume();
      ps.on('end', done);
    }
  });
  const req = session.request({ ':path': '/index.html' });
  req.on('error', () => {});
  req.resume();
  req.on('end', done);
  req.end();
}
