/*
 * fuzz_stack: two tide stacks on the simulated network with live
 * connections, driven by the input read as a program (fuzz_common.h): the
 * socket API with every option that changes a lifecycle (SO_LINGER,
 * TCP_USER_TIMEOUT, TCP_LINGER2, keepalive, TCP_DEFER_ACCEPT...), epoll,
 * time, settings, faults of the network, and segments forged around a
 * real connection's sequence numbers, timestamps and SACK blocks so that
 * they pass the first checks and reach the state machine. The stacks'
 * automatic invariant checks (TIDE_INVARIANTS) run after every call; the
 * full check runs at the end. Set TIDE_FUZZ_TRACE=1 to print every
 * operation and run the full check after each (for reproducing a crash by
 * hand).
 */
#include <tide/tide.h>
#include <tide/socket.h>
#include <tide/settings.h>
#include <tide/sim.h>
#include <tide/wire.h>
#include "core/stack_int.h"
#include "fuzz_common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NSLOTS 16

struct reader {
	const uint8_t *p;
	size_t n, i;
};

static uint8_t r8(struct reader *r) { return r->i < r->n ? r->p[r->i++] : 0; }
static uint16_t r16(struct reader *r) { return (uint16_t)(r8(r) << 8 | r8(r)); }
static uint32_t r32(struct reader *r) { return (uint32_t)r16(r) << 16 | r16(r); }

/* A stack's allocator that refuses when told to (FZ_ALLOC_FAIL). */
struct allocator {
	uint32_t skip, fail;
};

static void *fz_alloc(void *ctx, void *ptr, size_t old_size, size_t new_size)
{
	struct allocator *a = ctx;
	(void)old_size;
	if (new_size == 0) {
		free(ptr);
		return NULL;
	}
	if (a->skip)
		a->skip--;
	else if (a->fail) {
		a->fail--;
		return NULL;
	}
	return realloc(ptr, new_size);
}

struct world {
	tide_sim *sim;
	struct allocator alloc[2];
	tide_stack *st[2];
	int fd[2][NSLOTS];
	uint8_t buf[70000];         /* payloads, packets */
	uint8_t pattern[65536];
};

static int trace;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	if (!trace)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static const tide_time units[8] = { 1, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000 };

static tide_time duration(uint8_t t)
{
	return (tide_time)((t & 31) + 1) * units[t >> 5];
}

static uint32_t node_addr(int node) { return node ? FZ_ADDR_B : FZ_ADDR_A; }

static uint32_t pick_addr(int node, uint8_t sel)
{
	switch (sel % FZ_NADDRS) {
	case FZ_ADDR_ANY: return 0;
	case FZ_ADDR_OWN: return node_addr(node);
	case FZ_ADDR_PEER: return node_addr(!node);
	case FZ_ADDR_NONE: return FZ_ADDR_NOBODY;
	case FZ_ADDR_LOOP: return 0x7f000001u;
	default: return 0xe0000001u;
	}
}

static uint16_t pick_port(uint8_t sel)
{
	static const uint16_t ports[FZ_NPORTS] = FZ_PORTS;
	return ports[sel % FZ_NPORTS];
}

static void fill_sin(struct sockaddr_in *sa, uint32_t addr, uint16_t port)
{
	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(addr);
	sa->sin_port = htons(port);
}

static void show_conn(void *ctx, const struct tide_conn_info *ci)
{
	(void)ctx;
	fprintf(stderr, "  %u.%u.%u.%u:%u > %u.%u.%u.%u:%u %s fd %d recv-q %u send-q %u\n",
		ci->id.laddr >> 24, (ci->id.laddr >> 16) & 255, (ci->id.laddr >> 8) & 255, ci->id.laddr & 255,
		ci->id.lport, ci->id.raddr >> 24, (ci->id.raddr >> 16) & 255, (ci->id.raddr >> 8) & 255,
		ci->id.raddr & 255, ci->id.rport, tide_state_name(ci->state), ci->fd, ci->recv_q, ci->send_q);
}

static void check(struct world *w, const char *when)
{
	char msg[512];
	for (int n = 0; n < 2; n++) {
		if (tide_stack_check(w->st[n], msg, sizeof msg) != 0) {
			fprintf(stderr, "fuzz_stack: invariant broken (%s, node %d): %s\n", when, n, msg);
			if (trace)
				tide_stack_foreach_conn(w->st[n], show_conn, NULL);
			abort();
		}
	}
}

static void settings(struct tide_settings *s, uint8_t flags, int node)
{
	char err[256];
	if (flags & FZ_SETUP_NO_TS)
		s->tcp_timestamps = 0;
	if (flags & FZ_SETUP_NO_SACK)
		s->tcp_sack = 0;
	if (flags & FZ_SETUP_NO_WSCALE)
		s->tcp_window_scaling = 0;
	if ((flags & FZ_SETUP_COOKIES) && node == 1)
		s->tcp_syncookies = 2;
	if (flags & FZ_SETUP_SMALL_BUF) {
		s->tcp_rmem_default = 4096;
		s->tcp_wmem_default = 4096;
	}
	if (flags & FZ_SETUP_SHORT) {
		const char *text = "net.ipv4.tcp_timewait_len = 2\nnet.ipv4.tcp_fin_timeout = 3\n"
				   "net.ipv4.tcp_keepalive_time = 5\nnet.ipv4.tcp_keepalive_intvl = 1\n"
				   "net.ipv4.tcp_keepalive_probes = 2\n";
		if (tide_settings_apply_text(s, text, "fuzz", err, sizeof err) != 0)
			abort();
	}
}

static void setup(struct world *w, uint8_t flags)
{
	w->sim = tide_sim_new(TIDE_MS(1));
	if (!w->sim)
		abort();
	for (int n = 0; n < 2; n++) {
		struct tide_config cfg;
		tide_config_init(&cfg);
		cfg.addr = node_addr(n);
		w->alloc[n] = (struct allocator){ 0, 0 };
		cfg.alloc = fz_alloc;
		cfg.alloc_ctx = &w->alloc[n];
		if (n == 0 && (flags & FZ_SETUP_SMALL_MTU))
			cfg.mtu = 576;
		settings(&cfg.settings, flags, n);
		int idx = tide_sim_add_stack(w->sim, n ? "b" : "a", &cfg);
		if (idx != n)
			abort();
		w->st[n] = tide_sim_stack(w->sim, n);
		for (int s = 0; s < NSLOTS; s++)
			w->fd[n][s] = -1;
	}
	if (flags & FZ_SETUP_BARE)
		return;
	struct sockaddr_in sa;
	tide_stack *A = w->st[0], *B = w->st[1];
	int l = tide_socket(B, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	fill_sin(&sa, FZ_ADDR_B, 80);
	if (tide_bind(B, l, (struct sockaddr *)&sa, sizeof sa) || tide_listen(B, l, 8))
		abort();
	w->fd[1][0] = l;
	for (int s = 0; s < 2; s++) {
		w->fd[0][s] = tide_socket(A, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		tide_connect(A, w->fd[0][s], (struct sockaddr *)&sa, sizeof sa);
	}
	tide_sim_run_for(w->sim, TIDE_MS(10));
	w->fd[1][1] = tide_accept(B, l, NULL, NULL, 0);
}

static int *slot(struct world *w, uint8_t ns)
{
	return &w->fd[(ns >> 4) & 1][ns & (NSLOTS - 1)];
}

static tide_stack *stack_of(struct world *w, uint8_t ns) { return w->st[(ns >> 4) & 1]; }

/* ---- socket options ---- */
static void sockopt(struct world *w, uint8_t ns, uint8_t opt, uint32_t val, bool set, uint8_t len)
{
	tide_stack *st = stack_of(w, ns);
	int fd = *slot(w, ns);
	int level = SOL_SOCKET, name;
	switch (opt % FZ_NSOCKOPTS) {
	case FZ_SO_REUSEADDR: name = SO_REUSEADDR; break;
	case FZ_SO_REUSEPORT: name = SO_REUSEPORT; break;
	case FZ_SO_KEEPALIVE: name = SO_KEEPALIVE; break;
	case FZ_SO_LINGER: name = SO_LINGER; break;
	case FZ_SO_RCVBUF: name = SO_RCVBUF; break;
	case FZ_SO_SNDBUF: name = SO_SNDBUF; break;
	case FZ_SO_ERROR: name = SO_ERROR; break;
	case FZ_SO_TYPE: name = SO_TYPE; break;
	case FZ_TCP_NODELAY: level = IPPROTO_TCP; name = TCP_NODELAY; break;
	case FZ_TCP_KEEPIDLE: level = IPPROTO_TCP; name = TCP_KEEPIDLE; break;
	case FZ_TCP_KEEPINTVL: level = IPPROTO_TCP; name = TCP_KEEPINTVL; break;
	case FZ_TCP_KEEPCNT: level = IPPROTO_TCP; name = TCP_KEEPCNT; break;
	case FZ_TCP_LINGER2: level = IPPROTO_TCP; name = TCP_LINGER2; break;
	case FZ_TCP_USER_TIMEOUT: level = IPPROTO_TCP; name = TCP_USER_TIMEOUT; break;
	case FZ_TCP_DEFER_ACCEPT: level = IPPROTO_TCP; name = TCP_DEFER_ACCEPT; break;
	case FZ_TCP_MAXSEG: level = IPPROTO_TCP; name = TCP_MAXSEG; break;
	case FZ_TCP_INFO: level = IPPROTO_TCP; name = TCP_INFO; break;
	default: level = 12345; name = 1; break;
	}
	if (set) {
		if (name == SO_LINGER && level == SOL_SOCKET) {
			struct linger l = { .l_onoff = (int)(val & 1), .l_linger = (int16_t)(val >> 16) };
			int r = tide_setsockopt(st, fd, level, name, &l, sizeof l);
			say("setsockopt(%d, SO_LINGER {%d, %d}) = %d", fd, l.l_onoff, l.l_linger, r);
			return;
		}
		int v = (int)val;
		int r = tide_setsockopt(st, fd, level, name, &v, sizeof v);
		say("setsockopt(%d, %d, %d, %d) = %d", fd, level, name, v, r);
		return;
	}
	union {
		struct tcp_info ti;
		struct linger l;
		int v;
		uint8_t b[512];
	} out;
	socklen_t ol = len % (sizeof out + 1);
	int r = tide_getsockopt(st, fd, level, name, &out, &ol);
	say("getsockopt(%d, %d, %d) = %d", fd, level, name, r);
}

/* ---- forged segments ---- */

/* What a forged segment is built around: the numbers of one of the
 * victim's connections, requests, records or listeners. */
struct target {
	struct tide_conn_id id;     /* from the victim's side */
	uint32_t rcv[8], snd[8];    /* FZ_SEQ_* and FZ_ACK_* bases */
	uint32_t ts_recent, tsval;  /* the peer's last TSval; ours now */
};

static int gather(tide_stack *st, const struct tide_hentry **out, int max)
{
	int n = 0;
	for (uint32_t i = 0; i <= st->ehash.mask && n < max; i++)
		for (const struct tide_hentry *e = st->ehash.b[i]; e && n < max; e = e->next)
			out[n++] = e;
	return n;
}

static void pick_target(struct world *w, int node, uint8_t sel, uint32_t any, struct target *t)
{
	tide_stack *st = w->st[node];
	const struct tide_hentry *es[64];
	int ne = gather(st, es, 64);
	int nl = 0;
	for (const struct tide_sock *l = st->listeners; l; l = l->lnext)
		nl++;
	int k = sel % (ne + nl + 1);
	memset(t, 0, sizeof *t);
	for (int i = 0; i < 8; i++)
		t->rcv[i] = t->snd[i] = any;
	t->rcv[FZ_SEQ_ZERO] = 0;
	t->tsval = (uint32_t)(st->now / 1000);
	if (k < ne) {
		const struct tide_hentry *e = es[k];
		t->id = e->key;
		if (e->kind == TIDE_EH_CONN) {
			const struct tcp_conn *c = TIDE_CONTAINER_OF(e, const struct tcp_conn, h);
			t->rcv[FZ_SEQ_RCV_NXT] = c->rcv_nxt;
			t->rcv[FZ_SEQ_WND_END] = c->rcv_nxt + c->rcv_wnd;
			t->rcv[FZ_SEQ_RCV_WUP] = c->rcv_wup;
			t->rcv[FZ_SEQ_IRS] = c->irs;
			t->rcv[FZ_SEQ_RCV_NXT_1] = c->rcv_nxt - 1;
			t->rcv[FZ_SEQ_RCV_ADV] = c->rcv_adv;
			t->snd[FZ_ACK_SND_UNA] = c->snd_una;
			t->snd[FZ_ACK_SND_NXT] = c->snd_nxt;
			t->snd[FZ_ACK_SND_MAX] = c->snd_max;
			t->snd[FZ_ACK_ISS] = c->iss;
			t->snd[FZ_ACK_SND_UNA_1] = c->snd_una - 1;
			t->snd[FZ_ACK_FIN] = c->fin_seq + 1;
			t->snd[FZ_ACK_WND_END] = c->snd_una + c->snd_wnd;
			t->ts_recent = c->ts_recent;
			t->tsval = tide_tcp_tsval(c);
		} else if (e->kind == TIDE_EH_REQ) {
			const struct tcp_req *rq = TIDE_CONTAINER_OF(e, const struct tcp_req, h);
			for (int i = 0; i < 6; i++) {
				t->rcv[i] = rq->irs + 1;
				t->snd[i] = rq->iss + 1;
			}
			t->rcv[FZ_SEQ_IRS] = rq->irs;
			t->snd[FZ_ACK_ISS] = rq->iss;
			t->ts_recent = rq->ts_recent;
			t->tsval = rq->tsval_last;
		} else {
			const struct tcp_tw *tw = TIDE_CONTAINER_OF(e, const struct tcp_tw, h);
			for (int i = 0; i < 6; i++) {
				t->rcv[i] = tw->rcv_nxt;
				t->snd[i] = tw->snd_nxt;
			}
			t->ts_recent = tw->ts_recent;
			t->tsval = (uint32_t)(st->now / 1000) + tide_tcp_ts_offset(st, &tw->h.key);
		}
		return;
	}
	if (k < ne + nl) {
		const struct tide_sock *l = st->listeners;
		for (int i = ne; i < k; i++)
			l = l->lnext;
		t->id.laddr = node_addr(node);
		t->id.lport = l->lport;
		t->id.raddr = (any & 1) ? node_addr(!node) : (0xc6130000u | (any >> 16));
		t->id.rport = (uint16_t)(1024 + (any & 0x3fff));
		return;
	}
	t->id.laddr = node_addr(node);
	t->id.raddr = node_addr(!node);
	t->id.lport = pick_port((uint8_t)any);
	t->id.rport = pick_port((uint8_t)(any >> 8));
}

static uint32_t with_delta(uint32_t base, uint8_t sel, uint8_t delta)
{
	return base + (uint32_t)((int32_t)(int8_t)delta * (1 << (((sel >> 3) & 3) * 6)));
}

static void inject(struct world *w, struct reader *r)
{
	int node = r8(r) & 1;
	uint8_t tsel = r8(r), flags = r8(r);
	uint8_t seqsel = r8(r), seqd = r8(r);
	uint8_t acksel = r8(r), ackd = r8(r);
	uint16_t win = r16(r);
	uint8_t opts = r8(r);
	struct tide_tcp_opts o;
	memset(&o, 0, sizeof o);
	if (opts & FZ_OPT_MSS) {
		o.present |= TIDE_OPT_MSS;
		o.mss = r16(r);
	}
	if (opts & FZ_OPT_WS) {
		o.present |= TIDE_OPT_WSCALE;
		o.wscale = r8(r);
	}
	if (opts & FZ_OPT_SACK_OK)
		o.present |= TIDE_OPT_SACK_OK;
	uint16_t tsd = 0, ecrd = 0;
	if (opts & FZ_OPT_TS) {
		o.present |= TIDE_OPT_TS;
		tsd = r16(r);
		ecrd = r16(r);
	}
	unsigned nsack = (opts >> 4) & 3;
	uint16_t sl[3], sn[3];
	for (unsigned i = 0; i < nsack; i++) {
		sl[i] = r16(r);
		sn[i] = r16(r);
	}
	uint16_t len = r16(r) % 4000;
	/* FZ_SEQ_ANY, FZ_ACK_ANY and made-up 4-tuples: anything, from the
	 * same bytes */
	uint32_t any = ((uint32_t)seqd << 24 | (uint32_t)ackd << 16 | win) * 2654435761u;

	struct target t;
	pick_target(w, node, tsel, any, &t);
	uint32_t seq = with_delta(t.rcv[seqsel & 7], seqsel, seqd);
	uint32_t ack = with_delta(t.snd[acksel & 7], acksel, ackd);
	if (opts & FZ_OPT_TS) {
		o.tsval = t.ts_recent + (uint32_t)(int32_t)(int16_t)tsd;
		o.tsecr = t.tsval + (uint32_t)(int32_t)(int16_t)ecrd;
	}
	if (nsack) {
		o.present |= TIDE_OPT_SACK;
		o.nsack = (uint8_t)nsack;
		for (unsigned i = 0; i < nsack; i++) {
			o.sack[i].left = t.snd[FZ_ACK_SND_UNA] + (uint32_t)(int32_t)(int16_t)sl[i];
			o.sack[i].right = o.sack[i].left + sn[i];
		}
	}
	uint8_t *pkt = w->buf;
	size_t n = tide_tcp_build(pkt + TIDE_IPV4_HLEN, sizeof w->buf - TIDE_IPV4_HLEN, t.id.raddr, t.id.laddr,
				  t.id.rport, t.id.lport, seq, ack, flags, win, &o, w->pattern, len);
	if (!n || !tide_ipv4_build(pkt, sizeof w->buf, t.id.raddr, t.id.laddr, TIDE_IPPROTO_TCP, (uint16_t)n, 64,
				   0, true))
		return;
	char line[256];
	tide_packet_summary(pkt, n + TIDE_IPV4_HLEN, line, sizeof line);
	int rc = tide_stack_input(w->st[node], pkt, n + TIDE_IPV4_HLEN, tide_sim_now(w->sim));
	say("inject into %d: %s = %d", node, line, rc);
}

static void raw(struct world *w, struct reader *r)
{
	int node = r8(r) & 1;
	uint8_t mode = r8(r);
	size_t len = r8(r);
	uint8_t *pkt = malloc(len ? len : 1); /* exactly its size: ASan sees over-reads */
	if (!pkt)
		abort();
	for (size_t i = 0; i < len; i++)
		pkt[i] = r8(r);
	fz_mend(pkt, len, mode, node_addr(!node), node_addr(node));
	int rc = tide_stack_input(w->st[node], pkt, len, tide_sim_now(w->sim));
	say("raw into %d: %zu bytes = %d", node, len, rc);
	free(pkt);
}

static void setting(struct world *w, struct reader *r)
{
	int node = r8(r) & 1;
	uint8_t which = r8(r);
	uint32_t val = r32(r);
	size_t count;
	const struct tide_setting_desc *tab = tide_settings_table(&count);
	const struct tide_setting_desc *d = &tab[which % count];
	int64_t span = (int64_t)d->max - d->min + 1;
	int64_t v[3];
	char text[96];
	int off = 0;
	/* limits are most interesting small (a few orphans, pages of tcp_mem,
	 * ports in the range): half the values lie near the minimum */
	bool small = (val & 0x80000000u) != 0;
	for (int i = 0; i < d->nvals; i++) {
		v[i] = d->min + (int64_t)((small ? (val & 0x7f) : val) % (uint64_t)span);
		val = (val * 2654435761u + 1) | (small ? 0x80000000u : 0);
	}
	/* ranges and triples are increasing: sort the values */
	for (int i = 1; i < d->nvals; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			int64_t x = v[j];
			v[j] = v[j - 1];
			v[j - 1] = x;
		}
	for (int i = 0; i < d->nvals; i++)
		off += snprintf(text + off, sizeof text - (size_t)off, "%s%lld", i ? " " : "", (long long)v[i]);
	char err[256];
	int rc = tide_settings_set(tide_stack_settings(w->st[node]), d->name, text, err, sizeof err);
	say("node %d: %s = %s: %d", node, d->name, text, rc);
}

static void fault(struct world *w, struct reader *r)
{
	struct tide_fault f;
	memset(&f, 0, sizeof f);
	f.from = (int)(r8(r) % 3) - 1;
	uint8_t action = r8(r);
	f.action = (enum tide_fault_action)(action % 4);
	f.no_payload = (action & 4) != 0;
	f.flags_mask = r8(r);
	f.flags_match = r8(r);
	f.nth = r8(r) % 8 + 1;
	f.count = r8(r) % 4 + 1;
	f.delay = TIDE_MS(r8(r) + 1);
	tide_sim_add_fault(w->sim, &f);
	say("fault from %d action %d", f.from, f.action);
}

static void step(struct world *w, struct reader *r)
{
	size_t at = r->i;
	uint8_t op = r8(r) % FZ_OP_COUNT;
	struct sockaddr_in sa;
	/* the next byte is the node (and slot) of most operations */
	say("[byte %zu] op %u, next byte 0x%02x", at, op, r->i < r->n ? r->p[r->i] : 0);
	switch (op) {
	case FZ_ADVANCE: {
		tide_time d = duration(r8(r));
		say("advance %llu us", (unsigned long long)d);
		tide_sim_run_for(w->sim, d);
		break;
	}
	case FZ_STEP:
		tide_sim_step(w->sim);
		break;
	case FZ_SOCKET: {
		uint8_t ns = r8(r), f = r8(r);
		int type = (f & 2) ? SOCK_DGRAM : SOCK_STREAM;
		*slot(w, ns) = tide_socket(stack_of(w, ns), AF_INET, type | ((f & 1) ? SOCK_NONBLOCK : 0), 0);
		say("socket -> ns %02x = %d", ns, *slot(w, ns));
		break;
	}
	case FZ_BIND: {
		uint8_t ns = r8(r), a = r8(r), p = r8(r);
		fill_sin(&sa, pick_addr((ns >> 4) & 1, a), pick_port(p));
		int rc = tide_bind(stack_of(w, ns), *slot(w, ns), (struct sockaddr *)&sa, sizeof sa);
		say("bind(%d, %u) = %d", *slot(w, ns), pick_port(p), rc);
		break;
	}
	case FZ_LISTEN: {
		uint8_t ns = r8(r);
		int backlog = (int8_t)r8(r);
		int rc = tide_listen(stack_of(w, ns), *slot(w, ns), backlog);
		say("listen(%d, %d) = %d", *slot(w, ns), backlog, rc);
		break;
	}
	case FZ_CONNECT: {
		uint8_t ns = r8(r), a = r8(r), p = r8(r);
		int node = (ns >> 4) & 1;
		uint32_t dst = a % FZ_NADDRS == FZ_ADDR_ANY ? node_addr(!node) : pick_addr(node, a);
		fill_sin(&sa, dst, pick_port(p));
		int rc = tide_connect(stack_of(w, ns), *slot(w, ns), (struct sockaddr *)&sa, sizeof sa);
		say("connect(%d, %u) = %d", *slot(w, ns), pick_port(p), rc);
		break;
	}
	case FZ_ACCEPT: {
		uint8_t ns = r8(r), d = r8(r), f = r8(r);
		struct sockaddr_in peer;
		socklen_t pl = sizeof peer;
		int fd = tide_accept(stack_of(w, ns), *slot(w, ns), (f & 2) ? (struct sockaddr *)&peer : NULL,
				     (f & 2) ? &pl : NULL, (f & 1) ? SOCK_NONBLOCK : 0);
		if (fd >= 0)
			w->fd[(ns >> 4) & 1][d & (NSLOTS - 1)] = fd;
		say("accept(%d) = %d", *slot(w, ns), fd);
		break;
	}
	case FZ_SEND: {
		uint8_t ns = r8(r);
		uint16_t len = r16(r);
		int f = (r8(r) & 1) ? MSG_DONTWAIT : 0;
		ssize_t rc = tide_send(stack_of(w, ns), *slot(w, ns), w->pattern, len, f);
		say("send(%d, %u) = %zd", *slot(w, ns), len, rc);
		break;
	}
	case FZ_RECV: {
		uint8_t ns = r8(r);
		uint16_t len = r16(r);
		uint8_t fl = r8(r);
		int f = ((fl & 1) ? MSG_PEEK : 0) | ((fl & 2) ? MSG_DONTWAIT : 0) | ((fl & 4) ? MSG_OOB : 0);
		ssize_t rc = tide_recv(stack_of(w, ns), *slot(w, ns), w->buf, len, f);
		say("recv(%d, %u) = %zd", *slot(w, ns), len, rc);
		break;
	}
	case FZ_SHUTDOWN: {
		uint8_t ns = r8(r), how = r8(r) % 4;
		int rc = tide_shutdown(stack_of(w, ns), *slot(w, ns), how);
		say("shutdown(%d, %u) = %d", *slot(w, ns), how, rc);
		break;
	}
	case FZ_CLOSE: {
		uint8_t ns = r8(r);
		int rc = tide_close(stack_of(w, ns), *slot(w, ns));
		say("close(%d) = %d", *slot(w, ns), rc);
		*slot(w, ns) = -1;
		break;
	}
	case FZ_SETSOCKOPT: {
		uint8_t ns = r8(r), opt = r8(r);
		sockopt(w, ns, opt, r32(r), true, 0);
		break;
	}
	case FZ_GETSOCKOPT: {
		uint8_t ns = r8(r), opt = r8(r), len = r8(r);
		sockopt(w, ns, opt, 0, false, len);
		break;
	}
	case FZ_EPOLL_CREATE: {
		uint8_t ns = r8(r);
		*slot(w, ns) = tide_epoll_create(stack_of(w, ns));
		say("epoll_create -> ns %02x = %d", ns, *slot(w, ns));
		break;
	}
	case FZ_EPOLL_CTL: {
		uint8_t ns = r8(r), s = r8(r), op2 = r8(r) % 4;
		struct epoll_event ev = { .events = r32(r) };
		ev.data.u64 = s;
		int fd = w->fd[(ns >> 4) & 1][s & (NSLOTS - 1)];
		int rc = tide_epoll_ctl(stack_of(w, ns), *slot(w, ns), op2, fd, &ev);
		say("epoll_ctl(%d, %u, %d) = %d", *slot(w, ns), op2, fd, rc);
		break;
	}
	case FZ_EPOLL_WAIT: {
		uint8_t ns = r8(r);
		int max = r8(r) % 20;
		struct epoll_event evs[20];
		int rc = tide_epoll_wait(stack_of(w, ns), *slot(w, ns), evs, max);
		say("epoll_wait(%d) = %d", *slot(w, ns), rc);
		break;
	}
	case FZ_POLL: {
		int node = r8(r) & 1;
		uint16_t mask = r16(r);
		struct pollfd p[NSLOTS];
		nfds_t n = 0;
		for (int s = 0; s < NSLOTS; s++)
			if (mask & (1u << s))
				p[n++] = (struct pollfd){ .fd = w->fd[node][s], .events = POLLIN | POLLOUT | POLLRDHUP };
		tide_poll(w->st[node], p, n);
		break;
	}
	case FZ_INJECT:
		inject(w, r);
		break;
	case FZ_RAW:
		raw(w, r);
		break;
	case FZ_SETTING:
		setting(w, r);
		break;
	case FZ_FAULT:
		fault(w, r);
		break;
	case FZ_OWNER: {
		uint8_t ns = r8(r), owner = r8(r);
		tide_sock_set_owner(stack_of(w, ns), *slot(w, ns), owner);
		break;
	}
	case FZ_RELEASE: {
		int node = r8(r) & 1;
		uint8_t owner = r8(r);
		int n = tide_release_owner(w->st[node], owner);
		say("release owner %u of %d: %d", owner, node, n);
		break;
	}
	case FZ_NAMES: {
		uint8_t ns = r8(r);
		struct sockaddr_in a;
		socklen_t al = sizeof a;
		int r1 = tide_getsockname(stack_of(w, ns), *slot(w, ns), (struct sockaddr *)&a, &al);
		al = sizeof a;
		int r2 = tide_getpeername(stack_of(w, ns), *slot(w, ns), (struct sockaddr *)&a, &al);
		say("getsockname(%d) = %d, getpeername = %d", *slot(w, ns), r1, r2);
		break;
	}
	case FZ_ALLOC_FAIL: {
		int node = r8(r) & 1;
		w->alloc[node].skip = r8(r);
		w->alloc[node].fail = r8(r);
		say("node %d: allocations fail: %u after %u", node, w->alloc[node].fail, w->alloc[node].skip);
		break;
	}
	case FZ_CUT: {
		tide_time now = tide_sim_now(w->sim);
		tide_sim_cut_link(w->sim, now, now + duration(r8(r)));
		break;
	}
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct world *w;
	if (!w) {
		w = malloc(sizeof *w);
		if (!w)
			abort();
		for (size_t i = 0; i < sizeof w->pattern; i++)
			w->pattern[i] = (uint8_t)(i * 7 + (i >> 8));
		trace = getenv("TIDE_FUZZ_TRACE") != NULL;
	}
	struct reader r = { data, size, 0 };
	setup(w, r8(&r));
	while (r.i < r.n) {
		step(w, &r);
		if (trace) /* the first operation that breaks an invariant */
			check(w, "after the operation above");
	}
	check(w, "end of input");
	tide_sim_free(w->sim);
	return 0;
}
