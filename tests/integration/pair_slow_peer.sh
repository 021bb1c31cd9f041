#!/bin/bash
# pair_slow_peer.sh - a peer that stops reading costs nothing: box B's
# tandem-proxy is frozen (SIGSTOP) while box A takes a burst of new
# sticky sessions (wrk on /login of an nginx that sets a new JSESSIONID per
# response: tens of thousands of entries, more than the 16k events the
# sticky feed's ring holds). A keeps serving without errors, its send
# buffer stays within queue_size (64k here), its link to B times out;
# once B runs again, the link comes back and A resends its table (a
# snapshot, the feed having overflowed): B ends with every entry of A.
. "$(dirname "$0")/lib_pair.sh"
pair_need
command -v nginx >/dev/null && command -v wrk >/dev/null || t_bail "nginx and wrk are needed"
pair_topo_up

# A fast session-issuing server: nginx in the servers' namespace.
NX=$T_DIR/nx; mkdir -p "$NX"
cat >"$NX/nginx.conf" <<EOC
worker_processes 1; pid $NX/nginx.pid; error_log $NX/error.log warn;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path $NX/cb; proxy_temp_path $NX/pt;
  fastcgi_temp_path $NX/ft; uwsgi_temp_path $NX/ut; scgi_temp_path $NX/st;
  server { listen ${PAIR_SRV[0]}:8090; location / {
      add_header Set-Cookie "JSESSIONID=\$request_id; Path=/"; return 200 "N1\n"; } } }
EOC
bg_start "$NS_BE" "$NX/stderr" nginx -p "$NX" -c "$NX/nginx.conf" -g 'daemon off;'
wait_listen "$NS_BE" tcp "${PAIR_SRV[0]}" 8090 5 || t_bail "nginx did not start"

pair_conf ap
for box in A B; do
    sed -i -e "s|^frontends = ( |frontends = ( { name = \"bulk\"; bind = \"$VIP:84\"; mode = \"http\"; backend = \"bulk\"; },\n              |" \
        -e "s|^backends = (|backends = (\n  { name = \"bulk\"; sticky = { mode = \"app\"; app_cookie = \"JSESSIONID\"; ttl = \"30m\"; };\n    servers = ( { name = \"N1\"; addr = \"${PAIR_SRV[0]}:8090\"; } ); },|" \
        -e "s|reconnect_max = \"1s\";|reconnect_max = \"1s\"; queue_size = \"64k\";|" \
        "$T_DIR/tandem-$box.conf"
    out=$("$PROXY_BIN" -t -c "$T_DIR/tandem-$box.conf" 2>&1) || t_bail "box $box's file: $out"
done
pair_up

kill -STOP "${PX_PID[B]}"
t_diag "lbB's tandem-proxy stopped (SIGSTOP)"
secs=$(proxy_is_asan && echo 6 || echo 3)
# Sample A's send buffer while the burst runs.
( for _ in $(seq $(( secs * 10 ))); do peer_field A .queue_bytes; sleep 0.1; done ) >"$T_DIR/queue.txt" &
sampler=$!
w=$(in_cl timeout $(( secs + 10 )) wrk -t1 -c20 -d"${secs}s" --timeout 2s "http://$VIP:84/login" 2>&1)
wait "$sampler"
t_diag "$(grep -E 'Requests/sec|requests in|Non-2xx|Socket errors|Latency' <<<"$w")"
t_unlike() { if [[ $1 =~ $2 ]]; then t_fail "$3" "$1"; else t_ok "$3"; fi; }
t_unlike "$w" "Non-2xx|Socket errors" "lbA serves the burst without an error while its peer is frozen"
na=$(peer_field A .sticky_entries)
t_ge "$na" 17000 "the burst made more sticky entries ($na) than the feed's ring holds (16384)"
maxq=$(sort -n "$T_DIR/queue.txt" | tail -1)
t_le "${maxq:-0}" $(( 65536 + 4096 )) "lbA's send buffer stayed within queue_size (peak $maxq bytes of 65536, plus at most a few frames)"
t=$(wait_unsync A 5)
t_like "$(peer_field A .out.state)" "^(down|connecting)$" "lbA dropped its link to the frozen peer (timeout 1s) and redials ($t ms after the burst)"
t_like "$(cat "$T_DIR/proxy-A.log")" "sync: link to peer lb-B lost \\(nothing heard for" "lbA logs why"

kill -CONT "${PX_PID[B]}"
t=$(wait_sync A "$(pair_scale 10)") || t_fail "the link comes back after SIGCONT" "$(pctl A peer show)"
t_diag "lbB running again: linked after $t ms"
_all() { [ "$(peer_field B .sticky_entries)" = "$(peer_field A .sticky_entries)" ]; }
t=$(wait_until "$(pair_scale 20)" _all)
t_is "$(peer_field B .sticky_entries)" "$(peer_field A .sticky_entries)" \
    "lbB ends with every sticky entry of lbA ($(peer_field A .sticky_entries)) ($t ms)"
t_ge "$(peer_field A .sent.snapshots)" 3 "lbA sent a fresh snapshot after the overflow ($(peer_field A .sent.snapshots) snapshots, $(peer_field A .resyncs) resyncs)"
pair_done
