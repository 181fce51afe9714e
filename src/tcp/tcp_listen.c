/*
 * Listeners: the SYN queue of half-open requests (small records, not full
 * connections, as Linux's request socks) and the accept queue of
 * connections whose handshake is complete (LC-H02).
 */
#include "core/stack_int.h"

/*
 * SO_REUSEPORT groups (LC-K07). As in Linux, listeners with SO_REUSEPORT on
 * the same port and exactly the same address form a group at listen(); each
 * member has a slot 0..n-1 in the order it joined; a member that leaves
 * hands its slot to the last one (reuseport_detach_sock). A connection goes
 * to slot hash * n / 2^32 of its 4-tuple's hash (reciprocal_scale of the
 * ehash hash in reuseport_select_sock), so one 4-tuple always lands on the
 * same member while the group stays the same.
 */
static bool same_group(const struct tide_sock *a, const struct tide_sock *b)
{
	return a != b && a->reuseport && b->reuseport && a->lport == b->lport && a->laddr == b->laddr;
}

void tide_tcp_listener_link(struct tide_stack *st, struct tide_sock *lsk)
{
	uint32_t n = 0;
	if (lsk->reuseport)
		for (struct tide_sock *l = st->listeners; l; l = l->lnext)
			n += same_group(l, lsk);
	lsk->rp_idx = n;
	lsk->lnext = st->listeners;
	st->listeners = lsk;
}

void tide_tcp_listener_unlink(struct tide_stack *st, struct tide_sock *lsk)
{
	struct tide_sock *last = NULL;
	for (struct tide_sock **pp = &st->listeners; *pp;) {
		struct tide_sock *l = *pp;
		if (l == lsk) {
			*pp = l->lnext;
			continue;
		}
		if (lsk->reuseport && same_group(l, lsk) && (!last || l->rp_idx > last->rp_idx))
			last = l;
		pp = &l->lnext;
	}
	lsk->lnext = NULL;
	if (last && last->rp_idx > lsk->rp_idx)
		last->rp_idx = lsk->rp_idx;
}

static struct tide_sock *reuseport_select(struct tide_stack *st, struct tide_sock *first,
					  const struct tide_conn_id *k)
{
	uint32_t n = 1;
	for (struct tide_sock *l = st->listeners; l; l = l->lnext)
		n += same_group(l, first);
	uint32_t slot = (uint32_t)(((uint64_t)tide_hash_key(st, k) * n) >> 32);
	if (first->rp_idx == slot)
		return first;
	for (struct tide_sock *l = st->listeners; l; l = l->lnext)
		if (same_group(l, first) && l->rp_idx == slot)
			return l;
	return first;
}

struct tide_sock *tide_tcp_find_listener(struct tide_stack *st, const struct tide_conn_id *k)
{
	struct tide_sock *wild = NULL, *hit = NULL;
	for (struct tide_sock *l = st->listeners; l; l = l->lnext) {
		if (l->lport != k->lport)
			continue;
		if (l->laddr == k->laddr) {
			hit = l;
			break;
		}
		if (l->laddr == 0 && !wild)
			wild = l;
	}
	if (!hit)
		hit = wild;
	if (hit && hit->reuseport)
		hit = reuseport_select(st, hit, k);
	return hit;
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
		/* a cookie's TSval carries the SYN's options (LC-H08) */
		o.tsval = (rq->cookie ? tide_syncookie_tsval(st, rq) : (uint32_t)(st->now / 1000)) +
			  rq->ts_offset;
		o.tsecr = rq->ts_recent;
		/* the range a valid TSecr lies in (Linux's snt_tsval_first/last) */
		if (!rq->tsval_first)
			rq->tsval_first = o.tsval ? o.tsval : ~0u;
		rq->tsval_last = o.tsval;
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

void tide_tcp_send_synack(struct tide_stack *st, struct tcp_req *rq)
{
	send_synack(st, rq);
}

/* TCP_DEFER_ACCEPT (LC-K18): Linux keeps the seconds as the number of
 * SYN-ACK timeouts (1 s, doubling, at most 120 s each) whose sum first
 * reaches them, and reports that sum back. */
uint8_t tide_tcp_defer_secs_to_retrans(int secs)
{
	if (secs <= 0)
		return 0;
	int timeout = 1, period = 1;
	uint8_t n = 1;
	while (secs > period && n < 255) {
		n++;
		timeout = timeout * 2 > 120 ? 120 : timeout * 2;
		period += timeout;
	}
	return n;
}

int tide_tcp_defer_retrans_to_secs(uint8_t retrans)
{
	if (!retrans)
		return 0;
	int timeout = 1, period = 1;
	while (--retrans) {
		timeout = timeout * 2 > 120 ? 120 : timeout * 2;
		period += timeout;
	}
	return period;
}

void tide_tcp_req_free(struct tide_stack *st, struct tcp_req *rq, bool notify)
{
	tide_htab_remove(st, &rq->h);
	tide_heap_set(&st->timers, &rq->timer, TIDE_TIME_NEVER);
	if (rq->listener && rq->listener->syn_len)
		rq->listener->syn_len--;
	if (rq->listener && rq->retransmits == 0 && rq->listener->syn_young)
		rq->listener->syn_young--;
	if (notify)
		tide_notify_state(st, &rq->h.key, TIDE_TCP_SYN_RECV, TIDE_TCP_CLOSE);
	tide_mem_free(st, TIDE_MEM_REQ, rq, sizeof(*rq));
}

void tide_tcp_listen_input(struct tide_stack *st, struct tide_sock *lsk, const struct tide_ipv4 *ip,
			   const struct tide_tcp *th)
{
	uint8_t f = th->flags;
	/* a SYN that reopened a TIME_WAIT brings its ISN (Linux's tcp_tw_isn) */
	uint32_t tw_isn = st->tw_isn;
	st->tw_isn = 0;
	if (f & TIDE_TCP_RST) {
		TIDE_INC(st, DropTcpRst);
		return;
	}
	if (f & TIDE_TCP_ACK) {
		/* no request for it: the ACK of a cookie SYN-ACK (LC-H08), or
		 * of a handshake nobody knows */
		if (!(f & TIDE_TCP_SYN) && tide_syncookie_ack(st, lsk, ip, th))
			return;
		tide_tcp_send_reset_for(st, ip, th);
		TIDE_INC(st, DropTcpNoSocket);
		return;
	}
	if (!(f & TIDE_TCP_SYN)) {
		TIDE_INC(st, DropTcpFlags);
		return;
	}
	/* Linux's tcp_conn_request (LC-H02, LC-K11, LC-K12). The SYN queue is
	 * full when it holds more than the backlog; then a cookie answers
	 * (tcp_syncookies 1; 2 answers every SYN so), or nothing does. A SYN
	 * that reopened a TIME_WAIT skips these limits. */
	int cookies = st->set->tcp_syncookies;
	bool want_cookie = false;
	if (!tw_isn && (cookies == 2 || lsk->syn_len > (uint32_t)lsk->backlog)) {
		if (!cookies) {
			TIDE_INC(st, TCPReqQFullDrop);
			TIDE_INC(st, ListenDrops);
			return;
		}
		TIDE_INC(st, TCPReqQFullDoCookies);
		want_cookie = true;
	}
	if (lsk->acc_len > (uint32_t)lsk->backlog) {
		TIDE_INC(st, ListenOverflows);
		TIDE_INC(st, ListenDrops);
		return;
	}
	/* Without cookies the last quarter of tcp_max_syn_backlog is kept
	 * for peers Linux's TCP metrics prove alive; tide keeps no metrics,
	 * so no peer is proven. */
	int max_syn = st->set->tcp_max_syn_backlog;
	if (!want_cookie && !tw_isn && !cookies &&
	    (int64_t)max_syn - lsk->syn_len < (int64_t)(max_syn >> 2)) {
		TIDE_INC(st, ListenDrops);
		return;
	}
	/* A cookie's request lives only for this call. A queued one has its
	 * timer slot from birth, as a connection; without memory the SYN is
	 * dropped (Linux's reqsk_alloc failing). */
	struct tcp_req cookie_rq, *rq = NULL;
	if (want_cookie) {
		memset(&cookie_rq, 0, sizeof(cookie_rq));
		rq = &cookie_rq;
	} else if (tide_heap_reserve(st, &st->timers, (uint32_t)(st->mem.objects[TIDE_MEM_CONN] +
								 st->mem.objects[TIDE_MEM_REQ] + 1)) == 0) {
		rq = tide_mem_zalloc(st, TIDE_MEM_REQ, sizeof(*rq));
	}
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
	rq->iss = tw_isn ? tw_isn : tide_tcp_isn(st, &rq->h.key);
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
	if (want_cookie) {
		tide_syncookie_send(st, rq, th); /* keeps nothing */
		return;
	}
	tide_htab_insert(st, &rq->h);
	lsk->syn_len++;
	lsk->syn_young++;
	tide_notify_state(st, &rq->h.key, TIDE_TCP_LISTEN, TIDE_TCP_SYN_RECV);
	send_synack(st, rq);
	req_timers(st, rq, st->now + synack_timeout(st, 0));
}

/* Linux's reqsk_timer_handler. rq->retransmits counts timeouts (its
 * num_timeout). When the SYN queue is more than half full (of the backlog,
 * at least 8), requests that saw a timeout lose retries, down to 2, so the
 * young half keeps its room; TCP_DEFER_ACCEPT keeps an ACKed request
 * silent until its last round (syn_ack_recalc, LC-K18). */
void tide_tcp_req_timer(struct tide_stack *st, struct tcp_req *rq)
{
	struct tide_sock *lsk = rq->listener;
	int max_retries = st->set->tcp_synack_retries;
	uint64_t qlen = lsk->syn_len;
	if ((qlen << 1) > (uint64_t)(lsk->backlog > 8 ? lsk->backlog : 8)) {
		uint64_t young = (uint64_t)lsk->syn_young << 1;
		while (max_retries > 2) {
			if (qlen < young)
				break;
			max_retries--;
			young <<= 1;
		}
	}
	int nt = rq->retransmits, defer = lsk->defer_accept;
	bool expire, resend = true;
	if (!defer) {
		expire = nt >= max_retries;
	} else {
		expire = nt >= max_retries && (!rq->acked || nt >= defer);
		resend = !rq->acked || nt >= defer - 1;
	}
	if (expire) {
		tide_tcp_req_free(st, rq, true);
		return;
	}
	if (resend) {
		if (st->cfg.on_timer)
			st->cfg.on_timer(st->cfg.timer_ctx, &rq->h.key, "SYN-ACK retransmission", st->now);
		TIDE_INC(st, RetransSegs);
		rq->resent = true;
		if (rq->num_retrans < UINT8_MAX)
			rq->num_retrans++;
		send_synack(st, rq);
	}
	if (rq->retransmits++ == 0 && lsk->syn_young)
		lsk->syn_young--;
	req_timers(st, rq, st->now + synack_timeout(st, rq->retransmits));
}

/* Linux's tcp_oow_rate_limited: answers to a request's pure ACKs and SYNs
 * at most once per tcp_invalid_ratelimit. */
static bool req_rate_limited(struct tide_stack *st, struct tcp_req *rq, const struct tide_tcp *th)
{
	if ((th->payload_len || (th->flags & TIDE_TCP_FIN)) && !(th->flags & TIDE_TCP_SYN))
		return false;
	if (rq->last_oow && st->now - rq->last_oow < TIDE_MS(st->set->tcp_invalid_ratelimit)) {
		TIDE_INC(st, TCPACKSkippedSynRecv);
		return true;
	}
	rq->last_oow = st->now ? st->now : 1;
	return false;
}

/* The ACK a request sends for an unacceptable segment (Linux's
 * tcp_v4_reqsk_send_ack): seq ISS+1, the SYN's TSval echoed. */
static void req_send_ack(struct tide_stack *st, struct tcp_req *rq, uint32_t wnd)
{
	struct tide_tcp_opts o;
	memset(&o, 0, sizeof(o));
	if (rq->ts_recent) { /* Linux echoes whatever TSval it kept */
		o.present = TIDE_OPT_TS;
		o.tsval = (uint32_t)(st->now / 1000) + rq->ts_offset;
		o.tsecr = rq->ts_recent;
	}
	uint8_t ws = rq->ws_ok ? tide_tcp_rcv_wscale(st) : 0;
	uint8_t *tcp = st->txbuf + TIDE_IPV4_HLEN;
	size_t n = tide_tcp_build(tcp, st->txcap - TIDE_IPV4_HLEN, rq->h.key.laddr, rq->h.key.raddr,
				  rq->h.key.lport, rq->h.key.rport, rq->iss + 1, rq->irs + 1,
				  TIDE_TCP_ACK, (uint16_t)(wnd >> ws), &o, NULL, 0);
	if (n)
		tide_emit_ip(st, rq->h.key.raddr, tcp, n);
}

/* Linux's tcp_in_window, for a request's window [s_win, e_win]. */
static bool req_in_window(uint32_t seq, uint32_t end, uint32_t s_win, uint32_t e_win)
{
	if (seq == s_win)
		return true;
	if (tide_seq_gt(end, s_win) && tide_seq_lt(seq, e_win))
		return true;
	return seq == e_win && seq == end;
}

/* The request is reset (Linux's embryonic_reset). */
static void req_embryonic_reset(struct tide_stack *st, struct tcp_req *rq, const struct tide_ipv4 *ip,
				const struct tide_tcp *th, uint8_t f)
{
	if (!(f & TIDE_TCP_RST))
		tide_tcp_send_reset_for(st, ip, th);
	TIDE_INC(st, EmbryonicRsts);
	tide_tcp_req_free(st, rq, true);
}

/* A segment for a half-open request (Linux's tcp_check_req): a resent SYN,
 * the final ACK of the handshake, or something to refuse. */
void tide_tcp_req_input(struct tide_stack *st, struct tcp_req *rq, const struct tide_ipv4 *ip,
			const struct tide_tcp *th)
{
	uint8_t f = th->flags & (TIDE_TCP_SYN | TIDE_TCP_ACK | TIDE_TCP_RST);
	struct tide_sock *lsk = rq->listener;
	bool has_ts = st->set->tcp_timestamps && (th->opts.present & TIDE_OPT_TS);
	bool paws_reject = false, tsecr_reject = false;
	if (has_ts) {
		/* the echo must be a TSval some SYN-ACK carried (Linux 6.x) */
		if (th->opts.tsecr && rq->ts_ok)
			tsecr_reject = th->opts.tsecr - rq->tsval_first > rq->tsval_last - rq->tsval_first;
		/* PAWS against the SYN's TSval; a RST escapes it once the
		 * request's timeout reached 60 s (TCP_PAWS_MSL) */
		if (rq->ts_recent && (int32_t)(rq->ts_recent - th->opts.tsval) > 0)
			paws_reject = !((f & TIDE_TCP_RST) &&
					synack_timeout(st, rq->retransmits) >= TIDE_SEC(60));
	}
	if (f == TIDE_TCP_SYN && th->seq == rq->irs && !paws_reject) {
		/* the peer did not hear our SYN-ACK: say it again, and start
		 * the timer over */
		if (!req_rate_limited(st, rq, th)) {
			TIDE_INC(st, RetransSegs);
			rq->resent = true;
			if (rq->num_retrans < UINT8_MAX)
				rq->num_retrans++;
			send_synack(st, rq);
			req_timers(st, rq, st->now + synack_timeout(st, rq->retransmits));
		}
		return;
	}
	if ((f & TIDE_TCP_ACK) && th->ack != rq->iss + 1) {
		/* Linux hands it to the listener, which resets it */
		tide_tcp_listen_input(st, lsk, ip, th);
		return;
	}
	uint32_t rcv_nxt = rq->irs + 1;
	uint32_t wnd = tide_tcp_initial_rcv_wnd(st, (uint16_t)(tide_tcp_adv_mss(st) - (rq->ts_ok ? 12 : 0)));
	if (wnd > 65535)
		wnd = 65535; /* tcp_synack_window */
	uint32_t end = th->seq + (uint32_t)th->payload_len + ((th->flags & TIDE_TCP_SYN) ? 1 : 0) +
		       ((th->flags & TIDE_TCP_FIN) ? 1 : 0);
	if (paws_reject || tsecr_reject || !req_in_window(th->seq, end, rcv_nxt, rcv_nxt + wnd)) {
		if (!(f & TIDE_TCP_RST) && !req_rate_limited(st, rq, th))
			req_send_ack(st, rq, wnd);
		if (paws_reject)
			TIDE_INC(st, PAWSEstab);
		else if (tsecr_reject)
			TIDE_INC(st, TSEcrRejected);
		TIDE_INC(st, DropTcpSequence);
		return;
	}
	if (has_ts && !tide_seq_gt(th->seq, rcv_nxt))
		rq->ts_recent = th->opts.tsval;
	if (th->seq == rq->irs)
		f &= (uint8_t)~TIDE_TCP_SYN; /* the SYN lies left of the window */
	if (f & (TIDE_TCP_RST | TIDE_TCP_SYN)) {
		TIDE_INC(st, AttemptFails);
		req_embryonic_reset(st, rq, ip, th, f);
		return;
	}
	if (!(f & TIDE_TCP_ACK)) {
		TIDE_INC(st, DropTcpAck);
		return;
	}
	if (rq->retransmits < lsk->defer_accept && end == rq->irs + 1) {
		/* LC-K18: a bare ACK does not complete the handshake while
		 * TCP_DEFER_ACCEPT waits for data */
		rq->acked = true;
		TIDE_INC(st, TCPDeferAcceptDrop);
		return;
	}
	if (tide_tcp_req_child(st, rq, ip, th))
		return;
	/* LC-H03: the accept queue is full. The ACK is dropped and the
	 * SYN-ACK goes again later, or with tcp_abort_on_overflow a RST. */
	if (!st->set->tcp_abort_on_overflow) {
		rq->acked = true;
		return;
	}
	req_embryonic_reset(st, rq, ip, th, f);
}

bool tide_tcp_req_child(struct tide_stack *st, struct tcp_req *rq, const struct tide_ipv4 *ip,
			const struct tide_tcp *th)
{
	struct tide_sock *lsk = rq->listener;
	if (lsk->acc_len > (uint32_t)lsk->backlog) {
		TIDE_INC(st, ListenOverflows);
		TIDE_INC(st, ListenDrops);
		return false;
	}
	/* A cookie's 4-tuple may have got a request since (the SYN sent
	 * again once the SYN queue had room): Linux's inet_ehash_insert
	 * finds it (found_dup_sk) and the cookie's connection is dropped,
	 * silently. */
	if (rq->cookie && tide_htab_find(st, &rq->h.key))
		return true;
	uint32_t rcv_nxt = rq->irs + 1;
	/* a cookie's connection sizes its window by the cookie's MSS, as
	 * Linux's cookie_v4_check does */
	uint32_t wnd = rq->cookie ? tide_tcp_initial_rcv_wnd(st, rq->cookie_mss)
				  : tide_tcp_initial_rcv_wnd(st, (uint16_t)(tide_tcp_adv_mss(st) -
									     (rq->ts_ok ? 12 : 0)));
	struct tcp_conn *c = tide_tcp_conn_new(st, NULL);
	if (!c) {
		TIDE_INC(st, ListenDrops);
		return false;
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
	c->keepidle = lsk->keepidle;   /* a child is a clone of its listener */
	c->keepintvl = lsk->keepintvl;
	c->keepcnt = lsk->keepcnt;
	c->linger2 = lsk->linger2;
	c->user_timeout_ms = lsk->user_timeout_ms;
	c->reuse = (uint8_t)((lsk->reuseaddr ? TIDE_REUSE_ADDR : 0) |
			     (lsk->reuseport ? TIDE_REUSE_PORT : 0));
	c->sndbuf = lsk->sndbuf;
	c->rcvbuf = lsk->rcvbuf;
	tide_tcp_set_mss(c);
	if (!rq->resent) {
		/* from the first SYN-ACK (Linux's snt_synack; timeouts that
		 * resent nothing, under TCP_DEFER_ACCEPT, do not count) */
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
	if (rq->cookie) /* no request was: it is born now */
		tide_notify_state(st, &c->h.key, TIDE_TCP_LISTEN, TIDE_TCP_SYN_RECV);
	c->listener = lsk;
	if (!rq->cookie)
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
	/* not an orphan: Linux's tcp_orphan_count ignores accept queues */
	tide_tcp_input(st, ip, th);
	return true;
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
