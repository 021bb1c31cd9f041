#!/bin/bash
# reload.sh - SIGHUP under load: two reloads with changed configs (a server
# added, weights and algorithm changed, a frontend added) while keep-alive
# and new-connection load runs: zero failed requests, a slow request in
# flight completes, the new config takes effect. A bad config on reload is
# refused: the old one keeps running and the error is logged.
. "$(dirname "$0")/lib.sh"
t_need_root; t_need_proxy
topo_up

B=${BE_IPS[0]}
backend_multi be A@$B:8081 B@$B:8082 C@$B:8083

conf=$T_DIR/tandem.conf
gen_conf() {   # gen_conf FILE SERVERS ALGORITHM [EXTRA-FRONTEND]
    {
        conf_global 2
        cat <<EOF
frontends = ( { name = "www"; bind = "$LB_IP:80"; mode = "http"; backend = "web"; }${4:-} );
backends = ( { name = "web"; algorithm = "$3"; servers = ( $2 ); } );
EOF
    } | proxy_conf "$1"
}
SA="{ name = \"A\"; addr = \"$B:8081\"; }"
SB="{ name = \"B\"; addr = \"$B:8082\"; }"
SC="{ name = \"C\"; addr = \"$B:8083\"; }"
gen_conf "$conf" "$SA, $SB" roundrobin
gen_conf "$T_DIR/v2.conf" "$SA, $SB, $SC" roundrobin
gen_conf "$T_DIR/v3.conf" "$SA, { name = \"C\"; addr = \"$B:8083\"; weight = 3; }" wrr \
    ", { name = \"www2\"; bind = \"$LB_IP:81\"; mode = \"http\"; backend = \"web\"; }"
proxy_start "$conf" "tcp:$LB_IP:80"

# A slow request in flight across both reloads.
in_cl curl -sS --max-time 15 -o /dev/null -w '%{http_code}' "http://$LB_IP/delay/2500" >"$T_DIR/slow.out" 2>&1 &
slow=$!
sleep 0.3

# Keep-alive load (reloads fired from it) and new-connection load together.
clpy load "$LB_IP" 80 --n 1500 --c 2 --max-time 25 >"$T_DIR/newconn.json" &
nc=$!
r=$(clpy load "$LB_IP" 80 --n 3000 --c 3 --keepalive --max-time 25 \
    --at "500:cp $T_DIR/v2.conf $conf && kill -HUP $PROXY_PID" \
    --at "1800:cp $T_DIR/v3.conf $conf && kill -HUP $PROXY_PID")
wait $nc
r2=$(cat "$T_DIR/newconn.json")
wait $slow
t_diag "keep-alive load: $r"
t_diag "new-connection load: $r2"
t_is "$(j "$r" .fail):$(j "$r" .total)" "0:3000" "keep-alive load across two reloads: 3000 requests, 0 failed" "$r"
t_is "$(j "$r2" .fail)" 0 "new-connection load across two reloads: 0 failed" "$r2"
t_ge "$(j "$r2" .total)" 300 "the new-connection load ran during the reloads"
t_is "$(cat "$T_DIR/slow.out")" 200 "a slow request in flight during the reloads completes"
t_ge "$(j "$r2" '.backends.C // 0')" 1 "new connections: the server added by the first reload gets traffic" "$r2"
# Keep-alive clients that were connected before the reload must also move to
# the new config (nginx and HAProxy close them after their current request
# so they reconnect); a connection pinned to the old config forever would
# keep sending to removed servers.
t_ge "$(j "$r" '.backends.C // 0')" 1 "keep-alive connections opened before the reload also reach the added server" "$r"

# After the second reload: B is gone, A:C = 1:3, and port 81 listens.
sleep 0.5
r=$(clpy load "$LB_IP" 80 --n 40 --c 1 --keepalive)
t_is "$(j "$r" '.backends.A // 0'):$(j "$r" '.backends.B // 0'):$(j "$r" '.backends.C // 0')" "10:0:30" \
    "second reload in effect: B removed, wrr A:C = 1:3" "$r"
if wait_listen "$NS_LB" tcp "$LB_IP" 81 3; then
    t_is "$(cl_curl -o /dev/null -w '%{http_code}' "http://$LB_IP:81/")" 200 "a frontend added by reload serves"
else
    t_fail "a frontend added by reload listens on :81"
fi

# A bad config: refused, the old one keeps running, the error is logged.
cp "$conf" "$T_DIR/good.conf"
printf 'global = { threads = 2; };\nfrontends = ( { name = "www"; bind = "%s:80"; mode = "http"; backend = "nosuch"; } );\nbackends = ( { name = "web"; servers = ( { name = "A"; addr = "%s:8081"; } ); } );\n' \
    "$LB_IP" "$B" >"$conf"
lines0=$(wc -l <"$PROXY_LOG")
r=$(clpy load "$LB_IP" 80 --n 600 --c 2 --keepalive --max-time 15 --at "200:kill -HUP $PROXY_PID")
t_is "$(j "$r" .fail)" 0 "load across a bad reload: 0 failed" "$r"
sleep 0.3
t_check "the proxy is still running after a bad reload" kill -0 "$PROXY_PID"
r=$(clpy load "$LB_IP" 80 --n 40 --c 1 --keepalive)
t_is "$(j "$r" '.backends.A // 0'):$(j "$r" '.backends.C // 0')" "10:30" "the old config (wrr A:C 1:3) is still in effect" "$r"
newlog=$(tail -n +"$((lines0 + 1))" "$PROXY_LOG")
t_like "$newlog" "$conf:2: .*nosuch" "the reload error is logged as FILE:LINE: message" "$newlog"

# A good config again after the bad one is taken.
gen_conf "$conf" "$SB" roundrobin
proxy_reload
sleep 1
r=$(clpy load "$LB_IP" 80 --n 10 --c 1)
t_is "$(j "$r" '.backends.B // 0')" 10 "a good config after a bad one is taken (only B)" "$r"

proxy_stop_check
t_done
