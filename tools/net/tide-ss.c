/*
 * tide-ss: the connections of running tide programs, as `ss -tan` shows
 * the kernel's. Reads each program's control socket (ctl.h).
 *
 *   tide-ss [-tanlo] [-s] [-p] [-H] [--pid N | --socket PATH]
 *           [state NAME]... [exclude NAME]...
 */
#include "ctl.h"
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ALL_STATES 0xffeu  /* bits 1..11: Linux's state numbers */
#define ST(s) (1u << (s))

static const char *const ss_names[] = {
	[TIDE_TCP_ESTABLISHED] = "ESTAB",   [TIDE_TCP_SYN_SENT] = "SYN-SENT",
	[TIDE_TCP_SYN_RECV] = "SYN-RECV",   [TIDE_TCP_FIN_WAIT1] = "FIN-WAIT-1",
	[TIDE_TCP_FIN_WAIT2] = "FIN-WAIT-2", [TIDE_TCP_TIME_WAIT] = "TIME-WAIT",
	[TIDE_TCP_CLOSE] = "UNCONN",        [TIDE_TCP_CLOSE_WAIT] = "CLOSE-WAIT",
	[TIDE_TCP_LAST_ACK] = "LAST-ACK",   [TIDE_TCP_LISTEN] = "LISTEN",
	[TIDE_TCP_CLOSING] = "CLOSING",
};

/* The protocol spells states as tide_state_name does. */
static int state_from_wire(const char *s)
{
	for (int i = TIDE_TCP_ESTABLISHED; i <= TIDE_TCP_CLOSING; i++)
		if (!strcmp(s, tide_state_name(i)))
			return i;
	return 0;
}

/* ss's state filter names (scan_state), and its display names. */
static unsigned parse_state(const char *s)
{
	static const struct { const char *name; unsigned mask; } names[] = {
		{ "established", ST(TIDE_TCP_ESTABLISHED) }, { "estab", ST(TIDE_TCP_ESTABLISHED) },
		{ "syn-sent", ST(TIDE_TCP_SYN_SENT) },       { "syn-recv", ST(TIDE_TCP_SYN_RECV) },
		{ "syn-rcv", ST(TIDE_TCP_SYN_RECV) },        { "fin-wait-1", ST(TIDE_TCP_FIN_WAIT1) },
		{ "fin-wait-2", ST(TIDE_TCP_FIN_WAIT2) },    { "time-wait", ST(TIDE_TCP_TIME_WAIT) },
		{ "unconnected", ST(TIDE_TCP_CLOSE) },       { "unconn", ST(TIDE_TCP_CLOSE) },
		{ "close", ST(TIDE_TCP_CLOSE) },             { "closed", ST(TIDE_TCP_CLOSE) },
		{ "close-wait", ST(TIDE_TCP_CLOSE_WAIT) },   { "last-ack", ST(TIDE_TCP_LAST_ACK) },
		{ "listening", ST(TIDE_TCP_LISTEN) },        { "listen", ST(TIDE_TCP_LISTEN) },
		{ "closing", ST(TIDE_TCP_CLOSING) },         { "all", ALL_STATES },
		{ "connected", ALL_STATES & ~(ST(TIDE_TCP_CLOSE) | ST(TIDE_TCP_LISTEN)) },
		{ "synchronized", ALL_STATES & ~(ST(TIDE_TCP_CLOSE) | ST(TIDE_TCP_LISTEN) |
						 ST(TIDE_TCP_SYN_SENT)) },
		{ "bucket", ST(TIDE_TCP_SYN_RECV) | ST(TIDE_TCP_TIME_WAIT) },
		{ "big", ALL_STATES & ~(ST(TIDE_TCP_SYN_RECV) | ST(TIDE_TCP_TIME_WAIT)) },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(s, names[i].name))
			return names[i].mask;
	return 0;
}

/* ss's way of printing a remaining time (print_ms_timer, as fixed in
 * iproute2 6.11): "2min", "59sec", "9.500sec", "200ms"; nothing for 0. */
static void fmt_timer_ms(char *buf, size_t len, uint64_t ms)
{
	uint64_t min = ms / 60000, sec = ms / 1000 % 60, msec = ms % 1000;
	size_t o = 0;
	buf[0] = '\0';
	if (min) {
		msec = 0;
		o += (size_t)snprintf(buf + o, len - o, "%" PRIu64 "min", min);
		if (min > 9)
			sec = 0;
	}
	if (sec && o < len) {
		if (sec > 9)
			msec = 0;
		o += (size_t)snprintf(buf + o, len - o, "%" PRIu64 "%s", sec, msec ? "." : "sec");
	}
	if (msec && o < len)
		snprintf(buf + o, len - o, "%03" PRIu64 "%s", msec, sec ? "sec" : "ms");
}

struct row {
	int state;
	char recvq[16], sendq[16];
	char laddr[16], lport[8], raddr[16], rport[8];
	char extra[160];    /* process, timer */
};

struct opts {
	bool timers, procs, summary, no_header;
	unsigned states;
};

static void split_addr(const char *v, char *addr, size_t alen, char *port, size_t plen)
{
	const char *colon = strrchr(v, ':');
	size_t n = colon ? (size_t)(colon - v) : strlen(v);
	if (n >= alen)
		n = alen - 1;
	memcpy(addr, v, n);
	addr[n] = '\0';
	const char *p = colon ? colon + 1 : "0";
	snprintf(port, plen, "%s", strcmp(p, "0") ? p : "*");
}

/* Parses one `conns` line into a row; false if it is not one. */
static bool parse_row(const char *line, const char *program, pid_t pid, const struct opts *o,
		      struct row *r)
{
	char v[64];
	memset(r, 0, sizeof(*r));
	if (!tide_ctl_field(line, "state", v, sizeof(v)) || !(r->state = state_from_wire(v)))
		return false;
	if (!tide_ctl_field(line, "recv_q", r->recvq, sizeof(r->recvq)))
		snprintf(r->recvq, sizeof(r->recvq), "0");
	if (!tide_ctl_field(line, "send_q", r->sendq, sizeof(r->sendq)))
		snprintf(r->sendq, sizeof(r->sendq), "0");
	if (!tide_ctl_field(line, "local", v, sizeof(v)))
		snprintf(v, sizeof(v), "0.0.0.0:0");
	split_addr(v, r->laddr, sizeof(r->laddr), r->lport, sizeof(r->lport));
	if (!tide_ctl_field(line, "peer", v, sizeof(v)))
		snprintf(v, sizeof(v), "0.0.0.0:0");
	split_addr(v, r->raddr, sizeof(r->raddr), r->rport, sizeof(r->rport));
	size_t x = 0;
	char fd[16];
	if (o->procs && tide_ctl_field(line, "fd", fd, sizeof(fd)) && strcmp(fd, "-1"))
		x += (size_t)snprintf(r->extra + x, sizeof(r->extra) - x, " users:((\"%s\",pid=%ld,fd=%s))",
				      program, (long)pid, fd);
	char timer[16], ms[24], retrans[16];
	if (o->timers && tide_ctl_field(line, "timer", timer, sizeof(timer)) && strcmp(timer, "off") &&
	    x < sizeof(r->extra)) {
		char left[32];
		fmt_timer_ms(left, sizeof(left),
			     tide_ctl_field(line, "timer_ms", ms, sizeof(ms)) ? strtoull(ms, NULL, 10) : 0);
		if (!tide_ctl_field(line, "retrans", retrans, sizeof(retrans)))
			snprintf(retrans, sizeof(retrans), "0");
		snprintf(r->extra + x, sizeof(r->extra) - x, " timer:(%s,%s,%s)", timer, left, retrans);
	}
	return true;
}

static int imax(int a, int b) { return a > b ? a : b; }

static void print_table(const struct row *rows, size_t n, const struct opts *o)
{
	int ws = 5, wr = 6, wsq = 6, wla = 13, wlp = 4, wra = 12, wrp = 4;
	for (size_t i = 0; i < n; i++) {
		ws = imax(ws, (int)strlen(ss_names[rows[i].state]));
		wr = imax(wr, (int)strlen(rows[i].recvq));
		wsq = imax(wsq, (int)strlen(rows[i].sendq));
		wla = imax(wla, (int)strlen(rows[i].laddr));
		wlp = imax(wlp, (int)strlen(rows[i].lport));
		wra = imax(wra, (int)strlen(rows[i].raddr));
		wrp = imax(wrp, (int)strlen(rows[i].rport));
	}
	if (!o->no_header) {
		printf("%-*s %-*s %-*s %*s:%-*s %*s:", ws, "State", wr, "Recv-Q", wsq, "Send-Q", wla,
		       "Local Address", wlp, "Port", wra, "Peer Address");
		if (o->procs)
			printf("%-*s Process\n", wrp, "Port");
		else
			printf("Port\n");
	}
	for (size_t i = 0; i < n; i++) {
		const struct row *r = &rows[i];
		/* the peer's port ends the line unless something follows it */
		if (r->extra[0])
			printf("%-*s %-*s %-*s %*s:%-*s %*s:%-*s%s\n", ws, ss_names[r->state], wr, r->recvq,
			       wsq, r->sendq, wla, r->laddr, wlp, r->lport, wra, r->raddr, wrp, r->rport,
			       r->extra);
		else
			printf("%-*s %-*s %-*s %*s:%-*s %*s:%s\n", ws, ss_names[r->state], wr, r->recvq,
			       wsq, r->sendq, wla, r->laddr, wlp, r->lport, wra, r->raddr, r->rport);
	}
}

static void print_summary(const char *answer)
{
	unsigned count[TIDE_TCP_CLOSING + 1] = { 0 };
	unsigned total = 0, orphaned = 0, tw = 0;
	char v[64], fd[16], timer[16];
	for (const char *line = answer; *line;) {
		int s = tide_ctl_field(line, "state", v, sizeof(v)) ? state_from_wire(v) : 0;
		if (s) {
			count[s]++;
			total++;
			bool record = tide_ctl_field(line, "timer", timer, sizeof(timer)) &&
				      !strcmp(timer, "timewait");
			if (record)
				tw++;
			else if (tide_ctl_field(line, "fd", fd, sizeof(fd)) && !strcmp(fd, "-1") &&
				 s != TIDE_TCP_SYN_RECV && s != TIDE_TCP_LISTEN)
				orphaned++;
		}
		const char *nl = strchr(line, '\n');
		line = nl ? nl + 1 : line + strlen(line);
	}
	/* estab is CurrEstab, as in ss -s: ESTABLISHED and CLOSE_WAIT */
	printf("TCP:   %u (estab %u, closed %u, orphaned %u, timewait %u)\n\n", total,
	       count[TIDE_TCP_ESTABLISHED] + count[TIDE_TCP_CLOSE_WAIT], count[TIDE_TCP_CLOSE], orphaned,
	       tw);
	printf("%-11s %s\n", "State", "Count");
	for (int s = TIDE_TCP_ESTABLISHED; s <= TIDE_TCP_CLOSING; s++)
		printf("%-11s %u\n", ss_names[s], count[s]);
}

static void print_program_line(const struct tide_ctl_target *t)
{
	char dev[64], addr[32];
	if (!tide_ctl_field(t->info, "device", dev, sizeof(dev)))
		snprintf(dev, sizeof(dev), "-");
	if (!tide_ctl_field(t->info, "address", addr, sizeof(addr)))
		snprintf(addr, sizeof(addr), "-");
	printf("# %s pid %ld device %s address %s\n", t->e.program, (long)t->e.pid, dev, addr);
}

/* One program: 0, 1 if it is gone or failed (reported). */
static int show(const struct tide_ctl_target *t, const struct opts *o, bool first)
{
	char *answer, err[256];
	if (tide_ctl_query(t->e.path, "conns", 3000, &answer, err, sizeof(err)) < 0) {
		if (errno == ECONNREFUSED || errno == ENOENT)
			return 0; /* exited since it answered `info` */
		fprintf(stderr, "tide-ss: %s\n", err);
		return 1;
	}
	if (!o->no_header) {
		if (!first)
			printf("\n");
		print_program_line(t);
	}
	if (o->summary) {
		print_summary(answer);
		free(answer);
		return 0;
	}
	size_t n = 0, cap = 0;
	struct row *rows = NULL;
	for (const char *line = answer; *line;) {
		struct row r;
		if (parse_row(line, t->e.program, t->e.pid, o, &r) && (o->states & ST(r.state))) {
			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				struct row *nr = realloc(rows, cap * sizeof(*nr));
				if (!nr) {
					fprintf(stderr, "tide-ss: out of memory\n");
					free(rows);
					free(answer);
					return 1;
				}
				rows = nr;
			}
			rows[n++] = r;
		}
		const char *nl = strchr(line, '\n');
		line = nl ? nl + 1 : line + strlen(line);
	}
	print_table(rows, n, o);
	free(rows);
	free(answer);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: tide-ss [-tanlo] [-s] [-p] [-H] [--pid N | --socket PATH]\n"
		"               [state NAME]... [exclude NAME]...\n"
		"Connections of running tide programs, like ss -tan.\n"
		"  -t, -n, -4     accepted (tide-ss shows TCP over IPv4, numerically)\n"
		"  -a             all states (default: connected ones, as ss)\n"
		"  -l             listening sockets only\n"
		"  -o             timers: timer:(on,200ms,0)\n"
		"  -s             counts per state\n"
		"  -p             the owning program and descriptor\n"
		"  -H             no header lines\n"
		"  --pid N        only the program with this pid\n"
		"  --socket PATH  only the program on this control socket\n"
		"  state NAME     only this state (established, syn-sent, syn-recv, fin-wait-1,\n"
		"                 fin-wait-2, time-wait, closed, close-wait, last-ack, listening,\n"
		"                 closing, all, connected, synchronized, bucket, big)\n"
		"  exclude NAME   all but this state\n"
		"Control sockets are found in $TIDE_RUN_DIR, else /run/tide and /tmp/tide-<uid>.\n");
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	bool all = false, listening = false;
	long pid = 0;
	const char *sock = NULL;
	enum { OPT_PID = 256, OPT_SOCKET };
	static const struct option longs[] = {
		{ "tcp", no_argument, NULL, 't' },        { "all", no_argument, NULL, 'a' },
		{ "numeric", no_argument, NULL, 'n' },    { "listening", no_argument, NULL, 'l' },
		{ "options", no_argument, NULL, 'o' },    { "summary", no_argument, NULL, 's' },
		{ "processes", no_argument, NULL, 'p' },  { "no-header", no_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },       { "pid", required_argument, NULL, OPT_PID },
		{ "socket", required_argument, NULL, OPT_SOCKET }, { NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "+tan4losHph", longs, NULL)) != -1) {
		switch (c) {
		case 't': case 'n': case '4': break;
		case 'a': all = true; break;
		case 'l': listening = true; break;
		case 'o': o.timers = true; break;
		case 's': o.summary = true; break;
		case 'p': o.procs = true; break;
		case 'H': o.no_header = true; break;
		case 'h': usage(stdout); return 0;
		case OPT_PID: {
			char *end;
			pid = strtol(optarg, &end, 10);
			if (*end || pid <= 0) {
				fprintf(stderr, "tide-ss: bad pid '%s'\n", optarg);
				return 2;
			}
			break;
		}
		case OPT_SOCKET: sock = optarg; break;
		default: usage(stderr); return 2;
		}
	}
	unsigned want = 0, exclude = 0;
	for (int i = optind; i < argc; i++) {
		bool ex = !strcmp(argv[i], "exclude") || !strcmp(argv[i], "excl");
		if ((strcmp(argv[i], "state") && !ex) || i + 1 >= argc) {
			fprintf(stderr, "tide-ss: unknown filter '%s' (only state and exclude)\n", argv[i]);
			return 2;
		}
		unsigned m = parse_state(argv[++i]);
		if (!m) {
			fprintf(stderr, "tide-ss: wrong state name: %s\n", argv[i]);
			return 2;
		}
		if (ex)
			exclude |= m;
		else
			want |= m;
	}
	/* as ss: without -a or -l, only connections that are going on */
	if (want)
		o.states = want;
	else if (all)
		o.states = ALL_STATES;
	else if (listening)
		o.states = ST(TIDE_TCP_LISTEN);
	else if (exclude)
		o.states = ALL_STATES;
	else
		o.states = ALL_STATES & ~(ST(TIDE_TCP_LISTEN) | ST(TIDE_TCP_CLOSE) |
					  ST(TIDE_TCP_TIME_WAIT) | ST(TIDE_TCP_SYN_RECV));
	o.states &= ~exclude;

	struct tide_ctl_target *t;
	int n = tide_ctl_targets("tide-ss", sock, (pid_t)pid, &t);
	if (n < 0)
		return 1;
	int rc = 0;
	for (int i = 0; i < n; i++)
		rc |= show(&t[i], &o, i == 0);
	tide_ctl_targets_free(t, n);
	return rc;
}
