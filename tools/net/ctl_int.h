/*
 * Between ctl.c (the server, independent of any run loop) and ctl_loop.c
 * (its glue to tide_loop). Kept apart so that programs and tests without a
 * loop link the server without the loop's code.
 */
#ifndef TIDE_NET_CTL_INT_H
#define TIDE_NET_CTL_INT_H

#include "ctl.h"
#include <stdint.h>

/* Who watches the server's descriptors for it: the loop, or nobody
 * (tide_ctl_poll then looks at them itself). events are EPOLLIN/EPOLLOUT;
 * the driver calls tide_ctl_fd_event when one is ready. If opening fails,
 * release is not called. */
struct tide_ctl_watch {
	int (*add)(void *ctx, int fd, uint32_t events);
	void (*del)(void *ctx, int fd);
	void (*release)(void *ctx);   /* by tide_ctl_stop; may be NULL */
	void *ctx;
};

struct tide_ctl *tide_ctl_open_watched(tide_stack *st, const char *program, const char *device,
				       tide_time (*clock)(void *ctx), void *clock_ctx,
				       const struct tide_ctl_watch *watch, char *err, size_t errlen);
void tide_ctl_fd_event(struct tide_ctl *ctl, int fd, uint32_t events);

#endif
