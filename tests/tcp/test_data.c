/*
 * Data transfer on an established connection (catalogue LC-D, plus the
 * RFC 9293 / RFC 6298 / RFC 7323 / RFC 896 machinery it rests on):
 * ACK numbers, the retransmission timer and its backoff, retransmission
 * and reassembly, delayed ACKs, window scaling and zero windows, Nagle,
 * writes after a reset, dead networks and the tcp_retries2 budget, and a
 * lossy bulk transfer.
 *
 * Fixture: client 198.18.0.1:40000 (ISN 100), server 198.18.0.2:80 (ISN
 * 300), 1 ms one way. The handshake takes segments #0..#2 and ends at
 * 3 ms; both sides measured an RTT of 2 ms, so their RTO is
 * 2 ms + max(4 * 1 ms, 200 ms) = 202 ms. MSS is 1448 (1460 less the
 * timestamp option).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define MSS 1448u
#define C_ISS 100u
#define S_ISS 300u
#define RTO_US 202000u            /* srtt 2 ms + max(4 * rttvar, 200 ms) */
#define RTO TIDE_MS(202)
#define T_EST TIDE_MS(3)          /* th_establish returns at 3 ms */

/* ---- helpers ---------------------------------------------------------- */

static struct tcp_info tinfo(tide_stack *st, int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	memset(&ti, 0, sizeof(ti));
	assert_int_equal(tide_getsockopt(st, fd, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
	return ti;
}

/* Deterministic, position-dependent bytes so misplaced data shows. */
static void pattern(uint8_t *buf, size_t n, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 12345u;
	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
}

static void send_all(struct th *h, tide_stack *st, int fd, const void *buf, size_t n)
{
	ssize_t r = tide_send(st, fd, buf, n, 0);
	if (r != (ssize_t)n) {
		th_dump(h);
		fail_msg("send of %zu bytes returned %zd (errno %d)", n, r, errno);
	}
}

/* Reads exactly n bytes that must already be queued. */
static void recv_exact(struct th *h, tide_stack *st, int fd, uint8_t *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = tide_recv(st, fd, buf + got, n - got, 0);
		if (r <= 0) {
			th_dump(h);
			fail_msg("recv after %zu of %zu bytes returned %zd (errno %d)", got, n,
				 r, errno);
		}
		got += (size_t)r;
	}
}

/* Nothing more to read now. */
static void expect_no_data(tide_stack *st, int fd)
{
	uint8_t b;
	errno = 0;
	assert_int_equal(tide_recv(st, fd, &b, 1, 0), -1);
	assert_int_equal(errno, EAGAIN);
}

static void close_all(struct th *h, int cfd, int sfd, int lfd)
{
	if (cfd >= 0)
		assert_int_equal(tide_close(h->C, cfd), 0);
	if (sfd >= 0)
		assert_int_equal(tide_close(h->S, sfd), 0);
	if (lfd >= 0)
		assert_int_equal(tide_close(h->S, lfd), 0);
}

/* Data segments (payload > 0) from `from` only. */
static void add_rule(struct th *h, int from, enum tide_fault_action a, unsigned nth,
		     unsigned count, tide_time delay)
{
	struct tide_fault f;
	memset(&f, 0, sizeof(f));
	f.from = from;
	f.min_len = 1;
	f.nth = nth;
	f.count = count;
	f.action = a;
	f.delay = delay;
	assert_true(tide_sim_add_fault(h->sim, &f) >= 0);
}

static void expect_sack(struct th *h, size_t i, unsigned n, const uint32_t *blocks)
{
	const struct th_seg *s = th_seg(h, i);
	bool ok = (n == 0) ? !(s->opts.present & TIDE_OPT_SACK)
			   : ((s->opts.present & TIDE_OPT_SACK) && s->opts.nsack == n);
	for (unsigned k = 0; ok && k < n; k++)
		ok = s->opts.sack[k].left == blocks[2 * k] &&
		     s->opts.sack[k].right == blocks[2 * k + 1];
	if (!ok) {
		th_dump(h);
		fail_msg("segment #%zu: expected %u SACK block(s) starting %u-%u", i, n,
			 n ? blocks[0] : 0, n ? blocks[1] : 0);
	}
}

/* ---- LC-D01 ------------------------------------------------------------- */

/* LC-D01: every ACK names the next byte the receiver expects. */
static void test_LC_D01_ack_names_next_byte_expected(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);

	uint8_t out[2 * MSS + 500], in[sizeof(out)];
	pattern(out, sizeof(out), 1);
	send_all(&h, h.C, cfd, out, 2 * MSS);
	th_run_until(&h, TIDE_MS(10));
	/* two full segments; each is ACKed at once (quick ACKs) */
	th_expect_seg_at(&h, 3, T_EST, h.c, TIDE_TCP_ACK, C_ISS + 1, S_ISS + 1, MSS);
	th_expect_seg_at(&h, 4, T_EST, h.c, TIDE_TCP_ACK | TIDE_TCP_PSH, C_ISS + 1 + MSS,
			 S_ISS + 1, MSS);
	th_expect_seg_at(&h, 5, TIDE_MS(4), h.s, TIDE_TCP_ACK, S_ISS + 1, C_ISS + 1 + MSS, 0);
	th_expect_seg_at(&h, 6, TIDE_MS(4), h.s, TIDE_TCP_ACK, S_ISS + 1, C_ISS + 1 + 2 * MSS, 0);

	/* the other direction: the client's ACK names the server's next byte */
	send_all(&h, h.S, sfd, out + 2 * MSS, 500);
	th_run_until(&h, TIDE_MS(20));
	th_expect_seg_at(&h, 7, TIDE_MS(10), h.s, TIDE_TCP_ACK | TIDE_TCP_PSH, S_ISS + 1,
			 C_ISS + 1 + 2 * MSS, 500);
	th_expect_seg_at(&h, 8, TIDE_MS(11), h.c, TIDE_TCP_ACK, C_ISS + 1 + 2 * MSS,
			 S_ISS + 1 + 500, 0);
	th_expect_nsegs(&h, 9);

	recv_exact(&h, h.S, sfd, in, 2 * MSS);
	assert_memory_equal(in, out, 2 * MSS);
	recv_exact(&h, h.C, cfd, in, 500);
	assert_memory_equal(in, out + 2 * MSS, 500);
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* ---- LC-D02 ------------------------------------------------------------- */

static void drop_first_syn(struct th *h)
{
	struct tide_fault f;
	memset(&f, 0, sizeof(f));
	f.from = h->c;
	f.flags_mask = TIDE_TCP_SYN | TIDE_TCP_ACK;
	f.flags_match = TIDE_TCP_SYN;
	f.nth = 1;
	f.action = TIDE_FAULT_DROP;
	assert_true(tide_sim_add_fault(h->sim, &f) >= 0);
}

/* LC-D02: the initial RTO is 1 s: an unanswered SYN is sent again at 1 s. */
static void test_LC_D02_initial_rto_retransmits_syn_at_1s(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	drop_first_syn(&h);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	th_expect_seg_at(&h, 0, 0, h.c, TIDE_TCP_SYN, C_ISS, 0, 0);
	th_expect_seg_at(&h, 1, TIDE_MS(1000), h.c, TIDE_TCP_SYN, C_ISS, 0, 0);
	th_expect_seg_at(&h, 2, TIDE_MS(1001), h.s, TIDE_TCP_SYN | TIDE_TCP_ACK, S_ISS,
			 C_ISS + 1, 0);
	th_expect_seg_at(&h, 3, TIDE_MS(1002), h.c, TIDE_TCP_ACK, C_ISS + 1, S_ISS + 1, 0);
	assert_int_equal(tide_stack_counter(h.C, TIDE_MIB_RetransSegs), 1);
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* LC-D02: after an RTT sample (2 ms) the RTO is srtt + max(4*rttvar,
 * 200 ms) = 202 ms; a lost data segment is sent again exactly then. */
static void test_LC_D02_rto_from_measured_rtt(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	struct tcp_info ti = tinfo(h.C, cfd);
	assert_int_equal(ti.tcpi_rtt, 2000);
	assert_int_equal(ti.tcpi_rttvar, 1000);
	assert_int_equal(ti.tcpi_rto, RTO_US);
	assert_int_equal(tinfo(h.S, sfd).tcpi_rto, RTO_US);

	add_rule(&h, h.c, TIDE_FAULT_DROP, 1, 1, 0);
	uint8_t out[100], in[100];
	pattern(out, sizeof(out), 2);
	send_all(&h, h.C, cfd, out, sizeof(out));
	th_run_until(&h, TIDE_SEC(1));
	th_expect_seg_at(&h, 3, T_EST, h.c, TIDE_TCP_ACK | TIDE_TCP_PSH, C_ISS + 1, S_ISS + 1, 100);
	th_expect_seg_at(&h, 4, T_EST + RTO, h.c, TIDE_TCP_ACK | TIDE_TCP_PSH, C_ISS + 1,
			 S_ISS + 1, 100);
	th_expect_seg_at(&h, 5, T_EST + RTO + TIDE_MS(1), h.s, TIDE_TCP_ACK, S_ISS + 1,
			 C_ISS + 101, 0);
	th_expect_nsegs(&h, 6);
	assert_int_equal(tide_stack_counter(h.C, TIDE_MIB_RetransSegs), 1);
	recv_exact(&h, h.S, sfd, in, sizeof(in));
	assert_memory_equal(in, out, sizeof(in));
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* LC-D02: every expiry doubles the RTO: a segment lost three times is sent
 * again at rto, 3*rto and 7*rto after its first transmission. */
static void test_LC_D02_rto_doubles_on_every_expiry(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	add_rule(&h, h.c, TIDE_FAULT_DROP, 1, 3, 0);
	uint8_t out[10];
	pattern(out, sizeof(out), 3);
	send_all(&h, h.C, cfd, out, sizeof(out));

	th_run_until(&h, T_EST + 3 * RTO + TIDE_MS(1));
	/* two expiries so far: backoff 2, the RTO in use is 4 * 202 ms */
	struct tcp_info ti = tinfo(h.C, cfd);
	assert_int_equal(ti.tcpi_backoff, 2);
	assert_int_equal(ti.tcpi_retransmits, 2);
	assert_int_equal(ti.tcpi_rto, 4 * RTO_US);

	th_run_until(&h, TIDE_SEC(3));
	for (size_t i = 0; i < 4; i++) {
		static const unsigned at[4] = { 0, 1, 3, 7 };
		th_expect_seg_at(&h, 3 + i, T_EST + at[i] * RTO, h.c, TIDE_TCP_ACK | TIDE_TCP_PSH,
				 C_ISS + 1, S_ISS + 1, 10);
	}
	th_expect_seg_at(&h, 7, T_EST + 7 * RTO + TIDE_MS(1), h.s, TIDE_TCP_ACK, S_ISS + 1,
			 C_ISS + 11, 0);
	th_expect_nsegs(&h, 8);
	assert_int_equal(tide_stack_counter(h.C, TIDE_MIB_RetransSegs), 3);
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* LC-D02: the backoff stops at the maximum RTO, 120 s: through a 10 minute
 * outage the gaps double from 202 ms up to 103.424 s, then stay at 120 s. */
static void test_LC_D02_rto_capped_at_120s(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	tide_sim_cut_link(h.sim, T_EST, T_EST + TIDE_SEC(600));
	uint8_t out[10];
	pattern(out, sizeof(out), 4);
	send_all(&h, h.C, cfd, out, sizeof(out));
	th_run_until(&h, T_EST + TIDE_SEC(700));

	/* 15 transmissions: gaps 202 ms << 0..9, then 120 s; the last one,
	 * 686.646 s after the first, is after the outage and gets through */
	tide_time t = T_EST;
	size_t i = 3;
	for (unsigned k = 0; k < 15; k++, i++) {
		th_expect_seg_at(&h, i, t, h.c, TIDE_TCP_ACK | TIDE_TCP_PSH, C_ISS + 1, S_ISS + 1, 10);
		tide_time gap = RTO << k;
		if (k < 14)
			t += gap < TIDE_SEC(120) ? gap : TIDE_SEC(120);
	}
	assert_int_equal(t, T_EST + TIDE_MS(686646));
	th_expect_seg_at(&h, i, t + TIDE_MS(1), h.s, TIDE_TCP_ACK, S_ISS + 1, C_ISS + 11, 0);
	th_expect_nsegs(&h, i + 1);
	assert_int_equal(tide_sock_state(h.C, cfd), TIDE_TCP_ESTABLISHED);
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* LC-D02: tcp_rto_max_ms sets the cap: with 1 s the gaps are 202, 404,
 * 808 ms, then 1 s each. */
static void test_LC_D02_rto_max_setting_caps_backoff(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .client_settings = "net.ipv4.tcp_rto_max_ms = 1000\n" };
	th_init(&h, &o);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	add_rule(&h, h.c, TIDE_FAULT_DROP, 1, 6, 0);
	uint8_t out[10];
	pattern(out, sizeof(out), 5);
	send_all(&h, h.C, cfd, out, sizeof(out));
	th_run_until(&h, TIDE_SEC(10));
	static const unsigned at_ms[7] = { 0, 202, 606, 1414, 2414, 3414, 4414 };
	for (size_t i = 0; i < 7; i++)
		th_expect_seg_at(&h, 3 + i, T_EST + TIDE_MS(at_ms[i]), h.c,
				 TIDE_TCP_ACK | TIDE_TCP_PSH, C_ISS + 1, S_ISS + 1, 10);
	th_expect_seg_at(&h, 10, T_EST + TIDE_MS(4415), h.s, TIDE_TCP_ACK, S_ISS + 1, C_ISS + 11, 0);
	th_expect_nsegs(&h, 11);
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* LC-D02 (Karn): without timestamps the ACK of a retransmitted segment gives
 * no RTT sample, and the backed-off RTO stays until a valid sample. */
static void test_LC_D02_karn_no_rtt_sample_from_retransmission(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .client_settings = "net.ipv4.tcp_timestamps = 0\n" };
	th_init(&h, &o);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	const unsigned mss_nots = 1460;
	assert_int_equal(tinfo(h.C, cfd).tcpi_snd_mss, mss_nots);
	/* data transmissions #1 (the first segment) and #3 (the second) */
	add_rule(&h, h.c, TIDE_FAULT_DROP, 1, 1, 0);
	add_rule(&h, h.c, TIDE_FAULT_DROP, 3, 1, 0);
	uint8_t out[300], in[300];
	pattern(out, sizeof(out), 6);

	/* 1: lost once, resent at +202 ms, ACKed 2 ms later */
	send_all(&h, h.C, cfd, out, 100);
	th_run_until(&h, TIDE_MS(300));
	th_expect_seg_at(&h, 4, T_EST + RTO, h.c, TIDE_TCP_ACK | TIDE_TCP_PSH, C_ISS + 1,
			 S_ISS + 1, 100);
	th_expect_seg_at(&h, 5, T_EST + RTO + TIDE_MS(1), h.s, TIDE_TCP_ACK, S_ISS + 1,
			 C_ISS + 101, 0);
	struct tcp_info ti = tinfo(h.C, cfd);
	/* timing the original would have given 204 ms: srtt 27.25 ms */
	assert_int_equal(ti.tcpi_rtt, 2000);
	assert_int_equal(ti.tcpi_rttvar, 1000);
	assert_int_equal(ti.tcpi_backoff, 1);
	assert_int_equal(ti.tcpi_rto, 2 * RTO_US);

	/* 2: new data, lost: its timer is the kept 404 ms, then 808 ms */
	send_all(&h, h.C, cfd, out + 100, 100);
	th_run_until(&h, TIDE_MS(800));
	th_expect_seg_at(&h, 6, TIDE_MS(300), h.c, TIDE_TCP_ACK | TIDE_TCP_PSH, C_ISS + 101,
			 S_ISS + 1, 100);
	th_expect_seg_at(&h, 7, TIDE_MS(300) + 2 * RTO, h.c, TIDE_TCP_ACK | TIDE_TCP_PSH,
			 C_ISS + 101, S_ISS + 1, 100);
	th_expect_seg_at(&h, 8, TIDE_MS(301) + 2 * RTO, h.s, TIDE_TCP_ACK, S_ISS + 1,
			 C_ISS + 201, 0);
	ti = tinfo(h.C, cfd);
	assert_int_equal(ti.tcpi_rtt, 2000);
	assert_int_equal(ti.tcpi_backoff, 2);
	assert_int_equal(ti.tcpi_rto, 4 * RTO_US);

	/* 3: data sent once and ACKed is a valid sample: back to 202 ms */
	send_all(&h, h.C, cfd, out + 200, 100);
	th_run_until(&h, TIDE_MS(900));
	th_expect_seg_at(&h, 9, TIDE_MS(800), h.c, TIDE_TCP_ACK | TIDE_TCP_PSH, C_ISS + 201,
			 S_ISS + 1, 100);
	th_expect_seg_at(&h, 10, TIDE_MS(801), h.s, TIDE_TCP_ACK, S_ISS + 1, C_ISS + 301, 0);
	th_expect_nsegs(&h, 11);
	ti = tinfo(h.C, cfd);
	assert_int_equal(ti.tcpi_rtt, 2000);
	assert_int_equal(ti.tcpi_rttvar, 750);
	assert_int_equal(ti.tcpi_backoff, 0);
	assert_int_equal(ti.tcpi_rto, RTO_US);

	recv_exact(&h, h.S, sfd, in, sizeof(in));
	assert_memory_equal(in, out, sizeof(in));
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* LC-D02 (Karn, with timestamps): the SYN-ACK of a retransmitted SYN is
 * timed by its echoed timestamp (which measures the retransmission), as
 * Linux does: the RTO is 202 ms, not the initial 1 s. */
static void test_LC_D02_rtt_from_timestamp_after_syn_retransmission(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	drop_first_syn(&h);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	struct tcp_info ti = tinfo(h.C, cfd);
	assert_int_equal(ti.tcpi_rtt, 2000);
	assert_int_equal(ti.tcpi_rto, RTO_US);
	assert_int_equal(ti.tcpi_backoff, 0);

	add_rule(&h, h.c, TIDE_FAULT_DROP, 1, 1, 0);
	uint8_t out[100];
	pattern(out, sizeof(out), 7);
	send_all(&h, h.C, cfd, out, sizeof(out));
	th_run_until(&h, TIDE_SEC(3));
	tide_time t0 = TIDE_MS(1003);
	th_expect_seg_at(&h, 4, t0, h.c, TIDE_TCP_ACK | TIDE_TCP_PSH, C_ISS + 1, S_ISS + 1, 100);
	th_expect_seg_at(&h, 5, t0 + RTO, h.c, TIDE_TCP_ACK | TIDE_TCP_PSH, C_ISS + 1, S_ISS + 1,
			 100);
	th_expect_seg_at(&h, 6, t0 + RTO + TIDE_MS(1), h.s, TIDE_TCP_ACK, S_ISS + 1, C_ISS + 101, 0);
	th_expect_nsegs(&h, 7);
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* LC-D02 (RFC 6298 5.7): without timestamps a handshake whose SYN was
 * retransmitted yields no RTT sample, and Linux then falls back to a 3 s
 * RTO for the data that follows. */
static void test_LC_D02_rto_fallback_3s_without_handshake_sample(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .client_settings = "net.ipv4.tcp_timestamps = 0\n" };
	th_init(&h, &o);
	drop_first_syn(&h);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	struct tcp_info ti = tinfo(h.C, cfd);
	assert_int_equal(ti.tcpi_rtt, 0);
	assert_int_equal(ti.tcpi_rto, 3000000);

	add_rule(&h, h.c, TIDE_FAULT_DROP, 1, 1, 0);
	uint8_t out[100];
	pattern(out, sizeof(out), 8);
	send_all(&h, h.C, cfd, out, sizeof(out));
	th_run_until(&h, TIDE_SEC(10));
	tide_time t0 = TIDE_MS(1003);
	th_expect_seg_at(&h, 4, t0, h.c, TIDE_TCP_ACK | TIDE_TCP_PSH, C_ISS + 1, S_ISS + 1, 100);
	th_expect_seg_at(&h, 5, t0 + TIDE_SEC(3), h.c, TIDE_TCP_ACK | TIDE_TCP_PSH, C_ISS + 1,
			 S_ISS + 1, 100);
	th_expect_seg_at(&h, 6, t0 + TIDE_MS(3001), h.s, TIDE_TCP_ACK, S_ISS + 1, C_ISS + 101, 0);
	th_expect_nsegs(&h, 7);
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* Drops the first SYN-ACK and the client's retransmitted SYN: the server's
 * own timer resends the SYN-ACK at 1001 ms; established at 1003 ms. */
static void lose_synack_and_syn(struct th *h)
{
	struct tide_fault f;
	memset(&f, 0, sizeof(f));
	f.from = h->s;
	f.flags_mask = TIDE_TCP_SYN | TIDE_TCP_ACK;
	f.flags_match = TIDE_TCP_SYN | TIDE_TCP_ACK;
	f.nth = 1;
	f.action = TIDE_FAULT_DROP;
	assert_true(tide_sim_add_fault(h->sim, &f) >= 0);
	f.from = h->c;
	f.flags_match = TIDE_TCP_SYN;
	f.nth = 2;
	assert_true(tide_sim_add_fault(h->sim, &f) >= 0);
}

/* LC-D02 (Karn, passive side): the ACK of a resent SYN-ACK is not timed
 * from the first one; its echoed timestamp gives the sample, as in Linux:
 * 2 ms, RTO 202 ms (not the 1 s initial RTO). */
static void test_LC_D02_karn_resent_synack_timed_by_timestamp(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	lose_synack_and_syn(&h);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	th_expect_seg_at(&h, 1, TIDE_MS(1), h.s, TIDE_TCP_SYN | TIDE_TCP_ACK, S_ISS, C_ISS + 1, 0);
	th_expect_seg_at(&h, 2, TIDE_MS(1000), h.c, TIDE_TCP_SYN, C_ISS, 0, 0);
	th_expect_seg_at(&h, 3, TIDE_MS(1001), h.s, TIDE_TCP_SYN | TIDE_TCP_ACK, S_ISS, C_ISS + 1, 0);
	th_expect_seg_at(&h, 4, TIDE_MS(1002), h.c, TIDE_TCP_ACK, C_ISS + 1, S_ISS + 1, 0);
	struct tcp_info ti = tinfo(h.S, sfd);
	assert_int_equal(ti.tcpi_rtt, 2000);
	assert_int_equal(ti.tcpi_rto, RTO_US);

	/* a lost reply is sent again after 202 ms */
	add_rule(&h, h.s, TIDE_FAULT_DROP, 1, 1, 0);
	uint8_t out[100];
	pattern(out, sizeof(out), 26);
	send_all(&h, h.S, sfd, out, sizeof(out));
	th_run_until(&h, TIDE_SEC(5));
	tide_time t0 = TIDE_MS(1003);
	th_expect_seg_at(&h, 5, t0, h.s, TIDE_TCP_ACK | TIDE_TCP_PSH, S_ISS + 1, C_ISS + 1, 100);
	th_expect_seg_at(&h, 6, t0 + RTO, h.s, TIDE_TCP_ACK | TIDE_TCP_PSH, S_ISS + 1, C_ISS + 1, 100);
	th_expect_seg_at(&h, 7, t0 + RTO + TIDE_MS(1), h.c, TIDE_TCP_ACK, C_ISS + 1, S_ISS + 101, 0);
	th_expect_nsegs(&h, 8);
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* LC-D02 (Karn, passive side): a SYN-ACK sent again in answer to a
 * retransmitted SYN (here the path got faster: 0.5 ms one way from 999 ms)
 * is not timed from the first SYN-ACK either (that would give 1000.5 ms);
 * the echoed timestamp gives 1 ms (Linux's 1 ms granularity). */
static void test_LC_D02_karn_synack_resent_for_duplicate_syn(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	struct tide_fault f;
	memset(&f, 0, sizeof(f));
	f.from = h.s;
	f.flags_mask = TIDE_TCP_SYN | TIDE_TCP_ACK;
	f.flags_match = TIDE_TCP_SYN | TIDE_TCP_ACK;
	f.nth = 1;
	f.action = TIDE_FAULT_DROP;
	assert_true(tide_sim_add_fault(h.sim, &f) >= 0);
	int lfd = th_listen(&h, h.s, 80, 128);
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_until(&h, TIDE_MS(999));
	tide_sim_set_delay(h.sim, TIDE_US(500));
	th_run_until(&h, TIDE_MS(1002));
	th_expect_seg_at(&h, 2, TIDE_MS(1000), h.c, TIDE_TCP_SYN, C_ISS, 0, 0);
	th_expect_seg_at(&h, 3, TIDE_US(1000500), h.s, TIDE_TCP_SYN | TIDE_TCP_ACK, S_ISS, C_ISS + 1, 0);
	th_expect_seg_at(&h, 4, TIDE_MS(1001), h.c, TIDE_TCP_ACK, C_ISS + 1, S_ISS + 1, 0);
	th_expect_nsegs(&h, 5);
	int sfd = th_accept(&h, h.s, lfd);
	struct tcp_info ti = tinfo(h.S, sfd);
	assert_int_equal(ti.tcpi_rtt, 1000);
	assert_int_equal(ti.tcpi_rto, 201000);
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* LC-D02 (RFC 6298 5.7, passive side): without timestamps a resent SYN-ACK
 * leaves the server with no RTT sample: its RTO falls back to 3 s. */
static void test_LC_D02_passive_rto_fallback_3s_without_sample(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .client_settings = "net.ipv4.tcp_timestamps = 0\n" };
	th_init(&h, &o);
	lose_synack_and_syn(&h);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	th_expect_seg_at(&h, 3, TIDE_MS(1001), h.s, TIDE_TCP_SYN | TIDE_TCP_ACK, S_ISS, C_ISS + 1, 0);
	struct tcp_info ti = tinfo(h.S, sfd);
	assert_int_equal(ti.tcpi_rtt, 0);
	assert_int_equal(ti.tcpi_rttvar, 750000);
	assert_int_equal(ti.tcpi_rto, 3000000);
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* ---- retransmission and reassembly ------------------------------------- */

/* RFC 5681: a segment lost in the middle of a flight is sent again on the
 * third duplicate ACK (before any timer), and the receiver gets every byte
 * once, in order. */
static void test_rfc5681_fast_retransmit_after_three_dupacks(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	add_rule(&h, h.c, TIDE_FAULT_DROP, 2, 1, 0);
	enum { N = 10 };
	static uint8_t out[N * MSS], in[N * MSS];
	pattern(out, sizeof(out), 9);
	send_all(&h, h.C, cfd, out, sizeof(out));
	th_run_until(&h, TIDE_MS(100));

	/* the initial window: ten segments at once */
	for (size_t i = 0; i < N; i++)
		th_expect_seg_at(&h, 3 + i, T_EST, h.c,
				 TIDE_TCP_ACK | (i == N - 1 ? TIDE_TCP_PSH : 0),
				 C_ISS + 1 + (uint32_t)i * MSS, S_ISS + 1, MSS);
	/* the ACK of #1, then one duplicate ACK (with SACK) per later segment */
	const uint32_t hole = C_ISS + 1 + MSS;
	th_expect_seg_at(&h, 13, T_EST + TIDE_MS(1), h.s, TIDE_TCP_ACK, S_ISS + 1, hole, 0);
	expect_sack(&h, 13, 0, NULL);
	for (size_t k = 0; k < N - 2; k++) {
		uint32_t blk[2] = { hole + MSS, hole + MSS * (uint32_t)(k + 2) };
		th_expect_seg_at(&h, 14 + k, T_EST + TIDE_MS(1), h.s, TIDE_TCP_ACK, S_ISS + 1, hole, 0);
		expect_sack(&h, 14 + k, 1, blk);
	}
	/* the third duplicate ACK arrives at 5 ms: the hole is sent again */
	th_expect_seg_at(&h, 22, T_EST + TIDE_MS(2), h.c, TIDE_TCP_ACK, hole, S_ISS + 1, MSS);
	th_expect_seg_at(&h, 23, T_EST + TIDE_MS(3), h.s, TIDE_TCP_ACK, S_ISS + 1,
			 C_ISS + 1 + N * MSS, 0);
	expect_sack(&h, 23, 0, NULL);
	th_expect_nsegs(&h, 24);
	assert_int_equal(tide_stack_counter(h.C, TIDE_MIB_RetransSegs), 1);
	assert_int_equal(tide_stack_counter(h.S, TIDE_MIB_TCPOFOQueue), N - 2);

	recv_exact(&h, h.S, sfd, in, sizeof(in));
	assert_memory_equal(in, out, sizeof(in));
	expect_no_data(h.S, sfd);
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* RFC 9293 3.10.7.4 / RFC 2018: segments that arrive late, out of order or
 * twice are reassembled into the exact byte stream; each out-of-order
 * arrival is ACKed at once with SACK blocks, the block holding the newest
 * segment first. */
static void test_rfc9293_out_of_order_reassembly(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	/* #2 delayed 1 ms, #4 held until #5 has passed, #3 duplicated 5 ms later */
	add_rule(&h, h.c, TIDE_FAULT_DELAY, 2, 1, TIDE_MS(1));
	add_rule(&h, h.c, TIDE_FAULT_REORDER, 4, 1, 0);
	add_rule(&h, h.c, TIDE_FAULT_DUPLICATE, 3, 1, TIDE_MS(5));
	enum { N = 5 };
	static uint8_t out[N * MSS], in[N * MSS];
	pattern(out, sizeof(out), 10);
	send_all(&h, h.C, cfd, out, sizeof(out));
	th_run_until(&h, TIDE_MS(100));

	const uint32_t s1 = C_ISS + 1;
#define SEQ(k) (s1 + (uint32_t)(k) * MSS) /* start of segment k (0-based) */
	/* arrival order at 4 ms: #1, #3, #5, #4; #2 at 5 ms; #3 again at 9 ms */
	th_expect_seg_at(&h, 8, TIDE_MS(4), h.s, TIDE_TCP_ACK, S_ISS + 1, SEQ(1), 0);
	expect_sack(&h, 8, 0, NULL);
	th_expect_seg_at(&h, 9, TIDE_MS(4), h.s, TIDE_TCP_ACK, S_ISS + 1, SEQ(1), 0);
	expect_sack(&h, 9, 1, (const uint32_t[]){ SEQ(2), SEQ(3) });
	th_expect_seg_at(&h, 10, TIDE_MS(4), h.s, TIDE_TCP_ACK, S_ISS + 1, SEQ(1), 0);
	expect_sack(&h, 10, 2, (const uint32_t[]){ SEQ(4), SEQ(5), SEQ(2), SEQ(3) });
	th_expect_seg_at(&h, 11, TIDE_MS(4), h.s, TIDE_TCP_ACK, S_ISS + 1, SEQ(1), 0);
	expect_sack(&h, 11, 1, (const uint32_t[]){ SEQ(2), SEQ(5) });
	/* #2 fills the hole: everything is acknowledged at once */
	th_expect_seg_at(&h, 12, TIDE_MS(5), h.s, TIDE_TCP_ACK, S_ISS + 1, SEQ(5), 0);
	expect_sack(&h, 12, 0, NULL);
	/* meanwhile the three duplicate ACKs made the client resend #2 (as
	 * Linux's RACK does once three segments above it are SACKed): old
	 * data for the server, ACKed at once, and so is the duplicate #3 */
	th_expect_seg_at(&h, 13, TIDE_MS(5), h.c, TIDE_TCP_ACK, SEQ(1), S_ISS + 1, MSS);
	th_expect_seg_at(&h, 14, TIDE_MS(6), h.s, TIDE_TCP_ACK, S_ISS + 1, SEQ(5), 0);
	th_expect_seg_at(&h, 15, TIDE_MS(9), h.s, TIDE_TCP_ACK, S_ISS + 1, SEQ(5), 0);
	th_expect_nsegs(&h, 16);
#undef SEQ
	assert_int_equal(tide_stack_counter(h.S, TIDE_MIB_TCPOFOQueue), 3);
	assert_int_equal(tide_stack_counter(h.C, TIDE_MIB_RetransSegs), 1);

	recv_exact(&h, h.S, sfd, in, sizeof(in));
	assert_memory_equal(in, out, sizeof(in));
	expect_no_data(h.S, sfd);
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* ---- LC-D03 delayed ACKs ---------------------------------------------- */

/* LC-D03: the first 16 data segments are ACKed at once (quick ACKs); then
 * every second full-sized segment is ACKed at once, a lone one 40 ms
 * later, and out-of-order data at once (with a SACK block). */
static void test_LC_D03_quick_acks_then_every_second_segment(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	enum { N = 21 };
	static uint8_t out[N * MSS], in[N * MSS];
	pattern(out, sizeof(out), 11);
	/* data transmission #20 is lost */
	add_rule(&h, h.c, TIDE_FAULT_DROP, 20, 1, 0);

	/* one full segment per millisecond: 16 quick ACKs */
	for (unsigned i = 0; i < 16; i++) {
		th_run_until(&h, T_EST + TIDE_MS(i));
		send_all(&h, h.C, cfd, out + i * MSS, MSS);
	}
	th_run_until(&h, TIDE_MS(19));
	for (unsigned i = 0; i < 16; i++) {
		th_expect_seg_at(&h, 3 + 2 * i, T_EST + TIDE_MS(i), h.c, TIDE_TCP_ACK | TIDE_TCP_PSH,
				 C_ISS + 1 + i * MSS, S_ISS + 1, MSS);
		th_expect_seg_at(&h, 4 + 2 * i, T_EST + TIDE_MS(i + 1), h.s, TIDE_TCP_ACK,
				 S_ISS + 1, C_ISS + 1 + (i + 1) * MSS, 0);
	}
	/* 17th and 18th: one ACK, at once, for both */
	send_all(&h, h.C, cfd, out + 16 * MSS, MSS);
	th_run_until(&h, TIDE_MS(20));
	send_all(&h, h.C, cfd, out + 17 * MSS, MSS);
	th_run_until(&h, TIDE_MS(30));
	th_expect_seg_at(&h, 35, TIDE_MS(19), h.c, TIDE_TCP_ACK | TIDE_TCP_PSH,
			 C_ISS + 1 + 16 * MSS, S_ISS + 1, MSS);
	th_expect_seg_at(&h, 36, TIDE_MS(20), h.c, TIDE_TCP_ACK | TIDE_TCP_PSH,
			 C_ISS + 1 + 17 * MSS, S_ISS + 1, MSS);
	th_expect_seg_at(&h, 37, TIDE_MS(21), h.s, TIDE_TCP_ACK, S_ISS + 1,
			 C_ISS + 1 + 18 * MSS, 0);
	th_expect_nsegs(&h, 38);
	/* 19th alone: the delayed ACK, 40 ms after it arrived */
	send_all(&h, h.C, cfd, out + 18 * MSS, MSS);
	th_run_until(&h, TIDE_MS(100));
	th_expect_seg_at(&h, 38, TIDE_MS(30), h.c, TIDE_TCP_ACK | TIDE_TCP_PSH,
			 C_ISS + 1 + 18 * MSS, S_ISS + 1, MSS);
	th_expect_seg_at(&h, 39, TIDE_MS(71), h.s, TIDE_TCP_ACK, S_ISS + 1,
			 C_ISS + 1 + 19 * MSS, 0);
	th_expect_nsegs(&h, 40);
	assert_int_equal(tide_stack_counter(h.S, TIDE_MIB_DelayedACKs), 1);

	/* 20th lost, 21st out of order: ACKed at once with its SACK block */
	send_all(&h, h.C, cfd, out + 19 * MSS, 2 * MSS);
	th_run_until(&h, TIDE_MS(102));
	th_expect_seg_at(&h, 40, TIDE_MS(100), h.c, TIDE_TCP_ACK, C_ISS + 1 + 19 * MSS,
			 S_ISS + 1, MSS);
	th_expect_seg_at(&h, 41, TIDE_MS(100), h.c, TIDE_TCP_ACK | TIDE_TCP_PSH,
			 C_ISS + 1 + 20 * MSS, S_ISS + 1, MSS);
	th_expect_seg_at(&h, 42, TIDE_MS(101), h.s, TIDE_TCP_ACK, S_ISS + 1,
			 C_ISS + 1 + 19 * MSS, 0);
	expect_sack(&h, 42, 1, (const uint32_t[]){ C_ISS + 1 + 20 * MSS, C_ISS + 1 + 21 * MSS });
	/* the RTO repairs the hole; the ACK of the repair is immediate */
	th_run_until(&h, TIDE_SEC(2));
	th_expect_seg(&h, 43, h.c, TIDE_TCP_ACK, C_ISS + 1 + 19 * MSS, S_ISS + 1, MSS);
	th_expect_seg_at(&h, 44, th_seg(&h, 43)->t + TIDE_MS(1), h.s, TIDE_TCP_ACK, S_ISS + 1,
			 C_ISS + 1 + 21 * MSS, 0);
	th_expect_nsegs(&h, 45);
	assert_int_equal(tide_stack_counter(h.S, TIDE_MIB_DelayedACKs), 1);

	recv_exact(&h, h.S, sfd, in, sizeof(in));
	assert_memory_equal(in, out, sizeof(in));
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* LC-D03: in an interactive exchange (each side replies within the ACK
 * timeout of what it received) ACKs ride on the replies or wait 40 ms;
 * a delayed ACK that had to fire ends the interactive mode. */
static void test_LC_D03_interactive_exchange_delays_acks(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	uint8_t q[100], r[200], buf[200];
	pattern(q, sizeof(q), 12);
	pattern(r, sizeof(r), 13);

	/* round 1: the request is quick-ACKed, the reply too */
	send_all(&h, h.C, cfd, q, 100);
	th_run_until(&h, TIDE_MS(10));
	recv_exact(&h, h.S, sfd, buf, 100);
	send_all(&h, h.S, sfd, r, 200);
	/* round 2: the server now replies promptly: its ACK waits for the reply */
	th_run_until(&h, TIDE_MS(20));
	recv_exact(&h, h.C, cfd, buf, 200);
	send_all(&h, h.C, cfd, q, 100);
	th_run_until(&h, TIDE_MS(30));
	recv_exact(&h, h.S, sfd, buf, 100);
	send_all(&h, h.S, sfd, r, 200);
	/* round 3: the client's ACK rides on its next request; the server
	 * does not answer, so its ACK goes 40 ms after the request came */
	th_run_until(&h, TIDE_MS(50));
	recv_exact(&h, h.C, cfd, buf, 200);
	send_all(&h, h.C, cfd, q, 100);
	th_run_until(&h, TIDE_MS(100));
	/* round 4: the delayed ACK ended the interactive mode: quick ACK */
	recv_exact(&h, h.S, sfd, buf, 100);
	send_all(&h, h.C, cfd, q, 100);
	th_run_until(&h, TIDE_MS(200));

	uint32_t c = C_ISS + 1, s = S_ISS + 1;
	th_expect_seg_at(&h, 3, TIDE_MS(3), h.c, TIDE_TCP_ACK | TIDE_TCP_PSH, c, s, 100);
	th_expect_seg_at(&h, 4, TIDE_MS(4), h.s, TIDE_TCP_ACK, s, c + 100, 0);
	th_expect_seg_at(&h, 5, TIDE_MS(10), h.s, TIDE_TCP_ACK | TIDE_TCP_PSH, s, c + 100, 200);
	th_expect_seg_at(&h, 6, TIDE_MS(11), h.c, TIDE_TCP_ACK, c + 100, s + 200, 0);
	th_expect_seg_at(&h, 7, TIDE_MS(20), h.c, TIDE_TCP_ACK | TIDE_TCP_PSH, c + 100, s + 200, 100);
	th_expect_seg_at(&h, 8, TIDE_MS(30), h.s, TIDE_TCP_ACK | TIDE_TCP_PSH, s + 200, c + 200, 200);
	th_expect_seg_at(&h, 9, TIDE_MS(50), h.c, TIDE_TCP_ACK | TIDE_TCP_PSH, c + 200, s + 400, 100);
	th_expect_seg_at(&h, 10, TIDE_MS(91), h.s, TIDE_TCP_ACK, s + 400, c + 300, 0);
	th_expect_seg_at(&h, 11, TIDE_MS(100), h.c, TIDE_TCP_ACK | TIDE_TCP_PSH, c + 300, s + 400, 100);
	th_expect_seg_at(&h, 12, TIDE_MS(101), h.s, TIDE_TCP_ACK, s + 400, c + 400, 0);
	th_expect_nsegs(&h, 13);
	assert_int_equal(tide_stack_counter(h.S, TIDE_MIB_DelayedACKs), 1);
	assert_int_equal(tide_stack_counter(h.C, TIDE_MIB_DelayedACKs), 0);
	recv_exact(&h, h.S, sfd, buf, 100);
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* ---- window scaling and zero windows ----------------------------------- */

/* Sends 16 full segments one per millisecond from 3 ms: they use up the
 * receiver's 16 quick ACKs (segments #3..#34). */
static void use_up_quick_acks(struct th *h, int cfd, const uint8_t *out)
{
	for (unsigned i = 0; i < 16; i++) {
		th_run_until(h, T_EST + TIDE_MS(i));
		send_all(h, h->C, cfd, out + i * MSS, MSS);
	}
	th_run_until(h, TIDE_MS(30));
	th_expect_seg_at(h, 34, TIDE_MS(19), h->s, TIDE_TCP_ACK, S_ISS + 1, C_ISS + 1 + 16 * MSS, 0);
	th_expect_nsegs(h, 35);
}

/* LC-D03: Linux counts bytes, not segments: once more than one full
 * segment's worth is unacknowledged the ACK goes at once, so a full
 * segment followed by a small one is ACKed on the small one. */
static void test_LC_D03_ack_when_more_than_a_full_segment_is_unacked(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	static uint8_t out[17 * MSS + 100], in[sizeof(out)];
	pattern(out, sizeof(out), 27);
	use_up_quick_acks(&h, cfd, out);
	send_all(&h, h.C, cfd, out + 16 * MSS, MSS + 100);
	th_run_until(&h, TIDE_MS(100));
	th_expect_seg_at(&h, 35, TIDE_MS(30), h.c, TIDE_TCP_ACK, C_ISS + 1 + 16 * MSS, S_ISS + 1, MSS);
	th_expect_seg_at(&h, 36, TIDE_MS(30), h.c, TIDE_TCP_ACK | TIDE_TCP_PSH,
			 C_ISS + 1 + 17 * MSS, S_ISS + 1, 100);
	th_expect_seg_at(&h, 37, TIDE_MS(31), h.s, TIDE_TCP_ACK, S_ISS + 1,
			 C_ISS + 1 + 17 * MSS + 100, 0);
	th_expect_nsegs(&h, 38);
	assert_int_equal(tide_stack_counter(h.S, TIDE_MIB_DelayedACKs), 0);
	recv_exact(&h, h.S, sfd, in, sizeof(in));
	assert_memory_equal(in, out, sizeof(in));
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* LC-D03: the immediate ACK for two full segments is only for a window
 * that does not shrink (Linux: "right edge of window advances far
 * enough", else the reader's recv() will announce it): a receiver whose
 * buffer fills ACKs them with the delayed ACK. */
static void test_LC_D03_no_immediate_ack_while_window_shrinks(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .server_settings = "net.ipv4.tcp_rmem = 4096 8192 6291456\n" };
	th_init(&h, &o);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	static uint8_t out[4 * MSS], in[4 * MSS];
	pattern(out, sizeof(out), 28);
	send_all(&h, h.C, cfd, out, sizeof(out));
	th_run_until(&h, TIDE_MS(100));
	for (unsigned i = 0; i < 4; i++)
		th_expect_seg_at(&h, 3 + i, T_EST, h.c, TIDE_TCP_ACK | (i == 3 ? TIDE_TCP_PSH : 0),
				 C_ISS + 1 + i * MSS, S_ISS + 1, MSS);
	/* 7240 / (2 * 1448): 2 quick ACKs; the rest waits 40 ms */
	th_expect_seg_at(&h, 7, TIDE_MS(4), h.s, TIDE_TCP_ACK, S_ISS + 1, C_ISS + 1 + MSS, 0);
	th_expect_seg_at(&h, 8, TIDE_MS(4), h.s, TIDE_TCP_ACK, S_ISS + 1, C_ISS + 1 + 2 * MSS, 0);
	th_expect_seg_at(&h, 9, TIDE_MS(44), h.s, TIDE_TCP_ACK, S_ISS + 1, C_ISS + 1 + 4 * MSS, 0);
	th_expect_nsegs(&h, 10);
	assert_int_equal(tide_stack_counter(h.S, TIDE_MIB_DelayedACKs), 1);
	recv_exact(&h, h.S, sfd, in, sizeof(in));
	assert_memory_equal(in, out, sizeof(in));
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

#define ZW_CHUNK 1024u
#define ZW_GAP TIDE_MS(250) /* longer than the RTO: every chunk is quick-ACKed */

/* Fills the server's 8 KB receive buffer with 1 KB chunks (never read) until
 * its window is 0; returns the time of the zero-window ACK. */
static tide_time fill_server_buffer(struct th *h, int cfd, const uint8_t *out)
{
	int one = 1;
	assert_int_equal(tide_setsockopt(h->C, cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
	for (unsigned k = 0; k < 8; k++) {
		th_run_until(h, T_EST + k * ZW_GAP);
		send_all(h, h->C, cfd, out + k * ZW_CHUNK, ZW_CHUNK);
	}
	th_run_until(h, T_EST + 7 * ZW_GAP + TIDE_MS(10));
	for (unsigned k = 0; k < 8; k++) {
		tide_time t = T_EST + k * ZW_GAP;
		uint32_t ack = C_ISS + 1 + (k + 1) * ZW_CHUNK;
		th_expect_seg_at(h, 3 + 2 * k, t, h->c, TIDE_TCP_ACK | TIDE_TCP_PSH,
				 ack - ZW_CHUNK, S_ISS + 1, ZW_CHUNK);
		th_expect_seg_at(h, 4 + 2 * k, t + TIDE_MS(1), h->s, TIDE_TCP_ACK, S_ISS + 1, ack, 0);
		/* the free space, in units of 128 bytes: 7 KB, 6 KB, ... 0 */
		assert_int_equal(th_seg(h, 4 + 2 * k)->win, (7 - k) * ZW_CHUNK / 128);
	}
	th_expect_nsegs(h, 19);
	return T_EST + 7 * ZW_GAP + TIDE_MS(1);
}

/* RFC 7323: window scale 7 is agreed both ways; windows on the wire are
 * shifted by 7, and the sender fills exactly the scaled window: a receiver
 * with an 8 KB buffer (tcp_rmem[1]) that does not read closes its window to
 * 0. (Each chunk comes after a silence longer than the RTO, so it is
 * quick-ACKed, as in Linux, and the RTT stays 2 ms.) The sender then probes
 * the zero window (seq SND.UNA - 1, no data) with backoff, each answer
 * re-arming the timer, and resumes on the window update when the receiver
 * reads. */
static void test_rfc7323_window_scaling_and_zero_window_probes(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .server_settings = "net.ipv4.tcp_rmem = 4096 8192 6291456\n" };
	th_init(&h, &o);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	const struct th_seg *syn = th_seg(&h, 0), *synack = th_seg(&h, 1);
	assert_true(syn->opts.present & TIDE_OPT_WSCALE);
	assert_int_equal(syn->opts.wscale, 7);
	assert_true(synack->opts.present & TIDE_OPT_WSCALE);
	assert_int_equal(synack->opts.wscale, 7);
	/* windows in SYNs are not scaled: 8 KB rounded down to whole segments */
	assert_int_equal(synack->win, 5 * MSS);
	struct tcp_info ti = tinfo(h.C, cfd);
	assert_int_equal(ti.tcpi_snd_wscale, 7);
	assert_int_equal(ti.tcpi_rcv_wscale, 7);
	int rcvbuf = 0;
	socklen_t len = sizeof(rcvbuf);
	assert_int_equal(tide_getsockopt(h.S, sfd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &len), 0);
	assert_int_equal(rcvbuf, 8192);

	static uint8_t out[9 * ZW_CHUNK], in[9 * ZW_CHUNK];
	pattern(out, sizeof(out), 14);
	tide_time zw = fill_server_buffer(&h, cfd, out);
	assert_int_equal(th_seg(&h, 18)->t, zw);

	/* more data while the window is 0: probes from 202 ms after the write */
	th_run_until(&h, TIDE_MS(2000));
	send_all(&h, h.C, cfd, out + 8 * ZW_CHUNK, ZW_CHUNK);
	th_run_until(&h, TIDE_MS(4000));
	const uint32_t una = C_ISS + 1 + 8 * ZW_CHUNK;
	/* 1st probe answered; the answer re-arms the timer (404 ms) */
	th_expect_seg_at(&h, 19, TIDE_MS(2202), h.c, TIDE_TCP_ACK, una - 1, S_ISS + 1, 0);
	th_expect_seg_at(&h, 20, TIDE_MS(2203), h.s, TIDE_TCP_ACK, S_ISS + 1, una, 0);
	assert_int_equal(th_seg(&h, 20)->win, 0);
	/* 2nd probe 406 ms later: the receiver answers at most every 500 ms */
	th_expect_seg_at(&h, 21, TIDE_MS(2608), h.c, TIDE_TCP_ACK, una - 1, S_ISS + 1, 0);
	/* 3rd probe 808 ms after the 2nd: answered */
	th_expect_seg_at(&h, 22, TIDE_MS(3416), h.c, TIDE_TCP_ACK, una - 1, S_ISS + 1, 0);
	th_expect_seg_at(&h, 23, TIDE_MS(3417), h.s, TIDE_TCP_ACK, S_ISS + 1, una, 0);
	th_expect_nsegs(&h, 24);
	assert_int_equal(tide_sock_state(h.C, cfd), TIDE_TCP_ESTABLISHED);
	assert_int_equal(tide_stack_counter(h.S, TIDE_MIB_TCPRcvQDrop), 0);

	/* the receiver reads: a window update, and the data flows again */
	recv_exact(&h, h.S, sfd, in, 8 * ZW_CHUNK);
	th_run_until(&h, TIDE_MS(4100));
	th_expect_seg_at(&h, 24, TIDE_MS(4000), h.s, TIDE_TCP_ACK, S_ISS + 1, una, 0);
	assert_int_equal(th_seg(&h, 24)->win, 57); /* 7240 (the SYN-ACK window) aligned up to 128 */
	th_expect_seg_at(&h, 25, TIDE_MS(4001), h.c, TIDE_TCP_ACK | TIDE_TCP_PSH, una, S_ISS + 1,
			 ZW_CHUNK);
	th_expect_seg_at(&h, 26, TIDE_MS(4002), h.s, TIDE_TCP_ACK, S_ISS + 1, una + ZW_CHUNK, 0);
	th_expect_nsegs(&h, 27);
	recv_exact(&h, h.S, sfd, in + 8 * ZW_CHUNK, ZW_CHUNK);
	assert_memory_equal(in, out, sizeof(in));
	assert_int_equal(tide_stack_counter(h.C, TIDE_MIB_TCPAbortOnTimeout), 0);
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* RFC 1122 4.2.2.17: a zero window may last for ever: as long as the
 * receiver answers the probes the sender keeps probing (at most every
 * 120 s) and never times out, whatever tcp_retries2 says. */
static void test_rfc1122_zero_window_persists_while_peer_answers(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .server_settings = "net.ipv4.tcp_rmem = 4096 8192 6291456\n" };
	th_init(&h, &o);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	static uint8_t out[9 * ZW_CHUNK], in[9 * ZW_CHUNK];
	pattern(out, sizeof(out), 15);
	fill_server_buffer(&h, cfd, out);
	th_run_until(&h, TIDE_MS(2000));
	send_all(&h, h.C, cfd, out + 8 * ZW_CHUNK, ZW_CHUNK);
	th_run_until(&h, TIDE_SEC(3600));

	/* every client segment since is a probe; the gaps grow to 120 s */
	const uint32_t una = C_ISS + 1 + 8 * ZW_CHUNK;
	size_t nprobes = 0, last = 0, prev = 0;
	for (size_t i = 19; i < h.nsegs; i++) {
		const struct th_seg *sg = th_seg(&h, i);
		if (sg->from != h.c)
			continue;
		th_expect_seg(&h, i, h.c, TIDE_TCP_ACK, una - 1, S_ISS + 1, 0);
		nprobes++;
		prev = last;
		last = i;
	}
	assert_true(nprobes > 20);
	/* the last probe was answered; the one before too: 120 s + the RTT */
	assert_int_equal(th_seg(&h, last)->t - th_seg(&h, prev)->t, TIDE_SEC(120) + TIDE_MS(2));
	assert_int_equal(tide_sock_state(h.C, cfd), TIDE_TCP_ESTABLISHED);
	assert_int_equal(tide_sock_state(h.S, sfd), TIDE_TCP_ESTABLISHED);
	assert_int_equal(tide_stack_counter(h.C, TIDE_MIB_TCPAbortOnTimeout), 0);

	recv_exact(&h, h.S, sfd, in, 8 * ZW_CHUNK);
	th_run_for(&h, TIDE_MS(10));
	recv_exact(&h, h.S, sfd, in + 8 * ZW_CHUNK, ZW_CHUNK);
	assert_memory_equal(in, out, sizeof(in));
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* RFC 9293 3.8.6 / RFC 1122 4.2.3.4: with default buffers and a receiver
 * that does not read, every byte inside the windows the receiver announced
 * is taken (none dropped, none resent), its window closes to exactly 0 at
 * the last edge it announced, and the sender fills a last window smaller
 * than a segment only when its persist timer (one RTO) fires, then probes. */
static void test_rfc9293_receiver_takes_all_data_in_its_window(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	enum { TOTAL = 150000 };
	static uint8_t out[TOTAL], in[TOTAL];
	pattern(out, sizeof(out), 25);
	size_t sent = 0;
	static uint32_t rto_at[2001]; /* the client's RTO at each millisecond */
	for (unsigned ms = 3; ms < 2000; ms++) {
		ssize_t r = tide_send(h.C, cfd, out + sent, sizeof(out) - sent, 0);
		if (r > 0)
			sent += (size_t)r;
		th_run_until(&h, TIDE_MS(ms + 1));
		rto_at[ms + 1] = tinfo(h.C, cfd).tcpi_rto;
	}
	th_run_until(&h, TIDE_SEC(5));

	/* the last window the server opened, and where it ended */
	size_t last_open = 0, fill = 0, zero = 0;
	for (size_t i = 0; i < h.nsegs; i++) {
		const struct th_seg *sg = th_seg(&h, i);
		if (sg->from == h.s && sg->win > 0)
			last_open = i;
		if (sg->from == h.c && sg->len > 0)
			fill = i;
	}
	const struct th_seg *open = th_seg(&h, last_open);
	const uint32_t edge = open->ack + (uint32_t)open->win * 128;
	assert_true(fill > last_open);
	assert_true(edge - open->ack < MSS);
	/* the small window is filled exactly, one RTO after its ACK came */
	assert_true(open->t % 1000 == 0 && open->t < TIDE_MS(1000));
	const tide_time came = open->t + TIDE_MS(1);
	th_expect_seg_at(&h, fill, came + rto_at[came / 1000], h.c, TIDE_TCP_ACK | TIDE_TCP_PSH,
			 open->ack, S_ISS + 1, edge - open->ack);
	for (size_t i = last_open + 1; i < fill; i++)
		assert_int_equal(th_seg(&h, i)->from, h.s);
	zero = fill + 1;
	th_expect_seg_at(&h, zero, th_seg(&h, fill)->t + TIDE_MS(1), h.s, TIDE_TCP_ACK, S_ISS + 1, edge, 0);
	assert_int_equal(th_seg(&h, zero)->win, 0);
	/* then only zero-window probes from the client */
	size_t nprobes = 0;
	for (size_t i = zero + 1; i < h.nsegs; i++) {
		if (th_seg(&h, i)->from != h.c)
			continue;
		th_expect_seg(&h, i, h.c, TIDE_TCP_ACK, edge - 1, S_ISS + 1, 0);
		nprobes++;
	}
	assert_true(nprobes >= 3);
	assert_int_equal(tide_stack_counter(h.S, TIDE_MIB_TCPRcvQDrop), 0);
	assert_int_equal(tide_stack_counter(h.S, TIDE_MIB_TCPOFODrop), 0);
	assert_int_equal(tide_stack_counter(h.C, TIDE_MIB_RetransSegs), 0);

	/* the server holds exactly the bytes up to that edge, beyond rcvbuf */
	const size_t held = edge - (C_ISS + 1);
	assert_true(held > 131072);
	recv_exact(&h, h.S, sfd, in, held);
	expect_no_data(h.S, sfd);
	assert_memory_equal(in, out, held);
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* ---- Nagle --------------------------------------------------------------- */

/* RFC 896: with Nagle on, a small write while a small segment is
 * unacknowledged waits for the ACK. */
static void test_rfc896_nagle_holds_small_write_until_ack(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	uint8_t out[20], in[20];
	pattern(out, sizeof(out), 16);
	send_all(&h, h.C, cfd, out, 10);
	send_all(&h, h.C, cfd, out + 10, 10);
	th_run_until(&h, TIDE_MS(50));
	th_expect_seg_at(&h, 3, T_EST, h.c, TIDE_TCP_ACK | TIDE_TCP_PSH, C_ISS + 1, S_ISS + 1, 10);
	th_expect_seg_at(&h, 4, TIDE_MS(4), h.s, TIDE_TCP_ACK, S_ISS + 1, C_ISS + 11, 0);
	th_expect_seg_at(&h, 5, TIDE_MS(5), h.c, TIDE_TCP_ACK | TIDE_TCP_PSH, C_ISS + 11, S_ISS + 1, 10);
	th_expect_seg_at(&h, 6, TIDE_MS(6), h.s, TIDE_TCP_ACK, S_ISS + 1, C_ISS + 21, 0);
	th_expect_nsegs(&h, 7);
	recv_exact(&h, h.S, sfd, in, sizeof(in));
	assert_memory_equal(in, out, sizeof(in));
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* TCP_NODELAY: both small writes go at once. */
static void test_api_nodelay_sends_small_writes_at_once(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	int one = 1;
	assert_int_equal(tide_setsockopt(h.C, cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
	uint8_t out[20], in[20];
	pattern(out, sizeof(out), 17);
	send_all(&h, h.C, cfd, out, 10);
	send_all(&h, h.C, cfd, out + 10, 10);
	th_run_until(&h, TIDE_MS(50));
	th_expect_seg_at(&h, 3, T_EST, h.c, TIDE_TCP_ACK | TIDE_TCP_PSH, C_ISS + 1, S_ISS + 1, 10);
	th_expect_seg_at(&h, 4, T_EST, h.c, TIDE_TCP_ACK | TIDE_TCP_PSH, C_ISS + 11, S_ISS + 1, 10);
	th_expect_seg_at(&h, 5, TIDE_MS(4), h.s, TIDE_TCP_ACK, S_ISS + 1, C_ISS + 11, 0);
	th_expect_seg_at(&h, 6, TIDE_MS(4), h.s, TIDE_TCP_ACK, S_ISS + 1, C_ISS + 21, 0);
	th_expect_nsegs(&h, 7);
	recv_exact(&h, h.S, sfd, in, sizeof(in));
	assert_memory_equal(in, out, sizeof(in));
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* Linux's Nagle is Minshall's variant: only an unacknowledged *small*
 * segment holds the next small one back, so a write of 1.07 segments goes
 * out whole at once. */
static void test_rfc896_nagle_minshall_full_segment_does_not_hold_tail(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	uint8_t out[MSS + 100 + 10], in[sizeof(out)];
	pattern(out, sizeof(out), 18);
	send_all(&h, h.C, cfd, out, MSS + 100);
	/* a third write, small, while the 100-byte tail is in flight: held */
	send_all(&h, h.C, cfd, out + MSS + 100, 10);
	th_run_until(&h, TIDE_MS(50));
	th_expect_seg_at(&h, 3, T_EST, h.c, TIDE_TCP_ACK, C_ISS + 1, S_ISS + 1, MSS);
	th_expect_seg_at(&h, 4, T_EST, h.c, TIDE_TCP_ACK | TIDE_TCP_PSH, C_ISS + 1 + MSS, S_ISS + 1, 100);
	th_expect_seg_at(&h, 5, TIDE_MS(4), h.s, TIDE_TCP_ACK, S_ISS + 1, C_ISS + 1 + MSS, 0);
	th_expect_seg_at(&h, 6, TIDE_MS(4), h.s, TIDE_TCP_ACK, S_ISS + 1, C_ISS + 101 + MSS, 0);
	th_expect_seg_at(&h, 7, TIDE_MS(5), h.c, TIDE_TCP_ACK | TIDE_TCP_PSH, C_ISS + 101 + MSS,
			 S_ISS + 1, 10);
	th_expect_seg_at(&h, 8, TIDE_MS(6), h.s, TIDE_TCP_ACK, S_ISS + 1, C_ISS + 111 + MSS, 0);
	th_expect_nsegs(&h, 9);
	recv_exact(&h, h.S, sfd, in, sizeof(in));
	assert_memory_equal(in, out, sizeof(in));
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* ---- LC-D04, LC-D05, LC-D06 ---------------------------------------------- */

/* LC-D04: writes succeed until the peer's RST arrives; then the first
 * send() reports the reset (ECONNRESET, Linux's pending error) and the
 * next one EPIPE. No SIGPIPE: the process survives with the default
 * disposition. */
static void test_LC_D04_write_after_peer_reset(void **state)
{
	(void)state;
	void (*old)(int) = signal(SIGPIPE, SIG_DFL);
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	assert_int_equal(tide_setsockopt(h.S, sfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_expect_seg_at(&h, 3, T_EST, h.s, TIDE_TCP_RST | TIDE_TCP_ACK, S_ISS + 1, C_ISS + 1, 0);

	/* the RST is on its way: this write still succeeds and is sent */
	uint8_t out[10];
	pattern(out, sizeof(out), 19);
	assert_int_equal(tide_send(h.C, cfd, out, sizeof(out), 0), 10);
	th_expect_seg_at(&h, 4, T_EST, h.c, TIDE_TCP_ACK | TIDE_TCP_PSH, C_ISS + 1, S_ISS + 1, 10);
	th_run_until(&h, TIDE_MS(10));
	assert_int_equal(tide_sock_state(h.C, cfd), TIDE_TCP_CLOSED);
	/* the server has no connection any more: it answers the data with RST */
	th_expect_seg_at(&h, 5, TIDE_MS(4), h.s, TIDE_TCP_RST, S_ISS + 1, 0, 0);
	th_expect_nsegs(&h, 6);

	errno = 0;
	assert_int_equal(tide_send(h.C, cfd, out, sizeof(out), 0), -1);
	assert_int_equal(errno, ECONNRESET);
	errno = 0;
	assert_int_equal(tide_send(h.C, cfd, out, sizeof(out), 0), -1);
	assert_int_equal(errno, EPIPE);
	errno = 0;
	assert_int_equal(tide_send(h.C, cfd, out, sizeof(out), MSG_NOSIGNAL), -1);
	assert_int_equal(errno, EPIPE);
	th_expect_nsegs(&h, 6);
	close_all(&h, cfd, -1, lfd);
	th_free(&h);
	signal(SIGPIPE, old);
}

/* LC-D05: a connection whose network silently died stays ESTABLISHED for
 * ever when neither side sends (no keepalive): an hour without a segment,
 * and it works again when the network comes back. */
static void test_LC_D05_idle_connection_survives_dead_network(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	tide_sim_cut_link(h.sim, T_EST, T_EST + TIDE_SEC(3600));
	th_run_until(&h, T_EST + TIDE_SEC(3600));
	th_expect_nsegs(&h, 3);
	assert_int_equal(tide_sock_state(h.C, cfd), TIDE_TCP_ESTABLISHED);
	assert_int_equal(tide_sock_state(h.S, sfd), TIDE_TCP_ESTABLISHED);
	assert_int_equal(tide_stack_next_timer(h.C), TIDE_TIME_NEVER);
	assert_int_equal(tide_stack_next_timer(h.S), TIDE_TIME_NEVER);
	const int est[] = { TIDE_TCP_SYN_SENT, TIDE_TCP_ESTABLISHED };
	th_expect_states(&h, h.c, est, 2);

	uint8_t out[10], in[10];
	pattern(out, sizeof(out), 20);
	send_all(&h, h.C, cfd, out, sizeof(out));
	th_run_for(&h, TIDE_MS(10));
	tide_time t = T_EST + TIDE_SEC(3600);
	th_expect_seg_at(&h, 3, t, h.c, TIDE_TCP_ACK | TIDE_TCP_PSH, C_ISS + 1, S_ISS + 1, 10);
	th_expect_seg_at(&h, 4, t + TIDE_MS(1), h.s, TIDE_TCP_ACK, S_ISS + 1, C_ISS + 11, 0);
	recv_exact(&h, h.S, sfd, in, sizeof(in));
	assert_memory_equal(in, out, sizeof(in));
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* LC-D06: unacknowledged data is retransmitted until the tcp_retries2
 * budget runs out: with retries2 = 3 and the RTO at its minimum the budget
 * is ((2 << 3) - 1) * 200 ms = 3.0 s, so after retransmissions at 202,
 * 606 and 1414 ms the timer at 3030 ms (past 3.0 s) ends the connection
 * with ETIMEDOUT, sending nothing. */
static void test_LC_D06_retries2_budget_times_out(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .client_settings = "net.ipv4.tcp_retries2 = 3\n" };
	th_init(&h, &o);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	tide_sim_cut_link(h.sim, T_EST, TIDE_SEC(100));
	uint8_t out[10];
	pattern(out, sizeof(out), 21);
	send_all(&h, h.C, cfd, out, sizeof(out));
	th_run_until(&h, T_EST + TIDE_MS(3029));
	assert_int_equal(tide_sock_state(h.C, cfd), TIDE_TCP_ESTABLISHED);
	th_run_until(&h, TIDE_SEC(20));

	static const unsigned at_ms[4] = { 0, 202, 606, 1414 };
	for (size_t i = 0; i < 4; i++)
		th_expect_seg_at(&h, 3 + i, T_EST + TIDE_MS(at_ms[i]), h.c,
				 TIDE_TCP_ACK | TIDE_TCP_PSH, C_ISS + 1, S_ISS + 1, 10);
	th_expect_nsegs(&h, 7);
	const int st[] = { TIDE_TCP_SYN_SENT, TIDE_TCP_ESTABLISHED, TIDE_TCP_CLOSED };
	th_expect_states(&h, h.c, st, 3);
	th_expect_state_at(&h, h.c, 2, T_EST + TIDE_MS(3030), TIDE_TCP_ESTABLISHED, TIDE_TCP_CLOSED);
	assert_int_equal(tide_stack_counter(h.C, TIDE_MIB_TCPAbortOnTimeout), 1);
	assert_int_equal(tide_stack_counter(h.C, TIDE_MIB_RetransSegs), 3);

	uint8_t b;
	errno = 0;
	assert_int_equal(tide_recv(h.C, cfd, &b, 1, 0), -1);
	assert_int_equal(errno, ETIMEDOUT);
	int err = -1;
	socklen_t len = sizeof(err);
	assert_int_equal(tide_getsockopt(h.C, cfd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	assert_int_equal(err, 0);
	errno = 0;
	assert_int_equal(tide_send(h.C, cfd, out, 1, 0), -1);
	assert_int_equal(errno, EPIPE);
	/* the server never heard a thing */
	assert_int_equal(tide_sock_state(h.S, sfd), TIDE_TCP_ESTABLISHED);
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* LC-D06: the error is also reported by SO_ERROR (once), and by send(). */
static void test_LC_D06_timeout_reported_by_so_error_and_send(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .client_settings = "net.ipv4.tcp_retries2 = 3\n" };
	th_init(&h, &o);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	tide_sim_cut_link(h.sim, T_EST, TIDE_SEC(100));
	uint8_t out[10];
	pattern(out, sizeof(out), 22);
	send_all(&h, h.C, cfd, out, sizeof(out));
	th_run_until(&h, TIDE_SEC(5));
	int err = 0;
	socklen_t len = sizeof(err);
	assert_int_equal(tide_getsockopt(h.C, cfd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	assert_int_equal(err, ETIMEDOUT);
	assert_int_equal(tide_getsockopt(h.C, cfd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	assert_int_equal(err, 0);
	close_all(&h, cfd, sfd, lfd);

	/* a second connection: send() is the call that sees ETIMEDOUT */
	th_free(&h);
	th_init(&h, &o);
	th_establish(&h, &cfd, &sfd, &lfd);
	tide_sim_cut_link(h.sim, T_EST, TIDE_SEC(100));
	send_all(&h, h.C, cfd, out, sizeof(out));
	th_run_until(&h, TIDE_SEC(5));
	errno = 0;
	assert_int_equal(tide_send(h.C, cfd, out, sizeof(out), 0), -1);
	assert_int_equal(errno, ETIMEDOUT);
	errno = 0;
	assert_int_equal(tide_send(h.C, cfd, out, sizeof(out), 0), -1);
	assert_int_equal(errno, EPIPE);
	assert_int_equal(tide_stack_counter(h.C, TIDE_MIB_TCPAbortOnTimeout), 1);
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* ---- bulk transfer ---------------------------------------------------- */

#define BULK (1u << 20)

struct bulk_end {
	tide_stack *st;
	int fd;
	const uint8_t *out;
	uint8_t *in;
	size_t sent, rcvd;
};

static void bulk_step(struct th *h, struct bulk_end *e)
{
	if (e->sent < BULK) {
		ssize_t r = tide_send(e->st, e->fd, e->out + e->sent, BULK - e->sent, 0);
		if (r > 0)
			e->sent += (size_t)r;
		else if (errno != EAGAIN) {
			th_dump(h);
			fail_msg("bulk send: errno %d", errno);
		}
	}
	for (;;) {
		ssize_t r = tide_recv(e->st, e->fd, e->in + e->rcvd, BULK - e->rcvd, 0);
		if (r > 0) {
			e->rcvd += (size_t)r;
			continue;
		}
		if (r < 0 && errno != EAGAIN) {
			th_dump(h);
			fail_msg("bulk recv: errno %d", errno);
		}
		break;
	}
}

/* A 1 MB transfer each way at once over a lossy path (every 50th data
 * segment of each side dropped, one segment held back behind the next,
 * one duplicated) ends with identical bytes at both ends. */
static void test_rfc9293_bulk_transfer_both_ways_with_loss(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	for (int node = 0; node < 2; node++) {
		add_rule(&h, node, TIDE_FAULT_REORDER, 10, 1, 0);
		add_rule(&h, node, TIDE_FAULT_DUPLICATE, 31, 1, TIDE_MS(3));
		for (unsigned k = 1; k <= 20; k++)
			add_rule(&h, node, TIDE_FAULT_DROP, 50 * k, 1, 0);
	}
	uint8_t *cout = malloc(BULK), *sout = malloc(BULK), *cin = malloc(BULK), *sin_ = malloc(BULK);
	assert_non_null(cout);
	assert_non_null(sout);
	assert_non_null(cin);
	assert_non_null(sin_);
	pattern(cout, BULK, 23);
	pattern(sout, BULK, 24);
	struct bulk_end c = { h.C, cfd, cout, cin, 0, 0 }, s = { h.S, sfd, sout, sin_, 0, 0 };
	tide_time limit = TIDE_SEC(120);
	while (th_now(&h) < limit && (c.rcvd < BULK || s.rcvd < BULK)) {
		bulk_step(&h, &c);
		bulk_step(&h, &s);
		th_run_for(&h, TIDE_MS(1));
	}
	bulk_step(&h, &c);
	bulk_step(&h, &s);
	assert_int_equal(c.sent, BULK);
	assert_int_equal(s.sent, BULK);
	assert_int_equal(s.rcvd, BULK);
	assert_int_equal(c.rcvd, BULK);
	assert_memory_equal(sin_, cout, BULK);
	assert_memory_equal(cin, sout, BULK);
	/* every 50th data segment of each side was dropped (1 MB is at least
	 * 725 segments a side), and each drop was repaired by a resend */
	size_t ndata[2] = { 0, 0 };
	for (size_t i = 0; i < h.nsegs; i++)
		if (th_seg(&h, i)->len > 0)
			ndata[th_seg(&h, i)->from == h.c ? 0 : 1]++;
	assert_true(ndata[0] >= 725 && ndata[0] < 1050);
	assert_true(ndata[1] >= 725 && ndata[1] < 1050);
	assert_int_equal(tide_sim_count(h.sim, TIDE_SIM_DROPPED), ndata[0] / 50 + ndata[1] / 50);
	assert_true(tide_stack_counter(h.C, TIDE_MIB_RetransSegs) >= ndata[0] / 50);
	assert_true(tide_stack_counter(h.S, TIDE_MIB_RetransSegs) >= ndata[1] / 50);
	assert_int_equal(tide_sim_count(h.sim, TIDE_SIM_DUPLICATED), 2);
	assert_int_equal(tide_sim_count(h.sim, TIDE_SIM_DELAYED), 2); /* the reorders */
	assert_int_equal(tide_sock_state(h.C, cfd), TIDE_TCP_ESTABLISHED);
	assert_int_equal(tide_sock_state(h.S, sfd), TIDE_TCP_ESTABLISHED);
	expect_no_data(h.C, cfd);
	expect_no_data(h.S, sfd);
	free(cout);
	free(sout);
	free(cin);
	free(sin_);
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* Found by the churn soak (tests/soak): both ends time out with two
 * segments in flight whose ACKs were all lost, while each end already has
 * all of the other's data. A timeout resends from SND.UNA, one segment
 * (cwnd 1), so tide's snd_nxt falls back below what it sent; the pure ACK
 * answering the peer's resent (old) segment must still carry the highest
 * sequence number sent, as Linux's and BSD's do: at the rewound snd_nxt
 * it would lie below the peer's RCV.NXT, be refused as old with the
 * acknowledgment it carries, and both ends would resend to each other
 * until tcp_retries2 gave up. */
static void test_rfc9293_pure_ack_after_timeout_carries_highest_seq(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	uint8_t out[2000], in[2000];
	pattern(out, sizeof(out), 7);
	send_all(&h, h.C, cfd, out, sizeof(out)); /* 101..2101: 1448 + 552 */
	send_all(&h, h.S, sfd, out, sizeof(out)); /* 301..2301 */
	/* the data goes through; every ACK of it is lost */
	assert_int_equal(tide_sim_cut_link(h.sim, T_EST + TIDE_US(500), TIDE_MS(100)), 0);
	size_t before = h.nsegs;
	th_run_until(&h, T_EST + RTO + TIDE_MS(5));
	recv_exact(&h, h.C, cfd, in, sizeof(in));
	recv_exact(&h, h.S, sfd, in, sizeof(in));
	/* skip the 4 data segments and the lost ACKs */
	size_t i = before;
	while (i < h.nsegs && th_seg(&h, i)->t < T_EST + RTO)
		i++;
	th_expect_seg_at(&h, i, T_EST + RTO, h.c, TIDE_TCP_ACK, 101, 2301, MSS);
	th_expect_seg_at(&h, i + 1, T_EST + RTO, h.s, TIDE_TCP_ACK, 301, 2101, MSS);
	th_expect_seg_at(&h, i + 2, T_EST + RTO + TIDE_MS(1), h.s, TIDE_TCP_ACK, 2301, 2101, 0);
	th_expect_seg_at(&h, i + 3, T_EST + RTO + TIDE_MS(1), h.c, TIDE_TCP_ACK, 2101, 2301, 0);
	/* each took the other's ACK: nothing is left to resend */
	th_run_for(&h, TIDE_SEC(10));
	th_expect_nsegs(&h, i + 4);
	assert_int_equal(tinfo(h.C, cfd).tcpi_unacked, 0);
	assert_int_equal(tinfo(h.S, sfd).tcpi_unacked, 0);
	assert_int_equal(tide_stack_counter(h.C, TIDE_MIB_RetransSegs), 1);
	assert_int_equal(tide_stack_counter(h.S, TIDE_MIB_RetransSegs), 1);
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_LC_D01_ack_names_next_byte_expected),
	cmocka_unit_test(test_LC_D02_initial_rto_retransmits_syn_at_1s),
	cmocka_unit_test(test_LC_D02_rto_from_measured_rtt),
	cmocka_unit_test(test_LC_D02_rto_doubles_on_every_expiry),
	cmocka_unit_test(test_LC_D02_rto_capped_at_120s),
	cmocka_unit_test(test_LC_D02_rto_max_setting_caps_backoff),
	cmocka_unit_test(test_LC_D02_karn_no_rtt_sample_from_retransmission),
	cmocka_unit_test(test_LC_D02_rtt_from_timestamp_after_syn_retransmission),
	cmocka_unit_test(test_LC_D02_rto_fallback_3s_without_handshake_sample),
	cmocka_unit_test(test_LC_D02_karn_resent_synack_timed_by_timestamp),
	cmocka_unit_test(test_LC_D02_karn_synack_resent_for_duplicate_syn),
	cmocka_unit_test(test_LC_D02_passive_rto_fallback_3s_without_sample),
	cmocka_unit_test(test_rfc5681_fast_retransmit_after_three_dupacks),
	cmocka_unit_test(test_rfc9293_out_of_order_reassembly),
	cmocka_unit_test(test_LC_D03_quick_acks_then_every_second_segment),
	cmocka_unit_test(test_LC_D03_interactive_exchange_delays_acks),
	cmocka_unit_test(test_LC_D03_ack_when_more_than_a_full_segment_is_unacked),
	cmocka_unit_test(test_LC_D03_no_immediate_ack_while_window_shrinks),
	cmocka_unit_test(test_rfc7323_window_scaling_and_zero_window_probes),
	cmocka_unit_test(test_rfc1122_zero_window_persists_while_peer_answers),
	cmocka_unit_test(test_rfc9293_receiver_takes_all_data_in_its_window),
	cmocka_unit_test(test_rfc896_nagle_holds_small_write_until_ack),
	cmocka_unit_test(test_api_nodelay_sends_small_writes_at_once),
	cmocka_unit_test(test_rfc896_nagle_minshall_full_segment_does_not_hold_tail),
	cmocka_unit_test(test_LC_D04_write_after_peer_reset),
	cmocka_unit_test(test_LC_D05_idle_connection_survives_dead_network),
	cmocka_unit_test(test_LC_D06_retries2_budget_times_out),
	cmocka_unit_test(test_LC_D06_timeout_reported_by_so_error_and_send),
	cmocka_unit_test(test_rfc9293_bulk_transfer_both_ways_with_loss),
	cmocka_unit_test(test_rfc9293_pure_ack_after_timeout_carries_highest_seq),
};

int main(void)
{
	return cmocka_run_group_tests(tests, NULL, NULL);
}
