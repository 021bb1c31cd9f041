#!/bin/bash
# pair_split_brain.sh - the sync channel as a second heartbeat: VRRP between
# the boxes is cut (an nft rule inside lbB drops protocol 112 both ways)
# while the sync link stays up. Both agents become MASTER of "web" and
# both boxes hold the VIP: each proxy sees it in the other's heartbeat,
# logs SPLIT BRAIN and shows it in `peer show`. With VRRP restored, lbB
# hears the higher priority again, gives the VIP back, and the report
# clears.
. "$(dirname "$0")/lib_pair.sh"
pair_need
command -v nft >/dev/null || t_bail "nft (Debian package nftables) is needed"
pair_topo_up
pair_conf ap
pair_up

t_is "$(peer_field A .split_brain)/$(peer_field B .split_brain)" "/" "no split brain while VRRP works"
t_is "$(peer_field A .vips_held)/$(peer_field B .peer_vips_held)" "web/web" \
    "lbA holds instance web, and lbB knows it from lbA's heartbeats"

in_box B nft -f - <<'NFT' || t_bail "nft rule in lbB"
table inet splitbrain {
    chain in  { type filter hook input priority 0; ip protocol vrrp drop; }
    chain out { type filter hook output priority 0; ip protocol vrrp drop; }
}
NFT
cut=$(now_ms)
_both() { [ "$(vip_holders "$VIP")" = AB ]; }
both=$(wait_until "$(pair_scale 5)" _both) || t_fail "both boxes hold the VIP once VRRP is cut" \
    "holders: $(vip_holders "$VIP")" "B: $(vrrp_ctl B show)"
t_ok "VRRP cut: lbB becomes MASTER too, both hold the VIP ($both ms after the cut)"
_reported() { [ "$(peer_field "$1" .split_brain)" = web ]; }
ta=$(wait_until "$(pair_scale 3)" _reported A)
tb=$(wait_until "$(pair_scale 3)" _reported B)
t_is "$(peer_field A .split_brain)" web "lbA's peer show reports the split brain (instance web)"
t_is "$(peer_field B .split_brain)" web "lbB's peer show reports it too"
t_diag "reported $ta ms (lbA) and $tb ms (lbB) after both held the VIP; heartbeat 200 ms"
t_le "${ta:-9999}" "$(pair_scale 1000)" "detected within a few heartbeats"
t_is "$(peer_field A .connected)" true "the sync link stays up meanwhile"
for box in A B; do
    t_like "$(cat "$T_DIR/proxy-$box.log")" "error: sync: SPLIT BRAIN: VRRP instance\(s\) web: both lb-. and lb-. hold the VIPs while the sync link is up" \
        "lb$box logs the split brain at error level"
done
t_like "$(pctl A peer show)" "split brain: +web" "tandemctl peer show names the instance"

in_box B nft delete table inet splitbrain
_one() { [ "$(vip_holders "$VIP")" = A ]; }
t=$(wait_until "$(pair_scale 5)" _one) || t_fail "lbB gives the VIP back once VRRP is restored" \
    "holders: $(vip_holders "$VIP")"
t_diag "VRRP restored: lbB back to BACKUP, the VIP on lbA alone after $t ms"
_cleared() { [ -z "$(peer_field "$1" .split_brain)" ]; }
wait_until "$(pair_scale 3)" _cleared A >/dev/null
wait_until "$(pair_scale 3)" _cleared B >/dev/null
t_is "$(peer_field A .split_brain)/$(peer_field B .split_brain)" "/" "the report clears on both boxes"
t_like "$(cat "$T_DIR/proxy-A.log")" "sync: split brain over: web" "lbA logs the end of it"
t_diag "split brain lasted $(( $(now_ms) - cut )) ms from the cut to the restore"
pair_done
