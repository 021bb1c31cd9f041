#!/bin/bash
# sticky.sh - session persistence through real requests: an inserted cookie
# (first response sets it, later requests with it stay on that server
# while cookie-less clients rotate), a learned application cookie
# (JSESSIONID), source-IP persistence from several client addresses, DRAIN
# (sticky clients stay, new ones do not come), a killed server's clients
# rebalanced and rebound, and the tables through tandemctl.
. "$(dirname "$0")/lib.sh"
t_need_root; t_need_proxy
topo_up

B=${BE_IPS[0]}
backend_start A "$B:8081"
backend_start B "$B:8082"
backend_start C "$B:8083"
backend_start U "$B:9053" --udp-echo

SERVERS='servers = ( { name = "A"; addr = "'$B':8081"; }, { name = "B"; addr = "'$B':8082"; },
                { name = "C"; addr = "'$B':8083"; } );'
conf=$T_DIR/tandem.conf
{
    conf_global 2 "status_socket = \"$T_DIR/ctl.sock\";"
    cat <<EOF
frontends = ( { name = "ins"; bind = "$LB_IP:80"; mode = "http"; backend = "ins"; },
              { name = "app"; bind = "$LB_IP:81"; mode = "http"; backend = "app"; },
              { name = "src"; bind = "$LB_IP:82"; mode = "http"; backend = "src"; },
              { name = "l4"; bind = "$LB_IP:83"; mode = "tcp"; backend = "src"; },
              { name = "dns"; bind = "$LB_IP:84"; mode = "udp"; backend = "udp"; },
              { name = "ppt"; bind = "$LB_IP:85"; mode = "tcp"; backend = "src"; accept_proxy = true; },
              { name = "pph"; bind = "$LB_IP:86"; mode = "http"; backend = "src"; accept_proxy = true; } );
backends = (
  { name = "ins"; algorithm = "roundrobin"; retries = 2;
    sticky = { mode = "insert"; cookie = "SRV"; ttl = "30m"; samesite = "Lax"; };
    $SERVERS },
  { name = "app"; algorithm = "roundrobin";
    sticky = { mode = "app"; app_cookie = "JSESSIONID"; ttl = "10m"; max_entries = 1000; };
    $SERVERS },
  { name = "src"; algorithm = "roundrobin"; retries = 2;
    sticky = { mode = "source"; ttl = "5m"; };
    $SERVERS },
  { name = "udp"; servers = ( { name = "U"; addr = "$B:9053"; } ); } );
stats = { bind = "127.0.0.1:8404"; };
EOF
} | proxy_conf "$conf"
proxy_start "$conf" "tcp:$LB_IP:80" "tcp:$LB_IP:81" "tcp:$LB_IP:82" "tcp:$LB_IP:83" "udp:$LB_IP:84"

# req PORT PATH [COOKIE] [SRC] [N]: N (default 1) requests on fresh
# connections; one line each: "BODY|SET-COOKIE" (SET-COOKIE "-" if none).
req() {
    in_cl "$PY" - "$LB_IP" "$@" <<'EOF'
import http.client, sys
host, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
cookie = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] else None
src = sys.argv[5] if len(sys.argv) > 5 and sys.argv[5] else None
n = int(sys.argv[6]) if len(sys.argv) > 6 else 1
for _ in range(n):
    try:
        c = http.client.HTTPConnection(host, port, timeout=5,
                                       source_address=(src, 0) if src else None)
        c.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        r = c.getresponse()
        body = r.read().decode().strip()
        print("%s|%s" % (body if r.status == 200 else "status%d" % r.status,
                         r.getheader("Set-Cookie") or "-"))
        c.close()
    except Exception as e:
        print("error %r|-" % e)
EOF
}
distinct() { cut -d'|' -f1 | sort -u | tr '\n' ' ' | sed 's/ $//'; }
ctoken() { sed -n 's/.*SRV=\([0-9a-f]*\);.*/\1/p' | head -1; }

CTL_BIN=${TANDEMCTL:-$top_builddir/tandemctl}
ctl() { "$CTL_BIN" --socket "$T_DIR/ctl.sock" "$@" 2>&1; }

# ---- insert: the first response sets SRV; with it a client stays put
first=$(req 80 /)
X=${first%%|*}
t_like "$first" '^[ABC]\|SRV=[0-9a-f]{16}; Path=/; HttpOnly; SameSite=Lax$' \
    "insert: the first response sets SRV=<16 hex>; Path=/; HttpOnly; SameSite=Lax"
TOK=$(printf '%s' "$first" | ctoken)
t_is "$(printf '%s' "$first" | grep -c "$B")" 0 "insert: the cookie does not carry the server's address"
out=$(req 80 / "SRV=$TOK" "" 20)
t_is "$(printf '%s\n' "$out" | distinct)" "$X" "insert: 20 requests with the cookie all reach $X" "$out"
t_is "$(printf '%s\n' "$out" | grep -vc '|-$')" 0 "insert: no new cookie while it is honoured"
out=$(req 80 / "" "" 12)
t_ge "$(printf '%s\n' "$out" | distinct | wc -w)" 2 "insert: clients without the cookie rotate" "$out"
out=$(req 80 / "other=1; SRV=$TOK; x=y" "" 5)
t_is "$(printf '%s\n' "$out" | distinct)" "$X" "insert: found among other cookies" "$out"

# ---- app: JSESSIONID from the server's Set-Cookie is learned
login=$(req 81 /login)
AX=${login%%|*}
t_like "$login" '^[ABC]\|JSESSIONID=[ABC]-[0-9]+; Path=/; HttpOnly$' \
    "app: the server's JSESSIONID reaches the client unchanged, no SRV added"
SID=$(printf '%s' "$login" | sed -n 's/.*JSESSIONID=\([^;]*\);.*/\1/p')
out=$(req 81 / "JSESSIONID=$SID" "" 20)
t_is "$(printf '%s\n' "$out" | distinct)" "$AX" "app: 20 requests with JSESSIONID=$SID all reach $AX" "$out"
out=$(req 81 / "JSESSIONID=unknown-session" "" 12)
t_ge "$(printf '%s\n' "$out" | distinct | wc -w)" 2 "app: an unknown session id is balanced" "$out"

# ---- source: each client address keeps its server
bad=0; seen=""
declare -A SRC_OF=()
for ip in "${CL_EXTRA_IPS[@]}"; do
    out=$(req 82 / "" "$ip" 5)
    d=$(printf '%s\n' "$out" | distinct)
    [ "$(printf '%s' "$d" | wc -w)" = 1 ] && [ "${d#error}" = "$d" ] || { bad=$((bad + 1)); t_diag "$ip: $out"; }
    SRC_OF[$ip]=$d
    seen="$seen $d"
done
t_is "$bad" 0 "source: 8 client addresses x 5 requests, each address always on one server"
t_ge "$(printf '%s\n' $seen | sort -u | wc -l)" 2 "source: the addresses are spread over servers ($seen)"
n=$(in_lb curl -sS --max-time 5 http://127.0.0.1:8404/metrics | awk '/^tandem_sticky_entries / {print $2}')
t_ge "${n:-0}" 10 "/metrics: tandem_sticky_entries counts the bindings (insert, app, 8 sources)"

# ---- tandemctl: show sticky, DRAIN
if [ -x "$CTL_BIN" ] && ctl help 2>/dev/null | grep -q 'show sticky'; then
    out=$(ctl show sticky src)
    t_is "$(printf '%s\n' "$out" | grep -c ' source ')" 8 "show sticky src: the 8 source bindings" "$out"
    js=$(ctl --json show sticky ins)
    t_like "$(j "$js" "[.. | objects | select(.key? == \"$TOK\") | .server] | first")" "^$X\$" \
        "show sticky --json: the inserted token maps to $X" "$js"
    # DRAIN: the sticky client stays, new clients go elsewhere
    ctl set server "ins/$X" state drain >/dev/null
    out=$(req 80 / "SRV=$TOK" "" 10)
    t_is "$(printf '%s\n' "$out" | distinct)" "$X" "DRAIN: the sticky client still reaches $X" "$out"
    out=$(req 80 / "" "" 15)
    t_is "$(printf '%s\n' "$out" | grep -c "^$X|")" 0 "DRAIN: no new client goes to $X" "$out"
    ctl set server "ins/$X" state maint >/dev/null
    out=$(req 80 / "SRV=$TOK" "" 3)
    t_is "$(printf '%s\n' "$out" | grep -c "^$X|")" 0 "MAINT: the sticky client is rebalanced" "$out"
    t_like "$(printf '%s\n' "$out" | head -1)" '\|SRV=[0-9a-f]{16};' "MAINT: and gets a new cookie"
    ctl set server "ins/$X" state ready >/dev/null
    out=$(ctl clear sticky app)
    t_like "$out" '[0-9]+' "clear sticky app answers with a count" "$out"
    out=$(req 81 / "JSESSIONID=$SID" "" 12)
    t_ge "$(printf '%s\n' "$out" | distinct | wc -w)" 2 "after clear sticky app the session is balanced again" "$out"
    # connections held open by a client: show conns lists them, with live
    # byte counts (the tcp one has moved a 27-byte request and its
    # response), and behind accept_proxy with the PROXY header's addresses
    # (v1 on tcp, v2 on http)
    bg_start "$NS_CL" "$T_DIR/hold.log" "$PY" -c "
import socket, struct, time
a = socket.create_connection(('$LB_IP', 80), source_address=('${CL_EXTRA_IPS[7]}', 0))
b = socket.create_connection(('$LB_IP', 82), source_address=('${CL_EXTRA_IPS[7]}', 0))
b.sendall(b'GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'); b.recv(4096)
c = socket.create_connection(('$LB_IP', 83), source_address=('${CL_EXTRA_IPS[7]}', 0))
c.sendall(b'GET / HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'); c.recv(4096)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(('${CL_EXTRA_IPS[7]}', 0))
u.settimeout(3); u.sendto(b'ping', ('$LB_IP', 84)); u.recvfrom(512)
p = socket.create_connection(('$LB_IP', 85), source_address=('${CL_EXTRA_IPS[7]}', 0))
p.sendall(b'PROXY TCP4 198.51.100.77 198.51.100.99 41234 8443\\r\\n')
h = socket.create_connection(('$LB_IP', 86), source_address=('${CL_EXTRA_IPS[7]}', 0))
h.sendall(b'\\r\\n\\r\\n\\x00\\r\\nQUIT\\n' + struct.pack('!BBH', 0x21, 0x11, 12)
          + socket.inet_aton('198.51.100.78') + socket.inet_aton('198.51.100.98')
          + struct.pack('!HH', 41235, 8080))
time.sleep(4)"
    hold=$BG_PID
    for i in $(seq 40); do
        out=$(ctl show conns)
        [ "$(printf '%s\n' "$out" | grep -c "${CL_EXTRA_IPS[7]}")" -ge 4 ] &&
            [ "$(printf '%s\n' "$out" | grep -c ' 192\.0\.2\.7[78]:')" -ge 2 ] && break
        sleep 0.05
    done
    t_like "$(printf '%s\n' "$out" | grep "${CL_EXTRA_IPS[7]}" | grep ' ins ')" \
        "http +ins +${CL_EXTRA_IPS[7]}:[0-9]+ +$LB_IP:80 +- +- +client" \
        "show conns: an idle http connection (no server yet)" "$out"
    t_like "$(printf '%s\n' "$out" | grep "${CL_EXTRA_IPS[7]}" | grep ' src ')" \
        "http +src +${CL_EXTRA_IPS[7]}:[0-9]+ +$LB_IP:82 +src +[ABC] +server" \
        "show conns: a connection after a request, with its server" "$out"
    t_like "$(printf '%s\n' "$out" | grep "${CL_EXTRA_IPS[7]}" | grep ' l4 ')" \
        "tcp +l4 +${CL_EXTRA_IPS[7]}:[0-9]+ +$LB_IP:83 +src +[ABC] +server" \
        "show conns: a tcp connection with its server" "$out"
    t_like "$(printf '%s\n' "$out" | grep "${CL_EXTRA_IPS[7]}" | grep ' dns ')" \
        "udp +dns +${CL_EXTRA_IPS[7]}:[0-9]+ +$LB_IP:84 +udp +U +server" \
        "show conns: a udp flow with its server" "$out"
    js=$(ctl --json show conns)
    t_is "$(j "$js" "[.conns[] | select(.client | startswith(\"${CL_EXTRA_IPS[7]}:\"))] | length")" 4 \
        "show conns --json: all four (http x2, tcp, udp)" "$js"
    for i in $(seq 40); do      # the http request's bytes count when it ends
        [ "$(j "$js" "[.conns[] | select(.frontend == \"src\" and .bytes_in > 0 and (.client | startswith(\"${CL_EXTRA_IPS[7]}:\")))] | length")" = 1 ] &&
            break
        sleep 0.05; js=$(ctl --json show conns)
    done
    t_is "$(j "$js" "[.conns[] | select(.frontend == \"l4\" and (.client | startswith(\"${CL_EXTRA_IPS[7]}:\"))) | .bytes_in] | first")" 27 \
        "show conns --json: a live tcp connection's bytes from the client" "$js"
    t_ge "$(j "$js" "[.conns[] | select(.frontend == \"l4\" and (.client | startswith(\"${CL_EXTRA_IPS[7]}:\"))) | .bytes_out] | first")" 1 \
        "show conns --json: and to the client, before it closes" "$js"
    t_is "$(j "$js" "[.conns[] | select(.frontend == \"src\" and (.client | startswith(\"${CL_EXTRA_IPS[7]}:\"))) | .bytes_in] | first")" 27 \
        "show conns --json: a live http connection's bytes of its finished request" "$js"
    t_is "$(j "$js" '[.conns[] | select(.frontend == "ppt") | .client + " " + .local] | first')" \
        "198.51.100.77:41234 198.51.100.99:8443" \
        "show conns: behind accept_proxy (tcp, v1) the PROXY header's client and local address" "$js"
    t_is "$(j "$js" '[.conns[] | select(.frontend == "pph") | .client + " " + .local] | first')" \
        "198.51.100.78:41235 198.51.100.98:8080" \
        "show conns: behind accept_proxy (http, v2) the PROXY header's client and local address" "$js"
    stop_pid "$hold"
else
    t_skip "show sticky / DRAIN / clear sticky through tandemctl" "no tandemctl with show sticky"
fi

# ---- a killed server: its clients are rebalanced and rebound
out=$(req 80 / "" "" 6)
K=$(printf '%s\n' "$out" | head -1 | cut -d'|' -f1)
KTOK=$(printf '%s\n' "$out" | head -1 | cut -d'|' -f2 | ctoken)
backend_kill "$K"
out=$(req 80 / "SRV=$KTOK" "" 4)
t_is "$(printf '%s\n' "$out" | grep -Ec "^$K\||^error|^status")" 0 \
    "insert: $K killed, its sticky clients are served elsewhere" "$out"
NTOK=$(printf '%s\n' "$out" | head -1 | ctoken)
N=$(printf '%s\n' "$out" | head -1 | cut -d'|' -f1)
t_like "$NTOK" '^[0-9a-f]{16}$' "insert: and get a cookie for their new server $N"
out=$(req 80 / "SRV=$NTOK" "" 10)
t_is "$(printf '%s\n' "$out" | distinct)" "$N" "insert: the new cookie sticks to $N" "$out"
kip=""
for ip in "${CL_EXTRA_IPS[@]}"; do [ "${SRC_OF[$ip]}" = "$K" ] && { kip=$ip; break; }; done
if [ -n "$kip" ]; then
    out=$(req 82 / "" "$kip" 8)
    d=$(printf '%s\n' "$out" | distinct)
    t_like "$d" '^[ABC]$' "source: $kip (was on $K) moves to one other server ($d)" "$out"
    t_is "${d/$K/}" "$d" "source: and not back to the dead $K"
else
    t_skip "source: a killed server's addresses move" "no address was on $K"
fi

proxy_stop_check
t_done
