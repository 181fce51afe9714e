/*
 * The runner: plays a parsed scenario on real tide stacks over the
 * simulated network and records everything into the event model.
 *
 * The runner owns the clock. It steps the network one event at a time, so
 * that it knows which delivery caused which state change (the receiver's
 * state "after" a segment is the state its delivery left behind), and it
 * stops at each timeline entry's time to make the application's call,
 * check an expectation or write a note. At one instant, packets and timers
 * go first, then notes, then the timeline's actions (in file order), then
 * the expectations: an expectation sees what the actions at its time did.
 */
#include "scenario.h"

#include <tide/settings.h>
#include <tide/socket.h>
#include <tide/sim.h>
#include <tide/wire.h>

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A run with no `run` line that still has timers pending this long after
 * its last timeline entry is stopped (keepalive would go on for ever). */
#define SIM_GUARD TIDE_SEC(15 * 60)
#define SIM_DEFAULT_BACKLOG 128
/* Host i's stack secret: fixed, so every run of a scenario is the same. */
#define SIM_SECRET UINT64_C(0x7469646573696d00) /* "tidesim" */

/* ---- a small hash table keyed by (host, 4-tuple) -------------------- */

struct centry {
	bool used;
	int host;
	struct tide_conn_id id;
	/* the connection's state, from the stack's on_state reports */
	bool has_state;
	int state;
	size_t born;              /* index of the state change that created it */
	/* sequence space sent, to spot retransmissions */
	bool seq_known;
	uint32_t isn, hi;
	/* the middlebox's view (host -1, ids in canonical order) */
	tide_time mb_last;
	bool mb_forgotten, mb_fin_a, mb_fin_b, mb_rst;
};

struct ctab {
	struct centry *e;
	size_t cap, n;
};

static bool id_eq(const struct tide_conn_id *a, const struct tide_conn_id *b)
{
	return a->laddr == b->laddr && a->raddr == b->raddr && a->lport == b->lport &&
	       a->rport == b->rport;
}

static uint64_t ckey_hash(int host, const struct tide_conn_id *id)
{
	uint64_t x = ((uint64_t)id->laddr << 32 | id->raddr) ^
		     ((uint64_t)id->lport << 48 | (uint64_t)id->rport << 32 | (uint32_t)host);
	x ^= x >> 33;
	x *= UINT64_C(0xff51afd7ed558ccd);
	x ^= x >> 33;
	x *= UINT64_C(0xc4ceb9fe1a85ec53);
	x ^= x >> 33;
	return x;
}

static void oom(void)
{
	fprintf(stderr, "tide-sim: out of memory\n");
	exit(2);
}

static struct centry *ctab_get(struct ctab *t, int host, const struct tide_conn_id *id, bool create)
{
	if (create && (t->n + 1) * 2 > t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 256;
		struct centry *ne = calloc(ncap, sizeof(*ne));
		if (!ne)
			oom();
		for (size_t i = 0; i < t->cap; i++) {
			if (!t->e[i].used)
				continue;
			size_t j = ckey_hash(t->e[i].host, &t->e[i].id) & (ncap - 1);
			while (ne[j].used)
				j = (j + 1) & (ncap - 1);
			ne[j] = t->e[i];
		}
		free(t->e);
		t->e = ne;
		t->cap = ncap;
	}
	if (!t->cap)
		return NULL;
	size_t j = ckey_hash(host, id) & (t->cap - 1);
	while (t->e[j].used) {
		if (t->e[j].host == host && id_eq(&t->e[j].id, id))
			return &t->e[j];
		j = (j + 1) & (t->cap - 1);
	}
	if (!create)
		return NULL;
	struct centry *e = &t->e[j];
	memset(e, 0, sizeof(*e));
	e->used = true;
	e->host = host;
	e->id = *id;
	t->n++;
	return e;
}

/* ---- the runner ----------------------------------------------------- */

struct runner;

struct hostctx {
	struct runner *r;
	int host;
};

/* A named socket at run time. */
struct rsock {
	bool created;             /* a call made it (it may have closed since) */
	bool open;
	int fd;
	bool has_id;
	struct tide_conn_id id;
	size_t log_from;          /* where its connection's state changes start */
	int gone_line;            /* why it is not open: the line that closed it... */
	tide_time gone_at;
	const char *gone_why;     /* "closed", "the process died", "the host rebooted" */
	char *read;
	size_t nread, readcap;
};

struct flight {                   /* a segment with copies still to arrive */
	size_t seg;
	int copies;
};

struct item {                     /* a cut's start or end */
	tide_time t;
	bool start;
	tide_time t2;
};

struct runner {
	const struct sim_scenario *sc;
	struct sim_model *m;
	tide_sim *sim;
	struct hostctx hc[SIM_MAX_HOSTS];
	int node[SIM_MAX_HOSTS];
	uint64_t nsent[SIM_MAX_HOSTS];
	struct ctab conns;        /* per host and 4-tuple */
	struct ctab mbox;         /* the middlebox's table */
	tide_time mb_next;        /* no middlebox entry expires before this */
	struct rsock *socks;

	/* Segments in flight, oldest first. Deliveries come nearly in that
	 * order, so finished entries are only marked (copies 0) and the
	 * window [flhead, nfl) slides. */
	struct flight *fl;
	size_t flhead, nfl, flcap;
	long cur_seg;             /* the segment the network is handling now */
	long deliv_seg;           /* the segment being delivered (any copy), or -1 */
	long rx_seg;              /* the same for its first copy, else -1 */
	bool in_action;           /* a timeline action is being made */
	int rx_host;
	struct tide_conn_id rx_id;

	char *err;
	size_t errlen;
	bool failed;
};

static void *grow(void *arr, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return arr;
	size_t ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	void *n = realloc(arr, ncap * size);
	if (!n)
		oom();
	*cap = ncap;
	return n;
}

static void run_error(struct runner *r, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void run_error(struct runner *r, int line, const char *fmt, ...)
{
	if (r->failed)
		return;
	r->failed = true;
	char msg[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(r->err, r->errlen, "%s:%d: %s", r->sc->file, line, msg);
}

static const char *tstr(char *buf, size_t cap, tide_time t)
{
	snprintf(buf, cap, "%" PRIu64 ".%03" PRIu64 " ms", t / 1000, t % 1000);
	return buf;
}

/* A duration the way people say it: "300 s", "40 ms", "1.5 s". */
static const char *span(char *buf, size_t cap, tide_time d)
{
	if (d >= 1000000 && d % 1000 == 0)
		snprintf(buf, cap, "%g s", (double)d / 1e6);
	else
		snprintf(buf, cap, "%g ms", (double)d / 1e3);
	return buf;
}

static const char *host_name(const struct runner *r, int h)
{
	return h >= 0 && h < r->sc->nhosts ? r->sc->hosts[h].name : "?";
}

/* "server:80", or the address when no host owns it. */
static const char *endpoint(const struct runner *r, uint32_t addr, uint16_t port, char *buf,
			    size_t cap)
{
	for (int h = 0; h < r->sc->nhosts; h++)
		if (r->sc->hosts[h].addr == addr) {
			snprintf(buf, cap, "%s:%u", r->sc->hosts[h].name, port);
			return buf;
		}
	snprintf(buf, cap, "%u.%u.%u.%u:%u", addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255,
		 addr & 255, port);
	return buf;
}

static void add_note(struct runner *r, tide_time t, int host, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void add_note(struct runner *r, tide_time t, int host, const char *fmt, ...)
{
	struct sim_note *n = sim_model_add_note(r->m, t);
	if (!n)
		oom();
	n->host = host;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(n->text, sizeof(n->text), fmt, ap);
	va_end(ap);
}

static tide_stack *stack_of(struct runner *r, int h)
{
	return tide_sim_stack(r->sim, r->node[h]);
}

/* The state of host's connection id, as its stack last reported it; a
 * segment for a 4-tuple with no connection is taken by a listener if
 * there is one. */
static int state_of(struct runner *r, int host, const struct tide_conn_id *id)
{
	struct centry *e = ctab_get(&r->conns, host, id, false);
	if (e && e->has_state)
		return e->state;
	struct tide_conn_id l = { .laddr = id->laddr, .lport = id->lport };
	e = ctab_get(&r->conns, host, &l, false);
	if (!e || !e->has_state || e->state != TIDE_TCP_LISTEN) {
		l.laddr = 0;
		e = ctab_get(&r->conns, host, &l, false);
	}
	if (e && e->has_state && e->state == TIDE_TCP_LISTEN)
		return TIDE_TCP_LISTEN;
	return TIDE_TCP_CLOSE;
}

/* ---- stack callbacks ------------------------------------------------ */

static void record_state(struct runner *r, int host, const struct tide_conn_id *id, int old_state,
			 int new_state, tide_time now)
{
	size_t idx = r->m->nstates;
	struct sim_state_change *c = sim_model_add_state(r->m, now);
	if (!c)
		oom();
	c->host = host;
	c->id = *id;
	c->old_state = old_state;
	c->new_state = new_state;
	if (r->in_action) {
		c->cause = CAUSE_ACTION;
	} else if (r->deliv_seg >= 0) {
		c->cause = CAUSE_ARRIVAL;
		c->cause_seg = (size_t)r->deliv_seg;
	} else {
		c->cause = CAUSE_TIMER;
	}
	struct centry *e = ctab_get(&r->conns, host, id, true);
	if (old_state == TIDE_TCP_CLOSE || old_state == TIDE_TCP_LISTEN || !e->has_state)
		e->born = idx;
	e->has_state = true;
	e->state = new_state;
	/* A connection that ended takes its sequence space with it: the next
	 * one on the same 4-tuple (even with the same ISN) is new, not a
	 * retransmission. */
	if (new_state == TIDE_TCP_CLOSE)
		e->seq_known = false;
	if (r->rx_seg >= 0 && host == r->rx_host && id_eq(id, &r->rx_id))
		r->m->segs[r->rx_seg].receiver_state = new_state;
}

static void on_state(void *ctx, const struct tide_conn_id *id, int old_state, int new_state,
		     tide_time now)
{
	struct hostctx *hc = ctx;
	record_state(hc->r, hc->host, id, old_state, new_state, now);
}

static void on_timer(void *ctx, const struct tide_conn_id *id, const char *what, tide_time now)
{
	struct hostctx *hc = ctx;
	struct sim_timer *t = sim_model_add_timer(hc->r->m, now);
	if (!t)
		oom();
	t->host = hc->host;
	t->id = *id;
	snprintf(t->what, sizeof(t->what), "%s", what);
}

static uint32_t fixed_isn(void *ctx, const struct tide_conn_id *id, tide_time now)
{
	(void)id;
	(void)now;
	struct hostctx *hc = ctx;
	return hc->r->sc->hosts[hc->host].isn;
}

static void host_config(struct runner *r, int h, struct tide_config *cfg)
{
	const struct sim_host *H = &r->sc->hosts[h];
	tide_config_init(cfg);
	cfg->addr = H->addr;
	cfg->secret = SIM_SECRET + (uint64_t)h;
	cfg->on_state = on_state;
	cfg->state_ctx = &r->hc[h];
	cfg->on_timer = on_timer;
	cfg->timer_ctx = &r->hc[h];
	if (H->has_isn) {
		cfg->isn = fixed_isn;
		cfg->isn_ctx = &r->hc[h];
	}
	cfg->settings = H->settings;
}

/* ---- the network tap ------------------------------------------------ */

static int host_of_node(const struct runner *r, int node)
{
	for (int h = 0; h < r->sc->nhosts; h++)
		if (r->node[h] == node)
			return h;
	return -1;
}

/* The network reports on the segment it was just handed: the newest in
 * flight, if it is in flight at all (an unroutable one never was). */
static struct flight *flight_find(struct runner *r, size_t seg)
{
	if (r->nfl > r->flhead && r->fl[r->nfl - 1].seg == seg && r->fl[r->nfl - 1].copies > 0)
		return &r->fl[r->nfl - 1];
	return NULL;
}

static void flight_done(struct runner *r, struct flight *f)
{
	f->copies = 0;
	while (r->flhead < r->nfl && r->fl[r->flhead].copies == 0)
		r->flhead++;
	while (r->nfl > r->flhead && r->fl[r->nfl - 1].copies == 0)
		r->nfl--;
	if (r->flhead == r->nfl) {
		r->flhead = r->nfl = 0;
	} else if (r->flhead > 1024 && r->flhead * 2 > r->nfl) {
		memmove(r->fl, r->fl + r->flhead, (r->nfl - r->flhead) * sizeof(*r->fl));
		r->nfl -= r->flhead;
		r->flhead = 0;
	}
}

static void flight_remove(struct runner *r, size_t seg)
{
	struct flight *f = flight_find(r, seg);
	if (f)
		flight_done(r, f);
}

static bool seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

/* Whether this segment's sequence space was sent before on its 4-tuple.
 * A SYN with a new ISN starts a new connection on the 4-tuple. */
static bool retransmission(struct runner *r, int host, const struct sim_segment *s)
{
	uint32_t space = s->len + ((s->flags & TIDE_TCP_SYN) ? 1 : 0) + ((s->flags & TIDE_TCP_FIN) ? 1 : 0);
	if (!space)
		return false;
	struct centry *e = ctab_get(&r->conns, host, &s->id, true);
	uint32_t end = s->seq + space;
	if (s->flags & TIDE_TCP_SYN) {
		if (e->seq_known && e->isn == s->seq)
			return true;
		e->seq_known = true;
		e->isn = s->seq;
		e->hi = end;
		return false;
	}
	if (!e->seq_known) {
		e->seq_known = true;
		e->isn = s->seq;
		e->hi = end;
		return false;
	}
	bool re = seq_lt(s->seq, e->hi);
	if (seq_lt(e->hi, end))
		e->hi = end;
	return re;
}

static void on_sent(struct runner *r, tide_time now, int from, int to, const uint8_t *pkt,
		    size_t len)
{
	int hf = host_of_node(r, from);
	int ht = to >= 0 ? host_of_node(r, to) : -1;
	size_t idx = r->m->nsegs;
	struct sim_segment *s = sim_model_add_segment(r->m, now);
	if (!s)
		oom();
	s->from = hf;
	s->to = ht;
	s->fate = FATE_DELIVERED;
	struct tide_ipv4 ip;
	struct tide_tcp th;
	if (tide_ipv4_parse(pkt, len, &ip) == TIDE_WIRE_OK &&
	    tide_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, false, &th) == TIDE_WIRE_OK) {
		s->id = (struct tide_conn_id){ ip.src, ip.dst, th.sport, th.dport };
		s->flags = th.flags;
		s->seq = th.seq;
		s->ack = th.ack;
		s->len = (uint32_t)th.payload_len;
		s->win = th.window;
		s->opts = th.opts;
	}
	if (sim_segment_set_packet(s, pkt, len))
		oom();
	/* A forged source (a flood) is nobody's connection. */
	if (hf >= 0 && s->id.laddr == r->sc->hosts[hf].addr)
		s->sender_state = state_of(r, hf, &s->id);
	if (hf >= 0) {
		r->nsent[hf]++;
		s->retransmission = retransmission(r, hf, s);
	}
	r->cur_seg = (long)idx;
	if (to >= 0) {
		r->fl = grow(r->fl, &r->flcap, r->nfl + 1, sizeof(*r->fl));
		r->fl[r->nfl++] = (struct flight){ idx, 1 };
	}
}

static void on_delivered(struct runner *r, tide_time now, int from, int to, const uint8_t *pkt,
			 size_t len)
{
	int hf = host_of_node(r, from), ht = host_of_node(r, to);
	r->deliv_seg = -1;
	for (size_t i = r->flhead; i < r->nfl; i++) {
		if (r->fl[i].copies == 0)
			continue;
		struct sim_segment *s = &r->m->segs[r->fl[i].seg];
		if (s->from != hf || s->to != ht || s->pktlen != len || memcmp(s->pkt, pkt, len) != 0)
			continue;
		size_t seg = r->fl[i].seg;
		r->deliv_seg = (long)seg;
		if (s->delivered == TIDE_TIME_NEVER) {
			s->delivered = now;
			struct tide_conn_id rid = { s->id.raddr, s->id.laddr, s->id.rport, s->id.lport };
			s->receiver_state = ht >= 0 ? state_of(r, ht, &rid) : 0;
			r->rx_seg = (long)seg;
			r->rx_host = ht;
			r->rx_id = rid;
		} else {
			s->dup_count++;
			r->rx_seg = -1;
		}
		if (--r->fl[i].copies <= 0)
			flight_done(r, &r->fl[i]);
		return;
	}
	r->rx_seg = -1;
}

static void tap(void *ctx, enum tide_sim_event ev, tide_time now, int from, int to,
		const uint8_t *pkt, size_t len)
{
	struct runner *r = ctx;
	struct sim_segment *s = r->cur_seg >= 0 ? &r->m->segs[r->cur_seg] : NULL;
	struct flight *f;
	switch (ev) {
	case TIDE_SIM_SENT:
		on_sent(r, now, from, to, pkt, len);
		break;
	case TIDE_SIM_DELIVERED:
		on_delivered(r, now, from, to, pkt, len);
		break;
	case TIDE_SIM_UNROUTABLE:
		if (s) {
			s->fate = FATE_UNROUTABLE;
			s->to = -1;
			flight_remove(r, (size_t)r->cur_seg);
		}
		break;
	case TIDE_SIM_DROPPED:
	case TIDE_SIM_FILTERED:
		if (!s)
			break;
		f = flight_find(r, (size_t)r->cur_seg);
		if (f && f->copies > 1) {
			f->copies--; /* the copy of a duplicate could not be made */
			break;
		}
		s->fate = ev == TIDE_SIM_DROPPED ? FATE_DROPPED : FATE_MIDDLEBOX;
		flight_remove(r, (size_t)r->cur_seg);
		break;
	case TIDE_SIM_DUPLICATED:
		f = s ? flight_find(r, (size_t)r->cur_seg) : NULL;
		if (f)
			f->copies++;
		break;
	case TIDE_SIM_DELAYED:
		if (s)
			s->delayed = true;
		break;
	}
}

/* ---- the middlebox -------------------------------------------------- */

/* The middlebox's key: both directions of a connection are one entry. */
static struct tide_conn_id canonical(const struct tide_conn_id *id, bool *a_side)
{
	bool swap = id->laddr > id->raddr || (id->laddr == id->raddr && id->lport > id->rport);
	if (a_side)
		*a_side = !swap;
	if (!swap)
		return *id;
	return (struct tide_conn_id){ id->raddr, id->laddr, id->rport, id->lport };
}

static bool mb_finished(const struct centry *e)
{
	return e->mb_rst || (e->mb_fin_a && e->mb_fin_b);
}

static void mb_forget(struct runner *r, struct centry *e)
{
	e->mb_forgotten = true;
	/* Forgetting a finished connection is what a firewall should do:
	 * only an open connection being forgotten is news. */
	if (mb_finished(e))
		return;
	char a[48], b[48], d[32];
	add_note(r, e->mb_last + r->sc->middlebox_idle, -1,
		 "middlebox forgets %s <-> %s (idle for %s)",
		 endpoint(r, e->id.laddr, e->id.lport, a, sizeof(a)),
		 endpoint(r, e->id.raddr, e->id.rport, b, sizeof(b)),
		 span(d, sizeof(d), r->sc->middlebox_idle));
}

static int cmp_expiry(const void *a, const void *b)
{
	const struct centry *x = *(const struct centry *const *)a, *y = *(const struct centry *const *)b;
	if (x->mb_last != y->mb_last)
		return x->mb_last < y->mb_last ? -1 : 1;
	if (x->id.laddr != y->id.laddr)
		return x->id.laddr < y->id.laddr ? -1 : 1;
	if (x->id.lport != y->id.lport)
		return x->id.lport < y->id.lport ? -1 : 1;
	if (x->id.raddr != y->id.raddr)
		return x->id.raddr < y->id.raddr ? -1 : 1;
	return x->id.rport < y->id.rport ? -1 : x->id.rport > y->id.rport;
}

/* Forgets, in time order, every connection idle for longer than the
 * limit before `t`, so that the notes land at the instant it happened. */
static void mb_expire(struct runner *r, tide_time t)
{
	tide_time idle = r->sc->middlebox_idle;
	if (!idle || t <= r->mb_next)
		return;
	struct centry **due = NULL;
	size_t ndue = 0, cap = 0;
	tide_time next = TIDE_TIME_NEVER;
	for (size_t i = 0; i < r->mbox.cap; i++) {
		struct centry *e = &r->mbox.e[i];
		if (!e->used || e->mb_forgotten)
			continue;
		if (e->mb_last + idle < t) {
			due = grow(due, &cap, ndue + 1, sizeof(*due));
			due[ndue++] = e;
		} else if (e->mb_last + idle < next) {
			next = e->mb_last + idle;
		}
	}
	if (ndue)
		qsort(due, ndue, sizeof(*due), cmp_expiry);
	for (size_t i = 0; i < ndue; i++)
		mb_forget(r, due[i]);
	free(due);
	r->mb_next = next;
}

static bool mb_filter(void *ctx, tide_time now, int from, int to, const uint8_t *pkt, size_t len)
{
	struct runner *r = ctx;
	(void)from;
	(void)to;
	struct tide_ipv4 ip;
	struct tide_tcp th;
	if (tide_ipv4_parse(pkt, len, &ip) != TIDE_WIRE_OK ||
	    tide_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, false, &th) != TIDE_WIRE_OK)
		return false;
	struct tide_conn_id id = { ip.src, ip.dst, th.sport, th.dport };
	bool a_side;
	struct tide_conn_id key = canonical(&id, &a_side);
	tide_time idle = r->sc->middlebox_idle;
	/* A SYN opens (or reopens) a connection's entry; anything else must
	 * belong to a connection the middlebox still remembers. */
	if ((th.flags & (TIDE_TCP_SYN | TIDE_TCP_ACK)) == TIDE_TCP_SYN) {
		struct centry *e = ctab_get(&r->mbox, -1, &key, true);
		e->mb_last = now;
		e->mb_forgotten = e->mb_fin_a = e->mb_fin_b = e->mb_rst = false;
		return false;
	}
	struct centry *e = ctab_get(&r->mbox, -1, &key, false);
	if (!e || e->mb_forgotten)
		return true;
	if (now - e->mb_last > idle) {
		mb_forget(r, e);
		return true;
	}
	e->mb_last = now;
	if (th.flags & TIDE_TCP_RST)
		e->mb_rst = true;
	if (th.flags & TIDE_TCP_FIN) {
		if (a_side)
			e->mb_fin_a = true;
		else
			e->mb_fin_b = true;
	}
	return false;
}

/* ---- calls ---------------------------------------------------------- */

static size_t call_begin(struct runner *r, const struct sim_action *a, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The call is recorded before it is made, so that the segments it sends
 * come after it in the model. */
static size_t call_begin(struct runner *r, const struct sim_action *a, const char *fmt, ...)
{
	size_t idx = r->m->ncalls;
	struct sim_call *c = sim_model_add_call(r->m, tide_sim_now(r->sim));
	if (!c)
		oom();
	c->host = a->host;
	c->line = a->line;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->text, sizeof(c->text), fmt, ap);
	va_end(ap);
	return idx;
}

static void add_result(struct runner *r, int line, const char *text, bool ok, const char *detail,
		       tide_time t, bool at_end)
{
	struct sim_expect_result *x = sim_model_add_expect(r->m);
	if (!x)
		oom();
	x->line = line;
	snprintf(x->text, sizeof(x->text), "%s", text);
	x->ok = ok;
	snprintf(x->detail, sizeof(x->detail), "%s", detail);
	x->t = t;
	x->at_end = at_end;
}

static void call_end(struct runner *r, size_t idx, const struct sim_action *a, long ret, int err)
{
	struct sim_call *c = &r->m->calls[idx];
	c->ret = ret;
	c->err = ret < 0 ? err : 0;
	if (a->want.kind == RES_NONE)
		return;
	bool ok;
	switch (a->want.kind) {
	case RES_NUMBER:
		ok = ret == a->want.value;
		break;
	case RES_ERRNO:
		ok = ret < 0 && c->err == (int)a->want.value;
		break;
	case RES_OK:
	default:
		/* A non-blocking connect that is under way is a success. */
		ok = ret >= 0 || ((a->kind == ACT_CONNECT || a->kind == ACT_CONNECT_ON) &&
				  c->err == EINPROGRESS);
		break;
	}
	char detail[128] = "";
	if (!ok) {
		char en[32];
		if (ret < 0)
			snprintf(detail, sizeof(detail), "%s returned -1 %s", c->text,
				 sim_errno_name(c->err, en, sizeof(en)));
		else
			snprintf(detail, sizeof(detail), "%s returned %ld", c->text, ret);
	}
	add_result(r, a->line, a->text, ok, detail, tide_sim_now(r->sim), false);
}

/* The socket slot an action uses, or NULL after reporting why it cannot. */
static struct rsock *use_sock(struct runner *r, const struct sim_action *a, int slot)
{
	struct rsock *s = &r->socks[slot];
	if (s->open)
		return s;
	const struct sim_sock_name *n = &r->sc->socks[slot];
	char t[32];
	if (!s->created)
		run_error(r, a->line, "%s: no socket named '%s' (the call that was to create it failed)",
			  host_name(r, a->host), n->name);
	else
		run_error(r, a->line, "%s: socket '%s' is gone: %s at %s (line %d)",
			  host_name(r, a->host), n->name, s->gone_why, tstr(t, sizeof(t), s->gone_at),
			  s->gone_line);
	return NULL;
}

static void sock_new(struct runner *r, int slot, int fd)
{
	struct rsock *s = &r->socks[slot];
	s->created = true;
	s->open = true;
	s->fd = fd;
	s->has_id = false;
	memset(&s->id, 0, sizeof(s->id));
	s->log_from = r->m->nstates;
	s->nread = 0;
}

static void sock_gone(struct runner *r, struct rsock *s, int line, const char *why)
{
	s->open = false;
	s->fd = -1;
	s->gone_line = line;
	s->gone_at = tide_sim_now(r->sim);
	s->gone_why = why;
}

/* Learns the socket's addresses from the stack (after bind, listen,
 * connect, accept). getpeername fails while a connect is under way, so a
 * connect hands over the peer it asked for. */
static void sock_learn_peer(struct runner *r, int host, struct rsock *s, uint32_t paddr,
			    uint16_t pport)
{
	tide_stack *st = stack_of(r, host);
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	if (tide_getsockname(st, s->fd, (struct sockaddr *)&sa, &sl) != 0)
		return;
	s->id.laddr = ntohl(sa.sin_addr.s_addr);
	s->id.lport = ntohs(sa.sin_port);
	sl = sizeof(sa);
	if (tide_getpeername(st, s->fd, (struct sockaddr *)&sa, &sl) == 0) {
		s->id.raddr = ntohl(sa.sin_addr.s_addr);
		s->id.rport = ntohs(sa.sin_port);
	} else if (pport) {
		s->id.raddr = paddr;
		s->id.rport = pport;
	}
	s->has_id = s->id.lport != 0;
}

static void sock_learn(struct runner *r, int host, struct rsock *s)
{
	sock_learn_peer(r, host, s, 0, 0);
}

static struct sockaddr_in sin_of(uint32_t addr, uint16_t port)
{
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(addr);
	return sa;
}

static int set_int_opt(tide_stack *st, int fd, int level, int name, int v)
{
	return tide_setsockopt(st, fd, level, name, &v, sizeof(v));
}

static void act_listen(struct runner *r, const struct sim_action *a)
{
	tide_stack *st = stack_of(r, a->host);
	int backlog = a->backlog >= 0 ? a->backlog : SIM_DEFAULT_BACKLOG;
	char extra[64] = "";
	if (a->backlog >= 0)
		snprintf(extra, sizeof(extra), ", backlog %d", a->backlog);
	size_t c = call_begin(r, a, "listen on port %u%s%s%s as %s", a->port, extra,
			      a->reuseaddr ? ", SO_REUSEADDR" : "", a->reuseport ? ", SO_REUSEPORT" : "",
			      r->sc->socks[a->sock].name);
	int fd = tide_socket(st, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		call_end(r, c, a, -1, errno);
		return;
	}
	sock_new(r, a->sock, fd);
	struct sockaddr_in sa = sin_of(r->sc->hosts[a->host].addr, a->port);
	int rc = 0;
	if (a->reuseaddr)
		rc = set_int_opt(st, fd, SOL_SOCKET, SO_REUSEADDR, 1);
	if (!rc && a->reuseport)
		rc = set_int_opt(st, fd, SOL_SOCKET, SO_REUSEPORT, 1);
	if (!rc)
		rc = tide_bind(st, fd, (struct sockaddr *)&sa, sizeof(sa));
	if (!rc)
		rc = tide_listen(st, fd, backlog);
	int e = errno;
	sock_learn(r, a->host, &r->socks[a->sock]);
	call_end(r, c, a, rc, e);
}

static void act_connect(struct runner *r, const struct sim_action *a)
{
	tide_stack *st = stack_of(r, a->host);
	char peer[48], from[32] = "";
	endpoint(r, a->peer_addr, a->port, peer, sizeof(peer));
	if (a->from_port)
		snprintf(from, sizeof(from), " from port %u", a->from_port);
	size_t c = call_begin(r, a, "connect to %s%s%s as %s", peer, from,
			      a->reuseaddr ? ", SO_REUSEADDR" : "", r->sc->socks[a->sock].name);
	int fd = tide_socket(st, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		call_end(r, c, a, -1, errno);
		return;
	}
	sock_new(r, a->sock, fd);
	int rc = 0;
	if (a->reuseaddr)
		rc = set_int_opt(st, fd, SOL_SOCKET, SO_REUSEADDR, 1);
	if (!rc && a->from_port) {
		struct sockaddr_in me = sin_of(r->sc->hosts[a->host].addr, a->from_port);
		rc = tide_bind(st, fd, (struct sockaddr *)&me, sizeof(me));
	}
	if (!rc) {
		struct sockaddr_in sa = sin_of(a->peer_addr, a->port);
		rc = tide_connect(st, fd, (struct sockaddr *)&sa, sizeof(sa));
	}
	int e = errno;
	sock_learn_peer(r, a->host, &r->socks[a->sock], a->peer_addr, a->port);
	call_end(r, c, a, rc, e);
}

static void act_accept(struct runner *r, const struct sim_action *a)
{
	struct rsock *l = use_sock(r, a, a->sock2);
	if (!l)
		return;
	tide_stack *st = stack_of(r, a->host);
	size_t c = call_begin(r, a, "accept(%s) as %s", r->sc->socks[a->sock2].name,
			      r->sc->socks[a->sock].name);
	int fd = tide_accept(st, l->fd, NULL, NULL, SOCK_NONBLOCK);
	if (fd < 0) {
		call_end(r, c, a, -1, errno);
		return;
	}
	sock_new(r, a->sock, fd);
	struct rsock *s = &r->socks[a->sock];
	sock_learn(r, a->host, s);
	/* Its connection began before accept(): follow it from its birth. */
	struct centry *e = s->has_id ? ctab_get(&r->conns, a->host, &s->id, false) : NULL;
	if (e && e->has_state)
		s->log_from = e->born;
	call_end(r, c, a, 0, 0);
}

static void act_send(struct runner *r, const struct sim_action *a)
{
	struct rsock *s = use_sock(r, a, a->sock);
	if (!s)
		return;
	char *buf = malloc(a->n ? (size_t)a->n : 1);
	if (!buf)
		oom();
	memset(buf, a->fill, (size_t)a->n);
	size_t c = call_begin(r, a, "send(%s, %ld byte%s of '%c')", r->sc->socks[a->sock].name, a->n,
			      a->n == 1 ? "" : "s", a->fill);
	ssize_t n = tide_send(stack_of(r, a->host), s->fd, buf, (size_t)a->n, 0);
	int e = errno;
	free(buf);
	call_end(r, c, a, (long)n, e);
}

static void act_recv(struct runner *r, const struct sim_action *a)
{
	struct rsock *s = use_sock(r, a, a->sock);
	if (!s)
		return;
	tide_stack *st = stack_of(r, a->host);
	const char *name = r->sc->socks[a->sock].name;
	size_t c = a->n >= 0 ? call_begin(r, a, "recv(%s, %ld)", name, a->n)
			     : call_begin(r, a, "recv(%s)", name);
	/* "All there is": read until the stack has nothing more right now. */
	size_t want = a->n >= 0 ? (size_t)a->n : SIZE_MAX;
	size_t total = 0;
	long ret = 0;
	int err = 0;
	char buf[16384];
	while (total < want) {
		size_t chunk = want - total < sizeof(buf) ? want - total : sizeof(buf);
		ssize_t n = tide_recv(st, s->fd, buf, chunk, 0);
		if (n < 0) {
			if (total == 0) {
				ret = -1;
				err = errno;
			}
			break;
		}
		if (n == 0)
			break;
		s->read = grow(s->read, &s->readcap, s->nread + (size_t)n + 1, 1);
		memcpy(s->read + s->nread, buf, (size_t)n);
		s->nread += (size_t)n;
		total += (size_t)n;
	}
	if (ret == 0)
		ret = (long)total;
	call_end(r, c, a, ret, err);
}

static void act_close(struct runner *r, const struct sim_action *a)
{
	struct rsock *s = use_sock(r, a, a->sock);
	if (!s)
		return;
	tide_stack *st = stack_of(r, a->host);
	size_t c = call_begin(r, a, "close(%s)", r->sc->socks[a->sock].name);
	int fd = s->fd;
	sock_gone(r, s, a->line, "closed");
	int rc = tide_close(st, fd);
	call_end(r, c, a, rc, errno);
}

static void act_sockopt(struct runner *r, const struct sim_action *a)
{
	struct rsock *s = use_sock(r, a, a->sock);
	if (!s)
		return;
	tide_stack *st = stack_of(r, a->host);
	const char *name = r->sc->socks[a->sock].name;
	size_t c;
	int rc;
	if (a->opt_name == SO_LINGER && a->opt_level == SOL_SOCKET) {
		c = call_begin(r, a, "setsockopt(%s, SO_LINGER, {%d, %d})", name, a->optval[0], a->optval[1]);
		struct linger lg = { .l_onoff = a->optval[0], .l_linger = a->optval[1] };
		rc = tide_setsockopt(st, s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	} else {
		c = call_begin(r, a, "setsockopt(%s, %s, %d)", name, a->opt_text, a->optval[0]);
		rc = set_int_opt(st, s->fd, a->opt_level, a->opt_name, a->optval[0]);
	}
	call_end(r, c, a, rc, errno);
}

static void act_dies(struct runner *r, const struct sim_action *a)
{
	size_t nopen = 0;
	for (size_t i = 0; i < r->sc->nsocks; i++)
		if (r->sc->socks[i].host == a->host && r->socks[i].open)
			nopen++;
	add_note(r, tide_sim_now(r->sim), a->host,
		 "%s's process dies: the stack closes its %zu socket%s, as Linux does at exit",
		 host_name(r, a->host), nopen, nopen == 1 ? "" : "s");
	for (size_t i = 0; i < r->sc->nsocks; i++)
		if (r->sc->socks[i].host == a->host && r->socks[i].open)
			sock_gone(r, &r->socks[i], a->line, "the process died");
	tide_release_owner(stack_of(r, a->host), 0);
}

static void act_reboots(struct runner *r, const struct sim_action *a)
{
	tide_time now = tide_sim_now(r->sim);
	add_note(r, now, a->host, "%s reboots: every connection and socket it had is gone",
		 host_name(r, a->host));
	/* The old stack is freed without a word; its connections end here. */
	struct gone_conn {
		struct tide_conn_id id;
		int state;
	} *gone = NULL;
	size_t ngone = 0, cap = 0;
	for (size_t i = 0; i < r->conns.cap; i++) {
		struct centry *e = &r->conns.e[i];
		if (!e->used || e->host != a->host || !e->has_state || e->state == TIDE_TCP_CLOSE)
			continue;
		gone = grow(gone, &cap, ngone + 1, sizeof(*gone));
		gone[ngone].id = e->id;
		gone[ngone].state = e->state;
		ngone++;
	}
	/* In the order the connections were born, not the table's order. */
	for (size_t i = 0; i < ngone; i++) {
		size_t best = i;
		for (size_t j = i + 1; j < ngone; j++) {
			struct centry *x = ctab_get(&r->conns, a->host, &gone[j].id, false);
			struct centry *y = ctab_get(&r->conns, a->host, &gone[best].id, false);
			if (x->born < y->born)
				best = j;
		}
		if (best != i) {
			struct gone_conn tmp = gone[i];
			gone[i] = gone[best];
			gone[best] = tmp;
		}
		record_state(r, a->host, &gone[i].id, gone[i].state, TIDE_TCP_CLOSE, now);
	}
	free(gone);
	for (size_t i = 0; i < r->sc->nsocks; i++)
		if (r->sc->socks[i].host == a->host && r->socks[i].open)
			sock_gone(r, &r->socks[i], a->line, "the host rebooted");
	struct tide_config cfg;
	host_config(r, a->host, &cfg);
	if (tide_sim_replace_stack(r->sim, r->node[a->host], &cfg) != 0)
		run_error(r, a->line, "%s: the reboot failed: %s", host_name(r, a->host), strerror(errno));
}

static void act_flood_syn(struct runner *r, const struct sim_action *a)
{
	if (a->flood_i == 0) {
		char peer[48], over[40] = "";
		if (a->flood_over) {
			char t[32];
			snprintf(over, sizeof(over), " over %s", span(t, sizeof(t), a->flood_over));
		}
		add_note(r, tide_sim_now(r->sim), a->host,
			 "%s floods %s with %u SYNs from forged addresses%s",
			 host_name(r, a->host), endpoint(r, a->peer_addr, a->port, peer, sizeof(peer)),
			 a->flood_n, over);
	}
	/* 198.19.0.1 onwards, skipping any address a host owns. */
	uint32_t k = a->flood_seq;
	uint32_t src;
	for (;;) {
		src = 0xc6130000u + 1 + k % 65534u;
		bool owned = false;
		for (int h = 0; h < r->sc->nhosts; h++)
			owned |= r->sc->hosts[h].addr == src;
		if (!owned)
			break;
		k++;
	}
	uint16_t sport = (uint16_t)(1024 + (a->flood_seq / 65534u) % 60000u);
	uint32_t isn = (uint32_t)(a->flood_seq * 2654435761u);
	struct tide_tcp_opts o;
	memset(&o, 0, sizeof(o));
	o.present = TIDE_OPT_MSS;
	o.mss = 1460;
	uint8_t pkt[128];
	size_t tl = tide_tcp_build(pkt + TIDE_IPV4_HLEN, sizeof(pkt) - TIDE_IPV4_HLEN, src, a->peer_addr,
				   sport, a->port, isn, 0, TIDE_TCP_SYN, 64240, &o, NULL, 0);
	tide_ipv4_build(pkt, sizeof(pkt), src, a->peer_addr, TIDE_IPPROTO_TCP, (uint16_t)tl, 64,
			(uint16_t)a->flood_seq, true);
	tide_sim_send(r->sim, r->node[a->host], pkt, TIDE_IPV4_HLEN + tl);
}

static void do_action(struct runner *r, const struct sim_action *a)
{
	tide_stack *st = stack_of(r, a->host);
	const char *name = a->sock >= 0 ? r->sc->socks[a->sock].name : "";
	struct rsock *s;
	size_t c;
	int rc;
	switch (a->kind) {
	case ACT_LISTEN:
		act_listen(r, a);
		break;
	case ACT_CONNECT:
		act_connect(r, a);
		break;
	case ACT_SOCKET:
		c = call_begin(r, a, "socket() as %s", name);
		rc = tide_socket(st, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (rc >= 0) {
			sock_new(r, a->sock, rc);
			rc = 0;
		}
		call_end(r, c, a, rc, errno);
		break;
	case ACT_BIND: {
		if (!(s = use_sock(r, a, a->sock)))
			break;
		c = call_begin(r, a, "bind(%s, port %u)", name, a->port);
		struct sockaddr_in sa = sin_of(r->sc->hosts[a->host].addr, a->port);
		rc = tide_bind(st, s->fd, (struct sockaddr *)&sa, sizeof(sa));
		int e = errno;
		sock_learn(r, a->host, s);
		call_end(r, c, a, rc, e);
		break;
	}
	case ACT_LISTEN_ON: {
		if (!(s = use_sock(r, a, a->sock)))
			break;
		int backlog = a->backlog >= 0 ? a->backlog : SIM_DEFAULT_BACKLOG;
		c = call_begin(r, a, "listen(%s, %d)", name, backlog);
		rc = tide_listen(st, s->fd, backlog);
		int e = errno;
		sock_learn(r, a->host, s);
		call_end(r, c, a, rc, e);
		break;
	}
	case ACT_CONNECT_ON: {
		if (!(s = use_sock(r, a, a->sock)))
			break;
		char peer[48];
		c = call_begin(r, a, "connect(%s, %s)", name,
			       endpoint(r, a->peer_addr, a->port, peer, sizeof(peer)));
		struct sockaddr_in sa = sin_of(a->peer_addr, a->port);
		rc = tide_connect(st, s->fd, (struct sockaddr *)&sa, sizeof(sa));
		int e = errno;
		sock_learn_peer(r, a->host, s, a->peer_addr, a->port);
		call_end(r, c, a, rc, e);
		break;
	}
	case ACT_ACCEPT:
		act_accept(r, a);
		break;
	case ACT_SEND:
		act_send(r, a);
		break;
	case ACT_RECV:
		act_recv(r, a);
		break;
	case ACT_CLOSE:
		act_close(r, a);
		break;
	case ACT_SHUTDOWN: {
		if (!(s = use_sock(r, a, a->sock)))
			break;
		static const char *const hows[] = { "SHUT_RD", "SHUT_WR", "SHUT_RDWR" };
		c = call_begin(r, a, "shutdown(%s, %s)", name, hows[a->how]);
		rc = tide_shutdown(st, s->fd, a->how);
		call_end(r, c, a, rc, errno);
		break;
	}
	case ACT_SETSOCKOPT:
		act_sockopt(r, a);
		break;
	case ACT_SET: {
		c = call_begin(r, a, "sysctl %s = %s", a->key, a->value);
		char err[256];
		rc = tide_settings_set(tide_stack_settings(st), a->key, a->value, err, sizeof(err));
		call_end(r, c, a, rc, errno);
		break;
	}
	case ACT_DIES:
		act_dies(r, a);
		break;
	case ACT_REBOOTS:
		act_reboots(r, a);
		break;
	case ACT_FLOOD_SYN:
		act_flood_syn(r, a);
		break;
	}
}

/* ---- expectations --------------------------------------------------- */

/* The state of a named socket's connection now: followed through the
 * state changes from its birth on its 4-tuple, past close() and through
 * TIME_WAIT, until it reaches CLOSED (a later connection on the same
 * 4-tuple is another one). */
static int sock_state(struct runner *r, int slot)
{
	const struct rsock *s = &r->socks[slot];
	int host = r->sc->socks[slot].host;
	if (s->open) {
		int live = tide_sock_state(stack_of(r, host), s->fd);
		if (live > 0 && live != TIDE_TCP_CLOSE)
			return live;
	}
	if (!s->has_id)
		return TIDE_TCP_CLOSE;
	int state = TIDE_TCP_CLOSE;
	bool born = false;
	for (size_t i = s->log_from; i < r->m->nstates; i++) {
		const struct sim_state_change *c = &r->m->states[i];
		if (c->host != host || !id_eq(&c->id, &s->id))
			continue;
		/* Changes before this connection's birth belong to an earlier
		 * one on the same 4-tuple (a TIME_WAIT that connect() took over
		 * ends after the socket was made). */
		if (!born && c->old_state != TIDE_TCP_CLOSE && c->old_state != TIDE_TCP_LISTEN)
			continue;
		born = true;
		state = c->new_state;
		if (state == TIDE_TCP_CLOSE)
			break;
	}
	return state;
}

struct conn_count {
	int state;
	long n;
};

static void count_conn(void *ctx, const struct tide_conn_info *ci)
{
	struct conn_count *cc = ctx;
	if (ci->state == cc->state)
		cc->n++;
}

static void quote(const char *s, size_t len, char *out, size_t cap)
{
	size_t n = 0;
	if (cap < 8) {
		out[0] = 0;
		return;
	}
	out[n++] = '"';
	for (size_t i = 0; i < len; i++) {
		if (n + 6 >= cap) {
			out[n++] = '.';
			out[n++] = '.';
			out[n++] = '.';
			break;
		}
		char c = s[i];
		if (c >= 32 && c < 127 && c != '"' && c != '\\') {
			out[n++] = c;
		} else {
			int w = snprintf(out + n, cap - n, "\\x%02x", (unsigned char)c);
			if (w < 0 || (size_t)w >= cap - n)
				break;
			n += (size_t)w;
		}
	}
	out[n++] = '"';
	out[n] = 0;
}

static void check(struct runner *r, const struct sim_expect *e, bool at_end)
{
	char detail[128] = "";
	bool ok = false;
	tide_time now = tide_sim_now(r->sim);
	switch (e->kind) {
	case EXP_STATE: {
		int st = sock_state(r, e->sock);
		ok = st == e->state;
		if (!ok) {
			if (!r->socks[e->sock].created)
				snprintf(detail, sizeof(detail), "socket '%s' was never created",
					 r->sc->socks[e->sock].name);
			else
				snprintf(detail, sizeof(detail), "found %s", tide_state_name(st));
		}
		break;
	}
	case EXP_COUNTER: {
		tide_stack *st = stack_of(r, e->host);
		uint64_t v = e->counter == SIM_COUNTER_CURR_ESTAB ? tide_stack_curr_estab(st)
				: tide_stack_counter(st, (enum tide_counter)e->counter);
		ok = v == (uint64_t)e->n;
		if (!ok)
			snprintf(detail, sizeof(detail), "found %" PRIu64, v);
		break;
	}
	case EXP_SEGMENTS: {
		uint64_t v = e->host >= 0 ? r->nsent[e->host] : (uint64_t)r->m->nsegs;
		ok = v == (uint64_t)e->n;
		if (!ok)
			snprintf(detail, sizeof(detail), "found %" PRIu64, v);
		break;
	}
	case EXP_CONNS: {
		struct conn_count cc = { e->state, 0 };
		tide_stack_foreach_conn(stack_of(r, e->host), count_conn, &cc);
		ok = cc.n == e->n;
		if (!ok)
			snprintf(detail, sizeof(detail), "found %ld", cc.n);
		break;
	}
	case EXP_READ: {
		const struct rsock *s = &r->socks[e->sock];
		size_t n = s->created ? s->nread : 0;
		ok = n == e->readlen && (n == 0 || memcmp(s->read, e->read, n) == 0);
		if (!ok) {
			char q[100];
			quote(s->read ? s->read : "", n, q, sizeof(q));
			snprintf(detail, sizeof(detail), "found %s (%zu bytes)", q, n);
		}
		break;
	}
	}
	add_result(r, e->line, e->text, ok, detail, now, at_end);
}

/* ---- the run -------------------------------------------------------- */

static int cmp_items(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	return x->t < y->t ? -1 : x->t > y->t;
}

static void step(struct runner *r)
{
	r->rx_seg = r->deliv_seg = r->cur_seg = -1;
	tide_sim_step(r->sim);
	r->rx_seg = r->deliv_seg = r->cur_seg = -1;
}

size_t sim_failed_expects(const struct sim_model *m)
{
	size_t n = 0;
	for (size_t i = 0; i < m->nexpects; i++)
		n += !m->expects[i].ok;
	return n;
}

int sim_run(const struct sim_scenario *sc, struct sim_model *m, char *err, size_t errlen)
{
	struct runner R;
	struct runner *r = &R;
	memset(r, 0, sizeof(*r));
	r->sc = sc;
	r->m = m;
	r->err = err;
	r->errlen = errlen;
	r->rx_seg = r->deliv_seg = r->cur_seg = -1;
	if (errlen)
		err[0] = 0;

	snprintf(m->title, sizeof(m->title), "%s", sc->title);
	snprintf(m->about, sizeof(m->about), "%s", sc->about);
	if (!m->source[0])
		snprintf(m->source, sizeof(m->source), "%s", sc->file);
	m->nhosts = sc->nhosts;
	for (int h = 0; h < sc->nhosts; h++) {
		snprintf(m->hosts[h].name, sizeof(m->hosts[h].name), "%s", sc->hosts[h].name);
		m->hosts[h].addr = sc->hosts[h].addr;
	}
	m->delay = sc->delay;

	r->sim = tide_sim_new(sc->delay);
	if (!r->sim)
		oom();
	tide_sim_set_tap(r->sim, tap, r);
	if (sc->middlebox_idle)
		tide_sim_set_filter(r->sim, mb_filter, r);
	for (int h = 0; h < sc->nhosts; h++) {
		r->hc[h] = (struct hostctx){ r, h };
		struct tide_config cfg;
		host_config(r, h, &cfg);
		r->node[h] = tide_sim_add_stack(r->sim, sc->hosts[h].name, &cfg);
		if (r->node[h] < 0) {
			snprintf(err, errlen, "%s:%d: host %s: cannot create its stack: %s", sc->file,
				 sc->hosts[h].line, sc->hosts[h].name, strerror(errno));
			tide_sim_free(r->sim);
			return -1;
		}
	}
	r->socks = calloc(sc->nsocks + 1, sizeof(*r->socks));
	if (!r->socks)
		oom();

	/* Link cuts become notes at their start and end. */
	struct item *notes = NULL;
	size_t nnotes = 0, notecap = 0;
	for (size_t i = 0; i < sc->nrules; i++) {
		const struct sim_rule *ru = &sc->rules[i];
		if (ru->kind == RULE_FAULT) {
			tide_sim_add_fault(r->sim, &ru->fault);
		} else {
			tide_sim_cut_link(r->sim, ru->t1, ru->t2);
			notes = grow(notes, &notecap, nnotes + 2, sizeof(*notes));
			notes[nnotes++] = (struct item){ ru->t1, true, ru->t2 };
			notes[nnotes++] = (struct item){ ru->t2, false, 0 };
		}
	}
	if (nnotes)
		qsort(notes, nnotes, sizeof(*notes), cmp_items);

	size_t nexp = 0; /* expectations with a time (the rest are `at end`) */
	while (nexp < sc->nexpects && !sc->expects[nexp].at_end)
		nexp++;
	tide_time last = 0;
	if (sc->nactions)
		last = sc->actions[sc->nactions - 1].t;
	if (nexp && sc->expects[nexp - 1].t > last)
		last = sc->expects[nexp - 1].t;
	tide_time limit = sc->run_limit;
	bool guarded = limit == TIDE_TIME_NEVER;
	if (guarded)
		limit = last + SIM_GUARD;

	size_t ia = 0, ie = 0, in = 0;
	bool stopped = false;
	while (!r->failed) {
		tide_time ta = ia < sc->nactions ? sc->actions[ia].t : TIDE_TIME_NEVER;
		tide_time te = ie < nexp ? sc->expects[ie].t : TIDE_TIME_NEVER;
		tide_time tnote = in < nnotes ? notes[in].t : TIDE_TIME_NEVER;
		tide_time ti = ta < te ? ta : te;
		bool items_left = ti != TIDE_TIME_NEVER;
		if (tnote < ti)
			ti = tnote;
		tide_time tn = tide_sim_next_event(r->sim);
		/* Notes alone do not keep a run going. */
		if (tn == TIDE_TIME_NEVER && !items_left)
			break;
		if (tn != TIDE_TIME_NEVER && tn <= ti) {
			if (tn > limit) {
				stopped = true;
				break;
			}
			mb_expire(r, tn);
			step(r);
			continue;
		}
		if (ti > limit) {
			stopped = true;
			break;
		}
		mb_expire(r, ti);
		tide_sim_run_until(r->sim, ti);
		if (ti == tnote) {
			char t2[32];
			if (notes[in].start)
				add_note(r, ti, -1, "the link is cut: every packet sent until %s is lost",
					 tstr(t2, sizeof(t2), notes[in].t2));
			else
				add_note(r, ti, -1, "the link is back");
			in++;
		} else if (ti == ta) {
			r->in_action = true;
			do_action(r, &sc->actions[ia++]);
			r->in_action = false;
		} else {
			check(r, &sc->expects[ie++], false);
		}
	}
	if (stopped && !r->failed) {
		char t1[32], t2[32];
		tide_sim_run_until(r->sim, limit);
		if (guarded)
			add_note(r, limit, -1,
				 "stopped %s after the last timeline entry with timers still pending; `run TIME` runs longer",
				 span(t1, sizeof(t1), SIM_GUARD));
		else
			add_note(r, limit, -1, "the run stops here (run %s)", tstr(t2, sizeof(t2), limit));
		if (ia < sc->nactions)
			add_note(r, limit, -1, "%zu timeline action%s after this were not run",
				 sc->nactions - ia, sc->nactions - ia == 1 ? "" : "s");
	}
	m->end = tide_sim_now(r->sim);
	/* Already in order but for a middlebox note dated back to the instant
	 * a connection went idle for too long: a stable sort costs nothing. */
	sim_model_sort_events(m);
	if (!r->failed) {
		char t1[32];
		for (; ie < nexp; ie++) {
			char d[128];
			snprintf(d, sizeof(d), "not checked: the run stopped at %s", tstr(t1, sizeof(t1), m->end));
			add_result(r, sc->expects[ie].line, sc->expects[ie].text, false, d, sc->expects[ie].t,
				   false);
		}
		for (size_t i = nexp; i < sc->nexpects; i++)
			check(r, &sc->expects[i], true);
	}

	for (size_t i = 0; i < sc->nsocks; i++)
		free(r->socks[i].read);
	free(r->socks);
	free(notes);
	free(r->fl);
	free(r->conns.e);
	free(r->mbox.e);
	tide_sim_free(r->sim);
	return r->failed ? -1 : 0;
}
