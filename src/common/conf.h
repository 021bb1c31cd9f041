/* conf.h - the parsed configuration (/etc/tandem/tandem.conf, libconfig
 * syntax). One file is read by every daemon; each takes its own part.
 * Every struct records the line it came from so later checks (and runtime
 * log lines) can point back at the file. Times are in milliseconds. */
#ifndef TANDEM_CONF_H
#define TANDEM_CONF_H

#include <stdint.h>
#include "addr.h"
#include "health_expect.h"
#include "conf_tls.h"

enum px_mode { MODE_HTTP = 0, MODE_TCP, MODE_UDP };

enum lb_algo {
    LB_ROUNDROBIN = 0,   /* "roundrobin": plain rotation, weight 0 = no traffic */
    LB_WRR,              /* "wrr" / "weighted_roundrobin": smooth weighted RR (nginx) */
    LB_LEASTCONN,        /* "leastconn" / "least_conn" */
    LB_WLEASTCONN,       /* "weighted_leastconn": active / weight */
    LB_SOURCE,           /* "source" / "ip_hash": hash of the client IP */
    LB_HASH,             /* "hash" / "consistent_hash" / "maglev": Maglev on hash_key */
    LB_LEASTTIME,        /* "leasttime" / "least_time": EWMA response time x active */
    LB_RANDOM,           /* "random": weighted random */
    LB_P2C,              /* "p2c" / "random2": power of two choices */
    LB_ALGO_COUNT
};

/* What a hash-based algorithm hashes. */
enum hash_key_kind { HASH_KEY_SOURCE = 0, HASH_KEY_URI, HASH_KEY_HEADER, HASH_KEY_COOKIE };
struct hash_key_spec {
    enum hash_key_kind kind;
    char *name;          /* header or cookie name for HEADER / COOKIE */
};

enum proxy_proto_version { PROXY_PROTO_NONE = 0, PROXY_PROTO_V1 = 1, PROXY_PROTO_V2 = 2 };

struct conf_server {
    char *name;
    struct net_addr addr;
    int weight;                        /* 0..256, default 1 */
    unsigned maxconn;                  /* 0 = unlimited */
    enum proxy_proto_version send_proxy;
    int backup;                        /* used only when no non-backup server is up */
    int line;
};

/* health = { ... }: active checks of every server of a backend (health.c). */
enum health_type { HEALTH_TCP = 0, HEALTH_HTTP, HEALTH_TLS };

struct conf_health {
    int enabled;                       /* the group is present */
    int type;                          /* enum health_type, default tcp */
    char *method;                      /* http: default "GET" */
    char *path;                        /* http: default "/" */
    char *host;                        /* http: default the server's address */
    char *body;                        /* http: substring the body must hold, or NULL */
    struct health_range expect[HEALTH_EXPECT_MAX];
    unsigned nexpect;                  /* default one range, 200-399 */
    uint64_t interval_ms;              /* default 2s */
    uint64_t fast_interval_ms;         /* while a server changes state; default interval */
    uint64_t timeout_ms;               /* default 1s */
    unsigned rise, fall;               /* default 2 and 3 */
    int observe_only;                  /* checks run and log, never change state */
    int line;
};

/* passive = { ... }: consecutive failures seen by live traffic; 0 = off. */
struct conf_passive {
    unsigned connect_failures;
    unsigned http_5xx;
};

/* sticky = { ... }: session persistence (docs/sticky.md). Strings left
 * NULL take their defaults where used: cookie "SRV", path "/". */
enum conf_sticky_mode {
    STICKY_MODE_NONE = 0, STICKY_MODE_INSERT, STICKY_MODE_APP, STICKY_MODE_SOURCE,
};
enum conf_samesite {
    STICKY_SAMESITE_OFF = 0, STICKY_SAMESITE_LAX, STICKY_SAMESITE_STRICT, STICKY_SAMESITE_NONE,
};
struct conf_sticky {
    int mode;                          /* enum conf_sticky_mode */
    char *cookie;                      /* insert: the cookie the proxy sets */
    char *app_cookie;                  /* app: the server's session cookie */
    uint64_t ttl_ms;                   /* refreshed on use, default 30m */
    unsigned max_entries;              /* default 1000000 */
    char *path;                        /* insert: cookie Path */
    int httponly, secure;              /* insert: cookie attributes (default 1, 0) */
    int samesite;                      /* insert: enum conf_samesite, default Lax */
};

struct conf_backend {
    char *name;
    enum lb_algo algo;
    struct hash_key_spec hash_key;     /* for LB_HASH (LB_SOURCE always hashes the IP) */
    struct conf_server *servers;
    unsigned nservers;
    unsigned retries;                  /* connect retries on another server, default 2 */
    unsigned maxqueue;                 /* requests waiting for a free server, default 128; 0 = 503 at once */
    uint64_t connect_timeout_ms;       /* timeouts.connect, default 5s */
    uint64_t server_timeout_ms;        /* timeouts.server: waiting on the server, default 30s */
    uint64_t queue_timeout_ms;         /* timeouts.queue, default 5s */
    uint64_t tunnel_timeout_ms;        /* timeouts.tunnel: idle websocket/tcp tunnels, default 1h */
    unsigned keepalive_pool;           /* idle server connections kept per thread, default 1024 */
    uint64_t keepalive_idle_ms;        /* keepalive.idle_timeout, default 60s */
    uint64_t slowstart_ms;             /* ramp after a server comes UP, default 0 */
    struct conf_health health;
    struct conf_passive passive;
    struct conf_sticky sticky;
    struct conf_tls_backend *tls;      /* tls = { ... }: re-encryption, NULL = plain */
    int line;
};

enum route_cond_kind {
    ROUTE_HOST = 0,        /* host = "www.example.com" or "*.example.com" */
    ROUTE_PATH_PREFIX,     /* path_prefix = "/api/" */
    ROUTE_PATH,            /* path = "/exact" */
    ROUTE_HEADER,          /* header = { name = "X-Env"; value = "canary"; } */
    ROUTE_COOKIE,          /* cookie = { name = "beta"; value = "1"; } */
    ROUTE_QUERY,           /* query = { name = "v"; value = "2"; } */
    ROUTE_METHOD,          /* method = "POST" */
    ROUTE_SNI,             /* sni = "www.example.com" or "*.example.com" (mode tcp only) */
};

/* One condition. For HEADER/COOKIE/QUERY a NULL value means "present".
 * HOST/PATH_PREFIX/PATH/METHOD/SNI keep their string in value (name NULL);
 * hosts and server names are stored lower-cased. */
struct conf_route_cond {
    enum route_cond_kind kind;
    char *name;
    char *value;
};

/* rate_limit = { ... } or ( { ... }, ... ) on a frontend or a route
 * (docs/ratelimit.md; the limiters are src/proxy/ratelimit.c). */
enum rl_algo { RL_TOKEN_BUCKET = 0, RL_SLIDING_WINDOW, RL_FIXED_WINDOW };
enum rl_key_kind { RL_KEY_IP = 0, RL_KEY_HEADER, RL_KEY_COOKIE, RL_KEY_PATH, RL_KEY_GLOBAL };
#define RL_RATE_MAX 10000000u         /* keeps rate x per far from overflow */

struct conf_ratelimit {
    char *name;                        /* unique in the file; default "FE.N" or "FE.routeR.N" */
    int key;                           /* enum rl_key_kind, default ip */
    char *key_name;                    /* header or cookie name */
    int algo;                          /* enum rl_algo, default token_bucket */
    unsigned rate;                     /* requests (tcp: connections) per `per`, required */
    uint64_t per_ms;                   /* default 1s */
    unsigned burst;                    /* token bucket capacity, default rate */
    unsigned max_keys;                 /* keys tracked (LRU), default 100000 */
    int line;
};

struct conf_ratelimits {
    struct conf_ratelimit *v;
    unsigned n;
};

/* A route matches when all its conditions match; the first match wins.
 * A route with no condition matches everything (a default). */
struct conf_route {
    struct conf_route_cond *conds;
    unsigned nconds;
    char *backend;                     /* backend name */
    int backend_index;                 /* resolved index into tandem_config.backends */
    struct conf_ratelimits rate_limits;/* checked after the frontend's */
    int line;
};

struct conf_frontend {
    char *name;
    enum px_mode mode;
    struct net_addr *binds;            /* bind = "addr:port" or [ "addr:port", ... ] */
    unsigned nbinds;
    unsigned maxconn;                  /* default 10000 */
    int accept_proxy;                  /* expect a PROXY v1/v2 header first */
    int add_xff;                       /* X-Forwarded-For / -Proto, default on */
    int request_id;                    /* add X-Request-Id when absent, default off */
    int access_log;                    /* default on when global access_log is set */

    struct conf_route *routes;
    unsigned nroutes;
    char *default_backend;             /* backend = "name" (required for tcp/udp) */
    int default_backend_index;         /* -1 if none */

    /* timeouts = { client, http_request, http_keepalive, request } */
    uint64_t client_timeout_ms;        /* client inactivity, default 30s */
    uint64_t http_request_timeout_ms;  /* whole request head, default 10s */
    uint64_t http_keepalive_timeout_ms;/* idle between requests, default 10s */
    uint64_t request_timeout_ms;       /* head and body, 0 = off (default) */

    /* limits = { max_request_line, max_header_size, max_headers, max_body } */
    uint64_t max_request_line;         /* default 8k */
    uint64_t max_header_size;          /* whole request head, default 32k */
    unsigned max_headers;              /* default 100 */
    uint64_t max_body;                 /* 0 = unlimited (default) */

    /* udp = { flow_timeout, max_flows } */
    uint64_t udp_flow_timeout_ms;      /* default 30s */
    unsigned udp_max_flows;            /* per worker thread, default 65536 */
    struct conf_ratelimits rate_limits;/* http and tcp */
    struct conf_tls_frontend *tls;     /* tls = { ... }: termination, NULL = plain */
    int line;
};

enum log_dest { LOGDEST_STDERR = 0, LOGDEST_SYSLOG };

struct conf_global {
    unsigned threads;                  /* 0 = one per core */
    enum log_dest log_target;          /* log = { target, level, facility } */
    int log_level;                     /* enum log_level */
    int log_facility;                  /* syslog facility value */
    char *access_log;                  /* NULL (off), "stderr", "syslog" or a file path */
    unsigned maxconn;                  /* process-wide, default 20000 scaled to RLIMIT_NOFILE */
    uint64_t grace_ms;                 /* SIGTERM drain time, default 10s */
    char *status_socket;               /* runtime API socket path (issue 4) */
    char *status_socket_group;         /* group owning it (mode 0660); NULL: ours */
};

/* stats = { bind; auth = { user; password; }; }: /metrics, /stats.json, dashboard. */
struct conf_stats {
    int enabled;                       /* the section is present */
    struct net_addr bind;
    char *user;                        /* basic auth when set */
    char *password;
};

/* sync = { listen; peer; psk_file | cert, key, ca; ... }: the channel to
 * the peer box's proxy (docs/sync.md). */
struct conf_sync {
    int enabled;                       /* the section is present */
    struct net_addr listen;            /* where the peer dials us */
    struct net_addr peer;              /* where we dial the peer */
    char *psk_file;                    /* TLS 1.3 external PSK (hex), or */
    char *cert, *key, *ca;             /* mutual certificates */
    char *peer_name;                   /* expected name in the peer's certificate */
    uint64_t heartbeat_ms;             /* heartbeat and ack interval */
    uint64_t timeout_ms;               /* nothing heard for this long: link down */
    uint64_t reconnect_min_ms;         /* redial backoff, doubling up to max */
    uint64_t reconnect_max_ms;
    uint64_t queue_bytes;              /* send buffer bound; past it, a resync */
    uint64_t conn_grace_ms;            /* returning tcp clients keep their server */
    uint64_t rl_interval_ms;           /* rate-limit counters exchanged this often */
    unsigned max_peer_conns;           /* bound of the peer's connection table copy */
    uint64_t ready_wait_ms;            /* at most this long "syncing" at start */
    int line;
};

struct tandem_config {
    char *path;
    char *node_name;                   /* node = { name = "lb-a"; } */
    struct conf_global global;
    struct conf_stats stats;
    struct conf_sync sync;
    struct conf_frontend *frontends;
    unsigned nfrontends;
    struct conf_backend *backends;
    unsigned nbackends;
};

/* Errors are collected, not stopped at, so `-t` can print them all. Each
 * message is already formatted as "FILE:LINE: message". */
struct conf_errors {
    char **msgs;
    unsigned n;
};

/* Loads the proxy's part of the file (node, global, frontends, backends)
 * and validates it. Sections that belong to other daemons (vrrp, sync) are
 * recognised and left alone. Returns the config, or NULL with errs filled. */
struct tandem_config *conf_load_proxy(const char *path, struct conf_errors *errs);
/* The same from text in memory; `name` stands for the file in messages
 * (for tests and the fuzzer). */
struct tandem_config *conf_load_proxy_string(const char *text, const char *name,
                                             struct conf_errors *errs);
void conf_free(struct tandem_config *cfg);

void conf_errors_add(struct conf_errors *errs, const char *file, int line,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void conf_errors_free(struct conf_errors *errs);

/* Names as written in the config file. */
const char *conf_algo_name(enum lb_algo algo);
int conf_algo_from_name(const char *name);   /* -1 if unknown */
const char *conf_mode_name(enum px_mode mode);
int conf_backend_index(const struct tandem_config *cfg, const char *name);

#endif
