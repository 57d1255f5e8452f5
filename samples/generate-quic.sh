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
# Ports: 18460 (ngtcp2), 18461 (Caddy).
set -euo pipefail

SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${OUT:-$SELF}"
Q="$OUT/quic"
SCENARIOS=(ngtcp2_basic ngtcp2_chacha_keyupdate ngtcp2_retry_rebind ngtcp2_resumed_0rtt chromium_caddy_page dsb_pcapng)

if [ "${1:-}" = "--list" ]; then printf '%s\n' "${SCENARIOS[@]}"; exit 0; fi
for t in tcpdump gtlsserver gtlsclient caddy chromium openssl editcap python3; do
  command -v "$t" >/dev/null || { echo "missing $t (apt-get install tcpdump ngtcp2-server ngtcp2-client caddy chromium openssl tshark python3)" >&2; exit 2; }
done
mkdir -p "$Q"
WORK="$(mktemp -d /tmp/wirefall-quic.XXXXXX)"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
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
