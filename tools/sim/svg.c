/*
 * The SVG output: a sequence diagram for people. One lifeline per host,
 * time flowing down. Rows follow the order of events, not the clock, so a
 * 60 s TIME_WAIT costs one row and a "time passes" mark instead of a
 * kilometre of paper; the virtual time is written at the left of each row.
 *
 * Each segment is an arrow from the sender's row to the row where it
 * arrived; states are coloured bands along the lifeline with the state's
 * name where it changes; calls, timers and notes are small labels beside
 * the lifeline. A legend at the bottom says what the marks mean. A run of
 * more than MAX_ROWS rows keeps its beginning and its end and says what it
 * left out in between.
 */
#include "model.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Geometry, in pixels. */
#define ROW_H       24.0
#define GAP_H       34.0   /* extra room for a "time passes" mark (1 s or more) */
#define SGAP_H      16.0   /* and for a small one (shorter waits) */
#define BIG_GAP     1000000 /* µs: waits from this long get the big mark */
#define TIME_W      96.0   /* the time column */
#define SIDE_W      290.0  /* room for labels outside the outer lifelines */
#define LANE_W      540.0  /* between two lifelines */
#define BAND_W      10.0
#define SLOT_W      13.0
#define MAX_SLOTS   3      /* bands drawn per host; more connections get labels only */
#define MAX_ROWS    500    /* a picture beyond this helps nobody: the middle */
#define HEAD_ROWS   280    /* of a longer run is left out, keeping its start */
#define ELIDE_H     64.0   /* and its end, where the point of a scenario often is */

enum item_kind { IT_EVENT, IT_ARRIVAL };

struct item {
	enum item_kind kind;
	tide_time t;
	size_t idx;        /* event index, or segment index for an arrival */
	double y;
	int gap_before;    /* a "time passes" mark sits above this row: 1 small, 2 big */
	bool hidden;       /* in the part left out (y is then the mark's) */
};

/* A connection as drawn: which band slot it has on its host's lifeline. */
struct dconn {
	int host;
	struct tide_conn_id id;
	int state;
	int slot;          /* -1: no band */
	double y0;         /* where its current state's band starts */
	bool open;
	bool multi;        /* its host has several connections: name it by port */
	bool shared;       /* ...and its local port is another's too: by its peer */
};

/* Text for element content and attribute values. XML 1.0 forbids most
 * control characters outright and the file must be UTF-8, so those bytes
 * become '?' rather than making the whole picture unreadable. */
static void sesc(struct sim_out *w, const char *s)
{
	char buf[8];
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '&': sim_out_puts(w, "&amp;"); break;
		case '<': sim_out_puts(w, "&lt;"); break;
		case '>': sim_out_puts(w, "&gt;"); break;
		case '"': sim_out_puts(w, "&quot;"); break;
		case '\'': sim_out_puts(w, "&apos;"); break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				sim_out_puts(w, "?");
				continue;
			}
			size_t n = sim_utf8_len(p);
			if (n == 0) {
				sim_out_puts(w, "?");
				continue;
			}
			memcpy(buf, p, n);
			buf[n] = 0;
			sim_out_puts(w, buf);
			p += n - 1;
		}
	}
}

/* <text> with escaped content; attrs is raw attribute text. */
static void stext(struct sim_out *w, double x, double y, const char *attrs, const char *text)
{
	sim_out_printf(w, "<text x=\"%.1f\" y=\"%.1f\" %s>", x, y, attrs);
	sesc(w, text);
	sim_out_puts(w, "</text>\n");
}

/* "12.345 ms", "60.115 s", "7200.000 s": virtual times for the reader,
 * short enough for the time column. */
static void fmt_time(tide_time t, char *buf, size_t cap)
{
	if (t < 1000000)
		snprintf(buf, cap, "%.3f ms", (double)t / 1000.0);
	else
		snprintf(buf, cap, "%.3f s", (double)t / 1e6);
}

/* A duration, shortest readable form: "200 ms", "1.5 s", "60 s". */
static void fmt_dur(tide_time d, char *buf, size_t cap)
{
	double v;
	const char *unit;
	if (d < 1000) {
		v = (double)d;
		unit = "µs";
	} else if (d < 1000000) {
		v = (double)d / 1e3;
		unit = "ms";
	} else if (d < 120000000) {
		v = (double)d / 1e6;
		unit = "s";
	} else {
		v = (double)d / 60e6;
		unit = "min";
	}
	snprintf(buf, cap, "%.3f", v);
	char *e = buf + strlen(buf);
	while (e > buf && e[-1] == '0')
		*--e = 0;
	if (e > buf && e[-1] == '.')
		*--e = 0;
	snprintf(e, cap - (size_t)(e - buf), " %s", unit);
}

static double host_x(int h)
{
	return TIME_W + SIDE_W + LANE_W * h;
}

static const char *state_class(int st)
{
	switch (st) {
	case TIDE_TCP_LISTEN: return "sl";
	case TIDE_TCP_SYN_SENT:
	case TIDE_TCP_SYN_RECV: return "ss";
	case TIDE_TCP_ESTABLISHED: return "se";
	case TIDE_TCP_FIN_WAIT1:
	case TIDE_TCP_FIN_WAIT2: return "sf";
	case TIDE_TCP_CLOSING: return "sc";
	case TIDE_TCP_CLOSE_WAIT: return "sw";
	case TIDE_TCP_LAST_ACK: return "sa";
	case TIDE_TCP_TIME_WAIT: return "st";
	default: return "sx";
	}
}

static bool same_id(const struct tide_conn_id *a, const struct tide_conn_id *b)
{
	return a->laddr == b->laddr && a->raddr == b->raddr && a->lport == b->lport &&
	       a->rport == b->rport;
}

/* Whether another connection of the host (a listener included) has the same
 * local port, so that the port alone does not say which one this is. */
static bool lport_shared(const struct sim_model *m, int host, const struct tide_conn_id *id)
{
	for (size_t i = 0; i < m->nstates; i++) {
		const struct sim_state_change *c = &m->states[i];
		if (c->host == host && c->id.lport == id->lport && !same_id(&c->id, id))
			return true;
	}
	return false;
}

/* Events a and b are segments sent at once from one host to another with
 * the same flags and the same fate. */
static bool same_burst(const struct sim_model *m, size_t a, size_t b)
{
	if (m->events[a].kind != EV_SEGMENT || m->events[b].kind != EV_SEGMENT)
		return false;
	const struct sim_segment *x = &m->segs[m->events[a].index];
	const struct sim_segment *y = &m->segs[m->events[b].index];
	return x->from == y->from && x->to == y->to && x->flags == y->flags &&
	       x->sent == y->sent && x->delivered == y->delivered && x->fate == y->fate &&
	       x->len == y->len && x->retransmission == y->retransmission;
}

/* A time gap worth marking: much longer than the trip between hosts, and
 * long enough for a person to care (a retransmission timeout). 2 for a
 * long one (TIME_WAIT, keepalive), which gets the big mark. */
static int gap_kind(const struct sim_model *m, tide_time a, tide_time b)
{
	tide_time limit = m->delay * 20;
	if (limit < 50000)
		limit = 50000;
	if (b <= a || b - a < limit)
		return 0;
	return b - a >= BIG_GAP ? 2 : 1;
}

static double gap_h(int kind)
{
	return kind == 2 ? GAP_H : kind == 1 ? SGAP_H : 0;
}

/* The rows: every event, plus one per arrival of a delivered segment,
 * placed just before the events at its arrival time (the arrival causes
 * them) and never before its own sending. */
static struct item *build_rows(const struct sim_model *m, size_t *nitems)
{
	size_t cap = m->nevents + m->nsegs + 1, n = 0;
	struct item *it = calloc(cap, sizeof *it);
	size_t *pend = calloc(m->nsegs + 1, sizeof *pend);
	size_t npend = 0;
	if (!it || !pend) {
		free(it);
		free(pend);
		errno = ENOMEM;
		return NULL;
	}
	for (size_t e = 0; e <= m->nevents; e++) {
		tide_time t = e < m->nevents ? m->events[e].t : TIDE_TIME_NEVER;
		for (;;) {
			size_t best = npend;
			for (size_t k = 0; k < npend; k++)
				if (m->segs[pend[k]].delivered <= t &&
				    (best == npend || m->segs[pend[k]].delivered <
							      m->segs[pend[best]].delivered))
					best = k;
			if (best == npend)
				break;
			size_t s = pend[best];
			memmove(&pend[best], &pend[best + 1], (npend - best - 1) * sizeof *pend);
			npend--;
			it[n++] = (struct item){ IT_ARRIVAL, m->segs[s].delivered, s, 0, false, false };
		}
		if (e == m->nevents)
			break;
		it[n++] = (struct item){ IT_EVENT, t, e, 0, false, false };
		if (m->events[e].kind == EV_SEGMENT) {
			size_t s = m->events[e].index;
			if (m->segs[s].delivered != TIDE_TIME_NEVER && m->segs[s].to >= 0)
				pend[npend++] = s;
		}
	}
	free(pend);
	*nitems = n;
	return it;
}

static void defs(struct sim_out *w)
{
	sim_out_puts(w,
	      "<defs>\n"
	      "<marker id=\"ah\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"9\" "
	      "markerHeight=\"9\" markerUnits=\"userSpaceOnUse\" orient=\"auto\">"
	      "<path d=\"M0,0 L10,5 L0,10 z\" fill=\"#1f3d7a\"/></marker>\n"
	      "<marker id=\"ahr\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"9\" "
	      "markerHeight=\"9\" markerUnits=\"userSpaceOnUse\" orient=\"auto\">"
	      "<path d=\"M0,0 L10,5 L0,10 z\" fill=\"#c0392b\"/></marker>\n"
	      "<marker id=\"aho\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"9\" "
	      "markerHeight=\"9\" markerUnits=\"userSpaceOnUse\" orient=\"auto\">"
	      "<path d=\"M0,0 L10,5 L0,10 z\" fill=\"#d35400\"/></marker>\n"
	      "<pattern id=\"tw\" width=\"8\" height=\"8\" patternUnits=\"userSpaceOnUse\" "
	      "patternTransform=\"rotate(45)\"><rect width=\"8\" height=\"8\" fill=\"#d5d5d5\"/>"
	      "<rect width=\"4\" height=\"8\" fill=\"#9a9a9a\"/></pattern>\n"
	      "</defs>\n"
	      "<style type=\"text/css\"><![CDATA[\n"
	      "text { font-family: 'DejaVu Sans', Verdana, Arial, sans-serif; font-size: 12px; fill: #222; }\n"
	      ".title { font-size: 20px; font-weight: bold; }\n"
	      ".about { font-size: 13px; fill: #444; }\n"
	      ".hname { font-size: 15px; font-weight: bold; text-anchor: middle; }\n"
	      ".haddr { font-size: 12px; fill: #555; text-anchor: middle; }\n"
	      ".time { font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: 11px; fill: #555; text-anchor: end; }\n"
	      ".seg { font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: 11.5px; fill: #1f3d7a; }\n"
	      ".segr { fill: #c0392b; }\n"
	      ".sego { fill: #d35400; }\n"
	      ".lost { font-size: 12px; font-weight: bold; fill: #c0392b; }\n"
	      ".call { font-size: 11px; fill: #666; }\n"
	      ".callerr { fill: #a0301f; }\n"
	      ".timer { font-size: 11px; font-style: italic; fill: #8e44ad; }\n"
	      ".note { font-size: 12px; font-style: italic; fill: #a04000; }\n"
	      ".gap { font-size: 12px; font-style: italic; fill: #777; }\n"
	      ".sgap { font-size: 10.5px; }\n"
	      ".pill { font-size: 10.5px; font-weight: bold; text-anchor: middle; }\n"
	      ".leg { font-size: 12px; }\n"
	      ".life { stroke: #888; stroke-width: 1.5; stroke-dasharray: 6,4; }\n"
	      ".arrow { stroke: #1f3d7a; stroke-width: 1.6; fill: none; }\n"
	      ".arrowr { stroke: #c0392b; }\n"
	      ".arrowo { stroke: #d35400; }\n"
	      ".dup { stroke-dasharray: 7,4; }\n"
	      ".x { stroke: #c0392b; stroke-width: 3; }\n"
	      ".sl { fill: #d6e4f5; } .ss { fill: #fff0a8; } .se { fill: #bfe8c4; }\n"
	      ".sf { fill: #ffd3a6; } .sc { fill: #ffb8a6; } .sw { fill: #e3ccff; }\n"
	      ".sa { fill: #f7c1e3; } .st { fill: url(#tw); } .sx { fill: #eee; }\n"
	      ".band { stroke: #666; stroke-width: 0.6; }\n"
	      ".pillbox { stroke: #555; stroke-width: 0.8; }\n"
	      "]]></style>\n");
}

/* The label of a segment: flags, numbers, and what happened to it. */
static void seg_label(const struct sim_segment *s, char *buf, size_t cap)
{
	char fl[32];
	int n = snprintf(buf, cap, "%s seq=%" PRIu32, tide_tcp_flags_str(s->flags, fl, sizeof fl),
			 s->seq);
	if (s->flags & TIDE_TCP_ACK)
		n += snprintf(buf + n, cap - (size_t)n, " ack=%" PRIu32, s->ack);
	if (s->len)
		n += snprintf(buf + n, cap - (size_t)n, " len=%" PRIu32, s->len);
	if (s->retransmission)
		n += snprintf(buf + n, cap - (size_t)n, " (retransmission)");
	if (s->delayed)
		snprintf(buf + n, cap - (size_t)n, " (delayed)");
}

/* A straight arrow from (x1,y1) to (x2,y2) with its label along it. */
/* With from_start, the label begins at the sending end instead of being
 * centred: a lost segment's short arrow would not hold it otherwise. */
static void arrow_at(struct sim_out *w, double x1, double y1, double x2, double y2, const char *cls,
		     const char *marker, const char *label, const char *lcls, bool from_start)
{
	sim_out_printf(w, "<line class=\"arrow%s\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"", cls,
		 x1, y1, x2, y2);
	if (marker)
		sim_out_printf(w, " marker-end=\"url(#%s)\"", marker);
	sim_out_puts(w, "/>\n");
	if (!label)
		return;
	double mx = (x1 + x2) / 2, my = (y1 + y2) / 2;
	const char *anchor = "middle";
	if (from_start) {
		double len = hypot(x2 - x1, y2 - y1);
		mx = x1 + (x2 - x1) * 10 / len;
		my = y1 + (y2 - y1) * 10 / len;
		anchor = x2 > x1 ? "start" : "end";
	}
	double ang = atan2(y2 - y1, x2 - x1) * 180.0 / M_PI;
	/* Keep the text upright whichever way the arrow points. */
	if (ang > 90)
		ang -= 180;
	else if (ang < -90)
		ang += 180;
	sim_out_printf(w, "<text class=\"seg%s\" text-anchor=\"%s\" x=\"%.1f\" y=\"%.1f\" "
		     "transform=\"rotate(%.2f %.1f %.1f)\">",
		 lcls, anchor, mx, my - 5, ang, mx, my);
	sesc(w, label);
	sim_out_puts(w, "</text>\n");
}

static void arrow(struct sim_out *w, double x1, double y1, double x2, double y2, const char *cls,
		  const char *marker, const char *label, const char *lcls)
{
	arrow_at(w, x1, y1, x2, y2, cls, marker, label, lcls, false);
}

static void call_label(const struct sim_call *c, char *buf, size_t cap)
{
	if (c->ret == -1 && c->err) {
		const char *en = strerrorname_np(c->err);
		snprintf(buf, cap, "%s → -1 %s", c->text, en ? en : "error");
	} else {
		snprintf(buf, cap, "%s → %ld", c->text, c->ret);
	}
}

static void timer_label(const struct sim_timer *t, char *buf, size_t cap)
{
	snprintf(buf, cap, "timer: %s", t->what);
}

/* A text's width in pixels, roughly: px per character, not per byte. */
static double text_w(const char *s, double px)
{
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		n += (*p & 0xc0) != 0x80;
	return px * (double)n;
}

/* Labels beside a lifeline go outwards: left of the first host, right of
 * the others. Returns the text-anchor and sets *x. */
static const char *side(int host, int nslots, const char *text, double *x)
{
	double hx = host_x(host);
	/* 6.5 px a character at 11 px: a label wider than the room on the
	 * left would run into the time column. */
	if (host == 0 && 6.5 * (double)strlen(text) < SIDE_W - 30) {
		*x = hx - 16;
		return "end";
	}
	*x = hx + 16 + (nslots > 1 ? (nslots - 1) * SLOT_W : 0);
	return "start";
}

static void side_text(struct sim_out *w, int host, int nslots, double y, const char *cls,
		      const char *text)
{
	double x;
	const char *anchor = side(host, nslots, text, &x);
	char attrs[96];
	snprintf(attrs, sizeof attrs, "class=\"%s\" text-anchor=\"%s\"", cls, anchor);
	stext(w, x, y + 4, attrs, text);
}

static void legend(struct sim_out *w, double y, double width)
{
	double x = TIME_W;
	sim_out_printf(w, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ccc\"/>\n", x,
		 y - 18, width - 20, y - 18);
	stext(w, x, y, "class=\"leg\" font-weight=\"bold\"", "How to read this:");
	y += 24;
	arrow(w, x, y, x + 70, y + 8, "", "ah", NULL, "");
	stext(w, x + 80, y + 8, "class=\"leg\"", "a segment, from its sending to its arrival");
	arrow(w, x + 420, y, x + 490, y + 8, " arrowo", "aho", NULL, "");
	stext(w, x + 500, y + 8, "class=\"leg\"", "a retransmission");
	y += 26;
	arrow(w, x, y, x + 40, y + 4, " arrowr", NULL, NULL, "");
	sim_out_printf(w, "<path class=\"x\" d=\"M%.1f,%.1f l8,8 m0,-8 l-8,8\"/>\n", x + 36, y);
	stext(w, x + 80, y + 8, "class=\"leg\"", "a segment lost on the way (dropped)");
	arrow(w, x + 420, y, x + 490, y + 8, " dup", "ah", NULL, "");
	stext(w, x + 500, y + 8, "class=\"leg\"", "a duplicate copy the network delivered");
	y += 28;
	static const struct { int st; const char *name; } states[] = {
		{ TIDE_TCP_LISTEN, "LISTEN" },           { TIDE_TCP_SYN_SENT, "SYN_SENT/RECV" },
		{ TIDE_TCP_ESTABLISHED, "ESTABLISHED" }, { TIDE_TCP_FIN_WAIT1, "FIN_WAIT_1/2" },
		{ TIDE_TCP_CLOSING, "CLOSING" },         { TIDE_TCP_CLOSE_WAIT, "CLOSE_WAIT" },
		{ TIDE_TCP_LAST_ACK, "LAST_ACK" },       { TIDE_TCP_TIME_WAIT, "TIME_WAIT" },
	};
	stext(w, x, y + 4, "class=\"leg\"", "states:");
	double sx = x + 60;
	for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
		sim_out_printf(w, "<rect class=\"%s band\" x=\"%.1f\" y=\"%.1f\" width=\"16\" height=\"14\"/>\n",
			 state_class(states[i].st), sx, y - 8);
		stext(w, sx + 20, y + 4, "class=\"leg\"", states[i].name);
		sx += 36 + 7.2 * (double)strlen(states[i].name);
	}
	y += 26;
	stext(w, x, y, "class=\"call\"", "grey text: what the application called and what it got back");
	stext(w, x + 420, y, "class=\"timer\"", "◆ a timer of the stack fired");
	y += 20;
	stext(w, x, y, "class=\"leg\" fill=\"#555\"",
	      "Rows follow the order of events, not the clock: the time of each row is at the left; "
	      "a dotted line marks a wait, a wavy band a long one.");
}

int sim_write_svg(const struct sim_model *m, FILE *out)
{
	struct sim_out w = { .out = out };
	size_t n;
	struct item *it = build_rows(m, &n);
	if (!it)
		return -1;
	struct dconn *dc = NULL;
	size_t ndc = 0, dccap = 0;
	double *seg_send = calloc(m->nsegs + 1, sizeof *seg_send);
	double *seg_arr = calloc(m->nsegs + 1, sizeof *seg_arr);
	int nslots[SIM_MAX_HOSTS] = { 0 };
	int rc = -1;
	if (!seg_send || !seg_arr)
		goto oom;
	for (size_t i = 0; i < m->nsegs; i++)
		seg_send[i] = seg_arr[i] = NAN;

	/* The about text, wrapped by hand: SVG 1.1 text does not wrap. */
	int nhosts = m->nhosts > 0 ? m->nhosts : 1;
	double width = host_x(nhosts - 1) + SIDE_W + 20;
	size_t wrap = (size_t)((width - 40) / 7.0);
	int about_lines = 0;
	{
		size_t len = strlen(m->about), pos = 0;
		while (pos < len) {
			size_t take = len - pos > wrap ? wrap : len - pos;
			if (pos + take < len) {
				size_t k = take;
				while (k > 0 && m->about[pos + k] != ' ')
					k--;
				if (k > 0)
					take = k;
			}
			about_lines++;
			pos += take;
			while (pos < len && m->about[pos] == ' ')
				pos++;
		}
	}
	double top = 40 + about_lines * 18 + 24;   /* host boxes */
	double y = top + 64;                       /* first row */

	/* Row positions. The rows left out all sit on the mark that says so,
	 * so that what crosses it (a state, a segment) still ends there. */
	size_t hide_from = n, hide_to = n;
	double elide_y = 0;
	if (n > MAX_ROWS) {
		hide_from = HEAD_ROWS;
		hide_to = n - (MAX_ROWS - HEAD_ROWS);
	}
	for (size_t i = 0; i < n; i++) {
		if (i == hide_from) {
			elide_y = y - ROW_H / 2 + ELIDE_H / 2;
			y += ELIDE_H;
		}
		if (i >= hide_from && i < hide_to) {
			it[i].hidden = true;
			it[i].y = elide_y;
		} else {
			if (i > 0 && i != hide_to)
				it[i].gap_before = gap_kind(m, it[i - 1].t, it[i].t);
			y += gap_h(it[i].gap_before);
			it[i].y = y;
			y += ROW_H;
		}
		if (it[i].kind == IT_ARRIVAL)
			seg_arr[it[i].idx] = it[i].y;
		else if (m->events[it[i].idx].kind == EV_SEGMENT)
			seg_send[m->events[it[i].idx].index] = it[i].y;
	}
	double bottom = y + 10;
	double height = bottom + 70 + 150;

	/* Which hosts have more than one non-listening connection, and how
	 * many band slots each needs (a first pass over the states). */
	int nconns[SIM_MAX_HOSTS] = { 0 };
	for (size_t i = 0; i < n; i++) {
		if (it[i].kind != IT_EVENT || m->events[it[i].idx].kind != EV_STATE)
			continue;
		const struct sim_state_change *c = &m->states[m->events[it[i].idx].index];
		if (c->host < 0 || c->host >= SIM_MAX_HOSTS)
			continue;
		size_t k;
		for (k = 0; k < ndc; k++)
			if (dc[k].open && dc[k].host == c->host && same_id(&dc[k].id, &c->id))
				break;
		if (k == ndc) {
			if (c->new_state == TIDE_TCP_CLOSE)
				continue;
			if (ndc == dccap) {
				size_t nc = dccap ? dccap * 2 : 16;
				struct dconn *p = realloc(dc, nc * sizeof *dc);
				if (!p)
					goto oom;
				dc = p;
				dccap = nc;
			}
			bool used[MAX_SLOTS] = { false };
			for (size_t j = 0; j < ndc; j++)
				if (dc[j].open && dc[j].host == c->host && dc[j].slot >= 0)
					used[dc[j].slot] = true;
			int slot = -1;
			for (int s = 0; s < MAX_SLOTS; s++)
				if (!used[s]) {
					slot = s;
					break;
				}
			dc[ndc++] = (struct dconn){ c->host, c->id, 0, slot, 0, true, false };
			if (slot + 1 > nslots[c->host])
				nslots[c->host] = slot + 1;
			if (c->id.rport)
				nconns[c->host]++;
		} else if (c->new_state == TIDE_TCP_CLOSE) {
			dc[k].open = false;
		}
	}
	ndc = 0;   /* the drawing pass below rebuilds them in the same order */

	/* Room on the right for the last host's labels, which go outwards. */
	if (m->nhosts > 1) {
		int last = m->nhosts - 1;
		double need = 0;
		char lb[256];
		for (size_t i = 0; i < n; i++) {
			if (it[i].kind != IT_EVENT || it[i].hidden)
				continue;
			const struct sim_event *e = &m->events[it[i].idx];
			double tw = 0;
			if (e->kind == EV_CALL && m->calls[e->index].host == last) {
				call_label(&m->calls[e->index], lb, sizeof lb);
				tw = text_w(lb, 6.4);
			} else if (e->kind == EV_TIMER && m->timers[e->index].host == last) {
				timer_label(&m->timers[e->index], lb, sizeof lb);
				tw = text_w(lb, 6.4);
			} else if (e->kind == EV_NOTE && m->notes[e->index].host == last) {
				tw = text_w(m->notes[e->index].text, 7.0);
			}
			if (tw > need)
				need = tw;
		}
		need += 16 + nslots[last] * SLOT_W + 30;
		if (host_x(last) + need > width)
			width = host_x(last) + need;
	}

	/* Header. */
	sim_out_printf(&w,
		 "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
		 "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%.0f\" "
		 "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\">\n",
		 width, height, width, height);
	sim_out_puts(&w, "<title>");
	sesc(&w, m->title[0] ? m->title : "tide-sim");
	sim_out_puts(&w, "</title>\n");
	defs(&w);
	sim_out_printf(&w, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"#fff\"/>\n", width,
		 height);
	stext(&w, 20, 30, "class=\"title\"", m->title[0] ? m->title : "tide-sim");
	{
		size_t len = strlen(m->about), pos = 0;
		double ay = 52;
		char line[1024];
		while (pos < len) {
			size_t take = len - pos > wrap ? wrap : len - pos;
			if (pos + take < len) {
				size_t k = take;
				while (k > 0 && m->about[pos + k] != ' ')
					k--;
				if (k > 0)
					take = k;
			}
			if (take >= sizeof line)
				take = sizeof line - 1;
			memcpy(line, m->about + pos, take);
			line[take] = 0;
			stext(&w, 20, ay, "class=\"about\"", line);
			ay += 18;
			pos += take;
			while (pos < len && m->about[pos] == ' ')
				pos++;
		}
	}

	/* Time gaps: a wavy line across the picture and how long it was. */
	for (size_t i = 0; i < n; i++) {
		if (!it[i].gap_before)
			continue;
		double gy = it[i].y - ROW_H / 2 - gap_h(it[i].gap_before) / 2;
		if (it[i].gap_before == 1) {
			sim_out_printf(&w, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
				     "stroke=\"#aaa\" stroke-dasharray=\"2,4\"/>\n",
				 TIME_W - 80, gy + 2, width - 20, gy + 2);
			continue;
		}
		sim_out_printf(&w, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#f4f4f4\"/>\n",
			 TIME_W - 80, gy - GAP_H / 2 + 4, width - TIME_W + 60, GAP_H - 8);
		sim_out_puts(&w, "<path fill=\"none\" stroke=\"#999\" stroke-width=\"1.2\" d=\"");
		for (double x = TIME_W - 80; x < width - 20; x += 20)
			sim_out_printf(&w, "%s%.1f,%.1f q5,-6 10,0 t10,0", x == TIME_W - 80 ? "M" : " M", x,
				 gy + 8);
		sim_out_puts(&w, "\"/>\n");
	}
	if (hide_from < n) {
		sim_out_printf(&w, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
			     "fill=\"#fdf1e4\" stroke=\"#e0a060\" stroke-dasharray=\"4,3\"/>\n",
			 TIME_W - 80, elide_y - ELIDE_H / 2 + 6, width - TIME_W + 60, ELIDE_H - 12);
	}

	/* Lifelines and host boxes. */
	for (int h = 0; h < m->nhosts; h++) {
		double x = host_x(h);
		char addr[32];
		sim_addr_str(m->hosts[h].addr, 0, addr, sizeof addr);
		*strrchr(addr, ':') = 0;
		sim_out_printf(&w, "<line class=\"life\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x,
			 top + 44, x, bottom);
		sim_out_printf(&w, "<rect x=\"%.1f\" y=\"%.1f\" width=\"180\" height=\"44\" rx=\"6\" "
			     "fill=\"#eef2f8\" stroke=\"#4a5a7a\" stroke-width=\"1.2\"/>\n",
			 x - 90, top);
		stext(&w, x, top + 19, "class=\"hname\"", m->hosts[h].name);
		stext(&w, x, top + 36, "class=\"haddr\"", addr);
	}

	/* Times at the left, written when they change. */
	tide_time last = TIDE_TIME_NEVER;
	for (size_t i = 0; i < n; i++) {
		if (it[i].t == last || it[i].hidden)
			continue;
		char tb[48];
		fmt_time(it[i].t, tb, sizeof tb);
		stext(&w, TIME_W, it[i].y + 4, "class=\"time\"", tb);
		sim_out_printf(&w, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>\n",
			 TIME_W + 6, it[i].y, width - 20, it[i].y);
		last = it[i].t;
	}

	/* State bands: a coloured rectangle per state along its lifeline. */
	for (size_t i = 0; i <= n; i++) {
		bool end = i == n;
		const struct sim_state_change *c = NULL;
		if (!end) {
			if (it[i].kind != IT_EVENT || m->events[it[i].idx].kind != EV_STATE)
				continue;
			c = &m->states[m->events[it[i].idx].index];
			if (c->host < 0 || c->host >= SIM_MAX_HOSTS)
				continue;
		}
		double by = end ? bottom : it[i].y;
		for (size_t k = 0; k < ndc; k++) {
			struct dconn *d = &dc[k];
			if (!d->open)
				continue;
			if (!end && !(d->host == c->host && same_id(&d->id, &c->id)))
				continue;
			if (d->slot >= 0 && d->state)
				sim_out_printf(&w, "<rect class=\"%s band\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
					     "height=\"%.1f\"/>\n",
					 state_class(d->state), host_x(d->host) - BAND_W / 2 + d->slot * SLOT_W,
					 d->y0, BAND_W, by - d->y0 > 0 ? by - d->y0 : 0);
			if (!end) {
				d->state = c->new_state;
				d->y0 = by;
				if (c->new_state == TIDE_TCP_CLOSE)
					d->open = false;
				break;
			}
		}
		if (end)
			break;
		size_t k;
		for (k = 0; k < ndc; k++)
			if (dc[k].open && dc[k].host == c->host && same_id(&dc[k].id, &c->id))
				break;
		if (k < ndc || c->new_state == TIDE_TCP_CLOSE)
			continue;
		/* A new connection: the same slot the first pass gave it. */
		bool used[MAX_SLOTS] = { false };
		for (size_t j = 0; j < ndc; j++)
			if (dc[j].open && dc[j].host == c->host && dc[j].slot >= 0)
				used[dc[j].slot] = true;
		int slot = -1;
		for (int s = 0; s < MAX_SLOTS; s++)
			if (!used[s]) {
				slot = s;
				break;
			}
		dc[ndc++] = (struct dconn){ c->host, c->id, c->new_state, slot, by, true,
					    nconns[c->host] > 1 };
	}

	/* Segments. */
	for (size_t i = 0; i < n; i++) {
		if (it[i].kind != IT_EVENT || m->events[it[i].idx].kind != EV_SEGMENT)
			continue;
		size_t si = m->events[it[i].idx].index;
		const struct sim_segment *s = &m->segs[si];
		if (s->from < 0 || s->from >= m->nhosts)
			continue;
		/* Sent in the part left out: drawn only if it comes out of it. */
		if (it[i].hidden && (s->fate != FATE_DELIVERED || isnan(seg_arr[si]) ||
				     seg_arr[si] == elide_y))
			continue;
		char label[200];
		seg_label(s, label, sizeof label);
		/* A burst of alike segments (a flood) would pile its labels on
		 * top of each other: the first says how many there are. */
		const char *lab = label;
		size_t ev = it[i].idx;
		if (ev > 0 && same_burst(m, ev - 1, ev)) {
			lab = NULL;
		} else {
			size_t k = ev;
			while (k + 1 < m->nevents && same_burst(m, k, k + 1))
				k++;
			if (k > ev) {
				size_t l = strlen(label);
				snprintf(label + l, sizeof label - l, " (and %zu more like it)", k - ev);
			}
		}
		double x1 = host_x(s->from), y1 = seg_send[si];
		bool rst = s->flags & TIDE_TCP_RST;
		const char *cls = rst ? " arrowr" : s->retransmission ? " arrowo" : "";
		const char *mk = rst ? "ahr" : s->retransmission ? "aho" : "ah";
		const char *lcls = rst ? " segr" : s->retransmission ? " sego" : "";
		double x2;
		if (s->to >= 0 && s->to < m->nhosts && s->to != s->from)
			x2 = host_x(s->to);
		else if (s->from + 1 < m->nhosts)
			x2 = host_x(s->from + 1);
		else
			x2 = x1 + (s->from > 0 ? 1 : -1) * LANE_W * 0.45;
		if (s->fate == FATE_DELIVERED && !isnan(seg_arr[si])) {
			arrow(&w, x1, y1, x2, seg_arr[si], cls, mk, lab, lcls);
			if (s->dup_count > 0) {
				/* The copies, dashed, just below; the label under them. */
				char dcls[32], t[64];
				snprintf(dcls, sizeof dcls, "%s dup", cls);
				int nd = s->dup_count < 3 ? s->dup_count : 3;
				for (int d = 1; d <= nd; d++)
					arrow(&w, x1, y1, x2, seg_arr[si] + 7 * d, dcls, mk, NULL, lcls);
				double ye = seg_arr[si] + 7 * nd;
				double mx = (x1 + x2) / 2, my = (y1 + ye) / 2 + 14;
				double ang = atan2(ye - y1, x2 - x1) * 180.0 / M_PI;
				if (ang > 90)
					ang -= 180;
				else if (ang < -90)
					ang += 180;
				snprintf(t, sizeof t, "the network delivered it %d times", s->dup_count + 1);
				sim_out_printf(&w, "<text class=\"seg%s\" text-anchor=\"middle\" "
					     "x=\"%.1f\" y=\"%.1f\" transform=\"rotate(%.2f %.1f %.1f)\">",
					 lcls, mx, my, ang, mx, my - 14);
				sesc(&w, t);
				sim_out_puts(&w, "</text>\n");
			}
		} else if (s->fate == FATE_DELIVERED) {
			/* Arrived after the last row drawn. */
			arrow(&w, x1, y1, x2, bottom, cls, NULL, lab, lcls);
		} else {
			double xe = x1 + (x2 - x1) * 0.55, ye = y1 + ROW_H * 0.3;
			arrow_at(&w, x1, y1, xe, ye, " arrowr", NULL, lab, " segr", true);
			sim_out_printf(&w, "<path class=\"x\" d=\"M%.1f,%.1f l10,10 m0,-10 l-10,10\"/>\n", xe - 5,
				 ye - 5);
			const char *why = s->fate == FATE_MIDDLEBOX   ? "lost: dropped by the middlebox"
					  : s->fate == FATE_UNROUTABLE ? "lost: no host has that address"
								       : "lost";
			char attrs[64];
			snprintf(attrs, sizeof attrs, "class=\"lost\" text-anchor=\"%s\"",
				 x2 > x1 ? "start" : "end");
			stext(&w, xe + (x2 > x1 ? 10 : -10), ye + 15, attrs, why);
		}
	}

	/* State names, calls, timers and notes, on top of the rest. */
	ndc = 0;
	for (size_t i = 0; i < n; i++) {
		if (it[i].kind != IT_EVENT)
			continue;
		const struct sim_event *e = &m->events[it[i].idx];
		if (it[i].hidden && e->kind != EV_STATE)
			continue;   /* states are followed even there, for the bands */
		double ry = it[i].y;
		char buf[256];
		switch (e->kind) {
		case EV_STATE: {
			const struct sim_state_change *c = &m->states[e->index];
			if (c->host < 0 || c->host >= m->nhosts)
				break;
			size_t k;
			for (k = 0; k < ndc; k++)
				if (dc[k].open && dc[k].host == c->host && same_id(&dc[k].id, &c->id))
					break;
			if (k == ndc) {
				if (c->new_state == TIDE_TCP_CLOSE)
					break;
				bool used[MAX_SLOTS] = { false };
				for (size_t j = 0; j < ndc; j++)
					if (dc[j].open && dc[j].host == c->host && dc[j].slot >= 0)
						used[dc[j].slot] = true;
				int slot = -1;
				for (int s = 0; s < MAX_SLOTS; s++)
					if (!used[s]) {
						slot = s;
						break;
					}
				dc[ndc++] = (struct dconn){ c->host, c->id, 0, slot, 0, true,
							    nconns[c->host] > 1,
							    lport_shared(m, c->host, &c->id) };
			}
			struct dconn *d = &dc[k];
			if (c->new_state == TIDE_TCP_CLOSE)
				d->open = false;
			if (it[i].hidden)
				break;
			const char *name = tide_state_name(c->new_state);
			if (c->id.rport == 0 && c->new_state == TIDE_TCP_LISTEN)
				snprintf(buf, sizeof buf, "%s :%u", name, (unsigned)c->id.lport);
			else if (d->multi && d->shared) {
				char peer[40];
				int ph = sim_model_host_by_addr(m, c->id.raddr);
				if (ph >= 0)
					snprintf(peer, sizeof peer, "%s:%u", m->hosts[ph].name,
						 (unsigned)c->id.rport);
				else
					sim_addr_str(c->id.raddr, c->id.rport, peer, sizeof peer);
				snprintf(buf, sizeof buf, "%s (%s)", name, peer);
			} else if (d->multi)
				snprintf(buf, sizeof buf, "%s :%u", name, (unsigned)c->id.lport);
			else
				snprintf(buf, sizeof buf, "%s", name);
			double pw = 7.2 * (double)strlen(buf) + 12;
			double px = host_x(c->host) + (d->slot > 0 ? d->slot * SLOT_W : 0);
			sim_out_printf(&w, "<rect class=\"%s pillbox\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
				     "height=\"16\" rx=\"8\"/>\n",
				 c->new_state == TIDE_TCP_CLOSE ? "sx" : state_class(c->new_state),
				 px - pw / 2, ry - 8, pw);
			if (c->new_state == TIDE_TCP_TIME_WAIT)
				/* The hatching makes dark text hard to read: a plain backing. */
				sim_out_printf(&w, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"12\" "
					     "rx=\"4\" fill=\"#f0f0f0\" opacity=\"0.9\"/>\n",
					 px - pw / 2 + 5, ry - 6, pw - 10);
			stext(&w, px, ry + 4, "class=\"pill\"", buf);
			break;
		}
		case EV_CALL: {
			const struct sim_call *c = &m->calls[e->index];
			if (c->host < 0 || c->host >= m->nhosts)
				break;
			call_label(c, buf, sizeof buf);
			side_text(&w, c->host, nslots[c->host], ry,
				  c->ret == -1 && c->err ? "call callerr" : "call", buf);
			break;
		}
		case EV_TIMER: {
			const struct sim_timer *t = &m->timers[e->index];
			if (t->host < 0 || t->host >= m->nhosts)
				break;
			double hx = host_x(t->host);
			sim_out_printf(&w, "<path d=\"M%.1f,%.1f l6,6 l-6,6 l-6,-6 z\" fill=\"#8e44ad\" "
				     "stroke=\"#fff\" stroke-width=\"1\"/>\n",
				 hx, ry - 6);
			timer_label(t, buf, sizeof buf);
			side_text(&w, t->host, nslots[t->host], ry, "timer", buf);
			break;
		}
		case EV_NOTE: {
			const struct sim_note *nt = &m->notes[e->index];
			if (nt->host >= 0 && nt->host < m->nhosts) {
				side_text(&w, nt->host, nslots[nt->host], ry, "note", nt->text);
			} else {
				double gx = nhosts > 1 ? (host_x(0) + host_x(nhosts - 1)) / 2 : host_x(0);
				sim_out_printf(&w, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"18\" rx=\"4\" "
					     "fill=\"#fff3e0\" stroke=\"#e0a060\"/>\n",
					 gx - text_w(nt->text, 7.0) / 2 - 10, ry - 10,
					 text_w(nt->text, 7.0) + 20);
				stext(&w, gx, ry + 4, "class=\"note\" text-anchor=\"middle\"", nt->text);
			}
			break;
		}
		case EV_SEGMENT:
			break;
		}
	}

	/* How long each gap was, beside the first lifeline's bands (the
	 * middle is where a lost segment's mark may reach into the gap). */
	for (size_t i = 0; i < n; i++) {
		if (!it[i].gap_before)
			continue;
		/* A steady rhythm (one expiry every 100 ms) is said once. */
		if (it[i].gap_before == 1 && i >= 2 && it[i - 1].gap_before == 1 &&
		    it[i].t - it[i - 1].t == it[i - 1].t - it[i - 2].t)
			continue;
		char d[32], txt[64];
		double gy = it[i].y - ROW_H / 2 - gap_h(it[i].gap_before) / 2;
		fmt_dur(it[i].t - it[i - 1].t, d, sizeof d);
		snprintf(txt, sizeof txt, "%s pass", d);
		stext(&w, host_x(0) + 20 + nslots[0] * SLOT_W, gy - 1,
		      it[i].gap_before == 2 ? "class=\"gap\"" : "class=\"gap sgap\"", txt);
	}

	if (hide_from < n) {
		char t[256], a[48], b[48];
		fmt_time(it[hide_from].t, a, sizeof a);
		fmt_time(it[hide_to - 1].t, b, sizeof b);
		snprintf(t, sizeof t,
			 "⋯ %zu rows left out here, from %s to %s: the text trace and the JSON "
			 "have everything ⋯",
			 hide_to - hide_from, a, b);
		double gx = nhosts > 1 ? (host_x(0) + host_x(nhosts - 1)) / 2 : host_x(0) + 150;
		sim_out_printf(&w, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"20\" rx=\"4\" "
			     "fill=\"#fff\" stroke=\"#e0a060\"/>\n",
			 gx - text_w(t, 7.0) / 2 - 10, elide_y - 12, text_w(t, 7.0) + 20);
		stext(&w, gx, elide_y + 3, "class=\"note\" text-anchor=\"middle\"", t);
	}
	legend(&w, bottom + 60, width);
	sim_out_puts(&w, "</svg>\n");
	if (!w.err && fflush(out) == EOF)
		w.err = errno ? errno : EIO;
	rc = w.err ? -1 : 0;
	if (w.err)
		errno = w.err;
	goto done;
oom:
	errno = ENOMEM;
done:
	free(it);
	free(dc);
	free(seg_send);
	free(seg_arr);
	return rc;
}
