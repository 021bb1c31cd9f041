#!/bin/bash
# tcp.sh - mode tcp: bytes relayed both ways (a server-speaks-first banner,
# an echo), half-close (the client's FIN reaches the server while the
# server->client direction stays open for its trailer), a 64 MB transfer
# intact, several connections at once, round robin over servers, a dead
# server skipped.
. "$(dirname "$0")/lib.sh"
t_need_root; t_need_proxy
topo_up

B=${BE_IPS[0]}
backend_multi echo E1@$B:7001 E2@$B:7002 -- --tcp-echo

conf=$T_DIR/tandem.conf
{
    conf_global 2
    cat <<EOF
frontends = ( { name = "tcp"; bind = "$LB_IP:7000"; mode = "tcp"; backend = "echo"; },
              { name = "tcpdead"; bind = "$LB_IP:7100"; mode = "tcp"; backend = "withdead"; } );
backends = ( { name = "echo"; algorithm = "roundrobin";
               servers = ( { name = "E1"; addr = "$B:7001"; }, { name = "E2"; addr = "$B:7002"; } ); },
             { name = "withdead"; algorithm = "roundrobin"; retries = 2;
               servers = ( { name = "E1"; addr = "$B:7001"; }, { name = "D"; addr = "$B:7009"; } ); } );
EOF
} | proxy_conf "$conf"
proxy_start "$conf" "tcp:$LB_IP:7000" "tcp:$LB_IP:7100"

r=$(clpy tcp "$LB_IP" 7000 --bytes 5000 --halfclose)
t_like "$(j "$r" .banner)" '^E[12]$' "the server's banner reaches the client" "$r"
t_is "$(j "$r" .intact)" true "5000 bytes echoed intact" "$r"
t_is "$(j "$r" .trailer)" "EOF $(j "$r" .banner)" \
    "half-close: the client's FIN reaches the server, whose later trailer still reaches the client" "$r"

SIZE=$((64 * 1024 * 1024))
r=$(clpy tcp "$LB_IP" 7000 --bytes $SIZE --halfclose --timeout 60)
t_is "$(j "$r" .intact):$(j "$r" .received)" "true:$SIZE" "64 MB each way intact" "$r"
t_diag "64 MB echo took $(j "$r" .elapsed)s"

# 8 connections at once, 2 MB each.
pids=()
for i in $(seq 8); do
    clpy tcp "$LB_IP" 7000 --bytes 2000000 --halfclose --timeout 30 >"$T_DIR/par$i.json" &
    pids+=($!)
done
wait "${pids[@]}"
ok=0; seen=""
for i in $(seq 8); do
    [ "$(jq -r .intact "$T_DIR/par$i.json")" = true ] && ok=$((ok + 1))
    seen="$seen $(jq -r .banner "$T_DIR/par$i.json")"
done
t_is "$ok" 8 "8 concurrent connections, 2 MB each, all intact" "$(cat "$T_DIR"/par*.json)"
t_is "$(printf '%s\n' $seen | sort -u | tr '\n' ' ')" "E1 E2 " "connections are spread over both servers" "$seen"

# Round robin on one worker thread would alternate; with two threads each
# server still gets some of 10 sequential connections.
seen=""
for i in $(seq 10); do seen="$seen $(clpy tcp "$LB_IP" 7000 --bytes 10 --halfclose | jq -r .banner)"; done
e1=$(printf '%s\n' $seen | grep -c E1)
if [ "$e1" -ge 3 ] && [ "$e1" -le 7 ]; then t_ok "10 sequential connections: E1 got $e1"
else t_fail "10 sequential connections spread over E1 and E2 (3..7 on E1)" "$seen"; fi

# A dead server is skipped (connect refused, retried on the other).
fails=0
for i in $(seq 6); do
    r=$(clpy tcp "$LB_IP" 7100 --bytes 100 --halfclose 2>&1)
    [ "$(j "$r" .intact)" = true ] || fails=$((fails + 1))
done
t_is "$fails" 0 "with one of two servers refusing, 6 connections all reach the live one"

proxy_stop_check
t_done
