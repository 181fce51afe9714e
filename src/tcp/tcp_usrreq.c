/*
 * What the socket layer asks of TCP: open actively, close, shut down the
 * sending side (FreeBSD's tcp_usrreq.c in spirit).
 */
#include "core/stack_int.h"

/* The 4-tuple is free, or held by a TIME_WAIT record that connect() may
 * take over (Linux's __inet_check_established with tcp_twsk_unique,
 * LC-K08): then *tw is that record. */
static bool tuple_free(struct tide_stack *st, const struct tide_conn_id *k, bool port_bound,
		       struct tcp_tw **tw)
{
	struct tide_hentry *e = tide_htab_find(st, k);
	*tw = NULL;
	if (!e)
		return true;
	if (e->kind != TIDE_EH_TW)
		return false;
	struct tcp_tw *t = TIDE_CONTAINER_OF(e, struct tcp_tw, h);
	if (!tide_tw_reusable(st, t, port_bound))
		return false;
	*tw = t;
	return true;
}

/* Linux's connect-time port choice: a keyed hash of the destination picks
 * where to start, even ports first, a per-stack perturbation moves the
 * start after each success; ports bound with bind() are skipped, ports in
 * use by other connections are fine as long as the 4-tuple is unique. A
 * 4-tuple in TIME_WAIT is taken over on the way if tcp_tw_reuse allows
 * (Linux does not look for a free port first); with none, EADDRNOTAVAIL
 * (the port exhaustion of LC-K14). */
static int pick_port(struct tide_stack *st, struct tide_conn_id *k, struct tcp_tw **tw)
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
			if (tuple_free(st, k, false, tw)) {
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
	struct tcp_tw *tw;
	if (sk->lport) {
		if (!tuple_free(st, &k, true, &tw))
			return -EADDRNOTAVAIL;
	} else {
		int r = pick_port(st, &k, &tw);
		if (r)
			return r;
	}
	struct tcp_conn *c = tide_tcp_conn_new(st, sk);
	if (!c)
		return -ENOBUFS;
	/* Every connection's local port has its entry, which counts it
	 * (Linux's __inet_hash_connect fails with ENOMEM without a bucket). */
	if (!tide_port_get(st, k.lport, true)) {
		tide_tcp_destroy(c);
		return -ENOMEM;
	}
	c->h.key = k;
	if (tw) {
		/* Taking over a TIME_WAIT (LC-K08), as Linux: start above all
		 * the old connection sent, SND.NXT + 65535 + 2 (never 0), and
		 * keep its last timestamp (the SYN echoes it) */
		uint32_t isn = tw->snd_nxt + 65535u + 2u;
		c->iss = isn ? isn : 1u;
		c->ts_recent = tw->ts_recent;
		c->ts_recent_stamp = TIDE_SEC(tw->ts_recent_stamp_s);
		TIDE_INC(st, TWRecycled);
		tide_tw_kill(st, tw);
	} else {
		c->iss = tide_tcp_isn(st, &k);
	}
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

/* Linux's tcp_need_reset, and its extra case for CLOSING and LAST_ACK
 * when something (data or the FIN) was queued but never sent. */
static bool abort_needs_reset(const struct tcp_conn *c)
{
	switch (c->state) {
	case TIDE_TCP_ESTABLISHED:
	case TIDE_TCP_CLOSE_WAIT:
	case TIDE_TCP_FIN_WAIT1:
	case TIDE_TCP_FIN_WAIT2:
	case TIDE_TCP_SYN_RECV:
		return true;
	case TIDE_TCP_CLOSING:
	case TIDE_TCP_LAST_ACK: {
		uint32_t start = tide_seq_gt(c->snd_una, c->iss) ? c->snd_una : c->iss + 1;
		uint32_t write_seq = start + c->sndq.len + (c->fin_queued ? 1 : 0);
		return c->snd_max != write_seq;
	}
	default:
		return false;
	}
}

/* Aborts c, already orphaned, with RST (or not) and the counter Linux
 * uses; the state becomes CLOSE before the RST leaves, as in Linux. */
static void abort_close(struct tcp_conn *c, bool rst, enum tide_counter mib)
{
	c->st->mib[mib]++;
	tide_tcp_set_state(c, TIDE_TCP_CLOSE);
	if (rst)
		tide_tcp_send_active_reset(c);
	tide_tcp_detach_closed(c);
}

/*
 * close(): the application lets go (Linux's __tcp_close). Its order:
 *  - unread data: RST (RFC 2525, LC-C10), TCPAbortOnClose;
 *  - SO_LINGER {1,0}: tcp_disconnect, a RST in the states that need one
 *    (not SYN_SENT, nor CLOSING/LAST_ACK once everything was sent), and
 *    Linux counts TCPAbortOnData there, not TCPAbortOnLinger (LC-K06);
 *  - else the FIN (SYN_SENT just ends, LC-H09);
 * then the connection is an orphan: in FIN_WAIT_2 with TCP_LINGER2 < 0 it
 * is reset (TCPAbortOnLinger), and with more orphans than tcp_max_orphans,
 * or with more than 4608 bytes queued while buffer memory is beyond
 * tcp_mem[2], it is reset (TCPAbortOnMemory, LC-K13; after the FIN if one
 * was sent).
 * A non-zero SO_LINGER does not make tide_close wait (see <tide/socket.h>).
 */
void tide_tcp_close(struct tcp_conn *c)
{
	struct tide_stack *st = c->st;
	struct tide_sock *sk = c->sk;
	c->rcv_shutdown = true;
	bool linger_zero = sk && sk->linger_onoff && sk->linger_secs == 0;
	if (sk) {
		sk->conn = NULL;
		c->sk = NULL;
	}
	tide_tcp_orphan_inc(c);
	if (c->state == TIDE_TCP_CLOSE) {
		tide_tcp_destroy(c);
		return;
	}
	if (c->rcvq.len > 0) {
		abort_close(c, true, TIDE_MIB_TCPAbortOnClose);
		return;
	}
	if (linger_zero) {
		abort_close(c, abort_needs_reset(c), TIDE_MIB_TCPAbortOnData);
		return;
	}
	if (c->state == TIDE_TCP_SYN_SENT) {
		/* nothing is sent (LC-H09); not an AttemptFail: Linux's
		 * tcp_close_state goes straight to CLOSE, not via tcp_done */
		tide_tcp_set_state(c, TIDE_TCP_CLOSE);
		tide_tcp_detach_closed(c);
		return;
	}
	enter_fin_state(c);
	if (c->state == TIDE_TCP_FIN_WAIT2) {
		if (c->linger2 < 0) {
			abort_close(c, true, TIDE_MIB_TCPAbortOnLinger);
			return;
		}
		/* Linux: a FIN_WAIT_2 record when tcp_fin_time fits in
		 * TIME_WAIT (no orphan then, and no orphan check, LC-K13);
		 * else the full connection waits first (LC-L03, LC-L05) */
		if (tide_tcp_orphan_fin_wait2(c, false))
			return;
	}
	/* Linux's tcp_check_oom: too many orphans, or an orphan holding
	 * data while buffer memory is beyond tcp_mem[2] */
	if (c->orphan_counted && (tide_tcp_too_many_orphans(st, 0) || tide_mem_orphan_oom(c))) {
		abort_close(c, true, TIDE_MIB_TCPAbortOnMemory);
		return;
	}
	tide_tcp_timers_update(c);
}
