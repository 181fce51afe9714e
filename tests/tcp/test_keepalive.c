/*
 * Keepalive (catalogue LC-K05) and what it is for: dead networks (LC-D05)
 * and middleboxes that forget idle connections (LC-O04), with the counters
 * Linux keeps for it (LC-O02).
 *
 * Linux's rules (tcp_keepalive_timer, keepalive_time_elapsed,
 * tcp_set_keepalive and the TCP_KEEP* handlers of tcp.c):
 *  - idle time counts from the later of the last in-order data and the
 *    last acceptable ACK received; nothing in flight and nothing queued;
 *  - a probe is an ACK with SEQ = SND.UNA - 1 (no data); the peer answers
 *    with an ACK, which resets the count of probes out;
 *  - after keepcnt unanswered probes and one more interval: RST|ACK at
 *    SND.NXT, ETIMEDOUT, TCPAbortOnTimeout; with TCP_USER_TIMEOUT, once the
 *    idle time reaches it and a probe is out (keepcnt is then ignored);
 *  - SO_KEEPALIVE on arms the timer a full idle time from now (again on:
 *    nothing; off: stops it); TCP_KEEPIDLE re-arms it for what is left of
 *    the new idle time; TCP_KEEP* values are per socket, the sysctls are
 *    read when a socket has none, and a listener passes them on.
 *
 * Fixture: client 198.18.0.1:40000 (ISN 100), server 198.18.0.2:80 (ISN
 * 300), 1 ms one way; the handshake is segments #0..#2: the client hears
 * the SYN-ACK at 2 ms, the server the ACK at 3 ms. A client probe is
 * ACK 100/301, the server's answer ACK 301/101.
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
#define RA (TIDE_TCP_RST | TIDE_TCP_ACK)
#define PA (TIDE_TCP_PSH | TIDE_TCP_ACK)
#define T0 TIDE_MS(3)     /* th_establish returns at 3 ms */
#define C_PROBE 100u      /* client's SND.UNA - 1 */
#define S_PROBE 300u      /* server's SND.UNA - 1 */

#define EXPECT_STATES(h, node, ...)                                           \
	do {                                                                  \
		static const int s_[] = { __VA_ARGS__ };                       \
		th_expect_states((h), (node), s_, sizeof(s_) / sizeof(s_[0])); \
	} while (0)

enum {
	EST = TIDE_TCP_ESTABLISHED,
	SYN_SENT = TIDE_TCP_SYN_SENT,
	CLOSED = TIDE_TCP_CLOSE,
};

/* ---- helpers ---------------------------------------------------------- */

static void set_int(tide_stack *st, int fd, int level, int name, int v)
{
	assert_int_equal(tide_setsockopt(st, fd, level, name, &v, sizeof(v)), 0);
}

static int get_int(tide_stack *st, int fd, int level, int name)
{
	int v = -1;
	socklen_t len = sizeof(v);
	assert_int_equal(tide_getsockopt(st, fd, level, name, &v, &len), 0);
	assert_int_equal(len, sizeof(v));
	return v;
}

/* TCP_KEEPIDLE/INTVL/CNT (0: leave the default), then SO_KEEPALIVE on. */
static void keepalive(tide_stack *st, int fd, int idle, int intvl, int cnt)
{
	if (idle)
		set_int(st, fd, IPPROTO_TCP, TCP_KEEPIDLE, idle);
	if (intvl)
		set_int(st, fd, IPPROTO_TCP, TCP_KEEPINTVL, intvl);
	if (cnt)
		set_int(st, fd, IPPROTO_TCP, TCP_KEEPCNT, cnt);
	set_int(st, fd, SOL_SOCKET, SO_KEEPALIVE, 1);
}

static void expect_err(ssize_t r, int err)
{
	assert_int_equal(r, -1);
	assert_int_equal(errno, err);
}

/* The application's view of a connection keepalive killed: ETIMEDOUT once
 * (here from recv), then end of file, and EPIPE on send. */
static void expect_timed_out(tide_stack *st, int fd)
{
	char b[8];
	assert_int_equal(tide_sock_state(st, fd), CLOSED);
	errno = 0;
	expect_err(tide_recv(st, fd, b, sizeof(b), 0), ETIMEDOUT);
	assert_int_equal(tide_recv(st, fd, b, sizeof(b), 0), 0);
	errno = 0;
	expect_err(tide_send(st, fd, "x", 1, 0), EPIPE);
}

static uint64_t ctr(tide_stack *st, enum tide_counter c)
{
	return tide_stack_counter(st, c);
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

/* ---- defaults and options --------------------------------------------- */

/* LC-K05: keepalive is off by default; TCP_KEEPIDLE/INTVL/CNT report the
 * socket's own value or, without one, the sysctl as it is now (Linux's
 * keepalive_time_when reads it at every use); accept() inherits the
 * listener's values. */
static void test_LC_K05_options_fall_back_to_live_sysctls(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .server_settings = "net.ipv4.tcp_keepalive_time = 600\n"
						"net.ipv4.tcp_keepalive_intvl = 30\n"
						"net.ipv4.tcp_keepalive_probes = 4\n" };
	th_init(&h, &o);
	int u = tide_socket(h.S, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(get_int(h.S, u, SOL_SOCKET, SO_KEEPALIVE), 0);
	assert_int_equal(get_int(h.S, u, IPPROTO_TCP, TCP_KEEPIDLE), 600);
	assert_int_equal(get_int(h.S, u, IPPROTO_TCP, TCP_KEEPINTVL), 30);
	assert_int_equal(get_int(h.S, u, IPPROTO_TCP, TCP_KEEPCNT), 4);
	set_int(h.S, u, IPPROTO_TCP, TCP_KEEPCNT, 7);
	tide_stack_settings(h.S)->tcp_keepalive_time = 900;
	assert_int_equal(get_int(h.S, u, IPPROTO_TCP, TCP_KEEPIDLE), 900);
	assert_int_equal(get_int(h.S, u, IPPROTO_TCP, TCP_KEEPCNT), 7);
	tide_stack_settings(h.S)->tcp_keepalive_probes = 5;
	assert_int_equal(get_int(h.S, u, IPPROTO_TCP, TCP_KEEPCNT), 7);

	/* a listener's values go to the connections it accepts */
	int lfd = th_listen(&h, h.s, 80, 16);
	keepalive(h.S, lfd, 20, 0, 3);
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_until(&h, T0);
	int sfd = th_accept(&h, h.s, lfd);
	assert_int_equal(get_int(h.S, sfd, SOL_SOCKET, SO_KEEPALIVE), 1);
	assert_int_equal(get_int(h.S, sfd, IPPROTO_TCP, TCP_KEEPIDLE), 20);
	assert_int_equal(get_int(h.S, sfd, IPPROTO_TCP, TCP_KEEPINTVL), 30);
	assert_int_equal(get_int(h.S, sfd, IPPROTO_TCP, TCP_KEEPCNT), 3);
	tide_stack_settings(h.S)->tcp_keepalive_intvl = 45;
	assert_int_equal(get_int(h.S, sfd, IPPROTO_TCP, TCP_KEEPINTVL), 45);
	assert_int_equal(tide_close(h.S, u), 0);
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* LC-K05 with Linux's defaults: the first probe 7200 s after SO_KEEPALIVE
 * was turned on; the answer makes the connection idle again from the
 * moment it arrived, so the next probe comes 7200 s after it. */
static void test_LC_K05_default_probe_after_two_hours(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd, lfd;
	th_init(&h, NULL);
	th_establish(&h, &cfd, &sfd, &lfd);
	keepalive(h.C, cfd, 0, 0, 0);
	tide_time p1 = T0 + TIDE_SEC(7200);
	th_run_until(&h, p1 - 1);
	th_expect_nsegs(&h, 3);
	th_run_until(&h, p1 + TIDE_MS(2) + TIDE_SEC(7200));
	th_expect_seg_at(&h, 3, p1, h.c, AK, C_PROBE, 301, 0);
	th_expect_seg_at(&h, 4, p1 + TIDE_MS(1), h.s, AK, 301, 101, 0);
	th_expect_seg_at(&h, 5, p1 + TIDE_MS(2) + TIDE_SEC(7200), h.c, AK, C_PROBE, 301, 0);
	th_expect_nsegs(&h, 6);
	assert_int_equal(tide_sock_state(h.C, cfd), EST);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPAbortOnTimeout), 0);
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* LC-K05: unanswered probes (the network died): keepcnt probes keepintvl
 * apart, then one more interval and RST|ACK at SND.NXT; the application
 * gets ETIMEDOUT; TCPAbortOnTimeout, OutRsts and EstabResets count it. */
static void test_LC_K05_unanswered_probes_reset_with_etimedout(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd, lfd;
	th_init(&h, NULL);
	th_establish(&h, &cfd, &sfd, &lfd);
	tide_sim_cut_link(h.sim, T0, TIDE_TIME_NEVER);
	keepalive(h.C, cfd, 10, 5, 3);
	th_run_until(&h, T0 + TIDE_SEC(100));
	th_expect_seg_at(&h, 3, T0 + TIDE_SEC(10), h.c, AK, C_PROBE, 301, 0);
	th_expect_seg_at(&h, 4, T0 + TIDE_SEC(15), h.c, AK, C_PROBE, 301, 0);
	th_expect_seg_at(&h, 5, T0 + TIDE_SEC(20), h.c, AK, C_PROBE, 301, 0);
	th_expect_seg_at(&h, 6, T0 + TIDE_SEC(25), h.c, RA, 101, 301, 0);
	th_expect_nsegs(&h, 7);
	EXPECT_STATES(&h, h.c, SYN_SENT, EST, CLOSED);
	th_expect_state_at(&h, h.c, 2, T0 + TIDE_SEC(25), EST, CLOSED);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPAbortOnTimeout), 1);
	assert_int_equal(ctr(h.C, TIDE_MIB_OutRsts), 1);
	assert_int_equal(ctr(h.C, TIDE_MIB_EstabResets), 1);
	assert_int_equal(tide_stack_curr_estab(h.C), 0);
	expect_timed_out(h.C, cfd);
	/* the server, without keepalive, never learns */
	assert_int_equal(tide_sock_state(h.S, sfd), EST);
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* LC-K05: SO_ERROR reports the ETIMEDOUT once; so does a first send. */
static void test_LC_K05_timeout_reported_by_so_error_and_send(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd, lfd;
	th_init(&h, NULL);
	th_establish(&h, &cfd, &sfd, &lfd);
	int c2 = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40001);
	th_run_until(&h, TIDE_MS(6));
	int s2 = th_accept(&h, h.s, lfd);
	tide_sim_cut_link(h.sim, TIDE_MS(6), TIDE_TIME_NEVER);
	keepalive(h.C, cfd, 1, 1, 1);
	keepalive(h.C, c2, 1, 1, 1);
	th_run_until(&h, TIDE_SEC(3));
	assert_int_equal(get_int(h.C, cfd, SOL_SOCKET, SO_ERROR), ETIMEDOUT);
	assert_int_equal(get_int(h.C, cfd, SOL_SOCKET, SO_ERROR), 0);
	errno = 0;
	expect_err(tide_send(h.C, c2, "x", 1, 0), ETIMEDOUT);
	errno = 0;
	expect_err(tide_send(h.C, c2, "x", 1, 0), EPIPE);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPAbortOnTimeout), 2);
	assert_int_equal(tide_close(h.C, c2), 0);
	assert_int_equal(tide_close(h.S, s2), 0);
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* LC-K05: an answered probe starts the count over (any acceptable ACK
 * resets it, as Linux's tcp_ack): with keepcnt 2, the first probe lost
 * and the second answered, the third probe comes a full idle time after
 * the answer instead of a RST. */
static void test_LC_K05_answered_probe_resets_the_count(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd, lfd;
	th_init(&h, NULL);
	th_establish(&h, &cfd, &sfd, &lfd);
	struct tide_fault f = { .from = h.c, .flags_mask = 0xff, .flags_match = AK, .nth = 1,
				.action = TIDE_FAULT_DROP };
	assert_true(tide_sim_add_fault(h.sim, &f) >= 0);
	keepalive(h.C, cfd, 10, 5, 2);
	th_run_until(&h, TIDE_SEC(35));
	th_expect_seg_at(&h, 3, T0 + TIDE_SEC(10), h.c, AK, C_PROBE, 301, 0); /* lost */
	th_expect_seg_at(&h, 4, T0 + TIDE_SEC(15), h.c, AK, C_PROBE, 301, 0);
	th_expect_seg_at(&h, 5, T0 + TIDE_SEC(15) + TIDE_MS(1), h.s, AK, 301, 101, 0);
	tide_time answered = T0 + TIDE_SEC(15) + TIDE_MS(2);
	th_expect_seg_at(&h, 6, answered + TIDE_SEC(10), h.c, AK, C_PROBE, 301, 0);
	th_expect_seg_at(&h, 7, answered + TIDE_SEC(10) + TIDE_MS(1), h.s, AK, 301, 101, 0);
	th_expect_nsegs(&h, 8);
	assert_int_equal(tide_sock_state(h.C, cfd), EST);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPAbortOnTimeout), 0);
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* LC-K05: SO_KEEPALIVE like Linux's tcp_set_keepalive: on arms the timer
 * a full idle time from now, on again changes nothing, off stops it, on
 * later arms it from then. */
static void test_LC_K05_so_keepalive_on_again_off_on(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd, lfd;
	th_init(&h, NULL);
	th_establish(&h, &cfd, &sfd, &lfd);
	keepalive(h.C, cfd, 10, 5, 0);
	th_run_until(&h, TIDE_SEC(5));
	set_int(h.C, cfd, SOL_SOCKET, SO_KEEPALIVE, 1); /* already on */
	th_run_until(&h, TIDE_SEC(12));
	th_expect_seg_at(&h, 3, T0 + TIDE_SEC(10), h.c, AK, C_PROBE, 301, 0);
	th_expect_seg_at(&h, 4, T0 + TIDE_SEC(10) + TIDE_MS(1), h.s, AK, 301, 101, 0);
	set_int(h.C, cfd, SOL_SOCKET, SO_KEEPALIVE, 0);
	assert_int_equal(get_int(h.C, cfd, SOL_SOCKET, SO_KEEPALIVE), 0);
	th_run_until(&h, TIDE_SEC(100));
	th_expect_nsegs(&h, 5);
	assert_int_equal(tide_stack_next_timer(h.C), TIDE_TIME_NEVER);
	set_int(h.C, cfd, SOL_SOCKET, SO_KEEPALIVE, 1);
	th_run_until(&h, TIDE_SEC(111));
	th_expect_seg_at(&h, 5, TIDE_SEC(110), h.c, AK, C_PROBE, 301, 0);
	th_expect_seg_at(&h, 6, TIDE_SEC(110) + TIDE_MS(1), h.s, AK, 301, 101, 0);
	th_expect_nsegs(&h, 7);
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* LC-K05: TCP_KEEPIDLE on a running keepalive re-arms it for what is left
 * of the new idle time (idle since the SYN-ACK at 2 ms: a 50 s idle time
 * set at 30 s fires at 50.002 s), or at once when the connection has been
 * idle longer; with an interval longer than the idle time the interval
 * paces the probes. */
static void test_LC_K05_keepidle_rearms_counting_elapsed_idle(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd, lfd;
	th_init(&h, NULL);
	th_establish(&h, &cfd, &sfd, &lfd);
	keepalive(h.C, cfd, 0, 0, 0);
	th_run_until(&h, TIDE_SEC(30));
	set_int(h.C, cfd, IPPROTO_TCP, TCP_KEEPIDLE, 50);
	th_run_until(&h, TIDE_SEC(60));
	tide_time p1 = TIDE_SEC(50) + TIDE_MS(2);
	th_expect_seg_at(&h, 3, p1, h.c, AK, C_PROBE, 301, 0);
	th_expect_seg_at(&h, 4, p1 + TIDE_MS(1), h.s, AK, 301, 101, 0);
	th_expect_nsegs(&h, 5);
	set_int(h.C, cfd, IPPROTO_TCP, TCP_KEEPIDLE, 5); /* idle 9.996 s already */
	th_run_until(&h, TIDE_SEC(136));
	th_expect_seg_at(&h, 5, TIDE_SEC(60), h.c, AK, C_PROBE, 301, 0);
	th_expect_seg_at(&h, 6, TIDE_SEC(60) + TIDE_MS(1), h.s, AK, 301, 101, 0);
	th_expect_seg_at(&h, 7, TIDE_SEC(135), h.c, AK, C_PROBE, 301, 0); /* + 75 s */
	th_expect_seg_at(&h, 8, TIDE_SEC(135) + TIDE_MS(1), h.s, AK, 301, 101, 0);
	th_expect_nsegs(&h, 9);
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* LC-K05: options set before connect() stay with the socket, and the
 * timer starts when the connection is established (the SYN-ACK at 2 ms),
 * not when SO_KEEPALIVE was set. */
static void test_LC_K05_options_before_connect(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int lfd = th_listen(&h, h.s, 80, 16);
	int cfd = tide_socket(h.C, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	keepalive(h.C, cfd, 10, 2, 1);
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(80),
				   .sin_addr.s_addr = htonl(TH_SERVER_ADDR) };
	errno = 0;
	expect_err(tide_connect(h.C, cfd, (const struct sockaddr *)&sin, sizeof(sin)), EINPROGRESS);
	tide_sim_cut_link(h.sim, T0, TIDE_TIME_NEVER);
	th_run_until(&h, TIDE_SEC(20));
	th_expect_seg_at(&h, 3, TIDE_MS(2) + TIDE_SEC(10), h.c, AK, C_PROBE, 301, 0);
	th_expect_seg_at(&h, 4, TIDE_MS(2) + TIDE_SEC(12), h.c, RA, 101, 301, 0);
	th_expect_nsegs(&h, 5);
	assert_int_equal(tide_sock_state(h.C, cfd), CLOSED);
	assert_int_equal(get_int(h.C, cfd, IPPROTO_TCP, TCP_KEEPIDLE), 10);
	int sfd = th_accept(&h, h.s, lfd);
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* LC-K05: a listener's keepalive settings work on the accepted side: the
 * server's child was born at 3 ms, its probes are ACK 300/101. */
static void test_LC_K05_accepted_connection_probes_with_listener_settings(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int lfd = th_listen(&h, h.s, 80, 16);
	keepalive(h.S, lfd, 20, 2, 1);
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_until(&h, T0);
	int sfd = th_accept(&h, h.s, lfd);
	tide_sim_cut_link(h.sim, T0, TIDE_TIME_NEVER);
	th_run_until(&h, TIDE_SEC(30));
	th_expect_seg_at(&h, 3, T0 + TIDE_SEC(20), h.s, AK, S_PROBE, 101, 0);
	th_expect_seg_at(&h, 4, T0 + TIDE_SEC(22), h.s, RA, 301, 101, 0);
	th_expect_nsegs(&h, 5);
	expect_timed_out(h.S, sfd);
	assert_int_equal(ctr(h.S, TIDE_MIB_TCPAbortOnTimeout), 1);
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* LC-K05: while data is in flight keepalive stays quiet ("alive without
 * keepalive", it re-arms a full idle time later): the retransmission
 * timer watches the peer and ends the connection by its own budget
 * (tcp_retries2 3: 3.0 s from the first send), without a RST. */
static void test_LC_K05_no_probe_while_data_in_flight(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .client_settings = "net.ipv4.tcp_retries2 = 3\n" };
	int cfd, sfd, lfd;
	th_init(&h, &o);
	th_establish(&h, &cfd, &sfd, &lfd);
	tide_sim_cut_link(h.sim, T0, TIDE_TIME_NEVER);
	keepalive(h.C, cfd, 10, 1, 1);
	th_run_until(&h, TIDE_SEC(9));
	assert_int_equal(tide_send(h.C, cfd, "0123456789", 10, 0), 10);
	th_run_until(&h, TIDE_SEC(60));
	th_expect_seg_at(&h, 3, TIDE_SEC(9), h.c, PA, 101, 301, 10);
	th_expect_seg_at(&h, 4, TIDE_SEC(9) + TIDE_MS(202), h.c, PA, 101, 301, 10);
	th_expect_seg_at(&h, 5, TIDE_SEC(9) + TIDE_MS(606), h.c, PA, 101, 301, 10);
	th_expect_seg_at(&h, 6, TIDE_SEC(9) + TIDE_MS(1414), h.c, PA, 101, 301, 10);
	th_expect_nsegs(&h, 7);
	th_expect_state_at(&h, h.c, 2, TIDE_SEC(9) + TIDE_MS(3030), EST, CLOSED);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPAbortOnTimeout), 1);
	assert_int_equal(ctr(h.C, TIDE_MIB_OutRsts), 0);
	expect_timed_out(h.C, cfd);
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* The server host reboots: a fresh stack at the same address, with the
 * same configuration and no connection (the old descriptors are gone). */
static void reboot_server(struct th *h)
{
	struct tide_config cfg = h->S->cfg;
	assert_int_equal(tide_sim_replace_stack(h->sim, h->s, &cfg), 0);
	h->S = tide_sim_stack(h->sim, h->s);
}

/* LC-K05: a rebooted peer has no connection: it answers the probe with
 * RST <SEQ=SEG.ACK>, and the client gets ECONNRESET (EstabResets). */
static void test_LC_K05_rebooted_peer_answers_probe_with_rst(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd, lfd;
	th_init(&h, NULL);
	th_establish(&h, &cfd, &sfd, &lfd);
	keepalive(h.C, cfd, 10, 5, 3);
	th_run_until(&h, TIDE_SEC(1));
	reboot_server(&h);
	th_run_until(&h, TIDE_SEC(20));
	th_expect_seg_at(&h, 3, T0 + TIDE_SEC(10), h.c, AK, C_PROBE, 301, 0);
	th_expect_seg_at(&h, 4, T0 + TIDE_SEC(10) + TIDE_MS(1), h.s, TIDE_TCP_RST, 301, 0, 0);
	th_expect_nsegs(&h, 5);
	th_expect_state_at(&h, h.c, 2, T0 + TIDE_SEC(10) + TIDE_MS(2), EST, CLOSED);
	char b[4];
	errno = 0;
	expect_err(tide_recv(h.C, cfd, b, sizeof(b), 0), ECONNRESET);
	assert_int_equal(ctr(h.C, TIDE_MIB_EstabResets), 1);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPAbortOnTimeout), 0);
	assert_int_equal(ctr(h.S, TIDE_MIB_OutRsts), 1);
	(void)sfd;
	(void)lfd;
	close_all(&h, cfd, -1, -1);
	th_free(&h);
}

/* LC-K05: data sent to a rebooted peer gets the same RST: the write
 * succeeded, the next read reports ECONNRESET, the next write EPIPE. */
static void test_LC_K05_rebooted_peer_answers_data_with_rst(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd, lfd;
	th_init(&h, NULL);
	th_establish(&h, &cfd, &sfd, &lfd);
	th_run_until(&h, TIDE_SEC(1));
	reboot_server(&h);
	assert_int_equal(tide_send(h.C, cfd, "hello", 5, 0), 5);
	th_run_until(&h, TIDE_SEC(2));
	th_expect_seg_at(&h, 3, TIDE_SEC(1), h.c, PA, 101, 301, 5);
	th_expect_seg_at(&h, 4, TIDE_SEC(1) + TIDE_MS(1), h.s, TIDE_TCP_RST, 301, 0, 0);
	th_expect_nsegs(&h, 5);
	char b[4];
	errno = 0;
	expect_err(tide_recv(h.C, cfd, b, sizeof(b), 0), ECONNRESET);
	errno = 0;
	expect_err(tide_send(h.C, cfd, "x", 1, 0), EPIPE);
	(void)sfd;
	(void)lfd;
	close_all(&h, cfd, -1, -1);
	th_free(&h);
}

/* LC-K05 with TCP_USER_TIMEOUT (Linux's tcp_keepalive_timer): keepcnt no
 * longer counts; the connection dies when its idle time reaches the user
 * timeout and at least one probe is out. Here 30 s with keepcnt 2: four
 * probes, then RST at 30.003 s (idle since 2 ms). */
static void test_LC_K05_user_timeout_replaces_keepcnt(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd, lfd;
	th_init(&h, NULL);
	th_establish(&h, &cfd, &sfd, &lfd);
	tide_sim_cut_link(h.sim, T0, TIDE_TIME_NEVER);
	set_int(h.C, cfd, IPPROTO_TCP, TCP_USER_TIMEOUT, 30000);
	keepalive(h.C, cfd, 10, 5, 2);
	th_run_until(&h, TIDE_SEC(60));
	for (int i = 0; i < 4; i++)
		th_expect_seg_at(&h, 3 + (size_t)i, T0 + TIDE_SEC(10 + 5 * i), h.c, AK, C_PROBE, 301, 0);
	th_expect_seg_at(&h, 7, T0 + TIDE_SEC(30), h.c, RA, 101, 301, 0);
	th_expect_nsegs(&h, 8);
	expect_timed_out(h.C, cfd);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPAbortOnTimeout), 1);
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* LC-K05 with a user timeout shorter than the idle time: the first timer
 * finds the connection idle past it but no probe out, so it probes; the
 * next one (keepintvl later) resets. */
static void test_LC_K05_user_timeout_needs_one_probe_out(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd, lfd;
	th_init(&h, NULL);
	th_establish(&h, &cfd, &sfd, &lfd);
	tide_sim_cut_link(h.sim, T0, TIDE_TIME_NEVER);
	set_int(h.C, cfd, IPPROTO_TCP, TCP_USER_TIMEOUT, 5000);
	keepalive(h.C, cfd, 10, 5, 9);
	th_run_until(&h, TIDE_SEC(60));
	th_expect_seg_at(&h, 3, T0 + TIDE_SEC(10), h.c, AK, C_PROBE, 301, 0);
	th_expect_seg_at(&h, 4, T0 + TIDE_SEC(15), h.c, RA, 101, 301, 0);
	th_expect_nsegs(&h, 5);
	expect_timed_out(h.C, cfd);
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* ---- dead networks and middleboxes ------------------------------------ */

/* LC-D05 next to LC-K05: the network dies at 6 ms; the connection without
 * keepalive stays ESTABLISHED for ever (3 hours here, no timer at all),
 * the one with Linux's default keepalive finds out at 7200 s + 9 * 75 s. */
static void test_LC_D05_only_keepalive_notices_a_dead_network(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd, lfd;
	th_init(&h, NULL);
	th_establish(&h, &cfd, &sfd, &lfd);
	keepalive(h.C, cfd, 0, 0, 0);
	int c2 = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40001);
	th_run_until(&h, TIDE_MS(6));
	int s2 = th_accept(&h, h.s, lfd);
	tide_sim_cut_link(h.sim, TIDE_MS(6), TIDE_TIME_NEVER);
	th_run_until(&h, TIDE_SEC(3 * 3600));
	for (int i = 0; i < 9; i++)
		th_expect_seg_at(&h, 6 + (size_t)i, T0 + TIDE_SEC(7200 + 75 * i), h.c, AK,
				 C_PROBE, 301, 0);
	th_expect_seg_at(&h, 15, T0 + TIDE_SEC(7875), h.c, RA, 101, 301, 0);
	th_expect_nsegs(&h, 16);
	EXPECT_STATES(&h, h.c, SYN_SENT, EST, SYN_SENT, EST, CLOSED);
	assert_int_equal(tide_sock_state(h.C, c2), EST);
	assert_int_equal(tide_sock_state(h.S, s2), EST);
	assert_int_equal(tide_sock_state(h.S, sfd), EST);
	assert_int_equal(tide_stack_next_timer(h.C), TIDE_TIME_NEVER);
	assert_int_equal(tide_stack_next_timer(h.S), TIDE_TIME_NEVER);
	expect_timed_out(h.C, cfd);
	assert_int_equal(tide_close(h.C, c2), 0);
	assert_int_equal(tide_close(h.S, s2), 0);
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* A stateful middlebox (firewall, NAT, load balancer; F5's default idle
 * timeout is 300 s) on the path of one flow: a flow idle for longer than
 * its timeout is forgotten, and every later packet of it is silently
 * dropped. */
struct middlebox {
	tide_time timeout, last;
	bool forgot;
};

static bool middlebox_filter(void *ctx, tide_time now, int from, int to, const uint8_t *pkt,
			     size_t len)
{
	(void)from, (void)to, (void)pkt, (void)len;
	struct middlebox *m = ctx;
	if (!m->forgot && now - m->last > m->timeout)
		m->forgot = true;
	if (m->forgot)
		return true;
	m->last = now;
	return false;
}

/* LC-O04: keepalive shorter than the middlebox's idle timeout keeps the
 * flow alive: probes every 60 s (each 2 ms later than the last: idle
 * counts from the answer), the longest silence 60.001 s, and after an
 * hour idle both ends are ESTABLISHED and the middlebox dropped nothing. */
static void test_LC_O04_keepalive_keeps_middlebox_flow_alive(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd, lfd;
	th_init(&h, NULL);
	th_establish(&h, &cfd, &sfd, &lfd);
	struct middlebox mb = { .timeout = TIDE_SEC(300), .last = TIDE_MS(2) };
	tide_sim_set_filter(h.sim, middlebox_filter, &mb);
	keepalive(h.C, cfd, 60, 60, 0);
	th_run_until(&h, T0 + TIDE_SEC(3600));
	const int n = 59;
	for (int k = 1; k <= n; k++) {
		tide_time t = TIDE_SEC(60 * k) + TIDE_MS(2 * k + 1);
		th_expect_seg_at(&h, 3 + 2 * (size_t)(k - 1), t, h.c, AK, C_PROBE, 301, 0);
		th_expect_seg_at(&h, 4 + 2 * (size_t)(k - 1), t + TIDE_MS(1), h.s, AK, 301, 101, 0);
	}
	th_expect_nsegs(&h, 3 + 2 * (size_t)n);
	tide_time gap = 0;
	for (size_t i = 1; i < h.nsegs; i++)
		if (h.segs[i].t - h.segs[i - 1].t > gap)
			gap = h.segs[i].t - h.segs[i - 1].t;
	assert_int_equal(gap, TIDE_SEC(60) + TIDE_MS(1));
	assert_false(mb.forgot);
	assert_int_equal(tide_sim_count(h.sim, TIDE_SIM_FILTERED), 0);
	assert_int_equal(tide_sock_state(h.C, cfd), EST);
	assert_int_equal(tide_sock_state(h.S, sfd), EST);
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

/* LC-O04: Linux's default keepalive (7200 s) is longer than the
 * middlebox's 300 s: the flow is forgotten, the probes are dropped, so
 * the client resets at 7875 s (its RST dropped too) and the server is
 * left half-open, ESTABLISHED for ever. */
static void test_LC_O04_default_keepalive_longer_than_middlebox_timeout(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd, lfd;
	th_init(&h, NULL);
	th_establish(&h, &cfd, &sfd, &lfd);
	struct middlebox mb = { .timeout = TIDE_SEC(300), .last = TIDE_MS(2) };
	tide_sim_set_filter(h.sim, middlebox_filter, &mb);
	keepalive(h.C, cfd, 0, 0, 0);
	th_run_until(&h, TIDE_SEC(3 * 3600));
	for (int i = 0; i < 9; i++)
		th_expect_seg_at(&h, 3 + (size_t)i, T0 + TIDE_SEC(7200 + 75 * i), h.c, AK,
				 C_PROBE, 301, 0);
	th_expect_seg_at(&h, 12, T0 + TIDE_SEC(7875), h.c, RA, 101, 301, 0);
	th_expect_nsegs(&h, 13);
	assert_int_equal(tide_sim_count(h.sim, TIDE_SIM_FILTERED), 10);
	expect_timed_out(h.C, cfd);
	assert_int_equal(tide_sock_state(h.S, sfd), EST);
	assert_int_equal(tide_stack_next_timer(h.S), TIDE_TIME_NEVER);
	close_all(&h, cfd, sfd, lfd);
	th_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_LC_K05_options_fall_back_to_live_sysctls),
		cmocka_unit_test(test_LC_K05_default_probe_after_two_hours),
		cmocka_unit_test(test_LC_K05_unanswered_probes_reset_with_etimedout),
		cmocka_unit_test(test_LC_K05_timeout_reported_by_so_error_and_send),
		cmocka_unit_test(test_LC_K05_answered_probe_resets_the_count),
		cmocka_unit_test(test_LC_K05_so_keepalive_on_again_off_on),
		cmocka_unit_test(test_LC_K05_keepidle_rearms_counting_elapsed_idle),
		cmocka_unit_test(test_LC_K05_options_before_connect),
		cmocka_unit_test(test_LC_K05_accepted_connection_probes_with_listener_settings),
		cmocka_unit_test(test_LC_K05_no_probe_while_data_in_flight),
		cmocka_unit_test(test_LC_K05_rebooted_peer_answers_probe_with_rst),
		cmocka_unit_test(test_LC_K05_rebooted_peer_answers_data_with_rst),
		cmocka_unit_test(test_LC_K05_user_timeout_replaces_keepcnt),
		cmocka_unit_test(test_LC_K05_user_timeout_needs_one_probe_out),
		cmocka_unit_test(test_LC_D05_only_keepalive_notices_a_dead_network),
		cmocka_unit_test(test_LC_O04_keepalive_keeps_middlebox_flow_alive),
		cmocka_unit_test(test_LC_O04_default_keepalive_longer_than_middlebox_timeout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
