/*
 * The invariant checker (src/core/invariants.c): tide_stack_check passes on
 * live stacks in every state the fixture can make, and fails, naming the
 * object and the invariant, when a field is corrupted on purpose; in debug
 * builds (TIDE_INVARIANTS) the automatic checks abort the program on the
 * call after the corruption (run in a child process).
 *
 * Fixture ("world"): client 198.18.0.1 (ISN 100), server 198.18.0.2:80
 * (ISN 300), 1 ms one way, and on them, at 28 ms:
 *  - 40000: established; the client's first 100-byte segment was lost, so
 *    the server holds the second out of order (SND.UNA 101, SND.NXT 301 on
 *    the client); the server watches it with epoll;
 *  - 40002: the client closed first: a TIME_WAIT record on the client;
 *  - 40003: accepted, then closed by the server: an orphan in FIN_WAIT_1;
 *  - 40001: established, waiting in the listener's accept queue;
 *  - 198.19.0.1:1024: a spoofed SYN: a half-open request on the server.
 * Corruptions are undone before the stack is used again.
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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct world {
	struct th h;
	int lfd, cfd, sfd;          /* 40000 */
	int qfd;                    /* 40001, client side (queued at the server) */
	int ep;                     /* the server's epoll, watching sfd */
};

static struct tide_sock *sock_of(tide_stack *st, int fd)
{
	assert_true(fd >= 0 && (uint32_t)fd < st->fds.cap && st->fds.a[fd].kind == TIDE_FD_SOCK);
	return st->fds.a[fd].obj;
}

static struct tcp_conn *conn_of(tide_stack *st, int fd)
{
	struct tcp_conn *c = sock_of(st, fd)->conn;
	assert_non_null(c);
	return c;
}

static struct tide_hentry *entry_of(tide_stack *st, uint32_t laddr, uint16_t lport, uint32_t raddr,
				    uint16_t rport)
{
	struct tide_conn_id k = { .laddr = laddr, .raddr = raddr, .lport = lport, .rport = rport };
	struct tide_hentry *e = tide_htab_find(st, &k);
	assert_non_null(e);
	return e;
}

static void expect_ok(tide_stack *st)
{
	char msg[512] = "untouched";
	int r = tide_stack_check(st, msg, sizeof msg);
	if (r != 0)
		fail_msg("tide_stack_check: %s", msg);
	assert_string_equal(msg, "");
}

static void expect_broken(tide_stack *st, const char *want)
{
	char msg[512];
	assert_int_equal(tide_stack_check(st, msg, sizeof msg), -1);
	if (!strstr(msg, want))
		fail_msg("message \"%s\" lacks \"%s\"", msg, want);
}

static int world_setup(void **state)
{
	struct world *w = calloc(1, sizeof *w);
	assert_non_null(w);
	struct th *h = &w->h;
	th_init(h, NULL);
	th_establish(h, &w->cfd, &w->sfd, &w->lfd);

	/* 40002: the client closes first, the server follows: TIME_WAIT */
	int c2 = th_connect(h, h->c, TH_SERVER_ADDR, 80, 40002);
	th_run_for(h, TIDE_MS(3));
	int s2 = th_accept(h, h->s, w->lfd);
	assert_int_equal(tide_close(h->C, c2), 0);
	th_run_for(h, TIDE_MS(2));
	assert_int_equal(tide_close(h->S, s2), 0);
	th_run_for(h, TIDE_MS(3));

	/* 40003: accepted (closed by the server at the end) */
	int c3 = th_connect(h, h->c, TH_SERVER_ADDR, 80, 40003);
	th_run_for(h, TIDE_MS(3));
	int s3 = th_accept(h, h->s, w->lfd);
	(void)c3;

	/* 40001: left in the accept queue */
	w->qfd = th_connect(h, h->c, TH_SERVER_ADDR, 80, 40001);
	th_run_for(h, TIDE_MS(3));

	/* a half-open request nobody will complete */
	th_spoof_syn(h, TH_FLOOD_NET + 1, 1024);
	th_run_for(h, TIDE_MS(2));

	/* 40000: data both ways, the client's first segment lost */
	int one = 1;
	assert_int_equal(tide_setsockopt(h->C, w->cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one), 0);
	w->ep = tide_epoll_create(h->S);
	assert_true(w->ep >= 0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = w->sfd };
	assert_int_equal(tide_epoll_ctl(h->S, w->ep, EPOLL_CTL_ADD, w->sfd, &ev), 0);
	th_drop(h, h->c, TIDE_TCP_PSH, TIDE_TCP_PSH, 1, 1);
	char buf[100];
	memset(buf, 'x', sizeof buf);
	assert_int_equal(tide_send(h->C, w->cfd, buf, 100, 0), 100);
	assert_int_equal(tide_send(h->C, w->cfd, buf, 100, 0), 100);
	assert_int_equal(tide_send(h->S, w->sfd, buf, 50, 0), 50);
	th_run_for(h, TIDE_MS(3));

	/* 40003: the server lets go: an orphan until the FIN is acknowledged */
	assert_int_equal(tide_close(h->S, s3), 0);

	/* what the fixture promises */
	struct tcp_conn *c = conn_of(h->C, w->cfd);
	assert_int_equal(c->snd_una, 101);
	assert_int_equal(c->snd_nxt, 301);
	assert_non_null(conn_of(h->S, w->sfd)->ofo);
	assert_int_equal(h->C->tw_count, 1);
	assert_int_equal(h->S->orphans, 1);
	struct tide_sock *l = sock_of(h->S, w->lfd);
	assert_int_equal(l->acc_len, 1);
	assert_int_equal(l->syn_len, 1);
	*state = w;
	return 0;
}

static int world_teardown(void **state)
{
	struct world *w = *state;
	th_free(&w->h);
	free(w);
	return 0;
}

/* ---- the checker passes on live stacks ---- */

static void test_INV_passes_on_fixture(void **state)
{
	struct world *w = *state;
	expect_ok(w->h.C);
	expect_ok(w->h.S);
}

/* Every 10 ms of the next 70 s: the lost segment's retransmission and the
 * out-of-order queue draining, the orphan's close, SYN-ACK retransmissions
 * and the request's end, TIME_WAIT's expiry; then both ends close. */
static void test_INV_passes_through_lifecycle(void **state)
{
	struct world *w = *state;
	struct th *h = &w->h;
	char buf[512];
	for (int i = 0; i < 7000; i++) {
		th_run_for(h, TIDE_MS(10));
		if (i == 50) {
			assert_int_equal(tide_recv(h->S, w->sfd, buf, sizeof buf, 0), 200);
			assert_int_equal(tide_recv(h->C, w->cfd, buf, sizeof buf, 0), 50);
			assert_int_equal(tide_shutdown(h->C, w->cfd, SHUT_WR), 0);
		}
		if (i == 60)
			assert_int_equal(tide_close(h->S, w->sfd), 0);
		if (i == 100)
			assert_int_equal(tide_close(h->S, w->lfd), 0);
		expect_ok(h->C);
		expect_ok(h->S);
	}
	assert_int_equal(h->C->tw_count, 0);
	assert_int_equal(h->S->orphans, 0);
	assert_int_equal(tide_close(h->C, w->cfd), 0);
	assert_int_equal(tide_close(h->C, w->qfd), 0);
	expect_ok(h->C);
	expect_ok(h->S);
}

static void test_INV_message_without_buffer(void **state)
{
	struct world *w = *state;
	struct tcp_conn *c = conn_of(w->h.C, w->cfd);
	c->snd_nxt++;
	assert_int_equal(tide_stack_check(w->h.C, NULL, 0), -1);
	char one = 'x';
	assert_int_equal(tide_stack_check(w->h.C, &one, 1), -1);
	assert_int_equal(one, '\0');
	c->snd_nxt--;
	assert_int_equal(tide_stack_check(w->h.C, NULL, 0), 0);
}

/* ---- each corruption is found and named ---- */

static void test_INV_sequence_space(void **state)
{
	struct world *w = *state;
	struct tcp_conn *c = conn_of(w->h.C, w->cfd);
	char msg[512];
	c->snd_nxt = 302;
	assert_int_equal(tide_stack_check(w->h.C, msg, sizeof msg), -1);
	assert_string_equal(msg, "connection 198.18.0.1:40000>198.18.0.2:80 ESTABLISHED: sequence space: "
				 "want ISS <= SND.UNA <= SND.NXT <= SND.MAX, have 100, 101, 302, 301");
	c->snd_nxt = 301;
	c->snd_una = 99;
	expect_broken(w->h.C, "have 100, 99, 301, 301");
	c->snd_una = 101;
	expect_ok(w->h.C);
}

static void test_INV_send_queue_holds_what_was_sent(void **state)
{
	struct world *w = *state;
	struct tcp_conn *c = conn_of(w->h.C, w->cfd);
	assert_int_equal(c->sndq.len, 200);
	c->sndq.len = 199;
	expect_broken(w->h.C, "connection 198.18.0.1:40000>198.18.0.2:80 ESTABLISHED: sequence space: "
			      "sent up to SND.MAX 301 beyond the send queue's end 300 (SND.UNA 101 + 199 bytes)");
	c->sndq.len = 200;
	c->sndq.head = c->sndq.cap;
	expect_broken(w->h.C, "queues: send ring broken");
	c->sndq.head = 0;
	expect_ok(w->h.C);
}

static void test_INV_fin_accounting(void **state)
{
	struct world *w = *state;
	struct tcp_conn *c = conn_of(w->h.C, w->cfd);
	c->fin_sent = true;
	expect_broken(w->h.C, "flags: FIN sent but never queued");
	c->fin_queued = true;
	c->fin_seq = 299;
	expect_broken(w->h.C, "FIN sent at 299 but SND.MAX is 301");
	c->fin_seq = 302;
	c->snd_max = c->snd_nxt = 303;
	expect_broken(w->h.C, "FIN at 302 but the send queue ends at 301 (SND.UNA 101 + 200 bytes)");
	c->fin_seq = 301;
	c->snd_max = c->snd_nxt = 302;
	/* the queue and the FIN agree now; ESTABLISHED does not */
	expect_broken(w->h.C, "ESTABLISHED: flags: fin_queued 1, fin_rcvd 0 (want neither)");
	c->fin_sent = c->fin_queued = false;
	c->snd_max = c->snd_nxt = 301;
	expect_ok(w->h.C);
}

static void test_INV_state_flags(void **state)
{
	struct world *w = *state;
	struct tcp_conn *c = conn_of(w->h.C, w->cfd);
	c->fin_rcvd = true;
	expect_broken(w->h.C, "ESTABLISHED: flags: fin_queued 0, fin_rcvd 1 (want neither)");
	c->fin_rcvd = false;
	uint8_t s = c->state;
	c->state = TIDE_TCP_FIN_WAIT2;
	expect_broken(w->h.C, "FIN_WAIT_2: flags:");
	c->state = TIDE_TCP_LISTEN;
	expect_broken(w->h.C, "state 10 is not one a connection can be in");
	c->state = s;
	expect_ok(w->h.C);
}

static void test_INV_receive_space(void **state)
{
	struct world *w = *state;
	struct tcp_conn *c = conn_of(w->h.S, w->sfd);
	uint32_t wup = c->rcv_wup, adv = c->rcv_adv;
	c->rcv_wup = c->rcv_nxt + 1;
	expect_broken(w->h.S, "connection 198.18.0.2:80>198.18.0.1:40000 ESTABLISHED: receive space: RCV.WUP");
	c->rcv_wup = wup;
	c->rcv_adv = wup - 1;
	expect_broken(w->h.S, "receive space: announced right edge RCV.ADV");
	c->rcv_adv = wup + (65535u << c->rcv_wscale) + 1;
	expect_broken(w->h.S, "receive space: announced window");
	c->rcv_adv = adv;
	uint8_t ws = c->snd_wscale;
	c->snd_wscale = 15;
	expect_broken(w->h.S, "windows: scales 15 (send)");
	c->snd_wscale = ws;
	expect_ok(w->h.S);
}

static void test_INV_out_of_order_queue(void **state)
{
	struct world *w = *state;
	struct tcp_conn *c = conn_of(w->h.S, w->sfd);
	assert_int_equal(c->ofo_bytes, 100);
	c->ofo_bytes = 99;
	expect_broken(w->h.S, "out-of-order queue: ofo_bytes 99 but the segments hold 100");
	c->ofo_bytes = 100;
	uint32_t seq = c->ofo->seq;
	c->ofo->seq = c->rcv_nxt;
	expect_broken(w->h.S, "out-of-order queue: segment at 101 (100 bytes) not beyond RCV.NXT 101");
	c->ofo->seq = seq;
	expect_ok(w->h.S);
}

static void test_INV_connection_timer(void **state)
{
	struct world *w = *state;
	struct tcp_conn *c = conn_of(w->h.C, w->cfd);
	tide_time rexmit = c->t_rexmit;
	assert_int_not_equal(rexmit, TIDE_TIME_NEVER);
	c->t_rexmit = rexmit - 1; /* moved without telling the heap */
	expect_broken(w->h.C, "timers: heap entry at");
	c->t_rexmit = rexmit;
	/* its only timer: the client's earliest */
	assert_int_equal(c->timer.idx, 0);
	c->timer.idx = 1000;
	expect_broken(w->h.C, "stack 198.18.0.1: timers: heap top's index is 1000");
	c->timer.idx = 0;
	/* the server's SYN-ACK timer comes after the orphan's retransmission */
	struct tcp_req *rq = TIDE_CONTAINER_OF(entry_of(w->h.S, TH_SERVER_ADDR, 80, TH_FLOOD_NET + 1, 1024),
					       struct tcp_req, h);
	assert_int_equal(rq->timer.idx, 1);
	rq->timer.idx = 1000;
	expect_broken(w->h.S, "request 198.18.0.2:80>198.19.0.1:1024 SYN_RECV: timers: armed for 1018000 but "
			      "not at its index 1000 in the timer heap (2 entries)");
	rq->timer.idx = 1;
	expect_ok(w->h.S);
	bool ap = c->ack_pending;
	tide_time d = c->t_delack;
	c->ack_pending = true;
	c->t_delack = TIDE_TIME_NEVER;
	expect_broken(w->h.C, "timers: an ACK is owed but the delayed-ACK timer is off");
	c->ack_pending = ap;
	c->t_delack = d;
	expect_ok(w->h.C);
}

static void test_INV_timer_in_the_past(void **state)
{
	struct world *w = *state;
	tide_stack *st = w->h.C;
	tide_time now = st->now;
	st->now = st->timers.a[0]->when + 1;
	expect_broken(st, "timers: the earliest timer");
	expect_broken(st, "is in the past");
	st->now = now;
	expect_ok(st);
}

static void test_INV_owner(void **state)
{
	struct world *w = *state;
	struct tcp_conn *c = conn_of(w->h.C, w->cfd);
	c->sk = NULL;
	expect_broken(w->h.C, "owner: no socket, no accept queue, and not counted as an orphan");
	c->sk = sock_of(w->h.C, w->cfd);
	c->orphan_counted = true;
	expect_broken(w->h.C, "owner: counted as an orphan but has a socket (fd");
	c->orphan_counted = false;
	expect_ok(w->h.C);
}

static void test_INV_stack_counts(void **state)
{
	struct world *w = *state;
	tide_stack *C = w->h.C, *S = w->h.S;
	C->tw_count++;
	expect_broken(C, "stack 198.18.0.1: counts: tw_count 2 but 1 TIME_WAIT records");
	C->tw_count--;
	S->orphans++;
	expect_broken(S, "stack 198.18.0.2: counts: orphans 2 but 1 orphaned connections");
	S->orphans--;
	S->curr_estab++;
	expect_broken(S, "counts: CurrEstab");
	S->curr_estab--;
	C->ehash.n++;
	expect_broken(C, "ehash: count");
	C->ehash.n--;
	expect_ok(C);
	expect_ok(S);
}

static void test_INV_listener_queues(void **state)
{
	struct world *w = *state;
	struct tide_sock *l = sock_of(w->h.S, w->lfd);
	l->syn_len++;
	expect_broken(w->h.S, "SYN queue: syn_len 2, syn_young 1 but the ehash holds 1 requests, 1 young");
	l->syn_len--;
	l->acc_len++;
	expect_broken(w->h.S, "accept queue: length 2 but 1 connections");
	l->acc_len--;
	struct tcp_conn *q = l->acc_head;
	q->listener = sock_of(w->h.S, w->sfd);
	expect_broken(w->h.S, "connection 198.18.0.2:80>198.18.0.1:40001 ESTABLISHED: owner: in an accept queue but");
	q->listener = l;
	struct tcp_req *rq = TIDE_CONTAINER_OF(entry_of(w->h.S, TH_SERVER_ADDR, 80, TH_FLOOD_NET + 1, 1024),
					       struct tcp_req, h);
	rq->cookie = true;
	expect_broken(w->h.S, "request 198.18.0.2:80>198.19.0.1:1024 SYN_RECV: a cookie's request is in the ehash");
	rq->cookie = false;
	expect_ok(w->h.S);
}

static void test_INV_timewait_record(void **state)
{
	struct world *w = *state;
	tide_stack *C = w->h.C;
	struct tcp_tw *tw = TIDE_CONTAINER_OF(entry_of(C, TH_CLIENT_ADDR, 40002, TH_SERVER_ADDR, 80),
					      struct tcp_tw, h);
	tide_time exp = tide_tw_expiry(tw);
	tide_tw_set_expiry(tw, C->now - 1);
	expect_broken(C, "stack 198.18.0.1: TIME_WAIT FIFO: head expiry");
	tide_tw_set_expiry(tw, exp);
	tw->h.aux8 |= TIDE_TW_IN_HEAP;
	expect_broken(C, "TIME_WAIT FIFO: in the FIFO but flagged in the heap");
	tw->h.aux8 &= (uint8_t)~TIDE_TW_IN_HEAP;
	expect_ok(C);
}

static void test_INV_port_table(void **state)
{
	struct world *w = *state;
	struct tide_port *p = tide_port_get(w->h.S, 80, false);
	assert_non_null(p);
	p->nconn++;
	expect_broken(w->h.S, "port 80: counts: 4 connections and 0 TIME_WAIT records, but the ehash holds 3 and 0");
	p->nconn--;
	struct tide_sock *bound = p->bound;
	p->bound = NULL;
	expect_broken(w->h.S, "socket fd 3: bound to port 80 but not in its list of bound sockets");
	p->bound = bound;
	expect_ok(w->h.S);
}

static void test_INV_descriptors_and_epoll(void **state)
{
	struct world *w = *state;
	tide_stack *S = w->h.S;
	struct tide_sock *sk = sock_of(S, w->sfd);
	sk->fd++;
	expect_broken(S, "owner: its socket (fd 5) does not point back at it");
	sk->fd--;
	struct tide_epoll *ep = S->fds.a[w->ep].obj;
	assert_non_null(ep->ready_head); /* data arrived for sfd */
	ep->ready_head->on_ready = false;
	expect_broken(S, "ready list: holds an item not marked ready");
	ep->ready_head->on_ready = true;
	uint32_t lf = S->fds.lowest_free;
	S->fds.lowest_free = S->fds.cap;
	expect_broken(S, "descriptor table: free below the lowest-free hint");
	S->fds.lowest_free = lf;
	expect_ok(S);
}

/* ---- the automatic checks of debug builds ---- */

#ifdef TIDE_INVARIANTS
/* Runs fn in a child whose stderr is captured; expects it to abort with
 * `want` in what it printed. */
static void expect_abort(struct world *w, void (*fn)(struct world *), const char *want)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	fflush(stderr);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], 2);
		fn(w);
		_exit(0);
	}
	close(fds[1]);
	char out[4096];
	size_t n = 0;
	ssize_t r;
	while (n < sizeof out - 1 && (r = read(fds[0], out + n, sizeof out - 1 - n)) > 0)
		n += (size_t)r;
	out[n] = '\0';
	close(fds[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
		fail_msg("the child did not abort (status 0x%x); it printed: %s", status, out);
	if (!strstr(out, want))
		fail_msg("the abort message lacks \"%s\": %s", want, out);
}

static void corrupt_then_recv(struct world *w)
{
	conn_of(w->h.C, w->cfd)->snd_una = 99;
	char b[8];
	tide_recv(w->h.C, w->cfd, b, sizeof b, 0);
}

static void test_INV_auto_socket_call(void **state)
{
	expect_abort(*state, corrupt_then_recv,
		     "tide: invariant broken after tide_recv: connection 198.18.0.1:40000>198.18.0.2:80 "
		     "ESTABLISHED: sequence space: want ISS <= SND.UNA <= SND.NXT <= SND.MAX, have 100, 99, 301, 301");
}

static void corrupt_then_packet(struct world *w)
{
	struct th *h = &w->h;
	conn_of(h->S, w->sfd)->ofo_bytes = 7;
	uint8_t pkt[128];
	/* a duplicate ACK from the client to the server's connection */
	size_t n = th_build_seg(h, h->c, pkt, sizeof pkt, 40000, 80, TIDE_TCP_ACK, 101, 351, 502, NULL, 0,
				NULL);
	th_inject_raw(h, h->s, pkt, n);
}

static void test_INV_auto_packet(void **state)
{
	expect_abort(*state, corrupt_then_packet,
		     "tide: invariant broken after tide_stack_input: connection "
		     "198.18.0.2:80>198.18.0.1:40000 ESTABLISHED: out-of-order queue: ofo_bytes 7");
}

/* A count no single object shows: found by the periodic full check. */
static void corrupt_then_idle(struct world *w)
{
	tide_stack *C = w->h.C;
	tide_port_get(C, 40001, false)->nuse[0]++;
	for (int i = 0; i < 100000; i++)
		tide_stack_advance(C, C->now);
}

static void test_INV_auto_full_check(void **state)
{
	expect_abort(*state, corrupt_then_idle,
		     "tide: invariant broken after tide_stack_advance: port 40001: counts: nuse[0] 2 but 1");
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
#define W(t) cmocka_unit_test_setup_teardown(t, world_setup, world_teardown)
		W(test_INV_passes_on_fixture),
		W(test_INV_passes_through_lifecycle),
		W(test_INV_message_without_buffer),
		W(test_INV_sequence_space),
		W(test_INV_send_queue_holds_what_was_sent),
		W(test_INV_fin_accounting),
		W(test_INV_state_flags),
		W(test_INV_receive_space),
		W(test_INV_out_of_order_queue),
		W(test_INV_connection_timer),
		W(test_INV_timer_in_the_past),
		W(test_INV_owner),
		W(test_INV_stack_counts),
		W(test_INV_listener_queues),
		W(test_INV_timewait_record),
		W(test_INV_port_table),
		W(test_INV_descriptors_and_epoll),
#ifdef TIDE_INVARIANTS
		W(test_INV_auto_socket_call),
		W(test_INV_auto_packet),
		W(test_INV_auto_full_check),
#endif
#undef W
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
