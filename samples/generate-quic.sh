#!/usr/bin/env bash
# Regenerates the QUIC / HTTP/3 sample captures in samples/quic/, each with the key log its client
# wrote (SSLKEYLOGFILE for ngtcp2's GnuTLS client, --ssl-key-log-file for Chromium), so they can be
# decrypted. Real software only: Debian's ngtcp2 examples (gtlsserver / gtlsclient, packages
# ngtcp2-server and ngtcp2-client), Caddy 2.6 (HTTP/3 server) and headless Chromium.
#
#   sudo samples/generate-quic.sh                 # all scenarios
#   sudo samples/generate-quic.sh ngtcp2_basic    # a subset (function names without scenario_)
#   samples/generate-quic.sh --list
#   OUT=/tmp/x sudo -E samples/generate-quic.sh   # write to /tmp/x/quic instead
#
# Needs root (tcpdump on lo). All traffic stays on 127.0.0.1; Chromium is fenced in with
# --host-resolver-rules (quic.test → 127.0.0.1, every other name → nothing) and has background
# networking off. A throwaway CA and ECDSA leaf (SAN quic.test, localhost, 127.0.0.1) are made in
# the work directory; Chromium accepts the leaf by its SPKI pin (--ignore-certificate-errors-spki-list,
# which its QUIC stack honours), ngtcp2's client does not verify.
#
# ngtcp2's server runs with --max-gso-dgrams=1: with UDP GSO, tcpdump on lo sees the unsegmented
# super-datagram (several short-header packets glued together) that no decoder can split.
#
# Each scenario writes samples/quic/STEM.pcap (or .pcapng), STEM.keys and STEM.expected.json: the
# requests as the software itself logged them (ngtcp2's client prints the headers it submits and
# the :status it gets; Caddy writes a JSON access log), the reference for the request lines in
# test/core/quic/tshark-quic-differential.test.ts (tshark 4.0 decodes QUIC and HTTP/3 frames with
# the key log, but not QPACK field sections).
# Ports: 18460 (ngtcp2), 18461 (Caddy); the findings scenarios: 18700 (ngtcp2), 18701 (Caddy, Alt-Svc),
# 18702 and 18703 (Caddy in a network namespace with UDP dropped), 18710 (ngtcp2 across a lossy veth pair).
set -euo pipefail

SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${OUT:-$SELF}"
Q="$OUT/quic"
SCENARIOS=(ngtcp2_basic ngtcp2_chacha_keyupdate ngtcp2_retry_rebind ngtcp2_resumed_0rtt chromium_caddy_page dsb_pcapng ngtcp2_missed_reuse chromium_caddy_altsvc chromium_quic_fallback chromium_quic_blocked_forced ngtcp2_stream_loss)

if [ "${1:-}" = "--list" ]; then printf '%s\n' "${SCENARIOS[@]}"; exit 0; fi
for t in tcpdump gtlsserver gtlsclient caddy chromium openssl editcap python3; do
  command -v "$t" >/dev/null || { echo "missing $t (apt-get install tcpdump ngtcp2-server ngtcp2-client caddy chromium openssl tshark python3)" >&2; exit 2; }
done
mkdir -p "$Q"
WORK="$(mktemp -d /tmp/wirefall-quic.XXXXXX)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; ip netns del wirefall-quic-fb 2>/dev/null || true; ip netns del wfq-loss-c 2>/dev/null || true; ip netns del wfq-loss-r 2>/dev/null || true; ip netns del wfq-loss-s 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
log() { echo "[generate-quic] $*" >&2; }

NG_PORT=18460
CADDY_PORT=18461

# ---------------------------------------------------------------- PKI and content ----
PKI="$WORK/pki"
mkdir -p "$PKI"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$PKI/ca.key" -out "$PKI/ca.pem" \
  -days 3650 -subj "/O=wirefall samples/CN=wirefall QUIC test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$PKI/leaf.key" -out "$PKI/leaf.csr" -subj "/CN=quic.test" 2>/dev/null
printf '%s\n' 'subjectAltName=DNS:quic.test,DNS:localhost,IP:127.0.0.1' 'basicConstraints=CA:FALSE' 'extendedKeyUsage=serverAuth' > "$PKI/ext.cnf"
openssl x509 -req -in "$PKI/leaf.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -CAcreateserial -out "$PKI/leaf.pem" -days 3650 -extfile "$PKI/ext.cnf" 2>/dev/null
SPKI_PIN="$(openssl x509 -in "$PKI/leaf.pem" -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)"

DOCS="$WORK/htdocs"
mkdir -p "$DOCS"
echo "hello over h3" > "$DOCS/index.html"
head -c 3000 /dev/zero | tr '\0' 'a' > "$DOCS/a.txt"
head -c 20000 /dev/zero | tr '\0' 'b' > "$DOCS/big.txt"
cat > "$DOCS/page.html" <<'EOF'
<!doctype html><html><head><title>h3 page</title><link rel="stylesheet" href="/style.css"></head>
<body><h1>HTTP/3 page</h1><img src="/img1.svg"><img src="/img2.svg"><script src="/app.js"></script></body></html>
EOF
echo 'body{font-family:sans-serif}' > "$DOCS/style.css"
echo 'document.title="loaded"' > "$DOCS/app.js"
for i in 1 2; do echo "<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'><rect width='10' height='10' fill='#$i$i$i'/></svg>" > "$DOCS/img$i.svg"; done
echo '<svg xmlns="http://www.w3.org/2000/svg"/>' > "$DOCS/favicon.ico"
echo "<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>" > "$DOCS/img3.svg"
# alt.html: the page is busy for 2.5 s (real time) before it adds two more images, so they need a
# new connection (Caddy closes the idle HTTP/2 one after 1 s) and can take the advertised h3.
cat > "$DOCS/alt.html" <<'HTML'
<!doctype html><html><head><title>alt-svc</title><link rel="stylesheet" href="/style.css"></head>
<body><h1>Alt-Svc</h1><img src="/img1.svg">
<script>
var t0 = Date.now(); while (Date.now() - t0 < 2500) {}
var i = document.createElement('img'); i.src = '/img2.svg'; document.body.appendChild(i);
var j = document.createElement('img'); j.src = '/img3.svg'; document.body.appendChild(j);
document.title = 'loaded';
</script></body></html>
HTML
cat > "$DOCS/fallback.html" <<'HTML'
<!doctype html><html><head><title>fallback</title><link rel="stylesheet" href="/style.css"></head>
<body><h1>QUIC blocked</h1><img src="/img1.svg"><img src="/img2.svg"><script>document.title='loaded'</script></body></html>
HTML

# ---------------------------------------------------------------- helpers ----
CAP_PID=""
cap_start() {  # cap_start FILE FILTER
  tcpdump -U --immediate-mode -i lo -w "$1" "$2" >/dev/null 2>&1 &
  CAP_PID=$!
  PIDS+=("$CAP_PID")
  sleep 1
}
cap_stop() { sleep 0.5; kill "$CAP_PID" 2>/dev/null || true; wait "$CAP_PID" 2>/dev/null || true; }

NG_SRV=""
ngtcp2_server_start() {  # extra server options
  gtlsserver -q --max-gso-dgrams=1 "$@" -d "$DOCS" 127.0.0.1 $NG_PORT "$PKI/leaf.key" "$PKI/leaf.pem" > "$WORK/ngtcp2-server.log" 2>&1 &
  NG_SRV=$!
  PIDS+=("$NG_SRV")
  sleep 0.5
}
ngtcp2_server_stop() { kill "$NG_SRV" 2>/dev/null || true; wait "$NG_SRV" 2>/dev/null || true; }

# ngtcp2_client KEYS LOG [client options] -- URL...: its request and response headers go to LOG.
ngtcp2_client() {
  local keys=$1 logf=$2
  shift 2
  local opts=()
  while [ "$1" != "--" ]; do opts+=("$1"); shift; done
  shift
  SSLKEYLOGFILE="$keys" timeout 30 gtlsclient --no-quic-dump --no-http-dump --exit-on-all-streams-close "${opts[@]}" \
    127.0.0.1 $NG_PORT "$@" >> "$logf" 2>&1 || log "gtlsclient exited $?"
}

# expected_from_ngtcp2 LOG OUT: [{connection, stream, method, path, status}] from the client's log.
expected_from_ngtcp2() {
  python3 - "$1" "$2" <<'PY'
import json, re, sys
conn, reqs, cur = -1, {}, None
out = []
for line in open(sys.argv[1], errors='replace'):
    line = line.rstrip('\n')
    if 'Negotiated cipher suite' in line or line.startswith('http: control stream='):
        if line.startswith('http: control stream='): conn += 1
    m = re.match(r'http: stream 0x([0-9a-f]+) submit request headers', line)
    if m:
        cur = {'connection': conn, 'stream': int(m.group(1), 16), 'method': None, 'path': None, 'status': None}
        out.append(cur); reqs[(conn, cur['stream'])] = cur; continue
    m = re.match(r'\[(:method|:path): (.*)\]$', line)
    if m and cur is not None:
        cur[m.group(1)[1:]] = m.group(2); continue
    m = re.match(r'http: stream 0x([0-9a-f]+) \[:status: (\d+)\]', line)
    if m and (conn, int(m.group(1), 16)) in reqs:
        reqs[(conn, int(m.group(1), 16))]['status'] = int(m.group(2))
json.dump({'source': 'ngtcp2 client log', 'requests': out}, open(sys.argv[2], 'w'), indent=1)
PY
}

# ---------------------------------------------------------------- scenarios ----
# 1. ngtcp2-h3: two GETs on one connection, AES-128-GCM, the connection closed by the client.
scenario_ngtcp2_basic() {
  local stem=ngtcp2-h3
  rm -f "$Q/$stem".*
  cap_start "$WORK/$stem.pcap" "udp port $NG_PORT"
  ngtcp2_server_start
  ngtcp2_client "$Q/$stem.keys" "$WORK/$stem.log" -- https://quic.test/index.html https://quic.test/a.txt
  ngtcp2_server_stop
  cap_stop
  cp "$WORK/$stem.pcap" "$Q/$stem.pcap"
  expected_from_ngtcp2 "$WORK/$stem.log" "$Q/$stem.expected.json"
}

# 2. ngtcp2-h3-chacha-keyupdate: ChaCha20-Poly1305 (ChaCha20 header protection, RFC 9001 §5.4.4)
#    and a 1-RTT key update by the client before its requests (RFC 9001 §6).
scenario_ngtcp2_chacha_keyupdate() {
  local stem=ngtcp2-h3-chacha-keyupdate
  rm -f "$Q/$stem".*
  cap_start "$WORK/$stem.pcap" "udp port $NG_PORT"
  ngtcp2_server_start --ciphers='NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+CHACHA20-POLY1305'
  ngtcp2_client "$Q/$stem.keys" "$WORK/$stem.log" --ciphers='NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+CHACHA20-POLY1305' \
    --key-update=20ms --delay-stream=100ms -- https://quic.test/index.html https://quic.test/big.txt
  ngtcp2_server_stop
  cap_stop
  cp "$WORK/$stem.pcap" "$Q/$stem.pcap"
  expected_from_ngtcp2 "$WORK/$stem.log" "$Q/$stem.expected.json"
}

# 3. ngtcp2-h3-retry-rebind: the server validates the address with a Retry (RFC 9000 §8.1.2), then
#    the client's address changes under it without path validation (NAT rebinding, §9.3) before
#    its requests: one connection, two client ports.
scenario_ngtcp2_retry_rebind() {
  local stem=ngtcp2-h3-retry-rebind
  rm -f "$Q/$stem".*
  cap_start "$WORK/$stem.pcap" "udp port $NG_PORT"
  ngtcp2_server_start -V
  ngtcp2_client "$Q/$stem.keys" "$WORK/$stem.log" --change-local-addr=30ms --nat-rebinding --delay-stream=150ms \
    -- https://quic.test/index.html https://quic.test/a.txt
  ngtcp2_server_stop
  cap_stop
  cp "$WORK/$stem.pcap" "$Q/$stem.pcap"
  expected_from_ngtcp2 "$WORK/$stem.log" "$Q/$stem.expected.json"
}

# 4. ngtcp2-h3-0rtt: a first connection stores the session ticket and transport parameters; a
#    second one resumes it and sends its request in 0-RTT (RFC 9001 §4.6). Two connections.
scenario_ngtcp2_resumed_0rtt() {
  local stem=ngtcp2-h3-0rtt
  rm -f "$Q/$stem".*
  cap_start "$WORK/$stem.pcap" "udp port $NG_PORT"
  ngtcp2_server_start
  ngtcp2_client "$Q/$stem.keys" "$WORK/$stem.log" --session-file="$WORK/sess" --tp-file="$WORK/tp" -- https://quic.test/index.html
  sleep 0.3
  ngtcp2_client "$Q/$stem.keys" "$WORK/$stem.log" --session-file="$WORK/sess" --tp-file="$WORK/tp" -- https://quic.test/a.txt
  ngtcp2_server_stop
  cap_stop
  cp "$WORK/$stem.pcap" "$Q/$stem.pcap"
  expected_from_ngtcp2 "$WORK/$stem.log" "$Q/$stem.expected.json"
}

# 5. chromium-caddy-h3: headless Chromium loads a page with a stylesheet, two images and a script
#    from Caddy over HTTP/3 (forced with --origin-to-force-quic-on); Caddy's access log is the reference.
scenario_chromium_caddy_page() {
  local stem=chromium-caddy-h3
  rm -f "$Q/$stem".*
  cat > "$WORK/Caddyfile" <<EOF
{
	auto_https off
	admin off
	storage file_system $WORK/caddy-data
	servers {
		protocols h1 h2 h3
	}
}
https://quic.test:$CADDY_PORT {
	tls $PKI/leaf.pem $PKI/leaf.key
	root * $DOCS
	file_server
	log {
		output file $WORK/caddy-access.log
		format json
	}
}
EOF
  HOME="$WORK" XDG_CONFIG_HOME="$WORK/cfg" XDG_DATA_HOME="$WORK/data" caddy run --config "$WORK/Caddyfile" --adapter caddyfile > "$WORK/caddy.log" 2>&1 &
  local caddy=$!
  PIDS+=("$caddy")
  sleep 2
  cap_start "$WORK/$stem.pcap" "udp port $CADDY_PORT"
  timeout 40 chromium --headless --no-sandbox --disable-gpu --no-first-run --no-default-browser-check \
    --user-data-dir="$WORK/chromium-profile" --ssl-key-log-file="$Q/$stem.keys" \
    --ignore-certificate-errors-spki-list="$SPKI_PIN" --enable-quic --origin-to-force-quic-on=quic.test:$CADDY_PORT \
    --host-resolver-rules="MAP quic.test 127.0.0.1, MAP * ~NOTFOUND" --disable-background-networking \
    --virtual-time-budget=5000 --dump-dom "https://quic.test:$CADDY_PORT/page.html" > "$WORK/dom.html" 2> "$WORK/chromium.err" || true
  cap_stop
  kill "$caddy" 2>/dev/null || true
  wait "$caddy" 2>/dev/null || true
  grep -q loaded "$WORK/dom.html" || log "chromium did not run the page's script"
  cp "$WORK/$stem.pcap" "$Q/$stem.pcap"
  python3 - "$WORK/caddy-access.log" "$Q/$stem.expected.json" <<'PY'
import json, sys
out = []
for line in open(sys.argv[1]):
    e = json.loads(line)
    r = e.get('request', {})
    if r.get('proto') != 'HTTP/3.0':
        continue
    out.append({'method': r.get('method'), 'path': r.get('uri'), 'status': e.get('status')})
json.dump({'source': 'caddy access log (HTTP/3.0 entries)', 'requests': out}, open(sys.argv[2], 'w'), indent=1)
PY
}

# 6. ngtcp2-h3-dsb.pcapng: the basic capture with its key log inside, as a pcapng Decryption
#    Secrets Block (editcap --inject-secrets): no key log file is needed.
scenario_dsb_pcapng() {
  [ -f "$Q/ngtcp2-h3.pcap" ] || scenario_ngtcp2_basic
  rm -f "$Q/ngtcp2-h3-dsb.pcapng"
  editcap --inject-secrets "tls,$Q/ngtcp2-h3.keys" "$Q/ngtcp2-h3.pcap" "$Q/ngtcp2-h3-dsb.pcapng"
  cp "$Q/ngtcp2-h3.expected.json" "$Q/ngtcp2-h3-dsb.expected.json"
}

# 7. ngtcp2-h3-missed-reuse (findings: quic-missed-reuse.ts): three ngtcp2 client processes, one
#    URL each, no session file (each a full handshake). The first stays connected after its
#    response (no --exit-on-all-streams-close; 500 ms idle timeout) while the second opens its own
#    connection 400 ms later: open and idle, never used again (it then times out silently, RFC
#    9000 §10.1). The second closes right after its response (CONNECTION_CLOSE) and the third
#    connects 300 ms later: one client process per request. Three connections, one origin (SNI
#    localhost, 127.0.0.1:18700).
scenario_ngtcp2_missed_reuse() {
  local stem=ngtcp2-h3-missed-reuse NG_PORT=18700
  rm -f "$Q/$stem".*
  cap_start "$WORK/$stem.pcap" "udp port $NG_PORT"
  ngtcp2_server_start
  SSLKEYLOGFILE="$Q/$stem.keys" timeout 20 gtlsclient --no-quic-dump --no-http-dump --timeout=500ms \
    127.0.0.1 $NG_PORT https://quic.test/index.html > "$WORK/$stem.1.log" 2>&1 &
  local first=$!
  PIDS+=("$first")
  sleep 0.4
  ngtcp2_client "$Q/$stem.keys" "$WORK/$stem.2.log" -- https://quic.test/a.txt
  sleep 0.3
  ngtcp2_client "$Q/$stem.keys" "$WORK/$stem.3.log" -- https://quic.test/index.html
  wait "$first" 2>/dev/null || true
  ngtcp2_server_stop
  cap_stop
  cp "$WORK/$stem.pcap" "$Q/$stem.pcap"
  cat "$WORK/$stem.1.log" "$WORK/$stem.2.log" "$WORK/$stem.3.log" > "$WORK/$stem.log"
  expected_from_ngtcp2 "$WORK/$stem.log" "$Q/$stem.expected.json"
}

# ---------------------------------------------------------------- Alt-Svc and fallback (Chromium) ----
# Chromium's QUIC refuses a certificate that does not chain to a known (public) root unless the
# host is one of --origin-to-force-quic-on (ERR_QUIC_CERT_ROOT_NOT_KNOWN; the allowance is by host
# name), and a certificate accepted only by --ignore-certificate-errors-spki-list makes it ignore
# Alt-Svc. So these scenarios trust the test CA in an NSS database ($HOME/.pki/nssdb: the TCP
# connections validate, Alt-Svc is honoured) and force QUIC on an unused port of the same host
# (quic.test:18749), which only lifts the known-root rule for quic.test: the origin itself starts
# over TCP and learns h3 from Caddy's Alt-Svc.
CH_HOME="$WORK/chromium-home"
nss_db() {
  command -v certutil >/dev/null || { echo "missing certutil (apt-get install libnss3-tools)" >&2; exit 2; }
  [ -d "$CH_HOME/.pki/nssdb" ] && return
  mkdir -p "$CH_HOME/.pki/nssdb"
  certutil -d "sql:$CH_HOME/.pki/nssdb" -N --empty-password
  certutil -d "sql:$CH_HOME/.pki/nssdb" -A -t "C,," -n "wirefall QUIC test CA" -i "$PKI/ca.pem"
}

# caddy_conf FILE PORT ACCESS_LOG: h1, h2 and h3 on PORT (TCP and UDP); Caddy 2.6 answers every
# h1/h2 response with `Alt-Svc: h3=":PORT"; ma=2592000`. Idle HTTP/1 and HTTP/2 connections are
# closed after 1 s.
caddy_conf() {
  cat > "$1" <<CADDY
{
	auto_https off
	admin off
	storage file_system $WORK/caddy-data-$2
	servers {
		protocols h1 h2 h3
		timeouts {
			idle 1s
		}
	}
}
https://quic.test:$2 {
	tls $PKI/leaf.pem $PKI/leaf.key
	root * $DOCS
	file_server
	log {
		output file $3
		format json
	}
}
CADDY
}

# chromium_run [ip netns exec NS] -- PROFILE KEYS URL
chromium_run() {
  local pre=()
  while [ "$1" != "--" ]; do pre+=("$1"); shift; done
  shift
  "${pre[@]}" env HOME="$CH_HOME" timeout 40 chromium --headless --no-sandbox --disable-gpu --no-first-run --no-default-browser-check \
    --user-data-dir="$1" --ssl-key-log-file="$2" --enable-quic --origin-to-force-quic-on=quic.test:18749 \
    --host-resolver-rules="MAP quic.test 127.0.0.1, MAP * ~NOTFOUND" --disable-background-networking \
    --dump-dom "$3" > "$WORK/dom.html" 2> "$WORK/chromium.err" || true
  grep -q '<title>loaded' "$WORK/dom.html" || log "chromium did not run the script of $3"
}

# expected_from_caddy LOG OUT [SKIP]: the requests Caddy logged (after the first SKIP lines): the
# HTTP/3 ones as `requests` (the reference of test/core/quic/tshark-quic-differential.test.ts), the
# HTTP/1.1 and HTTP/2 ones as `tcpRequests`, with the Alt-Svc Caddy answered.
expected_from_caddy() {
  python3 - "$1" "$2" "${3:-0}" <<'PY'
import json, sys
h3, tcp = [], []
for line in open(sys.argv[1]).readlines()[int(sys.argv[3]):]:
    e = json.loads(line)
    r = e.get('request', {})
    x = {'method': r.get('method'), 'path': r.get('uri'), 'status': e.get('status')}
    if r.get('proto') == 'HTTP/3.0':
        h3.append(x)
    else:
        alt = (e.get('resp_headers') or {}).get('Alt-Svc')
        tcp.append(dict(x, proto=r.get('proto'), altSvc=alt[0] if alt else None))
json.dump({'source': 'caddy access log (HTTP/3.0 entries; the others in tcpRequests)', 'requests': h3, 'tcpRequests': tcp}, open(sys.argv[2], 'w'), indent=1)
PY
}

# 8. chromium-caddy-altsvc (findings: quic-alt-svc.ts): Chromium loads alt.html over HTTP/2 (it
#    knows nothing of h3 yet); Caddy's responses advertise h3 on the same port; Chromium opens a
#    QUIC connection at once, but keeps sending on its HTTP/2 connection while that is open. The
#    page is busy for 2.5 s, Caddy closes the idle HTTP/2 connection, and the two images added
#    then (and the favicon) go over h3.
scenario_chromium_caddy_altsvc() {
  local stem=chromium-caddy-altsvc port=18701
  rm -f "$Q/$stem".*
  nss_db
  caddy_conf "$WORK/Caddyfile.$port" $port "$WORK/access-$port.log"
  HOME="$WORK" XDG_CONFIG_HOME="$WORK/cfg" XDG_DATA_HOME="$WORK/data" caddy run --config "$WORK/Caddyfile.$port" --adapter caddyfile > "$WORK/caddy-$port.log" 2>&1 &
  local caddy=$!
  PIDS+=("$caddy")
  sleep 2
  cap_start "$WORK/$stem.pcap" "port $port"
  chromium_run -- "$WORK/chromium-$stem" "$Q/$stem.keys" "https://quic.test:$port/alt.html"
  cap_stop
  kill "$caddy" 2>/dev/null || true
  wait "$caddy" 2>/dev/null || true
  cp "$WORK/$stem.pcap" "$Q/$stem.pcap"
  expected_from_caddy "$WORK/access-$port.log" "$Q/$stem.expected.json"
}

# 9. chromium-quic-fallback (findings: quic-fallback.ts): in a network namespace of its own, a
#    first Chromium run learns h3 from Caddy (Alt-Svc) and uses it (not captured: it only fills
#    the profile's "Network Persistent State" with the alternative service and that QUIC worked).
#    Then UDP to Caddy is dropped (iptables in the namespace) and a second run with the same
#    profile loads fallback.html: it sends QUIC Initials that nothing answers, and — QUIC having
#    worked before, its TCP attempt held back a little (17–22 ms in our runs) — connects over TCP.
#    Captured: the second run only, with its own key log. The log's "persisted:" line shows what
#    the first run left; without `supports_quic` Chromium does not hold TCP back, races it first,
#    and the finding is blocked-while-tcp-open instead (seen once in five runs).
scenario_chromium_quic_fallback() {
  local stem=chromium-quic-fallback port=18702 ns=wirefall-quic-fb
  rm -f "$Q/$stem".*
  nss_db
  ip netns del $ns 2>/dev/null || true
  ip netns add $ns
  ip netns exec $ns ip link set lo up
  caddy_conf "$WORK/Caddyfile.$port" $port "$WORK/access-$port.log"
  ip netns exec $ns env HOME="$WORK" XDG_CONFIG_HOME="$WORK/cfg-$port" XDG_DATA_HOME="$WORK/data-$port" caddy run --config "$WORK/Caddyfile.$port" --adapter caddyfile > "$WORK/caddy-$port.log" 2>&1 &
  local caddy=$!
  PIDS+=("$caddy")
  sleep 2
  chromium_run ip netns exec $ns -- "$WORK/chromium-$stem" "$WORK/$stem.learn.keys" "https://quic.test:$port/alt.html"
  grep -q '"HTTP/3.0"' "$WORK/access-$port.log" || log "the first run did not use h3"
  log "persisted: $(grep -o '"supports_quic":{[^}]*}\|"network_stats":{[^}]*}' "$WORK/chromium-$stem/Default/Network Persistent State" | tr '\n' ' ')"
  local skip
  skip=$(wc -l < "$WORK/access-$port.log")
  ip netns exec $ns iptables -A INPUT -p udp --dport $port -j DROP
  ip netns exec $ns tcpdump -U --immediate-mode -i lo -w "$WORK/$stem.pcap" "port $port" >/dev/null 2>&1 &
  CAP_PID=$!
  PIDS+=("$CAP_PID")
  sleep 1
  chromium_run ip netns exec $ns -- "$WORK/chromium-$stem" "$Q/$stem.keys" "https://quic.test:$port/fallback.html"
  cap_stop
  kill "$caddy" 2>/dev/null || true
  wait "$caddy" 2>/dev/null || true
  ip netns del $ns
  cp "$WORK/$stem.pcap" "$Q/$stem.pcap"
  expected_from_caddy "$WORK/access-$port.log" "$Q/$stem.expected.json" "$skip"
}

# 10. chromium-quic-blocked-forced (findings: quic-fallback.ts, no-fallback): QUIC forced on the
#     origin (--origin-to-force-quic-on) and UDP to it dropped in a namespace of its own: Chromium
#     sends Initials for 4 s, never tries TCP, and the page fails (ERR_QUIC_PROTOCOL_ERROR, kept
#     in the .expected.json as `chromiumError`). Caddy listens on TCP too: nothing reaches it.
#     No key log: without a handshake there are no secrets.
scenario_chromium_quic_blocked_forced() {
  local stem=chromium-quic-blocked-forced port=18703 ns=wirefall-quic-fb
  rm -f "$Q/$stem".*
  nss_db
  ip netns del $ns 2>/dev/null || true
  ip netns add $ns
  ip netns exec $ns ip link set lo up
  ip netns exec $ns iptables -A INPUT -p udp --dport $port -j DROP
  caddy_conf "$WORK/Caddyfile.$port" $port "$WORK/access-$port.log"
  ip netns exec $ns env HOME="$WORK" XDG_CONFIG_HOME="$WORK/cfg-$port" XDG_DATA_HOME="$WORK/data-$port" caddy run --config "$WORK/Caddyfile.$port" --adapter caddyfile > "$WORK/caddy-$port.log" 2>&1 &
  local caddy=$!
  PIDS+=("$caddy")
  sleep 2
  ip netns exec $ns tcpdump -U --immediate-mode -i lo -w "$WORK/$stem.pcap" "port $port" >/dev/null 2>&1 &
  CAP_PID=$!
  PIDS+=("$CAP_PID")
  sleep 1
  ip netns exec $ns env HOME="$CH_HOME" timeout 40 chromium --headless --no-sandbox --disable-gpu --no-first-run --no-default-browser-check \
    --user-data-dir="$WORK/chromium-$stem" --ssl-key-log-file="$Q/$stem.keys" --enable-quic --origin-to-force-quic-on=quic.test:$port \
    --host-resolver-rules="MAP quic.test 127.0.0.1, MAP * ~NOTFOUND" --disable-background-networking \
    --dump-dom "https://quic.test:$port/fallback.html" > "$WORK/dom.html" 2> "$WORK/chromium.err" || true
  cap_stop
  kill "$caddy" 2>/dev/null || true
  wait "$caddy" 2>/dev/null || true
  ip netns del $ns
  cp "$WORK/$stem.pcap" "$Q/$stem.pcap"
  touch "$WORK/access-$port.log"
  # No handshake, no secrets: Chromium leaves its key log empty.
  [ -s "$Q/$stem.keys" ] || rm -f "$Q/$stem.keys"
  expected_from_caddy "$WORK/access-$port.log" "$Q/$stem.expected.json"
  python3 - "$Q/$stem.expected.json" "$WORK/chromium.err" <<'PY'
import json, re, sys
d = json.load(open(sys.argv[1]))
m = re.search(r'ERR_[A-Z_]+', open(sys.argv[2], errors='replace').read())
d['chromiumError'] = m.group(0) if m else None
json.dump(d, open(sys.argv[1], 'w'), indent=1)
PY
}

# 11. ngtcp2-h3-stream-loss (findings: quic-stream-loss.ts): ngtcp2's client fetches four 256 KB
#     files concurrently (four request streams on one connection) from Caddy through a lossy
#     path. Three network namespaces: client 10.80.0.1 <-veth-> router <-veth-> server 10.80.1.2
#     (MTU 1500, offloads off). The router forwards server->client at 8 Mbit/s (tbf queue, so the
#     RTT grows to tens of ms under load, as on a slow link) and drops every 41st forwarded UDP
#     datagram from the server after its 30th (iptables `-m statistic --mode nth` in FORWARD:
#     this kernel has no netem; a DROP in the server's own OUTPUT chain would fail its sendmsg
#     with EPERM, which quic-go takes as fatal). Captured on the client's veth: the receiver's
#     view, where a dropped datagram is missing and its STREAM data comes again in a later packet.
#     Caddy (quic-go) interleaves the four responses; ngtcp2's server would send them one after
#     the other (RFC 9218's default priority is non-incremental). quic-go's UDP GSO is off (the
#     tbf would see unsegmented super-datagrams).
scenario_ngtcp2_stream_loss() {
  local stem=ngtcp2-h3-stream-loss port=18710 c=wfq-loss-c r=wfq-loss-r s=wfq-loss-s i
  rm -f "$Q/$stem".*
  for i in 1 2 3 4; do
    head -c 262144 <(openssl enc -aes-128-ctr -nosalt -K 0f0e0d0c0b0a09080706050403020100 -iv 0000000000000000000000000000000$i </dev/zero 2>/dev/null) > "$DOCS/s$i.bin"
  done
  for i in $c $r $s; do ip netns del $i 2>/dev/null || true; ip netns add $i; ip -n $i link set lo up; done
  ip link add wfql-c netns $c mtu 1500 type veth peer name wfql-rc netns $r mtu 1500
  ip link add wfql-s netns $s mtu 1500 type veth peer name wfql-rs netns $r mtu 1500
  ip -n $c addr add 10.80.0.1/30 dev wfql-c
  ip -n $r addr add 10.80.0.2/30 dev wfql-rc
  ip -n $r addr add 10.80.1.1/30 dev wfql-rs
  ip -n $s addr add 10.80.1.2/30 dev wfql-s
  for i in "$c:wfql-c" "$r:wfql-rc" "$r:wfql-rs" "$s:wfql-s"; do
    ip -n "${i%%:*}" link set "${i#*:}" up
    ip netns exec "${i%%:*}" ethtool -K "${i#*:}" tso off gso off gro off >/dev/null 2>&1 || true
  done
  ip -n $c route add default via 10.80.0.2
  ip -n $s route add default via 10.80.1.1
  ip netns exec $r sysctl -qw net.ipv4.ip_forward=1
  tc -n $r qdisc add dev wfql-rc root tbf rate 8mbit burst 16kb latency 300ms
  ip netns exec $r iptables -A FORWARD -p udp --sport $port -m statistic --mode nth --every 41 --packet 30 -j DROP
  cat > "$WORK/Caddyfile.$port" <<CADDY
{
	auto_https off
	admin off
	storage file_system $WORK/caddy-data-$port
	servers {
		protocols h1 h2 h3
	}
}
https://quic.test:$port {
	tls $PKI/leaf.pem $PKI/leaf.key
	root * $DOCS
	file_server
	log {
		output file $WORK/access-$port.log
		format json
	}
}
CADDY
  ip netns exec $s env QUIC_GO_DISABLE_GSO=true HOME="$WORK" XDG_CONFIG_HOME="$WORK/cfg-$port" XDG_DATA_HOME="$WORK/data-$port" caddy run --config "$WORK/Caddyfile.$port" --adapter caddyfile > "$WORK/caddy-$port.log" 2>&1 &
  local srv=$!
  PIDS+=("$srv")
  sleep 2
  ip netns exec $c tcpdump -U --immediate-mode -s 0 -i wfql-c -w "$WORK/$stem.pcap" "udp port $port" >/dev/null 2>&1 &
  CAP_PID=$!
  PIDS+=("$CAP_PID")
  sleep 1
  SSLKEYLOGFILE="$Q/$stem.keys" ip netns exec $c timeout 60 gtlsclient --no-quic-dump --no-http-dump --exit-on-all-streams-close \
    --sni=quic.test 10.80.1.2 $port https://quic.test/s1.bin https://quic.test/s2.bin https://quic.test/s3.bin https://quic.test/s4.bin \
    > "$WORK/$stem.log" 2>&1 || log "gtlsclient exited $?"
  cap_stop
  log "server datagrams dropped by the router: $(ip netns exec $r iptables -L FORWARD -v -x -n | awk '/DROP/ { print $1 }')"
  kill "$srv" 2>/dev/null || true
  wait "$srv" 2>/dev/null || true
  for i in $c $r $s; do ip netns del $i; done
  rm -f "$DOCS"/s?.bin
  cp "$WORK/$stem.pcap" "$Q/$stem.pcap"
  expected_from_ngtcp2 "$WORK/$stem.log" "$Q/$stem.expected.json"
}

main() {
  local list=("$@")
  [ ${#list[@]} -eq 0 ] && list=("${SCENARIOS[@]}")
  for s in "${list[@]}"; do
    log "scenario $s"
    "scenario_$s"
  done
  chmod 644 "$Q"/* 2>/dev/null || true
  ls -la "$Q" >&2
}

main "$@"
