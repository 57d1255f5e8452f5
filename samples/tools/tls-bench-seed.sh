#!/usr/bin/env bash
# Makes the HTTPS benchmark seeds (test/bench/synth.mjs replays them into >= 200 MB captures):
#
#   samples/bench-seed-https.pcap        curl -> nginx over TLS 1.3 (TLS_AES_128_GCM_SHA256), HTTP/1.1
#   samples/bench-seed-https.keys        curl's NSS key log (SSLKEYLOGFILE) for it
#   samples/bench-seed-https-clear.pcap  the SAME curl fetch list over plain HTTP/1.1
#
#   sudo samples/tools/tls-bench-seed.sh            # writes to samples/
#   OUT=/tmp/x sudo -E samples/tools/tls-bench-seed.sh
#
# Standalone (it does not source generate.sh) but built like generate.sh's bench_seed_http1:
# nginx + curl, HTTP/1.1 keep-alive, the same fetch list (f1..f10.txt and four 200 KB bodies on one
# connection, then f3.txt, a 200 KB body and f4.txt on a second one: 17 requests, 2 connections),
# the same document contents, 40 Mbit/s server->client, MTU 1500 with segmentation and receive
# offloads off so that every captured segment is a real wire-size packet, captured with
# `tcpdump -U --immediate-mode -s 0`. The path is one veth pair between two network namespaces
# made here (client 10.78.0.1 <-> server 10.78.0.2); no traffic leaves them. Replayed copies keep
# the client random, so the one key log decrypts every copy (for wirefall and tshark alike).
#
# Needs root. Debian 12 packages: nginx-light (or any nginx with ssl), curl, openssl, tcpdump,
# tshark (the checks at the end), iproute2 (ip, tc), ethtool. The certificate (a throwaway CA and
# an RSA-2048 leaf for bench.wirefall.test / 10.78.0.2) is made at run time in the work directory.
# Everything started here is stopped on exit, on errors and on Ctrl-C (trap): nginx, tcpdump, the
# namespaces (their veths and qdisc go with them), the work directory /tmp/wirefall-tlsbench.*.
set -euo pipefail

SAMPLES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${OUT:-$SAMPLES_DIR}"
NS_C="wftlsbench-c-$$"
NS_S="wftlsbench-s-$$"
C_ADDR=10.78.0.1
S_ADDR=10.78.0.2
HOST=bench.wirefall.test
TLS_PORT=8443
CLEAR_PORT=8080
EXPECT_REQUESTS=17
EXPECT_CONNECTIONS=2
MAX_SEED_BYTES=3000000

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || { echo "must run as root (tcpdump, ip netns)" >&2; exit 1; }
for tool in nginx curl openssl tcpdump tshark capinfos ip tc ethtool; do
  command -v "$tool" >/dev/null || die "$tool is needed (Debian: nginx-light curl openssl tcpdump tshark iproute2 ethtool)"
done

WORK="$(mktemp -d /tmp/wirefall-tlsbench.XXXXXX)"
chmod 755 "$WORK"
PIDS=()
NETNS=()

cleanup() {
  local rc=$? pid ns
  set +e
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  sleep 0.3
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null; done
  for ns in "${NETNS[@]}"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
    ip netns del "$ns" 2>/dev/null   # its veth end and qdisc go with it
  done
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- content ----
# The same contents as generate.sh's make_docroot for the files fetched here.
DOCROOT="$WORK/www"
make_docroot() {
  local i
  mkdir -p "$DOCROOT/big"
  for i in $(seq 1 10); do
    printf 'wirefall sample file %02d\n%s\n' "$i" "$(printf 'x%.0s' $(seq 1 $((i * 20))))" > "$DOCROOT/f$i.txt"
  done
  for i in $(seq 1 5); do
    head -c 204800 <(openssl enc -aes-128-ctr -nosalt -K 000102030405060708090a0b0c0d0e0$i \
      -iv 00000000000000000000000000000000 </dev/zero 2>/dev/null) > "$DOCROOT/big/b$i.bin"
  done
  find "$DOCROOT" -exec touch -d '2024-01-01 00:00:00 UTC' {} +
  chmod -R a+rX "$DOCROOT"
}

# ---------------------------------------------------------------- PKI ----
PKI="$WORK/pki"
make_pki() {
  mkdir -p "$PKI"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$PKI/ca.key" -out "$PKI/ca.crt" -days 3650 \
    -subj "/O=wirefall samples/CN=wirefall bench CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -keyout "$PKI/leaf.key" -out "$PKI/leaf.csr" -subj "/CN=$HOST" 2>/dev/null
  printf '%s\n' "subjectAltName=DNS:$HOST,IP:$S_ADDR" 'basicConstraints=CA:FALSE' \
    'keyUsage=critical,digitalSignature,keyEncipherment' 'extendedKeyUsage=serverAuth' > "$PKI/leaf.ext"
  openssl x509 -req -in "$PKI/leaf.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -set_serial 0x5748 \
    -days 3650 -extfile "$PKI/leaf.ext" -out "$PKI/leaf.crt" 2>/dev/null
  chmod -R a+rX "$PKI"
}

# --------------------------------------------------------------- network ----
# client netns (wf-c, 10.78.0.1/30) <-veth, MTU 1500-> server netns (wf-s, 10.78.0.2/30)
ns_setup() {
  local ns dev
  for ns in "$NS_C" "$NS_S"; do
    ip netns add "$ns"; NETNS+=("$ns"); ip -n "$ns" link set lo up
  done
  ip link add wf-c netns "$NS_C" mtu 1500 type veth peer name wf-s netns "$NS_S" mtu 1500
  ip -n "$NS_C" addr add $C_ADDR/30 dev wf-c
  ip -n "$NS_S" addr add $S_ADDR/30 dev wf-s
  for ns_dev in "$NS_C:wf-c" "$NS_S:wf-s"; do
    ns=${ns_dev%%:*}; dev=${ns_dev#*:}
    ip -n "$ns" link set "$dev" up
    # no TSO/GSO/GRO: each captured segment is what a 1500-byte wire would carry
    ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off >/dev/null
  done
  # server->client shaped like generate.sh's router (40 Mbit/s), so ACK clocking is real
  tc -n "$NS_S" qdisc add dev wf-s root tbf rate 40mbit burst 32kb latency 100ms
}

# wait_port NETNS HOST PORT
wait_port() {
  local ns=$1 host=$2 port=$3 i
  for i in $(seq 1 50); do
    ip netns exec "$ns" bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null && return 0
    sleep 0.1
  done
  die "port $host:$port did not open"
}

start_nginx() {
  local prefix="$WORK/nginx"
  mkdir -p "$prefix"
  cat > "$prefix/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $prefix/nginx.pid;
error_log $prefix/error.log warn;
events { worker_connections 256; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log $prefix/access.log;
    client_body_temp_path $prefix/client_body;
    proxy_temp_path $prefix/proxy;
    fastcgi_temp_path $prefix/fastcgi;
    uwsgi_temp_path $prefix/uwsgi;
    scgi_temp_path $prefix/scgi;
    server_tokens off;
    sendfile off;
    etag on;
    keepalive_timeout 60s;
    keepalive_requests 1000;
    server {
        listen $S_ADDR:$TLS_PORT ssl;
        listen $S_ADDR:$CLEAR_PORT;
        server_name $HOST;
        ssl_certificate $PKI/leaf.crt;
        ssl_certificate_key $PKI/leaf.key;
        ssl_protocols TLSv1.3;
        ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;
        root $DOCROOT;
        location / { }
    }
}
EOF
  ip netns exec "$NS_S" nginx -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log" &
  PIDS+=("$!")
  wait_port "$NS_C" $S_ADDR $TLS_PORT
  wait_port "$NS_C" $S_ADDR $CLEAR_PORT
  sleep 0.3   # let the probes' connections close before a capture starts
}

CAP_PID=""
CAP_ERR=""
cap_start() {
  local file=$1 port=$2 i
  rm -f "$file"
  CAP_ERR="$WORK/tcpdump.$port.err"
  ip netns exec "$NS_C" tcpdump -i wf-c -B 16384 -U --immediate-mode -s 0 -nn -w "$file" "tcp port $port" 2>"$CAP_ERR" &
  CAP_PID=$!
  PIDS+=("$CAP_PID")
  for i in $(seq 1 50); do
    grep -q 'listening on' "$CAP_ERR" 2>/dev/null && break
    sleep 0.1
  done
  sleep 0.3
}
cap_stop() {
  sleep 0.5
  kill -INT "$CAP_PID" 2>/dev/null || true
  wait "$CAP_PID" 2>/dev/null || true
  if grep -Eq '^[1-9][0-9]* packets dropped by kernel' "$CAP_ERR"; then
    cat "$CAP_ERR" >&2; die "the capture dropped packets"
  fi
}

# fetch SCHEME PORT [curl options...]: the fetch list, as generate.sh's bench seed does it
# (one curl for 14 URLs on one keep-alive connection, then one curl for 3 URLs)
fetch() {
  local scheme=$1 port=$2 base a=() b=() i
  shift 2
  base="$scheme://$HOST:$port"
  for i in $(seq 1 10); do a+=(-o /dev/null "$base/f$i.txt"); done
  for i in 1 2 3 4; do a+=(-o /dev/null "$base/big/b$i.bin"); done
  b=(-o /dev/null "$base/f3.txt" -o /dev/null "$base/big/b5.bin" -o /dev/null "$base/f4.txt")
  local curl=(curl -sS --fail --max-time 20 --noproxy '*' --http1.1 --resolve "$HOST:$port:$S_ADDR" "$@")
  ip netns exec "$NS_C" "${curl[@]}" "${a[@]}"
  ip netns exec "$NS_C" "${curl[@]}" "${b[@]}"
}

publish() {
  local f
  for f in "$@"; do
    chown "$(stat -c %u:%g "$SAMPLES_DIR")" "$f"; chmod 644 "$f"
    if [ "${f%.keys}" != "$f" ]; then
      printf '%-36s lines=%-7s size=%s\n' "$(basename "$f")" "$(wc -l < "$f")" "$(stat -c %s "$f")"
    else
      printf '%-36s packets=%-5s size=%s\n' "$(basename "$f")" "$(capinfos -T -c -r "$f" 2>/dev/null | cut -f2)" "$(stat -c %s "$f")"
    fi
  done
}

# check FILE [KEYS]: tshark must see every request and both connections (decrypted with KEYS),
# TLS 1.3 with TLS_AES_128_GCM_SHA256 on each connection when KEYS is given, and no packet larger
# than the MTU.
check() {
  local f=$1 k=${2:-} opts=() n c big
  [ -z "$k" ] || opts=(-o "tls.keylog_file:$k")
  n=$(tshark -n -r "$f" "${opts[@]}" -Y http.request -T fields -e tcp.stream 2>/dev/null | wc -l)
  c=$(tshark -n -r "$f" -Y 'tcp.flags.syn==1 && tcp.flags.ack==0' 2>/dev/null | wc -l)
  big=$(tshark -n -r "$f" -Y 'frame.len > 1514' 2>/dev/null | wc -l)
  log "$(basename "$f"): tshark finds $n requests on $c connections; $big frames over 1514 bytes"
  [ "$n" = $EXPECT_REQUESTS ] || die "$(basename "$f"): $n requests, expected $EXPECT_REQUESTS"
  [ "$c" = $EXPECT_CONNECTIONS ] || die "$(basename "$f"): $c connections, expected $EXPECT_CONNECTIONS"
  [ "$big" = 0 ] || die "$(basename "$f"): frames larger than the MTU (offloads still on?)"
  [ "$(stat -c %s "$f")" -lt $MAX_SEED_BYTES ] || die "$(basename "$f"): larger than $MAX_SEED_BYTES bytes"
  if [ -n "$k" ]; then
    local v
    v=$(tshark -n -r "$f" -Y 'tls.handshake.type==2' -T fields -e tls.handshake.extensions.supported_version -e tls.handshake.ciphersuite 2>/dev/null | sort -u)
    log "$(basename "$f"): ServerHello version, cipher: $v"
    [ "$v" = $'0x0304\t0x1301' ] || die "$(basename "$f"): not TLS 1.3 + TLS_AES_128_GCM_SHA256 on every connection"
  fi
}

main() {
  local tls="$OUT/bench-seed-https.pcap" keys="$OUT/bench-seed-https.keys" clear="$OUT/bench-seed-https-clear.pcap"
  local k="$WORK/keys.log"
  mkdir -p "$OUT"
  make_docroot
  make_pki
  ns_setup
  start_nginx

  log "HTTPS: TLS 1.3, TLS_AES_128_GCM_SHA256, HTTP/1.1 keep-alive"
  : > "$k"
  cap_start "$tls" $TLS_PORT
  SSLKEYLOGFILE="$k" fetch https $TLS_PORT --cacert "$PKI/ca.crt" --tlsv1.3 --tls13-ciphers TLS_AES_128_GCM_SHA256
  cap_stop
  cp "$k" "$keys"

  log "cleartext: the same fetch list over HTTP/1.1"
  cap_start "$clear" $CLEAR_PORT
  fetch http $CLEAR_PORT
  cap_stop

  check "$tls" "$keys"
  check "$clear"
  publish "$tls" "$keys" "$clear"
}

main "$@"
