/*
 * SYN cookies (catalogue LC-H08, LC-K12).
 *
 * Covers: a SYN flood from spoofed sources that fills the SYN queue, after
 * which a real client still connects through a cookie (exact SYN-ACK, the
 * options it encodes and the connection rebuilt from the ACK); the same
 * flood with tcp_syncookies=0, where the real client is dropped;
 * tcp_syncookies=2 (a cookie for every SYN, no request kept); the options
 * carried in the TSval, and their absence without timestamps; the MSS
 * table; a forged ACK (SyncookiesFailed, RST) and the 2-minute window in
 * which ACKs are checked at all; cookie expiry; a cookie ACK that finds the
 * accept queue full; a lost cookie ACK replaced by data.
 *
 * tide's cookie (src/tcp/tcp_syncookie.c): ISN = (keyed hash of the 4-tuple,
 * the peer's ISN, a 64 s period and m) with its low 2 bits = m, the index
 * of the MSS in {536, 1300, 1440, 1460}; good in its period and the next.
 * With timestamps the SYN-ACK's TSval is the clock in ms rounded down to
 * 64 ms, its low 6 bits the peer's window scale (0xf: none) | SACK << 4,
 * as in Linux (cookie_init_timestamp).
 *
 * Fixture: client 198.18.0.1 (ISN 100), server 198.18.0.2 (ISN 300), 1 ms
 * one-way delay; spoofed sources in 198.19.0.0/16, owned by no node (their
 * SYN-ACKs are lost). The server runs with tcp_timestamps=2 where TSvals
 * are checked (no per-connection offset, as in Linux). Linux facts from
 * net/ipv4/syncookies.c, tcp_input.c (tcp_conn_request), tcp_ipv4.c, and
 * checked on a 6.18 kernel.
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
#define PSH TIDE_TCP_PSH
#define CTL_MASK (TIDE_TCP_SYN | TIDE_TCP_ACK | TIDE_TCP_RST | TIDE_TCP_FIN)
#define SYN_OPTS (TIDE_OPT_MSS | TIDE_OPT_SACK_OK | TIDE_OPT_TS | TIDE_OPT_WSCALE)
#define TS_NO_OFFSET "net.ipv4.tcp_timestamps = 2\n"

static uint64_t C_(struct th *h, enum tide_counter c) { return tide_stack_counter(h->C, c); }
static uint64_t S_(struct th *h, enum tide_counter c) { return tide_stack_counter(h->S, c); }

static int accept_errno(struct th *h, int lfd)
{
	errno = 0;
	assert_int_equal(tide_accept(h->S, lfd, NULL, NULL, 0), -1);
	return errno;
}

static struct tcp_info info_of(tide_stack *st, int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	assert_int_equal(tide_getsockopt(st, fd, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
	return ti;
}

/* The raw TSval of a cookie SYN-ACK sent at `ms` (offset 0): the clock
 * rounded down to 64 ms with `opts` in the low bits, never ahead of it. */
static uint32_t cookie_tsval(uint32_t ms, uint32_t opts)
{
	uint32_t ts = (ms & ~63u) | opts;
	return ts > ms ? ts - 64 : ts;
}

static void expect_data(struct th *h, tide_stack *st, int fd, size_t n)
{
	char buf[256];
	assert_true(n <= sizeof(buf));
	assert_int_equal(tide_recv(st, fd, buf, sizeof(buf), 0), (ssize_t)n);
	(void)h;
}

/* LC-H08: 200 spoofed SYNs fill the SYN queue of a backlog-128 listener
 * (Linux: full when it holds more than the backlog, so 129 requests) and
 * the other 71 get cookies. A real client arriving then is answered with a
 * cookie too; its ACK rebuilds the connection (wscale 7, SACK, timestamps
 * decoded from the TSecr, MSS 1460) straight into the accept queue, and
 * data flows both ways. */
static void test_LC_H08_flood_then_real_client_connects_by_cookie(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .server_settings = TS_NO_OFFSET };
	th_init(&h, &o);
	int lfd = th_listen(&h, h.s, 80, 128);
	th_flood(&h, 200);
	th_run_until(&h, TIDE_MS(10));
	th_expect_nsegs(&h, 400);
	for (size_t i = 0; i < 200; i++) {
		const struct th_seg *s = th_seg(&h, 200 + i);
		assert_int_equal(s->t, TIDE_MS(1));
		assert_int_equal(s->flags, SYN | ACK);
		assert_int_equal(s->dport, 1024 + i);
		assert_int_equal(s->ack, 1001);
		if (i < 129) { /* a request: the ISN, and the clock as TSval */
			assert_int_equal(s->seq, 300);
			assert_int_equal(s->opts.tsval, 1);
		} else { /* a cookie: MSS 1460 is m = 3; wscale 7 | SACK */
			assert_int_not_equal(s->seq, 300);
			assert_int_equal(s->seq & 3, 3);
			assert_int_equal(s->opts.tsval, cookie_tsval(1, 7 | 0x10));
		}
		assert_int_equal(s->opts.tsecr, 1);
	}
	assert_int_equal(S_(&h, TIDE_MIB_TCPReqQFullDoCookies), 71);
	assert_int_equal(S_(&h, TIDE_MIB_SyncookiesSent), 71);
	assert_int_equal(S_(&h, TIDE_MIB_ListenDrops), 0);
	th_expect_state_at(&h, h.s, 129, TIDE_MS(1), TIDE_TCP_LISTEN, TIDE_TCP_SYN_RECV);
	assert_int_equal(h.nstates, 130); /* LISTEN and 129 requests; cookies keep nothing */

	/* The real client. */
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_until(&h, TIDE_MS(13));
	th_expect_nsegs(&h, 403);
	th_expect_seg_at(&h, 400, TIDE_MS(10), h.c, SYN, 100, 0, 0);
	const struct th_seg *sa = th_seg(&h, 401);
	uint32_t cookie = sa->seq;
	th_expect_seg_at(&h, 401, TIDE_MS(11), h.s, SYN | ACK, cookie, 101, 0);
	assert_int_equal(cookie & 3, 3);
	assert_int_equal(sa->win, 65160);
	assert_int_equal(sa->opts.present, SYN_OPTS);
	assert_int_equal(sa->opts.mss, 1460);
	assert_int_equal(sa->opts.wscale, 7);
	assert_int_equal(sa->opts.tsval, cookie_tsval(11, 7 | 0x10));
	assert_int_equal(sa->opts.tsecr, th_seg(&h, 400)->opts.tsval);
	th_expect_seg_at(&h, 402, TIDE_MS(12), h.c, ACK, 101, cookie + 1, 0);
	th_expect_state_at(&h, h.s, 130, TIDE_MS(13), TIDE_TCP_LISTEN, TIDE_TCP_SYN_RECV);
	th_expect_state_at(&h, h.s, 131, TIDE_MS(13), TIDE_TCP_SYN_RECV, TIDE_TCP_ESTABLISHED);
	assert_int_equal(S_(&h, TIDE_MIB_SyncookiesSent), 72);
	assert_int_equal(S_(&h, TIDE_MIB_TCPReqQFullDoCookies), 72);
	assert_int_equal(S_(&h, TIDE_MIB_SyncookiesRecv), 1);
	assert_int_equal(S_(&h, TIDE_MIB_SyncookiesFailed), 0);
	assert_int_equal(S_(&h, TIDE_MIB_PassiveOpens), 1);

	int sfd = th_accept(&h, h.s, lfd);
	struct tcp_info ti = info_of(h.S, sfd);
	assert_int_equal(ti.tcpi_state, TIDE_TCP_ESTABLISHED);
	assert_int_equal(ti.tcpi_options, TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE);
	assert_int_equal(ti.tcpi_snd_wscale, 7);
	assert_int_equal(ti.tcpi_rcv_wscale, 7);
	assert_int_equal(ti.tcpi_snd_mss, 1448);
	/* RTT from the echoed TSval: 13 ms - (-41 ms) (Linux: tcp_rtt_tsopt_us) */
	assert_int_equal(ti.tcpi_rtt, 54000);
	assert_int_equal(ti.tcpi_rto, 254000);

	/* Data both ways, acknowledged at once (quick ACKs). */
	char buf[100];
	memset(buf, 'c', sizeof(buf));
	assert_int_equal(tide_send(h.C, cfd, buf, 100, 0), 100);
	th_run_until(&h, TIDE_MS(20));
	assert_int_equal(tide_send(h.S, sfd, buf, 50, 0), 50);
	th_run_until(&h, TIDE_MS(30));
	th_expect_seg_at(&h, 403, TIDE_MS(13), h.c, PSH | ACK, 101, cookie + 1, 100);
	th_expect_seg_at(&h, 404, TIDE_MS(14), h.s, ACK, cookie + 1, 201, 0);
	th_expect_seg_at(&h, 405, TIDE_MS(20), h.s, PSH | ACK, cookie + 1, 201, 50);
	th_expect_seg_at(&h, 406, TIDE_MS(21), h.c, ACK, 201, cookie + 51, 0);
	th_expect_nsegs(&h, 407);
	expect_data(&h, h.S, sfd, 100);
	expect_data(&h, h.C, cfd, 50);

	assert_int_equal(tide_close(h.S, sfd), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_free(&h);
}

/* LC-K12: the same flood with tcp_syncookies=0. Past the backlog SYNs are
 * dropped (TCPReqQFullDrop, ListenDrops), the real client's SYN and its
 * retransmission too. (tcp_max_syn_backlog is raised so that its own
 * last-quarter rule, see test_listen.c, stays out of the way.) */
static void test_LC_K12_no_cookies_flood_drops_real_client(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .server_settings = "net.ipv4.tcp_syncookies = 0\n"
						"net.ipv4.tcp_max_syn_backlog = 1024\n" };
	th_init(&h, &o);
	int lfd = th_listen(&h, h.s, 80, 128);
	th_flood(&h, 200);
	th_run_until(&h, TIDE_MS(10));
	th_expect_nsegs(&h, 329); /* 200 SYNs, 129 SYN-ACKs */
	th_expect_seg_at(&h, 328, TIDE_MS(1), h.s, SYN | ACK, 300, 1001, 0);
	assert_int_equal(th_seg(&h, 328)->dport, 1024 + 128);
	assert_int_equal(S_(&h, TIDE_MIB_TCPReqQFullDrop), 71);
	assert_int_equal(S_(&h, TIDE_MIB_ListenDrops), 71);
	assert_int_equal(S_(&h, TIDE_MIB_ListenOverflows), 0);
	assert_int_equal(S_(&h, TIDE_MIB_SyncookiesSent), 0);

	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_until(&h, TIDE_MS(1011));
	th_expect_seg_at(&h, 329, TIDE_MS(10), h.c, SYN, 100, 0, 0);
	/* 1001 ms: the 129 requests resend their SYN-ACKs */
	th_expect_seg_at(&h, 330, TIDE_MS(1001), h.s, SYN | ACK, 300, 1001, 0);
	th_expect_seg_at(&h, 458, TIDE_MS(1001), h.s, SYN | ACK, 300, 1001, 0);
	assert_int_equal(S_(&h, TIDE_MIB_RetransSegs), 129);
	th_expect_seg_at(&h, 459, TIDE_MS(1010), h.c, SYN, 100, 0, 0); /* not answered */
	th_expect_nsegs(&h, 460);
	assert_int_equal(S_(&h, TIDE_MIB_TCPReqQFullDrop), 73);
	assert_int_equal(S_(&h, TIDE_MIB_ListenDrops), 73);
	assert_int_equal(tide_sock_state(h.C, cfd), TIDE_TCP_SYN_SENT);

	assert_int_equal(tide_close(h.S, lfd), 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_free(&h);
}

/* LC-K12: tcp_syncookies=2 answers every SYN with a cookie (counted as
 * TCPReqQFullDoCookies, as Linux does) and keeps no request: the server's
 * connection appears only when the ACK arrives. */
static void test_LC_K12_syncookies_2_always_sends_cookies(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .server_settings = "net.ipv4.tcp_syncookies = 2\n" };
	th_init(&h, &o);
	int lfd = th_listen(&h, h.s, 80, 128);
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_until(&h, TIDE_MS(2));
	/* nothing kept at 1 ms, when the SYN-ACK left */
	static const int listen_only[] = { TIDE_TCP_LISTEN };
	th_expect_states(&h, h.s, listen_only, 1);
	th_run_until(&h, TIDE_MS(3));
	uint32_t cookie = th_seg(&h, 1)->seq;
	assert_int_not_equal(cookie, 300);
	th_expect_seg_at(&h, 1, TIDE_MS(1), h.s, SYN | ACK, cookie, 101, 0);
	th_expect_seg_at(&h, 2, TIDE_MS(2), h.c, ACK, 101, cookie + 1, 0);
	th_expect_nsegs(&h, 3);
	static const int ss[] = { TIDE_TCP_LISTEN, TIDE_TCP_SYN_RECV, TIDE_TCP_ESTABLISHED };
	th_expect_states(&h, h.s, ss, 3);
	th_expect_state_at(&h, h.s, 1, TIDE_MS(3), TIDE_TCP_LISTEN, TIDE_TCP_SYN_RECV);
	th_expect_state_at(&h, h.s, 2, TIDE_MS(3), TIDE_TCP_SYN_RECV, TIDE_TCP_ESTABLISHED);
	assert_int_equal(S_(&h, TIDE_MIB_TCPReqQFullDoCookies), 1);
	assert_int_equal(S_(&h, TIDE_MIB_SyncookiesSent), 1);
	assert_int_equal(S_(&h, TIDE_MIB_SyncookiesRecv), 1);
	int sfd = th_accept(&h, h.s, lfd);
	assert_int_equal(tide_sock_state(h.S, sfd), TIDE_TCP_ESTABLISHED);

	assert_int_equal(tide_close(h.S, sfd), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_free(&h);
}

/* LC-H08: without timestamps a cookie has nowhere to keep window scaling
 * and SACK: the SYN-ACK offers only its MSS (Linux clears the options) and
 * the connection runs without them; with no TSecr to time it, the RTO falls
 * back to 3 s (RFC 6298 5.7, Linux's TCP_TIMEOUT_FALLBACK). */
static void test_LC_H08_cookie_without_timestamps_has_no_wscale_or_sack(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .client_settings = "net.ipv4.tcp_timestamps = 0\n",
			     .server_settings = "net.ipv4.tcp_syncookies = 2\n" };
	th_init(&h, &o);
	int lfd = th_listen(&h, h.s, 80, 128);
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_until(&h, TIDE_MS(3));
	const struct th_seg *syn = th_seg(&h, 0);
	assert_int_equal(syn->opts.present, TIDE_OPT_MSS | TIDE_OPT_SACK_OK | TIDE_OPT_WSCALE);
	const struct th_seg *sa = th_seg(&h, 1);
	uint32_t cookie = sa->seq;
	th_expect_seg_at(&h, 1, TIDE_MS(1), h.s, SYN | ACK, cookie, 101, 0);
	assert_int_equal(sa->opts.present, TIDE_OPT_MSS);
	assert_int_equal(sa->opts.mss, 1460);
	assert_int_equal(sa->win, 64240); /* 65535 rounded down to 1460s */
	th_expect_seg_at(&h, 2, TIDE_MS(2), h.c, ACK, 101, cookie + 1, 0);
	int sfd = th_accept(&h, h.s, lfd);
	struct tcp_info ti = info_of(h.S, sfd);
	assert_int_equal(ti.tcpi_options, 0);
	assert_int_equal(ti.tcpi_snd_mss, 1460);
	assert_int_equal(ti.tcpi_rto, 3000000);
	ti = info_of(h.C, cfd);
	assert_int_equal(ti.tcpi_options, 0);

	/* Unscaled windows both ways: 64240 from the server's first ACK (the
	 * window Linux's cookie_v4_check picks for MSS 1460). */
	char buf[10] = "0123456789";
	assert_int_equal(tide_send(h.C, cfd, buf, 10, 0), 10);
	th_run_until(&h, TIDE_MS(10));
	th_expect_seg_at(&h, 3, TIDE_MS(3), h.c, PSH | ACK, 101, cookie + 1, 10);
	th_expect_seg_at(&h, 4, TIDE_MS(4), h.s, ACK, cookie + 1, 111, 0);
	assert_int_equal(th_seg(&h, 4)->win, 64240);
	expect_data(&h, h.S, sfd, 10);

	assert_int_equal(tide_close(h.S, sfd), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_free(&h);
}

static uint16_t tune_mtu;
static void tune_client_mtu(struct tide_config *cfg, int node)
{
	if (node == 0)
		cfg->mtu = tune_mtu;
}

/* LC-H08: a cookie keeps the MSS as one of four values, the largest not
 * above the client's (536 if none is, so a client announcing 520 is sent
 * 536-byte segments, as by Linux). With timestamps the segment size is
 * the cookie's MSS minus 12. */
static void test_LC_H08_cookie_mss_table(void **state)
{
	(void)state;
	static const struct { uint16_t mtu, client_mss, cookie_mss; uint32_t m; } cases[] = {
		{ 1500, 1460, 1460, 3 }, { 1499, 1459, 1440, 2 }, { 1480, 1440, 1440, 2 },
		{ 1440, 1400, 1300, 1 }, { 1340, 1300, 1300, 1 }, { 1339, 1299, 536, 0 },
		{ 560, 520, 536, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct th h;
		tune_mtu = cases[i].mtu;
		struct th_opts o = { .server_settings = "net.ipv4.tcp_syncookies = 2\n",
				     .tune = tune_client_mtu };
		th_init(&h, &o);
		int lfd = th_listen(&h, h.s, 80, 128);
		int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
		th_run_until(&h, TIDE_MS(3));
		assert_int_equal(th_seg(&h, 0)->opts.mss, cases[i].client_mss);
		assert_int_equal(th_seg(&h, 1)->seq & 3, cases[i].m);
		int sfd = th_accept(&h, h.s, lfd);
		assert_int_equal(info_of(h.S, sfd).tcpi_snd_mss, cases[i].cookie_mss - 12);
		assert_int_equal(tide_close(h.S, sfd), 0);
		assert_int_equal(tide_close(h.S, lfd), 0);
		assert_int_equal(tide_close(h.C, cfd), 0);
		th_free(&h);
	}
}

/* LC-H08: an ACK whose ACK number is not a cookie, while the listener is
 * sending cookies, counts SyncookiesFailed and is treated as any ACK to a
 * listener: RST with its ACK number as sequence. ACKs are checked for
 * cookies only within 120 s of the last cookie sent (Linux's
 * tcp_synq_no_recent_overflow); after that the RST comes uncounted. */
static void test_LC_H08_forged_ack_fails_and_gets_rst(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .server_settings = "net.ipv4.tcp_syncookies = 2\n" };
	th_init(&h, &o);
	int lfd = th_listen(&h, h.s, 80, 128);
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_until(&h, TIDE_MS(10));
	th_expect_nsegs(&h, 3); /* the cookie SYN-ACK went at 1 ms */
	int sfd = th_accept(&h, h.s, lfd);

	th_inject(&h, h.c, 40001, 80, ACK, 5000, 7777, 502, NULL, 0, NULL);
	th_run_until(&h, TIDE_MS(12));
	th_expect_seg_at(&h, 3, TIDE_MS(10), h.c, ACK, 5000, 7777, 0);
	th_expect_seg_at(&h, 4, TIDE_MS(11), h.s, RST, 7777, 0, 0);
	assert_int_equal(S_(&h, TIDE_MIB_SyncookiesFailed), 1);
	assert_int_equal(S_(&h, TIDE_MIB_SyncookiesRecv), 1);
	assert_int_equal(S_(&h, TIDE_MIB_OutRsts), 1);

	/* 1 ms + 120 s: still checked */
	th_run_until(&h, TIDE_SEC(120));
	th_inject(&h, h.c, 40001, 80, ACK, 5000, 7778, 502, NULL, 0, NULL);
	th_run_until(&h, TIDE_SEC(120) + TIDE_MS(1));
	th_inject(&h, h.c, 40001, 80, ACK, 5000, 7779, 502, NULL, 0, NULL);
	th_run_until(&h, TIDE_SEC(120) + TIDE_MS(3));
	th_expect_seg_at(&h, 6, TIDE_SEC(120) + TIDE_MS(1), h.s, RST, 7778, 0, 0);
	th_expect_seg_at(&h, 8, TIDE_SEC(120) + TIDE_MS(2), h.s, RST, 7779, 0, 0);
	th_expect_nsegs(&h, 9);
	assert_int_equal(S_(&h, TIDE_MIB_SyncookiesFailed), 2);
	assert_int_equal(S_(&h, TIDE_MIB_OutRsts), 3);

	assert_int_equal(tide_close(h.S, sfd), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_free(&h);
}

/* LC-H08: a cookie is good in the 64 s period it was made in and the next
 * (Linux: two 60 s periods): one made at 1 ms still opens a connection at
 * 127.999 s and fails at 128 s. A later SYN keeps the listener checking
 * ACKs. The "client" here is only hand-made segments from its address. */
static void test_LC_H08_cookie_expires_after_two_periods(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .server_settings = "net.ipv4.tcp_syncookies = 2\n" };
	th_init(&h, &o);
	int lfd = th_listen(&h, h.s, 80, 128);
	th_inject(&h, h.c, 40000, 80, SYN, 1000, 0, 64240, NULL, 0, NULL);
	th_inject(&h, h.c, 40001, 80, SYN, 2000, 0, 64240, NULL, 0, NULL);
	th_run_until(&h, TIDE_MS(1));
	uint32_t ca = th_seg(&h, 2)->seq, cb = th_seg(&h, 3)->seq;
	th_expect_seg_at(&h, 2, TIDE_MS(1), h.s, SYN | ACK, ca, 1001, 0);
	th_expect_seg_at(&h, 3, TIDE_MS(1), h.s, SYN | ACK, cb, 2001, 0);
	assert_int_equal(th_seg(&h, 2)->opts.present, TIDE_OPT_MSS);
	assert_int_equal(ca & 3, 0); /* no MSS option: 536, m = 0 */
	/* the client's stack has no such connections: RST, which a listener
	 * ignores */
	th_run_until(&h, TIDE_MS(5));
	th_expect_seg_at(&h, 4, TIDE_MS(2), h.c, RST, 1001, 0, 0);
	th_expect_seg_at(&h, 5, TIDE_MS(2), h.c, RST, 2001, 0, 0);

	th_run_until(&h, TIDE_SEC(127));
	th_inject(&h, h.c, 40002, 80, SYN, 3000, 0, 64240, NULL, 0, NULL);
	th_run_until(&h, TIDE_SEC(128) - TIDE_MS(2));
	th_inject(&h, h.c, 40000, 80, ACK, 1001, ca + 1, 64240, NULL, 0, NULL);
	th_run_until(&h, TIDE_SEC(128) - TIDE_MS(1));
	th_inject(&h, h.c, 40001, 80, ACK, 2001, cb + 1, 64240, NULL, 0, NULL);
	th_run_until(&h, TIDE_SEC(128) + TIDE_MS(1));
	th_expect_seg_at(&h, 6, TIDE_SEC(127), h.c, SYN, 3000, 0, 0);
	th_expect_seg_at(&h, 7, TIDE_SEC(127) + TIDE_MS(1), h.s, SYN | ACK, th_seg(&h, 7)->seq, 3001, 0);
	th_expect_seg_at(&h, 8, TIDE_SEC(127) + TIDE_MS(2), h.c, RST, 3001, 0, 0);
	th_expect_seg_at(&h, 9, TIDE_SEC(128) - TIDE_MS(2), h.c, ACK, 1001, ca + 1, 0);
	th_expect_seg_at(&h, 10, TIDE_SEC(128) - TIDE_MS(1), h.c, ACK, 2001, cb + 1, 0);
	th_expect_seg_at(&h, 11, TIDE_SEC(128), h.s, RST, cb + 1, 0, 0);
	th_expect_nsegs(&h, 12);
	static const int ss[] = { TIDE_TCP_LISTEN, TIDE_TCP_SYN_RECV, TIDE_TCP_ESTABLISHED };
	th_expect_states(&h, h.s, ss, 3);
	th_expect_state_at(&h, h.s, 2, TIDE_SEC(128) - TIDE_MS(1), TIDE_TCP_SYN_RECV,
			   TIDE_TCP_ESTABLISHED);
	assert_int_equal(S_(&h, TIDE_MIB_SyncookiesSent), 3);
	assert_int_equal(S_(&h, TIDE_MIB_SyncookiesRecv), 1);
	assert_int_equal(S_(&h, TIDE_MIB_SyncookiesFailed), 1);
	int sfd = th_accept(&h, h.s, lfd);
	assert_int_equal(accept_errno(&h, lfd), EAGAIN);

	assert_int_equal(tide_close(h.S, sfd), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* LC-H08: a valid cookie ACK that finds the accept queue full is counted
 * (SyncookiesRecv, ListenOverflows, ListenDrops) and dropped without an
 * answer (tcp_abort_on_overflow does not apply to cookies). The client's
 * data, sent after accept() made room, carries the same cookie and opens
 * the connection with the data in it. */
static void test_LC_H08_cookie_ack_with_full_accept_queue_is_dropped(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .server_settings = "net.ipv4.tcp_syncookies = 2\n"
						"net.ipv4.tcp_abort_on_overflow = 1\n" };
	th_init(&h, &o);
	int lfd = th_listen(&h, h.s, 80, 0);
	int a = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	int b = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40001);
	th_run_until(&h, TIDE_MS(5));
	th_expect_nsegs(&h, 6);
	uint32_t cb = th_seg(&h, 3)->seq;
	th_expect_seg_at(&h, 3, TIDE_MS(1), h.s, SYN | ACK, cb, 101, 0);
	assert_int_equal(th_seg(&h, 3)->dport, 40001);
	th_expect_seg_at(&h, 5, TIDE_MS(2), h.c, ACK, 101, cb + 1, 0);
	assert_int_equal(S_(&h, TIDE_MIB_SyncookiesRecv), 2);
	assert_int_equal(S_(&h, TIDE_MIB_ListenOverflows), 1);
	assert_int_equal(S_(&h, TIDE_MIB_ListenDrops), 1);
	assert_int_equal(S_(&h, TIDE_MIB_PassiveOpens), 1);
	assert_int_equal(tide_sock_state(h.C, b), TIDE_TCP_ESTABLISHED);

	int sa = th_accept(&h, h.s, lfd);
	char buf[10] = "0123456789";
	assert_int_equal(tide_send(h.C, b, buf, 10, 0), 10);
	th_run_until(&h, TIDE_MS(10));
	th_expect_seg_at(&h, 6, TIDE_MS(5), h.c, PSH | ACK, 101, cb + 1, 10);
	th_expect_seg_at(&h, 7, TIDE_MS(6), h.s, ACK, cb + 1, 111, 0);
	th_expect_nsegs(&h, 8);
	assert_int_equal(S_(&h, TIDE_MIB_SyncookiesRecv), 3);
	assert_int_equal(S_(&h, TIDE_MIB_PassiveOpens), 2);
	int sb = th_accept(&h, h.s, lfd);
	expect_data(&h, h.S, sb, 10);

	assert_int_equal(tide_close(h.S, sa), 0);
	assert_int_equal(tide_close(h.S, sb), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	assert_int_equal(tide_close(h.C, a), 0);
	assert_int_equal(tide_close(h.C, b), 0);
	th_free(&h);
}

/* LC-H08: the server keeps no state for a cookie, so a lost ACK is never
 * followed by a SYN-ACK retransmission; the client's first data segment
 * completes the connection instead. */
static void test_LC_H08_lost_cookie_ack_replaced_by_data(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .server_settings = "net.ipv4.tcp_syncookies = 2\n" };
	th_init(&h, &o);
	int lfd = th_listen(&h, h.s, 80, 128);
	th_drop(&h, h.c, CTL_MASK, ACK, 1, 1);
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_until(&h, TIDE_SEC(5));
	th_expect_nsegs(&h, 3);
	uint32_t cookie = th_seg(&h, 1)->seq;
	assert_int_equal(accept_errno(&h, lfd), EAGAIN);
	char buf[10] = "0123456789";
	assert_int_equal(tide_send(h.C, cfd, buf, 10, 0), 10);
	th_run_until(&h, TIDE_SEC(5) + TIDE_MS(2));
	th_expect_seg_at(&h, 3, TIDE_SEC(5), h.c, PSH | ACK, 101, cookie + 1, 10);
	th_expect_seg_at(&h, 4, TIDE_SEC(5) + TIDE_MS(1), h.s, ACK, cookie + 1, 111, 0);
	th_expect_state_at(&h, h.s, 2, TIDE_SEC(5) + TIDE_MS(1), TIDE_TCP_SYN_RECV,
			   TIDE_TCP_ESTABLISHED);
	int sfd = th_accept(&h, h.s, lfd);
	expect_data(&h, h.S, sfd, 10);
	assert_int_equal(S_(&h, TIDE_MIB_SyncookiesRecv), 1);
	assert_int_equal(S_(&h, TIDE_MIB_RetransSegs), 0);

	assert_int_equal(tide_close(h.S, sfd), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_free(&h);
}

/* LC-H08: options decoded from the TSecr that the server no longer allows
 * (SACK, after tcp_sack was turned off) fail the cookie after it was
 * counted valid: the ACK gets a RST (Linux's cookie_timestamp_decode). */
static void test_LC_H08_cookie_options_now_disabled_get_rst(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .server_settings = "net.ipv4.tcp_syncookies = 2\n" };
	th_init(&h, &o);
	int lfd = th_listen(&h, h.s, 80, 128);
	th_drop(&h, h.c, CTL_MASK, ACK, 1, 1);
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_until(&h, TIDE_MS(3));
	uint32_t cookie = th_seg(&h, 1)->seq;
	tide_stack_settings(h.S)->tcp_sack = 0;
	char buf[10] = "0123456789";
	assert_int_equal(tide_send(h.C, cfd, buf, 10, 0), 10);
	th_run_until(&h, TIDE_MS(5));
	th_expect_seg_at(&h, 3, TIDE_MS(3), h.c, PSH | ACK, 101, cookie + 1, 10);
	th_expect_seg_at(&h, 4, TIDE_MS(4), h.s, RST, cookie + 1, 0, 0);
	assert_int_equal(S_(&h, TIDE_MIB_SyncookiesRecv), 1);
	assert_int_equal(S_(&h, TIDE_MIB_SyncookiesFailed), 0);
	assert_int_equal(S_(&h, TIDE_MIB_PassiveOpens), 0);
	assert_int_equal(tide_sock_state(h.C, cfd), TIDE_TCP_CLOSE);
	assert_int_equal(C_(&h, TIDE_MIB_EstabResets), 1);

	assert_int_equal(tide_close(h.S, lfd), 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_LC_H08_flood_then_real_client_connects_by_cookie),
		cmocka_unit_test(test_LC_K12_no_cookies_flood_drops_real_client),
		cmocka_unit_test(test_LC_K12_syncookies_2_always_sends_cookies),
		cmocka_unit_test(test_LC_H08_cookie_without_timestamps_has_no_wscale_or_sack),
		cmocka_unit_test(test_LC_H08_cookie_mss_table),
		cmocka_unit_test(test_LC_H08_forged_ack_fails_and_gets_rst),
		cmocka_unit_test(test_LC_H08_cookie_expires_after_two_periods),
		cmocka_unit_test(test_LC_H08_cookie_ack_with_full_accept_queue_is_dropped),
		cmocka_unit_test(test_LC_H08_lost_cookie_ack_replaced_by_data),
		cmocka_unit_test(test_LC_H08_cookie_options_now_disabled_get_rst),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
