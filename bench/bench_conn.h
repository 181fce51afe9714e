/*
 * bench/bench_conn.h — helpers shared by bench/memory.c and bench/timers.c:
 * a server stack (198.18.0.1:80, listening with every backlog raised) and
 * hand-built peer packets that put connection number i into a given state.
 * Peer i is 198.18.1.(1 + i / 60000) port 1024 + i % 60000.
 * Uses the stack's internal headers (src/core/stack_int.h).
 */
#ifndef BENCH_CONN_H
#define BENCH_CONN_H

#include "core/stack_int.h"
#include <tide/tide.h>
#include <tide/socket.h>
#include <tide/wire.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BC_SERVER 0xC6120001u /* 198.18.0.1 */
#define BC_PORT 80
#define BC_PEER_ISN 1000u

static inline double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

struct bconn_ctx {
	tide_stack *st;
	int lfd;
	struct tide_sock *lsk;
	tide_time now;
	/* the last segment the stack sent */
	uint8_t flags;
	uint32_t seq, ack;
	uint64_t out_pkts;
	uint8_t buf[128];
};

static void bconn_output(void *ctx, const uint8_t *pkt, size_t len)
{
	struct bconn_ctx *b = ctx;
	struct tide_ipv4 ip;
	struct tide_tcp th;
	b->out_pkts++;
	if (tide_ipv4_parse(pkt, len, &ip) != TIDE_WIRE_OK || ip.protocol != TIDE_IPPROTO_TCP)
		return;
	if (tide_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, false, &th) != TIDE_WIRE_OK)
		return;
	b->flags = th.flags;
	b->seq = th.seq;
	b->ack = th.ack;
}

static inline uint32_t bconn_peer_addr(uint32_t i) { return 0xC6120101u + i / 60000u; }
static inline uint16_t bconn_peer_port(uint32_t i) { return (uint16_t)(1024u + i % 60000u); }

static inline struct tide_conn_id bconn_id(uint32_t i)
{
	struct tide_conn_id k = { BC_SERVER, bconn_peer_addr(i), BC_PORT, bconn_peer_port(i) };
	return k;
}

/* Sends peer i's segment into the stack. */
static inline int bconn_send(struct bconn_ctx *b, uint32_t i, uint32_t seq, uint32_t ack, uint8_t flags,
			     const void *data, size_t dlen)
{
	struct tide_tcp_opts o;
	memset(&o, 0, sizeof(o));
	if (flags & TIDE_TCP_SYN) {
		o.present = TIDE_OPT_MSS;
		o.mss = 1460;
	}
	uint32_t src = bconn_peer_addr(i);
	size_t tl = tide_tcp_build(b->buf + TIDE_IPV4_HLEN, sizeof(b->buf) - TIDE_IPV4_HLEN, src,
				   BC_SERVER, bconn_peer_port(i), BC_PORT, seq, ack, flags, 65535, &o,
				   data, dlen);
	size_t il = tide_ipv4_build(b->buf, sizeof(b->buf), src, BC_SERVER, TIDE_IPPROTO_TCP,
				    (uint16_t)tl, 64, 0, true);
	return tide_stack_input(b->st, b->buf, il + tl, b->now);
}

static inline struct bconn_ctx *bconn_new(uint32_t n)
{
	struct bconn_ctx *b = calloc(1, sizeof(*b));
	struct tide_config cfg;
	tide_config_init(&cfg);
	cfg.addr = BC_SERVER;
	cfg.secret = 0x5eed;
	cfg.output = bconn_output;
	cfg.output_ctx = b;
	uint32_t big = n * 2 + 1024;
	if (big > 0x7fffffff)
		big = 0x7fffffff;
	cfg.settings.somaxconn = (int)big;
	cfg.settings.tcp_max_syn_backlog = (int)big;
	cfg.settings.tcp_syncookies = 0;
	cfg.settings.tcp_max_tw_buckets = (int)big;
	cfg.settings.tcp_max_orphans = (int)big;
	b->now = TIDE_SEC(1);
	b->st = tide_stack_new(&cfg, b->now);
	if (!b->st) {
		perror("tide_stack_new");
		exit(1);
	}
	b->lfd = tide_socket(b->st, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(BC_PORT);
	sa.sin_addr.s_addr = htonl(BC_SERVER);
	if (b->lfd < 0 || tide_bind(b->st, b->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    tide_listen(b->st, b->lfd, (int)big) != 0) {
		perror("listen");
		exit(1);
	}
	b->lsk = b->st->fds.a[b->lfd].obj;
	return b;
}

static inline void bconn_free(struct bconn_ctx *b)
{
	tide_stack_free(b->st);
	free(b);
}

/* Peer i: SYN. Leaves a SYN_RECV request; returns the server's ISS. */
static inline uint32_t bconn_syn(struct bconn_ctx *b, uint32_t i)
{
	b->flags = 0;
	bconn_send(b, i, BC_PEER_ISN, 0, TIDE_TCP_SYN, NULL, 0);
	if (b->flags != (TIDE_TCP_SYN | TIDE_TCP_ACK)) {
		fprintf(stderr, "bench: no SYN-ACK for peer %u\n", i);
		exit(1);
	}
	return b->seq;
}

/* Peer i: SYN, ACK. Leaves an ESTABLISHED connection in the accept queue;
 * returns the server's ISS. */
static inline uint32_t bconn_establish(struct bconn_ctx *b, uint32_t i)
{
	uint32_t iss = bconn_syn(b, i);
	bconn_send(b, i, BC_PEER_ISN + 1, iss + 1, TIDE_TCP_ACK, NULL, 0);
	return iss;
}

/* Peer i: handshake; the server accepts and closes; the peer ACKs the FIN
 * and sends its own: a TIME_WAIT record on the server. */
static inline void bconn_time_wait(struct bconn_ctx *b, uint32_t i)
{
	bconn_establish(b, i);
	int fd = tide_accept(b->st, b->lfd, NULL, NULL, 0);
	if (fd < 0) {
		fprintf(stderr, "bench: accept failed for peer %u\n", i);
		exit(1);
	}
	b->flags = 0;
	tide_close(b->st, fd);
	if (!(b->flags & TIDE_TCP_FIN)) {
		fprintf(stderr, "bench: no FIN for peer %u\n", i);
		exit(1);
	}
	bconn_send(b, i, BC_PEER_ISN + 1, b->seq + 1, TIDE_TCP_FIN | TIDE_TCP_ACK, NULL, 0);
}

/* The connection of peer i (NULL if it is not a full connection). */
static inline struct tcp_conn *bconn_conn(struct bconn_ctx *b, uint32_t i)
{
	struct tide_conn_id k = bconn_id(i);
	struct tide_hentry *e = tide_htab_find(b->st, &k);
	if (!e || e->kind != TIDE_EH_CONN)
		return NULL;
	return TIDE_CONTAINER_OF(e, struct tcp_conn, h);
}

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static inline double bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif
