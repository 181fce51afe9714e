/*
 * Limits and early ends of TIME_WAIT (catalogue LC-K10, LC-K15, LC-O02):
 *  - tcp_max_tw_buckets: beyond it the connection that would enter
 *    TIME_WAIT just ends (TCPTimeWaitOverflow), its 4-tuple is free at once
 *    and a retransmitted FIN finds no connection (RST);
 *  - tcp_rfc1337: 0 (Linux's default) lets an acceptable RST end TIME_WAIT
 *    ("TIME_WAIT assassination", RFC 1337); 1 ignores it; a RST at another
 *    sequence number, or with an old timestamp (PAWS), never ends it;
 *  - the counters as Linux 6.x keeps them (checked on 6.18): TW counts a
 *    record when it begins (TWKilled instead when it lives 4 s or less),
 *    nothing is counted when a record ends, early or not; PAWSTimewait;
 *  - the ACKs a record sends to what it refuses: at most one per
 *    tcp_invalid_ratelimit (500 ms) for SYNs and segments without data or
 *    FIN (TCPACKSkippedTimeWait), always for a FIN; the 2MSL restart rules.
 *
 * Every test starts from th_establish (client 198.18.0.1:40000 ISN 100,
 * server 198.18.0.2:80 ISN 300, 1 ms one way) and a three-way close that
 * the client begins at 3 ms: its FIN at 3 ms, the server's FIN+ACK at 4 ms,
 * the client's last ACK at 5 ms (segments 3, 4, 5), when its TIME_WAIT
 * begins with SND.NXT 102 and RCV.NXT 302.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"
#include "inject.h"
#include "core/stack_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define FA (TIDE_TCP_FIN | TIDE_TCP_ACK)
#define AK TIDE_TCP_ACK
#define SYN TIDE_TCP_SYN
#define SA (TIDE_TCP_SYN | TIDE_TCP_ACK)
#define RST TIDE_TCP_RST

/* The client's record: from its last ACK at 5 ms for 60 s. */
#define TW_START TIDE_MS(5)
#define TW_END (TIDE_MS(5) + TIDE_SEC(60))

/* RTO after the handshake's one sample of 2 ms (RFC 6298, Linux's floor):
 * SRTT 2 ms + max(4 * RTTVAR 1 ms, 200 ms). */
#define RTO_AFTER_HANDSHAKE TIDE_US(202000)

#define EXPECT_STATES(h, node, ...)                                             \
	do {                                                                    \
		static const int s_[] = { __VA_ARGS__ };                         \
		th_expect_states((h), (node), s_, sizeof(s_) / sizeof(s_[0]));   \
	} while (0)

enum {
	ST_EST = TIDE_TCP_ESTABLISHED,
	ST_SYN_SENT = TIDE_TCP_SYN_SENT,
	ST_SYN_RECV = TIDE_TCP_SYN_RECV,
	ST_FW1 = TIDE_TCP_FIN_WAIT1,
	ST_TW = TIDE_TCP_TIME_WAIT,
	ST_CLOSED = TIDE_TCP_CLOSE,
	ST_CW = TIDE_TCP_CLOSE_WAIT,
	ST_LA = TIDE_TCP_LAST_ACK,
	ST_LISTEN = TIDE_TCP_LISTEN,
};

/* ---- helpers ---------------------------------------------------------- */

static uint64_t ctr(tide_stack *st, enum tide_counter c)
{
	return tide_stack_counter(st, c);
}

static void count_tw(void *ctx, const struct tide_conn_info *ci)
{
	if (ci->state == TIDE_TCP_TIME_WAIT)
		++*(size_t *)ctx;
}

static size_t tw_records(tide_stack *st)
{
	size_t n = 0;
	tide_stack_foreach_conn(st, count_tw, &n);
	return n;
}

/* bind(client address:port) of a fresh socket without SO_REUSEADDR: 0 or
 * the errno; the socket is closed again. */
static int try_bind_client(struct th *h, uint16_t port)
{
	int fd = tide_socket(h->C, AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 3);
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(TH_CLIENT_ADDR);
	sin.sin_port = htons(port);
	errno = 0;
	int r = tide_bind(h->C, fd, (const struct sockaddr *)&sin, sizeof(sin));
	int e = r == 0 ? 0 : errno;
	tide_close(h->C, fd);
	return e;
}

/* th_init with the client's settings, th_establish, then the client closes
 * first: segments 3..5 as in the header; the clock is at 6 ms. */
static void client_time_wait(struct th *h, const char *client_settings, int *lfd)
{
	struct th_opts o = { .client_settings = client_settings };
	th_init(h, &o);
	int cfd, sfd;
	th_establish(h, &cfd, &sfd, lfd);
	assert_int_equal(tide_close(h->C, cfd), 0);
	th_run_until(h, TIDE_MS(4));
	assert_int_equal(tide_close(h->S, sfd), 0);
	th_run_until(h, TIDE_MS(6));
	th_expect_seg_at(h, 3, TIDE_MS(3), h->c, FA, 101, 301, 0);
	th_expect_seg_at(h, 4, TIDE_MS(4), h->s, FA, 301, 102, 0);
	th_expect_seg_at(h, 5, TIDE_MS(5), h->c, AK, 102, 302, 0);
}

/* The server has no connection for what the record answers and would
 * reset it (ending the record, LC-K15): its RSTs are lost from now on. */
static void drop_server_rsts(struct th *h)
{
	struct tide_fault f;
	memset(&f, 0, sizeof(f));
	f.from = h->s;
	f.flags_mask = RST;
	f.flags_match = RST;
	f.nth = 1;
	f.count = 1000;
	f.action = TIDE_FAULT_DROP;
	tide_sim_add_fault(h->sim, &f);
}

/* The server's last timestamp, the one the client's record keeps. */
static uint32_t record_ts_recent(struct th *h)
{
	return th_seg(h, 4)->opts.tsval;
}

static struct tide_tcp_opts ts_opt(uint32_t tsval, uint32_t tsecr)
{
	struct tide_tcp_opts o;
	memset(&o, 0, sizeof(o));
	o.present = TIDE_OPT_TS;
	o.tsval = tsval;
	o.tsecr = tsecr;
	return o;
}

/* ---- LC-K10: tcp_max_tw_buckets ---------------------------------------- */

/* LC-K10: with tcp_max_tw_buckets = 0 the client still ACKs the server's
 * FIN but keeps no record: FIN_WAIT_1 -> CLOSED, TCPTimeWaitOverflow, and
 * the 4-tuple is free at once (a plain bind() and a new connection). */
static void test_LC_K10_overflow_ends_connection_at_once(void **state)
{
	(void)state;
	struct th h;
	int lfd;
	client_time_wait(&h, "net.ipv4.tcp_max_tw_buckets = 0\n", &lfd);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPTimeWaitOverflow), 1);
	assert_int_equal(ctr(h.C, TIDE_MIB_TW), 0);
	assert_int_equal(ctr(h.C, TIDE_MIB_TWKilled), 0);
	assert_int_equal(tw_records(h.C), 0);
	th_expect_state_at(&h, h.c, 3, TIDE_MS(5), ST_FW1, ST_CLOSED);

	assert_int_equal(try_bind_client(&h, 40000), 0);
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_until(&h, TIDE_MS(9));
	th_expect_seg_at(&h, 6, TIDE_MS(6), h.c, SYN, 100, 0, 0);
	th_expect_seg_at(&h, 7, TIDE_MS(7), h.s, SA, 300, 101, 0);
	th_expect_seg_at(&h, 8, TIDE_MS(8), h.c, AK, 101, 301, 0);
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_CLOSED, ST_SYN_SENT, ST_EST);
	int sfd = th_accept(&h, h.s, lfd);
	tide_close(h.C, cfd);
	tide_close(h.S, sfd);
	tide_close(h.S, lfd);
	th_free(&h);
}

/* LC-K10: the limit counts live records: with 1, the second connection
 * overflows while the first record lives, the third (after it ended) gets
 * a record again. */
static void test_LC_K10_limit_counts_live_records(void **state)
{
	(void)state;
	struct th h;
	int lfd;
	client_time_wait(&h, "net.ipv4.tcp_max_tw_buckets = 1\n", &lfd);
	assert_int_equal(tw_records(h.C), 1);

	for (int round = 0; round < 2; round++) {
		if (round == 1)
			th_run_until(&h, TW_END + TIDE_MS(10));
		tide_time t = th_now(&h);
		uint16_t port = (uint16_t)(40001 + round);
		int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, port);
		th_run_until(&h, t + TIDE_MS(3));
		int sfd = th_accept(&h, h.s, lfd);
		assert_int_equal(tide_close(h.C, cfd), 0);
		th_run_until(&h, t + TIDE_MS(4));
		assert_int_equal(tide_close(h.S, sfd), 0);
		th_run_until(&h, t + TIDE_MS(6));
		assert_int_equal(ctr(h.C, TIDE_MIB_TCPTimeWaitOverflow), 1);
		assert_int_equal(ctr(h.C, TIDE_MIB_TW), (uint64_t)(1 + round));
		assert_int_equal(tw_records(h.C), 1);
	}
	tide_close(h.S, lfd);
	th_free(&h);
}

/* LC-K10, LC-C06: what TIME_WAIT is for, seen without it: the client's
 * last ACK is lost, the server's FIN comes again one RTO later (206 ms)
 * and finds no connection: RST <SEQ=102> (the FIN's ACK), and the server
 * in LAST_ACK ends on it. */
static void test_LC_K10_retransmitted_fin_after_overflow_gets_rst(void **state)
{
	(void)state;
	struct th_opts o = { .client_settings = "net.ipv4.tcp_max_tw_buckets = 0\n" };
	struct th h;
	th_init(&h, &o);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	struct tide_fault f;
	memset(&f, 0, sizeof(f));
	f.from = h.c;
	f.flags_mask = 0xff;
	f.flags_match = AK;
	f.nth = 1;
	f.action = TIDE_FAULT_DROP;
	tide_sim_add_fault(h.sim, &f);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_until(&h, TIDE_MS(4));
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_run_until(&h, TIDE_SEC(1));
	th_expect_seg_at(&h, 5, TIDE_MS(5), h.c, AK, 102, 302, 0); /* lost */
	th_expect_seg_at(&h, 6, TIDE_MS(4) + RTO_AFTER_HANDSHAKE, h.s, FA, 301, 102, 0);
	th_expect_seg_at(&h, 7, TIDE_MS(5) + RTO_AFTER_HANDSHAKE, h.c, RST, 102, 0, 0);
	th_expect_nsegs(&h, 8);
	EXPECT_STATES(&h, h.s, ST_LISTEN, ST_SYN_RECV, ST_EST, ST_CW, ST_LA, ST_CLOSED);
	th_expect_state_at(&h, h.s, 5, TIDE_MS(6) + RTO_AFTER_HANDSHAKE, ST_LA, ST_CLOSED);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPTimeWaitOverflow), 1);
	assert_int_equal(ctr(h.C, TIDE_MIB_OutRsts), 1);
	assert_int_equal(ctr(h.S, TIDE_MIB_EstabResets), 0);
	tide_close(h.S, lfd);
	th_free(&h);
}

/* ---- LC-K15: tcp_rfc1337 ------------------------------------------------ */

/* LC-K15: tcp_rfc1337 = 0: a RST at RCV.NXT (302) ends the record when it
 * arrives (11 ms), silently and without a counter; the port is free. */
static void test_LC_K15_rst_ends_time_wait(void **state)
{
	(void)state;
	struct th h;
	int lfd;
	client_time_wait(&h, NULL, &lfd);
	th_run_until(&h, TIDE_MS(10));
	assert_int_equal(try_bind_client(&h, 40000), EADDRINUSE);
	th_inject(&h, h.s, 80, 40000, RST, 302, 0, 0, NULL, 0, NULL);
	th_run_until(&h, TIDE_SEC(1));
	th_expect_nsegs(&h, 7); /* the RST, and no answer */
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_TW, ST_CLOSED);
	th_expect_state_at(&h, h.c, 4, TIDE_MS(11), ST_TW, ST_CLOSED);
	assert_int_equal(tw_records(h.C), 0);
	assert_int_equal(try_bind_client(&h, 40000), 0);
	assert_int_equal(ctr(h.C, TIDE_MIB_TW), 1);
	assert_int_equal(ctr(h.C, TIDE_MIB_TWKilled), 0);
	assert_int_equal(ctr(h.C, TIDE_MIB_PAWSTimewait), 0);
	tide_close(h.S, lfd);
	th_free(&h);
}

/* LC-K15: tcp_rfc1337 = 1: the same RST is ignored; the record lives its
 * 60 s. */
static void test_LC_K15_rfc1337_ignores_rst(void **state)
{
	(void)state;
	struct th h;
	int lfd;
	client_time_wait(&h, "net.ipv4.tcp_rfc1337 = 1\n", &lfd);
	th_run_until(&h, TIDE_MS(10));
	th_inject(&h, h.s, 80, 40000, RST, 302, 0, 0, NULL, 0, NULL);
	th_run_until(&h, TW_END - 1);
	th_expect_nsegs(&h, 7);
	assert_int_equal(tw_records(h.C), 1);
	th_run_until(&h, TW_END);
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_TW, ST_CLOSED);
	th_expect_state_at(&h, h.c, 4, TW_END, ST_TW, ST_CLOSED);
	th_expect_nsegs(&h, 7);
	tide_close(h.S, lfd);
	th_free(&h);
}

/* LC-K15: only a RST at exactly RCV.NXT ends a record: one below or above
 * is ignored, unanswered. */
static void test_LC_K15_rst_elsewhere_ignored(void **state)
{
	(void)state;
	struct th h;
	int lfd;
	client_time_wait(&h, NULL, &lfd);
	th_run_until(&h, TIDE_MS(10));
	th_inject(&h, h.s, 80, 40000, RST, 301, 0, 0, NULL, 0, NULL);
	th_inject(&h, h.s, 80, 40000, RST, 303, 0, 0, NULL, 0, NULL);
	th_inject(&h, h.s, 80, 40000, RST | AK, 303, 102, 0, NULL, 0, NULL);
	th_run_until(&h, TW_END - 1);
	th_expect_nsegs(&h, 9);
	assert_int_equal(tw_records(h.C), 1);
	th_run_until(&h, TW_END);
	th_expect_state_at(&h, h.c, 4, TW_END, ST_TW, ST_CLOSED);
	tide_close(h.S, lfd);
	th_free(&h);
}

/* LC-K15, RFC 7323 5.3: a RST with a timestamp older than the record's
 * (whose last one is under 60 s old) fails PAWS and is ignored
 * (PAWSTimewait); one with a newer timestamp ends the record. */
static void test_LC_K15_rst_with_old_timestamp_ignored(void **state)
{
	(void)state;
	struct th h;
	int lfd;
	client_time_wait(&h, NULL, &lfd);
	uint32_t ts = record_ts_recent(&h);
	th_run_until(&h, TIDE_MS(10));
	struct tide_tcp_opts old = ts_opt(ts - 1, 0);
	th_inject(&h, h.s, 80, 40000, RST, 302, 0, 0, NULL, 0, &old);
	th_run_until(&h, TIDE_MS(20));
	th_expect_nsegs(&h, 7);
	assert_int_equal(tw_records(h.C), 1);
	assert_int_equal(ctr(h.C, TIDE_MIB_PAWSTimewait), 1);
	struct tide_tcp_opts newer = ts_opt(ts + 1, 0);
	th_inject(&h, h.s, 80, 40000, RST, 302, 0, 0, NULL, 0, &newer);
	th_run_until(&h, TIDE_MS(30));
	th_expect_nsegs(&h, 8);
	th_expect_state_at(&h, h.c, 4, TIDE_MS(21), ST_TW, ST_CLOSED);
	assert_int_equal(ctr(h.C, TIDE_MIB_PAWSTimewait), 1);
	tide_close(h.S, lfd);
	th_free(&h);
}

/* ---- LC-O02: the counters --------------------------------------------- */

/* LC-O02: Linux 6.x counts TW when the record begins (at 5 ms here), not
 * when it ends; its end counts nothing. */
static void test_LC_O02_tw_counted_when_record_begins(void **state)
{
	(void)state;
	struct th h;
	int lfd;
	client_time_wait(&h, NULL, &lfd);
	assert_int_equal(ctr(h.C, TIDE_MIB_TW), 1);
	assert_int_equal(ctr(h.S, TIDE_MIB_TW), 0);
	th_run_until(&h, TW_END);
	th_expect_state_at(&h, h.c, 4, TW_END, ST_TW, ST_CLOSED);
	assert_int_equal(ctr(h.C, TIDE_MIB_TW), 1);
	assert_int_equal(ctr(h.C, TIDE_MIB_TWKilled), 0);
	assert_int_equal(ctr(h.C, TIDE_MIB_TWRecycled), 0);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPTimeWaitOverflow), 0);
	tide_close(h.S, lfd);
	th_free(&h);
}

/* LC-O02, LC-K16: a record that lives 4 s or less counts TWKilled instead
 * of TW (Linux's __inet_twsk_schedule, there for short FIN_WAIT2
 * records); 5 s counts TW. */
static void test_LC_O02_short_record_counts_twkilled(void **state)
{
	(void)state;
	for (int len = 4; len <= 5; len++) {
		char settings[64];
		snprintf(settings, sizeof(settings), "net.ipv4.tcp_timewait_len = %d\n", len);
		struct th h;
		int lfd;
		client_time_wait(&h, settings, &lfd);
		assert_int_equal(ctr(h.C, TIDE_MIB_TW), len == 5 ? 1 : 0);
		assert_int_equal(ctr(h.C, TIDE_MIB_TWKilled), len == 4 ? 1 : 0);
		th_run_until(&h, TW_START + TIDE_SEC(len));
		th_expect_state_at(&h, h.c, 4, TW_START + TIDE_SEC(len), ST_TW, ST_CLOSED);
		assert_int_equal(ctr(h.C, TIDE_MIB_TW), len == 5 ? 1 : 0);
		assert_int_equal(ctr(h.C, TIDE_MIB_TWKilled), len == 4 ? 1 : 0);
		tide_close(h.S, lfd);
		th_free(&h);
	}
}

/* ---- what a record answers --------------------------------------------- */

/* RFC 7323 5.3 in TIME_WAIT: an ACK with an older timestamp fails PAWS
 * (PAWSTimewait), is answered with the record's ACK (its TSecr unchanged)
 * and restarts 2MSL; a second one within 500 ms restarts 2MSL but gets no
 * ACK (TCPACKSkippedTimeWait); after 500 ms the ACK goes again. */
static void test_rfc7323_old_timestamp_in_time_wait(void **state)
{
	(void)state;
	struct th h;
	int lfd;
	client_time_wait(&h, NULL, &lfd);
	drop_server_rsts(&h);
	uint32_t ts = record_ts_recent(&h);
	struct tide_tcp_opts old = ts_opt(ts - 1, 0);
	tide_time sent[3] = { TIDE_MS(10), TIDE_MS(100), TIDE_MS(600) };
	for (int i = 0; i < 3; i++) {
		th_run_until(&h, sent[i]);
		th_inject(&h, h.s, 80, 40000, AK, 302, 102, 0, NULL, 0, &old);
	}
	th_run_until(&h, TIDE_SEC(1));
	th_expect_seg_at(&h, 6, TIDE_MS(10), h.s, AK, 302, 102, 0);
	th_expect_seg_at(&h, 7, TIDE_MS(11), h.c, AK, 102, 302, 0);
	assert_int_equal(th_seg(&h, 7)->opts.tsecr, ts);
	th_expect_seg_at(&h, 8, TIDE_MS(12), h.s, RST, 302, 0, 0); /* lost */
	th_expect_seg_at(&h, 9, TIDE_MS(100), h.s, AK, 302, 102, 0);
	th_expect_seg_at(&h, 10, TIDE_MS(600), h.s, AK, 302, 102, 0);
	th_expect_seg_at(&h, 11, TIDE_MS(601), h.c, AK, 102, 302, 0);
	th_expect_seg_at(&h, 12, TIDE_MS(602), h.s, RST, 302, 0, 0);
	th_expect_nsegs(&h, 13);
	assert_int_equal(ctr(h.C, TIDE_MIB_PAWSTimewait), 3);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPACKSkippedTimeWait), 1);
	assert_int_equal(ctr(h.C, TIDE_MIB_PAWSEstab), 0);
	/* each one restarted 2MSL: the record ends 60 s after the last */
	th_run_until(&h, TIDE_MS(601) + TIDE_SEC(60) - 1);
	assert_int_equal(tw_records(h.C), 1);
	th_run_until(&h, TIDE_MS(601) + TIDE_SEC(60));
	th_expect_state_at(&h, h.c, 4, TIDE_MS(601) + TIDE_SEC(60), ST_TW, ST_CLOSED);
	tide_close(h.S, lfd);
	th_free(&h);
}

/* Linux: an old SYN (below RCV.NXT, without timestamp) gets the record's
 * ACK, at most once per 500 ms, and does not restart 2MSL (it may be a new
 * connection's); a retransmitted FIN is always ACKed and restarts 2MSL. */
static void test_rfc9293_time_wait_answers_rate_limited(void **state)
{
	(void)state;
	struct th h;
	int lfd;
	client_time_wait(&h, NULL, &lfd);
	drop_server_rsts(&h);
	th_run_until(&h, TIDE_MS(10));
	th_inject(&h, h.s, 80, 40000, SYN, 200, 0, 0, NULL, 0, NULL);
	th_run_until(&h, TIDE_MS(20));
	th_inject(&h, h.s, 80, 40000, SYN, 200, 0, 0, NULL, 0, NULL);
	th_run_until(&h, TIDE_MS(30));
	th_inject(&h, h.s, 80, 40000, FA, 301, 102, 0, NULL, 0, NULL);
	th_run_until(&h, TIDE_MS(40));
	th_inject(&h, h.s, 80, 40000, FA, 301, 102, 0, NULL, 0, NULL);
	th_run_until(&h, TIDE_MS(50));
	th_inject(&h, h.s, 80, 40000, SYN, 200, 0, 0, NULL, 0, NULL);
	th_run_until(&h, TIDE_MS(100));
	th_expect_seg_at(&h, 6, TIDE_MS(10), h.s, SYN, 200, 0, 0);
	th_expect_seg_at(&h, 7, TIDE_MS(11), h.c, AK, 102, 302, 0);
	th_expect_seg_at(&h, 8, TIDE_MS(12), h.s, RST, 302, 0, 0); /* lost */
	th_expect_seg_at(&h, 9, TIDE_MS(20), h.s, SYN, 200, 0, 0);
	th_expect_seg_at(&h, 10, TIDE_MS(30), h.s, FA, 301, 102, 0);
	th_expect_seg_at(&h, 11, TIDE_MS(31), h.c, AK, 102, 302, 0);
	th_expect_seg_at(&h, 12, TIDE_MS(32), h.s, RST, 302, 0, 0);
	th_expect_seg_at(&h, 13, TIDE_MS(40), h.s, FA, 301, 102, 0);
	th_expect_seg_at(&h, 14, TIDE_MS(41), h.c, AK, 102, 302, 0);
	th_expect_seg_at(&h, 15, TIDE_MS(42), h.s, RST, 302, 0, 0);
	th_expect_seg_at(&h, 16, TIDE_MS(50), h.s, SYN, 200, 0, 0);
	th_expect_nsegs(&h, 17);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPACKSkippedTimeWait), 2);
	/* 2MSL from the last FIN (41 ms), not from the SYN at 51 ms */
	th_run_until(&h, TIDE_MS(41) + TIDE_SEC(60));
	th_expect_state_at(&h, h.c, 4, TIDE_MS(41) + TIDE_SEC(60), ST_TW, ST_CLOSED);
	tide_close(h.S, lfd);
	th_free(&h);
}

/* Linux: a SYN above RCV.NXT with no listener on the port (the client's
 * 40000) is ACKed every time, without the rate limit, and 2MSL goes on. */
static void test_rfc1122_higher_syn_without_listener_gets_ack(void **state)
{
	(void)state;
	struct th h;
	int lfd;
	client_time_wait(&h, NULL, &lfd);
	drop_server_rsts(&h);
	th_run_until(&h, TIDE_MS(10));
	th_inject(&h, h.s, 80, 40000, SYN, 5000, 0, 0, NULL, 0, NULL);
	th_run_until(&h, TIDE_MS(20));
	th_inject(&h, h.s, 80, 40000, SYN, 5000, 0, 0, NULL, 0, NULL);
	th_run_until(&h, TIDE_MS(30));
	th_expect_seg_at(&h, 7, TIDE_MS(11), h.c, AK, 102, 302, 0);
	th_expect_seg_at(&h, 8, TIDE_MS(12), h.s, RST, 302, 0, 0); /* lost */
	th_expect_seg_at(&h, 10, TIDE_MS(21), h.c, AK, 102, 302, 0);
	th_expect_seg_at(&h, 11, TIDE_MS(22), h.s, RST, 302, 0, 0);
	th_expect_nsegs(&h, 12);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPACKSkippedTimeWait), 0);
	th_run_until(&h, TW_END);
	th_expect_state_at(&h, h.c, 4, TW_END, ST_TW, ST_CLOSED);
	tide_close(h.S, lfd);
	th_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_LC_K10_overflow_ends_connection_at_once),
		cmocka_unit_test(test_LC_K10_limit_counts_live_records),
		cmocka_unit_test(test_LC_K10_retransmitted_fin_after_overflow_gets_rst),
		cmocka_unit_test(test_LC_K15_rst_ends_time_wait),
		cmocka_unit_test(test_LC_K15_rfc1337_ignores_rst),
		cmocka_unit_test(test_LC_K15_rst_elsewhere_ignored),
		cmocka_unit_test(test_LC_K15_rst_with_old_timestamp_ignored),
		cmocka_unit_test(test_LC_O02_tw_counted_when_record_begins),
		cmocka_unit_test(test_LC_O02_short_record_counts_twkilled),
		cmocka_unit_test(test_rfc7323_old_timestamp_in_time_wait),
		cmocka_unit_test(test_rfc9293_time_wait_answers_rate_limited),
		cmocka_unit_test(test_rfc1122_higher_syn_without_listener_gets_ack),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
