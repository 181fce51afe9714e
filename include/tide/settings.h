/*
 * Settings by name: read, write and load a stack's runtime settings the way
 * sysctl does, with ranges checked and nothing half-applied.
 *
 * Names are Linux's sysctl names ("net.ipv4.tcp_fin_timeout",
 * "net.core.somaxconn"); "net/ipv4/tcp_fin_timeout" and the bare
 * "tcp_fin_timeout" are accepted too. Values are written as sysctl prints
 * them: one integer, or several separated by blanks ("32768 60999" for
 * ip_local_port_range, "4096 131072 6291456" for tcp_rmem).
 *
 * Setting text, one setting a line:
 *
 *     # a comment
 *     net.ipv4.tcp_fin_timeout = 30
 *     net.ipv4.ip_local_port_range = 40000 40100
 *
 * Every function that can fail returns 0, or -1 with errno (ENOENT for an
 * unknown name, ERANGE for a value out of range, EINVAL for text that is
 * not a value) and a message in err naming the setting and its valid range.
 */
#ifndef TIDE_SETTINGS_H
#define TIDE_SETTINGS_H

#include <tide/tide.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One setting's description, for documentation and tools. */
struct tide_setting_desc {
	const char *name;      /* "net.ipv4.tcp_fin_timeout" */
	int nvals;             /* 1, or 2/3 for the ranges and triples */
	int min, max;          /* valid range of every value */
	const char *unit;      /* "s", "ms", "bytes", "count", "0/1", ... */
	const char *linux;     /* the Linux counterpart and its default */
	const char *doc;       /* one line: what it does in tide */
	int def[3];            /* tide's defaults (Linux's) */
	size_t offset[3];      /* where the values sit in struct tide_settings */
};

/* The table of every setting, in documentation order. */
const struct tide_setting_desc *tide_settings_table(size_t *count);

void tide_settings_default(struct tide_settings *s);

/* Sets one setting. On failure *s is unchanged. */
int tide_settings_set(struct tide_settings *s, const char *name, const char *value,
		      char *err, size_t errlen);
/* Writes the value as sysctl prints it ("60", "32768\t60999") into out. */
int tide_settings_get(const struct tide_settings *s, const char *name, char *out,
		      size_t outlen, char *err, size_t errlen);
/* Applies "name = value" lines: all of them, or none if any line is wrong
 * (the message then starts with "origin:line: "). */
int tide_settings_apply_text(struct tide_settings *s, const char *text, const char *origin,
			     char *err, size_t errlen);
/* The same, from a file. */
int tide_settings_load_file(struct tide_settings *s, const char *path, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
