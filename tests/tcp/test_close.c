/*
 * Closing a connection (catalogue LC-C): the four-way close, CLOSE_WAIT
 * still sending, the three-way close, simultaneous close, TIME_WAIT (its
 * length, its restart on a retransmitted FIN, its compact record, why it
 * exists), RSTs for connections that no longer exist, abortive closes
 * (unread data, data after close) and shutdown().
 *
 * Every test starts from th_establish: client 198.18.0.1:40000 (ISN 100)
 * and server 198.18.0.2:80 (ISN 300), 1 ms one way. Segments 0..2 are the
 * handshake (SYN at 0 ms, SYN-ACK at 1 ms, ACK at 2 ms, which reaches the
 * server at 3 ms), so the tests start at 3 ms with the client's next byte
 * at 101 and the server's at 301.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"
#include "core/stack_int.h"

#include <errno.h>
#include <string.h>

#define FA (TIDE_TCP_FIN | TIDE_TCP_ACK)
#define PA (TIDE_TCP_PSH | TIDE_TCP_ACK)
#define AK TIDE_TCP_ACK
#define RST TIDE_TCP_RST
#define RA (TIDE_TCP_RST | TIDE_TCP_ACK)

/* RTO after the handshake's one sample of 2 ms (RFC 6298, Linux's floor):
 * SRTT 2 ms + max(4 * RTTVAR 1 ms, 200 ms). */
#define RTO_AFTER_HANDSHAKE_US 202000u

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
	ST_FW2 = TIDE_TCP_FIN_WAIT2,
	ST_TW = TIDE_TCP_TIME_WAIT,
	ST_CLOSED = TIDE_TCP_CLOSE,
	ST_CW = TIDE_TCP_CLOSE_WAIT,
	ST_LA = TIDE_TCP_LAST_ACK,
	ST_LISTEN = TIDE_TCP_LISTEN,
	ST_CLOSING = TIDE_TCP_CLOSING,
};

/* ---- helpers ---------------------------------------------------------- */

static void setup(struct th *h, int *cfd, int *sfd)
{
	th_init(h, NULL);
	th_establish(h, cfd, sfd, NULL);
	assert_int_equal(th_now(h), TIDE_MS(3));
	th_expect_nsegs(h, 3);
}

static void send_str(tide_stack *st, int fd, const char *s)
{
	assert_int_equal(tide_send(st, fd, s, strlen(s), 0), (ssize_t)strlen(s));
}

static void expect_recv(tide_stack *st, int fd, const char *s)
{
	char buf[64];
	memset(buf, 0, sizeof(buf));
	assert_int_equal(tide_recv(st, fd, buf, sizeof(buf), 0), (ssize_t)strlen(s));
	assert_string_equal(buf, s);
}

static void expect_recv_eof(tide_stack *st, int fd)
{
	char buf[16];
	assert_int_equal(tide_recv(st, fd, buf, sizeof(buf), 0), 0);
}

static void expect_recv_errno(tide_stack *st, int fd, int err)
{
	char buf[16];
	errno = 0;
	assert_int_equal(tide_recv(st, fd, buf, sizeof(buf), 0), -1);
	assert_int_equal(errno, err);
}

static uint64_t ctr(tide_stack *st, enum tide_counter c)
{
	return tide_stack_counter(st, c);
}

/* The connections of a stack (tide_stack_foreach_conn), listeners left
 * out. */
struct conns {
	size_t n;
	struct tide_conn_info ci[8];
};

static void collect(void *ctx, const struct tide_conn_info *ci)
{
	struct conns *cs = ctx;
	if (ci->state == TIDE_TCP_LISTEN)
		return;
	if (cs->n < sizeof(cs->ci) / sizeof(cs->ci[0]))
		cs->ci[cs->n] = *ci;
	cs->n++;
}

static struct conns list_conns(tide_stack *st)
{
	struct conns cs;
	memset(&cs, 0, sizeof(cs));
	tide_stack_foreach_conn(st, collect, &cs);
	return cs;
}

/* The stack holds exactly one connection: the client's 4-tuple in TIME_WAIT
 * with no descriptor, expiring at `expire`. */
static void expect_one_time_wait(tide_stack *st, tide_time expire)
{
	struct conns cs = list_conns(st);
	assert_int_equal(cs.n, 1);
	assert_int_equal(cs.ci[0].state, TIDE_TCP_TIME_WAIT);
	assert_int_equal(cs.ci[0].id.laddr, TH_CLIENT_ADDR);
	assert_int_equal(cs.ci[0].id.lport, 40000);
	assert_int_equal(cs.ci[0].id.raddr, TH_SERVER_ADDR);
	assert_int_equal(cs.ci[0].id.rport, 80);
	assert_int_equal(cs.ci[0].fd, -1);
	assert_int_equal(cs.ci[0].timer_at, expire);
}

static uint32_t tcpi_rto(tide_stack *st, int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	assert_int_equal(tide_getsockopt(st, fd, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
	return ti.tcpi_rto;
}

/* Drops the next pure ACK the client sends (from now on). */
static void drop_next_client_ack(struct th *h)
{
	struct tide_fault f;
	memset(&f, 0, sizeof(f));
	f.from = h->c;
	f.flags_mask = 0xff;
	f.flags_match = TIDE_TCP_ACK;
	f.nth = 1;
	f.count = 1;
	f.action = TIDE_FAULT_DROP;
	assert_true(tide_sim_add_fault(h->sim, &f) >= 0);
}

/* Puts a hand-made segment on the network as if `from` had sent it. */
static void inject(struct th *h, int from, uint32_t src, uint32_t dst, uint16_t sport,
		   uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, const char *data)
{
	uint8_t pkt[256];
	size_t dlen = data ? strlen(data) : 0;
	size_t tl = tide_tcp_build(pkt + TIDE_IPV4_HLEN, sizeof(pkt) - TIDE_IPV4_HLEN, src, dst,
				   sport, dport, seq, ack, flags, 502, NULL, data, dlen);
	assert_true(tl > 0);
	size_t il = tide_ipv4_build(pkt, sizeof(pkt), src, dst, TIDE_IPPROTO_TCP,
				    (uint16_t)tl, 64, 1, true);
	assert_int_equal(il, TIDE_IPV4_HLEN);
	tide_sim_send(h->sim, from, pkt, il + tl);
}

/* ---- LC-C01 ----------------------------------------------------------- */

/* Four-way close: FIN, ACK, FIN 100 ms later, ACK; only the active closer
 * passes through TIME_WAIT, for exactly 60 s. */
static void test_LC_C01_four_way_close(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd;
	setup(&h, &cfd, &sfd);

	assert_int_equal(tide_close(h.C, cfd), 0);
	th_expect_seg_at(&h, 3, TIDE_MS(3), h.c, FA, 101, 301, 0);

	/* The server is in CLOSE_WAIT; its ACK waits for the delayed-ACK
	 * timer, which no data has started yet: the next tick (1 ms). */
	th_run_until(&h, TIDE_MS(5) - 1);
	th_expect_nsegs(&h, 4);
	assert_int_equal(tide_sock_state(h.S, sfd), ST_CW);
	th_run_until(&h, TIDE_MS(144));
	th_expect_seg_at(&h, 4, TIDE_MS(5), h.s, AK, 301, 102, 0);

	/* The server's application reads EOF and closes 100 ms later. */
	expect_recv_eof(h.S, sfd);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_expect_seg_at(&h, 5, TIDE_MS(144), h.s, FA, 301, 102, 0);

	th_run_until(&h, TIDE_MS(145) + TIDE_SEC(60) - 1);
	th_expect_seg_at(&h, 6, TIDE_MS(145), h.c, AK, 102, 302, 0);
	th_expect_nsegs(&h, 7);
	expect_one_time_wait(h.C, TIDE_MS(145) + TIDE_SEC(60));
	/* Linux 6.x counts TW when the record begins (checked on 6.18) */
	assert_int_equal(ctr(h.C, TIDE_MIB_TW), 1);

	th_run_until(&h, TIDE_MS(145) + TIDE_SEC(60));
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_FW2, ST_TW, ST_CLOSED);
	th_expect_state_at(&h, h.c, 2, TIDE_MS(3), ST_EST, ST_FW1);
	th_expect_state_at(&h, h.c, 3, TIDE_MS(6), ST_FW1, ST_FW2);
	th_expect_state_at(&h, h.c, 4, TIDE_MS(145), ST_FW2, ST_TW);
	th_expect_state_at(&h, h.c, 5, TIDE_MS(145) + TIDE_SEC(60), ST_TW, ST_CLOSED);
	EXPECT_STATES(&h, h.s, ST_LISTEN, ST_SYN_RECV, ST_EST, ST_CW, ST_LA, ST_CLOSED);
	th_expect_state_at(&h, h.s, 3, TIDE_MS(4), ST_EST, ST_CW);
	th_expect_state_at(&h, h.s, 4, TIDE_MS(144), ST_CW, ST_LA);
	th_expect_state_at(&h, h.s, 5, TIDE_MS(146), ST_LA, ST_CLOSED);
	th_expect_nsegs(&h, 7);
	assert_int_equal(ctr(h.C, TIDE_MIB_TW), 1);
	assert_int_equal(ctr(h.S, TIDE_MIB_TW), 0);
	assert_int_equal(list_conns(h.C).n, 0);
	assert_int_equal(list_conns(h.S).n, 0);
	th_free(&h);
}

/* ---- LC-C02 ----------------------------------------------------------- */

/* After the client's FIN the server (CLOSE_WAIT) still sends; the client
 * in FIN_WAIT_2 receives it; the server reads the data, then EOF. */
static void test_LC_C02_close_wait_can_still_send(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd;
	setup(&h, &cfd, &sfd);

	send_str(h.C, cfd, "hello");
	assert_int_equal(tide_shutdown(h.C, cfd, SHUT_WR), 0);
	th_expect_seg_at(&h, 3, TIDE_MS(3), h.c, PA, 101, 301, 5);
	th_expect_seg_at(&h, 4, TIDE_MS(3), h.c, FA, 106, 301, 0);

	/* Data is ACKed at once (quick ACK), the FIN 40 ms later. */
	th_run_until(&h, TIDE_MS(45));
	th_expect_seg_at(&h, 5, TIDE_MS(4), h.s, AK, 301, 106, 0);
	th_expect_seg_at(&h, 6, TIDE_MS(44), h.s, AK, 301, 107, 0);
	th_expect_nsegs(&h, 7);
	assert_int_equal(tide_sock_state(h.S, sfd), ST_CW);
	assert_int_equal(tide_sock_state(h.C, cfd), ST_FW2);
	expect_recv(h.S, sfd, "hello");
	expect_recv_eof(h.S, sfd);
	expect_recv_eof(h.S, sfd);

	th_run_until(&h, TIDE_MS(100));
	send_str(h.S, sfd, "world");
	th_expect_seg_at(&h, 7, TIDE_MS(100), h.s, PA, 301, 107, 5);
	th_run_until(&h, TIDE_MS(101));
	th_expect_seg_at(&h, 8, TIDE_MS(101), h.c, AK, 107, 306, 0);
	assert_int_equal(tide_sock_state(h.C, cfd), ST_FW2);
	expect_recv(h.C, cfd, "world");
	expect_recv_errno(h.C, cfd, EAGAIN);

	th_run_until(&h, TIDE_MS(200));
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_run_until(&h, TIDE_MS(300));
	th_expect_seg_at(&h, 9, TIDE_MS(200), h.s, FA, 306, 107, 0);
	th_expect_seg_at(&h, 10, TIDE_MS(201), h.c, AK, 107, 307, 0);
	th_expect_nsegs(&h, 11);
	expect_recv_eof(h.C, cfd);
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_FW2, ST_TW);
	EXPECT_STATES(&h, h.s, ST_LISTEN, ST_SYN_RECV, ST_EST, ST_CW, ST_LA, ST_CLOSED);
	th_expect_state_at(&h, h.c, 3, TIDE_MS(45), ST_FW1, ST_FW2);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_free(&h);
}

/* ---- LC-C03 ----------------------------------------------------------- */

/* After data, the server closes 20 ms after the FIN, inside the 40 ms
 * delayed-ACK window: one FIN,ACK carries both, and the client skips
 * FIN_WAIT_2. (Without data the window is one tick: see LC-D03 below.) */
static void test_LC_C03_three_way_close(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd;
	setup(&h, &cfd, &sfd);

	/* the data starts the server's delayed-ACK timeout (40 ms) */
	send_str(h.C, cfd, "x");
	th_run_until(&h, TIDE_MS(5));
	expect_recv(h.S, sfd, "x");
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_until(&h, TIDE_MS(26));
	th_expect_nsegs(&h, 6);
	assert_int_equal(tide_close(h.S, sfd), 0);

	th_run_until(&h, TIDE_SEC(1));
	th_expect_seg_at(&h, 3, TIDE_MS(3), h.c, PA, 101, 301, 1);
	th_expect_seg_at(&h, 4, TIDE_MS(4), h.s, AK, 301, 102, 0);
	th_expect_seg_at(&h, 5, TIDE_MS(5), h.c, FA, 102, 301, 0);
	th_expect_seg_at(&h, 6, TIDE_MS(26), h.s, FA, 301, 103, 0);
	th_expect_seg_at(&h, 7, TIDE_MS(27), h.c, AK, 103, 302, 0);
	th_expect_nsegs(&h, 8); /* no separate ACK at 46 ms */
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_TW);
	EXPECT_STATES(&h, h.s, ST_LISTEN, ST_SYN_RECV, ST_EST, ST_CW, ST_LA, ST_CLOSED);
	th_expect_state_at(&h, h.s, 5, TIDE_MS(28), ST_LA, ST_CLOSED);

	th_run_until(&h, TIDE_MS(27) + TIDE_SEC(60));
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_TW, ST_CLOSED);
	th_expect_state_at(&h, h.c, 4, TIDE_MS(27) + TIDE_SEC(60), ST_TW, ST_CLOSED);
	th_expect_nsegs(&h, 8);
	th_free(&h);
}

/* ---- LC-D03 (the delayed ACK of a FIN) -------------------------------- */

/* Linux's delayed-ACK timeout (ato) is 0 until data arrives: the ACK of a
 * FIN on a connection that never received data leaves at the next tick
 * (1 ms), and a close 20 ms later is a four-way close. */
static void test_LC_D03_fin_ack_without_data_is_next_tick(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd;
	setup(&h, &cfd, &sfd);

	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_until(&h, TIDE_MS(5) - 1);
	th_expect_nsegs(&h, 4);
	assert_int_equal(tide_sock_state(h.S, sfd), ST_CW);
	th_run_until(&h, TIDE_MS(24));
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_run_until(&h, TIDE_SEC(1));
	th_expect_seg_at(&h, 3, TIDE_MS(3), h.c, FA, 101, 301, 0);
	th_expect_seg_at(&h, 4, TIDE_MS(5), h.s, AK, 301, 102, 0);
	th_expect_seg_at(&h, 5, TIDE_MS(24), h.s, FA, 301, 102, 0);
	th_expect_seg_at(&h, 6, TIDE_MS(25), h.c, AK, 102, 302, 0);
	th_expect_nsegs(&h, 7);
	assert_int_equal(ctr(h.S, TIDE_MIB_DelayedACKs), 1);
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_FW2, ST_TW);
	th_expect_state_at(&h, h.c, 3, TIDE_MS(6), ST_FW1, ST_FW2);
	th_free(&h);
}

/* Once data came, the ACK of the FIN waits the full 40 ms (Linux's
 * TCP_ATO_MIN), counted from the FIN's arrival. */
static void test_LC_D03_fin_ack_after_data_waits_40ms(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd;
	setup(&h, &cfd, &sfd);

	send_str(h.C, cfd, "x");
	th_run_until(&h, TIDE_MS(5));
	expect_recv(h.S, sfd, "x");
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_until(&h, TIDE_MS(46) - 1);
	th_expect_nsegs(&h, 6);
	assert_int_equal(tide_sock_state(h.S, sfd), ST_CW);
	th_run_until(&h, TIDE_MS(100));
	th_expect_seg_at(&h, 3, TIDE_MS(3), h.c, PA, 101, 301, 1);
	th_expect_seg_at(&h, 4, TIDE_MS(4), h.s, AK, 301, 102, 0);
	th_expect_seg_at(&h, 5, TIDE_MS(5), h.c, FA, 102, 301, 0);
	th_expect_seg_at(&h, 6, TIDE_MS(46), h.s, AK, 301, 103, 0);
	th_expect_nsegs(&h, 7);
	assert_int_equal(ctr(h.S, TIDE_MIB_DelayedACKs), 1);
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_FW2);
	th_expect_state_at(&h, h.c, 3, TIDE_MS(47), ST_FW1, ST_FW2);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_free(&h);
}

/* RFC 9293 / Linux: FIN_WAIT_1 receiving a FIN that also ACKs our FIN goes
 * straight to TIME_WAIT; every client state change, with its time. */
static void test_rfc9293_fin_wait_1_fin_ack_goes_to_time_wait(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd;
	setup(&h, &cfd, &sfd);

	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_until(&h, TIDE_MS(4)); /* the FIN has just arrived */
	assert_int_equal(tide_sock_state(h.S, sfd), ST_CW);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_expect_seg_at(&h, 4, TIDE_MS(4), h.s, FA, 301, 102, 0);

	th_run_until(&h, TIDE_MS(5) + TIDE_SEC(60));
	th_expect_seg_at(&h, 5, TIDE_MS(5), h.c, AK, 102, 302, 0);
	th_expect_nsegs(&h, 6);
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_TW, ST_CLOSED);
	th_expect_state_at(&h, h.c, 0, 0, ST_CLOSED, ST_SYN_SENT);
	th_expect_state_at(&h, h.c, 1, TIDE_MS(2), ST_SYN_SENT, ST_EST);
	th_expect_state_at(&h, h.c, 2, TIDE_MS(3), ST_EST, ST_FW1);
	th_expect_state_at(&h, h.c, 3, TIDE_MS(5), ST_FW1, ST_TW);
	th_expect_state_at(&h, h.c, 4, TIDE_MS(5) + TIDE_SEC(60), ST_TW, ST_CLOSED);
	th_free(&h);
}

/* A duplicate of old data puts Linux in quick-ACK mode, which starts the
 * 40 ms delayed-ACK timeout as data would: the later FIN's ACK waits 40 ms. */
static void test_LC_D03_duplicate_segment_starts_the_40ms(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd;
	setup(&h, &cfd, &sfd);

	/* one byte left of RCV.NXT (the SYN's number): old, ACKed at once */
	inject(&h, h.c, TH_CLIENT_ADDR, TH_SERVER_ADDR, 40000, 80, 100, 301, AK, "x");
	th_run_until(&h, TIDE_MS(5));
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_until(&h, TIDE_MS(100));
	th_expect_seg_at(&h, 3, TIDE_MS(3), h.c, AK, 100, 301, 1);
	th_expect_seg_at(&h, 4, TIDE_MS(4), h.s, AK, 301, 101, 0);
	th_expect_seg_at(&h, 5, TIDE_MS(5), h.c, FA, 101, 301, 0);
	th_expect_seg_at(&h, 6, TIDE_MS(46), h.s, AK, 301, 102, 0);
	th_expect_nsegs(&h, 7);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_free(&h);
}

/* ---- LC-C04 ----------------------------------------------------------- */

/* Both close at 3 ms: FINs cross, each end goes CLOSING, ACKs at once,
 * and on the other's ACK enters TIME_WAIT; both leave it 60 s later. */
static void test_LC_C04_simultaneous_close(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd;
	setup(&h, &cfd, &sfd);

	assert_int_equal(tide_close(h.C, cfd), 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_run_until(&h, TIDE_MS(5) + TIDE_SEC(60) - 1);
	th_expect_seg_at(&h, 3, TIDE_MS(3), h.c, FA, 101, 301, 0);
	th_expect_seg_at(&h, 4, TIDE_MS(3), h.s, FA, 301, 101, 0);
	th_expect_seg_at(&h, 5, TIDE_MS(4), h.s, AK, 302, 102, 0);
	th_expect_seg_at(&h, 6, TIDE_MS(4), h.c, AK, 102, 302, 0);
	th_expect_nsegs(&h, 7);

	th_run_until(&h, TIDE_MS(5) + TIDE_SEC(60));
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_CLOSING, ST_TW, ST_CLOSED);
	EXPECT_STATES(&h, h.s, ST_LISTEN, ST_SYN_RECV, ST_EST, ST_FW1, ST_CLOSING, ST_TW,
		      ST_CLOSED);
	th_expect_state_at(&h, h.c, 3, TIDE_MS(4), ST_FW1, ST_CLOSING);
	th_expect_state_at(&h, h.c, 4, TIDE_MS(5), ST_CLOSING, ST_TW);
	th_expect_state_at(&h, h.c, 5, TIDE_MS(5) + TIDE_SEC(60), ST_TW, ST_CLOSED);
	th_expect_state_at(&h, h.s, 4, TIDE_MS(4), ST_FW1, ST_CLOSING);
	th_expect_state_at(&h, h.s, 5, TIDE_MS(5), ST_CLOSING, ST_TW);
	th_expect_state_at(&h, h.s, 6, TIDE_MS(5) + TIDE_SEC(60), ST_TW, ST_CLOSED);
	th_expect_nsegs(&h, 7);
	assert_int_equal(ctr(h.C, TIDE_MIB_TW), 1);
	assert_int_equal(ctr(h.S, TIDE_MIB_TW), 1);
	th_free(&h);
}

/* ---- LC-C05 ----------------------------------------------------------- */

/* The last ACK is lost: the server (LAST_ACK) resends its FIN one RTO
 * (202 ms) later; the client in TIME_WAIT ACKs it again and its 60 s start
 * over from that second ACK. */
static void test_LC_C05_time_wait_restarts_on_retransmitted_fin(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd;
	setup(&h, &cfd, &sfd);

	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_until(&h, TIDE_MS(100));
	th_expect_seg_at(&h, 4, TIDE_MS(5), h.s, AK, 301, 102, 0);
	assert_int_equal(tcpi_rto(h.S, sfd), RTO_AFTER_HANDSHAKE_US);
	drop_next_client_ack(&h);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_expect_seg_at(&h, 5, TIDE_MS(100), h.s, FA, 301, 102, 0);

	th_run_until(&h, TIDE_MS(101));
	th_expect_seg_at(&h, 6, TIDE_MS(101), h.c, AK, 102, 302, 0);
	assert_int_equal(tide_sim_count(h.sim, TIDE_SIM_DROPPED), 1);
	expect_one_time_wait(h.C, TIDE_MS(101) + TIDE_SEC(60));

	th_run_until(&h, TIDE_MS(100) + TIDE_US(RTO_AFTER_HANDSHAKE_US) - 1);
	th_expect_nsegs(&h, 7);
	th_run_until(&h, TIDE_SEC(1));
	th_expect_seg_at(&h, 7, TIDE_MS(100) + TIDE_US(RTO_AFTER_HANDSHAKE_US), h.s, FA, 301,
			 102, 0);
	th_expect_seg_at(&h, 8, TIDE_MS(303), h.c, AK, 102, 302, 0);
	th_expect_nsegs(&h, 9);
	assert_int_equal(ctr(h.S, TIDE_MIB_RetransSegs), 1);
	expect_one_time_wait(h.C, TIDE_MS(303) + TIDE_SEC(60));

	/* 60 s after the first ACK: still TIME_WAIT. */
	th_run_until(&h, TIDE_MS(101) + TIDE_SEC(60));
	expect_one_time_wait(h.C, TIDE_MS(303) + TIDE_SEC(60));
	th_run_until(&h, TIDE_MS(303) + TIDE_SEC(60));
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_FW2, ST_TW, ST_CLOSED);
	th_expect_state_at(&h, h.c, 4, TIDE_MS(101), ST_FW2, ST_TW);
	th_expect_state_at(&h, h.c, 5, TIDE_MS(303) + TIDE_SEC(60), ST_TW, ST_CLOSED);
	EXPECT_STATES(&h, h.s, ST_LISTEN, ST_SYN_RECV, ST_EST, ST_CW, ST_LA, ST_CLOSED);
	th_expect_state_at(&h, h.s, 5, TIDE_MS(304), ST_LA, ST_CLOSED);
	th_expect_nsegs(&h, 9);
	assert_int_equal(ctr(h.C, TIDE_MIB_TW), 1);
	th_free(&h);
}

/* ---- LC-C06 ----------------------------------------------------------- */

/* The server's RTO is made longer than a 1 s TIME_WAIT: tcp_rto_min 1.5 s,
 * so RTO = 2 ms + 1500 ms. The client closes, the server closes as the FIN
 * arrives (4 ms), and the client's last ACK (5 ms) is lost. */
#define LONG_RTO_US 1502000u

static void lose_last_ack(struct th *h, int client_timewait_len)
{
	int cfd, sfd;
	th_init(h, NULL);
	tide_stack_settings(h->S)->tcp_rto_min_ms = 1500;
	tide_stack_settings(h->C)->tcp_timewait_len = client_timewait_len;
	th_establish(h, &cfd, &sfd, NULL);
	assert_int_equal(th_now(h), TIDE_MS(3));
	assert_int_equal(tcpi_rto(h->S, sfd), LONG_RTO_US);

	assert_int_equal(tide_close(h->C, cfd), 0);
	th_run_until(h, TIDE_MS(4));
	drop_next_client_ack(h);
	assert_int_equal(tide_close(h->S, sfd), 0);
	th_run_until(h, TIDE_MS(4) + TIDE_US(LONG_RTO_US) - 1);
	th_expect_seg_at(h, 3, TIDE_MS(3), h->c, FA, 101, 301, 0);
	th_expect_seg_at(h, 4, TIDE_MS(4), h->s, FA, 301, 102, 0);
	th_expect_seg_at(h, 5, TIDE_MS(5), h->c, AK, 102, 302, 0);
	th_expect_nsegs(h, 6);
	assert_int_equal(tide_sim_count(h->sim, TIDE_SIM_DROPPED), 1);

	th_run_until(h, TIDE_MS(1508));
	th_expect_seg_at(h, 6, TIDE_MS(1506), h->s, FA, 301, 102, 0);
}

/* TIME_WAIT still exists when the FIN comes again: it gets an ACK and the
 * server closes normally. */
static void test_LC_C06_lost_last_ack_answered_from_time_wait(void **state)
{
	(void)state;
	struct th h;
	lose_last_ack(&h, 60);
	th_expect_seg_at(&h, 7, TIDE_MS(1507), h.c, AK, 102, 302, 0);
	th_expect_nsegs(&h, 8);
	EXPECT_STATES(&h, h.s, ST_LISTEN, ST_SYN_RECV, ST_EST, ST_CW, ST_LA, ST_CLOSED);
	th_expect_state_at(&h, h.s, 5, TIDE_MS(1508), ST_LA, ST_CLOSED);
	assert_int_equal(ctr(h.C, TIDE_MIB_OutRsts), 0);

	th_run_until(&h, TIDE_MS(1507) + TIDE_SEC(60));
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_TW, ST_CLOSED);
	th_expect_state_at(&h, h.c, 4, TIDE_MS(1507) + TIDE_SEC(60), ST_TW, ST_CLOSED);
	th_free(&h);
}

/* With a 1 s TIME_WAIT the record is gone at 1005 ms: the retransmitted
 * FIN,ACK finds no connection and gets <SEQ=SEG.ACK><CTL=RST>, which
 * resets the server's LAST_ACK. */
static void test_LC_C06_fin_after_time_wait_gets_rst(void **state)
{
	(void)state;
	struct th h;
	lose_last_ack(&h, 1);
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_TW, ST_CLOSED);
	th_expect_state_at(&h, h.c, 3, TIDE_MS(5), ST_FW1, ST_TW);
	th_expect_state_at(&h, h.c, 4, TIDE_MS(1005), ST_TW, ST_CLOSED);
	th_expect_seg_at(&h, 7, TIDE_MS(1507), h.c, RST, 102, 0, 0);
	th_expect_nsegs(&h, 8);
	EXPECT_STATES(&h, h.s, ST_LISTEN, ST_SYN_RECV, ST_EST, ST_CW, ST_LA, ST_CLOSED);
	th_expect_state_at(&h, h.s, 5, TIDE_MS(1508), ST_LA, ST_CLOSED);
	assert_int_equal(ctr(h.C, TIDE_MIB_OutRsts), 1);
	assert_int_equal(ctr(h.C, TIDE_MIB_DropTcpNoSocket), 1);
	th_run_until(&h, TIDE_SEC(10));
	th_expect_nsegs(&h, 8);
	th_free(&h);
}

/* ---- LC-C07 ----------------------------------------------------------- */

/* tcp_timewait_len = 5 on the client: TIME_WAIT ends 5 s after the ACK. */
static void test_LC_C07_time_wait_length_is_a_setting(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd;
	setup(&h, &cfd, &sfd);
	tide_stack_settings(h.C)->tcp_timewait_len = 5;

	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_until(&h, TIDE_MS(24));
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_run_until(&h, TIDE_MS(25) + TIDE_SEC(5) - 1);
	th_expect_seg_at(&h, 4, TIDE_MS(5), h.s, AK, 301, 102, 0);
	th_expect_seg_at(&h, 6, TIDE_MS(25), h.c, AK, 102, 302, 0);
	expect_one_time_wait(h.C, TIDE_MS(25) + TIDE_SEC(5));

	th_run_until(&h, TIDE_SEC(100));
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_FW2, ST_TW, ST_CLOSED);
	th_expect_state_at(&h, h.c, 4, TIDE_MS(25), ST_FW2, ST_TW);
	th_expect_state_at(&h, h.c, 5, TIDE_MS(25) + TIDE_SEC(5), ST_TW, ST_CLOSED);
	assert_int_equal(ctr(h.C, TIDE_MIB_TW), 1);
	th_expect_nsegs(&h, 7);
	th_free(&h);
}

/* ---- LC-C08 ----------------------------------------------------------- */

/* TIME_WAIT is a small record, not the connection: the socket that is
 * still open is already CLOSED, can be closed without a segment, and the
 * 4-tuple stays listed in TIME_WAIT. */
static void test_LC_C08_time_wait_record_is_compact(void **state)
{
	(void)state;
	assert_true(sizeof(struct tcp_tw) <= 64); /* with Linux's entry stamp and ACK rate limit */

	struct th h;
	int cfd, sfd;
	setup(&h, &cfd, &sfd);
	/* shutdown keeps the descriptor, so the client enters TIME_WAIT
	 * while its socket is still open */
	assert_int_equal(tide_shutdown(h.C, cfd, SHUT_WR), 0);
	th_run_until(&h, TIDE_MS(24));
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_run_until(&h, TIDE_MS(30));
	th_expect_seg_at(&h, 4, TIDE_MS(5), h.s, AK, 301, 102, 0);
	th_expect_seg_at(&h, 6, TIDE_MS(25), h.c, AK, 102, 302, 0);
	th_expect_nsegs(&h, 7);

	assert_int_equal(tide_sock_state(h.C, cfd), ST_CLOSED);
	expect_recv_eof(h.C, cfd);
	expect_one_time_wait(h.C, TIDE_MS(25) + TIDE_SEC(60));
	struct conns cs = list_conns(h.C);
	assert_int_equal(cs.ci[0].state_since, TIDE_MS(25));

	assert_int_equal(tide_close(h.C, cfd), 0);
	th_expect_nsegs(&h, 7);
	expect_one_time_wait(h.C, TIDE_MS(25) + TIDE_SEC(60));

	th_run_until(&h, TIDE_MS(25) + TIDE_SEC(60));
	assert_int_equal(list_conns(h.C).n, 0);
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_FW2, ST_TW, ST_CLOSED);
	th_expect_state_at(&h, h.c, 5, TIDE_MS(25) + TIDE_SEC(60), ST_TW, ST_CLOSED);
	th_expect_nsegs(&h, 7);
	th_free(&h);
}

/* ---- LC-C09 ----------------------------------------------------------- */

/* After both ends are CLOSED (and the listener is gone), segments of the
 * old connection get RSTs built per RFC 9293 §3.10.7.1. */
static void test_LC_C09_segment_for_closed_connection_gets_rst(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd, lfd;
	th_init(&h, NULL);
	th_establish(&h, &cfd, &sfd, &lfd);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_until(&h, TIDE_MS(24));
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_run_until(&h, TIDE_SEC(61));
	th_expect_nsegs(&h, 7); /* FIN, ACK, FIN, ACK */
	assert_int_equal(list_conns(h.C).n, 0);
	assert_int_equal(list_conns(h.S).n, 0);
	assert_int_equal(tide_close(h.S, lfd), 0);

	/* ACK present: <SEQ=SEG.ACK><CTL=RST> */
	inject(&h, h.c, TH_CLIENT_ADDR, TH_SERVER_ADDR, 40000, 80, 102, 302, PA, "late!");
	th_run_until(&h, TIDE_SEC(62));
	th_expect_seg_at(&h, 7, TIDE_SEC(61), h.c, PA, 102, 302, 5);
	th_expect_seg_at(&h, 8, TIDE_SEC(61) + TIDE_MS(1), h.s, RST, 302, 0, 0);
	assert_int_equal(th_seg(&h, 8)->ack, 0);
	assert_int_equal(th_seg(&h, 8)->win, 0);

	/* No ACK: <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>; the FIN counts. */
	inject(&h, h.c, TH_CLIENT_ADDR, TH_SERVER_ADDR, 40000, 80, 102, 0,
	       TIDE_TCP_FIN | TIDE_TCP_PSH, "late!");
	th_run_until(&h, TIDE_SEC(63));
	th_expect_seg_at(&h, 9, TIDE_SEC(62), h.c, TIDE_TCP_FIN | TIDE_TCP_PSH, 102, 0, 5);
	th_expect_seg_at(&h, 10, TIDE_SEC(62) + TIDE_MS(1), h.s, RA, 0, 108, 0);
	th_expect_nsegs(&h, 11); /* nobody answers a RST */

	assert_int_equal(ctr(h.S, TIDE_MIB_OutRsts), 2);
	assert_int_equal(ctr(h.S, TIDE_MIB_DropTcpNoSocket), 2);
	assert_int_equal(ctr(h.C, TIDE_MIB_DropTcpNoSocket), 2);
	assert_int_equal(ctr(h.C, TIDE_MIB_OutRsts), 0);
	th_free(&h);
}

/* ---- LC-C10 ----------------------------------------------------------- */

/* close() with 5 unread bytes: RST,ACK instead of FIN, no TIME_WAIT
 * anywhere; the client's next read fails with ECONNRESET. */
static void test_LC_C10_close_with_unread_data_sends_rst(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd;
	setup(&h, &cfd, &sfd);

	send_str(h.C, cfd, "hello");
	th_run_until(&h, TIDE_MS(10));
	th_expect_seg_at(&h, 3, TIDE_MS(3), h.c, PA, 101, 301, 5);
	th_expect_seg_at(&h, 4, TIDE_MS(4), h.s, AK, 301, 106, 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_expect_seg_at(&h, 5, TIDE_MS(10), h.s, RA, 301, 106, 0);
	assert_int_equal(ctr(h.S, TIDE_MIB_TCPAbortOnClose), 1);

	th_run_until(&h, TIDE_SEC(70));
	th_expect_nsegs(&h, 6);
	EXPECT_STATES(&h, h.s, ST_LISTEN, ST_SYN_RECV, ST_EST, ST_CLOSED);
	th_expect_state_at(&h, h.s, 3, TIDE_MS(10), ST_EST, ST_CLOSED);
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_CLOSED);
	th_expect_state_at(&h, h.c, 2, TIDE_MS(11), ST_EST, ST_CLOSED);
	expect_recv_errno(h.C, cfd, ECONNRESET);
	assert_int_equal(ctr(h.C, TIDE_MIB_TW), 0);
	assert_int_equal(ctr(h.S, TIDE_MIB_TW), 0);
	assert_int_equal(ctr(h.S, TIDE_MIB_OutRsts), 1);
	assert_int_equal(list_conns(h.S).n, 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_free(&h);
}

/* Data reaching an orphaned FIN_WAIT_2 (the application closed): RST with
 * <SEQ=SEG.ACK>, TCPAbortOnData, the connection is CLOSED at once; the
 * server, reset in CLOSE_WAIT, gets EPIPE. tcp_fin_timeout is 120 s here
 * because Linux keeps the full socket (which counts TCPAbortOnData) only
 * while the FIN_WAIT_2 timeout exceeds TIME_WAIT's 60 s; with the default
 * it hands the orphan to a TIME_WAIT mini-socket that sends the same RST
 * without counting. */
static void test_LC_C10_data_after_close_sends_rst(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd;
	setup(&h, &cfd, &sfd);
	tide_stack_settings(h.C)->tcp_fin_timeout = 120;

	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_until(&h, TIDE_MS(100));
	th_expect_seg_at(&h, 4, TIDE_MS(5), h.s, AK, 301, 102, 0);
	send_str(h.S, sfd, "late");
	th_expect_seg_at(&h, 5, TIDE_MS(100), h.s, PA, 301, 102, 4);

	th_run_until(&h, TIDE_SEC(200));
	th_expect_seg_at(&h, 6, TIDE_MS(101), h.c, RST, 102, 0, 0);
	th_expect_nsegs(&h, 7);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPAbortOnData), 1);
	assert_int_equal(ctr(h.C, TIDE_MIB_TW), 0);
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_FW2, ST_CLOSED);
	th_expect_state_at(&h, h.c, 4, TIDE_MS(101), ST_FW2, ST_CLOSED);
	EXPECT_STATES(&h, h.s, ST_LISTEN, ST_SYN_RECV, ST_EST, ST_CW, ST_CLOSED);
	th_expect_state_at(&h, h.s, 4, TIDE_MS(102), ST_CW, ST_CLOSED);
	assert_int_equal(list_conns(h.C).n, 0);

	errno = 0;
	assert_int_equal(tide_send(h.S, sfd, "x", 1, 0), -1);
	assert_int_equal(errno, EPIPE);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_expect_nsegs(&h, 7);
	th_free(&h);
}

/* ---- LC-C11 ----------------------------------------------------------- */

/* shutdown(SHUT_WR) sends the FIN but the socket still reads: the server's
 * data arrives in FIN_WAIT_2, recv() returns it, then 0 after its FIN. */
static void test_LC_C11_shutdown_wr_sends_fin_and_still_reads(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd;
	setup(&h, &cfd, &sfd);

	assert_int_equal(tide_shutdown(h.C, cfd, SHUT_WR), 0);
	th_expect_seg_at(&h, 3, TIDE_MS(3), h.c, FA, 101, 301, 0);
	assert_int_equal(tide_sock_state(h.C, cfd), ST_FW1);
	errno = 0;
	assert_int_equal(tide_send(h.C, cfd, "x", 1, 0), -1);
	assert_int_equal(errno, EPIPE);

	th_run_until(&h, TIDE_MS(10));
	expect_recv_eof(h.S, sfd);
	send_str(h.S, sfd, "reply");
	th_expect_seg_at(&h, 4, TIDE_MS(5), h.s, AK, 301, 102, 0);
	th_expect_seg_at(&h, 5, TIDE_MS(10), h.s, PA, 301, 102, 5);
	th_run_until(&h, TIDE_MS(11));
	th_expect_seg_at(&h, 6, TIDE_MS(11), h.c, AK, 102, 306, 0);
	assert_int_equal(tide_sock_state(h.C, cfd), ST_FW2);
	expect_recv(h.C, cfd, "reply");
	expect_recv_errno(h.C, cfd, EAGAIN);

	th_run_until(&h, TIDE_MS(20));
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_run_until(&h, TIDE_MS(100));
	th_expect_seg_at(&h, 7, TIDE_MS(20), h.s, FA, 306, 102, 0);
	th_expect_seg_at(&h, 8, TIDE_MS(21), h.c, AK, 102, 307, 0);
	th_expect_nsegs(&h, 9);
	expect_recv_eof(h.C, cfd);
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_FW2, ST_TW);
	th_expect_state_at(&h, h.c, 3, TIDE_MS(6), ST_FW1, ST_FW2);
	th_expect_state_at(&h, h.c, 4, TIDE_MS(21), ST_FW2, ST_TW);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_free(&h);
}

/* shutdown(SHUT_RD) sends nothing and changes no state; recv() gives 0. */
static void test_LC_C11_shutdown_rd_sends_nothing(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd;
	setup(&h, &cfd, &sfd);

	assert_int_equal(tide_shutdown(h.C, cfd, SHUT_RD), 0);
	th_run_until(&h, TIDE_SEC(10));
	th_expect_nsegs(&h, 3);
	assert_int_equal(tide_sock_state(h.C, cfd), ST_EST);
	assert_int_equal(tide_sock_state(h.S, sfd), ST_EST);
	expect_recv_eof(h.C, cfd);
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST);
	EXPECT_STATES(&h, h.s, ST_LISTEN, ST_SYN_RECV, ST_EST);
	th_free(&h);
}

/* After shutdown(SHUT_WR) the socket is not orphaned: FIN_WAIT_2 has no
 * timeout and lasts for ever when the peer never closes (10 min here). */
static void test_LC_C11_shutdown_wr_fin_wait_2_has_no_timeout(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd;
	setup(&h, &cfd, &sfd);

	assert_int_equal(tide_shutdown(h.C, cfd, SHUT_WR), 0);
	th_run_until(&h, TIDE_MS(6) + TIDE_SEC(600));
	th_expect_seg_at(&h, 3, TIDE_MS(3), h.c, FA, 101, 301, 0);
	th_expect_seg_at(&h, 4, TIDE_MS(5), h.s, AK, 301, 102, 0);
	th_expect_nsegs(&h, 5);
	assert_int_equal(tide_sock_state(h.C, cfd), ST_FW2);
	assert_int_equal(tide_sock_state(h.S, sfd), ST_CW);
	assert_int_equal(tide_stack_next_timer(h.C), TIDE_TIME_NEVER);
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_FW2);
	th_expect_state_at(&h, h.c, 3, TIDE_MS(6), ST_FW1, ST_FW2);
	th_free(&h);
}

/* After close() the FIN_WAIT_2 connection is an orphan: it ends silently
 * tcp_fin_timeout (60 s) after entering FIN_WAIT_2. */
static void test_LC_C11_orphaned_fin_wait_2_ends_after_fin_timeout(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd;
	setup(&h, &cfd, &sfd);

	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_until(&h, TIDE_MS(6) + TIDE_SEC(60) - 1);
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_FW2);
	th_run_until(&h, TIDE_MS(6) + TIDE_SEC(600));
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_FW2, ST_CLOSED);
	th_expect_state_at(&h, h.c, 3, TIDE_MS(6), ST_FW1, ST_FW2);
	th_expect_state_at(&h, h.c, 4, TIDE_MS(6) + TIDE_SEC(60), ST_FW2, ST_CLOSED);
	th_expect_nsegs(&h, 5); /* it leaves without a segment */
	assert_int_equal(list_conns(h.C).n, 0);
	assert_int_equal(tide_sock_state(h.S, sfd), ST_CW);
	th_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_LC_C01_four_way_close),
		cmocka_unit_test(test_LC_C02_close_wait_can_still_send),
		cmocka_unit_test(test_LC_C03_three_way_close),
		cmocka_unit_test(test_LC_D03_fin_ack_without_data_is_next_tick),
		cmocka_unit_test(test_LC_D03_fin_ack_after_data_waits_40ms),
		cmocka_unit_test(test_LC_D03_duplicate_segment_starts_the_40ms),
		cmocka_unit_test(test_rfc9293_fin_wait_1_fin_ack_goes_to_time_wait),
		cmocka_unit_test(test_LC_C04_simultaneous_close),
		cmocka_unit_test(test_LC_C05_time_wait_restarts_on_retransmitted_fin),
		cmocka_unit_test(test_LC_C06_lost_last_ack_answered_from_time_wait),
		cmocka_unit_test(test_LC_C06_fin_after_time_wait_gets_rst),
		cmocka_unit_test(test_LC_C07_time_wait_length_is_a_setting),
		cmocka_unit_test(test_LC_C08_time_wait_record_is_compact),
		cmocka_unit_test(test_LC_C09_segment_for_closed_connection_gets_rst),
		cmocka_unit_test(test_LC_C10_close_with_unread_data_sends_rst),
		cmocka_unit_test(test_LC_C10_data_after_close_sends_rst),
		cmocka_unit_test(test_LC_C11_shutdown_wr_sends_fin_and_still_reads),
		cmocka_unit_test(test_LC_C11_shutdown_rd_sends_nothing),
		cmocka_unit_test(test_LC_C11_shutdown_wr_fin_wait_2_has_no_timeout),
		cmocka_unit_test(test_LC_C11_orphaned_fin_wait_2_ends_after_fin_timeout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
