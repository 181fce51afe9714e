/*
 * What the socket layer asks of TCP: open actively, close, shut down the
 * sending side (FreeBSD's tcp_usrreq.c in spirit).
 */
#include "core/stack_int.h"

/* A TIME_WAIT record may be taken over by connect() only with
 * tcp_tw_reuse (issue-level setting of later work); until then a 4-tuple
 * in TIME_WAIT is simply not available. */
static bool tuple_free(struct tide_stack *st, const struct tide_conn_id *k)
{
	return tide_htab_find(st, k) == NULL;
}

/* Linux's connect-time port choice: a keyed hash of the destination picks
 * where to start, even ports first, a per-stack perturbation moves the
 * start after each success; ports bound with bind() are skipped, ports in
 * use by other connections are fine as long as the 4-tuple is unique. */
static int pick_port(struct tide_stack *st, struct tide_conn_id *k)
{
	uint32_t lo = (uint32_t)st->set->ip_local_port_range_lo;
	uint32_t hi = (uint32_t)st->set->ip_local_port_range_hi;
	if (hi < lo)
		return -EADDRNOTAVAIL;
	uint32_t remaining = hi - lo + 1;
	uint32_t h = (uint32_t)tide_hash64(st->cfg.secret ^ 0x9047ull,
					   ((uint64_t)k->laddr << 32) | k->raddr, k->rport);
	uint32_t offset = (h + st->port_perturb) % remaining;
	offset &= ~1u;
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < remaining; i += 2) {
			uint32_t port = lo + (offset + i) % remaining;
			struct tide_port *p = tide_port_get(st, (uint16_t)port, false);
			if (p && p->bound)
				continue;
			k->lport = (uint16_t)port;
			if (tuple_free(st, k)) {
				st->port_perturb += i + 2;
				return 0;
			}
		}
		offset++;
		if (remaining < 2)
			break;
	}
	return -EADDRNOTAVAIL;
}

int tide_tcp_connect(struct tide_stack *st, struct tide_sock *sk, uint32_t daddr, uint16_t dport)
{
	struct tide_conn_id k = { .laddr = st->cfg.addr, .raddr = daddr, .lport = sk->lport, .rport = dport };
	if (sk->lport) {
		if (!tuple_free(st, &k))
			return -EADDRNOTAVAIL;
	} else {
		int r = pick_port(st, &k);
		if (r)
			return r;
	}
	struct tcp_conn *c = tide_tcp_conn_new(st, sk);
	if (!c)
		return -ENOBUFS;
	c->h.key = k;
	c->iss = tide_tcp_isn(st, &k);
	c->snd_una = c->iss;
	c->snd_nxt = c->snd_max = c->iss;
	c->ts_offset = tide_tcp_ts_offset(st, &k);
	c->rcv_wscale = tide_tcp_rcv_wscale(st);
	tide_htab_insert(st, &c->h);
	c->in_ehash = true;
	tide_port_bind_conn(st, k.lport, c->reuse, 1);
	sk->conn = c;
	sk->lport = k.lport;
	if (!sk->laddr)
		sk->laddr = k.laddr;
	tide_tcp_set_state(c, TIDE_TCP_SYN_SENT);
	TIDE_INC(st, ActiveOpens);
	c->retrans_stamp = st->now;
	c->rtt_timing = true;
	c->rtt_time = st->now;
	c->rtt_seq = c->iss + 1;
	tide_tcp_send_syn(c, false);
	tide_tcp_rearm_rexmit(c);
	tide_tcp_timers_update(c);
	return 0;
}

static void enter_fin_state(struct tcp_conn *c)
{
	if (c->state == TIDE_TCP_ESTABLISHED || c->state == TIDE_TCP_SYN_RECV)
		tide_tcp_set_state(c, TIDE_TCP_FIN_WAIT1);
	else if (c->state == TIDE_TCP_CLOSE_WAIT)
		tide_tcp_set_state(c, TIDE_TCP_LAST_ACK);
	else
		return;
	c->fin_queued = true;
	tide_tcp_output(c);
}

void tide_tcp_shutdown_wr(struct tcp_conn *c)
{
	enter_fin_state(c);
	tide_tcp_timers_update(c);
}

/* close(): the application lets go. Linux's order of checks: unread data
 * means RST (RFC 2525, LC-C10), SO_LINGER {1,0} means RST (LC-K06), else
 * the FIN handshake continues without the application. */
void tide_tcp_close(struct tcp_conn *c)
{
	struct tide_stack *st = c->st;
	struct tide_sock *sk = c->sk;
	c->rcv_shutdown = true;
	bool linger_zero = sk && sk->linger_onoff && sk->linger_secs == 0;
	if (sk) {
		sk->conn = NULL;
		c->sk = NULL;
		st->orphans++;
	}
	switch (c->state) {
	case TIDE_TCP_CLOSE:
		tide_tcp_destroy(c);
		return;
	case TIDE_TCP_SYN_SENT:
		/* nothing is sent (LC-H09); not an AttemptFail: Linux's
		 * tcp_close_state goes straight to CLOSE, not via tcp_done */
		tide_tcp_set_state(c, TIDE_TCP_CLOSE);
		tide_tcp_detach_closed(c);
		return;
	default:
		break;
	}
	if (c->rcvq.len > 0) {
		TIDE_INC(st, TCPAbortOnClose);
		tide_tcp_set_state(c, TIDE_TCP_CLOSE);
		tide_tcp_send_active_reset(c);
		tide_tcp_detach_closed(c);
		return;
	}
	if (linger_zero) {
		TIDE_INC(st, TCPAbortOnLinger);
		if (c->state != TIDE_TCP_TIME_WAIT && c->state != TIDE_TCP_LAST_ACK &&
		    c->state != TIDE_TCP_CLOSING)
			tide_tcp_send_active_reset(c);
		tide_tcp_set_state(c, TIDE_TCP_CLOSE);
		tide_tcp_detach_closed(c);
		return;
	}
	enter_fin_state(c);
	if (c->state == TIDE_TCP_FIN_WAIT2) {
		int tmo = c->linger2 > 0 ? c->linger2 : st->set->tcp_fin_timeout;
		c->t_keepalive = st->now + TIDE_SEC(tmo);
	}
	tide_tcp_timers_update(c);
}
