/*
 * bulk: bulk TCP throughput of tide in memory, against Linux loopback in
 * the same run (issue 6, item 3).
 *
 * tide: two stacks in one thread joined by a minimal in-memory link (each
 * stack's output callback copies the packet into the other's inbound FIFO);
 * a loop lets the client send as fast as the stack allows, delivers the
 * FIFOs, lets the server read everything, and advances a virtual clock a
 * little each round (jumping to the next timer when nothing moves).
 * Buffers and the tcp_rmem/tcp_wmem/core.*mem_max settings are raised so
 * the windows are not the limit. Figures: bytes per second of wall-clock
 * time (the single thread's CPU time is reported too), with MTU 1500
 * (MSS 1460) and with MTU 65535 (MSS 65495, close to 64 KiB segments).
 *
 * Linux: one TCP connection over 127.0.0.1 between a client and a server
 * thread of this process, same bytes, large buffers, once with the loopback
 * MTU (65536) and once with TCP_MAXSEG 1460 on the client.
 *
 * The receiver compares every byte with the expected pattern, and the
 * byte count must match, so no work can be optimised away and corruption
 * is caught (exit status 1).
 *
 * Usage: bulk [--quick] [--bytes N] [--runs N]
 *   default 1 GiB x 5 runs (medians); --quick: 64 MiB x 3 runs.
 *   --case 0 (MSS 1460) or 1 (64 KiB) runs one case only, for profiling.
 */
#include <tide/socket.h>
#include <tide/tide.h>

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PAT_LEN 1048573u /* a prime, so chunk boundaries drift over the pattern */
#define CHUNK (256u * 1024u)
#define BUF_BYTES (16 * 1024 * 1024)

static uint8_t *pattern; /* 2 * PAT_LEN bytes: pattern[i] == pattern[i + PAT_LEN] */

static void pattern_init(void)
{
	pattern = malloc(2u * PAT_LEN);
	if (!pattern) {
		perror("malloc");
		exit(2);
	}
	uint32_t x = 2463534242u;
	for (size_t i = 0; i < PAT_LEN; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		pattern[i] = (uint8_t)x;
	}
	memcpy(pattern + PAT_LEN, pattern, PAT_LEN);
}

/* Checks n received bytes at stream offset off; returns false on mismatch. */
static bool check_bytes(const uint8_t *buf, size_t n, uint64_t off)
{
	while (n > 0) {
		size_t p = (size_t)(off % PAT_LEN);
		size_t k = n < PAT_LEN ? n : PAT_LEN;
		if (memcmp(buf, pattern + p, k) != 0)
			return false;
		buf += k;
		n -= k;
		off += k;
	}
	return true;
}

static double now_s(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---------------------------------------------------------------- link */

struct pkt {
	uint8_t *buf;
	size_t len, cap;
};

struct fifo {
	struct pkt *slots;
	size_t cap, head, count; /* ring of reusable buffers */
};

static void fifo_push(void *ctx, const uint8_t *data, size_t len)
{
	struct fifo *f = ctx;
	if (f->count == f->cap) {
		size_t ncap = f->cap ? f->cap * 2 : 256;
		struct pkt *ns = calloc(ncap, sizeof *ns);
		if (!ns) {
			perror("calloc");
			exit(2);
		}
		for (size_t i = 0; i < f->count; i++)
			ns[i] = f->slots[(f->head + i) % f->cap];
		/* keep the spare buffers too */
		for (size_t i = f->count; i < f->cap; i++)
			ns[i] = f->slots[(f->head + i) % f->cap];
		free(f->slots);
		f->slots = ns;
		f->head = 0;
		f->cap = ncap;
	}
	struct pkt *p = &f->slots[(f->head + f->count) % f->cap];
	if (p->cap < len) {
		free(p->buf);
		p->cap = len < 2048 ? 2048 : 65536;
		if (p->cap < len)
			p->cap = len;
		p->buf = malloc(p->cap);
		if (!p->buf) {
			perror("malloc");
			exit(2);
		}
	}
	memcpy(p->buf, data, len);
	p->len = len;
	f->count++;
}

static void fifo_free(struct fifo *f)
{
	for (size_t i = 0; i < f->cap; i++)
		free(f->slots[i].buf);
	free(f->slots);
	memset(f, 0, sizeof *f);
}

/* Delivers the packets queued now (not those queued while delivering). */
static size_t fifo_deliver(struct fifo *f, tide_stack *to, tide_time now)
{
	size_t n = f->count;
	for (size_t i = 0; i < n; i++) {
		struct pkt *p = &f->slots[f->head];
		tide_stack_input(to, p->buf, p->len, now);
		f->head = (f->head + 1) % f->cap;
		f->count--;
	}
	return n;
}

/* ---------------------------------------------------------------- tide */

struct result {
	double wall, cpu; /* seconds */
	bool ok;
};

static void raise_settings(struct tide_settings *s)
{
	s->tcp_rmem_max = 64 * 1024 * 1024;
	s->tcp_wmem_max = 64 * 1024 * 1024;
	s->tcp_rmem_default = 4 * 1024 * 1024;
	s->tcp_wmem_default = 4 * 1024 * 1024;
	s->core_rmem_max = 64 * 1024 * 1024;
	s->core_wmem_max = 64 * 1024 * 1024;
}

static void set_bufs(tide_stack *st, int fd)
{
	int v = BUF_BYTES;
	if (tide_setsockopt(st, fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v) != 0 ||
	    tide_setsockopt(st, fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v) != 0) {
		perror("tide_setsockopt");
		exit(2);
	}
}

static tide_time next_due(tide_stack *a, tide_stack *b)
{
	tide_time x = tide_stack_next_timer(a), y = tide_stack_next_timer(b);
	return x < y ? x : y;
}

__attribute__((noinline)) static struct result tide_run(uint16_t mtu, uint64_t total, int *mss_out)
{
	struct result r = {0};
	struct fifo to_srv = {0}, to_cli = {0};
	struct tide_config cc, sc;
	tide_config_init(&cc);
	tide_config_init(&sc);
	cc.addr = 0xC6120001u; /* 198.18.0.1 */
	sc.addr = 0xC6120002u; /* 198.18.0.2 */
	cc.mtu = sc.mtu = mtu;
	cc.secret = 1;
	sc.secret = 2;
	cc.output = fifo_push;
	cc.output_ctx = &to_srv;
	sc.output = fifo_push;
	sc.output_ctx = &to_cli;
	raise_settings(&cc.settings);
	raise_settings(&sc.settings);
	tide_time now = TIDE_SEC(1);
	tide_stack *cli = tide_stack_new(&cc, now), *srv = tide_stack_new(&sc, now);
	if (!cli || !srv) {
		perror("tide_stack_new");
		exit(2);
	}

	int lfd = tide_socket(srv, AF_INET, SOCK_STREAM, 0);
	set_bufs(srv, lfd);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(5001),
				 .sin_addr.s_addr = htonl(sc.addr)};
	if (tide_bind(srv, lfd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    tide_listen(srv, lfd, 16) != 0) {
		perror("tide listen");
		exit(2);
	}
	int cfd = tide_socket(cli, AF_INET, SOCK_STREAM, 0);
	set_bufs(cli, cfd);
	if (tide_connect(cli, cfd, (struct sockaddr *)&sa, sizeof sa) != 0 && errno != EINPROGRESS) {
		perror("tide_connect");
		exit(2);
	}
	int afd = -1;
	for (int i = 0; i < 100 && afd < 0; i++) {
		fifo_deliver(&to_srv, srv, now);
		fifo_deliver(&to_cli, cli, now);
		afd = tide_accept(srv, lfd, NULL, NULL, 0);
		now += 10;
	}
	if (afd < 0) {
		fprintf(stderr, "bulk: tide handshake failed\n");
		exit(2);
	}
	socklen_t ml = sizeof *mss_out;
	tide_getsockopt(cli, cfd, IPPROTO_TCP, TCP_MAXSEG, mss_out, &ml);

	uint8_t *rbuf = malloc(CHUNK);
	if (!rbuf) {
		perror("malloc");
		exit(2);
	}
	uint64_t sent = 0, rcvd = 0;
	bool ok = true;
	double w0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_THREAD_CPUTIME_ID);
	while (rcvd < total) {
		size_t moved = 0;
		while (sent < total) {
			size_t want = total - sent < CHUNK ? (size_t)(total - sent) : CHUNK;
			ssize_t n = tide_send(cli, cfd, pattern + sent % PAT_LEN, want, 0);
			if (n <= 0)
				break;
			sent += (uint64_t)n;
			moved++;
		}
		moved += fifo_deliver(&to_srv, srv, now);
		for (;;) {
			ssize_t n = tide_recv(srv, afd, rbuf, CHUNK, 0);
			if (n <= 0)
				break;
			if (!check_bytes(rbuf, (size_t)n, rcvd))
				ok = false;
			rcvd += (uint64_t)n;
			moved++;
		}
		moved += fifo_deliver(&to_cli, cli, now);
		now += 10; /* 10 us of virtual time per round */
		tide_time due = next_due(cli, srv);
		if (!moved && to_srv.count == 0 && to_cli.count == 0 && due != TIDE_TIME_NEVER &&
		    due > now)
			now = due; /* idle: jump to the next timer */
		if (due <= now) {
			tide_stack_advance(cli, now);
			tide_stack_advance(srv, now);
		}
		if (!moved && due == TIDE_TIME_NEVER && to_srv.count == 0 && to_cli.count == 0) {
			fprintf(stderr, "bulk: tide transfer stalled at %llu bytes\n",
				(unsigned long long)rcvd);
			ok = false;
			break;
		}
	}
	r.wall = now_s(CLOCK_MONOTONIC) - w0;
	r.cpu = now_s(CLOCK_THREAD_CPUTIME_ID) - c0;
	r.ok = ok && rcvd == total;
	free(rbuf);
	tide_stack_free(cli);
	tide_stack_free(srv);
	fifo_free(&to_srv);
	fifo_free(&to_cli);
	return r;
}

/* ---------------------------------------------------------------- Linux */

struct lx {
	int lfd;
	uint64_t total;
	int maxseg; /* 0: default */
	bool ok;
	int mss;
};

static bool lx_forced = true; /* false once a FORCE was refused */

static void lx_bufs(int fd)
{
	int v = BUF_BYTES;
	/* FORCE ignores net.core.*mem_max (needs CAP_NET_ADMIN); else capped. */
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof v) != 0) {
		lx_forced = false;
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
	}
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof v) != 0) {
		lx_forced = false;
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
	}
}

static void *lx_server(void *arg)
{
	struct lx *x = arg;
	int fd = accept(x->lfd, NULL, NULL);
	if (fd < 0) {
		perror("accept");
		x->ok = false;
		return NULL;
	}
	uint8_t *buf = malloc(CHUNK);
	uint64_t rcvd = 0;
	bool ok = buf != NULL;
	while (ok) {
		ssize_t n = recv(fd, buf, CHUNK, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (!check_bytes(buf, (size_t)n, rcvd))
			ok = false;
		rcvd += (uint64_t)n;
	}
	x->ok = ok && rcvd == x->total;
	free(buf);
	close(fd);
	return NULL;
}

static struct result lx_run(uint64_t total, int maxseg, int *mss_out)
{
	struct result r = {0};
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	lx_bufs(lfd);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof sa;
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 4) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0) {
		perror("linux listen");
		exit(2);
	}
	struct lx x = {.lfd = lfd, .total = total, .maxseg = maxseg};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	lx_bufs(fd);
	if (maxseg && setsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, &maxseg, sizeof maxseg) != 0) {
		perror("TCP_MAXSEG");
		exit(2);
	}
	pthread_t th;
	if (pthread_create(&th, NULL, lx_server, &x) != 0) {
		fprintf(stderr, "bulk: pthread_create failed\n");
		exit(2);
	}
	double w0 = now_s(CLOCK_MONOTONIC);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
		perror("connect");
		exit(2);
	}
	socklen_t ml = sizeof *mss_out;
	getsockopt(fd, IPPROTO_TCP, TCP_MAXSEG, mss_out, &ml);
	uint64_t sent = 0;
	while (sent < total) {
		size_t want = total - sent < CHUNK ? (size_t)(total - sent) : CHUNK;
		ssize_t n = send(fd, pattern + sent % PAT_LEN, want, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			perror("send");
			break;
		}
		sent += (uint64_t)n;
	}
	shutdown(fd, SHUT_WR);
	pthread_join(th, NULL);
	r.wall = now_s(CLOCK_MONOTONIC) - w0;
	r.ok = x.ok;
	close(fd);
	close(lfd);
	return r;
}

/* ---------------------------------------------------------------- main */

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	uint64_t total = 1ull << 30;
	int runs = 5, only = -1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--quick")) {
			total = 64ull << 20;
			runs = 3;
		} else if (!strcmp(argv[i], "--bytes") && i + 1 < argc) {
			total = strtoull(argv[++i], NULL, 0);
		} else if (!strcmp(argv[i], "--case") && i + 1 < argc) {
			only = atoi(argv[++i]); /* 0: MSS 1460, 1: 64 KiB (profiling) */
		} else if (!strcmp(argv[i], "--runs") && i + 1 < argc) {
			runs = atoi(argv[++i]);
		} else {
			fprintf(stderr, "usage: %s [--quick] [--bytes N] [--runs N] [--case 0|1]\n", argv[0]);
			return 2;
		}
	}
	if (runs < 1 || runs > 50 || total == 0) {
		fprintf(stderr, "bulk: bad --runs or --bytes\n");
		return 2;
	}
	pattern_init();

	static const struct {
		const char *name, *ref;
		uint16_t mtu;
		int lx_maxseg;
	} cases[2] = {
		{"bulk MSS 1460 bytes/s", "Linux loopback, one connection, TCP_MAXSEG 1460", 1500, 1460},
		{"bulk 64 KiB segments bytes/s",
		 "Linux loopback, one connection, default MTU 65536", 65535, 0},
	};
	bool all_ok = true;
	for (int c = 0; c < 2; c++) {
		if (only >= 0 && c != only)
			continue;
		double tw[50], tc[50], lw[50];
		int tmss = 0, lmss = 0;
		for (int i = 0; i < runs; i++) {
			/* interleave so both see the same machine noise */
			struct result t = tide_run(cases[c].mtu, total, &tmss);
			struct result l = lx_run(total, cases[c].lx_maxseg, &lmss);
			if (!t.ok || !l.ok) {
				fprintf(stderr, "bulk: %s run %d: data check FAILED (tide %s, linux %s)\n",
					cases[c].name, i, t.ok ? "ok" : "bad", l.ok ? "ok" : "bad");
				all_ok = false;
			}
			tw[i] = (double)total / t.wall;
			tc[i] = (double)total / t.cpu;
			lw[i] = (double)total / l.wall;
			fprintf(stderr,
				"bulk: %-30s run %d: tide %.3f GB/s (cpu %.3f GB/s, mss %d), linux %.3f GB/s (mss %d)\n",
				cases[c].name, i, tw[i] / 1e9, tc[i] / 1e9, tmss, lw[i] / 1e9, lmss);
		}
		double v = median(tw, runs), vc = median(tc, runs), ref = median(lw, runs);
		char note[512];
		snprintf(note, sizeof note,
			 "median of %d runs of %llu bytes, wall clock; tide: 2 stacks, 1 thread, "
			 "in-memory link, MTU %u (MSS %d%s), byte-checked; tide per CPU second "
			 "%.0f B/s; Linux: 2 threads (2 cores), MSS %d, %s",
			 runs, (unsigned long long)total, cases[c].mtu, tmss,
			 cases[c].mtu == 65535 ? ", ~64 KiB" : "", vc, lmss,
			 lx_forced ? "SO_SNDBUF/SO_RCVBUF 16 MiB (FORCE)"
				   : "SO_SNDBUF/SO_RCVBUF capped by net.core.*mem_max");
		printf("{\"bench\":\"bulk\",\"name\":\"%s\",\"value\":%.1f,\"unit\":\"B/s\","
		       "\"reference\":\"%s\",\"reference_value\":%.1f,\"ratio\":%.3f,"
		       "\"target\":\"≥ Linux\",\"meets_target\":%s,\"note\":\"%s\"}\n",
		       cases[c].name, v, cases[c].ref, ref, v / ref, v >= ref ? "true" : "false", note);
		fflush(stdout);
	}
	free(pattern);
	return all_ok ? 0 : 1;
}
