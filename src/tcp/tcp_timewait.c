/*
 * TIME_WAIT records (LC-C05, LC-C08). When a connection enters TIME_WAIT
 * its full state is freed and a small record keeps only what is needed to
 * answer a retransmitted FIN and to judge a new SYN for the same 4-tuple.
 * Every record lives tcp_timewait_len from its last restart, so the FIFO
 * of records is also their expiry order.
 */
#include "core/stack_int.h"
#include <stdlib.h>

static void fifo_push(struct tide_stack *st, struct tcp_tw *tw)
{
	tw->fifo_next = NULL;
	if (st->tw_tail)
		st->tw_tail->fifo_next = tw;
	else
		st->tw_head = tw;
	st->tw_tail = tw;
}

/* Restarting 2MSL only moves the expiry later; the record is moved to the
 * tail lazily when it reaches the head (tide_tw_expire). */
static void restart(struct tide_stack *st, struct tcp_tw *tw)
{
	tw->expire = st->now + TIDE_SEC(st->set->tcp_timewait_len);
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
	restart(st, tw);
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

/* Ends a record early (RST, a new SYN, tcp_tw_reuse). It stays in the
 * FIFO marked dead (kind 0) until it reaches the head. */
void tide_tw_kill(struct tide_stack *st, struct tcp_tw *tw)
{
	tw_unlink(st, tw);
	tw->h.kind = 0;
	tide_notify_state(st, &tw->h.key, TIDE_TCP_TIME_WAIT, TIDE_TCP_CLOSE);
}

void tide_tw_expire(struct tide_stack *st, tide_time now)
{
	while (st->tw_head && st->tw_head->expire <= now) {
		struct tcp_tw *tw = st->tw_head;
		st->tw_head = tw->fifo_next;
		if (!st->tw_head)
			st->tw_tail = NULL;
		if (tw->h.kind == TIDE_EH_TW) {
			tw_unlink(st, tw);
			TIDE_INC(st, TW);
			tide_notify_state(st, &tw->h.key, TIDE_TCP_TIME_WAIT, TIDE_TCP_CLOSE);
		}
		free(tw);
	}
	/* Restarted records sit in the FIFO with a later expiry: move them to
	 * the tail so the head is always the next to expire. */
	while (st->tw_head && st->tw_head->h.kind == TIDE_EH_TW &&
	       st->tw_head != st->tw_tail && st->tw_head->expire > st->tw_tail->expire) {
		struct tcp_tw *tw = st->tw_head;
		st->tw_head = tw->fifo_next;
		fifo_push(st, tw);
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
