#!/usr/bin/env bash
# Makes the request-heavy benchmark seed (test/bench/synth.mjs `stretch` replays it into captures
# of >= 300k requests on 16 or 32 long-lived keep-alive connections):
#
#   samples/bench-seed-h1-requests.pcap   h2load --h1 -> nginx, HTTP/1.1 keep-alive, one small file,
#                                         16 connections x 320 requests (5,120), one request
#                                         in flight per connection (-m 1: no pipelining)
#
#   sudo samples/tools/h1-requests-seed.sh             # writes to samples/
#   OUT=/tmp/x sudo -E samples/tools/h1-requests-seed.sh
#
# Standalone (it sources nothing), built like tls-bench-seed.sh: one veth pair between two network
# namespaces made here (client 10.79.0.1 <-> server 10.79.0.2, MTU 1500, segmentation and receive
# offloads off so every captured segment is a real wire-size packet); nginx serves f1.txt (the same
# 45-byte document as generate.sh's make_docroot) over HTTP/1.1 keep-alive; h2load (nghttp2-client)
# makes the requests; `tcpdump -U --immediate-mode -s 0` captures on the client's veth. No traffic
# leaves the namespaces. No rate shaping: the responses are one small segment each, so there is
# nothing for a bottleneck to clock; every exchange is a request segment and a response segment,
# the next request carrying the ACK (2 packets per request, the shape of the issue's capture).
#
# Why a small seed and long connections: the seed stays under 3 MB; synth.mjs's `stretch` repeats
# each connection's steady state (the exchanges after the first few and before the last few) with
# the TCP sequence and acknowledgement numbers, TCP timestamps, IP ids and capture times carried
# on, so each replayed connection is ONE long connection (one handshake, ~19k requests, one close)
# as h2load would make over ~10 s, rather than many short copies.
#
# Needs root. Debian 12 packages: nginx-light (or nginx), nghttp2-client (h2load), tcpdump, tshark
# (capinfos; the checks at the end), iproute2 (ip), ethtool. Everything started here is stopped on
# exit, on errors and on Ctrl-C (trap): nginx, tcpdump, the namespaces (their veths go with them),
# the work directory /tmp/wirefall-reqbench.*.
set -euo pipefail

SAMPLES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${OUT:-$SAMPLES_DIR}"
NS_C="wfreqbench-c-$$"
NS_S="wfreqbench-s-$$"
C_ADDR=10.79.0.1
S_ADDR=10.79.0.2
PORT=8080
CONNECTIONS=16
PER_CONNECTION=320
EXPECT_REQUESTS=$((CONNECTIONS * PER_CONNECTION))
MAX_SEED_BYTES=3000000

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || { echo "must run as root (tcpdump, ip netns)" >&2; exit 1; }
for tool in nginx h2load tcpdump tshark capinfos ip ethtool; do
  command -v "$tool" >/dev/null || die "$tool is needed (Debian: nginx-light nghttp2-client tcpdump tshark iproute2 ethtool)"
done

WORK="$(mktemp -d /tmp/wirefall-reqbench.XXXXXX)"
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
    ip netns del "$ns" 2>/dev/null   # its veth end goes with it
  done
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- content ----
# f1.txt exactly as generate.sh's make_docroot writes it (45 bytes).
DOCROOT="$WORK/www"
make_docroot() {
  mkdir -p "$DOCROOT"
  printf 'wirefall sample file %02d\n%s\n' 1 "$(printf 'x%.0s' $(seq 1 20))" > "$DOCROOT/f1.txt"
  find "$DOCROOT" -exec touch -d '2024-01-01 00:00:00 UTC' {} +
  chmod -R a+rX "$DOCROOT"
}

# --------------------------------------------------------------- network ----
# client netns (wf-c, 10.79.0.1/30) <-veth, MTU 1500-> server netns (wf-s, 10.79.0.2/30)
ns_setup() {
  local ns dev ns_dev
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
    access_log off;
    client_body_temp_path $prefix/client_body;
    proxy_temp_path $prefix/proxy;
    fastcgi_temp_path $prefix/fastcgi;
    uwsgi_temp_path $prefix/uwsgi;
    scgi_temp_path $prefix/scgi;
    server_tokens off;
    sendfile off;
    etag on;
    keepalive_timeout 60s;
    keepalive_requests 100000;
    server {
        listen $S_ADDR:$PORT;
        root $DOCROOT;
        location / { }
    }
}
EOF
  ip netns exec "$NS_S" nginx -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log" &
  PIDS+=("$!")
  wait_port "$NS_C" $S_ADDR $PORT
  sleep 0.3   # let the probe's connection close before the capture starts
}

CAP_PID=""
CAP_ERR=""
cap_start() {
  local file=$1 i
  rm -f "$file"
  CAP_ERR="$WORK/tcpdump.err"
  ip netns exec "$NS_C" tcpdump -i wf-c -B 16384 -U --immediate-mode -s 0 -nn -w "$file" "tcp port $PORT" 2>"$CAP_ERR" &
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

publish() {
  local f=$1
  chown "$(stat -c %u:%g "$SAMPLES_DIR")" "$f"; chmod 644 "$f"
  printf '%-36s packets=%-6s size=%s\n' "$(basename "$f")" "$(capinfos -T -c -r "$f" 2>/dev/null | cut -f2)" "$(stat -c %s "$f")"
}

# check FILE: tshark must see every request on exactly CONNECTIONS connections, PER_CONNECTION on
# each, a 200 for every one, no retransmission or lost segment (synth.mjs stretches the steady
# state and needs it clean), no packet larger than the MTU, and the file under MAX_SEED_BYTES.
check() {
  local f=$1 n c per codes bad big
  n=$(tshark -n -r "$f" -Y http.request -T fields -e tcp.stream 2>/dev/null | wc -l)
  c=$(tshark -n -r "$f" -Y 'tcp.flags.syn==1 && tcp.flags.ack==0' 2>/dev/null | wc -l)
  per=$(tshark -n -r "$f" -Y http.request -T fields -e tcp.stream 2>/dev/null | sort | uniq -c | awk '{print $1}' | sort -u | tr '\n' ' ')
  codes=$(tshark -n -r "$f" -Y http.response -T fields -e http.response.code 2>/dev/null | sort | uniq -c | tr -s ' ' | tr '\n' ';')
  bad=$(tshark -n -r "$f" -Y 'tcp.analysis.retransmission || tcp.analysis.lost_segment || tcp.analysis.out_of_order || tcp.analysis.duplicate_ack' 2>/dev/null | wc -l)
  big=$(tshark -n -r "$f" -Y 'frame.len > 1514' 2>/dev/null | wc -l)
  log "$(basename "$f"): tshark finds $n requests on $c connections (requests per connection: $per); responses: $codes; $bad retransmitted/lost/out-of-order/dup-ACK segments; $big frames over 1514 bytes"
  [ "$n" = $EXPECT_REQUESTS ] || die "$(basename "$f"): $n requests, expected $EXPECT_REQUESTS"
  [ "$c" = $CONNECTIONS ] || die "$(basename "$f"): $c connections, expected $CONNECTIONS"
  [ "$per" = "$PER_CONNECTION " ] || die "$(basename "$f"): requests per connection $per, expected $PER_CONNECTION on each"
  [ "$codes" = " $EXPECT_REQUESTS 200;" ] || die "$(basename "$f"): responses $codes, expected $EXPECT_REQUESTS x 200"
  [ "$bad" = 0 ] || die "$(basename "$f"): $bad retransmitted or lost segments"
  [ "$big" = 0 ] || die "$(basename "$f"): frames larger than the MTU (offloads still on?)"
  [ "$(stat -c %s "$f")" -lt $MAX_SEED_BYTES ] || die "$(basename "$f"): larger than $MAX_SEED_BYTES bytes"
}

main() {
  local f="$OUT/bench-seed-h1-requests.pcap"
  mkdir -p "$OUT"
  make_docroot
  ns_setup
  start_nginx

  log "h2load --h1: $EXPECT_REQUESTS requests on $CONNECTIONS keep-alive connections, one in flight each"
  cap_start "$f"
  ip netns exec "$NS_C" timeout 60 h2load --h1 -n $EXPECT_REQUESTS -c $CONNECTIONS -m 1 -t 1 \
    "http://$S_ADDR:$PORT/f1.txt" | sed -n '/^finished in/p;/^requests:/p;/^status codes:/p' >&2
  cap_stop

  check "$f"
  publish "$f"
}

main "$@"
