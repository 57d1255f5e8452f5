#!/usr/bin/env bash
# Regenerates the HTTPS (TLS) sample captures in samples/tls/, each with the TLS key log its
# client wrote (SSLKEYLOGFILE / -keylogfile / --tls-keylog / --ssl-key-log-file), so that the
# captures can be decrypted. Real software only: nginx, curl, openssl s_client, Node.js,
# Python, headless Chromium.
#
#   sudo samples/generate-tls.sh                      # all scenarios
#   sudo samples/generate-tls.sh nginx_h2_tls13 tls-alerts   # a subset (function name or file stem)
#   samples/generate-tls.sh --list                    # list scenarios
#   OUT=/tmp/x sudo -E samples/generate-tls.sh        # write to /tmp/x/tls instead
#
# Needs root (tcpdump, ip netns). Uses generate.sh's helpers (everything but its `main` call:
# start_bg, wait_port, cap_start, cap_stop, stop_all_servers, make_docroot, log, the cleanup
# trap) and findings.sh's delaying cable (ff_setup/ff_teardown) for tls_missed_reuse. Neither
# file is modified. All traffic stays on loopback (127.0.0.1) or inside the two namespaces of
# the cable. Chromium is fenced in with --host-resolver-rules (every name other than
# *.wirefall.test resolves to nothing) and has its background networking switched off.
#
# A throwaway CA and one RSA-2048 leaf certificate (SAN a.wirefall.test, b.wirefall.test,
# localhost, 127.0.0.1, 10.99.0.2) are made at run time in the work directory; clients trust
# the CA (curl --cacert, s_client -CAfile, Node `ca`, Python cafile, Chromium by SPKI pin).
# Names resolve without /etc/hosts: curl --resolve, Chromium --host-resolver-rules, Node and
# openssl connect to the address and send the name as SNI.
#
# Each scenario writes samples/tls/STEM.pcap and samples/tls/STEM.keys (NSS key log format),
# then prints tools/tls-summarize.py's view of the decrypted capture and checks it against
# samples/tls/ground-truth.json (the structural facts: TLS version, cipher, ALPN, SNI,
# resumption, connections, requests per connection, closes). A mismatch is logged, the files
# are kept, and the script exits 1 at the end. Ports: 18443-18460 (generate.sh uses 181xx and
# 8080-8090, findings.sh 182xx).
set -euo pipefail

TLS_DIR_SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ "${1:-}" != "--list" ]; then
  # Borrow generate.sh's helpers, trap and work directory, without running its main.
  # shellcheck disable=SC1090
  source <(sed -e '/^main "\$@"$/d' -e "s#^SAMPLES_DIR=.*#SAMPLES_DIR='$TLS_DIR_SELF'#" "$TLS_DIR_SELF/generate.sh")
  # and findings.sh's delaying cable (sourced: its own main does not run)
  # shellcheck disable=SC1091
  source "$TLS_DIR_SELF/findings.sh"
  TLS_OUT="$OUT/tls"
  mkdir -p "$TLS_OUT"
fi

TLS_SCENARIOS=(
  nginx_h2_tls13 nginx_h1_tls13_chacha nginx_h1_tls13_aes256 nginx_h1_tls12_gcm nginx_h2_tls12_chacha
  nginx_h1_tls12_cbc_etm tls12_cbc_mte tls13_resumed tls12_resumed tls_missed_reuse node_h2_tls13
  chromium_h1 chromium_h2 coalescing chromium_coalesced nginx_h2_tls13_dsb wrong_keys tls_alerts h2_tls_loss_hol
)

# ---------------------------------------------------------------- PKI ----
PKI=""
make_pki() {
  PKI="$WORK/pki"
  mkdir -p "$PKI"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PKI/ca.key" -out "$PKI/ca.crt" -days 3650 \
    -subj "/O=wirefall samples/CN=wirefall test CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout "$PKI/leaf.key" -out "$PKI/leaf.csr" -subj "/CN=a.wirefall.test" 2>/dev/null
  printf '%s\n' 'subjectAltName=DNS:a.wirefall.test,DNS:b.wirefall.test,DNS:localhost,IP:127.0.0.1,IP:10.99.0.2' \
    'basicConstraints=CA:FALSE' 'keyUsage=critical,digitalSignature,keyEncipherment' 'extendedKeyUsage=serverAuth' > "$PKI/leaf.ext"
  openssl x509 -req -in "$PKI/leaf.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -set_serial 0x5747 \
    -days 3650 -extfile "$PKI/leaf.ext" -out "$PKI/leaf.crt" 2>/dev/null
  # base64(sha256(SubjectPublicKeyInfo)) of the leaf, for Chromium's --ignore-certificate-errors-spki-list
  SPKI_PIN=$(openssl x509 -in "$PKI/leaf.crt" -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)
  chmod -R a+rX "$PKI"
}

# ------------------------------------------------------------- helpers ----
# start_tls_nginx NAME PORT 'TLS directives' [' http2'] ['http directives'] [ADDR NETNS]
start_tls_nginx() {
  local name=$1 port=$2 ssl=$3 lopts=${4:-} extra=${5:-keepalive_timeout 60s;} addr=${6:-127.0.0.1} ns=${7:-} prefix="$WORK/nginx-$1"
  local nsexec=()
  [ -z "$ns" ] || nsexec=(ip netns exec "$ns")
  mkdir -p "$prefix"
  sed -e "s#@PREFIX@#$prefix#g" -e "s#@LISTEN@#$addr#g" -e "s#@PORT@#$port#g" -e "s#@ROOT@#$DOCROOT#g" \
      -e "s#@LISTEN_OPTS@#$lopts#g" -e "s#@CERT@#$PKI/leaf.crt#g" -e "s#@KEY@#$PKI/leaf.key#g" \
      -e "s#@SSL@#$ssl#g" -e "s#@HTTP_EXTRA@#$extra#g" "$TOOLS/tls-nginx.conf.in" > "$prefix/nginx.conf"
  "${nsexec[@]}" nginx -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log" &
  PIDS+=("$!")
  wait_port "$addr" "$port" "$ns"
  sleep 0.3   # let wait_port's probe connection close before the capture starts
}

# tls_begin STEM: sets F (capture), K (key log the clients append to, exported as SSLKEYLOGFILE)
tls_begin() {
  TLS_STEM=$1
  F="$TLS_OUT/$1.pcap"
  K="$WORK/$1.keys"
  rm -f "$F" "$K" "$TLS_OUT/$1.keys"
  : > "$K"; chmod 666 "$K"
  export SSLKEYLOGFILE="$K"
}

# tls_end: stop the capture and the servers, publish the key log, summarize and check.
tls_end() {
  cap_stop
  stop_all_servers
  tls_end_nocap
}
tls_end_nocap() {
  unset SSLKEYLOGFILE
  cp "$K" "$TLS_OUT/$TLS_STEM.keys"
  tls_publish "$F" "$TLS_OUT/$TLS_STEM.keys"
  tls_check "$F" "$TLS_OUT/$TLS_STEM.keys"
}

tls_publish() {
  local f
  for f in "$@"; do
    chown "$(stat -c %u:%g "$SAMPLES_DIR")" "$f"; chmod 644 "$f"
    if [ "${f%.keys}" != "$f" ]; then
      printf '%-40s lines=%-6s size=%s\n' "$(basename "$f")" "$(wc -l < "$f")" "$(stat -c %s "$f")"
    else
      printf '%-40s packets=%-6s size=%s\n' "$(basename "$f")" "$(capinfos -T -c -r "$f" 2>/dev/null | cut -f2)" "$(stat -c %s "$f")"
    fi
  done
}

# tls_check FILE [KEYS]: print the decrypted summary and compare it with ground-truth.json
tls_check() {
  local f=$1 k=${2:-}
  python3 "$TOOLS/tls-summarize.py" ${k:+--keys "$k"} --check "$SAMPLES_DIR/tls/ground-truth.json" "$f" >&2 \
    || { log "WARNING: $(basename "$f") does not match samples/tls/ground-truth.json (see above)"; TLS_MISMATCH+=("$(basename "$f")"); }
}
TLS_MISMATCH=()

# curl with our CA; every *.wirefall.test name of PORT resolved to ADDR (default 127.0.0.1)
# tcurl PORT [ADDR] -- curl args...
tcurl() {
  local port=$1 addr=127.0.0.1
  shift
  if [ "$1" != "--" ]; then addr=$1; shift; fi
  shift
  curl -sS --max-time 10 --noproxy '*' --cacert "$PKI/ca.crt" \
    --resolve "a.wirefall.test:$port:$addr" --resolve "b.wirefall.test:$port:$addr" "$@"
}
# each_to_null URL... -> "-o /dev/null URL" per URL, one word per line (for mapfile)
each_to_null() { local u; for u in "$@"; do printf -- '-o\n/dev/null\n%s\n' "$u"; done; }

# -------------------------------------------------------------- scenarios ----
A=https://a.wirefall.test
B=https://b.wirefall.test

# 1: nginx TLS 1.3 + h2 (TLS_AES_128_GCM_SHA256 only), one curl, 5 URLs on one connection.
scenario_nginx_h2_tls13() {
  local port=18443 a
  tls_begin nginx-h2-tls13
  start_tls_nginx h2-tls13 $port 'ssl_protocols TLSv1.3; ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;' ' http2'
  cap_start "$F" lo "tcp port $port"
  mapfile -t a < <(each_to_null $A:$port/f1.txt $A:$port/f2.txt $A:$port/f3.txt $A:$port/assets/s1.css $A:$port/assets/j1.js)
  tcurl $port -- --http2 "${a[@]}"
  tls_end
}

# 2: TLS 1.3 with TLS_CHACHA20_POLY1305_SHA256 only, HTTP/1.1 keep-alive, one curl, 5 URLs.
scenario_nginx_h1_tls13_chacha() {
  local port=18444 a
  tls_begin nginx-h1-tls13-chacha
  start_tls_nginx h1-tls13-chacha $port 'ssl_protocols TLSv1.3; ssl_conf_command Ciphersuites TLS_CHACHA20_POLY1305_SHA256;'
  cap_start "$F" lo "tcp port $port"
  mapfile -t a < <(each_to_null $A:$port/f1.txt $A:$port/f2.txt $A:$port/f3.txt $A:$port/f4.txt $A:$port/f5.txt)
  tcurl $port -- --http1.1 "${a[@]}"
  tls_end
}

# 3: TLS 1.3 with TLS_AES_256_GCM_SHA384 only, HTTP/1.1, one curl, 4 URLs.
scenario_nginx_h1_tls13_aes256() {
  local port=18445 a
  tls_begin nginx-h1-tls13-aes256
  start_tls_nginx h1-tls13-aes256 $port 'ssl_protocols TLSv1.3; ssl_conf_command Ciphersuites TLS_AES_256_GCM_SHA384;'
  cap_start "$F" lo "tcp port $port"
  mapfile -t a < <(each_to_null $A:$port/f6.txt $A:$port/f7.txt $A:$port/f8.txt $A:$port/big.txt)
  tcurl $port -- --http1.1 "${a[@]}"
  tls_end
}

# 4: TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256, HTTP/1.1, one curl, 5 URLs on one connection.
scenario_nginx_h1_tls12_gcm() {
  local port=18446 a
  tls_begin nginx-h1-tls12-gcm
  start_tls_nginx h1-tls12-gcm $port 'ssl_protocols TLSv1.2; ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256;'
  cap_start "$F" lo "tcp port $port"
  mapfile -t a < <(each_to_null $A:$port/f1.txt $A:$port/f2.txt $A:$port/f3.txt $A:$port/f4.txt $A:$port/f5.txt)
  tcurl $port -- --http1.1 "${a[@]}"
  tls_end
}

# 5: TLS 1.2 ECDHE-RSA-CHACHA20-POLY1305, h2, one curl, 4 URLs.
scenario_nginx_h2_tls12_chacha() {
  local port=18447 a
  tls_begin nginx-h2-tls12-chacha
  start_tls_nginx h2-tls12-chacha $port 'ssl_protocols TLSv1.2; ssl_ciphers ECDHE-RSA-CHACHA20-POLY1305;' ' http2'
  cap_start "$F" lo "tcp port $port"
  mapfile -t a < <(each_to_null $A:$port/f1.txt $A:$port/f2.txt $A:$port/assets/s2.css $A:$port/assets/i2.svg)
  tcurl $port -- --http2 "${a[@]}"
  tls_end
}

# 6: TLS 1.2 CBC (ECDHE-RSA-AES128-SHA256); OpenSSL on both sides negotiates encrypt_then_mac.
scenario_nginx_h1_tls12_cbc_etm() {
  local port=18448 a
  tls_begin nginx-h1-tls12-cbc-etm
  start_tls_nginx h1-tls12-cbc-etm $port 'ssl_protocols TLSv1.2; ssl_ciphers ECDHE-RSA-AES128-SHA256;'
  cap_start "$F" lo "tcp port $port"
  mapfile -t a < <(each_to_null $A:$port/f1.txt $A:$port/f2.txt $A:$port/f3.txt)
  tcurl $port -- --http1.1 "${a[@]}"
  tls_end
}

# 7: TLS 1.2 CBC with MAC-then-encrypt (no encrypt_then_mac), two ways:
#   stream 0: curl (offers EtM) -> nginx :18449 with `ssl_conf_command Options -EncryptThenMac`
#             (the server does not echo the extension), 2 URLs;
#   stream 1: `openssl s_client -no_etm` (does not offer it) -> nginx :18450 (default options), two
#             raw HTTP/1.1 requests, the second with `Connection: close` (nginx closes). No ALPN.
scenario_tls12_cbc_mte() {
  local port=18449 port2=18450 a
  tls_begin tls12-cbc-mte
  start_tls_nginx cbc-mte $port 'ssl_protocols TLSv1.2; ssl_ciphers ECDHE-RSA-AES128-SHA256; ssl_conf_command Options -EncryptThenMac;'
  start_tls_nginx cbc-mte-2 $port2 'ssl_protocols TLSv1.2; ssl_ciphers ECDHE-RSA-AES128-SHA256;'
  cap_start "$F" lo "tcp port $port or tcp port $port2"
  mapfile -t a < <(each_to_null $A:$port/f1.txt $A:$port/f2.txt)
  tcurl $port -- --http1.1 "${a[@]}"
  sleep 0.2
  printf 'GET /f3.txt HTTP/1.1\r\nHost: a.wirefall.test:%s\r\nUser-Agent: openssl-s_client\r\n\r\nGET /f4.txt HTTP/1.1\r\nHost: a.wirefall.test:%s\r\nUser-Agent: openssl-s_client\r\nConnection: close\r\n\r\n' $port2 $port2 |
    timeout 10 openssl s_client -connect 127.0.0.1:$port2 -servername a.wirefall.test -CAfile "$PKI/ca.crt" \
      -verify_return_error -tls1_2 -no_etm -keylogfile "$K" -quiet > "$WORK/s_client.out" 2>"$WORK/s_client.err" ||
    { cat "$WORK/s_client.err" >&2; return 1; }
  tls_end
}

# 8a: TLS 1.3 resumption (PSK from a NewSessionTicket, psk_dhe_ke): one curl process, 3 URLs with
# `Connection: close`, so nginx closes after each response and curl opens a new connection,
# resuming the session it got on the first one.
scenario_tls13_resumed() {
  local port=18451 a
  tls_begin tls13-resumed
  start_tls_nginx tls13-resumed $port 'ssl_protocols TLSv1.3; ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;'
  cap_start "$F" lo "tcp port $port"
  mapfile -t a < <(each_to_null $A:$port/f1.txt $A:$port/f2.txt $A:$port/f3.txt)
  tcurl $port -- --http1.1 -H 'Connection: close' "${a[@]}"
  tls_end
}

# 8b: TLS 1.2 resumption by session ID (nginx: shared session cache, tickets off); same client.
scenario_tls12_resumed() {
  local port=18452 a
  tls_begin tls12-resumed
  start_tls_nginx tls12-resumed $port 'ssl_protocols TLSv1.2; ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256; ssl_session_cache shared:wftls12:1m; ssl_session_tickets off;'
  cap_start "$F" lo "tcp port $port"
  mapfile -t a < <(each_to_null $A:$port/f1.txt $A:$port/f2.txt $A:$port/f3.txt)
  tcurl $port -- --http1.1 -H 'Connection: close' "${a[@]}"
  tls_end
}

# 9: missed reuse over TLS with a real round trip: 8 curl processes one after another, one
# request each, over findings.sh's delaying cable (10 ms each way: RTT ~20 ms). Each connection
# pays a full TCP + TLS 1.3 handshake (no resumption across processes). Captured in the client
# namespace on wffta.
scenario_tls_missed_reuse() {
  local port=18453 i FF_DELAY_MS=10
  tls_begin tls-missed-reuse
  ff_setup
  start_tls_nginx missed-reuse $port 'ssl_protocols TLSv1.2 TLSv1.3;' '' '' $FF_S $FF_NS_S
  ff_cap "$F" "tcp port $port"
  for i in 1 2 3 4 5 6 7 8; do
    ip netns exec $FF_NS_C env SSLKEYLOGFILE="$K" timeout 20 \
      bash -c "$(declare -f tcurl); PKI='$PKI'; tcurl $port $FF_S -- --http1.1 -o /dev/null $A:$port/f$i.txt"
  done
  cap_stop
  stop_all_servers
  ff_teardown
  tls_end_nocap
}

# 10: Node.js http2.connect client -> Node.js http2.createSecureServer (TLS 1.3), one connection:
# 3 concurrent GETs, then a POST, then session.close().
scenario_node_h2_tls13() {
  local port=18454
  tls_begin node-h2-tls13
  start_bg node "$TOOLS/tls-node-h2-server.mjs" 127.0.0.1 $port "$PKI/leaf.crt" "$PKI/leaf.key" "$DOCROOT"
  wait_port 127.0.0.1 $port; sleep 0.3
  cap_start "$F" lo "tcp port $port"
  NODE_NO_WARNINGS=1 timeout 20 node --tls-keylog="$K" "$TOOLS/tls-node-h2-client.mjs" 127.0.0.1 $port a.wirefall.test "$PKI/ca.crt"
  tls_end
}

# 11: headless Chromium loads https://a.wirefall.test:PORT/ (index.html + 30 assets) from nginx.
# The leaf is accepted by its SPKI pin (--ignore-certificate-errors-spki-list, which needs
# --user-data-dir); names other than *.wirefall.test resolve to nothing (~NOTFOUND).
CHROMIUM_FLAGS=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --no-default-browser-check
  --disable-background-networking --disable-component-update --disable-sync --disable-extensions
  --disable-default-apps --disable-domain-reliability --disable-client-side-phishing-detection
  --disable-breakpad --no-pings --no-proxy-server --password-store=basic
  --disable-features=OptimizationHints,MediaRouter,DialMediaRouteProvider,Translate,AutofillServerCommunication,CertificateTransparencyComponentUpdater,InterestFeedContentSuggestions
  '--host-resolver-rules=MAP *.wirefall.test 127.0.0.1, MAP * ~NOTFOUND')
chromium_load() {  # chromium_load URL
  local prof="$WORK/chromium-$TLS_STEM"
  rm -rf "$prof"; mkdir -p "$prof"
  timeout 40 /usr/bin/chromium "${CHROMIUM_FLAGS[@]}" --user-data-dir="$prof" --ssl-key-log-file="$K" \
    --ignore-certificate-errors-spki-list="$SPKI_PIN" --virtual-time-budget=5000 \
    --dump-dom "$1" > "$WORK/$TLS_STEM.dom.html" 2>"$WORK/$TLS_STEM.chromium.err" || true
  grep -q 'wirefall page load sample\|coalescing page' "$WORK/$TLS_STEM.dom.html" ||
    { log "chromium did not load $1:"; tail -5 "$WORK/$TLS_STEM.chromium.err" >&2; return 1; }
}
scenario_chromium_h1() {
  local port=18455
  tls_begin chromium-h1
  start_tls_nginx chromium-h1 $port 'ssl_protocols TLSv1.2 TLSv1.3;'
  cap_start "$F" lo "tcp port $port"
  chromium_load $A:$port/
  tls_end
}
scenario_chromium_h2() {
  local port=18456
  tls_begin chromium-h2
  start_tls_nginx chromium-h2 $port 'ssl_protocols TLSv1.2 TLSv1.3;' ' http2'
  cap_start "$F" lo "tcp port $port"
  chromium_load $A:$port/
  tls_end
}

# 12: missed coalescing: one curl process, h2, two URLs on a.wirefall.test then two on
# b.wirefall.test, same address and port, one certificate covering both names. curl does not
# coalesce: 2 connections (the first stays open, idle, while the second is used).
# 12b (chromium-coalesced): the positive case. Chromium loads a page from a.wirefall.test whose 6
# images are on b.wirefall.test (same address, port and certificate): it sends them on the
# a.wirefall.test h2 connection (:authority b.wirefall.test:PORT), one connection in all.
scenario_coalescing() {
  local port=18457 a
  tls_begin coalescing
  start_tls_nginx coalescing $port 'ssl_protocols TLSv1.3;' ' http2'
  cap_start "$F" lo "tcp port $port"
  mapfile -t a < <(each_to_null $A:$port/f1.txt $A:$port/f2.txt $B:$port/f3.txt $B:$port/f4.txt)
  tcurl $port -- --http2 "${a[@]}"
  tls_end
}
scenario_chromium_coalesced() {
  local port=18459 i
  tls_begin chromium-coalesced
  {
    echo '<!doctype html><html><head><meta charset="utf-8"><title>coalescing page</title><link rel="icon" href="data:,"></head><body><h1>coalescing page</h1>'
    for i in 1 2 3 4 5 6; do echo "<img src=\"https://b.wirefall.test:$port/assets/i$i.svg\" width=\"16\" height=\"16\" alt=\"$i\">"; done
    echo '</body></html>'
  } > "$DOCROOT/coalesce.html"
  touch -d '2024-01-01 00:00:00 UTC' "$DOCROOT/coalesce.html"
  start_tls_nginx chromium-coalesced $port 'ssl_protocols TLSv1.3;' ' http2'
  cap_start "$F" lo "tcp port $port"
  chromium_load $A:$port/coalesce.html
  tls_end
}

# 13: the capture of (1) with its key log inside, as a pcapng Decryption Secrets Block.
scenario_nginx_h2_tls13_dsb() {
  local src="$TLS_OUT/nginx-h2-tls13.pcap" f="$TLS_OUT/nginx-h2-tls13-dsb.pcapng"
  [ -f "$src" ] && [ -f "$TLS_OUT/nginx-h2-tls13.keys" ] || scenario_nginx_h2_tls13
  rm -f "$f"
  editcap --inject-secrets "tls,$TLS_OUT/nginx-h2-tls13.keys" "$src" "$f"
  tls_publish "$f"
  tls_check "$f"
}

# 14: a wrong key log for (1): same labels and client randoms, every secret's hex digits
# complemented (x -> 15-x), so tshark matches each secret to the connection but cannot decrypt.
scenario_wrong_keys() {
  local keys="$TLS_OUT/nginx-h2-tls13.keys" f="$TLS_OUT/nginx-h2-tls13.wrong.keys"
  [ -f "$keys" ] && [ -f "$TLS_OUT/nginx-h2-tls13.pcap" ] || scenario_nginx_h2_tls13
  awk '{ s=$3; t=""; for (i=1;i<=length(s);i++) { c=index("0123456789abcdef", substr(s,i,1)); t=t substr("fedcba9876543210", c, 1) } print $1, $2, t }' "$keys" > "$f"
  tls_publish "$f"
  python3 "$TOOLS/tls-summarize.py" --keys "$f" --check "$SAMPLES_DIR/tls/ground-truth.json" --entry nginx-h2-tls13.pcap+wrong.keys \
    "$TLS_OUT/nginx-h2-tls13.pcap" >&2 || { log "WARNING: wrong keys do not match ground-truth.json"; TLS_MISMATCH+=(wrong-keys); }
}

# 15: closes and alerts, six connections to one nginx (TLS 1.2 and 1.3, keepalive_timeout 1s):
#   0  TLS 1.3, tools/tls-client.py GET /f1.txt, then close_notify (unwrap) + FIN
#   1  TLS 1.2, the same
#   2  TLS 1.3, GET /f2.txt, then a bare FIN (no close_notify)
#   3  TLS 1.3, curl without our CA: it rejects the certificate -> fatal unknown_ca alert, no
#      request (OpenSSL sends this alert as a plaintext record: its handshake write keys are not
#      in use yet; only SERVER_HANDSHAKE_TRAFFIC_SECRET is logged for this connection)
#   4  TLS 1.2, the same (--tls-max 1.2): plaintext unknown_ca, no key log line at all
#   5  TLS 1.3, GET /f3.txt, then idle until nginx's keepalive_timeout (1 s) closes it
scenario_tls_alerts() {
  local port=18458 ca="$PKI/ca.crt" tc="$TOOLS/tls-client.py"
  tls_begin tls-alerts
  start_tls_nginx tls-alerts $port 'ssl_protocols TLSv1.2 TLSv1.3; ssl_ciphers ECDHE-RSA-AES128-GCM-SHA256;' '' 'keepalive_timeout 1s;'
  cap_start "$F" lo "tcp port $port"
  python3 "$tc" 127.0.0.1 $port a.wirefall.test "$ca" 1.3 notify "$K" /f1.txt; sleep 0.2
  python3 "$tc" 127.0.0.1 $port a.wirefall.test "$ca" 1.2 notify "$K" /f1.txt; sleep 0.2
  python3 "$tc" 127.0.0.1 $port a.wirefall.test "$ca" 1.3 fin "$K" /f2.txt; sleep 0.2
  curl -sS --max-time 10 --noproxy '*' --resolve a.wirefall.test:$port:127.0.0.1 --http1.1 -o /dev/null \
    $A:$port/f9.txt 2>&1 | sed 's/^/  (expected) /' >&2 || true; sleep 0.2
  curl -sS --max-time 10 --noproxy '*' --resolve a.wirefall.test:$port:127.0.0.1 --http1.1 --tls-max 1.2 -o /dev/null \
    $A:$port/f10.txt 2>&1 | sed 's/^/  (expected) /' >&2 || true; sleep 0.2
  python3 "$tc" 127.0.0.1 $port a.wirefall.test "$ca" 1.3 server "$K" /f3.txt
  tls_end
}

# 16: TCP head-of-line blocking inside TLS: h2-loss-hol.pcap's setup (generate.sh's three
# namespaces, a 40 Mbit/s router dropping every 30th server->client packet of >= 1000 bytes)
# with nginx TLS 1.3 + h2 in wfs and one curl (--http2 --parallel: 8 x 200 KB multiplexed on one
# connection) in wfc. Captured in wfc on wf-c, so lost segments show as holes filled by
# retransmissions. The same transfers as h2-loss-hol.pcap, seen through TLS records.
scenario_h2_tls_loss_hol() {
  local port=18460 a i
  tls_begin h2-tls-loss-hol
  ns_setup 30
  start_tls_nginx h2-tls-loss $port 'ssl_protocols TLSv1.3; ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;' ' http2' \
    'keepalive_timeout 60s;' $NS_S_ADDR $NS_SERVER
  wait_port $NS_S_ADDR $port $NS_CLIENT
  cap_start "$F" wf-c "tcp port $port" $NS_CLIENT
  a=()
  for i in 1 2 3 4 5 6 7 8; do a+=(-o /dev/null "$A:$port/big/b$i.bin"); done
  ip netns exec $NS_CLIENT env SSLKEYLOGFILE="$K" timeout 60 \
    bash -c "$(declare -f tcurl); PKI='$PKI'; tcurl $port $NS_S_ADDR -- --http2 --parallel \"\$@\"" _ "${a[@]}"
  cap_stop
  log "loss rule dropped $(ns_drops) packets"
  stop_all_servers
  ns_teardown
  tls_end_nocap
}

# -------------------------------------------------------------------- main ----
main() {
  if [ "${1:-}" = "--list" ]; then printf '%s\n' "${TLS_SCENARIOS[@]}"; return 0; fi
  [ "$(id -u)" = 0 ] || { echo "must run as root (tcpdump, netns)" >&2; exit 1; }
  local todo=("$@") s
  [ ${#todo[@]} -gt 0 ] || todo=("${TLS_SCENARIOS[@]}")
  make_docroot
  make_pki
  for s in "${todo[@]}"; do
    s=${s%.pcapng}; s=${s%.pcap}; s=${s//-/_}
    declare -F "scenario_$s" >/dev/null || { echo "unknown scenario: $s (try --list)" >&2; exit 2; }
    log "scenario $s"
    "scenario_$s"
  done
  if [ ${#TLS_MISMATCH[@]} -gt 0 ]; then log "ground-truth mismatches: ${TLS_MISMATCH[*]}"; exit 1; fi
}

# (set +e first: under errexit, "(exit $rc)" with rc != 0 would end the trap before cleanup)
[ "${1:-}" = "--list" ] || trap 'rc=$?; set +e; ff_teardown 2>/dev/null; (exit $rc); cleanup' EXIT
main "$@"
