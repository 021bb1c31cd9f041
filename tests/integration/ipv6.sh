#!/bin/bash
# ipv6.sh - IPv6 everywhere: an IPv6 client on an IPv6 bind, IPv6 and IPv4
# servers mixed in one backend, X-Forwarded-For with an IPv6 client, source
# hashing of IPv6 clients, tcp mode over IPv6.
. "$(dirname "$0")/lib.sh"
t_need_root; t_need_proxy
topo_up

B=${BE_IPS[0]}
B6=${BE_IP6S[0]}
backend_multi be "V6@[$B6]:8081" "V4@$B:8082"
backend_multi echo "E6@[$B6]:7001" -- --tcp-echo

conf=$T_DIR/tandem.conf
{
    conf_global 2
    cat <<EOF
frontends = (
  { name = "www"; bind = [ "[$LB_IP6]:80", "$LB_IP:80" ]; mode = "http"; backend = "web"; },
  { name = "src"; bind = "[$LB_IP6]:81"; mode = "http"; backend = "src"; },
  { name = "tcp6"; bind = "[$LB_IP6]:7000"; mode = "tcp"; backend = "echo"; }
);
backends = (
  { name = "web"; algorithm = "roundrobin";
    servers = ( { name = "V6"; addr = "[$B6]:8081"; }, { name = "V4"; addr = "$B:8082"; } ); },
  { name = "src"; algorithm = "source";
    servers = ( { name = "V6"; addr = "[$B6]:8081"; }, { name = "V4"; addr = "$B:8082"; } ); },
  { name = "echo"; servers = ( { name = "E6"; addr = "[$B6]:7001"; } ); }
);
EOF
} | proxy_conf "$conf"
proxy_start "$conf" "tcp:$LB_IP6:80" "tcp:$LB_IP:80" "tcp:$LB_IP6:81" "tcp:$LB_IP6:7000"

r=$(clpy load "$LB_IP6" 80 --n 20 --c 1 --keepalive)
t_is "$(j "$r" .ok):$(j "$r" '.backends.V6 // 0'):$(j "$r" '.backends.V4 // 0')" "20:10:10" \
    "IPv6 client: 20 requests over an IPv6 and an IPv4 server" "$r"
r=$(clpy load "$LB_IP" 80 --n 20 --c 1 --keepalive)
t_is "$(j "$r" .ok):$(j "$r" '.backends.V6 // 0')" "20:10" "IPv4 client on the same frontend reaches the IPv6 server too" "$r"

h=$(cl_curl "http://[$LB_IP6]/headers")
xff=$(printf '%s' "$h" | jq -r '[.headers[] | select(.[0] | ascii_downcase == "x-forwarded-for") | .[1]] | join(", ")')
t_is "$xff" "$CL_IP6" "X-Forwarded-For carries the IPv6 client address" "$h"

r=$(clpy load "$LB_IP6" 81 --n 10 --c 1)
t_is "$(j "$r" '.backends | length'):$(j "$r" .ok)" "1:10" "source hashing: an IPv6 client sticks to one server" "$r"

r=$(clpy tcp "$LB_IP6" 7000 --bytes 1000000 --halfclose)
t_is "$(j "$r" .banner):$(j "$r" .intact):$(j "$r" .trailer)" "E6:true:EOF E6" "tcp mode over IPv6: 1 MB echoed intact" "$r"

proxy_stop_check
t_done
