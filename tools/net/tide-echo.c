/*
 * tide-echo: an echo server (RFC 862) on tide, on a TUN or TAP device.
 *
 * Every byte a client sends comes back. When the client closes its side
 * (its FIN), what is still buffered is sent and then the connection is
 * closed: the client sees the whole echo, then the server's FIN (tide goes
 * CLOSE_WAIT -> LAST_ACK, the client FIN_WAIT_2 -> TIME_WAIT).
 */
#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ECHO_BUF 65536

struct echo_conn {
	struct echo_conn *next;
	int fd;
	bool dead;
	bool peer_eof;       /* recv returned 0: the client sent its FIN */
	uint32_t interest;   /* events asked of epoll */
	size_t head, len;    /* ring of buffered bytes */
	uint64_t echoed;
	char peer[32];
	unsigned char buf[ECHO_BUF];
};

struct echo {
	struct tide_app app;
	int lfd, epfd;
	struct echo_conn *conns;
	uint64_t served;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tide-echo --addr A.B.C.D[/N] [--port 7] [device and stack options]\n"
		"An echo server on tide: every byte a client sends comes back; after the\n"
		"client's FIN the rest is sent and the connection closed.\n"
		"\n"
		"  --port N             TCP port to listen on (default 7)\n"
		"\n%s",
		tide_app_common_help);
}

static void set_interest(struct echo *e, struct echo_conn *c, uint32_t ev)
{
	if (c->interest == ev)
		return;
	struct epoll_event e2 = { .events = ev, .data.ptr = c };
	tide_epoll_ctl(e->app.st, e->epfd, EPOLL_CTL_MOD, c->fd, &e2);
	c->interest = ev;
}

static void conn_close(struct echo *e, struct echo_conn *c, const char *why)
{
	if (c->dead)
		return;
	tide_close(e->app.st, c->fd);
	c->dead = true;
	tide_app_log(&e->app, "%s: %llu bytes echoed, %s", c->peer, (unsigned long long)c->echoed, why);
}

static void accept_all(struct echo *e)
{
	for (;;) {
		struct sockaddr_in sin;
		socklen_t sl = sizeof(sin);
		int fd = tide_accept(e->app.st, e->lfd, (struct sockaddr *)&sin, &sl, SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED)
				tide_app_log(&e->app, "accept: %s", strerror(errno));
			if (errno == ECONNABORTED)
				continue;
			return;
		}
		struct echo_conn *c = calloc(1, sizeof(*c));
		if (!c) {
			tide_close(e->app.st, fd);
			tide_app_log(&e->app, "out of memory: connection refused");
			continue;
		}
		c->fd = fd;
		tide_app_addr_str(&sin, c->peer, sizeof(c->peer));
		c->interest = EPOLLIN;
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
		if (tide_epoll_ctl(e->app.st, e->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			tide_close(e->app.st, fd);
			free(c);
			continue;
		}
		c->next = e->conns;
		e->conns = c;
		e->served++;
		tide_app_log(&e->app, "%s: connected", c->peer);
	}
}

/* Sends what is buffered. Returns false if the connection failed. */
static bool flush(struct echo *e, struct echo_conn *c)
{
	while (c->len) {
		size_t chunk = c->len;
		if (c->head + chunk > ECHO_BUF)
			chunk = ECHO_BUF - c->head;
		ssize_t n = tide_send(e->app.st, c->fd, c->buf + c->head, chunk, 0);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return true;
			conn_close(e, c, strerror(errno));
			return false;
		}
		c->head = (c->head + (size_t)n) % ECHO_BUF;
		c->len -= (size_t)n;
		c->echoed += (uint64_t)n;
	}
	return true;
}

static void conn_event(struct echo *e, struct echo_conn *c, uint32_t events)
{
	/* read while there is room: a client that does not read its echo is
	 * slowed down by its own window, not by an unbounded buffer */
	while (!c->peer_eof && c->len < ECHO_BUF) {
		size_t tail = (c->head + c->len) % ECHO_BUF;
		size_t room = tail >= c->head ? ECHO_BUF - tail : c->head - tail;
		if (room > ECHO_BUF - c->len)
			room = ECHO_BUF - c->len;
		ssize_t n = tide_recv(e->app.st, c->fd, c->buf + tail, room, 0);
		if (n > 0) {
			c->len += (size_t)n;
			continue;
		}
		if (n == 0) {
			c->peer_eof = true;
			break;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		conn_close(e, c, strerror(errno));
		return;
	}
	if (!flush(e, c))
		return;
	if (c->peer_eof && c->len == 0) {
		conn_close(e, c, "closed by the client");
		return;
	}
	/* a reset or a dead connection: nothing more will move */
	if (events & (EPOLLERR | EPOLLHUP)) {
		conn_close(e, c, "connection lost");
		return;
	}
	uint32_t want = 0;
	if (!c->peer_eof && c->len < ECHO_BUF)
		want |= EPOLLIN;
	if (c->len)
		want |= EPOLLOUT;
	set_interest(e, c, want);
}

static void sweep(struct echo *e)
{
	for (struct echo_conn **pp = &e->conns; *pp;) {
		struct echo_conn *c = *pp;
		if (c->dead) {
			*pp = c->next;
			free(c);
		} else {
			pp = &c->next;
		}
	}
}

static void tick(void *ctx, tide_loop *loop)
{
	struct echo *e = ctx;
	struct epoll_event evs[64];
	/* Until nothing is ready: handling one socket can make another ready
	 * only through the stack, which is quiet between iterations, but a
	 * changed interest is reported at once. Bounded, so that a busy
	 * server still lets the loop read the device. */
	for (int round = 0; round < 32; round++) {
		int n = tide_epoll_wait(e->app.st, e->epfd, evs, 64);
		if (n <= 0)
			break;
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL)
				accept_all(e);
			else
				conn_event(e, evs[i].data.ptr, evs[i].events);
		}
		if (round == 31)
			tide_loop_wake_at(loop, tide_loop_clock());
	}
	sweep(e);
}

int main(int argc, char **argv)
{
	struct echo *e = calloc(1, sizeof(*e));
	if (!e) {
		fprintf(stderr, "tide-echo: out of memory\n");
		return 1;
	}
	struct tide_app *app = &e->app;
	tide_app_init(app, "tide-echo");
	long port = 7;
	for (int i = 1; i < argc; i++) {
		const char *v;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			free(e);
			return 0;
		}
		if (tide_app_common_option(app, argc, argv, &i))
			continue;
		if (tide_app_opt(app, argc, argv, &i, "--port", &v))
			port = tide_app_int(app, "--port", v, 1, 65535);
		else
			tide_app_usage_error(app, "unknown argument '%s'", argv[i]);
	}
	tide_app_start(app);
	tide_stack *st = app->st;
	e->lfd = tide_socket(st, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int one = 1;
	tide_setsockopt(st, e->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				   .sin_addr.s_addr = htonl(app->addr) };
	if (tide_bind(st, e->lfd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    tide_listen(st, e->lfd, 511) != 0)
		tide_app_fatal(app, "port %ld: %s", port, strerror(errno));
	e->epfd = tide_epoll_create(st);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	tide_epoll_ctl(st, e->epfd, EPOLL_CTL_ADD, e->lfd, &ev);
	tide_loop_set_tick(app->loop, tick, e);
	char a[32];
	tide_app_log(app, "echo server on %s (%s %s)", tide_app_addr_str(&sin, a, sizeof(a)),
		     app->kind == TIDE_NETDEV_TAP ? "tap" : "tun", app->ifname);
	int rc = tide_app_run(app);

	for (struct echo_conn *c = e->conns; c; c = c->next)
		conn_close(e, c, "server stopping");
	sweep(e);
	tide_close(st, e->epfd);
	tide_close(st, e->lfd);
	tide_app_log(app, "%llu connections served", (unsigned long long)e->served);
	tide_app_finish(app);
	free(e);
	return rc;
}
