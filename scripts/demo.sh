#!/bin/bash
# The tandem demo, run as root on a fresh Debian machine. It installs the
# dependencies, builds, and brings up a two-box pair in network namespaces:
#
#   client 198.51.100.2 --- VIP 198.51.100.100 --- lbA 198.51.100.11 (MASTER)
#                                              \-- lbB 198.51.100.12 (BACKUP)
#   lbA/lbB --- web1..3 203.0.113.11-13:8080
#
# Each box runs tandem-proxy and tandem-vrrp from its own config file; the
# proxies replicate their sticky-session tables over the sync channel (TLS
# with a pre-shared key). The demo shows traffic balanced through the VIP,
# logs 20 users in through box A (each bound to a server by its session
# cookie), then kills box A (SIGKILL of both daemons and its link taken
# down) under a steady stream of requests, prints the measured failover
# gap, shows box B serving and every user still on their server, and
# cleans up.
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
  make -s -j"$(nproc)" tandem-proxy tandem-vrrp tandemctl >make.log 2>&1 ) ||
    { cat build/make.log; echo "build failed"; exit 1; }
echo "   build/tandem-proxy build/tandem-vrrp build/tandemctl"

export top_builddir=$top/build top_srcdir=$top
# The integration-test harness gives us namespaces, backends and cleanup.
. tests/integration/lib.sh
. tests/integration/lib_vrrp.sh
t_need_root
CTL=$top_builddir/tandemctl

step "network: client, lbA, lbB and the backends on one bridge (all in namespaces)"
vrrp_topo_up
_host "$NS_BE" vbe "${BE_IPS[0]}/24" "${BE_IPS[1]}/24" "${BE_IPS[2]}/24"
ip -n "$NS_A" addr add 203.0.113.1/24 dev eth0
ip -n "$NS_B" addr add 203.0.113.2/24 dev eth0
for i in 1 2 3; do backend_start "web$i" "${BE_IPS[$((i - 1))]}:8080"; done

openssl rand -hex 32 > "$T_DIR/sync.key"
box_conf() {   # box_conf A|B PRIORITY PEER SELF
    cat > "$T_DIR/tandem-$1.conf" <<CONF
node = { name = "lb-$1"; };
global = { threads = 2; status_socket = "$T_DIR/proxy-$1.sock";
           log = { level = "notice"; }; };
vrrp = { interface = "eth0"; status_socket = "$T_DIR/vrrp-$1.sock";
         track_proxy_socket = "$T_DIR/proxy-$1.sock";
         instances = ( { name = "web"; vrid = 51; priority = $2; advert_ms = 100;
                         vips = [ "$VIP/24" ]; unicast_peer = "$3"; track_proxy = true; } ); };
sync = { listen = "$4:7400"; peer = "$3:7400"; psk_file = "$T_DIR/sync.key"; };
frontends = ( { name = "www"; bind = "$VIP:80"; mode = "http"; backend = "web"; } );
backends = ( { name = "web"; algorithm = "wrr";
               sticky = { mode = "app"; app_cookie = "JSESSIONID"; };
               health = { type = "http"; path = "/"; interval = "1s"; timeout = "500ms"; };
               servers = ( { name = "web1"; addr = "${BE_IPS[0]}:8080"; },
                           { name = "web2"; addr = "${BE_IPS[1]}:8080"; },
                           { name = "web3"; addr = "${BE_IPS[2]}:8080"; } ); } );
CONF
    "$PROXY_BIN" -t -q -c "$T_DIR/tandem-$1.conf" && "$VRRP_BIN" -t -q -c "$T_DIR/tandem-$1.conf"
}
box_start() {  # box_start A|B: the box's two daemons, as systemd would start them
    bg_start "$(vrrp_ns "$1")" "$T_DIR/proxy-$1.log" "$PROXY_BIN" -c "$T_DIR/tandem-$1.conf"
    eval "PX_$1=$BG_PID"
    for _ in $(seq 100); do [ -S "$T_DIR/proxy-$1.sock" ] && break; sleep 0.05; done
    vrrp_start "$1" "$T_DIR/tandem-$1.conf" || t_bail "tandem-vrrp on lb$1 did not start"
}

step "box A (priority 150) and box B (priority 100): tandem-proxy + tandem-vrrp each"
box_conf A 150 "$B_IP" "$A_IP" && box_conf B 100 "$A_IP" "$B_IP" || exit 1
box_start A; box_start B
wait_state A web MASTER 5 >/dev/null || t_bail "box A did not become MASTER"
wait_state B web BACKUP 5 >/dev/null
echo "   lbA: $(vrrp_state A web)   lbB: $(vrrp_state B web)   VIP $VIP on: lb$(vip_holders $VIP)"
in_box A "$CTL" --socket "$T_DIR/proxy-A.sock" show servers | sed 's/^/   /'

tally() {   # tally N: N requests to the VIP, counted per backend
    for _ in $(seq "$1"); do cl_curl -o /dev/null -w '%header{x-backend}\n' "http://$VIP/"; done |
        sort | uniq -c | awk '{printf "   %-6s %3d requests\n", $2, $1}'
}
step "12 requests to the VIP, served by box A"
tally 12

step "20 users log in through box A: each gets a session cookie from its server"
# /login answers Set-Cookie: JSESSIONID=...; the proxy learns cookie -> server
# (sticky mode app) and replicates the entry to box B.
in_cl "$PY" - "$VIP" "$T_DIR/users.json" login <<'PY' || exit 1
import http.client, json, sys
vip, path, mode = sys.argv[1:4]
if mode == "login":
    users = []
    for i in range(20):
        c = http.client.HTTPConnection(vip, 80, timeout=5)
        c.request("GET", "/login"); r = c.getresponse(); r.read(); c.close()
        cookie = r.getheader("Set-Cookie").split(";")[0]
        users.append((cookie, r.getheader("X-Backend")))
    json.dump(users, open(path, "w"))
    per = {}
    for _, b in users:
        per[b] = per.get(b, 0) + 1
    print("   " + ", ".join(f"{b}: {n} users" for b, n in sorted(per.items())))
PY
sleep 0.3
in_box B "$CTL" --socket "$T_DIR/proxy-B.sock" peer show |
    grep -E "^(peer|connected|lag|sticky table):" | sed 's/^/   lbB /'

step "killing box A under a steady stream of new requests (one every 10 ms)"
# The probe: a new connection per request, 100 ms timeout, for 6 s at most.
in_cl "$PY" - "$VIP" > "$T_DIR/probe.json" <<'PY' &
import http.client, json, sys, time
vip, out, t_end = sys.argv[1], [], time.time() + 6
while time.time() < t_end:
    t = time.time()
    try:
        c = http.client.HTTPConnection(vip, 80, timeout=0.1)
        c.request("GET", "/"); r = c.getresponse(); r.read(); ok = r.status == 200; c.close()
    except Exception:
        ok = False
    out.append((t, ok))
    time.sleep(max(0, 0.01 - (time.time() - t)))
print(json.dumps(out))
PY
probe=$!
sleep 1.5
kill_at=$(date +%s.%N)
{ kill -KILL "$PX_A" "${VRRP_PID[A]}"; wait "$PX_A" "${VRRP_PID[A]}"; } 2>/dev/null
ip -n "$NS_A" link set eth0 down
echo "   $(date +%T.%3N): SIGKILL tandem-proxy and tandem-vrrp on lbA, lbA's link down"
wait "$probe"
"$PY" - "$kill_at" "$T_DIR/probe.json" <<'PY'
import json, sys
kill, ev = float(sys.argv[1]), json.load(open(sys.argv[2]))
before = [t for t, ok in ev if ok and t < kill]
after = [t for t, ok in ev if ok and t >= kill]
failed = sum(1 for t, ok in ev if not ok)
if not before or not after:
    print("   FAILED: no request succeeded", "before" if not before else "after", "the kill")
    sys.exit(1)
gap = after[0] - before[-1]
print(f"   {len(ev)} requests, {failed} failed; first success on box B "
      f"{(after[0] - kill) * 1000:.0f} ms after the kill")
print(f"   failover gap (last success on A -> first success on B): {gap * 1000:.0f} ms")
# 100 ms adverts: Master_Down_Interval is 360 ms. Far beyond it is a failure.
sys.exit(0 if gap < 2.0 else 1)
PY
[ $? = 0 ] || { echo "demo: box B did not take over in time"; exit 1; }

step "box B now holds the VIP and serves"
echo "   lbB: $(vrrp_state B web)   VIP $VIP on: lb$(vip_holders $VIP)"
[ "$(vip_holders $VIP)" = B ] || { echo "demo: the VIP is not on box B alone"; exit 1; }
tally 9
in_box B "$CTL" --vrrp-socket "$T_DIR/vrrp-B.sock" vrrp show | sed 's/^/   /' | head -12

step "the 20 users come back through box B: sticky sessions intact"
in_cl "$PY" - "$VIP" "$T_DIR/users.json" <<'PY' || { echo "demo: sticky sessions were lost"; exit 1; }
import http.client, json, sys
vip, path = sys.argv[1:3]
users, same = json.load(open(path)), 0
for cookie, server in users:
    c = http.client.HTTPConnection(vip, 80, timeout=5)
    c.request("GET", "/", headers={"Cookie": cookie}); r = c.getresponse(); r.read(); c.close()
    got = r.getheader("X-Backend")
    same += got == server
    if got != server:
        print(f"   {cookie}: was on {server}, now on {got}")
print(f"   {same} of {len(users)} users reached the server they logged in on")
sys.exit(0 if same == len(users) else 1)
PY

step "done; namespaces and processes removed"
