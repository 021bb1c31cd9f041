#!/bin/bash
# headers.sh - what the server sees: X-Forwarded-For (added, or appended to
# the client's), X-Forwarded-Proto, Host and the request target unchanged,
# hop-by-hop headers (Connection and the headers it names, Keep-Alive,
# Proxy-Connection, TE) removed per RFC 9112; add_xff = false adds none.
. "$(dirname "$0")/lib.sh"
t_need_root; t_need_proxy
topo_up

B=${BE_IPS[0]}
backend_multi be A@$B:8081

conf=$T_DIR/tandem.conf
{
    conf_global 2
    cat <<EOF
frontends = ( { name = "www"; bind = "$LB_IP:80"; mode = "http"; backend = "web"; },
              { name = "noxff"; bind = "$LB_IP:81"; mode = "http"; backend = "web"; add_xff = false; } );
backends = ( { name = "web"; servers = ( { name = "A"; addr = "$B:8081"; } ); } );
EOF
} | proxy_conf "$conf"
proxy_start "$conf" "tcp:$LB_IP:80" "tcp:$LB_IP:81"

# hdr JSON NAME: the server-side value of a request header (duplicates
# joined with ", "), or "<none>".
hdr() {
    printf '%s' "$1" | jq -r --arg n "$2" \
        '[.headers[] | select(.[0] | ascii_downcase == ($n | ascii_downcase)) | .[1]]
         | if length == 0 then "<none>" else join(", ") end'
}

h=$(cl_curl "http://$LB_IP/headers")
t_is "$(hdr "$h" X-Forwarded-For)" "$CL_IP" "X-Forwarded-For is the client address" "$h"
t_is "$(hdr "$h" X-Forwarded-Proto)" "http" "X-Forwarded-Proto: http" "$h"
t_is "$(hdr "$h" Host)" "$LB_IP" "Host reaches the server unchanged" "$h"

h=$(cl_curl -H "X-Forwarded-For: 198.51.100.77" "http://$LB_IP/headers")
t_is "$(hdr "$h" X-Forwarded-For)" "198.51.100.77, $CL_IP" "an existing X-Forwarded-For gets the client appended" "$h"

h=$(cl_curl -H "X-Forwarded-Proto: https" "http://$LB_IP/headers")
t_is "$(hdr "$h" X-Forwarded-Proto)" "http" "a client's X-Forwarded-Proto is replaced, not trusted" "$h"

h=$(cl_curl "http://$LB_IP/headers?a=1&b=%20x&c=/d")
t_is "$(j "$h" .target)" "/headers?a=1&b=%20x&c=/d" "the request target reaches the server byte for byte" "$h"

h=$(cl_curl -H "Connection: keep-alive, X-Secret" -H "X-Secret: 1" -H "Keep-Alive: timeout=5" \
    -H "Proxy-Connection: keep-alive" -H "TE: trailers" -H "X-End-To-End: yes" "http://$LB_IP/headers")
t_is "$(hdr "$h" X-Secret)" "<none>" "a header named in Connection is removed" "$h"
t_is "$(hdr "$h" Keep-Alive)" "<none>" "Keep-Alive is removed" "$h"
t_is "$(hdr "$h" Proxy-Connection)" "<none>" "Proxy-Connection is removed" "$h"
t_is "$(hdr "$h" TE)" "<none>" "TE is removed" "$h"
t_is "$(hdr "$h" X-End-To-End)" "yes" "an end-to-end header is kept" "$h"
t_is "$(hdr "$h" Connection | grep -ci 'x-secret')" 0 "the client's Connection header is not forwarded as is" "$h"

h=$(cl_curl "http://$LB_IP:81/headers")
t_is "$(hdr "$h" X-Forwarded-For)" "<none>" "add_xff = false: no X-Forwarded-For" "$h"

# A response's hop-by-hop headers do not reach the client either: the
# server's Connection: close must not close the client's connection.
got=$(in_cl curl -sS --max-time 10 -o /dev/null -w '%{http_code} %{num_connects}\n' "http://$LB_IP/close" \
      --next -o /dev/null -w '%{http_code} %{num_connects}\n' "http://$LB_IP/" | tr '\n' ' ')
t_is "$got" "200 1 200 0 " "a server's Connection: close does not close the client connection"

proxy_stop_check
t_done
