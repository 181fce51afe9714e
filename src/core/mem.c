/*
 * Memory: every block the core holds is allocated here, through the
 * configured allocator, and counted by kind; and net.ipv4.tcp_mem, Linux's
 * limit on the buffer memory of all connections, with its memory pressure.
 *
 * Linux charges socket buffers in pages (sk_forward_alloc), per socket, and
 * reclaims them lazily. tide charges the bytes its queues really hold (ring
 * capacity and out-of-order segments) and rounds the stack's total up to
 * pages once: the limits mean the same, the count is closer to the truth.
 */
#include "stack_int.h"
#include <stdlib.h>

#define MEM_PAGE 4096u
/* Linux's SOCK_MIN_SNDBUF on 64-bit: 2 * (2048 + the sk_buff overhead). */
#define MEM_MIN_SNDBUF 4608u

static void *raw(const struct tide_config *cfg, void *p, size_t old_size, size_t new_size)
{
	if (cfg->alloc)
		return cfg->alloc(cfg->alloc_ctx, p, old_size, new_size);
	if (new_size == 0) {
		free(p);
		return NULL;
	}
	return realloc(p, new_size);
}

static inline void account(struct tide_stack *st, enum tide_mem_kind k, int64_t bytes, int objects)
{
	struct tide_memacct *m = &st->mem;
	m->bytes[k] += (uint64_t)bytes;
	m->objects[k] += (uint64_t)(int64_t)objects;
	m->total += (uint64_t)bytes;
	if (m->total > m->peak)
		m->peak = m->total;
	if (k >= TIDE_MEM_SNDBUF)
		m->buffers += (uint64_t)bytes;
}

uint64_t tide_mem_pages(const struct tide_stack *st)
{
	return (st->mem.buffers + MEM_PAGE - 1) / MEM_PAGE;
}

/* Linux's tcp_enter_memory_pressure / tcp_leave_memory_pressure. */
void tide_mem_enter_pressure(struct tide_stack *st)
{
	if (st->mem.pressure)
		return;
	st->mem.pressure = true;
	st->mem.pressure_since = st->now;
	TIDE_INC(st, TCPMemoryPressures);
}

static void leave_pressure(struct tide_stack *st)
{
	if (!st->mem.pressure)
		return;
	st->mem.pressure = false;
	TIDE_ADD(st, TCPMemoryPressuresChrono, (st->now - st->mem.pressure_since) / 1000u);
}

void tide_mem_reclaimed(struct tide_stack *st)
{
	/* Linux's __sk_mem_reduce_allocated: strictly below tcp_mem[0] */
	if (st->mem.pressure && tide_mem_pages(st) < (uint64_t)(uint32_t)st->set->tcp_mem_min)
		leave_pressure(st);
}

void *tide_mem_alloc(struct tide_stack *st, enum tide_mem_kind k, size_t size)
{
	void *p = raw(&st->cfg, NULL, 0, size);
	if (!p) {
		st->mem.failures++;
		return NULL;
	}
	account(st, k, (int64_t)size, 1);
	return p;
}

void *tide_mem_zalloc(struct tide_stack *st, enum tide_mem_kind k, size_t size)
{
	void *p = tide_mem_alloc(st, k, size);
	if (p)
		memset(p, 0, size);
	return p;
}

void *tide_mem_realloc(struct tide_stack *st, enum tide_mem_kind k, void *p, size_t old_size,
		       size_t new_size)
{
	if (!p)
		return tide_mem_alloc(st, k, new_size);
	void *n = raw(&st->cfg, p, old_size, new_size);
	if (!n) {
		st->mem.failures++;
		return NULL;
	}
	account(st, k, (int64_t)new_size - (int64_t)old_size, 0);
	return n;
}

void tide_mem_free(struct tide_stack *st, enum tide_mem_kind k, void *p, size_t size)
{
	if (!p)
		return;
	raw(&st->cfg, p, size, 0);
	account(st, k, -(int64_t)size, -1);
	if (k >= TIDE_MEM_SNDBUF)
		tide_mem_reclaimed(st);
}

/* The stack object is the first block and the last: it is counted in
 * itself. */
struct tide_stack *tide_mem_stack_new(const struct tide_config *cfg)
{
	struct tide_stack *st = raw(cfg, NULL, 0, sizeof(*st));
	if (!st)
		return NULL;
	memset(st, 0, sizeof(*st));
	st->cfg = *cfg;
	account(st, TIDE_MEM_STACK, (int64_t)sizeof(*st), 1);
	return st;
}

void tide_mem_stack_free(struct tide_stack *st)
{
	struct tide_config cfg = st->cfg;
	raw(&cfg, st, sizeof(*st), 0);
}

/*
 * Linux's __sk_mem_raise_allocated for a connection whose queues would
 * grow by `bytes`: below tcp_mem[0] always; above tcp_mem[1] memory
 * pressure starts; above tcp_mem[2] never; in between a connection below
 * tcp_rmem[0] (receive) or tcp_wmem[0] queued (send) may, and under
 * pressure one whose share is below the average (tcp_mem[2] / number of
 * connections) may. The caller applies Linux's forced charges (an empty
 * receive queue, tcp_wmem[0] of send queue) itself.
 */
bool tide_mem_schedule(struct tcp_conn *c, size_t bytes, int dir)
{
	struct tide_stack *st = c->st;
	const struct tide_settings *s = st->set;
	uint64_t allocated = (st->mem.buffers + bytes + MEM_PAGE - 1) / MEM_PAGE;
	if (allocated <= (uint64_t)(uint32_t)s->tcp_mem_min) {
		leave_pressure(st);
		return true;
	}
	if (allocated > (uint64_t)(uint32_t)s->tcp_mem_pressure)
		tide_mem_enter_pressure(st);
	if (allocated > (uint64_t)(uint32_t)s->tcp_mem_max)
		return false;
	if (dir == TIDE_MEM_RECV) {
		if ((uint64_t)c->rcvq.cap + c->ofo_bytes < (uint64_t)(uint32_t)s->tcp_rmem_min)
			return true;
	} else if (c->sndq.len < (uint32_t)s->tcp_wmem_min) {
		return true;
	}
	if (!st->mem.pressure)
		return true;
	/* Linux counts every TCP socket; tide its connections */
	uint64_t conns = st->mem.objects[TIDE_MEM_CONN] ? st->mem.objects[TIDE_MEM_CONN] : 1;
	uint64_t mine = ((uint64_t)c->sndq.cap + c->rcvq.cap + c->ofo_bytes + bytes + MEM_PAGE - 1) / MEM_PAGE;
	return (uint64_t)(uint32_t)s->tcp_mem_max > conns * mine;
}

bool tide_mem_orphan_oom(const struct tcp_conn *c)
{
	return c->sndq.len > MEM_MIN_SNDBUF &&
	       tide_mem_pages(c->st) > (uint64_t)(uint32_t)c->st->set->tcp_mem_max;
}

static const char *const kind_names[TIDE_MEM_KINDS] = {
	[TIDE_MEM_STACK] = "stack",
	[TIDE_MEM_TABLE] = "table",
	[TIDE_MEM_CONN] = "conn",
	[TIDE_MEM_REQ] = "req",
	[TIDE_MEM_TW] = "tw",
	[TIDE_MEM_SOCK] = "sock",
	[TIDE_MEM_EPOLL] = "epoll",
	[TIDE_MEM_EPITEM] = "epitem",
	[TIDE_MEM_SNDBUF] = "sndbuf",
	[TIDE_MEM_RCVBUF] = "rcvbuf",
	[TIDE_MEM_OFO] = "ofo",
};

const char *tide_mem_kind_name(enum tide_mem_kind k)
{
	return (unsigned)k < TIDE_MEM_KINDS ? kind_names[k] : NULL;
}

void tide_stack_mem(const tide_stack *st, struct tide_mem_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (int k = 0; k < TIDE_MEM_KINDS; k++) {
		out->bytes[k] = st->mem.bytes[k];
		out->objects[k] = st->mem.objects[k];
	}
	out->total_bytes = st->mem.total;
	out->peak_bytes = st->mem.peak;
	out->buffer_bytes = st->mem.buffers;
	out->pages = tide_mem_pages(st);
	out->failures = st->mem.failures;
	out->descriptors = st->fds.used;
	out->pressure = st->mem.pressure;
}
