#!/usr/bin/env bash
# Extra scenarios for the findings detectors (core/src/detect): captures named f-*.pcap, with
# their ground truth in samples/FINDINGS.md.
#
#   sudo samples/findings.sh                    # all f-* scenarios
#   sudo samples/findings.sh f_no_pool_rtt f-pool-rtt   # a subset (function name or file stem)
#   samples/findings.sh --list
#
# generate.sh may also `source` this file: it then provides the helpers (start_nginx, cap_start,
# cap_stop, report, stop_all_servers, log, PIDS, NETNS, WORK, DOCROOT, TOOLS, OUT, CURL) and can
# run the scenario_f_* functions listed in FINDINGS_SCENARIOS. Run alone, this script borrows
# those helpers from generate.sh (everything but its `main` call).
#
# Latency without netem. This kernel has no netem qdisc, so the "wire" between the two network
# namespaces is a user-space cable: a small Python program (written to $WORK, stdlib only) opens
# two TAP devices, one moved into each namespace, and copies every Ethernet frame from one to the
# other after a fixed delay (FF_DELAY_MS, default 20 ms each way: RTT ≈ 40 ms). Namespaces:
# wffc (client, 10.99.0.1/30 on wffta) and wffs (server, 10.99.0.2/30 on wfftb). No route leaves
# them: the cable only joins these two devices, and it stops by itself after FF_CABLE_LIMIT_S.
# Captures are taken in the client namespace on wffta (the client's view, as a browser's
# DevTools would see it), except where a scenario says otherwise.

FF_C=10.99.0.1
FF_S=10.99.0.2
FF_NS_C=wffc
FF_NS_S=wffs
FF_DELAY_MS=${FF_DELAY_MS:-20}
FF_CABLE_LIMIT_S=${FF_CABLE_LIMIT_S:-120}
FINDINGS_SCENARIOS=(
  f_no_pool_rtt f_pool_rtt f_idle_unused_rtt f_parallel8_rtt f_parallel6_rtt
  f_blind_relay_rtt f_stale_race_post_rtt f_keepalive_timeout_lies_rtt f_keepalive_max_lies_rtt f_http10_drop_keepalive_rtt
  f_pipeline_post_rtt f_pipeline_fast_rtt
)

# ------------------------------------------------------------ the cable ----
ff_write_tools() {
  FF_TOOLS="$WORK/ff-tools"
  mkdir -p "$FF_TOOLS"
  cat > "$FF_TOOLS/cable.py" <<'EOF'
# A delaying Ethernet cable between two TAP devices: every frame read from one is written to the
# other DELAY ms later (FIFO: the delay is constant). Exits after LIMIT seconds or on SIGTERM.
#   python3 cable.py TAP_A TAP_B DELAY_MS LIMIT_S
import collections, fcntl, os, select, signal, struct, sys, time
TUNSETIFF, IFF_TAP, IFF_NO_PI = 0x400454CA, 0x0002, 0x1000
def tap(name):
    fd = os.open('/dev/net/tun', os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack('16sH', name.encode(), IFF_TAP | IFF_NO_PI))
    return fd
a_name, b_name, delay_ms, limit_s = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
a, b = tap(a_name), tap(b_name)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
print('ready', flush=True)
delay, end, q = delay_ms / 1000.0, time.monotonic() + limit_s, collections.deque()
while time.monotonic() < end:
    now = time.monotonic()
    while q and q[0][0] <= now:
        _, fd, frame = q.popleft()
        try:
            os.write(fd, frame)
        except OSError:
            pass
    r, _, _ = select.select([a, b], [], [], max(0.0, q[0][0] - now) if q else 0.5)
    now = time.monotonic()
    for fd in r:
        try:
            frame = os.read(fd, 65536)
        except OSError:
            continue
        q.append((now + delay, b if fd == a else a, frame))
EOF

  # Small servers and clients (node built-ins only); all bounded by a hard time limit.
  cat > "$FF_TOOLS/app-server.mjs" <<'EOF'
// node:http server: GET /slow?ms=N answers after N ms (default 300), POST /submit stores the
// body and answers 201 after ?ms=N (default 0), anything else answers 200 at once.
//   node app-server.mjs HOST PORT [keepAliveTimeoutMs]
import http from 'node:http';
const [host, port, kat] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4] ?? 5000)];
const srv = http.createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const send = (status, body) => {
      res.writeHead(status, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    };
    const ms = Number(u.searchParams.get('ms') ?? (u.pathname === '/slow' ? 300 : 0));
    if (req.method === 'POST') setTimeout(() => send(201, `stored ${Buffer.concat(chunks).length} bytes\n`), ms);
    else setTimeout(() => send(200, `response for ${u.pathname}\n`), ms);
  });
});
srv.keepAliveTimeout = kat;
srv.listen(port, host);
setTimeout(() => process.exit(0), 60000).unref();
EOF

  cat > "$FF_TOOLS/new-agent-per-request.mjs" <<'EOF'
// A client that makes a new keep-alive http.Agent for every request (a "new client per call"
// bug): each agent keeps its socket open and idle, and none is ever reused. All are destroyed
// (client FIN) at the end.
//   node new-agent-per-request.mjs HOST PORT PATH...
import http from 'node:http';
const [host, port, ...paths] = [process.argv[2], Number(process.argv[3]), ...process.argv.slice(4)];
setTimeout(() => process.exit(3), 30000).unref();
const agents = [];
for (const path of paths) {
  const agent = new http.Agent({ keepAlive: true });
  agents.push(agent);
  await new Promise((ok) => http.get({ host, port, path, agent }, (res) => { res.resume(); res.on('end', ok); }));
  await new Promise((ok) => setTimeout(ok, 100));
}
await new Promise((ok) => setTimeout(ok, 200));
for (const a of agents) a.destroy();
EOF

  cat > "$FF_TOOLS/seq-client.mjs" <<'EOF'
// One shared keep-alive http.Agent (maxSockets 1); STEP is a path or a pause "+MS".
//   node seq-client.mjs HOST PORT STEP...
import http from 'node:http';
const [host, port, ...steps] = [process.argv[2], Number(process.argv[3]), ...process.argv.slice(4)];
setTimeout(() => process.exit(3), 30000).unref();
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
for (const s of steps) {
  if (s.startsWith('+')) { await new Promise((ok) => setTimeout(ok, Number(s.slice(1)))); continue; }
  await new Promise((ok) => http.get({ host, port, path: s, agent }, (res) => {
    res.resume();
    res.on('end', () => { console.error(`seq-client ${s} -> ${res.statusCode} reused=${res.req.reusedSocket}`); ok(); });
  }).on('error', (e) => { console.error(`seq-client ${s} error ${e.code}`); ok(); }));
}
agent.destroy();
EOF

  cat > "$FF_TOOLS/raw-client.mjs" <<'EOF'
// Raw-socket HTTP/1.x client driven by a script (JSON array of steps):
//   {"send": "<request text>"}        write it (\r\n already in the text)
//   {"read": N}                        wait until N more complete responses (Content-Length framing)
//   {"waitFin": true}                  wait until the server's FIN arrives
//   {"sleep": MS}
//   {"reconnectSend": "<text>", "read": 1}   on a NEW connection: send, read 1 response, FIN
// The socket is half-open capable (the client may write after the server's FIN, as a client that
// has not noticed it would). Ends with a FIN, or when the server resets.
//   node raw-client.mjs HOST PORT 'JSON'
import net from 'node:net';
const [host, port, script] = [process.argv[2], Number(process.argv[3]), JSON.parse(process.argv[4])];
setTimeout(() => process.exit(3), 30000).unref();
const t0 = Date.now();
const log = (m) => console.error(`raw-client +${Date.now() - t0}ms ${m}`);
function open() {
  const s = net.connect({ host, port, allowHalfOpen: true });
  const st = { s, buf: Buffer.alloc(0), responses: 0, fin: false, dead: false, waiters: [] };
  const wake = () => { const w = st.waiters; st.waiters = []; w.forEach((f) => f()); };
  s.on('data', (d) => {
    st.buf = Buffer.concat([st.buf, d]);
    for (;;) {
      const he = st.buf.indexOf('\r\n\r\n');
      if (he < 0) break;
      const head = st.buf.subarray(0, he).toString('latin1');
      const len = Number((/content-length:\s*(\d+)/i.exec(head) || [0, 0])[1]);
      if (st.buf.length < he + 4 + len) break;
      log(`response: ${head.split('\r\n')[0]}`);
      st.buf = st.buf.subarray(he + 4 + len);
      if (!/^HTTP\/1\.\d 1\d\d/.test(head)) st.responses++;
    }
    wake();
  });
  s.on('end', () => { st.fin = true; log('server FIN'); wake(); });
  s.on('error', (e) => { st.dead = true; log(`error ${e.code}`); wake(); });
  s.on('close', () => { st.dead = true; wake(); });
  return new Promise((ok) => s.on('connect', () => ok(st)));
}
const until = (st, cond) => new Promise((ok) => { const check = () => (cond() || st.dead ? ok() : st.waiters.push(check)); check(); });
let st = await open();
for (const step of script) {
  if (step.send !== undefined) { if (!st.dead) st.s.write(step.send); log(`sent ${step.send.split('\r\n')[0]}`); }
  if (step.reconnectSend !== undefined) {
    if (!st.dead) st.s.destroy();
    st = await open();
    st.s.write(step.reconnectSend); log(`retry on a new connection: ${step.reconnectSend.split('\r\n')[0]}`);
  }
  if (step.read) { const want = st.responses + step.read; await until(st, () => st.responses >= want || st.fin); }
  if (step.waitFin) await until(st, () => st.fin);
  if (step.sleep) await new Promise((ok) => setTimeout(ok, step.sleep));
  if (step.untilDead) await Promise.race([until(st, () => false), new Promise((ok) => setTimeout(ok, step.untilDead))]);
}
if (!st.dead) st.s.end();
await new Promise((ok) => setTimeout(ok, 300));
process.exit(0);
EOF

  cat > "$FF_TOOLS/relay-client.mjs" <<'EOF'
// HTTP/1.0 keep-alive client for the blind relay (as samples/tools/relay-client.mjs, any host):
// GET /f1.txt with Connection: Keep-Alive, read it, then GET /f2.txt on the same connection and
// wait (at most 8 s) for a response or the close.
//   node relay-client.mjs HOST PORT
import net from 'node:net';
const [host, port] = [process.argv[2], Number(process.argv[3])];
const t0 = Date.now();
const log = (m) => console.error(`relay-client +${Date.now() - t0}ms ${m}`);
const req = (p) => `GET ${p} HTTP/1.0\r\nHost: ${host}:${port}\r\nUser-Agent: wirefall-relay-client\r\nConnection: Keep-Alive\r\n\r\n`;
const sock = net.connect(port, host, () => sock.write(req('/f1.txt')));
let buf = Buffer.alloc(0), n = 0;
sock.on('data', (d) => {
  buf = Buffer.concat([buf, d]);
  const he = buf.indexOf('\r\n\r\n');
  if (he < 0) return;
  const len = Number((/content-length:\s*(\d+)/i.exec(buf.subarray(0, he).toString('latin1')) || [0, 0])[1]);
  if (buf.length < he + 4 + len) return;
  buf = buf.subarray(he + 4 + len);
  n++;
  log(`response ${n}`);
  if (n === 1) setTimeout(() => { log('send GET /f2.txt'); sock.write(req('/f2.txt')); }, 100);
  else sock.end();
});
sock.on('end', () => { log('connection closed by the relay'); sock.end(); });
setTimeout(() => { log('giving up'); sock.destroy(); }, 8000).unref();
EOF
}

ff_setup() {
  ff_teardown
  [ -n "${FF_TOOLS:-}" ] && [ -f "$FF_TOOLS/cable.py" ] || ff_write_tools
  ip netns add $FF_NS_C; NETNS+=($FF_NS_C)
  ip netns add $FF_NS_S; NETNS+=($FF_NS_S)
  python3 "$FF_TOOLS/cable.py" wffta wfftb "$FF_DELAY_MS" "$FF_CABLE_LIMIT_S" > "$WORK/ff-cable.out" 2>&1 &
  FF_CABLE_PID=$!
  local i
  for i in $(seq 1 50); do grep -q ready "$WORK/ff-cable.out" 2>/dev/null && break; sleep 0.05; done
  ip link set wffta netns $FF_NS_C
  ip link set wfftb netns $FF_NS_S
  ip -n $FF_NS_C link set lo up
  ip -n $FF_NS_S link set lo up
  ip -n $FF_NS_C addr add $FF_C/30 dev wffta
  ip -n $FF_NS_S addr add $FF_S/30 dev wfftb
  ip -n $FF_NS_C link set wffta up
  ip -n $FF_NS_S link set wfftb up
}

ff_teardown() {
  local ns
  if [ -n "${FF_CABLE_PID:-}" ]; then kill "$FF_CABLE_PID" 2>/dev/null || true; wait "$FF_CABLE_PID" 2>/dev/null || true; FF_CABLE_PID=; fi
  for ns in $FF_NS_C $FF_NS_S; do
    if ip netns list | grep -qw "$ns"; then
      ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true
      sleep 0.2
      ip netns del "$ns" 2>/dev/null || true
    fi
  done
}

# ff_run SCENARIO_BODY...: the common frame (namespaces, capture on the client's TAP, teardown).
ff_cap() { cap_start "$1" wffta "$2" $FF_NS_C; }
ff_c() { ip netns exec $FF_NS_C timeout 40 "$@"; }
# (the pause lets wait_port's probe connection finish closing before the capture starts)
ff_server_node() { start_bg ip netns exec $FF_NS_S node "$FF_TOOLS/app-server.mjs" "$@"; wait_port $FF_S "$2" $FF_NS_C; sleep 0.5; }
ff_done() { cap_stop; stop_all_servers; ff_teardown; report "$1"; }
ff_urls() { local p=$1 n=$2 i; for i in $(seq 1 "$n"); do printf 'http://%s:%s/f%d.txt ' $FF_S "$p" "$i"; done; }

# ------------------------------------------------------------ scenarios ----
# missed-reuse/client-no-pool with real latency: one curl per URL (10 connections).
scenario_f_no_pool_rtt() {
  local port=18201 f="$OUT/f-no-pool-rtt.pcap" u
  ff_setup
  start_nginx ff-nopool $port 'keepalive_timeout 60s;' $FF_S $FF_NS_S
  ff_cap "$f" "tcp port $port"
  for u in $(ff_urls $port 10); do ff_c "${CURL[@]}" -o /dev/null "$u"; done
  ff_done "$f"
}

# The same 10 URLs through one curl: 1 connection (negative for missed-reuse).
scenario_f_pool_rtt() {
  local port=18202 f="$OUT/f-pool-rtt.pcap"
  ff_setup
  start_nginx ff-pool $port 'keepalive_timeout 60s;' $FF_S $FF_NS_S
  ff_cap "$f" "tcp port $port"
  # shellcheck disable=SC2046
  ff_c bash -c "$(declare -p CURL); $(declare -f curl_multi); curl_multi \$@" _ $(ff_urls $port 10)
  ff_done "$f"
}

# missed-reuse/idle-connection-unused: a new keep-alive agent per request; the old sockets stay
# open and idle and are never used again.
scenario_f_idle_unused_rtt() {
  local port=18203 f="$OUT/f-idle-unused-rtt.pcap"
  ff_setup
  start_nginx ff-idle $port 'keepalive_timeout 60s;' $FF_S $FF_NS_S
  ff_cap "$f" "tcp port $port"
  ff_c node "$FF_TOOLS/new-agent-per-request.mjs" $FF_S $port /f1.txt /f2.txt /f3.txt /f4.txt /f5.txt
  ff_done "$f"
}

# excess-parallel-connections: 8 slow requests in parallel (curl --parallel-max 8) = 8
# connections at once, 2 above the default budget of 6. f_parallel6_rtt is the negative (6).
ff_parallel() {
  local n=$1 port=$2 f=$3 a=() i
  ff_setup
  ff_server_node $FF_S $port 5000
  ff_cap "$f" "tcp port $port"
  for i in $(seq 1 "$n"); do a+=(-o /dev/null "http://$FF_S:$port/slow?ms=300&i=$i"); done
  ff_c "${CURL[@]}" --parallel --parallel-immediate --parallel-max "$n" "${a[@]}"
  ff_done "$f"
}
scenario_f_parallel8_rtt() { ff_parallel 8 18204 "$OUT/f-parallel8-rtt.pcap"; }
scenario_f_parallel6_rtt() { ff_parallel 6 18205 "$OUT/f-parallel6-rtt.pcap"; }

# blind-relay-hang with latency, both legs: client (wffc) -> relay 10.99.0.2:18206 (wffs) ->
# origin nginx 127.0.0.1:18207 (wffs loopback, keepalive_timeout 3s). The client leg is captured
# in wffc on wffta, the upstream leg in wffs on lo; the two files are merged (same clock).
scenario_f_blind_relay_rtt() {
  local port=18206 oport=18207 f="$OUT/f-blind-relay-rtt.pcap" up="$WORK/ff-relay-up.pcap" cl="$WORK/ff-relay-client.pcap" cap1
  ff_setup
  start_nginx ff-relay-origin $oport 'keepalive_timeout 3s;' 127.0.0.1 $FF_NS_S
  # samples/tools/naive-relay.mjs, listening on the namespace address instead of 127.0.0.1
  sed "s/\.listen(listenPort, '127.0.0.1')/.listen(listenPort, process.argv[5])/" "$TOOLS/naive-relay.mjs" > "$FF_TOOLS/naive-relay.mjs"
  start_bg ip netns exec $FF_NS_S node "$FF_TOOLS/naive-relay.mjs" $port 127.0.0.1 $oport $FF_S
  wait_port $FF_S $port $FF_NS_C
  sleep 0.5
  cap_start "$up" lo "tcp port $oport" $FF_NS_S
  cap1=$CAP_PID; local err1=$CAP_ERR
  ff_cap "$cl" "tcp port $port"
  ff_c node "$FF_TOOLS/relay-client.mjs" $FF_S $port
  cap_stop
  CAP_PID=$cap1; CAP_ERR=$err1; cap_stop
  stop_all_servers
  ff_teardown
  mergecap -F pcap -w "$f" "$cl" "$up"
  report "$f"
}

# keepalive-policy/stale-connection-race with a non-idempotent retry: a node server with a 1 s
# keep-alive timeout; the raw client GETs, waits for the server's idle FIN, then (as a client that
# did not notice it) sends a POST on that connection 5 ms later: RST. 60 ms later (the RST has
# arrived) it retries the POST on a new connection, which answers 201 — had the server read the
# first POST before resetting, it would now have run twice.
scenario_f_stale_race_post_rtt() {
  local port=18208 f="$OUT/f-stale-race-post-rtt.pcap" get post
  ff_setup
  ff_server_node $FF_S $port 1000
  ff_cap "$f" "tcp port $port"
  get="GET /f1.txt HTTP/1.1\r\nHost: $FF_S:$port\r\nConnection: keep-alive\r\n\r\n"
  post="POST /submit HTTP/1.1\r\nHost: $FF_S:$port\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n\r\nhello world"
  ff_c node "$FF_TOOLS/raw-client.mjs" $FF_S $port "$(printf '[{"send":"%s","read":1},{"waitFin":true},{"sleep":5},{"send":"%s"},{"sleep":60},{"reconnectSend":"%s","read":1}]' "$get" "$post" "$post")"
  ff_done "$f"
}

# keepalive-policy/keepalive-timeout-contradicted + timeout-too-short + missed-reuse/
# server-idle-timeout: nginx `keepalive_timeout 2s 10s` advertises `Keep-Alive: timeout=10` but
# closes idle connections after 2 s; the client pauses 3 s between two requests.
scenario_f_keepalive_timeout_lies_rtt() {
  local port=18209 f="$OUT/f-keepalive-timeout-lies-rtt.pcap"
  ff_setup
  start_nginx ff-ka-lies $port 'keepalive_timeout 2s 10s;' $FF_S $FF_NS_S
  ff_cap "$f" "tcp port $port"
  ff_c node "$FF_TOOLS/seq-client.mjs" $FF_S $port /f1.txt +3000 /f2.txt
  ff_done "$f"
}

# keepalive-policy/keepalive-max-contradicted: nginx closes after 3 requests (keepalive_requests 3)
# but a hand-written header advertises `Keep-Alive: timeout=5, max=10`; 5 sequential GETs.
scenario_f_keepalive_max_lies_rtt() {
  local port=18213 f="$OUT/f-keepalive-max-lies-rtt.pcap"
  ff_setup
  start_nginx ff-ka-max $port 'keepalive_timeout 5s; keepalive_requests 3; add_header Keep-Alive "timeout=5, max=10" always;' $FF_S $FF_NS_S
  ff_cap "$f" "tcp port $port"
  ff_c node "$FF_TOOLS/seq-client.mjs" $FF_S $port /f1.txt /f2.txt /f3.txt /f4.txt /f5.txt
  ff_done "$f"
}

# keepalive-policy/client-dropped-keepalive: three HTTP/1.0 requests on one connection, the first
# two with Connection: keep-alive, the third without; nginx closes after the third.
scenario_f_http10_drop_keepalive_rtt() {
  local port=18210 f="$OUT/f-http10-drop-keepalive-rtt.pcap" h ka
  ff_setup
  start_nginx ff-h10 $port 'keepalive_timeout 60s;' $FF_S $FF_NS_S
  ff_cap "$f" "tcp port $port"
  h="Host: $FF_S:$port\r\nUser-Agent: wirefall-raw"
  ka="\r\nConnection: keep-alive"
  ff_c node "$FF_TOOLS/raw-client.mjs" $FF_S $port "$(printf '[{"send":"GET /f1.txt HTTP/1.0\\r\\n%s%s\\r\\n\\r\\n","read":1},{"send":"GET /f2.txt HTTP/1.0\\r\\n%s%s\\r\\n\\r\\n","read":1},{"send":"GET /f3.txt HTTP/1.0\\r\\n%s\\r\\n\\r\\n","read":1},{"waitFin":true}]' "$h" "$ka" "$h" "$ka" "$h")"
  ff_done "$f"
}

# hol-stall: a POST whose response takes 300 ms, with a GET pipelined behind it in the same
# write (blocked + after-non-idempotent).
scenario_f_pipeline_post_rtt() {
  local port=18211 f="$OUT/f-pipeline-post-rtt.pcap" h
  ff_setup
  ff_server_node $FF_S $port 5000
  ff_cap "$f" "tcp port $port"
  h="Host: $FF_S:$port\r\nUser-Agent: wirefall-pipeline"
  ff_c node "$FF_TOOLS/raw-client.mjs" $FF_S $port "$(printf '[{"send":"POST /submit?ms=300 HTTP/1.1\\r\\n%s\\r\\nContent-Length: 5\\r\\n\\r\\nhelloGET /fast1 HTTP/1.1\\r\\n%s\\r\\n\\r\\n","read":2}]' "$h" "$h")"
  ff_done "$f"
}

# hol-stall negative: three fast GETs pipelined in one write over the 40 ms path. Each later
# response waits only for the one before it on the wire (microseconds), not for a slow one.
scenario_f_pipeline_fast_rtt() {
  local port=18212 f="$OUT/f-pipeline-fast-rtt.pcap" h
  ff_setup
  ff_server_node $FF_S $port 5000
  ff_cap "$f" "tcp port $port"
  h="Host: $FF_S:$port\r\nUser-Agent: wirefall-pipeline"
  ff_c node "$FF_TOOLS/raw-client.mjs" $FF_S $port "$(printf '[{"send":"GET /a HTTP/1.1\\r\\n%s\\r\\n\\r\\nGET /b HTTP/1.1\\r\\n%s\\r\\n\\r\\nGET /c HTTP/1.1\\r\\n%s\\r\\n\\r\\n","read":3}]' "$h" "$h" "$h")"
  ff_done "$f"
}

# ------------------------------------------------------------------ main ----
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  FF_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  if [ "${1:-}" = "--list" ]; then printf '%s\n' "${FINDINGS_SCENARIOS[@]}"; exit 0; fi
  # Borrow generate.sh's helpers, trap and work directory, without running its main.
  # shellcheck disable=SC1090
  source <(sed -e '/^main "\$@"$/d' -e "s#^SAMPLES_DIR=.*#SAMPLES_DIR='$FF_DIR'#" "$FF_DIR/generate.sh")
  [ "$(id -u)" = 0 ] || { echo "must run as root (tcpdump, netns)" >&2; exit 1; }
  ff_cleanup_more() { ff_teardown 2>/dev/null || true; }
  trap 'rc=$?; ff_cleanup_more; (exit $rc); cleanup' EXIT
  todo=("$@")
  [ ${#todo[@]} -gt 0 ] || todo=("${FINDINGS_SCENARIOS[@]}")
  make_docroot
  ff_write_tools
  for s in "${todo[@]}"; do
    s=${s%.pcap}; s=${s//-/_}
    declare -F "scenario_$s" >/dev/null || { echo "unknown scenario: $s (try --list)" >&2; exit 2; }
    log "scenario $s"
    "scenario_$s"
  done
fi
