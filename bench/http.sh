#!/bin/bash
# bench/http.sh - tandem-proxy, HAProxy and nginx side by side on loopback,
# against the same local backends, with wrk. Not a test: run it by hand and
# paste the table it prints. See bench/README.md.
#
#   bench/http.sh [-p PATH-TO-tandem-proxy] [-d SECONDS] [-r ROUNDS]
#                 [-c "50 200"] [-m "http tcp"] [-t THREADS] [-w WRK-THREADS]
#                 [-x "tandem haproxy nginx"] [--no-pin]
#
# Every proxy gets the same number of threads/workers (-t, default 1) and the
# same backends: one nginx (1 worker) answering a 13-byte 200 on 4 ports.
# Pinning (default, needs 2+ CPUs): the proxies on the last CPU, wrk and the
# backend nginx on the others; wrk gets one thread per load CPU (-w).
# All three proxies run for the whole benchmark (idle while another is
# measured). Each cell (mode, connections) is ROUNDS rounds (default 10);
# a round runs every proxy once for SECONDS (default 5), in an order that
# rotates from round to round. The table shows medians over the rounds and,
# against HAProxy, the median of the per-round ratios and how many rounds
# each proxy beat HAProxy in: runs of one round are seconds apart, so the
# pairs share the machine's state. Everything started is stopped by PID on
# exit. -x picks the proxies (HAProxy is always run: it is the reference).
set -u

PROXY_BIN=${TANDEM_PROXY:-}
DUR=5
ROUNDS=10
CONNS="50 200"
MODES="http tcp"
THREADS=1
WRK_THREADS=
PIN=1
WARMUP=2
PROXIES="tandem haproxy nginx"
while [ $# -gt 0 ]; do
    case $1 in
    -p) PROXY_BIN=$2; shift 2 ;;
    -d) DUR=$2; shift 2 ;;
    -r) ROUNDS=$2; shift 2 ;;
    -c) CONNS=$2; shift 2 ;;
    -m) MODES=$2; shift 2 ;;
    -t) THREADS=$2; shift 2 ;;
    -w) WRK_THREADS=$2; shift 2 ;;
    -x) PROXIES=$2; shift 2 ;;
    --no-pin) PIN=0; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
bench_setup http wrk haproxy nginx taskset timeout
# One wrk thread per CPU it has: a second thread on one CPU only adds
# context switches between wrk, wrk and the backend, and with them a wide
# run-to-run spread (bench/README.md).
[ -n "$WRK_THREADS" ] || WRK_THREADS=$LOAD_NCPU
NGINX_STREAM=""
[ -f /usr/lib/nginx/modules/ngx_stream_module.so ] && NGINX_STREAM=/usr/lib/nginx/modules/ngx_stream_module.so
for px in $PROXIES; do
    case $px in tandem|haproxy|nginx) ;; *) echo "unknown proxy $px" >&2; exit 2 ;; esac
done
case " $PROXIES " in *" haproxy "*) ;; *) PROXIES="$PROXIES haproxy" ;; esac
# How many CPUs a proxy can use at most: "proxy busy %" is out of this.
if [ $PIN = 1 ]; then PROXY_CORES=1; else PROXY_CORES=$((THREADS < NCPU ? THREADS : NCPU)); fi

# Ports (loopback only).
BE_PORTS="28081 28082 28083 28084"
declare -A HPORT=([tandem]=28001 [haproxy]=28011 [nginx]=28021)
declare -A TPORT=([tandem]=28002 [haproxy]=28012 [nginx]=28022)
ports_free $BE_PORTS ${HPORT[*]} ${TPORT[*]}
backend_nginx "$D/be" $BE_PORTS

# ---------------------------------------------------------------- proxy configs
tandem_conf() {
    local p sep=""
    echo "global = { threads = $THREADS; log = { level = \"warning\"; }; };"
    echo "frontends = ("
    echo "  { name = \"h\"; bind = \"127.0.0.1:${HPORT[tandem]}\"; mode = \"http\"; backend = \"be\"; },"
    echo "  { name = \"t\"; bind = \"127.0.0.1:${TPORT[tandem]}\"; mode = \"tcp\"; backend = \"be\"; } );"
    echo "backends = ( { name = \"be\"; algorithm = \"roundrobin\"; servers = ("
    for p in $BE_PORTS; do echo "  $sep{ name = \"s$p\"; addr = \"127.0.0.1:$p\"; }"; sep=","; done
    echo ") } );"
}
haproxy_conf() {
    local p
    printf 'global\n  nbthread %s\n  maxconn 4096\n' "$THREADS"
    printf 'defaults\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n'
    printf 'frontend h\n  mode http\n  bind 127.0.0.1:%s\n  default_backend bh\n' "${HPORT[haproxy]}"
    printf 'backend bh\n  mode http\n  balance roundrobin\n  http-reuse always\n'
    for p in $BE_PORTS; do echo "  server s$p 127.0.0.1:$p"; done
    printf 'frontend t\n  mode tcp\n  bind 127.0.0.1:%s\n  default_backend bt\n' "${TPORT[haproxy]}"
    printf 'backend bt\n  mode tcp\n  balance roundrobin\n'
    for p in $BE_PORTS; do echo "  server s$p 127.0.0.1:$p"; done
}
nginx_conf() {
    local p dir=$D/nx
    [ -n "$NGINX_STREAM" ] && echo "load_module $NGINX_STREAM;"
    echo "worker_processes $THREADS; pid $dir/nginx.pid; error_log $dir/error.log warn;"
    echo "events { worker_connections 4096; }"
    echo "http { access_log off;"
    echo "  client_body_temp_path $dir/cb; proxy_temp_path $dir/pt; fastcgi_temp_path $dir/ft;"
    echo "  uwsgi_temp_path $dir/ut; scgi_temp_path $dir/st;"
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
}

# ---------------------------------------------------------------- proxies
declare -A PID
mkdir -p "$D/nx"
tandem_conf >"$D/tandem.conf"
haproxy_conf >"$D/haproxy.cfg"
nginx_conf >"$D/nx/nginx.conf"
for px in $PROXIES; do
    case $px in
    tandem)  "${PIN_PROXY[@]}" "$PROXY_BIN" -c "$D/tandem.conf" >"$D/tandem.log" 2>&1 & ;;
    haproxy) "${PIN_PROXY[@]}" haproxy -db -f "$D/haproxy.cfg" >"$D/haproxy.log" 2>&1 & ;;
    nginx)   "${PIN_PROXY[@]}" nginx -p "$D/nx" -c "$D/nx/nginx.conf" -g 'daemon off;' >"$D/nginx.log" 2>&1 & ;;
    esac
    PID[$px]=$!
done
PIDS+=(${PID[*]})
for px in $PROXIES; do
    wait_port "${HPORT[$px]}" || { echo "$px did not start" >&2; cat "$D/$px.log" >&2; exit 1; }
    if [ "$px" != nginx ] || [ -n "$NGINX_STREAM" ]; then wait_port "${TPORT[$px]}" || exit 1; fi
done

# run_wrk PROXY MODE CONNS SECONDS [--latency]: sets OUT
run_wrk() {
    local port=${HPORT[$1]}
    [ "$2" = tcp ] && port=${TPORT[$1]}
    OUT=$("${PIN_LOAD[@]}" timeout $(($4 + 30)) wrk -t"$WRK_THREADS" -c"$3" -d"$4s" ${5:-} \
          "http://127.0.0.1:$port/" 2>&1)
}

# ---------------------------------------------------------------- runs
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
RES=$D/results.tsv
: >"$RES"
for mode in $MODES; do
    list=""
    for px in $PROXIES; do
        if [ "$mode" = tcp ] && [ "$px" = nginx ] && [ -z "$NGINX_STREAM" ]; then continue; fi
        list="$list $px"
    done
    read -r -a cell_proxies <<<"$list"
    n=${#cell_proxies[@]}
    for c in $CONNS; do
        for px in "${cell_proxies[@]}"; do run_wrk "$px" "$mode" "$c" "$WARMUP"; done
        for round in $(seq "$ROUNDS"); do
            for i in $(seq 0 $((n - 1))); do
                px=${cell_proxies[$(((i + round - 1) % n))]}
                p=${PID[$px]}
                rss_reset "$p"
                stat_begin "$p"
                run_wrk "$px" "$mode" "$c" "$DUR" --latency
                stat_end "$p" "$(echo "$OUT" | awk '/requests in/ { print $1 }')"
                rss=$(peak_rss_kb "$p")
                rps=$(echo "$OUT" | awk '/^Requests\/sec:/ { print $2 }')
                p50=$(to_ms "$(echo "$OUT" | awk '$1 == "50%" { print $2 }')")
                p99=$(to_ms "$(echo "$OUT" | awk '$1 == "99%" { print $2 }')")
                errs=$(echo "$OUT" | awk '/Socket errors|Non-2xx/ { printf "%s ", $0 }')
                printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$mode" "$c" "$px" "$round" \
                    "${rps:-0}" "$p50" "$p99" "$rss" "$CPU_US" "$BUSY" "$LBUSY" "$WAITED" >>"$RES"
                printf '# %s c=%s round %s %-8s %10s req/s  p50 %s ms  p99 %s ms  rss %s kB  cpu %s us/req  busy %s%%  load CPUs %s%%  waited %s%% %s\n' \
                    "$mode" "$c" "$round" "$px" "${rps:-0}" "$p50" "$p99" "$rss" "$CPU_US" "$BUSY" \
                    "$LBUSY" "$WAITED" "$errs" >&2
            done
        done
    done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- table
echo
echo "tandem-proxy vs HAProxy $(haproxy -v 2>/dev/null | awk 'NR==1 { print $3 }') vs nginx $(nginx -v 2>&1 | sed 's|.*/||'); wrk -t$WRK_THREADS, ${DUR}s runs, $ROUNDS rounds;"
echo "load average before: $LOAD0, after: $LOAD1."
echo "$THREADS thread(s)/worker(s) per proxy; $( [ $PIN = 1 ] && echo "proxies pinned to CPU $PROXY_CPUS, wrk and backend nginx to CPU $LOAD_CPUS" || echo "no CPU pinning"); $NCPU CPUs; loopback."
echo "Medians over the rounds; \"vs HAProxy\" is the median of the per-round ratios, \"ahead\" the rounds with more req/s than HAProxy."
echo
echo "| mode | conns | proxy | req/s | req/s min-max | p50 ms | p99 ms | peak RSS MB | CPU us/req | proxy busy % | proxy waited % | load CPUs busy % | req/s vs HAProxy | ahead | p99 vs HAProxy |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
awk -F'\t' "$AWK_MEDIAN"'
    function range(list,   n, a, i, lo, hi) {
        n = split(list, a, " "); lo = hi = a[1] + 0
        for (i = 2; i <= n; i++) { if (a[i] + 0 < lo) lo = a[i] + 0; if (a[i] + 0 > hi) hi = a[i] + 0 }
        return sprintf("%.0f-%.0f", lo, hi)
    }
    { k = $1 SUBSEP $2 SUBSEP $3
      if (!(k in seen)) { seen[k] = 1; order[++nk] = k }
      rps[k] = rps[k] " " $5; p50[k] = p50[k] " " $6; p99[k] = p99[k] " " $7; rss[k] = rss[k] " " $8
      cpu[k] = cpu[k] " " $9; busy[k] = busy[k] " " $10; lbusy[k] = lbusy[k] " " $11; qwait[k] = qwait[k] " " $12
      R[k, $4] = $5; Q[k, $4] = $7; rounds[k] = rounds[k] " " $4 }
    END {
        for (i = 1; i <= nk; i++) {
            k = order[i]; split(k, f, SUBSEP)
            h = f[1] SUBSEP f[2] SUBSEP "haproxy"
            rr = qq = ""; ahead = 0; m = 0
            n = split(rounds[k], rl, " ")
            for (j = 1; j <= n; j++) {
                if (!((h, rl[j]) in R) || R[h, rl[j]] <= 0) continue
                m++; rr = rr " " R[k, rl[j]] / R[h, rl[j]]
                if (Q[h, rl[j]] > 0) qq = qq " " Q[k, rl[j]] / Q[h, rl[j]]
                if (R[k, rl[j]] > R[h, rl[j]]) ahead++
            }
            printf "| %s | %s | %s | %.0f | %s | %.2f | %.2f | %.1f | %.1f | %.0f | %.0f | %.0f | %s | %s | %s |\n",
                f[1], f[2], f[3], median(rps[k]), range(rps[k]), median(p50[k]), median(p99[k]),
                median(rss[k]) / 1024, median(cpu[k]), median(busy[k]), median(qwait[k]), median(lbusy[k]),
                (m > 0) ? sprintf("%.3f", median(rr)) : "-",
                (f[3] == "haproxy" || m == 0) ? "-" : ahead "/" m,
                (qq != "") ? sprintf("%.2f", median(qq)) : "-"
            if (median(qwait[k]) >= 10)
                waited = waited sprintf("- %s/%s %s: runnable without a CPU %.0f%% of the time\n",
                                        f[1], f[2], f[3], median(qwait[k]))
            if (median(busy[k]) < 90 && median(lbusy[k]) >= 95)
                limited = limited sprintf("- %s/%s %s: proxy busy %.0f%%, load CPUs %.0f%%\n",
                                          f[1], f[2], f[3], median(busy[k]), median(lbusy[k]))
        }
        if (limited != "") {
            print "\nIn these rows the load CPUs (wrk and the backend) were saturated and the proxy was"
            print "not: req/s is bounded by the load side; CPU us/req is the proxy'"'"'s own cost:"
            printf "%s", limited
        }
        if (waited != "") {
            print "\nIn these rows the proxy waited for a CPU (another process on its CPU; unpinned,"
            print "wrk or the backend woke on it) and its req/s and latency say as much about where the"
            print "scheduler put it as about the proxy:"
            printf "%s", waited
        }
    }' "$RES"
[ -z "$NGINX_STREAM" ] && [[ " $PROXIES " == *" nginx "* ]] && echo && echo "nginx tcp mode: not measured (no stream module; Debian package libnginx-mod-stream)."
exit 0
