/*
 * Readiness: tide_poll and tide_epoll_* on a tide stack.
 *
 * The poll masks are Linux's tcp_poll (checked on Linux 6.18 with real
 * loopback sockets in the same situations): a new socket is POLLOUT|POLLHUP,
 * a listener POLLIN once a connection is ready for accept(), POLLIN on data
 * and on end of data, POLLERR while an error is pending. epoll: the
 * EPOLL_CTL errors, level-triggered, edge-triggered and one-shot
 * reporting, data passed through, maxevents, and one event loop driving
 * 2,000 connections on each stack.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#define EXPECT_ERR(call, e)                                  \
	do {                                                 \
		errno = 0;                                   \
		assert_int_equal((long long)(call), -1);     \
		assert_int_equal(errno, (e));                \
	} while (0)

#define POLL_ALL (POLLIN | POLLOUT | POLLRDHUP)

/* revents of one descriptor polled for `events`. */
static int poll1(tide_stack *st, int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events, .revents = (short)0x7fff };
	int n = tide_poll(st, &p, 1);
	assert_int_equal(n, p.revents ? 1 : 0);
	return p.revents;
}

static int epoll_add(tide_stack *st, int ep, int fd, uint32_t events, uint64_t u64)
{
	struct epoll_event ev = { .events = events, .data.u64 = u64 };
	return tide_epoll_ctl(st, ep, EPOLL_CTL_ADD, fd, &ev);
}

static int epoll_mod(tide_stack *st, int ep, int fd, uint32_t events, uint64_t u64)
{
	struct epoll_event ev = { .events = events, .data.u64 = u64 };
	return tide_epoll_ctl(st, ep, EPOLL_CTL_MOD, fd, &ev);
}

/* One wait with room for 8: exactly n events, the first one (if any) has
 * data u64 and mask `events`. Failures name the caller's line. */
#define expect_wait1(st, ep, n, u64, events) \
	expect_wait1_at(st, ep, n, u64, events, __FILE__, __LINE__)
static void expect_wait1_at(tide_stack *st, int ep, int n, uint64_t u64, uint32_t events,
			    const char *file, int line)
{
	struct epoll_event evs[8];
	memset(evs, 0, sizeof(evs));
	_assert_int_equal(tide_epoll_wait(st, ep, evs, 8), n, file, line);
	if (n) {
		_assert_int_equal(evs[0].data.u64, u64, file, line);
		_assert_int_equal(evs[0].events, events, file, line);
	}
}

/* ---- poll ------------------------------------------------------------ */

/* A socket without a connection is POLLOUT|POLLHUP (tcp_poll: CLOSE means
 * HUP, and a socket that is not connecting may write); POLLHUP is reported
 * even when not asked for. A connecting socket reports nothing. */
static void test_api_poll_new_socket_pollout_pollhup(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int u = tide_socket(h.C, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(poll1(h.C, u, POLL_ALL), POLLOUT | POLLHUP);
	assert_int_equal(poll1(h.C, u, POLLIN), POLLHUP);
	assert_int_equal(poll1(h.C, u, 0), POLLHUP);
	int l = th_listen(&h, h.s, 80, 8);
	int c = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 0);
	assert_int_equal(poll1(h.C, c, POLL_ALL), 0);
	/* shutdown of an unconnected socket fails but marks it shut down */
	EXPECT_ERR(tide_shutdown(h.C, u, SHUT_RDWR), ENOTCONN);
	assert_int_equal(poll1(h.C, u, POLL_ALL), POLLIN | POLLOUT | POLLHUP | POLLRDHUP);
	assert_int_equal(tide_close(h.C, u), 0);
	assert_int_equal(tide_close(h.C, c), 0);
	assert_int_equal(tide_close(h.S, l), 0);
	th_free(&h);
}

/* A listener is POLLIN only once a connection has completed its handshake
 * (not while it is in SYN_RECV) and until it has been accepted. */
static void test_api_poll_listener_pollin_when_connection_queued(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int l = th_listen(&h, h.s, 80, 8);
	assert_int_equal(poll1(h.S, l, POLL_ALL), 0);
	int c = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_until(&h, TIDE_MS(2)); /* SYN_RECV since 1 ms */
	assert_int_equal(poll1(h.S, l, POLL_ALL), 0);
	th_run_until(&h, TIDE_MS(3)); /* the ACK arrived */
	assert_int_equal(poll1(h.S, l, POLL_ALL), POLLIN);
	assert_int_equal(poll1(h.S, l, POLLOUT), 0);
	int a = th_accept(&h, h.s, l);
	assert_int_equal(poll1(h.S, l, POLL_ALL), 0);
	assert_int_equal(poll1(h.S, a, POLL_ALL), POLLOUT);
	assert_int_equal(poll1(h.C, c, POLL_ALL), POLLOUT);
	assert_int_equal(tide_close(h.S, a), 0);
	assert_int_equal(tide_close(h.S, l), 0);
	assert_int_equal(tide_close(h.C, c), 0);
	th_free(&h);
}

/* POLLIN when data is queued and again at end of data (with POLLRDHUP
 * when asked for it); reading the data clears it, reading EOF does not. */
static void test_api_poll_pollin_on_data_and_eof(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd;
	th_establish(&h, &cfd, &sfd, NULL);
	assert_int_equal(tide_send(h.C, cfd, "hello", 5, 0), 5);
	assert_int_equal(poll1(h.S, sfd, POLL_ALL), POLLOUT);
	th_run_for(&h, TIDE_MS(1));
	assert_int_equal(poll1(h.S, sfd, POLL_ALL), POLLIN | POLLOUT);
	assert_int_equal(poll1(h.S, sfd, POLLIN), POLLIN);
	char b[8];
	assert_int_equal(tide_recv(h.S, sfd, b, sizeof(b), MSG_PEEK), 5);
	assert_int_equal(poll1(h.S, sfd, POLL_ALL), POLLIN | POLLOUT);
	assert_int_equal(tide_recv(h.S, sfd, b, sizeof(b), 0), 5);
	assert_int_equal(poll1(h.S, sfd, POLL_ALL), POLLOUT);

	assert_int_equal(tide_shutdown(h.C, cfd, SHUT_WR), 0);
	assert_int_equal(poll1(h.C, cfd, POLL_ALL), POLLOUT); /* FIN_WAIT1 */
	th_run_for(&h, TIDE_MS(1));
	assert_int_equal(poll1(h.S, sfd, POLL_ALL), POLLIN | POLLOUT | POLLRDHUP);
	assert_int_equal(poll1(h.S, sfd, POLLIN | POLLOUT), POLLIN | POLLOUT);
	assert_int_equal(tide_recv(h.S, sfd, b, sizeof(b), 0), 0);
	assert_int_equal(poll1(h.S, sfd, POLL_ALL), POLLIN | POLLOUT | POLLRDHUP);
	assert_int_equal(tide_close(h.C, cfd), 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_free(&h);
}

/* After the peer's RST: POLLIN|POLLOUT|POLLERR|POLLHUP (+POLLRDHUP) while
 * the error is pending; SO_ERROR reads ECONNRESET and clears POLLERR;
 * then recv gives 0 and send EPIPE. */
static void test_api_poll_pollerr_after_rst(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd;
	th_establish(&h, &cfd, &sfd, NULL);
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	assert_int_equal(tide_setsockopt(h.C, cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_for(&h, TIDE_MS(1));
	th_expect_seg(&h, 3, h.c, TIDE_TCP_RST | TIDE_TCP_ACK, 101, 301, 0);
	assert_int_equal(tide_sock_state(h.S, sfd), TIDE_TCP_CLOSE);
	assert_int_equal(poll1(h.S, sfd, POLL_ALL),
			 POLLIN | POLLOUT | POLLERR | POLLHUP | POLLRDHUP);
	assert_int_equal(poll1(h.S, sfd, 0), POLLERR | POLLHUP);
	int err = -1;
	socklen_t len = sizeof(err);
	assert_int_equal(tide_getsockopt(h.S, sfd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	assert_int_equal(err, ECONNRESET);
	assert_int_equal(poll1(h.S, sfd, POLL_ALL), POLLIN | POLLOUT | POLLHUP | POLLRDHUP);
	char b[4];
	assert_int_equal(tide_recv(h.S, sfd, b, sizeof(b), 0), 0);
	EXPECT_ERR(tide_send(h.S, sfd, "x", 1, 0), EPIPE);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_free(&h);
}

/* A refused connect: POLLIN|POLLOUT|POLLERR|POLLHUP until SO_ERROR or
 * connect() takes the error. */
static void test_LC_H05_poll_pollerr_after_refused_connect(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int c = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 0);
	th_run_for(&h, TIDE_MS(2));
	assert_int_equal(poll1(h.C, c, POLLIN | POLLOUT), POLLIN | POLLOUT | POLLERR | POLLHUP);
	struct sockaddr_in s;
	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	s.sin_port = htons(80);
	s.sin_addr.s_addr = htonl(TH_SERVER_ADDR);
	EXPECT_ERR(tide_connect(h.C, c, (struct sockaddr *)&s, sizeof(s)), ECONNREFUSED);
	assert_int_equal(poll1(h.C, c, POLLIN | POLLOUT), POLLIN | POLLOUT | POLLHUP);
	assert_int_equal(tide_close(h.C, c), 0);
	th_free(&h);
}

/* poll over several descriptors: POLLNVAL for one that is not open, a
 * negative one is skipped (revents 0), the count is of entries with
 * revents; an epoll descriptor is POLLIN when it has events to report. */
static void test_api_poll_pollnval_and_counts(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int u = tide_socket(h.C, AF_INET, SOCK_STREAM, 0);
	int c = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 0); /* SYN_SENT: nothing */
	int ep = tide_epoll_create(h.C);
	struct pollfd p[5] = {
		{ .fd = u, .events = POLLOUT },
		{ .fd = 77, .events = POLLIN },
		{ .fd = -1, .events = POLLIN, .revents = POLLIN },
		{ .fd = c, .events = POLL_ALL },
		{ .fd = ep, .events = POLLIN },
	};
	assert_int_equal(tide_poll(h.C, p, 5), 2);
	assert_int_equal(p[0].revents, POLLOUT | POLLHUP);
	assert_int_equal(p[1].revents, POLLNVAL);
	assert_int_equal(p[2].revents, 0);
	assert_int_equal(p[3].revents, 0);
	assert_int_equal(p[4].revents, 0);
	assert_int_equal(epoll_add(h.C, ep, u, EPOLLOUT, 1), 0);
	assert_int_equal(tide_poll(h.C, p, 5), 3);
	assert_int_equal(p[4].revents, POLLIN);
	assert_int_equal(tide_poll(h.C, p, 0), 0);
	assert_int_equal(tide_close(h.C, ep), 0);
	assert_int_equal(tide_close(h.C, u), 0);
	assert_int_equal(tide_close(h.C, c), 0);
	th_free(&h);
}

/* ---- epoll: control errors -------------------------------------------- */

/* EPOLL_CTL errors as Linux: EEXIST for a second ADD, ENOENT for MOD/DEL
 * of a descriptor not in the set, EBADF for a closed epfd or fd, EINVAL
 * for epfd == fd, an epfd that is not an epoll instance, or an unknown op.
 * Adding an epoll descriptor is EPERM: tide does not nest epoll instances
 * (Linux allows it). A closed socket leaves every set. */
static void test_api_epoll_ctl_errors(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int ep = tide_epoll_create(h.C);
	int ep2 = tide_epoll_create(h.C);
	int s1 = tide_socket(h.C, AF_INET, SOCK_STREAM, 0);
	int s2 = tide_socket(h.C, AF_INET, SOCK_STREAM, 0);
	struct epoll_event ev = { .events = EPOLLIN };
	EXPECT_ERR(tide_epoll_ctl(h.C, ep, EPOLL_CTL_MOD, s1, &ev), ENOENT);
	EXPECT_ERR(tide_epoll_ctl(h.C, ep, EPOLL_CTL_DEL, s1, &ev), ENOENT);
	assert_int_equal(tide_epoll_ctl(h.C, ep, EPOLL_CTL_ADD, s1, &ev), 0);
	EXPECT_ERR(tide_epoll_ctl(h.C, ep, EPOLL_CTL_ADD, s1, &ev), EEXIST);
	assert_int_equal(tide_epoll_ctl(h.C, ep2, EPOLL_CTL_ADD, s1, &ev), 0); /* other set */
	EXPECT_ERR(tide_epoll_ctl(h.C, ep, EPOLL_CTL_ADD, 99, &ev), EBADF);
	EXPECT_ERR(tide_epoll_ctl(h.C, 99, EPOLL_CTL_ADD, s2, &ev), EBADF);
	EXPECT_ERR(tide_epoll_ctl(h.C, ep, EPOLL_CTL_ADD, ep, &ev), EINVAL);
	EXPECT_ERR(tide_epoll_ctl(h.C, s1, EPOLL_CTL_ADD, s2, &ev), EINVAL);
	EXPECT_ERR(tide_epoll_ctl(h.C, ep, 7, s2, &ev), EINVAL);
	EXPECT_ERR(tide_epoll_ctl(h.C, ep, EPOLL_CTL_ADD, ep2, &ev), EPERM);
	assert_int_equal(tide_epoll_ctl(h.C, ep, EPOLL_CTL_MOD, s1, &ev), 0);
	assert_int_equal(tide_epoll_ctl(h.C, ep, EPOLL_CTL_DEL, s1, NULL), 0);
	EXPECT_ERR(tide_epoll_ctl(h.C, ep, EPOLL_CTL_DEL, s1, NULL), ENOENT);
	/* closing s1 removes it from ep2; the fd reused is a new socket */
	assert_int_equal(tide_close(h.C, s1), 0);
	EXPECT_ERR(tide_epoll_ctl(h.C, ep2, EPOLL_CTL_DEL, s1, NULL), EBADF);
	assert_int_equal(tide_socket(h.C, AF_INET, SOCK_STREAM, 0), s1);
	EXPECT_ERR(tide_epoll_ctl(h.C, ep2, EPOLL_CTL_DEL, s1, NULL), ENOENT);
	expect_wait1(h.C, ep2, 0, 0, 0);
	int fds[] = { ep, ep2, s1, s2 };
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(tide_close(h.C, fds[i]), 0);
	th_free(&h);
}

/* epoll_wait: maxevents <= 0 is EINVAL, a descriptor that is not an
 * epoll instance EINVAL, a closed one EBADF. */
static void test_api_epoll_wait_errors(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int ep = tide_epoll_create(h.C);
	int s = tide_socket(h.C, AF_INET, SOCK_STREAM, 0);
	struct epoll_event ev[2];
	EXPECT_ERR(tide_epoll_wait(h.C, ep, ev, 0), EINVAL);
	EXPECT_ERR(tide_epoll_wait(h.C, ep, ev, -1), EINVAL);
	EXPECT_ERR(tide_epoll_wait(h.C, s, ev, 2), EINVAL);
	EXPECT_ERR(tide_epoll_wait(h.C, 50, ev, 2), EBADF);
	assert_int_equal(tide_epoll_wait(h.C, ep, ev, 2), 0);
	assert_int_equal(tide_close(h.C, ep), 0);
	EXPECT_ERR(tide_epoll_wait(h.C, ep, ev, 2), EBADF);
	assert_int_equal(tide_close(h.C, s), 0);
	th_free(&h);
}

/* ---- epoll: reporting -------------------------------------------------- */

/* A socket without a connection in an epoll set reports EPOLLOUT|EPOLLHUP;
 * with events 0 still EPOLLHUP (always reported). data.u64 comes back
 * as given, all 64 bits. */
static void test_api_epoll_new_socket_and_data_u64(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int ep = tide_epoll_create(h.C);
	int a = tide_socket(h.C, AF_INET, SOCK_STREAM, 0);
	int b = tide_socket(h.C, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(epoll_add(h.C, ep, a, EPOLLIN | EPOLLOUT, 0xfedcba9876543210ull), 0);
	expect_wait1(h.C, ep, 1, 0xfedcba9876543210ull, EPOLLOUT | EPOLLHUP);
	assert_int_equal(epoll_mod(h.C, ep, a, EPOLLIN, 0x8000000000000001ull), 0);
	assert_int_equal(epoll_add(h.C, ep, b, 0, 42), 0);
	struct epoll_event evs[4];
	memset(evs, 0, sizeof(evs));
	assert_int_equal(tide_epoll_wait(h.C, ep, evs, 4), 2);
	assert_int_equal(evs[0].data.u64, 0x8000000000000001ull);
	assert_int_equal(evs[0].events, EPOLLHUP);
	assert_int_equal(evs[1].data.u64, 42);
	assert_int_equal(evs[1].events, EPOLLHUP);
	assert_int_equal(tide_close(h.C, ep), 0);
	assert_int_equal(tide_close(h.C, a), 0);
	assert_int_equal(tide_close(h.C, b), 0);
	th_free(&h);
}

/* Level-triggered: reported by every wait while data is readable, not
 * once it has been read. */
static void test_api_epoll_level_triggered(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd;
	th_establish(&h, &cfd, &sfd, NULL);
	int ep = tide_epoll_create(h.S);
	assert_int_equal(epoll_add(h.S, ep, sfd, EPOLLIN, 7), 0);
	expect_wait1(h.S, ep, 0, 0, 0);
	assert_int_equal(tide_send(h.C, cfd, "abc", 3, 0), 3);
	th_run_for(&h, TIDE_MS(1));
	for (int i = 0; i < 3; i++)
		expect_wait1(h.S, ep, 1, 7, EPOLLIN);
	char b[2];
	assert_int_equal(tide_recv(h.S, sfd, b, 2, 0), 2);
	expect_wait1(h.S, ep, 1, 7, EPOLLIN);
	assert_int_equal(tide_recv(h.S, sfd, b, 2, 0), 1);
	expect_wait1(h.S, ep, 0, 0, 0);
	expect_wait1(h.S, ep, 0, 0, 0);
	/* new data makes it ready again (Nagle holds "d" until "abc" is
	 * ACKed: it arrives 2 ms after the send) */
	assert_int_equal(tide_send(h.C, cfd, "d", 1, 0), 1);
	th_run_for(&h, TIDE_MS(1));
	expect_wait1(h.S, ep, 0, 0, 0);
	th_run_for(&h, TIDE_MS(1));
	expect_wait1(h.S, ep, 1, 7, EPOLLIN);
	expect_wait1(h.S, ep, 1, 7, EPOLLIN);
	assert_int_equal(tide_close(h.S, ep), 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_free(&h);
}

/* Edge-triggered: one report per arrival, even with the data still
 * unread; EPOLL_CTL_MOD of a ready socket reports it once more. */
static void test_api_epoll_edge_triggered(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd;
	th_establish(&h, &cfd, &sfd, NULL);
	int ep = tide_epoll_create(h.S);
	assert_int_equal(epoll_add(h.S, ep, sfd, EPOLLIN | EPOLLET, 9), 0);
	expect_wait1(h.S, ep, 0, 0, 0);
	assert_int_equal(tide_send(h.C, cfd, "1", 1, 0), 1);
	th_run_for(&h, TIDE_MS(1));
	expect_wait1(h.S, ep, 1, 9, EPOLLIN);
	expect_wait1(h.S, ep, 0, 0, 0);
	assert_int_equal(tide_send(h.C, cfd, "2", 1, 0), 1);
	th_run_for(&h, TIDE_MS(2)); /* Nagle: sent when "1" is ACKed */
	expect_wait1(h.S, ep, 1, 9, EPOLLIN);
	expect_wait1(h.S, ep, 0, 0, 0);
	assert_int_equal(epoll_mod(h.S, ep, sfd, EPOLLIN | EPOLLET, 10), 0);
	expect_wait1(h.S, ep, 1, 10, EPOLLIN);
	expect_wait1(h.S, ep, 0, 0, 0);
	char b[4];
	assert_int_equal(tide_recv(h.S, sfd, b, sizeof(b), 0), 2);
	assert_memory_equal(b, "12", 2);
	/* the peer's FIN is an arrival too */
	assert_int_equal(tide_shutdown(h.C, cfd, SHUT_WR), 0);
	th_run_for(&h, TIDE_MS(1));
	expect_wait1(h.S, ep, 1, 10, EPOLLIN);
	expect_wait1(h.S, ep, 0, 0, 0);
	assert_int_equal(tide_close(h.S, ep), 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_free(&h);
}

/* Edge-triggered EPOLLOUT on a socket that stayed writable: the ACK of
 * sent data is no new edge (Linux wakes writers only after the socket ran
 * out of space); once full, the ACKs that make it writable again are one
 * edge. */
static void test_api_epoll_edge_triggered_pollout_no_edge_on_ack(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd;
	th_establish(&h, &cfd, &sfd, NULL);
	int ep = tide_epoll_create(h.C);
	assert_int_equal(epoll_add(h.C, ep, cfd, EPOLLOUT | EPOLLET, 3), 0);
	expect_wait1(h.C, ep, 1, 3, EPOLLOUT);
	expect_wait1(h.C, ep, 0, 0, 0);
	assert_int_equal(tide_send(h.C, cfd, "x", 1, 0), 1);
	th_run_for(&h, TIDE_MS(2)); /* data there, ACK back */
	th_expect_seg(&h, 4, h.s, TIDE_TCP_ACK, 301, 102, 0);
	expect_wait1(h.C, ep, 0, 0, 0);
	/* out of space, then writable again: one new edge */
	static char big[100000];
	assert_int_equal(tide_send(h.C, cfd, big, sizeof(big), 0), 16384);
	expect_wait1(h.C, ep, 0, 0, 0);
	th_run_for(&h, TIDE_MS(100));
	expect_wait1(h.C, ep, 1, 3, EPOLLOUT);
	expect_wait1(h.C, ep, 0, 0, 0);
	assert_int_equal(tide_close(h.C, ep), 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_free(&h);
}

/* EPOLLONESHOT: reported once, then silent whatever arrives, until
 * EPOLL_CTL_MOD re-arms it. */
static void test_api_epoll_oneshot(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd;
	th_establish(&h, &cfd, &sfd, NULL);
	int ep = tide_epoll_create(h.S);
	assert_int_equal(epoll_add(h.S, ep, sfd, EPOLLIN | EPOLLONESHOT, 5), 0);
	assert_int_equal(tide_send(h.C, cfd, "4", 1, 0), 1);
	th_run_for(&h, TIDE_MS(1));
	expect_wait1(h.S, ep, 1, 5, EPOLLIN);
	expect_wait1(h.S, ep, 0, 0, 0);
	assert_int_equal(tide_send(h.C, cfd, "5", 1, 0), 1);
	th_run_for(&h, TIDE_MS(1));
	expect_wait1(h.S, ep, 0, 0, 0);
	assert_int_equal(epoll_mod(h.S, ep, sfd, EPOLLIN | EPOLLONESHOT, 6), 0);
	expect_wait1(h.S, ep, 1, 6, EPOLLIN);
	expect_wait1(h.S, ep, 0, 0, 0);
	/* EPOLLERR/EPOLLHUP do not get through a disarmed item either */
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	assert_int_equal(tide_setsockopt(h.C, cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_for(&h, TIDE_MS(1));
	expect_wait1(h.S, ep, 0, 0, 0);
	assert_int_equal(epoll_mod(h.S, ep, sfd, EPOLLIN | EPOLLONESHOT, 7), 0);
	expect_wait1(h.S, ep, 1, 7, EPOLLIN | EPOLLERR | EPOLLHUP);
	assert_int_equal(tide_close(h.S, ep), 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_free(&h);
}

/* maxevents: a wait returns at most that many; the rest come with the
 * next wait. Level-triggered items go round robin (reported ones move to
 * the back), edge-triggered ones are reported once each. */
static void test_api_epoll_maxevents(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int lt = tide_epoll_create(h.C);
	int et = tide_epoll_create(h.C);
	int fds[5];
	for (int i = 0; i < 5; i++) {
		fds[i] = tide_socket(h.C, AF_INET, SOCK_STREAM, 0);
		assert_int_equal(epoll_add(h.C, lt, fds[i], EPOLLOUT, (uint64_t)i), 0);
		assert_int_equal(epoll_add(h.C, et, fds[i], EPOLLOUT | EPOLLET, (uint64_t)i), 0);
	}
	static const int lt_order[4][2] = { { 0, 1 }, { 2, 3 }, { 4, 0 }, { 1, 2 } };
	static const int et_order[3][2] = { { 0, 1 }, { 2, 3 }, { 4, -1 } };
	struct epoll_event evs[3];
	for (int w = 0; w < 4; w++) {
		memset(evs, 0xee, sizeof(evs));
		assert_int_equal(tide_epoll_wait(h.C, lt, evs, 2), 2);
		for (int k = 0; k < 2; k++) {
			assert_int_equal(evs[k].data.u64, lt_order[w][k]);
			assert_int_equal(evs[k].events, EPOLLOUT | EPOLLHUP);
		}
		assert_int_equal(evs[2].data.u64, 0xeeeeeeeeeeeeeeeeull); /* untouched */
	}
	for (int w = 0; w < 3; w++) {
		int n = et_order[w][1] < 0 ? 1 : 2;
		assert_int_equal(tide_epoll_wait(h.C, et, evs, 2), n);
		for (int k = 0; k < n; k++)
			assert_int_equal(evs[k].data.u64, et_order[w][k]);
	}
	assert_int_equal(tide_epoll_wait(h.C, et, evs, 2), 0);
	assert_int_equal(tide_epoll_wait(h.C, lt, evs, 1), 1);
	assert_int_equal(evs[0].data.u64, 3);
	for (int i = 0; i < 5; i++)
		assert_int_equal(tide_close(h.C, fds[i]), 0);
	assert_int_equal(tide_epoll_wait(h.C, lt, evs, 2), 0);
	assert_int_equal(tide_close(h.C, lt), 0);
	assert_int_equal(tide_close(h.C, et), 0);
	th_free(&h);
}

/* EPOLLRDHUP is reported with EPOLLIN after the peer's FIN when asked for;
 * a listener's EPOLLIN wakes an epoll set. */
static void test_api_epoll_rdhup_and_listener(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int l = th_listen(&h, h.s, 80, 8);
	int ep = tide_epoll_create(h.S);
	assert_int_equal(epoll_add(h.S, ep, l, EPOLLIN, 1), 0);
	int c = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_until(&h, TIDE_MS(2));
	expect_wait1(h.S, ep, 0, 0, 0);
	th_run_until(&h, TIDE_MS(3));
	expect_wait1(h.S, ep, 1, 1, EPOLLIN);
	int a = th_accept(&h, h.s, l);
	expect_wait1(h.S, ep, 0, 0, 0);
	assert_int_equal(epoll_add(h.S, ep, a, EPOLLIN | EPOLLRDHUP, 2), 0);
	expect_wait1(h.S, ep, 0, 0, 0);
	assert_int_equal(tide_shutdown(h.C, c, SHUT_WR), 0);
	th_run_for(&h, TIDE_MS(1));
	expect_wait1(h.S, ep, 1, 2, EPOLLIN | EPOLLRDHUP);
	assert_int_equal(tide_close(h.S, ep), 0);
	assert_int_equal(tide_close(h.S, a), 0);
	assert_int_equal(tide_close(h.S, l), 0);
	assert_int_equal(tide_close(h.C, c), 0);
	th_free(&h);
}

/* ---- scale ------------------------------------------------------------- */

#define NCONN 2000
#define MSGLEN 100

static uint8_t pattern(int conn, int dir, int i)
{
	return (uint8_t)(conn * 31 + dir * 101 + i * 7);
}

struct cli {
	int fd;
	int sent, rcvd;
	bool closed;
};

struct srv {
	int fd;
	int conn;             /* client index, learnt from the first byte */
	int sent, rcvd;
	bool eof, closed;
	uint8_t in[MSGLEN];
};

struct scale {
	struct th *h;
	int cep, sep, lfd;
	struct cli c[NCONN];
	struct srv *s;        /* by accept order */
	int naccepted, nsrv_closed, ncli_closed;
	long long c_bytes_out, c_bytes_in, s_bytes_out, s_bytes_in;
	long long c_events, s_events;
};

static void client_event(struct scale *x, const struct epoll_event *ev)
{
	tide_stack *C = x->h->C;
	struct cli *c = &x->c[ev->data.u64];
	x->c_events++;
	assert_false(c->closed);
	assert_int_equal(ev->events & (EPOLLERR | EPOLLHUP), 0);
	if (c->sent == 0) {
		assert_true(ev->events & EPOLLOUT);
		int err = -1;
		socklen_t len = sizeof(err);
		assert_int_equal(tide_getsockopt(C, c->fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
		assert_int_equal(err, 0);
		uint8_t out[MSGLEN];
		for (int i = 0; i < MSGLEN; i++)
			out[i] = pattern((int)ev->data.u64, 0, i);
		/* the first two bytes name the connection for the server */
		out[0] = (uint8_t)(ev->data.u64 >> 8);
		out[1] = (uint8_t)ev->data.u64;
		assert_int_equal(tide_send(C, c->fd, out, MSGLEN, 0), MSGLEN);
		c->sent = MSGLEN;
		x->c_bytes_out += MSGLEN;
		struct epoll_event m = { .events = EPOLLIN, .data.u64 = ev->data.u64 };
		assert_int_equal(tide_epoll_ctl(C, x->cep, EPOLL_CTL_MOD, c->fd, &m), 0);
		return;
	}
	assert_true(ev->events & EPOLLIN);
	uint8_t b[MSGLEN + 1];
	ssize_t n = tide_recv(C, c->fd, b, sizeof(b), 0);
	assert_true(n > 0);
	for (ssize_t i = 0; i < n; i++)
		assert_int_equal(b[i], pattern((int)ev->data.u64, 1, c->rcvd + (int)i));
	c->rcvd += (int)n;
	x->c_bytes_in += n;
	assert_true(c->rcvd <= MSGLEN);
	if (c->rcvd == MSGLEN) {
		/* the client closes first: it will hold the TIME_WAIT */
		assert_int_equal(tide_close(C, c->fd), 0);
		c->closed = true;
		x->ncli_closed++;
	}
}

static void server_event(struct scale *x, const struct epoll_event *ev)
{
	tide_stack *S = x->h->S;
	x->s_events++;
	if (ev->data.u64 == UINT64_MAX) {
		assert_int_equal(ev->events, EPOLLIN);
		for (;;) {
			int fd = tide_accept(S, x->lfd, NULL, NULL, SOCK_NONBLOCK);
			if (fd < 0) {
				assert_int_equal(errno, EAGAIN);
				return;
			}
			assert_true(x->naccepted < NCONN);
			struct srv *s = &x->s[x->naccepted];
			memset(s, 0, sizeof(*s));
			s->fd = fd;
			s->conn = -1;
			struct epoll_event m = { .events = EPOLLIN | EPOLLRDHUP,
						 .data.u64 = (uint64_t)x->naccepted };
			assert_int_equal(tide_epoll_ctl(S, x->sep, EPOLL_CTL_ADD, fd, &m), 0);
			x->naccepted++;
		}
	}
	struct srv *s = &x->s[ev->data.u64];
	assert_false(s->closed);
	assert_int_equal(ev->events & (EPOLLERR | EPOLLHUP), 0);
	for (;;) {
		uint8_t b[MSGLEN + 1];
		ssize_t n = tide_recv(S, s->fd, b, sizeof(b), 0);
		if (n < 0) {
			assert_int_equal(errno, EAGAIN);
			return;
		}
		if (n == 0) {
			assert_int_equal(s->rcvd, MSGLEN);
			assert_int_equal(s->sent, MSGLEN);
			assert_true(ev->events & EPOLLRDHUP);
			assert_int_equal(tide_close(S, s->fd), 0);
			s->closed = true;
			x->nsrv_closed++;
			return;
		}
		assert_true(s->rcvd + n <= MSGLEN);
		memcpy(s->in + s->rcvd, b, (size_t)n);
		s->rcvd += (int)n;
		x->s_bytes_in += n;
		if (s->rcvd == MSGLEN) {
			s->conn = s->in[0] << 8 | s->in[1];
			assert_in_range(s->conn, 0, NCONN - 1);
			for (int i = 2; i < MSGLEN; i++)
				assert_int_equal(s->in[i], pattern(s->conn, 0, i));
			uint8_t out[MSGLEN];
			for (int i = 0; i < MSGLEN; i++)
				out[i] = pattern(s->conn, 1, i);
			assert_int_equal(tide_send(S, s->fd, out, MSGLEN, 0), MSGLEN);
			s->sent = MSGLEN;
			x->s_bytes_out += MSGLEN;
		}
	}
}

/* Drains both epoll sets; returns how many events were handled. */
static int drain(struct scale *x)
{
	struct epoll_event evs[64];
	int total = 0, n;
	do {
		n = tide_epoll_wait(x->h->C, x->cep, evs, 64);
		assert_true(n >= 0);
		for (int i = 0; i < n; i++)
			client_event(x, &evs[i]);
		total += n;
		int m = tide_epoll_wait(x->h->S, x->sep, evs, 64);
		assert_true(m >= 0);
		for (int i = 0; i < m; i++)
			server_event(x, &evs[i]);
		total += m;
		n += m;
	} while (n > 0);
	return total;
}

static void count_conn(void *ctx, const struct tide_conn_info *ci)
{
	int *counts = ctx;
	counts[ci->state]++;
}

static void tune_scale(struct tide_config *cfg, int node)
{
	(void)node;
	cfg->settings.tcp_max_syn_backlog = 4096;
	cfg->settings.somaxconn = 4096;
}

/* One event loop drives 2,000 client connections to one server, on both
 * stacks only through epoll readiness: every client connects, sends 100
 * bytes, reads the 100-byte answer and closes; the server accepts, reads,
 * answers, reads the end of data and closes. Every byte is checked and
 * counted; each connection is exactly SYN, SYN-ACK, ACK, data, ACK, data,
 * ACK, FIN, FIN+ACK (three-way close), ACK; the clients hold the TIME_WAITs
 * for 60 s. */
static void test_api_epoll_scale_2000_connections(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .tune = tune_scale };
	th_init(&h, &o);
	struct scale *x = calloc(1, sizeof(*x));
	assert_non_null(x);
	x->s = calloc(NCONN, sizeof(*x->s));
	assert_non_null(x->s);
	x->h = &h;
	x->lfd = th_listen(&h, h.s, 80, NCONN);
	assert_int_equal(tide_fcntl(h.S, x->lfd, F_SETFL, O_NONBLOCK), 0);
	x->sep = tide_epoll_create(h.S);
	x->cep = tide_epoll_create(h.C);
	assert_int_equal(epoll_add(h.S, x->sep, x->lfd, EPOLLIN, UINT64_MAX), 0);
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(80);
	sa.sin_addr.s_addr = htonl(TH_SERVER_ADDR);
	for (int i = 0; i < NCONN; i++) {
		x->c[i].fd = tide_socket(h.C, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		assert_true(x->c[i].fd >= 3);
		EXPECT_ERR(tide_connect(h.C, x->c[i].fd, (struct sockaddr *)&sa, sizeof(sa)), EINPROGRESS);
		assert_int_equal(epoll_add(h.C, x->cep, x->c[i].fd, EPOLLOUT, (uint64_t)i), 0);
	}
	/* run the network only when neither side has anything to do */
	int rounds = 0;
	while (x->ncli_closed < NCONN || x->nsrv_closed < NCONN) {
		if (drain(x) == 0) {
			tide_time t = tide_sim_next_event(h.sim);
			assert_true(t != TIDE_TIME_NEVER);
			assert_true(t < TIDE_SEC(10));
			th_run_until(&h, t);
		}
		assert_true(++rounds < 100000);
	}
	assert_int_equal(x->naccepted, NCONN);
	assert_int_equal(x->c_bytes_out, NCONN * MSGLEN);
	assert_int_equal(x->s_bytes_in, NCONN * MSGLEN);
	assert_int_equal(x->s_bytes_out, NCONN * MSGLEN);
	assert_int_equal(x->c_bytes_in, NCONN * MSGLEN);
	bool seen[NCONN] = { false };
	for (int i = 0; i < NCONN; i++) {
		assert_int_equal(x->c[i].sent, MSGLEN);
		assert_int_equal(x->c[i].rcvd, MSGLEN);
		assert_true(x->c[i].closed);
		assert_int_equal(x->s[i].rcvd, MSGLEN);
		assert_int_equal(x->s[i].sent, MSGLEN);
		assert_true(x->s[i].closed);
		assert_false(seen[x->s[i].conn]);
		seen[x->s[i].conn] = true;
	}
	/* the last events: FIN+ACK at 5 ms, the final ACK arrives at 7 ms */
	th_run_until(&h, TIDE_MS(7));
	assert_int_equal(h.nsegs, 10 * NCONN);
	size_t nflags[256] = { 0 };
	size_t data_bytes = 0;
	for (size_t i = 0; i < h.nsegs; i++) {
		nflags[h.segs[i].flags]++;
		data_bytes += h.segs[i].len;
	}
	assert_int_equal(nflags[TIDE_TCP_SYN], NCONN);
	assert_int_equal(nflags[TIDE_TCP_SYN | TIDE_TCP_ACK], NCONN);
	assert_int_equal(nflags[TIDE_TCP_ACK], 4 * NCONN);
	assert_int_equal(nflags[TIDE_TCP_PSH | TIDE_TCP_ACK], 2 * NCONN);
	assert_int_equal(nflags[TIDE_TCP_FIN | TIDE_TCP_ACK], 2 * NCONN);
	assert_int_equal(data_bytes, 2 * NCONN * MSGLEN);

	int cs[16] = { 0 }, ss[16] = { 0 };
	tide_stack_foreach_conn(h.C, count_conn, cs);
	tide_stack_foreach_conn(h.S, count_conn, ss);
	assert_int_equal(cs[TIDE_TCP_TIME_WAIT], NCONN);
	assert_int_equal(ss[TIDE_TCP_LISTEN], 1);
	assert_int_equal(tide_stack_foreach_conn(h.S, count_conn, ss), 1);
	assert_int_equal(tide_stack_counter(h.C, TIDE_MIB_ActiveOpens), NCONN);
	assert_int_equal(tide_stack_counter(h.S, TIDE_MIB_PassiveOpens), NCONN);
	assert_int_equal(tide_stack_curr_estab(h.C), 0);
	assert_int_equal(tide_stack_curr_estab(h.S), 0);
	static const enum tide_counter zero[] = {
		TIDE_MIB_AttemptFails, TIDE_MIB_EstabResets, TIDE_MIB_RetransSegs,
		TIDE_MIB_OutRsts, TIDE_MIB_ListenOverflows, TIDE_MIB_ListenDrops,
		TIDE_MIB_SyncookiesSent, TIDE_MIB_TCPAbortOnClose, TIDE_MIB_TCPAbortOnData,
	};
	for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++) {
		assert_int_equal(tide_stack_counter(h.C, zero[i]), 0);
		assert_int_equal(tide_stack_counter(h.S, zero[i]), 0);
	}
	/* client: SYN, ACK, data, ACK, FIN, ACK; server: SYN-ACK, ACK, data, FIN */
	assert_int_equal(tide_stack_counter(h.C, TIDE_MIB_OutSegs), 6 * NCONN);
	assert_int_equal(tide_stack_counter(h.S, TIDE_MIB_OutSegs), 4 * NCONN);
	/* every client entered TIME_WAIT at 6 ms, every server connection
	 * closed at 7 ms */
	size_t ntw = 0, nclosed = 0;
	for (size_t i = 0; i < h.nstates; i++) {
		const struct th_state *st = &h.states[i];
		if (st->node == h.c && st->new_state == TIDE_TCP_TIME_WAIT) {
			assert_int_equal(st->t, TIDE_MS(6));
			assert_int_equal(st->old_state, TIDE_TCP_FIN_WAIT1);
			ntw++;
		}
		if (st->node == h.s && st->old_state == TIDE_TCP_LAST_ACK) {
			assert_int_equal(st->t, TIDE_MS(7));
			assert_int_equal(st->new_state, TIDE_TCP_CLOSE);
			nclosed++;
		}
	}
	assert_int_equal(ntw, NCONN);
	assert_int_equal(nclosed, NCONN);
	/* 2MSL later every TIME_WAIT is gone */
	th_run_until(&h, TIDE_MS(6) + TIDE_SEC(60) - 1);
	assert_int_equal(tide_stack_foreach_conn(h.C, count_conn, cs), NCONN);
	th_run_until(&h, TIDE_MS(6) + TIDE_SEC(60));
	assert_int_equal(tide_stack_foreach_conn(h.C, count_conn, cs), 0);
	th_expect_nsegs(&h, 10 * NCONN);

	assert_int_equal(tide_close(h.C, x->cep), 0);
	assert_int_equal(tide_close(h.S, x->sep), 0);
	assert_int_equal(tide_close(h.S, x->lfd), 0);
	free(x->s);
	free(x);
	th_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_api_poll_new_socket_pollout_pollhup),
		cmocka_unit_test(test_api_poll_listener_pollin_when_connection_queued),
		cmocka_unit_test(test_api_poll_pollin_on_data_and_eof),
		cmocka_unit_test(test_api_poll_pollerr_after_rst),
		cmocka_unit_test(test_LC_H05_poll_pollerr_after_refused_connect),
		cmocka_unit_test(test_api_poll_pollnval_and_counts),
		cmocka_unit_test(test_api_epoll_ctl_errors),
		cmocka_unit_test(test_api_epoll_wait_errors),
		cmocka_unit_test(test_api_epoll_new_socket_and_data_u64),
		cmocka_unit_test(test_api_epoll_level_triggered),
		cmocka_unit_test(test_api_epoll_edge_triggered),
		cmocka_unit_test(test_api_epoll_edge_triggered_pollout_no_edge_on_ack),
		cmocka_unit_test(test_api_epoll_oneshot),
		cmocka_unit_test(test_api_epoll_maxevents),
		cmocka_unit_test(test_api_epoll_rdhup_and_listener),
		cmocka_unit_test(test_api_epoll_scale_2000_connections),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
