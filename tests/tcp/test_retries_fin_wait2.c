/*
 * The orphaned FIN_WAIT_2 (catalogue LC-L03, LC-L05, LC-K01): how long a
 * connection the application closed may wait for the peer's FIN, and the
 * light record Linux keeps it in meanwhile.
 *
 * Linux's rules (tcp_rcv_state_process, __tcp_close, tcp_keepalive_timer,
 * tcp_time_wait, tcp_timewait_state_process), all copied here:
 *  - tcp_fin_time = TCP_LINGER2 or tcp_fin_timeout, at least 3.5 RTO;
 *  - when it is at most TIME_WAIT's length (60 s), the orphan becomes a
 *    TIME_WAIT record in the FIN_WAIT2 substate living max(tcp_fin_time,
 *    3.5 RTO): it still reports FIN_WAIT_2; the peer's FIN makes it a true
 *    TIME_WAIT (ACK, 60 s from then), new data or a SYN gets a RST that
 *    ends it (no TCPAbortOnData), a RST ends it, a duplicate ACK does
 *    nothing, an out-of-window segment gets an ACK;
 *  - when it is longer, the full connection waits tcp_fin_time - 60 s,
 *    then the record takes over for that long again;
 *  - TCP_LINGER2 < 0: the orphan is reset as it reaches FIN_WAIT_2
 *    (TCPAbortOnData), or at close() if it is there already
 *    (TCPAbortOnLinger); TCP_LINGER2 is capped at 120 s;
 *  - a socket that only shut down its sending side waits for ever.
 * The record is counted when it is made: TW if it lives more than 4 s,
 * else TWKilled (Linux 6.x's __inet_twsk_schedule).
 *
 * Client 198.18.0.1:40000 (ISN 100) closes first; server 198.18.0.2:80
 * (ISN 300); 1 ms one way unless said otherwise; RTO 202 ms after the
 * handshake. The client's FIN goes at 3 ms; the server, which never
 * received data, ACKs it at its next tick (5 ms, Linux's ato of 0), which
 * puts the client in FIN_WAIT_2 at 6 ms.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"
#include "core/stack_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define FA (TIDE_TCP_FIN | TIDE_TCP_ACK)
#define AK TIDE_TCP_ACK
#define RST TIDE_TCP_RST
#define RA (TIDE_TCP_RST | TIDE_TCP_ACK)

#define EXPECT_STATES(h, node, ...)                                             \
	do {                                                                    \
		static const int s_[] = { __VA_ARGS__ };                         \
		th_expect_states((h), (node), s_, sizeof(s_) / sizeof(s_[0]));   \
	} while (0)

enum {
	ST_EST = TIDE_TCP_ESTABLISHED,
	ST_SYN_SENT = TIDE_TCP_SYN_SENT,
	ST_SYN_RECV = TIDE_TCP_SYN_RECV,
	ST_FW1 = TIDE_TCP_FIN_WAIT1,
	ST_FW2 = TIDE_TCP_FIN_WAIT2,
	ST_TW = TIDE_TCP_TIME_WAIT,
	ST_CLOSED = TIDE_TCP_CLOSE,
	ST_CW = TIDE_TCP_CLOSE_WAIT,
	ST_LA = TIDE_TCP_LAST_ACK,
	ST_LISTEN = TIDE_TCP_LISTEN,
};

#define T_FW2 TIDE_MS(6)

/* ---- helpers ---------------------------------------------------------- */

static uint64_t ctr(tide_stack *st, enum tide_counter c)
{
	return tide_stack_counter(st, c);
}

static void setup_opts(struct th *h, int delay_ms, const char *client_settings, int *cfd,
		       int *sfd)
{
	struct th_opts o;
	memset(&o, 0, sizeof(o));
	o.delay = TIDE_MS(delay_ms);
	o.client_settings = client_settings;
	th_init(h, &o);
	th_establish(h, cfd, sfd, NULL);
	th_expect_nsegs(h, 3);
}

/* Established, then the client closes and reaches FIN_WAIT_2 at 6 ms (the
 * server ACKs the FIN at the next tick: it never received data). */
static void setup_orphan(struct th *h, const char *client_settings, int *sfd)
{
	int cfd;
	setup_opts(h, 0, client_settings, &cfd, sfd);
	assert_int_equal(tide_close(h->C, cfd), 0);
	th_run_until(h, T_FW2);
	th_expect_seg_at(h, 3, TIDE_MS(3), h->c, FA, 101, 301, 0);
	th_expect_seg_at(h, 4, TIDE_MS(5), h->s, AK, 301, 102, 0);
	th_expect_state_at(h, h->c, 3, T_FW2, ST_FW1, ST_FW2);
}

static const struct tide_conn_id CLIENT_ID = {
	.laddr = TH_CLIENT_ADDR, .raddr = TH_SERVER_ADDR, .lport = 40000, .rport = 80
};

/* What holds the client's 4-tuple: 0 (nothing), TIDE_EH_CONN (the full
 * connection) or TIDE_EH_TW (a record). */
static int holder(struct th *h)
{
	struct tide_hentry *e = tide_htab_find(h->C, &CLIENT_ID);
	return e ? e->kind : 0;
}

struct conns {
	size_t n;
	struct tide_conn_info ci[4];
};

static void collect(void *ctx, const struct tide_conn_info *ci)
{
	struct conns *cs = ctx;
	if (ci->state == TIDE_TCP_LISTEN)
		return;
	if (cs->n < 4)
		cs->ci[cs->n] = *ci;
	cs->n++;
}

/* The client holds exactly one connection, in `state`, with no
 * descriptor, its timer at `timer_at`. */
static void expect_one(struct th *h, int state, tide_time timer_at)
{
	struct conns cs;
	memset(&cs, 0, sizeof(cs));
	tide_stack_foreach_conn(h->C, collect, &cs);
	assert_int_equal(cs.n, 1);
	assert_int_equal(cs.ci[0].state, state);
	assert_int_equal(cs.ci[0].fd, -1);
	assert_int_equal(cs.ci[0].id.lport, 40000);
	assert_int_equal(cs.ci[0].timer_at, timer_at);
}

static size_t nconns(tide_stack *st)
{
	struct conns cs;
	memset(&cs, 0, sizeof(cs));
	tide_stack_foreach_conn(st, collect, &cs);
	return cs.n;
}

/* A hand-made segment from the server's address to the client's 4-tuple
 * (no options). */
static void inject(struct th *h, uint32_t seq, uint32_t ack, uint8_t flags, const char *data)
{
	uint8_t pkt[256];
	size_t dlen = data ? strlen(data) : 0;
	size_t tl = tide_tcp_build(pkt + TIDE_IPV4_HLEN, sizeof(pkt) - TIDE_IPV4_HLEN,
				   TH_SERVER_ADDR, TH_CLIENT_ADDR, 80, 40000, seq, ack, flags, 502,
				   NULL, data, dlen);
	assert_true(tl > 0);
	size_t il = tide_ipv4_build(pkt, sizeof(pkt), TH_SERVER_ADDR, TH_CLIENT_ADDR,
				    TIDE_IPPROTO_TCP, (uint16_t)tl, 64, 1, true);
	tide_sim_send(h->sim, h->s, pkt, il + tl);
}

static uint32_t tcpi_rto(tide_stack *st, int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	assert_int_equal(tide_getsockopt(st, fd, IPPROTO_TCP, TCP_INFO, &ti, &len), 0);
	return ti.tcpi_rto;
}

/* Linux's 3.5 RTO: (rto << 2) - (rto >> 1), on the RTO in whole ms
 * (jiffies at HZ 1000, rounded up). */
static tide_time rto_3_5(uint32_t rto_us)
{
	uint64_t ms = (rto_us + 999u) / 1000u;
	return TIDE_MS((ms << 2) - (ms >> 1));
}

static int get_linger2(tide_stack *st, int fd)
{
	int v = 12345;
	socklen_t len = sizeof(v);
	assert_int_equal(tide_getsockopt(st, fd, IPPROTO_TCP, TCP_LINGER2, &v, &len), 0);
	return v;
}

static void set_linger2(tide_stack *st, int fd, int v)
{
	assert_int_equal(tide_setsockopt(st, fd, IPPROTO_TCP, TCP_LINGER2, &v, sizeof(v)), 0);
}

/* ---- the FIN_WAIT_2 record -------------------------------------------- */

/* With the defaults (tcp_fin_timeout 60 s = TIME_WAIT's length) the orphan
 * becomes a record the moment its FIN is acknowledged: it still reports
 * FIN_WAIT_2, since 6 ms, until 60.006 s, is no orphan any more, and is
 * counted in TW; it ends silently. */
static void test_LC_L03_orphan_fin_wait_2_becomes_record(void **state)
{
	(void)state;
	struct th h;
	int sfd;
	setup_orphan(&h, NULL, &sfd);
	assert_int_equal(holder(&h), TIDE_EH_TW);
	expect_one(&h, ST_FW2, T_FW2 + TIDE_SEC(60));
	struct conns cs;
	memset(&cs, 0, sizeof(cs));
	tide_stack_foreach_conn(h.C, collect, &cs);
	assert_int_equal(cs.ci[0].state_since, T_FW2);
	assert_int_equal(h.C->orphans, 0);
	assert_int_equal(ctr(h.C, TIDE_MIB_TW), 1);
	assert_int_equal(ctr(h.C, TIDE_MIB_TWKilled), 0);

	th_run_until(&h, T_FW2 + TIDE_SEC(60) - 1);
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_FW2);
	th_run_until(&h, TIDE_SEC(200));
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_FW2, ST_CLOSED);
	th_expect_state_at(&h, h.c, 4, T_FW2 + TIDE_SEC(60), ST_FW2, ST_CLOSED);
	th_expect_nsegs(&h, 5);
	assert_int_equal(nconns(h.C), 0);
	assert_int_equal(ctr(h.C, TIDE_MIB_TW), 1);
	assert_int_equal(tide_sock_state(h.S, sfd), ST_CW);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_free(&h);
}

/* The peer's FIN turns the record into a true TIME_WAIT: ACK at once,
 * FIN_WAIT_2 -> TIME_WAIT, 60 s from the FIN; TW is not counted again.
 * With tcp_fin_timeout = 5 the record was due at 5.045 s: its expiry moves
 * later, exactly. */
static void test_LC_L03_fin_wait_2_record_takes_fin_into_time_wait(void **state)
{
	(void)state;
	struct th h;
	int sfd;
	setup_orphan(&h, "net.ipv4.tcp_fin_timeout = 5\n", &sfd);
	expect_one(&h, ST_FW2, T_FW2 + TIDE_SEC(5));
	th_run_until(&h, TIDE_SEC(2));
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_run_until(&h, TIDE_SEC(2) + TIDE_MS(2));
	th_expect_seg_at(&h, 5, TIDE_SEC(2), h.s, FA, 301, 102, 0);
	th_expect_seg_at(&h, 6, TIDE_SEC(2) + TIDE_MS(1), h.c, AK, 102, 302, 0);
	expect_one(&h, ST_TW, TIDE_SEC(62) + TIDE_MS(1));
	th_expect_state_at(&h, h.c, 4, TIDE_SEC(2) + TIDE_MS(1), ST_FW2, ST_TW);
	th_expect_state_at(&h, h.s, 5, TIDE_SEC(2) + TIDE_MS(2), ST_LA, ST_CLOSED);

	th_run_until(&h, TIDE_SEC(62) + TIDE_MS(1) - 1);
	assert_int_equal(nconns(h.C), 1);
	th_run_until(&h, TIDE_SEC(100));
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_FW2, ST_TW, ST_CLOSED);
	th_expect_state_at(&h, h.c, 5, TIDE_SEC(62) + TIDE_MS(1), ST_TW, ST_CLOSED);
	th_expect_nsegs(&h, 7);
	assert_int_equal(ctr(h.C, TIDE_MIB_TW), 1);
	th_free(&h);
}

/* New data reaching the record gets a RST <SEQ=SEG.ACK> that ends it:
 * nobody will ever read it. No TCPAbortOnData (the socket is gone: as
 * Linux's TCP_TW_RST); the server, reset in CLOSE_WAIT, gets EPIPE. */
static void test_LC_L03_fin_wait_2_record_resets_new_data(void **state)
{
	(void)state;
	struct th h;
	int sfd;
	setup_orphan(&h, NULL, &sfd);
	th_run_until(&h, TIDE_MS(100));
	assert_int_equal(tide_send(h.S, sfd, "late", 4, 0), 4);
	th_run_until(&h, TIDE_SEC(100));
	th_expect_seg_at(&h, 5, TIDE_MS(100), h.s, TIDE_TCP_PSH | AK, 301, 102, 4);
	th_expect_seg_at(&h, 6, TIDE_MS(101), h.c, RST, 102, 0, 0);
	th_expect_nsegs(&h, 7);
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_FW2, ST_CLOSED);
	th_expect_state_at(&h, h.c, 4, TIDE_MS(101), ST_FW2, ST_CLOSED);
	th_expect_state_at(&h, h.s, 4, TIDE_MS(102), ST_CW, ST_CLOSED);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPAbortOnData), 0);
	assert_int_equal(ctr(h.C, TIDE_MIB_OutRsts), 1);
	assert_int_equal(nconns(h.C), 0);
	errno = 0;
	assert_int_equal(tide_send(h.S, sfd, "x", 1, 0), -1);
	assert_int_equal(errno, EPIPE);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_free(&h);
}

/* A duplicate ACK changes nothing; a RST in the window ends the record
 * without a word. */
static void test_LC_L03_fin_wait_2_record_dup_ack_and_rst(void **state)
{
	(void)state;
	struct th h;
	int sfd;
	setup_orphan(&h, NULL, &sfd);
	inject(&h, 301, 102, AK, NULL);
	th_run_until(&h, TIDE_MS(100));
	th_expect_nsegs(&h, 6); /* the injected ACK */
	expect_one(&h, ST_FW2, T_FW2 + TIDE_SEC(60));

	inject(&h, 301, 0, RST, NULL);
	th_run_until(&h, TIDE_MS(200));
	th_expect_nsegs(&h, 7);
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_FW2, ST_CLOSED);
	th_expect_state_at(&h, h.c, 4, TIDE_MS(101), ST_FW2, ST_CLOSED);
	assert_int_equal(nconns(h.C), 0);
	assert_int_equal(ctr(h.C, TIDE_MIB_OutRsts), 0);
	th_free(&h);
}

/* A SYN at or beyond RCV.NXT gets a RST,ACK and ends the record (Linux's
 * FIN_WAIT2 substate never hands a SYN to a listener). */
static void test_LC_L03_fin_wait_2_record_resets_syn(void **state)
{
	(void)state;
	struct th h;
	int sfd;
	setup_orphan(&h, NULL, &sfd);
	inject(&h, 5000, 0, TIDE_TCP_SYN, NULL);
	th_run_until(&h, TIDE_MS(100));
	th_expect_seg_at(&h, 6, T_FW2 + TIDE_MS(1), h.c, RA, 0, 5001, 0);
	th_expect_nsegs(&h, 7);
	th_expect_state_at(&h, h.c, 4, T_FW2 + TIDE_MS(1), ST_FW2, ST_CLOSED);
	assert_int_equal(nconns(h.C), 0);
	th_free(&h);
}

/* A segment outside the window is answered with an ACK <SEQ=102,
 * ACK=301>, at most once per tcp_invalid_ratelimit (500 ms) for segments
 * without data (TCPACKSkippedFinWait2); the record stays. */
static void test_LC_L03_fin_wait_2_record_acks_out_of_window(void **state)
{
	(void)state;
	struct th h;
	int sfd;
	setup_orphan(&h, NULL, &sfd);
	inject(&h, 301 + 200000, 102, AK, NULL);
	th_run_until(&h, TIDE_MS(100));
	th_expect_seg_at(&h, 6, T_FW2 + TIDE_MS(1), h.c, AK, 102, 301, 0);
	inject(&h, 301 + 200000, 102, AK, NULL);
	th_run_until(&h, TIDE_MS(200));
	th_expect_nsegs(&h, 8);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPACKSkippedFinWait2), 1);
	expect_one(&h, ST_FW2, T_FW2 + TIDE_SEC(60));
	th_free(&h);
}

/* ---- LC-K01: tcp_fin_timeout ------------------------------------------ */

/* The setting sets the record's life: 5 s (counted TW), and 3 s (4 s or
 * less: counted TWKilled, as Linux). */
static void test_LC_K01_fin_timeout_setting(void **state)
{
	(void)state;
	for (int secs = 5; secs >= 3; secs -= 2) {
		struct th h;
		int sfd;
		char text[64];
		snprintf(text, sizeof(text), "net.ipv4.tcp_fin_timeout = %d\n", secs);
		setup_orphan(&h, text, &sfd);
		expect_one(&h, ST_FW2, T_FW2 + TIDE_SEC(secs));
		th_run_until(&h, TIDE_SEC(100));
		th_expect_state_at(&h, h.c, 4, T_FW2 + TIDE_SEC(secs), ST_FW2, ST_CLOSED);
		th_expect_nsegs(&h, 5);
		assert_int_equal(ctr(h.C, TIDE_MIB_TW), secs > 4 ? 1 : 0);
		assert_int_equal(ctr(h.C, TIDE_MIB_TWKilled), secs > 4 ? 0 : 1);
		th_free(&h);
	}
}

/* tcp_fin_time is never less than 3.5 RTO. With tcp_fin_timeout = 0:
 * the FIN's ACK (at the next tick, 5 ms, RTT 3 ms) moved the RTO to 3 + 200
 * = 203 ms, and Linux's (rto << 2) - (rto >> 1) in ms is 711 ms. With
 * tcp_fin_timeout = 1 and 150 ms one way, close() in FIN_WAIT_2 (after
 * shutdown) gives a record of 3.5 times the RTO the socket shows then. */
static void test_LC_K01_fin_time_at_least_3_5_rto(void **state)
{
	(void)state;
	struct th h;
	int sfd;
	setup_orphan(&h, "net.ipv4.tcp_fin_timeout = 0\n", &sfd);
	expect_one(&h, ST_FW2, T_FW2 + TIDE_MS(711));
	th_run_until(&h, TIDE_SEC(10));
	th_expect_state_at(&h, h.c, 4, T_FW2 + TIDE_MS(711), ST_FW2, ST_CLOSED);
	assert_int_equal(ctr(h.C, TIDE_MIB_TWKilled), 1); /* 4 s or less */
	th_free(&h);

	int cfd;
	setup_opts(&h, 150, "net.ipv4.tcp_fin_timeout = 1\n", &cfd, &sfd);
	assert_int_equal(tide_shutdown(h.C, cfd, SHUT_WR), 0);
	th_run_until(&h, TIDE_SEC(1));
	th_expect_state_at(&h, h.c, 3, TIDE_MS(751), ST_FW1, ST_FW2);
	tide_time m = rto_3_5(tcpi_rto(h.C, cfd));
	assert_true(m > TIDE_SEC(1));
	assert_int_equal(tide_close(h.C, cfd), 0);
	expect_one(&h, ST_FW2, TIDE_SEC(1) + m);
	th_run_until(&h, TIDE_SEC(10));
	th_expect_state_at(&h, h.c, 4, TIDE_SEC(1) + m, ST_FW2, ST_CLOSED);
	th_expect_nsegs(&h, 5);
	th_free(&h);
}

/* tcp_fin_timeout = 90 s, more than TIME_WAIT's 60 s: the full connection
 * waits 30 s (still an orphan, still able to count TCPAbortOnData), then a
 * record for 30 s more; 60 s in all, no segment. */
static void test_LC_K01_fin_timeout_above_time_wait_len(void **state)
{
	(void)state;
	struct th h;
	int sfd;
	setup_orphan(&h, "net.ipv4.tcp_fin_timeout = 90\n", &sfd);
	assert_int_equal(holder(&h), TIDE_EH_CONN);
	expect_one(&h, ST_FW2, T_FW2 + TIDE_SEC(30));
	assert_int_equal(h.C->orphans, 1);
	th_run_until(&h, T_FW2 + TIDE_SEC(30) - 1);
	assert_int_equal(holder(&h), TIDE_EH_CONN);
	th_run_until(&h, T_FW2 + TIDE_SEC(30));
	assert_int_equal(holder(&h), TIDE_EH_TW);
	expect_one(&h, ST_FW2, T_FW2 + TIDE_SEC(60));
	assert_int_equal(h.C->orphans, 0);
	th_run_until(&h, TIDE_SEC(200));
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_FW2, ST_CLOSED);
	th_expect_state_at(&h, h.c, 4, T_FW2 + TIDE_SEC(60), ST_FW2, ST_CLOSED);
	th_expect_nsegs(&h, 5);
	th_free(&h);
}

/* If, when the full connection's wait ends, nothing is left for a record
 * (here tcp_fin_timeout was lowered to 30 s meanwhile), Linux resets the
 * connection: RST,ACK <SEQ=102, ACK=301>. */
static void test_LC_K01_fin_wait_2_timer_resets_when_nothing_left(void **state)
{
	(void)state;
	struct th h;
	int sfd;
	setup_orphan(&h, "net.ipv4.tcp_fin_timeout = 90\n", &sfd);
	tide_stack_settings(h.C)->tcp_fin_timeout = 30;
	th_run_until(&h, TIDE_SEC(100));
	th_expect_seg_at(&h, 5, T_FW2 + TIDE_SEC(30), h.c, RA, 102, 301, 0);
	th_expect_nsegs(&h, 6);
	th_expect_state_at(&h, h.c, 4, T_FW2 + TIDE_SEC(30), ST_FW2, ST_CLOSED);
	th_expect_state_at(&h, h.s, 4, T_FW2 + TIDE_SEC(30) + TIDE_MS(1), ST_CW, ST_CLOSED);
	assert_int_equal(nconns(h.C), 0);
	th_free(&h);
}

/* A record living 3.5 RTO, longer than a short TIME_WAIT, gets the FIN:
 * its expiry moves earlier, to the FIN + tcp_timewait_len, exactly.
 * 150 ms one way, tcp_fin_timeout 1 s, tcp_timewait_len 2 s. The client
 * shuts down, reaches FIN_WAIT_2 at 790 ms and closes at 1 s, when
 * tcp_fin_time is m = 3.5 RTO (> 2 s): the connection waits m - 2 s, then
 * a record lives max(m - 2 s, m) = m. The server's FIN reaches it 160 ms
 * into that, and TIME_WAIT ends 2 s later, before the record would have. */
static void test_LC_K01_fin_wait_2_record_expiry_moves_earlier(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd;
	setup_opts(&h, 150,
		   "net.ipv4.tcp_fin_timeout = 1\nnet.ipv4.tcp_timewait_len = 2\n", &cfd, &sfd);
	assert_int_equal(tide_shutdown(h.C, cfd, SHUT_WR), 0);
	th_run_until(&h, TIDE_SEC(1));
	tide_time m = rto_3_5(tcpi_rto(h.C, cfd));
	assert_true(m > TIDE_SEC(2));
	assert_int_equal(tide_close(h.C, cfd), 0);
	tide_time rec = TIDE_SEC(1) + m - TIDE_SEC(2); /* the record begins */
	th_run_until(&h, rec - 1);
	assert_int_equal(holder(&h), TIDE_EH_CONN);
	th_run_until(&h, rec);
	assert_int_equal(holder(&h), TIDE_EH_TW);
	expect_one(&h, ST_FW2, rec + m);
	th_run_until(&h, rec + TIDE_MS(10));
	assert_int_equal(tide_close(h.S, sfd), 0);
	tide_time fin = rec + TIDE_MS(160);
	th_run_until(&h, fin);
	expect_one(&h, ST_TW, fin + TIDE_SEC(2));
	assert_true(fin + TIDE_SEC(2) < rec + m);
	th_run_until(&h, TIDE_SEC(10));
	th_expect_seg_at(&h, 6, fin, h.c, AK, 102, 302, 0);
	th_expect_nsegs(&h, 7);
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_FW2, ST_TW, ST_CLOSED);
	th_expect_state_at(&h, h.c, 4, fin, ST_FW2, ST_TW);
	th_expect_state_at(&h, h.c, 5, fin + TIDE_SEC(2), ST_TW, ST_CLOSED);
	assert_int_equal(nconns(h.C), 0);
	th_free(&h);
}

/* ---- LC-L05: TCP_LINGER2 ---------------------------------------------- */

/* The option as Linux keeps it: 0 (the default) reads as tcp_fin_timeout,
 * a negative value as -1, more than 120 s as 120 s. */
static void test_LC_L05_linger2_option_values(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int fd = tide_socket(h.C, AF_INET, SOCK_STREAM, 0);
	assert_int_equal(get_linger2(h.C, fd), 60);
	set_linger2(h.C, fd, 30);
	assert_int_equal(get_linger2(h.C, fd), 30);
	set_linger2(h.C, fd, 500);
	assert_int_equal(get_linger2(h.C, fd), 120);
	set_linger2(h.C, fd, -5);
	assert_int_equal(get_linger2(h.C, fd), -1);
	set_linger2(h.C, fd, 0);
	tide_stack_settings(h.C)->tcp_fin_timeout = 45;
	assert_int_equal(get_linger2(h.C, fd), 45);
	assert_int_equal(tide_close(h.C, fd), 0);
	th_free(&h);
}

/* TCP_LINGER2 = 10 overrides tcp_fin_timeout (60) for one socket, and a
 * listener's value is inherited by the sockets it accepts. */
static void test_LC_L05_linger2_sets_fin_timeout_per_socket(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int lfd = th_listen(&h, h.s, 80, 8);
	set_linger2(h.S, lfd, 7);
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	set_linger2(h.C, cfd, 10);
	th_run_until(&h, TIDE_MS(3));
	int sfd = th_accept(&h, h.s, lfd);
	assert_int_equal(get_linger2(h.S, sfd), 7);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_until(&h, TIDE_SEC(100));
	th_expect_state_at(&h, h.c, 3, T_FW2, ST_FW1, ST_FW2);
	th_expect_state_at(&h, h.c, 4, T_FW2 + TIDE_SEC(10), ST_FW2, ST_CLOSED);
	th_expect_nsegs(&h, 5);
	assert_int_equal(tide_close(h.S, sfd), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* TCP_LINGER2 = 100: tcp_fin_time is 40 s past TIME_WAIT's length, and
 * Linux spends it twice: 40 s as a full connection, then 40 s as a record
 * (80 s in all; Linux 6.18 on loopback: TCP_LINGER2 = 70 lasts 10 + 10 s). */
static void test_LC_L05_linger2_above_time_wait_len(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd;
	setup_opts(&h, 0, NULL, &cfd, &sfd);
	set_linger2(h.C, cfd, 100);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_until(&h, T_FW2 + TIDE_SEC(40) - 1);
	assert_int_equal(holder(&h), TIDE_EH_CONN);
	th_run_until(&h, T_FW2 + TIDE_SEC(40));
	assert_int_equal(holder(&h), TIDE_EH_TW);
	expect_one(&h, ST_FW2, T_FW2 + TIDE_SEC(80));
	th_run_until(&h, TIDE_SEC(200));
	th_expect_state_at(&h, h.c, 4, T_FW2 + TIDE_SEC(80), ST_FW2, ST_CLOSED);
	th_expect_nsegs(&h, 5);
	th_free(&h);
}

/* TCP_LINGER2 < 0: the orphan is reset the moment its FIN is acknowledged,
 * with a RST answering that ACK (TCPAbortOnData), as Linux 6.18 does. */
static void test_LC_L05_negative_linger2_resets_at_fin_wait_2(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd;
	setup_opts(&h, 0, NULL, &cfd, &sfd);
	set_linger2(h.C, cfd, -1);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_until(&h, TIDE_SEC(10));
	th_expect_seg_at(&h, 4, TIDE_MS(5), h.s, AK, 301, 102, 0);
	th_expect_seg_at(&h, 5, T_FW2, h.c, RST, 102, 0, 0);
	th_expect_nsegs(&h, 6);
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_FW2, ST_CLOSED);
	th_expect_state_at(&h, h.c, 4, T_FW2, ST_FW2, ST_CLOSED);
	th_expect_state_at(&h, h.s, 4, T_FW2 + TIDE_MS(1), ST_CW, ST_CLOSED);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPAbortOnData), 1);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPAbortOnLinger), 0);
	assert_int_equal(ctr(h.C, TIDE_MIB_OutRsts), 1);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_free(&h);
}

/* The same when the server's FIN comes with the ACK (three-way close):
 * Linux checks TCP_LINGER2 before it looks at the FIN. */
static void test_LC_L05_negative_linger2_resets_on_fin_ack(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd;
	setup_opts(&h, 0, NULL, &cfd, &sfd);
	set_linger2(h.C, cfd, -1);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_until(&h, TIDE_MS(4)); /* the FIN has just arrived */
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_run_until(&h, TIDE_SEC(10));
	th_expect_seg_at(&h, 4, TIDE_MS(4), h.s, FA, 301, 102, 0);
	th_expect_seg_at(&h, 5, TIDE_MS(5), h.c, RST, 102, 0, 0);
	th_expect_nsegs(&h, 6);
	EXPECT_STATES(&h, h.c, ST_SYN_SENT, ST_EST, ST_FW1, ST_FW2, ST_CLOSED);
	th_expect_state_at(&h, h.c, 4, TIDE_MS(5), ST_FW2, ST_CLOSED);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPAbortOnData), 1);
	assert_int_equal(ctr(h.C, TIDE_MIB_TW), 0);
	th_free(&h);
}

/* TCP_LINGER2 < 0 and close() of a socket already in FIN_WAIT_2 (after
 * shutdown): Linux's __tcp_close sends RST,ACK and counts
 * TCPAbortOnLinger. */
static void test_LC_L05_negative_linger2_close_in_fin_wait_2(void **state)
{
	(void)state;
	struct th h;
	int cfd, sfd;
	setup_opts(&h, 0, NULL, &cfd, &sfd);
	set_linger2(h.C, cfd, -1);
	assert_int_equal(tide_shutdown(h.C, cfd, SHUT_WR), 0);
	th_run_until(&h, TIDE_SEC(5));
	assert_int_equal(tide_sock_state(h.C, cfd), ST_FW2);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_until(&h, TIDE_SEC(10));
	th_expect_seg_at(&h, 5, TIDE_SEC(5), h.c, RA, 102, 301, 0);
	th_expect_nsegs(&h, 6);
	th_expect_state_at(&h, h.c, 4, TIDE_SEC(5), ST_FW2, ST_CLOSED);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPAbortOnLinger), 1);
	assert_int_equal(ctr(h.C, TIDE_MIB_TCPAbortOnData), 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_LC_L03_orphan_fin_wait_2_becomes_record),
		cmocka_unit_test(test_LC_L03_fin_wait_2_record_takes_fin_into_time_wait),
		cmocka_unit_test(test_LC_L03_fin_wait_2_record_resets_new_data),
		cmocka_unit_test(test_LC_L03_fin_wait_2_record_dup_ack_and_rst),
		cmocka_unit_test(test_LC_L03_fin_wait_2_record_resets_syn),
		cmocka_unit_test(test_LC_L03_fin_wait_2_record_acks_out_of_window),
		cmocka_unit_test(test_LC_K01_fin_timeout_setting),
		cmocka_unit_test(test_LC_K01_fin_time_at_least_3_5_rto),
		cmocka_unit_test(test_LC_K01_fin_timeout_above_time_wait_len),
		cmocka_unit_test(test_LC_K01_fin_wait_2_timer_resets_when_nothing_left),
		cmocka_unit_test(test_LC_K01_fin_wait_2_record_expiry_moves_earlier),
		cmocka_unit_test(test_LC_L05_linger2_option_values),
		cmocka_unit_test(test_LC_L05_linger2_sets_fin_timeout_per_socket),
		cmocka_unit_test(test_LC_L05_linger2_above_time_wait_len),
		cmocka_unit_test(test_LC_L05_negative_linger2_resets_at_fin_wait_2),
		cmocka_unit_test(test_LC_L05_negative_linger2_resets_on_fin_ack),
		cmocka_unit_test(test_LC_L05_negative_linger2_close_in_fin_wait_2),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
