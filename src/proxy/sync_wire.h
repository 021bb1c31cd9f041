/* sync_wire.h - the messages of the peer sync channel
 * (docs/sync-protocol.md): their encoding into bytes and the decoding of
 * untrusted bytes from the peer back into them.
 *
 * A frame is an 8-byte header then the payload:
 *
 *   magic "TS" (2) | version (1) | type (1) | payload length (4, big endian)
 *
 * Integers are big endian, strings are a length byte then that many bytes
 * (no NUL; names are 1..64 bytes of the config's name alphabet), addresses
 * 16 bytes (IPv4-mapped) with ports as 2 bytes. A payload is at most
 * SYNC_PAYLOAD_MAX bytes. A decoder that meets an unknown version or type,
 * a length out of range, a payload longer or shorter than its type needs,
 * or a field out of range refuses the whole frame: the channel is closed
 * and the peer reconnects (it never guesses).
 *
 * Pure: no I/O, no allocation. */
#ifndef TANDEM_SYNC_WIRE_H
#define TANDEM_SYNC_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include "conntable.h"
#include "sticky.h"
#include "ratelimit.h"

#define SYNC_MAGIC0       'T'
#define SYNC_MAGIC1       'S'
#define SYNC_VERSION      1
#define SYNC_HDR_LEN      8
#define SYNC_PAYLOAD_MAX  4096
#define SYNC_FRAME_MAX    (SYNC_HDR_LEN + SYNC_PAYLOAD_MAX)
#define SYNC_NAME_MAX     64            /* node, backend, server, frontend, limit names */
#define SYNC_VIPS_MAX     16            /* VRRP instance names in a heartbeat */

enum sync_type {
    SYNC_HELLO = 1,        /* dialer -> acceptor, first frame */
    SYNC_WELCOME = 2,      /* acceptor -> dialer, answer to HELLO */
    SYNC_STICKY = 3,       /* a sticky-table change, or a snapshot entry (seq 0) */
    SYNC_CONN = 4,         /* a connection-table change, or a snapshot entry (seq 0) */
    SYNC_RL = 5,           /* one rate-limit key's counts on the sender */
    SYNC_SNAP_BEGIN = 6,   /* a table's snapshot follows */
    SYNC_SNAP_END = 7,     /* ...ends; the stream resumes after `seq` */
    SYNC_ACK = 8,          /* acceptor -> dialer: applied up to these seqs */
    SYNC_HEARTBEAT = 9,    /* either way: alive, and which VIPs I hold */
    SYNC_RESYNC = 10,      /* acceptor -> dialer: send me full snapshots */
    SYNC_BYE = 11,         /* either way: closing, with a reason */
};

enum sync_table { SYNC_TABLE_STICKY = 1, SYNC_TABLE_CONN = 2 };

struct sync_hello {
    uint64_t boot_id;                  /* random per process start */
    char node[SYNC_NAME_MAX + 1];
};

struct sync_welcome {
    uint64_t boot_id;                  /* the acceptor's */
    uint64_t sticky_seq;               /* resume after this (0: snapshot please) */
    uint64_t conn_seq;
    char node[SYNC_NAME_MAX + 1];
};

/* A sticky change: type is enum sticky_event_type (SET, REFRESH, DELETE,
 * EXPIRE, EVICT, CLEAR). remaining_ms is expire - at on the sender's
 * clock (the receiver adds its own now). CLEAR carries only backend ("" =
 * all). */
struct sync_sticky {
    uint64_t seq;                      /* 0 in a snapshot */
    uint32_t remaining_ms;
    uint32_t ttl_ms;
    uint8_t type;
    uint8_t kind;                      /* enum sticky_kind; 0 for CLEAR */
    uint8_t key_len;                   /* 1..STICKY_KEY_MAX; 0 for CLEAR */
    uint8_t key[STICKY_KEY_MAX];
    char backend[SYNC_NAME_MAX + 1];
    char server[SYNC_NAME_MAX + 1];    /* SET, REFRESH; else "" */
};

/* A connection change: type is enum conn_event_type (OPEN, STATE,
 * CLOSE); info is the connection after it. */
struct sync_conn {
    uint64_t seq;                      /* 0 in a snapshot */
    uint8_t type;
    struct conn_info info;             /* names NUL-terminated, <= 64 bytes */
};

/* One key of one rate limit, as the sender counts it (its own slot). */
struct sync_rl {
    char limit[SYNC_NAME_MAX + 1];
    uint8_t key_len;                   /* 0..RL_KEY_MAX */
    uint8_t key[RL_KEY_MAX];
    struct rl_node_report r;
};

struct sync_snap {
    uint8_t table;                     /* enum sync_table */
    uint64_t seq;                      /* SNAP_END: the stream resumes after it */
};

struct sync_ack {
    uint64_t sticky_seq;
    uint64_t conn_seq;
};

struct sync_heartbeat {
    uint64_t now_ms;                   /* sender's wall clock */
    uint64_t sticky_seq;               /* sender's newest of each feed */
    uint64_t conn_seq;
    uint8_t nvips;                     /* VRRP instances whose VIPs the sender holds */
    char vips[SYNC_VIPS_MAX][SYNC_NAME_MAX + 1];
};

struct sync_resync {
    uint8_t tables;                    /* bit (1 << enum sync_table) each */
};

struct sync_bye {
    char reason[128];                  /* printable ASCII, may be "" */
};

struct sync_msg {
    uint8_t type;                      /* enum sync_type */
    union {
        struct sync_hello hello;
        struct sync_welcome welcome;
        struct sync_sticky sticky;
        struct sync_conn conn;
        struct sync_rl rl;
        struct sync_snap snap;
        struct sync_ack ack;
        struct sync_heartbeat hb;
        struct sync_resync resync;
        struct sync_bye bye;
    } u;
};

/* Encodes m as one frame into out (room for at least SYNC_FRAME_MAX bytes
 * is always enough). Returns the frame's length, or -1 if m holds
 * something the wire cannot carry (an over-long name or key, an unknown
 * type). */
int sync_encode(const struct sync_msg *m, uint8_t *out, size_t cap);

/* Decodes the frame at the start of buf (len bytes available).
 * Returns the frame's length (> 0) with m filled (zeroed first, so what
 * the frame does not carry reads 0), 0 if more bytes are needed (only
 * when what is there is a valid start), or -1 if the bytes are not a
 * valid frame; then *err names what was wrong, for the log. */
int sync_decode(const uint8_t *buf, size_t len, struct sync_msg *m, const char **err);

/* "HELLO", "STICKY", ... or "?" */
const char *sync_type_name(unsigned type);

#endif
