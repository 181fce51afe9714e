/*
 * The 4-tuple hash (ehash) and the port table.
 *
 * The ehash is chained and grows by doubling so lookups stay O(1) from a
 * handful of connections to millions; its hash is keyed by the stack's
 * secret so a remote peer cannot aim many 4-tuples at one chain.
 */
#include "stack_int.h"

int tide_htab_init(struct tide_stack *st, struct tide_htab *t, uint32_t size)
{
	t->b = tide_mem_zalloc(st, TIDE_MEM_TABLE, (size_t)size * sizeof(*t->b));
	if (!t->b)
		return -1;
	t->mask = size - 1;
	t->n = 0;
	return 0;
}

void tide_htab_free(struct tide_stack *st, struct tide_htab *t)
{
	tide_mem_free(st, TIDE_MEM_TABLE, t->b, ((size_t)t->mask + 1) * sizeof(*t->b));
	t->b = NULL;
}

static bool key_eq(const struct tide_conn_id *a, const struct tide_conn_id *b)
{
	return a->laddr == b->laddr && a->raddr == b->raddr &&
	       a->lport == b->lport && a->rport == b->rport;
}

struct tide_hentry *tide_htab_find(struct tide_stack *st, const struct tide_conn_id *k)
{
	struct tide_htab *t = &st->ehash;
	struct tide_hentry *e = t->b[tide_hash_key(st, k) & t->mask];
	for (; e; e = e->next)
		if (key_eq(&e->key, k))
			return e;
	return NULL;
}

static void grow(struct tide_stack *st)
{
	struct tide_htab *t = &st->ehash;
	uint32_t nsize = (t->mask + 1) * 2;
	struct tide_hentry **nb = tide_mem_zalloc(st, TIDE_MEM_TABLE, (size_t)nsize * sizeof(*nb));
	if (!nb)
		return; /* keep the old table: longer chains, still correct */
	for (uint32_t i = 0; i <= t->mask; i++) {
		struct tide_hentry *e = t->b[i], *next;
		for (; e; e = next) {
			next = e->next;
			uint32_t j = tide_hash_key(st, &e->key) & (nsize - 1);
			e->next = nb[j];
			nb[j] = e;
		}
	}
	tide_mem_free(st, TIDE_MEM_TABLE, t->b, ((size_t)t->mask + 1) * sizeof(*t->b));
	t->b = nb;
	t->mask = nsize - 1;
}

int tide_htab_insert(struct tide_stack *st, struct tide_hentry *e)
{
	struct tide_htab *t = &st->ehash;
	if (t->n >= t->mask + 1)
		grow(st);
	uint32_t i = tide_hash_key(st, &e->key) & t->mask;
	e->next = t->b[i];
	t->b[i] = e;
	t->n++;
	return 0;
}

void tide_htab_remove(struct tide_stack *st, struct tide_hentry *e)
{
	struct tide_htab *t = &st->ehash;
	struct tide_hentry **pp = &t->b[tide_hash_key(st, &e->key) & t->mask];
	for (; *pp; pp = &(*pp)->next) {
		if (*pp == e) {
			*pp = e->next;
			e->next = NULL;
			t->n--;
			return;
		}
	}
}

/* Open addressing without deletion: a port, once seen, keeps its slot
 * (there are at most 65536), which keeps probing trivial. */
static uint32_t port_slot(uint16_t port, uint32_t mask)
{
	return ((uint32_t)port * 2654435761u >> 8) & mask;
}

static int ports_grow(struct tide_stack *st, struct tide_ports *p)
{
	uint32_t ncap = p->a ? (p->mask + 1) * 2 : 64;
	struct tide_port *na = tide_mem_zalloc(st, TIDE_MEM_TABLE, (size_t)ncap * sizeof(*na));
	if (!na)
		return -1;
	for (uint32_t i = 0; p->a && i <= p->mask; i++) {
		if (!p->a[i].used)
			continue;
		uint32_t j = port_slot(p->a[i].port, ncap - 1);
		while (na[j].used)
			j = (j + 1) & (ncap - 1);
		na[j] = p->a[i];
	}
	if (p->a)
		tide_mem_free(st, TIDE_MEM_TABLE, p->a, ((size_t)p->mask + 1) * sizeof(*p->a));
	p->a = na;
	p->mask = ncap - 1;
	return 0;
}

struct tide_port *tide_port_get(struct tide_stack *st, uint16_t port, bool create)
{
	struct tide_ports *p = &st->ports;
	if (p->a) {
		uint32_t j = port_slot(port, p->mask);
		while (p->a[j].used) {
			if (p->a[j].port == port)
				return &p->a[j];
			j = (j + 1) & p->mask;
		}
	}
	if (!create)
		return NULL;
	if ((!p->a || (p->n + 1) * 2 > p->mask + 1) && ports_grow(st, p) != 0)
		return NULL;
	uint32_t j = port_slot(port, p->mask);
	while (p->a[j].used)
		j = (j + 1) & p->mask;
	memset(&p->a[j], 0, sizeof(p->a[j]));
	p->a[j].used = true;
	p->a[j].port = port;
	p->n++;
	return &p->a[j];
}

void tide_ports_free(struct tide_stack *st, struct tide_ports *p)
{
	if (p->a)
		tide_mem_free(st, TIDE_MEM_TABLE, p->a, ((size_t)p->mask + 1) * sizeof(*p->a));
	p->a = NULL;
}
