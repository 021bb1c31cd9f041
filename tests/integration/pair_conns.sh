#!/bin/bash
# pair_conns.sh - in active-active, leastconn and maxconn count both
# boxes' connections (the peer's come over the sync channel): one tcp
# frontend on both VIPs, backend over T1 and T2 with leastconn and
# maxconn 1 each. A connection held through lbA takes one server; a new
# connection through lbB goes to the other one (leastconn sees lbA's);
# with both held, a third through lbB finds every server full (maxconn of
# the pair) and is closed; once lbA's connection ends, lbB takes clients
# on that server again.
. "$(dirname "$0")/lib_pair.sh"
pair_need
pair_topo_up
pair_conf aa
for box in A B; do
    sed -i -e "s|^frontends = ( |frontends = ( { name = \"capped\"; bind = [ \"$VIP:83\", \"$VIP2:83\" ]; mode = \"tcp\"; backend = \"cap\"; },\n              |" \
        -e "s|^backends = (|backends = (\n  { name = \"cap\"; algorithm = \"leastconn\";\n    servers = ( { name = \"T1\"; addr = \"${PAIR_SRV[0]}:8081\"; maxconn = 1; }, { name = \"T2\"; addr = \"${PAIR_SRV[1]}:8081\"; maxconn = 1; } ); },|" \
        "$T_DIR/tandem-$box.conf"
    out=$("$PROXY_BIN" -t -c "$T_DIR/tandem-$box.conf" 2>&1) || t_bail "box $box's file: $out"
done
pair_up
hold=$(( $(pair_scale 4) ))
settle=$(proxy_is_asan && echo 1 || echo 0.4)    # > rate_limit_interval (100 ms), when peer counts refresh

bg_start "$NS_CL" "$T_DIR/hold-a.json" "$PY" "$T_LIBDIR/pair_hold.py" "$VIP" 83 1 "$hold"
ha=$BG_PID
wait_until 5 test -s "$T_DIR/hold-a.json" >/dev/null
first=$(j "$(head -1 "$T_DIR/hold-a.json")" '.[0]')
t_like "$first" "^T[12]$" "a connection held through lbA is on $first"
sleep "$settle"
other=T1; [ "$first" = T1 ] && other=T2
bg_start "$NS_CL" "$T_DIR/hold-b.json" "$PY" "$T_LIBDIR/pair_hold.py" "$VIP2" 83 1 "$hold"
hb=$BG_PID
wait_until 5 test -s "$T_DIR/hold-b.json" >/dev/null
second=$(j "$(head -1 "$T_DIR/hold-b.json")" '.[0]')
t_is "$second" "$other" "a new connection through lbB goes to the other server (leastconn counts lbA's)"
sleep "$settle"
third=$(in_cl "$PY" "$T_LIBDIR/pair_hold.py" "$VIP2" 83 1 0 | head -1)
t_is "$(j "$third" '.[0]')" "" "a third connection through lbB is closed: both servers at maxconn 1 for the pair"
t_like "$(cat "$T_DIR/proxy-B.log")" "all servers at maxconn" "lbB logs why"
t_like "$(pctl B show servers cap)" "T[12]" "show servers lists the capped servers"
wait "$ha" 2>/dev/null
sleep "$settle"
fourth=$(in_cl "$PY" "$T_LIBDIR/pair_hold.py" "$VIP2" 83 1 0 | head -1)
t_is "$(j "$fourth" '.[0]')" "$first" "once lbA's connection ended, lbB gives its server to a new client"
wait "$hb" 2>/dev/null
pair_done
