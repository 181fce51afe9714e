/*
 * Benchmark (issue 6, items 1 and 2): full TCP connection lifecycles per
 * second, in memory, with two tide stacks in one thread.
 *
 * One lifecycle: connect, 64-byte request, 64-byte response, active close
 * by the client, the client's TIME_WAIT entry and its expiry (counted with
 * the state callback: TIME_WAIT -> CLOSE). tcp_timewait_len is 1 s of
 * virtual time and the clock is advanced so that every entry expires inside
 * the measured time.
 *
 * The link is a pair of in-memory FIFOs: each stack's output callback
 * appends the packet to the other stack's inbound FIFO, and pump() feeds
 * them until both are empty. The clock is virtual: packets arrive at the
 * instant they were sent.
 *
 *   sequential: one connection at a time; the clock moves 100 us per
 *               lifecycle (so about 10,000 TIME_WAIT entries are alive).
 *   concurrent: phases of 10,000 connections in flight together (connect
 *               all, accept all, request all, respond all, close all); the
 *               clock moves 1 s per phase so the previous phase's TIME_WAIT
 *               entries expire while at most 20,000 ephemeral ports of the
 *               28,232 (32768-60999) are taken.
 *
 * The reference (the same workload through the Linux kernel on loopback)
 * is measured in the same run by linux_loopback.c.
 *
 *   lifecycle            all figures, JSON lines on stdout
 *   lifecycle --quick    a few-second smoke run
 *   lifecycle --count N  only N sequential tide lifecycles, no output on
 *                        stdout (for bench/callgrind.sh)
 *   lifecycle --count N --concurrent
 *                        only N / 10000 phases of 10,000 concurrent ones
 */
#include <tide/tide.h>
#include <tide/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* bench/linux_loopback.c: the reference. Lifecycles per second; `run`
 * varies the source addresses between runs. */
double linux_loopback_sequential(int n, int run);
double linux_loopback_concurrent(int conc, int total, int run, int *conc_used, char *note,
				 size_t notelen);

#define MSG 64

/* ---- the in-memory link ---- */

struct fifo {
	uint8_t *buf;
	size_t head, tail, cap;
};

static void fifo_push(void *ctx, const uint8_t *pkt, size_t len)
{
	struct fifo *q = ctx;
	size_t need = (sizeof(uint32_t) + len + 7) & ~(size_t)7;
	if (q->tail + need > q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 65536;
		while (cap < q->tail + need)
			cap *= 2;
		uint8_t *b = realloc(q->buf, cap);
		if (!b) {
			fprintf(stderr, "lifecycle: out of memory\n");
			exit(1);
		}
		q->buf = b;
		q->cap = cap;
	}
	uint32_t l = (uint32_t)len;
	memcpy(q->buf + q->tail, &l, sizeof l);
	memcpy(q->buf + q->tail + sizeof l, pkt, len);
	q->tail += need;
}

struct bench {
	tide_stack *cli, *srv;
	struct fifo to_cli, to_srv;
	tide_time now;
	uint64_t expired;   /* TIME_WAIT -> CLOSE on the client */
	uint64_t drops;     /* packets a stack refused */
	int lfd;
	uint32_t cli_addr, srv_addr;
	uint16_t port;
};

static void on_state(void *ctx, const struct tide_conn_id *id, int old_state, int new_state,
		     tide_time now)
{
	(void)id;
	(void)now;
	struct bench *b = ctx;
	if (old_state == TIDE_TCP_TIME_WAIT && new_state == TIDE_TCP_CLOSE)
		b->expired++;
}

static void drain(struct bench *b, struct fifo *q, tide_stack *st)
{
	while (q->head < q->tail) {
		uint32_t l;
		memcpy(&l, q->buf + q->head, sizeof l);
		const uint8_t *p = q->buf + q->head + sizeof l;
		q->head += (sizeof l + l + 7) & ~(size_t)7;
		if (tide_stack_input(st, p, l, b->now) < 0)
			b->drops++;
	}
	q->head = q->tail = 0;
}

static void pump(struct bench *b)
{
	while (b->to_cli.tail || b->to_srv.tail) {
		drain(b, &b->to_srv, b->srv);
		drain(b, &b->to_cli, b->cli);
	}
}

static void advance(struct bench *b, tide_time to)
{
	b->now = to;
	tide_stack_advance(b->cli, to);
	tide_stack_advance(b->srv, to);
	pump(b);
}

static void die(const char *what)
{
	fprintf(stderr, "lifecycle: %s failed: %s\n", what, strerror(errno));
	exit(1);
}

static void bench_init(struct bench *b, int backlog)
{
	memset(b, 0, sizeof *b);
	b->cli_addr = 0xC6120001u; /* 198.18.0.1 */
	b->srv_addr = 0xC6120002u; /* 198.18.0.2 */
	b->port = 8080;
	b->now = TIDE_SEC(1);

	struct tide_config cfg;
	tide_config_init(&cfg);
	cfg.settings.tcp_timewait_len = 1;
	cfg.settings.somaxconn = 65536;
	cfg.settings.tcp_max_syn_backlog = 65536;
	cfg.on_state = on_state;
	cfg.state_ctx = b;

	cfg.addr = b->cli_addr;
	cfg.secret = 1;
	cfg.output = fifo_push;
	cfg.output_ctx = &b->to_srv;
	b->cli = tide_stack_new(&cfg, b->now);
	cfg.addr = b->srv_addr;
	cfg.secret = 2;
	cfg.output_ctx = &b->to_cli;
	b->srv = tide_stack_new(&cfg, b->now);
	if (!b->cli || !b->srv)
		die("tide_stack_new");

	b->lfd = tide_socket(b->srv, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int one = 1;
	tide_setsockopt(b->srv, b->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(b->port),
				 .sin_addr.s_addr = htonl(b->srv_addr)};
	if (tide_bind(b->srv, b->lfd, (struct sockaddr *)&sa, sizeof sa) < 0)
		die("tide_bind");
	if (tide_listen(b->srv, b->lfd, backlog) < 0)
		die("tide_listen");
}

static void bench_free(struct bench *b)
{
	tide_stack_free(b->cli);
	tide_stack_free(b->srv);
	free(b->to_cli.buf);
	free(b->to_srv.buf);
}

static int client_connect(struct bench *b)
{
	int fd = tide_socket(b->cli, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		die("tide_socket");
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(b->port),
				 .sin_addr.s_addr = htonl(b->srv_addr)};
	if (tide_connect(b->cli, fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS)
		die("tide_connect");
	return fd;
}

static void xsend(tide_stack *st, int fd, const char *buf)
{
	if (tide_send(st, fd, buf, MSG, 0) != MSG)
		die("tide_send");
}

static void xrecv(tide_stack *st, int fd, char *buf, ssize_t want)
{
	ssize_t n = tide_recv(st, fd, buf, MSG, 0);
	if (n != want) {
		fprintf(stderr, "lifecycle: tide_recv returned %zd, wanted %zd (%s)\n", n, want,
			n < 0 ? strerror(errno) : "short");
		exit(1);
	}
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void finish(struct bench *b, uint64_t want)
{
	/* Let every TIME_WAIT entry expire (inside the measured time). */
	advance(b, b->now + TIDE_SEC(2));
	if (b->expired != want || b->drops) {
		fprintf(stderr, "lifecycle: %llu of %llu TIME_WAIT entries expired, %llu drops\n",
			(unsigned long long)b->expired, (unsigned long long)want,
			(unsigned long long)b->drops);
		exit(1);
	}
}

/* n sequential lifecycles; returns the seconds taken. */
static double run_sequential(uint64_t n)
{
	static char req[MSG], resp[MSG], buf[MSG];
	struct bench b;
	bench_init(&b, 128);
	double t0 = now_s();
	for (uint64_t i = 0; i < n; i++) {
		int c = client_connect(&b);
		pump(&b);
		int s = tide_accept(b.srv, b.lfd, NULL, NULL, SOCK_NONBLOCK);
		if (s < 0)
			die("tide_accept");
		xsend(b.cli, c, req);
		pump(&b);
		xrecv(b.srv, s, buf, MSG);
		xsend(b.srv, s, resp);
		pump(&b);
		xrecv(b.cli, c, buf, MSG);
		tide_close(b.cli, c);
		pump(&b);
		xrecv(b.srv, s, buf, 0);
		tide_close(b.srv, s);
		pump(&b);
		advance(&b, b.now + TIDE_US(100));
	}
	finish(&b, n);
	double t = now_s() - t0;
	bench_free(&b);
	return t;
}

/* `phases` phases of `conc` concurrent lifecycles; returns the seconds. */
static double run_concurrent(int conc, int phases)
{
	static char req[MSG], resp[MSG], buf[MSG];
	int *c = malloc(sizeof(int) * (size_t)conc), *s = malloc(sizeof(int) * (size_t)conc);
	if (!c || !s)
		die("malloc");
	struct bench b;
	bench_init(&b, 65536);
	double t0 = now_s();
	for (int p = 0; p < phases; p++) {
		for (int i = 0; i < conc; i++)
			c[i] = client_connect(&b);
		pump(&b);
		for (int i = 0; i < conc; i++) {
			s[i] = tide_accept(b.srv, b.lfd, NULL, NULL, SOCK_NONBLOCK);
			if (s[i] < 0)
				die("tide_accept");
			xsend(b.cli, c[i], req);
		}
		pump(&b);
		for (int i = 0; i < conc; i++) {
			xrecv(b.srv, s[i], buf, MSG);
			xsend(b.srv, s[i], resp);
		}
		pump(&b);
		for (int i = 0; i < conc; i++) {
			xrecv(b.cli, c[i], buf, MSG);
			tide_close(b.cli, c[i]);
		}
		pump(&b);
		for (int i = 0; i < conc; i++) {
			xrecv(b.srv, s[i], buf, 0);
			tide_close(b.srv, s[i]);
		}
		pump(&b);
		/* One second: the previous phase's TIME_WAIT entries expire. */
		advance(&b, b.now + TIDE_SEC(1));
	}
	finish(&b, (uint64_t)conc * (uint64_t)phases);
	double t = now_s() - t0;
	bench_free(&b);
	free(c);
	free(s);
	return t;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void emit(const char *name, double value, const char *ref, double refv, const char *note)
{
	double target = 1e6;
	printf("{\"bench\":\"lifecycle\",\"name\":\"%s\",\"value\":%.1f,\"unit\":\"1/s\","
	       "\"reference\":\"%s\",\"reference_value\":%.1f,\"ratio\":%.3f,"
	       "\"target\":\"\\u2265 1000000\",\"meets_target\":%s,\"note\":\"%s\"}\n",
	       name, value, ref, refv, refv > 0 ? value / refv : 0.0,
	       value >= target ? "true" : "false", note);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	int quick = 0, concurrent = 0;
	long long count = -1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick"))
			quick = 1;
		else if (!strcmp(argv[i], "--concurrent"))
			concurrent = 1;
		else if (!strcmp(argv[i], "--count") && i + 1 < argc)
			count = atoll(argv[++i]);
		else {
			fprintf(stderr, "usage: %s [--quick] [--count N [--concurrent]]\n", argv[0]);
			return 2;
		}
	}
	if (count >= 0 && concurrent) {
		int phases = (int)(count / 10000);
		double t = run_concurrent(10000, phases);
		fprintf(stderr, "lifecycle: %d phases of 10000 concurrent lifecycles in %.3f s\n",
			phases, t);
		return 0;
	}
	if (count >= 0) {
		double t = run_sequential((uint64_t)count);
		fprintf(stderr, "lifecycle: %lld sequential lifecycles in %.3f s\n", count, t);
		return 0;
	}

	int runs = quick ? 1 : 5;
	uint64_t seq_n = quick ? 20000 : 200000;
	int conc = 10000, phases = quick ? 2 : 10;
	int lx_seq_n = quick ? 1000 : 5000;
	int lx_conc_total = quick ? 10000 : 20000;

	double seq[5], cc[5], lseq[5], lcc[5];
	int lconc = conc;
	char lnote[256] = "";
	for (int r = 0; r < runs; r++) {
		double t = run_sequential(seq_n);
		seq[r] = (double)seq_n / t;
		t = run_concurrent(conc, phases);
		cc[r] = (double)conc * phases / t;
		lseq[r] = linux_loopback_sequential(lx_seq_n, r);
		lcc[r] = linux_loopback_concurrent(conc, lx_conc_total, r, &lconc, lnote,
						   sizeof lnote);
		fprintf(stderr,
			"lifecycle: run %d: tide seq %.0f/s conc %.0f/s; linux seq %.0f/s conc(%d) %.0f/s\n",
			r + 1, seq[r], cc[r], lseq[r], lconc, lcc[r]);
	}
	char note[512];
	snprintf(note, sizeof note,
		 "median of %d runs; one thread; in-memory link, virtual clock, "
		 "tcp_timewait_len 1 s, TIME_WAIT expiry included; Linux: one thread, "
		 "blocking sockets, source addresses rotated over 127.1.0.0/16 "
		 "(IP_BIND_ADDRESS_NO_PORT), its TIME_WAIT (60 s) expiry not included",
		 runs);
	emit("sequential lifecycles per second", median(seq, runs),
	     "Linux loopback, same workload (sequential, blocking)", median(lseq, runs), note);
	snprintf(note, sizeof note,
		 "median of %d runs; one thread; phases of %d connections in flight "
		 "(direct fds), tcp_timewait_len 1 s, TIME_WAIT expiry included; Linux: one "
		 "thread, epoll, %d in flight, source addresses rotated over 127.1.0.0/16, its "
		 "TIME_WAIT (60 s) expiry not included%s%s",
		 runs, conc, lconc, lnote[0] ? "; " : "", lnote);
	emit("concurrent (10k) lifecycles per second", median(cc, runs),
	     "Linux loopback, same workload (epoll, 10,000 concurrent)", median(lcc, runs), note);
	return 0;
}
