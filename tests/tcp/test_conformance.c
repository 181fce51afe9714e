/*
 * The behaviours packetdrill's own TCP scripts (gtests/net/tcp: close,
 * shutdown, blocking, epoll, user_timeout, syscall_bad_arg) and gVisor's
 * packetdrill tests check, in tide's own terms (README, section
 * packetdrill, maps each script to its test here or elsewhere).
 *
 * One tide stack is under test; the other side is played by hand-made
 * segments (inject.h), as packetdrill plays it: a filter drops everything
 * addressed to the other harness node, so that node's own stack never
 * answers. Sequence numbers are written relative, like a script's: the
 * peer's ISN is PEER_ISN and tide's is read from its SYN or SYN-ACK.
 * The link's one-way delay is 1 ms, so a segment injected at t reaches
 * tide at t + 1 ms and tide's answer is logged at that time.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"
#include "inject.h"

#include <errno.h>
#include <string.h>

#define SYN TIDE_TCP_SYN
#define ACK TIDE_TCP_ACK
#define FIN TIDE_TCP_FIN
#define RST TIDE_TCP_RST
#define PSH TIDE_TCP_PSH
#define FA (FIN | ACK)
#define PA (PSH | ACK)

#define PEER_PORT 40000
#define TIDE_PORT 80
#define PEER_ISN 5000u
#define D TIDE_MS(1) /* one-way delay */

/* A connection between tide (node `me`) and an injected peer (node `peer`). */
struct pd {
	struct th h;
	int me, peer;
	tide_stack *st;
	int lfd, fd;
	uint32_t iss; /* tide's ISN */
	uint16_t myport, peerport;
};

/* Packets to the scripted peer's node never reach its stack. */
static bool drop_to_peer(void *ctx, tide_time now, int from, int to, const uint8_t *pkt,
			 size_t len)
{
	(void)now, (void)from, (void)pkt, (void)len;
	return to == ((struct pd *)ctx)->peer;
}

static void pd_init(struct pd *p, bool tide_is_server)
{
	memset(p, 0, sizeof(*p));
	th_init(&p->h, NULL);
	p->me = tide_is_server ? p->h.s : p->h.c;
	p->peer = tide_is_server ? p->h.c : p->h.s;
	p->st = th_stack(&p->h, p->me);
	p->myport = tide_is_server ? TIDE_PORT : PEER_PORT;
	p->peerport = tide_is_server ? PEER_PORT : TIDE_PORT;
	p->lfd = p->fd = -1;
	tide_sim_set_filter(p->h.sim, drop_to_peer, p);
}

/* The peer sends a segment now; seq and ack are relative to the ISNs. */
static void pin(struct pd *p, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win,
		size_t len)
{
	static const char zeros[8000];
	assert_true(len <= sizeof(zeros));
	th_inject(&p->h, p->peer, p->peerport, p->myport, flags, PEER_ISN + seq,
		  (flags & ACK) ? p->iss + ack : 0, win, len ? zeros : NULL, len, NULL);
}

/* The peer's data [seq, seq + len) in segments of its MSS, all sent now
 * (a script's large segments are what GRO made of such a train). */
static void pin_data(struct pd *p, uint32_t seq, uint32_t ack, size_t len)
{
	for (size_t off = 0; off < len; off += 1000) {
		size_t n = len - off < 1000 ? len - off : 1000;
		pin(p, off + n == len ? PA : ACK, seq + (uint32_t)off, ack, 257, n);
	}
}

/* The peer's SYN: mss 1000, sackOK, wscale 7. */
static void pin_syn(struct pd *p, uint16_t win)
{
	struct tide_tcp_opts o;
	memset(&o, 0, sizeof(o));
	o.present = TIDE_OPT_MSS | TIDE_OPT_SACK_OK | TIDE_OPT_WSCALE;
	o.mss = 1000;
	o.wscale = 7;
	th_inject(&p->h, p->peer, p->peerport, p->myport, SYN, PEER_ISN, 0, win, NULL, 0, &o);
}

/* The k-th segment tide sent (0: the first). */
static const struct th_seg *out(struct pd *p, size_t k)
{
	for (size_t i = 0; i < p->h.nsegs; i++)
		if (p->h.segs[i].from == p->me && k-- == 0)
			return &p->h.segs[i];
	th_dump(&p->h);
	fail_msg("tide sent fewer segments than expected");
	return NULL;
}

static size_t nout(struct pd *p)
{
	size_t n = 0;
	for (size_t i = 0; i < p->h.nsegs; i++)
		n += p->h.segs[i].from == p->me;
	return n;
}

/* tide's k-th segment: exact time, flags, relative seq and ack, length. */
#define OUT(p, k, t, fl, sq, ak, ln) out_at(p, k, t, fl, sq, ak, ln, __LINE__)
static void out_at(struct pd *p, size_t k, tide_time t, uint8_t flags, uint32_t seq,
		   uint32_t ack, size_t len, int line)
{
	const struct th_seg *s = out(p, k);
	uint32_t want_ack = (flags & ACK) ? PEER_ISN + ack : 0;
	if (s->t != t || s->flags != flags || s->seq != p->iss + seq ||
	    ((flags & ACK) && s->ack != want_ack) || s->len != len) {
		th_dump(&p->h);
		fail_msg("line %d: tide's segment %zu: got t=%llu flags=0x%02x seq=%u ack=%u len=%zu, "
			 "expected t=%llu flags=0x%02x seq=%u ack=%u len=%zu",
			 line, k, (unsigned long long)s->t, s->flags, s->seq - p->iss,
			 s->ack - PEER_ISN, s->len, (unsigned long long)t, flags, seq, ack, len);
	}
}

/* tide answered a train of data arriving at t with pure ACKs only (quick
 * ACKs: one a segment while in quick-ACK mode), the last ACKing `ack`;
 * segments 0..from-1 came before. Returns how many tide has sent. */
#define ACKED(p, from, t, ak) acked_at(p, from, t, ak, __LINE__)
static size_t acked_at(struct pd *p, size_t from, tide_time t, uint32_t ack, int line)
{
	size_t n = nout(p);
	bool ok = n > from;
	for (size_t k = from; ok && k < n; k++) {
		const struct th_seg *s = out(p, k);
		ok = s->t == t && s->flags == ACK && s->len == 0 && s->seq == p->iss + 1;
	}
	if (ok)
		ok = out(p, n - 1)->ack == PEER_ISN + ack;
	if (!ok) {
		th_dump(&p->h);
		fail_msg("line %d: expected pure ACKs from tide's segment %zu at t=%llu, the last "
			 "with ack %u",
			 line, from, (unsigned long long)t, ack);
	}
	return n;
}

#define NOUT(p, n) nout_is(p, n, __LINE__)
static void nout_is(struct pd *p, size_t n, int line)
{
	if (nout(p) != n) {
		th_dump(&p->h);
		fail_msg("line %d: tide sent %zu segments, expected %zu", line, nout(p), n);
	}
}

/* Passive open as the scripts do it: listen, the peer's SYN at 0, tide's
 * SYN-ACK at 1 ms, the peer's ACK (win) injected at `ack_at`, accept at
 * its arrival. Leaves the clock at ack_at + 1 ms. */
static void pd_accept(struct pd *p, uint16_t syn_win, tide_time ack_at, uint16_t win)
{
	pd_init(p, true);
	p->lfd = th_listen(&p->h, p->me, TIDE_PORT, 1);
	pin_syn(p, syn_win);
	th_run_until(&p->h, D);
	const struct th_seg *sa = out(p, 0);
	assert_int_equal(sa->flags, SYN | ACK);
	assert_int_equal(sa->t, D);
	assert_int_equal(sa->ack, PEER_ISN + 1);
	assert_int_equal(sa->opts.mss, 1460);
	assert_true(sa->opts.present & TIDE_OPT_SACK_OK);
	p->iss = sa->seq;
	th_run_until(&p->h, ack_at);
	pin(p, ACK, 1, 1, win, 0);
	th_run_until(&p->h, ack_at + D);
	p->fd = th_accept(&p->h, p->me, p->lfd);
}

static void pd_free(struct pd *p)
{
	if (p->fd >= 0)
		tide_close(p->st, p->fd);
	if (p->lfd >= 0)
		tide_close(p->st, p->lfd);
	th_free(&p->h);
}

static void expect_errno(ssize_t r, int err)
{
	assert_int_equal(r, -1);
	assert_int_equal(errno, err);
}

static ssize_t pd_write(struct pd *p, size_t n)
{
	static char buf[200000];
	assert_true(n <= sizeof(buf));
	errno = 0;
	return tide_send(p->st, p->fd, buf, n, MSG_NOSIGNAL);
}

static ssize_t pd_read(struct pd *p, size_t n)
{
	static char buf[200000];
	assert_true(n <= sizeof(buf));
	errno = 0;
	return tide_recv(p->st, p->fd, buf, n, 0);
}

/* ---- close/ ------------------------------------------------------------ */

/* LC-C01 from the closing side: data, close, the peer ACKs the FIN
 * (FIN_WAIT_2), then sends its own FIN, which tide ACKs at once on
 * entering TIME_WAIT. */
static void test_LC_C01_PD_close_local_close_then_remote_fin(void **state)
{
	(void)state;
	struct pd p;
	pd_init(&p, false);
	p.fd = th_connect(&p.h, p.me, TH_SERVER_ADDR, TIDE_PORT, PEER_PORT);
	const struct th_seg *syn = out(&p, 0);
	assert_int_equal(syn->flags, SYN);
	assert_int_equal(syn->t, 0);
	p.iss = syn->seq;
	th_run_until(&p.h, TIDE_MS(10));
	struct tide_tcp_opts o;
	memset(&o, 0, sizeof(o));
	o.present = TIDE_OPT_MSS | TIDE_OPT_WSCALE | TIDE_OPT_SACK_OK;
	o.mss = 1000;
	o.wscale = 6;
	th_inject(&p.h, p.peer, TIDE_PORT, PEER_PORT, SYN | ACK, PEER_ISN, p.iss + 1, 32768, NULL,
		  0, &o);
	th_run_until(&p.h, TIDE_MS(11));
	OUT(&p, 1, TIDE_MS(11), ACK, 1, 1, 0);
	assert_int_equal(tide_sock_state(p.st, p.fd), TIDE_TCP_ESTABLISHED);
	assert_int_equal(pd_write(&p, 1000), 1000);
	OUT(&p, 2, TIDE_MS(11), PA, 1, 1, 1000);
	pin(&p, ACK, 1, 1001, 257, 0);
	th_run_until(&p.h, TIDE_MS(12));
	assert_int_equal(tide_close(p.st, p.fd), 0);
	OUT(&p, 3, TIDE_MS(12), FA, 1001, 1, 0);
	pin(&p, ACK, 1, 1002, 257, 0);
	th_run_until(&p.h, TIDE_MS(13));
	pin(&p, FA, 1, 1002, 257, 0);
	th_run_until(&p.h, TIDE_MS(14));
	OUT(&p, 4, TIDE_MS(14), ACK, 1002, 2, 0);
	NOUT(&p, 5);
	th_expect_state_at(&p.h, p.me, 3, TIDE_MS(13), TIDE_TCP_FIN_WAIT1, TIDE_TCP_FIN_WAIT2);
	th_expect_state_at(&p.h, p.me, 4, TIDE_MS(14), TIDE_TCP_FIN_WAIT2, TIDE_TCP_TIME_WAIT);
	p.fd = -1;
	pd_free(&p);
}

/* LC-H09: close() in SYN_SENT sends nothing; the SYN-ACK that comes later
 * finds no connection and gets a RST with the ACK's number as its
 * sequence number and no ACK flag. */
static void test_LC_H09_PD_close_on_syn_sent(void **state)
{
	(void)state;
	struct pd p;
	pd_init(&p, false);
	p.fd = th_connect(&p.h, p.me, TH_SERVER_ADDR, TIDE_PORT, PEER_PORT);
	p.iss = out(&p, 0)->seq;
	assert_int_equal(tide_close(p.st, p.fd), 0);
	p.fd = -1;
	NOUT(&p, 1);
	th_run_until(&p.h, TIDE_MS(100));
	struct tide_tcp_opts o;
	memset(&o, 0, sizeof(o));
	o.present = TIDE_OPT_MSS | TIDE_OPT_WSCALE;
	o.mss = 1460;
	o.wscale = 7;
	th_inject(&p.h, p.peer, TIDE_PORT, PEER_PORT, SYN | ACK, PEER_ISN, p.iss + 1, 32000, NULL,
		  0, &o);
	th_run_until(&p.h, TIDE_MS(102));
	OUT(&p, 1, TIDE_MS(101), RST, 1, 0, 0);
	NOUT(&p, 2);
	pd_free(&p);
}

/* LC-C05: the peer's FIN on a connection that never received data is
 * ACKed at the next tick (1 ms; Linux's delayed-ACK timeout is still 0
 * there), read() returns 0, close() in CLOSE_WAIT sends the FIN, the ACK
 * of it closes, and a later ACK finds nothing and gets a RST. */
static void test_LC_C05_PD_close_remote_fin_then_close(void **state)
{
	(void)state;
	struct pd p;
	pd_accept(&p, 32792, D, 257);
	tide_time t0 = 2 * D;
	th_run_until(&p.h, t0 + TIDE_MS(10));
	pin(&p, FA, 1, 1, 257, 0);
	th_run_until(&p.h, t0 + TIDE_MS(15));
	OUT(&p, 1, t0 + TIDE_MS(11) + TIDE_MS(1), ACK, 1, 2, 0);
	NOUT(&p, 2);
	assert_int_equal(pd_read(&p, 1000), 0);
	th_run_until(&p.h, t0 + TIDE_MS(21));
	assert_int_equal(tide_close(p.st, p.fd), 0);
	p.fd = -1;
	OUT(&p, 2, t0 + TIDE_MS(21), FA, 1, 2, 0);
	pin(&p, ACK, 2, 2, 257, 0);
	th_run_until(&p.h, t0 + TIDE_MS(31));
	pin(&p, ACK, 2, 2, 257, 0);
	th_run_until(&p.h, t0 + TIDE_MS(33));
	OUT(&p, 3, t0 + TIDE_MS(32), RST, 2, 0, 0);
	NOUT(&p, 4);
	pd_free(&p);
}

/* ---- shutdown/ --------------------------------------------------------- */

/* LC-C11: SHUT_RD sends nothing and makes read() return 0; writing still
 * works, close() sends the FIN, and the peer's FIN in FIN_WAIT_2 is ACKed
 * at once. */
static void test_LC_C11_PD_shutdown_rd_close(void **state)
{
	(void)state;
	struct pd p;
	pd_accept(&p, 32792, D, 257);
	tide_time t0 = 2 * D;
	th_run_until(&p.h, t0 + TIDE_MS(10));
	assert_int_equal(tide_shutdown(p.st, p.fd, SHUT_RD), 0);
	assert_int_equal(pd_read(&p, 1000), 0);
	NOUT(&p, 1);
	th_run_until(&p.h, t0 + TIDE_MS(20));
	assert_int_equal(pd_write(&p, 1000), 1000);
	OUT(&p, 1, t0 + TIDE_MS(20), PA, 1, 1, 1000);
	pin(&p, ACK, 1, 1001, 257, 0);
	th_run_until(&p.h, t0 + TIDE_MS(30));
	assert_int_equal(tide_close(p.st, p.fd), 0);
	p.fd = -1;
	OUT(&p, 2, t0 + TIDE_MS(30), FA, 1001, 1, 0);
	pin(&p, ACK, 1, 1002, 257, 0);
	th_run_until(&p.h, t0 + TIDE_MS(40));
	pin(&p, FA, 1, 1002, 257, 0);
	th_run_until(&p.h, t0 + TIDE_MS(45));
	OUT(&p, 3, t0 + TIDE_MS(41), ACK, 1002, 2, 0);
	NOUT(&p, 4);
	pd_free(&p);
}

/* LC-C11: after SHUT_RD, data that arrives is still ACKed (quick ACK) and
 * readable, as on Linux; SHUT_WR then sends the FIN, write() fails with
 * EPIPE, and the peer's FIN after close() is ACKed at once. */
static void test_LC_C11_PD_shutdown_rd_then_wr_close(void **state)
{
	(void)state;
	struct pd p;
	pd_accept(&p, 32792, D, 257);
	tide_time t0 = 2 * D;
	th_run_until(&p.h, t0 + TIDE_MS(10));
	assert_int_equal(tide_shutdown(p.st, p.fd, SHUT_RD), 0);
	assert_int_equal(pd_read(&p, 1000), 0);
	pin(&p, ACK, 1, 1, 257, 1000);
	th_run_until(&p.h, t0 + TIDE_MS(11));
	OUT(&p, 1, t0 + TIDE_MS(11), ACK, 1, 1001, 0);
	assert_int_equal(pd_read(&p, 1000), 1000);
	th_run_until(&p.h, t0 + TIDE_MS(21));
	assert_int_equal(pd_write(&p, 1000), 1000);
	OUT(&p, 2, t0 + TIDE_MS(21), PA, 1, 1001, 1000);
	pin(&p, ACK, 1001, 1001, 257, 0);
	th_run_until(&p.h, t0 + TIDE_MS(31));
	assert_int_equal(tide_shutdown(p.st, p.fd, SHUT_WR), 0);
	OUT(&p, 3, t0 + TIDE_MS(31), FA, 1001, 1001, 0);
	pin(&p, ACK, 1001, 1002, 257, 0);
	th_run_until(&p.h, t0 + TIDE_MS(32));
	expect_errno(pd_write(&p, 1000), EPIPE);
	th_run_until(&p.h, t0 + TIDE_MS(42));
	assert_int_equal(tide_close(p.st, p.fd), 0);
	p.fd = -1;
	th_run_until(&p.h, t0 + TIDE_MS(52));
	pin(&p, FA, 1001, 1002, 257, 0);
	th_run_until(&p.h, t0 + TIDE_MS(60));
	OUT(&p, 4, t0 + TIDE_MS(53), ACK, 1002, 1002, 0);
	NOUT(&p, 5);
	pd_free(&p);
}

/* LC-C11: SHUT_RDWR sends the FIN at once; read() gives 0 and write()
 * EPIPE; the peer's FIN after close() is ACKed at once. */
static void test_LC_C11_PD_shutdown_rdwr_close(void **state)
{
	(void)state;
	struct pd p;
	pd_accept(&p, 32792, D, 257);
	tide_time t0 = 2 * D;
	th_run_until(&p.h, t0 + TIDE_MS(10));
	assert_int_equal(tide_shutdown(p.st, p.fd, SHUT_RDWR), 0);
	OUT(&p, 1, t0 + TIDE_MS(10), FA, 1, 1, 0);
	pin(&p, ACK, 1, 2, 257, 0);
	th_run_until(&p.h, t0 + TIDE_MS(11));
	assert_int_equal(tide_sock_state(p.st, p.fd), TIDE_TCP_FIN_WAIT2);
	assert_int_equal(pd_read(&p, 1000), 0);
	expect_errno(pd_write(&p, 1000), EPIPE);
	th_run_until(&p.h, t0 + TIDE_MS(20));
	assert_int_equal(tide_close(p.st, p.fd), 0);
	p.fd = -1;
	th_run_until(&p.h, t0 + TIDE_MS(30));
	pin(&p, FA, 1, 2, 257, 0);
	th_run_until(&p.h, t0 + TIDE_MS(40));
	OUT(&p, 2, t0 + TIDE_MS(31), ACK, 2, 2, 0);
	NOUT(&p, 3);
	pd_free(&p);
}

/* SHUT_RDWR with unsent data queued: the FIN waits for the data and rides
 * on its last segment; read() gives 0 and write() EPIPE meanwhile. (The
 * script also checks Linux's forced PSH and a tail loss probe, which tide
 * does not have.) */
static void test_LC_C11_PD_shutdown_rdwr_send_queue_fin_after_data(void **state)
{
	(void)state;
	struct pd p;
	pd_accept(&p, 32792, D, 257);
	tide_time t0 = 2 * D;
	th_run_until(&p.h, t0 + TIDE_MS(10));
	/* Linux has grown the send buffer at the handshake
	 * (tcp_sndbuf_expand); tide starts from tcp_wmem's 16384. */
	int sb = 40000;
	assert_int_equal(tide_setsockopt(p.st, p.fd, SOL_SOCKET, SO_SNDBUF, &sb, sizeof(sb)), 0);
	assert_int_equal(pd_write(&p, 20000), 20000);
	/* IW10 of the peer's MSS 1000: 10000 bytes leave, no FIN yet. */
	NOUT(&p, 11);
	OUT(&p, 10, t0 + TIDE_MS(10), ACK | (out(&p, 10)->flags & PSH), 9001, 1, 1000);
	assert_int_equal(tide_shutdown(p.st, p.fd, SHUT_RDWR), 0);
	NOUT(&p, 11);
	assert_int_equal(pd_read(&p, 1000), 0);
	expect_errno(pd_write(&p, 1000), EPIPE);
	assert_int_equal(tide_close(p.st, p.fd), 0);
	p.fd = -1;
	pin(&p, ACK, 1, 10001, 257, 0);
	th_run_until(&p.h, t0 + TIDE_MS(11));
	size_t n = nout(&p);
	assert_true(n > 11);
	const struct th_seg *last = out(&p, n - 1);
	assert_int_equal(last->seq + last->len, p.iss + 20001);
	assert_true(last->flags & FIN);
	for (size_t k = 11; k < n - 1; k++)
		assert_false(out(&p, k)->flags & FIN);
	pin(&p, ACK, 1, 20002, 257, 0);
	th_run_until(&p.h, t0 + TIDE_MS(21));
	pin(&p, FA, 1, 20002, 257, 0);
	th_run_until(&p.h, t0 + TIDE_MS(30));
	OUT(&p, n, t0 + TIDE_MS(22), ACK, 20002, 2, 0);
	NOUT(&p, n + 1);
	pd_free(&p);
}

/* SHUT_RDWR with all data sent but not ACKed: the FIN leaves at once
 * behind it. Nothing is ACKed: tide, having no tail loss probe, resends
 * from SND.UNA at the RTO (Linux probes with the FIN first); then the
 * peer ACKs everything and its FIN is ACKed at once. */
static void test_LC_C11_PD_shutdown_rdwr_write_queue_close(void **state)
{
	(void)state;
	struct pd p;
	pd_accept(&p, 32792, TIDE_MS(11), 257);
	tide_time t0 = TIDE_MS(12);
	th_run_until(&p.h, t0 + TIDE_MS(10));
	assert_int_equal(pd_write(&p, 10000), 10000);
	NOUT(&p, 11);
	th_run_until(&p.h, t0 + TIDE_MS(20));
	assert_int_equal(tide_shutdown(p.st, p.fd, SHUT_RDWR), 0);
	OUT(&p, 11, t0 + TIDE_MS(20), FA, 10001, 1, 0);
	assert_int_equal(pd_read(&p, 1000), 0);
	expect_errno(pd_write(&p, 1000), EPIPE);
	th_run_until(&p.h, t0 + TIDE_MS(30));
	assert_int_equal(tide_close(p.st, p.fd), 0);
	p.fd = -1;
	/* The handshake measured an 11 ms RTT: RTO = 11 + max(4 * 5.5, 200) ms. */
	th_run_until(&p.h, t0 + TIDE_MS(10) + TIDE_MS(211) + TIDE_MS(1));
	OUT(&p, 12, t0 + TIDE_MS(10) + TIDE_MS(211), ACK, 1, 1, 1000);
	NOUT(&p, 13);
	pin(&p, ACK, 1, 10002, 257, 0);
	th_run_until(&p.h, t0 + TIDE_MS(300));
	pin(&p, FA, 1, 10002, 257, 0);
	th_run_until(&p.h, t0 + TIDE_MS(310));
	OUT(&p, 13, t0 + TIDE_MS(301), ACK, 10002, 2, 0);
	NOUT(&p, 14);
	pd_free(&p);
}

/* LC-C11: SHUT_WR sends the FIN; write() then fails with EPIPE; data from
 * the peer is still ACKed and read; the peer's FIN after close() is ACKed
 * at once (TIME_WAIT). */
static void test_LC_C11_PD_shutdown_wr_close(void **state)
{
	(void)state;
	struct pd p;
	pd_accept(&p, 32792, D, 257);
	tide_time t0 = 2 * D;
	th_run_until(&p.h, t0 + TIDE_MS(10));
	assert_int_equal(tide_shutdown(p.st, p.fd, SHUT_WR), 0);
	OUT(&p, 1, t0 + TIDE_MS(10), FA, 1, 1, 0);
	pin(&p, ACK, 1, 2, 257, 0);
	th_run_until(&p.h, t0 + TIDE_MS(11));
	expect_errno(pd_write(&p, 1000), EPIPE);
	th_run_until(&p.h, t0 + TIDE_MS(20));
	pin(&p, ACK, 1, 2, 257, 1000);
	th_run_until(&p.h, t0 + TIDE_MS(21));
	OUT(&p, 2, t0 + TIDE_MS(21), ACK, 2, 1001, 0);
	assert_int_equal(pd_read(&p, 1000), 1000);
	th_run_until(&p.h, t0 + TIDE_MS(31));
	assert_int_equal(tide_close(p.st, p.fd), 0);
	p.fd = -1;
	th_run_until(&p.h, t0 + TIDE_MS(41));
	pin(&p, FA, 1001, 2, 257, 0);
	th_run_until(&p.h, t0 + TIDE_MS(50));
	OUT(&p, 3, t0 + TIDE_MS(42), ACK, 2, 1002, 0);
	NOUT(&p, 4);
	pd_free(&p);
}

/* ---- blocking/ --------------------------------------------------------- */

/* LC-H02: accept() has nothing until the handshake's ACK arrives (tide
 * never blocks: EAGAIN, and poll shows no POLLIN); then the listener is
 * readable at that exact time and the data written leaves at once. */
static void test_LC_H02_PD_blocking_accept(void **state)
{
	(void)state;
	struct pd p;
	pd_init(&p, true);
	p.lfd = th_listen(&p.h, p.me, TIDE_PORT, 1);
	errno = 0;
	expect_errno(tide_accept(p.st, p.lfd, NULL, NULL, 0), EAGAIN);
	th_run_until(&p.h, TIDE_MS(100));
	pin_syn(&p, 32792);
	th_run_until(&p.h, TIDE_MS(101));
	const struct th_seg *sa = out(&p, 0);
	assert_int_equal(sa->flags, SYN | ACK);
	p.iss = sa->seq;
	OUT(&p, 0, TIDE_MS(101), SYN | ACK, 0, 1, 0);
	struct pollfd pf = { .fd = p.lfd, .events = POLLIN };
	th_run_until(&p.h, TIDE_MS(200));
	assert_int_equal(tide_poll(p.st, &pf, 1), 0);
	pin(&p, ACK, 1, 1, 257, 0);
	th_run_until(&p.h, TIDE_MS(201) - 1);
	assert_int_equal(tide_poll(p.st, &pf, 1), 0);
	th_run_until(&p.h, TIDE_MS(201));
	assert_int_equal(tide_poll(p.st, &pf, 1), 1);
	assert_int_equal(pf.revents, POLLIN);
	p.fd = th_accept(&p.h, p.me, p.lfd);
	th_run_until(&p.h, TIDE_MS(301));
	assert_int_equal(pd_write(&p, 2000), 2000);
	OUT(&p, 1, TIDE_MS(301), ACK, 1, 1, 1000);
	OUT(&p, 2, TIDE_MS(301), PA, 1001, 1, 1000);
	NOUT(&p, 3);
	pd_free(&p);
}

/* LC-H01: connect() sends a SYN with Linux's options; it completes (the
 * socket becomes writable, SO_ERROR 0) at the SYN-ACK's arrival, ACKed at
 * once. */
static void test_LC_H01_PD_blocking_connect(void **state)
{
	(void)state;
	struct pd p;
	pd_init(&p, false);
	th_run_until(&p.h, TIDE_MS(100));
	p.fd = th_connect(&p.h, p.me, TH_SERVER_ADDR, TIDE_PORT, PEER_PORT);
	const struct th_seg *syn = out(&p, 0);
	p.iss = syn->seq;
	OUT(&p, 0, TIDE_MS(100), SYN, 0, 0, 0);
	assert_int_equal(syn->opts.present,
			 TIDE_OPT_MSS | TIDE_OPT_SACK_OK | TIDE_OPT_TS | TIDE_OPT_WSCALE);
	assert_int_equal(syn->opts.mss, 1460);
	assert_int_equal(syn->opts.tsecr, 0);
	struct pollfd pf = { .fd = p.fd, .events = POLLOUT };
	th_run_until(&p.h, TIDE_MS(200));
	assert_int_equal(tide_poll(p.st, &pf, 1), 0);
	struct tide_tcp_opts o;
	memset(&o, 0, sizeof(o));
	o.present = TIDE_OPT_MSS | TIDE_OPT_WSCALE | TIDE_OPT_SACK_OK;
	o.mss = 1460;
	o.wscale = 2;
	th_inject(&p.h, p.peer, TIDE_PORT, PEER_PORT, SYN | ACK, PEER_ISN, p.iss + 1, 5792, NULL,
		  0, &o);
	th_run_until(&p.h, TIDE_MS(201) - 1);
	assert_int_equal(tide_poll(p.st, &pf, 1), 0);
	th_run_until(&p.h, TIDE_MS(201));
	OUT(&p, 1, TIDE_MS(201), ACK, 1, 1, 0);
	NOUT(&p, 2);
	assert_int_equal(tide_poll(p.st, &pf, 1), 1);
	assert_int_equal(pf.revents, POLLOUT);
	int err = -1;
	socklen_t len = sizeof(err);
	assert_int_equal(tide_getsockopt(p.st, p.fd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	assert_int_equal(err, 0);
	assert_int_equal(tide_sock_state(p.st, p.fd), TIDE_TCP_ESTABLISHED);
	pd_free(&p);
}

/* A read on an empty connection has nothing (EAGAIN, no POLLIN) until
 * data arrives; each of the first segments is ACKed at once (quick ACK);
 * reads take what is queued, in pieces. */
static void test_PD_blocking_read(void **state)
{
	(void)state;
	struct pd p;
	pd_accept(&p, 32792, D, 257);
	tide_time t0 = 2 * D;
	expect_errno(pd_read(&p, 2000), EAGAIN);
	struct pollfd pf = { .fd = p.fd, .events = POLLIN };
	assert_int_equal(tide_poll(p.st, &pf, 1), 0);
	th_run_until(&p.h, t0 + TIDE_MS(100));
	pin_data(&p, 1, 1, 2000);
	th_run_until(&p.h, t0 + TIDE_MS(101));
	size_t k = ACKED(&p, 1, t0 + TIDE_MS(101), 2001);
	assert_int_equal(tide_poll(p.st, &pf, 1), 1);
	assert_int_equal(pd_read(&p, 2000), 2000);
	expect_errno(pd_read(&p, 2000), EAGAIN);
	th_run_until(&p.h, t0 + TIDE_MS(200));
	pin_data(&p, 2001, 1, 2000);
	th_run_until(&p.h, t0 + TIDE_MS(201));
	k = ACKED(&p, k, t0 + TIDE_MS(201), 4001);
	assert_int_equal(pd_read(&p, 2000), 2000);
	th_run_until(&p.h, t0 + TIDE_MS(300));
	pin_data(&p, 4001, 1, 2000);
	th_run_until(&p.h, t0 + TIDE_MS(301));
	k = ACKED(&p, k, t0 + TIDE_MS(301), 6001);
	assert_int_equal(pd_read(&p, 1000), 1000);
	assert_int_equal(pd_read(&p, 1000), 1000);
	expect_errno(pd_read(&p, 1000), EAGAIN);
	NOUT(&p, k);
	pd_free(&p);
}

/* SO_SNDBUF is doubled as on Linux (21000 -> 42000); a write larger than
 * the buffer takes what fits and the next one fails with EAGAIN until
 * ACKs free room. (The script's exact wake-up depends on Linux's skb
 * truesize accounting, which tide does not copy.) */
static void test_PD_blocking_write_sndbuf(void **state)
{
	(void)state;
	struct pd p;
	pd_accept(&p, 50000, D, 50000);
	int v = 21000;
	assert_int_equal(tide_setsockopt(p.st, p.fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)), 0);
	v = 0;
	socklen_t len = sizeof(v);
	assert_int_equal(tide_getsockopt(p.st, p.fd, SOL_SOCKET, SO_SNDBUF, &v, &len), 0);
	assert_int_equal(v, 42000);
	ssize_t n = pd_write(&p, 61000);
	assert_true(n > 0 && n <= 42000);
	expect_errno(pd_write(&p, 61000), EAGAIN);
	struct pollfd pf = { .fd = p.fd, .events = POLLOUT };
	assert_int_equal(tide_poll(p.st, &pf, 1), 0);
	/* Writable again, as on Linux, only when the free space reaches half
	 * of what is queued: not after 10000 bytes are ACKed, after 20000. */
	pin(&p, ACK, 1, 10001, 50000, 0);
	th_run_until(&p.h, th_now(&p.h) + TIDE_MS(100));
	assert_int_equal(tide_poll(p.st, &pf, 1), 0);
	pin(&p, ACK, 1, 20001, 50000, 0);
	th_run_until(&p.h, th_now(&p.h) + D);
	assert_int_equal(tide_poll(p.st, &pf, 1), 1);
	assert_true(pd_write(&p, 61000) > 0);
	pd_free(&p);
}

/* ---- epoll/ ------------------------------------------------------------ */

static void expect_epoll(struct pd *p, int ep, uint32_t events)
{
	struct epoll_event ev[2];
	memset(ev, 0, sizeof(ev));
	int n = tide_epoll_wait(p->st, ep, ev, 2);
	if (events == 0) {
		assert_int_equal(n, 0);
		return;
	}
	assert_int_equal(n, 1);
	assert_int_equal(ev[0].events, events);
	assert_int_equal(ev[0].data.fd, p->fd);
}

/* Edge-triggered epoll reports EPOLLOUT once at registration, then only
 * when something new happens: each arrival of data reports EPOLLIN (with
 * EPOLLOUT, as Linux's wakeup reports the whole state) once; reading does
 * not re-arm it. Every data segment is ACKed at once. */
static void test_PD_epoll_in_edge(void **state)
{
	(void)state;
	struct pd p;
	pd_accept(&p, 32792, D, 257);
	tide_time t0 = 2 * D;
	int ep = tide_epoll_create(p.st);
	assert_true(ep >= 0);
	struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN | EPOLLET, .data.fd = p.fd };
	assert_int_equal(tide_epoll_ctl(p.st, ep, EPOLL_CTL_ADD, p.fd, &ev), 0);
	expect_epoll(&p, ep, EPOLLOUT);
	expect_epoll(&p, ep, 0);
	pin_data(&p, 1, 1, 4000);
	th_run_until(&p.h, t0 + D);
	size_t k = ACKED(&p, 1, t0 + D, 4001);
	expect_epoll(&p, ep, EPOLLIN | EPOLLOUT);
	expect_epoll(&p, ep, 0);
	pin_data(&p, 4001, 1, 6000);
	th_run_until(&p.h, t0 + 2 * D);
	k = ACKED(&p, k, t0 + 2 * D, 10001);
	expect_epoll(&p, ep, EPOLLIN | EPOLLOUT);
	expect_epoll(&p, ep, 0);
	assert_int_equal(pd_read(&p, 1000), 1000);
	expect_epoll(&p, ep, 0);
	pin_data(&p, 10001, 1, 2000);
	th_run_until(&p.h, t0 + 3 * D);
	k = ACKED(&p, k, t0 + 3 * D, 12001);
	expect_epoll(&p, ep, EPOLLIN | EPOLLOUT);
	expect_epoll(&p, ep, 0);
	NOUT(&p, k);
	tide_close(p.st, ep);
	pd_free(&p);
}

/* The three epoll_out_edge scripts need TCP_NOTSENT_LOWAT, which tide does
 * not have: both calls fail with ENOPROTOOPT, as README documents. */
static void test_PD_epoll_out_edge_notsent_lowat_unsupported(void **state)
{
	(void)state;
	struct pd p;
	pd_accept(&p, 32792, D, 257);
	int v = 32000;
	errno = 0;
	expect_errno(tide_setsockopt(p.st, p.fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &v, sizeof(v)),
		     ENOPROTOOPT);
	socklen_t len = sizeof(v);
	errno = 0;
	expect_errno(tide_getsockopt(p.st, p.fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &v, &len),
		     ENOPROTOOPT);
	pd_free(&p);
}

/* ---- user_timeout/ ----------------------------------------------------- */

/* LC-K17: TCP_USER_TIMEOUT set before close() bounds the orphan's FIN
 * retransmissions; data reaching the closed socket gets a RST. tide backs
 * off from the first retransmission (no tail loss probe): the FIN leaves
 * at close and again one and three RTOs later; data
 * arriving then gets a RST whose sequence number is the data's ACK. */
static void test_LC_K17_PD_user_timeout_close_fin_retransmits(void **state)
{
	(void)state;
	struct pd p;
	pd_accept(&p, 32792, TIDE_MS(101), 32792);
	tide_time t0 = TIDE_MS(102);
	th_run_until(&p.h, t0 + TIDE_SEC(2));
	int v = 3000;
	assert_int_equal(tide_setsockopt(p.st, p.fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &v, sizeof(v)),
			 0);
	assert_int_equal(tide_close(p.st, p.fd), 0);
	p.fd = -1;
	tide_time tc = t0 + TIDE_SEC(2);
	OUT(&p, 1, tc, FA, 1, 1, 0);
	th_run_until(&p.h, tc + TIDE_MS(1500));
	size_t n = nout(&p);
	assert_true(n >= 3);
	/* RTT 101 ms: RTO 101 + max(4 * 50.5, 200) = 303 ms, then doubling. */
	OUT(&p, 2, tc + TIDE_MS(303), FA, 1, 1, 0);
	OUT(&p, 3, tc + TIDE_MS(303 + 606), FA, 1, 1, 0);
	NOUT(&p, 4);
	pin(&p, ACK, 1, 1, 32792, 1);
	th_run_until(&p.h, tc + TIDE_MS(1502));
	OUT(&p, 4, tc + TIDE_MS(1501), RST, 1, 0, 0);
	NOUT(&p, 5);
	pd_free(&p);
}

/* ---- syscall_bad_arg/ -------------------------------------------------- */

/* NULL buffers with a length: every send and receive call fails with
 * EFAULT and nothing leaves; data waiting stays readable. */
static void test_PD_syscall_invalid_buf_ptr(void **state)
{
	(void)state;
	struct pd p;
	pd_accept(&p, 32792, TIDE_MS(200), 514);
	tide_time t0 = TIDE_MS(201);
	errno = 0;
	expect_errno(tide_send(p.st, p.fd, NULL, 1000, 0), EFAULT);
	errno = 0;
	expect_errno(tide_send(p.st, p.fd, NULL, 1000, MSG_NOSIGNAL), EFAULT);
	pin(&p, ACK, 1, 1, 200, 1000);
	th_run_until(&p.h, t0 + D);
	OUT(&p, 1, t0 + D, ACK, 1, 1001, 0);
	errno = 0;
	expect_errno(tide_recv(p.st, p.fd, NULL, 1000, 0), EFAULT);
	errno = 0;
	expect_errno(tide_recv(p.st, p.fd, NULL, 1000, MSG_PEEK), EFAULT);
	NOUT(&p, 2);
	assert_int_equal(pd_read(&p, 1000), 1000);
	pd_free(&p);
}

/* Zero-length sends are no-ops (the script's empty iovecs); SO_ZEROCOPY
 * and TCP_FASTOPEN_CONNECT are not in tide: ENOPROTOOPT. */
static void test_PD_syscall_empty_send_and_unsupported_options(void **state)
{
	(void)state;
	struct pd p;
	pd_accept(&p, 32792, TIDE_MS(11), 257);
	int one = 1;
	errno = 0;
	expect_errno(tide_setsockopt(p.st, p.lfd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)),
		     ENOPROTOOPT);
	errno = 0;
	expect_errno(tide_setsockopt(p.st, p.fd, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one,
				     sizeof(one)),
		     ENOPROTOOPT);
	assert_int_equal(tide_setsockopt(p.st, p.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)),
			 0);
	assert_int_equal(pd_write(&p, 60), 60);
	OUT(&p, 1, TIDE_MS(12), PA, 1, 1, 60);
	assert_int_equal(tide_send(p.st, p.fd, "", 0, 0), 0);
	assert_int_equal(tide_send(p.st, p.fd, NULL, 0, 0), 0);
	th_run_until(&p.h, TIDE_MS(30));
	NOUT(&p, 2);
	pd_free(&p);
}

/* ---- gVisor's test/packetdrill ----------------------------------------- */

/* Data on the handshake's ACK completes it and is ACKed; after reading it
 * and close(), the peer's FIN (ACKing ours) is ACKed at once. */
static void test_PD_gvisor_accept_ack_with_data(void **state)
{
	(void)state;
	struct pd p;
	pd_init(&p, true);
	p.lfd = th_listen(&p.h, p.me, TIDE_PORT, 1);
	pin_syn(&p, 32792);
	th_run_until(&p.h, D);
	p.iss = out(&p, 0)->seq;
	pin(&p, ACK, 1, 1, 257, 4);
	th_run_until(&p.h, 2 * D);
	OUT(&p, 1, 2 * D, ACK, 1, 5, 0);
	p.fd = th_accept(&p.h, p.me, p.lfd);
	assert_int_equal(pd_read(&p, 4), 4);
	assert_int_equal(tide_close(p.st, p.fd), 0);
	p.fd = -1;
	OUT(&p, 2, 2 * D, FA, 1, 5, 0);
	pin(&p, FA, 5, 2, 257, 0);
	th_run_until(&p.h, TIDE_MS(20));
	OUT(&p, 3, 3 * D, ACK, 2, 6, 0);
	NOUT(&p, 4);
	pd_free(&p);
}

/* LC-L05: TCP_LINGER2 of 1 s: the orphan in FIN_WAIT_2 is gone 1 s after
 * the ACK of its FIN; the peer's next segment gets a RST. */
static void test_LC_L05_PD_gvisor_fin_wait2_timeout(void **state)
{
	(void)state;
	struct pd p;
	pd_accept(&p, 32792, D, 257);
	tide_time t0 = 2 * D;
	int v = 1;
	assert_int_equal(tide_setsockopt(p.st, p.fd, IPPROTO_TCP, TCP_LINGER2, &v, sizeof(v)), 0);
	assert_int_equal(tide_close(p.st, p.fd), 0);
	p.fd = -1;
	OUT(&p, 1, t0, FA, 1, 1, 0);
	pin(&p, ACK, 1, 2, 257, 0);
	th_run_until(&p.h, t0 + TIDE_MS(1100));
	pin(&p, ACK, 1, 2, 257, 0);
	th_run_until(&p.h, t0 + TIDE_MS(1102));
	OUT(&p, 2, t0 + TIDE_MS(1101), RST, 2, 0, 0);
	NOUT(&p, 3);
	pd_free(&p);
}

/* A RST ends the connection: read() fails with ECONNRESET, and a later
 * ACK from the peer finds nothing and gets a RST (never a RST for a
 * RST). */
static void test_PD_gvisor_no_rst_to_rst(void **state)
{
	(void)state;
	struct pd p;
	pd_accept(&p, 32792, D, 257);
	tide_time t0 = 2 * D;
	th_run_until(&p.h, t0 + TIDE_MS(200));
	pin(&p, RST, 1, 0, 0, 0);
	th_run_until(&p.h, t0 + TIDE_MS(500));
	NOUT(&p, 1);
	expect_errno(pd_read(&p, 4), ECONNRESET);
	pin(&p, ACK, 1, 1, 257, 0);
	th_run_until(&p.h, t0 + TIDE_MS(502));
	OUT(&p, 1, t0 + TIDE_MS(501), RST, 1, 0, 0);
	NOUT(&p, 2);
	pd_free(&p);
}

/* An ACK to a listener with no request (SYN cookies unused) gets a RST
 * whose sequence number is the ACK's acknowledgment number. */
static void test_PD_gvisor_ack_to_listener_gets_rst(void **state)
{
	(void)state;
	struct pd p;
	pd_init(&p, true);
	p.lfd = th_listen(&p.h, p.me, TIDE_PORT, 1);
	th_run_until(&p.h, TIDE_MS(100));
	th_inject(&p.h, p.peer, PEER_PORT, TIDE_PORT, ACK, PEER_ISN + 1, 1, 32792, NULL, 0, NULL);
	th_run_until(&p.h, TIDE_MS(102));
	const struct th_seg *r = out(&p, 0);
	assert_int_equal(r->t, TIDE_MS(101));
	assert_int_equal(r->flags, RST);
	assert_int_equal(r->seq, 1);
	assert_int_equal(r->win, 0);
	NOUT(&p, 1);
	pd_free(&p);
}

/* A new stack's first socket is descriptor 3, as a process's first after
 * stdin, stdout and stderr (packetdrill's sanity check). */
static void test_PD_gvisor_sanity_first_socket(void **state)
{
	(void)state;
	struct pd p;
	pd_init(&p, true);
	int fd = tide_socket(p.st, AF_INET, SOCK_STREAM, IPPROTO_TCP);
	assert_int_equal(fd, 3);
	tide_close(p.st, fd);
	pd_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_LC_C01_PD_close_local_close_then_remote_fin),
		cmocka_unit_test(test_LC_H09_PD_close_on_syn_sent),
		cmocka_unit_test(test_LC_C05_PD_close_remote_fin_then_close),
		cmocka_unit_test(test_LC_C11_PD_shutdown_rd_close),
		cmocka_unit_test(test_LC_C11_PD_shutdown_rd_then_wr_close),
		cmocka_unit_test(test_LC_C11_PD_shutdown_rdwr_close),
		cmocka_unit_test(test_LC_C11_PD_shutdown_rdwr_send_queue_fin_after_data),
		cmocka_unit_test(test_LC_C11_PD_shutdown_rdwr_write_queue_close),
		cmocka_unit_test(test_LC_C11_PD_shutdown_wr_close),
		cmocka_unit_test(test_LC_H02_PD_blocking_accept),
		cmocka_unit_test(test_LC_H01_PD_blocking_connect),
		cmocka_unit_test(test_PD_blocking_read),
		cmocka_unit_test(test_PD_blocking_write_sndbuf),
		cmocka_unit_test(test_PD_epoll_in_edge),
		cmocka_unit_test(test_PD_epoll_out_edge_notsent_lowat_unsupported),
		cmocka_unit_test(test_LC_K17_PD_user_timeout_close_fin_retransmits),
		cmocka_unit_test(test_PD_syscall_invalid_buf_ptr),
		cmocka_unit_test(test_PD_syscall_empty_send_and_unsupported_options),
		cmocka_unit_test(test_PD_gvisor_accept_ack_with_data),
		cmocka_unit_test(test_LC_L05_PD_gvisor_fin_wait2_timeout),
		cmocka_unit_test(test_PD_gvisor_no_rst_to_rst),
		cmocka_unit_test(test_PD_gvisor_ack_to_listener_gets_rst),
		cmocka_unit_test(test_PD_gvisor_sanity_first_socket),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
