#!/bin/bash
# health.sh - active and passive health checks against real backends:
# detection and recovery times, no traffic to a server once it is found
# DOWN, slow start after recovery, health kept over a reload, backup
# servers, 503 at once when all are down, admin states (tandemctl) kept
# over check results, passive connect failures, observe-only checks.
# Timings are short (interval 300ms) to keep it fast.
. "$(dirname "$0")/lib.sh"
t_need_root; t_need_proxy
topo_up

B=${BE_IPS[0]}
backend_multi prim A@"$B:8081" B@"$B:8082" C@"$B:8083" D@"$B:8084"
backend_start E "$B:8085"
backend_start F "$B:8086"
backend_start G "$B:8087"

INTERVAL=300; FAST=100; TIMEOUT=200; RISE=2; FALL=3
conf=$T_DIR/tandem.conf
{
    conf_global 2 "status_socket = \"$T_DIR/ctl.sock\";"
    cat <<EOF
frontends = ( { name = "www"; bind = "$LB_IP:80"; mode = "http"; backend = "web"; },
              { name = "pas"; bind = "$LB_IP:81"; mode = "http"; backend = "pas"; },
              { name = "obs"; bind = "$LB_IP:82"; mode = "http"; backend = "obs"; } );
backends = (
  { name = "web"; algorithm = "wrr"; slowstart = "3s";
    health = { type = "http"; path = "/health"; expect = "200-299,301";
               interval = "${INTERVAL}ms"; fast_interval = "${FAST}ms"; timeout = "${TIMEOUT}ms";
               rise = $RISE; fall = $FALL; };
    servers = ( { name = "A"; addr = "$B:8081"; }, { name = "B"; addr = "$B:8082"; },
                { name = "C"; addr = "$B:8083"; },
                { name = "D"; addr = "$B:8084"; backup = true; } ); },
  { name = "pas"; retries = 2;
    health = { type = "tcp"; interval = "60s"; rise = 1; fall = 10; };
    passive = { connect_failures = 3; };
    servers = ( { name = "E"; addr = "$B:8085"; }, { name = "F"; addr = "$B:8086"; } ); },
  { name = "obs";
    health = { type = "http"; path = "/health"; interval = "200ms"; fall = 1; rise = 1;
               observe_only = true; };
    servers = ( { name = "G"; addr = "$B:8087"; } ); } );
EOF
} | proxy_conf "$conf"
proxy_start "$conf" "tcp:$LB_IP:80" "tcp:$LB_IP:81" "tcp:$LB_IP:82"

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
set_health() { in_be curl -sS --max-time 3 -o /dev/null "http://$B:$1/sethealth/$2"; }

# wait_log REGEX SECONDS: bounded wait for a proxy log line; prints the
# time (ms) it was seen.
wait_log() {
    local i
    for i in $(seq $(($2 * 100))); do
        grep -Eq -- "$1" "$PROXY_LOG" && { now_ms; return 0; }
        sleep 0.01
    done
    return 1
}
load() { clpy load "$LB_IP" "${2:-80}" --n "$1" --c 2 --keepalive; }

# ---- steady state: the backup gets nothing
r=$(load 60)
t_is "$(j "$r" .ok):$(j "$r" '.backends.D // 0')" "60:0" "all up: 60 requests, none to the backup D" "$r"

# ---- A fails its check: DOWN within fall x interval + timeout, then no traffic
t0=$(now_ms); set_health 8081 503
t1=$(wait_log 'server "A" is DOWN' 5)
t_like "$(grep 'server "A" is DOWN' "$PROXY_LOG")" 'is DOWN: GET /health: 503, 3 failures' \
    "A is logged DOWN with its reason"
DETECT=$(( ${t1:-999999} - t0 ))
t_le "$DETECT" $((FALL * INTERVAL + TIMEOUT)) "A detected DOWN within fall x interval + timeout (ms)"
r=$(load 90)
t_is "$(j "$r" .ok):$(j "$r" '.backends.A // 0')" "90:0" "after detection no request reaches A" "$r"

# ---- A recovers: UP within rise x interval, then ramps up (slow start 3s)
t0=$(now_ms); set_health 8081 200
t1=$(wait_log 'server "A" is UP' 5)
t_like "$(grep 'server "A" is UP' "$PROXY_LOG")" 'is UP: 2 successful checks' "A is logged UP"
RECOVER=$(( ${t1:-999999} - t0 ))
t_le "$RECOVER" $((RISE * INTERVAL)) "A back UP within rise x interval (ms)"
r=$(load 60)
early=$(j "$r" '.backends.A // 0')
t_le "$early" 8 "slow start: A gets a small share of 60 right after recovery"
sleep 3.2
r=$(load 90)
t_ge "$(j "$r" '.backends.A // 0')" 25 "after slow start A has its full share of 90" "$r"

# ---- a reload keeps health: A goes DOWN, the reload does not bring it back
set_health 8081 503
for i in $(seq 100); do
    [ "$(grep -c 'server "A" is DOWN' "$PROXY_LOG")" -ge 2 ] && break; sleep 0.02
done
n_down=$(grep -c 'server "A" is DOWN' "$PROXY_LOG")
proxy_reload
wait_log 'reload done' 5 >/dev/null
r=$(load 60)
t_is "$(j "$r" .ok):$(j "$r" '.backends.A // 0')" "60:0" "after a reload the DOWN server A is still out" "$r"
t_is "$(grep -c 'server "A" is DOWN' "$PROXY_LOG")" "$n_down" "no new DOWN transition for A over the reload"

# ---- all primaries down: the backup takes over
set_health 8082 503; set_health 8083 503
wait_log 'server "B" is DOWN' 5 >/dev/null; wait_log 'server "C" is DOWN' 5 >/dev/null
r=$(load 30)
t_is "$(j "$r" .ok):$(j "$r" '.backends.D // 0')" "30:30" "all primaries down: the backup D serves all 30" "$r"

# ---- everything down: 503 at once
set_health 8084 503
wait_log 'server "D" is DOWN' 5 >/dev/null
o=$(cl_curl -o /dev/null -w '%{http_code} %{time_total}' "http://$LB_IP/")
t_is "${o% *}" 503 "all servers down: 503"
ms=$(awk -v t="${o#* }" 'BEGIN { printf "%d", t * 1000 }')
t_le "$ms" 100 "the 503 comes at once (ms)"
t_diag "503 with every server down: curl time_total ${o#* } s"

# ---- recovery of the primaries hands traffic back from the backup
for p in 8081 8082 8083 8084; do set_health $p 200; done
for s in A B C; do
    for i in $(seq 100); do
        [ "$(grep -c "server \"$s\" is UP" "$PROXY_LOG")" -ge 1 ] &&
            [ "$(grep -c "server \"$s\" is UP" "$PROXY_LOG")" -ge "$(grep -c "server \"$s\" is DOWN" "$PROXY_LOG")" ] && break
        sleep 0.02
    done
done
r=$(load 30)
t_is "$(j "$r" .ok):$(j "$r" '.backends.D // 0')" "30:0" "primaries back: the backup is idle again" "$r"

# ---- admin states win over checks; "ready" lets the health decide
CTL_BIN=${TANDEMCTL:-$top_builddir/tandemctl}
ctl() { "$CTL_BIN" --socket "$T_DIR/ctl.sock" "$@" 2>&1; }
if [ -x "$CTL_BIN" ]; then
    out=$(ctl set server web/B state maint)
    t_like "$out" 'MAINT' "tandemctl puts B in MAINT" "$out"
    set_health 8082 503
    wait_log 'server "B" is DOWN: .*\(admin state MAINT kept\)' 5 >/dev/null
    t_like "$(grep 'server "B" is DOWN' "$PROXY_LOG" | tail -1)" 'admin state MAINT kept' \
        "B fails its checks in MAINT: logged, MAINT kept"
    out=$(ctl set server web/B state ready)
    t_like "$out" 'DOWN' "ready while its checks fail: B becomes DOWN, not UP" "$out"
    r=$(load 30)
    t_is "$(j "$r" .ok):$(j "$r" '.backends.B // 0')" "30:0" "B gets nothing while DOWN after MAINT" "$r"
    n_up=$(grep -c 'server "B" is UP' "$PROXY_LOG")
    set_health 8082 200
    for i in $(seq 100); do
        [ "$(grep -c 'server "B" is UP' "$PROXY_LOG")" -gt "$n_up" ] && break; sleep 0.02
    done
    out=$(ctl set server web/C state drain)
    sleep 0.5
    r=$(load 30)
    t_is "$(j "$r" .ok):$(j "$r" '.backends.C // 0')" "30:0" "C in DRAIN (checks passing) gets no new client" "$r"
    t_ge "$(j "$r" '.backends.B // 0')" 1 "B is UP again once its checks pass"
    ctl set server web/C state ready >/dev/null
else
    t_skip "admin DRAIN/MAINT are not overridden by checks" "no tandemctl at $CTL_BIN"
fi

# ---- passive: a killed server is DOWN after 3 connect failures (active interval 60s)
backend_kill E
r=$(clpy load "$LB_IP" 81 --n 20 --c 1)
t_is "$(j "$r" .ok)" 20 "server E killed: 20 requests all succeed (retried on F)" "$r"
t_like "$(grep 'server "E" is DOWN' "$PROXY_LOG")" 'is DOWN: 3 consecutive connect failures \(passive\)' \
    "passive: E is DOWN after 3 connect failures, long before its next active check"
n_err=$(grep -c 'server "E" (.*Connection refused' "$PROXY_LOG")
t_diag "connect failures to E logged before it was marked DOWN: $n_err"
r=$(clpy load "$LB_IP" 81 --n 20 --c 1)
t_is "$(j "$r" .ok):$(grep -c 'server "E" (.*Connection refused' "$PROXY_LOG")" "20:$n_err" \
    "once E is DOWN no further connection is tried on it" "$r"

# ---- observe only: logged, state unchanged
set_health 8087 503
wait_log 'server "G" is DOWN' 5 >/dev/null
t_like "$(grep 'server "G"' "$PROXY_LOG")" \
    'is DOWN: GET /health: 503, 1 failure \(observe only: state unchanged\)' \
    "observe_only: the failure is logged"
r=$(clpy load "$LB_IP" 82 --n 10 --c 1)
t_is "$(j "$r" .ok):$(j "$r" '.backends.G // 0')" "10:10" "observe_only: G still gets all traffic" "$r"

t_diag "measured: detection $DETECT ms (bound $((FALL * INTERVAL + TIMEOUT))), recovery $RECOVER ms (bound $((RISE * INTERVAL)))"

proxy_stop_check
t_done
