/*
 * Listen queues and TCP_DEFER_ACCEPT (catalogue LC-H02, LC-H03, LC-H10,
 * LC-K11, LC-K18).
 *
 * Covers Linux 6.x's limits: the SYN queue is full when it holds more
 * requests than the backlog (inet_csk_reqsk_queue_is_full), the accept
 * queue likewise (sk_acceptq_is_full), the backlog capped by somaxconn;
 * without cookies the last quarter of tcp_max_syn_backlog is kept for
 * proven peers (tcp_conn_request); a SYN finding the accept queue full is
 * dropped (ListenOverflows, ListenDrops); requests lose SYN-ACK retries
 * when the queue is over half full (reqsk_timer_handler); what a request
 * does with a duplicate SYN, an out-of-window or badly echoed segment, a
 * RST or a new SYN (tcp_check_req); a request whose ACK met a full accept
 * queue completed later by the client's data; closing a listener with
 * requests. TCP_DEFER_ACCEPT: seconds kept as SYN-ACK timeouts
 * (secs_to_retrans / retrans_to_secs), a bare ACK dropped
 * (TCPDeferAcceptDrop), data or a FIN completing the connection, the
 * SYN-ACK resent in the last round of the period and the request's end
 * (syn_ack_recalc).
 *
 * Fixture: client 198.18.0.1 (ISN 100), server 198.18.0.2 (ISN 300), 1 ms
 * one-way delay; spoofed sources in 198.19.0.0/16 are owned by no node.
 * Facts from Linux 6.18 (net/ipv4/tcp_input.c, tcp_minisocks.c,
 * tcp_ipv4.c, inet_connection_sock.c, tcp.c), checked on a 6.18 kernel.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"
#include "inject.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#define SYN TIDE_TCP_SYN
#define ACK TIDE_TCP_ACK
#define RST TIDE_TCP_RST
#define FIN TIDE_TCP_FIN
#define PSH TIDE_TCP_PSH
#define CTL_MASK (SYN | ACK | RST | FIN)
#define SYN_OPTS (TIDE_OPT_MSS | TIDE_OPT_SACK_OK | TIDE_OPT_TS | TIDE_OPT_WSCALE)
#define NO_COOKIES "net.ipv4.tcp_syncookies = 0\n"

static uint64_t C_(struct th *h, enum tide_counter c) { return tide_stack_counter(h->C, c); }
static uint64_t S_(struct th *h, enum tide_counter c) { return tide_stack_counter(h->S, c); }

static int accept_errno(struct th *h, int lfd)
{
	errno = 0;
	assert_int_equal(tide_accept(h->S, lfd, NULL, NULL, 0), -1);
	return errno;
}

static int accept_from(struct th *h, int lfd, uint16_t peer_port)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = tide_accept(h->S, lfd, (struct sockaddr *)&sin, &len, 0);
	assert_true(fd >= 0);
	assert_int_equal(ntohs(sin.sin_port), peer_port);
	return fd;
}

static struct tcp_info info_of(tide_stack *st, int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	assert_int_equal(tide_getsockopt(st, fd, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
	return ti;
}

static short listener_events(struct th *h, int lfd)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	assert_true(tide_poll(h->S, &p, 1) >= 0);
	return p.revents;
}

/* Counts node's state changes to new_state at time t. */
static size_t states_at(struct th *h, int node, tide_time t, int new_state)
{
	size_t n = 0;
	for (size_t i = 0; i < h->nstates; i++)
		n += h->states[i].node == node && h->states[i].t == t &&
		     h->states[i].new_state == new_state;
	return n;
}

/* Counts the segments node sent at time t with exactly these flags. */
static size_t segs_at(struct th *h, int node, tide_time t, uint8_t flags)
{
	size_t n = 0;
	for (size_t i = 0; i < h->nsegs; i++)
		n += h->segs[i].from == node && h->segs[i].t == t && h->segs[i].flags == flags;
	return n;
}

static int defer_get(tide_stack *st, int fd)
{
	int v = -1;
	socklen_t len = sizeof(v);
	assert_int_equal(tide_getsockopt(st, fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &v, &len), 0);
	assert_int_equal(len, sizeof(int));
	return v;
}

static void defer_set(tide_stack *st, int fd, int secs)
{
	assert_int_equal(tide_setsockopt(st, fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs, sizeof(secs)), 0);
}

/* ---- queue limits ---- */

/* LC-H02: without cookies a backlog-4 listener keeps 5 requests (full means
 * more than the backlog); the other 2 SYNs of 7 are dropped. */
static void test_LC_H02_syn_queue_holds_backlog_plus_one(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .server_settings = NO_COOKIES };
	th_init(&h, &o);
	int lfd = th_listen(&h, h.s, 80, 4);
	th_flood(&h, 7);
	th_run_until(&h, TIDE_MS(10));
	th_expect_nsegs(&h, 12);
	for (size_t i = 0; i < 5; i++) {
		th_expect_seg_at(&h, 7 + i, TIDE_MS(1), h.s, SYN | ACK, 300, 1001, 0);
		assert_int_equal(th_seg(&h, 7 + i)->dport, 1024 + i);
	}
	assert_int_equal(states_at(&h, h.s, TIDE_MS(1), TIDE_TCP_SYN_RECV), 5);
	assert_int_equal(S_(&h, TIDE_MIB_TCPReqQFullDrop), 2);
	assert_int_equal(S_(&h, TIDE_MIB_ListenDrops), 2);
	assert_int_equal(S_(&h, TIDE_MIB_ListenOverflows), 0);
	assert_int_equal(accept_errno(&h, lfd), EAGAIN);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* LC-K11: without cookies Linux also drops a SYN when fewer than a quarter
 * of tcp_max_syn_backlog's places are free, unless the peer is proven
 * (tide keeps no TCP metrics: none is): 16 places keep 13 requests. With
 * cookies on (the default) the rule does not apply. */
static void test_LC_K11_last_quarter_of_max_syn_backlog(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .server_settings = NO_COOKIES "net.ipv4.tcp_max_syn_backlog = 16\n" };
	th_init(&h, &o);
	int lfd = th_listen(&h, h.s, 80, 128);
	th_flood(&h, 20);
	th_run_until(&h, TIDE_MS(10));
	th_expect_nsegs(&h, 33);
	th_expect_seg_at(&h, 32, TIDE_MS(1), h.s, SYN | ACK, 300, 1001, 0);
	assert_int_equal(th_seg(&h, 32)->dport, 1024 + 12);
	assert_int_equal(S_(&h, TIDE_MIB_ListenDrops), 7);
	assert_int_equal(S_(&h, TIDE_MIB_TCPReqQFullDrop), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);

	struct th_opts o2 = { .server_settings = "net.ipv4.tcp_max_syn_backlog = 16\n" };
	th_init(&h, &o2);
	lfd = th_listen(&h, h.s, 80, 128);
	th_flood(&h, 20);
	th_run_until(&h, TIDE_MS(10));
	th_expect_nsegs(&h, 40);
	assert_int_equal(S_(&h, TIDE_MIB_ListenDrops), 0);
	assert_int_equal(states_at(&h, h.s, TIDE_MS(1), TIDE_TCP_SYN_RECV), 20);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* LC-H02: a SYN that finds the accept queue full (more than the backlog
 * waiting) is dropped, cookies or not: ListenOverflows and ListenDrops. Its
 * retransmission after accept() made room gets through. */
static void test_LC_H02_accept_queue_full_drops_syn(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int lfd = th_listen(&h, h.s, 80, 0);
	int a = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_until(&h, TIDE_MS(10));
	int b = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40001);
	th_run_until(&h, TIDE_MS(1500));
	th_expect_seg_at(&h, 3, TIDE_MS(10), h.c, SYN, 100, 0, 0);
	th_expect_seg_at(&h, 4, TIDE_MS(1010), h.c, SYN, 100, 0, 0);
	th_expect_nsegs(&h, 5);
	assert_int_equal(S_(&h, TIDE_MIB_ListenOverflows), 2);
	assert_int_equal(S_(&h, TIDE_MIB_ListenDrops), 2);
	assert_int_equal(S_(&h, TIDE_MIB_SyncookiesSent), 0);
	assert_int_equal(S_(&h, TIDE_MIB_TCPReqQFullDoCookies), 0);

	int sa = accept_from(&h, lfd, 40000);
	th_run_until(&h, TIDE_MS(2013));
	th_expect_seg_at(&h, 5, TIDE_MS(2010), h.c, SYN, 100, 0, 0);
	th_expect_seg_at(&h, 6, TIDE_MS(2011), h.s, SYN | ACK, 300, 101, 0);
	th_expect_seg_at(&h, 7, TIDE_MS(2012), h.c, ACK, 101, 301, 0);
	th_expect_nsegs(&h, 8);
	int sb = accept_from(&h, lfd, 40001);
	assert_int_equal(tide_sock_state(h.S, sb), TIDE_TCP_ESTABLISHED);
	assert_int_equal(S_(&h, TIDE_MIB_ListenOverflows), 2);

	assert_int_equal(tide_close(h.S, sa), 0);
	assert_int_equal(tide_close(h.S, sb), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	assert_int_equal(tide_close(h.C, a), 0);
	assert_int_equal(tide_close(h.C, b), 0);
	th_free(&h);
}

/* LC-K11: listen()'s backlog is capped at somaxconn; TCP_INFO of a listener
 * shows the cap (tcpi_sacked) and the queue (tcpi_unacked), as Linux's. */
static void test_LC_K11_backlog_capped_by_somaxconn(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .server_settings = "net.core.somaxconn = 2\n" };
	th_init(&h, &o);
	int lfd = th_listen(&h, h.s, 80, 100);
	int c[4];
	for (int i = 0; i < 4; i++) {
		c[i] = th_connect(&h, h.c, TH_SERVER_ADDR, 80, (uint16_t)(40000 + i));
		th_run_until(&h, TIDE_MS(10) * (tide_time)(i + 1));
	}
	struct tcp_info ti = info_of(h.S, lfd);
	assert_int_equal(ti.tcpi_state, TIDE_TCP_LISTEN);
	assert_int_equal(ti.tcpi_sacked, 2);
	assert_int_equal(ti.tcpi_unacked, 3);
	th_expect_seg_at(&h, 9, TIDE_MS(30), h.c, SYN, 100, 0, 0);
	th_expect_nsegs(&h, 10);
	assert_int_equal(S_(&h, TIDE_MIB_ListenOverflows), 1);
	assert_int_equal(S_(&h, TIDE_MIB_PassiveOpens), 3);

	for (int i = 0; i < 3; i++)
		assert_int_equal(tide_close(h.S, accept_from(&h, lfd, (uint16_t)(40000 + i))), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(tide_close(h.C, c[i]), 0);
	th_free(&h);
}

/* LC-H02: with more than half of max(backlog, 8) places taken, requests
 * whose SYN-ACK already timed out lose retries (down to 2) until half the
 * queue is young again (Linux's reqsk_timer_handler). 9 requests in a
 * backlog-8 listener: all resend at 1 s and 3 s; at 7 s five expire, and
 * the four left keep the full 5 retries (15 s, 31 s) and expire at 63 s. A
 * 6.18 kernel gives the same counts. */
static void test_LC_H02_half_full_syn_queue_prunes_old_requests(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int lfd = th_listen(&h, h.s, 80, 8);
	th_flood(&h, 9);
	th_run_until(&h, TIDE_SEC(4));
	assert_int_equal(states_at(&h, h.s, TIDE_MS(1), TIDE_TCP_SYN_RECV), 9);
	assert_int_equal(S_(&h, TIDE_MIB_SyncookiesSent), 0);
	assert_int_equal(segs_at(&h, h.s, TIDE_MS(1001), SYN | ACK), 9);
	assert_int_equal(segs_at(&h, h.s, TIDE_MS(3001), SYN | ACK), 9);
	assert_int_equal(S_(&h, TIDE_MIB_RetransSegs), 18);
	th_run_until(&h, TIDE_SEC(8));
	assert_int_equal(states_at(&h, h.s, TIDE_MS(7001), TIDE_TCP_CLOSE), 5);
	assert_int_equal(segs_at(&h, h.s, TIDE_MS(7001), SYN | ACK), 4);
	assert_int_equal(S_(&h, TIDE_MIB_RetransSegs), 22);
	th_run_until(&h, TIDE_SEC(64));
	assert_int_equal(segs_at(&h, h.s, TIDE_MS(15001), SYN | ACK), 4);
	assert_int_equal(segs_at(&h, h.s, TIDE_MS(31001), SYN | ACK), 4);
	assert_int_equal(states_at(&h, h.s, TIDE_MS(63001), TIDE_TCP_CLOSE), 4);
	assert_int_equal(S_(&h, TIDE_MIB_RetransSegs), 30);
	th_expect_nsegs(&h, 9 + 9 + 30);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* ---- a request's answers (tcp_check_req) ---- */

/* LC-H02: a duplicate of the SYN gets the SYN-ACK again (RetransSegs, as
 * Linux's tcp_rtx_synack) and restarts the SYN-ACK timer; another within
 * 500 ms (tcp_invalid_ratelimit) is ignored (TCPACKSkippedSynRecv). */
static void test_LC_H02_duplicate_syn_resends_synack_rate_limited(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int lfd = th_listen(&h, h.s, 80, 128);
	th_drop(&h, h.c, CTL_MASK, ACK, 1, 100); /* the client's ACKs never arrive */
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_until(&h, TIDE_MS(100));
	th_inject(&h, h.c, 40000, 80, SYN, 100, 0, 64240, NULL, 0, NULL);
	th_run_until(&h, TIDE_MS(300));
	th_inject(&h, h.c, 40000, 80, SYN, 100, 0, 64240, NULL, 0, NULL);
	th_run_until(&h, TIDE_MS(1200));
	th_expect_seg_at(&h, 1, TIDE_MS(1), h.s, SYN | ACK, 300, 101, 0);
	th_expect_seg_at(&h, 2, TIDE_MS(2), h.c, ACK, 101, 301, 0); /* dropped */
	th_expect_seg_at(&h, 3, TIDE_MS(100), h.c, SYN, 100, 0, 0);
	th_expect_seg_at(&h, 4, TIDE_MS(101), h.s, SYN | ACK, 300, 101, 0);
	th_expect_seg_at(&h, 5, TIDE_MS(102), h.c, ACK, 101, 301, 0); /* challenge ACK, dropped */
	th_expect_seg_at(&h, 6, TIDE_MS(300), h.c, SYN, 100, 0, 0);  /* ignored */
	th_expect_seg_at(&h, 7, TIDE_MS(1101), h.s, SYN | ACK, 300, 101, 0); /* 1 s after 101 ms */
	th_expect_seg_at(&h, 8, TIDE_MS(1102), h.c, ACK, 101, 301, 0);
	th_expect_nsegs(&h, 9);
	assert_int_equal(S_(&h, TIDE_MIB_RetransSegs), 2);
	assert_int_equal(S_(&h, TIDE_MIB_TCPACKSkippedSynRecv), 1);
	assert_int_equal(accept_errno(&h, lfd), EAGAIN);
	assert_int_equal(tide_close(h.S, lfd), 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_free(&h);
}

/* LC-H02: a segment for a request outside its window, or echoing a TSval
 * no SYN-ACK carried (Linux 6.x's TSecr check), is answered by an ACK
 * (seq ISS+1, the window of the SYN-ACK scaled) at most once per 500 ms,
 * and dropped; the request lives on and the right ACK completes it. */
static void test_LC_H02_request_answers_bad_segments_with_ack(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int lfd = th_listen(&h, h.s, 80, 128);
	th_drop(&h, h.c, CTL_MASK, ACK, 1, 1);
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_until(&h, TIDE_MS(10));
	uint32_t srv_tsval = th_seg(&h, 1)->opts.tsval, cli_tsval = th_seg(&h, 0)->opts.tsval;
	struct tide_tcp_opts ts;
	memset(&ts, 0, sizeof(ts));
	ts.present = TIDE_OPT_TS;
	ts.tsval = cli_tsval + 10;
	ts.tsecr = srv_tsval;
	th_inject(&h, h.c, 40000, 80, ACK, 101 + 100000, 301, 502, NULL, 0, &ts);
	th_inject(&h, h.c, 40000, 80, ACK, 101 + 100000, 301, 502, NULL, 0, &ts);
	th_run_until(&h, TIDE_MS(600));
	ts.tsecr = srv_tsval + 1;
	th_inject(&h, h.c, 40000, 80, ACK, 101, 301, 502, NULL, 0, &ts);
	th_run_until(&h, TIDE_MS(700));
	ts.tsecr = srv_tsval;
	th_inject(&h, h.c, 40000, 80, ACK, 101, 301, 502, NULL, 0, &ts);
	th_run_until(&h, TIDE_MS(702));

	th_expect_seg_at(&h, 3, TIDE_MS(10), h.c, ACK, 100101, 301, 0);
	th_expect_seg_at(&h, 4, TIDE_MS(10), h.c, ACK, 100101, 301, 0);
	const struct th_seg *a = th_seg(&h, 5);
	th_expect_seg_at(&h, 5, TIDE_MS(11), h.s, ACK, 301, 101, 0);
	assert_int_equal(a->win, 65160 >> 7);
	assert_int_equal(a->opts.present, TIDE_OPT_TS);
	assert_int_equal(a->opts.tsval, srv_tsval + 10);
	assert_int_equal(a->opts.tsecr, cli_tsval);
	th_expect_seg_at(&h, 6, TIDE_MS(600), h.c, ACK, 101, 301, 0);
	th_expect_seg_at(&h, 7, TIDE_MS(601), h.s, ACK, 301, 101, 0);
	th_expect_seg_at(&h, 8, TIDE_MS(700), h.c, ACK, 101, 301, 0);
	th_expect_nsegs(&h, 9);
	assert_int_equal(S_(&h, TIDE_MIB_TCPACKSkippedSynRecv), 1);
	assert_int_equal(S_(&h, TIDE_MIB_TSEcrRejected), 1);
	th_expect_state_at(&h, h.s, 2, TIDE_MS(701), TIDE_TCP_SYN_RECV, TIDE_TCP_ESTABLISHED);
	int sfd = accept_from(&h, lfd, 40000);
	assert_int_equal(tide_close(h.S, sfd), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_free(&h);
}

/* LC-H02: a RST in a request's window ends it silently; a SYN in its window
 * (not the first SYN again) ends it with a RST. Both count AttemptFails and
 * EmbryonicRsts. */
static void test_LC_H02_rst_or_new_syn_ends_request(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int lfd = th_listen(&h, h.s, 80, 128);
	th_drop(&h, h.c, CTL_MASK, ACK, 1, 2);
	int a = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	int b = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40001);
	th_run_until(&h, TIDE_MS(10));
	th_expect_nsegs(&h, 6);
	th_inject(&h, h.c, 40000, 80, RST, 5000, 0, 0, NULL, 0, NULL);
	th_inject(&h, h.c, 40001, 80, SYN, 200, 0, 64240, NULL, 0, NULL);
	th_run_until(&h, TIDE_MS(12));
	th_expect_seg_at(&h, 8, TIDE_MS(11), h.s, RST | ACK, 0, 201, 0);
	th_expect_nsegs(&h, 9);
	assert_int_equal(states_at(&h, h.s, TIDE_MS(11), TIDE_TCP_CLOSE), 2);
	assert_int_equal(S_(&h, TIDE_MIB_AttemptFails), 2);
	assert_int_equal(S_(&h, TIDE_MIB_EmbryonicRsts), 2);
	assert_int_equal(S_(&h, TIDE_MIB_OutRsts), 1);
	assert_int_equal(tide_close(h.S, lfd), 0);
	assert_int_equal(tide_close(h.C, a), 0);
	assert_int_equal(tide_close(h.C, b), 0);
	th_free(&h);
}

/* LC-H03: B's final ACK meets a full accept queue and is dropped (the
 * request stays, ACKed). B's first data does too. After accept() made
 * room, B's data retransmission (RTO 202 ms after the 2 ms handshake)
 * completes the connection before any SYN-ACK retransmission, with its
 * data. (Backlog 1 lets both SYNs in; listen() then shrinks it to 0.) */
static void test_LC_H03_data_completes_request_once_accept_made_room(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int lfd = th_listen(&h, h.s, 80, 1);
	int a = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	int b = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40001);
	th_run_until(&h, TIDE_MS(2));
	assert_int_equal(tide_listen(h.S, lfd, 0), 0);
	th_run_until(&h, TIDE_MS(5));
	char buf[100];
	memset(buf, 'b', sizeof(buf));
	assert_int_equal(tide_send(h.C, b, buf, 100, 0), 100);
	th_run_until(&h, TIDE_MS(10));
	assert_int_equal(S_(&h, TIDE_MIB_ListenOverflows), 2);
	assert_int_equal(S_(&h, TIDE_MIB_ListenDrops), 2);
	int sa = accept_from(&h, lfd, 40000);
	assert_int_equal(accept_errno(&h, lfd), EAGAIN);
	th_run_until(&h, TIDE_MS(300));
	th_expect_seg_at(&h, 5, TIDE_MS(2), h.c, ACK, 101, 301, 0);
	th_expect_seg_at(&h, 6, TIDE_MS(5), h.c, PSH | ACK, 101, 301, 100);
	th_expect_seg_at(&h, 7, TIDE_MS(207), h.c, PSH | ACK, 101, 301, 100);
	th_expect_seg_at(&h, 8, TIDE_MS(208), h.s, ACK, 301, 201, 0);
	th_expect_nsegs(&h, 9);
	th_expect_state_at(&h, h.s, 4, TIDE_MS(208), TIDE_TCP_SYN_RECV, TIDE_TCP_ESTABLISHED);
	assert_int_equal(S_(&h, TIDE_MIB_ListenOverflows), 2);
	assert_int_equal(S_(&h, TIDE_MIB_PassiveOpens), 2);
	assert_int_equal(C_(&h, TIDE_MIB_RetransSegs), 1);
	assert_int_equal(S_(&h, TIDE_MIB_RetransSegs), 0);
	int sb = accept_from(&h, lfd, 40001);
	assert_int_equal(tide_recv(h.S, sb, buf, sizeof(buf), 0), 100);

	assert_int_equal(tide_close(h.S, sa), 0);
	assert_int_equal(tide_close(h.S, sb), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	assert_int_equal(tide_close(h.C, a), 0);
	assert_int_equal(tide_close(h.C, b), 0);
	th_free(&h);
}

/* LC-H10: closing a listener ends its requests without a word (only queued
 * connections get a RST); the client's next segment then finds nobody and
 * gets a RST. */
static void test_LC_H10_closing_listener_drops_requests_silently(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int lfd = th_listen(&h, h.s, 80, 128);
	th_drop(&h, h.c, CTL_MASK, ACK, 1, 1);
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_until(&h, TIDE_MS(10));
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_expect_state_at(&h, h.s, 2, TIDE_MS(10), TIDE_TCP_SYN_RECV, TIDE_TCP_CLOSE);
	th_expect_nsegs(&h, 3);
	assert_int_equal(tide_send(h.C, cfd, "x", 1, 0), 1);
	th_run_until(&h, TIDE_MS(13));
	th_expect_seg_at(&h, 3, TIDE_MS(10), h.c, PSH | ACK, 101, 301, 1);
	th_expect_seg_at(&h, 4, TIDE_MS(11), h.s, RST, 301, 0, 0);
	th_expect_nsegs(&h, 5);
	assert_int_equal(tide_sock_state(h.C, cfd), TIDE_TCP_CLOSE);
	assert_int_equal(S_(&h, TIDE_MIB_AttemptFails), 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_free(&h);
}

/* ---- TCP_DEFER_ACCEPT ---- */

/* LC-K18: Linux keeps TCP_DEFER_ACCEPT as the number of SYN-ACK timeouts
 * (1 s, 2 s, 4 s... at most 120 s) whose sum first reaches the seconds
 * asked, and getsockopt reports that sum. Any TCP socket takes it; an
 * accepted socket starts at 0. */
static void test_LC_K18_defer_accept_seconds_as_timeouts(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	static const int cases[][2] = {
		{ 0, 0 }, { 1, 1 }, { 2, 3 }, { 3, 3 }, { 4, 7 }, { 5, 7 }, { 7, 7 }, { 8, 15 },
		{ 30, 31 }, { 31, 31 }, { 32, 63 }, { 100, 127 }, { 121, 127 }, { 200, 247 },
		{ -5, 0 },
	};
	int fd = tide_socket(h.S, AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(defer_get(h.S, fd), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		defer_set(h.S, fd, cases[i][0]);
		assert_int_equal(defer_get(h.S, fd), cases[i][1]);
	}
	defer_set(h.S, fd, 5); /* before listen(): kept */
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(80);
	assert_int_equal(tide_bind(h.S, fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(tide_listen(h.S, fd, 128), 0);
	assert_int_equal(defer_get(h.S, fd), 7);
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_until(&h, TIDE_MS(2));
	assert_int_equal(tide_send(h.C, cfd, "x", 1, 0), 1);
	th_run_until(&h, TIDE_MS(10));
	int sfd = accept_from(&h, fd, 40000);
	assert_int_equal(defer_get(h.S, sfd), 0);
	int v = 1;
	assert_int_equal(tide_setsockopt(h.S, fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &v, 2), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(tide_close(h.S, sfd), 0);
	assert_int_equal(tide_close(h.S, fd), 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_free(&h);
}

/* LC-K18: the bare final ACK does not complete the handshake
 * (TCPDeferAcceptDrop; the request stays, ACKed) and the listener stays
 * unreadable; the first data completes it, and accept() finds the data
 * ready. The RTT is timed from the first SYN-ACK: nothing was resent. */
static void test_LC_K18_data_completes_deferred_connection(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int lfd = th_listen(&h, h.s, 80, 128);
	defer_set(h.S, lfd, 5);
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_until(&h, TIDE_MS(500));
	th_expect_seg_at(&h, 2, TIDE_MS(2), h.c, ACK, 101, 301, 0);
	th_expect_nsegs(&h, 3);
	assert_int_equal(S_(&h, TIDE_MIB_TCPDeferAcceptDrop), 1);
	static const int half[] = { TIDE_TCP_LISTEN, TIDE_TCP_SYN_RECV };
	th_expect_states(&h, h.s, half, 2);
	assert_int_equal(listener_events(&h, lfd), 0);
	assert_int_equal(accept_errno(&h, lfd), EAGAIN);
	assert_int_equal(tide_sock_state(h.C, cfd), TIDE_TCP_ESTABLISHED);

	assert_int_equal(tide_send(h.C, cfd, "GET /\r\n", 7, 0), 7);
	th_run_until(&h, TIDE_MS(502));
	th_expect_seg_at(&h, 3, TIDE_MS(500), h.c, PSH | ACK, 101, 301, 7);
	th_expect_seg_at(&h, 4, TIDE_MS(501), h.s, ACK, 301, 108, 0);
	th_expect_nsegs(&h, 5);
	th_expect_state_at(&h, h.s, 2, TIDE_MS(501), TIDE_TCP_SYN_RECV, TIDE_TCP_ESTABLISHED);
	assert_int_equal(listener_events(&h, lfd), POLLIN);
	int sfd = accept_from(&h, lfd, 40000);
	char buf[16];
	assert_int_equal(tide_recv(h.S, sfd, buf, sizeof(buf), MSG_DONTWAIT), 7);
	assert_int_equal(info_of(h.S, sfd).tcpi_rtt, 500000);
	assert_int_equal(S_(&h, TIDE_MIB_TCPDeferAcceptDrop), 1);
	assert_int_equal(S_(&h, TIDE_MIB_PassiveOpens), 1);
	assert_int_equal(S_(&h, TIDE_MIB_RetransSegs), 0);

	assert_int_equal(tide_close(h.S, sfd), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_free(&h);
}

/* LC-K18: with no data, an ACKed request stays silent while its timer
 * runs out the deferral (5 s = 3 timeouts: 1, 3, 7 s) and resends the
 * SYN-ACK in the last round (7 s); the client's answer (a challenge ACK)
 * then completes the connection, as on a 6.18 kernel. */
static void test_LC_K18_no_data_completes_after_defer_period(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int lfd = th_listen(&h, h.s, 80, 128);
	defer_set(h.S, lfd, 5);
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_until(&h, TIDE_SEC(7));
	th_expect_nsegs(&h, 3);
	th_run_until(&h, TIDE_MS(7003));
	th_expect_seg_at(&h, 3, TIDE_MS(7001), h.s, SYN | ACK, 300, 101, 0);
	th_expect_seg_at(&h, 4, TIDE_MS(7002), h.c, ACK, 101, 301, 0);
	th_expect_nsegs(&h, 5);
	th_expect_state_at(&h, h.s, 2, TIDE_MS(7003), TIDE_TCP_SYN_RECV, TIDE_TCP_ESTABLISHED);
	assert_int_equal(C_(&h, TIDE_MIB_TCPSYNChallenge), 1);
	assert_int_equal(S_(&h, TIDE_MIB_TCPDeferAcceptDrop), 1);
	assert_int_equal(S_(&h, TIDE_MIB_RetransSegs), 1);
	int sfd = accept_from(&h, lfd, 40000);
	/* timed by the TSecr, which the challenge ACK took from the first
	 * SYN-ACK (its ts_recent is updated only after the check) */
	assert_int_equal(info_of(h.S, sfd).tcpi_rtt, 7002000);

	assert_int_equal(tide_close(h.S, sfd), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_free(&h);
}

/* LC-K18: a deferral longer than tcp_synack_retries (100 s = 7 timeouts,
 * 5 retries) keeps an ACKed request until the deferral's end: silent
 * timeouts at 1..63 s, the SYN-ACK at 127 s, gone at 247 s without a RST
 * (the client vanished after its ACK). */
static void test_LC_K18_acked_request_ends_with_defer_period(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int lfd = th_listen(&h, h.s, 80, 128);
	defer_set(h.S, lfd, 100);
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	assert_int_equal(tide_sim_cut_link(h.sim, TIDE_MS(3), TIDE_TIME_NEVER), 0);
	th_run_until(&h, TIDE_SEC(300));
	th_expect_seg_at(&h, 3, TIDE_MS(127001), h.s, SYN | ACK, 300, 101, 0);
	th_expect_nsegs(&h, 4);
	th_expect_state_at(&h, h.s, 2, TIDE_MS(247001), TIDE_TCP_SYN_RECV, TIDE_TCP_CLOSE);
	assert_int_equal(S_(&h, TIDE_MIB_RetransSegs), 1);
	assert_int_equal(S_(&h, TIDE_MIB_TCPDeferAcceptDrop), 1);
	assert_int_equal(S_(&h, TIDE_MIB_OutRsts), 0);
	assert_int_equal(accept_errno(&h, lfd), EAGAIN);
	assert_int_equal(tide_close(h.S, lfd), 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_free(&h);
}

/* LC-K18: a FIN is not a bare ACK (it takes a sequence number): a client
 * that sends nothing and shuts down its side completes the connection,
 * which accept() returns with the end of data waiting. */
static void test_LC_K18_fin_completes_deferred_connection(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int lfd = th_listen(&h, h.s, 80, 128);
	defer_set(h.S, lfd, 30);
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_until(&h, TIDE_MS(10));
	assert_int_equal(tide_shutdown(h.C, cfd, SHUT_WR), 0);
	th_run_until(&h, TIDE_MS(60));
	th_expect_seg_at(&h, 3, TIDE_MS(10), h.c, FIN | ACK, 101, 301, 0);
	static const int ss[] = { TIDE_TCP_LISTEN, TIDE_TCP_SYN_RECV, TIDE_TCP_ESTABLISHED,
				  TIDE_TCP_CLOSE_WAIT };
	th_expect_states(&h, h.s, ss, 4);
	th_expect_state_at(&h, h.s, 3, TIDE_MS(11), TIDE_TCP_ESTABLISHED, TIDE_TCP_CLOSE_WAIT);
	assert_int_equal(tide_stack_curr_estab(h.S), 1);
	int sfd = accept_from(&h, lfd, 40000);
	char buf[4];
	assert_int_equal(tide_recv(h.S, sfd, buf, sizeof(buf), 0), 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_LC_H02_syn_queue_holds_backlog_plus_one),
		cmocka_unit_test(test_LC_K11_last_quarter_of_max_syn_backlog),
		cmocka_unit_test(test_LC_H02_accept_queue_full_drops_syn),
		cmocka_unit_test(test_LC_K11_backlog_capped_by_somaxconn),
		cmocka_unit_test(test_LC_H02_half_full_syn_queue_prunes_old_requests),
		cmocka_unit_test(test_LC_H02_duplicate_syn_resends_synack_rate_limited),
		cmocka_unit_test(test_LC_H02_request_answers_bad_segments_with_ack),
		cmocka_unit_test(test_LC_H02_rst_or_new_syn_ends_request),
		cmocka_unit_test(test_LC_H03_data_completes_request_once_accept_made_room),
		cmocka_unit_test(test_LC_H10_closing_listener_drops_requests_silently),
		cmocka_unit_test(test_LC_K18_defer_accept_seconds_as_timeouts),
		cmocka_unit_test(test_LC_K18_data_completes_deferred_connection),
		cmocka_unit_test(test_LC_K18_no_data_completes_after_defer_period),
		cmocka_unit_test(test_LC_K18_acked_request_ends_with_defer_period),
		cmocka_unit_test(test_LC_K18_fin_completes_deferred_connection),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
