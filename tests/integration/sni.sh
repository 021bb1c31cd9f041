#!/bin/bash
# sni.sh - mode tcp SNI passthrough: TLS is not terminated, the proxy reads
# the ClientHello's server name and routes by it. Four TLS backends with
# their own certificates (A, B, W for a wildcard route, D the default);
# each answers "NAME SNI" where SNI is the name its own handshake saw, so
# the ClientHello reached it intact. Checked: exact and case-insensitive
# names (openssl s_client, certificate subject), a wildcard, no SNI and an
# unknown name to the default, a ClientHello split over TLS records, one
# sent byte by byte, one after a PROXY header; plain HTTP, a truncated
# hello and a stalled one closed, logged and counted as denied.
. "$(dirname "$0")/lib.sh"
t_need_root; t_need_proxy
topo_up

B=${BE_IPS[0]}

# ---- certificates and the TLS backends (python ssl, one process)
for n in a b w d; do
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
        -subj "/CN=backend-$n" -keyout "$T_DIR/$n.key" -out "$T_DIR/$n.pem" >/dev/null 2>&1 ||
        t_bail "openssl cannot make a certificate"
done

cat >"$T_DIR/tls_backend.py" <<'EOF'
# NAME@ADDR:PORT:CERT:KEY ...: per connection, a TLS handshake, then
# "NAME SNI\n" (the server name this handshake saw, "-" for none), close.
import socket, ssl, sys, threading

def serve(name, addr, port, cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    seen = {}
    def on_sni(sock, server_name, _ctx):
        seen[id(sock)] = server_name
    ctx.sni_callback = on_sni
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port)); ls.listen(64)
    def one(c):
        try:
            c.settimeout(5)
            t = ctx.wrap_socket(c, server_side=True)
            t.sendall(("%s %s\n" % (name, seen.pop(id(t), None) or "-")).encode())
            t.close()
        except Exception as e:
            print(name, "error:", e, flush=True)
            c.close()
    while True:
        c, _ = ls.accept()
        threading.Thread(target=one, args=(c,), daemon=True).start()

for spec in sys.argv[1:]:
    name, rest = spec.split("@")
    addr, port, cert, key = rest.split(":")
    threading.Thread(target=serve, args=(name, addr, int(port), cert, key), daemon=True).start()
threading.Event().wait()
EOF

cat >"$T_DIR/tls_client.py" <<'EOF'
# HOST PORT [--sni NAME] [--frag N] [--delay S] [--proxy] [--raw TEXT]
# [--partial N] [--close-after N]: a TLS client over memory BIOs, so the
# ClientHello's bytes can be re-framed into N-byte records, trickled with a
# delay per chunk, cut short, or preceded by a PROXY v1 header. Prints JSON.
import argparse, json, socket, ssl, time
p = argparse.ArgumentParser()
p.add_argument("host"); p.add_argument("port", type=int)
p.add_argument("--sni"); p.add_argument("--frag", type=int, default=0)
p.add_argument("--delay", type=float, default=0); p.add_argument("--proxy", action="store_true")
p.add_argument("--raw"); p.add_argument("--partial", type=int, default=0)
p.add_argument("--close-after", type=int, default=0)
a = p.parse_args()
out = {}

def recv_all(s):
    data = b""
    try:
        while len(data) < 65536:
            d = s.recv(4096)
            if not d: break
            data += d
    except ConnectionResetError:
        out["reset"] = True
    return data

def reframe(hello, n):
    body, wire = hello[5:], b""
    for i in range(0, len(body), n):
        f = body[i:i + n]
        wire += hello[:3] + len(f).to_bytes(2, "big") + f
    return wire

def send(s, wire, chunk):
    for i in range(0, len(wire), chunk):
        s.sendall(wire[i:i + chunk])
        if a.delay: time.sleep(a.delay)

s = socket.create_connection((a.host, a.port), timeout=8)
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
t0 = time.monotonic()
if a.raw is not None:
    s.sendall(a.raw.encode())
    out["received"] = len(recv_all(s)); out["elapsed"] = round(time.monotonic() - t0, 2)
    print(json.dumps(out)); raise SystemExit
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
inc, outb = ssl.MemoryBIO(), ssl.MemoryBIO()
obj = ctx.wrap_bio(inc, outb, server_hostname=a.sni)
try: obj.do_handshake()
except ssl.SSLWantReadError: pass
hello = outb.read()
wire = reframe(hello, a.frag) if a.frag else hello
out["records"] = wire.count(hello[:3]) if a.frag else 1
if a.proxy:
    wire = b"PROXY TCP4 198.51.100.77 198.51.100.10 40000 8444\r\n" + wire
if a.partial or a.close_after:
    s.sendall(wire[:a.partial or a.close_after])
    if a.close_after: s.close(); print(json.dumps({"sent": a.close_after})); raise SystemExit
    out["received"] = len(recv_all(s)); out["elapsed"] = round(time.monotonic() - t0, 2)
    print(json.dumps(out)); raise SystemExit
send(s, wire, 1 if a.delay else len(wire))

def pump():
    o = outb.read()
    if o: s.sendall(o)
    d = s.recv(4096)
    if d: inc.write(d)
    return bool(d)

while True:                      # bounded by the socket timeout
    try:
        obj.do_handshake(); break
    except ssl.SSLWantReadError:
        if not pump(): raise SystemExit(print(json.dumps({"error": "closed in handshake"})))
o = outb.read()
if o: s.sendall(o)
reply = b""
while True:
    try:
        d = obj.read(4096)
        if not d: break
        reply += d
    except ssl.SSLWantReadError:
        if not pump(): break
    except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
        break
der = obj.getpeercert(binary_form=True) or b""
i = der.find(b"\x55\x04\x03")
out["cn"] = der[i + 5:i + 5 + der[i + 4]].decode() if i >= 0 else None
out["reply"] = reply.decode().strip()
print(json.dumps(out))
EOF

bg_start "$NS_BE" "$T_DIR/backend-tls.log" "$PY" "$T_DIR/tls_backend.py" \
    "A@$B:9001:$T_DIR/a.pem:$T_DIR/a.key" "B@$B:9002:$T_DIR/b.pem:$T_DIR/b.key" \
    "W@$B:9003:$T_DIR/w.pem:$T_DIR/w.key" "D@$B:9004:$T_DIR/d.pem:$T_DIR/d.key"
for p in 9001 9002 9003 9004; do
    wait_listen "$NS_BE" tcp "$B" "$p" 5 || t_bail "TLS backend did not listen on $B:$p"
done

# ---- the proxy
conf=$T_DIR/tandem.conf
{
    conf_global 2
    cat <<EOF
stats = { bind = "$LB_IP:8404"; };
frontends = (
  { name = "sni"; bind = "$LB_IP:8443"; mode = "tcp"; timeouts = { client = "5s"; };
    routes = ( { sni = "a.example"; backend = "a"; },
               { sni = "B.Example"; backend = "b"; },
               { sni = "*.wild.example"; backend = "w"; } );
    backend = "d"; },
  { name = "snipp"; bind = "$LB_IP:8444"; mode = "tcp"; accept_proxy = true;
    timeouts = { client = "1s"; };
    routes = ( { sni = "a.example"; backend = "a"; } ); backend = "d"; }
);
backends = (
  { name = "a"; servers = ( { name = "A"; addr = "$B:9001"; } ); },
  { name = "b"; servers = ( { name = "B"; addr = "$B:9002"; } ); },
  { name = "w"; servers = ( { name = "W"; addr = "$B:9003"; } ); },
  { name = "d"; servers = ( { name = "D"; addr = "$B:9004"; } ); }
);
EOF
} | proxy_conf "$conf"
proxy_start "$conf" "tcp:$LB_IP:8443" "tcp:$LB_IP:8444"

tls() { in_cl "$PY" "$T_DIR/tls_client.py" "$LB_IP" "$@"; }
s_client() {
    # -ign_eof: wait for the backend to answer and close, not for our stdin
    in_cl timeout 8 openssl s_client -ign_eof -connect "$LB_IP:8443" "$@" </dev/null 2>&1
}

# ---- routing
o=$(s_client -servername a.example)
t_like "$o" 'subject=CN ?= ?backend-a' "s_client -servername a.example: backend A's certificate" "$o"
t_like "$o" '^A a\.example' "A's handshake saw the server name a.example" "$o"
o=$(s_client -servername b.EXAMPLE -tls1_2)
t_like "$o" 'subject=CN ?= ?backend-b' "s_client TLS 1.2 -servername b.EXAMPLE: B (names match case-insensitively)" "$o"
o=$(s_client -servername x.y.wild.example)
t_like "$o" 'subject=CN ?= ?backend-w' "s_client -servername x.y.wild.example: the *.wild.example route" "$o"
o=$(s_client -servername wild.example)
t_like "$o" 'subject=CN ?= ?backend-d' "wild.example itself does not match *.wild.example: default" "$o"
o=$(s_client -noservername)
t_like "$o" 'subject=CN ?= ?backend-d' "s_client -noservername: the default backend" "$o"
r=$(tls 8443 --sni unknown.example)
t_is "$(j "$r" .cn) $(j "$r" .reply)" "backend-d D unknown.example" "an unknown name: the default backend" "$r"

r=$(tls 8443 --sni b.example --frag 40)
t_is "$(j "$r" .cn) $(j "$r" .reply)" "backend-b B b.example" \
    "a ClientHello split over $(j "$r" .records) TLS records: routed to B" "$r"
r=$(tls 8443 --sni a.example --frag 1)
t_is "$(j "$r" .reply)" "A a.example" "a ClientHello in 1-byte records: routed to A" "$r"
r=$(tls 8443 --sni x.wild.example --delay 0.002)
t_is "$(j "$r" .cn) $(j "$r" .reply)" "backend-w W x.wild.example" \
    "a ClientHello sent byte by byte: routed to W" "$r"
r=$(tls 8444 --sni a.example --proxy)
t_is "$(j "$r" .reply)" "A a.example" "after a PROXY header: routed to A" "$r"

# ---- refused
r=$(tls 8443 --raw $'GET / HTTP/1.1\r\nHost: a.example\r\n\r\n')
t_is "$(j "$r" .received)" 0 "plain HTTP: closed without an answer" "$r"
r=$(tls 8444 --sni a.example --proxy --partial 80)
t_is "$(j "$r" .received)" 0 "a ClientHello stalled after a PROXY header: closed" "$r"
t_le "$(printf '%.0f' "$(j "$r" .elapsed)")" 3 "... by the 1s client timeout" "$r"
r=$(tls 8443 --sni a.example --close-after 30)
sleep 0.3
log=$(cat "$PROXY_LOG")
t_like "$log" "client $CL_IP:[0-9]+: no TLS ClientHello \(not a TLS handshake record\)" \
    "plain HTTP logged with the client address and reason"
t_like "$log" "client 198.51.100.77:40000: sent no TLS ClientHello in time" \
    "the stalled client logged (with the PROXY header's address)"
t_like "$log" "client $CL_IP:[0-9]+: closed before sending a TLS ClientHello" "the truncated hello logged"
t_like "$log" 'sni a/A .* -- "SNI a\.example"' "the access log shows the server name"
t_like "$log" 'sni -/- .* PR' "the access log marks the refused connection PR"
sj=$(cl_curl "http://$LB_IP:8404/stats.json")
t_is "$(j "$sj" '[.frontends[] | "\(.name)=\(.denied)"] | join(" ")')" "sni=2 snipp=1" \
    "refused clients count in their frontend's denied" "$sj"
n=$(grep -c '^D error\|^A error\|^B error\|^W error' "$T_DIR/backend-tls.log")
t_is "$n" 0 "no backend saw a broken handshake" "$(cat "$T_DIR/backend-tls.log")"

proxy_stop_check
t_done
