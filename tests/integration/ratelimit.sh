#!/bin/bash
# ratelimit.sh - rate_limit against a real tandem-proxy: bursts that hit
# each limit with the exact number of 429s (each with Retry-After), per-IP
# keys from several client addresses, a header key (requests without the
# header are not limited), a global key, a route's limit only on its route,
# tcp connections refused, the log line and rate_limited counter, and
# counts kept over a SIGHUP reload for an unchanged limit (a changed one
# starts over).
#
# Windows are long (1h, 1d) so no count depends on timing: a sliding
# window smooths its own boundary, and a fixed window of a day is crossed
# by a run of this test once in thousands.
. "$(dirname "$0")/lib.sh"
t_need_root; t_need_proxy
CTL_BIN=${TANDEMCTL:-$top_builddir/tandemctl}
topo_up

B=${BE_IPS[0]}
backend_start web "$B:8080"
backend_start echo "$B:7001" --tcp-echo
SOCK=$T_DIR/proxy.sock

# write_conf GLOBAL_BURST: the whole config; only the "global" limit's
# burst changes between the two loads.
write_conf() {
    {
        conf_global 2 "status_socket = \"$SOCK\";"
        cat <<EOF
frontends = (
  { name = "www"; bind = "$LB_IP:80"; mode = "http"; backend = "web";
    rate_limit = ( { name = "per-ip"; key = "ip"; algorithm = "fixed_window"; rate = 5; per = "1d"; } ); },
  { name = "api"; bind = "$LB_IP:81"; mode = "http"; backend = "web";
    rate_limit = { name = "api-key"; key = "header:X-API-Key"; algorithm = "sliding_window";
                   rate = 4; per = "1h"; };
    routes = ( { path_prefix = "/login"; backend = "web";
                 rate_limit = { name = "login"; key = "global"; algorithm = "token_bucket";
                                rate = 1; per = "1h"; burst = 3; }; },
               { backend = "web"; } ); },
  { name = "glob"; bind = "$LB_IP:82"; mode = "http"; backend = "web";
    rate_limit = { name = "global"; key = "global"; rate = 1; per = "1h"; burst = $1; }; },
  { name = "raw"; bind = "$LB_IP:83"; mode = "tcp"; backend = "echo";
    rate_limit = { name = "tcp-ip"; key = "ip"; algorithm = "fixed_window"; rate = 3; per = "1d"; }; }
);
backends = (
  { name = "web"; servers = ( { name = "w1"; addr = "$B:8080"; } ); },
  { name = "echo"; servers = ( { name = "e1"; addr = "$B:7001"; } ); }
);
EOF
    } | proxy_conf "$T_DIR/tandem.conf"
}
write_conf 6
proxy_start "$T_DIR/tandem.conf" "tcp:$LB_IP:80" "tcp:$LB_IP:81" "tcp:$LB_IP:82" "tcp:$LB_IP:83"

# burst PORT N SRC PATH [HEADER]: N requests, one connection each, from
# address SRC; prints "OK LIMITED OTHER RETRY_AFTER_ON_EVERY_429".
burst() {
    in_cl "$PY" - "$LB_IP" "$@" <<'EOF'
import socket, sys
host, port, n, src, path = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
hdr = sys.argv[6] + "\r\n" if len(sys.argv) > 6 and sys.argv[6] else ""
ok = limited = other = 0
retry_ok = True
for _ in range(n):
    s = socket.create_connection((host, port), timeout=5, source_address=(src, 0))
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\n{hdr}Connection: close\r\n\r\n".encode())
    data = b""
    while True:
        c = s.recv(65536)
        if not c:
            break
        data += c
    s.close()
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    status = head[0].split(" ")[1] if head and " " in head[0] else "?"
    if status == "200":
        ok += 1
    elif status == "429":
        limited += 1
        ra = [h.split(":", 1)[1].strip() for h in head[1:] if h.lower().startswith("retry-after:")]
        retry_ok = retry_ok and len(ra) == 1 and ra[0].isdigit() and int(ra[0]) >= 1
    else:
        other += 1
print(ok, limited, other, "retry-after" if retry_ok else "missing-retry-after")
EOF
}

# tcp_burst N SRC: N connections to the echo server (it greets first);
# prints "RELAYED CLOSED".
tcp_burst() {
    in_cl "$PY" - "$LB_IP" 83 "$@" <<'EOF'
import socket, sys
host, port, n, src = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
echoed = closed = 0
for _ in range(n):
    s = socket.create_connection((host, port), timeout=5, source_address=(src, 0))
    try:
        s.sendall(b"ping\n")
        got = s.recv(100)
    except OSError:
        got = b""
    s.close()
    if got:
        echoed += 1
    else:
        closed += 1
print(echoed, closed)
EOF
}

CL2=${CL_EXTRA_IPS[0]} CL3=${CL_EXTRA_IPS[1]} CL4=${CL_EXTRA_IPS[2]}

# --- per IP, fixed window of 5
t_is "$(burst 80 8 "$CL_IP" /)" "5 3 0 retry-after" "ip key: 8 requests, 5 pass, 3 get 429 with Retry-After"
for ip in "$CL2" "$CL3" "$CL4"; do
    t_is "$(burst 80 7 "$ip" /)" "5 2 0 retry-after" "ip key: client $ip has its own count (5 of 7)"
done
t_like "$(grep "rate limit" "$PROXY_LOG" | head -1)" "frontend \"www\": client $CL_IP:[0-9]+: rate limit \"per-ip\" exceeded, 429 \\(retry after [0-9]+s\\)" \
    "a refusal is logged with the client, frontend and limit"

# --- header key, sliding window of 4; no header: not limited
t_is "$(burst 81 6 "$CL_IP" / 'X-API-Key: k1')" "4 2 0 retry-after" "header key k1: 4 of 6"
t_is "$(burst 81 5 "$CL_IP" / 'X-API-Key: k2')" "4 1 0 retry-after" "header key k2 counts apart: 4 of 5"
t_is "$(burst 81 10 "$CL_IP" /)" "10 0 0 retry-after" "no X-API-Key header: that limit does not apply"

# --- route limit: global token bucket, burst 3, on /login only
t_is "$(burst 81 5 "$CL2" /login/x)" "3 2 0 retry-after" "route /login: burst of 3 then 429"
t_is "$(burst 81 4 "$CL2" /other)" "4 0 0 retry-after" "the route's limit does not apply to other routes"
t_is "$(burst 81 1 "$CL3" /login 'X-API-Key: k3')" "0 1 0 retry-after" \
    "frontend limit passes (fresh key), the route's refuses"

# --- global key: one bucket of 6 for every client
g=0
for ip in "$CL_IP" "$CL2" "$CL3"; do
    r=$(burst 82 3 "$ip" /); g=$((g + ${r%% *}))
done
t_is "$g" 6 "global key: 9 requests from 3 clients, exactly 6 pass"

# --- tcp: refused at accept past the limit
t_is "$(tcp_burst 5 "$CL_IP")" "3 2" "tcp: 5 connections, 3 relayed, 2 closed at once"
t_is "$(tcp_burst 3 "$CL2")" "3 0" "tcp: another client address has its own count"

# --- counters
stat=$("$CTL_BIN" --socket "$SOCK" --json show stat 2>&1)
rl_of() { j "$stat" ".frontends[] | select(.name == \"$1\") | .rate_limited"; }
t_is "$(rl_of www) $(rl_of api) $(rl_of glob) $(rl_of raw)" "9 6 3 2" \
    "rate_limited per frontend (show stat --json)"

# --- reload: per-ip unchanged keeps its counts; global changed starts over
write_conf 2
proxy_reload
for i in $(seq 100); do grep -q "reload done" "$PROXY_LOG" && break; sleep 0.05; done
t_like "$(grep -c 'reload done' "$PROXY_LOG")" '^1$' "SIGHUP reload done"
t_is "$(burst 80 2 "$CL_IP" /)" "0 2 0 retry-after" "after reload: an unchanged limit kept its count"
t_is "$(burst 81 1 "$CL_IP" / 'X-API-Key: k1')" "0 1 0 retry-after" "after reload: header key count kept"
t_is "$(burst 82 4 "$CL4" /)" "2 2 0 retry-after" "after reload: the changed limit starts over (burst 2)"
t_is "$(tcp_burst 1 "$CL_IP")" "0 1" "after reload: tcp limit kept its count"

proxy_stop_check
t_done
