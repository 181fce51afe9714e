/*
 * The JSON output (schema "tide-sim/1", documented in docs/json.md): the
 * whole model as one object, for programs. Field names and value spellings
 * are part of the schema; change them only with the document and a new
 * schema version.
 */
#include "model.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

struct jw {
	FILE *out;
	int err;          /* first write error */
};

static void jputs(struct jw *w, const char *s)
{
	if (!w->err && fputs(s, w->out) == EOF)
		w->err = errno ? errno : EIO;
}

static void jprintf(struct jw *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void jprintf(struct jw *w, const char *fmt, ...)
{
	if (w->err)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (vfprintf(w->out, fmt, ap) < 0)
		w->err = errno ? errno : EIO;
	va_end(ap);
}

/* A JSON string. The model's texts come from scenario files, which may hold
 * anything, so every control character is escaped and bytes that are not
 * UTF-8 become U+FFFD; other characters are passed through. */
static void jstr(struct jw *w, const char *s)
{
	char buf[8];
	jputs(w, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': jputs(w, "\\\""); break;
		case '\\': jputs(w, "\\\\"); break;
		case '\n': jputs(w, "\\n"); break;
		case '\r': jputs(w, "\\r"); break;
		case '\t': jputs(w, "\\t"); break;
		case '\b': jputs(w, "\\b"); break;
		case '\f': jputs(w, "\\f"); break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				snprintf(buf, sizeof buf, "\\u%04x", *p);
				jputs(w, buf);
			} else {
				size_t n = sim_utf8_len(p);
				if (n == 0) {
					/* JSON text is UTF-8: a stray byte becomes U+FFFD. */
					jputs(w, "\\ufffd");
					continue;
				}
				memcpy(buf, p, n);
				buf[n] = 0;
				jputs(w, buf);
				p += n - 1;
			}
		}
	}
	jputs(w, "\"");
}

static void jkey(struct jw *w, const char *key)
{
	jstr(w, key);
	jputs(w, ": ");
}

static void jkstr(struct jw *w, const char *key, const char *val)
{
	jkey(w, key);
	jstr(w, val);
}

static void jkuint(struct jw *w, const char *key, uint64_t v)
{
	jkey(w, key);
	jprintf(w, "%" PRIu64, v);
}

static void jkbool(struct jw *w, const char *key, bool v)
{
	jkey(w, key);
	jputs(w, v ? "true" : "false");
}

static void jkhost(struct jw *w, const struct sim_model *m, const char *key, int host)
{
	jkey(w, key);
	if (host >= 0 && host < m->nhosts)
		jstr(w, m->hosts[host].name);
	else
		jputs(w, "null");
}

static void jkaddr(struct jw *w, const char *key, uint32_t addr, uint16_t port)
{
	char buf[32];
	jkstr(w, key, sim_addr_str(addr, port, buf, sizeof buf));
}

/* A listener has no remote end: "remote" is null for it. */
static void jkconn(struct jw *w, const struct tide_conn_id *id)
{
	jkaddr(w, "local", id->laddr, id->lport);
	jputs(w, ", ");
	if (id->raddr == 0 && id->rport == 0) {
		jkey(w, "remote");
		jputs(w, "null");
	} else {
		jkaddr(w, "remote", id->raddr, id->rport);
	}
}

static void jkstate(struct jw *w, const char *key, int state)
{
	jkey(w, key);
	if (state <= 0)
		jputs(w, "null");
	else
		jstr(w, tide_state_name(state));
}

static const char *fate_name(enum sim_fate f)
{
	switch (f) {
	case FATE_DELIVERED: return "delivered";
	case FATE_DROPPED: return "dropped";
	case FATE_MIDDLEBOX: return "middlebox";
	case FATE_UNROUTABLE: return "unroutable";
	}
	return "unknown";
}

static void jflags(struct jw *w, uint8_t flags)
{
	/* In the order Wireshark and tide_tcp_flags_str list them. */
	static const struct { uint8_t bit; const char *name; } names[] = {
		{ 0x02, "SYN" }, { 0x01, "FIN" }, { 0x04, "RST" }, { 0x08, "PSH" },
		{ 0x10, "ACK" }, { 0x20, "URG" }, { 0x40, "ECE" }, { 0x80, "CWR" },
	};
	jkey(w, "flags");
	jputs(w, "[");
	bool first = true;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (!(flags & names[i].bit))
			continue;
		if (!first)
			jputs(w, ", ");
		jstr(w, names[i].name);
		first = false;
	}
	jputs(w, "]");
}

static void jopts(struct jw *w, const struct tide_tcp_opts *o)
{
	const char *sep = "";
	jkey(w, "options");
	jputs(w, "{");
	if (o->present & TIDE_OPT_MSS) {
		jkuint(w, "mss", o->mss);
		sep = ", ";
	}
	if (o->present & TIDE_OPT_WSCALE) {
		jputs(w, sep);
		jkuint(w, "wscale", o->wscale);
		sep = ", ";
	}
	if (o->present & TIDE_OPT_SACK_OK) {
		jputs(w, sep);
		jkbool(w, "sack_ok", true);
		sep = ", ";
	}
	if (o->present & TIDE_OPT_TS) {
		jputs(w, sep);
		jkey(w, "ts");
		jprintf(w, "[%" PRIu32 ", %" PRIu32 "]", o->tsval, o->tsecr);
		sep = ", ";
	}
	if ((o->present & TIDE_OPT_SACK) && o->nsack) {
		jputs(w, sep);
		jkey(w, "sack");
		jputs(w, "[");
		for (int i = 0; i < o->nsack && i < TIDE_TCP_MAX_SACK; i++)
			jprintf(w, "%s[%" PRIu32 ", %" PRIu32 "]", i ? ", " : "", o->sack[i].left,
				o->sack[i].right);
		jputs(w, "]");
	}
	jputs(w, "}");
}

static void jsegment(struct jw *w, const struct sim_model *m, const struct sim_segment *s)
{
	jputs(w, "\"type\": \"segment\", ");
	jkuint(w, "t_us", s->sent);
	jputs(w, ", ");
	jkhost(w, m, "from", s->from);
	jputs(w, ", ");
	jkhost(w, m, "to", s->to);
	jputs(w, ", ");
	jkaddr(w, "src", s->id.laddr, s->id.lport);
	jputs(w, ", ");
	jkaddr(w, "dst", s->id.raddr, s->id.rport);
	jputs(w, ",\n     ");
	jflags(w, s->flags);
	jputs(w, ", ");
	jkuint(w, "seq", s->seq);
	jputs(w, ", ");
	jkuint(w, "ack", s->ack);
	jputs(w, ", ");
	jkuint(w, "len", s->len);
	jputs(w, ", ");
	jkuint(w, "win", s->win);
	jputs(w, ", ");
	jopts(w, &s->opts);
	jputs(w, ",\n     ");
	jkstr(w, "fate", fate_name(s->fate));
	jputs(w, ", ");
	jkbool(w, "retransmission", s->retransmission);
	jputs(w, ", ");
	jkuint(w, "duplicated", s->dup_count > 0 ? (uint64_t)s->dup_count : 0);
	jputs(w, ", ");
	jkbool(w, "delayed", s->delayed);
	jputs(w, ", ");
	jkey(w, "delivered_us");
	if (s->delivered == TIDE_TIME_NEVER)
		jputs(w, "null");
	else
		jprintf(w, "%" PRIu64, s->delivered);
	jputs(w, ", ");
	jkstate(w, "sender_state", s->sender_state);
	jputs(w, ", ");
	jkstate(w, "receiver_state", s->receiver_state);
}

static const char *errno_name(int err, char *buf, size_t cap)
{
	const char *n = strerrorname_np(err);
	if (n)
		return n;
	snprintf(buf, cap, "E%d", err);
	return buf;
}

static void jevent(struct jw *w, const struct sim_model *m, const struct sim_event *e)
{
	char buf[32];
	jputs(w, "    {");
	switch (e->kind) {
	case EV_SEGMENT:
		jsegment(w, m, &m->segs[e->index]);
		break;
	case EV_STATE: {
		const struct sim_state_change *c = &m->states[e->index];
		jputs(w, "\"type\": \"state\", ");
		jkuint(w, "t_us", e->t);
		jputs(w, ", ");
		jkhost(w, m, "host", c->host);
		jputs(w, ", ");
		jkconn(w, &c->id);
		jputs(w, ", ");
		/* The stack reports a new connection as a change from CLOSED. */
		jkey(w, "from");
		jstr(w, tide_state_name(c->old_state > 0 ? c->old_state : TIDE_TCP_CLOSE));
		jputs(w, ", ");
		jkey(w, "to");
		jstr(w, tide_state_name(c->new_state));
		break;
	}
	case EV_TIMER: {
		const struct sim_timer *t = &m->timers[e->index];
		jputs(w, "\"type\": \"timer\", ");
		jkuint(w, "t_us", e->t);
		jputs(w, ", ");
		jkhost(w, m, "host", t->host);
		jputs(w, ", ");
		jkconn(w, &t->id);
		jputs(w, ", ");
		jkstr(w, "what", t->what);
		break;
	}
	case EV_CALL: {
		const struct sim_call *c = &m->calls[e->index];
		jputs(w, "\"type\": \"call\", ");
		jkuint(w, "t_us", e->t);
		jputs(w, ", ");
		jkhost(w, m, "host", c->host);
		jputs(w, ", ");
		jkuint(w, "line", c->line > 0 ? (uint64_t)c->line : 0);
		jputs(w, ", ");
		jkstr(w, "call", c->text);
		jputs(w, ", ");
		jkey(w, "ret");
		jprintf(w, "%ld", c->ret);
		jputs(w, ", ");
		jkey(w, "errno");
		if (c->err)
			jstr(w, errno_name(c->err, buf, sizeof buf));
		else
			jputs(w, "null");
		break;
	}
	case EV_NOTE: {
		const struct sim_note *n = &m->notes[e->index];
		jputs(w, "\"type\": \"note\", ");
		jkuint(w, "t_us", e->t);
		jputs(w, ", ");
		jkhost(w, m, "host", n->host);
		jputs(w, ", ");
		jkstr(w, "text", n->text);
		break;
	}
	}
	jputs(w, "}");
}

static int jconnections(struct jw *w, const struct sim_model *m)
{
	struct sim_timeline *tl;
	size_t ntl;
	if (sim_model_timelines(m, &tl, &ntl) < 0)
		return -1;
	jkey(w, "connections");
	jputs(w, ntl ? "[\n" : "[");
	for (size_t i = 0; i < ntl; i++) {
		jputs(w, "    {");
		jkhost(w, m, "host", tl[i].host);
		jputs(w, ", ");
		jkconn(w, &tl[i].id);
		jputs(w, ", ");
		jkbool(w, "open_at_end", tl[i].open);
		jputs(w, ",\n     ");
		jkey(w, "states");
		jputs(w, "[");
		for (size_t k = 0; k < tl[i].nspans; k++) {
			const struct sim_span *sp = &tl[i].spans[k];
			jputs(w, k ? ",\n       {" : "{");
			jkstr(w, "state", tide_state_name(sp->state));
			jputs(w, ", ");
			jkuint(w, "from_us", sp->from);
			jputs(w, ", ");
			jkuint(w, "to_us", sp->to);
			jputs(w, "}");
		}
		jputs(w, i + 1 < ntl ? "]},\n" : "]}\n  ");
	}
	jputs(w, "]");
	sim_timelines_free(tl, ntl);
	return 0;
}

int sim_write_json(const struct sim_model *m, FILE *out)
{
	struct jw w = { .out = out };
	char buf[32];

	jputs(&w, "{\n  ");
	jkstr(&w, "schema", "tide-sim/1");
	jputs(&w, ",\n  ");
	jkstr(&w, "title", m->title);
	jputs(&w, ",\n  ");
	jkstr(&w, "about", m->about);
	jputs(&w, ",\n  ");
	jkstr(&w, "source", m->source);
	jputs(&w, ",\n  ");
	jkey(&w, "hosts");
	jputs(&w, "[");
	for (int i = 0; i < m->nhosts; i++) {
		jputs(&w, i ? ", {" : "{");
		jkstr(&w, "name", m->hosts[i].name);
		jputs(&w, ", ");
		sim_addr_str(m->hosts[i].addr, 0, buf, sizeof buf);
		*strrchr(buf, ':') = 0;
		jkstr(&w, "addr", buf);
		jputs(&w, "}");
	}
	jputs(&w, "],\n  ");
	jkuint(&w, "delay_us", m->delay);
	jputs(&w, ",\n  ");
	jkuint(&w, "end_us", m->end);
	jputs(&w, ",\n  ");

	jkey(&w, "events");
	jputs(&w, m->nevents ? "[\n" : "[");
	for (size_t i = 0; i < m->nevents; i++) {
		jevent(&w, m, &m->events[i]);
		jputs(&w, i + 1 < m->nevents ? ",\n" : "\n  ");
	}
	jputs(&w, "],\n  ");

	if (jconnections(&w, m) < 0)
		return -1;
	jputs(&w, ",\n  ");

	jkey(&w, "expectations");
	jputs(&w, m->nexpects ? "[\n" : "[");
	for (size_t i = 0; i < m->nexpects; i++) {
		const struct sim_expect_result *x = &m->expects[i];
		jputs(&w, "    {");
		jkuint(&w, "line", x->line > 0 ? (uint64_t)x->line : 0);
		jputs(&w, ", ");
		jkstr(&w, "text", x->text);
		jputs(&w, ", ");
		jkbool(&w, "ok", x->ok);
		jputs(&w, ", ");
		jkey(&w, "detail");
		if (x->ok && !x->detail[0])
			jputs(&w, "null");
		else
			jstr(&w, x->detail);
		jputs(&w, i + 1 < m->nexpects ? "},\n" : "}\n  ");
	}
	jputs(&w, "]\n}\n");

	if (!w.err && fflush(out) == EOF)
		w.err = errno ? errno : EIO;
	if (w.err) {
		errno = w.err;
		return -1;
	}
	return 0;
}
