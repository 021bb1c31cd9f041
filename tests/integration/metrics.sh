#!/bin/bash
# metrics.sh - the stats listener: basic auth (401 without or with wrong
# credentials), /metrics parsed by the Prometheus client library's own
# parser with values checked against the traffic sent (requests, response
# classes, bytes, histogram count, server state and weight gauges),
# /stats.json, and the dashboard rendered by headless Chromium listing
# every server with its state (after a reload that turns auth off).
. "$(dirname "$0")/lib.sh"
t_need_root; t_need_proxy
CTL_BIN=${TANDEMCTL:-$top_builddir/tandemctl}
[ -x "$CTL_BIN" ] || t_bail "no tandemctl at $CTL_BIN"
topo_up

B=${BE_IPS[0]}
backend_multi fast A@$B:8081 B@$B:8082 C@$B:8083

SOCK=$T_DIR/proxy.sock
conf=$T_DIR/tandem.conf
STATS=http://$LB_IP:8404
AUTH='admin:s3cr3t pass'
write_conf() {   # write_conf AUTH-TEXT
    {
        conf_global 2 "status_socket = \"$SOCK\";"
        cat <<EOF
node = { name = "lb-metrics"; };
stats = { bind = "$LB_IP:8404"; $1 };
frontends = ( { name = "www"; bind = "$LB_IP:8001"; mode = "http"; backend = "web"; },
              { name = "api"; bind = "$LB_IP:8002"; mode = "http"; backend = "api"; } );
backends = (
  { name = "web"; algorithm = "roundrobin";
    servers = ( { name = "A"; addr = "$B:8081"; }, { name = "B"; addr = "$B:8082"; } ); },
  { name = "api"; algorithm = "wrr";
    servers = ( { name = "C"; addr = "$B:8083"; weight = 7; } ); }
);
EOF
    } | proxy_conf "$conf"
}
write_conf 'auth = { user = "admin"; password = "s3cr3t pass"; };'
proxy_start "$conf" "tcp:$LB_IP:8001" "tcp:$LB_IP:8404"
ctl() { "$CTL_BIN" --socket "$SOCK" "$@"; }

# --- basic auth
code() { cl_curl -o /dev/null -w '%{http_code}' "$@"; }
t_is "$(code "$STATS/metrics")" 401 "no credentials: 401"
t_like "$(cl_curl -D - -o /dev/null "$STATS/metrics" | tr -d '\r')" '[Ww][Ww][Ww]-[Aa]uthenticate: Basic realm=' \
    "401 carries a Basic challenge"
t_is "$(code -u 'admin:wrong' "$STATS/metrics")" 401 "wrong password: 401"
t_is "$(code -u "$AUTH" "$STATS/metrics")" 200 "right credentials: 200"
t_is "$(code -u "$AUTH" "$STATS/nope")" 404 "unknown path: 404"
t_is "$(code -u "$AUTH" -X POST "$STATS/metrics")" 405 "POST: 405"

# --- traffic with known shape: 40 x 200, 6 x 503, 4 x 404 on www; 5 on api
r1=$(clpy load "$LB_IP" 8001 --n 40 --c 2)
r2=$(clpy load "$LB_IP" 8001 --n 6 --c 1 --path /status/503 --expect 503)
r3=$(clpy load "$LB_IP" 8001 --n 4 --c 1 --path /status/404 --expect 404)
r4=$(clpy load "$LB_IP" 8002 --n 5 --c 1)
t_is "$(j "$r1" .ok)/$(j "$r2" .ok)/$(j "$r3" .ok)/$(j "$r4" .ok)" "40/6/4/5" "traffic sent as planned"
ctl set server web/B state drain >/dev/null
ctl set weight api/C 3 >/dev/null

# --- /metrics through the Prometheus parser
cl_curl -u "$AUTH" "$STATS/metrics" >"$T_DIR/metrics.txt"
parsed=$(/usr/bin/python3 - "$T_DIR/metrics.txt" 2>&1 <<'PYEOF'
import json, sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1]).read()
out, problems = {}, []
for fam in text_string_to_metric_families(text):
    if fam.type == "unknown":
        problems.append("no TYPE for " + fam.name)
    if not fam.documentation:
        problems.append("no HELP for " + fam.name)
    if not fam.name.startswith("tandem_"):
        problems.append("not tandem_: " + fam.name)
    for s in fam.samples:
        key = s.name + "{" + ",".join("%s=%s" % kv for kv in sorted(s.labels.items())) + "}"
        out[key] = s.value
out["_problems"] = problems
print(json.dumps(out))
PYEOF
)
if ! printf '%s' "$parsed" | jq -e . >/dev/null 2>&1; then
    t_fail "prometheus_client parses /metrics" "$parsed" "$(head -30 "$T_DIR/metrics.txt")"
else
    t_is "$(j "$parsed" '._problems | length')" 0 "prometheus_client parses /metrics: every family typed, documented, tandem_" \
        "$(j "$parsed" '._problems | join("; ")')"
fi
m() { j "$parsed" ".[\"$1\"]"; }
num() { printf '%.0f' "$(m "$1")" 2>/dev/null; }
t_is "$(num 'tandem_frontend_requests_total{frontend=www}')" 50 "frontend www requests = 50"
t_is "$(num 'tandem_frontend_responses_total{code=2xx,frontend=www}')" 40 "frontend www 2xx = 40"
t_is "$(num 'tandem_frontend_responses_total{code=5xx,frontend=www}')" 6 "frontend www 5xx = 6"
t_is "$(num 'tandem_frontend_responses_total{code=4xx,frontend=www}')" 4 "frontend www 4xx = 4"
t_is "$(num 'tandem_frontend_requests_total{frontend=api}')" 5 "frontend api requests = 5"
a=$(num 'tandem_server_requests_total{backend=web,server=A}'); b=$(num 'tandem_server_requests_total{backend=web,server=B}')
t_is "$((a + b)):$(num 'tandem_backend_requests_total{backend=web}')" "50:50" "servers A + B = backend web = 50 requests ($a + $b)"
t_ge "$a" 20 "roundrobin: A has about half"
t_is "$(num 'tandem_backend_response_time_seconds_count{backend=web}')" 50 "histogram count = 50 responses"
t_is "$(num 'tandem_backend_response_time_seconds_bucket{backend=web,le=+Inf}')" 50 "histogram +Inf bucket = count"
t_ge "$(num 'tandem_frontend_bytes_out_total{frontend=www}')" 2000 "frontend bytes out counted"
t_ge "$(num 'tandem_server_bytes_in_total{backend=web,server=A}')" 1000 "server bytes in counted"
t_is "$(num 'tandem_server_state{backend=web,server=B,state=DRAIN}'):$(num 'tandem_server_state{backend=web,server=B,state=UP}')" \
    "1:0" "state gauge: B is DRAIN, not UP"
t_is "$(num 'tandem_server_state{backend=web,server=A,state=UP}')" 1 "state gauge: A is UP"
t_is "$(num 'tandem_server_weight{backend=api,server=C}')" 3 "weight gauge follows set weight"
t_is "$(num 'tandem_backend_up{backend=web}')" 1 "backend web is up"
t_is "$(num 'tandem_config_generation{}')" 1 "config generation 1"
t_is "$(num 'tandem_info{node=lb-metrics,version=0.1.0}')" 1 "tandem_info carries node and version"

# --- /stats.json
sj=$(cl_curl -u "$AUTH" "$STATS/stats.json")
t_is "$(j "$sj" '[.backends[].servers[] | "\(.backend)/\(.name)=\(.state)"] | join(" ")')" \
    "web/A=UP web/B=DRAIN api/C=UP" "/stats.json: every server with its state"
t_is "$(j "$sj" '.frontends[0].requests')" 50 "/stats.json: frontend requests"

# --- the dashboard, after a reload that turns basic auth off
write_conf ""
ctl reload >/dev/null
t_is "$(code "$STATS/")" 200 "auth off after reload: the dashboard answers without credentials"
page=$(cl_curl "$STATS/")
t_like "$page" '<script>' "the page carries its own script"
t_is "$(printf '%s' "$page" | grep -Eci '(src|href)="https?:')" 0 "no external assets"
if ! command -v chromium >/dev/null; then
    t_skip "dashboard rendered by chromium" "chromium not installed (scripts/install-deps.sh)"
else
    prof=$(mktemp -d "$T_DIR/chromium.XXXXXX")
    in_cl timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
        --disable-background-networking --disable-component-update --disable-sync --no-first-run \
        --user-data-dir="$prof" --virtual-time-budget=3000 --dump-dom "$STATS/" \
        >"$T_DIR/dom.html" 2>"$T_DIR/chromium.log"
    rendered=$(/usr/bin/python3 - "$T_DIR/dom.html" <<'PYEOF'
import sys
from html.parser import HTMLParser
class P(HTMLParser):
    def __init__(self):
        super().__init__(); self.backend = None; self.rows = []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "section" and "data-backend" in a:
            self.backend = a["data-backend"]
        if tag == "tr" and "data-server" in a:
            self.rows.append("%s/%s=%s" % (self.backend, a["data-server"], a.get("data-state")))
p = P(); p.feed(open(sys.argv[1], errors="replace").read())
print(" ".join(p.rows))
PYEOF
)
    t_is "$rendered" "web/A=UP web/B=DRAIN api/C=UP" "chromium: the rendered dashboard lists every server with its state" \
        "$(tail -5 "$T_DIR/chromium.log")"
    t_like "$(cat "$T_DIR/dom.html")" 'class="state s-DRAIN">DRAIN<' "chromium: the state is shown as a colored badge"
    t_like "$(cat "$T_DIR/dom.html")" 'data-frontend="www"' "chromium: frontends are listed"
fi

proxy_stop_check
t_done
