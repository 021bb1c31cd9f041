#!/bin/bash
# pair_return.sh - the failover test bed, scenario 4: box A comes back.
# 300 clients bind through box A; A is killed; 300 more bind through box
# B while A is dead. A returns (preempt, the default): it becomes MASTER
# again and its tables are resynced: the entries made on B while A was
# dead and the entries A had before all map to their server through A (no
# sticky entry lost), checked right after the handback (with lbB's tables
# held back 3 s: lbB's redial not due yet) and after the resync. How long
# the VIP was on both boxes at the handback
# is measured from the kernel's address events. Then the nopreempt
# variant: A killed again, 200 clients bind through B, A returns with
# preempt = false: it stays BACKUP, B keeps the VIP, and both boxes'
# tables hold all 800 entries.
. "$(dirname "$0")/lib_pair.sh"
pair_need
t0=$(now_ms)
pair_topo_up
pair_conf ap
vipmon_start
pair_up
M1=$T_DIR/before.json M2=$T_DIR/during.json M3=$T_DIR/nopreempt.json ALL=$T_DIR/all.json

r=$(pcl login "$VIP" 80 --n 300 --map "$M1")
t_is "$(j "$r" .ok)" 300 "300 clients bound through lbA" "$r"
sleep 0.2
pair_kill A
took=$(wait_until 5 has_vip B "$VIP")
t_diag "lbA killed -> VIP on lbB after $took ms"
r=$(pcl login "$VIP" 80 --n 300 --map "$M2")
t_is "$(j "$r" .ok)" 300 "300 more clients bound through lbB while lbA is dead" "$r"
r=$(pcl check "$VIP" 80 --map "$M1")
t_is "$(j "$r" .match)" 300 "lbA's 300 clients reach their server through lbB" "$r"

# ---- A returns with preempt. lbA dials lbB at once (its tables go out);
# lbB's tables come in on lbB's own connection to lbA. Without help that
# one came 0.2 to 2 s after lbA's start (lbB's redial backoff, or a connect
# pending in the kernel's SYN retransmissions), sometimes after lbA had
# taken the VIP back (~0.5 s after its start): 2/3 of lbB's clients
# misrouted. Since 98c9543 lbB dials as soon as lbA greets it, but a
# snapshot can still come late (a big table, a slow link). To make the
# check deterministic, lbB's new sync connections to lbA are dropped for
# the first 3 s after lbA starts (nft, lbB's output): the tables are late,
# and lbA must not serve as MASTER before it has them.
sleep 0.5
in_box B nft -f - <<EOF || t_bail "nft rule (hold lbB's redial)"
table inet tbed_hold {
  chain out { type filter hook output priority 0; ip daddr $A_IP tcp dport $SYNC_PORT tcp flags syn drop; }
}
EOF
bg_start "$NS_B" "$T_DIR/hold.log" sh -c "sleep 3; nft delete table inet tbed_hold"
hold=$BG_PID
trev=$(now_ms)
pair_revive A || t_bail "box A did not restart"
tm=$(wait_until 15 has_vip A "$VIP")
wait_until 3 lacks_vip B "$VIP" >/dev/null
t_diag "lbA restarted: VIP back on lbA $(( $(now_ms) - trev )) ms after the revive began (${tm} ms after its daemons were up)"
# What a client sees right after the handback, before we wait for anything.
r=$(pcl check "$VIP" 80 --map "$M2" --c 8)
t_diag "right after the handback, the 300 clients made on lbB through lbA: $(j "$r" .match) match, $(j "$r" .mismatch) mismatch, $(j "$r" .errors) errors"
t_is "$(j "$r" .mismatch)" 0 "right after the handback, no client made on lbB lands elsewhere through lbA (lbB's redial held 3 s)" "$r"
wait "$hold"                   # the hold ends 3 s after lbA's start
ts=$(wait_sync A 10)
t_diag "sync connected again ${ts} ms later; lbA received $(peer_field A .received.sticky) sticky entries, $(peer_field A .received.snapshots) snapshots"
tmaster=$(log_ms "$T_DIR/vrrp-A.log" "instance web: .*-> MASTER")
tin=$(log_ms "$T_DIR/proxy-A.log" "sync: peer lb-B .* connected")
tout=$(log_ms "$T_DIR/proxy-A.log" "sync: connected to peer lb-B")
t_diag "after the revive began: lbA's link to lbB up at +$((tout - trev)) ms, lbA MASTER at +$((tmaster - trev)) ms, lbB's tables start arriving (lbB dialed in) at +$((tin - trev)) ms"
t_is "$(vrrp_state A web)/$(vrrp_state B web)/$(vip_holders "$VIP")" "MASTER/BACKUP/A" "preempt: lbA is MASTER again, the VIP on lbA only"
jq -s 'add' "$M1" "$M2" >"$ALL"
tw=$(wait_sticky A "$ALL" 10)
read -r present same missing <<<"$(sticky_cmp A "$ALL")"
t_diag "lbA's table: $present of the 600 ($same with the right server, $missing missing) after $tw ms"
t_is "$same/$missing" "600/0" "lbA's table has all 600 entries with their servers (resync)"
r=$(pcl check "$VIP" 80 --map "$ALL")
t_diag "through lbA: $(j "$r" .match) match, $(j "$r" .mismatch) mismatch, $(j "$r" .errors) errors"
t_is "$(j "$r" .match)" 600 "all 600 clients (made on A before, on B during) reach their server through lbA" "$r"
read -r ovmax ovtotal ovn ovev <<<"$(vipmon_overlap "$VIP")"
t_diag "VIP on both live boxes: longest $ovmax ms, $ovn time(s), $ovtotal ms in all ($ovev address events of the VIP seen)"
t_ge "${ovev:-0}" 3 "the address watch saw the VIP move"
t_le "$ovmax" 300 "at the handback the VIP is on both boxes for at most ~one advert interval (bound 300 ms)"

# ---- nopreempt: A returns as BACKUP
pair_kill A
took=$(wait_until 5 has_vip B "$VIP")
t_diag "lbA killed again -> VIP on lbB after $took ms"
r=$(pcl login "$VIP" 80 --n 200 --map "$M3")
t_is "$(j "$r" .ok)" 200 "200 clients bound through lbB" "$r"
pair_conf_box A ap "preempt = false;"
pair_revive A || t_bail "box A did not restart (nopreempt)"
ts=$(wait_sync A 10)
wait_state A web BACKUP 5      # out of FAULT once its proxy is ready (polled every 1 s)
sleep 1
t_is "$(vrrp_state A web)/$(vrrp_state B web)/$(vip_holders "$VIP")" "BACKUP/MASTER/B" \
    "preempt = false: lbA returns as BACKUP, lbB keeps the VIP"
jq -s 'add' "$M1" "$M2" "$M3" >"$ALL"
tw=$(wait_sticky A "$ALL" 10)
read -r present same missing <<<"$(sticky_cmp A "$ALL")"
t_is "$same/$missing" "800/0" "lbA (BACKUP) has all 800 entries after the resync ($tw ms)"
r=$(pcl check "$VIP" 80 --map "$ALL")
t_is "$(j "$r" .match)" 800 "all 800 clients reach their server through lbB" "$r"
r=$(pcl check "$A_IP" 8000 --map "$ALL")
t_is "$(j "$r" .match)" 800 "and through lbA's own address" "$r"
read -r ovmax ovtotal ovn ovev <<<"$(vipmon_overlap "$VIP")"
t_le "$ovmax" 300 "the VIP was never on both live boxes longer than 300 ms (longest $ovmax ms)"
t_diag "runtime $(( ($(now_ms) - t0) / 1000 )) s"
pair_done
