/*
 * Connection objects: creation, state changes, destruction, and the
 * per-connection numbers Linux derives at setup (ISN, timestamp offset,
 * MSS, window scale, RTO).
 */
#include "core/stack_int.h"

uint16_t tide_tcp_adv_mss(const struct tide_stack *st)
{
	return (uint16_t)(st->cfg.mtu - TIDE_IPV4_HLEN - TIDE_TCP_HLEN);
}

/* Linux picks the smallest shift that lets the largest receive buffer it
 * may grow to (tcp_rmem[2]) be announced, capped at 14 (RFC 7323). */
uint8_t tide_tcp_rcv_wscale(const struct tide_stack *st)
{
	if (!st->set->tcp_window_scaling)
		return 0;
	uint32_t space = (uint32_t)st->set->tcp_rmem_max;
	uint8_t ws = 0;
	while (space > 65535 && ws < 14) {
		space >>= 1;
		ws++;
	}
	return ws;
}

/* The window in a SYN or SYN-ACK: 65535 rounded down to a multiple of
 * the segment size, as Linux does (64240 with MSS 1460, 65160 with 1448). */
uint32_t tide_tcp_initial_rcv_wnd(const struct tide_stack *st, uint16_t mss_eff)
{
	uint32_t space = (uint32_t)st->set->tcp_rmem_default;
	if (space > 65535)
		space = 65535;
	if (mss_eff)
		space = space / mss_eff * mss_eff;
	return space;
}

uint32_t tide_tcp_isn(struct tide_stack *st, const struct tide_conn_id *id)
{
	if (st->cfg.isn)
		return st->cfg.isn(st->cfg.isn_ctx, id, st->now);
	/* RFC 6528: a keyed hash of the 4-tuple plus a clock that ticks every
	 * 64 ns (Linux's choice), so a reused 4-tuple starts above old data. */
	uint64_t a = ((uint64_t)id->laddr << 32) | id->raddr;
	uint64_t b = ((uint64_t)id->lport << 16) | id->rport;
	uint32_t h = (uint32_t)tide_hash64(st->cfg.secret ^ 0x15ull, a, b);
	return h + (uint32_t)(st->now * 1000 / 64);
}

uint32_t tide_tcp_ts_offset(struct tide_stack *st, const struct tide_conn_id *id)
{
	/* Linux keys the offset by the address pair only; tcp_timestamps=2
	 * means no offset (secure_tcp_seq_and_ts_off). */
	if (st->set->tcp_timestamps != 1)
		return 0;
	return (uint32_t)tide_hash64(st->cfg.secret ^ 0x75ull, id->laddr, id->raddr);
}

uint32_t tide_tcp_tsval(const struct tcp_conn *c)
{
	return (uint32_t)(c->st->now / 1000) + c->ts_offset;
}

struct tcp_conn *tide_tcp_conn_new(struct tide_stack *st, struct tide_sock *sk)
{
	/* every connection has its timer slot from birth: arming a timer
	 * never allocates, so it cannot fail */
	struct tide_memacct *m = &st->mem;
	if (tide_heap_reserve(st, &st->timers,
			      (uint32_t)(m->objects[TIDE_MEM_CONN] + m->objects[TIDE_MEM_REQ] + 1)) != 0)
		return NULL;
	struct tcp_conn *c = tide_mem_zalloc(st, TIDE_MEM_CONN, sizeof(*c));
	if (!c)
		return NULL;
	c->h.kind = TIDE_EH_CONN;
	c->timer.kind = TIDE_EH_CONN;
	c->timer.when = TIDE_TIME_NEVER;
	c->st = st;
	c->sk = sk;
	c->state = TIDE_TCP_CLOSE;
	c->t_rexmit = c->t_delack = c->t_keepalive = c->t_linger = TIDE_TIME_NEVER;
	c->advmss = tide_tcp_adv_mss(st);
	c->mss = 536; /* RFC 9293's default until the peer says otherwise */
	c->rcv_mss = 536;
	c->rto_us = (uint32_t)st->set->tcp_rto_initial_ms * 1000u;
	c->sndbuf = sk ? sk->sndbuf : st->set->tcp_wmem_default;
	c->rcvbuf = sk ? sk->rcvbuf : st->set->tcp_rmem_default;
	if (sk) {
		/* 0: the sysctl, read when used (Linux's keepalive_time_when) */
		c->keepidle = sk->keepidle;
		c->keepintvl = sk->keepintvl;
		c->keepcnt = sk->keepcnt;
		c->linger2 = sk->linger2;
		c->user_timeout_ms = sk->user_timeout_ms;
		c->nodelay = sk->nodelay;
		c->keepalive = sk->keepalive;
		c->reuse = (uint8_t)((sk->reuseaddr ? TIDE_REUSE_ADDR : 0) |
				     (sk->reuseport ? TIDE_REUSE_PORT : 0));
	}
	c->state_since = st->now;
	c->last_rcv = st->now;
	c->lsndtime = st->now;
	return c;
}

void tide_port_bind_conn(struct tide_stack *st, uint16_t port, uint8_t reuse, int delta)
{
	struct tide_port *p = tide_port_get(st, port, delta > 0);
	if (!p)
		return;
	p->nconn += (uint32_t)delta;
	p->nuse[reuse & 3] += (uint32_t)delta;
}

/* The Linux rules for CurrEstab and EstabResets live in the state change
 * so that every path (reset, timeout, close) counts the same way. */
void tide_tcp_set_state(struct tcp_conn *c, int state)
{
	struct tide_stack *st = c->st;
	int old = c->state;
	if (old == state)
		return;
	if (state == TIDE_TCP_ESTABLISHED) {
		st->curr_estab++;
	} else if (state == TIDE_TCP_CLOSE_WAIT && old == TIDE_TCP_SYN_RECV) {
		st->curr_estab++;
	} else if (state != TIDE_TCP_CLOSE_WAIT || old != TIDE_TCP_ESTABLISHED) {
		if (old == TIDE_TCP_ESTABLISHED || old == TIDE_TCP_CLOSE_WAIT)
			st->curr_estab--;
	}
	if (state == TIDE_TCP_CLOSE && (old == TIDE_TCP_ESTABLISHED || old == TIDE_TCP_CLOSE_WAIT))
		TIDE_INC(st, EstabResets);
	c->state = (uint8_t)state;
	c->state_since = st->now;
	tide_notify_state(st, &c->h.key, old, state);
}

static void free_ofo(struct tcp_conn *c)
{
	while (c->ofo) {
		struct tcp_ofo *o = c->ofo;
		c->ofo = o->next;
		tide_mem_free(c->st, TIDE_MEM_OFO, o, sizeof(*o) + o->len);
	}
	c->ofo_bytes = 0;
}

/* Linux's tcp_fin: nothing after the peer's FIN can ever be delivered, so
 * what waits out of order beyond it goes. */
void tide_tcp_purge_ofo(struct tcp_conn *c)
{
	free_ofo(c);
}

/* Takes the connection out of every table; memory stays if a socket still
 * points at it. */
static void unhash(struct tcp_conn *c)
{
	struct tide_stack *st = c->st;
	if (c->in_ehash) {
		tide_htab_remove(st, &c->h);
		tide_port_bind_conn(st, c->h.key.lport, c->reuse, -1);
		c->in_ehash = false;
	}
	c->t_rexmit = c->t_delack = c->t_keepalive = c->t_linger = TIDE_TIME_NEVER;
	tide_heap_set(&st->timers, &c->timer, TIDE_TIME_NEVER);
}

void tide_tcp_destroy(struct tcp_conn *c)
{
	unhash(c);
	if (c->sk && c->sk->conn == c)
		c->sk->conn = NULL;
	tide_tcp_orphan_dec(c);
	tide_ring_free(c->st, &c->sndq, TIDE_MEM_SNDBUF);
	tide_ring_free(c->st, &c->rcvq, TIDE_MEM_RCVBUF);
	free_ofo(c);
	tide_mem_free(c->st, TIDE_MEM_CONN, c, sizeof(*c));
}

/* Linux's tcp_done: the connection is CLOSED. An orphan disappears; a
 * connection with a socket stays for the application to see the end. */
void tide_tcp_done(struct tcp_conn *c)
{
	if (c->state == TIDE_TCP_SYN_SENT || c->state == TIDE_TCP_SYN_RECV)
		TIDE_INC(c->st, AttemptFails);
	tide_tcp_set_state(c, TIDE_TCP_CLOSE);
	tide_tcp_detach_closed(c);
}

/* After the state became CLOSE: leave every table; an orphan is freed, a
 * connection with a socket stays for the application to see the end. */
void tide_tcp_detach_closed(struct tcp_conn *c)
{
	unhash(c);
	tide_ring_free(c->st, &c->sndq, TIDE_MEM_SNDBUF);
	free_ofo(c);
	if (c->listener) {
		/* still in an accept queue: accept() will return it closed */
		return;
	}
	if (!c->sk) {
		tide_tcp_destroy(c);
		return;
	}
	c->sk->shutdown = TIDE_SHUT_RD | TIDE_SHUT_WR;
	tide_sock_wakeup(c->sk);
}

/* A valid RST (or an abort): the error the application sees depends on the
 * state, as in Linux's tcp_reset. */
void tide_tcp_reset_conn(struct tcp_conn *c, int err)
{
	if (err == 0) {
		switch (c->state) {
		case TIDE_TCP_SYN_SENT: err = ECONNREFUSED; break;
		case TIDE_TCP_CLOSE_WAIT: err = EPIPE; break;
		case TIDE_TCP_CLOSE: return;
		default: err = ECONNRESET; break;
		}
	}
	if (c->sk)
		c->sk->so_error = err;
	else
		c->pending_err = err; /* for accept() of a queued connection (LC-H04) */
	tide_tcp_done(c);
}

void tide_tcp_init_rto(struct tcp_conn *c)
{
	c->srtt_us = 0;
	c->rttvar_us = 0;
	c->rto_us = (uint32_t)c->st->set->tcp_rto_initial_ms * 1000u;
}

/* RFC 6298 with Linux's floor: the variance term is at least the minimum
 * RTO, so RTO = SRTT + max(4*RTTVAR, rto_min), capped at rto_max. */
void tide_tcp_rtt_sample(struct tcp_conn *c, uint32_t m)
{
	if (m == 0)
		m = 1;
	if (c->srtt_us == 0) {
		c->srtt_us = m;
		c->rttvar_us = m / 2;
	} else {
		uint32_t diff = m > c->srtt_us ? m - c->srtt_us : c->srtt_us - m;
		c->rttvar_us = (3 * c->rttvar_us + diff) / 4;
		c->srtt_us = (7 * c->srtt_us + m) / 8;
	}
	uint64_t var = 4ull * c->rttvar_us;
	uint64_t floor = (uint64_t)c->st->set->tcp_rto_min_ms * 1000u;
	if (var < floor)
		var = floor;
	uint64_t rto = c->srtt_us + var;
	uint64_t max = (uint64_t)c->st->set->tcp_rto_max_ms * 1000u;
	c->rto_us = (uint32_t)(rto > max ? max : rto);
}

/* The send MSS: the peer's announced MSS capped by our MTU, less the
 * timestamp option when it is used (Linux counts options in the MSS). */
void tide_tcp_set_mss(struct tcp_conn *c)
{
	uint16_t m = c->peer_mss ? c->peer_mss : 536;
	uint16_t ours = tide_tcp_adv_mss(c->st);
	if (m > ours)
		m = ours;
	if (c->ts_ok)
		m -= 12;
	if (m < 64)
		m = 64;
	c->mss = m;
	c->rcv_mss = m < 536 ? m : 536;
	if (c->cwnd == 0)
		c->cwnd = 10u * m; /* RFC 6928 initial window, Linux's default */
	if (c->ssthresh == 0)
		c->ssthresh = 0x7fffffff;
}

/*
 * Linux's retry budget: give up once the time since the first transmission
 * of the oldest unacknowledged segment exceeds what `boundary` backed-off
 * retransmissions starting at rto_base would take (linear once the backoff
 * reaches the maximum RTO).
 */
bool tide_tcp_write_timed_out(struct tcp_conn *c, int boundary, tide_time rto_base)
{
	if (!c->retransmits)
		return false;
	tide_time rto_max = TIDE_MS(c->st->set->tcp_rto_max_ms);
	int thresh = 0;
	while ((rto_base << (thresh + 1)) <= rto_max)
		thresh++;
	tide_time timeout;
	if (c->user_timeout_ms)
		timeout = TIDE_MS(c->user_timeout_ms);
	else if (boundary <= thresh)
		timeout = ((tide_time)(2u << boundary) - 1) * rto_base;
	else
		timeout = ((tide_time)(2u << thresh) - 1) * rto_base +
			  (tide_time)(boundary - thresh) * rto_max;
	return c->st->now - c->retrans_stamp >= timeout;
}
