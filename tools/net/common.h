/*
 * What every program on tide shares: the command line for the device, the
 * stack's address and its settings, and the set-up and tear-down of the
 * device, the run loop, the control socket and the signals.
 *
 * A program fills a struct tide_app with tide_app_init, walks its argv
 * with tide_app_common_option (then its own options, with tide_app_opt),
 * calls tide_app_start, creates its sockets on app->st, sets a tick with
 * tide_loop_set_tick, and calls tide_app_run. SIGINT and SIGTERM stop the
 * loop (app->signo says which); tide_app_finish then removes the control
 * socket and closes the device.
 *
 * Exit codes: 2 for a usage error (a bad option, an unknown setting or a
 * bad value), 1 for a runtime error (the device cannot be opened, ...).
 */
#ifndef TIDE_TOOLS_COMMON_H
#define TIDE_TOOLS_COMMON_H

#include <tide/netdev.h>
#include <tide/socket.h>
#include <tide/tide.h>
#include <stdbool.h>
#include <stdint.h>

struct tide_ctl;

struct tide_app {
	const char *prog;
	/* from the command line */
	enum tide_netdev_kind kind;
	const char *ifname;
	uint32_t addr;           /* host byte order; 0 until --addr */
	uint8_t prefix_len;
	uint32_t gateway;
	bool quiet;
	struct tide_config cfg;  /* --set and --settings land in cfg.settings */
	/* optional, set before tide_app_start: told of every state change */
	tide_state_fn on_state;
	void *state_ctx;
	/* set by tide_app_start */
	tide_netdev *dev;
	tide_loop *loop;
	tide_stack *st;
	struct tide_ctl *ctl;
	int sigfd;
	int signo;               /* the signal that stopped the loop, or 0 */
};

/* The common options, for each program's --help. */
extern const char tide_app_common_help[];

void tide_app_init(struct tide_app *app, const char *prog);

/*
 * If argv[*i] is a common option, applies it, moves *i to its last word
 * and returns true; otherwise returns false. Exits 2 on a bad value (an
 * unknown setting, a value out of range: the settings API's message).
 */
bool tide_app_common_option(struct tide_app *app, int argc, char **argv, int *i);

/*
 * True if argv[*i] is "--name VALUE" or "--name=VALUE" (*val set, *i moved
 * to the value's word). Exits 2 if the value is missing.
 */
bool tide_app_opt(struct tide_app *app, int argc, char **argv, int *i, const char *name,
		  const char **val);

/* An integer option's value in [min, max], or exit 2 naming the option. */
long tide_app_int(struct tide_app *app, const char *opt, const char *val, long min, long max);

/* "prog: message" and "Try 'prog --help'." on stderr, then exit 2. */
void tide_app_usage_error(struct tide_app *app, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/* "prog: message" on stderr, then exit 1 (after tide_app_finish). */
void tide_app_fatal(struct tide_app *app, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));

/* "prog: message" on stderr unless --quiet. */
void tide_app_log(struct tide_app *app, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Exits 2 if --addr was not given. Opens the device, creates the stack and
 * its loop, starts the control socket and takes over SIGINT and SIGTERM;
 * exits 1 with the cause on failure. */
void tide_app_start(struct tide_app *app);

/* Runs the loop until tide_loop_stop or a signal. Returns 0, or 1 after
 * printing the device error. */
int tide_app_run(struct tide_app *app);

/* Stops the control socket, frees the loop (and the stack with every
 * socket left), closes the device. Safe to call twice. */
void tide_app_finish(struct tide_app *app);

/* "198.18.0.1:80" (buf of at least 22 bytes). */
const char *tide_app_addr_str(const struct sockaddr_in *sin, char *buf, size_t len);

#endif
