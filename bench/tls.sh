#!/bin/bash
# bench/tls.sh - TLS termination: tandem-proxy vs HAProxy on loopback, same
# certificate (ECDSA P-256), same backend nginx. Not a test: run it by hand
# and paste the table it prints. See bench/README.md.
#
#   bench/tls.sh [-p PATH-TO-tandem-proxy] [-d SECONDS] [-r RUNS] [-c CONNS]
#                [-n CLIENTS] [-t THREADS] [-w "full resumed keepalive"]
#                [--ports BASE] [--no-pin]
#
# Three workloads (TLS 1.3, X25519, TLS_AES_256_GCM_SHA384 on both proxies):
#   full       every connection a full handshake, no resumption: -n CLIENTS
#              (default 8) `openssl s_time -new -www /` in parallel, each a
#              fresh SSL with no session per connection and one HTTP/1.0
#              GET; req/s = their connections summed / wall time. No p99.
#   resumed    wrk -c CONNS -H "Connection: close": a new connection per
#              request, resumed with the last TLS 1.3 ticket (wrk keeps the
#              SSL's session across reconnects, as browsers resume): one
#              full handshake per wrk connection, then PSK (psk_dhe_ke).
#   keepalive  wrk -c CONNS, HTTPS requests on kept-alive connections.
# Checked once by hand with dumpcap on lo + tshark -d tcp.port==PORT,tls
# (2 s of each, both proxies): under `full` no ClientHello carried the
# pre_shared_key extension (tls.handshake.extension.type==41) and no
# ServerHello accepted one (0 of 1930 tandem, 0 of 1799 HAProxy); under
# `resumed` every ServerHello but the first of each wrk connection accepted
# a PSK (tandem 945 of 995, HAProxy 630 of 680: the 50 others are wrk's 50
# first connections).
# The client side is expensive too (OpenSSL 3 spends about as much CPU per
# full handshake in s_time as the server does), so on a 2-core machine the
# load CPU saturates before the proxy's: "proxy busy %" (the proxy's CPU
# time over wall time, from /proc/PID/stat) says how much of its CPU the
# proxy used; "proxy waited %" how long its threads were runnable but had
# no CPU (/proc/PID/task/*/schedstat: other load on a shared machine);
# "client CPUs busy %" how busy the clients' CPUs were (with whatever else
# runs there). Below 90% proxy busy the proxy was not the limit, "CPU
# us/req" (its CPU time per request) is the fair comparison, and the
# script says so and why under the table.
# Every proxy gets the same threads (-t, default 1); pinned (default, 2+
# CPUs): the proxy on the last CPU, clients and the backend nginx on the
# others. Runs are interleaved (tandem haproxy tandem haproxy ...), each
# proxy is started fresh per run, the table shows medians and the ratios to
# HAProxy. Ports on 127.0.0.1: tandem BASE+1, HAProxy BASE+11, backend
# BASE+81 (--ports, default 28100). Everything started is stopped by PID on
# exit.
set -u

PROXY_BIN=${TANDEM_PROXY:-}
DUR=10
RUNS=3
CONNS=50
CLIENTS=8
THREADS=1
WORKLOADS="full resumed keepalive"
PIN=1
WARMUP=2
PORT_BASE=28100
while [ $# -gt 0 ]; do
    case $1 in
    -p) PROXY_BIN=$2; shift 2 ;;
    -d) DUR=$2; shift 2 ;;
    -r) RUNS=$2; shift 2 ;;
    -c) CONNS=$2; shift 2 ;;
    -n) CLIENTS=$2; shift 2 ;;
    -t) THREADS=$2; shift 2 ;;
    -w) WORKLOADS=$2; shift 2 ;;
    --ports) PORT_BASE=$2; shift 2 ;;
    --no-pin) PIN=0; shift ;;
    -h|--help) sed -n '2,43p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
for w in $WORKLOADS; do
    case $w in full|resumed|keepalive) ;; *) echo "unknown workload $w" >&2; exit 2 ;; esac
done
here=$(cd "$(dirname "$0")" && pwd)
if [ -z "$PROXY_BIN" ]; then
    for p in "${top_builddir:-}/tandem-proxy" "$here/../tandem-proxy" "$here/../build/tandem-proxy"; do
        [ -x "$p" ] && { PROXY_BIN=$p; break; }
    done
fi
[ -x "${PROXY_BIN:-}" ] || { echo "no tandem-proxy binary: use -p PATH" >&2; exit 2; }
for t in wrk haproxy nginx taskset openssl timeout; do
    command -v $t >/dev/null || { echo "needs $t (scripts/install-deps.sh)" >&2; exit 2; }
done

ncpu=$(nproc)
if [ $PIN = 1 ] && [ "$ncpu" -ge 2 ]; then
    PROXY_CPUS=$((ncpu - 1)); LOAD_CPUS=0-$((ncpu - 2))
else
    PIN=0
fi
PIN_PROXY=(); PIN_LOAD=()
if [ $PIN = 1 ]; then PIN_PROXY=(taskset -c "$PROXY_CPUS"); PIN_LOAD=(taskset -c "$LOAD_CPUS"); fi
# How many CPUs the proxy can use at most: "proxy busy %" is out of this.
if [ $PIN = 1 ]; then PROXY_CORES=1; else PROXY_CORES=$((THREADS < ncpu ? THREADS : ncpu)); fi
# The CPUs the clients run on ("client CPUs busy %"): all of them unpinned;
# and what the proxy waits for when it waits for a CPU.
if [ $PIN = 1 ]; then
    CLIENT_CPU_LAST=$((ncpu - 2)); WAIT_CAUSE="other load on its CPU"
else
    CLIENT_CPU_LAST=$((ncpu - 1)); WAIT_CAUSE="the clients, its own threads or other load"
fi

D=$(mktemp -d /tmp/tandem-bench-tls.XXXXXX)
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
# A process that has been waited for leaves the list, so that cleanup never
# signals a PID the system has since given to someone else.
forget_pid() {
    local p keep=()
    for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}

BE_PORT=$((PORT_BASE + 81))
declare -A PORT=([tandem]=$((PORT_BASE + 1)) [haproxy]=$((PORT_BASE + 11)))
for p in $BE_PORT ${PORT[*]}; do
    if ss -Htln "sport = :$p" | grep -q .; then echo "port 127.0.0.1:$p is in use" >&2; exit 2; fi
done

# ---------------------------------------------------------------- certificate
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=bench.test" -addext "subjectAltName=DNS:bench.test" \
    -keyout "$D/key.pem" -out "$D/cert.pem" >/dev/null 2>&1 || { echo "openssl failed" >&2; exit 1; }
cat "$D/cert.pem" "$D/key.pem" >"$D/haproxy.pem"

# ---------------------------------------------------------------- backend
mkdir -p "$D/be"
cat >"$D/be/nginx.conf" <<CONF
worker_processes 1; pid $D/be/nginx.pid; error_log $D/be/error.log warn;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000; keepalive_timeout 300s;
  client_body_temp_path $D/be/cb; proxy_temp_path $D/be/pt; fastcgi_temp_path $D/be/ft;
  uwsgi_temp_path $D/be/ut; scgi_temp_path $D/be/st;
  server { listen 127.0.0.1:$BE_PORT reuseport; location / { return 200 "hello, world\n"; } } }
CONF
"${PIN_LOAD[@]}" nginx -p "$D/be" -c "$D/be/nginx.conf" -g 'daemon off;' >"$D/be/stderr" 2>&1 &
PIDS+=($!)

wait_port() {   # bounded (5 s)
    local i
    for i in $(seq 100); do ss -Htln "sport = :$1" | grep -q . && return 0; sleep 0.05; done
    echo "nothing listens on 127.0.0.1:$1" >&2; return 1
}
wait_port $BE_PORT || exit 1

# ---------------------------------------------------------------- proxies
cat >"$D/tandem.conf" <<CONF
global = { threads = $THREADS; log = { level = "warning"; }; };
frontends = ( { name = "h"; bind = "127.0.0.1:${PORT[tandem]}"; mode = "http"; backend = "be";
                add_xff = false;
                tls = { certs = ( { cert = "$D/cert.pem"; key = "$D/key.pem"; } ); }; } );
backends = ( { name = "be"; servers = ( { name = "s"; addr = "127.0.0.1:$BE_PORT"; } ); } );
CONF
cat >"$D/haproxy.cfg" <<CONF
global
  nbthread $THREADS
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend h
  bind 127.0.0.1:${PORT[haproxy]} ssl crt $D/haproxy.pem alpn http/1.1
  default_backend be
backend be
  http-reuse always
  server s 127.0.0.1:$BE_PORT
CONF

start_proxy() {
    case $1 in
    tandem)  "${PIN_PROXY[@]}" "$PROXY_BIN" -c "$D/tandem.conf" >"$D/tandem.log" 2>&1 & ;;
    haproxy) "${PIN_PROXY[@]}" haproxy -db -f "$D/haproxy.cfg" >"$D/haproxy.log" 2>&1 & ;;
    esac
    PPID_=$!
    PIDS+=($PPID_)
    wait_port "${PORT[$1]}" || { echo "$1 did not start" >&2; cat "$D/$1.log" >&2; exit 1; }
    # One request by hand: a proxy that answers anything but 200 would make
    # the s_time numbers (which do not look at the answer) meaningless.
    printf 'GET / HTTP/1.0\r\nHost: bench.test\r\n\r\n' |
        timeout 5 openssl s_client -quiet -connect "127.0.0.1:${PORT[$1]}" 2>/dev/null |
        head -1 | grep -q ' 200 ' || { echo "$1 does not answer 200 over TLS" >&2; exit 1; }
}
stop_proxy() {
    local i
    kill -TERM "$PPID_" 2>/dev/null
    for i in $(seq 100); do kill -0 "$PPID_" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$PPID_" 2>/dev/null; wait "$PPID_" 2>/dev/null
    forget_pid "$PPID_"
}
# Busy and total jiffies of CPUs 0..CLIENT_CPU_LAST, whoever used them.
client_cpu_jiffies() {
    awk -v last="$CLIENT_CPU_LAST" '$1 ~ /^cpu[0-9]+$/ && substr($1, 4) + 0 <= last {
        busy += $2 + $3 + $4 + $7 + $8 + $9; total += $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }
        END { printf "%.0f %.0f\n", busy, total }' /proc/stat
}
# Time the proxy's threads spent runnable but waiting for a CPU (ns, summed
# over threads).
proxy_wait_ns() { cat /proc/"$PPID_"/task/*/schedstat 2>/dev/null | awk '{ w += $2 } END { printf "%.0f\n", w }'; }
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$PPID_/stat" 2>/dev/null || echo 0; }
peak_rss_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$PPID_/status" 2>/dev/null || echo 0; }
to_ms() {
    awk -v v="$1" 'BEGIN {
        if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
        else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
        else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
        else print "nan" }'
}

# ---------------------------------------------------------------- clients
# Each load_* runs for $2 seconds against port $1 and sets REQS (requests =
# connections for full and resumed), RPS, P99 (ms, "nan" when unknown) and
# ERRS (text, empty when none).
load_full() {
    local port=$1 secs=$2 i p pids=() bad=0 t0 t1
    t0=$EPOCHREALTIME
    for i in $(seq "$CLIENTS"); do
        "${PIN_LOAD[@]}" timeout $((secs + 30)) openssl s_time -connect "127.0.0.1:$port" -new \
            -www / -time "$secs" -no-CAfile -no-CApath -no-CAstore >"$D/stime.$i" 2>&1 &
        pids+=($!); PIDS+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); forget_pid "$p"; done
    t1=$EPOCHREALTIME
    REQS=$(cat "$D"/stime.* | awk '/connections in .* real seconds/ { n += $1 } END { print n + 0 }')
    RPS=$(awk -v n="$REQS" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", n / (b - a) }')
    P99=nan
    ERRS=""; [ $bad -gt 0 ] && ERRS="$bad of $CLIENTS s_time clients failed: $(grep -hv '^\*' "$D"/stime.* | grep -i -m1 error)"
    rm -f "$D"/stime.*
}
load_wrk() {   # port seconds [extra wrk arguments]
    local port=$1 secs=$2 out
    shift 2
    out=$("${PIN_LOAD[@]}" timeout $((secs + 30)) wrk -t2 -c"$CONNS" -d"${secs}s" --latency "$@" \
          "https://127.0.0.1:$port/" 2>&1)
    RPS=$(echo "$out" | awk '/^Requests\/sec:/ { print $2 }')
    REQS=$(echo "$out" | awk '/requests in/ { print $1 }')
    P99=$(to_ms "$(echo "$out" | awk '$1 == "99%" { print $2 }')")
    ERRS=$(echo "$out" | awk '/Socket errors|Non-2xx/ { printf "%s ", $0 }')
}
load() {   # workload port seconds
    case $1 in
    full)      load_full "$2" "$3" ;;
    resumed)   load_wrk "$2" "$3" -H "Connection: close" ;;
    keepalive) load_wrk "$2" "$3" ;;
    esac
}

# ---------------------------------------------------------------- runs
HZ=$(getconf CLK_TCK)
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
RES=$D/results.tsv
: >"$RES"
for work in $WORKLOADS; do
    for run in $(seq "$RUNS"); do
        for px in tandem haproxy; do
            start_proxy "$px"
            load "$work" "${PORT[$px]}" "$WARMUP"
            c0=$(cpu_ticks); w0=$EPOCHREALTIME; l0=$(client_cpu_jiffies); q0=$(proxy_wait_ns)
            load "$work" "${PORT[$px]}" "$DUR"
            c1=$(cpu_ticks); w1=$EPOCHREALTIME; l1=$(client_cpu_jiffies); q1=$(proxy_wait_ns)
            rss=$(peak_rss_kb)
            stop_proxy "$px"
            read -r cpu_us busy lbusy qwait < <(awk -v a="$c0" -v b="$c1" -v hz="$HZ" -v n="${REQS:-0}" \
                -v w0="$w0" -v w1="$w1" -v cores="$PROXY_CORES" -v l0="$l0" -v l1="$l1" \
                -v q0="$q0" -v q1="$q1" 'BEGIN {
                    s = (b - a) / hz; split(l0, x, " "); split(l1, y, " ")
                    printf "%s %.0f %.0f %.0f\n", (n > 0) ? sprintf("%.1f", s * 1e6 / n) : "nan",
                        100 * s / (w1 - w0) / cores,
                        (y[2] > x[2]) ? 100 * (y[1] - x[1]) / (y[2] - x[2]) : 0,
                        100 * (q1 - q0) / 1e9 / (w1 - w0) }')
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$work" "$px" "$run" "${RPS:-0}" \
                "$P99" "$rss" "$cpu_us" "$busy" "$lbusy" "$qwait" >>"$RES"
            printf '# %s run %s %-8s %10s req/s  p99 %s ms  rss %s kB  cpu %s us/req  busy %s%%  waited %s%%  client CPUs %s%% %s\n' \
                "$work" "$run" "$px" "${RPS:-0}" "$P99" "$rss" "$cpu_us" "$busy" "$qwait" "$lbusy" "$ERRS" >&2
        done
    done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

echo
echo "tandem-proxy vs HAProxy $(haproxy -v 2>/dev/null | awk 'NR==1 { print $3 }'), TLS 1.3 termination, $(openssl version | awk '{ print $1, $2 }'), ECDSA P-256 certificate;"
echo "${DUR}s runs after ${WARMUP}s of warm-up, median of $RUNS interleaved runs; load average before: $LOAD0, after: $LOAD1."
echo "$THREADS thread(s) per proxy; $( [ $PIN = 1 ] && echo "proxy pinned to CPU $PROXY_CPUS, clients and backend to CPU $LOAD_CPUS" || echo "no CPU pinning"); $ncpu CPUs; loopback."
echo "full = $CLIENTS x openssl s_time -new (a full handshake per request, no resumption);"
echo "resumed = wrk -t2 -c$CONNS -H 'Connection: close' (a resumed handshake per request); keepalive = wrk -t2 -c$CONNS."
echo
echo "| workload | proxy | req/s | p99 ms | peak RSS MB | CPU us/req | proxy busy % | proxy waited % | client CPUs busy % | req/s vs HAProxy | CPU/req vs HAProxy |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
awk -F'\t' -v cause="$WAIT_CAUSE" '
    function median(list,   n, a, i, j, t) {
        n = split(list, a, " ")
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
        return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    function ratio(a, b) { return (b > 0) ? sprintf("%.2f", a / b) : "-" }
    { k = $1 SUBSEP $2
      if (!(k in seen)) { seen[k] = 1; order[++nk] = k }
      rps[k] = rps[k] " " $4; p99[k] = p99[k] " " $5; rss[k] = rss[k] " " $6
      cpu[k] = cpu[k] " " $7; busy[k] = busy[k] " " $8; lbusy[k] = lbusy[k] " " $9; qwait[k] = qwait[k] " " $10 }
    END {
        for (i = 1; i <= nk; i++) {
            k = order[i]; split(k, f, SUBSEP)
            h = f[1] SUBSEP "haproxy"
            r = median(rps[k]); c = median(cpu[k]); b = median(busy[k]); lb = median(lbusy[k]); q = median(qwait[k])
            rh = (h in seen) ? median(rps[h]) : 0; ch = (h in seen) ? median(cpu[h]) : 0
            p = (p99[k] ~ /nan/) ? "-" : sprintf("%.2f", median(p99[k]))
            printf "| %s | %s | %.0f | %s | %.1f | %.1f | %.0f | %.0f | %.0f | %s | %s |\n", f[1], f[2], r,
                p, median(rss[k]) / 1024, c, b, q, lb, ratio(r, rh), ratio(c, ch)
            why = ""
            if (lb >= 90) why = "; the client CPUs were saturated"
            if (q >= 10) why = why sprintf("; the proxy waited for a CPU %.0f%% of the time (%s)", q, cause)
            if (why == "") why = "; neither side saturated: too few clients?"
            if (b < 90)
                limited = limited sprintf("- %s, %s: proxy busy %.0f%%%s\n", f[1], f[2], b, why)
        }
        if (limited != "") {
            print "\nThe proxy used less than 90% of its CPU in these rows, so their req/s is not the"
            print "proxy'"'"'s capacity and CPU us/req (its CPU time per request) is the fair comparison:"
            printf "%s", limited
        }
    }' "$RES"
exit 0
