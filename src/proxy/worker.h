/* worker.h - one worker thread: its own event_base, its own SO_REUSEPORT
 * listeners, its own balancers and idle server-connection pools. Nothing on
 * a worker's request path takes a lock; cross-thread state lives in atomics
 * (server.h, runtime.h).
 *
 * Session modules (http_proxy.c, tcp_proxy.c, udp_proxy.c) are entered
 * through the accept hooks below and report back through worker_session_*
 * so the worker can count, drain and reload around them. */
#ifndef TANDEM_WORKER_H
#define TANDEM_WORKER_H

#include <event2/event.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include "runtime.h"
#include "balance.h"

struct worker;

/* Every live session embeds one of these and registers it, so the worker
 * can ask it to finish on drain (SIGTERM) and can count it. */
struct worker_session {
    TAILQ_ENTRY(worker_session) link;
    struct runtime *rt;     /* set by worker_session_add: the runtime it started under */
    /* Called once when the worker starts draining: the session should stop
     * reading new requests (http: answer the current one with
     * "Connection: close", close at once if idle) and end soon. */
    void (*drain)(struct worker_session *ws);
    /* Called when the grace time is over: close now. */
    void (*abort)(struct worker_session *ws);
};
TAILQ_HEAD(worker_session_list, worker_session);

struct worker {
    unsigned id;
    pthread_t thread;
    struct event_base *base;
    struct runtime *rt;                  /* current runtime (new sessions use it) */
    struct balancer **balancers;         /* one per rt->backends[i] */
    void **pools;                        /* http: idle server connections, per backend */
    struct worker_session_list sessions;
    unsigned nsessions;
    int draining;
    uint64_t rng;                        /* xorshift state, for the worker's own use */
    void *priv;                          /* worker.c internals (listeners, events) */
};

/* Accept hooks: called on the worker thread with a connected, non-blocking
 * client socket. The session owns fd from then on and must close it. The
 * caller has already incremented fe->active and counted conns_total; the
 * session calls worker_frontend_conn_done() exactly once when the client
 * connection closes. `local` is the address the client connected to (the
 * VIP). */
void http_session_accept(struct worker *w, struct frontend_rt *fe, int fd,
                         const struct sockaddr_storage *peer,
                         const struct sockaddr_storage *local);
void tcp_session_accept(struct worker *w, struct frontend_rt *fe, int fd,
                        const struct sockaddr_storage *peer,
                        const struct sockaddr_storage *local);
/* Frees the calling worker thread's pools of tcp copy buffers and empty
 * pipes (tcp_proxy.c); called when the worker's loop has ended. */
void tcp_thread_cleanup(void);

/* UDP: the worker hands each of its bound UDP sockets (SO_REUSEPORT, one
 * per bind per worker) to the udp module once; the module owns reading it.
 * udp_frontend_detach is called on reload (bind removed) and on stop; it
 * must stop reading the socket, and close it, and let existing flows end. */
struct udp_frontend;
struct udp_frontend *udp_frontend_attach(struct worker *w, struct frontend_rt *fe, int fd);
void udp_frontend_detach(struct udp_frontend *uf);
/* On reload the frontend object for a kept bind changes. */
void udp_frontend_rebind(struct udp_frontend *uf, struct frontend_rt *fe);

/* Per-worker setup/teardown for the http module (idle pools for each
 * backend of w->rt; called at start and after each reload on the worker
 * thread; the old pools are passed so connections to kept servers stay). */
void http_worker_init(struct worker *w);
void http_worker_reload(struct worker *w, struct runtime *old_rt, void **old_pools);
void http_worker_free(struct worker *w);

void worker_session_add(struct worker *w, struct worker_session *ws);
void worker_session_remove(struct worker *w, struct worker_session *ws);
/* The client connection of a frontend closed (decrements fe->active and
 * resumes paused listeners when below maxconn). */
void worker_frontend_conn_done(struct worker *w, struct frontend_rt *fe);

/* The balancer for backend index bi of the runtime the caller holds. A
 * session that began under an older runtime passes its own runtime; the
 * worker keeps balancers for old runtimes alive while sessions use them. */
struct balancer *worker_balancer(struct worker *w, struct runtime *rt, unsigned bi);

/* Cheap xorshift64* for per-worker randomness (request ids, jitter). */
uint64_t worker_random(struct worker *w);

/* The worker group, driven from the main thread. */

/* Opens every listener (one socket per bind per worker) and starts the
 * threads. Returns 0, or -1 after logging which bind failed. */
int workers_start(struct runtime *rt, unsigned nthreads);
/* Hands a new runtime to every worker. Binds kept from the running config
 * keep their sockets (no connection in a listen queue is lost); new binds
 * are opened first, so on a bind error nothing changes and -1 is returned. */
int workers_reload(struct runtime *rt);
/* Stops accepting and asks every session to finish (SIGTERM). */
void workers_drain(void);
/* Sessions still open across all workers (read racily: for polling). */
unsigned workers_sessions(void);
/* Closes every remaining session (grace time over). */
void workers_abort(void);
/* Stops the threads and frees the workers; call after drain/abort. */
void workers_stop(void);

#endif
