/*
 * Blind injection (RFC 5961, RFC 7323's PAWS, RFC 1337) on the simulated
 * network. An off-path attacker knows the 4-tuple but not the sequence
 * numbers; it forges RSTs, SYNs and data "from the client" while both
 * applications keep writing. Each test asserts the server's exact answer
 * (a challenge ACK <SEQ=SND.NXT><ACK=RCV.NXT>, a duplicate ACK, or
 * nothing), its states and counters, and at the end that every byte each
 * application wrote arrived once and in order and that the connection
 * closes normally (no RST from anyone). The Linux behaviour copied here
 * was measured on Linux 6.18.44 by injecting the same segments into a
 * loopback connection with a raw socket.
 *
 * Timing: the client (198.18.0.1:40000+i, ISN 100) and the server
 * (198.18.0.2:80, ISN 300) are 1 ms apart; the handshake ends at 3 ms.
 * Each application writes `rate` bytes every `period` ms at whole
 * milliseconds (TCP_NODELAY: each write leaves at once) and reads what has
 * arrived. Attacks leave at X.3 ms and arrive at X+1.3 ms, when nothing
 * else happens, so the server's answer is the segment it sends at that
 * instant; the server's SND.NXT and RCV.NXT just before it (read from its
 * internals) are what a challenge ACK must carry. The RST spray and the
 * window-edge test feed their segments straight into the server's stack
 * at a known instant (th_inject_raw); every answer still crosses the
 * network.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"
#include "inject.h"
#include "core/stack_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#define CPORT 40000
#define SPORT 80
#define MAXC 40
#define MS TIDE_MS(1)
#define OFFSET TIDE_US(300) /* attacks leave between the applications' writes */

#define AK TIDE_TCP_ACK
#define RST TIDE_TCP_RST
#define SYN TIDE_TCP_SYN
#define FIN TIDE_TCP_FIN
#define PA (TIDE_TCP_PSH | TIDE_TCP_ACK)

/* ---- application data --------------------------------------------------- */

/* One direction of one connection: what its writer wrote and its reader
 * read, checked byte by byte against a pattern that never repeats within
 * a test, so a byte lost, doubled, moved or forged shows. */
struct flow {
	const char *name;
	tide_stack *tx, *rx;
	int txfd, rxfd;
	uint64_t seed;
	size_t total, written, read;
	bool eof;
	int tx_err, rx_err; /* the first error other than EAGAIN */
};

static uint8_t pattern(uint64_t seed, size_t i)
{
	uint64_t x = (seed + (uint64_t)(i >> 3)) * 0x9e3779b97f4a7c15ull;
	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 29;
	return (uint8_t)(x >> ((i & 7) * 8));
}

static void flow_read(struct th *h, struct flow *f)
{
	uint8_t buf[4096];
	while (f->rxfd >= 0 && !f->eof && !f->rx_err) {
		ssize_t k = tide_recv(f->rx, f->rxfd, buf, sizeof(buf), 0);
		if (k == 0) {
			f->eof = true;
		} else if (k < 0) {
			if (errno != EAGAIN)
				f->rx_err = errno;
			return;
		}
		for (ssize_t i = 0; i < k; i++) {
			if (buf[i] != pattern(f->seed, f->read + (size_t)i)) {
				th_dump(h);
				fail_msg("%s: byte %zu read is %#x, the writer wrote %#x", f->name,
					 f->read + (size_t)i, buf[i],
					 pattern(f->seed, f->read + (size_t)i));
			}
		}
		if (k > 0)
			f->read += (size_t)k;
	}
}

static void flow_write(struct flow *f, size_t rate)
{
	uint8_t buf[4096];
	if (f->txfd < 0 || f->tx_err || f->written >= f->total)
		return;
	size_t n = f->total - f->written;
	if (n > rate)
		n = rate;
	if (n > sizeof(buf))
		n = sizeof(buf);
	for (size_t i = 0; i < n; i++)
		buf[i] = pattern(f->seed, f->written + i);
	ssize_t k = tide_send(f->tx, f->txfd, buf, n, 0);
	if (k > 0)
		f->written += (size_t)k;
	else if (k < 0 && errno != EAGAIN)
		f->tx_err = errno;
}

/* n connections between the client and the server, each with a flow both
 * ways. */
struct duo {
	struct th h;
	int n;
	int lfd;
	int cfd[MAXC], sfd[MAXC];
	struct flow up[MAXC], down[MAXC]; /* client -> server, server -> client */
	size_t rate;                      /* bytes per write */
	unsigned period;                  /* ms between writes */
};

static void nodelay(tide_stack *st, int fd)
{
	int one = 1;
	assert_int_equal(tide_setsockopt(st, fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
}

static uint16_t peer_port(tide_stack *st, int fd)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	assert_int_equal(tide_getpeername(st, fd, (struct sockaddr *)&sin, &len), 0);
	return ntohs(sin.sin_port);
}

/* Connects n clients (ports 40000..) at 0 ms; every handshake is over at
 * 3 ms. Each flow will carry `bytes`, `rate` bytes every `period` ms. */
static void duo_init(struct duo *d, int n, const char *client_settings,
		     const char *server_settings, size_t bytes, size_t rate, unsigned period)
{
	memset(d, 0, sizeof(*d));
	assert_true(n >= 1 && n <= MAXC);
	struct th_opts o = { .client_settings = client_settings,
			     .server_settings = server_settings };
	th_init(&d->h, &o);
	struct th *h = &d->h;
	d->n = n;
	d->rate = rate;
	d->period = period;
	d->lfd = th_listen(h, h->s, SPORT, 128);
	for (int i = 0; i < n; i++)
		d->cfd[i] = th_connect(h, h->c, TH_SERVER_ADDR, SPORT, (uint16_t)(CPORT + i));
	th_run_until(h, TIDE_MS(3));
	for (int i = 0; i < n; i++) {
		int fd = th_accept(h, h->s, d->lfd);
		int k = peer_port(h->S, fd) - CPORT;
		assert_true(k >= 0 && k < n && d->sfd[k] == 0);
		d->sfd[k] = fd;
	}
	for (int i = 0; i < n; i++) {
		assert_int_equal(tide_sock_state(h->C, d->cfd[i]), TIDE_TCP_ESTABLISHED);
		nodelay(h->C, d->cfd[i]);
		nodelay(h->S, d->sfd[i]);
		d->up[i] = (struct flow){ .name = "client->server", .tx = h->C, .rx = h->S,
					  .txfd = d->cfd[i], .rxfd = d->sfd[i],
					  .seed = 0x1000u + (uint64_t)i, .total = bytes };
		d->down[i] = (struct flow){ .name = "server->client", .tx = h->S, .rx = h->C,
					    .txfd = d->sfd[i], .rxfd = d->cfd[i],
					    .seed = 0x2000u + (uint64_t)i, .total = bytes };
	}
}

/* Reads happen at every whole millisecond, writes every `period` ms. */
static void duo_pump(struct duo *d)
{
	tide_time now = th_now(&d->h);
	if (now % MS)
		return;
	bool write = (now / MS) % d->period == 0;
	for (int i = 0; i < d->n; i++) {
		flow_read(&d->h, &d->up[i]);
		flow_read(&d->h, &d->down[i]);
		if (write) {
			flow_write(&d->up[i], d->rate);
			flow_write(&d->down[i], d->rate);
		}
	}
}

static void duo_run_until(struct duo *d, tide_time t)
{
	while (th_now(&d->h) < t) {
		duo_pump(d);
		tide_time next = (th_now(&d->h) / MS + 1) * MS;
		th_run_until(&d->h, next < t ? next : t);
	}
}

static void duo_run_for(struct duo *d, tide_time dt)
{
	duo_run_until(d, th_now(&d->h) + dt);
}

static bool duo_all_read(const struct duo *d)
{
	for (int i = 0; i < d->n; i++)
		if (d->up[i].read != d->up[i].total || d->down[i].read != d->down[i].total)
			return false;
	return true;
}

static bool flows_busy(const struct duo *d, int i)
{
	return d->up[i].written > d->up[i].read && d->down[i].written > d->down[i].read;
}

/* The server's connection i (internals: the test's oracle for SND.NXT and
 * RCV.NXT at the moment an attack arrives). */
static struct tcp_conn *server_conn(struct duo *d, int i)
{
	struct tide_conn_id k = { .laddr = TH_SERVER_ADDR, .raddr = TH_CLIENT_ADDR,
				  .lport = SPORT, .rport = (uint16_t)(CPORT + i) };
	struct tide_hentry *e = tide_htab_find(d->h.S, &k);
	assert_non_null(e);
	assert_int_equal(e->kind, TIDE_EH_CONN);
	return TIDE_CONTAINER_OF(e, struct tcp_conn, h);
}

static struct tcp_conn *client_conn(struct duo *d, int i)
{
	struct tide_conn_id k = { .laddr = TH_CLIENT_ADDR, .raddr = TH_SERVER_ADDR,
				  .lport = (uint16_t)(CPORT + i), .rport = SPORT };
	struct tide_hentry *e = tide_htab_find(d->h.C, &k);
	assert_non_null(e);
	assert_int_equal(e->kind, TIDE_EH_CONN);
	return TIDE_CONTAINER_OF(e, struct tcp_conn, h);
}

/* ---- the attacker ------------------------------------------------------- */

/* What the server had at the instant the attack arrived, before taking it. */
struct before {
	tide_time at;
	uint32_t snd_nxt, rcv_nxt, snd_una, max_window;
	uint64_t bytes_acked;
	uint32_t ts_recent;
	size_t nevents;
};

/* RCV.NXT the server will have when a segment sent now arrives: all the
 * client has sent so far (no loss, and nothing it sends later is there
 * sooner). */
static uint32_t rcv_nxt_at_arrival(struct duo *d, int i)
{
	return client_conn(d, i)->snd_nxt;
}

/* The attacker sends its segments now (they are on the record as the
 * client's); runs until just before they arrive and notes the server's
 * numbers, then runs to their arrival. */
static void attack_arrives(struct duo *d, int i, struct before *b)
{
	tide_time at = th_now(&d->h) + MS;
	duo_run_until(d, at - 1);
	struct tcp_conn *c = server_conn(d, i);
	*b = (struct before){ .at = at, .snd_nxt = c->snd_nxt, .rcv_nxt = c->rcv_nxt,
			      .snd_una = c->snd_una, .max_window = c->max_window,
			      .bytes_acked = c->bytes_acked, .ts_recent = c->ts_recent,
			      .nevents = d->h.nevents };
	duo_run_until(d, at);
}

static void forge(struct duo *d, int i, uint8_t flags, uint32_t seq, uint32_t ack,
		  const char *text, const struct tide_tcp_opts *o)
{
	th_inject(&d->h, d->h.c, (uint16_t)(CPORT + i), SPORT, flags, seq, ack, 1024, text,
		  text ? strlen(text) : 0, o);
}

/* The segments the server sent at b->at, in answer to what arrived then.
 * Fails if anything but the attack's arrivals and the server's sends
 * happened at that instant. Returns how many; *first is the index of the
 * first among all segments sent (for th_expect_seg). */
static size_t answers(struct duo *d, const struct before *b, size_t *first)
{
	struct th *h = &d->h;
	size_t nsent = 0, n = 0;
	for (size_t i = 0; i < b->nevents; i++)
		nsent += h->events[i].ev == TIDE_SIM_SENT;
	*first = SIZE_MAX;
	for (size_t i = b->nevents; i < h->nevents; i++) {
		const struct th_seg *e = &h->events[i];
		if (e->t != b->at)
			continue;
		if (e->ev == TIDE_SIM_SENT && e->from == h->s) {
			if (*first == SIZE_MAX)
				*first = nsent;
			n++;
		} else if (!(e->ev == TIDE_SIM_DELIVERED && e->from == h->c && e->to == h->s)) {
			th_dump(h);
			fail_msg("something else happened at the attack's arrival (event %zu)", i);
		}
		nsent += e->ev == TIDE_SIM_SENT;
	}
	return n;
}

/* The server answered with exactly n ACKs <SEQ=SND.NXT><ACK=RCV.NXT>. */
static void expect_acks(struct duo *d, const struct before *b, size_t n)
{
	size_t first;
	size_t got = answers(d, b, &first);
	if (got != n) {
		th_dump(&d->h);
		fail_msg("the server sent %zu segments when the attack arrived, expected %zu", got,
			 n);
	}
	for (size_t k = 0; k < n; k++)
		th_expect_seg_at(&d->h, first + k, b->at, d->h.s, AK, b->snd_nxt, b->rcv_nxt, 0);
}

static uint64_t ctr(tide_stack *st, enum tide_counter c)
{
	return tide_stack_counter(st, c);
}

/* The TSval the client put in its latest segment. */
static uint32_t client_last_tsval(struct duo *d)
{
	for (size_t i = d->h.nsegs; i-- > 0;)
		if (d->h.segs[i].from == d->h.c && (d->h.segs[i].opts.present & TIDE_OPT_TS))
			return d->h.segs[i].opts.tsval;
	fail_msg("no timestamp from the client");
	return 0;
}

static struct tide_tcp_opts ts_opt(uint32_t val, uint32_t ecr)
{
	struct tide_tcp_opts o;
	memset(&o, 0, sizeof(o));
	o.present = TIDE_OPT_TS;
	o.tsval = val;
	o.tsecr = ecr;
	return o;
}

/* ---- the end: everything arrived, the close is a normal one -------------- */

static void duo_drain(struct duo *d)
{
	tide_time limit = th_now(&d->h) + TIDE_SEC(30);
	while (!duo_all_read(d)) {
		if (th_now(&d->h) >= limit) {
			th_dump(&d->h);
			fail_msg("the data did not all arrive (client->server %zu/%zu, "
				 "server->client %zu/%zu)",
				 d->up[0].read, d->up[0].total, d->down[0].read, d->down[0].total);
		}
		duo_run_for(d, MS);
	}
	for (int i = 0; i < d->n; i++) {
		assert_int_equal(d->up[i].tx_err, 0);
		assert_int_equal(d->up[i].rx_err, 0);
		assert_int_equal(d->down[i].tx_err, 0);
		assert_int_equal(d->down[i].rx_err, 0);
	}
}

/* Every client closes; each server reads the end of file and closes. */
static void duo_close(struct duo *d)
{
	for (int i = 0; i < d->n; i++) {
		assert_int_equal(tide_close(d->h.C, d->cfd[i]), 0);
		d->down[i].rxfd = -1;
		d->up[i].txfd = -1;
	}
	tide_time limit = th_now(&d->h) + TIDE_SEC(5);
	for (int left = d->n; left > 0;) {
		if (th_now(&d->h) >= limit) {
			th_dump(&d->h);
			fail_msg("a server never read the end of file");
		}
		duo_run_for(d, MS);
		for (int i = 0; i < d->n; i++) {
			if (d->up[i].eof && d->sfd[i] >= 0) {
				assert_int_equal(tide_close(d->h.S, d->sfd[i]), 0);
				d->sfd[i] = -1;
				d->up[i].rxfd = -1;
				d->down[i].txfd = -1;
				left--;
			}
		}
	}
	th_run_for(&d->h, TIDE_SEC(1));
}

static void count_state(void *ctx, const struct tide_conn_info *ci)
{
	int *n = ctx;
	n[ci->state]++;
}

/* All data arrived, every connection closed normally: the clients are in
 * TIME_WAIT, the servers gone, nobody sent or took a RST. */
static void duo_finish_normally(struct duo *d)
{
	duo_drain(d);
	duo_close(d);
	int cs[16] = { 0 }, ss[16] = { 0 };
	tide_stack_foreach_conn(d->h.C, count_state, cs);
	tide_stack_foreach_conn(d->h.S, count_state, ss);
	assert_int_equal(cs[TIDE_TCP_TIME_WAIT], d->n);
	assert_int_equal(ss[TIDE_TCP_LISTEN], 1);
	assert_int_equal(ss[TIDE_TCP_LAST_ACK] + ss[TIDE_TCP_CLOSE_WAIT] +
				 ss[TIDE_TCP_ESTABLISHED],
			 0);
	assert_int_equal(ctr(d->h.C, TIDE_MIB_OutRsts), 0);
	assert_int_equal(ctr(d->h.S, TIDE_MIB_OutRsts), 0);
	assert_int_equal(ctr(d->h.C, TIDE_MIB_EstabResets), 0);
	assert_int_equal(ctr(d->h.S, TIDE_MIB_EstabResets), 0);
	for (int i = 0; i < d->n; i++) {
		assert_true(d->up[i].eof);
		assert_int_equal(d->up[i].read, d->up[i].total);
		assert_int_equal(d->down[i].read, d->down[i].total);
	}
}

/* The single connection's whole life, as both ends saw it. */
static void expect_normal_states(struct duo *d)
{
	static const int cl[] = { TIDE_TCP_SYN_SENT, TIDE_TCP_ESTABLISHED, TIDE_TCP_FIN_WAIT1,
				  TIDE_TCP_TIME_WAIT };
	static const int sv[] = { TIDE_TCP_LISTEN, TIDE_TCP_SYN_RECV, TIDE_TCP_ESTABLISHED,
				  TIDE_TCP_CLOSE_WAIT, TIDE_TCP_LAST_ACK, TIDE_TCP_CLOSED };
	th_expect_states(&d->h, d->h.c, cl, 4);
	th_expect_states(&d->h, d->h.s, sv, 6);
}

static void duo_free(struct duo *d)
{
	if (d->lfd >= 0)
		tide_close(d->h.S, d->lfd);
	th_free(&d->h);
}

/* ---- RST (RFC 5961 §3) ------------------------------------------------- */

/* The control case: a RST at exactly RCV.NXT is what a real reset looks
 * like, and it ends the connection at once (the attacker who guesses the
 * 32-bit number wins). The server's application sees ECONNRESET after the
 * intact bytes it had read; the client's next data finds no connection and
 * is answered with RSTs until one lands at the client's RCV.NXT. */
static void test_RFC5961_rst_at_rcv_nxt_resets(void **state)
{
	(void)state;
	struct duo d;
	duo_init(&d, 1, NULL, NULL, 100000, 1000, 1);
	struct th *h = &d.h;
	duo_run_until(&d, TIDE_MS(20) + OFFSET);
	assert_true(flows_busy(&d, 0));
	uint32_t nxt = rcv_nxt_at_arrival(&d, 0);
	forge(&d, 0, RST, nxt, 0, NULL, NULL);
	struct before b;
	attack_arrives(&d, 0, &b);
	assert_int_equal(b.rcv_nxt, nxt);
	expect_acks(&d, &b, 0);
	th_expect_state_at(h, h->s, 3, TIDE_MS(21) + OFFSET, TIDE_TCP_ESTABLISHED,
			   TIDE_TCP_CLOSED);
	assert_int_equal(ctr(h->S, TIDE_MIB_EstabResets), 1);
	duo_run_until(&d, TIDE_MS(100));
	/* Every byte read up to the reset was the right one (flow_read), and
	 * then the reset shows on both sides. */
	assert_int_equal(d.up[0].rx_err, ECONNRESET);
	assert_int_equal(d.down[0].rx_err, ECONNRESET);
	assert_true(d.up[0].read < d.up[0].written);
	assert_int_equal(tide_sock_state(h->C, d.cfd[0]), TIDE_TCP_CLOSED);
	assert_int_equal(ctr(h->C, TIDE_MIB_EstabResets), 1);
	assert_true(ctr(h->S, TIDE_MIB_OutRsts) >= 1);
	duo_free(&d);
}

/* A RST inside the window but not at RCV.NXT gets a challenge ACK and is
 * dropped: the connection goes on, and a real peer that had sent it would
 * answer the challenge with a RST at RCV.NXT. */
static void test_RFC5961_in_window_rst_gets_challenge_ack(void **state)
{
	(void)state;
	struct duo d;
	duo_init(&d, 1, NULL, NULL, 100000, 1000, 1);
	duo_run_until(&d, TIDE_MS(20) + OFFSET);
	assert_true(flows_busy(&d, 0));
	forge(&d, 0, RST, rcv_nxt_at_arrival(&d, 0) + 1000, 0, NULL, NULL);
	struct before b;
	attack_arrives(&d, 0, &b);
	expect_acks(&d, &b, 1);
	assert_int_equal(ctr(d.h.S, TIDE_MIB_TCPChallengeACK), 1);
	assert_int_equal(ctr(d.h.S, TIDE_MIB_DropTcpRst), 1);
	assert_int_equal(ctr(d.h.S, TIDE_MIB_TCPACKSkippedChallenge), 0);
	assert_int_equal(tide_sock_state(d.h.S, d.sfd[0]), TIDE_TCP_ESTABLISHED);
	duo_finish_normally(&d);
	expect_normal_states(&d);
	duo_free(&d);
}

/* RSTs outside the window, right of it or left of it, are dropped without
 * an answer (nothing to learn from them). */
static void test_RFC5961_out_of_window_rst_is_dropped_silently(void **state)
{
	(void)state;
	struct duo d;
	duo_init(&d, 1, NULL, NULL, 100000, 1000, 1);
	duo_run_until(&d, TIDE_MS(20) + OFFSET);
	uint32_t nxt = rcv_nxt_at_arrival(&d, 0);
	forge(&d, 0, RST, nxt + 0x80000000u, 0, NULL, NULL);
	forge(&d, 0, RST, nxt - 0x100000u, 0, NULL, NULL);
	forge(&d, 0, RST | AK, nxt + 0x40000000u, 301, NULL, NULL);
	struct before b;
	attack_arrives(&d, 0, &b);
	expect_acks(&d, &b, 0);
	assert_int_equal(ctr(d.h.S, TIDE_MIB_DropTcpSequence), 3);
	assert_int_equal(ctr(d.h.S, TIDE_MIB_TCPChallengeACK), 0);
	assert_int_equal(ctr(d.h.S, TIDE_MIB_TCPACKSkippedSeq), 0);
	duo_finish_normally(&d);
	expect_normal_states(&d);
	duo_free(&d);
}

/* The window's right edge is the one the server announced: RCV.WUP +
 * RCV.WND, the ACK and window of its latest segment (Linux's
 * tcp_sequence, tcp_receive_window), not RCV.NXT + RCV.WND: bytes taken
 * since that ACK do not stretch it. Only the server receives data here,
 * and ACKs every second segment, so at some instants RCV.NXT is 1000
 * past RCV.WUP; there a RST one byte beyond the announced edge is out of
 * the window (dropped, no answer) and a RST on the edge is in it (a
 * challenge ACK). The RSTs go straight into the server's stack at that
 * instant (th_inject_raw). */
static void test_RFC5961_window_right_edge_is_the_announced_one(void **state)
{
	(void)state;
	struct duo d;
	duo_init(&d, 1, NULL, NULL, 100000, 1000, 1);
	struct th *h = &d.h;
	d.down[0].total = 0; /* the server only ACKs */
	uint8_t wscale = th_seg(h, 1)->opts.wscale;
	duo_run_until(&d, TIDE_MS(20) + OFFSET);
	struct tcp_conn *c = server_conn(&d, 0);
	while (c->rcv_nxt == c->rcv_wup)
		duo_run_for(&d, MS);
	assert_true(th_now(h) < TIDE_MS(30));
	const struct th_seg *last = NULL;
	for (size_t i = h->nsegs; i-- > 0 && !last;)
		if (h->segs[i].from == h->s)
			last = &h->segs[i];
	uint32_t edge = last->ack + ((uint32_t)last->win << wscale);
	assert_int_equal(c->rcv_nxt - last->ack, 1000); /* taken, not ACKed yet */

	uint8_t pkt[80];
	size_t n = th_build_seg(h, h->c, pkt, sizeof(pkt), CPORT, SPORT, RST, edge + 1, 0, 0, NULL,
				0, NULL);
	size_t before = h->nsegs;
	assert_int_equal(th_inject_raw(h, h->s, pkt, n), -(int)TIDE_MIB_DropTcpSequence);
	th_expect_nsegs(h, before);
	uint32_t snd_nxt = c->snd_nxt, rcv_nxt = c->rcv_nxt;
	n = th_build_seg(h, h->c, pkt, sizeof(pkt), CPORT, SPORT, RST, edge, 0, 0, NULL, 0, NULL);
	assert_int_equal(th_inject_raw(h, h->s, pkt, n), -(int)TIDE_MIB_DropTcpRst);
	th_expect_nsegs(h, before + 1);
	th_expect_seg_at(h, before, th_now(h), h->s, AK, snd_nxt, rcv_nxt, 0);
	assert_int_equal(ctr(h->S, TIDE_MIB_TCPChallengeACK), 1);
	duo_finish_normally(&d);
	expect_normal_states(&d);
	duo_free(&d);
}

/* ---- SYN (RFC 5961 §4) ------------------------------------------------- */

/* A SYN in the window of an established connection gets a challenge ACK
 * and is dropped (Linux counts it in TCPSYNChallenge and, on ESTABLISHED,
 * InErrs); no new connection, no reset. */
static void test_RFC5961_in_window_syn_gets_challenge_ack(void **state)
{
	(void)state;
	struct duo d;
	duo_init(&d, 1, NULL, NULL, 100000, 1000, 1);
	duo_run_until(&d, TIDE_MS(30) + OFFSET);
	assert_true(flows_busy(&d, 0));
	forge(&d, 0, SYN, rcv_nxt_at_arrival(&d, 0) + 10, 0, NULL, NULL);
	struct before b;
	attack_arrives(&d, 0, &b);
	expect_acks(&d, &b, 1);
	assert_int_equal(ctr(d.h.S, TIDE_MIB_TCPSYNChallenge), 1);
	assert_int_equal(ctr(d.h.S, TIDE_MIB_TCPChallengeACK), 1);
	assert_int_equal(ctr(d.h.S, TIDE_MIB_InErrs), 1);
	assert_int_equal(ctr(d.h.S, TIDE_MIB_PassiveOpens), 1);
	duo_finish_normally(&d);
	expect_normal_states(&d);
	duo_free(&d);
}

/* A SYN outside the window gets the same challenge ACK (RFC 5961 §4.2
 * makes no difference; Linux 6.18 neither): a peer that rebooted learns
 * where the old connection is and resets it; an attacker learns nothing it
 * did not send. */
static void test_RFC5961_syn_outside_window_gets_challenge_ack(void **state)
{
	(void)state;
	struct duo d;
	duo_init(&d, 1, NULL, NULL, 100000, 1000, 1);
	duo_run_until(&d, TIDE_MS(30) + OFFSET);
	forge(&d, 0, SYN, rcv_nxt_at_arrival(&d, 0) + 0x40000000u, 0, NULL, NULL);
	struct before b;
	attack_arrives(&d, 0, &b);
	expect_acks(&d, &b, 1);
	assert_int_equal(ctr(d.h.S, TIDE_MIB_TCPSYNChallenge), 1);
	assert_int_equal(ctr(d.h.S, TIDE_MIB_TCPChallengeACK), 1);
	assert_int_equal(ctr(d.h.S, TIDE_MIB_DropTcpSequence), 1);
	duo_finish_normally(&d);
	expect_normal_states(&d);
	duo_free(&d);
}

/* ---- data with a forged ACK (RFC 5961 §5) -------------------------------- */

/* Data exactly at RCV.NXT, but acknowledging bytes the server never sent:
 * dropped with its text, and (Linux 6.18.44, "tcp: send a challenge ACK on
 * SEG.ACK > SND.NXT") challenged. The client's own bytes for those
 * sequence numbers arrive after it and are the ones the server reads. */
static void test_RFC5961_data_acking_beyond_snd_max_is_dropped(void **state)
{
	(void)state;
	struct duo d;
	duo_init(&d, 1, NULL, NULL, 100000, 1000, 1);
	duo_run_until(&d, TIDE_MS(40) + OFFSET);
	assert_true(flows_busy(&d, 0));
	uint32_t snd_max = server_conn(&d, 0)->snd_max;
	forge(&d, 0, PA, rcv_nxt_at_arrival(&d, 0), snd_max + 100000, "EVIL BYTES", NULL);
	struct before b;
	attack_arrives(&d, 0, &b);
	expect_acks(&d, &b, 1);
	assert_int_equal(server_conn(&d, 0)->rcv_nxt, b.rcv_nxt);
	assert_int_equal(ctr(d.h.S, TIDE_MIB_DropTcpAck), 1);
	assert_int_equal(ctr(d.h.S, TIDE_MIB_TCPChallengeACK), 1);
	duo_finish_normally(&d);
	expect_normal_states(&d);
	duo_free(&d);
}

/* Data at RCV.NXT acknowledging something older than SND.UNA -
 * MAX.SND.WND (RFC 5961 §5.2) is dropped with a challenge ACK; one at
 * exactly that limit would be acceptable (RFC 5961 leaves the attacker
 * that 1 in 2^32 / MAX.SND.WND chance). */
static void test_RFC5961_data_acking_below_snd_una_minus_max_window_is_dropped(void **state)
{
	(void)state;
	struct duo d;
	duo_init(&d, 1, NULL, NULL, 400000, 4000, 1);
	duo_run_until(&d, TIDE_MS(60) + OFFSET);
	assert_true(flows_busy(&d, 0));
	struct tcp_conn *c = server_conn(&d, 0);
	/* more acknowledged than the client's largest window: the limit is
	 * MAX.SND.WND itself, not the bytes acknowledged (Linux's clamp) */
	assert_true(c->bytes_acked > c->max_window);
	forge(&d, 0, PA, rcv_nxt_at_arrival(&d, 0), c->snd_una - c->max_window - 1, "EVIL BYTES",
	      NULL);
	struct before b;
	attack_arrives(&d, 0, &b);
	/* nothing the server sent was acknowledged between the two moments */
	assert_int_equal(server_conn(&d, 0)->snd_una, b.snd_una);
	expect_acks(&d, &b, 1);
	assert_int_equal(ctr(d.h.S, TIDE_MIB_DropTcpAck), 1);
	assert_int_equal(ctr(d.h.S, TIDE_MIB_TCPChallengeACK), 1);
	duo_finish_normally(&d);
	expect_normal_states(&d);
	duo_free(&d);
}

/* ---- PAWS (RFC 7323 §5) -------------------------------------------------- */

/* Data at RCV.NXT whose TSval is older than TS.Recent is a stale
 * duplicate or a forgery: dropped (PAWSEstab) and answered with a
 * duplicate ACK each time, without rate limit since it carries data
 * (Linux 6.18: three such segments, three answers); the same as pure ACKs
 * gets one answer per 500 ms (TCPACKSkippedPAWS). */
static void test_RFC7323_PAWS_old_timestamp_data_is_dropped(void **state)
{
	(void)state;
	struct duo d;
	duo_init(&d, 1, NULL, NULL, 100000, 1000, 1);
	duo_run_until(&d, TIDE_MS(30) + OFFSET);
	assert_true(flows_busy(&d, 0));
	uint32_t nxt = rcv_nxt_at_arrival(&d, 0);
	struct tide_tcp_opts old = ts_opt(client_last_tsval(&d) - 1000, 0);
	for (int k = 0; k < 3; k++)
		forge(&d, 0, PA, nxt, server_conn(&d, 0)->snd_una, "EVIL BYTES", &old);
	struct before b;
	attack_arrives(&d, 0, &b);
	expect_acks(&d, &b, 3);
	assert_int_equal(ctr(d.h.S, TIDE_MIB_PAWSEstab), 3);
	assert_int_equal(ctr(d.h.S, TIDE_MIB_TCPACKSkippedPAWS), 0);
	assert_int_equal(server_conn(&d, 0)->ts_recent, b.ts_recent);

	duo_run_until(&d, TIDE_MS(40) + OFFSET);
	nxt = rcv_nxt_at_arrival(&d, 0);
	old = ts_opt(client_last_tsval(&d) - 1000, 0);
	for (int k = 0; k < 3; k++)
		forge(&d, 0, AK, nxt, server_conn(&d, 0)->snd_una, NULL, &old);
	attack_arrives(&d, 0, &b);
	expect_acks(&d, &b, 1);
	assert_int_equal(ctr(d.h.S, TIDE_MIB_PAWSEstab), 6);
	assert_int_equal(ctr(d.h.S, TIDE_MIB_TCPACKSkippedPAWS), 2);
	duo_finish_normally(&d);
	expect_normal_states(&d);
	duo_free(&d);
}

/* A SYN with an old timestamp is not a PAWS duplicate to Linux but a SYN:
 * the challenge ACK of RFC 5961 §4 (TCPSYNChallenge, no PAWSEstab; Linux
 * 6.18), under the same per-connection limit. */
static void test_RFC7323_PAWS_old_timestamp_syn_gets_challenge_ack(void **state)
{
	(void)state;
	struct duo d;
	duo_init(&d, 1, NULL, NULL, 100000, 1000, 1);
	duo_run_until(&d, TIDE_MS(30) + OFFSET);
	struct tide_tcp_opts old = ts_opt(client_last_tsval(&d) - 1000, 0);
	for (int k = 0; k < 3; k++)
		forge(&d, 0, SYN, rcv_nxt_at_arrival(&d, 0) + 10, 0, NULL, &old);
	struct before b;
	attack_arrives(&d, 0, &b);
	expect_acks(&d, &b, 1);
	assert_int_equal(ctr(d.h.S, TIDE_MIB_TCPSYNChallenge), 3);
	assert_int_equal(ctr(d.h.S, TIDE_MIB_TCPChallengeACK), 1);
	assert_int_equal(ctr(d.h.S, TIDE_MIB_TCPACKSkippedChallenge), 2);
	assert_int_equal(ctr(d.h.S, TIDE_MIB_PAWSEstab), 0);
	duo_finish_normally(&d);
	expect_normal_states(&d);
	duo_free(&d);
}

/* ---- rate limits (RFC 5961 §7) ------------------------------------------- */

/* One answer per tcp_invalid_ratelimit (500 ms) per connection, on one
 * clock for the duplicate ACKs of out-of-window segments and the challenge
 * ACKs: an out-of-window ACK answered at 21.3 ms silences the challenges
 * until 521.3 ms (TCPACKSkippedSeq, TCPACKSkippedChallenge); 500 ms after
 * it, exactly, the next one goes. */
static void test_RFC5961_challenge_acks_rate_limited_per_connection(void **state)
{
	(void)state;
	struct duo d;
	duo_init(&d, 1, NULL, NULL, 600000, 1000, 1);
	struct th *h = &d.h;
	duo_run_until(&d, TIDE_MS(20) + OFFSET);
	uint32_t nxt = rcv_nxt_at_arrival(&d, 0);
	forge(&d, 0, AK, nxt + 0x40000000u, 301, NULL, NULL); /* out of window */
	forge(&d, 0, AK, nxt + 0x40000000u, 301, NULL, NULL);
	for (int k = 0; k < 9; k++)
		forge(&d, 0, RST, nxt + 1000 + (uint32_t)k, 0, NULL, NULL);
	struct before b;
	attack_arrives(&d, 0, &b); /* 21.3 ms */
	expect_acks(&d, &b, 1);    /* the first out-of-window ACK's */
	assert_int_equal(ctr(h->S, TIDE_MIB_TCPACKSkippedSeq), 1);
	assert_int_equal(ctr(h->S, TIDE_MIB_TCPACKSkippedChallenge), 9);
	assert_int_equal(ctr(h->S, TIDE_MIB_TCPChallengeACK), 0);

	duo_run_until(&d, TIDE_MS(270) + OFFSET);
	for (int k = 0; k < 5; k++)
		forge(&d, 0, RST, rcv_nxt_at_arrival(&d, 0) + 1000, 0, NULL, NULL);
	attack_arrives(&d, 0, &b); /* 271.3 ms */
	expect_acks(&d, &b, 0);
	assert_int_equal(ctr(h->S, TIDE_MIB_TCPACKSkippedChallenge), 14);

	duo_run_until(&d, TIDE_MS(519) + OFFSET);
	forge(&d, 0, RST, rcv_nxt_at_arrival(&d, 0) + 1000, 0, NULL, NULL);
	attack_arrives(&d, 0, &b); /* 520.3 ms: 499 ms on */
	expect_acks(&d, &b, 0);
	assert_int_equal(ctr(h->S, TIDE_MIB_TCPACKSkippedChallenge), 15);

	duo_run_until(&d, TIDE_MS(520) + OFFSET);
	forge(&d, 0, RST, rcv_nxt_at_arrival(&d, 0) + 1000, 0, NULL, NULL);
	forge(&d, 0, RST, rcv_nxt_at_arrival(&d, 0) + 2000, 0, NULL, NULL);
	attack_arrives(&d, 0, &b); /* 521.3 ms: 500 ms on */
	expect_acks(&d, &b, 1);
	assert_int_equal(b.at, TIDE_MS(521) + OFFSET);
	assert_int_equal(ctr(h->S, TIDE_MIB_TCPChallengeACK), 1);
	assert_int_equal(ctr(h->S, TIDE_MIB_TCPACKSkippedChallenge), 16);
	assert_int_equal(ctr(h->S, TIDE_MIB_DropTcpRst), 17);
	assert_true(flows_busy(&d, 0));
	duo_finish_normally(&d);
	expect_normal_states(&d);
	duo_free(&d);
}

/* One in-window RST on each of n connections, all at the same instant. */
static void rst_each(struct duo *d, struct before *b)
{
	for (int i = 0; i < d->n; i++)
		forge(d, i, RST, rcv_nxt_at_arrival(d, i) + 1000, 0, NULL, NULL);
	attack_arrives(d, 0, b);
}

static size_t answers_count(struct duo *d, const struct before *b)
{
	size_t first;
	size_t n = answers(d, b, &first);
	for (size_t k = 0; k < n; k++) {
		const struct th_seg *s = th_seg(&d->h, first + k);
		assert_int_equal(s->flags, AK);
		assert_int_equal(s->len, 0);
		struct tcp_conn *c = server_conn(d, s->dport - CPORT);
		assert_int_equal(s->ack, c->rcv_nxt);
		assert_int_equal(s->seq, c->snd_nxt);
	}
	return n;
}

/* tcp_challenge_ack_limit: on top of the per-connection limit, the whole
 * stack sends at most a budget of challenge ACKs per second of its clock,
 * drawn at each new second in [half, limit + half - 1] (Linux's
 * tcp_send_challenge_ack; half = (limit + 1) / 2), so that an attacker
 * cannot count the limit off the answers. With limit 10, 40 connections
 * each hit once at 2.0013 s get 5 to 14 answers (the draw is the stack's:
 * 5 with the harness's secret), the rest nothing and no counter; hit
 * again 500 ms later (past the per-connection limit), in the same second,
 * none (the budget is spent); at 3.0013 s a new budget (12). The default,
 * INT_MAX, is no limit: all 40; 0 is Linux's quirk: the draw's span wraps
 * to 2^32 values, so in effect no limit either (measured on Linux 6.18:
 * 40 of 40; limit 10 gave 5 of 40, limit 1 gave 1). */
static void test_RFC5961_challenge_ack_limit_is_stack_wide(void **state)
{
	(void)state;
	struct duo d;
	duo_init(&d, MAXC, NULL, "net.ipv4.tcp_challenge_ack_limit = 10\n", 40000, 1000, 100);
	struct th *h = &d.h;
	struct before b;

	duo_run_until(&d, TIDE_MS(2000) + OFFSET);
	rst_each(&d, &b);
	size_t first = answers_count(&d, &b);
	assert_in_range(first, 5, 14);
	assert_int_equal(first, 5);
	assert_int_equal(ctr(h->S, TIDE_MIB_TCPChallengeACK), first);
	assert_int_equal(ctr(h->S, TIDE_MIB_TCPACKSkippedChallenge), 0);
	assert_int_equal(ctr(h->S, TIDE_MIB_DropTcpRst), MAXC);

	duo_run_until(&d, TIDE_MS(2500) + OFFSET);
	rst_each(&d, &b);
	assert_int_equal(answers_count(&d, &b), 0);
	assert_int_equal(ctr(h->S, TIDE_MIB_TCPChallengeACK), first);
	assert_int_equal(ctr(h->S, TIDE_MIB_TCPACKSkippedChallenge), 0);

	duo_run_until(&d, TIDE_MS(3000) + OFFSET);
	rst_each(&d, &b);
	size_t second = answers_count(&d, &b);
	assert_in_range(second, 5, 14);
	assert_int_equal(second, 12);
	assert_int_equal(ctr(h->S, TIDE_MIB_TCPChallengeACK), first + second);

	tide_stack_settings(h->S)->tcp_challenge_ack_limit = INT_MAX;
	duo_run_until(&d, TIDE_MS(3600) + OFFSET);
	rst_each(&d, &b);
	assert_int_equal(answers_count(&d, &b), MAXC);

	tide_stack_settings(h->S)->tcp_challenge_ack_limit = 0;
	duo_run_until(&d, TIDE_MS(4200) + OFFSET);
	rst_each(&d, &b);
	assert_int_equal(answers_count(&d, &b), MAXC);
	assert_int_equal(ctr(h->S, TIDE_MIB_TCPChallengeACK), first + second + 2 * MAXC);
	assert_int_equal(ctr(h->S, TIDE_MIB_DropTcpRst), 5 * MAXC);
	assert_int_equal(ctr(h->S, TIDE_MIB_EstabResets), 0);
	duo_finish_normally(&d);
	duo_free(&d);
}

/* ---- a blind attacker sweeping the sequence space ---------------------- */

/* The attacker sprays RSTs 16 KiB apart over the whole 2^32 sequence
 * space (262,144 of them, 4096 a millisecond for 64 ms, starting at
 * 2^31) while data flows. The RSTs go straight into the server's stack
 * (th_inject_raw: a quarter of a million segments are not worth
 * recording); its answers go through the network as usual. Each RST is
 * judged against the window the server last announced on the wire,
 * [ACK, ACK + WIN << WSCALE] of its latest segment: inside, a challenge ACK
 * (one per 500 ms: the first), outside, silence. No RST lands on RCV.NXT
 * itself (checked): the connection survives; the attacker, who sees none
 * of the answers, learns nothing; the counters say how many. */
static void test_RFC5961_blind_rst_spray_across_sequence_space(void **state)
{
	(void)state;
	struct duo d;
	duo_init(&d, 1, NULL, NULL, 200000, 1000, 1);
	struct th *h = &d.h;
	uint8_t wscale = th_seg(h, 1)->opts.wscale; /* the server's SYN-ACK */
	assert_int_equal(th_seg(h, 1)->from, h->s);
	const uint32_t stride = 16384, per_ms = 4096;
	uint32_t seq = 0x80000000u + 12345u;
	uint64_t in_window = 0, outside = 0, sent = 0;
	tide_time first_hit = 0;
	uint64_t seq0 = ctr(h->S, TIDE_MIB_DropTcpSequence);
	size_t challenge_seg = 0;
	struct tcp_conn *c = server_conn(&d, 0);
	uint32_t challenge_seq = 0, challenge_ack = 0;
	for (int ms = 0; ms < 64; ms++) {
		duo_run_until(&d, TIDE_MS(10 + ms) + OFFSET);
		for (uint32_t k = 0; k < per_ms; k++, seq += stride, sent++) {
			const struct th_seg *last = NULL;
			for (size_t i = h->nsegs; i-- > 0;)
				if (h->segs[i].from == h->s) {
					last = &h->segs[i];
					break;
				}
			uint32_t left = last->ack, wnd = (uint32_t)last->win << wscale;
			bool inside = seq - left <= wnd;
			assert_true(seq != c->rcv_nxt);
			uint8_t pkt[80];
			size_t n = th_build_seg(h, h->c, pkt, sizeof(pkt), CPORT, SPORT, RST,
						seq, 0, 0, NULL, 0, NULL);
			assert_true(n > 0);
			size_t before = h->nsegs;
			uint32_t snd_nxt = c->snd_nxt, rcv_nxt = c->rcv_nxt;
			int r = th_inject_raw(h, h->s, pkt, n);
			if (inside) {
				assert_int_equal(r, -(int)TIDE_MIB_DropTcpRst);
				if (!in_window++) {
					first_hit = th_now(h);
					challenge_seg = before;
					challenge_seq = snd_nxt;
					challenge_ack = rcv_nxt;
					assert_int_equal(h->nsegs, before + 1);
				} else {
					assert_int_equal(h->nsegs, before);
				}
			} else {
				assert_int_equal(r, -(int)TIDE_MIB_DropTcpSequence);
				assert_int_equal(h->nsegs, before);
				outside++;
			}
		}
	}
	assert_int_equal(sent, 1u << 18);
	assert_int_equal(seq, 0x80000000u + 12345u); /* once round */
	assert_true(in_window >= 4);
	th_expect_seg_at(h, challenge_seg, first_hit, h->s, AK, challenge_seq, challenge_ack, 0);
	assert_int_equal(ctr(h->S, TIDE_MIB_DropTcpRst), in_window);
	assert_int_equal(ctr(h->S, TIDE_MIB_DropTcpSequence) - seq0, outside);
	assert_int_equal(ctr(h->S, TIDE_MIB_TCPChallengeACK), 1);
	assert_int_equal(ctr(h->S, TIDE_MIB_TCPACKSkippedChallenge), in_window - 1);
	assert_int_equal(ctr(h->S, TIDE_MIB_EstabResets), 0);
	assert_true(flows_busy(&d, 0));
	duo_finish_normally(&d);
	expect_normal_states(&d);
	duo_free(&d);
}

/* ---- TIME_WAIT assassination (RFC 1337, LC-K15) -------------------------- */

/* Where the client's record stands. */
static struct tcp_tw *client_tw(struct duo *d)
{
	struct tide_conn_id k = { .laddr = TH_CLIENT_ADDR, .raddr = TH_SERVER_ADDR,
				  .lport = CPORT, .rport = SPORT };
	struct tide_hentry *e = tide_htab_find(d->h.C, &k);
	return e && e->kind == TIDE_EH_TW ? TIDE_CONTAINER_OF(e, struct tcp_tw, h) : NULL;
}

static void drop_clients_next_pure_ack(struct th *h)
{
	struct tide_fault f;
	memset(&f, 0, sizeof(f));
	f.from = h->c;
	f.flags_mask = 0xff;
	f.flags_match = AK;
	f.no_payload = true;
	f.nth = 1;
	f.count = 1;
	f.action = TIDE_FAULT_DROP;
	assert_true(tide_sim_add_fault(h->sim, &f) >= 0);
}

/* Both applications exchange 20,000 bytes; then the client closes at T,
 * its FIN reaches the server at T+1, whose application reads the end of
 * file and closes at once: its FIN carries the ACK (T+1). The client's
 * ACK of that FIN (T+2) is lost, so the server in LAST_ACK will send its
 * FIN again after its RTO (*rto). Runs to T+2.3 ms, the client in
 * TIME_WAIT, and returns T. */
static tide_time close_losing_last_ack(struct duo *d, tide_time *rto)
{
	struct th *h = &d->h;
	duo_drain(d);
	duo_run_for(d, TIDE_MS(100)); /* every delayed ACK is out */
	tide_time t = th_now(h);
	assert_int_equal(tide_close(h->C, d->cfd[0]), 0);
	d->down[0].rxfd = -1;
	d->up[0].txfd = -1;
	duo_run_until(d, t + MS);
	flow_read(h, &d->up[0]);
	assert_true(d->up[0].eof);
	drop_clients_next_pure_ack(h);
	*rto = server_conn(d, 0)->rto_us;
	assert_int_equal(tide_close(h->S, d->sfd[0]), 0);
	d->sfd[0] = -1;
	d->up[0].rxfd = -1;
	d->down[0].txfd = -1;
	duo_run_until(d, t + 2 * MS + OFFSET);
	assert_non_null(client_tw(d));
	return t;
}

/* LC-K15, tcp_rfc1337 = 0 (Linux's default): the RST at the record's
 * RCV.NXT ends TIME_WAIT on arrival (T+3.3 ms), silently; the server's
 * FIN retransmission (at its RTO after T+1) then finds no
 * connection and gets a RST, so the server's close ends in a reset
 * instead of an ACK: the hazard RFC 1337 describes. The data had arrived
 * intact before. */
static void test_LC_K15_rst_kills_time_wait_and_peer_close_ends_in_rst(void **state)
{
	(void)state;
	struct duo d;
	duo_init(&d, 1, NULL, NULL, 20000, 1000, 1);
	struct th *h = &d.h;
	tide_time rto;
	tide_time t = close_losing_last_ack(&d, &rto);
	struct tcp_tw *tw = client_tw(&d);
	uint32_t tw_rcv_nxt = tw->rcv_nxt;
	th_inject(h, h->s, SPORT, CPORT, RST, tw_rcv_nxt, 0, 0, NULL, 0, NULL);
	th_run_until(h, t + TIDE_SEC(2));
	static const int cl[] = { TIDE_TCP_SYN_SENT, TIDE_TCP_ESTABLISHED, TIDE_TCP_FIN_WAIT1,
				  TIDE_TCP_TIME_WAIT, TIDE_TCP_CLOSED };
	th_expect_states(h, h->c, cl, 5);
	th_expect_state_at(h, h->c, 4, t + 3 * MS + OFFSET, TIDE_TCP_TIME_WAIT, TIDE_TCP_CLOSED);
	assert_null(client_tw(&d));
	/* the server's FIN again, answered with <SEQ=SEG.ACK><CTL=RST> */
	const struct th_seg *fin = NULL, *rst = NULL;
	for (size_t i = 0; i < h->nsegs; i++) {
		const struct th_seg *s = &h->segs[i];
		if (s->t > t + 3 * MS + OFFSET && s->from == h->s && (s->flags & FIN) && !fin)
			fin = s;
		if (s->t > t + 3 * MS + OFFSET && s->from == h->c && (s->flags & RST) && !rst)
			rst = s;
	}
	assert_non_null(fin);
	assert_non_null(rst);
	assert_int_equal(fin->t, t + MS + rto);
	assert_int_equal(rst->t, fin->t + MS);
	assert_int_equal(rst->flags, RST);
	assert_int_equal(rst->seq, fin->ack);
	static const int sv[] = { TIDE_TCP_LISTEN, TIDE_TCP_SYN_RECV, TIDE_TCP_ESTABLISHED,
				  TIDE_TCP_CLOSE_WAIT, TIDE_TCP_LAST_ACK, TIDE_TCP_CLOSED };
	th_expect_states(h, h->s, sv, 6);
	th_expect_state_at(h, h->s, 5, rst->t + MS, TIDE_TCP_LAST_ACK, TIDE_TCP_CLOSED);
	assert_int_equal(ctr(h->C, TIDE_MIB_OutRsts), 1);
	assert_int_equal(d.up[0].read, d.up[0].total);
	assert_int_equal(d.down[0].read, d.down[0].total);
	duo_free(&d);
}

/* LC-K15, tcp_rfc1337 = 1: the same RST is ignored; the record ACKs the
 * server's retransmitted FIN, the server's close ends normally, and the
 * record lives 60 s from that FIN (a FIN restarts 2MSL). */
static void test_LC_K15_rfc1337_time_wait_survives_rst(void **state)
{
	(void)state;
	struct duo d;
	duo_init(&d, 1, "net.ipv4.tcp_rfc1337 = 1\n", NULL, 20000, 1000, 1);
	struct th *h = &d.h;
	tide_time rto;
	tide_time t = close_losing_last_ack(&d, &rto);
	struct tcp_tw *tw = client_tw(&d);
	th_inject(h, h->s, SPORT, CPORT, RST, tw->rcv_nxt, 0, 0, NULL, 0, NULL);
	th_run_until(h, t + TIDE_SEC(2));
	assert_non_null(client_tw(&d));
	const struct th_seg *fin = NULL, *ack = NULL;
	for (size_t i = 0; i < h->nsegs; i++) {
		const struct th_seg *s = &h->segs[i];
		if (s->t > t + 3 * MS && s->from == h->s && (s->flags & FIN) && !fin)
			fin = s;
		if (s->t > t + 3 * MS && s->from == h->c && !ack)
			ack = s;
	}
	assert_non_null(fin);
	assert_non_null(ack);
	assert_int_equal(fin->t, t + MS + rto);
	assert_int_equal(ack->t, fin->t + MS);
	assert_int_equal(ack->flags, AK);
	assert_int_equal(ack->seq, fin->ack);
	assert_int_equal(ack->ack, fin->seq + 1);
	static const int sv[] = { TIDE_TCP_LISTEN, TIDE_TCP_SYN_RECV, TIDE_TCP_ESTABLISHED,
				  TIDE_TCP_CLOSE_WAIT, TIDE_TCP_LAST_ACK, TIDE_TCP_CLOSED };
	th_expect_states(h, h->s, sv, 6);
	th_expect_state_at(h, h->s, 5, ack->t + MS, TIDE_TCP_LAST_ACK, TIDE_TCP_CLOSED);
	assert_int_equal(ctr(h->C, TIDE_MIB_OutRsts), 0);
	assert_int_equal(ctr(h->S, TIDE_MIB_OutRsts), 0);
	tide_time tw_end = ack->t + TIDE_SEC(60);
	th_run_until(h, tw_end - 1);
	assert_non_null(client_tw(&d));
	th_run_until(h, tw_end);
	th_expect_state_at(h, h->c, 4, tw_end, TIDE_TCP_TIME_WAIT, TIDE_TCP_CLOSED);
	assert_int_equal(d.up[0].read, d.up[0].total);
	assert_int_equal(d.down[0].read, d.down[0].total);
	duo_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_RFC5961_rst_at_rcv_nxt_resets),
		cmocka_unit_test(test_RFC5961_in_window_rst_gets_challenge_ack),
		cmocka_unit_test(test_RFC5961_out_of_window_rst_is_dropped_silently),
		cmocka_unit_test(test_RFC5961_window_right_edge_is_the_announced_one),
		cmocka_unit_test(test_RFC5961_in_window_syn_gets_challenge_ack),
		cmocka_unit_test(test_RFC5961_syn_outside_window_gets_challenge_ack),
		cmocka_unit_test(test_RFC5961_data_acking_beyond_snd_max_is_dropped),
		cmocka_unit_test(
			test_RFC5961_data_acking_below_snd_una_minus_max_window_is_dropped),
		cmocka_unit_test(test_RFC7323_PAWS_old_timestamp_data_is_dropped),
		cmocka_unit_test(test_RFC7323_PAWS_old_timestamp_syn_gets_challenge_ack),
		cmocka_unit_test(test_RFC5961_challenge_acks_rate_limited_per_connection),
		cmocka_unit_test(test_RFC5961_challenge_ack_limit_is_stack_wide),
		cmocka_unit_test(test_RFC5961_blind_rst_spray_across_sequence_space),
		cmocka_unit_test(test_LC_K15_rst_kills_time_wait_and_peer_close_ends_in_rst),
		cmocka_unit_test(test_LC_K15_rfc1337_time_wait_survives_rst),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
