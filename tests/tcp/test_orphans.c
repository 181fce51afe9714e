/*
 * Connections without an application: SO_LINGER (catalogue LC-K06), the
 * orphan budget tcp_max_orphans (LC-K13), dying processes (LC-C12), and
 * the counters Linux keeps for them (LC-O02: TCPAbortOnData for a zero
 * linger, TCPAbortOnLinger for TCP_LINGER2 < 0, TCPAbortOnMemory).
 *
 * Linux facts used (net/ipv4/tcp.c __tcp_close and tcp_disconnect,
 * tcp_timer.c tcp_out_of_resources, checked on Linux 6.18 where noted):
 *  - close() with SO_LINGER {1, 0} calls tcp_disconnect: RST|ACK at
 *    SND.NXT in ESTABLISHED, CLOSE_WAIT, FIN_WAIT_1/2, SYN_RECV; nothing in
 *    SYN_SENT, nor in CLOSING/LAST_ACK once all was sent; no TIME_WAIT; the
 *    counter is TCPAbortOnData (6.18: TCPAbortOnLinger stays 0). Unread
 *    data wins (RST, TCPAbortOnClose).
 *  - SO_LINGER {1, N}: close() only waits; the segments are those of a
 *    plain close, and on timeout no RST.
 *  - orphans: counted from close() until the connection dies or becomes a
 *    TIME_WAIT record (an orphaned FIN_WAIT_2 with a timeout of at most
 *    60 s is one); accept queues do not count. Beyond tcp_max_orphans,
 *    close() resets (after its FIN), and so does an orphan's retransmission
 *    timer, which counts orphans double for a connection that sent no
 *    data for 240 s.
 *
 * Fixture: client 198.18.0.1 (ISN 100), server 198.18.0.2:80 (ISN 300),
 * 1 ms one way; the handshake ends at 3 ms; both RTOs are 202 ms.
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

#define AK TIDE_TCP_ACK
#define FA (TIDE_TCP_FIN | TIDE_TCP_ACK)
#define RA (TIDE_TCP_RST | TIDE_TCP_ACK)
#define RST TIDE_TCP_RST
#define T0 TIDE_MS(3)

enum {
	EST = TIDE_TCP_ESTABLISHED,
	SYN_SENT = TIDE_TCP_SYN_SENT,
	SYN_RECV = TIDE_TCP_SYN_RECV,
	FW1 = TIDE_TCP_FIN_WAIT1,
	FW2 = TIDE_TCP_FIN_WAIT2,
	TW = TIDE_TCP_TIME_WAIT,
	CLOSED = TIDE_TCP_CLOSE,
	CW = TIDE_TCP_CLOSE_WAIT,
	LA = TIDE_TCP_LAST_ACK,
	LISTEN = TIDE_TCP_LISTEN,
};

#define EXPECT_STATES(h, node, ...)                                           \
	do {                                                                  \
		static const int s_[] = { __VA_ARGS__ };                       \
		th_expect_states((h), (node), s_, sizeof(s_) / sizeof(s_[0])); \
	} while (0)

/* The new states of one connection of node (told by the client's port,
 * local or remote). */
#define EXPECT_CONN_STATES(h, node, rport, ...)                                  \
	do {                                                                     \
		static const int s_[] = { __VA_ARGS__ };                          \
		expect_conn_states((h), (node), (rport), s_, sizeof(s_) / sizeof(s_[0])); \
	} while (0)

/* ---- helpers ---------------------------------------------------------- */

static void expect_conn_states(struct th *h, int node, uint16_t rport, const int *want, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < h->nstates; i++) {
		const struct th_state *s = &h->states[i];
		if (s->node != node || (s->id.rport != rport && s->id.lport != rport))
			continue;
		if (k >= n || s->new_state != want[k]) {
			th_dump(h);
			fail_msg("connection to port %u: state change %zu is %s, expected %s", rport, k,
				 tide_state_name(s->new_state), k < n ? tide_state_name(want[k]) : "none");
		}
		k++;
	}
	if (k != n) {
		th_dump(h);
		fail_msg("connection to port %u: %zu state changes, expected %zu", rport, k, n);
	}
}

/* When that connection of node entered state st (the last time). */
static tide_time state_time(struct th *h, int node, uint16_t rport, int st)
{
	tide_time t = TIDE_TIME_NEVER;
	for (size_t i = 0; i < h->nstates; i++) {
		const struct th_state *s = &h->states[i];
		if (s->node == node && (s->id.rport == rport || s->id.lport == rport) &&
		    s->new_state == st)
			t = s->t;
	}
	return t;
}

static void count_conn(void *ctx, const struct tide_conn_info *ci)
{
	(void)ci;
	(*(size_t *)ctx)++;
}

static void set_linger(tide_stack *st, int fd, int onoff, int secs)
{
	struct linger lg = { .l_onoff = onoff, .l_linger = secs };
	assert_int_equal(tide_setsockopt(st, fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
}

static struct linger get_linger(tide_stack *st, int fd)
{
	struct linger lg = { -1, -1 };
	socklen_t len = sizeof(lg);
	assert_int_equal(tide_getsockopt(st, fd, SOL_SOCKET, SO_LINGER, &lg, &len), 0);
	assert_int_equal(len, sizeof(lg));
	return lg;
}

static uint64_t ctr(tide_stack *st, enum tide_counter c)
{
	return tide_stack_counter(st, c);
}

static void expect_err(ssize_t r, int err)
{
	assert_int_equal(r, -1);
	assert_int_equal(errno, err);
}

static void expect_recv_err(tide_stack *st, int fd, int err)
{
	char b[8];
	errno = 0;
	expect_err(tide_recv(st, fd, b, sizeof(b), 0), err);
}

static void setup(struct th *h, const struct th_opts *o, int *cfd, int *sfd, int *lfd)
{
	th_init(h, o);
	th_establish(h, cfd, sfd, lfd);
	assert_int_equal(th_now(h), T0);
	th_expect_nsegs(h, 3);
}

/* A further connection from client port sport, accepted at 3 ms after it
 * was started. */
static int another(struct th *h, int lfd, uint16_t sport, int *cfd)
{
	*cfd = th_connect(h, h->c, TH_SERVER_ADDR, 80, sport);
	th_run_for(h, T0);
	return th_accept(h, h->s, lfd);
}

/* ---- SO_LINGER {1, 0} (LC-K06) ----------------------------------------- */

/* LC-K06: a zero linger makes close() abort: RST|ACK <SEQ=SND.NXT> at once,
 * CLOSED without TIME_WAIT (the port is free at once), the peer gets
 * ECONNRESET. Linux counts TCPAbortOnData here, not TCPAbortOnLinger. */
static void test_LC_K06_linger_zero_close_sends_rst_skips_time_wait(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd, lfd;
	setup(&h, NULL, &cfd, &sfd, &lfd);
	set_linger(h.C, cfd, 1, 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_expect_seg_at(&h, 3, T0, h.c, RA, 101, 301, 0);
	th_run_until(&h, TIDE_MS(10));
	th_expect_nsegs(&h, 4);
	EXPECT_STATES(&h, h.c, SYN_SENT, EST, CLOSED);
	th_expect_state_at(&h, h.c, 2, T0, EST, CLOSED);
	th_expect_state_at(&h, h.s, 3, T0 + TIDE_MS(1), EST, CLOSED);
	expect_recv_err(h.S, sfd, ECONNRESET);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPAbortOnData), 1);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPAbortOnLinger), 0);
	assert_int_equal(ctr(h.C, TIDE_MIB_OutRsts), 1);
	assert_int_equal(ctr(h.C, TIDE_MIB_EstabResets), 1);
	assert_int_equal(ctr(h.S, TIDE_MIB_EstabResets), 1);
	assert_int_equal(h.C->tw_count, 0);
	assert_int_equal(h.C->orphans, 0);
	/* no TIME_WAIT: the same 4-tuple can be used again at once */
	int again = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_until(&h, TIDE_MS(20));
	assert_int_equal(tide_sock_state(h.C, again), EST);
	int s2 = th_accept(&h, h.s, lfd);
	assert_int_equal(tide_close(h.C, again), 0);
	assert_int_equal(tide_close(h.S, s2), 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* LC-K06 in CLOSE_WAIT: the peer's FIN is acknowledged by the RST itself
 * (ACK 302); the peer, in FIN_WAIT_1, is reset. */
static void test_LC_K06_linger_zero_in_close_wait(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd, lfd;
	setup(&h, NULL, &cfd, &sfd, &lfd);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_run_until(&h, TIDE_MS(4));
	assert_int_equal(tide_sock_state(h.C, cfd), CW);
	set_linger(h.C, cfd, 1, 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_until(&h, TIDE_MS(100));
	th_expect_seg_at(&h, 3, T0, h.s, FA, 301, 101, 0);
	th_expect_seg_at(&h, 4, TIDE_MS(4), h.c, RA, 101, 302, 0);
	th_expect_nsegs(&h, 5);
	EXPECT_STATES(&h, h.c, SYN_SENT, EST, CW, CLOSED);
	EXPECT_STATES(&h, h.s, LISTEN, SYN_RECV, EST, FW1, CLOSED);
	th_expect_state_at(&h, h.s, 4, TIDE_MS(5), FW1, CLOSED);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPAbortOnData), 1);
	assert_int_equal(h.S->orphans, 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* LC-K06 in FIN_WAIT_1, our FIN lost: the RST carries SND.NXT = 102 (the
 * FIN's number + 1) while the peer expects 101, so the peer answers with
 * a challenge ACK (RFC 5961), which the closed end resets with the exact
 * number: two round trips to reset the peer, as on Linux. */
static void test_LC_K06_linger_zero_in_fin_wait_1(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd, lfd;
	setup(&h, NULL, &cfd, &sfd, &lfd);
	tide_sim_cut_link(h.sim, T0, TIDE_MS(50));
	assert_int_equal(tide_shutdown(h.C, cfd, SHUT_WR), 0);
	th_run_until(&h, TIDE_MS(100));
	assert_int_equal(tide_sock_state(h.C, cfd), FW1);
	set_linger(h.C, cfd, 1, 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_until(&h, TIDE_MS(200));
	th_expect_seg_at(&h, 3, T0, h.c, FA, 101, 301, 0); /* lost */
	th_expect_seg_at(&h, 4, TIDE_MS(100), h.c, RA, 102, 301, 0);
	th_expect_seg_at(&h, 5, TIDE_MS(101), h.s, AK, 301, 101, 0);
	th_expect_seg_at(&h, 6, TIDE_MS(102), h.c, RST, 101, 0, 0);
	th_expect_nsegs(&h, 7);
	th_expect_state_at(&h, h.c, 3, TIDE_MS(100), FW1, CLOSED);
	th_expect_state_at(&h, h.s, 3, TIDE_MS(103), EST, CLOSED);
	assert_int_equal(ctr(h.S, TIDE_MIB_TCPChallengeACK), 1);
	expect_recv_err(h.S, sfd, ECONNRESET);
	assert_int_equal(tide_close(h.S, sfd), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* LC-K06 in FIN_WAIT_2 (after shutdown(SHUT_WR)): RST <SEQ=102>, which the
 * peer in CLOSE_WAIT takes. */
static void test_LC_K06_linger_zero_in_fin_wait_2(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd, lfd;
	setup(&h, NULL, &cfd, &sfd, &lfd);
	assert_int_equal(tide_shutdown(h.C, cfd, SHUT_WR), 0);
	th_run_until(&h, TIDE_MS(100));
	assert_int_equal(tide_sock_state(h.C, cfd), FW2);
	set_linger(h.C, cfd, 1, 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_until(&h, TIDE_MS(200));
	th_expect_seg_at(&h, 3, T0, h.c, FA, 101, 301, 0);
	th_expect_seg_at(&h, 4, T0 + TIDE_MS(2), h.s, AK, 301, 102, 0);
	th_expect_seg_at(&h, 5, TIDE_MS(100), h.c, RA, 102, 301, 0);
	th_expect_nsegs(&h, 6);
	EXPECT_STATES(&h, h.c, SYN_SENT, EST, FW1, FW2, CLOSED);
	th_expect_state_at(&h, h.s, 4, TIDE_MS(101), CW, CLOSED);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPAbortOnData), 1);
	assert_int_equal(tide_close(h.S, sfd), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* LC-K06 in LAST_ACK with everything sent (our FIN lost): Linux's
 * tcp_disconnect sends nothing; the connection just ends. */
static void test_LC_K06_linger_zero_in_last_ack_sends_nothing(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd, lfd;
	setup(&h, NULL, &cfd, &sfd, &lfd);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_run_until(&h, TIDE_MS(4));
	tide_sim_cut_link(h.sim, TIDE_MS(4), TIDE_TIME_NEVER);
	assert_int_equal(tide_shutdown(h.C, cfd, SHUT_WR), 0);
	assert_int_equal(tide_sock_state(h.C, cfd), LA);
	th_run_until(&h, TIDE_MS(100));
	set_linger(h.C, cfd, 1, 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_until(&h, TIDE_SEC(10));
	th_expect_seg_at(&h, 3, T0, h.s, FA, 301, 101, 0);
	th_expect_seg_at(&h, 4, TIDE_MS(4), h.c, FA, 101, 302, 0); /* lost */
	/* the server's FIN retransmissions (lost) are all that follows */
	for (size_t i = 5; i < h.nsegs; i++)
		assert_int_equal(th_seg(&h, i)->from, h.s);
	th_expect_state_at(&h, h.c, 4, TIDE_MS(100), LA, CLOSED);
	assert_int_equal(ctr(h.C, TIDE_MIB_OutRsts), 0);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPAbortOnData), 1);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* LC-K06 in SYN_SENT: nothing is sent, not an AttemptFail, yet Linux
 * counts TCPAbortOnData (checked on 6.18). */
static void test_LC_K06_linger_zero_in_syn_sent_sends_nothing(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	tide_sim_cut_link(h.sim, 0, TIDE_TIME_NEVER);
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_until(&h, TIDE_MS(500));
	set_linger(h.C, cfd, 1, 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_until(&h, TIDE_SEC(10));
	th_expect_seg_at(&h, 0, 0, h.c, TIDE_TCP_SYN, 100, 0, 0);
	th_expect_nsegs(&h, 1);
	EXPECT_STATES(&h, h.c, SYN_SENT, CLOSED);
	th_expect_state_at(&h, h.c, 1, TIDE_MS(500), SYN_SENT, CLOSED);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPAbortOnData), 1);
	assert_int_equal(ctr(h.C, TIDE_MIB_AttemptFails), 0);
	assert_int_equal(ctr(h.C, TIDE_MIB_OutRsts), 0);
	th_free(&h);
}

/* LC-K06 where close() has nothing to abort (Linux's __tcp_close skips
 * the linger check for LISTEN and CLOSE): a listener with a zero linger
 * resets its queue as any listener does, counting no TCPAbortOnData; a
 * socket whose connection became a TIME_WAIT record sends nothing and the
 * record stays. */
static void test_LC_K06_linger_zero_on_listener_and_after_time_wait(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd, lfd;
	setup(&h, NULL, &cfd, &sfd, &lfd);
	int c2 = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40001);
	assert_int_equal(tide_shutdown(h.C, cfd, SHUT_WR), 0);
	th_run_until(&h, TIDE_MS(50));
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_run_until(&h, TIDE_MS(100));
	assert_int_equal(state_time(&h, h.c, 40000, TW), TIDE_MS(51));
	assert_int_equal(tide_sock_state(h.C, cfd), CLOSED);
	size_t base = h.nsegs;
	set_linger(h.C, cfd, 1, 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	set_linger(h.S, lfd, 1, 0);
	assert_int_equal(tide_close(h.S, lfd), 0); /* 40001 never accepted */
	th_expect_seg_at(&h, base, TIDE_MS(100), h.s, RA, 301, 101, 0);
	assert_int_equal(th_seg(&h, base)->dport, 40001);
	th_expect_nsegs(&h, base + 1);
	assert_int_equal(h.C->tw_count, 1);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPAbortOnData), 0);
	assert_int_equal(ctr(h.S, TIDE_MIB_TCPAbortOnData), 0);
	th_run_until(&h, TIDE_MS(110));
	expect_recv_err(h.C, c2, ECONNRESET);
	assert_int_equal(tide_close(h.C, c2), 0);
	th_free(&h);
}

/* LC-K06 / LC-C10: unread data is checked first: RST acknowledging the
 * unread bytes, counted TCPAbortOnClose only. */
static void test_LC_K06_unread_data_wins_over_zero_linger(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd, lfd;
	setup(&h, NULL, &cfd, &sfd, &lfd);
	assert_int_equal(tide_send(h.S, sfd, "hi", 2, 0), 2);
	th_run_until(&h, TIDE_MS(10));
	set_linger(h.C, cfd, 1, 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_expect_seg_at(&h, 5, TIDE_MS(10), h.c, RA, 101, 303, 0);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPAbortOnClose), 1);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPAbortOnData), 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* ---- SO_LINGER {1, N} (LC-K06) ----------------------------------------- */

/* LC-K06: with a linger time close() returns at once (tide never blocks)
 * and the segments are a plain close's; the moment a blocking close would
 * return is the connection leaving FIN_WAIT_1 (here when the ACK of the
 * FIN, sent at the peer's next tick, arrives at 6 ms), which a driver sees
 * in on_state. */
static void test_LC_K06_linger_n_close_same_segments_as_plain_close(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd, lfd;
	setup(&h, NULL, &cfd, &sfd, &lfd);
	set_linger(h.C, cfd, 1, 5);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_expect_seg_at(&h, 3, T0, h.c, FA, 101, 301, 0);
	th_run_until(&h, TIDE_MS(100));
	th_expect_seg_at(&h, 4, T0 + TIDE_MS(2), h.s, AK, 301, 102, 0);
	th_expect_nsegs(&h, 5);
	th_expect_state_at(&h, h.c, 3, T0 + TIDE_MS(3), FW1, FW2);
	assert_int_equal(ctr(h.C, TIDE_MIB_OutRsts), 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* LC-K06: when the linger time runs out before the FIN is acknowledged,
 * Linux's close() returns and the connection goes on as an orphan: no RST,
 * the FIN is retransmitted on the orphan's schedule past the 5 s. */
static void test_LC_K06_linger_timeout_sends_no_rst(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd, lfd;
	setup(&h, NULL, &cfd, &sfd, &lfd);
	tide_sim_cut_link(h.sim, T0, TIDE_TIME_NEVER);
	set_linger(h.C, cfd, 1, 5);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_until(&h, T0 + TIDE_SEC(8));
	static const unsigned at_ms[] = { 0, 202, 606, 1414, 3030, 6262 };
	for (size_t i = 0; i < 6; i++)
		th_expect_seg_at(&h, 3 + i, T0 + TIDE_MS(at_ms[i]), h.c, FA, 101, 301, 0);
	th_expect_nsegs(&h, 9);
	EXPECT_STATES(&h, h.c, SYN_SENT, EST, FW1);
	assert_int_equal(ctr(h.C, TIDE_MIB_OutRsts), 0);
	assert_int_equal(h.C->orphans, 1);
	assert_int_equal(tide_close(h.S, sfd), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* LC-K06: the option itself, as Linux 6.18 handles it: shorter than a
 * struct linger EINVAL (shorter than an int too, before EFAULT for a NULL
 * value); getsockopt returns what was set; {0, x} turns lingering off but
 * keeps the time; l_onoff is a boolean; a negative time means linger for
 * ever, not zero (close() sends a FIN); accept() copies the listener's. */
static void test_LC_K06_so_linger_option(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int fd = tide_socket(h.C, AF_INET, SOCK_STREAM, 0);
	struct linger lg = { 1, 7 };
	errno = 0;
	expect_err(tide_setsockopt(h.C, fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(int)), EINVAL);
	expect_err(tide_setsockopt(h.C, fd, SOL_SOCKET, SO_LINGER, &lg, 3), EINVAL);
	expect_err(tide_setsockopt(h.C, fd, SOL_SOCKET, SO_LINGER, NULL, 0), EINVAL);
	expect_err(tide_setsockopt(h.C, fd, SOL_SOCKET, SO_LINGER, NULL, sizeof(lg)), EFAULT);
	struct linger got = get_linger(h.C, fd);
	assert_int_equal(got.l_onoff, 0);
	assert_int_equal(got.l_linger, 0);
	set_linger(h.C, fd, 1, 7);
	got = get_linger(h.C, fd);
	assert_int_equal(got.l_onoff, 1);
	assert_int_equal(got.l_linger, 7);
	set_linger(h.C, fd, 0, 5);
	got = get_linger(h.C, fd);
	assert_int_equal(got.l_onoff, 0);
	assert_int_equal(got.l_linger, 7);
	set_linger(h.C, fd, 5, 3);
	got = get_linger(h.C, fd);
	assert_int_equal(got.l_onoff, 1);
	assert_int_equal(got.l_linger, 3);
	assert_int_equal(tide_close(h.C, fd), 0);

	int lfd = th_listen(&h, h.s, 80, 16);
	set_linger(h.S, lfd, 1, -1);
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_until(&h, T0);
	int sfd = th_accept(&h, h.s, lfd);
	got = get_linger(h.S, sfd);
	assert_int_equal(got.l_onoff, 1);
	assert_int_equal(got.l_linger, -1);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_expect_seg_at(&h, 3, T0, h.s, FA, 301, 101, 0);
	assert_int_equal(ctr(h.S, TIDE_MIB_TCPAbortOnData), 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* LC-O02: TCPAbortOnLinger counts the one abort Linux gives it: close() of
 * a socket in FIN_WAIT_2 whose TCP_LINGER2 is negative sends RST|ACK. */
static void test_LC_O02_tcp_linger2_negative_close_in_fin_wait_2(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd, lfd;
	setup(&h, NULL, &cfd, &sfd, &lfd);
	assert_int_equal(tide_shutdown(h.C, cfd, SHUT_WR), 0);
	th_run_until(&h, TIDE_MS(100));
	assert_int_equal(tide_sock_state(h.C, cfd), FW2);
	int v = -1;
	assert_int_equal(tide_setsockopt(h.C, cfd, IPPROTO_TCP, TCP_LINGER2, &v, sizeof(v)), 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_expect_seg_at(&h, 5, TIDE_MS(100), h.c, RA, 102, 301, 0);
	EXPECT_STATES(&h, h.c, SYN_SENT, EST, FW1, FW2, CLOSED);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPAbortOnLinger), 1);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPAbortOnData), 0);
	assert_int_equal(h.C->orphans, 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* ---- tcp_max_orphans (LC-K13) ----------------------------------------- */

/* LC-K13: what counts as an orphan, as Linux's tcp_orphan_count:
 * connections waiting in an accept queue do not; a closed connection in
 * FIN_WAIT_1 or LAST_ACK does; an orphaned FIN_WAIT_2 does not when its
 * timeout is at most 60 s (Linux keeps it as a TIME_WAIT record), and
 * neither do TIME_WAIT records nor finished connections. Losses keep the
 * server's FINs unacknowledged for a while (RTO 202 ms, doubling). */
static void test_LC_K13_what_counts_as_an_orphan(void **state)
{
	(void)state;
	struct th h;
	int c1, s1, lfd, c2;
	setup(&h, NULL, &c1, &s1, &lfd);
	int s2 = another(&h, lfd, 40001, &c2);                   /* at 6 ms */
	int c3 = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40002);
	th_run_until(&h, TIDE_MS(9));
	assert_int_equal(h.S->orphans, 0); /* 40002 waits in the accept queue */

	tide_sim_cut_link(h.sim, TIDE_MS(9), TIDE_SEC(1));
	assert_int_equal(tide_close(h.S, s1), 0); /* FIN_WAIT_1, FIN lost */
	assert_int_equal(tide_close(h.C, c2), 0); /* its FIN lost too */
	assert_int_equal(h.S->orphans, 1);
	/* the third tries (1423 ms) get through: s1 is FIN_WAIT_2 once the
	 * ACK of its FIN (sent at the next tick: no data came) arrives, s2
	 * CLOSE_WAIT */
	th_run_until(&h, TIDE_SEC(2));
	assert_int_equal(state_time(&h, h.s, 40000, FW2), TIDE_MS(1426));
	assert_int_equal(state_time(&h, h.s, 40001, CW), TIDE_MS(1424));
	assert_int_equal(h.S->orphans, 0);

	tide_sim_cut_link(h.sim, TIDE_SEC(2), TIDE_SEC(10));
	assert_int_equal(tide_close(h.S, s2), 0); /* LAST_ACK, FIN lost */
	assert_int_equal(h.S->orphans, 1);
	assert_int_equal(tide_close(h.C, c1), 0); /* s1 will get its FIN */
	th_run_until(&h, TIDE_SEC(20));
	assert_int_equal(state_time(&h, h.s, 40000, TW), TIDE_MS(14727));
	assert_int_equal(state_time(&h, h.s, 40001, CLOSED), TIDE_MS(14728));
	assert_int_equal(h.S->orphans, 0);
	assert_int_equal(h.S->tw_count, 1);
	int s3 = th_accept(&h, h.s, lfd);
	assert_int_equal(tide_close(h.C, c3), 0);
	assert_int_equal(tide_close(h.S, s3), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* LC-K13: a FIN_WAIT_2 orphan with a timeout longer than 60 s stays a full
 * connection in Linux and counts. */
static void test_LC_K13_long_fin_wait_2_orphan_counts(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .server_settings = "net.ipv4.tcp_fin_timeout = 120\n" };
	int cfd, sfd, lfd;
	setup(&h, &o, &cfd, &sfd, &lfd);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_run_until(&h, TIDE_MS(100));
	assert_int_equal(state_time(&h, h.s, 40000, FW2), T0 + TIDE_MS(3));
	assert_int_equal(h.S->orphans, 1);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_until(&h, TIDE_MS(200));
	assert_int_equal(h.S->orphans, 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* LC-K13: with tcp_max_orphans = 2, close() of a third connection whose
 * FIN cannot be acknowledged yet finds 3 orphans: Linux sends the FIN,
 * then RST|ACK <SEQ=SND.NXT> and ends it (TCPAbortOnMemory). */
static void test_LC_K13_too_many_orphans_reset_at_close(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .server_settings = "net.ipv4.tcp_max_orphans = 2\n" };
	int c1, s1, lfd, c2, c3;
	setup(&h, &o, &c1, &s1, &lfd);
	int s2 = another(&h, lfd, 40001, &c2);
	int s3 = another(&h, lfd, 40002, &c3);
	tide_time t = th_now(&h);
	tide_sim_cut_link(h.sim, t, TIDE_TIME_NEVER);
	size_t base = h.nsegs;
	assert_int_equal(tide_close(h.S, s1), 0);
	assert_int_equal(tide_close(h.S, s2), 0);
	assert_int_equal(h.S->orphans, 2);
	assert_int_equal(ctr(h.S, TIDE_MIB_TCPAbortOnMemory), 0);
	assert_int_equal(tide_close(h.S, s3), 0);
	th_expect_seg_at(&h, base + 0, t, h.s, FA, 301, 101, 0);
	th_expect_seg_at(&h, base + 1, t, h.s, FA, 301, 101, 0);
	th_expect_seg_at(&h, base + 2, t, h.s, FA, 301, 101, 0);
	th_expect_seg_at(&h, base + 3, t, h.s, RA, 302, 101, 0);
	assert_int_equal(th_seg(&h, base + 3)->dport, 40002);
	th_expect_nsegs(&h, base + 4);
	EXPECT_CONN_STATES(&h, h.s, 40002, SYN_RECV, EST, FW1, CLOSED);
	assert_int_equal(state_time(&h, h.s, 40002, CLOSED), t);
	assert_int_equal(ctr(h.S, TIDE_MIB_TCPAbortOnMemory), 1);
	assert_int_equal(h.S->orphans, 2);
	assert_int_equal(tide_close(h.C, c1), 0);
	assert_int_equal(tide_close(h.C, c2), 0);
	assert_int_equal(tide_close(h.C, c3), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* LC-K13: the retransmission timer of an orphan checks again (Linux's
 * tcp_out_of_resources): tcp_max_orphans lowered to 1 under two orphans,
 * the first orphan whose FIN times out is reset (it sent data recently,
 * so with a RST), the second then retransmits as usual. */
static void test_LC_K13_orphan_reset_by_retransmission_timer(void **state)
{
	(void)state;
	struct th h;
	int c1, s1, lfd, c2;
	setup(&h, NULL, &c1, &s1, &lfd);
	int s2 = another(&h, lfd, 40001, &c2); /* at 6 ms */
	tide_sim_cut_link(h.sim, TIDE_MS(10), TIDE_TIME_NEVER);
	th_run_until(&h, TIDE_MS(10));
	assert_int_equal(tide_close(h.S, s1), 0);
	th_run_until(&h, TIDE_MS(20));
	assert_int_equal(tide_close(h.S, s2), 0);
	assert_int_equal(h.S->orphans, 2);
	tide_stack_settings(h.S)->tcp_max_orphans = 1;
	th_run_until(&h, TIDE_MS(300));
	size_t b = 6;
	th_expect_seg_at(&h, b + 0, TIDE_MS(10), h.s, FA, 301, 101, 0);
	th_expect_seg_at(&h, b + 1, TIDE_MS(20), h.s, FA, 301, 101, 0);
	th_expect_seg_at(&h, b + 2, TIDE_MS(212), h.s, RA, 302, 101, 0);
	assert_int_equal(th_seg(&h, b + 2)->dport, 40000);
	th_expect_seg_at(&h, b + 3, TIDE_MS(222), h.s, FA, 301, 101, 0);
	assert_int_equal(th_seg(&h, b + 3)->dport, 40001);
	th_expect_nsegs(&h, b + 4);
	assert_int_equal(state_time(&h, h.s, 40000, CLOSED), TIDE_MS(212));
	assert_int_equal(ctr(h.S, TIDE_MIB_TCPAbortOnMemory), 1);
	assert_int_equal(h.S->orphans, 1);
	assert_int_equal(tide_close(h.C, c1), 0);
	assert_int_equal(tide_close(h.C, c2), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* One orphan against tcp_max_orphans 1: the server closes at 300 s with
 * the link down from then on; with send_data it sent a byte at 299 s. */
static void long_idle_orphan(struct th *h, bool send_data)
{
	struct th_opts o = { .server_settings = "net.ipv4.tcp_max_orphans = 1\n" };
	int cfd, sfd, lfd;
	setup(h, &o, &cfd, &sfd, &lfd);
	if (send_data) {
		th_run_until(h, TIDE_SEC(299));
		assert_int_equal(tide_send(h->S, sfd, "x", 1, 0), 1);
	}
	th_run_until(h, TIDE_SEC(300));
	tide_sim_cut_link(h->sim, TIDE_SEC(300), TIDE_TIME_NEVER);
	assert_int_equal(tide_close(h->S, sfd), 0);
	assert_int_equal(h->S->orphans, 1);
	assert_int_equal(tide_close(h->S, lfd), 0);
	th_run_until(h, TIDE_SEC(300) + TIDE_MS(300));
}

/* LC-K13: an orphan that sent no data for over 240 s (2 * TCP_RTO_MAX)
 * counts double at its retransmission timer: one orphan against a limit
 * of 1 is reset at the first RTO; with data sent a second before the
 * close the FIN is retransmitted instead. */
static void test_LC_K13_silent_orphan_counts_double(void **state)
{
	(void)state;
	struct th h;
	long_idle_orphan(&h, false);
	th_expect_seg_at(&h, 3, TIDE_SEC(300), h.s, FA, 301, 101, 0);
	th_expect_seg_at(&h, 4, TIDE_SEC(300) + TIDE_MS(202), h.s, RA, 302, 101, 0);
	th_expect_nsegs(&h, 5);
	assert_int_equal(ctr(h.S, TIDE_MIB_TCPAbortOnMemory), 1);
	assert_int_equal(h.S->orphans, 0);
	assert_int_equal(tide_close(h.C, 3), 0);
	th_free(&h);

	long_idle_orphan(&h, true);
	/* data at 299 s and its ACK, FIN at 300 s, FIN again at the first
	 * RTO (202 ms) */
	th_expect_seg_at(&h, 5, TIDE_SEC(300), h.s, FA, 302, 101, 0);
	th_expect_seg_at(&h, 6, TIDE_SEC(300) + TIDE_MS(202), h.s, FA, 302, 101, 0);
	th_expect_nsegs(&h, 7);
	assert_int_equal(ctr(h.S, TIDE_MIB_TCPAbortOnMemory), 0);
	assert_int_equal(h.S->orphans, 1);
	assert_int_equal(tide_close(h.C, 3), 0);
	th_free(&h);
}

/* ---- dying processes (LC-C12) ------------------------------------------ */

/* LC-C12: the owner API: EBADF for no descriptor; accept() gives the new
 * socket its listener's owner; releasing an owner closes exactly its
 * descriptors (sockets and epoll) and says how many. */
static void test_LC_C12_owner_api(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	errno = 0;
	expect_err(tide_sock_set_owner(h.S, 42, 1), EBADF);
	assert_int_equal(tide_release_owner(h.S, 9), 0);
	int lfd = th_listen(&h, h.s, 80, 16);
	assert_int_equal(tide_sock_set_owner(h.S, lfd, 9), 0);
	int ep = tide_epoll_create(h.S);
	int other = tide_socket(h.S, AF_INET, SOCK_STREAM, 0); /* owner 0 */
	assert_int_equal(tide_sock_set_owner(h.S, ep, 9), 0);
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_until(&h, T0);
	int sfd = th_accept(&h, h.s, lfd);
	assert_int_equal(tide_release_owner(h.S, 9), 3);
	errno = 0;
	expect_err(tide_close(h.S, sfd), EBADF);
	expect_err(tide_close(h.S, ep), EBADF);
	expect_err(tide_close(h.S, lfd), EBADF);
	assert_int_equal(tide_sock_state(h.S, other), CLOSED);
	assert_int_equal(tide_release_owner(h.S, 9), 0);
	assert_int_equal(tide_release_owner(h.S, 0), 1);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_free(&h);
}

/* LC-C12: a server process dies holding a listener with two connections it
 * never accepted, three accepted connections (one with unread data) and
 * an epoll instance. The stack closes each as close() would, from the
 * highest descriptor down as Linux 6.18 does (a SIGKILLed process's peers
 * see fd 7's FIN, fd 6's RST, fd 5's FIN, then the listener's RSTs): the
 * connection with unread data is reset, the listener resets its queue,
 * the others send their FIN and finish the close without the process
 * (FIN_WAIT_1, FIN_WAIT_2, TIME_WAIT, CLOSED) when their clients close
 * 100 ms after reading the end of data. Another process's listener is
 * untouched. */
static void test_LC_C12_dying_process_connections_close_without_it(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	const uint32_t pid = 7;
	int lfd = th_listen(&h, h.s, 80, 16);                 /* fd 3 */
	assert_int_equal(tide_sock_set_owner(h.S, lfd, pid), 0);
	int l81 = th_listen(&h, h.s, 81, 16);                 /* fd 4, owner 0 */
	int cfd[5];
	for (int i = 0; i < 5; i++)
		cfd[i] = th_connect(&h, h.c, TH_SERVER_ADDR, 80, (uint16_t)(40000 + i));
	th_run_until(&h, T0);
	int a = th_accept(&h, h.s, lfd);                      /* fds 5, 6, 7 */
	assert_int_equal(a, 5);
	assert_int_equal(th_accept(&h, h.s, lfd), 6);         /* unread data */
	assert_int_equal(th_accept(&h, h.s, lfd), 7);
	int ep = tide_epoll_create(h.S);                      /* fd 8 */
	assert_int_equal(tide_sock_set_owner(h.S, ep, pid), 0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = a };
	assert_int_equal(tide_epoll_ctl(h.S, ep, EPOLL_CTL_ADD, a, &ev), 0);
	assert_int_equal(tide_send(h.C, cfd[1], "hi", 2, 0), 2);
	th_run_until(&h, TIDE_MS(10));
	size_t base = h.nsegs;

	assert_int_equal(tide_release_owner(h.S, pid), 5);
	tide_time t = TIDE_MS(10);
	th_expect_seg_at(&h, base + 0, t, h.s, FA, 301, 101, 0);   /* fd 7 */
	th_expect_seg_at(&h, base + 1, t, h.s, RA, 301, 103, 0);   /* fd 6, unread "hi" */
	th_expect_seg_at(&h, base + 2, t, h.s, FA, 301, 101, 0);   /* fd 5 */
	th_expect_seg_at(&h, base + 3, t, h.s, RA, 301, 101, 0);   /* fd 3's queue */
	th_expect_seg_at(&h, base + 4, t, h.s, RA, 301, 101, 0);
	static const uint16_t port[5] = { 40002, 40001, 40000, 40003, 40004 };
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(th_seg(&h, base + i)->dport, port[i]);
	th_expect_nsegs(&h, base + 5);
	assert_int_equal(h.S->orphans, 2);
	assert_int_equal(ctr(h.S, TIDE_MIB_TCPAbortOnClose), 1);
	errno = 0;
	expect_err(tide_close(h.S, ep), EBADF);
	for (int fd = 3; fd <= 8; fd++)
		if (fd != l81)
			expect_err(tide_close(h.S, fd), EBADF);
	assert_int_equal(tide_sock_state(h.S, l81), LISTEN);

	/* The clients: reset ones see ECONNRESET; the others read the end of
	 * data and close 100 ms later. */
	th_run_until(&h, TIDE_MS(11));
	static const int reset[3] = { 1, 3, 4 };
	for (int i = 0; i < 3; i++)
		expect_recv_err(h.C, cfd[reset[i]], ECONNRESET);
	char buf[4];
	assert_int_equal(tide_recv(h.C, cfd[0], buf, sizeof(buf), 0), 0);
	assert_int_equal(tide_recv(h.C, cfd[2], buf, sizeof(buf), 0), 0);
	th_run_until(&h, TIDE_MS(111));
	assert_int_equal(tide_close(h.C, cfd[0]), 0);
	assert_int_equal(tide_close(h.C, cfd[2]), 0);
	th_run_until(&h, TIDE_MS(112) + TIDE_SEC(60));
	static const uint16_t fin_port[2] = { 40000, 40002 };
	for (int i = 0; i < 2; i++) {
		uint16_t p = fin_port[i];
		EXPECT_CONN_STATES(&h, h.s, p, SYN_RECV, EST, FW1, FW2, TW, CLOSED);
		assert_int_equal(state_time(&h, h.s, p, FW1), t);
		assert_int_equal(state_time(&h, h.s, p, FW2), TIDE_MS(13));
		assert_int_equal(state_time(&h, h.s, p, TW), TIDE_MS(112));
		assert_int_equal(state_time(&h, h.s, p, CLOSED), TIDE_MS(112) + TIDE_SEC(60));
		EXPECT_CONN_STATES(&h, h.c, p, SYN_SENT, EST, CW, LA, CLOSED);
		assert_int_equal(state_time(&h, h.c, p, CLOSED), TIDE_MS(113));
	}
	static const uint16_t rst_port[3] = { 40001, 40003, 40004 };
	for (int i = 0; i < 3; i++) {
		uint16_t p = rst_port[i];
		EXPECT_CONN_STATES(&h, h.s, p, SYN_RECV, EST, CLOSED);
		assert_int_equal(state_time(&h, h.s, p, CLOSED), t);
		EXPECT_CONN_STATES(&h, h.c, p, SYN_SENT, EST, CLOSED);
		assert_int_equal(state_time(&h, h.c, p, CLOSED), TIDE_MS(11));
	}
	/* after the process: FIN, ACK of its FIN, TIME_WAIT's ACK per closer */
	for (size_t i = base + 5; i < h.nsegs; i++)
		assert_int_equal(th_seg(&h, i)->flags & (TIDE_TCP_RST | TIDE_TCP_SYN), 0);
	th_expect_nsegs(&h, base + 5 + 2 * 3);
	assert_int_equal(h.S->orphans, 0);
	size_t n = 0;
	assert_int_equal(tide_stack_foreach_conn(h.S, count_conn, &n), 1); /* l81 */
	for (int i = 0; i < 3; i++)
		assert_int_equal(tide_close(h.C, cfd[reset[i]]), 0);
	assert_int_equal(tide_close(h.S, l81), 0);
	th_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_LC_K06_linger_zero_close_sends_rst_skips_time_wait),
		cmocka_unit_test(test_LC_K06_linger_zero_in_close_wait),
		cmocka_unit_test(test_LC_K06_linger_zero_in_fin_wait_1),
		cmocka_unit_test(test_LC_K06_linger_zero_in_fin_wait_2),
		cmocka_unit_test(test_LC_K06_linger_zero_in_last_ack_sends_nothing),
		cmocka_unit_test(test_LC_K06_linger_zero_in_syn_sent_sends_nothing),
		cmocka_unit_test(test_LC_K06_linger_zero_on_listener_and_after_time_wait),
		cmocka_unit_test(test_LC_K06_unread_data_wins_over_zero_linger),
		cmocka_unit_test(test_LC_K06_linger_n_close_same_segments_as_plain_close),
		cmocka_unit_test(test_LC_K06_linger_timeout_sends_no_rst),
		cmocka_unit_test(test_LC_K06_so_linger_option),
		cmocka_unit_test(test_LC_O02_tcp_linger2_negative_close_in_fin_wait_2),
		cmocka_unit_test(test_LC_K13_what_counts_as_an_orphan),
		cmocka_unit_test(test_LC_K13_long_fin_wait_2_orphan_counts),
		cmocka_unit_test(test_LC_K13_too_many_orphans_reset_at_close),
		cmocka_unit_test(test_LC_K13_orphan_reset_by_retransmission_timer),
		cmocka_unit_test(test_LC_K13_silent_orphan_counts_double),
		cmocka_unit_test(test_LC_C12_owner_api),
		cmocka_unit_test(test_LC_C12_dying_process_connections_close_without_it),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
