#!/usr/bin/env bash
# Regenerates the wirefall sample captures from real software on this machine.
#
#   samples/generate.sh                 # all scenarios
#   samples/generate.sh keepalive_pool no_pool   # a subset (function names or file stems)
#   samples/generate.sh --list          # list scenarios
#
# Needs root (tcpdump, ip netns, iptables). Debian 12 packages used: tcpdump
# tshark (capinfos, dumpcap) nginx-light nghttp2 (nghttpd nghttp h2load) curl
# nodejs (20) chromium apache2 (only for h2c_upgrade) iproute2 iptables ethtool
# openssl gzip. All traffic stays on loopback (127.0.0.1, ::1) or inside the
# network namespaces created here. Everything started here is stopped on exit,
# including on errors and Ctrl-C (trap): servers, tcpdump, namespaces (their
# iptables rules, qdiscs and veths go with them). Temp files are under /tmp/wirefall-samples.*
#
# Ground truth for every capture: samples/README.md, samples/ground-truth.json.
set -euo pipefail

SAMPLES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOOLS="$SAMPLES_DIR/tools"
OUT="${OUT:-$SAMPLES_DIR}"
mkdir -p "$OUT"
WORK="$(mktemp -d /tmp/wirefall-samples.XXXXXX)"
chmod 755 "$WORK"

PIDS=()          # background processes we started (servers, tcpdump)
NETNS=()         # network namespaces we created
NS_CLIENT=wfc
NS_SERVER=wfs
NS_ROUTER=wfr

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

cleanup() {
  local rc=$?
  set +e
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null
  done
  sleep 0.3
  for pid in "${PIDS[@]}"; do
    kill -9 "$pid" 2>/dev/null
  done
  for ns in "${NETNS[@]}"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
    ip netns del "$ns" 2>/dev/null   # also removes its iptables rules, qdisc and veth
  done
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- content ----
# Deterministic document root shared by all scenarios.
DOCROOT="$WORK/www"
make_docroot() {
  mkdir -p "$DOCROOT/assets" "$DOCROOT/big"
  local i
  for i in $(seq 1 10); do
    printf 'wirefall sample file %02d\n%s\n' "$i" "$(printf 'x%.0s' $(seq 1 $((i * 20))))" > "$DOCROOT/f$i.txt"
  done
  # text file for gzip (~60 KB, compressible)
  for i in $(seq 1 1200); do
    printf 'line %04d: the quick brown fox jumps over the lazy dog, keep-alive sample\n' "$i"
  done > "$DOCROOT/big.txt"
  # browser page: 10 css + 10 js + 10 svg images
  {
    echo '<!doctype html><html><head><meta charset="utf-8"><title>wirefall page</title>'
    for i in $(seq 1 10); do echo "<link rel=\"stylesheet\" href=\"/assets/s$i.css\">"; done
    echo '<link rel="icon" href="data:,">'
    echo '</head><body><h1>wirefall page load sample</h1>'
    for i in $(seq 1 10); do echo "<img src=\"/assets/i$i.svg\" width=\"16\" height=\"16\" alt=\"$i\">"; done
    for i in $(seq 1 10); do echo "<script src=\"/assets/j$i.js\"></script>"; done
    echo '</body></html>'
  } > "$DOCROOT/index.html"
  for i in $(seq 1 10); do
    printf '.c%d { color: #%02x%02x%02x; }\n' "$i" $((i * 20)) $((i * 10)) $((i * 5)) > "$DOCROOT/assets/s$i.css"
    printf 'window.v%d = %d;\n' "$i" "$i" > "$DOCROOT/assets/j$i.js"
    printf '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16"><rect width="16" height="16" fill="#%02x%02x%02x"/></svg>\n' $((i * 20)) 80 $((255 - i * 20)) > "$DOCROOT/assets/i$i.svg"
  done
  # larger files for HTTP/2 scenarios (deterministic, incompressible-ish)
  for i in $(seq 1 8); do
    head -c 204800 <(openssl enc -aes-128-ctr -nosalt -K 000102030405060708090a0b0c0d0e0$i -iv 00000000000000000000000000000000 </dev/zero 2>/dev/null) > "$DOCROOT/big/b$i.bin"
  done
  head -c 262144 <(openssl enc -aes-128-ctr -nosalt -K 0f0e0d0c0b0a09080706050403020100 -iv 00000000000000000000000000000000 </dev/zero 2>/dev/null) > "$DOCROOT/big/large.bin"
  find "$DOCROOT" -exec touch -d '2024-01-01 00:00:00 UTC' {} +
}

# ---------------------------------------------------------------- helpers ----
# start_nginx NAME PORT 'extra http directives' [ADDR NETNS] -> sets NGINX_PID
start_nginx() {
  local name=$1 port=$2 extra=$3 addr=${4:-127.0.0.1} ns=${5:-} prefix="$WORK/nginx-$1"
  local nsexec=()
  [ -z "$ns" ] || nsexec=(ip netns exec "$ns")
  mkdir -p "$prefix"
  sed -e "s#@PREFIX@#$prefix#g" -e "s#@LISTEN@#$addr#g" -e "s#@PORT@#$port#g" -e "s#@ROOT@#$DOCROOT#g" \
      -e "s#@HTTP_EXTRA@#$extra#g" "$TOOLS/nginx.conf.in" > "$prefix/nginx.conf"
  "${nsexec[@]}" nginx -p "$prefix" -c "$prefix/nginx.conf" -e "$prefix/error.log" &
  NGINX_PID=$!
  PIDS+=("$NGINX_PID")
  wait_port "$addr" "$port" "$ns"
}

# start_bg CMD... -> sets BG_PID (generic background server)
start_bg() {
  "$@" &
  BG_PID=$!
  PIDS+=("$BG_PID")
}

stop_pid() {
  local pid=$1
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# wait_port HOST PORT [NETNS]
wait_port() {
  local host=$1 port=$2 ns=${3:-} i
  host=${host#[}; host=${host%]}
  for i in $(seq 1 50); do
    if [ -n "$ns" ]; then
      ip netns exec "$ns" bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null && return 0
    else
      (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null && return 0
    fi
    sleep 0.1
  done
  log "port $host:$port did not open"; return 1
}

# cap_start FILE IFACE FILTER [NETNS] -> sets CAP_PID. Writes pcap to FILE with
# tcpdump, or pcapng with dumpcap when FILE ends in .pcapng.
cap_start() {
  local file=$1 iface=$2 filter=$3 ns=${4:-} errf="$WORK/tcpdump.$$.$RANDOM.err" i
  rm -f "$file"
  if [ "${file%.pcapng}" != "$file" ]; then
    dumpcap -n -B 16 -i "$iface" -s 0 -f "$filter" -w "$file" 2>"$errf" &
  elif [ -n "$ns" ]; then
    ip netns exec "$ns" tcpdump -i "$iface" -B 16384 -U --immediate-mode -s 0 -nn -w "$file" "$filter" 2>"$errf" &
  else
    tcpdump -i "$iface" -B 16384 -U --immediate-mode -s 0 -nn -w "$file" "$filter" 2>"$errf" &
  fi
  CAP_PID=$!
  CAP_ERR=$errf
  PIDS+=("$CAP_PID")
  for i in $(seq 1 50); do
    grep -qE 'listening on|Capturing on' "$errf" 2>/dev/null && break
    sleep 0.1
  done
  sleep 0.3
}

# (a larger -B buffer matters: with the default one "-i any" lost packets here)
cap_stop() {
  sleep 0.5
  kill -INT "$CAP_PID" 2>/dev/null || true
  wait "$CAP_PID" 2>/dev/null || true
  if grep -Eq '^[1-9][0-9]* packets dropped by kernel|dropped on interface [^:]*: [0-9]+/[1-9]' "$CAP_ERR"; then
    log "WARNING: capture dropped packets:"; cat "$CAP_ERR" >&2
  fi
}

# drop the pcap timestamps' dependence on... nothing; just report
report() {
  local f=$1
  chown "$(stat -c %u:%g "$SAMPLES_DIR")" "$f"; chmod 644 "$f"
  printf '%-40s packets=%-6s size=%s\n' "$(basename "$f")" \
    "$(capinfos -T -c -r "$f" 2>/dev/null | cut -f2)" \
    "$(stat -c %s "$f")"
}

# clean up the per-scenario nginx/servers between scenarios
stop_all_servers() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  PIDS=()
}

# -------------------------------------------------------------- scenarios ----
URLS10() { local p=$1 i; for i in $(seq 1 10); do printf 'http://127.0.0.1:%s/f%d.txt ' "$p" "$i"; done; }

CURL=(curl -sS --max-time 10 --noproxy '*')
# curl_multi URL... : one curl process, all URLs (curl reuses its connection)
curl_multi() { local a=() u; for u in "$@"; do a+=(-o /dev/null "$u"); done; "${CURL[@]}" "${a[@]}"; }

# A1: one curl invocation, 10 URLs, one pooled keep-alive connection.
scenario_keepalive_pool() {
  local port=18101 f="$OUT/keepalive-pool.pcap"
  start_nginx ka-pool $port 'keepalive_timeout 60s;'
  cap_start "$f" lo "tcp port $port"
  # shellcheck disable=SC2046
  curl_multi $(URLS10 $port)
  cap_stop
  stop_all_servers
  report "$f"
}

# A2: ten curl invocations -> ten connections, one request each.
scenario_no_pool() {
  local port=18102 f="$OUT/no-pool.pcap" u
  start_nginx no-pool $port 'keepalive_timeout 60s;'
  cap_start "$f" lo "tcp port $port"
  for u in $(URLS10 $port); do "${CURL[@]}" -o /dev/null "$u"; done
  cap_stop
  stop_all_servers
  report "$f"
}

# A3: keepalive_timeout 0 -> server answers "Connection: close"; curl reconnects.
scenario_server_connection_close() {
  local port=18103 f="$OUT/server-connection-close.pcap"
  start_nginx conn-close $port 'keepalive_timeout 0;'
  cap_start "$f" lo "tcp port $port"
  curl_multi http://127.0.0.1:$port/f{1,2,3,4,5}.txt
  cap_stop
  stop_all_servers
  report "$f"
}

# A4: keepalive_timeout 2s; node keep-alive agent: request, 3 s idle, request.
scenario_idle_timeout() {
  local port=18104 f="$OUT/idle-timeout.pcap"
  start_nginx idle $port 'keepalive_timeout 2s;'
  cap_start "$f" lo "tcp port $port"
  node "$TOOLS/http-seq.mjs" $port keepalive /f1.txt +3000 /f2.txt
  cap_stop
  stop_all_servers
  report "$f"
}

# B1: HTTP/1.0 client asking for keep-alive; nginx answers "Connection: keep-alive".
scenario_http10_keepalive() {
  local port=18105 f="$OUT/http10-keepalive.pcap"
  start_nginx http10-ka $port 'keepalive_timeout 60s;'
  cap_start "$f" lo "tcp port $port"
  CURL+=(-0 -H 'Connection: Keep-Alive')
  curl_multi http://127.0.0.1:$port/f{1,2,3,4}.txt
  CURL=("${CURL[@]:0:${#CURL[@]}-3}")
  cap_stop
  stop_all_servers
  report "$f"
}

# B2: plain HTTP/1.0 (no keep-alive): nginx closes after every response.
# Captured on "any" -> Linux cooked capture (SLL2) link type.
scenario_http10_close() {
  local port=18106 f="$OUT/http10-close.pcap"
  start_nginx http10-close $port 'keepalive_timeout 60s;'
  cap_start "$f" any "tcp port $port"
  CURL+=(-0)
  curl_multi http://127.0.0.1:$port/f{1,2,3,4}.txt
  unset 'CURL[${#CURL[@]}-1]'
  cap_stop
  stop_all_servers
  report "$f"
}

# B3: keepalive_timeout 5s 5 (adds "Keep-Alive: timeout=5") + keepalive_requests 3;
# node keep-alive agent sends 7 sequential requests. pcapng written by dumpcap.
scenario_keepalive_timeout_max() {
  local port=18107 f="$OUT/keepalive-timeout-max.pcapng"
  start_nginx ka-max $port 'keepalive_timeout 5s 5; keepalive_requests 3;'
  cap_start "$f" lo "tcp port $port"
  node "$TOOLS/http-seq.mjs" $port keepalive /f1.txt /f2.txt /f3.txt /f4.txt /f5.txt /f6.txt /f7.txt
  cap_stop
  stop_all_servers
  report "$f"
}

# B4: nginx gzip (Content-Encoding: gzip, chunked) + node chunked response with trailer.
scenario_chunked_gzip() {
  local port=18108 port2=18109 f="$OUT/chunked-gzip.pcap"
  start_nginx gzip $port 'gzip on; gzip_min_length 1; gzip_types text/plain text/css application/javascript;'
  start_bg node "$TOOLS/chunked-trailer-server.mjs" $port2
  wait_port 127.0.0.1 $port2
  cap_start "$f" lo "tcp port $port or tcp port $port2"
  CURL+=(--compressed)
  curl_multi http://127.0.0.1:$port/big.txt http://127.0.0.1:$port/f5.txt
  unset 'CURL[${#CURL[@]}-1]'
  "${CURL[@]}" -H 'TE: trailers' -o /dev/null http://127.0.0.1:$port2/stream
  cap_stop
  stop_all_servers
  report "$f"
}

# B5: curl POST (4 KiB body) with Expect: 100-continue to a node server.
scenario_expect_100_continue() {
  local port=18110 f="$OUT/expect-100-continue.pcap"
  start_bg node "$TOOLS/expect-server.mjs" $port
  wait_port 127.0.0.1 $port
  head -c 4096 /dev/zero | tr '\0' 'a' > "$WORK/post.bin"
  cap_start "$f" lo "tcp port $port"
  "${CURL[@]}" -o /dev/null -H 'Expect: 100-continue' -H 'Content-Type: application/octet-stream' \
    --data-binary @"$WORK/post.bin" http://127.0.0.1:$port/upload
  cap_stop
  stop_all_servers
  report "$f"
}

# B6: HTTP/1.1 response without Content-Length / chunked, body ends at server FIN.
scenario_close_delimited() {
  local port=18111 f="$OUT/close-delimited.pcap"
  start_bg node "$TOOLS/close-delimited-server.mjs" $port
  wait_port 127.0.0.1 $port
  cap_start "$f" lo "tcp port $port"
  "${CURL[@]}" -o /dev/null http://127.0.0.1:$port/doc
  cap_stop
  stop_all_servers
  report "$f"
}

# B7: three pipelined GETs in one write; first is slow (500 ms).
scenario_pipelining() {
  local port=18112 f="$OUT/pipelining.pcap"
  start_bg node "$TOOLS/pipeline-server.mjs" $port
  wait_port 127.0.0.1 $port
  cap_start "$f" lo "tcp port $port"
  node "$TOOLS/pipeline-client.mjs" $port
  cap_stop
  stop_all_servers
  report "$f"
}

# B8: headless Chromium loads a page with 30 sub-resources from nginx.
# Written gzip-compressed (.pcap.gz).
scenario_browser_pageload() {
  local port=18113 f="$OUT/browser-pageload.pcap" prof
  start_nginx browser $port 'keepalive_timeout 60s;'
  prof="$WORK/chromium-profile"; mkdir -p "$prof"
  cap_start "$f" lo "tcp port $port"
  timeout 30 /usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --disable-extensions \
    --disable-default-apps --no-default-browser-check --no-proxy-server \
    --user-data-dir="$prof" --dump-dom "http://127.0.0.1:$port/" > "$WORK/dom.html" 2>"$WORK/chromium.err" || true
  cap_stop
  stop_all_servers
  rm -f "$f.gz"; gzip -n -9 "$f"
  report "$f.gz"
}

# C1: HTTP/1.0 keep-alive through a blind relay. Client -> relay :18114 -> nginx :18115.
# The second request on the client connection is swallowed by the relay; the client
# connection only closes when nginx's keepalive_timeout (4s) closes the origin leg.
scenario_blind_relay() {
  local port=18114 oport=18115 f="$OUT/blind-relay.pcap"
  start_nginx relay-origin $oport 'keepalive_timeout 4s;'
  start_bg node "$TOOLS/naive-relay.mjs" $port 127.0.0.1 $oport
  wait_port 127.0.0.1 $port
  cap_start "$f" lo "tcp port $port or tcp port $oport"
  node "$TOOLS/relay-client.mjs" $port
  cap_stop
  stop_all_servers
  report "$f"
}

# C2: stale keep-alive race. nginx keepalive_timeout 1s; node keep-alive agent waits
# GAP ms between two requests. Gaps just under 1 s are tried (each attempt captured
# separately) until the second request goes out on the connection nginx is closing,
# gets RST and is retried by the client on a new connection. Attempts are bounded;
# if the natural race never happens, the client blocks its event loop across the
# server's close (gap 900 ms + 200 ms busy) which makes the race deterministic.
scenario_stale_race() {
  local port=18116 f="$OUT/stale-race.pcap" tmpf="$WORK/stale-race-try.pcap" gap try out ok=0
  start_nginx stale $port 'keepalive_timeout 1s;'
  for try in $(seq 1 24); do
    gap=$(( (try - 1) % 4 )); gap=$(( 997 - (gap % 2 == 0 ? gap / 2 : -(gap + 1) / 2) ))  # 997 996 998 995 ...
    [ "$try" -le 20 ] || gap=busy
    cap_start "$tmpf" lo "tcp port $port"
    if [ "$gap" = busy ]; then
      out=$(node "$TOOLS/stale-race-client.mjs" $port 900 200 2>&1 || true)
    else
      out=$(node "$TOOLS/stale-race-client.mjs" $port "$gap" 2>&1 || true)
    fi
    cap_stop
    if grep -q 'attempt 2 -> 200' <<<"$out" && \
       [ "$(tshark -r "$tmpf" -Y 'tcp.stream==0 && tcp.flags.reset==1 && tcp.srcport=='$port 2>/dev/null | wc -l)" -gt 0 ]; then
      log "stale race reproduced on try $try (gap=$gap):"; printf '%s\n' "$out" >&2
      ok=1; break
    fi
  done
  stop_all_servers
  [ $ok = 1 ] || { log "stale race NOT reproduced"; return 1; }
  mv "$tmpf" "$f"
  report "$f"
}

# C3: node:http without / with a keep-alive agent, 5 sequential requests each.
scenario_no_pool_node_fetch() {
  local port=18117 f="$OUT/no-pool-node-fetch.pcap"
  start_nginx node-nopool $port 'keepalive_timeout 60s;'
  cap_start "$f" lo "tcp port $port"
  node "$TOOLS/http-seq.mjs" $port nokeepalive /f1.txt /f2.txt /f3.txt /f4.txt /f5.txt
  cap_stop
  stop_all_servers
  report "$f"
}
scenario_pool_node_fetch() {
  local port=18118 f="$OUT/pool-node-fetch.pcap"
  start_nginx node-pool $port 'keepalive_timeout 60s;'
  cap_start "$f" lo "tcp port $port"
  node "$TOOLS/http-seq.mjs" $port keepalive /f1.txt /f2.txt /f3.txt /f4.txt /f5.txt
  cap_stop
  stop_all_servers
  report "$f"
}

# ------------------------------------------------------------ HTTP/2 (h2c) ----
# start_nghttpd PORT [extra nghttpd options...]  (cleartext, serves $DOCROOT)
start_nghttpd() {
  local port=$1; shift
  start_bg nghttpd --no-tls -a 127.0.0.1 -d "$DOCROOT" "$@" "$port"
  wait_port 127.0.0.1 "$port"
}

# D1: nghttp with prior knowledge, page + 30 assets (-a) as concurrent streams.
scenario_h2c_prior_knowledge() {
  local port=18120 f="$OUT/h2c-prior-knowledge.pcap"
  start_nghttpd $port
  cap_start "$f" lo "tcp port $port"
  timeout 20 nghttp -n -a -s "http://127.0.0.1:$port/index.html" >&2
  cap_stop
  stop_all_servers
  report "$f"
}

# D2: curl --http2 on cleartext: HTTP/1.1 Upgrade: h2c, then h2 on the same connection.
# nghttpd has no h2c upgrade support, so the server is Apache httpd + mod_http2.
scenario_h2c_upgrade() {
  local port=18121 f="$OUT/h2c-upgrade.pcap" prefix="$WORK/apache-h2c"
  mkdir -p "$prefix"
  sed -e "s#@PREFIX@#$prefix#g" -e "s#@PORT@#$port#g" -e "s#@ROOT@#$DOCROOT#g" \
      "$TOOLS/apache-h2c.conf.in" > "$prefix/httpd.conf"
  start_bg /usr/sbin/apache2 -f "$prefix/httpd.conf" -DFOREGROUND
  wait_port 127.0.0.1 $port
  cap_start "$f" lo "tcp port $port"
  CURL+=(--http2)
  curl_multi http://127.0.0.1:$port/f1.txt http://127.0.0.1:$port/f2.txt http://127.0.0.1:$port/f3.txt
  unset 'CURL[${#CURL[@]}-1]'
  cap_stop
  stop_all_servers
  report "$f"
}

# D3: nghttpd pushes the page's css/js when /index.html is requested.
scenario_h2_push() {
  local port=18122 f="$OUT/h2-push.pcap"
  start_nghttpd $port -p /index.html=/assets/s1.css,/assets/s2.css,/assets/j1.js
  cap_start "$f" lo "tcp port $port"
  timeout 20 nghttp -n -s "http://127.0.0.1:$port/index.html" >&2
  cap_stop
  stop_all_servers
  report "$f"
}

# D3b: node:http2 pushes three assets with the page; the client cancels one promise
# (RST_STREAM CANCEL) and never gets an answer to another (tools/h2-push-cancel.mjs).
scenario_h2_push_cancel() {
  local port=18124 f="$OUT/h2-push-cancel.pcap"
  start_bg node "$TOOLS/h2-push-cancel.mjs" server 127.0.0.1 $port
  wait_port 127.0.0.1 $port
  cap_start "$f" lo "tcp port $port"
  timeout 20 node "$TOOLS/h2-push-cancel.mjs" client 127.0.0.1 $port >&2
  cap_stop
  stop_all_servers
  report "$f"
}

# D4: client advertises tiny windows (-w 10 -W 10 -> 2^10-1 = 1023 bytes) and downloads
# 256 KiB: the server stalls on flow control until each WINDOW_UPDATE.
scenario_h2_flow_control() {
  local port=18123 f="$OUT/h2-flow-control.pcap"
  start_nghttpd $port
  cap_start "$f" lo "tcp port $port"
  timeout 30 nghttp -n -s -w 10 -W 10 "http://127.0.0.1:$port/big/large.bin" >&2
  cap_stop
  stop_all_servers
  report "$f"
}

# D6: h2load: 200 requests over 2 connections, 10 concurrent streams each.
scenario_h2load() {
  local port=18125 f="$OUT/h2load.pcap"
  start_nghttpd $port
  cap_start "$f" lo "tcp port $port"
  timeout 30 h2load -n 200 -c 2 -m 10 "http://127.0.0.1:$port/f1.txt" >&2
  cap_stop
  stop_all_servers
  report "$f"
}

# ------------------------------------------------- namespaces (veth, loss) ----
# wfc (client, 10.77.0.1) <-veth-> wfr (router, 10.77.0.2 | 10.77.0.5) <-veth-> wfs (server, 10.77.0.6)
# Offloads are switched off everywhere so every captured segment is a real
# MTU-sized packet. The router shapes server->client traffic with tbf (40 Mbit/s;
# this kernel has no netem, so no artificial delay). LOSS_EVERY=N makes the router
# drop every Nth full-size TCP segment travelling server->client (iptables
# "statistic --mode nth" in wfr FORWARD): deterministic positions, ~1/N loss.
# Loss has to happen in a router: drops in the sender's own OUTPUT chain are
# reported back to its TCP stack and re-sent locally, never showing on the wire.
NS_C_ADDR=10.77.0.1
NS_S_ADDR=10.77.0.6
ns_setup() {
  local loss_every=${1:-0} ns dev
  ns_teardown
  for ns in $NS_CLIENT $NS_ROUTER $NS_SERVER; do ip netns add $ns; NETNS+=($ns); ip -n $ns link set lo up; done
  ip link add wf-c netns $NS_CLIENT type veth peer name wf-rc netns $NS_ROUTER
  ip link add wf-s netns $NS_SERVER type veth peer name wf-rs netns $NS_ROUTER
  ip -n $NS_CLIENT addr add $NS_C_ADDR/30 dev wf-c
  ip -n $NS_ROUTER addr add 10.77.0.2/30 dev wf-rc
  ip -n $NS_ROUTER addr add 10.77.0.5/30 dev wf-rs
  ip -n $NS_SERVER addr add $NS_S_ADDR/30 dev wf-s
  for ns_dev in $NS_CLIENT:wf-c $NS_ROUTER:wf-rc $NS_ROUTER:wf-rs $NS_SERVER:wf-s; do
    ns=${ns_dev%%:*}; dev=${ns_dev#*:}
    ip -n "$ns" link set "$dev" up
    ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off >/dev/null 2>&1 || true
  done
  ip -n $NS_CLIENT route add default via 10.77.0.2
  ip -n $NS_SERVER route add default via 10.77.0.5
  ip netns exec $NS_ROUTER sysctl -q -w net.ipv4.ip_forward=1
  tc -n $NS_ROUTER qdisc add dev wf-rc root tbf rate 40mbit burst 32kb latency 100ms
  if [ "$loss_every" -gt 0 ]; then
    ip netns exec $NS_ROUTER iptables -A FORWARD -i wf-rs -o wf-rc -p tcp -m length --length 1000:65535 \
      -m statistic --mode nth --every "$loss_every" --packet 0 -j DROP
  fi
}
ns_drops() {  # packets dropped by the loss rule so far
  ip netns exec $NS_ROUTER iptables -L FORWARD -v -n -x 2>/dev/null | awk '/DROP/{n+=$1} END{print n+0}'
}
ns_teardown() {
  local ns
  for ns in $NS_CLIENT $NS_ROUTER $NS_SERVER; do
    if ip netns list | grep -qw "$ns"; then
      ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
      sleep 0.2
      ip netns del "$ns" 2>/dev/null || true   # iptables rules, qdisc and veths go with it
    fi
  done
  NETNS=()
}

BIG8() { local i; for i in $(seq 1 8); do printf 'http://%s:%s/big/b%d.bin ' "$NS_S_ADDR" "$1" "$i"; done; }

# D7/D8: 8 x 200 KB over ONE h2 connection, with and without loss (captured in wfc).
h2_ns_scenario() {
  local f=$1 loss_every=$2 port=8080
  ns_setup "$loss_every"
  start_bg ip netns exec $NS_SERVER nghttpd --no-tls -a $NS_S_ADDR -d "$DOCROOT" $port
  wait_port $NS_S_ADDR $port $NS_CLIENT
  cap_start "$f" wf-c "tcp port $port" $NS_CLIENT
  # shellcheck disable=SC2046
  ip netns exec $NS_CLIENT timeout 60 nghttp -n -s $(BIG8 $port) >&2
  cap_stop
  log "loss rule dropped $(ns_drops) packets"
  stop_all_servers
  ns_teardown
  report "$f"
}
scenario_h2_loss_hol() { h2_ns_scenario "$OUT/h2-loss-hol.pcap" 30; }
scenario_h2_clean()    { h2_ns_scenario "$OUT/h2-clean.pcap" 0; }

# D5: two nghttp processes to the same origin, the second starting while the first
# connection is still transferring (4 x 200 KB through the 40 Mbit/s router: ~0.17 s).
scenario_h2_two_connections() {
  local f="$OUT/h2-two-connections.pcap" port=8080 p1
  ns_setup 0
  start_bg ip netns exec $NS_SERVER nghttpd --no-tls -a $NS_S_ADDR -d "$DOCROOT" $port
  wait_port $NS_S_ADDR $port $NS_CLIENT
  cap_start "$f" wf-c "tcp port $port" $NS_CLIENT
  ip netns exec $NS_CLIENT timeout 60 nghttp -n http://$NS_S_ADDR:$port/big/b{1,2,3,4}.bin &
  p1=$!
  sleep 0.05
  ip netns exec $NS_CLIENT timeout 60 nghttp -n http://$NS_S_ADDR:$port/f1.txt http://$NS_S_ADDR:$port/f2.txt
  wait $p1
  cap_stop
  log "loss rule dropped $(ns_drops) packets"
  stop_all_servers
  ns_teardown
  report "$f"
}

# Optional: HTTP/1.1 keep-alive download (curl, one connection) with the same loss.
scenario_tcp_loss_http1() {
  local f="$OUT/tcp-loss-http1.pcap" port=8081
  ns_setup 30
  start_nginx ns-http1 $port 'keepalive_timeout 60s;' $NS_S_ADDR $NS_SERVER
  cap_start "$f" wf-c "tcp port $port" $NS_CLIENT
  # shellcheck disable=SC2046
  ip netns exec $NS_CLIENT bash -c "$(declare -p CURL); $(declare -f curl_multi); curl_multi \$@" _ \
    http://$NS_S_ADDR:$port/big/b1.bin http://$NS_S_ADDR:$port/big/b2.bin http://$NS_S_ADDR:$port/big/b3.bin http://$NS_S_ADDR:$port/big/b4.bin
  cap_stop
  log "loss rule dropped $(ns_drops) packets"
  stop_all_servers
  ns_teardown
  report "$f"
}

# Extra: the keep-alive pool over IPv6 loopback (reader coverage for IPv6).
scenario_ipv6_keepalive() {
  local port=18130 f="$OUT/ipv6-keepalive.pcap"
  start_nginx ipv6 $port 'keepalive_timeout 60s;' '[::1]'
  cap_start "$f" lo "tcp port $port"
  CURL+=(-g)
  curl_multi "http://[::1]:$port/f1.txt" "http://[::1]:$port/f2.txt" "http://[::1]:$port/f3.txt"
  unset 'CURL[${#CURL[@]}-1]'
  cap_stop
  stop_all_servers
  report "$f"
}

# Benchmark seed (test/bench/synth.mjs replays it into a >= 500 MB capture): HTTP/1.1
# keep-alive over the namespace path (MTU 1500, no loss), small and 200 KB bodies mixed, on
# two connections.
scenario_bench_seed_http1() {
  local f="$OUT/bench-seed-http1.pcap" port=8090 u=() i
  ns_setup 0
  start_nginx ns-bench $port 'keepalive_timeout 60s; keepalive_requests 1000;' $NS_S_ADDR $NS_SERVER
  cap_start "$f" wf-c "tcp port $port" $NS_CLIENT
  for i in 1 2 3 4 5 6 7 8 9 10; do u+=("http://$NS_S_ADDR:$port/f$i.txt"); done
  for i in 1 2 3 4; do u+=("http://$NS_S_ADDR:$port/big/b$i.bin"); done
  # shellcheck disable=SC2046
  ip netns exec $NS_CLIENT bash -c "$(declare -p CURL); $(declare -f curl_multi); curl_multi \$@" _ "${u[@]}"
  ip netns exec $NS_CLIENT bash -c "$(declare -p CURL); $(declare -f curl_multi); curl_multi \$@" _ \
    http://$NS_S_ADDR:$port/f3.txt http://$NS_S_ADDR:$port/big/b5.bin http://$NS_S_ADDR:$port/f4.txt
  cap_stop
  stop_all_servers
  ns_teardown
  report "$f"
}

# -------------------------------------------------------------------- main ----
ALL_SCENARIOS=(
  keepalive_pool no_pool server_connection_close idle_timeout
  http10_keepalive http10_close keepalive_timeout_max chunked_gzip expect_100_continue
  close_delimited pipelining browser_pageload
  blind_relay stale_race no_pool_node_fetch pool_node_fetch
  h2c_prior_knowledge h2c_upgrade h2_push h2_push_cancel h2_flow_control h2load
  h2_two_connections h2_loss_hol h2_clean tcp_loss_http1 ipv6_keepalive bench_seed_http1
)

main() {
  if [ "${1:-}" = "--list" ]; then printf '%s\n' "${ALL_SCENARIOS[@]}"; return 0; fi
  [ "$(id -u)" = 0 ] || { echo "must run as root (tcpdump, netns, iptables)" >&2; exit 1; }
  local todo=("$@") s
  [ ${#todo[@]} -gt 0 ] || todo=("${ALL_SCENARIOS[@]}")
  make_docroot
  for s in "${todo[@]}"; do
    s=${s%.pcap.gz}; s=${s%.pcapng}; s=${s%.pcap}; s=${s//-/_}
    declare -F "scenario_$s" >/dev/null || { echo "unknown scenario: $s (try --list)" >&2; exit 2; }
    log "scenario $s"
    "scenario_$s"
  done
}

main "$@"
