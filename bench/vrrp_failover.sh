#!/bin/bash
# bench/vrrp_failover.sh - time from SIGKILL of the master's VRRP agent to
# the VIP answering on the backup, tandem-vrrp against keepalived (Debian)
# configured the same way (VRRPv3, priorities 150 / 100, preempt, the same
# advert interval, SCHED_RR priority 50, memory locked), in the same
# namespace topology as the integration tests (lbA, lbB, client on a
# bridge; TEST-NET addresses; nothing in the root namespace). Not a test:
# run it by hand (root) and paste the table. See bench/README.md.
#
#   bench/vrrp_failover.sh [-r RUNS] [-a "1000 100"] [-p PATH-TO-tandem-vrrp]
#
# Each run: start both agents, wait until A holds the VIP and B has heard
# it, start a probe in the client namespace that connects to VIP:8080 every
# 5 ms (50 ms timeout; each box's listener answers its name), SIGKILL every
# agent process of lbA (its link stays up) at a random point of the advert
# interval, and take the time until the probe first gets "B". Also recorded: whether lbA still holds the VIP 5 s
# after the kill (both boxes answering for it: split brain risk).
set -u
RUNS=5
ADVERTS="1000 100"
while [ $# -gt 0 ]; do
    case $1 in
    -r) RUNS=$2; shift 2 ;;
    -a) ADVERTS=$2; shift 2 ;;
    -p) export TANDEM_VRRP=$2; shift 2 ;;
    -h|--help) sed -n 2,17p "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
here=$(cd "$(dirname "$0")" && pwd)
: "${top_builddir:=$here/..}"
. "$here/../tests/integration/lib.sh"
. "$here/../tests/integration/lib_vrrp.sh"
t_need_root; t_need_vrrp
command -v keepalived >/dev/null || t_bail "keepalived is not installed (scripts/install-deps.sh)"
vrrp_topo_up

listener() {   # listener BOX: answers its name on *:8080
    bg_start "$(vrrp_ns "$1")" "$T_DIR/listener-$1.log" "$PY" -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 8080)); s.listen(64)
while True:
    c, _ = s.accept(); c.sendall(sys.argv[1].encode()); c.close()' "$1"
}
listener A
listener B

tandem_conf() {   # tandem_conf BOX PRIO ADVERT_MS
    cat >"$T_DIR/tandem-$1.conf" <<EOC
vrrp = { interface = "eth0"; status_socket = "$(vrrp_sock_path "$1")";
         sched_rr = true; rt_priority = 50;
         instances = ( { name = "web"; vrid = 51; priority = $2; advert_ms = $3;
                         vips = [ "$VIP/24" ]; } ); };
EOC
}

keepalived_conf() {   # keepalived_conf BOX PRIO ADVERT_MS
    local adv
    adv=$(awk "BEGIN { printf \"%g\", $3 / 1000 }")
    cat >"$T_DIR/keepalived-$1.conf" <<EOC
global_defs {
    router_id lb$1
    vrrp_version 3
    vrrp_rt_priority 50
    vrrp_no_swap
    vrrp_garp_master_repeat 3
    vrrp_garp_interval 0.1
}
vrrp_instance web {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority $2
    advert_int $adv
    virtual_ipaddress {
        $VIP/24
    }
}
EOC
}

start_agent() {   # start_agent tandem|keepalived BOX
    local ns; ns=$(vrrp_ns "$2")
    if [ "$1" = tandem ]; then
        bg_start "$ns" "$T_DIR/run-$2.log" "$VRRP_BIN" -c "$T_DIR/tandem-$2.conf" -l notice
    else
        bg_start "$ns" "$T_DIR/run-$2.log" keepalived -n -l -P -f "$T_DIR/keepalived-$2.conf" \
            -p "$T_DIR/ka-$2.pid" -r "$T_DIR/ka-vrrp-$2.pid" -c "$T_DIR/ka-chk-$2.pid"
    fi
}

# Every agent process in the box's namespace (keepalived has a parent and
# a VRRP child); the listener is left alone.
agent_pids() {
    local ns p; ns=$(vrrp_ns "$1")
    for p in $(ip netns pids "$ns"); do
        case $(cat "/proc/$p/comm" 2>/dev/null) in keepalived|tandem-vrrp) echo "$p" ;; esac
    done
}

kill_agents() {   # kill_agents BOX SIG: children (newest) first, in one kill(1)
    local p
    # shellcheck disable=SC2046
    kill -"$2" $(agent_pids "$1" | sort -rn) 2>/dev/null
    for p in $(seq 100); do [ -z "$(agent_pids "$1")" ] && break; sleep 0.02; done
}

probe() {   # prints the wall-clock ns at which B first answered
    in_cl "$PY" -c '
import socket, time, sys
deadline = time.time() + 15
while time.time() < deadline:
    try:
        s = socket.create_connection((sys.argv[1], 8080), timeout=0.05)
        who = s.recv(8); s.close()
        if who == b"B":
            print(time.time_ns()); sys.exit(0)
    except OSError:
        pass
    time.sleep(0.005)
sys.exit(1)' "$VIP"
}

one_run() {   # one_run AGENT ADVERT_MS: prints "MS LEFT_ON_A"
    local agent=$1 adv=$2 t_kill t_b left=no
    start_agent "$agent" A
    wait_until 10 has_vip A "$VIP" >/dev/null || { echo "fail -"; return; }
    start_agent "$agent" B
    sleep "$(awk "BEGIN { print 4 * $adv / 1000 + 0.3 }")"
    if vip_on B "$VIP"; then echo "fail -"; return; fi
    probe >"$T_DIR/probe.out" &
    local ppid=$!
    # the kill lands at a random point of the advert interval
    sleep "$(awk -v r="$RANDOM" "BEGIN { print 0.2 + (r % 1000) / 1000 * $adv / 1000 }")"
    t_kill=$(date +%s%N)
    kill_agents A KILL
    wait "$ppid"
    t_b=$(cat "$T_DIR/probe.out")
    sleep 5
    vip_on A "$VIP" && left=yes
    kill_agents B TERM
    in_box A ip addr del "$VIP/24" dev eth0 2>/dev/null
    in_box B ip addr del "$VIP/24" dev eth0 2>/dev/null
    in_cl ip neigh flush dev eth0 2>/dev/null
    if [ -n "$t_b" ]; then echo "$(( (t_b - t_kill) / 1000000 )) $left"; else echo "fail $left"; fi
}

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print a[(NR + 1) / 2]; else print int((a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }

rows=()
for adv in $ADVERTS; do
    tandem_conf A 150 "$adv"; tandem_conf B 100 "$adv"
    keepalived_conf A 150 "$adv"; keepalived_conf B 100 "$adv"
    for agent in tandem keepalived; do
        times=(); lefts=0; fails=0
        for r in $(seq "$RUNS"); do
            read -r ms left <<<"$(one_run "$agent" "$adv")"
            if [ "$ms" = fail ]; then fails=$((fails + 1)); else times+=("$ms"); fi
            [ "$left" = yes ] && lefts=$((lefts + 1))
            echo "# $agent advert ${adv}ms run $r: ${ms} ms, VIP left on dead box: $left" >&2
        done
        med=$(printf '%s\n' "${times[@]}" | grep . | median)
        mn=$(printf '%s\n' "${times[@]}" | grep . | sort -n | head -1)
        mx=$(printf '%s\n' "${times[@]}" | grep . | sort -n | tail -1)
        rows+=("$(printf '| %-10s | %6s ms | %7s ms | %6s | %5s-%-5s | %d/%d | %d |' "$agent" "$adv" \
            "$(mdi_ms 100 "$adv")" "$med" "${mn:--}" "${mx:--}" "$lefts" "$RUNS" "$fails")")
    done
done
echo
echo "SIGKILL of the master's agent (link up) -> VIP answering from the backup (ms, client TCP probe every 5 ms)"
echo
echo "| agent      | advert    | backup MDI | median | min-max     | VIP still on killed box after 5 s | failed runs |"
echo "| ---------- | --------- | ---------- | ------ | ----------- | ---- | --- |"
printf '%s\n' "${rows[@]}"
