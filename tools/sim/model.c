/*
 * The event model's bookkeeping: growing its arrays, appending events,
 * freeing it. Writers never modify a model; only the runner appends.
 */
#include "model.h"

#include <stdarg.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Makes room for one more element; 0 or -1 with errno ENOMEM. */
static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 16;
	if (ncap > SIZE_MAX / elem) {
		errno = ENOMEM;
		return -1;
	}
	void *p = realloc(*arr, ncap * elem);
	if (!p) {
		errno = ENOMEM;
		return -1;
	}
	*arr = p;
	*cap = ncap;
	return 0;
}

/* Reserves the event slot first so that a failure leaves the model intact:
 * the entry is only counted once both arrays have room. */
static void *add_event(struct sim_model *m, enum sim_event_kind kind, tide_time t,
		       void **arr, size_t *n, size_t *cap, size_t elem)
{
	if (grow((void **)&m->events, &m->eventcap, m->nevents, sizeof *m->events) < 0)
		return NULL;
	if (grow(arr, cap, *n, elem) < 0)
		return NULL;
	void *e = (char *)*arr + *n * elem;
	memset(e, 0, elem);
	m->events[m->nevents++] = (struct sim_event){ .kind = kind, .t = t, .index = *n };
	(*n)++;
	return e;
}

struct sim_segment *sim_model_add_segment(struct sim_model *m, tide_time t)
{
	struct sim_segment *s = add_event(m, EV_SEGMENT, t, (void **)&m->segs, &m->nsegs,
					  &m->segcap, sizeof *m->segs);
	if (s) {
		s->sent = t;
		s->delivered = TIDE_TIME_NEVER;
		s->to = -1;
	}
	return s;
}

struct sim_state_change *sim_model_add_state(struct sim_model *m, tide_time t)
{
	return add_event(m, EV_STATE, t, (void **)&m->states, &m->nstates, &m->statecap,
			 sizeof *m->states);
}

struct sim_timer *sim_model_add_timer(struct sim_model *m, tide_time t)
{
	return add_event(m, EV_TIMER, t, (void **)&m->timers, &m->ntimers, &m->timercap,
			 sizeof *m->timers);
}

struct sim_call *sim_model_add_call(struct sim_model *m, tide_time t)
{
	return add_event(m, EV_CALL, t, (void **)&m->calls, &m->ncalls, &m->callcap,
			 sizeof *m->calls);
}

struct sim_note *sim_model_add_note(struct sim_model *m, tide_time t)
{
	return add_event(m, EV_NOTE, t, (void **)&m->notes, &m->nnotes, &m->notecap,
			 sizeof *m->notes);
}

struct sim_expect_result *sim_model_add_expect(struct sim_model *m)
{
	if (grow((void **)&m->expects, &m->expectcap, m->nexpects, sizeof *m->expects) < 0)
		return NULL;
	struct sim_expect_result *e = &m->expects[m->nexpects++];
	memset(e, 0, sizeof *e);
	return e;
}

int sim_segment_set_packet(struct sim_segment *s, const uint8_t *pkt, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy) {
		errno = ENOMEM;
		return -1;
	}
	if (len)
		memcpy(copy, pkt, len);
	free(s->pkt);
	s->pkt = copy;
	s->pktlen = len;
	return 0;
}

/* Insertion sort: the runner appends almost in order, so this is close to
 * linear, and it is stable, which qsort is not. */
void sim_model_sort_events(struct sim_model *m)
{
	for (size_t i = 1; i < m->nevents; i++) {
		struct sim_event e = m->events[i];
		size_t j = i;
		while (j > 0 && m->events[j - 1].t > e.t) {
			m->events[j] = m->events[j - 1];
			j--;
		}
		m->events[j] = e;
	}
}

int sim_model_host_by_addr(const struct sim_model *m, uint32_t addr)
{
	for (int i = 0; i < m->nhosts; i++)
		if (m->hosts[i].addr == addr)
			return i;
	return -1;
}

const char *sim_addr_str(uint32_t addr, uint16_t port, char *buf, size_t cap)
{
	snprintf(buf, cap, "%u.%u.%u.%u:%u", (unsigned)(addr >> 24), (unsigned)(addr >> 16 & 255),
		 (unsigned)(addr >> 8 & 255), (unsigned)(addr & 255), (unsigned)port);
	return buf;
}

void sim_model_free(struct sim_model *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nsegs; i++)
		free(m->segs[i].pkt);
	free(m->segs);
	free(m->states);
	free(m->timers);
	free(m->calls);
	free(m->notes);
	free(m->events);
	free(m->expects);
	m->segs = NULL;
	m->states = NULL;
	m->timers = NULL;
	m->calls = NULL;
	m->notes = NULL;
	m->events = NULL;
	m->expects = NULL;
	m->nsegs = m->segcap = m->nstates = m->statecap = m->ntimers = m->timercap = 0;
	m->ncalls = m->callcap = m->nnotes = m->notecap = m->nevents = m->eventcap = 0;
	m->nexpects = m->expectcap = 0;
}

static bool same_id(const struct tide_conn_id *a, const struct tide_conn_id *b)
{
	return a->laddr == b->laddr && a->raddr == b->raddr && a->lport == b->lport &&
	       a->rport == b->rport;
}

void sim_timelines_free(struct sim_timeline *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(t[i].spans);
	free(t);
}

int sim_model_timelines(const struct sim_model *m, struct sim_timeline **out, size_t *n)
{
	struct sim_timeline *tl = NULL;
	size_t ntl = 0, cap = 0;

	for (size_t i = 0; i < m->nevents; i++) {
		if (m->events[i].kind != EV_STATE)
			continue;
		const struct sim_state_change *c = &m->states[m->events[i].index];
		tide_time t = m->events[i].t;
		struct sim_timeline *cur = NULL;
		for (size_t k = ntl; k-- > 0;)
			if (tl[k].open && tl[k].host == c->host && same_id(&tl[k].id, &c->id)) {
				cur = &tl[k];
				break;
			}
		if (!cur) {
			if (c->new_state == TIDE_TCP_CLOSE)
				continue;
			if (grow((void **)&tl, &cap, ntl, sizeof *tl) < 0)
				goto fail;
			cur = &tl[ntl++];
			memset(cur, 0, sizeof *cur);
			cur->host = c->host;
			cur->id = c->id;
			cur->open = true;
		}
		if (cur->nspans)
			cur->spans[cur->nspans - 1].to = t;
		if (c->new_state == TIDE_TCP_CLOSE) {
			cur->open = false;
			continue;
		}
		if (grow((void **)&cur->spans, &cur->spancap, cur->nspans, sizeof *cur->spans) < 0)
			goto fail;
		cur->spans[cur->nspans++] = (struct sim_span){ c->new_state, t, m->end };
	}
	*out = tl;
	*n = ntl;
	return 0;
fail:
	sim_timelines_free(tl, ntl);
	errno = ENOMEM;
	return -1;
}

size_t sim_utf8_len(const unsigned char *p)
{
	if (p[0] < 0x80)
		return 1;
	size_t n;
	uint32_t c;
	if ((p[0] & 0xe0) == 0xc0) {
		n = 2;
		c = p[0] & 0x1f;
	} else if ((p[0] & 0xf0) == 0xe0) {
		n = 3;
		c = p[0] & 0x0f;
	} else if ((p[0] & 0xf8) == 0xf0) {
		n = 4;
		c = p[0] & 0x07;
	} else {
		return 0;
	}
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	/* Overlong forms, surrogates and values past Unicode are not UTF-8. */
	static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	if (c < min[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n;
}

void sim_out_puts(struct sim_out *w, const char *s)
{
	if (!w->err && fputs(s, w->out) == EOF)
		w->err = errno ? errno : EIO;
}

void sim_out_printf(struct sim_out *w, const char *fmt, ...)
{
	if (w->err)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (vfprintf(w->out, fmt, ap) < 0)
		w->err = errno ? errno : EIO;
	va_end(ap);
}
