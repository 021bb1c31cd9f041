#!/bin/bash
# algorithms.sh - what each balancing algorithm looks like from outside:
# exact round-robin rotation, smooth WRR 5:3:2 interleaving, weight 0,
# leastconn and weighted leastconn with long requests, leastconn and
# leasttime avoiding a slow server, source-IP stickiness across worker
# threads, consistent hashing on a header (and the Maglev remapping bound on
# removing a server), random and p2c spread.
. "$(dirname "$0")/lib.sh"
t_need_root; t_need_proxy
topo_up

B=${BE_IPS[0]}
S=${BE_IPS[1]}
# fast servers A B C D on $B:8081-8084; Z (weight 0) on 8085; a slow server
# (every answer 300 ms late) in its own process on $S:8081.
backend_multi fast A@$B:8081 B@$B:8082 C@$B:8083 D@$B:8084 Z@$B:8085
backend_multi slow SLOW@$S:8081 -- --delay-all 300

srv() { printf '{ name = "%s"; addr = "%s"; weight = %s; }' "$1" "$2" "${3:-1}"; }
ABC="$(srv A $B:8081), $(srv B $B:8082), $(srv C $B:8083)"
conf=$T_DIR/tandem.conf
write_conf() {   # write_conf HASH-SERVERS
    {
        conf_global 2
        cat <<EOF
frontends = (
  { name = "rr";    bind = "$LB_IP:8001"; mode = "http"; backend = "rr"; },
  { name = "wrr";   bind = "$LB_IP:8002"; mode = "http"; backend = "wrr"; },
  { name = "lc";    bind = "$LB_IP:8003"; mode = "http"; backend = "lc"; },
  { name = "src";   bind = "$LB_IP:8004"; mode = "http"; backend = "src"; },
  { name = "hash";  bind = "$LB_IP:8005"; mode = "http"; backend = "hash"; },
  { name = "rnd";   bind = "$LB_IP:8006"; mode = "http"; backend = "rnd"; },
  { name = "p2c";   bind = "$LB_IP:8007"; mode = "http"; backend = "p2c"; },
  { name = "wlc";   bind = "$LB_IP:8008"; mode = "http"; backend = "wlc"; },
  { name = "lt";    bind = "$LB_IP:8009"; mode = "http"; backend = "lt"; },
  { name = "w0";    bind = "$LB_IP:8010"; mode = "http"; backend = "w0"; },
  { name = "lcslow"; bind = "$LB_IP:8011"; mode = "http"; backend = "lcslow"; },
  { name = "uri";   bind = "$LB_IP:8012"; mode = "http"; backend = "uri"; }
);
backends = (
  { name = "rr";  algorithm = "roundrobin"; servers = ( $ABC ); },
  { name = "wrr"; algorithm = "wrr"; servers = ( $(srv A $B:8081 5), $(srv B $B:8082 3), $(srv C $B:8083 2) ); },
  { name = "lc";  algorithm = "leastconn"; servers = ( $ABC ); },
  { name = "src"; algorithm = "source"; servers = ( $ABC ); },
  { name = "hash"; algorithm = "hash"; hash_key = "header:X-User"; servers = ( $1 ); },
  { name = "rnd"; algorithm = "random"; servers = ( $ABC ); },
  { name = "p2c"; algorithm = "p2c"; servers = ( $ABC ); },
  { name = "wlc"; algorithm = "weighted_leastconn"; servers = ( $(srv A $B:8081 3), $(srv B $B:8082 1) ); },
  { name = "lt";  algorithm = "leasttime"; servers = ( $(srv SLOW $S:8081), $(srv B $B:8082), $(srv C $B:8083) ); },
  { name = "w0";  algorithm = "roundrobin"; servers = ( $(srv A $B:8081), $(srv B $B:8082), $(srv Z $B:8085 0) ); },
  { name = "lcslow"; algorithm = "leastconn"; servers = ( $(srv SLOW $S:8081), $(srv B $B:8082), $(srv C $B:8083) ); },
  { name = "uri"; algorithm = "hash"; hash_key = "uri"; servers = ( $ABC ); }
);
EOF
    } | proxy_conf "$conf"
}
HASH4="$(srv A $B:8081), $(srv B $B:8082), $(srv C $B:8083), $(srv D $B:8084)"
HASH3="$(srv A $B:8081), $(srv B $B:8082), $(srv C $B:8083)"
write_conf "$HASH4"
proxy_start "$conf" "tcp:$LB_IP:8001" "tcp:$LB_IP:8012"

# seq_of PORT N [load args]: the backends of N requests on one keep-alive
# connection, space-separated.
seq_of() {
    local port=$1 n=$2; shift 2
    clpy load "$LB_IP" "$port" --n "$n" --c 1 --keepalive --seq "$@" | jq -r '.seq | join(" ")'
}
all_between() {   # all_between LO HI N...
    local lo=$1 hi=$2 x; shift 2
    for x in "$@"; do [ "$x" -ge "$lo" ] && [ "$x" -le "$hi" ] || return 1; done
}

# --- roundrobin: exact rotation on one connection
s=$(seq_of 8001 12)
first3=$(echo "$s" | cut -d' ' -f1-3)
want="$first3 $first3 $first3 $first3"
if [ "$(printf '%s\n' $first3 | sort -u | wc -l)" = 3 ] && [ "$s" = "$want" ]; then
    t_ok "roundrobin: exact rotation over A B C ($s)"
else
    t_fail "roundrobin: exact rotation over A B C" "got: $s"
fi
# new connection per request, across two worker threads: still even
r=$(clpy load "$LB_IP" 8001 --n 30 --c 1)
ca=$(j "$r" '.backends.A // 0'); cb=$(j "$r" '.backends.B // 0'); cc=$(j "$r" '.backends.C // 0')
if [ "$(j "$r" .ok)" = 30 ] && all_between 8 12 "$ca" "$cb" "$cc"; then
    t_ok "roundrobin: 30 new connections spread evenly over 2 threads (A=$ca B=$cb C=$cc)"
else
    t_fail "roundrobin: 30 new connections spread evenly (8..12 each)" "$r"
fi

# --- smooth WRR 5:3:2: every window of 10 consecutive picks is 5/3/2, never
# more than 2 of the same in a row (nginx's smooth WRR: A B A C A B A C B A ...)
s=$(seq_of 8002 30)
wrr_check=$(printf '%s\n' $s | awk '
    { p[NR] = $1 }
    END {
        if (NR != 30) { print "only " NR " picks"; exit }
        for (i = 1; i <= 21; i++) {
            a = b = c = 0
            for (k = i; k < i + 10; k++) { if (p[k] == "A") a++; else if (p[k] == "B") b++; else if (p[k] == "C") c++ }
            if (a != 5 || b != 3 || c != 2) { print "window at " i ": A=" a " B=" b " C=" c; exit }
        }
        run = 1
        for (i = 2; i <= 30; i++) { run = (p[i] == p[i-1]) ? run + 1 : 1; if (run > 2) { print "run of " run " " p[i] " at " i; exit } }
        print "ok"
    }')
t_is "$wrr_check" ok "wrr 5:3:2: each 10 consecutive picks hold 5 A, 3 B, 2 C, interleaved" "sequence: $s"

# --- weight 0: no traffic
r=$(clpy load "$LB_IP" 8010 --n 20 --c 1 --keepalive)
t_is "$(j "$r" '.backends.Z // 0'):$(j "$r" .ok)" "0:20" "weight 0: the server gets no request" "$r"

# --- leastconn: 9 concurrent long requests over 3 servers -> 3 each
r=$(clpy load "$LB_IP" 8003 --n 9 --c 9 --path /delay/1500 --timeout 10)
# (3/3/3 when every pick sees the previous one's count; two worker threads
# picking at the same instant may make it 4/3/2)
la=$(j "$r" '.backends.A // 0'); lb=$(j "$r" '.backends.B // 0'); lc=$(j "$r" '.backends.C // 0')
if [ "$(j "$r" .ok)" = 9 ] && all_between 2 4 "$la" "$lb" "$lc"; then
    t_ok "leastconn: 9 concurrent long requests are spread $la/$lb/$lc"
else
    t_fail "leastconn: 9 concurrent long requests are spread evenly (2..4 each)" "$r"
fi

# --- leastconn: a slow server gets far less than its third
r=$(clpy load "$LB_IP" 8011 --n 90 --c 6 --keepalive)
slow=$(j "$r" '.backends.SLOW // 0')
t_is "$(j "$r" .ok)" 90 "leastconn with a slow server: all 90 requests succeed" "$r"
t_le "$slow" 12 "leastconn: the slow server gets few of 90 concurrent requests (round robin: 30)" "$r"

# --- weighted leastconn 3:1: 8 concurrent long requests -> about 6 and 2
r=$(clpy load "$LB_IP" 8008 --n 8 --c 8 --path /delay/1500 --timeout 10)
wa=$(j "$r" '.backends.A // 0')
if [ "$wa" -ge 5 ] && [ "$wa" -le 7 ] && [ "$(j "$r" .ok)" = 8 ]; then
    t_ok "weighted_leastconn 3:1: $wa of 8 concurrent long requests on the weight-3 server"
else
    t_fail "weighted_leastconn 3:1: 5..7 of 8 concurrent long requests on the weight-3 server" "$r"
fi

# --- leasttime: sequential requests learn that SLOW is slow
r=$(clpy load "$LB_IP" 8009 --n 40 --c 1 --keepalive --timeout 10)
slow=$(j "$r" '.backends.SLOW // 0')
t_le "$slow" 6 "leasttime: the slow server gets few of 40 sequential requests (round robin: 13)" "$r"

# --- source: every client IP sticks to one server, across new connections
# and both worker threads; the 8 client IPs use more than one server.
map=""; sticky_ok=1; diag=""
for ip in "${CL_EXTRA_IPS[@]}"; do
    r=$(clpy load "$LB_IP" 8004 --n 6 --c 1 --src "$ip")
    nb=$(j "$r" '.backends | length'); b=$(j "$r" '.backends | keys | join(",")')
    [ "$nb" = 1 ] && [ "$(j "$r" .ok)" = 6 ] || { sticky_ok=0; diag="$diag $ip:$(printf '%s' "$r" | jq -c .backends)"; }
    map="$map $ip=$b"
done
if [ $sticky_ok = 1 ]; then t_ok "source: each of 8 client IPs always reaches the same server"
else t_fail "source: each of 8 client IPs always reaches the same server" "$diag"; fi
used=$(printf '%s\n' $map | cut -d= -f2 | sort -u | wc -l)
t_ge "$used" 2 "source: 8 client IPs are spread over several servers" "$map"

# --- consistent hash on a header
# hash_users: prints "user=backend" for u1..u40 (one keep-alive connection)
hash_users() {
    local args=() i
    for i in $(seq 1 40); do
        [ $i -gt 1 ] && args+=(--next)
        args+=(-o /dev/null -w "u$i=%header{x-backend}\n" -H "X-User: u$i" "http://$LB_IP:8005/")
    done
    in_cl curl -sS --max-time 20 "${args[@]}"
}
m1=$(hash_users); m1b=$(hash_users)
t_is "$(echo "$m1" | grep -c '=[A-D]$')" 40 "hash: every request answered" "$m1"
t_is "$m1b" "$m1" "hash on X-User: the same user always reaches the same server"
used=$(echo "$m1" | cut -d= -f2 | sort -u | wc -l)
t_ge "$used" 3 "hash: 40 users are spread over at least 3 of 4 servers" "$(echo "$m1" | cut -d= -f2 | sort | uniq -c)"
# remove D and reload: users of A/B/C keep their server; D's users move
write_conf "$HASH3"
proxy_reload
sleep 1
m2=$(hash_users)
moved=0; kept_total=0; lost=0
while IFS== read -r u b; do
    nb=$(echo "$m2" | grep "^$u=" | cut -d= -f2)
    [ "$nb" = D ] || [ -z "$nb" ] && lost=$((lost + 1))
    if [ "$b" != D ]; then kept_total=$((kept_total + 1)); [ "$nb" != "$b" ] && moved=$((moved + 1)); fi
done <<<"$m1"
t_is "$lost" 0 "hash: after removing D (reload) no user reaches D" "$m2"
t_le "$moved" $((kept_total / 10)) "hash: of $kept_total users not on D, at most 10% move after D is removed" \
    "$(paste <(echo "$m1") <(echo "$m2") | awk '{ split($1,a,"="); split($2,b,"="); if (a[2] != b[2]) print a[1], a[2], "->", b[2] }')"

# --- hash on the URI
uris=""
for p in /a /b /c /d /e /f /g /h /a /b /c /d; do
    uris="$uris $p=$(cl_curl -o /dev/null -w '%header{x-backend}' "http://$LB_IP:8012$p")"
done
incons=$(printf '%s\n' $uris | sort -u | cut -d= -f1 | uniq -d | wc -l)
used=$(printf '%s\n' $uris | cut -d= -f2 | sort -u | wc -l)
t_is "$incons" 0 "hash on uri: the same URI always reaches the same server" "$uris"
t_ge "$used" 2 "hash on uri: 8 URIs use several servers" "$uris"

# --- random and p2c: 300 requests, each server between 60 and 140
for port_alg in 8006:random 8007:p2c; do
    port=${port_alg%%:*}; alg=${port_alg#*:}
    r=$(clpy load "$LB_IP" "$port" --n 300 --c 2 --keepalive)
    ca=$(j "$r" '.backends.A // 0'); cb=$(j "$r" '.backends.B // 0'); cc=$(j "$r" '.backends.C // 0')
    if [ "$(j "$r" .ok)" = 300 ] && all_between 60 140 "$ca" "$cb" "$cc"; then
        t_ok "$alg: 300 requests spread A=$ca B=$cb C=$cc (each 60..140)"
    else
        t_fail "$alg: 300 requests spread over A B C (each 60..140)" "$r"
    fi
done

proxy_stop_check
t_done
