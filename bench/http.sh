#!/bin/bash
# bench/http.sh - tandem-proxy, HAProxy and nginx side by side on loopback,
# against the same local backends, with wrk. Not a test: run it by hand and
# paste the table it prints. See bench/README.md.
#
#   bench/http.sh [-p PATH-TO-tandem-proxy] [-d SECONDS] [-r RUNS] [-c "50 200"]
#                 [-m "http tcp"] [-t THREADS] [--no-pin]
#
# Every proxy gets the same number of threads/workers (-t, default 1) and the
# same backends: one nginx (1 worker) answering a 13-byte 200 on 4 ports.
# Pinning (default, needs 2+ CPUs): the proxy under test on the last CPU,
# wrk and the backend nginx on the others. Runs are interleaved
# (tandem haproxy nginx tandem haproxy nginx ...), each proxy is started
# fresh for each run (so peak RSS is per run), and the table shows medians.
# Everything started is stopped by PID on exit.
set -u

PROXY_BIN=${TANDEM_PROXY:-}
DUR=10
RUNS=3
CONNS="50 200"
MODES="http tcp"
THREADS=1
PIN=1
WARMUP=2
while [ $# -gt 0 ]; do
    case $1 in
    -p) PROXY_BIN=$2; shift 2 ;;
    -d) DUR=$2; shift 2 ;;
    -r) RUNS=$2; shift 2 ;;
    -c) CONNS=$2; shift 2 ;;
    -m) MODES=$2; shift 2 ;;
    -t) THREADS=$2; shift 2 ;;
    --no-pin) PIN=0; shift ;;
    -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "$PROXY_BIN" ]; then
    for p in "${top_builddir:-}/tandem-proxy" "$here/../tandem-proxy" "$here/../build/tandem-proxy"; do
        [ -x "$p" ] && { PROXY_BIN=$p; break; }
    done
fi
[ -x "${PROXY_BIN:-}" ] || { echo "no tandem-proxy binary: use -p PATH" >&2; exit 2; }
for t in wrk haproxy nginx taskset; do
    command -v $t >/dev/null || { echo "needs $t (scripts/install-deps.sh)" >&2; exit 2; }
done
NGINX_STREAM=""
[ -f /usr/lib/nginx/modules/ngx_stream_module.so ] && NGINX_STREAM=/usr/lib/nginx/modules/ngx_stream_module.so

ncpu=$(nproc)
if [ $PIN = 1 ] && [ "$ncpu" -ge 2 ]; then
    PROXY_CPUS=$((ncpu - 1))
    LOAD_CPUS=0-$((ncpu - 2))
else
    PIN=0
fi
# Command prefixes (arrays, not functions, so that `$!` of a background
# start is the process itself: taskset execs it).
PIN_PROXY=(); PIN_LOAD=()
if [ $PIN = 1 ]; then PIN_PROXY=(taskset -c "$PROXY_CPUS"); PIN_LOAD=(taskset -c "$LOAD_CPUS"); fi

D=$(mktemp -d /tmp/tandem-bench.XXXXXX)
PIDS=()
cleanup() {
    local p i
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do
        for i in $(seq 40); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
        kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null
    done
    rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Ports (loopback only). Refuse to start if any is taken.
BE_PORTS="28081 28082 28083 28084"
declare -A HPORT=([tandem]=28001 [haproxy]=28011 [nginx]=28021)
declare -A TPORT=([tandem]=28002 [haproxy]=28012 [nginx]=28022)
for p in $BE_PORTS ${HPORT[*]} ${TPORT[*]}; do
    if ss -Htln "sport = :$p" | grep -q .; then echo "port 127.0.0.1:$p is in use" >&2; exit 2; fi
done

# ---------------------------------------------------------------- backend
mkdir -p "$D/be"
{
    echo "worker_processes 1; pid $D/be/nginx.pid; error_log $D/be/error.log warn;"
    echo "events { worker_connections 4096; }"
    echo "http { access_log off; keepalive_requests 1000000; keepalive_timeout 300s;"
    echo "  client_body_temp_path $D/be/cb; proxy_temp_path $D/be/pt; fastcgi_temp_path $D/be/ft;"
    echo "  uwsgi_temp_path $D/be/ut; scgi_temp_path $D/be/st;"
    for p in $BE_PORTS; do
        echo "  server { listen 127.0.0.1:$p reuseport; location / { return 200 \"hello, world\n\"; } }"
    done
    echo "}"
} >"$D/be/nginx.conf"
"${PIN_LOAD[@]}" nginx -p "$D/be" -c "$D/be/nginx.conf" -g 'daemon off;' >"$D/be/stderr" 2>&1 &
PIDS+=($!)

wait_port() {   # wait_port PORT: bounded (5 s)
    local i
    for i in $(seq 100); do ss -Htln "sport = :$1" | grep -q . && return 0; sleep 0.05; done
    echo "nothing listens on 127.0.0.1:$1" >&2; return 1
}
for p in $BE_PORTS; do wait_port "$p" || exit 1; done

# ---------------------------------------------------------------- proxy configs
tandem_conf() {
    local f=$D/tandem.conf p sep=""
    {
        echo "global = { threads = $THREADS; log = { level = \"warning\"; }; };"
        echo "frontends = ("
        echo "  { name = \"h\"; bind = \"127.0.0.1:${HPORT[tandem]}\"; mode = \"http\"; backend = \"be\"; },"
        echo "  { name = \"t\"; bind = \"127.0.0.1:${TPORT[tandem]}\"; mode = \"tcp\"; backend = \"be\"; } );"
        echo "backends = ( { name = \"be\"; algorithm = \"roundrobin\"; servers = ("
        for p in $BE_PORTS; do echo "  $sep{ name = \"s$p\"; addr = \"127.0.0.1:$p\"; }"; sep=","; done
        echo ") } );"
    } >"$f"
    echo "$f"
}
haproxy_conf() {
    local f=$D/haproxy.cfg p
    {
        echo "global"
        echo "  nbthread $THREADS"
        echo "  maxconn 4096"
        echo "defaults"
        echo "  timeout connect 5s"
        echo "  timeout client 30s"
        echo "  timeout server 30s"
        echo "frontend h"
        echo "  mode http"
        echo "  bind 127.0.0.1:${HPORT[haproxy]}"
        echo "  default_backend bh"
        echo "backend bh"
        echo "  mode http"
        echo "  balance roundrobin"
        echo "  http-reuse always"
        for p in $BE_PORTS; do echo "  server s$p 127.0.0.1:$p"; done
        echo "frontend t"
        echo "  mode tcp"
        echo "  bind 127.0.0.1:${TPORT[haproxy]}"
        echo "  default_backend bt"
        echo "backend bt"
        echo "  mode tcp"
        echo "  balance roundrobin"
        for p in $BE_PORTS; do echo "  server s$p 127.0.0.1:$p"; done
    } >"$f"
    echo "$f"
}
nginx_conf() {
    local f=$D/nx/nginx.conf p
    mkdir -p "$D/nx"
    {
        [ -n "$NGINX_STREAM" ] && echo "load_module $NGINX_STREAM;"
        echo "worker_processes $THREADS; pid $D/nx/nginx.pid; error_log $D/nx/error.log warn;"
        echo "events { worker_connections 4096; }"
        echo "http { access_log off;"
        echo "  client_body_temp_path $D/nx/cb; proxy_temp_path $D/nx/pt; fastcgi_temp_path $D/nx/ft;"
        echo "  uwsgi_temp_path $D/nx/ut; scgi_temp_path $D/nx/st;"
        echo "  keepalive_requests 1000000;"
        echo "  upstream be { keepalive 64; keepalive_requests 1000000;"
        for p in $BE_PORTS; do echo "    server 127.0.0.1:$p;"; done
        echo "  }"
        echo "  server { listen 127.0.0.1:${HPORT[nginx]};"
        echo "    location / { proxy_pass http://be; proxy_http_version 1.1; proxy_set_header Connection \"\"; } }"
        echo "}"
        if [ -n "$NGINX_STREAM" ]; then
            echo "stream { upstream bt {"
            for p in $BE_PORTS; do echo "    server 127.0.0.1:$p;"; done
            echo "  }"
            echo "  server { listen 127.0.0.1:${TPORT[nginx]}; proxy_pass bt; } }"
        fi
    } >"$f"
    echo "$f"
}

# start_proxy NAME: sets PPID_ (the proxy's main pid)
start_proxy() {
    case $1 in
    tandem)  "${PIN_PROXY[@]}" "$PROXY_BIN" -c "$(tandem_conf)" >"$D/tandem.log" 2>&1 & ;;
    haproxy) "${PIN_PROXY[@]}" haproxy -db -f "$(haproxy_conf)" >"$D/haproxy.log" 2>&1 & ;;
    nginx)   "${PIN_PROXY[@]}" nginx -p "$D/nx" -c "$(nginx_conf)" -g 'daemon off;' >"$D/nginx.log" 2>&1 & ;;
    esac
    PPID_=$!
    PIDS+=($PPID_)
    wait_port "${HPORT[$1]}" || { echo "$1 did not start" >&2; cat "$D/$1.log" >&2; exit 1; }
    if [ "$1" != nginx ] || [ -n "$NGINX_STREAM" ]; then wait_port "${TPORT[$1]}" || exit 1; fi
}
stop_proxy() {
    local i
    kill -TERM "$PPID_" 2>/dev/null
    for i in $(seq 100); do kill -0 "$PPID_" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$PPID_" 2>/dev/null; wait "$PPID_" 2>/dev/null
    # nginx workers exit with their master; wait until the ports are free
    for i in $(seq 100); do
        ss -Htln "sport = :${HPORT[$1]}" | grep -q . || break; sleep 0.05
    done
}
# the proxy's processes: the main pid and its children (nginx workers)
proxy_pids() { echo "$PPID_ $(ps -o pid= --ppid "$PPID_" 2>/dev/null)"; }
cpu_ticks() {   # utime + stime of the proxy's processes
    local p t=0 s
    for p in $(proxy_pids); do
        s=$(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null) && t=$((t + ${s:-0}))
    done
    echo $t
}
peak_rss_kb() {
    local p t=0 s
    for p in $(proxy_pids); do
        s=$(awk '/^VmHWM:/ { print $2 }' "/proc/$p/status" 2>/dev/null) && t=$((t + ${s:-0}))
    done
    echo $t
}
to_ms() {   # wrk latency "812.00us" / "1.23ms" / "2.01s" -> ms
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
        else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
        else print "nan" }'
}

HZ=$(getconf CLK_TCK)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
RES=$D/results.tsv
: >"$RES"
for mode in $MODES; do
    for c in $CONNS; do
        for run in $(seq "$RUNS"); do
            for px in tandem haproxy nginx; do
                if [ "$mode" = tcp ] && [ "$px" = nginx ] && [ -z "$NGINX_STREAM" ]; then continue; fi
                start_proxy "$px"
                if [ "$mode" = http ]; then port=${HPORT[$px]}; else port=${TPORT[$px]}; fi
                url=http://127.0.0.1:$port/
                "${PIN_LOAD[@]}" wrk -t2 -c"$c" -d"${WARMUP}s" "$url" >/dev/null 2>&1
                t0=$(cpu_ticks)
                out=$("${PIN_LOAD[@]}" timeout $((DUR + 30)) wrk -t2 -c"$c" -d"${DUR}s" --latency "$url" 2>&1)
                t1=$(cpu_ticks)
                rss=$(peak_rss_kb)
                stop_proxy "$px"
                rps=$(echo "$out" | awk '/^Requests\/sec:/ { print $2 }')
                p50=$(to_ms "$(echo "$out" | awk '$1 == "50%" { print $2 }')")
                p99=$(to_ms "$(echo "$out" | awk '$1 == "99%" { print $2 }')")
                errs=$(echo "$out" | awk '/Socket errors|Non-2xx/ { printf "%s ", $0 }')
                reqs=$(echo "$out" | awk '/requests in/ { print $1 }')
                cpu_us=$(awk -v a="$t0" -v b="$t1" -v hz="$HZ" -v n="${reqs:-0}" \
                    'BEGIN { if (n > 0) printf "%.1f", (b - a) / hz * 1e6 / n; else print "nan" }')
                printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$c" "$px" "$run" \
                    "${rps:-0}" "$p50" "$p99" "$rss" "$cpu_us" >>"$RES"
                printf '# %s c=%s run %s %-8s %10s req/s  p50 %s ms  p99 %s ms  rss %s kB  cpu %s us/req %s\n' \
                    "$mode" "$c" "$run" "$px" "${rps:-0}" "$p50" "$p99" "$rss" "$cpu_us" "$errs" >&2
            done
        done
    done
done

# ---------------------------------------------------------------- table
echo
echo "tandem-proxy vs HAProxy $(haproxy -v 2>/dev/null | awk 'NR==1 { print $3 }') vs nginx $(nginx -v 2>&1 | sed 's|.*/||'); wrk -t2, ${DUR}s runs, median of $RUNS interleaved runs;"
echo "load average before: $LOAD0, after: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine adds noise; runs are interleaved so it hits all three alike)."
echo "$THREADS thread(s)/worker(s) per proxy; $( [ $PIN = 1 ] && echo "proxy pinned to CPU $PROXY_CPUS, wrk and backend nginx to CPU $LOAD_CPUS" || echo "no CPU pinning"); $ncpu CPUs; loopback."
echo
echo "| mode | conns | proxy | req/s | req/s min-max | p50 ms | p99 ms | peak RSS MB | CPU us/req | req/s vs HAProxy | p99 vs HAProxy |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
awk -F'\t' '
    function range(list,   n, a, i, lo, hi) {
        n = split(list, a, " "); lo = hi = a[1] + 0
        for (i = 2; i <= n; i++) { if (a[i] + 0 < lo) lo = a[i] + 0; if (a[i] + 0 > hi) hi = a[i] + 0 }
        return sprintf("%.0f-%.0f", lo, hi)
    }
    function median(list,   n, a, i, j, t) {
        n = split(list, a, " ")
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
        return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    { k = $1 SUBSEP $2 SUBSEP $3
      if (!(k in seen)) { seen[k] = 1; order[++nk] = k }
      rps[k] = rps[k] " " $5; p50[k] = p50[k] " " $6; p99[k] = p99[k] " " $7
      rss[k] = rss[k] " " $8; cpu[k] = cpu[k] " " $9 }
    END {
        for (i = 1; i <= nk; i++) {
            k = order[i]; split(k, f, SUBSEP)
            h = f[1] SUBSEP f[2] SUBSEP "haproxy"
            r = median(rps[k]); q = median(p99[k])
            rh = (h in seen) ? median(rps[h]) : 0; qh = (h in seen) ? median(p99[h]) : 0
            printf "| %s | %s | %s | %.0f | %s | %.2f | %.2f | %.1f | %.1f | %s | %s |\n", f[1], f[2], f[3], r, range(rps[k]),
                median(p50[k]), q, median(rss[k]) / 1024, median(cpu[k]),
                (rh > 0) ? sprintf("%.2f", r / rh) : "-", (qh > 0) ? sprintf("%.2f", q / qh) : "-"
        }
    }' "$RES"
[ -z "$NGINX_STREAM" ] && echo && echo "nginx tcp mode: not measured (no stream module; Debian package libnginx-mod-stream)."
exit 0
