/* vrrp_fsm.c - RFC 5798 section 6.4 state machine, plus FAULT.
 *
 * Deadlines are absolute milliseconds; a late timer fires once and is
 * re-armed from "now", never replayed. See docs/vrrp.md for the table. */
#ifdef HAVE_CONFIG_H     /* automake; fuzz builds use -include config.h */
#include "config.h"
#endif
#include "vrrp_fsm.h"

#include <string.h>

#define VRRP_INTERVAL_MAX_CS 0x0fff
#define VRRP_OWNER 255

static const char *const state_names[] = {
    [VRRP_STATE_INIT] = "INIT",
    [VRRP_STATE_BACKUP] = "BACKUP",
    [VRRP_STATE_MASTER] = "MASTER",
    [VRRP_STATE_FAULT] = "FAULT",
};

const char *vrrp_state_name(enum vrrp_state s)
{
    if ((unsigned)s >= sizeof(state_names) / sizeof(state_names[0]))
        return "UNKNOWN";
    return state_names[s];
}

uint32_t vrrp_skew_time_cs(uint8_t priority, uint16_t master_adver_int_cs)
{
    return ((256u - priority) * master_adver_int_cs) / 256u;
}

uint32_t vrrp_master_down_interval_cs(uint8_t priority, uint16_t master_adver_int_cs)
{
    return 3u * master_adver_int_cs + vrrp_skew_time_cs(priority, master_adver_int_cs);
}

static uint64_t cs_to_ms(uint32_t cs)
{
    return (uint64_t)cs * 10u;
}

void vrrp_fsm_config_defaults(struct vrrp_fsm_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->priority = 100;
    cfg->adver_int_cs = 100;
    cfg->preempt = true;
    cfg->addr_len = 4;
}

int vrrp_fsm_init(struct vrrp_fsm *fsm, const struct vrrp_fsm_config *cfg)
{
    memset(fsm, 0, sizeof(*fsm));
    if (cfg->priority == 0 || cfg->adver_int_cs == 0 ||
        cfg->adver_int_cs > VRRP_INTERVAL_MAX_CS ||
        (cfg->addr_len != 4 && cfg->addr_len != 16))
        return -1;
    fsm->cfg = *cfg;
    fsm->state = VRRP_STATE_INIT;
    fsm->priority = cfg->priority;
    fsm->master_adver_int_cs = cfg->adver_int_cs;
    fsm->adver_deadline = VRRP_FSM_NEVER;
    fsm->master_down_deadline = VRRP_FSM_NEVER;
    return 0;
}

uint64_t vrrp_fsm_next_deadline(const struct vrrp_fsm *fsm)
{
    if (fsm->state == VRRP_STATE_MASTER)
        return fsm->adver_deadline;
    if (fsm->state == VRRP_STATE_BACKUP)
        return fsm->master_down_deadline;
    return VRRP_FSM_NEVER;
}

/* ---- action list ---- */

static unsigned acts_reset(struct vrrp_actions *acts)
{
    acts->n = 0;
    acts->late_ms = 0;
    return 0;
}

/* The longest sequence any event produces is 4 actions and the list holds
 * 8, so the bound below is never reached; it only keeps writes in range. */
static struct vrrp_action *acts_push(struct vrrp_actions *acts, enum vrrp_action_kind kind)
{
    struct vrrp_action *a;

    if (acts->n < VRRP_ACTIONS_MAX)
        acts->n++;
    a = &acts->list[acts->n - 1];
    memset(a, 0, sizeof(*a));
    a->kind = kind;
    return a;
}

static void act_send(struct vrrp_actions *acts, uint8_t priority)
{
    acts_push(acts, VRRP_ACT_SEND_ADVERT)->priority = priority;
}

static void set_state(struct vrrp_fsm *fsm, struct vrrp_actions *acts,
                      enum vrrp_state to, const char *reason)
{
    struct vrrp_action *a = acts_push(acts, VRRP_ACT_STATE);
    a->from = fsm->state;
    a->to = to;
    a->reason = reason;
    fsm->state = to;
}

/* ---- timers ---- */

static void arm_adver(struct vrrp_fsm *fsm, uint64_t now)
{
    fsm->adver_deadline = now + cs_to_ms(fsm->cfg.adver_int_cs);
}

/* Master_Down_Timer = Master_Down_Interval from now (6.4.1, 6.4.2, 6.4.3). */
static void arm_master_down(struct vrrp_fsm *fsm, uint64_t now)
{
    uint32_t cs = vrrp_master_down_interval_cs(fsm->priority, fsm->master_adver_int_cs);
    fsm->master_down_deadline = now + cs_to_ms(cs);
    fsm->down_reason = "master down timer expired";
}

static void cancel_timers(struct vrrp_fsm *fsm)
{
    fsm->adver_deadline = VRRP_FSM_NEVER;
    fsm->master_down_deadline = VRRP_FSM_NEVER;
}

/* ---- transitions ---- */

/* RFC 5798 6.4.1 (owner) and 6.4.2 (Master_Down_Timer fires): send an
 * advertisement, take the addresses, announce them, arm the Adver_Timer. */
static void become_master(struct vrrp_fsm *fsm, uint64_t now,
                          struct vrrp_actions *acts, const char *reason)
{
    acts_push(acts, VRRP_ACT_ADD_VIPS);
    act_send(acts, fsm->priority);
    acts_push(acts, VRRP_ACT_ANNOUNCE);
    cancel_timers(fsm);
    arm_adver(fsm, now);
    fsm->yielded = false;
    fsm->master_known = false;
    set_state(fsm, acts, VRRP_STATE_MASTER, reason);
}

/* Leaves MASTER: optionally resigns with a priority 0 advert (6.4.3
 * shutdown), then gives the addresses up. */
static void leave_master(struct vrrp_fsm *fsm, struct vrrp_actions *acts, bool resign)
{
    if (resign)
        act_send(acts, 0);
    acts_push(acts, VRRP_ACT_DEL_VIPS);
    cancel_timers(fsm);
}

static void become_backup(struct vrrp_fsm *fsm, uint64_t now,
                          struct vrrp_actions *acts, const char *reason)
{
    cancel_timers(fsm);
    arm_master_down(fsm, now);
    set_state(fsm, acts, VRRP_STATE_BACKUP, reason);
}

/* RFC 5798 6.4.1 Startup: the owner goes MASTER, others BACKUP with
 * Master_Adver_Interval = Advertisement_Interval. Also used when a fault
 * clears: the router starts over. */
static void start(struct vrrp_fsm *fsm, uint64_t now, struct vrrp_actions *acts,
                  const char *owner_reason, const char *backup_reason)
{
    fsm->preempt_after = now + fsm->cfg.preempt_delay_ms;
    fsm->yielded = false;
    fsm->master_known = false;
    if (fsm->priority == VRRP_OWNER) {
        become_master(fsm, now, acts, owner_reason);
        return;
    }
    fsm->master_adver_int_cs = fsm->cfg.adver_int_cs;
    become_backup(fsm, now, acts, backup_reason);
}

unsigned vrrp_fsm_startup(struct vrrp_fsm *fsm, uint64_t now_ms, struct vrrp_actions *acts)
{
    acts_reset(acts);
    if (fsm->state != VRRP_STATE_INIT)
        return 0;
    if (fsm->fault) {
        fsm->preempt_after = now_ms + fsm->cfg.preempt_delay_ms;
        set_state(fsm, acts, VRRP_STATE_FAULT, "fault at startup");
        return acts->n;
    }
    start(fsm, now_ms, acts, "startup as address owner (priority 255)", "startup");
    return acts->n;
}

/* RFC 5798 6.4.2 / 6.4.3 Shutdown: cancel the timers; a MASTER sends a
 * priority 0 advertisement so a backup takes over after Skew_Time. */
unsigned vrrp_fsm_shutdown(struct vrrp_fsm *fsm, uint64_t now_ms, struct vrrp_actions *acts)
{
    acts_reset(acts);
    if (fsm->state == VRRP_STATE_INIT)
        return 0;
    if (fsm->state == VRRP_STATE_MASTER)
        leave_master(fsm, acts, true);
    cancel_timers(fsm);
    fsm->master_known = false;
    set_state(fsm, acts, VRRP_STATE_INIT, "shutdown");
    return acts->n;
}

unsigned vrrp_fsm_timer(struct vrrp_fsm *fsm, uint64_t now_ms, struct vrrp_actions *acts)
{
    uint64_t due = vrrp_fsm_next_deadline(fsm);

    acts_reset(acts);
    if (due == VRRP_FSM_NEVER || now_ms < due)
        return 0;   /* early or spurious wake-up */
    acts->late_ms = now_ms - due;
    if (fsm->state == VRRP_STATE_MASTER) {
        /* 6.4.3: Adver_Timer fires: send, reset to Advertisement_Interval */
        act_send(acts, fsm->priority);
        arm_adver(fsm, now_ms);
        return acts->n;
    }
    /* 6.4.2: Master_Down_Timer fires */
    become_master(fsm, now_ms, acts, fsm->down_reason);
    return acts->n;
}

/* Whether a BACKUP may preempt a lower-priority master now: Preempt_Mode,
 * not within preempt_delay of startup, not after an admin switchover. */
static bool may_preempt(const struct vrrp_fsm *fsm, uint64_t now)
{
    return fsm->cfg.preempt && !fsm->yielded && now >= fsm->preempt_after;
}

static void note_master(struct vrrp_fsm *fsm, uint8_t priority, const uint8_t *src)
{
    fsm->master_known = true;
    fsm->master_priority = priority;
    memcpy(fsm->master_addr, src, fsm->cfg.addr_len);
}

/* RFC 5798 6.4.2, ADVERTISEMENT received in BACKUP. */
static void backup_rx(struct vrrp_fsm *fsm, uint64_t now, uint8_t priority,
                      uint16_t interval_cs, const uint8_t *src)
{
    if (priority == 0) {
        /* Set the Master_Down_Timer to Skew_Time */
        uint32_t skew = vrrp_skew_time_cs(fsm->priority, fsm->master_adver_int_cs);
        fsm->master_down_deadline = now + cs_to_ms(skew);
        fsm->down_reason = "master resigned (priority 0)";
        fsm->master_known = false;
        return;
    }
    if (!may_preempt(fsm, now) || priority >= fsm->priority) {
        /* learn Master_Adver_Interval, recompute, reset the timer */
        fsm->master_adver_int_cs = interval_cs;
        arm_master_down(fsm, now);
        note_master(fsm, priority, src);
    }
    /* else discard: the timer runs out and we preempt */
}

/* Unsigned big-endian comparison of the sender's and our primary address. */
static bool sender_wins_tie(const struct vrrp_fsm *fsm, const uint8_t *src)
{
    return memcmp(src, fsm->cfg.primary_addr, fsm->cfg.addr_len) > 0;
}

/* RFC 5798 6.4.3, ADVERTISEMENT received in MASTER (Preempt_Mode is not
 * considered here). */
static void master_rx(struct vrrp_fsm *fsm, uint64_t now, uint8_t priority,
                      uint16_t interval_cs, const uint8_t *src,
                      struct vrrp_actions *acts)
{
    const char *reason;

    if (priority == 0) {
        act_send(acts, fsm->priority);
        arm_adver(fsm, now);
        return;
    }
    if (priority > fsm->priority)
        reason = "higher priority advertisement";
    else if (priority == fsm->priority && sender_wins_tie(fsm, src))
        reason = "equal priority advertisement from higher address";
    else
        return;     /* discard */
    leave_master(fsm, acts, false);
    fsm->master_adver_int_cs = interval_cs;
    become_backup(fsm, now, acts, reason);
    note_master(fsm, priority, src);
}

unsigned vrrp_fsm_advert(struct vrrp_fsm *fsm, uint64_t now_ms, uint8_t priority,
                         uint16_t max_adver_int_cs, const uint8_t *src,
                         struct vrrp_actions *acts)
{
    acts_reset(acts);
    /* the decoder drops these; a zero interval would mean no timers */
    if (max_adver_int_cs == 0 || max_adver_int_cs > VRRP_INTERVAL_MAX_CS)
        return 0;
    if (fsm->state == VRRP_STATE_BACKUP)
        backup_rx(fsm, now_ms, priority, max_adver_int_cs, src);
    else if (fsm->state == VRRP_STATE_MASTER)
        master_rx(fsm, now_ms, priority, max_adver_int_cs, src, acts);
    return acts->n;     /* INIT and FAULT ignore adverts */
}

/* A MASTER tells the backups its new priority at once (and restarts its
 * Adver_Timer); a BACKUP uses it from the next timer reset on. */
unsigned vrrp_fsm_set_priority(struct vrrp_fsm *fsm, uint64_t now_ms, uint8_t priority,
                               struct vrrp_actions *acts)
{
    acts_reset(acts);
    if (priority == 0)
        priority = 1;
    if (priority == fsm->priority)
        return 0;
    fsm->priority = priority;
    if (fsm->state == VRRP_STATE_MASTER) {
        act_send(acts, priority);
        arm_adver(fsm, now_ms);
    }
    return acts->n;
}

static void enter_fault(struct vrrp_fsm *fsm, struct vrrp_actions *acts)
{
    if (fsm->state == VRRP_STATE_MASTER)
        leave_master(fsm, acts, true);
    cancel_timers(fsm);
    fsm->master_known = false;
    set_state(fsm, acts, VRRP_STATE_FAULT, "fault");
}

unsigned vrrp_fsm_set_fault(struct vrrp_fsm *fsm, uint64_t now_ms, bool fault,
                            struct vrrp_actions *acts)
{
    acts_reset(acts);
    if (fault == fsm->fault)
        return 0;
    fsm->fault = fault;
    if (fsm->state == VRRP_STATE_INIT)
        return 0;   /* remembered for startup */
    if (fault)
        enter_fault(fsm, acts);
    else
        start(fsm, now_ms, acts, "fault cleared, address owner", "fault cleared");
    return acts->n;
}

unsigned vrrp_fsm_switchover(struct vrrp_fsm *fsm, uint64_t now_ms, struct vrrp_actions *acts)
{
    acts_reset(acts);
    if (fsm->state != VRRP_STATE_MASTER)
        return 0;
    leave_master(fsm, acts, true);
    fsm->master_adver_int_cs = fsm->cfg.adver_int_cs;
    become_backup(fsm, now_ms, acts, "admin switchover");
    fsm->yielded = true;
    return acts->n;
}
