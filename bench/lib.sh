# bench/lib.sh - helpers shared by the benchmark scripts (sourced, not run).
#
# The caller sets PIN (1 to pin, 0 not) and sources this file after parsing
# its options; bench_setup then fills in:
#   PROXY_BIN            the tandem-proxy to run (from -p, TANDEM_PROXY or the
#                        usual build places)
#   PIN_PROXY, PIN_LOAD  command prefixes (arrays: `taskset -c ...` or empty)
#   PROXY_CPUS, LOAD_CPUS, LOAD_NCPU  which CPUs each side has
#   D                    a scratch directory, removed on exit
#   PIDS                 what cleanup stops (TERM, then KILL), by PID only

bench_setup() {   # bench_setup NAME TOOL...: checks tools, pins, scratch dir
    local name=$1 p t here
    shift
    here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    if [ -z "${PROXY_BIN:-}" ]; then
        for p in "${top_builddir:-}/tandem-proxy" "$here/../tandem-proxy" "$here/../build/tandem-proxy"; do
            [ -x "$p" ] && { PROXY_BIN=$p; break; }
        done
    fi
    [ -x "${PROXY_BIN:-}" ] || { echo "no tandem-proxy binary: use -p PATH" >&2; exit 2; }
    for t in "$@"; do
        command -v "$t" >/dev/null || { echo "needs $t (scripts/install-deps.sh)" >&2; exit 2; }
    done
    NCPU=$(nproc)
    if [ "$PIN" = 1 ] && [ "$NCPU" -ge 2 ]; then
        PROXY_CPUS=$((NCPU - 1)); LOAD_CPUS=0-$((NCPU - 2)); LOAD_NCPU=$((NCPU - 1))
        # Arrays, not functions, so that `$!` of a background start is the
        # process itself: taskset execs it.
        PIN_PROXY=(taskset -c "$PROXY_CPUS"); PIN_LOAD=(taskset -c "$LOAD_CPUS")
    else
        PIN=0; PROXY_CPUS=all; LOAD_CPUS=all; LOAD_NCPU=$NCPU
        PIN_PROXY=(); PIN_LOAD=()
    fi
    D=$(mktemp -d "/tmp/tandem-bench-$name.XXXXXX")
    PIDS=()
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}

bench_cleanup() {
    local p i
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do
        for i in $(seq 40); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
        kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null
    done
    rm -rf "$D"
}

# A process that has been waited for leaves the list, so that cleanup never
# signals a PID the system has since given to someone else.
forget_pid() {
    local p keep=()
    for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}

ports_free() {   # ports_free PORT...: refuses to go on if one is taken
    local p
    for p in "$@"; do
        if ss -Htln "sport = :$p" | grep -q .; then echo "port 127.0.0.1:$p is in use" >&2; exit 2; fi
    done
}

wait_port() {   # wait_port PORT: bounded (5 s)
    local i
    for i in $(seq 100); do ss -Htln "sport = :$1" | grep -q . && return 0; sleep 0.05; done
    echo "nothing listens on 127.0.0.1:$1" >&2; return 1
}

# backend_nginx DIR PORT...: one nginx worker answering a 13-byte 200 on
# each port, on the load CPUs.
backend_nginx() {
    local dir=$1 p
    shift
    mkdir -p "$dir"
    {
        echo "worker_processes 1; pid $dir/nginx.pid; error_log $dir/error.log warn;"
        echo "events { worker_connections 4096; }"
        echo "http { access_log off; keepalive_requests 1000000; keepalive_timeout 300s;"
        echo "  client_body_temp_path $dir/cb; proxy_temp_path $dir/pt; fastcgi_temp_path $dir/ft;"
        echo "  uwsgi_temp_path $dir/ut; scgi_temp_path $dir/st;"
        for p in "$@"; do
            echo "  server { listen 127.0.0.1:$p reuseport; location / { return 200 \"hello, world\n\"; } }"
        done
        echo "}"
    } >"$dir/nginx.conf"
    "${PIN_LOAD[@]}" nginx -p "$dir" -c "$dir/nginx.conf" -g 'daemon off;' >"$dir/stderr" 2>&1 &
    PIDS+=($!)
    for p in "$@"; do wait_port "$p" || exit 1; done
}

# The PID and its children (nginx's workers).
proc_tree() { echo "$1 $(ps -o pid= --ppid "$1" 2>/dev/null)"; }
# tree_sum PID FILE AWK: what AWK prints for /proc/P/FILE, summed over the
# process and its children (a process gone meanwhile counts 0).
tree_sum() {
    local p t=0 s
    for p in $(proc_tree "$1"); do
        s=$(awk "$3" "/proc/$p/$2" 2>/dev/null) && t=$((t + ${s:-0}))
    done
    echo $t
}
# utime + stime ticks of a process and its children.
cpu_ticks() { tree_sum "$1" stat '{ print $14 + $15 }'; }
# Peak RSS (kB, VmHWM summed over the process and its children); rss_reset
# starts a new peak (writing 5 to clear_refs resets VmHWM).
peak_rss_kb() { tree_sum "$1" status '/^VmHWM:/ { print $2 }'; }
rss_reset() {
    local p
    for p in $(proc_tree "$1"); do echo 5 >"/proc/$p/clear_refs" 2>/dev/null; done
}
# Time (ns, summed over threads) a process spent runnable without a CPU.
wait_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ w += $2 } END { printf "%.0f\n", w }'; }
# "busy total" jiffies of the load CPUs (all CPUs when not pinned),
# whoever used them.
load_cpu_jiffies() {
    local last=$((NCPU - 1))
    [ "$PIN" = 1 ] && last=$((NCPU - 2))
    awk -v last="$last" '$1 ~ /^cpu[0-9]+$/ && substr($1, 4) + 0 <= last {
        busy += $2 + $3 + $4 + $7 + $8 + $9; total += $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }
        END { printf "%.0f %.0f\n", busy, total }' /proc/stat
}
to_ms() {   # wrk latency "812.00us" / "1.23ms" / "2.01s" -> ms
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
        else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
        else print "nan" }'
}
# An awk function for the tables: median of a space-separated list.
AWK_MEDIAN='function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}'

# stat_begin PID ... stat_end PID REQUESTS: what one run cost the proxy.
# stat_end sets CPU_US (the proxy's CPU time per request, "nan" without
# requests), BUSY (% of PROXY_CORES, which the caller sets), LBUSY (% of
# the load CPUs busy, whoever used them) and WAITED (% of the wall time
# the proxy's threads were runnable without a CPU).
stat_begin() {
    S_T0=$(cpu_ticks "$1"); S_W0=$EPOCHREALTIME; S_L0=$(load_cpu_jiffies); S_Q0=$(wait_ns "$1")
}
stat_end() {
    local t1 w1 l1 q1
    t1=$(cpu_ticks "$1"); w1=$EPOCHREALTIME; l1=$(load_cpu_jiffies); q1=$(wait_ns "$1")
    read -r CPU_US BUSY LBUSY WAITED < <(awk -v a="$S_T0" -v b="$t1" -v hz="$(getconf CLK_TCK)" \
        -v n="${2:-0}" -v w0="$S_W0" -v w1="$w1" -v cores="${PROXY_CORES:-1}" -v l0="$S_L0" \
        -v l1="$l1" -v q0="$S_Q0" -v q1="$q1" 'BEGIN {
            s = (b - a) / hz; split(l0, x, " "); split(l1, y, " ")
            printf "%s %.0f %.0f %.0f\n", (n > 0) ? sprintf("%.1f", s * 1e6 / n) : "nan",
                100 * s / (w1 - w0) / cores,
                (y[2] > x[2]) ? 100 * (y[1] - x[1]) / (y[2] - x[2]) : 0,
                100 * (q1 - q0) / 1e9 / (w1 - w0) }')
}
