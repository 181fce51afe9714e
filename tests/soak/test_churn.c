/*
 * Churn soak (issue 7): 100,000 connections between tide stacks on the
 * simulated network, a few hundred at a time, under random loss,
 * duplication and reordering in both directions. Each one connects, sends
 * a random amount of data each way, reads all of it, and closes in one of
 * seven ways. The test fails unless
 *   - every byte sent arrives once and in order (length and a hash of each
 *     direction's stream, compared with the sender's);
 *   - every connection of every stack reaches CLOSED: the on_state
 *     callbacks are replayed against a map of live connections (each change
 *     must start from the state last reported), and once virtual time has
 *     run past TIME_WAIT and every timer, no connection, request or
 *     TIME_WAIT record is left, in the map or in tide_stack_foreach_conn;
 *   - no connect() fails, no close() sends a RST for unread data, and the
 *     SO_LINGER {1, 0} aborts behave as Linux's: the aborting end goes
 *     straight to CLOSED (TCPAbortOnData), the other end reads ECONNRESET;
 *     when that RST is lost (it is never resent), the other end closes
 *     after SOAK_ABORT_WAIT and the aborting stack resets it;
 *   - tide_stack_check holds every SOAK_CHECK_EVERY connections and at the
 *     end, when the stacks' memory accounting shows nothing but the stacks
 *     and their tables; nothing leaks (ASan's leak check in make test).
 *
 * Drive: non-blocking sockets, an edge-triggered epoll instance per stack,
 * polled after every event of the simulated network (only the stack the
 * event touched); application timers (the abort waits) in a heap of their
 * own, run when they come before the network's next event.
 *
 * Deterministic: the seed is printed; TIDE_SOAK_SEED=N replays another,
 * TIDE_SOAK_CONNS=N runs another number of connections (for a quick look;
 * make test runs 100,000), TIDE_SOAK_TRACE=PORT prints every packet and
 * state change of the connections that use that port.
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

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SOAK_DEFAULT_SEED 20250707u
#define SOAK_DEFAULT_CONNS 100000u
#define SOAK_CONCURRENCY 300u
#define SOAK_CLIENTS 4
#define SOAK_PORTS 4              /* server listens on 80..83 */
#define SOAK_SERVER_ADDR 0xc6120064u  /* 198.18.0.100 */
#define SOAK_CLIENT_ADDR(i) (0xc6120001u + (uint32_t)(i)) /* 198.18.0.1.. */
#define SOAK_BACKLOG 4096
/* An end whose peer aborted waits this long for the RST before closing on
 * its own (the RST is never retransmitted, so it may be lost). */
#define SOAK_ABORT_WAIT TIDE_SEC(3)
/* No connection lives this long in virtual time with these loss rates:
 * beyond it the run is stuck. */
#define SOAK_VIRTUAL_LIMIT TIDE_SEC(4 * 3600)
#define SOAK_CHUNK 16384
/* tide_stack_check on every stack each time this many connections end. */
#define SOAK_CHECK_EVERY 5000u

enum side { CLIENT, SERVER };

/* How a connection ends. */
enum close_mode {
	CLIENT_FIRST,   /* client closes when done; server on EOF */
	SERVER_FIRST,
	BOTH_AT_ONCE,   /* both close at the same instant once both are done */
	CLIENT_SHUT_WR, /* client sends, shutdown(SHUT_WR); server answers after EOF */
	SERVER_SHUT_WR,
	CLIENT_ABORT,   /* once both are done: client SO_LINGER {1, 0} close */
	SERVER_ABORT,
	NMODES,
};

static const char *const mode_names[NMODES] = {
	"client-first", "server-first", "both-at-once", "client-shut-wr",
	"server-shut-wr", "client-abort", "server-abort",
};

/* A hash of a byte stream that does not depend on how the stream was cut
 * into reads or writes: bytes gather into 64-bit words, each word goes
 * through a bijective mix with the state. Word at a time, because the
 * soak moves a gigabyte under ASan. */
struct hasher {
	uint64_t h;
	uint64_t word;
	unsigned nbytes;          /* in word */
};

/* One direction's byte stream. */
struct stream {
	uint32_t len;             /* bytes to send */
	uint32_t sent, rcvd;
	uint64_t seed;            /* content */
	struct hasher hash_sent, hash_rcvd;
};

/* One application end. */
struct end {
	int fd;                   /* -1 before accept and after close */
	bool open;                /* a descriptor was had (accepted / connect()ed) */
	bool connected, closed, shut_wr, eof, reset;
	bool rst_lost;            /* the peer aborted and no RST came: closed anyway */
};

struct conn {
	uint32_t id;
	uint8_t mode;
	uint8_t client;           /* client stack index */
	uint16_t sport, cport;
	struct stream up, down;   /* up: client to server */
	struct end e[2];          /* CLIENT, SERVER */
	bool aborted;             /* the aborting end closed */
	bool done;
	tide_time started, finished;
};

/* Open addressing, linear probing, keys never UINT64_MAX. */
struct map {
	uint64_t *keys;
	uint32_t *vals;
	size_t cap, n;
};

#define MAP_EMPTY UINT64_MAX

/* One stack and the test's view of it. */
struct host {
	struct soak *k;
	int node;
	int index;                /* 0..SOAK_CLIENTS-1 clients, SOAK_CLIENTS server */
	tide_stack *st;
	int epfd;
	uint32_t *byfd;           /* fd -> conn id + 1 (0: none) */
	size_t nbyfd;
	int lfd[SOAK_PORTS];      /* server only */
	struct map live;          /* 4-tuple -> state last reported */
	uint64_t opened, closed;  /* lives begun and ended (listeners included) */
	uint64_t visits[12];      /* state changes into each state */
	uint64_t requests_failed; /* SYN_RECV -> CLOSE: requests that never became connections */
	bool dirty;               /* may have readiness to handle */
};

struct timer {
	tide_time t;
	uint64_t seq;
	uint32_t conn;
};

struct soak {
	uint64_t seed;
	uint32_t nconns;
	tide_sim *sim;
	struct host host[SOAK_CLIENTS + 1];
	struct conn *conns;
	uint32_t started, finished;
	uint32_t in_flight;
	struct map pending;       /* (client addr, port, server port) -> conn awaiting accept */
	uint64_t rng;             /* the test's own draws (plans) */
	unsigned trace_port;      /* TIDE_SOAK_TRACE */

	struct timer *timers;     /* abort waits, a binary heap */
	size_t ntimers, timers_cap;
	uint64_t timer_seq;

	/* what happened */
	uint64_t mode_count[NMODES];
	uint64_t bytes_up, bytes_down;
	uint64_t resets_seen, rsts_lost;
	uint64_t state_errors;
	char first_state_error[256];
	bool verbose;             /* TIDE_TEST_VERBOSE: progress lines */
	bool check_due;
	bool delivered;           /* the last step delivered a packet */
	double wall_start;
	uint8_t buf[SOAK_CHUNK];
};

/* ---- small tools ---------------------------------------------------- */

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rnd(struct soak *k)
{
	return mix64(k->rng += 0x9e3779b97f4a7c15ull);
}

static uint32_t rnd_below(struct soak *k, uint32_t n)
{
	return (uint32_t)(rnd(k) % n);
}

/* The stream's bytes at offset off: a function of (seed, offset), so a
 * sender refills after a short write without keeping what it made. */
static void fill(uint8_t *buf, uint64_t seed, uint64_t off, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint64_t w = mix64(seed + ((off + i) >> 3));
		unsigned b = (unsigned)((off + i) & 7);
		if (b == 0 && n - i >= 8) {
			memcpy(buf + i, &w, 8);
			i += 8;
			continue;
		}
		for (; b < 8 && i < n; b++, i++)
			buf[i] = (uint8_t)(w >> (8 * b));
	}
}

static void hash_init(struct hasher *x, uint64_t seed)
{
	x->h = seed;
	x->word = 0;
	x->nbytes = 0;
}

static void hash_bytes(struct hasher *x, const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		if (x->nbytes == 0 && n - i >= 8) {
			uint64_t w;
			memcpy(&w, p + i, 8);
			x->h = mix64(x->h ^ w);
			i += 8;
			continue;
		}
		x->word |= (uint64_t)p[i++] << (8 * x->nbytes);
		if (++x->nbytes == 8) {
			x->h = mix64(x->h ^ x->word);
			x->word = 0;
			x->nbytes = 0;
		}
	}
}

/* The tail word carries its length, so "ab" and "ab\0" differ. */
static uint64_t hash_final(const struct hasher *x)
{
	return mix64(x->h ^ x->word ^ ((uint64_t)x->nbytes << 59)) ^ x->nbytes;
}

static void map_init(struct map *m, size_t cap)
{
	m->cap = cap;
	m->n = 0;
	m->keys = malloc(cap * sizeof(*m->keys));
	m->vals = malloc(cap * sizeof(*m->vals));
	assert_non_null(m->keys);
	assert_non_null(m->vals);
	for (size_t i = 0; i < cap; i++)
		m->keys[i] = MAP_EMPTY;
}

static void map_free(struct map *m)
{
	free(m->keys);
	free(m->vals);
	m->keys = NULL;
	m->vals = NULL;
}

static size_t map_slot(const struct map *m, uint64_t key)
{
	size_t i = (size_t)mix64(key) & (m->cap - 1);
	while (m->keys[i] != MAP_EMPTY && m->keys[i] != key)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static uint32_t *map_get(struct map *m, uint64_t key)
{
	size_t i = map_slot(m, key);
	return m->keys[i] == key ? &m->vals[i] : NULL;
}

static void map_put(struct map *m, uint64_t key, uint32_t val);

static void map_grow(struct map *m)
{
	struct map old = *m;
	map_init(m, old.cap * 2);
	for (size_t i = 0; i < old.cap; i++)
		if (old.keys[i] != MAP_EMPTY)
			map_put(m, old.keys[i], old.vals[i]);
	map_free(&old);
}

static void map_put(struct map *m, uint64_t key, uint32_t val)
{
	if (2 * (m->n + 1) > m->cap)
		map_grow(m);
	size_t i = map_slot(m, key);
	if (m->keys[i] == MAP_EMPTY) {
		m->keys[i] = key;
		m->n++;
	}
	m->vals[i] = val;
}

/* Backward-shift deletion: no tombstones to pile up over 100,000 lives. */
static bool map_del(struct map *m, uint64_t key)
{
	size_t i = map_slot(m, key);
	if (m->keys[i] != key)
		return false;
	size_t mask = m->cap - 1;
	size_t j = i;
	for (;;) {
		j = (j + 1) & mask;
		if (m->keys[j] == MAP_EMPTY)
			break;
		size_t home = (size_t)mix64(m->keys[j]) & mask;
		/* j's entry may fill hole i unless its home lies in (i, j] */
		if ((j > i && (home <= i || home > j)) || (j < i && (home <= i && home > j))) {
			m->keys[i] = m->keys[j];
			m->vals[i] = m->vals[j];
			i = j;
		}
	}
	m->keys[i] = MAP_EMPTY;
	m->n--;
	return true;
}

static uint64_t tuple_key(const struct tide_conn_id *id)
{
	return (uint64_t)id->raddr << 32 | (uint64_t)id->lport << 16 | id->rport;
}

static uint64_t pending_key(uint32_t caddr, uint16_t cport, uint16_t sport)
{
	return (uint64_t)caddr << 32 | (uint64_t)cport << 16 | sport;
}

static void addr_of(struct sockaddr_in *sa, uint32_t addr, uint16_t port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons(port);
	sa->sin_addr.s_addr = htonl(addr);
}

/* ---- failures ------------------------------------------------------- */

static void describe(struct soak *k, const struct conn *c)
{
	fprintf(stderr,
		"  conn %u (%s) client %d port %u -> server port %u, started %.3f s\n"
		"    up   %u bytes: sent %u rcvd %u; down %u bytes: sent %u rcvd %u\n"
		"    client fd %d conn %d closed %d shut %d eof %d reset %d state %s\n"
		"    server fd %d open %d closed %d shut %d eof %d reset %d state %s\n",
		c->id, mode_names[c->mode], c->client, c->cport, c->sport,
		(double)c->started / 1e6, c->up.len, c->up.sent, c->up.rcvd, c->down.len,
		c->down.sent, c->down.rcvd, c->e[CLIENT].fd, c->e[CLIENT].connected,
		c->e[CLIENT].closed, c->e[CLIENT].shut_wr, c->e[CLIENT].eof, c->e[CLIENT].reset,
		c->e[CLIENT].fd >= 0 ? tide_state_name(tide_sock_state(k->host[c->client].st,
									c->e[CLIENT].fd)) : "-",
		c->e[SERVER].fd, c->e[SERVER].open, c->e[SERVER].closed, c->e[SERVER].shut_wr,
		c->e[SERVER].eof, c->e[SERVER].reset,
		c->e[SERVER].fd >= 0 ? tide_state_name(tide_sock_state(k->host[SOAK_CLIENTS].st,
									c->e[SERVER].fd)) : "-");
}

static void soak_fail(struct soak *k, const struct conn *c, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void soak_fail(struct soak *k, const struct conn *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "soak: seed %" PRIu64 " (replay: TIDE_SOAK_SEED=%" PRIu64
		"), virtual time %.6f s: %s\n", k->seed, k->seed,
		(double)tide_sim_now(k->sim) / 1e6, msg);
	if (c)
		describe(k, c);
	fail_msg("%s", msg);
}

/* ---- state changes -------------------------------------------------- */

/* Every change must start from the state last reported for its 4-tuple;
 * a life begins from CLOSE (active open, listener) or LISTEN (a request
 * or a connection born from a cookie) and ends in CLOSE. Errors are kept
 * for the driver to report: failing inside the stack's callback would
 * leave it half way through a change. */
static void on_state(void *ctx, const struct tide_conn_id *id, int old_state, int new_state,
		     tide_time now)
{
	struct host *h = ctx;
	struct soak *k = h->k;
	uint64_t key = tuple_key(id);
	uint32_t *cur = map_get(&h->live, key);
	if (k->trace_port && (id->lport == k->trace_port || id->rport == k->trace_port))
		printf("%12.6f host %d :%u -> :%u %s -> %s\n", (double)now / 1e6, h->index,
		       id->lport, id->rport, tide_state_name(old_state), tide_state_name(new_state));
	bool begins = !cur && (old_state == TIDE_TCP_CLOSE ||
			       (old_state == TIDE_TCP_LISTEN && id->raddr != 0));
	if ((!cur && !begins) || (cur && (int)*cur != old_state)) {
		if (!k->state_errors++)
			snprintf(k->first_state_error, sizeof(k->first_state_error),
				 "host %d: %u.%u.%u.%u:%u -> :%u: change %s -> %s, "
				 "but the last state reported was %s", h->index,
				 id->raddr >> 24, (id->raddr >> 16) & 255, (id->raddr >> 8) & 255,
				 id->raddr & 255, id->rport, id->lport, tide_state_name(old_state),
				 tide_state_name(new_state), cur ? tide_state_name((int)*cur) : "none");
		return;
	}
	if (new_state >= 0 && new_state < 12)
		h->visits[new_state]++;
	if (old_state == TIDE_TCP_SYN_RECV && new_state == TIDE_TCP_CLOSE)
		h->requests_failed++;
	if (begins)
		h->opened++;
	if (new_state == TIDE_TCP_CLOSE) {
		h->closed++;
		map_del(&h->live, key);
	} else {
		map_put(&h->live, key, (uint32_t)new_state);
	}
}

/* ---- application timers --------------------------------------------- */

static bool timer_before(const struct timer *a, const struct timer *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void timer_add(struct soak *k, tide_time t, uint32_t conn)
{
	if (k->ntimers == k->timers_cap) {
		k->timers_cap = k->timers_cap ? 2 * k->timers_cap : 256;
		k->timers = realloc(k->timers, k->timers_cap * sizeof(*k->timers));
		assert_non_null(k->timers);
	}
	struct timer x = { t, k->timer_seq++, conn };
	size_t i = k->ntimers++;
	while (i > 0 && timer_before(&x, &k->timers[(i - 1) / 2])) {
		k->timers[i] = k->timers[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	k->timers[i] = x;
}

static struct timer timer_pop(struct soak *k)
{
	struct timer top = k->timers[0];
	struct timer last = k->timers[--k->ntimers];
	size_t i = 0, n = k->ntimers;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && timer_before(&k->timers[c + 1], &k->timers[c]))
			c++;
		if (!timer_before(&k->timers[c], &last))
			break;
		k->timers[i] = k->timers[c];
		i = c;
	}
	if (n > 0)
		k->timers[i] = last;
	return top;
}

/* ---- the application ------------------------------------------------ */

static struct host *host_of(struct soak *k, const struct conn *c, enum side s)
{
	return s == CLIENT ? &k->host[c->client] : &k->host[SOAK_CLIENTS];
}

/* Socket calls outside the host's own event run at the sim's time; and
 * whatever the application does on a host, the host is polled again. */
static void sync_clock(struct soak *k, struct host *h)
{
	tide_stack_advance(h->st, tide_sim_now(k->sim));
	h->dirty = true;
}

static void bind_fd(struct host *h, int fd, uint32_t conn_id)
{
	if ((size_t)fd >= h->nbyfd) {
		size_t n = h->nbyfd ? h->nbyfd : 64;
		while (n <= (size_t)fd)
			n *= 2;
		h->byfd = realloc(h->byfd, n * sizeof(*h->byfd));
		assert_non_null(h->byfd);
		memset(h->byfd + h->nbyfd, 0, (n - h->nbyfd) * sizeof(*h->byfd));
		h->nbyfd = n;
	}
	h->byfd[fd] = conn_id + 1;
}

static void watch(struct host *h, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };
	assert_int_equal(tide_epoll_ctl(h->st, h->epfd, EPOLL_CTL_ADD, fd, &ev), 0);
}

/* Stream sizes: none, under one segment, a few segments, and more than
 * the default send buffer (16 KB), so that senders meet EAGAIN. About
 * 3.7 KB on average: the soak is about lifecycles, and bytes cost time. */
static uint32_t plan_len(struct soak *k)
{
	uint32_t r = rnd_below(k, 100);
	if (r < 25)
		return 0;
	if (r < 65)
		return 1 + rnd_below(k, 1460);
	if (r < 95)
		return 1461 + rnd_below(k, 10540);
	return 16001 + rnd_below(k, 24000);
}

static void start_conn(struct soak *k)
{
	struct conn *c = &k->conns[k->started];
	memset(c, 0, sizeof(*c));
	c->id = k->started++;
	c->mode = (uint8_t)rnd_below(k, NMODES);
	c->client = (uint8_t)rnd_below(k, SOAK_CLIENTS);
	c->sport = (uint16_t)(80 + rnd_below(k, SOAK_PORTS));
	c->up.len = plan_len(k);
	c->down.len = plan_len(k);
	c->up.seed = rnd(k);
	c->down.seed = rnd(k);
	hash_init(&c->up.hash_sent, c->up.seed);
	hash_init(&c->up.hash_rcvd, c->up.seed);
	hash_init(&c->down.hash_sent, c->down.seed);
	hash_init(&c->down.hash_rcvd, c->down.seed);
	c->e[SERVER].fd = -1;
	c->started = tide_sim_now(k->sim);
	k->mode_count[c->mode]++;
	k->in_flight++;

	struct host *h = &k->host[c->client];
	sync_clock(k, h);
	int fd = tide_socket(h->st, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		soak_fail(k, c, "socket: %s", strerror(errno));
	c->e[CLIENT].fd = fd;
	c->e[CLIENT].open = true;
	bind_fd(h, fd, c->id);
	watch(h, fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET);
	struct sockaddr_in sa;
	addr_of(&sa, SOAK_SERVER_ADDR, c->sport);
	if (tide_connect(h->st, fd, (struct sockaddr *)&sa, sizeof(sa)) != -1 ||
	    errno != EINPROGRESS)
		soak_fail(k, c, "connect: want EINPROGRESS, got %s", strerror(errno));
	socklen_t sl = sizeof(sa);
	assert_int_equal(tide_getsockname(h->st, fd, (struct sockaddr *)&sa, &sl), 0);
	c->cport = ntohs(sa.sin_port);
	uint64_t pk = pending_key(SOAK_CLIENT_ADDR(c->client), c->cport, c->sport);
	if (map_get(&k->pending, pk))
		soak_fail(k, c, "a connection on the same 4-tuple was never accepted");
	map_put(&k->pending, pk, c->id);
}

static void check_stream(struct soak *k, const struct conn *c, const struct stream *s,
			 const char *what)
{
	uint64_t hs = hash_final(&s->hash_sent), hr = hash_final(&s->hash_rcvd);
	if (s->sent != s->len || s->rcvd != s->len || hs != hr)
		soak_fail(k, c, "%s stream: %u bytes planned, %u sent, %u received, "
			  "hash %016" PRIx64 " sent, %016" PRIx64 " received", what, s->len,
			  s->sent, s->rcvd, hs, hr);
}

static void check_stacks(struct soak *k)
{
	char msg[512];
	for (int i = 0; i <= SOAK_CLIENTS; i++)
		if (tide_stack_check(k->host[i].st, msg, sizeof(msg)) != 0)
			soak_fail(k, NULL, "host %d: tide_stack_check: %s", i, msg);
}

static double wall_seconds(void);

static void finish_conn(struct soak *k, struct conn *c)
{
	check_stream(k, c, &c->up, "client-to-server");
	check_stream(k, c, &c->down, "server-to-client");
	c->done = true;
	c->finished = tide_sim_now(k->sim);
	k->finished++;
	k->in_flight--;
	k->bytes_up += c->up.len;
	k->bytes_down += c->down.len;
	if (k->finished % SOAK_CHECK_EVERY == 0) {
		/* at the end of service(): not while a host is half way
		 * through its events */
		k->check_due = true;
		if (k->verbose)
			printf("soak: %u connections done, %u in flight, virtual %.3f s, "
			       "wall %.1f s\n", k->finished, k->in_flight,
			       (double)tide_sim_now(k->sim) / 1e6, wall_seconds() - k->wall_start);
	}
}

static void close_end(struct soak *k, struct conn *c, enum side s)
{
	struct end *e = &c->e[s];
	struct host *h = host_of(k, c, s);
	sync_clock(k, h);
	if (tide_close(h->st, e->fd) != 0)
		soak_fail(k, c, "close: %s", strerror(errno));
	h->byfd[e->fd] = 0;
	e->fd = -1;
	e->closed = true;
	if (c->e[!s].closed)
		finish_conn(k, c);
}

/* SO_LINGER {1, 0}: a RST, and the end is gone at once, without TIME_WAIT. */
static void abort_end(struct soak *k, struct conn *c, enum side s)
{
	struct end *e = &c->e[s];
	struct host *h = host_of(k, c, s);
	sync_clock(k, h);
	int st = tide_sock_state(h->st, e->fd);
	if (st != TIDE_TCP_ESTABLISHED)
		soak_fail(k, c, "abort from %s, want ESTABLISHED", tide_state_name(st));
	struct linger l = { 1, 0 };
	assert_int_equal(tide_setsockopt(h->st, e->fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)), 0);
	struct tide_conn_id id = {
		.laddr = tide_stack_addr(h->st),
		.raddr = s == CLIENT ? SOAK_SERVER_ADDR : SOAK_CLIENT_ADDR(c->client),
		.lport = s == CLIENT ? c->cport : c->sport,
		.rport = s == CLIENT ? c->sport : c->cport,
	};
	close_end(k, c, s);
	if (map_get(&h->live, tuple_key(&id)))
		soak_fail(k, c, "the aborted end is not CLOSED");
	c->aborted = true;
	timer_add(k, tide_sim_now(k->sim) + SOAK_ABORT_WAIT, c->id);
}

static bool io_done(const struct conn *c, enum side s)
{
	const struct end *e = &c->e[s];
	const struct stream *out = s == CLIENT ? &c->up : &c->down;
	const struct stream *in = s == CLIENT ? &c->down : &c->up;
	return e->open && !e->closed && e->connected && out->sent == out->len &&
	       in->rcvd == in->len;
}

/* What each end does once its data has moved, per close mode. Looks at
 * both ends: one end's progress may be what the other waits for. */
static void decide(struct soak *k, struct conn *c)
{
	switch (c->mode) {
	case CLIENT_FIRST:
	case SERVER_FIRST: {
		enum side first = c->mode == CLIENT_FIRST ? CLIENT : SERVER;
		if (io_done(c, first))
			close_end(k, c, first);
		if (io_done(c, !first) && c->e[!first].eof)
			close_end(k, c, !first);
		break;
	}
	case BOTH_AT_ONCE:
		if (io_done(c, CLIENT) && io_done(c, SERVER)) {
			close_end(k, c, CLIENT);
			close_end(k, c, SERVER);
		}
		break;
	case CLIENT_SHUT_WR:
	case SERVER_SHUT_WR: {
		enum side asker = c->mode == CLIENT_SHUT_WR ? CLIENT : SERVER;
		struct end *a = &c->e[asker], *b = &c->e[!asker];
		if (a->eof && !a->closed)
			close_end(k, c, asker);
		if (b->eof && io_done(c, !asker) && !b->closed)
			close_end(k, c, !asker);
		break;
	}
	case CLIENT_ABORT:
	case SERVER_ABORT: {
		enum side aborter = c->mode == CLIENT_ABORT ? CLIENT : SERVER;
		struct end *v = &c->e[!aborter];
		if (!c->aborted && io_done(c, CLIENT) && io_done(c, SERVER))
			abort_end(k, c, aborter);
		if (c->aborted && v->reset && !v->closed)
			close_end(k, c, !aborter);
		break;
	}
	}
}

/* The responder of a half-close answers only after the asker's EOF. */
static bool may_send(const struct conn *c, enum side s)
{
	if (c->mode == CLIENT_SHUT_WR && s == SERVER)
		return c->e[SERVER].eof;
	if (c->mode == SERVER_SHUT_WR && s == CLIENT)
		return c->e[CLIENT].eof;
	return true;
}

static bool expects_reset(const struct conn *c, enum side s)
{
	return c->aborted && ((c->mode == CLIENT_ABORT && s == SERVER) ||
			      (c->mode == SERVER_ABORT && s == CLIENT));
}

/* Moves what can move on one end: connect completion, reads, writes.
 * `events` is what epoll reported (PUMP_ALL when something else calls):
 * no read without news for reading, and a short read or write ends its
 * loop, as the queue is then empty or full, which saves a call into the
 * stack that would fail with EAGAIN. */
#define PUMP_ALL 0xffffffffu
#define PUMP_READ (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)

static void pump(struct soak *k, struct conn *c, enum side s, uint32_t events)
{
	struct end *e = &c->e[s];
	struct host *h = host_of(k, c, s);
	struct stream *out = s == CLIENT ? &c->up : &c->down;
	struct stream *in = s == CLIENT ? &c->down : &c->up;
	if (e->fd < 0)
		return;
	h->dirty = true;
	if (!e->connected) {
		int err = 0;
		socklen_t el = sizeof(err);
		assert_int_equal(tide_getsockopt(h->st, e->fd, SOL_SOCKET, SO_ERROR, &err, &el), 0);
		if (err)
			soak_fail(k, c, "connect failed: %s", strerror(err));
		if (tide_sock_state(h->st, e->fd) == TIDE_TCP_SYN_SENT)
			return;
		e->connected = true;
	}
	while ((events & PUMP_READ) && !e->eof && !e->reset) {
		ssize_t n = tide_recv(h->st, e->fd, k->buf, sizeof(k->buf), 0);
		if (n > 0) {
			if (in->rcvd + (uint64_t)n > in->len)
				soak_fail(k, c, "%s read %zd bytes more than were sent",
					  s == CLIENT ? "client" : "server",
					  (ssize_t)(in->rcvd + (uint64_t)n - in->len));
			hash_bytes(&in->hash_rcvd, k->buf, (size_t)n);
			in->rcvd += (uint32_t)n;
			if ((size_t)n < sizeof(k->buf) && !(events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)))
				break;
		} else if (n == 0) {
			e->eof = true;
			if (in->rcvd != in->len)
				soak_fail(k, c, "%s: end of data after %u of %u bytes",
					  s == CLIENT ? "client" : "server", in->rcvd, in->len);
		} else if (errno == EAGAIN) {
			break;
		} else if (errno == ECONNRESET && expects_reset(c, s)) {
			e->reset = true;
			k->resets_seen++;
		} else {
			soak_fail(k, c, "%s: recv: %s", s == CLIENT ? "client" : "server",
				  strerror(errno));
		}
	}
	while (!e->reset && may_send(c, s) && out->sent < out->len) {
		size_t want = out->len - out->sent;
		if (want > sizeof(k->buf))
			want = sizeof(k->buf);
		fill(k->buf, out->seed, out->sent, want);
		ssize_t n = tide_send(h->st, e->fd, k->buf, want, 0);
		if (n > 0) {
			hash_bytes(&out->hash_sent, k->buf, (size_t)n);
			out->sent += (uint32_t)n;
			if ((size_t)n < want)
				break;
		} else if (n < 0 && errno == EAGAIN) {
			break;
		} else {
			soak_fail(k, c, "%s: send: %s", s == CLIENT ? "client" : "server",
				  n < 0 ? strerror(errno) : "0 bytes");
		}
	}
	if (out->sent == out->len && !e->shut_wr && !e->closed &&
	    ((c->mode == CLIENT_SHUT_WR && s == CLIENT) ||
	     (c->mode == SERVER_SHUT_WR && s == SERVER))) {
		if (tide_shutdown(h->st, e->fd, SHUT_WR) != 0)
			soak_fail(k, c, "shutdown: %s", strerror(errno));
		e->shut_wr = true;
	}
	decide(k, c);
}

static void accept_all(struct soak *k, struct host *h, int lfd)
{
	for (;;) {
		struct sockaddr_in sa;
		socklen_t sl = sizeof(sa);
		int fd = tide_accept(h->st, lfd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno != EAGAIN)
				soak_fail(k, NULL, "accept: %s", strerror(errno));
			return;
		}
		struct sockaddr_in la;
		sl = sizeof(la);
		assert_int_equal(tide_getsockname(h->st, fd, (struct sockaddr *)&la, &sl), 0);
		uint64_t pk = pending_key(ntohl(sa.sin_addr.s_addr), ntohs(sa.sin_port),
					  ntohs(la.sin_port));
		uint32_t *id = map_get(&k->pending, pk);
		if (!id) {
			uint32_t a = ntohl(sa.sin_addr.s_addr);
			soak_fail(k, NULL, "accepted a connection nobody opened: "
				  "%u.%u.%u.%u:%u -> port %u", a >> 24, (a >> 16) & 255,
				  (a >> 8) & 255, a & 255, ntohs(sa.sin_port), ntohs(la.sin_port));
		}
		struct conn *c = &k->conns[*id];
		map_del(&k->pending, pk);
		c->e[SERVER].fd = fd;
		c->e[SERVER].open = true;
		c->e[SERVER].connected = true;
		bind_fd(h, fd, c->id);
		watch(h, fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET);
		pump(k, c, SERVER, PUMP_ALL);
	}
}

/* Handles every readiness of every host until none is left. */
static void service(struct soak *k)
{
	struct epoll_event evs[128];
	bool again = true;
	while (again) {
		again = false;
		for (int i = 0; i <= SOAK_CLIENTS; i++) {
			struct host *h = &k->host[i];
			if (!h->dirty)
				continue;
			h->dirty = false;
			int n = tide_epoll_wait(h->st, h->epfd, evs, 128);
			assert_true(n >= 0);
			if (n > 0)
				h->dirty = again = true;
			for (int j = 0; j < n; j++) {
				int fd = evs[j].data.fd;
				bool listener = false;
				for (int p = 0; i == SOAK_CLIENTS && p < SOAK_PORTS; p++)
					if (h->lfd[p] == fd)
						listener = true;
				if (listener) {
					accept_all(k, h, fd);
					continue;
				}
				if ((size_t)fd >= h->nbyfd || !h->byfd[fd])
					continue; /* closed by an earlier event of this batch */
				pump(k, &k->conns[h->byfd[fd] - 1], i == SOAK_CLIENTS ? SERVER : CLIENT,
				     evs[j].events);
			}
		}
	}
	while (k->in_flight < SOAK_CONCURRENCY && k->started < k->nconns)
		start_conn(k);
	if (k->check_due) {
		k->check_due = false;
		check_stacks(k);
	}
	if (k->state_errors)
		soak_fail(k, NULL, "%" PRIu64 " state change(s) out of sequence; first: %s",
			  k->state_errors, k->first_state_error);
}

/* An end whose peer aborted and that saw no RST closes on its own; the
 * aborting stack answers its FIN with a RST. */
static void abort_wait_over(struct soak *k, struct conn *c)
{
	enum side victim = c->mode == CLIENT_ABORT ? SERVER : CLIENT;
	struct end *v = &c->e[victim];
	if (v->closed)
		return;
	v->rst_lost = true;
	k->rsts_lost++;
	close_end(k, c, victim);
}

/* ---- set-up and the checks at the end ------------------------------- */

/* A delivery can only change readiness on the host it reached: only that
 * host is polled after the step (each poll is a call into the stack, with
 * the invariant checks of debug builds). */
static void soak_tap(void *ctx, enum tide_sim_event ev, tide_time now, int from, int to,
		     const uint8_t *pkt, size_t len)
{
	static const char *const names[] = { "sent", "delivered", "DROPPED", "DUPLICATED",
					      "DELAYED", "UNROUTABLE", "FILTERED" };
	struct soak *k = ctx;
	if (ev == TIDE_SIM_DELIVERED && to >= 0 && to <= SOAK_CLIENTS) {
		k->host[to].dirty = true;
		k->delivered = true;
	}
	if (!k->trace_port || len < 24 || ev == TIDE_SIM_SENT)
		return;
	unsigned sport = (unsigned)pkt[20] << 8 | pkt[21], dport = (unsigned)pkt[22] << 8 | pkt[23];
	if (sport != k->trace_port && dport != k->trace_port)
		return;
	char line[256];
	tide_packet_summary(pkt, len, line, sizeof(line));
	printf("%12.6f %d>%d %-10s %s\n", (double)now / 1e6, from, to,
	       (unsigned)ev < 7 ? names[ev] : "?", line);
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return dflt;
	char *end;
	unsigned long long x = strtoull(v, &end, 0);
	if (*end) {
		fprintf(stderr, "soak: %s=%s is not a number\n", name, v);
		fail();
	}
	return x;
}

static void soak_init(struct soak *k)
{
	memset(k, 0, sizeof(*k));
	k->seed = env_u64("TIDE_SOAK_SEED", SOAK_DEFAULT_SEED);
	k->nconns = (uint32_t)env_u64("TIDE_SOAK_CONNS", SOAK_DEFAULT_CONNS);
	k->rng = k->seed;
	k->trace_port = (unsigned)env_u64("TIDE_SOAK_TRACE", 0);
	k->verbose = env_u64("TIDE_TEST_VERBOSE", 0) != 0;
	k->conns = calloc(k->nconns ? k->nconns : 1, sizeof(*k->conns));
	assert_non_null(k->conns);
	map_init(&k->pending, 1024);

	k->sim = tide_sim_new(TIDE_MS(1));
	assert_non_null(k->sim);
	for (int i = 0; i <= SOAK_CLIENTS; i++) {
		struct host *h = &k->host[i];
		h->k = k;
		h->index = i;
		map_init(&h->live, 1024);
		struct tide_config cfg;
		tide_config_init(&cfg);
		cfg.addr = i < SOAK_CLIENTS ? SOAK_CLIENT_ADDR(i) : SOAK_SERVER_ADDR;
		cfg.secret = mix64(k->seed ^ (uint64_t)(i + 1));
		cfg.on_state = on_state;
		cfg.state_ctx = h;
		char name[16];
		snprintf(name, sizeof(name), i < SOAK_CLIENTS ? "client%d" : "server", i);
		h->node = tide_sim_add_stack(k->sim, name, &cfg);
		assert_int_equal(h->node, i); /* the tap's node index is the host's */
		h->dirty = true;
		h->st = tide_sim_stack(k->sim, h->node);
		h->epfd = tide_epoll_create(h->st);
		assert_true(h->epfd >= 0);
	}
	tide_sim_set_tap(k->sim, soak_tap, k);
	struct host *srv = &k->host[SOAK_CLIENTS];
	for (int p = 0; p < SOAK_PORTS; p++) {
		int fd = tide_socket(srv->st, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		assert_true(fd >= 0);
		struct sockaddr_in sa;
		addr_of(&sa, SOAK_SERVER_ADDR, (uint16_t)(80 + p));
		assert_int_equal(tide_bind(srv->st, fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		assert_int_equal(tide_listen(srv->st, fd, SOAK_BACKLOG), 0);
		srv->lfd[p] = fd;
		watch(srv, fd, EPOLLIN);
	}
	/* A few percent of every kind of fault, each direction its own draws:
	 * delays of up to 5 ms against a 2 ms round trip reorder freely. */
	for (int i = 0; i <= SOAK_CLIENTS; i++) {
		bool server = i == SOAK_CLIENTS;
		struct tide_sim_random_faults rf = {
			.seed = mix64(k->seed + 1000u + (uint64_t)i),
			.from = k->host[i].node,
			.drop_ppm = server ? 30000 : 20000,
			.duplicate_ppm = 10000,
			.delay_ppm = 20000,
			.delay_max = TIDE_MS(5),
			.dup_delay_max = TIDE_MS(5),
		};
		assert_int_equal(tide_sim_set_random_faults(k->sim, &rf), 0);
	}
}

static void count_conn(void *ctx, const struct tide_conn_info *ci)
{
	size_t *n = ctx;
	(void)ci;
	(*n)++;
}

static void print_visits(const char *who, const uint64_t *v)
{
	printf("soak: %s states entered:", who);
	for (int s = 1; s < 12; s++)
		if (v[s])
			printf(" %s %" PRIu64, tide_state_name(s), v[s]);
	printf("\n");
}

static uint64_t counter_sum(struct soak *k, int from, int to, enum tide_counter c)
{
	uint64_t n = 0;
	for (int i = from; i <= to; i++)
		n += tide_stack_counter(k->host[i].st, c);
	return n;
}

static void soak_finish(struct soak *k, double wall)
{
	/* Past every TIME_WAIT, FIN_WAIT_2 and retransmission timer. */
	tide_time end_of_traffic = tide_sim_now(k->sim);
	while (tide_sim_step(k->sim)) {
		if (tide_sim_now(k->sim) > end_of_traffic + TIDE_SEC(3600))
			soak_fail(k, NULL, "timers still running an hour after the last connection");
	}
	for (int i = 0; i <= SOAK_CLIENTS; i++)
		k->host[i].dirty = true;
	service(k);
	if (k->ntimers || k->state_errors)
		soak_fail(k, NULL, "leftover application timers or state errors");
	check_stacks(k);
	struct host *srv = &k->host[SOAK_CLIENTS];
	for (int p = 0; p < SOAK_PORTS; p++)
		assert_int_equal(tide_close(srv->st, srv->lfd[p]), 0);
	for (int i = 0; i <= SOAK_CLIENTS; i++) {
		struct host *h = &k->host[i];
		assert_int_equal(tide_close(h->st, h->epfd), 0);
		size_t n = 0;
		tide_stack_foreach_conn(h->st, count_conn, &n);
		if (n || h->live.n || h->opened != h->closed || tide_stack_next_timer(h->st) !=
								      TIDE_TIME_NEVER)
			soak_fail(k, NULL, "host %d: %zu connections listed, %zu live, %" PRIu64
				  " lives begun and %" PRIu64 " ended, next timer %" PRIu64,
				  i, n, h->live.n, h->opened, h->closed,
				  (uint64_t)tide_stack_next_timer(h->st));
		assert_int_equal(tide_stack_curr_estab(h->st), 0);
		/* Nothing a connection owned is still held: only the stack
		 * object and its tables remain. */
		struct tide_mem_stats ms;
		tide_stack_mem(h->st, &ms);
		for (int kind = 0; kind < TIDE_MEM_KINDS; kind++)
			if (kind != TIDE_MEM_STACK && kind != TIDE_MEM_TABLE && ms.objects[kind])
				soak_fail(k, NULL, "host %d: %" PRIu64 " %s block(s), %" PRIu64
					  " bytes, still held", i, ms.objects[kind],
					  tide_mem_kind_name((enum tide_mem_kind)kind), ms.bytes[kind]);
		assert_int_equal(ms.buffer_bytes, 0);
		assert_int_equal(ms.failures, 0);
		assert_int_equal(ms.descriptors, 0);
	}
	check_stacks(k);
	if (k->pending.n)
		soak_fail(k, NULL, "%zu connections never accepted", k->pending.n);
	for (uint32_t i = 0; i < k->nconns; i++)
		if (!k->conns[i].done)
			soak_fail(k, &k->conns[i], "connection not finished");

	/* Every connection opened once on each side, none failed, and the only
	 * RSTs of close() are the aborts (TCPAbortOnData, Linux's counter for
	 * SO_LINGER {1, 0}). */
	const int C0 = 0, C1 = SOAK_CLIENTS - 1, S = SOAK_CLIENTS;
	assert_int_equal(counter_sum(k, C0, C1, TIDE_MIB_ActiveOpens), k->nconns);
	assert_int_equal(counter_sum(k, S, S, TIDE_MIB_PassiveOpens), k->nconns);
	assert_int_equal(counter_sum(k, C0, S, TIDE_MIB_TCPAbortOnClose), 0);
	assert_int_equal(counter_sum(k, C0, S, TIDE_MIB_TCPAbortOnMemory), 0);
	assert_int_equal(counter_sum(k, C0, S, TIDE_MIB_TCPAbortOnTimeout), 0);
	assert_int_equal(counter_sum(k, C0, C1, TIDE_MIB_TCPAbortOnData),
			 k->mode_count[CLIENT_ABORT]);
	assert_int_equal(counter_sum(k, S, S, TIDE_MIB_TCPAbortOnData),
			 k->mode_count[SERVER_ABORT]);
	assert_int_equal(k->resets_seen + k->rsts_lost,
			 k->mode_count[CLIENT_ABORT] + k->mode_count[SERVER_ABORT]);
	/* No client connection failed; the server's only failed opens are
	 * the requests that duplicated or delayed SYNs make once their
	 * connection is gone without a TIME_WAIT to catch them (after an
	 * abort): their SYN-ACK is answered with a RST. */
	uint64_t clients_opened = 0;
	for (int i = C0; i <= C1; i++) {
		clients_opened += k->host[i].opened;
		assert_int_equal(k->host[i].requests_failed, 0);
	}
	assert_int_equal(clients_opened, k->nconns);
	assert_int_equal(counter_sum(k, C0, C1, TIDE_MIB_AttemptFails), 0);
	assert_int_equal(k->host[S].opened, k->nconns + SOAK_PORTS + k->host[S].requests_failed);

	tide_time vt = tide_sim_now(k->sim);
	printf("soak: seed %" PRIu64 ", %u connections, %u at a time, %d clients, %d server ports\n",
	       k->seed, k->nconns, SOAK_CONCURRENCY, SOAK_CLIENTS, SOAK_PORTS);
	printf("soak: close modes:");
	for (int m = 0; m < NMODES; m++)
		printf(" %s %" PRIu64, mode_names[m], k->mode_count[m]);
	printf("\nsoak: aborts: %" PRIu64 " RSTs read as ECONNRESET, %" PRIu64
	       " lost (peer's close answered by RST); %" PRIu64 " requests from stale SYNs "
	       "reset\n", k->resets_seen, k->rsts_lost, k->host[S].requests_failed);
	printf("soak: bytes: %" PRIu64 " client-to-server, %" PRIu64 " server-to-client, "
	       "all received once and in order\n", k->bytes_up, k->bytes_down);
	printf("soak: packets: %" PRIu64 " sent, %" PRIu64 " dropped, %" PRIu64
	       " duplicated, %" PRIu64 " delayed; %" PRIu64 " segments retransmitted\n",
	       tide_sim_count(k->sim, TIDE_SIM_SENT), tide_sim_count(k->sim, TIDE_SIM_DROPPED),
	       tide_sim_count(k->sim, TIDE_SIM_DUPLICATED),
	       tide_sim_count(k->sim, TIDE_SIM_DELAYED),
	       counter_sum(k, C0, S, TIDE_MIB_RetransSegs));
	printf("soak: counters: TW %" PRIu64 ", TWRecycled %" PRIu64 ", EstabResets %" PRIu64
	       ", AttemptFails %" PRIu64 ", OutRsts %" PRIu64 ", TCPChallengeACK %" PRIu64
	       ", PAWSEstab %" PRIu64 ", TCPOFOQueue %" PRIu64 ", SyncookiesSent %" PRIu64 "\n",
	       counter_sum(k, C0, S, TIDE_MIB_TW), counter_sum(k, C0, S, TIDE_MIB_TWRecycled),
	       counter_sum(k, C0, S, TIDE_MIB_EstabResets),
	       counter_sum(k, C0, S, TIDE_MIB_AttemptFails),
	       counter_sum(k, C0, S, TIDE_MIB_OutRsts),
	       counter_sum(k, C0, S, TIDE_MIB_TCPChallengeACK),
	       counter_sum(k, C0, S, TIDE_MIB_PAWSEstab),
	       counter_sum(k, C0, S, TIDE_MIB_TCPOFOQueue),
	       counter_sum(k, C0, S, TIDE_MIB_SyncookiesSent));
	uint64_t cv[12] = { 0 };
	for (int i = C0; i <= C1; i++)
		for (int s = 0; s < 12; s++)
			cv[s] += k->host[i].visits[s];
	print_visits("clients", cv);
	print_visits("server", k->host[S].visits);
	printf("soak: virtual time %.3f s (last connection done at %.3f s), wall time %.2f s\n",
	       (double)vt / 1e6, (double)end_of_traffic / 1e6, wall);
}

static void soak_free(struct soak *k)
{
	tide_sim_free(k->sim);
	for (int i = 0; i <= SOAK_CLIENTS; i++) {
		map_free(&k->host[i].live);
		free(k->host[i].byfd);
	}
	map_free(&k->pending);
	free(k->timers);
	free(k->conns);
}

static double wall_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_churn_soak(void **state)
{
	(void)state;
	struct soak *k = malloc(sizeof(*k));
	assert_non_null(k);
	soak_init(k);
	printf("soak: seed %" PRIu64 " (TIDE_SOAK_SEED to replay another)\n", k->seed);
	fflush(stdout);
	double t0 = wall_seconds();
	k->wall_start = t0;

	service(k); /* starts the first connections */
	while (k->finished < k->nconns) {
		tide_time t_sim = tide_sim_next_event(k->sim);
		tide_time t_app = k->ntimers ? k->timers[0].t : TIDE_TIME_NEVER;
		if (t_sim == TIDE_TIME_NEVER && t_app == TIDE_TIME_NEVER) {
			for (uint32_t i = 0; i < k->started; i++)
				if (!k->conns[i].done) {
					describe(k, &k->conns[i]);
					break;
				}
			soak_fail(k, NULL, "stuck: %u of %u connections finished, nothing pending",
				  k->finished, k->nconns);
		}
		k->delivered = false;
		if (t_app < t_sim) {
			tide_sim_run_until(k->sim, t_app);
			while (k->ntimers && k->timers[0].t <= t_app) {
				struct timer x = timer_pop(k);
				abort_wait_over(k, &k->conns[x.conn]);
			}
		} else {
			tide_sim_step(k->sim);
		}
		/* a timer ran (or every clock moved): any host may have news */
		if (!k->delivered || t_app < t_sim)
			for (int i = 0; i <= SOAK_CLIENTS; i++)
				k->host[i].dirty = true;
		if (tide_sim_now(k->sim) > SOAK_VIRTUAL_LIMIT)
			soak_fail(k, NULL, "still running after %.0f s of virtual time",
				  (double)SOAK_VIRTUAL_LIMIT / 1e6);
		service(k);
	}
	/* The last abort waits are moot once every connection is done. */
	while (k->ntimers)
		timer_pop(k);
	soak_finish(k, wall_seconds() - t0);
	soak_free(k);
	free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_churn_soak),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
