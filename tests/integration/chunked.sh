#!/bin/bash
# chunked.sh - chunked request and response bodies are streamed through
# intact: chunk extensions, trailers, many small chunks, keep-alive after a
# chunked body, chunked responses of odd and zero size.
. "$(dirname "$0")/lib.sh"
t_need_root; t_need_proxy
topo_up

B=${BE_IPS[0]}
backend_multi be A@$B:8081

conf=$T_DIR/tandem.conf
{
    conf_global 2
    cat <<EOF
frontends = ( { name = "www"; bind = "$LB_IP:80"; mode = "http"; backend = "web"; } );
backends = ( { name = "web"; servers = ( { name = "A"; addr = "$B:8081"; } ); } );
EOF
} | proxy_conf "$conf"
proxy_start "$conf" "tcp:$LB_IP:80"

HW_SHA=$(printf 'hello world' | sha256sum | cut -d' ' -f1)
# resp_json RAW-RESULT: the body of the (single) response in a raw result
resp_json() { j "$1" .response | awk 'f { print } /^\r?$/ { f = 1 }'; }

r=$(clpy raw "$LB_IP" 80 --first --timeout 3 --data \
    'POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n')
b=$(resp_json "$r")
t_is "$(j "$b" .bytes):$(j "$b" .sha256)" "11:$HW_SHA" "chunked request: the server gets the 11 bytes intact" "$r"

r=$(clpy raw "$LB_IP" 80 --first --timeout 3 --data \
    'POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n')
b=$(resp_json "$r")
t_is "$(j "$b" .bytes):$(j "$b" .sha256)" "11:$HW_SHA" "chunk extensions and a trailer are accepted" "$r"

r=$(clpy raw "$LB_IP" 80 --first --timeout 3 --data \
    'POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nB\r\nhello world\r\n0\r\n\r\n')
b=$(resp_json "$r")
t_is "$(j "$b" .bytes)" 11 "upper-case hex chunk size" "$r"

# Many one-byte chunks.
data='POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n'
for c in h e l l o ' ' w o r l d; do data="${data}1\\r\\n$c\\r\\n"; done
data="${data}0\\r\\n\\r\\n"
r=$(clpy raw "$LB_IP" 80 --first --timeout 3 --data "$data")
b=$(resp_json "$r")
t_is "$(j "$b" .bytes):$(j "$b" .sha256)" "11:$HW_SHA" "11 one-byte chunks arrive intact" "$r"

# The connection is reusable after a chunked request body.
r=$(clpy raw "$LB_IP" 80 --timeout 1.5 --data \
    'POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET /status/203 HTTP/1.1\r\nHost: t\r\n\r\n')
t_is "$(j "$r" .responses)" 2 "keep-alive after a chunked body: a second request on the connection is answered" "$r"
t_like "$(j "$r" .response)" 'HTTP/1.1 203' "the second answer is the second request's (203)"

# Chunked uploads and downloads of odd sizes.
r=$(clpy upload "$LB_IP" 80 --bytes 3000001 --chunked)
t_is "$(j "$r" .status):$(j "$r" .intact)" "200:true" "3 MB chunked upload arrives intact" "$r"
r=$(clpy download "$LB_IP" 80 --path /big/1234567 --bytes 1234567)
t_is "$(j "$r" .status):$(j "$r" .intact):$(j "$r" .chunked)" "200:true:true" "1.2 MB chunked response arrives intact" "$r"
r=$(clpy download "$LB_IP" 80 --path /big/0 --bytes 0)
t_is "$(j "$r" .status):$(j "$r" .intact)" "200:true" "empty chunked response" "$r"

# curl as a client: a chunked upload from a pipe.
got=$(head -c 100000 /dev/zero | in_cl curl -sS --max-time 10 -H 'Transfer-Encoding: chunked' \
      --data-binary @- "http://$LB_IP/echo" | jq -r .bytes)
t_is "$got" 100000 "curl chunked upload from a pipe (100000 bytes)"

proxy_stop_check
t_done
