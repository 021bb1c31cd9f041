/* http_sticky.h - session persistence in the HTTP path (docs/sticky.md):
 * which server a request sticks to, and what the response teaches or
 * tells the client. Backed by the process's sticky table (tables.h). */
#ifndef TANDEM_HTTP_STICKY_H
#define TANDEM_HTTP_STICKY_H

#include <stddef.h>
#include "http_parse.h"

struct http_session;
struct server;
struct backend;

/* The server the request is bound to, if the backend is sticky and the
 * binding is usable: UP, or DRAIN (existing clients keep a draining
 * server), and not the one a retry just failed on. NULL: let the balancer
 * choose (a DOWN or MAINT server's clients are rebalanced that way and
 * their entry is rebound by http_sticky_response). */
struct server *http_sticky_pick(struct http_session *s);

/* Called with the final response head from s->srv: learns the app cookie,
 * binds the client's source, and for insert mode returns the Set-Cookie
 * line to add (in buf), else NULL. Also records the server in the
 * connection table. */
const char *http_sticky_response(struct http_session *s, const struct http_resp *r,
                                 char *buf, size_t len);

/* The opaque token an inserted cookie carries for a server: 16 hex digits
 * of a hash of backend and server name (the same on both boxes, never the
 * server's address). out: 17 bytes. */
void http_sticky_token(const char *backend, const char *server, char *out);

#endif
