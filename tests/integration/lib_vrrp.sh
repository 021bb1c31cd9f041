# lib_vrrp.sh - namespaces and helpers for the tandem-vrrp tests. Source
# after lib.sh:
#   . "$(dirname "$0")/lib.sh"; . "$(dirname "$0")/lib_vrrp.sh"
#
# Topology:  vrrp_topo_up   namespaces lbA, lbB, client joined by a bridge
#            (br0, in its own namespace); lbA 198.51.100.11 / 2001:db8:1::11,
#            lbB .12 / ::12, client .2 / ::2. No default route anywhere,
#            nothing in the root namespace.
# Agents:    vrrp_conf A|B FILE (config on stdin) / vrrp_start A|B FILE
#            (VRRP_PID[A|B], log in $T_DIR/vrrp-A.log) / vrrp_kill A|B SIG
# VIPs:      vip_on A|B ADDR (exit 0 when the box has it) / vip_holders ADDR
#            wait_vip A|B ADDR SECONDS (prints the elapsed ms, exit 1 on timeout)
# Capture:   cap_start / cap_stop (tshark on br0; $T_DIR/cap.pcap)
# Status:    vrrp_ctl A|B COMMAND... (the agent's status socket)

VRRP_BIN=${TANDEM_VRRP:-$top_builddir/tandem-vrrp}
NS_A=${T_ID}-lbA
NS_B=${T_ID}-lbB
A_IP=198.51.100.11
B_IP=198.51.100.12
A_IP6=2001:db8:1::11
B_IP6=2001:db8:1::12
VIP=198.51.100.100
VIP6=2001:db8:1::100
declare -A VRRP_PID=()
CAP_PID=

vrrp_ns() { case $1 in A) echo "$NS_A" ;; B) echo "$NS_B" ;; C) echo "$NS_CL" ;; esac; }
in_box() { local ns; ns=$(vrrp_ns "$1"); shift; ip netns exec "$ns" "$@"; }

t_need_vrrp() {
    [ -x "$VRRP_BIN" ] || t_bail "no tandem-vrrp at $VRRP_BIN (set top_builddir)"
}

vrrp_topo_up() {
    _ns_add "$NS_BR"
    ip -n "$NS_BR" link add br0 type bridge mcast_snooping 0 || t_bail "bridge"
    ip -n "$NS_BR" link set br0 up
    _host "$NS_A" vla "$A_IP/24" "$A_IP6/64"
    _host "$NS_B" vlb "$B_IP/24" "$B_IP6/64"
    _host "$NS_CL" vcl "$CL_IP/24" "$CL_IP6/64"
    local i
    for i in $(seq 50); do
        in_cl ping -c1 -W1 -q "$A_IP" >/dev/null 2>&1 &&
            in_cl ping -c1 -W1 -q "$B_IP" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    t_bail "topology: no ping between the namespaces"
}

# vrrp_conf_common BOX: the per-box top of a config (status socket in $T_DIR).
vrrp_sock_path() { echo "$T_DIR/vrrp-$1.sock"; }

vrrp_start() {   # vrrp_start BOX CONF [extra args]
    local box=$1 conf=$2; shift 2
    bg_start "$(vrrp_ns "$box")" "$T_DIR/vrrp-$box.log" "$VRRP_BIN" -c "$conf" -l debug "$@"
    VRRP_PID[$box]=$BG_PID
    local i
    for i in $(seq 100); do
        [ -S "$(vrrp_sock_path "$box")" ] && return 0
        kill -0 "$BG_PID" 2>/dev/null || break
        sleep 0.02
    done
    t_diag "agent $box did not start:"; tail -n 20 "$T_DIR/vrrp-$box.log" | t_diag "$(cat)"
    return 1
}

vrrp_kill() {    # vrrp_kill BOX SIG: signal and reap the agent
    local pid=${VRRP_PID[$1]:-}
    [ -n "$pid" ] || return 0
    kill -"$2" "$pid" 2>/dev/null
    local i
    for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.02; done
    { wait "$pid"; } 2>/dev/null
    VRRP_RC=$?
    VRRP_PID[$1]=
}

vrrp_ctl() {     # vrrp_ctl BOX COMMAND...: one line on the status socket
    local box=$1; shift
    printf '%s\n' "$*" | in_box "$box" socat -t 2 - "UNIX-CONNECT:$(vrrp_sock_path "$box")" 2>/dev/null
}

vrrp_state() {   # vrrp_state BOX INSTANCE: MASTER, BACKUP, FAULT, INIT or ""
    vrrp_ctl "$1" show "$2" json | jq -r '.instances[0].state' 2>/dev/null
}

vip_on() {       # vip_on BOX ADDR
    in_box "$1" ip -o addr show dev eth0 | grep -qF " $2/"
}

vip_holders() {  # vip_holders ADDR: "A", "B", "AB" or ""
    local h="" b
    for b in A B; do vip_on "$b" "$1" && h="$h$b"; done
    echo "$h"
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

wait_until() {   # wait_until SECONDS CMD...: bounded poll (10 ms), prints elapsed ms
    local secs=$1 t0 t i; shift
    t0=$(now_ms)
    for i in $(seq $((secs * 200))); do
        if "$@"; then echo $(( $(now_ms) - t0 )); return 0; fi
        t=$(now_ms)
        [ $((t - t0)) -ge $((secs * 1000)) ] && break
        sleep 0.005
    done
    echo $(( $(now_ms) - t0 )); return 1
}

wait_state() {   # wait_state BOX INSTANCE STATE SECONDS
    local box=$1 inst=$2 st=$3 secs=$4
    _is_state() { [ "$(vrrp_state "$box" "$inst")" = "$st" ]; }
    wait_until "$secs" _is_state >/dev/null
}

cap_start() {
    command -v tshark >/dev/null || return 1
    ip netns exec "$NS_BR" tshark -q -i br0 -w "$T_DIR/cap.pcap" -f "ip proto 112 or ip6 proto 112 or arp or icmp6" \
        >"$T_DIR/tshark.log" 2>&1 &
    CAP_PID=$!
    T_PIDS+=("$CAP_PID")
    local i
    for i in $(seq 100); do grep -q "Capturing on" "$T_DIR/tshark.log" && return 0; sleep 0.05; done
    return 1
}

cap_stop() {
    [ -n "$CAP_PID" ] || return 0
    sleep 0.3
    kill -INT "$CAP_PID" 2>/dev/null
    local i
    for i in $(seq 100); do kill -0 "$CAP_PID" 2>/dev/null || break; sleep 0.05; done
    wait "$CAP_PID" 2>/dev/null
    CAP_PID=
}

# cap_check_vrrp DESC: every captured VRRP packet decodes as version 3 with
# a good checksum and no malformed-packet warning.
cap_check_vrrp() {
    local f=$T_DIR/cap.pcap n bad malformed fields
    [ -s "$f" ] || { t_fail "$1: capture" "no capture file"; return; }
    n=$(tshark -r "$f" -Y vrrp 2>/dev/null | wc -l)
    malformed=$(tshark -r "$f" -Y "vrrp && (_ws.malformed || _ws.expert.severity >= warning)" 2>/dev/null | wc -l)
    fields=$(tshark -r "$f" -Y vrrp -T fields -e vrrp.version -e vrrp.virt_rtr_id \
             -e vrrp.prio -e vrrp.checksum.status 2>/dev/null | sort | uniq -c)
    bad=$(tshark -r "$f" -Y "vrrp && (vrrp.version != 3 || vrrp.checksum.status != 1)" 2>/dev/null | wc -l)
    t_ge "$n" 1 "$1: tshark decodes VRRP packets"
    t_is "$malformed" 0 "$1: no malformed-packet or warning from the dissector" "$(tshark -r "$f" -Y "vrrp && (_ws.malformed || _ws.expert.severity >= warning)" 2>/dev/null | head -5)"
    t_is "$bad" 0 "$1: all version 3 with a good checksum" "$fields"
    t_diag "version vrid prio checksum-status (1 = good): $fields"
}

# vrrp_conf BOX PRIO [INSTANCE_KEYS [VRRP_KEYS]]: writes $T_DIR/BOX.conf with
# one instance "web" (vrid 51, 100 ms adverts, VIP 198.51.100.100/24).
vrrp_conf() {
    local box=$1 prio=$2 ikeys=${3:-} vkeys=${4:-}
    cat >"$T_DIR/$box.conf" <<EOC
node = { name = "lb-$box"; };
vrrp = { interface = "eth0"; status_socket = "$(vrrp_sock_path "$box")"; sched_rr = false;
         $vkeys
         instances = ( { name = "web"; vrid = 51; priority = $prio; advert_ms = 100;
                         vips = [ "$VIP/24" ]; $ikeys } ); };
EOC
    echo "$T_DIR/$box.conf"
}

# Master_Down_Interval in ms for PRIO and ADVERT_MS (RFC 5798 6.1).
mdi_ms() {
    local cs=$(( $2 / 10 ))
    echo $(( (3 * cs + ((256 - $1) * cs) / 256) * 10 ))
}

has_vip() { vip_on "$1" "$2"; }
lacks_vip() { ! vip_on "$1" "$2"; }
