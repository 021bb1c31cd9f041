#!/bin/bash
# vrrp_active.sh - active-active: two instances per box with crossed
# priorities (lbA is master of "web" / 198.51.100.100, lbB of "db" /
# 198.51.100.101) sharing one raw socket per box; when lbA's agent is
# SIGKILLed lbB holds both VIPs, and lbA's copy of its VIP expires.
# lbA runs with sched_rr = true (SCHED_RR, memory locked).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_vrrp.sh"
t_need_root; t_need_vrrp
vrrp_topo_up
VIP2=198.51.100.101

conf2() {   # conf2 BOX PRIO_WEB PRIO_DB [SCHED_RR]
    cat >"$T_DIR/$1.conf" <<EOC
vrrp = { interface = "eth0"; status_socket = "$(vrrp_sock_path "$1")"; sched_rr = ${4:-false};
         instances = ( { name = "web"; vrid = 51; priority = $2; advert_ms = 100; vips = [ "$VIP/24" ]; },
                       { name = "db"; vrid = 52; priority = $3; advert_ms = 100; vips = [ "$VIP2/24" ]; }
                       ${5:-} ); };
EOC
    echo "$T_DIR/$1.conf"
}
# lbA also has an instance on an interface that does not exist yet.
LATE=', { name = "late"; vrid = 53; priority = 100; advert_ms = 100; interface = "late0";
         vips = [ "203.0.113.102/24" ]; }'
vrrp_start A "$(conf2 A 150 100 true "$LATE")" || t_bail "agent A"
vrrp_start B "$(conf2 B 100 150)" || t_bail "agent B"
wait_state A web MASTER 3; wait_state B db MASTER 3
sleep 0.3
t_is "$(vip_holders $VIP)/$(vip_holders $VIP2)" "A/B" "each box is master of one VIP"
t_is "$(vrrp_state A db)/$(vrrp_state B web)" "BACKUP/BACKUP" "and backup of the other"
t_is "$(vrrp_state A late)" FAULT "an instance on a missing interface starts FAULT"
t_like "$(vrrp_ctl A show late)" "FAULT \(interface late0 down\)" "and says why"
in_box A ip link add late0 type veth peer name late1
in_box A ip addr add 203.0.113.50/24 dev late0
in_box A ip link set late1 up
in_box A ip link set late0 up
late_up() { in_box A ip -o addr show dev late0 2>/dev/null | grep -qF " 203.0.113.102/"; }
t=$(wait_until 4 late_up)
t_diag "late0 created -> instance late master on it after $t ms"
t_is "$(vrrp_state A late)" MASTER "the instance starts when its interface appears"
pol=$(chrt -p "${VRRP_PID[A]}" 2>&1 | head -1)
t_like "$pol" "SCHED_RR" "sched_rr = true runs the agent SCHED_RR ($pol)"
show=$(vrrp_ctl A show json)
t_is "$(j "$show" '[.instances[].packets.dropped.vrid] | add')" 0 "no advert dropped for a wrong VRID on the shared socket"

vrrp_kill A KILL
took=$(wait_until 5 has_vip B $VIP)
t_diag "SIGKILL of A -> web's VIP on B after $took ms"
wait_until 3 lacks_vip A $VIP >/dev/null
t_is "$(vip_holders $VIP)/$(vip_holders $VIP2)" "B/B" "B holds both VIPs after A's agent died"
t_check "client reaches both VIPs" in_cl ping -c1 -W1 -q $VIP
t_check "client reaches the second VIP" in_cl ping -c1 -W1 -q $VIP2
vrrp_kill B TERM
t_is "$VRRP_RC" 0 "B exits 0"
t_is "$(vip_holders $VIP)$(vip_holders $VIP2)" "" "B removed both VIPs on SIGTERM"
t_done
