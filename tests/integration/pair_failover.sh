#!/bin/bash
# pair_failover.sh - the failover test bed, scenario 1: active-passive
# pair (tandem-proxy + tandem-vrrp on lbA and lbB, one config file per box,
# 100 ms adverts, sync channel up). Box A is killed (link down, SIGKILL of
# both daemons) while a client sends a steady stream of new requests to
# the VIP (one every 10 ms, each on a new connection with a 100 ms
# timeout, 300 ms with ASan): the gap with no successful request and the
# failed requests are measured; box B serves afterwards, alone, and
# reports the sync link lost.
. "$(dirname "$0")/lib_pair.sh"
pair_need
t0=$(now_ms)
pair_topo_up
pair_conf ap
pair_up

r=$(pcl login "$VIP" 80 --n 30 --map "$T_DIR/warm.json")
t_is "$(j "$r" .ok)" 30 "30 requests through the VIP before the kill" "$r"
t_is "$(j "$r" '.servers | keys | join(" ")')" "W1 W2 W3" "round robin over the three servers" "$r"

# The stream: 7 s (12 s with ASan), the kill 2 s in.
dur=$(( $(pair_scale 7) > 12 ? 12 : $(pair_scale 7) ))
bg_start "$NS_CL" "$T_DIR/stream.log" "$PY" "$T_LIBDIR/pair_client.py" stream "$VIP" 80 \
    --out "$T_DIR/stream.json" --duration "$dur" --interval 0.01 --timeout "$(proxy_is_asan && echo 0.3 || echo 0.1)"
stream=$BG_PID
sleep 2
pair_kill A
took=$(wait_until 5 has_vip B "$VIP")
t_diag "SIGKILL of lbA's daemons + link down -> VIP on lbB after $took ms"
wait "$stream"
g=$(pcl gap "$T_DIR/stream.json" --kill "$PAIR_KILL_AT")
gap=$(j "$g" .gap_ms)
t_diag "stream: $(j "$g" .requests) requests, $(j "$g" .failed) failed; last success on A -> first on B: ${gap} ms; first success $(j "$g" .first_ok_after_kill_ms) ms after the kill"
t_diag "failed requests started at (ms from the kill): $(j "$g" '.failed_at_ms | join(" ")')"
t_le "${gap:-99999}" 2000 "failover gap under a steady request stream (target 500 ms with 100 ms adverts)" "$g"
t_ge "$(j "$g" .ok_before)" 50 "requests succeeded before the kill" "$g"
t_ge "$(j "$g" .ok_after)" 100 "requests succeed after the failover (through lbB)" "$g"
t_is "$(j "$g" .failed_after_first_success)" 0 "no failed request once lbB answered" "$g"
t_le "$(j "$g" .failed)" 200 "failed requests during the failover (bounded)" "$g"

t_is "$(vrrp_state B web)/$(vip_holders "$VIP")" "MASTER/B" "lbB is MASTER and holds the VIP alone"
r=$(pcl login "$VIP" 80 --n 30 --map "$T_DIR/after.json")
t_is "$(j "$r" .ok)/$(j "$r" '.servers | keys | join(" ")')" "30/W1 W2 W3" "lbB balances new clients over the three servers" "$r"
t=$(wait_unsync B 5)
t_is "$(peer_field B .connected)" false "lbB's peer show: not connected (after $t ms)"
t_like "$(cat "$T_DIR/proxy-B.log")" "sync: link (to|from) peer .* lost" "lbB logs the lost sync link"
t_is "$(peer_field B .split_brain)" "" "no split brain reported"
t_diag "runtime $(( ($(now_ms) - t0) / 1000 )) s"
pair_done
