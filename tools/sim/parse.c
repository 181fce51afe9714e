/*
 * The scenario parser (docs/scenarios.md is the format's specification).
 *
 * Every mistake is reported at its file, line and column with what was
 * expected, because the person reading the message is writing their first
 * scenario. Everything the runner needs is resolved here: host names to
 * indexes, socket names to slots (and checked to exist by the time they
 * are used), settings checked against the registry, repeat blocks and
 * floods expanded into plain timeline entries sorted by time.
 */
#include "scenario.h"

#include <tide/settings.h>
#include <tide/socket.h>
#include <tide/wire.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOKENS 64
/* Enough for "10,000 short connections", small enough that a typo in a
 * repeat count does not eat the machine. */
#define MAX_TIMELINE 500000u
/* One SYN per forged address of 198.19.0.0/16. */
#define MAX_FLOOD 65534u

/* A line split into words. Strings live in `arena`; cols are 1-based
 * columns in the original line (so messages point at what was written
 * even after {i} was replaced). */
struct toks {
	int n;
	char *s[MAX_TOKENS];
	int col[MAX_TOKENS];
	size_t off[MAX_TOKENS];   /* byte offset of each word in the line */
	size_t end;               /* where the line's text ends (comment excluded) */
	char *arena;
};

struct pset {                     /* a `set HOST KEY = VALUE` declaration */
	int host;                 /* -1: every host */
	int line;
	char key[64];
	char value[128];
};

struct block_line {
	char *text;
	int line;
};

struct parser {
	struct sim_scenario *sc;
	const char *file;
	char *err;
	size_t errlen;
	bool failed;
	int line;
	const char *raw;          /* the current line as written */
	tide_time prev_at;        /* time of the previous `at` line */
	size_t order;
	uint32_t flood_seq;

	struct pset *sets;
	size_t nsets, setcap;

	int *slot_hash;           /* open addressing over sc->socks, -1 empty */
	size_t slot_hcap;
};

/* ---- small helpers -------------------------------------------------- */

static int perr(struct parser *P, int col, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int perr(struct parser *P, int col, const char *fmt, ...)
{
	if (P->failed)
		return -1;
	P->failed = true;
	char msg[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(P->err, P->errlen, "%s:%d:%d: %s", P->file, P->line, col > 0 ? col : 1, msg);
	return -1;
}

static void *grow(void *arr, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return arr;
	size_t ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	void *n = realloc(arr, ncap * size);
	if (!n) {
		fprintf(stderr, "tide-sim: out of memory\n");
		exit(2);
	}
	*cap = ncap;
	return n;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static void snprintf_trunc(char *dst, size_t cap, const char *src, size_t len)
{
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, src, len);
	dst[len] = 0;
}

/* Splits a line into words; '#' outside quotes starts a comment, "..." is
 * one word (quotes kept, so `read = ""` can be told from nothing). */
static int tokenize(struct parser *P, const char *line, struct toks *t)
{
	size_t len = strlen(line);
	t->n = 0;
	t->arena = malloc(len * 2 + 2);
	if (!t->arena) {
		fprintf(stderr, "tide-sim: out of memory\n");
		exit(2);
	}
	char *a = t->arena;
	size_t i = 0;
	t->end = len;
	while (i < len) {
		while (i < len && is_blank(line[i]))
			i++;
		if (i >= len)
			break;
		if (line[i] == '#') {
			t->end = i;
			break;
		}
		if (t->n == MAX_TOKENS)
			return perr(P, (int)i + 1, "too many words on one line (at most %d)", MAX_TOKENS);
		size_t start = i;
		if (line[i] == '"') {
			i++;
			while (i < len && line[i] != '"')
				i++;
			if (i >= len)
				return perr(P, (int)start + 1, "missing closing '\"'");
			i++;
		} else {
			while (i < len && !is_blank(line[i]) && line[i] != '#')
				i++;
		}
		t->s[t->n] = a;
		t->col[t->n] = (int)start + 1;
		t->off[t->n] = start;
		memcpy(a, line + start, i - start);
		a += i - start;
		*a++ = 0;
		t->n++;
	}
	while (t->end > 0 && is_blank(line[t->end - 1]))
		t->end--;
	return 0;
}

static void toks_free(struct toks *t)
{
	free(t->arena);
	t->arena = NULL;
}

/* The same words with every "{i}" replaced by the round number. */
static void toks_subst(const struct toks *in, struct toks *out, unsigned round)
{
	char num[16];
	int nl = snprintf(num, sizeof(num), "%u", round);
	size_t total = 0;
	for (int k = 0; k < in->n; k++)
		total += strlen(in->s[k]) * ((size_t)nl + 1) + 1;
	*out = *in;
	out->arena = malloc(total + 1);
	if (!out->arena) {
		fprintf(stderr, "tide-sim: out of memory\n");
		exit(2);
	}
	char *a = out->arena;
	for (int k = 0; k < in->n; k++) {
		out->s[k] = a;
		for (const char *p = in->s[k]; *p;) {
			if (strncmp(p, "{i}", 3) == 0) {
				memcpy(a, num, (size_t)nl);
				a += nl;
				p += 3;
			} else {
				*a++ = *p++;
			}
		}
		*a++ = 0;
	}
}

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	if (!isdigit((unsigned char)*s))
		return false;
	uint64_t v = 0;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return false;
		uint64_t d = (uint64_t)(*s - '0');
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

int sim_parse_time(const char *s, tide_time *out)
{
	uint64_t mant = 0, scale = 1;
	bool digits = false, dot = false;
	const char *p = s;
	for (; *p; p++) {
		if (isdigit((unsigned char)*p)) {
			if (mant > UINT64_C(100000000000000))
				return -1;
			mant = mant * 10 + (uint64_t)(*p - '0');
			if (dot) {
				if (scale >= UINT64_C(1000000000))
					return -1;
				scale *= 10;
			}
			digits = true;
		} else if (*p == '.' && !dot) {
			dot = true;
		} else {
			break;
		}
	}
	if (!digits)
		return -1;
	uint64_t unit;
	if (*p == 0 || strcmp(p, "s") == 0)
		unit = 1000000;
	else if (strcmp(p, "us") == 0)
		unit = 1;
	else if (strcmp(p, "ms") == 0)
		unit = 1000;
	else if (strcmp(p, "min") == 0)
		unit = 60000000;
	else if (strcmp(p, "h") == 0)
		unit = UINT64_C(3600000000);
	else
		return -1;
	/* Exact arithmetic: 1.5s is 1500000 us, and 0.3us is refused rather
	 * than silently rounded. */
	if (mant > UINT64_MAX / unit)
		return -1;
	uint64_t us = mant * unit;
	if (us % scale)
		return -1;
	*out = us / scale;
	return 0;
}

static const char *fmt_time(char *buf, size_t cap, tide_time t)
{
	snprintf(buf, cap, "%" PRIu64 ".%03" PRIu64 " ms", t / 1000, t % 1000);
	return buf;
}

static int need_time(struct parser *P, const struct toks *t, int k, tide_time *out)
{
	if (k >= t->n)
		return perr(P, (int)t->end + 1, "expected a time (250us, 40ms, 1.5s, 2min, 1h)");
	if (sim_parse_time(t->s[k], out) != 0)
		return perr(P, t->col[k], "bad time '%s' (use 250us, 40ms, 1.5s, 2min, 1h or a number of seconds)",
			    t->s[k]);
	return 0;
}

int sim_state_by_name(const char *s)
{
	for (int st = TIDE_TCP_ESTABLISHED; st <= TIDE_TCP_CLOSING; st++) {
		if (strcmp(s, tide_state_name(st)) == 0 || strcmp(s, tide_state_rfc_name(st)) == 0)
			return st;
	}
	if (strcmp(s, "SYN_RECEIVED") == 0)
		return TIDE_TCP_SYN_RECV;
	return -1;
}

static const struct {
	const char *name;
	int value;
} errno_names[] = {
	{ "EAGAIN", EAGAIN }, { "EINPROGRESS", EINPROGRESS }, { "EALREADY", EALREADY },
	{ "ECONNREFUSED", ECONNREFUSED }, { "ECONNRESET", ECONNRESET },
	{ "ECONNABORTED", ECONNABORTED }, { "ETIMEDOUT", ETIMEDOUT }, { "EPIPE", EPIPE },
	{ "ENOTCONN", ENOTCONN }, { "EISCONN", EISCONN }, { "EADDRINUSE", EADDRINUSE },
	{ "EADDRNOTAVAIL", EADDRNOTAVAIL }, { "EINVAL", EINVAL }, { "EBADF", EBADF },
	{ "ENOTSOCK", ENOTSOCK }, { "EOPNOTSUPP", EOPNOTSUPP },
	{ "EHOSTUNREACH", EHOSTUNREACH }, { "ENETUNREACH", ENETUNREACH },
	{ "EMFILE", EMFILE }, { "ENFILE", ENFILE }, { "ENOBUFS", ENOBUFS },
	{ "ENOMEM", ENOMEM }, { "EFAULT", EFAULT }, { "EPERM", EPERM }, { "EACCES", EACCES },
	{ "ENOPROTOOPT", ENOPROTOOPT }, { "EDESTADDRREQ", EDESTADDRREQ },
	{ "EAFNOSUPPORT", EAFNOSUPPORT }, { "EPROTONOSUPPORT", EPROTONOSUPPORT },
	{ "EINTR", EINTR }, { "ENOENT", ENOENT }, { "ERANGE", ERANGE }, { "EEXIST", EEXIST },
	{ "ESHUTDOWN", ESHUTDOWN }, { "EMSGSIZE", EMSGSIZE }, { "EWOULDBLOCK", EWOULDBLOCK },
	{ "ENOSPC", ENOSPC }, { "ENOSYS", ENOSYS },
};

int sim_errno_by_name(const char *s)
{
	for (size_t i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (strcmp(s, errno_names[i].name) == 0)
			return errno_names[i].value;
	return -1;
}

const char *sim_errno_name(int err, char *buf, size_t cap)
{
	for (size_t i = 0; i < sizeof(errno_names) / sizeof(errno_names[0]); i++)
		if (errno_names[i].value == err) {
			snprintf(buf, cap, "%s", errno_names[i].name);
			return buf;
		}
	snprintf(buf, cap, "E%d", err);
	return buf;
}

static bool valid_name(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return false;
	size_t n = 0;
	for (; *s; s++, n++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
			return false;
	return n < SIM_NAME_MAX;
}

static int host_by_name(const struct sim_scenario *sc, const char *s)
{
	for (int i = 0; i < sc->nhosts; i++)
		if (strcmp(sc->hosts[i].name, s) == 0)
			return i;
	return -1;
}

static int need_host(struct parser *P, const struct toks *t, int k)
{
	if (k >= t->n) {
		perr(P, (int)t->end + 1, "expected a host name");
		return -1;
	}
	int h = host_by_name(P->sc, t->s[k]);
	if (h < 0) {
		if (P->sc->nhosts == 0)
			perr(P, t->col[k], "unknown host '%s' (declare hosts first: host NAME ADDR)", t->s[k]);
		else
			perr(P, t->col[k], "unknown host '%s'", t->s[k]);
	}
	return h;
}

static bool parse_addr(const char *s, uint32_t *out)
{
	unsigned a[4];
	char tail;
	if (sscanf(s, "%u.%u.%u.%u%c", &a[0], &a[1], &a[2], &a[3], &tail) != 4)
		return false;
	for (int i = 0; i < 4; i++)
		if (a[i] > 255)
			return false;
	for (const char *p = s; *p; p++)
		if (!isdigit((unsigned char)*p) && *p != '.')
			return false;
	*out = a[0] << 24 | a[1] << 16 | a[2] << 8 | a[3];
	return true;
}

static int need_port(struct parser *P, const char *s, int col, uint16_t *out)
{
	uint64_t v;
	if (!parse_u64(s, 65535, &v) || v == 0)
		return perr(P, col, "bad port '%s' (expected 1 to 65535)", s);
	*out = (uint16_t)v;
	return 0;
}

static int need_count(struct parser *P, const struct toks *t, int k, uint64_t max,
		      const char *what, uint64_t *out)
{
	if (k >= t->n)
		return perr(P, (int)t->end + 1, "expected %s", what);
	if (!parse_u64(t->s[k], max, out))
		return perr(P, t->col[k], "bad number '%s' (expected %s)", t->s[k], what);
	return 0;
}

/* HOST:PORT, where HOST is a declared host or a dotted address. */
static int need_hostport(struct parser *P, const struct toks *t, int k, uint32_t *addr,
			 uint16_t *port)
{
	if (k >= t->n)
		return perr(P, (int)t->end + 1, "expected HOST:PORT");
	const char *s = t->s[k];
	const char *colon = strrchr(s, ':');
	if (!colon)
		return perr(P, t->col[k], "expected HOST:PORT, got '%s'", s);
	char host[64];
	snprintf_trunc(host, sizeof(host), s, (size_t)(colon - s));
	int h = host_by_name(P->sc, host);
	if (h >= 0)
		*addr = P->sc->hosts[h].addr;
	else if (!parse_addr(host, addr))
		return perr(P, t->col[k], "unknown host '%s'", host);
	return need_port(P, colon + 1, t->col[k] + (int)(colon - s) + 1, port);
}

/* The line's text from word k to its end, comment excluded. */
static void rest_of_line(struct parser *P, const struct toks *t, int k, char *out, size_t cap)
{
	if (k >= t->n) {
		out[0] = 0;
		return;
	}
	size_t from = t->off[k];
	snprintf_trunc(out, cap, P->raw + from, t->end > from ? t->end - from : 0);
}

static void join_words(const struct toks *t, int from, char *out, size_t cap)
{
	size_t n = 0;
	out[0] = 0;
	for (int k = from; k < t->n; k++) {
		int w = snprintf(out + n, cap - n, "%s%s", k > from ? " " : "", t->s[k]);
		if (w < 0 || (size_t)w >= cap - n)
			break;
		n += (size_t)w;
	}
}

/* ---- socket slots --------------------------------------------------- */

static uint32_t name_hash(int host, const char *s)
{
	uint32_t h = 2166136261u ^ (uint32_t)host;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 16777619u;
	return h;
}

static int slot_of(struct parser *P, int host, const char *name)
{
	struct sim_scenario *sc = P->sc;
	if ((sc->nsocks + 1) * 2 > P->slot_hcap) {
		size_t ncap = P->slot_hcap ? P->slot_hcap * 2 : 64;
		int *nh = malloc(ncap * sizeof(*nh));
		if (!nh) {
			fprintf(stderr, "tide-sim: out of memory\n");
			exit(2);
		}
		for (size_t i = 0; i < ncap; i++)
			nh[i] = -1;
		for (size_t i = 0; i < sc->nsocks; i++) {
			size_t j = name_hash(sc->socks[i].host, sc->socks[i].name) & (ncap - 1);
			while (nh[j] >= 0)
				j = (j + 1) & (ncap - 1);
			nh[j] = (int)i;
		}
		free(P->slot_hash);
		P->slot_hash = nh;
		P->slot_hcap = ncap;
	}
	size_t j = name_hash(host, name) & (P->slot_hcap - 1);
	while (P->slot_hash[j] >= 0) {
		struct sim_sock_name *s = &sc->socks[P->slot_hash[j]];
		if (s->host == host && strcmp(s->name, name) == 0)
			return P->slot_hash[j];
		j = (j + 1) & (P->slot_hcap - 1);
	}
	sc->socks = grow(sc->socks, &sc->sockcap, sc->nsocks + 1, sizeof(*sc->socks));
	struct sim_sock_name *s = &sc->socks[sc->nsocks];
	s->host = host;
	snprintf(s->name, sizeof(s->name), "%s", name);
	P->slot_hash[j] = (int)sc->nsocks;
	return (int)sc->nsocks++;
}

static int need_sock(struct parser *P, const struct toks *t, int k, int host, int *slot, int *col)
{
	if (k >= t->n)
		return perr(P, (int)t->end + 1, "expected a socket name");
	if (!valid_name(t->s[k]))
		return perr(P, t->col[k], "bad socket name '%s' (a letter, then letters, digits, '_' or '-')",
			    t->s[k]);
	*slot = slot_of(P, host, t->s[k]);
	*col = t->col[k];
	return 0;
}

/* ---- declarations --------------------------------------------------- */

static int no_more(struct parser *P, const struct toks *t, int k)
{
	if (k < t->n)
		return perr(P, t->col[k], "unexpected '%s'", t->s[k]);
	return 0;
}

static int decl_host(struct parser *P, const struct toks *t)
{
	struct sim_scenario *sc = P->sc;
	if (t->n < 3)
		return perr(P, (int)t->end + 1, "expected: host NAME ADDR");
	if (!valid_name(t->s[1]))
		return perr(P, t->col[1], "bad host name '%s' (a letter, then letters, digits, '_' or '-')",
			    t->s[1]);
	if (strcmp(t->s[1], "segments") == 0)
		return perr(P, t->col[1], "'segments' cannot be a host name (it is a word of expectations)");
	int dup = host_by_name(sc, t->s[1]);
	if (dup >= 0)
		return perr(P, t->col[1], "duplicate host '%s' (first declared on line %d)", t->s[1],
			    sc->hosts[dup].line);
	uint32_t addr;
	if (!parse_addr(t->s[2], &addr))
		return perr(P, t->col[2], "bad address '%s' (expected an IPv4 address like 198.18.0.1)",
			    t->s[2]);
	if ((addr & 0xfffe0000u) != 0xc6120000u)
		return perr(P, t->col[2], "address %s is outside 198.18.0.0/15, the simulated network's range",
			    t->s[2]);
	for (int i = 0; i < sc->nhosts; i++)
		if (sc->hosts[i].addr == addr)
			return perr(P, t->col[2], "address %s is already %s's", t->s[2], sc->hosts[i].name);
	if (sc->nhosts == SIM_MAX_HOSTS)
		return perr(P, t->col[1], "too many hosts (at most %d)", SIM_MAX_HOSTS);
	if (no_more(P, t, 3))
		return -1;
	struct sim_host *h = &sc->hosts[sc->nhosts++];
	memset(h, 0, sizeof(*h));
	snprintf(h->name, sizeof(h->name), "%s", t->s[1]);
	h->addr = addr;
	h->line = P->line;
	tide_settings_default(&h->settings);
	return 0;
}

/* KEY = VALUE from word k (also KEY=VALUE), validated against `scratch`. */
static int parse_setting(struct parser *P, const struct toks *t, int k,
			 struct tide_settings *scratch, char *key, size_t keycap, char *value,
			 size_t valcap)
{
	if (k >= t->n)
		return perr(P, (int)t->end + 1, "expected: KEY = VALUE");
	int keycol = t->col[k];
	const char *eq = strchr(t->s[k], '=');
	int vk;
	if (eq) {
		snprintf_trunc(key, keycap, t->s[k], (size_t)(eq - t->s[k]));
		if (eq[1]) {
			snprintf(value, valcap, "%s", eq + 1);
			if (no_more(P, t, k + 1))
				return -1;
			goto check;
		}
		vk = k + 1;
	} else {
		snprintf(key, keycap, "%s", t->s[k]);
		if (k + 1 >= t->n || strcmp(t->s[k + 1], "=") != 0)
			return perr(P, k + 1 < t->n ? t->col[k + 1] : (int)t->end + 1,
				    "expected '=' after the setting's name");
		vk = k + 2;
	}
	if (vk >= t->n)
		return perr(P, (int)t->end + 1, "expected a value after '='");
	join_words(t, vk, value, valcap);
check:;
	char err[256];
	if (tide_settings_set(scratch, key, value, err, sizeof(err)) != 0)
		return perr(P, keycol, "%s", err);
	return 0;
}

static int decl_set(struct parser *P, const struct toks *t)
{
	struct sim_scenario *sc = P->sc;
	if (t->n < 2)
		return perr(P, (int)t->end + 1, "expected: set HOST KEY = VALUE (or set * KEY = VALUE)");
	int host = -1;
	if (strcmp(t->s[1], "*") != 0) {
		host = need_host(P, t, 1);
		if (host < 0)
			return -1;
	}
	struct tide_settings scratch;
	tide_settings_default(&scratch);
	P->sets = grow(P->sets, &P->setcap, P->nsets + 1, sizeof(*P->sets));
	struct pset *s = &P->sets[P->nsets];
	if (parse_setting(P, t, 2, host >= 0 ? &sc->hosts[host].settings : &scratch, s->key,
			  sizeof(s->key), s->value, sizeof(s->value)))
		return -1;
	s->host = host;
	s->line = P->line;
	P->nsets++;
	return 0;
}

static const struct {
	const char *name;
	uint8_t mask, match;
	int payload;              /* 0 any, -1 none, 1 some */
} kinds[] = {
	{ "SYN", TIDE_TCP_SYN | TIDE_TCP_ACK, TIDE_TCP_SYN, 0 },
	{ "SYN-ACK", TIDE_TCP_SYN | TIDE_TCP_ACK, TIDE_TCP_SYN | TIDE_TCP_ACK, 0 },
	{ "ACK", TIDE_TCP_SYN | TIDE_TCP_FIN | TIDE_TCP_RST | TIDE_TCP_ACK, TIDE_TCP_ACK, -1 },
	{ "DATA", 0, 0, 1 },
	{ "FIN", TIDE_TCP_FIN, TIDE_TCP_FIN, 0 },
	{ "RST", TIDE_TCP_RST, TIDE_TCP_RST, 0 },
	{ "any", 0, 0, 0 },
};

/* drop|dup|delay|reorder HOST KIND [N[-M] | all] [by TIME] */
static int decl_fault(struct parser *P, const struct toks *t, enum tide_fault_action action)
{
	struct sim_scenario *sc = P->sc;
	const char *verb = t->s[0];
	struct sim_rule r;
	memset(&r, 0, sizeof(r));
	r.line = P->line;
	r.kind = RULE_FAULT;
	r.fault.action = action;
	r.fault.nth = 1;
	r.fault.count = 1;
	int host = need_host(P, t, 1);
	if (host < 0)
		return -1;
	r.fault.from = host;
	if (t->n < 3)
		return perr(P, (int)t->end + 1, "expected a KIND (SYN, SYN-ACK, ACK, DATA, FIN, RST or any)");
	size_t ki;
	for (ki = 0; ki < sizeof(kinds) / sizeof(kinds[0]); ki++)
		if (strcasecmp(t->s[2], kinds[ki].name) == 0)
			break;
	if (ki == sizeof(kinds) / sizeof(kinds[0]))
		return perr(P, t->col[2], "bad KIND '%s' (expected SYN, SYN-ACK, ACK, DATA, FIN, RST or any)",
			    t->s[2]);
	r.fault.flags_mask = kinds[ki].mask;
	r.fault.flags_match = kinds[ki].match;
	if (kinds[ki].payload < 0)
		r.fault.no_payload = true;
	else if (kinds[ki].payload > 0)
		r.fault.min_len = 1;
	int k = 3;
	if (k < t->n && strcmp(t->s[k], "by") != 0) {
		if (strcmp(t->s[k], "all") == 0) {
			r.fault.count = UINT32_MAX;
		} else {
			char *dash = strchr(t->s[k], '-');
			uint64_t n1, n2;
			if (dash)
				*dash = 0;
			bool ok = parse_u64(t->s[k], UINT32_MAX, &n1) && n1 > 0;
			if (ok && dash)
				ok = parse_u64(dash + 1, UINT32_MAX, &n2) && n2 >= n1;
			else
				n2 = n1;
			if (dash)
				*dash = '-';
			if (!ok)
				return perr(P, t->col[k], "bad segment number '%s' (expected N, N-M or all; the first is 1)",
					    t->s[k]);
			r.fault.nth = (unsigned)n1;
			r.fault.count = (unsigned)(n2 - n1 + 1);
		}
		k++;
	}
	if (k < t->n && strcmp(t->s[k], "by") == 0) {
		if (action == TIDE_FAULT_DROP || action == TIDE_FAULT_REORDER)
			return perr(P, t->col[k], "'%s' takes no 'by TIME'", verb);
		if (need_time(P, t, k + 1, &r.fault.delay))
			return -1;
		k += 2;
	} else if (action == TIDE_FAULT_DELAY) {
		return perr(P, k < t->n ? t->col[k] : (int)t->end + 1, "expected 'by TIME' (how much later)");
	}
	if (no_more(P, t, k))
		return -1;
	sc->rules = grow(sc->rules, &sc->rulecap, sc->nrules + 1, sizeof(*sc->rules));
	sc->rules[sc->nrules++] = r;
	return 0;
}

static int decl_cut(struct parser *P, const struct toks *t)
{
	struct sim_scenario *sc = P->sc;
	char span[128];
	join_words(t, 1, span, sizeof(span));
	/* "10s..20s" or "10s .. 20s": the blanks do not matter */
	char packed[128];
	size_t n = 0;
	for (const char *p = span; *p && n + 1 < sizeof(packed); p++)
		if (*p != ' ')
			packed[n++] = *p;
	packed[n] = 0;
	char *dots = strstr(packed, "..");
	int col = t->n > 1 ? t->col[1] : (int)t->end + 1;
	if (!dots)
		return perr(P, col, "expected: cut FROM..TO (e.g. cut 10s..20s)");
	*dots = 0;
	struct sim_rule r;
	memset(&r, 0, sizeof(r));
	r.line = P->line;
	r.kind = RULE_CUT;
	if (sim_parse_time(packed, &r.t1) != 0)
		return perr(P, col, "bad time '%s' (use 250us, 40ms, 1.5s, 2min, 1h or a number of seconds)", packed);
	if (sim_parse_time(dots + 2, &r.t2) != 0)
		return perr(P, col, "bad time '%s' (use 250us, 40ms, 1.5s, 2min, 1h or a number of seconds)",
			    dots + 2);
	if (r.t2 <= r.t1)
		return perr(P, col, "the cut must end after it starts");
	sc->rules = grow(sc->rules, &sc->rulecap, sc->nrules + 1, sizeof(*sc->rules));
	sc->rules[sc->nrules++] = r;
	return 0;
}

/* ---- the timeline --------------------------------------------------- */

static const struct {
	const char *name;
	int level, opt, nvals;
} sockopts[] = {
	{ "SO_LINGER", SOL_SOCKET, SO_LINGER, 2 },
	{ "SO_KEEPALIVE", SOL_SOCKET, SO_KEEPALIVE, 1 },
	{ "SO_REUSEADDR", SOL_SOCKET, SO_REUSEADDR, 1 },
	{ "SO_REUSEPORT", SOL_SOCKET, SO_REUSEPORT, 1 },
	{ "SO_RCVBUF", SOL_SOCKET, SO_RCVBUF, 1 },
	{ "SO_SNDBUF", SOL_SOCKET, SO_SNDBUF, 1 },
	{ "TCP_NODELAY", IPPROTO_TCP, TCP_NODELAY, 1 },
	{ "TCP_KEEPIDLE", IPPROTO_TCP, TCP_KEEPIDLE, 1 },
	{ "TCP_KEEPINTVL", IPPROTO_TCP, TCP_KEEPINTVL, 1 },
	{ "TCP_KEEPCNT", IPPROTO_TCP, TCP_KEEPCNT, 1 },
	{ "TCP_LINGER2", IPPROTO_TCP, TCP_LINGER2, 1 },
	{ "TCP_USER_TIMEOUT", IPPROTO_TCP, TCP_USER_TIMEOUT, 1 },
	{ "TCP_DEFER_ACCEPT", IPPROTO_TCP, TCP_DEFER_ACCEPT, 1 },
};

static bool parse_int(const char *s, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < -2147483647L || v > 2147483647L)
		return false;
	*out = (int)v;
	return true;
}

static struct sim_action *new_action(struct parser *P, tide_time t, int host)
{
	struct sim_scenario *sc = P->sc;
	if (sc->nactions >= MAX_TIMELINE) {
		perr(P, 1, "the timeline is too long (more than %u actions)", MAX_TIMELINE);
		return NULL;
	}
	sc->actions = grow(sc->actions, &sc->actcap, sc->nactions + 1, sizeof(*sc->actions));
	struct sim_action *a = &sc->actions[sc->nactions];
	memset(a, 0, sizeof(*a));
	a->t = t;
	a->host = host;
	a->line = P->line;
	a->sock = a->sock2 = -1;
	a->backlog = -1;
	a->n = -1;
	a->fill = 'x';
	a->order = P->order++;
	return a;
}

/* `as NAME` at word k. */
static int need_as(struct parser *P, const struct toks *t, int k, int host, struct sim_action *a)
{
	if (k >= t->n || strcmp(t->s[k], "as") != 0)
		return perr(P, k < t->n ? t->col[k] : (int)t->end + 1, "expected 'as NAME' (the new socket's name)");
	return need_sock(P, t, k + 1, host, &a->sock, &a->sock_col);
}

static int parse_result(struct parser *P, const struct toks *t, int k, struct sim_action *a)
{
	if (k + 1 >= t->n)
		return perr(P, (int)t->end + 1, "expected a result after '=>' (a number, an errno name or ok)");
	const char *s = t->s[k + 1];
	uint64_t v;
	if (strcmp(s, "ok") == 0) {
		a->want.kind = RES_OK;
	} else if (parse_u64(s, INT32_MAX, &v)) {
		a->want.kind = RES_NUMBER;
		a->want.value = (long)v;
	} else if (s[0] == 'E') {
		int e = sim_errno_by_name(s);
		if (e < 0)
			return perr(P, t->col[k + 1], "unknown errno name '%s'", s);
		a->want.kind = RES_ERRNO;
		a->want.value = e;
	} else {
		return perr(P, t->col[k + 1], "bad result '%s' (expected a number, an errno name like ECONNRESET, or ok)", s);
	}
	return no_more(P, t, k + 2);
}

/* at TIME HOST ACTION ... [=> RESULT]; word 0 is "at". */
static int timeline(struct parser *P, const struct toks *tin, tide_time shift)
{
	struct sim_scenario *sc = P->sc;
	struct toks tt = *tin;
	struct toks *t = &tt;
	tide_time at;
	if (t->n < 2)
		return perr(P, (int)t->end + 1, "expected: at TIME HOST ACTION");
	bool rel = t->s[1][0] == '+';
	if (strcmp(t->s[1], "end") == 0)
		return perr(P, t->col[1], "'end' is only for expectations (expect at end ...)");
	if (sim_parse_time(t->s[1] + rel, &at) != 0)
		return perr(P, t->col[1], "bad time '%s' (use 250us, 40ms, 1.5s, 2min, 1h, a number of seconds, or +TIME)",
			    t->s[1]);
	if (rel)
		at += P->prev_at;
	P->prev_at = at;
	at += shift;
	int host = need_host(P, t, 2);
	if (host < 0)
		return -1;
	if (t->n < 4)
		return perr(P, (int)t->end + 1, "expected an action (listen, connect, accept, send, recv, close, ...)");

	/* `=> RESULT` is cut off first so that the actions see only their
	 * own words. */
	int res_k = -1;
	for (int k = 3; k < t->n; k++)
		if (strcmp(t->s[k], "=>") == 0) {
			res_k = k;
			break;
		}
	int nwords = res_k >= 0 ? res_k : t->n;
	const char *verb = t->s[3];
	int vcol = t->col[3];
	struct sim_action *a = new_action(P, at, host);
	if (!a)
		return -1;
	char written[128];
	{
		struct toks w = *t;
		join_words(&w, 2, written, sizeof(written));
	}
	t->n = nwords;
	int k = 4;

	if (strcmp(verb, "listen") == 0) {
		if (k < t->n && isdigit((unsigned char)t->s[k][0])) {
			a->kind = ACT_LISTEN;
			if (need_port(P, t->s[k], t->col[k], &a->port))
				return -1;
			k++;
			bool named = false;
			while (k < t->n) {
				if (strcmp(t->s[k], "backlog") == 0) {
					uint64_t v;
					if (need_count(P, t, k + 1, INT32_MAX, "a backlog", &v))
						return -1;
					a->backlog = (int)v;
					k += 2;
				} else if (strcmp(t->s[k], "reuseaddr") == 0) {
					a->reuseaddr = true;
					k++;
				} else if (strcmp(t->s[k], "reuseport") == 0) {
					a->reuseport = true;
					k++;
				} else if (strcmp(t->s[k], "as") == 0) {
					if (need_as(P, t, k, host, a))
						return -1;
					named = true;
					k += 2;
				} else {
					return perr(P, t->col[k], "unexpected '%s' (expected backlog N, reuseaddr, reuseport or as NAME)",
						    t->s[k]);
				}
			}
			if (!named)
				return perr(P, (int)t->end + 1, "expected 'as NAME' (the listening socket's name)");
		} else {
			a->kind = ACT_LISTEN_ON;
			if (need_sock(P, t, k, host, &a->sock, &a->sock_col))
				return -1;
			k++;
			if (k < t->n) {
				uint64_t v;
				if (need_count(P, t, k, INT32_MAX, "a backlog", &v))
					return -1;
				a->backlog = (int)v;
				k++;
			}
		}
	} else if (strcmp(verb, "connect") == 0) {
		if (k < t->n && strchr(t->s[k], ':')) {
			a->kind = ACT_CONNECT;
			if (need_hostport(P, t, k, &a->peer_addr, &a->port))
				return -1;
			k++;
			bool named = false;
			while (k < t->n) {
				if (strcmp(t->s[k], "from") == 0) {
					if (k + 1 >= t->n)
						return perr(P, (int)t->end + 1, "expected a port after 'from'");
					if (need_port(P, t->s[k + 1], t->col[k + 1], &a->from_port))
						return -1;
					k += 2;
				} else if (strcmp(t->s[k], "reuseaddr") == 0) {
					a->reuseaddr = true;
					k++;
				} else if (strcmp(t->s[k], "as") == 0) {
					if (need_as(P, t, k, host, a))
						return -1;
					named = true;
					k += 2;
				} else {
					return perr(P, t->col[k], "unexpected '%s' (expected from PORT, reuseaddr or as NAME)",
						    t->s[k]);
				}
			}
			if (!named)
				return perr(P, (int)t->end + 1, "expected 'as NAME' (the new socket's name)");
		} else {
			a->kind = ACT_CONNECT_ON;
			if (need_sock(P, t, k, host, &a->sock, &a->sock_col))
				return -1;
			if (need_hostport(P, t, k + 1, &a->peer_addr, &a->port))
				return -1;
			k += 2;
		}
	} else if (strcmp(verb, "socket") == 0) {
		a->kind = ACT_SOCKET;
		if (need_as(P, t, k, host, a))
			return -1;
		k += 2;
	} else if (strcmp(verb, "bind") == 0) {
		a->kind = ACT_BIND;
		if (need_sock(P, t, k, host, &a->sock, &a->sock_col))
			return -1;
		if (k + 1 >= t->n)
			return perr(P, (int)t->end + 1, "expected a port");
		if (need_port(P, t->s[k + 1], t->col[k + 1], &a->port))
			return -1;
		k += 2;
	} else if (strcmp(verb, "accept") == 0) {
		a->kind = ACT_ACCEPT;
		if (need_sock(P, t, k, host, &a->sock2, &a->sock2_col))
			return -1;
		if (need_as(P, t, k + 1, host, a))
			return -1;
		k += 3;
	} else if (strcmp(verb, "send") == 0) {
		a->kind = ACT_SEND;
		if (need_sock(P, t, k, host, &a->sock, &a->sock_col))
			return -1;
		uint64_t v;
		if (need_count(P, t, k + 1, 64u << 20, "a number of bytes (at most 64 MiB)", &v))
			return -1;
		a->n = (long)v;
		k += 2;
		if (k < t->n && strcmp(t->s[k], "fill") == 0) {
			if (k + 1 >= t->n)
				return perr(P, (int)t->end + 1, "expected a character after 'fill'");
			const char *c = t->s[k + 1];
			if (c[0] == '"' && strlen(c) == 3)
				a->fill = c[1];
			else if (strlen(c) == 1)
				a->fill = c[0];
			else
				return perr(P, t->col[k + 1], "expected one character after 'fill', got '%s'", c);
			k += 2;
		}
	} else if (strcmp(verb, "recv") == 0) {
		a->kind = ACT_RECV;
		if (need_sock(P, t, k, host, &a->sock, &a->sock_col))
			return -1;
		k++;
		if (k < t->n) {
			uint64_t v;
			if (need_count(P, t, k, 64u << 20, "a number of bytes", &v))
				return -1;
			a->n = (long)v;
			k++;
		}
	} else if (strcmp(verb, "close") == 0) {
		a->kind = ACT_CLOSE;
		if (need_sock(P, t, k, host, &a->sock, &a->sock_col))
			return -1;
		k++;
	} else if (strcmp(verb, "shutdown") == 0) {
		a->kind = ACT_SHUTDOWN;
		if (need_sock(P, t, k, host, &a->sock, &a->sock_col))
			return -1;
		if (k + 1 >= t->n)
			return perr(P, (int)t->end + 1, "expected rd, wr or rdwr");
		const char *how = t->s[k + 1];
		if (strcmp(how, "rd") == 0)
			a->how = SHUT_RD;
		else if (strcmp(how, "wr") == 0)
			a->how = SHUT_WR;
		else if (strcmp(how, "rdwr") == 0)
			a->how = SHUT_RDWR;
		else
			return perr(P, t->col[k + 1], "expected rd, wr or rdwr, got '%s'", how);
		k += 2;
	} else if (strcmp(verb, "setsockopt") == 0) {
		a->kind = ACT_SETSOCKOPT;
		if (need_sock(P, t, k, host, &a->sock, &a->sock_col))
			return -1;
		if (k + 1 >= t->n)
			return perr(P, (int)t->end + 1, "expected an option (SO_LINGER, SO_KEEPALIVE, TCP_KEEPIDLE, ...)");
		size_t oi;
		for (oi = 0; oi < sizeof(sockopts) / sizeof(sockopts[0]); oi++)
			if (strcmp(t->s[k + 1], sockopts[oi].name) == 0)
				break;
		if (oi == sizeof(sockopts) / sizeof(sockopts[0]))
			return perr(P, t->col[k + 1], "unknown socket option '%s' (see docs/scenarios.md for the list)",
				    t->s[k + 1]);
		a->opt_level = sockopts[oi].level;
		a->opt_name = sockopts[oi].opt;
		a->nopt = sockopts[oi].nvals;
		snprintf(a->opt_text, sizeof(a->opt_text), "%s", sockopts[oi].name);
		k += 2;
		for (int i = 0; i < a->nopt; i++, k++) {
			if (k >= t->n)
				return perr(P, (int)t->end + 1, "%s takes %d value%s", sockopts[oi].name,
					    a->nopt, a->nopt > 1 ? "s" : "");
			if (!parse_int(t->s[k], &a->optval[i]))
				return perr(P, t->col[k], "bad value '%s' (expected a number)", t->s[k]);
		}
	} else if (strcmp(verb, "set") == 0) {
		a->kind = ACT_SET;
		struct tide_settings scratch = sc->hosts[host].settings;
		if (parse_setting(P, t, k, &scratch, a->key, sizeof(a->key), a->value, sizeof(a->value)))
			return -1;
		k = t->n;
	} else if (strcmp(verb, "dies") == 0) {
		a->kind = ACT_DIES;
	} else if (strcmp(verb, "reboots") == 0) {
		a->kind = ACT_REBOOTS;
	} else if (strcmp(verb, "flood") == 0) {
		uint32_t addr;
		uint16_t port;
		uint64_t n;
		tide_time over = 0;
		if (need_hostport(P, t, k, &addr, &port))
			return -1;
		if (need_count(P, t, k + 1, MAX_FLOOD, "a number of SYNs, at most 65534", &n))
			return -1;
		k += 2;
		if (k < t->n && strcmp(t->s[k], "over") == 0) {
			if (need_time(P, t, k + 1, &over))
				return -1;
			k += 2;
		}
		if (no_more(P, t, k))
			return -1;
		if (res_k >= 0)
			return perr(P, t->col[res_k], "'flood' has no result to check");
		/* The flood becomes n plain entries, spread evenly (the entry
		 * `a` was never counted, so the first of them takes its place). */
		for (uint64_t i = 0; i < n; i++) {
			tide_time when = at + (n ? over * i / n : 0);
			struct sim_action *f = new_action(P, when, host);
			if (!f)
				return -1;
			f->kind = ACT_FLOOD_SYN;
			f->peer_addr = addr;
			f->port = port;
			f->flood_i = (uint32_t)i;
			f->flood_n = (uint32_t)n;
			f->flood_over = over;
			f->flood_seq = P->flood_seq++;
			snprintf(f->text, sizeof(f->text), "%s", written);
			sc->nactions++;
		}
		return 0;
	} else {
		return perr(P, vcol, "unknown action '%s' (expected listen, connect, socket, bind, accept, send, recv, close, shutdown, setsockopt, set, dies, reboots or flood)",
			    verb);
	}
	if (no_more(P, t, k))
		return -1;
	if (res_k >= 0) {
		if (a->kind == ACT_DIES || a->kind == ACT_REBOOTS)
			return perr(P, t->col[res_k], "'%s' has no result to check", verb);
		t->n = tin->n;
		if (parse_result(P, t, res_k, a))
			return -1;
	}
	snprintf(a->text, sizeof(a->text), "%s", written);
	sc->nactions++;
	return 0;
}

static int counter_by_name(const char *s)
{
	for (int c = 0; c < TIDE_MIB_MAX; c++) {
		const char *n = tide_counter_name((enum tide_counter)c);
		if (n && strcmp(n, s) == 0)
			return c;
	}
	if (strcmp(s, "CurrEstab") == 0)
		return SIM_COUNTER_CURR_ESTAB;
	return -1;
}

static int need_state(struct parser *P, const struct toks *t, int k, int *out)
{
	if (k >= t->n)
		return perr(P, (int)t->end + 1, "expected a state (CLOSED, LISTEN, SYN_SENT, ...)");
	int s = sim_state_by_name(t->s[k]);
	if (s < 0)
		return perr(P, t->col[k], "unknown state '%s' (expected CLOSED, LISTEN, SYN_SENT, SYN_RECV, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT, CLOSING, LAST_ACK or TIME_WAIT)",
			    t->s[k]);
	*out = s;
	return 0;
}

static int need_eq_count(struct parser *P, const struct toks *t, int k, long *out)
{
	if (k >= t->n || strcmp(t->s[k], "=") != 0)
		return perr(P, k < t->n ? t->col[k] : (int)t->end + 1, "expected '= N'");
	uint64_t v;
	if (need_count(P, t, k + 1, INT64_MAX, "a number", &v))
		return -1;
	*out = (long)v;
	return no_more(P, t, k + 2);
}

/* expect at TIME ...; words 0 and 1 are "expect at". */
static int expectation(struct parser *P, const struct toks *t, tide_time shift)
{
	struct sim_scenario *sc = P->sc;
	if (t->n < 2 || strcmp(t->s[1], "at") != 0)
		return perr(P, t->n > 1 ? t->col[1] : (int)t->end + 1, "expected: expect at TIME ...");
	struct sim_expect e;
	memset(&e, 0, sizeof(e));
	e.line = P->line;
	e.host = -1;
	e.sock = -1;
	e.order = P->order++;
	if (t->n < 3)
		return perr(P, (int)t->end + 1, "expected a time or 'end'");
	if (strcmp(t->s[2], "end") == 0) {
		e.at_end = true;
	} else {
		bool rel = t->s[2][0] == '+';
		if (sim_parse_time(t->s[2] + rel, &e.t) != 0)
			return perr(P, t->col[2], "bad time '%s' (use 250us, 40ms, 1.5s, 2min, 1h, a number of seconds, +TIME or end)",
				    t->s[2]);
		if (rel)
			e.t += P->prev_at;
		P->prev_at = e.t;
		e.t += shift;
	}
	join_words(t, 0, e.text, sizeof(e.text));
	int k = 3;
	if (k >= t->n)
		return perr(P, (int)t->end + 1, "expected what to check (segments, or HOST counter/conns/NAME)");
	if (strcmp(t->s[k], "segments") == 0) {
		e.kind = EXP_SEGMENTS;
		k++;
		if (k < t->n && t->s[k][0] != '=') {
			e.host = need_host(P, t, k);
			if (e.host < 0)
				return -1;
			k++;
		}
		if (need_eq_count(P, t, k, &e.n))
			return -1;
	} else {
		e.host = need_host(P, t, k);
		if (e.host < 0)
			return -1;
		k++;
		if (k >= t->n)
			return perr(P, (int)t->end + 1, "expected counter, conns, or a socket name");
		if (strcmp(t->s[k], "counter") == 0) {
			e.kind = EXP_COUNTER;
			if (k + 1 >= t->n)
				return perr(P, (int)t->end + 1, "expected a counter name (TW, ListenOverflows, ...)");
			e.counter = counter_by_name(t->s[k + 1]);
			if (e.counter == -1)
				return perr(P, t->col[k + 1], "unknown counter '%s' (Linux's names, e.g. TW, ActiveOpens, ListenOverflows)",
					    t->s[k + 1]);
			if (need_eq_count(P, t, k + 2, &e.n))
				return -1;
		} else if (strcmp(t->s[k], "conns") == 0) {
			e.kind = EXP_CONNS;
			if (need_state(P, t, k + 1, &e.state) || need_eq_count(P, t, k + 2, &e.n))
				return -1;
		} else {
			if (need_sock(P, t, k, e.host, &e.sock, &e.sock_col))
				return -1;
			k++;
			if (k < t->n && strcmp(t->s[k], "state") == 0) {
				e.kind = EXP_STATE;
				if (need_state(P, t, k + 1, &e.state) || no_more(P, t, k + 2))
					return -1;
			} else if (k < t->n && strcmp(t->s[k], "read") == 0) {
				e.kind = EXP_READ;
				if (k + 1 >= t->n || strcmp(t->s[k + 1], "=") != 0)
					return perr(P, k + 1 < t->n ? t->col[k + 1] : (int)t->end + 1,
						    "expected '= TEXT'");
				char text[4096];
				rest_of_line(P, t, k + 2, text, sizeof(text));
				size_t len = strlen(text);
				if (len >= 2 && text[0] == '"' && text[len - 1] == '"') {
					memmove(text, text + 1, len - 2);
					len -= 2;
					text[len] = 0;
				}
				e.read = malloc(len + 1);
				if (!e.read) {
					fprintf(stderr, "tide-sim: out of memory\n");
					exit(2);
				}
				memcpy(e.read, text, len + 1);
				e.readlen = len;
			} else {
				return perr(P, k < t->n ? t->col[k] : (int)t->end + 1,
					    "expected 'state STATE' or 'read = TEXT' after the socket name");
			}
		}
	}
	sc->expects = grow(sc->expects, &sc->expcap, sc->nexpects + 1, sizeof(*sc->expects));
	sc->expects[sc->nexpects++] = e;
	return 0;
}

/* ---- lines ---------------------------------------------------------- */

static int directive(struct parser *P, const struct toks *t)
{
	struct sim_scenario *sc = P->sc;
	const char *w = t->s[0];
	if (strcmp(w, "title") == 0) {
		rest_of_line(P, t, 1, sc->title, sizeof(sc->title));
		return 0;
	}
	if (strcmp(w, "about") == 0) {
		char text[512];
		rest_of_line(P, t, 1, text, sizeof(text));
		size_t n = strlen(sc->about);
		snprintf(sc->about + n, sizeof(sc->about) - n, "%s%s", n ? " " : "", text);
		return 0;
	}
	if (strcmp(w, "host") == 0)
		return decl_host(P, t);
	if (strcmp(w, "delay") == 0) {
		if (t->n == 2) {
			if (need_time(P, t, 1, &sc->delay))
				return -1;
			return 0;
		}
		return decl_fault(P, t, TIDE_FAULT_DELAY);
	}
	if (strcmp(w, "isn") == 0) {
		int h = need_host(P, t, 1);
		if (h < 0)
			return -1;
		uint64_t v;
		if (need_count(P, t, 2, UINT32_MAX, "an initial sequence number (0 to 4294967295)", &v) ||
		    no_more(P, t, 3))
			return -1;
		sc->hosts[h].has_isn = true;
		sc->hosts[h].isn = (uint32_t)v;
		return 0;
	}
	if (strcmp(w, "set") == 0)
		return decl_set(P, t);
	if (strcmp(w, "run") == 0) {
		if (need_time(P, t, 1, &sc->run_limit) || no_more(P, t, 2))
			return -1;
		return 0;
	}
	if (strcmp(w, "at") == 0)
		return timeline(P, t, 0);
	if (strcmp(w, "expect") == 0)
		return expectation(P, t, 0);
	if (strcmp(w, "drop") == 0)
		return decl_fault(P, t, TIDE_FAULT_DROP);
	if (strcmp(w, "dup") == 0)
		return decl_fault(P, t, TIDE_FAULT_DUPLICATE);
	if (strcmp(w, "reorder") == 0)
		return decl_fault(P, t, TIDE_FAULT_REORDER);
	if (strcmp(w, "cut") == 0)
		return decl_cut(P, t);
	if (strcmp(w, "middlebox") == 0) {
		if (t->n < 2 || strcmp(t->s[1], "idle") != 0)
			return perr(P, t->n > 1 ? t->col[1] : (int)t->end + 1, "expected: middlebox idle TIME");
		if (need_time(P, t, 2, &sc->middlebox_idle) || no_more(P, t, 3))
			return -1;
		if (sc->middlebox_idle == 0)
			return perr(P, t->col[2], "the idle time must be more than 0");
		return 0;
	}
	if (strcmp(w, "repeat") == 0)
		return perr(P, t->col[0], "repeat blocks cannot be nested");
	return perr(P, t->col[0], "unknown directive '%s'", w);
}

/* Plays a repeat block's lines n times, shifting their times. */
static int expand_block(struct parser *P, const struct block_line *lines, size_t nlines,
			uint64_t n, tide_time every)
{
	tide_time base_prev = P->prev_at, last_prev = P->prev_at;
	for (uint64_t r = 0; r < n; r++) {
		P->prev_at = base_prev;
		for (size_t i = 0; i < nlines; i++) {
			P->line = lines[i].line;
			P->raw = lines[i].text;
			struct toks raw, t;
			if (tokenize(P, lines[i].text, &raw)) {
				toks_free(&raw);
				return -1;
			}
			toks_subst(&raw, &t, (unsigned)r);
			int rc;
			tide_time shift = every * r;
			if (strcmp(t.s[0], "at") == 0)
				rc = timeline(P, &t, shift);
			else if (strcmp(t.s[0], "expect") == 0)
				rc = expectation(P, &t, shift);
			else
				rc = perr(P, t.col[0], "a repeat block holds only 'at' and 'expect' lines, not '%s'",
					  t.s[0]);
			toks_free(&raw);
			toks_free(&t);
			if (rc)
				return -1;
		}
		if (r == 0)
			last_prev = P->prev_at;
	}
	P->prev_at = last_prev;
	return 0;
}

static int cmp_actions(const void *a, const void *b)
{
	const struct sim_action *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int cmp_expects(const void *a, const void *b)
{
	const struct sim_expect *x = a, *y = b;
	if (x->at_end != y->at_end)
		return x->at_end ? 1 : -1;
	if (!x->at_end && x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static bool defines(const struct sim_action *a)
{
	return a->kind == ACT_LISTEN || a->kind == ACT_CONNECT || a->kind == ACT_SOCKET ||
	       a->kind == ACT_ACCEPT;
}

/* Every socket name must exist by the time it is used. Reports the
 * earliest line that breaks this. */
static int check_names(struct parser *P)
{
	struct sim_scenario *sc = P->sc;
	tide_time *created = malloc((sc->nsocks + 1) * sizeof(*created));
	int *created_line = malloc((sc->nsocks + 1) * sizeof(*created_line));
	if (!created || !created_line) {
		fprintf(stderr, "tide-sim: out of memory\n");
		exit(2);
	}
	for (size_t i = 0; i < sc->nsocks; i++) {
		created[i] = TIDE_TIME_NEVER;
		created_line[i] = 0;
	}
	for (size_t i = 0; i < sc->nactions; i++) {
		const struct sim_action *a = &sc->actions[i];
		if (defines(a) && created[a->sock] == TIDE_TIME_NEVER) {
			created[a->sock] = a->t;
			created_line[a->sock] = a->line;
		}
	}
	int best_line = 0, best_col = 0, best_slot = -1;
	tide_time best_t = 0;
	bool best_end = false;
	for (size_t i = 0; i < sc->nactions; i++) {
		const struct sim_action *a = &sc->actions[i];
		int slot = -1, col = 0;
		if (a->kind == ACT_ACCEPT) {
			slot = a->sock2;
			col = a->sock2_col;
		} else if (!defines(a) && a->sock >= 0) {
			slot = a->sock;
			col = a->sock_col;
		}
		if (slot < 0)
			continue;
		/* Same time: the creating line must come first in the file. */
		bool ok = created[slot] < a->t ||
			  (created[slot] == a->t && created_line[slot] <= a->line);
		if (!ok && (best_line == 0 || a->line < best_line)) {
			best_line = a->line;
			best_col = col;
			best_slot = slot;
			best_t = a->t;
			best_end = false;
		}
	}
	for (size_t i = 0; i < sc->nexpects; i++) {
		const struct sim_expect *e = &sc->expects[i];
		if (e->sock < 0)
			continue;
		bool ok = created[e->sock] != TIDE_TIME_NEVER && (e->at_end || created[e->sock] <= e->t);
		if (!ok && (best_line == 0 || e->line < best_line)) {
			best_line = e->line;
			best_col = e->sock_col;
			best_slot = e->sock;
			best_t = e->t;
			best_end = e->at_end;
		}
	}
	int rc = 0;
	if (best_line) {
		const struct sim_sock_name *s = &sc->socks[best_slot];
		P->line = best_line;
		if (created[best_slot] == TIDE_TIME_NEVER) {
			rc = perr(P, best_col, "no socket named '%s' on %s", s->name, sc->hosts[s->host].name);
		} else {
			char t1[32], t2[32];
			(void)best_end;
			rc = perr(P, best_col, "no socket named '%s' on %s at %s yet (it is created at %s, line %d)",
				  s->name, sc->hosts[s->host].name, fmt_time(t1, sizeof(t1), best_t),
				  fmt_time(t2, sizeof(t2), created[best_slot]), created_line[best_slot]);
		}
	}
	free(created);
	free(created_line);
	return rc;
}

static int finish(struct parser *P)
{
	struct sim_scenario *sc = P->sc;
	if (sc->nhosts == 0) {
		P->line = 1;
		return perr(P, 1, "no host declared (a scenario needs at least one line: host NAME ADDR)");
	}
	/* Declared settings in file order, `set *` included, on each host. */
	for (int h = 0; h < sc->nhosts; h++) {
		tide_settings_default(&sc->hosts[h].settings);
		for (size_t i = 0; i < P->nsets; i++) {
			const struct pset *s = &P->sets[i];
			if (s->host != -1 && s->host != h)
				continue;
			char err[256];
			if (tide_settings_set(&sc->hosts[h].settings, s->key, s->value, err, sizeof(err))) {
				P->line = s->line;
				return perr(P, 1, "%s", err);
			}
		}
	}
	if (sc->nactions)
		qsort(sc->actions, sc->nactions, sizeof(*sc->actions), cmp_actions);
	if (sc->nexpects)
		qsort(sc->expects, sc->nexpects, sizeof(*sc->expects), cmp_expects);
	return check_names(P);
}

void sim_scenario_free(struct sim_scenario *sc)
{
	if (!sc)
		return;
	for (size_t i = 0; i < sc->nexpects; i++)
		free(sc->expects[i].read);
	free(sc->actions);
	free(sc->expects);
	free(sc->rules);
	free(sc->socks);
	memset(sc, 0, sizeof(*sc));
}

int sim_parse(const char *text, const char *file, struct sim_scenario *sc, char *err,
	      size_t errlen)
{
	memset(sc, 0, sizeof(*sc));
	snprintf(sc->file, sizeof(sc->file), "%s", file);
	sc->delay = TIDE_MS(1);
	sc->run_limit = TIDE_TIME_NEVER;

	struct parser P;
	memset(&P, 0, sizeof(P));
	P.sc = sc;
	P.file = file;
	P.err = err;
	P.errlen = errlen;
	if (errlen)
		err[0] = 0;

	struct block_line *block = NULL;
	size_t nblock = 0, blockcap = 0;
	bool in_block = false;
	uint64_t rep_n = 0;
	tide_time rep_every = 0;
	int rep_line = 0, rep_col = 0;

	const char *p = text;
	int lineno = 0;
	int rc = 0;
	while (*p && rc == 0) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *line = malloc(len + 1);
		if (!line) {
			fprintf(stderr, "tide-sim: out of memory\n");
			exit(2);
		}
		memcpy(line, p, len);
		line[len] = 0;
		p = nl ? nl + 1 : p + len;
		lineno++;
		P.line = lineno;
		P.raw = line;

		struct toks t;
		if (tokenize(&P, line, &t)) {
			toks_free(&t);
			free(line);
			rc = -1;
			break;
		}
		if (t.n == 0) {
			toks_free(&t);
			free(line);
			continue;
		}
		bool indented = is_blank(line[0]);
		if (in_block && indented) {
			block = grow(block, &blockcap, nblock + 1, sizeof(*block));
			block[nblock].text = line;
			block[nblock].line = lineno;
			nblock++;
			toks_free(&t);
			continue;
		}
		if (in_block) {
			in_block = false;
			if (nblock == 0) {
				P.line = rep_line;
				rc = perr(&P, rep_col, "a repeat block needs indented 'at' lines under it");
			} else {
				rc = expand_block(&P, block, nblock, rep_n, rep_every);
			}
			for (size_t i = 0; i < nblock; i++)
				free(block[i].text);
			nblock = 0;
			P.line = lineno;
			P.raw = line;
			if (rc) {
				toks_free(&t);
				free(line);
				break;
			}
		}
		if (strcmp(t.s[0], "repeat") == 0) {
			if (need_count(&P, &t, 1, MAX_TIMELINE, "a number of rounds", &rep_n))
				rc = -1;
			else if (t.n < 3 || strcmp(t.s[2], "every") != 0)
				rc = perr(&P, t.n > 2 ? t.col[2] : (int)t.end + 1, "expected: repeat N every TIME");
			else if (need_time(&P, &t, 3, &rep_every) || no_more(&P, &t, 4))
				rc = -1;
			in_block = true;
			rep_line = lineno;
			rep_col = t.col[0];
		} else {
			rc = directive(&P, &t);
		}
		toks_free(&t);
		free(line);
	}
	if (rc == 0 && in_block) {
		if (nblock == 0) {
			P.line = rep_line;
			rc = perr(&P, rep_col, "a repeat block needs indented 'at' lines under it");
		} else {
			rc = expand_block(&P, block, nblock, rep_n, rep_every);
		}
	}
	for (size_t i = 0; i < nblock; i++)
		free(block[i].text);
	free(block);
	if (rc == 0)
		rc = finish(&P);
	free(P.sets);
	free(P.slot_hash);
	if (rc) {
		sim_scenario_free(sc);
		snprintf(sc->file, sizeof(sc->file), "%s", file);
		return -1;
	}
	return 0;
}

int sim_scenario_override(struct sim_scenario *sc, const char *arg, char *err, size_t errlen)
{
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg) {
		snprintf(err, errlen, "--set wants KEY=VALUE or HOST.KEY=VALUE, not '%s'", arg);
		return -1;
	}
	char key[128], value[128];
	snprintf_trunc(key, sizeof(key), arg, (size_t)(eq - arg));
	snprintf(value, sizeof(value), "%s", eq + 1);
	/* trim blanks around both */
	for (size_t n = strlen(key); n && is_blank(key[n - 1]); n--)
		key[n - 1] = 0;
	const char *v = value;
	while (is_blank(*v))
		v++;

	int host = -1;
	const char *name = key;
	const char *dot = strchr(key, '.');
	if (dot) {
		char hn[SIM_NAME_MAX + 1];
		snprintf_trunc(hn, sizeof(hn), key, (size_t)(dot - key));
		int h = host_by_name(sc, hn);
		if (h >= 0) {
			host = h;
			name = dot + 1;
		}
	}
	for (int h = 0; h < sc->nhosts; h++) {
		if (host >= 0 && h != host)
			continue;
		char e[256];
		if (tide_settings_set(&sc->hosts[h].settings, name, v, e, sizeof(e))) {
			snprintf(err, errlen, "--set %s: %s", arg, e);
			return -1;
		}
	}
	return 0;
}

const char *sim_title_of(const char *text, char *buf, size_t cap)
{
	buf[0] = 0;
	for (const char *p = text; *p;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		const char *q = p;
		while (q < p + len && is_blank(*q))
			q++;
		if ((size_t)(p + len - q) > 6 && strncmp(q, "title", 5) == 0 && is_blank(q[5])) {
			q += 6;
			while (q < p + len && is_blank(*q))
				q++;
			const char *e = q;
			/* scan instead of memchr: GCC's -O2 cannot prove q <= p + len */
			while (e < p + len && *e != '#')
				e++;
			while (e > q && is_blank(e[-1]))
				e--;
			snprintf_trunc(buf, cap, q, (size_t)(e - q));
			return buf;
		}
		p = nl ? nl + 1 : p + len;
	}
	return buf;
}
