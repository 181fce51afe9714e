/*
 * Listeners: the SYN queue of half-open requests (small records, not full
 * connections, as Linux's request socks) and the accept queue of
 * connections whose handshake is complete (LC-H02).
 */
#include "core/stack_int.h"
#include <stdlib.h>

struct tide_sock *tide_tcp_find_listener(struct tide_stack *st, uint32_t addr, uint16_t port)
{
	struct tide_sock *wild = NULL;
	for (struct tide_sock *l = st->listeners; l; l = l->lnext) {
		if (l->lport != port)
			continue;
		if (l->laddr == addr)
			return l;
		if (l->laddr == 0 && !wild)
			wild = l;
	}
	return wild;
}

static void req_timers(struct tide_stack *st, struct tcp_req *rq, tide_time when)
{
	tide_heap_set(&st->timers, &rq->timer, when);
}

static tide_time synack_timeout(struct tide_stack *st, unsigned n)
{
	tide_time t = TIDE_MS(st->set->tcp_rto_initial_ms) << (n > 30 ? 30 : n);
	tide_time max = TIDE_MS(st->set->tcp_rto_max_ms);
	return t > max ? max : t;
}

static void send_synack(struct tide_stack *st, struct tcp_req *rq)
{
	struct tide_tcp_opts o;
	memset(&o, 0, sizeof(o));
	o.present = TIDE_OPT_MSS;
	o.mss = tide_tcp_adv_mss(st);
	if (rq->sack_ok)
		o.present |= TIDE_OPT_SACK_OK;
	if (rq->ts_ok) {
		o.present |= TIDE_OPT_TS;
		o.tsval = (uint32_t)(st->now / 1000) + rq->ts_offset;
		o.tsecr = rq->ts_recent;
	}
	if (rq->ws_ok) {
		o.present |= TIDE_OPT_WSCALE;
		o.wscale = tide_tcp_rcv_wscale(st);
	}
	uint16_t mss_eff = (uint16_t)(o.mss - (rq->ts_ok ? 12 : 0));
	uint32_t wnd = tide_tcp_initial_rcv_wnd(st, mss_eff);
	uint8_t *tcp = st->txbuf + TIDE_IPV4_HLEN;
	size_t n = tide_tcp_build(tcp, st->txcap - TIDE_IPV4_HLEN, rq->h.key.laddr, rq->h.key.raddr,
				  rq->h.key.lport, rq->h.key.rport, rq->iss, rq->irs + 1,
				  TIDE_TCP_SYN | TIDE_TCP_ACK, (uint16_t)wnd, &o, NULL, 0);
	if (n)
		tide_emit_ip(st, rq->h.key.raddr, tcp, n);
}

void tide_tcp_req_free(struct tide_stack *st, struct tcp_req *rq, bool notify)
{
	tide_htab_remove(st, &rq->h);
	tide_heap_set(&st->timers, &rq->timer, TIDE_TIME_NEVER);
	if (rq->listener && rq->listener->syn_len)
		rq->listener->syn_len--;
	if (notify)
		tide_notify_state(st, &rq->h.key, TIDE_TCP_SYN_RECV, TIDE_TCP_CLOSE);
	free(rq);
}

void tide_tcp_listen_input(struct tide_stack *st, struct tide_sock *lsk, const struct tide_ipv4 *ip,
			   const struct tide_tcp *th)
{
	uint8_t f = th->flags;
	if (f & TIDE_TCP_RST) {
		TIDE_INC(st, DropTcpRst);
		return;
	}
	if (f & TIDE_TCP_ACK) {
		/* no request for it: the handshake it completes is unknown */
		tide_tcp_send_reset_for(st, ip, th);
		TIDE_INC(st, DropTcpNoSocket);
		return;
	}
	if (!(f & TIDE_TCP_SYN)) {
		TIDE_INC(st, DropTcpFlags);
		return;
	}
	if (lsk->acc_len > (uint32_t)lsk->backlog) {
		TIDE_INC(st, ListenOverflows);
		TIDE_INC(st, ListenDrops);
		return;
	}
	if (lsk->syn_len >= (uint32_t)(lsk->backlog > 0 ? lsk->backlog : 1) &&
	    lsk->syn_len >= (uint32_t)st->set->tcp_max_syn_backlog) {
		TIDE_INC(st, ListenDrops);
		return;
	}
	struct tcp_req *rq = calloc(1, sizeof(*rq));
	if (!rq) {
		TIDE_INC(st, ListenDrops);
		return;
	}
	rq->h.kind = TIDE_EH_REQ;
	rq->h.key.laddr = ip->dst;
	rq->h.key.raddr = ip->src;
	rq->h.key.lport = th->dport;
	rq->h.key.rport = th->sport;
	rq->timer.kind = TIDE_EH_REQ;
	rq->timer.when = TIDE_TIME_NEVER;
	rq->listener = lsk;
	rq->irs = th->seq;
	rq->iss = tide_tcp_isn(st, &rq->h.key);
	rq->created = st->now;
	const struct tide_tcp_opts *o = &th->opts;
	rq->peer_mss = (o->present & TIDE_OPT_MSS) ? o->mss : 536;
	rq->ws_ok = st->set->tcp_window_scaling && (o->present & TIDE_OPT_WSCALE);
	rq->snd_wscale = rq->ws_ok ? (o->wscale > 14 ? 14 : o->wscale) : 0;
	rq->sack_ok = st->set->tcp_sack && (o->present & TIDE_OPT_SACK_OK);
	rq->ts_ok = st->set->tcp_timestamps && (o->present & TIDE_OPT_TS);
	if (rq->ts_ok) {
		rq->ts_recent = o->tsval;
		rq->ts_offset = tide_tcp_ts_offset(st, &rq->h.key);
	}
	tide_htab_insert(st, &rq->h);
	lsk->syn_len++;
	tide_notify_state(st, &rq->h.key, TIDE_TCP_LISTEN, TIDE_TCP_SYN_RECV);
	send_synack(st, rq);
	req_timers(st, rq, st->now + synack_timeout(st, 0));
}

void tide_tcp_req_timer(struct tide_stack *st, struct tcp_req *rq)
{
	if (rq->retransmits >= st->set->tcp_synack_retries) {
		tide_tcp_req_free(st, rq, true);
		return;
	}
	rq->retransmits++;
	TIDE_INC(st, RetransSegs);
	send_synack(st, rq);
	req_timers(st, rq, st->now + synack_timeout(st, rq->retransmits));
}

/* The final ACK of a handshake: a full connection is born (Linux's
 * tcp_check_req and syn_recv_sock). */
void tide_tcp_req_input(struct tide_stack *st, struct tcp_req *rq, const struct tide_ipv4 *ip,
			const struct tide_tcp *th)
{
	uint8_t f = th->flags;
	struct tide_sock *lsk = rq->listener;
	if ((f & (TIDE_TCP_SYN | TIDE_TCP_ACK | TIDE_TCP_RST)) == TIDE_TCP_SYN && th->seq == rq->irs) {
		/* the peer did not hear our SYN-ACK: say it again */
		rq->resent = true;
		send_synack(st, rq);
		req_timers(st, rq, st->now + synack_timeout(st, rq->retransmits));
		return;
	}
	if ((f & TIDE_TCP_ACK) && th->ack != rq->iss + 1) {
		tide_tcp_send_reset_for(st, ip, th);
		TIDE_INC(st, DropTcpAck);
		return;
	}
	uint32_t rcv_nxt = rq->irs + 1;
	uint32_t wnd = tide_tcp_initial_rcv_wnd(st, (uint16_t)(tide_tcp_adv_mss(st) - (rq->ts_ok ? 12 : 0)));
	uint32_t end = th->seq + (uint32_t)th->payload_len + ((f & TIDE_TCP_FIN) ? 1 : 0);
	if (tide_seq_lt(end, rcv_nxt) || tide_seq_gt(th->seq, rcv_nxt + wnd)) {
		TIDE_INC(st, DropTcpSequence);
		if (!(f & TIDE_TCP_RST))
			send_synack(st, rq);
		return;
	}
	if (f & (TIDE_TCP_RST | TIDE_TCP_SYN)) {
		TIDE_INC(st, AttemptFails);
		if (!(f & TIDE_TCP_RST))
			tide_tcp_send_reset_for(st, ip, th);
		tide_tcp_req_free(st, rq, true);
		return;
	}
	if (!(f & TIDE_TCP_ACK)) {
		TIDE_INC(st, DropTcpAck);
		return;
	}
	if (lsk->acc_len > (uint32_t)lsk->backlog) {
		/* LC-H03: the accept queue is full */
		TIDE_INC(st, ListenOverflows);
		TIDE_INC(st, ListenDrops);
		rq->acked = true;
		if (st->set->tcp_abort_on_overflow) {
			tide_tcp_send_reset_for(st, ip, th);
			tide_tcp_req_free(st, rq, true);
		}
		return;
	}
	struct tcp_conn *c = tide_tcp_conn_new(st, NULL);
	if (!c) {
		TIDE_INC(st, ListenDrops);
		return;
	}
	c->h.key = rq->h.key;
	c->iss = rq->iss;
	c->snd_una = rq->iss;
	c->snd_nxt = c->snd_max = rq->iss + 1;
	c->irs = rq->irs;
	c->rcv_nxt = c->rcv_wup = rcv_nxt;
	c->rcv_wnd = c->rcv_wnd_clamp = wnd;
	c->rcv_adv = rcv_nxt + wnd;
	c->peer_mss = rq->peer_mss;
	c->ws_ok = rq->ws_ok;
	c->snd_wscale = rq->snd_wscale;
	c->rcv_wscale = rq->ws_ok ? tide_tcp_rcv_wscale(st) : 0;
	c->sack_ok = rq->sack_ok;
	c->ts_ok = rq->ts_ok;
	c->ts_recent = rq->ts_recent;
	c->ts_recent_stamp = st->now;
	c->ts_offset = rq->ts_offset;
	c->nodelay = lsk->nodelay;
	c->keepalive = lsk->keepalive;
	c->reuse = lsk->reuseaddr;
	c->sndbuf = lsk->sndbuf;
	c->rcvbuf = lsk->rcvbuf;
	tide_tcp_set_mss(c);
	if (rq->retransmits == 0 && !rq->resent) {
		tide_tcp_rtt_sample(c, (uint32_t)(st->now - rq->created));
	} else if (c->ts_ok && (th->opts.present & TIDE_OPT_TS) && th->opts.tsecr &&
		   tide_tcp_tsval(c) - th->opts.tsecr < INT32_MAX / 1000) {
		/* Karn: a resent SYN-ACK is timed by its echoed timestamp
		 * (Linux's tcp_ack_update_rtt; 1 ms granularity, at least 1) */
		uint32_t ms = tide_tcp_tsval(c) - th->opts.tsecr;
		tide_tcp_rtt_sample(c, (ms ? ms : 1) * 1000u);
	} else {
		/* RFC 6298 5.7: no sample; Linux's 3 s TCP_TIMEOUT_FALLBACK */
		c->rto_us = 3000000u;
		c->rttvar_us = 750000u;
	}
	c->state = TIDE_TCP_SYN_RECV; /* reported when the request was made */
	c->state_since = rq->created;
	c->listener = lsk;
	tide_tcp_req_free(st, rq, false);
	tide_htab_insert(st, &c->h);
	c->in_ehash = true;
	tide_port_bind_conn(st, c->h.key.lport, c->reuse, 1);
	TIDE_INC(st, PassiveOpens);
	/* the accept queue owns it from now on */
	if (lsk->acc_tail)
		lsk->acc_tail->acc_next = c;
	else
		lsk->acc_head = c;
	lsk->acc_tail = c;
	lsk->acc_len++;
	st->orphans++; /* counted as owned by nobody until accept() */
	tide_tcp_input(st, ip, th);
}

/* Closing a listener resets what it never accepted (LC-H10) and forgets
 * its half-open requests. */
void tide_tcp_listener_stop(struct tide_sock *lsk)
{
	while (lsk->acc_head) {
		struct tcp_conn *c = lsk->acc_head;
		lsk->acc_head = c->acc_next;
		lsk->acc_len--;
		c->acc_next = NULL;
		c->listener = NULL;
		if (c->state == TIDE_TCP_ESTABLISHED || c->state == TIDE_TCP_CLOSE_WAIT ||
		    c->state == TIDE_TCP_SYN_RECV || c->state == TIDE_TCP_FIN_WAIT1 ||
		    c->state == TIDE_TCP_FIN_WAIT2)
			tide_tcp_send_active_reset(c);
		tide_tcp_done(c);
	}
	lsk->acc_tail = NULL;
}

void tide_tcp_listener_drop_requests(struct tide_stack *st, struct tide_sock *lsk)
{
	for (uint32_t i = 0; i <= st->ehash.mask && lsk->syn_len; i++) {
		struct tide_hentry *e = st->ehash.b[i], *next;
		for (; e; e = next) {
			next = e->next;
			if (e->kind != TIDE_EH_REQ)
				continue;
			struct tcp_req *rq = TIDE_CONTAINER_OF(e, struct tcp_req, h);
			if (rq->listener == lsk)
				tide_tcp_req_free(st, rq, true);
		}
	}
}
