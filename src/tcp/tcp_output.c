/*
 * Building and sending segments: SYN, SYN-ACK, ACK, data, FIN, RST, probes.
 */
#include "core/stack_int.h"

static uint8_t *tcp_area(struct tide_stack *st) { return st->txbuf + TIDE_IPV4_HLEN; }
static size_t tcp_cap(struct tide_stack *st) { return st->txcap - TIDE_IPV4_HLEN; }

/* Sends a segment of a connection; payload (if any) is copied from the
 * send queue at byte offset `off`. */
static void xmit(struct tcp_conn *c, uint32_t seq, uint8_t flags, uint16_t window,
		 const struct tide_tcp_opts *opts, uint32_t off, uint32_t len)
{
	struct tide_stack *st = c->st;
	uint8_t *data = NULL;
	if (len) {
		/* Copy the payload straight to where tide_tcp_build puts it
		 * (after the header and its options) when it fits there;
		 * otherwise to the scratch, the second half of txbuf. */
		uint8_t optbuf[TIDE_TCP_MAX_OPTLEN];
		size_t hlen = TIDE_TCP_HLEN + tide_tcp_build_opts(optbuf, sizeof(optbuf), opts);
		if (hlen <= tcp_cap(st) && len <= tcp_cap(st) - hlen)
			data = tcp_area(st) + hlen;
		else
			data = st->txbuf + st->txcap;
		tide_ring_peek(&c->sndq, off, data, len);
	}
	size_t n = tide_tcp_build(tcp_area(st), tcp_cap(st), c->h.key.laddr, c->h.key.raddr,
				  c->h.key.lport, c->h.key.rport, seq, c->rcv_nxt,
				  flags, window, opts, data, len);
	if (!n)
		return;
	if (tide_seq_lt(seq, c->snd_max) && (len || (flags & (TIDE_TCP_SYN | TIDE_TCP_FIN))))
		TIDE_INC(st, RetransSegs);
	if (flags & TIDE_TCP_RST)
		TIDE_INC(st, OutRsts);
	/* Data sent within the ACK timeout of the last data received is a
	 * reply: the exchange is interactive and our ACKs may wait for the
	 * next reply (Linux's tcp_event_data_sent, tcp_pingpong_thresh 1). */
	if (len && st->now - c->lrcvtime < c->ato_us)
		c->pingpong = true;
	if (len)
		c->lsndtime = st->now; /* Linux's tcp_event_data_sent */
	if (flags & TIDE_TCP_ACK) {
		/* Every segment carrying an ACK settles what we owed. */
		c->ack_pending = false;
		c->segs_unacked = 0;
		c->t_delack = TIDE_TIME_NEVER;
		c->rcv_wup = c->rcv_nxt;
	}
	tide_emit_ip(st, c->h.key.raddr, tcp_area(st), n);
}

static void ts_opts(struct tcp_conn *c, struct tide_tcp_opts *o)
{
	memset(o, 0, sizeof(*o));
	if (c->ts_ok) {
		o->present |= TIDE_OPT_TS;
		o->tsval = tide_tcp_tsval(c);
		o->tsecr = c->ts_recent;
	}
}

/* SACK blocks for what the out-of-order queue holds (at most 3 with
 * timestamps, as Linux). */
static void sack_opts(struct tcp_conn *c, struct tide_tcp_opts *o)
{
	if (!c->sack_ok || !c->ofo)
		return;
	/* The runs of contiguous queued data, each ranked by its newest
	 * segment (the first 32 runs; more is beyond any real queue). */
	struct { uint32_t l, r, stamp; } b[32];
	unsigned nb = 0;
	for (struct tcp_ofo *q = c->ofo; q; q = q->next) {
		uint32_t l = q->seq, r = q->seq + q->len + (q->fin ? 1 : 0);
		if (nb && tide_seq_le(l, b[nb - 1].r)) {
			if (tide_seq_gt(r, b[nb - 1].r))
				b[nb - 1].r = r;
			if (q->stamp > b[nb - 1].stamp)
				b[nb - 1].stamp = q->stamp;
			continue;
		}
		if (nb == 32)
			break;
		b[nb].l = l;
		b[nb].r = r;
		b[nb].stamp = q->stamp;
		nb++;
	}
	/* RFC 2018 4: the block with the segment that triggered this ACK
	 * first, then the others from the most recently changed, as Linux
	 * keeps them */
	unsigned max = c->ts_ok ? 3 : 4, n = 0;
	for (; n < max && n < nb; n++) {
		unsigned best = n;
		for (unsigned k = n + 1; k < nb; k++)
			if (b[k].stamp > b[best].stamp)
				best = k;
		o->sack[n].left = b[best].l;
		o->sack[n].right = b[best].r;
		b[best] = b[n];
	}
	o->nsack = (uint8_t)n;
	if (n)
		o->present |= TIDE_OPT_SACK;
}

/* The window to announce. It never moves the right edge left (RFC 9293
 * §3.8.6.2.2) and grows with the data the application has read. */
static uint16_t select_window(struct tcp_conn *c)
{
	if (c->rcv_nomem) {
		/* Data was dropped for want of memory: this ACK shows window 0
		 * and the window shrinks to nothing (Linux's ICSK_ACK_NOMEM in
		 * tcp_select_window). */
		c->rcv_nomem = false;
		c->rcv_wnd = 0;
		c->rcv_adv = c->rcv_nxt;
		return 0;
	}
	int64_t free_space = (int64_t)c->rcvbuf - c->rcvq.len - c->ofo_bytes;
	if (free_space < 0)
		free_space = 0;
	uint32_t win = (uint32_t)free_space;
	if (win > c->rcv_wnd_clamp)
		win = c->rcv_wnd_clamp;
	/* Under memory pressure, with less than half the buffer free, the
	 * window grows no further than 4 segments (Linux's
	 * tcp_adjust_rcv_ssthresh). Linux then regrows its rcv_ssthresh a
	 * segment at a time; tide, whose window does not autotune, lifts the
	 * cap when the pressure ends. */
	if (tide_mem_pressure(c->st) && free_space < c->rcvbuf / 2 && win > 4u * c->advmss)
		win = 4u * c->advmss;
	uint32_t cur = tide_seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	uint32_t gran = 1u << c->rcv_wscale;
	if (win < cur)
		win = cur;
	/* Linux aligns up to the scale unit so that a small window is not
	 * scaled away to zero. */
	win = (win + gran - 1) & ~(gran - 1);
	uint32_t maxwin = 65535u << c->rcv_wscale;
	if (win > maxwin)
		win = maxwin;
	c->rcv_wnd = win;
	if (tide_seq_gt(c->rcv_nxt + win, c->rcv_adv))
		c->rcv_adv = c->rcv_nxt + win;
	return (uint16_t)(win >> c->rcv_wscale);
}

void tide_tcp_send_syn(struct tcp_conn *c, bool with_ack)
{
	struct tide_stack *st = c->st;
	struct tide_tcp_opts o;
	memset(&o, 0, sizeof(o));
	o.present = TIDE_OPT_MSS;
	o.mss = c->advmss;
	bool offer_ts = with_ack ? c->ts_ok : st->set->tcp_timestamps != 0;
	bool offer_sack = with_ack ? c->sack_ok : st->set->tcp_sack != 0;
	bool offer_ws = with_ack ? c->ws_ok : st->set->tcp_window_scaling != 0;
	if (offer_sack)
		o.present |= TIDE_OPT_SACK_OK;
	if (offer_ts) {
		o.present |= TIDE_OPT_TS;
		o.tsval = tide_tcp_tsval(c);
		/* Linux echoes ts_recent even in a SYN: 0, or the TIME_WAIT
		 * record's after connect() took its 4-tuple over (LC-K08) */
		o.tsecr = c->ts_recent;
	}
	if (offer_ws) {
		o.present |= TIDE_OPT_WSCALE;
		o.wscale = c->rcv_wscale;
	}
	/* Linux sends a SYN (and the SYN-ACK of a simultaneous open, which is
	 * the same SYN with ACK set) with the window chosen at connect(),
	 * before timestamps were agreed: 64240 with MSS 1460. */
	uint32_t wnd = tide_tcp_initial_rcv_wnd(st, c->advmss);
	if (!c->rcv_wnd_clamp)
		c->rcv_wnd_clamp = wnd;
	c->rcv_wnd = wnd;
	if (with_ack)
		c->rcv_adv = c->rcv_nxt + wnd;
	xmit(c, c->iss, TIDE_TCP_SYN | (with_ack ? TIDE_TCP_ACK : 0), (uint16_t)wnd, &o, 0, 0);
	if (tide_seq_lt(c->snd_nxt, c->iss + 1))
		c->snd_nxt = c->iss + 1;
	c->snd_max = tide_seq_max(c->snd_max, c->snd_nxt);
}

/* At the highest sequence number sent, as Linux's (tcp_acceptable_seq):
 * after a timeout tide's snd_nxt is back at SND.UNA, below what the peer
 * has received, and an ACK there would be refused as old, its
 * acknowledgment with it (the deadlock of
 * test_rfc9293_pure_ack_after_timeout_carries_highest_seq). */
void tide_tcp_send_ack(struct tcp_conn *c)
{
	struct tide_tcp_opts o;
	ts_opts(c, &o);
	sack_opts(c, &o);
	xmit(c, c->snd_max, TIDE_TCP_ACK, select_window(c), &o, 0, 0);
}

/* Linux's tcp_send_active_reset: RST|ACK at the highest sequence number
 * sent (its snd_nxt never moves back after a timeout; tide's does). */
void tide_tcp_send_active_reset(struct tcp_conn *c)
{
	struct tide_tcp_opts o;
	ts_opts(c, &o);
	xmit(c, c->snd_max, TIDE_TCP_RST | TIDE_TCP_ACK, select_window(c), &o, 0, 0);
}

/* A zero-window or keepalive probe: an ACK one byte below SND.UNA, which
 * the peer must answer with an ACK (RFC 9293 §3.8.4). */
void tide_tcp_send_probe(struct tcp_conn *c)
{
	struct tide_tcp_opts o;
	ts_opts(c, &o);
	xmit(c, c->snd_una - 1, TIDE_TCP_ACK, select_window(c), &o, 0, 0);
}

void tide_tcp_rearm_rexmit(struct tcp_conn *c)
{
	uint64_t rto = (uint64_t)c->rto_us << c->backoff;
	uint64_t max = (uint64_t)c->st->set->tcp_rto_max_ms * 1000u;
	if (rto > max)
		rto = max;
	c->t_rexmit = c->st->now + rto;
	c->rexmit_is_probe = false;
}

/* The sequence number of the first data byte in the send queue. */
static uint32_t data_start(const struct tcp_conn *c)
{
	return tide_seq_gt(c->snd_una, c->iss) ? c->snd_una : c->iss + 1;
}

static bool may_send_data(const struct tcp_conn *c)
{
	switch (c->state) {
	case TIDE_TCP_ESTABLISHED:
	case TIDE_TCP_CLOSE_WAIT:
	case TIDE_TCP_FIN_WAIT1:
	case TIDE_TCP_CLOSING:
	case TIDE_TCP_LAST_ACK:
		return tide_seq_gt(c->snd_una, c->iss);
	default:
		return false;
	}
}

static void output(struct tcp_conn *c, bool wakeup);

/* Sends what the windows and Nagle allow, attaching the FIN to the last
 * data segment when the application has closed (as Linux does). */
void tide_tcp_output(struct tcp_conn *c)
{
	output(c, false);
}

/* The persist timer found a window too small for the next segment: send
 * what fits, one segment (Linux's tcp_write_wakeup). */
void tide_tcp_write_wakeup(struct tcp_conn *c)
{
	output(c, true);
}

static void output(struct tcp_conn *c, bool wakeup)
{
	if (!may_send_data(c))
		return;
	if (c->snd_una == c->snd_max)
		c->snd_sml = c->snd_una; /* nothing in flight, small or not */
	for (;;) {
		uint32_t start = data_start(c);
		uint32_t off = c->snd_nxt - start;
		if (c->fin_sent && !tide_seq_lt(c->snd_nxt, c->fin_seq + 1))
			break; /* everything including the FIN is out */
		if (off > c->sndq.len)
			break;
		uint32_t avail = c->sndq.len - off;
		uint32_t inflight = c->snd_nxt - c->snd_una;
		uint32_t wnd = c->snd_wnd < c->cwnd ? c->snd_wnd : c->cwnd;
		uint32_t usable = wnd > inflight ? wnd - inflight : 0;
		uint32_t len = avail;
		if (len > c->mss)
			len = c->mss;
		if (len > usable)
			len = usable;
		bool fin = c->fin_queued && off + len == c->sndq.len;
		if ((len == 0 && !fin) ||
		    (len < (avail < c->mss ? avail : c->mss) && !(wakeup && len > 0))) {
			/* Sender SWS avoidance (RFC 1122 4.2.3.4, Linux's
			 * tcp_snd_wnd_test): a segment goes only when a full one,
			 * or all that is queued, fits. With nothing in flight
			 * the persist timer probes a zero window, or fills a
			 * small one (tide_tcp_write_wakeup). */
			if (avail && inflight == 0 && c->t_rexmit == TIDE_TIME_NEVER) {
				tide_tcp_rearm_rexmit(c);
				c->rexmit_is_probe = true;
			}
			break;
		}
		if (len > 0 && len < c->mss && len == avail && !fin && !c->nodelay && !wakeup &&
		    tide_seq_gt(c->snd_sml, c->snd_una) && !tide_seq_gt(c->snd_sml, c->snd_nxt))
			break; /* Nagle (Minshall's, as Linux): one small segment in flight at a time */
		uint8_t flags = TIDE_TCP_ACK;
		if (len && (off + len == c->sndq.len || wakeup))
			flags |= TIDE_TCP_PSH;
		if (fin)
			flags |= TIDE_TCP_FIN;
		struct tide_tcp_opts o;
		ts_opts(c, &o);
		uint32_t seq = c->snd_nxt;
		bool new_data = !tide_seq_lt(seq, c->snd_max);
		if (c->snd_una == c->snd_max)
			c->retrans_stamp = c->st->now; /* the head's first transmission */
		xmit(c, seq, flags, select_window(c), &o, off, len);
		c->snd_nxt = seq + len + (fin ? 1 : 0);
		if (len < c->mss)
			c->snd_sml = c->snd_nxt;
		if (fin) {
			c->fin_sent = true;
			c->fin_seq = seq + len;
		}
		if (new_data && !c->rtt_timing) {
			c->rtt_timing = true;
			c->rtt_seq = c->snd_nxt;
			c->rtt_time = c->st->now;
		}
		c->snd_max = tide_seq_max(c->snd_max, c->snd_nxt);
		if (c->t_rexmit == TIDE_TIME_NEVER || c->rexmit_is_probe)
			tide_tcp_rearm_rexmit(c);
		if (fin || wakeup)
			break;
	}
}

/* Resends the oldest unacknowledged segment (after an RTO or three
 * duplicate ACKs). Returns 0, or -1 if there was nothing to resend. */
int tide_tcp_retransmit_head(struct tcp_conn *c)
{
	if (c->state == TIDE_TCP_SYN_SENT) {
		tide_tcp_send_syn(c, false);
		return 0;
	}
	if (c->state == TIDE_TCP_SYN_RECV) {
		tide_tcp_send_syn(c, true);
		return 0;
	}
	if (c->snd_una == c->snd_max)
		return -1;
	uint32_t start = data_start(c);
	uint32_t off = c->snd_una - start;
	uint32_t avail = off < c->sndq.len ? c->sndq.len - off : 0;
	uint32_t len = avail < c->mss ? avail : c->mss;
	/* Only data sent before: bytes queued since (held back by Nagle, say)
	 * are new data. Linux collapses a retransmission only with segments
	 * already sent, and an ACK beyond snd_max would be refused. */
	uint32_t sent = (c->fin_sent ? c->fin_seq : c->snd_max) - c->snd_una;
	if (len > sent)
		len = sent;
	bool fin = c->fin_sent && c->snd_una + len == c->fin_seq;
	uint8_t flags = TIDE_TCP_ACK;
	if (len && (off + len == c->sndq.len || len == sent))
		flags |= TIDE_TCP_PSH;
	if (fin)
		flags |= TIDE_TCP_FIN;
	struct tide_tcp_opts o;
	ts_opts(c, &o);
	xmit(c, c->snd_una, flags, select_window(c), &o, off, len);
	uint32_t end = c->snd_una + len + (fin ? 1 : 0);
	if (tide_seq_lt(c->snd_nxt, end))
		c->snd_nxt = end;
	return 0;
}

/* Either sends the ACK now or lets the delayed-ACK timer do it. */
void tide_tcp_schedule_ack(struct tcp_conn *c)
{
	c->ack_pending = true;
	if (c->t_delack == TIDE_TIME_NEVER) {
		/* Before the first data (or quick-ACK mode) Linux's ato is 0:
		 * its timer is armed for jiffies + 0 and fires at the next tick.
		 * tide counts a tick as 1 ms (HZ 1000), as its other tick-based
		 * figure does (the one tick of PAWS tolerance). */
		uint32_t ato = c->ato_us ? c->ato_us : 1000u;
		c->t_delack = c->st->now + ato;
	}
}
