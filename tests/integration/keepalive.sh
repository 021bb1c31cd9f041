#!/bin/bash
# keepalive.sh - keep-alive on both sides: many client requests reuse few
# server connections (per-thread idle pools), client connections stay open,
# pipelined requests are answered in order, HTTP/1.0 and "Connection: close"
# end the connection.
. "$(dirname "$0")/lib.sh"
t_need_root; t_need_proxy
topo_up

B=${BE_IPS[0]}
backend_multi be A@$B:8081 B@$B:8082

conf=$T_DIR/tandem.conf
{
    conf_global 2
    cat <<EOF
frontends = ( { name = "www"; bind = "$LB_IP:80"; mode = "http"; backend = "web"; } );
backends = ( { name = "web"; algorithm = "roundrobin";
  servers = ( { name = "A"; addr = "$B:8081"; }, { name = "B"; addr = "$B:8082"; } ); } );
EOF
} | proxy_conf "$conf"
proxy_start "$conf" "tcp:$LB_IP:80"

conns() {   # total connections both backends have accepted
    local a b
    a=$(backend_stats A "$B:8081" | jq .conns); b=$(backend_stats B "$B:8082" | jq .conns)
    echo $((a + b))
}

# Client keep-alive: 200 requests over 4 client connections.
c0=$(conns)
r=$(clpy load "$LB_IP" 80 --n 200 --c 4 --keepalive)
c1=$(conns)
t_is "$(j "$r" .ok):$(j "$r" .conns)" "200:4" "200 requests on 4 keep-alive client connections, none reopened" "$r"
t_le $((c1 - c0)) 12 "200 keep-alive requests opened few server connections"

# A new client connection per request: server connections still reused.
r=$(clpy load "$LB_IP" 80 --n 200 --c 2)
c2=$(conns)
t_is "$(j "$r" .ok)" 200 "200 requests, one client connection each" "$r"
t_le $((c2 - c1)) 6 "server connections are pooled across client connections (200 requests)"

# Pipelining: three requests in one write, answers in order (the first is slow).
r=$(clpy pipeline "$LB_IP" 80 /delay/300 /status/202 /status/404)
t_is "$(j "$r" '[.responses[].status] | join(" ")')" "200 202 404" "pipelined requests are answered in order" "$r"

# HTTP/1.0 without keep-alive: answered, then closed.
r=$(clpy raw "$LB_IP" 80 --data 'GET / HTTP/1.0\r\nHost: t\r\n\r\n' --timeout 3)
t_is "$(j "$r" .status):$(j "$r" .closed)" "200:true" "HTTP/1.0 request: answered, connection closed" "$r"
t_le "$(j "$r" '.elapsed * 1000 | floor')" 2000 "HTTP/1.0: closed right after the answer (ms)"

# Connection: close from the client.
r=$(clpy raw "$LB_IP" 80 --data 'GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n' --timeout 3)
t_is "$(j "$r" .status):$(j "$r" .closed)" "200:true" "Connection: close: answered, connection closed" "$r"

# An HTTP/1.1 connection stays open after the answer.
r=$(clpy raw "$LB_IP" 80 --data 'GET / HTTP/1.1\r\nHost: t\r\n\r\n' --timeout 1)
t_is "$(j "$r" .status):$(j "$r" .closed)" "200:false" "HTTP/1.1 keep-alive: the connection stays open" "$r"

# A server that closes after its answer ("Connection: close"): the next
# requests still work (the closed connection is not reused).
r=$(clpy load "$LB_IP" 80 --n 20 --c 1 --keepalive --path /close)
t_is "$(j "$r" .ok)" 20 "server answers with Connection: close: 20 requests all succeed" "$r"
r=$(clpy load "$LB_IP" 80 --n 20 --c 1 --keepalive)
t_is "$(j "$r" .ok)" 20 "plain requests after server-side closes all succeed" "$r"

# Server connections the backend closed while idle in the pool: restart
# both backends (new processes, all pooled connections gone) and ask again.
stop_pid "${BE_PID[be]}"
backend_multi be A@$B:8081 B@$B:8082
r=$(clpy load "$LB_IP" 80 --n 20 --c 1 --keepalive)
t_is "$(j "$r" .ok)" 20 "after the servers closed every pooled connection, 20 requests all succeed" "$r"

proxy_stop_check
t_done
