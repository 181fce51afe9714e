/*
 * The settings registry: every runtime setting with its sysctl name, its
 * place in struct tide_settings, its valid range and its Linux
 * counterpart. Reading, writing and text loading all go through this one
 * table, so a new setting needs one line here.
 */
#include <tide/settings.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define F(field) offsetof(struct tide_settings, field)
#define ONE(name, field, min, max, def, unit, lnx, doc) \
	{ name, 1, min, max, unit, lnx, doc, { def }, { F(field) } }

static const struct tide_setting_desc table[] = {
	/* handshake and retransmission */
	ONE("net.ipv4.tcp_syn_retries", tcp_syn_retries, 1, 127, 6, "count",
	    "tcp_syn_retries (6)", "SYN retransmissions before connect() fails with ETIMEDOUT (LC-H06)"),
	ONE("net.ipv4.tcp_syn_linear_timeouts", tcp_syn_linear_timeouts, 0, 255, 4, "count",
	    "tcp_syn_linear_timeouts (4, Linux 6.x)",
	    "first SYN retransmissions sent at the initial RTO without backoff, in addition to tcp_syn_retries"),
	ONE("net.ipv4.tcp_synack_retries", tcp_synack_retries, 0, 255, 5, "count",
	    "tcp_synack_retries (5)", "SYN-ACK retransmissions before a half-open request is dropped"),
	ONE("net.ipv4.tcp_retries2", tcp_retries2, 0, 255, 15, "count",
	    "tcp_retries2 (15)", "retry budget of an established connection, as a time (924.6 s at the minimum RTO) (LC-D06)"),
	ONE("net.ipv4.tcp_orphan_retries", tcp_orphan_retries, 0, 255, 0, "count",
	    "tcp_orphan_retries (0)", "retry budget of a connection the application closed; 0 means 8 (LC-L)"),
	ONE("net.ipv4.tcp_rto_min_ms", tcp_rto_min_ms, 1, 120000, 200, "ms",
	    "TCP_RTO_MIN; sysctl tcp_rto_min_us (200000)", "minimum retransmission timeout (LC-D02)"),
	ONE("net.ipv4.tcp_rto_max_ms", tcp_rto_max_ms, 1000, 120000, 120000, "ms",
	    "tcp_rto_max_ms (120000, Linux 6.15+)", "maximum retransmission timeout (LC-D02)"),
	ONE("net.ipv4.tcp_rto_initial_ms", tcp_rto_initial_ms, 1, 120000, 1000, "ms",
	    "TCP_TIMEOUT_INIT (1 s, compile-time)", "retransmission timeout before any RTT sample (LC-D02)"),
	ONE("net.ipv4.tcp_delack_min_ms", tcp_delack_min_ms, 1, 1000, 40, "ms",
	    "TCP_DELACK_MIN (40 ms, compile-time)", "delayed-ACK timeout (LC-D03)"),
	/* closing */
	ONE("net.ipv4.tcp_fin_timeout", tcp_fin_timeout, 0, 2147483, 60, "s",
	    "tcp_fin_timeout (60)", "lifetime of an orphaned FIN_WAIT_2 (LC-K01, LC-L03)"),
	ONE("net.ipv4.tcp_timewait_len", tcp_timewait_len, 0, 2147483, 60, "s",
	    "TCP_TIMEWAIT_LEN (60 s, compile-time)", "TIME_WAIT length, 2MSL (LC-C05, LC-C07, LC-K16)"),
	ONE("net.ipv4.tcp_max_tw_buckets", tcp_max_tw_buckets, 0, INT_MAX, 131072, "count",
	    "tcp_max_tw_buckets (depends on memory)", "TIME_WAIT records at most; beyond, none is kept (TCPTimeWaitOverflow) (LC-K10)"),
	ONE("net.ipv4.tcp_tw_reuse", tcp_tw_reuse, 0, 2, 2, "0/1/2",
	    "tcp_tw_reuse (2)", "connect() may take over a TIME_WAIT 4-tuple: 1 always, 2 to loopback only (LC-K08)"),
	ONE("net.ipv4.tcp_tw_reuse_delay", tcp_tw_reuse_delay, 1, 60000, 1000, "ms",
	    "tcp_tw_reuse_delay (1000, Linux 6.13+)", "age a TIME_WAIT record must have before tcp_tw_reuse takes it (LC-K08)"),
	ONE("net.ipv4.tcp_rfc1337", tcp_rfc1337, 0, 1, 0, "0/1",
	    "tcp_rfc1337 (0)", "1: a RST does not end TIME_WAIT (LC-K15)"),
	ONE("net.ipv4.tcp_max_orphans", tcp_max_orphans, 0, INT_MAX, 131072, "count",
	    "tcp_max_orphans (depends on memory)", "orphaned connections at most; beyond, they are reset (TCPAbortOnMemory) (LC-K13)"),
	/* keepalive */
	ONE("net.ipv4.tcp_keepalive_time", tcp_keepalive_time, 1, 32767, 7200, "s",
	    "tcp_keepalive_time (7200)", "idle time before the first keepalive probe (LC-K05)"),
	ONE("net.ipv4.tcp_keepalive_intvl", tcp_keepalive_intvl, 1, 32767, 75, "s",
	    "tcp_keepalive_intvl (75)", "time between keepalive probes (LC-K05)"),
	ONE("net.ipv4.tcp_keepalive_probes", tcp_keepalive_probes, 1, 127, 9, "count",
	    "tcp_keepalive_probes (9)", "unanswered probes before the connection is reset (LC-K05)"),
	/* listening */
	ONE("net.core.somaxconn", somaxconn, 0, INT_MAX, 4096, "count",
	    "net.core.somaxconn (4096)", "cap on the listen() backlog (LC-K11)"),
	ONE("net.ipv4.tcp_max_syn_backlog", tcp_max_syn_backlog, 1, INT_MAX, 128, "count",
	    "tcp_max_syn_backlog (128 or more, by memory)",
	    "with tcp_syncookies=0, a SYN is dropped when less than a quarter of this is free in the SYN queue (that queue holds backlog + 1) (LC-K11)"),
	ONE("net.ipv4.tcp_abort_on_overflow", tcp_abort_on_overflow, 0, 1, 0, "0/1",
	    "tcp_abort_on_overflow (0)", "1: answer a handshake's ACK with RST when the accept queue is full (LC-H03)"),
	ONE("net.ipv4.tcp_syncookies", tcp_syncookies, 0, 2, 1, "0/1/2",
	    "tcp_syncookies (1)", "1: SYN cookies when the SYN queue overflows; 2: always (LC-H08, LC-K12)"),
	/* options and buffers */
	ONE("net.ipv4.tcp_timestamps", tcp_timestamps, 0, 2, 1, "0/1/2",
	    "tcp_timestamps (1)", "RFC 7323 timestamps; 2 without the per-connection offset (LC-K09)"),
	ONE("net.ipv4.tcp_window_scaling", tcp_window_scaling, 0, 1, 1, "0/1",
	    "tcp_window_scaling (1)", "RFC 7323 window scaling"),
	ONE("net.ipv4.tcp_sack", tcp_sack, 0, 1, 1, "0/1", "tcp_sack (1)", "RFC 2018 selective acknowledgments"),
	{ "net.ipv4.tcp_rmem", 3, 1, INT_MAX, "bytes", "tcp_rmem (4096 131072 6291456)",
	  "receive buffer: minimum, default, maximum (the maximum sets the window scale)",
	  { 4096, 131072, 6291456 }, { F(tcp_rmem_min), F(tcp_rmem_default), F(tcp_rmem_max) } },
	{ "net.ipv4.tcp_wmem", 3, 1, INT_MAX, "bytes", "tcp_wmem (4096 16384 4194304)",
	  "send buffer: minimum, default, maximum",
	  { 4096, 16384, 4194304 }, { F(tcp_wmem_min), F(tcp_wmem_default), F(tcp_wmem_max) } },
	ONE("net.core.rmem_max", core_rmem_max, 1, INT_MAX / 2, 212992, "bytes",
	    "net.core.rmem_max (212992)", "largest SO_RCVBUF a socket may ask for (it gets twice that)"),
	ONE("net.core.wmem_max", core_wmem_max, 1, INT_MAX / 2, 212992, "bytes",
	    "net.core.wmem_max (212992)", "largest SO_SNDBUF a socket may ask for (it gets twice that)"),
	/* addresses */
	{ "net.ipv4.ip_local_port_range", 2, 1, 65535, "port", "ip_local_port_range (32768 60999)",
	  "ephemeral ports for connect() and bind(port 0) (LC-K14)",
	  { 32768, 60999 }, { F(ip_local_port_range_lo), F(ip_local_port_range_hi) } },
	ONE("net.ipv4.ip_default_ttl", ip_default_ttl, 1, 255, 64, "hops", "ip_default_ttl (64)", "TTL of sent packets"),
	ONE("net.ipv4.tcp_invalid_ratelimit", tcp_invalid_ratelimit, 0, INT_MAX, 500, "ms",
	    "tcp_invalid_ratelimit (500)", "least time between answers to out-of-window segments and challenge ACKs"),
	/* limits against hostile peers and exhaustion */
	ONE("net.ipv4.tcp_challenge_ack_limit", tcp_challenge_ack_limit, 0, INT_MAX, INT_MAX, "per s",
	    "tcp_challenge_ack_limit (2147483647: off, Linux 6.0+)",
	    "challenge ACKs per second for the whole stack (RFC 5961 §7), on top of tcp_invalid_ratelimit per connection"),
	{ "net.ipv4.tcp_mem", 3, 1, INT_MAX, "pages", "tcp_mem (depends on memory; 287901 383868 575802 with 24 GiB)",
	  "buffer memory of all connections in 4096-byte pages: pressure ends below the first, starts above the second; the third is the hard limit",
	  { 287901, 383868, 575802 }, { F(tcp_mem_min), F(tcp_mem_pressure), F(tcp_mem_max) } },
	ONE("fs.file-max", file_max, 1, INT_MAX, 1048576, "count",
	    "fs.file-max (depends on memory)", "descriptors (sockets and epoll instances) at most; beyond, socket(), accept() and epoll_create() fail with ENFILE"),
};

#define NENTRIES (sizeof(table) / sizeof(table[0]))

const struct tide_setting_desc *tide_settings_table(size_t *count)
{
	if (count)
		*count = NENTRIES;
	return table;
}

static int *field(struct tide_settings *s, const struct tide_setting_desc *e, int i)
{
	return (int *)(void *)((char *)s + e->offset[i]);
}

void tide_settings_default(struct tide_settings *s)
{
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < NENTRIES; i++)
		for (int j = 0; j < table[i].nvals; j++)
			*field(s, &table[i], j) = table[i].def[j];
}

static int fail(char *err, size_t errlen, int e, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	errno = e;
	return -1;
}

/* "net.ipv4.x", "net/ipv4/x" and "x" all name net.ipv4.x. */
static const struct tide_setting_desc *lookup(const char *name)
{
	char buf[128];
	size_t n = strlen(name);
	if (n == 0 || n >= sizeof(buf))
		return NULL;
	for (size_t i = 0; i <= n; i++)
		buf[i] = name[i] == '/' ? '.' : name[i];
	for (size_t i = 0; i < NENTRIES; i++) {
		const char *full = table[i].name;
		if (strcmp(full, buf) == 0)
			return &table[i];
		const char *bare = strrchr(full, '.') + 1;
		if (strcmp(bare, buf) == 0)
			return &table[i];
	}
	return NULL;
}

static void range_text(const struct tide_setting_desc *e, char *out, size_t len)
{
	if (e->nvals == 1)
		snprintf(out, len, "%d..%d", e->min, e->max);
	else
		snprintf(out, len, "%d values, each %d..%d%s", e->nvals, e->min, e->max,
			 e->nvals == 2 ? ", the first not above the second" : ", in increasing order");
}

static int set_entry(struct tide_settings *s, const struct tide_setting_desc *e, const char *value,
		     char *err, size_t errlen)
{
	long v[3];
	const char *p = value;
	char range[96];
	range_text(e, range, sizeof(range));
	for (int i = 0; i < e->nvals; i++) {
		while (*p == ' ' || *p == '\t')
			p++;
		char *end;
		errno = 0;
		v[i] = strtol(p, &end, 10);
		if (end == p)
			return fail(err, errlen, EINVAL, "%s: '%s' is not %s (valid: %s)", e->name,
				    value, e->nvals == 1 ? "a number" : "a list of numbers", range);
		if (errno == ERANGE || v[i] < e->min || v[i] > e->max)
			return fail(err, errlen, ERANGE, "%s: %.*s is out of range (valid: %s)", e->name,
				    (int)(end - p), p, range);
		p = end;
	}
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	if (*p)
		return fail(err, errlen, EINVAL, "%s: unexpected '%s' after the value (valid: %s)",
			    e->name, p, range);
	for (int i = 1; i < e->nvals; i++)
		if (v[i] < v[i - 1])
			return fail(err, errlen, ERANGE, "%s: '%s' is out of order (valid: %s)", e->name,
				    value, range);
	for (int i = 0; i < e->nvals; i++)
		*field(s, e, i) = (int)v[i];
	return 0;
}

/* Rules that tie two settings together, checked once a whole text is in. */
static int check_consistent(const struct tide_settings *s, char *err, size_t errlen)
{
	if (s->tcp_rto_min_ms > s->tcp_rto_max_ms)
		return fail(err, errlen, ERANGE,
			    "net.ipv4.tcp_rto_min_ms (%d) must not exceed net.ipv4.tcp_rto_max_ms (%d)",
			    s->tcp_rto_min_ms, s->tcp_rto_max_ms);
	return 0;
}

int tide_settings_set(struct tide_settings *s, const char *name, const char *value,
		      char *err, size_t errlen)
{
	if (!s || !name || !value)
		return fail(err, errlen, EINVAL, "no setting or value given");
	const struct tide_setting_desc *e = lookup(name);
	if (!e)
		return fail(err, errlen, ENOENT, "unknown setting '%s'", name);
	struct tide_settings copy = *s;
	if (set_entry(&copy, e, value, err, errlen) != 0 || check_consistent(&copy, err, errlen) != 0)
		return -1;
	*s = copy;
	return 0;
}

int tide_settings_get(const struct tide_settings *s, const char *name, char *out,
		      size_t outlen, char *err, size_t errlen)
{
	const struct tide_setting_desc *e = name ? lookup(name) : NULL;
	if (!e)
		return fail(err, errlen, ENOENT, "unknown setting '%s'", name ? name : "");
	struct tide_settings copy = *s;
	size_t used = 0;
	for (int i = 0; i < e->nvals; i++) {
		int n = snprintf(out + used, used < outlen ? outlen - used : 0, "%s%d",
				 i ? "\t" : "", *field(&copy, e, i));
		used += (size_t)n;
	}
	if (used >= outlen)
		return fail(err, errlen, ENOSPC, "%s: the value does not fit in %zu bytes", e->name, outlen);
	return 0;
}

int tide_settings_apply_text(struct tide_settings *s, const char *text, const char *origin,
			     char *err, size_t errlen)
{
	if (!origin)
		origin = "settings";
	struct tide_settings copy = *s;
	int lineno = 0;
	const char *p = text;
	while (p && *p) {
		lineno++;
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char line[512];
		if (len >= sizeof(line))
			return fail(err, errlen, EINVAL, "%s:%d: line too long", origin, lineno);
		memcpy(line, p, len);
		line[len] = 0;
		p = nl ? nl + 1 : NULL;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		char *k = line;
		while (*k == ' ' || *k == '\t')
			k++;
		if (!*k || *k == '\r')
			continue;
		char *eq = strchr(k, '=');
		if (!eq)
			return fail(err, errlen, EINVAL, "%s:%d: expected 'name = value'", origin, lineno);
		char *kend = eq;
		while (kend > k && (kend[-1] == ' ' || kend[-1] == '\t'))
			kend--;
		*kend = 0;
		char *v = eq + 1;
		const struct tide_setting_desc *e = lookup(k);
		char msg[256];
		if (!e)
			return fail(err, errlen, ENOENT, "%s:%d: unknown setting '%s'", origin, lineno, k);
		if (set_entry(&copy, e, v, msg, sizeof(msg)) != 0) {
			int saved = errno;
			return fail(err, errlen, saved, "%s:%d: %s", origin, lineno, msg);
		}
	}
	char msg[256];
	if (check_consistent(&copy, msg, sizeof(msg)) != 0) {
		int saved = errno;
		return fail(err, errlen, saved, "%s: %s", origin, msg);
	}
	*s = copy;
	return 0;
}

int tide_settings_load_file(struct tide_settings *s, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		int e = errno;
		return fail(err, errlen, e, "%s: %s", path, strerror(e));
	}
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	while (buf) {
		size_t got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0)
			break;
		if (n + 1 == cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	int rerr = ferror(f);
	fclose(f);
	if (!buf)
		return fail(err, errlen, ENOMEM, "%s: out of memory", path);
	if (rerr) {
		free(buf);
		return fail(err, errlen, EIO, "%s: read error", path);
	}
	buf[n] = 0;
	if (memchr(buf, 0, n)) {
		free(buf);
		return fail(err, errlen, EINVAL, "%s: not a text file", path);
	}
	int r = tide_settings_apply_text(s, buf, path, err, errlen);
	int saved = errno;
	free(buf);
	errno = saved;
	return r;
}
