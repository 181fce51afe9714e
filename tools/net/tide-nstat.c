/*
 * tide-nstat: the counters of running tide programs under the names
 * `nstat -az` gives Linux's (IpInReceives, IcmpInEchos, TcpActiveOpens,
 * TcpExtTW...), in nstat's layout. Counters Linux has no name for (why
 * inbound packets were dropped) are shown in a Tide group:
 * TideDropTcpChecksum...
 *
 *   tide-nstat [-a] [-z] [--pid N | --socket PATH] [PATTERN...]
 *
 * Values are always absolute (tide keeps no history file); -a is accepted
 * for nstat's habit. PATTERNs are shell globs on the names, as nstat's.
 */
#include "ctl.h"
#include <errno.h>
#include <fnmatch.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Linux's Tcp: group (/proc/net/snmp); the rest of tide's TCP counters
 * are TcpExt (/proc/net/netstat). */
static const char *const tcp_mib[] = {
	"ActiveOpens", "PassiveOpens", "AttemptFails", "EstabResets", "CurrEstab",
	"InSegs", "OutSegs", "RetransSegs", "InErrs", "OutRsts", "InCsumErrors",
};

/* nstat's name for a tide counter; NULL for one nstat hides (CurrEstab,
 * one of its "useless numbers"). */
static const char *nstat_name(const char *name, char *buf, size_t len)
{
	if (!strcmp(name, "CurrEstab"))
		return NULL;
	if (!strncmp(name, "Ip", 2) || !strncmp(name, "Icmp", 4)) {
		snprintf(buf, len, "%s", name);
		return buf;
	}
	if (!strncmp(name, "Drop", 4)) {
		snprintf(buf, len, "Tide%s", name);
		return buf;
	}
	for (size_t i = 0; i < sizeof(tcp_mib) / sizeof(tcp_mib[0]); i++) {
		if (!strcmp(name, tcp_mib[i])) {
			snprintf(buf, len, "Tcp%s", name);
			return buf;
		}
	}
	snprintf(buf, len, "TcpExt%s", name);
	return buf;
}

/* nstat's order: /proc/net/snmp's groups (Ip, Icmp, Tcp), then
 * /proc/net/netstat's (TcpExt); tide's own last. */
#define NGROUPS 5
static int group_of(const char *nstat)
{
	if (!strncmp(nstat, "Ip", 2))
		return 0;
	if (!strncmp(nstat, "Icmp", 4))
		return 1;
	if (!strncmp(nstat, "TcpExt", 6))
		return 3;
	if (!strncmp(nstat, "Tcp", 3))
		return 2;
	return 4;
}

static bool wanted(const char *name, char **patterns, int npat)
{
	if (npat == 0)
		return true;
	for (int i = 0; i < npat; i++)
		if (fnmatch(patterns[i], name, FNM_CASEFOLD) == 0)
			return true;
	return false;
}

static int show(const struct tide_ctl_target *t, bool zeros, char **patterns, int npat)
{
	char *answer, err[256];
	if (tide_ctl_query(t->e.path, "counters", 3000, &answer, err, sizeof(err)) < 0) {
		if (errno == ECONNREFUSED || errno == ENOENT)
			return 0; /* exited since it answered `info` */
		fprintf(stderr, "tide-nstat: %s\n", err);
		return 1;
	}
	char dev[64];
	if (!tide_ctl_field(t->info, "device", dev, sizeof(dev)))
		snprintf(dev, sizeof(dev), "-");
	/* nstat's "#kernel" line names the source: here, the program */
	printf("#%s pid %ld device %s\n", t->e.program, (long)t->e.pid, dev);
	/* one pass per group keeps tide's order within each */
	for (int g = 0; g < NGROUPS; g++) {
		for (const char *line = answer; *line;) {
			char name[64], value[32], nbuf[80];
			const char *nn;
			if (tide_ctl_field(line, "name", name, sizeof(name)) &&
			    tide_ctl_field(line, "value", value, sizeof(value)) &&
			    (nn = nstat_name(name, nbuf, sizeof(nbuf))) && group_of(nn) == g) {
				unsigned long long v = strtoull(value, NULL, 10);
				if ((v || zeros) && wanted(nn, patterns, npat))
					printf("%-32s%-16llu%6.1f\n", nn, v, 0.0);
			}
			const char *nl = strchr(line, '\n');
			line = nl ? nl + 1 : line + strlen(line);
		}
	}
	free(answer);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: tide-nstat [-a] [-z] [--pid N | --socket PATH] [PATTERN...]\n"
		"Counters of running tide programs under Linux's names, like nstat -az.\n"
		"  -a             absolute values (always: tide-nstat keeps no history)\n"
		"  -z             show zeros too\n"
		"  -s, -n         accepted (no history to update)\n"
		"  --pid N        only the program with this pid\n"
		"  --socket PATH  only the program on this control socket\n"
		"  PATTERN        only counters whose name matches (shell glob)\n"
		"Control sockets are found in $TIDE_RUN_DIR, else /run/tide and /tmp/tide-<uid>.\n");
}

int main(int argc, char **argv)
{
	bool zeros = false;
	long pid = 0;
	const char *sock = NULL;
	enum { OPT_PID = 256, OPT_SOCKET };
	static const struct option longs[] = {
		{ "absolute", no_argument, NULL, 'a' }, { "zeros", no_argument, NULL, 'z' },
		{ "help", no_argument, NULL, 'h' },     { "pid", required_argument, NULL, OPT_PID },
		{ "socket", required_argument, NULL, OPT_SOCKET }, { NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "azsnh", longs, NULL)) != -1) {
		switch (c) {
		case 'a': case 's': case 'n': break;
		case 'z': zeros = true; break;
		case 'h': usage(stdout); return 0;
		case OPT_PID: {
			char *end;
			pid = strtol(optarg, &end, 10);
			if (*end || pid <= 0) {
				fprintf(stderr, "tide-nstat: bad pid '%s'\n", optarg);
				return 2;
			}
			break;
		}
		case OPT_SOCKET: sock = optarg; break;
		default: usage(stderr); return 2;
		}
	}
	struct tide_ctl_target *t;
	int n = tide_ctl_targets("tide-nstat", sock, (pid_t)pid, &t);
	if (n < 0)
		return 1;
	int rc = 0;
	for (int i = 0; i < n; i++)
		rc |= show(&t[i], zeros, argv + optind, argc - optind);
	tide_ctl_targets_free(t, n);
	return rc;
}
