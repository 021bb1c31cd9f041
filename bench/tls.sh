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
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
bench_setup tls wrk haproxy nginx taskset openssl timeout
# How many CPUs the proxy can use at most: "proxy busy %" is out of this;
# and what the proxy waits for when it waits for a CPU.
if [ $PIN = 1 ]; then
    PROXY_CORES=1; WAIT_CAUSE="other load on its CPU"
else
    PROXY_CORES=$((THREADS < NCPU ? THREADS : NCPU)); WAIT_CAUSE="the clients, its own threads or other load"
fi

BE_PORT=$((PORT_BASE + 81))
declare -A PORT=([tandem]=$((PORT_BASE + 1)) [haproxy]=$((PORT_BASE + 11)))
ports_free $BE_PORT ${PORT[*]}

# ---------------------------------------------------------------- certificate
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=bench.test" -addext "subjectAltName=DNS:bench.test" \
    -keyout "$D/key.pem" -out "$D/cert.pem" >/dev/null 2>&1 || { echo "openssl failed" >&2; exit 1; }
cat "$D/cert.pem" "$D/key.pem" >"$D/haproxy.pem"

# ---------------------------------------------------------------- backend
backend_nginx "$D/be" $BE_PORT

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
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
RES=$D/results.tsv
: >"$RES"
for work in $WORKLOADS; do
    for run in $(seq "$RUNS"); do
        for px in tandem haproxy; do
            start_proxy "$px"
            load "$work" "${PORT[$px]}" "$WARMUP"
            stat_begin "$PPID_"
            load "$work" "${PORT[$px]}" "$DUR"
            stat_end "$PPID_" "${REQS:-0}"
            rss=$(peak_rss_kb "$PPID_")
            stop_proxy "$px"
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$work" "$px" "$run" "${RPS:-0}" \
                "$P99" "$rss" "$CPU_US" "$BUSY" "$LBUSY" "$WAITED" >>"$RES"
            printf '# %s run %s %-8s %10s req/s  p99 %s ms  rss %s kB  cpu %s us/req  busy %s%%  waited %s%%  client CPUs %s%% %s\n' \
                "$work" "$run" "$px" "${RPS:-0}" "$P99" "$rss" "$CPU_US" "$BUSY" "$WAITED" "$LBUSY" "$ERRS" >&2
        done
    done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

echo
echo "tandem-proxy vs HAProxy $(haproxy -v 2>/dev/null | awk 'NR==1 { print $3 }'), TLS 1.3 termination, $(openssl version | awk '{ print $1, $2 }'), ECDSA P-256 certificate;"
echo "${DUR}s runs after ${WARMUP}s of warm-up, median of $RUNS interleaved runs; load average before: $LOAD0, after: $LOAD1."
echo "$THREADS thread(s) per proxy; $( [ $PIN = 1 ] && echo "proxy pinned to CPU $PROXY_CPUS, clients and backend to CPU $LOAD_CPUS" || echo "no CPU pinning"); $NCPU CPUs; loopback."
echo "full = $CLIENTS x openssl s_time -new (a full handshake per request, no resumption);"
echo "resumed = wrk -t2 -c$CONNS -H 'Connection: close' (a resumed handshake per request); keepalive = wrk -t2 -c$CONNS."
echo
echo "| workload | proxy | req/s | p99 ms | peak RSS MB | CPU us/req | proxy busy % | proxy waited % | client CPUs busy % | req/s vs HAProxy | CPU/req vs HAProxy |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
awk -F'\t' -v cause="$WAIT_CAUSE" "$AWK_MEDIAN"'
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
