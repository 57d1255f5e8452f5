#!/usr/bin/env bash
# Ground-truth summary of a capture using tshark (used to write samples/README.md).
#   samples/tools/summarize.sh FILE [SERVER_PORT...]
# Per TCP stream: endpoints, start/end time, HTTP/1 requests, who sent the first
# FIN and the first RST (client = the side that sent the SYN).
set -euo pipefail
f=$1
echo "== $f ($(capinfos -T -c -r "$f" 2>/dev/null | cut -f2) packets, $(capinfos -T -E -r "$f" 2>/dev/null | cut -f2))"
tshark -r "$f" -T fields -E separator='|' \
  -e tcp.stream -e frame.time_relative -e ip.src -e ipv6.src -e tcp.srcport -e ip.dst -e ipv6.dst -e tcp.dstport \
  -e tcp.flags.syn -e tcp.flags.ack -e tcp.flags.fin -e tcp.flags.reset -e tcp.len \
  -e http.request.method -e http.request.uri -e http.response.code -e http.request.version -e http.connection \
  2>/dev/null | awk -F'|' '
{
  s=$1; if (s=="") next; t=$2; src=($3!=""?$3:$4)":"$5; dst=($6!=""?$6:$7)":"$8
  if (!(s in start)) { start[s]=t; order[++n]=s }
  end[s]=t
  if ($9=="1" && $10=="0") { cli[s]=src; srv[s]=dst }
  if (!(s in cli)) { cli[s]=src; srv[s]=dst }
  who=(src==cli[s]?"client":"server")
  if ($11=="1" && !(s in fin)) fin[s]=who"@"sprintf("%.3f",t)
  if ($12=="1" && !(s in rst)) rst[s]=who"@"sprintf("%.3f",t)
  if ($14!="") { reqs[s]=reqs[s]" "$14" "$15"("$17(($18!="")?",Conn:"$18:"")")"; nreq[s]++ }
  if ($16!="") { resp[s]=resp[s]" "$16; }
}
END {
  for (i=1;i<=n;i++) { s=order[i]
    printf "stream %s %s -> %s  t=%.3f..%.3f  reqs=%d  firstFIN=%s firstRST=%s\n", s, cli[s], srv[s], start[s], end[s], nreq[s]+0, (s in fin?fin[s]:"-"), (s in rst?rst[s]:"-")
    if (reqs[s]!="") printf "    requests:%s\n    responses:%s\n", reqs[s], resp[s]
  }
}'
