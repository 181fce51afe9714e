/*
 * Retransmission budgets and the four losses of the close (catalogue
 * LC-L01..L04, LC-K02..K04, LC-K17, LC-D06, LC-H06).
 *
 * Linux's limits are time budgets, not counts (tcp_write_timeout): a
 * connection gives up at the first expiry of its retransmission timer
 * where the time since the first transmission of the oldest unacknowledged
 * segment reaches what N retransmissions backed off from the minimum RTO
 * (200 ms; 1 s for SYNs) would take: (2^(N+1) - 1) * 200 ms while the RTO
 * stays under its 120 s cap, plus 120 s per retransmission beyond. N is
 * tcp_retries2 (15: 924.6 s) for a connection with a socket,
 * tcp_orphan_retries (0, meaning 8 while the RTO is below its cap:
 * 102.2 s) once the application closed it, tcp_syn_retries for SYNs.
 * TCP_USER_TIMEOUT replaces the budget with its own time and shortens the
 * last wait to end exactly on it. Giving up sends nothing: the connection
 * is CLOSED, its socket (if any) reports ETIMEDOUT, TCPAbortOnTimeout
 * counts it.
 *
 * Two RTOs are used. With the fixture's 1 ms one way, both ends measured
 * 2 ms during the handshake: RTO = 2 + max(4 * 1, 200) = 202 ms, close to
 * the minimum, so N retransmissions fit the budget ("the seeds' rule").
 * With 150 ms one way (RTT 300 ms): RTO = 300 + max(4 * 150, 200) = 900 ms,
 * and the same budget holds fewer retransmissions (6 instead of 8, 13
 * instead of 15).
 *
 * Client 198.18.0.1:40000 (ISN 100), server 198.18.0.2:80 (ISN 300);
 * segments #0..#2 are the handshake; the client's next byte is 101, the
 * server's 301.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"

#include <errno.h>
#include <string.h>

#define FA (TIDE_TCP_FIN | TIDE_TCP_ACK)
#define PA (TIDE_TCP_PSH | TIDE_TCP_ACK)
#define AK TIDE_TCP_ACK
#define SYN TIDE_TCP_SYN

#define EXPECT_STATES(h, node, ...)                                             \
	do {                                                                    \
		static const int s_[] = { __VA_ARGS__ };                         \
		th_expect_states((h), (node), s_, sizeof(s_) / sizeof(s_[0]));   \
	} while (0)

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

enum {
	ST_EST = TIDE_TCP_ESTABLISHED,
	ST_SYN_SENT = TIDE_TCP_SYN_SENT,
	ST_SYN_RECV = TIDE_TCP_SYN_RECV,
	ST_FW1 = TIDE_TCP_FIN_WAIT1,
	ST_FW2 = TIDE_TCP_FIN_WAIT2,
	ST_TW = TIDE_TCP_TIME_WAIT,
	ST_CLOSED = TIDE_TCP_CLOSE,
	ST_CW = TIDE_TCP_CLOSE_WAIT,
	ST_LA = TIDE_TCP_LAST_ACK,
	ST_LISTEN = TIDE_TCP_LISTEN,
};

/* ---- the budgets, as offsets (ms) from the first transmission --------- */

/* RTO 202 ms, orphan budget (8): 102.2 s. Retransmission k comes at
 * 202 * (2^k - 1) ms; the 9th expiry, at 103222 ms, is past the budget. */
static const unsigned ORPHAN_202[] = { 202, 606, 1414, 3030, 6262, 12726, 25654, 51510 };
#define ORPHAN_202_END 103222u

/* RTO 202 ms, tcp_retries2 = 15: 924.6 s. From the 11th wait on, the RTO
 * is capped at 120 s (202 << 10 > 120000). */
static const unsigned RETRIES2_202[] = { 202,    606,    1414,   3030,   6262,
					 12726,  25654,  51510,  103222, 206646,
					 326646, 446646, 566646, 686646, 806646 };
#define RETRIES2_202_END 926646u

/* RTO 900 ms, orphan budget 102.2 s: the 7th expiry (114300 ms, RTO
 * 57.6 s still below the cap, so "alive" and 8 retries) is past it. */
static const unsigned ORPHAN_900[] = { 900, 2700, 6300, 13500, 27900, 56700 };
#define ORPHAN_900_END 114300u

/* RTO 900 ms, tcp_retries2 = 15: waits 0.9, 1.8, ... 115.2 s, then 120 s. */
static const unsigned RETRIES2_900[] = { 900,    2700,   6300,   13500,  27900,
					 56700,  114300, 229500, 349500, 469500,
					 589500, 709500, 829500 };
#define RETRIES2_900_END 949500u

/* ---- helpers ---------------------------------------------------------- */

static uint64_t ctr(tide_stack *st, enum tide_counter c)
{
	return tide_stack_counter(st, c);
}

/* Client and server with `delay_ms` one way (0: the fixture's 1 ms). */
static void setup(struct th *h, int delay_ms, const char *client_settings,
		  const char *server_settings, int *cfd, int *sfd)
{
	struct th_opts o;
	memset(&o, 0, sizeof(o));
	o.delay = TIDE_MS(delay_ms);
	o.client_settings = client_settings;
	o.server_settings = server_settings;
	th_init(h, &o);
	th_establish(h, cfd, sfd, NULL);
	th_expect_nsegs(h, 3);
}

/* Drops every segment `from` sends whose flags & mask == match, from the
 * nth such segment on. */
static void drop_all(struct th *h, int from, uint8_t mask, uint8_t match, unsigned nth)
{
	struct tide_fault f;
	memset(&f, 0, sizeof(f));
	f.from = from;
	f.flags_mask = mask;
	f.flags_match = match;
	f.nth = nth;
	f.count = 100000;
	f.action = TIDE_FAULT_DROP;
	assert_true(tide_sim_add_fault(h->sim, &f) >= 0);
}

/* Segments first, first + stride, ... are the retransmissions of the same
 * segment at base + offsets_ms[k]. */
static void expect_series(struct th *h, size_t first, size_t stride, tide_time base,
			  const unsigned *offsets_ms, size_t n, int from, uint8_t flags,
			  uint32_t seq, uint32_t ack, size_t len)
{
	for (size_t k = 0; k < n; k++)
		th_expect_seg_at(h, first + k * stride, base + TIDE_MS(offsets_ms[k]), from, flags,
				 seq, ack, len);
}

static void expect_errno_on_recv(tide_stack *st, int fd, int err)
{
	char b[8];
	errno = 0;
	assert_int_equal(tide_recv(st, fd, b, sizeof(b), 0), -1);
	assert_int_equal(errno, err);
}

static void expect_so_error(tide_stack *st, int fd, int err)
{
	int v = -1;
	socklen_t len = sizeof(v);
	assert_int_equal(tide_getsockopt(st, fd, SOL_SOCKET, SO_ERROR, &v, &len), 0);
	assert_int_equal(v, err);
}

static void count_visit(void *ctx, const struct tide_conn_info *ci)
{
	(void)ci;
	(*(size_t *)ctx)++;
}

/* Connections of a stack, listeners included. */
static size_t count_conns(tide_stack *st)
{
	size_t n = 0;
	tide_stack_foreach_conn(st, count_visit, &n);
	return n;
}

/* ---- LC-D06 / LC-K04: tcp_retries2 ------------------------------------ */

/* Data into a dead network at the minimum RTO: 15 retransmissions, the
 * last wait capped at 120 s, give-up at 926.646 s (budget 924.6 s). */
static void test_LC_K04_retries2_default_budget_min_rto(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd;
	setup(&h, 0, NULL, NULL, &cfd, &sfd);
	tide_time t0 = th_now(&h);
	tide_sim_cut_link(h.sim, t0, TIDE_SEC(2000));
	assert_int_equal(tide_send(h.C, cfd, "0123456789", 10, 0), 10);

	th_run_until(&h, t0 + TIDE_MS(RETRIES2_202_END) - 1);
	th_expect_seg_at(&h, 3, t0, h.c, PA, 101, 301, 10);
	expect_series(&h, 4, 1, t0, RETRIES2_202, NELEM(RETRIES2_202), h.c, PA, 101, 301, 10);
	th_expect_nsegs(&h, 4 + NELEM(RETRIES2_202));
	assert_int_equal(tide_sock_state(h.C, cfd), ST_EST);

	th_run_until(&h, TIDE_SEC(2000));
	th_expect_nsegs(&h, 4 + NELEM(RETRIES2_202)); /* gives up silently */
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_CLOSED);
	th_expect_state_at(&h, h.c, 2, t0 + TIDE_MS(RETRIES2_202_END), ST_EST, ST_CLOSED);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPAbortOnTimeout), 1);
	assert_int_equal(ctr(h.C, TIDE_MIB_RetransSegs), 15);
	expect_errno_on_recv(h.C, cfd, ETIMEDOUT);
	assert_int_equal(tide_sock_state(h.S, sfd), ST_EST);
	assert_int_equal(tide_close(h.C, cfd), 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_free(&h);
}

/* The same budget with an RTO of 900 ms holds only 13 retransmissions:
 * the 14th expiry (949.5 s) is past 924.6 s. */
static void test_LC_K04_retries2_default_budget_large_rto(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd;
	setup(&h, 150, NULL, NULL, &cfd, &sfd);
	tide_time t0 = th_now(&h);
	assert_int_equal(t0, TIDE_MS(450));
	tide_sim_cut_link(h.sim, t0, TIDE_SEC(2000));
	assert_int_equal(tide_send(h.C, cfd, "0123456789", 10, 0), 10);

	th_run_until(&h, TIDE_SEC(2000));
	th_expect_seg_at(&h, 3, t0, h.c, PA, 101, 301, 10);
	expect_series(&h, 4, 1, t0, RETRIES2_900, NELEM(RETRIES2_900), h.c, PA, 101, 301, 10);
	th_expect_nsegs(&h, 4 + NELEM(RETRIES2_900));
	th_expect_state_at(&h, h.c, 2, t0 + TIDE_MS(RETRIES2_900_END), ST_EST, ST_CLOSED);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPAbortOnTimeout), 1);
	assert_int_equal(ctr(h.C, TIDE_MIB_RetransSegs), 13);
	expect_errno_on_recv(h.C, cfd, ETIMEDOUT);
	assert_int_equal(tide_close(h.C, cfd), 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_free(&h);
}

/* tcp_retries2 = 5 is a budget of 63 * 200 ms = 12.6 s: 5 retransmissions
 * at RTO 202 ms (give-up at 12.726 s), only 3 at RTO 900 ms (give-up at
 * 13.5 s, the 4th expiry). */
static void test_LC_K04_retries2_setting_min_and_large_rto(void **state)
{
	(void)state;
	static const unsigned at202[] = { 202, 606, 1414, 3030, 6262 };
	static const unsigned at900[] = { 900, 2700, 6300 };
	for (int large = 0; large <= 1; large++) {
		struct th h;
		int cfd, sfd;
		setup(&h, large ? 150 : 0, "net.ipv4.tcp_retries2 = 5\n", NULL, &cfd, &sfd);
		tide_time t0 = th_now(&h);
		tide_sim_cut_link(h.sim, t0, TIDE_SEC(100));
		assert_int_equal(tide_send(h.C, cfd, "abc", 3, 0), 3);
		th_run_until(&h, TIDE_SEC(100));
		const unsigned *at = large ? at900 : at202;
		size_t n = large ? NELEM(at900) : NELEM(at202);
		expect_series(&h, 4, 1, t0, at, n, h.c, PA, 101, 301, 3);
		th_expect_nsegs(&h, 4 + n);
		th_expect_state_at(&h, h.c, 2, t0 + TIDE_MS(large ? 13500 : 12726), ST_EST, ST_CLOSED);
		assert_int_equal(ctr(h.C, TIDE_MIB_TCPAbortOnTimeout), 1);
		assert_int_equal(tide_close(h.C, cfd), 0);
		assert_int_equal(tide_close(h.S, sfd), 0);
		th_free(&h);
	}
}

/* ---- LC-H06 / LC-K03: SYN and SYN-ACK budgets ------------------------- */

/* tcp_syn_retries = 2 with the 4 linear timeouts: the count would allow 6
 * retransmissions, but the budget (2^3 - 1) * 1 s = 7 s ends the attempt
 * at the 6th expiry, 7 s, after 5 (at 1, 2, 3, 4, 5 s) - as Linux 6.18
 * does. */
static void test_LC_K03_syn_retries_time_budget(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o;
	memset(&o, 0, sizeof(o));
	o.client_settings = "net.ipv4.tcp_syn_retries = 2\n";
	th_init(&h, &o);
	tide_sim_cut_link(h.sim, 0, TIDE_SEC(100));
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_until(&h, TIDE_SEC(100));
	static const unsigned at[] = { 1000, 2000, 3000, 4000, 5000 };
	th_expect_seg_at(&h, 0, 0, h.c, SYN, 100, 0, 0);
	expect_series(&h, 1, 1, 0, at, NELEM(at), h.c, SYN, 100, 0, 0);
	th_expect_nsegs(&h, 6);
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_CLOSED);
	th_expect_state_at(&h, h.c, 1, TIDE_SEC(7), ST_SYN_SENT, ST_CLOSED);
	assert_int_equal(ctr(h.C, TIDE_MIB_AttemptFails), 1);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPAbortOnTimeout), 1);
	int err = 0;
	socklen_t len = sizeof(err);
	assert_int_equal(tide_getsockopt(h.C, cfd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	assert_int_equal(err, ETIMEDOUT);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_free(&h);
}

/* tcp_synack_retries = 2: a SYN whose sender never answers gets its
 * SYN-ACK again at 1 s and 3 s (1 s doubled), and the request is dropped
 * at 7 s. The SYN comes from an address no node owns, so nothing answers. */
static void test_LC_K03_synack_retries_setting(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o;
	memset(&o, 0, sizeof(o));
	o.server_settings = "net.ipv4.tcp_synack_retries = 2\n";
	th_init(&h, &o);
	int lfd = th_listen(&h, h.s, 80, 16);
	uint8_t pkt[128];
	struct tide_tcp_opts opt;
	memset(&opt, 0, sizeof(opt));
	opt.present = TIDE_OPT_MSS;
	opt.mss = 1460;
	uint32_t ghost = 0xc6120009u; /* 198.18.0.9 */
	size_t tl = tide_tcp_build(pkt + TIDE_IPV4_HLEN, sizeof(pkt) - TIDE_IPV4_HLEN, ghost,
				   TH_SERVER_ADDR, 5555, 80, 7000, 0, SYN, 65535, &opt, NULL, 0);
	size_t il = tide_ipv4_build(pkt, sizeof(pkt), ghost, TH_SERVER_ADDR, TIDE_IPPROTO_TCP,
				    (uint16_t)tl, 64, 1, true);
	tide_sim_send(h.sim, h.c, pkt, il + tl);
	th_run_until(&h, TIDE_SEC(30));
	th_expect_seg_at(&h, 0, 0, h.c, SYN, 7000, 0, 0);
	th_expect_seg_at(&h, 1, TIDE_MS(1), h.s, SYN | AK, 300, 7001, 0);
	th_expect_seg_at(&h, 2, TIDE_MS(1) + TIDE_SEC(1), h.s, SYN | AK, 300, 7001, 0);
	th_expect_seg_at(&h, 3, TIDE_MS(1) + TIDE_SEC(3), h.s, SYN | AK, 300, 7001, 0);
	th_expect_nsegs(&h, 4);
	EXPECT_STATES(&h, h.s, ST_LISTEN, ST_SYN_RECV, ST_CLOSED);
	th_expect_state_at(&h, h.s, 2, TIDE_MS(1) + TIDE_SEC(7), ST_SYN_RECV, ST_CLOSED);
	assert_int_equal(ctr(h.S, TIDE_MIB_RetransSegs), 2);
	assert_int_equal(count_conns(h.S), 1); /* the listener alone */
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* ---- LC-L01: the first FIN is lost ------------------------------------ */

/* close(), every FIN of the client lost, RTO 202 ms: the orphan resends
 * its FIN 8 times and is destroyed at 103.222 s; the server never heard
 * a FIN and stays ESTABLISHED. */
static void test_LC_L01_first_fin_lost_close_min_rto(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd;
	setup(&h, 0, NULL, NULL, &cfd, &sfd);
	tide_time t0 = th_now(&h);
	drop_all(&h, h.c, TIDE_TCP_FIN, TIDE_TCP_FIN, 1);
	assert_int_equal(tide_close(h.C, cfd), 0);

	th_run_until(&h, t0 + TIDE_MS(ORPHAN_202_END) - 1);
	th_expect_seg_at(&h, 3, t0, h.c, FA, 101, 301, 0);
	expect_series(&h, 4, 1, t0, ORPHAN_202, NELEM(ORPHAN_202), h.c, FA, 101, 301, 0);
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1);
	th_run_until(&h, TIDE_SEC(1000));
	th_expect_nsegs(&h, 12);
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_CLOSED);
	th_expect_state_at(&h, h.c, 3, t0 + TIDE_MS(ORPHAN_202_END), ST_FW1, ST_CLOSED);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPAbortOnTimeout), 1);
	assert_int_equal(ctr(h.C, TIDE_MIB_RetransSegs), 8);
	assert_int_equal(count_conns(h.C), 0);
	assert_int_equal(tide_sock_state(h.S, sfd), ST_EST);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_free(&h);
}

/* close() with RTO 900 ms: the same 102.2 s budget holds 6
 * retransmissions; the orphan is destroyed at the 7th expiry, 114.3 s
 * after its FIN. */
static void test_LC_L01_first_fin_lost_close_large_rto(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd;
	setup(&h, 150, NULL, NULL, &cfd, &sfd);
	tide_time t0 = th_now(&h);
	drop_all(&h, h.c, TIDE_TCP_FIN, TIDE_TCP_FIN, 1);
	assert_int_equal(tide_close(h.C, cfd), 0);

	th_run_until(&h, TIDE_SEC(1000));
	th_expect_seg_at(&h, 3, t0, h.c, FA, 101, 301, 0);
	expect_series(&h, 4, 1, t0, ORPHAN_900, NELEM(ORPHAN_900), h.c, FA, 101, 301, 0);
	th_expect_nsegs(&h, 10);
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_CLOSED);
	th_expect_state_at(&h, h.c, 3, t0 + TIDE_MS(ORPHAN_900_END), ST_FW1, ST_CLOSED);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPAbortOnTimeout), 1);
	assert_int_equal(ctr(h.C, TIDE_MIB_RetransSegs), 6);
	assert_int_equal(tide_sock_state(h.S, sfd), ST_EST);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_free(&h);
}

/* shutdown(SHUT_WR): the socket is still the application's, so the budget
 * is tcp_retries2's: 15 retransmissions, ETIMEDOUT at 926.646 s. */
static void test_LC_L01_first_fin_lost_shutdown(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd;
	setup(&h, 0, NULL, NULL, &cfd, &sfd);
	tide_time t0 = th_now(&h);
	drop_all(&h, h.c, TIDE_TCP_FIN, TIDE_TCP_FIN, 1);
	assert_int_equal(tide_shutdown(h.C, cfd, SHUT_WR), 0);

	th_run_until(&h, TIDE_SEC(2000));
	th_expect_seg_at(&h, 3, t0, h.c, FA, 101, 301, 0);
	expect_series(&h, 4, 1, t0, RETRIES2_202, NELEM(RETRIES2_202), h.c, FA, 101, 301, 0);
	th_expect_nsegs(&h, 19);
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_CLOSED);
	th_expect_state_at(&h, h.c, 3, t0 + TIDE_MS(RETRIES2_202_END), ST_FW1, ST_CLOSED);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPAbortOnTimeout), 1);
	expect_errno_on_recv(h.C, cfd, ETIMEDOUT);
	assert_int_equal(tide_sock_state(h.S, sfd), ST_EST);
	assert_int_equal(tide_close(h.C, cfd), 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_free(&h);
}

/* shutdown(SHUT_WR) with RTO 900 ms: 13 retransmissions, ETIMEDOUT at
 * 949.5 s. */
static void test_LC_L01_first_fin_lost_shutdown_large_rto(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd;
	setup(&h, 150, NULL, NULL, &cfd, &sfd);
	tide_time t0 = th_now(&h);
	drop_all(&h, h.c, TIDE_TCP_FIN, TIDE_TCP_FIN, 1);
	assert_int_equal(tide_shutdown(h.C, cfd, SHUT_WR), 0);

	th_run_until(&h, TIDE_SEC(2000));
	expect_series(&h, 4, 1, t0, RETRIES2_900, NELEM(RETRIES2_900), h.c, FA, 101, 301, 0);
	th_expect_nsegs(&h, 17);
	th_expect_state_at(&h, h.c, 3, t0 + TIDE_MS(RETRIES2_900_END), ST_FW1, ST_CLOSED);
	expect_errno_on_recv(h.C, cfd, ETIMEDOUT);
	assert_int_equal(tide_close(h.C, cfd), 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_free(&h);
}

/* tcp_orphan_retries = 3: budget 15 * 200 ms = 3 s, so 3 retransmissions
 * and the end at the 4th expiry (3.030 s). */
static void test_LC_K02_orphan_retries_setting(void **state)
{
	(void)state;
	static const unsigned at[] = { 202, 606, 1414 };
	struct th h;
	int cfd, sfd;
	setup(&h, 0, "net.ipv4.tcp_orphan_retries = 3\n", NULL, &cfd, &sfd);
	tide_time t0 = th_now(&h);
	drop_all(&h, h.c, TIDE_TCP_FIN, TIDE_TCP_FIN, 1);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_until(&h, TIDE_SEC(100));
	expect_series(&h, 4, 1, t0, at, NELEM(at), h.c, FA, 101, 301, 0);
	th_expect_nsegs(&h, 7);
	th_expect_state_at(&h, h.c, 3, t0 + TIDE_MS(3030), ST_FW1, ST_CLOSED);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPAbortOnTimeout), 1);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_free(&h);
}

/* Linux's "alive" rule: tcp_orphan_retries 0 means 8 only while the
 * (backed-off) RTO is below its cap. With tcp_rto_max_ms = 1000 the RTO
 * reaches the cap at the 4th expiry (202 << 3 > 1000): the orphan is no
 * longer alive, its budget drops to 0 retransmissions and it ends there,
 * at 2.414 s, after 3 retransmissions (with 8 it would go on to 7.4 s). */
static void test_LC_K02_orphan_not_alive_at_max_rto(void **state)
{
	(void)state;
	static const unsigned at[] = { 202, 606, 1414 };
	struct th h;
	int cfd, sfd;
	setup(&h, 0, "net.ipv4.tcp_rto_max_ms = 1000\n", NULL, &cfd, &sfd);
	tide_time t0 = th_now(&h);
	drop_all(&h, h.c, TIDE_TCP_FIN, TIDE_TCP_FIN, 1);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_until(&h, TIDE_SEC(100));
	expect_series(&h, 4, 1, t0, at, NELEM(at), h.c, FA, 101, 301, 0);
	th_expect_nsegs(&h, 7);
	th_expect_state_at(&h, h.c, 3, t0 + TIDE_MS(2414), ST_FW1, ST_CLOSED);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPAbortOnTimeout), 1);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_free(&h);
}

/* ---- LC-L02: the ACK of the FIN is lost ------------------------------- */

/* The server's ACKs never arrive. It is in CLOSE_WAIT and answers every
 * retransmitted FIN with an ACK 1 ms later (its first at the next tick, 5 ms:
 * no data had started its 40 ms delayed-ACK timeout);
 * the client cannot tell this from LC-L01 and ends the same way: with
 * close(), 8 retransmissions and CLOSED at 103.225 s. */
static void test_LC_L02_fin_ack_lost_close_min_rto(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd;
	setup(&h, 0, NULL, NULL, &cfd, &sfd);
	tide_time t0 = th_now(&h);
	drop_all(&h, h.s, 0xff, AK, 1);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_until(&h, TIDE_SEC(1000));

	th_expect_seg_at(&h, 3, t0, h.c, FA, 101, 301, 0);
	th_expect_seg_at(&h, 4, TIDE_MS(5), h.s, AK, 301, 102, 0);
	expect_series(&h, 5, 2, t0, ORPHAN_202, NELEM(ORPHAN_202), h.c, FA, 101, 301, 0);
	expect_series(&h, 6, 2, t0 + TIDE_MS(1), ORPHAN_202, NELEM(ORPHAN_202), h.s, AK, 301,
		      102, 0);
	th_expect_nsegs(&h, 21);
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_CLOSED);
	th_expect_state_at(&h, h.c, 3, t0 + TIDE_MS(ORPHAN_202_END), ST_FW1, ST_CLOSED);
	EXPECT_STATES(&h, h.s, ST_LISTEN, ST_SYN_RECV, ST_EST, ST_CW);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPAbortOnTimeout), 1);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_free(&h);
}

/* The same at RTO 900 ms: 6 retransmissions, CLOSED 114.3 s after the
 * FIN; the server's first ACK leaves at the next tick after the FIN reached
 * it. */
static void test_LC_L02_fin_ack_lost_close_large_rto(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd;
	setup(&h, 150, NULL, NULL, &cfd, &sfd);
	tide_time t0 = th_now(&h);
	drop_all(&h, h.s, 0xff, AK, 1);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_until(&h, TIDE_SEC(1000));

	th_expect_seg_at(&h, 4, t0 + TIDE_MS(151), h.s, AK, 301, 102, 0);
	expect_series(&h, 5, 2, t0, ORPHAN_900, NELEM(ORPHAN_900), h.c, FA, 101, 301, 0);
	expect_series(&h, 6, 2, t0 + TIDE_MS(150), ORPHAN_900, NELEM(ORPHAN_900), h.s, AK, 301,
		      102, 0);
	th_expect_nsegs(&h, 17);
	th_expect_state_at(&h, h.c, 3, t0 + TIDE_MS(ORPHAN_900_END), ST_FW1, ST_CLOSED);
	EXPECT_STATES(&h, h.s, ST_LISTEN, ST_SYN_RECV, ST_EST, ST_CW);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_free(&h);
}

/* shutdown(SHUT_WR): tcp_retries2's budget, ETIMEDOUT at 926.646 s, the
 * server still in CLOSE_WAIT. */
static void test_LC_L02_fin_ack_lost_shutdown(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd;
	setup(&h, 0, NULL, NULL, &cfd, &sfd);
	tide_time t0 = th_now(&h);
	drop_all(&h, h.s, 0xff, AK, 1);
	assert_int_equal(tide_shutdown(h.C, cfd, SHUT_WR), 0);
	th_run_until(&h, TIDE_SEC(2000));

	expect_series(&h, 5, 2, t0, RETRIES2_202, NELEM(RETRIES2_202), h.c, FA, 101, 301, 0);
	expect_series(&h, 6, 2, t0 + TIDE_MS(1), RETRIES2_202, NELEM(RETRIES2_202), h.s, AK,
		      301, 102, 0);
	th_expect_nsegs(&h, 35);
	th_expect_state_at(&h, h.c, 3, t0 + TIDE_MS(RETRIES2_202_END), ST_FW1, ST_CLOSED);
	expect_errno_on_recv(h.C, cfd, ETIMEDOUT);
	EXPECT_STATES(&h, h.s, ST_LISTEN, ST_SYN_RECV, ST_EST, ST_CW);
	assert_int_equal(tide_close(h.C, cfd), 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_free(&h);
}

/* ---- LC-L03: the peer's FIN is lost ----------------------------------- */

/* Only the first FIN of the server is lost: the client, orphaned in
 * FIN_WAIT_2, gets the retransmission 202 ms later, ACKs it and enters
 * TIME_WAIT; the server closes on that ACK. */
static void test_LC_L03_peer_fin_lost_once_close(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd;
	setup(&h, 0, NULL, NULL, &cfd, &sfd);
	struct tide_fault f;
	memset(&f, 0, sizeof(f));
	f.from = h.s;
	f.flags_mask = TIDE_TCP_FIN;
	f.flags_match = TIDE_TCP_FIN;
	f.nth = 1;
	f.count = 1;
	f.action = TIDE_FAULT_DROP;
	assert_true(tide_sim_add_fault(h.sim, &f) >= 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_until(&h, TIDE_MS(100));
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_run_until(&h, TIDE_SEC(100));

	th_expect_seg_at(&h, 4, TIDE_MS(5), h.s, AK, 301, 102, 0);
	th_expect_seg_at(&h, 5, TIDE_MS(100), h.s, FA, 301, 102, 0);
	th_expect_seg_at(&h, 6, TIDE_MS(302), h.s, FA, 301, 102, 0);
	th_expect_seg_at(&h, 7, TIDE_MS(303), h.c, AK, 102, 302, 0);
	th_expect_nsegs(&h, 8);
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_FW2, ST_TW, ST_CLOSED);
	th_expect_state_at(&h, h.c, 3, TIDE_MS(6), ST_FW1, ST_FW2);
	th_expect_state_at(&h, h.c, 4, TIDE_MS(303), ST_FW2, ST_TW);
	th_expect_state_at(&h, h.c, 5, TIDE_MS(303) + TIDE_SEC(60), ST_TW, ST_CLOSED);
	EXPECT_STATES(&h, h.s, ST_LISTEN, ST_SYN_RECV, ST_EST, ST_CW, ST_LA, ST_CLOSED);
	th_expect_state_at(&h, h.s, 5, TIDE_MS(304), ST_LA, ST_CLOSED);
	assert_int_equal(ctr(h.S, TIDE_MIB_RetransSegs), 1);
	th_free(&h);
}

/* Every FIN of the server is lost. The orphaned client leaves FIN_WAIT_2
 * after tcp_fin_timeout (60 s from 6 ms) without a segment; the server,
 * orphaned in LAST_ACK, resends its FIN 8 times and gives up at
 * 100 ms + 103.222 s. */
static void test_LC_L03_peer_fin_lost_close_min_rto(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd;
	setup(&h, 0, NULL, NULL, &cfd, &sfd);
	drop_all(&h, h.s, TIDE_TCP_FIN, TIDE_TCP_FIN, 1);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_until(&h, TIDE_MS(100));
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_run_until(&h, TIDE_SEC(1000));

	th_expect_seg_at(&h, 5, TIDE_MS(100), h.s, FA, 301, 102, 0);
	expect_series(&h, 6, 1, TIDE_MS(100), ORPHAN_202, NELEM(ORPHAN_202), h.s, FA, 301, 102,
		      0);
	th_expect_nsegs(&h, 14);
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_FW2, ST_CLOSED);
	th_expect_state_at(&h, h.c, 4, TIDE_MS(6) + TIDE_SEC(60), ST_FW2, ST_CLOSED);
	EXPECT_STATES(&h, h.s, ST_LISTEN, ST_SYN_RECV, ST_EST, ST_CW, ST_LA, ST_CLOSED);
	th_expect_state_at(&h, h.s, 5, TIDE_MS(100) + TIDE_MS(ORPHAN_202_END), ST_LA, ST_CLOSED);
	assert_int_equal(ctr(h.S, TIDE_MIB_TCPAbortOnTimeout), 1);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPAbortOnTimeout), 0);
	assert_int_equal(count_conns(h.C), 0);
	th_free(&h);
}

/* The same at RTO 900 ms: the server resends 6 times and gives up 114.3 s
 * after its FIN; the client's FIN_WAIT_2 still lasts 60 s (3.5 RTO =
 * 3.15 s is less). */
static void test_LC_L03_peer_fin_lost_close_large_rto(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd;
	setup(&h, 150, NULL, NULL, &cfd, &sfd);
	drop_all(&h, h.s, TIDE_TCP_FIN, TIDE_TCP_FIN, 1);
	assert_int_equal(tide_close(h.C, cfd), 0); /* 450 ms */
	th_run_until(&h, TIDE_MS(1000));
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_run_until(&h, TIDE_SEC(1000));

	th_expect_seg_at(&h, 4, TIDE_MS(601), h.s, AK, 301, 102, 0);
	th_expect_seg_at(&h, 5, TIDE_MS(1000), h.s, FA, 301, 102, 0);
	expect_series(&h, 6, 1, TIDE_MS(1000), ORPHAN_900, NELEM(ORPHAN_900), h.s, FA, 301, 102,
		      0);
	th_expect_nsegs(&h, 12);
	th_expect_state_at(&h, h.c, 3, TIDE_MS(751), ST_FW1, ST_FW2);
	th_expect_state_at(&h, h.c, 4, TIDE_MS(751) + TIDE_SEC(60), ST_FW2, ST_CLOSED);
	th_expect_state_at(&h, h.s, 5, TIDE_MS(1000) + TIDE_MS(ORPHAN_900_END), ST_LA, ST_CLOSED);
	assert_int_equal(ctr(h.S, TIDE_MIB_TCPAbortOnTimeout), 1);
	th_free(&h);
}

/* shutdown(SHUT_WR): the client is not orphaned, so tcp_fin_timeout does
 * not apply: long after the server gave up it is still in FIN_WAIT_2 with
 * no timer. Its close() then makes it an orphan, which lasts 60 s more. */
static void test_LC_L03_peer_fin_lost_shutdown(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd;
	setup(&h, 0, NULL, NULL, &cfd, &sfd);
	drop_all(&h, h.s, TIDE_TCP_FIN, TIDE_TCP_FIN, 1);
	assert_int_equal(tide_shutdown(h.C, cfd, SHUT_WR), 0);
	th_run_until(&h, TIDE_MS(100));
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_run_until(&h, TIDE_SEC(3000));

	th_expect_nsegs(&h, 14);
	th_expect_state_at(&h, h.s, 5, TIDE_MS(100) + TIDE_MS(ORPHAN_202_END), ST_LA, ST_CLOSED);
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_FW2);
	assert_int_equal(tide_sock_state(h.C, cfd), ST_FW2);
	assert_int_equal(tide_stack_next_timer(h.C), TIDE_TIME_NEVER);

	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_until(&h, TIDE_SEC(3000) + TIDE_SEC(60) - 1);
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_FW2);
	th_run_until(&h, TIDE_SEC(3100));
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_FW2, ST_CLOSED);
	th_expect_state_at(&h, h.c, 4, TIDE_SEC(3060), ST_FW2, ST_CLOSED);
	th_expect_nsegs(&h, 14);
	th_free(&h);
}

/* ---- LC-L04: the last ACK is lost ------------------------------------- */

/* Every ACK of the client after the handshake is lost. Each FIN the
 * server resends reaches the client's TIME_WAIT, which ACKs it again and
 * starts its 60 s over; the server, orphaned in LAST_ACK, gives up after
 * its 8 retransmissions; the client's TIME_WAIT ends 60 s after the last
 * FIN it saw. */
static void test_LC_L04_last_ack_lost_close(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd;
	setup(&h, 0, NULL, NULL, &cfd, &sfd);
	drop_all(&h, h.c, 0xff, AK, 1);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_until(&h, TIDE_MS(100));
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_run_until(&h, TIDE_SEC(1000));

	th_expect_seg_at(&h, 5, TIDE_MS(100), h.s, FA, 301, 102, 0);
	th_expect_seg_at(&h, 6, TIDE_MS(101), h.c, AK, 102, 302, 0);
	expect_series(&h, 7, 2, TIDE_MS(100), ORPHAN_202, NELEM(ORPHAN_202), h.s, FA, 301, 102,
		      0);
	expect_series(&h, 8, 2, TIDE_MS(101), ORPHAN_202, NELEM(ORPHAN_202), h.c, AK, 102, 302,
		      0);
	th_expect_nsegs(&h, 23);
	tide_time last_fin = TIDE_MS(101) + TIDE_MS(ORPHAN_202[NELEM(ORPHAN_202) - 1]);
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_FW2, ST_TW, ST_CLOSED);
	th_expect_state_at(&h, h.c, 4, TIDE_MS(101), ST_FW2, ST_TW);
	th_expect_state_at(&h, h.c, 5, last_fin + TIDE_SEC(60), ST_TW, ST_CLOSED);
	EXPECT_STATES(&h, h.s, ST_LISTEN, ST_SYN_RECV, ST_EST, ST_CW, ST_LA, ST_CLOSED);
	th_expect_state_at(&h, h.s, 5, TIDE_MS(100) + TIDE_MS(ORPHAN_202_END), ST_LA, ST_CLOSED);
	assert_int_equal(ctr(h.S, TIDE_MIB_TCPAbortOnTimeout), 1);
	assert_int_equal(ctr(h.C, TIDE_MIB_OutRsts), 0);
	th_free(&h);
}

/* Both ends used shutdown(SHUT_WR). The server keeps its socket in
 * LAST_ACK, so its budget is tcp_retries2's; but once its retransmissions
 * are more than 60 s apart, the client's TIME_WAIT (restarted by the 9th,
 * at 103.323 s) is over when the 10th comes (206.746 s): that FIN meets no
 * connection and gets a RST (LC-C09), which ends the server's LAST_ACK
 * with ECONNRESET before its budget would. */
static void test_LC_L04_last_ack_lost_shutdown(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd;
	setup(&h, 0, NULL, NULL, &cfd, &sfd);
	drop_all(&h, h.c, 0xff, AK, 1);
	assert_int_equal(tide_shutdown(h.C, cfd, SHUT_WR), 0);
	th_run_until(&h, TIDE_MS(100));
	assert_int_equal(tide_shutdown(h.S, sfd, SHUT_WR), 0);
	th_run_until(&h, TIDE_SEC(2000));

	th_expect_seg_at(&h, 5, TIDE_MS(100), h.s, FA, 301, 102, 0);
	th_expect_seg_at(&h, 6, TIDE_MS(101), h.c, AK, 102, 302, 0);
	expect_series(&h, 7, 2, TIDE_MS(100), RETRIES2_202, 9, h.s, FA, 301, 102, 0);
	expect_series(&h, 8, 2, TIDE_MS(101), RETRIES2_202, 9, h.c, AK, 102, 302, 0);
	th_expect_seg_at(&h, 25, TIDE_MS(100) + TIDE_MS(RETRIES2_202[9]), h.s, FA, 301, 102, 0);
	th_expect_seg_at(&h, 26, TIDE_MS(101) + TIDE_MS(RETRIES2_202[9]), h.c, TIDE_TCP_RST, 102,
			 0, 0);
	th_expect_nsegs(&h, 27);
	tide_time last_fin = TIDE_MS(101) + TIDE_MS(RETRIES2_202[8]);
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_FW2, ST_TW, ST_CLOSED);
	th_expect_state_at(&h, h.c, 4, TIDE_MS(101), ST_FW2, ST_TW);
	th_expect_state_at(&h, h.c, 5, last_fin + TIDE_SEC(60), ST_TW, ST_CLOSED);
	th_expect_state_at(&h, h.s, 5, TIDE_MS(102) + TIDE_MS(RETRIES2_202[9]), ST_LA, ST_CLOSED);
	expect_so_error(h.S, sfd, ECONNRESET);
	assert_int_equal(ctr(h.S, TIDE_MIB_TCPAbortOnTimeout), 0);
	assert_int_equal(ctr(h.C, TIDE_MIB_OutRsts), 1);
	assert_int_equal(tide_close(h.C, cfd), 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_free(&h);
}

/* ---- LC-K17: TCP_USER_TIMEOUT ----------------------------------------- */

static void set_user_timeout(tide_stack *st, int fd, int ms)
{
	assert_int_equal(tide_setsockopt(st, fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof(ms)),
			 0);
	int v = -1;
	socklen_t len = sizeof(v);
	assert_int_equal(tide_getsockopt(st, fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, &len), 0);
	assert_int_equal(v, ms);
}

/* 1000 ms: retransmissions at 202 and 606 ms; the next wait (808 ms) is cut
 * to the 394 ms left, and the connection ends exactly 1 s after the data
 * was first sent (Linux's tcp_clamp_rto_to_user_timeout). */
static void test_LC_K17_user_timeout_ends_retransmission(void **state)
{
	(void)state;
	static const unsigned at[] = { 202, 606 };
	struct th h;
	int cfd, sfd;
	setup(&h, 0, NULL, NULL, &cfd, &sfd);
	set_user_timeout(h.C, cfd, 1000);
	tide_time t0 = th_now(&h);
	tide_sim_cut_link(h.sim, t0, TIDE_SEC(100));
	assert_int_equal(tide_send(h.C, cfd, "abc", 3, 0), 3);
	th_run_until(&h, TIDE_SEC(100));
	expect_series(&h, 4, 1, t0, at, NELEM(at), h.c, PA, 101, 301, 3);
	th_expect_nsegs(&h, 6);
	th_expect_state_at(&h, h.c, 2, t0 + TIDE_MS(1000), ST_EST, ST_CLOSED);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPAbortOnTimeout), 1);
	expect_errno_on_recv(h.C, cfd, ETIMEDOUT);
	assert_int_equal(tide_close(h.C, cfd), 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_free(&h);
}

/* It replaces tcp_retries2 rather than shortening it: with
 * tcp_retries2 = 3 (budget 3 s) and 10 s of user timeout, the connection
 * goes on retransmitting (5 times) and ends at 10 s. */
static void test_LC_K17_user_timeout_replaces_retries2(void **state)
{
	(void)state;
	static const unsigned at[] = { 202, 606, 1414, 3030, 6262 };
	struct th h;
	int cfd, sfd;
	setup(&h, 0, "net.ipv4.tcp_retries2 = 3\n", NULL, &cfd, &sfd);
	set_user_timeout(h.C, cfd, 10000);
	tide_time t0 = th_now(&h);
	tide_sim_cut_link(h.sim, t0, TIDE_SEC(100));
	assert_int_equal(tide_send(h.C, cfd, "abc", 3, 0), 3);
	th_run_until(&h, TIDE_SEC(100));
	expect_series(&h, 4, 1, t0, at, NELEM(at), h.c, PA, 101, 301, 3);
	th_expect_nsegs(&h, 9);
	th_expect_state_at(&h, h.c, 2, t0 + TIDE_SEC(10), ST_EST, ST_CLOSED);
	assert_int_equal(tide_close(h.C, cfd), 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_free(&h);
}

/* Shorter than the RTO: the first RTO (202 ms) is not shortened; at it the
 * data goes again, the time left is already spent, and the connection
 * ends one tick (1 ms) later. */
static void test_LC_K17_user_timeout_shorter_than_rto(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd;
	setup(&h, 0, NULL, NULL, &cfd, &sfd);
	set_user_timeout(h.C, cfd, 100);
	tide_time t0 = th_now(&h);
	tide_sim_cut_link(h.sim, t0, TIDE_SEC(100));
	assert_int_equal(tide_send(h.C, cfd, "abc", 3, 0), 3);
	th_run_until(&h, TIDE_SEC(100));
	th_expect_seg_at(&h, 4, t0 + TIDE_MS(202), h.c, PA, 101, 301, 3);
	th_expect_nsegs(&h, 5);
	th_expect_state_at(&h, h.c, 2, t0 + TIDE_MS(203), ST_EST, ST_CLOSED);
	assert_int_equal(tide_close(h.C, cfd), 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_free(&h);
}

/* It also bounds connect(): set before connect(), 2500 ms gives SYNs at
 * 0, 1 and 2 s and ETIMEDOUT at 2.5 s (as Linux 6.18 does). */
static void test_LC_K17_user_timeout_bounds_connect(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	tide_sim_cut_link(h.sim, 0, TIDE_SEC(100));
	int fd = tide_socket(h.C, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(fd >= 0);
	set_user_timeout(h.C, fd, 2500);
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(80);
	sin.sin_addr.s_addr = htonl(TH_SERVER_ADDR);
	assert_int_equal(tide_connect(h.C, fd, (struct sockaddr *)&sin, sizeof(sin)), -1);
	assert_int_equal(errno, EINPROGRESS);
	th_run_until(&h, TIDE_SEC(100));
	th_expect_seg_at(&h, 0, 0, h.c, SYN, 100, 0, 0);
	th_expect_seg_at(&h, 1, TIDE_SEC(1), h.c, SYN, 100, 0, 0);
	th_expect_seg_at(&h, 2, TIDE_SEC(2), h.c, SYN, 100, 0, 0);
	th_expect_nsegs(&h, 3);
	th_expect_state_at(&h, h.c, 1, TIDE_MS(2500), ST_SYN_SENT, ST_CLOSED);
	int err = 0;
	socklen_t len = sizeof(err);
	assert_int_equal(tide_getsockopt(h.C, fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	assert_int_equal(err, ETIMEDOUT);
	assert_int_equal(tide_close(h.C, fd), 0);
	th_free(&h);
}

/* An orphan keeps its user timeout: close() with 2000 ms ends the FIN's
 * retransmissions at 2 s instead of the orphan budget's 103 s. */
static void test_LC_K17_user_timeout_applies_to_orphan(void **state)
{
	(void)state;
	static const unsigned at[] = { 202, 606, 1414 };
	struct th h;
	int cfd, sfd;
	setup(&h, 0, NULL, NULL, &cfd, &sfd);
	set_user_timeout(h.C, cfd, 2000);
	tide_time t0 = th_now(&h);
	drop_all(&h, h.c, TIDE_TCP_FIN, TIDE_TCP_FIN, 1);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_until(&h, TIDE_SEC(100));
	expect_series(&h, 4, 1, t0, at, NELEM(at), h.c, FA, 101, 301, 0);
	th_expect_nsegs(&h, 7);
	th_expect_state_at(&h, h.c, 3, t0 + TIDE_SEC(2), ST_FW1, ST_CLOSED);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_free(&h);
}

/* The option's API: EINVAL for a negative value; 0 turns it off; a
 * listener's value is inherited by the accepted socket. */
static void test_LC_K17_user_timeout_option_api(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int fd = tide_socket(h.C, AF_INET, SOCK_STREAM, 0);
	int v = -1;
	errno = 0;
	assert_int_equal(tide_setsockopt(h.C, fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, sizeof(v)),
			 -1);
	assert_int_equal(errno, EINVAL);
	set_user_timeout(h.C, fd, 0);
	set_user_timeout(h.C, fd, 1234);
	assert_int_equal(tide_close(h.C, fd), 0);

	int lfd = th_listen(&h, h.s, 80, 8);
	set_user_timeout(h.S, lfd, 4321);
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_until(&h, TIDE_MS(10));
	int sfd = th_accept(&h, h.s, lfd);
	socklen_t len = sizeof(v);
	assert_int_equal(tide_getsockopt(h.S, sfd, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, &len), 0);
	assert_int_equal(v, 4321);
	assert_int_equal(tide_close(h.C, cfd), 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_LC_K04_retries2_default_budget_min_rto),
		cmocka_unit_test(test_LC_K04_retries2_default_budget_large_rto),
		cmocka_unit_test(test_LC_K04_retries2_setting_min_and_large_rto),
		cmocka_unit_test(test_LC_K03_syn_retries_time_budget),
		cmocka_unit_test(test_LC_K03_synack_retries_setting),
		cmocka_unit_test(test_LC_L01_first_fin_lost_close_min_rto),
		cmocka_unit_test(test_LC_L01_first_fin_lost_close_large_rto),
		cmocka_unit_test(test_LC_L01_first_fin_lost_shutdown),
		cmocka_unit_test(test_LC_L01_first_fin_lost_shutdown_large_rto),
		cmocka_unit_test(test_LC_K02_orphan_retries_setting),
		cmocka_unit_test(test_LC_K02_orphan_not_alive_at_max_rto),
		cmocka_unit_test(test_LC_L02_fin_ack_lost_close_min_rto),
		cmocka_unit_test(test_LC_L02_fin_ack_lost_close_large_rto),
		cmocka_unit_test(test_LC_L02_fin_ack_lost_shutdown),
		cmocka_unit_test(test_LC_L03_peer_fin_lost_once_close),
		cmocka_unit_test(test_LC_L03_peer_fin_lost_close_min_rto),
		cmocka_unit_test(test_LC_L03_peer_fin_lost_close_large_rto),
		cmocka_unit_test(test_LC_L03_peer_fin_lost_shutdown),
		cmocka_unit_test(test_LC_L04_last_ack_lost_close),
		cmocka_unit_test(test_LC_L04_last_ack_lost_shutdown),
		cmocka_unit_test(test_LC_K17_user_timeout_ends_retransmission),
		cmocka_unit_test(test_LC_K17_user_timeout_replaces_retries2),
		cmocka_unit_test(test_LC_K17_user_timeout_shorter_than_rto),
		cmocka_unit_test(test_LC_K17_user_timeout_bounds_connect),
		cmocka_unit_test(test_LC_K17_user_timeout_applies_to_orphan),
		cmocka_unit_test(test_LC_K17_user_timeout_option_api),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
