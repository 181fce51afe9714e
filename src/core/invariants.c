/*
 * The invariant checker: what must hold of a stack between any two calls
 * into it, read off the code that keeps it (src/tcp, src/core, src/sock).
 *
 * tide_stack_check (public, every build) checks everything:
 *  - each connection: sequence space (ISS <= SND.UNA <= SND.NXT <= SND.MAX,
 *    the bytes sent lie in the send queue, the FIN's place), receive space
 *    (RCV.WUP <= RCV.NXT, RCV.WUP <= RCV.ADV, the announced window within
 *    its scale), window scales, the out-of-order queue (sorted, beyond
 *    RCV.NXT, ofo_bytes its sum), the flags each state implies, its timer
 *    (the heap entry is the earliest of its timers and sits where its index
 *    says), its owner (socket, accept queue or orphan count);
 *  - half-open requests and TIME_WAIT records;
 *  - the tables: the ehash (every entry in its bucket, no two with one
 *    4-tuple, its count), the timer heap (order, indexes, one entry per
 *    armed object and none for anything else), the TIME_WAIT FIFO and heap,
 *    the port table's counts against the objects, the descriptor table,
 *    listeners (accept queues, SYN queue counts), epoll items and ready
 *    lists, and the stack's counts (orphans, TIME_WAIT, CurrEstab).
 *
 * Debug builds (TIDE_INVARIANTS) also check automatically, through the
 * scopes of invariants.h: when a call returns, the object it touched (the
 * packet's 4-tuple, the descriptor's socket and connection, the earliest
 * timer) and the stack's constant-time facts; and the whole stack once
 * the number of calls since the last full check reaches the number of
 * objects that check visited (at least 64). A full check costs about one step per object,
 * so the automatic checks add a bounded cost per call however many
 * connections the stack holds. A broken invariant aborts with its message.
 */
#include "invariants.h"
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

struct chk {
	/* Lookups go through the core's own functions (tide_htab_find,
	 * tide_port_get without create), which change nothing. */
	struct tide_stack *st;
	char *msg;
	size_t cap;
	/* What is being checked, formatted only into a message: a 4-tuple
	 * and a state, or a number (descriptor, port). */
	const char *what;
	const struct tide_conn_id *id;
	const char *state;
	long num;
	uint64_t work;             /* objects visited */
};

#define IP4(a) (a) >> 24, ((a) >> 16) & 0xff, ((a) >> 8) & 0xff, (a) & 0xff

static int format_subject(const struct chk *k, char *out, size_t cap)
{
	if (k->id)
		return snprintf(out, cap, "%s %u.%u.%u.%u:%u>%u.%u.%u.%u:%u%s%s", k->what, IP4(k->id->laddr),
				k->id->lport, IP4(k->id->raddr), k->id->rport, k->state ? " " : "",
				k->state ? k->state : "");
	if (k->num < 0)
		return snprintf(out, cap, "%s %u.%u.%u.%u", k->what, IP4(k->st->cfg.addr));
	return snprintf(out, cap, "%s %ld", k->what, k->num);
}

static int fail(struct chk *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct chk *k, const char *fmt, ...)
{
	if (k->msg && k->cap) {
		int n = format_subject(k, k->msg, k->cap);
		if (n >= 0 && (size_t)n + 2 < k->cap) {
			memcpy(k->msg + n, ": ", 3);
			n += 2;
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(k->msg + n, k->cap - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return -1;
}

#define REQUIRE(cond, ...)                          \
	do {                                        \
		if (!(cond))                        \
			return fail(k, __VA_ARGS__); \
	} while (0)
#define TRY(expr)                  \
	do {                       \
		if ((expr) < 0)    \
			return -1; \
	} while (0)

static void subject_tuple(struct chk *k, const char *what, const struct tide_conn_id *id,
			  const char *state)
{
	k->what = what;
	k->id = id;
	k->state = state;
}

static void subject_num(struct chk *k, const char *what, long num)
{
	k->what = what;
	k->id = NULL;
	k->num = num;
}

static void subject_stack(struct chk *k)
{
	subject_num(k, "stack", -1);
}

static bool ring_ok(const struct tide_ring *r)
{
	if (r->len > r->cap)
		return false;
	if (!r->cap)
		return r->len == 0 && r->head == 0;
	return r->buf && r->head < r->cap;
}

/* The timer's heap entry is where its index says and in heap order with
 * its parent and children. */
static int check_heap_slot(struct chk *k, const struct tide_timer *t)
{
	const struct tide_heap *h = &k->st->timers;
	REQUIRE(t->idx < h->n && h->a[t->idx] == t,
		"timers: armed for %" PRIu64 " but not at its index %u in the timer heap (%u entries)",
		t->when, t->idx, h->n);
	uint32_t i = t->idx;
	if (i > 0)
		REQUIRE(h->a[(i - 1) / 2]->when <= t->when,
			"timers: heap order broken: parent fires at %" PRIu64 ", this entry at %" PRIu64,
			h->a[(i - 1) / 2]->when, t->when);
	for (uint32_t c = 2 * i + 1; c <= 2 * i + 2 && c < h->n; c++)
		REQUIRE(h->a[c]->when >= t->when,
			"timers: heap order broken: child fires at %" PRIu64 ", this entry at %" PRIu64,
			h->a[c]->when, t->when);
	return 0;
}

static bool is_conn_state(int s)
{
	return s >= TIDE_TCP_ESTABLISHED && s <= TIDE_TCP_CLOSING && s != TIDE_TCP_TIME_WAIT &&
	       s != TIDE_TCP_LISTEN;
}

/* The socket pointer names a live socket of this stack. */
static bool sock_live(const struct tide_stack *st, const struct tide_sock *sk)
{
	return sk->fd >= 0 && (uint32_t)sk->fd < st->fds.cap && st->fds.a[sk->fd].kind == TIDE_FD_SOCK &&
	       st->fds.a[sk->fd].obj == sk;
}

static int check_conn_closed(struct chk *k, const struct tcp_conn *c)
{
	REQUIRE(!c->in_ehash, "a closed connection is still in the ehash");
	REQUIRE(c->timer.when == TIDE_TIME_NEVER, "timers: a closed connection is in the timer heap");
	REQUIRE(c->t_rexmit == TIDE_TIME_NEVER && c->t_delack == TIDE_TIME_NEVER &&
		c->t_keepalive == TIDE_TIME_NEVER && c->t_linger == TIDE_TIME_NEVER,
		"timers: a closed connection has a timer armed");
	REQUIRE(c->sndq.len == 0, "queues: a closed connection holds %u bytes to send", c->sndq.len);
	REQUIRE(!c->ofo && c->ofo_bytes == 0, "queues: a closed connection holds out-of-order data");
	REQUIRE(!c->orphan_counted, "owner: a closed connection is counted as an orphan");
	REQUIRE(c->sk || c->listener, "owner: a closed connection belongs to no socket and no accept queue");
	return 0;
}

static int check_conn_seq(struct chk *k, const struct tcp_conn *c)
{
	int s = c->state;
	REQUIRE(tide_seq_le(c->iss, c->snd_una) && tide_seq_le(c->snd_una, c->snd_nxt) &&
		tide_seq_le(c->snd_nxt, c->snd_max),
		"sequence space: want ISS <= SND.UNA <= SND.NXT <= SND.MAX, have %u, %u, %u, %u", c->iss,
		c->snd_una, c->snd_nxt, c->snd_max);
	bool syn_acked = tide_seq_gt(c->snd_una, c->iss);
	if (!syn_acked) {
		/* nothing but the SYN goes before it is acknowledged */
		REQUIRE(c->snd_max == c->iss + 1,
			"sequence space: SYN unacknowledged (SND.UNA = ISS = %u) but SND.MAX is %u, not ISS + 1",
			c->iss, c->snd_max);
		REQUIRE(s != TIDE_TCP_ESTABLISHED && s != TIDE_TCP_CLOSE_WAIT && s != TIDE_TCP_FIN_WAIT2,
			"sequence space: SYN unacknowledged (SND.UNA = ISS = %u) in a synchronized state", c->iss);
	}
	if (s == TIDE_TCP_SYN_SENT || s == TIDE_TCP_SYN_RECV) {
		REQUIRE(!syn_acked, "sequence space: SND.UNA %u beyond ISS %u before the handshake ends",
			c->snd_una, c->iss);
		REQUIRE(c->sndq.len == 0, "queues: %u bytes queued before the handshake ends", c->sndq.len);
	}
	/* The send queue holds the bytes from the first unacknowledged one
	 * (after the SYN): all that was sent must be in it. */
	uint32_t start = syn_acked ? c->snd_una : c->iss + 1;
	uint32_t queue_end = start + c->sndq.len;
	if (c->fin_sent) {
		REQUIRE(c->fin_queued, "flags: FIN sent but never queued");
		REQUIRE(c->snd_max == c->fin_seq + 1,
			"sequence space: FIN sent at %u but SND.MAX is %u, not the FIN + 1", c->fin_seq,
			c->snd_max);
		if (tide_seq_le(c->snd_una, c->fin_seq))
			REQUIRE(c->fin_seq == queue_end,
				"sequence space: FIN at %u but the send queue ends at %u (SND.UNA %u + %u bytes)",
				c->fin_seq, queue_end, c->snd_una, c->sndq.len);
		else
			REQUIRE(c->sndq.len == 0,
				"queues: FIN acknowledged but %u bytes remain in the send queue", c->sndq.len);
	} else if (syn_acked) {
		REQUIRE(tide_seq_le(c->snd_max, queue_end),
			"sequence space: sent up to SND.MAX %u beyond the send queue's end %u (SND.UNA %u + %u bytes)",
			c->snd_max, queue_end, c->snd_una, c->sndq.len);
	}
	if (s == TIDE_TCP_SYN_SENT)
		return 0;
	REQUIRE(tide_seq_gt(c->rcv_nxt, c->irs), "receive space: RCV.NXT %u not beyond IRS %u", c->rcv_nxt,
		c->irs);
	REQUIRE(tide_seq_le(c->rcv_wup, c->rcv_nxt),
		"receive space: RCV.WUP %u (RCV.NXT at our last ACK) is after RCV.NXT %u", c->rcv_wup,
		c->rcv_nxt);
	REQUIRE(tide_seq_le(c->rcv_wup, c->rcv_adv),
		"receive space: announced right edge RCV.ADV %u is before RCV.WUP %u", c->rcv_adv, c->rcv_wup);
	REQUIRE(c->rcv_adv - c->rcv_wup <= (65535u << c->rcv_wscale),
		"receive space: announced window %u (RCV.ADV %u - RCV.WUP %u) exceeds 65535 << %u",
		c->rcv_adv - c->rcv_wup, c->rcv_adv, c->rcv_wup, c->rcv_wscale);
	return 0;
}

static int check_conn_flags(struct chk *k, const struct tcp_conn *c)
{
	bool q = c->fin_queued, r = c->fin_rcvd;
	switch (c->state) {
	case TIDE_TCP_SYN_SENT:
	case TIDE_TCP_SYN_RECV:
	case TIDE_TCP_ESTABLISHED:
		REQUIRE(!q && !r, "flags: fin_queued %d, fin_rcvd %d (want neither)", q, r);
		break;
	case TIDE_TCP_CLOSE_WAIT:
		REQUIRE(!q && r, "flags: fin_queued %d, fin_rcvd %d (want the peer's FIN only)", q, r);
		break;
	case TIDE_TCP_FIN_WAIT1:
		REQUIRE(q && !r, "flags: fin_queued %d, fin_rcvd %d (want our FIN only)", q, r);
		break;
	case TIDE_TCP_FIN_WAIT2:
		REQUIRE(q && !r && c->fin_sent && c->snd_una == c->fin_seq + 1,
			"flags: fin_queued %d, fin_sent %d, fin_rcvd %d, FIN at %u, SND.UNA %u (want our FIN sent and acknowledged, none received)",
			q, c->fin_sent, r, c->fin_seq, c->snd_una);
		break;
	case TIDE_TCP_CLOSING:
	case TIDE_TCP_LAST_ACK:
		REQUIRE(q && r, "flags: fin_queued %d, fin_rcvd %d (want both FINs)", q, r);
		break;
	default:
		break;
	}
	return 0;
}

static int check_conn_windows(struct chk *k, const struct tcp_conn *c)
{
	REQUIRE(c->snd_wscale <= 14 && c->rcv_wscale <= 14, "windows: scales %u (send) and %u (receive) above 14",
		c->snd_wscale, c->rcv_wscale);
	if (c->state != TIDE_TCP_SYN_SENT && !c->ws_ok)
		REQUIRE(c->snd_wscale == 0 && c->rcv_wscale == 0,
			"windows: no window scaling agreed but scales %u (send) and %u (receive)",
			c->snd_wscale, c->rcv_wscale);
	REQUIRE(c->snd_wnd <= (65535u << c->snd_wscale),
		"windows: SND.WND %u exceeds 65535 << %u", c->snd_wnd, c->snd_wscale);
	REQUIRE(c->max_window >= c->snd_wnd, "windows: max_window %u below SND.WND %u", c->max_window, c->snd_wnd);
	REQUIRE(c->rcv_wnd <= (65535u << c->rcv_wscale),
		"windows: RCV.WND %u exceeds 65535 << %u", c->rcv_wnd, c->rcv_wscale);
	REQUIRE(c->mss != 0, "windows: send MSS 0");
	return 0;
}

static int check_conn_ofo(struct chk *k, const struct tcp_conn *c)
{
	uint64_t sum = 0;
	const struct tcp_ofo *prev = NULL;
	for (const struct tcp_ofo *o = c->ofo; o; prev = o, o = o->next) {
		k->work++;
		REQUIRE(o->len || o->fin, "out-of-order queue: an empty segment at %u", o->seq);
		REQUIRE(tide_seq_gt(o->seq, c->rcv_nxt),
			"out-of-order queue: segment at %u (%u bytes%s) not beyond RCV.NXT %u", o->seq, o->len,
			o->fin ? ", FIN" : "", c->rcv_nxt);
		if (prev)
			REQUIRE(tide_seq_le(prev->seq, o->seq),
				"out-of-order queue: not sorted: %u after %u", o->seq, prev->seq);
		sum += o->len;
	}
	REQUIRE(sum == c->ofo_bytes, "out-of-order queue: ofo_bytes %u but the segments hold %" PRIu64,
		c->ofo_bytes, sum);
	return 0;
}

static tide_time conn_earliest_timer(const struct tcp_conn *c)
{
	tide_time w = c->t_rexmit;
	if (c->t_delack < w)
		w = c->t_delack;
	if (c->t_keepalive < w)
		w = c->t_keepalive;
	if (c->t_linger < w)
		w = c->t_linger;
	return w;
}

/* Everything about one connection that needs no walk over other objects. */
static int check_conn(struct chk *k, const struct tcp_conn *c)
{
	k->work++;
	subject_tuple(k, "connection", &c->h.key, tide_state_name(c->state));
	REQUIRE(c->st == k->st, "belongs to another stack");
	REQUIRE(c->h.kind == TIDE_EH_CONN && c->timer.kind == TIDE_EH_CONN,
		"kinds: entry %u, timer %u (want %u)", c->h.kind, c->timer.kind, TIDE_EH_CONN);
	REQUIRE(is_conn_state(c->state), "state %u is not one a connection can be in", c->state);
	REQUIRE(ring_ok(&c->sndq), "queues: send ring broken (len %u, cap %u, head %u)", c->sndq.len,
		c->sndq.cap, c->sndq.head);
	REQUIRE(ring_ok(&c->rcvq), "queues: receive ring broken (len %u, cap %u, head %u)", c->rcvq.len,
		c->rcvq.cap, c->rcvq.head);
	if (c->sk)
		REQUIRE(c->sk->conn == c && c->sk->st == k->st && sock_live(k->st, c->sk),
			"owner: its socket (fd %d) does not point back at it", c->sk->fd);
	if (c->listener)
		REQUIRE(!c->sk && !c->orphan_counted && c->listener->listening,
			"owner: in an accept queue but has a socket (%d), is an orphan (%d) or its listener stopped listening (%d)",
			c->sk != NULL, c->orphan_counted, c->listener->listening);
	if (c->state == TIDE_TCP_CLOSE)
		return check_conn_closed(k, c);
	REQUIRE(c->in_ehash, "not in the ehash");
	REQUIRE(c->sk || c->listener || c->orphan_counted,
		"owner: no socket, no accept queue, and not counted as an orphan");
	REQUIRE(!(c->orphan_counted && c->sk), "owner: counted as an orphan but has a socket (fd %d)",
		c->sk ? c->sk->fd : -1);
	TRY(check_conn_seq(k, c));
	TRY(check_conn_flags(k, c));
	TRY(check_conn_windows(k, c));
	TRY(check_conn_ofo(k, c));
	tide_time w = conn_earliest_timer(c);
	REQUIRE(c->timer.when == w,
		"timers: heap entry at %" PRIu64 " but the earliest timer is at %" PRIu64
		" (rexmit %" PRIu64 ", delack %" PRIu64 ", keepalive %" PRIu64 ", linger %" PRIu64 ")",
		c->timer.when, w, c->t_rexmit, c->t_delack, c->t_keepalive, c->t_linger);
	if (w != TIDE_TIME_NEVER)
		TRY(check_heap_slot(k, &c->timer));
	REQUIRE(!c->ack_pending || c->t_delack != TIDE_TIME_NEVER,
		"timers: an ACK is owed but the delayed-ACK timer is off");
	return 0;
}

static int check_req(struct chk *k, const struct tcp_req *rq)
{
	k->work++;
	subject_tuple(k, "request", &rq->h.key, "SYN_RECV");
	REQUIRE(rq->h.kind == TIDE_EH_REQ && rq->timer.kind == TIDE_EH_REQ,
		"kinds: entry %u, timer %u (want %u)", rq->h.kind, rq->timer.kind, TIDE_EH_REQ);
	REQUIRE(!rq->cookie, "a cookie's request is in the ehash");
	REQUIRE(rq->listener && rq->listener->st == k->st && rq->listener->listening &&
		sock_live(k->st, rq->listener),
		"its listener is gone or no longer listening");
	REQUIRE(rq->snd_wscale <= 14, "windows: the peer's scale %u above 14", rq->snd_wscale);
	REQUIRE(rq->timer.when != TIDE_TIME_NEVER, "timers: no SYN-ACK timer armed");
	return check_heap_slot(k, &rq->timer);
}

static int check_tw(struct chk *k, const struct tcp_tw *tw)
{
	k->work++;
	subject_tuple(k, "record", &tw->h.key, tide_state_name(tide_tw_state(tw)));
	REQUIRE(tw->h.kind == TIDE_EH_TW, "kind %u (want %u)", tw->h.kind, TIDE_EH_TW);
	uint8_t known = TIDE_TW_TS | TIDE_TW_RESTARTED | TIDE_TW_IN_HEAP | TIDE_TW_FW2;
	REQUIRE(!(tw->h.aux8 & ~known), "flags 0x%x has unknown bits", tw->h.aux8);
	REQUIRE((tw->h.aux8 & (TIDE_TW_RESTARTED | TIDE_TW_IN_HEAP)) != (TIDE_TW_RESTARTED | TIDE_TW_IN_HEAP),
		"timers: both restarted in the FIFO and in the heap");
	REQUIRE(tide_tw_wscale(tw) <= 14, "windows: receive scale %u above 14", tide_tw_wscale(tw));
	REQUIRE(tide_tw_expiry(tw) >= k->st->now,
		"timers: expiry %" PRIu64 " already passed (now %" PRIu64 ")", tide_tw_expiry(tw), k->st->now);
	return 0;
}

/* The facts about the whole stack that cost constant time. */
static int check_stack_quick(struct chk *k)
{
	struct tide_stack *st = k->st;
	subject_stack(k);
	const struct tide_heap *h = &st->timers;
	REQUIRE(h->n <= h->cap, "timers: heap holds %u entries in room for %u", h->n, h->cap);
	if (h->n) {
		REQUIRE(h->a[0]->idx == 0, "timers: heap top's index is %u", h->a[0]->idx);
		REQUIRE(h->a[0]->when >= st->now,
			"timers: the earliest timer (%" PRIu64 ") is in the past (now %" PRIu64 "): it never fired",
			h->a[0]->when, st->now);
	}
	REQUIRE(!st->tw_head == !st->tw_tail, "TIME_WAIT FIFO: head %s but tail %s", st->tw_head ? "set" : "empty",
		st->tw_tail ? "set" : "empty");
	if (st->tw_head) {
		REQUIRE(st->tw_head->h.kind == TIDE_EH_TW && !(st->tw_head->h.aux8 & TIDE_TW_RESTARTED),
			"TIME_WAIT FIFO: head is a dead or restarted record (its expiry is not the next)");
		REQUIRE(tide_tw_expiry(st->tw_head) >= st->now,
			"TIME_WAIT FIFO: head expiry %" PRIu64 " already passed (now %" PRIu64 ")",
			tide_tw_expiry(st->tw_head), st->now);
		REQUIRE(!st->tw_tail->fifo_next, "TIME_WAIT FIFO: tail has a successor");
	}
	REQUIRE(st->tw_heap.n <= st->tw_heap.cap, "TIME_WAIT heap: %u entries in room for %u", st->tw_heap.n,
		st->tw_heap.cap);
	if (st->tw_heap.n)
		REQUIRE(st->tw_heap.a[0].key >= st->now,
			"TIME_WAIT heap: top key %" PRIu64 " already passed (now %" PRIu64 ")",
			st->tw_heap.a[0].key, st->now);
	REQUIRE(st->tw_count <= st->ehash.n && st->orphans <= st->ehash.n && st->curr_estab <= st->ehash.n,
		"counts: %u TIME_WAIT, %u orphans, %" PRIu64 " established, more than the %u ehash entries",
		st->tw_count, st->orphans, st->curr_estab, st->ehash.n);
	return 0;
}

static int check_entry(struct chk *k, const struct tide_hentry *e)
{
	if (e->kind == TIDE_EH_CONN)
		return check_conn(k, TIDE_CONTAINER_OF(e, const struct tcp_conn, h));
	if (e->kind == TIDE_EH_REQ)
		return check_req(k, TIDE_CONTAINER_OF(e, const struct tcp_req, h));
	if (e->kind == TIDE_EH_TW)
		return check_tw(k, TIDE_CONTAINER_OF(e, const struct tcp_tw, h));
	subject_tuple(k, "entry", &e->key, NULL);
	return fail(k, "unknown kind %u", e->kind);
}

/* A socket without walks: its connection, its accept queue's ends. */
static int check_sock(struct chk *k, const struct tide_sock *sk)
{
	k->work++;
	subject_num(k, "socket fd", sk->fd);
	REQUIRE(sk->st == k->st, "belongs to another stack");
	REQUIRE(sk->shutdown <= (TIDE_SHUT_RD | TIDE_SHUT_WR), "shutdown bits 0x%x", sk->shutdown);
	if (sk->listening) {
		REQUIRE(!sk->conn, "listening with a connection");
		REQUIRE(sk->bound && sk->lport, "listening but not bound to a port");
		REQUIRE(!sk->acc_head == !sk->acc_tail && !sk->acc_head == !sk->acc_len,
			"accept queue: head %s, tail %s, length %u", sk->acc_head ? "set" : "empty",
			sk->acc_tail ? "set" : "empty", sk->acc_len);
		if (sk->acc_tail)
			REQUIRE(!sk->acc_tail->acc_next, "accept queue: the tail has a successor");
		REQUIRE(sk->syn_young <= sk->syn_len, "SYN queue: %u young requests of %u", sk->syn_young,
			sk->syn_len);
	} else {
		REQUIRE(!sk->acc_head && !sk->acc_tail && !sk->acc_len && !sk->syn_len && !sk->syn_young,
			"not listening but has an accept queue (%u) or SYN queue (%u)", sk->acc_len, sk->syn_len);
	}
	if (sk->bound)
		REQUIRE(sk->lport, "bound to port 0");
	if (sk->conn) {
		REQUIRE(sk->conn->sk == sk, "its connection belongs to another socket");
		return check_conn(k, sk->conn);
	}
	return 0;
}

/* Counts gathered over the ehash, to compare with what tables keep. */
struct tally {
	uint64_t conns, orphans, estab, tw, reqs, conn_timers;
	uint32_t *syn;             /* per descriptor: requests, then young ones (2 each) */
	uint32_t *port;            /* per port slot: nconn, ntw, nuse[4] (6 each) */
};

static int tally_entry(struct chk *k, struct tally *t, const struct tide_hentry *e)
{
	struct tide_stack *st = k->st;
	uint8_t reuse = 0;
	if (e->kind == TIDE_EH_CONN) {
		const struct tcp_conn *c = TIDE_CONTAINER_OF(e, const struct tcp_conn, h);
		t->conns++;
		t->orphans += c->orphan_counted;
		t->estab += c->state == TIDE_TCP_ESTABLISHED || c->state == TIDE_TCP_CLOSE_WAIT;
		t->conn_timers += c->timer.when != TIDE_TIME_NEVER;
		reuse = c->reuse & 3;
	} else if (e->kind == TIDE_EH_REQ) {
		const struct tcp_req *rq = TIDE_CONTAINER_OF(e, const struct tcp_req, h);
		t->reqs++;
		if (t->syn) {
			t->syn[2 * rq->listener->fd]++;
			t->syn[2 * rq->listener->fd + 1] += rq->retransmits == 0;
		}
		return 0;
	} else {
		const struct tcp_tw *tw = TIDE_CONTAINER_OF(e, const struct tcp_tw, h);
		t->tw++;
		reuse = tide_tw_reuse(tw);
	}
	struct tide_port *p = tide_port_get(st, e->key.lport, false);
	REQUIRE(p, "ports: local port %u is not in the port table", e->key.lport);
	if (t->port) {
		uint32_t *n = &t->port[6 * (uint32_t)(p - st->ports.a)];
		n[e->kind == TIDE_EH_CONN ? 0 : 1]++;
		n[2 + reuse]++;
	}
	return 0;
}

static int check_ehash(struct chk *k, struct tally *t)
{
	struct tide_stack *st = k->st;
	const struct tide_htab *h = &st->ehash;
	uint64_t seen = 0;
	for (uint32_t i = 0; i <= h->mask; i++) {
		k->work++;
		for (const struct tide_hentry *e = h->b[i]; e; e = e->next) {
			subject_tuple(k, "entry", &e->key, NULL);
			REQUIRE(++seen <= h->n, "ehash: more entries than its count %u (a cycle?)", h->n);
			uint32_t b = tide_hash_key(st, &e->key) & h->mask;
			REQUIRE(b == i, "ehash: in bucket %u, hashes to %u", i, b);
			/* a duplicate would share the bucket: it is further down */
			for (const struct tide_hentry *d = e->next; d; d = d->next)
				REQUIRE(memcmp(&d->key, &e->key, sizeof d->key) != 0,
					"ehash: another entry has the same 4-tuple");
			TRY(check_entry(k, e));
			TRY(tally_entry(k, t, e));
		}
	}
	subject_stack(k);
	REQUIRE(seen == h->n, "ehash: count %u but %" PRIu64 " entries", h->n, seen);
	REQUIRE(t->tw == st->tw_count, "counts: tw_count %u but %" PRIu64 " TIME_WAIT records", st->tw_count, t->tw);
	REQUIRE(t->orphans == st->orphans, "counts: orphans %u but %" PRIu64 " orphaned connections", st->orphans,
		t->orphans);
	REQUIRE(t->estab == st->curr_estab,
		"counts: CurrEstab %" PRIu64 " but %" PRIu64 " connections in ESTABLISHED or CLOSE_WAIT",
		st->curr_estab, t->estab);
	return 0;
}

/* Every heap entry is an armed connection or request of the ehash, and
 * (with the counts) every armed one has its entry. */
static int check_timer_heap(struct chk *k, const struct tally *t)
{
	struct tide_stack *st = k->st;
	const struct tide_heap *h = &st->timers;
	uint64_t conns = 0, reqs = 0;
	for (uint32_t i = 0; i < h->n; i++) {
		k->work++;
		const struct tide_timer *tm = h->a[i];
		subject_stack(k);
		REQUIRE(tm && tm->idx == i, "timers: heap entry %u has index %u", i, tm ? tm->idx : 0);
		REQUIRE(tm->when != TIDE_TIME_NEVER, "timers: heap entry %u is disarmed", i);
		if (i)
			REQUIRE(h->a[(i - 1) / 2]->when <= tm->when, "timers: heap order broken at entry %u", i);
		const struct tide_hentry *e;
		if (tm->kind == TIDE_EH_CONN) {
			const struct tcp_conn *c = TIDE_CONTAINER_OF(tm, const struct tcp_conn, timer);
			e = &c->h;
			conns++;
		} else {
			REQUIRE(tm->kind == TIDE_EH_REQ, "timers: heap entry %u of unknown kind %u", i, tm->kind);
			e = &TIDE_CONTAINER_OF(tm, const struct tcp_req, timer)->h;
			reqs++;
		}
		REQUIRE(e->kind == tm->kind && tide_htab_find(st, &e->key) == e,
			"timers: heap entry %u belongs to nothing in the ehash", i);
	}
	REQUIRE(conns == t->conn_timers && reqs == t->reqs,
		"timers: heap has %" PRIu64 " connections and %" PRIu64 " requests, the ehash %" PRIu64
		" armed connections and %" PRIu64 " requests",
		conns, reqs, t->conn_timers, t->reqs);
	return 0;
}

/* Live records sit in the FIFO (in expiry order unless restarted) or in
 * the heap (flagged), dead ones wait there to be freed. */
static int check_timewait(struct chk *k)
{
	struct tide_stack *st = k->st;
	uint64_t live = 0;
	const struct tcp_tw *last = NULL;
	tide_time last_exp = 0;
	for (const struct tcp_tw *tw = st->tw_head; tw; tw = tw->fifo_next) {
		k->work++;
		if (!tw->fifo_next) {
			subject_stack(k);
			REQUIRE(tw == st->tw_tail, "TIME_WAIT FIFO: the tail is not the last record");
		}
		if (tw->h.kind != TIDE_EH_TW)
			continue;
		live++;
		subject_tuple(k, "record", &tw->h.key, tide_state_name(tide_tw_state(tw)));
		REQUIRE(!(tw->h.aux8 & TIDE_TW_IN_HEAP), "TIME_WAIT FIFO: in the FIFO but flagged in the heap");
		REQUIRE(tide_htab_find(st, &tw->h.key) == &tw->h, "TIME_WAIT FIFO: live but not in the ehash");
		if (tw->h.aux8 & TIDE_TW_RESTARTED)
			continue;
		REQUIRE(!last || tide_tw_expiry(tw) >= last_exp,
			"TIME_WAIT FIFO: expires at %" PRIu64 ", before the record ahead of it (%" PRIu64 ")",
			tide_tw_expiry(tw), last_exp);
		last = tw;
		last_exp = tide_tw_expiry(tw);
	}
	const struct tide_twheap *h = &st->tw_heap;
	for (uint32_t i = 0; i < h->n; i++) {
		k->work++;
		subject_stack(k);
		const struct tcp_tw *tw = h->a[i].tw;
		REQUIRE(tw, "TIME_WAIT heap: entry %u is empty", i);
		if (i)
			REQUIRE(h->a[(i - 1) / 2].key <= h->a[i].key, "TIME_WAIT heap: order broken at entry %u", i);
		if (tw->h.kind != TIDE_EH_TW)
			continue;
		live++;
		subject_tuple(k, "record", &tw->h.key, tide_state_name(tide_tw_state(tw)));
		REQUIRE(tw->h.aux8 & TIDE_TW_IN_HEAP, "TIME_WAIT heap: in the heap but not flagged so");
		REQUIRE(h->a[i].key <= tide_tw_expiry(tw),
			"TIME_WAIT heap: key %" PRIu64 " after the expiry %" PRIu64 " (it would fire late)",
			h->a[i].key, tide_tw_expiry(tw));
		REQUIRE(tide_htab_find(st, &tw->h.key) == &tw->h, "TIME_WAIT heap: live but not in the ehash");
	}
	subject_stack(k);
	REQUIRE(live == st->tw_count,
		"TIME_WAIT: %" PRIu64 " live records in the FIFO and heap, tw_count %u (one is in both, or lost)",
		live, st->tw_count);
	return 0;
}

static int check_listener(struct chk *k, const struct tide_sock *sk, const struct tally *t)
{
	uint32_t n = 0;
	const struct tcp_conn *last = NULL;
	for (const struct tcp_conn *c = sk->acc_head; c; last = c, c = c->acc_next) {
		subject_num(k, "listener fd", sk->fd);
		REQUIRE(++n <= sk->acc_len, "accept queue: more connections than its length %u", sk->acc_len);
		REQUIRE(c->listener == sk, "accept queue: connection %u names another listener", n);
		TRY(check_conn(k, c));
	}
	subject_num(k, "listener fd", sk->fd);
	REQUIRE(n == sk->acc_len && last == sk->acc_tail, "accept queue: length %u but %u connections%s",
		sk->acc_len, n, last == sk->acc_tail ? "" : ", tail misplaced");
	if (t->syn)
		REQUIRE(t->syn[2 * sk->fd] == sk->syn_len && t->syn[2 * sk->fd + 1] == sk->syn_young,
			"SYN queue: syn_len %u, syn_young %u but the ehash holds %u requests, %u young",
			sk->syn_len, sk->syn_young, t->syn[2 * sk->fd], t->syn[2 * sk->fd + 1]);
	return 0;
}

static int check_bound(struct chk *k, const struct tide_sock *sk)
{
	struct tide_port *p = tide_port_get(k->st, sk->lport, false);
	REQUIRE(p, "bound to port %u, which the port table does not have", sk->lport);
	uint32_t guard = k->st->fds.cap;
	for (const struct tide_sock *o = p->bound; o; o = o->bind_next) {
		if (o == sk)
			return 0;
		REQUIRE(guard--, "ports: the bound list of port %u has a cycle", sk->lport);
	}
	return fail(k, "bound to port %u but not in its list of bound sockets", sk->lport);
}

static int check_epoll(struct chk *k, const struct tide_epoll *ep, uint64_t *items)
{
	struct tide_stack *st = k->st;
	uint64_t n = 0, on_ready = 0, ready = 0;
	for (const struct tide_epitem *it = ep->items; it; it = it->all_next) {
		k->work++;
		subject_num(k, "epoll fd", ep->fd);
		/* at most one item per socket */
		REQUIRE(++n <= st->fds.cap, "items: more than there are descriptors (a cycle?)");
		REQUIRE(it->ep == ep, "item names another epoll");
		REQUIRE(it->sk && sock_live(st, it->sk), "item watches a socket that is not open");
		const struct tide_epitem *x = it->sk->epitems;
		while (x && x != it)
			x = x->sock_next;
		REQUIRE(x, "item of fd %d missing from the socket's list", it->sk->fd);
		on_ready += it->on_ready;
	}
	const struct tide_epitem *last = NULL;
	for (const struct tide_epitem *it = ep->ready_head; it; last = it, it = it->ready_next) {
		REQUIRE(++ready <= n, "ready list: longer than the %" PRIu64 " items (a cycle, or twice)", n);
		REQUIRE(it->on_ready && it->ep == ep, "ready list: holds an item not marked ready");
	}
	REQUIRE(last == ep->ready_tail, "ready list: tail misplaced");
	REQUIRE(ready == on_ready, "ready list: %" PRIu64 " items but %" PRIu64 " marked ready", ready, on_ready);
	*items += n;
	return 0;
}

static int check_fds(struct chk *k, const struct tally *t)
{
	struct tide_stack *st = k->st;
	const struct tide_fdtab *ft = &st->fds;
	uint64_t listening = 0, bound = 0, sock_items = 0, ep_items = 0;
	for (uint32_t i = 0; i < ft->cap; i++) {
		k->work++;
		const struct tide_fdent *e = &ft->a[i];
		subject_num(k, "descriptor", (long)i);
		if (!e->kind) {
			REQUIRE(i >= ft->lowest_free || i < 3,
				"descriptor table: free below the lowest-free hint %u", ft->lowest_free);
			continue;
		}
		REQUIRE(i >= 3, "descriptor table: descriptor below the first one (3) in use");
		REQUIRE(e->obj, "descriptor table: in use without an object");
		if (e->kind == TIDE_FD_EPOLL) {
			const struct tide_epoll *ep = e->obj;
			REQUIRE(ep->fd == (int)i, "epoll says it is fd %d", ep->fd);
			TRY(check_epoll(k, ep, &ep_items));
			continue;
		}
		REQUIRE(e->kind == TIDE_FD_SOCK, "descriptor table: unknown kind %u", e->kind);
		const struct tide_sock *sk = e->obj;
		REQUIRE(sk->fd == (int)i, "socket says it is fd %d", sk->fd);
		TRY(check_sock(k, sk));
		subject_num(k, "socket fd", (long)i);
		if (sk->bound) {
			bound++;
			TRY(check_bound(k, sk));
		}
		if (sk->listening) {
			listening++;
			TRY(check_listener(k, sk, t));
		}
		for (const struct tide_epitem *it = sk->epitems; it; it = it->sock_next) {
			subject_num(k, "socket fd", (long)i);
			REQUIRE(++sock_items <= UINT32_MAX, "epoll items: a cycle");
			REQUIRE(it->sk == sk, "epoll item names another socket");
			REQUIRE(it->ep && it->ep->fd >= 0 && (uint32_t)it->ep->fd < ft->cap &&
				ft->a[it->ep->fd].kind == TIDE_FD_EPOLL && ft->a[it->ep->fd].obj == it->ep,
				"epoll item of an epoll that is closed");
		}
	}
	subject_stack(k);
	REQUIRE(sock_items == ep_items, "epoll: sockets hold %" PRIu64 " items, epolls %" PRIu64, sock_items,
		ep_items);
	uint64_t listed = 0;
	for (const struct tide_sock *l = st->listeners; l; l = l->lnext) {
		REQUIRE(++listed <= listening, "listeners: the list holds more than the %" PRIu64 " listening sockets",
			listening);
		REQUIRE(l->listening && sock_live(st, l), "listeners: fd %d is listed but not listening or not open",
			l->fd);
	}
	REQUIRE(listed == listening, "listeners: %" PRIu64 " listening sockets but %" PRIu64 " in the list",
		listening, listed);
	/* every bound list member is a live bound socket of that port: with
	 * the count, every bound socket is in exactly one list */
	uint64_t in_lists = 0;
	const struct tide_ports *pt = &st->ports;
	for (uint32_t i = 0; pt->a && i <= pt->mask; i++) {
		const struct tide_port *p = &pt->a[i];
		if (!p->used)
			continue;
		for (const struct tide_sock *o = p->bound; o; o = o->bind_next) {
			REQUIRE(++in_lists <= bound, "ports: bound lists hold more than the %" PRIu64 " bound sockets",
				bound);
			REQUIRE(sock_live(st, o) && o->bound && o->lport == p->port,
				"ports: port %u lists fd %d, which is not a socket bound to it", p->port, o->fd);
		}
	}
	REQUIRE(in_lists == bound, "ports: %" PRIu64 " bound sockets but %" PRIu64 " in bound lists", bound,
		in_lists);
	return 0;
}

static int check_ports(struct chk *k, const struct tally *t)
{
	const struct tide_ports *pt = &k->st->ports;
	uint32_t used = 0;
	for (uint32_t i = 0; pt->a && i <= pt->mask; i++) {
		k->work++;
		const struct tide_port *p = &pt->a[i];
		if (!p->used)
			continue;
		used++;
		if (!t->port)
			continue;
		const uint32_t *n = &t->port[6 * i];
		subject_num(k, "port", p->port);
		REQUIRE(p->nconn == n[0] && p->ntw == n[1],
			"counts: %u connections and %u TIME_WAIT records, but the ehash holds %u and %u",
			p->nconn, p->ntw, n[0], n[1]);
		for (int r = 0; r < 4; r++)
			REQUIRE(p->nuse[r] == n[2 + r], "counts: nuse[%d] %u but %u users with those reuse bits", r,
				p->nuse[r], n[2 + r]);
	}
	subject_stack(k);
	REQUIRE(used == pt->n, "ports: count %u but %u ports in use", pt->n, used);
	return 0;
}

static int full_check(struct chk *k)
{
	struct tide_stack *st = k->st;
	TRY(check_stack_quick(k));
	/* Without memory for the tallies the cross-counts are skipped; the
	 * rest is still checked. */
	struct tally t = { 0 };
	t.syn = st->fds.cap ? calloc(2 * (size_t)st->fds.cap, sizeof *t.syn) : NULL;
	t.port = st->ports.a ? calloc(6 * ((size_t)st->ports.mask + 1), sizeof *t.port) : NULL;
	int r = check_ehash(k, &t);
	if (r == 0)
		r = check_timer_heap(k, &t);
	if (r == 0)
		r = check_timewait(k);
	if (r == 0)
		r = check_fds(k, &t);
	if (r == 0)
		r = check_ports(k, &t);
	free(t.syn);
	free(t.port);
	return r;
}

int tide_stack_check(const tide_stack *st, char *msg, size_t cap)
{
	/* The walks use the core's lookups, which take a mutable stack but
	 * change nothing. */
	struct chk k = { .st = (struct tide_stack *)(uintptr_t)st, .msg = msg, .cap = cap, .what = "stack",
			 .num = -1 };
	if (msg && cap)
		msg[0] = '\0';
	return full_check(&k);
}

/* ---- automatic checks (TIDE_INVARIANTS) ---- */

/* The objects a packet may have touched: whatever its 4-tuple names now.
 * Only the addresses and ports are read (the stack parsed the rest). */
static int check_packet_touched(struct chk *k, const uint8_t *pkt, size_t len)
{
	if (len < TIDE_IPV4_HLEN || pkt[0] >> 4 != 4 || pkt[9] != TIDE_IPPROTO_TCP)
		return 0;
	size_t ihl = (size_t)(pkt[0] & 0xf) * 4;
	if (ihl < TIDE_IPV4_HLEN || ihl + 4 > len)
		return 0;
	const uint8_t *l4 = pkt + ihl;
	struct tide_conn_id id = {
		.laddr = (uint32_t)pkt[16] << 24 | (uint32_t)pkt[17] << 16 | (uint32_t)pkt[18] << 8 | pkt[19],
		.raddr = (uint32_t)pkt[12] << 24 | (uint32_t)pkt[13] << 16 | (uint32_t)pkt[14] << 8 | pkt[15],
		.lport = (uint16_t)(l4[2] << 8 | l4[3]),
		.rport = (uint16_t)(l4[0] << 8 | l4[1]),
	};
	if (id.laddr != k->st->cfg.addr)
		return 0;
	const struct tide_hentry *he = tide_htab_find(k->st, &id);
	return he ? check_entry(k, he) : 0;
}

/* What the earliest timer belongs to (time moved: timers fired). */
static int check_timer_top(struct chk *k)
{
	const struct tide_heap *h = &k->st->timers;
	if (!h->n)
		return 0;
	const struct tide_timer *tm = h->a[0];
	if (tm->kind == TIDE_EH_CONN)
		return check_conn(k, TIDE_CONTAINER_OF(tm, const struct tcp_conn, timer));
	if (tm->kind == TIDE_EH_REQ)
		return check_req(k, TIDE_CONTAINER_OF(tm, const struct tcp_req, timer));
	subject_stack(k);
	return fail(k, "timers: heap top of unknown kind %u", tm->kind);
}

static int check_fd_touched(struct chk *k, int fd)
{
	const struct tide_fdtab *ft = &k->st->fds;
	if (fd < 0 || (uint32_t)fd >= ft->cap || ft->a[fd].kind != TIDE_FD_SOCK)
		return 0;
	const struct tide_sock *sk = ft->a[fd].obj;
	REQUIRE(sk && sk->fd == fd, "socket at descriptor %d says it is fd %d", fd, sk ? sk->fd : -1);
	return check_sock(k, sk);
}

struct tide_inv_scope tide_inv_enter(struct tide_stack *st, const char *call, const uint8_t *pkt,
				     size_t len, int fd)
{
	st->inv_depth++;
	return (struct tide_inv_scope){ .st = st, .call = call, .pkt = pkt, .len = len, .fd = fd };
}

/* Calls between full checks: as many as the objects the last one visited,
 * so the full checks cost one object visit per call on average. */
#define TIDE_INV_MIN_INTERVAL 64

void tide_inv_leave(struct tide_inv_scope *s)
{
	struct tide_stack *st = s->st;
	/* Only the outermost call: an inner one (a callback calling back into
	 * the stack, tide_release_owner closing descriptors) may return while
	 * the outer one is half-way. */
	if (--st->inv_depth)
		return;
	int saved_errno = errno;
	char msg[512];
	struct chk k = { .st = st, .msg = msg, .cap = sizeof msg, .what = "stack", .num = -1 };
	msg[0] = '\0';
	int r = check_stack_quick(&k);
	if (r == 0 && s->pkt)
		r = check_packet_touched(&k, s->pkt, s->len);
	if (r == 0 && s->fd >= 0)
		r = check_fd_touched(&k, s->fd);
	if (r == 0 && !s->pkt && s->fd < 0)
		r = check_timer_top(&k);
	if (r == 0 && ++st->inv_events >= st->inv_next_full) {
		k.work = 0;
		r = full_check(&k);
		uint64_t interval = k.work;
		st->inv_next_full = st->inv_events + (interval > TIDE_INV_MIN_INTERVAL ? interval : TIDE_INV_MIN_INTERVAL);
	}
	if (r < 0) {
		fprintf(stderr, "tide: invariant broken after %s: %s\n", s->call, msg);
		abort();
	}
	errno = saved_errno;
}
