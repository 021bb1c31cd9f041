/* test_vrrp_fsm.c - the RFC 5798 section 6.4 state machine with a fake
 * clock: each transition of 6.4.1-6.4.3 on its own, the timer arithmetic,
 * and tandem's additions (FAULT, preempt_delay, switchover). Times are
 * milliseconds; intervals centiseconds. */
#include "config.h"
#include "unit.h"
#include "vrrp_fsm.h"

#include <string.h>

/* Byte patterns only: the state machine sends nothing. Loopback and
 * TEST-NET addresses, like the rest of the tests. */
static const uint8_t ADDR_LOW[4] = { 127, 0, 1, 1 };
static const uint8_t ADDR_MID[4] = { 127, 0, 1, 100 };
static const uint8_t ADDR_HIGH[4] = { 127, 0, 1, 200 };  /* > 100 unsigned */

static struct vrrp_fsm fsm;
static struct vrrp_actions acts;

/* Our router: 127.0.1.100, given priority, 100 cs adverts. */
static void setup(uint8_t priority, bool preempt, uint64_t delay_ms)
{
    struct vrrp_fsm_config cfg;
    vrrp_fsm_config_defaults(&cfg);
    cfg.priority = priority;
    cfg.preempt = preempt;
    cfg.preempt_delay_ms = delay_ms;
    memcpy(cfg.primary_addr, ADDR_MID, 4);
    CU_ASSERT_EQUAL_FATAL(vrrp_fsm_init(&fsm, &cfg), 0);
}

/* A backup started at t=1000 (deadline 1000 + 3600 for priority 100). */
static void start_backup(uint8_t priority, bool preempt, uint64_t delay_ms)
{
    setup(priority, preempt, delay_ms);
    vrrp_fsm_startup(&fsm, 1000, &acts);
    CU_ASSERT_EQUAL_FATAL(fsm.state, VRRP_STATE_BACKUP);
}

/* A master: backup whose master-down timer ran out at t=1000+MDI. */
static uint64_t start_master(uint8_t priority)
{
    uint64_t t;
    start_backup(priority, true, 0);
    t = vrrp_fsm_next_deadline(&fsm);
    vrrp_fsm_timer(&fsm, t, &acts);
    CU_ASSERT_EQUAL_FATAL(fsm.state, VRRP_STATE_MASTER);
    return t;
}

static bool is_action(unsigned i, enum vrrp_action_kind kind)
{
    return i < acts.n && acts.list[i].kind == kind;
}

static bool is_send(unsigned i, uint8_t priority)
{
    return is_action(i, VRRP_ACT_SEND_ADVERT) && acts.list[i].priority == priority;
}

static bool is_state(unsigned i, enum vrrp_state from, enum vrrp_state to)
{
    return is_action(i, VRRP_ACT_STATE) && acts.list[i].from == from &&
           acts.list[i].to == to && acts.list[i].reason != NULL;
}

/* ---- timer arithmetic (RFC 5798 6.1) ---- */

static void test_timer_arithmetic(void)
{
    CU_ASSERT_EQUAL(vrrp_skew_time_cs(100, 100), 60);           /* 15600/256 = 60.9 */
    CU_ASSERT_EQUAL(vrrp_master_down_interval_cs(100, 100), 360);
    CU_ASSERT_EQUAL(vrrp_skew_time_cs(255, 100), 0);
    CU_ASSERT_EQUAL(vrrp_master_down_interval_cs(255, 100), 300);
    CU_ASSERT_EQUAL(vrrp_skew_time_cs(1, 100), 99);
    CU_ASSERT_EQUAL(vrrp_master_down_interval_cs(1, 100), 399);
    CU_ASSERT_EQUAL(vrrp_skew_time_cs(200, 10), 2);             /* 100 ms adverts */
    CU_ASSERT_EQUAL(vrrp_master_down_interval_cs(200, 10), 32);
    CU_ASSERT_EQUAL(vrrp_skew_time_cs(100, 4095), 2495);
    CU_ASSERT_EQUAL(vrrp_master_down_interval_cs(100, 4095), 14780);
    CU_ASSERT_EQUAL(vrrp_skew_time_cs(254, 1), 0);
    CU_ASSERT_EQUAL(vrrp_master_down_interval_cs(254, 1), 3);
}

static void test_config_validation(void)
{
    struct vrrp_fsm_config cfg;
    vrrp_fsm_config_defaults(&cfg);
    CU_ASSERT_EQUAL(cfg.priority, 100);
    CU_ASSERT_EQUAL(cfg.adver_int_cs, 100);
    CU_ASSERT_TRUE(cfg.preempt);
    CU_ASSERT_EQUAL(vrrp_fsm_init(&fsm, &cfg), 0);
    CU_ASSERT_EQUAL(fsm.state, VRRP_STATE_INIT);
    CU_ASSERT_EQUAL(vrrp_fsm_next_deadline(&fsm), VRRP_FSM_NEVER);
    cfg.priority = 0;
    CU_ASSERT_EQUAL(vrrp_fsm_init(&fsm, &cfg), -1);
    cfg.priority = 100;
    cfg.adver_int_cs = 0;
    CU_ASSERT_EQUAL(vrrp_fsm_init(&fsm, &cfg), -1);
    cfg.adver_int_cs = 4096;
    CU_ASSERT_EQUAL(vrrp_fsm_init(&fsm, &cfg), -1);
    cfg.adver_int_cs = 4095;
    cfg.addr_len = 6;
    CU_ASSERT_EQUAL(vrrp_fsm_init(&fsm, &cfg), -1);
    cfg.addr_len = 16;
    CU_ASSERT_EQUAL(vrrp_fsm_init(&fsm, &cfg), 0);
}

static void test_state_names(void)
{
    CU_ASSERT_STRING_EQUAL(vrrp_state_name(VRRP_STATE_INIT), "INIT");
    CU_ASSERT_STRING_EQUAL(vrrp_state_name(VRRP_STATE_BACKUP), "BACKUP");
    CU_ASSERT_STRING_EQUAL(vrrp_state_name(VRRP_STATE_MASTER), "MASTER");
    CU_ASSERT_STRING_EQUAL(vrrp_state_name(VRRP_STATE_FAULT), "FAULT");
    CU_ASSERT_STRING_EQUAL(vrrp_state_name((enum vrrp_state)42), "UNKNOWN");
}

/* ---- 6.4.1 Initialize ---- */

static void test_init_startup_to_backup(void)
{
    setup(100, true, 0);
    CU_ASSERT_EQUAL(vrrp_fsm_startup(&fsm, 1000, &acts), 1);
    CU_ASSERT_TRUE(is_state(0, VRRP_STATE_INIT, VRRP_STATE_BACKUP));
    CU_ASSERT_EQUAL(fsm.master_adver_int_cs, 100);
    /* Master_Down_Timer = 3 * 100 + 60 = 360 cs */
    CU_ASSERT_EQUAL(vrrp_fsm_next_deadline(&fsm), 1000 + 3600);
    /* a second startup is not an event in BACKUP */
    CU_ASSERT_EQUAL(vrrp_fsm_startup(&fsm, 2000, &acts), 0);
}

static void test_init_owner_startup_to_master(void)
{
    setup(255, true, 0);
    CU_ASSERT_EQUAL(vrrp_fsm_startup(&fsm, 1000, &acts), 4);
    CU_ASSERT_TRUE(is_action(0, VRRP_ACT_ADD_VIPS));
    CU_ASSERT_TRUE(is_send(1, 255));
    CU_ASSERT_TRUE(is_action(2, VRRP_ACT_ANNOUNCE));
    CU_ASSERT_TRUE(is_state(3, VRRP_STATE_INIT, VRRP_STATE_MASTER));
    /* Adver_Timer = Advertisement_Interval */
    CU_ASSERT_EQUAL(vrrp_fsm_next_deadline(&fsm), 1000 + 1000);
}

static void test_init_ignores_adverts_and_timers(void)
{
    setup(100, true, 0);
    CU_ASSERT_EQUAL(vrrp_fsm_advert(&fsm, 10, 200, 100, ADDR_HIGH, &acts), 0);
    CU_ASSERT_EQUAL(vrrp_fsm_timer(&fsm, 1000000, &acts), 0);
    CU_ASSERT_EQUAL(vrrp_fsm_shutdown(&fsm, 10, &acts), 0);
    CU_ASSERT_EQUAL(vrrp_fsm_switchover(&fsm, 10, &acts), 0);
    CU_ASSERT_EQUAL(fsm.state, VRRP_STATE_INIT);
}

/* ---- 6.4.2 Backup ---- */

static void test_backup_shutdown(void)
{
    start_backup(100, true, 0);
    CU_ASSERT_EQUAL(vrrp_fsm_shutdown(&fsm, 2000, &acts), 1);
    CU_ASSERT_TRUE(is_state(0, VRRP_STATE_BACKUP, VRRP_STATE_INIT));
    CU_ASSERT_EQUAL(vrrp_fsm_next_deadline(&fsm), VRRP_FSM_NEVER);
}

static void test_backup_master_down_fires(void)
{
    start_backup(100, true, 0);
    CU_ASSERT_EQUAL(vrrp_fsm_timer(&fsm, 4599, &acts), 0);     /* 1 ms early */
    CU_ASSERT_EQUAL(fsm.state, VRRP_STATE_BACKUP);
    CU_ASSERT_EQUAL(vrrp_fsm_timer(&fsm, 4600, &acts), 4);
    CU_ASSERT_TRUE(is_action(0, VRRP_ACT_ADD_VIPS));
    CU_ASSERT_TRUE(is_send(1, 100));
    CU_ASSERT_TRUE(is_action(2, VRRP_ACT_ANNOUNCE));
    CU_ASSERT_TRUE(is_state(3, VRRP_STATE_BACKUP, VRRP_STATE_MASTER));
    CU_ASSERT_STRING_EQUAL(acts.list[3].reason, "master down timer expired");
    CU_ASSERT_EQUAL(acts.late_ms, 0);
    CU_ASSERT_EQUAL(vrrp_fsm_next_deadline(&fsm), 4600 + 1000);
}

static void test_backup_rx_priority_zero(void)
{
    start_backup(100, true, 0);
    CU_ASSERT_EQUAL(vrrp_fsm_advert(&fsm, 2000, 0, 100, ADDR_HIGH, &acts), 0);
    /* Master_Down_Timer = Skew_Time = 60 cs */
    CU_ASSERT_EQUAL(vrrp_fsm_next_deadline(&fsm), 2000 + 600);
    CU_ASSERT_EQUAL(vrrp_fsm_timer(&fsm, 2600, &acts), 4);
    CU_ASSERT_TRUE(is_state(3, VRRP_STATE_BACKUP, VRRP_STATE_MASTER));
    CU_ASSERT_STRING_EQUAL(acts.list[3].reason, "master resigned (priority 0)");
}

static void test_backup_rx_priority_zero_uses_learned_interval(void)
{
    start_backup(100, true, 0);
    vrrp_fsm_advert(&fsm, 2000, 150, 50, ADDR_HIGH, &acts);
    vrrp_fsm_advert(&fsm, 2500, 0, 50, ADDR_HIGH, &acts);
    /* skew = 156 * 50 / 256 = 30 cs */
    CU_ASSERT_EQUAL(vrrp_fsm_next_deadline(&fsm), 2500 + 300);
}

static void test_backup_rx_higher_priority_resets_and_learns(void)
{
    start_backup(100, true, 0);
    CU_ASSERT_EQUAL(vrrp_fsm_advert(&fsm, 2000, 150, 50, ADDR_LOW, &acts), 0);
    CU_ASSERT_EQUAL(fsm.state, VRRP_STATE_BACKUP);
    CU_ASSERT_EQUAL(fsm.master_adver_int_cs, 50);
    /* 3 * 50 + 156 * 50 / 256 = 150 + 30 = 180 cs */
    CU_ASSERT_EQUAL(vrrp_fsm_next_deadline(&fsm), 2000 + 1800);
    CU_ASSERT_TRUE(fsm.master_known);
    CU_ASSERT_EQUAL(fsm.master_priority, 150);
    CU_ASSERT_EQUAL(memcmp(fsm.master_addr, ADDR_LOW, 4), 0);
}

static void test_backup_rx_equal_priority_resets(void)
{
    /* >= local priority: reset, whatever the addresses (no tie-break in BACKUP) */
    start_backup(100, true, 0);
    vrrp_fsm_advert(&fsm, 2000, 100, 100, ADDR_LOW, &acts);
    CU_ASSERT_EQUAL(vrrp_fsm_next_deadline(&fsm), 2000 + 3600);
    CU_ASSERT_EQUAL(fsm.state, VRRP_STATE_BACKUP);
}

static void test_backup_rx_lower_priority_preempt_discards(void)
{
    start_backup(100, true, 0);
    vrrp_fsm_advert(&fsm, 2000, 50, 50, ADDR_HIGH, &acts);
    CU_ASSERT_EQUAL(acts.n, 0);
    CU_ASSERT_EQUAL(vrrp_fsm_next_deadline(&fsm), 4600);       /* unchanged */
    CU_ASSERT_EQUAL(fsm.master_adver_int_cs, 100);             /* not learnt */
    CU_ASSERT_FALSE(fsm.master_known);
    vrrp_fsm_advert(&fsm, 3000, 50, 50, ADDR_HIGH, &acts);
    vrrp_fsm_advert(&fsm, 4000, 50, 50, ADDR_HIGH, &acts);
    CU_ASSERT_EQUAL(vrrp_fsm_timer(&fsm, 4600, &acts), 4);
    CU_ASSERT_EQUAL(fsm.state, VRRP_STATE_MASTER);
}

static void test_backup_rx_lower_priority_nopreempt_resets(void)
{
    start_backup(100, false, 0);
    vrrp_fsm_advert(&fsm, 2000, 50, 100, ADDR_LOW, &acts);
    CU_ASSERT_EQUAL(vrrp_fsm_next_deadline(&fsm), 2000 + 3600);
    vrrp_fsm_advert(&fsm, 5000, 50, 100, ADDR_LOW, &acts);
    CU_ASSERT_EQUAL(vrrp_fsm_timer(&fsm, 5000 + 3599, &acts), 0);
    CU_ASSERT_EQUAL(fsm.state, VRRP_STATE_BACKUP);
    /* the lower master dies: nopreempt still takes over on timeout */
    CU_ASSERT_EQUAL(vrrp_fsm_timer(&fsm, 5000 + 3600, &acts), 4);
    CU_ASSERT_EQUAL(fsm.state, VRRP_STATE_MASTER);
}

/* ---- 6.4.3 Master ---- */

static void test_master_adver_timer(void)
{
    uint64_t t = start_master(100);
    CU_ASSERT_EQUAL(vrrp_fsm_timer(&fsm, t + 999, &acts), 0);
    CU_ASSERT_EQUAL(vrrp_fsm_timer(&fsm, t + 1000, &acts), 1);
    CU_ASSERT_TRUE(is_send(0, 100));
    CU_ASSERT_EQUAL(vrrp_fsm_next_deadline(&fsm), t + 2000);
}

static void test_master_shutdown(void)
{
    uint64_t t = start_master(100);
    CU_ASSERT_EQUAL(vrrp_fsm_shutdown(&fsm, t + 10, &acts), 3);
    CU_ASSERT_TRUE(is_send(0, 0));
    CU_ASSERT_TRUE(is_action(1, VRRP_ACT_DEL_VIPS));
    CU_ASSERT_TRUE(is_state(2, VRRP_STATE_MASTER, VRRP_STATE_INIT));
    CU_ASSERT_EQUAL(vrrp_fsm_next_deadline(&fsm), VRRP_FSM_NEVER);
}

static void test_master_rx_priority_zero(void)
{
    uint64_t t = start_master(100);
    CU_ASSERT_EQUAL(vrrp_fsm_advert(&fsm, t + 300, 0, 100, ADDR_HIGH, &acts), 1);
    CU_ASSERT_TRUE(is_send(0, 100));
    CU_ASSERT_EQUAL(vrrp_fsm_next_deadline(&fsm), t + 300 + 1000);
    CU_ASSERT_EQUAL(fsm.state, VRRP_STATE_MASTER);
}

static void test_master_rx_higher_priority(void)
{
    uint64_t t = start_master(100);
    CU_ASSERT_EQUAL(vrrp_fsm_advert(&fsm, t + 300, 101, 200, ADDR_LOW, &acts), 2);
    CU_ASSERT_TRUE(is_action(0, VRRP_ACT_DEL_VIPS));
    CU_ASSERT_TRUE(is_state(1, VRRP_STATE_MASTER, VRRP_STATE_BACKUP));
    CU_ASSERT_STRING_EQUAL(acts.list[1].reason, "higher priority advertisement");
    /* learnt 200 cs: 600 + 156 * 200 / 256 = 600 + 121 = 721 cs */
    CU_ASSERT_EQUAL(fsm.master_adver_int_cs, 200);
    CU_ASSERT_EQUAL(vrrp_fsm_next_deadline(&fsm), t + 300 + 7210);
    CU_ASSERT_EQUAL(memcmp(fsm.master_addr, ADDR_LOW, 4), 0);
}

static void test_master_rx_equal_priority_higher_address(void)
{
    uint64_t t = start_master(100);
    CU_ASSERT_EQUAL(vrrp_fsm_advert(&fsm, t + 300, 100, 100, ADDR_HIGH, &acts), 2);
    CU_ASSERT_TRUE(is_state(1, VRRP_STATE_MASTER, VRRP_STATE_BACKUP));
    CU_ASSERT_EQUAL(vrrp_fsm_next_deadline(&fsm), t + 300 + 3600);
}

static void test_master_rx_equal_priority_lower_address(void)
{
    uint64_t t = start_master(100);
    CU_ASSERT_EQUAL(vrrp_fsm_advert(&fsm, t + 300, 100, 100, ADDR_LOW, &acts), 0);
    CU_ASSERT_EQUAL(fsm.state, VRRP_STATE_MASTER);
    CU_ASSERT_EQUAL(vrrp_fsm_next_deadline(&fsm), t + 1000);    /* untouched */
    /* our own address (a looped-back advert) is not "greater" either */
    CU_ASSERT_EQUAL(vrrp_fsm_advert(&fsm, t + 400, 100, 100, ADDR_MID, &acts), 0);
    CU_ASSERT_EQUAL(fsm.state, VRRP_STATE_MASTER);
}

static void test_tie_break_unsigned_big_endian(void)
{
    /* 198.51.100.1 > 127.0.1.100 only when bytes compare unsigned (198
     * is negative as a signed char), and 127.0.0.200 < 127.0.1.100 only
     * when compared most significant first (as a little-endian integer
     * it is the greater) */
    const uint8_t a198[4] = { 198, 51, 100, 1 }, a127[4] = { 127, 0, 0, 200 };
    uint64_t t = start_master(100);
    CU_ASSERT_EQUAL(vrrp_fsm_advert(&fsm, t + 1, 100, 100, a127, &acts), 0);
    CU_ASSERT_EQUAL(fsm.state, VRRP_STATE_MASTER);
    vrrp_fsm_advert(&fsm, t + 2, 100, 100, a198, &acts);
    CU_ASSERT_EQUAL(fsm.state, VRRP_STATE_BACKUP);
}

static void test_tie_break_ipv6(void)
{
    struct vrrp_fsm_config cfg;
    uint8_t peer[16] = { 0xfe, 0x80 }, low[16] = { 0xfe, 0x80 };
    vrrp_fsm_config_defaults(&cfg);
    cfg.addr_len = 16;
    cfg.primary_addr[0] = 0xfe;
    cfg.primary_addr[1] = 0x80;
    cfg.primary_addr[15] = 0x10;
    CU_ASSERT_EQUAL_FATAL(vrrp_fsm_init(&fsm, &cfg), 0);
    vrrp_fsm_startup(&fsm, 0, &acts);
    vrrp_fsm_timer(&fsm, 3600, &acts);
    CU_ASSERT_EQUAL_FATAL(fsm.state, VRRP_STATE_MASTER);
    low[15] = 0x0f;
    vrrp_fsm_advert(&fsm, 3700, 100, 100, low, &acts);
    CU_ASSERT_EQUAL(fsm.state, VRRP_STATE_MASTER);
    peer[14] = 0x01;    /* fe80::100 > fe80::10 */
    vrrp_fsm_advert(&fsm, 3800, 100, 100, peer, &acts);
    CU_ASSERT_EQUAL(fsm.state, VRRP_STATE_BACKUP);
}

static void test_master_rx_lower_priority_discards(void)
{
    uint64_t t = start_master(100);
    CU_ASSERT_EQUAL(vrrp_fsm_advert(&fsm, t + 300, 99, 100, ADDR_HIGH, &acts), 0);
    CU_ASSERT_EQUAL(fsm.state, VRRP_STATE_MASTER);
    CU_ASSERT_EQUAL(vrrp_fsm_next_deadline(&fsm), t + 1000);
}

static void test_master_ignores_preempt_mode(void)
{
    /* "in the Master state, the Preempt_Mode Flag is not considered" */
    start_backup(100, false, 0);
    vrrp_fsm_timer(&fsm, 4600, &acts);
    CU_ASSERT_EQUAL_FATAL(fsm.state, VRRP_STATE_MASTER);
    vrrp_fsm_advert(&fsm, 5000, 200, 100, ADDR_LOW, &acts);
    CU_ASSERT_EQUAL(fsm.state, VRRP_STATE_BACKUP);
}

/* ---- late timers ---- */

static void test_late_adver_timer_fires_once(void)
{
    uint64_t t = start_master(100);
    /* the process slept 4 s past the deadline: one advert, not five */
    CU_ASSERT_EQUAL(vrrp_fsm_timer(&fsm, t + 5000, &acts), 1);
    CU_ASSERT_TRUE(is_send(0, 100));
    CU_ASSERT_EQUAL(acts.late_ms, 4000);
    CU_ASSERT_EQUAL(vrrp_fsm_next_deadline(&fsm), t + 6000);
    CU_ASSERT_EQUAL(vrrp_fsm_timer(&fsm, t + 5001, &acts), 0);
    CU_ASSERT_EQUAL(acts.late_ms, 0);
}

static void test_late_master_down_timer(void)
{
    start_backup(100, true, 0);
    CU_ASSERT_EQUAL(vrrp_fsm_timer(&fsm, 4600 + 2500, &acts), 4);
    CU_ASSERT_EQUAL(acts.late_ms, 2500);
    CU_ASSERT_EQUAL(fsm.state, VRRP_STATE_MASTER);
    CU_ASSERT_EQUAL(vrrp_fsm_next_deadline(&fsm), 7100 + 1000);
}

/* ---- tracking ---- */

static void test_priority_change_master(void)
{
    uint64_t t = start_master(100);
    CU_ASSERT_EQUAL(vrrp_fsm_set_priority(&fsm, t + 200, 80, &acts), 1);
    CU_ASSERT_TRUE(is_send(0, 80));
    CU_ASSERT_EQUAL(vrrp_fsm_next_deadline(&fsm), t + 1200);
    CU_ASSERT_EQUAL(vrrp_fsm_set_priority(&fsm, t + 300, 80, &acts), 0);   /* no change */
    /* now a 90 peer wins */
    vrrp_fsm_advert(&fsm, t + 400, 90, 100, ADDR_LOW, &acts);
    CU_ASSERT_EQUAL(fsm.state, VRRP_STATE_BACKUP);
    /* 0 is reserved for resigning: taken as 1 */
    vrrp_fsm_set_priority(&fsm, t + 500, 0, &acts);
    CU_ASSERT_EQUAL(fsm.priority, 1);
}

static void test_priority_change_backup(void)
{
    start_backup(100, true, 0);
    CU_ASSERT_EQUAL(vrrp_fsm_set_priority(&fsm, 1500, 200, &acts), 0);
    CU_ASSERT_EQUAL(vrrp_fsm_next_deadline(&fsm), 4600);   /* running timer kept */
    /* the master at 150 is now lower: discarded, we preempt on timeout */
    vrrp_fsm_advert(&fsm, 2000, 150, 100, ADDR_HIGH, &acts);
    CU_ASSERT_EQUAL(vrrp_fsm_next_deadline(&fsm), 4600);
    /* back to 100: its adverts reset the timer with the new skew */
    vrrp_fsm_set_priority(&fsm, 2500, 100, &acts);
    vrrp_fsm_advert(&fsm, 3000, 150, 100, ADDR_HIGH, &acts);
    CU_ASSERT_EQUAL(vrrp_fsm_next_deadline(&fsm), 3000 + 3600);
}

/* ---- preempt_delay ---- */

static void test_preempt_delay(void)
{
    /* started at 1000 with a 10 s delay: lower-priority adverts reset the
     * timer until 11000, and are discarded from then on */
    uint64_t t;
    start_backup(100, true, 10000);
    for (t = 1500; t < 11000; t += 1000) {
        vrrp_fsm_advert(&fsm, t, 50, 100, ADDR_LOW, &acts);
        CU_ASSERT_EQUAL(vrrp_fsm_next_deadline(&fsm), t + 3600);
        CU_ASSERT_EQUAL(vrrp_fsm_timer(&fsm, t, &acts), 0);
    }
    /* last accepted at 10500 */
    vrrp_fsm_advert(&fsm, 11500, 50, 100, ADDR_LOW, &acts);
    CU_ASSERT_EQUAL(vrrp_fsm_next_deadline(&fsm), 10500 + 3600);
    vrrp_fsm_advert(&fsm, 12500, 50, 100, ADDR_LOW, &acts);
    CU_ASSERT_EQUAL(vrrp_fsm_timer(&fsm, 14100, &acts), 4);
    CU_ASSERT_EQUAL(fsm.state, VRRP_STATE_MASTER);
}

static void test_preempt_delay_does_not_block_takeover(void)
{
    /* with no master at all, the delay does not hold us back */
    start_backup(100, true, 60000);
    CU_ASSERT_EQUAL(vrrp_fsm_timer(&fsm, 4600, &acts), 4);
    CU_ASSERT_EQUAL(fsm.state, VRRP_STATE_MASTER);
}

/* ---- FAULT ---- */

static void test_fault_from_backup(void)
{
    start_backup(100, true, 0);
    CU_ASSERT_EQUAL(vrrp_fsm_set_fault(&fsm, 2000, true, &acts), 1);
    CU_ASSERT_TRUE(is_state(0, VRRP_STATE_BACKUP, VRRP_STATE_FAULT));
    CU_ASSERT_EQUAL(vrrp_fsm_next_deadline(&fsm), VRRP_FSM_NEVER);
    /* nothing moves it while faulty */
    CU_ASSERT_EQUAL(vrrp_fsm_timer(&fsm, 100000, &acts), 0);
    CU_ASSERT_EQUAL(vrrp_fsm_advert(&fsm, 3000, 0, 100, ADDR_HIGH, &acts), 0);
    CU_ASSERT_EQUAL(vrrp_fsm_set_fault(&fsm, 3000, true, &acts), 0);
    CU_ASSERT_EQUAL(fsm.state, VRRP_STATE_FAULT);
}

static void test_fault_from_master(void)
{
    uint64_t t = start_master(100);
    CU_ASSERT_EQUAL(vrrp_fsm_set_fault(&fsm, t + 10, true, &acts), 3);
    CU_ASSERT_TRUE(is_send(0, 0));
    CU_ASSERT_TRUE(is_action(1, VRRP_ACT_DEL_VIPS));
    CU_ASSERT_TRUE(is_state(2, VRRP_STATE_MASTER, VRRP_STATE_FAULT));
    CU_ASSERT_EQUAL(vrrp_fsm_next_deadline(&fsm), VRRP_FSM_NEVER);
}

static void test_fault_clear_to_backup(void)
{
    uint64_t t = start_master(100);
    vrrp_fsm_set_fault(&fsm, t + 10, true, &acts);
    CU_ASSERT_EQUAL(vrrp_fsm_set_fault(&fsm, t + 5000, false, &acts), 1);
    CU_ASSERT_TRUE(is_state(0, VRRP_STATE_FAULT, VRRP_STATE_BACKUP));
    CU_ASSERT_EQUAL(vrrp_fsm_next_deadline(&fsm), t + 5000 + 3600);
}

static void test_fault_clear_owner_to_master(void)
{
    setup(255, true, 0);
    vrrp_fsm_startup(&fsm, 0, &acts);
    vrrp_fsm_set_fault(&fsm, 100, true, &acts);
    CU_ASSERT_EQUAL(fsm.state, VRRP_STATE_FAULT);
    CU_ASSERT_EQUAL(vrrp_fsm_set_fault(&fsm, 200, false, &acts), 4);
    CU_ASSERT_TRUE(is_state(3, VRRP_STATE_FAULT, VRRP_STATE_MASTER));
}

static void test_fault_before_startup(void)
{
    setup(100, true, 0);
    CU_ASSERT_EQUAL(vrrp_fsm_set_fault(&fsm, 0, true, &acts), 0);
    CU_ASSERT_EQUAL(fsm.state, VRRP_STATE_INIT);
    CU_ASSERT_EQUAL(vrrp_fsm_startup(&fsm, 10, &acts), 1);
    CU_ASSERT_TRUE(is_state(0, VRRP_STATE_INIT, VRRP_STATE_FAULT));
    vrrp_fsm_set_fault(&fsm, 20, false, &acts);
    CU_ASSERT_EQUAL(fsm.state, VRRP_STATE_BACKUP);
}

static void test_fault_shutdown(void)
{
    start_backup(100, true, 0);
    vrrp_fsm_set_fault(&fsm, 2000, true, &acts);
    CU_ASSERT_EQUAL(vrrp_fsm_shutdown(&fsm, 3000, &acts), 1);
    CU_ASSERT_TRUE(is_state(0, VRRP_STATE_FAULT, VRRP_STATE_INIT));
}

/* ---- switchover ---- */

static void test_switchover_from_master(void)
{
    uint64_t t = start_master(200);
    CU_ASSERT_EQUAL(vrrp_fsm_switchover(&fsm, t + 100, &acts), 3);
    CU_ASSERT_TRUE(is_send(0, 0));
    CU_ASSERT_TRUE(is_action(1, VRRP_ACT_DEL_VIPS));
    CU_ASSERT_TRUE(is_state(2, VRRP_STATE_MASTER, VRRP_STATE_BACKUP));
    CU_ASSERT_STRING_EQUAL(acts.list[2].reason, "admin switchover");
    /* the lower-priority peer takes over; we accept it and do not flap back */
    vrrp_fsm_advert(&fsm, t + 300, 100, 100, ADDR_LOW, &acts);
    /* 3 * 100 + 56 * 100 / 256 = 321 cs */
    CU_ASSERT_EQUAL(vrrp_fsm_next_deadline(&fsm), t + 300 + 3210);
    vrrp_fsm_advert(&fsm, t + 1300, 100, 100, ADDR_LOW, &acts);
    CU_ASSERT_EQUAL(vrrp_fsm_timer(&fsm, t + 1300 + 3000, &acts), 0);
    CU_ASSERT_EQUAL(fsm.state, VRRP_STATE_BACKUP);
}

static void test_switchover_then_peer_dies(void)
{
    uint64_t t = start_master(200), d;
    vrrp_fsm_switchover(&fsm, t, &acts);
    vrrp_fsm_advert(&fsm, t + 300, 100, 100, ADDR_LOW, &acts);
    d = vrrp_fsm_next_deadline(&fsm);
    CU_ASSERT_EQUAL(vrrp_fsm_timer(&fsm, d, &acts), 4);
    CU_ASSERT_EQUAL(fsm.state, VRRP_STATE_MASTER);
    /* mastership restores normal preemption */
    CU_ASSERT_FALSE(fsm.yielded);
}

static void test_switchover_without_peer(void)
{
    /* nobody answers the priority 0: we take the VIPs back after MDI */
    uint64_t t = start_master(100);
    vrrp_fsm_switchover(&fsm, t, &acts);
    CU_ASSERT_EQUAL(vrrp_fsm_next_deadline(&fsm), t + 3600);
    CU_ASSERT_EQUAL(vrrp_fsm_timer(&fsm, t + 3600, &acts), 4);
    CU_ASSERT_EQUAL(fsm.state, VRRP_STATE_MASTER);
}

static void test_switchover_in_backup_is_noop(void)
{
    start_backup(100, true, 0);
    CU_ASSERT_EQUAL(vrrp_fsm_switchover(&fsm, 2000, &acts), 0);
    CU_ASSERT_EQUAL(fsm.state, VRRP_STATE_BACKUP);
}

/* ---- two routers talking through the fake clock ---- */

static void test_two_routers_priority_zero_handover(void)
{
    /* A (200) master, B (100) backup; A shuts down cleanly: B is master
     * Skew_Time (60 cs) later instead of Master_Down_Interval */
    struct vrrp_fsm a, b;
    struct vrrp_fsm_config cfg;
    struct vrrp_actions out;
    vrrp_fsm_config_defaults(&cfg);
    cfg.priority = 200;
    memcpy(cfg.primary_addr, ADDR_HIGH, 4);
    vrrp_fsm_init(&a, &cfg);
    cfg.priority = 100;
    memcpy(cfg.primary_addr, ADDR_LOW, 4);
    vrrp_fsm_init(&b, &cfg);
    vrrp_fsm_startup(&a, 0, &out);
    vrrp_fsm_startup(&b, 0, &out);
    vrrp_fsm_timer(&a, vrrp_fsm_next_deadline(&a), &out);          /* 3000 + 210 */
    CU_ASSERT_EQUAL(a.state, VRRP_STATE_MASTER);
    vrrp_fsm_advert(&b, 3210, 200, 100, ADDR_HIGH, &out);
    vrrp_fsm_shutdown(&a, 3500, &out);
    CU_ASSERT_TRUE(out.n > 0 && out.list[0].kind == VRRP_ACT_SEND_ADVERT &&
                   out.list[0].priority == 0);
    vrrp_fsm_advert(&b, 3500, 0, 100, ADDR_HIGH, &out);
    CU_ASSERT_EQUAL(vrrp_fsm_next_deadline(&b), 3500 + 600);
    vrrp_fsm_timer(&b, 4100, &out);
    CU_ASSERT_EQUAL(b.state, VRRP_STATE_MASTER);
}

static const struct unit_test tests[] = {
    UNIT_TEST(test_timer_arithmetic),
    UNIT_TEST(test_config_validation),
    UNIT_TEST(test_state_names),
    UNIT_TEST(test_init_startup_to_backup),
    UNIT_TEST(test_init_owner_startup_to_master),
    UNIT_TEST(test_init_ignores_adverts_and_timers),
    UNIT_TEST(test_backup_shutdown),
    UNIT_TEST(test_backup_master_down_fires),
    UNIT_TEST(test_backup_rx_priority_zero),
    UNIT_TEST(test_backup_rx_priority_zero_uses_learned_interval),
    UNIT_TEST(test_backup_rx_higher_priority_resets_and_learns),
    UNIT_TEST(test_backup_rx_equal_priority_resets),
    UNIT_TEST(test_backup_rx_lower_priority_preempt_discards),
    UNIT_TEST(test_backup_rx_lower_priority_nopreempt_resets),
    UNIT_TEST(test_master_adver_timer),
    UNIT_TEST(test_master_shutdown),
    UNIT_TEST(test_master_rx_priority_zero),
    UNIT_TEST(test_master_rx_higher_priority),
    UNIT_TEST(test_master_rx_equal_priority_higher_address),
    UNIT_TEST(test_master_rx_equal_priority_lower_address),
    UNIT_TEST(test_tie_break_unsigned_big_endian),
    UNIT_TEST(test_tie_break_ipv6),
    UNIT_TEST(test_master_rx_lower_priority_discards),
    UNIT_TEST(test_master_ignores_preempt_mode),
    UNIT_TEST(test_late_adver_timer_fires_once),
    UNIT_TEST(test_late_master_down_timer),
    UNIT_TEST(test_priority_change_master),
    UNIT_TEST(test_priority_change_backup),
    UNIT_TEST(test_preempt_delay),
    UNIT_TEST(test_preempt_delay_does_not_block_takeover),
    UNIT_TEST(test_fault_from_backup),
    UNIT_TEST(test_fault_from_master),
    UNIT_TEST(test_fault_clear_to_backup),
    UNIT_TEST(test_fault_clear_owner_to_master),
    UNIT_TEST(test_fault_before_startup),
    UNIT_TEST(test_fault_shutdown),
    UNIT_TEST(test_switchover_from_master),
    UNIT_TEST(test_switchover_then_peer_dies),
    UNIT_TEST(test_switchover_without_peer),
    UNIT_TEST(test_switchover_in_backup_is_noop),
    UNIT_TEST(test_two_routers_priority_zero_handover),
    { 0 },
};

int main(void)
{
    return unit_run("vrrp_fsm", tests);
}
