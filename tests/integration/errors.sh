#!/bin/bash
# errors.sh - error statuses over raw sockets: 400 garbage, 414, 431, 413,
# 408 slow client, 503 no server, 502 refused, 504 slow server; and the
# request-smuggling patterns (CL+TE, conflicting CLs, bad chunk size, bare
# LF, obs-fold, NUL, ...) answered 400 with the connection closed and never
# forwarded to a server. Errors are logged with the client address and the
# worker goes on serving.
. "$(dirname "$0")/lib.sh"
t_need_root; t_need_proxy
topo_up

B=${BE_IPS[0]}
backend_multi be A@$B:8081 SLOWSRV@$B:8082 -- --log "$T_DIR/requests.log"

conf=$T_DIR/tandem.conf
{
    conf_global 2
    cat <<EOF
frontends = ( { name = "www"; bind = "$LB_IP:80"; mode = "http"; backend = "web";
  timeouts = { http_request = "1s"; };
  limits = { max_body = "1k"; max_request_line = "8k"; max_header_size = "32k"; max_headers = 100; };
  routes = ( { path_prefix = "/none/"; backend = "none"; },
             { path_prefix = "/dead/"; backend = "dead"; },
             { path_prefix = "/slow/"; backend = "slow"; } ); } );
backends = (
  { name = "web"; servers = ( { name = "A"; addr = "$B:8081"; } ); },
  { name = "none"; servers = ( { name = "Z"; addr = "$B:8081"; weight = 0; } ); },
  { name = "dead"; retries = 0; timeouts = { connect = "1s"; };
    servers = ( { name = "D"; addr = "${BE_IPS[5]}:9"; } ); },
  { name = "slow"; timeouts = { server = "1s"; }; servers = ( { name = "S"; addr = "$B:8082"; } ); }
);
EOF
} | proxy_conf "$conf"
proxy_start "$conf" "tcp:$LB_IP:80"

reqs() { wc -l <"$T_DIR/requests.log" 2>/dev/null || echo 0; }

# expect_status DESC STATUS RAW-ARGS...: one raw request, the status wanted.
expect_status() {
    local desc=$1 want=$2 r; shift 2
    r=$(clpy raw "$LB_IP" 80 --timeout 4 "$@")
    t_is "$(j "$r" .status)" "$want" "$desc" "$r"
    LAST=$r
}

H='GET / HTTP/1.1\r\nHost: t\r\n'
expect_status "garbage: 400" 400 --data '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n'
t_is "$(j "$LAST" .closed)" true "garbage: the connection is closed"
expect_status "request line without version: 400" 400 --data 'GET /\r\nHost: t\r\n\r\n'
expect_status "request line over 8k: 414" 414 --data 'GET /LONG HTTP/1.1\r\nHost: t\r\n\r\n' --long-target 10000
expect_status "a 40k header (head over 32k): 431" 431 --data "$H\\r\\n" --repeat-header X-Big:40000
big=""; for i in $(seq 150); do big="${big}X-H$i: v\\r\\n"; done
expect_status "150 headers (over max_headers 100): 431" 431 --data "${H}${big}\\r\\n"
expect_status "Content-Length over max_body (1k): 413" 413 \
    --data 'POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2000\r\n\r\n'
body=$(printf 'a%.0s' $(seq 1100))
expect_status "chunked body over max_body (1k): 413" 413 \
    --data "POST /echo HTTP/1.1\\r\\nHost: t\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n44c\\r\\n$body\\r\\n0\\r\\n\\r\\n"
expect_status "body under max_body passes" 200 --first \
    --data 'POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello'

# 408: an unfinished request head, and a head dribbled one byte every 200 ms.
expect_status "unfinished request head: 408 after http_request (1s)" 408 --data "$H"
e=$(j "$LAST" '.elapsed * 1000 | floor')
if [ "$e" -ge 800 ] && [ "$e" -le 3000 ]; then t_ok "408 came after about 1s ($e ms)"
else t_fail "408 came after about 1s" "elapsed $e ms"; fi
expect_status "slowloris (a byte every 200 ms): 408 by the whole-head timeout" 408 --slow 0.2 --timeout 6 \
    --data 'GET / HTTP/1.1\r\nHost: t\r\nX-A: 123456789012345678901234567890\r\n\r\n'

expect_status "no usable server (weight 0): 503" 503 --data 'GET /none/ HTTP/1.1\r\nHost: t\r\n\r\n'
expect_status "server refuses the connection: 502" 502 --data 'GET /dead/ HTTP/1.1\r\nHost: t\r\n\r\n'
expect_status "server slower than timeouts.server (1s): 504" 504 --first \
    --data 'GET /slow/delay/3000 HTTP/1.1\r\nHost: t\r\n\r\n'
e=$(j "$LAST" '.elapsed * 1000 | floor')
t_le "$e" 2500 "504 came after about 1s, not after the server's 3s (ms)"

# Smuggling: 400, closed, and no request reaches the server.
smuggle() {   # smuggle DESC RAW
    local desc=$1 data=$2 n0 n1 r
    n0=$(reqs)
    r=$(clpy raw "$LB_IP" 80 --timeout 3 --data "$data")
    sleep 0.1
    n1=$(reqs)
    if [[ "/${WANT:-400}/" == */"$(j "$r" .status)"/* ]] && [ "$(j "$r" .closed)" = true ] && [ "$n1" = "$n0" ] \
       && [ "$(j "$r" .responses)" = 1 ]; then
        t_ok "smuggling: $desc -> ${WANT:-400}, closed, not forwarded"
    else
        t_fail "smuggling: $desc -> ${WANT:-400}, closed, not forwarded" "$r" \
            "requests that reached the server: $((n1 - n0))" "$(tail -n $((n1 - n0)) "$T_DIR/requests.log" 2>/dev/null)"
    fi
}
P='POST /echo HTTP/1.1\r\nHost: t\r\n'
smuggle "Content-Length with Transfer-Encoding" \
    "${P}Content-Length: 6\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n0\\r\\n\\r\\nGET /smuggled HTTP/1.1\\r\\nHost: t\\r\\n\\r\\n"
smuggle "Transfer-Encoding before Content-Length" \
    "${P}Transfer-Encoding: chunked\\r\\nContent-Length: 6\\r\\n\\r\\n0\\r\\n\\r\\n"
smuggle "two different Content-Lengths" \
    "${P}Content-Length: 5\\r\\nContent-Length: 6\\r\\n\\r\\nhello!"
smuggle "Content-Length list with different values" "${P}Content-Length: 5, 6\\r\\n\\r\\nhello!"
smuggle "Content-Length with a sign" "${P}Content-Length: +5\\r\\n\\r\\nhello"
smuggle "Transfer-Encoding not ending in chunked" "${P}Transfer-Encoding: chunked, gzip\\r\\n\\r\\n0\\r\\n\\r\\n"
# An unknown coding may be answered 501 (RFC 9112 6.1) as well as 400.
WANT=400/501 smuggle "Transfer-Encoding: xchunked" "${P}Transfer-Encoding: xchunked\\r\\n\\r\\n0\\r\\n\\r\\n"
smuggle "bare LF line ends" 'GET / HTTP/1.1\nHost: t\n\n'
smuggle "a bare LF inside the head" 'GET / HTTP/1.1\r\nHost: t\nX-A: b\r\n\r\n'
smuggle "a bare CR inside a header value" 'GET / HTTP/1.1\r\nHost: t\r\nX-A: b\rc\r\n\r\n'
smuggle "obs-fold (continuation line)" 'GET / HTTP/1.1\r\nHost: t\r\nX-A: b\r\n c\r\n\r\n'
smuggle "NUL in a header value" 'GET / HTTP/1.1\r\nHost: t\r\nX-A: b\x00c\r\n\r\n'
smuggle "space before the colon" 'GET / HTTP/1.1\r\nHost: t\r\nContent-Length : 5\r\n\r\nhello'
smuggle "two Host headers" 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n'
smuggle "HTTP/1.1 without Host" 'GET / HTTP/1.1\r\nX-A: b\r\n\r\n'

# A bad chunk size: the head may already have been forwarded, but the
# proxy answers 400 itself and closes; the server answers nothing.
r=$(clpy raw "$LB_IP" 80 --timeout 3 --data "${P}Transfer-Encoding: chunked\\r\\n\\r\\nzz\\r\\nhello\\r\\n0\\r\\n\\r\\n")
t_is "$(j "$r" .status):$(j "$r" .closed):$(j "$r" '.backend // "-"')" "400:true:-" "bad chunk size: 400 from the proxy, closed" "$r"
r=$(clpy raw "$LB_IP" 80 --timeout 3 --data "${P}Transfer-Encoding: chunked\\r\\n\\r\\n5\\r\\nhelloXX0\\r\\n\\r\\n")
t_is "$(j "$r" .status):$(j "$r" .closed):$(j "$r" '.backend // "-"')" "400:true:-" "chunk not followed by CRLF: 400 from the proxy, closed" "$r"
r=$(clpy raw "$LB_IP" 80 --timeout 3 --data "${P}Transfer-Encoding: chunked\\r\\n\\r\\nffffffffffffffffff\\r\\nhello\\r\\n")
t_is "$(j "$r" .status):$(j "$r" .closed):$(j "$r" '.backend // "-"')" "400:true:-" "overflowing chunk size: 400 from the proxy, closed" "$r"

# The worker goes on serving everyone.
r=$(clpy load "$LB_IP" 80 --n 50 --c 2 --keepalive)
t_is "$(j "$r" .ok)" 50 "after all of the above, normal requests are served" "$r"
t_check "the proxy is still running" kill -0 "$PROXY_PID"
t_like "$(grep -E '\b(400|408|413|414|431)\b' "$PROXY_LOG" | head -50)" "$CL_IP" \
    "refused requests are logged with the client address"

proxy_stop_check
t_done
