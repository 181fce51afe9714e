/*
 * Opening connections (catalogue LC-H) and the eleven TCP states (LC-S).
 *
 * Covers: the three-way handshake with Linux's options, windows and times
 * (LC-H01); accept() returning only completed connections (LC-H02); a full
 * accept queue, with and without tcp_abort_on_overflow (LC-H03); a reset
 * before accept() (LC-H04); a SYN to a closed port (LC-H05); unanswered SYN
 * and SYN-ACK retransmissions (LC-H06); simultaneous open (LC-H07); close()
 * in SYN_SENT (LC-H09); closing a listener with queued connections
 * (LC-H10); and every state of LC-S01..S11 seen on the wire's two ends.
 *
 * Fixture: client 198.18.0.1 (ISN 100), server 198.18.0.2 (ISN 300), 1 ms
 * one-way delay. Expected values come from RFC 9293 and Linux 6.x
 * (net/ipv4/tcp_input.c, tcp_minisocks.c, inet_connection_sock.c).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"
#include "inject.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#define SYN TIDE_TCP_SYN
#define ACK TIDE_TCP_ACK
#define RST TIDE_TCP_RST
#define FIN TIDE_TCP_FIN
#define PSH TIDE_TCP_PSH
/* The flags a fault rule looks at to tell a pure ACK from the rest. */
#define CTL_MASK (SYN | ACK | RST | FIN)

#define SYN_OPTS (TIDE_OPT_MSS | TIDE_OPT_SACK_OK | TIDE_OPT_TS | TIDE_OPT_WSCALE)

static struct sockaddr_in sin_of(uint32_t addr, uint16_t port)
{
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(addr);
	return sin;
}

/* connect() again on a socket whose connect is in progress or over: returns
 * 0, or the errno it failed with. */
static int reconnect(struct th *h, int node, int fd, uint32_t dst, uint16_t port)
{
	struct sockaddr_in sin = sin_of(dst, port);
	errno = 0;
	int r = tide_connect(th_stack(h, node), fd, (const struct sockaddr *)&sin, sizeof(sin));
	if (r == 0)
		return 0;
	assert_int_equal(r, -1);
	return errno;
}

static int so_error(struct th *h, int node, int fd)
{
	int e = -1;
	socklen_t len = sizeof(e);
	assert_int_equal(tide_getsockopt(th_stack(h, node), fd, SOL_SOCKET, SO_ERROR, &e, &len), 0);
	assert_int_equal(len, sizeof(int));
	return e;
}

/* The errno of a call that must fail with -1. */
static int recv_errno(struct th *h, int node, int fd)
{
	char b[8];
	errno = 0;
	assert_int_equal(tide_recv(th_stack(h, node), fd, b, sizeof(b), 0), -1);
	return errno;
}

static int accept_errno(struct th *h, int node, int lfd)
{
	errno = 0;
	assert_int_equal(tide_accept(th_stack(h, node), lfd, NULL, NULL, 0), -1);
	return errno;
}

/* accept() that must succeed, checking the peer's port. */
static int accept_from(struct th *h, int node, int lfd, uint16_t peer_port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = tide_accept(th_stack(h, node), lfd, (struct sockaddr *)&sin, &len, 0);
	assert_true(fd >= 0);
	assert_int_equal(ntohs(sin.sin_port), peer_port);
	return fd;
}

static void expect_ports(struct th *h, size_t i, uint16_t sport, uint16_t dport)
{
	const struct th_seg *s = th_seg(h, i);
	assert_int_equal(s->sport, sport);
	assert_int_equal(s->dport, dport);
}

static void expect_syn_opts(const struct th_seg *s, uint32_t tsecr)
{
	assert_int_equal(s->opts.present, SYN_OPTS);
	assert_int_equal(s->opts.mss, 1460);
	assert_int_equal(s->opts.wscale, 7);
	assert_int_equal(s->opts.tsecr, tsecr);
}

/* The i-th state change (from 0) recorded for node. */
static const struct th_state *nth_state(struct th *h, int node, size_t i)
{
	for (size_t j = 0; j < h->nstates; j++)
		if (h->states[j].node == node && i-- == 0)
			return &h->states[j];
	fail_msg("state change #%zu of node %d missing", i, node);
	return NULL;
}

static uint64_t C_(struct th *h, enum tide_counter c) { return tide_stack_counter(h->C, c); }
static uint64_t S_(struct th *h, enum tide_counter c) { return tide_stack_counter(h->S, c); }

/* LC-H01: SYN / SYN-ACK / ACK at 0, 1 and 2 ms with Linux's options and
 * windows; SYN and FIN each take one sequence number; the open counters. */
static void test_LC_H01_three_way_handshake(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int lfd = th_listen(&h, h.s, 80, 128);
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);

	th_run_until(&h, TIDE_MS(2));
	/* The client is ESTABLISHED on the SYN-ACK; the server waits for the ACK. */
	assert_int_equal(tide_stack_curr_estab(h.C), 1);
	assert_int_equal(tide_stack_curr_estab(h.S), 0);
	th_run_until(&h, TIDE_MS(3));
	assert_int_equal(tide_stack_curr_estab(h.S), 1);

	th_expect_nsegs(&h, 3);
	th_expect_seg_at(&h, 0, 0, h.c, SYN, 100, 0, 0);
	th_expect_seg_at(&h, 1, TIDE_MS(1), h.s, SYN | ACK, 300, 101, 0);
	th_expect_seg_at(&h, 2, TIDE_MS(2), h.c, ACK, 101, 301, 0);
	expect_ports(&h, 0, 40000, 80);
	expect_ports(&h, 1, 80, 40000);
	expect_ports(&h, 2, 40000, 80);

	const struct th_seg *syn = th_seg(&h, 0), *synack = th_seg(&h, 1), *ack = th_seg(&h, 2);
	/* mss 1460, sackOK, TS (nothing to echo yet), wscale 7; 44 * 1460 */
	expect_syn_opts(syn, 0);
	assert_int_equal(syn->win, 64240);
	/* the same options echoing the SYN's TSval; 45 * (1460 - 12) */
	expect_syn_opts(synack, syn->opts.tsval);
	assert_int_equal(synack->win, 65160);
	/* the ACK carries only timestamps; TSval advanced by the 2 ms */
	assert_int_equal(ack->opts.present, TIDE_OPT_TS);
	assert_int_equal(ack->opts.tsecr, synack->opts.tsval);
	assert_int_equal(ack->opts.tsval, syn->opts.tsval + 2);

	static const int cstates[] = { TIDE_TCP_SYN_SENT, TIDE_TCP_ESTABLISHED };
	th_expect_states(&h, h.c, cstates, 2);
	th_expect_state_at(&h, h.c, 0, 0, TIDE_TCP_CLOSE, TIDE_TCP_SYN_SENT);
	th_expect_state_at(&h, h.c, 1, TIDE_MS(2), TIDE_TCP_SYN_SENT, TIDE_TCP_ESTABLISHED);
	static const int sstates[] = { TIDE_TCP_LISTEN, TIDE_TCP_SYN_RECV, TIDE_TCP_ESTABLISHED };
	th_expect_states(&h, h.s, sstates, 3);
	th_expect_state_at(&h, h.s, 0, 0, TIDE_TCP_CLOSE, TIDE_TCP_LISTEN);
	th_expect_state_at(&h, h.s, 1, TIDE_MS(1), TIDE_TCP_LISTEN, TIDE_TCP_SYN_RECV);
	th_expect_state_at(&h, h.s, 2, TIDE_MS(3), TIDE_TCP_SYN_RECV, TIDE_TCP_ESTABLISHED);
	/* The listener reports on its own id (no peer); the connection on the 4-tuple. */
	const struct th_state *ls = nth_state(&h, h.s, 0), *cs = nth_state(&h, h.s, 1);
	assert_int_equal(ls->id.laddr, TH_SERVER_ADDR);
	assert_int_equal(ls->id.lport, 80);
	assert_int_equal(ls->id.raddr, 0);
	assert_int_equal(ls->id.rport, 0);
	assert_int_equal(cs->id.lport, 80);
	assert_int_equal(cs->id.raddr, TH_CLIENT_ADDR);
	assert_int_equal(cs->id.rport, 40000);

	assert_int_equal(C_(&h, TIDE_MIB_ActiveOpens), 1);
	assert_int_equal(C_(&h, TIDE_MIB_PassiveOpens), 0);
	assert_int_equal(S_(&h, TIDE_MIB_PassiveOpens), 1);
	assert_int_equal(S_(&h, TIDE_MIB_ActiveOpens), 0);
	assert_int_equal(C_(&h, TIDE_MIB_AttemptFails), 0);
	assert_int_equal(S_(&h, TIDE_MIB_AttemptFails), 0);
	assert_int_equal(reconnect(&h, h.c, cfd, TH_SERVER_ADDR, 80), 0);
	int sfd = th_accept(&h, h.s, lfd);

	/* FIN also takes one number: the client's FIN is 101, ACKed as 102. */
	th_run_until(&h, TIDE_MS(10));
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_until(&h, TIDE_MS(11));
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_run_until(&h, TIDE_MS(13));
	th_expect_nsegs(&h, 6);
	th_expect_seg_at(&h, 3, TIDE_MS(10), h.c, FIN | ACK, 101, 301, 0);
	th_expect_seg_at(&h, 4, TIDE_MS(11), h.s, FIN | ACK, 301, 102, 0);
	th_expect_seg_at(&h, 5, TIDE_MS(12), h.c, ACK, 102, 302, 0);
	assert_int_equal(tide_stack_curr_estab(h.C), 0);
	assert_int_equal(tide_stack_curr_estab(h.S), 0);

	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* LC-H02: while the server is in SYN_RECV (the client's ACK was lost)
 * accept() says EAGAIN; the SYN-ACK retransmitted after 1 s draws the
 * client's ACK again (a challenge ACK), which completes the handshake. */
static void test_LC_H02_accept_returns_only_completed_connections(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int lfd = th_listen(&h, h.s, 80, 128);
	th_drop(&h, h.c, CTL_MASK, ACK, 1, 1);
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);

	th_run_until(&h, TIDE_MS(500));
	th_expect_nsegs(&h, 3);
	th_expect_seg_at(&h, 2, TIDE_MS(2), h.c, ACK, 101, 301, 0); /* dropped */
	assert_int_equal(tide_sock_state(h.C, cfd), TIDE_TCP_ESTABLISHED);
	static const int half[] = { TIDE_TCP_LISTEN, TIDE_TCP_SYN_RECV };
	th_expect_states(&h, h.s, half, 2);
	assert_int_equal(accept_errno(&h, h.s, lfd), EAGAIN);
	struct pollfd pfd = { .fd = lfd, .events = POLLIN };
	assert_int_equal(tide_poll(h.S, &pfd, 1), 0);

	th_run_until(&h, TIDE_MS(1003));
	th_expect_nsegs(&h, 5);
	th_expect_seg_at(&h, 3, TIDE_MS(1001), h.s, SYN | ACK, 300, 101, 0);
	th_expect_seg_at(&h, 4, TIDE_MS(1002), h.c, ACK, 101, 301, 0);
	th_expect_state_at(&h, h.s, 2, TIDE_MS(1003), TIDE_TCP_SYN_RECV, TIDE_TCP_ESTABLISHED);
	assert_int_equal(S_(&h, TIDE_MIB_RetransSegs), 1);
	assert_int_equal(C_(&h, TIDE_MIB_TCPSYNChallenge), 1);
	assert_int_equal(tide_poll(h.S, &pfd, 1), 1);
	assert_int_equal(pfd.revents, POLLIN);
	int sfd = accept_from(&h, h.s, lfd, 40000);
	assert_int_equal(tide_sock_state(h.S, sfd), TIDE_TCP_ESTABLISHED);
	assert_int_equal(S_(&h, TIDE_MIB_PassiveOpens), 1);

	assert_int_equal(tide_close(h.S, sfd), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_free(&h);
}

/* Two clients, A (40000) and B (40001), connect at once to a listener with
 * backlog 1: both SYNs find room in the SYN queue (Linux 6.x: full when it
 * holds more than the backlog, else B would get a SYN cookie). Then listen()
 * shrinks the backlog to 0: A's ACK fills the accept queue (Linux allows
 * backlog + 1), B's ACK overflows it. Segments #0..#5 at 0..2 ms. */
static void open_two_into_backlog_0(struct th *h, int *lfd, int *a, int *b)
{
	*lfd = th_listen(h, h->s, 80, 1);
	*a = th_connect(h, h->c, TH_SERVER_ADDR, 80, 40000);
	*b = th_connect(h, h->c, TH_SERVER_ADDR, 80, 40001);
	th_run_until(h, TIDE_MS(2));
	assert_int_equal(tide_listen(h->S, *lfd, 0), 0);
	th_run_until(h, TIDE_MS(3));
	th_expect_seg_at(h, 0, 0, h->c, SYN, 100, 0, 0);
	expect_ports(h, 0, 40000, 80);
	th_expect_seg_at(h, 1, 0, h->c, SYN, 100, 0, 0);
	expect_ports(h, 1, 40001, 80);
	th_expect_seg_at(h, 2, TIDE_MS(1), h->s, SYN | ACK, 300, 101, 0);
	expect_ports(h, 2, 80, 40000);
	th_expect_seg_at(h, 3, TIDE_MS(1), h->s, SYN | ACK, 300, 101, 0);
	expect_ports(h, 3, 80, 40001);
	th_expect_seg_at(h, 4, TIDE_MS(2), h->c, ACK, 101, 301, 0);
	th_expect_seg_at(h, 5, TIDE_MS(2), h->c, ACK, 101, 301, 0);
	expect_ports(h, 5, 40001, 80);
	assert_int_equal(tide_stack_counter(h->S, TIDE_MIB_ListenOverflows), 1);
	assert_int_equal(tide_stack_counter(h->S, TIDE_MIB_ListenDrops), 1);
	assert_int_equal(tide_stack_counter(h->S, TIDE_MIB_PassiveOpens), 1);
}

/* LC-H03: the final ACK that finds the accept queue full is dropped and
 * counted; the SYN-ACK is retransmitted 1 s, 3 s, 7 s after the first, and
 * once accept() has made room, the next ACK completes the connection. */
static void test_LC_H03_accept_queue_full_drops_final_ack(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int lfd, a, b;
	open_two_into_backlog_0(&h, &lfd, &a, &b);
	th_expect_nsegs(&h, 6);
	static const int s3[] = { TIDE_TCP_LISTEN, TIDE_TCP_SYN_RECV, TIDE_TCP_SYN_RECV,
				  TIDE_TCP_ESTABLISHED };
	th_expect_states(&h, h.s, s3, 4);

	th_run_until(&h, TIDE_SEC(4));
	th_expect_nsegs(&h, 10);
	th_expect_seg_at(&h, 6, TIDE_MS(1001), h.s, SYN | ACK, 300, 101, 0);
	expect_ports(&h, 6, 80, 40001);
	th_expect_seg_at(&h, 7, TIDE_MS(1002), h.c, ACK, 101, 301, 0);
	expect_ports(&h, 7, 40001, 80);
	th_expect_seg_at(&h, 8, TIDE_MS(3001), h.s, SYN | ACK, 300, 101, 0);
	th_expect_seg_at(&h, 9, TIDE_MS(3002), h.c, ACK, 101, 301, 0);
	assert_int_equal(S_(&h, TIDE_MIB_ListenOverflows), 3);
	assert_int_equal(S_(&h, TIDE_MIB_ListenDrops), 3);
	th_expect_states(&h, h.s, s3, 4);

	/* accept() makes room; the retransmission at 7 s gets B in. */
	int sa = accept_from(&h, h.s, lfd, 40000);
	assert_int_equal(accept_errno(&h, h.s, lfd), EAGAIN);
	th_run_until(&h, TIDE_MS(7003));
	th_expect_nsegs(&h, 12);
	th_expect_seg_at(&h, 10, TIDE_MS(7001), h.s, SYN | ACK, 300, 101, 0);
	expect_ports(&h, 10, 80, 40001);
	th_expect_seg_at(&h, 11, TIDE_MS(7002), h.c, ACK, 101, 301, 0);
	th_expect_state_at(&h, h.s, 4, TIDE_MS(7003), TIDE_TCP_SYN_RECV, TIDE_TCP_ESTABLISHED);
	int sb = accept_from(&h, h.s, lfd, 40001);
	assert_int_equal(S_(&h, TIDE_MIB_ListenOverflows), 3);
	assert_int_equal(S_(&h, TIDE_MIB_RetransSegs), 3);
	assert_int_equal(S_(&h, TIDE_MIB_PassiveOpens), 2);
	assert_int_equal(tide_stack_curr_estab(h.S), 2);

	assert_int_equal(tide_close(h.S, sa), 0);
	assert_int_equal(tide_close(h.S, sb), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	assert_int_equal(tide_close(h.C, a), 0);
	assert_int_equal(tide_close(h.C, b), 0);
	th_free(&h);
}

/* LC-H03 with tcp_abort_on_overflow=1: the overflowing ACK is answered
 * with a RST (seq = its ACK number) and the request is gone. */
static void test_LC_H03_abort_on_overflow_sends_rst(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .server_settings = "net.ipv4.tcp_abort_on_overflow = 1\n" };
	th_init(&h, &o);
	int lfd, a, b;
	open_two_into_backlog_0(&h, &lfd, &a, &b);
	th_expect_nsegs(&h, 7);
	th_expect_seg_at(&h, 6, TIDE_MS(3), h.s, RST, 301, 0, 0);
	expect_ports(&h, 6, 80, 40001);
	static const int s3[] = { TIDE_TCP_LISTEN, TIDE_TCP_SYN_RECV, TIDE_TCP_SYN_RECV,
				  TIDE_TCP_ESTABLISHED, TIDE_TCP_CLOSE };
	th_expect_states(&h, h.s, s3, 5);
	th_expect_state_at(&h, h.s, 4, TIDE_MS(3), TIDE_TCP_SYN_RECV, TIDE_TCP_CLOSE);
	assert_int_equal(S_(&h, TIDE_MIB_OutRsts), 1);

	/* B learns of it at 4 ms; nothing is retransmitted afterwards. */
	th_run_until(&h, TIDE_SEC(5));
	th_expect_nsegs(&h, 7);
	static const int c3[] = { TIDE_TCP_SYN_SENT, TIDE_TCP_SYN_SENT, TIDE_TCP_ESTABLISHED,
				  TIDE_TCP_ESTABLISHED, TIDE_TCP_CLOSE };
	th_expect_states(&h, h.c, c3, 5);
	th_expect_state_at(&h, h.c, 4, TIDE_MS(4), TIDE_TCP_ESTABLISHED, TIDE_TCP_CLOSE);
	assert_int_equal(recv_errno(&h, h.c, b), ECONNRESET);
	assert_int_equal(C_(&h, TIDE_MIB_EstabResets), 1);
	assert_int_equal(S_(&h, TIDE_MIB_ListenOverflows), 1);
	assert_int_equal(S_(&h, TIDE_MIB_RetransSegs), 0);
	int sa = accept_from(&h, h.s, lfd, 40000);
	assert_int_equal(accept_errno(&h, h.s, lfd), EAGAIN);

	assert_int_equal(tide_close(h.S, sa), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	assert_int_equal(tide_close(h.C, a), 0);
	assert_int_equal(tide_close(h.C, b), 0);
	th_free(&h);
}

/* LC-H04: a connection reset by the peer after the handshake but before
 * accept(): Linux still returns it, and the first read says ECONNRESET
 * (some BSDs fail accept() with ECONNABORTED instead). */
static void test_LC_H04_reset_before_accept_still_accepted(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int lfd = th_listen(&h, h.s, 80, 128);
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_until(&h, TIDE_MS(10));
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	assert_int_equal(tide_setsockopt(h.C, cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	assert_int_equal(tide_close(h.C, cfd), 0); /* abortive close: RST */

	th_run_until(&h, TIDE_MS(20));
	th_expect_nsegs(&h, 4);
	th_expect_seg_at(&h, 3, TIDE_MS(10), h.c, RST | ACK, 101, 301, 0);
	static const int ss[] = { TIDE_TCP_LISTEN, TIDE_TCP_SYN_RECV, TIDE_TCP_ESTABLISHED,
				  TIDE_TCP_CLOSE };
	th_expect_states(&h, h.s, ss, 4);
	th_expect_state_at(&h, h.s, 3, TIDE_MS(11), TIDE_TCP_ESTABLISHED, TIDE_TCP_CLOSE);
	assert_int_equal(S_(&h, TIDE_MIB_EstabResets), 1);
	assert_int_equal(tide_stack_curr_estab(h.S), 0);

	int sfd = accept_from(&h, h.s, lfd, 40000);
	assert_int_equal(tide_sock_state(h.S, sfd), TIDE_TCP_CLOSE);
	assert_int_equal(recv_errno(&h, h.s, sfd), ECONNRESET);
	char buf[4];
	assert_int_equal(tide_recv(h.S, sfd, buf, sizeof(buf), 0), 0); /* then end of file */
	assert_int_equal(accept_errno(&h, h.s, lfd), EAGAIN);

	assert_int_equal(tide_close(h.S, sfd), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* LC-H05: a SYN to a port nobody listens on gets RST,ACK seq 0 ack 101 and
 * connect() fails ECONNREFUSED: reported once, by a second connect() or by
 * SO_ERROR, whichever asks first (after which connect() says
 * ECONNABORTED, as Linux's __inet_stream_connect). */
static void test_LC_H05_syn_to_closed_port_refused(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int a = th_connect(&h, h.c, TH_SERVER_ADDR, 81, 40000);
	th_run_until(&h, TIDE_MS(10));
	th_expect_nsegs(&h, 2);
	th_expect_seg_at(&h, 0, 0, h.c, SYN, 100, 0, 0);
	th_expect_seg_at(&h, 1, TIDE_MS(1), h.s, RST | ACK, 0, 101, 0);
	expect_ports(&h, 1, 81, 40000);
	th_expect_state_at(&h, h.c, 1, TIDE_MS(2), TIDE_TCP_SYN_SENT, TIDE_TCP_CLOSE);
	assert_int_equal(reconnect(&h, h.c, a, TH_SERVER_ADDR, 81), ECONNREFUSED);
	assert_int_equal(so_error(&h, h.c, a), 0);

	int b = th_connect(&h, h.c, TH_SERVER_ADDR, 81, 40001);
	th_run_until(&h, TIDE_MS(20));
	th_expect_nsegs(&h, 4);
	th_expect_seg_at(&h, 2, TIDE_MS(10), h.c, SYN, 100, 0, 0);
	th_expect_seg_at(&h, 3, TIDE_MS(11), h.s, RST | ACK, 0, 101, 0);
	expect_ports(&h, 3, 81, 40001);
	assert_int_equal(so_error(&h, h.c, b), ECONNREFUSED);
	assert_int_equal(reconnect(&h, h.c, b, TH_SERVER_ADDR, 81), ECONNABORTED);

	assert_int_equal(C_(&h, TIDE_MIB_ActiveOpens), 2);
	assert_int_equal(C_(&h, TIDE_MIB_AttemptFails), 2);
	assert_int_equal(S_(&h, TIDE_MIB_OutRsts), 2);
	assert_int_equal(S_(&h, TIDE_MIB_PassiveOpens), 0);
	assert_int_equal(tide_close(h.C, a), 0);
	assert_int_equal(tide_close(h.C, b), 0);
	th_free(&h);
}

/* Runs one unanswered connect() and checks the SYNs went at exactly the
 * times given (seconds) and that connect() fails with ETIMEDOUT at `fail`. */
static void unanswered_syn(struct th *h, const unsigned *at_s, size_t n, unsigned fail_s)
{
	int lfd = th_listen(h, h->s, 80, 128);
	th_drop(h, h->c, SYN | ACK, SYN, 1, 1000);
	int cfd = th_connect(h, h->c, TH_SERVER_ADDR, 80, 40000);

	th_run_until(h, TIDE_SEC(fail_s) - 1);
	th_expect_nsegs(h, n);
	for (size_t i = 0; i < n; i++)
		th_expect_seg_at(h, i, TIDE_SEC(at_s[i]), h->c, SYN, 100, 0, 0);
	assert_int_equal(reconnect(h, h->c, cfd, TH_SERVER_ADDR, 80), EALREADY);

	th_run_until(h, TIDE_SEC(fail_s));
	th_expect_nsegs(h, n);
	th_expect_state_at(h, h->c, 1, TIDE_SEC(fail_s), TIDE_TCP_SYN_SENT, TIDE_TCP_CLOSE);
	assert_int_equal(reconnect(h, h->c, cfd, TH_SERVER_ADDR, 80), ETIMEDOUT);
	assert_int_equal(C_(h, TIDE_MIB_RetransSegs), n - 1);
	assert_int_equal(C_(h, TIDE_MIB_AttemptFails), 1);
	assert_int_equal(C_(h, TIDE_MIB_TCPAbortOnTimeout), 1);
	static const int ss[] = { TIDE_TCP_LISTEN };
	th_expect_states(h, h->s, ss, 1);

	assert_int_equal(tide_close(h->C, cfd), 0);
	assert_int_equal(tide_close(h->S, lfd), 0);
}

/* LC-H06, as Linux 6.x does it (tcp_syn_retries 6, tcp_syn_linear_timeouts
 * 4, measured on a 6.18 kernel): the first retransmissions keep the 1 s
 * initial RTO, then it doubles; 6 + 4 retransmissions, then ETIMEDOUT
 * after a last wait of 64 s, at 131 s. */
static void test_LC_H06_unanswered_syn_times_out(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	static const unsigned at_s[] = { 0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67 };
	unanswered_syn(&h, at_s, 11, 131);
	th_free(&h);
}

/* LC-H06, the classic form the catalogue describes (and Linux before its
 * linear SYN timeouts, or with tcp_syn_linear_timeouts = 0): SYNs at 0, 1,
 * 3, 7, 15, 31, 63 s (RTO 1, 2, 4, ... s), ETIMEDOUT at 127 s. */
static void test_LC_H06_unanswered_syn_classic_backoff(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .client_settings = "net.ipv4.tcp_syn_linear_timeouts = 0\n",
			     .server_settings = "net.ipv4.tcp_syn_linear_timeouts = 0\n" };
	th_init(&h, &o);
	static const unsigned at_s[] = { 0, 1, 3, 7, 15, 31, 63 };
	unanswered_syn(&h, at_s, 7, 127);
	th_free(&h);
}

/* LC-H06: the client's ACKs all lost: the server retransmits its SYN-ACK
 * 1, 3, 7, 15, 31 s after the first (tcp_synack_retries 5) and drops the
 * request 63 s after it (SYN_RECV -> CLOSED), sending nothing more. */
static void test_LC_H06_unanswered_synack_request_dropped(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int lfd = th_listen(&h, h.s, 80, 128);
	th_drop(&h, h.c, CTL_MASK, ACK, 1, 1000);
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);

	th_run_until(&h, TIDE_MS(63001) - 1);
	static const unsigned at_ms[] = { 1, 1001, 3001, 7001, 15001, 31001 };
	th_expect_nsegs(&h, 13);
	th_expect_seg_at(&h, 0, 0, h.c, SYN, 100, 0, 0);
	for (size_t i = 0; i < 6; i++) {
		th_expect_seg_at(&h, 1 + 2 * i, TIDE_MS(at_ms[i]), h.s, SYN | ACK, 300, 101, 0);
		/* the client's answer: its ACK, then challenge ACKs (lost) */
		th_expect_seg_at(&h, 2 + 2 * i, TIDE_MS(at_ms[i] + 1), h.c, ACK, 101, 301, 0);
	}
	static const int half[] = { TIDE_TCP_LISTEN, TIDE_TCP_SYN_RECV };
	th_expect_states(&h, h.s, half, 2);

	th_run_until(&h, TIDE_SEC(100));
	th_expect_nsegs(&h, 13);
	th_expect_state_at(&h, h.s, 2, TIDE_MS(63001), TIDE_TCP_SYN_RECV, TIDE_TCP_CLOSE);
	assert_int_equal(S_(&h, TIDE_MIB_RetransSegs), 5);
	assert_int_equal(S_(&h, TIDE_MIB_PassiveOpens), 0);
	assert_int_equal(accept_errno(&h, h.s, lfd), EAGAIN);

	assert_int_equal(tide_close(h.C, cfd), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* LC-H07: simultaneous open. Both ends bound first (40000 and 50000)
 * connect to each other at 0: the SYNs cross, each end goes SYN_RECV and
 * answers with a SYN-ACK of its own ISN, each SYN-ACK makes its receiver
 * ESTABLISHED and draws an ACK. */
static void test_LC_H07_simultaneous_open(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 50000, 40000);
	int sfd = th_connect(&h, h.s, TH_CLIENT_ADDR, 40000, 50000);
	th_run_until(&h, TIDE_MS(10));

	th_expect_nsegs(&h, 6);
	th_expect_seg_at(&h, 0, 0, h.c, SYN, 100, 0, 0);
	expect_ports(&h, 0, 40000, 50000);
	th_expect_seg_at(&h, 1, 0, h.s, SYN, 300, 0, 0);
	expect_ports(&h, 1, 50000, 40000);
	/* the client's SYN was sent first, so it arrives first */
	th_expect_seg_at(&h, 2, TIDE_MS(1), h.s, SYN | ACK, 300, 101, 0);
	th_expect_seg_at(&h, 3, TIDE_MS(1), h.c, SYN | ACK, 100, 301, 0);
	th_expect_seg_at(&h, 4, TIDE_MS(2), h.c, ACK, 101, 301, 0);
	th_expect_seg_at(&h, 5, TIDE_MS(2), h.s, ACK, 301, 101, 0);
	/* Linux's SYN-ACK here is its SYN again with ACK: full SYN options,
	 * echoing the peer's SYN, and the window chosen at connect(). */
	expect_syn_opts(th_seg(&h, 2), th_seg(&h, 0)->opts.tsval);
	expect_syn_opts(th_seg(&h, 3), th_seg(&h, 1)->opts.tsval);
	assert_int_equal(th_seg(&h, 2)->win, 64240);
	assert_int_equal(th_seg(&h, 3)->win, 64240);

	static const int st[] = { TIDE_TCP_SYN_SENT, TIDE_TCP_SYN_RECV, TIDE_TCP_ESTABLISHED };
	for (int n = 0; n < 2; n++) {
		th_expect_states(&h, n, st, 3);
		th_expect_state_at(&h, n, 1, TIDE_MS(1), TIDE_TCP_SYN_SENT, TIDE_TCP_SYN_RECV);
		th_expect_state_at(&h, n, 2, TIDE_MS(2), TIDE_TCP_SYN_RECV, TIDE_TCP_ESTABLISHED);
		tide_stack *sk = th_stack(&h, n);
		assert_int_equal(tide_stack_counter(sk, TIDE_MIB_ActiveOpens), 1);
		assert_int_equal(tide_stack_counter(sk, TIDE_MIB_PassiveOpens), 0);
		assert_int_equal(tide_stack_curr_estab(sk), 1);
	}
	assert_int_equal(reconnect(&h, h.c, cfd, TH_SERVER_ADDR, 50000), 0);
	assert_int_equal(reconnect(&h, h.s, sfd, TH_CLIENT_ADDR, 40000), 0);

	assert_int_equal(tide_close(h.C, cfd), 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_free(&h);
}

/* LC-H09: close() in SYN_SENT sends nothing (SYN_SENT -> CLOSED); the
 * SYN-ACK that comes later finds no connection and gets a RST whose seq is
 * the SYN-ACK's ACK number, which ends the server's request. */
static void test_LC_H09_close_in_syn_sent(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int lfd = th_listen(&h, h.s, 80, 128);
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_until(&h, TIDE_US(500));
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_expect_nsegs(&h, 1);
	static const int cs[] = { TIDE_TCP_SYN_SENT, TIDE_TCP_CLOSE };
	th_expect_states(&h, h.c, cs, 2);
	th_expect_state_at(&h, h.c, 1, TIDE_US(500), TIDE_TCP_SYN_SENT, TIDE_TCP_CLOSE);

	th_run_until(&h, TIDE_SEC(5));
	th_expect_nsegs(&h, 3);
	th_expect_seg_at(&h, 1, TIDE_MS(1), h.s, SYN | ACK, 300, 101, 0);
	th_expect_seg_at(&h, 2, TIDE_MS(2), h.c, RST, 101, 0, 0);
	expect_ports(&h, 2, 40000, 80);
	static const int ss[] = { TIDE_TCP_LISTEN, TIDE_TCP_SYN_RECV, TIDE_TCP_CLOSE };
	th_expect_states(&h, h.s, ss, 3);
	th_expect_state_at(&h, h.s, 2, TIDE_MS(3), TIDE_TCP_SYN_RECV, TIDE_TCP_CLOSE);
	/* Linux counts AttemptFails in tcp_done (and for an embryonic RST),
	 * not for close() in SYN_SENT, which goes straight to CLOSE. */
	assert_int_equal(C_(&h, TIDE_MIB_AttemptFails), 0);
	assert_int_equal(C_(&h, TIDE_MIB_OutRsts), 1);
	assert_int_equal(S_(&h, TIDE_MIB_AttemptFails), 1);
	assert_int_equal(accept_errno(&h, h.s, lfd), EAGAIN);

	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* LC-H10: closing a listener sends RST,ACK on each connection still in its
 * accept queue and forgets its half-open requests silently; a late segment
 * of such a request then meets no socket and gets a RST. */
static void test_LC_H10_closing_listener_resets_unaccepted(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int lfd = th_listen(&h, h.s, 80, 128);
	int a = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	int b = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40001);
	th_run_until(&h, TIDE_MS(10));
	th_expect_nsegs(&h, 6);
	/* a third connection whose final ACK is lost stays half-open */
	th_drop(&h, h.c, CTL_MASK, ACK, 1, 1);
	int c3 = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40002);
	th_run_until(&h, TIDE_MS(20));
	th_expect_nsegs(&h, 9);
	th_expect_seg_at(&h, 8, TIDE_MS(12), h.c, ACK, 101, 301, 0); /* dropped */
	assert_int_equal(tide_stack_curr_estab(h.S), 2);

	assert_int_equal(tide_close(h.S, lfd), 0);
	th_run_until(&h, TIDE_MS(25));
	th_expect_nsegs(&h, 11);
	th_expect_seg_at(&h, 9, TIDE_MS(20), h.s, RST | ACK, 301, 101, 0);
	expect_ports(&h, 9, 80, 40000);
	th_expect_seg_at(&h, 10, TIDE_MS(20), h.s, RST | ACK, 301, 101, 0);
	expect_ports(&h, 10, 80, 40001);
	static const int ss[] = { TIDE_TCP_LISTEN, TIDE_TCP_SYN_RECV, TIDE_TCP_SYN_RECV,
				  TIDE_TCP_ESTABLISHED, TIDE_TCP_ESTABLISHED, TIDE_TCP_SYN_RECV,
				  TIDE_TCP_CLOSE, TIDE_TCP_CLOSE, TIDE_TCP_CLOSE, TIDE_TCP_CLOSE };
	/* (Linux forgets the request lazily, at its next timer or segment;
	 * tide at once. Nothing is sent either way.) */
	th_expect_states(&h, h.s, ss, 10);
	for (size_t i = 6; i < 10; i++)
		assert_int_equal(nth_state(&h, h.s, i)->t, TIDE_MS(20));
	assert_int_equal(S_(&h, TIDE_MIB_OutRsts), 2);
	assert_int_equal(S_(&h, TIDE_MIB_EstabResets), 2);
	assert_int_equal(tide_stack_curr_estab(h.S), 0);
	assert_int_equal(recv_errno(&h, h.c, a), ECONNRESET);
	assert_int_equal(recv_errno(&h, h.c, b), ECONNRESET);
	assert_int_equal(C_(&h, TIDE_MIB_EstabResets), 2);

	/* The half-open one's client believes it is connected; its data finds
	 * nothing on the server: RST with seq = the data's ACK number. */
	assert_int_equal(tide_send(h.C, c3, "x", 1, 0), 1);
	th_run_until(&h, TIDE_MS(30));
	th_expect_nsegs(&h, 13);
	th_expect_seg_at(&h, 11, TIDE_MS(25), h.c, PSH | ACK, 101, 301, 1);
	th_expect_seg_at(&h, 12, TIDE_MS(26), h.s, RST, 301, 0, 0);
	expect_ports(&h, 12, 80, 40002);
	assert_int_equal(recv_errno(&h, h.c, c3), ECONNRESET);

	assert_int_equal(tide_close(h.C, a), 0);
	assert_int_equal(tide_close(h.C, b), 0);
	assert_int_equal(tide_close(h.C, c3), 0);
	th_free(&h);
}

/* LC-S01..S11: two lifecycles between the same hosts pass through all
 * eleven states: a handshake and four-way close (the client closes first),
 * then a handshake and a simultaneous close (CLOSING on both ends). */
static void test_LC_S_all_eleven_states(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int lfd = th_listen(&h, h.s, 80, 128);

	/* 1: four-way close, the client first */
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_until(&h, TIDE_MS(3));
	int sfd = th_accept(&h, h.s, lfd);
	th_run_until(&h, TIDE_MS(10));
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_until(&h, TIDE_MS(100)); /* the server's ACK left at 12 ms (next tick) */
	assert_int_equal(tide_sock_state(h.S, sfd), TIDE_TCP_CLOSE_WAIT);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_run_until(&h, TIDE_SEC(61));
	th_expect_state_at(&h, h.c, 2, TIDE_MS(10), TIDE_TCP_ESTABLISHED, TIDE_TCP_FIN_WAIT1);
	th_expect_state_at(&h, h.c, 3, TIDE_MS(13), TIDE_TCP_FIN_WAIT1, TIDE_TCP_FIN_WAIT2);
	th_expect_state_at(&h, h.c, 4, TIDE_MS(101), TIDE_TCP_FIN_WAIT2, TIDE_TCP_TIME_WAIT);
	th_expect_state_at(&h, h.c, 5, TIDE_MS(60101), TIDE_TCP_TIME_WAIT, TIDE_TCP_CLOSE);
	th_expect_state_at(&h, h.s, 3, TIDE_MS(11), TIDE_TCP_ESTABLISHED, TIDE_TCP_CLOSE_WAIT);
	th_expect_state_at(&h, h.s, 4, TIDE_MS(100), TIDE_TCP_CLOSE_WAIT, TIDE_TCP_LAST_ACK);
	th_expect_state_at(&h, h.s, 5, TIDE_MS(102), TIDE_TCP_LAST_ACK, TIDE_TCP_CLOSE);

	/* 2: simultaneous close: both FINs cross */
	int c2 = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40001);
	th_run_until(&h, TIDE_MS(61003));
	int s2 = th_accept(&h, h.s, lfd);
	th_run_until(&h, TIDE_MS(61010));
	assert_int_equal(tide_close(h.C, c2), 0);
	assert_int_equal(tide_close(h.S, s2), 0);
	th_run_until(&h, TIDE_SEC(130));
	size_t n = h.nsegs;
	th_expect_seg_at(&h, n - 4, TIDE_MS(61010), h.c, FIN | ACK, 101, 301, 0);
	th_expect_seg_at(&h, n - 3, TIDE_MS(61010), h.s, FIN | ACK, 301, 101, 0);
	th_expect_seg_at(&h, n - 2, TIDE_MS(61011), h.s, ACK, 302, 102, 0);
	th_expect_seg_at(&h, n - 1, TIDE_MS(61011), h.c, ACK, 102, 302, 0);
	for (int node = 0; node < 2; node++) {
		th_expect_state_at(&h, node, 8, TIDE_MS(61010), TIDE_TCP_ESTABLISHED, TIDE_TCP_FIN_WAIT1);
		th_expect_state_at(&h, node, 9, TIDE_MS(61011), TIDE_TCP_FIN_WAIT1, TIDE_TCP_CLOSING);
		th_expect_state_at(&h, node, 10, TIDE_MS(61012), TIDE_TCP_CLOSING, TIDE_TCP_TIME_WAIT);
		th_expect_state_at(&h, node, 11, TIDE_MS(121012), TIDE_TCP_TIME_WAIT, TIDE_TCP_CLOSE);
	}
	assert_int_equal(tide_close(h.S, lfd), 0);

	static const int cs[] = {
		TIDE_TCP_SYN_SENT, TIDE_TCP_ESTABLISHED, TIDE_TCP_FIN_WAIT1, TIDE_TCP_FIN_WAIT2,
		TIDE_TCP_TIME_WAIT, TIDE_TCP_CLOSE,
		TIDE_TCP_SYN_SENT, TIDE_TCP_ESTABLISHED, TIDE_TCP_FIN_WAIT1, TIDE_TCP_CLOSING,
		TIDE_TCP_TIME_WAIT, TIDE_TCP_CLOSE,
	};
	th_expect_states(&h, h.c, cs, sizeof(cs) / sizeof(cs[0]));
	static const int ss[] = {
		TIDE_TCP_LISTEN, TIDE_TCP_SYN_RECV, TIDE_TCP_ESTABLISHED, TIDE_TCP_CLOSE_WAIT,
		TIDE_TCP_LAST_ACK, TIDE_TCP_CLOSE,
		TIDE_TCP_SYN_RECV, TIDE_TCP_ESTABLISHED, TIDE_TCP_FIN_WAIT1, TIDE_TCP_CLOSING,
		TIDE_TCP_TIME_WAIT, TIDE_TCP_CLOSE, TIDE_TCP_CLOSE,
	};
	th_expect_states(&h, h.s, ss, sizeof(ss) / sizeof(ss[0]));

	/* Every state was seen, under the catalogue's names. */
	static const struct { int state; const char *name; } cat[11] = {
		{ TIDE_TCP_CLOSE, "CLOSED" },        { TIDE_TCP_LISTEN, "LISTEN" },
		{ TIDE_TCP_SYN_SENT, "SYN_SENT" },   { TIDE_TCP_SYN_RECV, "SYN_RECV" },
		{ TIDE_TCP_ESTABLISHED, "ESTABLISHED" }, { TIDE_TCP_FIN_WAIT1, "FIN_WAIT_1" },
		{ TIDE_TCP_FIN_WAIT2, "FIN_WAIT_2" }, { TIDE_TCP_CLOSE_WAIT, "CLOSE_WAIT" },
		{ TIDE_TCP_CLOSING, "CLOSING" },     { TIDE_TCP_LAST_ACK, "LAST_ACK" },
		{ TIDE_TCP_TIME_WAIT, "TIME_WAIT" },
	};
	for (size_t k = 0; k < 11; k++) {
		bool seen = false;
		for (size_t i = 0; i < h.nstates; i++)
			if (h.states[i].old_state == cat[k].state || h.states[i].new_state == cat[k].state)
				seen = true;
		if (!seen)
			fail_msg("state %s never observed", cat[k].name);
		assert_string_equal(tide_state_name(cat[k].state), cat[k].name);
	}
	assert_string_equal(tide_state_name(0), "?");
	th_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_LC_H01_three_way_handshake),
		cmocka_unit_test(test_LC_H02_accept_returns_only_completed_connections),
		cmocka_unit_test(test_LC_H03_accept_queue_full_drops_final_ack),
		cmocka_unit_test(test_LC_H03_abort_on_overflow_sends_rst),
		cmocka_unit_test(test_LC_H04_reset_before_accept_still_accepted),
		cmocka_unit_test(test_LC_H05_syn_to_closed_port_refused),
		cmocka_unit_test(test_LC_H06_unanswered_syn_times_out),
		cmocka_unit_test(test_LC_H06_unanswered_syn_classic_backoff),
		cmocka_unit_test(test_LC_H06_unanswered_synack_request_dropped),
		cmocka_unit_test(test_LC_H07_simultaneous_open),
		cmocka_unit_test(test_LC_H09_close_in_syn_sent),
		cmocka_unit_test(test_LC_H10_closing_listener_resets_unaccepted),
		cmocka_unit_test(test_LC_S_all_eleven_states),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
