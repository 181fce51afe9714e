/*
 * The control socket on a tide_loop: the loop's epoll watches the listening
 * socket and the clients, and the stack's clock is the loop's.
 */
#include "ctl_int.h"
#include <errno.h>
#include <stdlib.h>

/* The loop's callbacks need the ctl, which exists only once
 * tide_ctl_open_watched returns (it registers the listening socket before
 * that): they get this box, filled in afterwards. */
struct loop_box {
	tide_loop *loop;
	struct tide_ctl *ctl;
};

static void loop_cb(void *ctx, int fd, uint32_t events)
{
	struct loop_box *b = ctx;
	if (b->ctl)
		tide_ctl_fd_event(b->ctl, fd, events);
}

static int loop_add(void *ctx, int fd, uint32_t events)
{
	struct loop_box *b = ctx;
	return tide_loop_add_fd(b->loop, fd, events, loop_cb, b);
}

static void loop_del(void *ctx, int fd)
{
	struct loop_box *b = ctx;
	tide_loop_del_fd(b->loop, fd);
}

static tide_time loop_clock(void *ctx)
{
	(void)ctx;
	return tide_loop_clock();
}

struct tide_ctl *tide_ctl_start(tide_loop *loop, const char *program, const char *device,
				char *err, size_t errlen)
{
	struct loop_box *b = calloc(1, sizeof(*b));
	if (!b) {
		snprintf(err, errlen, "control socket: out of memory");
		errno = ENOMEM;
		return NULL;
	}
	b->loop = loop;
	struct tide_ctl_watch w = { .add = loop_add, .del = loop_del, .release = free, .ctx = b };
	b->ctl = tide_ctl_open_watched(tide_loop_stack(loop), program, device, loop_clock, NULL,
				       &w, err, errlen);
	if (!b->ctl) {
		int e = errno;
		free(b);
		errno = e;
		return NULL;
	}
	return b->ctl;
}
