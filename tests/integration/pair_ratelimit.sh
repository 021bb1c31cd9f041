#!/bin/bash
# pair_ratelimit.sh - rate limits add up across the pair: active-active,
# one frontend bound to both VIPs on both boxes with a limit of 10
# requests per hour per client IP (token bucket, burst 10). 6 requests
# through VIP1 (lbA) and then 6 through VIP2 (lbB): lbB knows lbA's 6 from
# the sync channel and lets only 4 through; lbA then knows lbB's and
# refuses the client too. Without the exchange each box would allow 10.
. "$(dirname "$0")/lib_pair.sh"
pair_need
pair_topo_up
pair_conf aa
for box in A B; do   # one more frontend: both VIPs, one limit (same name on both boxes)
    sed -i "s|^frontends = ( |frontends = ( { name = \"limited\"; bind = [ \"$VIP:82\", \"$VIP2:82\" ]; mode = \"http\"; backend = \"app\";\n                rate_limit = { name = \"pair-per-ip\"; key = \"ip\"; algorithm = \"token_bucket\"; rate = 10; per = \"1h\"; burst = 10; }; },\n              |" "$T_DIR/tandem-$box.conf"
    out=$("$PROXY_BIN" -t -c "$T_DIR/tandem-$box.conf" 2>&1) || t_bail "box $box's file: $out"
done
pair_up

codes() {   # codes ADDR N: the status of N requests, one per connection
    local i
    for i in $(seq "$2"); do in_cl curl -s -o /dev/null --max-time 5 -w '%{http_code} ' "http://$1:82/"; done
}
count() { tr ' ' '\n' <<<"$1" | grep -c "^$2$"; }

a=$(codes "$VIP" 6)
t_is "$(count "$a" 200)" 6 "6 requests through VIP1 (lbA): all allowed" "$a"
sleep "$(proxy_is_asan && echo 1 || echo 0.4)"   # > rate_limit_interval (100 ms) + transit
b=$(codes "$VIP2" 6)
t_is "$(count "$b" 200)/$(count "$b" 429)" "4/2" "then 6 through VIP2 (lbB): 4 allowed, 2 refused: the pair holds 10" "$b"
sleep "$(proxy_is_asan && echo 1 || echo 0.4)"
a2=$(codes "$VIP" 2)
t_is "$(count "$a2" 429)" 2 "lbA refuses the client now too (it knows lbB's 4)" "$a2"
t_ge "$(peer_field A .sent.rate_limit)" 1 "lbA reported its counts to lbB ($(peer_field A .sent.rate_limit) reports)"
t_ge "$(peer_field B .received.rate_limit)" 1 "lbB merged them"
# Another client is not affected.
o=$(in_cl curl -s -o /dev/null --interface "${PAIR_CL_EXTRA[0]}" -w '%{http_code}' "http://$VIP2:82/")
t_is "$o" 200 "another client IP still gets through"
pair_done
