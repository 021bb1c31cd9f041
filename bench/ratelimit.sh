#!/bin/bash
# bench/ratelimit.sh - what rate limiting costs tandem-proxy on the request
# path: keep-alive requests/s through the proxy with no limit, then with one
# limit of each kind set so high it never refuses (every request still
# takes a shard lock and runs the limiter), on loopback, with wrk and one
# nginx backend. Not a test: run it by hand and paste the table. Runs are
# interleaved and the table shows medians. With 2+ CPUs the proxy runs on
# the last CPU and wrk and nginx on the others (less noise).
#
#   bench/ratelimit.sh [-p PATH-TO-tandem-proxy] [-d SECONDS] [-r RUNS] [-c CONNS] [-t THREADS]
set -u

PROXY_BIN=${TANDEM_PROXY:-}
DUR=5 RUNS=5 CONNS=50 THREADS=1
while [ $# -gt 0 ]; do
    case $1 in
    -p) PROXY_BIN=$2; shift 2 ;;
    -d) DUR=$2; shift 2 ;;
    -r) RUNS=$2; shift 2 ;;
    -c) CONNS=$2; shift 2 ;;
    -t) THREADS=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
PIN=1
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
bench_setup rl wrk nginx taskset
BE=28101 FE=28102
ports_free $BE $FE
backend_nginx "$D/be" $BE

# The limits: rates far above what one box can serve, so none refuses.
declare -A LIMIT=(
    [none]=""
    [global_tb]='rate_limit = { key = "global"; rate = 10000000; per = "1s"; };'
    [ip_sliding]='rate_limit = { key = "ip"; algorithm = "sliding_window"; rate = 10000000; per = "1s"; };'
    [header_fixed]='rate_limit = { key = "header:X-API-Key"; algorithm = "fixed_window"; rate = 10000000; per = "1s"; };'
    [three]='rate_limit = ( { key = "global"; rate = 10000000; }, { key = "ip"; rate = 10000000; }, { key = "header:X-API-Key"; algorithm = "sliding_window"; rate = 10000000; } );'
)
ORDER="none global_tb ip_sliding header_fixed three"

# run_one NAME: prints "REQ/S CPU-US-PER-REQUEST". CPU time per request
# (the proxy's user + system time over every request it served) is the
# steadier figure on a busy machine; throughput moves with whatever else runs.
run_one() {
    local name=$1 pid out n=0 rps ticks d
    cat >"$D/tandem.conf" <<EOF
global = { threads = $THREADS; log = { level = "warning"; }; };
frontends = ( { name = "bench"; bind = "127.0.0.1:$FE"; mode = "http"; backend = "be"; add_xff = false;
                ${LIMIT[$name]} } );
backends = ( { name = "be"; servers = ( { name = "n"; addr = "127.0.0.1:$BE"; } ); } );
EOF
    "${PIN_PROXY[@]}" "$PROXY_BIN" -c "$D/tandem.conf" >>"$D/proxy.log" 2>&1 &
    pid=$!
    wait_port "$FE" >&2 || { cat "$D/proxy.log" >&2; exit 1; }
    for d in 1 "$DUR"; do
        out=$("${PIN_LOAD[@]}" wrk -t2 -c"$CONNS" -d"${d}s" -H 'X-API-Key: k1' "http://127.0.0.1:$FE/" 2>/dev/null)
        n=$((n + $(awk '/requests in/ {print $1; f=1} END {if (!f) print 0}' <<<"$out")))
        rps=$(awk '/^Requests\/sec/ {printf "%d", $2}' <<<"$out")
    done
    ticks=$(cpu_ticks "$pid")
    kill "$pid"; wait "$pid" 2>/dev/null
    echo "${rps:-0} $(awk -v t="$ticks" -v n="$n" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.2f", n ? t * 1e6 / hz / n : 0}')"
}

declare -A RES=() CPU=()
for r in $(seq "$RUNS"); do
    for n in $ORDER; do
        read -r rps cpu < <(run_one "$n")
        RES[$n]="${RES[$n]:-} $rps"; CPU[$n]="${CPU[$n]:-} $cpu"
    done
done
median() { printf '%s\n' $1 | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
base=$(median "${RES[none]}") cbase=$(median "${CPU[none]}")
printf '| limit (never refusing) | req/s | vs none | proxy CPU us/request | vs none |\n'
printf '| --- | --- | --- | --- | --- |\n'
for n in $ORDER; do
    m=$(median "${RES[$n]}") c=$(median "${CPU[$n]}")
    printf '| %s | %s | %s%% | %s | %s |\n' "$n" "$m" \
        "$(awk -v a="$m" -v b="$base" 'BEGIN {printf "%+.1f", (a - b) * 100 / b}')" "$c" \
        "$(awk -v a="$c" -v b="$cbase" 'BEGIN {printf "%+.2f", a - b}')"
done
echo "(medians of $RUNS interleaved runs; wrk -t2 -c$CONNS ${DUR}s keep-alive; proxy threads $THREADS;" \
     "$NCPU CPUs$( [ "$PIN" = 1 ] && echo ", proxy pinned"); req/s runs: $(for n in $ORDER; do printf '%s=[%s] ' "$n" "${RES[$n]# }"; done))"
