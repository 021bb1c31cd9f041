#!/bin/bash
# config_check.sh - `tandem-proxy -t -c FILE`: exit 0 on a good file, exit 1
# on a bad one with every error printed as FILE:LINE: message. Each bad file
# puts the offending object on one known line, so the line number is exact.
. "$(dirname "$0")/lib.sh"
t_need_proxy

good=$T_DIR/good.conf
cat >"$good" <<'EOF'
node = { name = "lb-a"; };
global = { threads = 2; access_log = "stderr"; grace = "5s"; log = { level = "info"; }; };
frontends = (
  { name = "www"; bind = "198.51.100.10:80"; mode = "http";
    routes = ( { path_prefix = "/api/"; backend = "api"; },
               { host = "*.example.com"; header = { name = "X-Env"; value = "canary"; }; backend = "api"; } );
    backend = "web";
    timeouts = { client = "5s"; http_request = "2s"; };
    limits = { max_body = "1m"; max_request_line = "8k"; }; },
  { name = "db"; bind = [ "198.51.100.10:5432", "[2001:db8:1::10]:5432" ]; mode = "tcp"; backend = "api"; },
  { name = "dns"; bind = "198.51.100.10:53"; mode = "udp"; backend = "web"; udp = { flow_timeout = "10s"; }; }
);
backends = (
  { name = "web"; algorithm = "roundrobin";
    servers = ( { name = "s1"; addr = "203.0.113.11:8080"; weight = 1; },
                { name = "s2"; addr = "[2001:db8:2::11]:8080"; weight = 0; } ); },
  { name = "api"; algorithm = "hash"; hash_key = "header:X-User";
    timeouts = { connect = "1s"; server = "30s"; };
    servers = ( { name = "a1"; addr = "203.0.113.12:8080"; send_proxy = "v2"; } ); }
);
vrrp = { interface = "eth0"; };
EOF

out=$("$PROXY_BIN" -t -c "$good" 2>&1); rc=$?
t_is "$rc" 0 "good file: exit 0" "$out"
out=$("$PROXY_BIN" -t -q -c "$good" 2>&1); rc=$?
t_is "$rc:$out" "0:" "good file with -q: exit 0, prints nothing"

# bad NAME LINE REGEX <<EOF ...: the file must fail with exactly one error
# reported as FILE:LINE: and a message matching REGEX.
bad() {
    local name=$1 line=$2 re=$3 f=$T_DIR/$1.conf out rc
    cat >"$f"
    out=$("$PROXY_BIN" -t -c "$f" 2>&1); rc=$?
    if [ "$rc" != 1 ]; then
        t_fail "$name: exit 1" "exit status $rc" "$out"; return
    fi
    if printf '%s\n' "$out" | grep -Eq -- "^$f:$line: .*($re)"; then
        t_ok "$name: reported as FILE:$line: ... ($re)"
    else
        t_fail "$name: reported as FILE:$line: ... ($re)" "output:" "$out" "file:" "$(cat -n "$f")"
    fi
}

BASE_BE='backends = ( { name = "web"; servers = ( { name = "s1"; addr = "203.0.113.11:8080"; } ); } );'

bad syntax 2 'syntax|parse|unexpected|error' <<EOF
global = { threads = 1; };
frontends = ( { name = "www"; bind = "198.51.100.10:80"; mode = = "http"; backend = "web"; } );
$BASE_BE
EOF

bad unknown_key 2 'bogus_key' <<EOF
global = { threads = 1; };
frontends = ( { name = "www"; bind = "198.51.100.10:80"; mode = "http"; backend = "web"; bogus_key = 1; } );
$BASE_BE
EOF

bad unknown_top_key 3 'frontendz' <<EOF
global = { threads = 1; };
frontends = ( { name = "www"; bind = "198.51.100.10:80"; mode = "http"; backend = "web"; } );
frontendz = ( );
$BASE_BE
EOF

bad wrong_type 1 'threads' <<EOF
global = { threads = "two"; };
frontends = ( { name = "www"; bind = "198.51.100.10:80"; mode = "http"; backend = "web"; } );
$BASE_BE
EOF

bad bad_address 4 'addr|address|203\.0\.113\.300' <<'EOF'
global = { threads = 1; };
frontends = ( { name = "www"; bind = "198.51.100.10:80"; mode = "http"; backend = "web"; } );
backends = ( { name = "web"; servers = (
  { name = "s1"; addr = "203.0.113.300:8080"; } ); } );
EOF

bad bad_bind 2 'bind|address|port' <<'EOF'
global = { threads = 1; };
frontends = ( { name = "www"; bind = "198.51.100.10:99999"; mode = "http"; backend = "web"; } );
backends = ( { name = "web"; servers = ( { name = "s1"; addr = "203.0.113.11:8080"; } ); } );
EOF

bad duplicate_backend 5 'duplicate|already|web' <<'EOF'
global = { threads = 1; };
frontends = ( { name = "www"; bind = "198.51.100.10:80"; mode = "http"; backend = "web"; } );
backends = (
  { name = "web"; servers = ( { name = "s1"; addr = "203.0.113.11:8080"; } ); },
  { name = "web"; servers = ( { name = "s2"; addr = "203.0.113.12:8080"; } ); } );
EOF

bad duplicate_server 4 'duplicate|already|s1' <<'EOF'
global = { threads = 1; };
frontends = ( { name = "www"; bind = "198.51.100.10:80"; mode = "http"; backend = "web"; } );
backends = ( { name = "web"; servers = ( { name = "s1"; addr = "203.0.113.11:8080"; },
  { name = "s1"; addr = "203.0.113.12:8080"; } ); } );
EOF

bad missing_backend 3 'nosuch' <<'EOF'
global = { threads = 1; };
frontends = ( { name = "www"; bind = "198.51.100.10:80"; mode = "http"; backend = "web";
  routes = ( { path_prefix = "/x/"; backend = "nosuch"; } ); } );
backends = ( { name = "web"; servers = ( { name = "s1"; addr = "203.0.113.11:8080"; } ); } );
EOF

bad weight_range 3 'weight|range|256' <<'EOF'
global = { threads = 1; };
frontends = ( { name = "www"; bind = "198.51.100.10:80"; mode = "http"; backend = "web"; } );
backends = ( { name = "web"; servers = ( { name = "s1"; addr = "203.0.113.11:8080"; weight = 300; } ); } );
EOF

bad bad_duration 3 'client|duration|5x' <<'EOF'
global = { threads = 1; };
frontends = ( { name = "www"; bind = "198.51.100.10:80"; mode = "http"; backend = "web";
  timeouts = { client = "5x"; }; } );
backends = ( { name = "web"; servers = ( { name = "s1"; addr = "203.0.113.11:8080"; } ); } );
EOF

bad bad_size 3 'max_body|size|12q' <<'EOF'
global = { threads = 1; };
frontends = ( { name = "www"; bind = "198.51.100.10:80"; mode = "http"; backend = "web";
  limits = { max_body = "12q"; }; } );
backends = ( { name = "web"; servers = ( { name = "s1"; addr = "203.0.113.11:8080"; } ); } );
EOF

bad bad_algorithm 3 'algorithm|fastest' <<'EOF'
global = { threads = 1; };
frontends = ( { name = "www"; bind = "198.51.100.10:80"; mode = "http"; backend = "web"; } );
backends = ( { name = "web"; algorithm = "fastest"; servers = ( { name = "s1"; addr = "203.0.113.11:8080"; } ); } );
EOF

bad bad_mode 2 'mode|sctp' <<'EOF'
global = { threads = 1; };
frontends = ( { name = "www"; bind = "198.51.100.10:80"; mode = "sctp"; backend = "web"; } );
backends = ( { name = "web"; servers = ( { name = "s1"; addr = "203.0.113.11:8080"; } ); } );
EOF

bad tcp_without_backend 2 'backend' <<'EOF'
global = { threads = 1; };
frontends = ( { name = "db"; bind = "198.51.100.10:5432"; mode = "tcp"; } );
backends = ( { name = "web"; servers = ( { name = "s1"; addr = "203.0.113.11:8080"; } ); } );
EOF

# Every error is reported, not only the first.
multi=$T_DIR/multi.conf
cat >"$multi" <<'EOF'
global = { threads = 1; };
frontends = ( { name = "www"; bind = "198.51.100.10:80"; mode = "http"; backend = "nosuch"; } );
backends = ( { name = "web"; servers = ( { name = "s1"; addr = "203.0.113.11:8080"; weight = 999; } ); },
             { name = "api"; algorithm = "bogus"; servers = ( { name = "s1"; addr = "203.0.113.12:8080"; } ); } );
EOF
out=$("$PROXY_BIN" -t -c "$multi" 2>&1); rc=$?
lines=$(printf '%s\n' "$out" | grep -oE "^$multi:[0-9]+:" | sort -u | tr '\n' ' ')
t_is "$rc:$lines" "1:$multi:2: $multi:3: $multi:4: " "three errors on lines 2, 3 and 4 are all reported" "$out"

out=$("$PROXY_BIN" -t -c "$T_DIR/does-not-exist.conf" 2>&1); rc=$?
t_is "$rc" 1 "missing file: exit 1" "$out"
t_like "$out" "does-not-exist\.conf" "missing file: the error names the file"

t_done
