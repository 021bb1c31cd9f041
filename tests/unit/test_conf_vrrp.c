/* test_conf_vrrp.c - the vrrp section loader: good files load with their
 * values and defaults, bad files yield exactly the expected
 * "FILE:LINE: message" lines. Files in tests/unit/conf_vrrp/. */
#include "config.h"
#include "unit.h"
#include "conf_expect.h"
#include "conf_vrrp.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#ifndef CONF_VRRP_TEST_DIR
#error "CONF_VRRP_TEST_DIR must name tests/unit/conf_vrrp"
#endif

static struct conf_vrrp *load(const char *name, struct conf_errors *errs)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", CONF_VRRP_TEST_DIR, name);
    return conf_load_vrrp(path, errs);
}

static void expect_errors(const char *file, const char *const *want, unsigned nwant)
{
    struct conf_errors errs = { 0 };
    struct conf_vrrp *cfg = load(file, &errs);
    CU_ASSERT_PTR_NULL(cfg);
    conf_vrrp_free(cfg);
    conf_expect_messages(&errs, CONF_VRRP_TEST_DIR, file, want, nwant);
    conf_errors_free(&errs);
}

#define EXPECT(file, ...) do { \
        static const char *const want_[] = { __VA_ARGS__ }; \
        expect_errors(file, want_, sizeof(want_) / sizeof(want_[0])); \
    } while (0)

static struct conf_vrrp *load_ok(const char *file)
{
    struct conf_errors errs = { 0 };
    struct conf_vrrp *cfg = load(file, &errs);
    for (unsigned i = 0; i < errs.n; i++)
        fprintf(stderr, "# unexpected: %s\n", errs.msgs[i]);
    CU_ASSERT_EQUAL(errs.n, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    conf_errors_free(&errs);
    return cfg;
}

static void test_minimal_defaults(void)
{
    struct conf_vrrp *cfg = load_ok("good-minimal.conf");
    CU_ASSERT_STRING_EQUAL(cfg->interface, "eth0");
    CU_ASSERT_EQUAL(cfg->sched_rr, 1);
    CU_ASSERT_EQUAL(cfg->rt_priority, 50);
    CU_ASSERT_EQUAL(cfg->track_proxy_timeout_ms, 500);
    CU_ASSERT_PTR_NOT_NULL(strstr(cfg->status_socket, "/tandem/vrrp.sock"));
    CU_ASSERT_PTR_NOT_NULL(strstr(cfg->track_proxy_socket, "/tandem/proxy.sock"));
    CU_ASSERT_EQUAL_FATAL(cfg->ninstances, 1);
    const struct conf_vrrp_instance *in = &cfg->instances[0];
    CU_ASSERT_STRING_EQUAL(in->name, "web");
    CU_ASSERT_EQUAL(in->vrid, 51);
    CU_ASSERT_EQUAL(in->priority, 100);
    CU_ASSERT_EQUAL(in->advert_ms, 1000);
    CU_ASSERT_EQUAL(in->preempt, 1);
    CU_ASSERT_EQUAL(in->preempt_delay_ms, 0);
    CU_ASSERT_EQUAL(in->track_proxy, 0);
    CU_ASSERT_EQUAL(in->garp_count, 3);
    CU_ASSERT_EQUAL(in->garp_delay_ms, 100);
    CU_ASSERT_EQUAL(in->family, AF_INET);
    CU_ASSERT_EQUAL(in->npeers, 0);
    CU_ASSERT_PTR_NULL(in->notify);
    CU_ASSERT_STRING_EQUAL(conf_vrrp_ifname(cfg, in), "eth0");
    conf_vrrp_free(cfg);
}

static void test_full(void)
{
    struct conf_vrrp *cfg = load_ok("good-full.conf");
    CU_ASSERT_EQUAL(cfg->sched_rr, 0);
    CU_ASSERT_EQUAL(cfg->rt_priority, 20);
    CU_ASSERT_EQUAL(cfg->track_proxy_timeout_ms, 250);
    CU_ASSERT_EQUAL(cfg->track_proxy_interval_ms, 200);
    CU_ASSERT_EQUAL_FATAL(cfg->ninstances, 2);
    const struct conf_vrrp_instance *w = &cfg->instances[0], *w6 = &cfg->instances[1];
    CU_ASSERT_EQUAL(w->priority, 150);
    CU_ASSERT_EQUAL(w->advert_ms, 100);
    CU_ASSERT_EQUAL_FATAL(w->nvips, 2);
    CU_ASSERT_EQUAL(w->vips[0].prefixlen, 24);
    CU_ASSERT_EQUAL(w->vips[1].prefixlen, 32);
    uint8_t want[4] = { 198, 51, 100, 101 };
    CU_ASSERT_EQUAL(memcmp(w->vips[1].addr, want, 4), 0);
    CU_ASSERT_EQUAL(w->npeers, 1);
    CU_ASSERT_EQUAL(w->preempt, 0);
    CU_ASSERT_EQUAL(w->preempt_delay_ms, 5000);
    CU_ASSERT_EQUAL(w->track_proxy, 1);
    CU_ASSERT_EQUAL_FATAL(w->ntrack_ifs, 2);
    CU_ASSERT_STRING_EQUAL(w->track_ifs[1].name, "eth2");
    CU_ASSERT_EQUAL(w->track_ifs[0].weight, 0);
    CU_ASSERT_EQUAL(w->track_ifs[1].weight, -30);
    CU_ASSERT_EQUAL_FATAL(w->ntrack_scripts, 1);
    CU_ASSERT_EQUAL(w->track_scripts[0].interval_ms, 2000);
    CU_ASSERT_EQUAL(w->track_scripts[0].timeout_ms, 1000);
    CU_ASSERT_EQUAL(w->track_scripts[0].weight, -20);
    CU_ASSERT_STRING_EQUAL(w->notify, "/etc/tandem/notify.sh");
    CU_ASSERT_EQUAL(w->garp_count, 5);
    CU_ASSERT_EQUAL(w->garp_delay_ms, 50);
    CU_ASSERT_EQUAL(w6->family, AF_INET6);
    CU_ASSERT_EQUAL(w6->npeers, 2);
    CU_ASSERT_EQUAL(w6->vips[0].prefixlen, 64);
    CU_ASSERT_STRING_EQUAL(conf_vrrp_ifname(cfg, w6), "eth1");
    CU_ASSERT_PTR_NOT_NULL(conf_vrrp_find(cfg, "web6"));
    CU_ASSERT_PTR_NULL(conf_vrrp_find(cfg, "nope"));
    conf_vrrp_free(cfg);
}

static void test_string_loader(void)
{
    struct conf_errors errs = { 0 };
    struct conf_vrrp *cfg = conf_load_vrrp_string(
        "vrrp = { interface = \"eth0\"; instances = ( { name = \"a\"; vrid = 1; "
        "vips = \"198.51.100.1\"; } ); };", "mem", &errs);
    CU_ASSERT_PTR_NOT_NULL(cfg);
    CU_ASSERT_EQUAL(errs.n, 0);
    conf_vrrp_free(cfg);
    cfg = conf_load_vrrp_string("vrrp = { ", "mem", &errs);
    CU_ASSERT_PTR_NULL(cfg);
    CU_ASSERT_EQUAL(errs.n, 1);
    conf_errors_free(&errs);
}

/* ---- bad files: every message, in file and line order ---- */

static void test_bad_dup(void)
{
    EXPECT("bad-dup.conf",
           "bad-dup.conf:3: instance \"web\": name \"web\" is already used by the instance on line 2",
           "bad-dup.conf:3: instance \"web\": vrid 51 is already used on this interface by instance \"web\" (line 2)",
           "bad-dup.conf:3: instance \"web\": a VIP is also in instance \"web\" (line 2)");
}

static void test_bad_missing(void)
{
    EXPECT("bad-missing.conf",
           "bad-missing.conf:2: instance \"web\": missing required key \"vrid\"",
           "bad-missing.conf:2: instance \"web\": vips is empty: an instance needs at least one VIP",
           "bad-missing.conf:3: instance \"web\": track_script #1: missing required key \"path\"",
           "bad-missing.conf:3: instance \"web\": notify \"notify.sh\" must be an absolute path");
}

static void test_bad_mixed_family(void)
{
    EXPECT("bad-mixed-family.conf",
           "bad-mixed-family.conf:3: instance \"web\": vips mix IPv4 and IPv6: one address family per instance (RFC 5798); use two instances");
}

static void test_bad_no_interface(void)
{
    EXPECT("bad-no-interface.conf",
           "bad-no-interface.conf:1: instance \"web\": no interface: set vrrp.interface or the instance's interface");
}

static void test_bad_no_vrrp(void)
{
    EXPECT("bad-no-vrrp.conf",
           "bad-no-vrrp.conf: no vrrp section: tandem-vrrp has nothing to do");
}

static void test_bad_peer(void)
{
    EXPECT("bad-peer.conf",
           "bad-peer.conf:3: instance \"web\": unicast peer is not of the VIPs' address family (IPv4)",
           "bad-peer.conf:5: instance \"db\": unicast_peer must be a string (use unicast_peers for a list)");
}

static void test_bad_unknown_key(void)
{
    EXPECT("bad-unknown-key.conf",
           "bad-unknown-key.conf:3: instance \"web\": unknown key \"priorty\" (did you mean \"priority\"?)",
           "bad-unknown-key.conf:4: unknown key \"vrrp.sched_r\" (did you mean \"vrrp.sched_rr\"?)");
}

static void test_bad_values(void)
{
    EXPECT("bad-values.conf",
           "bad-values.conf:1: vrrp.rt_priority 100 is out of range (1-99)",
           "bad-values.conf:2: instance \"web\": vrid 0 is out of range (1-255)",
           "bad-values.conf:2: instance \"web\": priority 256 is out of range (1-255)",
           "bad-values.conf:2: instance \"web\": advert_ms 105 is not a multiple of 10 (VRRP counts centiseconds)",
           "bad-values.conf:3: instance \"web\": vips \"198.51.100.300/24\": not a numeric IPv4 or IPv6 address",
           "bad-values.conf:4: instance \"web\": track_interface #1: weight -300 is out of range (-254..254; 0 = FAULT)",
           "bad-values.conf:5: instance \"web\": preempt_delay must be a duration string such as \"5s\"");
}


static const struct unit_test tests[] = {
    UNIT_TEST(test_minimal_defaults),
    UNIT_TEST(test_full),
    UNIT_TEST(test_string_loader),
    UNIT_TEST(test_bad_dup),
    UNIT_TEST(test_bad_missing),
    UNIT_TEST(test_bad_mixed_family),
    UNIT_TEST(test_bad_no_interface),
    UNIT_TEST(test_bad_no_vrrp),
    UNIT_TEST(test_bad_peer),
    UNIT_TEST(test_bad_unknown_key),
    UNIT_TEST(test_bad_values),
    { NULL, NULL }
};

int main(void) { return unit_run("conf_vrrp", tests); }
