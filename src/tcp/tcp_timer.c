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

/* Linux's tcp_orphan_retries: 0 means 8 while the peer may be alive.
 * (Linux also drops to 0 for a dead orphan with a soft error from ICMP;
 * tide takes no ICMP, so it has none.) */
static int orphan_retries(struct tcp_conn *c, bool alive)
{
	int r = c->st->set->tcp_orphan_retries;
	if (r == 0 && alive)
		r = 8;
	return r;
}

/* Linux models the retry budgets on TCP_RTO_MIN, a constant 200 ms that
 * the tcp_rto_min sysctl (tide's tcp_rto_min_ms) does not move; SYNs on
 * the initial RTO (tcp_timeout_init). */
#define TIDE_TCP_BUDGET_RTO_MS 200

/* Linux's icsk_rto: the RTO with its current backoff, capped. */
tide_time tide_tcp_rto_now(const struct tcp_conn *c)
{
	tide_time rto = (tide_time)c->rto_us << (c->backoff < 30 ? c->backoff : 30);
	tide_time max = TIDE_MS(c->st->set->tcp_rto_max_ms);
	return rto < max ? rto : max;
}

/* Linux's 3.5 RTO, (rto << 2) - (rto >> 1) on the RTO in jiffies (rounded
 * up, as usecs_to_jiffies does; HZ 1000): 202 ms gives 707 ms, 207 ms
 * gives 725 ms. */
tide_time tide_tcp_rto_3_5(const struct tcp_conn *c)
{
	tide_time ms = (tide_tcp_rto_now(c) + 999) / 1000;
	return TIDE_MS((ms << 2) - (ms >> 1));
}

/* Linux's tcp_fin_time: how long an orphan may wait in FIN_WAIT_2,
 * TCP_LINGER2 or tcp_fin_timeout, and never less than 3.5 RTO. */
tide_time tide_tcp_fin_time(const struct tcp_conn *c)
{
	int secs = c->linger2 ? c->linger2 : c->st->set->tcp_fin_timeout;
	tide_time min = tide_tcp_rto_3_5(c);
	tide_time t = secs > 0 ? TIDE_SEC(secs) : 0;
	return t > min ? t : min;
}

/*
 * An orphan is in FIN_WAIT_2 (its FIN was just acknowledged, or close()
 * found it there after shutdown()). Linux: if tcp_fin_time fits in
 * TIME_WAIT's length, a FIN_WAIT_2 record replaces it for that long (not
 * when the segment that got it here carries the peer's FIN, which will
 * take it to TIME_WAIT at once); else the full connection waits
 * tcp_fin_time - TIME_WAIT first. Returns true if c is gone.
 */
bool tide_tcp_orphan_fin_wait2(struct tcp_conn *c, bool fin_in_segment)
{
	tide_time tmo = tide_tcp_fin_time(c);
	tide_time twlen = TIDE_SEC(c->st->set->tcp_timewait_len);
	if (tmo > twlen) {
		c->t_keepalive = c->st->now + (tmo - twlen);
		return false;
	}
	if (fin_in_segment) {
		c->t_keepalive = c->st->now + tmo;
		return false;
	}
	tide_tcp_fin_wait2_record(c, tmo);
	return true;
}

/* The full connection's FIN_WAIT_2 wait ended (Linux's
 * tcp_keepalive_timer): the record takes over for tcp_fin_time -
 * TIME_WAIT again (so TCP_LINGER2 = 100 lasts 40 + 40 s, as in Linux), or,
 * if nothing is left of it, the connection ends with a RST. */
bool tide_tcp_fin_wait2_timer(struct tcp_conn *c)
{
	if (c->linger2 >= 0) {
		tide_time tmo = tide_tcp_fin_time(c);
		tide_time twlen = TIDE_SEC(c->st->set->tcp_timewait_len);
		if (tmo > twlen) {
			tide_tcp_fin_wait2_record(c, tmo - twlen);
			return true;
		}
	}
	tide_tcp_send_active_reset(c);
	tide_tcp_done(c);
	return true;
}

/* Returns true if the connection gave up (and may be gone). */
static bool write_timeout(struct tcp_conn *c)
{
	struct tide_stack *st = c->st;
	bool expired = false;
	int retry_until;
	tide_time base = TIDE_MS(TIDE_TCP_BUDGET_RTO_MS);
	if (c->state == TIDE_TCP_SYN_SENT || c->state == TIDE_TCP_SYN_RECV) {
		/* a count (tcp_syn_retries plus the linear ones), and also the
		 * time budget of tcp_syn_retries from the initial RTO */
		retry_until = st->set->tcp_syn_retries;
		int max = retry_until;
		if (c->state == TIDE_TCP_SYN_SENT)
			max += st->set->tcp_syn_linear_timeouts;
		expired = c->retransmits >= max;
		base = TIDE_MS(st->set->tcp_rto_initial_ms);
	} else {
		retry_until = st->set->tcp_retries2;
		if (!c->sk) {
			/* alive: the backed-off RTO is still below its cap */
			bool alive = tide_tcp_rto_now(c) < TIDE_MS(st->set->tcp_rto_max_ms);
			retry_until = orphan_retries(c, alive);
			/* Linux's tcp_write_timeout: too many orphans end this
			 * one (LC-K13); a RST unless its budget (without
			 * TCP_USER_TIMEOUT) is spent and the peer looks dead */
			uint32_t ut = c->user_timeout_ms;
			c->user_timeout_ms = 0;
			bool spent = tide_tcp_write_timed_out(c, retry_until, base);
			c->user_timeout_ms = ut;
			if (tide_tcp_out_of_resources(c, alive || !spent))
				return true;
		}
	}
	/* TCP_USER_TIMEOUT, when set, replaces the time budget */
	if (!expired)
		expired = tide_tcp_write_timed_out(c, retry_until, base);
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
	if (c->user_timeout_ms) {
		/* Linux's tcp_clamp_rto_to_user_timeout: the wait ends when the
		 * user timeout does; one tick (1 ms) if that has passed */
		tide_time end = c->retrans_stamp + TIDE_MS(c->user_timeout_ms);
		tide_time at = end > st->now ? end : st->now + TIDE_MS(1);
		if (at < c->t_rexmit)
			c->t_rexmit = at;
	}
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
	bool dead_orphan = false;
	if (!c->sk) {
		bool alive = tide_tcp_rto_now(c) < TIDE_MS(st->set->tcp_rto_max_ms);
		max_probes = orphan_retries(c, alive);
		dead_orphan = !alive && c->backoff >= max_probes;
		if (!dead_orphan && tide_tcp_out_of_resources(c, true)) /* LC-K13 */
			return true;
	}
	if (dead_orphan || c->probes_out >= max_probes) {
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
	if (c->state == TIDE_TCP_FIN_WAIT2 && !c->sk)
		return tide_tcp_fin_wait2_timer(c); /* LC-L03 */
	return tide_tcp_keepalive_timer(c); /* tcp_keepalive.c */
}

/* Tells the observer (traces) which timer acts; only called when it does. */
static void note_timer(struct tcp_conn *c, const char *what)
{
	const struct tide_config *cfg = &c->st->cfg;
	if (cfg->on_timer)
		cfg->on_timer(cfg->timer_ctx, &c->h.key, what, c->st->now);
}

void tide_tcp_timer_fire(struct tcp_conn *c)
{
	tide_time now = c->st->now;
	if (c->t_delack <= now) {
		c->t_delack = TIDE_TIME_NEVER;
		if (c->ack_pending) {
			note_timer(c, "delayed ACK");
			/* An ACK that had to wait means the exchange is not
			 * interactive after all (Linux leaves pingpong mode). */
			c->pingpong = false;
			TIDE_INC(c->st, DelayedACKs);
			tide_tcp_send_ack(c);
		}
	}
	if (c->t_rexmit <= now) {
		c->t_rexmit = TIDE_TIME_NEVER;
		if (c->rexmit_is_probe)
			note_timer(c, "zero-window probe timer");
		else if (c->snd_una != c->snd_max || c->state == TIDE_TCP_SYN_SENT ||
			 c->state == TIDE_TCP_SYN_RECV)
			note_timer(c, "retransmission timeout");
		bool gone = c->rexmit_is_probe ? probe_timer(c) : retransmit_timer(c);
		if (gone)
			return;
	}
	if (c->t_keepalive <= now) {
		c->t_keepalive = TIDE_TIME_NEVER;
		if (c->state == TIDE_TCP_FIN_WAIT2 && !c->sk)
			note_timer(c, "FIN_WAIT_2 timer");
		else if (tide_tcp_keepalive_acts(c))
			note_timer(c, "keepalive timer");
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
