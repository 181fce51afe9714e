/*
 * tide-sim: plays a TCP connection-lifecycle scenario on real tide stacks
 * over the simulated network and shows what happened.
 *
 * Exit codes: 0 everything ran and every expectation held; 1 an
 * expectation failed; 2 the command line, the file or the scenario is
 * wrong (usage, missing file, syntax error, unknown setting, a call that
 * cannot be made).
 */
#include "scenario.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_FAILED 1
#define EXIT_USAGE 2

static const char help_text[] =
	"tide-sim: watch TCP connections open and close, segment by segment.\n"
	"\n"
	"tide-sim runs a scenario: two (or more) hosts, each with its own tide TCP\n"
	"stack, on a simulated network whose clock is virtual (a minute of TIME_WAIT\n"
	"takes a few milliseconds). A scenario says what the applications do and when\n"
	"(connect, send, close, die...), what the network does to some packets (lose,\n"
	"delay, duplicate them, cut the cable), and what must be true afterwards.\n"
	"tide-sim prints every segment in the style of RFC 793's figures, then how long\n"
	"each connection spent in each state.\n"
	"\n"
	"Usage:\n"
	"  tide-sim list                      the built-in scenarios, with their titles\n"
	"  tide-sim run NAME|FILE [options]   play a scenario and print its trace\n"
	"  tide-sim check NAME|FILE|all       play and report only whether every\n"
	"                                     expectation held (all: every built-in one)\n"
	"  tide-sim --help                    this text\n"
	"\n"
	"NAME is a built-in scenario (see `tide-sim list`); anything else is read as a\n"
	"scenario file.\n"
	"\n"
	"Options (run and check):\n"
	"  --set KEY=VALUE       change a stack setting on every host, by its sysctl\n"
	"                        name: --set net.ipv4.tcp_fin_timeout=30\n"
	"  --set HOST.KEY=VALUE  the same on one host: --set server.tcp_syncookies=0\n"
	"Options (run):\n"
	"  --json                print the events as JSON instead of the trace\n"
	"  --pcap FILE           write every packet to FILE, for Wireshark or tshark\n"
	"  --svg FILE            draw a sequence diagram into FILE, for a browser\n"
	"\n"
	"Examples:\n"
	"  tide-sim run four-way-close\n"
	"  tide-sim run four-way-close --pcap close.pcap --svg close.svg\n"
	"  tide-sim run lost-fin-close --set client.tcp_orphan_retries=2\n"
	"  tide-sim run my-scenario.tsim\n"
	"  tide-sim check all\n"
	"\n"
	"Exit status: 0 when every expectation held, 1 when one failed, 2 for a\n"
	"mistake in the command line or the scenario (the message names the file,\n"
	"line and column).\n"
	"\n"
	"To write your own scenario, read docs/scenarios.md; the built-in ones are in\n"
	"scenarios/ and make good starting points.\n";

static int usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "tide-sim: %s\n", msg);
	fprintf(stderr, "usage: tide-sim list\n"
			"       tide-sim run NAME|FILE [--set [HOST.]KEY=VALUE]... [--json] [--pcap FILE] [--svg FILE]\n"
			"       tide-sim check NAME|FILE|all [--set [HOST.]KEY=VALUE]...\n"
			"Try 'tide-sim --help' for more.\n");
	return EXIT_USAGE;
}

/* A scenario's text and the names it goes by. */
struct source {
	char *text;
	char file[256];           /* in messages: the path, or scenarios/NAME.tsim */
	char origin[256];         /* in the model: the path, or builtin:NAME */
	char name[128];           /* in check's lines */
	bool builtin;
};

static const struct sim_builtin *find_builtin(const char *name)
{
	size_t n;
	const struct sim_builtin *b = sim_builtins(&n);
	for (size_t i = 0; i < n; i++)
		if (strcmp(b[i].name, name) == 0)
			return &b[i];
	return NULL;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	if (!buf) {
		fclose(f);
		return NULL;
	}
	for (;;) {
		if (n + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
		size_t r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
		if (r == 0)
			break;
	}
	bool bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		return NULL;
	}
	buf[n] = 0;
	if (strlen(buf) != n) {
		free(buf);
		errno = EILSEQ;
		return NULL;
	}
	return buf;
}

static int load(const char *arg, struct source *src)
{
	memset(src, 0, sizeof(*src));
	const struct sim_builtin *b = find_builtin(arg);
	if (b) {
		src->text = strdup(b->text);
		if (!src->text)
			return -1;
		snprintf(src->file, sizeof(src->file), "scenarios/%s.tsim", b->name);
		snprintf(src->origin, sizeof(src->origin), "builtin:%s", b->name);
		snprintf(src->name, sizeof(src->name), "%s", b->name);
		src->builtin = true;
		return 0;
	}
	src->text = read_file(arg);
	if (!src->text) {
		if (errno == ENOENT || errno == ENOTDIR)
			fprintf(stderr, "tide-sim: no such scenario or file '%s' (see 'tide-sim list')\n", arg);
		else if (errno == EILSEQ)
			fprintf(stderr, "tide-sim: '%s' is not a text file\n", arg);
		else
			fprintf(stderr, "tide-sim: cannot read '%s': %s\n", arg, strerror(errno));
		return -1;
	}
	snprintf(src->file, sizeof(src->file), "%s", arg);
	snprintf(src->origin, sizeof(src->origin), "%s", arg);
	/* check's lines name a file by its base name without .tsim */
	const char *base = strrchr(arg, '/');
	base = base ? base + 1 : arg;
	snprintf(src->name, sizeof(src->name), "%s", base);
	size_t n = strlen(src->name);
	if (n > 5 && strcmp(src->name + n - 5, ".tsim") == 0)
		src->name[n - 5] = 0;
	return 0;
}

struct opts {
	const char *sets[64];
	int nsets;
	bool json;
	const char *pcap, *svg;
};

/* Parses, applies --set, runs. Returns 0 (the model is filled), or an
 * exit code after printing why not. */
static int play(const struct source *src, const struct opts *o, struct sim_model *m)
{
	struct sim_scenario sc;
	char err[512];
	if (sim_parse(src->text, src->file, &sc, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return EXIT_USAGE;
	}
	for (int i = 0; i < o->nsets; i++) {
		if (sim_scenario_override(&sc, o->sets[i], err, sizeof(err)) != 0) {
			fprintf(stderr, "tide-sim: %s\n", err);
			sim_scenario_free(&sc);
			return EXIT_USAGE;
		}
	}
	memset(m, 0, sizeof(*m));
	snprintf(m->source, sizeof(m->source), "%s", src->origin);
	int rc = sim_run(&sc, m, err, sizeof(err));
	sim_scenario_free(&sc);
	if (rc != 0) {
		fprintf(stderr, "%s\n", err);
		sim_model_free(m);
		return EXIT_USAGE;
	}
	return 0;
}

static int cmd_list(void)
{
	size_t n;
	const struct sim_builtin *b = sim_builtins(&n);
	int w = 0;
	for (size_t i = 0; i < n; i++)
		if ((int)strlen(b[i].name) > w)
			w = (int)strlen(b[i].name);
	for (size_t i = 0; i < n; i++) {
		char title[128];
		sim_title_of(b[i].text, title, sizeof(title));
		printf("%-*s  %s\n", w, b[i].name, title);
	}
	return 0;
}

static int cmd_run(const char *what, const struct opts *o)
{
	struct source src;
	if (load(what, &src) != 0)
		return EXIT_USAGE;
	struct sim_model m;
	int rc = play(&src, o, &m);
	free(src.text);
	if (rc)
		return rc;
	int out_rc = o->json ? sim_write_json(&m, stdout) : sim_write_trace(&m, stdout);
	if (out_rc != 0 || fflush(stdout) != 0) {
		fprintf(stderr, "tide-sim: cannot write the %s: %s\n", o->json ? "JSON" : "trace",
			strerror(errno));
		rc = EXIT_USAGE;
	}
	if (!rc && o->pcap && sim_write_pcap(&m, o->pcap) != 0) {
		fprintf(stderr, "tide-sim: cannot write %s: %s\n", o->pcap, strerror(errno));
		rc = EXIT_USAGE;
	}
	if (!rc && o->svg) {
		FILE *f = fopen(o->svg, "w");
		int e = 0;
		if (!f || sim_write_svg(&m, f) != 0)
			e = errno;
		if (f && fclose(f) != 0 && !e)
			e = errno;
		if (e || !f) {
			fprintf(stderr, "tide-sim: cannot write %s: %s\n", o->svg, strerror(e ? e : errno));
			rc = EXIT_USAGE;
		}
	}
	if (!rc && sim_failed_expects(&m))
		rc = EXIT_FAILED;
	sim_model_free(&m);
	return rc;
}

/* One line for one scenario; returns 0 passed, 1 failed, 2 error. */
static int check_one(const char *what, const struct opts *o)
{
	struct source src;
	if (load(what, &src) != 0)
		return EXIT_USAGE;
	struct sim_model m;
	/* play() prints its own error on stderr; check's line says which. */
	int rc = play(&src, o, &m);
	if (rc) {
		printf("ERROR %s: the scenario could not be played (see above)\n", src.name);
		free(src.text);
		return rc;
	}
	size_t failed = sim_failed_expects(&m);
	if (!failed) {
		printf("ok %s\n", src.name);
	} else {
		for (size_t i = 0; i < m.nexpects; i++) {
			const struct sim_expect_result *x = &m.expects[i];
			if (x->ok)
				continue;
			printf("FAILED %s: line %d: %s: %s", src.name, x->line, x->text, x->detail);
			if (failed > 1)
				printf(" (and %zu more)", failed - 1);
			printf("\n");
			break;
		}
	}
	free(src.text);
	sim_model_free(&m);
	return failed ? EXIT_FAILED : 0;
}

static int cmd_check(const char *what, const struct opts *o)
{
	int passed = 0, failed = 0, worst = 0;
	if (strcmp(what, "all") == 0) {
		size_t n;
		const struct sim_builtin *b = sim_builtins(&n);
		if (n == 0) {
			fprintf(stderr, "tide-sim: no built-in scenario\n");
			return EXIT_USAGE;
		}
		for (size_t i = 0; i < n; i++) {
			int rc = check_one(b[i].name, o);
			if (rc == 0)
				passed++;
			else
				failed++;
			if (rc > worst)
				worst = rc;
			fflush(stdout);
		}
	} else {
		struct source probe;
		if (load(what, &probe) != 0)
			return EXIT_USAGE;
		free(probe.text);
		worst = check_one(what, o);
		if (worst == 0)
			passed++;
		else
			failed++;
	}
	printf("%d passed, %d failed\n", passed, failed);
	return worst;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(NULL);
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		fputs(help_text, stdout);
		return 0;
	}
	if (strcmp(cmd, "list") == 0) {
		if (argc > 2)
			return usage("list takes no arguments");
		return cmd_list();
	}
	bool is_run = strcmp(cmd, "run") == 0, is_check = strcmp(cmd, "check") == 0;
	if (!is_run && !is_check) {
		char msg[160];
		snprintf(msg, sizeof(msg), "unknown command '%s'", cmd);
		return usage(msg);
	}
	struct opts o;
	memset(&o, 0, sizeof(o));
	const char *what = NULL;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		char msg[160];
		if (strcmp(a, "--set") == 0 || strncmp(a, "--set=", 6) == 0) {
			const char *v = a[5] == '=' ? a + 6 : (i + 1 < argc ? argv[++i] : NULL);
			if (!v)
				return usage("--set needs KEY=VALUE or HOST.KEY=VALUE");
			if (o.nsets == (int)(sizeof(o.sets) / sizeof(o.sets[0])))
				return usage("too many --set options");
			o.sets[o.nsets++] = v;
		} else if (is_run && strcmp(a, "--json") == 0) {
			o.json = true;
		} else if (is_run && (strcmp(a, "--pcap") == 0 || strcmp(a, "--svg") == 0)) {
			if (i + 1 >= argc) {
				snprintf(msg, sizeof(msg), "%s needs a file name", a);
				return usage(msg);
			}
			if (a[2] == 'p')
				o.pcap = argv[++i];
			else
				o.svg = argv[++i];
		} else if (a[0] == '-' && a[1]) {
			snprintf(msg, sizeof(msg), "unknown option '%s' for %s", a, cmd);
			return usage(msg);
		} else if (!what) {
			what = a;
		} else {
			snprintf(msg, sizeof(msg), "one scenario at a time ('%s' is one too many)", a);
			return usage(msg);
		}
	}
	if (!what)
		return usage(is_run ? "run needs a scenario: a built-in NAME or a FILE"
				    : "check needs a scenario: a built-in NAME, a FILE, or all");
	return is_run ? cmd_run(what, &o) : cmd_check(what, &o);
}
