#!/usr/bin/env bash
# Regenerates the paired captures in samples/whatif/ (issue 16: the what-if estimate and
# `wirefall diff BEFORE AFTER`): the same client loop without and with connection reuse, made by
# real software over a real round trip, each with the TLS key log its client wrote.
#
#   sudo samples/generate-whatif.sh                 # all pairs
#   sudo samples/generate-whatif.sh requests_pair   # a subset (function names)
#   samples/generate-whatif.sh --list
#   OUT=/tmp/x sudo -E samples/generate-whatif.sh   # write to /tmp/x/whatif instead
#
# Needs root (tcpdump, ip netns). Borrows generate-tls.sh's helpers (make_pki, start_tls_nginx,
# tls_publish), which borrow generate.sh's (make_docroot, cap_start, cap_stop, stop_all_servers,
# log, the cleanup trap) and findings.sh's delaying cable (ff_setup, ff_cap, ff_teardown: a
# user-space relay between two network namespaces; this kernel has no netem). None of those files
# is modified: each is sourced without its `main` call. The namespaces get their own names
# (wfwc, wfws) so that a findings.sh run at the same time does not tear them down. All traffic
# stays inside the two namespaces and their cable (10.99.0.1 <-> 10.99.0.2). Ports: 18600-18650.
#
# Pairs (BEFORE: a connection per request; AFTER: one kept-alive connection), N = 50 GETs of
# /f1.txt../f10.txt in turn, no think time, nginx (TLS 1.3, HTTP/1.1, keepalive_timeout 60s,
# keepalive_requests 1000) over the cable with FF_DELAY_MS = 20 ms each way (RTT ≈ 40 ms):
#   requests-get-50.pcap/.keys      python3-requests: requests.get(url) ×50 (a new Session each,
#                                   closed with its connection before the next one opens)
#   requests-session-50.pcap/.keys  python3-requests: one requests.Session, .get(url) ×50
#   node-https-new-50.pcap/.keys    Node.js https.get(url, { agent: false }) ×50
#   node-https-keepalive-50.pcap/.keys  Node.js, one https.Agent({ keepAlive: true, maxSockets: 1 })
#   curl-per-process-20.pcap/.keys  20 curl processes, one URL each (N = 20: a process per request)
#   curl-one-process-20.pcap/.keys  one curl process, the same 20 URLs
#   idle-timeout-1s.pcap/.keys      Node.js keep-alive agent, 5 GETs 1.5 s apart; nginx
#                                   keepalive_timeout 1s closes the idle connection each time
#   idle-timeout-10s.pcap/.keys     the same client; keepalive_timeout 10s: one connection
# The Python client is samples/tools/requests-loop.py run by /usr/bin/python3 (Debian 12's
# python3-requests 2.28 and urllib3 1.26, not a python3 earlier on PATH); urllib3 writes
# $SSLKEYLOGFILE. The clients connect to the address 10.99.0.2 (in the leaf certificate's subjectAltName; Python sends no SNI for an
# address). The Node.js client is samples/tools/https-loop.mjs (it appends each socket's 'keylog'
# lines to $SSLKEYLOGFILE); curl writes $SSLKEYLOGFILE itself. Each pair uses one port, so that
# both captures name the same origin (the idle-timeout pair restarts nginx on it with the other
# timeout). Captured in the client namespace on the cable's TAP (the client's view).
set -euo pipefail

WHATIF_SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
WHATIF_SCENARIOS=(requests_pair node_pair curl_pair idle_timeout_pair)
if [ "${1:-}" = "--list" ]; then printf '%s\n' "${WHATIF_SCENARIOS[@]}"; exit 0; fi

# Borrow generate-tls.sh (which sources generate.sh and findings.sh) without its trap and main.
# shellcheck disable=SC1090
source <(sed -e '/^main "\$@"$/d' -e '/^\[ "\${1:-}" = "--list" \] || trap/d' \
  -e "s#^TLS_DIR_SELF=.*#TLS_DIR_SELF='$WHATIF_SELF'#" "$WHATIF_SELF/generate-tls.sh")
FF_NS_C=wfwc
FF_NS_S=wfws
FF_DELAY_MS=${WHATIF_DELAY_MS:-20}
WHATIF_OUT="$OUT/whatif"
mkdir -p "$WHATIF_OUT"
N=${WHATIF_N:-50}

# whatif_capture STEM CMD...: capture the client namespace's TAP while CMD runs there with
# SSLKEYLOGFILE set; publish STEM.pcap and STEM.keys.
whatif_capture() {
  local stem=$1 f="$WHATIF_OUT/$1.pcap" k="$WORK/$1.keys" t0
  shift
  rm -f "$f" "$WHATIF_OUT/$stem.keys"
  : > "$k"; chmod 666 "$k"
  ff_cap "$f" "tcp port $WHATIF_PORT"
  t0=$(date +%s.%N)
  ip netns exec $FF_NS_C env SSLKEYLOGFILE="$k" timeout 60 "$@"
  log "$stem: the client ran $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }') s"
  cap_stop
  cp "$k" "$WHATIF_OUT/$stem.keys"
  tls_publish "$f" "$WHATIF_OUT/$stem.keys"
}

# requests.get ×N vs one requests.Session ×N, HTTPS, one nginx for both captures.
scenario_requests_pair() {
  WHATIF_PORT=18601
  ff_setup
  start_tls_nginx whatif-requests $WHATIF_PORT 'ssl_protocols TLSv1.3;' '' 'keepalive_timeout 60s; keepalive_requests 1000;' $FF_S $FF_NS_S
  sleep 0.5
  whatif_capture requests-get-$N /usr/bin/python3 "$TOOLS/requests-loop.py" get "https://$FF_S:$WHATIF_PORT" "$N" "$PKI/ca.crt"
  sleep 0.5
  whatif_capture requests-session-$N /usr/bin/python3 "$TOOLS/requests-loop.py" session "https://$FF_S:$WHATIF_PORT" "$N" "$PKI/ca.crt"
  stop_all_servers
  ff_teardown
}

# https.get with agent: false ×N vs one keep-alive https.Agent ×N.
scenario_node_pair() {
  WHATIF_PORT=18602
  ff_setup
  start_tls_nginx whatif-node $WHATIF_PORT 'ssl_protocols TLSv1.3;' '' 'keepalive_timeout 60s; keepalive_requests 1000;' $FF_S $FF_NS_S
  sleep 0.5
  whatif_capture node-https-new-$N node "$TOOLS/https-loop.mjs" new "https://$FF_S:$WHATIF_PORT" "$N" "$PKI/ca.crt"
  sleep 0.5
  whatif_capture node-https-keepalive-$N node "$TOOLS/https-loop.mjs" keepalive "https://$FF_S:$WHATIF_PORT" "$N" "$PKI/ca.crt"
  stop_all_servers
  ff_teardown
}

# A curl process per URL vs one curl process for all of them (20 URLs: a process start per
# request is think time the what-if estimate cannot remove, and says so).
scenario_curl_pair() {
  local n=20 i urls=()
  WHATIF_PORT=18603
  for i in $(seq 0 $((n - 1))); do urls+=("https://$FF_S:$WHATIF_PORT/f$((i % 10 + 1)).txt"); done
  ff_setup
  start_tls_nginx whatif-curl $WHATIF_PORT 'ssl_protocols TLSv1.3;' '' 'keepalive_timeout 60s; keepalive_requests 1000;' $FF_S $FF_NS_S
  sleep 0.5
  whatif_capture curl-per-process-$n bash -c "$(declare -f tcurl); PKI='$PKI'; for u in ${urls[*]}; do tcurl $WHATIF_PORT -- --http1.1 -o /dev/null \$u; done"
  sleep 0.5
  whatif_capture curl-one-process-$n bash -c "$(declare -f tcurl each_to_null); PKI='$PKI'; mapfile -t a < <(each_to_null ${urls[*]}); tcurl $WHATIF_PORT -- --http1.1 \"\${a[@]}\""
  stop_all_servers
  ff_teardown
}

# The same keep-alive client (5 GETs, 1.5 s apart) against nginx with keepalive_timeout 1s, then
# 10s, on the same port.
scenario_idle_timeout_pair() {
  local t
  WHATIF_PORT=18604
  ff_setup
  for t in 1 10; do
    start_tls_nginx whatif-idle-$t $WHATIF_PORT 'ssl_protocols TLSv1.3;' '' "keepalive_timeout ${t}s;" $FF_S $FF_NS_S
    sleep 0.5
    whatif_capture idle-timeout-${t}s node "$TOOLS/https-loop.mjs" keepalive "https://$FF_S:$WHATIF_PORT" 5 "$PKI/ca.crt" 1500
    stop_all_servers
  done
  ff_teardown
}

main() {
  [ "$(id -u)" = 0 ] || { echo "must run as root (tcpdump, netns)" >&2; exit 1; }
  local todo=("$@") s
  [ ${#todo[@]} -gt 0 ] || todo=("${WHATIF_SCENARIOS[@]}")
  make_docroot
  make_pki
  for s in "${todo[@]}"; do
    s=${s//-/_}
    declare -F "scenario_$s" >/dev/null || { echo "unknown scenario: $s (try --list)" >&2; exit 2; }
    log "scenario $s"
    "scenario_$s"
  done
}

# (set +e first: under errexit, "(exit $rc)" with rc != 0 would end the trap before cleanup)
trap 'rc=$?; set +e; ff_teardown 2>/dev/null; (exit $rc); cleanup' EXIT
main "$@"
