/*
 * SYN cookies (LC-H08, LC-K12): when the SYN queue is full
 * (tcp_syncookies=1) or always (tcp_syncookies=2), a listener answers a SYN
 * with a SYN-ACK whose sequence number is a cookie and keeps nothing; the
 * ACK that comes back (its ACK number minus one a valid cookie) rebuilds
 * the connection straight into the accept queue, as Linux's syncookies.c.
 *
 * tide's cookie (its own design, not Linux's):
 *
 *	cookie = (H(secret, 4-tuple, peer ISN, period, m) & ~3) | m
 *
 * H is tide_hash64 keyed by the stack's secret, `period` the stack's clock
 * in 64-second steps, m the index of the MSS in a table of four values (the
 * ones Linux's msstab uses: 536, 1300, 1440, 1460; the largest not above the
 * peer's MSS, 536 if none). A cookie is good in the period it was made and
 * the next one, so it lives 64 to 128 s (Linux: 60 to 120 s). 30 bits of it
 * are hash: a forger guesses right once in 2^30.
 *
 * The rest of what the SYN asked for rides, as in Linux, in the low 6 bits
 * of the SYN-ACK's TSval (its timestamp rounded down to 64 ms): the
 * peer's window scale (0xf: none) and SACK-permitted (bit 4); the ACK's
 * TSecr gives them back. Without timestamps there is nowhere to keep them,
 * so the SYN-ACK offers neither and the connection does without window
 * scaling and SACK, as in Linux.
 *
 * Counters as in Linux: SyncookiesSent for each cookie SYN-ACK,
 * SyncookiesRecv for each valid cookie, SyncookiesFailed for an ACK that
 * is not one, while the listener sent cookies in the last 2 minutes
 * (before and after that, an ACK to a listener just gets a RST).
 */
#include "core/stack_int.h"

#define COOKIE_PERIOD TIDE_SEC(64)
#define COOKIE_MAX_AGE 2            /* periods a cookie is good for */
#define COOKIE_CHECKED TIDE_SEC(120) /* Linux's TCP_SYNCOOKIE_VALID */

#define TS_WSCALE_MASK 0x0fu        /* 0xf: no window scaling */
#define TS_SACK 0x10u
#define TS_BITS 6

static const uint16_t msstab[4] = { 536, 1300, 1440, 1460 };

static uint32_t cookie_hash(const struct tide_stack *st, const struct tide_conn_id *k,
			    uint32_t peer_isn, uint64_t period, uint32_t m)
{
	uint64_t a = ((uint64_t)k->laddr << 32) | k->raddr;
	uint64_t b = ((uint64_t)k->lport << 48) | ((uint64_t)k->rport << 32) | peer_isn;
	uint64_t h = tide_hash64(st->cfg.secret ^ 0x5c00c1e5c00c1e5ull, a, b);
	return (uint32_t)tide_hash64(h, period, m);
}

/* The MSS of a valid cookie, or 0. */
static uint16_t cookie_check(const struct tide_stack *st, const struct tide_conn_id *k,
			     uint32_t peer_isn, uint32_t cookie)
{
	uint32_t m = cookie & 3u;
	uint64_t now = st->now / COOKIE_PERIOD;
	for (uint64_t age = 0; age < COOKIE_MAX_AGE && age <= now; age++)
		if ((cookie_hash(st, k, peer_isn, now - age, m) & ~3u) == (cookie & ~3u))
			return msstab[m];
	return 0;
}

/* The TSval of a cookie SYN-ACK before the connection's offset: the clock
 * in ms with the options in its low bits, never ahead of the clock (Linux's
 * cookie_init_timestamp). */
uint32_t tide_syncookie_tsval(const struct tide_stack *st, const struct tcp_req *rq)
{
	uint64_t now = st->now / 1000;
	uint64_t opts = (rq->ws_ok ? rq->snd_wscale : TS_WSCALE_MASK) | (rq->sack_ok ? TS_SACK : 0);
	uint64_t ts = ((now >> TS_BITS) << TS_BITS) | opts;
	if (ts > now)
		ts -= 1u << TS_BITS;
	return (uint32_t)ts;
}

void tide_syncookie_send(struct tide_stack *st, struct tcp_req *rq, const struct tide_tcp *th)
{
	struct tide_sock *lsk = rq->listener;
	(void)th;
	if (!rq->ts_ok) {
		/* nowhere to keep the options: offer none (tcp_clear_options) */
		rq->ws_ok = false;
		rq->snd_wscale = 0;
		rq->sack_ok = false;
	}
	uint32_t m = 3;
	while (m && rq->peer_mss < msstab[m])
		m--;
	rq->cookie = true;
	rq->iss = (cookie_hash(st, &rq->h.key, rq->irs, st->now / COOKIE_PERIOD, m) & ~3u) | m;
	/* Linux's tcp_synq_overflow: the time ACKs start being checked for
	 * cookies, moved at most once a second */
	if (!lsk->synq_overflowed || st->now > lsk->synq_overflow_at + TIDE_SEC(1)) {
		lsk->synq_overflowed = true;
		lsk->synq_overflow_at = st->now;
	}
	TIDE_INC(st, SyncookiesSent);
	tide_tcp_send_synack(st, rq);
}

bool tide_syncookie_ack(struct tide_stack *st, struct tide_sock *lsk, const struct tide_ipv4 *ip,
			const struct tide_tcp *th)
{
	struct tide_settings *s = st->set;
	if (!s->tcp_syncookies || (th->flags & TIDE_TCP_RST) || !(th->flags & TIDE_TCP_ACK))
		return false;
	/* no cookie sent for 2 minutes: not under a flood (Linux's
	 * tcp_synq_no_recent_overflow) */
	if (!lsk->synq_overflowed || st->now > lsk->synq_overflow_at + COOKIE_CHECKED)
		return false;
	struct tcp_req rq;
	memset(&rq, 0, sizeof(rq));
	rq.h.kind = TIDE_EH_REQ;
	rq.h.key.laddr = ip->dst;
	rq.h.key.raddr = ip->src;
	rq.h.key.lport = th->dport;
	rq.h.key.rport = th->sport;
	rq.timer.when = TIDE_TIME_NEVER;
	rq.listener = lsk;
	rq.irs = th->seq - 1;
	rq.iss = th->ack - 1;
	uint16_t mss = cookie_check(st, &rq.h.key, rq.irs, rq.iss);
	if (!mss) {
		TIDE_INC(st, SyncookiesFailed);
		return false;
	}
	TIDE_INC(st, SyncookiesRecv);
	/* the options, from the echoed TSval (cookie_timestamp_decode) */
	const struct tide_tcp_opts *o = &th->opts;
	if (s->tcp_timestamps && (o->present & TIDE_OPT_TS)) {
		uint32_t offset = 0;
		if (o->tsecr)
			offset = tide_tcp_ts_offset(st, &rq.h.key);
		uint32_t opts = o->tsecr - offset;
		rq.ts_ok = true;
		rq.ts_offset = offset;
		rq.ts_recent = o->tsval;
		rq.sack_ok = (opts & TS_SACK) != 0;
		if (rq.sack_ok && !s->tcp_sack)
			return false;
		if ((opts & TS_WSCALE_MASK) != TS_WSCALE_MASK) {
			rq.ws_ok = true;
			rq.snd_wscale = (uint8_t)(opts & TS_WSCALE_MASK);
			if (!s->tcp_window_scaling)
				return false;
		}
	}
	rq.peer_mss = mss;
	rq.cookie_mss = mss;
	rq.cookie = true;
	rq.resent = true; /* no SYN-ACK time kept: the RTT comes from TSecr, if any */
	rq.created = st->now;
	/* a connection, or (accept queue full) a silent drop */
	tide_tcp_req_child(st, &rq, ip, th);
	return true;
}
