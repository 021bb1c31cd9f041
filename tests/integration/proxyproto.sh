#!/bin/bash
# proxyproto.sh - the PROXY protocol. Accepted (v1, v2, IPv4 and IPv6) on a
# frontend with accept_proxy: the header's source becomes the client
# address (X-Forwarded-For); a missing or malformed header is refused and
# nothing reaches a server. Sent to servers (send_proxy v1/v2) in tcp and
# http mode; with both, the original client travels all the way.
. "$(dirname "$0")/lib.sh"
t_need_root; t_need_proxy
topo_up

B=${BE_IPS[0]}
backend_multi be A@$B:8081 -- --log "$T_DIR/requests.log"
backend_multi pp PPH@$B:8082 -- --proxy-protocol
backend_multi echo E1@$B:7001 E2@$B:7002 -- --tcp-echo --proxy-protocol

conf=$T_DIR/tandem.conf
{
    conf_global 2
    cat <<EOF
frontends = (
  { name = "pp"; bind = "$LB_IP:80"; mode = "http"; backend = "web"; accept_proxy = true; },
  { name = "tcpv1"; bind = "$LB_IP:7001"; mode = "tcp"; backend = "echo1"; },
  { name = "tcpv2"; bind = "$LB_IP:7002"; mode = "tcp"; backend = "echo2"; accept_proxy = true; },
  { name = "httpsend"; bind = "$LB_IP:82"; mode = "http"; backend = "pph"; }
);
backends = (
  { name = "web"; servers = ( { name = "A"; addr = "$B:8081"; } ); },
  { name = "echo1"; servers = ( { name = "E1"; addr = "$B:7001"; send_proxy = "v1"; } ); },
  { name = "echo2"; servers = ( { name = "E2"; addr = "$B:7002"; send_proxy = "v2"; } ); },
  { name = "pph"; servers = ( { name = "PPH"; addr = "$B:8082"; send_proxy = "v1"; } ); }
);
EOF
} | proxy_conf "$conf"
proxy_start "$conf" "tcp:$LB_IP:80" "tcp:$LB_IP:7001" "tcp:$LB_IP:7002" "tcp:$LB_IP:82"

xff() { printf '%s' "$1" | jq -r '[.body.headers[]? | select(.[0] | ascii_downcase == "x-forwarded-for") | .[1]] | join(", ")'; }
reqs() { wc -l <"$T_DIR/requests.log" 2>/dev/null || echo 0; }

r=$(clpy proxy "$LB_IP" 80 --version 1 --src-ip 198.51.100.200)
t_is "$(j "$r" .status):$(xff "$r")" "200:198.51.100.200" "accepted PROXY v1 (TCP4): its source is the client address" "$r"
r=$(clpy proxy "$LB_IP" 80 --version 2 --src-ip 198.51.100.201)
t_is "$(j "$r" .status):$(xff "$r")" "200:198.51.100.201" "accepted PROXY v2 (TCP4)" "$r"
r=$(clpy proxy "$LB_IP" 80 --version 1 --src-ip 2001:db8:1::200 --dst-ip 2001:db8:1::10)
t_is "$(j "$r" .status):$(xff "$r")" "200:2001:db8:1::200" "accepted PROXY v1 (TCP6)" "$r"
r=$(clpy proxy "$LB_IP" 80 --version 2 --src-ip 2001:db8:1::201 --dst-ip 2001:db8:1::10)
t_is "$(j "$r" .status):$(xff "$r")" "200:2001:db8:1::201" "accepted PROXY v2 (TCP6)" "$r"
r=$(clpy proxy "$LB_IP" 80 --version 2 --cmd local)
t_is "$(j "$r" .status):$(xff "$r")" "200:$CL_IP" "PROXY v2 LOCAL: the real peer address is kept" "$r"
r=$(clpy proxy "$LB_IP" 80 --version 1 --cmd local)
t_is "$(j "$r" .status):$(xff "$r")" "200:$CL_IP" "PROXY v1 UNKNOWN: the real peer address is kept" "$r"

n0=$(reqs)
r=$(clpy proxy "$LB_IP" 80 --version 0)
t_is "$(j "$r" .status)" 0 "no PROXY header on an accept_proxy frontend: refused (no HTTP answer)" "$r"
r=$(clpy proxy "$LB_IP" 80 --garbage 'PROXY TCP4 198.51.100.300 198.51.100.10 1 80\r\n')
t_is "$(j "$r" .status)" 0 "malformed PROXY v1 header (bad address): refused" "$r"
r=$(clpy proxy "$LB_IP" 80 --garbage 'PROXY TCP4 198.51.100.20 198.51.100.10 99999 80\r\n')
t_is "$(j "$r" .status)" 0 "malformed PROXY v1 header (bad port): refused" "$r"
r=$(clpy proxy "$LB_IP" 80 --garbage '\r\n\r\n\x00\r\nQUIT\n\x31\x11\x00\x0c\xc6\x33\x64\x14\xc6\x33\x64\x0a\x00\x01\x00\x50')
t_is "$(j "$r" .status)" 0 "PROXY v2 header with version 3: refused" "$r"
sleep 0.1
t_is "$(( $(reqs) - n0 ))" 0 "refused PROXY connections never reach a server"

# Sending: tcp mode, v1 with the real client; v2 with the client from an
# accepted header.
r=$(clpy tcp "$LB_IP" 7001 --bytes 1000 --halfclose)
t_like "$(j "$r" .banner)" "^E1 proxy=$CL_IP:[0-9]+ v1\$" "tcp mode sends PROXY v1 with the client address" "$r"
t_is "$(j "$r" .intact)" true "the stream after the sent header is intact" "$r"
r=$(in_cl "$PY" - "$LB_IP" <<'EOF'
import socket, struct, sys, ipaddress
s = socket.create_connection((sys.argv[1], 7002), timeout=5)
body = ipaddress.IPv4Address("198.51.100.222").packed + ipaddress.IPv4Address("198.51.100.10").packed + struct.pack("!HH", 4242, 7002)
s.sendall(b"\r\n\r\n\x00\r\nQUIT\n" + struct.pack("!BBH", 0x21, 0x11, len(body)) + body)
print(s.makefile("rb").readline().decode().strip())
EOF
)
t_is "$r" "E2 proxy=198.51.100.222:4242 v2" "tcp mode: the client from an accepted PROXY header is sent on as v2"

h=$(cl_curl "http://$LB_IP:82/proxyinfo")
t_is "$(j "$h" .src):$(j "$h" .version)" "$CL_IP:1" "http mode sends PROXY v1 to the server with the client address" "$h"

proxy_stop_check
t_done
