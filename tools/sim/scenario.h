/*
 * A tide-sim scenario as parsed from its text (docs/scenarios.md): hosts,
 * network rules, a timeline of application actions and expectations, all
 * checked and resolved so that the runner never meets a name it does not
 * know. parse.c builds it, run.c plays it into a struct sim_model.
 */
#ifndef TIDE_SIM_SCENARIO_H
#define TIDE_SIM_SCENARIO_H

#include "model.h"

#include <tide/sim.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_NAME_MAX 32

enum sim_action_kind {
	ACT_LISTEN,       /* listen PORT [backlog N] [reuseaddr] [reuseport] as NAME */
	ACT_CONNECT,      /* connect HOST:PORT [from PORT] [reuseaddr] as NAME */
	ACT_SOCKET,       /* socket as NAME */
	ACT_BIND,         /* bind NAME PORT */
	ACT_LISTEN_ON,    /* listen NAME [N] */
	ACT_CONNECT_ON,   /* connect NAME HOST:PORT */
	ACT_ACCEPT,       /* accept LISTENER as NAME */
	ACT_SEND,         /* send NAME N [fill C] */
	ACT_RECV,         /* recv NAME [N] */
	ACT_CLOSE,
	ACT_SHUTDOWN,
	ACT_SETSOCKOPT,
	ACT_SET,          /* set KEY = VALUE */
	ACT_DIES,
	ACT_REBOOTS,
	ACT_FLOOD_SYN,    /* one SYN of a flood (a flood line makes N of them) */
};

/* What `=> RESULT` asks of a call. */
enum sim_result_kind { RES_NONE, RES_NUMBER, RES_ERRNO, RES_OK };

struct sim_result_spec {
	enum sim_result_kind kind;
	long value;               /* RES_NUMBER: the value; RES_ERRNO: the errno */
};

struct sim_action {
	tide_time t;
	int line;
	int host;
	enum sim_action_kind kind;
	int sock;                 /* socket slot acted on or created, or -1 */
	int sock2;                /* accept: the listener's slot */
	int sock_col, sock2_col;  /* where their names were written */
	uint32_t peer_addr;       /* connect/flood: the address connected to */
	uint16_t port;            /* listen/bind: local port; connect/flood: peer port */
	uint16_t from_port;       /* connect ... from PORT (0: ephemeral) */
	int backlog;              /* -1: default */
	bool reuseaddr, reuseport;
	long n;                   /* send/recv bytes (recv: -1 for all) */
	char fill;
	int how;                  /* shutdown: SHUT_RD/WR/RDWR */
	int opt_level, opt_name, nopt;
	int optval[2];
	char opt_text[24];        /* "SO_LINGER" */
	char key[64];             /* set: the setting's name */
	char value[64];
	uint32_t flood_i, flood_n; /* flood: this SYN is the i-th of n */
	uint32_t flood_seq;       /* its number among every flood's SYNs: picks
				   * its forged source */
	tide_time flood_over;
	struct sim_result_spec want;
	char text[128];           /* the action as written, for failed results */
	size_t order;             /* position in the expanded file: breaks ties */
};

enum sim_expect_kind { EXP_STATE, EXP_COUNTER, EXP_SEGMENTS, EXP_CONNS, EXP_READ };

#define SIM_COUNTER_CURR_ESTAB (-2)

struct sim_expect {
	tide_time t;              /* when at_end is false */
	bool at_end;
	int line;
	enum sim_expect_kind kind;
	int host;                 /* -1: all hosts (segments) */
	int sock;                 /* EXP_STATE, EXP_READ */
	int sock_col;
	int state;                /* EXP_STATE, EXP_CONNS */
	int counter;              /* enum tide_counter, or SIM_COUNTER_CURR_ESTAB */
	long n;
	char *read;               /* EXP_READ: the exact text (malloc'd) */
	size_t readlen;
	char text[128];           /* the line as written, from "expect" */
	size_t order;
};

enum sim_rule_kind { RULE_FAULT, RULE_CUT };

struct sim_rule {
	int line;
	enum sim_rule_kind kind;
	struct tide_fault fault;  /* RULE_FAULT */
	tide_time t1, t2;         /* RULE_CUT */
};

/* A named socket, resolved to a slot at parse time. */
struct sim_sock_name {
	int host;
	char name[SIM_NAME_MAX];
};

struct sim_host {
	char name[SIM_NAME_MAX];
	uint32_t addr;
	int line;
	bool has_isn;
	uint32_t isn;
	struct tide_settings settings;
};

struct sim_scenario {
	char file[256];           /* as shown in messages */
	char title[128];
	char about[512];
	int nhosts;
	struct sim_host hosts[SIM_MAX_HOSTS];
	tide_time delay;
	tide_time run_limit;      /* TIDE_TIME_NEVER: until nothing is left */
	tide_time middlebox_idle; /* 0: no middlebox */

	struct sim_action *actions; size_t nactions, actcap;   /* in time order */
	struct sim_expect *expects; size_t nexpects, expcap;   /* in time order, `end` last */
	struct sim_rule *rules; size_t nrules, rulecap;
	struct sim_sock_name *socks; size_t nsocks, sockcap;
};

/* Parses scenario text. `file` names it in messages ("x.tsim"). Returns 0,
 * or -1 with "file:line:col: message" in err (*sc is then empty). */
int sim_parse(const char *text, const char *file, struct sim_scenario *sc, char *err,
	      size_t errlen);
void sim_scenario_free(struct sim_scenario *sc);

/* Applies a command-line override: "HOST.KEY=VALUE" for one host, or
 * "KEY=VALUE" for every host. Returns 0, or -1 with a message in err. */
int sim_scenario_override(struct sim_scenario *sc, const char *arg, char *err, size_t errlen);

/* Parses "40ms", "1.5s", "2min", a bare number of seconds...: 0 or -1. */
int sim_parse_time(const char *s, tide_time *out);
/* "ESTABLISHED" -> TIDE_TCP_ESTABLISHED, or -1. */
int sim_state_by_name(const char *s);
/* "ECONNRESET" -> ECONNRESET and back ("E123" for one without a name). */
int sim_errno_by_name(const char *s);
const char *sim_errno_name(int err, char *buf, size_t cap);

/*
 * Plays the scenario into *m (which the caller zeroes first and frees with
 * sim_model_free). Returns 0 when the run went to its end (expectations
 * may have failed: see m->expects), or -1 when an action could not be
 * made, with "file:line: message" in err.
 */
int sim_run(const struct sim_scenario *sc, struct sim_model *m, char *err, size_t errlen);
/* How many expectations of a finished run failed. */
size_t sim_failed_expects(const struct sim_model *m);

/* The scenarios compiled in from scenarios/NAME.tsim, sorted by name. */
struct sim_builtin {
	const char *name;         /* file name without .tsim */
	const char *text;
};
const struct sim_builtin *sim_builtins(size_t *count);
/* The title line of a scenario text ("" if none), into buf. */
const char *sim_title_of(const char *text, char *buf, size_t cap);

#endif
