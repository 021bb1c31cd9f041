# lib.sh - shared helpers for the tandem integration tests. Source it:
#   . "$(dirname "$0")/lib.sh"
#
# TAP:        t_ok DESC / t_fail DESC [DIAG...] / t_check DESC CMD... /
#             t_is GOT WANT DESC / t_like GOT REGEX DESC / t_le A B DESC /
#             t_skip DESC REASON / t_diag TEXT / t_done (prints the plan, exits)
# Topology:   topo_up      namespaces client, lb, be (+ a bridge namespace),
#                          IPv4 + IPv6 TEST-NET addresses, nothing in the root ns
#             in_cl / in_lb / in_be CMD...   run CMD in that namespace
# Processes:  bg_start NS LOGFILE CMD...  (sets BG_PID), stop_pid PID
# Backends:   backend_start NAME ADDR:PORT [backend.py args] (BE_PID[NAME])
# Proxy:      proxy_conf FILE  (reads the config from stdin, adds nothing)
#             proxy_start FILE [tcp:ADDR:PORT|udp:ADDR:PORT ...]  (PROXY_PID)
#             proxy_reload / proxy_stop_check (SIGTERM, exit 0, no sanitizer report)
# Clients:    clpy SUBCOMMAND ARGS...   tests/integration/client.py in the client ns
#
# Addresses (DESIGN.md "Test network"): client 198.51.100.2 and 2001:db8:1::2
# (extra client addresses 198.51.100.21-28), load balancer 198.51.100.10,
# 203.0.113.10, 2001:db8:1::10, 2001:db8:2::10; backends 203.0.113.11-16 and
# 2001:db8:2::11-13. Clients have no route to the backends: traffic reaches
# them only through the proxy.
#
# Every namespace, link and process a test creates is removed on exit, even
# on failure (trap EXIT). TANDEM_IT_KEEP=1 keeps the temp dir for debugging.

set -u

T_NAME=$(basename "$0" .sh)
T_LIBDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
: "${top_builddir:=$(cd "$T_LIBDIR/../.." && pwd)}"
: "${top_srcdir:=$(cd "$T_LIBDIR/../.." && pwd)}"
PROXY_BIN=${TANDEM_PROXY:-$top_builddir/tandem-proxy}
PY=$(command -v /usr/bin/python3 || command -v python3)
export PYTHONDONTWRITEBYTECODE=1
T_DIR=$(mktemp -d "/tmp/tandem-it-$T_NAME.XXXXXX")
T_ID="t$(( $$ % 100000 ))$(printf '%02x' $((RANDOM % 256)))"
NS_BR=${T_ID}-br
NS_CL=${T_ID}-cl
NS_LB=${T_ID}-lb
NS_BE=${T_ID}-be
T_NSES=()
T_PIDS=()
T_N=0
T_FAILED=0
PROXY_PID=
PROXY_LOG=$T_DIR/proxy.log
declare -A BE_PID=()

CL_IP=198.51.100.2
CL_IP6=2001:db8:1::2
LB_IP=198.51.100.10
LB_IP6=2001:db8:1::10
LB_BACK_IP=203.0.113.10
BE_IPS=(203.0.113.11 203.0.113.12 203.0.113.13 203.0.113.14 203.0.113.15 203.0.113.16)
BE_IP6S=(2001:db8:2::11 2001:db8:2::12 2001:db8:2::13)
CL_EXTRA_IPS=(198.51.100.21 198.51.100.22 198.51.100.23 198.51.100.24
              198.51.100.25 198.51.100.26 198.51.100.27 198.51.100.28)

# ------------------------------------------------------------------ TAP
t_diag() { local l; while IFS= read -r l; do printf '# %s\n' "$l"; done <<<"$*"; }

# T_TODO="reason" before a check marks it as a known bug (TAP "# TODO"):
# its failure is reported as XFAIL, and a pass as XPASS (an error for
# run-all.sh, so the marker gets removed with the fix). Unset it after.
T_TODO=
_todo() { [ -n "$T_TODO" ] && printf ' # TODO %s' "$T_TODO"; }

t_ok() { T_N=$((T_N + 1)); printf 'ok %d - %s%s\n' "$T_N" "$1" "$(_todo)"; }

# t_fail DESC [DIAG...]: a failed test, with diagnostics and the proxy log tail.
t_fail() {
    local desc=$1; shift
    T_N=$((T_N + 1))
    [ -n "$T_TODO" ] || T_FAILED=$((T_FAILED + 1))
    printf 'not ok %d - %s%s\n' "$T_N" "$desc" "$(_todo)"
    local d; for d in "$@"; do t_diag "$d"; done
    if [ -s "$PROXY_LOG" ]; then
        printf '# --- proxy log (last 12 lines):\n'
        tail -n 12 "$PROXY_LOG" | cut -c1-300 | sed 's/^/#   /'
    fi
    local f
    for f in "$T_DIR"/backend-*.log; do
        [ -s "$f" ] || continue
        printf '# --- %s (last 5 lines):\n' "$(basename "$f")"
        tail -n 5 "$f" | cut -c1-300 | sed 's/^/#   /'
    done
}

t_skip() { T_N=$((T_N + 1)); printf 'ok %d - %s # SKIP %s\n' "$T_N" "$1" "$2"; }

# t_check DESC CMD...: passes when CMD exits 0.
t_check() {
    local desc=$1; shift
    local o; if o=$("$@" 2>&1); then t_ok "$desc"; else t_fail "$desc" "command: $*" "$o"; fi
}

t_is() {   # t_is GOT WANT DESC [DIAG...]
    local got=$1 want=$2 desc=$3; shift 3
    if [ "$got" = "$want" ]; then t_ok "$desc"; else t_fail "$desc" "got:  '$got'" "want: '$want'" "$@"; fi
}

t_like() { # t_like GOT ERE DESC [DIAG...]
    local got=$1 re=$2 desc=$3; shift 3
    if printf '%s' "$got" | grep -Eq -- "$re"; then t_ok "$desc"
    else t_fail "$desc" "got:  '$(printf '%s' "$got" | head -c 1500)'" "want match: /$re/" "$@"; fi
}

t_le() {   # t_le A B DESC [DIAG...]: integer A <= B
    local a=$1 b=$2 desc=$3; shift 3
    if [ "${a:-x}" -le "${b:-x}" ] 2>/dev/null; then t_ok "$desc ($a <= $b)"
    else t_fail "$desc" "got $a, want <= $b" "$@"; fi
}

t_ge() {   # t_ge A B DESC [DIAG...]: integer A >= B
    local a=$1 b=$2 desc=$3; shift 3
    if [ "${a:-x}" -ge "${b:-x}" ] 2>/dev/null; then t_ok "$desc ($a >= $b)"
    else t_fail "$desc" "got $a, want >= $b" "$@"; fi
}

t_bail() { printf 'Bail out! %s\n' "$*"; [ -s "$PROXY_LOG" ] && tail -n 20 "$PROXY_LOG" | sed 's/^/# /'; exit 1; }

t_done() {
    printf '1..%d\n' "$T_N"
    [ "$T_FAILED" = 0 ] && exit 0 || exit 1
}

t_need_root() {
    if [ "$(id -u)" != 0 ] || ! ip netns list >/dev/null 2>&1; then
        echo "1..0 # SKIP needs root and network namespaces"; exit 0
    fi
}

t_need_proxy() {
    [ -x "$PROXY_BIN" ] || t_bail "no tandem-proxy at $PROXY_BIN (set top_builddir)"
}

# jq on a JSON string: j "$json" '.field'
j() { printf '%s' "$1" | jq -r "$2" 2>/dev/null; }

# 1 when the proxy binary is built with AddressSanitizer (RSS bounds differ).
proxy_is_asan() {
    ldd "$PROXY_BIN" 2>/dev/null | grep -q libasan && return 0
    grep -qa '__asan_init' "$PROXY_BIN" 2>/dev/null
}

# ------------------------------------------------------------------ cleanup
stop_pid() {   # stop_pid PID [SIG]: TERM (or SIG), then KILL after 2 s
    local pid=$1 sig=${2:-TERM} i
    [ -n "$pid" ] || return 0
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    kill -"$sig" "$pid" 2>/dev/null
    for i in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

t_cleanup() {
    local pid ns
    trap - EXIT INT TERM
    for pid in "${T_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${T_PIDS[@]}"; do stop_pid "$pid"; done
    # Anything still living in our own namespaces was started by this test.
    for ns in "${T_NSES[@]}"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    done
    for ns in "${T_NSES[@]}"; do ip netns del "$ns" 2>/dev/null; done
    if [ "${TANDEM_IT_KEEP:-0}" = 1 ]; then echo "# kept $T_DIR" >&2; else rm -rf "$T_DIR"; fi
}
trap t_cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ topology
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
in_cl() { ip netns exec "$NS_CL" "$@"; }
in_lb() { ip netns exec "$NS_LB" "$@"; }
in_be() { ip netns exec "$NS_BE" "$@"; }

_ns_add() {
    ip netns add "$1" || t_bail "cannot create namespace $1"
    T_NSES+=("$1")
    ip -n "$1" link set lo up
    ip netns exec "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
        net.ipv4.ip_local_port_range="20000 60999" 2>/dev/null
}

# _host NS PEERNAME ADDR...: a veth from the bridge namespace into NS (eth0).
_host() {
    local ns=$1 peer=$2 a; shift 2
    _ns_add "$ns"
    ip -n "$NS_BR" link add "$peer" type veth peer name eth0 netns "$ns" || t_bail "veth $peer"
    ip -n "$NS_BR" link set "$peer" master br0 up
    ip -n "$ns" link set eth0 up
    for a in "$@"; do
        case $a in
        *:*) ip -n "$ns" addr add "$a" dev eth0 nodad || t_bail "addr $a in $ns" ;;
        *)   ip -n "$ns" addr add "$a" dev eth0 || t_bail "addr $a in $ns" ;;
        esac
    done
}

topo_up() {
    local a cl_addrs=() be_addrs=()
    _ns_add "$NS_BR"
    ip -n "$NS_BR" link add br0 type bridge || t_bail "bridge"
    ip -n "$NS_BR" link set br0 up
    cl_addrs=("$CL_IP/24" "$CL_IP6/64")
    for a in "${CL_EXTRA_IPS[@]}"; do cl_addrs+=("$a/24"); done
    _host "$NS_CL" vcl "${cl_addrs[@]}"
    _host "$NS_LB" vlb "$LB_IP/24" "$LB_BACK_IP/24" "$LB_IP6/64" "2001:db8:2::10/64"
    for a in "${BE_IPS[@]}"; do be_addrs+=("$a/24"); done
    for a in "${BE_IP6S[@]}"; do be_addrs+=("$a/64"); done
    _host "$NS_BE" vbe "${be_addrs[@]}"
    # reachability check (bounded): lb -> a backend and client -> lb
    local i
    for i in $(seq 50); do
        in_lb ping -c1 -W1 -q "${BE_IPS[0]}" >/dev/null 2>&1 && break; sleep 0.1
    done
}

# ------------------------------------------------------------------ processes
# bg_start NS LOG CMD...: starts CMD in namespace NS in the background.
bg_start() {
    local ns=$1 log=$2; shift 2
    ip netns exec "$ns" "$@" >>"$log" 2>&1 </dev/null &
    BG_PID=$!
    T_PIDS+=("$BG_PID")
}

# wait_listen NS tcp|udp ADDR PORT [SECONDS]: bounded wait for a listener.
wait_listen() {
    local ns=$1 proto=$2 addr=$3 port=$4 secs=${5:-5} i flag=-Htln
    [ "$proto" = udp ] && flag=-Huln
    for i in $(seq $((secs * 20))); do
        ip netns exec "$ns" ss $flag "sport = :$port" 2>/dev/null | grep -qF -- "$addr" && return 0
        sleep 0.05
    done
    return 1
}

# backend_start NAME ADDR:PORT [backend.py args...]
backend_start() {
    local name=$1 listen=$2 port proto=tcp; shift 2
    port=${listen##*:}
    case " $* " in *" --udp-echo "*) proto=udp ;; esac
    bg_start "$NS_BE" "$T_DIR/backend-$name.log" "$PY" "$T_LIBDIR/backend.py" \
        --name "$name" --listen "$listen" "$@"
    BE_PID[$name]=$BG_PID
    local addr=${listen%:*}; addr=${addr#[}; addr=${addr%]}
    wait_listen "$NS_BE" "$proto" "$addr" "$port" 5 || t_bail "backend $name did not listen on $listen"
}

# backend_multi PNAME SPEC... [-- backend.py args]: one backend.py process
# serving several named listeners (SPEC = NAME@ADDR:PORT); BE_PID[PNAME].
backend_multi() {
    local pname=$1 spec proto=tcp specs=() args=(); shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do specs+=("$1"); shift; done
    [ "${1:-}" = -- ] && shift
    args=("$@")
    case " ${args[*]:-} " in *" --udp-echo "*) proto=udp ;; esac
    local cmd=("$PY" "$T_LIBDIR/backend.py" --name "$pname")
    for spec in "${specs[@]}"; do cmd+=(--listen "$spec"); done
    bg_start "$NS_BE" "$T_DIR/backend-$pname.log" "${cmd[@]}" "${args[@]}"
    BE_PID[$pname]=$BG_PID
    local listen addr port
    for spec in "${specs[@]}"; do
        listen=${spec#*@}; port=${listen##*:}; addr=${listen%:*}; addr=${addr#[}; addr=${addr%]}
        wait_listen "$NS_BE" "$proto" "$addr" "$port" 5 || t_bail "backend $pname did not listen on $listen"
    done
}

backend_kill() { local p=${BE_PID[$1]}; kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; }

# backend_stats NAME ADDR:PORT: the backend's /conns JSON, asked directly.
backend_stats() {
    local host=${2%:*} port=${2##*:}
    in_be "$PY" - "$host" "$port" <<'EOF'
import http.client, sys
c = http.client.HTTPConnection(sys.argv[1].strip("[]"), int(sys.argv[2]), timeout=3)
c.request("GET", "/conns"); print(c.getresponse().read().decode())
EOF
}

clpy() { in_cl "$PY" "$T_LIBDIR/client.py" "$@"; }

# cl_curl ARGS...: curl in the client namespace, bounded.
cl_curl() { in_cl curl -sS --max-time 10 "$@"; }

# ------------------------------------------------------------------ proxy
# proxy_conf FILE: writes stdin to FILE (a libconfig file).
proxy_conf() { cat >"$1"; }

# proxy_start CONF [tcp:ADDR:PORT|udp:ADDR:PORT ...]
proxy_start() {
    local conf=$1 w proto rest addr port; shift
    t_need_proxy
    : >"$PROXY_LOG"
    bg_start "$NS_LB" "$PROXY_LOG" "$PROXY_BIN" -c "$conf"
    PROXY_PID=$BG_PID
    for w in "$@"; do
        proto=${w%%:*}; rest=${w#*:}; port=${rest##*:}; addr=${rest%:*}
        if ! wait_listen "$NS_LB" "$proto" "$addr" "$port" 5; then
            kill -0 "$PROXY_PID" 2>/dev/null || t_bail "tandem-proxy exited at start (config $conf)"
            t_bail "tandem-proxy is not listening on $w"
        fi
    done
    kill -0 "$PROXY_PID" 2>/dev/null || t_bail "tandem-proxy exited at start"
}

proxy_reload() { kill -HUP "$PROXY_PID"; }

# proxy_rss_kb: peak RSS (VmHWM) of the proxy, in kB.
proxy_rss_kb() { awk '/^VmHWM:/ {print $2}' "/proc/$PROXY_PID/status" 2>/dev/null; }

# proxy_wait_exit SECONDS: waits for the proxy to exit; sets PROXY_RC (or
# returns 1 if it is still running).
proxy_wait_exit() {
    local secs=$1 i
    for i in $(seq $((secs * 20))); do
        kill -0 "$PROXY_PID" 2>/dev/null || { wait "$PROXY_PID"; PROXY_RC=$?; return 0; }
        sleep 0.05
    done
    return 1
}

# proxy_stop_check: SIGTERM; one TAP test: exits 0 within 15 s with no
# sanitizer report and no crash in its log.
proxy_stop_check() {
    [ -n "$PROXY_PID" ] || return 0
    if ! kill -0 "$PROXY_PID" 2>/dev/null; then
        wait "$PROXY_PID"; PROXY_RC=$?
        t_fail "tandem-proxy still running at the end of the test" "it had exited with $PROXY_RC"
        PROXY_PID=; return
    fi
    kill -TERM "$PROXY_PID"
    if ! proxy_wait_exit 15; then
        t_fail "tandem-proxy exits on SIGTERM" "still running 15 s after SIGTERM"
        stop_pid "$PROXY_PID" KILL; PROXY_PID=; return
    fi
    if [ "$PROXY_RC" = 0 ] && ! grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:|Segmentation|Assertion' "$PROXY_LOG"; then
        t_ok "tandem-proxy exits 0 on SIGTERM, no sanitizer report"
    else
        t_fail "tandem-proxy exits 0 on SIGTERM, no sanitizer report" "exit status $PROXY_RC" \
            "$(grep -E -A12 'AddressSanitizer|LeakSanitizer|runtime error:' "$PROXY_LOG" | head -30)"
    fi
    PROXY_PID=
}

# The global section most tests use: conf_global THREADS [extra settings]
conf_global() {
    printf 'global = { threads = %s; access_log = "stderr"; log = { level = "info"; }; %s };\n' \
        "${1:-1}" "${2:-}"
}
