/*
 * The test fixture of harness.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#define TH_IMPLEMENTATION /* call our own functions, not the location macros */
#include "harness.h"
#include <tide/settings.h>

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TH_DEFAULT_DELAY TIDE_MS(1)
#define TH_DEFAULT_CLIENT_ISN 100u
#define TH_DEFAULT_SERVER_ISN 300u
/* Long enough for every SYN retransmission Linux makes (1+2+...+64 s). */
#define TH_ESTABLISH_LIMIT TIDE_SEC(200)

/* Dumps the log, then fails the test with the message. */
static void th_fail(struct th *h, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void th_fail(struct th *h, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	th_dump(h);
	print_error("ERROR: %s\n", msg);
	if (h->file)
		_fail(h->file, h->line);
	else
		_fail(__FILE__, __LINE__);
}

struct th *th_here(struct th *h, const char *file, int line)
{
	h->file = file;
	h->line = line;
	return h;
}

static void *th_grow(struct th *h, void *arr, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return arr;
	size_t ncap = *cap ? *cap * 2 : 64;
	void *n = realloc(arr, ncap * size);
	if (!n)
		th_fail(h, "harness: out of memory");
	*cap = ncap;
	return n;
}

/* ---- formatting ----------------------------------------------------- */

static const char *ev_name(enum tide_sim_event ev)
{
	switch (ev) {
	case TIDE_SIM_SENT: return "sent";
	case TIDE_SIM_DELIVERED: return "delivered";
	case TIDE_SIM_DROPPED: return "DROPPED";
	case TIDE_SIM_DUPLICATED: return "DUPLICATED";
	case TIDE_SIM_DELAYED: return "DELAYED";
	case TIDE_SIM_UNROUTABLE: return "UNROUTABLE";
	case TIDE_SIM_FILTERED: return "FILTERED";
	}
	return "?";
}

/* Milliseconds with microsecond digits: "1001.250". */
static const char *fmt_time(char *buf, size_t cap, tide_time t)
{
	snprintf(buf, cap, "%" PRIu64 ".%03" PRIu64, t / 1000, t % 1000);
	return buf;
}

static const char *fmt_flags(char *buf, size_t cap, uint8_t flags)
{
	/* Own spelling rather than tide_tcp_flags_str: the log must stay
	 * readable when the wire code is what is broken. */
	static const char *const names[8] = {
		"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR",
	};
	static const int order[8] = { 1, 0, 2, 3, 4, 5, 6, 7 };
	size_t n = 0;
	buf[0] = 0;
	for (int k = 0; k < 8; k++) {
		int b = order[k];
		if (!(flags & (1u << b)))
			continue;
		int w = snprintf(buf + n, cap - n, "%s%s", n ? "," : "", names[b]);
		if (w < 0 || (size_t)w >= cap - n)
			break;
		n += (size_t)w;
	}
	if (n == 0)
		snprintf(buf, cap, "none");
	return buf;
}

static void fmt_opts(char *buf, size_t cap, const struct tide_tcp_opts *o)
{
	size_t n = 0;
	buf[0] = 0;
#define TH_APPEND(...)                                                          \
	do {                                                                    \
		int w_ = snprintf(buf + n, cap - n, __VA_ARGS__);               \
		if (w_ > 0 && (size_t)w_ < cap - n)                             \
			n += (size_t)w_;                                        \
	} while (0)
	if (o->present & TIDE_OPT_MSS)
		TH_APPEND("%smss %u", n ? "," : "", o->mss);
	if (o->present & TIDE_OPT_SACK_OK)
		TH_APPEND("%ssackOK", n ? "," : "");
	if (o->present & TIDE_OPT_TS)
		TH_APPEND("%sTS %" PRIu32 ":%" PRIu32, n ? "," : "", o->tsval, o->tsecr);
	if (o->present & TIDE_OPT_WSCALE)
		TH_APPEND("%swscale %u", n ? "," : "", o->wscale);
	if (o->present & TIDE_OPT_SACK) {
		TH_APPEND("%ssack", n ? "," : "");
		for (unsigned i = 0; i < o->nsack && i < TIDE_TCP_MAX_SACK; i++)
			TH_APPEND(" %" PRIu32 "-%" PRIu32, o->sack[i].left, o->sack[i].right);
	}
#undef TH_APPEND
}

const char *th_node_name(struct th *h, int node)
{
	if (node == h->c)
		return "client";
	if (node == h->s)
		return "server";
	const char *n = tide_sim_node_name(h->sim, node);
	return n ? n : "-";
}

/* seg_index: the segment's index for SENT events, or -1. */
static void print_event(struct th *h, const struct th_seg *e, long seg_index)
{
	char t[32], fl[48], op[160], idx[24] = "";
	if (seg_index >= 0)
		snprintf(idx, sizeof(idx), "#%ld", seg_index);
	fmt_opts(op, sizeof(op), &e->opts);
	fprintf(stderr, "%6s %12s ms  %s -> %s  %-10s [%s] seq %" PRIu32 " ack %" PRIu32
		" win %u len %zu%s%s%s\n",
		idx, fmt_time(t, sizeof(t), e->t), th_node_name(h, e->from),
		th_node_name(h, e->to), ev_name(e->ev), fmt_flags(fl, sizeof(fl), e->flags),
		e->seq, e->ack, e->win, e->len, op[0] ? " <" : "", op, op[0] ? ">" : "");
}

static void print_state(struct th *h, const struct th_state *s)
{
	char t[32];
	fprintf(stderr, "%6s %12s ms  %s: %u.%u.%u.%u:%u-%u.%u.%u.%u:%u  %s -> %s\n", "",
		fmt_time(t, sizeof(t), s->t), th_node_name(h, s->node),
		s->id.laddr >> 24, (s->id.laddr >> 16) & 255, (s->id.laddr >> 8) & 255,
		s->id.laddr & 255, s->id.lport, s->id.raddr >> 24, (s->id.raddr >> 16) & 255,
		(s->id.raddr >> 8) & 255, s->id.raddr & 255, s->id.rport,
		tide_state_name(s->old_state), tide_state_name(s->new_state));
}

void th_dump(struct th *h)
{
	fprintf(stderr, "---- %zu segments sent, %zu events, %zu state changes ----\n",
		h->nsegs, h->nevents, h->nstates);
	size_t i = 0, j = 0;
	long seg = 0;
	while (i < h->nevents || j < h->nstates) {
		if (j >= h->nstates ||
		    (i < h->nevents && h->events[i].order < h->states[j].order)) {
			const struct th_seg *e = &h->events[i++];
			print_event(h, e, e->ev == TIDE_SIM_SENT ? seg++ : -1);
		} else {
			print_state(h, &h->states[j++]);
		}
	}
	fprintf(stderr, "---- end ----\n");
}

/* ---- recording ------------------------------------------------------ */

static void th_tap(void *ctx, enum tide_sim_event ev, tide_time now, int from, int to,
		   const uint8_t *pkt, size_t len)
{
	struct th *h = ctx;
	struct th_seg s;
	memset(&s, 0, sizeof(s));
	s.t = now;
	s.from = from;
	s.to = to;
	s.ev = ev;
	s.order = h->next_order++;

	struct tide_ipv4 ip;
	struct tide_tcp tcp;
	if (tide_ipv4_parse(pkt, len, &ip) == TIDE_WIRE_OK) {
		s.len = ip.payload_len;
		if (ip.protocol == TIDE_IPPROTO_TCP &&
		    tide_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, false, &tcp) ==
			    TIDE_WIRE_OK) {
			s.flags = tcp.flags;
			s.seq = tcp.seq;
			s.ack = tcp.ack;
			s.win = tcp.window;
			s.len = tcp.payload_len;
			s.opts = tcp.opts;
			s.sport = tcp.sport;
			s.dport = tcp.dport;
		}
	}

	h->events = th_grow(h, h->events, &h->ecap, h->nevents + 1, sizeof(*h->events));
	h->events[h->nevents++] = s;
	long idx = -1;
	if (ev == TIDE_SIM_SENT) {
		h->segs = th_grow(h, h->segs, &h->cap, h->nsegs + 1, sizeof(*h->segs));
		idx = (long)h->nsegs;
		h->segs[h->nsegs++] = s;
	}
	if (h->verbose)
		print_event(h, &s, idx);
}

static void th_on_state(void *ctx, const struct tide_conn_id *id, int old_state,
			int new_state, tide_time now)
{
	struct th_node *n = ctx;
	struct th *h = n->h;
	h->states = th_grow(h, h->states, &h->scap, h->nstates + 1, sizeof(*h->states));
	struct th_state *s = &h->states[h->nstates++];
	s->t = now;
	s->node = n->node;
	s->id = *id;
	s->old_state = old_state;
	s->new_state = new_state;
	s->order = h->next_order++;
	if (h->verbose)
		print_state(h, s);
}

static uint32_t th_isn(void *ctx, const struct tide_conn_id *id, tide_time now)
{
	(void)id;
	(void)now;
	struct th_node *n = ctx;
	return n->h->isn[n->node];
}

/* ---- setup ---------------------------------------------------------- */

void th_init(struct th *h, const struct th_opts *o)
{
	static const struct th_opts defaults = { 0 };
	if (!o)
		o = &defaults;
	memset(h, 0, sizeof(*h));
	const char *v = getenv("TIDE_TEST_VERBOSE");
	h->verbose = v && *v && strcmp(v, "0") != 0;
	h->isn[0] = o->client_isn ? o->client_isn : TH_DEFAULT_CLIENT_ISN;
	h->isn[1] = o->server_isn ? o->server_isn : TH_DEFAULT_SERVER_ISN;
	h->c = -1;
	h->s = -1;

	h->sim = tide_sim_new(o->delay ? o->delay : TH_DEFAULT_DELAY);
	if (!h->sim)
		fail_msg("th_init: tide_sim_new: %s", strerror(errno));
	tide_sim_set_tap(h->sim, th_tap, h);

	static const char *const names[2] = { "client", "server" };
	static const uint32_t addrs[2] = { TH_CLIENT_ADDR, TH_SERVER_ADDR };
	for (int i = 0; i < 2; i++) {
		struct th_node *n = &h->nodes[i];
		n->h = h;
		/* The sim numbers nodes from 0 in the order they are added. */
		n->node = i;
		struct tide_config cfg;
		tide_config_init(&cfg);
		cfg.addr = addrs[i];
		cfg.secret = 0x7469646574657374ull + (uint64_t)i; /* "tidetest" */
		cfg.on_state = th_on_state;
		cfg.state_ctx = n;
		if (!o->linux_isn) {
			cfg.isn = th_isn;
			cfg.isn_ctx = n;
		}
		const char *text = i == 0 ? o->client_settings : o->server_settings;
		if (text) {
			char err[256];
			if (tide_settings_apply_text(&cfg.settings, text, names[i], err,
						     sizeof(err)) != 0)
				fail_msg("th_init: %s", err);
		}
		if (o->tune)
			o->tune(&cfg, i);
		int idx = tide_sim_add_stack(h->sim, names[i], &cfg);
		if (idx != i)
			fail_msg("th_init: adding the %s stack: %s", names[i],
				 idx < 0 ? strerror(errno) : "unexpected node index");
	}
	h->c = 0;
	h->s = 1;
	h->C = tide_sim_stack(h->sim, h->c);
	h->S = tide_sim_stack(h->sim, h->s);
}

void th_free(struct th *h)
{
	tide_sim_free(h->sim);
	free(h->segs);
	free(h->events);
	free(h->states);
	memset(h, 0, sizeof(*h));
}

/* ---- time ----------------------------------------------------------- */

void th_run_until(struct th *h, tide_time t)
{
	tide_sim_run_until(h->sim, t);
}

void th_run_for(struct th *h, tide_time d)
{
	tide_sim_run_for(h->sim, d);
}

tide_time th_now(struct th *h)
{
	return tide_sim_now(h->sim);
}

tide_stack *th_stack(struct th *h, int node)
{
	tide_stack *st = tide_sim_stack(h->sim, node);
	if (!st)
		th_fail(h, "node %d is not a tide stack", node);
	return st;
}

/* ---- assertions ----------------------------------------------------- */

const struct th_seg *th_seg(struct th *h, size_t i)
{
	if (i >= h->nsegs) {
		th_fail(h, "segment #%zu: missing, only %zu segments were sent (now %" PRIu64
			   " us)", i, h->nsegs, th_now(h));
		return NULL;
	}
	return &h->segs[i];
}

static void describe(struct th *h, char *buf, size_t cap, int from, uint8_t flags,
		     uint32_t seq, uint32_t ack, size_t len)
{
	char fl[48];
	char a[24] = "-";
	if (flags & TIDE_TCP_ACK)
		snprintf(a, sizeof(a), "%" PRIu32, ack);
	snprintf(buf, cap, "%s [%s] seq %" PRIu32 " ack %s len %zu", th_node_name(h, from),
		 fmt_flags(fl, sizeof(fl), flags), seq, a, len);
}

static void expect_seg(struct th *h, size_t i, bool check_t, tide_time t, int from,
		       uint8_t flags, uint32_t seq, uint32_t ack, size_t len)
{
	const struct th_seg *s = th_seg(h, i);
	char diff[128] = "";
	size_t n = 0;
#define TH_DIFF(cond, name)                                                      \
	do {                                                                     \
		if (cond) {                                                      \
			int w_ = snprintf(diff + n, sizeof(diff) - n, "%s%s",    \
					  n ? ", " : "", name);                  \
			if (w_ > 0 && (size_t)w_ < sizeof(diff) - n)             \
				n += (size_t)w_;                                 \
		}                                                                \
	} while (0)
	TH_DIFF(s->from != from, "sender");
	TH_DIFF(s->flags != flags, "flags");
	TH_DIFF(s->seq != seq, "seq");
	TH_DIFF((flags & TIDE_TCP_ACK) && s->ack != ack, "ack");
	TH_DIFF(s->len != len, "len");
	TH_DIFF(check_t && s->t != t, "time");
#undef TH_DIFF
	if (n == 0)
		return;
	char want[160], got[160], tw[32], tg[32];
	describe(h, want, sizeof(want), from, flags, seq, ack, len);
	describe(h, got, sizeof(got), s->from, s->flags, s->seq, s->ack, s->len);
	if (check_t)
		th_fail(h, "segment #%zu (%s differ):\n  expected %s at %s ms\n  got      %s at %s ms",
			i, diff, want, fmt_time(tw, sizeof(tw), t), got,
			fmt_time(tg, sizeof(tg), s->t));
	else
		th_fail(h, "segment #%zu (%s differ):\n  expected %s\n  got      %s (at %s ms)",
			i, diff, want, got, fmt_time(tg, sizeof(tg), s->t));
}

void th_expect_seg(struct th *h, size_t i, int from, uint8_t flags, uint32_t seq,
		   uint32_t ack, size_t len)
{
	expect_seg(h, i, false, 0, from, flags, seq, ack, len);
}

void th_expect_seg_at(struct th *h, size_t i, tide_time t, int from, uint8_t flags,
		      uint32_t seq, uint32_t ack, size_t len)
{
	expect_seg(h, i, true, t, from, flags, seq, ack, len);
}

void th_expect_nsegs(struct th *h, size_t n)
{
	if (h->nsegs != n)
		th_fail(h, "expected %zu segments sent, got %zu (now %" PRIu64 " us)", n,
			h->nsegs, th_now(h));
}

static void append_state(char *buf, size_t cap, size_t *n, int state)
{
	int w = snprintf(buf + *n, cap - *n, "%s%s", *n ? " " : "", tide_state_name(state));
	if (w > 0 && (size_t)w < cap - *n)
		*n += (size_t)w;
}

void th_expect_states(struct th *h, int node, const int *states, size_t n)
{
	size_t k = 0;
	bool same = true;
	for (size_t i = 0; i < h->nstates; i++) {
		if (h->states[i].node != node)
			continue;
		if (k >= n || h->states[i].new_state != states[k])
			same = false;
		k++;
	}
	if (same && k == n)
		return;

	char want[1024], got[1024];
	size_t wn = 0, gn = 0;
	want[0] = got[0] = 0;
	for (size_t i = 0; i < n; i++)
		append_state(want, sizeof(want), &wn, states[i]);
	for (size_t i = 0; i < h->nstates; i++)
		if (h->states[i].node == node)
			append_state(got, sizeof(got), &gn, h->states[i].new_state);
	th_fail(h, "states of %s:\n  expected [%s]\n  got      [%s]", th_node_name(h, node),
		want, got);
}

void th_expect_state_at(struct th *h, int node, size_t i, tide_time t, int old_state,
			int new_state)
{
	size_t k = 0;
	for (size_t j = 0; j < h->nstates; j++) {
		const struct th_state *s = &h->states[j];
		if (s->node != node)
			continue;
		if (k++ != i)
			continue;
		if (s->t == t && s->old_state == old_state && s->new_state == new_state)
			return;
		char tw[32], tg[32];
		th_fail(h, "state change #%zu of %s:\n  expected %s -> %s at %s ms\n"
			   "  got      %s -> %s at %s ms",
			i, th_node_name(h, node), tide_state_name(old_state),
			tide_state_name(new_state), fmt_time(tw, sizeof(tw), t),
			tide_state_name(s->old_state), tide_state_name(s->new_state),
			fmt_time(tg, sizeof(tg), s->t));
		return;
	}
	th_fail(h, "state change #%zu of %s: missing, it had %zu", i, th_node_name(h, node), k);
}

/* ---- sockets -------------------------------------------------------- */

static struct sockaddr_in sin_of(uint32_t addr, uint16_t port)
{
	struct sockaddr_in sin;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(addr);
	return sin;
}

int th_listen(struct th *h, int node, uint16_t port, int backlog)
{
	tide_stack *st = th_stack(h, node);
	int fd = tide_socket(st, AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		th_fail(h, "th_listen on %s: socket: %s", th_node_name(h, node), strerror(errno));
	struct sockaddr_in sin = sin_of(tide_stack_addr(st), port);
	if (tide_bind(st, fd, (const struct sockaddr *)&sin, sizeof(sin)) < 0)
		th_fail(h, "th_listen on %s: bind port %u: %s", th_node_name(h, node), port,
			strerror(errno));
	if (tide_listen(st, fd, backlog) < 0)
		th_fail(h, "th_listen on %s: listen: %s", th_node_name(h, node), strerror(errno));
	return fd;
}

int th_connect(struct th *h, int node, uint32_t dst, uint16_t dport, uint16_t sport)
{
	tide_stack *st = th_stack(h, node);
	int fd = tide_socket(st, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		th_fail(h, "th_connect on %s: socket: %s", th_node_name(h, node), strerror(errno));
	if (sport) {
		struct sockaddr_in sin = sin_of(tide_stack_addr(st), sport);
		if (tide_bind(st, fd, (const struct sockaddr *)&sin, sizeof(sin)) < 0)
			th_fail(h, "th_connect on %s: bind port %u: %s", th_node_name(h, node),
				sport, strerror(errno));
	}
	struct sockaddr_in sin = sin_of(dst, dport);
	errno = 0;
	int r = tide_connect(st, fd, (const struct sockaddr *)&sin, sizeof(sin));
	if (r != -1 || errno != EINPROGRESS)
		th_fail(h, "th_connect on %s: connect returned %d (%s), expected -1 EINPROGRESS",
			th_node_name(h, node), r, r < 0 ? strerror(errno) : "no error");
	return fd;
}

int th_accept(struct th *h, int node, int lfd)
{
	tide_stack *st = th_stack(h, node);
	int fd = tide_accept(st, lfd, NULL, NULL, 0);
	if (fd < 0)
		th_fail(h, "th_accept on %s (fd %d): %s", th_node_name(h, node), lfd,
			strerror(errno));
	return fd;
}

struct established {
	struct th *h;
	int cfd;
};

static bool is_established(void *ctx)
{
	struct established *e = ctx;
	struct th *h = e->h;
	if (tide_sock_state(h->C, e->cfd) != TIDE_TCP_ESTABLISHED)
		return false;
	/* The client is ESTABLISHED on the SYN,ACK; the server only once its
	 * ACK has arrived. */
	for (size_t i = 0; i < h->nevents; i++) {
		const struct th_seg *s = &h->events[i];
		if (s->ev == TIDE_SIM_DELIVERED && s->from == h->c && s->to == h->s &&
		    (s->flags & (TIDE_TCP_ACK | TIDE_TCP_SYN | TIDE_TCP_RST)) == TIDE_TCP_ACK)
			return true;
	}
	return false;
}

void th_establish(struct th *h, int *cfd, int *sfd, int *lfd)
{
	int l = th_listen(h, h->s, 80, 128);
	int c = th_connect(h, h->c, TH_SERVER_ADDR, 80, 40000);
	struct established e = { h, c };
	if (!tide_sim_run_while_not(h->sim, is_established, &e, th_now(h) + TH_ESTABLISH_LIMIT))
		th_fail(h, "th_establish: not established after %" PRIu64 " s (client state %s)",
			TH_ESTABLISH_LIMIT / 1000000, tide_state_name(tide_sock_state(h->C, c)));
	/* Both clocks at the moment the ACK arrived, for the calls that follow. */
	th_run_until(h, th_now(h));
	int s = th_accept(h, h->s, l);
	if (cfd)
		*cfd = c;
	if (sfd)
		*sfd = s;
	if (lfd)
		*lfd = l;
}
