/*
 * Floods on the simulated network: SYN, ACK, RST and FIN floods against a
 * server that has 1,000 established connections to one client, each of
 * which sends a 100-byte request every second that the server echoes.
 * The established connections must lose nothing (every byte echoed once,
 * in order, no reset, a normal close at the end); the server's answers to
 * the flood must be what Linux sends, rate-limited where Linux limits
 * them; its counters must account for every packet of the flood; and the
 * SYN queue and the memory of the half-open requests must stay within the
 * bounds the settings give.
 *
 * The harness (harness.h) records every segment, which a million packets
 * would make gigabytes: this file has its own light fixture, a tide_sim
 * with three nodes (client 198.18.0.1, server 198.18.0.2, and an attacker
 * at 198.18.0.254 that forges every source address) and a tap that only
 * counts. The attacker is a sim node whose timer emits one packet every
 * `interval` microseconds, off the whole milliseconds at which the
 * applications act: the server's answer to a flood packet is what it
 * sends to that packet's source while taking it (the tap sees the
 * delivery, then the answer), and the tap counts answers by kind.
 *
 * Sizes: the SYN floods are 1,000,000 SYNs over 10 s; the ACK, RST and
 * FIN floods 100,000 packets over 2 s each (50 per connection per second,
 * far past the one answer per 500 ms a connection gives), which keeps the
 * whole file near 30 s under ASan. The file's wall time under the Debug
 * sanitizer build is what `make test` pays; without sanitizers it is ~5 s.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <tide/tide.h>
#include <tide/socket.h>
#include <tide/sim.h>
#include <tide/wire.h>
#include <tide/settings.h>
#include "core/stack_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLIENT 0xc6120001u   /* 198.18.0.1 */
#define SERVER 0xc6120002u   /* 198.18.0.2 */
#define ATTACKER 0xc61200feu /* 198.18.0.254: owns no connection */
#define FLOOD_NET 0xc6130000u /* 198.19.0.0/16: no node, so answers are lost */
#define SPORT 80
#define NCONN 1000
#define BASE_PORT 20000     /* the established connections' client ports */
#define LEGIT_PORT 30000    /* new clients during a flood */
#define NLEGIT 5
#define REQ 100             /* bytes per request */
#define BACKLOG 128
#define MS TIDE_MS(1)
#define MAXFD 4096

/* ---- the attacker -------------------------------------------------------- */

enum flood_kind { FLOOD_SYN, FLOOD_ACK_LISTENER, FLOOD_ACK, FLOOD_RST, FLOOD_FIN };

struct flooder {
	tide_sim *sim;
	int node;
	enum flood_kind kind;
	uint64_t rng;
	tide_time start, interval;
	uint64_t count, sent;
	/* FLOOD_ACK etc.: every packet's target connection, for the model */
	uint16_t *target;
};

static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static tide_time fl_next(void *node)
{
	struct flooder *f = node;
	if (f->sent >= f->count)
		return TIDE_TIME_NEVER;
	return f->start + f->sent * f->interval;
}

static void fl_input(void *node, const uint8_t *pkt, size_t len, tide_time now)
{
	(void)node;
	(void)pkt;
	(void)len;
	(void)now;
}

static void fl_send_one(struct flooder *f)
{
	uint64_t r = rnd(&f->rng), r2 = rnd(&f->rng);
	uint32_t src;
	uint16_t sport;
	uint8_t flags;
	struct tide_tcp_opts o, *op = NULL;
	memset(&o, 0, sizeof(o));
	switch (f->kind) {
	case FLOOD_SYN:
		src = FLOOD_NET | (uint32_t)(r & 0xffff);
		if ((src & 0xff) == 0 || (src & 0xff) == 0xff)
			src ^= 1; /* no network or broadcast address */
		sport = (uint16_t)(1024 + (r >> 16) % 64000);
		flags = TIDE_TCP_SYN;
		o.present = TIDE_OPT_MSS | TIDE_OPT_SACK_OK | TIDE_OPT_TS | TIDE_OPT_WSCALE;
		o.mss = 1460;
		o.wscale = 7;
		o.tsval = (uint32_t)(r >> 32);
		op = &o;
		break;
	case FLOOD_ACK_LISTENER:
		src = FLOOD_NET | (uint32_t)(r & 0xffff);
		if ((src & 0xff) == 0 || (src & 0xff) == 0xff)
			src ^= 1;
		sport = (uint16_t)(1024 + (r >> 16) % 64000);
		flags = TIDE_TCP_ACK;
		break;
	default: {
		uint32_t i = (uint32_t)((r & 0xffffffffu) % NCONN);
		if (f->target)
			f->target[f->sent] = (uint16_t)i;
		src = CLIENT;
		sport = (uint16_t)(BASE_PORT + i);
		flags = f->kind == FLOOD_ACK ? TIDE_TCP_ACK
		      : f->kind == FLOOD_RST ? TIDE_TCP_RST
					     : (TIDE_TCP_FIN | TIDE_TCP_ACK);
		break;
	}
	}
	uint8_t pkt[128];
	size_t n = tide_tcp_build(pkt + TIDE_IPV4_HLEN, sizeof(pkt) - TIDE_IPV4_HLEN, src, SERVER,
				  sport, SPORT, (uint32_t)r2, (uint32_t)(r2 >> 32), flags, 1024, op,
				  NULL, 0);
	assert_true(n > 0);
	assert_true(tide_ipv4_build(pkt, sizeof(pkt), src, SERVER, TIDE_IPPROTO_TCP, (uint16_t)n,
				    64, 0, true) > 0);
	tide_sim_send(f->sim, f->node, pkt, n + TIDE_IPV4_HLEN);
	f->sent++;
}

static void fl_advance(void *node, tide_time now)
{
	struct flooder *f = node;
	while (f->sent < f->count && fl_next(f) <= now)
		fl_send_one(f);
}

static const struct tide_sim_node_ops flooder_ops = { fl_input, fl_advance, fl_next };

/* ---- the fixture ---------------------------------------------------------- */

struct pipe {
	int cfd, sfd;
	uint64_t sent;      /* request bytes the client wrote */
	uint64_t srv_read;  /* ... the server read (and echoed) */
	uint64_t echo_read; /* echo bytes the client read */
	bool eof;           /* the server read the end of file */
};

struct answers {
	uint64_t ack_to_client, rst_to_client, rst_to_net, synack_to_net, other;
};

struct fx {
	tide_sim *sim;
	int c, s, a;
	tide_stack *C, *S;
	struct flooder fl;
	int lfd, cep, sep;
	struct pipe p[NCONN];
	int by_cfd[MAXFD], by_sfd[MAXFD]; /* fd -> connection + 1 */
	bool data_on;
	/* the tap */
	uint64_t ev[8];
	/* a flood packet was just delivered: what S sends to its source now
	 * answers it */
	bool pending;
	uint32_t pending_addr;
	uint16_t pending_port;
	struct answers ans;
	/* on_state */
	uint64_t flood_requests;   /* LISTEN -> SYN_RECV of a forged source */
	tide_time legit_established[NLEGIT];
	/* bounds seen */
	uint32_t max_syn_queue;
	int other_time_waits; /* the new clients' records, at the end */
	uint64_t max_req_objects;
};

static struct fx *g_fx; /* for the callbacks of the stacks made by the sim */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void tap(void *ctx, enum tide_sim_event ev, tide_time now, int from, int to,
		const uint8_t *pkt, size_t len)
{
	(void)now;
	(void)to;
	struct fx *x = ctx;
	x->ev[ev]++;
	size_t ihl = (size_t)(pkt[0] & 15) * 4;
	assert_true(len >= ihl + 20);
	if (ev == TIDE_SIM_DELIVERED) {
		x->pending = from == x->a;
		x->pending_addr = rd32(pkt + 12);
		x->pending_port = rd16(pkt + ihl);
		return;
	}
	if (ev != TIDE_SIM_SENT)
		return;
	if (from != x->s || !x->pending) {
		x->pending = false;
		return;
	}
	uint32_t dst = rd32(pkt + 16);
	/* a timer of another connection may fire at the same instant */
	if (dst != x->pending_addr || rd16(pkt + ihl + 2) != x->pending_port)
		return;
	uint8_t flags = pkt[ihl + 13];
	size_t payload = len - ihl - (size_t)(pkt[ihl + 12] >> 4) * 4;
	if (dst == CLIENT && flags == TIDE_TCP_ACK && payload == 0)
		x->ans.ack_to_client++;
	else if (dst == CLIENT && (flags & TIDE_TCP_RST))
		x->ans.rst_to_client++;
	else if ((dst & 0xffff0000u) == FLOOD_NET && (flags & TIDE_TCP_RST))
		x->ans.rst_to_net++;
	else if ((dst & 0xffff0000u) == FLOOD_NET && flags == (TIDE_TCP_SYN | TIDE_TCP_ACK))
		x->ans.synack_to_net++;
	else
		x->ans.other++;
}

static struct tide_sock *listener(struct fx *x);
static void sample_bounds(struct fx *x);

static void on_state(void *ctx, const struct tide_conn_id *id, int old_state, int new_state,
		     tide_time now)
{
	struct fx *x = g_fx;
	/* each new request: the queue and the memory at their largest */
	if (ctx == (void *)1 && new_state == TIDE_TCP_SYN_RECV && x->lfd > 0)
		sample_bounds(x);
	if (ctx == (void *)1 && old_state == TIDE_TCP_LISTEN && new_state == TIDE_TCP_SYN_RECV &&
	    (id->raddr & 0xffff0000u) == FLOOD_NET)
		x->flood_requests++;
	if (ctx == (void *)0 && new_state == TIDE_TCP_ESTABLISHED && id->lport >= LEGIT_PORT &&
	    id->lport < LEGIT_PORT + NLEGIT)
		x->legit_established[id->lport - LEGIT_PORT] = now;
}

/* Figures worth seeing (TIDE_TEST_VERBOSE=1), as the harness's log. */
static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	const char *v = getenv("TIDE_TEST_VERBOSE");
	if (!v || !*v || strcmp(v, "0") == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

static uint64_t ctr(tide_stack *st, enum tide_counter c)
{
	return tide_stack_counter(st, c);
}

static uint8_t pattern(int conn, uint64_t i)
{
	uint64_t z = ((uint64_t)conn << 40) ^ (i >> 3);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (uint8_t)(z >> ((i & 7) * 8));
}

static struct sockaddr_in sin_of(uint32_t addr, uint16_t port)
{
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(addr);
	return sin;
}

static int connect_from(struct fx *x, uint16_t port)
{
	int fd = tide_socket(x->C, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0 || fd >= MAXFD)
		fail_msg("socket: %d (%s)", fd, strerror(errno));
	struct sockaddr_in b = sin_of(CLIENT, port), d = sin_of(SERVER, SPORT);
	assert_int_equal(tide_bind(x->C, fd, (struct sockaddr *)&b, sizeof(b)), 0);
	errno = 0;
	assert_int_equal(tide_connect(x->C, fd, (struct sockaddr *)&d, sizeof(d)), -1);
	assert_int_equal(errno, EINPROGRESS);
	return fd;
}

static uint16_t peer_port(tide_stack *st, int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	assert_int_equal(tide_getpeername(st, fd, (struct sockaddr *)&sin, &len), 0);
	return ntohs(sin.sin_port);
}

static void watch(tide_stack *st, int ep, int fd)
{
	struct epoll_event e = { .events = EPOLLIN, .data.fd = fd };
	assert_int_equal(tide_epoll_ctl(st, ep, EPOLL_CTL_ADD, fd, &e), 0);
}

static struct tide_sock *listener(struct fx *x)
{
	return x->S->fds.a[x->lfd].obj;
}

/* Two stacks, the attacker node, and NCONN connections established (in
 * batches that fit the accept queue), all by 1 s. */
static void fx_init(struct fx *x, const char *server_settings)
{
	memset(x, 0, sizeof(*x));
	g_fx = x;
	x->sim = tide_sim_new(MS);
	assert_non_null(x->sim);
	tide_sim_set_tap(x->sim, tap, x);
	struct tide_config cfg;
	tide_config_init(&cfg);
	cfg.addr = CLIENT;
	cfg.secret = 0x666c6f6f64000001ull;
	cfg.on_state = on_state;
	cfg.state_ctx = (void *)0;
	x->c = tide_sim_add_stack(x->sim, "client", &cfg);
	tide_config_init(&cfg);
	cfg.addr = SERVER;
	cfg.secret = 0x666c6f6f64000002ull;
	cfg.on_state = on_state;
	cfg.state_ctx = (void *)1;
	if (server_settings) {
		char err[256];
		if (tide_settings_apply_text(&cfg.settings, server_settings, "server", err,
					     sizeof(err)) != 0)
			fail_msg("%s", err);
	}
	x->s = tide_sim_add_stack(x->sim, "server", &cfg);
	x->a = tide_sim_add_node(x->sim, "attacker", ATTACKER, &flooder_ops, &x->fl);
	assert_true(x->c == 0 && x->s == 1 && x->a == 2);
	x->C = tide_sim_stack(x->sim, x->c);
	x->S = tide_sim_stack(x->sim, x->s);
	x->fl.sim = x->sim;
	x->fl.node = x->a;

	x->lfd = tide_socket(x->S, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in l = sin_of(SERVER, SPORT);
	assert_int_equal(tide_bind(x->S, x->lfd, (struct sockaddr *)&l, sizeof(l)), 0);
	assert_int_equal(tide_listen(x->S, x->lfd, BACKLOG), 0);
	x->cep = tide_epoll_create(x->C);
	x->sep = tide_epoll_create(x->S);
	assert_true(x->cep >= 0 && x->sep >= 0);

	/* 50 at a time: even without cookies, a SYN queue takes 97 */
	for (int i = 0; i < NCONN; i += 50) {
		for (int k = i; k < i + 50; k++)
			x->p[k].cfd = connect_from(x, (uint16_t)(BASE_PORT + k));
		tide_sim_run_for(x->sim, TIDE_MS(5));
		for (int k = i; k < i + 50; k++) {
			int fd = tide_accept(x->S, x->lfd, NULL, NULL, SOCK_NONBLOCK);
			assert_true(fd >= 0 && fd < MAXFD);
			int j = peer_port(x->S, fd) - BASE_PORT;
			assert_true(j >= i && j < i + 50);
			x->p[j].sfd = fd;
		}
	}
	for (int i = 0; i < NCONN; i++) {
		assert_int_equal(tide_sock_state(x->C, x->p[i].cfd), TIDE_TCP_ESTABLISHED);
		x->by_cfd[x->p[i].cfd] = i + 1;
		x->by_sfd[x->p[i].sfd] = i + 1;
		watch(x->C, x->cep, x->p[i].cfd);
		watch(x->S, x->sep, x->p[i].sfd);
	}
	tide_sim_run_until(x->sim, TIDE_SEC(1));
	x->data_on = true;
}

/* The applications, at every whole millisecond: connection (ms % NCONN)
 * sends its request; the server echoes what it reads; the client reads the
 * echoes. Every byte is checked against what was written. */
static void fx_pump(struct fx *x)
{
	x->pending = false;
	tide_time now = tide_sim_now(x->sim);
	uint8_t buf[2048];
	if (x->data_on) {
		struct pipe *p = &x->p[(now / MS) % NCONN];
		for (int k = 0; k < REQ; k++)
			buf[k] = pattern((int)(p - x->p), p->sent + (uint64_t)k);
		assert_int_equal(tide_send(x->C, p->cfd, buf, REQ, 0), REQ);
		p->sent += REQ;
	}
	struct epoll_event evs[NCONN];
	int n = tide_epoll_wait(x->S, x->sep, evs, NCONN);
	for (int e = 0; e < n; e++) {
		int i = x->by_sfd[evs[e].data.fd] - 1;
		assert_true(i >= 0);
		struct pipe *p = &x->p[i];
		for (;;) {
			ssize_t k = tide_recv(x->S, p->sfd, buf, sizeof(buf), 0);
			if (k == 0) {
				p->eof = true;
				break;
			}
			if (k < 0) {
				assert_int_equal(errno, EAGAIN);
				break;
			}
			for (ssize_t j = 0; j < k; j++)
				if (buf[j] != pattern(i, p->srv_read + (uint64_t)j))
					fail_msg("connection %d: request byte %llu is wrong", i,
						 (unsigned long long)(p->srv_read + (uint64_t)j));
			p->srv_read += (uint64_t)k;
			assert_int_equal(tide_send(x->S, p->sfd, buf, (size_t)k, 0), k);
		}
	}
	n = tide_epoll_wait(x->C, x->cep, evs, NCONN);
	for (int e = 0; e < n; e++) {
		int i = x->by_cfd[evs[e].data.fd] - 1;
		assert_true(i >= 0);
		struct pipe *p = &x->p[i];
		for (;;) {
			ssize_t k = tide_recv(x->C, p->cfd, buf, sizeof(buf), 0);
			if (k <= 0) {
				assert_true(k < 0 && errno == EAGAIN);
				break;
			}
			for (ssize_t j = 0; j < k; j++)
				if (buf[j] != pattern(i, p->echo_read + (uint64_t)j))
					fail_msg("connection %d: echo byte %llu is wrong", i,
						 (unsigned long long)(p->echo_read + (uint64_t)j));
			p->echo_read += (uint64_t)k;
		}
	}
	sample_bounds(x);
}

static void sample_bounds(struct fx *x)
{
	uint32_t q = listener(x)->syn_len;
	if (q > x->max_syn_queue)
		x->max_syn_queue = q;
	struct tide_mem_stats m;
	tide_stack_mem(x->S, &m);
	if (m.objects[TIDE_MEM_REQ] > x->max_req_objects)
		x->max_req_objects = m.objects[TIDE_MEM_REQ];
}

static void fx_run_until(struct fx *x, tide_time t)
{
	while (tide_sim_now(x->sim) < t) {
		tide_time now = tide_sim_now(x->sim);
		if (now % MS == 0)
			fx_pump(x);
		tide_time next = (now / MS + 1) * MS;
		tide_sim_run_until(x->sim, next < t ? next : t);
	}
	x->pending = false;
}

/* The attacker sends `count` packets, one every `interval` µs from
 * `start` (plus 7 µs: never on a whole millisecond). */
static void fx_flood(struct fx *x, enum flood_kind kind, tide_time start, uint64_t count,
		     tide_time interval, bool model)
{
	free(x->fl.target);
	x->fl.kind = kind;
	x->fl.rng = 0x5eed0000u + (uint64_t)kind;
	x->fl.start = start + TIDE_US(7);
	x->fl.interval = interval;
	x->fl.count = count;
	x->fl.sent = 0;
	x->fl.target = model ? calloc(count, sizeof(*x->fl.target)) : NULL;
	assert_true(!model || x->fl.target);
	memset(&x->ans, 0, sizeof(x->ans));
}

/* Stops the requests, lets every echo come back, and checks that every
 * connection got back exactly what it sent. */
static void fx_drain(struct fx *x)
{
	x->data_on = false;
	fx_run_until(x, tide_sim_now(x->sim) + TIDE_SEC(2));
	for (int i = 0; i < NCONN; i++) {
		struct pipe *p = &x->p[i];
		if (p->sent == 0 || p->srv_read != p->sent || p->echo_read != p->sent)
			fail_msg("connection %d: sent %llu, server read %llu, echo read %llu", i,
				 (unsigned long long)p->sent, (unsigned long long)p->srv_read,
				 (unsigned long long)p->echo_read);
		assert_int_equal(tide_sock_state(x->C, p->cfd), TIDE_TCP_ESTABLISHED);
	}
}

static void count_state(void *ctx, const struct tide_conn_info *ci)
{
	uint64_t *n = ctx;
	n[ci->state]++;
}

/* Every client closes; every server reads the end of file and closes: a
 * normal close, no RST anywhere. */
static void fx_close(struct fx *x)
{
	for (int i = 0; i < NCONN; i++)
		assert_int_equal(tide_close(x->C, x->p[i].cfd), 0);
	fx_run_until(x, tide_sim_now(x->sim) + TIDE_MS(10));
	for (int i = 0; i < NCONN; i++) {
		assert_true(x->p[i].eof);
		assert_int_equal(tide_close(x->S, x->p[i].sfd), 0);
	}
	fx_run_until(x, tide_sim_now(x->sim) + TIDE_SEC(1));
	uint64_t cs[16] = { 0 }, ss[16] = { 0 };
	tide_stack_foreach_conn(x->C, count_state, cs);
	tide_stack_foreach_conn(x->S, count_state, ss);
	assert_int_equal(cs[TIDE_TCP_TIME_WAIT], NCONN + x->other_time_waits);
	assert_int_equal(ss[TIDE_TCP_ESTABLISHED] + ss[TIDE_TCP_CLOSE_WAIT] +
				 ss[TIDE_TCP_LAST_ACK],
			 0);
	assert_int_equal(ctr(x->C, TIDE_MIB_EstabResets), 0);
	assert_int_equal(ctr(x->S, TIDE_MIB_EstabResets), 0);
	assert_int_equal(ctr(x->C, TIDE_MIB_OutRsts), 0);
}

static void fx_free(struct fx *x)
{
	tide_sim_free(x->sim);
	free(x->fl.target);
	g_fx = NULL;
}

/* ---- SYN floods --------------------------------------------------------- */

#define SYN_FLOOD 1000000u
#define SYN_FLOOD_START TIDE_SEC(2)
#define SYN_FLOOD_INTERVAL TIDE_US(10) /* 100,000 a second for 10 s */
#define SYN_FLOOD_END (SYN_FLOOD_START + SYN_FLOOD * SYN_FLOOD_INTERVAL)

/* The new clients: one at each second from 3 s, during the flood. */
static void legit_connect(struct fx *x, int *fds, int j)
{
	fds[j] = connect_from(x, (uint16_t)(LEGIT_PORT + j));
}

/* A new client's connection, once accepted: 1000 bytes each way. */
static void legit_transfer(struct fx *x, int cfd, int sfd, int j)
{
	uint8_t out[1000], in[1000];
	for (int k = 0; k < 1000; k++)
		out[k] = pattern(5000 + j, (uint64_t)k);
	assert_int_equal(tide_send(x->C, cfd, out, sizeof(out), 0), (ssize_t)sizeof(out));
	assert_int_equal(tide_send(x->S, sfd, out, sizeof(out), 0), (ssize_t)sizeof(out));
	fx_run_until(x, tide_sim_now(x->sim) + TIDE_MS(5));
	ssize_t got = tide_recv(x->S, sfd, in, sizeof(in), 0);
	if (got != (ssize_t)sizeof(in))
		fail_msg("new client %d: the server read %zd (%s), state %s / %s", j, got,
			 strerror(errno), tide_state_name(tide_sock_state(x->S, sfd)),
			 tide_state_name(tide_sock_state(x->C, cfd)));
	assert_memory_equal(in, out, sizeof(in));
	assert_int_equal(tide_recv(x->C, cfd, in, sizeof(in), 0), (ssize_t)sizeof(in));
	assert_memory_equal(in, out, sizeof(in));
	assert_int_equal(tide_close(x->C, cfd), 0);
	assert_int_equal(tide_close(x->S, sfd), 0);
}

/* LC-H08: 1,000,000 SYNs from random addresses of 198.19.0.0/16, 100,000
 * a second for 10 s, with tcp_syncookies = 1 (the default). The SYN queue
 * fills to backlog + 1 = 129 and stays there (requests expire, new ones
 * take their place); every other SYN is answered by a cookie SYN-ACK that
 * keeps nothing, so the memory of requests never grows past the queue.
 * The 1,000 established connections lose nothing; five new clients that
 * connect during the flood are ESTABLISHED 2 ms after connect() (their
 * SYN-ACK is a cookie: SyncookiesRecv) and transfer data. Every SYN is
 * accounted for: a request or a cookie, each answered at once. */
static void test_LC_H08_syn_flood_with_cookies_established_lose_nothing(void **state)
{
	(void)state;
	struct fx *x = calloc(1, sizeof(*x));
	assert_non_null(x);
	fx_init(x, NULL);
	fx_flood(x, FLOOD_SYN, SYN_FLOOD_START, SYN_FLOOD, SYN_FLOOD_INTERVAL, false);
	int legit[NLEGIT];
	struct tide_mem_stats m0, m1;
	for (int j = 0; j < NLEGIT; j++) {
		fx_run_until(x, TIDE_SEC(3 + j));
		legit_connect(x, legit, j);
		if (j == 0)
			tide_stack_mem(x->S, &m0); /* 100,000 SYNs in */
		fx_run_until(x, TIDE_SEC(3 + j) + TIDE_MS(3));
		assert_int_equal(x->legit_established[j], TIDE_SEC(3 + j) + TIDE_MS(2));
		int sfd = tide_accept(x->S, x->lfd, NULL, NULL, 0);
		assert_true(sfd >= 0);
		assert_int_equal(peer_port(x->S, sfd), LEGIT_PORT + j);
		legit_transfer(x, legit[j], sfd, j);
	}
	fx_run_until(x, SYN_FLOOD_END);
	tide_stack_mem(x->S, &m1);
	fx_run_until(x, SYN_FLOOD_END + TIDE_MS(10));
	assert_int_equal(x->fl.sent, SYN_FLOOD);

	/* bounds: the SYN queue, and requests in memory, never above the
	 * backlog + 1; nothing grew from 100,000 SYNs to 1,000,000 but what
	 * the five new clients left (TIME_WAIT records, and the ehash) */
	assert_int_equal(x->max_syn_queue, BACKLOG + 1);
	assert_int_equal(x->max_req_objects, BACKLOG + 1);
	assert_true(m1.bytes[TIDE_MEM_REQ] <= m0.bytes[TIDE_MEM_REQ]);
	assert_true(m1.total_bytes <= m0.total_bytes + 64 * 1024);
	note("server memory: %llu bytes after 100,000 SYNs, %llu after 1,000,000 "
		"(requests %llu, %llu bytes)\n",
		(unsigned long long)m0.total_bytes, (unsigned long long)m1.total_bytes,
		(unsigned long long)m1.objects[TIDE_MEM_REQ],
		(unsigned long long)m1.bytes[TIDE_MEM_REQ]);

	/* every SYN accounted for */
	uint64_t cookies = ctr(x->S, TIDE_MIB_SyncookiesSent);
	assert_int_equal(x->flood_requests + cookies, SYN_FLOOD + NLEGIT);
	assert_int_equal(ctr(x->S, TIDE_MIB_TCPReqQFullDoCookies), cookies);
	assert_int_equal(ctr(x->S, TIDE_MIB_SyncookiesRecv), NLEGIT);
	assert_int_equal(ctr(x->S, TIDE_MIB_SyncookiesFailed), 0);
	assert_int_equal(ctr(x->S, TIDE_MIB_ListenDrops), 0);
	assert_int_equal(x->ans.synack_to_net, SYN_FLOOD);
	assert_int_equal(x->ans.other + x->ans.rst_to_net + x->ans.ack_to_client, 0);
	note("SYN flood with cookies: %llu requests queued, %llu cookies\n",
		(unsigned long long)x->flood_requests, (unsigned long long)cookies);

	fx_run_until(x, SYN_FLOOD_END + TIDE_SEC(1));
	fx_drain(x);
	x->other_time_waits = NLEGIT;
	fx_close(x);
	fx_free(x);
	free(x);
}

/* LC-K12: the same flood with tcp_syncookies = 0. The SYN queue stops
 * where tcp_max_syn_backlog (128) keeps its last quarter for peers Linux's
 * TCP metrics prove alive (tide keeps none): 97 requests; every other SYN
 * is dropped unanswered (ListenDrops; the queue never reaches backlog + 1,
 * so no TCPReqQFullDrop). The established connections still lose nothing.
 * Five new clients connect at 3, 4, 5, 6 and 7 s, during the flood; their
 * SYNs are dropped as long as the queue holds 97. Requests are answered by
 * nobody; with the queue more than half of the backlog, those that saw a
 * timeout get only 2 retries (Linux's reqsk_timer_handler), so the first
 * ones expire 4 s after the flood (at 16.x s, 97 -> 84 -> 63 requests),
 * and the rest, below half, keep their 5 retries. From then on each
 * client connects with its next SYN: at 17 s and 18 s for those of 6 and
 * 7 s (SYNs each second for 5 s, then 2, 4, 8 s apart), at 22, 23 and
 * 24 s for the others; a client connecting at 30 s gets in at once. */
static void test_LC_K12_syn_flood_without_cookies_is_bounded_and_recovers(void **state)
{
	(void)state;
	struct fx *x = calloc(1, sizeof(*x));
	assert_non_null(x);
	fx_init(x, "net.ipv4.tcp_syncookies = 0\n");
	fx_flood(x, FLOOD_SYN, SYN_FLOOD_START, SYN_FLOOD, SYN_FLOOD_INTERVAL, false);
	int legit[NLEGIT + 1];
	for (int j = 0; j < NLEGIT; j++) {
		fx_run_until(x, TIDE_SEC(3 + j));
		legit_connect(x, legit, j);
	}
	fx_run_until(x, SYN_FLOOD_END + TIDE_MS(10));
	assert_int_equal(x->fl.sent, SYN_FLOOD);
	for (int j = 0; j < NLEGIT; j++)
		assert_int_equal(tide_sock_state(x->C, legit[j]), TIDE_TCP_SYN_SENT);
	assert_int_equal(x->max_syn_queue, 97);
	assert_int_equal(x->max_req_objects, 97);
	assert_int_equal(ctr(x->S, TIDE_MIB_SyncookiesSent), 0);
	assert_int_equal(ctr(x->S, TIDE_MIB_TCPReqQFullDrop), 0);
	assert_int_equal(ctr(x->S, TIDE_MIB_TCPReqQFullDoCookies), 0);
	assert_int_equal(x->ans.synack_to_net, x->flood_requests);
	assert_int_equal(x->ans.other + x->ans.rst_to_net + x->ans.ack_to_client, 0);
	note("SYN flood without cookies: %llu requests queued, %llu SYNs dropped\n",
		(unsigned long long)x->flood_requests,
		(unsigned long long)ctr(x->S, TIDE_MIB_ListenDrops));
	fx_drain(x);

	tide_sim_run_until(x->sim, TIDE_SEC(30));
	static const tide_time connected[NLEGIT] = { TIDE_SEC(22), TIDE_SEC(23), TIDE_SEC(24),
						     TIDE_SEC(17), TIDE_SEC(18) };
	for (int j = 0; j < NLEGIT; j++)
		assert_int_equal(x->legit_established[j], connected[j] + TIDE_MS(2));
	/* every SYN dropped or queued: the flood's, and the 38 the new clients
	 * sent before the one that got in (8, 8, 8, 7, 7: RetransSegs) */
	assert_int_equal(ctr(x->C, TIDE_MIB_RetransSegs), 38);
	assert_int_equal(ctr(x->S, TIDE_MIB_ListenDrops),
			 SYN_FLOOD - x->flood_requests + ctr(x->C, TIDE_MIB_RetransSegs));
	assert_int_equal(listener(x)->syn_len, 63);
	legit[NLEGIT] = connect_from(x, LEGIT_PORT + NLEGIT);
	tide_sim_run_until(x->sim, TIDE_SEC(30) + TIDE_MS(3));
	assert_int_equal(tide_sock_state(x->C, legit[NLEGIT]), TIDE_TCP_ESTABLISHED);
	for (int j = 0; j <= NLEGIT; j++) {
		int sfd = tide_accept(x->S, x->lfd, NULL, NULL, 0);
		assert_true(sfd >= 0);
		int k = peer_port(x->S, sfd) - LEGIT_PORT;
		assert_true(k >= 0 && k <= NLEGIT);
		legit_transfer(x, legit[k], sfd, k);
	}
	/* the flood's last requests end with their 5th retry */
	tide_sim_run_until(x->sim, TIDE_SEC(90));
	assert_int_equal(listener(x)->syn_len, 0);
	struct tide_mem_stats m;
	tide_stack_mem(x->S, &m);
	assert_int_equal(m.objects[TIDE_MEM_REQ], 0);
	x->other_time_waits = 0; /* the new clients' records ended at 90 s */
	fx_close(x);
	fx_free(x);
	free(x);
}

/* ---- ACK, RST and FIN floods --------------------------------------------- */

#define FLOOD 100000u
#define FLOOD_START TIDE_SEC(2)
#define FLOOD_INTERVAL TIDE_US(20) /* 50,000 a second for 2 s */
#define FLOOD_END (FLOOD_START + FLOOD * FLOOD_INTERVAL)

/* The counters a flood moves, before and after. */
struct mibs {
	uint64_t v[TIDE_MIB_MAX];
};

static void mibs_take(tide_stack *st, struct mibs *m)
{
	for (int i = 0; i < TIDE_MIB_MAX; i++)
		m->v[i] = tide_stack_counter(st, (enum tide_counter)i);
}

static uint64_t delta(tide_stack *st, const struct mibs *m, enum tide_counter c)
{
	return tide_stack_counter(st, c) - m->v[c];
}

/* Runs a flood of `kind` from 2 s to 4 s while the connections exchange
 * data, and 10 ms more for the last packets to land. */
static void run_flood(struct fx *x, enum flood_kind kind, bool model, struct mibs *before)
{
	fx_flood(x, kind, FLOOD_START, FLOOD, FLOOD_INTERVAL, model);
	fx_run_until(x, FLOOD_START);
	mibs_take(x->S, before);
	fx_run_until(x, FLOOD_END + TIDE_MS(10));
	assert_int_equal(x->fl.sent, FLOOD);
}

/* The established connections lost nothing, and close normally. */
static void survive(struct fx *x)
{
	fx_run_until(x, FLOOD_END + TIDE_SEC(1));
	fx_drain(x);
	fx_close(x);
}

/* ACKs from random addresses to the listener's port: no request, no
 * recent SYN cookie, so each is answered with <SEQ=SEG.ACK><CTL=RST>, as
 * Linux answers them (no rate limit: a RST costs what the ACK did). */
static void test_RFC9293_ack_flood_to_listener_gets_rsts(void **state)
{
	(void)state;
	struct fx *x = calloc(1, sizeof(*x));
	assert_non_null(x);
	fx_init(x, NULL);
	struct mibs b;
	run_flood(x, FLOOD_ACK_LISTENER, false, &b);
	assert_int_equal(x->ans.rst_to_net, FLOOD);
	assert_int_equal(x->ans.ack_to_client + x->ans.rst_to_client + x->ans.synack_to_net +
				 x->ans.other,
			 0);
	assert_int_equal(delta(x->S, &b, TIDE_MIB_DropTcpNoSocket), FLOOD);
	assert_int_equal(delta(x->S, &b, TIDE_MIB_OutRsts), FLOOD);
	assert_int_equal(delta(x->S, &b, TIDE_MIB_SyncookiesFailed), 0);
	survive(x);
	fx_free(x);
	free(x);
}

/* ACKs with random sequence and acknowledgment numbers, forged from the
 * client's address and the ports of the established connections. Out of
 * the window (all but a few), each gets a duplicate ACK; in it, the
 * random ACK is unacceptable and gets a challenge ACK; both on the one
 * per-connection clock of tcp_invalid_ratelimit. The test replays that
 * clock (500 ms per connection, from the arrival times) and expects
 * exactly that many answers; every other ACK is counted as skipped
 * (TCPACKSkippedSeq, TCPACKSkippedChallenge) and every one as dropped. */
static void test_RFC5961_ack_flood_answers_rate_limited_per_connection(void **state)
{
	(void)state;
	struct fx *x = calloc(1, sizeof(*x));
	assert_non_null(x);
	fx_init(x, NULL);
	struct mibs b;
	run_flood(x, FLOOD_ACK, true, &b);
	static tide_time last[NCONN];
	memset(last, 0, sizeof(last));
	uint64_t expect = 0;
	for (uint64_t k = 0; k < FLOOD; k++) {
		tide_time at = x->fl.start + k * FLOOD_INTERVAL + MS;
		uint16_t i = x->fl.target[k];
		if (!last[i] || at - last[i] >= TIDE_MS(500)) {
			last[i] = at;
			expect++;
		}
	}
	note("ACK flood: %u ACKs, %llu answered, %llu in the window\n", FLOOD,
		(unsigned long long)expect,
		(unsigned long long)delta(x->S, &b, TIDE_MIB_DropTcpAck));
	assert_int_equal(x->ans.ack_to_client, expect);
	assert_int_equal(x->ans.rst_to_client + x->ans.other, 0);
	assert_int_equal(delta(x->S, &b, TIDE_MIB_TCPACKSkippedSeq) +
				 delta(x->S, &b, TIDE_MIB_TCPACKSkippedChallenge),
			 FLOOD - expect);
	assert_int_equal(delta(x->S, &b, TIDE_MIB_DropTcpSequence) +
				 delta(x->S, &b, TIDE_MIB_DropTcpAck),
			 FLOOD);
	survive(x);
	fx_free(x);
	free(x);
}

/* RSTs with random sequence numbers on the established connections: out
 * of the window, dropped without a word; in it (a handful, by chance), a
 * challenge ACK, rate-limited; none lands on RCV.NXT, nothing is reset. */
static void test_RFC5961_rst_flood_resets_nothing(void **state)
{
	(void)state;
	struct fx *x = calloc(1, sizeof(*x));
	assert_non_null(x);
	fx_init(x, NULL);
	struct mibs b;
	run_flood(x, FLOOD_RST, false, &b);
	uint64_t in_window = delta(x->S, &b, TIDE_MIB_DropTcpRst);
	note("RST flood: %u RSTs, %llu in the window\n", FLOOD,
		(unsigned long long)in_window);
	assert_int_equal(delta(x->S, &b, TIDE_MIB_DropTcpSequence) + in_window, FLOOD);
	assert_int_equal(delta(x->S, &b, TIDE_MIB_TCPChallengeACK) +
				 delta(x->S, &b, TIDE_MIB_TCPACKSkippedChallenge),
			 in_window);
	assert_int_equal(x->ans.ack_to_client, delta(x->S, &b, TIDE_MIB_TCPChallengeACK));
	assert_int_equal(x->ans.rst_to_client + x->ans.other, 0);
	assert_int_equal(delta(x->S, &b, TIDE_MIB_EstabResets), 0);
	survive(x);
	fx_free(x);
	free(x);
}

/* FIN+ACKs with random numbers on the established connections. A FIN
 * occupies sequence space, so, as for data, Linux answers every
 * out-of-window one with a duplicate ACK, without rate limit (measured on
 * 6.18: ten FINs, ten ACKs): the flood is reflected one for one, and
 * TCPACKSkippedSeq stays 0. The few in the window carry an unacceptable
 * ACK and get (rate-limited) challenge ACKs; no connection is closed. */
static void test_RFC5961_fin_flood_answered_like_data(void **state)
{
	(void)state;
	struct fx *x = calloc(1, sizeof(*x));
	assert_non_null(x);
	fx_init(x, NULL);
	struct mibs b;
	run_flood(x, FLOOD_FIN, false, &b);
	uint64_t oow = delta(x->S, &b, TIDE_MIB_DropTcpSequence);
	note("FIN flood: %u FINs, %llu outside the window\n", FLOOD,
		(unsigned long long)oow);
	assert_int_equal(oow + delta(x->S, &b, TIDE_MIB_DropTcpAck), FLOOD);
	assert_int_equal(delta(x->S, &b, TIDE_MIB_TCPACKSkippedSeq), 0);
	assert_int_equal(x->ans.ack_to_client, oow + delta(x->S, &b, TIDE_MIB_TCPChallengeACK));
	assert_int_equal(x->ans.rst_to_client + x->ans.other, 0);
	survive(x);
	fx_free(x);
	free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_LC_H08_syn_flood_with_cookies_established_lose_nothing),
		cmocka_unit_test(test_LC_K12_syn_flood_without_cookies_is_bounded_and_recovers),
		cmocka_unit_test(test_RFC9293_ack_flood_to_listener_gets_rsts),
		cmocka_unit_test(test_RFC5961_ack_flood_answers_rate_limited_per_connection),
		cmocka_unit_test(test_RFC5961_rst_flood_resets_nothing),
		cmocka_unit_test(test_RFC5961_fin_flood_answered_like_data),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
