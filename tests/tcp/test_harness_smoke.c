/*
 * The fixture itself: two stacks, the three-way handshake, and the log it
 * records (RFC 793 section 3.5's ISNs).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"

static void test_handshake(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);

	th_expect_nsegs(&h, 3);
	th_expect_seg_at(&h, 0, 0, h.c, TIDE_TCP_SYN, 100, 0, 0);
	th_expect_seg_at(&h, 1, TIDE_MS(1), h.s, TIDE_TCP_SYN | TIDE_TCP_ACK, 300, 101, 0);
	th_expect_seg_at(&h, 2, TIDE_MS(2), h.c, TIDE_TCP_ACK, 101, 301, 0);
	assert_int_equal(th_seg(&h, 0)->sport, 40000);
	assert_int_equal(th_seg(&h, 0)->dport, 80);
	assert_int_equal(th_seg(&h, 0)->to, h.s);
	assert_true(th_now(&h) == TIDE_MS(3));

	assert_int_equal(tide_sock_state(h.C, cfd), TIDE_TCP_ESTABLISHED);
	assert_int_equal(tide_sock_state(h.S, sfd), TIDE_TCP_ESTABLISHED);
	assert_true(sfd != lfd);
	const int client[] = { TIDE_TCP_SYN_SENT, TIDE_TCP_ESTABLISHED };
	th_expect_states(&h, h.c, client, 2);
	th_expect_state_at(&h, h.c, 1, TIDE_MS(2), TIDE_TCP_SYN_SENT, TIDE_TCP_ESTABLISHED);
	th_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
