#!/bin/bash
# pair_active_active.sh - the failover test bed, scenario 5: active-active
# with two VIPs (instance web1 / 198.51.100.100: lbA master; web2 /
# 198.51.100.101: lbB master; crossed priorities). Clients bind through
# both VIPs (so through both boxes) and every binding works through
# either VIP. Kill lbA: lbB serves both VIPs and all bindings. Revive lbA
# (it takes web1 back, tables resynced), bind more clients, kill lbB: lbA
# serves both VIPs and all bindings. Active-active leastconn counting:
# peer show's peer_conns_open follows the other box's open connections.
. "$(dirname "$0")/lib_pair.sh"
pair_need
t0=$(now_ms)
pair_topo_up
pair_conf aa
pair_up
ALL=$T_DIR/all.json
t_is "$(vip_holders "$VIP")/$(vip_holders "$VIP2")" "A/B" "each box is master of one VIP"

# check_all DESC: every binding so far, through both VIPs.
check_all() {
    local v r
    for v in "$VIP" "$VIP2"; do
        r=$(pcl check "$v" 80 --map "$ALL" --max-time 60)
        t_is "$(j "$r" .match)/$(j "$r" .n)" "$(j "$r" .n)/$(j "$r" .n)" "$1: every client reaches its server through $v" "$r"
    done
}

r1=$(pcl login "$VIP" 80 --n 200 --map "$T_DIR/a1.json")
r2=$(pcl login "$VIP2" 80 --n 200 --map "$T_DIR/b1.json")
t_is "$(j "$r1" .ok)/$(j "$r2" .ok)" "200/200" "200 clients bound through each VIP (each box)" "$r1" "$r2"
jq -s add "$T_DIR/a1.json" "$T_DIR/b1.json" >"$ALL"
sleep 0.2
check_all "both boxes up"

# ---- lbA dies: lbB serves both VIPs
pair_kill A
took=$(wait_until 5 has_vip B "$VIP")
t_diag "lbA killed -> $VIP on lbB after $took ms"
t_is "$(vip_holders "$VIP")/$(vip_holders "$VIP2")" "B/B" "lbB holds both VIPs"
t_is "$(vrrp_state B web1)/$(vrrp_state B web2)" "MASTER/MASTER" "lbB is MASTER of web1 and web2"
check_all "lbA dead"
r=$(pcl login "$VIP" 80 --n 100 --map "$T_DIR/b2.json")
t_is "$(j "$r" .ok)" 100 "100 new clients bound through $VIP on lbB" "$r"
jq -s add "$ALL" "$T_DIR/b2.json" >"$ALL.new" && mv "$ALL.new" "$ALL"

# ---- lbA returns, takes web1 back
pair_revive A || t_bail "box A did not restart"
wait_until 5 has_vip A "$VIP" >/dev/null
wait_until 3 lacks_vip B "$VIP" >/dev/null
ts=$(wait_sync A 10)
t_is "$(vip_holders "$VIP")/$(vip_holders "$VIP2")" "A/B" "lbA returned: web1 back on lbA, web2 stays on lbB"
tw=$(wait_sticky A "$ALL" 10)
t_diag "lbA synced ${ts} ms after its restart; its table complete after $tw ms more"
check_all "lbA back"

# Active-active counting: open connections through lbB are seen by lbA.
bg_start "$NS_CL" "$T_DIR/hold.log" "$PY" -c "
import socket, time
s = [socket.create_connection(('$VIP2', 81), timeout=3) for _ in range(6)]
for c in s: c.recv(64)
time.sleep(3)"
hold=$BG_PID
n=0
for i in $(seq 40); do
    n=$(peer_field A .peer_conns_open); [ "${n:-0}" -ge 6 ] && break; sleep 0.05
done
t_ge "${n:-0}" 6 "active-active: lbA sees lbB's 6 open tcp connections (peer_conns_open)"
stop_pid "$hold"

r=$(pcl login "$VIP" 80 --n 100 --map "$T_DIR/a2.json")
r2=$(pcl login "$VIP2" 80 --n 100 --map "$T_DIR/b3.json")
t_is "$(j "$r" .ok)/$(j "$r2" .ok)" "100/100" "100 more clients through each VIP" "$r" "$r2"
jq -s add "$ALL" "$T_DIR/a2.json" "$T_DIR/b3.json" >"$ALL.new" && mv "$ALL.new" "$ALL"
sleep 0.2

# ---- lbB dies: lbA serves both VIPs
pair_kill B
took=$(wait_until 5 has_vip A "$VIP2")
t_diag "lbB killed -> $VIP2 on lbA after $took ms"
t_is "$(vip_holders "$VIP")/$(vip_holders "$VIP2")" "A/A" "lbA holds both VIPs"
t_is "$(vrrp_state A web1)/$(vrrp_state A web2)" "MASTER/MASTER" "lbA is MASTER of web1 and web2"
check_all "lbB dead ($(jq length "$ALL") clients)"
pair_revive B || t_bail "box B did not restart"
wait_until 5 has_vip B "$VIP2" >/dev/null
t_diag "lbB back: sync after $(wait_sync B 10) ms, VIPs $(vip_holders "$VIP")/$(vip_holders "$VIP2")"
t_diag "runtime $(( ($(now_ms) - t0) / 1000 )) s"
pair_done
