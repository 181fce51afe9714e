/*
 * A binary min-heap of timers. Each connection or request has one entry,
 * keyed by the earliest of its timers, so arming a timer is a single
 * sift. Ties keep no particular order; callers that need determinism get
 * it because equal times fire in one tide_stack_advance pass.
 */
#include "stack_int.h"

static void place(struct tide_heap *h, uint32_t i, struct tide_timer *t)
{
	h->a[i] = t;
	t->idx = i;
}

static void sift_up(struct tide_heap *h, uint32_t i)
{
	struct tide_timer *t = h->a[i];
	while (i > 0) {
		uint32_t p = (i - 1) / 2;
		if (h->a[p]->when <= t->when)
			break;
		place(h, i, h->a[p]);
		i = p;
	}
	place(h, i, t);
}

static void sift_down(struct tide_heap *h, uint32_t i)
{
	struct tide_timer *t = h->a[i];
	for (;;) {
		uint32_t l = 2 * i + 1, m = i;
		tide_time best = t->when;
		if (l < h->n && h->a[l]->when < best) {
			m = l;
			best = h->a[l]->when;
		}
		if (l + 1 < h->n && h->a[l + 1]->when < best)
			m = l + 1;
		if (m == i)
			break;
		place(h, i, h->a[m]);
		i = m;
	}
	place(h, i, t);
}

static void remove_at(struct tide_heap *h, uint32_t i)
{
	struct tide_timer *last = h->a[--h->n];
	if (i == h->n)
		return;
	place(h, i, last);
	sift_up(h, i);
	sift_down(h, last->idx);
}

int tide_heap_reserve(struct tide_stack *st, struct tide_heap *h, uint32_t n)
{
	if (n <= h->cap)
		return 0;
	uint32_t ncap = h->cap ? h->cap : 64;
	while (ncap < n)
		ncap *= 2;
	struct tide_timer **na = tide_mem_realloc(st, TIDE_MEM_TABLE, h->a, (size_t)h->cap * sizeof(*na),
						  (size_t)ncap * sizeof(*na));
	if (!na)
		return -1;
	h->a = na;
	h->cap = ncap;
	return 0;
}

/* Arms (when != NEVER), moves, or disarms (when == NEVER) a timer. */
void tide_heap_set(struct tide_heap *h, struct tide_timer *t, tide_time when)
{
	bool queued = t->when != TIDE_TIME_NEVER;
	if (!queued && when == TIDE_TIME_NEVER)
		return;
	if (queued && when == TIDE_TIME_NEVER) {
		remove_at(h, t->idx);
		t->when = TIDE_TIME_NEVER;
		return;
	}
	if (!queued) {
		/* never full: every connection and request reserved its slot */
		t->when = when;
		place(h, h->n++, t);
		sift_up(h, t->idx);
		return;
	}
	tide_time old = t->when;
	t->when = when;
	if (when < old)
		sift_up(h, t->idx);
	else if (when > old)
		sift_down(h, t->idx);
}

struct tide_timer *tide_heap_top(const struct tide_heap *h)
{
	return h->n ? h->a[0] : NULL;
}

void tide_heap_free(struct tide_stack *st, struct tide_heap *h)
{
	tide_mem_free(st, TIDE_MEM_TABLE, h->a, (size_t)h->cap * sizeof(*h->a));
	h->a = NULL;
	h->n = h->cap = 0;
}
