#!/bin/bash
# tls.sh - TLS termination and re-encryption with real clients (curl,
# openssl s_client): certificates chosen by SNI (SAN, wildcard from config,
# default), strict_sni, ALPN http/1.1 only, TLS 1.1 refused, resumption by
# ticket and by session cache, mTLS (none/good/expired/untrusted client
# certificates, the subject passed on, a forged header stripped; verify
# optional), garbage, a truncated and a stalled ClientHello on the TLS port,
# re-encryption to a TLS server (verified, and a wrong CA giving 502), a
# reload with a new certificate and a reload with a bad one.
. "$(dirname "$0")/lib.sh"
t_need_root; t_need_proxy
command -v openssl >/dev/null || { echo "1..0 # SKIP no openssl"; exit 0; }
topo_up

P=$T_DIR/pki
mkdir -p "$P"
ossl() { openssl "$@" >/dev/null 2>&1 || t_bail "openssl $*"; }
# mkca NAME CN
mkca() {
    ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -keyout "$P/$1.key" -out "$P/$1.pem" -subj "/CN=$2"
}
# mkcert NAME SUBJECT SAN|- CA DAYS
mkcert() {
    ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$P/$1.key" \
        -out "$P/$1.csr" -subj "$2"
    local ext=$P/$1.ext
    if [ "$3" = - ]; then : >"$ext"; else printf 'subjectAltName=%s\n' "$3" >"$ext"; fi
    ossl x509 -req -in "$P/$1.csr" -CA "$P/$4.pem" -CAkey "$P/$4.key" -CAcreateserial \
        -days "$5" -extfile "$ext" -out "$P/$1.pem"
}
mkca ca "Tandem Test CA"
mkca other "Other CA"
mkcert a "/CN=a.test" "DNS:a.test,DNS:www.a.test" ca 2
mkcert b "/CN=b.test" "DNS:b.test" ca 2
mkcert a2 "/O=Reloaded/CN=a.test" "DNS:a.test" ca 2
mkcert be "/CN=be.test" "DNS:be.test" ca 2
mkcert client1 "/O=Tandem/CN=client1" - ca 2
mkcert expired "/CN=expired" - ca 0
mkcert stranger "/CN=stranger" - other 2
cat "$P/ca.pem" "$P/other.pem" >"$P/both.pem"

B=${BE_IPS[0]}
backend_multi be A@$B:8081
backend_start tlsbe "$B:8444" --tls "$P/be.pem" "$P/be.key"

conf=$T_DIR/tandem.conf
write_conf() {   # write_conf CERT_A_NAME
    {
        conf_global 2
        cat <<EOF
frontends = (
  { name = "www"; bind = "$LB_IP:443"; mode = "http"; backend = "web";
    tls = { certs = ( { cert = "$P/$1.pem"; key = "$P/$1.key"; },
                      { cert = "$P/b.pem"; key = "$P/b.key"; sni = [ "b.test", "*.w.test" ]; } ); }; },
  { name = "cache"; bind = "$LB_IP:444"; mode = "http"; backend = "web";
    tls = { certs = ( { cert = "$P/a.pem"; key = "$P/a.key"; } ); tickets = false; }; },
  { name = "strict"; bind = "$LB_IP:445"; mode = "http"; backend = "web";
    timeouts = { http_request = "1s"; };
    tls = { certs = ( { cert = "$P/a.pem"; key = "$P/a.key"; } ); strict_sni = true; }; },
  { name = "opt"; bind = "$LB_IP:8444"; mode = "http"; backend = "web";
    tls = { certs = ( { cert = "$P/a.pem"; key = "$P/a.key"; } ); client_ca = "$P/ca.pem";
            verify = "optional"; }; },
  { name = "mtls"; bind = "$LB_IP:8443"; mode = "http"; backend = "web";
    tls = { certs = ( { cert = "$P/a.pem"; key = "$P/a.key"; } ); client_ca = "$P/ca.pem";
            verify = "required"; }; },
  { name = "reenc"; bind = "$LB_IP:80"; mode = "http"; backend = "tlsweb"; },
  { name = "badca"; bind = "$LB_IP:81"; mode = "http"; backend = "tlsbad"; } );
backends = (
  { name = "web"; servers = ( { name = "A"; addr = "$B:8081"; } ); },
  { name = "tlsweb"; tls = { ca = "$P/ca.pem"; sni = "be.test"; };
    health = { type = "http"; path = "/health"; interval = "200ms"; };
    servers = ( { name = "S"; addr = "$B:8444"; } ); },
  { name = "tlschk"; tls = { ca = "$P/other.pem"; sni = "be.test"; };
    health = { type = "tls"; interval = "200ms"; fall = 2; };
    servers = ( { name = "C"; addr = "$B:8444"; } ); },
  { name = "tlsbad"; retries = 0; tls = { ca = "$P/other.pem"; sni = "be.test"; };
    servers = ( { name = "S"; addr = "$B:8444"; } ); } );
EOF
    } | proxy_conf "$conf"
}
write_conf a
proxy_start "$conf" "tcp:$LB_IP:443" "tcp:$LB_IP:444" "tcp:$LB_IP:445" "tcp:$LB_IP:8443" \
    "tcp:$LB_IP:8444" "tcp:$LB_IP:80" "tcp:$LB_IP:81"

# subject PORT SNI|-: the subject of the certificate served.
subject() {
    local sn=(-servername "$2"); [ "$2" = - ] && sn=(-noservername)
    in_cl timeout 5 openssl s_client -connect "$LB_IP:$1" "${sn[@]}" </dev/null 2>/dev/null |
        openssl x509 -noout -subject 2>/dev/null
}
# https NAME PORT PATH [curl args]: curl with NAME resolved to the proxy.
https() {
    local name=$1 port=$2 path=$3; shift 3
    cl_curl --resolve "$name:$port:$LB_IP" --cacert "$P/ca.pem" "$@" "https://$name:$port$path"
}
hdr() {
    printf '%s' "$1" | jq -r --arg n "$2" \
        '[.headers[] | select(.[0] | ascii_downcase == ($n | ascii_downcase)) | .[1]]
         | if length == 0 then "<none>" else join(", ") end'
}
sclient() { in_cl timeout 5 openssl s_client -connect "$LB_IP:$1" -servername a.test "${@:2}" </dev/null 2>&1; }

# ---- SNI
t_like "$(subject 443 a.test)" "CN ?= ?a\.test" "SNI a.test: a's certificate"
t_like "$(subject 443 www.a.test)" "CN ?= ?a\.test" "SNI www.a.test (a SAN name): a's certificate"
t_like "$(subject 443 b.test)" "CN ?= ?b\.test" "SNI b.test: b's certificate"
t_like "$(subject 443 x.w.test)" "CN ?= ?b\.test" "SNI x.w.test: b's certificate by its configured wildcard"
t_like "$(subject 443 unknown.test)" "CN ?= ?a\.test" "unknown SNI: the default (first) certificate"
t_like "$(subject 443 -)" "CN ?= ?a\.test" "no SNI: the default certificate"
t_like "$(subject 445 a.test)" "CN ?= ?a\.test" "strict_sni: a known name is served"
t_is "$(subject 445 unknown.test)" "" "strict_sni: an unknown name gets an alert, no certificate"

t_is "$(https a.test 443 / -o /dev/null -w '%{http_code}')" 200 "curl https://a.test: 200"
t_is "$(https b.test 443 / -o /dev/null -w '%{http_code}')" 200 "curl https://b.test: 200 (verified against the CA)"
h=$(https a.test 443 /headers -H "X-Client-Cert-Subject: CN=forged" -H "X-Client-Cert-Fingerprint: 00")
t_is "$(hdr "$h" X-Forwarded-Proto)" "https" "X-Forwarded-Proto: https" "$h"
t_is "$(hdr "$h" X-Client-Cert-Subject)" "<none>" "a client-sent X-Client-Cert-Subject is stripped" "$h"
t_is "$(hdr "$h" X-Client-Cert-Fingerprint)" "<none>" "a client-sent X-Client-Cert-Fingerprint is stripped" "$h"
r=$(in_cl curl -sS --max-time 10 --resolve "a.test:443:$LB_IP" --cacert "$P/ca.pem" \
    -o /dev/null -o /dev/null -o /dev/null -w '%{http_code} %{num_connects}\n' \
    https://a.test/ https://a.test/ https://a.test/ | tr '\n' ' ')
t_is "$r" "200 1 200 0 200 0 " "keep-alive over TLS: three requests, one connection"

# ---- ALPN and versions
t_like "$(sclient 443 -alpn h2,http/1.1)" "ALPN protocol: http/1.1" "ALPN: http/1.1 chosen when offered with h2"
t_like "$(sclient 443 -alpn h2)" "No ALPN negotiated" "ALPN: h2 alone is not accepted"
t_like "$(https a.test 443 / -v -o /dev/null 2>&1)" "ALPN.*http/1.1" "curl negotiates http/1.1"
o=$(sclient 443 -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0')
t_like "$o" "(alert|error|no protocols available)" "TLS 1.1 is refused" "$o"
sleep 0.2
t_like "$(grep 'frontend "www"' "$PROXY_LOG" | tail -1)" "TLS handshake failed: .*unsupported protocol" \
    "the proxy refused it (unsupported protocol)"
t_like "$(sclient 443 -tls1_2)" "(Protocol *: |New, )TLSv1.2" "TLS 1.2 is accepted"
t_like "$(sclient 443 -tls1_3)" "(Protocol *: |New, )TLSv1.3" "TLS 1.3 is accepted"

# ---- resumption: sess_out then sess_in (after a request, so the TLS 1.3
# ticket sent after the handshake has been read)
resume() {   # resume PORT VERSIONFLAG: "New," or "Reused," for the second connection
    local f=$T_DIR/sess.$1$2 req='GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n'
    rm -f "$f"
    printf "$req" | in_cl timeout 5 openssl s_client -connect "$LB_IP:$1" -servername a.test \
        "$2" -sess_out "$f" -ign_eof >/dev/null 2>&1
    printf "$req" | in_cl timeout 5 openssl s_client -connect "$LB_IP:$1" -servername a.test \
        "$2" -sess_in "$f" -ign_eof 2>/dev/null | grep -Eo '^(New|Reused),' | head -1
}
t_is "$(resume 443 -tls1_3)" "Reused," "TLS 1.3 resumption with a session ticket"
t_is "$(resume 443 -tls1_2)" "Reused," "TLS 1.2 resumption with a session ticket"
t_is "$(resume 444 -tls1_2)" "Reused," "TLS 1.2 resumption from the session cache (tickets off)"
t_is "$(resume 444 -tls1_3)" "Reused," "TLS 1.3 resumption from the session cache (tickets off)"
# A client that always resumes from its last connection (wrk does) must get
# a fresh ticket after a resumed handshake too, or every other connection
# is a full handshake.
resume3() {  # resume3 PORT VERSIONFLAG: the third connection, resumed from the second
    local f=$T_DIR/sess3.$1$2 req='GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n'
    rm -f "$f".*
    printf "$req" | in_cl timeout 5 openssl s_client -connect "$LB_IP:$1" -servername a.test \
        "$2" -sess_out "$f.1" -ign_eof >/dev/null 2>&1
    printf "$req" | in_cl timeout 5 openssl s_client -connect "$LB_IP:$1" -servername a.test \
        "$2" -sess_in "$f.1" -sess_out "$f.2" -ign_eof >/dev/null 2>&1
    printf "$req" | in_cl timeout 5 openssl s_client -connect "$LB_IP:$1" -servername a.test \
        "$2" -sess_in "$f.2" -ign_eof 2>/dev/null | grep -Eo '^(New|Reused),' | head -1
}
t_is "$(resume3 443 -tls1_3)" "Reused," "TLS 1.3: a resumed connection hands out a new ticket (third connection resumed too)"
t_is "$(resume3 444 -tls1_3)" "Reused," "TLS 1.3 with the session cache: the same"
o=$(printf 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' |
    in_cl timeout 5 openssl s_client -connect "$LB_IP:443" -servername a.test -tls1_2 -ign_eof 2>&1)
t_like "$o" "TLS session ticket lifetime hint" "tickets on: a ticket is issued" "$o"
o=$(printf 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' |
    in_cl timeout 5 openssl s_client -connect "$LB_IP:444" -servername a.test -tls1_2 -ign_eof 2>&1)
t_is "$(printf '%s' "$o" | grep -c 'TLS session ticket lifetime hint')" 0 "tickets off: no ticket issued" "$o"

# ---- mTLS
c=$(https a.test 8443 / -o /dev/null -w '%{http_code}' 2>/dev/null)
t_is "${c:-000}" "000" "verify required: no client certificate, no response"
h=$(https a.test 8443 /headers --cert "$P/client1.pem" --key "$P/client1.key" \
    -H "X-Client-Cert-Subject: CN=forged")
t_like "$(hdr "$h" X-Client-Cert-Subject)" "^CN=client1,O=Tandem$" "good client certificate: the server sees its subject" "$h"
t_like "$(hdr "$h" X-Client-Cert-Fingerprint)" "^[0-9a-f]{64}$" "and its SHA-256 fingerprint" "$h"
c=$(https a.test 8443 / --cert "$P/expired.pem" --key "$P/expired.key" -o /dev/null -w '%{http_code}' 2>/dev/null)
t_is "${c:-000}" "000" "expired client certificate: refused"
c=$(https a.test 8443 / --cert "$P/stranger.pem" --key "$P/stranger.key" -o /dev/null -w '%{http_code}' 2>/dev/null)
t_is "${c:-000}" "000" "client certificate from another CA: refused"
h=$(https a.test 8444 /headers)
t_is "$(hdr "$h" X-Client-Cert-Subject)" "<none>" "verify optional: no certificate, served without the header" "$h"
h=$(https a.test 8444 /headers --cert "$P/client1.pem" --key "$P/client1.key")
t_like "$(hdr "$h" X-Client-Cert-Subject)" "^CN=client1,O=Tandem$" "verify optional: a good certificate is passed on" "$h"
c=$(https a.test 8444 / --cert "$P/stranger.pem" --key "$P/stranger.key" -o /dev/null -w '%{http_code}' 2>/dev/null)
t_is "${c:-000}" "000" "verify optional: an untrusted certificate is refused"
sleep 0.3
t_like "$(grep 'frontend "mtls"' "$PROXY_LOG")" "client $CL_IP:[0-9]+: TLS handshake failed: .*expired" \
    "an expired client certificate is logged with the client address"

# ---- garbage on the TLS port
o=$(printf 'GET / HTTP/1.1\r\nHost: x\r\n\r\n' | in_cl timeout 5 socat -t 3 - "TCP:$LB_IP:443" 2>&1; echo "rc=$?")
t_like "$o" "rc=0" "plain HTTP on the TLS port: the proxy closes the connection" "$o"
head -c 3000 /dev/urandom | in_cl timeout 5 socat -t 3 - "TCP:$LB_IP:443" >/dev/null 2>&1
printf '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03' | in_cl timeout 5 socat -t 1 - "TCP:$LB_IP:443" >/dev/null 2>&1
sleep 0.3
t_like "$(grep 'frontend "www"' "$PROXY_LOG" | grep 'TLS handshake failed')" "client $CL_IP:[0-9]+: TLS handshake failed" \
    "garbage is logged with the client address"
t_like "$(grep 'frontend "www"' "$PROXY_LOG")" "client $CL_IP:[0-9]+: TLS handshake failed: .*truncated handshake" \
    "a truncated ClientHello is logged"
t_is "$(https a.test 443 / -o /dev/null -w '%{http_code}')" 200 "other clients are served after garbage"
# A stalled handshake is bounded by http_request (1s on "strict").
r=$(clpy raw "$LB_IP" 445 --data '\x16\x03\x01\x02\x00\x01' --timeout 6)
ms=$(j "$r" '.elapsed * 1000 | floor')
t_is "$(j "$r" .closed)" true "a stalled ClientHello is closed by the proxy" "$r"
t_le "$ms" 3000 "... by the http_request timeout (ms)"
t_ge "$ms" 900 "... not before it (ms)"

# ---- re-encryption
t_is "$(cl_curl -o /dev/null -w '%{http_code}' "http://$LB_IP/")" 200 \
    "re-encryption to a TLS server verified against the CA: 200"
r=$(clpy load "$LB_IP" 80 --n 30 --c 3)
t_is "$(j "$r" '.status["200"] // 0')" 30 "30 requests over re-encrypted keep-alive connections" "$r"
t_is "$(cl_curl -o /dev/null -w '%{http_code}' "http://$LB_IP:81/")" 502 "a server certificate from another CA: 502"
t_like "$(grep 'backend "tlsbad"' "$PROXY_LOG")" 'server "S" .*TLS handshake failed: certificate verify failed' \
    "the verification failure is logged naming the server"
t_is "$(grep -c 'backend "tlsweb" server "S" is DOWN' "$PROXY_LOG")" 0 \
    "an http health check over TLS keeps the verified server UP"
t_like "$(grep 'backend "tlschk" server "C" is DOWN' "$PROXY_LOG")" \
    'is DOWN: tls handshake: certificate verify failed: .*, 2 failures' \
    "a tls health check against the wrong CA takes the server DOWN, with the reason"

# ---- reload: a new certificate; a bad one keeps the old
write_conf a2
proxy_reload
sleep 1
t_like "$(subject 443 a.test)" "O ?= ?Reloaded" "after reload the new certificate is served"
cp "$conf" "$conf.good"
sed "s|$P/a2.key|$P/missing.key|" "$conf.good" >"$conf"
proxy_reload
sleep 1
t_like "$(grep 'reload: ' "$PROXY_LOG" | grep 'missing.key')" "tandem.conf:[0-9]+: frontend \"www\": tls: cannot use key" \
    "a reload with a missing key fails with FILE:LINE"
t_like "$(subject 443 a.test)" "O ?= ?Reloaded" "and the running certificates stay"
t_is "$(https a.test 443 / -o /dev/null -w '%{http_code}')" 200 "still serving after the failed reload"
o=$("$PROXY_BIN" -t -c "$conf" 2>&1)
t_like "$o" "tls: cannot use key \"$P/missing.key\"" "tandem-proxy -t reports the unusable key" "$o"

proxy_stop_check
t_done
