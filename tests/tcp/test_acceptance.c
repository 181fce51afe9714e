/*
 * Segment acceptance: RFC 9293 §3.10.7 (the sequence, RST, SYN and ACK
 * checks of a synchronized connection, SYN_SENT and LISTEN processing) with
 * RFC 5961's challenge ACKs and RFC 7323's PAWS, as Linux applies them
 * (tcp_validate_incoming, tcp_ack, tcp_rcv_synsent_state_process).
 *
 * Segments are hand-made (inject.h) and sent as if by the client, from its
 * real port 40000 to the server's port 80 with the real sequence numbers
 * (client 101.., server 301..), so the server's answers are on the record.
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

#define CPORT 40000
#define SPORT 80
/* Far beyond any window either side announces (64 KiB). */
#define FAR 100000u

/* ---- helpers ---------------------------------------------------------- */

/* The TSval `node` would put in a segment now: its clock in ms plus the
 * connection's offset, learnt from the first segment it sent. */
static uint32_t ts_now(struct th *h, int node)
{
	for (size_t i = 0; i < h->nsegs; i++) {
		const struct th_seg *s = &h->segs[i];
		if (s->from == node && (s->opts.present & TIDE_OPT_TS))
			return s->opts.tsval - (uint32_t)(s->t / 1000) + (uint32_t)(th_now(h) / 1000);
	}
	fail_msg("no timestamp seen from node %d", node);
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

/* The window field of the client's handshake ACK: what it really offers. */
static uint16_t client_win(struct th *h)
{
	return th_seg(h, 2)->win;
}

/* A segment as the client would send it now (its timestamps), but with
 * the given flags, numbers and text. */
static void from_client(struct th *h, uint8_t flags, uint32_t seq, uint32_t ack,
			const char *text)
{
	struct tide_tcp_opts o = ts_opt(ts_now(h, h->c), ts_now(h, h->s));
	th_inject(h, h->c, CPORT, SPORT, flags, seq, ack, client_win(h), text,
		  text ? strlen(text) : 0, &o);
}

/* The same with a chosen TSval. */
static void from_client_ts(struct th *h, uint8_t flags, uint32_t seq, uint32_t ack,
			   const char *text, uint32_t tsval)
{
	struct tide_tcp_opts o = ts_opt(tsval, ts_now(h, h->s));
	th_inject(h, h->c, CPORT, SPORT, flags, seq, ack, client_win(h), text,
		  text ? strlen(text) : 0, &o);
}

static uint64_t cnt(tide_stack *st, enum tide_counter c)
{
	return tide_stack_counter(st, c);
}

/* recv on fd must fail with err. */
static void expect_recv_error(struct th *h, tide_stack *st, int fd, int err)
{
	char buf[64];
	errno = 0;
	ssize_t n = tide_recv(st, fd, buf, sizeof(buf), 0);
	if (n != -1 || errno != err) {
		th_dump(h);
		fail_msg("recv: got %zd (%s), expected -1 (%s)", n, strerror(errno), strerror(err));
	}
}

/* recv on fd must give exactly `text`. */
static void expect_recv(struct th *h, tide_stack *st, int fd, const char *text)
{
	char buf[256];
	size_t want = strlen(text);
	ssize_t n = tide_recv(st, fd, buf, sizeof(buf), 0);
	if (n != (ssize_t)want || memcmp(buf, text, want) != 0) {
		th_dump(h);
		fail_msg("recv: got %zd bytes, expected \"%s\"", n, text);
	}
}

/* The data still flows: the client sends `text` and the server reads it. */
static void expect_transfer(struct th *h, int cfd, int sfd, const char *text)
{
	assert_int_equal(tide_send(h->C, cfd, text, strlen(text), 0), (ssize_t)strlen(text));
	th_run_for(h, TIDE_MS(5));
	expect_recv(h, h->S, sfd, text);
}

struct conn_find {
	uint16_t lport, rport;
	bool found;
	struct tide_conn_info ci;
};

static void conn_visit(void *ctx, const struct tide_conn_info *ci)
{
	struct conn_find *f = ctx;
	if (ci->state != TIDE_TCP_LISTEN && ci->id.lport == f->lport && ci->id.rport == f->rport) {
		f->found = true;
		f->ci = *ci;
	}
}

/* Bytes the server has sent and not had acknowledged (ss's Send-Q). */
static uint32_t server_send_q(struct th *h)
{
	struct conn_find f = { .lport = SPORT, .rport = CPORT };
	tide_stack_foreach_conn(h->S, conn_visit, &f);
	assert_true(f.found);
	return f.ci.send_q;
}

/* The only state change so far is the server's listen(). */
static void expect_only_listen(struct th *h)
{
	static const int listen_only[] = { TIDE_TCP_LISTEN };
	th_expect_states(h, h->s, listen_only, 1);
	th_expect_states(h, h->c, NULL, 0);
}

static void close_all(struct th *h, int cfd, int sfd)
{
	if (cfd >= 0)
		assert_int_equal(tide_close(h->C, cfd), 0);
	if (sfd >= 0)
		assert_int_equal(tide_close(h->S, sfd), 0);
}

/* ---- the sequence number check (RFC 9293 §3.10.7.4, first) -------------- */

/* An old duplicate, entirely left of the window, is answered at once with
 * an ACK of RCV.NXT and its data is not delivered a second time. */
static void test_rfc9293_old_duplicate_gets_immediate_ack_not_redelivered(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd;
	th_establish(&h, &cfd, &sfd, NULL);                      /* now 3 ms */
	assert_int_equal(tide_send(h.C, cfd, "hello", 5, 0), 5); /* #3, ACKed by #4 */
	th_run_until(&h, TIDE_MS(5));
	assert_int_equal(tide_send(h.C, cfd, "world", 5, 0), 5); /* #5, ACKed by #6 */
	th_run_until(&h, TIDE_MS(7));
	th_expect_seg_at(&h, 6, TIDE_MS(6), h.s, TIDE_TCP_ACK, 301, 111, 0);
	expect_recv(&h, h.S, sfd, "helloworld");

	from_client(&h, TIDE_TCP_PSH | TIDE_TCP_ACK, 101, 301, "hello"); /* #7 */
	th_run_until(&h, TIDE_MS(20));
	th_expect_seg_at(&h, 8, TIDE_MS(8), h.s, TIDE_TCP_ACK, 301, 111, 0);
	th_expect_nsegs(&h, 9);
	assert_int_equal(cnt(h.S, TIDE_MIB_DropTcpSequence), 1);
	expect_recv_error(&h, h.S, sfd, EAGAIN);
	close_all(&h, cfd, sfd);
	th_free(&h);
}

/* A segment beyond the right edge of the window is answered with an ACK
 * and dropped: not queued out of order, not delivered. */
static void test_rfc9293_segment_beyond_window_gets_ack_and_is_dropped(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd;
	th_establish(&h, &cfd, &sfd, NULL);
	from_client(&h, TIDE_TCP_PSH | TIDE_TCP_ACK, 101 + FAR, 301, "x"); /* #3 at 3 ms */
	th_run_until(&h, TIDE_MS(20));
	th_expect_seg_at(&h, 4, TIDE_MS(4), h.s, TIDE_TCP_ACK, 301, 101, 0);
	th_expect_nsegs(&h, 5);
	assert_int_equal(cnt(h.S, TIDE_MIB_DropTcpSequence), 1);
	assert_int_equal(cnt(h.S, TIDE_MIB_TCPOFOQueue), 0);
	expect_recv_error(&h, h.S, sfd, EAGAIN);
	expect_transfer(&h, cfd, sfd, "still in order");
	close_all(&h, cfd, sfd);
	th_free(&h);
}

/* A zero-length segment whose SEQ is RCV.NXT is acceptable: it is taken
 * silently and its ACK field does its work (here it acknowledges data
 * whose real ACK was lost, so nothing is retransmitted). */
static void test_rfc9293_zero_length_segment_at_rcv_nxt_is_accepted(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd;
	th_establish(&h, &cfd, &sfd, NULL);
	struct tide_fault drop_ack = {
		.from = h.c, .flags_mask = 0xff, .flags_match = TIDE_TCP_ACK, .nth = 1,
		.action = TIDE_FAULT_DROP,
	};
	assert_true(tide_sim_add_fault(h.sim, &drop_ack) >= 0);
	assert_int_equal(tide_send(h.S, sfd, "hello", 5, 0), 5); /* #3 at 3 ms */
	th_run_until(&h, TIDE_MS(5));
	th_expect_seg_at(&h, 4, TIDE_MS(4), h.c, TIDE_TCP_ACK, 101, 306, 0); /* lost */
	assert_int_equal(server_send_q(&h), 5);

	uint8_t pkt[128];
	struct tide_tcp_opts o = ts_opt(ts_now(&h, h.c), ts_now(&h, h.s));
	size_t n = th_build_seg(&h, h.c, pkt, sizeof(pkt), CPORT, SPORT, TIDE_TCP_ACK, 101, 306,
				client_win(&h), NULL, 0, &o);
	assert_int_equal(th_inject_raw(&h, h.s, pkt, n), 0);
	assert_int_equal(server_send_q(&h), 0);
	/* No answer, and no retransmission when the RTO would have fired. */
	th_run_until(&h, TIDE_SEC(2));
	th_expect_nsegs(&h, 5);
	assert_int_equal(cnt(h.S, TIDE_MIB_DropTcpSequence), 0);
	assert_int_equal(cnt(h.S, TIDE_MIB_RetransSegs), 0);
	close_all(&h, cfd, sfd);
	th_free(&h);
}

/* Out-of-window pure ACKs are answered at most once per 500 ms
 * (tcp_invalid_ratelimit), so two confused ends cannot loop. */
static void test_rfc9293_out_of_window_acks_answered_once_per_500ms(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd;
	th_establish(&h, &cfd, &sfd, NULL);
	from_client(&h, TIDE_TCP_ACK, 101 + FAR, 301, NULL); /* #3 at 3 ms: answered */
	th_run_until(&h, TIDE_MS(502));
	th_expect_seg_at(&h, 4, TIDE_MS(4), h.s, TIDE_TCP_ACK, 301, 101, 0);
	from_client(&h, TIDE_TCP_ACK, 101 + FAR, 301, NULL); /* #5: 499 ms later, silent */
	th_run_until(&h, TIDE_MS(503));
	from_client(&h, TIDE_TCP_ACK, 101 + FAR, 301, NULL); /* #6: 500 ms later, answered */
	th_run_until(&h, TIDE_MS(600));
	th_expect_seg_at(&h, 5, TIDE_MS(502), h.c, TIDE_TCP_ACK, 101 + FAR, 301, 0);
	th_expect_seg_at(&h, 6, TIDE_MS(503), h.c, TIDE_TCP_ACK, 101 + FAR, 301, 0);
	th_expect_seg_at(&h, 7, TIDE_MS(504), h.s, TIDE_TCP_ACK, 301, 101, 0);
	th_expect_nsegs(&h, 8);
	assert_int_equal(cnt(h.S, TIDE_MIB_DropTcpSequence), 3);
	close_all(&h, cfd, sfd);
	th_free(&h);
}

/* ---- RST (RFC 5961 §3.2) ------------------------------------------------ */

/* A RST whose SEQ is exactly RCV.NXT resets the connection: the
 * application reads ECONNRESET (once, then end of file). */
static void test_rfc5961_rst_at_rcv_nxt_resets(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd;
	th_establish(&h, &cfd, &sfd, NULL);
	from_client(&h, TIDE_TCP_RST, 101, 0, NULL); /* #3 at 3 ms */
	th_run_until(&h, TIDE_MS(100));
	th_expect_nsegs(&h, 4); /* nobody answers a RST */
	th_expect_state_at(&h, h.s, 3, TIDE_MS(4), TIDE_TCP_ESTABLISHED, TIDE_TCP_CLOSED);
	static const int states[] = { TIDE_TCP_LISTEN, TIDE_TCP_SYN_RECV, TIDE_TCP_ESTABLISHED,
				      TIDE_TCP_CLOSED };
	th_expect_states(&h, h.s, states, 4);
	assert_int_equal(tide_sock_state(h.S, sfd), TIDE_TCP_CLOSED);
	assert_int_equal(cnt(h.S, TIDE_MIB_EstabResets), 1);
	assert_int_equal(tide_stack_curr_estab(h.S), 0);
	expect_recv_error(&h, h.S, sfd, ECONNRESET);
	char c;
	assert_int_equal(tide_recv(h.S, sfd, &c, 1, 0), 0);
	close_all(&h, cfd, sfd);
	th_free(&h);
}

/* A RST inside the window but not at RCV.NXT may be blind: it gets a
 * challenge ACK and the connection survives. */
static void test_rfc5961_rst_in_window_gets_challenge_ack(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd;
	th_establish(&h, &cfd, &sfd, NULL);
	from_client(&h, TIDE_TCP_RST, 102, 0, NULL); /* #3 at 3 ms */
	th_run_until(&h, TIDE_MS(20));
	th_expect_seg_at(&h, 4, TIDE_MS(4), h.s, TIDE_TCP_ACK, 301, 101, 0);
	th_expect_nsegs(&h, 5);
	assert_int_equal(cnt(h.S, TIDE_MIB_TCPChallengeACK), 1);
	assert_int_equal(cnt(h.S, TIDE_MIB_DropTcpRst), 1);
	assert_int_equal(cnt(h.S, TIDE_MIB_EstabResets), 0);
	assert_int_equal(tide_sock_state(h.S, sfd), TIDE_TCP_ESTABLISHED);
	expect_transfer(&h, cfd, sfd, "alive");
	close_all(&h, cfd, sfd);
	th_free(&h);
}

/* A RST outside the window is dropped without a word. */
static void test_rfc5961_rst_out_of_window_is_ignored(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd;
	th_establish(&h, &cfd, &sfd, NULL);
	from_client(&h, TIDE_TCP_RST, 101 + FAR, 0, NULL); /* right of the window */
	from_client(&h, TIDE_TCP_RST, 100, 0, NULL);       /* left of it */
	th_run_until(&h, TIDE_MS(20));
	th_expect_nsegs(&h, 5);
	assert_int_equal(cnt(h.S, TIDE_MIB_DropTcpSequence), 2);
	assert_int_equal(cnt(h.S, TIDE_MIB_TCPChallengeACK), 0);
	assert_int_equal(tide_sock_state(h.S, sfd), TIDE_TCP_ESTABLISHED);
	expect_transfer(&h, cfd, sfd, "alive");
	close_all(&h, cfd, sfd);
	th_free(&h);
}

/* Challenge ACKs share the per-connection limit of one answer per 500 ms
 * (Linux's tcp_send_challenge_ack). */
static void test_rfc5961_challenge_acks_are_rate_limited(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd;
	th_establish(&h, &cfd, &sfd, NULL);
	from_client(&h, TIDE_TCP_RST, 102, 0, NULL); /* #3: challenged at 4 ms */
	from_client(&h, TIDE_TCP_RST, 103, 0, NULL); /* #4: limited */
	th_run_until(&h, TIDE_MS(503));
	from_client(&h, TIDE_TCP_RST, 104, 0, NULL); /* #6: 500 ms on, challenged */
	th_run_until(&h, TIDE_MS(600));
	th_expect_seg_at(&h, 5, TIDE_MS(4), h.s, TIDE_TCP_ACK, 301, 101, 0);
	th_expect_seg_at(&h, 7, TIDE_MS(504), h.s, TIDE_TCP_ACK, 301, 101, 0);
	th_expect_nsegs(&h, 8);
	assert_int_equal(cnt(h.S, TIDE_MIB_TCPChallengeACK), 2);
	assert_int_equal(cnt(h.S, TIDE_MIB_DropTcpRst), 3);
	assert_int_equal(tide_sock_state(h.S, sfd), TIDE_TCP_ESTABLISHED);
	close_all(&h, cfd, sfd);
	th_free(&h);
}

/* After the peer's FIN, a RST at RCV.NXT - 1 (the FIN's own number, as
 * some stacks send it) is accepted even though it is left of the window
 * (Linux's tcp_reset_check); in CLOSE_WAIT the application sees EPIPE. */
static void test_rfc5961_rst_at_fin_seq_resets_close_wait(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd;
	th_establish(&h, &cfd, &sfd, NULL);
	assert_int_equal(tide_shutdown(h.C, cfd, SHUT_WR), 0); /* FIN #3 at 3 ms */
	th_run_until(&h, TIDE_MS(50));
	th_expect_seg_at(&h, 4, TIDE_MS(5), h.s, TIDE_TCP_ACK, 301, 102, 0);
	assert_int_equal(tide_sock_state(h.S, sfd), TIDE_TCP_CLOSE_WAIT);
	from_client(&h, TIDE_TCP_RST, 101, 0, NULL); /* #5 at 50 ms */
	th_run_until(&h, TIDE_MS(100));
	th_expect_nsegs(&h, 6);
	th_expect_state_at(&h, h.s, 4, TIDE_MS(51), TIDE_TCP_CLOSE_WAIT, TIDE_TCP_CLOSED);
	assert_int_equal(cnt(h.S, TIDE_MIB_EstabResets), 1);
	errno = 0;
	assert_int_equal(tide_send(h.S, sfd, "x", 1, 0), -1);
	assert_int_equal(errno, EPIPE);
	close_all(&h, cfd, sfd);
	th_free(&h);
}

/* ---- SYN (RFC 5961 §4) ------------------------------------------------- */

/* A SYN on an established connection, in the window or not (a rebooted
 * peer's new ISN), gets a challenge ACK; the connection survives. Linux
 * also counts the SYN as an input error (InErrs). */
static void test_rfc5961_syn_in_established_gets_challenge_ack(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd;
	th_establish(&h, &cfd, &sfd, NULL);
	from_client(&h, TIDE_TCP_SYN, 5000, 0, NULL); /* #3 at 3 ms, in the window */
	th_run_until(&h, TIDE_SEC(1));
	from_client(&h, TIDE_TCP_SYN, 101 + FAR, 0, NULL); /* #5 at 1 s, outside */
	th_run_until(&h, TIDE_MS(1100));
	th_expect_seg_at(&h, 4, TIDE_MS(4), h.s, TIDE_TCP_ACK, 301, 101, 0);
	th_expect_seg_at(&h, 6, TIDE_MS(1001), h.s, TIDE_TCP_ACK, 301, 101, 0);
	th_expect_nsegs(&h, 7);
	assert_int_equal(cnt(h.S, TIDE_MIB_TCPSYNChallenge), 2);
	assert_int_equal(cnt(h.S, TIDE_MIB_TCPChallengeACK), 2);
	assert_int_equal(cnt(h.S, TIDE_MIB_InErrs), 2);
	static const int states[] = { TIDE_TCP_LISTEN, TIDE_TCP_SYN_RECV, TIDE_TCP_ESTABLISHED };
	th_expect_states(&h, h.s, states, 3);
	expect_transfer(&h, cfd, sfd, "alive");
	close_all(&h, cfd, sfd);
	th_free(&h);
}

/* ---- ACK (RFC 9293 fifth check, RFC 5961 §5) --------------------------- */

/* An ACK of data never sent (SEG.ACK > SND.NXT) is dropped with its data
 * and gets a challenge ACK, in ESTABLISHED too (RFC 5961 §5.2; Linux since
 * "tcp: send a challenge ACK on SEG.ACK > SND.NXT", in 6.18.y; measured on
 * 6.18.44, which older kernels dropped silently). */
static void test_rfc9293_ack_of_unsent_data_is_dropped(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd;
	th_establish(&h, &cfd, &sfd, NULL);
	from_client(&h, TIDE_TCP_PSH | TIDE_TCP_ACK, 101, 400, "evil"); /* #3 */
	th_run_until(&h, TIDE_MS(20));
	th_expect_seg_at(&h, 4, TIDE_MS(4), h.s, TIDE_TCP_ACK, 301, 101, 0);
	th_expect_nsegs(&h, 5);
	assert_int_equal(cnt(h.S, TIDE_MIB_TCPChallengeACK), 1);
	assert_int_equal(cnt(h.S, TIDE_MIB_DropTcpAck), 1);
	expect_recv_error(&h, h.S, sfd, EAGAIN);
	/* RCV.NXT did not move: the client's own bytes at 101 are taken. */
	expect_transfer(&h, cfd, sfd, "good");
	close_all(&h, cfd, sfd);
	th_free(&h);
}

/* Below SND.UNA, an ACK is acceptable only down to SND.UNA minus the
 * largest window the peer offered, and never for bytes that were not sent
 * (Linux clamps that window to the bytes acknowledged so far). Older ones
 * get a challenge ACK and are dropped, data included. */
static void test_rfc5961_ack_older_than_bytes_acked_gets_challenge_ack(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd;
	th_establish(&h, &cfd, &sfd, NULL);
	assert_int_equal(tide_send(h.S, sfd, "hello", 5, 0), 5); /* #3, ACKed by #4 */
	th_run_until(&h, TIDE_MS(10));
	th_expect_seg_at(&h, 4, TIDE_MS(4), h.c, TIDE_TCP_ACK, 101, 306, 0);

	from_client(&h, TIDE_TCP_ACK, 101, 301, NULL); /* #5: 306 - 5, acceptable */
	th_run_until(&h, TIDE_MS(20));
	th_expect_nsegs(&h, 6);
	from_client(&h, TIDE_TCP_ACK, 101, 300, NULL); /* #6: acks our SYN's ISN */
	th_run_until(&h, TIDE_MS(30));
	th_expect_seg_at(&h, 7, TIDE_MS(21), h.s, TIDE_TCP_ACK, 306, 101, 0);
	/* Past the 500 ms limit on challenge ACKs: */
	th_run_until(&h, TIDE_MS(600));
	from_client(&h, TIDE_TCP_PSH | TIDE_TCP_ACK, 101, 306 - FAR, "evil"); /* #8 */
	th_run_until(&h, TIDE_MS(700));
	th_expect_seg_at(&h, 9, TIDE_MS(601), h.s, TIDE_TCP_ACK, 306, 101, 0);
	th_expect_nsegs(&h, 10);
	assert_int_equal(cnt(h.S, TIDE_MIB_TCPChallengeACK), 2);
	assert_int_equal(cnt(h.S, TIDE_MIB_DropTcpAck), 2);
	expect_recv_error(&h, h.S, sfd, EAGAIN);
	expect_transfer(&h, cfd, sfd, "good");
	close_all(&h, cfd, sfd);
	th_free(&h);
}

static void small_client_rcvbuf(struct tide_config *cfg, int node)
{
	if (node == 0)
		cfg->settings.tcp_rmem_default = 4096;
}

/* Once more bytes were acknowledged than the peer's largest window, the
 * limit is SND.UNA - MAX.SND.WND exactly (RFC 5961 §5.2). */
static void test_rfc5961_ack_older_than_max_window_gets_challenge_ack(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .tune = small_client_rcvbuf };
	th_init(&h, &o);
	int cfd, sfd;
	th_establish(&h, &cfd, &sfd, NULL);
	static char block[10000];
	memset(block, 'x', sizeof(block));
	assert_int_equal(tide_send(h.S, sfd, block, sizeof(block), 0), (ssize_t)sizeof(block));
	char buf[4096];
	for (int i = 0; i < 2000 && server_send_q(&h) != 0; i++) {
		th_run_for(&h, TIDE_MS(1));
		while (tide_recv(h.C, cfd, buf, sizeof(buf), 0) > 0)
			;
	}
	assert_int_equal(server_send_q(&h), 0);
	th_run_for(&h, TIDE_SEC(1)); /* let every timer settle */
	/* MAX.SND.WND: the largest window the client announced (scale 7). */
	uint32_t max_wnd = 0;
	for (size_t i = 2; i < h.nsegs; i++)
		if (h.segs[i].from == h.c && ((uint32_t)h.segs[i].win << 7) > max_wnd)
			max_wnd = (uint32_t)h.segs[i].win << 7;
	assert_true(max_wnd > 0 && max_wnd < sizeof(block));
	uint32_t una = 301 + sizeof(block);
	size_t n0 = h.nsegs;
	tide_time t0 = th_now(&h);

	from_client(&h, TIDE_TCP_ACK, 101, una - max_wnd, NULL); /* acceptable */
	th_run_for(&h, TIDE_MS(10));
	th_expect_nsegs(&h, n0 + 1);
	from_client(&h, TIDE_TCP_ACK, 101, una - max_wnd - 1, NULL); /* too old */
	th_run_for(&h, TIDE_MS(10));
	th_expect_seg_at(&h, n0 + 2, t0 + TIDE_MS(11), h.s, TIDE_TCP_ACK, una, 101, 0);
	th_expect_nsegs(&h, n0 + 3);
	assert_int_equal(cnt(h.S, TIDE_MIB_TCPChallengeACK), 1);
	assert_int_equal(cnt(h.S, TIDE_MIB_DropTcpAck), 1);
	close_all(&h, cfd, sfd);
	th_free(&h);
}

/* A segment without the ACK bit (and neither SYN nor RST) is dropped
 * before any other check: no answer even when it is outside the window,
 * no data, and a FIN in it does not close anything. */
static void test_rfc9293_segment_without_ack_is_dropped(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd;
	th_establish(&h, &cfd, &sfd, NULL);
	from_client(&h, TIDE_TCP_PSH, 101, 0, "data");
	from_client(&h, TIDE_TCP_PSH, 101 + FAR, 0, "data");
	from_client(&h, TIDE_TCP_FIN, 101, 0, NULL);
	th_run_until(&h, TIDE_MS(100));
	th_expect_nsegs(&h, 6);
	assert_int_equal(cnt(h.S, TIDE_MIB_DropTcpFlags), 3);
	assert_int_equal(cnt(h.S, TIDE_MIB_DropTcpSequence), 0);
	assert_int_equal(tide_sock_state(h.S, sfd), TIDE_TCP_ESTABLISHED);
	expect_recv_error(&h, h.S, sfd, EAGAIN);
	expect_transfer(&h, cfd, sfd, "good");
	close_all(&h, cfd, sfd);
	th_free(&h);
}

/* ---- PAWS (RFC 7323 §5) ------------------------------------------------ */

/* A segment whose TSval is older than TS.Recent is a stale duplicate: it
 * is dropped and answered with a duplicate ACK (PAWSEstab). */
static void test_rfc7323_paws_drops_old_tsval_with_dupack(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd;
	th_establish(&h, &cfd, &sfd, NULL);
	uint32_t ts_recent = th_seg(&h, 2)->opts.tsval; /* the handshake ACK's */
	from_client_ts(&h, TIDE_TCP_PSH | TIDE_TCP_ACK, 101, 301, "stale", ts_recent - 1000);
	th_run_until(&h, TIDE_MS(20));
	th_expect_seg_at(&h, 4, TIDE_MS(4), h.s, TIDE_TCP_ACK, 301, 101, 0);
	th_expect_nsegs(&h, 5);
	assert_int_equal(cnt(h.S, TIDE_MIB_PAWSEstab), 1);
	expect_recv_error(&h, h.S, sfd, EAGAIN);
	expect_transfer(&h, cfd, sfd, "fresh");
	close_all(&h, cfd, sfd);
	th_free(&h);
}

/* Linux tolerates a TSval one tick below TS.Recent (TCP_PAWS_WINDOW). */
static void test_rfc7323_paws_tolerates_one_tick(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd;
	th_establish(&h, &cfd, &sfd, NULL);
	uint32_t ts_recent = th_seg(&h, 2)->opts.tsval;
	from_client_ts(&h, TIDE_TCP_PSH | TIDE_TCP_ACK, 101, 301, "abc", ts_recent - 1);
	th_run_until(&h, TIDE_MS(4));
	assert_int_equal(cnt(h.S, TIDE_MIB_PAWSEstab), 0);
	expect_recv(&h, h.S, sfd, "abc");
	th_expect_seg_at(&h, 4, TIDE_MS(4), h.s, TIDE_TCP_ACK, 301, 104, 0);
	close_all(&h, cfd, sfd);
	th_free(&h);
}

/* ---- LISTEN (RFC 9293 §3.10.7.2) --------------------------------------- */

/* An ACK for a listener that matches no request is answered with
 * <SEQ=SEG.ACK><CTL=RST>. */
static void test_rfc9293_ack_to_listener_gets_rst(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int lfd = th_listen(&h, h.s, SPORT, 128);
	th_inject(&h, h.c, 40001, SPORT, TIDE_TCP_ACK, 1000, 5000, 512, NULL, 0, NULL);
	th_inject(&h, h.c, 40002, SPORT, TIDE_TCP_PSH | TIDE_TCP_ACK, 2000, 7000, 512, "hi", 2,
		  NULL);
	th_run_until(&h, TIDE_MS(10));
	th_expect_seg_at(&h, 2, TIDE_MS(1), h.s, TIDE_TCP_RST, 5000, 0, 0);
	th_expect_seg_at(&h, 3, TIDE_MS(1), h.s, TIDE_TCP_RST, 7000, 0, 0);
	th_expect_nsegs(&h, 4);
	expect_only_listen(&h);
	assert_int_equal(cnt(h.S, TIDE_MIB_OutRsts), 2);
	assert_int_equal(cnt(h.S, TIDE_MIB_DropTcpNoSocket), 2);
	/* The client has nothing on those ports: the RSTs die there. */
	assert_int_equal(cnt(h.C, TIDE_MIB_DropTcpNoSocket), 2);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* A RST to a listener is ignored. */
static void test_rfc9293_rst_to_listener_is_ignored(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int lfd = th_listen(&h, h.s, SPORT, 128);
	th_inject(&h, h.c, 40001, SPORT, TIDE_TCP_RST, 1000, 0, 0, NULL, 0, NULL);
	th_inject(&h, h.c, 40001, SPORT, TIDE_TCP_RST | TIDE_TCP_ACK, 1000, 300, 0, NULL, 0, NULL);
	th_run_until(&h, TIDE_MS(10));
	th_expect_nsegs(&h, 2);
	expect_only_listen(&h);
	assert_int_equal(cnt(h.S, TIDE_MIB_DropTcpRst), 2);
	assert_int_equal(cnt(h.S, TIDE_MIB_OutRsts), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* SYN+FIN and SYN+RST make no sense: dropped (DropTcpFlags), no request
 * is made; a plain SYN afterwards is served as usual. */
static void test_rfc9293_syn_fin_and_syn_rst_are_dropped(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int lfd = th_listen(&h, h.s, SPORT, 128);
	th_inject(&h, h.c, 40001, SPORT, TIDE_TCP_SYN | TIDE_TCP_FIN, 1000, 0, 512, NULL, 0, NULL);
	th_inject(&h, h.c, 40001, SPORT, TIDE_TCP_SYN | TIDE_TCP_RST, 1000, 0, 512, NULL, 0, NULL);
	th_run_until(&h, TIDE_MS(10));
	th_expect_nsegs(&h, 2);
	expect_only_listen(&h);
	assert_int_equal(cnt(h.S, TIDE_MIB_DropTcpFlags), 2);
	th_inject(&h, h.c, 40001, SPORT, TIDE_TCP_SYN, 1000, 0, 512, NULL, 0, NULL); /* #2 */
	th_run_until(&h, TIDE_MS(12));
	th_expect_seg_at(&h, 3, TIDE_MS(11), h.s, TIDE_TCP_SYN | TIDE_TCP_ACK, 300, 1001, 0);
	assert_int_equal(cnt(h.S, TIDE_MIB_DropTcpFlags), 2);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* Port 0 is not a port: such segments are dropped without an answer. */
static void test_rfc9293_port_zero_is_dropped(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int lfd = th_listen(&h, h.s, SPORT, 128);
	th_inject(&h, h.c, 40001, 0, TIDE_TCP_SYN, 1000, 0, 512, NULL, 0, NULL);
	th_inject(&h, h.c, 0, SPORT, TIDE_TCP_SYN, 1000, 0, 512, NULL, 0, NULL);
	th_inject(&h, h.c, 40001, 0, TIDE_TCP_ACK, 1000, 1, 512, NULL, 0, NULL);
	th_run_until(&h, TIDE_MS(10));
	th_expect_nsegs(&h, 3);
	expect_only_listen(&h);
	assert_int_equal(cnt(h.S, TIDE_MIB_DropTcpFlags), 3);
	assert_int_equal(cnt(h.S, TIDE_MIB_OutRsts), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* ---- SYN_SENT (RFC 9293 §3.10.7.3) ------------------------------------- */

/* The client's SYN (#0) is lost; the server has no listener. Hand-made
 * answers come "from the server" at 0 ms and reach the client at 1 ms. */
static int syn_sent(struct th *h)
{
	th_init(h, NULL);
	struct tide_fault drop_syn = {
		.from = h->c, .flags_mask = 0xff, .flags_match = TIDE_TCP_SYN, .nth = 1,
		.action = TIDE_FAULT_DROP,
	};
	assert_true(tide_sim_add_fault(h->sim, &drop_syn) >= 0);
	return th_connect(h, h->c, TH_SERVER_ADDR, SPORT, CPORT);
}

static void from_server(struct th *h, uint8_t flags, uint32_t seq, uint32_t ack)
{
	th_inject(h, h->s, SPORT, CPORT, flags, seq, ack, 65160, NULL, 0, NULL);
}

/* A SYN-ACK whose ACK is not in (ISS, SND.NXT] gets <SEQ=SEG.ACK><CTL=RST>
 * and the connection stays in SYN_SENT (its SYN is retransmitted at 1 s). */
static void test_rfc9293_syn_sent_bad_synack_gets_rst(void **state)
{
	(void)state;
	struct th h;
	int cfd = syn_sent(&h);
	from_server(&h, TIDE_TCP_SYN | TIDE_TCP_ACK, 300, 100); /* #1: acks ISS */
	from_server(&h, TIDE_TCP_SYN | TIDE_TCP_ACK, 300, 102); /* #2: beyond SND.NXT */
	th_run_until(&h, TIDE_SEC(1));
	th_expect_seg_at(&h, 3, TIDE_MS(1), h.c, TIDE_TCP_RST, 100, 0, 0);
	th_expect_seg_at(&h, 4, TIDE_MS(1), h.c, TIDE_TCP_RST, 102, 0, 0);
	th_expect_seg_at(&h, 5, TIDE_SEC(1), h.c, TIDE_TCP_SYN, 100, 0, 0);
	th_expect_nsegs(&h, 6);
	static const int states[] = { TIDE_TCP_SYN_SENT };
	th_expect_states(&h, h.c, states, 1);
	assert_int_equal(tide_sock_state(h.C, cfd), TIDE_TCP_SYN_SENT);
	assert_int_equal(cnt(h.C, TIDE_MIB_DropTcpAck), 2);
	assert_int_equal(cnt(h.C, TIDE_MIB_OutRsts), 2);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_free(&h);
}

/* A RST whose ACK is unacceptable, or that has no ACK at all, is ignored
 * in SYN_SENT. */
static void test_rfc9293_syn_sent_rst_with_bad_ack_is_ignored(void **state)
{
	(void)state;
	struct th h;
	int cfd = syn_sent(&h);
	from_server(&h, TIDE_TCP_RST | TIDE_TCP_ACK, 0, 100);
	from_server(&h, TIDE_TCP_RST | TIDE_TCP_ACK, 0, 5000);
	from_server(&h, TIDE_TCP_RST, 0, 0);
	th_run_until(&h, TIDE_MS(500));
	th_expect_nsegs(&h, 4);
	static const int states[] = { TIDE_TCP_SYN_SENT };
	th_expect_states(&h, h.c, states, 1);
	assert_int_equal(tide_sock_state(h.C, cfd), TIDE_TCP_SYN_SENT);
	assert_int_equal(cnt(h.C, TIDE_MIB_DropTcpAck), 2);
	assert_int_equal(cnt(h.C, TIDE_MIB_DropTcpRst), 1);
	int err = -1;
	socklen_t len = sizeof(err);
	assert_int_equal(tide_getsockopt(h.C, cfd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	assert_int_equal(err, 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_free(&h);
}

/* A RST with an acceptable ACK refuses the connection: ECONNREFUSED. */
static void test_rfc9293_syn_sent_rst_with_good_ack_refuses(void **state)
{
	(void)state;
	struct th h;
	int cfd = syn_sent(&h);
	from_server(&h, TIDE_TCP_RST | TIDE_TCP_ACK, 0, 101);
	th_run_until(&h, TIDE_MS(500));
	th_expect_nsegs(&h, 2);
	th_expect_state_at(&h, h.c, 1, TIDE_MS(1), TIDE_TCP_SYN_SENT, TIDE_TCP_CLOSED);
	assert_int_equal(tide_sock_state(h.C, cfd), TIDE_TCP_CLOSED);
	assert_int_equal(cnt(h.C, TIDE_MIB_AttemptFails), 1);
	int err = 0;
	socklen_t len = sizeof(err);
	assert_int_equal(tide_getsockopt(h.C, cfd, SOL_SOCKET, SO_ERROR, &err, &len), 0);
	assert_int_equal(err, ECONNREFUSED);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc9293_old_duplicate_gets_immediate_ack_not_redelivered),
		cmocka_unit_test(test_rfc9293_segment_beyond_window_gets_ack_and_is_dropped),
		cmocka_unit_test(test_rfc9293_zero_length_segment_at_rcv_nxt_is_accepted),
		cmocka_unit_test(test_rfc9293_out_of_window_acks_answered_once_per_500ms),
		cmocka_unit_test(test_rfc5961_rst_at_rcv_nxt_resets),
		cmocka_unit_test(test_rfc5961_rst_in_window_gets_challenge_ack),
		cmocka_unit_test(test_rfc5961_rst_out_of_window_is_ignored),
		cmocka_unit_test(test_rfc5961_challenge_acks_are_rate_limited),
		cmocka_unit_test(test_rfc5961_rst_at_fin_seq_resets_close_wait),
		cmocka_unit_test(test_rfc5961_syn_in_established_gets_challenge_ack),
		cmocka_unit_test(test_rfc9293_ack_of_unsent_data_is_dropped),
		cmocka_unit_test(test_rfc5961_ack_older_than_bytes_acked_gets_challenge_ack),
		cmocka_unit_test(test_rfc5961_ack_older_than_max_window_gets_challenge_ack),
		cmocka_unit_test(test_rfc9293_segment_without_ack_is_dropped),
		cmocka_unit_test(test_rfc7323_paws_drops_old_tsval_with_dupack),
		cmocka_unit_test(test_rfc7323_paws_tolerates_one_tick),
		cmocka_unit_test(test_rfc9293_ack_to_listener_gets_rst),
		cmocka_unit_test(test_rfc9293_rst_to_listener_is_ignored),
		cmocka_unit_test(test_rfc9293_syn_fin_and_syn_rst_are_dropped),
		cmocka_unit_test(test_rfc9293_port_zero_is_dropped),
		cmocka_unit_test(test_rfc9293_syn_sent_bad_synack_gets_rst),
		cmocka_unit_test(test_rfc9293_syn_sent_rst_with_bad_ack_is_ignored),
		cmocka_unit_test(test_rfc9293_syn_sent_rst_with_good_ack_refuses),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
