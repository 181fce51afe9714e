/*
 * The automatic invariant checks of debug builds (TIDE_INVARIANTS): every
 * public entry point that changes a stack opens a scope; when the outermost
 * scope ends (whatever path the function returns by) the objects the call
 * touched are checked, and every so often the whole stack (see
 * invariants.c for the schedule). A broken invariant aborts with its
 * message. Without TIDE_INVARIANTS the scopes compile to nothing; the full
 * check, tide_stack_check, exists in every build.
 */
#ifndef TIDE_INVARIANTS_H
#define TIDE_INVARIANTS_H

#include "stack_int.h"

struct tide_inv_scope {
	struct tide_stack *st;
	const char *call;          /* "tide_send", for the abort message */
	const uint8_t *pkt;        /* tide_stack_input's packet: its 4-tuple was touched */
	size_t len;
	int fd;                    /* the descriptor a socket call named, or -1 */
};

struct tide_inv_scope tide_inv_enter(struct tide_stack *st, const char *call, const uint8_t *pkt,
				     size_t len, int fd);
void tide_inv_leave(struct tide_inv_scope *s);

#ifdef TIDE_INVARIANTS
/* A cleanup variable rather than a call before each return: the socket
 * calls have dozens of return paths, and a check missed on one of them
 * would be a hole nobody sees. */
#define TIDE_INV_SCOPE(st, call, pkt, len, fd)                                             \
	struct tide_inv_scope tide_inv_scope_ __attribute__((cleanup(tide_inv_leave), unused)) = \
		tide_inv_enter((st), (call), (pkt), (len), (fd))
#else
#define TIDE_INV_SCOPE(st, call, pkt, len, fd) ((void)0)
#endif

#endif
