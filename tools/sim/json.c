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

/* A JSON string. The model's texts come from scenario files, which may hold
 * anything, so every control character is escaped and bytes that are not
 * UTF-8 become U+FFFD; other characters are passed through. */
static void jstr(struct sim_out *w, const char *s)
{
	char buf[8];
	sim_out_puts(w, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': sim_out_puts(w, "\\\""); break;
		case '\\': sim_out_puts(w, "\\\\"); break;
		case '\n': sim_out_puts(w, "\\n"); break;
		case '\r': sim_out_puts(w, "\\r"); break;
		case '\t': sim_out_puts(w, "\\t"); break;
		case '\b': sim_out_puts(w, "\\b"); break;
		case '\f': sim_out_puts(w, "\\f"); break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				snprintf(buf, sizeof buf, "\\u%04x", *p);
				sim_out_puts(w, buf);
			} else {
				size_t n = sim_utf8_len(p);
				if (n == 0) {
					/* JSON text is UTF-8: a stray byte becomes U+FFFD. */
					sim_out_puts(w, "\\ufffd");
					continue;
				}
				memcpy(buf, p, n);
				buf[n] = 0;
				sim_out_puts(w, buf);
				p += n - 1;
			}
		}
	}
	sim_out_puts(w, "\"");
}

static void jkey(struct sim_out *w, const char *key)
{
	jstr(w, key);
	sim_out_puts(w, ": ");
}

static void jkstr(struct sim_out *w, const char *key, const char *val)
{
	jkey(w, key);
	jstr(w, val);
}

static void jkuint(struct sim_out *w, const char *key, uint64_t v)
{
	jkey(w, key);
	sim_out_printf(w, "%" PRIu64, v);
}

static void jkbool(struct sim_out *w, const char *key, bool v)
{
	jkey(w, key);
	sim_out_puts(w, v ? "true" : "false");
}

static void jkhost(struct sim_out *w, const struct sim_model *m, const char *key, int host)
{
	jkey(w, key);
	if (host >= 0 && host < m->nhosts)
		jstr(w, m->hosts[host].name);
	else
		sim_out_puts(w, "null");
}

static void jkaddr(struct sim_out *w, const char *key, uint32_t addr, uint16_t port)
{
	char buf[32];
	jkstr(w, key, sim_addr_str(addr, port, buf, sizeof buf));
}

/* A listener has no remote end: "remote" is null for it. */
static void jkconn(struct sim_out *w, const struct tide_conn_id *id)
{
	jkaddr(w, "local", id->laddr, id->lport);
	sim_out_puts(w, ", ");
	if (id->raddr == 0 && id->rport == 0) {
		jkey(w, "remote");
		sim_out_puts(w, "null");
	} else {
		jkaddr(w, "remote", id->raddr, id->rport);
	}
}

static void jkstate(struct sim_out *w, const char *key, int state)
{
	jkey(w, key);
	if (state <= 0)
		sim_out_puts(w, "null");
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

static void jflags(struct sim_out *w, uint8_t flags)
{
	/* In the order Wireshark and tide_tcp_flags_str list them. */
	static const struct { uint8_t bit; const char *name; } names[] = {
		{ 0x02, "SYN" }, { 0x01, "FIN" }, { 0x04, "RST" }, { 0x08, "PSH" },
		{ 0x10, "ACK" }, { 0x20, "URG" }, { 0x40, "ECE" }, { 0x80, "CWR" },
	};
	jkey(w, "flags");
	sim_out_puts(w, "[");
	bool first = true;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (!(flags & names[i].bit))
			continue;
		if (!first)
			sim_out_puts(w, ", ");
		jstr(w, names[i].name);
		first = false;
	}
	sim_out_puts(w, "]");
}

static void jopts(struct sim_out *w, const struct tide_tcp_opts *o)
{
	const char *sep = "";
	jkey(w, "options");
	sim_out_puts(w, "{");
	if (o->present & TIDE_OPT_MSS) {
		jkuint(w, "mss", o->mss);
		sep = ", ";
	}
	if (o->present & TIDE_OPT_WSCALE) {
		sim_out_puts(w, sep);
		jkuint(w, "wscale", o->wscale);
		sep = ", ";
	}
	if (o->present & TIDE_OPT_SACK_OK) {
		sim_out_puts(w, sep);
		jkbool(w, "sack_ok", true);
		sep = ", ";
	}
	if (o->present & TIDE_OPT_TS) {
		sim_out_puts(w, sep);
		jkey(w, "ts");
		sim_out_printf(w, "[%" PRIu32 ", %" PRIu32 "]", o->tsval, o->tsecr);
		sep = ", ";
	}
	if ((o->present & TIDE_OPT_SACK) && o->nsack) {
		sim_out_puts(w, sep);
		jkey(w, "sack");
		sim_out_puts(w, "[");
		for (int i = 0; i < o->nsack && i < TIDE_TCP_MAX_SACK; i++)
			sim_out_printf(w, "%s[%" PRIu32 ", %" PRIu32 "]", i ? ", " : "", o->sack[i].left,
				o->sack[i].right);
		sim_out_puts(w, "]");
	}
	sim_out_puts(w, "}");
}

static void jsegment(struct sim_out *w, const struct sim_model *m, const struct sim_segment *s)
{
	sim_out_puts(w, "\"type\": \"segment\", ");
	jkuint(w, "t_us", s->sent);
	sim_out_puts(w, ", ");
	jkhost(w, m, "from", s->from);
	sim_out_puts(w, ", ");
	jkhost(w, m, "to", s->to);
	sim_out_puts(w, ", ");
	jkaddr(w, "src", s->id.laddr, s->id.lport);
	sim_out_puts(w, ", ");
	jkaddr(w, "dst", s->id.raddr, s->id.rport);
	sim_out_puts(w, ",\n     ");
	jflags(w, s->flags);
	sim_out_puts(w, ", ");
	jkuint(w, "seq", s->seq);
	sim_out_puts(w, ", ");
	jkuint(w, "ack", s->ack);
	sim_out_puts(w, ", ");
	jkuint(w, "len", s->len);
	sim_out_puts(w, ", ");
	jkuint(w, "win", s->win);
	sim_out_puts(w, ", ");
	jopts(w, &s->opts);
	sim_out_puts(w, ",\n     ");
	jkstr(w, "fate", fate_name(s->fate));
	sim_out_puts(w, ", ");
	jkbool(w, "retransmission", s->retransmission);
	sim_out_puts(w, ", ");
	jkuint(w, "duplicated", s->dup_count > 0 ? (uint64_t)s->dup_count : 0);
	sim_out_puts(w, ", ");
	jkbool(w, "delayed", s->delayed);
	sim_out_puts(w, ", ");
	jkey(w, "delivered_us");
	if (s->delivered == TIDE_TIME_NEVER)
		sim_out_puts(w, "null");
	else
		sim_out_printf(w, "%" PRIu64, s->delivered);
	sim_out_puts(w, ", ");
	jkstate(w, "sender_state", s->sender_state);
	sim_out_puts(w, ", ");
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

static void jevent(struct sim_out *w, const struct sim_model *m, const struct sim_event *e)
{
	char buf[32];
	sim_out_puts(w, "    {");
	switch (e->kind) {
	case EV_SEGMENT:
		jsegment(w, m, &m->segs[e->index]);
		break;
	case EV_STATE: {
		const struct sim_state_change *c = &m->states[e->index];
		sim_out_puts(w, "\"type\": \"state\", ");
		jkuint(w, "t_us", e->t);
		sim_out_puts(w, ", ");
		jkhost(w, m, "host", c->host);
		sim_out_puts(w, ", ");
		jkconn(w, &c->id);
		sim_out_puts(w, ", ");
		/* The stack reports a new connection as a change from CLOSED. */
		jkey(w, "from");
		jstr(w, tide_state_name(c->old_state > 0 ? c->old_state : TIDE_TCP_CLOSE));
		sim_out_puts(w, ", ");
		jkey(w, "to");
		jstr(w, tide_state_name(c->new_state));
		break;
	}
	case EV_TIMER: {
		const struct sim_timer *t = &m->timers[e->index];
		sim_out_puts(w, "\"type\": \"timer\", ");
		jkuint(w, "t_us", e->t);
		sim_out_puts(w, ", ");
		jkhost(w, m, "host", t->host);
		sim_out_puts(w, ", ");
		jkconn(w, &t->id);
		sim_out_puts(w, ", ");
		jkstr(w, "what", t->what);
		break;
	}
	case EV_CALL: {
		const struct sim_call *c = &m->calls[e->index];
		sim_out_puts(w, "\"type\": \"call\", ");
		jkuint(w, "t_us", e->t);
		sim_out_puts(w, ", ");
		jkhost(w, m, "host", c->host);
		sim_out_puts(w, ", ");
		jkuint(w, "line", c->line > 0 ? (uint64_t)c->line : 0);
		sim_out_puts(w, ", ");
		jkstr(w, "call", c->text);
		sim_out_puts(w, ", ");
		jkey(w, "ret");
		sim_out_printf(w, "%ld", c->ret);
		sim_out_puts(w, ", ");
		jkey(w, "errno");
		if (c->err)
			jstr(w, errno_name(c->err, buf, sizeof buf));
		else
			sim_out_puts(w, "null");
		break;
	}
	case EV_NOTE: {
		const struct sim_note *n = &m->notes[e->index];
		sim_out_puts(w, "\"type\": \"note\", ");
		jkuint(w, "t_us", e->t);
		sim_out_puts(w, ", ");
		jkhost(w, m, "host", n->host);
		sim_out_puts(w, ", ");
		jkstr(w, "text", n->text);
		break;
	}
	}
	sim_out_puts(w, "}");
}

static int jconnections(struct sim_out *w, const struct sim_model *m)
{
	struct sim_timeline *tl;
	size_t ntl;
	if (sim_model_timelines(m, &tl, &ntl) < 0)
		return -1;
	jkey(w, "connections");
	sim_out_puts(w, ntl ? "[\n" : "[");
	for (size_t i = 0; i < ntl; i++) {
		sim_out_puts(w, "    {");
		jkhost(w, m, "host", tl[i].host);
		sim_out_puts(w, ", ");
		jkconn(w, &tl[i].id);
		sim_out_puts(w, ", ");
		jkbool(w, "open_at_end", tl[i].open);
		sim_out_puts(w, ",\n     ");
		jkey(w, "states");
		sim_out_puts(w, "[");
		for (size_t k = 0; k < tl[i].nspans; k++) {
			const struct sim_span *sp = &tl[i].spans[k];
			sim_out_puts(w, k ? ",\n       {" : "{");
			jkstr(w, "state", tide_state_name(sp->state));
			sim_out_puts(w, ", ");
			jkuint(w, "from_us", sp->from);
			sim_out_puts(w, ", ");
			jkuint(w, "to_us", sp->to);
			sim_out_puts(w, "}");
		}
		sim_out_puts(w, i + 1 < ntl ? "]},\n" : "]}\n  ");
	}
	sim_out_puts(w, "]");
	sim_timelines_free(tl, ntl);
	return 0;
}

int sim_write_json(const struct sim_model *m, FILE *out)
{
	struct sim_out w = { .out = out };
	char buf[32];

	sim_out_puts(&w, "{\n  ");
	jkstr(&w, "schema", "tide-sim/1");
	sim_out_puts(&w, ",\n  ");
	jkstr(&w, "title", m->title);
	sim_out_puts(&w, ",\n  ");
	jkstr(&w, "about", m->about);
	sim_out_puts(&w, ",\n  ");
	jkstr(&w, "source", m->source);
	sim_out_puts(&w, ",\n  ");
	jkey(&w, "hosts");
	sim_out_puts(&w, "[");
	for (int i = 0; i < m->nhosts; i++) {
		sim_out_puts(&w, i ? ", {" : "{");
		jkstr(&w, "name", m->hosts[i].name);
		sim_out_puts(&w, ", ");
		sim_addr_str(m->hosts[i].addr, 0, buf, sizeof buf);
		*strrchr(buf, ':') = 0;
		jkstr(&w, "addr", buf);
		sim_out_puts(&w, "}");
	}
	sim_out_puts(&w, "],\n  ");
	jkuint(&w, "delay_us", m->delay);
	sim_out_puts(&w, ",\n  ");
	jkuint(&w, "end_us", m->end);
	sim_out_puts(&w, ",\n  ");

	jkey(&w, "events");
	sim_out_puts(&w, m->nevents ? "[\n" : "[");
	for (size_t i = 0; i < m->nevents; i++) {
		jevent(&w, m, &m->events[i]);
		sim_out_puts(&w, i + 1 < m->nevents ? ",\n" : "\n  ");
	}
	sim_out_puts(&w, "],\n  ");

	if (jconnections(&w, m) < 0)
		return -1;
	sim_out_puts(&w, ",\n  ");

	jkey(&w, "expectations");
	sim_out_puts(&w, m->nexpects ? "[\n" : "[");
	for (size_t i = 0; i < m->nexpects; i++) {
		const struct sim_expect_result *x = &m->expects[i];
		sim_out_puts(&w, "    {");
		jkuint(&w, "line", x->line > 0 ? (uint64_t)x->line : 0);
		sim_out_puts(&w, ", ");
		jkstr(&w, "text", x->text);
		sim_out_puts(&w, ", ");
		jkbool(&w, "ok", x->ok);
		sim_out_puts(&w, ", ");
		jkey(&w, "detail");
		if (x->ok && !x->detail[0])
			sim_out_puts(&w, "null");
		else
			jstr(&w, x->detail);
		sim_out_puts(&w, i + 1 < m->nexpects ? "},\n" : "}\n  ");
	}
	sim_out_puts(&w, "]\n}\n");

	if (!w.err && fflush(out) == EOF)
		w.err = errno ? errno : EIO;
	if (w.err) {
		errno = w.err;
		return -1;
	}
	return 0;
}
