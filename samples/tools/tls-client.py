#!/usr/bin/env python3
"""Minimal HTTPS/1.1 client (Python ssl, stdlib only) for samples/generate-tls.sh: GETs PATHs one
after another on ONE TLS connection (keep-alive, Content-Length framing), then ends it as told:

  notify   send close_notify (SSLSocket.unwrap), then close the TCP connection (FIN)
  fin      close the TCP connection without close_notify (a "bare FIN")
  server   wait until the server closes (its idle timeout), then close

  tls-client.py ADDR PORT SNI CAFILE {1.2|1.3} {notify|fin|server} KEYLOG PATH...
The TLS secrets go to KEYLOG (SSLContext.keylog_filename, NSS key log format, appended).
"""
import socket
import ssl
import sys
import time

addr, port, sni, cafile, version, mode, keylog, *paths = sys.argv[1:]
ctx = ssl.create_default_context(cafile=cafile)
ctx.keylog_filename = keylog
v = ssl.TLSVersion.TLSv1_3 if version == '1.3' else ssl.TLSVersion.TLSv1_2
ctx.minimum_version = ctx.maximum_version = v
ctx.set_alpn_protocols(['http/1.1'])
raw = socket.create_connection((addr, int(port)), timeout=10)
s = ctx.wrap_socket(raw, server_hostname=sni)
t0 = time.monotonic()


def log(m):
    print(f'tls-client +{(time.monotonic() - t0) * 1000:.0f}ms {m}', file=sys.stderr)


log(f'{s.version()} {s.cipher()[0]} alpn={s.selected_alpn_protocol()}')
buf = b''
for p in paths:
    s.sendall(f'GET {p} HTTP/1.1\r\nHost: {sni}:{port}\r\nUser-Agent: wirefall-tls-client\r\n\r\n'.encode())
    while b'\r\n\r\n' not in buf:
        buf += s.recv(65536)
    head, _, buf = buf.partition(b'\r\n\r\n')
    n = 0
    for line in head.split(b'\r\n')[1:]:
        k, _, val = line.partition(b':')
        if k.strip().lower() == b'content-length':
            n = int(val)
    while len(buf) < n:
        buf += s.recv(65536)
    buf = buf[n:]
    status = head.split(b'\r\n')[0].decode()
    log(f'{p} -> {status}')
if mode == 'notify':
    s.settimeout(2)
    try:
        raw = s.unwrap()          # sends close_notify (and waits for the server's)
        log('close_notify sent and answered')
    except (ssl.SSLError, OSError) as e:
        log(f'close_notify sent; the server did not answer with its own ({e.__class__.__name__})')
    raw.close()
elif mode == 'server':
    s.settimeout(10)
    try:
        while s.recv(65536):
            pass
        log('server closed')
    except (ssl.SSLError, OSError) as e:
        log(f'server close: {e}')
    s.close()
else:
    s.close()                     # no close_notify: the TCP FIN alone
log('done')
