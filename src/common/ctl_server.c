/* ctl_server.c - status socket I/O: a UNIX listener and one bufferevent per
 * client on the owner's event_base (see ctl_server.h). */
#include "config.h"
#include "ctl_server.h"
#include "log.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* A streamed reply gets its next piece when the client has read the
 * output down to this: the socket buffer stays fed, memory stays bounded. */
#define CTL_STREAM_LOW (16 * 1024)
#define CTL_STREAM_EMPTY_MAX 64  /* empty pieces in a row before giving up */

struct ctl_client {
    struct ctl_server *srv;
    struct bufferevent *bev;
    int answered;                /* reply queued: only writing is left */
    struct ctl_reply reply;      /* its continuation, for streamed replies */
    struct ctl_client *prev, *next;
};

struct ctl_server {
    struct evconnlistener *evl;
    char *path;
    char *name;
    unsigned max_clients;
    unsigned timeout_ms;
    const struct ctl_command *cmds;
    void *arg;
    struct ctl_client *clients;
    unsigned nclients;
};

static void client_free(struct ctl_client *c)
{
    struct ctl_server *s = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nclients--;
    ctl_reply_done(&c->reply);
    bufferevent_free(c->bev);
    free(c);
}

/* Called whenever the client has read the output down to the write low
 * watermark: the next piece of a streamed reply, or the end. */
static void client_pump(struct ctl_client *c)
{
    struct evbuffer *out = bufferevent_get_output(c->bev);
    if (c->reply.more) {
        size_t before = evbuffer_get_length(out);
        int more = 1;
        c->reply.out = out;
        /* One piece per call keeps the loop responsive; an empty piece
         * would never trigger another write callback, so ask again. */
        for (int i = 0; more && i < CTL_STREAM_EMPTY_MAX; i++) {
            more = c->reply.more(&c->reply, c->reply.more_state);
            if (evbuffer_get_length(out) > before)
                break;
        }
        if (more && evbuffer_get_length(out) > before)
            return;
        ctl_reply_done(&c->reply);
        bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
    }
    if (evbuffer_get_length(out) == 0)
        client_free(c);
}

/* Queues the reply and stops reading; the write callback streams the rest
 * of a long reply and closes once the client has taken every byte. */
static void client_answer(struct ctl_client *c, struct evbuffer *reply)
{
    c->answered = 1;
    bufferevent_disable(c->bev, EV_READ);
    if (c->reply.more)
        bufferevent_setwatermark(c->bev, EV_WRITE, CTL_STREAM_LOW, 0);
    if (evbuffer_get_length(reply) == 0) {
        client_pump(c);
        return;
    }
    bufferevent_write_buffer(c->bev, reply);
    bufferevent_enable(c->bev, EV_WRITE);
}

static void client_run_line(struct ctl_client *c, size_t len)
{
    struct evbuffer *in = bufferevent_get_input(c->bev);
    struct evbuffer *reply = evbuffer_new();
    if (!reply) {
        client_free(c);
        return;
    }
    const char *line = len ? (const char *)evbuffer_pullup(in, (ev_ssize_t)len) : "";
    if (!line) {
        evbuffer_free(reply);
        client_free(c);
        return;
    }
    c->reply = (struct ctl_reply){ .out = reply };
    ctl_dispatch_reply(c->srv->cmds, c->srv->arg, line, len, &c->reply);
    client_answer(c, reply);
    evbuffer_free(reply);
}

static void client_refuse(struct ctl_client *c, const char *msg)
{
    struct evbuffer *reply = evbuffer_new();
    if (!reply) {
        client_free(c);
        return;
    }
    ctl_error_line(reply, 0, msg);
    client_answer(c, reply);
    evbuffer_free(reply);
}

static void on_client_read(struct bufferevent *bev, void *arg)
{
    struct ctl_client *c = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t eol_len = 0;
    if (c->answered)
        return;
    struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_LF);
    /* +1: a CR before the LF is not part of the line. */
    if (eol.pos < 0) {
        if (evbuffer_get_length(in) > CTL_MAX_LINE + 1)
            client_refuse(c, "line too long");
        return;
    }
    if ((size_t)eol.pos > CTL_MAX_LINE + 1) {
        client_refuse(c, "line too long");
        return;
    }
    client_run_line(c, (size_t)eol.pos);
}

static void on_client_write(struct bufferevent *bev, void *arg)
{
    struct ctl_client *c = arg;
    (void)bev;
    if (c->answered)
        client_pump(c);
}

static void on_client_event(struct bufferevent *bev, short what, void *arg)
{
    struct ctl_client *c = arg;
    size_t pending = evbuffer_get_length(bufferevent_get_input(bev));
    if (c->answered) {
        /* Error or timeout while writing: the client went away. */
        client_free(c);
        return;
    }
    if ((what & BEV_EVENT_EOF) && pending > 0 && pending <= CTL_MAX_LINE + 1) {
        /* "printf 'show info' | socat": the line ends at the client's shutdown. */
        client_run_line(c, pending);
        return;
    }
    if (what & BEV_EVENT_TIMEOUT) {
        client_refuse(c, "timeout waiting for a command");
        return;
    }
    client_free(c);
}

/* Answers a connection over the limit without any state: one non-blocking
 * send (it fits any socket buffer), then close. */
static void refuse_fd(evutil_socket_t fd)
{
    static const char msg[] = "error: too many clients\n";
    ssize_t n = send(fd, msg, sizeof(msg) - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
    (void)n;
    evutil_closesocket(fd);
}

static void on_accept(struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    struct ctl_server *s = arg;
    (void)evl; (void)sa; (void)salen;
    if (s->nclients >= s->max_clients) {
        log_warn("%s: %u clients already connected, refusing one", s->name, s->nclients);
        refuse_fd(fd);
        return;
    }
    struct ctl_client *c = calloc(1, sizeof(*c));
    struct bufferevent *bev = bufferevent_socket_new(evconnlistener_get_base(s->evl), fd,
                                                     BEV_OPT_CLOSE_ON_FREE);
    if (!c || !bev) {
        free(c);
        if (bev)
            bufferevent_free(bev);
        else
            evutil_closesocket(fd);
        return;
    }
    c->srv = s;
    c->bev = bev;
    c->next = s->clients;
    if (s->clients)
        s->clients->prev = c;
    s->clients = c;
    s->nclients++;
    struct timeval tv = { (time_t)(s->timeout_ms / 1000), (suseconds_t)(s->timeout_ms % 1000) * 1000 };
    bufferevent_setcb(bev, on_client_read, on_client_write, on_client_event, c);
    bufferevent_set_timeouts(bev, &tv, &tv);
    bufferevent_enable(bev, EV_READ);
}

static void on_accept_error(struct evconnlistener *evl, void *arg)
{
    struct ctl_server *s = arg;
    (void)evl;
    log_warn("%s: accept: %s", s->name, strerror(errno));
}

/* The directory must exist: creating it (and choosing its owner) is the
 * packaging's job (systemd RuntimeDirectory=tandem). */
static int check_parent_dir(const char *path, char *err, size_t errlen)
{
    char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        return 0;
    if (slash == dir)
        slash[1] = '\0';
    else
        *slash = '\0';
    struct stat st;
    if (stat(dir, &st) < 0) {
        snprintf(err, errlen, "%s: directory %s: %s", path, dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: %s is not a directory", path, dir);
        return -1;
    }
    return 0;
}

/* A socket file left by a process that died is removed; one that still
 * answers belongs to a running daemon, which we must not steal it from. */
static int remove_stale(const struct sockaddr_un *sun, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(sun->sun_path, &st) < 0)
        return errno == ENOENT ? 0 : (snprintf(err, errlen, "%s: %s", sun->sun_path,
                                               strerror(errno)), -1);
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, errlen, "%s exists and is not a socket", sun->sun_path);
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0) {
        close(fd);
        snprintf(err, errlen, "%s: another process is listening on it", sun->sun_path);
        return -1;
    }
    if (fd >= 0)
        close(fd);
    if (unlink(sun->sun_path) < 0 && errno != ENOENT) {
        snprintf(err, errlen, "%s: removing the stale socket: %s", sun->sun_path,
                 strerror(errno));
        return -1;
    }
    return 0;
}

static int set_owner_mode(const char *path, mode_t mode, const char *group, char *err,
                          size_t errlen)
{
    if (group && group[0]) {
        struct group gr, *res = NULL;
        char buf[4096];
        int rc = getgrnam_r(group, &gr, buf, sizeof(buf), &res);
        if (rc != 0 || !res) {
            snprintf(err, errlen, "%s: group \"%s\": %s", path, group,
                     rc ? strerror(rc) : "no such group");
            return -1;
        }
        if (chown(path, (uid_t)-1, res->gr_gid) < 0) {
            snprintf(err, errlen, "%s: chown to group \"%s\": %s", path, group, strerror(errno));
            return -1;
        }
    }
    if (chmod(path, mode) < 0) {
        snprintf(err, errlen, "%s: chmod %04o: %s", path, (unsigned)mode, strerror(errno));
        return -1;
    }
    return 0;
}

/* Binds, sets owner and mode, then listens: nobody can connect before the
 * permissions are right. */
static int open_socket(const struct ctl_server_opts *o, char *err, size_t errlen)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    if (!o->path || !o->path[0] || strlen(o->path) >= sizeof(sun.sun_path)) {
        snprintf(err, errlen, "status socket path \"%s\" is empty or longer than %zu bytes",
                 o->path ? o->path : "", sizeof(sun.sun_path) - 1);
        return -1;
    }
    memcpy(sun.sun_path, o->path, strlen(o->path) + 1);
    if (check_parent_dir(o->path, err, errlen) < 0 || remove_stale(&sun, err, errlen) < 0)
        return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "%s: socket: %s", o->path, strerror(errno));
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        snprintf(err, errlen, "%s: bind: %s", o->path, strerror(errno));
        close(fd);
        return -1;
    }
    if (set_owner_mode(o->path, o->mode ? o->mode : CTL_DEFAULT_MODE, o->group, err,
                       errlen) < 0 || listen(fd, 64) < 0) {
        if (!err[0])
            snprintf(err, errlen, "%s: listen: %s", o->path, strerror(errno));
        close(fd);
        unlink(o->path);
        return -1;
    }
    return fd;
}

struct ctl_server *ctl_server_start(struct event_base *base, const struct ctl_server_opts *o,
                                    const struct ctl_command *cmds, void *arg, char *err,
                                    size_t errlen)
{
    err[0] = '\0';
    int fd = open_socket(o, err, errlen);
    if (fd < 0)
        return NULL;
    struct ctl_server *s = calloc(1, sizeof(*s));
    if (!s || !(s->path = strdup(o->path)) ||
        !(s->name = strdup(o->name ? o->name : "status socket"))) {
        snprintf(err, errlen, "%s: out of memory", o->path);
        goto fail;
    }
    s->max_clients = o->max_clients ? o->max_clients : CTL_DEFAULT_MAX_CLIENTS;
    s->timeout_ms = o->timeout_ms ? o->timeout_ms : CTL_DEFAULT_TIMEOUT_MS;
    s->cmds = cmds;
    s->arg = arg;
    s->evl = evconnlistener_new(base, on_accept, s, LEV_OPT_CLOSE_ON_FREE, -1, fd);
    if (!s->evl) {
        snprintf(err, errlen, "%s: cannot listen with libevent", o->path);
        goto fail;
    }
    evconnlistener_set_error_cb(s->evl, on_accept_error);
    return s;
fail:
    close(fd);
    unlink(o->path);
    if (s) {
        free(s->path);
        free(s->name);
        free(s);
    }
    return NULL;
}

void ctl_server_stop(struct ctl_server *s)
{
    if (!s)
        return;
    while (s->clients)
        client_free(s->clients);
    evconnlistener_free(s->evl);
    unlink(s->path);
    free(s->path);
    free(s->name);
    free(s);
}

unsigned ctl_server_clients(const struct ctl_server *s)
{
    return s ? s->nclients : 0;
}
