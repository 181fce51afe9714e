/*
 * TIME_WAIT records (LC-C05, LC-C08). When a connection enters TIME_WAIT
 * its full state is freed and a small record keeps only what is needed to
 * answer a retransmitted FIN and to judge a new SYN for the same 4-tuple.
 * Every record lives tcp_timewait_len from its last restart, so the FIFO
 * of records is also their expiry order.
 */
#include "core/stack_int.h"
#include <stdlib.h>

/*
 * Expiry bookkeeping. Records enter a FIFO in expiry order (they all live
 * tcp_timewait_len). A restart (a retransmitted FIN) moves a record's expiry
 * later; such a record is flagged and, once it reaches the head, moves to a
 * small heap, so the FIFO head is always the next FIFO expiry and the exact
 * next expiry is min(FIFO head, heap top).
 */
static void heap_push(struct tide_stack *st, struct tcp_tw *tw)
{
	struct tide_twheap *h = &st->tw_heap;
	if (h->n == h->cap) {
		uint32_t ncap = h->cap ? h->cap * 2 : 16;
		struct tide_twheap_ent *na = realloc(h->a, ncap * sizeof(*na));
		if (!na)
			abort(); /* losing a record's timer would keep its port for ever */
		h->a = na;
		h->cap = ncap;
	}
	uint32_t i = h->n++;
	while (i > 0 && h->a[(i - 1) / 2].key > tw->expire) {
		h->a[i] = h->a[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->a[i].key = tw->expire;
	h->a[i].tw = tw;
	tw->h.aux8 = (uint8_t)((tw->h.aux8 & ~TIDE_TW_RESTARTED) | TIDE_TW_IN_HEAP);
}

static struct tcp_tw *heap_pop(struct tide_stack *st)
{
	struct tide_twheap *h = &st->tw_heap;
	struct tcp_tw *top = h->a[0].tw;
	struct tide_twheap_ent last = h->a[--h->n];
	uint32_t i = 0;
	for (;;) {
		uint32_t l = 2 * i + 1, m = l;
		if (l >= h->n)
			break;
		if (l + 1 < h->n && h->a[l + 1].key < h->a[l].key)
			m = l + 1;
		if (h->a[m].key >= last.key)
			break;
		h->a[i] = h->a[m];
		i = m;
	}
	if (h->n)
		h->a[i] = last;
	top->h.aux8 &= (uint8_t)~TIDE_TW_IN_HEAP;
	return top;
}

/* Keeps the FIFO head a live record with its own expiry. */
static void fifo_normalize(struct tide_stack *st)
{
	while (st->tw_head && (st->tw_head->h.kind != TIDE_EH_TW ||
			       (st->tw_head->h.aux8 & TIDE_TW_RESTARTED))) {
		struct tcp_tw *tw = st->tw_head;
		st->tw_head = tw->fifo_next;
		if (!st->tw_head)
			st->tw_tail = NULL;
		if (tw->h.kind != TIDE_EH_TW)
			free(tw);
		else
			heap_push(st, tw);
	}
}

static void fifo_push(struct tide_stack *st, struct tcp_tw *tw)
{
	if (st->tw_tail && st->tw_tail->expire > tw->expire) {
		/* the TIME_WAIT length was shortened: keep the FIFO sorted */
		heap_push(st, tw);
		return;
	}
	tw->fifo_next = NULL;
	if (st->tw_tail)
		st->tw_tail->fifo_next = tw;
	else
		st->tw_head = tw;
	st->tw_tail = tw;
}

static void restart(struct tide_stack *st, struct tcp_tw *tw)
{
	tide_time e = st->now + TIDE_SEC(st->set->tcp_timewait_len);
	if (e == tw->expire)
		return;
	tw->expire = e;
	if (!(tw->h.aux8 & TIDE_TW_IN_HEAP)) {
		tw->h.aux8 |= TIDE_TW_RESTARTED;
		fifo_normalize(st);
	}
}

tide_time tide_tw_next(const struct tide_stack *st)
{
	tide_time at = st->tw_head ? st->tw_head->expire : TIDE_TIME_NEVER;
	if (st->tw_heap.n && st->tw_heap.a[0].key < at)
		at = st->tw_heap.a[0].key;
	return at;
}

static void tw_send_ack(struct tide_stack *st, struct tcp_tw *tw);

void tide_tcp_time_wait(struct tcp_conn *c, bool ack)
{
	struct tide_stack *st = c->st;
	struct tide_conn_id id = c->h.key;
	int old = c->state;
	if (st->tw_count >= (uint32_t)st->set->tcp_max_tw_buckets) {
		/* Linux: no record, the connection just ends */
		TIDE_INC(st, TCPTimeWaitOverflow);
		if (ack)
			tide_tcp_send_ack(c);
		tide_tcp_done(c);
		return;
	}
	struct tcp_tw *tw = calloc(1, sizeof(*tw));
	if (!tw) {
		if (ack)
			tide_tcp_send_ack(c);
		tide_tcp_done(c);
		return;
	}
	tw->h.kind = TIDE_EH_TW;
	tw->h.key = id;
	tw->expire = st->now + TIDE_SEC(st->set->tcp_timewait_len);
	tw->h.aux8 = c->ts_ok ? TIDE_TW_TS : 0;
	tw->h.aux16 = (uint16_t)(c->rcv_wnd >> c->rcv_wscale);
	tw->snd_nxt = c->snd_nxt;
	tw->rcv_nxt = c->rcv_nxt;
	tw->ts_recent = c->ts_recent;
	tw->ts_offset = c->ts_offset;
	tw->ts_recent_stamp_s = (uint32_t)(c->ts_recent_stamp / 1000000u);
	tw->rcv_wscale = c->rcv_wscale;
	tw->reuse = c->reuse;
	/* The connection object closes silently: its record carries on. */
	c->state = TIDE_TCP_CLOSE;
	c->state_since = st->now;
	tide_tcp_detach_closed(c);
	tide_htab_insert(st, &tw->h);
	struct tide_port *p = tide_port_get(st, id.lport, true);
	if (p) {
		p->ntw++;
		p->ntw_reuse += tw->reuse;
	}
	st->tw_count++;
	fifo_push(st, tw);
	tide_notify_state(st, &id, old, TIDE_TCP_TIME_WAIT);
	if (ack)
		tw_send_ack(st, tw);
}

static void tw_unlink(struct tide_stack *st, struct tcp_tw *tw)
{
	tide_htab_remove(st, &tw->h);
	struct tide_port *p = tide_port_get(st, tw->h.key.lport, false);
	if (p && p->ntw) {
		p->ntw--;
		p->ntw_reuse -= tw->reuse;
	}
	st->tw_count--;
}

/* Ends a record early (RST, a new SYN). Its memory stays with the FIFO or
 * the heap, marked dead (kind 0), until its turn comes. */
void tide_tw_kill(struct tide_stack *st, struct tcp_tw *tw)
{
	tw_unlink(st, tw);
	tw->h.kind = 0;
	TIDE_INC(st, TWKilled);
	tide_notify_state(st, &tw->h.key, TIDE_TCP_TIME_WAIT, TIDE_TCP_CLOSE);
	fifo_normalize(st);
}

static void expire_one(struct tide_stack *st, struct tcp_tw *tw)
{
	tw_unlink(st, tw);
	TIDE_INC(st, TW);
	tide_notify_state(st, &tw->h.key, TIDE_TCP_TIME_WAIT, TIDE_TCP_CLOSE);
	free(tw);
}

void tide_tw_expire(struct tide_stack *st, tide_time now)
{
	for (;;) {
		fifo_normalize(st);
		struct tcp_tw *head = st->tw_head;
		bool from_fifo = head && head->expire <= now &&
				 (!st->tw_heap.n || head->expire <= st->tw_heap.a[0].key);
		if (from_fifo) {
			st->tw_head = head->fifo_next;
			if (!st->tw_head)
				st->tw_tail = NULL;
			expire_one(st, head);
			continue;
		}
		if (!st->tw_heap.n || st->tw_heap.a[0].key > now)
			break;
		struct tcp_tw *tw = heap_pop(st);
		if (tw->h.kind != TIDE_EH_TW)
			free(tw);
		else if (tw->expire > now)
			heap_push(st, tw); /* restarted again while in the heap */
		else
			expire_one(st, tw);
	}
}

void tide_tw_free_all(struct tide_stack *st)
{
	while (st->tw_head) {
		struct tcp_tw *tw = st->tw_head;
		st->tw_head = tw->fifo_next;
		free(tw);
	}
	st->tw_tail = NULL;
	for (uint32_t i = 0; i < st->tw_heap.n; i++)
		free(st->tw_heap.a[i].tw);
	free(st->tw_heap.a);
	memset(&st->tw_heap, 0, sizeof(st->tw_heap));
}

static void tw_send_ack(struct tide_stack *st, struct tcp_tw *tw)
{
	struct tide_tcp_opts o;
	memset(&o, 0, sizeof(o));
	if (tw->h.aux8 & TIDE_TW_TS) {
		o.present = TIDE_OPT_TS;
		o.tsval = (uint32_t)(st->now / 1000) + tw->ts_offset;
		o.tsecr = tw->ts_recent;
	}
	uint8_t *tcp = st->txbuf + TIDE_IPV4_HLEN;
	size_t n = tide_tcp_build(tcp, st->txcap - TIDE_IPV4_HLEN, tw->h.key.laddr, tw->h.key.raddr,
				  tw->h.key.lport, tw->h.key.rport, tw->snd_nxt, tw->rcv_nxt,
				  TIDE_TCP_ACK, tw->h.aux16, &o, NULL, 0);
	if (n)
		tide_emit_ip(st, tw->h.key.raddr, tcp, n);
}

/* Linux's tcp_timewait_state_process, for the true TIME_WAIT state. */
void tide_tw_input(struct tide_stack *st, struct tcp_tw *tw, const struct tide_ipv4 *ip,
		   const struct tide_tcp *th)
{
	uint8_t f = th->flags;
	bool has_ts = (tw->h.aux8 & TIDE_TW_TS) && (th->opts.present & TIDE_OPT_TS);
	bool paws_reject = has_ts && !(f & TIDE_TCP_RST) &&
			   (int32_t)(th->opts.tsval - tw->ts_recent) < 0;
	uint32_t end = th->seq + (uint32_t)th->payload_len + ((f & TIDE_TCP_SYN) ? 1 : 0) +
		       ((f & TIDE_TCP_FIN) ? 1 : 0);

	if (!paws_reject && th->seq == tw->rcv_nxt && (th->seq == end || (f & TIDE_TCP_RST))) {
		/* in window: only a RST or a bare ACK can be */
		if (f & TIDE_TCP_RST) {
			if (!st->set->tcp_rfc1337) {
				tide_tw_kill(st, tw); /* TIME_WAIT assassination, as Linux */
				return;
			}
		} else {
			restart(st, tw);
		}
		if (has_ts) {
			tw->ts_recent = th->opts.tsval;
			tw->ts_recent_stamp_s = (uint32_t)(st->now / 1000000u);
		}
		return;
	}
	if ((f & (TIDE_TCP_SYN | TIDE_TCP_RST | TIDE_TCP_ACK)) == TIDE_TCP_SYN && !paws_reject &&
	    (tide_seq_gt(th->seq, tw->rcv_nxt) ||
	     (has_ts && (int32_t)(tw->ts_recent - th->opts.tsval) < 0))) {
		/* A new incarnation of the connection: hand the SYN to the
		 * listener, if there is one. */
		struct tide_sock *l = tide_tcp_find_listener(st, ip->dst, th->dport);
		if (l) {
			tide_tw_kill(st, tw);
			tide_tcp_listen_input(st, l, ip, th);
			return;
		}
	}
	if (paws_reject)
		TIDE_INC(st, PAWSEstab);
	if (!(f & TIDE_TCP_RST)) {
		/* A retransmitted FIN (or anything else): ACK it again and, if
		 * it carried an ACK, start 2MSL over (LC-C05, LC-L04). */
		if (paws_reject || (f & TIDE_TCP_ACK))
			restart(st, tw);
		tw_send_ack(st, tw);
	}
}
