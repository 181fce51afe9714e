/*
 * TIME_WAIT bookkeeping with many records: every record ends exactly 2MSL
 * after its last restart, whatever the others do (LC-C05), and the record
 * is small (LC-C08).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>

#include "harness.h"
#include "core/stack_int.h"

/* The time the client's connection from `port` entered `state` (the nth
 * time, from 0), or NEVER. */
static tide_time state_time(struct th *h, uint16_t port, int state, int nth)
{
	for (size_t i = 0; i < h->nstates; i++) {
		const struct th_state *s = &h->states[i];
		if (s->node == h->c && s->id.lport == port && s->new_state == state && nth-- == 0)
			return s->t;
	}
	return TIDE_TIME_NEVER;
}

/* The time of the nth pure ACK the client sent from `port`. */
static tide_time client_ack_time(struct th *h, uint16_t port, uint32_t ack, int nth)
{
	for (size_t i = 0; i < h->nsegs; i++) {
		const struct th_seg *s = &h->segs[i];
		if (s->from == h->c && s->sport == port && s->flags == TIDE_TCP_ACK && s->ack == ack &&
		    nth-- == 0)
			return s->t;
	}
	return TIDE_TIME_NEVER;
}

static void slow_server_rto(struct tide_config *cfg, int node)
{
	/* The server's FIN retransmission comes 3 s later, after the other
	 * connections have entered TIME_WAIT. */
	if (node == 1)
		cfg->settings.tcp_rto_min_ms = 3000;
}

/* LC-C05: three client connections enter TIME_WAIT at about 0, 1 and 5 s;
 * the first one's last ACK is lost, so the server's FIN comes again at
 * about 3 s and restarts that record's 2MSL. Each record must still end
 * exactly 60 s after its own last ACK. */
static void test_LC_C05_restart_keeps_every_record_exact(void **state)
{
	(void)state;
	struct th h;
	struct th_opts o = { .tune = slow_server_rto };
	th_init(&h, &o);
	int lfd = th_listen(&h, h.s, 80, 16);
	uint16_t ports[3] = { 40001, 40002, 40003 };
	int cfd[3], sfd[3];
	for (int i = 0; i < 3; i++) {
		cfd[i] = th_connect(&h, h.c, TH_SERVER_ADDR, 80, ports[i]);
		th_run_for(&h, TIDE_MS(5));
		sfd[i] = th_accept(&h, h.s, lfd);
	}
	/* Lose the client's next pure ACK: the one of the server's FIN on
	 * port 40001 (rules count from when they are added). */
	struct tide_fault f = { .from = h.c, .flags_mask = 0xff, .flags_match = TIDE_TCP_ACK,
				.nth = 1, .count = 1, .action = TIDE_FAULT_DROP };
	tide_sim_add_fault(h.sim, &f);
	tide_time close_at[3] = { TIDE_SEC(1), TIDE_SEC(2), TIDE_SEC(6) };
	for (int i = 0; i < 3; i++) {
		th_run_until(&h, close_at[i]);
		tide_close(h.C, cfd[i]);
		th_run_for(&h, TIDE_MS(5));
		tide_close(h.S, sfd[i]); /* within the delayed-ACK window: FIN+ACK */
	}
	th_run_until(&h, TIDE_SEC(80));

	for (int i = 0; i < 3; i++) {
		tide_time tw = state_time(&h, ports[i], TIDE_TCP_TIME_WAIT, 0);
		assert_int_not_equal(tw, TIDE_TIME_NEVER);
		/* the record's ACK of the server's FIN (ack = server ISN + 2) */
		tide_time last_ack = client_ack_time(&h, ports[i], 302, i == 0 ? 1 : 0);
		assert_int_not_equal(last_ack, TIDE_TIME_NEVER);
		assert_int_equal(state_time(&h, ports[i], TIDE_TCP_CLOSE, 0), last_ack + TIDE_SEC(60));
	}
	/* the first record really was restarted after the others began */
	assert_true(client_ack_time(&h, ports[0], 302, 1) > state_time(&h, ports[1], TIDE_TCP_TIME_WAIT, 0));
	assert_int_equal(tide_stack_counter(h.C, TIDE_MIB_TW), 3);
	tide_close(h.S, lfd);
	th_free(&h);
}

/* LC-C08: a TIME_WAIT record keeps a few dozen bytes, not a connection. */
static void test_LC_C08_time_wait_record_is_small(void **state)
{
	(void)state;
	/* 80: Linux's tw_entry_stamp (LC-K08) and tw_last_oow_ack_time came in */
	assert_true(sizeof(struct tcp_tw) <= 64);
	assert_true(sizeof(struct tcp_tw) < sizeof(struct tcp_conn) / 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_LC_C05_restart_keeps_every_record_exact),
		cmocka_unit_test(test_LC_C08_time_wait_record_is_small),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
