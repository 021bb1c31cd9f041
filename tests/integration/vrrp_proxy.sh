#!/bin/bash
# vrrp_proxy.sh - the real pair on lbA: tandem-proxy (status socket) and
# tandem-vrrp tracking it (track_proxy), lbB's agent as backup. A proxy
# SIGKILLed on lbA makes lbA give the VIP up (FAULT, priority 0) and lbB
# take it; a restarted proxy brings lbA back. tandemctl vrrp show and
# switchover work against the agent.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib_vrrp.sh"
t_need_root; t_need_vrrp; t_need_proxy
CTL_BIN=$top_builddir/tandemctl
vrrp_topo_up

PSOCK=$T_DIR/proxy-A.sock
cat >"$T_DIR/proxy-A.conf" <<EOC
global = { status_socket = "$PSOCK"; };
frontends = ( { name = "www"; bind = "*:8080"; mode = "tcp"; backend = "web"; } );
backends = ( { name = "web"; servers = ( { name = "s1"; addr = "$A_IP:9"; } ); } );
EOC
start_proxy_A() {
    bg_start "$NS_A" "$T_DIR/proxy-A.log" "$PROXY_BIN" -c "$T_DIR/proxy-A.conf"
    PXA=$BG_PID
    local i
    for i in $(seq 100); do [ -S "$PSOCK" ] && break; sleep 0.05; done
}
start_proxy_A
t_check "tandem-proxy on lbA answers ping" test "$(printf 'ping\n' | in_box A socat -t 2 - UNIX-CONNECT:"$PSOCK")" = pong

# A starts without tracking; a reload turns it on without a FAULT flap.
PKEYS="track_proxy_socket = \"$PSOCK\"; track_proxy_interval = \"100ms\"; track_proxy_timeout = \"100ms\";"
confA=$(vrrp_conf A 150 "" "$PKEYS")
confB=$(vrrp_conf B 100)
vrrp_start A "$confA" || t_bail "agent A"
vrrp_start B "$confB" || t_bail "agent B"
wait_state A web MASTER 3
vrrp_conf A 150 "track_proxy = true;" "$PKEYS" >/dev/null
kill -HUP "${VRRP_PID[A]}"
sleep 0.5
tr=$(j "$(vrrp_ctl A show json)" '[.instances[0].transitions[].to] | join(",")')
t_is "$tr" "BACKUP,MASTER" "a reload that turns track_proxy on does not flap a MASTER"
t_is "$(vrrp_state A web)/$(vip_holders $VIP)" "MASTER/A" "A is master while its proxy answers"

{ kill -KILL "$PXA"; wait "$PXA"; } 2>/dev/null
took=$(wait_until 5 has_vip B $VIP)
t_diag "tandem-proxy SIGKILLed on lbA -> VIP on B after $took ms"
t_le "$took" 1000 "a dead proxy moves the VIP to the other box within a second"
wait_until 2 lacks_vip A $VIP >/dev/null
t_is "$(vrrp_state A web)/$(vip_holders $VIP)" "FAULT/B" "A is FAULT and the VIP is on B only"
start_proxy_A
took=$(wait_until 5 has_vip A $VIP)
t_diag "tandem-proxy restarted -> A master again after $took ms"
wait_until 2 lacks_vip B $VIP >/dev/null
t_is "$(vip_holders $VIP)" A "A takes the VIP back with its proxy"

if [ -x "$CTL_BIN" ]; then
    out=$(in_box A "$CTL_BIN" -S "$(vrrp_sock_path A)" vrrp show 2>&1)
    t_like "$out" "instance web: vrid 51 ipv4 on eth0 state MASTER" "tandemctl vrrp show"
    out=$(in_box A "$CTL_BIN" -S "$(vrrp_sock_path A)" -j vrrp show 2>&1)
    t_is "$(j "$out" '.instances[0].state')" MASTER "tandemctl -j vrrp show"
    in_box A "$CTL_BIN" -S "$(vrrp_sock_path A)" vrrp switchover web >/dev/null 2>&1
    t_is "$?" 0 "tandemctl vrrp switchover web"
    took=$(wait_until 3 has_vip B $VIP)
    t_diag "tandemctl switchover -> VIP on B after $took ms"
    wait_until 2 lacks_vip A $VIP >/dev/null
    t_is "$(vip_holders $VIP)" B "after the switchover B holds the VIP"
    in_box A "$CTL_BIN" -S "$(vrrp_sock_path A)" vrrp switchover nosuch >/dev/null 2>&1
    t_is "$?" 1 "switchover of an unknown instance is refused"
else
    t_skip "tandemctl vrrp" "no tandemctl built"
fi
vrrp_kill A TERM
t_is "$VRRP_RC" 0 "A exits 0"
vrrp_kill B TERM
t_done
