/*
 * The BSD socket API of a tide stack: every call's result and errno.
 *
 * Each errno asserted here was first checked against the Linux kernel
 * (6.18) with the same wrong call on real loopback sockets; where tide
 * differs on purpose (IPv4 and TCP only, no nested epoll) the test says so.
 * Covered: socket(), descriptor numbering, EBADF/ENOTSOCK, bind, listen,
 * connect (EINPROGRESS/EALREADY/EISCONN, refused, ephemeral ports and their
 * exhaustion), accept/accept4, send/recv, shutdown, get/setsockopt
 * (buffers, flags, TCP_INFO through a lifecycle), getsockname/getpeername
 * and fcntl.
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
#include <string.h>

/* call must fail with -1 and errno e. */
#define EXPECT_ERR(call, e)                                  \
	do {                                                 \
		errno = 0;                                   \
		assert_int_equal((long long)(call), -1);     \
		assert_int_equal(errno, (e));                \
	} while (0)

#define SA(p) ((struct sockaddr *)(void *)(p))

static struct sockaddr_in sin_of(uint32_t addr, uint16_t port)
{
	struct sockaddr_in s;
	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	s.sin_port = htons(port);
	s.sin_addr.s_addr = htonl(addr);
	return s;
}

static int bind_to(tide_stack *st, int fd, uint32_t addr, uint16_t port)
{
	struct sockaddr_in s = sin_of(addr, port);
	return tide_bind(st, fd, SA(&s), sizeof(s));
}

static int connect_to(tide_stack *st, int fd, uint32_t addr, uint16_t port)
{
	struct sockaddr_in s = sin_of(addr, port);
	return tide_connect(st, fd, SA(&s), sizeof(s));
}

static struct sockaddr_in name_of(tide_stack *st, int fd, bool peer)
{
	struct sockaddr_in s;
	memset(&s, 0xee, sizeof(s));
	socklen_t len = sizeof(s);
	int r = peer ? tide_getpeername(st, fd, SA(&s), &len) : tide_getsockname(st, fd, SA(&s), &len);
	assert_int_equal(r, 0);
	assert_int_equal(len, sizeof(s));
	assert_int_equal(s.sin_family, AF_INET);
	return s;
}

static void expect_name(tide_stack *st, int fd, bool peer, uint32_t addr, uint16_t port)
{
	struct sockaddr_in s = name_of(st, fd, peer);
	assert_int_equal(ntohl(s.sin_addr.s_addr), addr);
	assert_int_equal(ntohs(s.sin_port), port);
}

static int get_int(tide_stack *st, int fd, int level, int name)
{
	int v = -12345;
	socklen_t len = sizeof(v);
	assert_int_equal(tide_getsockopt(st, fd, level, name, &v, &len), 0);
	assert_int_equal(len, sizeof(int));
	return v;
}

static int set_int(tide_stack *st, int fd, int level, int name, int v)
{
	return tide_setsockopt(st, fd, level, name, &v, sizeof(v));
}

static struct tcp_info tcp_info_of(tide_stack *st, int fd)
{
	struct tcp_info ti;
	memset(&ti, 0xee, sizeof(ti));
	socklen_t len = sizeof(ti);
	assert_int_equal(tide_getsockopt(st, fd, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
	assert_int_equal(len, sizeof(ti));
	return ti;
}

/* ---- socket() and descriptors ---------------------------------------- */

/* tide is TCP over IPv4 only: other families are EAFNOSUPPORT and other
 * types ESOCKTNOSUPPORT (Linux would create them); a type outside the
 * kernel's range is EINVAL and UDP's protocol on a stream EPROTONOSUPPORT,
 * as in Linux. */
static void test_api_socket_domain_type_protocol(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	EXPECT_ERR(tide_socket(h.C, AF_INET6, SOCK_STREAM, 0), EAFNOSUPPORT);
	EXPECT_ERR(tide_socket(h.C, AF_UNIX, SOCK_STREAM, 0), EAFNOSUPPORT);
	EXPECT_ERR(tide_socket(h.C, AF_INET, SOCK_DGRAM, 0), ESOCKTNOSUPPORT);
	EXPECT_ERR(tide_socket(h.C, AF_INET, 0, 0), ESOCKTNOSUPPORT);
	EXPECT_ERR(tide_socket(h.C, AF_INET, 11, 0), EINVAL);
	EXPECT_ERR(tide_socket(h.C, AF_INET, 99, 0), EINVAL);
	EXPECT_ERR(tide_socket(h.C, AF_INET, SOCK_STREAM, IPPROTO_UDP), EPROTONOSUPPORT);
	/* nothing was allocated by the failures: the first fd is 3 */
	assert_int_equal(tide_socket(h.C, AF_INET, SOCK_STREAM, IPPROTO_TCP), 3);
	assert_int_equal(tide_socket(h.C, AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), 4);
	assert_int_equal(tide_close(h.C, 3), 0);
	assert_int_equal(tide_close(h.C, 4), 0);
	th_free(&h);
}

/* Descriptors start at 3 and the lowest free one is reused, shared by
 * sockets and epoll instances, like a process's fd table. */
static void test_api_fd_numbers_start_at_3_lowest_free_reused(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	assert_int_equal(tide_socket(h.C, AF_INET, SOCK_STREAM, 0), 3);
	assert_int_equal(tide_socket(h.C, AF_INET, SOCK_STREAM, 0), 4);
	assert_int_equal(tide_epoll_create(h.C), 5);
	assert_int_equal(tide_socket(h.C, AF_INET, SOCK_STREAM, 0), 6);
	assert_int_equal(tide_close(h.C, 4), 0);
	assert_int_equal(tide_close(h.C, 5), 0);
	assert_int_equal(tide_socket(h.C, AF_INET, SOCK_STREAM, 0), 4);
	assert_int_equal(tide_epoll_create(h.C), 5);
	assert_int_equal(tide_close(h.C, 3), 0);
	assert_int_equal(tide_socket(h.C, AF_INET, SOCK_STREAM, 0), 3);
	assert_int_equal(tide_socket(h.C, AF_INET, SOCK_STREAM, 0), 7);
	/* the other stack has its own table */
	assert_int_equal(tide_socket(h.S, AF_INET, SOCK_STREAM, 0), 3);
	for (int fd = 3; fd <= 7; fd++)
		assert_int_equal(tide_close(h.C, fd), 0);
	assert_int_equal(tide_close(h.S, 3), 0);
	th_free(&h);
}

static void expect_ebadf_everywhere(tide_stack *st, int fd)
{
	struct sockaddr_in s = sin_of(TH_SERVER_ADDR, 80);
	socklen_t len = sizeof(s);
	char buf[8] = "x";
	int v = 1;
	socklen_t vlen = sizeof(v);
	struct epoll_event ev = { .events = EPOLLIN };
	EXPECT_ERR(tide_bind(st, fd, SA(&s), sizeof(s)), EBADF);
	EXPECT_ERR(tide_listen(st, fd, 1), EBADF);
	EXPECT_ERR(tide_accept(st, fd, NULL, NULL, 0), EBADF);
	EXPECT_ERR(tide_connect(st, fd, SA(&s), sizeof(s)), EBADF);
	EXPECT_ERR(tide_send(st, fd, buf, 1, 0), EBADF);
	EXPECT_ERR(tide_recv(st, fd, buf, sizeof(buf), 0), EBADF);
	EXPECT_ERR(tide_shutdown(st, fd, SHUT_RDWR), EBADF);
	EXPECT_ERR(tide_getsockopt(st, fd, SOL_SOCKET, SO_TYPE, &v, &vlen), EBADF);
	EXPECT_ERR(tide_setsockopt(st, fd, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof(v)), EBADF);
	EXPECT_ERR(tide_getsockname(st, fd, SA(&s), &len), EBADF);
	EXPECT_ERR(tide_getpeername(st, fd, SA(&s), &len), EBADF);
	EXPECT_ERR(tide_fcntl(st, fd, F_GETFL, 0), EBADF);
	EXPECT_ERR(tide_fcntl(st, fd, F_SETFL, O_NONBLOCK), EBADF);
	EXPECT_ERR(tide_sock_state(st, fd), EBADF);
	EXPECT_ERR(tide_epoll_wait(st, fd, &ev, 1), EBADF);
	EXPECT_ERR(tide_close(st, fd), EBADF);
	/* poll flags a bad descriptor POLLNVAL, but skips a negative one */
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLOUT, .revents = POLLIN };
	assert_int_equal(tide_poll(st, &p, 1), fd < 0 ? 0 : 1);
	assert_int_equal(p.revents, fd < 0 ? 0 : POLLNVAL);
}

/* Every call on a descriptor that was never opened, or was closed, fails
 * with EBADF (poll reports POLLNVAL), as in Linux. */
static void test_api_ebadf_for_unopened_and_closed_fds(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	expect_ebadf_everywhere(h.C, 42);
	expect_ebadf_everywhere(h.C, -1);
	expect_ebadf_everywhere(h.C, 3);
	int fd = tide_socket(h.C, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(fd, 3);
	assert_int_equal(tide_close(h.C, fd), 0);
	expect_ebadf_everywhere(h.C, fd);
	int ep = tide_epoll_create(h.C);
	assert_int_equal(ep, 3);
	assert_int_equal(tide_close(h.C, ep), 0);
	expect_ebadf_everywhere(h.C, ep);
	th_free(&h);
}

/* A socket call on an epoll descriptor is ENOTSOCK (Linux checks the fd
 * before the arguments: shutdown with a bad `how` is ENOTSOCK too);
 * fcntl(F_GETFL) on it works and gives O_RDWR. */
static void test_api_enotsock_for_epoll_fd(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int ep = tide_epoll_create(h.C);
	assert_int_equal(ep, 3);
	struct sockaddr_in s = sin_of(TH_CLIENT_ADDR, 0);
	socklen_t len = sizeof(s);
	char buf[4] = "x";
	int v = 1;
	socklen_t vlen = sizeof(v);
	EXPECT_ERR(tide_bind(h.C, ep, SA(&s), sizeof(s)), ENOTSOCK);
	EXPECT_ERR(tide_listen(h.C, ep, 1), ENOTSOCK);
	EXPECT_ERR(tide_accept(h.C, ep, NULL, NULL, 0), ENOTSOCK);
	s = sin_of(TH_SERVER_ADDR, 80);
	EXPECT_ERR(tide_connect(h.C, ep, SA(&s), sizeof(s)), ENOTSOCK);
	EXPECT_ERR(tide_send(h.C, ep, buf, 1, 0), ENOTSOCK);
	EXPECT_ERR(tide_recv(h.C, ep, buf, sizeof(buf), 0), ENOTSOCK);
	EXPECT_ERR(tide_shutdown(h.C, ep, SHUT_WR), ENOTSOCK);
	EXPECT_ERR(tide_shutdown(h.C, ep, 5), ENOTSOCK);
	EXPECT_ERR(tide_getsockopt(h.C, ep, SOL_SOCKET, SO_TYPE, &v, &vlen), ENOTSOCK);
	EXPECT_ERR(tide_setsockopt(h.C, ep, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof(v)), ENOTSOCK);
	EXPECT_ERR(tide_getsockname(h.C, ep, SA(&s), &len), ENOTSOCK);
	EXPECT_ERR(tide_getpeername(h.C, ep, SA(&s), &len), ENOTSOCK);
	EXPECT_ERR(tide_sock_state(h.C, ep), ENOTSOCK);
	assert_int_equal(tide_fcntl(h.C, ep, F_GETFL, 0), O_RDWR);
	assert_int_equal(tide_close(h.C, ep), 0);
	th_free(&h);
}

/* ---- bind ------------------------------------------------------------ */

/* bind's errors in Linux's order: length (EINVAL), family (EAFNOSUPPORT),
 * address not the host's (EADDRNOTAVAIL, checked before "already bound"),
 * already bound (EINVAL). AF_UNSPEC with INADDR_ANY is accepted, Linux's
 * compatibility exception. */
static void test_api_bind_argument_errors(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int fd = tide_socket(h.C, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in s = sin_of(TH_CLIENT_ADDR, 5000);
	EXPECT_ERR(tide_bind(h.C, fd, SA(&s), sizeof(s) - 1), EINVAL);
	EXPECT_ERR(tide_bind(h.C, fd, SA(&s), 0), EINVAL);
	s.sin_family = AF_INET6;
	EXPECT_ERR(tide_bind(h.C, fd, SA(&s), sizeof(s)), EAFNOSUPPORT);
	s.sin_family = AF_UNIX;
	EXPECT_ERR(tide_bind(h.C, fd, SA(&s), sizeof(s)), EAFNOSUPPORT);
	s.sin_family = AF_UNSPEC; /* with a specific address: no exception */
	EXPECT_ERR(tide_bind(h.C, fd, SA(&s), sizeof(s)), EAFNOSUPPORT);
	EXPECT_ERR(bind_to(h.C, fd, TH_SERVER_ADDR, 5000), EADDRNOTAVAIL); /* the peer's */
	EXPECT_ERR(bind_to(h.C, fd, 0xc6120009u, 5000), EADDRNOTAVAIL);
	assert_int_equal(bind_to(h.C, fd, TH_CLIENT_ADDR, 5000), 0);
	expect_name(h.C, fd, false, TH_CLIENT_ADDR, 5000);
	EXPECT_ERR(bind_to(h.C, fd, TH_CLIENT_ADDR, 5001), EINVAL);
	EXPECT_ERR(bind_to(h.C, fd, 0, 0), EINVAL);
	EXPECT_ERR(bind_to(h.C, fd, 0xc6120009u, 5001), EADDRNOTAVAIL);

	int fd2 = tide_socket(h.C, AF_INET, SOCK_STREAM, 0);
	s = sin_of(0, 5002);
	s.sin_family = AF_UNSPEC;
	assert_int_equal(tide_bind(h.C, fd2, SA(&s), sizeof(s)), 0);
	expect_name(h.C, fd2, false, 0, 5002);
	/* a listener is bound: EINVAL */
	assert_int_equal(tide_listen(h.C, fd2, 1), 0);
	EXPECT_ERR(bind_to(h.C, fd2, TH_CLIENT_ADDR, 5003), EINVAL);
	assert_int_equal(tide_close(h.C, fd), 0);
	assert_int_equal(tide_close(h.C, fd2), 0);
	th_free(&h);
}

/* A port bound by another socket is EADDRINUSE, for the same address and
 * for the wildcard; once that socket is closed the port is free again. */
static void test_api_bind_port_in_use(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int a = tide_socket(h.C, AF_INET, SOCK_STREAM, 0);
	int b = tide_socket(h.C, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind_to(h.C, a, TH_CLIENT_ADDR, 8080), 0);
	EXPECT_ERR(bind_to(h.C, b, TH_CLIENT_ADDR, 8080), EADDRINUSE);
	EXPECT_ERR(bind_to(h.C, b, 0, 8080), EADDRINUSE);
	/* SO_REUSEADDR on one side only is not enough */
	assert_int_equal(set_int(h.C, b, SOL_SOCKET, SO_REUSEADDR, 1), 0);
	EXPECT_ERR(bind_to(h.C, b, TH_CLIENT_ADDR, 8080), EADDRINUSE);
	assert_int_equal(bind_to(h.C, b, TH_CLIENT_ADDR, 8081), 0);
	assert_int_equal(tide_close(h.C, a), 0);
	int c = tide_socket(h.C, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind_to(h.C, c, 0, 8080), 0);
	assert_int_equal(tide_close(h.C, b), 0);
	assert_int_equal(tide_close(h.C, c), 0);
	th_free(&h);
}

/* SO_REUSEADDR on both sockets lets them bind the same port while neither
 * listens; one of them may then listen (Linux allows it), but a second
 * listener, or a new bind next to a listener, is EADDRINUSE even with
 * SO_REUSEADDR. */
static void test_api_bind_reuseaddr_until_a_listener(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int a = tide_socket(h.S, AF_INET, SOCK_STREAM, 0);
	int b = tide_socket(h.S, AF_INET, SOCK_STREAM, 0);
	int c = tide_socket(h.S, AF_INET, SOCK_STREAM, 0);
	for (int fd = a; fd <= c; fd++)
		assert_int_equal(set_int(h.S, fd, SOL_SOCKET, SO_REUSEADDR, 1), 0);
	assert_int_equal(bind_to(h.S, a, TH_SERVER_ADDR, 8080), 0);
	assert_int_equal(bind_to(h.S, b, TH_SERVER_ADDR, 8080), 0);
	assert_int_equal(tide_listen(h.S, a, 8), 0);
	EXPECT_ERR(tide_listen(h.S, b, 8), EADDRINUSE);
	EXPECT_ERR(bind_to(h.S, c, TH_SERVER_ADDR, 8080), EADDRINUSE);
	EXPECT_ERR(bind_to(h.S, c, 0, 8080), EADDRINUSE);
	assert_int_equal(get_int(h.S, b, SOL_SOCKET, SO_ACCEPTCONN), 0);
	for (int fd = a; fd <= c; fd++)
		assert_int_equal(tide_close(h.S, fd), 0);
	th_free(&h);
}

static bool in_port_range(uint16_t p)
{
	return p >= 32768 && p <= 60999;
}

/* bind to port 0 picks an ephemeral port in ip_local_port_range
 * (32768-60999); Linux gives bind() the odd ports and keeps the even ones
 * for connect(). */
static void test_api_bind_port0_picks_odd_ephemeral_port(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	uint16_t seen[10];
	for (int i = 0; i < 10; i++) {
		int fd = tide_socket(h.C, AF_INET, SOCK_STREAM, 0);
		assert_int_equal(fd, 3 + i);
		assert_int_equal(bind_to(h.C, fd, i % 2 ? 0 : TH_CLIENT_ADDR, 0), 0);
		struct sockaddr_in s = name_of(h.C, fd, false);
		assert_int_equal(ntohl(s.sin_addr.s_addr), i % 2 ? 0 : TH_CLIENT_ADDR);
		seen[i] = ntohs(s.sin_port);
		assert_true(in_port_range(seen[i]));
		assert_int_equal(seen[i] % 2, 1);
		for (int j = 0; j < i; j++)
			assert_int_not_equal(seen[j], seen[i]);
	}
	for (int i = 0; i < 10; i++)
		assert_int_equal(tide_close(h.C, 3 + i), 0);
	th_free(&h);
}

/* ---- listen ---------------------------------------------------------- */

/* listen() on an unbound socket binds an ephemeral (odd) port on the
 * wildcard address, and connections to it are accepted. */
static void test_api_listen_autobinds_ephemeral_port(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int l = tide_socket(h.S, AF_INET, SOCK_STREAM, 0);
	expect_name(h.S, l, false, 0, 0);
	assert_int_equal(tide_listen(h.S, l, 4), 0);
	struct sockaddr_in s = name_of(h.S, l, false);
	uint16_t port = ntohs(s.sin_port);
	assert_int_equal(ntohl(s.sin_addr.s_addr), 0);
	assert_true(in_port_range(port));
	assert_int_equal(port % 2, 1);
	assert_int_equal(get_int(h.S, l, SOL_SOCKET, SO_ACCEPTCONN), 1);
	assert_int_equal(tide_sock_state(h.S, l), TIDE_TCP_LISTEN);
	int c = th_connect(&h, h.c, TH_SERVER_ADDR, port, 40000);
	th_run_for(&h, TIDE_MS(3));
	int a = th_accept(&h, h.s, l);
	expect_name(h.S, a, false, TH_SERVER_ADDR, port);
	expect_name(h.S, a, true, TH_CLIENT_ADDR, 40000);
	assert_int_equal(tide_close(h.S, a), 0);
	assert_int_equal(tide_close(h.S, l), 0);
	assert_int_equal(tide_close(h.C, c), 0);
	th_free(&h);
}

/* listen() on a connected (or connecting) socket is EINVAL. */
static void test_api_listen_on_connected_socket_einval(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int l = th_listen(&h, h.s, 80, 8);
	int c = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 0);
	EXPECT_ERR(tide_listen(h.C, c, 8), EINVAL); /* SYN_SENT */
	th_run_for(&h, TIDE_MS(3));
	int a = th_accept(&h, h.s, l);
	EXPECT_ERR(tide_listen(h.C, c, 8), EINVAL);
	EXPECT_ERR(tide_listen(h.S, a, 8), EINVAL);
	EXPECT_ERR(bind_to(h.C, c, TH_CLIENT_ADDR, 0), EINVAL);
	assert_int_equal(tide_sock_state(h.C, c), TIDE_TCP_ESTABLISHED);
	assert_int_equal(tide_close(h.S, a), 0);
	assert_int_equal(tide_close(h.S, l), 0);
	assert_int_equal(tide_close(h.C, c), 0);
	th_free(&h);
}

static uint32_t listen_backlog(tide_stack *st, int fd)
{
	/* Linux reports a listener's backlog in tcpi_sacked and its accept
	 * queue length in tcpi_unacked. */
	struct tcp_info ti = tcp_info_of(st, fd);
	assert_int_equal(ti.tcpi_state, TIDE_TCP_LISTEN);
	return ti.tcpi_sacked;
}

/* The backlog is clamped to somaxconn (a negative one too, compared as
 * unsigned); listen() again on a listener returns 0 and sets the new
 * backlog. */
static void test_api_listen_backlog_clamped_and_listen_twice(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int l = tide_socket(h.S, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind_to(h.S, l, TH_SERVER_ADDR, 80), 0);
	assert_int_equal(tide_listen(h.S, l, 5), 0);
	assert_int_equal(listen_backlog(h.S, l), 5);
	assert_int_equal(tide_listen(h.S, l, 100000), 0);
	assert_int_equal(listen_backlog(h.S, l), 4096);
	assert_int_equal(tide_listen(h.S, l, -1), 0);
	assert_int_equal(listen_backlog(h.S, l), 4096);
	assert_int_equal(tide_listen(h.S, l, 7), 0);
	assert_int_equal(listen_backlog(h.S, l), 7);
	tide_stack_settings(h.S)->somaxconn = 10;
	assert_int_equal(tide_listen(h.S, l, 100), 0);
	assert_int_equal(listen_backlog(h.S, l), 10);
	assert_int_equal(tide_listen(h.S, l, 0), 0);
	assert_int_equal(listen_backlog(h.S, l), 0);
	/* listening twice did not announce LISTEN twice */
	const int want[] = { TIDE_TCP_LISTEN };
	th_expect_states(&h, h.s, want, 1);
	th_expect_nsegs(&h, 0);
	assert_int_equal(tide_close(h.S, l), 0);
	th_free(&h);
}

/* ---- connect --------------------------------------------------------- */

/* Non-blocking connect: EINPROGRESS, EALREADY while the handshake runs;
 * once established the next connect() returns 0 (Linux's SS_CONNECTING
 * path reports the completion once), then EISCONN. */
static void test_api_connect_einprogress_ealready_then_0_then_eisconn(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int l = th_listen(&h, h.s, 80, 8);
	int c = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	EXPECT_ERR(connect_to(h.C, c, TH_SERVER_ADDR, 80), EALREADY);
	EXPECT_ERR(connect_to(h.C, c, TH_SERVER_ADDR, 81), EALREADY);
	th_run_for(&h, TIDE_MS(1));
	EXPECT_ERR(connect_to(h.C, c, TH_SERVER_ADDR, 80), EALREADY);
	th_run_for(&h, TIDE_MS(1)); /* SYN-ACK arrives at 2 ms */
	assert_int_equal(tide_sock_state(h.C, c), TIDE_TCP_ESTABLISHED);
	assert_int_equal(connect_to(h.C, c, TH_SERVER_ADDR, 80), 0);
	EXPECT_ERR(connect_to(h.C, c, TH_SERVER_ADDR, 80), EISCONN);
	EXPECT_ERR(connect_to(h.C, c, TH_SERVER_ADDR, 81), EISCONN);
	th_run_for(&h, TIDE_MS(1));
	/* the extra calls sent nothing: just the handshake */
	th_expect_nsegs(&h, 3);
	th_expect_seg_at(&h, 0, 0, h.c, TIDE_TCP_SYN, 100, 0, 0);
	th_expect_seg_at(&h, 1, TIDE_MS(1), h.s, TIDE_TCP_SYN | TIDE_TCP_ACK, 300, 101, 0);
	th_expect_seg_at(&h, 2, TIDE_MS(2), h.c, TIDE_TCP_ACK, 101, 301, 0);
	assert_int_equal(tide_stack_counter(h.C, TIDE_MIB_ActiveOpens), 1);
	int a = th_accept(&h, h.s, l);
	assert_int_equal(tide_close(h.S, a), 0);
	assert_int_equal(tide_close(h.S, l), 0);
	assert_int_equal(tide_close(h.C, c), 0);
	th_free(&h);
}

/* send() on an established socket does not change the socket's
 * SS_CONNECTING state: a later connect() still returns 0 once, then
 * EISCONN (checked on Linux). */
static void test_api_connect_reports_completion_once_even_after_send(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	assert_int_equal(tide_send(h.C, cfd, "x", 1, 0), 1);
	assert_int_equal(connect_to(h.C, cfd, TH_SERVER_ADDR, 80), 0);
	EXPECT_ERR(connect_to(h.C, cfd, TH_SERVER_ADDR, 80), EISCONN);
	/* an accepted socket is connected from the start */
	EXPECT_ERR(connect_to(h.S, sfd, TH_CLIENT_ADDR, 40000), EISCONN);
	assert_int_equal(tide_close(h.C, cfd), 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* connect() on a listener is EISCONN, as in Linux. */
static void test_api_connect_on_listener_eisconn(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int l = th_listen(&h, h.s, 80, 8);
	EXPECT_ERR(connect_to(h.S, l, TH_CLIENT_ADDR, 80), EISCONN);
	assert_int_equal(tide_sock_state(h.S, l), TIDE_TCP_LISTEN);
	th_expect_nsegs(&h, 0);
	assert_int_equal(tide_close(h.S, l), 0);
	th_free(&h);
}

/* SYN to a closed port: RST+ACK (LC-H05); the next connect() reports
 * ECONNREFUSED, after which SO_ERROR reads 0, and a new connect() starts a
 * new attempt. */
static void test_LC_H05_connect_refused_reported_by_next_connect(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int c = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_for(&h, TIDE_MS(2));
	th_expect_nsegs(&h, 2);
	th_expect_seg_at(&h, 0, 0, h.c, TIDE_TCP_SYN, 100, 0, 0);
	th_expect_seg_at(&h, 1, TIDE_MS(1), h.s, TIDE_TCP_RST | TIDE_TCP_ACK, 0, 101, 0);
	assert_int_equal(tide_sock_state(h.C, c), TIDE_TCP_CLOSE);
	EXPECT_ERR(connect_to(h.C, c, TH_SERVER_ADDR, 80), ECONNREFUSED);
	assert_int_equal(get_int(h.C, c, SOL_SOCKET, SO_ERROR), 0);
	assert_int_equal(tide_stack_counter(h.C, TIDE_MIB_AttemptFails), 1);
	assert_int_equal(tide_stack_counter(h.S, TIDE_MIB_OutRsts), 1);
	/* a new attempt from the same socket and port */
	EXPECT_ERR(connect_to(h.C, c, TH_SERVER_ADDR, 80), EINPROGRESS);
	th_expect_seg(&h, 2, h.c, TIDE_TCP_SYN, 100, 0, 0);
	assert_int_equal(th_seg(&h, 2)->sport, 40000);
	const int want[] = { TIDE_TCP_SYN_SENT, TIDE_TCP_CLOSE, TIDE_TCP_SYN_SENT };
	th_expect_states(&h, h.c, want, 3);
	assert_int_equal(tide_close(h.C, c), 0);
	th_free(&h);
}

/* The same refusal read through SO_ERROR: ECONNREFUSED once, then 0; the
 * next connect() then has no error left and reports ECONNABORTED (Linux's
 * sock_error ?: -ECONNABORTED). recv and send see the error once too. */
static void test_LC_H05_connect_refused_reported_by_so_error(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int c1 = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 0);
	int c2 = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 0);
	int c3 = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 0);
	th_run_for(&h, TIDE_MS(2));
	assert_int_equal(get_int(h.C, c1, SOL_SOCKET, SO_ERROR), ECONNREFUSED);
	assert_int_equal(get_int(h.C, c1, SOL_SOCKET, SO_ERROR), 0);
	EXPECT_ERR(connect_to(h.C, c1, TH_SERVER_ADDR, 80), ECONNABORTED);
	char b[4];
	EXPECT_ERR(tide_recv(h.C, c2, b, sizeof(b), 0), ECONNREFUSED);
	assert_int_equal(tide_recv(h.C, c2, b, sizeof(b), 0), 0);
	EXPECT_ERR(tide_send(h.C, c3, "x", 1, 0), ECONNREFUSED);
	EXPECT_ERR(tide_send(h.C, c3, "x", 1, 0), EPIPE);
	assert_int_equal(tide_stack_counter(h.C, TIDE_MIB_AttemptFails), 3);
	for (int fd = c1; fd <= c3; fd++)
		assert_int_equal(tide_close(h.C, fd), 0);
	th_free(&h);
}

/* connect() without bind picks a port from ip_local_port_range, even
 * ports first (Linux leaves odd ones to bind()), a different one per
 * connection to the same destination; getsockname shows it at once. */
static void test_api_connect_ephemeral_ports_even_first(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int l = th_listen(&h, h.s, 80, 64);
	enum { N = 20 };
	int fds[N];
	uint16_t ports[N];
	for (int i = 0; i < N; i++) {
		fds[i] = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 0);
		struct sockaddr_in s = name_of(h.C, fds[i], false);
		assert_int_equal(ntohl(s.sin_addr.s_addr), TH_CLIENT_ADDR);
		ports[i] = ntohs(s.sin_port);
		assert_true(in_port_range(ports[i]));
		assert_int_equal(ports[i] % 2, 0);
		for (int j = 0; j < i; j++)
			assert_int_not_equal(ports[j], ports[i]);
		assert_int_equal(th_seg(&h, (size_t)i)->sport, ports[i]);
	}
	th_run_for(&h, TIDE_MS(3));
	for (int i = 0; i < N; i++) {
		int a = th_accept(&h, h.s, l);
		struct sockaddr_in p = name_of(h.S, a, true);
		assert_int_equal(ntohs(p.sin_port), ports[i]);
		assert_int_equal(tide_close(h.S, a), 0);
		assert_int_equal(tide_close(h.C, fds[i]), 0);
	}
	assert_int_equal(tide_close(h.S, l), 0);
	th_free(&h);
}

/* With ip_local_port_range 40000-40003 and every 4-tuple to the server's
 * port in use, connect() fails EADDRNOTAVAIL (even ports went first); a
 * different destination port still works, and bind(port 0) finds no free
 * port: EADDRINUSE. */
static void test_LC_K14_connect_port_exhaustion_eaddrnotavail(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	tide_stack_settings(h.C)->ip_local_port_range_lo = 40000;
	tide_stack_settings(h.C)->ip_local_port_range_hi = 40003;
	int l80 = th_listen(&h, h.s, 80, 64);
	int l81 = th_listen(&h, h.s, 81, 64);
	int fds[4];
	bool used[4] = { false };
	for (int i = 0; i < 4; i++) {
		fds[i] = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 0);
		uint16_t p = ntohs(name_of(h.C, fds[i], false).sin_port);
		assert_in_range(p, 40000, 40003);
		assert_int_equal(p % 2, i < 2 ? 0 : 1);
		assert_false(used[p - 40000]);
		used[p - 40000] = true;
	}
	int x = tide_socket(h.C, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	EXPECT_ERR(connect_to(h.C, x, TH_SERVER_ADDR, 80), EADDRNOTAVAIL);
	expect_name(h.C, x, false, 0, 0);
	th_run_for(&h, TIDE_MS(3));
	EXPECT_ERR(connect_to(h.C, x, TH_SERVER_ADDR, 80), EADDRNOTAVAIL);
	th_expect_nsegs(&h, 12); /* 4 handshakes, nothing for the failures */
	assert_int_equal(tide_stack_counter(h.C, TIDE_MIB_ActiveOpens), 4);
	EXPECT_ERR(connect_to(h.C, x, TH_SERVER_ADDR, 81), EINPROGRESS);
	uint16_t p = ntohs(name_of(h.C, x, false).sin_port);
	assert_in_range(p, 40000, 40003);
	int y = tide_socket(h.C, AF_INET, SOCK_STREAM, 0);
	EXPECT_ERR(bind_to(h.C, y, 0, 0), EADDRINUSE);
	assert_int_equal(tide_close(h.C, y), 0);
	assert_int_equal(tide_close(h.C, x), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(tide_close(h.C, fds[i]), 0);
	assert_int_equal(tide_close(h.S, l80), 0);
	assert_int_equal(tide_close(h.S, l81), 0);
	th_free(&h);
}

/* ---- accept ---------------------------------------------------------- */

/* accept() on a socket that does not listen is EINVAL; on a listener
 * with nothing ready EAGAIN; it returns the peer's address, and accept4's
 * SOCK_NONBLOCK sets O_NONBLOCK on the new socket only. */
static void test_api_accept_errors_address_and_flags(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int u = tide_socket(h.S, AF_INET, SOCK_STREAM, 0);
	EXPECT_ERR(tide_accept(h.S, u, NULL, NULL, 0), EINVAL);
	int l = th_listen(&h, h.s, 80, 8);
	EXPECT_ERR(tide_accept(h.S, l, NULL, NULL, 0), EAGAIN);
	EXPECT_ERR(tide_accept(h.S, l, NULL, NULL, O_APPEND), EINVAL);
	int c1 = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	int c2 = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40001);
	th_run_for(&h, TIDE_MS(2));
	EXPECT_ERR(tide_accept(h.S, l, NULL, NULL, 0), EAGAIN); /* ACKs not in yet */
	th_run_for(&h, TIDE_MS(1));

	struct sockaddr_in peer;
	memset(&peer, 0xee, sizeof(peer));
	socklen_t len = sizeof(peer);
	int a1 = tide_accept(h.S, l, SA(&peer), &len, 0);
	assert_int_equal(a1, u + 2);
	assert_int_equal(len, sizeof(peer));
	assert_int_equal(peer.sin_family, AF_INET);
	assert_int_equal(ntohl(peer.sin_addr.s_addr), TH_CLIENT_ADDR);
	assert_int_equal(ntohs(peer.sin_port), 40000);
	assert_int_equal(tide_fcntl(h.S, a1, F_GETFL, 0), O_RDWR);

	int a2 = tide_accept(h.S, l, NULL, NULL, SOCK_NONBLOCK);
	assert_int_equal(a2, a1 + 1);
	assert_int_equal(tide_fcntl(h.S, a2, F_GETFL, 0), O_RDWR | O_NONBLOCK);
	assert_int_equal(tide_fcntl(h.S, l, F_GETFL, 0), O_RDWR);
	expect_name(h.S, a2, true, TH_CLIENT_ADDR, 40001);
	expect_name(h.S, a2, false, TH_SERVER_ADDR, 80);
	assert_int_equal(tide_sock_state(h.S, a2), TIDE_TCP_ESTABLISHED);
	EXPECT_ERR(tide_accept(h.S, l, NULL, NULL, 0), EAGAIN);
	assert_int_equal(tide_stack_counter(h.S, TIDE_MIB_PassiveOpens), 2);

	int fds_s[] = { u, l, a1, a2 };
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(tide_close(h.S, fds_s[i]), 0);
	assert_int_equal(tide_close(h.C, c1), 0);
	assert_int_equal(tide_close(h.C, c2), 0);
	th_free(&h);
}

/* ---- send and recv --------------------------------------------------- */

/* Data calls on sockets without a connection: recv ENOTCONN, send EPIPE
 * (Linux's sk_stream_wait_connect; tide never raises SIGPIPE), even for
 * 0 bytes; MSG_OOB on recv is EINVAL (no urgent data) except on a
 * listener, where ENOTCONN comes first. While connecting, both EAGAIN. */
static void test_api_send_recv_without_connection(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	char b[8];
	int u = tide_socket(h.C, AF_INET, SOCK_STREAM, 0);
	EXPECT_ERR(tide_recv(h.C, u, b, sizeof(b), 0), ENOTCONN);
	EXPECT_ERR(tide_recv(h.C, u, b, sizeof(b), MSG_DONTWAIT), ENOTCONN);
	EXPECT_ERR(tide_recv(h.C, u, b, sizeof(b), MSG_OOB), EINVAL);
	EXPECT_ERR(tide_send(h.C, u, "x", 1, 0), EPIPE);
	EXPECT_ERR(tide_send(h.C, u, "x", 0, 0), EPIPE);
	int l = th_listen(&h, h.s, 80, 8);
	EXPECT_ERR(tide_recv(h.S, l, b, sizeof(b), 0), ENOTCONN);
	EXPECT_ERR(tide_recv(h.S, l, b, sizeof(b), MSG_OOB), ENOTCONN);
	EXPECT_ERR(tide_send(h.S, l, "x", 1, 0), EPIPE);
	int c = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 0);
	EXPECT_ERR(tide_send(h.C, c, "x", 1, 0), EAGAIN);
	EXPECT_ERR(tide_recv(h.C, c, b, sizeof(b), 0), EAGAIN);
	th_expect_nsegs(&h, 1);
	assert_int_equal(tide_close(h.C, u), 0);
	assert_int_equal(tide_close(h.C, c), 0);
	assert_int_equal(tide_close(h.S, l), 0);
	th_free(&h);
}

/* MSG_PEEK leaves the data for the next recv; an empty queue is EAGAIN
 * (MSG_DONTWAIT or not: the stack never blocks); MSG_OOB is EINVAL. */
static void test_api_recv_peek_dontwait_oob(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd;
	th_establish(&h, &cfd, &sfd, NULL);
	char b[16];
	EXPECT_ERR(tide_recv(h.S, sfd, b, sizeof(b), MSG_DONTWAIT), EAGAIN);
	EXPECT_ERR(tide_recv(h.S, sfd, b, sizeof(b), 0), EAGAIN);
	assert_int_equal(tide_send(h.C, cfd, "hello", 5, 0), 5);
	th_run_for(&h, TIDE_MS(1));
	memset(b, 0, sizeof(b));
	assert_int_equal(tide_recv(h.S, sfd, b, sizeof(b), MSG_PEEK), 5);
	assert_memory_equal(b, "hello", 5);
	memset(b, 0, sizeof(b));
	assert_int_equal(tide_recv(h.S, sfd, b, 2, MSG_PEEK | MSG_DONTWAIT), 2);
	assert_memory_equal(b, "he", 2);
	EXPECT_ERR(tide_recv(h.S, sfd, b, sizeof(b), MSG_OOB), EINVAL);
	assert_int_equal(tide_recv(h.S, sfd, b, 3, 0), 3);
	assert_memory_equal(b, "hel", 3);
	assert_int_equal(tide_recv(h.S, sfd, b, sizeof(b), MSG_DONTWAIT), 2);
	assert_memory_equal(b, "lo", 2);
	EXPECT_ERR(tide_recv(h.S, sfd, b, sizeof(b), MSG_DONTWAIT), EAGAIN);
	assert_int_equal(tide_close(h.C, cfd), 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_free(&h);
}

/* After the peer's FIN, recv returns the data, then 0 on every call
 * (LC-C02); the side that shut down its sending half gets EPIPE from
 * send but still reads (LC-C11). */
static void test_LC_C11_recv_eof_and_send_after_shut_wr(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd;
	th_establish(&h, &cfd, &sfd, NULL);
	assert_int_equal(tide_send(h.C, cfd, "abc", 3, 0), 3);
	assert_int_equal(tide_shutdown(h.C, cfd, SHUT_WR), 0);
	EXPECT_ERR(tide_send(h.C, cfd, "x", 1, 0), EPIPE);
	EXPECT_ERR(tide_send(h.C, cfd, "x", 0, 0), EPIPE);
	th_run_for(&h, TIDE_MS(1));
	char b[8];
	assert_int_equal(tide_recv(h.S, sfd, b, sizeof(b), 0), 3);
	assert_memory_equal(b, "abc", 3);
	assert_int_equal(tide_recv(h.S, sfd, b, sizeof(b), 0), 0);
	assert_int_equal(tide_recv(h.S, sfd, b, sizeof(b), MSG_PEEK), 0);
	assert_int_equal(tide_recv(h.S, sfd, b, sizeof(b), 0), 0);
	assert_int_equal(tide_sock_state(h.S, sfd), TIDE_TCP_CLOSE_WAIT);
	/* CLOSE_WAIT still sends; the half-closed client still reads */
	assert_int_equal(tide_send(h.S, sfd, "back", 4, 0), 4);
	th_run_for(&h, TIDE_MS(1));
	assert_int_equal(tide_recv(h.C, cfd, b, sizeof(b), 0), 4);
	assert_memory_equal(b, "back", 4);
	EXPECT_ERR(tide_recv(h.C, cfd, b, sizeof(b), 0), EAGAIN);
	assert_int_equal(tide_close(h.C, cfd), 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_free(&h);
}

/* A send larger than the free send buffer writes what fits (tide's send
 * buffer holds SO_SNDBUF bytes of data) and the next send is EAGAIN until
 * ACKs free space; every byte then arrives. */
static void test_api_send_full_buffer_partial_then_eagain(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd;
	th_establish(&h, &cfd, &sfd, NULL);
	static char big[100000];
	memset(big, 'z', sizeof(big));
	int sndbuf = get_int(h.C, cfd, SOL_SOCKET, SO_SNDBUF);
	assert_int_equal(sndbuf, 16384);
	assert_int_equal(tide_send(h.C, cfd, big, sizeof(big), 0), 16384);
	EXPECT_ERR(tide_send(h.C, cfd, big, sizeof(big), 0), EAGAIN);
	EXPECT_ERR(tide_send(h.C, cfd, big, 1, MSG_DONTWAIT), EAGAIN);
	struct pollfd p = { .fd = cfd, .events = POLLOUT };
	assert_int_equal(tide_poll(h.C, &p, 1), 0);
	th_run_for(&h, TIDE_MS(100));
	assert_int_equal(tide_poll(h.C, &p, 1), 1);
	assert_int_equal(p.revents, POLLOUT);
	assert_int_equal(tide_send(h.C, cfd, big, 100, 0), 100);
	th_run_for(&h, TIDE_MS(100));
	static char in[20000];
	assert_int_equal(tide_recv(h.S, sfd, in, sizeof(in), 0), 16484);
	for (size_t i = 0; i < 16484; i++)
		assert_int_equal(in[i], 'z');
	assert_int_equal(tide_close(h.C, cfd), 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_free(&h);
}

/* ---- shutdown -------------------------------------------------------- */

/* shutdown: a `how` other than SHUT_RD/WR/RDWR is EINVAL; a socket
 * without a connection is ENOTCONN (Linux still marks it shut down). */
static void test_api_shutdown_errors(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int u = tide_socket(h.C, AF_INET, SOCK_STREAM, 0);
	EXPECT_ERR(tide_shutdown(h.C, u, 3), EINVAL);
	EXPECT_ERR(tide_shutdown(h.C, u, -1), EINVAL);
	EXPECT_ERR(tide_shutdown(h.C, u, SHUT_RD), ENOTCONN);
	EXPECT_ERR(tide_shutdown(h.C, u, SHUT_WR), ENOTCONN);
	EXPECT_ERR(tide_shutdown(h.C, u, SHUT_RDWR), ENOTCONN);
	char b[4];
	assert_int_equal(tide_recv(h.C, u, b, sizeof(b), 0), 0); /* read side shut */
	EXPECT_ERR(tide_send(h.C, u, "x", 1, 0), EPIPE);
	th_expect_nsegs(&h, 0);
	assert_int_equal(tide_close(h.C, u), 0);
	th_free(&h);
}

/* shutdown(SHUT_RD) of a listener stops it (Linux disconnects it): it is
 * no longer SO_ACCEPTCONN, accept is EINVAL and a SYN gets RST+ACK.
 * SHUT_WR alone leaves it listening. */
static void test_api_shutdown_rd_stops_listener(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int l = th_listen(&h, h.s, 80, 8);
	assert_int_equal(tide_shutdown(h.S, l, SHUT_WR), 0);
	assert_int_equal(get_int(h.S, l, SOL_SOCKET, SO_ACCEPTCONN), 1);
	assert_int_equal(tide_shutdown(h.S, l, SHUT_RD), 0);
	assert_int_equal(get_int(h.S, l, SOL_SOCKET, SO_ACCEPTCONN), 0);
	assert_int_equal(tide_sock_state(h.S, l), TIDE_TCP_CLOSE);
	EXPECT_ERR(tide_accept(h.S, l, NULL, NULL, 0), EINVAL);
	EXPECT_ERR(tide_shutdown(h.S, l, SHUT_RDWR), ENOTCONN);
	int c = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_for(&h, TIDE_MS(2));
	th_expect_nsegs(&h, 2);
	th_expect_seg_at(&h, 0, 0, h.c, TIDE_TCP_SYN, 100, 0, 0);
	th_expect_seg_at(&h, 1, TIDE_MS(1), h.s, TIDE_TCP_RST | TIDE_TCP_ACK, 0, 101, 0);
	EXPECT_ERR(connect_to(h.C, c, TH_SERVER_ADDR, 80), ECONNREFUSED);
	const int want[] = { TIDE_TCP_LISTEN, TIDE_TCP_CLOSE };
	th_expect_states(&h, h.s, want, 2);
	/* it can listen again, on the same port */
	assert_int_equal(tide_listen(h.S, l, 8), 0);
	expect_name(h.S, l, false, TH_SERVER_ADDR, 80);
	assert_int_equal(tide_close(h.S, l), 0);
	assert_int_equal(tide_close(h.C, c), 0);
	th_free(&h);
}

/* ---- socket options -------------------------------------------------- */

/* SO_RCVBUF/SO_SNDBUF as Linux: defaults tcp_rmem[1]/tcp_wmem[1]; a set
 * value is capped at net.core.rmem_max/wmem_max (as unsigned: -1 is
 * huge), doubled, and raised to the minimum 2304/4608. */
static void test_api_sockopt_buffer_sizes(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int fd = tide_socket(h.C, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(get_int(h.C, fd, SOL_SOCKET, SO_RCVBUF), 131072);
	assert_int_equal(get_int(h.C, fd, SOL_SOCKET, SO_SNDBUF), 16384);
	/* { set, SO_RCVBUF, SO_SNDBUF } with rmem_max = wmem_max = 212992 */
	static const int cases[][3] = {
		{ 0, 2304, 4608 },         { 1, 2304, 4608 },
		{ 1152, 2304, 4608 },      { 1153, 2306, 4608 },
		{ 2000, 4000, 4608 },      { 2304, 4608, 4608 },
		{ 100000, 200000, 200000 }, { 212992, 425984, 425984 },
		{ 212993, 425984, 425984 }, { 1000000000, 425984, 425984 },
		{ -1, 425984, 425984 },    { -100, 425984, 425984 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(set_int(h.C, fd, SOL_SOCKET, SO_RCVBUF, cases[i][0]), 0);
		assert_int_equal(set_int(h.C, fd, SOL_SOCKET, SO_SNDBUF, cases[i][0]), 0);
		assert_int_equal(get_int(h.C, fd, SOL_SOCKET, SO_RCVBUF), cases[i][1]);
		assert_int_equal(get_int(h.C, fd, SOL_SOCKET, SO_SNDBUF), cases[i][2]);
	}
	/* with the maxima this machine's kernel has (4194304) */
	tide_stack_settings(h.C)->core_rmem_max = 4194304;
	tide_stack_settings(h.C)->core_wmem_max = 4194304;
	assert_int_equal(set_int(h.C, fd, SOL_SOCKET, SO_RCVBUF, 4194305), 0);
	assert_int_equal(set_int(h.C, fd, SOL_SOCKET, SO_SNDBUF, -1), 0);
	assert_int_equal(get_int(h.C, fd, SOL_SOCKET, SO_RCVBUF), 8388608);
	assert_int_equal(get_int(h.C, fd, SOL_SOCKET, SO_SNDBUF), 8388608);
	assert_int_equal(tide_close(h.C, fd), 0);
	th_free(&h);
}

/* Boolean options read back as 0/1 whatever non-zero value was set;
 * SO_TYPE, SO_ACCEPTCONN and SO_ERROR are read-only (ENOPROTOOPT). */
static void test_api_sockopt_flags(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int fd = tide_socket(h.C, AF_INET, SOCK_STREAM, 0);
	static const int opts[][2] = {
		{ SOL_SOCKET, SO_REUSEADDR }, { SOL_SOCKET, SO_KEEPALIVE },
		{ IPPROTO_TCP, TCP_NODELAY },
	};
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(get_int(h.C, fd, opts[i][0], opts[i][1]), 0);
		assert_int_equal(set_int(h.C, fd, opts[i][0], opts[i][1], 5), 0);
		assert_int_equal(get_int(h.C, fd, opts[i][0], opts[i][1]), 1);
		assert_int_equal(set_int(h.C, fd, opts[i][0], opts[i][1], 0), 0);
		assert_int_equal(get_int(h.C, fd, opts[i][0], opts[i][1]), 0);
	}
	assert_int_equal(get_int(h.C, fd, SOL_SOCKET, SO_TYPE), SOCK_STREAM);
	assert_int_equal(get_int(h.C, fd, SOL_SOCKET, SO_ACCEPTCONN), 0);
	assert_int_equal(get_int(h.C, fd, SOL_SOCKET, SO_ERROR), 0);
	EXPECT_ERR(set_int(h.C, fd, SOL_SOCKET, SO_TYPE, 1), ENOPROTOOPT);
	EXPECT_ERR(set_int(h.C, fd, SOL_SOCKET, SO_ACCEPTCONN, 1), ENOPROTOOPT);
	EXPECT_ERR(set_int(h.C, fd, SOL_SOCKET, SO_ERROR, 1), ENOPROTOOPT);
	/* a short buffer gets the first bytes of the value */
	unsigned char two[2] = { 0xee, 0xee };
	socklen_t len = 2;
	assert_int_equal(tide_getsockopt(h.C, fd, SOL_SOCKET, SO_TYPE, two, &len), 0);
	assert_int_equal(len, 2);
	assert_int_equal(two[0], SOCK_STREAM);
	assert_int_equal(two[1], 0);
	assert_int_equal(tide_close(h.C, fd), 0);
	th_free(&h);
}

/* Option errors: unknown name ENOPROTOOPT at either level, unknown level
 * ENOPROTOOPT for set and EOPNOTSUPP for get (Linux 6.x's ip_getsockopt);
 * an optlen shorter than an int EINVAL (checked first); a negative getsockopt
 * length EINVAL; TCP_KEEPCNT outside 1..127 and TCP_KEEPIDLE/KEEPINTVL
 * outside 1..32767 EINVAL. */
static void test_api_sockopt_errors(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int fd = tide_socket(h.C, AF_INET, SOCK_STREAM, 0);
	int v = 1;
	socklen_t len = sizeof(v);
	EXPECT_ERR(set_int(h.C, fd, SOL_SOCKET, 9999, 1), ENOPROTOOPT);
	EXPECT_ERR(tide_getsockopt(h.C, fd, SOL_SOCKET, 9999, &v, &len), ENOPROTOOPT);
	EXPECT_ERR(set_int(h.C, fd, IPPROTO_TCP, 9999, 1), ENOPROTOOPT);
	EXPECT_ERR(tide_getsockopt(h.C, fd, IPPROTO_TCP, 9999, &v, &len), ENOPROTOOPT);
	EXPECT_ERR(set_int(h.C, fd, 12345, 1, 1), ENOPROTOOPT);
	EXPECT_ERR(tide_getsockopt(h.C, fd, 12345, 1, &v, &len), EOPNOTSUPP);

	EXPECT_ERR(tide_setsockopt(h.C, fd, SOL_SOCKET, SO_RCVBUF, &v, 2), EINVAL);
	EXPECT_ERR(tide_setsockopt(h.C, fd, SOL_SOCKET, SO_KEEPALIVE, &v, 0), EINVAL);
	EXPECT_ERR(tide_setsockopt(h.C, fd, IPPROTO_TCP, TCP_NODELAY, &v, 2), EINVAL);
	EXPECT_ERR(tide_setsockopt(h.C, fd, SOL_SOCKET, 9999, &v, 2), EINVAL);
	EXPECT_ERR(tide_setsockopt(h.C, fd, IPPROTO_TCP, 9999, &v, 2), EINVAL);
	len = (socklen_t)-1;
	EXPECT_ERR(tide_getsockopt(h.C, fd, SOL_SOCKET, SO_TYPE, &v, &len), EINVAL);

	EXPECT_ERR(set_int(h.C, fd, IPPROTO_TCP, TCP_KEEPCNT, 0), EINVAL);
	EXPECT_ERR(set_int(h.C, fd, IPPROTO_TCP, TCP_KEEPCNT, 128), EINVAL);
	EXPECT_ERR(set_int(h.C, fd, IPPROTO_TCP, TCP_KEEPCNT, -1), EINVAL);
	assert_int_equal(set_int(h.C, fd, IPPROTO_TCP, TCP_KEEPCNT, 1), 0);
	assert_int_equal(set_int(h.C, fd, IPPROTO_TCP, TCP_KEEPCNT, 127), 0);
	EXPECT_ERR(set_int(h.C, fd, IPPROTO_TCP, TCP_KEEPIDLE, 0), EINVAL);
	EXPECT_ERR(set_int(h.C, fd, IPPROTO_TCP, TCP_KEEPIDLE, 32768), EINVAL);
	EXPECT_ERR(set_int(h.C, fd, IPPROTO_TCP, TCP_KEEPINTVL, 0), EINVAL);
	EXPECT_ERR(set_int(h.C, fd, IPPROTO_TCP, TCP_KEEPINTVL, 32768), EINVAL);
	assert_int_equal(set_int(h.C, fd, IPPROTO_TCP, TCP_KEEPIDLE, 32767), 0);
	assert_int_equal(set_int(h.C, fd, IPPROTO_TCP, TCP_KEEPINTVL, 1), 0);
	assert_int_equal(tide_close(h.C, fd), 0);
	th_free(&h);
}

/* TCP_MAXSEG: 536 (RFC 9293's default) before a connection and on a
 * listener, 1448 once established with timestamps (1460 - 12). */
static void test_api_sockopt_tcp_maxseg(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int u = tide_socket(h.C, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(get_int(h.C, u, IPPROTO_TCP, TCP_MAXSEG), 536);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	assert_int_equal(get_int(h.S, lfd, IPPROTO_TCP, TCP_MAXSEG), 536);
	assert_int_equal(get_int(h.C, cfd, IPPROTO_TCP, TCP_MAXSEG), 1448);
	assert_int_equal(get_int(h.S, sfd, IPPROTO_TCP, TCP_MAXSEG), 1448);
	assert_int_equal(tide_close(h.C, u), 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* TCP_INFO follows the connection: tcpi_state through CLOSE, SYN_SENT,
 * ESTABLISHED, FIN_WAIT1, FIN_WAIT2 and CLOSE (the socket is CLOSE once
 * its connection is a TIME_WAIT record) on the client, LISTEN,
 * ESTABLISHED, CLOSE_WAIT, LAST_ACK, CLOSE on the server; snd_mss 1448,
 * options TS|SACK|WSCALE with scale 7 both ways, RTO 1 s before the first
 * RTT sample and SRTT + max(4*RTTVAR, 200 ms) after it (2 ms RTT:
 * 202 ms). */
static void test_api_tcp_info_through_lifecycle(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int l = th_listen(&h, h.s, 80, 8);
	struct tcp_info ti = tcp_info_of(h.S, l);
	assert_int_equal(ti.tcpi_state, TIDE_TCP_LISTEN);
	assert_int_equal(ti.tcpi_sacked, 8);
	assert_int_equal(ti.tcpi_unacked, 0);

	int c = tide_socket(h.C, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	ti = tcp_info_of(h.C, c);
	assert_int_equal(ti.tcpi_state, TIDE_TCP_CLOSE);
	assert_int_equal(ti.tcpi_options, 0);
	assert_int_equal(ti.tcpi_rto, 1000000);
	assert_int_equal(ti.tcpi_snd_mss, 536);

	EXPECT_ERR(connect_to(h.C, c, TH_SERVER_ADDR, 80), EINPROGRESS);
	ti = tcp_info_of(h.C, c);
	assert_int_equal(ti.tcpi_state, TIDE_TCP_SYN_SENT);
	assert_int_equal(ti.tcpi_rto, 1000000);
	th_run_for(&h, TIDE_MS(2));
	ti = tcp_info_of(h.C, c);
	assert_int_equal(ti.tcpi_state, TIDE_TCP_ESTABLISHED);
	assert_int_equal(ti.tcpi_options, TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE);
	assert_int_equal(ti.tcpi_snd_wscale, 7);
	assert_int_equal(ti.tcpi_rcv_wscale, 7);
	assert_int_equal(ti.tcpi_snd_mss, 1448);
	assert_int_equal(ti.tcpi_rtt, 2000);
	assert_int_equal(ti.tcpi_rttvar, 1000);
	assert_int_equal(ti.tcpi_rto, 202000);
	/* the listener counts the queued connection once it is complete */
	th_run_for(&h, TIDE_MS(1));
	ti = tcp_info_of(h.S, l);
	assert_int_equal(ti.tcpi_unacked, 1);
	int a = th_accept(&h, h.s, l);
	ti = tcp_info_of(h.S, a);
	assert_int_equal(ti.tcpi_state, TIDE_TCP_ESTABLISHED);
	assert_int_equal(ti.tcpi_options, TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE);
	assert_int_equal(ti.tcpi_snd_mss, 1448);
	assert_int_equal(ti.tcpi_rtt, 2000); /* SYN-ACK at 1 ms, ACK back at 3 ms */
	assert_int_equal(ti.tcpi_rto, 202000);

	assert_int_equal(tide_shutdown(h.C, c, SHUT_WR), 0); /* at 3 ms */
	assert_int_equal(tcp_info_of(h.C, c).tcpi_state, TIDE_TCP_FIN_WAIT1);
	th_run_for(&h, TIDE_MS(1));
	assert_int_equal(tcp_info_of(h.S, a).tcpi_state, TIDE_TCP_CLOSE_WAIT);
	th_run_for(&h, TIDE_MS(50)); /* the delayed ACK of the FIN */
	assert_int_equal(tcp_info_of(h.C, c).tcpi_state, TIDE_TCP_FIN_WAIT2);
	assert_int_equal(tide_shutdown(h.S, a, SHUT_WR), 0);
	assert_int_equal(tcp_info_of(h.S, a).tcpi_state, TIDE_TCP_LAST_ACK);
	th_run_for(&h, TIDE_MS(1));
	assert_int_equal(tcp_info_of(h.C, c).tcpi_state, TIDE_TCP_CLOSE);
	th_run_for(&h, TIDE_MS(1));
	assert_int_equal(tcp_info_of(h.S, a).tcpi_state, TIDE_TCP_CLOSE);
	const int cs[] = { TIDE_TCP_SYN_SENT, TIDE_TCP_ESTABLISHED, TIDE_TCP_FIN_WAIT1,
			   TIDE_TCP_FIN_WAIT2, TIDE_TCP_TIME_WAIT };
	th_expect_states(&h, h.c, cs, 5);
	assert_int_equal(tide_close(h.C, c), 0);
	assert_int_equal(tide_close(h.S, a), 0);
	assert_int_equal(tide_close(h.S, l), 0);
	th_free(&h);
}

/* ---- names and fcntl ------------------------------------------------- */

/* getsockname: 0.0.0.0:0 before bind, the local address and ephemeral
 * port from connect() on; getpeername ENOTCONN until the connection is
 * established (SYN_SENT included, as Linux), then the peer. A short
 * buffer gets a truncated address and the full length. */
static void test_api_getsockname_getpeername(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int l = th_listen(&h, h.s, 80, 8);
	int c = tide_socket(h.C, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	expect_name(h.C, c, false, 0, 0);
	struct sockaddr_in s;
	socklen_t len = sizeof(s);
	EXPECT_ERR(tide_getpeername(h.C, c, SA(&s), &len), ENOTCONN);
	EXPECT_ERR(tide_getpeername(h.S, l, SA(&s), &len), ENOTCONN);
	expect_name(h.S, l, false, TH_SERVER_ADDR, 80);
	EXPECT_ERR(connect_to(h.C, c, TH_SERVER_ADDR, 80), EINPROGRESS);
	struct sockaddr_in me = name_of(h.C, c, false);
	assert_int_equal(ntohl(me.sin_addr.s_addr), TH_CLIENT_ADDR);
	assert_true(in_port_range(ntohs(me.sin_port)));
	EXPECT_ERR(tide_getpeername(h.C, c, SA(&s), &len), ENOTCONN);
	th_run_for(&h, TIDE_MS(2));
	expect_name(h.C, c, true, TH_SERVER_ADDR, 80);
	expect_name(h.C, c, false, TH_CLIENT_ADDR, ntohs(me.sin_port));

	unsigned char four[4];
	len = 4;
	assert_int_equal(tide_getsockname(h.S, l, SA(four), &len), 0);
	assert_int_equal(len, sizeof(struct sockaddr_in));
	struct sockaddr_in full = sin_of(TH_SERVER_ADDR, 80);
	assert_memory_equal(four, &full, 4);
	assert_int_equal(tide_close(h.C, c), 0);
	assert_int_equal(tide_close(h.S, l), 0);
	th_free(&h);
}

/* fcntl: F_GETFL is O_RDWR, plus O_NONBLOCK after F_SETFL or
 * SOCK_NONBLOCK; F_SETFL without it clears it. */
static void test_api_fcntl_nonblock(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int a = tide_socket(h.C, AF_INET, SOCK_STREAM, 0);
	int b = tide_socket(h.C, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_int_equal(tide_fcntl(h.C, a, F_GETFL, 0), O_RDWR);
	assert_int_equal(tide_fcntl(h.C, b, F_GETFL, 0), O_RDWR | O_NONBLOCK);
	assert_int_equal(tide_fcntl(h.C, a, F_SETFL, O_RDWR | O_NONBLOCK), 0);
	assert_int_equal(tide_fcntl(h.C, a, F_GETFL, 0), O_RDWR | O_NONBLOCK);
	assert_int_equal(tide_fcntl(h.C, b, F_SETFL, 0), 0);
	assert_int_equal(tide_fcntl(h.C, b, F_GETFL, 0), O_RDWR);
	assert_int_equal(tide_fcntl(h.C, a, F_SETFL, 0), 0);
	assert_int_equal(tide_fcntl(h.C, a, F_GETFL, 0), O_RDWR);
	assert_int_equal(tide_close(h.C, a), 0);
	assert_int_equal(tide_close(h.C, b), 0);
	th_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_api_socket_domain_type_protocol),
		cmocka_unit_test(test_api_fd_numbers_start_at_3_lowest_free_reused),
		cmocka_unit_test(test_api_ebadf_for_unopened_and_closed_fds),
		cmocka_unit_test(test_api_enotsock_for_epoll_fd),
		cmocka_unit_test(test_api_bind_argument_errors),
		cmocka_unit_test(test_api_bind_port_in_use),
		cmocka_unit_test(test_api_bind_reuseaddr_until_a_listener),
		cmocka_unit_test(test_api_bind_port0_picks_odd_ephemeral_port),
		cmocka_unit_test(test_api_listen_autobinds_ephemeral_port),
		cmocka_unit_test(test_api_listen_on_connected_socket_einval),
		cmocka_unit_test(test_api_listen_backlog_clamped_and_listen_twice),
		cmocka_unit_test(test_api_connect_einprogress_ealready_then_0_then_eisconn),
		cmocka_unit_test(test_api_connect_reports_completion_once_even_after_send),
		cmocka_unit_test(test_api_connect_on_listener_eisconn),
		cmocka_unit_test(test_LC_H05_connect_refused_reported_by_next_connect),
		cmocka_unit_test(test_LC_H05_connect_refused_reported_by_so_error),
		cmocka_unit_test(test_api_connect_ephemeral_ports_even_first),
		cmocka_unit_test(test_LC_K14_connect_port_exhaustion_eaddrnotavail),
		cmocka_unit_test(test_api_accept_errors_address_and_flags),
		cmocka_unit_test(test_api_send_recv_without_connection),
		cmocka_unit_test(test_api_recv_peek_dontwait_oob),
		cmocka_unit_test(test_LC_C11_recv_eof_and_send_after_shut_wr),
		cmocka_unit_test(test_api_send_full_buffer_partial_then_eagain),
		cmocka_unit_test(test_api_shutdown_errors),
		cmocka_unit_test(test_api_shutdown_rd_stops_listener),
		cmocka_unit_test(test_api_sockopt_buffer_sizes),
		cmocka_unit_test(test_api_sockopt_flags),
		cmocka_unit_test(test_api_sockopt_errors),
		cmocka_unit_test(test_api_sockopt_tcp_maxseg),
		cmocka_unit_test(test_api_tcp_info_through_lifecycle),
		cmocka_unit_test(test_api_getsockname_getpeername),
		cmocka_unit_test(test_api_fcntl_nonblock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
