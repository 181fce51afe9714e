/*
 * Bounded memory (issue 7): every block a stack holds is counted
 * (tide_stack_mem), net.ipv4.tcp_mem limits the buffer memory of all
 * connections, fs.file-max the descriptors, and an allocator that fails
 * degrades service the way Linux does, counted, never a crash or a leak.
 *
 * Linux facts used (6.18 sources: net/core/sock.c __sk_mem_raise_allocated,
 * net/ipv4/tcp_input.c tcp_data_queue, tcp_data_queue_ofo,
 * tcp_try_rmem_schedule, tcp_prune_ofo_queue; tcp_output.c
 * tcp_select_window, __tcp_select_window; tcp.c tcp_wmem_schedule,
 * tcp_check_oom, __tcp_close; tcp_timer.c tcp_out_of_resources; fs/file_table.c
 * alloc_empty_file; net/socket.c do_accept):
 *  - buffer memory is counted in pages against tcp_mem: above tcp_mem[1]
 *    memory pressure begins (TCPMemoryPressures once), below tcp_mem[0] it
 *    ends (TCPMemoryPressuresChrono: its length in ms); above tcp_mem[2]
 *    nothing new is granted; in between, a socket under tcp_rmem[0] /
 *    tcp_wmem[0] is, and under pressure one below the average share;
 *  - in-order data that cannot be charged is dropped (TCPRcvQDrop) and
 *    the ACK leaves at once with window 0 (ICSK_ACK_NOMEM), unless the
 *    receive queue is empty (then it is taken: sk_forced_mem_schedule);
 *    out-of-order data is dropped (TCPOFODrop) and not ACKed; before
 *    dropping, out-of-order data after the segment is pruned (OfoPruned);
 *  - send() beyond the limit still gets tcp_wmem[0] of queue; the socket's
 *    send buffer is cut to half of what it holds (sk_stream_moderate_sndbuf);
 *  - under pressure the receive window grows no further than 4 * advmss
 *    once less than half the buffer is free;
 *  - an orphan holding more than SOCK_MIN_SNDBUF (4608) bytes while memory
 *    is beyond tcp_mem[2] is reset, at close() or at its next timeout
 *    (TCPAbortOnMemory);
 *  - socket(), accept() and epoll_create() fail with ENFILE at fs.file-max;
 *    accept() makes its file before it looks at the queue, so the
 *    connection stays queued (and ENFILE comes even when none waits).
 *
 * Fixture: client 198.18.0.1 (ISN 100), server 198.18.0.2:80 (ISN 300),
 * 1 ms one way; the handshake ends at 3 ms; timestamps on (MSS 1448),
 * window scale 7 both ways.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "harness.h"
#include "inject.h"
#include "core/stack_int.h"
#include <tide/settings.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define AK TIDE_TCP_ACK
#define PA (TIDE_TCP_PSH | TIDE_TCP_ACK)
#define FA (TIDE_TCP_FIN | TIDE_TCP_ACK)
#define RA (TIDE_TCP_RST | TIDE_TCP_ACK)

/* ---- helpers ---------------------------------------------------------- */

/* An allocator that counts what it holds and fails on request. */
struct fail_alloc {
	int64_t live;          /* bytes held */
	uint64_t calls;        /* allocations and resizes asked for */
	uint64_t fail_at;      /* fail only call number fail_at (1-based; 0: none) */
	bool fail_all;         /* fail every call while set */
	uint64_t failed;
};
static struct fail_alloc g_fa[2];

static void *fa_alloc(void *ctx, void *p, size_t old_size, size_t new_size)
{
	struct fail_alloc *fa = ctx;
	if (new_size == 0) {
		free(p);
		fa->live -= (int64_t)old_size;
		return NULL;
	}
	fa->calls++;
	if (fa->fail_all || fa->calls == fa->fail_at) {
		fa->failed++;
		return NULL;
	}
	void *q = realloc(p, new_size);
	if (q)
		fa->live += (int64_t)new_size - (int64_t)(p ? old_size : 0);
	return q;
}

static void tune_fail_alloc(struct tide_config *cfg, int node)
{
	memset(&g_fa[node], 0, sizeof(g_fa[node]));
	cfg->alloc = fa_alloc;
	cfg->alloc_ctx = &g_fa[node];
}

static struct tide_mem_stats mem(tide_stack *st)
{
	struct tide_mem_stats m;
	tide_stack_mem(st, &m);
	return m;
}

static uint64_t cnt(tide_stack *st, enum tide_counter c)
{
	return tide_stack_counter(st, c);
}

static void set(tide_stack *st, const char *name, const char *value)
{
	char err[256];
	if (tide_settings_set(tide_stack_settings(st), name, value, err, sizeof(err)) != 0)
		fail_msg("%s", err);
}

/* The bytes a test sends: a position-dependent pattern, so that a lost,
 * doubled or misplaced byte shows. */
static uint8_t pat(size_t i)
{
	return (uint8_t)(i * 7 + (i >> 8) * 13);
}

static void fill(uint8_t *b, size_t off, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = pat(off + i);
}

/* Reads everything queued; checks it against the pattern from *got on. */
static size_t drain(tide_stack *st, int fd, size_t *got)
{
	uint8_t b[8192];
	size_t total = 0;
	for (;;) {
		ssize_t n = tide_recv(st, fd, b, sizeof(b), 0);
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			if (b[i] != pat(*got + (size_t)i))
				fail_msg("byte %zu differs", *got + (size_t)i);
		*got += (size_t)n;
		total += (size_t)n;
	}
	return total;
}

/* Every kind that belongs to connections and sockets is empty. */
static void expect_no_conn_memory(tide_stack *st)
{
	struct tide_mem_stats m = mem(st);
	static const enum tide_mem_kind kinds[] = {
		TIDE_MEM_CONN, TIDE_MEM_REQ, TIDE_MEM_TW, TIDE_MEM_SOCK, TIDE_MEM_EPOLL,
		TIDE_MEM_EPITEM, TIDE_MEM_SNDBUF, TIDE_MEM_RCVBUF, TIDE_MEM_OFO,
	};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (m.objects[kinds[i]] || m.bytes[kinds[i]])
			fail_msg("%s: %llu objects, %llu bytes left", tide_mem_kind_name(kinds[i]),
				 (unsigned long long)m.objects[kinds[i]], (unsigned long long)m.bytes[kinds[i]]);
	}
	assert_int_equal(m.buffer_bytes, 0);
	assert_int_equal(m.pages, 0);
	assert_int_equal(m.descriptors, 0);
	uint64_t sum = 0;
	for (int k = 0; k < TIDE_MEM_KINDS; k++)
		sum += m.bytes[k];
	assert_int_equal(sum, m.total_bytes);
}

/* ---- accounting -------------------------------------------------------- */

/* A whole lifecycle with data both ways: every block is counted while it
 * lives and given back when the connection ends; once TIME_WAIT is over
 * nothing of it remains, and after tide_stack_free the allocator holds
 * nothing at all. */
static void test_MEM_accounting_returns_to_zero(void **state)
{
	(void)state;
	struct th_opts o = { .tune = tune_fail_alloc };
	struct th h;
	th_init(&h, &o);
	struct tide_mem_stats m0 = mem(h.C);
	assert_int_equal(m0.objects[TIDE_MEM_STACK], 2); /* the stack and its packet scratch */
	assert_int_equal(m0.total_bytes, (uint64_t)g_fa[0].live);
	assert_false(m0.pressure);

	int cfd, sfd, lfd;
	th_establish(&h, &cfd, &sfd, &lfd);
	struct tide_mem_stats c = mem(h.C), s = mem(h.S);
	assert_int_equal(c.objects[TIDE_MEM_CONN], 1);
	assert_int_equal(c.objects[TIDE_MEM_SOCK], 1);
	assert_int_equal(s.objects[TIDE_MEM_CONN], 1);
	assert_int_equal(s.objects[TIDE_MEM_SOCK], 2); /* listener and accepted */
	assert_int_equal(s.objects[TIDE_MEM_REQ], 0);  /* the request became the connection */
	assert_int_equal(s.descriptors, 2);
	assert_int_equal(c.buffer_bytes, 0);           /* no data: no buffers */
	assert_int_equal(c.total_bytes, (uint64_t)g_fa[0].live);
	assert_int_equal(s.total_bytes, (uint64_t)g_fa[1].live);

	/* 100 bytes each way: each queue takes the smallest ring, 2 KiB */
	uint8_t b[100];
	fill(b, 0, sizeof(b));
	assert_int_equal(tide_send(h.C, cfd, b, sizeof(b), 0), 100);
	assert_int_equal(mem(h.C).bytes[TIDE_MEM_SNDBUF], 2048);
	th_run_for(&h, TIDE_MS(5));
	assert_int_equal(mem(h.S).bytes[TIDE_MEM_RCVBUF], 2048);
	assert_int_equal(mem(h.S).pages, 1);
	size_t got = 0;
	assert_int_equal(drain(h.S, sfd, &got), 100);
	assert_int_equal(tide_send(h.S, sfd, b, sizeof(b), 0), 100);
	th_run_for(&h, TIDE_MS(50));
	got = 0;
	assert_int_equal(drain(h.C, cfd, &got), 100);
	c = mem(h.C);
	assert_int_equal(c.bytes[TIDE_MEM_SNDBUF], 2048); /* kept, empty: no pressure */
	assert_int_equal(c.bytes[TIDE_MEM_RCVBUF], 2048);
	assert_int_equal(c.buffer_bytes, 4096);
	assert_int_equal(c.pages, 1);

	/* an epoll instance and one registration */
	int ep = tide_epoll_create(h.C);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = cfd };
	assert_int_equal(tide_epoll_ctl(h.C, ep, EPOLL_CTL_ADD, cfd, &ev), 0);
	assert_int_equal(mem(h.C).objects[TIDE_MEM_EPOLL], 1);
	assert_int_equal(mem(h.C).objects[TIDE_MEM_EPITEM], 1);
	assert_int_equal(mem(h.C).descriptors, 2);
	tide_close(h.C, ep);
	assert_int_equal(mem(h.C).objects[TIDE_MEM_EPITEM], 0);

	/* the client closes first: its connection becomes a TIME_WAIT record */
	tide_close(h.C, cfd);
	th_run_for(&h, TIDE_MS(10));
	tide_close(h.S, sfd);
	tide_close(h.S, lfd);
	th_run_for(&h, TIDE_MS(10));
	c = mem(h.C);
	assert_int_equal(c.objects[TIDE_MEM_CONN], 0);
	assert_int_equal(c.objects[TIDE_MEM_TW], 1);
	assert_int_equal(c.bytes[TIDE_MEM_TW], sizeof(struct tcp_tw));
	assert_int_equal(c.buffer_bytes, 0);
	expect_no_conn_memory(h.S);
	th_run_for(&h, TIDE_SEC(61));
	expect_no_conn_memory(h.C);
	assert_true(mem(h.C).peak_bytes > mem(h.C).total_bytes);
	th_free(&h);
	assert_int_equal(g_fa[0].live, 0);
	assert_int_equal(g_fa[1].live, 0);
}

/* A queue's buffer follows use: it doubles from 2 KiB up to the socket's
 * buffer size as data waits in it, never beyond. */
static void test_MEM_rings_grow_with_use(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd;
	th_establish(&h, &cfd, &sfd, NULL);
	static uint8_t b[100000];
	fill(b, 0, sizeof(b));
	/* the send queue: 16384 B of tcp_wmem[1], reached in three doublings */
	assert_int_equal(tide_send(h.C, cfd, b, 3000, 0), 3000);
	assert_int_equal(mem(h.C).bytes[TIDE_MEM_SNDBUF], 4096);
	assert_int_equal(tide_send(h.C, cfd, b + 3000, sizeof(b) - 3000, 0), 16384 - 3000);
	assert_int_equal(mem(h.C).bytes[TIDE_MEM_SNDBUF], 16384);
	assert_int_equal(mem(h.C).objects[TIDE_MEM_SNDBUF], 1);
	/* the receive queue grows as the unread data does */
	th_run_for(&h, TIDE_MS(100));
	struct tide_mem_stats s = mem(h.S);
	assert_int_equal(s.bytes[TIDE_MEM_RCVBUF], 16384);
	assert_int_equal(s.objects[TIDE_MEM_RCVBUF], 1);
	size_t got = 0;
	assert_int_equal(drain(h.S, sfd, &got), 16384);
	th_free(&h);
}


/* ---- net.ipv4.tcp_mem --------------------------------------------------- */

/* The client sends 1000-byte segments every 10 ms to a server that does not
 * read, whose tcp_mem is 2 4 8 pages (8, 16, 32 KiB). The receive queue
 * doubles 2, 4, 8, 16 KiB; the 17th segment would need 32 KiB: under
 * pressure (8 pages > tcp_mem[1]), the one connection may not have all of
 * tcp_mem[2], so the segment is dropped, not ACKed, and the ACK that leaves
 * at once shows window 0. When the application reads, the queue's memory
 * goes back, pressure ends, the window opens and the data arrives intact. */
static void test_MEM_tcp_mem_drops_in_order_data(void **state)
{
	(void)state;
	struct th_opts o = { .server_settings = "net.ipv4.tcp_mem = 2 4 8\n" };
	struct th h;
	th_init(&h, &o);
	int cfd, sfd;
	th_establish(&h, &cfd, &sfd, NULL);
	int one = 1;
	tide_setsockopt(h.C, cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	uint8_t b[1000];
	size_t sent = 0;
	for (int k = 0; k < 20; k++) {
		fill(b, sent, sizeof(b));
		assert_int_equal(tide_send(h.C, cfd, b, sizeof(b), 0), 1000);
		sent += 1000;
		th_run_for(&h, TIDE_MS(10));
	}
	/* segments 3, 5, ... 33: the first 16 are each ACKed at once */
	th_expect_seg_at(&h, 33, TIDE_MS(153), h.c, PA, 15101, 301, 1000);
	th_expect_seg_at(&h, 34, TIDE_MS(154), h.s, AK, 301, 16101, 0);
	assert_int_equal(th_seg(&h, 34)->win, 510);
	/* the 17th: dropped, and the ACK shows window 0 */
	th_expect_seg_at(&h, 35, TIDE_MS(163), h.c, PA, 16101, 301, 1000);
	th_expect_seg_at(&h, 36, TIDE_MS(164), h.s, AK, 301, 16101, 0);
	assert_int_equal(th_seg(&h, 36)->win, 0);
	th_expect_nsegs(&h, 37); /* the client waits: window 0 */
	assert_int_equal(cnt(h.S, TIDE_MIB_TCPRcvQDrop), 1);
	assert_int_equal(cnt(h.S, TIDE_MIB_DropTcpMemory), 1);
	assert_int_equal(cnt(h.S, TIDE_MIB_TCPMemoryPressures), 1);
	assert_int_equal(cnt(h.S, TIDE_MIB_TCPMemoryPressuresChrono), 0);
	struct tide_mem_stats s = mem(h.S);
	assert_true(s.pressure);
	assert_int_equal(s.bytes[TIDE_MEM_RCVBUF], 16384);
	assert_int_equal(s.pages, 4);

	/* at 203 ms the application reads: the emptied queue gives its memory
	 * back at once (pressure), pressure ends 39 ms after it began, and
	 * the window update goes */
	assert_int_equal(th_now(&h), TIDE_MS(203));
	size_t got = 0;
	assert_int_equal(drain(h.S, sfd, &got), 16000);
	s = mem(h.S);
	assert_false(s.pressure);
	assert_int_equal(s.buffer_bytes, 0);
	assert_int_equal(cnt(h.S, TIDE_MIB_TCPMemoryPressuresChrono), 39);
	th_expect_seg_at(&h, 37, TIDE_MS(203), h.s, AK, 301, 16101, 0);
	assert_int_equal(th_seg(&h, 37)->win, 510);
	th_run_for(&h, TIDE_SEC(2));
	assert_int_equal(drain(h.S, sfd, &got), 4000);
	assert_int_equal(got, sent);
	assert_int_equal(cnt(h.S, TIDE_MIB_TCPRcvQDrop), 1);
	assert_int_equal(cnt(h.S, TIDE_MIB_TCPMemoryPressures), 1);
	/* and it ends normally */
	tide_close(h.C, cfd);
	th_run_for(&h, TIDE_MS(10));
	tide_close(h.S, sfd);
	th_run_for(&h, TIDE_MS(10));
	assert_int_equal(tide_sock_state(h.C, cfd), -1);
	assert_int_equal(mem(h.S).objects[TIDE_MEM_CONN], 0);
	th_free(&h);
}

/* Out-of-order data that cannot be charged is dropped and, as Linux's
 * tcp_data_queue_ofo does, not ACKed. The server holds 4000 unread bytes
 * (4 KiB of queue, 1 page) when its tcp_mem becomes 1 1 1; the client's
 * 5th segment is lost, the 6th arrives out of order: dropped, no answer.
 * The retransmission (at the RTO, 245 ms) is in order but needs the queue
 * to grow: dropped, window 0. Once the limit is lifted and the application
 * reads, everything arrives intact. */
static void test_MEM_tcp_mem_ofo_drop_not_acked(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd;
	th_establish(&h, &cfd, &sfd, NULL);
	int one = 1;
	tide_setsockopt(h.C, cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	uint8_t b[1000];
	size_t sent = 0;
	for (int k = 0; k < 6; k++) {
		if (k == 4) {
			set(h.S, "net.ipv4.tcp_mem", "1 1 1");
			th_drop(&h, h.c, TIDE_TCP_PSH, TIDE_TCP_PSH, 1, 1);
		}
		fill(b, sent, sizeof(b));
		assert_int_equal(tide_send(h.C, cfd, b, sizeof(b), 0), 1000);
		sent += 1000;
		th_run_for(&h, TIDE_MS(10));
	}
	assert_int_equal(mem(h.S).bytes[TIDE_MEM_RCVBUF], 4096);
	th_expect_seg_at(&h, 10, TIDE_MS(34), h.s, AK, 301, 4101, 0);
	th_expect_seg_at(&h, 11, TIDE_MS(43), h.c, PA, 4101, 301, 1000); /* lost */
	th_expect_seg_at(&h, 12, TIDE_MS(53), h.c, PA, 5101, 301, 1000); /* dropped */
	assert_int_equal(cnt(h.S, TIDE_MIB_TCPOFODrop), 1);
	assert_int_equal(cnt(h.S, TIDE_MIB_TCPOFOQueue), 0);
	assert_int_equal(cnt(h.S, TIDE_MIB_DropTcpMemory), 1);
	assert_int_equal(mem(h.S).objects[TIDE_MEM_OFO], 0);
	th_run_until(&h, TIDE_MS(250));
	/* nothing answered the out-of-order segment: the next one is the
	 * client's retransmission */
	th_expect_seg_at(&h, 13, TIDE_MS(245), h.c, AK, 4101, 301, 1448);
	th_expect_seg_at(&h, 14, TIDE_MS(246), h.s, AK, 301, 4101, 0);
	assert_int_equal(th_seg(&h, 14)->win, 0);
	th_expect_nsegs(&h, 15);
	assert_int_equal(cnt(h.S, TIDE_MIB_TCPRcvQDrop), 1);
	assert_int_equal(cnt(h.S, TIDE_MIB_DropTcpMemory), 2);

	set(h.S, "net.ipv4.tcp_mem", "287901 383868 575802");
	size_t got = 0;
	assert_int_equal(drain(h.S, sfd, &got), 4000);
	th_run_for(&h, TIDE_SEC(2));
	assert_int_equal(drain(h.S, sfd, &got), 2000);
	assert_int_equal(got, sent);
	th_free(&h);
}

/* In-order data comes before out-of-order data: short of memory for the
 * segment that fills the hole, Linux prunes the out-of-order queue from
 * its highest sequence numbers down until the charge fits (OfoPruned, once
 * per pruning). The server holds 2000 bytes in order and six 1000-byte
 * segments after a hole (its dup ACKs are lost, so the client waits for
 * its RTO); its tcp_mem becomes 2 2 2 (8 KiB). The retransmission of the
 * hole needs 2 KiB more of queue: the two newest segments go, the rest is
 * taken, and the ACK says 7101. */
static void test_MEM_tcp_mem_prunes_ofo_for_in_order(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd;
	th_establish(&h, &cfd, &sfd, NULL);
	int one = 1;
	tide_setsockopt(h.C, cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	uint8_t b[1000];
	size_t sent = 0;
	for (int k = 0; k < 9; k++) {
		if (k == 2) {
			th_drop(&h, h.c, TIDE_TCP_PSH, TIDE_TCP_PSH, 1, 1);
			th_drop(&h, h.s, 0xff, AK, 1, 6);
		}
		fill(b, sent, sizeof(b));
		assert_int_equal(tide_send(h.C, cfd, b, sizeof(b), 0), 1000);
		sent += 1000;
		th_run_for(&h, TIDE_MS(10));
	}
	struct tide_mem_stats s = mem(h.S);
	assert_int_equal(s.objects[TIDE_MEM_OFO], 6);
	assert_int_equal(s.bytes[TIDE_MEM_OFO], 6 * (sizeof(struct tcp_ofo) + 1000));
	assert_int_equal(s.bytes[TIDE_MEM_RCVBUF], 2048);
	set(h.S, "net.ipv4.tcp_mem", "2 2 2");
	th_run_until(&h, TIDE_MS(226));
	th_expect_seg_at(&h, 19, TIDE_MS(84), h.s, AK, 301, 2101, 0); /* lost dup ACK */
	th_expect_seg_at(&h, 20, TIDE_MS(225), h.c, AK, 2101, 301, 1448);
	th_expect_seg_at(&h, 21, TIDE_MS(226), h.s, AK, 301, 7101, 0);
	assert_int_equal(th_seg(&h, 21)->win, 510);
	assert_int_equal(cnt(h.S, TIDE_MIB_OfoPruned), 1);
	assert_int_equal(cnt(h.S, TIDE_MIB_TCPRcvQDrop), 0);
	assert_int_equal(cnt(h.S, TIDE_MIB_TCPOFODrop), 0);
	s = mem(h.S);
	assert_int_equal(s.objects[TIDE_MEM_OFO], 0);
	assert_int_equal(s.bytes[TIDE_MEM_RCVBUF], 8192);

	set(h.S, "net.ipv4.tcp_mem", "287901 383868 575802");
	th_run_for(&h, TIDE_SEC(2));
	size_t got = 0;
	assert_int_equal(drain(h.S, sfd, &got), 9000);
	th_free(&h);
}

/* send() beyond tcp_mem[2] (the client's is 1 1 2 pages) still gets
 * tcp_wmem[0] (4096 B) of queue, Linux's tcp_wmem_schedule; the send
 * buffer is cut to 4608 B (sk_stream_moderate_sndbuf), so poll no longer
 * reports POLLOUT and the next send() fails with EAGAIN. Once the data is
 * ACKed the queue's memory goes back, pressure ends, the socket is
 * writable; with the limit lifted the send buffer is 16384 B again. */
static void test_MEM_tcp_mem_limits_send(void **state)
{
	(void)state;
	struct th_opts o = { .client_settings = "net.ipv4.tcp_mem = 1 1 2\n" };
	struct th h;
	th_init(&h, &o);
	int cfd, sfd;
	th_establish(&h, &cfd, &sfd, NULL);
	static uint8_t b[40000];
	fill(b, 0, sizeof(b));
	size_t sent = 0;
	assert_int_equal(tide_send(h.C, cfd, b, sizeof(b), 0), 4096);
	sent += 4096;
	assert_int_equal(mem(h.C).bytes[TIDE_MEM_SNDBUF], 4096);
	assert_true(mem(h.C).pressure);
	assert_int_equal(cnt(h.C, TIDE_MIB_TCPMemoryPressures), 1);
	int sb = 0;
	socklen_t sl = sizeof(sb);
	assert_int_equal(tide_getsockopt(h.C, cfd, SOL_SOCKET, SO_SNDBUF, &sb, &sl), 0);
	assert_int_equal(sb, 4608);
	struct pollfd p = { .fd = cfd, .events = POLLOUT };
	assert_int_equal(tide_poll(h.C, &p, 1), 0);
	errno = 0;
	assert_int_equal(tide_send(h.C, cfd, b + sent, sizeof(b) - sent, 0), -1);
	assert_int_equal(errno, EAGAIN);
	th_expect_seg_at(&h, 3, TIDE_MS(3), h.c, AK, 101, 301, 1448);
	th_expect_seg_at(&h, 5, TIDE_MS(3), h.c, PA, 2997, 301, 1200);
	th_expect_nsegs(&h, 6);

	/* the ACKs come back at 5 ms: memory back, pressure over */
	th_run_for(&h, TIDE_MS(5));
	assert_int_equal(tide_poll(h.C, &p, 1), 1);
	assert_false(mem(h.C).pressure);
	assert_int_equal(mem(h.C).buffer_bytes, 0);
	assert_int_equal(cnt(h.C, TIDE_MIB_TCPMemoryPressuresChrono), 2);

	set(h.C, "net.ipv4.tcp_mem", "287901 383868 575802");
	assert_int_equal(tide_send(h.C, cfd, b + sent, sizeof(b) - sent, 0), 16384);
	sent += 16384;
	assert_int_equal(tide_getsockopt(h.C, cfd, SOL_SOCKET, SO_SNDBUF, &sb, &sl), 0);
	assert_int_equal(sb, 16384);
	size_t got = 0;
	for (int i = 0; i < 100 && got < sizeof(b); i++) {
		ssize_t n = tide_send(h.C, cfd, b + sent, sizeof(b) - sent, 0);
		if (n > 0)
			sent += (size_t)n;
		th_run_for(&h, TIDE_MS(10));
		drain(h.S, sfd, &got);
	}
	assert_int_equal(got, sizeof(b));
	assert_int_equal(cnt(h.C, TIDE_MIB_TCPMemoryPressures), 1);
	th_free(&h);
}

/* The window a reading application opens, with the server's receive
 * buffer 64 KiB (SO_RCVBUF 32768) full and 20000 bytes read: 19328 B
 * (151 << 7) normally; under memory pressure, with less than half the
 * buffer free, at most 4 * advmss = 5840 B (46 << 7, aligned up), Linux's
 * tcp_adjust_rcv_ssthresh. Returns that window, as on the wire. */
static uint16_t window_after_read(const char *server_settings, uint64_t *pressures)
{
	struct th_opts o = { .server_settings = server_settings };
	struct th h;
	th_init(&h, &o);
	int lfd = th_listen(&h, h.s, 80, 128);
	int rb = 32768;
	assert_int_equal(tide_setsockopt(h.S, lfd, SOL_SOCKET, SO_RCVBUF, &rb, sizeof(rb)), 0);
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_for(&h, TIDE_MS(3));
	int sfd = th_accept(&h, h.s, lfd);
	socklen_t sl = sizeof(rb);
	assert_int_equal(tide_getsockopt(h.S, sfd, SOL_SOCKET, SO_RCVBUF, &rb, &sl), 0);
	assert_int_equal(rb, 65536);
	static uint8_t b[100000];
	fill(b, 0, sizeof(b));
	size_t sent = 0;
	while (th_now(&h) < TIDE_MS(600)) {
		ssize_t n = tide_send(h.C, cfd, b + sent, sizeof(b) - sent, 0);
		if (n > 0)
			sent += (size_t)n;
		th_run_for(&h, TIDE_MS(10));
	}
	/* the window is shut: 66232 bytes wait */
	size_t n0 = h.nsegs;
	const struct th_seg *last = th_seg(&h, n0 - 1);
	assert_int_equal(last->from, h.s);
	assert_int_equal(last->win, 0);
	assert_int_equal(last->ack, 66333);
	uint8_t r[20000];
	assert_int_equal(tide_recv(h.S, sfd, r, sizeof(r), 0), 20000);
	th_expect_seg_at(&h, n0, TIDE_MS(603), h.s, AK, 301, 66333, 0);
	uint16_t win = th_seg(&h, n0)->win;
	*pressures = cnt(h.S, TIDE_MIB_TCPMemoryPressures);
	th_free(&h);
	return win;
}

static void test_MEM_pressure_stops_window_growth(void **state)
{
	(void)state;
	uint64_t pressures;
	assert_int_equal(window_after_read(NULL, &pressures), 151);
	assert_int_equal(pressures, 0);
	/* pressure from the second page on, no hard limit in reach */
	assert_int_equal(window_after_read("net.ipv4.tcp_mem = 1 1 100000\n", &pressures), 46);
	assert_int_equal(pressures, 1);
}

/* LC-K13 under tcp_mem: an orphan holding more than 4608 bytes while
 * buffer memory is beyond tcp_mem[2] is reset (TCPAbortOnMemory), at
 * close() right after its FIN (Linux's __tcp_close), or, if memory ran
 * short later, at its next retransmission timeout (tcp_out_of_resources).
 * The client's 10000 bytes never reach the server (its packets are lost),
 * so they stay queued, in a 16 KiB buffer (4 pages; tcp_mem becomes 1 1 2). */
static int orphan_with_data(struct th *h)
{
	th_init(h, NULL);
	int cfd, sfd;
	th_establish(h, &cfd, &sfd, NULL);
	th_drop(h, h->c, 0, 0, 1, 1000);
	static uint8_t b[10000];
	fill(b, 0, sizeof(b));
	assert_int_equal(tide_send(h->C, cfd, b, sizeof(b), 0), 10000);
	assert_int_equal(mem(h->C).bytes[TIDE_MEM_SNDBUF], 16384);
	th_run_until(h, TIDE_MS(13));
	return cfd;
}

static void test_LC_K13_orphan_reset_under_tcp_mem(void **state)
{
	(void)state;
	struct th h;
	/* at close() */
	int fd = orphan_with_data(&h);
	set(h.C, "net.ipv4.tcp_mem", "1 1 2");
	tide_close(h.C, fd);
	th_expect_seg_at(&h, 10, TIDE_MS(13), h.c, FA, 10101, 301, 0);
	th_expect_seg_at(&h, 11, TIDE_MS(13), h.c, RA, 10102, 301, 0);
	th_expect_nsegs(&h, 12);
	assert_int_equal(cnt(h.C, TIDE_MIB_TCPAbortOnMemory), 1);
	assert_int_equal(mem(h.C).objects[TIDE_MEM_CONN], 0);
	assert_int_equal(mem(h.C).buffer_bytes, 0);
	th_free(&h);

	/* at the retransmission timeout (the data went at 3 ms, RTO 202 ms) */
	fd = orphan_with_data(&h);
	tide_close(h.C, fd);
	th_run_for(&h, TIDE_MS(10));
	th_expect_seg_at(&h, 10, TIDE_MS(13), h.c, FA, 10101, 301, 0);
	th_expect_nsegs(&h, 11);
	assert_int_equal(cnt(h.C, TIDE_MIB_TCPAbortOnMemory), 0);
	set(h.C, "net.ipv4.tcp_mem", "1 1 2");
	th_run_until(&h, TIDE_MS(300));
	th_expect_seg_at(&h, 11, TIDE_MS(205), h.c, RA, 10102, 301, 0);
	th_expect_nsegs(&h, 12);
	assert_int_equal(cnt(h.C, TIDE_MIB_TCPAbortOnMemory), 1);
	assert_int_equal(mem(h.C).objects[TIDE_MEM_CONN], 0);
	th_free(&h);

	/* with 4608 bytes or less queued the orphan carries on */
	th_init(&h, NULL);
	int cfd, sfd;
	th_establish(&h, &cfd, &sfd, NULL);
	th_drop(&h, h.c, 0, 0, 1, 1000);
	static uint8_t b[4608];
	assert_int_equal(tide_send(h.C, cfd, b, sizeof(b), 0), 4608);
	set(h.C, "net.ipv4.tcp_mem", "1 1 1");
	assert_true(mem(h.C).pages > 1);
	tide_close(h.C, cfd);
	th_run_for(&h, TIDE_MS(300));
	assert_int_equal(cnt(h.C, TIDE_MIB_TCPAbortOnMemory), 0);
	assert_int_equal(mem(h.C).objects[TIDE_MEM_CONN], 1);
	th_free(&h);
}

/* An empty receive queue takes the segment even beyond tcp_mem[2] (Linux's
 * sk_forced_mem_schedule), but the ACK still goes at once with window 0.
 * The server's own sends left it a 4 KiB send buffer (kept while there is
 * no pressure); its tcp_mem then becomes 1 1 1: the client's 1000 bytes
 * are taken, not dropped. */
static void test_MEM_tcp_mem_empty_queue_takes_segment(void **state)
{
	(void)state;
	struct th h;
	th_init(&h, NULL);
	int cfd, sfd;
	th_establish(&h, &cfd, &sfd, NULL);
	uint8_t b[3000];
	fill(b, 0, sizeof(b));
	assert_int_equal(tide_send(h.S, sfd, b, sizeof(b), 0), 3000);
	th_run_for(&h, TIDE_MS(50));
	size_t got = 0;
	assert_int_equal(drain(h.C, cfd, &got), 3000);
	assert_int_equal(mem(h.S).bytes[TIDE_MEM_SNDBUF], 4096);
	set(h.S, "net.ipv4.tcp_mem", "1 1 1");
	size_t n0 = h.nsegs;
	assert_int_equal(tide_send(h.C, cfd, b, 1000, 0), 1000);
	th_run_for(&h, TIDE_MS(2));
	th_expect_seg_at(&h, n0, TIDE_MS(53), h.c, PA, 101, 3301, 1000);
	th_expect_seg_at(&h, n0 + 1, TIDE_MS(54), h.s, AK, 3301, 1101, 0);
	assert_int_equal(th_seg(&h, n0 + 1)->win, 0);
	assert_int_equal(cnt(h.S, TIDE_MIB_TCPRcvQDrop), 0);
	assert_int_equal(cnt(h.S, TIDE_MIB_DropTcpMemory), 0);
	assert_int_equal(mem(h.S).bytes[TIDE_MEM_RCVBUF], 2048);
	assert_int_equal(mem(h.S).pages, 2); /* beyond tcp_mem[2] */
	got = 0;
	assert_int_equal(drain(h.S, sfd, &got), 1000);
	th_free(&h);
}

/* Between tcp_mem[0] and tcp_mem[2], under pressure, a connection whose
 * receive memory is below tcp_rmem[0] may still grow (Linux's minimum
 * guarantee) although it is above its fair share; not beyond tcp_mem[2].
 * Server tcp_mem 1 1 2 pages, two connections, A holding 2 KiB: B's
 * queue grows from 2 to 4 KiB (total 2 pages: pressure, fair share
 * 2 / 2 connections = 1 page, B below tcp_rmem[0] = 4096), then may not
 * grow to 8 KiB (3 pages). */
static void test_MEM_tcp_mem_rmem0_guarantee(void **state)
{
	(void)state;
	struct th_opts o = { .server_settings = "net.ipv4.tcp_mem = 1 1 2\n" };
	struct th h;
	th_init(&h, &o);
	int a, sa, lfd;
	th_establish(&h, &a, &sa, &lfd);
	int bfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40001);
	th_run_for(&h, TIDE_MS(3));
	int sb = th_accept(&h, h.s, lfd);
	int one = 1;
	tide_setsockopt(h.C, bfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	uint8_t b[3000];
	fill(b, 0, sizeof(b));
	assert_int_equal(tide_send(h.C, a, b, 1000, 0), 1000);
	assert_int_equal(tide_send(h.C, bfd, b, 1000, 0), 1000);
	th_run_for(&h, TIDE_MS(10));
	assert_int_equal(mem(h.S).bytes[TIDE_MEM_RCVBUF], 4096);
	assert_false(mem(h.S).pressure);
	/* B's 1100 more bytes: its queue grows to 4 KiB */
	size_t n0 = h.nsegs;
	assert_int_equal(tide_send(h.C, bfd, b + 1000, 1100, 0), 1100);
	th_run_for(&h, TIDE_MS(10));
	th_expect_seg(&h, n0, h.c, PA, 1101, 301, 1100);
	th_expect_seg(&h, n0 + 1, h.s, AK, 301, 2201, 0);
	assert_int_not_equal(th_seg(&h, n0 + 1)->win, 0);
	struct tide_mem_stats s = mem(h.S);
	assert_true(s.pressure);
	assert_int_equal(s.bytes[TIDE_MEM_RCVBUF], 2048 + 4096);
	assert_int_equal(s.pages, 2);
	assert_int_equal(cnt(h.S, TIDE_MIB_TCPMemoryPressures), 1);
	/* 900 more fit in B's 4 KiB; 1100 after them would need 8 KiB */
	n0 = h.nsegs;
	assert_int_equal(tide_send(h.C, bfd, b + 2100, 900, 0), 900);
	th_run_for(&h, TIDE_MS(10));
	assert_int_equal(tide_send(h.C, bfd, b, 1100, 0), 1100);
	th_run_for(&h, TIDE_MS(10));
	th_expect_seg(&h, n0, h.c, PA, 2201, 301, 900);
	th_expect_seg(&h, n0 + 1, h.s, AK, 301, 3101, 0);
	th_expect_seg(&h, n0 + 2, h.c, PA, 3101, 301, 1100);
	th_expect_seg(&h, n0 + 3, h.s, AK, 301, 3101, 0);
	assert_int_equal(th_seg(&h, n0 + 3)->win, 0);
	assert_int_equal(cnt(h.S, TIDE_MIB_TCPRcvQDrop), 1);
	size_t got = 0;
	assert_int_equal(drain(h.S, sb, &got), 3000);
	th_free(&h);
}

/* ---- fs.file-max -------------------------------------------------------- */

/* LC-K11 for descriptors: at fs.file-max socket(), epoll_create() and
 * accept() fail with ENFILE; the connection accept() could not take stays
 * in the accept queue and is handed over, intact, once a descriptor is
 * free. */
static void test_MEM_file_max_ENFILE(void **state)
{
	(void)state;
	struct th_opts o = { .server_settings = "fs.file-max = 3\n" };
	struct th h;
	th_init(&h, &o);
	int lfd = th_listen(&h, h.s, 80, 128);
	int extra = tide_socket(h.S, AF_INET, SOCK_STREAM, 0);
	int ep = tide_epoll_create(h.S);
	assert_true(extra >= 0 && ep >= 0);
	assert_int_equal(mem(h.S).descriptors, 3);
	errno = 0;
	assert_int_equal(tide_socket(h.S, AF_INET, SOCK_STREAM, 0), -1);
	assert_int_equal(errno, ENFILE);
	errno = 0;
	assert_int_equal(tide_epoll_create(h.S), -1);
	assert_int_equal(errno, ENFILE);
	/* nothing queued yet: ENFILE all the same, not EAGAIN */
	errno = 0;
	assert_int_equal(tide_accept(h.S, lfd, NULL, NULL, 0), -1);
	assert_int_equal(errno, ENFILE);

	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_for(&h, TIDE_MS(10));
	assert_int_equal(tide_sock_state(h.C, cfd), TIDE_TCP_ESTABLISHED);
	uint8_t b[500];
	fill(b, 0, sizeof(b));
	assert_int_equal(tide_send(h.C, cfd, b, sizeof(b), 0), 500);
	th_run_for(&h, TIDE_MS(10));
	errno = 0;
	assert_int_equal(tide_accept(h.S, lfd, NULL, NULL, 0), -1);
	assert_int_equal(errno, ENFILE);
	struct tcp_info ti;
	socklen_t tl = sizeof(ti);
	assert_int_equal(tide_getsockopt(h.S, lfd, IPPROTO_TCP, TCP_INFO, &ti, &tl), 0);
	assert_int_equal(ti.tcpi_unacked, 1); /* still in the accept queue */
	assert_int_equal(mem(h.S).objects[TIDE_MEM_SOCK], 2);

	/* a descriptor comes free: the queued connection is accepted */
	assert_int_equal(tide_close(h.S, ep), 0);
	int sfd = tide_accept(h.S, lfd, NULL, NULL, 0);
	assert_true(sfd >= 0);
	size_t got = 0;
	assert_int_equal(drain(h.S, sfd, &got), 500);
	assert_int_equal(tide_socket(h.S, AF_INET, SOCK_STREAM, 0), -1);
	assert_int_equal(errno, ENFILE);
	/* and closes normally */
	tide_close(h.C, cfd);
	th_run_for(&h, TIDE_MS(10));
	tide_close(h.S, sfd);
	th_run_for(&h, TIDE_MS(10));
	assert_int_equal(tide_sock_state(h.C, cfd), -1);
	th_free(&h);
}

/* ---- allocation failures ------------------------------------------------ */

/* Every call that needs memory fails as Linux's does when the allocator
 * refuses, and works again once it does not: socket() ENOBUFS (sk_alloc),
 * connect() ENOBUFS with nothing sent, send() EAGAIN with memory pressure
 * entered and the send buffer cut (tcp_stream_alloc_skb),
 * epoll_create()/epoll_ctl() ENOMEM, accept() ENOBUFS with the connection
 * left queued. */
static void test_MEM_alloc_failure_calls(void **state)
{
	(void)state;
	struct th_opts o = { .tune = tune_fail_alloc };
	struct th h;
	th_init(&h, &o);
	int lfd = th_listen(&h, h.s, 80, 128);
	g_fa[0].fail_all = true;
	errno = 0;
	assert_int_equal(tide_socket(h.C, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), -1);
	assert_int_equal(errno, ENOBUFS);
	assert_int_equal(tide_epoll_create(h.C), -1);
	assert_int_equal(errno, ENOMEM);
	g_fa[0].fail_all = false;
	int cfd = tide_socket(h.C, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int ep = tide_epoll_create(h.C);
	assert_true(cfd >= 0 && ep >= 0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = cfd };
	g_fa[0].fail_all = true;
	assert_int_equal(tide_epoll_ctl(h.C, ep, EPOLL_CTL_ADD, cfd, &ev), -1);
	assert_int_equal(errno, ENOMEM);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(80),
				  .sin_addr.s_addr = htonl(TH_SERVER_ADDR) };
	errno = 0;
	assert_int_equal(tide_connect(h.C, cfd, (struct sockaddr *)&sa, sizeof(sa)), -1);
	assert_int_equal(errno, ENOBUFS);
	th_run_for(&h, TIDE_MS(10));
	th_expect_nsegs(&h, 0);
	g_fa[0].fail_all = false;
	assert_int_equal(tide_epoll_ctl(h.C, ep, EPOLL_CTL_ADD, cfd, &ev), 0);
	assert_int_equal(tide_connect(h.C, cfd, (struct sockaddr *)&sa, sizeof(sa)), -1);
	assert_int_equal(errno, EINPROGRESS);
	th_run_for(&h, TIDE_MS(10));
	assert_int_equal(tide_sock_state(h.C, cfd), TIDE_TCP_ESTABLISHED);

	/* accept(): the new socket cannot be had, the connection waits */
	g_fa[1].fail_all = true;
	errno = 0;
	assert_int_equal(tide_accept(h.S, lfd, NULL, NULL, 0), -1);
	assert_int_equal(errno, ENOBUFS);
	g_fa[1].fail_all = false;
	int sfd = tide_accept(h.S, lfd, NULL, NULL, 0);
	assert_true(sfd >= 0);

	/* send(): nothing queued, EAGAIN; pressure; the buffer cut */
	static uint8_t b[20000];
	fill(b, 0, sizeof(b));
	g_fa[0].fail_all = true;
	errno = 0;
	assert_int_equal(tide_send(h.C, cfd, b, sizeof(b), 0), -1);
	assert_int_equal(errno, EAGAIN);
	assert_true(mem(h.C).pressure);
	assert_int_equal(cnt(h.C, TIDE_MIB_TCPMemoryPressures), 1);
	int sb = 0;
	socklen_t sl = sizeof(sb);
	tide_getsockopt(h.C, cfd, SOL_SOCKET, SO_SNDBUF, &sb, &sl);
	assert_int_equal(sb, 4608);
	assert_true(mem(h.C).failures >= 1);
	g_fa[0].fail_all = false;
	size_t sent = 0, got = 0;
	for (int i = 0; i < 50 && got < sizeof(b); i++) {
		ssize_t n = tide_send(h.C, cfd, b + sent, sizeof(b) - sent, 0);
		if (n > 0)
			sent += (size_t)n;
		th_run_for(&h, TIDE_MS(10));
		drain(h.S, sfd, &got);
	}
	assert_int_equal(got, sizeof(b));
	assert_false(mem(h.C).pressure);
	tide_getsockopt(h.C, cfd, SOL_SOCKET, SO_SNDBUF, &sb, &sl);
	assert_int_equal(sb, 16384);
	th_free(&h);
	assert_int_equal(g_fa[0].live, 0);
	assert_int_equal(g_fa[1].live, 0);
}

/* Failures on the inbound path drop the packet, counted: a SYN the server
 * cannot make a request for (ListenDrops; the client's SYN retransmission
 * at 1 s gets through), and data a receive queue cannot be allocated for,
 * even into an empty queue (TCPRcvQDrop, DropTcpMemory, window 0 at once;
 * the retransmission gets through). A connection that cannot get its
 * TIME_WAIT record just closes (TCPTimeWaitOverflow, as Linux counts it). */
static void test_MEM_alloc_failure_packets(void **state)
{
	(void)state;
	struct th_opts o = { .tune = tune_fail_alloc };
	struct th h;
	th_init(&h, &o);
	int lfd = th_listen(&h, h.s, 80, 128);
	g_fa[1].fail_all = true;
	int cfd = th_connect(&h, h.c, TH_SERVER_ADDR, 80, 40000);
	th_run_for(&h, TIDE_MS(10));
	th_expect_seg_at(&h, 0, 0, h.c, TIDE_TCP_SYN, 100, 0, 0);
	th_expect_nsegs(&h, 1);
	assert_int_equal(cnt(h.S, TIDE_MIB_ListenDrops), 1);
	assert_int_equal(mem(h.S).objects[TIDE_MEM_REQ], 0);
	g_fa[1].fail_all = false;
	th_run_until(&h, TIDE_MS(1010));
	th_expect_seg_at(&h, 1, TIDE_MS(1000), h.c, TIDE_TCP_SYN, 100, 0, 0);
	th_expect_seg_at(&h, 2, TIDE_MS(1001), h.s, TIDE_TCP_SYN | AK, 300, 101, 0);
	assert_int_equal(tide_sock_state(h.C, cfd), TIDE_TCP_ESTABLISHED);
	int sfd = th_accept(&h, h.s, lfd);

	/* (500 bytes: after its SYN timed out the client's congestion window
	 * is 536 bytes) */
	uint8_t b[500];
	fill(b, 0, sizeof(b));
	g_fa[1].fail_all = true;
	assert_int_equal(tide_send(h.C, cfd, b, sizeof(b), 0), 500);
	th_run_for(&h, TIDE_MS(2));
	th_expect_seg_at(&h, 4, TIDE_MS(1010), h.c, PA, 101, 301, 500);
	th_expect_seg_at(&h, 5, TIDE_MS(1011), h.s, AK, 301, 101, 0);
	assert_int_equal(th_seg(&h, 5)->win, 0);
	assert_int_equal(cnt(h.S, TIDE_MIB_TCPRcvQDrop), 1);
	assert_int_equal(cnt(h.S, TIDE_MIB_DropTcpMemory), 1);
	g_fa[1].fail_all = false;
	th_run_for(&h, TIDE_SEC(4));
	size_t got = 0;
	assert_int_equal(drain(h.S, sfd, &got), 500);

	/* the client shuts down first; when the server's FIN comes there is
	 * no memory for its TIME_WAIT record: the ACK goes, the connection
	 * closes at once */
	assert_int_equal(tide_shutdown(h.C, cfd, SHUT_WR), 0);
	th_run_for(&h, TIDE_MS(100));
	assert_int_equal(tide_sock_state(h.C, cfd), TIDE_TCP_FIN_WAIT2);
	g_fa[0].fail_all = true;
	tide_close(h.S, sfd);
	th_run_for(&h, TIDE_MS(10));
	g_fa[0].fail_all = false;
	assert_int_equal(tide_sock_state(h.C, cfd), TIDE_TCP_CLOSE);
	assert_int_equal(cnt(h.C, TIDE_MIB_TCPTimeWaitOverflow), 1);
	assert_int_equal(cnt(h.C, TIDE_MIB_TW), 0);
	assert_int_equal(mem(h.C).objects[TIDE_MEM_TW], 0);
	assert_int_equal(tide_sock_state(h.S, sfd), -1); /* its LAST_ACK was ACKed */
	tide_close(h.C, cfd);
	expect_no_conn_memory(h.C);
	tide_close(h.S, lfd);
	th_run_for(&h, TIDE_SEC(1));
	expect_no_conn_memory(h.S);
	th_free(&h);
	assert_int_equal(g_fa[0].live, 0);
	assert_int_equal(g_fa[1].live, 0);
}

/* A whole lifecycle (handshake, 30000 bytes each way with a lost segment,
 * epoll, the close, TIME_WAIT) run again and again, each time with one
 * allocation of one stack refused: the n-th, for every n the run makes.
 * Whatever fails, the stacks never crash and never leak: once both are
 * freed their allocators hold nothing (and ASan agrees). */
static void lifecycle(struct th *h, bool check)
{
	int lfd = tide_socket(h->S, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(80),
				  .sin_addr.s_addr = htonl(TH_SERVER_ADDR) };
	tide_bind(h->S, lfd, (struct sockaddr *)&sa, sizeof(sa));
	tide_listen(h->S, lfd, 16);
	int ep = tide_epoll_create(h->S);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = lfd };
	tide_epoll_ctl(h->S, ep, EPOLL_CTL_ADD, lfd, &ev);
	int cfd = tide_socket(h->C, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	tide_connect(h->C, cfd, (struct sockaddr *)&sa, sizeof(sa));
	th_drop(h, h->c, TIDE_TCP_PSH, TIDE_TCP_PSH, 2, 1);
	static uint8_t b[30000];
	fill(b, 0, sizeof(b));
	size_t csent = 0, ssent = 0, cgot = 0, sgot = 0;
	int sfd = -1;
	for (int i = 0; i < 300; i++) {
		th_run_for(h, TIDE_MS(10));
		struct epoll_event out[4];
		if (sfd < 0 && tide_epoll_wait(h->S, ep, out, 4) > 0) {
			sfd = tide_accept(h->S, lfd, NULL, NULL, SOCK_NONBLOCK);
			if (sfd >= 0) {
				ev.data.fd = sfd;
				tide_epoll_ctl(h->S, ep, EPOLL_CTL_ADD, sfd, &ev);
			}
		}
		ssize_t n = tide_send(h->C, cfd, b + csent, sizeof(b) - csent, 0);
		if (n > 0)
			csent += (size_t)n;
		if (sfd >= 0) {
			n = tide_send(h->S, sfd, b + ssent, sizeof(b) - ssent, 0);
			if (n > 0)
				ssent += (size_t)n;
			drain(h->S, sfd, &sgot);
		}
		drain(h->C, cfd, &cgot);
		if (sgot == sizeof(b) && cgot == sizeof(b))
			break;
	}
	if (check) {
		assert_int_equal(sgot, sizeof(b));
		assert_int_equal(cgot, sizeof(b));
	}
	tide_close(h->C, cfd);
	th_run_for(h, TIDE_MS(10));
	if (sfd >= 0)
		tide_close(h->S, sfd);
	tide_close(h->S, lfd);
	tide_close(h->S, ep);
	th_run_for(h, TIDE_SEC(70));
	if (check) {
		expect_no_conn_memory(h->C);
		expect_no_conn_memory(h->S);
	}
}

static void test_MEM_alloc_failure_every_call(void **state)
{
	(void)state;
	struct th_opts o = { .tune = tune_fail_alloc };
	struct th h;
	/* a clean run counts the calls each stack makes */
	th_init(&h, &o);
	uint64_t base[2] = { g_fa[0].calls, g_fa[1].calls };
	lifecycle(&h, true);
	uint64_t calls[2] = { g_fa[0].calls - base[0], g_fa[1].calls - base[1] };
	th_free(&h);
	assert_int_equal(g_fa[0].live, 0);
	assert_int_equal(g_fa[1].live, 0);
	assert_true(calls[0] > 5 && calls[1] > 5);
	for (int node = 0; node < 2; node++) {
		for (uint64_t n = 1; n <= calls[node]; n++) {
			th_init(&h, &o);
			g_fa[node].fail_at = g_fa[node].calls + n;
			lifecycle(&h, false);
			assert_int_equal(g_fa[node].failed, 1);
			th_free(&h);
			if (g_fa[0].live || g_fa[1].live)
				fail_msg("call %llu of the %s leaked %lld + %lld bytes", (unsigned long long)n,
					 node ? "server" : "client", (long long)g_fa[0].live, (long long)g_fa[1].live);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_MEM_accounting_returns_to_zero),
		cmocka_unit_test(test_MEM_rings_grow_with_use),
		cmocka_unit_test(test_MEM_file_max_ENFILE),
		cmocka_unit_test(test_MEM_tcp_mem_drops_in_order_data),
		cmocka_unit_test(test_MEM_tcp_mem_ofo_drop_not_acked),
		cmocka_unit_test(test_MEM_tcp_mem_empty_queue_takes_segment),
		cmocka_unit_test(test_MEM_tcp_mem_rmem0_guarantee),
		cmocka_unit_test(test_MEM_tcp_mem_prunes_ofo_for_in_order),
		cmocka_unit_test(test_MEM_tcp_mem_limits_send),
		cmocka_unit_test(test_MEM_pressure_stops_window_growth),
		cmocka_unit_test(test_LC_K13_orphan_reset_under_tcp_mem),
		cmocka_unit_test(test_MEM_alloc_failure_calls),
		cmocka_unit_test(test_MEM_alloc_failure_packets),
		cmocka_unit_test(test_MEM_alloc_failure_every_call),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
