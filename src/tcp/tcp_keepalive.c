/*
 * Keepalive (LC-K05) and the orphan budget (LC-K13), after Linux's
 * tcp_keepalive_timer, tcp_set_keepalive, the TCP_KEEPIDLE/KEEPINTVL/
 * KEEPCNT handlers of tcp.c, tcp_check_oom and tcp_out_of_resources.
 *
 * Keepalive: after keepidle seconds without anything received (Linux's
 * keepalive_time_elapsed: the later of the last in-order data and the last
 * acceptable ACK) a connection with nothing in flight and nothing queued
 * sends a probe, an ACK with SEQ = SND.UNA - 1 that the peer must answer,
 * then one every keepintvl seconds. Any acceptable ACK resets the count of
 * probes out (tcp_ack). When keepcnt probes are out and one more interval
 * passed, or with TCP_USER_TIMEOUT set, when the idle time reached it and
 * at least one probe is out (keepcnt is then ignored), the connection is
 * reset: RST, ETIMEDOUT for the application, TCPAbortOnTimeout.
 *
 * Orphans: a connection the application closed while it still lives
 * (Linux's tcp_orphan_count). Connections in an accept queue are not
 * orphans (Linux counts a child only when its listener closes, and destroys
 * it at once); an orphan that reaches FIN_WAIT_2 with a timeout no longer
 * than TIME_WAIT leaves the count, because Linux turns it into a TIME_WAIT
 * record (tcp_time_wait(TCP_FIN_WAIT2)). Linux reads the count from a cache
 * refreshed every 100 ms; tide uses the exact count.
 */
#include "core/stack_int.h"

int tide_tcp_keepidle(const struct tcp_conn *c)
{
	return c->keepidle ? c->keepidle : c->st->set->tcp_keepalive_time;
}

int tide_tcp_keepintvl(const struct tcp_conn *c)
{
	return c->keepintvl ? c->keepintvl : c->st->set->tcp_keepalive_intvl;
}

int tide_tcp_keepcnt(const struct tcp_conn *c)
{
	return c->keepcnt ? c->keepcnt : c->st->set->tcp_keepalive_probes;
}

/* Linux's keepalive_time_elapsed: min(now - lrcvtime, now - rcv_tstamp). */
static tide_time keepalive_elapsed(const struct tcp_conn *c)
{
	tide_time last = c->last_rcv > c->lrcvtime ? c->last_rcv : c->lrcvtime;
	return c->st->now > last ? c->st->now - last : 0;
}

/* The connection just became ESTABLISHED (Linux's tcp_finish_connect and
 * tcp_create_openreq_child): the keepalive timer starts a full idle time
 * from now. */
void tide_tcp_keepalive_start(struct tcp_conn *c)
{
	struct tide_stack *st = c->st;
	c->last_rcv = st->now;
	c->lsndtime = st->now;
	if (c->keepalive)
		c->t_keepalive = st->now + TIDE_SEC(tide_tcp_keepidle(c));
}

/* SO_KEEPALIVE (Linux's tcp_set_keepalive): turning it on arms the timer a
 * full idle time from now; turning it on again changes nothing; turning it
 * off stops it. A closed connection keeps no timer. */
void tide_tcp_set_keepalive(struct tcp_conn *c, bool on)
{
	bool was = c->keepalive;
	c->keepalive = on;
	if (c->state == TIDE_TCP_CLOSE)
		return;
	if (on && !was)
		c->t_keepalive = c->st->now + TIDE_SEC(tide_tcp_keepidle(c));
	else if (!on)
		c->t_keepalive = TIDE_TIME_NEVER;
	tide_tcp_timers_update(c);
}

/* TCP_KEEPIDLE on a connection with keepalive on re-arms the timer for
 * what is left of the new idle time, counting the time already idle (at
 * once if that is already more). */
void tide_tcp_set_keepidle(struct tcp_conn *c, int secs)
{
	c->keepidle = secs;
	if (!c->keepalive || c->state == TIDE_TCP_CLOSE)
		return;
	tide_time idle = TIDE_SEC(secs), elapsed = keepalive_elapsed(c);
	c->t_keepalive = c->st->now + (idle > elapsed ? idle - elapsed : 0);
	tide_tcp_timers_update(c);
}

/* Whether the keepalive timer, firing now, sends a probe or a reset rather
 * than only re-arming itself (traces mark only timers that act). */
bool tide_tcp_keepalive_acts(const struct tcp_conn *c)
{
	if (!c->keepalive || c->state == TIDE_TCP_CLOSE || c->state == TIDE_TCP_SYN_SENT)
		return false;
	if (c->snd_max != c->snd_una || c->sndq.len)
		return false;
	return keepalive_elapsed(c) >= TIDE_SEC(tide_tcp_keepidle(c));
}

/* The keepalive timer fired. Returns true if the connection is gone. */
bool tide_tcp_keepalive_timer(struct tcp_conn *c)
{
	struct tide_stack *st = c->st;
	if (!c->keepalive || c->state == TIDE_TCP_CLOSE || c->state == TIDE_TCP_SYN_SENT)
		return false;
	tide_time idle = TIDE_SEC(tide_tcp_keepidle(c));
	if (c->snd_max != c->snd_una || c->sndq.len) {
		/* "alive without keepalive": the retransmission or the
		 * persist timer watches the peer */
		c->t_keepalive = st->now + idle;
		return false;
	}
	tide_time elapsed = keepalive_elapsed(c);
	if (elapsed < idle) {
		c->t_keepalive = st->now + (idle - elapsed);
		return false;
	}
	bool dead = c->user_timeout_ms ?
		    elapsed >= TIDE_MS(c->user_timeout_ms) && c->probes_out > 0 :
		    c->probes_out >= tide_tcp_keepcnt(c);
	if (dead) {
		tide_tcp_send_active_reset(c);
		if (c->sk)
			c->sk->so_error = ETIMEDOUT;
		TIDE_INC(st, TCPAbortOnTimeout);
		tide_tcp_done(c);
		return true;
	}
	tide_tcp_send_probe(c);
	if (c->probes_out < UINT8_MAX)
		c->probes_out++;
	c->t_keepalive = st->now + TIDE_SEC(tide_tcp_keepintvl(c));
	return false;
}

void tide_tcp_orphan_inc(struct tcp_conn *c)
{
	if (!c->orphan_counted) {
		c->orphan_counted = true;
		c->st->orphans++;
	}
}

void tide_tcp_orphan_dec(struct tcp_conn *c)
{
	if (c->orphan_counted) {
		c->orphan_counted = false;
		c->st->orphans--;
	}
}

/* Linux's tcp_too_many_orphans: the count, doubled per penalty, above
 * tcp_max_orphans. */
bool tide_tcp_too_many_orphans(const struct tide_stack *st, int shift)
{
	return ((uint64_t)st->orphans << shift) > (uint64_t)(uint32_t)st->set->tcp_max_orphans;
}

/*
 * Linux's tcp_out_of_resources, asked by the retransmission and persist
 * timers of an orphan: with too many orphans, or holding more than 4608
 * bytes queued while buffer memory is beyond tcp_mem[2] (tcp_check_oom),
 * it is destroyed (TCPAbortOnMemory). A connection that sent no data for 2 * TCP_RTO_MAX
 * (240 s, Linux's compile-time constant here) or that may not be reset
 * counts double. It gets a RST if asked to, if it sent data within
 * TCP_TIMEWAIT_LEN, or if the peer's window is shut with nothing in
 * flight. Returns true if the connection is gone.
 */
bool tide_tcp_out_of_resources(struct tcp_conn *c, bool do_reset)
{
	struct tide_stack *st = c->st;
	tide_time since_sent = st->now - c->lsndtime;
	int shift = 0;
	if (since_sent > TIDE_SEC(240) || !do_reset)
		shift++;
	if (!tide_tcp_too_many_orphans(st, shift) && !tide_mem_orphan_oom(c))
		return false;
	if (since_sent <= TIDE_SEC(st->set->tcp_timewait_len) ||
	    (c->snd_wnd == 0 && c->snd_una == c->snd_max))
		do_reset = true;
	if (do_reset)
		tide_tcp_send_active_reset(c);
	tide_tcp_done(c);
	TIDE_INC(st, TCPAbortOnMemory);
	return true;
}
