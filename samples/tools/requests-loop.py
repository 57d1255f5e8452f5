# The keep-alive story's client loop (samples/generate-whatif.sh): N GETs one after another with
# Debian's python3-requests, no think time between them.
#   python3 requests-loop.py get|session BASE_URL N CA_FILE
# get:     requests.get(url) each time: a new Session, so a new TCP + TLS connection per request.
# session: one requests.Session for all N: one kept-alive connection.
# urllib3 appends the TLS secrets to $SSLKEYLOGFILE when it is set.
import sys
import requests

mode, base, n, ca = sys.argv[1], sys.argv[2].rstrip('/'), int(sys.argv[3]), sys.argv[4]
urls = [f'{base}/f{i % 10 + 1}.txt' for i in range(n)]
if mode == 'get':
    for u in urls:
        r = requests.get(u, verify=ca, timeout=10)
        r.raise_for_status()
elif mode == 'session':
    with requests.Session() as s:
        for u in urls:
            r = s.get(u, verify=ca, timeout=10)
            r.raise_for_status()
else:
    sys.exit(f'unknown mode {mode} (get or session)')
