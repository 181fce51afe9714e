/*
 * Settings by name (issue 3 scope 1): Linux's defaults, sysctl names and
 * spellings, ranges with messages that name the key and the valid range,
 * all-or-nothing text, files, and settings reaching a live stack.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tide/settings.h>
#include "harness.h"

static void test_settings_defaults_are_linux(void **state)
{
	(void)state;
	struct tide_settings s;
	tide_settings_default(&s);
	assert_int_equal(s.tcp_fin_timeout, 60);
	assert_int_equal(s.tcp_orphan_retries, 0);
	assert_int_equal(s.tcp_syn_retries, 6);
	assert_int_equal(s.tcp_syn_linear_timeouts, 4);
	assert_int_equal(s.tcp_synack_retries, 5);
	assert_int_equal(s.tcp_retries2, 15);
	assert_int_equal(s.tcp_keepalive_time, 7200);
	assert_int_equal(s.tcp_keepalive_intvl, 75);
	assert_int_equal(s.tcp_keepalive_probes, 9);
	assert_int_equal(s.tcp_tw_reuse, 2);
	assert_int_equal(s.tcp_timestamps, 1);
	assert_int_equal(s.tcp_max_tw_buckets, 131072);
	assert_int_equal(s.somaxconn, 4096);
	assert_int_equal(s.tcp_abort_on_overflow, 0);
	assert_int_equal(s.tcp_syncookies, 1);
	assert_int_equal(s.tcp_rfc1337, 0);
	assert_int_equal(s.ip_local_port_range_lo, 32768);
	assert_int_equal(s.ip_local_port_range_hi, 60999);
	assert_int_equal(s.tcp_timewait_len, 60);
	assert_int_equal(s.tcp_rmem_default, 131072);
	assert_int_equal(s.tcp_wmem_default, 16384);
	/* tide_config_init gives the same */
	struct tide_config cfg;
	tide_config_init(&cfg);
	assert_memory_equal(&cfg.settings, &s, sizeof(s));
}

static void test_settings_names_and_spellings(void **state)
{
	(void)state;
	struct tide_settings s;
	tide_settings_default(&s);
	char err[256], out[64];
	assert_int_equal(tide_settings_set(&s, "net.ipv4.tcp_fin_timeout", "30", err, sizeof(err)), 0);
	assert_int_equal(s.tcp_fin_timeout, 30);
	assert_int_equal(tide_settings_set(&s, "net/ipv4/tcp_fin_timeout", "31", err, sizeof(err)), 0);
	assert_int_equal(s.tcp_fin_timeout, 31);
	assert_int_equal(tide_settings_set(&s, "tcp_fin_timeout", " 32 ", err, sizeof(err)), 0);
	assert_int_equal(s.tcp_fin_timeout, 32);
	assert_int_equal(tide_settings_get(&s, "net.ipv4.tcp_fin_timeout", out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "32");
	assert_int_equal(tide_settings_set(&s, "net.ipv4.ip_local_port_range", "40000\t40100", err, sizeof(err)), 0);
	assert_int_equal(s.ip_local_port_range_lo, 40000);
	assert_int_equal(s.ip_local_port_range_hi, 40100);
	assert_int_equal(tide_settings_get(&s, "ip_local_port_range", out, sizeof(out), err, sizeof(err)), 0);
	assert_string_equal(out, "40000\t40100");
	assert_int_equal(tide_settings_set(&s, "net.ipv4.tcp_rmem", "4096 87380 6291456", err, sizeof(err)), 0);
	assert_int_equal(s.tcp_rmem_default, 87380);
	assert_int_equal(tide_settings_set(&s, "net.core.somaxconn", "128", err, sizeof(err)), 0);
	assert_int_equal(s.somaxconn, 128);
	/* a get into a buffer too small says so */
	char tiny[3];
	assert_int_equal(tide_settings_get(&s, "ip_local_port_range", tiny, sizeof(tiny), err, sizeof(err)), -1);
	assert_int_equal(errno, ENOSPC);
}

static void test_settings_errors_name_key_and_range(void **state)
{
	(void)state;
	struct tide_settings s, before;
	tide_settings_default(&s);
	before = s;
	char err[256];
	assert_int_equal(tide_settings_set(&s, "net.ipv4.tcp_fin_timout", "30", err, sizeof(err)), -1);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(err, "unknown setting 'net.ipv4.tcp_fin_timout'");
	assert_int_equal(tide_settings_set(&s, "net.ipv4.tcp_syn_retries", "200", err, sizeof(err)), -1);
	assert_int_equal(errno, ERANGE);
	assert_string_equal(err, "net.ipv4.tcp_syn_retries: 200 is out of range (valid: 1..127)");
	assert_int_equal(tide_settings_set(&s, "net.ipv4.tcp_syn_retries", "0", err, sizeof(err)), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(tide_settings_set(&s, "net.ipv4.tcp_fin_timeout", "abc", err, sizeof(err)), -1);
	assert_int_equal(errno, EINVAL);
	assert_string_equal(err, "net.ipv4.tcp_fin_timeout: 'abc' is not a number (valid: 0..2147483)");
	assert_int_equal(tide_settings_set(&s, "net.ipv4.tcp_fin_timeout", "30s", err, sizeof(err)), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(tide_settings_set(&s, "net.ipv4.ip_local_port_range", "50000 40000", err, sizeof(err)), -1);
	assert_int_equal(errno, ERANGE);
	assert_string_equal(err, "net.ipv4.ip_local_port_range: '50000 40000' is out of order "
				 "(valid: 2 values, each 1..65535, the first not above the second)");
	assert_int_equal(tide_settings_set(&s, "net.ipv4.ip_local_port_range", "40000", err, sizeof(err)), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(tide_settings_set(&s, "net.ipv4.tcp_keepalive_time", "99999999999999999999", err, sizeof(err)), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(tide_settings_set(&s, "net.ipv4.tcp_rto_min_ms", "130000", err, sizeof(err)), -1);
	assert_int_equal(errno, ERANGE);
	/* rto_min may not exceed rto_max */
	assert_int_equal(tide_settings_set(&s, "net.ipv4.tcp_rto_max_ms", "1000", err, sizeof(err)), 0);
	assert_int_equal(tide_settings_set(&s, "net.ipv4.tcp_rto_min_ms", "2000", err, sizeof(err)), -1);
	assert_int_equal(errno, ERANGE);
	s.tcp_rto_max_ms = before.tcp_rto_max_ms;
	/* nothing above changed anything */
	assert_memory_equal(&s, &before, sizeof(s));
}

static void test_settings_text_is_all_or_nothing(void **state)
{
	(void)state;
	struct tide_settings s, before;
	tide_settings_default(&s);
	before = s;
	char err[256];
	const char *bad = "# shorter timers\n"
			  "net.ipv4.tcp_fin_timeout = 5\n"
			  "\n"
			  "net.ipv4.tcp_keepalive_probes = 500   # too many\n";
	assert_int_equal(tide_settings_apply_text(&s, bad, "lab.conf", err, sizeof(err)), -1);
	assert_int_equal(errno, ERANGE);
	assert_string_equal(err, "lab.conf:4: net.ipv4.tcp_keepalive_probes: 500 is out of range (valid: 1..127)");
	assert_memory_equal(&s, &before, sizeof(s)); /* line 2 was not applied */
	assert_int_equal(tide_settings_apply_text(&s, "tcp_fin_timeout 5\n", "x", err, sizeof(err)), -1);
	assert_int_equal(errno, EINVAL);
	assert_string_equal(err, "x:1: expected 'name = value'");
	assert_int_equal(tide_settings_apply_text(&s, "a\nnet.ipv4.nope = 1\n", "y", err, sizeof(err)), -1);
	assert_string_equal(err, "y:1: expected 'name = value'");
	assert_int_equal(tide_settings_apply_text(&s, "net.ipv4.nope = 1\n", "y", err, sizeof(err)), -1);
	assert_int_equal(errno, ENOENT);
	assert_string_equal(err, "y:1: unknown setting 'net.ipv4.nope'");
	const char *good = "net.ipv4.tcp_fin_timeout = 5\r\n"
			   "  net.ipv4.ip_local_port_range =\t40000 40003\n"
			   "net.ipv4.tcp_timewait_len=2";
	assert_int_equal(tide_settings_apply_text(&s, good, "lab.conf", err, sizeof(err)), 0);
	assert_int_equal(s.tcp_fin_timeout, 5);
	assert_int_equal(s.ip_local_port_range_lo, 40000);
	assert_int_equal(s.ip_local_port_range_hi, 40003);
	assert_int_equal(s.tcp_timewait_len, 2);
}

static void test_settings_file(void **state)
{
	(void)state;
	char path[] = "/tmp/tide-settings-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *text = "net.ipv4.tcp_max_tw_buckets = 7\nnet.ipv4.tcp_rfc1337 = 1\n";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	struct tide_settings s;
	tide_settings_default(&s);
	char err[256];
	assert_int_equal(tide_settings_load_file(&s, path, err, sizeof(err)), 0);
	assert_int_equal(s.tcp_max_tw_buckets, 7);
	assert_int_equal(s.tcp_rfc1337, 1);
	unlink(path);
	assert_int_equal(tide_settings_load_file(&s, path, err, sizeof(err)), -1);
	assert_int_equal(errno, ENOENT);
	char want[300];
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_string_equal(err, want);
}

static void test_settings_table_is_complete(void **state)
{
	(void)state;
	size_t n;
	const struct tide_setting_desc *t = tide_settings_table(&n);
	assert_true(n >= 30);
	struct tide_settings s;
	tide_settings_default(&s);
	/* every field of struct tide_settings is reachable by exactly one
	 * name: mark each from the table and expect full coverage */
	unsigned char seen[sizeof(struct tide_settings) / sizeof(int)] = { 0 };
	for (size_t i = 0; i < n; i++) {
		assert_true(strncmp(t[i].name, "net.", 4) == 0 || strncmp(t[i].name, "fs.", 3) == 0);
		assert_non_null(t[i].linux);
		assert_non_null(t[i].doc);
		for (int j = 0; j < t[i].nvals; j++) {
			size_t k = t[i].offset[j] / sizeof(int);
			assert_true(k < sizeof(seen));
			seen[k]++;
			/* the default lies in the range */
			assert_true(t[i].def[j] >= t[i].min && t[i].def[j] <= t[i].max);
		}
		for (size_t m = 0; m < i; m++)
			assert_string_not_equal(t[m].name, t[i].name);
	}
	for (size_t k = 0; k < sizeof(seen); k++)
		assert_int_equal(seen[k], 1);
}

/* A live stack reads its settings when it needs them: a shorter TIME_WAIT
 * set by name takes effect on the next connection (LC-C07). */
static void test_LC_C07_settings_reach_a_live_stack(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .client_settings = "net.ipv4.tcp_timewait_len = 3\n" };
	th_init(&h, &o);
	char err[256];
	assert_int_equal(tide_settings_set(tide_stack_settings(h.C), "net.ipv4.tcp_timewait_len", "2",
					   err, sizeof(err)), 0);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	tide_close(h.C, cfd);
	th_run_for(&h, TIDE_MS(1)); /* the FIN arrives; its ACK would leave at 5 ms */
	tide_close(h.S, sfd); /* FIN+ACK: the client goes to TIME_WAIT at 5 ms */
	th_run_until(&h, TIDE_SEC(3));
	static const int want[] = { TIDE_TCP_SYN_SENT, TIDE_TCP_ESTABLISHED, TIDE_TCP_FIN_WAIT1,
				    TIDE_TCP_TIME_WAIT, TIDE_TCP_CLOSE };
	th_expect_states(&h, h.c, want, 5);
	th_expect_state_at(&h, h.c, 3, TIDE_MS(5), TIDE_TCP_FIN_WAIT1, TIDE_TCP_TIME_WAIT);
	th_expect_state_at(&h, h.c, 4, TIDE_MS(5) + TIDE_SEC(2), TIDE_TCP_TIME_WAIT, TIDE_TCP_CLOSE);
	tide_close(h.S, lfd);
	th_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_settings_defaults_are_linux),
		cmocka_unit_test(test_settings_names_and_spellings),
		cmocka_unit_test(test_settings_errors_name_key_and_range),
		cmocka_unit_test(test_settings_text_is_all_or_nothing),
		cmocka_unit_test(test_settings_file),
		cmocka_unit_test(test_settings_table_is_complete),
		cmocka_unit_test(test_LC_C07_settings_reach_a_live_stack),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
