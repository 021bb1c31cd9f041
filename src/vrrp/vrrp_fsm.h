/* vrrp_fsm.h - the VRRPv3 state machine of RFC 5798 section 6.4 for one
 * virtual router, plus FAULT (tandem: interface down, tracked proxy dead).
 *
 * Pure: no I/O, no globals. Every event takes the current monotonic time
 * in milliseconds (now_ms) and fills a list of actions for the caller to
 * carry out in order. Intervals are centiseconds, as on the wire; the RFC
 * formulas are evaluated in integer centiseconds and only the resulting
 * deadlines are in milliseconds (deadline = now_ms + 10 * interval_cs).
 * The caller arms one timer at vrrp_fsm_next_deadline() and calls
 * vrrp_fsm_timer() when it fires. It should hand received adverts to the
 * FSM before a timer that is due at the same wake-up. */
#ifndef TANDEM_VRRP_FSM_H
#define TANDEM_VRRP_FSM_H

#include <stdbool.h>
#include <stdint.h>

#define VRRP_FSM_NEVER UINT64_MAX        /* a disarmed timer */
#define VRRP_FSM_ADDR_MAX 16

enum vrrp_state {
    VRRP_STATE_INIT,        /* RFC "Initialize" */
    VRRP_STATE_BACKUP,
    VRRP_STATE_MASTER,
    VRRP_STATE_FAULT,       /* tandem: cannot serve; holds no VIPs, sends nothing */
};

const char *vrrp_state_name(enum vrrp_state s);   /* "INIT", "BACKUP", ... */

struct vrrp_fsm_config {
    uint8_t priority;           /* 1..255; 255 = address owner (5.2.4) */
    uint16_t adver_int_cs;      /* Advertisement_Interval, 1..4095 */
    bool preempt;               /* Preempt_Mode (default true) */
    uint64_t preempt_delay_ms;  /* after startup / fault clear, no preemption */
    uint8_t addr_len;           /* 4 (IPv4) or 16 (IPv6) */
    uint8_t primary_addr[VRRP_FSM_ADDR_MAX];  /* our source address, network order */
};

enum vrrp_action_kind {
    VRRP_ACT_SEND_ADVERT,   /* send an advertisement with .priority */
    VRRP_ACT_ADD_VIPS,      /* configure the virtual addresses */
    VRRP_ACT_DEL_VIPS,      /* remove them */
    VRRP_ACT_ANNOUNCE,      /* gratuitous ARP / unsolicited NA (repeats: caller) */
    VRRP_ACT_STATE,         /* state changed .from -> .to because of .reason */
};

struct vrrp_action {
    enum vrrp_action_kind kind;
    uint8_t priority;               /* SEND_ADVERT */
    enum vrrp_state from, to;       /* STATE */
    const char *reason;             /* STATE: static string */
};

#define VRRP_ACTIONS_MAX 8

struct vrrp_actions {
    unsigned n;
    struct vrrp_action list[VRRP_ACTIONS_MAX];
    uint64_t late_ms;       /* vrrp_fsm_timer: how late the fired timer was */
};

struct vrrp_fsm {
    struct vrrp_fsm_config cfg;
    enum vrrp_state state;
    uint8_t priority;               /* effective priority (tracking applied) */
    bool fault;                     /* a fault condition is present */
    bool yielded;                   /* after switchover: do not preempt */
    uint16_t master_adver_int_cs;   /* Master_Adver_Interval */
    uint64_t adver_deadline;        /* Adver_Timer (MASTER) */
    uint64_t master_down_deadline;  /* Master_Down_Timer (BACKUP) */
    uint64_t preempt_after;         /* no preemption before this time */
    const char *down_reason;        /* why the Master_Down_Timer will fire */
    /* the master we last accepted an advert from, for status output */
    bool master_known;
    uint8_t master_priority;
    uint8_t master_addr[VRRP_FSM_ADDR_MAX];
};

/* RFC 5798 6.1, integer centiseconds:
 * Skew_Time = ((256 - Priority) * Master_Adver_Interval) / 256
 * Master_Down_Interval = 3 * Master_Adver_Interval + Skew_Time */
uint32_t vrrp_skew_time_cs(uint8_t priority, uint16_t master_adver_int_cs);
uint32_t vrrp_master_down_interval_cs(uint8_t priority, uint16_t master_adver_int_cs);

/* Priority 100, interval 100 cs, preempt on, no delay, no address. */
void vrrp_fsm_config_defaults(struct vrrp_fsm_config *cfg);

/* Starts in INIT. Returns -1 (and leaves *fsm unusable) when cfg is out of
 * range: priority 0, interval 0 or > 4095, addr_len not 4 or 16. */
int vrrp_fsm_init(struct vrrp_fsm *fsm, const struct vrrp_fsm_config *cfg);

/* The earliest armed deadline, or VRRP_FSM_NEVER. */
uint64_t vrrp_fsm_next_deadline(const struct vrrp_fsm *fsm);

/* Events. Each clears *acts, fills it and returns acts->n. */
unsigned vrrp_fsm_startup(struct vrrp_fsm *fsm, uint64_t now_ms, struct vrrp_actions *acts);
unsigned vrrp_fsm_shutdown(struct vrrp_fsm *fsm, uint64_t now_ms, struct vrrp_actions *acts);
unsigned vrrp_fsm_timer(struct vrrp_fsm *fsm, uint64_t now_ms, struct vrrp_actions *acts);
/* A validated advertisement for this VRID; src is addr_len bytes (the IP
 * source, i.e. the sender's primary address). */
unsigned vrrp_fsm_advert(struct vrrp_fsm *fsm, uint64_t now_ms, uint8_t priority,
                         uint16_t max_adver_int_cs, const uint8_t *src,
                         struct vrrp_actions *acts);
/* New effective priority from tracking (0 is taken as 1). */
unsigned vrrp_fsm_set_priority(struct vrrp_fsm *fsm, uint64_t now_ms, uint8_t priority,
                               struct vrrp_actions *acts);
/* Fault set (interface down, tracked object failed) or cleared. */
unsigned vrrp_fsm_set_fault(struct vrrp_fsm *fsm, uint64_t now_ms, bool fault,
                            struct vrrp_actions *acts);
/* Admin switchover: a MASTER resigns (priority 0) and stays BACKUP until
 * the new master disappears; no effect in other states. */
unsigned vrrp_fsm_switchover(struct vrrp_fsm *fsm, uint64_t now_ms, struct vrrp_actions *acts);

#endif
