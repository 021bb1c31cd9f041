/* ctl_cmd.h - the command side of a status socket: tokenizer, command
 * table, dispatcher and reply helpers. Pure (no sockets): ctl_server.c
 * feeds it one line per connection, the unit tests and the fuzzer feed it
 * directly.
 *
 * A command line is words separated by blanks (space or tab); a trailing
 * word "json" asks for JSON output (HAProxy style: "show info json") and is
 * not passed to the handler. Command names may have several words ("show
 * servers"); the longest name that matches the first words wins, the rest
 * are the handler's arguments. */
#ifndef TANDEM_CTL_CMD_H
#define TANDEM_CTL_CMD_H

#include <stddef.h>
#include "json_out.h"

struct evbuffer;

#define CTL_MAX_LINE 4096        /* bytes in one command line, without the LF */
#define CTL_MAX_ARGS 32          /* words in one command line */

struct ctl_reply;

/* Produces the next piece of a streamed reply into r->out; returns 1 while
 * more is to come, 0 when done. */
typedef int (*ctl_more_fn)(struct ctl_reply *r, void *state);

struct ctl_reply {
    struct evbuffer *out;
    int json;                    /* the client asked for JSON */
    int failed;                  /* ctl_reply_error was called */
    ctl_more_fn more;            /* set by ctl_reply_stream */
    void *more_state;
    void (*more_free)(void *state);
};

/* argv[0..argc) are the words after the command's name (and without a
 * trailing "json"); the dispatcher has checked argc against the table. */
typedef void (*ctl_handler_fn)(struct ctl_reply *r, int argc, char **argv, int json,
                               void *arg);

struct ctl_command {
    const char *name;            /* "show servers": words separated by one space */
    const char *args;            /* "[BACKEND]", shown in help and usage errors */
    const char *help;            /* one line */
    int min_args, max_args;
    ctl_handler_fn fn;
};
#define CTL_COMMANDS_END { NULL, NULL, NULL, 0, 0, NULL }

/* Splits line in place at blanks; returns the number of words, or -1 when
 * there are more than max. */
int ctl_tokenize(char *line, char **argv, int max);

/* Runs one command line (line[0..len), no LF; untrusted bytes) against the
 * table, built-in "help" included, and appends the whole reply to out
 * (running a streamed reply to its end). Returns 0 when the command
 * succeeded, -1 when the reply is an error. Error replies are one line
 * "error: ...\n", or {"error":"..."}\n when JSON was asked. */
int ctl_dispatch(const struct ctl_command *cmds, void *arg, const char *line, size_t len,
                 struct evbuffer *out);

/* The same, leaving a streamed reply's continuation in *r (r->out set by
 * the caller): ctl_server.c calls r->more as the client reads, then
 * ctl_reply_done. */
int ctl_dispatch_reply(const struct ctl_command *cmds, void *arg, const char *line,
                       size_t len, struct ctl_reply *r);

/* A reply too long to build at once (a table of every connection): the
 * handler writes the first piece, then hands over more, which the server
 * calls each time the client has taken most of what was written, until it
 * returns 0. more_free (may be NULL) releases state at the end, or when
 * the client goes away first. */
void ctl_reply_stream(struct ctl_reply *r, ctl_more_fn more, void *state,
                      void (*more_free)(void *state));
/* Releases a pending stream (no-op when there is none). */
void ctl_reply_done(struct ctl_reply *r);

/* Appends an error reply for a line the server refused before dispatch
 * (too long, too many clients, timeout); text form. */
void ctl_error_line(struct evbuffer *out, int json, const char *msg);

void ctl_reply_printf(struct ctl_reply *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Replaces whatever the handler wrote with one error reply. */
void ctl_reply_error(struct ctl_reply *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Starts a JSON writer on the reply. */
void ctl_reply_json(struct ctl_reply *r, struct json_out *j);

#endif
