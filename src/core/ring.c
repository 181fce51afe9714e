/*
 * A byte ring for socket queues. Its buffer is allocated on first use and
 * grows on demand, doubling from TIDE_RING_MIN up to the queue's limit, so
 * an idle connection costs no buffer memory, memory follows use, and bulk
 * transfers still reach their full buffer after a few doublings.
 */
#include "stack_int.h"

uint32_t tide_ring_grow_size(const struct tide_ring *r, uint32_t need, uint32_t max)
{
	if (need <= r->cap)
		return 0;
	uint32_t cap = r->cap > TIDE_RING_MIN ? r->cap : TIDE_RING_MIN;
	while (cap < need && cap < max)
		cap = cap > UINT32_MAX / 2 ? UINT32_MAX : cap * 2;
	if (cap > max)
		cap = max;
	return cap < need ? need : cap;
}

/* Moves the bytes to a buffer of exactly cap bytes (0 frees it; never less
 * than what is queued). */
int tide_ring_resize(struct tide_stack *st, struct tide_ring *r, uint32_t cap, enum tide_mem_kind k)
{
	if (cap < r->len)
		return -1;
	if (cap == r->cap)
		return 0;
	uint8_t *nb = NULL;
	if (cap) {
		nb = tide_mem_alloc(st, k, cap);
		if (!nb)
			return -1;
		tide_ring_peek(r, 0, nb, r->len);
	}
	tide_mem_free(st, k, r->buf, r->cap);
	r->buf = nb;
	r->cap = cap;
	r->head = 0;
	return 0;
}

uint32_t tide_ring_write(struct tide_ring *r, const void *data, uint32_t len)
{
	uint32_t space = r->cap - r->len;
	if (len > space)
		len = space;
	uint32_t tail = (r->head + r->len) % (r->cap ? r->cap : 1);
	uint32_t first = r->cap - tail < len ? r->cap - tail : len;
	if (first)
		memcpy(r->buf + tail, data, first);
	if (len > first)
		memcpy(r->buf, (const uint8_t *)data + first, len - first);
	r->len += len;
	return len;
}

uint32_t tide_ring_peek(const struct tide_ring *r, uint32_t off, void *out, uint32_t len)
{
	if (off >= r->len)
		return 0;
	if (len > r->len - off)
		len = r->len - off;
	uint32_t start = (r->head + off) % r->cap;
	uint32_t first = r->cap - start < len ? r->cap - start : len;
	memcpy(out, r->buf + start, first);
	if (len > first)
		memcpy((uint8_t *)out + first, r->buf, len - first);
	return len;
}

void tide_ring_drop(struct tide_ring *r, uint32_t len)
{
	if (len > r->len)
		len = r->len;
	r->len -= len;
	r->head = r->len ? (r->head + len) % r->cap : 0;
}

void tide_ring_free(struct tide_stack *st, struct tide_ring *r, enum tide_mem_kind k)
{
	tide_mem_free(st, k, r->buf, r->cap);
	memset(r, 0, sizeof(*r));
}

/* Consumed bytes; under memory pressure an emptied buffer goes back at
 * once (Linux reclaims a socket's memory as its queues empty). */
void tide_ring_consume(struct tide_stack *st, struct tide_ring *r, uint32_t len, enum tide_mem_kind k)
{
	tide_ring_drop(r, len);
	if (!r->len && r->buf && tide_mem_pressure(st))
		tide_ring_free(st, r, k);
}
