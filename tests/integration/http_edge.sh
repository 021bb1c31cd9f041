#!/bin/bash
# http_edge.sh - HTTP/1.1 corners: Expect: 100-continue, HEAD, 204/304
# without a body, a response delimited by the server closing, a large
# response header, a body and a GET pipelined, clients that leave in the
# middle of an upload or a download, back-pressure both ways (a client that
# does not read, a server that does not read: the proxy's RSS stays
# bounded), server maxconn with a queue, maxqueue 0 -> 503, frontend maxconn.
. "$(dirname "$0")/lib.sh"
t_need_root; t_need_proxy
topo_up

B=${BE_IPS[0]}
backend_multi be A@$B:8081 Q@$B:8082 N@$B:8083

conf=$T_DIR/tandem.conf
{
    conf_global 2
    cat <<EOF
frontends = (
  { name = "www"; bind = "$LB_IP:80"; mode = "http"; backend = "web";
    routes = ( { path_prefix = "/q/"; backend = "queued"; },
               { path_prefix = "/n/"; backend = "noqueue"; } ); },
  { name = "small"; bind = "$LB_IP:81"; mode = "http"; backend = "web"; maxconn = 2; }
);
backends = (
  { name = "web"; servers = ( { name = "A"; addr = "$B:8081"; } ); },
  { name = "queued"; servers = ( { name = "Q"; addr = "$B:8082"; maxconn = 2; } ); },
  { name = "noqueue"; maxqueue = 0; servers = ( { name = "N"; addr = "$B:8083"; maxconn = 1; } ); }
);
EOF
} | proxy_conf "$conf"
proxy_start "$conf" "tcp:$LB_IP:80" "tcp:$LB_IP:81"
U=http://$LB_IP

# Expect: 100-continue (curl sends it for bodies over 1 MB)
head -c 2000000 /dev/zero >"$T_DIR/2m"
got=$(in_cl curl -sS --max-time 10 -H 'Expect: 100-continue' --data-binary @"$T_DIR/2m" \
      -w ' %{http_code} %{time_total}' "$U/echo")
t_is "$(echo "$got" | awk '{ print $NF - 0 < 0.9 ? "fast" : "slow" }'):$(echo "$got" | awk '{ print $(NF-1) }')" "fast:200" \
    "Expect: 100-continue: the 100 comes through, the 2 MB body is sent at once" "$got"
t_is "$(echo "$got" | sed 's/ [0-9]* [0-9.]*$//' | jq -r .bytes)" 2000000 "... and arrives whole" "$got"

# HEAD: a Content-Length but no body; the connection stays usable
r=$(clpy raw "$LB_IP" 80 --timeout 1.5 --data 'HEAD /bigcl/5000 HTTP/1.1\r\nHost: t\r\n\r\nGET /status/201 HTTP/1.1\r\nHost: t\r\n\r\n')
t_is "$(j "$r" .responses)" 2 "HEAD (Content-Length 5000, no body) then GET on one connection: two answers" "$r"
t_like "$(j "$r" .response)" 'Content-Length: 5000' "the HEAD answer keeps its Content-Length" "$r"
t_like "$(j "$r" .response)" 'HTTP/1.1 201' "the GET after HEAD is answered" "$r"

# 204 and 304: no body, the connection stays usable
r=$(clpy raw "$LB_IP" 80 --timeout 1.5 --data 'GET /status/204 HTTP/1.1\r\nHost: t\r\n\r\nGET /status/304 HTTP/1.1\r\nHost: t\r\n\r\nGET /status/202 HTTP/1.1\r\nHost: t\r\n\r\n')
t_is "$(j "$r" .responses)" 3 "204, 304 (no body) and a 202 on one connection: three answers" "$r"
t_like "$(j "$r" .response)" 'HTTP/1.1 202' "the request after 204 and 304 is answered" "$r"

# A response without Content-Length or chunked (ends when the server closes)
r=$(clpy download "$LB_IP" 80 --path /nolength/300000 --bytes 300000)
t_is "$(j "$r" .status):$(j "$r" .intact)" "200:true" "a response delimited by the server's close arrives whole" "$r"

# A 16 kB response header
got=$(cl_curl -o /dev/null -w '%{http_code} %{size_header}' "$U/bighdr/16000")
t_like "$got" '^200 1[6-9][0-9]{3}$' "a 16 kB response header passes" "$got"

# A POST with a body and a GET pipelined behind it
r=$(clpy raw "$LB_IP" 80 --timeout 1.5 --data 'POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhelloGET /status/203 HTTP/1.1\r\nHost: t\r\n\r\n')
t_is "$(j "$r" .responses)" 2 "a POST body and a pipelined GET: both answered" "$r"
t_like "$(j "$r" .response)" '"bytes": 5.*HTTP/1.1 203' "in order, the body of 5 bytes counted" "$r"

# Clients leaving mid-transfer; the proxy goes on.
r1=$(clpy upload "$LB_IP" 80 --bytes 50000000 --abort-after 5000000)
r2=$(clpy download "$LB_IP" 80 --path /big/50000000 --bytes 50000000 --abort-after 5000000)
r3=$(clpy download "$LB_IP" 80 --path /bigcl/50000000 --bytes 50000000 --abort-after 5000000)
sleep 0.5
r=$(clpy load "$LB_IP" 80 --n 20 --c 2 --keepalive)
t_is "$(j "$r" .ok)" 20 "after clients left in the middle of an upload and two downloads, requests are served" \
    "$r1" "$r2" "$r3" "$r"

# Back-pressure: a client that does not read for 3 s while the server sends
# 200 MB, and a server that does not read for 2 s while the client sends
# 100 MB. Neither may be buffered in the proxy.
rss0=$(proxy_rss_kb)
r=$(clpy download "$LB_IP" 80 --path /bigcl/200000000 --bytes 200000000 --stall 3 --timeout 60)
t_is "$(j "$r" .intact)" true "200 MB to a client that waits 3 s before reading arrives intact" "$r"
r=$(clpy upload "$LB_IP" 80 --path /slowecho --bytes 100000000 --timeout 60)
t_is "$(j "$r" .status):$(j "$r" .intact)" "200:true" "100 MB to a server that waits 2 s before reading arrives intact" "$r"
rss=$(proxy_rss_kb)
if proxy_is_asan; then
    t_skip "back-pressure: peak RSS stays under 64 MB (VmHWM $rss kB)" "AddressSanitizer build"
else
    t_le "${rss:-999999}" 65536 "back-pressure: peak RSS (VmHWM kB) stays under 64 MB (was $rss0 kB before)"
fi

# Server maxconn 2: 6 concurrent 600 ms requests wait their turn (queue).
r=$(clpy load "$LB_IP" 80 --path /q/delay/600 --n 6 --c 6 --timeout 10)
t_is "$(j "$r" .ok)" 6 "server maxconn 2: 6 concurrent slow requests all answered (queued)" "$r"
if awk -v e="$(j "$r" .elapsed)" 'BEGIN { exit !(e >= 1.6) }'; then
    t_ok "... in 3 waves of 2 ($(j "$r" .elapsed)s)"
else
    t_fail "... in 3 waves of 2 (at least 1.6s)" "$r" "$(backend_stats Q "$B:8082")"
fi
# maxqueue 0: the second concurrent request to a server at maxconn 1 gets 503
r=$(clpy load "$LB_IP" 80 --path /n/delay/800 --n 3 --c 3 --expect 200 --timeout 10)
t_is "$(j "$r" '.status["200"] // 0'):$(j "$r" '.status["503"] // 0')" "1:2" \
    "maxqueue 0 and server maxconn 1: of 3 concurrent requests, 1 answered and 2 get 503" "$r"

# Frontend maxconn 2: 6 concurrent slow clients on :81 all get served
# (the excess waits in the listen queue), in at least 3 waves. (With two
# worker threads the daemon at c7024f1 resets one client in most runs; with
# one thread it does not. To park it as a known bug: T_TODO="reason" t_is ...)
r=$(clpy load "$LB_IP" 81 --path /delay/500 --n 6 --c 6 --timeout 10)
t_is "$(j "$r" .ok)" 6 "frontend maxconn 2: 6 concurrent clients all served" "$r"
if awk -v e="$(j "$r" .elapsed)" 'BEGIN { exit !(e >= 1.3) }'; then
    t_ok "... no more than 2 at a time ($(j "$r" .elapsed)s for 3 waves of 500 ms)"
else
    t_fail "... no more than 2 at a time (at least 1.3s)" "$r"
fi

proxy_stop_check
t_done
