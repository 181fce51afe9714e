/*
 * The inbound path: demultiplexing, and the segment processing of RFC 9293
 * §3.10.7 for every state of a full connection, with Linux's choices where
 * the RFC leaves room (RFC 5961 challenge ACKs, delayed ACK of a FIN,
 * FIN_WAIT_1 straight to TIME_WAIT on FIN+ACK).
 */
#include "core/stack_int.h"

/* Linux answers out-of-window pure ACKs at most once per
 * tcp_invalid_ratelimit per connection, which breaks ACK loops between two
 * confused ends. */
#define TIDE_OOW_RATELIMIT TIDE_MS(c->st->set->tcp_invalid_ratelimit)

static uint32_t seg_len(const struct tide_tcp *th)
{
	return (uint32_t)th->payload_len + ((th->flags & TIDE_TCP_SYN) ? 1 : 0) +
	       ((th->flags & TIDE_TCP_FIN) ? 1 : 0);
}

/* A RST for a segment that has no connection (RFC 9293 §3.10.7.1). */
void tide_tcp_send_reset_for(struct tide_stack *st, const struct tide_ipv4 *ip, const struct tide_tcp *th)
{
	if (th->flags & TIDE_TCP_RST)
		return;
	uint32_t seq, ack = 0;
	uint8_t flags = TIDE_TCP_RST;
	if (th->flags & TIDE_TCP_ACK) {
		seq = th->ack;
	} else {
		seq = 0;
		ack = th->seq + seg_len(th);
		flags |= TIDE_TCP_ACK;
	}
	uint8_t *tcp = st->txbuf + TIDE_IPV4_HLEN;
	size_t n = tide_tcp_build(tcp, st->txcap - TIDE_IPV4_HLEN, ip->dst, ip->src, th->dport,
				  th->sport, seq, ack, flags, 0, NULL, NULL, 0);
	if (!n)
		return;
	TIDE_INC(st, OutRsts);
	tide_emit_ip(st, ip->src, tcp, n);
}

/* Linux's __tcp_oow_rate_limited: true (and `skipped` counted) while the
 * connection answered an unacceptable segment less than
 * tcp_invalid_ratelimit ago; else the answer may go and starts the wait. */
static bool oow_limited(struct tcp_conn *c, enum tide_counter skipped)
{
	tide_time now = c->st->now;
	if (c->last_rcv_oow && now - c->last_rcv_oow < TIDE_OOW_RATELIMIT) {
		c->st->mib[skipped]++;
		return true;
	}
	c->last_rcv_oow = now ? now : 1;
	return false;
}

/* Linux's tcp_oow_rate_limited: only segments that occupy no sequence
 * space, and SYNs, are limited (ACK loops are made of those); data and
 * FINs always get their duplicate ACK (checked on Linux 6.18: ten
 * out-of-window FINs, ten answers). */
static bool oow_rate_limited(struct tcp_conn *c, const struct tide_tcp *th,
			     enum tide_counter skipped)
{
	if (seg_len(th) && !(th->flags & TIDE_TCP_SYN))
		return false;
	return oow_limited(c, skipped);
}

/* Linux's tcp_reset_check: after the peer's FIN, a RST carrying the FIN's
 * own number (RCV.NXT - 1) is taken as exact. */
static bool rst_at_fin(const struct tcp_conn *c, const struct tide_tcp *th)
{
	return c->fin_rcvd && th->seq == c->rcv_nxt - 1 &&
	       (c->state == TIDE_TCP_CLOSE_WAIT || c->state == TIDE_TCP_LAST_ACK ||
		c->state == TIDE_TCP_CLOSING);
}

/* RFC 5961 §7, as Linux's tcp_send_challenge_ack: at most one challenge
 * ACK per tcp_invalid_ratelimit per connection, on the clock of the
 * out-of-window answers (TCPACKSkippedChallenge); then, unless
 * tcp_challenge_ack_limit is INT_MAX (the default since Linux 6.0), a
 * budget for the whole stack drawn at each new second of the clock at
 * random in [half, limit + half - 1], half = (limit + 1) / 2, so an
 * attacker cannot count the limit off the answers (CVE-2016-5696). The
 * draw is Linux's get_random_u32_inclusive: with limit 0 the span wraps
 * to all 2^32 values (measured on 6.18: limit 0 answers every one). */
static void send_challenge_ack(struct tcp_conn *c)
{
	struct tide_stack *st = c->st;
	if (oow_limited(c, TIDE_MIB_TCPACKSkippedChallenge))
		return;
	uint32_t limit = (uint32_t)st->set->tcp_challenge_ack_limit;
	if (limit != (uint32_t)INT32_MAX) {
		uint64_t second = st->now / TIDE_SEC(1) + 1;
		if (second != st->challenge_second) {
			uint32_t half = (limit + 1) >> 1;
			uint32_t r = tide_random_u32(st);
			st->challenge_second = second;
			/* floor + r * span / 2^32; span limit (0 meaning 2^32) */
			uint32_t extra = limit ? (uint32_t)(((uint64_t)limit * r) >> 32) : r;
			st->challenge_count = half + extra;
		}
		if (st->challenge_count == 0)
			return;
		st->challenge_count--;
	}
	TIDE_INC(st, TCPChallengeACK);
	tide_tcp_send_ack(c);
}

/* Options of an incoming SYN or SYN-ACK decide what the connection uses. */
static void take_syn_options(struct tcp_conn *c, const struct tide_tcp *th)
{
	struct tide_settings *s = c->st->set;
	const struct tide_tcp_opts *o = &th->opts;
	c->peer_mss = (o->present & TIDE_OPT_MSS) ? o->mss : 536;
	c->ws_ok = s->tcp_window_scaling && (o->present & TIDE_OPT_WSCALE);
	if (c->ws_ok) {
		c->snd_wscale = o->wscale > 14 ? 14 : o->wscale;
	} else {
		c->snd_wscale = 0;
		c->rcv_wscale = 0;
	}
	c->sack_ok = s->tcp_sack && (o->present & TIDE_OPT_SACK_OK);
	c->ts_ok = s->tcp_timestamps && (o->present & TIDE_OPT_TS);
	if (c->ts_ok) {
		c->ts_recent = o->tsval;
		c->ts_recent_stamp = c->st->now;
	}
	tide_tcp_set_mss(c);
}

static void update_ts_recent(struct tcp_conn *c, const struct tide_tcp *th)
{
	/* RFC 7323 §4.3: remember the newest TSval of a segment that covers
	 * the left edge of the window. */
	if (c->ts_ok && (th->opts.present & TIDE_OPT_TS) &&
	    tide_seq_le(th->seq, c->rcv_wup) &&
	    (int32_t)(th->opts.tsval - c->ts_recent) >= 0) {
		c->ts_recent = th->opts.tsval;
		c->ts_recent_stamp = c->st->now;
	}
}

static void update_window(struct tcp_conn *c, const struct tide_tcp *th)
{
	uint32_t wnd = (uint32_t)th->window << c->snd_wscale;
	if (tide_seq_lt(c->snd_wl1, th->seq) ||
	    (c->snd_wl1 == th->seq && tide_seq_le(c->snd_wl2, th->ack))) {
		bool opened = c->snd_wnd == 0 && wnd > 0;
		c->snd_wnd = wnd;
		c->snd_wl1 = th->seq;
		c->snd_wl2 = th->ack;
		if (wnd > c->max_window)
			c->max_window = wnd;
		if (opened && c->rexmit_is_probe) {
			c->t_rexmit = TIDE_TIME_NEVER;
			c->rexmit_is_probe = false;
			c->backoff = 0;
			c->probes_out = 0;
		}
	}
}

/* Linux's fallback RTT sample (tcp_ack_update_rtt): when Karn's rule
 * forbids timing acknowledged data that was retransmitted, the echoed
 * timestamp still measures the last transmission (ms granularity, at
 * least 1 ms). Returns true if a sample was taken. */
static bool ts_rtt_sample(struct tcp_conn *c, const struct tide_tcp *th)
{
	if (!c->ts_ok || !(th->opts.present & TIDE_OPT_TS) || !th->opts.tsecr)
		return false;
	uint32_t ms = tide_tcp_tsval(c) - th->opts.tsecr;
	if (ms >= INT32_MAX / 1000)
		return false;
	tide_tcp_rtt_sample(c, (ms ? ms : 1) * 1000u);
	return true;
}

/* ---- SYN_SENT (RFC 9293 §3.10.7.3) ---- */
static int rcv_syn_sent(struct tcp_conn *c, const struct tide_ipv4 *ip, const struct tide_tcp *th)
{
	struct tide_stack *st = c->st;
	uint8_t f = th->flags;
	bool ack_ok = false;
	if (f & TIDE_TCP_ACK) {
		if (tide_seq_le(th->ack, c->iss) || tide_seq_gt(th->ack, c->snd_max)) {
			if (!(f & TIDE_TCP_RST))
				tide_tcp_send_reset_for(st, ip, th);
			TIDE_INC(st, DropTcpAck);
			return -(int)TIDE_MIB_DropTcpAck;
		}
		ack_ok = true;
	}
	if (f & TIDE_TCP_RST) {
		if (ack_ok) {
			tide_tcp_reset_conn(c, 0);
			return 0;
		}
		TIDE_INC(st, DropTcpRst);
		return -(int)TIDE_MIB_DropTcpRst;
	}
	if (!(f & TIDE_TCP_SYN)) {
		TIDE_INC(st, DropTcpFlags);
		return -(int)TIDE_MIB_DropTcpFlags;
	}
	c->irs = th->seq;
	c->rcv_nxt = th->seq + 1;
	c->rcv_wup = c->rcv_nxt;
	take_syn_options(c, th);
	c->snd_wnd = th->window; /* never scaled in a SYN (RFC 7323 §2.2) */
	c->max_window = c->snd_wnd;
	c->snd_wl1 = th->seq;
	c->snd_wl2 = th->ack;
	if (ack_ok) {
		c->bytes_acked += th->ack - c->snd_una; /* our SYN */
		c->snd_una = th->ack;
		if (c->rtt_timing && c->retransmits == 0)
			tide_tcp_rtt_sample(c, (uint32_t)(st->now - c->rtt_time));
		else if (!ts_rtt_sample(c, th) && c->srtt_us == 0) {
			/* RFC 6298 5.7: no sample from the handshake (a
			 * retransmitted SYN, no timestamps): Linux falls back
			 * to a 3 s RTO (TCP_TIMEOUT_FALLBACK; tcpi_rttvar
			 * then shows a quarter of it). */
			c->rto_us = 3000000u;
			c->rttvar_us = 750000u;
		}
		c->rtt_timing = false;
		/* Linux's tcp_init_transfer: IW10, or one segment once the SYN
		 * went more than twice (RFC 5681 §3.1). The SYN timeouts set
		 * cwnd in the MSS known then (536): left so, a write of more
		 * than that would wait for the persist timer. */
		c->cwnd = (c->retransmits > 1 ? 1u : 10u) * c->mss;
		c->retransmits = 0;
		c->backoff = 0;
		c->t_rexmit = TIDE_TIME_NEVER;
		/* the window announced in our SYN stays the clamp (Linux keeps
		 * the rcv_wnd chosen at connect()) */
		c->rcv_wnd = c->rcv_wnd_clamp;
		c->rcv_adv = c->rcv_nxt + c->rcv_wnd;
		tide_tcp_set_state(c, TIDE_TCP_ESTABLISHED);
		tide_tcp_keepalive_start(c);
		tide_tcp_send_ack(c);
		if (c->sk)
			tide_sock_wakeup(c->sk);
		tide_tcp_output(c);
		return 0;
	}
	/* Simultaneous open: our SYN crossed theirs. */
	tide_tcp_set_state(c, TIDE_TCP_SYN_RECV);
	c->retransmits = 0;
	c->backoff = 0;
	tide_tcp_send_syn(c, true);
	tide_tcp_rearm_rexmit(c);
	return 0;
}

/* Takes newly acknowledged bytes out of the send queue, samples the RTT and
 * grows the congestion window. */
static void ack_advance(struct tcp_conn *c, uint32_t ack, const struct tide_tcp *th)
{
	struct tide_stack *st = c->st;
	uint32_t acked = ack - c->snd_una;
	uint32_t data_acked = acked;
	if (!tide_seq_gt(c->snd_una, c->iss))
		data_acked--; /* the SYN */
	if (c->fin_sent && tide_seq_gt(ack, c->fin_seq))
		data_acked--; /* the FIN */
	if (data_acked > c->sndq.len)
		data_acked = c->sndq.len;
	bool was_writable = c->sk && (tide_sock_poll_mask(c->sk) & EPOLLOUT);
	tide_ring_consume(st, &c->sndq, data_acked, TIDE_MEM_SNDBUF);
	c->bytes_acked += acked;
	c->snd_una = ack;
	if (tide_seq_lt(c->snd_nxt, ack))
		c->snd_nxt = ack;
	bool sampled = false;
	if (c->rtt_timing && tide_seq_ge(ack, c->rtt_seq)) {
		if (c->retransmits == 0) {
			tide_tcp_rtt_sample(c, (uint32_t)(st->now - c->rtt_time));
			sampled = true;
		}
		c->rtt_timing = false;
	}
	if (!sampled && c->retransmits)
		sampled = ts_rtt_sample(c, th);
	if (c->in_recovery) {
		if (tide_seq_ge(ack, c->recover)) {
			c->in_recovery = false;
			c->cwnd = c->ssthresh;
		} else {
			tide_tcp_retransmit_head(c); /* NewReno partial ACK */
		}
	} else if (c->cwnd < c->ssthresh) {
		c->cwnd += acked < c->mss ? acked : c->mss;
	} else {
		uint32_t inc = (uint32_t)((uint64_t)c->mss * c->mss / (c->cwnd ? c->cwnd : 1));
		c->cwnd += inc ? inc : 1;
	}
	/* RFC 6298 5.7 and Karn: the backed-off RTO stays until a valid RTT
	 * sample; the ACK of data sent once would give Linux one. */
	if (sampled || !c->retransmits)
		c->backoff = 0;
	c->retransmits = 0;
	c->probes_out = 0;
	c->dupacks = 0;
	if (c->snd_una == c->snd_max) {
		c->t_rexmit = TIDE_TIME_NEVER;
	} else {
		c->retrans_stamp = st->now;
		tide_tcp_rearm_rexmit(c);
	}
	/* Like Linux's sk_stream_write_space: wake writers only when the
	 * socket was short of space and is writable again (no new EPOLLET
	 * edge for an ACK of a socket that stayed writable). */
	if (c->sk && data_acked && !was_writable && (tide_sock_poll_mask(c->sk) & EPOLLOUT))
		tide_sock_wakeup(c->sk);
}

static void fast_retransmit(struct tcp_conn *c)
{
	uint32_t flight = c->snd_max - c->snd_una;
	c->ssthresh = flight / 2 > 2u * c->mss ? flight / 2 : 2u * c->mss;
	c->cwnd = c->ssthresh + 3u * c->mss;
	c->in_recovery = true;
	c->recover = c->snd_max;
	c->rtt_timing = false;
	tide_tcp_retransmit_head(c);
}

/* ---- data and the out-of-order queue ---- */

/* Bytes the receive queues may hold. The window we announced is a promise:
 * rounded up to the scale unit and never moved left, its right edge can lie
 * beyond rcvbuf, and data up to it is taken (Linux's memory accounting has
 * that slack). */
static uint32_t rcv_space_cap(const struct tcp_conn *c)
{
	uint32_t cap = c->rcvq.len + (tide_seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0);
	return cap > (uint32_t)c->rcvbuf ? cap : (uint32_t)c->rcvbuf;
}

/* Linux's tcp_prune_ofo_queue, one segment at a time: the out-of-order
 * segment with the highest sequence number goes, if it lies after seq (the
 * segment that wants the memory). */
static bool ofo_prune_one(struct tcp_conn *c, uint32_t seq)
{
	struct tcp_ofo **last = NULL;
	for (struct tcp_ofo **pp = &c->ofo; *pp; pp = &(*pp)->next)
		last = pp;
	if (!last || !tide_seq_gt((*last)->seq, seq))
		return false;
	struct tcp_ofo *o = *last;
	*last = NULL;
	c->ofo_bytes -= o->len;
	tide_mem_free(c->st, TIDE_MEM_OFO, o, sizeof(*o) + o->len);
	return true;
}

/* Linux's tcp_try_rmem_schedule: may the receive queues grow by `bytes`
 * for a segment at seq (net.ipv4.tcp_mem)? If not, out-of-order data after
 * it is given up first (OfoPruned), newest sequence first. */
static bool rmem_schedule(struct tcp_conn *c, uint32_t seq, size_t bytes)
{
	bool ok = tide_mem_schedule(c, bytes, TIDE_MEM_RECV), pruned = false;
	while (!ok && ofo_prune_one(c, seq)) {
		pruned = true;
		ok = tide_mem_schedule(c, bytes, TIDE_MEM_RECV);
	}
	if (pruned)
		TIDE_INC(c->st, OfoPruned);
	return ok;
}

/* Returns false if the segment was dropped for memory (tcp_mem, or an
 * allocation failure): Linux's tcp_data_queue_ofo neither queues nor
 * ACKs it. */
static bool ofo_insert(struct tcp_conn *c, uint32_t seq, const uint8_t *data, uint32_t len, bool fin)
{
	struct tcp_ofo **pp = &c->ofo;
	while (*pp && tide_seq_lt((*pp)->seq, seq))
		pp = &(*pp)->next;
	if (*pp && (*pp)->seq == seq && (*pp)->len >= len && ((*pp)->fin || !fin))
		return true; /* a duplicate of what we hold */
	if ((int64_t)rcv_space_cap(c) - c->rcvq.len - c->ofo_bytes < (int64_t)len) {
		TIDE_INC(c->st, TCPOFODrop);
		return true;
	}
	struct tcp_ofo *o = NULL;
	if (rmem_schedule(c, seq, sizeof(*o) + len))
		o = tide_mem_alloc(c->st, TIDE_MEM_OFO, sizeof(*o) + len);
	if (!o) {
		TIDE_INC(c->st, TCPOFODrop);
		TIDE_INC(c->st, DropTcpMemory);
		return false;
	}
	for (pp = &c->ofo; *pp && tide_seq_lt((*pp)->seq, seq);) /* pruning may have moved it */
		pp = &(*pp)->next;
	o->seq = seq;
	o->len = len;
	o->fin = fin;
	o->stamp = 1;
	for (struct tcp_ofo *q = c->ofo; q; q = q->next)
		if (q->stamp >= o->stamp)
			o->stamp = q->stamp + 1;
	memcpy(o->data, data, len);
	o->next = *pp;
	*pp = o;
	c->ofo_bytes += len;
	TIDE_INC(c->st, TCPOFOQueue);
	return true;
}

enum rcvq_result { RCVQ_TAKEN, RCVQ_SHORT, RCVQ_NOMEM };

/* Appends in-order bytes starting at rcv_nxt: RCVQ_SHORT if the receive
 * queue had no room for all of them, RCVQ_NOMEM if none were taken for
 * want of memory. As Linux's tcp_data_queue, a segment the queue's memory
 * cannot grow for is dropped and the ACK, at once, shows window 0
 * (ICSK_ACK_NOMEM); but an empty queue takes it all the same
 * (sk_forced_mem_schedule), as does `forced` (data already held
 * out of order). */
static enum rcvq_result queue_in_order(struct tcp_conn *c, const uint8_t *data, uint32_t len, bool forced)
{
	if (!len)
		return RCVQ_TAKEN;
	uint32_t cap = rcv_space_cap(c), need = c->rcvq.len + len;
	uint32_t grow = tide_ring_grow_size(&c->rcvq, need < cap ? need : cap, cap);
	if (grow) {
		if (!forced && !rmem_schedule(c, c->rcv_nxt, grow - c->rcvq.cap)) {
			c->rcv_nomem = true;
			if (c->rcvq.len) {
				TIDE_INC(c->st, TCPRcvQDrop);
				TIDE_INC(c->st, DropTcpMemory);
				return RCVQ_NOMEM;
			}
		}
		if (tide_ring_resize(c->st, &c->rcvq, grow, TIDE_MEM_RCVBUF) != 0) {
			c->rcv_nomem = true;
			TIDE_INC(c->st, TCPRcvQDrop);
			TIDE_INC(c->st, DropTcpMemory);
			return RCVQ_NOMEM;
		}
	}
	uint32_t n = tide_ring_write(&c->rcvq, data, len);
	c->rcv_nxt += n;
	if (n < len) {
		TIDE_INC(c->st, TCPRcvQDrop);
		return RCVQ_SHORT;
	}
	return RCVQ_TAKEN;
}

/* Moves segments that became in-order out of the out-of-order queue.
 * Returns true if one of them carried the FIN. */
static bool ofo_drain(struct tcp_conn *c)
{
	bool fin = false;
	while (c->ofo && tide_seq_le(c->ofo->seq, c->rcv_nxt)) {
		struct tcp_ofo *o = c->ofo;
		c->ofo = o->next;
		c->ofo_bytes -= o->len;
		uint32_t skip = c->rcv_nxt - o->seq;
		if (skip <= o->len) {
			/* no new charge (the bytes were held already); only a
			 * failed allocation loses them, as reneging on a SACK */
			queue_in_order(c, o->data + skip, o->len - skip, true);
			if (o->fin && c->rcv_nxt == o->seq + o->len)
				fin = true;
		}
		tide_mem_free(c->st, TIDE_MEM_OFO, o, sizeof(*o) + o->len);
	}
	return fin;
}

/* The peer's FIN, taken in order. Returns true if the connection went to
 * TIME_WAIT (and no longer exists). */
static bool take_fin(struct tcp_conn *c, bool our_fin_acked_now)
{
	c->rcv_nxt++;
	c->fin_rcvd = true;
	tide_tcp_purge_ofo(c);
	if (c->sk)
		tide_sock_wakeup(c->sk);
	switch (c->state) {
	case TIDE_TCP_SYN_RECV:
	case TIDE_TCP_ESTABLISHED:
		tide_tcp_set_state(c, TIDE_TCP_CLOSE_WAIT);
		/* Linux treats the peer's FIN as the start of an exchange and
		 * delays its ACK, so an application that closes quickly sends
		 * its FIN with the ACK: the three-way close. The delay is the
		 * ato: 40 ms once data came, the next tick before (Linux's
		 * tcp_fin, tcp_send_delayed_ack). */
		c->pingpong = true;
		tide_tcp_schedule_ack(c);
		return false;
	case TIDE_TCP_FIN_WAIT1:
		if (our_fin_acked_now) {
			tide_tcp_time_wait(c, true);
			return true;
		}
		tide_tcp_set_state(c, TIDE_TCP_CLOSING);
		tide_tcp_send_ack(c);
		return false;
	case TIDE_TCP_FIN_WAIT2:
		tide_tcp_time_wait(c, true);
		return true;
	default:
		tide_tcp_send_ack(c);
		return false;
	}
}

/* Our FIN is acknowledged (Linux's FIN_WAIT1 case of
 * tcp_rcv_state_process). A socket that only shut down its sending side
 * waits for ever (LC-L03). An orphan (closed by the application) with
 * TCP_LINGER2 < 0, or getting data beyond RCV.NXT, is ended with a RST
 * answering this segment (TCPAbortOnData); else it may wait for the peer's
 * FIN only tcp_fin_time, most often as a FIN_WAIT_2 record (LC-L05).
 * Returns true if the connection is gone. */
static bool enter_fin_wait2(struct tcp_conn *c, const struct tide_ipv4 *ip, const struct tide_tcp *th)
{
	tide_tcp_set_state(c, TIDE_TCP_FIN_WAIT2);
	if (c->sk)
		return false;
	bool fin = (th->flags & TIDE_TCP_FIN) != 0;
	uint32_t end = th->seq + seg_len(th);
	if (c->linger2 < 0 ||
	    (end != th->seq && tide_seq_gt(end - (fin ? 1u : 0u), c->rcv_nxt))) {
		TIDE_INC(c->st, TCPAbortOnData);
		tide_tcp_send_reset_for(c->st, ip, th);
		tide_tcp_done(c);
		return true;
	}
	return tide_tcp_orphan_fin_wait2(c, fin);
}

enum ack_now { ACK_NONE, ACK_DELAYED, ACK_NOW };

/* Linux-like ACK policy for received data: quick ACKs at the start, then
 * one ACK for every second full segment, else the delayed-ACK timer. */
static enum ack_now data_ack_policy(struct tcp_conn *c, uint32_t len)
{
	struct tide_stack *st = c->st;
	/* Linux measures the peer's segment size before it counts quick ACKs */
	if (len > c->rcv_mss)
		c->rcv_mss = (uint16_t)(len > c->mss ? c->mss : len);
	bool first = c->ato_us == 0;
	if (first || st->now - c->lrcvtime > c->rto_us) {
		/* first data, or data after a silence longer than the RTO:
		 * quick ACKs, as many as half the window holds segments
		 * (Linux's tcp_incr_quickack) */
		if (first)
			c->ato_us = (uint32_t)st->set->tcp_delack_min_ms * 1000u;
		uint32_t q = c->rcv_wnd / (2u * (c->rcv_mss ? c->rcv_mss : 536));
		q = q > 16 ? 16 : (q ? q : 2);
		if (q > c->quick)
			c->quick = (uint8_t)q;
	}
	c->lrcvtime = st->now;
	c->segs_unacked++;
	if (c->quick && !c->pingpong) {
		c->quick--;
		return ACK_NOW;
	}
	/* More than a full segment unacknowledged, and the window we would
	 * announce now (aligned up, as select_window does) no smaller than
	 * the last: ACK at once (Linux's __tcp_ack_snd_check; for a shrinking
	 * window the reader's recv() sends the update instead). */
	int64_t free_space = (int64_t)c->rcvbuf - c->rcvq.len - c->ofo_bytes;
	uint32_t win = free_space < 0 ? 0 : (uint32_t)free_space;
	if (win > c->rcv_wnd_clamp)
		win = c->rcv_wnd_clamp;
	uint32_t gran = 1u << c->rcv_wscale;
	win = (win + gran - 1) & ~(gran - 1);
	if (c->rcv_nxt - c->rcv_wup > c->rcv_mss && win >= c->rcv_wnd)
		return ACK_NOW;
	return ACK_DELAYED;
}

/* ---- every synchronized state and SYN_RECV (RFC 9293 §3.10.7.4) ---- */
static int rcv_state(struct tcp_conn *c, const struct tide_ipv4 *ip, const struct tide_tcp *th)
{
	struct tide_stack *st = c->st;
	uint8_t f = th->flags;
	uint32_t slen = seg_len(th);
	uint32_t end = th->seq + slen;

	/* Neither ACK, SYN nor RST: Linux drops it before any other check,
	 * without an answer even when it is outside the window. */
	if (!(f & (TIDE_TCP_ACK | TIDE_TCP_SYN | TIDE_TCP_RST))) {
		TIDE_INC(st, DropTcpFlags);
		return -(int)TIDE_MIB_DropTcpFlags;
	}

	/* PAWS (RFC 7323 §5): a segment older than the last one seen, by more
	 * than Linux's one tick of tolerance (TCP_PAWS_WINDOW). A SYN gets
	 * the challenge of step 4 instead of the duplicate ACK (Linux's
	 * tcp_validate_incoming; checked on 6.18). */
	if (c->ts_ok && (th->opts.present & TIDE_OPT_TS) && !(f & TIDE_TCP_RST) &&
	    (int32_t)(th->opts.tsval - c->ts_recent) < -1 &&
	    st->now - c->ts_recent_stamp < TIDE_SEC(24 * 24 * 3600)) {
		if (f & TIDE_TCP_SYN) {
			if (c->state == TIDE_TCP_ESTABLISHED)
				TIDE_INC(st, InErrs);
			TIDE_INC(st, TCPSYNChallenge);
			send_challenge_ack(c);
		} else {
			TIDE_INC(st, PAWSEstab);
			if (!oow_rate_limited(c, th, TIDE_MIB_TCPACKSkippedPAWS))
				tide_tcp_send_ack(c);
		}
		TIDE_INC(st, DropTcpSequence);
		return -(int)TIDE_MIB_DropTcpSequence;
	}

	/* 1: sequence number acceptable? (Linux's form of the RFC test,
	 * tcp_sequence: the right edge is the one announced, RCV.WUP +
	 * RCV.WND; bytes taken since that ACK do not push it further.) */
	int32_t rcv_room = (int32_t)(c->rcv_wup + c->rcv_wnd - c->rcv_nxt);
	uint32_t right_edge = c->rcv_nxt + (rcv_room > 0 ? (uint32_t)rcv_room : 0);
	if (tide_seq_lt(end, c->rcv_wup) || tide_seq_gt(th->seq, right_edge)) {
		if (!(f & TIDE_TCP_RST)) {
			if (f & TIDE_TCP_SYN) {
				if (c->state == TIDE_TCP_ESTABLISHED)
					TIDE_INC(st, InErrs); /* as in step 4 */
				TIDE_INC(st, TCPSYNChallenge);
				send_challenge_ack(c);
			} else if (!oow_rate_limited(c, th, TIDE_MIB_TCPACKSkippedSeq)) {
				tide_tcp_send_ack(c);
			}
		} else if (rst_at_fin(c, th)) {
			/* left of the window once the FIN is ACKed */
			tide_tcp_reset_conn(c, 0);
			return 0;
		}
		TIDE_INC(st, DropTcpSequence);
		return -(int)TIDE_MIB_DropTcpSequence;
	}

	/* 2: RST. Only an exact match resets (RFC 5961 §3.2); an in-window
	 * one gets a challenge ACK. */
	if (f & TIDE_TCP_RST) {
		if (th->seq == c->rcv_nxt || rst_at_fin(c, th)) {
			tide_tcp_reset_conn(c, 0);
			return 0;
		}
		send_challenge_ack(c);
		TIDE_INC(st, DropTcpRst);
		return -(int)TIDE_MIB_DropTcpRst;
	}

	/* 4: SYN in a synchronized state: challenge ACK (RFC 5961 §4), except
	 * the SYN-ACK that completes a simultaneous open. */
	bool simopen_synack = false;
	if (f & TIDE_TCP_SYN) {
		if (c->state == TIDE_TCP_SYN_RECV && (f & TIDE_TCP_ACK) &&
		    th->seq + 1 == c->rcv_nxt && th->ack == c->snd_nxt) {
			simopen_synack = true;
		} else {
			if (c->state == TIDE_TCP_ESTABLISHED)
				TIDE_INC(st, InErrs); /* Linux's fast path counts it */
			TIDE_INC(st, TCPSYNChallenge);
			send_challenge_ack(c);
			TIDE_INC(st, DropTcpFlags);
			return -(int)TIDE_MIB_DropTcpFlags;
		}
	}

	/* 5: ACK. */
	if (!(f & TIDE_TCP_ACK)) {
		TIDE_INC(st, DropTcpAck);
		return -(int)TIDE_MIB_DropTcpAck;
	}
	if (c->state == TIDE_TCP_SYN_RECV) {
		if (tide_seq_le(th->ack, c->snd_una) || tide_seq_gt(th->ack, c->snd_max)) {
			tide_tcp_send_reset_for(st, ip, th);
			TIDE_INC(st, DropTcpAck);
			return -(int)TIDE_MIB_DropTcpAck;
		}
		c->snd_una = th->ack;
		if (c->rtt_timing && c->retransmits == 0)
			tide_tcp_rtt_sample(c, (uint32_t)(st->now - c->rtt_time));
		c->rtt_timing = false;
		c->retransmits = 0;
		c->backoff = 0;
		c->t_rexmit = TIDE_TIME_NEVER;
		c->snd_wnd = (uint32_t)th->window << c->snd_wscale;
		c->max_window = c->snd_wnd;
		c->snd_wl1 = th->seq;
		c->snd_wl2 = th->ack;
		tide_tcp_set_state(c, TIDE_TCP_ESTABLISHED);
		tide_tcp_keepalive_start(c);
		if (c->listener)
			tide_sock_wakeup(c->listener);
		if (c->sk)
			tide_sock_wakeup(c->sk);
	}
	if (tide_seq_gt(th->ack, c->snd_max)) {
		/* ACKs data never sent: RFC 9293 and RFC 5961 §5.2 want an ACK.
		 * Linux challenges it in every state since commit 42726ec644cb
		 * ("tcp: send a challenge ACK on SEG.ACK > SND.NXT", in 6.18.y;
		 * measured on 6.18.44); it used to drop it silently in
		 * ESTABLISHED. */
		send_challenge_ack(c);
		TIDE_INC(st, DropTcpAck);
		return -(int)TIDE_MIB_DropTcpAck;
	}
	/* Linux clamps the window to the bytes acknowledged so far: an ACK
	 * never covers bytes that were not sent. */
	uint32_t old_wnd = c->max_window ? c->max_window : 65535;
	if (c->bytes_acked < old_wnd)
		old_wnd = (uint32_t)c->bytes_acked;
	if (tide_seq_lt(th->ack, c->snd_una - old_wnd)) {
		send_challenge_ack(c); /* too old to be real (RFC 5961 §5.2) */
		TIDE_INC(st, DropTcpAck);
		return -(int)TIDE_MIB_DropTcpAck;
	}

	bool fin_acked_now = false;
	if (tide_seq_gt(th->ack, c->snd_una)) {
		bool fin_was_unacked = c->fin_sent && !tide_seq_gt(c->snd_una, c->fin_seq);
		ack_advance(c, th->ack, th);
		if (fin_was_unacked && tide_seq_gt(th->ack, c->fin_seq))
			fin_acked_now = true;
	} else if (th->ack == c->snd_una && th->payload_len == 0 && !(f & TIDE_TCP_FIN) &&
		   c->snd_max != c->snd_una &&
		   ((uint32_t)th->window << c->snd_wscale) == c->snd_wnd) {
		if (++c->dupacks == 3 && !c->in_recovery)
			fast_retransmit(c);
		else if (c->in_recovery)
			c->cwnd += c->mss;
	}
	update_window(c, th);
	if (!tide_seq_lt(th->ack, c->snd_una)) {
		/* Any acceptable ACK shows the peer alive: unanswered probes
		 * start over (Linux's tcp_ack; RFC 1122 4.2.2.17: a zero
		 * window stays open as long as the receiver answers). An ACK
		 * that leaves the window shut re-arms the probe timer from
		 * now (Linux's tcp_ack_probe). Keepalive's idle time counts
		 * from here (Linux's rcv_tstamp). */
		c->probes_out = 0;
		c->last_rcv = st->now;
		if (c->rexmit_is_probe && c->t_rexmit != TIDE_TIME_NEVER && c->snd_wnd == 0 &&
		    c->snd_una == c->snd_max) {
			tide_tcp_rearm_rexmit(c);
			c->rexmit_is_probe = true;
		}
	}
	update_ts_recent(c, th);

	bool our_fin_acked = c->fin_sent && tide_seq_gt(c->snd_una, c->fin_seq);
	/* Will the FIN be in order once this segment's data is taken? */
	bool fin_in_order = (f & TIDE_TCP_FIN) && tide_seq_le(th->seq, c->rcv_nxt) &&
			    tide_seq_ge(th->seq + (uint32_t)th->payload_len, c->rcv_nxt);

	switch (c->state) {
	case TIDE_TCP_FIN_WAIT1:
		/* (a FIN with the ACK goes straight to TIME_WAIT below, unless
		 * TCP_LINGER2 < 0 ends the orphan first) */
		if (our_fin_acked && (!(fin_in_order && fin_acked_now) || (!c->sk && c->linger2 < 0)) &&
		    enter_fin_wait2(c, ip, th))
			return 0;
		break;
	case TIDE_TCP_CLOSING:
		if (our_fin_acked) {
			tide_tcp_time_wait(c, false);
			return 0;
		}
		break;
	case TIDE_TCP_LAST_ACK:
		if (our_fin_acked) {
			tide_tcp_done(c);
			return 0;
		}
		break;
	default:
		break;
	}

	/* 7: segment text. */
	bool data_state = c->state == TIDE_TCP_ESTABLISHED || c->state == TIDE_TCP_FIN_WAIT1 ||
			  c->state == TIDE_TCP_FIN_WAIT2;
	enum ack_now ackp = ACK_NONE;
	int ret = 0; /* or a drop for memory: the ACK part was taken all the same */
	if (simopen_synack) {
		ackp = ACK_NOW; /* the SYN is a duplicate now: acknowledge it */
	} else if (slen && tide_seq_le(end, c->rcv_nxt)) {
		ackp = ACK_NOW; /* entirely old: a retransmission, ACK at once */
		/* Linux enters quick-ACK mode here, which starts its delayed-ACK
		 * timeout (ato) if no data had done it yet */
		if (!c->ato_us)
			c->ato_us = (uint32_t)st->set->tcp_delack_min_ms * 1000u;
	} else if (!data_state && (th->payload_len || (f & TIDE_TCP_FIN))) {
		/* After the peer's FIN (CLOSE_WAIT, CLOSING, LAST_ACK) new
		 * text cannot be: ignore it (RFC 9293). */
	} else if (th->payload_len) {
		/* After close() (or SHUT_RD in FIN_WAIT) nobody will read new data:
		 * Linux resets the connection (TCPAbortOnData). */
		if (c->rcv_shutdown && (c->state == TIDE_TCP_FIN_WAIT1 ||
						  c->state == TIDE_TCP_FIN_WAIT2) &&
		    tide_seq_gt(th->seq + th->payload_len, c->rcv_nxt)) {
			TIDE_INC(st, TCPAbortOnData);
			tide_tcp_send_reset_for(st, ip, th);
			tide_tcp_reset_conn(c, ECONNRESET);
			return 0;
		}
		if (th->seq == c->rcv_nxt || tide_seq_lt(th->seq, c->rcv_nxt)) {
			uint32_t skip = c->rcv_nxt - th->seq;
			bool had_ofo = c->ofo != NULL;
			bool nomem = queue_in_order(c, th->payload + skip, (uint32_t)th->payload_len - skip,
						    false) == RCVQ_NOMEM;
			bool ofo_fin = had_ofo && !nomem && ofo_drain(c);
			ackp = had_ofo || nomem ? ACK_NOW : data_ack_policy(c, (uint32_t)th->payload_len);
			if (c->rcv_nomem)
				ackp = ACK_NOW; /* the window-0 ACK goes at once */
			if (nomem)
				ret = -(int)TIDE_MIB_DropTcpMemory;
			if (c->sk)
				tide_sock_wakeup(c->sk);
			if (ofo_fin)
				fin_in_order = true, f |= TIDE_TCP_FIN;
			else
				fin_in_order = (f & TIDE_TCP_FIN) && th->seq + th->payload_len == c->rcv_nxt;
		} else {
			ackp = ACK_NOW;
			if (!ofo_insert(c, th->seq, th->payload, (uint32_t)th->payload_len,
					(f & TIDE_TCP_FIN) != 0)) {
				ackp = ACK_NONE;
				ret = -(int)TIDE_MIB_DropTcpMemory;
			}
			fin_in_order = false;
		}
	} else if ((f & TIDE_TCP_FIN) && tide_seq_gt(th->seq, c->rcv_nxt) && data_state) {
		ackp = ACK_NOW;
		if (!ofo_insert(c, th->seq, th->payload, 0, true)) {
			ackp = ACK_NONE;
			ret = -(int)TIDE_MIB_DropTcpMemory;
		}
	}

	/* 8: FIN. take_fin sends or schedules its own ACK. */
	if (fin_in_order && !c->fin_rcvd && data_state) {
		if (take_fin(c, fin_acked_now))
			return 0;
		ackp = ACK_NONE;
	} else if (c->state == TIDE_TCP_FIN_WAIT1 && our_fin_acked) {
		/* the FIN that came with the ACK could not be taken yet */
		if (enter_fin_wait2(c, ip, th))
			return 0;
	}

	tide_tcp_output(c);
	if (ackp == ACK_NOW && c->state != TIDE_TCP_CLOSE)
		tide_tcp_send_ack(c);
	else if (ackp == ACK_DELAYED)
		tide_tcp_schedule_ack(c);
	return ret;
}

int tide_tcp_input(struct tide_stack *st, const struct tide_ipv4 *ip, const struct tide_tcp *th)
{
	if (th->sport == 0 || th->dport == 0) {
		TIDE_INC(st, DropTcpFlags);
		return -(int)TIDE_MIB_DropTcpFlags;
	}
	if ((th->flags & (TIDE_TCP_SYN | TIDE_TCP_RST)) == (TIDE_TCP_SYN | TIDE_TCP_RST) ||
	    (th->flags & (TIDE_TCP_SYN | TIDE_TCP_FIN)) == (TIDE_TCP_SYN | TIDE_TCP_FIN)) {
		TIDE_INC(st, DropTcpFlags);
		return -(int)TIDE_MIB_DropTcpFlags;
	}
	struct tide_conn_id k = { .laddr = ip->dst, .raddr = ip->src, .lport = th->dport, .rport = th->sport };
	struct tide_hentry *e = tide_htab_find(st, &k);
	if (e && e->kind == TIDE_EH_CONN) {
		struct tcp_conn *c = TIDE_CONTAINER_OF(e, struct tcp_conn, h);
		int r = c->state == TIDE_TCP_SYN_SENT ? rcv_syn_sent(c, ip, th) : rcv_state(c, ip, th);
		/* c may be gone now: look it up again before touching timers */
		e = tide_htab_find(st, &k);
		if (e && e->kind == TIDE_EH_CONN)
			tide_tcp_timers_update(TIDE_CONTAINER_OF(e, struct tcp_conn, h));
		return r;
	}
	if (e && e->kind == TIDE_EH_REQ) {
		tide_tcp_req_input(st, TIDE_CONTAINER_OF(e, struct tcp_req, h), ip, th);
		return 0;
	}
	if (e && e->kind == TIDE_EH_TW) {
		tide_tw_input(st, TIDE_CONTAINER_OF(e, struct tcp_tw, h), ip, th);
		return 0;
	}
	struct tide_sock *l = tide_tcp_find_listener(st, &k);
	if (l) {
		tide_tcp_listen_input(st, l, ip, th);
		return 0;
	}
	/* No connection (RFC 9293 §3.10.7.1, LC-C09, LC-H05). */
	tide_tcp_send_reset_for(st, ip, th);
	TIDE_INC(st, DropTcpNoSocket);
	return -(int)TIDE_MIB_DropTcpNoSocket;
}
