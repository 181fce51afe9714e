/*
 * The control socket of a running tide program: how tide-ss and tide-nstat
 * see its connections and counters.
 *
 * Path: $TIDE_RUN_DIR/<program>.<pid>.sock, mode 0666 (what it tells is
 * what /proc/net/tcp tells everyone). TIDE_RUN_DIR defaults to /run/tide
 * (created 0755 if missing); if that cannot be used (not root) the socket
 * goes to /tmp/tide-<uid> (created 0700, and refused if someone else owns
 * it). The tools look in the same places (both, when TIDE_RUN_DIR is
 * unset), and skip sockets nobody listens on (a program that crashed).
 *
 * Protocol: a client connects to the Unix stream socket and writes one
 * command line ("info\n"); the server answers with text lines ending in
 * "\n" and closes. Every answer line is a list of key=value fields separated
 * by one space (values never contain spaces), so fields may be added later
 * without breaking readers; readers ignore keys they do not know.
 *
 *   info      one line:
 *             program=tide-httpd pid=1234 device=tap0 address=198.18.0.2
 *             uptime_ms=52310
 *   conns     one line per connection (listeners, SYN_RECV requests and
 *             TIME_WAIT records included), in tide_stack_foreach_conn order:
 *             state=ESTABLISHED recv_q=0 send_q=0 local=198.18.0.2:80
 *             peer=198.18.0.1:41234 timer=keepalive timer_ms=7199000
 *             retrans=0 since_ms=812 fd=5
 *             state: tide_state_name's spelling. local/peer: address and
 *             port, peer 0.0.0.0:0 for a listener. timer: the timer ss -o
 *             would show (off, on, keepalive, timewait, persist, delack:
 *             struct tide_conn_info's timer), timer_ms its remaining time
 *             (0 when off or overdue), retrans the count ss shows with it.
 *             since_ms: time spent in the current state ("-" for a
 *             listener). fd: the owning descriptor, -1 when orphaned, a
 *             SYN_RECV request or a TIME_WAIT record. A listener's recv_q
 *             is its accept queue, send_q its backlog, as in ss.
 *   counters  one line per counter, every counter including zeros, in
 *             <tide/tide.h>'s order, then CurrEstab (a gauge):
 *             name=ActiveOpens value=3
 *
 * An unknown command gets "error=unknown-command" and the connection closes.
 * The server never blocks: answers are built at once and written as the
 * client reads them; a client that does not send its command, or does not
 * read its answer, is dropped when newer clients need its slot or after
 * TIDE_CTL_CLIENT_TIMEOUT_MS without progress, whichever comes first (the
 * time is checked whenever the socket has activity, or tide_ctl_poll
 * runs).
 */
#ifndef TIDE_NET_CTL_H
#define TIDE_NET_CTL_H

#include <tide/netdev.h>
#include <tide/tide.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TIDE_CTL_DEFAULT_RUN_DIR "/run/tide"
#define TIDE_CTL_CLIENT_TIMEOUT_MS 2000

struct tide_ctl;

/* Creates the control socket for this program: a Unix stream socket at
 * $TIDE_RUN_DIR/<program>.<pid>.sock (TIDE_RUN_DIR defaults to /run/tide,
 * created 0755 if missing; falls back to /tmp/tide-<uid> if that is not
 * writable), registered with the loop (tide_loop_add_fd). NULL with errno
 * and a message on failure. */
struct tide_ctl *tide_ctl_start(tide_loop *loop, const char *program, const char *device,
				char *err, size_t errlen);
/* Removes the socket file and closes it. */
void tide_ctl_stop(struct tide_ctl *ctl);

/* --- Below: for tests and programs without a tide_loop. --- */

/* What `info` reports about the program. */
struct tide_ctl_self {
	const char *program;
	const char *device;     /* NULL: "-" */
	pid_t pid;
	tide_time started;      /* on the stack's clock */
};

/* Answers one command (with or without its "\n") about stack st at time
 * `now` (the stack's clock) into out. Returns 0, or -1 for an unknown
 * command (after writing the error line). */
int tide_ctl_handle(tide_stack *st, const struct tide_ctl_self *self, tide_time now,
		    const char *cmd, FILE *out);

/* Like tide_ctl_start for a stack without a loop: the caller drives the
 * socket with tide_ctl_poll. clock gives the stack's current time (NULL:
 * tide_stack_now). */
struct tide_ctl *tide_ctl_open(tide_stack *st, const char *program, const char *device,
			       tide_time (*clock)(void *ctx), void *clock_ctx,
			       char *err, size_t errlen);
/* Serves pending clients, waiting at most timeout_ms (0: just look) for
 * something to do. Returns 0, or -1 with errno. */
int tide_ctl_poll(struct tide_ctl *ctl, int timeout_ms);
/* The socket's path. */
const char *tide_ctl_path(const struct tide_ctl *ctl);

/* --- Client side, for tide-ss and tide-nstat. --- */

/* A socket found in a run directory: <program>.<pid>.sock. */
struct tide_ctl_entry {
	char path[108];
	char program[64];
	pid_t pid;
};

/* Lists the sockets in the run directories (TIDE_RUN_DIR if set, else
 * /run/tide and /tmp/tide-<uid>), ordered by directory then pid, without
 * trying them (stale ones are listed too). Writes where it looked ("/run/tide
 * and /tmp/tide-0") to looked. Returns the count, *out to free; -1 with
 * errno on a memory error. */
int tide_ctl_list(struct tide_ctl_entry **out, char *looked, size_t lookedlen);

/* Sends cmd to the socket at path and reads the whole answer (*answer,
 * NUL-terminated, to free) within timeout_ms. 0, or -1 with errno
 * (ECONNREFUSED or ENOENT: the program is gone; ETIMEDOUT) and a message. */
int tide_ctl_query(const char *path, const char *cmd, int timeout_ms, char **answer,
		   char *err, size_t errlen);

/* The programs a view shows: the socket `path` if not NULL, else every
 * listed socket (only pid's if pid > 0) that answers `info` (*out[i].info,
 * the answer line). Stale sockets (nobody listening) are skipped silently;
 * other failures are reported on stderr after "<tool>: ". With nothing to
 * show, prints why ("<tool>: no running tide program (looked in ...)") and
 * returns -1; else the count, *out to free with tide_ctl_targets_free. */
struct tide_ctl_target {
	struct tide_ctl_entry e;
	char *info;
};
int tide_ctl_targets(const char *tool, const char *path, pid_t pid, struct tide_ctl_target **out);
void tide_ctl_targets_free(struct tide_ctl_target *t, int n);

/* The value of `key` in an answer line ("state=LISTEN recv_q=0 ..."),
 * copied into buf (truncated to len - 1); NULL without such a key. */
const char *tide_ctl_field(const char *line, const char *key, char *buf, size_t len);

/* The directory the sockets go to: TIDE_RUN_DIR if set, else /run/tide if
 * it exists or can be created and is writable, else /tmp/tide-<uid>
 * (created). Writes the path to buf; 0, or -1 with errno and a message. */
int tide_ctl_run_dir(char *buf, size_t len, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
