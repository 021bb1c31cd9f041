#!/bin/bash
# pair_sticky.sh - the failover test bed, scenario 2: sticky sessions
# survive the death of the box that made them. 1,000 clients log in
# through the VIP on box A (the backend sets JSESSIONID=NAME-N, box A
# learns value -> server: app-cookie persistence, which only a box that
# has the entry can honour); 200 ms later box A is killed (link down,
# SIGKILL of both daemons); every one of the 1,000 cookies must reach its
# server through box B (0 mismatches). The control: the same cookies sent
# to box B's own address while it does NOT know them (a cleared table)
# land on their server only about 1/3 of the time.
. "$(dirname "$0")/lib_pair.sh"
pair_need
t0=$(now_ms)
pair_topo_up
pair_conf ap
pair_up
MAP=$T_DIR/clients.json

r=$(pcl login "$VIP" 80 --n 1000 --c 8 --map "$MAP" --max-time 120)
t_diag "1000 logins through lbA in $(j "$r" .elapsed) s: $(j "$r" '.servers | to_entries | map("\(.key) \(.value)") | join(", ")')"
t_is "$(j "$r" .ok)/$(j "$r" .map_size)" "1000/1000" "1000 clients, each with its own JSESSIONID" "$r"
t_is "$(j "$r" '[.servers[] | select(. >= 250)] | length')" 3 "spread over W1-W3 by round robin (each >= 250)" "$r"

sleep 0.2
read -r present same missing <<<"$(sticky_cmp B "$MAP")"
t_diag "200 ms after the last login lbB's table has $present of the 1000 ($same with the same server); peer show B: received sticky $(peer_field B .received.sticky), lag $(peer_field B .lag_events) events"
t_is "$same" 1000 "lbB learned every binding from lbA within 200 ms"

# Control: lbA's table asked through lbA's own address (not the VIP): all match.
r=$(pcl check "$A_IP" 8000 --map "$MAP" --c 8 --max-time 120)
t_is "$(j "$r" .match)" 1000 "control: lbA itself honours all 1000 cookies" "$r"

pair_kill A
took=$(wait_until 5 has_vip B "$VIP")
t_diag "lbA killed -> VIP on lbB after $took ms"
wait_until 3 _is_unsynced B >/dev/null
r=$(pcl check "$VIP" 80 --map "$MAP" --c 8 --max-time 120)
t_diag "through the VIP on lbB: $(j "$r" .match) match, $(j "$r" .mismatch) mismatch, $(j "$r" .errors) errors ($(j "$r" .retried) needed a retry) in $(j "$r" .elapsed) s"
t_is "$(j "$r" .mismatch)" 0 "after the failover no client reaches another server than its own" "$r"
t_is "$(j "$r" .match)" 1000 "all 1000 clients reach their server through lbB" "$r"

# Control (meaningful test): lbB without the entries would scatter them.
out=$(pctl B clear sticky app)
t_like "$out" "1000" "control: clear sticky app on lbB removes the 1000 entries" "$out"
r=$(pcl check "$VIP" 80 --map "$MAP" --c 8 --max-time 120)
t_diag "control, lbB without the entries: $(j "$r" .match) of 1000 on their server by chance"
t_ge "$(j "$r" .mismatch)" 500 "control: without the entries about 2/3 of the clients land elsewhere" "$r"
t_diag "runtime $(( ($(now_ms) - t0) / 1000 )) s"
pair_done
