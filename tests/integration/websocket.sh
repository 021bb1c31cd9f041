#!/bin/bash
# websocket.sh - "Upgrade: websocket" becomes a bidirectional tunnel: 101
# passed to the client, bytes echoed both ways through the proxy, an idle
# tunnel survives the client idle timeout, and an open tunnel counts as a
# connection for leastconn.
. "$(dirname "$0")/lib.sh"
t_need_root; t_need_proxy
topo_up

B=${BE_IPS[0]}
backend_multi be A@$B:8081 B@$B:8082

conf=$T_DIR/tandem.conf
{
    conf_global 2
    cat <<EOF
frontends = ( { name = "www"; bind = "$LB_IP:80"; mode = "http"; backend = "web";
                timeouts = { client = "1s"; http_keepalive = "1s"; }; } );
backends = ( { name = "web"; algorithm = "leastconn";
  servers = ( { name = "A"; addr = "$B:8081"; }, { name = "B"; addr = "$B:8082"; } ); } );
EOF
} | proxy_conf "$conf"
proxy_start "$conf" "tcp:$LB_IP:80"

r=$(clpy ws "$LB_IP" 80 --rounds 8)
t_is "$(j "$r" .status):$(j "$r" .upgrade)" "101:websocket" "Upgrade: websocket is answered 101 with the Upgrade header" "$r"
t_is "$(j "$r" .echo_ok)" true "8 messages (up to 20 kB) echo through the tunnel intact" "$r"

# A tunnel open (idle) for longer than the client timeout (1s) is not cut.
r=$(clpy ws "$LB_IP" 80 --rounds 2 --idle 1.6 --timeout 6)
t_is "$(j "$r" .echo_ok)" true "a tunnel idle for 1.6s (client timeout 1s) still echoes" "$r"

# leastconn: with a tunnel open on one server, plain requests go to the other.
clpy ws "$LB_IP" 80 --rounds 1 --hold 3 --timeout 8 >"$T_DIR/ws.json" &
wsp=$!
for i in $(seq 100); do [ -s "$T_DIR/ws.json" ] && break; sleep 0.05; done
wsb=$(head -n1 "$T_DIR/ws.json" | jq -r .backend)
r=$(clpy load "$LB_IP" 80 --n 10 --c 1 --pause 0.05)
other=$([ "$wsb" = A ] && echo B || echo A)
t_is "$(j "$r" ".backends.$other // 0")" 10 "leastconn: with a tunnel open on $wsb, 10 sequential requests go to $other" "$r"
wait $wsp
t_is "$(tail -n1 "$T_DIR/ws.json" | jq -r .after_hold_ok)" true "the held tunnel still echoed after 3s"

proxy_stop_check
t_done
