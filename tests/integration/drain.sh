#!/bin/bash
# drain.sh - SIGTERM: the listeners close at once (new connections are
# refused), an idle keep-alive connection is closed, an in-flight slow
# request completes, and the proxy exits 0 as soon as it is done. A request
# longer than global.grace is cut at the grace time.
. "$(dirname "$0")/lib.sh"
t_need_root; t_need_proxy
topo_up

B=${BE_IPS[0]}
backend_multi be A@$B:8081

conf=$T_DIR/tandem.conf
mkconf() {   # mkconf GRACE
    {
        conf_global 2 "grace = \"$1\";"
        cat <<EOF
frontends = ( { name = "www"; bind = "$LB_IP:80"; mode = "http"; backend = "web"; } );
backends = ( { name = "web"; servers = ( { name = "A"; addr = "$B:8081"; } ); } );
EOF
    } | proxy_conf "$conf"
}
mkconf 6s
proxy_start "$conf" "tcp:$LB_IP:80"

# an in-flight slow request, and an idle keep-alive connection
in_cl curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "http://$LB_IP/delay/1500" >"$T_DIR/slow.out" 2>&1 &
slow=$!
clpy raw "$LB_IP" 80 --data 'GET / HTTP/1.1\r\nHost: t\r\n\r\n' --timeout 5 >"$T_DIR/idle.json" &
idle=$!
# both requests must have reached the server before SIGTERM (bounded wait)
for i in $(seq 50); do
    [ "$(backend_stats A "$B:8081" | jq .requests)" -ge 2 ] 2>/dev/null && break
    sleep 0.1
done
sleep 0.2
t0=$(date +%s%N)
kill -TERM "$PROXY_PID"
sleep 0.3
r=$(clpy raw "$LB_IP" 80 --data 'GET / HTTP/1.1\r\nHost: t\r\n\r\n' --timeout 2)
t_is "$(j "$r" .connected)" false "after SIGTERM new connections are refused" "$r"
wait $slow
t_is "$(cat "$T_DIR/slow.out")" 200 "the in-flight slow request completes with 200"
wait $idle
r=$(cat "$T_DIR/idle.json")
t_is "$(j "$r" .status):$(j "$r" .closed)" "200:true" "an idle keep-alive connection is closed by the drain" "$r"
t_le "$(j "$r" '.elapsed * 1000 | floor')" 1500 "the idle connection was closed soon after SIGTERM (ms since its request)"
if proxy_wait_exit 5; then
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    t_is "$PROXY_RC" 0 "the proxy exits 0 after draining"
    t_le "$ms" 3500 "it exits once the slow request is done, well before the 6s grace (ms)"
else
    t_fail "the proxy exits after draining" "still running 5s after SIGTERM"
    stop_pid "$PROXY_PID" KILL
fi
PROXY_PID=

# grace 1s: a 5s request is cut, the proxy exits after about 1s.
mkconf 1s
proxy_start "$conf" "tcp:$LB_IP:80"
in_cl curl -sS --max-time 10 -o /dev/null -w '%{http_code}' "http://$LB_IP/delay/5000" >"$T_DIR/slow2.out" 2>&1 &
slow=$!
for i in $(seq 50); do
    [ "$(backend_stats A "$B:8081" | jq .requests)" -ge 3 ] 2>/dev/null && break
    sleep 0.1
done
t0=$(date +%s%N)
kill -TERM "$PROXY_PID"
if proxy_wait_exit 5; then
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    if [ "$ms" -ge 700 ] && [ "$ms" -le 3000 ]; then t_ok "grace 1s: the proxy exits after about 1s ($ms ms)"
    else t_fail "grace 1s: the proxy exits after about 1s" "$ms ms"; fi
    t_is "$PROXY_RC" 0 "exit status 0 after the grace time"
else
    t_fail "grace 1s: the proxy exits after about 1s" "still running 5s after SIGTERM"
    stop_pid "$PROXY_PID" KILL
fi
wait $slow
t_like "$(cat "$T_DIR/slow2.out")" '^(000|5..)' "the request longer than the grace was cut" "$(cat "$T_DIR/slow2.out")"
PROXY_PID=
t_done
