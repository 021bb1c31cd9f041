#!/bin/bash
# vrrp_ipv6.sh - an IPv6 instance (VIP 2001:db8:1::100/64, adverts from the
# link-local address to ff02::12, hop limit 255): election, unsolicited
# neighbour advertisements, SIGKILL takeover, VIP expiry, tshark decoding;
# then the same in unicast mode (global addresses).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_vrrp.sh"
t_need_root; t_need_vrrp
vrrp_topo_up
cap_start || t_diag "no tshark: packets not decoded"

conf6() {   # conf6 BOX PRIO [INSTANCE_KEYS]
    cat >"$T_DIR/$1-6.conf" <<EOC
vrrp = { interface = "eth0"; status_socket = "$(vrrp_sock_path "$1")"; sched_rr = false;
         instances = ( { name = "web6"; vrid = 61; priority = $2; advert_ms = 100;
                         vips = [ "$VIP6/64" ]; ${3:-} } ); };
EOC
    echo "$T_DIR/$1-6.conf"
}
vrrp_start A "$(conf6 A 200)" || t_bail "agent A"
vrrp_start B "$(conf6 B 100)" || t_bail "agent B"
wait_state A web6 MASTER 3 && wait_state B web6 BACKUP 1
t_is "$(vrrp_state A web6)/$(vrrp_state B web6)" "MASTER/BACKUP" "IPv6 election"
t_is "$(vip_holders $VIP6)" A "only A holds the IPv6 VIP"
t_check "client reaches the IPv6 VIP" in_cl ping -6 -c1 -W1 -q $VIP6
master=$(j "$(vrrp_ctl B show web6 json)" '.instances[0].master')
t_like "$master" "^fe80:" "B learned the master's link-local address ($master)"

vrrp_kill A KILL
took=$(wait_until 5 has_vip B $VIP6)
t_diag "IPv6: SIGKILL of A -> VIP on B after $took ms (MDI $(mdi_ms 100 100) ms)"
t_le "$took" $(( $(mdi_ms 100 100) + 250 )) "IPv6: B takes over within Master_Down_Interval"
gone=$(wait_until 5 lacks_vip A $VIP6)
t_diag "IPv6: the killed agent's VIP left lbA after $gone ms"
t_le "$gone" 2500 "IPv6: the dead agent's VIP expires by itself"
t_is "$(vip_holders $VIP6)" B "IPv6: exactly one holder"
t_check "client reaches the IPv6 VIP on B" in_cl ping -6 -c1 -W1 -q $VIP6
vrrp_kill B TERM

# IPv6 unicast: global source addresses, adverts to the peer only.
vrrp_start A "$(conf6 A 200 "unicast_peer = \"$B_IP6\";")" || t_bail "agent A unicast"
vrrp_start B "$(conf6 B 100 "unicast_peer = \"$A_IP6\";")" || t_bail "agent B unicast"
wait_state A web6 MASTER 3 && wait_state B web6 BACKUP 1
t_is "$(vrrp_state A web6)/$(vrrp_state B web6)" "MASTER/BACKUP" "IPv6 unicast election"
sleep 0.5
show=$(vrrp_ctl B show web6 json)
t_is "$(j "$show" '.instances[0].master')" "$A_IP6" "B's master is A's global address"
t_ge "$(j "$show" '.instances[0].packets.in')" 3 "B hears A's unicast IPv6 adverts"
vrrp_kill A KILL
took=$(wait_until 5 has_vip B $VIP6)
t_diag "IPv6 unicast: SIGKILL of A -> VIP on B after $took ms"
t_le "$took" $(( $(mdi_ms 100 100) + 250 )) "IPv6 unicast: B takes over within Master_Down_Interval"
vrrp_kill B TERM
cap_stop
if [ -s "$T_DIR/cap.pcap" ]; then
    cap_check_vrrp "IPv6 adverts"
    bad=$(tshark -r "$T_DIR/cap.pcap" -Y "vrrp && (ipv6.hlim != 255 || (ipv6.dst != ff02::12 && ipv6.dst != $A_IP6 && ipv6.dst != $B_IP6))" 2>/dev/null | wc -l)
    t_is "$bad" 0 "IPv6 adverts go to ff02::12 or the peer, with hop limit 255"
    uc=$(tshark -r "$T_DIR/cap.pcap" -Y "vrrp && ipv6.src == $A_IP6 && ipv6.dst == $B_IP6" 2>/dev/null | wc -l)
    t_ge "$uc" 3 "IPv6 unicast adverts from A's global address to B's"
    na=$(tshark -r "$T_DIR/cap.pcap" -Y "icmpv6.type == 136 && ipv6.dst == ff02::1 && icmpv6.nd.na.flag.o == 1 && icmpv6.nd.na.target_address == $VIP6 && ipv6.hlim == 255" 2>/dev/null | wc -l)
    t_ge "$na" 6 "unsolicited NAs (override, hop limit 255) for the VIP: 3 per takeover"
fi
t_done
