#!/bin/bash
# vrrp_owner.sh - priority 255, the address owner (RFC 5798 6.4.1): lbA
# owns 198.51.100.11 (its own address) and becomes MASTER at startup
# without waiting for Master_Down_Interval; lbB (priority 100, the same
# VIP) stays BACKUP and sees a priority 255 master. The owner never adds
# or removes the address: it stays on lbA after a clean stop.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_vrrp.sh"
t_need_root; t_need_vrrp
vrrp_topo_up

oconf() {   # oconf BOX PRIO
    cat >"$T_DIR/$1.conf" <<EOC
vrrp = { interface = "eth0"; status_socket = "$(vrrp_sock_path "$1")"; sched_rr = false;
         instances = ( { name = "own"; vrid = 71; priority = $2; advert_ms = 1000;
                         vips = [ "$A_IP/24" ]; } ); };
EOC
    echo "$T_DIR/$1.conf"
}
vrrp_start B "$(oconf B 100)" || t_bail "agent B"
t0=$(now_ms)
vrrp_start A "$(oconf A 255)" || t_bail "agent A"
wait_state A own MASTER 2
t=$(( $(now_ms) - t0 ))
t_diag "owner MASTER $t ms after start (Master_Down_Interval would be 3 s)"
t_le "$t" 900 "the owner is MASTER at once"
t_like "$(vrrp_ctl A show own)" "INIT -> MASTER \(startup as address owner \(priority 255\)\)" "as address owner"
sleep 1.5
show=$(vrrp_ctl B show own json)
t_is "$(j "$show" '.instances[0].state')/$(j "$show" '.instances[0].master')" "BACKUP/$A_IP" \
    "B is BACKUP of the owner"
t_ge "$(j "$show" '.instances[0].packets.in')" 1 "B accepts the owner's adverts"
vrrp_kill A TERM
t_is "$VRRP_RC" 0 "the owner exits 0"
t_check "the owner's own address stays on lbA" vip_on A "$A_IP"
vrrp_kill B TERM
t_done
