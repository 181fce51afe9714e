/*
 * The counters under Linux's names (catalogue LC-O02): for each counter of
 * the catalogue's list, the events that move it, with the exact count on
 * both stacks (the one that does not take part stays at 0).
 *
 * Where Linux counts (6.18):
 *   ActiveOpens   tcp_connect (every SYN a connect() sends first)
 *   PassiveOpens  tcp_create_openreq_child (a request or a cookie becomes
 *                 a connection)
 *   AttemptFails  tcp_done in SYN_SENT/SYN_RECV; a RST or SYN ending a
 *                 request (tcp_check_req); not close() in SYN_SENT
 *   EstabResets   tcp_set_state: ESTABLISHED or CLOSE_WAIT -> CLOSE
 *   CurrEstab     connections in ESTABLISHED or CLOSE_WAIT (a gauge)
 *   RetransSegs   __tcp_retransmit_skb (SYN, data, FIN), tcp_rtx_synack
 *   InErrs        checksum errors, data offset < 5, a SYN challenged in
 *                 ESTABLISHED (tcp_validate_incoming's syn_inerr)
 *   OutRsts       tcp_v4_send_reset, tcp_send_active_reset
 *   TW/TWKilled   when a TIME_WAIT record is scheduled: TWKilled if it
 *                 lives 4 s or less (inet_twsk_schedule)
 *   TWRecycled    connect() taking over a TIME_WAIT 4-tuple
 *   TCPTimeWaitOverflow  no record could be had (tcp_max_tw_buckets)
 *   ListenOverflows  accept queue full, at the SYN or the final ACK;
 *   ListenDrops      that, and every other SYN or ACK a listener drops
 *   TCPAbortOnData   SO_LINGER {1, 0} close; new data after close()
 *   TCPAbortOnClose  close() with unread data
 *   TCPAbortOnLinger close() in FIN_WAIT_2 with TCP_LINGER2 < 0
 *   TCPAbortOnTimeout tcp_write_err: retransmission/SYN/keepalive timeout
 *   Syncookies*   cookie SYN-ACK sent, valid cookie ACK, invalid one
 *
 * Fixture: client 198.18.0.1 (ISN 100), server 198.18.0.2 (ISN 300), 1 ms
 * one-way delay; 198.18.0.9 belongs to no node.
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
#define NOBODY 0xc6120009u /* 198.18.0.9 */

/* Asserts a counter on both stacks: client, server. */
#define EXPECT(h, name, cv, sv) expect_ctr((h), TIDE_MIB_##name, #name, (cv), (sv), __LINE__)
static void expect_ctr(struct th *h, enum tide_counter c, const char *name, uint64_t cv,
		       uint64_t sv, int line)
{
	uint64_t gc = tide_stack_counter(h->C, c), gs = tide_stack_counter(h->S, c);
	if (gc != cv || gs != sv) {
		th_dump(h);
		fail_msg("line %d: %s: client %llu (want %llu), server %llu (want %llu)", line, name,
			 (unsigned long long)gc, (unsigned long long)cv, (unsigned long long)gs,
			 (unsigned long long)sv);
	}
}

static void linger0(tide_stack *st, int fd)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	assert_int_equal(tide_setsockopt(st, fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
}

/* Another connection to the listener on port 80, from sport: run until
 * it is established, then accept it. */
static void open_conn(struct th *h, int lfd, uint16_t sport, int *cfd, int *sfd)
{
	*cfd = th_connect(h, h->c, TH_SERVER_ADDR, 80, sport);
	th_run_for(h, TIDE_MS(10));
	*sfd = th_accept(h, h->s, lfd);
}

/* A client segment on the established connection 40000 -> 80, with the
 * data offset and checksum as given (checksum_ok false: one bit off). */
static void send_raw(struct th *h, uint8_t flags, uint32_t seq, uint32_t ack, uint8_t doff_words,
		     bool checksum_ok)
{
	uint8_t pkt[64];
	size_t n = th_build_seg(h, h->c, pkt, sizeof(pkt), 40000, 80, flags, seq, ack, 502, NULL, 0,
				NULL);
	assert_int_equal(n, 40);
	uint8_t *tcp = pkt + TIDE_IPV4_HLEN;
	tcp[12] = (uint8_t)(doff_words << 4);
	tcp[16] = tcp[17] = 0;
	uint16_t cs = tide_tcp_checksum(TH_CLIENT_ADDR, TH_SERVER_ADDR, tcp, n - TIDE_IPV4_HLEN);
	if (!checksum_ok)
		cs ^= 1;
	tcp[16] = (uint8_t)(cs >> 8);
	tcp[17] = (uint8_t)cs;
	tide_sim_send(h->sim, h->c, pkt, n);
}

/* ActiveOpens counts the SYNs of connect(), refused ones too; PassiveOpens
 * the connections a listener makes. */
static void test_LC_O02_ActiveOpens_PassiveOpens(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	EXPECT(&h, ActiveOpens, 1, 0);
	EXPECT(&h, PassiveOpens, 0, 1);
	int r = th_connect(&h, h.c, TH_SERVER_ADDR, 81, 40001);
	th_run_for(&h, TIDE_MS(10));
	assert_int_equal(tide_sock_state(h.C, r), TIDE_TCP_CLOSE);
	EXPECT(&h, ActiveOpens, 2, 0);
	EXPECT(&h, PassiveOpens, 0, 1);
	assert_int_equal(tide_close(h.C, r), 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* AttemptFails: a refused connect(), a connect() that times out, a request
 * reset by the peer; close() in SYN_SENT is not one. */
static void test_LC_O02_AttemptFails(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .client_settings = "net.ipv4.tcp_syn_retries = 1\n" };
	th_init(&h, &o);
	int lfd = th_listen(&h, h.s, 80, 128);
	int r = th_connect(&h, h.c, TH_SERVER_ADDR, 81, 40001);
	th_run_for(&h, TIDE_MS(10));
	EXPECT(&h, AttemptFails, 1, 0);

	int t = th_connect(&h, h.c, NOBODY, 80, 40002);
	th_run_for(&h, TIDE_SEC(10));
	assert_int_equal(tide_sock_state(h.C, t), TIDE_TCP_CLOSE);
	EXPECT(&h, AttemptFails, 2, 0);
	EXPECT(&h, TCPAbortOnTimeout, 1, 0);

	int k = th_connect(&h, h.c, NOBODY, 80, 40003);
	assert_int_equal(tide_close(h.C, k), 0);
	th_run_for(&h, TIDE_SEC(1));
	EXPECT(&h, AttemptFails, 2, 0);

	/* a SYN from a client port with no socket: the client's stack
	 * answers the SYN-ACK with a RST, which ends the request */
	th_inject(&h, h.c, 40005, 80, SYN, 1000, 0, 64240, NULL, 0, NULL);
	th_run_for(&h, TIDE_MS(10));
	EXPECT(&h, AttemptFails, 2, 1);
	EXPECT(&h, OutRsts, 1, 1); /* each side's RST: port 81, the SYN-ACK */
	EXPECT(&h, PassiveOpens, 0, 0);
	assert_int_equal(tide_close(h.C, r), 0);
	assert_int_equal(tide_close(h.C, t), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* EstabResets: ESTABLISHED or CLOSE_WAIT to CLOSE, on the side that sends
 * the RST as on the one that takes it; FIN_WAIT_2 taking a RST is not. */
static void test_LC_O02_EstabResets(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	linger0(h.C, cfd);
	assert_int_equal(tide_close(h.C, cfd), 0); /* ESTABLISHED -> CLOSE, RST */
	th_run_for(&h, TIDE_MS(10));
	EXPECT(&h, EstabResets, 1, 1);
	assert_int_equal(tide_close(h.S, sfd), 0);

	/* the client half-closes (FIN_WAIT_2), the server aborts from CLOSE_WAIT */
	open_conn(&h, lfd, 40001, &cfd, &sfd);
	assert_int_equal(tide_shutdown(h.C, cfd, SHUT_WR), 0);
	th_run_for(&h, TIDE_MS(50)); /* the FIN's ACK comes 40 ms late */
	assert_int_equal(tide_sock_state(h.S, sfd), TIDE_TCP_CLOSE_WAIT);
	assert_int_equal(tide_sock_state(h.C, cfd), TIDE_TCP_FIN_WAIT2);
	linger0(h.S, sfd);
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_run_for(&h, TIDE_MS(10));
	assert_int_equal(tide_sock_state(h.C, cfd), TIDE_TCP_CLOSE);
	EXPECT(&h, EstabResets, 1, 2);
	EXPECT(&h, OutRsts, 1, 1);
	assert_int_equal(tide_close(h.C, cfd), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* CurrEstab: the connections in ESTABLISHED or CLOSE_WAIT now. */
static void test_LC_O02_CurrEstab(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	assert_int_equal(tide_stack_curr_estab(h.C), 1);
	assert_int_equal(tide_stack_curr_estab(h.S), 1);
	assert_int_equal(tide_close(h.C, cfd), 0); /* FIN_WAIT_1 */
	assert_int_equal(tide_stack_curr_estab(h.C), 0);
	th_run_for(&h, TIDE_MS(10)); /* server CLOSE_WAIT */
	assert_int_equal(tide_stack_curr_estab(h.S), 1);
	assert_int_equal(tide_close(h.S, sfd), 0); /* LAST_ACK */
	assert_int_equal(tide_stack_curr_estab(h.S), 0);
	th_run_for(&h, TIDE_MS(10));
	assert_int_equal(tide_stack_curr_estab(h.C), 0);
	assert_int_equal(tide_stack_curr_estab(h.S), 0);
	EXPECT(&h, EstabResets, 0, 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* RetransSegs: a SYN, a SYN-ACK and a data segment sent again. */
static void test_LC_O02_RetransSegs(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int lfd = th_listen(&h, h.s, 80, 128);
	th_drop(&h, h.c, CTL_MASK, SYN, 1, 1);     /* the first SYN */
	th_drop(&h, h.c, CTL_MASK, ACK, 1, 1);     /* the first ACK */
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_for(&h, TIDE_MS(1002));          /* SYN again at 1 s */
	EXPECT(&h, RetransSegs, 1, 0);
	th_run_for(&h, TIDE_MS(1002));          /* SYN-ACK again at 2.001 s */
	EXPECT(&h, RetransSegs, 1, 1);
	int sfd = th_accept(&h, h.s, lfd);
	th_drop(&h, h.c, CTL_MASK | PSH, PSH | ACK, 1, 1);
	assert_int_equal(tide_send(h.C, cfd, "data", 4, 0), 4);
	th_run_for(&h, TIDE_SEC(5));
	EXPECT(&h, RetransSegs, 2, 1);
	char b[8];
	assert_int_equal(tide_recv(h.S, sfd, b, sizeof(b), 0), 4);
	assert_int_equal(tide_close(h.C, cfd), 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* InErrs: a bad checksum (also InCsumErrors), a data offset below 5, a
 * SYN in ESTABLISHED (answered by a challenge ACK). */
static void test_LC_O02_InErrs(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	send_raw(&h, ACK, 101, 301, 5, false);
	th_run_for(&h, TIDE_MS(10));
	EXPECT(&h, InErrs, 0, 1);
	EXPECT(&h, InCsumErrors, 0, 1);
	send_raw(&h, ACK, 101, 301, 4, true);
	th_run_for(&h, TIDE_MS(10));
	EXPECT(&h, InErrs, 0, 2);
	th_inject(&h, h.c, 40000, 80, SYN, 101, 0, 64240, NULL, 0, NULL);
	th_run_for(&h, TIDE_MS(10));
	EXPECT(&h, InErrs, 0, 3);
	EXPECT(&h, TCPSYNChallenge, 0, 1);
	EXPECT(&h, InCsumErrors, 0, 1);
	assert_int_equal(tide_close(h.C, cfd), 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* InErrs as Linux counts it: not for a TCP header shorter than 20 bytes
 * or than its data offset (tcp_v4_rcv's discard_it), nor for malformed
 * options (the segment is taken, tcp_parse_options stops); yes for a data
 * offset below 5 and for a bad checksum. */
static void test_LC_O02_InErrs_not_for_truncated_or_bad_options(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	struct tide_tcp_opts o;
	memset(&o, 0, sizeof(o));
	o.present = TIDE_OPT_TS; /* NOP, NOP, TS: a 32-byte header */
	o.tsval = 5;
	uint8_t pkt[128];
	size_t n = th_build_seg(&h, h.c, pkt, sizeof(pkt), 40000, 80, TIDE_TCP_ACK, 101, 301, 502,
				NULL, 0, &o);
	assert_int_equal(n, 52);
	/* cut to 30 bytes of TCP (IP total length and checksum fixed):
	 * shorter than its data offset: discarded, not an error */
	uint8_t cut[50];
	memcpy(cut, pkt, 50);
	cut[2] = 0;
	cut[3] = 50;
	cut[10] = cut[11] = 0;
	uint16_t ck = tide_csum_fold(tide_csum_add(0, cut, 20));
	cut[10] = (uint8_t)(ck >> 8);
	cut[11] = (uint8_t)ck;
	assert_int_equal(th_inject_raw(&h, h.s, cut, 50), -(int)TIDE_MIB_DropTcpTruncated);
	EXPECT(&h, InErrs, 0, 0);
	/* a TS option claiming 1 byte: the option list ends, the ACK is taken */
	uint8_t badopt[128];
	memcpy(badopt, pkt, n);
	badopt[20 + 23] = 1;
	badopt[20 + 16] = badopt[20 + 17] = 0;
	ck = tide_tcp_checksum(TH_CLIENT_ADDR, TH_SERVER_ADDR, badopt + 20, n - 20);
	badopt[20 + 16] = (uint8_t)(ck >> 8);
	badopt[20 + 17] = (uint8_t)ck;
	assert_int_equal(th_inject_raw(&h, h.s, badopt, n), 0);
	EXPECT(&h, InErrs, 0, 0);
	/* a data offset below 5: an error */
	uint8_t bad[128];
	memcpy(bad, pkt, n);
	bad[20 + 12] = 4 << 4;
	assert_int_equal(th_inject_raw(&h, h.s, bad, n), -(int)TIDE_MIB_DropTcpOffset);
	EXPECT(&h, InErrs, 0, 1);
	assert_int_equal(tide_close(h.C, cfd), 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* OutRsts: a RST for a closed port, a RST of an abortive close. */
static void test_LC_O02_OutRsts(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	int r = th_connect(&h, h.c, TH_SERVER_ADDR, 81, 40001);
	th_run_for(&h, TIDE_MS(10));
	EXPECT(&h, OutRsts, 0, 1);
	linger0(h.C, cfd);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_for(&h, TIDE_MS(10));
	EXPECT(&h, OutRsts, 1, 1);
	assert_int_equal(tide_close(h.C, r), 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* TW when a TIME_WAIT record begins (not when it ends); TWKilled instead
 * for one of 4 s or less. */
static void test_LC_O02_TW(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_for(&h, TIDE_MS(10));
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_run_for(&h, TIDE_MS(10));
	EXPECT(&h, TW, 1, 0);
	EXPECT(&h, TWKilled, 0, 0);
	th_run_for(&h, TIDE_SEC(61));
	EXPECT(&h, TW, 1, 0);

	tide_stack_settings(h.C)->tcp_timewait_len = 3;
	open_conn(&h, lfd, 40001, &cfd, &sfd);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_for(&h, TIDE_MS(10));
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_run_for(&h, TIDE_MS(10));
	EXPECT(&h, TW, 1, 0);
	EXPECT(&h, TWKilled, 1, 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* TWRecycled: with tcp_tw_reuse, connect() takes over a TIME_WAIT 4-tuple
 * whose last timestamp is over a second old. */
static void test_LC_O02_TWRecycled(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .client_settings = "net.ipv4.ip_local_port_range = 40000 40000\n"
						"net.ipv4.tcp_tw_reuse = 1\n" };
	th_init(&h, &o);
	int lfd = th_listen(&h, h.s, 80, 128);
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 0);
	th_run_for(&h, TIDE_MS(10));
	int sfd = th_accept(&h, h.s, lfd);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_for(&h, TIDE_MS(10));
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_run_for(&h, TIDE_SEC(2));
	EXPECT(&h, TW, 1, 0);
	cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 0);
	th_run_for(&h, TIDE_MS(10));
	assert_int_equal(tide_sock_state(h.C, cfd), TIDE_TCP_ESTABLISHED);
	EXPECT(&h, TWRecycled, 1, 0);
	sfd = th_accept(&h, h.s, lfd);
	assert_int_equal(tide_close(h.C, cfd), 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* TCPTimeWaitOverflow: no TIME_WAIT record beyond tcp_max_tw_buckets. */
static void test_LC_O02_TCPTimeWaitOverflow(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .client_settings = "net.ipv4.tcp_max_tw_buckets = 0\n" };
	th_init(&h, &o);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_for(&h, TIDE_MS(10));
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_run_for(&h, TIDE_MS(10));
	EXPECT(&h, TCPTimeWaitOverflow, 1, 0);
	EXPECT(&h, TW, 0, 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* ListenOverflows: a final ACK, and a SYN, finding the accept queue full;
 * ListenDrops counts them and the SYN a full SYN queue drops (no cookies). */
static void test_LC_O02_ListenOverflows_ListenDrops(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .server_settings = "net.ipv4.tcp_syncookies = 0\n" };
	th_init(&h, &o);
	int lfd = th_listen(&h, h.s, 80, 1);
	int a = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	int b = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40001);
	int c = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40002); /* SYN queue full */
	th_run_for(&h, TIDE_MS(2));
	EXPECT(&h, ListenOverflows, 0, 0);
	EXPECT(&h, ListenDrops, 0, 1);
	EXPECT(&h, TCPReqQFullDrop, 0, 1);
	assert_int_equal(tide_listen(h.S, lfd, 0), 0);
	th_run_for(&h, TIDE_MS(3)); /* A's ACK fills the accept queue, B's overflows */
	EXPECT(&h, ListenOverflows, 0, 1);
	EXPECT(&h, ListenDrops, 0, 2);
	assert_int_equal(tide_close(h.C, c), 0); /* no more SYNs from C */
	th_run_for(&h, TIDE_MS(5));
	int sa = th_accept(&h, h.s, lfd);
	th_run_until(&h, TIDE_MS(1100)); /* B completes on the resent SYN-ACK */
	int d = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40003); /* accept queue full */
	th_run_for(&h, TIDE_MS(10));
	EXPECT(&h, ListenOverflows, 0, 2);
	EXPECT(&h, ListenDrops, 0, 3);
	EXPECT(&h, TCPReqQFullDrop, 0, 1);
	int sb = th_accept(&h, h.s, lfd);
	assert_int_equal(tide_close(h.S, sa), 0);
	assert_int_equal(tide_close(h.S, sb), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	assert_int_equal(tide_close(h.C, a), 0);
	assert_int_equal(tide_close(h.C, b), 0);
	assert_int_equal(tide_close(h.C, d), 0);
	th_free(&h);
}

/* TCPAbortOnData: SO_LINGER {1, 0} (Linux's tcp_close counts it there), and
 * new data for a socket closed by its application. */
static void test_LC_O02_TCPAbortOnData(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	linger0(h.C, cfd);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_for(&h, TIDE_MS(10));
	EXPECT(&h, TCPAbortOnData, 1, 0);
	EXPECT(&h, TCPAbortOnLinger, 0, 0);
	assert_int_equal(tide_close(h.S, sfd), 0);

	open_conn(&h, lfd, 40001, &cfd, &sfd);
	assert_int_equal(tide_close(h.C, cfd), 0); /* FIN, orphan */
	/* the data leaves as the FIN arrives, before the ACK of the FIN (the
	 * next tick), and finds the orphan still in FIN_WAIT_1 */
	th_run_for(&h, TIDE_MS(1));
	assert_int_equal(tide_send(h.S, sfd, "late", 4, 0), 4);
	th_run_for(&h, TIDE_MS(10));
	EXPECT(&h, TCPAbortOnData, 2, 0);
	assert_int_equal(tide_sock_state(h.S, sfd), TIDE_TCP_CLOSE);
	assert_int_equal(tide_close(h.S, sfd), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* TCPAbortOnClose: close() with data the application never read. */
static void test_LC_O02_TCPAbortOnClose(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	assert_int_equal(tide_send(h.C, cfd, "unread", 6, 0), 6);
	th_run_for(&h, TIDE_MS(10));
	assert_int_equal(tide_close(h.S, sfd), 0);
	th_run_for(&h, TIDE_MS(10));
	EXPECT(&h, TCPAbortOnClose, 0, 1);
	EXPECT(&h, OutRsts, 0, 1);
	EXPECT(&h, EstabResets, 1, 1);
	assert_int_equal(tide_close(h.C, cfd), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* TCPAbortOnLinger: close() in FIN_WAIT_2 with TCP_LINGER2 < 0 resets. */
static void test_LC_O02_TCPAbortOnLinger(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	assert_int_equal(tide_shutdown(h.C, cfd, SHUT_WR), 0);
	th_run_for(&h, TIDE_MS(50)); /* the FIN's ACK comes 40 ms late */
	assert_int_equal(tide_sock_state(h.C, cfd), TIDE_TCP_FIN_WAIT2);
	int v = -1;
	assert_int_equal(tide_setsockopt(h.C, cfd, IPPROTO_TCP, TCP_LINGER2, &v, sizeof(v)), 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	th_run_for(&h, TIDE_MS(10));
	EXPECT(&h, TCPAbortOnLinger, 1, 0);
	EXPECT(&h, OutRsts, 1, 0);
	EXPECT(&h, EstabResets, 0, 1); /* the server was in CLOSE_WAIT */
	assert_int_equal(tide_close(h.S, sfd), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* TCPAbortOnTimeout: a connect() that times out, data never acknowledged. */
static void test_LC_O02_TCPAbortOnTimeout(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .client_settings = "net.ipv4.tcp_syn_retries = 1\n" };
	th_init(&h, &o);
	int t = th_connect(&h, h.c, NOBODY, 80, 40002);
	th_run_for(&h, TIDE_SEC(10));
	EXPECT(&h, TCPAbortOnTimeout, 1, 0);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	unsigned ms = 3000;
	assert_int_equal(tide_setsockopt(h.C, cfd, IPPROTO_TCP, TCP_USER_TIMEOUT, &ms, sizeof(ms)), 0);
	assert_int_equal(tide_sim_cut_link(h.sim, th_now(&h), TIDE_TIME_NEVER), 0);
	assert_int_equal(tide_send(h.C, cfd, "lost", 4, 0), 4);
	th_run_for(&h, TIDE_SEC(10));
	assert_int_equal(tide_sock_state(h.C, cfd), TIDE_TCP_CLOSE);
	EXPECT(&h, TCPAbortOnTimeout, 2, 0);
	EXPECT(&h, EstabResets, 1, 0);
	assert_int_equal(tide_close(h.C, t), 0);
	assert_int_equal(tide_close(h.C, cfd), 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

/* SyncookiesSent, SyncookiesRecv, SyncookiesFailed (tcp_syncookies=2). */
static void test_LC_O02_Syncookies(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .server_settings = "net.ipv4.tcp_syncookies = 2\n" };
	th_init(&h, &o);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	EXPECT(&h, SyncookiesSent, 0, 1);
	EXPECT(&h, SyncookiesRecv, 0, 1);
	EXPECT(&h, SyncookiesFailed, 0, 0);
	th_inject(&h, h.c, 40001, 80, ACK, 5000, 6000, 502, NULL, 0, NULL);
	th_run_for(&h, TIDE_MS(10));
	EXPECT(&h, SyncookiesSent, 0, 1);
	EXPECT(&h, SyncookiesRecv, 0, 1);
	EXPECT(&h, SyncookiesFailed, 0, 1);
	EXPECT(&h, PassiveOpens, 0, 1);
	assert_int_equal(tide_close(h.C, cfd), 0);
	assert_int_equal(tide_close(h.S, sfd), 0);
	assert_int_equal(tide_close(h.S, lfd), 0);
	th_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_LC_O02_ActiveOpens_PassiveOpens),
		cmocka_unit_test(test_LC_O02_AttemptFails),
		cmocka_unit_test(test_LC_O02_EstabResets),
		cmocka_unit_test(test_LC_O02_CurrEstab),
		cmocka_unit_test(test_LC_O02_RetransSegs),
		cmocka_unit_test(test_LC_O02_InErrs),
		cmocka_unit_test(test_LC_O02_InErrs_not_for_truncated_or_bad_options),
		cmocka_unit_test(test_LC_O02_OutRsts),
		cmocka_unit_test(test_LC_O02_TW),
		cmocka_unit_test(test_LC_O02_TWRecycled),
		cmocka_unit_test(test_LC_O02_TCPTimeWaitOverflow),
		cmocka_unit_test(test_LC_O02_ListenOverflows_ListenDrops),
		cmocka_unit_test(test_LC_O02_TCPAbortOnData),
		cmocka_unit_test(test_LC_O02_TCPAbortOnClose),
		cmocka_unit_test(test_LC_O02_TCPAbortOnLinger),
		cmocka_unit_test(test_LC_O02_TCPAbortOnTimeout),
		cmocka_unit_test(test_LC_O02_Syncookies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
