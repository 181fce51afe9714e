/*
 * A byte ring for socket queues. Buffers are allocated on first use so an
 * idle connection costs no buffer memory.
 */
#include "stack_int.h"
#include <stdlib.h>

int tide_ring_reserve(struct tide_ring *r, uint32_t cap)
{
	if (r->cap >= cap)
		return 0;
	uint8_t *nb = malloc(cap);
	if (!nb)
		return -1;
	tide_ring_peek(r, 0, nb, r->len);
	free(r->buf);
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

void tide_ring_free(struct tide_ring *r)
{
	free(r->buf);
	memset(r, 0, sizeof(*r));
}
