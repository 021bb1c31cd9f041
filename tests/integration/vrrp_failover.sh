#!/bin/bash
# vrrp_failover.sh - two tandem-vrrp agents (lbA priority 150, lbB 100,
# 100 ms adverts) on one bridge: election by priority, a SIGKILLed master's
# VIP taken over within Master_Down_Interval and expiring by itself on the
# dead box (link still up: exactly one holder), preempt when it returns,
# priority-0 handover on SIGTERM, nopreempt, switchover on the status
# socket, stale VIP removal at start. Packets are decoded with tshark.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_vrrp.sh"
t_need_root; t_need_vrrp
# tandem-vrrp -t: the vrrp section checked with FILE:LINE messages.
printf 'vrrp = { interface = "eth0";\n  instances = ( { name = "web"; vrid = 300; vips = [ "%s/24" ]; } ); };\n' \
    "$VIP" > "$T_DIR/bad.conf"
out=$("$VRRP_BIN" -t -c "$T_DIR/bad.conf" 2>&1); rc=$?
t_is "$rc" 1 "tandem-vrrp -t exits 1 on a bad file"
t_like "$out" "bad.conf:2: instance \"web\": vrid 300 is out of range \(1-255\)" "-t prints FILE:LINE: message"
t_like "$("$VRRP_BIN" -t -c "$(vrrp_conf A 150)" 2>&1)" "configuration is valid \(1 instance\)" "-t accepts a good file"
t_like "$("$VRRP_BIN" --help)" "Usage: tandem-vrrp" "--help"

vrrp_topo_up
cap_start || t_diag "no tshark: packets not decoded"

# A stale VIP on A (an earlier run, by hand): removed at start.
in_box A ip addr add "$VIP/24" dev eth0
confA=$(vrrp_conf A 150)
confB=$(vrrp_conf B 100)
vrrp_start A "$confA" || t_bail "agent A"
vrrp_start B "$confB" || t_bail "agent B"
t_like "$(cat "$T_DIR/vrrp-A.log")" "removed stale VIP $VIP/24" "A removed the stale VIP at start"

wait_state A web MASTER 3 && wait_state B web BACKUP 1
t_is "$(vrrp_state A web)/$(vrrp_state B web)" "MASTER/BACKUP" "election: priority 150 beats 100"
t_is "$(vip_holders $VIP)" A "only the master holds the VIP"
t_check "client reaches the VIP" in_cl ping -c1 -W1 -q $VIP
lft=$(in_box A ip -o addr show dev eth0 | grep -F " $VIP/" | grep -o 'valid_lft [0-9a-z]*')
t_like "$lft" "valid_lft [0-9]+sec" "the VIP has a finite lifetime ($lft)"

# SIGKILL of the master agent alone: the link stays up.
mdi=$(mdi_ms 100 100)
vrrp_kill A KILL
took=$(wait_until 5 has_vip B $VIP)
t_diag "SIGKILL of A -> VIP on B after $took ms (Master_Down_Interval $mdi ms)"
t_le "$took" $((mdi + 250)) "B owns the VIP within Master_Down_Interval (+250 ms for polling and load)"
gone=$(wait_until 5 lacks_vip A $VIP)
t_diag "the killed agent's VIP left lbA after $gone ms (lifetime 1 s)"
t_le "$gone" 2500 "the dead agent's VIP expires by itself"
sleep 0.3
t_is "$(vip_holders $VIP)" B "exactly one box holds the VIP after the kill"
t_check "client reaches the VIP on B" in_cl ping -c1 -W1 -q $VIP

# A comes back with preempt (default): it takes the VIP back.
vrrp_start A "$confA" || t_bail "agent A restart"
t=$(wait_until 3 has_vip A $VIP)
wait_until 2 lacks_vip B $VIP >/dev/null
t_diag "preempt: A master again after $t ms"
t_is "$(vip_holders $VIP)" A "preempt: the higher priority takes the VIP back"

# SIGTERM: priority 0 advert, B takes over after Skew_Time, not MDI.
vrrp_kill A TERM
t_is "$VRRP_RC" 0 "A exits 0 on SIGTERM"
took=$(wait_until 3 has_vip B $VIP)
t_diag "SIGTERM of A -> VIP on B after $took ms (Skew_Time $(( (156 * 10 / 256) * 10 )) ms, MDI $mdi ms)"
t_le "$took" 250 "priority-0 handover takes about Skew_Time (60 ms), not the 360 ms MDI"
t_is "$(vip_holders $VIP)" B "A removed its VIP on the way out"

# A returns with nopreempt: stays BACKUP under the lower-priority master.
confA2=$(vrrp_conf A 150 "preempt = false;")
vrrp_start A "$confA2" || t_bail "agent A nopreempt"
sleep 1
t_is "$(vrrp_state A web)/$(vip_holders $VIP)" "BACKUP/B" "nopreempt: A stays BACKUP"

# Switchover on the status socket: B hands over, A (higher) takes it.
r=$(vrrp_ctl B switchover web)
t_like "$r" "sent priority 0" "switchover answered ($r)"
t=$(wait_until 3 has_vip A $VIP)
t_diag "switchover: A holds the VIP after $t ms"
t_is "$(vip_holders $VIP)" A "after the switchover only A holds the VIP"

# SIGHUP: the VIP that stays configured is never removed; a new instance
# starts; show reflects both.
echo 0 > "$T_DIR/gaps"
( for i in $(seq 150); do vip_on A $VIP || echo 1 >> "$T_DIR/gaps"; sleep 0.01; done ) &
mon=$!
sed -i 's|vips = \[ "'$VIP'/24" \]; preempt = false; } );|vips = [ "'$VIP'/24" ]; preempt = false; }, { name = "db"; vrid = 52; priority = 150; advert_ms = 100; vips = [ "198.51.100.101/24" ]; } );|' "$confA2"
kill -HUP "${VRRP_PID[A]}"
wait $mon
t_is "$(grep -c 1 "$T_DIR/gaps")" 0 "reload: the kept VIP never left A"
t=$(wait_until 3 has_vip A 198.51.100.101)
t_diag "reload: new instance db master after $t ms"
t_is "$(vrrp_state A db)" MASTER "reload started the new instance"
show=$(vrrp_ctl A show json)
t_is "$(j "$show" '.instances | length')" 2 "show lists both instances"
t_is "$(j "$show" '.instances[] | select(.name=="web") | .transitions | length >= 2')" true "show has transitions"
t_like "$(vrrp_ctl A show)" "packets in [0-9]+ out [1-9]" "text show has counters"
t_is "$(vrrp_ctl A ping)" pong "ping answers pong"

# SIGHUP again without db: it resigns and its VIP goes; web's stays.
cp "$confA2" "$T_DIR/with-db.conf"
vrrp_conf A 150 "preempt = false;" >/dev/null
kill -HUP "${VRRP_PID[A]}"
t=$(wait_until 3 lacks_vip A 198.51.100.101)
t_diag "reload: removed instance db gave its VIP up after $t ms"
t_is "$(vip_holders 198.51.100.101)/$(vip_holders $VIP)" "/A" "reload: db's VIP removed, web's kept"
t_is "$(j "$(vrrp_ctl A show json)" '.instances | length')" 1 "show lists one instance again"
# A bad file on SIGHUP: the running configuration stays.
echo "vrrp = { instances = oops; };" > "$confA2"
kill -HUP "${VRRP_PID[A]}"
sleep 0.3
t_is "$(vrrp_state A web)/$(vip_holders $VIP)" "MASTER/A" "a bad reload keeps the running configuration"
t_like "$(cat "$T_DIR/vrrp-A.log")" "reload failed: keeping the running configuration" "a bad reload is logged"

vrrp_kill A TERM
vrrp_kill B TERM
cap_stop
[ -s "$T_DIR/cap.pcap" ] && cap_check_vrrp "captured adverts"
prio0=$(tshark -r "$T_DIR/cap.pcap" -Y "vrrp.prio == 0" 2>/dev/null | wc -l)
t_ge "$prio0" 2 "priority 0 adverts on the wire (SIGTERM, switchover)"
garp=$(tshark -r "$T_DIR/cap.pcap" -Y "arp.isgratuitous == 1 && arp.src.proto_ipv4 == $VIP && eth.dst == ff:ff:ff:ff:ff:ff" 2>/dev/null | wc -l)
t_ge "$garp" 12 "gratuitous ARPs for the VIP (request and reply, 3 per takeover)"
t_done
