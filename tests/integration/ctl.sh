#!/bin/bash
# ctl.sh - the status socket and tandemctl against a real tandem-proxy in
# namespaces: every server listed, drain and maint stop new requests to a
# server and ready brings it back, set weight changes the distribution,
# reload (good and bad files), errors and exit codes (1 refused, 2 usage,
# 3 no socket), socket mode 0660 and group, socat, garbage, long lines,
# the client bound, help, and the VRRP commands against a stand-in agent.
. "$(dirname "$0")/lib.sh"
t_need_root; t_need_proxy
CTL_BIN=${TANDEMCTL:-$top_builddir/tandemctl}
[ -x "$CTL_BIN" ] || t_bail "no tandemctl at $CTL_BIN"
topo_up

B=${BE_IPS[0]}
backend_multi fast A@$B:8081 B@$B:8082 C@$B:8083

SOCK=$T_DIR/proxy.sock
conf=$T_DIR/tandem.conf
write_conf() {   # write_conf [extra backend text]
    {
        conf_global 2 "status_socket = \"$SOCK\"; status_socket_group = \"daemon\";"
        cat <<EOF
node = { name = "lb-test"; };
frontends = (
  { name = "www"; bind = "$LB_IP:8001"; mode = "http"; backend = "web"; },
  { name = "wrr"; bind = "$LB_IP:8002"; mode = "http"; backend = "weighted"; }
);
backends = (
  { name = "web"; algorithm = "roundrobin";
    servers = ( { name = "A"; addr = "$B:8081"; }, { name = "B"; addr = "$B:8082"; },
                { name = "C"; addr = "$B:8083"; } ); },
  { name = "weighted"; algorithm = "wrr";
    servers = ( { name = "A"; addr = "$B:8081"; }, { name = "B"; addr = "$B:8082"; } ); }
  ${1:-}
);
EOF
    } | proxy_conf "$conf"
}
write_conf
proxy_start "$conf" "tcp:$LB_IP:8001" "tcp:$LB_IP:8002"
for i in $(seq 50); do [ -S "$SOCK" ] && break; sleep 0.05; done

ctl() { "$CTL_BIN" --socket "$SOCK" "$@"; }
# ctl_rc ARGS...: runs tandemctl, sets OUT (stdout+stderr) and RC.
ctl_rc() { OUT=$("$CTL_BIN" --socket "$SOCK" "$@" 2>&1); RC=$?; }
sock_say() { printf '%s\n' "$1" | timeout 10 socat -t 5 - "UNIX-CONNECT:$SOCK"; }
# spread3 DESC: passes when the "A B C" counts of 30 new connections are 8-12
# of 30 (new connections land on either worker thread, each with its own
# rotation, so the split is even but not exact).
spread3() {
    local c; c=$(counts 8001 30)
    set -- $c "$1"
    if [ "$1" -ge 8 ] && [ "$1" -le 12 ] && [ "$2" -ge 8 ] && [ "$2" -le 12 ] &&
       [ "$3" -ge 8 ] && [ "$3" -le 12 ]; then t_ok "$4 ($c)"; else t_fail "$4" "A B C = $c, want 8-12 each"; fi
}
# counts PORT N: "A B C" request counts of N new connections.
counts() {
    local r; r=$(clpy load "$LB_IP" "$1" --n "$2" --c 1)
    echo "$(j "$r" '.backends.A // 0') $(j "$r" '.backends.B // 0') $(j "$r" '.backends.C // 0')"
}

# --- the socket itself
t_is "$(stat -c '%a %G' "$SOCK" 2>&1)" "660 daemon" "socket mode 0660, group from status_socket_group"
ctl_rc ping
t_is "$RC:$OUT" "0:pong" "tandemctl ping: pong, exit 0"
t_is "$(sock_say ping)" "pong" "socat: ping answers pong"

# --- show
ctl_rc show servers
names=$(printf '%s\n' "$OUT" | awk 'NR > 1 { print $1 "/" $2 "=" $4 }' | tr '\n' ' ')
t_is "$RC:$names" "0:web/A=UP web/B=UP web/C=UP weighted/A=UP weighted/B=UP " \
    "show servers lists every server of every backend, all UP" "$OUT"
t_like "$(printf '%s\n' "$OUT" | head -1)" '^backend +server +addr +state +weight' "show servers: a header row"
r=$(ctl --json show servers web)
t_is "$(j "$r" '[.servers[].name] | join(",")')" "A,B,C" "show servers web json: the backend's servers"
ctl_rc show servers nosuch
t_like "$RC:$OUT" '^1:tandemctl: no backend "nosuch"' "show servers of an unknown backend: exit 1, says which"
r=$(ctl --json show info)
t_is "$(j "$r" '.node + " " + (.generation|tostring) + " " + (.threads|tostring)')" "lb-test 1 2" \
    "show info json: node, generation 1, 2 threads" "$r"
t_like "$(ctl show info)" "pid: +$PROXY_PID" "show info: the daemon's pid"
ctl_rc show stat
t_like "$OUT" 'frontend +www +OPEN' "show stat: a frontend row"
t_like "$OUT" 'server +web/C +UP' "show stat: a server row"
t_like "$(ctl show backends)" 'weighted +wrr +UP +2 +2' "show backends: algorithm, status, servers, up"

# --- traffic is counted per server
spread3 "roundrobin over A B C before any change"
r=$(ctl --json show servers web)
t_is "$(j "$r" '[.servers[].requests] | add')" 30 "show servers json: requests add up to what was sent"

# --- drain, maint, ready change live traffic
ctl_rc set server web/B state drain
t_is "$RC:$OUT" "0:web/B: state DRAIN (was UP)" "set server drain: answer names the change"
t_is "$(counts 8001 30 | cut -d' ' -f2)" 0 "drained B gets no new request"
t_like "$(ctl show servers web)" 'web +B +[0-9.:]+ +DRAIN' "show servers shows DRAIN"
ctl_rc set server web/C state maint
t_is "$(counts 8001 20)" "20 0 0" "with B drained and C in maint, A takes everything"
r=$(ctl --json show servers web)
t_is "$(j "$r" '[.servers[].state] | join(",")')" "UP,DRAIN,MAINT" "json states UP,DRAIN,MAINT"
ctl set server web/B state ready >/dev/null
ctl set server web/C state ready >/dev/null
spread3 "ready: B and C take traffic again"

# --- weights
r=$(clpy load "$LB_IP" 8002 --n 40 --c 1 --keepalive)
t_is "$(j "$r" '.backends.A // 0') $(j "$r" '.backends.B // 0')" "20 20" "wrr A:B 1:1 before set weight (one connection: one worker's balancer)"
ctl_rc set weight weighted/A 3
t_is "$RC:$OUT" "0:weighted/A: weight 3 (was 1)" "set weight: answer names the change"
r=$(clpy load "$LB_IP" 8002 --n 40 --c 1 --keepalive)
t_is "$(j "$r" '.backends.A // 0') $(j "$r" '.backends.B // 0')" "30 10" "weight 3:1 -> 30/10 of 40 requests"
ctl set weight weighted/B 0 >/dev/null
t_is "$(counts 8002 20 | cut -d' ' -f1-2)" "20 0" "weight 0: B gets nothing"
r=$(ctl --json show servers weighted)
t_is "$(j "$r" '[.servers[] | "\(.weight)/\(.config_weight)"] | join(",")')" "3/1,0/1" \
    "json: current and configured weights"

# --- reload
ctl_rc reload
t_is "$RC:$OUT" "0:reload done (generation 2)" "tandemctl reload: done, generation 2"
write_conf ', { name = "web"; servers = ( { name = "X"; addr = "nowhere"; } ); }'
ctl_rc reload
t_like "$RC:$OUT" '^1:tandemctl: reload failed, still running the previous configuration: .*tandem.conf:[0-9]+:' \
    "reload of a broken file: exit 1 with the first FILE:LINE error"
t_is "$(j "$(ctl --json show info)" '.generation')" 2 "the previous configuration keeps running"
write_conf
spread3 "traffic still flows after the refused reload"

# --- errors and exit codes
ctl_rc frobnicate
t_like "$RC:$OUT" '^2:tandemctl: unknown command "frobnicate"' "unknown command: usage error, exit 2"
ctl_rc show
t_like "$RC:$(printf '%s' "$OUT" | tr '\n' ' ')" '^2:tandemctl: "show" needs a subcommand: .*show servers \[BACKEND\]' \
    "\"show\" alone: exit 2, lists the show commands"
ctl_rc set weight web/A 300
t_is "$RC" 2 "weight 300: usage error, exit 2"
ctl_rc set server web/A state sideways
t_is "$RC" 2 "unknown state: usage error, exit 2"
ctl_rc set weight web/Z 3
t_like "$RC:$OUT" '^1:tandemctl: backend "web" has no server "Z"' "unknown server: exit 1, says which"
ctl_rc --json set weight nob/A 3
t_like "$RC:$OUT" '^1:\{"error":"no backend \\"nob\\""\}' "--json errors are JSON objects, exit 1"
OUT=$("$CTL_BIN" --socket "$T_DIR/absent.sock" ping 2>&1); RC=$?
t_like "$RC:$OUT" "^3:tandemctl: cannot connect to $T_DIR/absent.sock: No such file or directory" \
    "no socket: exit 3, names the path and the reason"
t_is "$(sock_say 'show nonsense')" 'error: unknown command "show nonsense" (try "help")' \
    "socat: unknown command gets an error line"
t_is "$(sock_say 'set weight web/A 999')" 'error: weight "999" is not a number from 0 to 256' \
    "socat: out-of-range weight refused by the daemon"
t_is "$(sock_say 'set weight web/A')" 'error: usage: set weight BACKEND/SERVER N' "socat: missing argument gives usage"
t_is "$(sock_say 'bogus json')" '{"error":"unknown command \"bogus\" (try \"help\")"}' "socat: JSON error object"
t_is "$(head -c 5000 /dev/zero | tr '\0' a | timeout 10 socat -t 5 - "UNIX-CONNECT:$SOCK")" \
    "error: line too long" "a 5000-byte line: error: line too long"
t_is "$(printf 'show\001info\n' | timeout 10 socat -t 5 - "UNIX-CONNECT:$SOCK")" \
    "error: control character in command" "control bytes are refused"
head -c 3000 /dev/urandom | timeout 10 socat -t 2 - "UNIX-CONNECT:$SOCK" >/dev/null 2>&1
t_is "$(ctl ping)" pong "random bytes on the socket: the daemon still answers"

# --- the client bound: 16 idle clients, the 17th is refused; then all is well
r=$("$PY" - "$SOCK" <<'PYEOF'
import socket, sys, time
held = []
for i in range(16):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); held.append(s)
time.sleep(0.3)
s = socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])
print(s.recv(200).decode().strip())
PYEOF
)
t_is "$r" "error: too many clients" "17th concurrent client: error: too many clients"
t_is "$(ctl ping)" pong "after the idle clients left, ping answers again"

# --- help
ctl_rc --help
t_like "$RC:$OUT" '^0:Usage: tandemctl' "tandemctl --help: exit 0"
ctl_rc help set weight
t_like "$RC:$OUT" '^0:Usage: tandemctl \[OPTIONS\] set weight BACKEND/SERVER N' "tandemctl help set weight"
ctl_rc set server --help
t_like "$RC:$OUT" 'drain +no new clients' "tandemctl set server --help explains the states"
t_like "$(sock_say help)" 'set server BACKEND/SERVER state ready\|drain\|maint' "socket help lists set server"

# --- the VRRP side, against a stand-in agent speaking the same protocol
VSOCK=$T_DIR/vrrp.sock
"$PY" - "$VSOCK" >"$T_DIR/fake-vrrp.log" 2>&1 <<'PYEOF' &
import socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(4); s.settimeout(20)
for _ in range(3):
    c, _ = s.accept()
    line = c.makefile().readline().strip()
    if line == "show":
        c.sendall(b"instance  state   priority\nweb       MASTER  150\n")
    elif line.startswith("switchover "):
        c.sendall(("switchover of %s started\n" % line.split()[1]).encode())
    else:
        c.sendall(('error: unknown command "%s"\n' % line).encode())
    c.close()
PYEOF
T_PIDS+=($!)
for i in $(seq 50); do [ -S "$VSOCK" ] && break; sleep 0.05; done
OUT=$("$CTL_BIN" --vrrp-socket "$VSOCK" vrrp show 2>&1); RC=$?
t_like "$RC:$OUT" '^0:instance +state +priority' "vrrp show: the agent's table, exit 0"
OUT=$("$CTL_BIN" --vrrp-socket "$VSOCK" vrrp switchover web 2>&1); RC=$?
t_is "$RC:$OUT" "0:switchover of web started" "vrrp switchover web: sends switchover web"
OUT=$("$CTL_BIN" --vrrp-socket "$VSOCK" --json vrrp show 2>&1); RC=$?
t_like "$RC:$OUT" '^1:tandemctl: unknown command "show json"' "vrrp --json sends the json word; an error is exit 1"
OUT=$("$CTL_BIN" --vrrp-socket "$VSOCK" vrrp switchover 2>&1); RC=$?
t_is "$RC" 2 "vrrp switchover without an instance: usage error"

# --- a daemon that accepts and never answers: bounded by --timeout, exit 3
MSOCK=$T_DIR/mute.sock
"$PY" -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)
c, _ = s.accept(); time.sleep(10)' "$MSOCK" >/dev/null 2>&1 &
T_PIDS+=($!)
for i in $(seq 50); do [ -S "$MSOCK" ] && break; sleep 0.05; done
t0=$(date +%s%N)
OUT=$("$CTL_BIN" --socket "$MSOCK" --timeout 1 ping 2>&1); RC=$?
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
t_like "$RC:$OUT" "^3:tandemctl: $MSOCK: no answer within 1 s" "a mute socket: exit 3 after --timeout"
t_le "$ms" 3000 "--timeout 1 returns within 3 s"

proxy_stop_check
t_is "$([ -e "$SOCK" ] && echo present || echo removed)" removed "the socket file is removed at exit"
t_done
