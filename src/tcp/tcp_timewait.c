/*
 * TIME_WAIT records (LC-C05, LC-C08). When a connection enters TIME_WAIT
 * its full state is freed and a small record keeps only what is needed to
 * answer a retransmitted FIN and to judge a new SYN for the same 4-tuple.
 * Every record lives tcp_timewait_len from its last restart, so the FIFO
 * of records is also their expiry order.
 *
 * Like Linux, the same record also keeps an orphaned FIN_WAIT_2 (the
 * FIN_WAIT2 substate, TIDE_TW_FW2): it lives max(timeo, 3.5 RTO), reports
 * FIN_WAIT_2, and becomes a true TIME_WAIT when the peer's FIN comes.
 */
#include "core/stack_int.h"

/*
 * Expiry bookkeeping. Records enter a FIFO in expiry order (they all live
 * tcp_timewait_len). A restart (a retransmitted FIN) moves a record's expiry
 * later; such a record is flagged and, once it reaches the head, moves to a
 * small heap, so the FIFO head is always the next FIFO expiry and the exact
 * next expiry is min(FIFO head, heap top).
 *
 * The heap never allocates when a record moves into it: a flagged record
 * reserved its slot when it was flagged (h->pending), so that a shortage
 * of memory can only keep a record's old expiry, never lose its timer.
 */
static int heap_reserve(struct tide_stack *st, uint32_t extra)
{
	struct tide_twheap *h = &st->tw_heap;
	uint32_t need = h->n + h->pending + extra;
	if (need <= h->cap)
		return 0;
	uint32_t ncap = h->cap ? h->cap : 16;
	while (ncap < need)
		ncap *= 2;
	struct tide_twheap_ent *na = tide_mem_realloc(st, TIDE_MEM_TABLE, h->a, (size_t)h->cap * sizeof(*na),
						      (size_t)ncap * sizeof(*na));
	if (!na)
		return -1;
	h->a = na;
	h->cap = ncap;
	return 0;
}

static void heap_push(struct tide_stack *st, struct tcp_tw *tw)
{
	struct tide_twheap *h = &st->tw_heap;
	uint32_t i = h->n++;
	while (i > 0 && h->a[(i - 1) / 2].key > tide_tw_expiry(tw)) {
		h->a[i] = h->a[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->a[i].key = tide_tw_expiry(tw);
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
		if (tw->h.aux8 & TIDE_TW_RESTARTED)
			st->tw_heap.pending--; /* its reserved slot: used now, or freed */
		if (tw->h.kind != TIDE_EH_TW)
			tide_mem_free(st, TIDE_MEM_TW, tw, sizeof(*tw));
		else
			heap_push(st, tw);
	}
}

static void fifo_push(struct tide_stack *st, struct tcp_tw *tw)
{
	if (st->tw_tail && tide_tw_expiry(st->tw_tail) > tide_tw_expiry(tw)) {
		/* the TIME_WAIT length was shortened: keep the FIFO sorted */
		if (heap_reserve(st, 1) == 0) {
			heap_push(st, tw);
			return;
		}
		/* short of memory, the record waits its turn in the FIFO and
		 * lives longer: its expiry says so, and the FIFO stays in
		 * expiry order */
		tide_tw_set_expiry(tw, tide_tw_expiry(st->tw_tail));
	}
	tw->fifo_next = NULL;
	if (st->tw_tail)
		st->tw_tail->fifo_next = tw;
	else
		st->tw_head = tw;
	st->tw_tail = tw;
}

/* Sets a record's expiry and returns the record now in use. A later
 * expiry is caught up lazily (flag, or a stale heap key). An earlier one
 * (a FIN_WAIT_2 record living 3.5 RTO > TIME_WAIT, a shortened
 * tcp_timewait_len) would fire too late from the record's place: a copy
 * takes over, and the old one stays behind, dead, for its FIFO or heap
 * to free. */
static struct tcp_tw *reschedule(struct tide_stack *st, struct tcp_tw *tw, tide_time e)
{
	if (e == tide_tw_expiry(tw))
		return tw;
	if (e > tide_tw_expiry(tw)) {
		if (!(tw->h.aux8 & (TIDE_TW_IN_HEAP | TIDE_TW_RESTARTED))) {
			if (heap_reserve(st, 1) != 0)
				return tw; /* short of memory: no restart */
			st->tw_heap.pending++;
			tw->h.aux8 |= TIDE_TW_RESTARTED;
		}
		tide_tw_set_expiry(tw, e);
		fifo_normalize(st);
		return tw;
	}
	struct tcp_tw *n = tide_mem_alloc(st, TIDE_MEM_TW, sizeof(*n));
	if (!n)
		return tw; /* short of memory: the record keeps its later expiry */
	*n = *tw;
	tide_htab_remove(st, &tw->h);
	tw->h.kind = 0;
	n->h.aux8 &= (uint8_t)~(TIDE_TW_RESTARTED | TIDE_TW_IN_HEAP);
	tide_tw_set_expiry(n, e);
	n->fifo_next = NULL;
	tide_htab_insert(st, &n->h);
	fifo_push(st, n);
	fifo_normalize(st);
	return n;
}

static tide_time twlen(const struct tide_stack *st)
{
	return TIDE_SEC(st->set->tcp_timewait_len);
}

/* A retransmitted FIN (or the like): 2MSL starts over. */
static struct tcp_tw *restart(struct tide_stack *st, struct tcp_tw *tw)
{
	return reschedule(st, tw, st->now + twlen(st));
}

int tide_tw_state(const struct tcp_tw *tw)
{
	return (tw->h.aux8 & TIDE_TW_FW2) ? TIDE_TCP_FIN_WAIT2 : TIDE_TCP_TIME_WAIT;
}

/* When the reported state began: a FIN_WAIT_2 record was made when the
 * orphan reached FIN_WAIT_2 (or when its full socket's first wait ended). */
tide_time tide_tw_state_since(const struct tide_stack *st, const struct tcp_tw *tw)
{
	if (tw->h.aux8 & TIDE_TW_FW2)
		return (tide_time)tw->created_ms * 1000u;
	return tide_tw_expiry(tw) - twlen(st);
}

tide_time tide_tw_next(const struct tide_stack *st)
{
	tide_time at = st->tw_head ? tide_tw_expiry(st->tw_head) : TIDE_TIME_NEVER;
	if (st->tw_heap.n && st->tw_heap.a[0].key < at)
		at = st->tw_heap.a[0].key;
	return at;
}

static void tw_send_ack(struct tide_stack *st, struct tcp_tw *tw);

/* Linux's tcp_time_wait: a record living `life` takes over from c, which
 * ends silently. NULL when none can be had (tcp_max_tw_buckets, memory):
 * c is then CLOSED, as in Linux. */
static struct tcp_tw *make_record(struct tcp_conn *c, tide_time life, bool fw2, bool ack)
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
		return NULL;
	}
	struct tcp_tw *tw = tide_mem_zalloc(st, TIDE_MEM_TW, sizeof(*tw));
	if (!tw) {
		/* Linux counts a record it could not allocate as an overflow */
		TIDE_INC(st, TCPTimeWaitOverflow);
		if (ack)
			tide_tcp_send_ack(c);
		tide_tcp_done(c);
		return NULL;
	}
	tw->h.kind = TIDE_EH_TW;
	tw->h.key = id;
	tw->created_ms = tide_ms32(st->now);
	tide_tw_set_expiry(tw, st->now + life);
	tw->h.aux8 = (uint8_t)((c->ts_ok ? TIDE_TW_TS : 0) | (fw2 ? TIDE_TW_FW2 : 0));
	tw->h.aux16 = (uint16_t)(c->rcv_wnd >> c->rcv_wscale);
	tw->snd_nxt = c->snd_nxt;
	tw->rcv_nxt = c->rcv_nxt;
	tw->ts_recent = c->ts_recent;
	tw->ts_recent_stamp_s = (uint32_t)(c->ts_recent_stamp / 1000000u);
	tide_tw_set_bits(tw, c->rcv_wscale, c->reuse);
	/* The connection object closes silently: its record carries on. */
	c->state = TIDE_TCP_CLOSE;
	c->state_since = st->now;
	tide_tcp_detach_closed(c);
	tide_htab_insert(st, &tw->h);
	struct tide_port *p = tide_port_get(st, id.lport, true);
	if (p) {
		p->ntw++;
		p->nuse[tide_tw_reuse(tw)]++;
	}
	st->tw_count++;
	/* Linux 6.x counts a record when it is scheduled, not when it ends:
	 * TW, or TWKilled if it lives 4 s or less (__inet_twsk_schedule) */
	if (life > TIDE_SEC(4))
		TIDE_INC(st, TW);
	else
		TIDE_INC(st, TWKilled);
	fifo_push(st, tw);
	if (old != tide_tw_state(tw))
		tide_notify_state(st, &id, old, tide_tw_state(tw));
	return tw;
}

void tide_tcp_time_wait(struct tcp_conn *c, bool ack)
{
	struct tide_stack *st = c->st; /* c is gone after make_record */
	struct tcp_tw *tw = make_record(c, twlen(st), false, ack);
	if (tw && ack)
		tw_send_ack(st, tw);
}

void tide_tcp_fin_wait2_record(struct tcp_conn *c, tide_time timeo)
{
	/* Linux keeps it at least 3.5 RTO (for two retransmissions of the
	 * peer's FIN), whatever the timeout asked for. */
	tide_time min = tide_tcp_rto_3_5(c);
	make_record(c, timeo > min ? timeo : min, true, false);
}

static void tw_unlink(struct tide_stack *st, struct tcp_tw *tw)
{
	tide_htab_remove(st, &tw->h);
	struct tide_port *p = tide_port_get(st, tw->h.key.lport, false);
	if (p && p->ntw) {
		p->ntw--;
		p->nuse[tide_tw_reuse(tw)]--;
	}
	st->tw_count--;
}

/* Ends a record early (RST, a new SYN, connect()). Its memory stays with
 * the FIFO or the heap, marked dead (kind 0), until its turn comes. No
 * counter: Linux counted the record when it began. */
void tide_tw_kill(struct tide_stack *st, struct tcp_tw *tw)
{
	tw_unlink(st, tw);
	tw->h.kind = 0;
	tide_notify_state(st, &tw->h.key, tide_tw_state(tw), TIDE_TCP_CLOSE);
	fifo_normalize(st);
}

static void expire_one(struct tide_stack *st, struct tcp_tw *tw)
{
	tw_unlink(st, tw);
	tide_notify_state(st, &tw->h.key, tide_tw_state(tw), TIDE_TCP_CLOSE);
	tide_mem_free(st, TIDE_MEM_TW, tw, sizeof(*tw));
}

void tide_tw_expire(struct tide_stack *st, tide_time now)
{
	for (;;) {
		fifo_normalize(st);
		struct tcp_tw *head = st->tw_head;
		bool from_fifo = head && tide_tw_expiry(head) <= now &&
				 (!st->tw_heap.n || tide_tw_expiry(head) <= st->tw_heap.a[0].key);
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
			tide_mem_free(st, TIDE_MEM_TW, tw, sizeof(*tw));
		else if (tide_tw_expiry(tw) > now)
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
		tide_mem_free(st, TIDE_MEM_TW, tw, sizeof(*tw));
	}
	st->tw_tail = NULL;
	for (uint32_t i = 0; i < st->tw_heap.n; i++)
		tide_mem_free(st, TIDE_MEM_TW, st->tw_heap.a[i].tw, sizeof(struct tcp_tw));
	tide_mem_free(st, TIDE_MEM_TABLE, st->tw_heap.a, (size_t)st->tw_heap.cap * sizeof(*st->tw_heap.a));
	memset(&st->tw_heap, 0, sizeof(st->tw_heap));
}

static void tw_send_ack(struct tide_stack *st, struct tcp_tw *tw)
{
	struct tide_tcp_opts o;
	memset(&o, 0, sizeof(o));
	if (tw->h.aux8 & TIDE_TW_TS) {
		o.present = TIDE_OPT_TS;
		/* the offset is a keyed hash of the addresses: recomputed, not kept */
		o.tsval = (uint32_t)(st->now / 1000) + tide_tcp_ts_offset(st, &tw->h.key);
		o.tsecr = tw->ts_recent;
	}
	uint8_t *tcp = st->txbuf + TIDE_IPV4_HLEN;
	size_t n = tide_tcp_build(tcp, st->txcap - TIDE_IPV4_HLEN, tw->h.key.laddr, tw->h.key.raddr,
				  tw->h.key.lport, tw->h.key.rport, tw->snd_nxt, tw->rcv_nxt,
				  TIDE_TCP_ACK, tw->h.aux16, &o, NULL, 0);
	if (n)
		tide_emit_ip(st, tw->h.key.raddr, tcp, n);
}

/* Linux's tcp_paws_reject for a record: the segment's TSval is older than
 * the last one taken, unless that one is 0 or older than TCP_PAWS_WRAP
 * (2147 s); a RST only while the last one is under TCP_PAWS_MSL (60 s) old
 * (so an old-stamped RST cannot end TIME_WAIT, LC-K15). */
static bool tw_paws_reject(const struct tide_stack *st, const struct tcp_tw *tw, uint32_t tsval,
			   bool rst)
{
	uint32_t now_s = (uint32_t)(st->now / 1000000u);
	if ((int32_t)(tw->ts_recent - tsval) <= 0 || !tw->ts_recent ||
	    (int32_t)(now_s - (tw->ts_recent_stamp_s + 2147u)) >= 0)
		return false;
	return !rst || (int32_t)(now_s - (tw->ts_recent_stamp_s + 60u)) < 0;
}

/* Linux's tcp_timewait_check_oow_rate_limit: the ACK answering a SYN or a
 * segment without data or FIN goes at most once per tcp_invalid_ratelimit
 * (TCPACKSkippedTimeWait); the one answering data or a FIN always goes. */
static void tw_send_oow_ack(struct tide_stack *st, struct tcp_tw *tw, const struct tide_tcp *th)
{
	if ((th->flags & TIDE_TCP_SYN) || (th->payload_len == 0 && !(th->flags & TIDE_TCP_FIN))) {
		if (tw->last_oow_ms && tide_ms32(st->now) - tw->last_oow_ms < (uint32_t)st->set->tcp_invalid_ratelimit) {
			TIDE_INC(st, TCPACKSkippedTimeWait);
			return;
		}
		tw->last_oow_ms = tide_ms32(st->now) ? tide_ms32(st->now) : 1;
	}
	tw_send_ack(st, tw);
}

/* Linux's tcp_in_window: the segment [seq, end) touches [s, e). */
static bool tw_in_window(uint32_t seq, uint32_t end, uint32_t s, uint32_t e)
{
	if (seq == s)
		return true;
	if (tide_seq_gt(end, s) && tide_seq_lt(seq, e))
		return true;
	return seq == e && seq == end;
}

/* A segment the record answers with a RST, which ends it (Linux's
 * TCP_TW_RST: no TCPAbortOnData, the orphan's socket is gone). */
static void tw_reset(struct tide_stack *st, struct tcp_tw *tw, const struct tide_ipv4 *ip,
		     const struct tide_tcp *th)
{
	tide_tcp_send_reset_for(st, ip, th);
	tide_tw_kill(st, tw);
}

/* Linux's tcp_timewait_state_process for the FIN_WAIT2 substate: "repeat
 * the checks of tcp_rcv_state_process". */
static void fw2_input(struct tide_stack *st, struct tcp_tw *tw, const struct tide_ipv4 *ip,
		      const struct tide_tcp *th, bool has_ts, bool paws_reject, uint32_t end)
{
	uint8_t f = th->flags;
	uint32_t wnd = (uint32_t)tw->h.aux16 << tide_tw_wscale(tw);
	if (paws_reject || !tw_in_window(th->seq, end, tw->rcv_nxt, tw->rcv_nxt + wnd)) {
		/* out of window (even a RST): an ACK, rate-limited as Linux's
		 * tcp_timewait_check_oow_rate_limit */
		if ((f & TIDE_TCP_SYN) || th->seq == end) {
			if (tw->last_oow_ms && tide_ms32(st->now) - tw->last_oow_ms < (uint32_t)st->set->tcp_invalid_ratelimit) {
				TIDE_INC(st, TCPACKSkippedFinWait2);
				return;
			}
			tw->last_oow_ms = tide_ms32(st->now) ? tide_ms32(st->now) : 1;
		}
		tw_send_ack(st, tw);
		return;
	}
	if (f & TIDE_TCP_RST) {
		tide_tw_kill(st, tw);
		return;
	}
	if ((f & TIDE_TCP_SYN) && !tide_seq_lt(th->seq, tw->rcv_nxt)) {
		tw_reset(st, tw, ip, th);
		return;
	}
	if (!(f & TIDE_TCP_ACK) || !tide_seq_gt(end, tw->rcv_nxt) || end == th->seq)
		return; /* a duplicate ACK: nothing to do */
	if (!(f & TIDE_TCP_FIN) || end != tw->rcv_nxt + 1) {
		tw_reset(st, tw, ip, th); /* new data after the application closed */
		return;
	}
	/* The peer's FIN: a true TIME_WAIT from now, for 2MSL. */
	tw->h.aux8 &= (uint8_t)~TIDE_TW_FW2;
	tw->rcv_nxt = end;
	if (has_ts) {
		tw->ts_recent = th->opts.tsval;
		tw->ts_recent_stamp_s = (uint32_t)(st->now / 1000000u);
		tw->created_ms = tide_ms32(st->now); /* Linux 6.13+: tw_entry_stamp */
	}
	tide_notify_state(st, &tw->h.key, TIDE_TCP_FIN_WAIT2, TIDE_TCP_TIME_WAIT);
	tw = restart(st, tw);
	tw_send_ack(st, tw);
}

/* Linux's tcp_timewait_state_process. */
void tide_tw_input(struct tide_stack *st, struct tcp_tw *tw, const struct tide_ipv4 *ip,
		   const struct tide_tcp *th)
{
	uint8_t f = th->flags;
	bool has_ts = (tw->h.aux8 & TIDE_TW_TS) && (th->opts.present & TIDE_OPT_TS);
	bool paws_reject = has_ts && tw_paws_reject(st, tw, th->opts.tsval, (f & TIDE_TCP_RST) != 0);
	uint32_t end = th->seq + (uint32_t)th->payload_len + ((f & TIDE_TCP_SYN) ? 1 : 0) +
		       ((f & TIDE_TCP_FIN) ? 1 : 0);

	if (tw->h.aux8 & TIDE_TW_FW2) {
		fw2_input(st, tw, ip, th, has_ts, paws_reject, end);
		return;
	}

	if (!paws_reject && th->seq == tw->rcv_nxt && (th->seq == end || (f & TIDE_TCP_RST))) {
		/* in window: only a RST or a bare ACK can be */
		if (f & TIDE_TCP_RST) {
			if (!st->set->tcp_rfc1337) {
				tide_tw_kill(st, tw); /* TIME_WAIT assassination, as Linux */
				return;
			}
		} else {
			tw = restart(st, tw);
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
		 * listener, if there is one, with the ISN the new connection
		 * must use, above all this one sent: SND.NXT + 65535 + 2, never
		 * 0 (RFC 1122 4.2.2.13; Linux's tw_isn). Without a listener it
		 * is ACKed, not rate-limited, and 2MSL goes on. */
		struct tide_sock *l = tide_tcp_find_listener(st, &tw->h.key);
		if (l) {
			uint32_t isn = tw->snd_nxt + 65535u + 2u;
			tide_tw_kill(st, tw);
			st->tw_isn = isn ? isn : 1u;
			tide_tcp_listen_input(st, l, ip, th);
			return;
		}
		tw_send_ack(st, tw);
		return;
	}
	if (paws_reject)
		TIDE_INC(st, PAWSTimewait);
	if (!(f & TIDE_TCP_RST)) {
		/* A retransmitted FIN (or anything else): ACK it again and, if
		 * it carried an ACK, start 2MSL over (LC-C05, LC-L04). A SYN
		 * without ACK may be a new connection's: no restart. */
		if (paws_reject || (f & TIDE_TCP_ACK))
			tw = restart(st, tw);
		tw_send_oow_ack(st, tw, th);
	}
}

/* Linux's tcp_twsk_unique (LC-K08). Only a record of a connection that used
 * timestamps (PAWS then keeps old segments out) can be taken over. With the
 * port from bind() it is taken at once, whatever tcp_tw_reuse says (Linux:
 * the application chose the 4-tuple); with an ephemeral port only if
 * tcp_tw_reuse allows and the record is over tcp_tw_reuse_delay ms old
 * (counted from its entry into TIME_WAIT, in whole ms: Linux 6.13+'s
 * tw_entry_stamp). tcp_tw_reuse 2 means "loopback only": Linux asks for
 * either address in 127.0.0.0/8 (or the lo device, which tide has not). */
bool tide_tw_reusable(struct tide_stack *st, const struct tcp_tw *tw, bool port_bound)
{
	if (!(tw->h.aux8 & TIDE_TW_TS))
		return false;
	if (port_bound)
		return true;
	int reuse = st->set->tcp_tw_reuse;
	if (tw->h.aux8 & TIDE_TW_FW2)
		reuse = 0; /* Linux's FIN_WAIT2 substate */
	if (reuse == 2 && (tw->h.key.laddr >> 24) != 127 && (tw->h.key.raddr >> 24) != 127)
		reuse = 0;
	if (!reuse)
		return false;
	uint32_t thresh = tw->created_ms + (uint32_t)st->set->tcp_tw_reuse_delay;
	return (int32_t)((uint32_t)(st->now / 1000u) - thresh) > 0;
}
