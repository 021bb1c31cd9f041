/* vrrp_exec.c - child processes of the agent (check scripts, notify
 * hooks), started without a shell and never waited for: SIGCHLD (a
 * libevent signal event in main.c) calls vrrp_exec_reap, which collects
 * every exited child and tells its owner. The table is bounded; when it is
 * full a child is not started (and the caller says so). */
#include "config.h"
#include "vrrp_agent.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define VRRP_CHILDREN_MAX 128

struct vrrp_child {
    pid_t pid;
    vrrp_exec_done_fn *done;
    void *arg;
};

static struct vrrp_child vrrp_children[VRRP_CHILDREN_MAX];

static struct vrrp_child *vrrp_child_slot(pid_t pid)
{
    for (unsigned i = 0; i < VRRP_CHILDREN_MAX; i++)
        if (vrrp_children[i].pid == pid)
            return &vrrp_children[i];
    return NULL;
}

/* In the child: default signal dispositions and mask, stdin and stdout on
 * /dev/null (stderr stays: the script's complaints reach our log). */
static void vrrp_child_exec(const char *const argv[])
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int sig = 1; sig < NSIG; sig++)
        signal(sig, SIG_DFL);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        if (null > 2)
            close(null);
    }
    execv(argv[0], (char *const *)argv);
    _exit(127);
}

pid_t vrrp_exec(const char *const argv[], vrrp_exec_done_fn *done, void *arg)
{
    struct vrrp_child *slot = vrrp_child_slot(0);
    if (!slot) {
        log_warn("not running %s: %d children already running", argv[0], VRRP_CHILDREN_MAX);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        log_warn("running %s: fork: %s", argv[0], strerror(errno));
        return -1;
    }
    if (pid == 0)
        vrrp_child_exec(argv);
    slot->pid = pid;
    slot->done = done;
    slot->arg = arg;
    return pid;
}

/* The owner no longer cares (script stopped); the child is still reaped. */
void vrrp_exec_forget(pid_t pid)
{
    struct vrrp_child *c = pid > 0 ? vrrp_child_slot(pid) : NULL;
    if (c)
        c->done = NULL;
}

void vrrp_exec_reap(void)
{
    int status;
    pid_t pid;
    for (unsigned n = 0; n < VRRP_CHILDREN_MAX * 2; n++) {
        if ((pid = waitpid(-1, &status, WNOHANG)) <= 0)
            return;
        struct vrrp_child *c = vrrp_child_slot(pid);
        if (!c)
            continue;
        vrrp_exec_done_fn *done = c->done;
        void *arg = c->arg;
        memset(c, 0, sizeof(*c));
        if (done)
            done(arg, status);
    }
}

/* notify = "/path": run as `path INSTANCE NEW_STATE OLD_STATE REASON`,
 * not waited for; a hook that hangs delays nothing. */
void vrrp_notify(const struct vrrp_instance *in, enum vrrp_state from, enum vrrp_state to,
                 const char *reason)
{
    if (!in->conf->notify)
        return;
    const char *argv[] = { in->conf->notify, in->conf->name, vrrp_state_name(to),
                           vrrp_state_name(from), reason ? reason : "", NULL };
    vrrp_exec(argv, NULL, NULL);
}
