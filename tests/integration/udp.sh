#!/bin/bash
# udp.sh - mode udp: datagrams echoed back to the client through the
# proxy, a flow (client address) sticks to one server and one proxy-side
# socket, flows are spread over servers, an idle flow expires after
# udp.flow_timeout and the next datagram opens a new flow.
. "$(dirname "$0")/lib.sh"
t_need_root; t_need_proxy
topo_up

B=${BE_IPS[0]}
backend_multi udp U1@$B:5301 U2@$B:5302 -- --udp-echo

conf=$T_DIR/tandem.conf
{
    conf_global 2
    cat <<EOF
frontends = ( { name = "dns"; bind = "$LB_IP:5300"; mode = "udp"; backend = "udp";
                udp = { flow_timeout = "1s"; }; } );
backends = ( { name = "udp"; algorithm = "roundrobin";
               servers = ( { name = "U1"; addr = "$B:5301"; }, { name = "U2"; addr = "$B:5302"; } ); } );
EOF
} | proxy_conf "$conf"
proxy_start "$conf" "udp:$LB_IP:5300"

r=$(clpy udp "$LB_IP" 5300 --flows 1 --count 5 --gap 0.1 --timeout 2)
t_is "$(j "$r" '[.flows[0].replies[].echo_ok] | all')" true "5 datagrams of one flow are all echoed back" "$r"
t_is "$(j "$r" '[.flows[0].replies[].backend] | unique | length')" 1 "one flow sticks to one server" "$r"
t_is "$(j "$r" '[.flows[0].replies[].seen] | unique | length')" 1 "one flow uses one proxy-side socket" "$r"
t_like "$(j "$r" '.flows[0].replies[0].seen')" "^$LB_BACK_IP:" "the server sees the proxy, not the client" "$r"

r=$(clpy udp "$LB_IP" 5300 --flows 8 --count 2 --timeout 2)
t_is "$(j "$r" '[.flows[].replies[].echo_ok] | all')" true "8 flows, all datagrams echoed" "$r"
t_is "$(j "$r" '[.flows[] | ([.replies[].backend] | unique | length)] | max')" 1 "each of 8 flows sticks to one server" "$r"
t_is "$(j "$r" '[.flows[].replies[0].backend] | unique | sort | join(" ")')" "U1 U2" "8 flows are spread over both servers" "$r"

# Idle timeout (1s): 3 datagrams 0.3s apart stay in one flow; after 2.5s of
# silence the next datagram opens a new flow (new proxy-side socket).
r=$(clpy udp "$LB_IP" 5300 --flows 1 --count 4 --gap 0.3 --sleep-before-last 2.2 --timeout 2)
f='.flows[0].replies'
t_is "$(j "$r" "[$f[0:3][].seen] | unique | length")" 1 "datagrams 0.3s apart stay in one flow (timeout 1s)" "$r"
t_is "$(j "$r" "$f[3].echo_ok")" true "a datagram after the flow expired is still answered" "$r"
t_is "$(j "$r" "$f[3].seen != $f[0].seen")" true "after 2.5s idle the flow expired: a new proxy-side socket" "$r"

# A large datagram.
big=$(in_cl "$PY" - "$LB_IP" <<'EOF'
import socket, sys
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(2)
msg = bytes(range(256)) * 32
u.sendto(msg, (sys.argv[1], 5300))
d, _ = u.recvfrom(65536)
print("ok" if d.split(b"|", 2)[2] == msg else "bad")
EOF
)
t_is "$big" ok "an 8 kB datagram is relayed intact both ways"

proxy_stop_check
t_done
