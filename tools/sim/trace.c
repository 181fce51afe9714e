/*
 * The text trace: what a newcomer reads first. One line per segment in the
 * style of RFC 793's figures (section 3.5):
 *
 *        12.000 ms  FIN-WAIT-1   --> <SEQ=100><ACK=300><CTL=FIN,ACK>          --> CLOSE-WAIT
 *
 * with the calls, timers, notes and failed expectations in between, then
 * each connection's state timeline and the list of expectations.
 */
#include "scenario.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATE_W 12
#define SEG_W 40

struct tw {                       /* what the writer works from */
	const struct sim_model *m;
	FILE *out;
	bool columns;             /* two hosts, one per column */
	bool prefix;              /* segment lines start with "a:p > b:q" */
	int prefix_w;
	int time_w;               /* width of the time column's number */
};

static const char *ms(char *buf, size_t cap, tide_time t)
{
	snprintf(buf, cap, "%" PRIu64 ".%03" PRIu64 " ms", t / 1000, t % 1000);
	return buf;
}

static void put_time(struct tw *w, tide_time t)
{
	char num[32];
	snprintf(num, sizeof(num), "%" PRIu64 ".%03" PRIu64, t / 1000, t % 1000);
	fprintf(w->out, "%*s ms  ", w->time_w, num);
}

static const char *duration(char *buf, size_t cap, tide_time d)
{
	if (d >= 1000000)
		snprintf(buf, cap, "%" PRIu64 ".%03" PRIu64 " s", d / 1000000, d / 1000 % 1000);
	else
		snprintf(buf, cap, "%" PRIu64 ".%03" PRIu64 " ms", d / 1000, d % 1000);
	return buf;
}

static const char *hname(const struct sim_model *m, int h)
{
	return h >= 0 && h < m->nhosts ? m->hosts[h].name : "?";
}

/* "client:40000", or the address when no host owns it. */
static const char *ep(const struct sim_model *m, uint32_t addr, uint16_t port, char *buf, size_t cap)
{
	int h = sim_model_host_by_addr(m, addr);
	if (h >= 0)
		snprintf(buf, cap, "%s:%u", m->hosts[h].name, port);
	else
		sim_addr_str(addr, port, buf, cap);
	return buf;
}

static const char *conn_str(const struct sim_model *m, const struct tide_conn_id *id, char *buf,
			    size_t cap)
{
	char a[64], b[64];
	if (id->rport == 0 && id->raddr == 0)
		snprintf(buf, cap, "%s (listening)", ep(m, id->laddr, id->lport, a, sizeof(a)));
	else
		snprintf(buf, cap, "%s > %s", ep(m, id->laddr, id->lport, a, sizeof(a)),
			 ep(m, id->raddr, id->rport, b, sizeof(b)));
	return buf;
}

static const char *rfc(int state)
{
	return state > 0 ? tide_state_rfc_name(state) : "";
}

static void seg_text(const struct sim_segment *s, char *buf, size_t cap)
{
	char fl[40];
	size_t n = 0;
	n += (size_t)snprintf(buf + n, cap - n, "<SEQ=%" PRIu32 ">", s->seq);
	if (s->flags & TIDE_TCP_ACK && n < cap)
		n += (size_t)snprintf(buf + n, cap - n, "<ACK=%" PRIu32 ">", s->ack);
	if (n < cap)
		n += (size_t)snprintf(buf + n, cap - n, "<CTL=%s>", tide_tcp_flags_str(s->flags, fl, sizeof(fl)));
	if (s->len && n < cap)
		snprintf(buf + n, cap - n, "<DATA=%" PRIu32 ">", s->len);
}

static void trim_line(char *line)
{
	size_t n = strlen(line);
	while (n && line[n - 1] == ' ')
		line[--n] = 0;
}

static void print_segment(struct tw *w, const struct sim_segment *s)
{
	const struct sim_model *m = w->m;
	char line[512], seg[128], pre[128] = "", notes[192] = "";
	size_t nn = 0;
	bool arrived = s->delivered != TIDE_TIME_NEVER;
	const char *rx = arrived ? rfc(s->receiver_state) : "";
	const char *tx = rfc(s->sender_state);
	bool forged = s->from >= 0 && s->id.laddr != m->hosts[s->from].addr;

#define NOTE(...)                                                                   \
	do {                                                                        \
		int w_ = snprintf(notes + nn, sizeof(notes) - nn, __VA_ARGS__);     \
		if (w_ > 0 && (size_t)w_ < sizeof(notes) - nn)                      \
			nn += (size_t)w_;                                           \
	} while (0)
	if (s->retransmission)
		NOTE("  (retransmission)");
	if (forged)
		NOTE("  (forged source)");
	switch (s->fate) {
	case FATE_DROPPED:
		NOTE("  (lost)");
		break;
	case FATE_MIDDLEBOX:
		NOTE("  (middlebox)");
		break;
	case FATE_UNROUTABLE:
		NOTE("  (unroutable: no host has that address)");
		break;
	case FATE_DELIVERED:
		break;
	}
	if (s->dup_count)
		NOTE("  (duplicated)");
	if (s->delayed && arrived) {
		char t[32];
		NOTE("  (delayed: arrives at %s)", ms(t, sizeof(t), s->delivered));
	}
#undef NOTE

	seg_text(s, seg, sizeof(seg));
	if (w->prefix) {
		char a[64], b[64], both[140];
		snprintf(both, sizeof(both), "%s > %s", ep(m, s->id.laddr, s->id.lport, a, sizeof(a)),
			 ep(m, s->id.raddr, s->id.rport, b, sizeof(b)));
		/* padded by hand: the width is only known at run time */
		size_t n = strlen(both), want = (size_t)w->prefix_w + 2;
		if (want >= sizeof(pre))
			want = sizeof(pre) - 1;
		if (n > want)
			n = want;
		memcpy(pre, both, n);
		memset(pre + n, ' ', want - n);
		pre[want] = 0;
	}
	/* Left to right unless, with a column per host, the right-hand host
	 * sent it (or it went nowhere from there). */
	bool rtl = w->columns && s->from == 1;
	const char *lost_arrow = arrived ? NULL : "X";
	if (!rtl)
		snprintf(line, sizeof(line), "%s%-*s --> %-*s --%s %-*s%s", pre, STATE_W, tx, SEG_W, seg,
			 lost_arrow ? lost_arrow : ">", STATE_W, rx, notes);
	else
		snprintf(line, sizeof(line), "%s%-*s %s-- %-*s <-- %-*s%s", pre, STATE_W, rx,
			 lost_arrow ? lost_arrow : "<", SEG_W, seg, STATE_W, tx, notes);
	trim_line(line);
	put_time(w, s->sent);
	fprintf(w->out, "%s\n", line);
}

/* Whether a state change already shows elsewhere: in the receiver's column
 * of the segment whose arrival caused it, or as the call that made it.
 * What a timer did gets a line of its own. */
static bool same_conn(const struct sim_state_change *a, int host, const struct tide_conn_id *id)
{
	return a->host == host && a->id.laddr == id->laddr && a->id.raddr == id->raddr &&
	       a->id.lport == id->lport && a->id.rport == id->rport;
}

/* Whether a segment line already shows this state change, so that it needs
 * no line of its own: an arrival's last change is the receiver's column of
 * that segment; a call's change is the sender's column of the next segment
 * that connection sends, if it sends one at once. Anything else (a second
 * change from one arrival, a call that changes state and sends nothing)
 * gets its own line. */
static bool covered(const struct sim_model *m, size_t ev)
{
	const struct sim_state_change *c = &m->states[m->events[ev].index];
	if (c->cause == CAUSE_ARRIVAL) {
		const struct sim_segment *s = &m->segs[c->cause_seg];
		if (s->receiver_state != c->new_state)
			return false;
		for (size_t i = m->events[ev].index + 1; i < m->nstates; i++) {
			const struct sim_state_change *d = &m->states[i];
			if (d->cause == CAUSE_ARRIVAL && d->cause_seg == c->cause_seg && same_conn(d, c->host, &c->id))
				return false;
		}
		return true;
	}
	if (c->cause == CAUSE_ACTION) {
		for (size_t i = ev + 1; i < m->nevents && m->events[i].t == m->events[ev].t; i++) {
			const struct sim_event *e = &m->events[i];
			if (e->kind == EV_STATE && same_conn(&m->states[e->index], c->host, &c->id))
				return false; /* changes again before sending */
			if (e->kind != EV_SEGMENT)
				continue;
			const struct sim_segment *s = &m->segs[e->index];
			if (s->from == c->host && s->id.laddr == c->id.laddr && s->id.lport == c->id.lport &&
			    s->id.raddr == c->id.raddr && s->id.rport == c->id.rport)
				return s->sender_state == c->new_state;
		}
		return false;
	}
	return false;
}

static void print_expect_fail(struct tw *w, const struct sim_expect_result *x)
{
	fprintf(w->out, "FAILED (line %d) %s: %s\n", x->line, x->text, x->detail);
}

static void print_header(struct tw *w)
{
	const struct sim_model *m = w->m;
	FILE *o = w->out;
	fprintf(o, "%s\n", m->title[0] ? m->title : "(untitled scenario)");
	if (m->about[0]) {
		/* wrapped at 76 columns for a terminal */
		const char *p = m->about;
		while (*p) {
			size_t n = strlen(p);
			if (n > 76) {
				n = 76;
				while (n > 0 && p[n] != ' ')
					n--;
				if (n == 0)
					n = 76;
			}
			fprintf(o, "  %.*s\n", (int)n, p);
			p += n;
			while (*p == ' ')
				p++;
		}
	}
	fprintf(o, "\n");
	fprintf(o, "source:  %s\n", m->source);
	fprintf(o, "hosts:  ");
	for (int h = 0; h < m->nhosts; h++) {
		char a[32];
		sim_addr_str(m->hosts[h].addr, 0, a, sizeof(a));
		a[strlen(a) - 2] = 0; /* drop ":0" */
		fprintf(o, "%s %s %s", h ? "," : "", m->hosts[h].name, a);
	}
	char d[32];
	fprintf(o, "\nnetwork: one-way delay %s\n\n", ms(d, sizeof(d), m->delay));
	if (w->columns)
		fprintf(o, "Each line below is one segment, at the time it was sent. %s is on the\n"
			   "left, %s on the right; the arrow points the way the segment went. The\n"
			   "sender's state is the one it was in when it sent the segment, the\n"
			   "receiver's the one the segment left it in.",
			m->hosts[0].name, m->hosts[1].name);
	else
		fprintf(o, "Each line below is one segment, at the time it was sent, between the two\n"
			   "ends it names: the sender's state when it sent the segment, then the\n"
			   "receiver's state once it arrived.");
	fprintf(o, " <SEQ=n> is the sequence number,\n"
		   "<ACK=n> the acknowledgment number, <CTL=...> the control flags and\n"
		   "<DATA=n> n bytes of data, as in RFC 793. --X marks a segment that never\n"
		   "arrived. Times are virtual: the simulated network's clock.\n\n");
	if (w->columns) {
		int left_w = STATE_W + 1 + 3 + 1 + SEG_W + 1 + 3 + 1;
		if (w->prefix)
			fprintf(o, "%*s  %-*s  %-*s%s\n", w->time_w + 3, "time", w->prefix_w, "connection", left_w,
				m->hosts[0].name, m->hosts[1].name);
		else
			fprintf(o, "%*s  %-*s%s\n", w->time_w + 3, "time", left_w, m->hosts[0].name, m->hosts[1].name);
	}
}

static void print_body(struct tw *w)
{
	const struct sim_model *m = w->m;
	size_t xi = 0;
	for (size_t i = 0; i <= m->nevents; i++) {
		tide_time t = i < m->nevents ? m->events[i].t : TIDE_TIME_NEVER;
		/* failed expectations go after everything at their instant */
		while (xi < m->nexpects && !m->expects[xi].at_end && m->expects[xi].t < t) {
			if (!m->expects[xi].ok) {
				put_time(w, m->expects[xi].t);
				print_expect_fail(w, &m->expects[xi]);
			}
			xi++;
		}
		if (i == m->nevents)
			break;
		const struct sim_event *e = &m->events[i];
		char c1[160], en[32];
		switch (e->kind) {
		case EV_SEGMENT:
			print_segment(w, &m->segs[e->index]);
			break;
		case EV_CALL: {
			const struct sim_call *c = &m->calls[e->index];
			put_time(w, e->t);
			if (c->ret < 0)
				fprintf(w->out, "%s: %s = -1 %s\n", hname(m, c->host), c->text,
					sim_errno_name(c->err, en, sizeof(en)));
			else
				fprintf(w->out, "%s: %s = %ld\n", hname(m, c->host), c->text, c->ret);
			break;
		}
		case EV_TIMER: {
			const struct sim_timer *tm = &m->timers[e->index];
			put_time(w, e->t);
			if (w->prefix)
				fprintf(w->out, "%s: %s (%s)\n", hname(m, tm->host), tm->what,
					conn_str(m, &tm->id, c1, sizeof(c1)));
			else
				fprintf(w->out, "%s: %s\n", hname(m, tm->host), tm->what);
			break;
		}
		case EV_NOTE:
			put_time(w, e->t);
			fprintf(w->out, "note: %s\n", m->notes[e->index].text);
			break;
		case EV_STATE: {
			if (covered(m, i))
				break;
			const struct sim_state_change *c = &m->states[e->index];
			put_time(w, e->t);
			if (w->prefix)
				fprintf(w->out, "%s: %s -> %s (%s)\n", hname(m, c->host), rfc(c->old_state),
					rfc(c->new_state), conn_str(m, &c->id, c1, sizeof(c1)));
			else
				fprintf(w->out, "%s: %s -> %s\n", hname(m, c->host), rfc(c->old_state),
					rfc(c->new_state));
			break;
		}
		}
	}
	char t[32];
	fprintf(w->out, "\nThe run ended at %s.\n", ms(t, sizeof(t), m->end));
}

static int print_timelines(struct tw *w)
{
	const struct sim_model *m = w->m;
	struct sim_timeline *tl;
	size_t n;
	if (sim_model_timelines(m, &tl, &n) < 0)
		return -1;
	fprintf(w->out, "\nState timeline: every connection, each state it went through, when it\n"
			"entered and left it, and how long it stayed.\n");
	if (n == 0)
		fprintf(w->out, "  (no connection)\n");
	for (size_t i = 0; i < n; i++) {
		char c1[160], a[32], b[32], d[32];
		fprintf(w->out, "\n  %s  %s\n", hname(m, tl[i].host), conn_str(m, &tl[i].id, c1, sizeof(c1)));
		for (size_t k = 0; k < tl[i].nspans; k++) {
			const struct sim_span *sp = &tl[i].spans[k];
			bool last_open = tl[i].open && k + 1 == tl[i].nspans;
			snprintf(a, sizeof(a), "%" PRIu64 ".%03" PRIu64, sp->from / 1000, sp->from % 1000);
			snprintf(b, sizeof(b), "%" PRIu64 ".%03" PRIu64, sp->to / 1000, sp->to % 1000);
			fprintf(w->out, "    %-11s %10s ms -> %10s ms %12s%s\n", tide_state_name(sp->state), a,
				b, duration(d, sizeof(d), sp->to - sp->from),
				last_open ? "  (still, when the run ended)" : "");
		}
		if (!tl[i].open && tl[i].nspans) {
			const struct sim_span *sp = &tl[i].spans[tl[i].nspans - 1];
			snprintf(b, sizeof(b), "%" PRIu64 ".%03" PRIu64, sp->to / 1000, sp->to % 1000);
			fprintf(w->out, "    %-11s %10s ms\n", "CLOSED", b);
		}
	}
	sim_timelines_free(tl, n);
	return 0;
}

static void print_expects(struct tw *w)
{
	const struct sim_model *m = w->m;
	fprintf(w->out, "\nExpectations:\n");
	if (m->nexpects == 0) {
		fprintf(w->out, "  (none)\n");
		return;
	}
	/* In the file's order, which is how their author reads them; a line
	 * a repeat block checked several times keeps its rounds in order. */
	size_t *order = malloc(m->nexpects * sizeof(*order));
	if (!order)
		return;
	for (size_t i = 0; i < m->nexpects; i++) {
		size_t k = i;
		while (k > 0 && m->expects[order[k - 1]].line > m->expects[i].line) {
			order[k] = order[k - 1];
			k--;
		}
		order[k] = i;
	}
	size_t failed = 0;
	for (size_t i = 0; i < m->nexpects; i++) {
		const struct sim_expect_result *x = &m->expects[order[i]];
		if (x->ok) {
			fprintf(w->out, "  ok      line %-4d %s\n", x->line, x->text);
		} else {
			failed++;
			fprintf(w->out, "  FAILED  line %-4d %s: %s\n", x->line, x->text, x->detail);
		}
	}
	free(order);
	fprintf(w->out, "%zu of %zu passed.\n", m->nexpects - failed, m->nexpects);
}

static uint64_t canon_key(const struct tide_conn_id *id)
{
	uint64_t a = (uint64_t)id->laddr << 16 | id->lport, b = (uint64_t)id->raddr << 16 | id->rport;
	return a < b ? a * 0x9e3779b97f4a7c15ull ^ b : b * 0x9e3779b97f4a7c15ull ^ a;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int sim_write_trace(const struct sim_model *m, FILE *out)
{
	struct tw w;
	memset(&w, 0, sizeof(w));
	w.m = m;
	w.out = out;

	/* How many connections are on the wire decides whether lines need
	 * their addresses. */
	size_t nconn = 0;
	if (m->nsegs) {
		uint64_t *keys = malloc(m->nsegs * sizeof(*keys));
		if (!keys) {
			errno = ENOMEM;
			return -1;
		}
		for (size_t i = 0; i < m->nsegs; i++)
			keys[i] = canon_key(&m->segs[i].id);
		qsort(keys, m->nsegs, sizeof(*keys), cmp_u64);
		for (size_t i = 0; i < m->nsegs; i++)
			nconn += i == 0 || keys[i] != keys[i - 1];
		free(keys);
	}
	w.columns = m->nhosts == 2;
	w.prefix = m->nhosts != 2 || nconn > 1;
	/* One width for the whole run, so long runs (an hour is 3600000.000
	 * ms) keep the columns straight; 9 keeps short runs as they were. */
	char endnum[32];
	w.time_w = snprintf(endnum, sizeof(endnum), "%" PRIu64 ".%03" PRIu64, m->end / 1000, m->end % 1000);
	if (w.time_w < 9)
		w.time_w = 9;
	for (size_t i = 0; w.prefix && i < m->nsegs; i++) {
		char a[64], b[64];
		ep(m, m->segs[i].id.laddr, m->segs[i].id.lport, a, sizeof(a));
		ep(m, m->segs[i].id.raddr, m->segs[i].id.rport, b, sizeof(b));
		int len = (int)(strlen(a) + 3 + strlen(b));
		if (len > w.prefix_w)
			w.prefix_w = len;
	}
	print_header(&w);
	print_body(&w);
	int rc = print_timelines(&w);
	print_expects(&w);
	if (rc == 0 && ferror(out)) {
		errno = EIO;
		rc = -1;
	}
	return rc;
}
