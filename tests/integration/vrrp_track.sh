#!/bin/bash
# vrrp_track.sh - tracked objects on lbA (priority 150) against lbB (100):
# a check script with weight -100 (failing: A drops to 50 and B preempts),
# the tracked proxy (a fake status socket answering "pong"; killed: A goes
# FAULT and B takes over), the interface itself (down: FAULT), and the
# notify hook (run with instance, new and old state).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_vrrp.sh"
t_need_root; t_need_vrrp
command -v socat >/dev/null || t_bail "socat is needed for the fake proxy"
vrrp_topo_up

PSOCK=$T_DIR/proxy.sock
fake_proxy() {
    bg_start "$NS_A" "$T_DIR/fake-proxy.log" socat UNIX-LISTEN:"$PSOCK",fork,unlink-early \
        SYSTEM:'read line; [ "$line" = ping ] && echo pong'
    FAKE_PID=$BG_PID
    local i
    for i in $(seq 100); do [ -S "$PSOCK" ] && break; sleep 0.02; done
}
printf '#!/bin/sh\ntest -e "%s/ok"\n' "$T_DIR" >"$T_DIR/check.sh"
printf '#!/bin/sh\necho "$1 $2 $3" >> "%s/notify.out"\n' "$T_DIR" >"$T_DIR/notify.sh"
chmod +x "$T_DIR/check.sh" "$T_DIR/notify.sh"
touch "$T_DIR/ok"
fake_proxy
confA=$(vrrp_conf A 150 "track_proxy = true; notify = \"$T_DIR/notify.sh\";
    track_scripts = ( { path = \"$T_DIR/check.sh\"; interval = \"200ms\"; weight = -100; } );" \
    "track_proxy_socket = \"$PSOCK\"; track_proxy_interval = \"100ms\"; track_proxy_timeout = \"100ms\";")
confB=$(vrrp_conf B 100)
vrrp_start A "$confA" || t_bail "agent A"
vrrp_start B "$confB" || t_bail "agent B"
wait_state A web MASTER 3
t_is "$(vrrp_state A web)/$(vip_holders $VIP)" "MASTER/A" "A (proxy answering, check passing) is master"

# The check script fails: priority 150 - 100 = 50 < 100, B preempts.
rm -f "$T_DIR/ok"
took=$(wait_until 5 has_vip B $VIP)
t_diag "check script failing -> VIP on B after $took ms"
show=$(vrrp_ctl A show json)
t_is "$(j "$show" '.instances[0].effective_priority')/$(j "$show" '.instances[0].priority')" \
    "50/150" "a failing script with weight -100 lowers the effective priority"
wait_until 2 lacks_vip A $VIP >/dev/null
t_is "$(vrrp_state A web)/$(vip_holders $VIP)" "BACKUP/B" "B preempted the lowered master"
touch "$T_DIR/ok"
took=$(wait_until 5 has_vip A $VIP)
t_diag "check script passing again -> VIP back on A after $took ms"
wait_until 2 lacks_vip B $VIP >/dev/null
t_is "$(vip_holders $VIP)" A "A takes the VIP back when the check passes"

# The proxy dies: FAULT, priority 0 advert, B takes over at once.
{ kill -KILL "$FAKE_PID"; wait "$FAKE_PID"; } 2>/dev/null
took=$(wait_until 5 has_vip B $VIP)
t_diag "tracked proxy killed -> VIP on B after $took ms (2 missed pings at 100 ms + Skew_Time)"
t_le "$took" 1000 "a dead proxy moves the VIP within a second"
wait_state A web FAULT 2
t_is "$(vrrp_state A web)/$(vip_holders $VIP)" "FAULT/B" "A is FAULT without its proxy"
t_like "$(vrrp_ctl A show)" "MASTER -> FAULT \(tracked proxy not answering\)" "show gives the reason"
fake_proxy
took=$(wait_until 5 has_vip A $VIP)
t_diag "proxy back -> A master again after $took ms"
wait_until 2 lacks_vip B $VIP >/dev/null
t_is "$(vrrp_state A web)/$(vip_holders $VIP)" "MASTER/A" "A recovers when the proxy answers again"

# The interface goes down: FAULT.
in_box A ip link set eth0 down
took=$(wait_until 5 has_vip B $VIP)
t_diag "lbA eth0 down -> VIP on B after $took ms"
wait_state A web FAULT 2
t_is "$(vrrp_state A web)" FAULT "interface down -> FAULT"
t_like "$(vrrp_ctl A show)" "FAULT \(interface eth0 down\)" "the reason names the interface"
in_box A ip link set eth0 up
took=$(wait_until 5 has_vip A $VIP)
t_diag "lbA eth0 up -> A master again after $took ms"
wait_until 2 lacks_vip B $VIP >/dev/null
t_is "$(vrrp_state A web)/$(vip_holders $VIP)" "MASTER/A" "A recovers after the link returns"

sleep 0.2
n=$(cat "$T_DIR/notify.out" 2>/dev/null)
t_like "$n" "web MASTER BACKUP" "notify ran for BACKUP -> MASTER"
t_like "$n" "web FAULT MASTER" "notify ran for MASTER -> FAULT"
t_diag "notify calls: $(tr '\n' ';' < "$T_DIR/notify.out")"
vrrp_kill A TERM
t_is "$VRRP_RC" 0 "A exits 0"
vrrp_kill B TERM
t_done
