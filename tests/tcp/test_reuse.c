/*
 * Address reuse (catalogue LC-K07, LC-K08, LC-K14) and new connections on a
 * 4-tuple in TIME_WAIT (RFC 1122 4.2.2.13, Linux's TCP_TW_SYN):
 *  - bind() on a port held by TIME_WAIT records or connections: Linux's
 *    conflict rule, the restart of a server with and without SO_REUSEADDR
 *    (the table is the one Linux 6.18 gives, measured in a namespace);
 *  - SO_REUSEPORT groups of listeners sharing a port, the 4-tuple hash that
 *    spreads connections among them, a member leaving;
 *  - tcp_tw_reuse: connect() taking over a TIME_WAIT 4-tuple (port
 *    exhaustion with a tiny ip_local_port_range, the 1 s tcp_tw_reuse_delay,
 *    the ISN SND.NXT + 65535 + 2 and the echoed timestamp, TWRecycled), and
 *    with a port from bind();
 *  - a SYN reaching a TIME_WAIT on the server (HTTP-style: the server closed
 *    first): a higher sequence number or a newer timestamp opens a new
 *    connection whose SYN-ACK carries ISN SND.NXT + 65535 + 2; an older SYN
 *    gets an ACK.
 *
 * Client 198.18.0.1 (ISN 100), server 198.18.0.2:80 (ISN 300), 1 ms one way.
 * A connection from th_connect/th_listen is ESTABLISHED on both sides 3 ms
 * after its SYN. tide has no loopback device and drops 127/8 sources from
 * the wire, so tcp_tw_reuse = 2 (Linux: only when one address is in
 * 127.0.0.0/8) never applies between two tide stacks: its rule is checked
 * on the record directly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"
#include "core/stack_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define FA (TIDE_TCP_FIN | TIDE_TCP_ACK)
#define AK TIDE_TCP_ACK
#define SYN TIDE_TCP_SYN
#define SA (TIDE_TCP_SYN | TIDE_TCP_ACK)
#define RST TIDE_TCP_RST

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

static void set_int(tide_stack *st, int fd, int name, int v)
{
	assert_int_equal(tide_setsockopt(st, fd, SOL_SOCKET, name, &v, sizeof(v)), 0);
}

static struct sockaddr_in sin_of(uint32_t addr, uint16_t port)
{
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(addr);
	sin.sin_port = htons(port);
	return sin;
}

/* A socket with SO_REUSEADDR / SO_REUSEPORT as asked. */
static int sock_with(tide_stack *st, bool ra, bool rp)
{
	int fd = tide_socket(st, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(fd >= 3);
	if (ra)
		set_int(st, fd, SO_REUSEADDR, 1);
	if (rp)
		set_int(st, fd, SO_REUSEPORT, 1);
	return fd;
}

/* bind(addr:port): 0 or the errno. */
static int bind_err(tide_stack *st, int fd, uint32_t addr, uint16_t port)
{
	struct sockaddr_in sin = sin_of(addr, port);
	errno = 0;
	int r = tide_bind(st, fd, (const struct sockaddr *)&sin, sizeof(sin));
	return r == 0 ? 0 : errno;
}

/* connect() to the server's port 80: EINPROGRESS or the errno. */
static int connect_err(tide_stack *st, int fd)
{
	struct sockaddr_in sin = sin_of(TH_SERVER_ADDR, 80);
	errno = 0;
	int r = tide_connect(st, fd, (const struct sockaddr *)&sin, sizeof(sin));
	assert_int_equal(r, -1);
	return errno;
}

/* A listener on the server's port 80 with the options asked. */
static int listener_with(struct th *h, bool ra, bool rp)
{
	int fd = sock_with(h->S, ra, rp);
	assert_int_equal(bind_err(h->S, fd, TH_SERVER_ADDR, 80), 0);
	assert_int_equal(tide_listen(h->S, fd, 16), 0);
	return fd;
}

static uint16_t local_port(tide_stack *st, int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	assert_int_equal(tide_getsockname(st, fd, (struct sockaddr *)&sin, &len), 0);
	return ntohs(sin.sin_port);
}

static uint16_t peer_port(tide_stack *st, int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	assert_int_equal(tide_getpeername(st, fd, (struct sockaddr *)&sin, &len), 0);
	return ntohs(sin.sin_port);
}

/* The index of the nth segment (from 0) `from` sent with exactly `flags`
 * from port sport, or -1. */
static long find_seg(struct th *h, int from, uint8_t flags, uint16_t sport, int nth)
{
	for (size_t i = 0; i < h->nsegs; i++) {
		const struct th_seg *s = &h->segs[i];
		if (s->from == from && s->flags == flags && s->sport == sport && nth-- == 0)
			return (long)i;
	}
	return -1;
}

/* The states node's connections to or from client port `port` went through,
 * in order (listeners left out). */
static size_t port_states(struct th *h, int node, uint16_t port, int *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < h->nstates; i++) {
		const struct th_state *s = &h->states[i];
		uint16_t p = node == h->c ? s->id.lport : s->id.rport;
		if (s->node == node && p == port && n < max)
			out[n++] = s->new_state;
	}
	return n;
}

#define EXPECT_PORT_STATES(h, node, port, ...)                                  \
	do {                                                                    \
		static const int want_[] = { __VA_ARGS__ };                      \
		int got_[32];                                                   \
		size_t n_ = port_states((h), (node), (port), got_, 32);         \
		assert_int_equal(n_, sizeof(want_) / sizeof(want_[0]));          \
		for (size_t i_ = 0; i_ < n_; i_++)                               \
			assert_int_equal(got_[i_], want_[i_]);                    \
	} while (0)

/* The time of the nth (from 0) change of node's connection on client port
 * `port` into `state`, or NEVER. */
static tide_time port_state_time(struct th *h, int node, uint16_t port, int state, int nth)
{
	for (size_t i = 0; i < h->nstates; i++) {
		const struct th_state *s = &h->states[i];
		uint16_t p = node == h->c ? s->id.lport : s->id.rport;
		if (s->node == node && p == port && s->new_state == state && nth-- == 0)
			return s->t;
	}
	return TIDE_TIME_NEVER;
}

/* How many TIME_WAIT records the stack holds. */
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

/*
 * One short connection that the CLIENT closes first, from `sport` (0: an
 * ephemeral port), three-way close: SYN at t, ESTABLISHED at t+3 ms, the
 * client's FIN at t+3, the server's FIN+ACK at t+4, the client's last ACK
 * (entry into TIME_WAIT) at t+5, the server CLOSED at t+6. The client's
 * 4-tuple is left in TIME_WAIT with SND.NXT = 102 (ISN 100, SYN, FIN).
 * Returns the client port; the clock is at t+6 ms.
 */
static uint16_t client_closes_first(struct th *h, int lfd, uint16_t sport, bool reuseaddr)
{
	tide_time t0 = th_now(h);
	int cfd = sock_with(h->C, reuseaddr, false);
	if (sport)
		assert_int_equal(bind_err(h->C, cfd, TH_CLIENT_ADDR, sport), 0);
	assert_int_equal(connect_err(h->C, cfd), EINPROGRESS);
	th_run_until(h, t0 + TIDE_MS(3));
	int sfd = th_accept(h, h->s, lfd);
	uint16_t port = local_port(h->C, cfd);
	assert_int_equal(tide_close(h->C, cfd), 0);
	th_run_until(h, t0 + TIDE_MS(4));
	assert_int_equal(tide_close(h->S, sfd), 0);
	th_run_until(h, t0 + TIDE_MS(6));
	assert_int_equal(port_state_time(h, h->c, port, ST_TW, 0) >= t0 + TIDE_MS(5), true);
	return port;
}

/*
 * HTTP-style: the SERVER closes first (port 40000 -> 80), three-way close:
 * the server's FIN at t, the client's FIN+ACK at t+1 ms, the server's last
 * ACK (entry into TIME_WAIT) at t+2, the client CLOSED at t+3. The server's
 * record has SND.NXT 302 (ISN 300, SYN, FIN) and RCV.NXT 102.
 */
static void server_closes_first(struct th *h, int cfd, int sfd)
{
	tide_time t0 = th_now(h);
	assert_int_equal(tide_close(h->S, sfd), 0);
	th_run_until(h, t0 + TIDE_MS(1));
	assert_int_equal(tide_close(h->C, cfd), 0);
	th_run_until(h, t0 + TIDE_MS(3));
}

/* ---- LC-K07: bind() against TIME_WAIT and connections ------------------ */

/*
 * What Linux 6.18 answers to bind(80) + listen() of a new server socket
 * after the old listener is closed, while one connection it accepted holds
 * port 80, in TIME_WAIT (the server closed first) or still ESTABLISHED. Rows:
 * the old listener's (SO_REUSEADDR, SO_REUSEPORT); columns: the new socket's
 * (0,0) (0,1) (1,0) (1,1). 0 = success. The same table for both holders:
 * the holder never listens, so both sides' SO_REUSEADDR or both sides'
 * SO_REUSEPORT make the port shareable (inet_csk_bind_conflict).
 */
static const int linux_bind_table[4][4] = {
	/* old (0,0) */ { EADDRINUSE, EADDRINUSE, EADDRINUSE, EADDRINUSE },
	/* old (0,1) */ { EADDRINUSE, 0, EADDRINUSE, 0 },
	/* old (1,0) */ { EADDRINUSE, EADDRINUSE, 0, 0 },
	/* old (1,1) */ { EADDRINUSE, 0, 0, 0 },
};

static void bind_table_case(bool time_wait, int old, int new_opts)
{
	struct th h;
	th_init(&h, NULL);
	int lfd = listener_with(&h, old & 2, old & 1);
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_until(&h, TIDE_MS(3));
	int sfd = th_accept(&h, h.s, lfd);
	assert_int_equal(tide_close(h.S, lfd), 0);
	if (time_wait) {
		server_closes_first(&h, cfd, sfd);
		assert_int_equal(tw_records(h.S), 1);
	}
	int fd = sock_with(h.S, new_opts & 2, new_opts & 1);
	int e = bind_err(h.S, fd, TH_SERVER_ADDR, 80);
	if (e == 0 && tide_listen(h.S, fd, 16) != 0)
		e = errno;
	if (e != linux_bind_table[old][new_opts])
		fail_msg("%s, old listener (reuseaddr %d, reuseport %d), new socket (%d, %d): "
			 "got %s, Linux gives %s",
			 time_wait ? "TIME_WAIT" : "ESTABLISHED", old >> 1, old & 1, new_opts >> 1,
			 new_opts & 1, e ? strerror(e) : "success",
			 linux_bind_table[old][new_opts] ? "EADDRINUSE" : "success");
	tide_close(h.S, fd);
	if (!time_wait) {
		tide_close(h.S, sfd);
		tide_close(h.C, cfd);
	}
	th_free(&h);
}

/* LC-K07: the whole table, TIME_WAIT holder then ESTABLISHED holder. */
static void test_LC_K07_bind_conflict_table_as_linux(void **state)
{
	(void)state;
	for (int tw = 1; tw >= 0; tw--)
		for (int old = 0; old < 4; old++)
			for (int n = 0; n < 4; n++)
				bind_table_case(tw, old, n);
}

/* LC-K07: a server restarted without SO_REUSEADDR cannot bind while its
 * TIME_WAIT holds port 80, and can once the record ends 60 s later. */
static void test_LC_K07_restart_waits_for_time_wait(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int lfd, cfd, sfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	server_closes_first(&h, cfd, sfd);
	assert_int_equal(tide_close(h.S, lfd), 0);
	/* the server's last ACK, at 5 ms, started TIME_WAIT */
	th_expect_seg_at(&h, 5, TIDE_MS(5), h.s, AK, 302, 102, 0);
	th_expect_state_at(&h, h.s, 4, TIDE_MS(5), ST_FW1, ST_TW);

	int fd = sock_with(h.S, false, false);
	assert_int_equal(bind_err(h.S, fd, TH_SERVER_ADDR, 80), EADDRINUSE);
	assert_int_equal(bind_err(h.S, fd, 0, 80), EADDRINUSE);
	th_run_until(&h, TIDE_MS(5) + TIDE_SEC(60) - 1);
	assert_int_equal(bind_err(h.S, fd, TH_SERVER_ADDR, 80), EADDRINUSE);
	th_run_until(&h, TIDE_MS(5) + TIDE_SEC(60));
	th_expect_state_at(&h, h.s, 6, TIDE_MS(5) + TIDE_SEC(60), ST_TW, ST_CLOSED);
	assert_int_equal(bind_err(h.S, fd, TH_SERVER_ADDR, 80), 0);
	assert_int_equal(tide_listen(h.S, fd, 16), 0);
	tide_close(h.S, fd);
	th_free(&h);
}

/* LC-K07: with SO_REUSEADDR on the old and the new listener, the server
 * restarts at once and serves; the client reconnecting from its old port
 * reaches the new listener through the old TIME_WAIT (a higher ISN). */
static void test_LC_K07_restart_with_reuseaddr_serves_at_once(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int lfd = listener_with(&h, true, false);
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_until(&h, TIDE_MS(3));
	int sfd = th_accept(&h, h.s, lfd);
	server_closes_first(&h, cfd, sfd);
	assert_int_equal(tide_close(h.S, lfd), 0);
	assert_int_equal(tw_records(h.S), 1);

	int plain = sock_with(h.S, false, false);
	assert_int_equal(bind_err(h.S, plain, TH_SERVER_ADDR, 80), EADDRINUSE);
	tide_close(h.S, plain);
	int l2 = listener_with(&h, true, false);

	/* a new client port: an ordinary handshake with the new listener */
	int c2 = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40001);
	th_run_for(&h, TIDE_MS(3));
	int s2 = th_accept(&h, h.s, l2);
	assert_int_equal(peer_port(h.S, s2), 40001);
	assert_int_equal(tide_sock_state(h.C, c2), ST_EST);

	/* the old client port, ISN 1000 > RCV.NXT 102: through the record */
	h.isn[0] = 1000;
	tide_time t = th_now(&h);
	int c3 = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_for(&h, TIDE_MS(3));
	long i = find_seg(&h, h.s, SA, 80, 2);
	assert_true(i > 0);
	th_expect_seg_at(&h, (size_t)i, t + TIDE_MS(1), h.s, SA, 302 + 65535 + 2, 1001, 0);
	int s3 = th_accept(&h, h.s, l2);
	assert_int_equal(peer_port(h.S, s3), 40000);
	assert_int_equal(tide_sock_state(h.C, c3), ST_EST);
	EXPECT_PORT_STATES(&h, h.s, 40000, ST_SYN_RECV, ST_EST, ST_FW1, ST_TW, ST_CLOSED, ST_SYN_RECV,
			   ST_EST);
	assert_int_equal(port_state_time(&h, h.s, 40000, ST_CLOSED, 0), t + TIDE_MS(1));
	assert_int_equal(tw_records(h.S), 0);
	tide_close(h.S, s2);
	tide_close(h.S, s3);
	tide_close(h.C, c2);
	tide_close(h.C, c3);
	tide_close(h.S, l2);
	th_free(&h);
}

/* ---- LC-K07: SO_REUSEPORT groups ---------------------------------------- */

/* The slot (0..n-1) Linux's hash pick gives the connection from client port
 * `port` in a group of n: reciprocal_scale of the 4-tuple's ehash hash. */
static uint32_t rp_slot(struct th *h, uint16_t port, uint32_t n)
{
	struct tide_conn_id k = { .laddr = TH_SERVER_ADDR, .raddr = TH_CLIENT_ADDR, .lport = 80,
				  .rport = port };
	return (uint32_t)(((uint64_t)tide_hash_key(h->S, &k) * n) >> 32);
}

/* Connects from ports first..first+n-1 and checks each connection waits in
 * the accept queue of lfd[slot] for its slot in a group of `members`;
 * returns how many went to each slot. */
static void spread(struct th *h, const int *lfd, uint32_t members, uint16_t first, int n,
		   int *per_slot)
{
	int cfd[16];
	assert_true(n <= 16);
	for (int i = 0; i < n; i++)
		cfd[i] = th_connect(h, h->c, TH_SERVER_ADDR, 80, (uint16_t)(first + i));
	th_run_for(h, TIDE_MS(3));
	for (uint32_t s = 0; s < members; s++)
		per_slot[s] = 0;
	for (int i = 0; i < n; i++) {
		uint32_t s = rp_slot(h, (uint16_t)(first + i), members);
		int fd = tide_accept(h->S, lfd[s], NULL, NULL, 0);
		if (fd < 0)
			fail_msg("the connection from port %d is not queued on slot %u", first + i, s);
		assert_int_equal(peer_port(h->S, fd), first + i);
		per_slot[s]++;
		tide_close(h->S, fd);
		tide_close(h->C, cfd[i]);
	}
	for (uint32_t s = 0; s < members; s++) {
		errno = 0;
		assert_int_equal(tide_accept(h->S, lfd[s], NULL, NULL, 0), -1);
		assert_int_equal(errno, EAGAIN);
	}
}

/* LC-K07: three SO_REUSEPORT listeners share port 80 (a fourth without the
 * option may not bind); each connection goes to the member the 4-tuple's
 * hash picks, in the order they called listen(). */
static void test_LC_K07_reuseport_group_spreads_by_hash(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int lfd[3];
	for (int i = 0; i < 3; i++)
		lfd[i] = listener_with(&h, false, true);
	int other = sock_with(h.S, true, false);
	assert_int_equal(bind_err(h.S, other, TH_SERVER_ADDR, 80), EADDRINUSE);
	assert_int_equal(bind_err(h.S, other, 0, 80), EADDRINUSE);
	tide_close(h.S, other);

	int per_slot[3];
	spread(&h, lfd, 3, 41000, 16, per_slot);
	for (int s = 0; s < 3; s++)
		assert_true(per_slot[s] > 0); /* the data does spread */
	assert_int_equal(ctr(h.S, TIDE_MIB_PassiveOpens), 16);
	for (int i = 0; i < 3; i++)
		tide_close(h.S, lfd[i]);
	th_free(&h);
}

/* LC-K07: closing a member leaves the others serving; the last member
 * takes the leaver's slot (Linux's reuseport_detach_sock), a new member
 * goes last. */
static void test_LC_K07_reuseport_member_leaves(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int lfd[3];
	for (int i = 0; i < 3; i++)
		lfd[i] = listener_with(&h, false, true);
	assert_int_equal(tide_close(h.S, lfd[0]), 0);
	int group[3] = { lfd[2], lfd[1], -1 }; /* slots after the first left */
	int per_slot[3];
	spread(&h, group, 2, 42000, 16, per_slot);
	assert_true(per_slot[0] > 0 && per_slot[1] > 0);

	group[2] = listener_with(&h, false, true); /* joins as slot 2 */
	spread(&h, group, 3, 43000, 16, per_slot);
	assert_true(per_slot[0] > 0 && per_slot[1] > 0 && per_slot[2] > 0);

	/* down to one member: it takes every connection */
	tide_close(h.S, group[0]);
	tide_close(h.S, group[2]);
	int last[1] = { lfd[1] };
	spread(&h, last, 1, 44000, 8, per_slot);
	assert_int_equal(per_slot[0], 8);
	tide_close(h.S, lfd[1]);
	th_free(&h);
}

/* ---- LC-K08: tcp_tw_reuse ---------------------------------------------- */

static const char *tiny_range(int tw_reuse)
{
	static char buf[128];
	snprintf(buf, sizeof(buf),
		 "net.ipv4.ip_local_port_range = 40000 40003\nnet.ipv4.tcp_tw_reuse = %d\n", tw_reuse);
	return buf;
}

/* Fills all four ephemeral ports with TIME_WAIT records, 6 ms apart: the
 * record of ports[i] begins at 6i + 5 ms. */
static void exhaust_ports(struct th *h, int lfd, uint16_t *ports)
{
	for (int i = 0; i < 4; i++) {
		ports[i] = client_closes_first(h, lfd, 0, false);
		assert_true(ports[i] >= 40000 && ports[i] <= 40003);
		for (int j = 0; j < i; j++)
			assert_int_not_equal(ports[i], ports[j]);
		assert_int_equal(port_state_time(h, h->c, ports[i], ST_TW, 0), TIDE_MS(6 * i + 5));
	}
	assert_int_equal(tw_records(h->C), 4);
}

/* LC-K08, LC-K14: tcp_tw_reuse = 0 and every ephemeral port's 4-tuple to
 * the server in TIME_WAIT: connect() fails with EADDRNOTAVAIL until the
 * first record ends, 60 s after it began. */
static void test_LC_K08_port_exhaustion_without_tw_reuse(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .client_settings = tiny_range(0) };
	th_init(&h, &o);
	int lfd = th_listen(&h, h.s, 80, 16);
	uint16_t ports[4];
	exhaust_ports(&h, lfd, ports);

	int fd = sock_with(h.C, false, false);
	assert_int_equal(connect_err(h.C, fd), EADDRNOTAVAIL);
	th_run_until(&h, TIDE_SEC(2));
	assert_int_equal(connect_err(h.C, fd), EADDRNOTAVAIL);
	th_run_until(&h, TIDE_MS(5) + TIDE_SEC(60) - 1);
	assert_int_equal(connect_err(h.C, fd), EADDRNOTAVAIL);
	th_run_until(&h, TIDE_MS(5) + TIDE_SEC(60));
	size_t n = h.nsegs;
	assert_int_equal(connect_err(h.C, fd), EINPROGRESS);
	assert_int_equal(local_port(h.C, fd), ports[0]);
	th_expect_seg_at(&h, n, TIDE_MS(5) + TIDE_SEC(60), h.c, SYN, 100, 0, 0);
	assert_int_equal(ctr(h.C, TIDE_MIB_TWRecycled), 0);
	assert_int_equal(ctr(h.C, TIDE_MIB_TW), 4);
	tide_close(h.C, fd);
	tide_close(h.S, lfd);
	th_free(&h);
}

/* LC-K08: tcp_tw_reuse = 1: connect() takes over the first record once it
 * is more than tcp_tw_reuse_delay (1000 ms) old: its entry at 5 ms makes
 * 1006 ms the first instant. The new SYN starts at the old SND.NXT + 65535
 * + 2 (102 + 65537), echoes the record's last timestamp (the server's FIN),
 * the record ends (TWRecycled) and the server, CLOSED on that 4-tuple,
 * accepts it as any SYN. */
static void test_LC_K08_tw_reuse_takes_over_after_delay(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .client_settings = tiny_range(1) };
	th_init(&h, &o);
	int lfd = th_listen(&h, h.s, 80, 16);
	uint16_t ports[4];
	exhaust_ports(&h, lfd, ports);
	long fin = find_seg(&h, h.s, FA, 80, 0); /* the server's FIN to ports[0] */
	assert_true(fin >= 0);
	assert_int_equal(th_seg(&h, (size_t)fin)->dport, ports[0]);
	uint32_t last_ts = th_seg(&h, (size_t)fin)->opts.tsval;

	int fd = sock_with(h.C, false, false);
	th_run_until(&h, TIDE_MS(1005));
	assert_int_equal(connect_err(h.C, fd), EADDRNOTAVAIL);
	th_run_until(&h, TIDE_MS(1006));
	size_t n = h.nsegs;
	assert_int_equal(connect_err(h.C, fd), EINPROGRESS);
	assert_int_equal(local_port(h.C, fd), ports[0]);
	th_expect_seg_at(&h, n, TIDE_MS(1006), h.c, SYN, 102 + 65535 + 2, 0, 0);
	assert_true(th_seg(&h, n)->opts.present & TIDE_OPT_TS);
	assert_int_equal(th_seg(&h, n)->opts.tsecr, last_ts);
	assert_int_equal(ctr(h.C, TIDE_MIB_TWRecycled), 1);
	assert_int_equal(ctr(h.C, TIDE_MIB_TW), 4);
	assert_int_equal(tw_records(h.C), 3);

	th_run_until(&h, TIDE_MS(1009));
	th_expect_seg_at(&h, n + 1, TIDE_MS(1007), h.s, SA, 300, 102 + 65535 + 3, 0);
	th_expect_seg_at(&h, n + 2, TIDE_MS(1008), h.c, AK, 102 + 65535 + 3, 301, 0);
	assert_int_equal(tide_sock_state(h.C, fd), ST_EST);
	EXPECT_PORT_STATES(&h, h.c, ports[0], ST_SYN_SENT, ST_EST, ST_FW1, ST_TW, ST_CLOSED,
			   ST_SYN_SENT, ST_EST);
	assert_int_equal(port_state_time(&h, h.c, ports[0], ST_CLOSED, 0), TIDE_MS(1006));
	int sfd = th_accept(&h, h.s, lfd);
	assert_int_equal(peer_port(h.S, sfd), ports[0]);

	/* the next port's record (entry at 11 ms) is free from 1012 ms */
	int fd2 = sock_with(h.C, false, false);
	th_run_until(&h, TIDE_MS(1011));
	assert_int_equal(connect_err(h.C, fd2), EADDRNOTAVAIL);
	th_run_until(&h, TIDE_MS(1012));
	assert_int_equal(connect_err(h.C, fd2), EINPROGRESS);
	assert_int_equal(local_port(h.C, fd2), ports[1]);
	assert_int_equal(ctr(h.C, TIDE_MIB_TWRecycled), 2);
	tide_close(h.C, fd);
	tide_close(h.C, fd2);
	tide_close(h.S, sfd);
	tide_close(h.S, lfd);
	th_free(&h);
}

/* LC-K08: tcp_tw_reuse_delay moves the threshold (here 250 ms: from 256 ms
 * on for the record that began at 5 ms). */
static void test_LC_K08_tw_reuse_delay_setting(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .client_settings = "net.ipv4.ip_local_port_range = 40000 40003\n"
						 "net.ipv4.tcp_tw_reuse = 1\n"
						 "net.ipv4.tcp_tw_reuse_delay = 250\n" };
	th_init(&h, &o);
	int lfd = th_listen(&h, h.s, 80, 16);
	uint16_t ports[4];
	exhaust_ports(&h, lfd, ports);
	int fd = sock_with(h.C, false, false);
	th_run_until(&h, TIDE_MS(255));
	assert_int_equal(connect_err(h.C, fd), EADDRNOTAVAIL);
	th_run_until(&h, TIDE_MS(256));
	assert_int_equal(connect_err(h.C, fd), EINPROGRESS);
	assert_int_equal(local_port(h.C, fd), ports[0]);
	assert_int_equal(ctr(h.C, TIDE_MIB_TWRecycled), 1);
	tide_close(h.C, fd);
	tide_close(h.S, lfd);
	th_free(&h);
}

/* LC-K08: without timestamps PAWS cannot protect the new connection, so
 * tcp_tw_reuse never takes a record over. */
static void test_LC_K08_tw_reuse_needs_timestamps(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .client_settings = "net.ipv4.ip_local_port_range = 40000 40003\n"
						 "net.ipv4.tcp_tw_reuse = 1\n"
						 "net.ipv4.tcp_timestamps = 0\n" };
	th_init(&h, &o);
	int lfd = th_listen(&h, h.s, 80, 16);
	uint16_t ports[4];
	exhaust_ports(&h, lfd, ports);
	int fd = sock_with(h.C, false, false);
	th_run_until(&h, TIDE_SEC(30));
	assert_int_equal(connect_err(h.C, fd), EADDRNOTAVAIL);
	assert_int_equal(ctr(h.C, TIDE_MIB_TWRecycled), 0);
	tide_close(h.C, fd);
	tide_close(h.S, lfd);
	th_free(&h);
}

/* LC-K08: the default, tcp_tw_reuse = 2, is "loopback only": between two
 * tide stacks (never loopback) it does not reuse; the rule itself, Linux's
 * "either address in 127.0.0.0/8", is checked on records. */
static void test_LC_K08_tw_reuse_2_is_loopback_only(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .client_settings = "net.ipv4.ip_local_port_range = 40000 40003\n" };
	th_init(&h, &o);
	assert_int_equal(tide_stack_settings(h.C)->tcp_tw_reuse, 2);
	int lfd = th_listen(&h, h.s, 80, 16);
	uint16_t ports[4];
	exhaust_ports(&h, lfd, ports);
	int fd = sock_with(h.C, false, false);
	th_run_until(&h, TIDE_SEC(2));
	assert_int_equal(connect_err(h.C, fd), EADDRNOTAVAIL);
	tide_close(h.C, fd);

	struct tcp_tw tw;
	memset(&tw, 0, sizeof(tw));
	tw.h.kind = TIDE_EH_TW;
	tw.h.aux8 = TIDE_TW_TS;
	tw.created_ms = 5;
	tw.h.key = (struct tide_conn_id){ .laddr = TH_CLIENT_ADDR, .raddr = TH_SERVER_ADDR };
	assert_false(tide_tw_reusable(h.C, &tw, false));
	tw.h.key.raddr = 0x7f000001u; /* 127.0.0.1 */
	assert_true(tide_tw_reusable(h.C, &tw, false));
	tw.h.key = (struct tide_conn_id){ .laddr = 0x7f000002u, .raddr = TH_SERVER_ADDR };
	assert_true(tide_tw_reusable(h.C, &tw, false));
	tw.created_ms = 1000; /* not yet 1000 ms old at 2 s */
	assert_false(tide_tw_reusable(h.C, &tw, false));
	tide_stack_settings(h.C)->tcp_tw_reuse = 0;
	tw.created_ms = 5;
	assert_false(tide_tw_reusable(h.C, &tw, false));
	tide_close(h.S, lfd);
	th_free(&h);
}

/* LC-K08: with its port from bind() (SO_REUSEADDR on both sockets), a
 * client takes the TIME_WAIT over at once, whatever tcp_tw_reuse says, as
 * Linux does (the application chose the 4-tuple); the record must have
 * timestamps. */
static void test_LC_K08_bound_port_takes_over_at_once(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .client_settings = "net.ipv4.tcp_tw_reuse = 0\n" };
	th_init(&h, &o);
	int lfd = th_listen(&h, h.s, 80, 16);
	assert_int_equal(client_closes_first(&h, lfd, 40000, true), 40000);
	assert_int_equal(tw_records(h.C), 1);
	uint32_t last_ts = th_seg(&h, (size_t)find_seg(&h, h.s, FA, 80, 0))->opts.tsval;

	int plain = sock_with(h.C, false, false);
	assert_int_equal(bind_err(h.C, plain, TH_CLIENT_ADDR, 40000), EADDRINUSE);
	tide_close(h.C, plain);
	int fd = sock_with(h.C, true, false);
	assert_int_equal(bind_err(h.C, fd, TH_CLIENT_ADDR, 40000), 0);
	size_t n = h.nsegs;
	assert_int_equal(connect_err(h.C, fd), EINPROGRESS);
	th_expect_seg_at(&h, n, TIDE_MS(6), h.c, SYN, 102 + 65535 + 2, 0, 0);
	assert_int_equal(th_seg(&h, n)->opts.tsecr, last_ts);
	assert_int_equal(ctr(h.C, TIDE_MIB_TWRecycled), 1);
	assert_int_equal(tw_records(h.C), 0);
	th_run_for(&h, TIDE_MS(3));
	assert_int_equal(tide_sock_state(h.C, fd), ST_EST);
	EXPECT_PORT_STATES(&h, h.c, 40000, ST_SYN_SENT, ST_EST, ST_FW1, ST_TW, ST_CLOSED, ST_SYN_SENT,
			   ST_EST);
	tide_close(h.C, fd);
	tide_close(h.S, lfd);
	th_free(&h);
}

/* LC-K08: the same without timestamps: the bound port's 4-tuple stays
 * unavailable (EADDRNOTAVAIL) until the record ends. */
static void test_LC_K08_bound_port_without_timestamps_waits(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .client_settings = "net.ipv4.tcp_timestamps = 0\n" };
	th_init(&h, &o);
	int lfd = th_listen(&h, h.s, 80, 16);
	client_closes_first(&h, lfd, 40000, true);
	int fd = sock_with(h.C, true, false);
	assert_int_equal(bind_err(h.C, fd, TH_CLIENT_ADDR, 40000), 0);
	assert_int_equal(connect_err(h.C, fd), EADDRNOTAVAIL);
	th_run_until(&h, TIDE_MS(5) + TIDE_SEC(60));
	assert_int_equal(connect_err(h.C, fd), EINPROGRESS);
	assert_int_equal(ctr(h.C, TIDE_MIB_TWRecycled), 0);
	tide_close(h.C, fd);
	tide_close(h.S, lfd);
	th_free(&h);
}

/* ---- a SYN reaching the server's TIME_WAIT ------------------------------ */

/* HTTP-style close, then the client reconnects from port 40000 at 10 ms
 * with ISN isn2. Returns the index of its SYN. */
static size_t reconnect_into_server_tw(struct th *h, int lfd, uint32_t isn2, int *cfd2)
{
	int cfd, sfd;
	cfd = th_connect(h, h->c, TH_SERVER_ADDR, 80, 40000);
	th_run_until(h, TIDE_MS(3));
	sfd = th_accept(h, h->s, lfd);
	server_closes_first(h, cfd, sfd);
	assert_int_equal(tw_records(h->S), 1);
	th_run_until(h, TIDE_MS(10));
	h->isn[0] = isn2;
	size_t n = h->nsegs;
	*cfd2 = th_connect(h, h->c, TH_SERVER_ADDR, 80, 40000);
	return n;
}

/* RFC 1122 4.2.2.13, Linux: a SYN above RCV.NXT (ISN 1000 > 102; no
 * timestamps, so only the sequence number speaks) ends the server's
 * TIME_WAIT and goes to the listener, whose SYN-ACK starts above all the
 * old connection sent: SND.NXT 302 + 65535 + 2. */
static void test_rfc1122_higher_syn_in_time_wait_opens(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .client_settings = "net.ipv4.tcp_timestamps = 0\n" };
	th_init(&h, &o);
	int lfd = th_listen(&h, h.s, 80, 16);
	int cfd;
	size_t n = reconnect_into_server_tw(&h, lfd, 1000, &cfd);
	th_run_until(&h, TIDE_MS(14));
	th_expect_seg_at(&h, n, TIDE_MS(10), h.c, SYN, 1000, 0, 0);
	th_expect_seg_at(&h, n + 1, TIDE_MS(11), h.s, SA, 302 + 65535 + 2, 1001, 0);
	th_expect_seg_at(&h, n + 2, TIDE_MS(12), h.c, AK, 1001, 302 + 65535 + 3, 0);
	th_expect_nsegs(&h, n + 3);
	EXPECT_PORT_STATES(&h, h.s, 40000, ST_SYN_RECV, ST_EST, ST_FW1, ST_TW, ST_CLOSED, ST_SYN_RECV,
			   ST_EST);
	assert_int_equal(port_state_time(&h, h.s, 40000, ST_CLOSED, 0), TIDE_MS(11));
	assert_int_equal(port_state_time(&h, h.s, 40000, ST_SYN_RECV, 1), TIDE_MS(11));
	int sfd = th_accept(&h, h.s, lfd);
	assert_int_equal(tw_records(h.S), 0);
	/* the server counts nothing for it: TWRecycled is connect()'s */
	assert_int_equal(ctr(h.S, TIDE_MIB_TWRecycled), 0);
	assert_int_equal(ctr(h.S, TIDE_MIB_TW), 1);
	assert_int_equal(ctr(h.S, TIDE_MIB_PassiveOpens), 2);
	tide_close(h.S, sfd);
	tide_close(h.C, cfd);
	tide_close(h.S, lfd);
	th_free(&h);
}

/* Linux: with timestamps, a newer TSval opens a new connection even when
 * the SYN's sequence number (the same ISN 100) is below RCV.NXT 102. */
static void test_rfc6191_newer_timestamp_in_time_wait_opens(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int lfd = th_listen(&h, h.s, 80, 16);
	int cfd;
	size_t n = reconnect_into_server_tw(&h, lfd, 100, &cfd);
	th_run_until(&h, TIDE_MS(14));
	th_expect_seg_at(&h, n, TIDE_MS(10), h.c, SYN, 100, 0, 0);
	th_expect_seg_at(&h, n + 1, TIDE_MS(11), h.s, SA, 302 + 65535 + 2, 101, 0);
	th_expect_seg_at(&h, n + 2, TIDE_MS(12), h.c, AK, 101, 302 + 65535 + 3, 0);
	assert_int_equal(tide_sock_state(h.C, cfd), ST_EST);
	int sfd = th_accept(&h, h.s, lfd);
	assert_int_equal(tw_records(h.S), 0);
	tide_close(h.S, sfd);
	tide_close(h.C, cfd);
	tide_close(h.S, lfd);
	th_free(&h);
}

/* Linux: an older SYN (ISN 100 < RCV.NXT 102, no timestamps) gets the
 * record's ACK and does not restart 2MSL. The client, in SYN_SENT, answers
 * the unacceptable ACK with a RST at SEQ=102 = RCV.NXT, which ends the
 * TIME_WAIT (tcp_rfc1337 = 0); its SYN, sent again, then opens a new
 * connection with the listener's own ISN (300). */
static void test_rfc1122_older_syn_in_time_wait_gets_ack(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .client_settings = "net.ipv4.tcp_timestamps = 0\n" };
	th_init(&h, &o);
	int lfd = th_listen(&h, h.s, 80, 16);
	int cfd;
	size_t n = reconnect_into_server_tw(&h, lfd, 100, &cfd);
	th_run_until(&h, TIDE_MS(13));
	th_expect_seg_at(&h, n, TIDE_MS(10), h.c, SYN, 100, 0, 0);
	th_expect_seg_at(&h, n + 1, TIDE_MS(11), h.s, AK, 302, 102, 0);
	th_expect_seg_at(&h, n + 2, TIDE_MS(12), h.c, RST, 102, 0, 0);
	th_expect_nsegs(&h, n + 3);
	/* the record ran from 5 ms and was not restarted by the SYN */
	assert_int_equal(port_state_time(&h, h.s, 40000, ST_TW, 0), TIDE_MS(5));
	assert_int_equal(port_state_time(&h, h.s, 40000, ST_CLOSED, 0), TIDE_MS(13));
	assert_int_equal(tw_records(h.S), 0);
	assert_int_equal(ctr(h.S, TIDE_MIB_TWKilled), 0);

	/* the retransmitted SYN (its time is the handshake's business:
	 * Linux sends it TCP_TIMEOUT_MIN after the RST, tide at the RTO) */
	th_run_until(&h, TIDE_SEC(2));
	long syn = find_seg(&h, h.c, SYN, 40000, 2);
	assert_true(syn > 0);
	tide_time t = th_seg(&h, (size_t)syn)->t;
	th_expect_seg_at(&h, (size_t)syn, t, h.c, SYN, 100, 0, 0);
	th_expect_seg_at(&h, (size_t)syn + 1, t + TIDE_MS(1), h.s, SA, 300, 101, 0);
	assert_int_equal(tide_sock_state(h.C, cfd), ST_EST);
	int sfd = th_accept(&h, h.s, lfd);
	tide_close(h.S, sfd);
	tide_close(h.C, cfd);
	tide_close(h.S, lfd);
	th_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_LC_K07_bind_conflict_table_as_linux),
		cmocka_unit_test(test_LC_K07_restart_waits_for_time_wait),
		cmocka_unit_test(test_LC_K07_restart_with_reuseaddr_serves_at_once),
		cmocka_unit_test(test_LC_K07_reuseport_group_spreads_by_hash),
		cmocka_unit_test(test_LC_K07_reuseport_member_leaves),
		cmocka_unit_test(test_LC_K08_port_exhaustion_without_tw_reuse),
		cmocka_unit_test(test_LC_K08_tw_reuse_takes_over_after_delay),
		cmocka_unit_test(test_LC_K08_tw_reuse_delay_setting),
		cmocka_unit_test(test_LC_K08_tw_reuse_needs_timestamps),
		cmocka_unit_test(test_LC_K08_tw_reuse_2_is_loopback_only),
		cmocka_unit_test(test_LC_K08_bound_port_takes_over_at_once),
		cmocka_unit_test(test_LC_K08_bound_port_without_timestamps_waits),
		cmocka_unit_test(test_rfc1122_higher_syn_in_time_wait_opens),
		cmocka_unit_test(test_rfc6191_newer_timestamp_in_time_wait_opens),
		cmocka_unit_test(test_rfc1122_older_syn_in_time_wait_gets_ack),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
