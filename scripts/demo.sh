#!/bin/bash
# The tandem demo, run as root on a fresh Debian machine:
#   installs the dependencies, builds, then in network namespaces runs
#   tandem-proxy in front of three backends and shows it working:
#   balancing, weights changed by a live reload, a backend killed under
#   load, a graceful stop. Everything it creates is removed at the end.
# (The two-box failover demo arrives with tandem-vrrp and peer sync.)
set -u
cd "$(dirname "$0")/.."
top=$(pwd)
[ "$(id -u)" = 0 ] || { echo "demo: run as root (it creates network namespaces)"; exit 1; }

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "installing dependencies (Debian packages)"
./scripts/install-deps.sh || exit 1
step "building"
autoreconf -fi >/dev/null 2>&1 || { echo "autoreconf failed"; exit 1; }
mkdir -p build
( cd build && { [ -f Makefile ] || ../configure -q; } &&
  make -s -j"$(nproc)" tandem-proxy >make.log 2>&1 ) || { cat build/make.log; echo "build failed"; exit 1; }
echo "   build/tandem-proxy"

export top_builddir=$top/build top_srcdir=$top
# The integration-test harness gives us namespaces, backends and cleanup.
. tests/integration/lib.sh
t_need_root

step "network: client 198.51.100.2 -> tandem-proxy 198.51.100.10:80 -> web1..3 203.0.113.11-13:8080"
topo_up
for i in 1 2 3; do backend_start "web$i" "${BE_IPS[$((i - 1))]}:8080"; done

write_conf() {  # write_conf W1 W2 W3
    cat > "$T_DIR/tandem.conf" <<CONF
global = { threads = 2; access_log = "$T_DIR/access.log"; log = { level = "notice"; }; };
frontends = ( { name = "www"; bind = "$LB_IP:80"; mode = "http"; backend = "web"; } );
backends = ( { name = "web"; algorithm = "wrr";
               servers = ( { name = "web1"; addr = "${BE_IPS[0]}:8080"; weight = $1; },
                           { name = "web2"; addr = "${BE_IPS[1]}:8080"; weight = $2; },
                           { name = "web3"; addr = "${BE_IPS[2]}:8080"; weight = $3; } ); } );
CONF
}
write_conf 1 1 1
"$PROXY_BIN" -t -c "$T_DIR/tandem.conf" || exit 1
proxy_start "$T_DIR/tandem.conf" "tcp:$LB_IP:80"

tally() {   # tally N: N requests from the client, counted per backend
    for _ in $(seq "$1"); do cl_curl -o /dev/null -w '%header{x-backend}\n' "http://$LB_IP/"; done |
        sort | uniq -c | awk '{printf "   %-6s %3d requests\n", $2, $1}'
}

step "12 requests, equal weights (smooth weighted round robin)"
tally 12

step "live reload: weights 5:3:2 (SIGHUP; no connection dropped)"
write_conf 5 3 2
proxy_reload; sleep 0.5
tally 20

step "load: wrk, 50 keep-alive connections, 3 seconds"
in_cl wrk -t2 -c50 -d3s "http://$LB_IP/" | sed -n '/Requests\/sec\|Latency \|requests in/p'

step "web2 killed in the middle of a 3-second run"
in_cl wrk -t2 -c20 -d3s "http://$LB_IP/" > "$T_DIR/wrk.txt" 2>&1 &
wrk_pid=$!; sleep 1; backend_kill web2; wait $wrk_pid
sed -n '/requests in\|Non-2xx\|Socket errors/p' "$T_DIR/wrk.txt"
grep -q 'Non-2xx\|Socket errors' "$T_DIR/wrk.txt" || echo "   0 failed requests: connects to web2 failed and were retried on another server"
tally 10

step "access log (last 3 lines)"
tail -n 3 "$T_DIR/access.log" | sed 's/^/   /'

step "graceful stop (SIGTERM)"
kill -TERM "$PROXY_PID"
proxy_wait_exit 15 && echo "   tandem-proxy exited with status $PROXY_RC"
PROXY_PID=
step "done; namespaces and processes removed"
