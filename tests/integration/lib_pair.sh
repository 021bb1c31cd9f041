# lib_pair.sh - the two-box pair for the failover test bed (pair_*.sh):
# tandem-proxy AND tandem-vrrp on lbA and lbB, each box from ONE config
# file (node, global, vrrp, sync, frontends, backends), clients and
# servers in their own namespaces. It sources lib.sh and lib_vrrp.sh:
#   . "$(dirname "$0")/lib_pair.sh"
#   pair_need           root, tandem-proxy, tandem-vrrp and tandemctl, or bail
#
#   client 198.51.100.2 (+ .21-.28) --- VIP 198.51.100.100 (VIP2 .101 in aa)
#   lbA 198.51.100.11 + 203.0.113.1  --- br0 (own namespace) --- lbB .12 + 203.0.113.2
#   servers 203.0.113.11-13: http W1-W3 :8080 (backend.py, JSESSIONID on
#   /login), udp echo U1-U3 :5300, tcp echo T1-T3 :8081
#
# Topology:  pair_topo_up        namespaces, addresses, servers, the sync PSK
# Config:    pair_conf ap|aa [INSTANCE_KEYS]      writes both boxes' files
#            pair_conf_box BOX ap|aa [INSTANCE_KEYS]   one box's file
#              ap: instance "web" (vrid 51, $VIP), A priority 150, B 100
#              aa: "web1" ($VIP: A 150, B 100) and "web2" ($VIP2: A 100, B 150)
#              100 ms adverts, unicast peer, track_proxy; sync with a PSK;
#              frontends www ($VIP:80 [aa: + www2 $VIP2:80], http, app cookie
#              JSESSIONID sticky over W1-W3 round robin), direct (the box's
#              own address :8000, same backend: asks one box's table without
#              the VIP), dns ($VIP:5300 udp over U1-U3), l4 ($VIP:81 tcp over
#              T1-T3) [aa: + l4b $VIP2:81]
# Boxes:     pair_start BOX      proxy, then agent (PX_PID[BOX], VRRP_PID[BOX])
#            pxping BOX          the proxy's ping answer: pong, or "syncing ..." (not ready)
#            pair_kill BOX       eth0 down + SIGKILL of both daemons (PAIR_KILL_AT)
#            pair_revive BOX     eth0 up (as after a reboot: no VIP left), pair_start
#            pair_start_proxy BOX / pair_start_vrrp BOX   one daemon
#            pair_up             both proxies (until ready), agent A (until
#                                MASTER), agent B; election and sync checked
# Status:    pctl BOX ARGS...    tandemctl on the box's proxy socket
#            peer_json BOX       `peer show` as JSON; peer_field BOX JQ
#            wait_sync BOX [S]   bounded wait for connected (prints ms)
#            wait_unsync BOX [S] bounded wait for not connected (prints ms)
#            sticky_json BOX     `show sticky app` as JSON
#            sticky_cmp BOX MAP  "PRESENT SAME MISSING" of MAP's cookies in BOX's table
#            wait_sticky BOX MAP [S]  bounded wait until all of MAP is there
# Clients:   pcl SUBCOMMAND ...  pair_client.py in the client namespace
# VIP watch: vipmon_start / vipmon_overlap ADDR: kernel address events of
#            both boxes (ip monitor) -> the longest time both held ADDR
#            with their link up
# End:       pair_done           SIGTERM of every running daemon (exit 0, no
#                                sanitizer report in any log), then t_done
#
# Every process is registered with bg_start and every namespace with
# _ns_add: the EXIT trap of lib.sh removes them, also on failure.

. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
. "$(dirname "${BASH_SOURCE[0]}")/lib_vrrp.sh"

pair_need() { t_need_root; t_need_proxy; t_need_vrrp; t_need_ctl; }

CTL_BIN=${TANDEMCTL:-$top_builddir/tandemctl}
VIP2=198.51.100.101
SYNC_PORT=7400
declare -A PAIR_BACK=([A]=203.0.113.1 [B]=203.0.113.2)
declare -A PAIR_IP=([A]=$A_IP [B]=$B_IP)
declare -A PAIR_PEER=([A]=B [B]=A)
declare -A PX_PID=()
PAIR_SRV=(203.0.113.11 203.0.113.12 203.0.113.13)
PAIR_CL_EXTRA=(198.51.100.21 198.51.100.22 198.51.100.23 198.51.100.24
               198.51.100.25 198.51.100.26 198.51.100.27 198.51.100.28)
PAIR_MODE=ap
PAIR_KILL_AT=
# t_fail prints $PROXY_LOG; with two proxies the pair's own tails are printed instead.
PROXY_LOG=$T_DIR/no-single-proxy.log

t_need_ctl() { [ -x "$CTL_BIN" ] || t_bail "no tandemctl at $CTL_BIN (set top_builddir)"; }

# t_fail of lib.sh, plus the tails of both boxes' logs.
eval "_lib_t_fail() $(declare -f t_fail | tail -n +2)"
t_fail() {
    _lib_t_fail "$@"
    local f
    for f in "$T_DIR"/proxy-A.log "$T_DIR"/proxy-B.log "$T_DIR"/vrrp-A.log "$T_DIR"/vrrp-B.log; do
        [ -s "$f" ] || continue
        printf '# --- %s (last 8 lines):\n' "$(basename "$f")"
        grep -v 'advert\|sent \|recv' "$f" | tail -n 8 | cut -c1-300 | sed 's/^/#   /'
    done
}

# ------------------------------------------------------------------ topology
pair_topo_up() {
    local a
    vrrp_topo_up
    for a in "${PAIR_CL_EXTRA[@]}"; do ip -n "$NS_CL" addr add "$a/24" dev eth0 || t_bail "addr $a"; done
    _host "$NS_BE" vbe "${PAIR_SRV[0]}/24" "${PAIR_SRV[1]}/24" "${PAIR_SRV[2]}/24"
    ip -n "$NS_A" addr add "${PAIR_BACK[A]}/24" dev eth0 || t_bail "addr on lbA"
    ip -n "$NS_B" addr add "${PAIR_BACK[B]}/24" dev eth0 || t_bail "addr on lbB"
    (umask 077; openssl rand -hex 32 >"$T_DIR/sync.key") || t_bail "openssl rand"
    backend_multi web "W1@${PAIR_SRV[0]}:8080" "W2@${PAIR_SRV[1]}:8080" "W3@${PAIR_SRV[2]}:8080"
    backend_multi udp "U1@${PAIR_SRV[0]}:5300" "U2@${PAIR_SRV[1]}:5300" "U3@${PAIR_SRV[2]}:5300" -- --udp-echo
    backend_multi l4 "T1@${PAIR_SRV[0]}:8081" "T2@${PAIR_SRV[1]}:8081" "T3@${PAIR_SRV[2]}:8081" -- --tcp-echo
    local i
    for i in $(seq 50); do
        in_box A ping -c1 -W1 -q "${PAIR_SRV[0]}" >/dev/null 2>&1 &&
            in_box B ping -c1 -W1 -q "${PAIR_SRV[0]}" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    t_bail "topology: the boxes do not reach the servers"
}

# ------------------------------------------------------------------ config
# pair_conf_box BOX ap|aa [INSTANCE_KEYS]: writes $T_DIR/tandem-BOX.conf.
pair_conf_box() {
    local box=$1 mode=$2 ikeys=${3:-} me peer pa pb inst fe2=""
    me=${PAIR_IP[$box]}; peer=${PAIR_IP[${PAIR_PEER[$box]}]}
    if [ "$box" = A ]; then pa=150; pb=100; else pa=100; pb=150; fi
    inst="{ name = \"$( [ "$mode" = aa ] && echo web1 || echo web)\"; vrid = 51; priority = $pa; advert_ms = 100;
                         vips = [ \"$VIP/24\" ]; unicast_peer = \"$peer\"; track_proxy = true; $ikeys }"
    if [ "$mode" = aa ]; then
        inst="$inst,
                       { name = \"web2\"; vrid = 52; priority = $pb; advert_ms = 100;
                         vips = [ \"$VIP2/24\" ]; unicast_peer = \"$peer\"; track_proxy = true; $ikeys }"
        fe2="{ name = \"www2\"; bind = \"$VIP2:80\"; mode = \"http\"; backend = \"app\"; },
              { name = \"l4b\"; bind = \"$VIP2:81\"; mode = \"tcp\"; backend = \"l4\"; },"
    fi
    cat >"$T_DIR/tandem-$box.conf" <<EOC
# box $box of the failover test bed ($mode), written by lib_pair.sh
node = { name = "lb-$box"; };
global = { threads = 2; status_socket = "$T_DIR/proxy-$box.sock"; log = { level = "info"; }; };
vrrp = { interface = "eth0"; status_socket = "$(vrrp_sock_path "$box")"; sched_rr = false;
         track_proxy_socket = "$T_DIR/proxy-$box.sock";
         instances = ( $inst ); };
sync = { listen = "$me:$SYNC_PORT"; peer = "$peer:$SYNC_PORT"; psk_file = "$T_DIR/sync.key";
         reconnect_max = "1s"; };
frontends = ( { name = "www"; bind = "$VIP:80"; mode = "http"; backend = "app"; },
              $fe2
              { name = "direct"; bind = "$me:8000"; mode = "http"; backend = "app"; },
              { name = "dns"; bind = "$VIP:5300"; mode = "udp"; backend = "udp"; },
              { name = "l4"; bind = "$VIP:81"; mode = "tcp"; backend = "l4"; } );
backends = (
  { name = "app"; algorithm = "roundrobin";
    sticky = { mode = "app"; app_cookie = "JSESSIONID"; ttl = "30m"; };
    servers = ( { name = "W1"; addr = "${PAIR_SRV[0]}:8080"; }, { name = "W2"; addr = "${PAIR_SRV[1]}:8080"; },
                { name = "W3"; addr = "${PAIR_SRV[2]}:8080"; } ); },
  { name = "udp"; algorithm = "roundrobin";
    servers = ( { name = "U1"; addr = "${PAIR_SRV[0]}:5300"; }, { name = "U2"; addr = "${PAIR_SRV[1]}:5300"; },
                { name = "U3"; addr = "${PAIR_SRV[2]}:5300"; } ); },
  { name = "l4"; algorithm = "roundrobin";
    servers = ( { name = "T1"; addr = "${PAIR_SRV[0]}:8081"; }, { name = "T2"; addr = "${PAIR_SRV[1]}:8081"; },
                { name = "T3"; addr = "${PAIR_SRV[2]}:8081"; } ); } );
EOC
    local o
    o=$("$PROXY_BIN" -t -c "$T_DIR/tandem-$box.conf" 2>&1) || t_bail "tandem-proxy -t refuses box $box's file: $o"
    o=$("$VRRP_BIN" -t -c "$T_DIR/tandem-$box.conf" 2>&1) || t_bail "tandem-vrrp -t refuses box $box's file: $o"
}

# pair_conf ap|aa [INSTANCE_KEYS]: both boxes.
pair_conf() {
    PAIR_MODE=$1
    pair_conf_box A "$1" "${2:-}"
    pair_conf_box B "$1" "${2:-}"
}

# The instance names of the current mode.
pair_instances() { [ "$PAIR_MODE" = aa ] && echo "web1 web2" || echo web; }

# ------------------------------------------------------------------ boxes
pctl() {   # pctl BOX ARGS...: tandemctl against the box's proxy
    local box=$1; shift
    "$CTL_BIN" --socket "$T_DIR/proxy-$box.sock" --timeout 5 "$@" 2>&1
}

# pxping BOX: the proxy's answer to "ping" on its status socket: "pong",
# or "syncing ..." while a starting proxy still takes its peer's tables
# (alive, not ready: its agent does not take the VIP yet), or "".
pxping() {
    printf 'ping\n' | socat -t 2 - "UNIX-CONNECT:$T_DIR/proxy-$1.sock" 2>/dev/null | head -n 1
}

# pair_start_proxy BOX: tandem-proxy; waits for its status socket to
# answer (pong, or syncing while it takes the peer's tables) and for its
# VIP listener.
pair_start_proxy() {
    local box=$1 ns i
    ns=$(vrrp_ns "$box")
    t_need_proxy; t_need_vrrp; t_need_ctl
    bg_start "$ns" "$T_DIR/proxy-$box.log" "$PROXY_BIN" -c "$T_DIR/tandem-$box.conf"
    PX_PID[$box]=$BG_PID
    for i in $(seq 200); do
        [ -n "$(pxping "$box")" ] && break
        kill -0 "${PX_PID[$box]}" 2>/dev/null || break
        sleep 0.05
    done
    if [ -z "$(pxping "$box")" ]; then
        t_diag "tandem-proxy on lb$box did not start:"; t_diag "$(tail -n 20 "$T_DIR/proxy-$box.log")"
        return 1
    fi
    wait_listen "$ns" tcp "$VIP" 80 5 || { t_diag "tandem-proxy on lb$box: no listener on $VIP:80"; return 1; }
}

# pair_start_vrrp BOX: tandem-vrrp; waits for its socket to answer.
pair_start_vrrp() {
    local box=$1 i
    vrrp_start "$box" "$T_DIR/tandem-$box.conf" || return 1
    for i in $(seq 100); do
        [ "$(vrrp_ctl "$box" ping)" = pong ] && return 0
        kill -0 "${VRRP_PID[$box]}" 2>/dev/null || break
        sleep 0.05
    done
    t_diag "tandem-vrrp on lb$box does not answer:"; t_diag "$(tail -n 20 "$T_DIR/vrrp-$box.log")"
    return 1
}

# pair_start BOX: the box's proxy, then its agent (as systemd starts them).
pair_start() { pair_start_proxy "$1" && pair_start_vrrp "$1"; }

# pair_kill BOX: "killing a node": the box's link down and SIGKILL of both
# daemons, in that order, so that nothing leaves the box any more (no FIN
# of the sync connections, no last advert: like a power cut; the peer
# must notice by itself). PAIR_KILL_AT is the time the link was down
# (epoch seconds): nothing sent later reaches the box.
pair_kill() {
    local box=$1 px=${PX_PID[$1]:-} vr=${VRRP_PID[$1]:-}
    {
        ip -n "$(vrrp_ns "$box")" link set eth0 down
        PAIR_KILL_AT=$(date +%s.%N)
        kill -KILL $px $vr
        echo "$PAIR_KILL_AT $box down" >>"$T_DIR/links.log"
        wait $px $vr
    } 2>/dev/null
    PX_PID[$box]=; VRRP_PID[$box]=
}

# pair_revive BOX: the box comes back as after a reboot (the VIP a dead
# agent left on the interface is gone, as it would be), link up, daemons.
pair_revive() {
    local box=$1 ns v
    ns=$(vrrp_ns "$box")
    for v in "$VIP" "$VIP2"; do ip -n "$ns" addr del "$v/24" dev eth0 2>/dev/null; done
    ip -n "$ns" link set eth0 up
    echo "$(date +%s.%N) $box up" >>"$T_DIR/links.log"
    pair_start "$box"
}

# pair_up: both boxes started, A master of web (ap) / web1, B of web2 (aa),
# the sync link connected both ways. One TAP test. Deterministic order:
# both proxies, until both are ready (pong: each has the other's tables),
# then lbA's agent until it is MASTER, then lbB's agent.
pair_up() {
    local i
    pair_start_proxy A || t_bail "box A's proxy did not start"
    pair_start_proxy B || t_bail "box B's proxy did not start"
    for i in $(seq 200); do
        [ "$(pxping A)" = pong ] && [ "$(pxping B)" = pong ] && break
        sleep 0.05
    done
    pair_start_vrrp A || t_bail "box A's agent did not start"
    wait_state A "$(pair_instances | cut -d' ' -f1)" MASTER 5
    pair_start_vrrp B || t_bail "box B's agent did not start"
    local ok=1 t
    wait_state A "$(pair_instances | cut -d' ' -f1)" MASTER 5 || ok=0
    [ "$PAIR_MODE" = aa ] && { wait_state B web2 MASTER 5 || ok=0; }
    t=$(wait_sync A 10) || ok=0
    wait_sync B 5 >/dev/null || ok=0
    wait_until 3 lacks_vip B "$VIP" >/dev/null
    if [ "$ok" = 1 ]; then
        t_ok "pair up: lbA $(vrrp_state A "$(pair_instances | cut -d' ' -f1)"), VIP on $(vip_holders "$VIP")$([ "$PAIR_MODE" = aa ] && echo ", VIP2 on $(vip_holders "$VIP2")"), sync connected"
    else
        t_fail "pair up: election and sync" "A: $(vrrp_ctl A show)" "B: $(vrrp_ctl B show)" \
            "peer A: $(pctl A peer show)" "peer B: $(pctl B peer show)"
        t_bail "the pair did not come up"
    fi
}

# ------------------------------------------------------------------ status
peer_json() { pctl "$1" --json peer show; }
peer_field() { j "$(peer_json "$1")" "$2"; }
_is_synced() { [ "$(peer_field "$1" .connected)" = true ]; }
_is_unsynced() { [ "$(peer_field "$1" .connected)" = false ]; }
wait_sync() { wait_until "${2:-10}" _is_synced "$1"; }
wait_unsync() { wait_until "${2:-10}" _is_unsynced "$1"; }

sticky_json() { pctl "$1" --json show sticky app; }

# sticky_cmp BOX MAP: "PRESENT SAME MISSING": of MAP's cookies, how many
# are in BOX's sticky table, how many of those with MAP's server, how many
# are missing.
sticky_cmp() {
    sticky_json "$1" >"$T_DIR/sticky-$1.json"
    "$PY" - "$2" "$T_DIR/sticky-$1.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))
try:
    t = {e["key"]: e["server"] for e in json.load(open(sys.argv[2]))["sticky"]}
except Exception:
    t = {}
present = [k for k in m if k in t]
same = [k for k in present if t[k] == m[k]]
print(len(present), len(same), len(m) - len(present))
EOF
}
_sticky_all() { local r; r=($(sticky_cmp "$1" "$2")); [ "${r[2]}" = 0 ] && [ "${r[1]}" = "${r[0]}" ]; }
wait_sticky() { wait_until "${3:-10}" _sticky_all "$1" "$2"; }

# log_ms FILE ERE: the time (epoch ms) of the last log line matching ERE
# (the daemons' lines begin with an ISO 8601 UTC time), "" if none.
log_ms() {
    local l
    l=$(grep -E -- "$2" "$1" 2>/dev/null | tail -n 1 | cut -d' ' -f1)
    [ -n "$l" ] && date -d "$l" +%s%3N
}

# pcl SUBCOMMAND ARGS...: pair_client.py in the client namespace.
pcl() { in_cl "$PY" "$T_LIBDIR/pair_client.py" "$@"; }

# ------------------------------------------------------------------ VIP watch
# vipmon_start: `ip monitor address` in both boxes (kernel timestamps),
# with the VIPs held right now as a starting point.
vipmon_start() {
    local b v
    for b in A B; do
        for v in "$VIP" "$VIP2"; do
            vip_on "$b" "$v" && echo "$(date +%s.%N) $b has $v" >>"$T_DIR/links.log"
        done
        bg_start "$(vrrp_ns "$b")" "$T_DIR/mon-$b.log" ip -ts monitor address
    done
    sleep 0.2
}

# vipmon_overlap ADDR: "MAX_MS TOTAL_MS COUNT EVENTS" of the periods in
# which both boxes held ADDR on a link that was up (a killed box's link is
# down: its leftover VIP reaches nobody); EVENTS: how many address events
# for ADDR the watch saw (0 would mean it saw nothing).
vipmon_overlap() {
    "$PY" - "$1" "$T_DIR/links.log" "$T_DIR/mon-A.log" "$T_DIR/mon-B.log" <<'EOF'
import datetime, re, sys
addr = sys.argv[1]
ev = []   # (t, box, kind, value)
for line in open(sys.argv[2]):
    p = line.split()
    if len(p) >= 3:
        if p[2] == "has" and p[3] == addr:
            ev.append((float(p[0]), p[1], "vip", True))
        elif p[2] in ("up", "down"):
            ev.append((float(p[0]), p[1], "link", p[2] == "up"))
rx = re.compile(r"^\[(\S+)\] (Deleted )?\d+: eth0\s+inet (\S+)/")
nev = 0
for box, path in (("A", sys.argv[3]), ("B", sys.argv[4])):
    for line in open(path):
        m = rx.match(line)
        if m and m.group(3) == addr:
            nev += 1
            t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%f").timestamp()
            ev.append((t, box, "vip", not m.group(2)))
ev.sort(key=lambda e: e[0])
vip = {"A": False, "B": False}
link = {"A": True, "B": True}
start = None
spans = []
for t, box, kind, val in ev:
    (vip if kind == "vip" else link)[box] = val
    both = all(vip[b] and link[b] for b in "AB")
    if both and start is None:
        start = t
    elif not both and start is not None:
        spans.append(t - start)
        start = None
if start is not None:
    spans.append(float("inf"))
mx = max(spans) if spans else 0.0
print("%s %d %d %d" % ("inf" if mx == float("inf") else int(round(mx * 1000)),
                       int(round(sum(s for s in spans if s != float("inf")) * 1000)), len(spans), nev))
EOF
}

# ------------------------------------------------------------------ end
# pair_stop_check: SIGTERM to every daemon still running (agents first, so
# the VIPs are handed over with priority 0), each must exit 0; no sanitizer
# report or crash in any of the logs (earlier runs of a box included).
pair_stop_check() {
    local b pid rc i bad=""
    for b in A B; do
        pid=${VRRP_PID[$b]:-}
        [ -n "$pid" ] || continue
        vrrp_kill "$b" TERM
        [ "$VRRP_RC" = 0 ] || bad="$bad tandem-vrrp on lb$b exited $VRRP_RC;"
    done
    for b in A B; do
        pid=${PX_PID[$b]:-}
        [ -n "$pid" ] || continue
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid"; bad="$bad tandem-proxy on lb$b had exited ($?);"; continue
        fi
        kill -TERM "$pid"
        for i in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
        if kill -0 "$pid" 2>/dev/null; then
            bad="$bad tandem-proxy on lb$b still running 15 s after SIGTERM;"
            kill -KILL "$pid"; wait "$pid" 2>/dev/null
        else
            wait "$pid"; rc=$?
            [ "$rc" = 0 ] || bad="$bad tandem-proxy on lb$b exited $rc;"
        fi
        PX_PID[$b]=
    done
    local rep
    rep=$(grep -E -A12 'AddressSanitizer|LeakSanitizer|runtime error:|Segmentation|Assertion' \
          "$T_DIR"/proxy-*.log "$T_DIR"/vrrp-*.log 2>/dev/null | head -40)
    [ -z "$rep" ] || bad="$bad a sanitizer report or crash in the logs;"
    if [ -z "$bad" ]; then
        t_ok "both boxes' daemons exit 0 on SIGTERM, no sanitizer report in any log"
    else
        t_fail "both boxes' daemons exit 0 on SIGTERM, no sanitizer report in any log" "$bad" "$rep"
    fi
}

pair_done() { pair_stop_check; t_done; }

# pair_scale N: N, times 3 with an AddressSanitizer build (slower daemons).
pair_scale() { if proxy_is_asan; then echo $(( $1 * 3 )); else echo "$1"; fi; }
