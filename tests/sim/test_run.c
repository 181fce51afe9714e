/*
 * The scenario runner (tools/sim/run.c) and the text trace: small
 * scenarios played from strings, and what the model says about them:
 * segments with their fates and the states at both ends, calls and their
 * results, notes, timers, expectation outcomes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "scenario.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOSTS                                                               \
	"host client 198.18.0.1\nhost server 198.18.0.2\n"                  \
	"isn client 100\nisn server 300\n"

/* Listen, connect from 40000, accept at 10 ms: lines 5-7. */
#define OPEN                                                                \
	HOSTS "at 0 server listen 80 as L\n"                                \
	"at 0 client connect server:80 from 40000 as c\n"                   \
	"at 10ms server accept L as s\n"

static void play(const char *text, struct sim_model *m)
{
	struct sim_scenario sc;
	char err[512];
	if (sim_parse(text, "x.tsim", &sc, err, sizeof(err)) != 0)
		fail_msg("parse error: %s", err);
	memset(m, 0, sizeof(*m));
	int rc = sim_run(&sc, m, err, sizeof(err));
	sim_scenario_free(&sc);
	if (rc != 0)
		fail_msg("run error: %s", err);
}

/* Plays a scenario that must stop with this error. */
static void play_err(const char *text, const char *want)
{
	struct sim_scenario sc;
	struct sim_model m;
	char err[512];
	if (sim_parse(text, "x.tsim", &sc, err, sizeof(err)) != 0)
		fail_msg("parse error: %s", err);
	memset(&m, 0, sizeof(m));
	int rc = sim_run(&sc, &m, err, sizeof(err));
	sim_scenario_free(&sc);
	sim_model_free(&m);
	assert_int_equal(rc, -1);
	assert_string_equal(err, want);
}

static const struct sim_call *call_of_line(const struct sim_model *m, int line)
{
	for (size_t i = 0; i < m->ncalls; i++)
		if (m->calls[i].line == line)
			return &m->calls[i];
	fail_msg("no call from line %d", line);
	return NULL;
}

static const struct sim_note *note_with(const struct sim_model *m, const char *text, tide_time *t)
{
	for (size_t i = 0; i < m->nevents; i++) {
		if (m->events[i].kind != EV_NOTE)
			continue;
		const struct sim_note *n = &m->notes[m->events[i].index];
		if (strstr(n->text, text)) {
			if (t)
				*t = m->events[i].t;
			return n;
		}
	}
	fail_msg("no note saying '%s'", text);
	return NULL;
}

static void expect_seg(const struct sim_model *m, size_t i, int from, uint8_t flags, uint32_t seq,
		       int sender_state, int receiver_state, enum sim_fate fate)
{
	assert_true(i < m->nsegs);
	const struct sim_segment *s = &m->segs[i];
	assert_int_equal(s->from, from);
	assert_int_equal(s->flags, flags);
	assert_int_equal(s->seq, seq);
	assert_int_equal(s->sender_state, sender_state);
	assert_int_equal(s->receiver_state, receiver_state);
	assert_int_equal(s->fate, fate);
}

static size_t failed(const struct sim_model *m)
{
	return sim_failed_expects(m);
}

static char *trace_of(const struct sim_model *m)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(sim_write_trace(m, f), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

#define AK TIDE_TCP_ACK
#define SYN TIDE_TCP_SYN
#define FIN TIDE_TCP_FIN
#define RST TIDE_TCP_RST
#define PSH TIDE_TCP_PSH

static const char four_way[] = OPEN
	"at 20ms client send c 100\n"                /* 8 */
	"at 30ms server recv s => 100\n"             /* 9 */
	"at 50ms client close c => 0\n"              /* 10 */
	"at 150ms server recv s => 0\n"              /* 11 */
	"at 150ms server close s\n"                  /* 12 */
	"expect at 51ms client c state FIN_WAIT_1\n"
	"expect at 100ms client c state FIN_WAIT_2\n"
	"expect at 151ms server s state LAST_ACK\n"
	"expect at 152ms client c state TIME_WAIT\n"
	"expect at 60.150s client c state TIME_WAIT\n"
	"expect at 60.152s client c state CLOSED\n"
	"expect at end client counter TW = 1\n"
	"expect at end segments = 9\n"
	"expect at end segments server = 4\n"
	"expect at end server s read = xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n";

static void test_four_way_close(void **state)
{
	(void)state;
	struct sim_model m;
	play(four_way, &m);
	assert_int_equal(m.nhosts, 2);
	assert_string_equal(m.hosts[1].name, "server");
	assert_string_equal(m.source, "x.tsim");
	assert_int_equal(m.delay, TIDE_MS(1));
	assert_int_equal(m.nsegs, 9);
	const int E = TIDE_TCP_ESTABLISHED;
	expect_seg(&m, 0, 0, SYN, 100, TIDE_TCP_SYN_SENT, TIDE_TCP_SYN_RECV, FATE_DELIVERED);
	expect_seg(&m, 1, 1, SYN | AK, 300, TIDE_TCP_SYN_RECV, E, FATE_DELIVERED);
	expect_seg(&m, 2, 0, AK, 101, E, E, FATE_DELIVERED);
	expect_seg(&m, 3, 0, PSH | AK, 101, E, E, FATE_DELIVERED);
	assert_int_equal(m.segs[3].len, 100);
	expect_seg(&m, 4, 1, AK, 301, E, E, FATE_DELIVERED);
	expect_seg(&m, 5, 0, FIN | AK, 201, TIDE_TCP_FIN_WAIT1, TIDE_TCP_CLOSE_WAIT, FATE_DELIVERED);
	/* Linux delays the ACK of a FIN (pingpong mode): 40 ms */
	expect_seg(&m, 6, 1, AK, 301, TIDE_TCP_CLOSE_WAIT, TIDE_TCP_FIN_WAIT2, FATE_DELIVERED);
	assert_int_equal(m.segs[6].sent, TIDE_MS(91));
	expect_seg(&m, 7, 1, FIN | AK, 301, TIDE_TCP_LAST_ACK, TIDE_TCP_TIME_WAIT, FATE_DELIVERED);
	expect_seg(&m, 8, 0, AK, 202, TIDE_TCP_TIME_WAIT, TIDE_TCP_CLOSE, FATE_DELIVERED);
	for (size_t i = 0; i < m.nsegs; i++) {
		const struct sim_segment *s = &m.segs[i];
		assert_int_equal(s->delivered, s->sent + TIDE_MS(1));
		assert_false(s->retransmission);
		assert_false(s->delayed);
		assert_int_equal(s->dup_count, 0);
		assert_non_null(s->pkt);
		if (!(s->flags & SYN))
			assert_int_equal(s->pktlen, 20 + 32 + s->len); /* with timestamps */
		assert_int_equal(s->to, 1 - s->from);
	}
	assert_int_equal(m.segs[5].id.laddr, 0xc6120001u);
	assert_int_equal(m.segs[5].id.lport, 40000);
	assert_int_equal(m.segs[5].id.rport, 80);

	const struct sim_call *c = call_of_line(&m, 6);
	assert_string_equal(c->text, "connect to server:80 from port 40000 as c");
	assert_int_equal(c->ret, -1);
	assert_int_equal(c->err, EINPROGRESS);
	assert_int_equal(c->host, 0);
	c = call_of_line(&m, 9);
	assert_string_equal(c->text, "recv(s)");
	assert_int_equal(c->ret, 100);
	c = call_of_line(&m, 10);
	assert_string_equal(c->text, "close(c)");
	assert_int_equal(c->ret, 0);
	assert_int_equal(c->err, 0);

	/* the delayed ACK is a timer event; TIME_WAIT ends after 60 s */
	assert_int_equal(m.ntimers, 1);
	assert_string_equal(m.timers[0].what, "delayed ACK");
	assert_int_equal(m.timers[0].host, 1);
	const struct sim_state_change *last = &m.states[m.nstates - 1];
	assert_int_equal(last->old_state, TIDE_TCP_TIME_WAIT);
	assert_int_equal(last->new_state, TIDE_TCP_CLOSE);
	assert_int_equal(m.events[m.nevents - 1].t, TIDE_MS(60151));
	assert_int_equal(m.end, TIDE_MS(60152));

	/* events in time order */
	for (size_t i = 1; i < m.nevents; i++)
		assert_true(m.events[i - 1].t <= m.events[i].t);

	assert_int_equal(m.nexpects, 3 + 10);
	assert_int_equal(failed(&m), 0);
	assert_string_equal(m.expects[0].text, "server recv s => 100");
	assert_int_equal(m.expects[0].t, TIDE_MS(30));
	assert_true(m.expects[m.nexpects - 1].at_end);
	assert_int_equal(m.expects[m.nexpects - 1].t, m.end);
	sim_model_free(&m);
}

static void test_trace_text(void **state)
{
	(void)state;
	struct sim_model m;
	play("title A close\nabout Who closes first.\n" OPEN
	     "drop server FIN\n"
	     "at 50ms client close c\n"
	     "at 150ms server close s\n"
	     "expect at 200ms client c state CLOSED\n",
	     &m);
	char *t = trace_of(&m);
	static const char *const want[] = {
		"A close\n  Who closes first.\n",
		"hosts:   client 198.18.0.1, server 198.18.0.2\n",
		"    0.000 ms  SYN-SENT     --> <SEQ=100><CTL=SYN>                       --> SYN-RECEIVED\n",
		"    1.000 ms  ESTABLISHED  <-- <SEQ=300><ACK=101><CTL=SYN,ACK>          <-- SYN-RECEIVED\n",
		"   50.000 ms  client: close(c) = 0\n",
		"   50.000 ms  FIN-WAIT-1   --> <SEQ=101><ACK=301><CTL=FIN,ACK>          --> CLOSE-WAIT\n",
		"   52.000 ms  server: delayed ACK\n",
		"   52.000 ms  FIN-WAIT-2   <-- <SEQ=301><ACK=102><CTL=ACK>              <-- CLOSE-WAIT\n",
		"  150.000 ms               X-- <SEQ=301><ACK=102><CTL=FIN,ACK>          <-- LAST-ACK      (lost)\n",
		"  200.000 ms  FAILED (line 13) expect at 200ms client c state CLOSED: found FIN_WAIT_2\n",
		"  352.000 ms  server: retransmission timeout\n",
		"  352.000 ms  TIME-WAIT    <-- <SEQ=301><ACK=102><CTL=FIN,ACK>          <-- LAST-ACK      (retransmission)\n",
		"60353.000 ms  client: TIME-WAIT -> CLOSED\n",
		"  client  client:40000 > server:80\n",
		"    TIME_WAIT      353.000 ms ->  60353.000 ms     60.000 s\n",
		"    CLOSED       60353.000 ms\n",
		"  server  server:80 (listening)\n",
		"    LISTEN           0.000 ms ->  60353.000 ms     60.353 s  (still, when the run ended)\n",
		"  FAILED  line 13   expect at 200ms client c state CLOSED: found FIN_WAIT_2\n",
		"0 of 1 passed.\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (!strstr(t, want[i])) {
			fprintf(stderr, "---- trace ----\n%s---- end ----\n", t);
			fail_msg("the trace lacks:\n%s", want[i]);
		}
	}
	free(t);
	sim_model_free(&m);
}

static void test_drop_dup_delay(void **state)
{
	(void)state;
	struct sim_model m;
	play(OPEN
	     "drop client FIN\n"
	     "dup client DATA by 5ms\n"
	     "delay server ACK 2 by 30ms\n"
	     "at 20ms client send c 10 fill a\n"
	     "at 50ms client close c\n"
	     "at 60ms server recv s\n"
	     "expect at end server s read = aaaaaaaaaa\n",
	     &m);
	/* 3: the data, duplicated 5 ms later */
	expect_seg(&m, 3, 0, PSH | AK, 101, TIDE_TCP_ESTABLISHED, TIDE_TCP_ESTABLISHED, FATE_DELIVERED);
	assert_int_equal(m.segs[3].dup_count, 1);
	/* 4: the server's ACK of it (its 2nd pure ACK: the first was... none;
	 * the client's handshake ACK is the client's) */
	size_t fin = 0, refin = 0;
	for (size_t i = 0; i < m.nsegs; i++) {
		const struct sim_segment *s = &m.segs[i];
		if (s->from == 0 && (s->flags & FIN)) {
			if (!fin)
				fin = i;
			else if (!refin)
				refin = i;
		}
	}
	expect_seg(&m, fin, 0, FIN | AK, 111, TIDE_TCP_FIN_WAIT1, 0, FATE_DROPPED);
	assert_int_equal(m.segs[fin].delivered, TIDE_TIME_NEVER);
	assert_false(m.segs[fin].retransmission);
	assert_true(refin > fin);
	assert_true(m.segs[refin].retransmission);
	assert_int_equal(m.segs[refin].fate, FATE_DELIVERED);
	assert_int_equal(m.segs[refin].receiver_state, TIDE_TCP_CLOSE_WAIT);
	bool delayed = false;
	for (size_t i = 0; i < m.nsegs; i++)
		if (m.segs[i].delayed) {
			delayed = true;
			assert_int_equal(m.segs[i].from, 1);
			assert_int_equal(m.segs[i].delivered, m.segs[i].sent + TIDE_MS(31));
		}
	assert_true(delayed);
	bool rto = false;
	for (size_t i = 0; i < m.ntimers; i++)
		rto |= m.timers[i].host == 0 && strcmp(m.timers[i].what, "retransmission timeout") == 0;
	assert_true(rto);
	assert_int_equal(failed(&m), 0);
	sim_model_free(&m);
}

static void test_reorder(void **state)
{
	(void)state;
	struct sim_model m;
	play(OPEN
	     "reorder client DATA\n"
	     "at 20ms client send c 1 fill a\n"
	     "at 21ms client send c 1 fill b\n"
	     "at 300ms server recv s\n"
	     "expect at end server s read = ab\n",
	     &m);
	const struct sim_segment *a = &m.segs[3];
	assert_int_equal(a->len, 1);
	assert_true(a->delayed);
	/* Nagle holds 'b' while 'a' is unacknowledged: the next packet in
	 * that direction is the retransmission of 'a' at the RTO, which
	 * releases the held one after it */
	assert_int_equal(m.nsegs, 9);
	const struct sim_segment *re = &m.segs[4];
	assert_true(re->retransmission);
	assert_int_equal(re->seq, 101);
	assert_int_equal(re->len, 1); /* 'a' only: 'b' was never sent */
	assert_int_equal(re->flags, PSH | AK);
	assert_int_equal(re->sent, TIDE_MS(222));
	assert_int_equal(a->delivered, TIDE_MS(223));
	assert_int_equal(a->receiver_state, TIDE_TCP_ESTABLISHED);
	/* then 'b' as new data, acknowledged: no endless retransmissions */
	assert_int_equal(m.segs[7].seq, 102);
	assert_int_equal(m.segs[7].len, 1);
	assert_false(m.segs[7].retransmission);
	assert_int_equal(m.segs[8].ack, 103);
	assert_int_equal(m.events[m.nevents - 1].t, TIDE_MS(300)); /* the recv */
	assert_int_equal(failed(&m), 0);
	char *t = trace_of(&m);
	assert_non_null(strstr(t, "(delayed: arrives at 223.000 ms)"));
	free(t);
	sim_model_free(&m);
}

static void test_middlebox(void **state)
{
	(void)state;
	struct sim_model m;
	play(OPEN
	     "middlebox idle 10s\n"
	     "at 5s client send c 1\n"   /* within the limit */
	     "at 30s client send c 1\n"  /* 25 s idle: forgotten */
	     "run 31s\n",
	     &m);
	tide_time t;
	note_with(&m, "middlebox forgets client:40000 <-> server:80 (idle for 10 s)", &t);
	/* the last packet through it was the server's ACK at 5.001 s */
	assert_int_equal(t, TIDE_MS(15001));
	size_t n = m.nsegs;
	assert_int_equal(m.segs[3].fate, FATE_DELIVERED);
	assert_int_equal(m.segs[n - 1].fate, FATE_MIDDLEBOX);
	assert_int_equal(m.segs[n - 1].receiver_state, 0);
	note_with(&m, "the run stops here", NULL);
	assert_int_equal(m.end, TIDE_SEC(31));
	sim_model_free(&m);
}

static void test_reboot(void **state)
{
	(void)state;
	struct sim_model m;
	play(OPEN
	     "at 1s server reboots\n"
	     "at 2s client send c 5                => 5\n"
	     "at 3s client recv c                  => ECONNRESET\n"
	     "at 4s client send c 5                => EPIPE\n"
	     "expect at 1s server s state CLOSED\n"
	     "expect at 1s server conns ESTABLISHED = 0\n"
	     "expect at 1s server counter PassiveOpens = 0\n"
	     "expect at 3s client c state CLOSED\n",
	     &m);
	assert_int_equal(failed(&m), 0);
	tide_time t;
	note_with(&m, "server reboots: every connection and socket it had is gone", &t);
	assert_int_equal(t, TIDE_SEC(1));
	/* its connection and listener end there */
	size_t closed = 0;
	for (size_t i = 0; i < m.nevents; i++) {
		if (m.events[i].kind != EV_STATE || m.events[i].t != TIDE_SEC(1))
			continue;
		const struct sim_state_change *c = &m.states[m.events[i].index];
		assert_int_equal(c->host, 1);
		assert_int_equal(c->new_state, TIDE_TCP_CLOSE);
		closed++;
	}
	assert_int_equal(closed, 2);
	/* the data gets a RST from the new stack */
	const struct sim_segment *rst = &m.segs[m.nsegs - 1];
	assert_int_equal(rst->from, 1);
	assert_true(rst->flags & RST);
	assert_int_equal(rst->sender_state, TIDE_TCP_CLOSE);
	assert_int_equal(rst->receiver_state, TIDE_TCP_CLOSE);
	sim_model_free(&m);

	/* a forgotten socket cannot be used */
	play_err(OPEN "at 1s server reboots\nat 2s server close s\n",
		 "x.tsim:9: server: socket 's' is gone: the host rebooted at 1000.000 ms (line 8)");
}

static void test_dies(void **state)
{
	(void)state;
	struct sim_model m;
	play(OPEN
	     "at 20ms server dies\n"
	     "expect at 21ms client c state CLOSE_WAIT\n"
	     "expect at 21ms server s state FIN_WAIT_1\n"
	     "expect at 100ms server s state FIN_WAIT_2\n"
	     "expect at 100ms server conns LISTEN = 0\n",
	     &m);
	assert_int_equal(failed(&m), 0);
	note_with(&m, "server's process dies: the stack closes its 2 sockets, as Linux does at exit", NULL);
	expect_seg(&m, 3, 1, FIN | AK, 301, TIDE_TCP_FIN_WAIT1, TIDE_TCP_CLOSE_WAIT, FATE_DELIVERED);
	sim_model_free(&m);

	play_err(OPEN "at 20ms server dies\nat 30ms server accept L as t\n",
		 "x.tsim:9: server: socket 'L' is gone: the process died at 20.000 ms (line 8)");
}

static void test_flood(void **state)
{
	(void)state;
	struct sim_model m;
	play(HOSTS
	     "set server net.ipv4.tcp_syncookies = 0\n"
	     "at 0 server listen 80 backlog 2 as L\n"
	     "at 1s client flood server:80 5 over 100ms\n"
	     "expect at 1.2s server conns SYN_RECV = 3\n"
	     "expect at 1.2s server counter TCPReqQFullDrop = 2\n"
	     "run 2s\n",
	     &m);
	assert_int_equal(failed(&m), 0);
	note_with(&m, "client floods server:80 with 5 SYNs from forged addresses over 100 ms", NULL);
	size_t syns = 0, synacks = 0;
	for (size_t i = 0; i < m.nsegs; i++) {
		const struct sim_segment *s = &m.segs[i];
		if (s->flags == SYN) {
			assert_int_equal(s->from, 0);
			assert_int_equal(s->id.laddr, 0xc6130001u + syns);
			assert_int_equal(s->id.raddr, 0xc6120002u);
			assert_int_equal(s->sent, TIDE_SEC(1) + syns * TIDE_MS(20));
			assert_int_equal(s->sender_state, 0); /* forged: nobody's */
			assert_int_equal(s->fate, FATE_DELIVERED);
			syns++;
		} else if (s->flags == (SYN | AK)) {
			assert_int_equal(s->from, 1);
			assert_int_equal(s->to, -1);
			assert_int_equal(s->fate, FATE_UNROUTABLE);
			assert_int_equal(s->sender_state, TIDE_TCP_SYN_RECV);
			synacks++;
		}
	}
	assert_int_equal(syns, 5);
	assert_true(synacks >= 3);
	char *t = trace_of(&m);
	assert_non_null(strstr(t, "198.19.0.1:1024 > server:80"));
	assert_non_null(strstr(t, "(forged source)"));
	assert_non_null(strstr(t, "(unroutable: no host has that address)"));
	free(t);
	sim_model_free(&m);
}

static void test_repeat_and_expectations(void **state)
{
	(void)state;
	struct sim_model m;
	play(HOSTS
	     "at 0 server listen 80 as L\n"
	     "repeat 4 every 10ms\n"
	     "  at 0      client connect server:80 as c{i}\n"
	     "  at 5ms    server accept L as s{i}\n"
	     "  at 6ms    server close s{i}\n"
	     "  at 8ms    client close c{i}\n"
	     "  expect at 9ms server s{i} state TIME_WAIT\n"
	     "expect at 100ms server conns TIME_WAIT = 4\n"
	     "expect at 100ms client conns TIME_WAIT = 0\n"
	     "expect at end server counter TW = 4\n"
	     "expect at end client counter ActiveOpens = 5\n"   /* wrong: 4 */
	     "expect at end segments = 1\n"                     /* wrong */
	     "expect at end client c0 read = abc\n",            /* wrong */
	     &m);
	/* one expectation per round of the block, then the others */
	assert_int_equal(m.nexpects, 4 + 6);
	for (int i = 0; i < 4; i++) {
		assert_true(m.expects[i].ok);
		assert_int_equal(m.expects[i].t, TIDE_MS(9) + (tide_time)i * TIDE_MS(10));
		assert_int_equal(m.expects[i].line, 11);
	}
	assert_int_equal(failed(&m), 3);
	assert_string_equal(m.expects[7].detail, "found 4");
	/* 4 x (handshake 3 + close 4): the server never received data, so the
	 * client's ACK of its FIN leaves alone at the next tick */
	assert_string_equal(m.expects[8].detail, "found 28");
	assert_string_equal(m.expects[9].detail, "found \"\" (0 bytes)");
	assert_string_equal(m.expects[9].text, "expect at end client c0 read = abc");
	sim_model_free(&m);
}

static void test_call_results(void **state)
{
	(void)state;
	struct sim_model m;
	play(OPEN
	     "at 20ms server recv s                => 5\n"      /* EAGAIN */
	     "at 20ms server accept L as t         => EAGAIN\n" /* right */
	     "at 20ms client send c 3 fill q       => ok\n"
	     "at 30ms server recv s 2              => 2\n"
	     "at 30ms server recv s                => 1\n"
	     "at 30ms client shutdown c wr         => EINVAL\n" /* 0 */
	     "at 40ms client setsockopt c SO_LINGER 1 0 => 0\n"
	     "at 40ms client set net.ipv4.tcp_fin_timeout = 5 => 0\n"
	     "expect at end server s read = qqq\n",
	     &m);
	assert_int_equal(failed(&m), 2);
	assert_false(m.expects[0].ok);
	assert_string_equal(m.expects[0].text, "server recv s => 5");
	assert_string_equal(m.expects[0].detail, "recv(s) returned -1 EAGAIN");
	assert_true(m.expects[1].ok);
	assert_false(m.expects[5].ok);
	assert_string_equal(m.expects[5].detail, "shutdown(c, SHUT_WR) returned 0");
	assert_string_equal(call_of_line(&m, 11)->text, "recv(s, 2)");
	assert_string_equal(call_of_line(&m, 14)->text, "setsockopt(c, SO_LINGER, {1, 0})");
	assert_string_equal(call_of_line(&m, 15)->text, "sysctl net.ipv4.tcp_fin_timeout = 5");
	assert_true(m.expects[m.nexpects - 1].ok);
	sim_model_free(&m);
}

static void test_impossible_actions(void **state)
{
	(void)state;
	play_err(OPEN "at 20ms client close c\nat 30ms client close c\n",
		 "x.tsim:9: client: socket 'c' is gone: closed at 20.000 ms (line 8)");
	play_err(HOSTS "at 0 server listen 80 as L\nat 1ms server accept L as s\nat 2ms server close s\n",
		 "x.tsim:7: server: no socket named 's' (the call that was to create it failed)");
}

static void test_limits(void **state)
{
	(void)state;
	struct sim_model m;
	/* keepalive probes for ever: the guard stops the run */
	play(OPEN
	     "set * net.ipv4.tcp_keepalive_time = 60\n"
	     "at 20ms client setsockopt c SO_KEEPALIVE 1\n"
	     "expect at 1min server s state ESTABLISHED\n",
	     &m);
	tide_time t;
	note_with(&m, "stopped 900 s after the last timeline entry with timers still pending", &t);
	assert_int_equal(t, TIDE_SEC(60 + 900));
	assert_int_equal(m.end, TIDE_SEC(960));
	assert_int_equal(failed(&m), 0);
	sim_model_free(&m);

	/* `run` stops it earlier; what comes after is not run nor checked */
	play(OPEN
	     "run 1s\n"
	     "at 2s client close c\n"
	     "expect at 3s client c state FIN_WAIT_1\n",
	     &m);
	assert_int_equal(m.end, TIDE_SEC(1));
	note_with(&m, "the run stops here (run 1000.000 ms)", NULL);
	note_with(&m, "1 timeline action after this were not run", NULL);
	assert_int_equal(m.ncalls, 3);
	assert_int_equal(failed(&m), 1);
	assert_string_equal(m.expects[0].detail, "not checked: the run stopped at 1000.000 ms");
	sim_model_free(&m);

	/* a run with nothing pending ends at its last event */
	play(OPEN "run 1h\n", &m);
	assert_int_equal(m.end, TIDE_MS(10));
	sim_model_free(&m);
}

static void test_cut(void **state)
{
	(void)state;
	struct sim_model m;
	play(OPEN
	     "cut 1s..2s\n"
	     "at 1.5s client send c 1\n"
	     "at 2.2s server recv s\n"
	     "expect at 2.5s server s read = x\n",
	     &m);
	tide_time t;
	note_with(&m, "the link is cut: every packet sent until 2000.000 ms is lost", &t);
	assert_int_equal(t, TIDE_SEC(1));
	note_with(&m, "the link is back", &t);
	assert_int_equal(t, TIDE_SEC(2));
	expect_seg(&m, 3, 0, PSH | AK, 101, TIDE_TCP_ESTABLISHED, 0, FATE_DROPPED);
	assert_true(m.segs[4].retransmission);
	assert_int_equal(failed(&m), 0);
	sim_model_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_four_way_close),
		cmocka_unit_test(test_trace_text),
		cmocka_unit_test(test_drop_dup_delay),
		cmocka_unit_test(test_reorder),
		cmocka_unit_test(test_middlebox),
		cmocka_unit_test(test_reboot),
		cmocka_unit_test(test_dies),
		cmocka_unit_test(test_flood),
		cmocka_unit_test(test_repeat_and_expectations),
		cmocka_unit_test(test_call_results),
		cmocka_unit_test(test_impossible_actions),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_cut),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
