#!/bin/bash
# bigbody.sh - 100 MB request and response bodies (content-length and
# chunked) are streamed, never buffered whole: the proxy's peak RSS (VmHWM)
# stays under 64 MB. The RSS bound is skipped under AddressSanitizer.
. "$(dirname "$0")/lib.sh"
t_need_root; t_need_proxy
topo_up

B=${BE_IPS[0]}
backend_multi be A@$B:8081
SIZE=$((100 * 1024 * 1024))
RSS_MAX_KB=$((64 * 1024))

conf=$T_DIR/tandem.conf
{
    conf_global 2
    cat <<EOF
frontends = ( { name = "www"; bind = "$LB_IP:80"; mode = "http"; backend = "web"; } );
backends = ( { name = "web"; servers = ( { name = "A"; addr = "$B:8081"; } ); } );
EOF
} | proxy_conf "$conf"
proxy_start "$conf" "tcp:$LB_IP:80"

t_diag "VmHWM at start: $(proxy_rss_kb) kB"

r=$(clpy upload "$LB_IP" 80 --bytes $SIZE --timeout 60)
t_is "$(j "$r" .status):$(j "$r" .intact)" "200:true" "100 MB upload (content-length) arrives intact" "$r"
r=$(clpy upload "$LB_IP" 80 --bytes $SIZE --chunked --timeout 60)
t_is "$(j "$r" .status):$(j "$r" .intact)" "200:true" "100 MB upload (chunked) arrives intact" "$r"
r=$(clpy download "$LB_IP" 80 --path /bigcl/$SIZE --bytes $SIZE --timeout 60)
t_is "$(j "$r" .status):$(j "$r" .intact)" "200:true" "100 MB download (content-length) arrives intact" "$r"
r=$(clpy download "$LB_IP" 80 --path /big/$SIZE --bytes $SIZE --timeout 60)
t_is "$(j "$r" .status):$(j "$r" .intact)" "200:true" "100 MB download (chunked) arrives intact" "$r"

# One each way at the same time.
clpy upload "$LB_IP" 80 --bytes $SIZE --timeout 60 >"$T_DIR/up.json" &
up=$!
r=$(clpy download "$LB_IP" 80 --path /big/$SIZE --bytes $SIZE --timeout 60)
wait $up
t_is "$(j "$r" .intact):$(jq -r .intact "$T_DIR/up.json")" "true:true" "100 MB up and 100 MB down at the same time" \
    "download: $r" "upload: $(cat "$T_DIR/up.json")"

# Uploads that each need a new server connection (4 at once, body sent right
# behind the head): the head must reach the server before any body byte.
for kind in content-length chunked; do
    flag=; [ $kind = chunked ] && flag=--chunked
    : >"$T_DIR/par.out"
    log0=$(wc -l <"$T_DIR/backend-be.log")
    for round in 1 2 3 4; do
        pids=()
        for i in 1 2 3 4; do
            clpy upload "$LB_IP" 80 --bytes 100000 $flag --timeout 20 >>"$T_DIR/par.out" &
            pids+=($!)
        done
        wait "${pids[@]}"
    done
    # Four clients append to one file: their lines may interleave, so count
    # occurrences, not lines.
    n=$(grep -o '"intact": true' "$T_DIR/par.out" | wc -l)
    t_is "$n" 16 "16 uploads ($kind, 4 at a time on new server connections) arrive intact" \
        "$(sort "$T_DIR/par.out" | uniq -c | sed 's/"elapsed": [0-9.]*//')" \
        "server side: $(tail -n +$((log0 + 1)) "$T_DIR/backend-be.log" | grep -E 'no end of head|bad request line' | head -3 | cut -c1-200)"
done

rss=$(proxy_rss_kb)
if proxy_is_asan; then
    t_skip "peak RSS under 64 MB after 600 MB through the proxy (VmHWM ${rss} kB)" "AddressSanitizer build"
else
    t_le "${rss:-999999}" $RSS_MAX_KB "peak RSS (VmHWM kB) stays under 64 MB after 600 MB of bodies"
fi

proxy_stop_check
t_done
