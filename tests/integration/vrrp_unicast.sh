#!/bin/bash
# vrrp_unicast.sh - unicast mode (each agent sends to its configured peer,
# nothing to 224.0.0.18) and bad input: spoofed or malformed adverts (from
# a non-peer, TTL not 255, wrong version, wrong VRID, bad checksum) are
# dropped, counted by reason, and change nothing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_vrrp.sh"
t_need_root; t_need_vrrp
vrrp_topo_up
cap_start || t_diag "no tshark: packets not decoded"

confA=$(vrrp_conf A 150 "unicast_peer = \"$B_IP\";")
confB=$(vrrp_conf B 100 "unicast_peer = \"$A_IP\";")
vrrp_start A "$confA" || t_bail "agent A"
vrrp_start B "$confB" || t_bail "agent B"
wait_state A web MASTER 3 && wait_state B web BACKUP 1
t_is "$(vrrp_state A web)/$(vrrp_state B web)" "MASTER/BACKUP" "unicast election"
t_is "$(vip_holders $VIP)" A "only A holds the VIP"
sleep 0.5
show=$(vrrp_ctl B show json)
t_ge "$(j "$show" '.instances[0].packets.in')" 3 "B hears A's unicast adverts"

# Spoofed/malformed adverts at B, all with a priority that would win.
send() { in_cl "$PY" "$T_LIBDIR/vrrp_send.py" "$@"; }
send "$CL_IP" "$B_IP" --prio 254                      # not the configured peer
send "$A_IP" "$B_IP" --prio 254 --ttl 64               # TTL not 255 (spoofed peer)
send "$A_IP" "$B_IP" --prio 254 --version 2            # VRRPv2
send "$A_IP" "$B_IP" --prio 254 --bad-checksum
send "$A_IP" "$B_IP" --prio 254 --vrid 77              # a VRID B does not run
sleep 0.3
show=$(vrrp_ctl B show json)
d() { j "$show" ".instances[0].packets.dropped.$1"; }
t_is "$(d peer)" 1 "non-peer source dropped as 'peer'"
t_is "$(d ttl)" 1 "TTL 64 dropped as 'ttl'"
t_is "$(d version)" 1 "version 2 dropped as 'version'"
t_is "$(d checksum)" 1 "bad checksum dropped as 'checksum'"
t_is "$(j "$(vrrp_ctl B show json)" '.sockets[0].dropped.vrid')" 1 "an advert for a VRID B does not run is counted on the socket"
t_is "$(vrrp_state B web)/$(vip_holders $VIP)" "BACKUP/A" "the spoofed adverts changed nothing"
t_like "$(cat "$T_DIR/vrrp-B.log")" "dropped .*: (peer|ttl)" "drops are logged with their reason"

# Unicast failover.
vrrp_kill A KILL
took=$(wait_until 5 has_vip B $VIP)
t_diag "unicast: SIGKILL of A -> VIP on B after $took ms (MDI $(mdi_ms 100 100) ms)"
t_le "$took" $(( $(mdi_ms 100 100) + 250 )) "unicast: B takes over within Master_Down_Interval"
wait_until 3 lacks_vip A $VIP >/dev/null
t_is "$(vip_holders $VIP)" B "unicast: exactly one holder after the kill"
vrrp_kill B TERM
t_is "$VRRP_RC" 0 "B exits 0 on SIGTERM"
cap_stop
if [ -s "$T_DIR/cap.pcap" ]; then
    mc=$(tshark -r "$T_DIR/cap.pcap" -Y "ip.dst == 224.0.0.18" 2>/dev/null | wc -l)
    t_is "$mc" 0 "unicast mode sends nothing to 224.0.0.18"
    ours=$(tshark -r "$T_DIR/cap.pcap" -Y "vrrp && ip.ttl == 255 && (ip.src == $A_IP || ip.src == $B_IP) && vrrp.version == 3 && vrrp.checksum.status == 1" 2>/dev/null | wc -l)
    t_ge "$ours" 5 "the agents' unicast adverts decode as v3 with good checksums"
fi
t_done
