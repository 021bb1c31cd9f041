#!/bin/bash
# routing.sh - every routing rule (host, wildcard host, path prefix, exact
# path, header value and presence, cookie, query parameter, method, all
# conditions of a route together), first match wins, and the default backend.
. "$(dirname "$0")/lib.sh"
t_need_root; t_need_proxy
topo_up

B=${BE_IPS[0]}
names=(web api exact hostb wild hdr present ck qry meth multi)
specs=(); port=8081
declare -A PORT
for n in "${names[@]}"; do specs+=("$n@$B:$port"); PORT[$n]=$port; port=$((port + 1)); done
backend_multi be "${specs[@]}"

conf=$T_DIR/tandem.conf
{
    conf_global 2
    cat <<EOF
frontends = ( { name = "www"; bind = "$LB_IP:80"; mode = "http"; backend = "web";
  routes = (
    { path = "/exact"; backend = "exact"; },
    { host = "api.example.com"; backend = "hostb"; },
    { host = "*.wild.example"; backend = "wild"; },
    { path_prefix = "/api/"; backend = "api"; },
    { header = { name = "X-Env"; value = "canary"; }; backend = "hdr"; },
    { header = { name = "X-Present"; }; backend = "present"; },
    { cookie = { name = "beta"; value = "1"; }; backend = "ck"; },
    { query = { name = "v"; value = "2"; }; backend = "qry"; },
    { method = "DELETE"; backend = "meth"; },
    { path_prefix = "/multi/"; method = "POST"; backend = "multi"; }
  ); } );
backends = (
EOF
    sep=""
    for n in "${names[@]}"; do
        printf '%s  { name = "%s"; servers = ( { name = "%s"; addr = "%s:%s"; } ); }\n' \
            "$sep" "$n" "$n" "$B" "${PORT[$n]}"
        sep=","
    done
    echo ");"
} | proxy_conf "$conf"
proxy_start "$conf" "tcp:$LB_IP:80"

# route DESC WANT CURL-ARGS...: the request must be answered by backend WANT.
route() {
    local desc=$1 want=$2 got; shift 2
    got=$(cl_curl -o /dev/null -w '%{http_code} %header{x-backend}' "$@" 2>&1)
    t_is "$got" "200 $want" "$desc" "curl $*"
}
U=http://$LB_IP

route "no rule matches: default backend" web "$U/"
route "exact path" exact "$U/exact"
route "exact path does not match a longer path" web "$U/exact/more"
route "exact path does not match a prefix of it" web "$U/exactly"
route "exact path ignores the query string" exact "$U/exact?x=1"
route "host" hostb -H "Host: api.example.com" "$U/"
route "host is case-insensitive" hostb -H "Host: API.Example.COM" "$U/"
route "host with a port" hostb -H "Host: api.example.com:80" "$U/"
route "other host: default" web -H "Host: www.example.com" "$U/"
route "wildcard host" wild -H "Host: foo.wild.example" "$U/"
route "wildcard host, deeper name" wild -H "Host: a.b.wild.example" "$U/"
route "wildcard host does not match a suffix without a dot" web -H "Host: notwild.example" "$U/"
route "path prefix" api "$U/api/users"
route "path prefix needs the whole prefix" web "$U/apix"
route "first match wins (host before path prefix)" hostb -H "Host: api.example.com" "$U/api/users"
route "first match wins (exact path before header)" exact -H "X-Env: canary" "$U/exact"
route "header value" hdr -H "X-Env: canary" "$U/"
route "header name is case-insensitive" hdr -H "x-env: canary" "$U/"
route "other header value: default" web -H "X-Env: prod" "$U/"
route "header presence (no value in the rule)" present -H "X-Present: anything" "$U/"
route "cookie" ck -H "Cookie: a=b; beta=1; c=d" "$U/"
route "cookie as the only one" ck -H "Cookie: beta=1" "$U/"
route "cookie with another value: default" web -H "Cookie: beta=10" "$U/"
route "cookie name is not a suffix match" web -H "Cookie: xbeta=1" "$U/"
route "query parameter" qry "$U/?v=2"
route "query parameter among others" qry "$U/some/path?x=1&v=2&y=3"
route "query parameter with another value: default" web "$U/?v=20"
route "query parameter name is not a suffix match" web "$U/?xv=2"
route "method" meth -X DELETE "$U/"
route "all conditions of a route must match (POST /multi/)" multi -X POST -d x "$U/multi/a"
route "all conditions of a route must match (GET /multi/: default)" web "$U/multi/a"

# The routing decision is made per request on a keep-alive connection.
got=$(in_cl curl -sS --max-time 10 -o /dev/null -w '%header{x-backend} %{num_connects}\n' \
      "$U/api/1" --next -o /dev/null -w '%header{x-backend} %{num_connects}\n' "$U/exact" \
      --next -o /dev/null -w '%header{x-backend} %{num_connects}\n' "$U/" | tr '\n' ' ')
t_is "$got" "api 1 exact 0 web 0 " "each request on one keep-alive connection is routed on its own"

proxy_stop_check
t_done
