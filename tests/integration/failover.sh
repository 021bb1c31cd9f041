#!/bin/bash
# failover.sh - a server killed (SIGKILL) in the middle of a load run: the
# requests go on over the other servers with at most a handful of failures
# (those in flight on the killed server), and afterwards, with the dead
# server still configured, idempotent requests that pick it are retried on
# another server (connect refused) so none fails.
. "$(dirname "$0")/lib.sh"
t_need_root; t_need_proxy
topo_up

B=${BE_IPS[0]}
backend_start A "$B:8081"
backend_start B "$B:8082"
backend_start C "$B:8083"

conf=$T_DIR/tandem.conf
{
    conf_global 2
    cat <<EOF
frontends = ( { name = "www"; bind = "$LB_IP:80"; mode = "http"; backend = "web"; } );
backends = ( { name = "web"; algorithm = "roundrobin"; retries = 2;
  servers = ( { name = "A"; addr = "$B:8081"; }, { name = "B"; addr = "$B:8082"; },
              { name = "C"; addr = "$B:8083"; } ); } );
EOF
} | proxy_conf "$conf"
proxy_start "$conf" "tcp:$LB_IP:80"

C=4
r=$(clpy load "$LB_IP" 80 --n 900 --c $C --keepalive --max-time 40 \
    --at "300:kill -KILL ${BE_PID[B]}")
t_diag "load: $r"
wait "${BE_PID[B]}" 2>/dev/null
t_is "$(j "$r" .total)" 900 "all 900 requests were made"
t_le "$(j "$r" .fail)" $C "at most $C requests (the ones in flight on B) fail when B is killed" "$r"
b=$(j "$r" '.backends.B // 0')
t_le "$b" 320 "B served nothing after it was killed (B served $b; 300 were done at the kill)" "$r"
ac=$(( $(j "$r" '.backends.A // 0') + $(j "$r" '.backends.C // 0') ))
t_ge "$ac" 570 "A and C carried the rest"

# B stays dead and configured: connect refused -> retried on A or C.
r=$(clpy load "$LB_IP" 80 --n 60 --c 1)
t_is "$(j "$r" .ok):$(j "$r" '.backends.B // 0')" "60:0" "with B down, 60 new-connection requests all succeed (connect failures retried)" "$r"
r=$(clpy load "$LB_IP" 80 --n 60 --c 2 --keepalive)
t_is "$(j "$r" .ok)" 60 "with B down, 60 keep-alive requests all succeed" "$r"

# B comes back: it gets traffic again.
backend_start B "$B:8082"
r=$(clpy load "$LB_IP" 80 --n 30 --c 1 --keepalive)
t_ge "$(j "$r" '.backends.B // 0')" 5 "B is used again once it is back" "$r"

proxy_stop_check
t_done
