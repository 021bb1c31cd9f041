/* accesslog.h - one line per HTTP request or TCP/UDP connection, to
 * stderr, syslog or a file (global access_log). Written with one write(2)
 * per line from any worker thread. */
#ifndef TANDEM_ACCESSLOG_H
#define TANDEM_ACCESSLOG_H

#include <stdint.h>
#include <sys/socket.h>

struct accesslog_entry {
    const struct sockaddr *client;
    const char *frontend;
    const char *backend;        /* "-" if none */
    const char *server;         /* "-" if none */
    int status;                 /* http status; 0 for tcp/udp */
    uint64_t bytes_in;          /* from the client */
    uint64_t bytes_out;         /* to the client */
    /* Timings in ms, -1 when the step did not happen (HAProxy's Tq/Tw/Tc/Tr/Tt). */
    int64_t t_request;          /* request head received */
    int64_t t_queue;            /* waited in the server queue */
    int64_t t_connect;          /* connect to the server */
    int64_t t_response;         /* server response head */
    int64_t t_total;            /* whole request or connection */
    const char *method;         /* NULL for tcp/udp */
    const char *path;           /* not NUL-terminated: path_len bytes */
    unsigned path_len;
    const char *termination;    /* "--" normal, or a short reason ("cT" client timeout...) */
};

/* Opens the destination: NULL (off), "stderr", "syslog" or a file path.
 * Returns 0, or -1 with errno set. Safe to call again on reload. */
int accesslog_open(const char *dest);
int accesslog_enabled(void);
void accesslog_write(const struct accesslog_entry *e);
void accesslog_close(void);

#endif
