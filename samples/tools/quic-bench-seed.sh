#!/usr/bin/env bash
# Makes the QUIC / HTTP/3 benchmark seed (test/bench/quic-synth.mjs replays it into a >= 100 MB
# capture, part `quic` of `npm run bench`):
#
#   samples/bench-seed-quic.pcap   ngtcp2's gtlsclient -> gtlsserver, QUIC v1, TLS_AES_128_GCM_SHA256,
#                                  HTTP/3: two connections, each with the same 24 GETs (16 small
#                                  files, 8 bodies of 100 KB), requests in flight concurrently
#   samples/bench-seed-quic.keys   the client's key log (SSLKEYLOGFILE)
#
#   sudo samples/tools/quic-bench-seed.sh            # writes to samples/
#   OUT=/tmp/x sudo -E samples/tools/quic-bench-seed.sh
#
# Built like tls-bench-seed.sh: one veth pair between two network namespaces made here (client
# 10.79.0.1 <-> server 10.79.0.2, MTU 1500, segmentation and receive offloads off so every captured
# datagram is a wire-size one; the server also runs with --max-gso-dgrams=1), 40 Mbit/s
# server->client, captured on the client's end with `tcpdump -U --immediate-mode -s 0`. No traffic
# leaves the namespaces. AES-128-GCM only (the replay re-encrypts packets: see quic-synth.mjs).
#
# Needs root. Debian 12 packages: ngtcp2-server ngtcp2-client (gtlsserver, gtlsclient), openssl,
# tcpdump, tshark (the checks at the end), iproute2 (ip, tc), ethtool. Everything started here is
# stopped on exit, on errors and on Ctrl-C: the servers, tcpdump, the namespaces, the work
# directory /tmp/wirefall-quicbench.*.
set -euo pipefail

SAMPLES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${OUT:-$SAMPLES_DIR}"
NS_C="wfquicbench-c-$$"
NS_S="wfquicbench-s-$$"
C_ADDR=10.79.0.1
S_ADDR=10.79.0.2
HOST=bench.wirefall.test
PORT=4433
CONNECTIONS=2
PER_CONNECTION=24
MAX_SEED_BYTES=4000000
CIPHERS='NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM'

log() { printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" = 0 ] || { echo "must run as root (tcpdump, ip netns)" >&2; exit 1; }
for tool in gtlsserver gtlsclient openssl tcpdump tshark capinfos ip tc ethtool; do
  command -v "$tool" >/dev/null || die "$tool is needed (Debian: ngtcp2-server ngtcp2-client openssl tcpdump tshark iproute2 ethtool)"
done

WORK="$(mktemp -d /tmp/wirefall-quicbench.XXXXXX)"
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
    ip netns del "$ns" 2>/dev/null
  done
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

DOCROOT="$WORK/www"
make_docroot() {
  local i
  mkdir -p "$DOCROOT/big"
  for i in $(seq 1 16); do
    printf 'wirefall quic sample file %02d\n%s\n' "$i" "$(printf 'x%.0s' $(seq 1 $((i * 120))))" > "$DOCROOT/f$i.txt"
  done
  for i in $(seq 1 8); do
    head -c 102400 <(openssl enc -aes-128-ctr -nosalt -K 000102030405060708090a0b0c0d0e0$i \
      -iv 00000000000000000000000000000000 </dev/zero 2>/dev/null) > "$DOCROOT/big/b$i.bin"
  done
  chmod -R a+rX "$DOCROOT"
}

PKI="$WORK/pki"
make_pki() {
  mkdir -p "$PKI"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$PKI/leaf.key" -out "$PKI/leaf.crt" \
    -days 3650 -subj "/CN=$HOST" -addext "subjectAltName=DNS:$HOST,IP:$S_ADDR" 2>/dev/null
  chmod -R a+rX "$PKI"
}

ns_setup() {
  local ns dev ns_dev
  for ns in "$NS_C" "$NS_S"; do
    ip netns add "$ns"; NETNS+=("$ns"); ip -n "$ns" link set lo up
  done
  ip link add wq-c netns "$NS_C" mtu 1500 type veth peer name wq-s netns "$NS_S" mtu 1500
  ip -n "$NS_C" addr add $C_ADDR/30 dev wq-c
  ip -n "$NS_S" addr add $S_ADDR/30 dev wq-s
  for ns_dev in "$NS_C:wq-c" "$NS_S:wq-s"; do
    ns=${ns_dev%%:*}; dev=${ns_dev#*:}
    ip -n "$ns" link set "$dev" up
    ip netns exec "$ns" ethtool -K "$dev" tso off gso off gro off >/dev/null 2>&1 || true
  done
  tc -n "$NS_S" qdisc add dev wq-s root tbf rate 40mbit burst 32kb latency 100ms
}

main() {
  local pcap="$OUT/bench-seed-quic.pcap" keys="$OUT/bench-seed-quic.keys" k="$WORK/keys.log" err="$WORK/tcpdump.err" i urls=()
  mkdir -p "$OUT"
  make_docroot
  make_pki
  ns_setup
  ip netns exec "$NS_S" gtlsserver -q --max-gso-dgrams=1 --ciphers="$CIPHERS" -d "$DOCROOT" $S_ADDR $PORT "$PKI/leaf.key" "$PKI/leaf.crt" > "$WORK/server.log" 2>&1 &
  PIDS+=("$!")
  sleep 0.5
  for i in $(seq 1 16); do urls+=("https://$HOST/f$i.txt"); [ $((i % 2)) = 0 ] && urls+=("https://$HOST/big/b$((i / 2)).bin"); done
  [ ${#urls[@]} = $PER_CONNECTION ] || die "fetch list has ${#urls[@]} URLs"
  rm -f "$pcap"
  ip netns exec "$NS_C" tcpdump -i wq-c -B 16384 -U --immediate-mode -s 0 -nn -w "$pcap" "udp port $PORT" 2>"$err" &
  PIDS+=("$!")
  local cap=$!
  for i in $(seq 1 50); do grep -q 'listening on' "$err" 2>/dev/null && break; sleep 0.1; done
  sleep 0.3
  : > "$k"
  for i in $(seq 1 $CONNECTIONS); do
    SSLKEYLOGFILE="$k" ip netns exec "$NS_C" timeout 30 gtlsclient --no-quic-dump --no-http-dump --exit-on-all-streams-close \
      --ciphers="$CIPHERS" --sni=$HOST --max-streams-uni=10 $S_ADDR $PORT "${urls[@]}" > "$WORK/client.$i.log" 2>&1 || die "gtlsclient exited $?"
    sleep 0.2
  done
  sleep 0.5
  kill -INT "$cap"; wait "$cap" 2>/dev/null || true
  grep -Eq '^[1-9][0-9]* packets dropped by kernel' "$err" && { cat "$err" >&2; die "the capture dropped packets"; }
  cp "$k" "$keys"

  # Checks: tshark decrypts every connection and sees every request. tshark 4.0 does not decode
  # QPACK, and it dissects a STREAM frame sent again (ngtcp2's client repeats its first STREAM
  # frames right after the handshake) as often as it is sent, so HEADERS frames over-count: the
  # requests are the distinct client-initiated bidirectional streams (id % 4 == 0, RFC 9000 §2.1)
  # the client sent on, per connection.
  local n conns big want=$((CONNECTIONS * PER_CONNECTION))
  n=$(tshark -n -r "$pcap" -o "tls.keylog_file:$keys" -Y "udp.dstport == $PORT && quic.stream.stream_id" -T fields \
      -e quic.connection.number -e quic.stream.stream_id -E occurrence=a -E aggregator=, 2>/dev/null |
    awk -F'\t' '{ split($2, s, ","); for (i in s) if (s[i] % 4 == 0) seen[$1 " " s[i]] = 1 } END { print length(seen) }')
  conns=$(tshark -n -r "$pcap" -Y quic -T fields -e quic.connection.number 2>/dev/null | tr ',' '\n' | sort -u | grep -c . || true)
  big=$(tshark -n -r "$pcap" -Y 'frame.len > 1514' 2>/dev/null | wc -l)
  log "tshark: $n requests (client bidirectional streams) on $conns QUIC connections; $big frames over 1514 bytes"
  [ "$n" = $want ] || die "$n requests, expected $want"
  [ "$conns" = $CONNECTIONS ] || die "$conns connections, expected $CONNECTIONS"
  [ "$big" = 0 ] || die "frames larger than the MTU (offloads still on?)"
  [ "$(stat -c %s "$pcap")" -lt $MAX_SEED_BYTES ] || die "larger than $MAX_SEED_BYTES bytes"
  for f in "$pcap" "$keys"; do chown "$(stat -c %u:%g "$SAMPLES_DIR")" "$f"; chmod 644 "$f"; done
  printf '%s packets=%s size=%s\n' "$(basename "$pcap")" "$(capinfos -T -c -r "$pcap" | cut -f2)" "$(stat -c %s "$pcap")"
}

main "$@"
