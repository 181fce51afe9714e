/*
 * The simulated network of <tide/sim.h>.
 *
 * A discrete-event loop over two kinds of events: packet deliveries (kept
 * in a min-heap ordered by time, then by the order they were scheduled) and
 * node timers (asked from each node every step, never stored, so a node
 * may move its timers freely between steps). When a delivery and a timer
 * fall on the same instant the delivery runs first: a packet that arrives
 * "at" a deadline is seen before the timeout fires, which is how a host
 * processes its receive queue before its timer wheel in the same tick, and
 * it makes races at an exact instant resolve the same way every run.
 * Timers of several nodes at one instant run in node order.
 */
#include <tide/sim.h>
#include <tide/wire.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A reordered packet not overtaken by then is let go, so that a test whose
 * traffic stops does not lose it for good. */
#define SIM_REORDER_HOLD TIDE_SEC(10)

/* A node whose next_timer stays at or before the clock after advance()
 * would spin forever; no legitimate run does this many events without the
 * clock moving. */
#define SIM_MAX_EVENTS_PER_INSTANT 10000000u

#define SIM_NEVENTS (TIDE_SIM_FILTERED + 1)

struct sim_pkt {
	tide_time t;              /* delivery time (or release deadline if held) */
	uint64_t seq;             /* scheduling order: breaks ties in time */
	int from, to;
	struct sim_pkt *followers; /* held packets released right after this one */
	struct sim_pkt *next;      /* link within a followers list */
	size_t len;
	uint8_t data[];
};

struct sim_node {
	tide_sim *sim;
	int index;
	char *name;
	uint32_t addr;
	struct tide_sim_node_ops ops;
	void *ctx;
	tide_stack *stack;        /* owned, when the sim created it */
};

struct sim_rule {
	struct tide_fault f;
	uint64_t matches;
};

struct sim_cut {
	tide_time t1, t2;
};

/* One setting of random faults and its own generator, so that the faults
 * of one direction do not depend on the traffic of another. */
struct sim_random {
	struct tide_sim_random_faults rf;
	uint64_t state;
};

struct tide_sim {
	tide_time now;
	tide_time delay;
	uint64_t next_seq;

	/* Pointers, not structs: a stack's output callback keeps its node's
	 * address while the array grows. */
	struct sim_node **nodes;
	int nnodes;
	size_t nodes_cap;

	struct sim_pkt **heap;
	size_t nheap, heap_cap;

	/* Reordered packets waiting for a later packet in their direction.
	 * Few at a time, so a plain array in hold order. */
	struct sim_pkt **held;
	size_t nheld, held_cap;

	struct sim_rule *rules;
	size_t nrules, rules_cap;

	struct sim_cut *cuts;
	size_t ncuts, cuts_cap;

	struct sim_random *randoms;
	size_t nrandoms, randoms_cap;

	tide_sim_tap_fn tap;
	void *tap_ctx;
	tide_sim_filter_fn filter;
	void *filter_ctx;
	uint64_t counts[SIM_NEVENTS];

	tide_time spin_at;
	uint64_t spin_events;
};

/* Returns arr (elements of `size` bytes) grown to hold at least `need`, or
 * NULL with arr left as it was. */
static void *grow(void *arr, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return arr;
	size_t ncap = *cap ? *cap * 2 : 8;
	while (ncap < need)
		ncap *= 2;
	void *n = realloc(arr, ncap * size);
	if (!n) {
		errno = ENOMEM;
		return NULL;
	}
	*cap = ncap;
	return n;
}

tide_sim *tide_sim_new(tide_time one_way_delay)
{
	tide_sim *sim = calloc(1, sizeof(*sim));
	if (!sim) {
		errno = ENOMEM;
		return NULL;
	}
	sim->delay = one_way_delay;
	return sim;
}

/* Frees p and the held packets it was to release (held packets never
 * carry followers of their own). */
static void pkt_free(struct sim_pkt *p)
{
	if (!p)
		return;
	struct sim_pkt *f = p->followers;
	while (f) {
		struct sim_pkt *fn = f->next;
		free(f);
		f = fn;
	}
	free(p);
}

void tide_sim_free(tide_sim *sim)
{
	if (!sim)
		return;
	for (int i = 0; i < sim->nnodes; i++) {
		struct sim_node *n = sim->nodes[i];
		if (n->stack)
			tide_stack_free(n->stack);
		free(n->name);
		free(n);
	}
	free(sim->nodes);
	for (size_t i = 0; i < sim->nheap; i++)
		pkt_free(sim->heap[i]);
	free(sim->heap);
	for (size_t i = 0; i < sim->nheld; i++)
		pkt_free(sim->held[i]);
	free(sim->held);
	free(sim->rules);
	free(sim->cuts);
	free(sim->randoms);
	free(sim);
}

/* ---- nodes ---------------------------------------------------------- */

static struct sim_node *node_get(const tide_sim *sim, int i)
{
	if (!sim || i < 0 || i >= sim->nnodes)
		return NULL;
	return sim->nodes[i];
}

static struct sim_node *node_add(tide_sim *sim, const char *name, uint32_t addr)
{
	if (!sim) {
		errno = EINVAL;
		return NULL;
	}
	if (tide_sim_node_by_addr(sim, addr) >= 0) {
		errno = EADDRINUSE;
		return NULL;
	}
	struct sim_node **nodes = grow(sim->nodes, &sim->nodes_cap,
				       (size_t)sim->nnodes + 1, sizeof(*nodes));
	if (!nodes)
		return NULL;
	sim->nodes = nodes;
	struct sim_node *n = calloc(1, sizeof(*n));
	char *nm = strdup(name ? name : "");
	if (!n || !nm) {
		free(n);
		free(nm);
		errno = ENOMEM;
		return NULL;
	}
	n->sim = sim;
	n->index = sim->nnodes;
	n->name = nm;
	n->addr = addr;
	sim->nodes[sim->nnodes++] = n;
	return n;
}

int tide_sim_add_node(tide_sim *sim, const char *name, uint32_t addr,
		      const struct tide_sim_node_ops *ops, void *node)
{
	if (!ops || !ops->input) {
		errno = EINVAL;
		return -1;
	}
	struct sim_node *n = node_add(sim, name, addr);
	if (!n)
		return -1;
	n->ops = *ops;
	n->ctx = node;
	return n->index;
}

static void stack_output(void *ctx, const uint8_t *pkt, size_t len)
{
	struct sim_node *n = ctx;
	tide_sim_send(n->sim, n->index, pkt, len);
}

static void stack_input(void *node, const uint8_t *pkt, size_t len, tide_time now)
{
	/* A refused packet is the stack's business: it counts the reason. */
	(void)tide_stack_input(node, pkt, len, now);
}

static void stack_advance(void *node, tide_time now)
{
	tide_stack_advance(node, now);
}

static tide_time stack_next_timer(void *node)
{
	return tide_stack_next_timer(node);
}

int tide_sim_add_stack(tide_sim *sim, const char *name, const struct tide_config *cfg)
{
	if (!sim || !cfg) {
		errno = EINVAL;
		return -1;
	}
	struct sim_node *n = node_add(sim, name, cfg->addr);
	if (!n)
		return -1;
	struct tide_config c = *cfg;
	c.output = stack_output;
	c.output_ctx = n;
	tide_stack *st = tide_stack_new(&c, sim->now);
	if (!st) {
		int e = errno;
		/* The node was the last one added: take it back. */
		sim->nnodes--;
		free(n->name);
		free(n);
		errno = e;
		return -1;
	}
	n->stack = st;
	n->ctx = st;
	n->ops.input = stack_input;
	n->ops.advance = stack_advance;
	n->ops.next_timer = stack_next_timer;
	return n->index;
}

void tide_sim_set_filter(tide_sim *sim, tide_sim_filter_fn fn, void *ctx)
{
	sim->filter = fn;
	sim->filter_ctx = ctx;
}

int tide_sim_replace_stack(tide_sim *sim, int node, const struct tide_config *cfg)
{
	if (!sim || !cfg || node < 0 || node >= sim->nnodes || !sim->nodes[node]->stack) {
		errno = EINVAL;
		return -1;
	}
	struct sim_node *n = sim->nodes[node];
	struct tide_config c = *cfg;
	c.addr = n->addr;
	c.output = stack_output;
	c.output_ctx = n;
	tide_stack *st = tide_stack_new(&c, sim->now);
	if (!st)
		return -1;
	tide_stack_free(n->stack);
	n->stack = st;
	n->ctx = st;
	return 0;
}

tide_stack *tide_sim_stack(tide_sim *sim, int node)
{
	struct sim_node *n = node_get(sim, node);
	return n ? n->stack : NULL;
}

const char *tide_sim_node_name(const tide_sim *sim, int node)
{
	struct sim_node *n = node_get(sim, node);
	return n ? n->name : NULL;
}

int tide_sim_node_count(const tide_sim *sim)
{
	return sim ? sim->nnodes : 0;
}

int tide_sim_node_by_addr(const tide_sim *sim, uint32_t addr)
{
	if (!sim)
		return -1;
	for (int i = 0; i < sim->nnodes; i++)
		if (sim->nodes[i]->addr == addr)
			return i;
	return -1;
}

/* ---- configuration -------------------------------------------------- */

void tide_sim_set_tap(tide_sim *sim, tide_sim_tap_fn fn, void *ctx)
{
	sim->tap = fn;
	sim->tap_ctx = ctx;
}

int tide_sim_add_fault(tide_sim *sim, const struct tide_fault *f)
{
	if (!sim || !f || (unsigned)f->action > TIDE_FAULT_REORDER) {
		errno = EINVAL;
		return -1;
	}
	struct sim_rule *rules = grow(sim->rules, &sim->rules_cap, sim->nrules + 1,
				      sizeof(*rules));
	if (!rules)
		return -1;
	sim->rules = rules;
	struct sim_rule *r = &sim->rules[sim->nrules];
	r->f = *f;
	/* nth is 1-based; 0 is read as "the first" rather than "never". */
	if (r->f.nth == 0)
		r->f.nth = 1;
	if (r->f.count == 0)
		r->f.count = 1;
	r->matches = 0;
	return (int)sim->nrules++;
}

#define SIM_PPM 1000000u

int tide_sim_set_random_faults(tide_sim *sim, const struct tide_sim_random_faults *rf)
{
	if (!sim || !rf || rf->from < -1 || rf->from >= sim->nnodes ||
	    rf->drop_ppm > SIM_PPM || rf->duplicate_ppm > SIM_PPM ||
	    rf->delay_ppm > SIM_PPM || (rf->delay_ppm && !rf->delay_max) ||
	    rf->dup_delay_max == TIDE_TIME_NEVER) {
		errno = EINVAL;
		return -1;
	}
	size_t i = 0;
	while (i < sim->nrandoms && sim->randoms[i].rf.from != rf->from)
		i++;
	if (i == sim->nrandoms) {
		struct sim_random *r = grow(sim->randoms, &sim->randoms_cap,
					    sim->nrandoms + 1, sizeof(*r));
		if (!r)
			return -1;
		sim->randoms = r;
		sim->nrandoms++;
	}
	sim->randoms[i].rf = *rf;
	sim->randoms[i].state = rf->seed;
	return 0;
}

int tide_sim_cut_link(tide_sim *sim, tide_time t1, tide_time t2)
{
	if (!sim || t2 < t1) {
		errno = EINVAL;
		return -1;
	}
	struct sim_cut *cuts = grow(sim->cuts, &sim->cuts_cap, sim->ncuts + 1, sizeof(*cuts));
	if (!cuts)
		return -1;
	sim->cuts = cuts;
	sim->cuts[sim->ncuts++] = (struct sim_cut){ t1, t2 };
	return 0;
}

void tide_sim_set_delay(tide_sim *sim, tide_time one_way_delay)
{
	sim->delay = one_way_delay;
}

tide_time tide_sim_now(const tide_sim *sim)
{
	return sim->now;
}

uint64_t tide_sim_count(const tide_sim *sim, enum tide_sim_event ev)
{
	if (!sim || (unsigned)ev >= SIM_NEVENTS)
		return 0;
	return sim->counts[ev];
}

/* ---- the delivery heap ---------------------------------------------- */

static bool pkt_before(const struct sim_pkt *a, const struct sim_pkt *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static int heap_push(tide_sim *sim, struct sim_pkt *p)
{
	struct sim_pkt **heap = grow(sim->heap, &sim->heap_cap, sim->nheap + 1, sizeof(*heap));
	if (!heap)
		return -1;
	sim->heap = heap;
	size_t i = sim->nheap++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!pkt_before(p, sim->heap[parent]))
			break;
		sim->heap[i] = sim->heap[parent];
		i = parent;
	}
	sim->heap[i] = p;
	return 0;
}

static struct sim_pkt *heap_pop(tide_sim *sim)
{
	struct sim_pkt *top = sim->heap[0];
	struct sim_pkt *last = sim->heap[--sim->nheap];
	size_t n = sim->nheap, i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && pkt_before(sim->heap[c + 1], sim->heap[c]))
			c++;
		if (!pkt_before(sim->heap[c], last))
			break;
		sim->heap[i] = sim->heap[c];
		i = c;
	}
	if (n > 0)
		sim->heap[i] = last;
	return top;
}

/* ---- sending -------------------------------------------------------- */

static void report(tide_sim *sim, enum tide_sim_event ev, tide_time t, int from,
		   int to, const uint8_t *pkt, size_t len)
{
	sim->counts[ev]++;
	if (sim->tap)
		sim->tap(sim->tap_ctx, ev, t, from, to, pkt, len);
}

/* The addressee is read from the header even when tide_ipv4_parse would
 * refuse the packet (bad checksum, fragment, bad lengths): a damaged packet
 * still reaches the host it was sent to, so tests can make a stack count
 * its drop reasons through the simulated network. */
static int route(const tide_sim *sim, const uint8_t *pkt, size_t len)
{
	if (len < TIDE_IPV4_HLEN || (pkt[0] >> 4) != 4)
		return -1;
	uint32_t dst = (uint32_t)pkt[16] << 24 | (uint32_t)pkt[17] << 16 |
		       (uint32_t)pkt[18] << 8 | pkt[19];
	return tide_sim_node_by_addr(sim, dst);
}

/* What the fault rules look at. */
struct sim_match {
	bool tcp;
	uint8_t flags;
	size_t payload_len;
};

static void classify(const uint8_t *pkt, size_t len, struct sim_match *m)
{
	struct tide_ipv4 ip;
	m->tcp = false;
	m->flags = 0;
	m->payload_len = len >= TIDE_IPV4_HLEN ? len - TIDE_IPV4_HLEN : 0;
	if (tide_ipv4_parse(pkt, len, &ip) != TIDE_WIRE_OK)
		return;
	m->payload_len = ip.payload_len;
	if (ip.protocol != TIDE_IPPROTO_TCP)
		return;
	struct tide_tcp tcp;
	if (tide_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, false, &tcp) ==
	    TIDE_WIRE_OK) {
		m->tcp = true;
		m->flags = tcp.flags;
		m->payload_len = tcp.payload_len;
	} else if (ip.payload_len >= TIDE_TCP_HLEN) {
		/* Malformed options: the fixed header still says what the
		 * segment is, and a rule aimed at it should still see it. */
		size_t off = (size_t)(ip.payload[12] >> 4) * 4;
		m->tcp = true;
		m->flags = ip.payload[13];
		m->payload_len = off < ip.payload_len ? ip.payload_len - off : 0;
	}
}

static bool rule_matches(const struct tide_fault *f, int from, const struct sim_match *m)
{
	if (f->from >= 0 && f->from != from)
		return false;
	if (m->tcp) {
		if ((m->flags & f->flags_mask) != f->flags_match)
			return false;
	} else if (f->flags_mask != 0) {
		return false;
	}
	if (m->payload_len < f->min_len)
		return false;
	if (f->max_len != 0 && m->payload_len > f->max_len)
		return false;
	if (f->no_payload && m->payload_len != 0)
		return false;
	return true;
}

static struct sim_pkt *pkt_new(tide_sim *sim, tide_time t, int from, int to,
			       const uint8_t *data, size_t len)
{
	struct sim_pkt *p = malloc(sizeof(*p) + len);
	if (!p)
		return NULL;
	p->t = t;
	p->seq = sim->next_seq++;
	p->from = from;
	p->to = to;
	p->followers = NULL;
	p->next = NULL;
	p->len = len;
	memcpy(p->data, data, len);
	return p;
}

/* Gives every packet held in direction from->to to p, which will release
 * them right after its own delivery. */
static void take_held(tide_sim *sim, struct sim_pkt *p)
{
	struct sim_pkt **tail = &p->followers;
	size_t keep = 0;
	for (size_t i = 0; i < sim->nheld; i++) {
		struct sim_pkt *h = sim->held[i];
		if (h->from == p->from && h->to == p->to) {
			*tail = h;
			tail = &h->next;
		} else {
			sim->held[keep++] = h;
		}
	}
	*tail = NULL;
	sim->nheld = keep;
}

/* Schedules a delivery. A packet the sim cannot store is lost, as a
 * congested router would lose it, and reported so. */
static void schedule(tide_sim *sim, tide_time t, int from, int to,
		     const uint8_t *data, size_t len, bool releases_held)
{
	struct sim_pkt *p = pkt_new(sim, t, from, to, data, len);
	if (!p || heap_push(sim, p) < 0) {
		free(p);
		report(sim, TIDE_SIM_DROPPED, sim->now, from, to, data, len);
		return;
	}
	if (releases_held)
		take_held(sim, p);
}

static void hold(tide_sim *sim, int from, int to, const uint8_t *data, size_t len)
{
	struct sim_pkt *p = pkt_new(sim, sim->now + SIM_REORDER_HOLD, from, to, data, len);
	struct sim_pkt **held = p ? grow(sim->held, &sim->held_cap, sim->nheld + 1,
					 sizeof(*held)) : NULL;
	if (!held) {
		free(p);
		report(sim, TIDE_SIM_DROPPED, sim->now, from, to, data, len);
		return;
	}
	sim->held = held;
	sim->held[sim->nheld++] = p;
}

/* splitmix64: one 64-bit word of state, good enough statistics for fault
 * draws, and the same sequence on every platform. */
static uint64_t rnd_next(struct sim_random *r)
{
	uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* No draw for 0 (and for certainty), so that a fault turned off does not
 * shift the draws of the others. */
static bool rnd_chance(struct sim_random *r, uint32_t ppm)
{
	if (ppm == 0)
		return false;
	if (ppm >= SIM_PPM)
		return true;
	return rnd_next(r) % SIM_PPM < ppm;
}

/* Uniform in [0, n]. */
static tide_time rnd_upto(struct sim_random *r, tide_time n)
{
	return n ? rnd_next(r) % (n + 1) : 0;
}

/* The node's own setting, else the one for every node, else none. */
static struct sim_random *random_for(tide_sim *sim, int from)
{
	struct sim_random *any = NULL;
	for (size_t i = 0; i < sim->nrandoms; i++) {
		struct sim_random *r = &sim->randoms[i];
		if (r->rf.from == from)
			return r;
		if (r->rf.from == -1)
			any = r;
	}
	return any;
}

static void random_faults(tide_sim *sim, struct sim_random *r, int from, int to,
			  const uint8_t *pkt, size_t len, tide_time at)
{
	const struct tide_sim_random_faults *rf = &r->rf;
	if (rnd_chance(r, rf->drop_ppm)) {
		report(sim, TIDE_SIM_DROPPED, sim->now, from, to, pkt, len);
		return;
	}
	if (rnd_chance(r, rf->delay_ppm)) {
		at += 1 + rnd_upto(r, rf->delay_max - 1);
		report(sim, TIDE_SIM_DELAYED, sim->now, from, to, pkt, len);
	}
	bool dup = rnd_chance(r, rf->duplicate_ppm);
	schedule(sim, at, from, to, pkt, len, true);
	if (dup) {
		report(sim, TIDE_SIM_DUPLICATED, sim->now, from, to, pkt, len);
		schedule(sim, at + rnd_upto(r, rf->dup_delay_max), from, to, pkt, len, false);
	}
}

static bool cut(const tide_sim *sim, tide_time t)
{
	for (size_t i = 0; i < sim->ncuts; i++)
		if (t >= sim->cuts[i].t1 && t < sim->cuts[i].t2)
			return true;
	return false;
}

void tide_sim_send(tide_sim *sim, int from, const uint8_t *pkt, size_t len)
{
	tide_time now = sim->now;
	int to = route(sim, pkt, len);

	report(sim, TIDE_SIM_SENT, now, from, to, pkt, len);
	if (to < 0) {
		report(sim, TIDE_SIM_UNROUTABLE, now, from, -1, pkt, len);
		return;
	}
	if (cut(sim, now)) {
		report(sim, TIDE_SIM_DROPPED, now, from, to, pkt, len);
		return;
	}
	if (sim->filter && sim->filter(sim->filter_ctx, now, from, to, pkt, len)) {
		report(sim, TIDE_SIM_FILTERED, now, from, to, pkt, len);
		return;
	}

	/* Every rule counts the packets it matches, whether or not an earlier
	 * rule acts on them, so a rule's nth does not depend on the others. */
	struct sim_match m;
	classify(pkt, len, &m);
	const struct tide_fault *act = NULL;
	for (size_t i = 0; i < sim->nrules; i++) {
		struct sim_rule *r = &sim->rules[i];
		if (!rule_matches(&r->f, from, &m))
			continue;
		r->matches++;
		if (!act && r->matches >= r->f.nth &&
		    r->matches - r->f.nth < r->f.count)
			act = &r->f;
	}

	tide_time at = now + sim->delay;
	if (!act) {
		struct sim_random *r = random_for(sim, from);
		if (r)
			random_faults(sim, r, from, to, pkt, len, at);
		else
			schedule(sim, at, from, to, pkt, len, true);
		return;
	}
	switch (act->action) {
	case TIDE_FAULT_DROP:
		report(sim, TIDE_SIM_DROPPED, now, from, to, pkt, len);
		break;
	case TIDE_FAULT_DUPLICATE:
		schedule(sim, at, from, to, pkt, len, true);
		report(sim, TIDE_SIM_DUPLICATED, now, from, to, pkt, len);
		schedule(sim, at + act->delay, from, to, pkt, len, false);
		break;
	case TIDE_FAULT_DELAY:
		report(sim, TIDE_SIM_DELAYED, now, from, to, pkt, len);
		schedule(sim, at + act->delay, from, to, pkt, len, true);
		break;
	case TIDE_FAULT_REORDER:
		report(sim, TIDE_SIM_DELAYED, now, from, to, pkt, len);
		hold(sim, from, to, pkt, len);
		break;
	}
}

/* ---- running -------------------------------------------------------- */

enum sim_next_kind { NEXT_NONE, NEXT_DELIVERY, NEXT_HELD, NEXT_TIMER };

struct sim_next {
	enum sim_next_kind kind;
	tide_time t;
	size_t index;             /* held index or node index */
};

static tide_time node_timer(const struct sim_node *n)
{
	return n->ops.next_timer ? n->ops.next_timer(n->ctx) : TIDE_TIME_NEVER;
}

static struct sim_next find_next(const tide_sim *sim)
{
	struct sim_next nx = { NEXT_NONE, TIDE_TIME_NEVER, 0 };
	const struct sim_pkt *best = NULL;

	if (sim->nheap > 0) {
		best = sim->heap[0];
		nx = (struct sim_next){ NEXT_DELIVERY, best->t, 0 };
	}
	for (size_t i = 0; i < sim->nheld; i++) {
		if (!best || pkt_before(sim->held[i], best)) {
			best = sim->held[i];
			nx = (struct sim_next){ NEXT_HELD, best->t, i };
		}
	}
	for (int i = 0; i < sim->nnodes; i++) {
		tide_time t = node_timer(sim->nodes[i]);
		if (t == TIDE_TIME_NEVER)
			continue;
		/* A timer already due fires now; the clock never goes back. */
		if (t < sim->now)
			t = sim->now;
		/* Strictly earlier only: deliveries win ties, lower nodes too. */
		if (t < nx.t)
			nx = (struct sim_next){ NEXT_TIMER, t, (size_t)i };
	}
	return nx;
}

tide_time tide_sim_next_event(const tide_sim *sim)
{
	return find_next(sim).t;
}

static void deliver(tide_sim *sim, struct sim_pkt *p, tide_time t)
{
	report(sim, TIDE_SIM_DELIVERED, t, p->from, p->to, p->data, p->len);
	struct sim_node *n = node_get(sim, p->to);
	if (n)
		n->ops.input(n->ctx, p->data, p->len, t);
}

static void set_clock(tide_sim *sim, tide_time t)
{
	if (t > sim->now) {
		sim->now = t;
		sim->spin_events = 0;
	}
	if (++sim->spin_events > SIM_MAX_EVENTS_PER_INSTANT) {
		fprintf(stderr,
			"tide_sim: %u events at t=%llu us without the clock moving: "
			"a node's next_timer() stays due after advance()\n",
			SIM_MAX_EVENTS_PER_INSTANT, (unsigned long long)sim->now);
		abort();
	}
}

bool tide_sim_step(tide_sim *sim)
{
	struct sim_next nx = find_next(sim);
	struct sim_pkt *p;

	switch (nx.kind) {
	case NEXT_NONE:
		return false;
	case NEXT_TIMER: {
		set_clock(sim, nx.t);
		struct sim_node *n = sim->nodes[nx.index];
		if (n->ops.advance)
			n->ops.advance(n->ctx, sim->now);
		return true;
	}
	case NEXT_HELD:
		p = sim->held[nx.index];
		memmove(&sim->held[nx.index], &sim->held[nx.index + 1],
			(sim->nheld - nx.index - 1) * sizeof(*sim->held));
		sim->nheld--;
		break;
	case NEXT_DELIVERY:
	default:
		p = heap_pop(sim);
		break;
	}

	/* p is out of every structure now, so a node's input may send (and
	 * grow the heap) while we still read p's data. */
	set_clock(sim, nx.t);
	tide_time t = sim->now;
	deliver(sim, p, t);
	struct sim_pkt *f = p->followers;
	free(p);
	while (f) {
		struct sim_pkt *fn = f->next;
		deliver(sim, f, t);
		pkt_free(f);
		f = fn;
	}
	return true;
}

void tide_sim_run_until(tide_sim *sim, tide_time t)
{
	for (;;) {
		tide_time next = tide_sim_next_event(sim);
		if (next == TIDE_TIME_NEVER || next > t)
			break;
		tide_sim_step(sim);
	}
	if (t > sim->now) {
		sim->now = t;
		sim->spin_events = 0;
	}
	/* Callers use the socket API "at t" next: each node's clock must read
	 * t, not the time of its own last event. */
	for (int i = 0; i < sim->nnodes; i++) {
		struct sim_node *n = sim->nodes[i];
		if (n->ops.advance)
			n->ops.advance(n->ctx, sim->now);
	}
}

void tide_sim_run_for(tide_sim *sim, tide_time d)
{
	tide_time t = sim->now + d;
	if (t < sim->now)
		t = TIDE_TIME_NEVER - 1;
	tide_sim_run_until(sim, t);
}

bool tide_sim_run_while_not(tide_sim *sim, bool (*pred)(void *ctx), void *ctx,
			    tide_time limit)
{
	for (;;) {
		if (pred(ctx))
			return true;
		tide_time next = tide_sim_next_event(sim);
		if (next == TIDE_TIME_NEVER && limit == TIDE_TIME_NEVER)
			return false; /* nothing can change pred any more */
		if (next == TIDE_TIME_NEVER || next > limit) {
			tide_sim_run_until(sim, limit);
			return pred(ctx);
		}
		tide_sim_step(sim);
	}
}
