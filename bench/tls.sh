#!/bin/bash
# bench/tls.sh - TLS termination: tandem-proxy vs HAProxy on loopback, same
# certificate (ECDSA P-256), same backend, with wrk over https. Not a test:
# run it by hand and paste the table it prints. See bench/README.md.
#
#   bench/tls.sh [-p PATH-TO-tandem-proxy] [-d SECONDS] [-r RUNS] [-c CONNS]
#                [-t THREADS] [--no-pin]
#
# Two workloads:
#   handshakes  every request on a new connection ("Connection: close"):
#               a full TLS handshake each (wrk does not resume sessions), so
#               req/s = new handshakes/s
#   keepalive   HTTPS requests on kept-alive connections
# Every proxy gets the same threads (-t, default 1); pinned (default, 2+
# CPUs): the proxy on the last CPU, wrk and the backend nginx on the others.
# Runs are interleaved (tandem haproxy tandem haproxy ...), each proxy is
# started fresh per run, the table shows medians and the ratio to HAProxy.
# Everything started is stopped by PID on exit.
set -u

PROXY_BIN=${TANDEM_PROXY:-}
DUR=10
RUNS=3
CONNS=50
THREADS=1
PIN=1
WARMUP=2
while [ $# -gt 0 ]; do
    case $1 in
    -p) PROXY_BIN=$2; shift 2 ;;
    -d) DUR=$2; shift 2 ;;
    -r) RUNS=$2; shift 2 ;;
    -c) CONNS=$2; shift 2 ;;
    -t) THREADS=$2; shift 2 ;;
    --no-pin) PIN=0; shift ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
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
for t in wrk haproxy nginx taskset openssl; do
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

BE_PORT=28181
declare -A PORT=([tandem]=28101 [haproxy]=28111)
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
cat >"$D/be/nginx.conf" <<EOF
worker_processes 1; pid $D/be/nginx.pid; error_log $D/be/error.log warn;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000; keepalive_timeout 300s;
  client_body_temp_path $D/be/cb; proxy_temp_path $D/be/pt; fastcgi_temp_path $D/be/ft;
  uwsgi_temp_path $D/be/ut; scgi_temp_path $D/be/st;
  server { listen 127.0.0.1:$BE_PORT reuseport; location / { return 200 "hello, world\n"; } } }
EOF
"${PIN_LOAD[@]}" nginx -p "$D/be" -c "$D/be/nginx.conf" -g 'daemon off;' >"$D/be/stderr" 2>&1 &
PIDS+=($!)

wait_port() {   # bounded (5 s)
    local i
    for i in $(seq 100); do ss -Htln "sport = :$1" | grep -q . && return 0; sleep 0.05; done
    echo "nothing listens on 127.0.0.1:$1" >&2; return 1
}
wait_port $BE_PORT || exit 1

# ---------------------------------------------------------------- proxies
cat >"$D/tandem.conf" <<EOF
global = { threads = $THREADS; log = { level = "warning"; }; };
frontends = ( { name = "h"; bind = "127.0.0.1:${PORT[tandem]}"; mode = "http"; backend = "be";
                add_xff = false;
                tls = { certs = ( { cert = "$D/cert.pem"; key = "$D/key.pem"; } ); }; } );
backends = ( { name = "be"; servers = ( { name = "s"; addr = "127.0.0.1:$BE_PORT"; } ); } );
EOF
cat >"$D/haproxy.cfg" <<EOF
global
  nbthread $THREADS
  maxconn 4096
  tune.ssl.default-dh-param 2048
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
EOF

start_proxy() {
    case $1 in
    tandem)  "${PIN_PROXY[@]}" "$PROXY_BIN" -c "$D/tandem.conf" >"$D/tandem.log" 2>&1 & ;;
    haproxy) "${PIN_PROXY[@]}" haproxy -db -f "$D/haproxy.cfg" >"$D/haproxy.log" 2>&1 & ;;
    esac
    PPID_=$!
    PIDS+=($PPID_)
    wait_port "${PORT[$1]}" || { echo "$1 did not start" >&2; cat "$D/$1.log" >&2; exit 1; }
}
stop_proxy() {
    local i
    kill -TERM "$PPID_" 2>/dev/null
    for i in $(seq 100); do kill -0 "$PPID_" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$PPID_" 2>/dev/null; wait "$PPID_" 2>/dev/null
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$PPID_/stat" 2>/dev/null || echo 0; }
peak_rss_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$PPID_/status" 2>/dev/null || echo 0; }
to_ms() {
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
for work in handshakes keepalive; do
    hdr=(); [ $work = handshakes ] && hdr=(-H "Connection: close")
    for run in $(seq "$RUNS"); do
        for px in tandem haproxy; do
            start_proxy "$px"
            url=https://127.0.0.1:${PORT[$px]}/
            "${PIN_LOAD[@]}" wrk -t2 -c"$CONNS" -d"${WARMUP}s" "${hdr[@]}" "$url" >/dev/null 2>&1
            t0=$(cpu_ticks)
            out=$("${PIN_LOAD[@]}" timeout $((DUR + 30)) wrk -t2 -c"$CONNS" -d"${DUR}s" --latency \
                  "${hdr[@]}" "$url" 2>&1)
            t1=$(cpu_ticks)
            rss=$(peak_rss_kb)
            stop_proxy "$px"
            rps=$(echo "$out" | awk '/^Requests\/sec:/ { print $2 }')
            p99=$(to_ms "$(echo "$out" | awk '$1 == "99%" { print $2 }')")
            reqs=$(echo "$out" | awk '/requests in/ { print $1 }')
            errs=$(echo "$out" | awk '/Socket errors|Non-2xx/ { printf "%s ", $0 }')
            cpu_us=$(awk -v a="$t0" -v b="$t1" -v hz="$HZ" -v n="${reqs:-0}" \
                'BEGIN { if (n > 0) printf "%.1f", (b - a) / hz * 1e6 / n; else print "nan" }')
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$work" "$px" "$run" "${rps:-0}" "$p99" "$rss" \
                "$cpu_us" >>"$RES"
            printf '# %s run %s %-8s %10s req/s  p99 %s ms  rss %s kB  cpu %s us/req %s\n' \
                "$work" "$run" "$px" "${rps:-0}" "$p99" "$rss" "$cpu_us" "$errs" >&2
        done
    done
done

echo
echo "tandem-proxy vs HAProxy $(haproxy -v 2>/dev/null | awk 'NR==1 { print $3 }'), TLS termination, $(openssl version | awk '{ print $1, $2 }'), ECDSA P-256 certificate;"
echo "wrk -t2 -c$CONNS, ${DUR}s runs, median of $RUNS interleaved runs; load average before: $LOAD0."
echo "$THREADS thread(s) per proxy; $( [ $PIN = 1 ] && echo "proxy pinned to CPU $PROXY_CPUS, wrk and backend to CPU $LOAD_CPUS" || echo "no CPU pinning"); $ncpu CPUs; loopback."
echo "handshakes = Connection: close, a full handshake per request; keepalive = HTTPS requests on kept-alive connections."
echo
echo "| workload | proxy | req/s | p99 ms | peak RSS MB | CPU us/req | req/s vs HAProxy |"
echo "|---|---|---|---|---|---|---|"
awk -F'\t' '
    function median(list,   n, a, i, j, t) {
        n = split(list, a, " ")
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
        return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    { k = $1 SUBSEP $2
      if (!(k in seen)) { seen[k] = 1; order[++nk] = k }
      rps[k] = rps[k] " " $4; p99[k] = p99[k] " " $5; rss[k] = rss[k] " " $6; cpu[k] = cpu[k] " " $7 }
    END {
        for (i = 1; i <= nk; i++) {
            k = order[i]; split(k, f, SUBSEP)
            h = f[1] SUBSEP "haproxy"
            r = median(rps[k]); rh = (h in seen) ? median(rps[h]) : 0
            printf "| %s | %s | %.0f | %.2f | %.1f | %.1f | %s |\n", f[1], f[2], r, median(p99[k]),
                median(rss[k]) / 1024, median(cpu[k]), (rh > 0) ? sprintf("%.2f", r / rh) : "-"
        }
    }' "$RES"
exit 0
