#!/bin/bash
# pair_sync_cut.sh - the failover test bed, scenario 6: the sync link
# alone is cut (an nft rule in lbB's namespace drops tcp port 7400 both
# ways; VRRP and client traffic pass). No failover: the VIP stays on lbA,
# VRRP states do not change; peer show says not connected on both boxes
# and the lost link is logged. Sticky entries made on lbA during the cut
# are not on lbB (and lbB, asked directly, sends about 2/3 of those
# clients elsewhere: the control). The rule removed, the link is up again
# within seconds and the entries are on lbB (resync/resume). (The
# opposite, VRRP alone cut while the sync link is up, is
# pair_split_brain.sh.)
. "$(dirname "$0")/lib_pair.sh"
pair_need
command -v nft >/dev/null || t_bail "nft (nftables) is needed"
t0=$(now_ms)
pair_topo_up
pair_conf ap
vipmon_start
pair_up

r=$(pcl login "$VIP" 80 --n 100 --map "$T_DIR/m0.json")
t_is "$(j "$r" .ok)" 100 "100 clients bound through lbA before the cut" "$r"
t=$(wait_sticky B "$T_DIR/m0.json" 5)
t_is "$(sticky_cmp B "$T_DIR/m0.json")" "100 100 0" "lbB has them ($t ms)"
trA=$(j "$(vrrp_ctl A show json)" '.instances[0].transitions | length')
trB=$(j "$(vrrp_ctl B show json)" '.instances[0].transitions | length')
vipB=$(grep -c " $VIP/" "$T_DIR/mon-B.log")

# ---- the cut: tcp port 7400 dropped in lbB, both directions
in_box B nft -f - <<'EOF' || t_bail "nft rule"
table inet tbed_sync {
  chain in  { type filter hook input priority 0; tcp dport 7400 drop; tcp sport 7400 drop; }
  chain out { type filter hook output priority 0; tcp dport 7400 drop; tcp sport 7400 drop; }
}
EOF
tcut=$(now_ms)
ta=$(wait_unsync A 6); tb=$(wait_unsync B 6)
t_diag "sync port dropped in lbB: peer show not connected after $ta ms on lbA, $tb ms on lbB"
t_is "$(peer_field A .connected)/$(peer_field B .connected)" "false/false" "peer show: not connected on both boxes"
t_like "$(sed -n '/sync: connected to peer/,$p' "$T_DIR/proxy-A.log")" "warning: sync: link (to|from) peer lb-B lost" "lbA logs the lost link (warning)"
t_like "$(sed -n '/sync: connected to peer/,$p' "$T_DIR/proxy-B.log")" "warning: sync: link (to|from) peer lb-A lost" "lbB logs the lost link (warning)"
t_like "$(pctl B peer show)" "connected: +NO" "peer show (text) on lbB: connected NO"

r=$(pcl login "$VIP" 80 --n 300 --map "$T_DIR/m1.json")
t_is "$(j "$r" .ok)" 300 "300 clients bound through lbA during the cut" "$r"
sleep 0.5
read -r present same missing <<<"$(sticky_cmp B "$T_DIR/m1.json")"
t_is "$present" 0 "the 300 entries made during the cut are not on lbB"
r=$(pcl check "$B_IP" 8000 --map "$T_DIR/m1.json")
t_diag "control: lbB asked directly sends $(j "$r" .mismatch) of the 300 elsewhere ($(j "$r" .match) right by chance)"
t_ge "$(j "$r" .mismatch)" 150 "control: without the entries lbB sends about 2/3 of them elsewhere" "$r"
r=$(pcl check "$VIP" 80 --map "$T_DIR/m1.json")
t_is "$(j "$r" .match)" 300 "through the VIP (lbA) all 300 reach their server" "$r"
# keep the cut for at least 3 s in all, then look at VRRP
for i in $(seq 40); do [ $(( $(now_ms) - tcut )) -lt 3000 ] || break; sleep 0.1; done
t_is "$(vip_holders "$VIP")/$(vrrp_state A web)/$(vrrp_state B web)" "A/MASTER/BACKUP" "no failover: VIP on lbA, states unchanged"
t_is "$(j "$(vrrp_ctl A show json)" '.instances[0].transitions | length')/$(j "$(vrrp_ctl B show json)" '.instances[0].transitions | length')" \
    "$trA/$trB" "no VRRP transition during the cut"
t_is "$(( $(grep -c " $VIP/" "$T_DIR/mon-B.log") - vipB ))" 0 "the VIP never appeared on lbB during the cut"
t_is "$(peer_field A .split_brain)/$(peer_field B .split_brain)" "/" "no split brain reported (VRRP works)"
resyncs_before=$(peer_field B .received.snapshots)

# ---- the rule removed: the link returns, the entries reach lbB
in_box B nft delete table inet tbed_sync
ta=$(wait_sync A 15); ra=$?
tb=$(wait_sync B 15); rb=$?
t_diag "rule removed: connected after $ta ms (lbA), $tb ms (lbB)"
t_is "$ra$rb" 00 "peer show is connected again on both boxes within 15 s"
t_le "$(( ta > tb ? ta : tb ))" 5000 "the link returns within a few seconds (reconnect_max 1 s)"
tw=$(wait_sticky B "$T_DIR/m1.json" 10)
read -r present same missing <<<"$(sticky_cmp B "$T_DIR/m1.json")"
t_diag "lbB has $same of the 300 after $tw ms more (snapshots received $resyncs_before -> $(peer_field B .received.snapshots), resyncs $(peer_field B .resyncs))"
t_is "$same/$missing" "300/0" "after the link returns the 300 entries are on lbB"
r=$(pcl check "$B_IP" 8000 --map "$T_DIR/m1.json")
t_is "$(j "$r" .match)" 300 "lbB asked directly now sends all 300 to their server" "$r"
t_is "$(sticky_cmp B "$T_DIR/m0.json")" "100 100 0" "the entries from before the cut are still on lbB"

t_diag "runtime $(( ($(now_ms) - t0) / 1000 )) s"
pair_done
