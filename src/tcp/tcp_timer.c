/*
 * Connection timers: retransmission (with Linux's retry budget), zero
 * window probes, delayed ACK, keepalive and the orphaned FIN_WAIT_2
 * timeout. A connection has one heap entry: the earliest of them.
 */
#include "core/stack_int.h"

void tide_tcp_timers_update(struct tcp_conn *c)
{
	tide_time w = c->t_rexmit;
	if (c->t_delack < w)
		w = c->t_delack;
	if (c->t_keepalive < w)
		w = c->t_keepalive;
	if (c->t_linger < w)
		w = c->t_linger;
	tide_heap_set(&c->st->timers, &c->timer, w);
}

/* Linux's tcp_orphan_retries: 0 means 8 while the peer may be alive. */
static int orphan_retries(struct tcp_conn *c, bool alive)
{
	int r = c->st->set->tcp_orphan_retries;
	if (r == 0 && alive)
		r = 8;
	return r;
}

/* Returns true if the connection gave up (and may be gone). */
static bool write_timeout(struct tcp_conn *c)
{
	struct tide_stack *st = c->st;
	bool expired;
	if (c->state == TIDE_TCP_SYN_SENT || c->state == TIDE_TCP_SYN_RECV) {
		int max = st->set->tcp_syn_retries;
		if (c->state == TIDE_TCP_SYN_SENT)
			max += st->set->tcp_syn_linear_timeouts;
		expired = c->retransmits >= max;
	} else {
		int retry_until = st->set->tcp_retries2;
		if (!c->sk) {
			bool alive = c->rto_us < (uint32_t)st->set->tcp_rto_max_ms * 1000u;
			retry_until = orphan_retries(c, alive);
		}
		expired = tide_tcp_write_timed_out(c, retry_until, TIDE_MS(st->set->tcp_rto_min_ms));
	}
	if (!expired)
		return false;
	TIDE_INC(st, TCPAbortOnTimeout);
	if (c->sk)
		c->sk->so_error = ETIMEDOUT;
	tide_tcp_done(c);
	return true;
}

/* Returns true if the connection is gone. */
static bool retransmit_timer(struct tcp_conn *c)
{
	struct tide_stack *st = c->st;
	if (c->snd_una == c->snd_max && c->state != TIDE_TCP_SYN_SENT &&
	    c->state != TIDE_TCP_SYN_RECV)
		return false;
	if (write_timeout(c))
		return true;
	if (c->retransmits == 0 && c->state != TIDE_TCP_SYN_SENT && c->state != TIDE_TCP_SYN_RECV) {
		uint32_t flight = c->snd_max - c->snd_una;
		c->ssthresh = flight / 2 > 2u * c->mss ? flight / 2 : 2u * c->mss;
	}
	c->cwnd = c->mss;
	c->in_recovery = false;
	c->dupacks = 0;
	c->rtt_timing = false;
	c->snd_nxt = c->snd_una; /* go back: resend from the oldest byte */
	if (c->state == TIDE_TCP_SYN_SENT || c->state == TIDE_TCP_SYN_RECV)
		c->snd_nxt = c->iss;
	c->retransmits++;
	tide_tcp_retransmit_head(c);
	/* Linux 6.x keeps the first tcp_syn_linear_timeouts SYN
	 * retransmissions at the initial RTO, then backs off. */
	bool linear = c->state == TIDE_TCP_SYN_SENT &&
		      c->retransmits <= st->set->tcp_syn_linear_timeouts;
	if (!linear && c->backoff < 30)
		c->backoff++;
	tide_tcp_rearm_rexmit(c);
	return false;
}

static bool probe_timer(struct tcp_conn *c)
{
	struct tide_stack *st = c->st;
	if (c->snd_wnd != 0 || c->sndq.len == 0) {
		/* the window opened, too little for a full segment */
		c->backoff = 0;
		c->probes_out = 0;
		tide_tcp_write_wakeup(c);
		return false;
	}
	int max_probes = st->set->tcp_retries2;
	if (!c->sk) {
		bool alive = c->rto_us < (uint32_t)st->set->tcp_rto_max_ms * 1000u;
		max_probes = orphan_retries(c, alive);
	}
	if (c->probes_out >= max_probes) {
		TIDE_INC(st, TCPAbortOnTimeout);
		if (c->sk)
			c->sk->so_error = ETIMEDOUT;
		tide_tcp_done(c);
		return true;
	}
	tide_tcp_send_probe(c);
	c->probes_out++;
	if (c->backoff < 30)
		c->backoff++;
	tide_tcp_rearm_rexmit(c);
	c->rexmit_is_probe = true;
	return false;
}

static bool keepalive_timer(struct tcp_conn *c)
{
	struct tide_stack *st = c->st;
	if (c->state == TIDE_TCP_FIN_WAIT2 && !c->sk) {
		/* tcp_fin_timeout of an orphaned FIN_WAIT_2 */
		tide_tcp_done(c);
		return true;
	}
	if (!c->keepalive || c->keepidle <= 0)
		return false;
	if (c->state != TIDE_TCP_ESTABLISHED && c->state != TIDE_TCP_CLOSE_WAIT &&
	    c->state != TIDE_TCP_FIN_WAIT1 && c->state != TIDE_TCP_FIN_WAIT2)
		return false;
	if (c->snd_max != c->snd_una || c->sndq.len) {
		/* data in flight: the retransmission timer watches the peer */
		c->t_keepalive = st->now + TIDE_SEC(c->keepidle);
		return false;
	}
	tide_time idle = st->now - c->last_rcv;
	if (idle < TIDE_SEC(c->keepidle) && c->probes_out == 0) {
		c->t_keepalive = c->last_rcv + TIDE_SEC(c->keepidle);
		return false;
	}
	if (c->probes_out >= c->keepcnt) {
		tide_tcp_send_active_reset(c);
		TIDE_INC(st, TCPAbortOnTimeout);
		if (c->sk)
			c->sk->so_error = ETIMEDOUT;
		tide_tcp_done(c);
		return true;
	}
	tide_tcp_send_probe(c);
	c->probes_out++;
	c->t_keepalive = st->now + TIDE_SEC(c->keepintvl);
	return false;
}

void tide_tcp_timer_fire(struct tcp_conn *c)
{
	tide_time now = c->st->now;
	if (c->t_delack <= now) {
		c->t_delack = TIDE_TIME_NEVER;
		if (c->ack_pending) {
			/* An ACK that had to wait means the exchange is not
			 * interactive after all (Linux leaves pingpong mode). */
			c->pingpong = false;
			TIDE_INC(c->st, DelayedACKs);
			tide_tcp_send_ack(c);
		}
	}
	if (c->t_rexmit <= now) {
		c->t_rexmit = TIDE_TIME_NEVER;
		bool gone = c->rexmit_is_probe ? probe_timer(c) : retransmit_timer(c);
		if (gone)
			return;
	}
	if (c->t_keepalive <= now) {
		c->t_keepalive = TIDE_TIME_NEVER;
		if (keepalive_timer(c))
			return;
	}
	if (c->t_linger <= now) {
		c->t_linger = TIDE_TIME_NEVER;
		if (c->sk)
			tide_sock_wakeup(c->sk);
	}
	tide_tcp_timers_update(c);
}
