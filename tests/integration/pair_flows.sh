#!/bin/bash
# pair_flows.sh - the failover test bed, scenario 3: the connection table
# on the survivor. 30 UDP flows (30 fixed client source ports) to a udp
# frontend on the VIP, round robin over three --udp-echo servers, each get
# a server through box A; box A is killed (link down, SIGKILL of both
# daemons); the same 30 flows (same source ports) keep their server
# through box B, every one of them. Also TCP (mode tcp): 8 clients (8
# source addresses) each make a connection through box A; after the kill
# each returning client reaches its server again through box B (conn_grace).
. "$(dirname "$0")/lib_pair.sh"
pair_need
t0=$(now_ms)
pair_topo_up
pair_conf ap
pair_up
PORTS=61001-61030
SRCS=$(IFS=,; echo "${PAIR_CL_EXTRA[*]}")

r=$(pcl udp "$VIP" 5300 --ports "$PORTS" --map "$T_DIR/udp.json" --timeout 1)
t_diag "30 UDP flows through lbA: $(j "$r" '.servers | to_entries | map("\(.key) \(.value)") | join(", ")')"
t_is "$(j "$r" .answered)" 30 "30 UDP flows answered through lbA" "$r"
t_is "$(j "$r" '.servers | length')" 3 "the flows are spread over U1-U3" "$r"
r2=$(pcl udp "$VIP" 5300 --ports "$PORTS" --check --map "$T_DIR/udp.json" --timeout 1)
t_is "$(j "$r2" .match)" 30 "through lbA each flow keeps its server (a second datagram)" "$r2"

r=$(pcl tcp "$VIP" 81 --srcs "$SRCS" --map "$T_DIR/tcp.json" --timeout 2)
t_diag "8 TCP clients through lbA: $(j "$r" '.servers | to_entries | map("\(.key) \(.value)") | join(", ")')"
t_is "$(j "$r" .answered)" 8 "8 TCP clients served through lbA" "$r"
t_ge "$(j "$r" '.servers | length')" 3 "the TCP clients are spread over T1-T3" "$r"

sleep 0.3
pj=$(peer_json B)
t_diag "lbB knows of lbA's connections: $(j "$pj" .peer_conns_open) open, $(j "$pj" .peer_conns_recent) recent (received conns events: $(j "$pj" .received.conns))"
t_ge "$(j "$pj" .peer_conns_open)" 30 "lbB has lbA's 30 UDP flows as open peer connections" "$pj"
t_ge "$(j "$pj" .peer_conns_recent)" 8 "lbB has lbA's 8 closed TCP connections as recent ones" "$pj"

pair_kill A
took=$(wait_until 5 has_vip B "$VIP")
t_diag "lbA killed -> VIP on lbB after $took ms"
r=$(pcl udp "$VIP" 5300 --ports "$PORTS" --check --map "$T_DIR/udp.json" --timeout 1)
t_diag "the 30 flows through lbB: $(j "$r" .match) on their server, $(j "$r" .mismatch) elsewhere, $(j "$r" .errors) unanswered"
t_is "$(j "$r" .answered)" 30 "all 30 flows answered through lbB" "$r"
t_is "$(j "$r" .match)" 30 "every UDP flow keeps its server on the survivor" "$r"
r=$(pcl tcp "$VIP" 81 --srcs "$SRCS" --check --map "$T_DIR/tcp.json" --timeout 2)
t_diag "the 8 returning TCP clients through lbB: $(j "$r" .match) on their server, $(j "$r" .mismatch) elsewhere"
t_is "$(j "$r" .match)" 8 "every returning TCP client keeps its server on the survivor" "$r"

# New flows on lbB are balanced (not all pinned to one server).
r=$(pcl udp "$VIP" 5300 --ports 61101-61109 --timeout 1)
t_is "$(j "$r" '.servers | length')" 3 "new UDP flows on lbB are balanced over U1-U3" "$r"
t_diag "runtime $(( ($(now_ms) - t0) / 1000 )) s"
pair_done
