#!/bin/bash
# bench/sync.sh - how fast a sticky table resyncs to a (re)started peer:
# tandem-proxy's sync channel against HAProxy's peers protocol (Debian), on
# loopback. Not a test: run it by hand and paste the table. See
# bench/README.md.
#
#   bench/sync.sh [-n ENTRIES] [-r RUNS] [-p PATH-TO-tandem-proxy] [-T TIMEOUT-S] [-w] [-v]
#                 [--no-pin]
#
# Each run, for each product in turn (tandem haproxy tandem haproxy ...):
# start box A, fill its sticky table with ENTRIES (default 200000) entries
# by real traffic (wrk -t2 -c50 through A to an nginx answering every
# request with a new JSESSIONID cookie that A learns: tandem `sticky.mode =
# "app"`, HAProxy `stick store-response res.cook(JSESSIONID)`), then start
# box B (the peer) and poll B's table every 50 ms until it holds as many
# entries as A (bounded by -T, default 300 s). Reported: ms from B's start
# to its first entry and to all of them, B's RSS after the resync, medians
# and the ratio haproxy/tandem (> 1: tandem is faster). One thread each;
# with 2+ CPUs A runs on the last CPU, wrk, nginx and B on the others.
# Build tandem first: autoreconf -fi && mkdir -p build && cd build &&
# ../configure && make. -v prints both boxes' logs after each run. -w sends
# one request (that learns no cookie) through B's frontend as soon as it
# listens, for both products: tandem-proxy sizes its sticky table to the
# configured max_entries only at the first sticky request, so a peer that
# serves nothing keeps the built-in bound of 1000000 entries (see
# bench/README.md). Everything started is stopped by PID on exit.
set -u

PROXY_BIN=${TANDEM_PROXY:-}
ENTRIES=200000
RUNS=3
TIMEOUT=300
PIN=1
VERBOSE=0
WARM=0
while [ $# -gt 0 ]; do
    case $1 in
    -n) ENTRIES=$2; shift 2 ;;
    -r) RUNS=$2; shift 2 ;;
    -p) PROXY_BIN=$2; shift 2 ;;
    -T) TIMEOUT=$2; shift 2 ;;
    -v) VERBOSE=1; shift ;;
    -w) WARM=1; shift ;;
    --no-pin) PIN=0; shift ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
case $ENTRIES$RUNS$TIMEOUT in *[!0-9]*) echo "-n, -r and -T take whole numbers" >&2; exit 2 ;; esac
[ "$ENTRIES" -ge 100 ] && [ "$ENTRIES" -le 10000000 ] || { echo "-n: 100 to 10000000" >&2; exit 2; }
[ "$RUNS" -ge 1 ] && [ "$TIMEOUT" -ge 1 ] || { echo "-r and -T: at least 1" >&2; exit 2; }
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
bench_setup sync wrk haproxy nginx socat openssl taskset
PIN_A=("${PIN_PROXY[@]}")

# Ports (loopback only). Refuse to start if any is taken.
BE1=28281 BE2=28282
declare -A FE=([tandem-a]=28201 [tandem-b]=28202 [haproxy-a]=28211 [haproxy-b]=28212)
declare -A PEER=([tandem-a]=28221 [tandem-b]=28222 [haproxy-a]=28231 [haproxy-b]=28232)
ports_free $BE1 $BE2 "${FE[@]}" "${PEER[@]}"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%d", ($14 + $15) * 1000 / hz }' "/proc/$1/stat" 2>/dev/null || echo 0; }

# ---------------------------------------------------------------- backend
# Every response carries a new session cookie, so every request (wrk sends
# none) makes one new sticky entry on the proxy.
mkdir -p "$D/be"
cat >"$D/be/nginx.conf" <<EOF
worker_processes 1; pid $D/be/nginx.pid; error_log $D/be/error.log warn;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000; keepalive_timeout 300s;
  client_body_temp_path $D/be/cb; proxy_temp_path $D/be/pt; fastcgi_temp_path $D/be/ft;
  uwsgi_temp_path $D/be/ut; scgi_temp_path $D/be/st;
  server { listen 127.0.0.1:$BE1; listen 127.0.0.1:$BE2;
    location / { add_header Set-Cookie "JSESSIONID=\$request_id"; return 200 "ok\n"; }
    location = /nocookie { return 204; } } }
EOF
"${PIN_LOAD[@]}" nginx -p "$D/be" -c "$D/be/nginx.conf" -g 'daemon off;' >"$D/be/stderr" 2>&1 &
PIDS+=($!)
wait_port $BE1 || exit 1

# wrk has no request count: each of its 2 threads stops itself after half
# of ENTRIES responses, and -d bounds the time. Requests still in flight
# then may add a few entries (up to the 50 connections).
cat >"$D/cap.lua" <<'EOF'
local cap = tonumber(os.getenv("SYNC_BENCH_CAP")) or 1
local n = 0
function response(status, headers, body)
    n = n + 1
    if n >= cap then wrk.thread:stop() end
end
EOF

# ---------------------------------------------------------------- configs
openssl rand -hex 32 >"$D/sync.key"
tandem_conf() {   # tandem_conf a|b: the two boxes mirror each other
    local me=$1 other=b
    [ "$me" = b ] && other=a
    cat >"$D/tandem-$me.conf" <<EOF
node = { name = "$me"; };
global = { threads = 1; grace = "0s"; status_socket = "$D/tandem-$me.sock";
           log = { level = "notice"; }; };
frontends = ( { name = "www"; bind = "127.0.0.1:${FE[tandem-$me]}"; mode = "http"; backend = "web"; } );
backends = ( { name = "web"; algorithm = "roundrobin";
    sticky = { mode = "app"; app_cookie = "JSESSIONID"; max_entries = $((ENTRIES * 2)); ttl = "30m"; };
    servers = ( { name = "s1"; addr = "127.0.0.1:$BE1"; }, { name = "s2"; addr = "127.0.0.1:$BE2"; } ); } );
sync = { listen = "127.0.0.1:${PEER[tandem-$me]}"; peer = "127.0.0.1:${PEER[tandem-$other]}";
         psk_file = "$D/sync.key"; };
EOF
}
haproxy_conf() {   # haproxy_conf a|b: one file per process, started with -L a|b
    local me=$1
    cat >"$D/haproxy-$me.cfg" <<EOF
global
  nbthread 1
  maxconn 4096
  stats socket $D/haproxy-$me.sock level admin
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
peers mypeers
  peer a 127.0.0.1:${PEER[haproxy-a]}
  peer b 127.0.0.1:${PEER[haproxy-b]}
frontend www
  bind 127.0.0.1:${FE[haproxy-$me]}
  default_backend web
backend web
  balance roundrobin
  http-reuse always
  stick-table type string len 64 size $((ENTRIES * 2)) expire 30m peers mypeers
  stick store-response res.cook(JSESSIONID)
  stick match req.cook(JSESSIONID)
  server s1 127.0.0.1:$BE1
  server s2 127.0.0.1:$BE2
EOF
}
for b in a b; do tandem_conf $b; haproxy_conf $b; done
"$PROXY_BIN" -t -q -c "$D/tandem-a.conf" || { echo "tandem config refused" >&2; exit 1; }
haproxy -c -q -f "$D/haproxy-a.cfg" || { echo "haproxy config refused" >&2; exit 1; }

# start_box PRODUCT a|b PIN...: sets BOX_PID (globals, not $(...), so that
# every process is a child of this shell and in PIDS for the cleanup)
start_box() {
    local px=$1 me=$2
    shift 2
    if [ "$px" = tandem ]; then
        "$@" "$PROXY_BIN" -c "$D/tandem-$me.conf" >"$D/$px-$me.log" 2>&1 &
    else
        "$@" haproxy -db -L "$me" -f "$D/haproxy-$me.cfg" >"$D/$px-$me.log" 2>&1 &
    fi
    BOX_PID=$!
    PIDS+=("$BOX_PID")
}
# stop_box PID: TERM, KILL after 5 s, reap, and forget the pid (so the
# cleanup never signals a pid the system has since given to another process)
stop_box() {
    kill -TERM "$1" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    forget_pid "$1"
}
# table_count PRODUCT a|b: entries in the box's sticky table (0 if it does
# not answer yet)
table_count() {
    local n
    if [ "$1" = tandem ]; then
        n=$(echo "peer show json" | socat -t 2 - "UNIX-CONNECT:$D/tandem-$2.sock" 2>/dev/null |
            grep -o '"sticky_entries": *[0-9]*' | grep -o '[0-9]*$')
    else
        # "show table" without a name: one summary line per table ("show
        # table web" would dump every entry at each poll)
        n=$(echo "show table" | socat -t 2 - "UNIX-CONNECT:$D/haproxy-$2.sock" 2>/dev/null |
            sed -n 's/^# table: web,.*used:\([0-9]*\).*/\1/p')
    fi
    echo "${n:-0}"
}

# fill PRODUCT: ENTRIES requests through box A; sets FILL_GOT (entries in
# A's table) and FILL_S (seconds)
fill() {
    local px=$1 t0 t1 wpid n=0 last=-1 still=0 max_s
    max_s=$((30 + ENTRIES / 2000))
    t0=$(now_ms)
    SYNC_BENCH_CAP=$(((ENTRIES + 1) / 2)) "${PIN_LOAD[@]}" wrk -t2 -c50 -d"${max_s}s" \
        -s "$D/cap.lua" "http://127.0.0.1:${FE[$px-a]}/" >"$D/wrk.out" 2>&1 &
    wpid=$!
    PIDS+=("$wpid")
    # stop at ENTRIES, when wrk is done, or when nothing moves for 3 s
    for _ in $(seq $((max_s * 10 + 50))); do
        sleep 0.1
        n=$(table_count "$px" a)
        [ "$n" -ge "$ENTRIES" ] && break
        kill -0 "$wpid" 2>/dev/null || break
        if [ "$n" = "$last" ]; then still=$((still + 1)); [ $still -ge 30 ] && break; else still=0; fi
        last=$n
    done
    stop_box "$wpid"
    t1=$(now_ms)
    # let the last responses land, then take the table's final size
    for _ in $(seq 20); do
        sleep 0.2
        last=$n; n=$(table_count "$px" a)
        [ "$n" = "$last" ] && break
    done
    FILL_GOT=$n
    FILL_S=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1000 }')
}

# resync PRODUCT TARGET APID: starts B (BPID) and polls its table; sets
# RS="FIRST_MS ALL_MS B_RSS_KB B_CPU_MS A_CPU_MS REACHED". ALL_MS is
# "timeout" when B did not get there within -T, "stalled" when B's count
# stopped moving for STALL_S after its first entry, "died" if B exited.
STALL_S=15
resync() {
    local px=$1 target=$2 apid=$3 bpid t0 t n=0 first=- all=timeout a0 last=-1 moved warm=$WARM
    a0=$(cpu_ms "$apid")
    t0=$(now_ms)
    start_box "$px" b "${PIN_LOAD[@]}"
    bpid=$BOX_PID
    BPID=$bpid
    moved=$t0
    for _ in $(seq $((TIMEOUT * 20))); do
        sleep 0.05
        t=$(now_ms)
        [ $((t - t0)) -gt $((TIMEOUT * 1000)) ] && break
        kill -0 "$bpid" 2>/dev/null || { all=died; break; }
        if [ "$warm" = 1 ] && ss -Htln "sport = :${FE[$px-b]}" | grep -q .; then
            curl -s -o /dev/null -m 2 "http://127.0.0.1:${FE[$px-b]}/nocookie"
            warm=0
        fi
        n=$(table_count "$px" b)
        [ "$first" = - ] && [ "$n" -gt 0 ] && first=$((t - t0))
        [ "$n" -ge "$target" ] && { all=$((t - t0)); break; }
        [ "$n" != "$last" ] && moved=$t
        last=$n
        [ "$first" != - ] && [ $((t - moved)) -gt $((STALL_S * 1000)) ] && { all=stalled; break; }
    done
    RS="$first $all $(rss_kb "$bpid") $(cpu_ms "$bpid") $(( $(cpu_ms "$apid") - a0 )) $n"
}

LOAD0=$(uptime | sed 's/.*load average: //')
RES=$D/results.tsv
: >"$RES"
FAILED=""
for run in $(seq "$RUNS"); do
    for px in tandem haproxy; do
        start_box "$px" a "${PIN_A[@]}"
        apid=$BOX_PID
        wait_port "${FE[$px-a]}" || { cat "$D/$px-a.log" >&2; exit 1; }
        fill "$px"
        got=$FILL_GOT fill_s=$FILL_S
        arss=$(rss_kb "$apid")
        if [ "$got" -lt "$ENTRIES" ]; then
            echo "# run $run $px: box A's table holds $got entries, not $ENTRIES; wrk said:" >&2
            sed 's/^/#   /' "$D/wrk.out" >&2
        fi
        resync "$px" "$got" "$apid"
        read -r first all brss bcpu acpu reached <<<"$RS"
        printf '# run %s %-8s A filled with %s entries in %s s (A rss %s kB); B: first entry %s ms, all %s ms (%s of %s), B rss %s kB, B cpu %s ms, A cpu %s ms\n' \
            "$run" "$px" "$got" "$fill_s" "$arss" "$first" "$all" "$reached" "$got" "$brss" "$bcpu" "$acpu" >&2
        case $all in
        timeout|stalled|died)
            FAILED="$FAILED $px:$all:$reached/$got"
            echo "# $px B did not get every entry ($all: $reached of $got)" >&2
            [ $VERBOSE = 1 ] || tail -n 15 "$D/$px-a.log" "$D/$px-b.log" | sed 's/^/#   /' >&2 ;;
        *)
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$px" "$run" "$got" "$fill_s" "$first" "$all" \
                "$brss" "$bcpu" "$acpu" >>"$RES" ;;
        esac
        stop_box "$BPID"
        stop_box "$apid"
        [ $VERBOSE = 1 ] && tail -n 40 "$D/$px-a.log" "$D/$px-b.log" | sed 's/^/#   /' >&2
        for p in ${FE[$px-a]} ${FE[$px-b]} ${PEER[$px-a]} ${PEER[$px-b]}; do
            for _ in $(seq 100); do ss -Htln "sport = :$p" | grep -q . || break; sleep 0.05; done
        done
    done
done

# ---------------------------------------------------------------- table
echo
echo "Sticky table resync to a started peer: tandem-proxy vs HAProxy $(haproxy -v 2>/dev/null | awk 'NR==1 { print $3 }') peers;"
echo "$ENTRIES entries requested, median of $RUNS interleaved runs; ms from B's start; one thread each;"
echo "$( [ $PIN = 1 ] && echo "A pinned to CPU $PROXY_CPUS, B, wrk and nginx to CPU $LOAD_CPUS" || echo "no CPU pinning"); $NCPU CPUs; loopback."
echo "load average before: $LOAD0, after: $(uptime | sed 's/.*load average: //')."
echo
echo "| proxy | entries | fill s | B first entry ms | B all entries ms | all min-max | first to all ms | B RSS MB | B CPU ms | A CPU ms | runs | all entries: haproxy ms / tandem ms |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
awk -F'\t' '
    function median(list,   n, a, i, j, t) {
        n = split(list, a, " ")
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
        return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    function range(list,   n, a, i, lo, hi) {
        n = split(list, a, " "); lo = hi = a[1] + 0
        for (i = 2; i <= n; i++) { if (a[i] + 0 < lo) lo = a[i] + 0; if (a[i] + 0 > hi) hi = a[i] + 0 }
        return sprintf("%d-%d", lo, hi)
    }
    { k = $1; if (!(k in seen)) { seen[k] = 1; order[++nk] = k }
      runs[k]++; got[k] = got[k] " " $3; fill[k] = fill[k] " " $4
      if ($5 != "-") { first[k] = first[k] " " $5; xfer[k] = xfer[k] " " ($6 - $5) }
      all[k] = all[k] " " $6; rss[k] = rss[k] " " $7; bcpu[k] = bcpu[k] " " $8; acpu[k] = acpu[k] " " $9 }
    END {
        t = ("tandem" in seen) ? median(all["tandem"]) : 0
        for (i = 1; i <= nk; i++) {
            k = order[i]; m = median(all[k])
            printf "| %s | %d | %.1f | %s | %d | %s | %s | %.1f | %d | %d | %d | %s |\n", k, median(got[k]), median(fill[k]),
                (first[k] != "") ? sprintf("%d", median(first[k])) : "-", m, range(all[k]),
                (xfer[k] != "") ? sprintf("%d", median(xfer[k])) : "-",
                median(rss[k]) / 1024, median(bcpu[k]), median(acpu[k]), runs[k],
                (t > 0) ? sprintf("%.2f", m / t) : "-"
        }
    }' "$RES"
if [ -n "$FAILED" ]; then
    echo
    echo "Runs where B never held every entry (left out of the table; product:how:entries on B/on A):$FAILED."
    echo "timeout: not within -T ${TIMEOUT}s; stalled: B's count did not move for ${STALL_S}s; died: B exited."
fi
[ "$WARM" = 1 ] && echo && echo "-w: one request (no cookie learned) went through B's frontend as soon as it listened."
exit 0
